"""Regenerate sample_data/: one realistic review round of the Hengli mould cluster pool.

    python sample_data/make_sample.py [--out sample_data]

About 30 applicants and all five exports, with the mess real files have (see
shared/spec/input-files.md): title rows above headers, full-width brackets and unit suffixes,
English aliases, columns out of order, an unknown column, codes typed in lower case or with
spaces, an invalid code, a duplicate applicant, a name that differs between sources, dates as
real dates / text / Excel serials, ratings as labels (优良中差劣), 无 for no lease, a GB18030
CSV from the credit system, export rows for firms that did not apply, and a few vetoed,
ineligible and incomplete cases. Deterministic: the same files every run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from pathlib import Path

from openpyxl import Workbook
from stdnum.cn import uscc

AS_OF = dt.date(2026, 11, 30)  # the evaluation date the README uses for this round

ALNUM = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def make_code(rng: random.Random, region: str = "441900") -> str:
    body = "91" + region + "".join(rng.choice(ALNUM) for _ in range(9))
    return body + uscc.calc_check_digit(body)


NAMES = [
    "东莞市横沥精密模具有限公司", "东莞市恒力五金模具有限公司", "东莞市横沥汇丰模具厂", "东莞市永达精工模具有限公司",
    "东莞市华锐模具科技有限公司", "东莞市田饶步模具制造有限公司", "东莞市新城塑胶模具有限公司", "东莞市鸿图压铸模具有限公司",
    "东莞市冠亿精密五金有限公司", "东莞市博创模具有限公司", "东莞市横沥联兴模具有限公司", "东莞市金盈模架有限公司",
    "东莞市嘉利达模具有限公司", "东莞市乐宝精密模具有限公司", "东莞市宏基汽车模具有限公司", "东莞市锐进模具有限公司",
    "东莞市三江模具钢材有限公司", "东莞市景湖精工有限公司", "东莞市村头模具配件厂", "东莞市拓展精密模具有限公司",
    "东莞市广源冲压模具有限公司", "东莞市协盛模具有限公司", "东莞市德泰精密机械有限公司", "东莞市明辉注塑模具有限公司",
    "东莞市启航模具有限公司", "东莞市长荣五金模具有限公司", "东莞市宝隆精密模具有限公司", "东莞市横沥创新模具研究院有限公司",
    "=HYPERLINK(\"http://example.invalid\",\"点击查看\")", "东莞市合众模具有限公司",
]
LABELS = ["劣", "差", "中", "良", "优"]


def write_xlsx(path: Path, title: list[str] | None, header: list[str], rows: list[list]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    r = 1
    for line in title or []:
        ws.cell(row=r, column=1, value=line)
        r += 1
    if title:
        r += 1  # a blank row between title and header, as people do
    for j, h in enumerate(header, 1):
        ws.cell(row=r, column=j, value=h)
    for row in rows:
        r += 1
        for j, v in enumerate(row, 1):
            cell = ws.cell(row=r, column=j)
            cell.value = v
            if isinstance(v, str) and v.startswith("="):
                cell.data_type = "s"  # an applicant's name, not a formula
            if isinstance(v, dt.date):
                cell.number_format = "yyyy-mm-dd"
    wb.save(path)


def build(out: Path) -> None:
    rng = random.Random(20261130)
    out.mkdir(parents=True, exist_ok=True)
    n = len(NAMES)
    codes = [make_code(rng) for _ in range(n)]
    founded = [dt.date(rng.randint(2003, 2022), rng.randint(1, 12), rng.randint(1, 28)) for _ in range(n)]
    founded[5] = dt.date(2026, 3, 1)  # ineligible: less than a year
    towns = ["横沥镇"] * n
    towns[9] = "常平镇"  # ineligible: registered in another town
    account = ["是"] * n
    account[13] = "否"  # ineligible: no settlement account at the partner bank

    # -- applicants ---------------------------------------------------------------------------
    header = ["序号", "统一社会信用代码", " 企业名称 ", "法定代表人", "成立日期", "注册地址", "所在镇街", "从业人数（人）",
              "申请贷款金额（万元）", "贷款用途", "合作银行结算账户(是/否)", "战略定位", "企业使命", "领导力水平",
              "财务管理水平", "设备设施管理", "人力资源管理水平", "质量管理水平", "技术水平", "销售水平",
              "应付货款按期支付率(%)", "应收账款按期回收率（%）", "设备租金按期支付率(%)", "联系人", "联系电话"]
    rows = []
    for i in range(n):
        ratings = [rng.choice([3, 4, 4, 5, 5]) for _ in range(9)]
        if i % 4 == 1:
            ratings = [LABELS[r - 1] for r in ratings]  # labels instead of numbers
        code = codes[i]
        if i == 3:
            code = code.lower()  # typed in lower case
        if i == 7:
            code = " ".join([code[:6], code[6:12], code[12:]])  # typed with spaces
        lease = "无" if i % 6 == 2 else rng.choice([100, 98, 92, 88, 75, 60])
        date_cell: object = founded[i]
        if i % 5 == 1:
            date_cell = f"{founded[i].year}年{founded[i].month}月{founded[i].day}日"
        elif i % 5 == 2:
            date_cell = f"{founded[i].year}/{founded[i].month}/{founded[i].day}"
        rows.append([i + 1, code, NAMES[i], f"张{'伟芳娜敏静丽强磊军洋'[i % 10]}", date_cell,
                     f"广东省东莞市{towns[i]}{'村头社区田坑村六甲村新四村'[i % 4 * 2:(i % 4) * 2 + 2]}工业路{i + 8}号",
                     towns[i], rng.randint(8, 260), rng.choice([100, 150, 200, 300, 500, 800]),
                     rng.choice(["购置设备", "流动资金", "厂房改造", "原材料采购"]), account[i], *ratings,
                     rng.choice([100, 97, 95, 90, 86, 72]), rng.choice([99, 95, 92, 85, 80, 66]), lease,
                     f"李{i}", f"0769-8{rng.randint(1000000, 9999999)}"])
    # A row with a broken code (check digit) and a duplicate applicant row for enterprise 11.
    broken = codes[0][:17] + ("0" if codes[0][17] != "0" else "1")
    rows.append([n + 1, broken, "东莞市错码模具有限公司", "王五", dt.date(2015, 1, 1), "广东省东莞市横沥镇", "横沥镇", 30,
                 100, "流动资金", "是", 4, 4, 4, 4, 4, 4, 4, 4, 4, 95, 95, 95, "王五", "0769-80000000"])
    dup = list(rows[11])
    dup[0] = n + 2
    dup[8] = 999  # same code, a different requested amount: the secretary must resolve it
    rows.append(dup)
    # Enterprise 20 left its ratings blank (incomplete unless the panel supplies them).
    for j in range(11, 20):
        rows[20][j] = None
    write_xlsx(out / "申报材料汇总.xlsx", ["2026年第四季度横沥镇中小微模具企业资金池贷款申报汇总表"], header, rows)

    # -- panel: verified ratings for some applicants (wins over self-reports) ------------------
    pheader = ["统一社会信用代码", "企业名称", "战略定位", "企业使命", "领导力水平", "财务管理水平", "设备设施管理",
               "人力资源管理水平", "质量管理水平", "技术水平", "销售水平", "应付货款按期支付率", "应收账款按期回收率",
               "设备租金按期支付率", "核定人"]
    prow = []
    for i in range(0, n, 3):
        prow.append([codes[i], NAMES[i]] + [rng.choice([3, 4, 5]) for _ in range(9)]
                    + [rng.choice([100, 95, 90]), rng.choice([95, 90, 85]), "无" if i % 6 == 2 else 95, "评审小组"])
    write_xlsx(out / "评审小组核定.xlsx", ["资金池信用评审小组核定表"], pheader, prow)

    # -- auditor: financial statements (万元), columns in another order, English alias ---------
    aheader = ["企业名称", "统一社会信用代码", "审计年度", "Total assets", "负债总额（万元）", "流动资产", "流动负债",
               "营业收入（万元）", "上年营业收入", "净利润", "应收账款期初", "应收账款期末", "审计意见", "审计机构"]
    arow = []
    for i in range(n):
        if i == 17:
            continue  # no audited statements: incomplete
        assets = rng.randint(800, 9000)
        liab = round(assets * rng.uniform(0.25, 0.9))
        ca = round(assets * rng.uniform(0.3, 0.6))
        cl = round(ca / rng.uniform(0.7, 2.4))
        rev = rng.randint(600, 12000)
        last = round(rev / rng.uniform(0.85, 1.3))
        profit = round(rev * rng.uniform(-0.03, 0.14), 1)
        ra, rb = round(rev / rng.uniform(3, 10)), round(rev / rng.uniform(3, 10))
        name = NAMES[i] if i != 4 else "东莞市华锐模具科技公司"  # differs from the applicant's name
        arow.append([name, codes[i], 2025, assets, liab, ca, cl, rev, last, profit, ra, rb, "标准无保留", "广信会计师事务所"])
    arow.append(["东莞市非申报企业模具有限公司", make_code(rng), 2025, 5000, 2000, 2500, 1200, 6000, 5500, 400,
                 700, 800, "标准无保留", "广信会计师事务所"])
    write_xlsx(out / "会计师事务所审计数据.xlsx", ["会计师事务所审计数据（单位：万元）"], aheader, arow)

    # -- association --------------------------------------------------------------------------
    sheader = ["统一社会信用代码", "企业名称", "企业文化建设", "品牌美誉度", "集群孵化", "会员级别", "协同创新项目数",
               "协会否决(是/否)", "否决理由"]
    srow = []
    for i in range(n):
        veto = "是" if i == 21 else "否"
        srow.append([codes[i], NAMES[i], rng.choice([3, 4, 5, "良", "优"]), rng.choice([3, 4, 5]),
                     rng.choice(["集群内孵化", "本地创业", "本地创业", "外部迁入"]),
                     rng.choice(["会长单位", "副会长单位", "理事单位", "会员单位", "会员单位", "非会员"]),
                     rng.choice([0, 0, 1, 1, 2, 3, 4]), veto, "拖欠会员企业货款，经协会调解未果" if veto == "是" else ""])
    write_xlsx(out / "行业协会评价.xlsx", None, sheader, srow)

    # -- social credit system: GB18030 CSV, many records, most for other firms -------------------
    lines = ["统一社会信用代码,企业名称,记录类型,决定日期,文书编号,涉案金额（元）,当事人角色,状态,备注"]
    kinds = ["行政处罚", "司法诉讼", "劳资纠纷"]
    for k in range(120):
        i = rng.randrange(n)
        code = codes[i] if rng.random() < 0.35 else make_code(rng)
        name = NAMES[i] if code == codes[i] else "东莞市其他企业有限公司"
        kind = rng.choice(kinds)
        d = AS_OF - dt.timedelta(days=rng.randint(10, 2000))
        fmt = k % 3
        date_text = d.isoformat() if fmt == 0 else (f"{d.year}/{d.month}/{d.day}" if fmt == 1 else
                                                    str((d - dt.date(1899, 12, 30)).days))
        role = rng.choice(["原告", "被告"]) if kind == "司法诉讼" else ""
        name_csv = name.replace(",", "，")
        lines.append(f"{code},{name_csv},{kind},{date_text},（2024）粤1971{kind[:1]}{k:04d}号,{rng.randint(1000, 200000)},"
                     f"{role},{rng.choice(['已结案', '未结案'])},")
    # Government veto: enterprise 25 is on the serious-dishonesty list.
    lines.append(f"{codes[25]},{NAMES[25]},严重失信,2025年6月18日,东信（2025）12号,,,未移出,列入严重失信主体名单")
    # A record exactly at the window edge and one just outside, for enterprise 2.
    edge = dt.date(AS_OF.year - 3, AS_OF.month, AS_OF.day)
    lines.append(f"{codes[2]},{NAMES[2]},行政处罚,{edge.isoformat()},东横环罚〔2023〕1号,5000,,已结案,窗口边缘")
    lines.append(f"{codes[2]},{NAMES[2]},行政处罚,{(edge - dt.timedelta(days=1)).isoformat()},东横环罚〔2023〕2号,5000,,已结案,窗口之外")
    (out / "社会信用系统导出.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))

    # -- partner bank --------------------------------------------------------------------------
    bheader = ["统一社会信用代码", "企业名称", "结算账户(是/否)", "近24个月最长逾期天数", "企业家个人信用", "银行否决(是/否)", "否决理由"]
    brow = []
    for i in range(n):
        if i == 19:
            continue  # not known to the bank: S4 missing, no known account
        overdue = rng.choice([0, 0, 0, 0, 5, 20, 45])
        credit = "良好"
        if i == 23:
            overdue = 120  # automatic bank veto
        if i == 26:
            credit = "不良"
        brow.append([codes[i], NAMES[i], account[i], overdue, credit, "否", ""])
    brow.append([codes[6], NAMES[6], "是", 35, "良好", "否", "第二笔逾期"])  # a second overdue episode
    write_xlsx(out / "合作银行征信.xlsx", ["东莞银行横沥支行 企业征信情况"], bheader, brow)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    build(ap.parse_args().out)
