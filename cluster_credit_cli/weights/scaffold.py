"""A model file for a hierarchy designed by AHP (``ccredit model init --from-ahp``).

A town designing its own indicator system has matrices (or the JSON of ``weights ahp``) but no
model yet. ``scaffold_model`` writes one: the hierarchy with its AHP weights (global, printed to 4
decimals, each set of siblings summing exactly to its parent by the largest remainder), a
placeholder rule (``kind = "todo"``) per leaf, and — copied from the current model — the grades,
the pool, the gates, the yes/no words, the fields that no scoring rule of the current model needs
(identity, gates, required columns) and the sources. Every section has a comment saying what it
is for. The text is checked by loading it back as a model.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from cluster_credit_cli.model.config import RULE_KIND_HELP, Model, build_model
from cluster_credit_cli.problems import UsageError
from cluster_credit_cli.weights import ahp
from cluster_credit_cli.weights.tables import FreeOutcome, round_tree

BONUS_GOALS = {"加分目标", "加分项", "加分", "bonus", "bonusgoal", "bonusitems"}


@dataclass
class Design:
    """A designed hierarchy: each node's items with their local weights, and the nodes' consistency."""

    roots: list[str]
    local: dict[str, dict[str, float]]  # node -> {item: local weight}, in sheet order
    cr: dict[str, float | None] = field(default_factory=dict)
    source: str = ""
    method: str = "eigen"
    ri_table: str = "saaty"

    @property
    def inconsistent(self) -> list[str]:
        return [k for k, v in self.cr.items() if v is not None and v >= ahp.CR_THRESHOLD]


def design_from_outcome(outcome: FreeOutcome, source: str) -> Design:
    h = outcome.hierarchy
    return Design(list(h.roots), {k: dict(r.weights) for k, r in h.nodes.items()},
                  {k: r.cr for k, r in h.nodes.items()}, source, h.method, h.ri_table)


def design_from_json(path: Path) -> Design:
    """The JSON of ``weights ahp --json`` on a hierarchy of the sheets' own."""
    name = Path(path).name
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{name}: not a JSON file written by ccredit weights ahp --json ({exc})") from None
    if not isinstance(data, dict) or data.get("tool") != "ccredit" or not isinstance(data.get("nodes"), dict):
        raise UsageError(f"{name}: not a JSON file written by ccredit weights ahp --json")
    if data.get("hierarchy") != "free":
        raise UsageError(f"{name}: these weights are the current model's (hierarchy = model); a new model is "
                         "made from a hierarchy of your own: ccredit weights ahp MATRICES.xlsx --hierarchy free --json ...")
    local: dict[str, dict[str, float]] = {}
    cr: dict[str, float | None] = {}
    for node, res in data["nodes"].items():
        weights = res.get("weights") if isinstance(res, dict) else None
        if not isinstance(weights, dict) or not weights or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
                for v in weights.values()):
            raise UsageError(f"{name}: nodes.{node}.weights: expected {{item: weight ≥ 0}}")
        local[node] = {str(k): float(v) for k, v in weights.items()}
        cr[node] = res.get("cr")
    roots = data.get("roots")
    if not isinstance(roots, list) or not roots or any(r not in local for r in roots):
        raise UsageError(f"{name}: roots: expected the list of goal nodes")
    return Design(roots, local, cr, name, str(data.get("method", "eigen")), str(data.get("ri_table", "saaty")))


# -- TOML text ---------------------------------------------------------------------------------------

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _str(text: str) -> str:
    # JSON strings are TOML basic strings, except that TOML forbids a raw DEL
    return json.dumps(str(text), ensure_ascii=False).replace("\x7f", "\\u007f")


def _key(key: str) -> str:
    return key if _BARE.match(key) else _str(key)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _str(v)
    if isinstance(v, (_dt.date, _dt.datetime, _dt.time)):
        return v.isoformat()
    if isinstance(v, dict):
        items = [f"{_key(k)} = {_value(x)}" for k, x in v.items() if not str(k).startswith("_")]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, dict) for x in v):
            return "[\n" + "".join(f"  {_value(x)},\n" for x in v) + "]"
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _table(name: str, table: dict[str, Any]) -> str:
    lines = [f"[{name}]"]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in table.items() if not str(k).startswith("_")]
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    """Text for a comment: a line break in a name must not end the comment (and start TOML)."""
    return re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", str(text))


def _banner(text: str) -> str:
    rule = "# " + "-" * 93
    lines = text.split("\n")  # only the template's own line breaks; names are made one-line first
    return "\n".join([rule, *("# " + _one_line(line) if line else "#" for line in lines), rule]) + "\n"


# -- the model -----------------------------------------------------------------------------------------

def _norm(name: str) -> str:
    return re.sub(r"\s+", "", ahp._label(name)).lower()


def kept_fields(base: Model) -> list[str]:
    """Fields of the current model a new model keeps: those no scoring rule needs, and those the gates
    or a source's required columns need (identity, gates, the columns a file must have)."""
    by_rules = {f for r in base.rules.values() for f in r.get("_inputs", [])}
    needed = {"code", "name"}
    for gate in [*base.eligibility, *base.veto]:
        needed |= set(gate.get("fields", []))
        needed |= {gate[k] for k in ("field", "reason_field", "flag_field") if k in gate}
        needed |= {a.get("field") for a in gate.get("also", []) if a.get("field")}
    for s in base.sources.values():
        needed |= set(s.required)
    return [k for k in base.fields if k not in by_rules or k in needed]


@dataclass
class Scaffold:
    text: str
    model: Model
    keys: dict[str, str]  # item name -> node key
    todo: list[str]  # leaf keys with a placeholder rule


def scaffold_model(design: Design, base: Model, *, name: str | None = None, target: Path | None = None,
                   lang: str = "zh") -> Scaffold:
    """The model file's text for a designed hierarchy, checked by loading it back."""
    zh = lang != "en"
    sep = "、" if zh else ", "
    # A model is a tree: every indicator has one parent.
    parents: dict[str, list[str]] = {}
    for node, items in design.local.items():
        for item in items:
            parents.setdefault(item, []).append(node)
    shared = {k: v for k, v in parents.items() if len(v) > 1}
    if shared:
        listing = sep.join(f"{k}（{'/'.join(v)}）" if zh else f"{k} ({'/'.join(v)})" for k, v in list(shared.items())[:5])
        example = next(iter(shared))
        raise UsageError(
            f"{design.source}：模型中每个指标只能有一个上级，但 {listing} 出现在多个上级下；请在判断矩阵中把名称区分开，"
            f"如“{example} ({shared[example][0]})”“{example} ({shared[example][1]})”" if zh else
            f"{design.source}: in a model every indicator has one parent, but {listing} appear under several; "
            f"give them distinct names in the matrices, e.g. '{example} ({shared[example][0]})' and "
            f"'{example} ({shared[example][1]})'")
    roots = list(design.roots)
    bonus_roots = [r for r in roots if _norm(r) in BONUS_GOALS]
    base_roots = [r for r in roots if r not in bonus_roots]
    if len(base_roots) != 1 or len(bonus_roots) > 1:
        raise UsageError(
            f"{design.source}：总目标应恰有一个（另可有一个名为“加分目标”的加分块），现为 {sep.join(roots)}；"
            "其余工作表应作为某个工作表中的指标出现" if zh else
            f"{design.source}: expected exactly one goal (and optionally a bonus goal named 'Bonus goal' / 加分目标), "
            f"found {sep.join(roots)}; every other sheet must appear as an item of some sheet")

    # keys: D1, D1_2, D1_2_3 (base), B1, B1_2 (bonus) — bare TOML keys, stable in sheet order
    keys: dict[str, str] = {}
    parent_key: dict[str, str] = {}
    children: dict[str, list[str]] = {}
    order: list[str] = []

    def assign(node: str, prefix: str, sep_: str, depth: int):
        items = list(design.local.get(node, {}))
        kids = []
        for i, item in enumerate(items, start=1):
            k = f"{prefix}{sep_}{i}" if depth else f"{prefix}{i}"
            keys[item] = k
            order.append(item)
            kids.append(k)
            if item in design.local:
                assign(item, k, "_", depth + 1)
        return kids

    blocks = []
    exact: dict[str, float] = {}
    for root, letter, total in ((base_roots[0], "D", base.base_total),
                                *(((bonus_roots[0], "B", base.bonus_total),) if bonus_roots else ())):
        firsts = assign(root, letter, "", 0)
        blocks.append((firsts, total))

        def down(node: str, w: float):
            for item, local in design.local.get(node, {}).items():
                exact[keys[item]] = w * local
                if item in design.local:
                    down(item, w * local)
        down(root, total)
    for node, items in design.local.items():
        if node in keys:
            children[keys[node]] = [keys[i] for i in items]
            for i in items:
                parent_key[keys[i]] = keys[node]
    printed = round_tree(children, blocks, exact)
    block_of = {k: "base" for k in blocks[0][0]}
    block_of.update({k: "bonus" for k in (blocks[1][0] if len(blocks) > 1 else [])})
    leaves = [keys[i] for i in order if i not in design.local]
    names = {keys[i]: i for i in order}

    text = _model_text(design, base, keys, order, parent_key, block_of, printed, leaves, names,
                       name or ("新模型（AHP 指标体系）" if zh else "New model (AHP hierarchy)"),
                       bonus=bool(bonus_roots), target=target)
    raw = tomllib.loads(text)
    model = build_model(raw, target or base.path, origin=(target.name if target else "model init"))
    for k, w in printed.items():  # what was meant is what loads
        assert math.isclose(model.nodes[k].weight, w, abs_tol=1e-12), k
    return Scaffold(text, model, keys, model.todo_rules)


def _model_text(design: Design, base: Model, keys, order, parent_key, block_of, printed, leaves, names,
                model_name: str, *, bonus: bool, target: Path | None) -> str:
    from cluster_credit_cli.weights.ahp import RI_LABELS

    raw = base.raw
    today = _dt.date.today().isoformat()
    crs = "、".join(f"{_one_line(k)} {'-' if v is None else f'{v:.3f}'}" for k, v in design.cr.items())
    method = "特征向量法" if design.method == "eigen" else "几何平均（方根）法"
    me = target.name if target else "本文件"
    out = [_banner(
        f"ccredit 模型文件：{today} 由 ccredit model init --from-ahp {_one_line(design.source)} 生成。\n"
        f"指标体系与权重来自 AHP 判断矩阵（{method}，RI 表 {RI_LABELS.get(design.ri_table, (design.ri_table,))[0]}）。\n"
        f"各判断矩阵的一致性比率 CR：{crs}。\n"
        + (f"注意：{_one_line('、'.join(design.inconsistent))} 的 CR ≥ 0.10，判断不一致，建议请专家复核后重新生成。\n"
           if design.inconsistent else "")
        + "\n"
        f"还缺评分规则：每个末级指标下有一条 kind = \"todo\" 的占位规则。逐条改写后运行\n"
        f"  ccredit model check --config {_one_line(me)}\n"
        "直到不再报告“规则待编写”（此前模型不能评分）。然后\n"
        f"  ccredit template applicants --config {me}    生成申报表模板\n"
        f"  ccredit score 申报材料.xlsx --config {me}     评分\n"
        f"评级标准、资金池、准入与否决条件、字段和数据来源复制自 {base.path.name}，请按本地情况修改。")]
    out.append("\n" + _banner(
        "指标体系（层次结构）与权重。key 是指标代码（评分规则 [rules.代码] 用它），parent 是上级代码；\n"
        "第一级指标的 block 为 \"base\"（基础分）或 \"bonus\"（加分项）。\n"
        "weight 是全局权重（占总分的比例）：AHP 局部权重逐级相乘，保留 4 位小数，并按最大余数法调整，\n"
        "使每组同级指标之和恰好等于上级的权重，第一级之和等于 base_total（加分块为 bonus_total）。\n"
        "name 是指标名称，可加 name_en（英文名）。"))
    rows = []
    for item in order:
        k = keys[item]
        parts = [f"key = {_str(k)}", f"parent = {_str(parent_key.get(k, ''))}"]
        if k in block_of:
            parts.append(f"block = {_str(block_of[k])}")
        parts += [f"name = {_str(item)}", f"weight = {printed[k]:.4f}"]
        rows.append("  { " + ", ".join(parts) + " },")
    out.append("nodes = [\n" + "\n".join(rows) + "\n]\n")

    meta = {"name": model_name, "weight_policy": "renormalize", "tolerance": 1e-9,
            "base_total": float(base.base_total), "bonus_total": float(base.bonus_total) if bonus else 0.0}
    meta.update({k: v for k, v in raw.get("model", {}).items()
                 if k not in meta and k not in ("name_en",) and not str(k).startswith("_")})
    out.append("\n" + _banner(
        "模型总体设置。name：模型名称（显示在结果工作簿上）。\n"
        "weight_policy：同级权重之和与上级不符时，\"renormalize\" 按比例重新分配并警告，\"strict\" 视为错误。\n"
        "base_total：基础块第一级权重之和（满分 100 对应 1.0）；bonus_total：加分块之和（0 表示没有加分项）。\n"
        "其余设置（如 town 所在镇街）复制自当前模型，请改为本地的值。"))
    out.append(_table("model", meta))

    kinds = "\n".join(f"  {k:7}: {zh}" for k, (zh, _en) in RULE_KIND_HELP.items())
    out.append("\n" + _banner(
        "评分规则（评价打分细则）：每个末级指标一条，得分 0–100。kind 可选：\n" + kinds + "\n"
        "missing = \"incomplete\"（默认：缺数据得 0 分并标记材料不全）或 \"zero\"（缺数据得 0 分，如加分项）。\n"
        "下面每条 kind = \"todo\" 都是占位：ccredit model check 会列为“规则待编写”，全部写好之前模型不能评分。\n"
        "规则读取的字段须在后面的 [fields] 中定义。例：评审小组按 1–5 打分的指标\n"
        "  [fields.design]\n  label = \"设计能力\"\n  type = \"rating\"\n  sources = [\"panel\", \"applicants\"]\n"
        "  [rules.D1_1]\n  kind = \"rating\"\n  field = \"design\"\n"
        "完整的写法见 config/model.toml 中的各条规则。"))
    if "ratings" in raw:
        out.append("# 1–5 评分的分值：每级分数 points_per_step，可接受的文字评价 labels。\n")
        out.append(_table("ratings", raw["ratings"]))
    for k in leaves:
        path = []
        p = k
        while p in parent_key:
            p = parent_key[p]
            path.append(names[p])
        where = " / ".join(reversed(path))
        out.append(f"\n# {k} {_one_line(names[k])}" + (f"（{_one_line(where)}）" if where else "")
                   + f"，全局权重 {printed[k]:.4f}：规则待编写\n")
        out.append(_table(f"rules.{k}", {"kind": "todo"}))

    out.append("\n" + _banner(
        f"准入条件（入池条件）与一票否决，复制自 {base.path.name}。\n"
        "kind：min_age 成立年限、town 所在镇街（names 改为本地镇名）、yes 是/否字段；否决 records 为信用记录类型。"))
    for item in raw.get("eligibility", []):
        out.append(_table("[eligibility]", item))  # [[eligibility]]: an array of tables
    for item in raw.get("veto", []):
        out.append(_table("[veto]", item))
    out.append("\n" + _banner(
        f"评级标准（按显示的总分，四舍五入到 decimals 位）与资金池，复制自 {base.path.name}。\n"
        "bands：等级、最低分 min、每家额度上限 cap（单位同 pool.unit）；pool：担保基金 guarantee_fund × 放大倍数 leverage。"))
    if "grades" in raw:
        out.append(_table("grades", raw["grades"]))
    if "pool" in raw:  # the pool's scalars, then its sub-tables as tables (not one-line inline tables)
        pool = raw["pool"]
        out.append(_table("pool", {k: v for k, v in pool.items() if not isinstance(v, dict)}))
        for sub in ("limits", "warnings"):
            if isinstance(pool.get(sub), dict):
                out.append(_table(f"pool.{sub}", pool[sub]))
        if isinstance(pool.get("sources"), dict) or isinstance(pool.get("fields"), dict):
            out.append("# 资金池贷后（ccredit pool）：贷款台账与资金池收支的列，见 docs/readme-pool.md。\n")
        for sub in ("sources", "fields"):
            for key, item in (pool.get(sub) or {}).items():
                out.append(_table(f"pool.{sub}.{_key(key)}", item))
    if "yesno" in raw:
        out.append("\n# 是/否字段接受的写法。\n")
        out.append(_table("yesno", raw["yesno"]))
    out.append("\n" + _banner(
        "字段：各输入列的标准表头 label、别名 aliases、类型 type、提供该字段的数据来源 sources（靠前者优先）。\n"
        f"这里只复制了 {base.path.name} 中与评分规则无关的字段（企业身份、准入与否决、各来源必需的列）；\n"
        "为新规则读取的数据增加字段，如上面评分规则说明中的示例。"))
    fields = raw.get("fields", {})
    for key in kept_fields(base):
        out.append(_table(f"fields.{_key(key)}", fields[key]))
    out.append("\n" + _banner(
        "数据来源：每类文件在申报材料旁如何识别（文件名 patterns）以及必须包含的列 required。"))
    for key, src in raw.get("sources", {}).items():
        out.append(_table(f"sources.{_key(key)}", src))
    if "discovery" in raw:
        out.append("\n# 查找输入文件时忽略的文件与接受的扩展名。\n")
        out.append(_table("discovery", raw["discovery"]))
    return "".join(out)
