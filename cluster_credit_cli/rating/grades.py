"""Grades, ranks and the pool (评级标准, 排名, 资金池额度).

Grades and ranks use the total *as displayed* (rounded half-up to the model's decimals), so a
workbook never shows 90.00 beside AA. Equal displayed totals share a rank (1, 2, 2, 4) and are
listed by base score, then code. Quotas are granted in rank order: min(requested, grade cap)
until the pool's capacity (guarantee fund × leverage) is used up; the one that crosses the line
gets the remainder.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cluster_credit_cli.model.config import Model


def round_half_up(values: np.ndarray | pd.Series, decimals: int = 2) -> np.ndarray:
    """Half-up rounding that ignores binary noise: 89.995 → 90.00, 89.99499999999 → 90.00."""
    scale = 10.0 ** decimals
    arr = np.asarray(values, dtype=float) * scale
    return np.floor(np.round(arr, 6) + 0.5) / scale


def grade_of(display_totals: np.ndarray, model: Model) -> np.ndarray:
    out = np.full(len(display_totals), None, dtype=object)
    done = np.zeros(len(display_totals), dtype=bool)
    for band in model.grades:
        hit = (display_totals >= band["min"] - 1e-9) & ~done
        out[hit] = band["grade"]
        done |= hit
    return out


def rank_and_quota(table: pd.DataFrame, model: Model) -> pd.DataFrame:
    """Add grade, rank and quota to a table with columns code, total_display, base, requested, graded.

    Rows with ``graded`` False get None for all three.
    """
    out = table.copy()
    graded = out["graded"].to_numpy(dtype=bool)
    grades = grade_of(out["total_display"].to_numpy(dtype=float), model)
    out["grade"] = np.where(graded, grades, None)
    order = out[graded].sort_values(["total_display", "base", "code"], ascending=[False, False, True])
    ranks = order["total_display"].rank(method="min", ascending=False).astype(int)
    out["rank"] = pd.Series(ranks, dtype="Int64").reindex(out.index)
    caps = {g["grade"]: float(g["cap"]) for g in model.grades}
    capacity = float(model.pool["guarantee_fund"]) * float(model.pool["leverage"])
    quota = pd.Series(np.nan, index=out.index, dtype=float)
    remaining = capacity
    # Sequential by nature (the pool runs out down the list), so a plain loop over arrays, not .at.
    wants = out.loc[order.index, "requested"].to_numpy(dtype=float)
    grades_in_order = out.loc[order.index, "grade"].to_numpy(dtype=object)
    gives = np.empty(len(order), dtype=float)
    for k in range(len(order)):
        want = wants[k]
        want = 0.0 if np.isnan(want) else max(float(want), 0.0)
        give = min(want, caps.get(grades_in_order[k], 0.0), remaining)
        gives[k] = give
        remaining -= give
    quota.loc[order.index] = gives
    out["quota"] = quota
    out["_order"] = pd.Series(np.arange(len(order)), index=order.index).reindex(out.index)
    return out


def pool_summary(table: pd.DataFrame, model: Model) -> dict:
    capacity = float(model.pool["guarantee_fund"]) * float(model.pool["leverage"])
    used = float(table["quota"].fillna(0).sum())
    return {"guarantee_fund": float(model.pool["guarantee_fund"]), "leverage": float(model.pool["leverage"]),
            "capacity": capacity, "allocated": used, "remaining": capacity - used,
            "unit": model.pool.get("unit", "")}
