"""Writing workbooks that are safe and pleasant to open.

All output workbooks go through ``Workbook``/``write_table`` here (XlsxWriter underneath):

* every string is written with ``write_string`` -- never as a formula -- and a string that Excel
  would otherwise treat as one (``=``, ``+``, ``-``, ``@``, tab, CR) also gets Excel's quote prefix,
  so an applicant named ``=HYPERLINK(...)`` shows exactly that text;
* real numbers stay numbers, dates are dates, NaN/None are blank cells;
* tables get a frozen header, an autofilter, number formats and widths that fit CJK text;
* every sheet gets the same page setup when the workbook closes (``Workbook.print_setup``, see
  "Printing" below): A4, orientation from the table's width, one page wide, header rows (and
  for reference sheets the code/name columns) repeated, a page header with the round's title and
  as-of date, a footer with the page number and the file name; charts placed where no page
  break cuts them.

CSV and Markdown outputs use ``escape_for_text_output`` for the same payloads.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from cluster_credit_cli.atomic import WriteOutcome, atomic_path
from cluster_credit_cli.outputs.sheet_xml import CELL_OPEN, BlockSheet

INJECTION_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CHARS = 32_767  # characters in one cell
EXCEL_MAX_COLS = 16_384  # columns in one sheet (A..XFD)


def is_injection(text: str) -> bool:
    return text.startswith(INJECTION_PREFIXES)


def escape_for_text_output(value: Any) -> Any:
    """CSV/Markdown: a string that a spreadsheet would run as a formula gets a leading quote.

    Numbers are returned unchanged, so ``-1.5`` written as a number stays a number.
    """
    if isinstance(value, str) and is_injection(value):
        return "'" + value
    return value


class _CharWidths(dict):
    """Each character's width, looked up once (a large workbook measures millions of characters)."""

    def __missing__(self, ch: str) -> int:
        w = self[ch] = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        return w


_CHAR_WIDTHS = _CharWidths()


def display_width(text: str) -> int:
    """Width in Excel character units: East Asian wide characters count two."""
    return sum(map(_CHAR_WIDTHS.__getitem__, text))


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is pd.NaT or value is pd.NA


@dataclass
class Column:
    """How one column of a table is written."""

    header: str
    kind: str = "text"  # text | int | number | percent | date | money
    decimals: int = 2
    width: float | None = None  # the most it may take; narrower when the content is narrower


NUM_FORMATS = {
    "int": "0",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
}


class _DiscardableFile:
    """A binary file whose writes become no-ops once ``discard`` is called (see ``Workbook``)."""

    def __init__(self, fh):
        self._fh = fh
        self._discarded = False
        self._pos = 0  # a plausible position after discard, so the zip's end record packs

    def write(self, data) -> int:
        if self._discarded:
            self._pos += len(data)
            return len(data)
        return self._fh.write(data)

    def flush(self) -> None:
        if not self._discarded:
            self._fh.flush()

    def discard(self) -> None:
        if self._discarded:
            return
        with contextlib.suppress(OSError, ValueError):
            self._pos = self._fh.tell()
        self._discarded = True
        with contextlib.suppress(OSError):
            self._fh.close()

    def close(self) -> None:
        if not self._discarded:
            self._fh.close()

    def seekable(self) -> bool:
        return True

    def seek(self, offset, whence=0):
        if not self._discarded:
            return self._fh.seek(offset, whence)
        self._pos = max(0, offset if whence == 0 else self._pos + offset if whence == 1 else self._pos)
        return self._pos

    def tell(self) -> int:
        return self._pos if self._discarded else self._fh.tell()

    def __getattr__(self, name):
        return getattr(self._fh, name)


class Workbook:
    """An XlsxWriter workbook with a shared set of formats; written atomically on ``close``."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._ctx = atomic_path(self.path)
        self._tmp, self._outcome = self._ctx.__enter__()
        # XlsxWriter gets a file object we own: after a failed write (disk full) the zip it left
        # open is told to discard, so its __del__ prints no "Exception ignored" traceback.
        self._fh = _DiscardableFile(open(self._tmp, "wb"))
        self.book = xlsxwriter.Workbook(
            self._fh,
            {
                # Belt and braces: never turn strings into formulas, URLs or numbers.
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "nan_inf_to_errors": False,
            },
        )
        self._formats: dict[tuple, Any] = {}
        self._props: dict[int, dict[str, Any]] = {}
        self.closed = False
        self.truncated: list[str] = []  # what did not fit, for the summary (see write_table)
        self.cut_cells = 0
        self.print_info = PrintInfo(title=self.path.stem)
        self._print: dict[int, SheetPrint] = {}

    def fmt(self, **props: Any):
        """A shared format; the same properties always give the same format object."""
        key = tuple(sorted(props.items()))
        if key not in self._formats:
            f = self.book.add_format(props)
            self._formats[key] = f
            self._props[id(f)] = props
        return self._formats[key]

    def header_format(self):
        return self.fmt(bold=True, bg_color="#DDEBF7", border=1, text_wrap=True, valign="vcenter")

    def column_format(self, col: Column, **extra: Any):
        props: dict[str, Any] = dict(extra)
        if col.kind == "int":
            props["num_format"] = "0"
        elif col.kind in ("number", "money"):
            props["num_format"] = "#,##0." + "0" * col.decimals if col.decimals else "#,##0"
        elif col.kind == "percent":
            props["num_format"] = "0." + "0" * col.decimals + "%" if col.decimals else "0%"
        elif col.kind == "date":
            props["num_format"] = "yyyy-mm-dd"
        elif col.kind == "datetime":
            props["num_format"] = "yyyy-mm-dd hh:mm:ss"
        return self.fmt(**props)

    def write_cell(self, sheet, row: int, col: int, value: Any, fmt=None) -> None:
        """Write one value with its real type; strings always as text."""
        # Fast paths for the common exact types (large sheets write millions of cells).
        tp = type(value)
        if tp is str and len(value) > EXCEL_MAX_CHARS // 2 and _utf16_len(value) > EXCEL_MAX_CHARS:
            value = self._cut(sheet, value)
        if tp is str:
            sheet.write_string(row, col, value, self._quoted(fmt) if value.startswith(INJECTION_PREFIXES) else fmt)
            return
        if tp is float and math.isfinite(value) or tp is int:
            sheet.write_number(row, col, value, fmt)
            return
        if _is_missing(value):
            sheet.write_blank(row, col, None, fmt)
        elif isinstance(value, bool):
            sheet.write_boolean(row, col, value, fmt)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                text = str(value)  # '-inf' starts like a formula: quoted like any such text
                sheet.write_string(row, col, text, self._quoted(fmt) if is_injection(text) else fmt)
            else:
                sheet.write_number(row, col, value, fmt)
        elif isinstance(value, (_dt.datetime, _dt.date)):
            sheet.write_datetime(row, col, value, self._dated(fmt, value))
        elif hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
            self.write_cell(sheet, row, col, value.item(), fmt)
        else:
            text = str(value)
            if len(text) > EXCEL_MAX_CHARS // 2 and _utf16_len(text) > EXCEL_MAX_CHARS:
                text = self._cut(sheet, text)
            sheet.write_string(row, col, text, self._quoted(fmt) if is_injection(text) else fmt)

    def _cut(self, sheet, text: str) -> str:
        """A text longer than an Excel cell holds, cut with a note saying so (never silently)."""
        from cluster_credit_cli.i18n import say

        note = say(f" ……[截断：共 {len(text):,} 字符，单元格最多 {EXCEL_MAX_CHARS:,} 字符，完整内容见 CSV/JSON]",
                   f" ……[cut: {len(text):,} characters, Excel holds {EXCEL_MAX_CHARS:,}; full text in the CSV/JSON]")
        self.cut_cells += 1
        if self.cut_cells == 1:
            self.truncated.append(say(f"{sheet.name}：超过 {EXCEL_MAX_CHARS:,} 字符的文字在工作簿中已截断（单元格内注明）",
                                      f"{sheet.name}: texts longer than {EXCEL_MAX_CHARS:,} characters were cut "
                                      "in the workbook (marked in the cell)"))
        keep = EXCEL_MAX_CHARS - len(note)
        while _utf16_len(text[:keep]) + _utf16_len(note) > EXCEL_MAX_CHARS:  # Excel counts UTF-16 units
            keep -= max(1, (_utf16_len(text[:keep]) + _utf16_len(note) - EXCEL_MAX_CHARS))
        return text[:keep] + note

    def _dated(self, fmt, value):
        """The format plus a date format when it has none: a date in a text column would show as a serial."""
        props = dict(self._props.get(id(fmt), {})) if fmt is not None else {}
        if "num_format" in props:
            return fmt
        timed = isinstance(value, _dt.datetime) and value.time() != _dt.time()
        props["num_format"] = NUM_FORMATS["datetime" if timed else "date"]
        return self.fmt(**props)

    def _quoted(self, fmt):
        """The same format plus Excel's quote prefix (the cell shows text, never runs it)."""
        props = dict(self._props.get(id(fmt), {})) if fmt is not None else {}
        props["quote_prefix"] = True
        return self.fmt(**props)

    def set_print_info(self, title: str, as_of: Any = None, lang: str = "zh") -> None:
        """What the page header of every sheet says: the round's title and its as-of date."""
        self.print_info = PrintInfo(title=title, as_of=as_of, lang=lang)

    def print_setup(self, sheet, **changes: Any) -> "SheetPrint":
        """The print settings of ``sheet`` (created on first use), updated with ``changes``."""
        spec = self._print.setdefault(id(sheet), SheetPrint())
        for k, v in changes.items():
            if not hasattr(spec, k):
                raise TypeError(f"unknown print setting {k!r}")
            setattr(spec, k, v)
        return spec

    def insert_chart(self, sheet, row: int, col: int, chart, *, x_scale: float = 1.0, y_scale: float = 1.0) -> int:
        """Place a chart at (row, col); on paper it never straddles a page break (see ``_apply_print``).

        Returns the first row below the chart (rows of the default height).
        """
        sheet.insert_chart(row, col, chart, {"x_scale": x_scale, "y_scale": y_scale, "object_position": 2})
        w_px, h_px = getattr(chart, "width", CHART_PX[0]), getattr(chart, "height", CHART_PX[1])  # after set_size
        w_pt, h_pt = w_px * x_scale * 0.75, h_px * y_scale * 0.75
        self.print_setup(sheet).charts.append((row, col, w_pt, h_pt))
        return row + math.ceil(h_pt / ROW_PT) + 1

    def write_note(self, sheet, row: int, first_col: int, last_col: int, text: str, fmt_props: dict | None = None) -> None:
        """A sentence across columns first_col..last_col (merged, wrapped, the row tall enough).

        Text left to overflow into empty cells would widen the printed page beyond the table.
        """
        props = {"text_wrap": True, "valign": "top", **(fmt_props or {})}
        line_pt = max(ROW_PT, props.get("font_size", 11) * 1.4)
        fmt = self.fmt(**props)
        if is_injection(text):
            fmt = self._quoted(fmt)
        if last_col > first_col:
            sheet.merge_range(row, first_col, row, last_col, "", fmt)
        sheet.write_string(row, first_col, text, fmt)
        units = sum(column_pts(sheet)[first_col:last_col + 1]) / 5.25
        lines = wrapped_lines(text, units * 11 / props.get("font_size", 11))
        if lines > 1 or line_pt > ROW_PT:
            sheet.set_row(row, line_pt * lines)

    def _apply_print(self) -> None:
        sheets = self.book.worksheets()
        for sheet in sheets:
            apply_page_setup(sheet, self.print_setup(sheet), self.print_info)
        # The sheets meant for the meeting are the selected ones: Excel's "print active sheets"
        # prints them; the reference sheets print only when asked for.
        paper = [s for s in sheets if self.print_setup(s).paper]
        if paper and len(paper) < len(sheets):
            paper[0].activate()
            for s in paper:
                s.select()

    def close(self) -> WriteOutcome:
        if not self.closed:
            self.closed = True
            try:
                self._apply_print()
                self.book.close()
                self._fh.close()
            except BaseException as exc:
                self._fh.discard()
                # XlsxWriter wraps the OSError (disk full, ...) in its FileCreateError.
                cause = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else None
                if cause is not None and not isinstance(exc, OSError):
                    exc = cause
                # The temporary goes; an OSError becomes an OutputError naming self.path.
                if self._ctx.__exit__(type(exc), exc, exc.__traceback__):
                    return WriteOutcome(self.path, self.path, "not written")
                raise
            self._ctx.__exit__(None, None, None)
            self._outcome[0].truncated.extend(self.truncated)
        return self._outcome[0]

    def abort(self) -> None:
        if not self.closed:
            self.closed = True
            self._fh.discard()
            try:
                self.book.close()
            except Exception:  # noqa: BLE001 - the temporary file is discarded anyway
                pass
            with contextlib.suppress(RuntimeError):
                self._ctx.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def __enter__(self) -> "Workbook":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_table(
    wb: Workbook,
    sheet_name: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]] | None = None,
    *,
    data: Sequence[Any] | None = None,
    title: str | None = None,
    row_formats: Sequence[Any] | None = None,
    cell_formats: dict[int, Sequence[Any]] | None = None,
    max_width: int = 60,
    autofilter: bool = True,
    overflow_note: str = "",
    paper: bool = True,
    repeat_cols: int = 0,
):
    """Write a table: optional title line, header, typed rows, frozen header, filter, widths.

    The cells come as ``rows`` (sequences, one per row) or as ``data`` (one sequence per column:
    lists, numpy arrays or pandas Series of equal length), which a large table should use: the
    rows are rendered a column and a distinct value at a time (see ``outputs.sheet_xml``).
    ``row_formats`` (one dict of extra format properties, or None, per row) styles whole rows;
    ``cell_formats`` ({column index: one such dict or None per row}) styles single cells (a
    grade's colour), on top of the column's and the row's format.

    Widths follow the content in display width, at most ``Column.width`` (or ``max_width``);
    text longer than that wraps. On paper the header row repeats on every page; ``paper=False``
    marks a reference sheet (not selected for printing) and ``repeat_cols`` leading columns
    (code, name) repeat on every printed page so a page of it still says whose row it is.

    Returns the worksheet and the number of data rows written. Rows beyond Excel's row limit
    are counted, not written: the last row says how many were left out (and ``overflow_note``,
    e.g. where the full list is), and the workbook's ``truncated`` list says it for the summary.
    """
    if len(columns) > EXCEL_MAX_COLS:  # XlsxWriter would drop the rest; the rendered rows would not
        raise ValueError(f"{sheet_name[:31]}: {len(columns):,} columns; an Excel sheet holds {EXCEL_MAX_COLS:,}")
    sheet = wb.book.add_worksheet(sheet_name[:31], worksheet_class=BlockSheet)
    r0 = 2 if title else 0
    hfmt = wb.header_format()
    widths = [header_width(c.header) for c in columns]
    for j, col in enumerate(columns):
        sheet.write_string(r0, j, col.header, hfmt)
    caps = [c.width or max_width for c in columns]
    cols, total = _table_columns(columns, rows, data)
    room = EXCEL_MAX_ROWS - (r0 + 1) - 1  # keep the last row for the note
    n = min(total, room)
    if n < total:
        cols = [c[:n] for c in cols]
        left = total - n
        note = (f"…… 另有 {left:,} 行未写入（Excel 最多 {EXCEL_MAX_ROWS:,} 行）/ {left:,} more rows not shown: "
                f"Excel holds {EXCEL_MAX_ROWS:,} rows" + (f"; {overflow_note}" if overflow_note else ""))
        sheet.write_string(r0 + 1 + n, 0, note, wb.fmt(bold=True, font_color="#C00000"))
        wb.truncated.append(f"{sheet.name}: {note}")
    if n:
        variants = [_row_variants(row_formats, (cell_formats or {}).get(j), n) for j in range(len(columns))]
        sheet.add_block(r0 + 1, len(columns) - 1,
                        _render_rows(wb, sheet, r0 + 1, columns, cols, variants, caps, widths))
    final = [min(max(widths[j], 6), caps[j]) for j in range(len(columns))]
    for j in range(len(columns)):
        sheet.set_column(j, j, final[j])
    head_lines = max([wrapped_lines(c.header, final[j]) for j, c in enumerate(columns)], default=1)
    if head_lines > 1:
        sheet.set_row(r0, ROW_PT * head_lines)
    if title:  # across the table, wrapped: a long title would otherwise widen the printed page
        wb.write_note(sheet, 0, 0, max(len(columns) - 1, 0), title, {"bold": True, "font_size": 13})
    sheet.freeze_panes(r0 + 1, 0)
    wb.print_setup(sheet, header_row=r0, paper=paper, repeat_cols=repeat_cols)
    if autofilter and columns:
        sheet.autofilter(r0, 0, r0 + max(n, 1), len(columns) - 1)
    return sheet, n


_ABSENT = object()  # a short row's missing cells: no cell at all (not a blank one)


def _table_columns(columns: Sequence[Column], rows, data) -> tuple[list[Any], int]:
    """The table's cells as one sequence per column, and the number of rows."""
    if data is not None:
        if rows is not None:
            raise TypeError("give rows or data, not both")
        cols = [_column_values(c) for c in data]
        lengths = {len(c) for c in cols}
        if len(cols) != len(columns) or len(lengths) > 1:
            raise ValueError(f"data: {len(cols)} columns of lengths {sorted(lengths)} for {len(columns)} headers")
        return cols, (lengths.pop() if lengths else 0)
    rows = [list(r) for r in (rows or ())]
    width = len(columns)
    if any(len(r) != width for r in rows):
        if any(len(r) > width for r in rows):
            raise ValueError(f"a row has more cells than the {width} columns")
        rows = [r + [_ABSENT] * (width - len(r)) for r in rows]
    if not rows:
        return [[] for _ in columns], 0
    return [list(c) for c in zip(*rows)], len(rows)


def _column_values(values: Any) -> Any:
    """A column as a numpy array (numbers) or a list of Python objects."""
    if isinstance(values, (pd.Series, pd.Index)):
        if isinstance(values.dtype, np.dtype) and values.dtype.kind in "fiu":  # not Int64: NA stays NA
            return values.to_numpy()
        return values.astype(object).tolist()
    if isinstance(values, np.ndarray):
        return values if values.dtype.kind in "fiu" else values.astype(object).tolist()
    return values if isinstance(values, list) else list(values)


def _row_variants(row_formats: Sequence[Any] | None, cell_formats: Sequence[Any] | None, n: int
                  ) -> list[tuple[dict[str, Any] | None, np.ndarray | None]]:
    """A column's rows grouped by their extra format (the row's, then the cell's): (extra props or
    None, the rows' positions or None for all)."""
    def at(seq, i):
        return seq[i] if seq is not None and i < len(seq) else None

    if (row_formats is None and cell_formats is None) or all(
            at(row_formats, i) is None and at(cell_formats, i) is None for i in range(n)):
        return [(None, None)]
    groups: dict[tuple, list[int]] = {}
    props: dict[tuple, dict[str, Any] | None] = {}
    for i in range(n):
        extra = {**(at(row_formats, i) or {}), **(at(cell_formats, i) or {})}
        key = tuple(sorted(extra.items()))
        groups.setdefault(key, []).append(i)
        props[key] = extra or None
    return [(props[k], np.array(v, dtype=np.intp)) for k, v in groups.items()]


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class _CellRenderer:
    """The XML of one column's cells, once per distinct value (see ``outputs.sheet_xml``).

    Each value becomes the tail of its ``<c>`` element (format, type and value; the reference
    is added per row) plus its display width and the lines it wraps to, by the same rules as
    ``Workbook.write_cell`` and the width measure below.
    """

    def __init__(self, wb: Workbook, sheet, col: Column, fmt, cap: float):
        self.wb, self.sheet, self.col, self.fmt, self.cap = wb, sheet, col, fmt, cap
        self.strings = sheet.str_table
        self._xf: dict[int, int] = {}

    def xf(self, fmt) -> int:
        x = self._xf.get(id(fmt))
        if x is None:
            x = self._xf[id(fmt)] = fmt._get_xf_index()
        return x

    def blank(self) -> tuple[str, int, int]:
        return f'" s="{self.xf(self.fmt)}"/>', 0, 1

    def text(self, value: str, width_of: str | None = None) -> tuple[str, int, int]:
        """A string cell: shared string, quote prefix for formula-like text, cut when too long."""
        text = value
        if len(text) > EXCEL_MAX_CHARS // 2 and _utf16_len(text) > EXCEL_MAX_CHARS:
            text = self.wb._cut(self.sheet, text)
        fmt = self.wb._quoted(self.fmt) if text.startswith(INJECTION_PREFIXES) else self.fmt
        idx = self.strings._get_shared_string_index(text)
        tail = f'" s="{self.xf(fmt)}" t="s"><v>{idx}</v></c>'
        if width_of is not None:  # not a string given: measured as the old writer did, no wrapping
            return tail, (len(width_of) if width_of.isascii() else display_width(width_of)) + 2, 1
        # ASCII is one unit a character (capitals wider: a tenth more); CJK two.
        w = len(value) + len(value) // 10 if value.isascii() else display_width(value)
        lines = wrapped_lines(value, self.cap) if w + 2 > self.cap or "\n" in value else 1
        return tail, w + 2, lines

    def number(self, value: float | int, fmt=None) -> tuple[str, int, int]:
        tail = f'" s="{self.xf(fmt or self.fmt)}"><v>{value:.16G}</v></c>'
        return tail, len(self._shown(value)) + 2, 1

    def _shown(self, value: Any) -> str:
        return f"{value:,.{self.col.decimals}f}" if isinstance(value, float) else str(value)

    def value(self, value: Any) -> tuple[str, int, int]:
        """Any value, dispatched as ``Workbook.write_cell`` does."""
        tp = type(value)
        if tp is str:
            return self.text(value)
        if tp is int or (tp is float and math.isfinite(value)):
            return self.number(value)
        if value is _ABSENT:
            return "", 0, 1
        if _is_missing(value):
            return self.blank()
        if isinstance(value, (bool, np.bool_)):
            tail = f'" s="{self.xf(self.fmt)}" t="b"><v>{1 if value else 0}</v></c>'
            return tail, len(str(bool(value))) + 2, 1
        if isinstance(value, (int, float)):
            if isinstance(value, float) and not math.isfinite(value):
                return self.text(str(value), width_of=self._shown(value))
            return self.number(value)
        if isinstance(value, (_dt.datetime, _dt.date)):
            serial = self.sheet._convert_date_time(value)
            return self.number(serial, self.wb._dated(self.fmt, value))[0], len(str(value)) + 2, 1
        if hasattr(value, "item"):  # a numpy scalar
            return self.value(value.item())
        text = str(value)
        return self.text(text, width_of=text)


def _column_cells(wb: Workbook, sheet, col: Column, fmt, cap: float, values: Any
                  ) -> tuple[np.ndarray, np.ndarray | None, int]:
    """One column's cell tails, the lines each row wraps to (None: all one) and the widest value."""
    render = _CellRenderer(wb, sheet, col, fmt, cap)
    n = len(values)
    if isinstance(values, np.ndarray) and values.dtype.kind == "f" and _signed_zeros(values):
        values = values.tolist()  # factorize takes -0.0 for 0.0; write_cell writes '-0' and '0'
    if isinstance(values, np.ndarray) or (n and _all_strings(values)):
        # Whole-column: each distinct value rendered once (NaN is -1: a blank cell).
        arr = values if isinstance(values, np.ndarray) else np.array(values, dtype=object)
        codes, uniques = pd.factorize(arr, use_na_sentinel=True)
        entries = [render.value(u.item() if hasattr(u, "item") else u) for u in uniques]
        if (codes < 0).any():
            codes = np.where(codes < 0, len(entries), codes)
            entries.append(render.blank())
        _count_repeats(wb, render, uniques, entries, codes)
        tails = np.array([e[0] for e in entries], dtype=object).take(codes)
        lines_u = np.array([e[2] for e in entries], dtype=np.int32)
        lines = lines_u.take(codes) if (lines_u > 1).any() else None
        return tails, lines, max((e[1] for e in entries), default=0)
    # Mixed types: a Python pass with a cache keyed by type and value (1, 1.0 and True differ).
    tails = np.empty(n, dtype=object)
    lines_l: list[int] | None = None
    widest = 0
    cache: dict[Any, tuple[str, int, int]] = {}
    for i, v in enumerate(values):
        if type(v) is str and len(v) <= EXCEL_MAX_CHARS // 2:
            key: Any = v
        elif type(v) in (int, float) and v == v and not (v == 0 and math.copysign(1.0, v) < 0):
            key = (type(v), v)
        else:
            key = None  # unhashable, NaN, -0.0, long text (each cut counted): not cached
        e = cache.get(key) if key is not None else None
        if e is None:
            e = render.value(v)
            if key is not None:
                cache[key] = e
        elif type(v) is str:
            render.strings.count += 1  # the shared-string table counts references too
        tails[i] = e[0]
        if e[1] > widest:
            widest = e[1]
        if e[2] > 1:
            if lines_l is None:
                lines_l = [1] * n
            lines_l[i] = e[2]
    return tails, (np.array(lines_l, dtype=np.int32) if lines_l is not None else None), widest


def _signed_zeros(values: np.ndarray) -> bool:
    """Both -0.0 and 0.0 in a float array."""
    zeros = values[values == 0]
    return bool(len(zeros)) and bool(np.signbit(zeros).any()) and not bool(np.signbit(zeros).all())


def _all_strings(values: Any) -> bool:
    from pandas.api.types import infer_dtype  # noqa: PLC0415

    return infer_dtype(values, skipna=False) == "string"


def _count_repeats(wb: Workbook, render: _CellRenderer, uniques: Any, entries: list, codes: np.ndarray) -> None:
    """What rendering each distinct value once did not count: string references, cut cells."""
    counts = np.bincount(codes, minlength=len(entries))
    for k in np.flatnonzero(counts > 1).tolist():
        if 't="s"' in entries[k][0]:
            render.strings.count += int(counts[k]) - 1  # the shared-string table counts references
            u = uniques[k] if k < len(uniques) else None
            if isinstance(u, str) and len(u) > EXCEL_MAX_CHARS // 2 and _utf16_len(u) > EXCEL_MAX_CHARS:
                wb.cut_cells += int(counts[k]) - 1


def _render_rows(wb: Workbook, sheet, first_row: int, columns: Sequence[Column], cols: list[Any],
                 variants, caps: list[float], widths: list[int]) -> list[str]:
    """The ``<row>`` elements of a table's data rows; ``widths`` grows to fit them."""
    n = len(cols[0]) if cols else 0
    ncols = len(columns)
    tails = [np.empty(n, dtype=object) for _ in range(ncols)]
    lines = np.ones(n, dtype=np.int32)
    for j, col in enumerate(columns):
        for extra, where in variants[j]:
            fmt = (wb.column_format(col, **_cell_props(col)) if extra is None
                   else wb.column_format(col, **{**_cell_props(col), **extra}))
            values = cols[j] if where is None else _take(cols[j], where)
            t, ln, widest = _column_cells(wb, sheet, col, fmt, caps[j], values)
            if where is None:
                tails[j] = t
            else:
                tails[j][where] = t
            if ln is not None:
                if where is None:
                    np.maximum(lines, ln, out=lines)
                else:
                    lines[where] = np.maximum(lines[where], ln)
            widths[j] = max(widths[j], widest)
    rownums = [str(r) for r in range(first_row + 1, first_row + n + 1)]
    opens = np.array([f'<row r="{r}">' for r in rownums], dtype=object)
    for i in np.flatnonzero(lines > 1).tolist():
        # As XlsxWriter's set_row writes it: whole pixels, in points. LibreOffice does not grow
        # rows for wrapped text on its own.
        px = int(ROW_PT * int(lines[i]) * 4.0 / 3.0 + 0.5)
        opens[i] = f'<row r="{rownums[i]}" ht="{px * 0.75:.16g}" customHeight="1">'
        # XlsxWriter sizes a chart or image from the heights it knows (set_row's): this one too.
        sheet.row_sizes[first_row + i] = [px, False]
    refs = np.array(rownums, dtype=object)
    absent = [tails[j] == "" for j in range(ncols)]
    out: list[str] = []
    # A slice of rows at a time: the pieces of a million-row sheet would take gigabytes at once.
    for a in range(0, n, _RENDER_SLICE):
        b = min(n, a + _RENDER_SLICE)
        parts = np.empty((b - a, 3 * ncols + 2), dtype=object)
        parts[:, 0] = opens[a:b]
        parts[:, -1] = "</row>"
        for j in range(ncols):
            start = CELL_OPEN + xl_col_to_name(j)
            gone = absent[j][a:b]
            if gone.any():
                parts[:, 1 + 3 * j] = np.where(gone, "", start)
                parts[:, 2 + 3 * j] = np.where(gone, "", refs[a:b])
            else:
                parts[:, 1 + 3 * j] = start
                parts[:, 2 + 3 * j] = refs[a:b]
            parts[:, 3 + 3 * j] = tails[j][a:b]
        out.extend(map("".join, parts.tolist()))
    return out


_RENDER_SLICE = 50_000


def _take(values: Any, where: np.ndarray) -> Any:
    if isinstance(values, np.ndarray):
        return values[where]
    return [values[i] for i in where.tolist()]


def _cell_props(col: Column) -> dict[str, Any]:
    """Cells align to the top; text wraps (a sentence wider than its column shows whole, on paper too)."""
    return {"valign": "top", "text_wrap": True} if col.kind == "text" else {"valign": "top"}


def wrapped_lines(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column ``width`` units wide (words do not split: a margin)."""
    room = max(width - 1.0, 1.0)
    lines = 0
    for part in text.split("\n"):
        # Measured in LibreOffice: a CJK character takes about 1.85 units, not 2; Latin text breaks
        # at words (about 15 % of a line lost). A long text gets one line of slack: rather a blank
        # line than a cut sentence.
        w = len(part) * 1.15 if part.isascii() else display_width(part) * 0.93
        n = max(1, math.ceil(w / room))
        lines += n + 1 if n > 2 else n
    return lines


def header_width(text: str) -> int:
    """Width a header needs: a long header wraps onto two lines (the header format wraps)."""
    full = display_width(text)
    if full <= 10:
        return full + 2
    longest_word = max((display_width(w) for w in text.split()), default=0) if text.isascii() else 0
    return max(math.ceil(full / 2) + 1, longest_word) + 2


# --- Printing ---------------------------------------------------------------------------------
#
# Applied to every worksheet when the workbook closes, so no writer can forget it. Sizes in
# points: a column of width w (Excel character units, Calibri 11) is 7w + 5 pixels, 0.75 pt each.

A4_PAPER = 9  # Excel's paper code
PAGE_PT = {"portrait": (595.3, 841.9), "landscape": (841.9, 595.3)}
MARGIN_IN = {"left": 0.35, "right": 0.35, "top": 0.75, "bottom": 0.7}
HEADER_IN = 0.3
ROW_PT = 15.0  # default row height
DEFAULT_COL_PX = 64  # a column left at Excel's default width
CHART_PX = (480, 288)  # XlsxWriter's default chart size
PORTRAIT_MIN_SCALE = 0.85  # wider than this allows in portrait: landscape


@dataclass
class PrintInfo:
    """What every page header says."""

    title: str = ""
    as_of: Any = None
    lang: str = "zh"


@dataclass
class SheetPrint:
    """How one sheet prints (see ``Workbook.print_setup``)."""

    header_row: int | None = None  # this row (and any title rows above it) repeats on every page
    repeat_cols: int = 0  # leading columns repeated on every page (reference sheets: code, name)
    paper: bool = True  # meant for the meeting: selected for printing
    orientation: str | None = None  # None: chosen from the width
    min_scale: float | None = None  # None: one page wide; else as many pages wide as this scale needs
    print_cols: int | None = None  # print only the first N columns (and the charts): helper columns stay off paper
    charts: list[tuple[int, int, float, float]] = field(default_factory=list)  # row, col, width pt, height pt


def printable_pt(orientation: str) -> tuple[float, float]:
    w, h = PAGE_PT[orientation]
    return (w - 72 * (MARGIN_IN["left"] + MARGIN_IN["right"]),
            h - 72 * (MARGIN_IN["top"] + MARGIN_IN["bottom"]))


def column_pts(sheet) -> list[float]:
    """The width of each used column in points (from the widths set on the sheet)."""
    info = getattr(sheet, "col_info", {}) or {}
    last = max([getattr(sheet, "dim_colmax", None) or 0, *info.keys()]) if info else (getattr(sheet, "dim_colmax", None) or 0)
    out = []
    for c in range(last + 1):
        entry = info.get(c)
        if entry is None:
            px = DEFAULT_COL_PX
        elif (entry.hidden if hasattr(entry, "hidden") else (len(entry) > 2 and entry[2])):
            px = 0
        elif hasattr(entry, "width"):  # XlsxWriter >= 3.2: pixels
            px = entry.width
        else:  # older: [width in characters, ...]
            px = int(entry[0] * 7 + 5) if entry[0] else 0
        out.append(px * 0.75)
    return out


def _print_area_cols(sheet, spec: SheetPrint) -> int | None:
    """The last column of the print area when ``print_cols`` limits it: far enough for every chart."""
    if not spec.print_cols:
        return None
    cols = column_pts(sheet)
    last = spec.print_cols - 1
    for _row, col, w, _h in spec.charts:
        x, c = 0.0, col
        while x < w:
            x += cols[c] if c < len(cols) else DEFAULT_COL_PX * 0.75
            c += 1
        last = max(last, c - 1)
    return last


def sheet_width_pt(sheet, spec: SheetPrint) -> float:
    cols = column_pts(sheet)
    last = _print_area_cols(sheet, spec)
    if last is not None:
        cols = (cols + [DEFAULT_COL_PX * 0.75] * (last + 1))[:last + 1]
    width = sum(cols)
    for _row, col, w, _h in spec.charts:
        left = sum(cols[:col]) + max(0, col - len(cols)) * DEFAULT_COL_PX * 0.75
        width = max(width, left + w)
    return width


def choose_orientation(width_pt: float) -> str:
    return "portrait" if width_pt * PORTRAIT_MIN_SCALE <= printable_pt("portrait")[0] else "landscape"


def print_scale(width_pt: float, orientation: str) -> float:
    """The scale that fitting the width onto one page gives (never above 100 %)."""
    return min(1.0, printable_pt(orientation)[0] / width_pt) if width_pt else 1.0


def _header_text(text: str) -> str:
    # '&' starts a code in Excel headers; 255 characters is Excel's limit for the whole header.
    return text.replace("&", "&&")[:80]


def apply_page_setup(sheet, spec: SheetPrint, info: PrintInfo) -> None:
    """A4, orientation from the width, one page wide, repeated titles, header and footer, chart breaks."""
    if getattr(sheet, "is_chartsheet", False):
        return
    width = sheet_width_pt(sheet, spec)
    orientation = spec.orientation or choose_orientation(width)
    sheet.set_paper(A4_PAPER)
    if orientation == "landscape":
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    sheet.set_margins(**MARGIN_IN)
    wide = 1
    if spec.min_scale:  # a wide form (the blank templates): readable type over several pages across
        wide = max(1, math.ceil(width * spec.min_scale / printable_pt(orientation)[0]))
    sheet.fit_to_pages(wide, 0)
    last = _print_area_cols(sheet, spec)
    if last is not None:
        rows = max([getattr(sheet, "dim_rowmax", None) or 0,
                    *(row + math.ceil(h / ROW_PT) + 1 for row, _c, _w, h in spec.charts)])
        sheet.print_area(0, 0, rows, last)
    if spec.header_row is not None:
        sheet.repeat_rows(0, spec.header_row)
    if spec.repeat_cols:
        sheet.repeat_columns(0, spec.repeat_cols - 1)
    en = info.lang == "en"
    as_of = info.as_of.isoformat() if hasattr(info.as_of, "isoformat") else (str(info.as_of) if info.as_of else "")
    right = (f"As of {as_of}" if en else f"评价基准日 {as_of}") if as_of else ""
    head = f"&L{_header_text(info.title)}&C&A" + (f"&R{_header_text(right)}" if right else "")
    sheet.set_header(head, {"margin": HEADER_IN})
    pages = "Page &P of &N" if en else "第 &P 页 共 &N 页"
    # &F: the file's name when printed (the workbook may be renamed or diverted after writing).
    sheet.set_footer(f"&L&F&R{pages}", {"margin": HEADER_IN})
    if spec.charts:
        breaks = chart_breaks(spec.charts, print_scale(width / wide, orientation), printable_pt(orientation)[1],
                              spec.header_row)
        if breaks:
            sheet.set_h_pagebreaks(breaks)


def chart_breaks(charts: list[tuple[int, int, float, float]], scale: float, page_h: float,
                 header_row: int | None = None) -> list[int]:
    """Rows to break before so that no chart straddles a page.

    Rows are taken at the default height (charts sit below or beside short tables); a chart
    that would end in the last tenth of a page starts the next one, for rows that grew when
    their text wrapped. A chart taller than a page is left where it is (it is cut anyway). The
    break goes one row above the chart.
    """
    usable = page_h * 0.9
    repeated = ((header_row or 0) + 1) * ROW_PT * scale if header_row is not None else 0.0
    breaks: list[int] = []
    page_top = 0
    for row, _col, _w, h in sorted(charts):
        top = (row - page_top) * ROW_PT * scale + (repeated if page_top else 0.0)
        if row > page_top + 1 and top + h * scale > usable and repeated + h * scale <= usable:
            # One row above the chart: LibreOffice draws an object that starts right at a break on
            # the page before as well (a hairline of its frame).
            breaks.append(row - 1)
            page_top = row - 1
    return breaks
