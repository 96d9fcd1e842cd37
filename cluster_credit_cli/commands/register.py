"""``ccredit runs``, ``history``, ``compare`` and ``monitor``: views over the rating register."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cluster_credit_cli.commands.common import (AsOfOpt, ConfigOpt, DebugOpt, LangOpt, QuietOpt, check_lang,
                                                check_outputs, existing_file, guard, parse_as_of)
from cluster_credit_cli.commands.common import (JsonOutOpt, RegisterDbOpt, console, register_path, say_written,
                                                write_json_data)

# This module's top-level commands; cli.py adds them to the root app (no import of cli here).
app = typer.Typer()










def _num(v, fmt: str = "{:,.2f}") -> str:
    return "" if v is None else fmt.format(v)


@app.command()
@guard
def runs(
    db: Path = RegisterDbOpt, out: Optional[Path] = typer.Option(
        None, "--out", "-o", metavar="WORKBOOK", help="Also write the runs and the pool ledger of the latest run."),
    json_path: Optional[Path] = JsonOutOpt, lang: str = LangOpt, quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """List the runs recorded in the rating register (评级登记簿).

    With --out, a workbook with every run and the pool ledger (资金池台账) of the latest run:
    capacity used by grade and the quota of each enterprise in rank order.

    Example: ccredit runs --out runs.xlsx
    """
    from cluster_credit_cli.register.store import list_runs, pool_ledger

    check_lang(lang)
    db = register_path(db)
    check_outputs({"--out": out, "--json": json_path}, [db])
    items = list_runs(db)
    ledger = pool_ledger(db) if items else None
    if json_path:
        write_json_data({"runs": items, "pool_ledger": _ledger_json(ledger)}, json_path)
    if out:
        from cluster_credit_cli.register.report import write_runs_workbook

        outcome = write_runs_workbook(items, ledger, out, lang)
    if not quiet and str(json_path) != "-":
        from rich.table import Table

        en = lang == "en"
        table = Table(title=f"{'Runs in' if en else '评级登记簿'} {db}", title_justify="left")
        for h in (("#", "#"), ("Recorded (UTC)", "登记时间(UTC)"), ("As of", "基准日"), ("Model", "模型"),
                  ("Hash", "模型哈希"), ("Enterprises", "企业"), ("Graded", "已评级"), ("Allocated", "已分配")):
            table.add_column(h[0] if en else h[1], overflow="fold", no_wrap=h[0] != "Model")
        for r in items:
            table.add_row(str(r["id"]), r["created_at"][:16].replace("T", " "), r["as_of"], r["model"] or "",
                          (r["model_hash"] or "")[:8],
                          str(r["enterprises"]), str(r["graded"]), _num(r["allocated"], "{:,.0f}"))
        console().print(table)
        if not items:
            typer.echo("No runs yet." if en else "尚无运行记录。")
    if out:
        say_written(outcome, lang, quiet)


def _ledger_json(ledger):
    if ledger is None:
        return None
    return {k: (v if k != "run" else v["id"]) for k, v in ledger.items()}


@app.command()
@guard
def history(
    code: str = typer.Argument(..., help="Unified social credit code of the enterprise.", metavar="CODE"),
    db: Path = RegisterDbOpt, json_path: Optional[Path] = JsonOutOpt, lang: str = LangOpt,
    quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """One enterprise across all recorded runs: grade, rank, total, status and quota.

    Exit code 1 when the register has no result for CODE.

    Example: ccredit history 91441900MA4UXXXX0X
    """
    from cluster_credit_cli.i18n import status_words
    from cluster_credit_cli.inputs.identity import normalize_code
    from cluster_credit_cli.register.store import history as get_history

    check_lang(lang)
    db = register_path(db)
    check_outputs({"--json": json_path}, [db])
    key = normalize_code(code)
    items = get_history(db, key)
    if json_path:
        write_json_data({"code": key, "history": items}, json_path)
    en = lang == "en"
    if not quiet and str(json_path) != "-":
        if not items:
            typer.echo(f"{key}: not in any run of {db}" if en else f"{key}：登记簿 {db} 中没有该企业的记录")
        else:
            from rich.table import Table

            table = Table(title=f"{key} {items[-1]['name'] or ''}", title_justify="left")
            for h in (("Run", "运行"), ("As of", "基准日"), ("Grade", "等级"), ("Rank", "排名"), ("Total", "总分"),
                      ("Base", "基础分"), ("Bonus", "加分"), ("Quota", "建议额度"), ("Status", "状态")):
                table.add_column(h[0] if en else h[1], overflow="fold", no_wrap=h[0] != "Status")
            for r in items:
                table.add_row(f"#{r['run_id']}", r["as_of"], r["grade"] or "—", str(r["rank"] or "—"), _num(r["total"]),
                              _num(r["base"]), _num(r["bonus"]), _num(r["quota"], "{:,.0f}"),
                              status_words(r["status"], lang))
            console().print(table)
    raise typer.Exit(0 if items else 1)


@app.command()
@guard
def compare(
    run_a: Optional[int] = typer.Argument(None, help="Earlier run id (default: the second latest).", metavar="RUN_A"),
    run_b: Optional[int] = typer.Argument(None, help="Later run id (default: the latest).", metavar="RUN_B"),
    db: Path = RegisterDbOpt,
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="WORKBOOK",
                                       help="Migration workbook (default: 评级迁移_A-B.xlsx in the current folder)."),
    json_path: Optional[Path] = JsonOutOpt, lang: str = LangOpt, quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Rating migration between two runs (评级迁移矩阵), default the last two.

    Grades of run A in rows, of run B in columns, with counts and row percents, plus the
    enterprises that entered or left the pool (not graded) or were absent from a run; then every
    upgrade and downgrade with the indicators that moved most (largest change of weighted points).
    Writes a workbook with a heat-map coloured matrix; --json gives
    {"matrix": {FROM: {TO: count}}, "changes": [{"code","name","from","to","total_from","total_to","drivers"}]}.

    Example: ccredit compare --json -
    """
    from cluster_credit_cli.register.store import compare_runs
    from cluster_credit_cli.register.report import category_label, write_compare_workbook

    check_lang(lang)
    db = register_path(db)
    check_outputs({"--out": out, "--json": json_path}, [db])
    cmp = compare_runs(db, run_a, run_b)
    if json_path:
        write_json_data(cmp.to_json(), json_path)
    word = "migration" if lang == "en" else "评级迁移"
    target = out or Path(f"{word}_{cmp.run_a['id']}-{cmp.run_b['id']}.xlsx")  # in the current folder
    outcome = write_compare_workbook(cmp, target, lang)
    if not quiet and str(json_path) != "-":
        from rich.table import Table

        en = lang == "en"
        table = Table(title=(f"Rating migration #{cmp.run_a['id']} → #{cmp.run_b['id']}" if en
                             else f"评级迁移 #{cmp.run_a['id']} → #{cmp.run_b['id']}"), title_justify="left")
        table.add_column("A \\ B")
        for c in cmp.categories:
            table.add_column(category_label(c, lang), justify="right")
        for a in cmp.categories:
            table.add_row(category_label(a, lang), *[str(cmp.matrix[a].get(b, "")) for b in cmp.categories])
        console().print(table)
        for c in cmp.changes:
            top = ", ".join(f"{d['key']} {d['delta']:+.2f}" for d in c["drivers"][:3])
            typer.echo(f"{c['code']} {c['name']}: {category_label(c['from'], lang)} → {category_label(c['to'], lang)}"
                       f" ({_num(c['total_from'])} → {_num(c['total_to'])}) {top}")
    say_written(outcome, lang, quiet or str(json_path) == "-")


@app.command()
@guard
def monitor(
    credit_system: Optional[Path] = typer.Option(None, "--credit-system", metavar="PATH",
                                                 help="New social credit system export (社会信用系统)."),
    bank: Optional[Path] = typer.Option(None, "--bank", metavar="PATH", help="New partner bank file (合作银行征信)."),
    as_of: Optional[str] = AsOfOpt, db: Path = RegisterDbOpt,
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="WORKBOOK",
                                       help="Alert workbook (default: 监控预警_DATE.xlsx in the current folder)."),
    json_path: Optional[Path] = JsonOutOpt, config: Optional[Path] = ConfigOpt, lang: str = LangOpt,
    quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Post-loan monitoring (贷后监控) of the enterprises graded in the register's latest run.

    Finds what is new since the rating date (records dated after the run's as-of date and up to
    --as-of): penalties, lawsuits as defendant, labour disputes, blacklisting, overdue days; rescores
    with the model's rules and flags those whose grade would fall or who would now be vetoed.

    Exit codes: 0 no alerts; 1 alerts written (so a scheduler can mail them); 2 usage error.

    Example: ccredit monitor --credit-system 信用系统_新.csv --bank 银行_新.xlsx --json -
    """
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.register.monitor import monitor as run_monitor
    from cluster_credit_cli.register.report import write_monitor_workbook

    check_lang(lang)
    db = register_path(db)
    check_outputs({"--out": out, "--json": json_path}, [db, credit_system, bank, config])
    existing_file(credit_system, "--credit-system")
    existing_file(bank, "--bank")
    if credit_system is None and bank is None:
        from cluster_credit_cli.problems import UsageError

        from cluster_credit_cli.i18n import say

        raise UsageError(say("请给出新的社会信用系统导出文件（--credit-system）和/或 --bank",
                             "give the new social credit system export (--credit-system) and/or --bank"))
    day = parse_as_of(as_of)
    model = load_model(config)
    res = run_monitor(db, model=model, credit_system=credit_system, bank=bank, as_of=day, lang=lang)
    if json_path:
        write_json_data(res.to_json(), json_path)
    word = "alerts" if lang == "en" else "监控预警"
    target = out or Path(f"{word}_{day.isoformat()}.xlsx")  # in the current folder
    outcome = write_monitor_workbook(res, target, lang)
    to_stdout = str(json_path) == "-"
    if not quiet and not to_stdout:
        en = lang == "en"
        typer.echo((f"Run #{res.run['id']} (rated {res.rating_date}), new records up to {day}: "
                    f"{len(res.alerts)} alert(s), {len(res.watch)} on the watch list" if en else
                    f"运行 #{res.run['id']}（评级日 {res.rating_date}）至 {day} 的新增记录："
                    f"预警 {len(res.alerts)} 家，关注 {len(res.watch)} 家"))
        for a in res.alerts:
            typer.echo(f"  ! {a['code']} {a['name']}: {a['grade_then']} → {a['grade_now'] or ('vetoed' if en else '否决')}"
                       f" — {'; '.join(a['reasons'])}")
        for w in res.warnings:
            typer.echo(("Warning: " if en else "警告：") + w, err=True)
    say_written(outcome, lang, quiet or to_stdout)
    raise typer.Exit(1 if res.alerts else 0)
