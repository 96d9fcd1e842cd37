"""``ccredit model show|check|export`` and ``ccredit template KIND``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cluster_credit_cli.i18n import diverted_note
from cluster_credit_cli.commands.common import (ConfigOpt, DebugOpt, LangOpt, OutOpt, QuietOpt, beside_input, check_lang,
                                                check_outputs, existing_file, guard, not_an_input)

# This module's top-level commands; cli.py adds them to the root app (no import of cli here).
app = typer.Typer()

model_app = typer.Typer(help="Show, check and export the credit model (config/model.toml).", no_args_is_help=True)


@model_app.command("show")
@guard
def model_show(config: Optional[Path] = ConfigOpt, lang: str = LangOpt, debug: bool = DebugOpt) -> None:
    """Print the indicator tree with printed and effective weights.

    Example: ccredit model show --lang en
    """
    from rich.console import Console
    from rich.tree import Tree

    from cluster_credit_cli.model.config import load_model, warnings_for

    check_lang(lang)
    model = load_model(config)
    tree = Tree(f"{model.name_en if lang == 'en' and model.name_en else model.name}  ({model.path.name})")
    branches = {}
    for node in model.walk():
        text = (f"{node.key} {node.label(lang)}  printed {node.weight:g}  effective {model.effective[node.key]:.6f}"
                if lang == "en" else
                f"{node.key} {node.label(lang)}  印刷权重 {node.weight:g}  有效权重 {model.effective[node.key]:.6f}")
        if node.parent is None:
            text += f"  [{node.block}]"
        parent = branches.get(node.parent, tree)
        branches[node.key] = parent.add(text)
    console = Console(highlight=False)
    console.print(tree)
    for w in warnings_for(model, lang):
        console.print(("Warning: " if lang == "en" else "警告：") + w)


@model_app.command("check")
@guard
def model_check(config: Optional[Path] = ConfigOpt, lang: str = LangOpt, strict: bool = typer.Option(
        False, "--strict", help="Count warnings (e.g. children not summing to their parent) as errors."),
        debug: bool = DebugOpt) -> None:
    """Run the model checks: weights in [0, 1], keys unique, a rule per leaf, rule inputs exist,
    children summing to their parent at every level, the base and bonus block totals; list the
    scoring rules still to be written (placeholders of model init) with the kinds of rule available.

    Exit 0 when the model can score (warnings alone do not fail it), 1 when it has errors (rules to
    be written; with --strict, warnings too), 2 when the file is invalid.

    Example: ccredit model check --config config/model.toml
    """
    from cluster_credit_cli.model.config import RULE_KIND_HELP, load_model, warnings_for

    check_lang(lang)
    model = load_model(config)
    from cluster_credit_cli.pool.config import pool_config

    pool_config(model)  # the [pool] section too: limits, the ledger's and the fund's columns
    if "risk" in model.raw:  # and [risk] where the model has one (PD table, LGD, scenarios)
        from cluster_credit_cli.pool.risk_config import risk_config

        risk_config(model)
    from cluster_credit_cli.validation.settings import load_settings

    load_settings(model)  # and [validation]: the default definition, thresholds, the PD table
    en = lang == "en"
    typer.echo(f"{model.path}: {len(model.nodes)} nodes, {len(model.leaves('base'))} base leaves, "
               f"{len(model.leaves('bonus'))} bonus leaves, {len(model.rules)} rules" if en else
               f"{model.path}：{len(model.nodes)} 个节点，基础叶指标 {len(model.leaves('base'))} 个，"
               f"加分项 {len(model.leaves('bonus'))} 个，评分规则 {len(model.rules)} 条")
    for c in model.checks:
        mark = "ok" if c.ok else ("MISMATCH" if en else "不一致")
        typer.echo(f"  {c.parent} {model.nodes[c.parent].label(lang)}: {' + '.join(c.children)} = {_w(c.children_sum)} / "
                   f"{_w(c.printed)}  {mark}")
    todo = model.todo_rules
    if todo:
        typer.echo(f"Rules to be written ({len(todo)}):" if en else f"评分规则待编写（{len(todo)} 条）：")
        for k in todo:
            path = " / ".join(model.nodes[a].label(lang) for a in reversed(model.ancestors(k)))
            typer.echo(f"  [rules.{k}] {model.nodes[k].label(lang)}" + (f"  ({path})" if path else ""))
        typer.echo("Kinds of rule available (replace kind = \"todo\" with one):" if en else
                   "可用的规则类型（把 kind = \"todo\" 换成其中一种）：")
        for kind, (zh, en_text) in RULE_KIND_HELP.items():
            typer.echo(f"  {kind:7} {en_text if en else zh}")
    errors = [("Rule to be written: " if en else "规则待编写：") + f"{k} {model.nodes[k].label(lang)}" for k in todo]
    warnings = warnings_for(model, lang)
    for w in warnings:
        typer.echo(("Error (--strict): " if en else "错误（--strict）：") + w if strict else
                   ("Warning: " if en else "警告：") + w)
    if strict:
        errors += warnings
    if errors:
        typer.echo(f"{len(errors)} error(s): the model cannot score yet." if en and todo else
                   f"{len(errors)} error(s)." if en else
                   f"{len(errors)} 个错误：模型尚不能评分。" if todo else f"{len(errors)} 个错误。")
    elif warnings:
        typer.echo(f"No errors, {len(warnings)} warning(s)." if en else f"没有错误，{len(warnings)} 个警告。")
    else:
        typer.echo("All checks passed." if en else "全部检查通过。")
    raise typer.Exit(1 if errors else 0)


def _w(x: float) -> str:
    """A weight as people read it: at most 6 decimals, no trailing zeros (0.19, 0.0737)."""
    return f"{x:.6f}".rstrip("0").rstrip(".") if abs(x - round(x, 6)) < 5e-7 else f"{x:.6g}"


@model_app.command("init")
@guard
def model_init(
    from_ahp: Path = typer.Option(..., "--from-ahp", help="The experts' matrices (xlsx, one sheet per node of "
                                  "the new hierarchy) or the JSON of weights ahp --json.",
                                  metavar="MATRICES.xlsx|WEIGHTS.json"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Model file to write (default: beside the "
                                       "input, named …_模型.toml).", metavar="PATH"),
    name: Optional[str] = typer.Option(None, "--name", help="The model's name (shown on the workbooks)."),
    method: str = typer.Option("eigen", "--method", help="AHP local weights (xlsx input): eigen or geometric."),
    ri: str = typer.Option("saaty", "--ri", help="Random Index table (xlsx input): saaty, alonso-lamata, "
                           "donegan-dodd or cn-textbook."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing model file."),
    config: Optional[Path] = ConfigOpt, lang: str = LangOpt, quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Write a new model file for a hierarchy designed by AHP: the nodes with their AHP weights (4
    decimals, each set of siblings summing exactly to its parent), a placeholder rule per leaf (model
    check lists them as rules to be written, with the kinds of rule available), grades, pool, gates,
    fields and sources copied from the current model, and comments explaining each section.

    Exit codes: 0 written; 1 written but a matrix is inconsistent (CR ≥ 0.10); 2 usage error (e.g. an
    item under two parents: a model is a tree).

    Example: ccredit model init --from-ahp 家具判断矩阵.xlsx --out 家具模型.toml
    """
    from cluster_credit_cli.atomic import atomic_write_text
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.problems import Problems, UsageError
    from cluster_credit_cli.weights.ahp import METHODS, RI_TABLES
    from cluster_credit_cli.weights.scaffold import design_from_json, design_from_outcome, scaffold_model
    from cluster_credit_cli.weights.tables import ahp_free, read_matrix_workbooks

    check_lang(lang)
    en = lang == "en"
    if method not in METHODS:
        raise UsageError(f"--method: {method!r} is not eigen or geometric")
    if ri not in RI_TABLES:
        raise UsageError(f"--ri: {ri!r} is not one of {', '.join(RI_TABLES)}")
    existing_file(from_ahp, "--from-ahp")
    base = load_model(config)
    problems = Problems()
    if from_ahp.suffix.lower() == ".json":
        design = design_from_json(from_ahp)
    else:
        outcome = ahp_free(read_matrix_workbooks([from_ahp], problems, lang), problems, method=method, ri_table=ri,
                           lang=lang)
        # inconsistent judgments still make a model (written, exit 1); unreadable ones do not
        errors = [p for p in problems if p.severity == "error"
                  and p.code not in ("ahp_inconsistent", "ahp_group_inconsistent")]
        if not outcome.hierarchy.nodes or errors:
            for p in problems:
                typer.echo(f"  {p.message}", err=True)
            raise UsageError(f"{from_ahp.name}: the matrices have problems (above); fix them first" if en else
                             f"{from_ahp.name}：判断矩阵有问题（见上），请先改正")
        design = design_from_outcome(outcome, from_ahp.name)
    target = not_an_input(out or beside_input([from_ahp], "模型", "model", lang, ext=".toml"), [from_ahp])
    check_outputs({"--out": target}, [from_ahp, config])
    if target.exists() and not force:
        raise UsageError(f"{target} exists (it may hold rules you wrote); choose another --out or add --force" if en
                         else f"{target} 已存在（其中可能有已写好的规则）；请换一个 --out，或加 --force 覆盖")
    scaffold = scaffold_model(design, base, name=name, target=target, lang=lang)
    written = atomic_write_text(target, scaffold.text)
    if not quiet:
        for p in problems:
            typer.echo(("Warning: " if en else "警告：") + p.message)
        m = scaffold.model
        typer.echo(f"{len(m.nodes)} indicators, {len(m.leaves())} leaves with a rule to be written" if en else
                   f"{len(m.nodes)} 个指标，{len(m.leaves())} 个末级指标的评分规则待编写")
        for k in scaffold.model.walk():
            typer.echo(f"  {'  ' * (k.level - 1)}{k.key} {k.name}  {k.weight:.4f}")
        typer.echo(("Written: " if en else "已写出：") + str(written.written))
        typer.echo((f"Next: write the rules, then ccredit model check --config {written.written}" if en else
                    f"下一步：写好评分规则，再运行 ccredit model check --config {written.written}"))
    if written.diverted:
        typer.echo(diverted_note(written), err=True)
    if design.inconsistent:
        typer.echo((f"Warning: CR ≥ 0.10 at {', '.join(design.inconsistent)}: the judgments are inconsistent" if en
                    else f"警告：{'、'.join(design.inconsistent)} 的 CR ≥ 0.10，判断不一致，建议专家复核"), err=True)
        raise typer.Exit(1)


@model_app.command("export")
@guard
def model_export(path: Path = typer.Argument(..., help="Workbook to write (table 2 layout).", metavar="PATH"),
                 config: Optional[Path] = ConfigOpt, lang: str = LangOpt, debug: bool = DebugOpt) -> None:
    """Write the model as a table-2 workbook: code, level, name, printed and effective weight, rule.

    Example: ccredit model export model.xlsx
    """
    from cluster_credit_cli.outputs.excel import Workbook
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.outputs.rating_workbook import write_model_sheet

    check_lang(lang)
    check_outputs({"PATH": path}, [config])
    model = load_model(config)
    with Workbook(path) as wb:
        wb.set_print_info(model.name_en if lang == "en" and model.name_en else model.name, None, lang)
        write_model_sheet(wb, model, lang)
    outcome = wb.close()
    typer.echo(str(outcome.written))
    if outcome.diverted:
        typer.echo(diverted_note(outcome), err=True)


@app.command()
@guard
def template(kind: str = typer.Argument(..., help="applicants, panel, auditor, association, innovation, "
                                        "credit_system, bank; ledger or fund (the pool's loan ledger and fund movements); "
                                        "outcomes (validate --outcomes).", metavar="KIND"),
             out: Optional[Path] = OutOpt, config: Optional[Path] = ConfigOpt, lang: str = LangOpt,
             debug: bool = DebugOpt) -> None:
    """Write a blank input workbook for one source, from the model: canonical headers, a hint row,
    dropdowns for ratings and 是/否, date formats — so the files sent out come back in shape.

    Example: ccredit template applicants --out 申报材料模板.xlsx
    """
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.problems import UsageError
    from cluster_credit_cli.outputs.templates import write_template

    check_lang(lang)
    model = load_model(config)
    kind = kind.replace("-", "_")
    if kind in ("ledger", "fund"):  # the pool's inputs: the bank's loan ledger and the fund's movements
        from cluster_credit_cli.pool.config import pool_config

        model = pool_config(model).reading_model
    if kind == "outcomes":  # validate --outcomes: ratings and whether they defaulted
        from cluster_credit_cli.validation.outcomes import outcome_model

        model = outcome_model(model)
    if kind not in model.sources:
        from cluster_credit_cli.i18n import say

        raise UsageError(say(f"没有“{kind}”这种模板；可选：" + "、".join(f"“{k}”（{s.label}）" for k, s in model.sources.items()),
                             f"unknown template kind {kind!r}; one of {', '.join(model.sources)}"))
    target = out or Path(f"{model.sources[kind].title(lang)}_template.xlsx" if lang == "en"
                         else f"{model.sources[kind].title(lang)}模板.xlsx")
    check_outputs({"--out": target}, [config])
    outcome = write_template(model, kind, target, lang)
    typer.echo(str(outcome.written))
