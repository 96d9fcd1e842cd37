"""Attacks on write_table's block rendering (outputs.sheet_xml): what a hostile or unlucky table
does to it, compared with the same cells written one by one (tests/test_sheet_xml.py)."""

from __future__ import annotations

import re
import zipfile

import openpyxl

from cluster_credit_cli.outputs import excel
from cluster_credit_cli.outputs.excel import Column, Workbook, write_table

ANCHOR = re.compile(r"<xdr:(from|to)><xdr:col>(\d+)</xdr:col><xdr:colOff>(\d+)</xdr:colOff>"
                    r"<xdr:row>(\d+)</xdr:row><xdr:rowOff>(\d+)</xdr:rowOff>")


def _drawing_anchors(path) -> list[list[tuple]]:
    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if re.fullmatch(r"xl/drawings/drawing\d+\.xml", n))
        return [ANCHOR.findall(z.read(n).decode()) for n in names]


def test_a_chart_beside_wrapped_rows_is_anchored_as_over_rows_set_by_set_row(tmp_path):
    # The rows a long text wraps in are taller; a chart beside them must span fewer of them,
    # as it did when write_table gave those heights with set_row (XlsxWriter sizes objects
    # from the heights it knows).
    columns = [Column("name"), Column("note", width=12), Column("x", "number")]
    rows = [[f"n{i}", "很长的句子很长的句子很长的句子" * (i % 3), i * 1.5] for i in range(12)]
    path = tmp_path / "chart.xlsx"
    with Workbook(path) as wb:
        fast, _ = write_table(wb, "fast", columns, rows)
        ref = wb.book.add_worksheet("ref")
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                wb.write_cell(ref, 1 + i, j, v, wb.column_format(columns[j], **excel._cell_props(columns[j])))
            if i % 3:
                ref.set_row(1 + i, excel.ROW_PT * excel.wrapped_lines(row[1], 12))
        for sheet in (fast, ref):
            chart = wb.book.add_chart({"type": "column"})
            chart.add_series({"values": [sheet.name, 1, 2, 12, 2]})
            wb.insert_chart(sheet, 1, 4, chart)
    fast_anchor, ref_anchor = _drawing_anchors(path)
    assert ref_anchor[1][3] != "15"  # the reference's chart does end higher than over default rows
    assert fast_anchor == ref_anchor


def _sheet_values(path, sheet: int, col: str) -> list[str]:
    with zipfile.ZipFile(path) as z:
        xml = z.read(f"xl/worksheets/sheet{sheet}.xml").decode()
    return re.findall(rf'<c r="{col}\d+"[^>]*><v>([^<]*)</v>', xml)


def test_negative_and_positive_zero_in_one_numeric_column_keep_their_signs(tmp_path):
    # round(-0.001, 2) is -0.0: a numpy column holding it and 0.0 factorizes them as one value,
    # but write_cell writes '-0' for the one and '0' for the other.
    import numpy as np

    values = np.array([-0.0, 0.0, 1.5, 0.0, -0.0])
    path = tmp_path / "zero.xlsx"
    with Workbook(path) as wb:
        write_table(wb, "fast", [Column("x", "number")], data=[values])
        ref = wb.book.add_worksheet("ref")
        fmt = wb.column_format(Column("x", "number"), **excel._cell_props(Column("x", "number")))
        for i, v in enumerate(values.tolist()):
            wb.write_cell(ref, 1 + i, 0, v, fmt)
    assert _sheet_values(path, 2, "A") == ["-0", "0", "1.5", "0", "-0"]
    assert _sheet_values(path, 1, "A")[1:] == _sheet_values(path, 2, "A")


CELL = re.compile(r'<c r="([A-Z]+)(\d+)"([^>]*?)(?:/>|>(.*?)</c>)')


def _raw_cells(path, sheet: int) -> dict[tuple[str, int], tuple[str, str]]:
    """Each cell's attributes (style, type) and content as written: what openpyxl's reading hides
    (the sign of a zero, say)."""
    with zipfile.ZipFile(path) as z:
        xml = z.read(f"xl/worksheets/sheet{sheet}.xml").decode()
    return {(c, int(r)): (attrs.strip(), body or "") for c, r, attrs, body in CELL.findall(xml)}


def _numeric_columns():
    import numpy as np
    from hypothesis import strategies as st

    floats = st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 1.0]),
                      min_size=1, max_size=8)
    return st.one_of(
        floats.map(lambda v: np.array(v, dtype=np.float64)),
        floats.map(lambda v: np.array(v, dtype=np.float32)),
        st.lists(st.integers(-2 ** 63, 2 ** 63 - 1), min_size=1, max_size=8).map(lambda v: np.array(v, dtype=np.int64)),
        st.lists(st.integers(0, 2 ** 64 - 1), min_size=1, max_size=8).map(lambda v: np.array(v, dtype=np.uint64)),
    )


def test_numpy_columns_are_written_byte_for_byte_as_write_cell_writes_them(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_numeric_columns(), st.sampled_from(["number", "int", "percent", "text"]))
    def check(values, kind):
        path = tmp_path / "np.xlsx"
        col = Column("x", kind)
        with Workbook(path) as wb:
            write_table(wb, "fast", [col], data=[values])
            ref = wb.book.add_worksheet("ref")
            ref.write_string(0, 0, "x", wb.header_format())
            fmt = wb.column_format(col, **excel._cell_props(col))
            for i, v in enumerate(values):
                wb.write_cell(ref, 1 + i, 0, v, fmt)
        assert _raw_cells(path, 1) == _raw_cells(path, 2)

    check()


def test_a_comment_on_a_table_row_is_kept_with_the_row(tmp_path):
    path = tmp_path / "c.xlsx"
    with Workbook(path) as wb:
        sheet, _ = write_table(wb, "t", [Column("a"), Column("b", "number")], [["x", 1.0], ["y", 2.0]])
        sheet.write_comment(2, 0, "why")
    ws = openpyxl.load_workbook(path)["t"]
    assert [[c.value for c in r] for r in ws.iter_rows()] == [["a", "b"], ["x", 1], ["y", 2]]
    assert ws["A3"].comment.text == "why" and ws["A2"].comment is None


def test_a_table_wider_than_excel_is_refused_by_name_not_written_past_column_xfd(tmp_path):
    # XlsxWriter drops a cell beyond column XFD; the rendered rows held them, which Excel
    # reports as a damaged file. More columns than a sheet holds is a clear error instead.
    import pytest

    columns = [Column(f"h{j}") for j in range(excel.EXCEL_MAX_COLS + 1)]
    with pytest.raises(ValueError, match=r"wide: 16,385 columns; an Excel sheet holds 16,384"):
        with Workbook(tmp_path / "wide.xlsx") as wb:
            write_table(wb, "wide", columns, [["v"] * len(columns)])
    path = tmp_path / "fits.xlsx"
    with Workbook(path) as wb:
        write_table(wb, "fits", columns[:-1], [["v"] * (len(columns) - 1)])
    cells = _raw_cells(path, 1)
    assert ("XFD", 2) in cells and max(r for _c, r in cells) == 2


def test_mixed_python_numpy_and_pandas_values_are_written_byte_for_byte_as_write_cell_writes_them(tmp_path):
    import datetime as dt
    import decimal

    import numpy as np
    import pandas as pd
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from test_sheet_xml import AWKWARD, KINDS

    more = [-0.0, np.float64(-0.0), np.float32(-0.0), np.float32(0.1), np.int64(0), np.uint64(2 ** 64 - 1),
            2 ** 64, -(2 ** 70), np.datetime64("2026-01-02"), np.datetime64("NaT"), np.timedelta64(3, "D"),
            dt.timedelta(hours=5), dt.time(5, 6), pd.Timestamp("2026-01-02 03:04:05"), decimal.Decimal("-0"),
            b"=bytes", [1, "=x"], {"k": "<v>"}, (), 1 + 2j, "中\n文" * 3, "x" * 70, "Ａ全角", np.str_("=np")]
    values = st.sampled_from(AWKWARD + more)

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.lists(values, min_size=3, max_size=3), min_size=1, max_size=10),
           st.lists(st.sampled_from(KINDS), min_size=3, max_size=3), st.booleans())
    def check(rows, kinds, as_data):
        columns = [Column(f"h{j}", k) for j, k in enumerate(kinds)]
        path = tmp_path / "mixed.xlsx"
        with Workbook(path) as wb:
            if as_data:
                write_table(wb, "fast", columns, data=[[r[j] for r in rows] for j in range(3)])
            else:
                write_table(wb, "fast", columns, rows)
            ref = wb.book.add_worksheet("ref")
            for j, c in enumerate(columns):
                ref.write_string(0, j, c.header, wb.header_format())
            for i, row in enumerate(rows):
                for j, v in enumerate(row):
                    wb.write_cell(ref, 1 + i, j, v, wb.column_format(columns[j], **excel._cell_props(columns[j])))
        assert _raw_cells(path, 1) == _raw_cells(path, 2)

    check()
