"""``ccredit pool import | status | history``: the pool after the rating (loan ledger, fund,
exposure, concentration, early warnings), kept in the rating register."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cluster_credit_cli.commands.common import (AsOfOpt, ConfigOpt, DebugOpt, LangOpt, QuietOpt, check_lang,
                                                check_outputs, existing_file, guard, parse_as_of)
from cluster_credit_cli.commands.common import (JsonOutOpt, RegisterDbOpt, console, register_path, say_written,
                                                write_json_data)

pool_app = typer.Typer(help="资金池贷后：贷款台账、担保基金、敞口与集中度 / the pool after the rating: loan ledger, "
                            "guarantee fund, exposure and concentration.", no_args_is_help=True)










def _problem_table(problems, lang: str, console, limit: int = 20) -> None:
    from rich.table import Table

    en = lang == "en"
    table = Table(title=(f"Problems: {len(problems)}" if en else f"发现的问题：{len(problems)} 条"), title_justify="left")
    for h in (("File", "文件"), ("Row", "行"), ("Column", "列"), ("Message", "说明")):
        table.add_column(h[0] if en else h[1], overflow="fold")
    for p in list(problems)[:limit]:
        table.add_row(p.file, str(p.row or ""), p.column or "", p.message)
    console.print(table)
    if len(problems) > limit:
        console.print(f"… {len(problems) - limit} more (--json lists them all)" if en
                      else f"…… 另有 {len(problems) - limit} 条（--json 输出全部）")


@pool_app.command("import")
@guard
def pool_import(
    ledger: Path = typer.Argument(..., metavar="LEDGER", help="The partner bank's loan ledger (贷款台账), .xlsx or .csv."),
    fund: Optional[Path] = typer.Option(None, "--fund", metavar="PATH",
                                        help="The fund's movements (资金池收支): contributions, guarantees paid, "
                                             "recoveries, interest."),
    as_of: Optional[str] = typer.Option(None, "--as-of", metavar="DATE", help="The ledger's date YYYY-MM-DD (required)."),
    db: Path = RegisterDbOpt,
    replace: bool = typer.Option(False, "--replace", help="Replace a different snapshot already stored for this date."),
    json_path: Optional[Path] = JsonOutOpt, config: Optional[Path] = ConfigOpt, lang: str = LangOpt,
    quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Store a dated snapshot of the loan ledger (and the fund) in the rating register.

    Each loan is linked to the rating run in force at its disbursement; a loan whose code never
    passed a rating is reported (exit 1), never silently accepted. Importing the same snapshot
    again changes nothing.

    Exit codes: 0 stored; 1 stored with problems in the files; 2 usage error.

    Example: ccredit pool import 贷款台账_2027-11-30.xlsx --fund 资金池收支.xlsx --as-of 2027-11-30 --db ccredit.db
    """
    from cluster_credit_cli.i18n import use_lang
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.pool.book import import_snapshot
    from cluster_credit_cli.problems import UsageError

    check_lang(lang)
    db = register_path(db)
    check_outputs({"--json": json_path}, [ledger, fund, db, config])
    existing_file(ledger, "LEDGER")
    existing_file(fund, "--fund")
    if not as_of:
        raise UsageError("--as-of DATE is required: the date the ledger was exported at (YYYY-MM-DD)")
    day = parse_as_of(as_of)
    if not Path(db).is_file():
        from cluster_credit_cli.i18n import say

        raise UsageError(say(f"{db} 处没有评级登记簿：请先运行“ccredit score”，或用 --db 指定",
                             f"no register at {db}: run `ccredit score ... --db {db}` first, or give --db PATH"))
    model = load_model(config)
    with use_lang(lang):
        res = import_snapshot(db, ledger, as_of=day, model=model, fund=fund, replace=replace, lang=lang)
    errors = [p for p in res.problems if p.severity == "error"]
    data = {"snapshot_id": res.snapshot_id, "as_of": day.isoformat(), "status": res.status, "loans": res.loans,
            "linked": res.linked, "fund": {k: res.fund[k] for k in ("contributions", "payouts", "recoveries",
                                                                   "interest", "balance")},
            "problems": res.problems.as_dicts()}
    write_json_data(data, json_path)
    if not quiet and str(json_path) != "-":
        en = lang == "en"
        word = {"imported": ("stored", "已导入"), "unchanged": ("already stored, unchanged", "已存在，内容相同，未改动"),
                "replaced": ("replaced", "已替换")}[res.status]
        typer.echo(f"Snapshot {day} #{res.snapshot_id}: {word[0]}; {res.loans} loans, {res.linked} linked to a rating; "
                   f"fund balance {res.fund['balance']:,.2f}" if en else
                   f"快照 {day} #{res.snapshot_id}：{word[1]}；贷款 {res.loans} 笔，{res.linked} 笔关联到评级；"
                   f"资金池余额 {res.fund['balance']:,.2f}")
        if res.problems:
            _problem_table(res.problems, lang, console())
    raise typer.Exit(1 if errors else 0)


@pool_app.command("status")
@guard
def pool_status_cmd(
    as_of: Optional[str] = AsOfOpt, db: Path = RegisterDbOpt,
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="WORKBOOK",
                                       help="Workbook (default: 资金池状况_DATE.xlsx beside the register)."),
    json_path: Optional[Path] = JsonOutOpt,
    credit_system: Optional[Path] = typer.Option(None, "--credit-system", metavar="PATH",
                                                 help="A fresh social credit system export: borrowers with new "
                                                      "negative records join the early warnings (as `monitor`)."),
    bank: Optional[Path] = typer.Option(None, "--bank", metavar="PATH", help="A fresh partner bank file (as `monitor`)."),
    config: Optional[Path] = ConfigOpt, lang: str = LangOpt, quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """The pool at a date: fund, capacity and its use, overdue and non-performing loans by grade,
    concentration (CR1/5/10, HHI, Gini), limits and the early-warning list.

    Uses the latest snapshot on or before --as-of (default: today). Writes a workbook with charts.

    Exit codes: 0 no limit breached and no warning; 1 a limit breached or a warning (so a
    scheduler can mail it); 2 usage error.

    Example: ccredit pool status --as-of 2027-11-30 --db ccredit.db --json -
    """
    from cluster_credit_cli.i18n import use_lang
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.pool.config import pool_config
    from cluster_credit_cli.pool.report import print_summary, write_status_workbook
    from cluster_credit_cli.pool.status import pool_status

    check_lang(lang)
    db = register_path(db)
    check_outputs({"--out": out, "--json": json_path}, [db, credit_system, bank, config])
    existing_file(credit_system, "--credit-system")
    existing_file(bank, "--bank")
    day = parse_as_of(as_of)
    model = load_model(config)
    cfg = pool_config(model)
    with use_lang(lang):
        mon = None
        if credit_system or bank:
            from cluster_credit_cli.register.monitor import monitor

            mon = monitor(db, model=model, credit_system=credit_system, bank=bank, as_of=day, lang=lang)
        st = pool_status(db, model=model, as_of=day, monitor=mon, lang=lang)
    write_json_data(st.to_json(), json_path)
    word = "pool_status" if lang == "en" else "资金池状况"
    target = out or Path(f"{word}_{day.isoformat()}.xlsx")  # in the current folder, like compare/monitor
    outcome = write_status_workbook(st, target, lang, Path(db), cfg.limits["low_grade"])
    to_stdout = str(json_path) == "-"
    if not quiet and not to_stdout:
        print_summary(st, lang, Path(db), cfg.limits["low_grade"], console())
    say_written(outcome, lang, quiet or to_stdout)
    raise typer.Exit(1 if st.breaches or st.warnings else 0)


@pool_app.command("history")
@guard
def pool_history_cmd(
    db: Path = RegisterDbOpt,
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="WORKBOOK",
                                       help="Workbook with the table and a chart (default: 资金池历史.xlsx beside "
                                            "the register)."),
    json_path: Optional[Path] = JsonOutOpt, config: Optional[Path] = ConfigOpt, lang: str = LangOpt,
    quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Every pool snapshot in the register: fund balance, outstanding, utilisation, NPL ratio, HHI.

    Example: ccredit pool history --db ccredit.db --out 资金池历史.xlsx
    """
    from rich.table import Table

    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.pool.config import pool_config
    from cluster_credit_cli.pool.report import history_json, write_history_workbook
    from cluster_credit_cli.pool.status import pool_history
    from cluster_credit_cli.problems import UsageError

    check_lang(lang)
    db = register_path(db)
    check_outputs({"--out": out, "--json": json_path}, [db, config])
    if not Path(db).is_file():
        from cluster_credit_cli.i18n import say

        raise UsageError(say(f"{db} 处没有评级登记簿：请用 --db 指定", f"no register at {db}: give --db PATH"))
    model = load_model(config)
    unit = pool_config(model).unit
    hist = pool_history(db, model=model)
    write_json_data({"snapshots": history_json(hist)}, json_path)
    en = lang == "en"
    to_stdout = str(json_path) == "-"
    if hist.empty:
        if not quiet and not to_stdout:
            typer.echo("No pool snapshots yet: run `ccredit pool import`." if en
                       else "尚无资金池快照：请先运行 ccredit pool import。")
        raise typer.Exit(0)
    target = out or Path("pool_history.xlsx" if en else "资金池历史.xlsx")  # in the current folder
    outcome = write_history_workbook(hist, target, lang, unit)
    if not quiet and not to_stdout:
        table = Table(title=(f"Pool snapshots in {Path(db).name} ({unit})" if en
                             else f"资金池各期快照（{Path(db).name}，{unit}）"), title_justify="left")
        for h in (("Date", "日期"), ("Loans", "笔数"), ("Outstanding", "在贷余额"), ("Fund", "资金池余额"),
                  ("Used", "使用率"), ("NPL", "不良率"), ("HHI", "HHI")):
            table.add_column(h[0] if en else h[1], justify="left" if h[0] == "Date" else "right", no_wrap=True)
        import math

        def missing(v) -> bool:
            return v is None or (isinstance(v, float) and math.isnan(v))

        for h in hist.to_dict("records"):
            table.add_row(h["as_of"].isoformat(), str(h["loans"]), f"{h['outstanding']:,.2f}",
                          f"{h['fund_balance']:,.2f}",
                          "—" if missing(h["utilisation"]) else f"{h['utilisation'] * 100:.1f}%",
                          "—" if missing(h["npl_ratio"]) else f"{h['npl_ratio'] * 100:.1f}%",
                          "—" if missing(h["hhi"]) else f"{h['hhi']:.3f}")
        console().print(table)
    say_written(outcome, lang, quiet or to_stdout)
