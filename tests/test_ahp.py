"""AHP library against published examples and hand computations.

Sources of the expected numbers (each cited at its test):
* Saaty, T. L. (2008), "Decision making with the analytic hierarchy process", Int. J. Services
  Sciences 1(1): relative consumption of drinks in the US (weights to 3 decimals, CR 0.022), as
  reproduced in the AHPy README (PhilipGriffith/AHPy).
* Wikipedia, "Analytic hierarchy process – leader example": criteria weights .547/.127/.270/.056
  (the article's own figures come from an approximate web demo; the exact eigenvector gives .548 for
  Experience, as AHPy's README shows), CR 0.044, alternatives' final priorities .493/.358/.149.
* Bozóki, Fülöp, Rónyai (2010), "On optimal completion of incomplete pairwise comparison
  matrices", Math. Comput. Modelling 52: the 4×4 example with a_cd missing (optimal a_cd = 0.7303)
  and the 8×8 example with 12 missing judgments, values as reproduced in AHPy's tests.
* An Anhui University course assignment "五一旅游地点评价指标体系" (geometric-mean method, Chinese
  RI table): λmax 5.0680, w = (0.1602, 0.4174, 0.2634, 0.0615, 0.0975), CI 0.0170, CR 0.0152.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cluster_credit_cli.weights import ahp
from cluster_credit_cli.problems import Problems


def pm_from_pairs(node, names, pairs):
    n = len(names)
    v = np.full((n, n), np.nan)
    np.fill_diagonal(v, 1.0)
    for (x, y), val in pairs.items():
        i, j = names.index(x), names.index(y)
        v[i, j], v[j, i] = val, 1 / val
    return ahp.PairwiseMatrix(node, list(names), v)


def rounded(d, k=3):
    return {key: round(val, k) for key, val in d.items()}


# --- Saaty (2008) drinks ------------------------------------------------------------------------

DRINKS = ["coffee", "wine", "tea", "beer", "soda", "milk", "water"]
DRINKS_ROWS = [  # Saaty 2008, table of judgments (row over column)
    ["", *DRINKS],
    ["coffee", 1, 9, 5, 2, 1, 1, "1/2"],
    ["wine", "1/9", 1, "1/3", "1/9", "1/9", "1/9", "1/9"],
    ["tea", "1/5", 3, 1, "1/3", "1/4", "1/3", "1/9"],
    ["beer", "1/2", 9, 3, 1, "1/2", 1, "1/3"],
    ["soda", 1, 9, 4, 2, 1, 2, "1/2"],
    ["milk", 1, 9, 3, 1, "1/2", 1, "1/3"],
    ["water", 2, 9, 9, 3, 2, 3, 1],
]


def test_saaty_drinks_weights_and_cr():
    problems = Problems()
    pm = ahp.parse_matrix(DRINKS_ROWS, node="drinks", problems=problems)
    assert not problems
    res = ahp.analyse_matrix(pm)
    # Saaty (2008): .177 .019 .042 .116 .190 .129 .327, CR 0.022
    assert rounded(res.weights) == {"coffee": 0.177, "wine": 0.019, "tea": 0.042, "beer": 0.116,
                                    "soda": 0.190, "milk": 0.129, "water": 0.327}
    assert round(res.cr, 3) == 0.022
    assert res.ri == 1.32 and res.consistent
    assert res.lambda_max == pytest.approx(7 + 6 * res.cr * 1.32)
    assert round(res.lambda_max, 3) == 7.177


def test_lower_triangle_blank_gives_same_result():
    upper_only = [list(r) for r in DRINKS_ROWS]
    for i in range(2, 8):
        for j in range(1, i):
            upper_only[i][j] = None
    a = ahp.analyse_matrix(ahp.parse_matrix(upper_only, node="d", problems=Problems()))
    b = ahp.analyse_matrix(ahp.parse_matrix(DRINKS_ROWS, node="d", problems=Problems()))
    assert a.weights == pytest.approx(b.weights)


# --- Wikipedia leader example ------------------------------------------------------------------

CRITERIA = ["Experience", "Education", "Charisma", "Age"]
LEADER = {
    "Goal": (CRITERIA, {("Experience", "Education"): 4, ("Experience", "Charisma"): 3, ("Experience", "Age"): 7,
                        ("Education", "Charisma"): 1 / 3, ("Education", "Age"): 3, ("Charisma", "Age"): 5}),
    "Experience": (["Tom", "Dick", "Harry"], {("Tom", "Dick"): 1 / 4, ("Tom", "Harry"): 4, ("Dick", "Harry"): 9}),
    "Education": (["Tom", "Dick", "Harry"], {("Tom", "Dick"): 3, ("Tom", "Harry"): 1 / 5, ("Dick", "Harry"): 1 / 7}),
    "Charisma": (["Tom", "Dick", "Harry"], {("Tom", "Dick"): 5, ("Tom", "Harry"): 9, ("Dick", "Harry"): 4}),
    "Age": (["Tom", "Dick", "Harry"], {("Tom", "Dick"): 1 / 3, ("Tom", "Harry"): 5, ("Dick", "Harry"): 9}),
}


def leader_matrices():
    return [pm_from_pairs(node, names, pairs) for node, (names, pairs) in LEADER.items()]


def test_wikipedia_leader_criteria():
    res = ahp.analyse_matrix(leader_matrices()[0])
    # Wikipedia: Experience .547 (exact eigenvector .548), Education .127, Charisma .270, Age .056; CR 0.044
    assert rounded(res.weights) == {"Experience": 0.548, "Education": 0.127, "Charisma": 0.270, "Age": 0.056}
    assert round(res.cr, 3) == 0.044
    assert res.consistent


def test_wikipedia_leader_experience_with_chinese_ri_table():
    # .217/.717/.066, CR 0.035 with RI(3) = 0.52 (the table of Saaty 2005 and of Chinese textbooks)
    res = ahp.analyse_matrix(leader_matrices()[1], ri_table="cn-textbook")
    assert rounded(res.weights) == {"Tom": 0.217, "Dick": 0.717, "Harry": 0.066}
    assert res.ri == 0.52 and round(res.cr, 3) == 0.035
    # the RI table changes the CR: Saaty's classic RI(3) = 0.58
    classic = ahp.analyse_matrix(leader_matrices()[1], ri_table="saaty")
    assert classic.ri == 0.58 and round(classic.cr, 3) == round(res.ci / 0.58, 3) == 0.032


def test_wikipedia_leader_hierarchy_global_weights():
    h = ahp.analyse_hierarchy(leader_matrices())
    assert h.roots == ["Goal"]
    # Wikipedia: Dick .493, Tom .358, Harry .149 (AHPy: .15 — Harry's exact value is 0.1496)
    assert round(h.global_weights["Dick"], 3) == 0.493
    assert round(h.global_weights["Tom"], 3) == 0.358
    assert round(h.global_weights["Harry"], 2) == 0.15
    # criteria keep their local weights (root weight 1); parent's global × local below them
    assert h.global_weights["Experience"] == pytest.approx(h.nodes["Goal"].weights["Experience"])
    edu = h.nodes["Goal"].weights["Education"]
    # AHPy README: education global weights .024/.010/.093 (it multiplies weights already rounded to 3 places)
    assert {k: edu * w for k, w in h.nodes["Education"].weights.items()} == \
        pytest.approx({"Tom": 0.024, "Dick": 0.010, "Harry": 0.093}, abs=1e-3)
    assert sum(v for k, v in h.global_weights.items() if k in ("Tom", "Dick", "Harry")) == pytest.approx(1.0)


# --- Anhui course assignment: geometric-mean method, Chinese RI table ----------------------------

def test_chinese_textbook_example_geometric_method():
    rows = [["A", "B1", "B2", "B3", "B4", "B5"],
            ["B1", 1, "1/3", "1/2", 3, 2],
            ["B2", 3, 1, 2, 5, 4],
            ["B3", 2, "1/2", 1, 4, 3],
            ["B4", "1/3", "1/5", "1/4", 1, "1/2"],
            ["B5", "1/2", "1/4", "1/3", 2, 1]]
    pm = ahp.parse_matrix(rows, node="A", problems=Problems())
    res = ahp.analyse_matrix(pm, method="geometric", ri_table="cn-textbook")
    assert rounded(res.weights, 4) == {"B1": 0.1602, "B2": 0.4174, "B3": 0.2634, "B4": 0.0615, "B5": 0.0975}
    assert round(res.lambda_max, 4) == 5.0681 and round(res.lambda_max, 3) == 5.068
    assert round(res.ci, 4) == 0.0170
    assert res.ri == 1.12 and round(res.cr, 4) == 0.0152
    # the eigenvector method gives slightly different weights on the same matrix, same λmax and CR
    eig = ahp.analyse_matrix(pm, method="eigen", ri_table="cn-textbook")
    assert eig.weights["B1"] != pytest.approx(res.weights["B1"], abs=1e-4)
    assert eig.cr == pytest.approx(res.cr)


# --- inconsistent matrices ---------------------------------------------------------------------

def test_cyclic_judgments_are_flagged_hand_computed():
    # A > B (3), B > C (3), C > A (3): circulant, so λmax = row sum = 1 + 3 + 1/3 exactly,
    # CI = (13/3 − 3)/2 = 2/3, CR = (2/3)/0.58 = 1.149 (Saaty classic RI(3) = 0.58)
    rows = [["", "A", "B", "C"], ["A", 1, 3, "1/3"], ["B", None, 1, 3], ["C", None, None, 1]]
    problems = Problems()
    res = ahp.analyse_matrix(ahp.parse_matrix(rows, node="x", problems=problems), problems=problems)
    assert res.lambda_max == pytest.approx(13 / 3)
    assert res.ci == pytest.approx(2 / 3)
    assert res.cr == pytest.approx((2 / 3) / 0.58)
    assert not res.consistent
    assert [p.code for p in problems] == ["ahp_inconsistent"]
    assert "CR=1.149" in problems.items[0].message
    assert all(c.deviation == pytest.approx(math.log(3)) for c in res.culprits)


def test_culprit_is_the_judgment_that_was_reversed():
    names, pairs = LEADER["Goal"]
    pairs = dict(pairs)
    pairs[("Experience", "Age")] = 1 / 5  # was 7: an entry slip; every other judgment ranks Experience first, Age last
    problems = Problems()
    res = ahp.analyse_matrix(pm_from_pairs("Goal", names, pairs), problems=problems)
    assert res.cr >= 0.10 and not res.consistent
    assert (res.culprits[0].row, res.culprits[0].column) == ("Experience", "Age")
    assert res.culprits[0].consistent > 1  # the weights say Experience over Age
    msg = [p for p in problems if p.code == "ahp_inconsistent"][0].message
    assert "Experience 对 Age" in msg


def test_cr_zero_for_n_le_2_and_ri_tables():
    res = ahp.analyse_matrix(pm_from_pairs("n", ["a", "b"], {("a", "b"): 4}))
    assert res.cr == 0.0 and res.consistent and rounded(res.weights) == {"a": 0.8, "b": 0.2}
    single = ahp.analyse_matrix(ahp.PairwiseMatrix("s", ["only"], np.ones((1, 1))))
    assert single.weights == {"only": 1.0} and single.cr == 0.0
    assert [ahp.random_index(n, "cn-textbook") for n in range(1, 16)] == \
        [0, 0, 0.52, 0.89, 1.12, 1.26, 1.36, 1.41, 1.46, 1.49, 1.52, 1.54, 1.56, 1.58, 1.59]
    assert ahp.random_index(4, "donegan-dodd") == 0.8286
    assert ahp.random_index(4, "alonso-lamata") == 0.8815
    assert ahp.random_index(16, "saaty") is None
    with pytest.raises(ValueError):
        ahp.random_index(3, "nope")


# --- incomplete matrices (Bozóki–Fülöp–Rónyai) ---------------------------------------------------

def test_bfr_one_missing_judgment():
    rows = [["", "a", "b", "c", "d"], ["a", 1, 1, 5, 2], ["b", None, 1, 3, 4], ["c", None, None, 1, None],
            ["d", None, None, None, 1]]
    problems = Problems()
    res = ahp.analyse_matrix(ahp.parse_matrix(rows, node="x", problems=problems), ri_table="donegan-dodd",
                             problems=problems)
    # BFR (2010): optimal a_cd = 0.7303; weights .3738 .3920 .0985 .1357; CR 0.0372 (Donegan–Dodd RI)
    assert res.completed[0][:2] == ("c", "d") and round(res.completed[0][2], 4) == 0.7303
    assert rounded(res.weights, 4) == {"a": 0.3738, "b": 0.3920, "c": 0.0985, "d": 0.1357}
    assert round(res.cr, 4) == 0.0372
    assert [p.code for p in problems] == ["ahp_completed"]
    # never read as 1: with a_cd = 1 λmax would be larger
    ones = np.nan_to_num(ahp.parse_matrix(rows, node="x", problems=Problems()).values, nan=1.0)
    assert ahp.lambda_max(ones) > res.lambda_max


def test_bfr_twelve_missing_judgments():
    names = list("abcdefgh")
    pairs = {("a", "b"): 5, ("a", "c"): 3, ("a", "d"): 7, ("a", "e"): 6, ("a", "f"): 6, ("b", "d"): 5, ("b", "f"): 3,
             ("c", "e"): 3, ("c", "g"): 6, ("f", "d"): 4, ("g", "a"): 3, ("g", "e"): 5, ("h", "a"): 4,
             ("h", "b"): 7, ("h", "d"): 8, ("h", "f"): 6}
    pm = pm_from_pairs("housing", names, pairs)
    assert len(pm.missing_pairs()) == 12
    _, filled = ahp.complete_matrix(pm.values)
    got = {(names[i], names[j]): v for i, j, v in filled}
    # BFR (2010) housing example, optimal completion as in AHPy's tests (computed there to tolerance 1e-4)
    expected = {("b", "c"): 0.33002, ("b", "e"): 1.71974, ("b", "g"): 0.46635, ("c", "d"): 9.92051,
                ("c", "f"): 4.85249, ("c", "h"): 0.56961, ("d", "e"): 0.52528, ("d", "g"): 0.14244,
                ("e", "f"): 0.93120, ("e", "h"): 0.10931, ("f", "g"): 0.29121, ("g", "h"): 0.40309}
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=2e-4), key


def test_missing_judgments_reported_with_no_complete_and_when_disconnected():
    rows = [["", "a", "b", "c", "d"], ["a", 1, 2, None, None], ["b", None, 1, None, None],
            ["c", None, None, 1, 3], ["d", None, None, None, 1]]
    problems = Problems()
    pm = ahp.parse_matrix(rows, node="x", problems=problems, file="m.xlsx", sheet="x")
    assert ahp.analyse_matrix(pm, problems=problems) is None
    assert problems.items[-1].code == "ahp_missing_disconnected"
    problems = Problems()
    rows[1][3] = 4  # a/c known: now connected
    pm = ahp.parse_matrix(rows, node="x", problems=problems)
    assert ahp.analyse_matrix(pm, complete=False, problems=problems) is None
    assert problems.items[-1].code == "ahp_missing"
    assert "a/d" in problems.items[-1].message and "b/c" in problems.items[-1].message


# --- parsing and validation ------------------------------------------------------------------------

def test_parse_value_forms():
    assert ahp.parse_value("1/3") == pytest.approx(1 / 3)
    assert ahp.parse_value("１／５") == pytest.approx(0.2)
    assert ahp.parse_value(" 3 ") == 3.0 and ahp.parse_value(7) == 7.0
    assert math.isnan(ahp.parse_value(None)) and math.isnan(ahp.parse_value("  "))
    for bad in ("abc", "1/0", "3x"):
        with pytest.raises(ValueError):
            ahp.parse_value(bad)


def test_validation_problems_name_cells():
    rows = [["", "a", "b", "c"], ["a", 2, 3, "x"], ["b", "1/2", 1, -1], ["c", None, None, 1]]
    problems = Problems()
    assert ahp.parse_matrix(rows, node="n", problems=problems, file="f.xlsx", sheet="n", first_row=1) is None
    got = {(p.code, p.row, p.column) for p in problems}
    assert ("ahp_bad_value", 2, "D") in got
    assert ("ahp_not_positive", 3, "D") in got
    problems = Problems()
    rows = [["", "a", "b", "c"], ["a", 2, 3, 5], ["b", "1/2", 1, 2], ["c", None, None, 1]]
    assert ahp.parse_matrix(rows, node="n", problems=problems, file="f.xlsx", sheet="n") is None
    codes = {(p.code, p.row, p.column) for p in problems}
    assert ("ahp_diagonal", 2, "B") in codes
    assert ("ahp_not_reciprocal", 3, "B") in codes  # b over a = 1/2, but a over b = 3
    assert "f.xlsx[n]" in problems.items[0].message


def test_reciprocity_tolerance_and_names():
    ok = [["", "a", "b"], ["a", 1, 3], ["b", 0.33, 1]]
    problems = Problems()
    assert ahp.parse_matrix(ok, node="n", problems=problems) is not None and not problems
    mismatch = [["", "a", "b"], ["a", 1, 3], ["z", None, 1]]
    problems = Problems()
    assert ahp.parse_matrix(mismatch, node="n", problems=problems) is None
    assert problems.items[0].code == "ahp_names_mismatch"
    not_square = [["", "a", "b", "c"], ["a", 1, 3, 1], ["b", None, 1, 1]]
    problems = Problems()
    assert ahp.parse_matrix(not_square, node="n", problems=problems) is None
    assert problems.items[0].code == "ahp_not_square"
    off = [["", "a", "b"], ["a", 1, 12], ["b", None, 1]]
    problems = Problems()
    assert ahp.parse_matrix(off, node="n", problems=problems) is not None
    assert [(p.code, p.severity) for p in problems] == [("ahp_off_scale", "warning")]


def test_rows_in_other_order_than_columns():
    rows = [["", "a", "b", "c"], ["c", None, None, 1], ["a", 1, 2, 4], ["b", None, 1, 2]]
    pm = ahp.parse_matrix(rows, node="n", problems=Problems())
    assert pm.names == ["a", "b", "c"]
    assert pm.values[0, 2] == 4 and pm.values[2, 0] == 0.25
    res = ahp.analyse_matrix(pm)
    assert rounded(res.weights, 4) == {"a": 0.5714, "b": 0.2857, "c": 0.1429}  # consistent: 4:2:1
    assert res.cr == pytest.approx(0, abs=1e-9)


# --- aggregation -------------------------------------------------------------------------------

def test_geometric_mean_of_two_experts_hand_computed():
    e1 = pm_from_pairs("g", ["a", "b", "c"], {("a", "b"): 3, ("a", "c"): 5, ("b", "c"): 2})
    e1.expert = "E1"
    # second expert lists the items in another order and leaves b/c blank
    e2 = pm_from_pairs("g", ["c", "a", "b"], {("a", "b"): 1 / 3, ("c", "a"): 1 / 9})
    e2.expert = "E2"
    agg = ahp.aggregate_geometric([e1, e2])
    assert agg.names == ["a", "b", "c"]
    assert agg.values[0, 1] == pytest.approx(1.0)          # sqrt(3 · 1/3)
    assert agg.values[0, 2] == pytest.approx(math.sqrt(45))  # sqrt(5 · 9)
    assert agg.values[2, 0] == pytest.approx(1 / math.sqrt(45))
    assert agg.values[1, 2] == pytest.approx(2.0)          # only E1 judged b/c
    h = ahp.analyse_hierarchy([e1, e2])
    assert h.nodes["g"].experts == 2
    # geometric weights of the aggregate, by hand: rows (1·1·√45)^(1/3), (1·1·2)^(1/3), (1/√45·1/2·1)^(1/3)
    g = np.array([45 ** (1 / 6), 2 ** (1 / 3), (1 / (2 * math.sqrt(45))) ** (1 / 3)])
    geo = ahp.analyse_matrix(agg, method="geometric")
    assert list(geo.weights.values()) == pytest.approx(list(g / g.sum()))


def test_experts_comparing_different_items_are_reported():
    e1 = pm_from_pairs("g", ["a", "b"], {("a", "b"): 3})
    e2 = pm_from_pairs("g", ["a", "c"], {("a", "c"): 3})
    problems = Problems()
    assert ahp.aggregate_geometric([e1, e2], problems) is None
    assert problems.items[0].code == "ahp_experts_differ"


def test_hierarchy_roots_and_root_weights():
    goal = pm_from_pairs("goal", ["X", "Y"], {("X", "Y"): 3})
    x = pm_from_pairs("X", ["x1", "x2"], {("x1", "x2"): 1})
    bonus = pm_from_pairs("bonus", ["b1", "b2"], {("b1", "b2"): 4})
    h = ahp.analyse_hierarchy([x, goal, bonus], root_weights={"bonus": 0.1})
    assert h.roots == ["goal", "bonus"]
    assert h.global_weights == pytest.approx({"X": 0.75, "Y": 0.25, "x1": 0.375, "x2": 0.375, "b1": 0.08, "b2": 0.02})
    d = h.as_dict()
    assert set(d["nodes"]["goal"]) >= {"weights", "lambda_max", "ci", "cr", "ri", "consistent"}


def test_hierarchy_cycle_is_reported():
    p = pm_from_pairs("P", ["Q", "z"], {("Q", "z"): 2})
    q = pm_from_pairs("Q", ["P", "y"], {("P", "y"): 2})
    problems = Problems()
    h = ahp.analyse_hierarchy([p, q], problems=problems)
    assert h.roots == [] and problems.items[-1].code == "ahp_no_root"
