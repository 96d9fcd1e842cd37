"""Make a sample register for `ccredit validate`: several yearly rounds, loans, and outcomes drawn
from known PDs.

    python sample_data/make_validation_sample.py [--out sample_data/validation] [--enterprises 500]
    ccredit validate --db sample_data/validation/ccredit.db

What it builds (deterministic: the same files for the same arguments):

* ``--enterprises`` firms with a hidden credit quality that drifts from year to year. Their
  answers follow it: the panel's ratings of finance, sales, technology and leadership, the
  debt ratio, current ratio, margin and growth, the on-time payment rates, overdue days at the
  bank and penalties in the credit system; strategy, mission, culture and brand are noise.
* ``--rounds`` yearly rounds (rated on 30 June from 2023), each scored with the default model and
  recorded in ``ccredit.db`` (``rounds/YYYY-MM-DD/`` keeps the five input files).
* every firm admitted with a quota borrows it on 20 July for 12 months. It defaults with a known
  probability: the PD of its grade in ``[validation].pd`` (model.toml) times ``--pd-scale``, tilted
  within the grade by its hidden quality (mean factor 1). A default runs past due month by month
  (关注 → 次级 → 可疑); half of the defaulted loans are paid by the pool (代偿) four months later.
  A few good loans run a little late (≤ 60 days) without defaulting.
* the bank's loan ledger at every quarter end (``ledgers/贷款台账_YYYY-MM-DD.csv``), imported with
  ``ccredit pool import`` semantics into the register; ``truth.csv`` lists every loan with the PD
  it was drawn from and whether it defaulted, so the validation can be checked against the truth;
  ``违约结果.xlsx`` holds the mature ones as a bank would send them (``validate --outcomes``).

The loans of the last round are still inside their 12-month window at the last snapshot: the
validation leaves them out and says so.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import random
import shutil
import sys
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from cluster_credit_cli.inputs.identity import make_code  # noqa: E402
from cluster_credit_cli.model.config import load_model  # noqa: E402
from cluster_credit_cli.pool.book import import_snapshot  # noqa: E402
from cluster_credit_cli.rating.pipeline import score_round  # noqa: E402
from cluster_credit_cli.register.store import record_run  # noqa: E402
from cluster_credit_cli.validation.settings import load_settings  # noqa: E402

TILT = 3.0  # how strongly the hidden quality moves the PD within a grade

RATINGS = ["战略定位", "企业使命", "领导力水平", "财务管理水平", "设备设施管理", "人力资源管理水平", "质量管理水平",
           "技术水平", "销售水平"]
INFORMATIVE = {"领导力水平", "财务管理水平", "技术水平", "销售水平", "质量管理水平"}
WORDS = ["精密", "五金", "塑胶", "压铸", "冲压", "模架", "汽车", "精工", "注塑", "电子", "机械", "科技"]
PLACES = ["横沥", "恒力", "汇丰", "永达", "华锐", "田饶步", "新城", "鸿图", "冠亿", "博创", "联兴", "金盈", "嘉利达",
          "乐宝", "宏基", "锐进", "三江", "景湖", "村头", "拓展", "广源", "协盛", "德泰", "明辉", "启航", "长荣"]


def clip(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def xlsx(path: Path, header: list[str], rows: list[list]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def month_end(year: int, month: int) -> dt.date:
    y, m = divmod(month, 12)
    return dt.date(year + y, m + 1, 1) - dt.timedelta(days=1)


def add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    return dt.date(day.year + y, m + 1, min(day.day, 28))


def write_round(folder: Path, firms: list[dict], q: dict[str, float], as_of: dt.date, rng: random.Random) -> dict:
    """The five input files of one round; answers follow each firm's quality ``q``."""
    folder.mkdir(parents=True, exist_ok=True)
    app, aud, ass, bank, credit = [], [], [], [], []
    for f in firms:
        z = q[f["code"]]
        ratings = [int(clip(round((2.9 + 1.0 * z if h in INFORMATIVE else 3.3) + rng.gauss(0, 0.8)), 1, 5))
                   for h in RATINGS]
        on_time = [round(clip(82 + 8 * z + rng.gauss(0, 6), 30, 100), 1) for _ in range(3)]
        app.append([f["code"], f["name"], f["founded"], "横沥镇", rng.choice([20, 30, 40, 50, 60, 80]), "是",
                    *ratings, *on_time])
        debt = clip(0.6 - 0.15 * z + rng.gauss(0, 0.1), 0.1, 0.97)
        current = clip(1.3 + 0.45 * z + rng.gauss(0, 0.3), 0.4, 4)
        growth = 0.03 + 0.09 * z + rng.gauss(0, 0.08)
        margin = 0.04 + 0.035 * z + rng.gauss(0, 0.03)
        revenue = round(rng.uniform(800, 5000), 1)
        aud.append([f["code"], f["name"], 1000, round(1000 * debt, 1), 500, round(500 / current, 1), revenue,
                    round(revenue / (1 + growth), 1), round(revenue * margin, 1), round(revenue / 6, 1),
                    round(revenue / 6 * rng.uniform(0.8, 1.2), 1)])
        ass.append([f["code"], f["name"], int(clip(round(3.5 + rng.gauss(0, 0.9)), 1, 5)),
                    int(clip(round(3.5 + rng.gauss(0, 0.9)), 1, 5)), rng.choice(["集群内孵化", "本地创业", "外部迁入"]),
                    rng.choice(["会员单位", "理事单位", "非会员", "会员单位"])])
        stress = z + rng.gauss(0, 1)
        overdue = rng.choice([15, 30, 60]) if stress < -1.6 else 0
        bank.append([f["code"], f["name"], "是", overdue, "良好", "否"])
        if stress < -1.9:
            credit.append([f["code"], f["name"], "行政处罚", (as_of - dt.timedelta(days=rng.randint(30, 700))).isoformat(),
                           f"处罚-{as_of.year}-{len(credit):04d}", "", "已结案"])
    paths = {
        "applicants": xlsx(folder / "申报材料.xlsx", ["统一社会信用代码", "企业名称", "成立日期", "所在镇街",
                                                 "申请贷款金额（万元）", "合作银行结算账户", *RATINGS,
                                                 "应付货款按期支付率(%)", "应收账款按期回收率(%)", "设备租金按期支付率(%)"], app),
        "auditor": xlsx(folder / "审计数据.xlsx", ["统一社会信用代码", "企业名称", "资产总额", "负债总额", "流动资产", "流动负债",
                                               "营业收入", "上年营业收入", "净利润", "应收账款期初", "应收账款期末"], aud),
        "association": xlsx(folder / "协会评价.xlsx", ["统一社会信用代码", "企业名称", "企业文化建设", "品牌美誉度", "集群孵化",
                                                   "会员级别"], ass),
        "bank": xlsx(folder / "银行征信.xlsx", ["统一社会信用代码", "企业名称", "结算账户", "近24个月最长逾期天数",
                                            "企业家个人信用", "银行否决"], bank),
    }
    cs = folder / "信用系统导出.csv"
    with open(cs, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["统一社会信用代码", "企业名称", "记录类型", "决定日期", "文书编号", "当事人角色", "状态"])
        w.writerows(credit)
    paths["credit_system"] = cs
    return paths


def loan_state(loan: dict, day: dt.date) -> dict | None:
    """The ledger row of a loan at a quarter end, or None before disbursement / after it left the book."""
    if day < loan["disbursed"]:
        return None
    s = {"outstanding": loan["amount"], "dpd": 0, "class": "正常", "status": "正常", "paid": None, "paid_date": None}
    start = loan.get("default_start")
    if start is not None and day >= start:
        dpd = (day - start).days
        s.update(dpd=dpd, status="逾期", **{"class": "关注" if dpd <= 90 else "次级" if dpd <= 180 else "可疑"})
        if loan["pool_pays"] and day >= loan["paid_date"]:
            s.update(outstanding=0.0, dpd=0, status="代偿", paid=loan["amount"], paid_date=loan["paid_date"],
                     **{"class": "损失"})
        if day > add_months(loan["maturity"], 24):
            return None  # written off and out of the export two years after maturity
        return s
    late = loan.get("late")
    if late and late[0] <= day < late[0] + dt.timedelta(days=late[1]):
        s.update(dpd=(day - late[0]).days + 1, status="逾期", **{"class": "关注"})
    if day >= loan["maturity"]:
        if day > add_months(loan["maturity"], 3):
            return None  # repaid: gone from the next quarter's export
        s.update(outstanding=0.0, status="结清")
    return s


HEADER = ["借据号", "借款人名称", "统一社会信用代码", "合同金额（万元）", "放款日期", "到期日", "贷款余额（万元）", "逾期天数",
          "五级分类", "贷款状态", "代偿金额", "代偿日期"]


def build(out: Path, enterprises: int, rounds: int, pd_scale: float, seed: int) -> dict:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    model = load_model()
    pd_table = load_settings(model).pd
    firms = [{"code": make_code(f"91441900MA{seed % 100:02d}{i:05d}"),
              "name": f"东莞市{rng.choice(PLACES)}{rng.choice(WORDS)}模具有限公司（{i + 1:03d}）",
              "founded": dt.date(2005, 1, 1) + dt.timedelta(days=rng.randint(0, 5000))} for i in range(enterprises)]
    q = {f["code"]: rng.gauss(0, 1) for f in firms}
    db = out / "ccredit.db"
    loans: list[dict] = []
    for r in range(rounds):
        as_of = dt.date(2023 + r, 6, 30)
        if r:  # quality drifts: this year's firm is mostly last year's
            q = {c: 0.85 * z + math.sqrt(1 - 0.85 ** 2) * rng.gauss(0, 1) for c, z in q.items()}
        paths = write_round(out / "rounds" / as_of.isoformat(), firms, q, as_of, rng)
        result = score_round(paths["applicants"], {k: v for k, v in paths.items() if k != "applicants"},
                             model=model, as_of=as_of)
        record_run(db, result)
        admitted = [e for e in result.to_json()["enterprises"] if e["grade"] and (e["quota"] or 0) > 0]
        # Within a grade, a better hidden quality lowers the PD: factor exp(−TILT·q), scaled so that
        # its mean over the grade's borrowers is 1 (the grade's PD stays the table's).
        by_grade: dict[str, list[float]] = {}
        for e in admitted:
            by_grade.setdefault(e["grade"], []).append(math.exp(-TILT * q[e["code"]]))
        scale = {g: len(v) / sum(v) for g, v in by_grade.items()}
        for k, e in enumerate(admitted):
            disbursed = dt.date(as_of.year, 7, 20)
            tilt = math.exp(-TILT * q[e["code"]]) * scale[e["grade"]]
            pd = min(0.95, pd_table.get(e["grade"], 0.05) * pd_scale * tilt)
            loan = {"loan_no": f"HL{as_of.year}07{k + 1:04d}", "code": e["code"], "name": e["name"],
                    "grade": e["grade"], "amount": float(e["quota"]), "disbursed": disbursed,
                    "maturity": add_months(disbursed, 12), "pd": pd, "defaulted": rng.random() < pd,
                    "quality": q[e["code"]], "total": e["total"]}
            if loan["defaulted"]:
                # Payments stop some time in the year, early enough for a quarter-end ledger inside the
                # 12-month horizon to show it more than 90 days past due (the truth stays observable).
                loan["default_start"] = disbursed + dt.timedelta(days=rng.randint(20, 240))
                loan["pool_pays"] = rng.random() < 0.5
                loan["paid_date"] = loan["default_start"] + dt.timedelta(days=120)
            elif rng.random() < 0.05:
                loan["late"] = (disbursed + dt.timedelta(days=rng.randint(30, 300)), rng.randint(10, 60))
            loans.append(loan)
    ledgers = out / "ledgers"
    ledgers.mkdir()
    last = dt.date(2023 + rounds - 1, 12, 31)
    snaps, day = [], dt.date(2023, 9, 30)
    while day <= last:
        snaps.append(day)
        day = month_end(day.year, day.month + 3)
    for snap in snaps:
        rows = []
        for loan in loans:
            s = loan_state(loan, snap)
            if s is None:
                continue
            rows.append([loan["loan_no"], loan["name"], loan["code"], loan["amount"], loan["disbursed"].isoformat(),
                         loan["maturity"].isoformat(), s["outstanding"], s["dpd"] or None, s["class"], s["status"],
                         s["paid"], s["paid_date"].isoformat() if s["paid_date"] else None])
        path = ledgers / f"贷款台账_{snap.isoformat()}.csv"
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(HEADER)
            w.writerows(rows)
        res = import_snapshot(db, path, as_of=snap, model=model)
        errors = [p for p in res.problems if p.severity == "error"] if hasattr(res, "problems") else []
        if errors:
            raise SystemExit(f"{path.name}: {errors[0].message}")
    with open(out / "truth.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["loan_no", "code", "grade", "total", "quality", "disbursed", "pd", "defaulted"])
        for loan in loans:
            w.writerow([loan["loan_no"], loan["code"], loan["grade"], loan["total"], round(loan["quality"], 4),
                        loan["disbursed"].isoformat(), round(loan["pd"], 6), "是" if loan["defaulted"] else "否"])
    # The same outcomes as a bank would send them for `validate --outcomes`: one row per rating, with the
    # known PD, only where the 12-month window has closed by the last snapshot.
    wb = Workbook()
    ws = wb.active
    ws.title = "违约结果"
    ws.append([f"合作银行 贷后结果导出（截至 {snaps[-1].isoformat()}）"])
    ws.append(["统一社会信用代码", "企业名称", "评级日期", "总分", "等级", "违约概率PD", "是否违约"])
    for loan in loans:
        if add_months(loan["disbursed"], 12) <= snaps[-1]:
            ws.append([loan["code"], loan["name"], dt.date(loan["disbursed"].year, 6, 30), loan["total"], loan["grade"],
                       round(loan["pd"], 6), "是" if loan["defaulted"] else "否"])
    wb.save(out / "违约结果.xlsx")
    return {"db": db, "loans": len(loans), "defaults": sum(x["defaulted"] for x in loans), "snapshots": len(snaps)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "validation")
    ap.add_argument("--enterprises", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--pd-scale", type=float, default=1.0, help="multiply the model's PD table (1: as configured)")
    ap.add_argument("--seed", type=int, default=18)
    a = ap.parse_args()
    info = build(a.out, a.enterprises, a.rounds, a.pd_scale, a.seed)
    print(f"{info['db']}: {a.rounds} rounds, {info['loans']} loans ({info['defaults']} defaulted), "
          f"{info['snapshots']} ledger snapshots")


if __name__ == "__main__":
    main()
