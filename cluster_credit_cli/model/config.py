"""The credit model: loaded from TOML, validated, with effective weights and the model checks.

Everything a town may change — hierarchy and weights, scoring rules, gates, grades, the pool,
column aliases and file-name patterns — comes from the config file. Validation errors name the
file and the key (``model.toml: rules.F2.bands[1]: ...``). The checks of spec §6 (weights per
level) are *warnings with numbers* under the default policy, errors under ``strict``.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cluster_credit_cli.i18n import say
from cluster_credit_cli.problems import ConfigError
from cluster_credit_cli.text import normalize_choice, normalize_header

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "model.toml"

RULE_KINDS = {"rating", "bands", "mean", "count", "lookup", "todo"}
# "todo": a placeholder written by `model init --from-ahp` for a leaf whose rule is still to be
# written. The model loads (templates, model show/check work) but cannot score until it is replaced.
RULE_KIND_HELP = {
    "rating": ("评审打分：1–5 分（或 优/良/中/差/劣）× 每级分数，需 field", "a 1–5 rating (or a label) × points per step; needs field"),
    "bands": ("分档：指标值（可为字段算式 metric）按阈值 bands 给分，compare 为 \">=\" 或 \"<=\"",
              "bands: a metric (field arithmetic) against thresholds, compare \">=\" or \"<=\""),
    "mean": ("若干分档规则 parts 的平均分", "the mean of several bands rules (parts)"),
    "count": ("评估日前 window_months 个月内 record_types 类记录的条数，points 按条数给分",
              "number of records of record_types in the window_months before the as-of date; points per count"),
    "lookup": ("类别答案对应分数（points 表），需 field", "a categorical answer mapped to points; needs field"),
}
FIELD_TYPES = {"code", "text", "number", "percent", "percent_or_text", "rating", "date", "yesno", "category"}
SOURCE_SHAPES = {"entity", "records"}
COMPARES = {">=", "<="}
# Keys a rule may have, per kind: anything else is a typo that would silently change scoring.
RULE_KEYS_COMMON = {"kind", "missing", "name", "name_en"}
BAND_KEYS = {"metric", "compare", "bands", "else", "text", "name", "name_en"}
RULE_KEYS = {"rating": {"field"}, "lookup": {"field", "points"}, "bands": BAND_KEYS, "mean": {"parts"},
             "count": {"record_types", "role", "window_months", "points"}, "todo": set()}


# -- the known keys of the model file ------------------------------------------------------------
#
# An unknown key is an error naming it and the closest known one (``weigth_policy`` would
# otherwise be ignored and the default policy silently kept). The schema is data so that each
# capability declares its own section (``declare_section("risk", {...})``) where it is defined.
#
#   ANY            any value, not looked into (checked by the code that uses it)
#   {key: schema}  a table with these keys; the key "*" stands for any name (fields.<name>)
#   [schema]       an array whose items (tables) follow ``schema``
ANY = None
_GATE = {k: ANY for k in ("code", "kind", "field", "fields", "names", "years", "record_types", "removed_status",
                          "flag_field", "reason_field", "reason", "reason_en")}
_GATE["also"] = [{k: ANY for k in ("field", "compare", "value", "equals", "reason", "reason_en")}]
MODEL_SCHEMA: dict[str, Any] = {
    "nodes": [{k: ANY for k in ("key", "parent", "block", "name", "name_en", "weight")}],
    "model": {k: ANY for k in ("name", "name_en", "weight_policy", "tolerance", "base_total", "bonus_total",
                               "town")},
    "ratings": {k: ANY for k in ("points_per_step", "min", "max", "labels")},
    "rules": {"*": ANY},  # a rule's keys depend on its kind: checked in _build_rules (RULE_KEYS)
    "eligibility": [_GATE],
    "veto": [_GATE],
    "grades": {"bands": [{k: ANY for k in ("grade", "min", "cap")}], "colors": ANY, "decimals": ANY},
    "pool": {k: ANY for k in ("unit", "guarantee_fund", "leverage")},
    "yesno": {"yes": ANY, "no": ANY},
    "fields": {"*": {k: ANY for k in ("label", "label_en", "type", "aliases", "sources")}},
    "sources": {"*": {k: ANY for k in ("label", "label_en", "shape", "patterns", "required", "sheet", "aggregate")}},
    "discovery": {"ignore": ANY, "extensions": ANY},
}
# Sections and keys other issues add (pre-declared from their branches so the merged default
# model loads; each may refine its entry here): issue 12 (messages) field minimums, optional
# sources, the pool unit in English; issue 16 (pool) the loan ledger; 17 (risk); 18 (validation).
MODEL_SCHEMA["fields"]["*"]["min"] = ANY
MODEL_SCHEMA["sources"]["*"]["optional"] = ANY
MODEL_SCHEMA["pool"].update({
    "unit_en": ANY,
    "limits": {k: ANY for k in ("largest_single_share", "low_grade", "low_grade_share", "top10_share")},
    "warnings": {"maturing_days": ANY},
    "sources": {"*": {k: ANY for k in ("label", "label_en", "required", "patterns", "sheet", "shape")}},
    "fields": {"*": {k: ANY for k in ("label", "label_en", "type", "aliases", "sources", "choices", "synonyms",
                                      "unit", "min")}},
})
# [risk] and [validation] check their own keys where they are read (pool/risk_config.RISK_KEYS,
# validation/settings.KNOWN), naming the bad one: here they are only known sections.
MODEL_SCHEMA["risk"] = ANY
MODEL_SCHEMA["validation"] = ANY
MAX_CONFIG_BYTES = 4 * 1024 * 1024  # the shipped model is ~30 KB
MAX_CONFIG_DEPTH = 16  # tables and arrays nested in one another; the shipped model needs 4


def declare_section(path: str, schema: Any) -> None:
    """Declare the known keys of a section (``"risk"``, ``"pool.ledger"``) of the model file.

    A capability that reads its own settings from the model declares them here (on import of
    the module that defines them), so the model check knows them and still refuses typos.
    """
    parts = path.split(".")
    table = MODEL_SCHEMA
    for p in parts[:-1]:
        nxt = table.get(p)
        if not isinstance(nxt, dict):
            nxt = table[p] = {}
        table = nxt
    old = table.get(parts[-1])
    if isinstance(old, dict) and isinstance(schema, dict):
        old.update(schema)
    else:
        table[parts[-1]] = schema


def _closest(key: str, known) -> str:
    import difflib

    hit = difflib.get_close_matches(key, [k for k in known if k != "*"], n=1, cutoff=0.6)
    return f"; did you mean {hit[0]!r}?" if hit else ""


def check_known_keys(origin: str, raw: Any, schema: Any = ..., where: str = "", depth: int = 0) -> None:
    """Every key of ``raw`` is known to ``schema``; else ConfigError naming it and the closest key."""
    if schema is ...:
        schema = MODEL_SCHEMA
    if depth > MAX_CONFIG_DEPTH:
        raise ConfigError(f"{origin}: {where or 'the file'}: nested more than {MAX_CONFIG_DEPTH} levels deep")
    if isinstance(raw, float) and not math.isfinite(raw):
        raise ConfigError(f"{origin}: {where}: {raw} is not a finite number")
    if isinstance(raw, list):
        for i, item in enumerate(raw):
            check_known_keys(origin, item, schema[0] if isinstance(schema, list) and schema else ANY,
                             f"{where}[{i}]", depth + 1)
        return
    if not isinstance(raw, dict):
        return
    for key, value in raw.items():
        here = f"{where}.{key}" if where else key
        if isinstance(schema, dict):
            if key in schema:
                sub = schema[key]
            elif "*" in schema:
                sub = schema["*"]
            else:
                known = ", ".join(sorted(k for k in schema if k != "*"))
                raise ConfigError(f"{origin}: {here}: unknown key{_closest(key, schema)} (known here: {known})")
        else:
            sub = ANY
        check_known_keys(origin, value, sub, here, depth + 1)


@dataclass
class Node:
    key: str
    parent: str | None
    name: str
    name_en: str
    weight: float  # printed (global) weight
    block: str = "base"
    level: int = 1
    children: list[str] = field(default_factory=list)

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def label(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name


@dataclass
class FieldDef:
    key: str
    label: str
    label_en: str
    type: str
    aliases: list[str]
    sources: list[str]
    min: float | None = None  # numbers below it are problems (a negative amount or revenue); None: any

    def header(self, lang: str = "zh") -> str:
        return self.label_en if lang == "en" and self.label_en else self.label


@dataclass
class SourceDef:
    key: str
    label: str
    label_en: str
    shape: str
    patterns: list[str]
    required: list[str]
    sheet: str | None = None
    aggregate: dict[str, str] = field(default_factory=dict)
    # An optional source covers only some firms (the panel reviews a few): a firm it lacks is not
    # "missing" from it; what is missing is asked of the next source of the field.
    optional: bool = False

    def title(self, lang: str = "zh") -> str:
        return self.label_en if lang == "en" and self.label_en else self.label


@dataclass
class WeightCheck:
    parent: str
    parent_name: str
    printed: float
    children_sum: float
    children: list[str]

    @property
    def ok(self) -> bool:
        return math.isclose(self.printed, self.children_sum, rel_tol=0, abs_tol=1e-9)


@dataclass
class Model:
    path: Path
    raw: dict[str, Any]
    name: str
    name_en: str
    policy: str
    tolerance: float
    base_total: float
    bonus_total: float
    nodes: dict[str, Node]
    rules: dict[str, dict[str, Any]]
    fields: dict[str, FieldDef]
    sources: dict[str, SourceDef]
    eligibility: list[dict[str, Any]]
    veto: list[dict[str, Any]]
    grades: list[dict[str, Any]]
    grade_decimals: int
    grade_colors: dict[str, str]
    pool: dict[str, Any]
    ratings: dict[str, Any]
    yes_values: set[str]
    no_values: set[str]
    discovery: dict[str, Any]
    effective: dict[str, float] = field(default_factory=dict)
    checks: list[WeightCheck] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    warnings_en: list[str] = field(default_factory=list)

    # -- structure -------------------------------------------------------------------------
    @property
    def hash(self) -> str:
        """SHA-256 of the model's content (canonical JSON), not of the file's bytes."""
        blob = json.dumps(self.raw, sort_keys=True, ensure_ascii=False, default=str).encode()
        return hashlib.sha256(blob).hexdigest()

    @property
    def roots(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.parent is None]

    def leaves(self, block: str | None = None) -> list[str]:
        """Leaf keys in hierarchy order, optionally of one block (base or bonus)."""
        return [k for k, n in self.nodes.items() if n.is_leaf and (block is None or n.block == block)]

    def ancestors(self, key: str) -> list[str]:
        out = []
        parent = self.nodes[key].parent
        while parent is not None:
            out.append(parent)
            parent = self.nodes[parent].parent
        return out

    def dimension_keys(self, level: int) -> list[str]:
        return [k for k, n in self.nodes.items() if n.level == level and not n.is_leaf]

    def walk(self):
        """Nodes depth-first in config order, for printing the tree."""
        def visit(key: str):
            yield self.nodes[key]
            for child in self.nodes[key].children:
                yield from visit(child)
        for root in self.roots:
            yield from visit(root.key)

    @property
    def todo_rules(self) -> list[str]:
        """Leaves whose rule is still a placeholder (kind = "todo"), in hierarchy order."""
        return [k for k in self.leaves() if self.rules.get(k, {}).get("kind") == "todo"]

    def require_rules(self) -> None:
        """Refuse to score with placeholder rules: say which, and how to find out what to write."""
        todo = self.todo_rules
        if todo:
            raise ConfigError(f"{self.path.name}: {len(todo)} scoring rule(s) still to be written "
                              f"(kind = \"todo\"): {', '.join(todo)}; see ccredit model check --config {self.path}")

    def grade_labels(self) -> list[str]:
        return [g["grade"] for g in self.grades]

    def source_fields(self, source: str) -> list[FieldDef]:
        return [f for f in self.fields.values() if source in f.sources]

    def with_printed_weights(self, weights: dict[str, float], origin: str = "weights") -> "Model":
        """A copy of this model with some printed weights replaced, validated like a file."""
        raw = json.loads(json.dumps(self.raw))
        known = {n["key"] for n in raw["nodes"]}
        unknown = sorted(set(weights) - known)
        if unknown:
            raise ConfigError(f"{origin}: unknown indicator key(s) {', '.join(unknown)}")
        for node in raw["nodes"]:
            if node["key"] in weights:
                node["weight"] = float(weights[node["key"]])
        return build_model(raw, self.path, origin=origin)


# -- loading -----------------------------------------------------------------------------------

def load_model(path: str | Path | None = None, *, strict: bool | None = None) -> Model:
    """Load and validate a model file (default: config/model.toml of this installation)."""
    path = Path(path) if path else DEFAULT_CONFIG
    if not path.is_file():
        raise ConfigError(say(f"找不到模型文件：{path}", f"model file not found: {path}"))
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path.name}: {size:,} bytes is far more than a model file holds (limit "
                          f"{MAX_CONFIG_BYTES:,}); is this the right file?")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(say(f"{path.name}：不是有效的 TOML 文件（{exc}）", f"{path.name}: not valid TOML: {exc}")) from None
    except UnicodeDecodeError:
        raise ConfigError(say(f"{path.name}：不是 UTF-8 文本", f"{path.name}: not UTF-8 text")) from None
    except RecursionError:
        raise ConfigError(f"{path.name}: arrays or tables nested too deeply (limit {MAX_CONFIG_DEPTH})") from None
    except OSError as exc:
        raise ConfigError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    if strict is not None:
        raw.setdefault("model", {})["weight_policy"] = "strict" if strict else raw.get("model", {}).get(
            "weight_policy", "renormalize")
    return build_model(raw, path)


class _Ctx:
    def __init__(self, origin: str):
        self.origin = origin

    def fail(self, key: str, message: str) -> None:
        raise ConfigError(f"{self.origin}: {key}: {message}")

    def get(self, table: dict, key: str, where: str, typ: type | tuple, default: Any = ...) -> Any:
        if key not in table:
            if default is ...:
                self.fail(f"{where}.{key}" if where else key, "missing")
            return default
        value = table[key]
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, typ) or isinstance(value, bool) and typ is not bool:
            expected = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
            self.fail(f"{where}.{key}" if where else key, f"expected {expected}, got {value!r}")
        return value


def build_model(raw: dict[str, Any], path: Path, origin: str | None = None) -> Model:
    ctx = _Ctx(origin or path.name)
    check_known_keys(ctx.origin, raw)
    meta = ctx.get(raw, "model", "", dict)
    policy = ctx.get(meta, "weight_policy", "model", str, "renormalize")
    if policy not in ("renormalize", "strict"):
        ctx.fail("model.weight_policy", f"must be 'renormalize' or 'strict', got {policy!r}")
    _check_bounds(ctx, raw)

    nodes = _build_nodes(ctx, ctx.get(raw, "nodes", "", list))
    fields = _build_fields(ctx, ctx.get(raw, "fields", "", dict))
    sources = _build_sources(ctx, ctx.get(raw, "sources", "", dict), fields)
    ratings = ctx.get(raw, "ratings", "", dict, {"points_per_step": 20, "min": 1, "max": 5, "labels": {}})
    rules = _build_rules(ctx, ctx.get(raw, "rules", "", dict), nodes, fields, sources)
    yesno = ctx.get(raw, "yesno", "", dict, {})
    grades_t = ctx.get(raw, "grades", "", dict)
    grades = _build_grades(ctx, grades_t)
    pool = ctx.get(raw, "pool", "", dict)
    for k in ("guarantee_fund", "leverage"):
        v = ctx.get(pool, k, "pool", (int, float))
        if v < 0:
            ctx.fail(f"pool.{k}", "must not be negative")
    eligibility = ctx.get(raw, "eligibility", "", list, [])
    veto = ctx.get(raw, "veto", "", list, [])
    _check_gates(ctx, "eligibility", eligibility, fields, {"min_age", "town", "yes"})
    _check_gates(ctx, "veto", veto, fields, {"records", "yes"})

    model = Model(
        path=path, raw=raw,
        name=ctx.get(meta, "name", "model", str, "ccredit model"),
        name_en=ctx.get(meta, "name_en", "model", str, ""),
        policy=policy,
        tolerance=ctx.get(meta, "tolerance", "model", float, 1e-9),
        base_total=ctx.get(meta, "base_total", "model", float, 1.0),
        bonus_total=ctx.get(meta, "bonus_total", "model", float, 0.0),
        nodes=nodes, rules=rules, fields=fields, sources=sources,
        eligibility=eligibility, veto=veto, grades=grades,
        grade_decimals=int(grades_t.get("decimals", 2)),
        grade_colors=dict(grades_t.get("colors", {})),
        pool=pool, ratings=ratings,
        yes_values={normalize_choice(v) for v in yesno.get("yes", ["是"])},
        no_values={normalize_choice(v) for v in yesno.get("no", ["否"])},
        discovery=ctx.get(raw, "discovery", "", dict, {}),
    )
    for leaf in model.leaves():
        if leaf not in rules:
            ctx.fail(f"rules.{leaf}", f"leaf indicator {leaf} ({nodes[leaf].name}) has no scoring rule")
    _compute_weights(ctx, model)
    return model


def _bounded(ctx: _Ctx, table: dict, key: str, where: str, lo: float, hi: float, typ=(int, float)) -> None:
    if isinstance(table, dict) and key in table:
        value = ctx.get(table, key, where, typ)
        if not lo <= value <= hi:
            ctx.fail(f"{where}.{key}", f"{value!r} is outside {lo:g} … {hi:g}")


def _check_bounds(ctx: _Ctx, raw: dict) -> None:
    """Numeric settings within what the scoring can compute (a 99999999999-month window overflows dates)."""
    meta = raw.get("model", {})
    _bounded(ctx, meta, "tolerance", "model", 0.0, 0.1)
    _bounded(ctx, meta, "base_total", "model", 1e-6, 1e6)
    _bounded(ctx, meta, "bonus_total", "model", 0.0, 1e6)
    ratings = raw.get("ratings")
    if isinstance(ratings, dict):
        _bounded(ctx, ratings, "points_per_step", "ratings", 1e-9, 100.0)
        _bounded(ctx, ratings, "min", "ratings", 0, 100, int)
        _bounded(ctx, ratings, "max", "ratings", 1, 100, int)
        lo, hi = ratings.get("min", 1), ratings.get("max", 5)
        if lo >= hi:
            ctx.fail("ratings.min", f"min {lo} must be below max {hi}")
        for label, v in dict(ratings.get("labels", {})).items():
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not lo <= v <= hi:
                ctx.fail(f"ratings.labels.{label}", f"{v!r} is not a rating in {lo} … {hi}")
    grades = raw.get("grades")
    if isinstance(grades, dict):
        _bounded(ctx, grades, "decimals", "grades", 0, 6, int)
    pool = raw.get("pool")
    if isinstance(pool, dict):
        # (negative values get their own message below)
        _bounded(ctx, pool, "leverage", "pool", -math.inf, 1000.0)
        _bounded(ctx, pool, "guarantee_fund", "pool", -math.inf, 1e12)
    for key, rule in dict(raw.get("rules", {})).items():
        if isinstance(rule, dict) and rule.get("kind") == "count":
            _bounded(ctx, rule, "window_months", f"rules.{key}", 1, 1200, int)
    for section in ("eligibility", "veto"):
        for j, gate in enumerate(raw.get(section, []) if isinstance(raw.get(section), list) else []):
            if isinstance(gate, dict):
                _bounded(ctx, gate, "years", f"{section}[{j}]", 0, 200)


def _build_nodes(ctx: _Ctx, items: list) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    for i, item in enumerate(items):
        where = f"nodes[{i}]"
        if not isinstance(item, dict):
            ctx.fail(where, "expected a table {key=..., parent=..., name=..., weight=...}")
        key = ctx.get(item, "key", where, str)
        if not key:
            ctx.fail(f"{where}.key", "empty")
        if key in nodes:
            ctx.fail(f"{where}.key", f"duplicate key {key!r}")
        weight = ctx.get(item, "weight", where, float)
        if not (0.0 <= weight <= 1.0) or math.isnan(weight):
            ctx.fail(f"{where}.weight", f"{key}: weight {weight} is not in [0, 1]")
        parent = ctx.get(item, "parent", where, str, "") or None
        block = ctx.get(item, "block", where, str, "base")
        if block not in ("base", "bonus"):
            ctx.fail(f"{where}.block", f"must be 'base' or 'bonus', got {block!r}")
        nodes[key] = Node(key, parent, ctx.get(item, "name", where, str), ctx.get(item, "name_en", where, str, ""),
                          weight, block)
    if not nodes:
        ctx.fail("nodes", "the hierarchy is empty")
    for key, node in nodes.items():
        if node.parent is not None:
            if node.parent not in nodes:
                ctx.fail(f"nodes[{key}].parent", f"unknown parent {node.parent!r}")
            nodes[node.parent].children.append(key)
    for key, node in nodes.items():  # levels and blocks come from the root; detect cycles
        seen, cur, depth = {key}, node, 1
        while cur.parent is not None:
            cur = nodes[cur.parent]
            if cur.key in seen:
                ctx.fail(f"nodes[{key}].parent", "the hierarchy has a cycle")
            seen.add(cur.key)
            depth += 1
        node.level = depth
        node.block = cur.block
    return nodes


def _build_fields(ctx: _Ctx, table: dict) -> dict[str, FieldDef]:
    fields: dict[str, FieldDef] = {}
    for key, item in table.items():
        where = f"fields.{key}"
        if not isinstance(item, dict):
            ctx.fail(where, "expected a table")
        typ = ctx.get(item, "type", where, str)
        if typ not in FIELD_TYPES:
            ctx.fail(f"{where}.type", f"unknown type {typ!r}; one of {', '.join(sorted(FIELD_TYPES))}")
        fields[key] = FieldDef(key, ctx.get(item, "label", where, str), ctx.get(item, "label_en", where, str, ""),
                               typ, list(ctx.get(item, "aliases", where, list, [])),
                               list(ctx.get(item, "sources", where, list)),
                               ctx.get(item, "min", where, (int, float), None))
    for req in ("code", "name"):
        if req not in fields:
            ctx.fail(f"fields.{req}", "missing: every model needs the code and name fields")
    return fields


def _build_sources(ctx: _Ctx, table: dict, fields: dict[str, FieldDef]) -> dict[str, SourceDef]:
    sources: dict[str, SourceDef] = {}
    for key, item in table.items():
        where = f"sources.{key}"
        shape = ctx.get(item, "shape", where, str, "entity")
        if shape not in SOURCE_SHAPES:
            ctx.fail(f"{where}.shape", f"must be 'entity' or 'records', got {shape!r}")
        required = list(ctx.get(item, "required", where, list, ["code"]))
        for r in required:
            if r not in fields:
                ctx.fail(f"{where}.required", f"unknown field {r!r}")
        aggregate = dict(ctx.get(item, "aggregate", where, dict, {}))
        for f, how in aggregate.items():
            if how not in ("max", "min", "sum"):
                ctx.fail(f"{where}.aggregate.{f}", f"must be max, min or sum, got {how!r}")
        sources[key] = SourceDef(key, ctx.get(item, "label", where, str), ctx.get(item, "label_en", where, str, ""),
                                 shape, list(ctx.get(item, "patterns", where, list, [])), required,
                                 item.get("sheet"), aggregate, ctx.get(item, "optional", where, bool, False))
    if "applicants" not in sources:
        ctx.fail("sources.applicants", "missing: the applicants source is required")
    for fkey, f in fields.items():
        for s in f.sources:
            if s not in sources:
                ctx.fail(f"fields.{fkey}.sources", f"unknown source {s!r}")
    for skey, key, name, other in header_clashes(fields, sources):
        ctx.fail(f"fields.{key}.aliases", f"header {name!r} also names field {other!r} in source {skey!r}")
    return sources


def header_clashes(fields: dict[str, Any], source_keys: Iterable[str]) -> Iterator[tuple[str, str, str, str]]:
    """(source, field, header, other field) for each header that names two fields of one source.

    ``fields`` maps keys to anything with ``key``, ``label``, ``label_en``, ``aliases`` and
    ``sources`` (the rating model's fields, the pool ledger's columns).
    """
    for skey in source_keys:
        seen: dict[str, str] = {}
        for f in fields.values():
            if skey not in f.sources:
                continue
            for name in [f.label, f.label_en, f.key, *f.aliases]:
                norm = normalize_header(name)
                if not norm:
                    continue
                other = seen.get(norm)
                if other and other != f.key:
                    yield skey, f.key, name, other
                seen[norm] = f.key


def _bands(ctx: _Ctx, where: str, rule: dict) -> None:
    compare = ctx.get(rule, "compare", where, str, ">=")
    if compare not in COMPARES:
        ctx.fail(f"{where}.compare", f"must be '>=' or '<=', got {compare!r}")
    bands = ctx.get(rule, "bands", where, list)
    if not bands:
        ctx.fail(f"{where}.bands", "empty")
    prev = None
    for j, band in enumerate(bands):
        if (not isinstance(band, list) or len(band) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in band)):
            ctx.fail(f"{where}.bands[{j}]", f"expected [threshold, points], got {band!r}")
        if not 0 <= band[1] <= 100:
            ctx.fail(f"{where}.bands[{j}]", f"points {band[1]} outside 0–100")
        if prev is not None and ((compare == ">=" and band[0] >= prev) or (compare == "<=" and band[0] <= prev)):
            order = "descending" if compare == ">=" else "ascending"
            ctx.fail(f"{where}.bands[{j}]", f"thresholds must be strictly {order} for compare {compare!r}")
        prev = band[0]
    other = ctx.get(rule, "else", where, (int, float), 0)
    if not 0 <= other <= 100:
        ctx.fail(f"{where}.else", f"points {other} outside 0–100")
    from cluster_credit_cli.model.expr import ExpressionError, names_in

    _no_unknown_keys(ctx, where, rule, BAND_KEYS | (RULE_KEYS_COMMON if "parts" not in where else set()))
    metric = ctx.get(rule, "metric", where, str)
    try:
        rule["_names"] = names_in(metric)
    except ExpressionError as exc:
        ctx.fail(f"{where}.metric", str(exc))


def unknown_key(table: dict, allowed, *, loader_keys: bool = False) -> tuple[str, str] | None:
    """The first key of ``table`` not in ``allowed`` and the message for it, or None.

    One wording for every section a wing validates itself ([pool], [risk], [validation] ...).
    ``loader_keys``: the table went through the loader, whose own keys start with ``_``.
    """
    for k in table:
        if k not in allowed and not (loader_keys and str(k).startswith("_")):
            return str(k), f"unknown key; allowed here: {', '.join(sorted(allowed))}"
    return None


def _no_unknown_keys(ctx: _Ctx, where: str, table: dict, allowed: set[str]) -> None:
    if bad := unknown_key(table, allowed, loader_keys=True):
        ctx.fail(f"{where}.{bad[0]}", bad[1])


def _build_rules(ctx: _Ctx, table: dict, nodes: dict[str, Node], fields: dict[str, FieldDef],
                 sources: dict[str, SourceDef]) -> dict[str, dict[str, Any]]:
    rules: dict[str, dict[str, Any]] = {}
    for key, rule in table.items():
        where = f"rules.{key}"
        if key not in nodes:
            ctx.fail(where, f"no indicator {key!r} in the hierarchy")
        if not isinstance(rule, dict):
            ctx.fail(where, "expected a table")
        rule = dict(rule)
        kind = ctx.get(rule, "kind", where, str)
        if kind not in RULE_KINDS:
            ctx.fail(f"{where}.kind", f"unknown kind {kind!r}; one of {', '.join(sorted(RULE_KINDS))}")
        if kind != "bands":  # bands rules are checked with their band keys in _bands
            _no_unknown_keys(ctx, where, rule, RULE_KEYS_COMMON | RULE_KEYS[kind])
        missing = ctx.get(rule, "missing", where, str, "incomplete")
        if missing not in ("incomplete", "zero"):
            ctx.fail(f"{where}.missing", f"must be 'incomplete' or 'zero', got {missing!r}")
        if kind in ("rating", "lookup"):
            f = ctx.get(rule, "field", where, str)
            if f not in fields:
                ctx.fail(f"{where}.field", f"unknown field {f!r}")
            if kind == "lookup":
                pts = ctx.get(rule, "points", where, dict)
                for label, p in pts.items():
                    if not isinstance(p, (int, float)) or not 0 <= p <= 100:
                        ctx.fail(f"{where}.points.{label}", f"points {p!r} outside 0–100")
            inputs = [f]
        elif kind == "bands":
            _bands(ctx, where, rule)
            inputs = rule["_names"]
        elif kind == "todo":
            inputs = []
        elif kind == "mean":
            parts = ctx.get(rule, "parts", where, list)
            inputs = []
            for j, part in enumerate(parts):
                part = dict(part)
                _bands(ctx, f"{where}.parts[{j}]", part)
                parts[j] = part
                inputs += part["_names"]
            rule["parts"] = parts
        else:  # count
            types = ctx.get(rule, "record_types", where, list)
            if not types:
                ctx.fail(f"{where}.record_types", "empty")
            ctx.get(rule, "window_months", where, int)
            pts = ctx.get(rule, "points", where, list)
            if not pts or any(not isinstance(p, (int, float)) or not 0 <= p <= 100 for p in pts):
                ctx.fail(f"{where}.points", "expected a list of points in 0–100")
            inputs = ["record_type", "decision_date"]
        for name in inputs:
            if name not in fields:
                ctx.fail(where, f"input {name!r} is not a field of the model")
        rule["_inputs"] = inputs
        rules[key] = rule
    return rules


def _build_grades(ctx: _Ctx, table: dict) -> list[dict[str, Any]]:
    bands = ctx.get(table, "bands", "grades", list)
    prev = math.inf
    out = []
    for j, band in enumerate(bands):
        where = f"grades.bands[{j}]"
        g = ctx.get(band, "grade", where, str)
        lo = ctx.get(band, "min", where, float)
        cap = ctx.get(band, "cap", where, float, 0.0)
        if lo >= prev:
            ctx.fail(f"{where}.min", "grade minimums must be strictly descending")
        if cap < 0:
            ctx.fail(f"{where}.cap", "must not be negative")
        prev = lo
        out.append({"grade": g, "min": lo, "cap": cap})
    if not out:
        ctx.fail("grades.bands", "empty")
    return out


def _check_gates(ctx: _Ctx, section: str, gates: list, fields: dict[str, FieldDef], kinds: set[str]) -> None:
    codes = set()
    for j, gate in enumerate(gates):
        where = f"{section}[{j}]"
        code = ctx.get(gate, "code", where, str)
        if code in codes:
            ctx.fail(f"{where}.code", f"duplicate code {code!r}")
        codes.add(code)
        kind = ctx.get(gate, "kind", where, str)
        if kind not in kinds:
            ctx.fail(f"{where}.kind", f"unknown kind {kind!r}; one of {', '.join(sorted(kinds))}")
        names = list(gate.get("fields", [])) + [gate[k] for k in ("field", "reason_field", "flag_field") if k in gate]
        names += [a.get("field") for a in gate.get("also", [])]
        for name in names:
            if name not in fields:
                ctx.fail(where, f"unknown field {name!r}")


def _compute_weights(ctx: _Ctx, model: Model) -> None:
    """Effective global weights, level by level (spec §6), and the checks with their numbers."""
    eff: dict[str, float] = {}
    checks: list[WeightCheck] = []
    for root in model.roots:
        eff[root.key] = root.weight
    for node in model.walk():
        if node.is_leaf:
            continue
        kids = [model.nodes[c] for c in node.children]
        total = math.fsum(k.weight for k in kids)
        check = WeightCheck(node.key, node.name, node.weight, total, [k.key for k in kids])
        checks.append(check)
        for k in kids:
            eff[k.key] = eff[node.key] * (k.weight / total) if total > 0 else 0.0
    model.effective = eff
    model.checks = checks
    for block, stated in (("base", model.base_total), ("bonus", model.bonus_total)):
        roots = [r for r in model.roots if r.block == block]
        total = math.fsum(r.weight for r in roots)
        if roots and not math.isclose(total, stated, abs_tol=model.tolerance):
            msg = f"the {block} block's first-level weights sum to {total:g}, not the stated {stated:g}"
            if model.policy == "strict":
                ctx.fail(f"model.{block}_total", msg)
            model.warnings.append(f"{'基础' if block == 'base' else '加分'}块一级指标权重之和为 {total:g}，"
                                  f"而非规定的 {stated:g}")
            model.warnings_en.append(msg)
    for c in checks:
        if not math.isclose(c.printed, c.children_sum, abs_tol=model.tolerance):
            kids = " + ".join(f"{k} {model.nodes[k].weight:g}" for k in c.children)
            en = (f"{c.parent} {model.nodes[c.parent].label('en')}: children sum to {c.children_sum:.10g} ({kids}), "
                  f"printed weight is {c.printed:g}")
            zh = (f"{c.parent} {c.parent_name}：下级权重之和为 {c.children_sum:.10g}（{kids}），"
                  f"而本级印刷权重为 {c.printed:g}")
            if model.policy == "strict":
                ctx.fail(f"nodes[{c.parent}]", en + " (weight_policy = strict)")
            en += ("; effective weights rescale the children to their parent's weight "
                   "(child × parent ÷ sum)")
            zh += "；有效权重按“上级权重 × 本级权重 ÷ 同级权重之和”重新分配"
            model.warnings.append(zh)
            model.warnings_en.append(en)
    leaf_base = math.fsum(eff[k] for k in model.leaves("base"))
    leaf_printed = math.fsum(model.nodes[k].weight for k in model.leaves("base"))
    if not math.isclose(leaf_printed, model.base_total, abs_tol=model.tolerance):
        model.warnings.append(f"基础指标（叶）印刷权重之和为 {leaf_printed:.10g}；有效权重之和为 {leaf_base:.10g}")
        model.warnings_en.append(f"base leaves' printed weights sum to {leaf_printed:.10g}; "
                                 f"effective weights sum to {leaf_base:.10g}")


def warnings_for(model: Model, lang: str) -> list[str]:
    return model.warnings_en if lang == "en" else model.warnings
