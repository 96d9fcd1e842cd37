"""``ccredit batch``: score every new or changed review round of an inbox, unattended."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cluster_credit_cli.commands.common import (AsOfOpt, ConfigOpt, DebugOpt, LangOpt, QuietOpt, check_lang,
                                                check_outputs, err, guard, parse_as_of)

# This module's top-level commands; cli.py adds them to the root app (no import of cli here).
app = typer.Typer()


@app.command()
@guard
def batch(
    inbox: Path = typer.Argument(..., help="Inbox folder: each subfolder is one review round.", metavar="INBOX"),
    out: Path = typer.Option(..., "--out", "-o", help="Outbox folder (processed/, failed/, manifest, log).",
                             metavar="OUTBOX"),
    config: Optional[Path] = ConfigOpt,
    as_of: Optional[str] = AsOfOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would run; write nothing."),
    force: bool = typer.Option(False, "--force", help="Rerun every round, even unchanged ones."),
    settle: float = typer.Option(60.0, "--settle", help="Seconds a round's files must stay unchanged "
                                 "(size and time) before they are taken.", metavar="SECONDS", min=0),
    lock_age: float = typer.Option(6 * 3600.0, "--lock-age", help="Seconds without heartbeat after which "
                                   "another run's lock counts as stale.", metavar="SECONDS", min=1),
    db: Optional[Path] = typer.Option(None, "--db", envvar="CCREDIT_DB", metavar="PATH",
                                      help="Rating register (SQLite) to record each processed round in, once "
                                           "per set of inputs (default: none)."),
    lang: str = LangOpt, quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Process every ready review round of INBOX into OUTBOX, for a scheduler.

    A round already processed with the same input files (SHA-256), model, tool version (and
    --as-of, when given) is skipped. Each round ends in OUTBOX/processed/<round>/ with its results
    or in OUTBOX/failed/<round>/ with an error report. Events go to OUTBOX/batch.log, the run's
    summary to OUTBOX/last-run.json, the per-round records to OUTBOX/manifest.json. Round folders
    and files that are links (or lead outside the inbox) are refused by name, never read. With
    --db (or CCREDIT_DB) each processed round is recorded in the rating register, once per set of
    inputs, so `ccredit runs/history/compare/monitor` see the nightly rounds.

    Exit codes: 0 all good; 1 some round failed or had data problems; 2 usage or config error;
    3 another run holds the lock.

    Example: ccredit batch \\\\server\\credit\\inbox --out \\\\server\\credit\\outbox --settle 120
    """
    from cluster_credit_cli.batch.run import BatchLocked, run_batch
    from cluster_credit_cli.model.config import load_model

    check_lang(lang)
    day = parse_as_of(as_of) if as_of else None
    model = load_model(config)
    if not dry_run:  # the outbox must take the log, the manifest and the rounds' outputs
        from cluster_credit_cli.atomic import check_writable

        check_writable(out / "batch.log")
    if db is not None and not dry_run:
        from cluster_credit_cli.register.store import precheck

        check_outputs({"--db": db}, [config])
        precheck(db)
    try:
        report = run_batch(inbox, out, model=model, as_of=day, dry_run=dry_run, force=force,
                           settle_seconds=settle, lang=lang, max_lock_age=lock_age,
                           echo=None if quiet else typer.echo, db=None if dry_run else db)
    except BatchLocked as exc:
        err(("另一个批处理正在运行，本次退出：" if lang == "zh" else "another batch run holds the lock: ") + str(exc))
        raise typer.Exit(3) from None
    if not quiet:
        c = report.to_json()["counts"]
        if lang == "en":
            typer.echo(f"processed {c['processed']}, failed {c['failed'] + c['error']}, unchanged {c['skipped']}, "
                       f"not ready {c['not_ready']}, busy elsewhere {c['claimed']}"
                       + (f", refused links {c['refused']}" if c["refused"] else "")
                       + (f", would run {c['would_run']}" if dry_run else ""))
            if report.rounds and all(r.action == "skipped" for r in report.rounds):
                typer.echo("nothing to do: every round is unchanged since it was processed")
        else:
            typer.echo(f"已处理 {c['processed']}，失败 {c['failed'] + c['error']}，未变化 {c['skipped']}，"
                       f"未就绪 {c['not_ready']}，他处处理中 {c['claimed']}"
                       + (f"，拒绝的链接 {c['refused']}" if c["refused"] else "")
                       + (f"，将处理 {c['would_run']}" if dry_run else ""))
            if report.rounds and all(r.action == "skipped" for r in report.rounds):
                typer.echo("无需处理：所有轮次自上次处理后均未变化")
    for r in report.rounds:
        for note in r.notes:
            err(note)
    raise typer.Exit(report.exit_code)
