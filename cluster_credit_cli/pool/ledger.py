"""Reading the bank's loan ledger (贷款台账) and the fund's movements (资金池收支).

Both go through ``inputs.reading.read_source`` (title rows, aliases, GBK CSV, typed parsing),
then the pool's own checks, each a problem naming file, sheet, row and column:

* a row without a loan number cannot be tracked across snapshots: reported, not imported;
  a loan number twice in one ledger: the second row reported, not imported;
* credit codes are normalised and checked (GB 32100); a loan with a bad code is kept (the money
  is lent) and reported — it links to no rating;
* amounts must not be negative; days past due blank means current (0); a blank status is derived
  from the row (代偿 if the pool paid, 结清 if nothing is outstanding, 逾期 if past due, else 正常);
* classification, status and fund kinds must be one of their words (synonyms from the config);
* dates: maturity not before disbursement, nothing disbursed after the snapshot date; fund
  movements dated after the snapshot date are reported and not counted.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cluster_credit_cli.i18n import say
from cluster_credit_cli.inputs.identity import normalize_codes
from cluster_credit_cli.inputs.reading import SourceTable, read_source
from cluster_credit_cli.pool.config import FUND, LEDGER, PoolConfig
from cluster_credit_cli.problems import Problems, UsageError

LOAN_COLUMNS = ["loan_no", "code", "name", "contract_amount", "outstanding", "disbursed", "maturity", "dpd",
                "classification", "status", "paid_amount", "paid_date", "recovered_amount", "recovered_date",
                "sector"]
FUND_COLUMNS = ["date", "kind", "amount", "party", "loan_no", "remark"]


def _read(path: Path, kind: str, cfg: PoolConfig, problems: Problems, lang: str) -> SourceTable:
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{cfg.sources[kind].label} ({kind}): file not found: {path}")
    before = len(problems)
    table = read_source(path, kind, cfg.reading_model, problems, lang=lang)
    if table is None:
        msgs = "; ".join(p.message for p in list(problems)[before:])
        raise UsageError(f"{path.name} cannot be read as the {cfg.sources[kind].label_en or kind} "
                         f"({cfg.sources[kind].label}): {msgs}")
    return table


def _col(table: SourceTable, key: str) -> pd.Series:
    if key in table.data.columns:
        return table.data[key]
    return pd.Series([None] * len(table.data), index=table.data.index, dtype=object)


def _date(v: Any) -> _dt.date | None:
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    return pd.Timestamp(v).date()


def _num(v: Any) -> float | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return float(v)


def _text(v: Any) -> str | None:
    if isinstance(v, str) and v.strip():
        return v.strip()
    return None


def read_ledger(path: Path, cfg: PoolConfig, problems: Problems, as_of: _dt.date, *,
                lang: str = "zh") -> pd.DataFrame:
    """The loans of one ledger file, checked; columns ``LOAN_COLUMNS`` + ``_row``."""
    table = _read(path, LEDGER, cfg, problems, lang)
    file, sheet = table.file.name, table.sheet
    hdr = {k: table.columns.get(k, cfg.fields[k].label) for k in LOAN_COLUMNS}

    def add(row, key, code, zh, en, severity="error"):
        problems.add(file, sheet, int(row), hdr[key], code, say(zh, en), severity)

    # Plain lists: one pass per column instead of a pandas lookup per cell.
    col = {k: _col(table, k).tolist() for k in LOAN_COLUMNS}
    codes, reasons = normalize_codes(_col(table, "code").fillna(""))
    codes, reasons, rows = codes.tolist(), reasons.tolist(), table.data["_row"].tolist()
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i in range(len(table.data)):
        row = int(rows[i])
        loan_no = _text(col["loan_no"][i])
        if loan_no is None:
            add(row, "loan_no", "missing_loan_no", "没有贷款编号：此行未导入（编号用于跨期跟踪同一笔贷款），请补填",
                "no loan number: this row is not imported (the number tracks a loan across snapshots); fill it in")
            continue
        if loan_no in seen:
            add(row, "loan_no", "duplicate_loan", f"贷款编号 {loan_no} 与第 {seen[loan_no]} 行重复：此行未导入",
                f"loan number {loan_no} repeats row {seen[loan_no]}: this row is not imported")
            continue
        seen[loan_no] = row
        code = codes[i]
        if not pd.isna(reasons[i]):
            raw = col["code"][i]
            what = "为空" if not code else f"“{raw}”无效：{reasons[i]}"
            add(row, "code", "bad_code", f"统一社会信用代码{what}；此笔贷款无法关联评级，请更正",
                f"credit code {'missing' if not code else repr(str(raw)) + ' is invalid: ' + str(reasons[i])}; "
                "the loan cannot be linked to a rating, correct it")
        rec: dict[str, Any] = {"loan_no": loan_no, "code": code, "name": _text(col["name"][i]),
                               "sector": _text(col["sector"][i]), "_row": row}
        for key in ("contract_amount", "outstanding", "dpd", "paid_amount", "recovered_amount"):
            v = _num(col[key][i])
            if v is not None and v < 0:
                add(row, key, "negative_amount", f"{cfg.fields[key].label}不能为负数（{v:g}）：按空值处理",
                    f"{cfg.fields[key].label_en} cannot be negative ({v:g}): treated as blank")
                v = None
            rec[key] = v
        for key in ("disbursed", "maturity", "paid_date", "recovered_date"):
            rec[key] = _date(col[key][i])
        rec["dpd"] = int(rec["dpd"]) if rec["dpd"] is not None else 0
        rec["paid_amount"] = rec["paid_amount"] or 0.0
        rec["recovered_amount"] = rec["recovered_amount"] or 0.0
        for key in ("classification", "status"):
            raw = _text(col[key][i])
            value = cfg.choice(key, raw) if raw is not None else None
            if raw is not None and value is None:
                allowed = "/".join(cfg.fields[key].choices)
                add(row, key, f"bad_{key}", f"“{raw}”不是{cfg.fields[key].label}（应为 {allowed}）",
                    f"'{raw}' is not a {cfg.fields[key].label_en.lower()} (one of {allowed})")
            rec[key] = value
        if rec["status"] is None:
            rec["status"] = ("代偿" if rec["paid_amount"] > 0 else "结清" if rec["outstanding"] == 0
                             else "逾期" if rec["dpd"] > 0 else "正常")
        if rec["outstanding"] is None:
            if rec["status"] in ("结清", "代偿"):
                rec["outstanding"] = 0.0
            else:
                add(row, "outstanding", "missing_outstanding", "贷款余额为空：此笔贷款不计入余额合计，请补填",
                    "outstanding balance is blank: the loan is left out of the totals; fill it in")
        if rec["disbursed"] and rec["maturity"] and rec["maturity"] < rec["disbursed"]:
            add(row, "maturity", "maturity_before_disbursement",
                f"到期日期 {rec['maturity']} 早于放款日期 {rec['disbursed']}",
                f"maturity {rec['maturity']} is before disbursement {rec['disbursed']}")
        if rec["disbursed"] and rec["disbursed"] > as_of:
            add(row, "disbursed", "disbursed_after_as_of", f"放款日期 {rec['disbursed']} 晚于台账日期 {as_of}",
                f"disbursed {rec['disbursed']}, after the snapshot date {as_of}")
        if rec["disbursed"] is None:
            add(row, "disbursed", "missing_disbursed", "放款日期为空：无法确定放款时有效的评级",
                "no disbursement date: the rating in force at disbursement cannot be found")
        out.append(rec)
    frame = pd.DataFrame(out, columns=LOAN_COLUMNS + ["_row"])
    if frame.empty:
        problems.add(file, sheet, None, None, "empty_ledger", say("台账中没有贷款", "the ledger holds no loans"), "warning")
    return frame


def read_fund(path: Path, cfg: PoolConfig, problems: Problems, as_of: _dt.date, *, lang: str = "zh") -> pd.DataFrame:
    """The fund's movements up to ``as_of``, checked; columns ``FUND_COLUMNS`` + ``_row``."""
    table = _read(path, FUND, cfg, problems, lang)
    file, sheet = table.file.name, table.sheet
    hdr = {k: table.columns.get(k, cfg.fields[k].label) for k in FUND_COLUMNS}
    col = {k: _col(table, k).tolist() for k in FUND_COLUMNS}
    rows = table.data["_row"].tolist()
    out, later = [], []
    for i in range(len(table.data)):
        row = int(rows[i])

        def add(key, code, zh, en, severity="error"):
            problems.add(file, sheet, row, hdr[key], code, say(zh, en), severity)

        day = _date(col["date"][i])
        raw_kind = _text(col["kind"][i])
        kind = cfg.choice("kind", raw_kind) if raw_kind else None
        amount = _num(col["amount"][i])
        if day is None:
            add("date", "missing_date", "日期为空：此笔收支未计入", "no date: the movement is not counted")
            continue
        if kind is None:
            allowed = "/".join(cfg.fields["kind"].choices)
            add("kind", "bad_fund_kind", f"“{raw_kind or ''}”不是收支类型（应为 {allowed}）：此笔收支未计入",
                f"'{raw_kind or ''}' is not a kind of movement (one of {allowed}): not counted")
            continue
        if amount is None or amount < 0:
            add("amount", "bad_fund_amount", "金额为空或为负：请填正数，方向由类型决定；此笔收支未计入",
                "amount blank or negative: write a positive amount, the kind gives the direction; not counted")
            continue
        if day > as_of:  # a statement exported later than the snapshot: normal, summed up below
            later.append(row)
            continue
        out.append({"date": day, "kind": kind, "amount": amount, "party": _text(col["party"][i]),
                    "loan_no": _text(col["loan_no"][i]), "remark": _text(col["remark"][i]),
                    "_row": row})
    if later:
        rows = f"{later[0]}–{later[-1]}" if len(later) > 1 else str(later[0])
        problems.add(file, sheet, None, hdr["date"], "after_as_of",
                     say(f"{len(later)} 笔收支（第 {rows} 行）日期晚于快照日期 {as_of}：不计入本期",
                         f"{len(later)} movement(s) (rows {rows}) are dated after the snapshot date {as_of}: "
                         "not counted in this snapshot"), "warning")
    return pd.DataFrame(out, columns=FUND_COLUMNS + ["_row"])


def fund_totals(movements: pd.DataFrame | None, loans: pd.DataFrame, cfg: PoolConfig,
                as_of: _dt.date) -> dict[str, Any]:
    """contributions, payouts, recoveries, interest, balance (万元) and where they came from.

    balance = contributions − payouts + recoveries + interest. Without a fund file: the config's
    ``guarantee_fund`` as contributions and the ledger's guarantees paid and recovered (dated on or
    before the snapshot).
    """
    if movements is not None:
        sums = {k: float(movements.loc[movements["kind"] == k, "amount"].sum()) for k in
                ("出资", "代偿支出", "追偿收回", "利息")}
        out = {"contributions": sums["出资"], "payouts": sums["代偿支出"], "recoveries": sums["追偿收回"],
               "interest": sums["利息"], "source": "fund"}
    else:
        def upto(amount: str, day: str) -> float:
            dates = loans[day]
            keep = dates.map(lambda d: d is None or d <= as_of) if len(loans) else pd.Series([], dtype=bool)
            return float(np.nansum(loans.loc[keep, amount].astype(float))) if len(loans) else 0.0

        out = {"contributions": cfg.guarantee_fund, "payouts": upto("paid_amount", "paid_date"),
               "recoveries": upto("recovered_amount", "recovered_date"), "interest": 0.0, "source": "config"}
    out["balance"] = out["contributions"] - out["payouts"] + out["recoveries"] + out["interest"]
    return out
