"""Writing workbooks that are safe and pleasant to open.

All output workbooks go through ``Workbook``/``write_table`` here (XlsxWriter underneath):

* every string is written with ``write_string`` -- never as a formula -- and a string that Excel
  would otherwise treat as one (``=``, ``+``, ``-``, ``@``, tab, CR) also gets Excel's quote prefix,
  so an applicant named ``=HYPERLINK(...)`` shows exactly that text;
* real numbers stay numbers, dates are dates, NaN/None are blank cells;
* tables get a frozen header, an autofilter, number formats and widths that fit CJK text.

CSV and Markdown outputs use ``escape_for_text_output`` for the same payloads.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
    width: float | None = None


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
        note = (f" ……[截断：共 {len(text):,} 字符，完整内容见 CSV/JSON / cut: {len(text):,} characters, Excel holds "
                f"{EXCEL_MAX_CHARS:,}; full text in the CSV/JSON]")
        self.cut_cells += 1
        if self.cut_cells == 1:
            self.truncated.append(f"{sheet.name}: texts longer than {EXCEL_MAX_CHARS:,} characters were cut "
                                  "in the workbook (marked in the cell)")
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

    def close(self) -> WriteOutcome:
        if not self.closed:
            self.closed = True
            try:
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
):
    """Write a table: optional title line, header, typed rows, frozen header, filter, widths.

    Returns the worksheet and the number of data rows written. Rows beyond Excel's row limit
    are counted, not written: the last row says how many were left out (and ``overflow_note``,
    e.g. where the full list is), and the workbook's ``truncated`` list says it for the summary.
    """
    sheet = wb.book.add_worksheet(sheet_name[:31])
    r0 = 0
    if title:
        sheet.write_string(0, 0, title, wb.fmt(bold=True, font_size=13))
        r0 = 2
    hfmt = wb.header_format()
    widths = [display_width(c.header) + 2 for c in columns]
    for j, col in enumerate(columns):
        sheet.write_string(r0, j, col.header, hfmt)
    col_formats = [wb.column_format(c) for c in columns]
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
        for j, value in enumerate(row):
            fmt = col_formats[j] if extra is None else wb.column_format(columns[j], **extra)
            wb.write_cell(sheet, r, j, value, fmt)
            if type(value) is str:
                # A CJK character is at most two units wide: skip the exact measure when it cannot widen;
                # ASCII is one unit per character; repeated CJK texts (names, labels) are measured once.
                if 2 * len(value) + 2 > widths[j]:
                    if value.isascii():
                        w = len(value)
                    else:
                        w = seen.get(value)
                        if w is None:
                            w = display_width(value)
                            if len(seen) < 200_000:
                                seen[value] = w
                    widths[j] = max(widths[j], w + 2)
            elif not _is_missing(value):
                text = f"{value:,.{columns[j].decimals}f}" if isinstance(value, float) else str(value)
                widths[j] = max(widths[j], display_width(text) + 2)
        n += 1
    for j, col in enumerate(columns):
        sheet.set_column(j, j, col.width or min(max(widths[j], 6), max_width))
    sheet.freeze_panes(r0 + 1, 0)
    if autofilter and columns:
        sheet.autofilter(r0, 0, r0 + max(n, 1), len(columns) - 1)
    return sheet, n
