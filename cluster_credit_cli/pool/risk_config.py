"""The ``[risk]`` section of the model: PD per grade, LGD, conversion factor, correlation, scenarios.

Parsed and validated here; errors name the key (``model.toml: risk.pd.A: must be a probability
between 0 and 1``). ``pd_table(model)`` is the one reader of the PD-per-grade table: other wings
(validation) import it rather than reading ``[risk].pd`` themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cluster_credit_cli.model.config import Model, unknown_key
from cluster_credit_cli.problems import ConfigError

RISK_KEYS = {"horizon_months", "nodes", "grid_cells", "lgd", "ccf", "guarantee_share", "rho", "sme_turnover_eur_m",
             "sector_rho", "targets", "default_dpd", "default_classes", "recovery_months", "min_closed_cases",
             "min_rated_loans", "prior_strength", "pd", "pd_unrated", "mc_seed", "scenarios", "sector_share",
             "sector_nodes"}
SCENARIO_KEYS = {"name", "name_en", "pd_multiplier", "rho", "rho_add", "sector", "sector_pd_multiplier", "lgd"}
CLASSES = ("正常", "关注", "次级", "可疑", "损失")


@dataclass
class Scenario:
    name: str
    name_en: str = ""
    pd_multiplier: float = 1.0
    rho: float | None = None
    rho_add: float = 0.0
    sector: str | None = None  # None with sector_pd_multiplier: the sector with the largest exposure
    sector_pd_multiplier: float = 1.0
    lgd: float | None = None

    def label(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name


@dataclass
class RiskConfig:
    pd: dict[str, float]  # annual PD per grade (the documented table)
    horizon_months: int = 12
    nodes: int = 50
    grid_cells: int = 4096
    lgd: float = 0.45
    ccf: float = 0.5
    guarantee_share: float = 1.0
    rho: float | str = "basel"  # a number, or "basel": the Basel corporate formula with the SME adjustment
    sme_turnover_eur_m: float = 5.0
    sector_rho: dict[str, float] = field(default_factory=dict)
    sector_share: float = 0.0  # part of the correlation that is the sub-sector's own factor (0: one factor)
    sector_nodes: int = 12
    targets: list[float] = field(default_factory=lambda: [0.99])
    default_dpd: int = 90
    default_classes: tuple[str, ...] = ("次级", "可疑", "损失")
    recovery_months: int = 24
    min_closed_cases: int = 10
    min_rated_loans: int = 30
    prior_strength: float = 50.0
    pd_unrated: float | None = None  # None: the worst grade's PD
    mc_seed: int = 20240601
    scenarios: list[Scenario] = field(default_factory=list)


def _fail(key: str, message: str) -> None:
    raise ConfigError(f"model.toml: {key}: {message}")


def _number(table: dict, key: str, where: str, default: Any, lo: float, hi: float, *, integer: bool = False,
            open_lo: bool = False, open_hi: bool = False) -> Any:
    if key not in table:
        return default
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)) \
            or isinstance(v, float) and not math.isfinite(v):
        _fail(f"{where}.{key}", f"must be {'a whole number' if integer else 'a number'}, got {v!r}")
    if v < lo or v > hi or (open_lo and v == lo) or (open_hi and v == hi):
        _fail(f"{where}.{key}", f"must be between {lo:g} and {hi:g}{' (exclusive)' if open_lo or open_hi else ''}, "
                                f"got {v!r}")
    return v


def pd_table(model: Model) -> dict[str, float]:
    """The annual probability of default per grade, from ``[risk].pd`` of the model (checked: every
    grade of the model has one, each strictly between 0 and 1). Empty when the model has none."""
    risk = model.raw.get("risk") or {}
    if not isinstance(risk, dict):
        _fail("risk", "must be a table ([risk])")
    table = risk.get("pd")
    if table is None:
        return {}
    if not isinstance(table, dict):
        _fail("risk.pd", "must be a table of grade = PD, e.g. { AAA = 0.005 }")
    grades = model.grade_labels()
    out: dict[str, float] = {}
    for grade, value in table.items():
        if grade not in grades:
            _fail(f"risk.pd.{grade}", f"not a grade of the model ({', '.join(grades)})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            _fail(f"risk.pd.{grade}", f"must be a probability between 0 and 1 (exclusive), got {value!r}")
        out[str(grade)] = float(value)
    missing = [g for g in grades if g not in out]
    if missing:
        _fail(f"risk.pd.{missing[0]}", "missing: every grade of the model needs a PD")
    return out


def risk_config(model: Model) -> RiskConfig:
    """Parse and validate ``[risk]`` of a loaded model."""
    raw = model.raw.get("risk")
    if raw is None:
        _fail("risk", "missing: the pool's risk needs a [risk] section with a PD per grade ([risk.pd])")
    if not isinstance(raw, dict):
        _fail("risk", "must be a table ([risk])")
    if bad := unknown_key(raw, RISK_KEYS):
        _fail(f"risk.{bad[0]}", bad[1])
    pds = pd_table(model)
    if not pds:
        _fail("risk.pd", "missing: a table of annual PD per grade")
    w = "risk"
    cfg = RiskConfig(pd=pds)
    cfg.horizon_months = _number(raw, "horizon_months", w, 12, 1, 120, integer=True)
    cfg.nodes = _number(raw, "nodes", w, 50, 1, 200, integer=True)
    cfg.grid_cells = _number(raw, "grid_cells", w, 4096, 64, 1 << 18, integer=True)
    cfg.lgd = float(_number(raw, "lgd", w, 0.45, 0, 1))
    cfg.ccf = float(_number(raw, "ccf", w, 0.5, 0, 1))
    cfg.guarantee_share = float(_number(raw, "guarantee_share", w, 1.0, 0, 1, open_lo=True))
    rho = raw.get("rho", "basel")
    if isinstance(rho, str):
        if rho != "basel":
            _fail("risk.rho", f"must be a number in [0, 1) or \"basel\", got {rho!r}")
        cfg.rho = "basel"
    else:
        cfg.rho = float(_number(raw, "rho", w, 0.0, 0, 1, open_hi=True))
    cfg.sme_turnover_eur_m = float(_number(raw, "sme_turnover_eur_m", w, 5.0, 0, 1e9))
    sr = raw.get("sector_rho", {})
    if not isinstance(sr, dict):
        _fail("risk.sector_rho", "must be a table of sub-sector = correlation")
    cfg.sector_rho = {str(s): float(_number(sr, s, "risk.sector_rho", 0.0, 0, 1, open_hi=True)) for s in sr}
    cfg.sector_share = float(_number(raw, "sector_share", w, 0.0, 0, 1, open_hi=True))
    cfg.sector_nodes = _number(raw, "sector_nodes", w, 12, 2, 100, integer=True)
    targets = raw.get("targets", [0.99])
    if not isinstance(targets, list) or not targets or any(
            isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < 1 for t in targets):
        _fail("risk.targets", f"must be a list of probabilities such as [0.99], got {targets!r}")
    cfg.targets = [float(t) for t in targets]
    cfg.default_dpd = _number(raw, "default_dpd", w, 90, 0, 3650, integer=True)
    classes = raw.get("default_classes", list(cfg.default_classes))
    if not isinstance(classes, list) or any(c not in CLASSES for c in classes):
        _fail("risk.default_classes", f"must be a list of five-category classes among {'/'.join(CLASSES)}")
    cfg.default_classes = tuple(classes)
    cfg.recovery_months = _number(raw, "recovery_months", w, 24, 0, 240, integer=True)
    cfg.min_closed_cases = _number(raw, "min_closed_cases", w, 10, 1, 1_000_000, integer=True)
    cfg.min_rated_loans = _number(raw, "min_rated_loans", w, 30, 1, 1_000_000, integer=True)
    cfg.prior_strength = float(_number(raw, "prior_strength", w, 50.0, 0, 1e9, open_lo=True))
    if "pd_unrated" in raw:
        cfg.pd_unrated = float(_number(raw, "pd_unrated", w, None, 0, 1, open_lo=True))
    cfg.mc_seed = _number(raw, "mc_seed", w, 20240601, 0, 2**63 - 1, integer=True)
    scen = raw.get("scenarios", [])
    if not isinstance(scen, list):
        _fail("risk.scenarios", "must be a list of tables ([[risk.scenarios]])")
    for i, item in enumerate(scen):
        where = f"risk.scenarios[{i}]"
        if not isinstance(item, dict):
            _fail(where, "must be a table")
        if bad := unknown_key(item, SCENARIO_KEYS):
            _fail(f"{where}.{bad[0]}", bad[1])
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            _fail(f"{where}.name", "missing")
        sector = item.get("sector")
        if sector is not None and not isinstance(sector, str):
            _fail(f"{where}.sector", "must be the name of a sub-sector")
        s = Scenario(
            name=name, name_en=str(item.get("name_en", "")),
            pd_multiplier=float(_number(item, "pd_multiplier", where, 1.0, 0, 1000)),
            rho=None if "rho" not in item else float(_number(item, "rho", where, 0.0, 0, 1, open_hi=True)),
            rho_add=float(_number(item, "rho_add", where, 0.0, -1, 1)),
            sector=sector or None,
            sector_pd_multiplier=float(_number(item, "sector_pd_multiplier", where, 1.0, 0, 1000)),
            lgd=None if "lgd" not in item else float(_number(item, "lgd", where, 0.0, 0, 1)))
        cfg.scenarios.append(s)
    return cfg


def basel_rho(pd, turnover_eur_m: float = 5.0):
    """Basel II/III IRB asset correlation for corporate exposures with the SME firm-size adjustment
    (CRE31.10-31.11): 0.12 w + 0.24 (1 - w), w = (1 - e^(-50 PD)) / (1 - e^(-50)), minus
    0.04 (1 - (S - 5) / 45) for annual sales S in million EUR, S clamped to [5, 50]."""
    import numpy as np

    pd = np.asarray(pd, float)
    wgt = (1 - np.exp(-50 * pd)) / (1 - math.exp(-50))
    s = min(max(float(turnover_eur_m), 5.0), 50.0)
    return 0.12 * wgt + 0.24 * (1 - wgt) - 0.04 * (1 - (s - 5) / 45)


def horizon_pd(annual, months: int):
    """A 12-month PD carried to another horizon at a constant hazard: 1 - (1 - PD)^(months / 12)."""
    import numpy as np

    annual = np.asarray(annual, float)
    if months == 12:
        return annual  # exactly the table's figure, no rounding noise
    return 1 - np.power(1 - annual, months / 12.0)
