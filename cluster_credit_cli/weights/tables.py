"""Weights in and out of files: AHP matrix workbooks, their template, weight tables, weight configs.

* ``read_matrix_workbooks``: every visible sheet of each workbook is one node's pairwise matrix
  (sheet name = node; children's names along the first row and first column). An optional first
  column headed ``expert`` / ``专家`` holds several experts' matrices stacked in one sheet; with
  several workbooks and no such column, each workbook is one expert.
* ``ahp_weights``: runs ``ahp.analyse_hierarchy`` and maps the result onto the model: names are
  matched to node keys, Chinese or English names; a goal sheet (a root the model does not know)
  compares first-level dimensions and carries the block's total (base 1.00); a model root such as
  the bonus block keeps its printed weight. The new printed weights are global AHP weights.
* ``write_matrix_template``: the empty matrices for the current model (one sheet per node with at
  least two children, plus a goal sheet per block with several first-level dimensions).
* ``read_weight_table``: a table in the ``ccredit model export`` layout (key + printed weight
  columns) to {key: weight}, for ``score --weights``.
* ``weight_config_text``: the model's TOML with the printed weights replaced (comments and
  everything else kept), checked by loading it back.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from cluster_credit_cli.weights import ahp
from cluster_credit_cli.model.config import Model, build_model
from cluster_credit_cli.problems import ConfigError, Problems
from cluster_credit_cli.text import clean_text, normalize_header

EXPERT_HEADERS = {"expert", "experts", "专家", "专家姓名", "专家编号"}
README_SHEETS = {"说明", "填写说明", "readme", "instructions"}
GOAL_NAMES = {"zh": {"base": "总目标", "bonus": "加分目标"}, "en": {"base": "Goal", "bonus": "Bonus goal"}}
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _norm(value: Any) -> str:
    return normalize_header(clean_text(value))


def sheet_title(text: str) -> str:
    return _BAD_SHEET_CHARS.sub("_", text)[:31]


# -- reading AHP workbooks ----------------------------------------------------------------------

def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and math.isnan(v))


def _trim(rows: list[list[Any]]) -> tuple[list[list[Any]], int, int]:
    """Drop empty leading rows and columns; return rows and the 0-based offsets removed."""
    r0 = next((i for i, r in enumerate(rows) if any(not _blank(v) for v in r)), len(rows))
    rows = rows[r0:]
    firsts = [next((j for j, v in enumerate(r) if not _blank(v)), None) for r in rows]
    firsts = [f for f in firsts if f is not None]
    c0 = min(firsts) if firsts else 0
    return [list(r[c0:]) for r in rows], r0, c0


def matrices_from_rows(rows: list[list[Any]], *, node: str, file: str, sheet: str | None, problems: Problems,
                       expert: str | None = None, lang: str = "zh") -> list[ahp.PairwiseMatrix]:
    """One sheet's cells to one matrix, or one per expert when the first column is ``expert``."""
    rows, r0, c0 = _trim([list(r) for r in rows])
    if not rows:
        return []
    if _norm(rows[0][0]) in EXPERT_HEADERS:
        groups: dict[str, list[int]] = {}
        current = None
        for i, r in enumerate(rows[1:], start=1):
            if all(_blank(v) for v in r):
                continue
            if not _blank(r[0]):
                current = clean_text(r[0])
            if current is None:
                problems.add(file, sheet, r0 + i + 1, ahp.column_letter(c0), "ahp_expert_missing",
                             "专家列为空：请在每位专家矩阵的首行填写专家姓名或编号" if lang != "en" else
                             "the expert column is empty: write the expert's name or number on each matrix's first row")
                return []
            groups.setdefault(current, []).append(i)
        out = []
        for who, idx in groups.items():
            block = [rows[0][1:]] + [rows[i][1:] for i in idx]
            if idx != list(range(idx[0], idx[0] + len(idx))):
                problems.add(file, sheet, r0 + idx[0] + 1, None, "ahp_expert_rows_apart",
                             f"专家 {who} 的矩阵行不连续" if lang != "en" else f"expert {who}'s rows are not contiguous",
                             severity="warning")
            # block row k > 0 is sheet row r0 + idx[k-1] + 1; contiguous blocks map exactly
            pm = ahp.parse_matrix(block, node=node, problems=problems, file=file, sheet=sheet, expert=who,
                                  first_row=r0 + idx[0], first_col=c0 + 1, lang=lang)
            if pm is not None:
                out.append(pm)
        return out
    pm = ahp.parse_matrix(rows, node=node, problems=problems, file=file, sheet=sheet, expert=expert,
                          first_row=r0 + 1, first_col=c0, lang=lang)
    return [pm] if pm is not None else []


def read_matrix_workbooks(paths: Sequence[Path], problems: Problems, lang: str = "zh") -> list[ahp.PairwiseMatrix]:
    """All matrices of the given workbooks (xlsx/xls: one per visible sheet; csv: one, named by the file)."""
    from cluster_credit_cli.inputs.reading import ReadError, preflight_file, read_grid

    out: list[ahp.PairwiseMatrix] = []
    several = len(paths) > 1
    for path in paths:
        path = Path(path)
        verdict = preflight_file(path)
        if not verdict.ok:
            problems.add(path.name, None, None, None, verdict.code or "unreadable", verdict.message)
            continue
        sheets = [None] if verdict.kind == "csv" else [s for s in verdict.sheets if s not in verdict.hidden_sheets]
        for sheet in sheets:
            if sheet is not None and _norm(sheet) in README_SHEETS:
                continue
            try:
                grid = read_grid(path, sheet, verdict=verdict)
            except ReadError as exc:
                problems.add(path.name, sheet, None, None, exc.code, str(exc))
                continue
            node = sheet if sheet is not None else path.stem
            out.extend(matrices_from_rows(grid.rows, node=node, file=path.name, sheet=sheet, problems=problems,
                                          expert=path.stem if several else None, lang=lang))
    return out


# -- mapping onto the model ------------------------------------------------------------------------

class NodeIndex(dict):
    """Labels -> node key. A label is found exactly first (width and whitespace normalised, see
    ``ahp._key``), then loosely (``normalize_header``: case, brackets, units) only where the loose
    form names one node: "Tom (Education)" and "Tom (Experience)" never collide."""

    def __init__(self):
        super().__init__()
        self.exact: dict[str, str] = {}
        self.ambiguous: set[str] = set()

    def add(self, label: str, key: str) -> None:
        self.exact.setdefault(ahp._key(label), key)
        loose = _norm(label)
        if loose in self.ambiguous:
            return
        if loose in self and super().__getitem__(loose) != key:
            self.ambiguous.add(loose)
            super().__delitem__(loose)
        else:
            self.setdefault(loose, key)

    def find(self, label: Any) -> str | None:
        return self.exact.get(ahp._key(label)) or self.get(_norm(label))


def node_index(model: Model) -> NodeIndex:
    """Key / name / English name / goal names -> node key (goals: ``@base``, ``@bonus``)."""
    index = NodeIndex()
    for key, node in model.nodes.items():
        for label in (key, node.name, node.name_en):
            if label:
                index.add(label, key)
    for names in GOAL_NAMES.values():
        for block, label in names.items():
            index.add(label, f"@{block}")
    for extra in ("目标", "goal", "目标层"):
        index.add(extra, "@base")
    return index


def goal_children(model: Model, block: str) -> list[str]:
    return [r.key for r in model.roots if r.block == block]


def matrix_nodes(model: Model) -> list[tuple[str, list[str]]]:
    """(node, children) for every comparison the model needs: goals first, then nodes in tree order."""
    out = []
    for block in ("base", "bonus"):
        kids = goal_children(model, block)
        if len(kids) >= 2:
            out.append((f"@{block}", kids))
    for node in model.walk():
        if len(node.children) >= 2:
            out.append((node.key, list(node.children)))
    return out


def node_title(model: Model, node: str, lang: str) -> str:
    if node.startswith("@"):
        return GOAL_NAMES["en" if lang == "en" else "zh"][node[1:]]
    return model.nodes[node].label(lang)


@dataclass
class AhpOutcome:
    hierarchy: ahp.HierarchyResult
    weights: dict[str, float]  # model key -> new printed (global) weight
    node_keys: dict[str, str]  # matrix node name -> model key or @block
    model: Model | None  # the model with the new weights (None when they could not be applied)
    uncovered: list[str] = field(default_factory=list)  # nodes whose children kept printed proportions
    base: Model | None = None  # the model the sheets were mapped onto
    free = False

    def title(self, node: str, lang: str = "zh") -> str:
        return node_title(self.base, node, lang)

    def label(self, key: str, lang: str = "zh") -> str:
        return self.base.nodes[key].label(lang) if key in self.base.nodes else key

    def as_dict(self) -> dict[str, Any]:
        h = self.hierarchy
        return {"hierarchy": "model", "nodes": {name: res.as_dict() for name, res in h.nodes.items()},
                "global": dict(self.weights), "ri_table": h.ri_table, "method": h.method,
                "consistent": h.consistent, "uncovered": list(self.uncovered)}


def ahp_weights(model: Model, matrices: Sequence[ahp.PairwiseMatrix], problems: Problems, *,
                method: str = "eigen", ri_table: str = "saaty", complete: bool = True,
                lang: str = "zh") -> AhpOutcome:
    """AHP over the matrices, mapped to the model's keys; new printed weights and the new model.

    Nodes of the result are keyed by model key (goals: ``@base`` / ``@bonus``).
    """
    zh = lang != "en"
    index = node_index(model)
    node_keys: dict[str, str] = {}
    usable = []
    for pm in matrices:
        key = index.find(pm.node)
        if key is None:
            problems.add(pm.file, pm.sheet, None, None, "ahp_unknown_node",
                         f"工作表 {pm.sheet or pm.node} 不是模型中的指标（也不是“总目标”），已忽略；"
                         "自定的层次结构请用 --hierarchy free" if zh else
                         f"sheet {pm.sheet or pm.node} is not an indicator of the model (nor the goal); ignored; "
                         "for a hierarchy of your own use --hierarchy free",
                         severity="warning")
            continue
        expected = goal_children(model, key[1:]) if key.startswith("@") else model.nodes[key].children
        got = [index.find(n) for n in pm.names]
        if sorted(k or "?" for k in got) != sorted(expected):
            sep = "、" if zh else ", "
            want = sep.join(model.nodes[k].label(lang) for k in expected)
            problems.add(pm.file, pm.sheet, None, None, "ahp_children_mismatch",
                         f"工作表 {pm.sheet or pm.node} 比较的指标与模型不符；应为：{want}" if zh else
                         f"sheet {pm.sheet or pm.node} compares other items than the model's; expected: {want}")
            continue
        node_keys[pm.node] = key
        labels = {k: f"{k} {model.nodes[k].label(lang)}" for k in got}
        labels[key] = node_title(model, key, lang) if key.startswith("@") else f"{key} {model.nodes[key].label(lang)}"
        usable.append(ahp.PairwiseMatrix(key, list(got), pm.values, pm.expert, pm.file, pm.sheet, labels))
    root_weights = {}
    for key in {pm.node for pm in usable}:
        if key.startswith("@"):
            root_weights[key] = model.base_total if key == "@base" else model.bonus_total
        elif model.nodes[key].parent is None:
            root_weights[key] = model.nodes[key].weight
    h = ahp.analyse_hierarchy(usable, method=method, ri_table=ri_table, complete=complete, problems=problems,
                              lang=lang, root_weights=root_weights)
    weights: dict[str, float] = {}
    uncovered: list[str] = []
    for block in ("base", "bonus"):
        kids = goal_children(model, block)
        total = model.base_total if block == "base" else model.bonus_total
        if len(kids) == 1:
            weights[kids[0]] = total
        elif kids and f"@{block}" in h.nodes:
            for child, local in h.nodes[f"@{block}"].weights.items():
                weights[child] = total * local
        elif kids:
            uncovered.append(f"@{block}")
            for k in kids:
                weights[k] = model.nodes[k].weight
    for node in model.walk():
        if node.is_leaf:
            continue
        parent_w = weights[node.key]
        if len(node.children) == 1:
            weights[node.children[0]] = parent_w
        elif node.key in h.nodes:
            for child, local in h.nodes[node.key].weights.items():
                weights[child] = parent_w * local
        else:
            uncovered.append(node.key)
            total = math.fsum(model.nodes[c].weight for c in node.children)
            for c in node.children:
                weights[c] = parent_w * model.nodes[c].weight / total if total > 0 else 0.0
    for key in uncovered:
        label = node_title(model, key, lang) if key.startswith("@") else f"{key} {model.nodes[key].label(lang)}"
        problems.add("", None, None, None, "ahp_node_without_matrix",
                     f"{label} 没有判断矩阵：其下级保持原印刷权重的比例" if zh else
                     f"{label} has no matrix: its children keep the proportions of their printed weights",
                     severity="warning")
    new_model = None
    if h.nodes:
        try:
            new_model = model.with_printed_weights(weights, origin="AHP")
        except ConfigError as exc:
            problems.add("", None, None, None, "ahp_model_rejected", str(exc))
    return AhpOutcome(h, weights, node_keys, new_model, uncovered, model)


# -- a hierarchy of the sheets' own (free) ----------------------------------------------------------

HIERARCHY_MODES = ("auto", "model", "free")


def fits_model(model: Model, pm: ahp.PairwiseMatrix) -> bool:
    """True when the sheet is a model node (or a goal) and compares exactly that node's children."""
    index = node_index(model)
    key = index.find(pm.node)
    if key is None:
        return False
    expected = goal_children(model, key[1:]) if key.startswith("@") else model.nodes[key].children
    got = [index.find(n) for n in pm.names]
    return sorted(k or "?" for k in got) == sorted(expected)


def choose_hierarchy(model: Model, matrices: Sequence[ahp.PairwiseMatrix], mode: str = "auto"
                     ) -> tuple[str, list[str]]:
    """``model`` or ``free``, and (for ``auto``) the sheets that made it free.

    ``auto`` maps the sheets onto the model only when every sheet is a model node comparing exactly
    its children (what ``weights template`` writes); otherwise the sheets define their own hierarchy.
    """
    if mode not in HIERARCHY_MODES:
        raise ValueError(f"unknown hierarchy mode {mode!r}")
    if mode != "auto":
        return mode, []
    misfits: list[str] = []
    for pm in matrices:
        name = pm.sheet or pm.node
        if not fits_model(model, pm) and name not in misfits:
            misfits.append(name)
    return ("free" if misfits else "model"), misfits


@dataclass
class FreeOutcome:
    """AHP on the hierarchy the sheets describe: nodes and items keyed by their names as written."""

    hierarchy: ahp.HierarchyResult
    children: dict[str, list[str]]  # node -> its items, in sheet order
    parents: dict[str, list[str]]  # item -> the nodes that compare it (more than one: not a tree)
    leaves: list[str]  # items no sheet expands, in order of appearance
    levels: dict[str, int]  # root 0, its items 1, ...
    sheets: dict[str, str]  # node -> its sheet
    free = True
    model = None
    uncovered: list[str] = field(default_factory=list)

    @property
    def weights(self) -> dict[str, float]:
        return self.hierarchy.global_weights

    def title(self, node: str, lang: str = "zh") -> str:
        return node

    def label(self, name: str, lang: str = "zh") -> str:
        return name

    def walk(self):
        """(parent, item, level) down from each root, depth first, in sheet order."""
        def visit(node, seen):
            for c in self.children.get(node, []):
                yield node, c, self.levels.get(node, 0) + 1
                if c in self.children and c not in seen:
                    yield from visit(c, seen | {c})
        for root in self.hierarchy.roots:
            yield from visit(root, {root})

    def as_dict(self) -> dict[str, Any]:
        h = self.hierarchy
        return {"hierarchy": "free", "nodes": {name: res.as_dict() for name, res in h.nodes.items()},
                "roots": list(h.roots), "leaves": list(self.leaves), "global": dict(h.global_weights),
                "sheets": dict(self.sheets), "ri_table": h.ri_table, "method": h.method, "consistent": h.consistent}


def ahp_free(matrices: Sequence[ahp.PairwiseMatrix], problems: Problems, *, method: str = "eigen",
             ri_table: str = "saaty", complete: bool = True, lang: str = "zh") -> FreeOutcome:
    """AHP on the hierarchy the sheets themselves describe.

    A sheet is a node; its items are its children. An item is the node of another sheet when its
    name equals that sheet's name (or the sheet's top-left cell, or the name cut to a legal sheet
    name) after width and whitespace normalisation only: "Tom (Education)" and "Tom (Experience)"
    stay two items. The root is the sheet no other sheet names; leaves are items no sheet expands.
    """
    import difflib

    zh = lang != "en"
    key = ahp._key
    groups: dict[str, list[ahp.PairwiseMatrix]] = {}
    for pm in matrices:
        groups.setdefault(key(pm.sheet or pm.node), []).append(pm)
    sheet_of = {g: (pms[0].sheet or pms[0].node) for g, pms in groups.items()}
    titles = [key(pms[0].title) for pms in groups.values() if pms[0].title]
    aliases: dict[str, set[str]] = {}
    for g, pms in groups.items():
        aliases[g] = {g}
        t = key(pms[0].title)
        if t and titles.count(t) == 1:  # a corner cell repeated on every sheet names nothing
            aliases[g].add(t)

    def expands(item: str) -> str | None:
        hits = [g for g in groups if key(item) in aliases[g] or key(sheet_title(item)) == g]
        if len(hits) > 1:
            hits = [g for g in hits if key(item) == g] or hits[:1]
        return hits[0] if hits else None

    display: dict[str, str] = {}
    for g, pms in groups.items():
        for item in pms[0].names:
            h = expands(item)
            if h is not None and h != g:
                display.setdefault(h, item)
    for g in groups:
        display.setdefault(g, sheet_of[g])
    renamed = []
    for g, pms in groups.items():
        for pm in pms:
            names = []
            for item in pm.names:
                h = expands(item)
                names.append(display[h] if h is not None and h != g else item)
            renamed.append(ahp.PairwiseMatrix(display[g], names, pm.values, pm.expert, pm.file, pm.sheet,
                                              {}, dict(pm.cells), pm.title, pm.where))
    h = ahp.analyse_hierarchy(renamed, method=method, ri_table=ri_table, complete=complete, problems=problems,
                              lang=lang)
    children = {node: list(res.names) for node, res in h.nodes.items()}
    parents: dict[str, list[str]] = {}
    for node, kids in children.items():
        for c in kids:
            parents.setdefault(c, []).append(node)
    leaves = []
    for kids in children.values():
        for c in kids:
            if c not in children and c not in leaves:
                leaves.append(c)
    levels: dict[str, int] = {}
    frontier = [(r, 0) for r in h.roots]
    while frontier:
        node, depth = frontier.pop(0)
        if node in levels:
            continue
        levels[node] = depth
        frontier += [(c, depth + 1) for c in children.get(node, [])]
    if len(h.roots) > 1:
        sep = "、" if zh else ", "
        hints = []
        for r in h.roots[1:]:
            close = difflib.get_close_matches(r, leaves, n=1, cutoff=0.6)
            if close:
                hints.append(f"“{r}”与“{close[0]}”？" if zh else f"'{r}' and '{close[0]}'?")
        problems.add("", None, None, None, "ahp_several_roots",
                     f"工作表 {sep.join(h.roots)} 都不是其他工作表的下级，各自作为一个总目标（权重 1）"
                     + (f"；名称是否应相同：{sep.join(hints)}" if hints else "") if zh else
                     f"sheets {sep.join(h.roots)} are named by no other sheet, so each is a goal of its own (weight 1)"
                     + (f"; should these names be the same: {sep.join(hints)}" if hints else ""), severity="warning")
    return FreeOutcome(h, children, parents, leaves, levels, {display[g]: sheet_of[g] for g in groups})


# -- the template -----------------------------------------------------------------------------------

_INTRO = {
    "zh": [
        "每个工作表是一个上级指标的两两比较判断矩阵：第一行和第一列是它的下级指标，工作表名就是上级指标。",
        "只填对角线右上方的白色格子：行指标相对列指标的重要程度，1–9 标度（1 同等，3 稍重要，5 明显重要，"
        "7 强烈重要，9 极端重要，2/4/6/8 居中）；列指标更重要时填分数，如 1/3。",
        "对角线为 1；左下方灰色格子可留空（自动取倒数），若填写须与右上方互为倒数。",
        "留空的白色格子是缺失判断：工具按 Bozóki–Fülöp–Rónyai 方法补全（使 λmax 最小）并提示，绝不当作 1；"
        "加 --no-complete 则只报告。",
        "多位专家：每人一个工作簿（文件名即专家），或在最左侧加一列“专家”，把各人的矩阵上下排列；按几何平均合成。",
        "填好后运行：ccredit weights ahp 本文件.xlsx --out 权重.xlsx --config-out 新模型.toml",
    ],
    "en": [
        "Each sheet is the pairwise comparison matrix of one parent indicator (the sheet's name): its children "
        "along the first row and column.",
        "Fill only the white cells above the diagonal: how much more important the row item is than the column "
        "item on Saaty's 1-9 scale (1 equal, 3 moderate, 5 strong, 7 very strong, 9 extreme, 2/4/6/8 between); "
        "write a fraction such as 1/3 when the column item is more important.",
        "The diagonal is 1; the grey cells below it may stay blank (reciprocals are taken); if filled they must "
        "be reciprocals.",
        "A white cell left blank is a missing judgment: the tool completes it by the Bozóki-Fülöp-Rónyai method "
        "(minimal λmax) and says so, never reading it as 1; with --no-complete it only reports it.",
        "Several experts: one workbook each (the file name is the expert), or a first column 'expert' with their "
        "matrices stacked; judgments are combined by the geometric mean.",
        "Then run: ccredit weights ahp this.xlsx --out weights.xlsx --config-out new_model.toml",
    ],
}


def write_matrix_template(model: Model, path: Path, lang: str = "zh"):
    """Empty pairwise matrices for the model: diagonal 1, lower triangle shaded (reciprocals)."""
    from cluster_credit_cli.outputs.excel import Workbook, display_width

    key = "en" if lang == "en" else "zh"
    with Workbook(path) as wb:
        wb.set_print_info("AHP pairwise matrices" if key == "en" else "层次分析法判断矩阵", None, lang)
        intro = wb.book.add_worksheet("Instructions" if key == "en" else "说明")
        intro.set_column(0, 0, 100)
        for i, line in enumerate(_INTRO[key]):
            wb.write_note(intro, i, 0, 0, line)
        head = wb.header_format()
        diag = wb.fmt(bg_color="#BFBFBF", align="center", border=1)
        lower = wb.fmt(bg_color="#EDEDED", border=1)
        upper = wb.fmt(border=1, align="center")
        used: set[str] = set()
        for node, kids in matrix_nodes(model):
            title = node_title(model, node, lang)
            name = sheet_title(title)
            if name in used or _norm(name) in README_SHEETS:
                name = sheet_title(node.lstrip("@"))
            used.add(name)
            ws = wb.book.add_worksheet(name)
            labels = [model.nodes[k].label(lang) for k in kids]
            ws.write_string(0, 0, title, head)
            for j, label in enumerate(labels):
                ws.write_string(0, j + 1, label, head)
                ws.write_string(j + 1, 0, label, head)
                for i in range(len(kids)):
                    if i == j:
                        ws.write_number(i + 1, j + 1, 1, diag)
                    elif j < i:
                        ws.write_blank(i + 1, j + 1, None, lower)
                    else:
                        ws.write_blank(i + 1, j + 1, None, upper)
            widest = max(display_width(x) for x in labels + [title]) + 2
            ws.set_column(0, len(kids), max(10, widest))
            ws.freeze_panes(1, 1)
            wb.print_setup(ws, header_row=0, repeat_cols=1)
    return wb.close()


# -- weight tables (model export layout) ------------------------------------------------------------

_KEY_HEADERS = {_norm(x) for x in ("代码", "key", "指标代码")}
_PRINTED_HEADERS = {_norm(x) for x in ("印刷权重", "printed weight")}


def read_weight_table(path: Path, lang: str = "zh") -> dict[str, float]:
    """{key: printed weight} from a table in the ``ccredit model export`` layout (first sheet)."""
    from cluster_credit_cli.inputs.reading import ReadError, read_grid

    zh = lang != "en"
    name = Path(path).name
    try:
        grid = read_grid(Path(path))
    except ReadError as exc:
        raise ConfigError(f"--weights {name}: {exc}") from None
    rows = grid.rows
    for h, row in enumerate(rows[:20]):
        heads = [_norm(v) for v in row]
        k = next((j for j, v in enumerate(heads) if v in _KEY_HEADERS), None)
        w = next((j for j, v in enumerate(heads) if v in _PRINTED_HEADERS), None)
        if k is not None and w is not None:
            break
    else:
        raise ConfigError(f"{name}：找不到“代码”和“印刷权重”两列（请用 ccredit model export 生成的表）" if zh else
                          f"{name}: no 'Key' and 'Printed weight' columns found (use a table written by "
                          "ccredit model export)")
    out: dict[str, float] = {}
    for i, row in enumerate(rows[h + 1:], start=h + 2):
        key = clean_text(row[k]) if k < len(row) else ""
        raw = row[w] if w < len(row) else None
        if not key or (_blank(raw) and all(_blank(v) for j, v in enumerate(row) if j not in (k,))):
            continue  # blank lines and the warning lines model export writes below the table
        try:
            value = ahp.parse_value(raw)
        except ValueError:
            value = math.nan
        if math.isnan(value):
            if _blank(raw) and (k + 1 >= len(row) or _blank(row[k + 1])):
                continue  # a note line (e.g. "警告" in the key column, text further right)
            raise ConfigError(f"{name}：第 {i} 行 {key} 的印刷权重 {raw!r} 不是数字" if zh else
                              f"{name}: row {i}, {key}: printed weight {raw!r} is not a number")
        if key in out:
            raise ConfigError(f"{name}：代码 {key} 重复（第 {i} 行）" if zh else f"{name}: key {key} appears twice (row {i})")
        out[key] = value
    if not out:
        raise ConfigError(f"{name}：权重表为空" if zh else f"{name}: the weight table is empty")
    return out


def apply_weight_table(model: Model, path: Path, lang: str = "zh") -> Model:
    """The model with printed weights from a weight table, validated by the model checks."""
    return model.with_printed_weights(read_weight_table(path, lang), origin=Path(path).name)


# -- weight configs -----------------------------------------------------------------------------------

def weight_config_text(model: Model, weights: dict[str, float], header: str = "") -> str:
    """The model file's text with each node's ``weight = ...`` replaced; verified by loading it back."""
    text = model.path.read_text(encoding="utf-8-sig")
    for key, value in weights.items():
        pattern = re.compile(r'(\{[^{}]*?\bkey\s*=\s*"' + re.escape(key) + r'"[^{}]*?\bweight\s*=\s*)'
                             r"([-+0-9.eE]+)")
        text, n = pattern.subn(lambda m: m.group(1) + repr(float(value)), text, count=1)
        if n != 1:
            raise ConfigError(f"{model.path.name}: cannot find the weight of node {key} to replace (nodes must be "
                              "inline tables {{ key = ..., weight = ... }}); use --out and score --weights instead")
    if header:
        text = "".join(f"# {line}\n" for line in header.splitlines()) + text
    check = build_model(tomllib.loads(text), model.path, origin="weight config")
    for key, value in weights.items():
        if not math.isclose(check.nodes[key].weight, value, rel_tol=1e-12, abs_tol=1e-15):
            raise ConfigError(f"weight config: node {key} came back as {check.nodes[key].weight}, not {value}")
    return text


# -- printed weights: 4 decimals, each sibling set summing exactly ------------------------------------

WEIGHT_DECIMALS = 4


def largest_remainder(values: Sequence[float], total: int) -> list[int]:
    """Integers proportional to ``values`` summing exactly to ``total`` (Hamilton's largest remainder:
    floor each share, then give the units left to the largest fractional parts, first come first)."""
    s = math.fsum(values)
    if total <= 0 or not values:
        return [0] * len(values)
    shares = [v / s * total if s > 0 else total / len(values) for v in values]
    floors = [math.floor(x + 1e-9) for x in shares]
    left = total - sum(floors)
    order = sorted(range(len(values)), key=lambda i: (-round(shares[i] - floors[i], 9), i))  # ties: first
    for i in order[:max(left, 0)]:
        floors[i] += 1
    return floors


def round_tree(children: dict[str, list[str]], blocks: Sequence[tuple[list[str], float]],
               exact: dict[str, float], decimals: int = WEIGHT_DECIMALS) -> dict[str, float]:
    """Global weights rounded to ``decimals`` so that every set of siblings sums exactly to its
    (rounded) parent and each block's first level to its total. ``blocks``: (first-level keys, total)."""
    unit = 10 ** decimals
    units: dict[str, int] = {}

    def down(keys: list[str], total: int):
        for k, u in zip(keys, largest_remainder([exact.get(k, 0.0) for k in keys], total)):
            units[k] = u
            if children.get(k):
                down(children[k], u)

    for keys, total in blocks:
        if keys:
            down(keys, round(total * unit))
    return {k: u / unit for k, u in units.items()}


def round_model_weights(model: Model, weights: dict[str, float], decimals: int = WEIGHT_DECIMALS) -> dict[str, float]:
    """The model's new global weights as they are printed in a model file (see ``round_tree``)."""
    children = {k: list(n.children) for k, n in model.nodes.items()}
    blocks = []
    for block in ("base", "bonus"):
        roots = [r.key for r in model.roots if r.block == block]
        if roots:
            blocks.append((roots, math.fsum(weights.get(r, model.nodes[r].weight) for r in roots)))
    return round_tree(children, blocks, weights, decimals)


def rounded_weight_config_text(model: Model, weights: dict[str, float], header: str = "") -> str:
    """``weight_config_text`` with the weights printed to 4 decimals, siblings summing exactly."""
    return weight_config_text(model, round_model_weights(model, weights), header)
