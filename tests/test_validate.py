"""``ccredit validate``: cohorts from an outcome file and from the register's loan book, the JSON,
the exit codes, the workbook, the settings and the plain statement about too few defaults."""

from __future__ import annotations

import datetime as dt
import json
import sys
import types

import numpy as np
import pandas as pd
import pytest
from conftest import table_xlsx
from openpyxl import load_workbook
from typer.testing import CliRunner

import regdata as R
from cluster_credit_cli.cli import app
from cluster_credit_cli.model.config import load_model
from cluster_credit_cli.problems import ConfigError, Problems
from cluster_credit_cli.register.store import record_run
from cluster_credit_cli.validation import stats
from cluster_credit_cli.validation.analysis import validate
from cluster_credit_cli.validation.cohort import file_cohort, loan_outcomes, register_cohort
from cluster_credit_cli.validation.outcomes import read_outcomes
from cluster_credit_cli.validation.settings import load_settings, parse_definition, pd_table

runner = CliRunner()
JSON_KEYS = {"horizon_months", "definition", "n", "defaults", "auc", "auc_ci", "accuracy_ratio", "ks", "ks_score",
             "grades", "monotonic", "hosmer_lemeshow", "psi", "indicators", "conclusive", "note"}
GRADE_KEYS = {"grade", "n", "defaults", "observed_rate", "pd", "binomial_p", "jeffreys_p", "light"}
HEADER = ["统一社会信用代码", "企业名称", "评级日期", "总分", "等级", "是否违约"]


def xlsx(path, header, rows, title=None):
    return table_xlsx(path, header, rows, title=title)


def simulated(path, n=400, seed=1):
    """Scores ~ N(75, 10); a logistic PD falling with the score; outcomes drawn from it."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        s = float(np.clip(rng.normal(75, 10), 0, 100))
        p = 1 / (1 + np.exp((s - 55) / 6))
        rows.append([R.code(i + 1), f"企业{i}", "2024-06-30", round(s, 2), None, "是" if rng.random() < p else "否"])
    return xlsx(path, HEADER, rows), rows


# -- settings -----------------------------------------------------------------------------------

def test_settings_from_the_model_and_errors_name_the_key():
    model = load_model()
    s = load_settings(model)
    assert s.horizon_months == 12 and s.definition == ("dpd", "paid", "class") and s.pd_source == "risk.pd"
    # the default model's PD table is [risk].pd (issue 17), one table for risk and validation
    assert s.pd == model.raw["risk"]["pd"] and "pd" not in model.raw["validation"]
    assert s.describe("zh") == "逾期超过 90 天或资金池代偿或五级分类为次级/可疑/损失"
    assert s.describe("en") == "more than 90 days past due or guarantee paid by the pool (代偿) or classified 次级/可疑/损失"
    model.raw["validation"] = {**model.raw["validation"], "p_red": 1.5}
    with pytest.raises(ConfigError, match=r"validation\.p_red: must be between 0 and 1"):
        load_settings(model)
    model.raw.pop("risk")  # [risk].pd would win: check [validation].pd on its own
    model.raw["validation"] = {"pd": {"AAA": 0.0}}
    with pytest.raises(ConfigError, match=r"validation\.pd\.AAA: must be a probability"):
        load_settings(model)
    model.raw["validation"] = {"horizn_months": 12}
    with pytest.raises(ConfigError, match=r"validation\.horizn_months: unknown key"):
        load_settings(model)


def test_the_risk_pd_table_wins_over_validation():
    model = load_model()
    full = {"AAA": 0.001, "AA": 0.01, "A": 0.02, "BBB": 0.04, "BB": 0.08, "B": 0.2}
    model.raw["risk"] = {"pd": full}
    assert pd_table(model) == (full, "risk.pd")
    model.raw["risk"] = {"pd": {"AAA": 0.001, "B": 0.2}}  # one reader for both commands: every grade
    with pytest.raises(ConfigError, match=r"risk\.pd\.AA: missing"):
        pd_table(model)
    model.raw["risk"] = {"pd": {"Z": 0.1}}
    with pytest.raises(ConfigError, match=r"risk\.pd\.Z: not a grade"):
        pd_table(model)


def test_parse_definition():
    assert parse_definition("dpd, PAID") == ("dpd", "paid")
    with pytest.raises(ConfigError, match="unknown criterion 'npl'"):
        parse_definition("dpd,npl")


# -- the outcome file -----------------------------------------------------------------------------

def test_outcome_file_rows_and_problems(tmp_path):
    path = xlsx(tmp_path / "o.xlsx", ["统一社会信用代码", "企业名称", "评级日期", "总分", "等级", "是否违约", "PD"], [
        [R.code(1), "甲", "2025-01-31", 88.5, "AA", "否", "1%"],
        [R.code(2), "乙", "2025年1月31日", 55, "BB", "违约", 0.08],
        ["123", "丙", "2025-01-31", 55, "BB", "是", None],
        [R.code(3), "丁", "2025-01-31", None, None, "是", None],
        [R.code(1), "甲", "2025-01-31", 88.5, "AA", "否", None],
        [R.code(4), "戊", "2025-01-31", 70, "A", "x", None],
        [R.code(5), "己", "2025-01-31", 70, "A", "否", 2],
    ], title="违约结果导出")
    problems = Problems()
    frame = read_outcomes(path, load_model(), problems)
    assert frame["code"].tolist() == [R.code(1), R.code(2)]
    assert frame["defaulted"].tolist() == [False, True]
    assert frame["pd"].tolist() == [0.01, 0.08]
    assert frame["rating_date"].tolist() == [dt.date(2025, 1, 31)] * 2
    got = sorted((p.row, p.column, p.code) for p in problems)
    assert got == [(5, "统一社会信用代码", "bad_code"), (6, "总分", "missing_value"),
                   (7, "统一社会信用代码", "duplicate_row"), (8, "是否违约", "bad_yesno"), (9, "PD", "bad_pd")]


def test_outcome_file_gbk_csv_with_english_headers(tmp_path):
    path = tmp_path / "outcomes.csv"
    lines = ["credit code,rating date,grade,defaulted", f"{R.code(1)},2025/06/30,AA,no", f"{R.code(2)},20250630,BB,yes"]
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    frame = read_outcomes(path, load_model(), Problems())
    assert frame["grade"].tolist() == ["AA", "BB"] and frame["defaulted"].tolist() == [False, True]


def test_outcome_file_without_score_or_grade_column(tmp_path):
    path = xlsx(tmp_path / "o.xlsx", ["统一社会信用代码", "评级日期", "是否违约"], [[R.code(1), "2025-01-31", "否"]])
    problems = Problems()
    assert read_outcomes(path, load_model(), problems).empty
    assert [p.code for p in problems] == ["missing_column"]


def test_validate_a_small_file_by_hand(tmp_path):
    """Six obligors: AUC by pairs, per-grade tests by scipy formulas, HL by hand."""
    from scipy.stats import beta, binom

    rows = [[R.code(1), "a", "2025-01-31", 95, "AAA", "否"], [R.code(2), "b", "2025-01-31", 91, "AAA", "否"],
            [R.code(3), "c", "2025-01-31", 82, "AA", "是"], [R.code(4), "d", "2025-01-31", 84, "AA", "否"],
            [R.code(5), "e", "2025-01-31", 55, "BB", "是"], [R.code(6), "f", "2025-01-31", 52, "BB", "否"]]
    path = xlsx(tmp_path / "o.xlsx", HEADER, rows)
    model = load_model()
    settings = load_settings(model)
    v = validate(file_cohort(path, model, settings), settings, model)
    out = v.to_json()
    assert set(out) == JSON_KEYS and all(set(g) == GRADE_KEYS for g in out["grades"])
    # goods 95, 91, 84, 52 vs bads 82, 55: 95,91,84 beat both (6); 52 beats none -> 6/8
    assert out["auc"] == 0.75 and out["accuracy_ratio"] == 0.5
    assert (out["n"], out["defaults"], out["horizon_months"]) == (6, 2, None)
    aa = next(g for g in out["grades"] if g["grade"] == "AA")
    assert (aa["n"], aa["defaults"], aa["observed_rate"], aa["pd"]) == (2, 1, 0.5, 0.01)
    assert aa["binomial_p"] == pytest.approx(binom.sf(0, 2, 0.01), abs=1e-6)
    assert aa["jeffreys_p"] == pytest.approx(beta.cdf(0.01, 1.5, 1.5), abs=1e-6)
    assert aa["light"] == "red"
    assert [g["grade"] for g in out["grades"]] == ["AAA", "AA", "A", "BBB", "BB", "B"]
    assert out["monotonic"] is True  # AAA 0 %, AA 50 %, BB 50 %: never falls
    hl = out["hosmer_lemeshow"]
    expected = sum((d - n * p) ** 2 / (n * p * (1 - p)) for n, d, p in ((2, 0, 0.005), (2, 1, 0.01), (2, 1, 0.08)))
    assert hl["statistic"] == pytest.approx(expected, rel=1e-6) and hl["df"] == 3
    assert out["conclusive"] is False
    assert out["note"].startswith("共 6 户、违约 2 户：违约太少，尚不能下结论。") and "约需" in out["note"]
    assert out["psi"] == {"score": None, "grade": None}


def test_simulated_file_auc_in_its_interval_and_matches_sklearn(tmp_path):
    from sklearn.metrics import roc_auc_score

    path, rows = simulated(tmp_path / "sim.xlsx")
    model = load_model()
    settings = load_settings(model)
    v = validate(file_cohort(path, model, settings), settings, model)
    scores = np.array([r[3] for r in rows])
    bad = np.array([r[5] == "是" for r in rows])
    assert v.auc.auc == pytest.approx(roc_auc_score(~bad, scores))
    assert v.auc.ci[0] < v.auc.auc < v.auc.ci[1]
    assert v.defaults == int(bad.sum()) and v.n == 400
    assert v.notes[0] == "400 条记录只有评分：等级按模型的等级标准由评分得出"


# -- the command on a file --------------------------------------------------------------------------

def test_cli_outcomes_json_exit_and_workbook(tmp_path):
    path, _ = simulated(tmp_path / "sim.xlsx")
    res = runner.invoke(app, ["validate", "--outcomes", str(path), "--json", "-", "--out", str(tmp_path / "v.xlsx")])
    data = json.loads(res.stdout)
    assert set(data) == JSON_KEYS
    red = any(g["light"] == "red" for g in data["grades"])
    assert red  # the config's PDs are far below this simulation's rates in BBB and B
    assert res.exit_code == 1
    wb = load_workbook(tmp_path / "v.xlsx")
    assert wb.sheetnames == ["验证概览", "区分能力", "等级校准", "验证样本", "验证设置"]
    assert len(wb["区分能力"]._charts) == 2 and len(wb["等级校准"]._charts) == 1
    import zipfile

    with zipfile.ZipFile(tmp_path / "v.xlsx") as z:
        charts = [z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert sum("<c:errBars>" in c for c in charts) == 1  # the calibration chart's exact intervals
    assert sum("<c:scatterChart>" in c for c in charts) == 2  # ROC and CAP
    summary = {r[0]: r for r in wb["验证概览"].iter_rows(min_row=4, values_only=True)}
    assert summary["AUC"][1] == round(data["auc"], 4) and summary["AUC"][2] == "绿"


def test_cli_all_green_exits_0_and_prints_80_columns(tmp_path, monkeypatch):
    """PDs given in the file, matching the drawn outcomes: every light green -> exit 0."""
    rng = np.random.default_rng(5)
    rows = []
    for i in range(300):
        g, p = ("AA", 0.02) if i % 2 else ("BB", 0.2)
        rows.append([R.code(i + 1), f"企业{i}", "2024-06-30", g, "是" if rng.random() < p else "否", p])
    path = xlsx(tmp_path / "o.xlsx", ["统一社会信用代码", "企业名称", "评级日期", "等级", "是否违约", "违约概率"], rows)
    monkeypatch.setenv("COLUMNS", "80")
    res = runner.invoke(app, ["validate", "--outcomes", str(path), "--out", str(tmp_path / "v.xlsx"), "--lang", "en"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert max(len(x) for x in lines) <= 80
    assert lines[0] == "Scorecard validation — o.xlsx"
    assert lines[1] == "Default: as given in o.xlsx (column defaulted)"
    assert lines[2] == "300 obligors, 34 defaults"
    assert any(x.startswith("AUC") and "yellow" in x for x in lines)  # 0.699 on two grades: below 0.70
    assert "No test is red." in res.output
    assert "Written: " in lines[-1]


def test_cli_usage_errors(tmp_path):
    res = runner.invoke(app, ["validate", "--outcomes", str(tmp_path / "none.xlsx")])
    assert res.exit_code == 2 and "--outcomes：找不到文件" in res.output
    path, _ = simulated(tmp_path / "sim.xlsx", n=20)
    res = runner.invoke(app, ["validate", "--outcomes", str(path), "--definition", "dpd"])
    assert res.exit_code == 2 and "--definition applies to the register" in res.output
    res = runner.invoke(app, ["validate", "--db", str(tmp_path / "no.db")])
    assert res.exit_code == 2 and "no register at" in res.output


def test_cli_problem_rows_exit_1_and_are_listed(tmp_path):
    path = xlsx(tmp_path / "o.xlsx", HEADER, [[R.code(1), "a", "2025-01-31", 95, "AAA", "否"],
                                              ["bad", "b", "2025-01-31", 91, "AAA", "否"]])
    res = runner.invoke(app, ["validate", "--outcomes", str(path), "--out", str(tmp_path / "v.xlsx")])
    assert res.exit_code == 1
    assert "输入文件有 1 个问题" in res.output
    rows = list(load_workbook(tmp_path / "v.xlsx")["问题清单"].iter_rows(min_row=2, values_only=True))
    assert rows[0][:5] == ("o.xlsx", "Sheet", 3, "统一社会信用代码", "bad_code")


# -- the register ----------------------------------------------------------------------------------

def _snapshots(start: dt.date, months: int) -> list[dt.date]:
    out, d = [], start
    for _ in range(months):
        out.append(d)
        nxt = (d.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        d = (nxt + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return out


def loan_book(events: dict[str, dict[dt.date, dict]], loans: list[dict]) -> pd.DataFrame:
    """Every loan in every monthly snapshot from its disbursement (the pool's loan_history shape)."""
    rows = []
    for snap in _snapshots(dt.date(2026, 7, 31), 15):  # 2026-07-31 .. 2027-09-30
        for loan in loans:
            if loan["disbursed"] > snap:
                continue
            ev = {}
            for day, change in sorted(events.get(loan["loan_no"], {}).items()):
                if day <= snap:
                    ev.update(change)
            rows.append({"loan_no": loan["loan_no"], "code": loan["code"], "name": "", "contract_amount": 100.0,
                         "outstanding": 100.0, "disbursed": loan["disbursed"], "maturity": dt.date(2028, 1, 1),
                         "dpd": ev.get("dpd", 0), "classification": ev.get("classification", "正常"),
                         "status": ev.get("status", "正常"), "paid_amount": ev.get("paid_amount", 0.0),
                         "paid_date": ev.get("paid_date"), "recovered_amount": 0.0, "recovered_date": None,
                         "run_id": loan["run_id"], "grade": None, "total": None, "quota": None, "sector": None,
                         "snapshot_as_of": snap})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def register(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reg")
    db = folder / "ccredit.db"
    for label, day, make in (("a", R.A_DAY, R.round_a), ("b", R.B_DAY, R.round_b)):
        ents, records = make()
        record_run(db, R.score(R.write_round(folder / label, ents, records), day))
    july, jan = dt.date(2026, 7, 15), dt.date(2027, 1, 15)
    loans = [{"loan_no": f"L{i}", "code": R.code(i), "disbursed": july, "run_id": 1} for i in (1, 2, 3, 4, 5, 6, 8)]
    loans += [{"loan_no": "L7", "code": R.code(7), "disbursed": jan, "run_id": 2},  # window open at 2027-09-30
              {"loan_no": "L9", "code": R.code(9), "disbursed": july, "run_id": None}]  # never linked to a run
    events = {"L3": {dt.date(2027, 3, 31): {"dpd": 120, "status": "逾期"}},  # > 90 days: default
              "L2": {dt.date(2027, 5, 31): {"classification": "次级", "dpd": 45}},  # 次级: default (class)
              "L8": {dt.date(2027, 8, 31): {"status": "代偿", "paid_amount": 80.0, "paid_date": dt.date(2027, 8, 20)}}}
    return db, loan_book(events, loans)


def test_loan_outcomes_first_default_and_paid_date():
    settings = load_settings(load_model())
    book = loan_book({"X": {dt.date(2026, 9, 30): {"dpd": 95}, dt.date(2026, 11, 30): {"dpd": 0}},
                      "Y": {dt.date(2026, 10, 31): {"status": "代偿", "paid_amount": 5.0,
                                                    "paid_date": dt.date(2026, 10, 3)}}},
                     [{"loan_no": "X", "code": "c", "disbursed": dt.date(2026, 7, 1), "run_id": 1},
                      {"loan_no": "Y", "code": "d", "disbursed": dt.date(2026, 7, 1), "run_id": 1}])
    out = loan_outcomes(book, settings).set_index("loan_no")
    assert out.loc["X", "default_date"] == dt.date(2026, 9, 30)  # cured later: still defaulted
    assert out.loc["Y", "default_date"] == dt.date(2026, 10, 3)  # the pool's payment date, before the snapshot


def test_register_cohort_outcomes_exclusions_and_auc(register):
    db, book = register
    model = load_model()
    settings = load_settings(model)
    c = register_cohort(db, model, settings, history=book)
    f = c.frame.set_index("code")
    # Horizon 12 months from 2026-07-15: L3 (dpd 120, 2027-03) and L2 (次级, 2027-05) default; L8 is paid
    # 2027-08-20, after 2027-07-15: not within the horizon.
    assert sorted(f.index) == sorted(R.code(i) for i in (1, 2, 3, 4, 6, 8))
    assert f["defaulted"].to_dict() == {R.code(i): i in (2, 3) for i in (1, 2, 3, 4, 6, 8)}
    assert dict((k, v) for k, v in c.excluded) == {"贷款未关联到放款时有效的评级": 1, "放款未满 12 个月（观察期未结束）": 1,
                                                  "放款时的评级无等级（否决、材料不全等）": 1}
    assert c.as_of == dt.date(2027, 9, 30)
    v = validate(c, settings, model)
    # goods 100, 92.6, 100, 85.2 vs bads 85.2 (code 2), 77.8 (code 3): 7.5 of 8 pairs
    assert v.auc.auc == pytest.approx(0.9375)
    out = v.to_json()
    assert out["definition"] == "逾期超过 90 天或资金池代偿或五级分类为次级/可疑/损失" and out["horizon_months"] == 12
    keys = [i["key"] for i in out["indicators"]]
    assert "D1" in keys and "K2" in keys and "F1" in keys
    # The reference is the latest run (#2): PSI of grades between cohort and that run, by hand.
    ref = c.reference
    order = model.grade_labels()
    e = [int((c.frame["grade"] == g).sum()) for g in order]
    a = [int((ref["grade"] == g).sum()) for g in order]
    assert out["psi"]["grade"] == pytest.approx(stats.psi(e, a), abs=1e-6)
    assert c.migrations and c.migrations[0]["from"] == 1 and c.migrations[0]["to"] == 2
    assert v.migration[0]["n"] == sum(map(sum, c.migrations[0]["matrix"]))


def test_register_definition_and_horizon_change_the_outcomes(register):
    db, book = register
    model = load_model()
    settings = load_settings(model)
    settings.definition = ("dpd",)
    c = register_cohort(db, model, settings, history=book)
    assert c.frame.set_index("code")["defaulted"].sum() == 1  # only L3
    assert c.definition == "逾期超过 90 天"
    settings = load_settings(model)
    settings.horizon_months = 14  # to 2027-09-15: L8's payment on 2027-08-20 now counts
    c = register_cohort(db, model, settings, history=book)
    assert c.frame.set_index("code")["defaulted"].sum() == 3
    settings.horizon_months = 12
    with pytest.raises(Exception, match="2026-01-01 及之前没有贷款台账快照"):
        register_cohort(db, model, settings, history=book, as_of=dt.date(2026, 1, 1))
    c = register_cohort(db, model, settings, history=book, as_of=dt.date(2027, 6, 30))
    assert c.as_of == dt.date(2027, 6, 30) and c.frame.empty  # no 12-month window closed yet
    assert validate(c, settings, model).note == "样本为空：无可检验。"


def test_cli_register_path(register, tmp_path, monkeypatch):
    db, book = register
    fake = types.ModuleType("cluster_credit_cli.pool.book")
    fake.loan_history = lambda path: book
    monkeypatch.setitem(sys.modules, "cluster_credit_cli.pool.book", fake)
    res = runner.invoke(app, ["validate", "--db", str(db), "--json", str(tmp_path / "v.json"), "--out",
                              str(tmp_path / "v.xlsx"), "--definition", "dpd,class"])
    data = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    assert data["definition"] == "逾期超过 90 天或五级分类为次级/可疑/损失"
    assert (data["n"], data["defaults"]) == (6, 2)
    assert res.exit_code in (0, 1)
    assert ("红灯" in res.output) == (res.exit_code == 1)
    assert "违约太少，尚不能下结论" in res.output
    wb = load_workbook(tmp_path / "v.xlsx")
    assert "指标区分能力" in wb.sheetnames and "稳定性" in wb.sheetnames


# -- the lights and the sample --------------------------------------------------------------------

def test_auc_light_is_red_only_when_the_interval_is_below_the_threshold():
    from cluster_credit_cli.validation.analysis import _auc_light

    s = load_settings(load_model())  # auc_red 0.60, auc_yellow 0.70
    assert _auc_light(stats.Auc(0.55, 0.01, (0.35, 0.75), 10, 5), s) == "yellow"  # poor but not shown to be
    assert _auc_light(stats.Auc(0.52, 0.0004, (0.48, 0.56), 900, 90), s) == "red"
    assert _auc_light(stats.Auc(0.72, 0.0004, (0.68, 0.76), 900, 90), s) == "green"
    assert _auc_light(stats.Auc(None, None, None, 10, 0), s) is None


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample script at a small size, through the pool's real import (a harsh cycle: PDs × 6)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "make_validation_sample", Path(__file__).resolve().parents[1] / "sample_data" / "make_validation_sample.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path_factory.mktemp("vs") / "validation"
    info = mod.build(out, enterprises=150, rounds=3, pd_scale=6.0, seed=18)
    return out, info


def test_sample_register_validates_against_its_truth(sample, tmp_path):
    out, info = sample
    truth = pd.read_csv(out / "truth.csv", dtype=str)
    res = runner.invoke(app, ["validate", "--db", str(out / "ccredit.db"), "--json", str(tmp_path / "v.json"),
                              "--out", str(tmp_path / "v.xlsx"), "--lang", "en"])
    assert res.exit_code in (0, 1), res.output
    data = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    # Loans of the first two rounds are mature at the last snapshot (2025-12-31); the third round's are not.
    mature = truth[truth["disbursed"] < "2025-01-01"]
    assert data["n"] == len(mature) == len(mature.drop_duplicates(["code", "disbursed"]))  # one loan per firm and round
    assert data["defaults"] == int((mature["defaulted"] == "是").sum())
    assert "disbursed less than 12 months before 2025-12-31 (window still open)" in " ".join(res.output.split())
    # The PDs were 6 × the table: the table is too low, and the Jeffreys test sees it somewhere.
    assert any(g["light"] == "red" for g in data["grades"] if g["n"]) and res.exit_code == 1
    assert data["psi"]["grade"] is not None and data["auc"] > 0.5


def test_validate_as_of_uses_the_outcomes_known_then(sample, tmp_path):
    out, _ = sample
    res = runner.invoke(app, ["validate", "--db", str(out / "ccredit.db"), "--as-of", "2024-12-31", "--json", "-",
                              "--out", str(tmp_path / "v.xlsx")])
    data = json.loads(res.stdout)
    truth = pd.read_csv(out / "truth.csv", dtype=str)
    assert data["n"] == int((truth["disbursed"] < "2024-01-01").sum())  # only the first round is mature then


# -- odd files and other paths -------------------------------------------------------------------

def test_header_only_and_not_a_workbook_exit_1_with_the_problem(tmp_path):
    hdr = tmp_path / "hdr.csv"
    hdr.write_text("统一社会信用代码,评级日期,总分,是否违约\n", encoding="utf-8")
    res = runner.invoke(app, ["validate", "--outcomes", str(hdr), "--out", str(tmp_path / "a.xlsx")])
    assert res.exit_code == 1
    assert "表头下没有数据行" in res.output and "样本为空：无可检验。" in res.output
    fake = tmp_path / "fake.xlsx"
    fake.write_text("hello\n", encoding="utf-8")
    res = runner.invoke(app, ["validate", "--outcomes", str(fake), "--out", str(tmp_path / "b.xlsx"), "--lang", "en"])
    assert res.exit_code == 1 and "not an Excel workbook" in " ".join(res.output.split())
    assert (tmp_path / "b.xlsx").is_file()  # the workbook with the problem is still written


def test_control_characters_and_formulas_in_names_stay_text(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(",".join(HEADER) + "\n" + f'{R.code(1)},"=HYPERLINK(""x"")",2025-01-31,95,AAA,否\n'
                    + f"{R.code(2)},乙\x07公司,2025-01-31,60,BBB,是\n", encoding="utf-8")
    res = runner.invoke(app, ["validate", "--outcomes", str(path), "--out", str(tmp_path / "v.xlsx")])
    assert res.exit_code in (0, 1), res.output
    ws = load_workbook(tmp_path / "v.xlsx")["验证样本"]
    names = [r[1] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert "=HYPERLINK(\"x\")" in names  # written as text, never a formula
    assert ws.cell(row=2, column=2).data_type == "s"


def test_bank_grades_are_ordered_by_their_pd(tmp_path):
    rows = [[R.code(i + 1), "", "2025-01-31", g, d, p] for i, (g, d, p) in enumerate(
        [("1", "否", 0.01), ("1", "否", 0.01), ("3", "是", 0.2), ("3", "否", 0.2), ("2", "否", 0.05), ("2", "是", 0.05)])]
    path = xlsx(tmp_path / "o.xlsx", ["统一社会信用代码", "企业名称", "评级日期", "等级", "是否违约", "PD"], rows)
    model = load_model()
    settings = load_settings(model)
    v = validate(file_cohort(path, model, settings), settings, model)
    assert v.grade_order == ["1", "2", "3"] and v.pd_source == "file"
    assert v.score_kind == "grade"
    # grade ranks 3, 2, 1 (better grade higher): goods 3, 3, 2, 1 vs bads 2 (grade 2), 1 (grade 3)
    assert v.auc.auc == pytest.approx(brute([3, 3, 1, 2], [2, 1]))
    assert v.to_json()["ks_score"] in ("1", "2", "3")


def brute(goods, bads):
    return sum(1.0 if g > b else 0.5 if g == b else 0.0 for g in goods for b in bads) / (len(goods) * len(bads))


def test_outcomes_with_a_register_compare_with_its_latest_round(register, tmp_path):
    db, _ = register
    path, _ = simulated(tmp_path / "sim.xlsx", n=120)
    res = runner.invoke(app, ["validate", "--outcomes", str(path), "--db", str(db), "--json", "-",
                              "--out", str(tmp_path / "v.xlsx")])
    data = json.loads(res.stdout)
    assert data["psi"]["grade"] is not None and data["psi"]["score"] is not None
    assert "稳定性" in load_workbook(tmp_path / "v.xlsx").sheetnames


def test_chinese_summary_fits_80_columns(tmp_path, monkeypatch):
    from rich.cells import cell_len

    path, _ = simulated(tmp_path / "sim.xlsx")
    monkeypatch.setenv("COLUMNS", "80")
    res = runner.invoke(app, ["validate", "--outcomes", str(path), "--out", str(tmp_path / "v.xlsx")])
    assert max(cell_len(x) for x in res.output.splitlines()) <= 80
    assert res.output.splitlines()[0] == "评分卡验证 — sim.xlsx"


def test_outcome_template_round_trip(tmp_path):
    """`ccredit template outcomes`, filled in below its hint row, reads back (the hint row skipped)."""
    path = tmp_path / "t.xlsx"
    res = runner.invoke(app, ["template", "outcomes", "--out", str(path)])
    assert res.exit_code == 0, res.output
    wb = load_workbook(path)
    ws = wb.active
    header = [c.value for c in ws[1]]
    assert header[:4] == ["统一社会信用代码", "企业名称", "评级日期", "是否违约"]
    row = {"统一社会信用代码": R.code(1), "企业名称": "甲", "评级日期": "2025-06-30", "是否违约": "否", "等级": "AA"}
    ws.append([row.get(h) for h in header])
    wb.save(path)
    problems = Problems()
    frame = read_outcomes(path, load_model(), problems)
    assert not list(problems) and frame["code"].tolist() == [R.code(1)] and frame["grade"].tolist() == ["AA"]


def test_file_as_of_leaves_later_ratings_out(tmp_path):
    path = xlsx(tmp_path / "o.xlsx", HEADER, [[R.code(1), "", "2025-01-31", 95, "AAA", "否"],
                                              [R.code(2), "", "2025-08-31", 60, "BBB", "是"]])
    model = load_model()
    c = file_cohort(path, model, load_settings(model), as_of=dt.date(2025, 6, 30))
    assert c.frame["code"].tolist() == [R.code(1)] and c.excluded == [("评级日期晚于 2025-06-30", 1)]


def test_a_register_without_loan_snapshots_is_a_usage_error(register, monkeypatch):
    db, _ = register  # rated rounds, but the pool's ledger was never imported
    res = runner.invoke(app, ["validate", "--db", str(db)])
    assert res.exit_code == 2
    assert "没有可用于验证的贷款台账快照" in res.output and "ccredit pool import" in res.output
    res = runner.invoke(app, ["validate", "--db", str(db), "--definition", "dpd,npl"])
    assert res.exit_code == 2 and "unknown criterion 'npl'" in res.output


def test_a_loan_without_disbursement_date_is_counted_not_dropped(register):
    db, book = register
    book = book.copy()
    book.loc[book["loan_no"] == "L4", "disbursed"] = None
    model = load_model()
    c = register_cohort(db, model, load_settings(model), history=book)
    assert R.code(4) not in set(c.frame["code"])
    assert ("贷款没有放款日期", 1) in c.excluded


def test_csi_per_leaf_against_the_latest_round(register):
    """Leaf K2 (sales): cohort scores vs the latest round's admitted firms, binned by distinct value."""
    db, book = register
    model = load_model()
    settings = load_settings(model)
    c = register_cohort(db, model, settings, history=book)
    v = validate(c, settings, model)
    csi = {x["key"]: x["csi"] for x in v.csi}
    assert set(csi) <= set(model.leaves()) and "K2" in csi
    mine, ref = c.indicators["K2"].tolist(), c.reference["K2"].tolist()
    values = sorted(set(mine))
    e = [mine.count(x) for x in values]
    # each reference score falls in the bin of the nearest cohort value (edges at midpoints)
    a = [sum(1 for y in ref if (i == 0 or y >= (values[i - 1] + x) / 2) and
             (i == len(values) - 1 or y < (x + values[i + 1]) / 2)) for i, x in enumerate(values)]
    assert csi["K2"] == pytest.approx(stats.psi(e, a))


SIX_EN = """\
Scorecard validation — six.xlsx
Default: as given in six.xlsx (column defaulted)
6 obligors, 2 defaults
AUC                       0.7500  green  DeLong 95% CI [0.260, 1.000]
Accuracy ratio (Gini)     0.5000         2·AUC − 1
KS                        0.7500         largest at score 82.00
Hosmer–Lemeshow          53.3090  red    df = 3, p = 0.0000
Monotonic default rates      yes
Calibration per grade        2/3  red    red: AA; yellow: BB; Jeffreys test; PD
                                         from risk.pd
Grade  Obligors  Defaults  Observed      PD  Binomial p  Jeffreys p  Light
AAA           2         0     0.00%   0.50%       1.000       0.120  green
AA            2         1    50.00%   1.00%       0.020       0.002  red
A             0         0             2.00%
BBB           0         0             4.00%
BB            2         1    50.00%   8.00%       0.154       0.037  yellow
B             0         0            15.00%
Note: no latest round to compare with: stability (PSI) is not computed (give the
register, --db)
RED: at least one test failed. 2 defaults among 6: too few to conclude. About 31
defaults would be needed for the AUC's 95 % interval to be within ±0.10 (about
93 rated obligors at the present default rate).
"""


def test_exact_english_summary_of_six_obligors(tmp_path, monkeypatch):
    """KS 0.75 at 82 (defaulters ≤ 82: 2 of 2, others: 1 of 4); HL = .01/.00995 + .98²/.0198 + .84²/.1472."""
    rows = [[R.code(1), "a", "2025-01-31", 95, "AAA", "否"], [R.code(2), "b", "2025-01-31", 91, "AAA", "否"],
            [R.code(3), "c", "2025-01-31", 82, "AA", "是"], [R.code(4), "d", "2025-01-31", 84, "AA", "否"],
            [R.code(5), "e", "2025-01-31", 55, "BB", "是"], [R.code(6), "f", "2025-01-31", 52, "BB", "否"]]
    path = xlsx(tmp_path / "six.xlsx", HEADER, rows)
    monkeypatch.setenv("COLUMNS", "80")
    res = runner.invoke(app, ["validate", "--outcomes", str(path), "--out", str(tmp_path / "v.xlsx"), "--lang", "en"])
    assert res.exit_code == 1
    lines = [x.rstrip() for x in res.output.splitlines()]
    assert "\n".join(lines[:-1]) + "\n" == SIX_EN
    assert lines[-1] == f"Written: {tmp_path / 'v.xlsx'}"


def test_model_check_validates_the_validation_section(tmp_path):
    from cluster_credit_cli.model.config import DEFAULT_CONFIG

    text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace("p_red = 0.01", "p_red = 0.5")
    path = tmp_path / "model.toml"
    path.write_text(text, encoding="utf-8")
    res = runner.invoke(app, ["model", "check", "--config", str(path)])
    assert res.exit_code == 2 and "validation.p_red: must not exceed validation.p_yellow" in res.output
    res = runner.invoke(app, ["model", "check"])
    assert res.exit_code == 0, res.output
