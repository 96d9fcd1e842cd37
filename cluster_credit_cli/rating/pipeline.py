"""One review round, end to end: read → merge → score → gates → grades → pool.

``score_round`` is the library entry point behind ``ccredit score`` (and ``batch``); it returns a
``RoundResult`` of plain data (DataFrames and lists) that the report writers and the JSON use.
``check_round`` stops after merging: the materials-completeness review (材料完整性审核).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cluster_credit_cli import __version__
from cluster_credit_cli.rating.gates import GateResult, evaluate_gates
from cluster_credit_cli.i18n import say, use_lang
from cluster_credit_cli.rating.merge import Merged, merge_sources
from cluster_credit_cli.model.config import Model, warnings_for
from cluster_credit_cli.problems import Problems, UsageError
from cluster_credit_cli.rating.grades import pool_summary, rank_and_quota, round_half_up
from cluster_credit_cli.inputs import reading
from cluster_credit_cli.inputs.reading import SourceTable, read_source
from cluster_credit_cli.rating.scoring import Scores, score_all

STATUS_ORDER = ["ineligible:age", "ineligible:town", "ineligible:account", "veto:government",
                "veto:association", "veto:bank", "incomplete", "conflict"]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class RoundResult:
    model: Model
    as_of: _dt.date
    lang: str
    inputs: list[dict[str, Any]]
    problems: Problems
    table: pd.DataFrame  # one row per applicant (see ``columns`` in score_round)
    scores: Scores | None
    merged: Merged | None
    gates: GateResult | None
    stats: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    tool_version: str = __version__
    # Analyses a capability wing attached to the round (e.g. "sensitivity"): each value has
    # ``as_dict()`` (the JSON under its key) and ``write_sheet(wb, model, lang, names)``, so the
    # core and the workbook writer carry them as data without importing the wing.
    attachments: dict[str, Any] = field(default_factory=dict)

    @property
    def config_hash(self) -> str:
        return self.model.hash

    @property
    def warnings(self) -> list[str]:
        return warnings_for(self.model, self.lang)

    def pool(self) -> dict[str, Any]:
        return pool_summary(self.table, self.model)

    def grade_counts(self) -> dict[str, int]:
        counts = self.table["grade"].value_counts()
        return {g: int(counts.get(g, 0)) for g in self.model.grade_labels()}

    def ranked(self) -> pd.DataFrame:
        """Graded enterprises in rank order, then the others (by total) — the workbook's order."""
        t = self.table
        graded = t[t["_order"].notna()].sort_values("_order")
        rest = t[t["_order"].isna()].sort_values(["total", "code"], ascending=[False, True], na_position="last")
        return pd.concat([graded, rest])

    def _ranked_positions(self) -> np.ndarray:
        """The row positions of ``ranked()``: the same sorts, on the three key columns only."""
        keys = self.table[["_order", "total", "code"]].reset_index(drop=True)
        graded = keys[keys["_order"].notna()].sort_values("_order")
        rest = keys[keys["_order"].isna()].sort_values(["total", "code"], ascending=[False, True], na_position="last")
        return np.concatenate([graded.index.to_numpy(), rest.index.to_numpy()]).astype(np.intp)

    def enterprise_columns(self) -> "EnterpriseColumns":
        """The enterprises' fields as columns in workbook order, numbers rounded once per distinct
        value; kept. The JSON and the register build their text from these columns, and
        ``enterprise_records`` its dicts, so all three hold the same values."""
        cached = self.__dict__.get("_enterprise_columns")
        if cached is not None:
            return cached
        leaves = self.model.leaves()
        dims = [k for k, n in self.model.nodes.items() if not n.is_leaf]
        t = self.table
        pos = self._ranked_positions()
        n = len(pos)

        def r(name: str) -> pd.Series:  # ranked()[name], without reordering the whole table
            return t[name].take(pos)

        def col(name: str, decimals: int) -> NumColumn:
            if name not in t:
                return NumColumn(np.full(n, -1, dtype=np.intp), [])
            s = t[name]
            if isinstance(s.dtype, np.dtype) and s.dtype.kind == "f":  # plain floats: numpy's take
                return _float_codes(s.to_numpy()[pos], decimals)
            return _num_codes(s.take(pos), decimals)

        rank = r("rank")
        cols = EnterpriseColumns(
            code=r("code").tolist(), name=r("name").tolist(), status=r("status").tolist(),
            grade=[g if isinstance(g, str) else None for g in r("grade").tolist()],
            rank=[int(v) if ok else None for v, ok in zip(rank.tolist(), rank.notna().tolist())],
            numbers={"total": col("total_display", 2), "base": col("base", 4), "bonus": col("bonus", 4),
                     "quota": col("quota", 2), "requested": col("requested", 2)},
            dimensions={k: col(f"dim:{k}", 4) for k in dims},
            scores={k: col(f"score:{k}", 4) for k in leaves},
            missing=r("missing").tolist(), reasons=r("reasons").tolist())
        self.__dict__["_enterprise_columns"] = cols
        return cols

    def enterprise_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per enterprise in workbook order (``to_json``'s enterprises).

        Built from ``enterprise_columns`` and kept. ``ccredit score`` itself does not need them:
        its JSON and register rows are written from the columns (outputs/json_rows.py).
        """
        cached = self.__dict__.get("_enterprise_records")
        if cached is not None:
            return cached
        c = self.enterprise_columns()
        total, base, bonus, quota, requested = (c.numbers[k].values() for k in
                                                ("total", "base", "bonus", "quota", "requested"))
        dims, dim_cols = list(c.dimensions), [v.values() for v in c.dimensions.values()]
        leaves, score_cols = list(c.scores), [v.values() for v in c.scores.values()]
        ents = []
        for i, (code, name, status, missing, reasons) in enumerate(zip(c.code, c.name, c.status, c.missing,
                                                                        c.reasons)):
            ents.append({
                "code": code, "name": name, "status": list(status), "grade": c.grade[i], "rank": c.rank[i],
                "total": total[i], "base": base[i], "bonus": bonus[i], "quota": quota[i], "requested": requested[i],
                "dimensions": {k: v[i] for k, v in zip(dims, dim_cols)},
                "scores": {k: v[i] for k, v in zip(leaves, score_cols)},
                "missing": list(missing),
                "reasons": list(reasons),
            })
        self.__dict__["_enterprise_records"] = ents
        return ents

    def to_json(self, enterprises: Any = None) -> dict[str, Any]:
        """The machine-readable result (stable field names; see README). ``enterprises`` stands in
        for ``enterprise_records()`` (the JSON writer puts a placeholder there and fills it itself)."""
        leaves = self.model.leaves()
        ents = self.enterprise_records() if enterprises is None else enterprises
        return {
            "tool": "ccredit", "tool_version": self.tool_version,
            "as_of": self.as_of.isoformat(), "config_hash": self.config_hash, "model": self.model.name,
            "effective_weights": {k: self.model.effective[k] for k in leaves},
            "warnings": list(self.warnings),
            "inputs": [{k: (str(v) if isinstance(v, Path) else v) for k, v in i.items()} for i in self.inputs],
            "problems": self.problems.as_dicts(),
            "grades": self.grade_counts(), "pool": self.pool(),
            "enterprises": ents,
            **{key: att.as_dict() for key, att in self.attachments.items()},
        }


def _num(value: Any, decimals: int = 2) -> float | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return round(float(value), decimals)


@dataclass
class NumColumn:
    """A rounded numeric field of every enterprise: row i is ``uniques[codes[i]]``, code -1 None."""
    codes: np.ndarray
    uniques: list

    def values(self) -> list:
        return np.array(self.uniques + [None], dtype=object)[self.codes].tolist()


def _num_codes(values: pd.Series, decimals: int) -> NumColumn:
    """``_num`` over a column as codes into its distinct rounded values (each rounded once)."""
    if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        index: dict[Any, int] = {}
        uniques: list = []
        codes = []
        for v in values.tolist():
            v = _num(v, decimals)
            key = None if v is None else v.hex()  # 0.0 and -0.0 are equal but print differently
            code = index.get(key)
            if code is None:
                code = index[key] = len(uniques)
                uniques.append(v)
            codes.append(code)
        return NumColumn(np.asarray(codes, dtype=np.intp), uniques)
    return _float_codes(values.to_numpy(dtype=float, na_value=np.nan), decimals)


def _float_codes(values: np.ndarray, decimals: int) -> NumColumn:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return NumColumn(codes, [round(u, decimals) for u in uniques.tolist()])  # code -1 (NaN): None


@dataclass
class EnterpriseColumns:
    """``RoundResult.enterprise_columns``: one list (or NumColumn) per field, rows in workbook order."""
    code: list
    name: list
    status: list
    grade: list
    rank: list
    numbers: dict[str, NumColumn]  # total, base, bonus, quota, requested (the JSON's order)
    dimensions: dict[str, NumColumn]
    scores: dict[str, NumColumn]
    missing: list
    reasons: list

    def __len__(self) -> int:
        return len(self.code)


def read_inputs(sources: dict[str, Path], model: Model, problems: Problems, lang: str
                ) -> tuple[dict[str, SourceTable], list[dict[str, Any]]]:
    tables: dict[str, SourceTable] = {}
    inputs: list[dict[str, Any]] = []
    for kind, path in sources.items():
        if kind not in model.sources:
            raise UsageError(f"unknown source kind {kind!r}")
        path = Path(path)
        if not path.is_file():
            raise UsageError(say(f"{model.sources[kind].label}：找不到文件 {path}",
                                 f"{model.sources[kind].title('en')} ({kind}): file not found: {path}"))
        if _stream(path, kind, model, tables):
            table = reading.read_records_streaming(path, kind, model, problems, lang=lang,
                                                   keep=_applicant_codes(tables["applicants"]))
        else:
            table = read_source(path, kind, model, problems, lang=lang)
        inputs.append({"kind": kind, "path": str(path), "file": path.name,
                       "sha256": sha256_file(path) if table is not None else _hash_if_readable(path),
                       "sheet": table.sheet if table else None,
                       "rows": len(table.data) + table.dropped if table else 0,
                       "used": table is not None,
                       "ignored_columns": table.unknown if table else []})
        if table is not None:
            tables[kind] = table
    if "applicants" not in tables:
        raise UsageError(say("申报材料文件无法读取：", "the applicants file could not be read: ")
                         + say("；", "; ").join(p.message for p in problems if p.file == Path(sources["applicants"]).name))
    return tables, inputs


def _hash_if_readable(path: Path) -> str | None:
    """The hash of a file the run could not use: only when it is small enough and readable.

    A refused 20 GiB export is not read in full to hash it, and an unreadable one (no permission)
    is a problem already reported, not an abort.
    """
    from cluster_credit_cli.inputs.filecheck import Limits

    try:
        if path.stat().st_size > Limits().max_file_bytes:
            return None
        return sha256_file(path)
    except OSError:
        return None


def _stream(path: Path, kind: str, model: Model, tables: dict[str, SourceTable]) -> bool:
    """Large record exports (CSV) are streamed once the applicants are known."""
    return (model.sources[kind].shape == "records" and path.suffix.lower() in (".csv", ".txt")
            and "applicants" in tables and path.stat().st_size >= reading.STREAM_MIN_BYTES)


def _applicant_codes(table: SourceTable) -> set[str]:
    from cluster_credit_cli.inputs.identity import normalize_codes

    if "code" not in table.data:
        return set()
    codes, reasons = normalize_codes(table.data["code"].fillna(""))
    return set(codes[reasons.isna()])


def python_strings():
    """Pandas text in Python-object storage for the duration (see ``score_round``)."""
    return pd.option_context("mode.string_storage", "python")


def score_round(applicants: Path, sources: dict[str, Path] | None = None, *, model: Model,
                as_of: _dt.date, lang: str = "zh", check_only: bool = False,
                progress=None) -> RoundResult:
    """Score one review round. ``sources`` maps source kind → file (applicants is added).

    Text columns are kept in Python-object storage even where pyarrow is installed: the round's
    work is per-value Python (codes, names, choices), where pandas' Arrow-backed strings convert
    value by value and made a 20,000-firm round ~25 % slower (benchmarks/README.md). Scoped to
    this call, so a caller's own pandas settings are untouched.
    """
    with use_lang(lang), python_strings():
        return _score_round(applicants, sources, model=model, as_of=as_of, lang=lang, check_only=check_only,
                            progress=progress)


def _score_round(applicants, sources, *, model, as_of, lang, check_only, progress) -> RoundResult:
    model.require_rules()  # a scaffolded model (model init) scores only once its placeholder rules are written
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    problems = Problems()
    all_sources = {"applicants": Path(applicants), **{k: Path(v) for k, v in (sources or {}).items()
                                                       if v and k != "applicants"}}
    step = progress or (lambda name: None)
    step("read")
    tables, inputs = read_inputs(all_sources, model, problems, lang)
    app = tables["applicants"]
    if not len(app.data):  # most likely the wrong file or sheet: say so rather than report a clean round
        problems.add(app.file.name, app.sheet, app.header_row, None, "no_applicants",
                     say("表头下没有任何申报企业行；请检查文件和工作表", "no applicant rows below the header; "
                         "check the file and the sheet"))
    timings["read"] = time.perf_counter() - t0
    step("merge")
    t1 = time.perf_counter()
    merged = merge_sources(tables, model, problems)
    timings["merge"] = time.perf_counter() - t1
    step("score")
    t2 = time.perf_counter()
    have = set(tables)
    scores = score_all(merged, model, as_of, have, problems)
    gates = evaluate_gates(merged, model, as_of)
    unusable = {i["kind"] for i in inputs if not i["used"]}
    table = _assemble(merged, scores, gates, model, lang, check_only, problems, unusable)
    timings["score"] = time.perf_counter() - t2
    stats = {k: vars(v) for k, v in merged.stats.items()}
    return RoundResult(model, as_of, lang, inputs, problems, table, scores, merged, gates, stats, timings)


def _assemble(merged: Merged, scores: Scores, gates: GateResult, model: Model, lang: str,
              check_only: bool, problems: Problems | None = None, unusable: set[str] = frozenset()) -> pd.DataFrame:
    codes = merged.codes
    app = merged.aligned["applicants"]
    names = app["name"] if "name" in app else pd.Series("", index=codes)
    base = scores.base(model)
    bonus = scores.bonus(model)
    total = base + bonus
    leaf_names = {k: model.nodes[k].label(lang) for k in model.leaves()}
    missing_lists, status_lists, reason_lists = [], [], []
    requested = merged.values["requested"] if "requested" in merged.values else pd.Series(np.nan, index=codes)
    leaves = model.leaves()
    leaf_text = [f"{k} {leaf_names[k]}" for k in leaves]
    miss_arr = scores.missing[leaves].to_numpy(dtype=bool)  # one array, not a per-cell .iat
    req_missing = requested.isna().to_numpy() if "requested" in model.fields else np.zeros(len(codes), bool)
    from cluster_credit_cli.rating.missing import describe_missing, gap_action, gap_words

    extra = {c: list(v) for c, v in gates.missing_fields.items()}
    for i in np.flatnonzero(req_missing):
        extra.setdefault(codes[i], []).append("requested")
    # What is missing, by the document that should carry it (not by indicator code).
    gaps = describe_missing(merged, scores, model, merged.tables, problems or Problems(), lang, extra, unusable)
    todo_lists = []
    for i, code in enumerate(codes):
        missing = [gap_words(model, g, lang) for g in gaps.get(code, [])]
        todo = [gap_action(model, g, lang) for g in gaps.get(code, [])]
        if not missing and not scores.notes.get(code) and (miss_arr[i].any() or extra.get(code)):
            # a leaf without a traceable input (should not happen): still say which
            missing = [leaf_text[j] for j in np.flatnonzero(miss_arr[i])] + list(gates.missing.get(code, []))
        missing += scores.notes.get(code, [])
        todo += [("check: " if lang == "en" else "请核对：") + n for n in scores.notes.get(code, [])]
        status = list(gates.status.get(code, []))
        reasons = list((gates.reasons_en if lang == "en" else gates.reasons).get(code, []))
        if code in merged.conflict_codes:
            status = ["conflict"]
            missing = []
            todo = []
            if code in merged.shared:
                reasons = ["申报表中有几家不同的企业使用这个代码，至少有一个代码是错的，请核对" if lang != "en" else
                           "different firms use this code in the applicants file: at least one code is wrong"]
            else:
                reasons = ["申报表中同一代码有多行，请保留一行" if lang != "en" else
                           "several applicant rows for this code: keep one"]
        elif missing:
            status.append("incomplete")
        status.sort(key=lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else 99)
        for kind, theirs in merged.name_mismatch.get(code, []):
            src = model.sources[kind].title(lang)
            todo.append(f"check the name: {src} has '{theirs}'" if lang == "en" else f"请核对企业名称：{src}为“{theirs}”")
        if code in merged.conflict_codes:
            todo.append(reasons[0])
        todo_lists.append(todo)
        missing_lists.append(missing)
        status_lists.append(status)
        reason_lists.append(reasons)
    table = pd.DataFrame({
        "code": codes, "name": names.reindex(codes).to_numpy(dtype=object),
        "status": status_lists, "reasons": reason_lists, "missing": missing_lists, "todo": todo_lists,
        "base": base.to_numpy(), "bonus": bonus.to_numpy(), "total": total.to_numpy(),
        "requested": pd.to_numeric(requested, errors="coerce").to_numpy(),
    })
    conflict = table["code"].isin(merged.conflict_codes).to_numpy()
    for col in ("base", "bonus", "total"):
        table.loc[conflict, col] = np.nan
    table["total_display"] = round_half_up(table["total"].to_numpy(), model.grade_decimals)
    table["graded"] = table["status"].map(len).to_numpy() == 0
    if check_only:
        table["graded"] = False
    table = rank_and_quota(table, model)
    dims = scores.dimensions(model)
    for k in dims.columns:
        table[f"dim:{k}"] = np.where(conflict, np.nan, dims[k].to_numpy())
    for k in model.leaves():
        table[f"score:{k}"] = np.where(conflict, np.nan, scores.scores[k].to_numpy())
    return table
