"""Survey statistics with hand-counted expectations."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest

from cluster_credit_cli.problems import UsageError
from cluster_credit_cli.survey.codebook import load_codebook
from cluster_credit_cli.survey.stats import (analyse, crosstab, exact_percent, frequencies, largest_remainder, likert,
                                             read_responses, round_half_up)
from survey_util import codebook, responses

D = Decimal


def _by_name(stats):
    return {q.name: q for q in stats}


def _counts(q):
    return [c.count for c in q.categories]


# -- rounding ----------------------------------------------------------------------------------

def test_half_up_at_x5():
    assert round_half_up(0.25, 1) == D("0.3")
    assert round_half_up(2.675, 1) == D("2.7")
    assert round_half_up(2.675, 2) == D("2.68")  # float round() gives 2.67 here
    assert round_half_up(0.05, 1) == D("0.1")
    assert round_half_up(D("12.45"), 1) == D("12.5")
    assert round_half_up(D("12.44999"), 1) == D("12.4")
    # 1/16 = 6.25 % exactly: half-up gives 6.3 (banker's rounding would give 6.2)
    assert round_half_up(exact_percent(1, 16), 1) == D("6.3")


def test_largest_remainder_sums_to_100():
    # thirds: 33.333.. each; plain rounding gives 99.9
    exact = [exact_percent(1, 3)] * 3
    assert sum(round_half_up(p, 1) for p in exact) == D("99.9")
    lr = largest_remainder(exact, 1)
    assert lr == [D("33.4"), D("33.3"), D("33.3")]  # tie -> first category
    assert sum(lr) == D("100.0")
    # 71/9/8/9/7 of 104: half-up gives 68.3+8.7+7.7+8.7+6.7 = 100.1
    counts = [71, 9, 8, 9, 7]
    exact = [exact_percent(c, 104) for c in counts]
    assert sum(round_half_up(p, 1) for p in exact) == D("100.1")
    lr = largest_remainder(exact, 1)
    assert sum(lr) == D("100.0")
    # exact 68.269 8.653 7.692 8.653 6.730; floors 68.2 8.6 7.6 8.6 6.7 = 99.7: three units go to the
    # largest remainders .92 (台资), .69 (民营) and .53 (港资, the earlier of two equal .53)
    assert lr == [D("68.3"), D("8.7"), D("7.7"), D("8.6"), D("6.7")]
    assert largest_remainder([exact_percent(1, 7)] * 7, 0) == [D(15), D(15)] + [D(14)] * 5


# -- a small survey ----------------------------------------------------------------------------

@pytest.fixture
def small(tmp_path):
    cb = codebook(tmp_path / "cb.xlsx", [
        ["select_one own", "own", "企业性质"],
        ["decimal", "rev", "年销售收入", "revbins"],
        ["integer", "year", "成立年份", "", "", "", "", "no"],
        ["calculate", "age", "企业年龄", "agebins", "2018 - ${year}"],
        ["select_multiple ch", "ch", "融资渠道"],
    ], [
        ["own", "pri", "民营"], ["own", "hk", "港资"], ["own", "oth", "其它"],
        ["revbins", "lt300", "小于300万", "<300"], ["revbins", "300to2000", "300万~2000万", "[300,2000)"],
        ["revbins", "ge2000", "2000万~4亿", "[2000,40000]"],
        ["agebins", "gt15", ">15", ">15"], ["agebins", "11to15", "11~15", "(10,15]"],
        ["agebins", "6to10", "6~10", "(5,10]"], ["agebins", "le5", "≤5", "[0,5]"],
        ["ch", "bank", "银行借款"], ["ch", "own", "自有资金"], ["ch", "private", "民间借贷"],
    ], settings=[("handed_out", 12), ("positional_codes", "yes")])  # r3 answers "2": the 2nd choice
    head = ["编号", "企业性质", "年销售收入（万元）", "成立年份", "融资渠道"]
    rows = [
        ["r1", "民营", 299.99, 2013, "银行借款、自有资金"],   # label; rev < 300; age 5
        ["r2", "pri", 300, 2012, "bank"],                   # name; rev edge 300; age 6
        ["r3", 2, 1999.9, 2008, "自有资金"],                 # code 2 = 港资; age 10
        ["r4", "港资", 2000, 2007, "银行借款,民间借贷"],       # rev edge 2000; age 11
        ["r5", "其它", 40000, 2003, None],                  # rev upper edge; age 15; ch missing
        ["r6", "民营", None, 2002, "自有资金"],               # rev missing; age 16
        ["r7", None, 150, None, "自有资金 民间借贷"],          # own missing; age missing
        ["r8", "民营", 20, 2018, "银行借款"],                 # age 0
    ]
    data = responses(tmp_path / "data.xlsx", head, rows, title="问卷录入")
    return cb, data


def test_bins_edges_codes_labels_names(small):
    cb, data = small
    res = analyse(data, cb)
    st = _by_name(res.questions)
    assert not res.problems.items
    assert _counts(st["own"]) == [4, 2, 1]  # 民营: r1 label, r2 name, r6, r8; 港资: r3 code 2, r4 label
    assert (st["own"].n, st["own"].missing) == (7, 1)
    assert _counts(st["rev"]) == [3, 2, 2]  # <300: 299.99, 150, 20; [300,2000): 300, 1999.9; [2000,4e4]: 2000, 40000
    assert (st["rev"].n, st["rev"].missing) == (7, 1)
    assert _counts(st["age"]) == [1, 2, 2, 2]  # >15: 16; 11~15: 11, 15; 6~10: 6, 10; <=5: 5, 0
    assert (st["age"].n, st["age"].missing) == (7, 1)
    assert "year" not in st  # tabulate = no
    assert [c.percent for c in st["own"].categories] == [D("57.1"), D("28.6"), D("14.3")]


def test_multi_choice_percents(small):
    cb, data = small
    st = _by_name(analyse(data, cb).questions)["ch"]
    # respondents: 7 (r5 blank); selections: bank r1 r2 r4 r8 = 4; own r1 r3 r6 r7 = 4; private r4 r7 = 2
    assert _counts(st) == [4, 4, 2]
    assert (st.n, st.answers, st.missing) == (7, 10, 1)
    assert [c.percent for c in st.categories] == [D("57.1"), D("57.1"), D("28.6")]  # of respondents, sum > 100
    assert [c.percent_answers for c in st.categories] == [D("40.0"), D("40.0"), D("20.0")]
    assert "超过100%" in st.note


def test_sum_100_applies_to_single_choice(small):
    cb, data = small
    st = _by_name(analyse(data, cb, sum_100=True).questions)
    assert sum(c.percent for c in st["own"].categories) == D("100.0")
    assert sum(c.percent for c in st["rev"].categories) == D("100.0")  # 42.9 28.6 28.6 -> 42.8 ... 100
    assert sum(c.percent for c in _by_name(analyse(data, cb).questions)["rev"].categories) == D("100.1")


def test_unknown_answers_reported_with_row_and_column(tmp_path, small):
    cb, _ = small
    head = ["企业性质", "年销售收入（万元）", "成立年份", "融资渠道"]
    data = responses(tmp_path / "bad.xlsx", head, [
        ["民营", 100, 2010, "银行借款"],
        ["国企", 100, 2010, "银行借款、众筹"],     # row 3: unknown choice, unknown multi token
        ["民营", "很多", 2010, "银行借款"],         # row 4: not a number
        ["民营", 50000, 2010, "银行借款"],          # row 5: outside every bin
        ["民营", 100, 2030, "银行借款"],            # row 6: age -12, outside every bin
    ])
    res = analyse(data, cb)
    got = {(p.row, p.column, p.code) for p in res.problems}
    assert (3, "企业性质", "unknown_answer") in got
    assert (3, "融资渠道", "unknown_answer") in got
    assert (4, "年销售收入（万元）", "unknown_answer") in got
    assert (5, "年销售收入（万元）", "out_of_range") in got
    assert (6, "企业年龄", "out_of_range") in got
    msg = next(p.message for p in res.problems if p.row == 3 and p.column == "企业性质")
    assert "国企" in msg and "民营" in msg
    st = _by_name(res.questions)
    # never silently dropped: counted as unrecognised, not as missing
    assert (st["own"].n, st["own"].unknown, st["own"].missing) == (4, 1, 0)
    assert (st["rev"].n, st["rev"].unknown) == (3, 2)
    assert _counts(st["ch"]) == [5, 0, 0]  # the known token of row 3 still counts


def test_unknown_cells_capped_but_summarised(tmp_path, small):
    cb, _ = small
    data = responses(tmp_path / "many.xlsx", ["企业性质", "年销售收入"], [["国企", 1]] * 30)
    res = analyse(data, cb)
    own = [p for p in res.problems if p.column == "企业性质"]
    assert len(own) == 21 and "另有10个单元格" in own[-1].message and own[-1].row is None
    en = [p for p in analyse(data, cb, lang="en").problems if p.column == "企业性质"]
    assert "10 more cells" in en[-1].message and "not a choice of list own" in en[0].message


def test_invalid_questionnaires(tmp_path, small):
    cb, _ = small
    head = ["企业性质", "年销售收入", "成立年份", "融资渠道"]  # 4 counted questions
    data = responses(tmp_path / "v.xlsx", head, [
        ["民营", 1, 2010, "银行借款"],   # 4 answered: valid
        ["民营", 1, None, None],          # 2 of 4 = half: valid (only *fewer* than half is invalid)
        ["民营", None, None, None],       # 1 of 4: invalid
        [None, None, None, None],         # blank row: not returned at all
        [None, None, None, "自有资金"],   # 1 of 4: invalid
    ])
    res = analyse(data, cb)
    assert (res.data.handed_out, res.data.returned, res.data.n_valid) == (12, 4, 2)
    assert [r[0] for r in res.data.invalid_rows()] == [4, 6]
    st = _by_name(res.questions)
    assert st["own"].n == 2 and st["ch"].n == 1  # invalid rows are not tabulated


def test_validity_rule_configurable(tmp_path):
    cb = codebook(tmp_path / "cb.xlsx", [["integer", "a", "A"], ["integer", "b", "B"], ["integer", "c", "C"]], [],
                  settings=[("valid_min_answered", 3)])
    data = responses(tmp_path / "d.xlsx", ["A", "B", "C"], [[1, 2, 3], [1, 2, None]])
    assert analyse(data, cb).data.n_valid == 1


def test_column_found_by_label_after_header_normalisation(tmp_path):
    cb = codebook(tmp_path / "cb.xlsx", [["decimal", "revenue", "年销售收入"], ["integer", "age", "企业年龄/年"]], [])
    data = responses(tmp_path / "d.xlsx", ["年销售收入（万元）", "企业年龄"], [[10, 3], [20, 5]])
    st = _by_name(analyse(data, cb).questions)
    assert st["revenue"].n == 2 and st["revenue"].summary["mean"] == 15
    assert st["age"].summary == {"mean": 4.0, "sd": pytest.approx(math.sqrt(2)), "min": 3.0, "median": 4.0, "max": 5.0}


def test_missing_column_is_a_problem(tmp_path, small):
    cb, _ = small
    data = responses(tmp_path / "d.xlsx", ["企业性质", "年销售收入", "融资渠道"], [["民营", 1, "银行借款"]])
    res = analyse(data, cb)
    assert [p.code for p in res.problems] == ["column_not_found"]
    assert _by_name(res.questions)["age"].missing == 1


def test_csv_responses(tmp_path, small):
    cb, _ = small
    p = tmp_path / "d.csv"
    p.write_bytes("企业性质,年销售收入,成立年份\n民营,100,2010\n港资,300,2010\n".encode("gb18030"))
    st = _by_name(analyse(p, cb).questions)
    assert _counts(st["own"]) == [1, 1, 0] and _counts(st["rev"]) == [1, 1, 0]


def test_weights(tmp_path, small):
    cb, _ = small
    data = responses(tmp_path / "w.xlsx", ["企业性质", "年销售收入", "权重"],
                     [["民营", 1, 2], ["港资", 1, 1], ["港资", 1, 1], ["其它", 1, "x"]])
    res = analyse(data, cb, weight="权重")
    st = _by_name(res.questions)["own"]
    assert _counts(st) == [2.0, 2.0, 0.0] and st.n == 4.0
    assert [c.percent for c in st.categories] == [D("50.0"), D("50.0"), D("0.0")]
    assert [(p.row, p.column) for p in res.problems if p.code == "bad_weight"] == [(5, "权重")]
    with pytest.raises(UsageError, match="--weight"):
        analyse(data, cb, weight="nope")


def test_relevant_skips(tmp_path):
    cb = codebook(tmp_path / "cb.xlsx", [
        ["select_one yn", "loan", "是否贷款"],
        ["decimal", "amount", "贷款金额", "", "", "${loan} = 'yes'"],
        ["select_multiple why", "why", "原因", "", "", "${loan} != 'yes'"],
        ["integer", "extra", "追问", "", "", "selected(${why}, 'rate') and ${amount} = ''"],
    ], [["yn", "yes", "是"], ["yn", "no", "否"], ["why", "rate", "利率高"], ["why", "slow", "太慢"]])
    data = responses(tmp_path / "d.xlsx", ["是否贷款", "贷款金额", "原因", "追问"], [
        ["是", 100, None, None],
        ["是", None, None, None],          # amount missing (asked)
        ["否", None, "利率高", 7],
        ["否", 50, "太慢", None],          # amount answered although not asked -> warning, left out
    ])
    res = analyse(data, cb)
    st = _by_name(res.questions)
    assert (st["amount"].n, st["amount"].missing, st["amount"].not_asked) == (1, 1, 2)
    assert (st["why"].n, st["why"].not_asked) == (2, 2)
    assert (st["extra"].n, st["extra"].not_asked) == (1, 3)
    warn = [p for p in res.problems if p.code == "answered_not_relevant"]
    assert [(p.row, p.column, p.severity) for p in warn] == [(5, "贷款金额", "warning")]


def test_relevant_chain_sees_masked_answers(tmp_path):
    cb = codebook(tmp_path / "cb.xlsx", [
        ["select_one yn", "a", "A"],
        ["select_one yn", "b", "B", "", "", "${a} = 'yes'"],
        ["integer", "c", "C", "", "", "${b} = 'yes'"],
    ], [["yn", "yes", "是"], ["yn", "no", "否"]])
    # row 3: b answered 是 although not asked (a = 否): c must not become relevant through it
    data = responses(tmp_path / "d.xlsx", ["A", "B", "C"], [["是", "是", 1], ["否", "是", None]])
    st = _by_name(analyse(data, cb).questions)
    assert (st["c"].n, st["c"].not_asked, st["c"].missing) == (1, 1, 0)


# -- Likert ------------------------------------------------------------------------------------

def test_likert_item_and_dimension(tmp_path):
    cb = codebook(tmp_path / "cb.xlsx", [
        ["select_one s5", "i1", "题1", "", "", "", "d1"], ["select_one s5", "i2", "题2", "", "", "", "d1"],
        ["select_one s5", "i3", "题3", "", "", "", "d2"],
    ], [["s5", "1", "非常不满意"], ["s5", "2", "不满意"], ["s5", "3", "一般"], ["s5", "4", "满意"], ["s5", "5", "非常满意"]],
        dimensions=[["d1", "成本"], ["d2", "沟通"]])
    data = responses(tmp_path / "d.xlsx", ["题1", "题2", "题3"], [
        [1, 3, 1], [5, None, 2], [4, 4, 3], ["满意", 2, 4], [5, 5, 5], [3, 1, "非常满意"],
    ])
    res = analyse(data, cb)
    items = {i.name: i for i in res.items}
    # i1 = 1,5,4,4,5,3: mean 22/6 = 3.6667; squares of deviations 7.111+1.778+.111+.111+1.778+.444 = 11.333; /5
    assert items["i1"].n == 6
    assert items["i1"].mean == pytest.approx(22 / 6)
    assert items["i1"].sd == pytest.approx(math.sqrt(11.333333333 / 5))
    assert items["i1"].top2 == D("66.7")  # 5,4,4,5 of 6
    # i3 = 1,2,3,4,5,5: mean 20/6, SD sqrt(13.3333/5) = 1.63299
    assert items["i3"].sd == pytest.approx(1.6329931618554523)
    assert items["i3"].top2 == D("50.0")
    dims = {d.name: d for d in res.dimensions}
    # d1 respondent scores: (1+3)/2=2, 5, 4, (4+2)/2=3, 5, (3+1)/2=2 -> mean 21/6 = 3.5
    assert dims["d1"].n == 6 and dims["d1"].label == "成本"
    assert dims["d1"].mean == pytest.approx(3.5)
    assert dims["d1"].sd == pytest.approx(math.sqrt((2.25 + 2.25 + 0.25 + 0.25 + 2.25 + 2.25) / 5))
    # pooled answers of d1: 1,3,5,4,4,4,2,5,5,3,1 -> top-2 (4,5): 6 of 11 = 54.5
    assert dims["d1"].top2 == D("54.5")
    assert res.to_json()["dimensions"][0] == {"name": "d1", "label": "成本", "n": 6, "mean": 3.5,
                                              "sd": round(dims["d1"].sd, 4), "top2": 54.5}


# -- crosstab ----------------------------------------------------------------------------------

def _party_data(tmp_path):
    cb = codebook(tmp_path / "cb.xlsx", [["select_one g", "gender", "性别"], ["select_one p", "party", "党派"],
                                        ["select_one g", "g2", "分组"]],
                  [["g", "f", "Females"], ["g", "m", "Males"], ["p", "d", "Democrat"], ["p", "i", "Independent"],
                   ["p", "r", "Republican"]])
    # Agresti, An Introduction to Categorical Data Analysis, 2nd ed. (Wiley 2007), Table 2.5:
    # party identification by gender (GSS 2000); the book reports Pearson X^2 = 30.1, df = 2.
    cells = {("Females", "Democrat"): 762, ("Females", "Independent"): 327, ("Females", "Republican"): 468,
             ("Males", "Democrat"): 484, ("Males", "Independent"): 239, ("Males", "Republican"): 477}
    rows = [[g, p, "Males" if k % 2 else "Females"] for (g, p), n in cells.items() for k in range(n)]
    import csv

    path = tmp_path / "party.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["性别", "党派", "分组"], *rows])
    return load_codebook(cb), path


def test_crosstab_chi_square_against_textbook(tmp_path):
    cb, path = _party_data(tmp_path)
    data = read_responses(path, cb)
    (t,) = crosstab(data, "gender", "党派")
    assert t.counts.tolist() == [[762, 327, 468], [484, 239, 477]]
    assert t.test == "chi-square" and t.dof == 2
    assert t.statistic == pytest.approx(30.07, abs=0.01)
    assert t.p_value < 1e-6
    assert t.row_pct[0] == [D("48.9"), D("21.0"), D("30.1")]  # 762/1557 = 48.94 %
    assert t.col_pct[0][0] == D("61.2")  # 762/1246


def test_crosstab_by_group(tmp_path):
    cb, path = _party_data(tmp_path)
    tables = crosstab(read_responses(path, cb), "gender", "party", by="g2")
    assert [t.group for t in tables] == ["Females", "Males"]
    assert int(tables[0].counts.sum() + tables[1].counts.sum()) == 2757


def test_fisher_for_small_2x2(tmp_path):
    cb = codebook(tmp_path / "cb.xlsx", [["select_one a", "guess", "猜测"], ["select_one a", "truth", "实际"]],
                  [["a", "milk", "先加奶"], ["a", "tea", "先加茶"]])
    # Fisher's tea-tasting experiment, as in Agresti (2007) Table 2.7: [[3,1],[1,3]], two-sided P = 0.486
    rows = [["先加奶", "先加奶"]] * 3 + [["先加奶", "先加茶"]] + [["先加茶", "先加奶"]] + [["先加茶", "先加茶"]] * 3
    data = responses(tmp_path / "d.xlsx", ["猜测", "实际"], rows)
    (t,) = crosstab(read_responses(data, load_codebook(cb)), "guess", "truth")
    assert t.test == "fisher" and t.statistic is None
    assert t.p_value == pytest.approx(0.4857, abs=1e-4)


def test_crosstab_rejects_multi_and_unknown(tmp_path, small):
    cb, data = small
    d = read_responses(data, load_codebook(cb))
    with pytest.raises(UsageError, match="--cols"):
        crosstab(d, "own", "ch")
    with pytest.raises(UsageError, match="--rows: no question"):
        crosstab(d, "nope", "own")
    (t,) = crosstab(d, "企业性质", "rev")  # labels work too; binned numbers are categorical
    assert int(t.counts.sum()) == 6 and t.missing == 2


def test_vectorised_large(tmp_path):
    """100,000 x 30 codes through the same path (correctness of the bulk path, no timing)."""
    from cluster_credit_cli.survey.stats import SurveyData, frequencies as freq
    from cluster_credit_cli.problems import Problems
    import pandas as pd
    from cluster_credit_cli.survey.stats import _code_question, _Col

    cbp = codebook(tmp_path / "cb.xlsx", [["select_one s", f"q{i}", f"Q{i}"] for i in range(30)],
                   [["s", str(k), f"L{k}"] for k in range(1, 6)])
    cb = load_codebook(cbp)
    rng = np.random.default_rng(1)
    n = 100_000
    coded = {}
    raw = rng.integers(1, 6, size=(n, 30))
    for i, q in enumerate(cb.questions):
        s = pd.Series(raw[:, i].astype(object))
        coded[q.name] = _code_question(q, cb, _Col.of(s.to_numpy()), q.label)
        coded[q.name].relevant = np.ones(n, bool)
    data = SurveyData(cb, "x", None, np.arange(n) + 2, np.ones(n, bool), np.full(n, 30), np.full(n, 30), coded,
                      None, Problems())
    st = freq(data)
    assert _counts(st[7]) == np.bincount(raw[:, 7], minlength=6)[1:].tolist()
