"""``ccredit score --sensitivity N``: a sheet with a chart in the rating workbook and fields in the JSON."""

from __future__ import annotations

import json
import zipfile

from typer.testing import CliRunner

from cluster_credit_cli.cli import app
from conftest import build_round, code, ent


def _run(tmp_path, *extra):
    paths = build_round(tmp_path, [ent(1), ent(2, app={"战略定位": 3, "技术水平": 2}), ent(3, aud={"净利润": -50})])
    out, js = tmp_path / "out.xlsx", tmp_path / "r.json"
    res = CliRunner().invoke(app, ["score", str(paths["applicants"]), "--as-of", "2026-06-30", "--out", str(out),
                                   "--json", str(js), "--no-db", *extra])
    assert res.exit_code == 0, res.output
    return out, json.loads(js.read_text(encoding="utf-8"))


def test_sensitivity_sheet_chart_and_json_are_reproducible(tmp_path):
    out, data = _run(tmp_path / "a", "--sensitivity", "200", "--seed", "7")
    _, again = _run(tmp_path / "b", "--sensitivity", "200", "--seed", "7")
    sens = data["sensitivity"]
    assert sens["draws"] == 200 and sens["seed"] == 7
    assert sens["enterprises"] == again["sensitivity"]["enterprises"]
    assert set(sens["enterprises"]) == {code(1), code(2), code(3)}
    with zipfile.ZipFile(out) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) >= 2  # the grade distribution and the rank intervals
        assert "敏感性" in z.read("xl/workbook.xml").decode("utf-8")


def test_zero_spread_gives_point_intervals_at_each_rank(tmp_path):
    _, data = _run(tmp_path, "--sensitivity", "50", "--seed", "1", "--spread", "0")
    ranks = {e["code"]: e["rank"] for e in data["enterprises"]}
    for c, s in data["sensitivity"]["enterprises"].items():
        assert s["rank_p05"] == s["rank_p95"] == s["rank"] == ranks[c], s


def test_without_the_option_there_is_no_sensitivity(tmp_path):
    _, data = _run(tmp_path)
    assert "sensitivity" not in data
