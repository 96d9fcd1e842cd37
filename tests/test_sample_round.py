"""The README's first command, end to end on sample_data/ (regenerated into tmp_path)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from cluster_credit_cli.cli import app

ROOT = Path(__file__).resolve().parent.parent


def _sample(tmp_path: Path) -> Path:
    subprocess.run([sys.executable, str(ROOT / "sample_data" / "make_sample.py"), "--out", str(tmp_path)], check=True)
    return tmp_path / "申报材料汇总.xlsx"


def test_sample_round_scores_with_expected_statuses(tmp_path):
    applicants = _sample(tmp_path)
    out = tmp_path / "out.xlsx"
    res = CliRunner().invoke(app, ["score", str(applicants), "--as-of", "2026-11-30", "--out", str(out),
                                   "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 1, res.output  # the sample carries deliberate problems
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    statuses = {s for e in data["enterprises"] for s in e["status"]}
    assert {"ineligible:age", "ineligible:town", "ineligible:account", "veto:government", "veto:association",
            "veto:bank", "incomplete", "conflict"} <= statuses
    assert {p["code"] for p in data["problems"]} >= {"bad_code", "duplicate_applicant", "name_mismatch"}
    graded = [e for e in data["enterprises"] if e["grade"]]
    assert [e["rank"] for e in graded] == sorted(e["rank"] for e in graded)
    assert all(e["grade"] is None and e["rank"] is None and e["quota"] is None
               for e in data["enterprises"] if e["status"])
    with zipfile.ZipFile(out) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and not any(b"<f>" in z.read(n) for n in sheets)
        assert any(n.startswith("xl/charts/") for n in z.namelist())
