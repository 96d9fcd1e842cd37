"""``ccredit score --detail auto|csv|off``: what a large round writes beside its workbook."""

from __future__ import annotations

from typer.testing import CliRunner

from cluster_credit_cli.cli import app
from conftest import build_round, ent

runner = CliRunner()


def _score(folder, *extra):
    applicants = build_round(folder, [ent(1), ent(2)])["applicants"]
    out = folder / "r.xlsx"
    res = runner.invoke(app, ["score", str(applicants), "--as-of", "2026-06-30", "--out", str(out), "--no-db",
                              "--quiet", "--detail-limit", "10", *extra], env={"COLUMNS": "120"})
    return res, out


def test_default_writes_no_detail_csv(tmp_path):
    res, out = _score(tmp_path)
    assert res.exit_code == 0, res.output
    assert out.is_file() and not list(tmp_path.glob("r_*.csv"))


def test_detail_csv_writes_both_csvs(tmp_path):
    res, out = _score(tmp_path, "--detail", "csv")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.glob("r_*.csv")) == ["r_指标明细.csv", "r_数据来源.csv"]
    assert len((tmp_path / "r_指标明细.csv").read_text(encoding="utf-8-sig").splitlines()) == 1 + 2 * 25


def test_unknown_detail_mode_is_a_usage_error(tmp_path):
    res, out = _score(tmp_path, "--detail", "full")
    assert res.exit_code == 2
    assert "--detail: 'full' is not one of auto, csv, off" in res.output
    assert not out.exists()
