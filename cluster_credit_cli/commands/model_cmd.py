"""``ccredit model show|check|export`` and ``ccredit template KIND``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cluster_credit_cli.commands.common import ConfigOpt, DebugOpt, LangOpt, OutOpt, check_lang, guard

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
        False, "--strict", help="Fail (exit 2) where children do not sum to their parent."),
        debug: bool = DebugOpt) -> None:
    """Run the model checks: weights in [0, 1], keys unique, a rule per leaf, rule inputs exist,
    children summing to their parent at every level, the base and bonus block totals.

    Exit 0 when the model is consistent, 1 when it loads with warnings, 2 when it is invalid.

    Example: ccredit model check --config config/model.toml
    """
    from cluster_credit_cli.model.config import load_model, warnings_for

    check_lang(lang)
    model = load_model(config, strict=True if strict else None)
    en = lang == "en"
    typer.echo(f"{model.path}: {len(model.nodes)} nodes, {len(model.leaves('base'))} base leaves, "
               f"{len(model.leaves('bonus'))} bonus leaves, {len(model.rules)} rules" if en else
               f"{model.path}：{len(model.nodes)} 个节点，基础叶指标 {len(model.leaves('base'))} 个，"
               f"加分项 {len(model.leaves('bonus'))} 个，评分规则 {len(model.rules)} 条")
    for c in model.checks:
        mark = "ok" if c.ok else ("MISMATCH" if en else "不一致")
        typer.echo(f"  {c.parent} {c.parent_name}: {' + '.join(c.children)} = {c.children_sum:.10g} / "
                   f"{c.printed:g}  {mark}")
    warnings = warnings_for(model, lang)
    for w in warnings:
        typer.echo(("Warning: " if en else "警告：") + w)
    if not warnings:
        typer.echo("All checks passed." if en else "全部检查通过。")
    raise typer.Exit(1 if warnings else 0)


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
    model = load_model(config)
    with Workbook(path) as wb:
        write_model_sheet(wb, model, lang)
    outcome = wb.close()
    typer.echo(str(outcome.written))
    if outcome.diverted:
        typer.echo(outcome.note, err=True)


@app.command()
@guard
def template(kind: str = typer.Argument(..., help="applicants, panel, auditor, association, innovation, "
                                        "credit_system, bank; ledger or fund (the pool's loan ledger and fund movements).", metavar="KIND"),
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
    if kind not in model.sources:
        raise UsageError(f"unknown template kind {kind!r}; one of {', '.join(model.sources)}")
    target = out or Path(f"{model.sources[kind].title(lang)}_template.xlsx" if lang == "en"
                         else f"{model.sources[kind].title(lang)}模板.xlsx")
    outcome = write_template(model, kind, target, lang)
    typer.echo(str(outcome.written))
