"""Reading the files as they really arrive (.xlsx, .csv) into typed tables keyed by model fields.

Steps, each reporting problems with file, sheet, row and column:

1. preflight (``filecheck``) guards the parsers against hostile or odd files;
2. cells are read as they are stored (calamine for xlsx: text stays text, so codes keep their
   leading zeros; CSV as text with its encoding detected: BOM, UTF-8, GB18030, UTF-16);
3. the header row is found below any title rows, and headers are matched to fields through the
   model's aliases after normalisation (``text.normalize_header``);
4. each column is parsed by its field type. Parsing works on the *unique* values of a column and
   maps back, so a million-row export with a few thousand distinct dates costs a few thousand
   parses; typed cells (numbers, real dates) take a vectorised fast path.

Row numbers reported are the spreadsheet's own (1-based, counting title and header rows).
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import io
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cluster_credit_cli.i18n import say
from cluster_credit_cli.model.config import FieldDef, Model, SourceDef
from cluster_credit_cli.problems import Problems
from cluster_credit_cli.text import _SPACES, clean_text, halfwidth, normalize_choice, normalize_header

HEADER_SCAN_ROWS = 30
MAX_ROWS = 2_000_000
MAX_COLS = 500
# A streamed record export: bounded by time, not memory (10,000,000 records are 1.2 GB).
STREAM_MAX_BYTES = 16 * 2**30
STREAM_MAX_ROWS = 200_000_000
EXCEL_EPOCH = _dt.datetime(1899, 12, 30)


class ReadError(Exception):
    """The file cannot be read at all; ``code`` classifies why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Grid:
    """Cells of one sheet as stored, before any interpretation."""

    file: Path
    sheet: str | None
    rows: list[list[Any]]


@dataclass
class SourceTable:
    """One input file read for one source: typed columns named by field key."""

    kind: str
    file: Path
    sheet: str | None
    header_row: int  # 1-based spreadsheet row of the header
    data: pd.DataFrame  # columns: field keys (+ "_row": spreadsheet row number)
    columns: dict[str, str]  # field key -> header text as found
    unknown: list[str] = field(default_factory=list)
    extra: pd.DataFrame | None = None  # unknown columns' text, for provenance
    # Rows read but not kept: valid codes of enterprises outside the round (streaming reader only).
    dropped: int = 0

    @property
    def label(self) -> str:
        return self.file.name


# -- raw cells ---------------------------------------------------------------------------------

def detect_encoding(data: bytes) -> str:
    """BOM first; then strict UTF-8; then GB18030 (a superset of GBK and GB2312)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = data[: 1 << 20]
    # UTF-16 without BOM: every other byte zero in ASCII-heavy text.
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return "utf-16-le"
    # Incremental decoders without ``final``: a multi-byte character cut at the end of a sample
    # is not a decoding error (a GB18030 export read as Latin-1 because its 1 MB sample ended
    # mid-character was the benchmark's own mistake).
    for enc in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)("strict").decode(sample if enc == "utf-8" else data)
            return enc
        except UnicodeDecodeError:
            continue
    return "latin-1"


def _sniff_delimiter(text: str) -> str:
    head = "\n".join(text.splitlines()[:20])
    counts = {d: head.count(d) for d in (",", "\t", ";", "|")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def read_grid(path: Path, sheet: str | None = None, verdict=None) -> Grid:
    """All cells of the sheet (xlsx: ``sheet`` or the first visible one) or of the CSV file.

    The file is classified first (``filecheck.preflight``) unless a verdict is given; a file the
    preflight rejects raises ``ReadError`` with the preflight's code and message.
    """
    path = Path(path)
    verdict = verdict or preflight_file(path)
    if not verdict.ok:
        raise ReadError(verdict.code, verdict.message)
    if verdict.kind == "csv":
        return _read_csv_grid(path, verdict.encoding)
    if verdict.kind == "xls":
        return _read_xls_grid(path, sheet)
    return _read_xlsx_grid(path, sheet, hidden=set(verdict.hidden_sheets) | set(verdict.chart_sheets))


def preflight_file(path: Path, *, streamed: bool = False):
    """Guard the parsers (calamine aborts the process on some hostile files): see ``filecheck``.

    ``streamed``: the file is a CSV read in chunks (``read_records_streaming``), whose memory does
    not grow with its length: a city platform's export of millions of records is allowed (up to
    ``STREAM_MAX_BYTES`` and ``STREAM_MAX_ROWS``); lines are bounded as for any file.
    """
    from cluster_credit_cli.inputs.filecheck import Limits, preflight

    if streamed:
        return preflight(Path(path), max_rows=STREAM_MAX_ROWS, max_cols=MAX_COLS,
                         limits=Limits(max_file_bytes=STREAM_MAX_BYTES))
    return preflight(Path(path), max_rows=MAX_ROWS, max_cols=MAX_COLS)


def _read_csv_grid(path: Path, encoding: str | None) -> Grid:
    data = path.read_bytes()
    encoding = encoding or detect_encoding(data)
    text = data.decode(encoding, errors="replace")
    delimiter = _sniff_delimiter(text)
    try:
        frame = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False,
                            sep=delimiter, engine="c", skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL)
    except pd.errors.ParserError:
        # Rows of different widths (a one-cell title line above the header): the csv module copes.
        return Grid(path, None, list(csv.reader(io.StringIO(text), delimiter=delimiter)))
    return Grid(path, None, frame.to_numpy(dtype=object).tolist())


def _read_xlsx_grid(path: Path, sheet: str | None, hidden: set[str] | None = None) -> Grid:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - calamine raises several types for broken files
        raise ReadError("unreadable", say(f"{path.name}：无法作为工作簿读取（{exc}），请用 Excel 打开后重新保存为 .xlsx",
                                          f"{path.name}: cannot be read as a workbook ({exc}); "
                                          "open it in Excel and save it again as .xlsx")) from None
    names = list(book.sheet_names)
    if sheet is not None:
        if sheet not in names:
            raise ReadError("sheet_not_found", say(f"{path.name}：没有名为 {sheet!r} 的工作表；现有：{'、'.join(names)}",
                                                   f"{path.name}: no sheet named {sheet!r}; sheets: {', '.join(names)}"))
        chosen = sheet
    else:
        # Hidden sheets are ignored unless a sheet is configured by name.
        visible = [n for n in names if n not in (hidden or set())]
        chosen = (visible or [None])[0]
        if chosen is None:
            raise ReadError("empty_workbook", say(f"{path.name}：工作簿中没有可见的工作表",
                                                  f"{path.name}: the workbook has no visible sheets"))
    rows = book.get_sheet_by_name(chosen).to_python(skip_empty_area=False)
    return Grid(path, chosen, rows)


def _read_xls_grid(path: Path, sheet: str | None) -> Grid:
    try:
        import xlrd
    except ImportError:
        raise ReadError("old_xls", say(f"{path.name}：旧版 .xls 工作簿，请在 Excel 中另存为 .xlsx",
                                       f"{path.name}: an old .xls workbook; open it in Excel and "
                                       "save as .xlsx (File > Save As > Excel Workbook)")) from None
    book = xlrd.open_workbook(str(path), on_demand=True)
    sh = book.sheet_by_name(sheet) if sheet else book.sheet_by_index(0)
    rows = []
    for r in range(sh.nrows):
        out = []
        for c in sh.row(r):
            if c.ctype == xlrd.XL_CELL_DATE:
                out.append(xlrd.xldate.xldate_as_datetime(c.value, book.datemode))
            elif c.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                out.append("")
            else:
                out.append(c.value)
        rows.append(out)
    return Grid(path, sh.name, rows)


# -- header ------------------------------------------------------------------------------------

def header_index(model: Model, source: str) -> dict[str, str]:
    """Normalised header text -> field key, for the fields a source may carry."""
    index: dict[str, str] = {}
    for f in model.source_fields(source):
        for name in (f.label, f.label_en, f.key, *f.aliases):
            norm = normalize_header(name)
            if norm:
                index.setdefault(norm, f.key)
    return index


def find_header(rows: list[list[Any]], index: dict[str, str], required: list[str]) -> int | None:
    """The row (0-based) among the first rows that names the most known fields."""
    best, best_hits = None, 0
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        keys = {index.get(normalize_header(c)) for c in row if c not in (None, "")}
        keys.discard(None)
        hits = len(keys) + (2 if required and required[0] in keys else 0)
        if hits > best_hits:
            best, best_hits = i, hits
    return best if best_hits >= 2 else None


# -- typed parsing -----------------------------------------------------------------------------

# Unambiguous numbers only: digits with an optional sign, thousands separators only in groups of
# three ("1,234,567.5"), one decimal point. "1,2,3" or "1.000,50" are not guessed at (issue 12).
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+")
# Units accepted after a number when the caller does not say which: the survey's free answers.
ANY_UNIT = ("万元", "亿元", "千元", "元", "人", "天", "日", "个", "项", "次", "家", "分")
_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ tT]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
_MONTH_PATTERNS = [re.compile(r"^(\d{4})年(\d{1,2})月$"), re.compile(r"^(\d{4})[-/.](\d{1,2})$")]


def parse_number_text(text: str, units: tuple[str, ...] | None = ANY_UNIT) -> float | None:
    """'1,234.5' '12%' '３００万元' '(1,000)' -> float; None when not an unambiguous number.

    ``units``: the unit suffixes allowed after the number (a field's own unit: "300万元" in a
    万元 column); a number with any other suffix is None, never read as if the unit were absent.
    """
    t = halfwidth(text).strip()
    if not t:
        return None
    pct = t.endswith("%")
    if pct:
        t = t[:-1].rstrip()
    for unit in sorted(units or (), key=len, reverse=True):
        if t.endswith(unit) and len(t) > len(unit):
            t = t[: -len(unit)].rstrip()  # "45 天"
            break
    neg = t.startswith("(") and t.endswith(")")
    if neg:
        t = t[1:-1]
    if not _NUMBER.fullmatch(t):
        return None
    value = float(t.replace(",", ""))
    if not math.isfinite(value):
        return None
    value = -value if neg else value
    return value / 100 if pct else value


def parse_date_value(value: Any) -> tuple[_dt.date | None, str | None]:
    """A cell as a date: real date, Excel serial, or text; returns (date, note)."""
    if isinstance(value, _dt.datetime):
        return value.date(), None
    if isinstance(value, _dt.date):
        return value, None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2958466:  # Excel's date range (1900-01-01 .. 9999-12-31)
            return (EXCEL_EPOCH + _dt.timedelta(days=float(value))).date(), None
        if 19000101 <= value <= 99991231 and float(value).is_integer():
            return parse_date_value(str(int(value)))
        return None, None
    text = halfwidth(str(value)).strip().replace(" ", "")
    if not text:
        return None, None
    for pat in _DATE_PATTERNS:
        m = pat.match(text)
        if m:
            try:
                return _dt.date(int(m[1]), int(m[2]), int(m[3])), None
            except ValueError:
                return None, None
    for pat in _MONTH_PATTERNS:
        m = pat.match(text)
        if m:
            try:
                return _dt.date(int(m[1]), int(m[2]), 1), "partial"
            except ValueError:
                return None, None
    number = parse_number_text(text)
    if number is not None and text.replace(".", "", 1).isdigit():
        return parse_date_value(number)
    return None, None


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, float) and math.isnan(value))


def _text_cell(value: Any) -> str:
    """``"" if _is_blank(v) else _as_text(v)`` with the common str case in one step."""
    if type(value) is str:
        # NFKC, whitespace runs to one space, trimmed: exactly clean_text; blank text gives "".
        text = unicodedata.normalize("NFKC", value)
        if text.isalnum():
            return text  # letters and digits only (codes, most names, numbers): no space to touch
        return _SPACES.sub(" ", text).strip()
    return "" if _is_blank(value) else _as_text(value)


def _has_value(row: list[Any]) -> bool:
    """``any(not _is_blank(c) for c in row)``, without a generator per row (millions of rows)."""
    for c in row:
        if c is None:
            continue
        if isinstance(c, str):
            if c and not c.isspace():
                return True
            continue
        if isinstance(c, float) and math.isnan(c):
            continue
        return True
    return False


def _as_text(value: Any) -> str:
    """A stored cell as text: integral floats lose their '.0' (phone numbers, years)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return clean_text(value)


class _Distinct:
    """The distinct values of a column, for per-value work done once per distinct value.

    Values equal under Python ``==`` (1, 1.0, True) are one distinct value, as they are as dict
    keys. Missing cells (None, NaN) are each their own value: there are few of them (cells past
    the end of a short row), and a function of the cell then sees the very object in the cell.
    """

    def __init__(self, values: pd.Series):
        self.index = values.index
        arr = values.to_numpy(dtype=object)
        codes, uniques = pd.factorize(arr, use_na_sentinel=True)
        self.values = list(uniques)
        missing = np.flatnonzero(codes < 0)
        if len(missing):
            codes = codes.copy()
            codes[missing] = len(self.values) + np.arange(len(missing))
            self.values += arr[missing].tolist()
        self.codes = codes

    def map(self, func) -> list[Any]:
        """``func`` of each distinct value (in ``self.values`` order)."""
        return [func(v) for v in self.values]

    def spread(self, per_value: list[Any], dtype=object) -> np.ndarray:
        """Per-distinct-value results as one value per cell."""
        out = np.empty(len(per_value), dtype=dtype)
        out[:] = per_value
        return out[self.codes]

    def series(self, per_value: list[Any]) -> pd.Series:
        return pd.Series(self.spread(per_value), index=self.index, dtype=object)

    def floats(self, per_value: list[float]) -> pd.Series:
        """Per-distinct-value floats as a float64 column (an empty column stays int64, as
        ``pd.to_numeric`` of no cells gives)."""
        if not len(self.codes):
            return pd.to_numeric(pd.Series([], index=self.index, dtype=object))
        return pd.Series(self.spread(per_value, dtype=float), index=self.index)

    def rows(self, per_value_flags: list[bool]) -> np.ndarray:
        """Positions of the cells whose distinct value is flagged."""
        flags = np.zeros(len(per_value_flags), dtype=bool)
        flags[:] = per_value_flags
        return np.flatnonzero(flags[self.codes])


def _apply_unique(values: pd.Series, func) -> pd.Series:
    """``func`` of every cell, computed once per distinct value (an object Series, same index)."""
    d = _Distinct(values)
    return d.series(d.map(func))


class _ColumnParser:
    """Parses one column by field type; problems name file, sheet, row and column."""

    QUIET = frozenset({"text", "code", "category"})  # field types whose parser never reports a problem

    def __init__(self, model: Model, problems: Problems, file: str, sheet: str | None, lang: str):
        self.model, self.problems, self.file, self.sheet, self.lang = model, problems, file, sheet, lang
        labels = model.ratings.get("labels", {})
        self.rating_labels = {normalize_choice(k): float(v) for k, v in labels.items()}
        self.rmin, self.rmax = float(model.ratings.get("min", 1)), float(model.ratings.get("max", 5))

    def report(self, rows: np.ndarray, positions: np.ndarray, header: str, code: str, message: str,
               severity: str = "error") -> None:
        for p in positions:
            self.problems.add(self.file, self.sheet, int(rows[p]), header, code, message, severity)

    def parse(self, f: FieldDef, values: pd.Series, rows: np.ndarray, header: str) -> pd.Series:
        method = getattr(self, f"_{f.type}")
        return method(f, values, rows, header)

    # Each parser maps the distinct values, then reports the rows whose value failed. Everything
    # per value (parsing, "failed?", "blank?") is computed once per distinct value and spread to
    # the cells: a 200,000-row column has a few thousand distinct dates or amounts.
    def _text(self, f, values, rows, header):
        return _apply_unique(values, _text_cell)

    _code = _text
    _category = _text

    def _number(self, f, values, rows, header):
        from cluster_credit_cli.model.hints import UNITS, UNITS_EN

        unit = UNITS.get(f.key)
        # The field's own unit may follow the number ("300万元", "300万" in a 万元 column); another
        # unit ("3亿元") is a problem, never read as if it were the field's.
        units = tuple(u for u in (unit, unit[:-1] if unit and unit.endswith("元") and len(unit) > 1 else None) if u)

        def conv(v):
            if type(v) is str and v.isascii() and v.isdigit():
                return float(v)  # what parse_number_text gives for plain digits, without its steps
            if _is_blank(v):
                return np.nan
            if isinstance(v, bool):
                return None
            if isinstance(v, (int, float)):
                return float(v)
            num = parse_number_text(str(v), units)
            return None if num is None else num

        d = _Distinct(values)
        parsed = d.map(conv)
        if any(r is None for r in parsed):
            # Not a number (None; NaN only from a blank cell) and not blank: a problem.
            for p in d.rows([(r is None or r != r) and not _is_blank(v) for v, r in zip(d.values, parsed)]):
                self.problems.add(self.file, self.sheet, int(rows[p]), header, "bad_number",
                                  say(f"“{values.iloc[p]}”不是明确的数字：请只填一个数字，如 1234.5 或 1,234.5"
                                      + (f"（单位{unit}）" if unit else "") + "；千位分隔符每三位一个，小数点只用一个",
                                      f"'{values.iloc[p]}' is not an unambiguous number: write one number such as "
                                      "1234.5 or 1,234.5" + (f" (in {UNITS_EN.get(unit, unit)})" if unit else "")
                                      + "; thousands separators every three digits, one decimal point"),
                                  "error")
        numeric = d.floats([np.nan if r is None else r for r in parsed])
        if f.min is not None:
            below = np.flatnonzero((numeric < f.min).to_numpy())
            for p in below:
                self.problems.add(self.file, self.sheet, int(rows[p]), header, "negative_number",
                                  say(f"“{_as_text(values.iloc[p])}”小于 {f.min:g}：{f.label}不能为负数；本格未采用，请更正",
                                      f"'{_as_text(values.iloc[p])}' is below {f.min:g}: {f.header('en')} cannot be negative; "
                                      "the cell is not used — correct it"), "error")
            if len(below):
                numeric[numeric < f.min] = np.nan
        return numeric

    def _percent(self, f, values, rows, header, keep_text: bool = False):
        def conv(v):
            if _is_blank(v):
                return np.nan
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
            text = halfwidth(str(v)).strip()
            num = parse_number_text(text, ())
            if num is None:
                return clean_text(v) if keep_text else None
            return num * 100 if text.endswith("%") else num

        d = _Distinct(values)
        parsed = d.map(conv)
        numeric = d.floats([r if isinstance(r, float) else np.nan for r in parsed])
        finite = numeric.dropna()
        # A column typed as Excel percentages arrives as fractions (0.95 for 95%).
        if len(finite) and (finite <= 1).all() and (finite % 1 != 0).any():
            numeric = numeric * 100
            self.problems.add(self.file, self.sheet, None, header, "percent_as_fraction",
                              say("所有值都在 0 到 1 之间：按小数读取（0.95 = 95%）",
                                  "all values are between 0 and 1: read as fractions (0.95 = 95%)"), "warning")
        out_of_range = numeric.notna() & ((numeric < 0) | (numeric > 100))
        for p in np.flatnonzero(out_of_range.to_numpy()):
            self.problems.add(self.file, self.sheet, int(rows[p]), header, "bad_percent",
                              say(f"“{values.iloc[p]}”不是 0 到 100 之间的百分数",
                                  f"'{values.iloc[p]}' is not a percentage between 0 and 100"), "error")
        numeric[out_of_range] = np.nan
        if keep_text:
            texts = d.spread([r if isinstance(r, str) else None for r in parsed])
            # (the map, not the values, decides the dtype: float64 when no text is left)
            return pd.Series(np.where(numeric.notna(), numeric.astype(object), texts), index=values.index,
                             dtype=object).map(lambda v: np.nan if v is None else v)
        for p in d.rows([r is None for r in parsed]):
            self.problems.add(self.file, self.sheet, int(rows[p]), header, "bad_number",
                              say(f"“{values.iloc[p]}”不是百分数，请填写如 95 的数字",
                                  f"'{values.iloc[p]}' is not a percentage; write a number such as 95"), "error")
        return numeric

    def _percent_or_text(self, f, values, rows, header):
        return self._percent(f, values, rows, header, keep_text=True)

    def _rating(self, f, values, rows, header):
        labels = self.rating_labels

        def conv(v):
            if _is_blank(v):
                return np.nan
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                num = float(v)
            else:
                key = normalize_choice(v)
                if key in labels:
                    return labels[key]
                num = parse_number_text(str(v))
                if num is None:
                    return None
            return num if self.rmin <= num <= self.rmax else None

        d = _Distinct(values)
        parsed = d.map(conv)
        allowed = "/".join(labels) if labels else ""
        for p in d.rows([r is None for r in parsed]):
            self.problems.add(self.file, self.sheet, int(rows[p]), header, "bad_rating",
                              say(f"“{values.iloc[p]}”不是有效评分：请填 {self.rmin:g}–{self.rmax:g}"
                                  + (f" 或 {allowed}" if allowed else ""),
                                  f"'{values.iloc[p]}' is not a rating: use {self.rmin:g}–{self.rmax:g}"
                                  + (f" or {allowed}" if allowed else "")), "error")
        return d.floats([np.nan if r is None else r for r in parsed])

    def _yesno(self, f, values, rows, header):
        yes, no = self.model.yes_values, self.model.no_values

        def conv(v):
            if _is_blank(v):
                return np.nan
            key = normalize_choice(_as_text(v))
            if key in yes:
                return True
            if key in no:
                return False
            return None

        d = _Distinct(values)
        parsed = d.map(conv)
        for p in d.rows([r is None for r in parsed]):
            self.problems.add(self.file, self.sheet, int(rows[p]), header, "bad_yesno",
                              say(f"“{values.iloc[p]}”既不是“是”也不是“否”", f"'{values.iloc[p]}' is neither 是 nor 否"), "error")
        return d.series([np.nan if r is None else r for r in parsed])

    def _date(self, f, values, rows, header):
        notes: dict[Any, str] = {}

        def conv(v):
            if _is_blank(v):
                return pd.NaT
            d, note = parse_date_value(v)
            if d is None:
                return None
            if note:
                notes[v] = note
            return d

        d = _Distinct(values)
        parsed = d.map(conv)
        arr = values.to_numpy(dtype=object)
        for p in d.rows([r is None for r in parsed]):
            self.problems.add(self.file, self.sheet, int(rows[p]), header, "bad_date",
                              say(f"“{arr[p]}”不是日期，请写成 2023-05-06 或 2023年5月6日",
                                  f"'{arr[p]}' is not a date; write it as 2023-05-06 or 2023年5月6日"), "error")
        if notes:
            for p in d.rows([isinstance(v, str) and v in notes for v in d.values]):
                self.problems.add(self.file, self.sheet, int(rows[p]), header, "partial_date",
                                  say(f"“{arr[p]}”没有写日，按当月1日计", f"'{arr[p]}': no day given, taken as the 1st of the month"),
                                  "warning")
        # Converted once per distinct value; the cells take the distinct values' timestamps.
        stamps = pd.to_datetime(pd.Series([pd.NaT if r is None else r for r in parsed], dtype=object),
                                errors="coerce")
        return pd.Series(stamps.to_numpy()[d.codes], index=values.index)


def _is_hint_row(row: list[Any], model: Model, kind: str) -> bool:
    from cluster_credit_cli.model.hints import hint_texts

    cells = [clean_text(c) for c in row if not _is_blank(c)]
    return bool(cells) and all(c in hint_texts(model, kind) for c in cells)


def read_source(path: Path, kind: str, model: Model, problems: Problems, *, lang: str = "zh",
                sheet: str | None = None) -> SourceTable | None:
    """Read one input file for one source. Returns None (with a problem) if it cannot be used."""
    from cluster_credit_cli.i18n import use_lang

    with use_lang(lang):  # the problems are worded in the language asked for
        return _read_source(path, kind, model, problems, lang=lang, sheet=sheet)


def _read_source(path: Path, kind: str, model: Model, problems: Problems, *, lang: str,
                 sheet: str | None) -> SourceTable | None:
    source: SourceDef = model.sources[kind]
    path = Path(path)
    verdict = preflight_file(path)
    verdict.add_to(problems, path.name)  # the error if rejected, and warnings (formulas never computed ...)
    if not verdict.ok:
        return None
    try:
        grid = read_grid(path, sheet or source.sheet, verdict)
        tried = [grid.sheet] if grid.sheet else []
        if not (sheet or source.sheet) and verdict.kind == "xlsx":
            # The first visible worksheet may be a cover or notes sheet: look at every visible
            # worksheet (chart sheets skipped) before saying the header is missing.
            grid, tried = _sheet_with_header(path, grid, verdict, kind, model)
    except ReadError as exc:
        problems.add(path.name, sheet, None, None, exc.code, str(exc))
        return None
    layout = _layout(grid, path, kind, model, problems, tried)
    if layout is None:
        return None
    h, header, columns, names, unknown = layout
    body = grid.rows[h + 1:]
    if body and _is_hint_row(body[0], model, kind):
        body, h = body[1:], h + 1  # the hint row of a ccredit template sent back filled in
    parser = _ColumnParser(model, problems, path.name, grid.sheet, lang)
    frame, extra = _parse_body(body, h + 2, len(header), columns, names, unknown, parser, model)
    return SourceTable(kind, path, grid.sheet, h + 1, frame, names, [t for _, t in unknown], extra)


def _sheet_with_header(path: Path, first: Grid, verdict, kind: str, model: Model) -> tuple[Grid, list[str]]:
    """The first visible worksheet whose top rows hold the source's header (else ``first``), and
    the names of the sheets looked at."""
    source: SourceDef = model.sources[kind]
    index = header_index(model, kind)
    if find_header(first.rows, index, source.required) is not None:
        return first, [first.sheet]
    skip = set(verdict.hidden_sheets) | set(verdict.chart_sheets)
    tried = [first.sheet]
    for name in verdict.sheets:
        if name in skip or name == first.sheet:
            continue
        try:
            grid = _read_xlsx_grid(path, name)
        except Exception:  # noqa: BLE001 - a sheet calamine cannot open is not the data sheet
            continue
        tried.append(name)
        if find_header(grid.rows, index, source.required) is not None:
            return grid, tried
    return first, tried


def _layout(grid: Grid, path: Path, kind: str, model: Model, problems: Problems, tried: list[str] | None = None):
    """Header row, column positions and names of a grid; None (with a problem) if unusable."""
    source: SourceDef = model.sources[kind]
    index = header_index(model, kind)
    h = find_header(grid.rows, index, source.required)
    if h is None:
        # Names the file and every sheet looked at; the cells themselves are not quoted (a file
        # that is no valid input may hold anything, e.g. a password file linked into a round).
        where = "、".join(f"“{s}”" for s in (tried or [grid.sheet] if grid.sheet else []))
        where_en = ", ".join(f"'{s}'" for s in (tried or [grid.sheet] if grid.sheet else []))
        expected = "、".join(model.fields[r].label for r in source.required)
        problems.add(path.name, grid.sheet, None, None, "no_header",
                     say(f"{path.name}{'：工作表 ' + where if where else ''} 的前 {HEADER_SCAN_ROWS} 行中找不到"
                         f"{source.label}的表头；应有一行包含如 {expected} 等列标题。请检查是否选错了文件或工作表",
                         f"{path.name}{': sheet(s) ' + where_en if where_en else ''}: no header row naming the "
                         f"{source.label_en or source.label} columns in the first {HEADER_SCAN_ROWS} rows; one row "
                         f"should hold titles such as {', '.join(model.fields[r].label for r in source.required)}. "
                         "Check that this is the right file and sheet"))
        return None
    header = grid.rows[h]
    columns: dict[str, int] = {}
    names: dict[str, str] = {}
    unknown: list[tuple[int, str]] = []
    for j, cell in enumerate(header):
        if _is_blank(cell):
            continue
        text = clean_text(cell)
        key = index.get(normalize_header(cell))
        if key is None:
            unknown.append((j, text))
        elif key in columns:
            problems.add(path.name, grid.sheet, h + 1, text, "duplicate_column",
                         say(f"列“{text}”与“{names[key]}”都对应 {model.fields[key].label}；采用第一列，请删除或改名另一列",
                             f"column '{text}' names {model.fields[key].label} again (first: '{names[key]}'); "
                             "the first one is used, remove or rename the other"), "warning")
        else:
            columns[key], names[key] = j, text
    _report_near_misses(path, grid.sheet, h + 1, unknown, index, columns, model, problems)
    missing = [r for r in source.required if r not in columns]
    # An export without codes may fall back to names (flagged per row later).
    if missing == ["code"] and "name" in columns and kind != "applicants":
        problems.add(path.name, grid.sheet, h + 1, model.fields["code"].label, "no_code_column",
                     say(f"没有“{model.fields['code'].label}”列：按“{model.fields['name'].label}”匹配，可靠性较低，请补充代码列",
                         f"no {model.fields['code'].label} column: rows are matched by {model.fields['name'].label},"
                         " which is less reliable; add the code column"), "warning")
        missing = []
    if missing:
        found = [clean_text(c) for c in header if not _is_blank(c)]
        for r in missing:
            problems.add(path.name, grid.sheet, h + 1, model.fields[r].label, "missing_column",
                         say(f"缺少必需的列“{model.fields[r].label}”；找到的列：{'、'.join(found)}",
                             f"required column '{model.fields[r].label}' not found; columns found: {', '.join(found)}"))
        return None
    return h, header, columns, names, unknown


_HOW = {"script": ("繁体字", "traditional characters"), "unit": ("单位写法不同", "the unit written differently"),
        "order": ("字的顺序不同", "characters in another order"), "typo": ("有字写错、多写或漏写", "a character differs")}


def _report_near_misses(path: Path, sheet: str | None, row: int, unknown: list[tuple[int, str]],
                        index: dict[str, str], columns: dict[str, int], model: Model, problems: Problems) -> None:
    """An unknown header that looks like a known one of this source that the file lacks: an error.

    The column is not read (no guessing); the problem names the column, the field it probably
    means and the header to type instead.
    """
    from cluster_credit_cli.inputs.headers import resembles

    free = {name: key for name, key in index.items() if key not in columns}
    for _, text in unknown:
        near = resembles(text, free)
        if near is None:
            continue
        key, how = near
        f = model.fields[key]
        zh, en = _HOW[how]
        problems.add(path.name, sheet, row, text, "header_typo",
                     say(f"列“{text}”不是已知的列，看起来是“{f.label}”（{zh}）；这一列没有读取。"
                         f"请把表头改为“{f.label}”后重新运行",
                         f"column '{text}' is not a known column; it looks like '{f.label}' ({f.header('en')}; "
                         f"{en}), so it was not read. Rename the header to '{f.label}' and run again"))


def _parse_body(body: list[list[Any]], first_row: int, width: int, columns: dict[str, int],
                names: dict[str, str], unknown: list[tuple[int, str]], parser: "_ColumnParser",
                model: Model) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Typed columns of the rows below the header; ``first_row`` is the spreadsheet row of body[0]."""
    # Drop fully blank rows (trailing area of the sheet, spacer rows) but keep row numbers.
    keep = [i for i, r in enumerate(body) if _has_value(r)]
    rownums = np.asarray(keep, dtype=np.int64) + first_row
    rows = body if len(keep) == len(body) else [body[i] for i in keep]
    if rows and any(len(r) != width for r in rows):
        # Rows of other widths (a CSV line short of fields) padded with None or cut to the header.
        rows = [(r + [None] * (width - len(r)))[:width] for r in rows]
    cols = list(zip(*rows)) if keep else [()] * width  # (calamine's rows are all as wide as the header)
    data = {}
    for key, j in columns.items():
        values = pd.Series(cols[j], dtype=object) if keep else pd.Series([], dtype=object)
        data[key] = parser.parse(model.fields[key], values, rownums, names[key])
    frame = pd.DataFrame(data)
    frame["_row"] = rownums
    extra = None
    if unknown and keep:
        # _text_cell(v) is "" if _is_blank(v) else _as_text(v), the common str case in one step
        extra = pd.DataFrame({text: [_text_cell(v) for v in cols[j]] for j, text in unknown})
    return frame, extra


# -- streaming large record exports -------------------------------------------------------------

# Record-shaped CSV sources of at least this size are read in chunks, keeping only the rows that
# can matter to the round (see ``read_records_streaming``); pipeline.read_inputs applies it. Every
# size: most of an export is other enterprises' records, and dropping them while reading costs
# no more time than parsing them whole (a 200,000-record export: same result, 17 % less memory).
STREAM_MIN_BYTES = 0
STREAM_CHUNK_ROWS = 200_000
# The order problems of one column come in when a whole column is parsed at once.
_PARSE_PHASE = {"percent_as_fraction": 0, "bad_percent": 1, "bad_number": 2, "partial_date": 1}


def _csv_head(path: Path, encoding: str | None) -> tuple[str, Grid, str]:
    """Encoding, the first rows as a grid (for the header), and the delimiter of a CSV file."""
    with open(path, "rb") as fh:
        sample = fh.read(1 << 20)
    cut = sample.rfind(b"\n") + 1 if len(sample) == 1 << 20 else len(sample)
    encoding = encoding or detect_encoding(sample[:cut] or sample)
    text = sample[:cut].decode(encoding, errors="replace")
    delimiter = _sniff_delimiter(text)
    lines = text.splitlines(keepends=True)[:HEADER_SCAN_ROWS]
    return encoding, Grid(path, None, list(csv.reader(io.StringIO("".join(lines)), delimiter=delimiter))), delimiter


def _parse_chunk(chunk: pd.DataFrame, first_row: int, columns: dict[str, int], names: dict[str, str],
                 unknown: list[tuple[int, str]], parser: "_ColumnParser", model: Model,
                 keep: set[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None, int]:
    """``_parse_body`` on a DataFrame of text cells (a CSV chunk), column-wise: no row lists.

    With ``keep`` (the applicants' codes), rows whose code is valid but not in ``keep`` are
    dropped and counted (the third value). Their cells are still parsed wherever parsing can
    report a problem (numbers, dates ...), so every problem a whole-file read reports is reported;
    columns whose parser never reports one (text, codes, categories) are parsed for the kept rows
    only: most of an export is other enterprises' records.
    """
    from cluster_credit_cli.inputs.identity import normalize_codes

    cells = {j: chunk[j].to_numpy(dtype=object) for j in chunk.columns}
    blank = np.ones(len(chunk), dtype=bool)
    for arr in cells.values():
        # Only rows still blank so far need looking at: usually none after the first column.
        idx = np.flatnonzero(blank)
        if not len(idx):
            break
        # not _is_blank(v), the str case (every cell but the missing end of a short line) inline
        has = np.fromiter((v != "" and not v.isspace() if type(v) is str else not _is_blank(v) for v in arr[idx]),
                          dtype=bool, count=len(idx))
        blank[idx[has]] = False
    rows = np.flatnonzero(~blank)
    rownums = rows.astype(np.int64) + first_row
    data: dict[str, pd.Series] = {}
    stay = None  # positions among ``rows`` that are kept, when some are dropped
    if keep is not None and "code" in columns and len(rows):
        code = parser.parse(model.fields["code"], pd.Series(cells[columns["code"]][rows], dtype=object), rownums,
                            names["code"])
        codes, reasons = normalize_codes(code.fillna(""))
        drop = (reasons.isna() & ~codes.isin(keep)).to_numpy()
        if drop.any():
            stay = np.flatnonzero(~drop)
            data["code"] = code.iloc[stay].reset_index(drop=True)
        else:
            data["code"] = code
    kept = rows if stay is None else rows[stay]
    for key, j in columns.items():
        if key in data:
            continue
        f = model.fields[key]
        if stay is not None and f.type in parser.QUIET:
            data[key] = parser.parse(f, pd.Series(cells[j][kept], dtype=object), rownums[stay], names[key])
            continue
        values = parser.parse(f, pd.Series(cells[j][rows], dtype=object), rownums, names[key])
        data[key] = values if stay is None else values.iloc[stay].reset_index(drop=True)
    frame = pd.DataFrame({key: data[key] for key in columns})
    frame["_row"] = kept.astype(np.int64) + first_row
    extra = None
    if unknown and len(kept):
        extra = pd.DataFrame({text: [_text_cell(v) for v in cells[j][kept]] for j, text in unknown})
    return frame, extra, len(rows) - len(kept)


def read_records_streaming(path: Path, kind: str, model: Model, problems: Problems, *,
                           keep: set[str] | None, lang: str = "zh",
                           chunk_rows: int = STREAM_CHUNK_ROWS) -> SourceTable | None:
    """A large record export (CSV) read in chunks of ``chunk_rows``, in bounded memory.

    Each chunk is parsed exactly as ``read_source`` parses a whole file (same problems, same row
    numbers); then rows whose code is valid but not in ``keep`` (the applicants' codes) are
    dropped and only counted (``SourceTable.dropped``). Rows with an invalid or empty code are
    kept, so merging reports them (or matches them by name) as it does in memory. ``keep=None``
    keeps every row.
    """
    path = Path(path)
    # The same preflight as read_source: the whole file's line lengths and widths are bounded
    # before pandas allocates a row of 250,000 fields. Its length is not: it is read in chunks.
    verdict = preflight_file(path, streamed=True)
    verdict.add_to(problems, path.name)
    if not verdict.ok:
        return None
    encoding, head, delimiter = _csv_head(path, verdict.encoding)
    layout = _layout(head, path, kind, model, problems)
    if layout is None:
        return None
    local = Problems()  # parse problems, re-ordered below
    h, header, columns, names, unknown = layout
    if len(head.rows) > h + 1 and _is_hint_row(head.rows[h + 1], model, kind):
        h += 1  # the hint row of a ccredit template, as read_source skips it
    width = max(len(r) for r in head.rows)
    parser = _ColumnParser(model, local, path.name, None, lang)
    reader = pd.read_csv(path, header=None, names=list(range(width)), skiprows=h + 1, dtype=str,
                         keep_default_na=False, sep=delimiter, engine="c", skip_blank_lines=False,
                         quoting=csv.QUOTE_MINIMAL, encoding=encoding, encoding_errors="replace",
                         chunksize=chunk_rows)
    frames, extras, dropped, offset = [], [], 0, h + 2
    for chunk in reader:
        frame, extra, n_dropped = _parse_chunk(chunk, offset, columns, names, unknown, parser, model, keep)
        offset += len(chunk)
        dropped += n_dropped
        frames.append(frame.reset_index(drop=True))
        if extra is not None:
            extras.append(extra.reset_index(drop=True))
        del chunk
    # Problems in the order a whole-file parse gives: column by column, then phase, then row.
    order = {names[k]: i for i, k in enumerate(columns)}
    ranked = sorted(enumerate(local), key=lambda ip: (order.get(ip[1].column, -1),
                                                      _PARSE_PHASE.get(ip[1].code, 0), ip[0]))
    problems.extend([p for _, p in ranked])
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    extra_all = pd.concat(extras, ignore_index=True) if extras else None
    return SourceTable(kind, path, None, h + 1, data, names, [t for _, t in unknown], extra_all, dropped)
