"""The vectorised scoring against a plain, one-enterprise-at-a-time reading of the spec (§3–§5).

A seeded random round of 120 enterprises; every leaf score, total, grade, status and quota must
match ``reference()`` below, which is written straight from credit-model.md, not from the code.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from conftest import AS_OF, code, ent, record, row_of, run_round

N = 120
RATING_KEYS = {"V1": "战略定位", "V2": "企业使命", "M1": "领导力水平", "M2": "财务管理水平", "M3": "设备设施管理",
               "M4": "人力资源管理水平", "M5": "质量管理水平", "K1": "技术水平", "K2": "销售水平"}
W = {"V1": .02, "V2": .02, "V3": .02, "V4": .04, "M1": .02, "M2": .02, "M3": .02, "M4": .02, "M5": .02,
     "F1": .08, "F2": .02, "F3": .06, "F4": .02, "K1": .08, "K2": .09, "S1": .05, "S2": .04, "S3": .04,
     "S4": .07, "C1": .07 * .2 / .19, "C2": .06 * .2 / .19, "C3": .06 * .2 / .19, "C4": .05}
LABELS = {"优": 5, "良": 4, "中": 3, "差": 2, "劣": 1}


def ge(x, bands, other=0):
    for t, p in bands:
        if x >= t - 1e-9:
            return p
    return other


def le(x, bands, other=0):
    for t, p in bands:
        if x <= t + 1e-9:
            return p
    return other


def rate(x):
    if x == "无":
        return 80
    return ge(x, [(95, 100), (85, 80), (70, 60), (50, 30)])


def reference(e):
    """Scores, total, status of one enterprise, straight from the spec."""
    s = {}
    for k, h in RATING_KEYS.items():
        v = e["app"][h]
        s[k] = 20 * (LABELS[v] if isinstance(v, str) else v)
    s["V3"], s["V4"] = 20 * e["assoc"]["企业文化建设"], 20 * e["assoc"]["品牌美誉度"]
    a = e["aud"]
    s["F1"] = (le(a["负债总额"] / a["资产总额"], [(.40, 100), (.55, 80), (.70, 60), (.85, 30)])
               + ge(a["流动资产"] / a["流动负债"], [(2.0, 100), (1.5, 80), (1.0, 60), (0.8, 30)])) / 2
    s["F2"] = ge(a["营业收入"] / ((a["应收账款期初"] + a["应收账款期末"]) / 2), [(8, 100), (6, 80), (4, 60), (2, 30)])
    s["F3"] = ge(a["净利润"] / a["营业收入"], [(.10, 100), (.06, 80), (.03, 60), (0, 30)])
    s["F4"] = ge(a["营业收入"] / a["上年营业收入"] - 1, [(.20, 100), (.10, 80), (0, 60), (-.10, 30)])
    start = dt.date(AS_OF.year - 3, AS_OF.month, AS_OF.day)
    inside = [r for r in e["records"] if start <= r[1] <= AS_OF]
    n1 = sum(1 for r in inside if r[0] == "行政处罚")
    n2 = sum(1 for r in inside if r[0] == "司法诉讼" and r[2] == "被告")
    n3 = sum(1 for r in inside if r[0] == "劳资纠纷")
    s["S1"], s["S2"], s["S3"] = [100, 60, 30, 0][min(n1, 3)], [100, 70, 40, 0][min(n2, 3)], [100, 60, 30, 0][min(n3, 3)]
    days = e["bnk"]["近24个月最长逾期天数"]
    s["S4"] = 100 if days == 0 else 60 if days <= 30 else 20 if days <= 90 else 0
    s["C1"] = rate(e["app"]["应付货款按期支付率(%)"])
    s["C2"] = rate(e["app"]["应收账款按期回收率(%)"])
    s["C3"] = rate(e["app"]["设备租金按期支付率(%)"])
    s["C4"] = {"集群内孵化": 100, "本地创业": 60, "外部迁入": 40}[e["assoc"]["集群孵化"]]
    p = e["assoc"]["协同创新项目数"]
    s["B1"] = 100 if p >= 3 else 70 if p == 2 else 40 if p == 1 else 0
    s["B2"] = {"会长单位": 100, "副会长单位": 100, "理事单位": 80, "会员单位": 50, "非会员": 0}[e["assoc"]["会员级别"]]
    base = sum(W[k] * s[k] for k in W)
    bonus = 0.05 * s["B1"] + 0.05 * s["B2"]
    status = []
    if e["app"]["成立日期"] > dt.date(AS_OF.year - 1, AS_OF.month, AS_OF.day):
        status.append("ineligible:age")
    if e["assoc"]["协会否决(是/否)"] == "是":
        status.append("veto:association")
    if days > 90 or e["bnk"]["企业家个人信用"] == "不良":
        status.append("veto:bank")
    return s, base, bonus, status


def generate():
    rng = random.Random(20260630)
    ents, recs = [], []
    for n in range(1, N + 1):
        assets = rng.choice([800, 1000, 1234.5, 3000])
        app = {h: rng.choice([1, 2, 3, 4, 5, "优", "良", "中", "差", "劣"]) for h in RATING_KEYS.values()}
        app.update({"应付货款按期支付率(%)": rng.choice([100, 95, 94.99, 85, 80, 70, 69.9, 50, 49, 0]),
                    "应收账款按期回收率(%)": rng.choice([100, 96, 90, 85, 72, 55, 10]),
                    "设备租金按期支付率(%)": rng.choice([100, 95, 88, 70, 50, 20, "无"]),
                    "成立日期": rng.choice([dt.date(2010, 5, 1), dt.date(2025, 6, 30), dt.date(2025, 7, 1)]),
                    "申请贷款金额（万元）": rng.choice([50, 100, 300, 500, 800])})
        aud = {"资产总额": assets, "负债总额": round(assets * rng.choice([.2, .4, .55, .6, .7, .85, .9]), 4),
               "流动资产": rng.choice([100, 160, 200, 300, 400, 500]), "流动负债": 200,
               "营业收入": rng.choice([400, 800, 1200, 1600, 2000]), "上年营业收入": rng.choice([1000, 1500, 2500]),
               "净利润": rng.choice([-50, 0, 30, 60, 100, 150, 300]), "应收账款期初": rng.choice([100, 200]),
               "应收账款期末": rng.choice([100, 200, 300])}
        assoc = {"企业文化建设": rng.randint(1, 5), "品牌美誉度": rng.randint(1, 5),
                 "集群孵化": rng.choice(["集群内孵化", "本地创业", "外部迁入"]),
                 "会员级别": rng.choice(["会长单位", "副会长单位", "理事单位", "会员单位", "非会员"]),
                 "协同创新项目数": rng.choice([0, 1, 2, 3, 5]), "协会否决(是/否)": rng.choice(["否"] * 12 + ["是"])}
        bnk = {"近24个月最长逾期天数": rng.choice([0, 0, 0, 1, 15, 30, 31, 60, 90, 91]),
               "企业家个人信用": rng.choice(["良好"] * 10 + ["一般", "不良"])}
        mine = []
        for _ in range(rng.choice([0, 0, 1, 2, 3, 4])):
            kind = rng.choice(["行政处罚", "司法诉讼", "劳资纠纷"])
            day = rng.choice([dt.date(2023, 6, 29), dt.date(2023, 6, 30), dt.date(2024, 8, 8), dt.date(2026, 6, 30),
                              dt.date(2026, 7, 1), dt.date(2019, 1, 1)])
            role = rng.choice(["原告", "被告"]) if kind == "司法诉讼" else None
            mine.append((kind, day, role))
            recs.append(record(n, kind, day, 当事人角色=role))
        ents.append({"n": n, "app": app, "aud": aud, "assoc": assoc, "bnk": bnk, "records": mine})
    return ents, recs


@pytest.fixture(scope="module")
def reference_round(tmp_path_factory):
    ents, recs = generate()
    result = run_round(tmp_path_factory.mktemp("ref"),
                       [ent(e["n"], app=e["app"], aud=e["aud"], assoc=e["assoc"], bnk=e["bnk"]) for e in ents],
                       records=recs)
    return ents, result


def test_every_leaf_total_and_status_match_the_reference(reference_round):
    ents, result = reference_round
    assert not result.problems
    for e in ents:
        s, base, bonus, status = reference(e)
        row = row_of(result, e["n"])
        for k, v in s.items():
            assert row[f"score:{k}"] == pytest.approx(v), (e["n"], k)
        assert row["base"] == pytest.approx(base), e["n"]
        assert row["bonus"] == pytest.approx(bonus), e["n"]
        assert row["status"] == status, e["n"]


def test_grades_ranks_and_quotas_match_the_reference(reference_round):
    ents, result = reference_round
    graded = []
    for e in ents:
        s, base, bonus, status = reference(e)
        if not status:
            shown = round(base + bonus + 1e-9, 2)
            graded.append((shown, base, code(e["n"]), e["app"]["申请贷款金额（万元）"]))
    graded.sort(key=lambda g: (-g[0], -g[1], g[2]))
    caps = [(90, "AAA", 500), (80, "AA", 300), (70, "A", 200), (60, "BBB", 100), (50, "BB", 0), (0, "B", 0)]
    left = 10000
    for i, (shown, base, c, want) in enumerate(graded):
        grade, cap = next((g, cap) for lo, g, cap in caps if shown >= lo)
        rank = 1 + sum(1 for other in graded if other[0] > shown)
        give = min(want, cap, left)
        left -= give
        row = result.table[result.table["code"] == c].iloc[0]
        assert (row["grade"], int(row["rank"]), row["quota"]) == (grade, rank, give), c
    assert list(result.ranked()["code"][:len(graded)]) == [g[2] for g in graded]
    assert len(graded) > 40  # the random round really exercises the pool
