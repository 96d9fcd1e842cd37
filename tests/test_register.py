"""The rating register: recording runs, schema versions and migration, transactions, concurrent
writers, and the runs / history / compare views and commands."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import sqlite3
import subprocess
import sys

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

import regdata as R
from cluster_credit_cli.register import store as register
from cluster_credit_cli.cli import app
from cluster_credit_cli.register.store import (ABSENT, NOT_GRADED, SCHEMA_VERSION, RegisterError, compare_runs, connect,
                                         history, list_runs, pool_ledger, record_run)

runner = CliRunner()


@pytest.fixture(scope="module")
def rounds(tmp_path_factory):
    """Round A (2026-06-30) and round B (2026-12-31) scored once for the module."""
    base = tmp_path_factory.mktemp("rounds")
    ents_a, rec_a = R.round_a()
    ents_b, rec_b = R.round_b()
    pa = R.write_round(base / "a", ents_a, rec_a)
    pb = R.write_round(base / "b", ents_b, rec_b)
    return {"a": R.score(pa, R.A_DAY), "b": R.score(pb, R.B_DAY), "paths_a": pa, "paths_b": pb}


@pytest.fixture
def db(tmp_path, rounds):
    path = tmp_path / "reg.db"
    record_run(path, rounds["a"])
    record_run(path, rounds["b"])
    return path


def count_rows(path, table):
    con = sqlite3.connect(path)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


# -- recording ---------------------------------------------------------------------------------------

def test_record_run_stores_the_run_and_every_result(tmp_path, rounds):
    path = tmp_path / "r.db"
    run_id = record_run(path, rounds["b"])
    assert run_id == 1
    (run,) = list_runs(path)
    assert run["as_of"] == "2026-12-31"
    assert run["model_hash"] == rounds["b"].model.hash
    assert run["tool_version"] == rounds["b"].tool_version
    assert run["enterprises"] == 7 and run["graded"] == 6
    assert run["allocated"] == pytest.approx(1900)
    kinds = {i["kind"]: i for i in run["inputs"]}
    assert set(kinds) == {"applicants", "auditor", "association", "bank", "credit_system"}
    assert all(len(i["sha256"]) == 64 for i in run["inputs"])
    assert run["applicants_file"].endswith("申报材料.xlsx")
    assert run["leaves"]["C1"]["weight"] == pytest.approx(0.07 * 0.20 / 0.19)
    (h,) = history(path, R.code(4))
    assert h["status"] == ["veto:bank"] and h["grade"] is None and h["quota"] is None
    assert h["scores"]["S4"] == 0 and h["inputs"]["S4"] == 120
    (h8,) = history(path, R.code(8))
    assert h8["grade"] == "AA" and h8["total"] == pytest.approx(83.2) and h8["inputs"]["S1"] == 1
    assert h8["dimensions"]["D3"] == pytest.approx(18.0)


def test_a_crash_between_inserts_leaves_no_partial_run(tmp_path, rounds, monkeypatch):
    path = tmp_path / "r.db"
    record_run(path, rounds["a"])
    real = register._result_rows

    def crashing(result, run_id):
        for i, row in enumerate(real(result, run_id)):
            if i == 3:
                raise RuntimeError("power cut")
            yield row

    monkeypatch.setattr(register, "_result_rows", crashing)
    with pytest.raises(RuntimeError, match="power cut"):
        record_run(path, rounds["b"])
    assert count_rows(path, "runs") == 1
    assert count_rows(path, "results") == len(rounds["a"].table)
    monkeypatch.setattr(register, "_result_rows", real)
    assert record_run(path, rounds["b"]) == 2  # the register is still usable


HOLDER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
con.execute("COMMIT")
"""


def _writer(path, result, n, queue):
    import dataclasses

    try:
        # Each run a different as-of date: identical reruns are recorded as one run (issue 12).
        queue.put([record_run(path, dataclasses.replace(result, as_of=result.as_of + dt.timedelta(days=i)))
                   for i in range(n)])
    except Exception as exc:  # noqa: BLE001 - report to the parent
        queue.put(repr(exc))


def test_two_concurrent_writers_both_succeed(tmp_path, rounds):
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:
        pytest.skip("needs fork")
    path = tmp_path / "r.db"
    connect(path).close()
    # Another process holds the write lock while both writers start, so both have to wait for it
    # (busy timeout). It is a separate program: an SQLite connection must not cross a fork.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(path, rounds[k], 3, queue)) for k in ("a", "b")]
    for p in procs:
        p.start()
    holder.communicate("release\n", timeout=120)
    assert holder.returncode == 0
    got = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=120)
    assert all(isinstance(g, list) for g in got), got
    ids = sorted(i for g in got for i in g)
    assert ids == [1, 2, 3, 4, 5, 6]
    assert count_rows(path, "results") == 3 * len(rounds["a"].table) + 3 * len(rounds["b"].table)
    per_run = sqlite3.connect(path).execute("SELECT run_id, count(*) FROM results GROUP BY run_id").fetchall()
    assert sorted(n for _, n in per_run) == [7] * 6


# -- schema versions -----------------------------------------------------------------------------------

def _v1_file(path):
    con = sqlite3.connect(path)
    con.executescript(register._V1)
    con.execute("UPDATE schema_version SET version = 1")
    inputs = [{"kind": "applicants", "file": "申报.xlsx", "path": "/data/申报.xlsx", "sha256": "0" * 64}]
    con.execute("INSERT INTO runs (created_at, as_of, model_hash, tool_version, inputs_json) VALUES (?,?,?,?,?)",
                ("2025-01-01T00:00:00+00:00", "2024-12-31", "h" * 64, "0.0.1", json.dumps(inputs)))
    con.execute("INSERT INTO results (run_id, code, name, status_json, grade, rank, total, quota, scores_json) "
                "VALUES (1, ?, '老企业', '[]', 'AA', 1, 85.5, 300, ?)", (R.code(1), json.dumps({"V1": 80.0})))
    con.commit()
    con.close()


def test_a_v1_register_is_migrated_on_open_and_backed_up(tmp_path):
    path = tmp_path / "old.db"
    _v1_file(path)
    con = connect(path)
    try:
        assert con.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION == 2
        cols = {r[1] for r in con.execute("PRAGMA table_info(results)")}
        assert {"base", "bonus", "dimensions_json", "missing_json", "inputs_json"} <= cols
    finally:
        con.close()
    assert (tmp_path / "old.db.v1.bak").is_file()
    (run,) = list_runs(path)
    assert run["applicants_file"] == "/data/申报.xlsx"  # back-filled from the v1 inputs
    (h,) = history(path, R.code(1))
    assert h["grade"] == "AA" and h["total"] == 85.5 and h["missing"] == [] and h["base"] is None
    result = runner.invoke(app, ["runs", "--db", str(path), "--json", "-"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["runs"][0]["as_of"] == "2024-12-31"


def test_a_fresh_register_runs_every_migration(tmp_path):
    path = tmp_path / "new.db"
    connect(path).close()
    con = sqlite3.connect(path)
    assert con.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    assert {r[1] for r in con.execute("PRAGMA table_info(runs)")} >= {"model_name", "applicants_file", "pool_json"}
    con.close()
    assert not list(tmp_path.glob("*.bak"))


def test_a_newer_schema_is_refused_with_exit_2(tmp_path, rounds):
    path = tmp_path / "future.db"
    connect(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE schema_version SET version = 99")
    con.commit()
    con.close()
    with pytest.raises(RegisterError, match="由更新版本的 ccredit 写入"):
        connect(path)
    with pytest.raises(RegisterError):
        record_run(path, rounds["a"])
    result = runner.invoke(app, ["runs", "--db", str(path)])
    assert result.exit_code == 2
    assert "v99" in result.output and "由更新版本的 ccredit 写入" in result.output


def test_not_a_register_is_a_usage_error(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    result = runner.invoke(app, ["runs", "--db", str(junk)])
    assert result.exit_code == 2 and "不是 ccredit 评级登记簿" in result.output
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    assert runner.invoke(app, ["runs", "--db", str(other)]).exit_code == 2
    missing = runner.invoke(app, ["runs", "--db", str(tmp_path / "nope.db")])
    assert missing.exit_code == 2 and "处没有评级登记簿" in missing.output
    assert not (tmp_path / "nope.db").exists()


def test_journal_mode_rollback_on_a_share_wal_only_local(tmp_path, monkeypatch):
    monkeypatch.setattr(register, "_fs_type", lambda p: "cifs")
    monkeypatch.setattr(register, "_windows_local", lambda p: None)
    monkeypatch.delenv("CCREDIT_DB_JOURNAL", raising=False)
    assert register.journal_mode_for(tmp_path / "x.db") == "delete"
    con = connect(tmp_path / "share.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    con.close()
    monkeypatch.setattr(register, "_fs_type", lambda p: "nfs4")
    assert register.journal_mode_for(tmp_path / "x.db") == "delete"
    monkeypatch.setattr(register, "_fs_type", lambda p: "ext4")
    assert register.journal_mode_for(tmp_path / "x.db") == "wal"
    monkeypatch.setenv("CCREDIT_DB_JOURNAL", "delete")
    assert register.journal_mode_for(tmp_path / "x.db") == "delete"


# -- rating migration ------------------------------------------------------------------------------------

def test_migration_matrix_of_two_rounds(db):
    cmp = compare_runs(db)  # default: the last two runs
    assert (cmp.run_a["id"], cmp.run_b["id"]) == (1, 2)
    nonzero = {(a, b): n for a, tos in cmp.matrix.items() for b, n in tos.items() if n}
    assert nonzero == {
        ("AAA", "AAA"): 1,  # E1
        ("AAA", NOT_GRADED): 1,  # E4: bank veto (overdue 120 days)
        ("AAA", ABSENT): 1,  # E6: not in round B
        ("AA", "A"): 1,  # E2: solvency collapsed
        ("AA", "AA"): 1,  # E8
        ("A", "AA"): 1,  # E3: sales rating 2 → 5
        (NOT_GRADED, "AAA"): 1,  # E5: now registered in the town
        (ABSENT, "AA"): 1,  # E7: new applicant
    }
    assert list(cmp.matrix) == ["AAA", "AA", "A", "BBB", "BB", "B", NOT_GRADED, ABSENT]
    assert ABSENT not in cmp.matrix[ABSENT]
    pct = cmp.row_percent()
    assert pct["AAA"]["AAA"] == pytest.approx(1 / 3) and pct["AA"]["A"] == pytest.approx(0.5)
    assert pct["BBB"]["BBB"] is None


def test_changes_and_their_drivers(db):
    changes = {c["code"]: c for c in compare_runs(db, 1, 2).changes}
    assert set(changes) == {R.code(2), R.code(3), R.code(4), R.code(5)}
    down = changes[R.code(2)]
    assert (down["from"], down["to"], down["direction"]) == ("AA", "A", "downgrade")
    assert (down["total_from"], down["total_to"]) == (pytest.approx(85.2), pytest.approx(77.2))
    assert [(d["key"], d["delta"]) for d in down["drivers"]] == [("F1", pytest.approx(-8.0))]
    assert (down["drivers"][0]["score_from"], down["drivers"][0]["score_to"]) == (100, 0)
    up = changes[R.code(3)]
    assert (up["from"], up["to"], up["direction"]) == ("A", "AA", "upgrade")
    assert [(d["key"], d["delta"]) for d in up["drivers"]] == [("K2", pytest.approx(5.4))]
    left = changes[R.code(4)]
    assert (left["from"], left["to"], left["direction"]) == ("AAA", NOT_GRADED, "left")
    assert [(d["key"], d["delta"]) for d in left["drivers"]] == [("S4", pytest.approx(-7.0))]
    assert left["drivers"][0]["input_to"] == 120
    entered = changes[R.code(5)]
    assert (entered["from"], entered["to"], entered["drivers"]) == (NOT_GRADED, "AAA", [])


def test_drivers_sorted_by_absolute_weighted_change():
    leaves = {"A1": {"weight": 0.1, "name": "a"}, "B1": {"weight": 0.5, "name": "b"}, "C1": {"weight": 0.2, "name": "c"}}
    a = {"scores": {"A1": 100, "B1": 60, "C1": 50}}
    b = {"scores": {"A1": 40, "B1": 70, "C1": 50}}
    got = register.drivers(a, b, leaves, leaves)
    assert [(d["key"], d["delta"]) for d in got] == [("A1", -6.0), ("B1", 5.0)]


def test_compare_cli_json_and_heat_map_workbook(db, tmp_path):
    out = tmp_path / "cmp.xlsx"
    result = runner.invoke(app, ["compare", "--db", str(db), "--out", str(out), "--json", "-"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"matrix", "changes"}
    assert data["matrix"]["AA"]["A"] == 1 and data["matrix"][NOT_GRADED]["AAA"] == 1
    assert {tuple(sorted(c)) for c in data["changes"]} == {
        tuple(sorted(["code", "name", "from", "to", "total_from", "total_to", "drivers"]))}
    assert [c["code"] for c in data["changes"]] == [R.code(2), R.code(4), R.code(3), R.code(5)]
    wb = load_workbook(out)
    ws = wb["评级迁移矩阵"]
    rules = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert rules and all(r.type == "colorScale" for r in rules) and len(rules[0].colorScale.color) == 3
    cells = {(ws.cell(row=r, column=1).value, ws.cell(row=4, column=c).value): ws.cell(row=r, column=c).value
             for r in range(5, 13) for c in range(2, 10)}
    assert cells[("AA", "A")] == 1 and cells[("未评级", "AAA")] == 1 and cells[("AAA", "不在本轮")] == 1
    drivers = wb["变动指标"]
    assert [drivers.cell(row=i, column=3).value for i in range(2, 5)] == ["F1", "S4", "K2"]


def test_compare_needs_two_runs(tmp_path, rounds):
    path = tmp_path / "one.db"
    record_run(path, rounds["a"])
    result = runner.invoke(app, ["compare", "--db", str(path)])
    assert result.exit_code == 2 and "没有与最近一次不同的更早运行" in result.output
    assert runner.invoke(app, ["compare", "1", "--db", str(path)]).exit_code == 2
    assert runner.invoke(app, ["compare", "1", "7", "--db", str(path)]).exit_code == 2


# -- runs, ledger, history -----------------------------------------------------------------------------------

def test_pool_ledger_of_the_latest_run(db):
    led = pool_ledger(db)
    assert led["run"]["id"] == 2 and led["capacity"] == 10000
    by = {g["grade"]: g for g in led["by_grade"]}
    assert (by["AAA"]["enterprises"], by["AAA"]["quota"]) == (2, 800)
    assert (by["AA"]["enterprises"], by["AA"]["quota"]) == (3, 900)
    assert (by["A"]["enterprises"], by["A"]["quota"]) == (1, 200)
    assert by["AA"]["cap"] == 300 and by["BBB"]["enterprises"] == 0
    assert led["allocated"] == 1900 and led["remaining"] == 8100
    assert [e["code"] for e in led["enterprises"]][:2] == sorted([R.code(1), R.code(5)])
    assert led["enterprises"][-1]["cumulative"] == 1900


def test_runs_cli_workbook_has_the_pool_ledger(db, tmp_path):
    out = tmp_path / "runs.xlsx"
    result = runner.invoke(app, ["runs", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2026-06-30" in result.output and "2026-12-31" in result.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["评级运行记录", "资金池台账"]
    ws = wb["资金池台账"]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    flat = [v for row in values for v in row]
    assert "AAA" in flat and 800 in flat and 1900 in flat and 8100 in flat
    assert R.code(7) in flat and R.code(4) not in flat  # vetoed: no quota line
    runs_ws = wb["评级运行记录"]
    assert [runs_ws.cell(row=r, column=1).value for r in (2, 3)] == [1, 2]


def test_history_cli(db):
    result = runner.invoke(app, ["history", R.code(2).lower(), "--db", str(db), "--json", "-"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(h["run_id"], h["grade"]) for h in data["history"]] == [(1, "AA"), (2, "A")]
    table = runner.invoke(app, ["history", R.code(2), "--db", str(db), "--lang", "en"])
    assert table.exit_code == 0 and "#1" in table.output and "#2" in table.output
    missing = runner.invoke(app, ["history", R.code(99), "--db", str(db)])
    assert missing.exit_code == 1


# -- the hook in `ccredit score` ---------------------------------------------------------------------------------

def test_score_records_in_the_one_default_register_and_no_db_skips(tmp_path, rounds, monkeypatch):
    paths = rounds["paths_b"]
    out = tmp_path / "out" / "ratings.xlsx"
    args = ["score", str(paths["applicants"]), "--as-of", "2026-12-31", "-q"]
    for kind in ("auditor", "association", "bank"):
        args += [f"--{kind}", str(paths[kind])]
    args += ["--credit-system", str(paths["credit_system"])]
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home-data"))
    result = runner.invoke(app, args + ["--out", str(out)])
    assert result.exit_code == 0, result.output
    default = tmp_path / "home-data" / "ccredit" / "ccredit.db"
    assert default.is_file() and not (tmp_path / "out" / "ccredit.db").exists()  # not beside the workbook
    assert [r["id"] for r in list_runs(default)] == [1]
    # `ccredit runs` from any folder reads the same register
    monkeypatch.chdir(tmp_path / "out")
    listed = runner.invoke(app, ["runs", "--json", "-"])
    assert [r["id"] for r in json.loads(listed.output)["runs"]] == [1]
    other = tmp_path / "elsewhere.db"
    assert runner.invoke(app, args + ["--out", str(out), "--db", str(other)]).exit_code == 0
    assert len(list_runs(other)) == 1
    out2 = tmp_path / "out2" / "r.xlsx"
    assert runner.invoke(app, args + ["--out", str(out2), "--no-db"]).exit_code == 0
    assert out2.is_file() and not (out2.parent / "ccredit.db").exists()


def test_score_with_a_newer_register_exits_2_and_writes_nothing(tmp_path, rounds):
    """Issue 11 item 10: the register is checked before the computation; no workbook is left behind."""
    paths = rounds["paths_a"]
    path = tmp_path / "future.db"
    connect(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE schema_version SET version = 3")
    con.commit()
    con.close()
    out = tmp_path / "r.xlsx"
    result = runner.invoke(app, ["score", str(paths["applicants"]), "--as-of", "2026-06-30", "-q", "--out", str(out),
                                 "--db", str(path)])
    assert result.exit_code == 2 and "由更新版本的 ccredit 写入" in result.output
    assert not out.exists() and not list(tmp_path.glob(".r.*"))


def test_a_register_that_cannot_be_written_is_a_clear_usage_error(tmp_path, rounds, monkeypatch):
    path = tmp_path / "r.db"
    record_run(path, rounds["a"])

    def broken(result, run_id):
        raise sqlite3.OperationalError("disk I/O error")
        yield  # pragma: no cover

    monkeypatch.setattr(register, "_result_rows", broken)
    with pytest.raises(RegisterError, match="未能登记到.*disk I/O error"):
        record_run(path, rounds["b"])
    assert count_rows(path, "runs") == 1


def test_ccredit_db_environment_variable(db, monkeypatch):
    monkeypatch.setenv("CCREDIT_DB", str(db))
    result = runner.invoke(app, ["runs", "--json", "-"])
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in json.loads(result.output)["runs"]] == [1, 2]


def test_identical_rerun_is_the_same_run_and_compare_skips_it(tmp_path, rounds):
    import dataclasses

    path = tmp_path / "r.db"
    first = record_run(path, rounds["a"])
    second = record_run(path, rounds["b"])
    assert record_run(path, rounds["b"]) == second  # same inputs, model, date and tool: not a new run
    assert [r["id"] for r in list_runs(path)] == [first, second]
    later = record_run(path, dataclasses.replace(rounds["b"], as_of=rounds["b"].as_of + dt.timedelta(days=1)))
    assert later == second + 1
    # Another identical run of "later" would be the same; compare defaults to the last two *different* runs.
    cmp = compare_runs(path)
    assert (cmp.run_a["id"], cmp.run_b["id"]) == (second, later)
    # A register written before reruns were merged holds identical runs side by side: compare skips them.
    con = sqlite3.connect(path)
    con.execute("INSERT INTO runs (created_at, as_of, model_hash, tool_version, inputs_json, model_name, "
                "applicants_file, leaves_json, pool_json, warnings_json) SELECT created_at, as_of, model_hash, "
                "tool_version, inputs_json, model_name, applicants_file, leaves_json, pool_json, warnings_json "
                "FROM runs WHERE id = ?", (later,))
    con.commit()
    con.close()
    cmp = compare_runs(path)
    assert (cmp.run_a["id"], cmp.run_b["id"]) == (second, later + 1)
