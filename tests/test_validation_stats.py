"""The validation statistics against independent computations: scikit-learn, brute-force pair
counts, pROC's published DeLong figures on its aSAH data, scipy, and hand-worked small tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cluster_credit_cli.validation import stats

ASAH = Path(__file__).parent / "data" / "asah.csv"


def brute_auc(score, bad) -> float:
    """Every (non-defaulter, defaulter) pair: 1 if the non-defaulter scores higher, ½ on a tie."""
    good = [s for s, b in zip(score, bad) if not b]
    bads = [s for s, b in zip(score, bad) if b]
    total = sum(1.0 if g > d else 0.5 if g == d else 0.0 for g in good for d in bads)
    return total / (len(good) * len(bads))


def delong_by_definition(score, bad) -> float:
    """DeLong's variance from its definition: the m × n kernel matrix, no ranks."""
    s, b = np.asarray(score, float), np.asarray(bad, bool)
    x, y = s[~b], s[b]
    psi = (x[:, None] > y[None, :]).astype(float) + 0.5 * (x[:, None] == y[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return v10.var(ddof=1) / len(x) + v01.var(ddof=1) / len(y)


def test_auc_matches_sklearn_and_brute_force_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(7)
    bad = rng.random(300) < 0.15
    score = np.round(rng.normal(60, 10, 300) + np.where(bad, -6, 0))  # integer scores: many ties
    got = stats.auc_delong(score, bad)
    # sklearn: the class "not defaulted" is positive and the score its decision value.
    assert got.auc == pytest.approx(roc_auc_score(~bad, score), abs=1e-12)
    assert got.auc == pytest.approx(brute_auc(score.tolist(), bad.tolist()), abs=1e-12)
    assert got.accuracy_ratio == pytest.approx(2 * got.auc - 1)
    assert got.var == pytest.approx(delong_by_definition(score, bad), rel=1e-10)
    assert got.n_good == int((~bad).sum()) and got.n_bad == int(bad.sum())


def test_auc_all_tied_is_one_half_and_small_hand_case():
    assert stats.auc_delong([5, 5, 5, 5], [True, False, False, True]).auc == 0.5
    # goods 3, 2; bads 1, 2 -> pairs (3>1, 3>2, 2>1, 2=2) = 3.5 / 4
    assert stats.auc_delong([3, 2, 1, 2], [False, False, True, True]).auc == pytest.approx(0.875)
    empty = stats.auc_delong([1, 2, 3], [False, False, False])
    assert empty.auc is None and empty.ci is None and empty.accuracy_ratio is None


@pytest.mark.parametrize("column, var", [
    ("s100b", 0.00266868245717244), ("ndka", 0.0031908105493913), ("wfns", 0.00146991470882363)])
def test_delong_variance_matches_proc_on_asah(column, var):
    """pROC tests/testthat/test-var.R: var(roc(aSAH$outcome, aSAH$<col>)) (DeLong). pROC's
    predictor rises with a poor outcome, so our safer-is-higher score is its negative."""
    data = pd.read_csv(ASAH, comment="#")
    bad = (data["outcome"] == "Poor").to_numpy()
    got = stats.auc_delong(-data[column].to_numpy(dtype=float), bad)
    assert got.var == pytest.approx(var, rel=1e-9)
    assert (got.n_good, got.n_bad) == (72, 41)


def test_delong_interval_matches_proc_on_asah():
    """pROC: ci.auc(roc(aSAH$outcome, aSAH$ndka)) = 0.501244999271703, 0.611957994579946,
    0.722670989888189 (test-ci.auc.R); roc(aSAH$outcome, aSAH$s100b) prints AUC 0.7314 and
    '95% CI: 0.6301-0.8326 (DeLong)'."""
    data = pd.read_csv(ASAH, comment="#")
    bad = (data["outcome"] == "Poor").to_numpy()
    nd = stats.auc_delong(-data["ndka"].to_numpy(dtype=float), bad)
    assert nd.auc == pytest.approx(0.611957994579946, abs=1e-12)
    assert nd.ci == pytest.approx((0.501244999271703, 0.722670989888189), abs=1e-9)
    s1 = stats.auc_delong(-data["s100b"].to_numpy(dtype=float), bad)
    assert round(s1.auc, 4) == 0.7314
    assert (round(s1.ci[0], 4), round(s1.ci[1], 4)) == (0.6301, 0.8326)


def test_delong_interval_covers_a_known_separation():
    """Binormal scores: defaulters N(0, 1), others N(μ, 1) -> AUC = Φ(μ/√2). The 95 % interval
    covers the true AUC in about 95 % of 300 samples (binomial band 91–98 %)."""
    from scipy.stats import norm

    mu = 1.0
    true_auc = float(norm.cdf(mu / math.sqrt(2)))
    rng = np.random.default_rng(2026)
    hits = 0
    for _ in range(300):
        bad = np.zeros(400, dtype=bool)
        bad[:40] = True
        score = rng.normal(0, 1, 400) + np.where(bad, 0.0, mu)
        lo, hi = stats.auc_delong(score, bad).ci
        hits += lo <= true_auc <= hi
    assert 0.91 <= hits / 300 <= 0.98


def test_ks_by_hand():
    # scores 1..6; defaulters at 1, 2, 4; others at 3, 5, 6
    # ≤1: bad 1/3, good 0 | ≤2: 2/3, 0 | ≤3: 2/3, 1/3 | ≤4: 1, 1/3 | ≤5: 1, 2/3 | ≤6: 1, 1
    r = stats.ks([1, 2, 3, 4, 5, 6], [True, True, False, True, False, False])
    assert r.ks == pytest.approx(2 / 3)
    assert r.score == 2.0  # first reached at 2 (again at 4)
    assert stats.ks([1, 2], [False, False]).ks is None


def test_roc_area_equals_auc_and_cap_ends():
    rng = np.random.default_rng(3)
    bad = rng.random(200) < 0.2
    score = rng.integers(0, 20, 200) + np.where(bad, -3, 0)
    pts = np.array(stats.roc_points(score, bad))
    area = float(np.sum((pts[1:, 0] - pts[:-1, 0]) * (pts[1:, 1] + pts[:-1, 1]) / 2))
    assert area == pytest.approx(stats.auc_delong(score, bad).auc, abs=1e-12)
    cap = stats.cap_points(score, bad)
    assert cap[0] == (0.0, 0.0) and cap[-1] == pytest.approx((1.0, 1.0))


def test_binomial_and_jeffreys_against_scipy_and_integration():
    from scipy.integrate import quad
    from scipy.stats import binomtest

    for n, d, pd_ in [(50, 3, 0.02), (200, 0, 0.01), (12, 12, 0.3), (1000, 15, 0.01)]:
        g = stats.grade_test(n, d, pd_)
        assert g.binomial_p == pytest.approx(binomtest(d, n, pd_, alternative="greater").pvalue, rel=1e-9)
        a, b = d + 0.5, n - d + 0.5
        log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
        dens = lambda x: math.exp((a - 1) * math.log(x) + (b - 1) * math.log1p(-x) - log_beta)  # noqa: E731
        assert g.jeffreys_p == pytest.approx(quad(dens, 0, pd_, limit=200)[0], rel=1e-6, abs=1e-12)
        assert g.observed == d / n


def test_clopper_pearson_known_values():
    # 0 of 10: upper = 1 − 0.025^(1/10) = 0.30850...; n of n: lower = 0.025^(1/n)
    lo, hi = stats.clopper_pearson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** 0.1, rel=1e-9)
    lo, hi = stats.clopper_pearson(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** 0.1, rel=1e-9)


def test_hosmer_lemeshow_by_hand():
    # (2 − 100·0.01)²/(100·0.01·0.99) + (10 − 50·0.1)²/(50·0.1·0.9) = 1/0.99 + 25/4.5
    stat, df, p = stats.hosmer_lemeshow([100, 50, 0], [2, 10, 0], [0.01, 0.1, 0.2])
    assert stat == pytest.approx(1 / 0.99 + 25 / 4.5)
    assert df == 2
    assert p == pytest.approx(math.exp(-stat / 2))  # chi-square with 2 df: survival e^(−x/2)


def test_monotonic():
    assert stats.monotonic([0.0, 0.01, None, 0.05]) == (True, [])
    assert stats.monotonic([0.02, 0.01, 0.05]) == (False, [0])


def test_psi_by_hand():
    # shares e = (.5, .3, .2), a = (.4, .4, .2): (−.1)ln(.8) + (.1)ln(4/3) + 0
    assert stats.psi([50, 30, 20], [4, 4, 2]) == pytest.approx(-0.1 * math.log(0.8) + 0.1 * math.log(4 / 3))
    assert stats.psi([1, 1], [1, 1]) == 0.0
    # an empty bin counts as 0.0001: e = (.5, .5), a = (1, 0) -> .5 ln 2 + (.0001 − .5) ln(.0002)
    assert stats.psi([1, 1], [2, 0]) == pytest.approx(0.5 * math.log(2) + (1e-4 - 0.5) * math.log(2e-4))
    assert stats.psi([0, 0], [1, 1]) is None


def test_bins_and_counts():
    edges = stats.score_bins([0, 20, 20, 100])  # few distinct values: one bin each
    assert edges.tolist() == [10.0, 60.0]
    assert stats.binned_counts([0, 20, 100, 100, 55], edges).tolist() == [1, 2, 2]


def test_migration_stability_by_hand():
    # 3 grades; row 1: 8 stay, 2 down one; row 2: 1 up, 6 stay, 3 down; row 3: 1 up two, 9 stay
    m = [[8, 2, 0], [1, 6, 3], [1, 0, 9]]
    r = stats.migration_stability(m)
    assert r["n"] == 30 and r["stay"] == pytest.approx(23 / 30) and r["within_one"] == pytest.approx(29 / 30)
    # down: (1·2 + 1·3) / (2·2 + 1·3); up: (1·1 + 2·1) / (1·1 + 2·1)
    assert r["mwb_down"] == pytest.approx(5 / 7)
    assert r["mwb_up"] == pytest.approx(1.0)


def test_defaults_needed_is_the_smallest_that_reaches_the_width():
    d = stats.defaults_needed(0.75, 0.05, 0.05)
    width = lambda k: stats.Z95 * math.sqrt(stats.hanley_mcneil_var(0.75, k * 19, k))  # noqa: E731
    assert width(d) <= 0.05 < width(d - 1)
    assert 50 < d < 200
    assert stats.defaults_needed(0.75, 0.0, 0.05) is None


def test_light():
    assert [stats.light(p, 0.05, 0.01) for p in (0.2, 0.03, 0.005, None)] == ["green", "yellow", "red", None]
