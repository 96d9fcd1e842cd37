"""Reading files as they really arrive (input-files.md): every mess listed there."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from conftest import (AUDITOR_HEADER, CREDIT_HEADER, applicant, auditor, code, ent, name, record, row_of, run_round,
                      write_csv, write_xlsx)

from cluster_credit_cli.problems import Problems
from cluster_credit_cli.inputs.reading import detect_encoding, parse_date_value, parse_number_text, read_source

D = dt.date(2023, 5, 6)


def read(path, kind, model, **kw):
    problems = Problems()
    table = read_source(path, kind, model, problems, **kw)
    return table, problems


# -- header ------------------------------------------------------------------------------------

@pytest.mark.parametrize("title", [None, ["2026年第二季度资金池贷款申报汇总表"],
                                   ["东莞市横沥镇", "申报汇总表（单位：万元）", ""]])
def test_header_found_below_title_rows(tmp_path, model, title):
    path = write_xlsx(tmp_path / "a.xlsx", [applicant(1), applicant(2)], title=title)
    table, problems = read(path, "applicants", model)
    offset = len(title or [])
    assert table.header_row == offset + 1
    assert list(table.data["_row"]) == [offset + 2, offset + 3]
    assert list(table.data["code"]) == [code(1), code(2)]
    assert not problems


def test_header_variants_spaces_brackets_units_english_and_order(tmp_path, model):
    rows = [auditor(1, 资产总额=1234.5)]
    rename = {"统一社会信用代码": " 统一社会信用代码 ", "企业名称": "Company Name", "资产总额": "Total assets",
              "负债总额": "负债总额（万元）", "流动资产": "流动资产(万元)", "流动负债": "流动负债　/万元",
              "营业收入": "营业收入【万元】", "净利润": "net profit", "上年营业收入": "上年营业收入 (万元)"}
    header = list(reversed(AUDITOR_HEADER))  # columns in another order
    path = write_xlsx(tmp_path / "audit.xlsx", rows, header, rename=rename)
    table, problems = read(path, "auditor", model)
    assert not problems
    for key in ("code", "name", "total_assets", "total_liabilities", "current_assets", "current_liabilities",
                "revenue", "net_profit", "revenue_last_year"):
        assert key in table.data, key
    assert table.columns["total_assets"] == "Total assets"
    assert table.columns["total_liabilities"] == "负债总额(万元)"  # header text as found, NFKC-normalised
    r = table.data.iloc[0]
    assert (r["code"], r["total_assets"], r["total_liabilities"], r["revenue"]) == (code(1), 1234.5, 300, 2000)


def test_full_width_and_english_in_applicants(tmp_path, model):
    rename = {"申请贷款金额（万元）": "申请贷款金额(万元)", "合作银行结算账户(是/否)": "合作银行结算账户（是／否）",
              "应付货款按期支付率(%)": "应付货款按期支付率（％）", "成立日期": "Founding date", "企业名称": "企业名称 "}
    path = write_xlsx(tmp_path / "a.xlsx", [applicant(1)], rename=rename)
    table, problems = read(path, "applicants", model)
    assert not problems
    r = table.data.iloc[0]
    assert r["requested"] == 300 and r["settlement_account"] is True and r["payables_on_time"] == 98
    assert r["founded"] == pd.Timestamp(2015, 3, 1)


def test_unknown_columns_are_kept(tmp_path, model):
    rows = [applicant(1, 序号=1, 备注说明="老客户", 审核人="王")]
    path = write_xlsx(tmp_path / "a.xlsx", rows, ["序号", *applicant(1)])
    table, problems = read(path, "applicants", model)
    assert table.unknown == ["序号", "备注说明", "审核人"]
    assert table.extra.iloc[0].to_dict() == {"序号": "1", "备注说明": "老客户", "审核人": "王"}
    assert not problems


def test_ignored_columns_reach_the_run_inputs(tmp_path):
    from conftest import build_round, default_model

    from cluster_credit_cli.rating.pipeline import score_round

    paths = build_round(tmp_path, [ent(1)])
    write_xlsx(paths["applicants"], [applicant(1, 审核人="王")])
    result = score_round(paths["applicants"], {k: v for k, v in paths.items() if k != "applicants"},
                         model=default_model(), as_of=dt.date(2026, 6, 30))
    info = {i["kind"]: i for i in result.inputs}
    assert info["applicants"]["ignored_columns"] == ["审核人"]
    assert info["bank"]["ignored_columns"] == []
    assert len(info["applicants"]["sha256"]) == 64


def test_missing_required_column_is_one_clear_problem(tmp_path, model):
    path = write_xlsx(tmp_path / "审计.xlsx", [auditor(1)], drop=("资产总额",))
    table, problems = read(path, "auditor", model, lang="en")
    assert table is None
    [p] = list(problems)
    assert (p.file, p.sheet, p.row, p.column, p.code) == ("审计.xlsx", "Sheet1", 1, "资产总额", "missing_column")
    assert "资产总额" in p.message
    for found in ("统一社会信用代码", "企业名称", "负债总额", "审计意见"):
        assert found in p.message  # the columns it did find


def test_missing_required_column_in_a_round_skips_that_file(tmp_path):
    from conftest import build_round, default_model

    from cluster_credit_cli.rating.pipeline import score_round

    paths = build_round(tmp_path, [ent(1)])
    write_xlsx(paths["auditor"], [auditor(1)], drop=("负债总额",))
    result = score_round(paths["applicants"], {k: v for k, v in paths.items() if k != "applicants"},
                         model=default_model(), as_of=dt.date(2026, 6, 30))
    assert [p.code for p in result.problems] == ["missing_column"]
    assert {i["kind"]: i["used"] for i in result.inputs}["auditor"] is False
    row = row_of(result, 1)
    assert row["status"] == ["incomplete"]
    assert row["missing"] == ["会计师事务所审计数据文件无法使用，见问题清单（影响：偿债能力、营运能力、盈利能力、发展能力）"]


def test_applicants_without_code_column_is_a_usage_error(tmp_path, model):
    from conftest import build_round

    from cluster_credit_cli.rating.pipeline import score_round
    from cluster_credit_cli.problems import UsageError

    paths = build_round(tmp_path, [ent(1)])
    write_xlsx(paths["applicants"], [applicant(1)], drop=("统一社会信用代码",))
    with pytest.raises(UsageError, match="统一社会信用代码"):
        score_round(paths["applicants"], {}, model=model, as_of=dt.date(2026, 6, 30))


def test_no_header_at_all(tmp_path, model):
    path = write_xlsx(tmp_path / "x.xlsx", [{"a": 1, "b": 2}])
    table, problems = read(path, "bank", model)
    assert table is None and [p.code for p in problems] == ["no_header"]


def test_duplicate_column_warns_and_uses_the_first(tmp_path, model):
    path = write_xlsx(tmp_path / "b.xlsx", [{"统一社会信用代码": code(1), "逾期天数": 5, "最长逾期天数": 50}])
    table, problems = read(path, "bank", model)
    assert table.data.iloc[0]["overdue_days"] == 5
    assert [p.code for p in problems] == ["duplicate_column"]


# -- cells -------------------------------------------------------------------------------------

def test_codes_keep_text_and_leading_zeros(tmp_path, model):
    path = write_xlsx(tmp_path / "a.xlsx", [applicant(1, 联系电话="07698333000", 从业人数="050")])
    table, _ = read(path, "applicants", model)
    r = table.data.iloc[0]
    assert r["phone"] == "07698333000"
    assert r["employees"] == 50  # a number column parses the text


@pytest.mark.parametrize("cell", [D, dt.datetime(2023, 5, 6, 0, 0), "2023-05-06", "2023/5/6", "2023年5月6日",
                                  "2023.05.06", "20230506", 45052, 45052.0, "45052", " 2023-05-06 ", "２０２３-０５-０６"])
def test_dates_in_every_form(tmp_path, model, cell):
    path = write_xlsx(tmp_path / "a.xlsx", [applicant(1, 成立日期=cell)])
    table, problems = read(path, "applicants", model)
    assert table.data.iloc[0]["founded"] == pd.Timestamp(D), cell
    assert not problems


def test_bad_and_partial_dates_are_reported(tmp_path, model):
    path = write_xlsx(tmp_path / "a.xlsx", [applicant(1, 成立日期="去年"), applicant(2, 成立日期="2023年5月"),
                                            applicant(3, 成立日期="2023-02-30")])
    table, problems = read(path, "applicants", model)
    got = {(p.row, p.code, p.severity) for p in problems}
    assert got == {(2, "bad_date", "error"), (3, "partial_date", "warning"), (4, "bad_date", "error")}
    assert pd.isna(table.data.iloc[0]["founded"])
    assert table.data.iloc[1]["founded"] == pd.Timestamp(2023, 5, 1)


@pytest.mark.parametrize("text,value", [("1,234.5", 1234.5), ("12%", 0.12), ("３００万元", 300), ("(1,000)", -1000),
                                        (" 45 天", 45), ("abc", None), ("", None), ("nan", None), ("inf", None)])
def test_parse_number_text(text, value):
    assert parse_number_text(text) == value


def test_parse_date_value_serial_and_text():
    assert parse_date_value(45052) == (D, None)
    assert parse_date_value("2023年5月6号") == (D, None)
    assert parse_date_value("2023-05") == (dt.date(2023, 5, 1), "partial")
    assert parse_date_value(True) == (None, None)  # a boolean cell is not a date
    assert parse_date_value("n/a") == (None, None)


def test_numbers_with_units_and_bad_numbers(tmp_path, model):
    path = write_xlsx(tmp_path / "audit.xlsx", [auditor(1, 资产总额="1,000万元", 负债总额="三百")], AUDITOR_HEADER)
    table, problems = read(path, "auditor", model)
    assert table.data.iloc[0]["total_assets"] == 1000
    assert pd.isna(table.data.iloc[0]["total_liabilities"])
    [p] = list(problems)
    assert (p.row, p.column, p.code) == (2, "负债总额", "bad_number")


def test_percent_column_given_as_fractions(tmp_path, model):
    rows = [applicant(1, **{"应付货款按期支付率(%)": 0.95}), applicant(2, **{"应付货款按期支付率(%)": 0.8})]
    table, problems = read(write_xlsx(tmp_path / "a.xlsx", rows), "applicants", model)
    assert list(table.data["payables_on_time"]) == [95, 80]
    assert [p.code for p in problems] == ["percent_as_fraction"]


def test_percent_out_of_range(tmp_path, model):
    rows = [applicant(1, **{"应付货款按期支付率(%)": 120})]
    table, problems = read(write_xlsx(tmp_path / "a.xlsx", rows), "applicants", model)
    assert pd.isna(table.data.iloc[0]["payables_on_time"])
    assert [(p.row, p.code) for p in problems] == [(2, "bad_percent")]


def test_yes_no_variants(tmp_path, model):
    vals = ["是", "否", " 是 ", "Y", "no", "已开立", "也许"]
    rows = [applicant(i + 1, **{"合作银行结算账户(是/否)": v}) for i, v in enumerate(vals)]
    table, problems = read(write_xlsx(tmp_path / "a.xlsx", rows), "applicants", model)
    got = table.data["settlement_account"].tolist()
    assert got[:6] == [True, False, True, True, False, True]
    assert pd.isna(got[6])
    assert [(p.row, p.code) for p in problems] == [(8, "bad_yesno")]


def test_blank_rows_are_skipped_but_row_numbers_kept(tmp_path, model):
    path = write_xlsx(tmp_path / "a.xlsx", [applicant(1), {}, applicant(2)])
    table, _ = read(path, "applicants", model)
    assert list(table.data["_row"]) == [2, 4]


# -- CSV encodings -----------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_encodings(tmp_path, model, encoding):
    recs = [record(1, "行政处罚", "2023/5/6", 备注="罚款（环保）"), record(2, "司法诉讼", "2023年5月6日", 当事人角色="被告"),
            record(3, "劳资纠纷", "45052")]
    path = write_csv(tmp_path / "信用系统.csv", recs, CREDIT_HEADER, encoding=encoding)
    raw = path.read_bytes()
    assert detect_encoding(raw) == {"gb18030": "gb18030", "utf-8-sig": "utf-8-sig", "utf-8": "utf-8"}[encoding]
    table, problems = read(path, "credit_system", model)
    assert not problems
    assert table.sheet is None
    assert list(table.data["record_type"]) == ["行政处罚", "司法诉讼", "劳资纠纷"]
    assert list(table.data["decision_date"]) == [pd.Timestamp(D)] * 3
    assert table.data.iloc[1]["role"] == "被告"
    assert table.data.iloc[0]["name"] == name(1)


def test_csv_round_scores_like_xlsx(tmp_path):
    recs = [record(1, "行政处罚", dt.date(2025, 1, 1))]
    a = run_round(tmp_path / "xlsx", [ent(1)], records=recs)
    b = run_round(tmp_path / "csv", [ent(1)], records=recs, credit_csv="gb18030")
    assert row_of(a, 1)["score:S1"] == row_of(b, 1)["score:S1"] == 60
    assert {i["kind"]: i["file"] for i in b.inputs}["credit_system"] == "社会信用系统导出.csv"


def test_template_hint_row_is_skipped(tmp_path, model):
    from cluster_credit_cli.outputs.templates import write_template

    from openpyxl import load_workbook

    path = tmp_path / "t.xlsx"
    write_template(model, "bank", path)
    wb = load_workbook(path)
    ws = wb.active
    headers = [c.value for c in ws[1]]
    ws.cell(row=3, column=headers.index("统一社会信用代码") + 1, value=code(1))
    ws.cell(row=3, column=headers.index("近24个月最长逾期天数（天）") + 1, value=12)
    wb.save(path)
    table, problems = read(path, "bank", model)
    assert not problems
    assert list(table.data["_row"]) == [3]
    assert table.data.iloc[0]["overdue_days"] == 12


def test_first_visible_sheet_or_the_configured_one(tmp_path, model):
    from openpyxl import Workbook

    from cluster_credit_cli.model.config import build_model

    wb = Workbook()
    notes = wb.active
    notes.title = "填表说明"
    notes["A1"] = "请勿修改表头"
    notes.sheet_state = "hidden"
    data = wb.create_sheet("征信")
    data.append(["统一社会信用代码", "近24个月最长逾期天数"])
    data.append([code(1), 12])
    other = wb.create_sheet("汇总")
    other.append(["统一社会信用代码", "近24个月最长逾期天数"])
    other.append([code(1), 99])
    path = tmp_path / "bank.xlsx"
    wb.save(path)
    table, problems = read(path, "bank", model)
    assert (table.sheet, table.data.iloc[0]["overdue_days"]) == ("征信", 12)  # the hidden sheet is skipped
    assert [(p.code, p.severity) for p in problems] == [("hidden_sheets", "warning")]  # ... and said so
    import copy

    raw = copy.deepcopy(model.raw)
    raw["sources"]["bank"]["sheet"] = "汇总"
    configured = build_model(raw, model.path)
    table, problems = read(path, "bank", configured)
    assert (table.sheet, table.data.iloc[0]["overdue_days"]) == ("汇总", 99)
    raw["sources"]["bank"]["sheet"] = "没有"
    table, problems = read(path, "bank", build_model(raw, model.path))
    assert table is None and [p.code for p in problems] == ["hidden_sheets", "sheet_not_found"]
    assert "汇总" in problems.items[1].message  # names the sheets that exist
