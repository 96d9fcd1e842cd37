"""A town designs its own model (issue 15): AHP on any hierarchy, a model scaffolded from it,
group inconsistency explained per expert, model check's exit codes, where outputs go."""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from cluster_credit_cli.cli import app
from cluster_credit_cli.model.config import load_model
from cluster_credit_cli.problems import ConfigError, Problems
from cluster_credit_cli.weights import ahp
from cluster_credit_cli.weights.tables import ahp_free, largest_remainder, read_matrix_workbooks

runner = CliRunner()


def write_matrices(path: Path, sheets: dict, *, corner: bool = True, expert_rows=None) -> Path:
    """One sheet per node: items along row 1 and column A, judgments above the diagonal only."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for sheet, (names, pairs) in sheets.items():
        ws = wb.create_sheet(sheet[:31])
        ws.append([sheet if corner else None, *names])
        for i, x in enumerate(names):
            row = [x] + [None] * len(names)
            row[i + 1] = 1
            for j in range(i + 1, len(names)):
                row[j + 1] = pairs.get((names[i], names[j]))
            ws.append(row)
    wb.save(path)
    return path


CRITERIA = ["Experience", "Education", "Charisma", "Age"]
GOAL = {("Experience", "Education"): 4, ("Experience", "Charisma"): 3, ("Experience", "Age"): 7,
        ("Education", "Charisma"): "1/3", ("Education", "Age"): 3, ("Charisma", "Age"): 5}
CANDIDATES = {
    "Experience": {("Tom", "Dick"): "1/4", ("Tom", "Harry"): 4, ("Dick", "Harry"): 9},
    "Education": {("Tom", "Dick"): 3, ("Tom", "Harry"): "1/5", ("Dick", "Harry"): "1/7"},
    "Charisma": {("Tom", "Dick"): 5, ("Tom", "Harry"): 9, ("Dick", "Harry"): 4},
    "Age": {("Tom", "Dick"): "1/3", ("Tom", "Harry"): 5, ("Dick", "Harry"): 9},
}


def leader(path: Path, bracketed: bool) -> Path:
    """Wikipedia's "choosing a leader"; bracketed: the candidates named per criterion ("Tom (Age)")."""
    sheets = {"Goal": (CRITERIA, GOAL)}
    for crit, pairs in CANDIDATES.items():
        name = (lambda x: f"{x} ({crit})") if bracketed else (lambda x: x)
        sheets[crit] = ([name(x) for x in ("Tom", "Dick", "Harry")],
                        {(name(a), name(b)): v for (a, b), v in pairs.items()})
    return write_matrices(path, sheets)


# -- 1. weights ahp on any hierarchy --------------------------------------------------------------

def test_leader_example_as_a_free_hierarchy(tmp_path):
    m = leader(tmp_path / "leader.xlsx", bracketed=False)
    res = runner.invoke(app, ["weights", "ahp", str(m), "--json", str(tmp_path / "w.json"), "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "Hierarchy: the sheets' own (5 nodes, 3 leaves)" in res.output
    assert "not an indicator" not in res.output
    data = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
    assert data["hierarchy"] == "free" and data["roots"] == ["Goal"] and data["leaves"] == ["Tom", "Dick", "Harry"]
    g = data["global"]
    # Wikipedia / AHPy: Tom .358, Dick .493, Harry .149
    assert (round(g["Tom"], 3), round(g["Dick"], 3), round(g["Harry"], 3)) == (0.358, 0.493, 0.149)
    assert round(data["nodes"]["Goal"]["cr"], 3) == 0.044
    assert "Tom 0.3581  Dick 0.4928  Harry 0.1491" in res.output
    # the workbook went beside the input, named so, with the hierarchy as its first sheet
    wb = openpyxl.load_workbook(tmp_path / "leader_weights.xlsx")
    assert wb.sheetnames[0] == "Hierarchy"
    rows = list(wb["Hierarchy"].iter_rows(values_only=True))
    assert rows[1][:3] == ("Goal", "Experience", 1) and rows[2][:3] == ("Experience", "Tom", 2)


def test_leader_example_with_bracketed_names_that_used_to_collide(tmp_path):
    m = leader(tmp_path / "leader.xlsx", bracketed=True)
    res = runner.invoke(app, ["weights", "ahp", str(m), "--json", str(tmp_path / "w.json"),
                              "--out", str(tmp_path / "w.xlsx")])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
    assert len(data["leaves"]) == 12 and "Tom (Education)" in data["leaves"] and "Tom (Experience)" in data["leaves"]
    assert not data["problems"]
    g = data["global"]
    per = {who: sum(v for k, v in g.items() if k.startswith(who + " (")) for who in ("Tom", "Dick", "Harry")}
    assert (round(per["Tom"], 3), round(per["Dick"], 3), round(per["Harry"], 3)) == (0.358, 0.493, 0.149)
    # the Education sheet's own local weights: .188 / .081 / .731
    assert round(data["nodes"]["Education"]["weights"]["Harry (Education)"], 3) == 0.731


def test_names_match_exactly_after_width_and_whitespace_only(tmp_path):
    mats = [ahp.parse_matrix([["", "Ａｌｐｈａ  One", "beta"], ["Alpha One", 1, 3], ["beta", None, 1]],
                             node="Goal", problems=Problems(), sheet="Goal"),
            ahp.parse_matrix([["", "x", "y"], ["x", 1, 2], ["y", None, 1]], node="AlphaOne", problems=Problems(),
                             sheet="AlphaOne"),
            ahp.parse_matrix([["", "p", "q"], ["p", 1, 1], ["q", None, 1]], node="Beta", problems=Problems(),
                             sheet="Beta")]
    problems = Problems()
    out = ahp_free(mats, problems)
    # full-width letters and spaces do not matter; case does: "Beta" is not "beta"
    assert out.hierarchy.roots == ["Goal", "Beta"]
    assert out.children["Goal"] == ["Alpha  One", "beta"] or out.children["Goal"][0].replace(" ", "") == "AlphaOne"
    assert out.weights["x"] == pytest.approx(0.75 * 2 / 3)
    warn = [p for p in problems if p.code == "ahp_several_roots"]
    assert len(warn) == 1 and "Beta" in warn[0].message and "beta" in warn[0].message


FURNITURE = {
    "总目标": (["经营能力", "财务状况", "社会信用"],
            {("经营能力", "财务状况"): 2, ("经营能力", "社会信用"): 4, ("财务状况", "社会信用"): 2}),
    "经营能力": (["设计研发", "生产管理", "市场销售"],
             {("设计研发", "生产管理"): 2, ("设计研发", "市场销售"): 1, ("生产管理", "市场销售"): "1/2"}),
    "设计研发": (["原创设计", "专利数量"], {("原创设计", "专利数量"): 3}),
    "生产管理": (["环保达标", "质量认证"], {("环保达标", "质量认证"): 1}),
    "财务状况": (["资产负债率", "盈利能力"], {("资产负债率", "盈利能力"): "1/3"}),
    "社会信用": (["行政处罚", "贷款逾期"], {("行政处罚", "贷款逾期"): 1}),
}
# consistent judgments, so the weights can be checked by hand:
# goal 4:2:1 -> 4/7, 2/7, 1/7; 经营能力 2:1:2 -> .4 .2 .4; 设计研发 3:1; 生产管理 1:1; 财务状况 1:3; 社会信用 1:1
FURNITURE_GLOBAL = {
    "经营能力": 4 / 7, "财务状况": 2 / 7, "社会信用": 1 / 7,
    "设计研发": 4 / 7 * 0.4, "生产管理": 4 / 7 * 0.2, "市场销售": 4 / 7 * 0.4,
    "原创设计": 4 / 7 * 0.4 * 0.75, "专利数量": 4 / 7 * 0.4 * 0.25, "环保达标": 4 / 7 * 0.1, "质量认证": 4 / 7 * 0.1,
    "资产负债率": 2 / 7 * 0.25, "盈利能力": 2 / 7 * 0.75, "行政处罚": 1 / 14, "贷款逾期": 1 / 14,
}


def test_three_level_hierarchy(tmp_path):
    m = write_matrices(tmp_path / "家具判断矩阵.xlsx", FURNITURE)
    res = runner.invoke(app, ["weights", "ahp", str(m), "--json", str(tmp_path / "w.json")])
    assert res.exit_code == 0, res.output
    assert "层次结构：按工作表自定（6 个节点，9 个末级指标）" in res.output
    data = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
    assert data["global"] == pytest.approx(FURNITURE_GLOBAL)
    assert data["leaves"] == ["市场销售", "原创设计", "专利数量", "环保达标", "质量认证", "资产负债率", "盈利能力",
                              "行政处罚", "贷款逾期"]
    assert all(n["cr"] == pytest.approx(0, abs=1e-9) for n in data["nodes"].values())
    assert (tmp_path / "家具判断矩阵_权重.xlsx").exists()


def test_long_names_match_their_truncated_sheet_and_the_corner_cell(tmp_path):
    long = "供应链上下游企业应付账款与应收账款按期支付和回收情况的综合评价指标"  # longer than a sheet name may be
    assert len(long) > 31
    m = write_matrices(tmp_path / "m.xlsx", {"总目标": ([long, "短"], {(long, "短"): 3}),
                                             long: (["甲", "乙"], {("甲", "乙"): 1})})
    mats = read_matrix_workbooks([m], Problems())
    out = ahp_free(mats, Problems())
    assert out.hierarchy.roots == ["总目标"] and out.leaves == ["短", "甲", "乙"]
    assert out.weights["甲"] == pytest.approx(0.375)


def test_auto_keeps_the_model_for_its_own_template_and_free_refuses_config_out(tmp_path):
    from test_weights_cmd import fill, make_template

    model = load_model()
    filled = fill(make_template(tmp_path), tmp_path / "filled.xlsx", model.effective)
    res = runner.invoke(app, ["weights", "ahp", str(filled), "--out", str(tmp_path / "w.xlsx")])
    assert res.exit_code == 0 and "层次结构：模型 model.toml" in res.output
    m = write_matrices(tmp_path / "f.xlsx", FURNITURE)
    res = runner.invoke(app, ["weights", "ahp", str(m), "--config-out", str(tmp_path / "x.toml")])
    assert res.exit_code == 2 and "model init --from-ahp" in res.output
    assert not (tmp_path / "x.toml").exists()
    res = runner.invoke(app, ["weights", "ahp", str(m), "--hierarchy", "model"])
    assert res.exit_code == 2 and "--hierarchy free" in res.output


# -- 2. model init -> model check -> rules -> template -> score ---------------------------------------

def test_largest_remainder_sums_exactly():
    assert largest_remainder([1 / 3, 1 / 3, 1 / 3], 10000) == [3334, 3333, 3333]
    assert sum(largest_remainder([0.5476, 0.1266, 0.2699, 0.0559], 5476)) == 5476


def test_model_init_check_fill_template_and_score(tmp_path):
    m = write_matrices(tmp_path / "家具判断矩阵.xlsx", FURNITURE)
    cfg = tmp_path / "家具模型.toml"
    res = runner.invoke(app, ["model", "init", "--from-ahp", str(m), "--out", str(cfg), "--name", "大岭山家具"])
    assert res.exit_code == 0, res.output
    text = cfg.read_text(encoding="utf-8")
    assert "# 指标体系（层次结构）与权重" in text and "最大余数法" in text and "# 评分规则（评价打分细则）" in text
    assert not re.search(r"weight = 0\.\d{5,}", text)  # 4 decimals, never 10 digits
    raw = tomllib.loads(text)
    nodes = {n["key"]: n for n in raw["nodes"]}
    assert [n["name"] for n in raw["nodes"] if not n["parent"]] == ["经营能力", "财务状况", "社会信用"]
    by_name = {n["name"]: n for n in raw["nodes"]}
    for name, w in FURNITURE_GLOBAL.items():
        assert by_name[name]["weight"] == pytest.approx(w, abs=1e-4)
    for key in nodes:  # every sibling set sums exactly (in units of 1e-4) to its parent; the first level to 1
        kids = [n for n in raw["nodes"] if n["parent"] == key]
        if kids:
            assert round(sum(n["weight"] for n in kids) * 10000) == round(nodes[key]["weight"] * 10000)
    assert round(sum(n["weight"] for n in raw["nodes"] if not n["parent"]) * 10000) == 10000
    base = load_model()
    assert raw["grades"] == base.raw["grades"] and raw["pool"] == base.raw["pool"]
    assert raw["eligibility"] == base.raw["eligibility"] and raw["veto"] == base.raw["veto"]
    assert raw["model"]["name"] == "大岭山家具"
    # model check lists exactly the placeholder rules, with the kinds of rule, and fails (exit 1)
    res = runner.invoke(app, ["model", "check", "--config", str(cfg)])
    assert res.exit_code == 1, res.output
    todo = re.findall(r"^  \[rules\.(\S+)\] (\S+)", res.output, re.M)
    leaves = [n["key"] for n in raw["nodes"] if not any(c["parent"] == n["key"] for c in raw["nodes"])]
    assert [k for k, _ in todo] == leaves and len(leaves) == 9
    assert {name for _, name in todo} == {"市场销售", "原创设计", "专利数量", "环保达标", "质量认证", "资产负债率",
                                          "盈利能力", "行政处罚", "贷款逾期"}
    for kind in ("rating", "bands", "mean", "count", "lookup"):
        assert re.search(rf"^  {kind} ", res.output, re.M)
    assert "评分规则待编写（9 条）" in res.output and "9 个错误：模型尚不能评分。" in res.output
    # the model loads (templates, export work) but refuses to score
    with pytest.raises(ConfigError, match="still to be written"):
        load_model(cfg).require_rules()
    res = runner.invoke(app, ["template", "applicants", "--config", str(cfg), "--out", str(tmp_path / "t0.xlsx")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["model", "export", str(tmp_path / "x.xlsx"), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    exported = list(openpyxl.load_workbook(tmp_path / "x.xlsx").active.iter_rows(values_only=True))
    assert ("D1_1_1", 3, "原创设计", "D1_1") == exported[3][:4] and exported[3][-1] == "待编写"
    assert openpyxl.load_workbook(tmp_path / "x.xlsx").active.cell(4, 5).number_format == "#,##0.0000"  # 4 decimals shown
    # write the rules: a 1-5 rating per leaf from the applicant form, the debt ratio in bands
    fields, rules = [], []
    for i, (key, name) in enumerate(todo):
        if name == "资产负债率":
            fields.append('[fields.debt_ratio]\nlabel = "资产负债率"\ntype = "number"\nsources = ["applicants"]\n')
            rules.append(f'[rules.{key}]\nkind = "bands"\nmetric = "debt_ratio"\n'
                         'compare = "<="\nbands = [[40, 100], [60, 60]]\nelse = 0\n')
        else:
            fields.append(f'[fields.f{i}]\nlabel = "{name}"\ntype = "rating"\nsources = ["applicants"]\n')
            rules.append(f'[rules.{key}]\nkind = "rating"\nfield = "f{i}"\n')
    filled = text
    for key, _ in todo:
        filled = filled.replace(f'[rules.{key}]\nkind = "todo"\n', "")
    cfg.write_text(filled + "\n" + "".join(rules) + "\n" + "".join(fields), encoding="utf-8")
    res = runner.invoke(app, ["model", "check", "--config", str(cfg), "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "All checks passed." in res.output
    # ccredit template works from it; fill two enterprises and score them through the real pipeline
    tpl = tmp_path / "round" / "申报材料.xlsx"
    tpl.parent.mkdir()
    res = runner.invoke(app, ["template", "applicants", "--config", str(cfg), "--out", str(tpl)])
    assert res.exit_code == 0, res.output
    wb = openpyxl.load_workbook(tpl)
    ws = wb.active
    header = [c.value for c in ws[1]]
    assert "原创设计" in header and any(str(h).startswith("资产负债率") for h in header)
    from conftest import code

    def row(n, rating, liabilities):
        values = {"统一社会信用代码": code(n), "企业名称": f"东莞市家具{n}号有限公司", "成立日期": "2015-03-01",
                  "所在镇街": "横沥镇", "注册地址": "东莞市横沥镇", "结算账户": "是", "申请贷款金额": 200,
                  "资产负债率": liabilities / 10}
        out = []
        for h in header:
            label = re.sub(r"[（(].*$", "", str(h or ""))
            out.append(rating if label in {name for _, name in todo} - {"资产负债率"} else values.get(label))
        return out
    first_data = ws.max_row + 1
    for r, values in enumerate([row(1, 5, 300), row(2, 3, 500)]):
        for c, v in enumerate(values, start=1):
            ws.cell(first_data + r, c).value = v
    wb.save(tpl)
    res = runner.invoke(app, ["score", str(tpl), "--config", str(cfg), "--as-of", "2026-06-30", "--no-db",
                              "--json", str(tmp_path / "r.json"), "--out", str(tmp_path / "r.xlsx")])
    assert res.exit_code in (0, 1), res.output
    result = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    got = {e["code"]: e for e in result["enterprises"]}
    debt = by_name["资产负债率"]["weight"]
    # enterprise 1: every rating 5 (100), debt ratio 30 % (100) -> 100; enterprise 2: ratings 3 (60), 50 % (60) -> 60
    assert got[code(1)]["total"] == pytest.approx(100, abs=0.01)
    assert got[code(2)]["total"] == pytest.approx(60, abs=0.01)
    assert got[code(1)]["grade"] == "AAA" and got[code(2)]["grade"] == "BBB"
    assert debt == pytest.approx(2 / 7 * 0.25, abs=1e-4)


def test_model_init_needs_a_tree_and_refuses_to_overwrite(tmp_path):
    m = leader(tmp_path / "leader.xlsx", bracketed=False)
    res = runner.invoke(app, ["model", "init", "--from-ahp", str(m)])
    assert res.exit_code == 2
    assert "Tom" in res.output and "Tom (Experience)" in res.output
    b = leader(tmp_path / "leader_b.xlsx", bracketed=True)
    res = runner.invoke(app, ["model", "init", "--from-ahp", str(b)])
    assert res.exit_code == 0, res.output
    out = tmp_path / "leader_b_模型.toml"  # beside the input, named so
    assert out.exists() and len(load_model(out).todo_rules) == 12
    before = out.read_text(encoding="utf-8")
    res = runner.invoke(app, ["model", "init", "--from-ahp", str(b)])
    assert res.exit_code == 2 and "--force" in res.output
    assert out.read_text(encoding="utf-8") == before


def test_model_init_from_the_json_of_weights_ahp(tmp_path):
    m = write_matrices(tmp_path / "m.xlsx", FURNITURE)
    assert runner.invoke(app, ["weights", "ahp", str(m), "--json", str(tmp_path / "w.json")]).exit_code == 0
    res = runner.invoke(app, ["model", "init", "--from-ahp", str(tmp_path / "w.json"), "--out", str(tmp_path / "a.toml")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["model", "init", "--from-ahp", str(m), "--out", str(tmp_path / "b.toml")])
    assert res.exit_code == 0, res.output
    a, b = load_model(tmp_path / "a.toml"), load_model(tmp_path / "b.toml")
    assert {k: n.weight for k, n in a.nodes.items()} == {k: n.weight for k, n in b.nodes.items()}
    # the JSON of the model's own hierarchy is refused with the way to go
    from test_weights_cmd import fill, make_template

    filled = fill(make_template(tmp_path), tmp_path / "filled.xlsx", load_model().effective)
    runner.invoke(app, ["weights", "ahp", str(filled), "--json", str(tmp_path / "model.json"), "--out",
                        str(tmp_path / "x.xlsx")])
    res = runner.invoke(app, ["model", "init", "--from-ahp", str(tmp_path / "model.json")])
    assert res.exit_code == 2 and "--hierarchy free" in res.output


def test_score_refuses_a_model_with_rules_to_be_written(tmp_path):
    from test_cli_score import clean_round

    m = write_matrices(tmp_path / "m.xlsx", FURNITURE)
    cfg = tmp_path / "m.toml"
    assert runner.invoke(app, ["model", "init", "--from-ahp", str(m), "--out", str(cfg)]).exit_code == 0
    applicants = clean_round(tmp_path / "r", 1)
    res = runner.invoke(app, ["score", str(applicants), "--config", str(cfg), "--no-db"])
    assert res.exit_code == 2 and "still to be written" in res.output and "Traceback" not in res.output


# -- 3. group inconsistency, per expert -------------------------------------------------------------

ITEMS = ["价格", "质量", "交期", "服务"]


def expert_file(path: Path, judgments: dict) -> Path:
    return write_matrices(path, {"总目标": (ITEMS, judgments)})


CONSISTENT = {("价格", "质量"): 2, ("价格", "交期"): 4, ("价格", "服务"): 8, ("质量", "交期"): 2,
              ("质量", "服务"): 4, ("交期", "服务"): 2}
CYCLIC = {**CONSISTENT, ("价格", "质量"): 9, ("质量", "交期"): 9, ("价格", "交期"): "1/9"}


def test_group_inconsistency_is_explained_per_expert(tmp_path):
    a = expert_file(tmp_path / "专家甲.xlsx", CONSISTENT)
    b = expert_file(tmp_path / "专家乙.xlsx", CYCLIC)
    c = expert_file(tmp_path / "专家丙.xlsx", CONSISTENT)
    res = runner.invoke(app, ["weights", "ahp", str(a), str(b), str(c), "--json", str(tmp_path / "w.json")])
    assert res.exit_code == 1, res.output
    data = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
    node = data["nodes"]["总目标"]
    assert node["experts"] == 3 and node["cr"] >= 0.10
    details = {d["expert"]: d for d in node["expert_details"]}
    assert details["专家甲"]["cr"] == pytest.approx(0, abs=1e-9) and details["专家丙"]["cr"] == pytest.approx(0, abs=1e-9)
    assert details["专家乙"]["cr"] > 1
    assert sum(d["share"] for d in details.values()) == pytest.approx(1.0)
    assert details["专家乙"]["share"] > 0.9
    # the expert's worst cell: 价格 over 交期 written as 1/9 in cell D2 of 专家乙.xlsx
    worst = details["专家乙"]["judgments"][0]
    assert (worst["row"], worst["column"], worst["cell"]) == ("价格", "交期", "D2")
    assert worst["value"] == pytest.approx(1 / 9)
    # the aggregate is named as such, not as the first expert's file
    inconsistent = [p for p in data["problems"] if p["code"] == "ahp_inconsistent"]
    assert inconsistent and inconsistent[0]["file"] == "" and "3 位专家的几何平均合成矩阵" in inconsistent[0]["message"]
    assert not any(p["file"] == "专家甲.xlsx" and p["severity"] == "error" for p in data["problems"])
    cells = [p for p in data["problems"] if p["code"] == "ahp_expert_judgment"]
    assert [(p["file"], p["row"], p["column"]) for p in cells] == [("专家乙.xlsx", 2, "D")]
    assert "D2 价格 对 交期 为 1/9" in cells[0]["message"]
    assert "各专家自身 CR：专家甲 0.0000  专家乙 2.4212  专家丙 0.0000" in res.output
    # the aggregate is written as a sheet, so the numbers quoted (1.21 = (4·4/9)^(1/3)) can be found
    out = tmp_path / "权重_3份文件.xlsx"
    wb = openpyxl.load_workbook(out)
    assert "合成判断矩阵" in wb.sheetnames and "各专家一致性" in wb.sheetnames
    ws = wb["合成判断矩阵"]
    grid = [list(r) for r in ws.iter_rows(values_only=True)]
    assert grid[1][:5] == ["总目标", *ITEMS]
    assert grid[2][3] == pytest.approx((4 * 4 / 9) ** (1 / 3))
    assert "CR=0.1686" in grid[0][0]


def test_explain_group_parts_add_up_to_the_aggregate_inconsistency():
    def pm(expert, pairs):
        rows = [["g", *ITEMS]] + [[x] + [1 if i == j else pairs.get((x, y)) if i < j else None
                                         for j, y in enumerate(ITEMS)] for i, x in enumerate(ITEMS)]
        return ahp.parse_matrix(rows, node="g", problems=Problems(), file=f"{expert}.xlsx", sheet="g", expert=expert)
    group = [pm("a", CONSISTENT), pm("b", CYCLIC), pm("c", {**CONSISTENT, ("交期", "服务"): 5})]
    agg = ahp.analyse_matrix(ahp.aggregate_geometric(group))
    details = ahp.explain_group(group, agg, top=10)
    w = agg.weights
    total = sum(math.log(agg.matrix[i, j] * w[ITEMS[j]] / w[ITEMS[i]]) ** 2
                for i in range(4) for j in range(i + 1, 4))
    assert sum(d.share for d in details) == pytest.approx(1.0)  # the parts split the total exactly
    e = math.log(agg.matrix[0, 2] * w["交期"] / w["价格"])  # the aggregate's deviation at 价格/交期
    d = math.log((1 / 9) * w["交期"] / w["价格"])  # expert b's
    got = next(j for j in details[1].judgments if (j.row, j.column) == ("价格", "交期"))
    assert got.contribution == pytest.approx(e * d / 3) and got.cell == "D2"
    assert [d.expert for d in sorted(details, key=lambda d: -d.share)][0] == "b"


# -- 4./5. model check's exit codes; where outputs go --------------------------------------------------

def test_weights_output_goes_where_asked_and_never_over_an_input(tmp_path):
    m = write_matrices(tmp_path / "m.xlsx", FURNITURE)
    res = runner.invoke(app, ["weights", "ahp", str(m), "--out", str(m)])
    assert res.exit_code == 2 and "这是本次运行的输入文件" in res.output
    res = runner.invoke(app, ["weights", "ahp", str(m), "--lang", "en"])
    assert res.exit_code == 0 and (tmp_path / "m_weights.xlsx").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.xlsx", "m_weights.xlsx"]


def test_the_readme_furniture_example_scores_its_round(tmp_path):
    """sample_data/make_furniture.py: matrices -> model init -> rules written -> a scored round."""
    import importlib.util

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("make_furniture", root / "sample_data" / "make_furniture.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.build(tmp_path)
    # the shipped sample is what the script writes (but for the date in the header)
    shipped = (root / "sample_data" / "furniture" / "家具模型.toml").read_text(encoding="utf-8")
    fresh = (tmp_path / "家具模型.toml").read_text(encoding="utf-8")
    strip = lambda t: re.sub(r"\d{4}-\d{2}-\d{2} 由", "", t)  # noqa: E731
    assert strip(shipped) == strip(fresh)
    res = runner.invoke(app, ["score", str(tmp_path / "round" / "申报材料汇总.xlsx"), "--config",
                              str(tmp_path / "家具模型.toml"), "--as-of", "2026-11-30", "--no-db",
                              "--json", str(tmp_path / "r.json"), "--out", str(tmp_path / "r.xlsx")])
    assert res.exit_code == 0, res.output
    ranked = sorted((e for e in json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["enterprises"]
                     if e["rank"]), key=lambda e: e["rank"])
    assert [e["name"] for e in ranked[:2]] == ["东莞市大岭山华美家具有限公司", "东莞市富运家具制造有限公司"]
    assert ranked[0]["total"] == pytest.approx(100) and ranked[0]["grade"] == "AAA"


def test_model_init_keeps_odd_names_intact_and_comments_closed(tmp_path):
    odd = ['引号"与\\反斜杠', "换行\n[rules.X]\nkind = \"rating\"", "井号 # 与 ] 括号", "'单引号' 与 \t 制表"]
    m = write_matrices(tmp_path / "m.xlsx", {"总目标": (odd, {(odd[0], odd[1]): 2, (odd[0], odd[2]): 3,
                                                           (odd[0], odd[3]): 1, (odd[1], odd[2]): 2,
                                                           (odd[1], odd[3]): "1/2", (odd[2], odd[3]): "1/3"})})
    res = runner.invoke(app, ["model", "init", "--from-ahp", str(m), "--out", str(tmp_path / "o.toml")])
    assert res.exit_code in (0, 1), res.output
    model = load_model(tmp_path / "o.toml")
    assert [n.name for n in model.nodes.values()] == [ahp._label(x) for x in odd]
    assert set(model.rules) == {"D1", "D2", "D3", "D4"} and model.todo_rules == ["D1", "D2", "D3", "D4"]


def test_model_init_writes_a_model_from_inconsistent_judgments_but_says_so(tmp_path):
    m = expert_file(tmp_path / "m.xlsx", CYCLIC)
    res = runner.invoke(app, ["model", "init", "--from-ahp", str(m), "--out", str(tmp_path / "o.toml")])
    assert res.exit_code == 1, res.output
    assert "CR ≥ 0.10" in res.output
    text = (tmp_path / "o.toml").read_text(encoding="utf-8")
    assert "注意：总目标 的 CR ≥ 0.10" in text
    assert len(load_model(tmp_path / "o.toml").todo_rules) == 4


def test_bracketed_names_do_not_collide_when_mapped_onto_a_model(tmp_path):
    """A model whose indicators differ only inside brackets: its own template maps back onto it."""
    b = leader(tmp_path / "leader_b.xlsx", bracketed=True)
    cfg = tmp_path / "leader.toml"
    assert runner.invoke(app, ["model", "init", "--from-ahp", str(b), "--out", str(cfg)]).exit_code == 0
    tpl = tmp_path / "tpl.xlsx"
    assert runner.invoke(app, ["weights", "template", "--config", str(cfg), "--out", str(tpl)]).exit_code == 0
    wb = openpyxl.load_workbook(tpl)
    assert [c.value for c in wb["Education"][1]] == ["Education", "Tom (Education)", "Dick (Education)",
                                                     "Harry (Education)"]
    for ws in wb.worksheets[1:]:
        n = ws.max_column - 1
        for i in range(n):
            for j in range(i + 1, n):
                ws.cell(i + 2, j + 2).value = 1
    wb.save(tpl)
    res = runner.invoke(app, ["weights", "ahp", str(tpl), "--config", str(cfg), "--json", str(tmp_path / "w.json"),
                              "--config-out", str(tmp_path / "new.toml"), "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "Hierarchy: the model's (leader.toml)" in res.output and "compares other items" not in res.output
    data = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
    assert data["global"]["D2_1"] == pytest.approx(0.25 / 3) and data["global"]["D1_3"] == pytest.approx(0.25 / 3)
    new = load_model(tmp_path / "new.toml")
    assert [new.nodes[k].weight for k in ("D1", "D1_1", "D1_2", "D1_3")] == [0.25, 0.0834, 0.0833, 0.0833]
