"""The ``[validation]`` section of the model config: default definition, horizon, thresholds.

Parsed and checked here (errors name the key, e.g. ``validation.p_red: must be between 0 and 1``).
The PD table per grade is read by ``pd_table``: ``[risk].pd`` (issue 17's section, when the model
has it) wins over ``[validation].pd``; one function so the two can be unified in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cluster_credit_cli.model.config import Model, unknown_key
from cluster_credit_cli.problems import ConfigError

CRITERIA = ("dpd", "paid", "class")  # days past due over the limit; paid by the pool (代偿); classified bad
CLASSES = ("正常", "关注", "次级", "可疑", "损失")
LIGHT_TESTS = ("jeffreys", "binomial")


@dataclass
class Settings:
    horizon_months: int = 12
    definition: tuple[str, ...] = CRITERIA
    dpd_days: int = 90
    classes: tuple[str, ...] = ("次级", "可疑", "损失")
    light_test: str = "jeffreys"
    p_yellow: float = 0.05
    p_red: float = 0.01
    auc_yellow: float = 0.70
    auc_red: float = 0.60
    psi_yellow: float = 0.10
    psi_red: float = 0.25
    auc_half_width: float = 0.10
    pd: dict[str, float] = field(default_factory=dict)
    pd_source: str | None = None  # "risk.pd" | "validation.pd" | None

    def describe(self, lang: str = "zh") -> str:
        """The default definition in words, as stated in every output."""
        en = lang == "en"
        parts = []
        for c in self.definition:
            if c == "dpd":
                parts.append(f"more than {self.dpd_days} days past due" if en else f"逾期超过 {self.dpd_days} 天")
            elif c == "paid":
                parts.append("guarantee paid by the pool (代偿)" if en else "资金池代偿")
            elif c == "class":
                parts.append(("classified " if en else "五级分类为") + "/".join(self.classes))
        return (" or ".join(parts) if en else "或".join(parts))


def _num(raw: dict, key: str, default: float, lo: float, hi: float, *, integer: bool = False) -> Any:
    if key not in raw:
        return default
    v = raw[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not isinstance(v, int)):
        raise ConfigError(f"validation.{key}: must be {'a whole number' if integer else 'a number'}, not {v!r}")
    if not lo <= v <= hi:
        raise ConfigError(f"validation.{key}: must be between {lo:g} and {hi:g}, not {v!r}")
    return v


def pd_table(model: Model) -> tuple[dict[str, float], str | None]:
    """The PD per grade and where it came from: ``[risk].pd`` first, else ``[validation].pd``.

    ``[risk].pd`` is read by the pool's own reader (``pool.risk_config.pd_table``: every grade,
    checked once for both commands); ``[validation].pd`` is for a model without a pool risk
    section, e.g. a bank validating ratings made elsewhere, and may cover some grades only.
    """
    from cluster_credit_cli.pool.risk_config import pd_table as risk_pd_table

    table = risk_pd_table(model)
    if table:
        return table, "risk.pd"
    for section in ("validation",):
        table = (model.raw.get(section) or {}).get("pd")
        if table is None:
            continue
        where = f"{section}.pd"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: must be a table of grade = PD, e.g. {{ AAA = 0.005 }}")
        out = {}
        for grade, value in table.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
                raise ConfigError(f"{where}.{grade}: must be a probability between 0 and 1 (exclusive), not {value!r}")
            out[str(grade)] = float(value)
        unknown = [g for g in out if g not in model.grade_labels()]
        if unknown:
            raise ConfigError(f"{where}.{unknown[0]}: not a grade of the model ({', '.join(model.grade_labels())})")
        return out, where
    return {}, None


KNOWN = {"horizon_months", "definition", "dpd_days", "classes", "light_test", "p_yellow", "p_red", "auc_yellow",
         "auc_red", "psi_yellow", "psi_red", "auc_half_width", "pd"}


def load_settings(model: Model) -> Settings:
    raw = model.raw.get("validation") or {}
    if not isinstance(raw, dict):
        raise ConfigError("validation: must be a table ([validation])")
    if bad := unknown_key(raw, KNOWN):
        raise ConfigError(f"validation.{bad[0]}: {bad[1]}")
    s = Settings()
    s.horizon_months = _num(raw, "horizon_months", s.horizon_months, 1, 120, integer=True)
    s.dpd_days = _num(raw, "dpd_days", s.dpd_days, 0, 3650, integer=True)
    if "definition" in raw:
        s.definition = parse_definition(raw["definition"], "validation.definition")
    if "classes" in raw:
        cl = raw["classes"]
        if not isinstance(cl, list) or not cl or any(c not in CLASSES for c in cl):
            raise ConfigError(f"validation.classes: a list of five-category classes among {'/'.join(CLASSES)}, not {cl!r}")
        s.classes = tuple(cl)
    if "light_test" in raw:
        if raw["light_test"] not in LIGHT_TESTS:
            raise ConfigError(f"validation.light_test: one of {', '.join(LIGHT_TESTS)}, not {raw['light_test']!r}")
        s.light_test = raw["light_test"]
    for k in ("p_yellow", "p_red", "auc_yellow", "auc_red", "psi_yellow", "psi_red", "auc_half_width"):
        setattr(s, k, float(_num(raw, k, getattr(s, k), 0, 1 if not k.startswith("psi") else 10)))
    if s.p_red > s.p_yellow:
        raise ConfigError("validation.p_red: must not exceed validation.p_yellow")
    if s.auc_red > s.auc_yellow:
        raise ConfigError("validation.auc_red: must not exceed validation.auc_yellow")
    if s.psi_yellow > s.psi_red:
        raise ConfigError("validation.psi_yellow: must not exceed validation.psi_red")
    s.pd, s.pd_source = pd_table(model)
    return s


def parse_definition(value: Any, where: str = "--definition") -> tuple[str, ...]:
    """``["dpd", "paid", "class"]`` or the text ``dpd,paid`` -> the criteria, checked."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ConfigError(f"{where}: a list of criteria among {', '.join(CRITERIA)}")
    out = []
    for item in items:
        c = str(item).strip().lower()
        if c not in CRITERIA:
            raise ConfigError(f"{where}: unknown criterion {item!r}; use any of {', '.join(CRITERIA)} "
                              "(dpd: days past due over the limit, paid: paid by the pool, class: 次级 or worse)")
        if c not in out:
            out.append(c)
    if not out:
        raise ConfigError(f"{where}: give at least one of {', '.join(CRITERIA)}")
    return tuple(out)
