"""The benchmark generator, the streaming record reader, --detail-limit and the progress line.

Small sizes only; no timing assertions (the figures live in benchmarks/README.md).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
from stdnum.cn import uscc
from typer.testing import CliRunner

from cluster_credit_cli.inputs import reading
from cluster_credit_cli.cli import app
from cluster_credit_cli.model.config import load_model
from cluster_credit_cli.rating.pipeline import _applicant_codes, score_round
from cluster_credit_cli.problems import Problems
from cluster_credit_cli.progress import StageProgress

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 11, 30)
SOURCES = ("panel", "auditor", "association", "credit_system", "bank")


def _load_make_data():
    spec = importlib.util.spec_from_file_location("make_data", ROOT / "benchmarks" / "make_data.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_data"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def tiny_round(tmp_path_factory):
    make_data = _load_make_data()
    out = tmp_path_factory.mktemp("tiny")
    files = make_data.build("town", out, applicants=40, records=400, log=lambda m: None)
    return out, files


def test_generator_writes_every_source_with_the_usual_mess(tiny_round):
    out, files = tiny_round
    assert set(files) == {"applicants", *SOURCES}
    assert all(p.is_file() for p in files.values())
    raw = pd.read_excel(files["applicants"], header=None, dtype=object)
    assert "申报汇总表" in str(raw.iat[0, 0])  # a title row above the header
    assert "应收账款按期回收率（%）" in raw.iloc[2].tolist()  # variant header, full-width brackets
    body = raw.iloc[3:]
    assert (body == "无").any().any()  # no lease
    assert body.isin(["优", "良", "中", "差", "劣"]).any().any()  # ratings as labels
    assert body.iloc[:, 0].astype(str).str.startswith("填表人").any()  # footer row, not an applicant
    text = files["credit_system"].read_bytes().decode("gb18030")
    lines = text.strip().splitlines()
    assert len(lines) == 401
    assert any("年" in ln.split(",")[3] for ln in lines[1:])  # dates as Chinese text …
    assert any(ln.split(",")[3].isdigit() for ln in lines[1:])  # … and as Excel serials


def test_generator_codes_are_valid_and_distinct():
    make_data = _load_make_data()
    import numpy as np

    codes = make_data.make_codes(np.random.default_rng(3), 500)
    assert len(set(codes)) == 500
    assert all(uscc.is_valid(c) for c in codes)
    assert not uscc.is_valid(make_data.corrupt(codes[0]))


def test_generated_round_scores_with_conflicts_and_problems(tiny_round):
    out, files = tiny_round
    model = load_model(None)
    res = score_round(files["applicants"], {k: files[k] for k in SOURCES}, model=model, as_of=AS_OF)
    assert res.merged.conflict_codes  # duplicate applicant rows were generated
    assert res.stats["credit_system"]["other_enterprises"] > 0  # most records are for others
    assert any(p.code == "missing_code" for p in res.problems)  # the footer row is reported
    assert res.table["graded"].any()


def _sample_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "round"
    shutil.copytree(ROOT / "sample_data", dst, ignore=shutil.ignore_patterns("*.py", "*评级结果*", "*.json"))
    return dst


def test_streaming_gives_the_in_memory_result(tmp_path, monkeypatch):
    data = _sample_copy(tmp_path)
    model = load_model(None)
    given = {"panel": data / "评审小组核定.xlsx", "auditor": data / "会计师事务所审计数据.xlsx",
             "association": data / "行业协会评价.xlsx", "credit_system": data / "社会信用系统导出.csv",
             "bank": data / "合作银行征信.xlsx"}
    before = score_round(data / "申报材料汇总.xlsx", given, model=model, as_of=AS_OF).to_json()
    monkeypatch.setattr(reading, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(reading, "STREAM_CHUNK_ROWS", 7)  # many chunks, a record split across none
    calls = []
    real = reading.read_records_streaming
    monkeypatch.setattr(reading, "read_records_streaming", lambda *a, **k: calls.append(1) or real(*a, **k))
    after = score_round(data / "申报材料汇总.xlsx", given, model=model, as_of=AS_OF).to_json()
    assert calls, "the streaming reader was not used"
    assert after == before


def test_streaming_keeps_applicants_rows_and_reports_like_a_whole_file_read(tmp_path):
    model = load_model(None)
    applicant = "91441900MA4W1X2Y3" + uscc.calc_check_digit("91441900MA4W1X2Y3")
    other = "91441900MA4W1X2Y4" + uscc.calc_check_digit("91441900MA4W1X2Y4")
    broken = applicant[:17] + ("0" if applicant[17] != "0" else "1")
    lines = ["社会信用系统导出（测试）", "", "统一社会信用代码,企业名称,记录类型,决定日期,文书编号,状态"]
    lines += [f"{other},其他公司,行政处罚,不是日期,A{i},已结案" for i in range(5)]
    lines += [f"{applicant},申报公司,行政处罚,2025年3月,B1,已结案", "",
              f"{broken},错码公司,司法诉讼,2024/1/2,C1,未结案", f"{applicant},申报公司,劳资纠纷,45000,B2,已结案"]
    path = tmp_path / "信用.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))

    whole = Problems()
    full = reading.read_source(path, "credit_system", model, whole)
    streamed = Problems()
    table = reading.read_records_streaming(path, "credit_system", model, streamed, keep={applicant}, chunk_rows=2)
    assert table.dropped == 5
    assert table.data["_row"].tolist() == [9, 11, 12]  # spreadsheet rows; the blank row 10 is skipped
    assert table.data["code"].tolist() == [applicant, broken, applicant]
    assert table.data["decision_date"].tolist() == [pd.Timestamp("2025-03-01"), pd.Timestamp("2024-01-02"),
                                                    pd.Timestamp("2023-03-15")]
    assert table.header_row == full.header_row == 3
    # Problems of the dropped rows (bad dates of another firm) are still reported, in the same order.
    assert [(p.row, p.code) for p in streamed] == [(p.row, p.code) for p in whole]
    assert [p.row for p in streamed if p.code == "bad_date"] == [4, 5, 6, 7, 8]
    keep_all = reading.read_records_streaming(path, "credit_system", model, Problems(), keep=None, chunk_rows=3)
    assert len(keep_all.data) == len(full.data) == 8 and keep_all.dropped == 0


def test_applicant_codes_are_the_valid_normalised_ones(tmp_path):
    model = load_model(None)
    table = reading.read_source(ROOT / "sample_data" / "申报材料汇总.xlsx", "applicants", model, Problems())
    codes = _applicant_codes(table)
    assert codes and all(uscc.is_valid(c) for c in codes)
    assert all(c == c.upper() and " " not in c for c in codes)


def test_detail_limit_sends_large_sheets_to_csv(tmp_path):
    data = _sample_copy(tmp_path)
    out = tmp_path / "ratings.xlsx"
    res = CliRunner().invoke(app, ["score", str(data / "申报材料汇总.xlsx"), "--as-of", "2026-11-30",
                                   "--out", str(out), "--detail-limit", "50", "--detail", "csv", "--quiet"])
    assert res.exit_code == 1, res.output  # the sample has problems by design
    beside = sorted(p.name for p in tmp_path.glob("ratings_*.csv"))
    assert len(beside) == 2  # indicators and provenance
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(out))
    first = book.get_sheet_by_name(book.sheet_names[2]).to_python()
    assert "已写入 ratings_" in str(first[1][0])
    frame = pd.read_csv(tmp_path / beside[0], encoding="utf-8-sig")
    assert len(frame) > 50
    bad = CliRunner().invoke(app, ["score", str(data / "申报材料汇总.xlsx"), "--detail-limit", "0"])
    assert bad.exit_code == 2


def test_progress_draws_only_when_enabled_and_slow():
    import io

    from rich.console import Console

    quiet = StageProgress(enabled=False)
    quiet("read")
    quiet.close()
    assert not quiet.shown and quiet.seen == ["read"]

    fast = StageProgress(enabled=True, delay=60, console=Console(file=io.StringIO(), force_terminal=True))
    fast("read")
    fast("merge")
    fast.close()
    assert not fast.shown  # finished before the delay: nothing drawn

    buf = io.StringIO()
    slow = StageProgress(enabled=True, delay=0, lang="en", console=Console(file=buf, force_terminal=True))
    slow("read")
    import time

    for _ in range(100):
        if slow.shown:
            break
        time.sleep(0.01)
    slow("score")
    slow.close()
    assert slow.shown
    assert "[2/4] scoring" in slow.text("score")


def test_cli_progress_is_silent_without_a_terminal(tmp_path):
    data = _sample_copy(tmp_path)
    res = CliRunner().invoke(app, ["score", str(data / "申报材料汇总.xlsx"), "--as-of", "2026-11-30",
                                   "--out", str(tmp_path / "r.xlsx")])
    assert res.exit_code == 1
    assert "[1/4]" not in res.output and "读取输入文件" not in res.output
