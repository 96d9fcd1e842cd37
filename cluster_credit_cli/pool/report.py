"""What ``pool status`` and ``pool history`` show: the terminal summary (80 columns, a pool manager
reads it in a minute) and the workbooks with their native charts (exposure by grade, the Lorenz
curve, the fund over time)."""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any

import pandas as pd

from cluster_credit_cli.atomic import WriteOutcome
from cluster_credit_cli.outputs.excel import Column, Workbook, write_table
from cluster_credit_cli.pool.status import BUCKETS, UNRATED, PoolStatus

L = {
    "title": ("资金池状况", "Pool status"), "overview": ("概览", "Overview"), "grades": ("按评级", "By grade"),
    "quotas": ("额度使用", "Quotas"), "loans": ("贷款明细", "Loans"), "conc": ("集中度", "Concentration"),
    "warnings": ("预警", "Early warnings"), "fund": ("资金池", "Fund"), "about": ("说明", "About"),
    "history": ("历史", "History"), "problems": ("导入问题", "Import problems"),
    "item": ("项目", "Item"), "value": ("数值", "Value"),
    "contributions": ("出资", "Contributions"), "payouts": ("代偿支出", "Guarantees paid"),
    "recoveries": ("追偿收回", "Recoveries"), "interest": ("利息", "Interest"), "balance": ("资金池余额", "Fund balance"),
    "leverage": ("放大倍数", "Leverage"), "capacity": ("授信容量", "Capacity"), "outstanding": ("在贷余额", "Outstanding"),
    "utilisation": ("容量使用率", "Utilisation"), "eff_leverage": ("实际杠杆", "Effective leverage"),
    "n_loans": ("在贷笔数", "Live loans"), "n_borrowers": ("在贷企业", "Borrowers"), "npl_ratio": ("不良率", "NPL ratio"),
    "grade": ("放款时等级", "Grade at rating"), "share": ("占比", "Share"), "count": ("笔数", "Loans"),
    "npl": ("不良余额", "Non-performing"), "class": ("五级分类", "Class"), "amount": ("余额", "Outstanding"),
    "code": ("统一社会信用代码", "Credit code"), "name": ("企业名称", "Name"), "run": ("评级运行", "Rating run"),
    "quota": ("核定额度", "Quota granted"), "contract": ("合同金额", "Contract amount"), "headroom": ("剩余额度", "Headroom"),
    "used": ("额度使用率", "Quota used"), "grade_now": ("最新等级", "Grade now"), "quota_now": ("最新额度", "Quota now"),
    "loan_no": ("贷款编号", "Loan no."), "disbursed": ("放款日期", "Disbursed"), "maturity": ("到期日期", "Maturity"),
    "dpd": ("逾期天数", "Days past due"), "bucket": ("逾期区间", "DPD bucket"), "status": ("贷款状态", "Status"),
    "paid": ("代偿金额", "Guarantee paid"), "paid_date": ("代偿日期", "Paid on"), "recovered": ("追偿回收", "Recovered"),
    "recovered_date": ("回收日期", "Recovered on"), "sector": ("细分行业", "Sub-sector"), "total": ("评级总分", "Score"),
    "kind": ("类型", "Kind"), "detail": ("说明", "Detail"), "limit": ("限额", "Limit"), "threshold": ("上限", "Threshold"),
    "breached": ("是否突破", "Breached"), "measure": ("指标", "Measure"), "borrower": ("按借款人", "By borrower"),
    "by_sector": ("按细分行业", "By sub-sector"), "lorenz_x": ("借款人累计占比", "Share of borrowers"),
    "lorenz_y": ("余额累计占比", "Share of exposure"), "equality": ("绝对均等线", "Line of equality"),
    "date": ("日期", "Date"), "party": ("出资方", "Party"), "remark": ("备注", "Remark"), "as_of": ("快照日期", "Snapshot"),
    "fund_over_time": ("资金池余额与在贷余额", "Fund and outstanding over time"), "hhi": ("HHI", "HHI"),
    "equivalent_n": ("等效户数(1/HHI)", "Equivalent borrowers (1/HHI)"), "gini": ("基尼系数", "Gini"),
    "overdue": ("逾期余额", "Overdue"), "file": ("文件", "File"), "row": ("行", "Row"), "column": ("列", "Column"),
    "message": ("说明", "Message"), "severity": ("级别", "Severity"), "problem_code": ("问题代码", "Code"),
    "exposure_by_grade": ("按放款时等级的在贷余额", "Outstanding by grade at rating"),
    "lorenz": ("洛伦兹曲线（按借款人）", "Lorenz curve (borrowers)"), "yes": ("是", "yes"), "no": ("否", "no"),
}
KINDS = {"overdue": ("逾期", "overdue"), "guarantee_paid": ("已代偿", "guarantee paid"),
         "downgraded": ("评级下调", "downgraded"), "new_negative": ("新增负面", "new negative records"),
         "maturing": ("即将到期", "maturing"), "unrated": ("无有效评级", "no rating")}
LIMITS = {"largest_single_share": ("最大单户占比", "Largest borrower's share"),
          "largest_single_amount": ("最大单户余额", "Largest borrower's outstanding"),
          "top10_share": ("前十户占比", "Top-10 share"), "low_grade_share": ("{g}级及以下占比", "Grade {g} and below")}


def t(key: str, lang: str) -> str:
    zh, en = L[key]
    return en if lang == "en" else zh


def kind_label(kind: str, lang: str) -> str:
    zh, en = KINDS.get(kind, (kind, kind))
    return en if lang == "en" else zh


def limit_label(limit: str, lang: str, low_grade: str | None = None) -> str:
    zh, en = LIMITS.get(limit, (limit, limit))
    return (en if lang == "en" else zh).format(g=low_grade or "")


def _pct(v: float | None, nd: int = 1) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v * 100:.{nd}f}%"


def _amt(v: float | None) -> str:
    return "—" if v is None else f"{v:,.2f}"


def _limit_value(b: dict[str, Any]) -> tuple[str, str]:
    if b["limit"] == "largest_single_amount":
        return _amt(b["value"]), _amt(b["threshold"])
    return _pct(b["value"]), _pct(b["threshold"])


# -- the terminal summary ----------------------------------------------------------------------------------

def summary_lines(st: PoolStatus, lang: str, db: Path, low_grade: str | None) -> list[str]:
    """The head of the summary as plain lines (each under 80 columns for ordinary figures)."""
    en, u, f = lang == "en", st.unit, st.fund
    n_b = st.live["key"].nunique() if len(st.live) else 0
    over_n = sum(st.overdue[b]["count"] for b in BUCKETS)
    over_a = sum(st.overdue[b]["amount"] for b in BUCKETS)
    c = st.concentration
    snap = st.book.as_of
    lines = [
        (f"Pool status on {st.asked} (snapshot of {snap}, {db.name}; amounts in {u})" if en else
         f"资金池状况 {st.asked}（台账快照 {snap}；登记簿 {db.name}）"),
        (f"Fund      {_amt(f['balance'])} = contributions {_amt(f['contributions'])} − guarantees paid "
         f"{_amt(f['payouts'])}\n          + recoveries {_amt(f['recoveries'])} + interest {_amt(f['interest'])}"
         if en else
         f"资金池余额 {_amt(f['balance'])} {u} = 出资 {_amt(f['contributions'])} − 代偿 {_amt(f['payouts'])}"
         f" + 追回 {_amt(f['recoveries'])} + 利息 {_amt(f['interest'])}"),
        (f"Capacity  {_amt(st.capacity)} (×{st.book.leverage:g}); outstanding {_amt(st.outstanding)}, "
         f"{_pct(st.utilisation)} used; leverage "
         f"{'—' if st.effective_leverage is None else f'{st.effective_leverage:.2f}'}" if en else
         f"授信容量  {_amt(st.capacity)}（{st.book.leverage:g} 倍）；在贷 {_amt(st.outstanding)}，"
         f"使用 {_pct(st.utilisation)}；实际杠杆 "
         f"{'—' if st.effective_leverage is None else f'{st.effective_leverage:.2f} 倍'}"),
        (f"Loans     {len(st.live)} live to {n_b} borrowers; overdue {over_n} ({_amt(over_a)}, "
         f"{_pct(over_a / st.outstanding if st.outstanding else None)}); NPL {_pct(st.npl['ratio'])} "
         f"({st.npl['count']})" if en else
         f"在贷      {len(st.live)} 笔 / {n_b} 家；逾期 {over_n} 笔 {_amt(over_a)}"
         f"（{_pct(over_a / st.outstanding if st.outstanding else None)}）；不良率 {_pct(st.npl['ratio'])}"
         f"（{st.npl['count']} 笔）"),
        ("Overdue   " if en else "逾期分布  ") + " | ".join(
            f"{b}{'' if en else '天'} {st.overdue[b]['count']}{'' if en else '笔'} {_amt(st.overdue[b]['amount'])}"
            for b in BUCKETS),
    ]
    q = st.borrowers
    granted = float(q["quota"].fillna(0).sum()) if len(q) else 0.0
    drawn = float(q.loc[q["quota"].notna(), "outstanding"].sum()) if len(q) else 0.0
    idle = int(((q["quota"].fillna(0) > 0) & (q["outstanding"] <= 0)).sum()) if len(q) else 0
    lines.append((f"Quotas    granted {_amt(granted)} to {int(q['quota'].notna().sum())}; drawn {_amt(drawn)} "
                  f"({_pct(drawn / granted if granted else None)}); {idle} not drawn" if en else
                  f"额度      核定 {_amt(granted)}（{int(q['quota'].notna().sum())} 家）；已用 {_amt(drawn)}"
                  f"（{_pct(drawn / granted if granted else None)}）；{idle} 家未用款"))
    if c["n"]:
        lines.append((f"Borrowers CR1 {_pct(c['cr1'])}  CR5 {_pct(c['cr5'])}  CR10 {_pct(c['cr10'])}  "
                      f"HHI {c['hhi']:.3f} (≈{c['equivalent_n']:.1f} equal)  Gini {c['gini']:.2f}" if en else
                      f"集中度    最大户 {_pct(c['cr1'])} 前5 {_pct(c['cr5'])} 前10 {_pct(c['cr10'])} "
                      f"HHI {c['hhi']:.3f}（≈{c['equivalent_n']:.1f} 户）基尼 {c['gini']:.2f}"))
    if st.sector is not None and st.sector["n"]:
        top, share = next(iter(st.sector["shares"].items()))
        lines.append((f"Sectors   {st.sector['n']}; largest {top} {_pct(share)}; HHI {st.sector['hhi']:.3f} "
                       f"(≈{st.sector['equivalent_n']:.1f}); covers {_pct(st.sector['coverage'])} of the book" if en else
                       f"细分行业  {st.sector['n']} 个；最大 {top} {_pct(share)}；HHI {st.sector['hhi']:.3f}"
                       f"（≈{st.sector['equivalent_n']:.1f} 个）；覆盖余额 {_pct(st.sector['coverage'])}"))
    for i, b in enumerate(st.limits):
        head = ("Limits    " if en else "限额      ") if i == 0 else " " * 10
        v, th = _limit_value(b)
        mark = ("  BREACHED" if en else "  突破") if b["breached"] else ""
        lines.append(f"{head}{'✗' if b['breached'] else '✓'} {limit_label(b['limit'], lang, low_grade)} {v} "
                     f"{'>' if b['breached'] else '≤'} {th}{mark}")
    lines.extend(st.notes)
    return [part for line in lines for part in line.split("\n")]


def print_summary(st: PoolStatus, lang: str, db: Path, low_grade: str | None, console) -> None:
    from rich.table import Table

    en = lang == "en"
    for line in summary_lines(st, lang, db, low_grade):
        console.print(line, markup=False)
    table = Table(title=("By grade at rating" if en else "按放款时评级"), title_justify="left")
    for h, just in ((t("grade", lang), "left"), (t("count", lang), "right"), (t("amount", lang), "right"),
                    (t("share", lang), "right"), (t("overdue", lang), "right"), (t("npl_ratio", lang), "right")):
        table.add_column(h, justify=just, no_wrap=True)
    for r in st.by_grade.to_dict("records"):
        if not r["loans"]:
            continue
        over = sum(r[f"overdue_{b}"] for b in BUCKETS)
        table.add_row(r["grade"] if r["grade"] != UNRATED or not en else "unrated", str(r["loans"]),
                      _amt(r["outstanding"]), _pct(r["share"]), _amt(over), _pct(r["npl_ratio"]))
    if len(st.live):
        console.print(table)
    if st.warnings:
        wt = Table(title=(f"Early warnings: {len(st.warnings)}" if en else f"预警：{len(st.warnings)} 条"),
                   title_justify="left")
        wt.add_column(t("kind", lang), no_wrap=True)
        wt.add_column(t("name", lang), overflow="fold", min_width=12, max_width=24)
        wt.add_column(t("detail", lang), overflow="fold")
        for w in st.warnings:
            wt.add_row(kind_label(w["kind"], lang), w["name"] or w["code"] or "", w["detail"])
        console.print(wt)
    else:
        console.print("No early warnings." if en else "无预警。")


# -- the status workbook ------------------------------------------------------------------------------

def _v(x: Any) -> Any:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return x


def write_status_workbook(st: PoolStatus, path: Path, lang: str, db: Path, low_grade: str | None) -> WriteOutcome:
    en, u = lang == "en", st.unit
    uu = f"（{u}）" if not en else f" ({u})"
    with Workbook(path) as wb:
        wb.set_print_info("Cluster financing pool" if en else "资金池贷后状况", st.asked, lang)
        _overview(wb, st, lang, db, low_grade)
        _grades_sheet(wb, st, lang, uu)
        _quotas_sheet(wb, st, lang, uu)
        _loans_sheet(wb, st, lang, uu)
        _concentration_sheet(wb, st, lang)
        cols = [Column(t("kind", lang)), Column(t("code", lang)), Column(t("name", lang), width=30),
                Column(t("loan_no", lang)), Column(t("amount", lang) + uu, "number"), Column(t("detail", lang), width=70)]
        write_table(wb, t("warnings", lang), cols, [[kind_label(w["kind"], lang), w["code"], w["name"], w["loan_no"],
                                                     _v(w["amount"]), w["detail"]] for w in st.warnings])
        _fund_sheet(wb, st, lang, uu)
        _problems_sheet(wb, st.book.problems, lang)
    return wb.close()


def _overview(wb: Workbook, st: PoolStatus, lang: str, db: Path, low_grade: str | None) -> None:
    en, f = lang == "en", st.fund
    sheet = wb.book.add_worksheet(t("overview", lang))
    title = (f"Pool status on {st.asked} (snapshot of {st.book.as_of})" if en
             else f"资金池状况 {st.asked}（台账快照 {st.book.as_of}）")
    sheet.write_string(0, 0, title, wb.fmt(bold=True, font_size=13))
    head, bold = wb.header_format(), wb.fmt(bold=True)
    money, pct, num = wb.fmt(num_format="#,##0.00"), wb.fmt(num_format="0.0%"), wb.fmt(num_format="0.000")
    rows = [(t("contributions", lang), f["contributions"], money), (t("payouts", lang), f["payouts"], money),
            (t("recoveries", lang), f["recoveries"], money), (t("interest", lang), f["interest"], money),
            (t("balance", lang), f["balance"], money), (t("leverage", lang), st.book.leverage, num),
            (t("capacity", lang), st.capacity, money), (t("outstanding", lang), st.outstanding, money),
            (t("utilisation", lang), st.utilisation, pct), (t("eff_leverage", lang), st.effective_leverage, num),
            (t("n_loans", lang), len(st.live), None), (t("n_borrowers", lang), st.live["key"].nunique(), None),
            *[((f"DPD {b}" if en else f"逾期 {b} 天"), st.overdue[b]["amount"], money) for b in BUCKETS],
            *[((f"DPD {b} share" if en else f"逾期 {b} 天占比"), st.overdue[b]["ratio"], pct) for b in BUCKETS],
            (t("npl", lang), st.npl["amount"], money), (t("npl_ratio", lang), st.npl["ratio"], pct),
            ("CR1", st.concentration["cr1"], pct), ("CR5", st.concentration["cr5"], pct),
            ("CR10", st.concentration["cr10"], pct), (t("hhi", lang), st.concentration["hhi"], num),
            (t("equivalent_n", lang), st.concentration["equivalent_n"], wb.fmt(num_format="0.0")),
            (t("gini", lang), st.concentration["gini"], num)]
    sheet.write_string(2, 0, t("item", lang), head)
    sheet.write_string(2, 1, t("value", lang) + (f" ({st.unit})" if en else f"（{st.unit}）"), head)
    for i, (label, value, fmt) in enumerate(rows):
        wb.write_cell(sheet, 3 + i, 0, label, bold)
        wb.write_cell(sheet, 3 + i, 1, _v(value), fmt)
    r = 3 + len(rows) + 1
    for j, h in enumerate((t("limit", lang), t("value", lang), t("threshold", lang), t("breached", lang))):
        sheet.write_string(r, j, h, head)
    red = wb.fmt(bold=True, font_color="#C00000")
    for i, b in enumerate(st.limits):
        fmt = money if b["limit"] == "largest_single_amount" else pct
        wb.write_cell(sheet, r + 1 + i, 0, limit_label(b["limit"], lang, low_grade), bold)
        wb.write_cell(sheet, r + 1 + i, 1, _v(b["value"]), fmt)
        wb.write_cell(sheet, r + 1 + i, 2, b["threshold"], fmt)
        wb.write_cell(sheet, r + 1 + i, 3, t("yes" if b["breached"] else "no", lang), red if b["breached"] else None)
    sheet.set_column(0, 0, 26)
    sheet.set_column(1, 3, 16)
    sheet.freeze_panes(3, 0)
    # Exposure by grade, from the grade sheet (written next).
    n = len(st.by_grade)
    chart = wb.book.add_chart({"type": "column"})
    gname = t("grades", lang)
    chart.add_series({"name": t("amount", lang), "categories": [gname, 1, 0, n, 0], "values": [gname, 1, 2, n, 2],
                      "fill": {"color": "#4472C4"}, "data_labels": {"value": True, "num_format": "#,##0"}})
    chart.set_title({"name": t("exposure_by_grade", lang)})
    chart.set_legend({"none": True})
    chart.set_y_axis({"name": st.unit, "num_format": "#,##0"})
    wb.insert_chart(sheet, 2, 5, chart, x_scale=1.3, y_scale=1.2)  # through the workbook: never cut on paper


def _grades_sheet(wb: Workbook, st: PoolStatus, lang: str, uu: str) -> None:
    en = lang == "en"
    cols = [Column(t("grade", lang)), Column(t("count", lang), "int"), Column(t("amount", lang) + uu, "number"),
            Column(t("share", lang), "percent", 1)]
    for b in BUCKETS:
        cols += [Column((f"DPD {b}" if en else f"逾期{b}天") + uu, "number"),
                 Column((f"DPD {b} loans" if en else f"逾期{b}天笔数"), "int")]
    cols += [Column(t("npl", lang) + uu, "number"), Column(t("npl_ratio", lang), "percent", 1)]
    rows = []
    for r in st.by_grade.to_dict("records"):
        row = [r["grade"] if not (en and r["grade"] == UNRATED) else "unrated", r["loans"], r["outstanding"],
               _v(r["share"])]
        for b in BUCKETS:
            row += [r[f"overdue_{b}"], r[f"overdue_{b}_count"]]
        rows.append(row + [r["npl_amount"], _v(r["npl_ratio"])])
    sheet, n = write_table(wb, t("grades", lang), cols, rows, autofilter=False)
    # Five-category classes × grade at rating, below.
    r0 = n + 4
    head = wb.header_format()
    grades = st.grades
    sheet.write_string(r0 - 1, 0, "Outstanding by five-category class × grade at rating" if en
                       else "在贷余额：五级分类 × 放款时等级", wb.fmt(bold=True))
    sheet.write_string(r0, 0, t("class", lang), head)
    for j, g in enumerate(grades):
        sheet.write_string(r0, 1 + j, g if not (en and g == UNRATED) else "unrated", head)
    sheet.write_string(r0, 1 + len(grades), t("amount", lang) + uu, head)
    sheet.write_string(r0, 2 + len(grades), t("count", lang), head)
    money = wb.fmt(num_format="#,##0.00")
    for i, c in enumerate(st.classes.to_dict("records") if len(st.classes) else []):
        wb.write_cell(sheet, r0 + 1 + i, 0, c["class"] or ("(blank)" if en else "（未填）"))
        for j, g in enumerate(grades):
            wb.write_cell(sheet, r0 + 1 + i, 1 + j, c[g], money)
        wb.write_cell(sheet, r0 + 1 + i, 1 + len(grades), c["amount"], money)
        wb.write_cell(sheet, r0 + 1 + i, 2 + len(grades), c["count"])


def _quotas_sheet(wb: Workbook, st: PoolStatus, lang: str, uu: str) -> None:
    cols = [Column(t("code", lang)), Column(t("name", lang), width=30), Column(t("grade", lang)),
            Column(t("run", lang), "int"), Column(t("quota", lang) + uu, "number"), Column(t("count", lang), "int"),
            Column(t("contract", lang) + uu, "number"), Column(t("outstanding", lang) + uu, "number"),
            Column(t("headroom", lang) + uu, "number"), Column(t("used", lang), "percent", 1),
            Column(t("grade_now", lang)), Column(t("quota_now", lang) + uu, "number")]
    rows = [[r["code"], r["name"], r["grade"], _v(r["run_id"]), _v(r["quota"]), r["loans"], r["contract"],
             r["outstanding"], _v(r["headroom"]), _v(r["used"]), r["grade_now"], _v(r["quota_now"])]
            for r in st.borrowers.to_dict("records")]
    write_table(wb, t("quotas", lang), cols, rows)


def _loans_sheet(wb: Workbook, st: PoolStatus, lang: str, uu: str) -> None:
    loans = st.book.loans
    cols = [Column(t("loan_no", lang)), Column(t("code", lang)), Column(t("name", lang), width=30),
            Column(t("sector", lang)), Column(t("contract", lang) + uu, "number"),
            Column(t("outstanding", lang) + uu, "number"), Column(t("disbursed", lang), "date"),
            Column(t("maturity", lang), "date"), Column(t("dpd", lang), "int"), Column(t("bucket", lang)),
            Column(t("class", lang)), Column(t("status", lang)), Column(t("paid", lang) + uu, "number"),
            Column(t("paid_date", lang), "date"), Column(t("recovered", lang) + uu, "number"),
            Column(t("recovered_date", lang), "date"), Column(t("run", lang), "int"), Column(t("grade", lang)),
            Column(t("total", lang), "number"), Column(t("quota", lang) + uu, "number")]
    from cluster_credit_cli.pool.status import bucket

    rows = [[x["loan_no"], x["code"], x["name"], x["sector"], _v(x["contract_amount"]), _v(x["outstanding"]),
             x["disbursed"], x["maturity"], x["dpd"], bucket(x["dpd"]) or "", x["classification"], x["status"],
             _v(x["paid_amount"]), x["paid_date"], _v(x["recovered_amount"]), x["recovered_date"], x["run_id"],
             x["grade"], _v(x["total"]), _v(x["quota"])] for x in loans.to_dict("records")]
    write_table(wb, t("loans", lang), cols, rows)


def _concentration_sheet(wb: Workbook, st: PoolStatus, lang: str) -> None:
    sheet = wb.book.add_worksheet(t("conc", lang))
    head, bold = wb.header_format(), wb.fmt(bold=True)
    pct, num = wb.fmt(num_format="0.0%"), wb.fmt(num_format="0.000")
    for j, h in enumerate((t("measure", lang), t("borrower", lang), t("by_sector", lang))):
        sheet.write_string(0, j, h, head)
    measures = [("CR1", "cr1", pct), ("CR5", "cr5", pct), ("CR10", "cr10", pct), (t("hhi", lang), "hhi", num),
                (t("equivalent_n", lang), "equivalent_n", wb.fmt(num_format="0.0")), (t("gini", lang), "gini", num)]
    for i, (label, key, fmt) in enumerate(measures):
        wb.write_cell(sheet, 1 + i, 0, label, bold)
        wb.write_cell(sheet, 1 + i, 1, _v(st.concentration[key]), fmt)
        wb.write_cell(sheet, 1 + i, 2, _v(st.sector[key]) if st.sector else None, fmt)
    r = len(measures) + 2
    if st.sector:
        sheet.write_string(r, 0, t("sector", lang), head)
        sheet.write_string(r, 1, t("share", lang), head)
        for i, (name, share) in enumerate(st.sector["shares"].items()):
            wb.write_cell(sheet, r + 1 + i, 0, name)
            wb.write_cell(sheet, r + 1 + i, 1, share, pct)
        r += len(st.sector["shares"]) + 2
    # Lorenz points with the line of equality, for the chart.
    sheet.write_string(r, 0, t("lorenz_x", lang), head)
    sheet.write_string(r, 1, t("lorenz_y", lang), head)
    sheet.write_string(r, 2, t("equality", lang), head)
    for i, (x, y) in enumerate(st.lorenz):
        wb.write_cell(sheet, r + 1 + i, 0, x, pct)
        wb.write_cell(sheet, r + 1 + i, 1, y, pct)
        wb.write_cell(sheet, r + 1 + i, 2, x, pct)
    sheet.set_column(0, 0, 26)
    sheet.set_column(1, 2, 16)
    if st.lorenz:
        n = len(st.lorenz)
        name = t("conc", lang)
        chart = wb.book.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
        chart.add_series({"name": t("lorenz_y", lang), "categories": [name, r + 1, 0, r + n, 0],
                          "values": [name, r + 1, 1, r + n, 1], "line": {"color": "#C00000", "width": 2},
                          "marker": {"type": "circle", "size": 4}})
        chart.add_series({"name": t("equality", lang), "categories": [name, r + 1, 0, r + n, 0],
                          "values": [name, r + 1, 2, r + n, 2], "line": {"color": "#7F7F7F", "dash_type": "dash"},
                          "marker": {"type": "none"}})
        chart.set_title({"name": t("lorenz", lang) + f"  Gini {st.concentration['gini']:.2f}"})
        chart.set_x_axis({"min": 0, "max": 1, "num_format": "0%", "name": t("lorenz_x", lang)})
        chart.set_y_axis({"min": 0, "max": 1, "num_format": "0%", "name": t("lorenz_y", lang)})
        chart.set_legend({"position": "bottom"})
        wb.insert_chart(sheet, 0, 4, chart, x_scale=1.1, y_scale=1.3)


def _fund_sheet(wb: Workbook, st: PoolStatus, lang: str, uu: str) -> None:
    hist = st.history
    cols = [Column(t("as_of", lang), "date"), Column(t("balance", lang) + uu, "number"),
            Column(t("outstanding", lang) + uu, "number"), Column(t("count", lang), "int")]
    rows = [[h["as_of"], h["fund_balance"], h["outstanding"], h["loans"]] for h in hist.to_dict("records")]
    sheet, n = write_table(wb, t("fund", lang), cols, rows, autofilter=False)
    if n:
        name = t("fund", lang)
        chart = wb.book.add_chart({"type": "line"})
        chart.add_series({"name": [name, 0, 1], "categories": [name, 1, 0, n, 0], "values": [name, 1, 1, n, 1],
                          "line": {"color": "#1B7837", "width": 2.25}, "marker": {"type": "circle", "size": 5}})
        chart.add_series({"name": [name, 0, 2], "categories": [name, 1, 0, n, 0], "values": [name, 1, 2, n, 2],
                          "line": {"color": "#4472C4", "width": 2.25}, "marker": {"type": "square", "size": 5}})
        chart.set_title({"name": t("fund_over_time", lang)})
        chart.set_x_axis({"date_axis": True, "num_format": "yyyy-mm"})
        chart.set_y_axis({"name": st.unit, "num_format": "#,##0"})
        chart.set_legend({"position": "bottom"})
        wb.insert_chart(sheet, 0, 5, chart, x_scale=1.4, y_scale=1.2)
    mv = st.book.movements
    if mv is not None and len(mv):
        r0 = n + 3
        head = wb.header_format()
        heads = [t("date", lang), t("kind", lang), t("amount", lang) + uu, t("party", lang), t("loan_no", lang),
                 t("remark", lang)]
        for j, h in enumerate(heads):
            sheet.write_string(r0, j, h, head)
        money = wb.fmt(num_format="#,##0.00")
        for i, m in enumerate(mv.to_dict("records")):
            for j, (k, fmt) in enumerate((("date", None), ("kind", None), ("amount", money), ("party", None),
                                          ("loan_no", None), ("remark", None))):
                wb.write_cell(sheet, r0 + 1 + i, j, m[k], fmt)
    sheet.set_column(0, 0, 14)
    sheet.set_column(1, 4, 18)


def _problems_sheet(wb: Workbook, problems: list[dict[str, Any]], lang: str) -> None:
    cols = [Column(t("file", lang)), Column(t("row", lang), "int"), Column(t("column", lang)),
            Column(t("problem_code", lang)), Column(t("severity", lang)), Column(t("message", lang), width=80)]
    write_table(wb, t("problems", lang), cols, [[p["file"], p["row"], p["column"], p["code"], p["severity"],
                                                  p["message"]] for p in problems])


# -- history --------------------------------------------------------------------------------------------------

def write_history_workbook(hist: pd.DataFrame, path: Path, lang: str, unit: str) -> WriteOutcome:
    en = lang == "en"
    uu = f" ({unit})" if en else f"（{unit}）"
    cols = [Column(t("as_of", lang), "date"), Column(t("count", lang), "int"), Column(t("n_borrowers", lang), "int"),
            Column(t("outstanding", lang) + uu, "number"), Column(t("balance", lang) + uu, "number"),
            Column(t("capacity", lang) + uu, "number"), Column(t("utilisation", lang), "percent", 1),
            Column(t("overdue", lang) + uu, "number"), Column(t("npl_ratio", lang), "percent", 1),
            Column(t("hhi", lang), "number", 3), Column(t("equivalent_n", lang), "number", 1),
            Column(t("gini", lang), "number", 3)]
    rows = [[h["as_of"], h["loans"], h["borrowers"], h["outstanding"], h["fund_balance"], h["capacity"],
             _v(h["utilisation"]), h["overdue"], _v(h["npl_ratio"]), _v(h["hhi"]), _v(h["equivalent_n"]), _v(h["gini"])]
            for h in hist.to_dict("records")]
    with Workbook(path) as wb:
        sheet, n = write_table(wb, t("history", lang), cols, rows)
        if n:
            name = t("history", lang)
            chart = wb.book.add_chart({"type": "line"})
            for col, color in ((4, "#1B7837"), (3, "#4472C4")):
                chart.add_series({"name": [name, 0, col], "categories": [name, 1, 0, n, 0],
                                  "values": [name, 1, col, n, col], "line": {"color": color, "width": 2.25},
                                  "marker": {"type": "circle", "size": 5}})
            ratio = wb.book.add_chart({"type": "line"})
            for col, color in ((8, "#C00000"), (9, "#7F6000")):
                ratio.add_series({"name": [name, 0, col], "categories": [name, 1, 0, n, 0],
                                  "values": [name, 1, col, n, col], "y2_axis": True,
                                  "line": {"color": color, "width": 2.25, "dash_type": "dash" if col == 9 else "solid"},
                                  "marker": {"type": "diamond", "size": 5}})
            chart.combine(ratio)
            chart.set_title({"name": ("Fund, outstanding, NPL ratio and HHI by snapshot" if en
                                      else "各期资金池余额、在贷余额、不良率与HHI")})
            chart.set_x_axis({"date_axis": True, "num_format": "yyyy-mm"})
            chart.set_y_axis({"name": unit, "num_format": "#,##0"})
            ratio.set_y2_axis({"name": "NPL / HHI", "num_format": "0%"})
            chart.set_legend({"position": "bottom"})
            wb.insert_chart(sheet, n + 3, 0, chart, x_scale=1.8, y_scale=1.3)
    return wb.close()


def history_json(hist: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for h in hist.to_dict("records"):
        out.append({k: (v.isoformat() if isinstance(v, _dt.date) else None if v is None or (
            isinstance(v, float) and math.isnan(v)) else round(float(v), 6) if isinstance(v, float) else v)
            for k, v in h.items()})
    return out
