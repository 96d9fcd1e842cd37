"""``ccredit validate``: does the scorecard work? The ratings against what actually happened."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cluster_credit_cli.commands.common import (ConfigOpt, DebugOpt, LangOpt, QuietOpt, check_lang, check_outputs,
                                                existing_file,
                                                guard)
from cluster_credit_cli.commands.common import write_json_data

# This module's top-level command; cli.py adds it to the root app.
app = typer.Typer()

LIGHT_STYLE = {"green": "green", "yellow": "yellow", "red": "bold red"}
MAX_PROBLEMS_SHOWN = 10


@app.command()
@guard
def validate(
    db: Optional[Path] = typer.Option(None, "--db", envvar="CCREDIT_DB", metavar="PATH",
                                      help="The rating register with the pool's loan snapshots (default: $CCREDIT_DB, "
                                           "else ccredit.db in the user's data folder; with --outcomes only used for "
                                           "the latest round, if given)."),
    outcomes: Optional[Path] = typer.Option(None, "--outcomes", metavar="FILE",
                                            help="Validate ratings made elsewhere: a file with code, rating date, "
                                                 "score and/or grade, defaulted (是/否); optional PD, default date."),
    horizon: Optional[int] = typer.Option(None, "--horizon", min=1, max=120, metavar="MONTHS",
                                          help="Months after the rating in which a default counts (default: "
                                               "[validation] horizon_months, 12)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", metavar="DATE",
                                        help="Outcomes as known on this date YYYY-MM-DD (default: the latest loan "
                                             "snapshot)."),
    definition: Optional[str] = typer.Option(None, "--definition", metavar="LIST",
                                             help="Default definition, any of dpd,paid,class (more than the days past "
                                                  "due limit; paid by the pool; classified 次级 or worse). Default: "
                                                  "[validation] definition."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="WORKBOOK",
                                       help="Validation workbook (default: 评分卡验证_DATE.xlsx beside the register "
                                            "or the outcome file)."),
    json_path: Optional[Path] = typer.Option(None, "--json", metavar="PATH",
                                             help="Write the machine-readable result here ('-' for standard output)."),
    config: Optional[Path] = ConfigOpt, lang: str = LangOpt, quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Validate the scorecard against outcomes (评分卡验证): discrimination, calibration, stability.

    Each borrower's rating at disbursement (register) or each row of --outcomes is set against
    whether it defaulted within the horizon. Reports the AUC with its DeLong 95% interval, the
    accuracy ratio, KS, ROC and CAP curves; per grade the observed default rate against the PD
    table with binomial and Jeffreys tests and a traffic light; monotonicity; Hosmer–Lemeshow;
    the PSI of score and grades against the latest round; the AUC of every dimension and leaf;
    and says plainly when there are too few defaults to conclude.

    Exit codes: 0 all tests green or yellow; 1 a test is red or the input has problems; 2 usage error.

    Example: ccredit validate --db sample_data/validation/ccredit.db --json -
    """
    import datetime as _dt

    from cluster_credit_cli.i18n import use_lang
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.problems import UsageError
    from cluster_credit_cli.validation.analysis import validate as run_validation
    from cluster_credit_cli.validation.cohort import file_cohort, latest_reference, register_cohort
    from cluster_credit_cli.validation.settings import load_settings, parse_definition
    from cluster_credit_cli.validation.workbook import write_validation_workbook

    check_lang(lang)
    check_outputs({"--out": out, "--json": json_path}, [db, outcomes, config])
    existing_file(outcomes, "--outcomes")
    day = None
    if as_of:
        try:
            day = _dt.date.fromisoformat(as_of.strip())
        except ValueError:
            raise UsageError(f"--as-of: '{as_of}' is not a date in the form YYYY-MM-DD") from None
    model = load_model(config)
    settings = load_settings(model)
    if horizon is not None:
        settings.horizon_months = horizon
    if definition is not None:
        if outcomes is not None:
            raise UsageError("--definition applies to the register's loan book; an outcome file says itself who "
                             "defaulted (column 是否违约)")
        settings.definition = parse_definition(definition)
    with use_lang(lang):
        if outcomes is not None:
            cohort = file_cohort(outcomes, model, settings, lang=lang, horizon_given=horizon is not None, as_of=day)
            if db is not None:
                existing_file(db, "--db")
                cohort.reference, cohort.reference_label = latest_reference(db, model, lang, admitted=True)
            base = Path(outcomes).resolve().parent
        else:
            if db is None:  # the one register score records in ($CCREDIT_DB, else the user's data folder)
                from cluster_credit_cli.register.store import default_db_path

                db = default_db_path()
            if not Path(db).is_file():
                raise UsageError(f"no register at {db} (give --db PATH, or --outcomes FILE to validate ratings made "
                                 "elsewhere)")
            cohort = register_cohort(db, model, settings, as_of=day, lang=lang)
            base = Path(db).resolve().parent
        result = run_validation(cohort, settings, model, lang=lang)
    stamp = (cohort.as_of or _dt.date.today()).isoformat()
    target = out or base / (f"validation_{stamp}.xlsx" if lang == "en" else f"评分卡验证_{stamp}.xlsx")
    outcome = write_validation_workbook(result, target)
    to_stdout = str(json_path) == "-"
    if json_path:
        write_json_data(result.to_json(), json_path)
    if not quiet and not to_stdout:
        print_summary(result)
    if outcome.diverted:
        typer.echo(outcome.note, err=True)
    if not quiet and not to_stdout:
        typer.echo(("Written: " if lang == "en" else "已写入：") + str(outcome.written))
    errors = any(p.severity == "error" for p in cohort.problems)
    raise typer.Exit(1 if result.red or errors else 0)




def print_summary(v) -> None:
    """The result in an 80-column terminal: key figures with lights, the grades, the verdict."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from cluster_credit_cli.validation.workbook import summary_rows, t

    en = v.lang == "en"
    console = Console(highlight=False, width=min(80, Console().width))

    def light(x):
        return f"[{LIGHT_STYLE[x]}]{t(x, v.lang)}[/]" if x else ""

    c = v.cohort
    source = ("the register's loan book" if en else "登记簿贷款台账") if c.source == "register" else c.source
    when = (f", outcomes as of {c.as_of}" if en else f"，结果截至 {c.as_of}") if c.as_of else ""
    console.print(escape(("Scorecard validation — " if en else "评分卡验证 — ") + source + when), style="bold")
    horizon = ((f"; within {c.horizon_months} months" if en else f"；观察期 {c.horizon_months} 个月")
               if c.horizon_months else "")
    console.print(escape(("Default: " if en else "违约定义：") + c.definition + horizon))
    counts = (f"{v.n:,} obligors, {v.defaults:,} defaults" if en else f"样本 {v.n:,} 户，违约 {v.defaults:,} 户")
    for reason, count in c.excluded:
        counts += (f"; left out {count:,}: {reason}" if en else f"；未计入 {count:,}：{reason}")
    console.print(escape(counts))
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    skip = {"Source", "数据来源", "Default definition", "违约定义", "Horizon (months)", "观察期（月）", "Outcomes as of",
            "结果截至", "Obligors", "样本户数", "Defaults", "违约户数", "Left out", "未计入", "Note", "说明",
            "Conclusive", "结论是否可靠"}
    for item, value, lt, detail in summary_rows(v):
        if item in skip or (value is None and not detail):
            continue
        if item.startswith("PSI") or item.endswith("PSI"):
            detail = ""  # the round compared with is named once, below
        shown = "" if value is None else f"{value:,}" if isinstance(value, int) else (
            f"{value:.4f}" if isinstance(value, float) else str(value))
        table.add_row(escape(item), escape(shown), light(lt), escape(str(detail)))
    console.print(table)
    if c.reference_label and (v.psi_score is not None or v.psi_grade is not None):
        console.print(escape(("PSI: this cohort against " if en else "PSI：本样本对比") + c.reference_label))
    moved = [c for c in v.csi if c["light"] in ("yellow", "red")]
    if moved:
        console.print(("Leaves whose distribution moved (CSI): " if en else "分布变动的末级指标（CSI）：") + ", ".join(
            f"{escape(c['key'])} {c['csi']:.2f} {light(c['light'])}" for c in sorted(moved, key=lambda c: -c["csi"])))
    for m in v.migration:
        if m["n"]:
            console.print(escape((f"Migration run #{m['from']} → #{m['to']}: {m['n']} graded in both, {m['stay']:.0%} kept "
                                  f"their grade, {m['within_one']:.0%} within one notch" if en else
                                  f"评级迁移 #{m['from']} → #{m['to']}：两轮均评级 {m['n']} 户，{m['stay']:.0%} 等级不变，"
                                  f"{m['within_one']:.0%} 变动不超过一级")))
    if v.n and v.grades:
        g = Table(box=None, pad_edge=False, header_style="bold")
        for h, j in ((t("grade", v.lang), "left"), (t("n", v.lang), "right"), (t("defaults", v.lang), "right"),
                     ("Observed" if en else "实际违约率", "right"), ("PD", "right"),
                     ("Binomial p" if en else "二项p", "right"), ("Jeffreys p", "right"), (t("light", v.lang), "left")):
            g.add_column(h, justify=j, no_wrap=True)
        for x in v.grades:
            g.add_row(escape(x["grade"]), str(x["n"]), str(x["defaults"]), _pct(x["observed_rate"]), _pct(x["pd"]),
                      _p(x["binomial_p"]), _p(x["jeffreys_p"]), light(x["light"]))
        console.print(g)
    if v.indicators:
        ranked = sorted((i for i in v.indicators if i["auc"] is not None and i["level"] == "leaf"),
                        key=lambda i: -i["auc"])
        if ranked:
            best = ", ".join(f"{i['key']} {i['auc']:.2f}" for i in ranked[:5])
            worst = ", ".join(f"{i['key']} {i['auc']:.2f}" for i in ranked[-3:])
            console.print(escape(("Leaves that separate best: " if en else "区分最好的末级指标：") + best))
            console.print(escape(("and least: " if en else "最差的：") + worst))
    for n in v.notes:
        console.print(escape(("Note: " if en else "说明：") + n))
    verdict = ("RED: at least one test failed" if en else "红灯：至少一项检验未通过") if v.red else (
        "No test is red" if en else "没有红灯")
    console.print(f"[{'bold red' if v.red else 'green'}]{escape(verdict)}[/]" + (". " if en else "。") + escape(v.note))
    problems = sorted(v.cohort.problems, key=lambda x: (x.row is not None, x.row or 0))
    if problems:
        p = Table(title=(f"{len(problems)} problem(s) in the input" if en else f"输入文件有 {len(problems)} 个问题"),
                  title_justify="left", box=None, pad_edge=False, header_style="bold")
        for h in (("Row", "行"), ("Column", "列"), ("Problem", "问题")):
            p.add_column(h[0] if en else h[1], overflow="fold", no_wrap=h[0] != "Problem")
        for x in problems[:MAX_PROBLEMS_SHOWN]:
            p.add_row("" if x.row is None else str(x.row), escape(x.column or ""), escape(x.message))
        console.print(p)
        if len(problems) > MAX_PROBLEMS_SHOWN:
            console.print(escape(f"… and {len(problems) - MAX_PROBLEMS_SHOWN} more: see the workbook's Problems sheet"
                                 if en else f"……另有 {len(problems) - MAX_PROBLEMS_SHOWN} 个：见工作簿“问题清单”"))


def _pct(x) -> str:
    return "" if x is None else f"{x:.2%}"


def _p(x) -> str:
    return "" if x is None else f"{x:.3f}"
