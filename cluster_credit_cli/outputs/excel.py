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

import xlsxwriter

from cluster_credit_cli.atomic import WriteOutcome, atomic_path

INJECTION_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CHARS = 32_767  # characters in one cell


def is_injection(text: str) -> bool:
    return text.startswith(INJECTION_PREFIXES)


def escape_for_text_output(value: Any) -> Any:
    """CSV/Markdown: a string that a spreadsheet would run as a formula gets a leading quote.

    Numbers are returned unchanged, so ``-1.5`` written as a number stays a number.
    """
    if isinstance(value, str) and is_injection(value):
        return "'" + value
    return value


def display_width(text: str) -> int:
    """Width in Excel character units: East Asian wide characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        import pandas as pd  # noqa: PLC0415 - only for NaT/NA detection

        return value is pd.NaT or value is pd.NA
    except ImportError:  # pragma: no cover
        return False


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

    def __init__(self, path: str | os.PathLike[str], *, constant_memory: bool = False):
        self.path = Path(path)
        self._ctx = atomic_path(self.path)
        self._tmp, self._outcome = self._ctx.__enter__()
        # XlsxWriter gets a file object we own: after a failed write (disk full) the zip it left
        # open is told to discard, so its __del__ prints no "Exception ignored" traceback.
        self._fh = _DiscardableFile(open(self._tmp, "wb"))
        self.book = xlsxwriter.Workbook(
            self._fh,
            {
                "constant_memory": constant_memory,
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
        if tp is str and len(value) > EXCEL_MAX_CHARS:
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
                sheet.write_string(row, col, str(value), fmt)
            else:
                sheet.write_number(row, col, value, fmt)
        elif isinstance(value, (_dt.datetime, _dt.date)):
            sheet.write_datetime(row, col, value, self._dated(fmt, value))
        elif hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
            self.write_cell(sheet, row, col, value.item(), fmt)
        else:
            text = str(value)
            if len(text) > EXCEL_MAX_CHARS:
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
        return text[:EXCEL_MAX_CHARS - len(note)] + note

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
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    row_formats: Sequence[Any] | None = None,
    max_width: int = 60,
    autofilter: bool = True,
    overflow_note: str = "",
    paper: bool = True,
    repeat_cols: int = 0,
):
    """Write a table: optional title line, header, typed rows, frozen header, filter, widths.

    Widths follow the content in display width, at most ``Column.width`` (or ``max_width``);
    text longer than that wraps. On paper the header row repeats on every page; ``paper=False``
    marks a reference sheet (not selected for printing) and ``repeat_cols`` leading columns
    (code, name) repeat on every printed page so a page of it still says whose row it is.

    Returns the worksheet and the number of data rows written. Rows beyond Excel's row limit
    are counted, not written: the last row says how many were left out (and ``overflow_note``,
    e.g. where the full list is), and the workbook's ``truncated`` list says it for the summary.
    """
    sheet = wb.book.add_worksheet(sheet_name[:31])
    r0 = 2 if title else 0
    streaming = getattr(wb.book, "constant_memory", False)  # rows are final once written: title first
    if title and streaming:
        sheet.write_string(0, 0, title, wb.fmt(bold=True, font_size=13))
    hfmt = wb.header_format()
    widths = [header_width(c.header) for c in columns]
    for j, col in enumerate(columns):
        sheet.write_string(r0, j, col.header, hfmt)
    col_formats = [wb.column_format(c, **_cell_props(c)) for c in columns]
    caps = [c.width or max_width for c in columns]
    seen: dict[str, int] = {}
    n = 0
    room = EXCEL_MAX_ROWS - (r0 + 1) - 1  # keep the last row for the note
    rows = iter(rows)
    for i, row in enumerate(rows):
        if i >= room:
            left = 1 + sum(1 for _ in rows)
            note = (f"…… 另有 {left:,} 行未写入（Excel 最多 {EXCEL_MAX_ROWS:,} 行）/ {left:,} more rows not shown: "
                    f"Excel holds {EXCEL_MAX_ROWS:,} rows" + (f"; {overflow_note}" if overflow_note else ""))
            sheet.write_string(r0 + 1 + i, 0, note, wb.fmt(bold=True, font_color="#C00000"))
            wb.truncated.append(f"{sheet.name}: {note}")
            break
        r = r0 + 1 + i
        extra = row_formats[i] if row_formats is not None else None
        lines = 1
        for j, value in enumerate(row):
            fmt = col_formats[j] if extra is None else wb.column_format(columns[j], **_cell_props(columns[j]), **extra)
            wb.write_cell(sheet, r, j, value, fmt)
            if type(value) is str:
                # A CJK character is at most two units wide: skip the exact measure when it cannot widen
                # the column nor wrap; ASCII is one unit per character; repeated CJK texts (names,
                # labels) are measured once.
                if 2 * len(value) + 2 > min(widths[j], caps[j]):
                    if value.isascii():
                        w = len(value) + len(value) // 10  # capitals are wider than the unit (a digit)
                    else:
                        w = seen.get(value)
                        if w is None:
                            w = display_width(value)
                            if len(seen) < 200_000:
                                seen[value] = w
                    widths[j] = max(widths[j], w + 2)
                    if w + 2 > caps[j] or "\n" in value:
                        lines = max(lines, wrapped_lines(value, caps[j]))
            elif not _is_missing(value):
                text = f"{value:,.{columns[j].decimals}f}" if isinstance(value, float) else str(value)
                # numbers, dates and booleans print in narrow characters: no per-character measure
                widths[j] = max(widths[j], (len(text) if text.isascii() else display_width(text)) + 2)
        if lines > 1:
            # LibreOffice does not grow rows for wrapped text on its own: give the height.
            sheet.set_row(r, ROW_PT * lines)
        n += 1
    final = [min(max(widths[j], 6), caps[j]) for j in range(len(columns))]
    for j in range(len(columns)):
        sheet.set_column(j, j, final[j])
    head_lines = max([wrapped_lines(c.header, final[j]) for j, c in enumerate(columns)], default=1)
    if head_lines > 1:
        sheet.set_row(r0, ROW_PT * head_lines)
    if title and not streaming:  # across the table, wrapped: a long title would otherwise widen the printed page
        wb.write_note(sheet, 0, 0, max(len(columns) - 1, 0), title, {"bold": True, "font_size": 13})
    sheet.freeze_panes(r0 + 1, 0)
    wb.print_setup(sheet, header_row=r0, paper=paper, repeat_cols=repeat_cols)
    if autofilter and columns:
        sheet.autofilter(r0, 0, r0 + max(n, 1), len(columns) - 1)
    return sheet, n


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
