"""ccredit weights template / weights ahp, weight tables and weight configs, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from cluster_credit_cli.cli import app
from cluster_credit_cli.model.config import load_model
from cluster_credit_cli.problems import ConfigError, Problems
from cluster_credit_cli.weights.tables import (_norm, matrices_from_rows, node_index, read_weight_table,
                                          weight_config_text)

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def make_template(tmp_path: Path, lang: str = "zh") -> Path:
    path = tmp_path / "m.xlsx"
    res = runner.invoke(app, ["weights", "template", "--out", str(path), "--lang", lang])
    assert res.exit_code == 0, res.output
    return path


def fill(path: Path, out: Path, weights: dict[str, float], *, override=None, blank=()) -> Path:
    """Fill the white cells with w_i/w_j (a consistent matrix), some as fraction text."""
    model = load_model()
    index = node_index(model)
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets[1:]:
        n = ws.max_column - 1
        keys = [index[_norm(ws.cell(1, j + 2).value)] for j in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                ratio = weights[keys[i]] / weights[keys[j]]
                value = f"1/{1 / ratio:.15g}" if ratio < 1 else ratio
                if (ws.title, keys[i], keys[j]) in (override or {}):
                    value = override[(ws.title, keys[i], keys[j])]
                if (ws.title, keys[i], keys[j]) in blank:
                    value = None
                ws.cell(i + 2, j + 2).value = value
    wb.save(out)
    return out


def test_template_has_one_sheet_per_parent_with_children(tmp_path):
    path = make_template(tmp_path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:3] == ["说明", "总目标", "价值观"]
    assert "金融信用" not in wb.sheetnames  # one child (S4): nothing to compare
    ws = wb["管理能力"]
    assert [c.value for c in ws[1]] == ["管理能力", "领导力水平", "财务管理水平", "设备设施管理", "人力资源管理水平", "质量管理水平"]
    assert ws.cell(2, 2).value == 1 and ws.cell(2, 3).value is None
    (tmp_path / "en").mkdir()
    en = openpyxl.load_workbook(make_template(tmp_path / "en", "en"))
    assert "Goal" in en.sheetnames and "Management" in en.sheetnames


def test_consistent_matrices_reproduce_the_model_weights(tmp_path):
    model = load_model()
    filled = fill(make_template(tmp_path), tmp_path / "filled.xlsx", model.effective)
    res = runner.invoke(app, ["weights", "ahp", str(filled), "--out", str(tmp_path / "w.xlsx"),
                              "--json", str(tmp_path / "w.json"), "--config-out", str(tmp_path / "new.toml")])
    assert res.exit_code == 0, res.output
    assert "Saaty 经典表" in res.output and "λmax=5.0000" in res.output
    data = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
    assert set(data["nodes"]["@base"]) >= {"weights", "lambda_max", "ci", "cr", "ri", "consistent"}
    assert data["global"] == pytest.approx(model.effective)
    new = load_model(tmp_path / "new.toml")
    # printed to 4 decimals (largest remainder), never with a dozen digits
    assert {k: n.weight for k, n in new.nodes.items()} == pytest.approx(model.effective, abs=1e-4)
    assert all(round(n.weight, 4) == n.weight for n in new.nodes.values())
    assert (new.nodes["C1"].weight, new.nodes["C2"].weight, new.nodes["C3"].weight) == (0.0737, 0.0632, 0.0631)
    assert "0.07368" not in (tmp_path / "new.toml").read_text(encoding="utf-8")
    assert new.effective == pytest.approx(model.effective, abs=1e-4)
    assert not new.warnings  # siblings sum exactly to their parent: no D41-style mismatch left
    # the workbook's first sheet is a weight table score --weights can read
    assert read_weight_table(tmp_path / "w.xlsx") == pytest.approx(model.effective)


def test_inconsistent_matrix_is_flagged_with_the_judgment(tmp_path):
    model = load_model()
    # 偿债能力 (F1) over 营运能力 (F2) reversed: 1/9 instead of 4
    filled = fill(make_template(tmp_path), tmp_path / "bad.xlsx", model.effective,
                  override={("财务能力", "F1", "F2"): "1/9"})
    res = runner.invoke(app, ["weights", "ahp", str(filled), "--out", str(tmp_path / "w.xlsx"),
                              "--json", str(tmp_path / "w.json"), "--lang", "en"])
    assert res.exit_code == 1, res.output
    assert "INCONSISTENT" in res.output
    data = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
    node = data["nodes"]["D22"]
    assert node["cr"] >= 0.10 and node["consistent"] is False
    assert (node["culprits"][0]["row"], node["culprits"][0]["column"]) == ("F1", "F2")
    assert any(p["code"] == "ahp_inconsistent" for p in data["problems"])
    assert "F1 Solvency over F2 Operating efficiency is 0.111" in res.output


def test_missing_judgment_completed_or_reported(tmp_path):
    model = load_model()
    filled = fill(make_template(tmp_path), tmp_path / "gap.xlsx", model.effective, blank={("管理能力", "M1", "M5")})
    res = runner.invoke(app, ["weights", "ahp", str(filled), "--json", str(tmp_path / "w.json"),
                              "--out", str(tmp_path / "w.xlsx")])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
    # the rest of the matrix is consistent, so the λmax-optimal completion is the consistent value 1
    assert data["nodes"]["D21"]["completed"][0]["value"] == pytest.approx(1.0, abs=1e-6)
    assert any(p["code"] == "ahp_completed" for p in data["problems"])
    res = runner.invoke(app, ["weights", "ahp", str(filled), "--no-complete", "--json", str(tmp_path / "w2.json"),
                              "--out", str(tmp_path / "w2.xlsx")])
    assert res.exit_code == 1
    data = json.loads((tmp_path / "w2.json").read_text(encoding="utf-8"))
    assert "D21" not in data["nodes"]
    assert any(p["code"] == "ahp_missing" for p in data["problems"])
    assert any(p["code"] == "ahp_node_without_matrix" for p in data["problems"])


def test_two_expert_workbooks_are_aggregated_by_geometric_mean(tmp_path):
    model = load_model()
    template = make_template(tmp_path)
    a = fill(template, tmp_path / "expert_a.xlsx", model.effective, override={("总目标", "D1", "D2"): 1})
    b = fill(template, tmp_path / "expert_b.xlsx", model.effective, override={("总目标", "D1", "D2"): "1/9"})
    res = runner.invoke(app, ["weights", "ahp", str(a), str(b), "--json", str(tmp_path / "w.json"),
                              "--out", str(tmp_path / "w.xlsx")])
    assert res.exit_code in (0, 1), res.output
    data = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
    assert data["nodes"]["@base"]["experts"] == 2
    assert data["nodes"]["D21"]["experts"] == 2


def test_expert_column_in_one_sheet():
    rows = [["专家", "总目标", "a", "b"],
            ["张", "a", 1, 4], [None, "b", None, 1],
            ["李", "a", 1, "1/4"], [None, "b", None, 1]]
    problems = Problems()
    mats = matrices_from_rows(rows, node="g", file="f.xlsx", sheet="g", problems=problems)
    assert [m.expert for m in mats] == ["张", "李"]
    assert mats[0].values[0, 1] == 4 and mats[1].values[0, 1] == 0.25
    assert not problems


def test_weights_cli_usage_errors(tmp_path):
    res = runner.invoke(app, ["weights", "ahp", str(tmp_path / "none.xlsx")])
    assert res.exit_code == 2
    template = make_template(tmp_path)
    res = runner.invoke(app, ["weights", "ahp", str(template), "--ri", "nope"])
    assert res.exit_code == 2 and "--ri" in res.output
    # an empty template: every judgment missing, nothing can be completed -> no usable matrix for n > 2
    res = runner.invoke(app, ["weights", "ahp", str(template), "--no-complete"])
    assert res.exit_code == 2


def test_weight_config_text_keeps_the_rest_and_fails_loudly():
    model = load_model()
    text = weight_config_text(model, {"V1": 0.015, "V2": 0.025}, header="test")
    assert text.startswith("# test\n") and "weight = 0.015 }" in text and "[grades]" in text
    with pytest.raises(ConfigError):
        weight_config_text(model, {"NOPE": 0.1})


def _sample(tmp_path: Path) -> Path:
    subprocess.run([sys.executable, str(ROOT / "sample_data" / "make_sample.py"), "--out", str(tmp_path)], check=True)
    return tmp_path / "申报材料汇总.xlsx"


def _scores(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {e["code"]: (e["total"], e["base"], e["bonus"], e["grade"], e["rank"]) for e in data["enterprises"]}


def test_round_trip_model_export_weights_identical_scores(tmp_path):
    applicants = _sample(tmp_path)
    args = ["score", str(applicants), "--as-of", "2026-11-30", "--quiet"]
    r1 = runner.invoke(app, args + ["--out", str(tmp_path / "a.xlsx"), "--json", str(tmp_path / "a.json")])
    assert r1.exit_code == 1, r1.output
    r2 = runner.invoke(app, ["model", "export", str(tmp_path / "model.xlsx")])
    assert r2.exit_code == 0, r2.output
    r3 = runner.invoke(app, args + ["--weights", str(tmp_path / "model.xlsx"), "--out", str(tmp_path / "b.xlsx"),
                                    "--json", str(tmp_path / "b.json")])
    assert r3.exit_code == 1, r3.output
    assert _scores(tmp_path / "a.json") == _scores(tmp_path / "b.json")
    # an edited table changes the scores and goes through the model checks
    wb = openpyxl.load_workbook(tmp_path / "model.xlsx")
    ws = wb.worksheets[0]
    heads = [c.value for c in ws[1]]
    kcol, wcol = heads.index("代码") + 1, heads.index("印刷权重") + 1
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, kcol).value == "F1":
            ws.cell(r, wcol).value = 0.5
    wb.save(tmp_path / "edited.xlsx")
    r4 = runner.invoke(app, args + ["--weights", str(tmp_path / "edited.xlsx"), "--out", str(tmp_path / "c.xlsx"),
                                    "--json", str(tmp_path / "c.json")])
    assert r4.exit_code == 1
    assert _scores(tmp_path / "c.json") != _scores(tmp_path / "a.json")
    data = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert any("D22" in w for w in data["warnings"])  # children of 财务能力 no longer sum to 0.18
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, kcol).value == "F1":
            ws.cell(r, wcol).value = "heavy"
    wb.save(tmp_path / "broken.xlsx")
    r5 = runner.invoke(app, args + ["--weights", str(tmp_path / "broken.xlsx")])
    assert r5.exit_code == 2 and "F1" in r5.output


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("round")
    applicants = _sample(tmp)
    res = runner.invoke(app, ["score", str(applicants), "--as-of", "2026-11-30", "--quiet",
                              "--out", str(tmp / "r.xlsx"), "--json", str(tmp / "r.json")])
    assert res.exit_code == 1, res.output
    return tmp / "r.json"


def test_sensitivity_command_reproducible_and_point_at_zero(scored, tmp_path):
    outs = []
    for name in ("a", "b"):
        res = runner.invoke(app, ["weights", "sensitivity", str(scored), "--draws", "300", "--seed", "7",
                                  "--out", str(tmp_path / f"{name}.xlsx"), "--json", str(tmp_path / f"{name}.json")])
        assert res.exit_code == 0, res.output
        outs.append(json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8")))
    assert outs[0] == outs[1]
    res = runner.invoke(app, ["weights", "sensitivity", str(scored), "--draws", "50", "--spread", "0", "--seed", "1",
                              "--out", str(tmp_path / "z.xlsx"), "--json", str(tmp_path / "z.json")])
    assert res.exit_code == 0, res.output
    z = json.loads((tmp_path / "z.json").read_text(encoding="utf-8"))["sensitivity"]["enterprises"]
    ranks = {e["code"]: e["rank"] for e in json.loads(scored.read_text(encoding="utf-8"))["enterprises"]}
    ranked = {c: v for c, v in z.items() if v["rank"] is not None}
    assert ranked and all(v["rank_p05"] == v["rank_p95"] == v["rank"] == ranks[c] for c, v in ranked.items())
    assert all(v["p_keep_grade"] == 1.0 for v in z.values())
    wb = openpyxl.load_workbook(tmp_path / "a.xlsx")
    assert wb.sheetnames == ["权重敏感性"] and wb["权重敏感性"]._charts


def test_entropy_command_and_model_mismatch(scored, tmp_path):
    res = runner.invoke(app, ["weights", "entropy", str(scored), "--json", str(tmp_path / "e.json")])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))
    assert sum(v["weight"] for v in data["entropy"].values()) == pytest.approx(1.0)
    assert data["expert"]["F1"] == pytest.approx(0.08)
    other = tmp_path / "other.toml"
    model = load_model()
    other.write_text(weight_config_text(model, {"V1": 0.03, "V2": 0.01}), encoding="utf-8")
    res = runner.invoke(app, ["weights", "sensitivity", str(scored), "--config", str(other)])
    assert res.exit_code == 2 and "模型哈希不同" in res.output


def test_expert_column_workbook_through_the_command(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "总目标"
    names = ["价值观", "竞争力", "社会责任", "集群治理"]
    ws.append(["专家", "总目标", *names])
    # expert 张: consistent with 1 : 4 : 2 : 2 ; expert 李: 1 : 1 : 1 : 1
    zhang = [1, 4, 2, 2]
    for i, n in enumerate(names):
        ws.append(["张" if i == 0 else None, n, *[zhang[i] / zhang[j] if j >= i else None for j in range(4)]])
    for i, n in enumerate(names):
        ws.append(["李" if i == 0 else None, n, *[1 if j >= i else None for j in range(4)]])
    wb.save(tmp_path / "goal.xlsx")
    res = runner.invoke(app, ["weights", "ahp", str(tmp_path / "goal.xlsx"), "--json", str(tmp_path / "g.json"),
                              "--out", str(tmp_path / "g.xlsx")])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))
    node = data["nodes"]["@base"]
    assert node["experts"] == 2
    # geometric mean of 1:4:2:2 and 1:1:1:1 is 1:2:√2:√2 (still consistent)
    g = [1, 2, 2 ** 0.5, 2 ** 0.5]
    assert list(node["weights"].values()) == pytest.approx([x / sum(g) for x in g])
    assert data["global"]["D2"] == pytest.approx(2 / sum(g))
    # sheets without a matrix keep the printed proportions below them, and say so
    assert "D21" in data["uncovered"]
    assert data["global"]["M1"] == pytest.approx(data["global"]["D21"] / 5)
