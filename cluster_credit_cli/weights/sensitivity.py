"""How robust is the ranking to the weights? Monte Carlo over perturbed weight vectors.

The perturbation (documented, seedable): every printed weight of the model — first-level
dimensions, second-level dimensions and leaves — is multiplied by an independent U(1 − s, 1 + s)
factor (s = 0.2 by default, "±20 %"). Effective weights are then rebuilt as the model builds them
(``model._compute_weights``): the first-level dimensions are rescaled so that each block keeps
its total (base 1.00, bonus 0.10), and level by level each child gets
parent's effective weight × its perturbed weight ÷ the sum of its siblings' perturbed weights, so
every parent keeps its weight and only the split among siblings moves. With s = 0 every draw is
exactly the model's effective weights.

Rescoring is one matrix product, totals = scores @ Wᵀ (enterprises × draws), so N = 1,000 draws
on 1,000 enterprises takes well under a second.

Per enterprise:
* the rank interval: the 5th and 95th percentiles of its rank over the draws (ranks among the
  rankable enterprises, equal displayed totals share a rank, as in ``rating``);
* the probability of keeping its grade (the grade of its baseline total);
* the first-level dimension whose weight moves it most: for each dimension d and draw, the change
  of the enterprise's total relative to the field's average caused by d's leaf weights,
  Σ_{l∈d} (s_el − s̄_l)(w_l − w̄_l); the dimension with the largest mean absolute change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from cluster_credit_cli.model.config import Model
from cluster_credit_cli.rating.grades import round_half_up


def perturbed_weights(model: Model, draws: int, *, spread: float = 0.2, seed: int | None = None,
                      rng: np.random.Generator | None = None) -> tuple[list[str], np.ndarray]:
    """``draws`` effective weight vectors over all leaves (base then bonus, model order).

    Returns (leaf keys, array draws × leaves).
    """
    if draws < 1:
        raise ValueError("draws must be at least 1")
    if not 0 <= spread < 1:
        raise ValueError("spread must be in [0, 1)")
    rng = rng if rng is not None else np.random.default_rng(seed)
    keys = list(model.nodes)
    col = {k: i for i, k in enumerate(keys)}
    printed = np.array([model.nodes[k].weight for k in keys], dtype=float)
    factors = rng.uniform(1 - spread, 1 + spread, size=(draws, len(keys))) if spread > 0 else np.ones((draws, len(keys)))
    p = printed[None, :] * factors
    eff = np.zeros_like(p)
    for block in ("base", "bonus"):
        roots = [col[r.key] for r in model.roots if r.block == block]
        if not roots:
            continue
        stated = printed[roots].sum()
        total = p[:, roots].sum(axis=1, keepdims=True)
        eff[:, roots] = np.where(total > 0, stated * p[:, roots] / np.where(total > 0, total, 1), 0.0)
    for node in model.walk():
        if node.is_leaf:
            continue
        kids = [col[c] for c in node.children]
        total = p[:, kids].sum(axis=1, keepdims=True)
        eff[:, kids] = np.where(total > 0, eff[:, [col[node.key]]] * p[:, kids] / np.where(total > 0, total, 1), 0.0)
    leaves = model.leaves()
    return leaves, eff[:, [col[k] for k in leaves]]


def _competition_ranks(values: np.ndarray) -> np.ndarray:
    """Rank 1 = largest; equal values share the smallest rank (1, 2, 2, 4). Column by column."""
    e, n = values.shape
    ranks = np.empty((e, n), dtype=np.int32)
    for j in range(n):
        col = values[:, j]
        desc = np.sort(-col)
        ranks[:, j] = np.searchsorted(desc, -col, side="left") + 1
    return ranks


def _grade_index(display: np.ndarray, mins: np.ndarray) -> np.ndarray:
    """Index of the grade band (0 = best) of each value; len(mins) - 1 for the lowest band."""
    # mins descending: a value's band is the first whose minimum it reaches
    hits = display[..., None] >= (mins - 1e-9)
    idx = np.argmax(hits, axis=-1)
    return np.where(hits.any(axis=-1), idx, len(mins) - 1)


@dataclass
class SensitivityResult:
    draws: int
    spread: float
    seed: int | None
    table: pd.DataFrame  # one row per enterprise (see ``rank_sensitivity``)
    dimensions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def val(v):
            if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
                return None
            return v.item() if hasattr(v, "item") else v
        return {"draws": self.draws, "spread": self.spread, "seed": self.seed,
                "method": "each printed weight × U(1−s, 1+s), renormalised within its parent",
                "enterprises": {str(r["code"]): {k: val(r[k]) for k in self.table.columns if k != "code"}
                                for _, r in self.table.iterrows()}}

    def write_sheet(self, wb, model: Model, lang: str = "zh", names: dict[str, str] | None = None):
        """The rating workbook calls this for an attached result (see ``attach_sensitivity``)."""
        return write_sensitivity_sheet(wb, self, model, lang, names)


def attach_sensitivity(result, draws: int, *, spread: float = 0.2, seed: int | None = None) -> SensitivityResult:
    """Rescore a scored round (``RoundResult``) under ``draws`` perturbed weight vectors and attach
    the result, so its workbook gets the sheet and its JSON the section; conflicts excluded."""
    table = result.table.set_index("code")
    codes = [c for c in table.index if c not in result.merged.conflict_codes]
    res = rank_sensitivity(result.model, result.scores.scores.loc[codes], draws=draws, spread=spread, seed=seed,
                           rankable=table.loc[codes, "graded"].to_numpy(dtype=bool))
    result.attachments["sensitivity"] = res
    return res


def rank_sensitivity(model: Model, scores: pd.DataFrame, *, draws: int = 1000, spread: float = 0.2,
                     seed: int | None = None, rankable: Sequence[bool] | np.ndarray | None = None
                     ) -> SensitivityResult:
    """Rank intervals, grade stability and the most influential dimension for each enterprise.

    ``scores``: leaf scores 0–100, index = enterprise code, columns include every leaf key.
    ``rankable``: which enterprises take part in the ranking (eligible, unvetoed, complete);
    default all. Others get no rank interval but still a grade probability and dimension.
    """
    leaves, w = perturbed_weights(model, draws, spread=spread, seed=seed)
    s = scores[leaves].to_numpy(dtype=float)
    s = np.nan_to_num(s, nan=0.0)
    codes = list(scores.index)
    mask = np.ones(len(codes), dtype=bool) if rankable is None else np.asarray(rankable, dtype=bool)
    base_w = np.array([model.effective[k] for k in leaves])
    decimals = model.grade_decimals
    base_total = round_half_up(s @ base_w, decimals)
    totals = round_half_up(s @ w.T, decimals)  # enterprises × draws
    mins = np.array([g["min"] for g in model.grades], dtype=float)
    labels = [g["grade"] for g in model.grades]
    base_grade = _grade_index(base_total, mins)
    keep = (_grade_index(totals, mins) == base_grade[:, None]).mean(axis=1)

    rank = np.full(len(codes), np.nan)
    lo = np.full(len(codes), np.nan)
    hi = np.full(len(codes), np.nan)
    if mask.any():
        sub = totals[mask]
        r = _competition_ranks(sub)
        lo[mask] = np.percentile(r, 5, axis=1, method="lower")
        hi[mask] = np.percentile(r, 95, axis=1, method="higher")
        rank[mask] = _competition_ranks(base_total[mask][:, None])[:, 0]

    dims = [r.key for r in model.roots]
    centred = s - (s[mask].mean(axis=0) if mask.any() else s.mean(axis=0))
    dw = w - base_w[None, :]
    effect = np.zeros((len(codes), len(dims)))
    for d_i, d in enumerate(dims):
        idx = [i for i, k in enumerate(leaves) if d in model.ancestors(k)]
        if idx:
            effect[:, d_i] = np.abs(centred[:, idx] @ dw[:, idx].T).mean(axis=1)
    top = np.where(effect.max(axis=1) > 1e-12, np.array(dims, dtype=object)[effect.argmax(axis=1)], None)

    table = pd.DataFrame({
        "code": codes,
        "total": base_total,
        "grade": [labels[i] for i in base_grade],
        "rank": pd.array([int(x) if not np.isnan(x) else None for x in rank], dtype="Int64"),
        "rank_p05": pd.array([int(x) if not np.isnan(x) else None for x in lo], dtype="Int64"),
        "rank_p95": pd.array([int(x) if not np.isnan(x) else None for x in hi], dtype="Int64"),
        "p_keep_grade": keep,
        "top_dimension": top,
        "top_dimension_effect": effect.max(axis=1) if len(dims) else np.zeros(len(codes)),
    })
    return SensitivityResult(draws, spread, seed, table, dims)


# -- from a saved result and to a workbook ---------------------------------------------------------

def scores_from_result_json(data: dict[str, Any], model: Model) -> tuple[pd.DataFrame, np.ndarray]:
    """Leaf scores and the rankable mask (graded enterprises) from ``score --json`` output."""
    leaves = model.leaves()
    ents = data.get("enterprises", [])
    missing = [k for k in leaves if ents and k not in (ents[0].get("scores") or {})]
    if missing:
        raise ValueError(f"the result has no scores for {', '.join(missing)}: it was made with another model")
    rows = {e["code"]: [e["scores"].get(k) for k in leaves] for e in ents}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=leaves, dtype=float)
    mask = np.array([e.get("rank") is not None for e in ents], dtype=bool)
    return frame, mask


def write_sensitivity_sheet(wb, res: SensitivityResult, model: Model, lang: str = "zh",
                            names: dict[str, str] | None = None, sheet_name: str | None = None):
    """A table (one row per enterprise, rank order) and a native chart of the rank intervals."""
    from cluster_credit_cli.outputs.excel import Column, write_table

    en = lang == "en"
    t = res.table.copy()
    t["_r"] = t["rank"].astype("float").fillna(np.inf)
    t = t.sort_values(["_r", "total"], ascending=[True, False])
    dims = {k: model.nodes[k].label(lang) for k in res.dimensions}
    cols = [Column("Code" if en else "统一社会信用代码"), Column("Name" if en else "企业名称", width=28),
            Column("Total" if en else "总分", "number", 2), Column("Grade" if en else "等级"),
            Column("Rank" if en else "排名", "int"), Column("Rank 5th pct" if en else "排名 5% 分位", "int"),
            Column("Rank 95th pct" if en else "排名 95% 分位", "int"),
            Column("P(keep grade)" if en else "保持等级概率", "percent", 1),
            Column("Most influential dimension" if en else "影响最大的维度", width=16)]
    rows = [[r.code, (names or {}).get(r.code, ""), r.total, r.grade,
             None if pd.isna(r.rank) else int(r.rank), None if pd.isna(r.rank_p05) else int(r.rank_p05),
             None if pd.isna(r.rank_p95) else int(r.rank_p95), float(r.p_keep_grade),
             dims.get(r.top_dimension, "") if r.top_dimension else ""] for r in t.itertuples()]
    name = sheet_name or ("Sensitivity" if en else "权重敏感性")
    title = (f"{res.draws} weight draws, each printed weight ×U({1 - res.spread:g}, {1 + res.spread:g}), "
             f"renormalised within its parent; seed {res.seed}" if en else
             f"{res.draws} 次权重抽样：每个印刷权重乘以 U({1 - res.spread:g}, {1 + res.spread:g})，在上级内重新归一；随机种子 {res.seed}")
    sheet, n = write_table(wb, name, cols, rows, title=title)
    ranked = int(t["rank"].notna().sum())
    if ranked:
        # rank interval per enterprise: an invisible bar up to the 5th percentile, a visible one to the 95th
        helper = len(cols) + 1
        sheet.write_string(2, helper, "p05")
        sheet.write_string(2, helper + 1, "p95-p05")
        for i, r in enumerate(rows[:ranked]):
            sheet.write_number(3 + i, helper, r[5] - 0.5)  # the bar covers ranks p05..p95 centred on them
            sheet.write_number(3 + i, helper + 1, r[6] - r[5] + 1)
        sheet.set_column(helper, helper + 1, None, None, {"hidden": True})
        chart = wb.book.add_chart({"type": "bar", "subtype": "stacked"})
        chart.add_series({"values": [name, 3, helper, 2 + ranked, helper], "categories": [name, 3, 0, 2 + ranked, 0],
                          "fill": {"none": True}, "border": {"none": True}})
        chart.add_series({"name": "5%–95%", "values": [name, 3, helper + 1, 2 + ranked, helper + 1],
                          "categories": [name, 3, 0, 2 + ranked, 0], "fill": {"color": "#5B9BD5"}})
        chart.set_title({"name": "Rank interval (5th–95th percentile)" if en else "排名区间（5%–95% 分位）"})
        chart.set_legend({"none": True})
        chart.set_y_axis({"reverse": True})
        chart.show_hidden_data()  # the helper columns are hidden
        chart.set_x_axis({"name": "Rank" if en else "排名", "min": 0})
        chart.set_size({"width": 720, "height": max(300, 18 * min(ranked, 60) + 80)})
        # Below the table (which prints one page wide), where a page break cannot cut it.
        wb.insert_chart(sheet, 3 + n + 2, 0, chart)
    return sheet, n
