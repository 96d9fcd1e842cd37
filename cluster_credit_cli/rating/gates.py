"""Gates: eligibility to enter the pool (入池条件) and the vetoes (一票否决), on the as-of date.

Every gate is evaluated for all enterprises at once and yields, per enterprise, the failed
status codes (``ineligible:age``, ``veto:bank`` ...) with a reason in words, and the gate inputs
that were missing (a founding date nobody gave cannot show the firm is a year old).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cluster_credit_cli.dates import years_before
from cluster_credit_cli.rating.merge import Merged
from cluster_credit_cli.i18n import say
from cluster_credit_cli.model.config import Model
from cluster_credit_cli.text import normalize_choice


@dataclass
class GateResult:
    status: dict[str, list[str]] = field(default_factory=dict)  # code -> status codes
    reasons: dict[str, list[str]] = field(default_factory=dict)  # code -> reasons (zh)
    reasons_en: dict[str, list[str]] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)  # code -> missing gate fields (labels)
    missing_fields: dict[str, list[str]] = field(default_factory=dict)  # code -> the same as field keys

    def add(self, code: str, status: str, zh: str, en: str) -> None:
        if status not in self.status.setdefault(code, []):
            self.status[code].append(status)
        self.reasons.setdefault(code, []).append(zh)
        self.reasons_en.setdefault(code, []).append(en)


def _col(merged: Merged, key: str) -> pd.Series:
    if key in merged.values:
        return merged.values[key]
    return pd.Series([np.nan] * len(merged.codes), index=merged.codes, dtype=object)


def _is_true(col: pd.Series) -> np.ndarray:
    return col.map(lambda v: v is True or v == True).to_numpy(dtype=bool)  # noqa: E712 - numpy bools


def evaluate_gates(merged: Merged, model: Model, as_of: _dt.date) -> GateResult:
    res = GateResult()
    codes = merged.codes
    blocked = set(merged.conflict_codes)
    for gate in model.eligibility:
        status = f"ineligible:{gate['code']}"
        kind = gate["kind"]
        if kind == "min_age":
            years = int(gate.get("years", 1))
            founded = pd.to_datetime(_col(merged, gate["field"]), errors="coerce")
            limit = pd.Timestamp(years_before(as_of, years))
            absent = founded.isna().to_numpy()
            young = (founded > limit).to_numpy() & ~absent
            for i in np.flatnonzero(young):
                d = founded.iloc[i].date().isoformat()
                res.add(codes[i], status, f"成立于 {d}，经营不足 {years} 年", f"founded {d}: in operation less than {years} year(s)")
            _note_missing(res, codes, absent, _label(model, gate["field"]), blocked, gate["field"])
        elif kind == "town":
            names = [normalize_choice(n) for n in gate.get("names", [])]
            town_f, addr_f = (gate["fields"] + [None])[:2]
            town = _col(merged, town_f).map(lambda v: normalize_choice(v) if isinstance(v, str) else "")
            addr = _col(merged, addr_f).map(lambda v: normalize_choice(v) if isinstance(v, str) else "") \
                if addr_f else pd.Series("", index=codes)
            ok = town.isin(names).to_numpy() | addr.map(lambda a: any(n and n in a for n in names)).to_numpy(dtype=bool)
            absent = (town == "").to_numpy() & (addr == "").to_numpy()
            where = gate.get("names", [""])[0]
            for i in np.flatnonzero(~ok & ~absent):
                res.add(codes[i], status, f"注册地不在{where}", f"not registered in {where}")
            _note_missing(res, codes, absent, _label(model, town_f), blocked, town_f)
        elif kind == "yes":
            col = _col(merged, gate["field"])
            fails = ~_is_true(col)
            label = model.fields[gate["field"]].label
            for i in np.flatnonzero(fails):
                given = col.iloc[i] is False
                res.add(codes[i], status, f"{label}：{'否' if given else '未知（无记录）'}",
                        f"{model.fields[gate['field']].label_en or label}: {'no' if given else 'unknown (no record)'}")
    for gate in model.veto:
        status = f"veto:{gate['code']}"
        if gate["kind"] == "records":
            _records_veto(res, merged, gate, as_of, status)
            continue
        col = _col(merged, gate["field"])
        hit = _is_true(col)
        reason_col = _col(merged, gate["reason_field"]) if gate.get("reason_field") else None
        for i in np.flatnonzero(hit):
            why = reason_col.iloc[i] if reason_col is not None and isinstance(reason_col.iloc[i], str) else ""
            label = model.sources[model.fields[gate["field"]].sources[0]].label
            res.add(codes[i], status, f"{label}否决" + (f"：{why}" if why else ""),
                    f"vetoed by {gate['code']}" + (f": {why}" if why else ""))
        for also in gate.get("also", []):
            other = _col(merged, also["field"])
            if "compare" in also:
                vals = pd.to_numeric(other, errors="coerce").to_numpy(dtype=float)
                with np.errstate(invalid="ignore"):
                    cond = {">": vals > also["value"], ">=": vals >= also["value"],
                            "<": vals < also["value"], "<=": vals <= also["value"]}[also["compare"]]
            else:
                cond = other.map(lambda v: isinstance(v, str) and normalize_choice(v) ==
                                 normalize_choice(also["equals"])).to_numpy(dtype=bool)
            for i in np.flatnonzero(cond):
                res.add(codes[i], status, also.get("reason", "否决"), also.get("reason_en", "veto"))
    return res


def _label(model: Model, key: str) -> str:
    """A missing gate input as listed for the user, in the run's language (like the leaves)."""
    f = model.fields[key]
    return say(f.label, f.label_en or f.label)


def _note_missing(res: GateResult, codes: pd.Index, absent: np.ndarray, label: str, blocked: set[str],
                  key: str) -> None:
    for i in np.flatnonzero(absent):
        if codes[i] not in blocked:
            res.missing.setdefault(codes[i], []).append(label)
            res.missing_fields.setdefault(codes[i], []).append(key)


def _records_veto(res: GateResult, merged: Merged, gate: dict, as_of: _dt.date, status: str) -> None:
    rec = merged.records
    if rec is None or not len(rec):
        return
    types = {normalize_choice(t) for t in gate.get("record_types", [])}
    removed = {normalize_choice(s) for s in gate.get("removed_status", [])}
    from cluster_credit_cli.rating.scoring import choice_keys  # once per distinct value, not per record

    kinds = choice_keys(rec["record_type"]) if "record_type" in rec else pd.Series("", index=rec.index)
    st = choice_keys(rec["status"]) if "status" in rec else pd.Series("", index=rec.index)
    dated = (rec["decision_date"] <= pd.Timestamp(as_of)) | rec["decision_date"].isna()
    hit = kinds.isin(types) & ~st.isin(removed) & dated
    flag = gate.get("flag_field")
    if flag and flag in rec:
        hit |= rec[flag].map(lambda v: v is True)
    for _, row in rec[hit].iterrows():
        kind = row.get("record_type") or "政府否决"
        doc = row.get("doc_no") if isinstance(row.get("doc_no"), str) and row.get("doc_no") else ""
        res.add(row["code"], status, f"社会信用系统：{kind}" + (f"（{doc}）" if doc else ""),
                f"social credit system: {kind}" + (f" ({doc})" if doc else ""))
