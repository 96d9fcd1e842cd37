"""``ccredit report``: the credit report per enterprise (企业信用评价报告) as PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cluster_credit_cli.commands.common import (AsOfOpt, ConfigOpt, DebugOpt, LangOpt, QuietOpt, beside_input,
                                                check_lang, existing_file, guard, not_an_input, parse_as_of)

# This module's top-level commands; cli.py adds them to the root app (no import of cli here).
app = typer.Typer()


@app.command()
@guard
def report(
    source: Path = typer.Argument(..., metavar="RESULT.json|APPLICANTS",
                                  help="A round's RESULT.json (ccredit score --json) or the applicants file."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="PATH",
                                       help="The booklet (.pdf), or with --split the folder for one PDF per firm."),
    codes: Optional[str] = typer.Option(None, "--codes", metavar="CODE,CODE",
                                        help="Only these enterprises (credit codes, comma-separated)."),
    split: bool = typer.Option(False, "--split", help="One PDF per enterprise instead of one booklet."),
    db: Optional[Path] = typer.Option(None, "--db", envvar="CCREDIT_DB", metavar="PATH",
                                      help="Rating register: each firm's grade history across rounds "
                                           "(default: the register `ccredit score` records in, if there is one)."),
    alerts: Optional[Path] = typer.Option(None, "--alerts", metavar="MONITOR.json",
                                          help="Alerts written by ccredit monitor --json, shown per firm."),
    as_of: Optional[str] = AsOfOpt, lang: str = LangOpt, config: Optional[Path] = ConfigOpt,
    quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Credit report per enterprise (企业信用评价报告), one or two A4 pages each, as a PDF booklet
    with a table of contents, or one file per firm (--split).

    From a RESULT.json the round is scored again from the same input files (checked by their
    SHA-256) and the same model (--config if not the default); from an applicants file, as
    ``ccredit score`` would (exports found beside it, --as-of). Each report: identity, grade,
    rank, scores and quota; the dimensions against the round's median and quartiles; every
    indicator with input, score, weight and source; eligibility and vetoes; missing materials
    and conflicts; with --db the grade history, with --alerts the monitoring alerts. The model,
    as-of date and config hash are on every page. The font is embedded: the PDF renders
    everywhere and its text can be searched and copied.

    Example: ccredit report result.json --codes 914419001TQ74B7B03 --db ccredit.db
    """
    from cluster_credit_cli.dossier.build import make_reports, round_from_json
    from cluster_credit_cli.i18n import use_lang
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.problems import UsageError

    check_lang(lang)
    existing_file(source, "RESULT.json / applicants file")
    wanted = [c.strip().upper() for c in codes.split(",") if c.strip()] if codes else None
    with use_lang(lang):
        if source.suffix.lower() == ".json":
            model = load_model(config)
            result, _ = round_from_json(source, model, lang)
        else:
            from cluster_credit_cli.inputs.discovery import discover_sources
            from cluster_credit_cli.rating.pipeline import score_round

            model = load_model(config)
            sources = discover_sources(source, model, {})
            result = score_round(source, sources, model=model, as_of=parse_as_of(as_of), lang=lang)
        target = out or beside_input([source], "信用评价报告", "credit_reports", lang, "" if split else ".pdf")
        not_an_input(target, [source, *(i["path"] for i in result.inputs if i.get("path"))])
        if split and target.exists() and not target.is_dir():
            raise UsageError(f"--split: {target} is a file; give a folder with --out")
        if db is None:
            from cluster_credit_cli.register.store import default_db_path

            beside = default_db_path()  # $CCREDIT_DB, else the user's data folder (issue 12)
            db = beside if beside.is_file() else None
        run = make_reports(result, target, codes=wanted, split=split, db=db, alerts_json=alerts)
    if run.missing_glyphs:
        chars = " ".join(run.missing_glyphs)
        typer.echo((f"Warning: no font here can draw: {chars}; shown as □ in the reports (install a CJK font, "
                    "e.g. SimHei or Noto Sans CJK, to print them)") if lang == "en" else
                   f"警告：内置字体及本机字体均无法显示这些字符：{chars}；报告中显示为 □"
                   "（安装中文字体如黑体或 Noto Sans CJK 后可正常显示）", err=True)
    if not quiet:
        n = len(run.reports)
        for o in run.outcomes if not split or len(run.outcomes) <= 3 else []:
            typer.echo(("Written: " if lang == "en" else "已写出：") + str(o.written))
        if split and len(run.outcomes) > 3:
            typer.echo(("Written: " if lang == "en" else "已写出：") + f"{target}/ ({n} PDF)")
        typer.echo(f"{n} enterprise report(s)" if lang == "en" else f"共 {n} 家企业的信用评价报告")
    for o in run.outcomes:
        if o.diverted:
            typer.echo(o.note, err=True)
