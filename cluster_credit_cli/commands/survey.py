"""``ccredit survey``: questionnaire tabulation (frequencies, Likert, crosstabs) from a codebook.

``ccredit survey DATA --codebook CB`` is short for ``ccredit survey tabulate DATA --codebook CB``:
the group inserts the default command when the first argument is not a subcommand name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

from cluster_credit_cli.i18n import diverted_note
from cluster_credit_cli.commands.common import (DebugOpt, JsonOpt, LangOpt, OutOpt, QuietOpt, check_lang,
                                                check_outputs,
                                                emit_json, existing_file, guard, to_stdout)
from cluster_credit_cli.atomic import output_set


class _DefaultCommandGroup(TyperGroup):
    """A group whose first argument may be the data file: then the ``tabulate`` command runs."""

    default = "tabulate"

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default, *args]
        return super().parse_args(ctx, args)


survey_app = typer.Typer(cls=_DefaultCommandGroup, no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                         help="问卷统计 / survey statistics from an XLSForm-style codebook.\n\n"
                              "Example: ccredit survey sample_data/问卷数据.xlsx --codebook config/survey/hengli_codebook.xlsx")

CodebookOpt = typer.Option(..., "--codebook", help="Codebook workbook (XLSForm layout: survey, choices, settings).",
                           metavar="CB")
DecimalsOpt = typer.Option(1, "--decimals", help="Decimals of percents (half-up rounding).")
LanguageOpt = typer.Option(None, "--language", metavar="LANG",
                           help="Label language of the codebook (label::LANG column, e.g. English or en).")


def _default_out(data: Path, word: str) -> Path:
    return data.with_name(f"{data.stem}_{word}.xlsx")


def _say_outcomes(outcomes, quiet: bool) -> None:
    for o in outcomes:
        if o is None:
            continue
        if o.diverted:
            typer.echo(diverted_note(o), err=True)
        elif not quiet:
            typer.echo(f"→ {o.written}")


def _problem_lines(problems, limit: int = 15) -> list[str]:
    lines = []
    for p in list(problems)[:limit]:
        where = ", ".join(x for x in (p.file, p.sheet or "", f"row {p.row}" if p.row else "", p.column or "") if x)
        lines.append(f"  [{p.severity}] {where}: {p.message}")
    if len(problems) > limit:
        lines.append(f"  ... {len(problems) - limit} more (see the problems sheet)")
    return lines


@survey_app.command("tabulate")
@guard
def tabulate(
    data: Path = typer.Argument(..., help="Responses file (.xlsx or .csv), one row per returned questionnaire.",
                                metavar="DATA"),
    codebook: Path = CodebookOpt,
    out: Optional[Path] = OutOpt,
    markdown: Optional[Path] = typer.Option(None, "--markdown", help="Also write the tables as Markdown.", metavar="PATH"),
    csv_path: Optional[Path] = typer.Option(None, "--csv", help="Also write the tables as CSV (long format).", metavar="PATH"),
    json_path: Optional[Path] = JsonOpt,
    decimals: int = DecimalsOpt,
    sum_100: bool = typer.Option(False, "--sum-100", help="Make each single-choice block sum to exactly 100 (largest remainder)."),
    weight: Optional[str] = typer.Option(None, "--weight", help="Column of the data holding respondent weights.",
                                         metavar="COLUMN"),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Sheet of DATA (default: the first visible one)."),
    language: Optional[str] = LanguageOpt,
    lang: str = LangOpt, quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Frequency tables (table-1 layout), Likert summaries with charts, and the validity count.

    DATA may be a KoboToolbox, ODK Central, 问卷星 or 腾讯问卷 export as downloaded, or a table
    typed in Excel; the layout recognised is named in the output. The codebook is an XLSForm.

    Writes a workbook (default: beside DATA, <DATA>_问卷统计.xlsx) and prints the tables.
    Exit codes: 0 clean; 1 tables written but answers the codebook does not know (listed with
    row and column); 2 usage or codebook error.

    Example: ccredit survey sample_data/问卷数据.xlsx --codebook config/survey/hengli_codebook.xlsx
    """
    from cluster_credit_cli.survey import report as survey_report
    from cluster_credit_cli.survey.stats import analyse

    check_lang(lang)
    quiet = quiet or to_stdout(json_path)
    existing_file(data, "DATA")
    existing_file(codebook, "--codebook")
    target = out or _default_out(data, "survey" if lang == "en" else "问卷统计")
    check_outputs({"--out": target, "--markdown": markdown, "--csv": csv_path, "--json": json_path},
                  [data, codebook])
    result = analyse(data, codebook, decimals=decimals, sum_100=sum_100, weight=weight, lang=lang, sheet=sheet,
                     language=language)
    with output_set():  # all of the run's outputs or none of them
        outcomes = [survey_report.write_workbook(result, target)]
        if markdown:
            outcomes.append(survey_report.write_markdown(result, markdown))
        if csv_path:
            outcomes.append(survey_report.write_csv(result, csv_path))
        if json_path:
            outcomes.append(emit_json(json_path, lambda p: survey_report.write_json(result, p)))
    if not quiet:
        typer.echo(survey_report.render_text(result))
        if result.problems:
            typer.echo(f"\n{'问题' if lang != 'en' else 'Problems'}: {len(result.problems)}")
            typer.echo("\n".join(_problem_lines(result.problems)))
    _say_outcomes(outcomes, quiet)
    raise typer.Exit(1 if result.problems else 0)


@survey_app.command("codebook")
@guard
def codebook_cmd(
    data: Path = typer.Argument(..., help="Responses file (.xlsx or .csv).", metavar="DATA"),
    out: Optional[Path] = OutOpt,
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Sheet of DATA (default: the first visible one)."),
    lang: str = LangOpt, quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Draft a codebook from a responses file, for the analyst to finish in Excel.

    Questions come from the headers; columns with few distinct answers become select_one with
    those answers as choices; numeric columns become integer/decimal with a drafted bins list
    (quartile ranges in interval notation); answers with separators (、 , ;) become select_multiple.

    Example: ccredit survey codebook sample_data/问卷数据.xlsx --out 我的编码本.xlsx
    """
    from cluster_credit_cli.survey.draft import draft_codebook, write_codebook

    check_lang(lang)  # the language of messages (the codebook itself is XLSForm, in its own terms)
    existing_file(data, "DATA")
    target = out or data.with_name(f"{data.stem}_codebook.xlsx")
    check_outputs({"--out": target}, [data])
    draft = draft_codebook(data, sheet=sheet)
    outcome = write_codebook(draft, target)
    if not quiet:
        for q in draft.survey:
            typer.echo(f"  {q['type']:<28} {q['name']}")
    _say_outcomes([outcome], quiet)


@survey_app.command("crosstab")
@guard
def crosstab_cmd(
    data: Path = typer.Argument(..., help="Responses file (.xlsx or .csv).", metavar="DATA"),
    codebook: Path = CodebookOpt,
    rows: str = typer.Option(..., "--rows", help="Question (name or label) for the rows.", metavar="Q1"),
    cols: str = typer.Option(..., "--cols", help="Question (name or label) for the columns.", metavar="Q2"),
    by: Optional[str] = typer.Option(None, "--by", help="Split into one table per category of this question.",
                                     metavar="Q3"),
    out: Optional[Path] = OutOpt, json_path: Optional[Path] = JsonOpt,
    decimals: int = DecimalsOpt,
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Sheet of DATA (default: the first visible one)."),
    language: Optional[str] = LanguageOpt,
    lang: str = LangOpt, quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Cross-tabulate two questions: counts, row and column percents, totals and a test.

    Pearson chi-square without continuity correction; Fisher's exact test (two-sided) for a 2x2
    table with an expected count below 5. The test used is named in the output.

    Example: ccredit survey crosstab sample_data/4C满意度问卷.xlsx --codebook config/survey/4c_codebook.xlsx
    --rows 企业规模 --cols 获得贷款
    """
    from cluster_credit_cli.survey import report as survey_report
    from cluster_credit_cli.problems import UsageError
    from cluster_credit_cli.survey.codebook import load_codebook
    from cluster_credit_cli.survey.stats import crosstab, read_responses

    check_lang(lang)
    quiet = quiet or to_stdout(json_path)
    existing_file(data, "DATA")
    existing_file(codebook, "--codebook")
    if not 0 <= decimals <= 6:
        raise UsageError(f"--decimals {decimals}: use 0 to 6")
    from cluster_credit_cli.i18n import use_lang

    target = out or _default_out(data, "crosstab" if lang == "en" else "交叉表")
    check_outputs({"--out": target, "--json": json_path}, [data, codebook])
    cb = load_codebook(codebook, language=language)
    with use_lang(lang):
        responses = read_responses(data, cb, sheet=sheet)
    tables = crosstab(responses, rows, cols, by, decimals=decimals, lang=lang)
    with output_set():
        outcomes = [survey_report.write_crosstab_workbook(tables, target, responses.problems, lang, decimals)]
        if json_path:
            from cluster_credit_cli.atomic import atomic_write_text
            import json

            outcomes.append(emit_json(json_path, lambda p: atomic_write_text(p, json.dumps(
                survey_report.crosstab_json(tables, rows, cols, by, responses.problems), ensure_ascii=False,
                indent=2))))
    if not quiet:
        for t in tables:
            typer.echo(survey_report.render_crosstab(t, lang, decimals) + "\n")
        if responses.problems:
            typer.echo("\n".join(_problem_lines(responses.problems)))
    _say_outcomes(outcomes, quiet)
    raise typer.Exit(1 if responses.problems else 0)
