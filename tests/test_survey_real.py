"""Surveys as they really arrive: the four silent miscounts of issue 14, XLSForm features, layouts."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import table_xlsx as sheet
from openpyxl import Workbook

from cluster_credit_cli.problems import ConfigError
from cluster_credit_cli.survey.codebook import load_codebook
from cluster_credit_cli.survey.stats import analyse


def xlsform(path: Path, survey: list[list], choices: list[list], *, survey_head=("type", "name", "label", "relevant"),
            choice_head=("list_name", "name", "label"), settings: dict | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "survey"
    ws.append(list(survey_head))
    for r in survey:
        ws.append(list(r))
    ws = wb.create_sheet("choices")
    ws.append(list(choice_head))
    for r in choices:
        ws.append(list(r))
    if settings:
        ws = wb.create_sheet("settings")
        ws.append(list(settings))
        ws.append(list(settings.values()))
    wb.save(path)
    return path




def by_name(res):
    return {q.name: q for q in res.questions}


def counts(q):
    return [c.count for c in q.categories]


# -- 1. a group's relevant applies to every question inside it --------------------------------

def test_group_relevant_applies_to_its_questions(tmp_path):
    cb = xlsform(tmp_path / "cb.xlsx", [
        ["select_one yn", "consent", "Consent?"],
        ["begin group", "g", "Details", "${consent} = 'yes'"],
        ["integer", "age", "Age"],
        ["begin group", "inner", "Inner", "${age} >= 18"],
        ["select_one yn", "own", "Own a firm?"],
        ["end group"],
        ["end group"],
    ], [["yn", "yes", "Yes"], ["yn", "no", "No"]])
    head = ["consent", "g/age", "g/inner/own"]
    rows = [["yes", 30, "yes"]] * 6 + [["no", None, None]] * 4
    rows[5] = ["yes", 16, None]  # adult condition of the nested group: not asked
    data = sheet(tmp_path / "d.xlsx", head, rows)
    res = analyse(data, cb)
    st = by_name(res)
    assert counts(st["consent"]) == [6, 4]  # today's code: Yes 6 = 100 %, the 4 "no" dropped as invalid
    assert st["consent"].n == 10 and res.data.n_valid == 10
    assert (st["age"].n, st["age"].not_asked) == (6, 4)
    assert (st["own"].n, st["own"].not_asked, counts(st["own"])) == (5, 5, [5, 0])  # nested: both conditions
    assert not res.problems.items


# -- 2. numeric choice names are never glued together -----------------------------------------

def test_space_separated_numeric_names_are_two_choices(tmp_path):
    cb = xlsform(tmp_path / "cb.xlsx", [["select_multiple m", "months", "Months"], ["select_one m", "best", "Best"]],
                 [["m", str(i), f"M{i}"] for i in range(1, 13)])
    data = sheet(tmp_path / "d.xlsx", ["months", "best"], [["1 2", "12"], ["12", "1 2"], ["3", "3"]])
    res = analyse(data, cb)
    st = by_name(res)
    got = dict(zip([c.name for c in st["months"].categories], counts(st["months"])))
    assert (got["1"], got["2"], got["12"], got["3"]) == (1, 1, 1, 1)  # today: "1 2" counted as 12
    assert dict(zip([c.name for c in st["best"].categories], counts(st["best"])))["12"] == 1
    assert [(p.row, p.code) for p in res.problems] == [(3, "unknown_answer")]  # "1 2" is no single choice


# -- 3. split option columns whose option looks like a unit -----------------------------------

def test_split_column_option_looking_like_a_unit(tmp_path):
    cb = xlsform(tmp_path / "cb.xlsx", [["select_multiple dur", "duration", "Loan duration"]],
                 [["dur", "days", "Days"], ["dur", "months", "Months"], ["dur", "years", "Years"]])
    data = sheet(tmp_path / "d.xlsx", ["duration/days", "duration/months", "duration/years"],
                 [[1, 0, 0], [0, 0, 1], [0, 1, 1], [1, 0, 0]])
    res = analyse(data, cb)
    st = by_name(res)["duration"]
    assert counts(st) == [2, 1, 2]  # today: the years column read as codes, 2 "years" counted as Days
    assert st.n == 4
    assert not res.problems.items
    assert "one column per option" in analyse(data, cb, lang="en").data.layout_en


# -- 4. an answer matching no name, label or explicit code is reported -------------------------

def test_out_of_range_code_is_reported_not_read_by_position(tmp_path):
    cb = xlsform(tmp_path / "cb.xlsx", [["select_one b", "loan", "Got a loan"]], [["b", "0", "No"], ["b", "1", "Yes"]])
    data = sheet(tmp_path / "d.xlsx", ["loan"], [[0], [1], [2], [1]])
    res = analyse(data, cb)
    st = by_name(res)["loan"]
    assert counts(st) == [1, 2] and st.unknown == 1  # today: "2" counted as the 2nd choice, Yes 3
    assert [(p.row, p.column, p.code) for p in res.problems] == [(4, "loan", "unknown_answer")]
    # positions only when the codebook says so, and then the output says so
    cb2 = xlsform(tmp_path / "cb2.xlsx", [["select_one b", "loan", "Got a loan"]],
                  [["b", "no", "No"], ["b", "yes", "Yes"]], settings={"positional_codes": "yes"})
    res2 = analyse(sheet(tmp_path / "d2.xlsx", ["loan"], [[1], [2], [2]]), cb2, lang="en")
    assert counts(by_name(res2)["loan"]) == [1, 2] and not res2.problems.items
    from cluster_credit_cli.survey.report import notes

    assert any("position" in n for n in notes(res2))
    # an explicit code column is always honoured
    cb3 = xlsform(tmp_path / "cb3.xlsx", [["select_one b", "loan", "Got a loan"]],
                  [["b", "no", "No", "2"], ["b", "yes", "Yes", "1"]], choice_head=("list_name", "name", "label", "code"))
    res3 = analyse(sheet(tmp_path / "d3.xlsx", ["loan"], [[1], [2], [2]]), cb3)
    assert counts(by_name(res3)["loan"]) == [2, 1] and not res3.problems.items


# -- 问卷星 downloads ------------------------------------------------------------------------

WJX_META = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP"]


def _wjx_rows():
    # (gender, channels, loan amount): a skip rule sends people without a loan past question 3
    return [("男", ["银行贷款", "民间借贷"], 50), ("女", ["银行贷款"], 20), ("男", [], None), ("女", ["自有资金"], 80),
            ("男", ["民间借贷", "自有资金"], None), ("女", ["银行贷款"], 10)]


def test_wjx_text_download(tmp_path):
    head = WJX_META + ["1、您的性别", "2、您的融资渠道", "3、贷款金额（万元）"]
    rows = []
    for i, (g, ch, amt) in enumerate(_wjx_rows(), start=1):
        rows.append([i, "2024/3/1 10:00:00", "60秒", "手机提交", "直接访问", "1.2.3.4(浙江-杭州)", g,
                     "┋".join(ch) if ch else "(空)", amt if amt is not None else "(跳过)"])
    data = sheet(tmp_path / "wjx_text.xlsx", head, rows)
    cb = xlsform(tmp_path / "cb.xlsx", [["select_one g", "Q1", "您的性别"], ["select_multiple ch", "Q2", "您的融资渠道"],
                                        ["decimal", "Q3", "贷款金额"]],
                 [["g", "1", "男"], ["g", "2", "女"], ["ch", "1", "银行贷款"], ["ch", "2", "民间借贷"], ["ch", "3", "自有资金"]])
    res = analyse(data, cb)
    st = by_name(res)
    assert counts(st["Q1"]) == [3, 3]
    assert counts(st["Q2"]) == [3, 2, 2] and (st["Q2"].n, st["Q2"].missing) == (5, 1)
    assert (st["Q3"].n, st["Q3"].not_asked, st["Q3"].missing) == (4, 2, 0)  # (跳过) is "not asked", not missing
    assert st["Q3"].summary["mean"] == 40
    assert "问卷星" in res.data.layout and not res.problems.items


def test_wjx_number_download_and_drafted_codebook(tmp_path):
    opts = ["银行贷款", "民间借贷", "自有资金"]
    head = WJX_META + ["1、您的性别"] + [f"2({o})" for o in opts] + ["3、贷款金额（万元）"]
    rows = []
    for i, (g, ch, amt) in enumerate(_wjx_rows(), start=1):
        rows.append([i, "2024/3/1 10:00:00", "60秒", "手机提交", "直接访问", "1.2.3.4", 1 if g == "男" else 2]
                    + ([int(o in ch) for o in opts] if ch else [-2] * 3) + [amt if amt is not None else -3])
    data = sheet(tmp_path / "wjx_num.xlsx", head, rows)
    cb = xlsform(tmp_path / "cb.xlsx", [["select_one g", "Q1", "您的性别"], ["select_multiple ch", "Q2", "您的融资渠道"],
                                        ["decimal", "Q3", "贷款金额"]],
                 [["g", "1", "男"], ["g", "2", "女"], ["ch", "1", "银行贷款"], ["ch", "2", "民间借贷"], ["ch", "3", "自有资金"]])
    res = analyse(data, cb)
    st = by_name(res)
    assert counts(st["Q1"]) == [3, 3]
    assert counts(st["Q2"]) == [3, 2, 2] and st["Q2"].n == 5
    assert (st["Q3"].n, st["Q3"].not_asked) == (4, 2) and st["Q3"].summary["mean"] == 40
    assert "-3" in res.data.layout and not res.problems.items
    # survey codebook drafts from such a file: metadata left out, option columns become one question
    from cluster_credit_cli.survey.draft import draft_codebook

    d = draft_codebook(data)
    assert [(q["name"], q["type"].split(" ")[0]) for q in d.survey] == [
        ("Q1", "select_one"), ("Q2", "select_multiple"), ("Q3", "select_one")]  # 4 distinct amounts: a short list
    assert [c["name"] for c in d.choices if c["list_name"] == "Q2_list"] == opts
    assert d.survey[0]["label"] == "您的性别"


def test_kobo_metadata_never_drafted(tmp_path):
    from cluster_credit_cli.survey.draft import draft_codebook

    data = sheet(tmp_path / "kobo.xlsx", ["start", "grp/q1", "grp/ch", "grp/ch/a", "grp/ch/b", "_id", "_uuid",
                                          "_submission_time", "_index", "_validation_status", "meta/instanceID"],
                 [["2024-01-01", "x", "a b", 1, 1, 1, "u1", "2024", 1, "", "uuid:1"],
                  ["2024-01-01", "y", "a", 1, 0, 2, "u2", "2024", 2, "", "uuid:2"]])
    d = draft_codebook(data)
    names = [q["name"] for q in d.survey]
    assert not any(n.startswith(("_", "meta")) or n == "start" for n in names), names
    assert len([q for q in d.survey if q["type"].startswith("select_multiple")]) == 1


# -- statistics gaps -------------------------------------------------------------------------

def test_weighted_median_is_the_median_of_the_expanded_sample():
    import numpy as np

    from cluster_credit_cli.survey.stats import weighted_median

    rng = np.random.default_rng(7)
    for _ in range(50):
        x = rng.normal(20, 5, rng.integers(1, 30)).round(2)
        w = rng.integers(0, 5, len(x)).astype(float)
        if w.sum() == 0:
            continue
        assert weighted_median(x, w) == pytest.approx(float(np.median(np.repeat(x, w.astype(int)))))
    assert weighted_median(np.array([18.0, 19.15, 30.0]), np.array([1.0, 3.0, 1.0])) == 19.15
    assert weighted_median(np.array([1.0, 2.0]), None) == 1.5


def test_weighted_tables_use_weighted_median_and_clean_n(tmp_path):
    cb = xlsform(tmp_path / "cb.xlsx", [["decimal", "income", "Income"]], [])
    rows = [[10.0, 0.1], [18.98, 0.1], [19.15, 243.544], [40.0, 0.1]]
    res = analyse(sheet(tmp_path / "d.xlsx", ["income", "w"], rows), cb, weight="w")
    st = by_name(res)["income"]
    assert st.summary["median"] == 19.15  # unweighted: (18.98 + 19.15) / 2
    assert st.n == 243.844 and repr(st.n) == "243.844"  # not 243.84400000000002


def test_crosstab_cramers_v_and_honest_row_totals(tmp_path):
    import numpy as np
    from scipy.stats.contingency import association

    from cluster_credit_cli.survey.report import crosstab_blocks
    from cluster_credit_cli.survey.stats import crosstab, read_responses

    cb = xlsform(tmp_path / "cb.xlsx", [["select_one a", "r", "R"], ["select_one b", "c", "C"]],
                 [["a", "x", "X"], ["a", "y", "Y"], ["b", "p", "P"], ["b", "q", "Q"], ["b", "s", "S"], ["b", "t", "T"]])
    # row x: 9/60/93/39 of 201 -> 4.5 29.9 46.3 19.4 (sum 100.1); row y: a plain mix
    rows = [["x", k] for k, m in zip("pqst", (9, 60, 93, 39)) for _ in range(m)]
    rows += [["y", k] for k, m in zip("pqst", (30, 20, 10, 40)) for _ in range(m)]
    data = read_responses(sheet(tmp_path / "d.xlsx", ["r", "c"], rows), load_codebook(cb))
    (t,) = crosstab(data, "r", "c")
    assert t.cramers_v == pytest.approx(association(np.array(t.counts), method="cramer", correction=False))
    blocks = crosstab_blocks(t, "en")
    x_row = next(b for b in blocks[blocks.index([]) + 1:] if b and b[0] == "X")
    assert x_row[1:] == [4.5, 29.9, 46.3, 19.4, 100.1]  # today: the total says 100.0
    assert "Cramér's V" in __import__("cluster_credit_cli.survey.report", fromlist=["x"]).test_text(t, "en")


# -- LibreOffice-saved files: 1,024 formatted columns, a million formatted rows ---------------

def test_sparse_preflight_reads_libreoffice_ranges_but_not_far_values(tmp_path):
    from hostile import sheet_xml, write_xlsx

    from cluster_credit_cli.inputs.filecheck import Limits, preflight

    formatted = '<row r="5"><c r="AMJ5" s="1"/></row><row r="1048576" s="1" customFormat="true"></row>'
    lo = write_xlsx(tmp_path / "lo.xlsx", [("survey", "visible", sheet_xml([["type", "name"], ["text", "q"]],
                                                                           dimension="A1:AMJ1048576",
                                                                           extra_cells=formatted))])
    assert not preflight(lo, max_rows=2_000_000, max_cols=500).ok  # the default judges the declared range
    assert preflight(lo, max_rows=2_000_000, max_cols=500, limits=Limits(sparse=True)).ok
    far = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    bomb = write_xlsx(tmp_path / "far.xlsx", [("survey", "visible", sheet_xml([["type"]], extra_cells=far))])
    v = preflight(bomb, max_rows=2_000_000, max_cols=500, limits=Limits(sparse=True))
    assert (v.ok, v.code) == (False, "sheet_too_large")  # a value far away is still refused


# -- begin repeat: the repeat's own sheet, per instance and per respondent --------------------

def test_repeat_questions_from_the_repeat_sheet(tmp_path):
    cb = xlsform(tmp_path / "cb.xlsx", [
        ["select_one yn", "has_loans", "Any loans?"],
        ["begin repeat", "loan", "Loans", "${has_loans} = 'yes'"],
        ["select_one src", "source", "Source"],
        ["decimal", "amount", "Amount"],
        ["end repeat"],
    ], [["yn", "yes", "Yes"], ["yn", "no", "No"], ["src", "bank", "Bank"], ["src", "friends", "Friends"]])
    wb = Workbook()
    ws = wb.active
    ws.title = "Loans survey"
    ws.append(["has_loans", "_id", "_uuid", "_index"])
    for i, a in enumerate(["yes", "yes", "no", "yes"], start=1):
        ws.append([a, i, f"u{i}", i])
    ws = wb.create_sheet("loan")
    ws.append(["loan/source", "loan/amount", "_index", "_parent_table_name", "_parent_index"])
    for k, (src, amt, parent) in enumerate([("bank", 10, 1), ("bank", 20, 1), ("friends", 5, 1), ("bank", 30, 2),
                                             ("friends", 7, 4)], start=1):
        ws.append([src, amt, k, "Loans survey", parent])
    wb.save(tmp_path / "kobo.xlsx")
    res = analyse(tmp_path / "kobo.xlsx", cb, lang="en")
    blocks = {q.label: q for q in res.questions}
    inst = blocks["Source (loan, per instance)"]
    assert counts(inst) == [3, 2] and inst.n == 5
    per = blocks["Source (loan, per respondent)"]
    assert counts(per) == [2, 2] and per.n == 3  # respondents 1 and 2 used a bank, 1 and 4 friends
    amt = blocks["Amount (loan, per instance)"]
    assert amt.n == 5 and amt.summary["mean"] == 14.4
    assert counts(blocks["Any loans?"]) == [3, 1]
    assert not res.data.codebook.skipped and not res.problems.items


# -- a codebook's problems all at once; label languages ---------------------------------------

def test_every_codebook_problem_in_one_message(tmp_path):
    cb = xlsform(tmp_path / "cb.xlsx", [
        ["select_one nolist", "a", "A"], ["integer", "b", "B", "pulldata('x') = 1"], ["frobnicate", "d", "D"],
        ["text", "a", "again"], ["integer", "e", "E", "${nope} > 1"],
    ], [["yn", "yes", "Yes"], ["yn", "yes", "Yes again"]])
    with pytest.raises(ConfigError) as exc:
        load_codebook(cb)
    msg = str(exc.value)
    assert "6 problems" in msg
    for needle in ("row 2: list 'nolist'", "row 3: relevant: uses pulldata()", "row 4: type 'frobnicate'",
                   "row 5: name 'a' is used twice", "row 6: relevant refers to ${nope}", "sheet choices, row 3"):
        assert needle in msg, needle


def test_label_languages_and_list_name_with_a_space(tmp_path):
    cb = xlsform(tmp_path / "cb.xlsx", [["select_one yn", "ok", "Satisfied?", "满意吗？"]],
                 [["yn", "yes", "Yes", "是"], ["yn", "no", "No", "否"], ["yn", "NO", "no!", "不"]],
                 survey_head=("type", "name", "label::English (en)", "label::中文 (zh)"),
                 choice_head=("list name", "name", "label:English (en)", "label:中文 (zh)"))
    book = load_codebook(cb, language="zh")
    assert book.question("ok").label == "满意吗?" and book.question("ok").label_en == "Satisfied?"
    assert [c.label for c in book.lists["yn"].choices] == ["是", "否", "不"]  # names differing in case: 3 choices
    assert load_codebook(cb).language == "english (en)"  # no plain label column: the first language
    with pytest.raises(ConfigError, match="--language 'fr'"):
        load_codebook(cb, language="fr")
    res = analyse(sheet(tmp_path / "d.xlsx", ["满意吗？"], [["是"], ["NO"], ["no"], ["不"]]), cb, language="zh")
    assert counts(by_name(res)["ok"]) == [1, 1, 2] and not res.problems.items


def test_joined_and_split_columns_must_agree(tmp_path):
    cb = xlsform(tmp_path / "cb.xlsx", [["select_multiple s", "src", "Sources"]],
                 [["s", "bank", "Bank"], ["s", "own", "Own"]])
    data = sheet(tmp_path / "d.xlsx", ["src", "src/bank", "src/own", "_uuid"],
                 [["bank own", 1, 1, "a"], ["bank", 1, 0, "b"], ["own", 1, 0, "c"]])
    res = analyse(data, cb)
    assert counts(by_name(res)["src"]) == [2, 2]  # the joined column is read
    assert [(p.row, p.code, p.severity) for p in res.problems] == [(4, "split_columns_disagree", "warning")]


def test_dates_constraints_and_empty_markers(tmp_path):
    cb = xlsform(tmp_path / "cb.xlsx", [["date", "visit", "Visit", ""], ["integer", "staff", "Staff", ""],
                                        ["text", "note", "Remark", ""]], [],
                 survey_head=("type", "name", "label", "constraint"))
    from openpyxl import load_workbook

    wb = load_workbook(cb)
    wb["survey"]["D3"] = ". >= 1 and . < 1000"
    wb.save(cb)
    import datetime as dt

    data = sheet(tmp_path / "d.xlsx", ["visit", "staff", "note"],
                 [[dt.date(2024, 1, 5), 10, "ok"], ["2024-01-20", 0, "(空)"], ["2024-03-02", 5000, "x"],
                  ["not a date", 3, "y"]])
    res = analyse(data, cb, lang="en")
    st = by_name(res)
    assert st["visit"].n == 3 and st["visit"].unknown == 1
    assert (st["visit"].summary["min"], st["visit"].summary["max"]) == (19727.0, 19784.0)  # 2024-01-05, 2024-03-02
    assert [(c.label, c.count) for c in st["visit"].categories] == [("2024-01", 2), ("2024-03", 1)]
    assert st["note"].n == 3 and st["note"].missing == 1  # (空) is an empty answer
    got = sorted((p.row, p.column, p.code) for p in res.problems)
    assert got == [(3, "staff", "constraint_failed"), (4, "staff", "constraint_failed"), (5, "visit", "unknown_answer")]


def test_odk_central_draft_reads_space_separated_choice_names():
    from cluster_credit_cli.survey.draft import draft_codebook

    d = draft_codebook(Path(__file__).parent.parent / "sample_data" / "survey_exports" / "odk_central.csv")
    assert [(q["name"], q["type"].split(" ")[0]) for q in d.survey] == [
        ("loan", "select_one"), ("detail_amount", "select_one"), ("detail_source", "select_multiple")]
    assert sorted(c["name"] for c in d.choices if c["list_name"] == "detail_source_list") == ["bank", "friends"]


def test_tencent_metadata_not_drafted(tmp_path):
    from cluster_credit_cli.survey.draft import draft_codebook

    head = ["编号", "开始答题时间", "结束答题时间", "答题时长", "地理位置国家和地区", "地理位置省", "地理位置市", "用户类型",
            "用户标识", "昵称", "自定义字段", "1.企业规模", "2.是否获得贷款"]
    rows = [[i, "2024-05-01 10:00:00", "2024-05-01 10:03:00", "180秒", "中国", "浙江", "嘉兴", "微信", f"o{i}", "x", "",
             ["小型", "微型"][i % 2], ["是", "否"][i % 3 == 0]] for i in range(1, 7)]
    d = draft_codebook(sheet(tmp_path / "tx.xlsx", head, rows))
    assert [(q["name"], q["label"]) for q in d.survey] == [("Q1", "企业规模"), ("Q2", "是否获得贷款")]


def test_dates_in_csv_and_markdown_are_dates(tmp_path):
    from cluster_credit_cli.survey.report import to_csv, to_markdown

    cb = xlsform(tmp_path / "cb.xlsx", [["date", "visit", "Visit"]], [])
    res = analyse(sheet(tmp_path / "d.xlsx", ["visit"], [["2024-01-05"], ["2024-03-02"]]), cb, lang="en")
    text = to_csv(res)
    assert "_min,Min,2024-01-05" in text and "_max,Max,2024-03-02" in text
    assert "| 2024-01-05 |" in to_markdown(res)


def test_kobo_label_export_of_multiple_choice(tmp_path):
    cb = xlsform(tmp_path / "cb.xlsx", [["select_multiple s", "src", "Sources"]],
                 [["s", "own", "Own funds"], ["s", "private", "Private lending"], ["s", "bank", "Bank"]])
    data = sheet(tmp_path / "d.xlsx", ["Sources"], [["Own funds Private lending"], ["Bank Own funds"], ["Bank Cash"]])
    res = analyse(data, cb)
    assert counts(by_name(res)["src"]) == [2, 1, 2]
    assert [(p.row, p.code) for p in res.problems] == [(4, "unknown_answer")]  # 'Cash' is reported, Bank counted


def test_kobo_label_headers_with_group_labels(tmp_path):
    cb = Path(__file__).parent.parent / "config" / "survey" / "loan_xlsform.xlsx"
    data = sheet(tmp_path / "d.xlsx", ["是否获得贷款", "贷款情况/贷款金额（万元）", "贷款情况/资金来源", "_uuid"],
                 [["是", 5, "银行"], ["否", None, None], ["是", 7, "银行 亲友"]])
    res = analyse(data, cb)
    st = by_name(res)
    assert (st["amount"].n, st["amount"].not_asked, counts(st["source"])) == (2, 1, [2, 1])
    assert not res.problems.items


def test_a_question_named_like_an_option_column_keeps_its_column(tmp_path):
    cb = xlsform(tmp_path / "cb.xlsx", [["select_multiple s", "loan", "贷款"], ["integer", "term", "贷款-期限"]],
                 [["s", "bank", "银行"], ["s", "friends", "亲友"]])
    data = sheet(tmp_path / "d.xlsx", ["贷款", "贷款-期限"], [["银行", 12], ["亲友 银行", 6]])
    res = analyse(data, cb)
    st = by_name(res)
    assert counts(st["loan"]) == [2, 1] and st["term"].summary["mean"] == 9
    assert not res.problems.items


def test_wjx_matrix_rows_each_find_their_own_column(tmp_path):
    # codebook order differs from column order: each row of the matrix must still find its own column
    cb = xlsform(tmp_path / "cb.xlsx", [["select_one sat", "speed", "办事效率"], ["select_one sat", "attitude", "服务态度"]],
                 [["sat", "1", "满意"], ["sat", "2", "一般"], ["sat", "3", "不满意"]])
    data = sheet(tmp_path / "d.xlsx", WJX_META + ["4(服务态度)", "4(办事效率)"],
                 [[1, "t", "1秒", "x", "y", "ip", 1, 3], [2, "t", "1秒", "x", "y", "ip", 1, 3], [3, "t", "1秒", "x", "y", "ip", 2, 3]])
    res = analyse(data, cb)
    st = by_name(res)
    assert counts(st["attitude"]) == [2, 1, 0] and counts(st["speed"]) == [0, 0, 3]
    assert not res.problems.items
