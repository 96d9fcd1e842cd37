"""write_table renders its rows a column at a time (outputs.sheet_xml); the cells must be exactly
what writing them one by one through XlsxWriter (Workbook.write_cell) gives."""

from __future__ import annotations

import datetime as dt
import decimal
import math

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cluster_credit_cli.outputs import excel
from cluster_credit_cli.outputs.excel import Column, Workbook, write_table
from cluster_credit_cli.outputs.sheet_xml import _col_index

AWKWARD = [
    "plain", "中文名称有限公司", "=HYPERLINK(\"http://x\")", "+1", "-5", "@sum", "\tTab", "\rCR",
    " lead", "trail ", "a\nb\nc", "<tag> & \"q\" 'a'", "ctl\x01\x1f", "emoji 😀 𠀀", "_x0041_",
    "", "0", "1e5", "TRUE", "#N/A", "x" * 300, "长" * 120,
    0, 1, -1, 2 ** 53 + 1, 10 ** 20, 0.0, -0.0, 0.1 + 0.2, 1e-05, 1e16, 123456.789, -2.5,
    math.nan, math.inf, -math.inf, None, True, False, np.float64(3.25), np.int64(7), np.bool_(True),
    dt.date(2026, 11, 30), dt.datetime(2026, 11, 30, 8, 15), dt.datetime(2026, 1, 1),
    pd.Timestamp("2025-03-04"), pd.NaT, decimal.Decimal("1.10"), pd.NA,
]
KINDS = ["text", "int", "number", "percent", "date", "money"]


def _cells(ws) -> dict:
    out = {}
    for row in ws.iter_rows():
        for c in row:
            if c.value is None and not c.has_style:
                continue
            out[c.coordinate] = (c.value, c.data_type, c.number_format, c.quotePrefix, c.font.b,
                                 c.alignment.wrap_text, c.alignment.vertical, c.fill.fgColor.rgb)
    return out


def _reference(wb: Workbook, name: str, columns, rows, row_formats=None):
    """The table written cell by cell with Workbook.write_cell (what write_table did before)."""
    sheet = wb.book.add_worksheet(name)
    for j, c in enumerate(columns):
        sheet.write_string(0, j, c.header, wb.header_format())
    for i, row in enumerate(rows):
        extra = row_formats[i] if row_formats else None
        for j, v in enumerate(row):
            props = excel._cell_props(columns[j])
            fmt = wb.column_format(columns[j], **props) if extra is None else wb.column_format(
                columns[j], **props, **extra)
            wb.write_cell(sheet, 1 + i, j, v, fmt)


def _both(tmp_path, columns, rows, *, data=None, row_formats=None):
    path = tmp_path / "t.xlsx"
    with Workbook(path) as wb:
        if data is None:
            write_table(wb, "fast", columns, rows, row_formats=row_formats)
        else:
            write_table(wb, "fast", columns, data=data, row_formats=row_formats)
        _reference(wb, "ref", columns, rows, row_formats)
    book = openpyxl.load_workbook(path)
    return book["fast"], book["ref"]


def test_every_awkward_value_is_the_cell_write_cell_gives(tmp_path):
    columns = [Column(f"c{k}", kind) for k, kind in enumerate(KINDS)]
    rows = [[AWKWARD[(i + k * 7) % len(AWKWARD)] for k in range(len(KINDS))] for i in range(len(AWKWARD) * 2)]
    fast, ref = _both(tmp_path, columns, rows)
    assert _cells(fast) == _cells(ref)
    assert fast["A3"].value == AWKWARD[1]  # and not all blank: the comparison compares something
    formula_like = [c for c in fast["A"] if isinstance(c.value, str) and c.value.startswith("=")]
    assert formula_like and all(c.data_type == "s" and c.quotePrefix for c in formula_like)


def test_columns_as_data_are_the_same_cells_as_rows(tmp_path):
    frame = pd.DataFrame({
        "code": ["91A", "=cmd", None, "91A", "中"],
        "score": [1.5, math.nan, 3.0, -0.25, 1e16],
        "n": np.array([1, 2, 3, 4, 5], dtype=np.int64),
        "when": pd.to_datetime(["2026-01-02", None, "2026-03-04 05:06", "2026-01-02", "2026-01-02"], format="mixed"),
        "mixed": [1, "1", 1.0, True, None],
    })
    columns = [Column("code"), Column("score", "number"), Column("n", "int"), Column("when", "date"), Column("mixed")]
    rows = [list(r) for r in frame.astype(object).itertuples(index=False)]
    fast, ref = _both(tmp_path, columns, rows, data=[frame[c] for c in frame.columns])
    assert _cells(fast) == _cells(ref)
    assert [fast.cell(r, 5).value for r in range(2, 7)] == [1, "1", 1, True, None]
    assert fast["A2"].value == "91A" and fast["B3"].value is None


def test_row_formats_and_short_rows(tmp_path):
    columns = [Column("a"), Column("b", "number"), Column("c")]
    rows = [["x", 1.0, "y"], ["=z", 2.0, "w"], ["v", 3.0, "u"]]
    formats = [None, {"bold": True}, {"bg_color": "#FFC7CE"}]
    fast, ref = _both(tmp_path, columns, rows, row_formats=formats)
    assert _cells(fast) == _cells(ref)
    assert fast["A3"].font.b and fast["A4"].fill.fgColor.rgb.endswith("FFC7CE")
    path = tmp_path / "short.xlsx"
    with Workbook(path) as wb:
        write_table(wb, "s", columns, [["only"], ["a", 1.0, "c"], ["b", 2.0]])
    ws = openpyxl.load_workbook(path)["s"]
    assert [[c.value for c in r] for r in ws.iter_rows(min_row=2)] == [["only", None, None], ["a", 1, "c"],
                                                                       ["b", 2, None]]
    assert not ws["B2"].has_style  # a short row's missing cells are no cells at all


def test_widths_and_wrapped_row_heights(tmp_path):
    columns = [Column("code"), Column("sentence", width=20), Column("x", "number")]
    rows = [["A1", "短", 1.0], ["A2", "这是一个很长的句子，" * 6, 1234567.891], ["A3", "two\nlines", 2.0]]
    path = tmp_path / "w.xlsx"
    with Workbook(path) as wb:
        write_table(wb, "w", columns, rows)
    ws = openpyxl.load_workbook(path)["w"]
    assert ws.column_dimensions["B"].width == pytest.approx(20, abs=1)  # capped, wraps
    assert ws.column_dimensions["C"].width >= len("1,234,567.89") + 2
    assert ws.row_dimensions[3].height == pytest.approx(15 * excel.wrapped_lines(rows[1][1], 20), abs=0.5)
    assert ws.row_dimensions[4].height == pytest.approx(30, abs=0.5)
    assert ws.row_dimensions[2].height is None


def test_a_cell_or_height_written_over_the_table_afterwards_wins(tmp_path):
    columns = [Column("a"), Column("b"), Column("c", "number")]
    path = tmp_path / "o.xlsx"
    with Workbook(path) as wb:
        sheet, n = write_table(wb, "o", columns, [["x", "y", 1.0], ["p", "q", 2.0]])
        wb.write_cell(sheet, 2, 1, "Q!", wb.fmt(bold=True, bg_color="#C6EFCE"))
        wb.write_cell(sheet, 1, 3, "beyond", None)
        sheet.set_row(1, 40)
    ws = openpyxl.load_workbook(path)["o"]
    assert n == 2
    assert [[c.value for c in r] for r in ws.iter_rows(min_row=2)] == [["x", "y", 1, "beyond"], ["p", "Q!", 2, None]]
    assert ws["B3"].font.b and ws["B3"].fill.fgColor.rgb.endswith("C6EFCE")
    assert ws.row_dimensions[2].height == pytest.approx(40, abs=0.5)  # XlsxWriter keeps whole pixels


def test_a_cut_text_is_counted_per_cell(tmp_path):
    long = "字" * (excel.EXCEL_MAX_CHARS + 5)
    astral = "😀" * 20_000  # 20,000 characters but 40,000 UTF-16 units: over Excel's limit too
    path = tmp_path / "cut.xlsx"
    with Workbook(path) as wb:
        write_table(wb, "c", [Column("t")], [[long], [long], [astral], ["ok"]])
        assert wb.cut_cells == 3 and len(wb.truncated) == 1
    ws = openpyxl.load_workbook(path)["c"]
    for ref in ("A2", "A3", "A4"):
        text = ws[ref].value
        assert len(text.encode("utf-16-le")) // 2 <= excel.EXCEL_MAX_CHARS and "截断" in text
    assert ws["A5"].value == "ok"


def test_col_index():
    assert [_col_index(r) for r in ("A1", "Z9", "AA10", "AB2", "XFD1")] == [0, 25, 26, 27, 16383]


VALUES = st.one_of(
    st.text(max_size=30), st.sampled_from(AWKWARD), st.integers(-10 ** 18, 10 ** 18),
    st.floats(allow_nan=True, allow_infinity=True), st.none(), st.booleans(),
    st.dates(min_value=dt.date(1900, 3, 1)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(VALUES, min_size=3, max_size=3), min_size=1, max_size=12),
       st.lists(st.sampled_from(KINDS), min_size=3, max_size=3))
def test_any_values_any_kinds(tmp_path, rows, kinds):
    columns = [Column(f"h{j}", k) for j, k in enumerate(kinds)]
    fast, ref = _both(tmp_path, columns, rows)
    assert _cells(fast) == _cells(ref)


def test_rows_rendered_in_slices_are_the_same_cells(tmp_path, monkeypatch):
    monkeypatch.setattr(excel, "_RENDER_SLICE", 7)  # a 30-row table crosses four slices
    columns = [Column("a"), Column("b", "number"), Column("c", width=10)]
    rows = [[f"c{i}", i * 1.5, "长" * 40 if i % 5 == 0 else "=x"] for i in range(30)]
    fast, ref = _both(tmp_path, columns, rows)
    assert _cells(fast) == _cells(ref) and fast["A31"].value == "c29"
    tall = pytest.approx(15 * excel.wrapped_lines("长" * 40, 10), abs=0.5)
    assert [fast.row_dimensions[r].height for r in (2, 3, 7, 8, 27, 28)] == [tall, None, tall, None, tall, None]


def test_ratings_sheet_colours_graded_cells_only_whatever_an_ungraded_grade_holds(tmp_path):
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.outputs import rating_workbook

    ranked = pd.DataFrame({
        "rank": [1.0, np.nan, np.nan], "code": ["a", "b", "c"], "name": ["x", "y", "z"],
        "total_display": [90.0, np.nan, 50.0], "base": [80.0, 1.0, 50.0], "bonus": [10.0, 0.0, 0.0],
        "grade": ["AAA", float("nan"), None], "status": [[], ["vetoed"], []], "reasons": [[], ["r"], []],
        "missing": [[], [], ["m"]], "requested": [1.0, 2.0, 3.0], "quota": [1.0, 0.0, 0.0]})
    path = tmp_path / "r.xlsx"
    with Workbook(path) as wb:
        rating_workbook._ratings_sheet(wb, ranked, load_model(None), [], "zh")
    ws = openpyxl.load_workbook(path).active
    assert [ws.cell(r, 7).value for r in (2, 3, 4)] == ["AAA", None, None]
    assert ws["G2"].fill.fgColor.rgb.endswith("1B7837") and ws["G2"].font.b and ws["G2"].alignment.horizontal == "center"
    assert ws["G3"].fill.fgColor.rgb == "00000000" and ws["I4"].value == "m"
