"""Grades on the displayed total, shared ranks, and the pool (caps per grade, running out)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import code, ent, row_of, run_round

from cluster_credit_cli.rating.grades import grade_of, pool_summary, rank_and_quota, round_half_up


@pytest.mark.parametrize("total,shown", [
    (89.995, 90.00), (89.994999, 89.99), (89.985, 89.99), (79.995, 80.00), (0.005, 0.01), (0.004999, 0.0),
    (110.0, 110.0), (109.99999999999999, 110.0), (59.9949, 59.99), (60.0, 60.0),
])
def test_round_half_up(total, shown):
    assert round_half_up(np.array([total]), 2)[0] == pytest.approx(shown, abs=1e-12)


@pytest.mark.parametrize("shown,grade", [
    (110, "AAA"), (90.0, "AAA"), (89.99, "AA"), (80.0, "AA"), (79.99, "A"), (70.0, "A"), (69.99, "BBB"),
    (60.0, "BBB"), (59.99, "BB"), (50.0, "BB"), (49.99, "B"), (0.0, "B"),
])
def test_grade_bands(model, shown, grade):
    assert grade_of(np.array([shown]), model)[0] == grade


def table(rows):
    """rows: (code, total, base, requested, graded)."""
    t = pd.DataFrame(rows, columns=["code", "total", "base", "requested", "graded"])
    t["total_display"] = round_half_up(t["total"].to_numpy(), 2)
    return t


def test_rounding_at_the_grade_edge_decides_the_grade(model):
    out = rank_and_quota(table([("A", 89.995, 80, 600, True), ("B", 89.994999, 80, 600, True)]), model)
    assert list(out["total_display"]) == [90.0, 89.99]
    assert list(out["grade"]) == ["AAA", "AA"]
    assert list(out["quota"]) == [500, 300]  # caps of AAA and AA


def test_ties_share_a_rank_and_are_listed_by_base_then_code(model):
    t = table([("C", 90.0, 85, 100, True), ("A", 95.0, 90, 100, True), ("D", 90.0, 85, 100, True),
               ("B", 90.0, 88, 100, True), ("E", 85.0, 85, 100, True), ("X", 99.0, 99, 100, False)])
    out = rank_and_quota(t, model).set_index("code")
    assert out.loc[["A", "B", "C", "D", "E"], "rank"].tolist() == [1, 2, 2, 2, 5]
    order = out["_order"].dropna().sort_values().index.tolist()
    assert order == ["A", "B", "C", "D", "E"]  # B has the higher base; C before D by code
    assert pd.isna(out.at["X", "rank"]) and pd.isna(out.at["X", "quota"])
    assert not isinstance(out.at["X", "grade"], str)


def test_ties_after_display_rounding(model):
    # 89.995 and 90.004 both display 90.00: same rank.
    out = rank_and_quota(table([("A", 90.004, 80, 1, True), ("B", 89.995, 81, 1, True), ("C", 89.99, 81, 1, True)]),
                         model).set_index("code")
    assert out["rank"].tolist() == [1, 1, 3]
    assert out["_order"].tolist() == [1, 0, 2]


def test_quota_is_min_of_request_and_grade_cap(model):
    t = table([("AAA1", 95, 90, 800, True), ("AAA2", 95, 90, 120, True), ("AA", 85, 80, 800, True),
               ("A", 75, 70, 800, True), ("BBB", 65, 60, 800, True), ("BB", 55, 50, 800, True),
               ("B", 30, 30, 800, True), ("none", 95, 90, np.nan, True), ("neg", 95, 90, -5, True)])
    out = rank_and_quota(t, model).set_index("code")
    assert out["quota"].to_dict() == {"AAA1": 500, "AAA2": 120, "AA": 300, "A": 200, "BBB": 100, "BB": 0, "B": 0,
                                      "none": 0, "neg": 0}


def test_quota_runs_out_mid_list(model):
    # Capacity 1000万 × 10 = 10000万. 20 × 480 = 9600; the 21st gets the remaining 400; the rest 0.
    rows = [(f"E{i:02d}", 95, 90, 480, True) for i in range(23)]
    out = rank_and_quota(table(rows), model).set_index("code")
    q = out["quota"]
    assert (q.iloc[:20] == 480).all()
    assert q.iloc[20] == 400
    assert (q.iloc[21:] == 0).all()
    assert q.sum() == 10000
    s = pool_summary(out, model)
    assert s == {"guarantee_fund": 1000.0, "leverage": 10.0, "capacity": 10000.0, "allocated": 10000.0,
                 "remaining": 0.0, "unit": "万元"}


def test_quota_goes_in_rank_order_not_file_order(model):
    # 40 AA rows asking 300 each, then one AAA row last in the file: the AAA row is served first.
    rows = [(f"L{i:02d}", 81, 80, 300, True) for i in range(40)] + [("TOP", 99, 95, 500, True)]
    out = rank_and_quota(table(rows), model).set_index("code")
    assert out.at["TOP", "quota"] == 500
    assert out["quota"].sum() == 10000
    # 500 + 31 × 300 = 9800; L31 gets the remaining 200; L32 on get nothing.
    assert out.at["L30", "quota"] == 300 and out.at["L31", "quota"] == 200 and out.at["L32", "quota"] == 0


# -- end to end through files -------------------------------------------------------------------

def test_ties_end_to_end(tmp_path):
    # 1: C4 外部迁入 → base 97, bonus 10 → 107;  2 and 5: B1 one project → base 100, bonus 7 → 107;
    # 3: all defaults → 110;  4: B1 none and 会员单位 → 100 + 2.5 = 102.5.
    result = run_round(tmp_path, [
        ent(1, assoc={"集群孵化": "外部迁入"}), ent(2, assoc={"协同创新项目数": 1}), ent(3),
        ent(4, assoc={"协同创新项目数": 0, "会员级别": "会员单位"}), ent(5, assoc={"协同创新项目数": 1})])
    ranked = result.ranked()
    assert list(ranked["code"]) == [code(3), code(2), code(5), code(1), code(4)]
    assert list(ranked["rank"]) == [1, 2, 2, 2, 5]
    assert list(ranked["total_display"]) == [110, 107, 107, 107, 102.5]
    assert row_of(result, 1)["base"] == pytest.approx(97)
    assert row_of(result, 2)["base"] == pytest.approx(100)
    assert all(g == "AAA" for g in ranked["grade"])


def test_quota_runs_out_end_to_end(tmp_path):
    ents = [ent(n, app={"申请贷款金额（万元）": 480}) for n in range(1, 23)]
    result = run_round(tmp_path, ents)
    quotas = [row_of(result, n)["quota"] for n in range(1, 23)]
    assert quotas == [480] * 20 + [400, 0]  # equal totals and bases: code order
    assert result.pool()["allocated"] == 10000 and result.pool()["remaining"] == 0


def test_grade_caps_end_to_end(tmp_path):
    # K1 and K2 rated 1 (20): base 100 − 0.08×80 − 0.09×80 = 86.4, total 96.4 → AAA;
    # all eleven ratings at 1 (0.02×2 + 0.10 + 0.17 + 0.06 = 0.37 × −80 = −29.6) and C1–C3 at 0 (−20):
    # base 50.4, total 60.4 → BBB (cap 100).
    low = {h: 1 for h in ("战略定位", "企业使命", "领导力水平", "财务管理水平", "设备设施管理", "人力资源管理水平",
                          "质量管理水平", "技术水平", "销售水平")}
    result = run_round(tmp_path, [ent(1, app={"技术水平": 1, "销售水平": 1, "申请贷款金额（万元）": 800}),
                                  ent(2, app={**low, "申请贷款金额（万元）": 800, "应付货款按期支付率(%)": 0,
                                              "应收账款按期回收率(%)": 0, "设备租金按期支付率(%)": 0},
                                      assoc={"企业文化建设": 1, "品牌美誉度": 1})])
    r1, r2 = row_of(result, 1), row_of(result, 2)
    assert r1["total"] == pytest.approx(96.4) and (r1["grade"], r1["quota"]) == ("AAA", 500)
    assert r2["base"] == pytest.approx(50.4)
    assert r2["total_display"] == 60.4
    assert (r2["grade"], r2["quota"]) == ("BBB", 100)
    assert result.grade_counts() == {"AAA": 1, "AA": 0, "A": 0, "BBB": 1, "BB": 0, "B": 0}
