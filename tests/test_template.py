"""``ccredit template KIND``: canonical headers, a hint row, dropdowns (data validation in the
sheet XML), and a template that comes back filled reads cleanly."""

from __future__ import annotations

import re
import zipfile

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from cluster_credit_cli.cli import app
from cluster_credit_cli.problems import Problems
from cluster_credit_cli.inputs.reading import read_source

runner = CliRunner()
KINDS = ["applicants", "panel", "auditor", "association", "innovation", "credit_system", "bank"]
RATING_LIST = '"5,4,3,2,1,优,良,中,差,劣"'


def make(tmp_path, kind, *extra):
    out = tmp_path / f"{kind}.xlsx"
    res = runner.invoke(app, ["template", kind, "--out", str(out), *extra])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == str(out)
    return out


def validations(path) -> dict[str, tuple[str, str]]:
    """Column letter -> (validation type, formula1) from the sheet XML."""
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    out = {}
    for m in re.finditer(r'<dataValidation type="(\w+)"[^>]*sqref="([A-Z]+)3:[A-Z]+5002"[^>]*>'
                         r'<formula1>([^<]*)</formula1>', xml):
        out[m[2]] = (m[1], m[3].replace("&quot;", '"'))
    return out


def header_and_hints(path):
    ws = load_workbook(path).active
    return [c.value for c in ws[1]], [c.value for c in ws[2]], ws


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_headers_hints_and_validations(tmp_path, model, kind):
    path = make(tmp_path, kind)
    headers, hints, ws = header_and_hints(path)
    assert headers[0] == "统一社会信用代码"
    assert headers[1] == "企业名称"  # every source carries the name
    assert hints[0] == "18位代码，文本格式"
    assert ws.freeze_panes == "A3"
    assert ws.title == model.sources[kind].label
    # Every header reads back as the field it stands for.
    from cluster_credit_cli.inputs.reading import header_index
    from cluster_credit_cli.text import normalize_header

    index = header_index(model, kind)
    assert all(index.get(normalize_header(h)) for h in headers), headers
    # An empty template reads cleanly: the hint row is not data.
    problems = Problems()
    table = read_source(path, kind, model, problems)
    assert table is not None and len(table.data) == 0 and not problems
    # Dropdowns for every yes/no, rating and category field of the source.
    val = validations(path)
    letters = {h: chr(ord("A") + j) for j, h in enumerate(headers)}
    for h in headers:
        key = index[normalize_header(h)]
        typ = model.fields[key].type
        if typ == "yesno":
            assert val[letters[h]] == ("list", '"是,否"'), h
        elif typ == "rating":
            assert val[letters[h]] == ("list", RATING_LIST), h
        elif typ == "date":
            assert val[letters[h]][0] == "date", h


def test_applicants_template(tmp_path):
    headers, hints, _ = header_and_hints(make(tmp_path, "applicants"))
    assert headers == ["统一社会信用代码", "企业名称", "法定代表人", "成立日期", "注册地址", "所在镇街", "从业人数（人）",
                       "申请贷款金额（万元）", "贷款用途", "结算账户", "战略定位", "企业使命", "领导力水平",
                       "财务管理水平", "设备设施管理", "人力资源管理水平", "质量管理水平", "技术水平", "销售水平",
                       "应付货款按期支付率", "应收账款按期回收率", "设备租金按期支付率", "联系人", "联系电话", "细分行业"]
    assert hints[3] == "日期，如 2023-05-06"
    assert hints[10] == "1–5 或 优/良/中/差/劣"
    assert hints[21] == "百分数 0–100；无设备租赁填“无”"


def test_bank_and_credit_system_dropdowns(tmp_path):
    bank = make(tmp_path, "bank")
    headers, _, _ = header_and_hints(bank)
    assert headers == ["统一社会信用代码", "企业名称", "结算账户", "近24个月最长逾期天数（天）", "企业家个人信用",
                       "银行否决", "否决理由"]
    assert validations(bank) == {"C": ("list", '"是,否"'), "D": ("decimal", "-1000000000000.0"),
                                 "E": ("list", '"良好,一般,不良"'), "F": ("list", '"是,否"')}
    cs = make(tmp_path, "credit_system")
    val = validations(cs)
    assert val["C"] == ("list", '"行政处罚,司法诉讼,劳资纠纷,严重失信,失信被执行人"')
    assert val["D"][0] == "date"
    assert val["G"] == ("list", '"原告,被告"')


def test_association_dropdowns_come_from_the_rules(tmp_path):
    path = make(tmp_path, "association")
    headers, _, _ = header_and_hints(path)
    val = validations(path)
    col = {h: chr(ord("A") + j) for j, h in enumerate(headers)}
    assert val[col["集群孵化"]] == ("list", '"集群内孵化,本地创业,外部迁入"')
    assert val[col["会员级别"]] == ("list", '"会长单位,副会长单位,理事单位,会员单位,非会员"')
    assert val[col["企业文化建设"]] == ("list", RATING_LIST)


def test_code_column_is_text_formatted(tmp_path):
    _, _, ws = header_and_hints(make(tmp_path, "applicants"))
    assert ws.column_dimensions["A"].number_format == "@"


def test_english_template(tmp_path):
    headers, hints, _ = header_and_hints(make(tmp_path, "bank", "--lang", "en"))
    assert headers == ["Unified social credit code", "Enterprise name", "Settlement account at the partner bank",
                       "Longest overdue days (24 months)", "Entrepreneur's personal credit", "Bank veto", "Veto reason"]
    assert hints[0] == "18-character code, as text"


def test_default_output_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["template", "credit-system"])
    assert res.exit_code == 0
    assert (tmp_path / "社会信用系统模板.xlsx").is_file()


def test_unknown_kind_exits_2():
    res = runner.invoke(app, ["template", "bogus"])
    assert res.exit_code == 2
    assert "bogus" in res.output and "applicants" in res.output and "bank" in res.output
