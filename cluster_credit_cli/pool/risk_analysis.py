"""``pool risk``: from the loan book to the loss distribution, the fund question and the scenarios.

``borrower_inputs`` turns the outstanding loans (Book.loans) into one row per borrower (a default
is a borrower's event: all its loans go together): EAD = outstanding + undrawn quota x CCF, the
grade at rating, PD over the horizon (table, or the register's history shrunk towards it), LGD
and the asset correlation. ``analyse_risk`` computes everything ``pool risk`` reports and
returns it as data (``RiskResult.as_dict()`` is the JSON).
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from cluster_credit_cli.pool.risk import ALPHAS, LossDistribution, loss_distribution, monte_carlo
from cluster_credit_cli.pool.risk_config import RiskConfig, Scenario, basel_rho, horizon_pd
from cluster_credit_cli.problems import UsageError

CLOSED_STATUSES = {"结清", "代偿"}


def add_months(day: _dt.date, months: int) -> _dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return _dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(f) else f


def in_default(loans: pd.DataFrame, cfg: RiskConfig) -> pd.Series:
    """Rows in default by the [risk] definition: more than default_dpd days past due, paid by the
    pool (代偿), or classified in default_classes."""
    dpd = pd.to_numeric(loans["dpd"], errors="coerce").fillna(0)
    return (dpd > cfg.default_dpd) | (loans["status"] == "代偿") | loans["classification"].isin(cfg.default_classes)


# -- PD from the register's history --------------------------------------------------------------

@dataclass
class PdEstimate:
    grade: str
    table: float  # the table's PD over the horizon
    loans: int  # rated loans with a known outcome over the horizon
    defaults: int
    used: float  # the PD used
    source: str  # "table" | "history" | "override"

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def estimate_pd(history: pd.DataFrame | None, cfg: RiskConfig, as_of: _dt.date, horizon: int,
                overrides: dict[str, float] | None = None) -> dict[str, PdEstimate]:
    """PD per grade over ``horizon`` months.

    A loan counts once, from the first snapshot where it is outstanding, rated and not in default
    (its cohort date t0), when its outcome over (t0, t0 + horizon] is known: it defaulted in a
    snapshot of that window, or the register has a snapshot on or after t0 + horizon (and on or
    before ``as_of``). With at least ``min_rated_loans`` such loans, the grade's PD is the posterior
    mean under a beta prior centred on the table with the weight of ``prior_strength`` loans:
    (defaults + m x table) / (loans + m). ``overrides`` (from --pd, annual) replace both.
    """
    overrides = overrides or {}
    table_h = {g: float(horizon_pd(p, horizon)) for g, p in cfg.pd.items()}
    counts = {g: [0, 0] for g in cfg.pd}
    if history is not None and len(history):
        h = history[history["snapshot_as_of"] <= as_of]
        h = h.assign(_bad=in_default(h, cfg).to_numpy())
        last_snapshot = h["snapshot_as_of"].max() if len(h) else None
        # one pass over plain lists (a register holds snapshots x loans rows; pandas per group is slow)
        h = h.sort_values(["loan_no", "snapshot_as_of"], kind="stable")
        cols = zip(h["loan_no"].tolist(), h["snapshot_as_of"].tolist(), h["_bad"].tolist(), h["grade"].tolist(),
                   h["status"].tolist())
        per_loan: dict[Any, list[tuple]] = {}
        for loan_no, day, bad, grade, status in cols:
            per_loan.setdefault(loan_no, []).append((day, bad, grade, status))
        for rows in per_loan.values():
            start = next((r for r in rows if not r[1] and isinstance(r[2], str) and r[2]
                          and r[3] not in CLOSED_STATUSES), None)
            if start is None or start[2] not in counts:
                continue
            t0, grade = start[0], start[2]
            end_day = add_months(t0, horizon)
            if any(bad for day, bad, _g, _s in rows if t0 < day <= end_day):
                counts[grade][0] += 1
                counts[grade][1] += 1
            elif last_snapshot is not None and last_snapshot >= end_day:
                counts[grade][0] += 1
    out: dict[str, PdEstimate] = {}
    for g, base in table_h.items():
        n, d = counts[g]
        if g in overrides:
            out[g] = PdEstimate(g, base, n, d, float(horizon_pd(overrides[g], horizon)), "override")
        elif n >= cfg.min_rated_loans:
            m = cfg.prior_strength
            out[g] = PdEstimate(g, base, n, d, (d + m * base) / (n + m), "history")
        else:
            out[g] = PdEstimate(g, base, n, d, base, "table")
    return out


# -- LGD from the recoveries -------------------------------------------------------------------

@dataclass
class LgdEstimate:
    used: float
    source: str  # "config" | "history" | "override"
    closed_cases: int
    paid: float
    recovered: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def estimate_lgd(history: pd.DataFrame | None, loans: pd.DataFrame, cfg: RiskConfig, as_of: _dt.date,
                 override: float | None = None) -> LgdEstimate:
    """LGD = 1 - recovered / paid over the closed cases (guarantees paid at least recovery_months
    before as_of; each loan's latest figures), once there are min_closed_cases of them."""
    frame = history if history is not None and len(history) else loans.assign(snapshot_as_of=as_of)
    frame = frame[frame["snapshot_as_of"] <= as_of]
    frame = frame[pd.to_numeric(frame["paid_amount"], errors="coerce").fillna(0) > 0]
    latest = frame.sort_values("snapshot_as_of").groupby("loan_no", sort=False).tail(1)
    cutoff = add_months(as_of, -cfg.recovery_months)
    mask = np.array([d is not None and not pd.isna(d) and d <= cutoff for d in latest["paid_date"]], dtype=bool)
    closed = latest[mask]
    paid = float(pd.to_numeric(closed["paid_amount"], errors="coerce").fillna(0).sum())
    recovered = float(pd.to_numeric(closed["recovered_amount"], errors="coerce").fillna(0).sum())
    n = len(closed)
    if override is not None:
        return LgdEstimate(float(override), "override", n, paid, recovered)
    if n >= cfg.min_closed_cases and paid > 0:
        return LgdEstimate(min(max(1 - recovered / paid, 0.0), 1.0), "history", n, paid, recovered)
    return LgdEstimate(cfg.lgd, "config", n, paid, recovered)


# -- borrowers ---------------------------------------------------------------------------------

BORROWER_COLUMNS = ["code", "name", "grade", "sector", "loans", "outstanding", "undrawn", "ead", "pd", "lgd", "rho",
                    "in_default"]


def borrower_inputs(loans: pd.DataFrame, cfg: RiskConfig, pds: dict[str, PdEstimate], lgd: float, *,
                    ccf: float, rho: float | None = None) -> tuple[pd.DataFrame, list[str]]:
    """One row per borrower of the outstanding book, and notes on what was assumed.

    Outstanding loans: status not 结清/代偿 and a positive balance. EAD = outstanding + undrawn x CCF,
    undrawn = max(quota at the latest disbursement - contract amounts outstanding, 0). The grade and
    sub-sector are those of the borrower's latest disbursement. PD 1 for a borrower in default.
    """
    notes: list[str] = []
    if loans is None or loans.empty:
        return pd.DataFrame(columns=BORROWER_COLUMNS), notes
    live = loans[~loans["status"].isin(CLOSED_STATUSES)].copy()
    live["outstanding"] = pd.to_numeric(live["outstanding"], errors="coerce").fillna(0.0)
    live = live[live["outstanding"] > 0]
    if live.empty:
        return pd.DataFrame(columns=BORROWER_COLUMNS), notes
    live["_bad"] = in_default(live, cfg).to_numpy()
    live["_order"] = live["disbursed"].map(lambda d: d if d is not None and not pd.isna(d) else _dt.date.min)
    worst = max(cfg.pd, key=lambda g: cfg.pd[g])
    rows = []
    for code, g in live.sort_values("_order").groupby("code", sort=False):
        last = g.iloc[-1]
        outstanding = float(g["outstanding"].sum())
        drawn = float(pd.to_numeric(g["contract_amount"], errors="coerce").fillna(g["outstanding"]).sum())
        quota = _num(last["quota"])
        undrawn = max(quota - drawn, 0.0)
        grade = last["grade"] if isinstance(last["grade"], str) and last["grade"] else None
        sectors = [s for s in g["sector"] if isinstance(s, str) and s]
        sector = sectors[-1] if sectors else None
        bad = bool(g["_bad"].any())
        if bad:
            p = 1.0
        elif grade in pds:
            p = pds[grade].used
        else:
            annual = cfg.pd_unrated if cfg.pd_unrated is not None else cfg.pd[worst]
            p = float(horizon_pd(annual, cfg.horizon_months))
            notes.append(f"unrated:{code}")
        if rho is not None:
            r = rho
        elif sector is not None and sector in cfg.sector_rho:
            r = cfg.sector_rho[sector]
        elif cfg.rho == "basel":
            # Basel's formula takes the one-year PD (it does not matter for a borrower in default)
            annual = p if bad else 1 - (1 - p) ** (12 / cfg.horizon_months)
            r = float(basel_rho(annual, cfg.sme_turnover_eur_m))
        else:
            r = float(cfg.rho)
        if bad:
            undrawn = 0.0  # a line is frozen once its borrower is in default
        rows.append([code, last["name"], grade, sector, len(g), outstanding, undrawn, outstanding + undrawn * ccf,
                     p, lgd, r, bad])
    return pd.DataFrame(rows, columns=BORROWER_COLUMNS), notes


# -- the analysis ------------------------------------------------------------------------------

@dataclass
class ScenarioResult:
    name: str
    name_en: str
    expected_loss: float
    p_exceed_fund: float
    var99: float
    es99: float
    detail: str
    detail_zh: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "name_en": self.name_en, "expected_loss": self.expected_loss,
                "p_exceed_fund": self.p_exceed_fund, "var_0.99": self.var99, "es_0.99": self.es99,
                "detail": self.detail}


@dataclass
class RiskResult:
    as_of: _dt.date
    horizon_months: int
    fund_balance: float
    borrowers: pd.DataFrame  # BORROWER_COLUMNS + el, es_contribution, loss_on_grid
    dist: LossDistribution | None
    expected_loss: float
    sd: float
    var: dict[float, float]
    es: dict[float, float]
    p_exceed_fund: float
    fund_for: dict[float, float]
    pds: dict[str, PdEstimate]
    lgd: LgdEstimate
    ccf: float
    rho_text: str
    scenarios: list[ScenarioResult]
    monte_carlo: Any = None
    guarantee_share: float = 1.0
    grid_mean: float = 0.0
    contribution_error: float = 0.0
    notes: list[str] = field(default_factory=list)
    unit: str = "万元"
    loans: int = 0
    sector_share: float = 0.0

    @property
    def method(self) -> str:
        d = self.dist
        nodes = 0 if d is None else len(d.z)
        order = 0 if d is None else d.order
        cells = 0 if d is None else d.cells
        kind = ("one-factor Gaussian copula (Vasicek)" if d is None or d.sectors is None else
                f"Gaussian copula with a common factor and {len(d.sectors.groups)} sub-sector factors "
                f"({len(d.sectors.v)} Gauss-Hermite nodes each)")
        return (f"{kind}, Gauss-Hermite quadrature over the common factor (order {order}, "
                f"{nodes} nodes weighing over 1e-18), exact recursive convolution on a loss grid ({cells} cells)")

    def as_dict(self) -> dict[str, Any]:
        b = self.borrowers
        out: dict[str, Any] = {
            "as_of": self.as_of.isoformat(), "horizon_months": self.horizon_months, "method": self.method,
            "loans": self.loans, "borrowers": int(len(b)), "unit": self.unit,
            "expected_loss": self.expected_loss, "sd": self.sd,
            "var": {f"{a:g}": v for a, v in self.var.items()},
            "es": {f"{a:g}": v for a, v in self.es.items()},
            "fund_balance": self.fund_balance, "guarantee_share": self.guarantee_share,
            "p_exceed_fund": self.p_exceed_fund,
            "fund_for": {f"{a:g}": v for a, v in self.fund_for.items()},
            "contributions": [
                {"code": r.code, "name": r.name, "grade": r.grade, "sector": r.sector, "ead": r.ead, "pd": r.pd,
                 "lgd": r.lgd, "rho": r.rho, "el": r.el, "es_contribution": r.es_contribution}
                for r in b.itertuples()],
            "scenarios": [s.as_dict() for s in self.scenarios],
            "parameters": {
                "pd": {g: e.as_dict() for g, e in self.pds.items()}, "lgd": self.lgd.as_dict(), "ccf": self.ccf,
                "rho": self.rho_text, "sector_share": self.sector_share, "es_contributions_at": 0.99,
            },
            "grid": None if self.dist is None else {
                "unit": self.dist.unit, "cells": self.dist.cells, "nodes": int(len(self.dist.z)),
                "quadrature_order": self.dist.order,
                "mean_on_grid": self.grid_mean, "overflow_probability": self.dist.p_over,
                "contribution_error_bound": self.contribution_error},
        }
        if self.monte_carlo is not None:
            mc = self.monte_carlo
            out["monte_carlo"] = {"n": mc.n, "seed": mc.seed, "p_exceed_fund": mc.p_exceed, "ci": list(mc.ci),
                                  "ci_level": 0.99, "expected_loss": mc.mean, "expected_loss_ci": list(mc.mean_ci)}
        return out


def _scenario_arrays(s: Scenario, b: pd.DataFrame, cfg: RiskConfig, lgd_used: float) -> tuple[np.ndarray, ...]:
    pd_ = b["pd"].to_numpy(float).copy()
    bad = b["in_default"].to_numpy(bool)
    rho = b["rho"].to_numpy(float).copy()
    lgd = b["lgd"].to_numpy(float).copy()
    pd_ = np.where(bad, 1.0, np.minimum(pd_ * s.pd_multiplier, 1.0))
    if s.sector_pd_multiplier != 1.0:
        sector = s.sector or largest_sector(b)
        mask = (b["sector"] == sector).to_numpy() & ~bad
        pd_[mask] = np.minimum(pd_[mask] * s.sector_pd_multiplier, 1.0)
    if s.rho is not None:
        rho[:] = s.rho
    rho = np.clip(rho + s.rho_add, 0.0, 0.999)
    if s.lgd is not None:
        lgd[:] = s.lgd
    return pd_, rho, lgd


def largest_sector(b: pd.DataFrame) -> str | None:
    known = b[b["sector"].notna()]
    if known.empty:
        return None
    return str(known.groupby("sector")["ead"].sum().idxmax())


def analyse_risk(loans: pd.DataFrame, fund_balance: float, as_of: _dt.date, cfg: RiskConfig, *,
                 history: pd.DataFrame | None = None, horizon: int | None = None,
                 pd_overrides: dict[str, float] | None = None, lgd: float | None = None, rho: float | None = None,
                 ccf: float | None = None, check_mc: int = 0, unit: str = "万元") -> RiskResult:
    """The loss distribution of the outstanding book and everything ``pool risk`` reports."""
    horizon = int(horizon or cfg.horizon_months)
    if horizon != cfg.horizon_months:
        cfg = replace(cfg, horizon_months=horizon)
    for g in pd_overrides or {}:
        if g not in cfg.pd:
            raise UsageError(f"--pd {g}=...: {g} is not a grade of the model ({', '.join(cfg.pd)})")
    pds = estimate_pd(history, cfg, as_of, horizon, pd_overrides)
    lgd_e = estimate_lgd(history, loans, cfg, as_of, lgd)
    ccf_used = cfg.ccf if ccf is None else float(ccf)
    b, notes = borrower_inputs(loans, cfg, pds, lgd_e.used, ccf=ccf_used, rho=rho)
    rho_text = (f"{rho:g} (--rho)" if rho is not None else
                f"{cfg.rho:g}" if cfg.rho != "basel" else
                f"Basel corporate formula with the SME adjustment (sales {cfg.sme_turnover_eur_m:g} m EUR)")
    if cfg.sector_rho and rho is None:
        rho_text += "; per sub-sector: " + ", ".join(f"{k} {v:g}" for k, v in cfg.sector_rho.items())
    if cfg.sector_share > 0:
        rho_text += (f"; sub-sector factors carry {cfg.sector_share:.0%} of it (firms of different sub-sectors "
                     f"correlate at {1 - cfg.sector_share:.0%} of rho)")
    share = cfg.guarantee_share
    n_loans = 0 if loans is None else int((~loans["status"].isin(CLOSED_STATUSES)
                                          & (pd.to_numeric(loans["outstanding"], errors="coerce").fillna(0) > 0)).sum())
    if b.empty:
        b = b.assign(el=[], es_contribution=[])
        zero = {a: 0.0 for a in ALPHAS}
        return RiskResult(as_of, horizon, fund_balance, b, None, 0.0, 0.0, zero, dict(zero), 0.0,
                          {t: 0.0 for t in cfg.targets}, pds, lgd_e, ccf_used, rho_text, [], None, share,
                          0.0, 0.0, notes + ["empty"], unit, n_loans)
    ead = b["ead"].to_numpy(float)
    loss = ead * b["lgd"].to_numpy(float) * share
    p = b["pd"].to_numpy(float)
    r = b["rho"].to_numpy(float)
    cover = max(fund_balance, 0.0)
    sectors = dict(sector=list(b["sector"]), sector_share=cfg.sector_share, sector_nodes=cfg.sector_nodes) \
        if cfg.sector_share > 0 else {}
    dist = loss_distribution(loss, p, r, nodes=cfg.nodes, cells=cfg.grid_cells, cover=cover, **sectors)
    var = {a: dist.var(a) for a in ALPHAS}
    es = {a: dist.es(a) for a in ALPHAS}
    contrib, err = dist.contributions(0.99)
    b = b.assign(el=p * loss, es_contribution=contrib, loss_on_grid=dist.k * dist.unit)
    fund_for = {t: dist.var(t) for t in cfg.targets}
    scen = []
    for s in cfg.scenarios:
        sp, sr, sl = _scenario_arrays(s, b, cfg, lgd_e.used)
        sloss = ead * sl * share
        d2 = loss_distribution(sloss, sp, sr, nodes=cfg.nodes, cells=cfg.grid_cells, cover=cover, **sectors)
        detail, detail_zh = [], []
        if s.pd_multiplier != 1:
            detail.append(f"PD x {s.pd_multiplier:g}")
            detail_zh.append(f"违约概率 ×{s.pd_multiplier:g}")
        if s.sector_pd_multiplier != 1:
            sector = s.sector or largest_sector(b)
            detail.append(f"PD x {s.sector_pd_multiplier:g} in {sector}" if sector else
                          "no sub-sector in the book: no change")
            detail_zh.append(f"{sector} 违约概率 ×{s.sector_pd_multiplier:g}" if sector else "账中无细分行业：无变化")
        if s.rho is not None:
            detail.append(f"rho = {s.rho:g}")
            detail_zh.append(f"相关性 = {s.rho:g}")
        if s.rho_add:
            detail.append(f"rho {s.rho_add:+g}")
            detail_zh.append(f"相关性 {s.rho_add:+g}")
        if s.lgd is not None:
            detail.append(f"LGD {s.lgd:g}")
            detail_zh.append(f"违约损失率 {s.lgd:g}")
        scen.append(ScenarioResult(s.name, s.name_en, float(sp @ sloss), d2.p_exceed(cover), d2.var(0.99),
                                   d2.es(0.99), "; ".join(detail), "；".join(detail_zh)))
    mc = None
    if check_mc:
        mc = monte_carlo(dist.k * dist.unit, p, r, cover, int(check_mc), cfg.mc_seed,
                         sector=sectors.get("sector"), sector_share=cfg.sector_share)
    # largest contributions first (after the scenarios, which use the arrays in the book's order)
    b = b.sort_values(["es_contribution", "ead"], ascending=False, kind="stable").reset_index(drop=True)
    return RiskResult(as_of=as_of, horizon_months=horizon, fund_balance=fund_balance, borrowers=b, dist=dist,
                      expected_loss=float(p @ loss), sd=dist.sd(), var=var, es=es,
                      p_exceed_fund=dist.p_exceed(cover), fund_for=fund_for, pds=pds, lgd=lgd_e, ccf=ccf_used,
                      rho_text=rho_text, scenarios=scen, monte_carlo=mc, guarantee_share=share,
                      grid_mean=dist.mean(), contribution_error=err, notes=notes, unit=unit, loans=n_loans,
                      sector_share=cfg.sector_share if dist.sectors is not None else 0.0)
