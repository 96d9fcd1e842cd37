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
