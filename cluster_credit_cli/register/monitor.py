"""Post-loan monitoring (贷后监控): what is new since the rating, and would it change the grade?

For every enterprise graded in the register's latest run, ``monitor`` looks at a fresh social
credit system export (and optionally a fresh bank file) for records dated *strictly after* the
run's as-of date and up to the monitoring date: new administrative penalties, lawsuits as
defendant, labour disputes, blacklisting (严重失信 / 失信被执行人) and overdue days. It then
rescores with the model's own rules — ``scoring.count_records`` and the count rules' points for
S1–S3, ``scoring.score_all`` for the bank's leaves (S4), ``gates.evaluate_gates`` for the vetoes —
replaces the affected leaves in the stored scores, recomputes the total with the model's
effective weights and regrades with ``rating.grade_of``.

An enterprise is an **alert** when its grade would fall or it would now be vetoed; one with new
events but the same grade is on the **watch** list. A record dated on or before the rating date
is not new; a record for an enterprise that was not graded is not an alert.

The new export may be complete (every record, as the credit system exports it) or hold only
recent records: records the rating counted but the new file lacks are added back, so a partial
export never makes a count smaller than it was.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cluster_credit_cli.i18n import say
from cluster_credit_cli.rating.gates import evaluate_gates
from cluster_credit_cli.inputs.identity import normalize_name
from cluster_credit_cli.rating.merge import Merged, SourceStats, _codes_for, _collapse
from cluster_credit_cli.model.config import Model
from cluster_credit_cli.problems import Problems, UsageError
from cluster_credit_cli.rating.grades import grade_of, round_half_up
from cluster_credit_cli.inputs.reading import SourceTable, read_source
from cluster_credit_cli.register.store import get_run, opened, results_of
from cluster_credit_cli.rating.scoring import count_records, score_all
from cluster_credit_cli.text import normalize_choice

ALERT_KEYS = ("code", "name", "grade_then", "grade_now", "events", "reasons")


@dataclass
class MonitorResult:
    run: dict[str, Any]
    as_of: _dt.date
    alerts: list[dict[str, Any]]
    watch: list[dict[str, Any]]
    problems: Problems
    warnings: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rating_date(self) -> str:
        return self.run["as_of"]

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run["id"], "rating_date": self.rating_date, "as_of": self.as_of.isoformat(),
            "alerts": [{k: a[k] for k in ALERT_KEYS} for a in self.alerts],
            "watch": [{k: a[k] for k in ALERT_KEYS} for a in self.watch],
            "warnings": list(self.warnings), "stats": dict(self.stats), "problems": self.problems.as_dicts(),
        }


def _date_text(value: Any) -> str | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    return pd.Timestamp(value).date().isoformat()


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _rule_hits(records: pd.DataFrame, rule: dict, as_of: _dt.date) -> np.ndarray:
    """Per record: does the count rule take it (type, role, window)? ``count_records`` decides,
    each record counted under its own key."""
    ids = pd.Index(np.arange(len(records)))
    return count_records(records.assign(code=ids.to_numpy()), ids, rule, as_of) > 0


def _read(path: Path, kind: str, model: Model, problems: Problems, lang: str) -> SourceTable:
    if not Path(path).is_file():
        raise UsageError(say(f"{model.sources[kind].label}：找不到文件 {path}",
                             f"{model.sources[kind].title('en')}: file not found: {path}"))
    table = read_source(Path(path), kind, model, problems, lang=lang)
    if table is None:
        msgs = "; ".join(p.message for p in problems if p.file == Path(path).name)
        raise UsageError(say(f"{Path(path).name} 不能作为{model.sources[kind].label}文件读取：{msgs}",
                             f"{Path(path).name} cannot be read as the {model.sources[kind].title('en')} file: {msgs}"))
    return table


def monitor(db_path: str | Path, *, model: Model, credit_system: Path | None = None, bank: Path | None = None,
            as_of: _dt.date | None = None, lang: str = "zh") -> MonitorResult:
    """Compare new records with the latest run of the register; see the module docstring."""
    from cluster_credit_cli.rating.pipeline import sha256_file

    if credit_system is None and bank is None:
        raise UsageError(say("请给出新的社会信用系统导出文件（--credit-system）和/或合作银行文件（--bank）",
                             "give the new social credit system export (--credit-system) and/or the bank file (--bank)"))
    as_of = as_of or _dt.date.today()
    en = lang == "en"
    with opened(db_path, readonly=True) as conn:
        run = get_run(conn)
        results = [r for r in results_of(conn, run["id"]) if r["grade"]]
    then = _dt.date.fromisoformat(run["as_of"])
    if as_of < then:
        raise UsageError(say(f"--as-of {as_of.isoformat()} 早于第 {run['id']} 次运行的评价基准日 {then.isoformat()}",
                             f"--as-of {as_of.isoformat()} is before the rating date {then.isoformat()} of run #{run['id']}"))
    problems = Problems()
    warnings: list[str] = []
    if run["model_hash"] != model.hash:
        warnings.append(("the model differs from the one run #{id} used; scores are recomputed with this model"
                         if en else "当前模型与运行 #{id} 所用模型不同，按当前模型重新计算").format(id=run["id"]))
    codes = pd.Index([r["code"] for r in results], name="code")
    by_code = {r["code"]: r for r in results}
    names = pd.Series({r["code"]: r["name"] or "" for r in results}, dtype=object)
    name_keys = names.map(normalize_name)
    name_to_code = {k: c for c, k in name_keys[~name_keys.duplicated(keep=False)].items() if k}
    stats = {"graded": len(codes), "records": 0, "records_new": 0, "records_before_rating": 0,
             "records_after_as_of": 0, "records_not_graded": 0}
    inputs: list[dict[str, Any]] = []

    new_scores: dict[str, dict[str, float]] = {c: {} for c in codes}
    events: dict[str, list[dict[str, Any]]] = {c: [] for c in codes}
    reasons: dict[str, list[str]] = {c: [] for c in codes}
    new_records = None

    # -- social credit system: S1–S3 and the government veto -----------------------------------------
    if credit_system is not None:
        table = _read(credit_system, "credit_system", model, problems, lang)
        inputs.append({"kind": "credit_system", "file": Path(credit_system).name, "sha256": sha256_file(Path(credit_system))})
        rec_codes = _codes_for(table, problems, model, name_to_code, SourceStats())
        rec = table.data.assign(code=rec_codes.to_numpy())
        stats["records"] = len(rec)
        graded = rec["code"].isin(codes).to_numpy()
        stats["records_not_graded"] = int((~graded & (rec["code"] != "").to_numpy()).sum())
        rec = rec[graded].reset_index(drop=True)
        dates = rec["decision_date"] if "decision_date" in rec else pd.Series(pd.NaT, index=rec.index)
        is_new = ((dates > pd.Timestamp(then)) & (dates <= pd.Timestamp(as_of))).to_numpy()
        stats["records_new"] = int(is_new.sum())
        stats["records_before_rating"] = int((dates <= pd.Timestamp(then)).sum())
        stats["records_after_as_of"] = int((dates > pd.Timestamp(as_of)).sum())
        new_records = rec[is_new].reset_index(drop=True)
        before = rec[(dates <= pd.Timestamp(then)).to_numpy()]
        for key in model.leaves():
            rule = model.rules[key]
            if rule["kind"] != "count":
                continue
            hits = _rule_hits(new_records, rule, as_of) if len(new_records) else np.zeros(0, dtype=bool)
            touched = set(new_records.loc[hits, "code"]) if len(new_records) else set()
            if not touched:
                continue
            now = count_records(rec, codes, rule, as_of)
            in_file_then = count_records(before, codes, rule, then)
            points = np.asarray(rule["points"], dtype=float)
            label = model.nodes[key].label(lang)
            for i, code in enumerate(codes):
                if code not in touched:
                    continue
                then_count = by_code[code]["inputs"].get(key)
                then_count = float(then_count) if isinstance(then_count, (int, float)) else in_file_then[i]
                count = now[i] + max(0.0, then_count - in_file_then[i])  # a partial export: add back what it lacks
                score = float(points[min(int(count), len(points) - 1)])
                old = by_code[code]["scores"].get(key)
                new_scores[code][key] = score
                n_new = int(hits[(new_records["code"] == code).to_numpy()].sum())
                reasons[code].append(
                    f"{key} {label}: {n_new} new record(s), {int(then_count)} → {int(count)} in the window; "
                    f"score {_fmt(old)} → {_fmt(score)}" if en else
                    f"{key} {label}：新增 {n_new} 条，窗口内 {int(then_count)} → {int(count)} 条；得分 {_fmt(old)} → {_fmt(score)}")
            for j in np.flatnonzero(hits):
                events[new_records.at[j, "code"]].append(_record_event(new_records.iloc[j], key, table))
        veto_types = set()
        for gate in model.veto:
            if gate["kind"] == "records":
                veto_types |= {normalize_choice(t) for t in gate.get("record_types", [])}
        if len(new_records) and "record_type" in new_records:
            kinds = new_records["record_type"].map(normalize_choice)
            for j in np.flatnonzero(kinds.isin(veto_types).to_numpy()):
                events[new_records.at[j, "code"]].append(_record_event(new_records.iloc[j], None, table))

    # -- the bank: S4 (and any leaf fed only by the bank) and the bank veto ---------------------------
    bank_values = pd.DataFrame(index=codes)
    if bank is not None:
        table = _read(bank, "bank", model, problems, lang)
        inputs.append({"kind": "bank", "file": Path(bank).name, "sha256": sha256_file(Path(bank))})
        bcodes = _codes_for(table, problems, model, name_to_code, SourceStats())
        keep = bcodes.isin(codes).to_numpy()
        sub = SourceTable(table.kind, table.file, table.sheet, table.header_row,
                          table.data[keep].reset_index(drop=True), table.columns)
        collapsed = _collapse(sub, bcodes[keep].reset_index(drop=True), model, problems).reindex(codes)
        bank_values = collapsed.drop(columns=[c for c in ("_row", "code", "name") if c in collapsed])
        merged = _merged(codes, bank_values, None)
        scored = score_all(merged, model, as_of, set(), Problems())
        present = collapsed["_row"].notna().to_numpy()
        for key in model.leaves():
            rule = model.rules[key]
            fields_ = rule.get("_inputs", [])
            if rule["kind"] == "count" or not fields_ or any(model.fields[f].sources[0] != "bank" for f in fields_):
                continue
            label = model.nodes[key].label(lang)
            for i, code in enumerate(codes):
                if not present[i] or scored.missing.at[code, key]:
                    continue
                shown_now = scored.inputs.at[code, key]
                shown_then = by_code[code]["inputs"].get(key)
                worse_input = (isinstance(shown_now, (int, float, np.floating)) and not np.isnan(shown_now)
                               and shown_now > (shown_then if isinstance(shown_then, (int, float)) else 0))
                old = by_code[code]["scores"].get(key)
                score = float(scored.scores.at[code, key])
                if not worse_input and (old is None or score >= old):
                    continue
                new_scores[code][key] = score
                events[code].append({"type": model.fields[fields_[0]].header(lang), "date": None, "indicator": key,
                                     "detail": f"{_fmt(shown_then)} → {_fmt(shown_now)}",
                                     "file": table.file.name, "row": int(collapsed.at[code, "_row"])})
                reasons[code].append(f"{key} {label}: {_fmt(shown_then)} → {_fmt(shown_now)}; score "
                                     f"{_fmt(old)} → {_fmt(score)}" if en else
                                     f"{key} {label}：{_fmt(shown_then)} → {_fmt(shown_now)}；得分 {_fmt(old)} → {_fmt(score)}")

    # -- vetoes on the new facts only: the new records, the bank's current answers ---------------------
    # The model's own gate code decides; eligibility is not re-checked (it was settled at the rating).
    veto_model = dataclasses.replace(model, eligibility=[])
    vetoed: dict[str, list[str]] = {}
    for values, recs in ((pd.DataFrame(index=codes), new_records), (bank_values, None)):
        if recs is None and values.empty and not len(values.columns):
            continue
        gates = evaluate_gates(_merged(codes, values, recs), veto_model, as_of)
        for code, statuses in gates.status.items():
            if code not in by_code or not statuses:
                continue
            vetoed.setdefault(code, []).extend(s for s in statuses if s not in vetoed.get(code, []))
            why = (gates.reasons_en if en else gates.reasons).get(code, [])
            reasons[code].extend(why)
            if recs is None:  # the bank's answers: an event of their own (records already are events)
                events[code].append({"type": "veto:bank" if "veto:bank" in statuses else statuses[0], "date": None,
                                     "indicator": None, "detail": "; ".join(why),
                                     "file": Path(bank).name if bank else None, "row": None})

    # -- regrade ----------------------------------------------------------------------------------------
    order = {g: i for i, g in enumerate(model.grade_labels())}
    alerts, watch = [], []
    leaves_base, leaves_bonus = model.leaves("base"), model.leaves("bonus")
    for code in codes:
        if not events[code] and code not in vetoed:
            continue
        r = by_code[code]
        scores = {k: (r["scores"].get(k) or 0.0) for k in model.leaves()}
        scores.update(new_scores[code])
        total = (sum(model.effective[k] * scores[k] for k in leaves_base)
                 + sum(model.effective[k] * scores[k] for k in leaves_bonus))
        shown = float(round_half_up(np.array([total]), model.grade_decimals)[0])
        grade_now = None if code in vetoed else grade_of(np.array([shown]), model)[0]
        grade_then = r["grade"]
        fell = grade_now is None or order.get(grade_now, 99) > order.get(grade_then, 99)
        summary = (f"total {_fmt(r['total'])} → {shown:.2f}; grade {grade_then} → {grade_now or 'vetoed'}" if en else
                   f"总分 {_fmt(r['total'])} → {shown:.2f}；等级 {grade_then} → {grade_now or '否决（不再评级）'}")
        item = {"code": code, "name": r["name"], "grade_then": grade_then, "grade_now": grade_now,
                "events": sorted(events[code], key=lambda e: (e.get("date") or "", e.get("indicator") or "")),
                "reasons": reasons[code] + [summary], "total_then": r["total"], "total_now": shown,
                "vetoed": vetoed.get(code, []), "rank": r["rank"], "quota": r["quota"]}
        (alerts if fell else watch).append(item)
    alerts.sort(key=lambda a: (a["grade_now"] is not None, a["rank"] or 0))
    watch.sort(key=lambda a: a["rank"] or 0)
    return MonitorResult(run, as_of, alerts, watch, problems, warnings, stats, inputs)


def _merged(codes: pd.Index, values: pd.DataFrame, records: pd.DataFrame | None) -> Merged:
    """A minimal ``Merged`` over the graded codes, so the model's scoring and gate code can run."""
    values = values.reindex(codes)
    winner = pd.DataFrame({c: np.where(values[c].notna(), "bank", "") for c in values.columns}, index=codes)
    return Merged(codes, values, winner, {}, {}, records, pd.DataFrame(), set())


def _record_event(row: pd.Series, key: str | None, table: SourceTable) -> dict[str, Any]:
    return {"type": _text(row.get("record_type")), "date": _date_text(row.get("decision_date")), "indicator": key,
            "doc_no": _text(row.get("doc_no")), "role": _text(row.get("role")), "status": _text(row.get("status")),
            "file": table.file.name, "row": int(row["_row"])}


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if isinstance(value, (int, float, np.floating, np.integer)):
        return f"{float(value):g}"
    return str(value)
