"""``ccredit pool risk``: will the fund hold? The loss distribution of the outstanding book.

Adds its command to ``commands.pool.pool_app`` (imported by cli.py once the pool sub-app exists).
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from cluster_credit_cli.commands.common import (AsOfOpt, ConfigOpt, DebugOpt, LangOpt, QuietOpt, check_lang, guard,
                                                parse_as_of)
from cluster_credit_cli.commands.common import say_written, write_json_data
from cluster_credit_cli.commands.common import JsonOutOpt, RegisterDbOpt
from cluster_credit_cli.commands.pool import pool_app


def parse_pd_overrides(items: list[str] | None) -> dict[str, float]:
    """``--pd A=0.03`` (repeatable) -> {"A": 0.03}; a clear usage error otherwise."""
    from cluster_credit_cli.problems import UsageError

    out: dict[str, float] = {}
    for item in items or []:
        grade, sep, value = item.partition("=")
        try:
            p = float(value)
        except ValueError:
            p = float("nan")
        if not sep or not grade.strip() or not 0 < p < 1:
            raise UsageError(f"--pd {item!r}: give GRADE=PROBABILITY with the probability between 0 and 1, "
                             "e.g. --pd A=0.03")
        out[grade.strip()] = p
    return out


def _fraction(value: Optional[float], name: str, *, open_hi: bool = False) -> Optional[float]:
    from cluster_credit_cli.problems import UsageError

    if value is None:
        return None
    if not (0 <= value < 1 if open_hi else 0 <= value <= 1):
        raise UsageError(f"{name} {value:g}: must be between 0 and 1{' (below 1)' if open_hi else ''}")
    return value


@pool_app.command("risk")
@guard
def pool_risk_cmd(
    as_of: Optional[str] = AsOfOpt, db: Path = RegisterDbOpt,
    horizon: Optional[int] = typer.Option(None, "--horizon", metavar="MONTHS",
                                          help="Horizon in months (default: [risk] horizon_months, 12)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="WORKBOOK",
                                       help="Workbook (default: 资金池风险_DATE.xlsx beside the register)."),
    json_path: Optional[Path] = JsonOutOpt,
    check_mc: int = typer.Option(0, "--check-mc", metavar="N",
                                 help="Also simulate the same model N times (seeded) and print the estimate of "
                                      "P(loss > fund) with its 99% interval beside the exact figure."),
    pd: Optional[List[str]] = typer.Option(None, "--pd", metavar="GRADE=P",
                                           help="What-if: the annual PD of a grade (repeatable), instead of the "
                                                "table and the history."),
    lgd: Optional[float] = typer.Option(None, "--lgd", metavar="X", help="What-if: loss given default for all."),
    rho: Optional[float] = typer.Option(None, "--rho", metavar="X", help="What-if: asset correlation for all."),
    ccf: Optional[float] = typer.Option(None, "--ccf", metavar="X", help="What-if: conversion factor of undrawn quota."),
    config: Optional[Path] = ConfigOpt, lang: str = LangOpt, quiet: bool = QuietOpt, debug: bool = DebugOpt,
) -> None:
    """Will the fund hold? The loss distribution of the outstanding book over the horizon.

    One-factor Gaussian copula (Vasicek) computed exactly: Gauss-Hermite quadrature over the
    common factor and, at each node, the exact distribution of the sum of the borrowers' losses
    on a loss grid. Reports expected loss, VaR and ES at 95/99/99.9 %, the probability that
    losses exceed the fund balance, the fund needed for the [risk] targets, each borrower's
    contribution to ES 99 %, and the [risk] stress scenarios. Uses the latest pool snapshot on
    or before --as-of; PDs per grade from [risk.pd] (or the register's history once it has
    enough rated loans with outcomes), LGD from config or the closed cases.

    Exit codes: 0 the fund holds with the first [risk] target probability; 1 it does not (the
    fund needed exceeds the balance); 2 usage or config error.

    Example: ccredit pool risk --as-of 2027-11-30 --db ccredit.db --check-mc 100000
    """
    from cluster_credit_cli.i18n import use_lang
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.pool.book import load_book, loan_history
    from cluster_credit_cli.pool.config import pool_config
    from cluster_credit_cli.pool.risk_analysis import analyse_risk
    from cluster_credit_cli.pool.risk_config import risk_config
    from cluster_credit_cli.pool.risk_report import summary_lines, write_risk_workbook
    from cluster_credit_cli.problems import UsageError

    check_lang(lang)
    day = parse_as_of(as_of)
    overrides = parse_pd_overrides(pd)
    _fraction(lgd, "--lgd")
    _fraction(ccf, "--ccf")
    _fraction(rho, "--rho", open_hi=True)
    if horizon is not None and not 1 <= horizon <= 120:
        raise UsageError(f"--horizon {horizon}: give a number of months between 1 and 120")
    if check_mc < 0 or check_mc > 10_000_000:
        raise UsageError(f"--check-mc {check_mc}: give a number of draws between 1 and 10,000,000 (0: none)")
    if not Path(db).is_file():
        raise UsageError(f"no register at {db}: run `ccredit pool import LEDGER --as-of DATE --db {db}` first, "
                         "or give --db PATH")
    model = load_model(config)
    cfg = risk_config(model)
    for g in overrides:
        if g not in cfg.pd:
            raise UsageError(f"--pd {g}=...: {g} is not a grade of the model ({', '.join(cfg.pd)})")
    unit = pool_config(model).unit
    with use_lang(lang):
        book = load_book(db, day, model=model)
        history = loan_history(db)
        res = analyse_risk(book.loans, float(book.fund["balance"]), book.as_of, cfg, history=history,
                           horizon=horizon, pd_overrides=overrides, lgd=lgd, rho=rho, ccf=ccf, check_mc=check_mc,
                           unit=unit)
    write_json_data(res.as_dict(), json_path)
    word = "pool_risk" if lang == "en" else "资金池风险"
    target = out or Path(db).resolve().parent / f"{word}_{book.as_of.isoformat()}.xlsx"
    outcome = write_risk_workbook(res, target, lang)
    to_stdout = str(json_path) == "-"
    if not quiet and not to_stdout:
        for line in summary_lines(res, lang):
            typer.echo(line)
    say_written(outcome, lang, quiet or to_stdout)
    first = cfg.targets[0]
    raise typer.Exit(1 if res.fund_for.get(first, 0.0) > res.fund_balance else 0)
