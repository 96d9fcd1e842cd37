"""Every scoring rule at and around each band edge, with hand-computed points.

All cases live in one round (one enterprise per case, all others at their known-good defaults)
so the whole table is scored once, as the real tool does: vectorised over all enterprises.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import AS_OF, code, ent, record, row_of, run_round, score_one

C_W = 0.2 / 0.19  # D41's children are rescaled by this factor (printed 0.20, children 0.19)

# (id, overrides per source, leaf, expected leaf score)
CASES: list[tuple[str, dict, str, float]] = []


def case(cid, leaf, score, **over):
    CASES.append((cid, over, leaf, score))


# F1 solvency = mean(debt-to-asset band, current-ratio band); the other part stays at 100.
for liab, pts in [(400, 100), (400.1, 80), (550, 80), (550.1, 60), (700, 60), (700.1, 30), (850, 30),
                  (850.1, 0), (1000, 0), (1200, 0)]:
    case(f"F1 debt {liab / 10:g}%", "F1", (pts + 100) / 2, aud={"负债总额": liab})
# Binary noise at an edge: 2.1/3 = 0.7000000000000001 is 70 % (≤70 % → 60); 0.28/0.7 is 40 %.
case("F1 debt 2.1/3 noise", "F1", (60 + 100) / 2, aud={"资产总额": 3, "负债总额": 2.1})
case("F1 debt 0.28/0.7 noise", "F1", (100 + 100) / 2, aud={"资产总额": 0.7, "负债总额": 0.28})
for ca, pts in [(400, 100), (399.9, 80), (300, 80), (299.9, 60), (200, 60), (199.9, 30), (160, 30),
                (159.9, 0), (0, 0)]:
    case(f"F1 current ratio {ca / 200:g}", "F1", (100 + pts) / 2, aud={"流动资产": ca})
case("F1 current 1.65/1.1 noise", "F1", (100 + 80) / 2, aud={"流动资产": 1.65, "流动负债": 1.1})
case("F1 current 2.4/3 noise", "F1", (100 + 30) / 2, aud={"流动资产": 2.4, "流动负债": 3})
case("F1 both parts 55% and 1.5", "F1", 80, aud={"负债总额": 550, "流动资产": 300})
case("F1 both parts worst", "F1", 0, aud={"负债总额": 900, "流动资产": 100})

# F2 receivables turnover = revenue / mean(receivables start, end); receivables 200 and 200.
for rev, pts in [(1600, 100), (1599.9, 80), (1200, 80), (1199.9, 60), (800, 60), (799.9, 30), (400, 30),
                 (399.9, 0)]:
    case(f"F2 turnover {rev / 200:g}", "F2", pts, aud={"营业收入": rev})
case("F2 uneven start/end", "F2", 60, aud={"营业收入": 2000, "应收账款期初": 300, "应收账款期末": 500})

# F3 net margin = net profit / revenue (revenue 2000).
for profit, pts in [(200, 100), (199.9, 80), (120, 80), (119.9, 60), (60, 60), (59.9, 30), (0, 30),
                    (-0.1, 0), (-300, 0)]:
    case(f"F3 margin {profit / 20:g}%", "F3", pts, aud={"净利润": profit})
case("F3 0.3/3 noise", "F3", 100, aud={"净利润": 0.3, "营业收入": 3})

# F4 growth = revenue / last year − 1 (last year 1000). 1200/1000−1 is 0.19999999999999996 in floats.
for rev, pts in [(1200, 100), (1199.9, 80), (1100, 80), (1099.9, 60), (1000, 60), (999.9, 30), (900, 30),
                 (899.9, 0), (500, 0)]:
    case(f"F4 growth {rev / 10 - 100:g}%", "F4", pts, aud={"营业收入": rev, "上年营业收入": 1000})

# S4: longest overdue days in 24 months: none 100 · 1–30 60 · 31–90 20 · >90 0.
for days, pts in [(0, 100), (1, 60), (30, 60), (31, 20), (90, 20), (91, 0), (365, 0)]:
    case(f"S4 {days} days", "S4", pts, bnk={"近24个月最长逾期天数": days})

# C1–C3 on-time rates: ≥95 100 · ≥85 80 · ≥70 60 · ≥50 30 · else 0.
C_HEAD = {"C1": "应付货款按期支付率(%)", "C2": "应收账款按期回收率(%)", "C3": "设备租金按期支付率(%)"}
for leaf, head in C_HEAD.items():
    for rate, pts in [(100, 100), (95, 100), (94.99, 80), (85, 80), (84.99, 60), (70, 60), (69.99, 30),
                      (50, 30), (49.99, 0), (0, 0)]:
        case(f"{leaf} {rate}", leaf, pts, app={head: rate})
    case(f"{leaf} '95%' text", leaf, 100, app={head: "95%"})
    case(f"{leaf} '８５' full-width", leaf, 80, app={head: "８５"})
case("C3 无 (no lease)", "C3", 80, app={"设备租金按期支付率(%)": "无"})
case("C3 ' 无 ' with spaces", "C3", 80, app={"设备租金按期支付率(%)": " 无 "})

# C4 origin; B1 projects; B2 membership.
for origin, pts in [("集群内孵化", 100), ("本地创业", 60), ("外部迁入", 40)]:
    case(f"C4 {origin}", "C4", pts, assoc={"集群孵化": origin})
for projects, pts in [(0, 0), (1, 40), (2, 70), (3, 100), (10, 100)]:
    case(f"B1 {projects} projects", "B1", pts, assoc={"协同创新项目数": projects})
for level, pts in [("会长单位", 100), ("副会长单位", 100), ("理事单位", 80), ("会员单位", 50), ("非会员", 0)]:
    case(f"B2 {level}", "B2", pts, assoc={"会员级别": level})

# Ratings × 20, numbers or labels 优良中差劣.
for value, pts in [(1, 20), (2, 40), (3, 60), (4, 80), (5, 100), ("优", 100), ("良", 80), ("中", 60),
                   ("差", 40), ("劣", 20), (" 良 ", 80), ("５", 100), ("4", 80)]:
    case(f"M1 rating {value!r}", "M1", pts, app={"领导力水平": value})
case("V3 label from association", "V3", 80, assoc={"企业文化建设": "良"})
case("V4 rating 2 from association", "V4", 40, assoc={"品牌美誉度": 2})


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    ents = [ent(i + 1, **over) for i, (_, over, _, _) in enumerate(CASES)]
    return run_round(tmp_path_factory.mktemp("edges"), ents)


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c[0] for c in CASES])
def test_band_edge(edges, i):
    cid, _, leaf, expected = CASES[i]
    row = row_of(edges, i + 1)
    assert row[f"score:{leaf}"] == pytest.approx(expected), cid
    assert "incomplete" not in row["status"], (cid, row["missing"])


def test_edge_round_reads_without_problems(edges):
    # Only the automatic bank vetoes (overdue > 90 days) are expected; no input problems.
    assert [p.as_dict() for p in edges.problems] == []


# -- counts of records in the 36-month window ----------------------------------------------------

def _count_case(tmp_path, recs, leaf):
    return score_one(tmp_path, records=recs)[f"score:{leaf}"]


@pytest.mark.parametrize("kind,leaf,points", [
    ("行政处罚", "S1", [100, 60, 30, 0, 0]),
    ("劳资纠纷", "S3", [100, 60, 30, 0, 0]),
])
def test_s1_s3_counts(tmp_path, kind, leaf, points):
    recs = [record(1, kind, dt.date(2025, 1, 1) + dt.timedelta(days=k)) for k in range(4)]
    result = run_round(tmp_path, [ent(n) for n in range(1, 6)],
                       records=[r | {"统一社会信用代码": code(n)} for n in range(1, 6) for r in recs[:n - 1]])
    assert [row_of(result, n)[f"score:{leaf}"] for n in range(1, 6)] == points


def test_s2_counts_only_defendant(tmp_path):
    def suit(n, role, day=1):
        return record(n, "司法诉讼", dt.date(2025, 3, day), 当事人角色=role)

    recs = [suit(2, "被告"),
            suit(3, "被告"), suit(3, "被告", 2),
            suit(4, "被告"), suit(4, "被告", 2), suit(4, "被告", 3),
            suit(5, "原告"), suit(5, "原告", 2), suit(5, "原告", 3),
            suit(6, "原告"), suit(6, "被告", 2),
            suit(7, None)]
    result = run_round(tmp_path, [ent(n) for n in range(1, 8)], records=recs)
    assert [row_of(result, n)["score:S2"] for n in range(1, 8)] == [100, 70, 40, 0, 100, 70, 100]
    # Lawsuits never count as S1 or S3.
    assert all(row_of(result, n)["score:S1"] == 100 for n in range(1, 8))


def test_other_record_types_do_not_count_elsewhere(tmp_path):
    recs = [record(1, "行政处罚"), record(1, "劳资纠纷"), record(1, "劳资纠纷", dt.date(2025, 2, 1))]
    row = score_one(tmp_path, records=recs)
    assert (row["score:S1"], row["score:S2"], row["score:S3"]) == (60, 100, 30)


@pytest.mark.parametrize("as_of,inside,outside", [
    # exactly 36 months before counts, the day before does not
    (dt.date(2026, 6, 30), dt.date(2023, 6, 30), dt.date(2023, 6, 29)),
    # as-of on Feb 29: 36 months earlier there is no Feb 29, so the window starts on Feb 28
    (dt.date(2024, 2, 29), dt.date(2021, 2, 28), dt.date(2021, 2, 27)),
    # month ends: 31 May → 31 May; 30 April → 30 April; 28 Feb 2025 → 28 Feb 2022
    (dt.date(2026, 5, 31), dt.date(2023, 5, 31), dt.date(2023, 5, 30)),
    (dt.date(2026, 4, 30), dt.date(2023, 4, 30), dt.date(2023, 4, 29)),
    (dt.date(2025, 2, 28), dt.date(2022, 2, 28), dt.date(2022, 2, 27)),
])
def test_window_edges(tmp_path, as_of, inside, outside):
    recs = [record(1, "行政处罚", inside), record(2, "行政处罚", outside)]
    result = run_round(tmp_path, [ent(1, app={"成立日期": dt.date(2010, 1, 1)}),
                                  ent(2, app={"成立日期": dt.date(2010, 1, 1)})], records=recs, as_of=as_of)
    assert row_of(result, 1)["score:S1"] == 60
    assert row_of(result, 2)["score:S1"] == 100


def test_record_after_as_of_does_not_count_but_on_as_of_does(tmp_path):
    recs = [record(1, "劳资纠纷", AS_OF), record(2, "劳资纠纷", AS_OF + dt.timedelta(days=1))]
    result = run_round(tmp_path, [ent(1), ent(2)], records=recs)
    assert row_of(result, 1)["score:S3"] == 60
    assert row_of(result, 2)["score:S3"] == 100


def test_as_of_changes_the_window(tmp_path):
    recs = [record(1, "行政处罚", dt.date(2023, 7, 1))]
    folder = tmp_path / "a"
    assert score_one(folder, records=recs, as_of=dt.date(2026, 7, 1))["score:S1"] == 60
    assert score_one(tmp_path / "b", records=recs, as_of=dt.date(2026, 7, 2))["score:S1"] == 100


# -- totals by hand ------------------------------------------------------------------------------

def test_known_good_enterprise_totals_110(tmp_path):
    row = score_one(tmp_path)
    assert row["base"] == pytest.approx(100)
    assert row["bonus"] == pytest.approx(10)
    assert row["total"] == pytest.approx(110)
    assert (row["grade"], row["rank"], row["quota"], row["status"]) == ("AAA", 1, 300, [])


def test_one_band_down_costs_its_effective_weight(tmp_path):
    # C1 94.99 → 80: loses 20 points × 0.2×0.07/0.19.
    row = score_one(tmp_path, app={"应付货款按期支付率(%)": 94.99})
    assert row["total"] == pytest.approx(110 - 20 * 0.07 * C_W)
    assert row["dim:D41"] == pytest.approx(20 - 20 * 0.07 * C_W)
    assert row["dim:D4"] == pytest.approx(25 - 20 * 0.07 * C_W)


def test_mixed_enterprise_by_hand(tmp_path):
    app = {"战略定位": 4, "企业使命": 3, "领导力水平": 5, "财务管理水平": 4, "设备设施管理": 3,
           "人力资源管理水平": 2, "质量管理水平": 1, "技术水平": 4, "销售水平": 3,
           "应付货款按期支付率(%)": 90, "应收账款按期回收率(%)": 75, "设备租金按期支付率(%)": "无"}
    aud = {"资产总额": 1000, "负债总额": 600, "流动资产": 300, "流动负债": 200, "营业收入": 2000,
           "上年营业收入": 1900, "净利润": 100, "应收账款期初": 300, "应收账款期末": 500}
    assoc = {"企业文化建设": "良", "品牌美誉度": 5, "集群孵化": "本地创业", "会员级别": "理事单位", "协同创新项目数": 2}
    recs = [record(1, "行政处罚", dt.date(2024, 5, 1)),
            record(1, "司法诉讼", dt.date(2024, 6, 1), 当事人角色="被告")]
    result = run_round(tmp_path, [ent(1, app=app, aud=aud, assoc=assoc, bnk={"近24个月最长逾期天数": 10})],
                       records=recs)
    row = row_of(result, 1)
    # V1 80 V2 60 V3 80 V4 100 → 0.02×80 + 0.02×60 + 0.02×80 + 0.04×100
    d1 = 1.6 + 1.2 + 1.6 + 4.0
    d21 = 0.02 * (100 + 80 + 60 + 40 + 20)
    # F1 mean(60 % → 60, 1.5 → 80) = 70; F2 2000/400 = 5 → 60; F3 5 % → 60; F4 +5.3 % → 60
    d22 = 0.08 * 70 + 0.02 * 60 + 0.06 * 60 + 0.02 * 60
    d23 = 0.08 * 80 + 0.09 * 60
    # S1 one penalty → 60; S2 one suit as defendant → 70; S3 none → 100; S4 10 days → 60
    d31 = 0.05 * 60 + 0.04 * 70 + 0.04 * 100
    d32 = 0.07 * 60
    # C1 90 → 80, C2 75 → 60, C3 无 → 80, rescaled; C4 本地创业 → 60
    d41 = (0.07 * 80 + 0.06 * 60 + 0.06 * 80) * C_W
    d42 = 0.05 * 60
    base = d1 + d21 + d22 + d23 + d31 + d32 + d41 + d42
    bonus = 0.05 * 70 + 0.05 * 80  # B1 two projects, B2 理事单位
    assert base == pytest.approx(69.536842105, abs=1e-8)
    for key, expected in [("D1", d1), ("D21", d21), ("D22", d22), ("D23", d23), ("D31", d31), ("D32", d32),
                          ("D41", d41), ("D42", d42), ("D2", d21 + d22 + d23), ("D3", d31 + d32),
                          ("D4", d41 + d42), ("DB", bonus)]:
        assert row[f"dim:{key}"] == pytest.approx(expected), key
    assert row["base"] == pytest.approx(base)
    assert row["bonus"] == pytest.approx(7.5)
    assert row["total"] == pytest.approx(base + 7.5)
    assert row["total_display"] == 77.04
    assert (row["grade"], row["quota"]) == ("A", 200)  # requested 300, cap for A is 200
    assert result.scores.inputs.at[code(1), "C3"] == "无"
    assert result.scores.inputs.at[code(1), "F2"] == pytest.approx(5.0)
    assert result.scores.inputs.at[code(1), "S2"] == 1


# -- missing data --------------------------------------------------------------------------------

def test_missing_leaf_scores_zero_and_marks_incomplete(tmp_path):
    row = score_one(tmp_path, app={"技术水平": None, "应收账款按期回收率(%)": None})
    assert row["score:K1"] == 0 and row["score:C2"] == 0
    assert row["status"] == ["incomplete"]
    assert row["missing"] == ["申报材料未填：技术水平、应收账款按期回收率"]
    assert row["total"] == pytest.approx(110 - 0.08 * 100 - 0.06 * C_W * 100)
    assert not isinstance(row["grade"], str) and pd_isna(row["rank"]) and pd_isna(row["quota"])


def pd_isna(v):
    import pandas as pd

    return v is None or pd.isna(v)


def test_missing_bonus_is_zero_not_incomplete(tmp_path):
    row = score_one(tmp_path, assoc={"协同创新项目数": None, "会员级别": None})
    assert row["score:B1"] == 0 and row["score:B2"] == 0
    assert row["bonus"] == 0
    assert row["status"] == [] and row["missing"] == []
    assert row["total"] == pytest.approx(100)


def test_unknown_bonus_value_is_zero_and_reported(tmp_path):
    result = run_round(tmp_path, [ent(1, assoc={"会员级别": "荣誉会员"})])
    row = row_of(result, 1)
    assert row["score:B2"] == 0 and row["status"] == []
    [p] = [p for p in result.problems if p.code == "unknown_value"]
    assert p.file == "行业协会评价.xlsx" and p.row == 2 and p.column == "会员级别" and "荣誉会员" in p.message


def test_missing_financials_mark_f_leaves_incomplete(tmp_path):
    row = score_one(tmp_path, aud={"流动负债": None})
    assert row["score:F1"] == 0  # a part of the mean is missing: the leaf has no value
    assert row["missing"] == ["会计师事务所审计数据未填：流动负债"]  # by document and header (issue 12)


def test_division_by_zero_is_reported_not_a_crash(tmp_path):
    row = score_one(tmp_path, aud={"应收账款期初": 0, "应收账款期末": 0})
    assert row["score:F2"] == 0
    assert "incomplete" in row["status"]
    assert row["missing"] == ["应收账款期初、应收账款期末为 0，无法计算应收账款周转率"]


def test_no_auditor_file_financials_from_applicant(tmp_path):
    # Without the auditor, an applicant's own financial columns are used (lower precedence).
    app = {"资产总额": 1000, "负债总额": 500, "流动资产": 600, "流动负债": 200, "营业收入": 2000,
           "上年营业收入": 1500, "净利润": 300, "应收账款期初": 200, "应收账款期末": 200}
    row = score_one(tmp_path, app=app, skip=("auditor",))
    assert row["score:F1"] == (80 + 100) / 2 and row["status"] == []


def test_without_credit_system_file_s1_s3_missing_for_everyone(tmp_path):
    result = run_round(tmp_path, [ent(1), ent(2)], skip=("credit_system",))
    for n in (1, 2):
        row = row_of(result, n)
        assert (row["score:S1"], row["score:S2"], row["score:S3"]) == (0, 0, 0)
        assert row["missing"] == ["未提供社会信用系统文件（影响：行政处罚、司法诉讼、劳资纠纷）"]
        assert row["status"] == ["incomplete"]


def test_enterprise_absent_from_credit_file_scores_100(tmp_path):
    result = run_round(tmp_path, [ent(1), ent(2)], records=[record(2, "行政处罚")])
    row = row_of(result, 1)
    assert (row["score:S1"], row["score:S2"], row["score:S3"]) == (100, 100, 100)
    assert row["status"] == []


def test_absent_from_bank_s4_missing_and_no_account(tmp_path):
    row = score_one(tmp_path, bnk=__import__("conftest").ABSENT, app={"合作银行结算账户(是/否)": None})
    assert row["score:S4"] == 0
    assert "合作银行征信中没有该企业（影响：银行贷款拖欠）" in row["missing"]
    assert row["status"] == ["ineligible:account", "incomplete"]


def test_absent_from_bank_account_stated_by_applicant(tmp_path):
    from conftest import ABSENT

    row = score_one(tmp_path, bnk=ABSENT, app={"合作银行结算账户(是/否)": "是"})
    assert row["status"] == ["incomplete"]  # S4 still missing, but the account gate passes
    assert row["missing"] == ["合作银行征信中没有该企业（影响：银行贷款拖欠）"]


def test_bad_rating_is_a_problem_and_leaf_missing(tmp_path):
    result = run_round(tmp_path, [ent(1, app={"销售水平": 6, "技术水平": "很好"})])
    row = row_of(result, 1)
    assert row["score:K2"] == 0 and row["score:K1"] == 0
    assert row["missing"] == ["申报材料填写有误：技术水平、销售水平（见问题清单）"]
    probs = {(p.column, p.code, p.row) for p in result.problems}
    assert ("销售水平", "bad_rating", 2) in probs and ("技术水平", "bad_rating", 2) in probs


def test_requested_amount_missing_is_listed(tmp_path):
    row = score_one(tmp_path, app={"申请贷款金额（万元）": None})
    assert row["missing"] == ["申报材料未填：申请贷款金额"] and row["status"] == ["incomplete"]
