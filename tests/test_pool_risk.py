"""The pool's loss distribution (issue 17): exactness against enumeration and closed forms, the
Monte Carlo cross-check, EL, Euler contributions, the inputs from the book and the config."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pytest
from scipy.special import ndtri

from cluster_credit_cli.model.config import load_model
from cluster_credit_cli.pool.risk import (ALPHAS, loss_distribution, monte_carlo, simulate_losses, vasicek_cdf,
                                         vasicek_quantile)
from cluster_credit_cli.pool.risk_analysis import analyse_risk, borrower_inputs, estimate_lgd, estimate_pd
from cluster_credit_cli.pool.risk_config import basel_rho, pd_table, risk_config
from cluster_credit_cli.problems import ConfigError
from riskdata import book, loan, random_book

AS_OF = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def cfg():
    return risk_config(load_model())


def enumerate_pmf(loss: np.ndarray, pd: np.ndarray) -> np.ndarray:
    """Independent defaults, every one of the 2^n outcomes."""
    out = np.zeros(int(loss.sum()) + 1)
    for bits in itertools.product((0, 1), repeat=len(loss)):
        b = np.array(bits)
        out[int(b @ loss)] += float(np.prod(np.where(b == 1, pd, 1 - pd)))
    return out


def test_rho_zero_is_the_exact_poisson_binomial():
    rng = np.random.default_rng(3)
    loss = rng.integers(1, 25, 12).astype(float)
    pd = rng.uniform(0.01, 0.4, 12)
    d = loss_distribution(loss, pd, 0.0, unit=1.0)
    want = enumerate_pmf(loss, pd)
    assert d.full_support and d.p_over == 0.0
    assert np.abs(d.pmf[: len(want)] - want).max() < 1e-15
    assert d.pmf[len(want):].sum() < 1e-15
    # VaR is the quantile of the enumerated distribution
    cdf = np.cumsum(want)
    for a in ALPHAS:
        assert d.var(a) == float(np.searchsorted(cdf, a - 1e-15))


def test_rho_zero_on_a_grid_it_chooses_itself():
    rng = np.random.default_rng(4)
    loss = rng.integers(1, 40, 12) * 2.5  # multiples of 2.5: the chosen grid must still be exact
    pd = rng.uniform(0.02, 0.3, 12)
    d = loss_distribution(loss, pd, 0.0, unit=2.5)
    want = enumerate_pmf(loss / 2.5, pd)
    assert np.abs(d.pmf[: len(want)] - want).max() < 1e-15
    p_gt = want[int(100 / 2.5) + 1:].sum()
    assert d.p_exceed(100.0) == pytest.approx(p_gt, abs=1e-15)


def test_large_homogeneous_book_approaches_the_vasicek_limit():
    pd, rho = 0.02, 0.15
    errors = {}
    for n in (100, 1000):
        d = loss_distribution(np.ones(n), np.full(n, pd), rho, unit=1.0)
        errors[n] = [d.var(a) / n / vasicek_quantile(a, pd, rho) - 1 for a in (0.9, 0.95, 0.99, 0.999)]
    # at 1,000 names the quantiles are within 2 % of the limit, and closer than at 100 names
    assert max(abs(e) for e in errors[1000]) < 0.02, errors
    assert all(abs(b) < abs(a) for a, b in zip(errors[100], errors[1000])), errors
    # and the whole distribution function
    # and the whole distribution function (half the atom at x: the lattice against a continuum)
    for x in (0.02, 0.05, 0.1, 0.2):
        got = 1 - (d.p_exceed(x * 1000) + d.p_exceed(x * 1000 - 1)) / 2
        assert got == pytest.approx(float(vasicek_cdf(x, pd, rho)), abs=0.01), x


def test_quadrature_gets_more_nodes_for_a_granular_book():
    # 50 fixed nodes on 1,000 equal loans give a lumpy mixture; the adaptive count does not
    n, pd, rho = 1000, 0.02, 0.15
    fixed = loss_distribution(np.ones(n), np.full(n, pd), rho, unit=1.0, nodes=50, adapt=False)
    adapted = loss_distribution(np.ones(n), np.full(n, pd), rho, unit=1.0, nodes=50)
    assert fixed.order == 50 and adapted.order > 100 and len(adapted.z) > len(fixed.z)
    limit = vasicek_quantile(0.99, pd, rho)
    assert abs(adapted.var(0.99) / n / limit - 1) < abs(fixed.var(0.99) / n / limit - 1)


def test_the_finite_book_differs_from_the_limit_in_the_right_direction():
    # 50 loans: fewer names, fatter tail than the infinitely granular pool (name concentration)
    n, pd, rho = 50, 0.02, 0.15
    d = loss_distribution(np.ones(n), np.full(n, pd), rho, unit=1.0)
    assert d.var(0.999) / n > vasicek_quantile(0.999, pd, rho)


def test_expected_loss_is_the_sum_of_pd_lgd_ead(cfg):
    loans = random_book(80, seed=11)
    r = analyse_risk(loans, 1000.0, AS_OF, cfg)
    b = r.borrowers
    assert r.expected_loss == pytest.approx(float((b["pd"] * b["lgd"] * b["ead"]).sum()), rel=1e-13)
    assert b["el"].sum() == pytest.approx(r.expected_loss, rel=1e-13)
    # the grid distribution has the grid losses' mean exactly (quadrature and overflow included)
    assert r.dist.mean() == pytest.approx(float((b["pd"] * b["loss_on_grid"]).sum()), rel=1e-11)
    # and the rounding to the grid moves it by less than a tenth of a percent
    assert r.dist.mean() == pytest.approx(r.expected_loss, rel=1e-3)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_contributions_sum_to_expected_shortfall(alpha):
    rng = np.random.default_rng(5)
    n = 150
    loss = rng.uniform(5, 200, n)
    pd = rng.choice([0.005, 0.01, 0.02, 0.05, 0.1, 0.3], n)
    rho = rng.uniform(0.05, 0.3, n)
    d = loss_distribution(loss, pd, rho, cover=2000)
    c, err = d.contributions(alpha)
    assert c.sum() == pytest.approx(d.es(alpha), rel=1e-8)
    assert np.all(c >= 0) and np.all(c <= d.k * d.unit + 1e-9)


def test_contributions_sum_to_es_on_a_cut_grid_with_near_certain_defaults():
    # a big book on a grid that cannot hold every loss: the overflow cell and the backward
    # de-convolution (conditional PDs above 1/2 at the bad nodes) are exercised
    rng = np.random.default_rng(6)
    n = 600
    loss = rng.lognormal(3, 0.7, n)
    pd = rng.choice([0.01, 0.05, 0.2, 0.4], n)
    d = loss_distribution(loss, pd, 0.25, cells=1024)
    assert not d.full_support and d.p_over > 0
    assert (d.p > 0.5).any()
    for a in ALPHAS:
        c, err = d.contributions(a)
        assert c.sum() == pytest.approx(d.es(a), rel=1e-7)


def test_contribution_of_a_loan_alone_is_its_es():
    # PD 3 % > 1 %: the worst 1 % is all default, ES = the loss
    d = loss_distribution(np.array([10.0]), np.array([0.03]), 0.2, unit=1.0)
    c, _ = d.contributions(0.99)
    assert d.var(0.99) == 10 and d.es(0.99) == pytest.approx(10.0)
    assert c[0] == pytest.approx(10.0)
    # PD 0.5 % < 1 %: VaR 0, the worst 1 % is half default: ES = 10 x 0.005 / 0.01
    d = loss_distribution(np.array([10.0]), np.array([0.005]), 0.2, unit=1.0)
    c, _ = d.contributions(0.99)
    assert d.var(0.99) == 0 and d.es(0.99) == pytest.approx(5.0)
    assert c[0] == pytest.approx(5.0)


def test_identical_borrowers_get_identical_contributions():
    loss = np.array([10.0, 10.0, 10.0, 40.0])
    pd = np.array([0.05, 0.05, 0.05, 0.02])
    d = loss_distribution(loss, pd, 0.2, unit=1.0)
    c, _ = d.contributions(0.99)
    assert c[0] == c[1] == c[2]
    assert c.sum() == pytest.approx(d.es(0.99), rel=1e-12)


def test_monte_carlo_agrees_within_its_99_interval_on_a_heterogeneous_book():
    rng = np.random.default_rng(8)
    n = 200
    loss = rng.uniform(2, 150, n) * rng.choice([0.35, 0.45, 0.6], n)
    pd = rng.choice([0.005, 0.01, 0.02, 0.04, 0.08], n)
    rho = rng.uniform(0.08, 0.24, n)
    d = loss_distribution(loss, pd, rho, cover=1500)
    grid_loss = d.k * d.unit
    for threshold in (300.0, 600.0, 1000.0):
        mc = monte_carlo(grid_loss, pd, rho, threshold, 40_000, seed=2024)
        exact = d.p_exceed(threshold)
        assert mc.ci[0] <= exact <= mc.ci[1], (threshold, exact, mc)
    assert mc.mean_ci[0] <= d.mean() <= mc.mean_ci[1]


def test_monte_carlo_is_seeded():
    loss, pd = np.full(30, 10.0), np.full(30, 0.05)
    a = monte_carlo(loss, pd, 0.2, 20.0, 5000, seed=1)
    b = monte_carlo(loss, pd, 0.2, 20.0, 5000, seed=1)
    c = monte_carlo(loss, pd, 0.2, 20.0, 5000, seed=2)
    assert a == b and a.p_exceed != c.p_exceed


def test_var_es_and_exceedance_are_consistent():
    rng = np.random.default_rng(9)
    loss, pd = rng.uniform(10, 100, 60), rng.uniform(0.005, 0.1, 60)
    d = loss_distribution(loss, pd, 0.18, cover=500)
    for a in ALPHAS:
        v = d.var(a)
        assert d.p_exceed(v) <= 1 - a + 1e-12  # at most 1 - alpha above VaR
        assert d.p_exceed(v - d.unit) > 1 - a - 1e-12  # and more just below it
        assert d.es(a) >= v
    assert d.var(0.95) <= d.var(0.99) <= d.var(0.999)
    assert d.es(0.95) <= d.es(0.99) <= d.es(0.999)


def test_correlation_fattens_the_tail():
    loss, pd = np.full(100, 10.0), np.full(100, 0.02)
    low = loss_distribution(loss, pd, 0.05, unit=1.0)
    high = loss_distribution(loss, pd, 0.3, unit=1.0)
    assert low.mean() == pytest.approx(high.mean(), rel=1e-12)
    assert high.var(0.999) > low.var(0.999) and high.p_exceed(200) > low.p_exceed(200)


def test_basel_rho_formula():
    # the corporate curve runs from 0.24 (PD 0) to 0.12 (PD large); the SME adjustment takes 0.04 at 5 m EUR
    assert float(basel_rho(0.0, 50)) == pytest.approx(0.24)
    assert float(basel_rho(1.0, 50)) == pytest.approx(0.12, abs=1e-12)
    w = (1 - math.exp(-50 * 0.01)) / (1 - math.exp(-50))
    assert float(basel_rho(0.01, 5)) == pytest.approx(0.12 * w + 0.24 * (1 - w) - 0.04)
    assert float(basel_rho(0.01, 27.5)) == pytest.approx(0.12 * w + 0.24 * (1 - w) - 0.02)
    assert float(basel_rho(0.01, 1)) == float(basel_rho(0.01, 5))  # sales below 5 m count as 5


# -- inputs from the book ------------------------------------------------------------------------

def test_borrower_inputs_ead_default_and_closed_loans(cfg):
    rows = [loan(1, grade="A", outstanding=80, contract=100, quota=200),  # undrawn 100 × CCF
            loan(2, grade="A", outstanding=50, code="914419000000000001"),  # same borrower, second loan
            loan(3, grade="BBB", outstanding=60, dpd=120, status="逾期"),  # in default: PD 1
            loan(4, grade="AA", outstanding=0, status="结清"),  # repaid: not in the book
            loan(5, grade="AA", outstanding=30, status="代偿", paid=30),  # already paid by the pool
            loan(6, grade=None, outstanding=40),  # unrated: the worst grade's PD
            loan(7, grade="A", outstanding=50, quota=200, dpd=95, status="逾期")]  # in default: line frozen
    pds = estimate_pd(None, cfg, AS_OF, 12)
    b, notes = borrower_inputs(book(rows), cfg, pds, 0.45, ccf=0.5)
    b = b.set_index("code")
    one = b.loc["914419000000000001"]
    assert one["loans"] == 2 and one["outstanding"] == 130
    # the latest disbursement's quota (loan 2: quota = its own amount 50) minus the 150 drawn: none undrawn
    assert one["ead"] == 130
    assert b.loc["914419000000000003", "pd"] == 1.0 and bool(b.loc["914419000000000003", "in_default"])
    assert "914419000000000004" not in b.index and "914419000000000005" not in b.index
    assert b.loc["914419000000000006", "pd"] == cfg.pd["B"]
    assert b.loc["914419000000000007", "ead"] == 50 and b.loc["914419000000000007", "pd"] == 1.0
    assert notes == ["unrated:914419000000000006"]
    single = borrower_inputs(book([loan(1, grade="A", outstanding=80, contract=100, quota=200)]), cfg, pds, 0.45,
                             ccf=0.5)[0]
    assert single["ead"].iloc[0] == 80 + 0.5 * 100
    assert single["pd"].iloc[0] == cfg.pd["A"]
    assert single["rho"].iloc[0] == pytest.approx(float(basel_rho(0.02, 5)))


def _history(n_per_grade: int, defaults: dict[str, int]) -> "object":
    """Two snapshots a year apart: loans of each grade seen at the first, some in default at the second."""
    import pandas as pd

    frames = []
    i = 0
    for g in ("AA", "A"):
        for j in range(n_per_grade):
            bad = j < defaults.get(g, 0)
            first = loan(i, grade=g)
            second = loan(i, grade=g, dpd=120 if bad else 0, status="逾期" if bad else "正常")
            frames.append({**first, "snapshot_as_of": dt.date(2025, 11, 30)})
            frames.append({**second, "snapshot_as_of": dt.date(2026, 11, 30)})
            i += 1
    return pd.DataFrame(frames)


def test_pd_from_history_is_shrunk_towards_the_table(cfg):
    hist = _history(40, {"AA": 2, "A": 0})
    est = estimate_pd(hist, cfg, AS_OF, 12)
    m = cfg.prior_strength
    assert est["AA"].loans == 40 and est["AA"].defaults == 2 and est["AA"].source == "history"
    assert est["AA"].used == pytest.approx((2 + m * 0.01) / (40 + m))
    assert est["A"].used == pytest.approx((0 + m * 0.02) / (40 + m))
    assert est["AAA"].source == "table" and est["AAA"].used == cfg.pd["AAA"]
    few = estimate_pd(_history(10, {"AA": 5}), cfg, AS_OF, 12)
    assert few["AA"].source == "table" and few["AA"].loans == 10 and few["AA"].used == cfg.pd["AA"]
    # outcomes not yet known over the horizon do not count
    short = estimate_pd(hist, cfg, dt.date(2026, 6, 30), 12)
    assert short["AA"].loans == 0
    over = estimate_pd(hist, cfg, AS_OF, 12, {"AA": 0.2})
    assert over["AA"].used == 0.2 and over["AA"].source == "override"


def test_lgd_from_closed_cases_with_the_count(cfg):
    rows = [loan(i, outstanding=0, status="代偿", paid=100.0, paid_date=dt.date(2023, 6, 1), recovered=40.0)
            for i in range(12)]
    rows.append(loan(99, outstanding=0, status="代偿", paid=100.0, paid_date=dt.date(2026, 6, 1), recovered=0.0))
    e = estimate_lgd(None, book(rows), cfg, AS_OF)
    assert e.source == "history" and e.closed_cases == 12 and e.used == pytest.approx(0.6)
    few = estimate_lgd(None, book(rows[:5]), cfg, AS_OF)
    assert few.source == "config" and few.closed_cases == 5 and few.used == cfg.lgd
    assert estimate_lgd(None, book(rows), cfg, AS_OF, 0.3).used == 0.3


def test_overrides_and_scenarios(cfg):
    loans = random_book(40, seed=12)
    base = analyse_risk(loans, 800.0, AS_OF, cfg)
    worse = analyse_risk(loans, 800.0, AS_OF, cfg, pd_overrides={"A": 0.2}, lgd=0.7, rho=0.3, ccf=1.0)
    assert worse.expected_loss > base.expected_loss and worse.p_exceed_fund > base.p_exceed_fund
    assert set(worse.borrowers["rho"]) == {0.3} and set(worse.borrowers["lgd"]) == {0.7}
    names = [s.name_en for s in base.scenarios]
    assert names[0] == "PD × 2"
    doubled = base.scenarios[0]
    assert doubled.expected_loss == pytest.approx(2 * base.expected_loss, rel=1e-12)
    assert all(s.p_exceed_fund >= base.p_exceed_fund for s in base.scenarios)
    with pytest.raises(Exception, match="not a grade"):
        analyse_risk(loans, 800.0, AS_OF, cfg, pd_overrides={"Z": 0.1})


def test_fund_for_target_is_the_smallest_fund_that_holds(cfg):
    r = analyse_risk(random_book(50, seed=13), 500.0, AS_OF, cfg)
    need = r.fund_for[0.99]
    assert r.dist.p_exceed(need) <= 0.01
    assert r.dist.p_exceed(need - r.dist.unit) > 0.01


def test_json_fields(cfg):
    r = analyse_risk(random_book(20, seed=14), 600.0, AS_OF, cfg, check_mc=2000)
    d = r.as_dict()
    for k in ("as_of", "horizon_months", "method", "loans", "expected_loss", "sd", "var", "es", "fund_balance",
              "p_exceed_fund", "fund_for", "contributions", "scenarios", "monte_carlo"):
        assert k in d
    assert set(d["var"]) == set(d["es"]) == {"0.95", "0.99", "0.999"}
    assert set(d["fund_for"]) == {"0.99", "0.999"}
    assert set(d["contributions"][0]) >= {"code", "name", "ead", "pd", "lgd", "el", "es_contribution"}
    assert set(d["scenarios"][0]) >= {"name", "expected_loss", "p_exceed_fund"}
    assert set(d["monte_carlo"]) >= {"n", "seed", "p_exceed_fund", "ci"} and d["monte_carlo"]["n"] == 2000
    assert d["loans"] == 20 and d["as_of"] == "2026-11-30"


def test_empty_book(cfg):
    r = analyse_risk(book([]), 1000.0, AS_OF, cfg)
    assert r.expected_loss == 0 and r.p_exceed_fund == 0 and r.borrowers.empty


# -- config -----------------------------------------------------------------------------------

def _model_with(tmp_path, text: str):
    base = (load_model().path).read_text(encoding="utf-8")
    start = base.index("\n[risk]\n") + 1
    p = tmp_path / "m.toml"
    p.write_text(base[:start] + text, encoding="utf-8")
    return load_model(p)


@pytest.mark.parametrize("text,key", [
    ('[risk]\npd = { "AAA" = 0.005, "AA" = 0.01, "A" = 1.5, "BBB" = 0.04, "BB" = 0.08, "B" = 0.15 }\n', "risk.pd.A"),
    ('[risk]\npd = { "AAA" = 0.005, "AA" = 0.01, "A" = 0.02, "BBB" = 0.04, "BB" = 0.08 }\n', "risk.pd.B"),
    ('[risk]\npd = { "AAA" = 0.005, "AA" = 0.01, "A" = 0.02, "BBB" = 0.04, "BB" = 0.08, "B" = 0.1, "C" = 0.3 }\n',
     "risk.pd.C"),
    ('[risk]\nlgd = 1.2\npd = { "AAA" = 0.005, "AA" = 0.01, "A" = 0.02, "BBB" = 0.04, "BB" = 0.08, "B" = 0.15 }\n',
     "risk.lgd"),
    ('[risk]\nrho = "vasicek"\npd = { "AAA" = 0.005, "AA" = 0.01, "A" = 0.02, "BBB" = 0.04, "BB" = 0.08, "B" = 0.15 }\n',
     "risk.rho"),
    ('[risk]\nlgdd = 0.4\npd = { "AAA" = 0.005, "AA" = 0.01, "A" = 0.02, "BBB" = 0.04, "BB" = 0.08, "B" = 0.15 }\n',
     "risk.lgdd"),
    ('[risk]\npd = { "AAA" = 0.005, "AA" = 0.01, "A" = 0.02, "BBB" = 0.04, "BB" = 0.08, "B" = 0.15 }\n'
     '[[risk.scenarios]]\nname = "x"\npd_multiplyer = 2\n', "risk.scenarios[0].pd_multiplyer"),
])
def test_config_errors_name_the_key(tmp_path, text, key):
    model = _model_with(tmp_path, text)
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        risk_config(model)


def test_pd_table_is_the_documented_table():
    table = pd_table(load_model())
    assert table == {"AAA": 0.005, "AA": 0.01, "A": 0.02, "BBB": 0.04, "BB": 0.08, "B": 0.15}
    assert all(0 < v < 1 for v in table.values())
    assert ndtri(table["A"]) < 0


def test_a_model_without_a_risk_section_is_a_config_error(tmp_path):
    model = _model_with(tmp_path, "")
    with pytest.raises(ConfigError, match=r"risk: missing"):
        risk_config(model)
    assert pd_table(model) == {}


# -- sub-sector factors ---------------------------------------------------------------------------

def _sector_book(n=60, seed=21):
    rng = np.random.default_rng(seed)
    loss = rng.uniform(2, 150, n) * 0.45
    pd = rng.choice([0.005, 0.01, 0.02, 0.04, 0.08], n)
    rho = rng.uniform(0.08, 0.24, n)
    sector = list(rng.choice(["模具", "注塑", "五金"], n))
    sector[0] = sector[1] = None  # borrowers without a sub-sector load on the common factor only
    return loss, pd, rho, sector


def test_one_sub_sector_is_the_one_factor_model():
    # sqrt(1 - s) Z + sqrt(s) S is itself a standard normal: one sub-sector changes nothing
    loss, pd, rho, _ = _sector_book()
    one = loss_distribution(loss, pd, rho, cover=600)
    same = loss_distribution(loss, pd, rho, cover=600, unit=one.unit, sector=["模具"] * len(loss), sector_share=0.5)
    m = min(one.cells, same.cells)
    assert np.abs(one.pmf[:m] - same.pmf[:m]).max() < 1e-8
    assert same.sd() == pytest.approx(one.sd(), rel=1e-9)
    assert same.var(0.99) == one.var(0.99) and same.es(0.99) == pytest.approx(one.es(0.99), rel=1e-7)


def test_sub_sector_factors_agree_with_monte_carlo_and_contributions_add_up():
    loss, pd, rho, sector = _sector_book()
    d = loss_distribution(loss, pd, rho, cover=600, sector=sector, sector_share=0.5)
    assert d.sectors is not None and len(d.sectors.groups) == 3 and list(d.sectors.alone) == [0, 1]
    grid = d.k * d.unit
    assert d.mean() == pytest.approx(float(pd @ grid), rel=1e-11)
    for threshold in (150.0, 300.0):
        mc = monte_carlo(grid, pd, rho, threshold, 30_000, seed=77, sector=sector, sector_share=0.5)
        assert mc.ci[0] <= d.p_exceed(threshold) <= mc.ci[1], (threshold, d.p_exceed(threshold), mc)
    draws = simulate_losses(grid, pd, rho, 30_000, 78, sector=sector, sector_share=0.5)
    assert float(draws.std()) == pytest.approx(d.sd(), rel=0.03)
    for a in ALPHAS:
        c, _ = d.contributions(a)
        assert c.sum() == pytest.approx(d.es(a), rel=1e-8)
    # spreading the book over sub-sectors lowers the correlation between them: a thinner tail
    assert d.var(0.999) < loss_distribution(loss, pd, rho, cover=600).var(0.999)


def test_sector_share_from_config(cfg):
    import dataclasses

    loans = random_book(45, seed=15)
    with_sectors = dataclasses.replace(cfg, sector_share=0.4)
    r = analyse_risk(loans, 600.0, AS_OF, with_sectors, check_mc=20_000)
    assert r.dist.sectors is not None and "sub-sector factors" in r.method and r.sector_share == 0.4
    from cluster_credit_cli.pool.risk_report import summary_lines

    assert any(line.startswith("细分行业因子：3 个细分行业") for line in summary_lines(r, "zh"))
    assert r.expected_loss == pytest.approx(analyse_risk(loans, 600.0, AS_OF, cfg).expected_loss, rel=1e-13)
    assert r.monte_carlo.ci[0] <= r.p_exceed_fund <= r.monte_carlo.ci[1]
    assert r.borrowers["es_contribution"].sum() == pytest.approx(r.es[0.99], rel=1e-8)


def test_exceedance_at_the_top_of_a_cut_grid_is_the_overflow():
    rng = np.random.default_rng(31)
    d = loss_distribution(rng.uniform(5, 50, 300), rng.uniform(0.01, 0.2, 300), 0.3, cells=256)
    assert not d.full_support and d.p_over > 0
    assert d.p_exceed(d.top) == d.p_over
    with pytest.raises(ValueError, match="beyond the loss grid"):
        d.p_exceed(d.top + 2 * d.unit)
