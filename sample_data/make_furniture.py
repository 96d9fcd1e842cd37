"""Regenerate sample_data/furniture/: the README's worked example of a town designing its own model.

    python sample_data/make_furniture.py [--out sample_data/furniture]

A furniture cluster (大岭山镇) with its own three-level indicator system: the experts' pairwise
matrices (家具判断矩阵.xlsx), the model ``ccredit model init --from-ahp`` writes from them with the
placeholder rules replaced by the rules below (家具模型.toml), and one small review round
(applicants, the accounting firm, the social credit system, the partner bank). Deterministic but
for the date model init writes in the model file's header.

    ccredit weights ahp sample_data/furniture/家具判断矩阵.xlsx
    ccredit model init --from-ahp sample_data/furniture/家具判断矩阵.xlsx --out 家具模型.toml
    ccredit score sample_data/furniture/round/申报材料汇总.xlsx --config sample_data/furniture/家具模型.toml --as-of 2026-11-30
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from pathlib import Path

from openpyxl import Workbook
from stdnum.cn import uscc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The experts' judgments (row item over column item, Saaty 1-9), one sheet per node.
MATRICES = {
    "总目标": (["经营能力", "财务状况", "社会信用"],
            {("经营能力", "财务状况"): 2, ("经营能力", "社会信用"): 3, ("财务状况", "社会信用"): 2}),
    "经营能力": (["设计研发", "生产管理", "市场销售"],
             {("设计研发", "生产管理"): 2, ("设计研发", "市场销售"): 1, ("生产管理", "市场销售"): "1/2"}),
    "设计研发": (["原创设计", "专利数量"], {("原创设计", "专利数量"): 3}),
    "生产管理": (["环保达标", "质量认证"], {("环保达标", "质量认证"): 2}),
    "财务状况": (["资产负债率", "盈利能力"], {("资产负债率", "盈利能力"): 1}),
    "社会信用": (["行政处罚", "贷款逾期"], {("行政处罚", "贷款逾期"): "1/2"}),
}

# The rules the town writes in place of the placeholders (by indicator name), and the fields they read.
RULES = {
    "原创设计": 'kind = "rating"\nfield = "design"\n',
    "专利数量": 'kind = "bands"\nmetric = "patents"\ncompare = ">="\nbands = [[5, 100], [3, 80], [1, 60]]\nelse = 30\n',
    "环保达标": 'kind = "lookup"\nfield = "environment"\npoints = { "达标" = 100, "限期整改" = 50, "未达标" = 0 }\n',
    "质量认证": 'kind = "lookup"\nfield = "certification"\npoints = { "ISO9001" = 100, "其他认证" = 70, "无" = 30 }\n',
    "市场销售": 'kind = "rating"\nfield = "sales"\n',
    "资产负债率": ('kind = "bands"\nmetric = "total_liabilities / total_assets"\ncompare = "<="\n'
              'bands = [[0.40, 100], [0.55, 80], [0.70, 60], [0.85, 30]]\nelse = 0\n'),
    "盈利能力": ('kind = "bands"\nmetric = "net_profit / revenue"\ncompare = ">="\n'
             'bands = [[0.10, 100], [0.06, 80], [0.03, 60], [0.0, 30]]\nelse = 0\n'),
    "行政处罚": 'kind = "count"\nrecord_types = ["行政处罚"]\nwindow_months = 36\npoints = [100, 60, 30, 0]\n',
    "贷款逾期": 'kind = "bands"\nmetric = "overdue_days"\ncompare = "<="\nbands = [[0, 100], [30, 60], [90, 20]]\nelse = 0\n',
}
FIELDS = '''
# 家具集群新增的字段（评分规则读取的数据）
[fields.design]
label = "原创设计能力"
type = "rating"
aliases = ["原创设计"]
sources = ["panel", "applicants"]
[fields.sales]
label = "市场销售水平"
type = "rating"
aliases = ["市场销售"]
sources = ["panel", "applicants"]
[fields.patents]
label = "有效专利数"
type = "number"
aliases = ["专利数量", "专利数"]
sources = ["applicants"]
[fields.environment]
label = "环保达标情况"
type = "category"
aliases = ["环保达标", "环保情况"]
sources = ["applicants"]
[fields.certification]
label = "质量体系认证"
type = "category"
aliases = ["质量认证"]
sources = ["applicants"]
[fields.revenue]
label = "营业收入"
type = "number"
aliases = ["营业总收入", "主营业务收入", "销售收入"]
sources = ["auditor", "applicants"]
[fields.net_profit]
label = "净利润"
type = "number"
aliases = ["净利"]
sources = ["auditor", "applicants"]
'''

NAMES = ["东莞市大岭山华美家具有限公司", "东莞市名家居实木家具有限公司", "东莞市大岭山雅典家私厂", "东莞市森源软体家具有限公司",
         "东莞市富运家具制造有限公司", "东莞市联邦家私有限公司", "东莞市木之源家居有限公司", "东莞市金凯办公家具有限公司"]
ALNUM = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def make_code(rng: random.Random) -> str:
    body = "91441900" + "".join(rng.choice(ALNUM) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def write_xlsx(path: Path, header: list[str], rows: list[list]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)


def write_matrices(path: Path) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    for sheet, (names, pairs) in MATRICES.items():
        ws = wb.create_sheet(sheet)
        ws.append([sheet, *names])
        for i, x in enumerate(names):
            row = [x] + [None] * len(names)
            row[i + 1] = 1
            for j in range(i + 1, len(names)):
                row[j + 1] = pairs[(x, names[j])]
            ws.append(row)
    wb.save(path)


def write_model(matrices: Path, path: Path) -> None:
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.problems import Problems
    from cluster_credit_cli.weights.scaffold import design_from_outcome, scaffold_model
    from cluster_credit_cli.weights.tables import ahp_free, read_matrix_workbooks

    problems = Problems()
    outcome = ahp_free(read_matrix_workbooks([matrices], problems), problems)
    scaffold = scaffold_model(design_from_outcome(outcome, matrices.name), load_model(), name="大岭山家具产业集群中小企业信用评价",
                              target=path)
    text = scaffold.text
    for name, key in scaffold.keys.items():
        if name in RULES:
            text = text.replace(f"[rules.{key}]\nkind = \"todo\"\n", f"[rules.{key}]\n{RULES[name]}")
            text = text.replace(f"{name}（", f"{name}（", 1)
    text = text.replace("：规则待编写\n", "\n")
    text = text.replace('# 还缺评分规则：每个末级指标下有一条 kind = "todo" 的占位规则。逐条改写后运行',
                        "# 各末级指标的占位规则已按本镇的打分细则改写（见 sample_data/make_furniture.py）。改动后运行")
    text = text.replace('town = "横沥镇"', 'town = "大岭山镇"').replace('names = ["横沥镇", "横沥"]', 'names = ["大岭山镇", "大岭山"]')
    path.write_text(text + FIELDS, encoding="utf-8")
    load_model(path).require_rules()  # every placeholder replaced


def build(out: Path) -> None:
    rng = random.Random(20261130)
    out.mkdir(parents=True, exist_ok=True)
    write_matrices(out / "家具判断矩阵.xlsx")
    write_model(out / "家具判断矩阵.xlsx", out / "家具模型.toml")
    rnd = out / "round"
    rnd.mkdir(exist_ok=True)
    codes = [make_code(rng) for _ in NAMES]
    ratings = ["优", "良", "良", "中", "优", "差", "良", "中"]
    sales = [5, 4, 3, 3, 4, 2, 4, 3]
    patents = [7, 3, 1, 0, 4, 0, 2, 1]
    env = ["达标", "达标", "达标", "限期整改", "达标", "未达标", "达标", "达标"]
    cert = ["ISO9001", "ISO9001", "其他认证", "无", "ISO9001", "无", "其他认证", "ISO9001"]
    header = ["统一社会信用代码", "企业名称", "法定代表人", "成立日期", "注册地址", "所在镇街", "从业人数（人）",
              "申请贷款金额（万元）", "贷款用途", "原创设计能力", "市场销售水平", "有效专利数", "环保达标情况", "质量体系认证"]
    rows = []
    for i, (c, n) in enumerate(zip(codes, NAMES)):
        rows.append([c, n, ["张", "李", "王", "陈", "刘", "黄", "林", "何"][i] + "先生",
                     dt.date(2008 + i, 1 + i, 10), f"东莞市大岭山镇{['大塘', '矮岭冚', '金桔', '颜屋'][i % 4]}村工业区{i + 1}号",
                     "大岭山镇", 40 + 15 * i, [500, 300, 200, 150, 400, 100, 250, 200][i], "购置设备",
                     ratings[i], sales[i], patents[i], env[i], cert[i]])
    write_xlsx(rnd / "申报材料汇总.xlsx", header, rows)
    assets = [2000, 1500, 800, 600, 1800, 500, 900, 700]
    liab = [600, 750, 480, 500, 720, 460, 450, 420]
    revenue = [3000, 2200, 1200, 800, 2600, 600, 1300, 900]
    profit = [330, 150, 50, -20, 220, 10, 90, 40]
    write_xlsx(rnd / "会计师事务所审计数据.xlsx",
               ["统一社会信用代码", "企业名称", "审计年度", "资产总额", "负债总额", "营业收入", "净利润", "审计意见"],
               [[c, n, "2025", a, lb, r, p, "标准无保留意见"]
                for c, n, a, lb, r, p in zip(codes, NAMES, assets, liab, revenue, profit)])
    lines = ["统一社会信用代码,企业名称,记录类型,决定日期,文书编号,涉案金额（元）,当事人角色,状态,备注",
             f"{codes[3]},{NAMES[3]},行政处罚,2025-06-12,东环罚〔2025〕118号,50000,,已结案,",
             f"{codes[5]},{NAMES[5]},行政处罚,2024-09-03,东环罚〔2024〕87号,80000,,已结案,",
             f"{codes[5]},{NAMES[5]},行政处罚,2026-02-20,东市监罚〔2026〕15号,20000,,已结案,"]
    (rnd / "社会信用系统导出.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    overdue = [0, 0, 15, 45, 0, 120, 0, 0]
    write_xlsx(rnd / "合作银行征信.xlsx",
               ["统一社会信用代码", "企业名称", "结算账户(是/否)", "近24个月最长逾期天数", "企业家个人信用", "银行否决(是/否)"],
               [[c, n, "是", d, "良好", "否"] for c, n, d in zip(codes, NAMES, overdue)])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "furniture")
    build(ap.parse_args().out)
