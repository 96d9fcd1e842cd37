"""Codebook reading: interval notation, bin checks, settings, references, relevant subset."""

from __future__ import annotations

import numpy as np
import pytest

from cluster_credit_cli.problems import ConfigError
from cluster_credit_cli.survey.codebook import load_codebook, parse_interval
from cluster_credit_cli.survey.xpath import XPathError, compile_checked, refs
from survey_util import codebook


@pytest.mark.parametrize("text, inside, outside", [
    ("[300,2000)", [300, 1999.99], [299.99, 2000]),
    ("(5,10]", [5.01, 10], [5, 10.01]),
    ("[20,300]", [20, 300], [19.99, 300.01]),
    ("(0,100)", [0.01, 99.99], [0, 100]),
    ("<300", [299.99, -5], [300]),
    ("<=5", [5, 0], [5.01]),
    ("≤5", [5], [5.01]),
    ("＜20", [19.99], [20]),
    (">15", [15.01], [15]),
    (">=2000", [2000], [1999.99]),
    ("≥2000", [2000], [1999.99]),
    ("＞1000", [1000.01], [1000]),
    ("0", [0], [0.01, -0.01]),
    ("[ 1 , 2 ]", [1, 2], [0.99, 2.01]),
])
def test_interval_edges_on_both_sides(text, inside, outside):
    iv = parse_interval(text)
    assert iv.contains(np.array(inside, float)).all()
    assert not iv.contains(np.array(outside, float)).any()
    assert not iv.contains(np.array([np.nan])).any()


@pytest.mark.parametrize("bad", ["[5,1]", "(3,3)", "abc", "[1,2", "<", "1-2"])
def test_bad_interval_is_rejected(bad):
    with pytest.raises(ValueError):
        parse_interval(bad)


@pytest.mark.parametrize("a, b, overlap", [
    ("[0,10)", "[10,20)", False), ("[0,10]", "[10,20)", True), ("<=5", "(5,10]", False), ("<=5", "[5,10]", True),
    (">15", "(10,15]", False), ("(10,15]", "[15,16]", True), ("<300", ">=300", False), ("[0,100]", "[50,60]", True),
])
def test_overlap(a, b, overlap):
    assert parse_interval(a).overlaps(parse_interval(b)) is overlap
    assert parse_interval(b).overlaps(parse_interval(a)) is overlap


def test_overlapping_bins_are_a_codebook_error_naming_sheet_and_row(tmp_path):
    p = codebook(tmp_path / "cb.xlsx", [["integer", "age", "年龄", "agebins"]],
                 [["agebins", "a", "≤5", "<=5"], ["agebins", "b", "5~10", "[5,10]"]])
    with pytest.raises(ConfigError) as exc:
        load_codebook(p)
    msg = str(exc.value)
    assert "sheet choices" in msg and "row 3" in msg and "overlaps" in msg


def test_bin_without_range_and_bad_range_are_errors(tmp_path):
    p = codebook(tmp_path / "cb.xlsx", [["integer", "age", "年龄", "agebins"]], [["agebins", "a", "young", ""]])
    with pytest.raises(ConfigError, match="row 2.*no range"):
        load_codebook(p)
    p = codebook(tmp_path / "cb2.xlsx", [["integer", "age", "年龄", "agebins"]], [["agebins", "a", "young", "[5,"]])
    with pytest.raises(ConfigError, match="sheet choices, row 2"):
        load_codebook(p)


def test_unknown_type_and_missing_list_name_rows(tmp_path):
    p = codebook(tmp_path / "cb.xlsx", [["select_one yn", "q1", "Q1"], ["dat", "q2", "Q2"]], [["yn", "y", "是"]])
    with pytest.raises(ConfigError, match="sheet survey, row 3.*'dat'"):
        load_codebook(p)
    p = codebook(tmp_path / "cb2.xlsx", [["select_one nolist", "q1", "Q1"]], [["yn", "y", "是"]])
    with pytest.raises(ConfigError, match="row 2.*'nolist'"):
        load_codebook(p)


def test_calculation_references_checked(tmp_path):
    p = codebook(tmp_path / "cb.xlsx", [["integer", "year", "成立年份"], ["calculate", "age", "年龄", "", "2018 - ${yr}"]], [])
    with pytest.raises(ConfigError, match="row 3.*yr"):
        load_codebook(p)
    p = codebook(tmp_path / "cb2.xlsx", [["calculate", "a", "A", "", "${b} + 1"], ["calculate", "b", "B", "", "${a} * 2"]], [])
    with pytest.raises(ConfigError, match="circle"):
        load_codebook(p)
    p = codebook(tmp_path / "cb3.xlsx", [["integer", "year", "Y"], ["calculate", "age", "A", "", "2018 - year"]], [])
    with pytest.raises(ConfigError, match=r"\$\{name\}"):
        load_codebook(p)


def test_settings_horizontal_and_vertical(tmp_path):
    p = codebook(tmp_path / "cb.xlsx", [["integer", "q", "Q"]], [],
                 settings=[("title", "T"), ("handed_out", 109), ("valid_min_share", "0.6")])
    cb = load_codebook(p)
    assert (cb.title, cb.handed_out, cb.valid_min_share, cb.valid_min_answered) == ("T", 109, 0.6, None)
    from openpyxl import load_workbook

    wb = load_workbook(p)
    del wb["settings"]
    ws = wb.create_sheet("settings")
    ws.append(["title", "竖排"])
    ws.append(["handed_out", 50])
    ws.append(["valid_min_answered", 2])
    wb.save(p)
    cb = load_codebook(p)
    assert (cb.title, cb.handed_out, cb.valid_min_answered) == ("竖排", 50, 2)


def test_bad_setting_value(tmp_path):
    p = codebook(tmp_path / "cb.xlsx", [["integer", "q", "Q"]], [], settings=[("valid_min_share", "1.5")])
    with pytest.raises(ConfigError, match="settings.*between 0 and 1"):
        load_codebook(p)


def test_ambiguous_choice_labels_rejected(tmp_path):
    p = codebook(tmp_path / "cb.xlsx", [["select_one l", "q", "Q"]], [["l", "a", "甲"], ["l", "b", "a"]])
    with pytest.raises(ConfigError, match="row 3.*two choices"):
        load_codebook(p)


def test_relevant_parse_and_reference_check(tmp_path):
    node = compile_checked("${a} = 'yes' and (selected(${b}, 'x') or not(${c} >= 3))")
    assert refs(node) == ["a", "b", "c"]
    for bad in ("${a} = ", "${a} == 'x'", "foo(${a})", "${a} = 'x' and"):
        with pytest.raises(XPathError):
            compile_checked(bad)
    p = codebook(tmp_path / "cb.xlsx", [["integer", "q", "Q", "", "", "${nope} = 'x'"]], [])
    with pytest.raises(ConfigError, match="relevant.*nope"):
        load_codebook(p)


def test_likert_needs_numeric_points(tmp_path):
    p = codebook(tmp_path / "cb.xlsx", [["select_one sc", "i1", "I1", "", "", "", "d1"]],
                 [["sc", "low", "低"], ["sc", "high", "高"]])
    # names are not numbers but codes (positions) are: points 1, 2
    cb = load_codebook(p)
    assert cb.lists["sc"].points() == [1.0, 2.0]
    assert cb.dimension_order() == ["d1"]


def test_shipped_codebooks_load():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "config" / "survey"
    hl = load_codebook(root / "hengli_codebook.xlsx")
    assert [q.name for q in hl.questions if q.tabulate] == ["企业性质", "年销售收入", "企业年龄", "员工人数", "资金缺口",
                                                            "资金用途", "补充资金的主要渠道"]
    assert hl.handed_out == 109
    c4 = load_codebook(root / "4c_codebook.xlsx")
    assert c4.dimension_order() == ["needs", "cost", "convenience", "communication"]
