"""One record per enterprise from all sources: codes, precedence, provenance, conflicts."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from conftest import (ABSENT, AS_OF, AUDITOR_HEADER, BANK_HEADER, applicant, auditor, bank, build_round, code,
                      default_model, ent, name, problem_codes, record, row_of, run_round, write_xlsx)

from cluster_credit_cli.rating.pipeline import score_round


def rescore(paths, **kw):
    return score_round(paths["applicants"], {k: v for k, v in paths.items() if k != "applicants"},
                       model=default_model(), as_of=kw.pop("as_of", AS_OF), **kw)


def test_messy_codes_merge_across_sources(tmp_path):
    messy = {1: code(1).lower(), 2: " ".join([code(2)[:6], code(2)[6:12], code(2)[12:]]),
             3: code(3).translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789ABCDEFGHJKLMNPQRTUWXY"})}
    result = run_round(tmp_path, [ent(1, app={"统一社会信用代码": messy[1]}),
                                  ent(2, aud={"统一社会信用代码": messy[2]}),
                                  ent(3, bnk={"统一社会信用代码": messy[3]})],
                       records=[record(3, "行政处罚", dt.date(2025, 1, 1), 统一社会信用代码=messy[3].lower())])
    assert not result.problems
    assert sorted(result.table["code"]) == [code(1), code(2), code(3)]
    for n in (1, 2, 3):
        assert row_of(result, n)["status"] == []
    assert row_of(result, 3)["score:S1"] == 60


def test_broken_code_in_applicants_is_reported_with_its_row_and_not_merged(tmp_path):
    bad = code(2)[:17] + ("0" if code(2)[17] != "0" else "1")
    result = run_round(tmp_path, [ent(1), ent(2, app={"统一社会信用代码": bad})])
    assert list(result.table["code"]) == [code(1)]
    [p] = [p for p in result.problems if p.code == "bad_code"]
    assert (p.file, p.sheet, p.row, p.column) == ("申报材料汇总.xlsx", "Sheet1", 3, "统一社会信用代码")
    assert bad in p.message and f"最后一位应为 {code(2)[17]}" in p.message
    # The exports' rows for the real code(2) now belong to no applicant: counted, not errors.
    assert result.stats["auditor"]["other_enterprises"] == 1
    assert problem_codes(result) == ["bad_code"]


def test_broken_code_in_an_export_is_reported_and_that_row_not_merged(tmp_path):
    bad = code(1)[:17] + ("0" if code(1)[17] != "0" else "1")
    result = run_round(tmp_path, [ent(1, aud={"统一社会信用代码": bad})])
    [p] = list(result.problems)
    assert (p.file, p.row, p.code) == ("会计师事务所审计数据.xlsx", 2, "bad_code")
    row = row_of(result, 1)
    assert row["status"] == ["incomplete"]
    assert row["missing"] == ["会计师事务所审计数据中没有该企业（影响：偿债能力、营运能力、盈利能力、发展能力）"]
    assert result.stats["auditor"]["invalid_code"] == 1


def test_duplicate_applicant_rows_are_a_conflict(tmp_path):
    paths = build_round(tmp_path, [ent(1), ent(2)])
    write_xlsx(paths["applicants"], [applicant(1), applicant(2), applicant(1, **{"申请贷款金额（万元）": 999})])
    result = rescore(paths)
    row = row_of(result, 1)
    assert row["status"] == ["conflict"]
    assert not isinstance(row["grade"], str) and pd.isna(row["rank"]) and pd.isna(row["quota"])
    assert pd.isna(row["total"]) and pd.isna(row["score:V1"])
    assert row["missing"] == []
    [p] = [p for p in result.problems if p.code == "duplicate_applicant"]
    assert p.row == 2 and "第 2、4 行" in p.message
    # The other enterprise is graded normally and alone in the pool.
    assert row_of(result, 2)["rank"] == 1
    assert result.pool()["allocated"] == 300


def test_export_rows_for_non_applicants_are_counted_not_errors(tmp_path):
    paths = build_round(tmp_path, [ent(1)], records=[record(1), record(7), record(8), record(9)])
    write_xlsx(paths["auditor"], [auditor(1), auditor(5), auditor(6)], AUDITOR_HEADER)
    result = rescore(paths)
    assert not result.problems
    assert result.stats["auditor"] == {"rows": 3, "merged": 1, "other_enterprises": 2, "invalid_code": 0,
                                       "by_name": 0, "unmatched": 0}
    assert result.stats["credit_system"]["other_enterprises"] == 3
    assert len(result.merged.records) == 1


def test_name_mismatch_is_listed(tmp_path):
    result = run_round(tmp_path, [ent(1, aud={"企业名称": "东莞市测试壹号模具公司"}),
                                  ent(2, bnk={"企业名称": f" {name(2)} "})])  # spaces only: same name
    [p] = list(result.problems)
    assert (p.file, p.row, p.column, p.code, p.severity) == ("会计师事务所审计数据.xlsx", 2, "企业名称",
                                                            "name_mismatch", "warning")
    assert "东莞市测试壹号模具公司" in p.message and name(1) in p.message
    assert row_of(result, 1)["status"] == []  # a warning, the values are still used


def test_name_fallback_when_the_export_has_no_code_column(tmp_path):
    paths = build_round(tmp_path, [ent(1), ent(2)])
    write_xlsx(paths["auditor"], [auditor(1, 负债总额=600), auditor(2), auditor(3, 企业名称="别家公司")],
               AUDITOR_HEADER, drop=("统一社会信用代码",))
    result = rescore(paths)
    codes = problem_codes(result)
    assert codes.count("no_code_column") == 1
    assert codes.count("matched_by_name") == 2
    assert "missing_code" not in codes  # 别家公司 did not apply: counted, not an error
    assert result.stats["auditor"]["unmatched"] == 1
    assert row_of(result, 1)["score:F1"] == (60 + 100) / 2  # 60 % debt ratio from the name-matched row
    assert result.stats["auditor"]["by_name"] == 2


def test_name_fallback_for_a_row_with_a_blank_code(tmp_path):
    paths = build_round(tmp_path, [ent(1)])
    write_xlsx(paths["bank"], [bank(1, 统一社会信用代码=None, 近24个月最长逾期天数=31)], BANK_HEADER)
    result = rescore(paths)
    [p] = list(result.problems)
    assert (p.code, p.row, p.severity) == ("matched_by_name", 2, "warning")
    assert row_of(result, 1)["score:S4"] == 20


def test_no_name_fallback_when_the_name_is_ambiguous(tmp_path):
    paths = build_round(tmp_path, [ent(1, app={"企业名称": "同名公司"}), ent(2, app={"企业名称": "同名公司"})])
    write_xlsx(paths["bank"], [bank(1, 统一社会信用代码=None, 企业名称="同名公司")], BANK_HEADER)
    result = rescore(paths)
    assert "matched_by_name" not in problem_codes(result)
    # The code column exists but this row's cell is blank and its name is ambiguous: reported.
    [p] = [p for p in result.problems if p.code == "missing_code"]
    assert p.row == 2 and "同名公司" in p.message


# -- precedence and provenance -------------------------------------------------------------------

def test_panel_wins_over_applicant_and_both_are_listed(tmp_path):
    result = run_round(tmp_path, [ent(1, app={"战略定位": 3, "技术水平": 2}, pnl={"战略定位": 5, "技术水平": None})])
    row = row_of(result, 1)
    assert row["score:V1"] == 100  # panel's 5, not the applicant's 3
    assert row["score:K1"] == 40   # panel left it blank: the applicant's 2 is used
    conf = result.merged.conflicts
    mine = conf[conf["code"] == code(1)]
    assert set(mine["field"]) == {"strategy"}
    got = sorted(mine[["source", "file", "sheet", "row", "column", "value", "used"]].itertuples(index=False, name=None))
    assert got == [("applicants", "申报材料汇总.xlsx", "Sheet1", 2, "战略定位", 3.0, False),
                   ("panel", "评审小组核定.xlsx", "Sheet1", 2, "战略定位", 5.0, True)]
    prov = result.merged.provenance(default_model())
    p = prov[(prov["code"] == code(1)) & (prov["field"] == "strategy")].iloc[0]
    assert (p["source"], p["file"], p["row"], p["column"], p["value"]) == ("panel", "评审小组核定.xlsx", 2, "战略定位", 5.0)
    p = prov[(prov["code"] == code(1)) & (prov["field"] == "technology")].iloc[0]
    assert (p["source"], p["file"]) == ("applicants", "申报材料汇总.xlsx")


def test_auditor_wins_over_applicant_financials(tmp_path):
    result = run_round(tmp_path, [ent(1, app={"资产总额": 800, "负债总额": 700, "营业收入": 2000})])
    row = row_of(result, 1)
    assert row["score:F1"] == 100  # the auditor's 30 %, not the applicant's 87.5 %
    conf = result.merged.conflicts
    fields = sorted(set(conf["field"]))
    assert fields == ["total_assets", "total_liabilities"]  # revenue agrees: not a conflict
    la = conf[conf["field"] == "total_liabilities"].set_index("source")
    assert la.at["auditor", "used"] and not la.at["applicants", "used"]
    assert (la.at["auditor", "file"], la.at["auditor", "column"], la.at["auditor", "value"]) == (
        "会计师事务所审计数据.xlsx", "负债总额", 300.0)
    assert (la.at["applicants", "file"], la.at["applicants", "column"], la.at["applicants", "value"]) == (
        "申报材料汇总.xlsx", "负债总额", 700.0)


def test_conflicting_extra_rows_in_an_entity_export_warn(tmp_path):
    paths = build_round(tmp_path, [ent(1)])
    write_xlsx(paths["bank"], [bank(1), bank(1, 企业家个人信用="一般")], BANK_HEADER)
    result = rescore(paths)
    [p] = list(result.problems)
    assert (p.code, p.row, p.column, p.severity) == ("conflicting_rows", 2, "企业家个人信用", "warning")
    assert "第 2, 3 行" in p.message


def test_records_of_an_enterprise_absent_from_other_exports(tmp_path):
    result = run_round(tmp_path, [ent(1, aud=ABSENT, assoc=ABSENT, bnk=ABSENT)])
    row = row_of(result, 1)
    assert row["status"] == ["incomplete"]  # the applicant states the account (是)
    # V3 V4 C4 (association), F1–F4 (auditor), S4 (bank) missing; B1 B2 are bonus: just 0.
    # Grouped by the document that lacks the firm (issue 12), affected indicators named in words.
    assert row["missing"] == ["行业协会评价中没有该企业（影响：企业文化建设、品牌美誉度、集群孵化）",
                              "会计师事务所审计数据中没有该企业（影响：偿债能力、营运能力、盈利能力、发展能力）",
                              "合作银行征信中没有该企业（影响：银行贷款拖欠）"]
    assert row["score:B1"] == 0 and row["score:B2"] == 0


def test_innovation_centre_wins_over_the_association_for_b1(tmp_path):
    paths = build_round(tmp_path, [ent(1), ent(2)])  # the association says 3 projects for both
    paths["innovation"] = write_xlsx(tmp_path / "协同创新中心.xlsx",
                                     [{"统一社会信用代码": code(1), "企业名称": name(1), "协同创新项目数": 1}])
    result = rescore(paths)
    assert row_of(result, 1)["score:B1"] == 40   # the centre's 1 project
    assert row_of(result, 2)["score:B1"] == 100  # not in the centre's file: the association's 3
    conf = result.merged.conflicts
    assert sorted(zip(conf["source"], conf["used"])) == [("association", False), ("innovation", True)]


def test_credit_records_matched_by_name_when_the_export_has_no_code_column(tmp_path):
    paths = build_round(tmp_path, [ent(1), ent(2)])
    from conftest import CREDIT_HEADER

    write_xlsx(paths["credit_system"], [record(1, "行政处罚"), record(2, "劳资纠纷"), record(9, "行政处罚")],
               CREDIT_HEADER, drop=("统一社会信用代码",))
    result = rescore(paths)
    assert (row_of(result, 1)["score:S1"], row_of(result, 2)["score:S3"]) == (60, 60)
    codes = problem_codes(result)
    assert codes.count("matched_by_name") == 2 and codes.count("no_code_column") == 1
    # Enterprise 9 did not apply: without a code column its row is counted, not an error.
    assert "missing_code" not in codes
    assert result.stats["credit_system"]["unmatched"] == 1


def test_sources_agree_within_a_billionth_and_disagree_beyond_it(tmp_path):
    """Numbers are compared with a relative and absolute tolerance of 1e-9 (float noise from Excel is
    no conflict); dates only when equal; infinities never come from a cell, but equal ones agree."""
    result = run_round(tmp_path, [
        ent(1, app={"资产总额": 1000 + 2e-6}),  # 2e-6 > 1e-9 + 1e-9·1000: a conflict
        ent(2, app={"资产总额": 1000 + 5e-7}),  # within the tolerance: the same value
        ent(3, app={"资产总额": 1000, "成立日期": dt.date(2015, 3, 2)}, aud={"成立日期": dt.date(2015, 3, 1)}),
        ent(4, app={"资产总额": 1e-10}, aud={"资产总额": 2e-10}),   # |a-b| <= 1e-9 absolute
        ent(5, app={"资产总额": 1e-10}, aud={"资产总额": 2e-8}),
    ])
    conf = result.merged.conflicts
    assets = conf[conf["field"] == "total_assets"]
    assert sorted(set(assets["code"])) == sorted([code(1), code(5)])
    assert assets[assets["code"] == code(1)]["value"].tolist() == [1000.0, 1000 + 2e-6]  # the auditor first, as the field lists its sources
    founded = conf[conf["field"] == "founded"]
    assert founded["code"].tolist() == [code(3), code(3)] and founded["value"].tolist() == ["2015-03-02", "2015-03-01"]
