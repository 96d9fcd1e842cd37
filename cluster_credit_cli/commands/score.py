"""``ccredit score`` and ``ccredit check``: one review round from the applicants file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cluster_credit_cli.i18n import diverted_note
from cluster_credit_cli.progress import StageProgress
from cluster_credit_cli.commands.common import (AsOfOpt, ConfigOpt, DebugOpt, JsonOpt, LangOpt, OutOpt, QuietOpt,
                                                check_lang, check_outputs, emit_json, existing_file, guard, parse_as_of,
                                                to_stdout)
from cluster_credit_cli.atomic import output_set

# This module's top-level commands; cli.py adds them to the root app (no import of cli here).
app = typer.Typer()

SOURCE_OPTS = ("panel", "auditor", "association", "innovation", "credit_system", "bank")

PanelOpt = typer.Option(None, "--panel", help="评审小组核定 file (panel-verified values).", metavar="PATH")
AuditorOpt = typer.Option(None, "--auditor", help="会计师事务所审计数据 file.", metavar="PATH")
AssociationOpt = typer.Option(None, "--association", help="行业协会评价 file.", metavar="PATH")
InnovationOpt = typer.Option(None, "--innovation", help="协同创新中心 file.", metavar="PATH")
CreditOpt = typer.Option(None, "--credit-system", help="社会信用系统 export (records).", metavar="PATH")
BankOpt = typer.Option(None, "--bank", help="合作银行征信 file.", metavar="PATH")
SensitivityOpt = typer.Option(0, "--sensitivity", min=0, metavar="N",
                              help="Rescore under N perturbed weight vectors: rank intervals, grade stability.")
SeedOpt = typer.Option(None, "--seed", help="Random seed for --sensitivity (reproducible draws).")
SpreadOpt = typer.Option(0.2, "--spread", min=0.0, max=0.99,
                         help="--sensitivity: each printed weight varies by ±spread (0.2 = ±20 %).")
StrictOpt = typer.Option(False, "--strict", help="Treat model weight mismatches as errors.")
WeightsOpt = typer.Option(None, "--weights", help="Weight table (layout of ccredit model export / weights ahp --out): "
                          "its printed weights replace the model's.", metavar="TABLE.xlsx")
DbOpt = typer.Option(None, "--db", metavar="PATH", help="Rating register (SQLite) to record the run in "
                     "(default: $CCREDIT_DB, else ccredit.db in the user's data folder; see `ccredit runs`).")
NoDbOpt = typer.Option(False, "--no-db", help="Do not record this run in the rating register.")
DetailLimitOpt = typer.Option(None, "--detail-limit", min=1, metavar="ROWS",
                              help="Most rows of the indicator/provenance sheets kept in the workbook "
                                   "(default 250000); see --detail for larger ones.")
DetailOpt = typer.Option("auto", "--detail", metavar="auto|csv|off",
                         help="Indicator/provenance detail above --detail-limit: auto = left out (the sheet "
                              "says so; leaf scores stay in the JSON and register), csv = written as CSV "
                              "beside the workbook, off = never written.")


def _prepare(applicants: Path, given: dict, config: Optional[Path], strict: bool, lang: str, as_of: Optional[str],
             weights: Optional[Path] = None):
    from cluster_credit_cli.inputs.discovery import discover_sources
    from cluster_credit_cli.model.config import load_model

    check_lang(lang)
    from cluster_credit_cli.i18n import say

    existing_file(applicants, say("申报材料文件", "applicants file"))
    for k, v in given.items():
        existing_file(v, f"--{k.replace('_', '-')}")
    from cluster_credit_cli.i18n import use_lang

    model = load_model(config, strict=True if strict else None)
    if weights is not None:
        from cluster_credit_cli.weights.tables import apply_weight_table

        model = apply_weight_table(model, existing_file(weights, "--weights"), lang)
    with use_lang(lang):
        sources = discover_sources(applicants, model, given)
    return model, sources, parse_as_of(as_of)


@app.command()
@guard
def score(
    applicants: Path = typer.Argument(..., help="The applicants workbook (申报材料), .xlsx or .csv.", metavar="APPLICANTS"),
    panel: Optional[Path] = PanelOpt, auditor: Optional[Path] = AuditorOpt,
    association: Optional[Path] = AssociationOpt, innovation: Optional[Path] = InnovationOpt,
    credit_system: Optional[Path] = CreditOpt, bank: Optional[Path] = BankOpt,
    as_of: Optional[str] = AsOfOpt, out: Optional[Path] = OutOpt, json_path: Optional[Path] = JsonOpt,
    lang: str = LangOpt, config: Optional[Path] = ConfigOpt, strict: bool = StrictOpt,
    weights: Optional[Path] = WeightsOpt, db: Optional[Path] = DbOpt, no_db: bool = NoDbOpt,
    detail_limit: Optional[int] = DetailLimitOpt, detail: str = DetailOpt,
    sensitivity: int = SensitivityOpt, seed: Optional[int] = SeedOpt, spread: float = SpreadOpt,
    quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Score a review round: read, merge, score, apply gates, grade, rank and share out the pool.

    The exports not named by options are found beside APPLICANTS by their names
    (审计 / 协会 / 信用系统 / 银行 / 评审 / 创新 ...). Writes the rating workbook
    (default: beside APPLICANTS) and prints a summary. Every run is recorded in the rating
    register (--db, default ccredit.db beside the workbook) unless --no-db is given.

    Exit codes: 0 clean; 1 results written but problems found in the inputs; 2 usage or config error.

    With --sensitivity N the weights are perturbed N times (each printed weight × U(1−s, 1+s),
    renormalised within its parent; --seed makes it reproducible): per enterprise the rank
    interval (5th–95th percentile), the probability of keeping its grade and the dimension that
    moves it most, as a sheet with a chart and in the JSON.

    Example: ccredit score sample_data/申报材料汇总.xlsx --as-of 2026-11-30
    """
    from cluster_credit_cli.outputs import rating_workbook as report
    from cluster_credit_cli.rating.pipeline import score_round
    from cluster_credit_cli.outputs.summary import print_summary

    if detail not in report.DETAIL_MODES:
        from cluster_credit_cli.problems import UsageError

        raise UsageError(f"--detail: '{detail}' is not one of {', '.join(report.DETAIL_MODES)}")
    given = dict(panel=panel, auditor=auditor, association=association, innovation=innovation,
                 credit_system=credit_system, bank=bank)
    quiet = quiet or to_stdout(json_path)  # stdout carries the JSON alone
    with StageProgress.for_cli(quiet, lang) as progress:  # drawn only on a terminal, for long runs
        progress("read")  # from the start: loading the model and finding the files are part of reading
        model, sources, day = _prepare(applicants, given, config, strict, lang, as_of, weights)
        target = out or report.default_output(applicants, day, lang)
        if not no_db:
            from cluster_credit_cli.register.store import default_db_path, precheck, record_run

            db = db or default_db_path()
        # Checked before any computation: nothing the run reads is overwritten, every output can
        # be written, the register can take the run.
        check_outputs({"--out": target, "--json": json_path, "--db": None if no_db else db},
                      [*sources.values(), config, weights])
        if not no_db:
            precheck(db)
        result = score_round(applicants, sources, model=model, as_of=day, lang=lang, progress=progress)
        if sensitivity:
            progress("sensitivity")
            from cluster_credit_cli.weights.sensitivity import attach_sensitivity

            attach_sensitivity(result, sensitivity, spread=spread, seed=seed)
        progress("write")
        # One set: the workbook, its CSVs and the JSON replace the previous ones only when all are
        # complete and the register took the run; otherwise nothing of the previous run changes.
        with output_set():
            outcomes = [report.write_rating_workbook(result, target, detail_limit=detail_limit, detail=detail)]
            if json_path:
                outcomes.append(emit_json(json_path, lambda p: report.write_json(result, p)))
            run_id = None
            if not no_db:
                run_id = record_run(db, result)
    if not quiet:
        recorded = (f"{'Recorded as run' if lang == 'en' else '已登记：评级登记簿运行'} #{run_id} → {db}"
                    if run_id is not None else None)
        print_summary(result, sources, outcomes, recorded)
    else:
        for o in outcomes:
            if o is not None and o.diverted:
                typer.echo(diverted_note(o), err=True)
    raise typer.Exit(1 if result.problems else 0)


@app.command()
@guard
def check(
    applicants: Path = typer.Argument(..., help="The applicants workbook (申报材料).", metavar="APPLICANTS"),
    panel: Optional[Path] = PanelOpt, auditor: Optional[Path] = AuditorOpt,
    association: Optional[Path] = AssociationOpt, innovation: Optional[Path] = InnovationOpt,
    credit_system: Optional[Path] = CreditOpt, bank: Optional[Path] = BankOpt,
    as_of: Optional[str] = AsOfOpt, out: Optional[Path] = OutOpt, json_path: Optional[Path] = JsonOpt,
    lang: str = LangOpt, config: Optional[Path] = ConfigOpt,
    quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Materials completeness review (材料完整性审核): what is missing or inconsistent, per enterprise.

    The same reading and merging as ``score``, no scores: a feedback workbook the panel can send
    back to applicants.

    Example: ccredit check sample_data/申报材料汇总.xlsx
    """
    from cluster_credit_cli.outputs import rating_workbook as report
    from cluster_credit_cli.rating.pipeline import score_round
    from cluster_credit_cli.outputs.summary import print_check_summary

    given = dict(panel=panel, auditor=auditor, association=association, innovation=innovation,
                 credit_system=credit_system, bank=bank)
    quiet = quiet or to_stdout(json_path)
    with StageProgress.for_cli(quiet, lang) as progress:
        progress("read")
        model, sources, day = _prepare(applicants, given, config, False, lang, as_of)
        target = out or report.default_output(applicants, day, lang, kind="feedback")
        check_outputs({"--out": target, "--json": json_path}, [*sources.values(), config])
        result = score_round(applicants, sources, model=model, as_of=day, lang=lang, check_only=True,
                             progress=progress)
        progress("write")
        with output_set():
            outcomes = [report.write_feedback_workbook(result, target)]
            if json_path:
                outcomes.append(emit_json(json_path, lambda p: report.write_json(result, p)))
    if not quiet:
        print_check_summary(result, sources, outcomes)
    needs_work = bool(result.problems) or any(result.table["todo"].map(len) > 0) or bool(result.merged.conflict_codes)
    raise typer.Exit(1 if needs_work else 0)
