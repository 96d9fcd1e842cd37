"""Eligibility (入池条件) and vetoes (一票否决), on the as-of date (default here: 2026-06-30)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from conftest import ABSENT, AS_OF, code, ent, record, row_of, run_round


def statuses(result, n_max):
    return {n: row_of(result, n)["status"] for n in range(1, n_max + 1)}


def assert_scored_not_graded(row):
    """A vetoed or ineligible enterprise is still scored but gets no grade, rank or quota."""
    assert row["total"] == pytest.approx(110)
    assert not isinstance(row["grade"], str) and pd.isna(row["rank"]) and pd.isna(row["quota"])


# -- age ---------------------------------------------------------------------------------------

def test_age_exactly_one_year_vs_a_day_short(tmp_path):
    result = run_round(tmp_path, [ent(1, app={"成立日期": dt.date(2025, 6, 30)}),
                                  ent(2, app={"成立日期": dt.date(2025, 7, 1)}),
                                  ent(3, app={"成立日期": "2025年6月30日"}),
                                  ent(4, app={"成立日期": AS_OF + dt.timedelta(days=30)})])
    assert statuses(result, 4) == {1: [], 2: ["ineligible:age"], 3: [], 4: ["ineligible:age"]}
    row = row_of(result, 2)
    assert_scored_not_graded(row)
    assert row["reasons"] == ["成立于 2025-07-01，经营不足 1 年"]


def test_age_on_feb_29(tmp_path):
    # One year before 2024-02-29 is 2023-02-28 (there is no 2023-02-29).
    result = run_round(tmp_path, [ent(1, app={"成立日期": dt.date(2023, 2, 28)}),
                                  ent(2, app={"成立日期": dt.date(2023, 3, 1)})], as_of=dt.date(2024, 2, 29))
    assert statuses(result, 2) == {1: [], 2: ["ineligible:age"]}


def test_age_unknown_founding_date_is_incomplete_not_ineligible(tmp_path):
    result = run_round(tmp_path, [ent(1, app={"成立日期": None})])
    row = row_of(result, 1)
    assert row["status"] == ["incomplete"]
    assert row["missing"] == ["申报材料未填：成立日期"]


# -- town ----------------------------------------------------------------------------------------

def test_town_by_column_or_address(tmp_path):
    result = run_round(tmp_path, [
        ent(1, app={"所在镇街": "横沥镇"}),
        ent(2, app={"所在镇街": None, "注册地址": "广东省东莞市横沥镇村头社区工业路8号"}),
        ent(3, app={"所在镇街": "常平镇", "注册地址": "广东省东莞市常平镇还珠沥路1号"}),
        ent(4, app={"所在镇街": "横沥", "注册地址": None}),
        ent(5, app={"所在镇街": " 横沥镇 "}),
        ent(6, app={"所在镇街": None, "注册地址": "广东省东莞市常平镇"}),
        ent(7, app={"所在镇街": None, "注册地址": None}),
    ])
    assert statuses(result, 7) == {1: [], 2: [], 3: ["ineligible:town"], 4: [], 5: [],
                                   6: ["ineligible:town"], 7: ["incomplete"]}
    assert row_of(result, 3)["reasons"] == ["注册地不在横沥镇"]
    assert row_of(result, 7)["missing"] == ["申报材料未填：所在镇街"]


# -- settlement account --------------------------------------------------------------------------

def test_account_gate(tmp_path):
    acc = "合作银行结算账户(是/否)"
    result = run_round(tmp_path, [
        ent(1),                                                         # bank 是
        ent(2, bnk={"结算账户(是/否)": "否"}),                          # bank says no
        ent(3, app={acc: "否"}, bnk=ABSENT),                            # applicant says no, bank silent
        ent(4, app={acc: "是"}, bnk=ABSENT),                            # stated by the applicant
        ent(5, app={acc: None}, bnk=ABSENT),                            # nobody knows
        ent(6, app={acc: "否"}),                                        # bank 是 wins over applicant 否
        ent(7, app={acc: "是"}, bnk={"结算账户(是/否)": None}),        # bank row without the answer
    ])
    # Absent from the bank: S4 is missing too, hence incomplete.
    assert statuses(result, 7) == {
        1: [], 2: ["ineligible:account"], 3: ["ineligible:account", "incomplete"], 4: ["incomplete"],
        5: ["ineligible:account", "incomplete"], 6: [], 7: []}
    assert row_of(result, 2)["reasons"] == ["结算账户：否"]
    assert row_of(result, 5)["reasons"] == ["结算账户：未知（无记录）"]
    # Bank and applicant disagreed for 6: listed, bank used.
    conf = result.merged.conflicts
    c6 = conf[(conf["code"] == code(6)) & (conf["field"] == "settlement_account")]
    assert sorted(zip(c6["source"], c6["used"])) == [("applicants", False), ("bank", True)]


# -- vetoes --------------------------------------------------------------------------------------

def test_association_veto_with_reason(tmp_path):
    result = run_round(tmp_path, [ent(1, assoc={"协会否决(是/否)": "是", "否决理由": "拖欠会员企业货款"}),
                                  ent(2, assoc={"协会否决(是/否)": "否"})])
    row = row_of(result, 1)
    assert row["status"] == ["veto:association"]
    assert row["reasons"] == ["行业协会评价否决：拖欠会员企业货款"]
    assert_scored_not_graded(row)
    assert row_of(result, 2)["status"] == []


def test_bank_veto_explicit_overdue_and_personal_credit(tmp_path):
    result = run_round(tmp_path, [
        ent(1, bnk={"银行否决(是/否)": "是", "否决理由": "涉嫌骗贷"}),
        ent(2, bnk={"近24个月最长逾期天数": 91}),
        ent(3, bnk={"近24个月最长逾期天数": 90}),
        ent(4, bnk={"企业家个人信用": "不良"}),
        ent(5, bnk={"企业家个人信用": "一般"}),
        ent(6, bnk={"银行否决(是/否)": "否", "近24个月最长逾期天数": 120, "企业家个人信用": "不良"}),
    ])
    assert statuses(result, 6) == {1: ["veto:bank"], 2: ["veto:bank"], 3: [], 4: ["veto:bank"], 5: [],
                                   6: ["veto:bank"]}
    assert row_of(result, 1)["reasons"] == ["合作银行征信否决：涉嫌骗贷"]
    assert row_of(result, 2)["reasons"] == ["近24个月最长逾期超过90天"]
    assert row_of(result, 4)["reasons"] == ["企业家个人信用不良"]
    assert row_of(result, 6)["reasons"] == ["近24个月最长逾期超过90天", "企业家个人信用不良"]
    assert row_of(result, 3)["score:S4"] == 20 and row_of(result, 2)["score:S4"] == 0


def test_bank_veto_overdue_from_extra_rows_takes_the_maximum(tmp_path):
    from conftest import BANK_HEADER, bank, build_round, write_xlsx

    from cluster_credit_cli.rating.pipeline import score_round

    paths = build_round(tmp_path, [ent(1)])
    write_xlsx(paths["bank"], [bank(1, 近24个月最长逾期天数=10), bank(1, 近24个月最长逾期天数=95)], BANK_HEADER)
    from conftest import default_model

    result = score_round(paths["applicants"], {k: v for k, v in paths.items() if k != "applicants"},
                         model=default_model(), as_of=AS_OF)
    row = row_of(result, 1)
    assert row["status"] == ["veto:bank"] and row["score:S4"] == 0


def test_government_veto_from_records(tmp_path):
    recs = [
        record(1, "严重失信", dt.date(2025, 6, 18), 文书编号="东信（2025）12号", 状态="未移出"),
        record(2, "失信被执行人", dt.date(2020, 1, 5), 状态=None),  # old, still on the list
        record(3, "严重失信", dt.date(2025, 6, 18), 状态="已移出"),  # removed: no veto
        record(4, "失信被执行人", AS_OF + dt.timedelta(days=1)),   # after the as-of date
        record(5, "行政处罚", dt.date(2025, 6, 18)),                 # not a blacklist record
        record(6, " 严重失信 ", "2025/6/18", 状态=" 已移出 "),
    ]
    result = run_round(tmp_path, [ent(n) for n in range(1, 7)], records=recs)
    assert statuses(result, 6) == {1: ["veto:government"], 2: ["veto:government"], 3: [], 4: [], 5: [], 6: []}
    assert row_of(result, 1)["reasons"] == ["社会信用系统：严重失信（东信(2025)12号）"]  # text is NFKC-normalised
    assert_scored_not_graded(row_of(result, 1))
    # Blacklist records are not penalties: S1–S3 stay at 100 for 1.
    assert row_of(result, 1)["score:S1"] == 100


def test_government_veto_by_explicit_column(tmp_path):
    recs = [record(1, "行政处罚", dt.date(2025, 1, 1), 政府否决="是"),
            record(2, "行政处罚", dt.date(2025, 1, 1), 政府否决="否")]
    result = run_round(tmp_path, [ent(1), ent(2)], records=recs)
    assert statuses(result, 2) == {1: ["veto:government"], 2: []}


def test_several_statuses_in_a_fixed_order(tmp_path):
    result = run_round(tmp_path, [ent(1, app={"成立日期": dt.date(2026, 1, 1), "技术水平": None},
                                      assoc={"协会否决(是/否)": "是"}, bnk={"企业家个人信用": "不良"})])
    assert row_of(result, 1)["status"] == ["ineligible:age", "veto:association", "veto:bank", "incomplete"]


def test_vetoed_enterprises_take_no_quota_and_no_rank(tmp_path):
    result = run_round(tmp_path, [ent(1, bnk={"银行否决(是/否)": "是"}), ent(2), ent(3)])
    assert pd.isna(row_of(result, 1)["rank"])
    assert [row_of(result, n)["rank"] for n in (2, 3)] == [1, 1]  # equal totals share rank 1
    assert result.pool()["allocated"] == 600


def test_missing_gate_inputs_are_listed_in_the_run_language(tmp_path):
    result = run_round(tmp_path, [ent(1, app={"成立日期": None, "所在镇街": None, "注册地址": None})], lang="en")
    row = row_of(result, 1)
    assert row["status"] == ["incomplete"]
    assert row["missing"] == ["Applicant forms: not filled in: Founding date, Town"]
