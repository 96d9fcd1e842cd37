"""The model config: effective weights, the §6 checks, validation errors naming file and key,
and the ``ccredit model`` commands."""

from __future__ import annotations

import math
import re

import pytest
from typer.testing import CliRunner

from cluster_credit_cli.cli import app
from cluster_credit_cli.model.config import DEFAULT_CONFIG, load_model
from cluster_credit_cli.problems import ConfigError

runner = CliRunner()
TEXT = DEFAULT_CONFIG.read_text(encoding="utf-8")


def broken(tmp_path, old: str, new: str, name: str = "broken.toml"):
    """A copy of the shipped model with one edit (the edit must apply exactly once)."""
    assert TEXT.count(old) == 1, old
    path = tmp_path / name
    path.write_text(TEXT.replace(old, new), encoding="utf-8")
    return path


# -- structure and effective weights -----------------------------------------------------------

def test_hierarchy_shape(model):
    assert len(model.leaves("base")) == 23
    assert model.leaves("bonus") == ["B1", "B2"]
    assert [r.key for r in model.roots] == ["D1", "D2", "D3", "D4", "DB"]
    assert set(model.rules) == set(model.leaves())


def test_effective_weights_rescale_d41_only(model):
    eff = model.effective
    assert eff["C1"] == pytest.approx(0.2 * 0.07 / 0.19, abs=1e-15)
    assert eff["C2"] == pytest.approx(0.2 * 0.06 / 0.19, abs=1e-15)
    assert eff["C3"] == pytest.approx(0.2 * 0.06 / 0.19, abs=1e-15)
    # Everywhere else the printed weights already add up, so effective == printed.
    for key in ["V1", "V2", "V3", "V4", "M1", "M5", "F1", "F2", "F3", "F4", "K1", "K2", "S1", "S2", "S3", "S4",
                "C4", "B1", "B2"]:
        assert eff[key] == pytest.approx(model.nodes[key].weight, abs=1e-15), key
    assert eff["D41"] == pytest.approx(0.20)


def test_base_leaves_sum_to_one_and_bonus_to_its_total(model):
    assert math.fsum(model.effective[k] for k in model.leaves("base")) == pytest.approx(1.0, abs=1e-12)
    assert math.fsum(model.effective[k] for k in model.leaves("bonus")) == pytest.approx(0.10, abs=1e-12)
    # The printed leaves do not: 0.99, because of D41.
    assert math.fsum(model.nodes[k].weight for k in model.leaves("base")) == pytest.approx(0.99, abs=1e-12)


def test_weight_check_reports_d41_with_both_numbers(model):
    bad = [c for c in model.checks if not c.ok]
    assert [c.parent for c in bad] == ["D41"]
    assert bad[0].children_sum == pytest.approx(0.19)
    assert bad[0].printed == 0.20
    assert bad[0].children == ["C1", "C2", "C3"]
    d41 = [w for w in model.warnings_en if w.startswith("D41")]
    assert len(d41) == 1 and "0.19" in d41[0] and "0.2" in d41[0] and "rescale" in d41[0]
    assert any(w.startswith("D41") and "0.19" in w for w in model.warnings)


def test_strict_policy_turns_the_mismatch_into_an_error():
    with pytest.raises(ConfigError) as exc:
        load_model(strict=True)
    msg = str(exc.value)
    assert msg.startswith("model.toml: ") and "D41" in msg and "0.19" in msg and "0.2" in msg


def test_strict_in_the_file(tmp_path):
    path = broken(tmp_path, 'weight_policy = "renormalize"', 'weight_policy = "strict"')
    with pytest.raises(ConfigError, match=r"^broken\.toml: nodes\[D41\]"):
        load_model(path)


def test_a_consistent_model_has_no_warnings(tmp_path):
    path = broken(tmp_path, 'name = "供应链信用", name_en = "Supply-chain credit",  weight = 0.20',
                  'name = "供应链信用", name_en = "Supply-chain credit",  weight = 0.19')
    path.write_text(path.read_text(encoding="utf-8").replace(
        'name = "集群创业", name_en = "Cluster entrepreneurship", weight = 0.05',
        'name = "集群创业", name_en = "Cluster entrepreneurship", weight = 0.06').replace(
        'key = "C4",  parent = "D42", name = "集群孵化", name_en = "Incubated inside the cluster", weight = 0.05',
        'key = "C4",  parent = "D42", name = "集群孵化", name_en = "Incubated inside the cluster", weight = 0.06'),
        encoding="utf-8")
    m = load_model(path)
    assert m.warnings == [] and m.warnings_en == []
    assert all(c.ok for c in m.checks)
    assert m.effective["C1"] == pytest.approx(0.07)


def test_block_total_mismatch_is_a_warning(tmp_path):
    path = broken(tmp_path, "base_total = 1.00", "base_total = 0.90")
    m = load_model(path)
    assert any("base block" in w and "0.9" in w for w in m.warnings_en)


def test_with_printed_weights_recomputes(model):
    m2 = model.with_printed_weights({"C1": 0.08})
    assert m2.effective["C1"] == pytest.approx(0.2 * 0.08 / 0.20)
    assert m2.warnings_en == [w for w in m2.warnings_en if not w.startswith("D41")]
    with pytest.raises(ConfigError, match="unknown indicator key"):
        model.with_printed_weights({"ZZ": 0.1})


def test_config_hash_depends_on_content_not_bytes(tmp_path, model):
    same = tmp_path / "same.toml"
    same.write_text("# a comment\n" + TEXT, encoding="utf-8")
    assert load_model(same).hash == model.hash
    other = broken(tmp_path, "guarantee_fund = 1000", "guarantee_fund = 2000")
    assert load_model(other).hash != model.hash
    assert re.fullmatch(r"[0-9a-f]{64}", model.hash)


# -- validation errors name the file and the key ----------------------------------------------

V1_LINE = '{ key = "V1",  parent = "D11", name = "战略定位", name_en = "Strategic positioning",  weight = 0.02 }'


@pytest.mark.parametrize("old,new,pattern", [
    (V1_LINE, V1_LINE.replace("0.02", "1.5"), r"^broken\.toml: nodes\[2\]\.weight: V1: weight 1\.5 is not in \[0, 1\]"),
    (V1_LINE, V1_LINE.replace("0.02", "-0.1"), r"^broken\.toml: nodes\[2\]\.weight: V1"),
    (V1_LINE, V1_LINE.replace('"V1"', '"V2"'), r"^broken\.toml: nodes\[3\]\.key: duplicate key 'V2'"),
    (V1_LINE, V1_LINE.replace('parent = "D11"', 'parent = "D99"'), r"^broken\.toml: nodes\[V1\]\.parent: unknown parent"),
    ('[rules.V1]\nkind = "rating"\nfield = "strategy"', '[rules.V1]\nkind = "rating"\nfield = "strategyy"',
     r"^broken\.toml: rules\.V1\.field: unknown field 'strategyy'"),
    ('metric = "payables_on_time"', 'metric = "payables_late"',
     r"^broken\.toml: rules\.C1: input 'payables_late' is not a field"),
    ('metric = "payables_on_time"', 'metric = "__import__(1)"', r"^broken\.toml: rules\.C1\.metric: "),
    ('[rules.V2]\nkind = "rating"\nfield = "mission"\n', "", r"^broken\.toml: rules\.V2: leaf indicator V2 \(企业使命\) has no scoring rule"),
    ('[rules.S1]\nkind = "count"', '[rules.S1]\nkind = "counts"', r"^broken\.toml: rules\.S1\.kind: unknown kind 'counts'"),
    ('bands = [[8, 100], [6, 80], [4, 60], [2, 30]]', 'bands = [[8, 100], [6, 80], [7, 60], [2, 30]]',
     r"^broken\.toml: rules\.F2\.bands\[2\]: thresholds must be strictly descending"),
    ('bands = [[8, 100], [6, 80], [4, 60], [2, 30]]', 'bands = [[8, 100], [6, 180], [4, 60], [2, 30]]',
     r"^broken\.toml: rules\.F2\.bands\[1\]: points 180 outside 0–100"),
    ('{ grade = "AA",  min = 80, cap = 300 }', '{ grade = "AA",  min = 95, cap = 300 }',
     r"^broken\.toml: grades\.bands\[1\]\.min: grade minimums must be strictly descending"),
    ("leverage = 10", "leverage = -1", r"^broken\.toml: pool\.leverage: must not be negative"),
    ('weight_policy = "renormalize"', 'weight_policy = "lenient"', r"^broken\.toml: model\.weight_policy"),
    ('[rules.B2]\nkind = "lookup"\nfield = "membership"',
     '[rules.B2]\nkind = "lookup"\nfield = "membership"\nmissng = "zero"',
     r"^broken\.toml: rules\.B2\.missng: unknown key"),
    ('kind = "min_age"\nfield = "founded"', 'kind = "min_age"\nfield = "founding"',
     r"^broken\.toml: eligibility\[0\]: unknown field 'founding'"),
])
def test_broken_config_names_file_and_key(tmp_path, old, new, pattern):
    path = broken(tmp_path, old, new)
    with pytest.raises(ConfigError) as exc:
        load_model(path)
    assert re.search(pattern, str(exc.value)), str(exc.value)


def test_not_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("nodes = [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^bad\.toml：不是有效的 TOML 文件"):
        load_model(bad)
    with pytest.raises(ConfigError, match="找不到模型文件"):
        load_model(tmp_path / "nope.toml")


# -- the commands ------------------------------------------------------------------------------

def test_model_check_on_the_shipped_model_exits_0_with_warnings_and_names_d41():
    res = runner.invoke(app, ["model", "check", "--lang", "en"])
    assert res.exit_code == 0, res.output  # warnings alone: the model scores (issue 15)
    assert "No errors, 2 warning(s)." in res.output  # D41, and the leaves summing to 0.99
    out = res.output
    assert "41 nodes, 23 base leaves, 2 bonus leaves, 25 rules" in out
    assert re.search(r"D41 Supply-chain credit: C1 \+ C2 \+ C3 = 0\.19 / 0\.2\s+MISMATCH", out)  # one language
    assert re.search(r"D31 Public records: S1 \+ S2 \+ S3 = 0\.13 / 0\.13\s+ok", out)
    warn = [line for line in out.splitlines() if line.startswith("Warning: D41")]
    assert len(warn) == 1 and "0.19" in warn[0] and "printed weight is 0.2" in warn[0]
    assert "child × parent ÷ sum" in warn[0]


def test_model_check_chinese_by_default():
    res = runner.invoke(app, ["model", "check"])
    assert res.exit_code == 0
    assert "不一致" in res.output and "警告：D41 供应链信用：下级权重之和为 0.19" in res.output


def test_model_check_strict_turns_warnings_into_errors_exit_1_naming_d41():
    res = runner.invoke(app, ["model", "check", "--strict", "--lang", "en"])
    assert res.exit_code == 1
    assert "Error (--strict): D41" in res.output and "0.19" in res.output and "Traceback" not in res.output
    assert "2 error(s)." in res.output


def test_model_check_consistent_model_exits_0(tmp_path):
    path = broken(tmp_path, 'key = "C1",  parent = "D41", name = "应付货款", name_en = "Payables to suppliers",  weight = 0.07',
                  'key = "C1",  parent = "D41", name = "应付货款", name_en = "Payables to suppliers",  weight = 0.08')
    res = runner.invoke(app, ["model", "check", "--config", str(path), "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "All checks passed." in res.output


@pytest.mark.parametrize("old,new,expect", [
    (V1_LINE, V1_LINE.replace("0.02", "1.5"), "broken.toml: nodes[2].weight"),
    ('[rules.V1]\nkind = "rating"\nfield = "strategy"', '[rules.V1]\nkind = "rating"\nfield = "nosuch"',
     "broken.toml: rules.V1.field"),
    ('[rules.V2]\nkind = "rating"\nfield = "mission"\n', "", "broken.toml: rules.V2"),
])
def test_broken_config_exits_2_with_file_and_key(tmp_path, old, new, expect):
    path = broken(tmp_path, old, new)
    for args in (["model", "check"], ["model", "show"]):
        res = runner.invoke(app, [*args, "--config", str(path)])
        assert res.exit_code == 2, res.output
        assert expect in res.output
        assert "Traceback" not in res.output


def test_model_show_prints_printed_and_effective_weights():
    res = runner.invoke(app, ["model", "show", "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "C1 Payables to suppliers  printed 0.07  effective 0.073684" in res.output
    assert "D41 Supply-chain credit  printed 0.2  effective 0.200000" in res.output
    assert "Warning: D41" in res.output


def test_model_export_writes_table2(tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "model.xlsx"
    res = runner.invoke(app, ["model", "export", str(out)])
    assert res.exit_code == 0, res.output
    ws = load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:6] == ("代码", "层级", "指标", "上级", "印刷权重", "有效权重")
    c1 = next(r for r in rows if r[0] == "C1")
    assert c1[1] == 3 and c1[3] == "D41" and c1[4] == 0.07
    assert c1[5] == pytest.approx(0.2 * 0.07 / 0.19)


def test_unknown_lang_is_a_usage_error():
    res = runner.invoke(app, ["model", "show", "--lang", "fr"])
    assert res.exit_code == 2
    assert "--lang" in res.output


def test_a_header_naming_two_fields_of_one_source_is_refused_by_key(tmp_path):
    path = broken(tmp_path, 'aliases = ["企业", "公司名称",', 'aliases = ["信用代码", "企业", "公司名称",')
    with pytest.raises(ConfigError, match=r"fields\.name\.aliases: header '信用代码' also names field 'code' "
                                          r"in source 'applicants'"):
        load_model(path)
