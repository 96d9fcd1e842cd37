"""The statistics of rating validation, on plain arrays (no config, no I/O).

Orientation throughout: a **higher score is safer**; ``bad`` marks the observations that
defaulted. AUC = P(score of a non-defaulter > score of a defaulter) + ½ P(tie), i.e. the
Mann–Whitney statistic with mid-ranks; the accuracy ratio (Gini) is 2·AUC − 1.

* ``auc_delong``: AUC with DeLong, DeLong & Clarke-Pearson's (1988) variance, computed from
  mid-ranks in O(n log n) (Sun & Xu 2014), and the normal 95 % interval clipped to [0, 1]
  (as pROC's ``ci.auc``).
* ``ks``: the largest gap between the score distributions of defaulters and non-defaulters,
  and the score where it is reached; ``roc_points`` and ``cap_points`` for the charts.
* ``grade_test``: per grade, the one-sided binomial test and the Jeffreys test (ECB validation
  reporting instructions: p = Beta(D + ½, N − D + ½) CDF at the PD) of "the PD is not too
  low", and the exact (Clopper–Pearson) interval of the observed rate.
* ``hosmer_lemeshow`` over grades, ``psi`` (also CSI), ``migration_stability`` (mean weighted
  bandwidth of the ECB instructions), ``defaults_needed`` (Hanley–McNeil variance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054  # the 97.5 % point of the standard normal


@dataclass
class Auc:
    auc: float | None
    var: float | None  # DeLong variance of the AUC
    ci: tuple[float, float] | None  # 95 % normal interval, clipped to [0, 1]
    n_good: int
    n_bad: int

    @property
    def accuracy_ratio(self) -> float | None:
        return None if self.auc is None else 2.0 * self.auc - 1.0

    @property
    def se(self) -> float | None:
        return None if self.var is None else math.sqrt(self.var)


def _arrays(score, bad) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(score, dtype=float)
    b = np.asarray(bad, dtype=bool)
    if s.shape != b.shape:
        raise ValueError("score and bad must have the same length")
    keep = ~np.isnan(s)
    return s[keep], b[keep]


def _midranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x, method="average")


def auc_delong(score, bad) -> Auc:
    """AUC and its DeLong variance; None values when either class is empty (NaN scores are dropped)."""
    s, b = _arrays(score, bad)
    x, y = s[~b], s[b]  # x: non-defaulters (should score high), y: defaulters
    m, n = len(x), len(y)
    if m == 0 or n == 0:
        return Auc(None, None, None, m, n)
    tz = _midranks(np.concatenate([x, y]))
    tx, ty = _midranks(x), _midranks(y)
    v10 = (tz[:m] - tx) / n  # per non-defaulter: share of defaulters it outscores (ties ½)
    v01 = 1.0 - (tz[m:] - ty) / m  # per defaulter: share of non-defaulters that outscore it
    auc = float(v10.mean())
    if m < 2 or n < 2:  # DeLong's variance needs two of each class
        return Auc(auc, None, None, m, n)
    var = float(np.var(v10, ddof=1)) / m + float(np.var(v01, ddof=1)) / n
    half = Z95 * math.sqrt(var)
    return Auc(auc, var, (max(0.0, auc - half), min(1.0, auc + half)), m, n)


@dataclass
class KS:
    ks: float | None
    score: float | None  # the score where the gap is largest (observations at or below it vs above)
    points: list[tuple[float, float, float]]  # (score, share of defaulters ≤ score, share of others ≤ score)


def _cumulative(s: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores ascending, and the shares of defaulters / non-defaulters at or below each."""
    values, inverse = np.unique(s, return_inverse=True)
    bad_counts = np.bincount(inverse, weights=b.astype(float), minlength=len(values))
    all_counts = np.bincount(inverse, minlength=len(values)).astype(float)
    good_counts = all_counts - bad_counts
    nb, ng = bad_counts.sum(), good_counts.sum()
    fb = np.cumsum(bad_counts) / nb if nb else np.zeros(len(values))
    fg = np.cumsum(good_counts) / ng if ng else np.zeros(len(values))
    return values, fb, fg


def ks(score, bad) -> KS:
    """Kolmogorov–Smirnov: max |F_bad(s) − F_good(s)| over the scores, and where it is reached."""
    s, b = _arrays(score, bad)
    if not b.any() or b.all():
        return KS(None, None, [])
    values, fb, fg = _cumulative(s, b)
    gap = np.abs(fb - fg)
    i = int(np.flatnonzero(gap >= gap.max() - 1e-12)[0])  # the lowest score with the largest gap (float noise aside)
    return KS(float(gap[i]), float(values[i]), list(zip(values.tolist(), fb.tolist(), fg.tolist())))


def roc_points(score, bad) -> list[tuple[float, float]]:
    """(share of non-defaulters refused, share of defaulters refused) when refusing every score ≤ t,
    for t from below the lowest score to the highest: (0, 0) … (1, 1)."""
    s, b = _arrays(score, bad)
    if not b.any() or b.all():
        return []
    _, fb, fg = _cumulative(s, b)
    return [(0.0, 0.0)] + list(zip(fg.tolist(), fb.tolist()))


def cap_points(score, bad) -> list[tuple[float, float]]:
    """Cumulative accuracy profile: (share of all refused, share of defaulters refused), worst first."""
    s, b = _arrays(score, bad)
    if not b.any():
        return []
    values, inverse = np.unique(s, return_inverse=True)
    all_counts = np.bincount(inverse, minlength=len(values)).astype(float)
    bad_counts = np.bincount(inverse, weights=b.astype(float), minlength=len(values))
    return [(0.0, 0.0)] + list(zip((np.cumsum(all_counts) / len(s)).tolist(),
                                   (np.cumsum(bad_counts) / bad_counts.sum()).tolist()))


# -- calibration ---------------------------------------------------------------------------------

@dataclass
class GradeTest:
    n: int
    defaults: int
    pd: float | None
    observed: float | None
    ci: tuple[float, float] | None  # exact 95 % interval of the observed rate
    binomial_p: float | None  # P(X ≥ D | N, PD): small means the PD is too low
    jeffreys_p: float | None  # Beta(D + ½, N − D + ½) CDF at PD: small means the PD is too low

    @property
    def expected(self) -> float | None:
        return None if self.pd is None else self.n * self.pd


def clopper_pearson(d: int, n: int, level: float = 0.95) -> tuple[float, float] | None:
    from scipy.stats import beta

    if n <= 0:
        return None
    a = (1 - level) / 2
    lo = 0.0 if d == 0 else float(beta.ppf(a, d, n - d + 1))
    hi = 1.0 if d == n else float(beta.ppf(1 - a, d + 1, n - d))
    return lo, hi


def grade_test(n: int, d: int, pd: float | None) -> GradeTest:
    from scipy.stats import beta, binom

    if n <= 0:
        return GradeTest(0, 0, pd, None, None, None, None)
    obs = d / n
    ci = clopper_pearson(d, n)
    if pd is None:
        return GradeTest(n, d, None, obs, ci, None, None)
    binomial_p = float(binom.sf(d - 1, n, pd))
    jeffreys_p = float(beta.cdf(pd, d + 0.5, n - d + 0.5))
    return GradeTest(n, d, pd, obs, ci, binomial_p, jeffreys_p)


def hosmer_lemeshow(n: list[int], d: list[int], pd: list[float]) -> tuple[float, int, float] | None:
    """Σ (D − N·PD)² / (N·PD·(1 − PD)) over the groups, chi-square with as many degrees of freedom
    as groups (the PDs were not fitted on this sample). None when no group can be tested."""
    from scipy.stats import chi2

    stat, groups = 0.0, 0
    for ni, di, p in zip(n, d, pd):
        if ni <= 0 or p is None or not 0.0 < p < 1.0:
            continue
        stat += (di - ni * p) ** 2 / (ni * p * (1 - p))
        groups += 1
    if groups == 0:
        return None
    return stat, groups, float(chi2.sf(stat, groups))


def monotonic(rates: list[float | None]) -> tuple[bool, list[int]]:
    """Rates in grade order (best first) should not fall; returns (ok, indices i where rate[i+1] < rate[i])."""
    known = [(i, r) for i, r in enumerate(rates) if r is not None]
    bad = [known[k][0] for k in range(len(known) - 1) if known[k + 1][1] < known[k][1] - 1e-12]
    return not bad, bad


# -- stability ------------------------------------------------------------------------------------

PSI_FLOOR = 1e-4  # share given to an empty bin, so ln(a/e) stays finite (states the convention)


def psi(expected_counts, actual_counts, floor: float = PSI_FLOOR) -> float | None:
    """Population stability index Σ (a − e)·ln(a / e) over bins of shares; empty bins count as ``floor``."""
    e = np.asarray(expected_counts, dtype=float)
    a = np.asarray(actual_counts, dtype=float)
    if e.sum() <= 0 or a.sum() <= 0:
        return None
    e = np.maximum(e / e.sum(), floor)
    a = np.maximum(a / a.sum(), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def score_bins(reference, bins: int = 10) -> np.ndarray:
    """Bin edges for a PSI: the distinct values when there are few, else quantiles of the reference."""
    r = np.asarray(reference, dtype=float)
    r = r[~np.isnan(r)]
    if len(r) == 0:
        return np.array([])
    distinct = np.unique(r)
    if len(distinct) <= bins:
        inner = (distinct[:-1] + distinct[1:]) / 2
    else:
        inner = np.unique(np.quantile(r, np.linspace(0, 1, bins + 1)[1:-1]))
    return inner


def binned_counts(values, inner_edges: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    idx = np.searchsorted(inner_edges, v, side="right")
    return np.bincount(idx, minlength=len(inner_edges) + 1)


def migration_stability(matrix: list[list[int]]) -> dict[str, float | None]:
    """Of a K×K migration matrix in grade order (best first; rows: from, columns: to): the share
    that kept its grade, moved at most one notch, and the ECB's mean weighted bandwidths
    (down: to worse grades, the upper triangle; up: to better grades), each between 0 and 1."""
    m = np.asarray(matrix, dtype=float)
    k = m.shape[0]
    total = m.sum()
    if total == 0 or k == 0:
        return {"n": 0, "stay": None, "within_one": None, "mwb_down": None, "mwb_up": None}
    i, j = np.indices(m.shape)
    rows = m.sum(axis=1)
    p = np.divide(m, rows[:, None], out=np.zeros_like(m), where=rows[:, None] > 0)
    n_i = rows[:, None]
    upper, lower = j > i, j < i
    span = np.maximum(np.abs(i - k + 1), np.abs(i))  # the farthest a grade can move: max(|i−K|, |i−1|), 1-based
    num_d = float(np.sum((np.abs(i - j) * n_i * p)[upper]))
    den_d = float(np.sum((span * n_i * p)[upper]))
    num_u = float(np.sum((np.abs(i - j) * n_i * p)[lower]))
    den_u = float(np.sum((span * n_i * p)[lower]))
    return {"n": int(total), "stay": float(np.trace(m) / total),
            "within_one": float(m[np.abs(i - j) <= 1].sum() / total),
            "mwb_down": num_d / den_d if den_d else None, "mwb_up": num_u / den_u if den_u else None}


# -- small samples ---------------------------------------------------------------------------------

def hanley_mcneil_var(auc: float, n_good: float, n_bad: float) -> float:
    """Hanley & McNeil (1982) variance of an AUC (good = the class that should score higher)."""
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    return (auc * (1 - auc) + (n_good - 1) * (q1 - auc * auc) + (n_bad - 1) * (q2 - auc * auc)) / (n_good * n_bad)


def defaults_needed(auc: float, bad_rate: float, half_width: float, limit: int = 1_000_000) -> int | None:
    """The fewest defaults (with non-defaulters in the proportion ``bad_rate``) for the 95 % interval
    of an AUC of ``auc`` to be no wider than ± ``half_width`` (Hanley–McNeil); None if beyond ``limit``."""
    if not 0 < bad_rate < 1 or half_width <= 0:
        return None
    auc = min(max(auc, 0.5), 0.999)
    ratio = (1 - bad_rate) / bad_rate

    def ok(d: int) -> bool:
        return Z95 * math.sqrt(hanley_mcneil_var(auc, max(d * ratio, 1.0), d)) <= half_width

    if not ok(limit):
        return None
    lo, hi = 1, limit
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def light(p: float | None, yellow: float, red: float) -> str | None:
    """Traffic light of a test's p-value: red below ``red``, yellow below ``yellow``, else green."""
    if p is None:
        return None
    return "red" if p < red else "yellow" if p < yellow else "green"
