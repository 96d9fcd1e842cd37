"""Issue 11: the gaps an attack found -- data loss, links, injection, modes, bounds, faults, register.

Each test reproduces one failure of the attack (disk full by an injected ENOSPC, SIGKILL through a
subprocess, symlinks, a 0-byte register ...) and checks the promised behaviour: a one-line message
naming the user's file, the documented exit code, nothing a user had lost or altered.
"""

from __future__ import annotations

import re

import builtins
import datetime as dt
import errno
import gc
import json
import os
import pathlib
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import build_round, code, ent
from typer.testing import CliRunner

import cluster_credit_cli.atomic as atomic
from cluster_credit_cli.batch.manifest import load_entry
from cluster_credit_cli.batch.run import LOG_NAME, fingerprint, run_batch
from cluster_credit_cli.cli import app
from cluster_credit_cli.model.config import load_model

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
FILES = ["申报材料汇总.xlsx", "会计师事务所审计数据.xlsx", "行业协会评价.xlsx", "社会信用系统导出.csv",
         "合作银行征信.xlsx", "评审小组核定.xlsx"]
AS_OF = "2026-06-30"
runner = CliRunner()


def invoke(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200", **(env or {})})


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def temps(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if atomic.is_temp_name(p.name)]


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture
def round_dir(tmp_path):
    paths = build_round(tmp_path / "r", [ent(1), ent(2)])
    return paths


def _enospc_on(monkeypatch, suffix: str):
    """Make writing a temporary whose name ends with ``suffix`` fail like a full disk (as text or
    as bytes: the JSON is written as UTF-8 bytes)."""
    for method in ("write_text", "write_bytes"):
        real = getattr(pathlib.Path, method)

        def write(self, *a, _real=real, **kw):
            if atomic.is_temp_name(self.name) and self.name.endswith(suffix):
                raise OSError(errno.ENOSPC, "No space left on device", str(self))
            return _real(self, *a, **kw)

        monkeypatch.setattr(pathlib.Path, method, write)


# -- 1. a refused run leaves every previous output untouched ----------------------------------------

def test_disk_full_on_the_json_leaves_the_previous_set_untouched(round_dir, tmp_path, monkeypatch):
    out, js = tmp_path / "o" / "r.xlsx", tmp_path / "o" / "r.json"
    args = ["score", round_dir["applicants"], "--as-of", AS_OF, "--out", out, "--json", js, "--no-db", "-q",
            "--detail", "csv", "--detail-limit", "1"]  # the indicator/provenance CSVs are in the set too
    assert invoke(*args).exit_code == 0
    before = snapshot(tmp_path / "o")
    assert len(before) >= 4  # workbook, JSON and the two detail CSVs
    _enospc_on(monkeypatch, ".tmp.json")
    res = invoke(*args[:3], "2026-07-31", *args[4:])
    assert res.exit_code == 2, res.output
    assert "磁盘已满" in res.output and str(js) in res.output
    assert "unexpected" not in res.output and "Traceback" not in res.output and ".tmp" not in res.output
    assert snapshot(tmp_path / "o") == before and not temps(tmp_path)


def test_disk_full_inside_the_workbook_zip_prints_no_traceback(round_dir, tmp_path, monkeypatch):
    from cluster_credit_cli.outputs import excel

    out = tmp_path / "r.xlsx"
    out.write_bytes(b"previous")
    real = excel._DiscardableFile.write

    def write(self, data):
        if not self._discarded and self._fh.tell() > 2000:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(excel._DiscardableFile, "write", write)
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    res = invoke("score", round_dir["applicants"], "--as-of", AS_OF, "--out", out, "--no-db", "-q")
    gc.collect()
    assert res.exit_code == 2 and "磁盘已满" in res.output and str(out) in res.output, res.output
    assert unraisable == []  # no "Exception ignored in ZipFile.__del__"
    assert out.read_bytes() == b"previous" and not temps(tmp_path)


def test_a_batch_round_that_cannot_finish_keeps_its_previous_outputs(tmp_path, model, monkeypatch):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    (inbox / "r1").mkdir(parents=True)
    for f in FILES:
        shutil.copy(SAMPLE / f, inbox / "r1" / f)
    run_batch(inbox, outbox, model=model, as_of=dt.date(2026, 11, 30), settle_seconds=0)
    before = snapshot(outbox / "processed")
    _enospc_on(monkeypatch, ".tmp.md")
    rep = run_batch(inbox, outbox, model=model, as_of=dt.date(2026, 11, 30), settle_seconds=0, force=True)
    assert rep.rounds[0].action == "error" and "磁盘已满" in rep.rounds[0].message
    assert snapshot(outbox / "processed") == before and not temps(outbox)


# -- 2. never overwrite an input -------------------------------------------------------------------

def test_out_or_json_naming_an_input_is_refused_before_anything_runs(round_dir, tmp_path):
    app_file = round_dir["applicants"]
    original = {k: p.read_bytes() for k, p in round_dir.items()}
    res = invoke("score", app_file, "--as-of", AS_OF, "--out", app_file, "--no-db")
    assert res.exit_code == 2 and "这是本次运行的输入文件" in res.output
    res = invoke("score", app_file, "--as-of", AS_OF, "--json", round_dir["auditor"], "--no-db")
    assert res.exit_code == 2 and "--json" in res.output
    link = tmp_path / "link.xlsx"
    link.symlink_to(round_dir["bank"])  # same inode after the symlink
    res = invoke("check", app_file, "--as-of", AS_OF, "--out", link)
    assert res.exit_code == 2 and "这是本次运行的输入文件" in res.output
    res = invoke("score", app_file, "--as-of", AS_OF, "--db", round_dir["association"])
    assert res.exit_code == 2
    same = tmp_path / "same.xlsx"
    res = invoke("score", app_file, "--as-of", AS_OF, "--out", same, "--json", same, "--no-db")
    assert res.exit_code == 2 and "是同一个文件" in res.output
    assert {k: p.read_bytes() for k, p in round_dir.items()} == original and not same.exists()


def test_survey_and_weights_refuse_to_overwrite_their_inputs(tmp_path):
    data = tmp_path / "问卷数据.xlsx"
    shutil.copy(SAMPLE / "问卷数据.xlsx", data)
    before = data.read_bytes()
    cb = ROOT / "config" / "survey" / "hengli_codebook.xlsx"
    res = invoke("survey", data, "--codebook", cb, "--out", data)
    assert res.exit_code == 2 and "这是本次运行的输入文件" in res.output
    res = invoke("survey", "codebook", data, "--out", data)
    assert res.exit_code == 2
    assert data.read_bytes() == before
    result = tmp_path / "r.json"
    result.write_text("{}")
    res = invoke("weights", "sensitivity", result, "--json", result)
    assert res.exit_code == 2 and result.read_text() == "{}"


# -- 3. unreadable export = a problem, not an abort -------------------------------------------------

def _unreadable(monkeypatch, target: Path):
    real = builtins.open

    def fake_open(file, *a, **kw):
        if isinstance(file, (str, os.PathLike)) and Path(file).name == target.name:
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real(file, *a, **kw)

    monkeypatch.setattr(builtins, "open", fake_open)


def test_an_unreadable_export_is_a_problem_naming_the_file(round_dir, tmp_path, monkeypatch):
    _unreadable(monkeypatch, round_dir["bank"])
    js = tmp_path / "r.json"
    res = invoke("score", round_dir["applicants"], "--as-of", AS_OF, "--out", tmp_path / "r.xlsx", "--json", js,
                 "--no-db", "--lang", "en")
    assert res.exit_code == 1, res.output
    assert "unexpected" not in res.output
    probs = json.loads(js.read_text())["problems"]
    assert any(p["file"] == round_dir["bank"].name and p["code"] == "unreadable" for p in probs)


def test_batch_scores_a_round_without_its_unreadable_export(tmp_path, model, monkeypatch):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    (inbox / "r1").mkdir(parents=True)
    for f in FILES:
        shutil.copy(SAMPLE / f, inbox / "r1" / f)
    _unreadable(monkeypatch, inbox / "r1" / "合作银行征信.xlsx")
    rep = run_batch(inbox, outbox, model=model, as_of=dt.date(2026, 11, 30), settle_seconds=0)
    r = rep.rounds[0]
    assert r.action == "processed" and r.outcome == "problems"
    text = (outbox / "processed" / "r1" / "problems.csv").read_text(encoding="utf-8-sig")
    assert "合作银行征信.xlsx" in text and "unreadable" in text
    assert load_entry(outbox, "r1").outcome == "problems"  # not "error": not retried forever


# -- 4. batch does not follow links out of the inbox -----------------------------------------------

def test_batch_refuses_linked_rounds_and_files_and_never_reads_them(tmp_path, model):
    secret_dir = tmp_path / "private"
    secret_dir.mkdir()
    secret = secret_dir / "shadow.csv"
    secret.write_text("root:$6$SECRETHASH:19000:0:99999:7:::\n")
    for f in FILES:
        shutil.copy(SAMPLE / f, secret_dir / f)
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    (inbox / "good").mkdir(parents=True)
    for f in FILES:
        shutil.copy(SAMPLE / f, inbox / "good" / f)
    (inbox / "good" / "银行备注.csv").symlink_to(secret)
    (inbox / "linked").symlink_to(secret_dir, target_is_directory=True)
    (inbox / "root").symlink_to("/", target_is_directory=True)
    rep = run_batch(inbox, outbox, model=model, as_of=dt.date(2026, 11, 30), settle_seconds=0)
    acts = {r.round: r.action for r in rep.rounds}
    assert acts == {"good": "processed", "linked": "refused", "root": "refused"}
    assert rep.exit_code == 1
    everything = b"".join(p.read_bytes() for p in outbox.rglob("*") if p.is_file())
    assert b"SECRETHASH" not in everything
    log = (outbox / LOG_NAME).read_text(encoding="utf-8")
    assert "refused_link" in log and "银行备注.csv" in log and "linked" in log
    assert not (outbox / "processed" / "linked").exists()
    entry = load_entry(outbox, "good")
    assert "银行备注.csv" not in [i["path"] for i in entry.inputs]
    good = next(r for r in rep.rounds if r.round == "good")
    assert any("银行备注.csv" in n for n in good.notes)  # printed by the CLI, by name


# -- 5. terminal and log injection -----------------------------------------------------------------

def test_a_round_name_with_a_newline_cannot_forge_a_log_line(tmp_path, model):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    name = "r1\n2026-01-01T00:00:00+00:00\tpid=1\tforged\tprocessed\x1b]0;pwned\x07"
    (inbox / name).mkdir(parents=True)
    for f in FILES:
        shutil.copy(SAMPLE / f, inbox / name / f)
    echoed = []
    rep = run_batch(inbox, outbox, model=model, as_of=dt.date(2026, 11, 30), settle_seconds=0, echo=echoed.append)
    assert rep.rounds[0].action == "processed"
    lines = (outbox / LOG_NAME).read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(rep.events)  # one record per event
    assert all(len(line.split("\t")) == 5 for line in lines)
    assert not any(line.split("\t")[2] == "forged" for line in lines)
    assert "\x1b" not in "".join(lines) and "\x07" not in "".join(lines)
    assert all("\x1b" not in e and "\n" not in e for e in echoed)


def test_control_characters_in_file_names_never_reach_the_terminal(tmp_path):
    paths = build_round(tmp_path / "r", [ent(1)])
    evil = paths["applicants"].with_name("申报材料汇总\x1b]0;title\x07\x1b[2J.xlsx")
    paths["applicants"].rename(evil)
    res = invoke("score", evil, "--as-of", AS_OF, "--no-db")
    assert res.exit_code in (0, 1), res.output
    assert "\x1b" not in res.output and "\x07" not in res.output
    assert "\\u001b" in res.output  # shown, escaped
    res = invoke("score", tmp_path / "missing\x1b[2J.xlsx")
    assert res.exit_code == 2 and "\x1b" not in res.output


def test_printable_and_one_line():
    from cluster_credit_cli.text import escape_stream_text, one_line, printable

    assert printable("a\x1b[2Jb\nc\x9bd\u202e") == "a\\u001b[2Jb\nc\\u009bd\\u202e"
    assert one_line("a\nb\tc\rd") == "a\\nb\\tc\\rd"
    # On a terminal the program's own colours pass; a clear-screen or a title never does.
    assert escape_stream_text("\x1b[1mok\x1b[0m\x1b[2J\x1b]0;t\x07", True) == \
        "\x1b[1mok\x1b[0m\\u001b[2J\\u001b]0;t\\u0007"


# -- 6. permissions --------------------------------------------------------------------------------

def test_outputs_get_the_umask_mode_or_keep_the_replaced_files_mode(tmp_path):
    old = os.umask(0o022)
    try:
        new = tmp_path / "new.json"
        atomic.atomic_write_text(new, "{}")
        assert stat.S_IMODE(new.stat().st_mode) == 0o644
        os.umask(0o027)
        shared = tmp_path / "shared.json"
        shared.write_text("old")
        os.chmod(shared, 0o664)
        atomic.atomic_write_text(shared, "new")
        assert stat.S_IMODE(shared.stat().st_mode) == 0o664 and shared.read_text() == "new"
        wb = tmp_path / "w.xlsx"
        from cluster_credit_cli.outputs.excel import Workbook

        with Workbook(wb) as book:
            book.book.add_worksheet("x")
        assert stat.S_IMODE(wb.stat().st_mode) == 0o640
    finally:
        os.umask(old)


# -- 7. bounded preflight --------------------------------------------------------------------------

def test_a_wide_row_deep_in_a_csv_is_refused_with_its_line_number(tmp_path):
    from cluster_credit_cli.inputs.filecheck import preflight

    p = tmp_path / "wide.csv"
    with open(p, "w", encoding="utf-8") as fh:
        fh.write("统一社会信用代码,企业名称\n" + "91330000000000000X,甲\n" * 5000 + "x," * 250_000 + "\n")
    v = preflight(p, max_rows=2_000_000, max_cols=500)
    assert v.code == "csv_too_large" and "5,002" in v.message and len(v.message) < 300


def test_a_one_line_file_is_refused_without_echoing_it(tmp_path):
    from cluster_credit_cli.inputs.filecheck import preflight

    p = tmp_path / "oneline.csv"
    p.write_text("统一社会信用代码 " + "A" * 3_000_000)
    v = preflight(p, max_rows=2_000_000, max_cols=500)
    assert v.code == "csv_too_large" and "AAAA" not in v.message and len(v.message) < 300


def test_the_streaming_reader_is_preflighted_too(tmp_path, model):
    from cluster_credit_cli.inputs import reading
    from cluster_credit_cli.problems import Problems

    p = tmp_path / "records.csv"
    with open(p, "w", encoding="utf-8") as fh:
        fh.write("统一社会信用代码,企业名称,记录类型,记录日期\n" + "91330000000000000X,甲,行政处罚,2025-01-01\n" * 300
                 + "x," * 20_000 + "\n")
    problems = Problems()
    table = reading.read_records_streaming(p, "credit_system", model, problems, keep=None)
    assert table is None and [x.code for x in problems] == ["csv_too_large"]


def test_a_streamed_export_may_be_longer_than_a_file_read_whole(tmp_path, model, monkeypatch):
    """The record export is read in chunks: its length is capped by STREAM_MAX_*, not MAX_ROWS or
    the 256 MB file cap (a city platform's 10,000,000 records are 1.2 GB)."""
    from cluster_credit_cli.inputs import reading
    from cluster_credit_cli.problems import Problems

    p = tmp_path / "records.csv"
    with open(p, "w", encoding="utf-8") as fh:
        fh.write("统一社会信用代码,企业名称,记录类型,决定日期\n" + "91441900PHAMEMRRDA,甲,劳资纠纷,2025-01-01\n" * 300)
    monkeypatch.setattr(reading, "MAX_ROWS", 100)
    whole = Problems()
    assert reading.read_source(p, "credit_system", model, whole) is None
    assert [x.code for x in whole] == ["csv_too_large"]
    streamed = Problems()
    table = reading.read_records_streaming(p, "credit_system", model, streamed, keep=None)
    assert table is not None and len(table.data) == 300 and not [x for x in streamed if x.severity == "error"]
    monkeypatch.setattr(reading, "STREAM_MAX_ROWS", 200)
    capped = Problems()
    assert reading.read_records_streaming(p, "credit_system", model, capped, keep=None) is None
    assert [x.code for x in capped] == ["csv_too_large"]
    monkeypatch.setattr(reading, "STREAM_MAX_ROWS", 10_000)
    monkeypatch.setattr(reading, "STREAM_MAX_BYTES", 1_000)
    sized = Problems()
    assert reading.read_records_streaming(p, "credit_system", model, sized, keep=None) is None
    assert [x.code for x in sized] == ["file_too_large"]


def test_a_file_above_the_size_cap_is_not_hashed(tmp_path, monkeypatch):
    from cluster_credit_cli.batch import run as batch_run
    from cluster_credit_cli.rating import pipeline

    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:
        fh.truncate(300 * 2**20)  # sparse: no disk used
    calls = []
    monkeypatch.setattr(batch_run, "sha256_file", lambda p: calls.append(p) or "x")
    assert fingerprint(big).startswith("unhashed:") and calls == []
    monkeypatch.setattr(pipeline, "sha256_file", lambda p: calls.append(p) or "x")
    assert pipeline._hash_if_readable(big) is None and calls == []


# -- 10. --json / --db failing: nothing written ------------------------------------------------------

def test_a_failing_register_leaves_no_workbook(round_dir, tmp_path, monkeypatch):
    from cluster_credit_cli.register import store

    def broken(db, result):
        raise store.RegisterError(f"the run could not be recorded in {db} (disk I/O error); the register is unchanged")

    monkeypatch.setattr(store, "record_run", broken)
    out = tmp_path / "r.xlsx"
    res = invoke("score", round_dir["applicants"], "--as-of", AS_OF, "--out", out, "--json", tmp_path / "r.json",
                 "--db", tmp_path / "x.db")
    assert res.exit_code == 2 and "could not be recorded" in res.output
    assert not out.exists() and not (tmp_path / "r.json").exists() and not temps(tmp_path)


# -- 11. stale temporaries -------------------------------------------------------------------------

def test_stale_temporaries_are_removed_but_not_a_live_runs(tmp_path):
    old = tmp_path / ".r.k3j4h5g6.tmp.xlsx"
    young = tmp_path / ".r.a1b2c3d4.tmp.xlsx"
    mine_not = tmp_path / ".r.tmp.xlsx.bak"
    for p in (old, young, mine_not):
        p.write_bytes(b"")
    past = time.time() - atomic.STALE_TEMP_AGE - 60
    os.utime(old, (past, past))
    os.utime(mine_not, (past, past))
    atomic._swept.clear()
    atomic.atomic_write_text(tmp_path / "r.json", "{}")
    assert not old.exists() and young.exists() and mine_not.exists()


def test_sigkill_at_random_points_never_corrupts_outputs_and_leftovers_are_swept(round_dir, tmp_path):
    import random

    out = tmp_path / "o" / "r.xlsx"
    cmd = [sys.executable, "-m", "cluster_credit_cli", "score", str(round_dir["applicants"]), "--as-of", AS_OF,
           "--out", str(out), "--json", str(out.with_suffix(".json")), "--no-db", "-q"]
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    rng = random.Random(11)
    for _ in range(4):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with zipfile.ZipFile(out) as z:  # the workbook is always a whole one, old or new
            assert z.testzip() is None
        json.loads(out.with_suffix(".json").read_text())
    for t in temps(tmp_path):  # age what a killed run left, then run again: they go
        os.utime(t, (1, 1))
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    assert not temps(tmp_path)


# -- 12. reading commands never create or modify the register -----------------------------------------

def test_a_zero_byte_register_is_reported_not_reinitialised(tmp_path):
    db = tmp_path / "ccredit.db"
    db.write_bytes(b"")
    for args in (["runs"], ["history", "91330000000000000X"], ["compare"]):
        res = invoke(*args, "--db", db)
        assert res.exit_code == 2 and "（0 字节）" in res.output, (args, res.output)
        assert db.stat().st_size == 0
    missing = tmp_path / "none.db"
    assert invoke("runs", "--db", missing).exit_code == 2 and not missing.exists()


def test_reading_an_older_register_does_not_migrate_the_file(tmp_path):
    from test_register import _v1_file

    db = tmp_path / "old.db"
    _v1_file(db)
    before = db.read_bytes()
    res = invoke("runs", "--db", db, "--json", "-")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["runs"][0]["as_of"] == "2024-12-31"
    assert db.read_bytes() == before and not list(tmp_path.glob("*.bak"))


def test_a_damaged_register_or_bad_json_is_a_clear_error(round_dir, tmp_path):
    db = tmp_path / "r.db"
    assert invoke("score", round_dir["applicants"], "--as-of", AS_OF, "--out", tmp_path / "r.xlsx", "--db", db,
                  "-q").exit_code == 0
    con = sqlite3.connect(db)
    con.execute("UPDATE results SET scores_json = '{not json'")
    con.commit()
    con.close()
    for args in (["runs"], ["history", code(1)]):
        res = invoke(*args, "--db", db)
        assert res.exit_code == 2 and "damaged" in res.output and "unexpected" not in res.output, res.output
    data = bytearray(db.read_bytes())
    for i in range(1024, len(data), 4096):  # scribble over every page but the header
        data[i:i + 64] = b"\xff" * 64
    db.write_bytes(bytes(data))
    for args in (["runs"], ["compare"]):
        res = invoke(*args, "--db", db)
        assert res.exit_code == 2 and "unexpected" not in res.output, res.output


# -- 15. settle only when something changed ----------------------------------------------------------

def test_batch_waits_only_when_a_file_changed_recently(tmp_path, model):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    (inbox / "r1").mkdir(parents=True)
    for f in FILES:
        shutil.copy(SAMPLE / f, inbox / "r1" / f)
        os.utime(inbox / "r1" / f, (time.time() - 3600, time.time() - 3600))
    slept = []
    rep = run_batch(inbox, outbox, model=model, as_of=dt.date(2026, 11, 30), settle_seconds=60, sleep=slept.append)
    assert slept == [] and rep.rounds[0].action == "processed"
    assert any("\tsettle\t" in e and "no wait" in e or "不等待" in e for e in rep.events)
    os.utime(inbox / "r1" / FILES[0])  # touched just now
    rep = run_batch(inbox, outbox, model=model, as_of=dt.date(2026, 11, 30), settle_seconds=60, sleep=slept.append)
    assert slept == [60]


# -- 16. batch records its rounds in the register --------------------------------------------------

def test_batch_records_each_round_once_per_input_key(tmp_path):
    inbox, outbox, db = tmp_path / "in", tmp_path / "out", tmp_path / "reg" / "ccredit.db"
    (inbox / "r1").mkdir(parents=True)
    for f in FILES:
        shutil.copy(SAMPLE / f, inbox / "r1" / f)
    base = ["batch", inbox, "--out", outbox, "--settle", "0", "--as-of", "2026-11-30", "-q"]
    assert invoke(*base, env={"CCREDIT_DB": str(db)}).exit_code in (0, 1)
    assert invoke(*base, "--force", "--db", db).exit_code in (0, 1)  # same inputs: not recorded again
    runs = json.loads(invoke("runs", "--db", db, "--json", "-").output)["runs"]
    assert len(runs) == 1 and runs[0]["applicants_file"].endswith("申报材料汇总.xlsx")
    assert load_entry(outbox, "r1").register_run == runs[0]["id"]
    shutil.copy(SAMPLE / "合作银行征信.xlsx", inbox / "r1" / "合作银行征信.xlsx")
    with open(inbox / "r1" / "社会信用系统导出.csv", "a", encoding="utf-8") as fh:
        fh.write("\n")
    assert invoke(*base, "--db", db).exit_code in (0, 1)
    assert len(json.loads(invoke("runs", "--db", db, "--json", "-").output)["runs"]) == 2


# -- 9. faults checked before the computation --------------------------------------------------------

def test_output_folder_problems_are_refused_before_scoring(round_dir, tmp_path, monkeypatch):
    res = invoke("score", round_dir["applicants"], "--as-of", AS_OF, "--out", tmp_path, "--no-db")
    assert res.exit_code == 2 and "是文件夹" in res.output and "unexpected" not in res.output
    ro = tmp_path / "ro"
    ro.mkdir()
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: not str(p).startswith(str(ro)))
    from cluster_credit_cli.rating import pipeline

    monkeypatch.setattr(pipeline, "_score_round", lambda *a, **k: pytest.fail("scored before the check"))
    res = invoke("score", round_dir["applicants"], "--as-of", AS_OF, "--out", ro / "x.xlsx", "--no-db")
    assert res.exit_code == 2 and "没有权限写入" in res.output and str(ro / "x.xlsx") in res.output


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31"])
def test_as_of_out_of_range_is_a_usage_error(round_dir, day):
    res = invoke("score", round_dir["applicants"], "--as-of", day, "--no-db")
    assert res.exit_code == 2 and "--as-of" in res.output and "unexpected" not in res.output


def test_disk_full_on_a_real_small_file_system(round_dir, tmp_path):
    """A 300 KB tmpfs (only where this process may mount one; else the injected ENOSPC tests cover it)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        args = ["score", round_dir["applicants"], "--as-of", AS_OF, "--out", mnt / "r.xlsx", "--json", mnt / "r.json",
                "--no-db", "-q"]
        assert invoke(*args).exit_code == 0
        before = snapshot(mnt)
        fd = os.open(mnt / "fill", os.O_WRONLY | os.O_CREAT)
        try:
            with pytest.raises(OSError):
                while True:
                    os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)
        res = invoke(*args)
        assert res.exit_code == 2 and "磁盘已满" in res.output and "unexpected" not in res.output, res.output
        (mnt / "fill").unlink()
        assert snapshot(mnt) == before and not temps(mnt)
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


# -- 13. the header is looked for on every visible worksheet ------------------------------------------

def _reorder(path: Path, *, chart_first: bool, notes: bool, keep_data: bool = True) -> None:
    from openpyxl import load_workbook
    from openpyxl.chart import BarChart, Reference

    wb = load_workbook(path)
    data = wb.worksheets[0]
    data.title = "数据"
    if not keep_data:
        data.delete_rows(1, data.max_row)
        data["A1"] = "本表无数据"
    if notes:
        ws = wb.create_sheet("填表说明", 0)
        ws["A1"] = "请按模板填写"
    if chart_first:
        cs = wb.create_chartsheet("图表", 0)
        chart = BarChart()
        chart.add_data(Reference(data, min_col=1, min_row=1, max_row=2))
        cs.add_chart(chart)
    wb.active = 0
    wb.save(path)


def test_a_chart_sheet_and_a_notes_sheet_before_the_data_are_skipped(tmp_path):
    paths = build_round(tmp_path / "r", [ent(1), ent(2)])
    _reorder(paths["applicants"], chart_first=True, notes=True)
    res = invoke("score", paths["applicants"], "--as-of", AS_OF, "--no-db", "--json", tmp_path / "r.json")
    assert res.exit_code == 0, res.output
    assert len(json.loads((tmp_path / "r.json").read_text())["enterprises"]) == 2


def test_a_missing_header_names_the_file_and_the_sheets_looked_at(tmp_path):
    paths = build_round(tmp_path / "r", [ent(1)])
    _reorder(paths["auditor"], chart_first=True, notes=True, keep_data=False)
    js = tmp_path / "r.json"
    res = invoke("score", paths["applicants"], "--as-of", AS_OF, "--no-db", "--json", js, "--lang", "en")
    assert res.exit_code == 1
    (p,) = [p for p in json.loads(js.read_text())["problems"] if p["code"] == "no_header"]
    assert p["file"] == paths["auditor"].name
    assert paths["auditor"].name in p["message"] and "'填表说明'" in p["message"] and "'数据'" in p["message"]
    assert "图表" not in p["message"] and "本表无数据" not in p["message"]


# -- 14. the model file: unknown keys, bounds, size and depth -----------------------------------------

MODEL_TOML = (ROOT / "config" / "model.toml").read_text(encoding="utf-8")


def _model_with(tmp_path, old: str, new: str) -> Path:
    assert old in MODEL_TOML
    p = tmp_path / "m.toml"
    p.write_text(MODEL_TOML.replace(old, new, 1), encoding="utf-8")
    return p


@pytest.mark.parametrize("old,new,expect", [
    ('weight_policy = "renormalize"', 'weigth_policy = "strict"', "model.weigth_policy: unknown key; did you mean 'weight_policy'"),
    ("[pool]", "[pol]\nx = 1\n[pool]", "pol: unknown key; did you mean 'pool'"),
    ("guarantee_fund = 1000", "guarantee_fund = 1000\nleverag = 5", "pool.leverag: unknown key; did you mean 'leverage'"),
    ('{ grade = "AAA", min = 90, cap = 500 }', '{ grade = "AAA", mni = 90, min = 90, cap = 500 }',
     "grades.bands[0].mni: unknown key; did you mean 'min'"),
    ("points_per_step = 20", "points_per_step = 0", "ratings.points_per_step: 0 is outside"),
    ("min = 1\nmax = 5", "min = 5\nmax = 1", "ratings.min: min 5 must be below max 1"),
    ("tolerance = 1e-9", "tolerance = inf", "model.tolerance: inf is not a finite number"),
])
def test_model_typos_and_out_of_range_settings_are_named(tmp_path, old, new, expect):
    res = invoke("model", "check", "--config", _model_with(tmp_path, old, new))
    assert res.exit_code == 2 and expect in res.output and "unexpected" not in res.output, res.output


def test_a_huge_count_window_is_refused_by_model_check_not_an_overflow_in_score(tmp_path, round_dir):
    import re

    m = re.search(r"window_months = \d+", MODEL_TOML)
    cfg = _model_with(tmp_path, m.group(0), "window_months = 99999999999")
    res = invoke("model", "check", "--config", cfg)
    assert res.exit_code == 2 and "window_months: 99999999999 is outside 1 … 1200" in res.output
    res = invoke("score", round_dir["applicants"], "--as-of", AS_OF, "--config", cfg, "--no-db")
    assert res.exit_code == 2 and "OverflowError" not in res.output


def test_a_huge_or_deeply_nested_model_file_is_refused_at_once(tmp_path):
    big = tmp_path / "big.toml"
    with open(big, "wb") as fh:
        fh.truncate(50 * 2**20)
    res = invoke("model", "check", "--config", big)
    assert res.exit_code == 2 and "far more than a model file holds" in res.output
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    res = invoke("model", "check", "--config", deep)
    assert res.exit_code == 2 and "nested too deeply" in res.output and "RecursionError" not in res.output
    nested = _model_with(tmp_path, 'extensions = [".xlsx", ".xlsm", ".csv", ".xls"]',
                         "extensions = " + "[" * 40 + "]" * 40)
    res = invoke("model", "check", "--config", nested)
    assert res.exit_code == 2 and "nested more than" in res.output


def test_a_wing_declares_its_section(tmp_path):
    from cluster_credit_cli.model import config

    cfg = _model_with(tmp_path, "[pool]", "[extra_wing]\nlimit = 3\n[pool]")
    with pytest.raises(config.ConfigError, match="extra_wing: unknown key"):
        config.load_model(cfg)
    saved = dict(config.MODEL_SCHEMA)
    try:
        config.declare_section("extra_wing", {"limit": config.ANY})
        config.load_model(cfg)
    finally:
        config.MODEL_SCHEMA.clear()
        config.MODEL_SCHEMA.update(saved)


# -- 8. truncation is said, never silent ------------------------------------------------------------

def test_a_problems_list_longer_than_excel_holds_is_cut_with_a_note_and_kept_whole_elsewhere(tmp_path,
                                                                                             monkeypatch):
    from conftest import applicant, write_xlsx
    from openpyxl import load_workbook

    from cluster_credit_cli.outputs import excel, rating_workbook

    monkeypatch.setattr(excel, "EXCEL_MAX_ROWS", 12)
    monkeypatch.setattr(rating_workbook, "EXCEL_MAX_ROWS", 12)
    paths = build_round(tmp_path / "r", [ent(1)])
    rows = [applicant(1)] + [applicant(1, 统一社会信用代码=f"BAD{i:04d}", 企业名称=f"坏代码{i}") for i in range(30)]
    write_xlsx(paths["applicants"], rows)
    out, js = tmp_path / "r.xlsx", tmp_path / "r.json"
    res = invoke("score", paths["applicants"], "--as-of", AS_OF, "--out", out, "--json", js, "--no-db", "--lang", "en")
    assert res.exit_code == 1, res.output
    n = len(json.loads(js.read_text())["problems"])
    assert n > 12
    ws = load_workbook(out)["Problems"]
    cells = [c for row in ws.iter_rows(values_only=True) for c in row if c]
    assert any("more rows not shown" in str(c) and "r_Problems.csv" in str(c) and "JSON" in str(c) for c in cells)
    assert "Not all shown" in res.output and "Problems" in res.output
    full = (tmp_path / "r_Problems.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(full) == n + 1


def test_a_text_longer_than_an_excel_cell_is_cut_with_a_note(tmp_path):
    from conftest import applicant, write_csv
    from openpyxl import load_workbook

    paths = build_round(tmp_path / "r", [ent(1)])
    long_name = "长" * 40_000  # a CSV can hold it; an xlsx input could not
    paths["applicants"].unlink()
    applicants = write_csv(paths["applicants"].with_suffix(".csv"), [applicant(1, 企业名称=long_name)],
                           encoding="utf-8")
    out, js = tmp_path / "r.xlsx", tmp_path / "r.json"
    res = invoke("score", applicants, "--as-of", AS_OF, "--out", out, "--json", js, "--no-db", "--lang", "en")
    assert res.exit_code in (0, 1), res.output
    assert json.loads(js.read_text())["enterprises"][0]["name"] == long_name
    cell = load_workbook(out)["Ratings"]["C2"].value
    assert len(cell) <= 32_767 and cell.startswith("长" * 100) and "cut: 40,000 characters" in cell
    assert "Not all shown" in res.output


def test_a_huge_cell_is_quoted_as_a_short_excerpt(tmp_path):
    from conftest import applicant, write_csv

    paths = build_round(tmp_path / "r", [ent(1)])
    paths["applicants"].unlink()
    huge = "9" * 50 + "X" * 200_000
    applicants = write_csv(paths["applicants"].with_suffix(".csv"),
                           [applicant(1, **{"申请贷款金额（万元）": huge})], encoding="utf-8")
    js = tmp_path / "r.json"
    res = invoke("score", applicants, "--as-of", AS_OF, "--no-db", "--json", js)
    assert res.exit_code in (1, 2), res.output
    probs = json.loads(js.read_text())["problems"] if js.exists() else []
    assert all(len(p["message"]) < 1100 for p in probs) and len(res.output) < 20_000


def test_a_device_or_fifo_is_never_replaced(round_dir, tmp_path):
    fifo = tmp_path / "out.xlsx"
    os.mkfifo(fifo)  # stands for /dev/null: as root, os.replace would swap the device for a file
    res = invoke("score", round_dir["applicants"], "--as-of", AS_OF, "--out", fifo, "--no-db")
    assert res.exit_code == 2 and "不是普通文件" in res.output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    with pytest.raises(atomic.OutputError, match="不是普通文件"):
        atomic.atomic_write_text(fifo, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and not temps(tmp_path)


def test_a_detail_csv_of_an_earlier_run_does_not_stay_beside_a_new_workbook(round_dir, tmp_path):
    out = tmp_path / "o" / "r.xlsx"
    args = ["score", round_dir["applicants"], "--as-of", AS_OF, "--out", out, "--no-db", "-q"]
    assert invoke(*args, "--detail", "csv", "--detail-limit", "1").exit_code == 0
    csvs = sorted(p.name for p in out.parent.glob("*.csv"))
    assert len(csvs) == 2
    assert invoke(*args).exit_code == 0  # now everything fits in the workbook: no CSV this time
    assert sorted(p.name for p in out.parent.glob("*.csv")) == []


def test_the_shipped_model_file_is_an_input_even_without_config(tmp_path):
    from cluster_credit_cli.model.config import DEFAULT_CONFIG

    before = DEFAULT_CONFIG.read_bytes()
    res = invoke("model", "export", DEFAULT_CONFIG)
    assert res.exit_code == 2 and "这是本次运行的输入文件" in res.output
    assert DEFAULT_CONFIG.read_bytes() == before


def test_score_checks_a_damaged_register_before_computing(round_dir, tmp_path, monkeypatch):
    db = tmp_path / "r.db"
    assert invoke("score", round_dir["applicants"], "--as-of", AS_OF, "--out", tmp_path / "a.xlsx", "--db", db,
                  "-q").exit_code == 0
    data = bytearray(db.read_bytes())
    for i in range(4096, len(data), 4096):  # every page but the first (the header and schema)
        data[i:i + 100] = b"\xff" * 100
    db.write_bytes(bytes(data))
    from cluster_credit_cli.rating import pipeline

    monkeypatch.setattr(pipeline, "_score_round", lambda *a, **k: pytest.fail("scored before the check"))
    res = invoke("score", round_dir["applicants"], "--as-of", AS_OF, "--out", tmp_path / "b.xlsx", "--db", db)
    assert res.exit_code == 2 and ("damaged" in res.output or "已损坏" in res.output) and not (tmp_path / "b.xlsx").exists()


def test_a_name_that_looks_like_rich_markup_prints_as_is(tmp_path):
    from conftest import applicant, write_xlsx

    paths = build_round(tmp_path / "r", [ent(1), ent(2)])
    name = "甲[/]公司[bold red]红"
    write_xlsx(paths["applicants"], [applicant(1, 企业名称=name, 技术水平=None), applicant(2)])
    db = tmp_path / "r.db"
    res = invoke("score", paths["applicants"], "--as-of", AS_OF, "--db", db)
    assert res.exit_code == 1 and "unexpected" not in res.output, res.output
    assert "甲[/]公司" in res.output and "[bold" in res.output  # shown, not taken as rich markup
    res = invoke("history", code(1), "--db", db)
    assert res.exit_code == 0 and "unexpected" not in res.output, res.output


def test_pool_and_validate_refuse_an_output_that_is_an_input(tmp_path):
    db = tmp_path / "ccredit.db"
    db.write_bytes(b"")
    ledger = tmp_path / "ledger.xlsx"
    ledger.write_bytes(b"x")
    for args in (["pool", "import", ledger, "--as-of", "2026-11-30", "--db", db, "--json", ledger],
                 ["pool", "status", "--db", db, "--out", db],
                 ["pool", "history", "--db", db, "--json", db],
                 ["validate", "--db", db, "--out", db]):
        res = invoke(*args)
        assert res.exit_code == 2 and "这是本次运行的输入文件" in res.output, (args, res.output)
    assert db.read_bytes() == b"" and ledger.read_bytes() == b"x"


def test_output_refusals_speak_english_alone_with_lang_en(tmp_path):
    """The refusals are one language at a time: --lang en has no Chinese outside the user's paths."""
    from typer.testing import CliRunner

    from cluster_credit_cli.cli import app

    folder = tmp_path / "r"
    folder.mkdir()
    for f in FILES:
        shutil.copy(SAMPLE / f, folder / f)
    app_file = folder / "申报材料汇总.xlsx"
    res = CliRunner().invoke(app, ["score", str(app_file), "--out", str(app_file), "--lang", "en", "--no-db"])
    assert res.exit_code == 2
    text = res.output.replace(str(app_file), "PATH")
    assert "is one of the inputs of this run" in text and not re.search(r"[\u4e00-\u9fff]", text), text
