"""ccredit batch: rounds processed once, hostile rounds isolated, outputs never half-written."""

from __future__ import annotations

import csv
import datetime as dt
import json
import multiprocessing as mp
import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cluster_credit_cli.atomic as atomic
from cluster_credit_cli.batch.run import (
    LOG_NAME, SUMMARY_NAME, BatchLocked, md_cell, run_batch, write_problems_csv,
)
from cluster_credit_cli.cli import app
from cluster_credit_cli.batch.lock import LOCK_NAME, run_lock
from cluster_credit_cli.batch.manifest import MANIFEST_FILE, load_entry
from cluster_credit_cli.model.config import load_model
from hostile import BILLION_LAUGHS, declared_bomb, sheet_xml, write_cfb, write_xlsx

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
FILES = ["申报材料汇总.xlsx", "会计师事务所审计数据.xlsx", "行业协会评价.xlsx", "社会信用系统导出.csv",
         "合作银行征信.xlsx", "评审小组核定.xlsx"]
AS_OF = dt.date(2026, 11, 30)
APPLICANTS = "申报材料汇总.xlsx"
WORKBOOK = "申报材料汇总_评级结果_2026-11-30.xlsx"
PAYLOADS = ["=1+1", '=HYPERLINK("http://x","y")', "+1", "-1+1", "@SUM(1)"]

runner = CliRunner()


@pytest.fixture(scope="module")
def model():
    return load_model()


def make_round(inbox: Path, name: str) -> Path:
    folder = inbox / name
    folder.mkdir(parents=True)
    for f in FILES:
        shutil.copy(SAMPLE / f, folder / f)
    return folder


def run(inbox, outbox, model, **kw):
    kw.setdefault("settle_seconds", 0)
    kw.setdefault("as_of", AS_OF)
    return run_batch(inbox, outbox, model=model, **kw)


def actions(report) -> dict[str, str]:
    return {r.round: r.action for r in report.rounds}


def log_events(outbox: Path) -> list[tuple[str, str]]:
    lines = (outbox / LOG_NAME).read_text(encoding="utf-8").splitlines()
    return [(ln.split("\t")[2], ln.split("\t")[3]) for ln in lines]


# -- the basic cycle -----------------------------------------------------------------------------

def test_rounds_processed_then_skipped(tmp_path, model):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    make_round(inbox, "2026Q4")
    make_round(inbox, "2026Q3")
    rep = run(inbox, outbox, model)
    assert actions(rep) == {"2026Q3": "processed", "2026Q4": "processed"}
    for r in ("2026Q3", "2026Q4"):
        folder = outbox / "processed" / r
        assert (folder / WORKBOOK).is_file() and (folder / "result.json").is_file()
        assert (folder / "problems.csv").is_file() and (folder / "summary.md").is_file()
        entry = load_entry(outbox, r)
        assert entry.outcome in ("ok", "problems") and entry.model_hash == model.hash and entry.as_of == "2026-11-30"
        assert sorted(i["path"] for i in entry.inputs) == sorted(FILES)
        assert {i["kind"] for i in entry.inputs} >= {"applicants", "bank", "auditor"}
        assert all(len(i["sha256"]) == 64 and i["check"] == "ok" for i in entry.inputs)
        assert f"processed/{r}/{WORKBOOK}" in entry.outputs and entry.started and entry.finished
    manifest = json.loads((outbox / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert set(manifest["rounds"]) == {"2026Q3", "2026Q4"}
    summary = json.loads((outbox / SUMMARY_NAME).read_text(encoding="utf-8"))
    assert summary["counts"]["processed"] == 2 and summary["exit_code"] == rep.exit_code
    assert not (outbox / LOCK_NAME).exists() and not list((outbox / "claims").glob("*"))

    stamp = (outbox / "processed" / "2026Q4" / WORKBOOK).stat().st_mtime_ns
    again = run(inbox, outbox, model)
    assert actions(again) == {"2026Q3": "skipped", "2026Q4": "skipped"} and again.exit_code == 0
    assert (outbox / "processed" / "2026Q4" / WORKBOOK).stat().st_mtime_ns == stamp
    assert [e for e in log_events(outbox) if e[1] == "skipped"] == [("2026Q3", "skipped"), ("2026Q4", "skipped")]


def test_cli_second_run_says_nothing_to_do(tmp_path):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    make_round(inbox, "r1")
    args = ["batch", str(inbox), "--out", str(outbox), "--settle", "0", "--as-of", "2026-11-30", "--lang", "en"]
    first = runner.invoke(app, args)
    assert first.exit_code in (0, 1), first.output
    assert "processed 1" in first.output
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "nothing to do" in second.output and "processed 0" in second.output


def test_changed_input_reprocessed_and_force(tmp_path, model):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    folder = make_round(inbox, "r1")
    run(inbox, outbox, model)
    first_key = load_entry(outbox, "r1").key
    with open(folder / "社会信用系统导出.csv", "ab") as fh:
        fh.write(b"\r\n")
    assert actions(run(inbox, outbox, model)) == {"r1": "processed"}
    assert load_entry(outbox, "r1").key != first_key
    assert actions(run(inbox, outbox, model)) == {"r1": "skipped"}
    assert actions(run(inbox, outbox, model, force=True)) == {"r1": "processed"}


def test_default_as_of_does_not_rerun_unchanged_rounds(tmp_path, model):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    make_round(inbox, "r1")
    run(inbox, outbox, model, as_of=AS_OF)
    # A nightly run without --as-of (today) does not rescore; an explicit new date does.
    assert actions(run(inbox, outbox, model, as_of=None)) == {"r1": "skipped"}
    assert actions(run(inbox, outbox, model, as_of=dt.date(2026, 12, 31))) == {"r1": "processed"}


def test_dry_run_writes_nothing(tmp_path, model):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    make_round(inbox, "r1")
    rep = run(inbox, outbox, model, dry_run=True)
    assert actions(rep) == {"r1": "would_run"}
    assert not outbox.exists()


def test_owner_and_temp_files_ignored(tmp_path, model):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    folder = make_round(inbox, "r1")
    (folder / "~$申报材料汇总.xlsx").write_bytes(b"\x05user" + b"\x00" * 100)
    (folder / ".~lock.x#").write_text("x")
    (folder / "upload.xlsx.part").write_bytes(b"partial")
    (inbox / "~$junk").mkdir()
    rep = run(inbox, outbox, model)
    assert actions(rep) == {"r1": "processed"}
    assert sorted(i["path"] for i in load_entry(outbox, "r1").inputs) == sorted(FILES)


def test_growing_file_not_taken(tmp_path, model):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    make_round(inbox, "steady")
    growing = make_round(inbox, "copying")

    def copy_in_progress(seconds):  # the settle wait: another machine is still writing
        assert seconds == 5
        with open(growing / "合作银行征信.xlsx", "ab") as fh:
            fh.write(b"more bytes")

    rep = run(inbox, outbox, model, settle_seconds=5, sleep=copy_in_progress)
    assert actions(rep) == {"copying": "not_ready", "steady": "processed"}
    assert not (outbox / "processed" / "copying").exists() and load_entry(outbox, "copying") is None
    assert rep.exit_code in (0, 1) and ("copying", "not_ready") in log_events(outbox)


# -- hostile rounds ------------------------------------------------------------------------------

def _bomb(p):
    declared_bomb(p)


def _laughs(p):
    write_xlsx(p, [("S", "visible", sheet_xml(prolog=BILLION_LAUGHS))])


def _truncated(p):
    data = (SAMPLE / APPLICANTS).read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _random(p):
    p.write_bytes(os.urandom(4000).replace(b"PK", b"pk").replace(b"\xd0\xcf", b"xx"))


def _encrypted(p):
    write_cfb(p, {"EncryptionInfo": b"\x04\x00", "EncryptedPackage": b"x"})


def _huge(p):
    write_xlsx(p, [("S", "visible", sheet_xml(dimension="A1:XFD1048576"))])


@pytest.mark.parametrize("make,code", [(_bomb, "zip_bomb"), (_laughs, "xml_entities"), (_truncated, "corrupt_zip"),
                                       (_random, "not_xlsx"), (_encrypted, "encrypted"), (_huge, "sheet_too_large")])
def test_hostile_round_fails_alone(tmp_path, model, make, code):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    make_round(inbox, "a-good")
    bad = make_round(inbox, "b-bad")
    make_round(inbox, "c-good")
    make(bad / APPLICANTS)
    rep = run(inbox, outbox, model)
    assert actions(rep) == {"a-good": "processed", "b-bad": "failed", "c-good": "processed"}
    assert rep.exit_code == 1
    entry = load_entry(outbox, "b-bad")
    assert entry.outcome == "failed"
    checks = {i["path"]: i["check"] for i in entry.inputs}
    assert checks[APPLICANTS] == code
    report = (outbox / "failed" / "b-bad" / "错误报告.md").read_text(encoding="utf-8")
    assert code in report and APPLICANTS in report
    assert json.loads((outbox / "failed" / "b-bad" / "error.json").read_text(encoding="utf-8"))["message"]
    # unchanged bad files are not retried every night; a fix is picked up
    assert actions(run(inbox, outbox, model))["b-bad"] == "skipped"
    shutil.copy(SAMPLE / APPLICANTS, bad / APPLICANTS)
    fixed = run(inbox, outbox, model)
    assert actions(fixed)["b-bad"] == "processed"
    assert not (outbox / "failed" / "b-bad").exists()
    assert list((outbox / "superseded").glob("b-bad.failed.*"))  # the old report kept aside


def test_hostile_export_is_a_problem_not_a_failure(tmp_path, model):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    folder = make_round(inbox, "r1")
    declared_bomb(folder / "合作银行征信.xlsx")
    rep = run(inbox, outbox, model)
    assert actions(rep) == {"r1": "processed"} and rep.rounds[0].outcome == "problems"
    with open(outbox / "processed" / "r1" / "problems.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert any("zip_bomb" in row for row in rows)


def test_round_without_applicants_fails(tmp_path, model):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    folder = make_round(inbox, "r1")
    (folder / APPLICANTS).unlink()
    rep = run(inbox, outbox, model, lang="en")
    assert actions(rep) == {"r1": "failed"}
    assert "no applicants file" in (outbox / "failed" / "r1" / "error.md").read_text(encoding="utf-8")


def test_unexpected_error_ends_only_that_round_and_is_retried(tmp_path, model, monkeypatch):
    import cluster_credit_cli.rating.pipeline as pipeline

    inbox, outbox = tmp_path / "in", tmp_path / "out"
    make_round(inbox, "a")
    make_round(inbox, "b")
    real = pipeline.score_round

    def flaky(applicants, *a, **k):
        if applicants.parent.name == "a":
            raise RuntimeError("disk hiccup")
        return real(applicants, *a, **k)

    monkeypatch.setattr(pipeline, "score_round", flaky)
    rep = run(inbox, outbox, model)
    assert actions(rep) == {"a": "error", "b": "processed"} and rep.exit_code == 1
    assert "disk hiccup" in (outbox / "failed" / "a" / "错误报告.md").read_text(encoding="utf-8")
    monkeypatch.setattr(pipeline, "score_round", real)
    assert actions(run(inbox, outbox, model)) == {"a": "processed", "b": "skipped"}


# -- locking -------------------------------------------------------------------------------------

def test_lock_held_raises_and_cli_exits_3(tmp_path, model):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    make_round(inbox, "r1")
    outbox.mkdir()
    (outbox / LOCK_NAME).write_text(json.dumps({"host": "other-pc", "pid": 1, "started": "x", "token": "t"}))
    with pytest.raises(BatchLocked) as exc:
        run(inbox, outbox, model)
    assert "other-pc" in str(exc.value)
    res = runner.invoke(app, ["batch", str(inbox), "--out", str(outbox), "--settle", "0"])
    assert res.exit_code == 3
    assert ("-", "lock_held") in log_events(outbox)
    assert not (outbox / "processed").exists()


def test_usage_errors_exit_2(tmp_path):
    res = runner.invoke(app, ["batch", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    (tmp_path / "in").mkdir()
    res = runner.invoke(app, ["batch", str(tmp_path / "in"), "--out", str(tmp_path / "in" / "out")])
    assert res.exit_code == 2
    res = runner.invoke(app, ["batch", str(tmp_path / "in"), "--out", str(tmp_path / "o"),
                              "--config", str(tmp_path / "missing.toml")])
    assert res.exit_code == 2


def _batch_process(inbox: str, outbox: str, start: float, result: str) -> None:
    import time

    from cluster_credit_cli.batch.run import BatchLocked, run_batch
    from cluster_credit_cli.model.config import load_model

    m = load_model()
    while time.time() < start:
        time.sleep(0.001)
    try:
        rep = run_batch(Path(inbox), Path(outbox), model=m, as_of=dt.date(2026, 11, 30), settle_seconds=0)
        code = rep.exit_code
    except BatchLocked:
        code = 3
    Path(result).write_text(str(code))


def test_two_batch_processes_process_each_round_once(tmp_path):
    import time

    inbox, outbox = tmp_path / "in", tmp_path / "out"
    for i in range(4):
        make_round(inbox, f"r{i}")
    ctx = mp.get_context("spawn")
    start = time.time() + 3
    procs = [ctx.Process(target=_batch_process, args=(str(inbox), str(outbox), start, str(tmp_path / f"rc{i}")))
             for i in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    codes = sorted(int((tmp_path / f"rc{i}").read_text()) for i in range(2))
    assert codes[0] in (0, 1) and codes[1] in (0, 1, 3)
    processed = [r for r, e in log_events(outbox) if e == "processed"]
    assert sorted(processed) == ["r0", "r1", "r2", "r3"]  # exactly once each, across both runs


def test_stale_lock_and_claim_after_crash_are_taken_over(tmp_path, model):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    make_round(inbox, "r1")
    dead = mp.get_context("spawn").Process(target=os.getpid)
    dead.start()
    dead.join()
    stale = {"host": __import__("socket").gethostname(), "pid": dead.pid, "started": "x", "token": "old"}
    (outbox / "claims").mkdir(parents=True)
    (outbox / LOCK_NAME).write_text(json.dumps(stale))
    (outbox / "claims" / "r1.claim").write_text(json.dumps(stale))
    rep = run(inbox, outbox, model)
    assert actions(rep) == {"r1": "processed"}
    events = [e for _, e in log_events(outbox)]
    assert "stale_lock" in events and "stale_claim" in events


# -- atomic outputs ------------------------------------------------------------------------------

def _crash_in_replace(inbox: str, outbox: str) -> None:
    import cluster_credit_cli.atomic as at
    from cluster_credit_cli.batch.run import run_batch
    from cluster_credit_cli.model.config import load_model

    def crash(src, dst):
        if str(dst).endswith(".xlsx"):
            os._exit(9)  # the process dies between writing the temporary file and the replace
        return os.rename(src, dst)

    at.os.replace = crash
    run_batch(Path(inbox), Path(outbox), model=load_model(), as_of=dt.date(2026, 11, 30), settle_seconds=0,
              force=True)


def test_crash_between_temp_write_and_replace_keeps_old_output(tmp_path, model):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    make_round(inbox, "r1")
    run(inbox, outbox, model)
    target = outbox / "processed" / "r1" / WORKBOOK
    before = target.read_bytes()
    p = mp.get_context("spawn").Process(target=_crash_in_replace, args=(str(inbox), str(outbox)))
    p.start()
    p.join(120)
    assert p.exitcode == 9
    assert target.read_bytes() == before
    with zipfile.ZipFile(target) as zf:
        assert zf.testzip() is None
    # the dead run's leftovers: a hidden temporary file, a stale lock and claim; the next run copes
    leftovers = [x.name for x in target.parent.iterdir() if x.name != WORKBOOK and x.suffix == ".xlsx"]
    assert all(n.startswith(".") and ".tmp" in n for n in leftovers)
    rep = run(inbox, outbox, model, force=True)
    assert actions(rep) == {"r1": "processed"}


def test_permission_error_on_replace_keeps_results_under_new_name(tmp_path, model, monkeypatch):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    make_round(inbox, "r1")
    run(inbox, outbox, model)
    target = outbox / "processed" / "r1" / WORKBOOK
    before = target.read_bytes()
    real = os.replace

    def refuse(src, dst):
        if Path(dst) == target:
            raise PermissionError(13, "The process cannot access the file because it is being used")
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", refuse)
    rep = run(inbox, outbox, model, force=True)
    assert actions(rep) == {"r1": "processed"}
    kept = target.with_name(target.stem + " (1).xlsx")
    assert kept.is_file() and target.read_bytes() == before
    assert rep.rounds[0].notes and kept.name in rep.rounds[0].notes[0]
    assert f"processed/r1/{kept.name}" in load_entry(outbox, "r1").outputs
    assert ("r1", "diverted") in log_events(outbox)


# -- formula injection ---------------------------------------------------------------------------

def test_injection_payloads_stay_text_everywhere(tmp_path, model):
    import openpyxl

    inbox, outbox = tmp_path / "in", tmp_path / "out"
    folder = make_round(inbox, "r1")
    wb = openpyxl.load_workbook(folder / APPLICANTS)
    ws = wb.active
    header = [c.value for c in ws[3]]
    col = next(i for i, h in enumerate(header, start=1) if h and "企业名称" in h)
    for k, payload in enumerate(PAYLOADS):
        ws.cell(row=4 + k, column=col, value=payload).data_type = "s"
    wb.save(folder / APPLICANTS)
    rep = run(inbox, outbox, model)
    assert actions(rep) == {"r1": "processed"}
    out = outbox / "processed" / "r1"

    with zipfile.ZipFile(out / WORKBOOK) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/")]
        assert sheets
        for n in sheets:
            assert not re.search(rb"<f[ >]", zf.read(n)), n
    book = openpyxl.load_workbook(out / WORKBOOK)
    texts = {c.value for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for payload in PAYLOADS:
        assert payload in texts
    numbers = [c.value for row in book.worksheets[0].iter_rows(min_row=2) for c in row
               if isinstance(c.value, (int, float))]
    assert numbers  # real numbers stay numbers

    md = (out / "summary.md").read_text(encoding="utf-8")
    for payload in PAYLOADS:
        assert md_cell(payload) == "'" + payload and f"| '{payload} |" in md
        assert f"| {payload} |" not in md
    assert re.search(r"\| 1 \| [0-9A-Z]{18} \| .+ \| \d+(\.\d+)? \|", md)  # rank and total unquoted

    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert set(PAYLOADS) <= {e["name"] for e in result["enterprises"]}  # JSON keeps the exact text


def test_text_writers_escape_payloads_and_keep_numbers(tmp_path):
    payloads = [*PAYLOADS, "\tx", "\rx"]
    problems = [{"file": p, "sheet": "S", "row": 7, "column": "C", "code": "c", "message": p, "severity": "error"}
                for p in payloads]
    write_problems_csv(tmp_path / "p.csv", problems, "en")
    with open(tmp_path / "p.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:3] == ["File", "Sheet", "Row"]
    for payload, row in zip(payloads, rows[1:]):
        assert row[0] == "'" + payload and row[5] == "'" + payload
        assert row[2] == "7"
    assert md_cell("=1+1") == "'=1+1" and md_cell("a|b") == "a\\|b" and md_cell("x\ny") == "x y"
    assert md_cell(-1.5) == "-1.5" and md_cell(3) == "3"
    assert md_cell("\rx") == "' x"


def test_xlsx_writer_keeps_tab_and_cr_payloads_as_text(tmp_path):
    from cluster_credit_cli.outputs.excel import Column, Workbook, write_table

    payloads = [*PAYLOADS, "\t=1+1", "\r=1+1"]
    with Workbook(tmp_path / "x.xlsx") as wb:
        write_table(wb, "S", [Column("name"), Column("n", "number")], [[p, -1.5] for p in payloads])
    with zipfile.ZipFile(tmp_path / "x.xlsx") as zf:
        assert not any(re.search(rb"<f[ >]", zf.read(n)) for n in zf.namelist() if n.startswith("xl/worksheets/"))
    import openpyxl
    from python_calamine import CalamineWorkbook

    # calamine decodes the _x000D_ escape that XlsxWriter (correctly) uses for CR, as Excel does
    rows = CalamineWorkbook.from_path(str(tmp_path / "x.xlsx")).get_sheet_by_index(0).to_python()
    assert [r[0] for r in rows[1:]] == payloads
    assert all(r[1] == -1.5 for r in rows[1:])  # the number stays a number
    ws = openpyxl.load_workbook(tmp_path / "x.xlsx").active
    assert all(ws.cell(row=i + 2, column=1).quotePrefix for i in range(len(payloads)))
    assert not ws.cell(row=2, column=2).quotePrefix


def test_two_candidates_for_one_source_fail_the_round_naming_both(tmp_path, model):
    inbox, outbox = tmp_path / "in", tmp_path / "out"
    folder = make_round(inbox, "r1")
    shutil.copy(folder / "合作银行征信.xlsx", folder / "合作银行征信-更正.xlsx")
    make_round(inbox, "r2")
    rep = run(inbox, outbox, model, lang="en")
    assert actions(rep) == {"r1": "failed", "r2": "processed"}
    text = (outbox / "failed" / "r1" / "error.md").read_text(encoding="utf-8")
    assert "合作银行征信.xlsx" in text and "合作银行征信-更正.xlsx" in text and "--bank" in text
