"""The ``[pool]`` section of the model: leverage, limits, early-warning horizon and the two input
formats of the pool (the bank's loan ledger and the fund's movements).

The input formats are declared like the rating's sources (``[pool.sources.*]``, ``[pool.fields.*]``:
label, aliases, type) and read by ``inputs.reading.read_source`` through a *view* of the model
whose fields and sources are the pool's: the same reading rules (title rows, messy headers, GBK
CSV, dates as text) apply, and the rating's own discovery never sees these formats. Errors name
the key (``model.toml: pool.limits.top10_share: must be between 0 and 1``).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any

from cluster_credit_cli.model.config import FIELD_TYPES, FieldDef, Model, SourceDef, header_clashes, unknown_key
from cluster_credit_cli.problems import ConfigError
from cluster_credit_cli.text import normalize_choice

LEDGER, FUND = "ledger", "fund"
CLASSES = ["正常", "关注", "次级", "可疑", "损失"]
NPL_CLASSES = {"次级", "可疑", "损失"}
STATUSES = ["正常", "逾期", "结清", "代偿"]
FUND_KINDS = ["出资", "代偿支出", "追偿收回", "利息"]

LIMIT_KEYS = {"largest_single_share", "largest_single_amount", "top10_share", "low_grade", "low_grade_share"}
WARNING_KEYS = {"maturing_days"}
POOL_KEYS = {"unit", "unit_en", "guarantee_fund", "leverage", "limits", "warnings", "sources", "fields"}
FIELD_KEYS = {"label", "label_en", "type", "aliases", "sources", "unit", "choices", "synonyms"}
SOURCE_KEYS = {"label", "label_en", "required", "sheet"}
# The columns the pool's code needs, whatever a town renames in its config.
NEEDED_FIELDS = {LEDGER: ["loan_no", "code", "name", "contract_amount", "disbursed", "maturity", "outstanding", "dpd",
                          "classification", "status", "paid_amount", "paid_date", "recovered_amount",
                          "recovered_date", "sector"],
                 FUND: ["date", "kind", "amount", "party", "loan_no", "remark"]}


@dataclass
class PoolField(FieldDef):
    """A pool column: a rating field plus its unit, allowed values and their synonyms."""

    unit: str | None = None
    choices: list[str] = field(default_factory=list)
    synonyms: dict[str, str] = field(default_factory=dict)


@dataclass
class PoolConfig:
    unit: str
    guarantee_fund: float
    leverage: float
    limits: dict[str, Any]
    maturing_days: int
    fields: dict[str, PoolField]
    sources: dict[str, SourceDef]
    reading_model: Model  # the model seen through the pool's fields and sources (for read_source)

    def choice(self, key: str, value: Any) -> str | None:
        """A categorical answer mapped onto the field's allowed values (synonyms too); None if not one."""
        f = self.fields[key]
        norm = normalize_choice(value)
        for c in f.choices:
            if normalize_choice(c) == norm:
                return c
        for word, target in f.synonyms.items():
            if normalize_choice(word) == norm:
                return target
        return None


def _fail(where: str, message: str) -> None:
    raise ConfigError(f"model.toml: {where}: {message}")


def _share(table: dict, key: str, where: str) -> float | None:
    if key not in table:
        return None
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
        _fail(f"{where}.{key}", f"must be a fraction between 0 and 1, got {v!r}")
    return float(v)


@functools.lru_cache(maxsize=1)
def _default_pool() -> dict[str, Any]:
    import tomllib

    from cluster_credit_cli.model.config import DEFAULT_CONFIG

    try:
        return tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8-sig")).get("pool", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def pool_config(model: Model) -> PoolConfig:
    """Parse and validate ``[pool]`` of a loaded model."""
    pool = model.pool
    if bad := unknown_key(pool, POOL_KEYS):
        _fail(f"pool.{bad[0]}", bad[1])
    limits_t = pool.get("limits", {})
    if not isinstance(limits_t, dict):
        _fail("pool.limits", "expected a table")
    if bad := unknown_key(limits_t, LIMIT_KEYS):
        _fail(f"pool.limits.{bad[0]}", bad[1])
    limits: dict[str, Any] = {k: _share(limits_t, k, "pool.limits")
                              for k in ("largest_single_share", "top10_share", "low_grade_share")}
    amount = limits_t.get("largest_single_amount")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0):
        _fail("pool.limits.largest_single_amount", f"must be a non-negative amount, got {amount!r}")
    limits["largest_single_amount"] = None if amount is None else float(amount)
    low = limits_t.get("low_grade")
    if low is not None and low not in model.grade_labels():
        _fail("pool.limits.low_grade", f"{low!r} is not a grade of the model ({', '.join(model.grade_labels())})")
    if limits["low_grade_share"] is not None and low is None:
        _fail("pool.limits.low_grade", "missing: low_grade_share needs the grade it counts from")
    limits["low_grade"] = low
    warn_t = pool.get("warnings", {})
    if bad := unknown_key(warn_t, WARNING_KEYS):
        _fail(f"pool.warnings.{bad[0]}", bad[1])
    days = warn_t.get("maturing_days", 30)
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        _fail("pool.warnings.maturing_days", f"must be a whole number of days ≥ 0, got {days!r}")
    # A model without the pool's formats (an older file, one written by `model init`) reads the
    # ledger and the fund as the default model does.
    fields = _fields(pool["fields"] if "fields" in pool else _default_pool().get("fields", {}))
    sources = _sources(pool["sources"] if "sources" in pool else _default_pool().get("sources", {}), fields)
    view = dataclasses.replace(model, fields=dict(fields), sources=sources, rules={}, veto=[])
    return PoolConfig(unit=str(pool.get("unit", "万元")), guarantee_fund=float(pool.get("guarantee_fund", 0)),
                      leverage=float(pool.get("leverage", 0)), limits=limits, maturing_days=days,
                      fields=fields, sources=sources, reading_model=view)


def _fields(table: Any) -> dict[str, PoolField]:
    if not isinstance(table, dict) or not table:
        _fail("pool.fields", "missing: the columns of the loan ledger and the fund file")
    out: dict[str, PoolField] = {}
    for key, item in table.items():
        where = f"pool.fields.{key}"
        if not isinstance(item, dict):
            _fail(where, "expected a table")
        if bad := unknown_key(item, FIELD_KEYS):
            _fail(f"{where}.{bad[0]}", bad[1])
        typ = item.get("type")
        if typ not in FIELD_TYPES:
            _fail(f"{where}.type", f"unknown type {typ!r}; one of {', '.join(sorted(FIELD_TYPES))}")
        for k in ("label",):
            if not isinstance(item.get(k), str) or not item[k]:
                _fail(f"{where}.{k}", "missing")
        aliases, srcs = item.get("aliases", []), item.get("sources", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            _fail(f"{where}.aliases", "expected a list of header texts")
        if not isinstance(srcs, list) or not srcs or not all(s in (LEDGER, FUND) for s in srcs):
            _fail(f"{where}.sources", f"expected a list of {LEDGER!r} and/or {FUND!r}")
        choices = item.get("choices", [])
        synonyms = item.get("synonyms", {})
        if not isinstance(choices, list) or not isinstance(synonyms, dict):
            _fail(where, "choices must be a list and synonyms a table")
        for word, target in synonyms.items():
            if target not in choices:
                _fail(f"{where}.synonyms.{word}", f"{target!r} is not one of the choices {choices}")
        out[key] = PoolField(key, item["label"], str(item.get("label_en", "")), typ, list(aliases), list(srcs),
                             unit=item.get("unit"), choices=list(choices), synonyms=dict(synonyms))
    for src, keys in NEEDED_FIELDS.items():
        for k in keys:
            if k not in out or src not in out[k].sources:
                _fail(f"pool.fields.{k}", f"missing: the {src} needs this column (sources = [\"{src}\"])")
    for k, expected in (("classification", CLASSES), ("status", STATUSES), ("kind", FUND_KINDS)):
        if sorted(out[k].choices) != sorted(expected):
            _fail(f"pool.fields.{k}.choices", f"must be exactly {expected} (the words may get synonyms)")
    return out


def _sources(table: Any, fields: dict[str, PoolField]) -> dict[str, SourceDef]:
    out: dict[str, SourceDef] = {}
    for key in (LEDGER, FUND):
        item = table.get(key) if isinstance(table, dict) else None
        where = f"pool.sources.{key}"
        if not isinstance(item, dict):
            _fail(where, "missing")
        if bad := unknown_key(item, SOURCE_KEYS):
            _fail(f"{where}.{bad[0]}", bad[1])
        required = item.get("required", [])
        for r in required:
            if r not in fields or key not in fields[r].sources:
                _fail(f"{where}.required", f"{r!r} is not a column of the {key}")
        out[key] = SourceDef(key, str(item.get("label", key)), str(item.get("label_en", "")), "records", [],
                             list(required), item.get("sheet"))
    for skey, key, name, other in header_clashes(fields, out):  # one header, two columns of one format
        _fail(f"pool.fields.{key}.aliases", f"header {name!r} also names {other!r} in the {skey}")
    return out
