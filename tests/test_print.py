"""Print-ready workbooks: the page setup of every sheet ccredit writes, and the printed result.

The xlsx-level tests read the page setup back with openpyxl (paper, orientation, fit, print
titles, header, footer, which sheets are selected for printing) for every workbook kind. The
LibreOffice test prints the sample round's workbooks to PDF as a person would and checks page
counts, sizes and type size per sheet, that every page of a main sheet carries all its columns,
and that no chart is cut by a page break. It skips, saying why, where LibreOffice is absent.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from cluster_credit_cli.cli import app
from cluster_credit_cli.i18n import t
from cluster_credit_cli.outputs.excel import chart_breaks

ROOT = Path(__file__).resolve().parent.parent
SURVEY = ROOT / "sample_data" / "4C满意度问卷.xlsx"
CODEBOOK = ROOT / "config" / "survey" / "4c_codebook.xlsx"
REFERENCE = {"指标明细", "数据来源", "数据冲突", "运行信息"}  # not meant for paper
NO_TABLE = {"说明"}  # the instructions of the AHP matrix template: text lines, no header row


def _ok(res, codes=(0, 1)):
    assert res.exit_code in codes, res.output
    return res


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("print")
    subprocess.run([sys.executable, str(ROOT / "sample_data" / "make_sample.py"), "--out", str(d)], check=True,
                   capture_output=True)
    run = CliRunner().invoke
    apps = str(d / "申报材料汇总.xlsx")
    db = str(d / "reg.db")
    out = {k: d / f"{k}.xlsx" for k in ("ratings", "check", "survey", "runs", "compare", "template", "matrices",
                                        "model")}
    _ok(run(app, ["score", apps, "--as-of", "2026-11-30", "-o", str(out["ratings"]), "--db", db, "-q",
                  "--sensitivity", "30", "--seed", "1"]))
    _ok(run(app, ["score", apps, "--as-of", "2026-12-31", "-o", str(d / "second.xlsx"), "--db", db, "-q"]))
    _ok(run(app, ["check", apps, "--as-of", "2026-11-30", "-o", str(out["check"]), "-q"]))
    _ok(run(app, ["survey", "tabulate", str(SURVEY), "--codebook", str(CODEBOOK), "-o", str(out["survey"]), "-q"]))
    _ok(run(app, ["runs", "--db", db, "-o", str(out["runs"]), "-q"]))
    _ok(run(app, ["compare", "--db", db, "-o", str(out["compare"]), "-q"]))
    _ok(run(app, ["template", "applicants", "-o", str(out["template"])]))
    _ok(run(app, ["weights", "template", "-o", str(out["matrices"])]))
    _ok(run(app, ["model", "export", str(out["model"])]))
    return out


def _sheets(path: Path):
    wb = openpyxl.load_workbook(path)
    return [(ws.title, ws) for ws in wb.worksheets]


@pytest.mark.parametrize("kind", ["ratings", "check", "survey", "runs", "compare", "template", "matrices", "model"])
def test_every_sheet_has_the_page_setup(outputs, kind):
    for title, ws in _sheets(outputs[kind]):
        where = f"{outputs[kind].name} / {title}"
        ps = ws.page_setup
        assert str(ps.paperSize) == "9", where  # A4
        assert ps.orientation in ("portrait", "landscape"), where
        assert ws.sheet_properties.pageSetUpPr.fitToPage, where
        # One page wide (the blank template: as many across as readable type needs), as many long as needed.
        assert (ps.fitToWidth in (None, 1) or kind == "template") and ps.fitToHeight == 0, where
        if title not in NO_TABLE:
            assert ws.print_title_rows, where  # the header repeats on every page
        header, footer = ws.oddHeader, ws.oddFooter
        assert header.left.text and header.center.text == "&A", where  # round's title · sheet name
        assert footer.left.text == "&F" and footer.right.text in ("第 &P 页 共 &N 页", "Page &P of &N"), where
        if kind in ("ratings", "check"):
            assert header.right.text == "评价基准日 2026-11-30", where
            assert header.left.text.startswith("横沥模具中小微企业综合信用评估 · "), where


def test_a_wide_blank_template_prints_across_pages_with_code_and_name_repeated(outputs):
    ws = _sheets(outputs["template"])[0][1]
    assert ws.page_setup.fitToWidth >= 2 and ws.print_title_cols == "$A:$B" and ws.print_title_rows == "$1:$2"


def test_the_meeting_sheets_are_selected_and_reference_sheets_repeat_code_and_name(outputs):
    sheets = dict(_sheets(outputs["ratings"]))
    assert sheets["评级结果"].page_setup.orientation == "landscape"
    for title, ws in sheets.items():
        selected = bool(ws.sheet_view.tabSelected)
        assert selected == (title not in REFERENCE), title
    assert sheets["指标明细"].print_title_cols == "$A:$B"  # code and name on every page
    assert sheets["数据冲突"].print_title_cols == "$A:$B"
    assert sheets["数据来源"].print_title_cols == "$A:$A"


def test_text_columns_wrap_with_room_for_their_lines(outputs):
    ws = dict(_sheets(outputs["check"]))["材料审核反馈"]
    conflicts_col = [c.value for c in ws[1]].index("需补充或更正")  # the longest sentences of the sheet
    letter = openpyxl.utils.get_column_letter(conflicts_col + 1)
    assert ws.column_dimensions[letter].width <= 41  # capped, not one 200-character line
    longest = max(range(2, ws.max_row + 1), key=lambda r: len(str(ws.cell(r, conflicts_col + 1).value or "")))
    cell = ws.cell(longest, conflicts_col + 1)
    assert cell.alignment.wrap_text and len(cell.value) > 60
    assert ws.row_dimensions[longest].height >= 15 * 4  # LibreOffice does not grow rows itself


def test_chart_breaks_start_a_page_only_for_a_chart_that_would_straddle_one():
    page_h = 700.0
    # A chart at row 10 (150 pt down) 216 pt tall fits: no break.
    assert chart_breaks([(10, 0, 360, 216)], 1.0, page_h) == []
    # At row 35 (525 pt) it would end at 741 pt, past the page: break before it.
    assert chart_breaks([(35, 0, 360, 216)], 1.0, page_h) == [34]  # a row above it
    # Two stacked charts: the second starts a new page, the third fits under it.
    assert chart_breaks([(2, 0, 360, 300), (24, 0, 360, 300), (45, 0, 360, 200)], 1.0, page_h) == [23]
    # At half scale everything is half as tall: nothing to break.
    assert chart_breaks([(35, 0, 360, 216)], 0.5, page_h) == []


# -- printed through LibreOffice ------------------------------------------------------------------------

def _soffice() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if not exe:
        pytest.skip("LibreOffice (soffice) is not installed: the printed-page checks need it "
                    "(apt-get install libreoffice-calc-nogui fonts-crosextra-carlito fonts-noto-cjk); "
                    "the xlsx-level page setup tests above still ran")
    fonts = subprocess.run(["fc-list"], capture_output=True, text=True).stdout if shutil.which("fc-list") else ""
    if "carlito" not in fonts.lower() and "calibri" not in fonts.lower():
        # Without a font of Calibri's widths LibreOffice lays the columns out wider: the type
        # sizes measured below would say nothing about Excel's pages.
        pytest.skip("no Calibri-compatible font (Carlito): apt-get install fonts-crosextra-carlito")
    return exe


@pytest.fixture(scope="module")
def printed(outputs, tmp_path_factory) -> dict[str, Path]:
    exe = _soffice()
    pypdf = pytest.importorskip("pypdf")  # noqa: F841
    d = tmp_path_factory.mktemp("pdf")
    kinds = ("ratings", "check", "survey")
    profile = d / "profile"
    res = subprocess.run([exe, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                          "--outdir", str(d), *(str(outputs[k]) for k in kinds)], capture_output=True, timeout=300)
    pdfs = {k: d / f"{k}.pdf" for k in kinds}
    if res.returncode != 0 or not all(p.is_file() for p in pdfs.values()):
        pytest.skip(f"LibreOffice could not print here: {res.stderr.decode(errors='replace')[-300:]}")
    return pdfs


def _pages(pdf: Path) -> list[dict]:
    """Per page: size, sheet (from the centre of the page header), text chunks with position and size."""
    import pypdf

    out = []
    for page in pypdf.PdfReader(str(pdf)).pages:
        chunks = []

        def visit(text, cm, tm, font, size, chunks=chunks):
            if text.strip():
                scale = (tm[0] ** 2 + tm[1] ** 2) ** 0.5 * (cm[0] ** 2 + cm[1] ** 2) ** 0.5
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                chunks.append((text.strip(), y, size * scale))

        page.extract_text(visitor_text=visit)
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        lines = page.extract_text().splitlines()
        out.append({"w": w, "h": h, "chunks": chunks, "head": lines[0] if lines else ""})
    return out


def _by_sheet(pages: list[dict], xlsx: Path) -> dict[str, list[dict]]:
    """Pages grouped by the sheet name printed in their header: title (left), sheet (centre, &A), date."""
    sheets = _sheets(xlsx)
    title = sheets[0][1].oddHeader.left.text
    names = sorted((n for n, _ in sheets), key=len, reverse=True)
    found: dict[str, list[dict]] = {}
    for p in pages:
        assert p["head"].startswith(title + " "), p["head"]
        rest = p["head"][len(title) + 1:]
        name = next((n for n in names if rest == n or rest.startswith(n + " ")), None)
        assert name, p["head"]
        found.setdefault(name, []).append(p)
    return found


def _body_sizes(page: dict) -> list[float]:
    margin = 40
    return [s for t, y, s in page["chunks"] if margin < y < page["h"] - margin]


def test_printed_rating_workbook(printed, outputs):
    sheets = _by_sheet(_pages(printed["ratings"]), outputs["ratings"])
    assert set(sheets) == {ws for ws, _ in _sheets(outputs["ratings"])}
    for name, pages in sheets.items():
        for p in pages:  # A4 everywhere
            assert {round(p["w"]), round(p["h"])} == {595, 842}, name
    ratings = sheets["评级结果"]
    assert len(ratings) <= 2 and all(p["w"] > p["h"] for p in ratings)  # at most 2 A4 landscape pages
    assert min(min(_body_sizes(p)) for p in ratings) >= 8.0  # type of at least 8 pt
    # No page of a main sheet splits its columns: every page has the first and the last header.
    books = dict(_sheets(outputs["ratings"]))
    for name in ("评级结果", "评价模型", "缺失材料", "问题清单"):
        ws = books[name]
        first, last = ws.cell(1, 1).value, ws.cell(1, ws.max_column).value
        for p in sheets[name]:
            text = " ".join(c[0] for c in p["chunks"] if 45 < c[1] < p["h"] - 45)  # not the page header
            assert first in text and last.split("（")[0] in text, (name, first, last)
    assert len(sheets["等级分布"]) == 1 and len(sheets["评价模型"]) <= 2 and len(sheets["缺失材料"]) == 1
    assert len(sheets["问题清单"]) <= 2
    # Reference sheets stay readable: type of at least 7 pt.
    for name in ("指标明细", "数据来源"):
        assert min(min(_body_sizes(p)) for p in sheets[name]) >= 7.0, name
    _charts_whole(sheets["等级分布"], t("chart.grades", "zh"), ["AAA", "AA", "A", "BBB", "BB", "B"])


def test_printed_check_feedback(printed, outputs):
    sheets = _by_sheet(_pages(printed["check"]), outputs["check"])
    feedback = sheets["材料审核反馈"]
    assert len(feedback) <= 6
    ws = dict(_sheets(outputs["check"]))["材料审核反馈"]
    headers = [c.value for c in ws[1]]
    for p in feedback:  # the action column is on every page, beside the others
        text = " ".join(c[0] for c in p["chunks"])
        assert all(h in text for h in headers), headers
        assert min(_body_sizes(p)) >= 8.0


def test_printed_survey_charts_are_never_cut(printed, outputs):
    sheets = _by_sheet(_pages(printed["survey"]), outputs["survey"])
    likert = sheets["量表统计"]
    for p in likert:
        assert p["w"] < p["h"]  # the table fits a portrait page: charts below it, not beside it
    wb = openpyxl.load_workbook(outputs["survey"])
    ws = wb["量表统计"]
    items = {}
    for r in range(2, ws.max_row + 1):
        dim, item = ws.cell(r, 1).value, ws.cell(r, 2).value
        if dim and item and item != "维度得分":
            items.setdefault(dim, []).append(item)
    _charts_whole(likert, "维度均值雷达图", list(items))
    for dim, labels in items.items():
        _charts_whole(likert, f"{dim} — 题项均值", labels)


def _charts_whole(pages: list[dict], title: str, labels: list[str]) -> None:
    """The chart titled ``title`` is on one page, and all its category labels are on that page below it."""
    hits = [(i, y) for i, p in enumerate(pages) for t, y, _ in p["chunks"] if t == title and 45 < y < p["h"] - 45]
    assert len(hits) == 1, (title, hits)
    page, y_title = hits[0]
    below = [t for t, y, _ in pages[page]["chunks"] if y < y_title]
    for label in labels:
        assert any(label == t or label in t for t in below), (title, label)


def test_every_chart_goes_through_workbook_insert_chart():
    """Workbook.insert_chart is what keeps a chart off a page break; a direct XlsxWriter call would not."""
    package = ROOT / "cluster_credit_cli"
    direct = [f"{p.relative_to(ROOT)}:{i}" for p in package.rglob("*.py") if p.name != "excel.py"
              for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
              if ".insert_chart(" in line and "wb.insert_chart(" not in line]
    assert not direct, direct
