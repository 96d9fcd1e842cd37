"""Small review rounds written into tmp_path for the register and monitor tests.

Every enterprise is complete and eligible unless told otherwise; its total is controlled by one
rating value r (all eleven rating leaves and V3/V4 = r) with every other leaf at 100 and no
bonus, so total = 63 + 7.4 × r (r=5 → 100 AAA, 4 → 92.6 AAA, 3 → 85.2 AA, 2 → 77.8 A).
Knobs change one leaf at a time so the expected drivers are known:
  sales (K2 rating), bad_solvency (F1 → 0, −8 points), overdue (S4 days), bank_veto,
  town (eligibility), records [(type, date, role, status)] in the credit system export.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from conftest import table_xlsx

from cluster_credit_cli.inputs.identity import make_code


def code(i: int) -> str:
    return make_code(f"91441900MA{i:07d}")


RATINGS = ["战略定位", "企业使命", "领导力水平", "财务管理水平", "设备设施管理", "人力资源管理水平", "质量管理水平",
           "技术水平", "销售水平"]


def ent(i: int, r: int, **kw) -> dict:
    return {"code": code(i), "name": f"东莞市测试{i}号模具有限公司", "r": r, **kw}




def write_round(folder: Path, ents: list[dict], records: list[tuple] = ()) -> dict[str, Path]:
    """Write the five files of one round; returns {kind: path}. records: (code, type, date, role, status)."""
    folder.mkdir(parents=True, exist_ok=True)
    app_rows, aud_rows, ass_rows, bank_rows = [], [], [], []
    for e in ents:
        r = e["r"]
        ratings = [r] * len(RATINGS)
        if "sales" in e:
            ratings[-1] = e["sales"]
        app_rows.append([e["code"], e["name"], "2015-03-01", e.get("town", "横沥镇"), e.get("requested", 400), "是",
                         *ratings, 98, 97, 96])
        if e.get("bad_solvency"):
            aud_rows.append([e["code"], e["name"], 1000, 900, 200, 400, 1000, 800, 120, 100, 100])
        else:
            aud_rows.append([e["code"], e["name"], 1000, 300, 500, 200, 1000, 800, 120, 100, 100])
        ass_rows.append([e["code"], e["name"], r, r, "集群内孵化", "非会员"])
        bank_rows.append([e["code"], e["name"], "是", e.get("overdue", 0), "良好", "是" if e.get("bank_veto") else "否"])
    paths = {
        "applicants": table_xlsx(folder / "申报材料.xlsx",
                            ["统一社会信用代码", "企业名称", "成立日期", "所在镇街", "申请贷款金额（万元）", "合作银行结算账户",
                             *RATINGS, "应付货款按期支付率(%)", "应收账款按期回收率(%)", "设备租金按期支付率(%)"], app_rows),
        "auditor": table_xlsx(folder / "审计数据.xlsx",
                         ["统一社会信用代码", "企业名称", "资产总额", "负债总额", "流动资产", "流动负债", "营业收入", "上年营业收入",
                          "净利润", "应收账款期初", "应收账款期末"], aud_rows),
        "association": table_xlsx(folder / "协会评价.xlsx",
                             ["统一社会信用代码", "企业名称", "企业文化建设", "品牌美誉度", "集群孵化", "会员级别"], ass_rows),
        "bank": table_xlsx(folder / "银行征信.xlsx",
                      ["统一社会信用代码", "企业名称", "结算账户", "近24个月最长逾期天数", "企业家个人信用", "银行否决"], bank_rows),
        "credit_system": write_credit(folder / "信用系统导出.csv", records),
    }
    return paths


def write_credit(path: Path, records) -> Path:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["统一社会信用代码", "企业名称", "记录类型", "决定日期", "文书编号", "当事人角色", "状态"])
        for i, rec in enumerate(records):
            c, kind, day, role, status = (list(rec) + [None, None])[:5]
            w.writerow([c, "", kind, day.isoformat() if isinstance(day, dt.date) else day, f"DOC-{i:03d}", role or "",
                        status or ""])
    return path


def write_bank(path: Path, rows: list[tuple]) -> Path:
    """rows: (code, overdue_days, personal_credit, bank_veto 是/否)."""
    return table_xlsx(path, ["统一社会信用代码", "企业名称", "结算账户", "近24个月最长逾期天数", "企业家个人信用", "银行否决"],
                 [[c, "", "是", d, pc, v] for c, d, pc, v in rows])


def score(paths: dict[str, Path], as_of: dt.date):
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.rating.pipeline import score_round

    model = load_model()
    sources = {k: v for k, v in paths.items() if k != "applicants"}
    return score_round(paths["applicants"], sources, model=model, as_of=as_of)


# The two rounds of the migration test (see test_register.py for the expected matrix).
A_DAY = dt.date(2026, 6, 30)
B_DAY = dt.date(2026, 12, 31)


def round_a() -> tuple[list[dict], list[tuple]]:
    ents = [ent(1, 5), ent(2, 3), ent(3, 2), ent(4, 4), ent(5, 5, town="清溪镇"), ent(6, 5), ent(8, 3)]
    return ents, []


def round_b() -> tuple[list[dict], list[tuple]]:
    ents = [ent(1, 5), ent(2, 3, bad_solvency=True), ent(3, 2, sales=5), ent(4, 4, overdue=120), ent(5, 5),
            ent(7, 3), ent(8, 3)]
    records = [(code(8), "行政处罚", dt.date(2026, 10, 1), None, "已结案")]
    return ents, records
