"""Issue 12: no silent misreads, and messages a secretary can act on.

Every case is written by the test as a secretary would meet it — a template filled with a typo
in a header, a firm absent from the audit file, a broken code whose correction belongs to another
applicant, numbers typed ambiguously — and the exact message and exit code are asserted.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import (ABSENT, AUDITOR_HEADER, applicant, auditor, build_round, code, ent, name, row_of, run_round,
                      write_xlsx)
from typer.testing import CliRunner

from cluster_credit_cli.cli import app
from cluster_credit_cli.inputs.headers import edit_distance, resembles
from cluster_credit_cli.inputs.reading import header_index, read_source
from cluster_credit_cli.problems import Problems

AS_OF = "2026-06-30"
runner = CliRunner()


def invoke(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "80", **(env or {})})


# -- 1. a mistyped header is a problem, never a silently dropped column --------------------------

@pytest.mark.parametrize("typed,how", [("流动负责（万元）", "typo"), ("流動負債", "script"), ("负债流动", "order"),
                                       ("流动负债〔万元〕", "unit"), ("流动负债万元", "unit")])
def test_header_that_resembles_a_known_one(model, typed, how):
    assert resembles(typed, header_index(model, "auditor")) == ("current_liabilities", how)


@pytest.mark.parametrize("typed", ["备注", "序号", "审核人", "经办人", "注册资本", "Remarks"])
def test_unrelated_headers_are_just_unknown(model, typed):
    assert resembles(typed, header_index(model, "applicants")) is None


def test_edit_distance():
    assert edit_distance("流动负责", "流动负债") == 1
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("a", "abcdefgh", limit=2) == 3


def test_typo_in_audit_header_is_an_error_with_exit_1(tmp_path):
    paths = build_round(tmp_path, [ent(1), ent(2)])
    write_xlsx(paths["auditor"], [auditor(1), auditor(2)], AUDITOR_HEADER, rename={"流动负债": "流动负责(万元)"})
    res = invoke("score", paths["applicants"], "--as-of", AS_OF, "--no-db", env={"COLUMNS": "300"})
    assert res.exit_code == 1, res.output
    assert "输入文件未发现问题" not in res.output
    assert ("列“流动负责(万元)”不是已知的列，看起来是“流动负债”（有字写错、多写或漏写）；这一列没有读取。"
            "请把表头改为“流动负债”后重新运行") in res.output
    assert "未识别的列（未读取）：会计师事务所审计数据.xlsx：流动负责(万元)" in res.output


def test_typo_problem_names_file_sheet_row_column(tmp_path, model):
    path = write_xlsx(tmp_path / "审计.xlsx", [auditor(1)], AUDITOR_HEADER, rename={"流动负债": "流動負債"},
                      title=["2025年度审计数据"])
    problems = Problems()
    table = read_source(path, "auditor", model, problems, lang="en")
    [p] = list(problems)
    assert (p.file, p.sheet, p.row, p.column, p.code, p.severity) == (
        "审计.xlsx", "Sheet1", 2, "流動負債", "header_typo", "error")
    assert p.message == ("column '流動負債' is not a known column; it looks like '流动负债' (Current liabilities; "
                         "traditional characters), so it was not read. Rename the header to '流动负债' and run again")
    assert "current_liabilities" not in table.data and table.unknown == ["流動負債"]


def test_unknown_resembling_a_column_already_present_is_not_an_error(tmp_path, model):
    rows = [auditor(1, **{"流动负责": 5})]
    path = write_xlsx(tmp_path / "审计.xlsx", rows, [*AUDITOR_HEADER, "流动负责"])
    problems = Problems()
    table = read_source(path, "auditor", model, problems)
    assert not problems and table.unknown == ["流动负责"]


def test_unknown_columns_listed_in_the_run_sheet(tmp_path):
    from openpyxl import load_workbook

    paths = build_round(tmp_path, [ent(1)])
    write_xlsx(paths["applicants"], [applicant(1, 审核人="王", 序号=1)])
    out = tmp_path / "out.xlsx"
    res = invoke("score", paths["applicants"], "--as-of", AS_OF, "--no-db", "--out", out, env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "未识别的列（未读取）：申报材料汇总.xlsx：审核人、序号" in res.output
    ws = load_workbook(out)["运行信息"]
    rows = {r[0]: r[1] for r in ws.iter_rows(values_only=True)}
    assert rows["未识别的列（未读取）：申报材料汇总.xlsx"] == "审核人、序号"


# -- 2. numbers: unambiguous forms only; negative amounts are problems ---------------------------

@pytest.mark.parametrize("text,value", [
    ("1,234.5", 1234.5), ("1234.5", 1234.5), ("１２３４", 1234), ("1,234,567", 1234567), ("-12.5", -12.5),
    ("(1,000)", -1000), ("12%", 0.12), (".5", 0.5),
    ("1,2,3", None), ("1.000,50", None), ("12,34", None), ("1,2345", None), ("1.2.3", None), ("1 2", None),
    ("3亿元", None), ("--5", None), ("1e5", None)])
def test_unambiguous_numbers_only(text, value):
    from cluster_credit_cli.inputs.reading import parse_number_text

    assert parse_number_text(text, ("万元", "万")) == value


def test_ambiguous_numbers_are_problems_with_the_cell(tmp_path, model):
    rows = [auditor(1, 资产总额="1,2,3", 负债总额="1.000,50", 流动资产="300万元", 流动负债="3亿元", 营业收入="2,000")]
    path = write_xlsx(tmp_path / "audit.xlsx", rows, AUDITOR_HEADER)
    problems = Problems()
    table = read_source(path, "auditor", model, problems)
    r = table.data.iloc[0]
    assert r["current_assets"] == 300 and r["revenue"] == 2000
    assert r[["total_assets", "total_liabilities", "current_liabilities"]].isna().all()
    got = [(p.row, p.column, p.code, p.message) for p in problems]
    assert got == [
        (2, "资产总额", "bad_number", "“1,2,3”不是明确的数字：请只填一个数字，如 1234.5 或 1,234.5（单位万元）；"
                                      "千位分隔符每三位一个，小数点只用一个"),
        (2, "负债总额", "bad_number", "“1.000,50”不是明确的数字：请只填一个数字，如 1234.5 或 1,234.5（单位万元）；"
                                      "千位分隔符每三位一个，小数点只用一个"),
        (2, "流动负债", "bad_number", "“3亿元”不是明确的数字：请只填一个数字，如 1234.5 或 1,234.5（单位万元）；"
                                      "千位分隔符每三位一个，小数点只用一个")]


def test_negative_amounts_assets_revenue_are_problems_profit_is_not(tmp_path):
    result = run_round(tmp_path, [ent(1, app={"申请贷款金额（万元）": -300}),
                                  ent(2, aud={"资产总额": -1000, "营业收入": "-2,000", "净利润": -50})], lang="en")
    got = sorted((p.row, p.column, p.code, p.message) for p in result.problems)
    assert got == [
        (2, "申请贷款金额(万元)", "negative_number",
         "'-300' is below 0: Requested loan cannot be negative; the cell is not used — correct it"),
        (3, "营业收入", "negative_number",
         "'-2,000' is below 0: Revenue cannot be negative; the cell is not used — correct it"),
        (3, "资产总额", "negative_number",
         "'-1000' is below 0: Total assets cannot be negative; the cell is not used — correct it")]
    assert "incomplete" in row_of(result, 1)["status"] and "incomplete" in row_of(result, 2)["status"]
    assert result.merged.values.loc[code(2), "net_profit"] == -50


# -- 3. a broken code's suggested correction never points at another applicant -------------------

def _broken(n: int) -> str:
    """Enterprise n's code with a wrong check digit."""
    good = code(n)
    return good[:17] + ("0" if good[17] != "0" else "1")


def test_broken_code_whose_correction_is_another_applicants(tmp_path):
    paths = build_round(tmp_path, [ent(1), ent(2)])
    rows = [applicant(1), applicant(2), applicant(3, 统一社会信用代码=_broken(1), 企业名称="东莞市错码模具有限公司")]
    write_xlsx(paths["applicants"], rows)
    sources = {k: v for k, v in paths.items() if k != "applicants"}
    from conftest import default_model

    from cluster_credit_cli.rating.pipeline import score_round

    result = score_round(paths["applicants"], sources, model=default_model(), as_of=dt.date(2026, 6, 30))
    [p] = list(result.problems)
    assert (p.row, p.code) == (4, "bad_code")
    assert p.message == (f"“{_broken(1)}”（东莞市错码模具有限公司）：校验码错误；只改最后一位得到的 {code(1)} "
                         f"是第 2 行“{name(1)}”的代码，不能这样改。请按营业执照核对本企业的代码；本行未合并")
    assert row_of(result, 1)["status"] == []  # the other firm is untouched
    result = score_round(paths["applicants"], sources, model=default_model(), as_of=dt.date(2026, 6, 30), lang="en")
    assert result.problems.items[0].message == (
        f"'{_broken(1)}' (东莞市错码模具有限公司): the check digit is wrong; changing the last character gives "
        f"{code(1)}, which is the code of row 2 ({name(1)}), so that is not the fix. Check this firm's code "
        "against its business licence; this row is not merged")


def test_broken_code_with_a_free_correction_names_the_firm_and_the_digit(tmp_path):
    paths = build_round(tmp_path, [ent(1)])
    write_xlsx(paths["applicants"], [applicant(1), applicant(5, 统一社会信用代码=_broken(5))])
    res = invoke("score", paths["applicants"], "--as-of", AS_OF, "--no-db", "--json", "-", "-q")
    import json

    [p] = json.loads(res.stdout)["problems"]
    assert p["message"] == (f"“{_broken(5)}”（{name(5)}）：校验码错误（最后一位应为 {code(5)[17]}）；"
                            "本行未合并，请更正代码")


def test_two_firms_sharing_one_code_is_not_a_duplicate_entry(tmp_path):
    paths = build_round(tmp_path, [ent(1), ent(2)])
    write_xlsx(paths["applicants"], [applicant(1), applicant(2), applicant(1, 企业名称="东莞市另一家模具有限公司"),
                                     applicant(2)])
    from conftest import default_model

    from cluster_credit_cli.rating.pipeline import score_round

    sources = {k: v for k, v in paths.items() if k != "applicants"}
    result = score_round(paths["applicants"], sources, model=default_model(), as_of=dt.date(2026, 6, 30))
    got = [(p.row, p.code, p.message) for p in result.problems]
    assert got == [
        (2, "shared_code", f"{code(1)} 被 2 家不同的企业使用：第 2 行“{name(1)}”、第 4 行“东莞市另一家模具有限公司”；"
                           "至少有一个代码是错的。请按营业执照核对各家的代码并更正，在此之前这几行都不予评分"),
        (3, "duplicate_applicant", f"{code(2)}（{name(2)}）在申报表中出现 2 行（第 3、5 行）；请只保留一行，在此之前不予评分")]
    assert row_of(result, 1)["reasons"] == ["申报表中有几家不同的企业使用这个代码，至少有一个代码是错的，请核对"]
    assert row_of(result, 2)["reasons"] == ["申报表中同一代码有多行，请保留一行"]


# -- 9. `ccredit … | head` ends quietly ----------------------------------------------------------

@pytest.mark.parametrize("args", [["model", "show"], ["model", "check"], ["--help"]])
def test_closed_pipe_ends_quietly(args):
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    read, write = os.pipe()
    os.close(read)  # the reader is gone before ccredit writes a byte (what `| head` does, at once)
    proc = subprocess.run([sys.executable, "-m", "cluster_credit_cli", *args], stdout=write,
                          stderr=subprocess.PIPE, text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    os.close(write)
    assert proc.stderr == ""  # was: "unexpected error: BrokenPipeError"
    # 141 (SIGPIPE) where ccredit sees the error; 1 where click's own handler ends it at the last flush
    assert proc.returncode in (141, 1)


# -- 4. missing materials by the document that should carry them --------------------------------

def test_firm_absent_from_the_audit_file(tmp_path):
    import json

    from openpyxl import load_workbook

    paths = build_round(tmp_path, [ent(1), ent(2, aud=ABSENT)])
    out, js = tmp_path / "r.xlsx", tmp_path / "r.json"
    res = invoke("score", paths["applicants"], "--as-of", AS_OF, "--no-db", "--out", out, "--json", js,
                 env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output  # nothing wrong in a file: the firm is incomplete
    said = "会计师事务所审计数据中没有该企业（影响：偿债能力、营运能力、盈利能力、发展能力）"
    lines = res.output.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith(code(2)))
    assert lines[i + 1].strip() == f"材料不全：{said}"
    assert json.loads(js.read_text(encoding="utf-8"))["enterprises"][1]["missing"] == [said]
    wb = load_workbook(out, read_only=True)
    ratings = {r[1]: r for r in wb["评级结果"].iter_rows(values_only=True)}
    assert ratings[code(2)][7:9] == ("材料不全", said)  # 原因 is filled for 材料不全 too
    missing = {r[0]: r for r in wb["缺失材料"].iter_rows(values_only=True)}
    assert missing[code(2)][3] == said

    fb = tmp_path / "fb.xlsx"
    res = invoke("check", paths["applicants"], "--as-of", AS_OF, "--out", fb, "--lang", "en", env={"COLUMNS": "200"})
    assert res.exit_code == 1
    assert "2 applicants, 1 to complete, correct or check" in res.output
    rows = {r[0]: r for r in load_workbook(fb, read_only=True)["Materials feedback"].iter_rows(values_only=True)}
    assert rows[code(2)][3] == ("the Accounting firm file has no row for this firm (affects Solvency, "
                                "Operating efficiency, Profitability, Growth)")
    assert rows[code(2)][5] == ("send this firm's Accounting firm data (affects Solvency, Operating efficiency, "
                                "Profitability, Growth)")
    assert tuple(v or None for v in rows[code(1)][2:]) == ("complete", None, None, None)


def test_zero_divisor_in_user_words(tmp_path):
    result = run_round(tmp_path, [ent(1, aud={"上年营业收入": 0})])
    assert row_of(result, 1)["missing"] == ["上年营业收入为 0，无法计算营业收入增长率"]
    result = run_round(tmp_path / "en", [ent(1, aud={"上年营业收入": 0})], lang="en")
    assert row_of(result, 1)["missing"] == ["Revenue last year is 0, so Revenue growth cannot be computed"]


# -- 6. check agrees with itself ----------------------------------------------------------------

def test_check_settled_differences_panel_and_name_mismatch(tmp_path):
    from openpyxl import load_workbook

    paths = build_round(tmp_path, [
        ent(1, pnl={"技术水平": 3}),                           # panel over self-report: settled, not shown
        ent(2, aud={"企业名称": "东莞市测试2号模具公司"}),        # a name mismatch
        ent(3, app={"战略定位": None, "企业使命": None})])       # incomplete
    fb = tmp_path / "fb.xlsx"
    res = invoke("check", paths["applicants"], "--as-of", AS_OF, "--out", fb, env={"COLUMNS": "200"})
    assert res.exit_code == 1
    lines = [line.strip() for line in res.output.splitlines()]
    assert "需要补正或核对的企业：2 家" in lines
    assert f"{code(2)}  {name(2)}" in lines and f"{code(3)}  {name(3)}" in lines
    assert f"{code(1)}  {name(1)}" not in lines
    assert "申报企业 3 家，其中 2 家需要补正或核对" in lines
    rows = {r[0]: r for r in load_workbook(fb, read_only=True)["材料审核反馈"].iter_rows(values_only=True)}
    assert tuple(v or None for v in rows[code(1)][2:]) == ("材料完整", None, None, None)  # the panel's rating is not shown to applicants
    assert rows[code(2)][2] == "需核对"
    assert rows[code(2)][5] == "请核对企业名称：会计师事务所审计数据为“东莞市测试2号模具公司”"
    assert tuple(v or None for v in rows[code(3)][3:]) == ("申报材料未填：战略定位、企业使命", None,
                                                          "请在申报材料中填写：战略定位、企业使命")


# -- 13. the README's commands leave a checkout clean ---------------------------------------------

def _readme_commands(text: str) -> list[list[str]]:
    """Every `ccredit …` command line of the README's code blocks (continuations joined)."""
    import re
    import shlex

    lines, out, fenced = text.splitlines(), [], False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            fenced = not fenced
        code = fenced or line.startswith("    ")
        while code and line.rstrip().endswith("\\") and not line.rstrip().endswith("\\\\") and i + 1 < len(lines):
            i += 1
            line = line.rstrip()[:-1] + " " + lines[i].strip()
        i += 1
        if not code:
            continue
        for m in re.finditer(r"(?:^|&&)\s*(ccredit\s[^#]*)", line.strip()):
            cmd = m.group(1).strip()
            if any(bad in cmd for bad in ("[", "\\\\", "|", "...", "…", "<")):  # syntax lines, UNC paths, pipes
                continue
            out.append(shlex.split(cmd)[1:])
    return out


def test_readme_commands_leave_git_status_clean(tmp_path, monkeypatch):
    import shutil
    import subprocess

    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    clone = tmp_path / "clone"
    for rel in filter(None, files.decode("utf-8").split("\0")):
        if (root / rel).is_file():
            (clone / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, clone / rel)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(git + ["init", "-q"], cwd=clone, check=True)
    subprocess.run(git + ["add", "-A"], cwd=clone, check=True)
    subprocess.run(git + ["commit", "-qm", "clean"], cwd=clone, check=True)
    commands = _readme_commands((clone / "README.md").read_text(encoding="utf-8"))
    assert ["score", "sample_data/申报材料汇总.xlsx", "--as-of", "2026-11-30"] in commands
    assert len(commands) >= 20
    monkeypatch.chdir(clone)
    codes = {}
    for args in commands:
        if args[:1] == ["score"] and "--sensitivity" in args:
            args = [a if a != "1000" else "20" for a in args]  # the same outputs, quicker
        res = runner.invoke(app, args, env={"COLUMNS": "80"})
        codes[" ".join(args)] = res.exit_code
    assert codes["score sample_data/申报材料汇总.xlsx --as-of 2026-11-30"] == 1  # it did run (sample problems)
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=clone,
                            capture_output=True, text=True, check=True).stdout
    assert status == "", status


# -- 11. the progress line ticks, and starts before reading ---------------------------------------

def test_progress_text_is_rendered_afresh_so_it_ticks():
    from cluster_credit_cli.progress import StageProgress, _Ticking

    p = StageProgress(enabled=False, lang="en")
    p("read")
    p("read")  # announced again by the pipeline: still one stage
    ticking = _Ticking(p)
    p._t0 -= 5
    assert ticking.__rich__() == "[1/4] reading the inputs …  5 s"
    p._t0 -= 10
    assert ticking.__rich__() == "[1/4] reading the inputs …  15 s"  # the same object, a later time


def test_progress_starts_before_the_model_is_loaded(tmp_path, monkeypatch):
    from cluster_credit_cli import progress as progress_mod
    from cluster_credit_cli.model import config as config_mod

    events = []
    real_load = config_mod.load_model
    monkeypatch.setattr(config_mod, "load_model", lambda *a, **k: (events.append("load_model"), real_load(*a, **k))[1])

    class Recorder(progress_mod.StageProgress):
        def __call__(self, name):
            events.append(name)
            super().__call__(name)

    monkeypatch.setattr(progress_mod.StageProgress, "for_cli", classmethod(lambda cls, q, lang: Recorder(False, lang)))
    paths = build_round(tmp_path, [ent(1)])
    res = invoke("score", paths["applicants"], "--as-of", AS_OF, "--no-db", "-q")
    assert res.exit_code == 0, res.output
    assert events[:2] == ["read", "load_model"] and events[2:] == ["read", "merge", "score", "write"]


# -- 10. the summary at 80 columns: codes whole, long lists cut, grades and pool last --------------

def test_long_round_summary_is_cut_and_ends_with_grades_and_pool(tmp_path):
    paths = build_round(tmp_path, [ent(n, app={"技术水平": None}) for n in range(1, 41)] + [ent(41)])
    res = invoke("score", paths["applicants"], "--as-of", AS_OF, "--no-db")
    assert res.exit_code == 0, res.output
    lines = res.output.rstrip("\n").splitlines()
    assert all(len(line.rstrip()) <= 80 for line in lines)
    assert "未评级企业：40 家" in lines
    assert "… 另有 25 家，见工作簿" in lines  # 15 shown
    assert sum(1 for line in lines if line[:18] in {code(n) for n in range(1, 41)}) == 15
    assert all(f"{code(n)}  {name(n)}" in lines for n in range(1, 16))  # the code whole, on one line
    assert lines[-1] == "资金池：已分配 300 / 10,000 万元"
    assert lines[-3].startswith("│ 未评级") and "40" in lines[-3]
    assert len(lines) < 80


def test_english_workbook_headings_have_no_chinese_units(tmp_path):
    from openpyxl import load_workbook

    paths = build_round(tmp_path, [ent(1)])
    out = tmp_path / "en.xlsx"
    res = invoke("score", paths["applicants"], "--as-of", AS_OF, "--no-db", "--out", out, "--lang", "en")
    assert res.exit_code == 0, res.output
    head = next(load_workbook(out, read_only=True)["Ratings"].iter_rows(max_row=1, values_only=True))
    assert "Requested (CNY 10k)" in head and "Suggested quota (CNY 10k)" in head and "Values (0.1)" in head
    assert "Pool: 300 of 10,000 allocated (CNY 10k)" in res.output


def test_a_refused_replace_is_said_in_the_runs_language(tmp_path):
    from cluster_credit_cli.atomic import WriteOutcome
    from cluster_credit_cli.i18n import diverted_note, use_lang

    o = WriteOutcome(tmp_path / "r.xlsx", tmp_path / "r (1).xlsx", "r.xlsx could not be replaced (open in another "
                     "program?); results kept as r (1).xlsx")
    with use_lang("zh"):
        assert diverted_note(o) == "r.xlsx 无法替换（可能正在其他程序中打开）；结果另存为 r (1).xlsx"
    with use_lang("en"):
        assert diverted_note(o) == o.note


# -- 8. `--json -` writes the JSON to standard output on every command that has --json -----------

def test_json_dash_on_every_command(tmp_path, monkeypatch):
    import json

    root = Path(__file__).resolve().parent.parent
    paths = build_round(tmp_path / "round", [ent(1), ent(2, app={"技术水平": 3})])
    app_file = paths["applicants"]
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "reg.db"
    assert invoke("score", app_file, "--as-of", AS_OF, "--db", db, "-q", "--json", tmp_path / "r.json").exit_code == 0
    assert invoke("score", app_file, "--as-of", "2026-07-31", "--db", db, "-q").exit_code == 0
    survey = [root / "sample_data" / "4C满意度问卷.xlsx", "--codebook", root / "config/survey/4c_codebook.xlsx"]
    cases = {
        "score": ["score", app_file, "--as-of", AS_OF, "--no-db", "--out", tmp_path / "s.xlsx"],
        "check": ["check", app_file, "--as-of", AS_OF, "--out", tmp_path / "c.xlsx"],
        "survey": ["survey", *survey, "--out", tmp_path / "sv.xlsx"],
        "crosstab": ["survey", "crosstab", *survey, "--rows", "企业规模", "--cols", "获得贷款",
                     "--out", tmp_path / "x.xlsx"],
        "entropy": ["weights", "entropy", tmp_path / "r.json"],
        "sensitivity": ["weights", "sensitivity", tmp_path / "r.json", "--draws", "10", "--seed", "1",
                        "--out", tmp_path / "se.xlsx"],
        "runs": ["runs", "--db", db], "history": ["history", code(1), "--db", db],
        "compare": ["compare", "--db", db, "--out", tmp_path / "cmp.xlsx"],
    }
    for what, args in cases.items():
        res = invoke(*args, "--json", "-")
        assert res.exit_code in (0, 1), (what, res.output)
        data = json.loads(res.stdout)  # the whole of stdout is the JSON
        assert isinstance(data, dict) and data, what
        assert not (tmp_path / "-").exists() and not Path("-").exists(), what


def test_template_filled_by_hand_with_a_typo(tmp_path):
    """The secretary sends `ccredit template applicants` out; it comes back with 企业使命 typed 企业使名."""
    from openpyxl import load_workbook

    paths = build_round(tmp_path / "round", [ent(1), ent(2)])
    tpl = tmp_path / "round" / "申报材料汇总.xlsx"
    assert invoke("template", "applicants", "--out", tpl).exit_code == 0
    wb = load_workbook(tpl)
    ws = wb.active
    headers = [c.value for c in ws[1]]
    j = headers.index("企业使命")
    ws.cell(row=1, column=j + 1, value="企业使名")
    for n in (1, 2):
        row = applicant(n)
        ws.append([row.get(h, row.get(str(h).replace("（万元）", "(万元)"))) for h in headers])
    wb.save(tpl)
    res = invoke("score", tpl, "--as-of", AS_OF, "--no-db", "--json", tmp_path / "r.json", env={"COLUMNS": "200"})
    assert res.exit_code == 1, res.output
    import json

    probs = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["problems"]
    typo = [p for p in probs if p["code"] == "header_typo"]
    assert [(p["row"], p["column"], p["message"]) for p in typo] == [
        (1, "企业使名", "列“企业使名”不是已知的列，看起来是“企业使命”（有字写错、多写或漏写）；这一列没有读取。"
                       "请把表头改为“企业使命”后重新运行")]
    assert "未识别的列（未读取）：申报材料汇总.xlsx：企业使名" in res.output


def test_wrapping_keeps_numbers_and_words_whole_and_fits():
    from rich.cells import cell_len

    from cluster_credit_cli.outputs.summary import wrap_display

    text = ("“914419000000000010”（东莞市测试5号模具有限公司）：校验码错误；只改最后一位得到的 "
            "91441900000000001W 是第 2 行“东莞市测试1号模具有限公司”的代码，不能这样改。")
    lines = wrap_display(text, 40)
    assert all(cell_len(line) <= 42 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert any("91441900000000001W" in line for line in lines)  # a code is never split
    assert not any(line.startswith(("，", "。", "）", "”")) for line in lines)


def test_missing_column_is_said_as_such(tmp_path):
    paths = build_round(tmp_path, [ent(1)])
    write_xlsx(paths["auditor"], [auditor(1)], AUDITOR_HEADER, rename={"流动负债": "流动负责"})
    from conftest import default_model

    from cluster_credit_cli.rating.pipeline import score_round

    result = score_round(paths["applicants"], {k: v for k, v in paths.items() if k != "applicants"},
                         model=default_model(), as_of=dt.date(2026, 6, 30))
    assert row_of(result, 1)["missing"] == ["会计师事务所审计数据缺少“流动负债”列（见问题清单）"]
    assert row_of(result, 1)["todo"] == ["请在会计师事务所审计数据中补上“流动负债”列（或更正表头）"]


def test_weights_entropy_table_aligns_by_display_width(tmp_path):
    from rich.cells import cell_len

    paths = build_round(tmp_path, [ent(n, app={"技术水平": 1 + n % 5}) for n in range(1, 6)])
    js = tmp_path / "r.json"
    assert invoke("score", paths["applicants"], "--as-of", AS_OF, "--no-db", "-q", "--json", js).exit_code == 0
    res = invoke("weights", "entropy", js)
    assert res.exit_code == 0, res.output
    rows = [line for line in res.output.splitlines() if line[:2] in ("V1", "M3", "F1", "K2", "C4") or
            line.startswith("代码")]
    assert len(rows) == 6
    # the expert-weight column ends at the same terminal column on every row (CJK counts double)
    ends = {cell_len(line[: line.rindex(" ", 0, len(line.rstrip()) - 8)].rstrip()) + 9 for line in rows[1:]}
    assert len({cell_len(line.rstrip()) for line in rows[1:]}) == 1
    assert len(ends) == 1
