"""Regenerate sample_data/pool/: the loan ledger and the fund of the sample round, month by month.

    python sample_data/make_pool_sample.py [--out sample_data/pool]

The sample round (sample_data/申报材料汇总.xlsx, rated as of 2026-11-30) admits 19 enterprises.
The partner bank lends to 16 of them in December 2026; the ledger is exported at every month end
from 2026-12-31 to 2027-11-30 (12 snapshots: 贷款台账_YYYY-MM-DD.xlsx, one of them a GBK CSV as
some bank systems write). Over the year:

* most loans run quietly (bullet loans, or equal monthly principal); two 6-month loans are repaid;
* loan HL2026120003 stops paying in April 2027: 20 → 51 → 81 → 112 days past due (关注, then
  次级, 可疑); on 2027-08-15 the pool pays the bank its balance (代偿), and on 2027-10-20 recovers 40%;
* loan HL2026120011 falls behind in September 2027 and is 75 days past due (次级) at the end;
* several one-year loans mature in December 2027, inside the 30-day early-warning horizon.

信用系统新增_2027-11-30.csv holds new social credit records of one borrower (HL2026120006) after
the rating, for ``pool status --credit-system``. 资金池收支.xlsx holds the fund's movements: contributions of the town government, the mould
association and three core firms (1,000 万元, the seed's fund), quarterly interest, the guarantee
paid and the recovery. The files carry the mess real exports have: a title row, aliases, dates as
text, a lower-case code. Deterministic: the same files every run.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from cluster_credit_cli.model.config import load_model  # noqa: E402
from cluster_credit_cli.rating.pipeline import score_round  # noqa: E402
from cluster_credit_cli.inputs.discovery import discover_sources  # noqa: E402

RATED_ON = dt.date(2026, 11, 30)
MONTH_ENDS = [dt.date(2026, 12, 31)] + [
    (dt.date(2027, m + 1, 1) - dt.timedelta(days=1)) if m < 12 else dt.date(2027, 12, 31) for m in range(1, 12)]
PAID_LOAN, LATE_LOAN = "HL2026120003", "HL2026120011"
PAID_ON, RECOVERED_ON = dt.date(2027, 8, 15), dt.date(2027, 10, 20)


def recovered(loan: dict) -> float:
    return round(loan["amount"] * 0.4, 2)
SECTORS = {"注塑": "注塑模具", "塑胶": "注塑模具", "压铸": "压铸模具", "冲压": "冲压模具", "五金": "五金模具",
           "模架": "模架配件", "配件": "模架配件", "钢材": "模架配件", "汽车": "汽车模具"}


def sector_of(name: str) -> str:
    for word, sector in SECTORS.items():
        if word in name:
            return sector
    return "精密模具"


def admitted() -> list[dict]:
    """The sample round's enterprises with a quota, best rank first."""
    model = load_model()
    app = HERE / "申报材料汇总.xlsx"
    res = score_round(app, discover_sources(app, model, {}), model=model, as_of=RATED_ON)
    out = []
    for e in res.to_json()["enterprises"]:
        if e["grade"] and (e["quota"] or 0) > 0 and not e["name"].startswith("="):
            out.append({"code": e["code"], "name": e["name"], "grade": e["grade"], "quota": e["quota"]})
    return out


def loans_of(firms: list[dict]) -> list[dict]:
    """16 loans disbursed in December 2026; terms, amounts and repayment kinds vary."""
    loans = []
    terms = [12, 12, 24, 12, 18, 24, 6, 12, 24, 18, 12, 24, 6, 12, 18, 24]
    for i, f in enumerate(firms[:16]):
        amount = f["quota"] if i % 3 else round(f["quota"] * 0.8 / 10) * 10
        disbursed = dt.date(2026, 12, 3 + i)
        months = terms[i]
        y, m = divmod(disbursed.month - 1 + months, 12)
        maturity = dt.date(disbursed.year + y, m + 1, min(disbursed.day, 28))
        loans.append({"loan_no": f"HL20261200{i + 1:02d}", **f, "amount": float(amount), "disbursed": disbursed,
                      "maturity": maturity, "months": months, "amortising": i % 4 == 1,
                      "sector": sector_of(f["name"])})
    return loans


def state(loan: dict, day: dt.date) -> dict | None:
    """The ledger row of ``loan`` at month end ``day`` (None before disbursement)."""
    if day < loan["disbursed"]:
        return None
    out = {"outstanding": loan["amount"], "dpd": 0, "class": "正常", "status": "正常", "paid": None, "paid_date": None,
           "recovered": None, "recovered_date": None}
    elapsed = (day.year - loan["disbursed"].year) * 12 + day.month - loan["disbursed"].month
    if loan["amortising"]:
        out["outstanding"] = round(loan["amount"] * max(0, loan["months"] - elapsed) / loan["months"], 2)
    if day >= loan["maturity"]:
        out.update(outstanding=0.0, status="结清")
    if loan["loan_no"] == PAID_LOAN:
        dpd = {dt.date(2027, 4, 30): (20, "关注"), dt.date(2027, 5, 31): (51, "关注"), dt.date(2027, 6, 30): (81, "次级"),
               dt.date(2027, 7, 31): (112, "可疑")}
        if day in dpd:
            out.update(dpd=dpd[day][0], **{"class": dpd[day][1]}, status="逾期")
        if day >= PAID_ON:
            out.update(outstanding=0.0, dpd=0, status="代偿", paid=loan["amount"], paid_date=PAID_ON,
                       **{"class": "损失"})
        if day >= RECOVERED_ON:
            out.update(recovered=recovered(loan), recovered_date=RECOVERED_ON)
    if loan["loan_no"] == LATE_LOAN:
        dpd = {dt.date(2027, 9, 30): (15, "正常"), dt.date(2027, 10, 31): (45, "关注"), dt.date(2027, 11, 30): (75, "次级")}
        if day in dpd:
            out.update(dpd=dpd[day][0], **{"class": dpd[day][1]}, status="逾期")
    return out


HEADER = ["借据号", "借款人名称", "统一社会信用代码", "细分行业", "合同金额（万元）", "放款日期", "到期日", "贷款余额（万元）",
          "逾期天数", "五级分类", "贷款状态", "代偿金额", "代偿日期", "追偿回收", "追偿回收日期"]


def ledger_rows(loans: list[dict], day: dt.date, text_dates: bool) -> list[list]:
    rows = []
    for k, loan in enumerate(loans):
        s = state(loan, day)
        if s is None:
            continue

        def d(v):
            if v is None:
                return None
            return f"{v.year}年{v.month}月{v.day}日" if text_dates else v

        code = loan["code"].lower() if k == 4 else loan["code"]  # typed in lower case, as happens
        rows.append([loan["loan_no"], loan["name"], code, loan["sector"], loan["amount"], d(loan["disbursed"]),
                     d(loan["maturity"]), s["outstanding"], s["dpd"] or None, s["class"], s["status"], s["paid"],
                     d(s["paid_date"]), s["recovered"], d(s["recovered_date"])])
    return rows


def write_xlsx(path: Path, title: str, header: list[str], rows: list[list]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append([title])
    ws.append([])
    ws.append(header)
    for r in rows:
        ws.append(r)
    for row in ws.iter_rows(min_row=4):
        for c in row:
            if isinstance(c.value, dt.date):
                c.number_format = "yyyy-mm-dd"
    wb.save(path)


FUND = [
    (dt.date(2026, 12, 1), "出资", 500.0, "横沥镇人民政府", None, "引导资金"),
    (dt.date(2026, 12, 1), "出资", 100.0, "横沥模具行业协会", None, None),
    (dt.date(2026, 12, 2), "出资", 150.0, "东莞市横沥创新模具研究院有限公司", None, "核心企业入股"),
    (dt.date(2026, 12, 2), "出资", 150.0, "东莞市德泰精密机械有限公司", None, "核心企业入股"),
    (dt.date(2026, 12, 3), "注资", 100.0, "东莞市启航模具有限公司", None, "核心企业入股"),
    (dt.date(2027, 3, 21), "利息", 2.1, "东莞银行横沥支行", None, "一季度结息"),
    (dt.date(2027, 6, 21), "利息", 2.05, "东莞银行横沥支行", None, "二季度结息"),
    (dt.date(2027, 9, 21), "利息", 1.86, "东莞银行横沥支行", None, "三季度结息"),
]


def fund_rows(loans: list[dict]) -> list[tuple]:
    """The fund's movements: FUND plus the guarantee paid for PAID_LOAN and its partial recovery."""
    paid = next(x for x in loans if x["loan_no"] == PAID_LOAN)
    rows = FUND + [(PAID_ON, "代偿支出", paid["amount"], "东莞银行横沥支行", PAID_LOAN, "资金池代偿"),
                   (RECOVERED_ON, "追偿收回", recovered(paid), "法院执行款", PAID_LOAN, "部分追回")]
    return sorted(rows, key=lambda r: r[0])


# New records in the social credit system after the rating, for `pool status --credit-system`:
# the borrower of HL2026120006 is fined twice and has a labour dispute in 2027.
NEW_RECORDS = [("行政处罚", dt.date(2027, 3, 12), "东龙环罚〔2027〕31号", 20000, "", "已结案"),
               ("行政处罚", dt.date(2027, 9, 2), "东龙安罚〔2027〕77号", 50000, "", "未结案"),
               ("劳资纠纷", dt.date(2027, 10, 18), "（2027）粤1971劳0412号", 86000, "", "未结案")]


def write_new_records(path: Path, loans: list[dict]) -> None:
    firm = next(x for x in loans if x["loan_no"] == "HL2026120006")
    with open(path, "w", encoding="gb18030", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["统一社会信用代码", "企业名称", "记录类型", "决定日期", "文书编号", "涉案金额（元）", "当事人角色", "状态", "备注"])
        for kind, day, doc, amount, role, status in NEW_RECORDS:
            w.writerow([firm["code"], firm["name"], kind, day.isoformat(), doc, amount, role, status, ""])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "pool")
    args = ap.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    loans = loans_of(admitted())
    for i, day in enumerate(MONTH_ENDS):
        rows = ledger_rows(loans, day, text_dates=i % 3 == 2)
        if day == dt.date(2027, 6, 30):  # one month arrives as a GBK CSV export
            path = out / f"贷款台账_{day.isoformat()}.csv"
            with open(path, "w", encoding="gb18030", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(HEADER)
                for r in rows:
                    w.writerow(["" if v is None else v.isoformat() if isinstance(v, dt.date) else v for v in r])
        else:
            write_xlsx(out / f"贷款台账_{day.isoformat()}.xlsx", f"东莞银行横沥支行 资金池贷款台账（截至 {day.isoformat()}）",
                       HEADER, rows)
    write_xlsx(out / "资金池收支.xlsx", "中小微模具企业风险资金池 收支明细",
               ["日期", "收支类型", "金额（万元）", "对方户名", "借据号", "摘要说明"],
               [[d, k, a, p, n, r] for d, k, a, p, n, r in fund_rows(loans)])
    write_new_records(out / "信用系统新增_2027-11-30.csv", loans)
    print(f"wrote {len(MONTH_ENDS)} ledgers, the fund file and new credit records to {out}")


if __name__ == "__main__":
    main()
