"""The rating workbook: every sheet's content, text never a formula, layout, and a golden result."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import zipfile
from pathlib import Path

import pytest
from conftest import AS_OF, code, ent, name, record, run_round
from openpyxl import load_workbook

from cluster_credit_cli.outputs.rating_workbook import write_json, write_rating_workbook

GOLDEN = Path(__file__).parent / "golden"
FORMULA_NAME = '=HYPERLINK("http://x","y")'
SHEETS_ZH = ["评级结果", "等级分布", "指标明细", "评价模型", "数据来源", "数据冲突", "缺失材料", "问题清单", "运行信息"]


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """A small round with one of everything, written once for all the sheet tests."""
    folder = tmp_path_factory.mktemp("report")
    ents = [
        ent(1, app={"企业名称": FORMULA_NAME}, aud={"企业名称": FORMULA_NAME}, assoc={"企业名称": FORMULA_NAME},
            bnk={"企业名称": FORMULA_NAME}),
        ent(2, app={"战略定位": 3}, pnl={"战略定位": 4}),
        ent(3, app={"企业名称": "+SUM(A1:A9)", "技术水平": None}, aud={"企业名称": "+SUM(A1:A9)"},
            assoc={"企业名称": "+SUM(A1:A9)"}, bnk={"企业名称": "@cmd"}),
        ent(4, bnk={"银行否决(是/否)": "是", "否决理由": "-1+1"}),
    ]
    result = run_round(folder, ents, records=[record(2, "行政处罚", dt.date(2025, 5, 1))])
    out = folder / "ratings.xlsx"
    outcome = write_rating_workbook(result, out)
    assert outcome.written == out
    return result, out


def rows_of(path, sheet):
    wb = load_workbook(path)
    return [list(r) for r in wb[sheet].iter_rows(values_only=True)]


def test_sheet_names(book):
    _, out = book
    assert load_workbook(out, read_only=True).sheetnames == SHEETS_ZH


def test_formula_looking_text_is_text_everywhere(book):
    _, out = book
    with zipfile.ZipFile(out) as z:
        sheets = [n for n in z.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]
        assert len(sheets) == len(SHEETS_ZH)
        for n in sheets:
            xml = z.read(n)
            assert b"<f>" not in xml and b"<f " not in xml, n
        strings = z.read("xl/sharedStrings.xml").decode("utf-8")
    assert "=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)" in strings or FORMULA_NAME in strings
    ratings = rows_of(out, "评级结果")
    names = [r[2] for r in ratings[1:]]
    assert FORMULA_NAME in names and "+SUM(A1:A9)" in names
    # The name cell carries Excel's quote prefix, so even retyping it in Excel keeps it text.
    ws = load_workbook(out)["评级结果"]
    cell = next(c for c in ws["C"] if c.value == FORMULA_NAME)
    assert cell.data_type == "s" and cell.quotePrefix


def test_ratings_sheet(book):
    result, out = book
    rows = rows_of(out, "评级结果")
    assert rows[0] == ["排名", "统一社会信用代码", "企业名称", "总分", "基础分", "加分", "等级", "状态", "原因",
                       "申请金额（万元）", "建议额度（万元）", "价值观（0.1）", "竞争力（0.45）", "社会责任（0.2）",
                       "集群治理（0.25）"]
    body = {r[1]: r for r in rows[1:]}
    assert [r[1] for r in rows[1:]] == [code(1), code(2), code(4), code(3)]  # graded by rank, then the others
    r1 = body[code(1)]
    assert r1[0] == 1 and r1[3] == 110 and r1[6] == "AAA" and r1[7] == "合格" and r1[9] == 300 and r1[10] == 300
    assert r1[11:] == [pytest.approx(10), pytest.approx(45), pytest.approx(20), pytest.approx(25)]
    r2 = body[code(2)]  # panel 4 → V1 80: −0.4; one penalty → S1 60: −2.0
    assert r2[0] == 2 and r2[3] == pytest.approx(107.6) and r2[11] == pytest.approx(9.6)
    r4 = body[code(4)]
    assert r4[0] is None and r4[6] is None and r4[7] == "银行否决" and r4[8] == "合作银行征信否决：-1+1"
    assert r4[10] is None and r4[3] == 110
    r3 = body[code(3)]
    assert r3[7] == "材料不全" and r3[3] == pytest.approx(102)


def test_number_formats_frozen_header_filter_and_chart(book):
    _, out = book
    wb = load_workbook(out)
    ws = wb["评级结果"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
    assert ws["D2"].number_format == "#,##0.00"
    assert ws.column_dimensions["C"].width >= 20
    # Grade colour on the grade cell: AAA is dark green.
    assert ws["G2"].fill.fgColor.rgb.endswith("1B7837")
    with zipfile.ZipFile(out) as z:
        assert any(n.startswith("xl/charts/chart") for n in z.namelist())
    grades = rows_of(out, "等级分布")
    assert grades[0][:3] == ["等级", "企业数", "建议额度（万元）"]
    assert [g[:2] for g in grades[1:8]] == [["AAA", 2], ["AA", 0], ["A", 0], ["BBB", 0], ["BB", 0], ["B", 0],
                                            ["未评级", 2]]


def test_indicator_sheet(book):
    result, out = book
    rows = rows_of(out, "指标明细")
    assert rows[0] == ["统一社会信用代码", "企业名称", "代码", "指标", "输入值", "输入明细", "得分(0-100)", "有效权重",
                       "加权得分", "来源"]
    body = rows[1:]
    assert len(body) == 4 * 25  # every leaf of every scored enterprise
    v1 = next(r for r in body if r[0] == code(2) and r[2] == "V1")
    assert v1[3:9] == ["战略定位", 4, "战略定位 4", 80, pytest.approx(0.02), pytest.approx(1.6)]
    assert v1[9] == "评审小组核定.xlsx/Sheet1/2/战略定位"
    c1 = next(r for r in body if r[0] == code(1) and r[2] == "C1")
    assert c1[7] == pytest.approx(0.2 * 0.07 / 0.19) and c1[8] == pytest.approx(100 * 0.2 * 0.07 / 0.19)
    assert c1[9] == "申报材料汇总.xlsx/Sheet1/2/应付货款按期支付率(%)"
    f1 = next(r for r in body if r[0] == code(1) and r[2] == "F1")
    assert f1[4] == "0.3 / 3"  # debt ratio / current ratio
    # the inputs by their headers, never the model's internal field names (issue 12)
    assert f1[5] == "负债总额 300；资产总额 1,000；流动资产 600；流动负债 200"
    s1 = next(r for r in body if r[0] == code(2) and r[2] == "S1")
    assert s1[4] == 1 and s1[6] == 60 and "社会信用系统导出.xlsx" in s1[9]


def test_model_sheet_with_effective_weights_and_warnings(book):
    _, out = book
    rows = rows_of(out, "评价模型")
    assert rows[0] == ["代码", "层级", "指标", "上级", "印刷权重", "有效权重", "评分规则"]
    c1 = next(r for r in rows if r[0] == "C1")
    assert c1[1:6] == [3, "应付货款", "D41", 0.07, pytest.approx(0.2 * 0.07 / 0.19)]
    assert "≥95 100" in c1[6]
    warn = [r for r in rows if r[0] == "模型警告"]
    assert any("D41" in r[2] and "0.19" in r[2] for r in warn)


def test_provenance_and_conflicts_sheets(book):
    _, out = book
    prov = rows_of(out, "数据来源")
    assert prov[0] == ["统一社会信用代码", "字段", "值", "来源", "文件", "工作表", "行", "列"]
    hit = [r for r in prov if r[0] == code(2) and r[1] == "战略定位"]
    assert hit == [[code(2), "战略定位", 4, "评审小组核定", "评审小组核定.xlsx", "Sheet1", 2, "战略定位"]]
    conf = rows_of(out, "数据冲突")
    assert conf[0] == ["统一社会信用代码", "企业名称", "字段", "来源", "文件", "行", "列", "值", "采用"]
    assert sorted(r[3:] for r in conf[1:] if r[0] == code(2)) == [
        ["申报材料", "申报材料汇总.xlsx", 3, "战略定位", 3, "否"],
        ["评审小组核定", "评审小组核定.xlsx", 2, "战略定位", 4, "是"]]


def test_missing_and_problems_sheets(book):
    result, out = book
    missing = rows_of(out, "缺失材料")
    assert missing[1:] == [[code(3), "+SUM(A1:A9)", "材料不全", "申报材料未填：技术水平"]]
    probs = rows_of(out, "问题清单")
    assert probs[0] == ["文件", "工作表", "行", "列", "问题代码", "级别", "说明"]
    # The bank calls enterprise 3 '@cmd': a name mismatch, listed with file/sheet/row/column.
    assert [r[:6] for r in probs[1:]] == [["合作银行征信.xlsx", "Sheet1", 4, "企业名称", "name_mismatch", "警告"]]


def test_run_information(book):
    result, out = book
    items = dict((r[0], r[1]) for r in rows_of(out, "运行信息")[1:])
    assert items["工具版本"].startswith("ccredit ")
    assert items["评价基准日"].date() == AS_OF
    assert items["模型哈希"] == result.model.hash
    files = {k: v for k, v in items.items() if k.startswith("输入文件")}
    assert len(files) == 6
    for i in result.inputs:
        digest = hashlib.sha256(Path(i["path"]).read_bytes()).hexdigest()
        assert any(digest in v and i["file"] in v for v in files.values()), i["file"]
    assert any(k == "模型警告" for k in items)


def test_large_detail_spills_to_csv(tmp_path):
    result = run_round(tmp_path, [ent(1), ent(2)])
    out = tmp_path / "r.xlsx"
    write_rating_workbook(result, out, detail_limit=10, detail="csv")
    csv_path = tmp_path / "r_指标明细.csv"
    assert csv_path.is_file()
    lines = csv_path.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1 + 2 * 25
    msg = rows_of(out, "指标明细")[1][0]
    assert msg == f"共 50 行，超过 10 行的上限：已写入 {csv_path.name}"  # in the sheet's language


def test_csv_spill_escapes_formula_names(tmp_path):
    result = run_round(tmp_path, [ent(1, app={"企业名称": FORMULA_NAME})])
    write_rating_workbook(result, tmp_path / "r.xlsx", detail_limit=5, detail="csv")
    text = (tmp_path / "r_指标明细.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text


def test_large_detail_left_out_by_default_with_the_flag_that_writes_it(tmp_path):
    """Above the limit the default writes no CSV: the sheet says how many rows and which flag."""
    result = run_round(tmp_path, [ent(1), ent(2)])
    out = tmp_path / "r.xlsx"
    write_rating_workbook(result, out, detail_limit=10)
    assert not list(tmp_path.glob("r_*.csv"))
    msg = rows_of(out, "指标明细")[1][0]
    assert msg.startswith("共 50 行，超过工作簿明细上限 10 行，未写入。") and "--detail csv" in msg
    prov = rows_of(out, "数据来源")[1][0]
    assert f"共 {result.merged.provenance_rows()} 行" in prov and "--detail csv" in prov
    assert result.merged.provenance_rows() == len(result.merged.provenance(result.model)) > 10
    # the conflicts sheet is written whatever the detail mode
    assert rows_of(out, "数据冲突")[0][0] == "统一社会信用代码"


def test_small_detail_stays_in_the_workbook_and_off_leaves_it_out(tmp_path):
    result = run_round(tmp_path, [ent(1)])
    write_rating_workbook(result, tmp_path / "a.xlsx")
    assert len(rows_of(tmp_path / "a.xlsx", "指标明细")) == 1 + 25
    write_rating_workbook(result, tmp_path / "b.xlsx", detail="off")
    assert rows_of(tmp_path / "b.xlsx", "指标明细")[1][0].startswith("未写入（--detail off）：共 25 行")
    assert not list(tmp_path.glob("b_*.csv"))


# -- golden result -----------------------------------------------------------------------------

def _golden_round(folder):
    ents = [
        ent(1),
        ent(2, app={"战略定位": "良", "领导力水平": 2, "技术水平": 3, "销售水平": 3, "应收账款按期回收率(%)": 84.99,
                    "设备租金按期支付率(%)": "无"},
            aud={"负债总额": 550, "流动资产": 299.9, "净利润": 59.9}, assoc={"会员级别": "理事单位", "协同创新项目数": 1}),
        ent(3, aud={"营业收入": 1200, "上年营业收入": 1000}, bnk={"近24个月最长逾期天数": 31},
            assoc={"集群孵化": "本地创业"}),
        ent(4, app={"所在镇街": "常平镇", "注册地址": "东莞市常平镇"}),
        ent(5, app={"申请贷款金额（万元）": 800}, pnl={"技术水平": 4, "销售水平": 4}),
    ]
    recs = [record(3, "司法诉讼", dt.date(2024, 1, 2), 当事人角色="被告"), record(3, "劳资纠纷", dt.date(2023, 6, 30)),
            record(3, "劳资纠纷", dt.date(2023, 6, 29))]
    return run_round(folder, ents, records=recs)


def _stable(data):
    """The JSON minus what legitimately changes between runs or machines."""
    for key in ("tool_version", "config_hash", "inputs"):
        data.pop(key, None)
    return data


def test_golden_json(tmp_path):
    result = _golden_round(tmp_path)
    write_json(result, tmp_path / "r.json")
    got = _stable(json.loads((tmp_path / "r.json").read_text(encoding="utf-8")))
    path = GOLDEN / "round.json"
    if os.environ.get("CCREDIT_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert got == expected


def test_golden_hand_checks():
    """The golden file's key numbers, recomputed by hand, so the golden file itself is verified."""
    data = json.loads((GOLDEN / "round.json").read_text(encoding="utf-8"))
    ents = {e["code"]: e for e in data["enterprises"]}
    w = 0.2 / 0.19
    # 2: V1 良 80 (−0.4); M1 2 → 40 (−1.2); K1 3 → 60 (−3.2); K2 3 → 60 (−3.6);
    #    F1 mean(55 % → 80, 1.4995 → 60) = 70 (−2.4); F3 59.9/2000 = 2.995 % → 30 (−4.2);
    #    C2 84.99 → 60 and C3 无 → 80: −(0.06·40 + 0.06·20)·w; bonus: B1 1 → 40 (−3), B2 理事单位 80 (−1)
    base2 = 100 - 0.4 - 1.2 - 3.2 - 3.6 - 2.4 - 4.2 - (0.06 * 40 + 0.06 * 20) * w
    e2 = ents[code(2)]
    assert e2["base"] == pytest.approx(base2, abs=1e-4) and e2["bonus"] == 6.0
    assert e2["total"] == 87.21 and e2["grade"] == "AA" and e2["quota"] == 300
    assert e2["scores"]["C3"] == 80 and e2["scores"]["C2"] == 60 and e2["scores"]["F1"] == 70
    # 3: F4 exactly +20 % → 100 but F2 1200/200 = 6 → 80 (−0.4); S2 one suit → 70 (−1.2); S3 one record on
    #    the window's first day → 60 (−1.6), the one the day before does not count; S4 31 days → 20 (−5.6);
    #    C4 本地创业 → 60 (−2.0)
    e3 = ents[code(3)]
    assert e3["scores"]["F4"] == 100 and e3["scores"]["F2"] == 80
    assert e3["scores"]["S2"] == 70 and e3["scores"]["S3"] == 60 and e3["scores"]["S4"] == 20
    assert e3["base"] == pytest.approx(100 - 0.4 - 1.2 - 1.6 - 5.6 - 2.0, abs=1e-4)
    assert e3["total"] == 99.2 and e3["quota"] == 300
    assert ents[code(4)]["status"] == ["ineligible:town"] and ents[code(4)]["quota"] is None
    e5 = ents[code(5)]
    # 5: panel K1 4, K2 4 → 80 each (−1.6 −1.8): 106.6, AAA, asks 800 → AAA cap 500
    assert e5["scores"]["K1"] == 80 and e5["scores"]["K2"] == 80 and e5["quota"] == 500 and e5["total"] == 106.6
    assert [e["code"] for e in data["enterprises"]] == [code(1), code(5), code(3), code(2), code(4)]
    assert [e["rank"] for e in data["enterprises"]] == [1, 2, 3, 4, None]
    assert data["grades"] == {"AAA": 3, "AA": 1, "A": 0, "BBB": 0, "BB": 0, "B": 0}
    assert data["pool"]["allocated"] == 300 + 500 + 300 + 300


def test_dates_in_text_columns_show_as_dates(book):
    """A date written into a text-kind column (provenance values, run information) keeps a date format."""
    _, out = book
    ws = load_workbook(out)["数据来源"]
    cell = next(r[2] for r in ws.iter_rows(min_row=2) if r[0].value == code(1) and r[1].value == "成立日期")
    assert cell.value == "2015-03-01"  # provenance shows dates as ISO text
    run = load_workbook(out)["运行信息"]
    as_of = next(r[1] for r in run.iter_rows(min_row=2) if r[0].value == "评价基准日")
    assert as_of.number_format == "yyyy-mm-dd" and as_of.value == dt.datetime(2026, 6, 30)
    created = next(r[1] for r in run.iter_rows(min_row=2) if r[0].value == "生成时间")
    assert created.number_format == "yyyy-mm-dd hh:mm:ss"
