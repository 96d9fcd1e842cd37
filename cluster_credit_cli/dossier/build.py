"""The content of the credit report per enterprise (企业信用评价报告), as plain data.

``build_reports`` takes a scored round (``RoundResult``) and, where given, the rating register
and a monitoring result, and returns one ``EnterpriseReport`` per enterprise: identity, the
verdict (grade, rank, scores, quota), the dimensions against the round's median and quartiles,
every leaf with its input, score, effective weight and source, eligibility and vetoes with
their reasons, what is missing, the conflicts settled, and the grade history and alerts.
``round_from_json`` rebuilds the round of a RESULT.json from the same inputs (checked by their
SHA-256), so a report never shows numbers the round did not have.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cluster_credit_cli.i18n import say, status_words
from cluster_credit_cli.model.config import Model
from cluster_credit_cli.problems import UsageError
from cluster_credit_cli.rating.pipeline import RoundResult

IDENTITY_FIELDS = ("code", "name", "legal_rep", "founded", "address")


@dataclass
class Dimension:
    key: str
    label: str
    weight: float  # the most points the dimension gives (effective weight × 100)
    value: float | None
    median: float | None
    q1: float | None
    q3: float | None


@dataclass
class Leaf:
    key: str
    label: str
    dimension: str
    input: Any
    score: float | None
    weight: float
    points: float | None
    source: str


@dataclass
class EnterpriseReport:
    code: str
    name: str
    identity: list[tuple[str, str]]  # (label, value) in the model's order
    grade: str | None
    rank: int | None
    ranked_of: int
    total: float | None
    base: float | None
    bonus: float | None
    requested: float | None
    quota: float | None
    unit: str
    status: list[str]
    status_text: str
    reasons: list[str]
    missing: list[str]
    dimensions: list[Dimension]
    leaves: list[Leaf]
    conflicts: list[dict[str, Any]]
    history: list[dict[str, Any]] | None = None  # None: no register given
    alerts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RoundInfo:
    model: str
    tool_version: str
    as_of: str
    config_hash: str
    lang: str
    grades: list[str] = field(default_factory=list)  # best first: tells an upgrade from a downgrade


def _num(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT or value is pd.NA:
        return ""
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, (bool, np.bool_)):
        return "是" if value else "否"
    return str(value)


def round_info(result: RoundResult) -> RoundInfo:
    model = result.model
    name = model.name_en if result.lang == "en" and model.name_en else model.name
    return RoundInfo(name, result.tool_version, result.as_of.isoformat(), result.config_hash, result.lang,
                     list(model.grade_labels()))


def build_reports(result: RoundResult, *, codes: list[str] | None = None,
                  history: dict[str, list[dict[str, Any]]] | None = None,
                  alerts: dict[str, list[dict[str, Any]]] | None = None) -> list[EnterpriseReport]:
    """One report per enterprise of the round, in the workbook's order (ranked first).

    ``codes``: only these (in the round's order); an unknown code is a usage error naming it.
    ``history``: code → the register's rows for it (``register.store.history``);
    ``alerts``: code → monitoring alerts (``ccredit monitor --json``).
    """
    model, lang = result.model, result.lang
    ranked = result.ranked()
    if codes:
        unknown = [c for c in codes if c not in set(ranked["code"])]
        if unknown:
            raise UsageError(say(f"--codes：本轮没有这些企业：{', '.join(unknown)}",
                                 f"--codes: not in this round: {', '.join(unknown)}"))
        ranked = ranked[ranked["code"].isin(codes)]
    table = result.table
    dims1 = [k for k, n in model.nodes.items() if n.level == 1]
    stats = {}
    graded = table[table["graded"]]
    base = graded if len(graded) else table
    for k in dims1:
        col = pd.to_numeric(base.get(f"dim:{k}"), errors="coerce").dropna() if f"dim:{k}" in base else pd.Series([], dtype=float)
        stats[k] = (float(col.median()), float(col.quantile(0.25)), float(col.quantile(0.75))) if len(col) else (None, None, None)
    leaves = model.leaves()
    merged = result.merged
    values = merged.values.set_index("code") if merged is not None and "code" in merged.values.columns else (
        merged.values if merged is not None else pd.DataFrame())
    sources = _leaf_sources(result, leaves, set(ranked["code"]))
    unit = model.pool.get("unit", "")
    n_graded = int(table["graded"].sum())
    reports = []
    for r in ranked.to_dict("records"):
        code = r["code"]
        ident = []
        for key in IDENTITY_FIELDS:
            f = model.fields.get(key)
            if f is None:
                continue
            value = r.get(key) if key in ("code", "name") else (values.at[code, key] if code in values.index and key in values.columns else None)
            if isinstance(value, pd.Series):  # a code given twice (conflict): the first row
                value = value.iloc[0]
            ident.append((f.header(lang), _text(value)))
        dims = [Dimension(k, model.nodes[k].label(lang), model.effective.get(k, model.nodes[k].weight) * 100,
                          _num(r.get(f"dim:{k}")), *stats[k]) for k in dims1]
        in_conflict = merged is not None and code in merged.conflict_codes
        leaf_rows = []
        for k in leaves:
            node = model.nodes[k]
            score = None if in_conflict else _num(r.get(f"score:{k}"))
            shown = None
            if result.scores is not None and not in_conflict and code in result.scores.inputs.index:
                shown = result.scores.inputs.at[code, k]
                if isinstance(shown, pd.Series):
                    shown = shown.iloc[0]
            w = model.effective[k]
            leaf_rows.append(Leaf(k, node.label(lang), _top(model, k, lang), shown, score, w,
                                  None if score is None else w * score, sources.get((code, k), "")))
        conf = []
        if merged is not None and len(merged.conflicts):
            mine = merged.conflicts[merged.conflicts["code"] == code]
            for field_key, group in mine.groupby("field", sort=False):
                label = model.fields[field_key].header(lang) if field_key in model.fields else field_key
                conf.append({"field": label, "values": [
                    {"source": _source_label(model, s, lang), "file": f, "row": _num(rw), "value": _text(v), "used": bool(u)}
                    for s, f, rw, v, u in zip(group["source"], group["file"], group["row"], group["value"], group["used"])]})
        reports.append(EnterpriseReport(
            code=code, name=r["name"], identity=ident,
            grade=r["grade"] if isinstance(r["grade"], str) else None,
            rank=int(r["rank"]) if pd.notna(r["rank"]) else None, ranked_of=n_graded,
            total=_num(r["total_display"]), base=_num(r["base"]), bonus=_num(r["bonus"]),
            requested=_num(r["requested"]), quota=_num(r["quota"]), unit=unit,
            status=list(r["status"]), status_text=status_words(list(r["status"]), lang) if r["status"] else "",
            reasons=list(r["reasons"]), missing=list(r["missing"]), dimensions=dims, leaves=leaf_rows,
            conflicts=conf, history=None if history is None else list(history.get(code, [])), alerts=list((alerts or {}).get(code, []))))
    return reports


def _top(model: Model, key: str, lang: str) -> str:
    node = model.nodes[key]
    while node.parent:
        node = model.nodes[node.parent]
    return node.label(lang)


def _source_label(model: Model, kind: str, lang: str) -> str:
    src = model.sources.get(kind)
    return src.title(lang) if src else kind


def _leaf_sources(result: RoundResult, leaves: list[str], wanted: set[str]) -> dict[tuple[str, str], str]:
    """(code, leaf) → 'file / sheet / row N / column' of each value the leaf used, for the wanted codes."""
    merged, model = result.merged, result.model
    out: dict[tuple[str, str], str] = {}
    if merged is None:
        return out
    for key in leaves:
        rule = model.rules[key]
        if rule["kind"] == "count":
            t_ = merged.tables.get("credit_system")
            if t_ is None:
                continue
            recs = merged.records
            counts = recs["code"].value_counts() if recs is not None and "code" in recs else {}
            for code in wanted:
                n = int(counts.get(code, 0))
                out[(code, key)] = " / ".join(x for x in (t_.file.name, t_.sheet, f"{n} {say('条记录', 'records')}") if x)
            continue
        for f in rule.get("_inputs", []):
            if f not in merged.winner:
                continue
            for code, src in merged.winner[f].items():
                if not src or code not in wanted:
                    continue
                table = merged.tables[src]
                row = merged.aligned[src].at[code, "_row"]
                if isinstance(row, pd.Series):
                    row = row.iloc[0]
                text = " / ".join(x for x in (table.file.name, table.sheet, f"{say('第', 'row ')}{int(row)}{say('行', '')}",
                                              table.columns.get(f, f)) if x)
                prev = out.get((code, key))
                out[(code, key)] = text if not prev else (prev if text in prev else f"{prev}; {text}")
    return out


# -- from a RESULT.json ------------------------------------------------------------------------------

def round_from_json(path: Path, model: Model, lang: str) -> tuple[RoundResult, dict[str, Any]]:
    """Score again the round a RESULT.json records, from the same input files (checked by SHA-256).

    Input paths are tried as recorded, then beside the JSON. A file that is missing or changed,
    or another model than the round's, is a usage error that says what to do.
    """
    from cluster_credit_cli.rating.pipeline import score_round, sha256_file

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(say(f"{path}：不是可读的 RESULT.json（{exc}）", f"{path}: not a readable RESULT.json ({exc})")) from None
    if not isinstance(data, dict) or data.get("tool") != "ccredit" or "enterprises" not in data or "inputs" not in data:
        raise UsageError(say(f"{path}：不是 ccredit score --json 写出的结果文件",
                             f"{path}: not a result file written by ccredit score --json"))
    if data.get("config_hash") and data["config_hash"] != model.hash:
        raise UsageError(say(f"{path}：本轮评级使用的模型（哈希 {data['config_hash'][:12]}）与当前模型（{model.hash[:12]}）不同；"
                             "请用 --config 指定当轮的模型文件",
                             f"{path}: the round was scored with another model (hash {data['config_hash'][:12]}, "
                             f"this one {model.hash[:12]}); give that model with --config"))
    sources: dict[str, Path] = {}
    applicants = None
    for item in data["inputs"]:
        if not item.get("used", True):
            continue
        recorded = Path(item.get("path") or item.get("file") or "")
        candidates = [recorded, Path(path).parent / recorded.name, Path(path).parent / recorded]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise UsageError(say(f"{path}：找不到本轮的输入文件 {recorded}；请把它放回原处或 RESULT.json 旁边，"
                                 "或直接用申报文件运行 ccredit report",
                                 f"{path}: the round's input {recorded} is not found; put it back or beside the "
                                 "RESULT.json, or run ccredit report on the applicants file"))
        if item.get("sha256") and sha256_file(found) != item["sha256"]:
            raise UsageError(say(f"{found}：文件在评级后已被修改（SHA-256 不同）；报告只能按当轮的数据出具。"
                                 "请恢复当轮的文件，或用申报文件重新评级后出具报告",
                                 f"{found}: changed since the round was scored (SHA-256 differs); restore the "
                                 "round's file, or score again and report from the new round"))
        if item["kind"] == "applicants":
            applicants = found
        else:
            sources[item["kind"]] = found
    if applicants is None:
        raise UsageError(say(f"{path}：结果文件未记录申报文件", f"{path}: the result records no applicants file"))
    as_of = _dt.date.fromisoformat(data["as_of"])
    result = score_round(applicants, sources, model=model, as_of=as_of, lang=lang)
    return result, data


# -- the one core function of ``ccredit report`` -----------------------------------------------------

@dataclass
class ReportRun:
    reports: list[EnterpriseReport]
    info: RoundInfo
    outcomes: list[Any]
    missing_glyphs: list[str]


def make_reports(result: RoundResult, out: Path, *, codes: list[str] | None = None, split: bool = False,
                 db: Path | None = None, alerts_json: Path | None = None) -> ReportRun:
    """Credit reports of a scored round as PDF: one booklet at ``out``, or (``split``) one file per
    firm in the folder ``out``. ``db``: the rating register, for each firm's grade history;
    ``alerts_json``: a ``ccredit monitor --json`` result, for its alerts."""
    from cluster_credit_cli.dossier import pdf as render

    history = None
    if db is not None:
        from cluster_credit_cli.register.store import history as register_history

        if not Path(db).is_file():
            raise UsageError(say(f"{db}：找不到评级登记簿", f"{db}: rating register not found"))
        wanted = codes or list(result.table["code"])
        history = {c: register_history(db, c) for c in wanted}
    alerts = None
    if alerts_json is not None:
        try:
            data = json.loads(Path(alerts_json).read_text(encoding="utf-8"))
            items = [*data.get("alerts", []), *data.get("watch", [])]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
            raise UsageError(say(f"{alerts_json}：不是 ccredit monitor --json 写出的文件（{exc}）",
                                 f"{alerts_json}: not written by ccredit monitor --json ({exc})")) from None
        alerts = {}
        for a in items:
            alerts.setdefault(a.get("code"), []).append(a)
    reports = build_reports(result, codes=codes, history=history, alerts=alerts)
    info = round_info(result)
    missing = render.missing_glyphs(list(_strings([info, reports])))
    if missing:
        # fpdf2 would drop a character no font can draw; a visible box keeps the gap (and the warning names it).
        table = {ord(ch): "□" for ch in missing}
        reports, info = _scrub(reports, table), _scrub(info, table)
    outcomes = render.write_each(reports, info, out) if split else [render.write_booklet(reports, info, out)]
    return ReportRun(reports, info, outcomes, missing)


def _strings(obj: Any):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _strings(v)
    elif hasattr(obj, "__dataclass_fields__"):
        for name in obj.__dataclass_fields__:
            yield from _strings(getattr(obj, name))


def _scrub(obj: Any, table: dict[int, str]) -> Any:
    import dataclasses

    if isinstance(obj, str):
        return obj.translate(table)
    if isinstance(obj, dict):
        return {_scrub(k, table): _scrub(v, table) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_scrub(v, table) for v in obj)
    if hasattr(obj, "__dataclass_fields__"):
        return dataclasses.replace(obj, **{n: _scrub(getattr(obj, n), table) for n in obj.__dataclass_fields__})
    return obj
