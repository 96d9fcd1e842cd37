"""The rating register: every scored round kept in one SQLite file (standard library, no server).

* ``connect`` opens (or creates) a register, checks its ``schema_version`` and applies the
  migrations in order (a copy of the old file is kept beside it before a migration). A register
  written by a newer ccredit is refused with a clear message (exit 2), never half-read.
* ``record_run`` writes one run and all its results in ONE transaction (``BEGIN IMMEDIATE``):
  a crash mid-write leaves no partial run. A busy timeout makes a second writer wait for the
  first instead of failing.
* Journal mode: write-ahead logging (WAL) only on a file system known to be local; WAL needs
  shared memory between processes, which network shares (SMB/NFS) do not provide, so there the
  classic rollback journal is used (see docs/readme-register.md for what SQLite promises there).
* Read views for the CLI: ``list_runs``, ``history``, ``compare_runs`` (rating migration with
  drivers) and ``pool_ledger``. All return plain data.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from cluster_credit_cli.i18n import say
from cluster_credit_cli.outputs.columnar_csv import value_key
from cluster_credit_cli.problems import UsageError

SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 60_000
DEFAULT_NAME = "ccredit.db"
NOT_GRADED = "not_graded"
ABSENT = "absent"

# File systems on which WAL is safe (all processes on one host share memory with the file).
LOCAL_FS = {"ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "tmpfs", "overlay", "apfs", "hfs",
            "jfs", "reiserfs", "bcachefs", "ntfs", "ntfs3"}


class RegisterError(UsageError):
    """The register cannot be used as asked (newer schema, not a database, no such run)."""


# -- schema and migrations --------------------------------------------------------------------
# MIGRATIONS[v] turns a version v-1 register into version v. A new register runs them all, so
# the upgrade path of old files is exercised on every fresh start, not only in tests.

_V1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (0);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    as_of TEXT NOT NULL,
    model_hash TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    inputs_json TEXT NOT NULL
);
CREATE TABLE results (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    name TEXT,
    status_json TEXT NOT NULL,
    grade TEXT,
    rank INTEGER,
    total REAL,
    quota REAL,
    scores_json TEXT NOT NULL,
    PRIMARY KEY (run_id, code)
);
"""


def _v2(conn: sqlite3.Connection) -> None:
    """v2: model name and applicants file per run, the model's leaf weights and pool, and per
    result the base/bonus split, requested amount, dimensions, missing list, reasons and the
    leaf inputs (the monitor needs the record counts the rating was based on)."""
    for col in ("model_name TEXT", "applicants_file TEXT", "leaves_json TEXT", "pool_json TEXT",
                "warnings_json TEXT"):
        conn.execute(f"ALTER TABLE runs ADD COLUMN {col}")
    for col in ("base REAL", "bonus REAL", "requested REAL", "dimensions_json TEXT", "missing_json TEXT",
                "reasons_json TEXT", "inputs_json TEXT"):
        conn.execute(f"ALTER TABLE results ADD COLUMN {col}")
    # Back-fill what v1 already knew: the applicants file is among the run's inputs.
    for run_id, inputs in conn.execute("SELECT id, inputs_json FROM runs").fetchall():
        app = next((i for i in _loads(inputs, []) if i.get("kind") == "applicants"), None)
        if app:
            conn.execute("UPDATE runs SET applicants_file = ? WHERE id = ?", (app.get("path") or app.get("file"), run_id))
    conn.execute("CREATE INDEX IF NOT EXISTS results_code ON results (code)")


MIGRATIONS: dict[int, Any] = {1: _V1, 2: _v2}


def _loads(text: str | None, default: Any) -> Any:
    if text is None or text == "":
        return default
    return json.loads(text)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, allow_nan=False)


def _fs_type(path: Path) -> str | None:
    """The file system type holding ``path`` (Linux /proc/mounts), or None if unknown."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        target = os.path.realpath(path.parent if not path.exists() else path)
        best, kind = "", None
        with open("/proc/mounts", encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mount = parts[1].replace("\\040", " ")
                if (target == mount or target.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
                    best, kind = mount, parts[2]
        return kind
    except OSError:
        return None


def _windows_local(path: Path) -> bool | None:
    if os.name != "nt":
        return None
    text = str(path.resolve())
    if text.startswith("\\\\"):
        return False  # UNC path: a share
    try:
        import ctypes

        drive = text[:3]
        return ctypes.windll.kernel32.GetDriveTypeW(drive) == 3  # DRIVE_FIXED
    except Exception:  # noqa: BLE001 - unknown: be conservative
        return None


def journal_mode_for(path: Path) -> str:
    """'wal' where the file is known to be on a local disk, else 'delete' (rollback journal).

    ``CCREDIT_DB_JOURNAL=wal|delete`` overrides the guess.
    """
    forced = os.environ.get("CCREDIT_DB_JOURNAL", "").strip().lower()
    if forced in ("wal", "delete"):
        return forced
    win = _windows_local(path)
    if win is not None:
        return "wal" if win else "delete"
    kind = _fs_type(path)
    return "wal" if kind in LOCAL_FS else "delete"


def _one(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> Any:
    """First row of a query, with the statement finished: an unfinished SELECT keeps a read
    transaction open, and a later BEGIN IMMEDIATE would then fail at once instead of waiting."""
    cur = conn.execute(sql, params)
    try:
        return cur.fetchone()
    finally:
        cur.close()


def _version(conn: sqlite3.Connection) -> int | None:
    row = _one(conn, "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'")
    if row is None:
        return None
    got = _one(conn, "SELECT version FROM schema_version")
    return int(got[0]) if got else 0


def _backup_before_migration(conn: sqlite3.Connection, path: Path, version: int) -> Path | None:
    if version <= 0 or not path.exists():
        return None
    target = path.with_name(f"{path.name}.v{version}.bak")
    i = 1
    while target.exists():
        target = path.with_name(f"{path.name}.v{version}.{i}.bak")
        i += 1
    dest = sqlite3.connect(str(target))
    try:
        conn.backup(dest)
    finally:
        dest.close()
    return target


def connect(db_path: str | os.PathLike[str], *, create: bool = True, readonly: bool = False) -> sqlite3.Connection:
    """Open a register, creating or migrating its schema. The caller closes the connection.

    ``readonly`` (the reading commands: runs, history, compare, monitor): the file is never
    written -- no journal-mode change, no migration in place (an older register is read through a
    migrated copy in memory) -- and it must exist and not be empty.
    """
    create = create and not readonly
    path = Path(db_path)
    if not create and not path.is_file():
        raise RegisterError(say(f"{path} 处没有评级登记簿（运行“ccredit score”时创建；或用 --db 指定）",
                                f"no register at {path} (it is created by `ccredit score`; use --db PATH)"))
    if path.exists() and path.is_dir():
        raise RegisterError(say(f"--db：{path} 是文件夹，请给出文件名，如 {path / DEFAULT_NAME}",
                                f"--db: {path} is a folder; give a file name such as {path / DEFAULT_NAME}"))
    if not create and path.stat().st_size == 0:
        # A reading command never initialises a register: an empty file is a lost one, say so.
        raise RegisterError(say(f"{path} 是空文件（0 字节），不是评级登记簿：请从备份（*.bak 或副本）恢复，"
                                "或删除它，让 `ccredit score` 新建一个",
                                f"{path} is empty (0 bytes), not a register: restore it from a backup "
                                "(*.bak or a copy), or delete it and let `ccredit score` create a new one"))
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise RegisterError(say(f"无法打开评级登记簿 {path}（{exc}）", f"cannot open the register {path}: {exc}")) from None
    try:
        _one(conn, f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            _one(conn, "PRAGMA foreign_keys = ON")
            version = _version(conn)
        except sqlite3.DatabaseError as exc:
            raise RegisterError(say(f"{path} 不是 ccredit 评级登记簿或已损坏（SQLite：{exc}）；请换一个 --db，"
                                    "或从备份（*.bak 或副本）恢复",
                                    f"{path} is not a ccredit register or is damaged (SQLite says: {exc}); "
                                    "use another --db or restore it from a backup (*.bak or a copy)")) from None
        if version is not None and version > SCHEMA_VERSION:
            raise RegisterError(say(
                f"{path} 由更新版本的 ccredit 写入（登记簿结构 v{version}；本版本最多读 v{SCHEMA_VERSION}）："
                "请升级 ccredit，或用 --db 指定另一个登记簿",
                f"{path} was written by a newer ccredit (register schema v{version}; this version "
                f"reads up to v{SCHEMA_VERSION}): upgrade ccredit, or use another --db"))
        if readonly:
            # Reading: the file is never written (no journal mode, no migration in place).
            if version is None:
                raise RegisterError(f"{path} is not a ccredit register (no schema_version table)")
            if version < SCHEMA_VERSION:
                conn = _migrated_copy(conn, path)
            conn.row_factory = sqlite3.Row
            return conn
        mode = journal_mode_for(path)
        with contextlib.suppress(sqlite3.OperationalError):  # another process may hold it; keep its mode
            _one(conn, f"PRAGMA journal_mode = {mode}")
        if version is None or version < SCHEMA_VERSION:
            _migrate(conn, path)
        conn.row_factory = sqlite3.Row
        return conn
    except BaseException:
        conn.close()
        raise


def _migrated_copy(conn: sqlite3.Connection, path: Path) -> sqlite3.Connection:
    """An in-memory copy of an older register, migrated: read as current, the file left as it is."""
    mem = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.backup(mem)
        _migrate(mem, path, backup=False)
    except BaseException:
        mem.close()
        raise
    finally:
        conn.close()
    return mem


def _migrate(conn: sqlite3.Connection, path: Path, *, backup: bool = True) -> None:
    before = _version(conn)
    if before and backup:  # keep a copy of the old file first (the backup API reads; it cannot run inside our write)
        _backup_before_migration(conn, path, before)
    conn.execute("BEGIN IMMEDIATE")  # re-read the version under the write lock: another process may have migrated
    try:
        version = _version(conn)
        if version is not None and version > SCHEMA_VERSION:
            raise RegisterError(say(f"{path} 由更新版本的 ccredit 写入（登记簿结构 v{version}）",
                                    f"{path} was written by a newer ccredit (register schema v{version})"))
        if version is None:
            user_tables = _one(conn, "SELECT count(*) FROM sqlite_master WHERE type='table'")[0]
            if user_tables:
                raise RegisterError(say(f"{path} 是 SQLite 文件，但不是 ccredit 评级登记簿",
                                        f"{path} is an SQLite file but not a ccredit register (no schema_version table)"))
            current = 0
        else:
            current = version
        if current >= SCHEMA_VERSION:
            conn.execute("COMMIT")
            return
        for v in range(current + 1, SCHEMA_VERSION + 1):
            step = MIGRATIONS[v]
            if isinstance(step, str):
                for stmt in step.split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
            else:
                step(conn)
            conn.execute("UPDATE schema_version SET version = ?", (v,))
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


def _rollback(conn: sqlite3.Connection) -> None:
    # SQLite may already have rolled back by itself (disk full, I/O error): nothing left to undo.
    if conn.in_transaction:
        conn.execute("ROLLBACK")


@contextlib.contextmanager
def opened(db_path: str | os.PathLike[str], *, create: bool = False,
           readonly: bool = False) -> Iterator[sqlite3.Connection]:
    conn = connect(db_path, create=create, readonly=readonly)
    try:
        yield conn
    except sqlite3.DatabaseError as exc:  # corrupt pages found while reading
        if not readonly:
            raise
        raise RegisterError(f"the register {db_path} is damaged (SQLite says: {exc}); restore it from a "
                            "backup (*.bak or a copy)") from None
    except json.JSONDecodeError as exc:
        if not readonly:
            raise
        raise RegisterError(f"the register {db_path} holds a damaged record (bad JSON: {exc}); restore it "
                            "from a backup (*.bak or a copy)") from None
    finally:
        conn.close()


def schema_version(db_path: str | os.PathLike[str]) -> int:
    with opened(db_path, readonly=True) as conn:
        return _version(conn) or 0


# -- writing ------------------------------------------------------------------------------------

def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _plain(value: Any) -> Any:
    """A leaf input value as JSON: numbers, text or null."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (int, str, bool)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _run_row(result) -> dict[str, Any]:
    model = result.model
    app = next((i for i in result.inputs if i.get("kind") == "applicants"), {})
    inputs = []
    for i in result.inputs:
        item = {k: (str(v) if isinstance(v, Path) else v) for k, v in i.items()}
        if item.get("path"):
            item["path"] = str(Path(item["path"]).resolve())
        inputs.append(item)
    leaves = {k: {"name": model.nodes[k].name, "name_en": model.nodes[k].name_en, "block": model.nodes[k].block,
                  "weight": model.effective[k], "printed": model.nodes[k].weight} for k in model.leaves()}
    pool = dict(result.pool())
    pool["caps"] = {g["grade"]: g["cap"] for g in model.grades}
    pool["grades"] = model.grade_labels()
    return {
        "created_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "as_of": result.as_of.isoformat(), "model_hash": result.config_hash, "tool_version": result.tool_version,
        "inputs_json": _dumps(inputs), "model_name": model.name,
        "applicants_file": str(Path(app["path"]).resolve()) if app.get("path") else None,
        "leaves_json": _dumps(leaves), "pool_json": _dumps(pool), "warnings_json": _dumps(list(result.warnings)),
    }


def _inputs_json_column(inputs, codes: list[str]) -> list[str]:
    """``_dumps({leaf: _plain(value)})`` for every code, built a column at a time.

    Each leaf's value is made text once per distinct (type, value) and the rows are joined from
    those texts and the constant ``"key": `` pieces (outputs/json_rows.py): the same text as
    dumping one dict per row, without a per-cell DataFrame lookup or a ``json.dumps`` per value.
    """
    import numpy as np

    from cluster_credit_cli.outputs.json_rows import join_columns

    if inputs is None or not len(inputs.columns):
        return ["{}"] * len(codes)
    n = len(inputs)
    zeros = np.zeros(n, dtype=np.intp)
    columns = []
    for i, key in enumerate(inputs.columns):
        columns.append((zeros, [("{" if i == 0 else ", ") + _dumps(str(key)) + ": "]))
        columns.append(_input_texts(inputs[key]))
    columns.append((zeros, ["}"]))
    rows = join_columns(columns, n) + ["{}"]
    pos = inputs.index.get_indexer(codes)  # -1 (not scored): the trailing "{}"
    return np.array(rows, dtype=object)[pos].tolist()


_encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]  # json.dumps of a str, ensure_ascii=False


def _input_texts(column):
    """One leaf's inputs as (codes, texts), ``_dumps(_plain(v))`` of each distinct value once."""
    import numpy as np
    import pandas as pd

    n = len(column)
    if isinstance(column.dtype, np.dtype) and column.dtype.kind == "f":
        arr = column.to_numpy()
    else:
        values = column.to_numpy(dtype=object)
        if n and pd.api.types.infer_dtype(values, skipna=False) == "floating":
            arr = values.astype(float)
        else:
            return _object_texts(values)
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    if np.isfinite(uniques).all():  # json writes a finite float as its repr
        texts = list(map(float.__repr__, uniques.tolist()))
    else:  # _plain: +-Infinity is null
        texts = [float.__repr__(u) if math.isfinite(u) else "null" for u in uniques.tolist()]
    texts += ["null", "-0.0", "0.0"]  # NaN; then 0.0 and -0.0, which factorize merges but json does not
    codes = np.where(codes < 0, len(texts) - 3, codes)
    zero = arr == 0
    if zero.any():
        codes[zero] = np.where(np.signbit(arr[zero]), len(texts) - 2, len(texts) - 1)
    return codes, texts


def _object_texts(values):
    import numpy as np
    import pandas as pd

    n = len(values)
    classes = set(map(type, values))
    if classes <= {str, float, type(None)} and str in classes and \
            not any(v.__class__ is float and v == v for v in values):
        # text, with None or NaN for missing (both null): each distinct text encoded once
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        texts = list(map(_encode_str, uniques.tolist())) + ["null"]
        return np.where(codes < 0, len(texts) - 1, codes), texts
    index: dict[tuple, int] = {}
    texts = []
    codes = np.empty(n, dtype=np.intp)
    for i, v in enumerate(values.tolist()):
        k = value_key(v)
        try:
            code = index.get(k)
        except TypeError:  # an unhashable value: not shared
            k, code = None, None
        if code is None:
            code = len(texts)
            texts.append(_dumps(_plain(v)))
            if k is not None and not (v.__class__ is float and v != v):  # NaN never finds itself again
                index[k] = code
        codes[i] = code
    return codes, texts


def _result_rows(result, run_id: int) -> list[tuple]:
    """The results rows of a round: the enterprises' columns (``RoundResult.enterprise_columns``)
    and the JSON texts the round's JSON shares (outputs/json_rows.py), zipped, no dict per row."""
    from itertools import repeat

    from cluster_credit_cli.outputs.json_rows import enterprise_texts, gc_paused

    with gc_paused():
        texts = enterprise_texts(result)
        if not texts.plain:  # NaN, Infinity or odd types in a JSON field: the dumps as before (they refuse NaN)
            return _result_rows_by_record(result, run_id)
        c = result.enterprise_columns()
        inputs_json = _inputs_json_column(result.scores.inputs if result.scores is not None else None, c.code)
        names = [v if isinstance(v, str) else None for v in c.name]
        total, quota, base, bonus, requested = (c.numbers[k].values() for k in ("total", "quota", "base", "bonus",
                                                                                 "requested"))
        return list(zip(repeat(run_id), c.code, names, texts.status, c.grade, c.rank, total, quota, texts.scores,
                        base, bonus, requested, texts.dimensions, texts.missing, texts.reasons, inputs_json))


def _result_rows_by_record(result, run_id: int) -> list[tuple]:
    """The rows from ``enterprise_records``, one dict each (the reference ``_result_rows`` matches)."""
    ents = result.enterprise_records()
    codes = [e["code"] for e in ents]
    inputs_json = _inputs_json_column(result.scores.inputs if result.scores is not None else None, codes)
    dumps = _memo_dumps()
    return [(run_id, e["code"], e["name"] if isinstance(e["name"], str) else None, dumps(e["status"]), e["grade"],
             e["rank"], e["total"], e["quota"], _dumps(e["scores"]), e["base"], e["bonus"], e["requested"],
             _dumps(e["dimensions"]), dumps(e["missing"]), dumps(e.get("reasons", [])), inputs_json[i])
            for i, e in enumerate(ents)]


def _memo_dumps():
    """``_dumps`` of short lists that repeat across a round (statuses, missing items, reasons)."""
    cache: dict[tuple, str] = {}

    def dumps(items: list) -> str:
        key = tuple(items)
        text = cache.get(key)
        if text is None:
            text = cache[key] = _dumps(items)
        return text
    return dumps


_RUN_COLS = ("created_at", "as_of", "model_hash", "tool_version", "inputs_json", "model_name", "applicants_file",
             "leaves_json", "pool_json", "warnings_json")
_RESULT_SQL = ("INSERT INTO results (run_id, code, name, status_json, grade, rank, total, quota, scores_json, base, "
               "bonus, requested, dimensions_json, missing_json, reasons_json, inputs_json) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def record_run(db_path: str | os.PathLike[str], result) -> int:
    """Record a scored round (a ``RoundResult``) and all its results; returns the new run id.

    One transaction: either the run and every result row are stored, or nothing is.
    """
    run = _run_row(result)
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)  # the default folder may not exist yet
    try:
        with opened(db_path, create=True) as conn:
            conn.execute("BEGIN IMMEDIATE")  # take the write lock now: waits (busy timeout) for another writer
            try:
                same = _same_as_last(conn, run)
                if same is not None:  # a rerun of identical inputs and model: the same run, not a new one
                    conn.execute("COMMIT")
                    return same
                cur = conn.execute(f"INSERT INTO runs ({', '.join(_RUN_COLS)}) "
                                   f"VALUES ({', '.join('?' * len(_RUN_COLS))})", [run[c] for c in _RUN_COLS])
                run_id = int(cur.lastrowid)
                conn.executemany(_RESULT_SQL, _result_rows(result, run_id))
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
    except sqlite3.Error as exc:  # locked too long, disk full, read-only folder ...
        raise RegisterError(say(f"本次运行未能登记到 {db_path}（{exc}）；登记簿没有改变",
                                f"the run could not be recorded in {db_path} ({exc}); the register is unchanged")) from None
    return run_id


def _fingerprint(inputs_json: str | None) -> list[tuple[str, str]]:
    """What makes two runs the same: each input's kind and SHA-256 (not its path or the time)."""
    return sorted((i.get("kind") or "", i.get("sha256") or "") for i in _loads(inputs_json, []))


def _same_as_last(conn: sqlite3.Connection, run: dict[str, Any]) -> int | None:
    """The id of the latest run if it had the same inputs (by SHA-256), model, as-of date and tool."""
    row = _one(conn, "SELECT id, as_of, model_hash, tool_version, inputs_json FROM runs ORDER BY id DESC LIMIT 1")
    if row is None:
        return None
    same = (row["as_of"] == run["as_of"] and row["model_hash"] == run["model_hash"]
            and row["tool_version"] == run["tool_version"]
            and _fingerprint(row["inputs_json"]) == _fingerprint(run["inputs_json"]))
    return int(row["id"]) if same else None


# -- reading ------------------------------------------------------------------------------------

def _run_dict(row: sqlite3.Row, counts: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {
        "id": row["id"], "created_at": row["created_at"], "as_of": row["as_of"], "model_hash": row["model_hash"],
        "model": row["model_name"], "tool_version": row["tool_version"], "applicants_file": row["applicants_file"],
        "inputs": _loads(row["inputs_json"], []), "leaves": _loads(row["leaves_json"], {}),
        "pool": _loads(row["pool_json"], {}), "warnings": _loads(row["warnings_json"], []),
    }
    if counts is not None:
        out.update(counts)
    return out


def _result_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "run_id": row["run_id"], "code": row["code"], "name": row["name"], "status": _loads(row["status_json"], []),
        "grade": row["grade"], "rank": row["rank"], "total": row["total"], "base": row["base"],
        "bonus": row["bonus"], "quota": row["quota"], "requested": row["requested"],
        "dimensions": _loads(row["dimensions_json"], {}), "scores": _loads(row["scores_json"], {}),
        "missing": _loads(row["missing_json"], []), "reasons": _loads(row["reasons_json"], []),
        "inputs": _loads(row["inputs_json"], {}),
    }


def list_runs(db_path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every run, oldest first, with counts of enterprises, graded ones and quota granted."""
    with opened(db_path, readonly=True) as conn:
        rows = conn.execute(
            "SELECT r.*, count(x.code) AS n, count(x.grade) AS graded, coalesce(sum(x.quota), 0) AS allocated "
            "FROM runs r LEFT JOIN results x ON x.run_id = r.id GROUP BY r.id ORDER BY r.id").fetchall()
        return [_run_dict(r, {"enterprises": r["n"], "graded": r["graded"], "allocated": r["allocated"]})
                for r in rows]


def get_run(conn: sqlite3.Connection, run_id: int | None = None, *, offset: int = 0) -> dict[str, Any]:
    """One run by id, or the latest (offset 0) / the one before it (offset 1) ..."""
    if run_id is None:
        row = _one(conn, "SELECT * FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?", (offset,))
        if row is None:
            raise RegisterError(say("评级登记簿中还没有运行记录", "the register has no runs yet") if offset == 0 else
                                say(f"评级登记簿中不足 {offset + 1} 次运行", f"the register has fewer than {offset + 1} runs"))
    else:
        row = _one(conn, "SELECT * FROM runs WHERE id = ?", (int(run_id),))
        if row is None:
            raise RegisterError(say(f"评级登记簿中没有第 {run_id} 次运行（见 ccredit runs）",
                                    f"no run #{run_id} in the register (see `ccredit runs`)"))
    return _run_dict(row)


def _last_different(conn: sqlite3.Connection, b: dict[str, Any]) -> dict[str, Any]:
    """The latest run before ``b`` that is not a rerun of the same inputs, model and date."""
    mine = _one(conn, "SELECT as_of, model_hash, inputs_json FROM runs WHERE id = ?", (b["id"],))
    for row in conn.execute("SELECT * FROM runs WHERE id < ? ORDER BY id DESC", (b["id"],)):
        if (row["as_of"], row["model_hash"]) != (mine["as_of"], mine["model_hash"]) or \
                _fingerprint(row["inputs_json"]) != _fingerprint(mine["inputs_json"]):
            return _run_dict(row)
    raise RegisterError(say("评级登记簿中没有与最近一次不同的更早运行；请指定两次运行（见 ccredit runs）",
                            "the register has no earlier run that differs from the latest one; "
                            "name two runs (see `ccredit runs`)"))


def results_of(conn: sqlite3.Connection, run_id: int) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM results WHERE run_id = ? ORDER BY rank IS NULL, rank, total DESC, code",
                        (run_id,)).fetchall()
    return [_result_dict(r) for r in rows]


def history(db_path: str | os.PathLike[str], code: str) -> list[dict[str, Any]]:
    """One enterprise across runs, oldest first: run, as-of date, grade, rank, total, status, quota."""
    with opened(db_path, readonly=True) as conn:
        rows = conn.execute(
            "SELECT x.*, r.as_of, r.created_at, r.model_hash FROM results x JOIN runs r ON r.id = x.run_id "
            "WHERE x.code = ? ORDER BY r.id", (code,)).fetchall()
        out = []
        for r in rows:
            d = _result_dict(r)
            d.update(as_of=r["as_of"], created_at=r["created_at"], model_hash=r["model_hash"])
            out.append(d)
        return out


# -- rating migration ---------------------------------------------------------------------------

@dataclass
class Comparison:
    run_a: dict[str, Any]
    run_b: dict[str, Any]
    categories: list[str]  # grade labels, then NOT_GRADED, ABSENT
    matrix: dict[str, dict[str, int]]  # FROM -> TO -> count (all categories present)
    changes: list[dict[str, Any]]  # code, name, from, to, total_from, total_to, drivers, direction
    rows: list[dict[str, Any]] = field(default_factory=list)  # every code: from/to, totals

    def row_percent(self) -> dict[str, dict[str, float | None]]:
        out = {}
        for a, tos in self.matrix.items():
            n = sum(tos.values())
            out[a] = {b: (c / n if n else None) for b, c in tos.items()}
        return out

    def to_json(self) -> dict[str, Any]:
        keep = ("code", "name", "from", "to", "total_from", "total_to", "drivers")
        return {"matrix": self.matrix, "changes": [{k: c[k] for k in keep} for c in self.changes]}


def _category(res: dict[str, Any] | None) -> str:
    if res is None:
        return ABSENT
    return res["grade"] if res["grade"] else NOT_GRADED


def drivers(a: dict[str, Any], b: dict[str, Any], leaves_a: dict[str, Any], leaves_b: dict[str, Any],
            limit: int | None = None) -> list[dict[str, Any]]:
    """Leaves whose weighted points moved, largest |Δ points| first (points = weight × score)."""
    out = []
    keys = list(dict.fromkeys([*leaves_b, *leaves_a]))
    for k in keys:
        sa, sb = a["scores"].get(k), b["scores"].get(k)
        wa = (leaves_a.get(k) or leaves_b.get(k) or {}).get("weight")
        wb = (leaves_b.get(k) or leaves_a.get(k) or {}).get("weight")
        if wa is None or wb is None:
            continue
        pa = wa * sa if sa is not None else 0.0
        pb = wb * sb if sb is not None else 0.0
        delta = pb - pa
        if abs(delta) < 1e-9:
            continue
        meta = leaves_b.get(k) or leaves_a.get(k)
        out.append({"key": k, "name": meta.get("name"), "name_en": meta.get("name_en"),
                    "score_from": sa, "score_to": sb, "points_from": round(pa, 4), "points_to": round(pb, 4),
                    "delta": round(delta, 4),
                    "input_from": (a.get("inputs") or {}).get(k), "input_to": (b.get("inputs") or {}).get(k)})
    out.sort(key=lambda d: (-abs(d["delta"]), d["key"]))
    return out[:limit] if limit else out


def compare_runs(db_path: str | os.PathLike[str], run_a: int | None = None, run_b: int | None = None) -> Comparison:
    """Rating migration from run A to run B (default: the latest run and the latest one before it
    that differs from it — other inputs, model or date; comparing two identical runs says nothing)."""
    if (run_a is None) != (run_b is None):
        raise RegisterError(say("请给出两次运行（RUN_A RUN_B），或都不给（比较最近两次不同的运行）",
                                "give two runs (RUN_A RUN_B) or none (the last two runs)"))
    with opened(db_path, readonly=True) as conn:
        if run_a is None:
            b = get_run(conn, offset=0)
            a = _last_different(conn, b)
        else:
            a, b = get_run(conn, run_a), get_run(conn, run_b)
        res_a = {r["code"]: r for r in results_of(conn, a["id"])}
        res_b = {r["code"]: r for r in results_of(conn, b["id"])}
    grades = list(dict.fromkeys([*(a["pool"].get("grades") or []), *(b["pool"].get("grades") or [])]))
    for r in [*res_a.values(), *res_b.values()]:  # a v1 register has no grade list: take what is there
        if r["grade"] and r["grade"] not in grades:
            grades.append(r["grade"])
    cats = grades + [NOT_GRADED, ABSENT]
    order = {g: i for i, g in enumerate(grades)}
    matrix = {x: {y: 0 for y in cats} for x in cats}
    rows, changes = [], []
    for code in sorted(set(res_a) | set(res_b)):
        ra, rb = res_a.get(code), res_b.get(code)
        ca, cb = _category(ra), _category(rb)
        matrix[ca][cb] += 1
        name = (rb or ra)["name"]
        row = {"code": code, "name": name, "from": ca, "to": cb,
               "total_from": ra["total"] if ra else None, "total_to": rb["total"] if rb else None,
               "status_from": ra["status"] if ra else None, "status_to": rb["status"] if rb else None}
        rows.append(row)
        if ra is None or rb is None or ca == cb:
            continue
        if ca in order and cb in order:
            direction = "upgrade" if order[cb] < order[ca] else "downgrade"
        else:
            direction = "left" if cb == NOT_GRADED else "entered"
        changes.append({**row, "direction": direction, "drivers": drivers(ra, rb, a["leaves"], b["leaves"])})
    rank = {"downgrade": 0, "left": 1, "upgrade": 2, "entered": 3}
    changes.sort(key=lambda c: (rank[c["direction"]], c["code"]))
    # Drop the impossible absent→absent cell from the JSON, keep every other cell (zeros too).
    matrix[ABSENT].pop(ABSENT)
    return Comparison(a, b, cats, matrix, changes, rows)


# -- the pool ledger ----------------------------------------------------------------------------

def pool_ledger(db_path: str | os.PathLike[str], run_id: int | None = None) -> dict[str, Any]:
    """Capacity used by grade and the quota per enterprise in a run (default: the latest)."""
    with opened(db_path, readonly=True) as conn:
        run = get_run(conn, run_id)
        results = results_of(conn, run["id"])
    pool = run["pool"]
    capacity = pool.get("capacity")
    grades = pool.get("grades") or sorted({r["grade"] for r in results if r["grade"]})
    caps = pool.get("caps") or {}
    by_grade = []
    for g in grades:
        mine = [r for r in results if r["grade"] == g]
        used = sum(r["quota"] or 0.0 for r in mine)
        by_grade.append({"grade": g, "enterprises": len(mine), "cap": caps.get(g),
                         "requested": sum(r["requested"] or 0.0 for r in mine), "quota": used,
                         "share": (used / capacity) if capacity else None})
    enterprises, running = [], 0.0
    for r in results:
        if not r["grade"]:
            continue
        running += r["quota"] or 0.0
        enterprises.append({"rank": r["rank"], "code": r["code"], "name": r["name"], "grade": r["grade"],
                            "total": r["total"], "requested": r["requested"], "cap": caps.get(r["grade"]),
                            "quota": r["quota"], "cumulative": running,
                            "remaining": (capacity - running) if capacity is not None else None})
    allocated = sum(x["quota"] for x in by_grade)
    return {"run": run, "capacity": capacity, "allocated": allocated,
            "remaining": (capacity - allocated) if capacity is not None else None, "unit": pool.get("unit", ""),
            "by_grade": by_grade, "enterprises": enterprises}


def precheck(db_path: str | os.PathLike[str]) -> None:
    """Refuse, before any computation, a register ``record_run`` would refuse (without changing it).

    A missing or empty file is fine (it is created); a folder, a file that is not a ccredit
    register, one written by a newer ccredit or one whose header SQLite cannot read is not.
    """
    path = Path(db_path)
    if path.is_dir():
        raise RegisterError(say(f"--db：{path} 是文件夹，请给出文件名，如 {path / DEFAULT_NAME}",
                                f"--db: {path} is a folder; give a file name such as {path / DEFAULT_NAME}"))
    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        conn = sqlite3.connect(f"file:{path.resolve().as_posix()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise RegisterError(say(f"无法打开评级登记簿 {path}：{exc}", f"cannot open the register {path}: {exc}")) from None
    try:
        version = _version(conn)
        # Damaged pages found now, not after the round was computed (one pass over the file).
        check = _one(conn, "PRAGMA quick_check(1)")
        if check is not None and check[0] != "ok":
            raise sqlite3.DatabaseError(check[0])
    except sqlite3.DatabaseError as exc:
        raise RegisterError(say(f"{path} 不是 ccredit 评级登记簿或已损坏（SQLite：{exc}）；请换一个 --db，或从备份恢复",
                                f"{path} is not a ccredit register or is damaged (SQLite says: {exc}); "
                                "use another --db or restore it from a backup")) from None
    finally:
        conn.close()
    if version is None:
        raise RegisterError(say(f"{path} 是 SQLite 文件，但不是 ccredit 评级登记簿",
                                f"{path} is an SQLite file but not a ccredit register (no schema_version table)"))
    if version > SCHEMA_VERSION:
        raise RegisterError(say(
            f"{path} 由更新版本的 ccredit 写入（登记簿结构 v{version}；本版本最多读 v{SCHEMA_VERSION}）："
            "请升级 ccredit，或用 --db 指定另一个登记簿",
            f"{path} was written by a newer ccredit (register schema v{version}; this version "
            f"reads up to v{SCHEMA_VERSION}): upgrade ccredit, or use another --db"))


def default_db_path(output: str | os.PathLike[str] | None = None) -> Path:
    """The register every command uses when --db is not given: one predictable place per user.

    ``CCREDIT_DB`` if set; else the user's local data folder — ``%LOCALAPPDATA%\\ccredit\\ccredit.db``
    on Windows, ``~/Library/Application Support/ccredit/ccredit.db`` on macOS,
    ``$XDG_DATA_HOME/ccredit/ccredit.db`` (default ``~/.local/share``) elsewhere. Not beside the
    workbook (a network share, where SQLite is fragile) and not the current folder (``ccredit runs``
    from another folder must find the same register). ``output`` is ignored (kept for callers).
    """
    env = os.environ.get("CCREDIT_DB")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "ccredit" / DEFAULT_NAME

