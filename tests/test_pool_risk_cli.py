"""``ccredit pool risk`` end to end on the sample round's register: exit codes, the JSON, the
80-column summary in Chinese and English, the workbook, the what-if options and bad input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from cluster_credit_cli.cli import app
from cluster_credit_cli.model.config import load_model
from cluster_credit_cli.outputs.excel import display_width
from cluster_credit_cli.pool.book import import_snapshot, load_book, loan_history
from cluster_credit_cli.pool.risk_analysis import analyse_risk
from cluster_credit_cli.pool.risk_config import risk_config
from cluster_credit_cli.register.store import record_run

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
DAY = dt.date(2027, 11, 30)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    from cluster_credit_cli.inputs.discovery import discover_sources
    from cluster_credit_cli.rating.pipeline import score_round

    model = load_model()
    path = tmp_path_factory.mktemp("risk") / "reg.db"
    app_file = SAMPLE / "申报材料汇总.xlsx"
    record_run(path, score_round(app_file, discover_sources(app_file, model, {}), model=model,
                                 as_of=dt.date(2026, 11, 30)))
    for f in sorted((SAMPLE / "pool").glob("贷款台账_*")):
        day = dt.date.fromisoformat(f.stem.split("_")[1])
        if day in (dt.date(2027, 8, 31), DAY):  # after the guarantee paid, and the last month
            import_snapshot(path, f, as_of=day, model=model, fund=SAMPLE / "pool" / "资金池收支.xlsx")
    return path


def run(*args):
    return runner.invoke(app, ["pool", "risk", *map(str, args)])


def test_json_matches_the_library_and_the_issue(db, tmp_path):
    out = tmp_path / "r.json"
    r = run("--as-of", DAY, "--db", db, "--json", out, "--out", tmp_path / "r.xlsx", "-q")
    assert r.exit_code == 0, r.output
    d = json.loads(out.read_text(encoding="utf-8"))
    model = load_model()
    book = load_book(db, DAY, model=model)
    want = analyse_risk(book.loans, book.fund["balance"], book.as_of, risk_config(model), history=loan_history(db))
    assert d["as_of"] == "2027-11-30" and d["horizon_months"] == 12 and "Vasicek" in d["method"]
    assert d["loans"] == want.loans == 13
    assert d["expected_loss"] == pytest.approx(want.expected_loss)
    assert d["fund_balance"] == pytest.approx(book.fund["balance"])
    assert d["var"]["0.99"] == pytest.approx(want.var[0.99]) and d["es"]["0.999"] == pytest.approx(want.es[0.999])
    assert d["p_exceed_fund"] == pytest.approx(want.p_exceed_fund)
    assert sum(c["es_contribution"] for c in d["contributions"]) == pytest.approx(d["es"]["0.99"], rel=1e-9)
    assert sum(c["el"] for c in d["contributions"]) == pytest.approx(d["expected_loss"], rel=1e-12)
    assert [s["name"] for s in d["scenarios"]][0] == "违约概率翻倍"
    assert "monte_carlo" not in d
    # the borrower that is 75 days past due and 次级 at the end counts as in default
    assert any(c["pd"] == 1.0 for c in d["contributions"])


def test_summary_in_chinese_fits_80_columns_and_workbook(db, tmp_path):
    xlsx = tmp_path / "risk.xlsx"
    r = run("--as-of", DAY, "--db", db, "--out", xlsx, "--check-mc", 20000)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "资金池风险  2027-11-30，期限 12 个月（金额单位：万元）"
    assert any(line.startswith("损失超过资金池余额 ") for line in lines)
    assert any("蒙特卡洛核对" in line and "99% 置信区间" in line for line in lines)
    assert any(line.startswith("不被击穿的概率达到 99% 所需资金池") for line in lines)
    assert all(display_width(line) <= 80 for line in lines if not line.startswith("已写入"))
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["概览", "损失分布", "风险贡献", "压力情景", "参数", "说明"]
    assert len(wb["损失分布"]._charts) == 2
    contrib = wb["风险贡献"]
    assert contrib.cell(1, 1).value == "统一社会信用代码" and contrib.max_row == 14


def test_english_summary_and_monte_carlo_json(db, tmp_path):
    r = run("--as-of", DAY, "--db", db, "--lang", "en", "--check-mc", 5000, "--json", "-")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    mc = d["monte_carlo"]
    assert mc["n"] == 5000 and mc["seed"] == 20240601 and len(mc["ci"]) == 2
    assert mc["ci"][0] <= d["p_exceed_fund"] <= mc["ci"][1]
    r = run("--as-of", DAY, "--db", db, "--lang", "en", "--out", tmp_path / "en.xlsx")
    assert r.output.splitlines()[0] == "Pool risk at 2027-11-30, 12-month horizon (amounts in 万元)"
    assert "Largest contributions to ES 99%:" in r.output
    assert load_workbook(tmp_path / "en.xlsx").sheetnames[0] == "Overview"


def test_what_if_options_and_exit_1_when_the_fund_falls_short(db, tmp_path):
    base = json.loads(run("--as-of", DAY, "--db", db, "--json", "-").output)
    r = run("--as-of", DAY, "--db", db, "--json", "-", "--pd", "AA=0.5", "--pd", "A=0.5", "--pd", "AAA=0.3",
            "--lgd", "1", "--ccf", "1", "--rho", "0.3", "--out", tmp_path / "w.xlsx")
    assert r.exit_code == 1, r.output  # the fund needed for 99 % exceeds the balance
    d = json.loads(r.output)
    assert d["p_exceed_fund"] > 0.05 and d["fund_for"]["0.99"] > d["fund_balance"]
    assert d["parameters"]["pd"]["AA"]["source"] == "override" and d["parameters"]["pd"]["AA"]["used"] == 0.5
    assert all(c["lgd"] == 1 and c["rho"] == 0.3 for c in d["contributions"])
    assert d["expected_loss"] > base["expected_loss"]
    h6 = json.loads(run("--as-of", DAY, "--db", db, "--json", "-", "--horizon", 6).output)
    assert h6["horizon_months"] == 6 and h6["expected_loss"] < base["expected_loss"]


@pytest.mark.parametrize("args,needle", [
    (["--pd", "A"], "GRADE=PROBABILITY"),
    (["--pd", "A=1.5"], "GRADE=PROBABILITY"),
    (["--pd", "Q=0.1"], "Q is not a grade"),
    (["--lgd", "1.2"], "--lgd"),
    (["--rho", "1"], "--rho"),
    (["--horizon", "0"], "--horizon"),
    (["--as-of", "2027-13-01"], "--as-of"),
    (["--as-of", "2026-01-01"], "没有在 2026-01-01 或之前的资金池快照"),
])
def test_bad_input_is_a_usage_error(db, args, needle):
    when = [] if "--as-of" in args else ["--as-of", str(DAY)]
    r = runner.invoke(app, ["pool", "risk", "--db", str(db), *when, *args])
    assert r.exit_code == 2, r.output
    assert needle in r.output
    assert "Traceback" not in r.output


def test_no_register(tmp_path):
    r = run("--db", tmp_path / "none.db")
    assert r.exit_code == 2 and "no register at" in r.output


def test_model_check_validates_the_risk_section(tmp_path):
    text = (load_model().path).read_text(encoding="utf-8").replace('"A" = 0.02, "BBB"', '"A" = 2, "BBB"')
    bad = tmp_path / "m.toml"
    bad.write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["model", "check", "--config", str(bad)])
    assert r.exit_code == 2 and "risk.pd.A" in r.output
