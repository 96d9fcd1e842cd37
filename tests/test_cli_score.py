"""``ccredit score`` / ``check`` / ``--version`` / ``--help`` through the real CLI: exit codes,
the summary's key lines, discovery of the exports, and the JSON result (issue 2 item 9)."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ABSENT, applicant, build_round, code, ent, record, write_xlsx
from openpyxl import load_workbook
from typer.testing import CliRunner

from cluster_credit_cli import __version__
from cluster_credit_cli.cli import app

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-06-30"
runner = CliRunner()
LEAVES = ["V1", "V2", "V3", "V4", "M1", "M2", "M3", "M4", "M5", "F1", "F2", "F3", "F4", "K1", "K2",
          "S1", "S2", "S3", "S4", "C1", "C2", "C3", "C4", "B1", "B2"]
STATUS_CODES = {"ineligible:age", "ineligible:town", "ineligible:account", "veto:government", "veto:association",
                "veto:bank", "incomplete", "conflict"}


def invoke(*args: str):
    # A wide terminal so rich tables do not wrap the lines the tests look for.
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})


def clean_round(folder: Path, n: int = 2) -> Path:
    return build_round(folder, [ent(i) for i in range(1, n + 1)])["applicants"]


def messy_round(folder: Path) -> Path:
    """One enterprise of each kind: clean, vetoed, ineligible, incomplete, conflict; a broken code."""
    ents = [ent(1), ent(2, bnk={"银行否决(是/否)": "是", "否决理由": "涉嫌骗贷"}),
            ent(3, app={"成立日期": dt.date(2026, 1, 1)}), ent(4, app={"技术水平": None}), ent(5),
            ent(6, aud={"流动资产": 100})]
    paths = build_round(folder, ents, records=[record(6, "严重失信", dt.date(2025, 1, 1))])
    rows = [applicant(n) for n in range(1, 7)]
    rows[3]["技术水平"] = None
    rows[2]["成立日期"] = dt.date(2026, 1, 1)
    rows += [applicant(5, **{"申请贷款金额（万元）": 999}), applicant(9, 统一社会信用代码=code(9)[:17] + "0")]
    write_xlsx(paths["applicants"], rows)
    return paths["applicants"]


# -- exit codes ----------------------------------------------------------------------------------

def test_clean_round_exits_0_and_writes_beside_the_input(tmp_path):
    applicants = clean_round(tmp_path)
    res = invoke("score", applicants, "--as-of", AS_OF)
    assert res.exit_code == 0, res.output
    out = tmp_path / f"申报材料汇总_评级结果_{AS_OF}.xlsx"
    assert out.is_file()
    text = res.output
    assert f"已写入：{out}" in text
    assert "输入文件未发现问题。" in text
    assert "资金池：已分配 600 / 10,000 万元" in text
    assert "模型警告：D41 供应链信用" in text
    for src, file in [("申报材料", "申报材料汇总.xlsx"), ("会计师事务所审计数据", "会计师事务所审计数据.xlsx"),
                      ("行业协会评价", "行业协会评价.xlsx"), ("社会信用系统", "社会信用系统导出.xlsx"),
                      ("合作银行征信", "合作银行征信.xlsx")]:
        assert any(src in line and file in line for line in text.splitlines()), src
    assert any("评审小组核定" in line and "未找到" in line for line in text.splitlines())
    assert re.search(r"│ AAA\s+│\s+2 │", text) and re.search(r"│ 未评级\s+│\s+0 │", text)


def test_round_with_problems_exits_1_and_still_writes(tmp_path):
    applicants = messy_round(tmp_path)
    out, js = tmp_path / "out.xlsx", tmp_path / "r.json"
    res = invoke("score", applicants, "--as-of", AS_OF, "--out", out, "--json", js)
    assert res.exit_code == 1, res.output
    assert out.is_file() and js.is_file()
    assert "输入文件中发现的问题：2 条" in res.output
    # The problem codes are for scripts (JSON, the problems sheet); the terminal says it in words.
    assert "校验码错误" in res.output and "在申报表中出现 2 行" in res.output
    assert "bad_code" not in res.output
    # Who was not graded and why.
    lines = res.output.splitlines()
    # Each firm: its code and name on one line, then status and reasons indented below.
    after = {line.split()[0]: lines[i + 1] for i, line in enumerate(lines[:-1]) if line[:1].isdigit()}
    assert "银行否决" in after[code(2)] and "涉嫌骗贷" in after[code(2)]
    assert "经营不足规定年限" in after[code(3)]
    assert "材料不全" in after[code(4)] and "技术水平" in after[code(4)]
    assert "政府否决" in after[code(6)]


def test_model_warnings_alone_do_not_make_exit_1(tmp_path):
    res = invoke("score", clean_round(tmp_path, 1), "--as-of", AS_OF, "--quiet")
    assert res.exit_code == 0 and res.output == ""


@pytest.mark.parametrize("args,needle", [
    (["--as-of", "2026-13-01"], "--as-of"),
    (["--as-of", "30/06/2026"], "--as-of"),
    (["--lang", "fr"], "--lang"),
    (["--bank", "nope.xlsx"], "--bank"),
    (["--config", "nope.toml"], "nope.toml"),
])
def test_usage_errors_exit_2(tmp_path, args, needle):
    applicants = clean_round(tmp_path, 1)
    res = invoke("score", applicants, *args)
    assert res.exit_code == 2, res.output
    assert needle in res.output and "Traceback" not in res.output


def test_missing_applicants_file_exits_2(tmp_path):
    res = invoke("score", tmp_path / "没有这个文件.xlsx")
    assert res.exit_code == 2
    assert "没有这个文件.xlsx" in res.output


def test_broken_config_and_strict_exit_2(tmp_path):
    from test_model import V1_LINE, broken

    applicants = clean_round(tmp_path / "r", 1)
    cfg = broken(tmp_path, V1_LINE, V1_LINE.replace("0.02", "1.5"))
    res = invoke("score", applicants, "--config", cfg)
    assert res.exit_code == 2 and "broken.toml: nodes[2].weight" in res.output
    res = invoke("score", applicants, "--strict")
    assert res.exit_code == 2 and "D41" in res.output
    assert not list((tmp_path / "r").glob("*评级结果*"))


def test_unreadable_applicants_exit_2(tmp_path):
    applicants = clean_round(tmp_path, 1)
    write_xlsx(applicants, [applicant(1)], drop=("统一社会信用代码",))
    res = invoke("score", applicants, "--as-of", AS_OF)
    assert res.exit_code == 2
    assert "统一社会信用代码" in res.output


# -- discovery -----------------------------------------------------------------------------------

def test_discovery_two_candidates_exit_2_naming_both(tmp_path):
    applicants = clean_round(tmp_path, 1)
    (tmp_path / "银行征信补充.xlsx").write_bytes((tmp_path / "合作银行征信.xlsx").read_bytes())
    res = invoke("score", applicants, "--as-of", AS_OF)
    assert res.exit_code == 2
    assert "合作银行征信.xlsx" in res.output and "银行征信补充.xlsx" in res.output and "--bank" in res.output
    # Naming one resolves it.
    res = invoke("score", applicants, "--as-of", AS_OF, "--bank", tmp_path / "银行征信补充.xlsx")
    assert res.exit_code == 0, res.output
    assert any("合作银行征信" in line and "银行征信补充.xlsx" in line for line in res.output.splitlines())


def test_discovery_ignores_owner_files_and_own_outputs(tmp_path):
    applicants = clean_round(tmp_path, 1)
    (tmp_path / "~$合作银行征信.xlsx").write_bytes(b"owner file")
    (tmp_path / ".合作银行征信.xlsx").write_bytes(b"hidden")
    assert invoke("score", applicants, "--as-of", AS_OF).exit_code == 0
    assert invoke("score", applicants, "--as-of", AS_OF, "--lang", "en").exit_code == 0
    assert invoke("check", applicants, "--as-of", AS_OF).exit_code == 0
    # Our own outputs, even under names that match a source's pattern (审计, bank), are never inputs.
    assert invoke("score", applicants, "--as-of", AS_OF, "--out", tmp_path / "审计组_评级结果.xlsx").exit_code == 0
    assert invoke("score", applicants, "--as-of", AS_OF, "--out", tmp_path / "bank_ratings.xlsx").exit_code == 0
    assert invoke("check", applicants, "--as-of", AS_OF, "--out", tmp_path / "银行_材料审核.xlsx").exit_code == 0
    assert (tmp_path / f"申报材料汇总_评级结果_{AS_OF}.xlsx").is_file()
    assert (tmp_path / f"申报材料汇总_ratings_{AS_OF}.xlsx").is_file()
    res = invoke("score", applicants, "--as-of", AS_OF)
    assert res.exit_code == 0, res.output


def test_candidate_files_skip_owner_hidden_temp_and_outputs(tmp_path, model):
    from cluster_credit_cli.inputs.discovery import candidate_files, discover_sources

    for n in ["合作银行征信.xlsx", "~$合作银行征信.xlsx", ".银行.xlsx", "银行.xlsx.tmp", "银行.tmp.xlsx",
              "银行_评级结果.xlsx", "bank_ratings.xlsx", "bank_feedback.xlsx", "银行_材料审核.xlsx", "银行.xlsx~",
              "银行说明.docx", "申报材料汇总.xlsx"]:
        (tmp_path / n).write_bytes(b"x")
    assert [p.name for p in candidate_files(tmp_path, model)] == ["合作银行征信.xlsx", "申报材料汇总.xlsx"]
    found = discover_sources(tmp_path / "申报材料汇总.xlsx", model, {})
    assert {k: v.name for k, v in found.items()} == {"applicants": "申报材料汇总.xlsx", "bank": "合作银行征信.xlsx"}


def test_discovery_by_pattern_with_english_names(tmp_path):
    paths = build_round(tmp_path, [ent(1)])
    for kind, new in [("auditor", "audit_2025.xlsx"), ("bank", "bank_export.xlsx"),
                      ("association", "association.xlsx"), ("credit_system", "credit_system.xlsx")]:
        paths[kind].rename(tmp_path / new)
    res = invoke("score", paths["applicants"], "--as-of", AS_OF, "--lang", "en")
    assert res.exit_code == 0, res.output
    for new in ("audit_2025.xlsx", "bank_export.xlsx", "association.xlsx", "credit_system.xlsx"):
        assert new in res.output


def test_missing_export_is_reported_as_not_found(tmp_path):
    paths = build_round(tmp_path, [ent(1)], skip=("credit_system",))
    res = invoke("score", paths["applicants"], "--as-of", AS_OF, "--lang", "en")
    assert res.exit_code == 0  # a missing file is not a problem in a file; the enterprise is incomplete
    assert any("Social credit system" in line and "not found" in line for line in res.output.splitlines())
    assert "no Social credit system file was given (affects Administrative penalties, Lawsuits, Labour disputes)" \
        in " ".join(res.output.split())


# -- JSON ----------------------------------------------------------------------------------------

def test_json_result_per_issue_2(tmp_path):
    applicants = messy_round(tmp_path)
    js = tmp_path / "r.json"
    res = invoke("score", applicants, "--as-of", AS_OF, "--json", js, "--quiet")
    assert res.exit_code == 1
    data = json.loads(js.read_text(encoding="utf-8"))
    assert {"as_of", "config_hash", "warnings", "problems", "enterprises"} <= set(data)
    assert data["as_of"] == AS_OF
    from cluster_credit_cli.model.config import load_model

    assert data["config_hash"] == load_model().hash
    assert any(w.startswith("D41") for w in data["warnings"])
    for p in data["problems"]:
        assert {"file", "sheet", "row", "column", "code", "message"} <= set(p)
    bad = next(p for p in data["problems"] if p["code"] == "bad_code")
    assert (bad["file"], bad["sheet"], bad["row"], bad["column"]) == ("申报材料汇总.xlsx", "Sheet1", 9, "统一社会信用代码")
    ents = {e["code"]: e for e in data["enterprises"]}
    assert set(ents) == {code(n) for n in range(1, 7)}
    for e in ents.values():
        assert {"code", "name", "status", "grade", "rank", "total", "base", "bonus", "quota", "dimensions", "scores",
                "missing"} <= set(e)
        assert set(e["status"]) <= STATUS_CODES
        assert list(e["scores"]) == LEAVES
        assert {"D1", "D2", "D3", "D4", "DB"} <= set(e["dimensions"])
        if e["status"]:
            assert e["grade"] is None and e["rank"] is None and e["quota"] is None
        else:
            assert isinstance(e["grade"], str) and isinstance(e["rank"], int) and isinstance(e["quota"], float)
    assert ents[code(1)]["status"] == [] and ents[code(1)]["grade"] == "AAA" and ents[code(1)]["rank"] == 1
    assert ents[code(1)]["total"] == 110 and ents[code(1)]["base"] == 100 and ents[code(1)]["bonus"] == 10
    assert ents[code(1)]["scores"]["C3"] == 100 and ents[code(1)]["quota"] == 300
    assert ents[code(2)]["status"] == ["veto:bank"] and ents[code(2)]["total"] == 110
    assert ents[code(3)]["status"] == ["ineligible:age"]
    assert ents[code(4)]["status"] == ["incomplete"] and ents[code(4)]["missing"] == ["申报材料未填：技术水平"]
    assert ents[code(4)]["scores"]["K1"] == 0
    assert ents[code(5)]["status"] == ["conflict"] and ents[code(5)]["total"] is None
    assert ents[code(6)]["status"] == ["veto:government"]
    assert ents[code(6)]["scores"]["F1"] == (100 + 0) / 2  # current ratio 0.5 → 0
    # Graded first in rank order, then the others.
    assert data["enterprises"][0]["code"] == code(1)


def test_json_english_missing_labels(tmp_path):
    paths = build_round(tmp_path, [ent(1, app={"技术水平": None})])
    js = tmp_path / "r.json"
    invoke("score", paths["applicants"], "--as-of", AS_OF, "--json", js, "--lang", "en", "-q")
    e = json.loads(js.read_text(encoding="utf-8"))["enterprises"][0]
    assert e["missing"] == ["Applicant forms: not filled in: Technology level"]


# -- language, version, help ---------------------------------------------------------------------

def test_lang_en_labels(tmp_path):
    applicants = messy_round(tmp_path)
    out = tmp_path / "en.xlsx"
    res = invoke("score", applicants, "--as-of", AS_OF, "--lang", "en", "--out", out)
    assert res.exit_code == 1
    for needle in ("Files used", "Grades", "Not graded", "bank veto", "Pool: 300 of 10,000 allocated (CNY 10k)",
                   "Problems found in the inputs: 2", f"Written: {out}", "check digit is wrong"):
        assert needle in res.output, needle
    wb = load_workbook(out, read_only=True)
    assert wb.sheetnames[:3] == ["Ratings", "Grade distribution", "Indicators"]
    assert "Problems" in wb.sheetnames and "Run information" in wb.sheetnames
    header = next(wb["Ratings"].iter_rows(max_row=1, values_only=True))
    assert header[:7] == ("Rank", "Credit code", "Name", "Total", "Base", "Bonus", "Grade")


def test_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"ccredit {__version__}"


def test_module_entry_point_version():
    out = subprocess.run([sys.executable, "-m", "cluster_credit_cli", "--version"], capture_output=True,
                         text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0 and out.stdout.strip() == f"ccredit {__version__}"


def test_help_does_not_import_pandas():
    code_ = ("import sys\n"
             "from cluster_credit_cli.cli import main\n"
             "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
             "heavy = [m for m in ('pandas', 'numpy', 'openpyxl', 'xlsxwriter', 'scipy') if m in sys.modules]\n"
             "print('HEAVY', heavy)\n")
    out = subprocess.run([sys.executable, "-c", code_], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout
    assert "score" in out.stdout and "check" in out.stdout and "template" in out.stdout


@pytest.mark.parametrize("cmd", [["score"], ["check"], ["model", "show"], ["model", "check"], ["model", "export"],
                                 ["template"]])
def test_every_command_help_has_an_example(cmd):
    res = runner.invoke(app, [*cmd, "--help"], env={"COLUMNS": "250"})
    assert res.exit_code == 0
    assert "Example: ccredit " in res.output


# -- check ---------------------------------------------------------------------------------------

def test_check_writes_the_feedback_workbook(tmp_path):
    paths = build_round(tmp_path, [ent(1), ent(2, app={"技术水平": None}, aud={"负债总额": 500}),
                                   ent(3, bnk=ABSENT)])
    res = invoke("check", paths["applicants"], "--as-of", AS_OF)
    assert res.exit_code == 1, res.output
    out = tmp_path / f"申报材料汇总_材料审核_{AS_OF}.xlsx"
    assert out.is_file()
    assert "申报企业 3 家，其中 2 家需要补正或核对" in res.output
    wb = load_workbook(out, read_only=True)
    assert wb.sheetnames[0] == "材料审核反馈"
    rows = list(wb["材料审核反馈"].iter_rows(values_only=True))
    assert rows[0] == ("统一社会信用代码", "企业名称", "状态", "缺失材料", "数据不一致", "需补充或更正")
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code[code(1)][2] == "材料完整" and not by_code[code(1)][3]
    assert by_code[code(2)][2] == "材料不全" and by_code[code(2)][3] == "申报材料未填：技术水平"
    assert by_code[code(2)][5] == "请在申报材料中填写：技术水平"  # the document and the field, never just "补充缺失材料"
    assert by_code[code(3)][3] == "合作银行征信中没有该企业（影响：银行贷款拖欠）"
    # No scores in a feedback workbook.
    assert not any("总分" in (c or "") for c in rows[0])


def test_check_clean_round_exits_0(tmp_path):
    res = invoke("check", clean_round(tmp_path), "--as-of", AS_OF, "--lang", "en")
    assert res.exit_code == 0, res.output
    assert "2 applicants, 0 to complete, correct or check" in res.output


def test_empty_applicants_file_is_a_problem_not_a_crash(tmp_path):
    from conftest import APPLICANT_HEADER

    paths = build_round(tmp_path, [ent(1)])
    write_xlsx(paths["applicants"], [], APPLICANT_HEADER)
    js = tmp_path / "r.json"
    res = invoke("score", paths["applicants"], "--as-of", AS_OF, "--json", js)
    assert res.exit_code == 1, res.output
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["enterprises"] == []
    assert [(p["code"], p["row"]) for p in data["problems"]] == [("no_applicants", 1)]
    assert (tmp_path / f"申报材料汇总_评级结果_{AS_OF}.xlsx").is_file()


def test_feedback_workbook_keeps_formula_names_as_text(tmp_path):
    import zipfile

    name_ = '=HYPERLINK("http://x","y")'
    paths = build_round(tmp_path, [ent(1, app={"企业名称": name_, "技术水平": None})])
    out = tmp_path / "fb.xlsx"
    assert invoke("check", paths["applicants"], "--as-of", AS_OF, "--out", out).exit_code == 1
    with zipfile.ZipFile(out) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/sheet"):
                assert b"<f>" not in z.read(n), n
    rows = list(load_workbook(out, read_only=True)["材料审核反馈"].iter_rows(values_only=True))
    assert rows[1][1] == name_
