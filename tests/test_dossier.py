"""``ccredit report``: the credit report per enterprise, checked against the round's JSON.

The PDF's text is extracted (pypdf) page by page; each report's pages are found by the firm's
code in the running header. Three firms: one graded, one vetoed, one with materials missing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cluster_credit_cli.cli import app

pypdf = pytest.importorskip("pypdf")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def round_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("round")
    subprocess.run([sys.executable, str(ROOT / "sample_data" / "make_sample.py"), "--out", str(d)], check=True,
                   capture_output=True)
    res = CliRunner().invoke(app, ["score", str(d / "申报材料汇总.xlsx"), "--as-of", "2026-11-30",
                                   "--out", str(d / "ratings.xlsx"), "--json", str(d / "result.json"),
                                   "--db", str(d / "reg.db"), "-q"])
    assert res.exit_code == 1, res.output  # the sample carries deliberate problems
    return d


@pytest.fixture(scope="module")
def data(round_dir) -> dict:
    return json.loads((round_dir / "result.json").read_text(encoding="utf-8"))


def _three(data) -> tuple[dict, dict, dict]:
    ents = data["enterprises"]
    graded = next(e for e in ents if e["grade"] and e["rank"] == 1)
    vetoed = next(e for e in ents if any(s.startswith("veto:") for s in e["status"]))
    incomplete = next(e for e in ents if e["status"] == ["incomplete"])
    return graded, vetoed, incomplete


def _pages_by_firm(pdf: Path) -> dict[str, list[str]]:
    """code → the text of each page whose running header names that firm."""
    out: dict[str, list[str]] = {}
    for page in pypdf.PdfReader(str(pdf)).pages:
        text = page.extract_text()
        head = text.splitlines()[:3]
        for line in head:
            parts = line.split()
            if len(parts) >= 2 and len(parts[-1]) == 18 and parts[-1].isalnum():
                out.setdefault(parts[-1], []).append(text)
                break
    return out


def _num(x: float | None, d: int = 2) -> str:
    return "—" if x is None else f"{x:,.{d}f}"


def test_report_sections_match_the_round_json(round_dir, data):
    graded, vetoed, incomplete = _three(data)
    out = round_dir / "three.pdf"
    codes = ",".join(e["code"] for e in (graded, vetoed, incomplete))
    res = CliRunner().invoke(app, ["report", str(round_dir / "result.json"), "--codes", codes, "--out", str(out),
                                   "--db", str(round_dir / "reg.db")])
    assert res.exit_code == 0, res.output
    assert "共 3 家企业的信用评价报告" in res.output
    pages = _pages_by_firm(out)
    assert set(pages) == {graded["code"], vetoed["code"], incomplete["code"]}
    n_graded = sum(1 for e in data["enterprises"] if e["grade"])
    weights = data["effective_weights"]
    reader = pypdf.PdfReader(str(out))
    # The table of contents first, listing the three firms in the round's order.
    toc = reader.pages[0].extract_text()
    assert "目录" in toc and all(e["name"] in toc for e in (graded, vetoed, incomplete))
    # The model, as-of date and config hash on every page.
    for page in reader.pages:
        text = page.extract_text()
        assert data["config_hash"][:16] in text and "评价基准日 2026-11-30" in text and data["model"] in text
    for e in (graded, vetoed, incomplete):
        text = "\n".join(pages[e["code"]])
        assert 1 <= len(pages[e["code"]]) <= 2, (e["code"], len(pages[e["code"]]))
        assert "企业信用评价报告" in text and f"{e['name']}（{e['code']}）" in text
        for section in ("一、企业基本信息", "二、评价结论", "三、维度得分", "四、指标明细", "五、准入资格与否决",
                        "六、缺失材料与数据冲突", "七、评级历史与贷后预警"):
            assert section in text
        rank = f"{e['rank']} / {n_graded}" if e["rank"] else "—"
        verdict = (f"{e['grade'] or '未评级'} {rank} "
                   f"{_num(e['total'])} {_num(e['base'])} {_num(e['bonus'])} {_num(e['requested'], 0)} "
                   f"{_num(e['quota'], 0)}")
        assert verdict in text, verdict
        for dim in ("D1", "D2", "D3", "D4"):
            assert _num(e["dimensions"][dim]) in text
        for key, score in e["scores"].items():
            # key, label, input, score, effective weight, points on one line of the indicator table
            line = next((ln for ln in text.splitlines() if ln.startswith(key + " ")), None)
            assert line is not None, key
            assert f" {_num(score, 0)} {weights[key]:.4f} {_num(weights[key] * score if score is not None else None)}" in line, line
        # Sources name the file, sheet and row of the value a leaf used.
        assert re.search(r"\.xlsx / Sheet1 / 第\d+行", text)
        # The register's history of this firm: one run, this one.
        assert "#1 2026-11-30" in text
    assert "符合准入条件，无否决事项。" in "\n".join(pages[graded["code"]])
    vet = "\n".join(pages[vetoed["code"]])
    assert all(r in vet.replace("\n", "") for r in vetoed["reasons"])
    assert "符合准入条件" not in vet
    inc = "\n".join(pages[incomplete["code"]]).replace("\n", "")
    assert incomplete["missing"] and all(m in inc for m in incomplete["missing"])
    assert "材料齐全" not in inc


def test_report_embeds_its_font_and_needs_none_on_the_machine(round_dir, data):
    graded, _, _ = _three(data)
    out = round_dir / "one.pdf"
    res = CliRunner().invoke(app, ["report", str(round_dir / "result.json"), "--codes", graded["code"], "-o", str(out)])
    assert res.exit_code == 0, res.output
    reader = pypdf.PdfReader(str(out))
    fonts = []
    for page in reader.pages:
        for f in page["/Resources"]["/Font"].values():
            f = f.get_object()
            desc = f["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            fonts.append((f["/BaseFont"], "/FontFile2" in desc, "/ToUnicode" in f))
    assert fonts and all(embedded and to_unicode for _, embedded, to_unicode in fonts)
    assert all("+NotoSansCJKSC" in name for name, _, _ in fonts)  # a subset (XXXXXX+ prefix) of the shipped font
    # With no register given the history section says so.
    assert "未提供评级登记簿" in reader.pages[-1].extract_text().replace("\n", "") or \
        "未提供评级登记簿" in "".join(p.extract_text() for p in reader.pages).replace("\n", "")


def test_report_split_english_from_the_applicants_file(round_dir, data):
    graded, vetoed, _ = _three(data)
    folder = round_dir / "each"
    res = CliRunner().invoke(app, ["report", str(round_dir / "申报材料汇总.xlsx"), "--as-of", "2026-11-30", "--split",
                                   "--lang", "en", "--codes", f"{graded['code']},{vetoed['code']}", "-o", str(folder)])
    assert res.exit_code == 0, res.output
    files = sorted(folder.glob("*.pdf"))
    assert [f.name.split("_")[0] for f in files] == sorted([graded["code"], vetoed["code"]])
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(str(folder / files[0].name)).pages)
    assert "Enterprise credit report" in text and "1. Identity" in text and "4. Indicators" in text
    assert "As of 2026-11-30" in text


def test_report_refuses_a_changed_input_or_an_unknown_code(round_dir, tmp_path):
    copy = tmp_path / "r"
    shutil.copytree(round_dir, copy, ignore=shutil.ignore_patterns("*.pdf", "each"))
    # The round moved to another folder: its recorded paths are gone, the files beside the JSON are used.
    moved = json.loads((copy / "result.json").read_text(encoding="utf-8"))
    for item in moved["inputs"]:
        item["path"] = str(tmp_path / "gone" / Path(item["path"]).name)
    (copy / "result.json").write_text(json.dumps(moved, ensure_ascii=False), encoding="utf-8")
    res = CliRunner().invoke(app, ["report", str(copy / "result.json"), "--codes", moved["enterprises"][0]["code"],
                                   "-o", str(copy / "ok.pdf")])
    assert res.exit_code == 0 and (copy / "ok.pdf").is_file(), res.output
    res = CliRunner().invoke(app, ["report", str(copy / "result.json"), "--codes", "91441900XXXXXXXXXX", "-o",
                                   str(copy / "x.pdf")])
    assert res.exit_code == 2 and "91441900XXXXXXXXXX" in res.output
    with open(copy / "行业协会评价.xlsx", "ab") as fh:
        fh.write(b"\0")
    res = CliRunner().invoke(app, ["report", str(copy / "result.json"), "-o", str(copy / "x.pdf")])
    assert res.exit_code == 2, res.output
    assert "行业协会评价.xlsx" in res.output and "SHA-256" in res.output
    assert not (copy / "x.pdf").exists()


def test_a_character_outside_the_embedded_font_is_named(round_dir, data, tmp_path, monkeypatch):
    import openpyxl

    from cluster_credit_cli.dossier import pdf as render

    folder = tmp_path / "rare"
    shutil.copytree(round_dir, folder, ignore=shutil.ignore_patterns("*.pdf", "each", "*.json", "*.db"))
    wb = openpyxl.load_workbook(folder / "申报材料汇总.xlsx")
    ws = wb.active
    head_row = next(r for r in range(1, 10) if "统一社会信用代码" in [c.value for c in ws[r]])
    header = [c.value for c in ws[head_row]]
    row = next(r for r in range(head_row + 1, ws.max_row + 1)
               if ws.cell(r, 1 + header.index("统一社会信用代码")).value == data["enterprises"][0]["code"])
    ws.cell(row, 1 + header.index("法定代表人")).value = "王堃"  # 堃: common in names, not in GB 2312
    wb.save(folder / "申报材料汇总.xlsx")
    monkeypatch.setattr(render, "SYSTEM_FALLBACKS", ())  # a machine with no CJK font of its own
    res = CliRunner().invoke(app, ["report", str(folder / "申报材料汇总.xlsx"), "--as-of", "2026-11-30",
                                   "--codes", data["enterprises"][0]["code"], "-o", str(folder / "r.pdf")])
    assert res.exit_code == 0, res.output
    assert "警告：内置字体及本机字体均无法显示这些字符：堃；报告中显示为 □" in res.output
    assert "王□" in pypdf.PdfReader(str(folder / "r.pdf")).pages[1].extract_text()  # a visible gap, not dropped
    # Where the machine has a CJK font that draws it, it is used and nothing is said.
    monkeypatch.undo()
    if any(Path(p).is_file() for p, _ in render.SYSTEM_FALLBACKS):
        res = CliRunner().invoke(app, ["report", str(folder / "申报材料汇总.xlsx"), "--as-of", "2026-11-30",
                                       "--codes", data["enterprises"][0]["code"], "-o", str(folder / "r2.pdf")])
        assert res.exit_code == 0 and "警告" not in res.output, res.output


def test_report_shows_the_monitoring_alerts_of_a_firm(round_dir, data, tmp_path):
    from cluster_credit_cli.register.monitor import ALERT_KEYS

    graded, _, _ = _three(data)
    alert = {"code": graded["code"], "name": graded["name"], "grade_then": graded["grade"], "grade_now": None,
             "events": [], "reasons": ["社会信用系统新增记录：严重失信（东信(2026)3号）"]}
    assert set(alert) == set(ALERT_KEYS)
    monitor = tmp_path / "monitor.json"
    monitor.write_text(json.dumps({"run_id": 1, "alerts": [alert], "watch": []}, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "a.pdf"
    res = CliRunner().invoke(app, ["report", str(round_dir / "result.json"), "--codes", graded["code"],
                                   "--alerts", str(monitor), "--db", str(round_dir / "reg.db"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = "".join(p.extract_text() for p in pypdf.PdfReader(str(out)).pages).replace("\n", "")
    assert "贷后预警" in text and "严重失信（东信(2026)3号）" in text and f"{graded['grade']} → —" in text
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    res = CliRunner().invoke(app, ["report", str(round_dir / "result.json"), "--codes", graded["code"],
                                   "--alerts", str(bad), "-o", str(tmp_path / "b.pdf")])
    assert res.exit_code == 2 and "bad.json" in res.output


def test_history_over_two_rounds_and_grade_moves(round_dir, data, tmp_path):
    from cluster_credit_cli.dossier.pdf import _change

    graded, _, _ = _three(data)
    db = tmp_path / "two.db"
    for day in ("2026-06-30", "2026-11-30"):
        res = CliRunner().invoke(app, ["score", str(round_dir / "申报材料汇总.xlsx"), "--as-of", day, "--db", str(db),
                                       "-o", str(tmp_path / f"{day}.xlsx"), "-q"])
        assert res.exit_code == 1, res.output
    out = tmp_path / "h.pdf"
    res = CliRunner().invoke(app, ["report", str(round_dir / "result.json"), "--codes", graded["code"], "--db", str(db),
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(str(out)).pages)
    assert f"#1 2026-06-30 {graded['grade']} —" in text and f"#2 2026-11-30 {graded['grade']} 持平" in text
    grades = ["AAA", "AA", "A", "BBB"]
    assert _change({"grade": "AA"}, {"grade": "A"}, grades, "zh") == "↓ 降级"
    assert _change({"grade": "A"}, {"grade": "AAA"}, grades, "en") == "↑ up"
    assert _change({"grade": "A"}, {"grade": None}, grades, "zh") == "↓ 未评级"
    assert _change({"grade": None}, {"grade": "A"}, grades, "zh") == "新评级"


def test_report_renders_the_same_on_a_machine_without_any_font(round_dir, data, tmp_path):
    """poppler with an empty font configuration (no font at all) draws the same pixels: nothing is borrowed."""
    if not shutil.which("pdftoppm"):
        pytest.skip("poppler-utils (pdftoppm) is not installed: apt-get install poppler-utils")
    graded, _, _ = _three(data)
    out = tmp_path / "f.pdf"
    res = CliRunner().invoke(app, ["report", str(round_dir / "result.json"), "--codes", graded["code"], "-o", str(out)])
    assert res.exit_code == 0, res.output
    conf = tmp_path / "fonts.conf"
    conf.write_text('<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
                    f'<cachedir>{tmp_path / "fc-cache"}</cachedir></fontconfig>', encoding="utf-8")
    import os

    pngs = []
    for name, env in (("with", dict(os.environ)), ("without", {**os.environ, "FONTCONFIG_FILE": str(conf)})):
        subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "2", "-l", "2", str(out), str(tmp_path / name)],
                       check=True, env=env, capture_output=True)
        pngs.append(next(tmp_path.glob(f"{name}*.png")).read_bytes())
    assert pngs[0] == pngs[1]
    from PIL import Image  # fpdf2 depends on Pillow

    im = Image.open(next(tmp_path.glob("without*.png"))).convert("L")
    assert sum(im.histogram()[:128]) > 2000  # text and tables were drawn, not a blank page
