"""``ccredit survey``: the three invocations of the issue, outputs, exit codes, the shipped samples."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from cluster_credit_cli.cli import app
from survey_util import codebook, responses

ROOT = Path(__file__).resolve().parent.parent
HENGLI_DATA = ROOT / "sample_data" / "问卷数据.xlsx"
HENGLI_CB = ROOT / "config" / "survey" / "hengli_codebook.xlsx"
C4_DATA = ROOT / "sample_data" / "4C满意度问卷.xlsx"
C4_CB = ROOT / "config" / "survey" / "4c_codebook.xlsx"

# Table 1 of the Hengli paper (seed 000), with 其它 = 7 instead of the printed 8 (71+9+8+9+8 = 105).
TABLE1 = {
    "企业性质": [("民营", 71), ("港资", 9), ("台资", 8), ("外资", 9), ("其它", 7)],
    "年销售收入": [("小于300万", 56), ("300万~2000万", 36), ("2000万~4亿", 12)],
    "企业年龄": [(">15", 12), ("11~15", 35), ("6~10", 18), ("≤5", 39)],
    "员工人数": [("小于20人", 26), ("20—300人", 75), ("301—1000人", 2), ("1000人以上", 1)],
    "资金缺口": [("不缺乏资金", 51), ("100万以下", 27), ("100-500万", 20), ("500-1000万", 3), ("1000万以上", 3)],
    "资金用途": [("扩大生产规模", 29), ("技术研发和改造", 22), ("维持正常生产", 26), ("归还拖欠货款", 5), ("其他", 22)],
    "补充资金的主要渠道": [("自有资金", 63), ("政府拨款", 1), ("民间借贷", 6), ("银行借款", 14), ("其他方式", 20)],
}

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_sample_reproduces_table1(tmp_path):
    out, js = tmp_path / "t1.xlsx", tmp_path / "t1.json"
    r = run("survey", HENGLI_DATA, "--codebook", HENGLI_CB, "--out", out, "--json", js)
    assert r.exit_code == 0, r.output
    assert "发放问卷109份，收回109份，有效问卷104份" in r.output
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert set(doc) == {"handed_out", "returned", "valid", "problems", "questions", "dimensions", "layout", "not_tabulated"}
    assert doc["layout"] == "普通表格；表头为题目名称或标签" and doc["not_tabulated"] == []
    assert (doc["handed_out"], doc["returned"], doc["valid"], doc["problems"]) == (109, 109, 104, [])
    got = {q["name"]: [(c["label"], c["count"]) for c in q["categories"]] for q in doc["questions"]}
    assert got == TABLE1
    for q in doc["questions"]:
        assert set(q) == {"name", "label", "type", "n", "missing", "categories"}
        assert (q["n"], q["missing"]) == (104, 0)
        assert set(q["categories"][0]) == {"name", "label", "count", "percent"}
    # computed percents (count / 104, half-up), not the paper's 68.2 / 8.4 / 7.5
    assert [c["percent"] for c in doc["questions"][0]["categories"]] == [68.3, 8.7, 7.7, 8.7, 6.7]


def test_table1_workbook_layout(tmp_path):
    out = tmp_path / "t1.xlsx"
    assert run("survey", HENGLI_DATA, "--codebook", HENGLI_CB, "--out", out, "-q").exit_code == 0
    wb = load_workbook(out)
    ws = wb["样本特征"]
    assert ws["A2"].value == "发放问卷109份，收回109份，有效问卷104份"
    assert [ws.cell(4, j).value for j in range(1, 5)] == ["样本特征", "特征分布", "样本数量", "比例(%)"]
    assert (ws["A5"].value, ws["B5"].value, ws["C5"].value, ws["D5"].value) == ("企业性质", "民营", 71, 68.3)
    merged = {str(m) for m in ws.merged_cells.ranges}
    assert "A5:A10" in merged  # 5 categories + total row
    # the total percent is the sum of the printed parts: 68.3 + 8.7 + 7.7 + 8.7 + 6.7
    assert (ws["B10"].value, ws["C10"].value, ws["D10"].value) == ("合计", 104, 100.1)
    assert "A11:A14" in merged and ws["A11"].value == "年销售收入"
    assert "无效问卷" in wb.sheetnames and wb["无效问卷"].max_row == 6  # header + 5 invalid


def test_4c_sample_charts_and_likert(tmp_path):
    out, js = tmp_path / "c.xlsx", tmp_path / "c.json"
    r = run("survey", C4_DATA, "--codebook", C4_CB, "--out", out, "--json", js)
    assert r.exit_code == 0, r.output
    with zipfile.ZipFile(out) as z:
        charts = [n for n in z.namelist() if re.match(r"xl/charts/chart\d+\.xml", n)]
        xml = [z.read(n).decode() for n in charts]
    assert len(charts) == 5  # radar + one bar chart per dimension
    assert sum("<c:radarChart>" in x for x in xml) == 1
    assert sum("<c:barChart>" in x for x in xml) == 4
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert [d["name"] for d in doc["dimensions"]] == ["needs", "cost", "convenience", "communication"]
    assert all(set(d) == {"name", "label", "n", "mean", "sd", "top2"} for d in doc["dimensions"])
    assert (doc["returned"], doc["valid"]) == (82, 80)
    amount = next(q for q in doc["questions"] if q["name"] == "贷款金额")
    assert amount["n"] + amount["missing"] == sum(c["count"] for c in amount["categories"]) + amount["missing"]


def test_markdown_csv_escape_formulas(tmp_path):
    # openpyxl would store a string starting with "=" as a formula, so the formula-like texts start with @ + -
    cb = codebook(tmp_path / "cb.xlsx", [["select_one l", "q", "@危险"]], [["l", "a", "+1 好"], ["l", "b", "-b"]])
    data = tmp_path / "d.csv"
    data.write_text("@危险\n+1 好\n-b\nb\n", encoding="utf-8")
    md, csv_path, out = tmp_path / "o.md", tmp_path / "o.csv", tmp_path / "o.xlsx"
    r = run("survey", data, "--codebook", cb, "--out", out, "--markdown", md, "--csv", csv_path, "-q")
    assert r.exit_code == 0, r.output
    text = md.read_text(encoding="utf-8")
    assert "| '@危险 | '+1 好 | 1 | 33.3 |" in text
    csv_text = csv_path.read_text(encoding="utf-8-sig")
    assert "'@危险,select_one,a,'+1 好,1,33.3," in csv_text and "'-b,2,66.7" in csv_text
    ws = load_workbook(out)["样本特征"]
    assert ws["A5"].value == "@危险" and ws["B5"].value == "+1 好" and ws["B5"].data_type == "s"
    assert ws["B5"].quotePrefix


def test_unknown_answers_exit_1_with_row_and_column(tmp_path):
    cb = codebook(tmp_path / "cb.xlsx", [["select_one l", "q", "问题"]], [["l", "a", "甲"]])
    data = responses(tmp_path / "d.xlsx", ["问题"], [["甲"], ["乙"]])
    js = tmp_path / "o.json"
    r = run("survey", data, "--codebook", cb, "--out", tmp_path / "o.xlsx", "--json", js)
    assert r.exit_code == 1
    assert "row 3" in r.output and "乙" in r.output
    p = json.loads(js.read_text(encoding="utf-8"))["problems"]
    assert [(x["row"], x["column"], x["code"]) for x in p] == [(3, "问题", "unknown_answer")]
    ws = load_workbook(tmp_path / "o.xlsx")["样本特征"]
    assert [ws.cell(r, 2).value for r in range(5, 8)] == ["甲", "合计", "无法识别（见问题清单）"]


def test_usage_errors_exit_2(tmp_path):
    r = run("survey", tmp_path / "none.xlsx", "--codebook", HENGLI_CB)
    assert r.exit_code == 2 and "找不到文件" in r.output
    bad = codebook(tmp_path / "cb.xlsx", [["select_one l", "q", "Q"]], [["l", "a", "A", "[1,"]])
    r = run("survey", HENGLI_DATA, "--codebook", bad, "--out", tmp_path / "x.xlsx")
    assert r.exit_code == 2 and "sheet choices, row 2" in r.output
    r = run("survey", HENGLI_DATA, "--codebook", HENGLI_CB, "--decimals", "9", "--out", tmp_path / "x.xlsx")
    assert r.exit_code == 2
    r = run("survey", HENGLI_DATA, "--codebook", HENGLI_CB, "--lang", "fr")
    assert r.exit_code == 2


def test_decimals_and_sum_100_and_english(tmp_path):
    js = tmp_path / "o.json"
    r = run("survey", HENGLI_DATA, "--codebook", HENGLI_CB, "--out", tmp_path / "o.xlsx", "--json", js,
            "--sum-100", "--decimals", "2", "--lang", "en", "-q")
    assert r.exit_code == 0, r.output
    doc = json.loads(js.read_text(encoding="utf-8"))
    for q in doc["questions"]:
        assert round(sum(c["percent"] for c in q["categories"]), 2) == 100.0
    assert doc["questions"][0]["label"] == "Ownership"
    assert "Sample profile" in load_workbook(tmp_path / "o.xlsx").sheetnames


def test_crosstab_command(tmp_path):
    out, js = tmp_path / "x.xlsx", tmp_path / "x.json"
    r = run("survey", "crosstab", C4_DATA, "--codebook", C4_CB, "--rows", "企业规模", "--cols", "获得贷款",
            "--out", out, "--json", js)
    assert r.exit_code == 0, r.output
    assert "Pearson卡方检验" in r.output
    doc = json.loads(js.read_text(encoding="utf-8"))
    (t,) = doc["tables"]
    assert t["test"] == "chi-square" and t["total"] == 80 and len(t["counts"]) == 3
    import numpy as np
    from scipy.stats.contingency import association

    nz = np.array(t["counts"])
    nz = nz[nz.sum(axis=1) > 0][:, nz.sum(axis=0) > 0]
    assert t["cramers_v"] == pytest.approx(association(nz, method="cramer", correction=False))
    assert t["row_totals"] == [sum(r) for r in t["counts"]]
    assert out.exists()
    r = run("survey", "crosstab", C4_DATA, "--codebook", C4_CB, "--rows", "贷款金额", "--cols", "贷款期限",
            "--by", "企业规模", "--out", out, "--json", js)
    assert r.exit_code == 0, r.output
    assert [t["group"] for t in json.loads(js.read_text(encoding="utf-8"))["tables"]] == ["微型企业", "小型企业", "中型企业"]
    r = run("survey", "crosstab", C4_DATA, "--codebook", C4_CB, "--rows", "融资渠道", "--cols", "企业规模")
    assert r.exit_code == 2 and "select_multiple" in r.output


def test_codebook_draft_command_round_trip(tmp_path):
    data = responses(tmp_path / "d.xlsx", ["性别", "收入（万元）", "渠道"],
                     [["男", i * 10.5, "银行、自有"] if i % 2 else ["女", i * 10.5, "自有"] for i in range(40)])
    out = tmp_path / "cb.xlsx"
    r = run("survey", "codebook", data, "--out", out)
    assert r.exit_code == 0, r.output
    wb = load_workbook(out)
    types = {row[1]: row[0] for row in wb["survey"].iter_rows(min_row=2, values_only=True)}
    assert types == {"性别": "select_one 性别_list", "收入": "decimal", "渠道": "select_multiple 渠道_list"}
    ranges = [row[4] for row in wb["choices"].iter_rows(min_row=2, values_only=True) if row[0] == "收入_bins"]
    assert ranges[0].startswith("<") and ranges[-1].startswith(">=") and len(ranges) == 4
    # the draft is a working codebook
    r = run("survey", data, "--codebook", out, "--out", tmp_path / "o.xlsx", "--json", tmp_path / "o.json")
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))
    assert sum(c["count"] for c in doc["questions"][1]["categories"]) == 40


def test_group_help_lists_subcommands():
    r = run("survey", "--help")
    assert r.exit_code == 0
    assert "codebook" in r.output and "crosstab" in r.output and "tabulate" in r.output


@pytest.mark.parametrize("args", [["survey", "tabulate", "--help"], ["survey", "crosstab", "--help"]])
def test_subcommand_help(args):
    r = run(*args)
    assert r.exit_code == 0 and "Example" in r.output


EXPORTS = ROOT / "sample_data" / "survey_exports"
LOAN_CB = ROOT / "config" / "survey" / "loan_xlsform.xlsx"


@pytest.mark.parametrize("name, layout", [
    ("kobo.csv", "Kobo；表头为 组/题目；多选题既有合并列也有每个选项一列（按合并列统计）"),
    ("odk_central.csv", "ODK Central；表头为 组-题目"),
    ("split.csv", "普通表格；表头为题目名称或标签；多选题每个选项一列"),
    ("flat.csv", "普通表格；表头为题目名称或标签"),
    ("问卷星_按选项文本.xlsx", "问卷星；表头为 题号、题目"),
    ("问卷星_按选项序号.xlsx", "问卷星；表头为 题号、题目；多选题每个选项一列；答案为选项序号（-3 跳过，-2 空）"),
])
def test_the_documented_platform_exports_give_the_same_tables(tmp_path, name, layout):
    js = tmp_path / "o.json"
    r = run("survey", EXPORTS / name, "--codebook", LOAN_CB, "--out", tmp_path / "o.xlsx", "--json", js)
    assert r.exit_code == 0, r.output
    assert f"数据格式：{layout}。" in r.output
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert doc["layout"] == layout and not doc["problems"]
    q = {x["name"]: x for x in doc["questions"]}
    assert (q["loan"]["n"], [c["count"] for c in q["loan"]["categories"]]) == (4, [3, 1])
    assert (q["amount"]["n"], q["source"]["n"], [c["count"] for c in q["source"]["categories"]]) == (3, 3, [2, 2])
    assert "26.67" in r.output and "不适用（跳题）" in r.output
