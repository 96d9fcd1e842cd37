"""``ccredit weights ahp|template``: where the weights come from."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from cluster_credit_cli.i18n import diverted_note
from cluster_credit_cli.commands.common import (ConfigOpt, DebugOpt, JsonOpt, LangOpt, OutOpt, QuietOpt, beside_input,
                                                check_lang, check_outputs, display_width, emit_json, existing_file,
                                                guard, pad, to_stdout)
from cluster_credit_cli.atomic import output_set

weights_app = typer.Typer(help="AHP weights from experts' pairwise matrices, and the matrices' template.",
                          no_args_is_help=True)

RI_CHOICES = ("saaty", "alonso-lamata", "donegan-dodd", "cn-textbook")


@weights_app.command("ahp")
@guard
def weights_ahp(
    matrices: List[Path] = typer.Argument(..., help="Workbook(s) of pairwise matrices, one sheet per node; "
                                          "several workbooks = several experts.", metavar="MATRICES.xlsx..."),
    method: str = typer.Option("eigen", "--method", help="Local weights: eigen (principal eigenvector) or "
                               "geometric (row geometric means)."),
    ri: str = typer.Option("saaty", "--ri", help="Random Index table: saaty, alonso-lamata, donegan-dodd or "
                           "cn-textbook."),
    complete: bool = typer.Option(True, "--complete/--no-complete", help="Complete missing judgments "
                                  "(Bozóki–Fülöp–Rónyai, minimal λmax) or only report them."),
    hierarchy: str = typer.Option("auto", "--hierarchy", help="model: the sheets are the model's indicators; "
                                  "free: the sheets define their own hierarchy; auto: model when every sheet "
                                  "is a model indicator comparing its children, else free."),
    out: Optional[Path] = OutOpt, json_path: Optional[Path] = JsonOpt,
    config_out: Optional[Path] = typer.Option(None, "--config-out", help="Write the model file with the new "
                                              "printed weights (use it with score --config).", metavar="PATH"),
    config: Optional[Path] = ConfigOpt, lang: str = LangOpt, quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Weights by AHP: per node local weights, λmax, CI, CR (flagged at CR ≥ 0.10 with the judgments most
    responsible), experts combined by the geometric mean (each expert's own CR and the cells that make
    the aggregate inconsistent are named), global weights down the hierarchy.

    The hierarchy is the model's (sheets named after its indicators, as weights template writes them)
    or, for a model still being designed, the sheets' own: a sheet per node, its items along the first
    row and column; an item that names another sheet is that node; the root is the sheet no other
    names.

    Writes the workbook to --out, or beside the first matrices file (判断矩阵_权重.xlsx; several files:
    权重_3份文件.xlsx); the JSON only with --json; the model's file with the new weights only with
    --config-out (for a hierarchy of your own: ccredit model init --from-ahp).

    Exit codes: 0 all consistent; 1 results written but a matrix is inconsistent or has problems; 2 usage error.

    Example: ccredit weights ahp 判断矩阵.xlsx --ri cn-textbook --out 权重.xlsx --config-out 新模型.toml
    """
    import json

    from cluster_credit_cli.atomic import atomic_write_text
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.problems import Problems, UsageError
    from cluster_credit_cli.weights.tables import (HIERARCHY_MODES, ahp_free, ahp_weights, choose_hierarchy,
                                                   read_matrix_workbooks, rounded_weight_config_text)

    check_lang(lang)
    quiet = quiet or to_stdout(json_path)  # stdout carries the JSON alone
    if method not in ("eigen", "geometric"):
        raise UsageError(f"--method: {method!r} is not eigen or geometric" if lang == "en" else
                         f"--method：“{method}”不是 eigen 或 geometric")
    if ri not in RI_CHOICES:
        raise UsageError(f"--ri: {ri!r} is not one of {', '.join(RI_CHOICES)}" if lang == "en" else
                         f"--ri：“{ri}”不是 {'、'.join(RI_CHOICES)} 之一")
    if hierarchy not in HIERARCHY_MODES:
        raise UsageError(f"--hierarchy: {hierarchy!r} is not one of {', '.join(HIERARCHY_MODES)}" if lang == "en" else
                         f"--hierarchy：“{hierarchy}”不是 {'、'.join(HIERARCHY_MODES)} 之一")
    for m in matrices:
        existing_file(m, "matrices")
    en = lang == "en"
    # outputs are checked before any computation: never over an input, each one writable
    target = out or beside_input(matrices, "权重", "weights", lang)
    check_outputs({"--out": target, "--json": json_path, "--config-out": config_out}, [*matrices, config])
    model = load_model(config)
    problems = Problems()
    mats = read_matrix_workbooks(matrices, problems, lang)
    mode, misfits = choose_hierarchy(model, mats, hierarchy)
    if mode == "free":
        if config_out:
            raise UsageError("--config-out replaces the weights of the model's indicators, but these sheets are a "
                             "hierarchy of their own; write a model for it with: ccredit model init --from-ahp "
                             f"{matrices[0]}" if en else
                             "--config-out 只替换模型中已有指标的权重，而这些工作表是自定的层次结构；"
                             f"请用 ccredit model init --from-ahp {matrices[0]} 为它生成模型文件")
        outcome = ahp_free(mats, problems, method=method, ri_table=ri, complete=complete, lang=lang)
    else:
        outcome = ahp_weights(model, mats, problems, method=method, ri_table=ri, complete=complete, lang=lang)
    h = outcome.hierarchy
    if not h.nodes:
        for p in problems:
            typer.echo(f"  {p.message}", err=True)
        raise UsageError("no usable pairwise matrix found" if en else "没有可用的判断矩阵")
    written = []
    with output_set():  # all of the run's outputs or none of them
        written.append(_write_workbook(target, outcome, problems, lang))
        if json_path:
            payload = {"tool": "ccredit", **outcome.as_dict(), "problems": problems.as_dicts()}
            written.append(emit_json(json_path, lambda p: atomic_write_text(p, json.dumps(
                payload, ensure_ascii=False, indent=2))))
        written = [o for o in written if o is not None]
        if config_out:
            if outcome.model is None:
                raise UsageError("the new weights do not make a valid model; see the problems above" if en else
                                 "新权重不能构成有效模型，见上方问题")
            from cluster_credit_cli.weights.ahp import RI_LABELS
            header = (f"Weights from AHP ({method}, RI {RI_LABELS[ri][1]}) of "
                      f"{', '.join(Path(m).name for m in matrices)}"
                      f"\nprinted to 4 decimals, each set of siblings summing exactly to its parent (largest remainder)"
                      f"\nwritten by ccredit weights ahp; everything else is a copy of {model.path.name}")
            written.append(atomic_write_text(config_out, rounded_weight_config_text(model, outcome.weights, header)))
    if not quiet:
        if mode == "free":
            typer.echo(f"Hierarchy: the sheets' own ({len(h.nodes)} nodes, {len(outcome.leaves)} leaves)" if en else
                       f"层次结构：按工作表自定（{len(h.nodes)} 个节点，{len(outcome.leaves)} 个末级指标）")
            if hierarchy == "auto" and len(misfits) < len({pm.sheet or pm.node for pm in mats}):
                shown = ("、" if not en else ", ").join(misfits[:5])
                typer.echo(f"  (sheets {shown} are not model indicators comparing their children; to map onto "
                           "the model use --hierarchy model)" if en else
                           f"  （工作表 {shown} 不是模型中比较其下级的指标；如要对应模型，请用 --hierarchy model）")
        else:
            typer.echo(f"Hierarchy: the model's ({model.path.name})" if en else f"层次结构：模型 {model.path.name}")
        _print_summary(outcome, problems, ri, method, lang)
        for o in written:
            typer.echo(("Written: " if en else "已写出：") + str(o.written))
    for o in written:
        if o.diverted:
            typer.echo(diverted_note(o), err=True)
    bad = not h.consistent or any(p.severity == "error" for p in problems)
    raise typer.Exit(1 if bad else 0)


def _echo_wrapped(items, indent: str = "    ", width: int = 78):
    """Items two spaces apart, wrapped to an 80-column terminal (CJK counted double)."""
    from cluster_credit_cli.outputs.excel import display_width

    line = ""
    for item in items:
        if line and display_width(indent + line + "  " + item) > width:
            typer.echo(indent + line)
            line = ""
        line = f"{line}  {item}" if line else item
    if line:
        typer.echo(indent + line)


def _print_summary(outcome, problems, ri, method, lang):
    from cluster_credit_cli.weights.ahp import RI_LABELS

    en = lang == "en"
    h = outcome.hierarchy
    typer.echo((f"RI table: {RI_LABELS[ri][1]}; weights: {'principal eigenvector' if method == 'eigen' else 'row geometric mean'}"
                if en else f"随机一致性指标 RI 表：{RI_LABELS[ri][0]}；权重：{'特征向量法' if method == 'eigen' else '几何平均（方根）法'}"))
    for key, res in h.nodes.items():
        cr = "-" if res.cr is None else f"{res.cr:.4f}"
        flag = ("ok" if res.consistent else "INCONSISTENT") if en else ("通过" if res.consistent else "未通过")
        experts = f"  experts {res.experts}" if en and res.experts > 1 else (f"  专家 {res.experts} 人" if res.experts > 1 else "")
        typer.echo(f"  {outcome.title(key, lang)}: n={len(res.names)}  λmax={res.lambda_max:.4f}  CI={res.ci:.4f}  "
                   f"RI={res.ri if res.ri is not None else '-'}  CR={cr}  {flag}{experts}")
        _echo_wrapped([f"{outcome.label(k, lang)} {w:.4f}" for k, w in res.weights.items()])
        if res.expert_details:
            typer.echo(("    each expert's own CR: " if en else "    各专家自身 CR：") + "  ".join(
                f"{d.expert} {'-' if d.cr is None else f'{d.cr:.4f}'}" for d in res.expert_details))
    if outcome.free:
        typer.echo("Global weights of the leaves:" if en else "末级指标的全局权重：")
        _echo_wrapped([f"{k} {outcome.weights.get(k, 0.0):.4f}" for k in outcome.leaves])
    for p in problems:
        typer.echo(("Warning: " if en else "警告：") + p.message if p.severity == "warning" else
                   ("Problem: " if en else "问题：") + p.message)


def _write_workbook(path, outcome, problems, lang):
    from cluster_credit_cli.outputs.excel import Column, Workbook, write_table
    from cluster_credit_cli.outputs.rating_workbook import write_model_sheet, write_problems_sheet
    from cluster_credit_cli.weights.ahp import AGGREGATE_SHEET, RI_LABELS

    en = lang == "en"
    h = outcome.hierarchy
    title, label = outcome.title, outcome.label
    with Workbook(path) as wb:
        wb.set_print_info("AHP weights" if en else "层次分析法（AHP）权重", None, lang)
        if outcome.model is not None:
            write_model_sheet(wb, outcome.model, lang)  # the model-table layout: score --weights reads it
        elif outcome.free:
            cols = [Column("Parent" if en else "上级", width=16), Column("Item" if en else "指标", width=20),
                    Column("Level" if en else "层级", "int"), Column("Local weight" if en else "局部权重", "number", 4),
                    Column("Global weight via this parent" if en else "经此上级的全局权重", "number", 6),
                    Column("Global weight" if en else "全局权重", "number", 6), Column("Leaf" if en else "末级")]
            rows = [[parent, item, level, h.nodes[parent].weights[item],
                     h.global_weights.get(parent, 1.0) * h.nodes[parent].weights[item] if parent not in h.roots
                     else h.nodes[parent].weights[item], h.global_weights.get(item),
                     ("yes" if en else "是") if item in outcome.leaves else ("no" if en else "否")]
                    for parent, item, level in outcome.walk()]
            write_table(wb, "Hierarchy" if en else "层次结构", cols, rows)
        cols = [Column("Node" if en else "节点", width=16), Column("n", "int"), Column("Experts" if en else "专家数", "int"),
                Column("λmax", "number", 4), Column("CI", "number", 4), Column("RI", "number", 4),
                Column("CR", "number", 4), Column("Consistent (CR<0.10)" if en else "一致性（CR<0.10）"),
                Column("RI table" if en else "RI 表"), Column("Method" if en else "方法")]
        rows = [[title(k, lang), len(r.names), r.experts, r.lambda_max, r.ci, r.ri, r.cr,
                 ("yes" if r.consistent else "NO") if en else ("通过" if r.consistent else "未通过"),
                 RI_LABELS[r.ri_table][1 if en else 0], r.method] for k, r in h.nodes.items()]
        write_table(wb, "Consistency" if en else "一致性检验", cols, rows)
        cols = [Column("Node" if en else "节点", width=16)] + ([] if outcome.free else [Column("Key" if en else "代码")]) + [
                Column("Indicator" if en else "指标", width=20), Column("Local weight" if en else "局部权重", "number", 4),
                Column("Global weight" if en else "全局权重", "number", 6)]
        rows = [[title(k, lang)] + ([] if outcome.free else [c]) + [label(c, lang), w, outcome.weights.get(c)]
                for k, r in h.nodes.items() for c, w in r.weights.items()]
        write_table(wb, "Local weights" if en else "局部权重", cols, rows)
        cols = [Column("Node" if en else "节点", width=16), Column("Kind" if en else "类别"),
                Column("Row item" if en else "行指标", width=18), Column("Column item" if en else "列指标", width=18),
                Column("Judgment" if en else "判断值", "number", 4),
                Column("Implied by weights" if en else "与权重一致的值", "number", 4),
                Column("|ln deviation|" if en else "偏离 |ln|", "number", 4)]
        rows = []
        for k, r in h.nodes.items():
            kind = ("inconsistent (aggregate)" if en else "不一致判断（合成矩阵）") if r.expert_details else \
                ("inconsistent" if en else "不一致判断")
            for c in r.culprits:
                rows.append([title(k, lang), kind, label(c.row, lang), label(c.column, lang), c.value,
                             c.consistent, c.deviation])
            for a, b, v in r.completed:
                rows.append([title(k, lang), "completed" if en else "补全的缺失判断",
                             label(a, lang), label(b, lang), v, None, None])
        write_table(wb, "Judgments to review" if en else "待复核判断", cols, rows)
        groups = [(k, r) for k, r in h.nodes.items() if r.expert_details]
        if groups:
            _write_expert_sheet(wb, groups, title, label, lang)
            _write_aggregate_sheet(wb, groups, title, label, lang, AGGREGATE_SHEET[1 if en else 0])
        write_problems_sheet(wb, problems.as_dicts(), lang)
    return wb.close()


def _write_expert_sheet(wb, groups, title, label, lang):
    """Per node and expert: own CR, share of the aggregate's inconsistency, the cells that contribute most."""
    from cluster_credit_cli.outputs.excel import Column, write_table
    from cluster_credit_cli.weights.ahp import fraction

    en = lang == "en"
    cols = [Column("Node" if en else "节点", width=16), Column("Expert" if en else "专家"),
            Column("File" if en else "文件", width=20), Column("Sheet" if en else "工作表"),
            Column("Own CR" if en else "自身 CR", "number", 4),
            Column("Share of aggregate inconsistency" if en else "占合成矩阵不一致性", "percent", 0),
            Column("Cell" if en else "单元格"), Column("Row item" if en else "行指标", width=16),
            Column("Column item" if en else "列指标", width=16), Column("Judgment as written" if en else "所填判断"),
            Column("Implied by the group's weights" if en else "合成权重对应的值", "number", 4)]
    rows = []
    for k, r in groups:
        for d in sorted(r.expert_details, key=lambda d: -d.share):
            base = [title(k, lang), d.expert, d.file, d.sheet, d.cr, d.share]
            # cells only where the aggregate is inconsistent, for the experts who carry at least half an
            # equal part of it (the same rule as the problems)
            named = [] if r.consistent or d.share < 0.5 / len(r.expert_details) else d.judgments
            if not named:
                rows.append(base + [None] * 5)
            for j in named:
                rows.append(base + [j.cell, label(j.row, lang), label(j.column, lang), fraction(j.value), j.implied])
    write_table(wb, "Experts" if en else "各专家一致性", cols, rows)


def _write_aggregate_sheet(wb, groups, title, label, lang, name):
    """The aggregated (geometric-mean) matrices, so numbers quoted in messages can be found."""
    from cluster_credit_cli.outputs.excel import display_width

    en = lang == "en"
    ws = wb.book.add_worksheet(name)
    head = wb.header_format()
    bold = wb.fmt(bold=True)
    num = wb.fmt(num_format="0.0000", border=1)
    r = 0
    widest = 12
    for k, res in groups:
        names = [label(x, lang) for x in res.names]
        wb.write_cell(ws, r, 0, (f"{title(k, lang)}: geometric mean of {res.experts} experts, CR={res.cr:.4f}" if en
                                 else f"{title(k, lang)}：{res.experts} 位专家判断的几何平均，CR={res.cr:.4f}"), bold)
        r += 1
        wb.write_cell(ws, r, 0, title(k, lang), head)
        for j, x in enumerate(names):
            wb.write_cell(ws, r, j + 1, x, head)
            wb.write_cell(ws, r + 1 + j, 0, x, head)
            for i in range(len(names)):
                ws.write_number(r + 1 + i, j + 1, float(res.matrix[i, j]), num)
        widest = max([widest] + [display_width(x) + 2 for x in names])
        r += len(names) + 2
    ws.set_column(0, 30, widest)


@weights_app.command("template")
@guard
def weights_template(out: Optional[Path] = OutOpt, config: Optional[Path] = ConfigOpt, lang: str = LangOpt,
                     debug: bool = DebugOpt) -> None:
    """Write the empty pairwise matrices for the current model: one sheet per indicator with two or more
    children (and the goal comparing the first-level dimensions), children's names along the first row
    and column, diagonal 1, lower triangle shaded. Experts fill the white cells; then run weights ahp.

    Example: ccredit weights template --out 判断矩阵.xlsx
    """
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.weights.tables import write_matrix_template

    check_lang(lang)
    model = load_model(config)
    target = out or Path("AHP_matrices.xlsx" if lang == "en" else "AHP判断矩阵.xlsx")
    outcome = write_matrix_template(model, target, lang)
    typer.echo(str(outcome.written))
    if outcome.diverted:
        typer.echo(diverted_note(outcome), err=True)


def _load_result(path: Path, config: Optional[Path], lang: str):
    import json

    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.problems import UsageError

    existing_file(path, "result")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a ccredit result JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("tool") != "ccredit" or "enterprises" not in data:
        raise UsageError(f"{path}: not a ccredit result JSON (write one with ccredit score --json)")
    model = load_model(config)
    if data.get("config_hash") and data["config_hash"] != model.hash:
        raise UsageError(f"{path} was scored with another model (config hash differs); pass the same --config"
                         if lang == "en" else f"{path} 用的是另一个模型（模型哈希不同）；请用相同的 --config")
    return data, model


@weights_app.command("sensitivity")
@guard
def weights_sensitivity(
    result: Path = typer.Argument(..., help="The result of ccredit score --json.", metavar="RESULT.json"),
    draws: int = typer.Option(1000, "--draws", "-n", help="Number of perturbed weight vectors."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (same seed, same result)."),
    spread: float = typer.Option(0.2, "--spread", help="Each printed weight is multiplied by U(1−s, 1+s)."),
    out: Optional[Path] = OutOpt, json_path: Optional[Path] = JsonOpt, config: Optional[Path] = ConfigOpt,
    lang: str = LangOpt, quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Would the ranking change if the weights were a little different? Draws weight vectors around the
    model's (each printed weight ±spread, renormalised within its parent) and rescores: per enterprise
    the rank interval (5th–95th percentile), the probability of keeping its grade and the dimension whose
    weight moves it most.

    Example: ccredit weights sensitivity 评级结果.json --draws 1000 --seed 1 --out 敏感性.xlsx
    """
    import json

    from cluster_credit_cli.atomic import atomic_write_text
    from cluster_credit_cli.outputs.excel import Workbook
    from cluster_credit_cli.problems import UsageError
    from cluster_credit_cli.weights.sensitivity import rank_sensitivity, scores_from_result_json, write_sensitivity_sheet

    check_lang(lang)
    quiet = quiet or to_stdout(json_path)  # stdout carries the JSON alone
    if draws < 1 or not 0 <= spread < 1:
        raise UsageError("--draws must be ≥ 1 and --spread in [0, 1)")
    target = out or beside_input([result], "敏感性", "sensitivity", lang)
    check_outputs({"--out": target, "--json": json_path}, [result, config])
    data, model = _load_result(result, config, lang)
    try:
        scores, mask = scores_from_result_json(data, model)
    except ValueError as exc:
        raise UsageError(f"{result}: {exc}") from None
    res = rank_sensitivity(model, scores, draws=draws, spread=spread, seed=seed, rankable=mask)
    names = {e["code"]: e.get("name") or "" for e in data["enterprises"]}
    with output_set():
        with Workbook(target) as wb:
            wb.set_print_info("Weight sensitivity" if lang == "en" else "权重敏感性分析", data.get("as_of"), lang)
            write_sensitivity_sheet(wb, res, model, lang, names)
        written = [wb.close()]
        if json_path:
            written.append(emit_json(json_path, lambda p: atomic_write_text(
                p, json.dumps({"tool": "ccredit", "sensitivity": res.as_dict()}, ensure_ascii=False, indent=2))))
        written = [o for o in written if o is not None]
    if not quiet:
        t = res.table
        ranked = t[t["rank"].notna()]
        moved = int((ranked["rank_p05"] != ranked["rank_p95"]).sum())
        unstable = int((t["p_keep_grade"] < 0.9).sum())
        typer.echo(f"{draws} draws, spread ±{spread:.0%}, seed {seed}: {moved} of {len(ranked)} ranked enterprises "
                   f"have a rank interval; {unstable} keep their grade in fewer than 90 % of draws"
                   if lang == "en" else
                   f"{draws} 次抽样，权重浮动 ±{spread:.0%}，种子 {seed}：{len(ranked)} 家参与排名的企业中 {moved} 家排名会变动；"
                   f"{unstable} 家保持原等级的概率低于 90%")
        for o in written:
            typer.echo(("Written: " if lang == "en" else "已写出：") + str(o.written))
    for o in written:
        if o.diverted:
            typer.echo(diverted_note(o), err=True)


@weights_app.command("entropy")
@guard
def weights_entropy(
    result: Path = typer.Argument(..., help="The result of ccredit score --json.", metavar="RESULT.json"),
    all_enterprises: bool = typer.Option(False, "--all", help="Use every scored enterprise, not only the graded."),
    json_path: Optional[Path] = JsonOpt, config: Optional[Path] = ConfigOpt, lang: str = LangOpt,
    quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Objective weights for comparison: the entropy-weight method (熵权法) on this round's leaf scores,
    printed beside the model's (expert) weights. Scoring is not changed.

    Conventions: 0·ln 0 = 0; an indicator with the same score for everyone gets weight 0.

    Example: ccredit weights entropy 评级结果.json
    """
    import json

    import numpy as np

    from cluster_credit_cli.atomic import atomic_write_text
    from cluster_credit_cli.weights.entropy import entropy_weights
    from cluster_credit_cli.problems import UsageError
    from cluster_credit_cli.weights.sensitivity import scores_from_result_json

    check_lang(lang)
    en = lang == "en"
    check_outputs({"--json": json_path}, [result, config])
    data, model = _load_result(result, config, lang)
    try:
        scores, mask = scores_from_result_json(data, model)
    except ValueError as exc:
        raise UsageError(f"{result}: {exc}") from None
    leaves = model.leaves("base")
    x = scores[leaves].to_numpy(dtype=float)
    if not all_enterprises:
        x = x[mask]
    x = x[~np.isnan(x).any(axis=1)]
    res = entropy_weights(x, leaves)
    expert = np.array([model.effective[k] for k in leaves])
    expert = expert / expert.sum()
    if not (quiet or to_stdout(json_path)):
        typer.echo((f"{len(x)} enterprises; base indicators; weights sum to 1" if en else
                    f"{len(x)} 家企业；基础指标；权重之和为 1"))
        # Columns padded by display width: a CJK character takes two columns of the terminal.
        labels = [model.nodes[k].label(lang) for k in leaves]
        wide = max([display_width("Indicator" if en else "指标")] + [display_width(t) for t in labels])
        head = ("Key", "Indicator", "Expert", "Entropy") if en else ("代码", "指标", "专家权重", "熵权")
        typer.echo(f"{pad(head[0], 6)} {pad(head[1], wide)} {pad(head[2], 8, right=True)} {pad(head[3], 8, right=True)}")
        for k, label, e, w in zip(leaves, labels, expert, res.weights):
            typer.echo(f"{pad(k, 6)} {pad(label, wide)} {e:8.4f} {'-' if np.isnan(w) else f'{w:8.4f}':>8}")
        for w in (res.warnings_en if en else res.warnings):
            typer.echo(("Warning: " if en else "警告：") + w)
    if json_path:
        payload = {"tool": "ccredit", "enterprises": int(len(x)), "expert": dict(zip(leaves, expert.tolist())),
                   "entropy": res.as_dict(), "warnings": res.warnings_en if en else res.warnings}
        emit_json(json_path, lambda p: atomic_write_text(p, json.dumps(payload, ensure_ascii=False, indent=2)))
