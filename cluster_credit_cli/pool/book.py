"""The pool's book in the rating register: dated snapshots of the loan ledger and the fund.

The tables live beside the register's own (prefix ``pool_``), created on first use with their
own schema version (``pool_schema``), so the register's migrations and the pool's never collide.
A snapshot is one as-of date: its loans (each linked to the rating run in force at its
disbursement) and the fund's totals and movements. Importing the same snapshot again changes
nothing; a different ledger for a date already imported is refused unless ``replace`` is given.

The interface other wings build on (see the pool contract): ``Book``, ``load_book``,
``snapshots``, ``loan_history``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cluster_credit_cli.i18n import say
from cluster_credit_cli.inputs.identity import code_problem
from cluster_credit_cli.model.config import Model
from cluster_credit_cli.pool.config import pool_config
from cluster_credit_cli.pool.ledger import FUND_COLUMNS, LOAN_COLUMNS, fund_totals, read_fund, read_ledger
from cluster_credit_cli.problems import Problems, UsageError
from cluster_credit_cli.register.store import RegisterError, opened
from cluster_credit_cli.rating.pipeline import sha256_file

POOL_SCHEMA_VERSION = 1

BOOK_COLUMNS = LOAN_COLUMNS[:-1] + ["run_id", "grade", "total", "quota", "sector"]

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS pool_schema (version INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS pool_snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        as_of TEXT NOT NULL UNIQUE,
        imported_at TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        ledger_file TEXT, ledger_sha256 TEXT, fund_file TEXT, fund_sha256 TEXT,
        fund_json TEXT NOT NULL,
        problems_json TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS pool_loans (
        snapshot_id INTEGER NOT NULL REFERENCES pool_snapshots(id) ON DELETE CASCADE,
        loan_no TEXT NOT NULL, code TEXT NOT NULL, name TEXT, contract_amount REAL, outstanding REAL,
        disbursed TEXT, maturity TEXT, dpd INTEGER NOT NULL, classification TEXT, status TEXT NOT NULL,
        paid_amount REAL NOT NULL, paid_date TEXT, recovered_amount REAL NOT NULL, recovered_date TEXT,
        sector TEXT, run_id INTEGER, source_row INTEGER,
        PRIMARY KEY (snapshot_id, loan_no))""",
    """CREATE TABLE IF NOT EXISTS pool_fund (
        snapshot_id INTEGER NOT NULL REFERENCES pool_snapshots(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL, date TEXT NOT NULL, kind TEXT NOT NULL, amount REAL NOT NULL,
        party TEXT, loan_no TEXT, remark TEXT, source_row INTEGER,
        PRIMARY KEY (snapshot_id, seq))""",
    "CREATE INDEX IF NOT EXISTS pool_loans_code ON pool_loans (code)",
]


@dataclass
class Book:
    as_of: _dt.date  # the snapshot's date (latest snapshot on or before the asked date)
    loans: pd.DataFrame  # one row per loan, BOOK_COLUMNS
    fund: dict[str, float]  # contributions, payouts, recoveries, interest, balance (万元)
    leverage: float
    snapshot_id: int = 0
    movements: pd.DataFrame | None = None  # the fund file's movements up to as_of (None: none imported)
    fund_source: str = "config"  # "fund" (a fund file) or "config" (guarantee_fund + the ledger)
    problems: list[dict[str, Any]] = field(default_factory=list)  # what the import reported
    notes: list[str] = field(default_factory=list)  # e.g. an applicants file no longer where the run saw it

    @property
    def capacity(self) -> float:
        return self.fund["balance"] * self.leverage


@dataclass
class ImportResult:
    snapshot_id: int
    as_of: _dt.date
    status: str  # "imported" | "unchanged" | "replaced"
    loans: int
    linked: int
    fund: dict[str, Any]
    problems: Problems


# -- schema ---------------------------------------------------------------------------------------

def _one(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> Any:
    """First row with the statement finished (an open SELECT would keep a read transaction and make
    a later BEGIN IMMEDIATE fail at once instead of waiting)."""
    cur = conn.execute(sql, params)
    try:
        return cur.fetchone()
    finally:
        cur.close()


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:  # SQLite may have rolled back by itself (disk full, I/O error)
        conn.execute("ROLLBACK")


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the pool's tables if missing; refuse a pool schema newer than this ccredit."""
    row = _one(conn, "SELECT name FROM sqlite_master WHERE type='table' AND name='pool_schema'")
    if row is not None:
        got = _one(conn, "SELECT version FROM pool_schema")
        version = int(got[0]) if got else 0
        if version > POOL_SCHEMA_VERSION:
            raise RegisterError(f"the pool tables of this register were written by a newer ccredit (pool schema "
                                f"v{version}; this version reads up to v{POOL_SCHEMA_VERSION}): upgrade ccredit")
        if version == POOL_SCHEMA_VERSION:
            return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for stmt in _SCHEMA:
            conn.execute(stmt)
        if _one(conn, "SELECT count(*) FROM pool_schema")[0] == 0:
            conn.execute("INSERT INTO pool_schema (version) VALUES (?)", (POOL_SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


def _has_pool(conn: sqlite3.Connection) -> bool:
    """Whether the register has pool tables this ccredit can read (a newer pool schema is refused)."""
    if _one(conn, "SELECT name FROM sqlite_master WHERE type='table' AND name='pool_snapshots'") is None:
        return False
    got = _one(conn, "SELECT version FROM pool_schema")
    if got is not None and int(got[0]) > POOL_SCHEMA_VERSION:
        raise RegisterError(f"the pool tables of this register were written by a newer ccredit (pool schema "
                            f"v{got[0]}; this version reads up to v{POOL_SCHEMA_VERSION}): upgrade ccredit")
    return True


# -- linking loans to ratings ---------------------------------------------------------------------

def _ratings(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    """code -> [(as_of, run_id, grade, quota)] of every run that rated it, oldest first."""
    out: dict[str, list[tuple]] = {}
    for r in conn.execute("SELECT x.code, r.as_of, r.id, x.grade, x.quota FROM results x JOIN runs r ON r.id = x.run_id "
                          "ORDER BY r.as_of, r.id"):
        out.setdefault(r[0], []).append((_dt.date.fromisoformat(r[1]), r[2], r[3], r[4]))
    return out


def link_ratings(loans: pd.DataFrame, ratings: dict[str, list[tuple]], problems: Problems, file: str,
                 header: str) -> list[int | None]:
    """The rating run in force at each loan's disbursement: the latest run dated on or before it in
    which the code passed (graded, with a quota). Loans without one are problems, never silent."""
    out: list[int | None] = []
    for loan in loans.to_dict("records"):
        code, day, row = loan["code"], loan["disbursed"], int(loan["_row"])
        runs = ratings.get(code, [])
        passed = [r for r in runs if r[2] and (r[3] or 0) > 0]
        before = [r for r in passed if day is not None and r[0] <= day]
        if before:
            run = before[-1]
            out.append(run[1])
            if loan["contract_amount"] is not None and not (isinstance(loan["contract_amount"], float)
                                                            and math.isnan(loan["contract_amount"])):
                if loan["contract_amount"] > (run[3] or 0) + 1e-9:
                    problems.add(file, None, row, header, "above_quota",
                                 say(f"贷款 {loan['loan_no']} 合同金额 {loan['contract_amount']:g} 超过运行 #{run[1]} "
                                     f"核定的额度 {run[3]:g}",
                                     f"loan {loan['loan_no']}: contract amount {loan['contract_amount']:g} exceeds "
                                     f"the quota {run[3]:g} of run #{run[1]}"), "warning")
            continue
        out.append(None)
        if not code or code_problem(code) is not None or day is None:
            continue  # reported already (a bad code, no disbursement date)
        if not runs:
            problems.add(file, None, row, header, "unrated_code",
                         say(f"贷款 {loan['loan_no']}：{code} 从未经过评级（登记簿中没有该企业）：资金池只为评级入池企业担保，请核实",
                             f"loan {loan['loan_no']}: {code} never passed a rating (not in the register): the pool "
                             "guarantees only rated members; check it"))
        elif not passed:
            last = runs[-1]
            problems.add(file, None, row, header, "not_admitted",
                         say(f"贷款 {loan['loan_no']}：{code} 在评级中未获入池额度（运行 #{last[1]}：{last[2] or '未评级'}）",
                             f"loan {loan['loan_no']}: {code} was rated but never admitted to the pool (run "
                             f"#{last[1]}: {last[2] or 'not graded'}, no quota)"))
        else:
            first = passed[0]
            problems.add(file, None, row, header, "disbursed_before_rating",
                         say(f"贷款 {loan['loan_no']} 放款于 {day}，早于 {code} 的首次入池评级（{first[0]}，运行 #{first[1]}）",
                             f"loan {loan['loan_no']} was disbursed on {day}, before {code} first passed a rating "
                             f"({first[0]}, run #{first[1]})"))
    return out


# -- import ---------------------------------------------------------------------------------------

def _iso(d: Any) -> str | None:
    return d.isoformat() if d is not None and not (isinstance(d, float) and math.isnan(d)) else None


def _clean(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item") and not isinstance(v, str):
        return v.item()
    return v


def import_snapshot(db: str | os.PathLike[str], ledger: Path, *, as_of: _dt.date, model: Model,
                    fund: Path | None = None, replace: bool = False, lang: str = "zh") -> ImportResult:
    """Read a ledger (and optionally the fund's movements) and store them as the snapshot of ``as_of``."""
    cfg = pool_config(model)
    problems = Problems()
    loans = read_ledger(Path(ledger), cfg, problems, as_of, lang=lang)
    movements = read_fund(Path(fund), cfg, problems, as_of, lang=lang) if fund is not None else None
    totals = fund_totals(movements, loans, cfg, as_of)
    if movements is not None:
        ledger_paid = float(loans["paid_amount"].sum()) if len(loans) else 0.0
        if abs(ledger_paid - totals["payouts"]) > 0.005:
            problems.add(Path(fund).name, None, None, cfg.fields["kind"].label, "fund_ledger_mismatch",
                         say(f"资金池代偿支出合计 {totals['payouts']:,.2f} 与台账代偿金额合计 {ledger_paid:,.2f} 不一致",
                             f"the fund's guarantee payouts ({totals['payouts']:,.2f}) differ from the ledger's "
                             f"guarantees paid ({ledger_paid:,.2f})"), "warning")
    rows = [[_clean(loan[c]) if c not in ("disbursed", "maturity", "paid_date", "recovered_date") else _iso(loan[c])
             for c in LOAN_COLUMNS] for loan in loans.to_dict("records")]
    fund_rows = [] if movements is None else [
        [_iso(m["date"]), m["kind"], float(m["amount"]), m["party"], m["loan_no"], m["remark"]]
        for m in movements.to_dict("records")]
    content = hashlib.sha256(json.dumps({"loans": rows, "fund": fund_rows, "totals": totals}, ensure_ascii=False,
                                        sort_keys=True, default=str).encode()).hexdigest()
    path = Path(db)
    try:
        with opened(path) as conn:
            ensure_schema(conn)
            ratings = _ratings(conn)
            run_ids = link_ratings(loans, ratings, problems, Path(ledger).name,
                                   cfg.fields["code"].label) if len(loans) else []
            conn.execute("BEGIN IMMEDIATE")
            try:
                old = _one(conn, "SELECT id, content_hash FROM pool_snapshots WHERE as_of = ?", (as_of.isoformat(),))
                status = "imported"
                if old is not None and old["content_hash"] == content:
                    conn.execute("COMMIT")
                    return ImportResult(old["id"], as_of, "unchanged", len(loans),
                                        sum(r is not None for r in run_ids), totals, problems)
                if old is not None:
                    if not replace:
                        raise UsageError(say(
                            f"{path} 已有 {as_of} 的资金池快照，内容不同；如确需以新台账替换，请加 --replace",
                            f"{path} already holds a pool snapshot of {as_of} with different content; "
                            "add --replace to replace it with this ledger"))
                    conn.execute("DELETE FROM pool_snapshots WHERE id = ?", (old["id"],))
                    status = "replaced"
                now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
                cur = conn.execute(
                    "INSERT INTO pool_snapshots (as_of, imported_at, content_hash, ledger_file, ledger_sha256, "
                    "fund_file, fund_sha256, fund_json, problems_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (as_of.isoformat(), now, content, str(Path(ledger).resolve()), sha256_file(Path(ledger)),
                     str(Path(fund).resolve()) if fund else None, sha256_file(Path(fund)) if fund else None,
                     json.dumps(totals, ensure_ascii=False),
                     json.dumps(problems.as_dicts(), ensure_ascii=False, default=str)))
                sid = int(cur.lastrowid)
                conn.executemany(
                    f"INSERT INTO pool_loans (snapshot_id, {', '.join(LOAN_COLUMNS)}, run_id, source_row) "
                    f"VALUES ({', '.join('?' * (len(LOAN_COLUMNS) + 3))})",
                    [[sid, *r, run_ids[i], int(n)] for i, (r, n) in enumerate(zip(rows, loans["_row"].tolist()))])
                conn.executemany(
                    f"INSERT INTO pool_fund (snapshot_id, seq, {', '.join(FUND_COLUMNS)}, source_row) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [[sid, i, *r, int(n)] for i, (r, n) in enumerate(zip(fund_rows, [] if movements is None else movements["_row"].tolist()))])
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
    except sqlite3.Error as exc:
        raise RegisterError(f"the pool snapshot could not be stored in {path} ({exc}); the register is unchanged") from None
    return ImportResult(sid, as_of, status, len(loans), sum(r is not None for r in run_ids), totals, problems)


# -- reading --------------------------------------------------------------------------------------

def _no_snapshot(db: Path, as_of: _dt.date | None) -> UsageError:
    when = f" on or before {as_of}" if as_of else ""
    return UsageError(say(
        f"{db} 中没有{'在 ' + str(as_of) + ' 或之前的' if as_of else ''}资金池快照：先运行 "
        f"ccredit pool import 贷款台账.xlsx --as-of DATE --db {db}",
        f"{db} holds no pool snapshot{when}: first run `ccredit pool import LEDGER.xlsx --as-of DATE --db {db}`"))


def _date_or_none(text: str | None) -> _dt.date | None:
    return _dt.date.fromisoformat(text) if text else None


_LOAN_SQL = ("SELECT s.as_of AS snapshot_as_of, l.*, x.grade, x.total, x.quota FROM pool_loans l "
             "JOIN pool_snapshots s ON s.id = l.snapshot_id "
             "LEFT JOIN results x ON x.run_id = l.run_id AND x.code = l.code ")


_NUMERIC = {"contract_amount", "outstanding", "paid_amount", "recovered_amount", "total", "quota", "dpd"}


def _loan_frame(rows: list[sqlite3.Row], with_snapshot: bool = False) -> pd.DataFrame:
    cols = BOOK_COLUMNS + (["snapshot_as_of"] if with_snapshot else [])
    data = []
    for r in rows:
        d = {c: r[c] for c in cols}
        for c in ("disbursed", "maturity", "paid_date", "recovered_date"):
            d[c] = _date_or_none(d[c])
        if with_snapshot:
            d["snapshot_as_of"] = _dt.date.fromisoformat(d["snapshot_as_of"])
        data.append(d)
    frame = pd.DataFrame(data, columns=cols)
    for c in ("contract_amount", "outstanding", "paid_amount", "recovered_amount", "total", "quota"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    frame["dpd"] = frame["dpd"].astype(int)
    # Text, dates and run ids as Python objects with None for missing (not NaN), as the contract says.
    for c in cols:
        if c not in _NUMERIC:
            frame[c] = pd.Series([d[c] for d in data], index=frame.index, dtype=object)
    return frame


def _applicant_sectors(conn: sqlite3.Connection, run_ids: set[int], model: Model,
                       notes: list[str]) -> dict[tuple[int, str], str]:
    """(run, code) -> sub-sector, from the applicants file each run rated (where it carries one).

    The register keeps the file's path and SHA-256; a file moved away is noted and skipped, a file
    changed since the rating is noted and read as it is now."""
    from cluster_credit_cli.inputs.identity import normalize_codes
    from cluster_credit_cli.inputs.reading import read_source

    if "sector" not in model.fields or "applicants" not in model.fields["sector"].sources:
        return {}
    out: dict[tuple[int, str], str] = {}
    for run_id in sorted(run_ids):
        row = _one(conn, "SELECT applicants_file, inputs_json FROM runs WHERE id = ?", (run_id,))
        if row is None or not row[0]:
            continue
        path = Path(row[0])
        if not path.is_file():
            notes.append(say(f"运行 #{run_id} 的申报文件已不在 {path}：细分行业只取自台账",
                             f"the applicants file of run #{run_id} is no longer at {path}: sub-sectors come "
                             "from the ledger only"))
            continue
        recorded = next((i.get("sha256") for i in json.loads(row[1] or "[]") if i.get("kind") == "applicants"), None)
        if recorded and recorded != sha256_file(path):
            notes.append(say(f"运行 #{run_id} 的申报文件 {path.name} 在评级后已被修改：细分行业按现在的内容读取",
                             f"the applicants file {path.name} of run #{run_id} changed after the rating: "
                             "sub-sectors are read as it is now"))
        table = read_source(path, "applicants", model, Problems())
        if table is None or "sector" not in table.data.columns:
            continue
        codes, _ = normalize_codes(table.data["code"].fillna("")) if "code" in table.data else (None, None)
        if codes is None:
            continue
        for code, sector in zip(codes.tolist(), table.data["sector"].tolist()):
            if code and isinstance(sector, str) and sector.strip():
                out.setdefault((run_id, code), sector.strip())
    return out


def load_book(db: str | os.PathLike[str], as_of: _dt.date | None = None, *, model: Model | None = None) -> Book:
    """The latest snapshot on or before ``as_of`` (None: the latest). Leverage from the model's
    ``[pool] leverage`` (default model when none is given)."""
    path = Path(db)
    if model is None:
        from cluster_credit_cli.model.config import load_model

        model = load_model()
    leverage = float(model.pool.get("leverage", 0))
    with opened(path) as conn:
        if not _has_pool(conn):
            raise _no_snapshot(path, as_of)
        snap = _one(conn, "SELECT * FROM pool_snapshots WHERE as_of <= ? ORDER BY as_of DESC LIMIT 1",
                    ((as_of or _dt.date.max).isoformat(),))
        if snap is None:
            raise _no_snapshot(path, as_of)
        loans = _loan_frame(conn.execute(_LOAN_SQL + "WHERE l.snapshot_id = ? ORDER BY l.source_row, l.loan_no",
                                         (snap["id"],)).fetchall())
        fund_rows = conn.execute("SELECT * FROM pool_fund WHERE snapshot_id = ? ORDER BY seq", (snap["id"],)).fetchall()
        notes: list[str] = []
        _fill_sectors(conn, loans, model, notes)
    totals = json.loads(snap["fund_json"])
    movements = None
    if totals.get("source") == "fund":
        movements = pd.DataFrame([{c: r[c] for c in FUND_COLUMNS} for r in fund_rows], columns=FUND_COLUMNS)
        movements["date"] = movements["date"].map(_date_or_none)
    fund = {k: float(totals[k]) for k in ("contributions", "payouts", "recoveries", "interest", "balance")}
    return Book(_dt.date.fromisoformat(snap["as_of"]), loans, fund, leverage, int(snap["id"]), movements,
                totals.get("source", "config"), json.loads(snap["problems_json"]), notes)


def _fill_sectors(conn: sqlite3.Connection, loans: pd.DataFrame, model: Model, notes: list[str]) -> None:
    """The ledger's sub-sector where it gives one, else the applicants' at the loan's rating."""
    missing = [i for i, (s, r) in enumerate(zip(loans["sector"], loans["run_id"])) if not s and r is not None]
    if not missing:
        return
    sectors = _applicant_sectors(conn, {loans["run_id"].iat[i] for i in missing}, model, notes)
    if not sectors:
        return
    values = loans["sector"].tolist()
    for i in missing:
        values[i] = sectors.get((loans["run_id"].iat[i], loans["code"].iat[i]))
    loans["sector"] = pd.Series(values, index=loans.index, dtype=object)


def snapshots(db: str | os.PathLike[str]) -> pd.DataFrame:
    """One row per snapshot, oldest first: snapshot_id, as_of, imported_at, loans, outstanding, fund_balance."""
    cols = ["snapshot_id", "as_of", "imported_at", "loans", "outstanding", "fund_balance"]
    with opened(Path(db)) as conn:
        if not _has_pool(conn):
            return pd.DataFrame(columns=cols)
        rows = conn.execute(
            "SELECT s.id, s.as_of, s.imported_at, s.fund_json, count(l.loan_no) AS n, "
            "coalesce(sum(l.outstanding), 0) AS outstanding FROM pool_snapshots s "
            "LEFT JOIN pool_loans l ON l.snapshot_id = s.id GROUP BY s.id ORDER BY s.as_of").fetchall()
    data = [[r["id"], _dt.date.fromisoformat(r["as_of"]), r["imported_at"], int(r["n"]), float(r["outstanding"]),
             float(json.loads(r["fund_json"])["balance"])] for r in rows]
    return pd.DataFrame(data, columns=cols)


def loan_history(db: str | os.PathLike[str], *, model: Model | None = None) -> pd.DataFrame:
    """Every loan row of every snapshot (the Book.loans columns + snapshot_as_of), oldest snapshot first."""
    if model is None:
        from cluster_credit_cli.model.config import load_model

        model = load_model()
    with opened(Path(db)) as conn:
        if not _has_pool(conn):
            return _loan_frame([], with_snapshot=True)
        rows = conn.execute(_LOAN_SQL + "ORDER BY s.as_of, l.source_row, l.loan_no").fetchall()
        frame = _loan_frame(rows, with_snapshot=True)
        _fill_sectors(conn, frame, model, [])
    return frame

