"""Leaf scores (0–100) and weighted totals, vectorised over all enterprises.

Each rule kind of the model (rating, bands, mean, count, lookup) is one array operation over the
whole table. A leaf without a value scores 0 and, unless its rule says ``missing = "zero"``
(the bonus items), marks the enterprise incomplete with the leaf named in its missing list.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cluster_credit_cli.dates import months_before
from cluster_credit_cli.model.expr import evaluate
from cluster_credit_cli.i18n import say
from cluster_credit_cli.rating.merge import Merged
from cluster_credit_cli.model.config import Model
from cluster_credit_cli.problems import Problems
from cluster_credit_cli.text import normalize_choice


@dataclass
class Scores:
    scores: pd.DataFrame  # index code; columns leaf keys; 0–100
    inputs: pd.DataFrame  # index code; columns leaf keys; the value the rule looked at
    missing: pd.DataFrame  # index code; columns leaf keys; True where the leaf lacked data
    notes: dict[str, list[str]] = field(default_factory=dict)  # code -> explanations (cannot compute ...)

    def base(self, model: Model, weights: dict[str, float] | None = None) -> pd.Series:
        return self._weighted(model, model.leaves("base"), weights)

    def bonus(self, model: Model, weights: dict[str, float] | None = None) -> pd.Series:
        return self._weighted(model, model.leaves("bonus"), weights)

    def _weighted(self, model: Model, keys: list[str], weights: dict[str, float] | None) -> pd.Series:
        w = weights or model.effective
        vec = np.array([w[k] for k in keys])
        return pd.Series(self.scores[keys].to_numpy() @ vec, index=self.scores.index)

    def dimensions(self, model: Model) -> pd.DataFrame:
        """Weighted points of every non-leaf node (first and second level)."""
        out = {}
        for key, node in model.nodes.items():
            if node.is_leaf:
                continue
            leaves = [k for k in model.leaves() if key in model.ancestors(k)]
            vec = np.array([model.effective[k] for k in leaves])
            out[key] = self.scores[leaves].to_numpy() @ vec
        return pd.DataFrame(out, index=self.scores.index)


def _bands(values: np.ndarray, rule: dict) -> np.ndarray:
    """Points for each value; thresholds are inclusive ("≥x includes x")."""
    out = np.full(values.shape, float(rule.get("else", 0)))
    done = np.zeros(values.shape, dtype=bool)
    ge = rule.get("compare", ">=") == ">="
    for threshold, points in rule["bands"]:
        with np.errstate(invalid="ignore"):
            hit = (values >= threshold) if ge else (values <= threshold)
        # Guard against float noise at an edge (0.1 + 0.2 style): compare with a tiny tolerance.
        with np.errstate(invalid="ignore"):
            near = np.isclose(values, threshold, rtol=0, atol=1e-9)
        hit = (hit | near) & ~done
        out[hit] = points
        done |= hit
    return out


def _field_array(merged: Merged, key: str) -> np.ndarray:
    if key not in merged.values:
        return np.full(len(merged.codes), np.nan)
    return pd.to_numeric(merged.values[key], errors="coerce").to_numpy(dtype=float)


def _metric(merged: Merged, rule: dict) -> np.ndarray:
    arrays = {name: _field_array(merged, name) for name in rule["_names"]}
    return evaluate(rule["metric"], arrays)


def _inputs_missing(merged: Merged, names: list[str]) -> np.ndarray:
    miss = np.zeros(len(merged.codes), dtype=bool)
    for name in names:
        if name not in merged.values:
            miss |= True
        else:
            miss |= merged.values[name].isna().to_numpy()
    return miss


def choice_keys(values: pd.Series) -> pd.Series:
    """``values.map(normalize_choice)``, computed once per distinct value (records repeat a few kinds)."""
    arr = values.to_numpy(dtype=object)
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    keys = np.array([normalize_choice(u) for u in uniques] + [""], dtype=object)
    out = keys[codes]  # -1 (missing) picks the placeholder, replaced just below
    for p in np.flatnonzero(codes < 0):
        out[p] = normalize_choice(arr[p])  # None -> "", NaN -> "nan", as a per-cell map gives
    return pd.Series(out, index=values.index, dtype=object)


def count_records(records: pd.DataFrame | None, codes: pd.Index, rule: dict, as_of: _dt.date) -> np.ndarray:
    """Records of the rule's types (and role) dated in [as_of − window, as_of], per code."""
    if records is None or not len(records):
        return np.zeros(len(codes))
    types = {normalize_choice(t) for t in rule["record_types"]}
    kinds = choice_keys(records["record_type"]) if "record_type" in records else None
    mask = kinds.isin(types).to_numpy().copy() if kinds is not None else np.zeros(len(records), dtype=bool)
    if rule.get("role"):
        roles = {normalize_choice(r) for r in rule["role"]}
        if "role" in records:
            mask &= choice_keys(records["role"]).isin(roles).to_numpy()
        else:
            mask &= False
    start = pd.Timestamp(months_before(as_of, int(rule["window_months"])))
    end = pd.Timestamp(as_of)
    dates = records["decision_date"]
    mask &= ((dates >= start) & (dates <= end)).to_numpy()
    counts = records.loc[mask, "code"].value_counts()
    return counts.reindex(codes, fill_value=0).to_numpy(dtype=float)


def score_all(merged: Merged, model: Model, as_of: _dt.date, have_sources: set[str],
              problems: Problems) -> Scores:
    codes = merged.codes
    n = len(codes)
    scores: dict[str, np.ndarray] = {}
    inputs: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    notes: dict[str, list[str]] = {}
    pps = float(model.ratings.get("points_per_step", 20))
    for key in model.leaves():
        rule = model.rules[key]
        kind = rule["kind"]
        if kind == "rating":
            vals = _field_array(merged, rule["field"])
            miss = np.isnan(vals)
            sc = np.where(miss, 0.0, vals * pps)
            shown = vals
        elif kind == "lookup":
            raw = merged.values[rule["field"]] if rule["field"] in merged.values else pd.Series([np.nan] * n, index=codes)
            table = {normalize_choice(k): float(v) for k, v in rule["points"].items()}
            keys = raw.map(lambda v: normalize_choice(v) if isinstance(v, str) and v else None)
            pts = keys.map(lambda k: table.get(k, np.nan) if k else np.nan).to_numpy(dtype=float)
            unknown = keys.notna().to_numpy() & np.isnan(pts)
            for i in np.flatnonzero(unknown):
                _report_unknown(merged, problems, codes[i], rule["field"], raw.iloc[i], list(rule["points"]), model)
            miss = np.isnan(pts)
            sc = np.where(miss, 0.0, pts)
            shown = raw.to_numpy(dtype=object)
        elif kind in ("bands", "mean"):
            parts = rule["parts"] if kind == "mean" else [rule]
            part_scores, part_miss, metrics = [], np.zeros(n, dtype=bool), []
            for part in parts:
                metric = _metric(merged, part)
                absent = _inputs_missing(merged, part["_names"])
                text_pts = np.full(n, np.nan)
                if part.get("text") and len(part["_names"]) == 1 and part["_names"][0] in merged.values:
                    col = merged.values[part["_names"][0]]
                    table = {normalize_choice(k): float(v) for k, v in part["text"].items()}
                    text_pts = col.map(lambda v: table.get(normalize_choice(v), np.nan)
                                       if isinstance(v, str) else np.nan).to_numpy(dtype=float)
                    bad_text = col.map(lambda v: isinstance(v, str) and bool(v)).to_numpy(dtype=bool) & np.isnan(text_pts)
                    for i in np.flatnonzero(bad_text):
                        _report_unknown(merged, problems, codes[i], part["_names"][0], col.iloc[i],
                                        list(part["text"]), model)
                    absent = absent & np.isnan(text_pts) | bad_text
                    metric = np.where(np.isnan(text_pts), metric, np.nan)
                undefined = ~absent & np.isnan(metric) & np.isnan(text_pts)
                if undefined.any():
                    _explain_undefined(notes, merged, model, key, part, undefined)
                ps = np.where(np.isnan(text_pts), _bands(metric, part), text_pts)
                ps = np.where(absent | undefined, 0.0, ps)
                part_scores.append(ps)
                part_miss |= absent | undefined
                metrics.append(np.where(np.isnan(text_pts), metric, np.nan))
            sc = np.mean(part_scores, axis=0)
            miss = part_miss
            sc = np.where(miss, 0.0, sc)
            shown = metrics[0] if len(metrics) == 1 else np.array(
                [" / ".join("" if np.isnan(m[i]) else f"{m[i]:.4g}" for m in metrics) for i in range(n)],
                dtype=object)
            if kind == "bands" and len(parts[0]["_names"]) == 1 and parts[0].get("text"):
                col = merged.values.get(parts[0]["_names"][0])
                if col is not None:
                    shown = np.where(col.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool), col.to_numpy(dtype=object),
                                     shown.astype(object))
        else:  # count
            if "credit_system" not in have_sources:
                miss = np.ones(n, dtype=bool)
                sc = np.zeros(n)
                shown = np.full(n, np.nan)
            else:
                cnt = count_records(merged.records, codes, rule, as_of)
                pts = np.asarray(rule["points"], dtype=float)
                sc = pts[np.minimum(cnt.astype(int), len(pts) - 1)]
                miss = np.zeros(n, dtype=bool)
                shown = cnt
        if rule.get("missing", "incomplete") == "zero":
            miss = np.zeros(n, dtype=bool)
        scores[key] = sc.astype(float)
        inputs[key] = shown
        missing[key] = miss
    return Scores(pd.DataFrame(scores, index=codes), pd.DataFrame(inputs, index=codes),
                  pd.DataFrame(missing, index=codes), notes)


def _explain_undefined(notes: dict[str, list[str]], merged: Merged, model: Model, key: str, part: dict,
                       undefined: np.ndarray) -> None:
    """'上年营业收入为 0，无法计算营业收入增长率': the zero divisor by its header, the metric by its name."""
    from cluster_credit_cli.model.expr import zero_divisors

    arrays = {name: _field_array(merged, name) for name in part["_names"]}
    node = model.nodes[key]
    zh_name = part.get("name") or node.name
    en_name = part.get("name_en") or part.get("name") or node.name_en or node.name
    divisors = zero_divisors(part["metric"], arrays)
    for i in np.flatnonzero(undefined):
        names = [n for ns, zero in divisors if zero[i] for n in ns] or list(part["_names"])
        zh = "、".join(model.fields[n].label for n in dict.fromkeys(names) if n in model.fields)
        en = ", ".join(model.fields[n].header("en") for n in dict.fromkeys(names) if n in model.fields)
        many = len(set(names)) > 1
        notes.setdefault(merged.codes[i], []).append(say(
            f"{zh}为 0，无法计算{zh_name}",
            f"{en} {'are' if many else 'is'} 0, so {en_name} cannot be computed"))


def _report_unknown(merged: Merged, problems: Problems, code: str, key: str, value, allowed: list[str],
                    model: Model) -> None:
    src = merged.winner.at[code, key] if key in merged.winner else ""
    table = merged.tables.get(src) if src else None
    row = int(merged.aligned[src].at[code, "_row"]) if table is not None else None
    problems.add(table.file.name if table else "", table.sheet if table else None, row,
                 table.columns.get(key, model.fields[key].label) if table else model.fields[key].label,
                 "unknown_value", say(f"{code}：“{value}”不是 {' / '.join(allowed)} 之一；该指标记 0 分",
                                          f"{code}: '{value}' is not one of {' / '.join(allowed)}; the indicator scores 0"))
