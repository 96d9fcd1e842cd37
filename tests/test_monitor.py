"""Post-loan monitoring: exactly the graded enterprises with new negative records after their
rating date are flagged; older records, non-graded enterprises and later records are not."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

import regdata as R
from cluster_credit_cli.cli import app
from cluster_credit_cli.model.config import load_model
from cluster_credit_cli.register.monitor import monitor
from cluster_credit_cli.register.store import record_run

runner = CliRunner()
D = dt.date
MONITOR_DAY = D(2027, 4, 30)

OLD = [(R.code(8), "行政处罚", D(2026, 10, 1), None, "已结案")]  # counted in the rating (B)
NEW = [
    (R.code(1), "司法诉讼", D(2027, 1, 1), "被告"),  # the day after the rating: new; S2 100 → 70, still AAA
    (R.code(8), "行政处罚", D(2027, 1, 15)),  # E8: two more penalties (3 in the window: S1 60 → 0)
    (R.code(8), "行政处罚", D(2027, 2, 15)),
    (R.code(8), "劳资纠纷", D(2027, 1, 20)),  # and a labour dispute (S3 100 → 60): AA → A
    (R.code(3), "司法诉讼", D(2027, 1, 10), "原告"),  # plaintiff: not an event
    (R.code(3), "行政处罚", D(2026, 12, 1)),  # before the rating: not new
    (R.code(2), "行政处罚", D(2026, 12, 31)),  # on the rating date: not new
    (R.code(5), "严重失信", D(2027, 3, 1), None, "未移出"),  # blacklisted: vetoed
    (R.code(4), "行政处罚", D(2027, 2, 1)),  # E4 was not graded (bank veto): no alert
    (R.code(50), "行政处罚", D(2027, 2, 1)),  # not in the register at all
    (R.code(7), "行政处罚", D(2027, 6, 15)),  # after the monitoring date: ignored
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("mon")
    ents, recs = R.round_b()
    paths = R.write_round(base / "b", ents, recs)
    db = base / "reg.db"
    record_run(db, R.score(paths, R.B_DAY))
    full = R.write_credit(base / "信用系统_全量.csv", OLD + NEW)
    delta = R.write_credit(base / "信用系统_增量.csv", NEW)
    bank = R.write_bank(base / "银行_新.xlsx", [(R.code(1), 0, "良好", "否"), (R.code(7), 45, "良好", "否"),
                                              (R.code(2), 0, "良好", "否")])
    return {"db": db, "full": full, "delta": delta, "bank": bank, "base": base}


def run(setup, credit="full", bank=True, day=MONITOR_DAY):
    return monitor(setup["db"], model=load_model(), credit_system=setup[credit] if credit else None,
                   bank=setup["bank"] if bank else None, as_of=day)


def test_exactly_the_new_negatives_of_graded_enterprises_are_flagged(setup):
    res = run(setup)
    alerts = {a["code"]: a for a in res.alerts}
    assert set(alerts) == {R.code(8), R.code(5), R.code(7)}
    assert [w["code"] for w in res.watch] == [R.code(1)]
    e8 = alerts[R.code(8)]
    assert (e8["grade_then"], e8["grade_now"], e8["total_now"]) == ("AA", "A", pytest.approx(78.6))
    assert sorted((e["type"], e["date"], e["indicator"]) for e in e8["events"]) == [
        ("劳资纠纷", "2027-01-20", "S3"), ("行政处罚", "2027-01-15", "S1"), ("行政处罚", "2027-02-15", "S1")]
    assert any(r.startswith("S1") and "60 → 0" in r for r in e8["reasons"])
    e5 = alerts[R.code(5)]
    assert (e5["grade_then"], e5["grade_now"]) == ("AAA", None)
    assert [e["type"] for e in e5["events"]] == ["严重失信"]
    assert any("严重失信" in r for r in e5["reasons"])
    e7 = alerts[R.code(7)]
    assert (e7["grade_now"], e7["total_now"]) == ("A", pytest.approx(79.6))
    assert [(e["indicator"], e["detail"]) for e in e7["events"]] == [("S4", "0 → 45")]
    e1 = res.watch[0]
    assert (e1["grade_then"], e1["grade_now"], e1["total_now"]) == ("AAA", "AAA", pytest.approx(98.8))
    assert [(e["date"], e["role"]) for e in e1["events"]] == [("2027-01-01", "被告")]
    assert res.stats["records_after_as_of"] == 1 and res.stats["records_not_graded"] == 2


def test_a_partial_export_gives_the_same_counts(setup):
    res = run(setup, credit="delta")
    e8 = next(a for a in res.alerts if a["code"] == R.code(8))
    assert e8["total_now"] == pytest.approx(78.6)  # the penalty counted at the rating is added back
    assert {a["code"] for a in res.alerts} == {R.code(8), R.code(5), R.code(7)}


def test_nothing_new_before_the_first_new_record(setup):
    res = run(setup, bank=False, day=D(2026, 12, 31))  # monitoring on the rating date itself
    assert res.alerts == [] and res.watch == []
    res = run(setup, bank=False, day=D(2027, 1, 1))
    assert res.alerts == [] and [w["code"] for w in res.watch] == [R.code(1)]


def test_bank_veto_answers_are_new_facts(setup, tmp_path):
    bank = R.write_bank(tmp_path / "bank.xlsx", [(R.code(2), 0, "不良", "否"), (R.code(3), 0, "良好", "是")])
    res = monitor(setup["db"], model=load_model(), bank=bank, as_of=MONITOR_DAY)
    alerts = {a["code"]: a for a in res.alerts}
    assert set(alerts) == {R.code(2), R.code(3)}
    assert all(a["grade_now"] is None for a in alerts.values())
    assert any("个人信用不良" in r for r in alerts[R.code(2)]["reasons"])


def test_monitor_cli_exit_codes_json_and_workbook(setup, tmp_path):
    out = tmp_path / "alerts.xlsx"
    args = ["monitor", "--credit-system", str(setup["full"]), "--bank", str(setup["bank"]), "--as-of", "2027-04-30",
            "--db", str(setup["db"]), "--out", str(out)]
    result = runner.invoke(app, args + ["--json", "-"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert [a["code"] for a in data["alerts"]] == [R.code(5), R.code(7), R.code(8)]  # vetoed first, then by rank
    assert all(list(a) == ["code", "name", "grade_then", "grade_now", "events", "reasons"] for a in data["alerts"])
    assert data["rating_date"] == "2026-12-31" and data["as_of"] == "2027-04-30"
    wb = load_workbook(out)
    assert wb.sheetnames[:3] == ["预警", "关注", "新增事件"]
    assert [wb["预警"].cell(row=r, column=1).value for r in (2, 3, 4)] == [R.code(5), R.code(7), R.code(8)]
    quiet = runner.invoke(app, ["monitor", "--credit-system", str(setup["full"]), "--as-of", "2026-12-31",
                                "--db", str(setup["db"]), "--out", str(tmp_path / "none.xlsx")])
    assert quiet.exit_code == 0, quiet.output
    assert "预警 0 家" in quiet.output


def test_monitor_usage_errors(setup, tmp_path):
    before = runner.invoke(app, ["monitor", "--credit-system", str(setup["full"]), "--as-of", "2026-12-01",
                                 "--db", str(setup["db"]), "--out", str(tmp_path / "x.xlsx")])
    assert before.exit_code == 2 and "早于第 1 次运行的评价基准日" in before.output
    nothing = runner.invoke(app, ["monitor", "--db", str(setup["db"])])
    assert nothing.exit_code == 2
    no_db = runner.invoke(app, ["monitor", "--credit-system", str(setup["full"]), "--db", str(tmp_path / "no.db")])
    assert no_db.exit_code == 2 and "处没有评级登记簿" in no_db.output
