"""Entropy-weight method (熵权法): objective weights from how much the indicators vary.

Input: an (enterprises × indicators) matrix of scores on 0–100 (higher is better, as every leaf
score in this tool). For indicator j over m enterprises:

    p_ij = x_ij / Σ_i x_ij
    e_j  = −(1 / ln m) · Σ_i p_ij · ln p_ij        with 0 · ln 0 = 0 (the limit of p ln p)
    d_j  = 1 − e_j                                  (degree of diversification)
    w_j  = d_j / Σ_k d_k

Conventions, stated because libraries differ:

* ``0 · ln 0 = 0``. A zero score contributes nothing to the entropy sum. Computing ``p * log(p)``
  naively gives NaN for that entry; implementations that then turn the NaN entropy into 0 give
  the indicator d_j = 1, the largest possible weight, merely because one enterprise scored 0.
  Here a single zero only counts as the dispersion it really is.
* A constant column (every enterprise scores the same, including all zeros) carries no
  information: e_j = 1, weight 0. If every column is constant, there is nothing to tell the
  indicators apart: equal weights are returned with a warning.
* One enterprise (m = 1): ln m = 0, the entropy is undefined; weights are NaN with a warning.
* Missing scores must be filled (or the rows dropped) before calling; negative scores are an error.

The result is a second opinion shown beside the expert (AHP) weights; it does not change scoring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


@dataclass
class EntropyResult:
    names: list[str]
    weights: np.ndarray  # sums to 1 (NaN when undefined)
    entropy: np.ndarray
    diversification: np.ndarray
    warnings: list[str] = field(default_factory=list)
    warnings_en: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, dict[str, float | None]]:
        def num(x):
            return None if np.isnan(x) else float(x)
        return {n: {"weight": num(w), "entropy": num(e), "diversification": num(d)}
                for n, w, e, d in zip(self.names, self.weights, self.entropy, self.diversification)}


def entropy_weights(scores, names: Sequence[str] | None = None) -> EntropyResult:
    """Entropy weights of the columns of ``scores`` (rows: enterprises; columns: indicators)."""
    x = np.asarray(scores, dtype=float)
    if x.ndim != 2:
        raise ValueError("scores must be a 2-D matrix (enterprises × indicators)")
    m, n = x.shape
    names = list(names) if names is not None else [str(j) for j in range(n)]
    if len(names) != n:
        raise ValueError(f"{len(names)} names for {n} indicators")
    if np.isnan(x).any():
        raise ValueError("scores contain missing values; fill or drop them first")
    if (x < 0).any():
        raise ValueError("scores must not be negative")
    warnings: list[str] = []
    warnings_en: list[str] = []
    if m < 2:
        nan = np.full(n, np.nan)
        warnings.append("只有 1 家企业，熵权无定义（ln m = 0）")
        warnings_en.append("only one enterprise: entropy weights are undefined (ln m = 0)")
        return EntropyResult(names, nan, nan.copy(), nan.copy(), warnings, warnings_en)
    totals = x.sum(axis=0)
    constant = np.all(x == x[:1, :], axis=0)  # includes all-zero columns
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(totals > 0, x / np.where(totals > 0, totals, 1.0), 0.0)
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)  # 0·ln0 = 0
    e = -plogp.sum(axis=0) / np.log(m)
    e[constant] = 1.0  # exactly: no information (also avoids 1 − 0.9999999 noise)
    e = np.clip(e, 0.0, 1.0)
    d = 1.0 - e
    if d.sum() <= 0:
        w = np.full(n, 1.0 / n)
        warnings.append("所有指标得分在各企业间都相同，熵权无法区分，取等权")
        warnings_en.append("every indicator has the same score for all enterprises: equal weights returned")
    else:
        w = d / d.sum()
    for j in np.flatnonzero(constant):
        if d.sum() > 0:
            warnings.append(f"指标 {names[j]} 各企业得分相同，不含信息，熵权为 0")
            warnings_en.append(f"indicator {names[j]} has the same score for every enterprise: entropy weight 0")
    return EntropyResult(names, w, e, d, warnings, warnings_en)
