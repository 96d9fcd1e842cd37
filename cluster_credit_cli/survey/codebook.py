"""Survey codebooks in XLSForm layout, editable in Excel.

Sheets (names case-insensitive):

* ``survey``: ``type``, ``name``, ``label`` (``label::English`` optional) and the extensions
  ``bins`` (a list in ``choices`` whose rows carry a ``range``), ``calculation`` (``calculate``),
  ``relevant`` (who should answer), ``dimension`` (Likert dimension) and ``tabulate`` (``no``:
  read and used for validity and calculations, not shown in the tables);
* ``choices``: ``list_name``, ``name``, ``label`` (+ ``label::English``), optional ``code``
  (the numeric code used in the data; default the 1-based position in the list) and ``range``
  (interval notation, for bin lists);
* ``settings`` (optional): ``title``, ``survey_date``, ``handed_out``, ``valid_min_share``
  (default 0.5: answering fewer than half of the questions makes a questionnaire invalid) or
  ``valid_min_answered``; either one header row with a value row below it (XLSForm) or
  key/value rows;
* ``dimensions`` (optional): ``name``, ``label``, ``label::English`` for Likert dimensions.

Every codebook error names the sheet, the row and what to fix (``ConfigError``, exit code 2).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cluster_credit_cli.problems import ConfigError
from cluster_credit_cli.text import clean_text, halfwidth, normalize_choice

TYPES = ("select_one", "select_multiple", "integer", "decimal", "text", "calculate")
NUMERIC_TYPES = ("integer", "decimal", "calculate")



# -- intervals ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    lo: float
    hi: float
    lo_closed: bool
    hi_closed: bool
    text: str = ""

    def contains(self, values):
        """Vectorised membership (numpy array in, boolean array out; NaN is in nothing)."""
        import numpy as np

        v = np.asarray(values, dtype="float64")
        left = v >= self.lo if self.lo_closed else v > self.lo
        right = v <= self.hi if self.hi_closed else v < self.hi
        return left & right

    def overlaps(self, other: "Interval") -> bool:
        if self.lo > other.lo:
            lo, lo_closed = self.lo, self.lo_closed
        elif other.lo > self.lo:
            lo, lo_closed = other.lo, other.lo_closed
        else:
            lo, lo_closed = self.lo, self.lo_closed and other.lo_closed
        if self.hi < other.hi:
            hi, hi_closed = self.hi, self.hi_closed
        elif other.hi < self.hi:
            hi, hi_closed = other.hi, other.hi_closed
        else:
            hi, hi_closed = self.hi, self.hi_closed and other.hi_closed
        return lo < hi or (lo == hi and lo_closed and hi_closed)


_NUM = r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?|[+-]?(?:inf|∞))"
_PAIR = re.compile(r"^([\[\(])\s*" + _NUM + r"\s*[,;~]\s*" + _NUM + r"\s*([\]\)])$", re.IGNORECASE)
_ONE_SIDED = re.compile(r"^(<=|=<|≤|⩽|<|>=|=>|≥|⩾|>)\s*" + _NUM + r"$", re.IGNORECASE)
_EXACT = re.compile(r"^=?\s*" + _NUM + r"$", re.IGNORECASE)


def _num(text: str) -> float:
    t = text.lower().replace("∞", "inf")
    return float(t)


def parse_interval(text: str) -> Interval:
    """``[a,b)`` ``(a,b]`` ``[a,b]`` ``(a,b)`` ``<a`` ``<=a`` ``>a`` ``>=a`` (also ≤ ≥ ＜ ＞), or ``a``.

    >>> parse_interval("[300, 2000)").contains([299.99, 300, 1999.9, 2000]).tolist()
    [False, True, True, False]
    """
    t = halfwidth(str(text)).strip().replace(" ", "").replace("，", ",")
    m = _PAIR.match(t)
    if m:
        lo, hi = _num(m.group(2)), _num(m.group(3))
        if lo > hi or (lo == hi and not (m.group(1) == "[" and m.group(4) == "]")):
            raise ValueError(f"{text!r}: the interval is empty (lower end above upper end)")
        return Interval(lo, hi, m.group(1) == "[" and math.isfinite(lo), m.group(4) == "]" and math.isfinite(hi), str(text))
    m = _ONE_SIDED.match(t)
    if m:
        op, x = m.group(1), _num(m.group(2))
        if op in ("<", "<=", "=<", "≤", "⩽"):
            return Interval(-math.inf, x, False, op != "<", str(text))
        return Interval(x, math.inf, op != ">", False, str(text))
    m = _EXACT.match(t)
    if m:
        x = _num(m.group(1))
        return Interval(x, x, True, True, str(text))
    raise ValueError(f"{text!r} is not an interval; write [a,b) (a,b] [a,b] (a,b) <a <=a >a >=a or a single number")


# -- the codebook ------------------------------------------------------------------------------

def choice_key(value: object) -> str:
    """Key of an answer or a choice: NFKC, inner whitespace collapsed to one space, trimmed.

    Spaces are kept (``1 2`` is two XLSForm choice names, never the choice ``12``)."""
    return clean_text(value)


def loose_key(value: object) -> str:
    """Second-chance key: also no spaces and lower case (``小于 300万`` = ``小于300万``, ``Yes`` = ``yes``)."""
    return normalize_choice(value)


@dataclass
class Choice:
    name: str
    label: str
    label_en: str = ""
    code: str = ""
    range: Interval | None = None
    row: int = 0  # spreadsheet row in `choices`

    def text(self, lang: str) -> str:
        return (self.label_en or self.label or self.name) if lang == "en" else (self.label or self.name)


@dataclass
class ChoiceList:
    name: str
    choices: list[Choice] = field(default_factory=list)
    positional: bool = False  # `2` means the 2nd choice (only with the codebook setting positional_codes)
    _index: dict | None = field(default=None, repr=False)

    def lookup(self) -> dict[str, int]:
        """Answer key (``choice_key``) -> choice index: names first, then labels, then explicit codes
        (then positions, only when the codebook says ``positional_codes``)."""
        if self._index is None:
            self._index = self._build()
        return self._index[0]

    def loose(self) -> dict[str, int]:
        """``loose_key`` -> index, only for keys that mean one choice."""
        if self._index is None:
            self._index = self._build()
        return self._index[1]

    def find(self, text: str) -> int | None:
        i = self.lookup().get(choice_key(text))
        if i is None:
            i = self.loose().get(loose_key(text))
        return i

    def _build(self) -> tuple[dict[str, int], dict[str, int]]:
        index: dict[str, int] = {}
        sources: list[tuple[int, str]] = []
        for i, c in enumerate(self.choices):
            sources.append((i, c.name))
        for i, c in enumerate(self.choices):
            sources += [(i, t) for t in (c.label, c.label_en) if t]
        for i, c in enumerate(self.choices):
            if c.code:
                sources.append((i, c.code))
        if self.positional:
            sources += [(i, str(i + 1)) for i in range(len(self.choices))]
        loose: dict[str, set[int]] = {}
        for i, t in sources:
            index.setdefault(choice_key(t), i)
            loose.setdefault(loose_key(t), set()).add(i)
        return index, {k: next(iter(v)) for k, v in loose.items() if len(v) == 1}

    def points(self) -> list[float] | None:
        """Numeric scale points (Likert): each choice's name or code as a number."""
        out = []
        for i, c in enumerate(self.choices):
            for cand in (c.name, c.code, str(i + 1)):
                try:
                    out.append(float(cand))
                    break
                except (TypeError, ValueError):
                    continue
        return out


# XLSForm types (pyxform's spellings and aliases) -> what ccredit does with them
_SIMPLE = {
    **dict.fromkeys(("text", "string", "qstring", "add text prompt"), "text"),
    **dict.fromkeys(("integer", "int", "qint", "add integer prompt"), "integer"),
    **dict.fromkeys(("decimal", "qdecimal", "add decimal prompt"), "decimal"),
    **dict.fromkeys(("calculate", "qcalculate", "add calculate prompt"), "calculate"),
    **dict.fromkeys(("date", "qdate", "add date prompt"), "date"),
    **dict.fromkeys(("datetime", "qdatetime", "add datetime prompt", "add date time prompt"), "datetime"),
}
NOT_TABULATED = {
    "time", "geopoint", "gps", "location", "qgeopoint", "qlocation", "add location prompt", "geotrace", "qgeotrace",
    "geoshape", "qgeoshape", "image", "photo", "qimage", "qpicture", "add image prompt", "add photo prompt", "audio",
    "qaudio", "add audio prompt", "video", "qvideo", "add video prompt", "barcode", "qbarcode", "add barcode prompt",
    "phone number", "acknowledge", "qacknowledge", "add acknowledge prompt", "trigger", "hidden", "file",
    "add file prompt", "range", "percentage", "osm", "background-audio", "xml-external", "csv-external",
}
METADATA = {
    "start", "end", "today", "deviceid", "imei", "simserial", "subscriberid", "phonenumber", "username", "email",
    "audit", "start-geopoint", "background-geopoint", "starttime", "endtime", "get start time", "get end time",
    "get today", "getstarttime", "getendtime", "gettoday", "get device id", "getdeviceid", "get sim id", "getsimid",
    "simid", "get subscriber id", "getsubscriberid", "get phone number", "getphonenumber",
    "number of days in last month", "number of days in last six months", "number of days in last year",
}
NOTE_TYPES = {"note", "qnote", "add note prompt"}
_SELECT = re.compile(
    r"^(select_one|select one|select1|select one from|add select one prompt using|"
    r"select_multiple|select multiple|select all that apply|select all that apply from|select multiple from|"
    r"add select multiple prompt using)\s+(\S+)(?:\s+(or_other|or specify other))?$", re.IGNORECASE)
_SELECT_OTHER = re.compile(
    r"^(select_one_from_file|select_multiple_from_file|select one from file|select multiple from file|"
    r"select_one_external|rank)\s+(\S+)", re.IGNORECASE)
_BEGIN = re.compile(r"^begin[ _](group|repeat|lgroup|looped group|loop)(?:\s+over\s+(\S+))?$", re.IGNORECASE)
_END = re.compile(r"^end[ _](group|repeat|lgroup|looped group|loop)$", re.IGNORECASE)


@dataclass
class Question:
    type: str  # one of TYPES, or date/datetime, or the XLSForm type of a question not tabulated
    name: str
    label: str
    label_en: str = ""
    list_name: str = ""  # select_one / select_multiple
    bins: str = ""  # list name of bins for numeric questions
    calculation: str = ""
    relevant: str = ""  # the question's own condition
    dimension: str = ""
    tabulate: bool = True
    row: int = 0  # spreadsheet row in `survey`
    path: tuple[str, ...] = ()  # enclosing groups and repeats, outermost first
    path_labels: tuple[str, ...] = ()  # their labels (Kobo's export with labels writes "组/题目")
    group_relevant: tuple[tuple[str, str, int], ...] = ()  # (group name, condition, row) of enclosing groups
    repeat: str = ""  # innermost enclosing repeat
    not_tabulated: str = ""  # why the question is read but has no table ("" = tabulated)
    constraint: str = ""
    other_of: str = ""  # `q_other`: the text answer of q's `other` choice

    def text(self, lang: str) -> str:
        return (self.label_en or self.label or self.name) if lang == "en" else (self.label or self.name)

    @property
    def is_likert(self) -> bool:
        return self.type == "select_one" and bool(self.dimension)

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES

    @property
    def is_date(self) -> bool:
        return self.type in ("date", "datetime")

    @property
    def conditions(self) -> list[str]:
        """Every condition that decides whether the question is asked: groups' first, then its own."""
        return [c for _, c, _ in self.group_relevant] + ([self.relevant] if self.relevant else [])


@dataclass
class Dimension:
    name: str
    label: str
    label_en: str = ""

    def text(self, lang: str) -> str:
        return (self.label_en or self.label or self.name) if lang == "en" else (self.label or self.name)


@dataclass
class Codebook:
    questions: list[Question]
    lists: dict[str, ChoiceList]
    title: str = ""
    survey_date: str = ""
    handed_out: int | None = None
    valid_min_share: float = 0.5
    valid_min_answered: int | None = None
    dimensions: dict[str, Dimension] = field(default_factory=dict)
    path: str = ""
    positional_codes: bool = False
    language: str = ""  # the label language used ("" = the plain label column)
    languages: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # said in the output (merged duplicate choices ...)
    skipped: list[Question] = field(default_factory=list)  # questions read but not tabulated

    def question(self, name: str) -> Question:
        for q in self.questions:
            if q.name == name:
                return q
        wanted = normalize_choice(name)
        for q in self.questions:
            if normalize_choice(q.label) == wanted or normalize_choice(q.label_en) == wanted:
                return q
        raise KeyError(name)

    def choices_of(self, q: Question) -> ChoiceList | None:
        key = q.list_name or q.bins
        return self.lists.get(key) if key else None

    def dimension_order(self) -> list[str]:
        seen: list[str] = []
        for q in self.questions:
            if q.is_likert and q.dimension not in seen:
                seen.append(q.dimension)
        return seen


# -- loading -----------------------------------------------------------------------------------

SHEETS = ("survey", "choices", "settings", "dimensions")


def _sheets(path: Path) -> dict[str, list[list[Any]]]:
    """The codebook's sheets (only those it uses: an extra sheet never blocks it).

    The file goes through the shared preflight (zip bombs, entities, cell caps on the cells actually
    used), but a *declared* range is not held against it: LibreOffice saves sheets declaring 1,024
    columns, and the XLSForms of survey platforms often come from there."""
    from python_calamine import CalamineWorkbook

    from cluster_credit_cli.inputs.filecheck import Limits, preflight
    from cluster_credit_cli.inputs.reading import MAX_COLS, MAX_ROWS, ReadError, read_grid

    if path.suffix.lower() not in (".xlsx", ".xlsm", ".xls"):
        raise ConfigError(f"{path.name}: a codebook is an .xlsx workbook with sheets survey and choices")
    verdict = preflight(path, max_rows=MAX_ROWS, max_cols=MAX_COLS, limits=Limits(sparse=True))
    if not verdict.ok:
        raise ConfigError(verdict.message)
    try:
        names = CalamineWorkbook.from_path(str(path)).sheet_names
    except Exception as exc:  # noqa: BLE001 - calamine raises several types
        raise ConfigError(f"{path.name}: cannot read the codebook ({exc})") from None
    wanted = {str(n).strip().lower(): n for n in names}
    if "survey" not in wanted and len(names) == 1:  # a one-sheet XLSForm: that sheet is the survey
        wanted = {"survey": names[0]}
    out = {}
    for key in SHEETS:
        if key in wanted:
            try:
                out[key] = read_grid(path, wanted[key], verdict=verdict).rows
            except ReadError as exc:
                raise ConfigError(str(exc)) from None
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(value)


_HEADER_ALIASES = {"list name": "list_name", "listname": "list_name", "value": "name", "caption": "label",
                   "relevance": "relevant", "calculate": "calculation", "label::": "label"}


def _header_key(value: Any) -> str:
    key = re.sub(r"\s+", " ", _cell(value).lower()).strip()
    key = re.sub(r"\s*::\s*", "::", key)
    return _HEADER_ALIASES.get(key, key)


def _records(rows: list[list[Any]]) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header keys and the non-blank rows as dicts with their spreadsheet row numbers.

    A duplicated header keeps its first column; rows starting with ``#`` are comments (pyxform)."""
    start = next((i for i, r in enumerate(rows) if any(_cell(c) for c in r)), None)
    if start is None:
        return [], []
    header = [_header_key(c) for c in rows[start]]
    first = {}
    for j, h in enumerate(header):
        if h and h not in first:
            first[h] = j
    out = []
    for i, r in enumerate(rows[start + 1:], start=start + 2):
        rec = {h: _cell(r[j]) if j < len(r) else "" for h, j in first.items()}
        if any(rec.values()) and not next((v for v in (_cell(c) for c in r) if v), "").startswith("#"):
            out.append((i, rec))
    return header, out


def _languages(header: list[str], base: str) -> list[str]:
    """Languages of ``base`` columns: ``label::English (en)`` and ``label:English`` -> ``English (en)``."""
    out = []
    for h in header:
        m = re.match(rf"^{base}\s*::?\s*(.+)$", h)
        if m and m.group(1) not in out:
            out.append(m.group(1))
    return out


def _lang_value(rec: dict[str, str], base: str, lang: str) -> str:
    if not lang:
        return rec.get(base, "")
    for k, v in rec.items():
        m = re.match(rf"^{base}\s*::?\s*(.+)$", k)
        if m and m.group(1) == lang:
            return v
    return ""


def _is_english(lang: str) -> bool:
    low = lang.lower()
    return "english" in low or low in ("en", "eng") or "(en)" in low


def _pick_language(wanted: str | None, languages: list[str], has_plain: bool, default: str) -> str:
    """The label language: ``--language`` (a name or its code in brackets), else the settings'
    default_language, else the plain ``label`` column, else the first language."""
    if wanted:
        w = wanted.strip().lower()
        for lang in languages:
            low = lang.lower()
            code = re.search(r"\(([^)]+)\)", low)
            if low == w or (code and code.group(1).strip() == w) or re.sub(r"\s*\(.*\)", "", low) == w:
                return lang
        if w in ("default", "") and has_plain:
            return ""
        raise ConfigError(f"--language {wanted!r}: the codebook has labels in "
                          f"{', '.join(repr(x) for x in languages) or 'one unnamed language'}")
    if default:
        for lang in languages:
            if lang.lower() == default.lower() or re.sub(r"\s*\(.*\)", "", lang.lower()) == default.lower():
                return lang
    if has_plain or not languages:
        return ""
    return languages[0]


class _Errors:
    """Every codebook problem at once: the analyst fixes them in one round, not one per run."""

    def __init__(self, file: str):
        self.file, self.items = file, []

    def add(self, sheet: str, row: int | None, message: str) -> None:
        self.items.append(_err(self.file, sheet, row, message).args[0])
        self.keys = getattr(self, "keys", []) + [(SHEETS.index(sheet) if sheet in SHEETS else 9, row or 0)]

    def raise_if_any(self) -> None:
        if not self.items:
            return
        order = sorted(range(len(self.items)), key=lambda i: self.keys[i])  # sheet by sheet, row by row
        self.items = [self.items[i] for i in order]
        if len(self.items) == 1:
            raise ConfigError(self.items[0])
        head = f"{self.file}: {len(self.items)} problems in the codebook; fix them all, then run again:"
        raise ConfigError("\n".join([head] + [f"  - {x}" for x in self.items]))


def _err(file: str, sheet: str, row: int | None, message: str) -> ConfigError:
    where = f"{file}, sheet {sheet}" + (f", row {row}" if row else "")
    return ConfigError(f"{where}: {message}")


def _settings_values(rows: list[list[Any]]) -> dict[str, tuple[str, int]]:
    values: dict[str, tuple[str, int]] = {}
    cells = [[_cell(c) for c in r] for r in rows]
    cells = [r for r in cells if any(r)]
    if not cells:
        return values
    first = [c.lower() for c in cells[0]]
    # XLSForm puts keys in a header row and values below; people also write key/value rows.
    horizontal = len(cells) >= 2 and ((len(first) > 1 and first[1] in KNOWN_SETTINGS) or
                                      (first[0] in KNOWN_SETTINGS and cells[1][0].lower() not in KNOWN_SETTINGS))
    if horizontal:
        for j, k in enumerate(first):
            if k and j < len(cells[1]):
                values[k] = (cells[1][j], 2)
    else:
        for i, r in enumerate(cells, start=1):
            if r and r[0] and r[0].lower() not in ("key", "setting", "name"):
                values[r[0].lower()] = (r[1] if len(r) > 1 else "", i)
    return values


_YES = ("yes", "true", "1", "是", "y", "true()")


def load_codebook(path: str | Path, language: str | None = None) -> Codebook:
    """Read and check a codebook; every problem names sheet and row, all of them in one error."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"codebook not found: {path}")
    file = path.name
    sheets = _sheets(path)
    if "survey" not in sheets:
        raise _err(file, "survey", None, "missing; the codebook needs sheets survey and choices (XLSForm layout)")
    errors = _Errors(file)
    settings = _settings_values(sheets.get("settings", []))
    header, recs = _records(sheets["survey"])
    for col in ("type", "name"):
        if col not in header:
            errors.add("survey", 1, f"no column {col!r}; the header needs type, name, label")
    errors.raise_if_any()
    languages = _languages(header, "label")
    c_header, _ = _records(sheets.get("choices", []))
    for lang in _languages(c_header, "label"):
        if lang not in languages:
            languages.append(lang)
    lang = _pick_language(language, languages, "label" in header, settings.get("default_language", ("", 0))[0])
    english = next((x for x in languages if _is_english(x) and x != lang), "")
    allow_dups = settings.get("allow_choice_duplicates", ("", 0))[0].lower() in _YES
    positional = settings.get("positional_codes", ("", 0))[0].lower() in _YES
    notes: list[str] = []
    lists = _load_choices(sheets.get("choices", []), errors, lang, english, allow_dups, positional, notes)

    questions: list[Question] = []
    skipped: list[Question] = []
    seen: dict[str, int] = {}
    stack: list[tuple[str, str, str, int, str]] = []  # (kind, name, relevant, row, label)
    for row, rec in recs:
        raw = re.sub(r"\s+", " ", rec.get("type", "")).strip()
        low = raw.lower()
        name = rec.get("name", "")
        own_label = _lang_value(rec, "label", lang) or rec.get("label", "")
        if not low:
            if name or own_label:
                errors.add("survey", row, f"the row has no type (name {name!r}); write a type such as text or select_one L")
            continue
        m = _BEGIN.match(low)
        if m:
            kind = "loop" if m.group(1) == "loop" else "repeat" if m.group(1) != "group" else "group"
            stack.append((kind, name or (m.group(2) or ""), rec.get("relevant", ""), row, own_label or name))
            continue
        if _END.match(low):
            if stack:
                stack.pop()
            continue
        if low in METADATA or low.startswith("uri:"):
            continue
        if low in NOTE_TYPES:  # no answer, but calculations may refer to it (as blank)
            if name:
                skipped.append(Question(type="note", name=name, label=own_label or name, row=row, not_tabulated="note"))
            continue
        path_names = tuple(s[1] for s in stack if s[1])
        path_labels = tuple(s[4] for s in stack if s[1])
        group_rel = tuple((s[1], s[2], s[3]) for s in stack if s[2])
        repeat = next((s[1] for s in reversed(stack) if s[0] == "repeat"), "")
        loop = next((s[1] for s in reversed(stack) if s[0] == "loop"), "")
        base, list_name, other = "", "", False
        sm = _SELECT.match(raw)
        so = _SELECT_OTHER.match(raw)
        if so:
            base = so.group(1).lower().replace(" ", "_")
        elif sm:
            base = "select_multiple" if ("multiple" in sm.group(1).lower() or "all that apply" in sm.group(1).lower()) \
                else "select_one"
            list_name, other = sm.group(2), bool(sm.group(3))
        elif low in _SIMPLE:
            base = _SIMPLE[low]
        elif low in NOT_TABULATED or low.split(" ")[0] == "osm":
            base = low.split(" ")[0]
        elif low.split(" ")[0] in ("select_one", "select_multiple", "select_one_from_file",
                                   "select_multiple_from_file", "select_one_external", "rank"):
            errors.add("survey", row, f"{low.split(' ')[0]} needs one list name, e.g. '{low.split(' ')[0]} yesno' "
                                      f"(found {raw!r})")
            continue
        else:
            errors.add("survey", row, f"type {raw!r} is not an XLSForm question type; use one of "
                                      f"{', '.join(TYPES)}, date, or a type XLSForm knows")
            continue
        if not name:
            errors.add("survey", row, "the question has no name")
            continue
        if name in seen:
            errors.add("survey", row, f"name {name!r} is used twice (first on row {seen[name]})")
            continue
        seen[name] = row
        q = Question(type=base, name=name, label=own_label or name,
                     label_en=_lang_value(rec, "label", english) if english else "",
                     bins=rec.get("bins", ""), calculation=rec.get("calculation", ""),
                     relevant=rec.get("relevant", ""), dimension=rec.get("dimension", ""),
                     tabulate=normalize_choice(rec.get("tabulate", "")) not in ("no", "false", "0", "否", "n"),
                     row=row, path=path_names, path_labels=path_labels, group_relevant=group_rel, repeat=repeat,
                     constraint=rec.get("constraint", ""))
        if base in ("select_one", "select_multiple"):
            q.list_name = list_name
            if list_name not in lists:
                errors.add("survey", row, f"list {list_name!r} is not in sheet choices")
                continue
            if other:
                q.list_name = _with_other(lists, list_name)
        if loop:
            q.not_tabulated = f"loop over {loop}"
        elif repeat:  # answered once per repeat instance, on the repeat's own sheet: not a respondent column
            q.not_tabulated = f"repeat {repeat}"
        elif base not in TYPES and not q.is_date:
            q.not_tabulated = raw.split(" ")[0] if so else base
        if q.not_tabulated:
            skipped.append(q)
            continue
        if q.bins:
            if not q.is_numeric:
                errors.add("survey", row, f"bins apply to integer, decimal or calculate questions, not {base}")
            elif q.bins not in lists:
                errors.add("survey", row, f"bins list {q.bins!r} is not in sheet choices")
            else:
                _check_bins(lists[q.bins], errors)
        if base == "calculate" and not q.calculation:
            errors.add("survey", row, "a calculate question needs a calculation, e.g. 2018 - ${成立年份}")
        if q.dimension and base != "select_one":
            errors.add("survey", row, "a Likert item (with a dimension) must be select_one over a scale list")
        questions.append(q)
        if other:
            questions.append(Question(type="text", name=f"{name}_other", label=f"{q.label}（其他，请注明）",
                                      label_en=f"{q.label_en or q.label} (other, specify)", row=row, path=path_names,
                                      group_relevant=group_rel, repeat=repeat,
                                      relevant=f"selected(${{{name}}}, 'other')", other_of=name))
    if not questions and not errors.items:
        errors.add("survey", None, "no questions to tabulate" + (
            f" (read but not tabulated: {', '.join(f'{q.name} ({q.not_tabulated})' for q in skipped if q.type != 'note')})"
            if any(q.type != "note" for q in skipped) else ""))
    cb = Codebook(questions=questions, lists=lists, path=str(path), positional_codes=positional, language=lang,
                  languages=languages, notes=notes, skipped=skipped)
    _load_settings(cb, settings, errors)
    _load_dimensions(cb, sheets.get("dimensions", []), errors)
    _check_references(cb, errors)
    errors.raise_if_any()
    return cb


OTHER_NAME = "other"


def _with_other(lists: dict[str, ChoiceList], list_name: str) -> str:
    """``select_one L or_other``: the list plus XLSForm's ``other`` choice."""
    key = f"{list_name} or_other"
    if key not in lists:
        base = lists[list_name]
        extra = [] if any(c.name == OTHER_NAME for c in base.choices) else [Choice(OTHER_NAME, "其他", "Other")]
        lists[key] = ChoiceList(key, base.choices + extra, positional=base.positional)
    return key


def _load_choices(rows: list[list[Any]], errors: _Errors, lang: str, english: str, allow_dups: bool,
                  positional: bool, notes: list[str]) -> dict[str, ChoiceList]:
    header, recs = _records(rows)
    if recs and "list_name" not in header:
        errors.add("choices", 1, "no column 'list_name' (or 'list name'); the header needs list_name, name, label")
        return {}
    lists: dict[str, ChoiceList] = {}
    merged: dict[str, int] = {}
    for row, rec in recs:
        ln = rec.get("list_name", "")
        if not ln:
            errors.add("choices", row, "the choice has no list_name")
            continue
        name = rec.get("name", "")
        label = _lang_value(rec, "label", lang) or rec.get("label", "")
        if not name and not label:
            errors.add("choices", row, "the choice has neither name nor label")
            continue
        rng = None
        if rec.get("range"):
            try:
                rng = parse_interval(rec["range"])
            except ValueError as exc:
                errors.add("choices", row, f"range {exc}")
        lst = lists.setdefault(ln, ChoiceList(ln, positional=positional))
        first = next((c for c in lst.choices if c.name == (name or label)), None)
        if first is not None:
            if allow_dups:  # a cascading select repeats a name under another filter: one category
                merged[ln] = merged.get(ln, 0) + 1
                continue
            errors.add("choices", row, f"choice {name or label!r} appears twice in list {ln!r} (first on row "
                                       f"{first.row}); rename one, or set allow_choice_duplicates = yes in settings")
            continue
        lst.choices.append(Choice(name=name or label, label=label or name,
                                  label_en=_lang_value(rec, "label", english) if english else "",
                                  code=rec.get("code", ""), range=rng, row=row))
    for ln, k in merged.items():
        notes.append(f"choices: list {ln!r} repeats {k} choice name(s) (allow_choice_duplicates); "
                     "each name is counted once, as its first row")
    for lst in lists.values():
        _check_lookup(lst, errors)
    return lists


def _check_lookup(lst: ChoiceList, errors: _Errors) -> None:
    """Two choices of one list must not share a name, label or code (an answer would be ambiguous).

    Labels that differ only in case are different labels (XLSForm compares exactly)."""
    owner: dict[str, Choice] = {}
    for c in lst.choices:
        for t in {choice_key(c.name), choice_key(c.label), choice_key(c.code) if c.code else ""} - {""}:
            if t in owner and owner[t] is not c:
                errors.add("choices", c.row, f"{t!r} names two choices of list {lst.name!r} "
                           f"(also row {owner[t].row}); make names and labels unique")
            owner.setdefault(t, c)


def _check_bins(lst: ChoiceList, errors: _Errors) -> None:
    for c in lst.choices:
        if c.range is None:
            errors.add("choices", c.row, f"bin {c.name!r} of list {lst.name!r} has no range, e.g. [300,2000)")
            return
    for i, a in enumerate(lst.choices):
        for b in lst.choices[i + 1:]:
            if a.range.overlaps(b.range):
                errors.add("choices", b.row, f"range {b.range.text} of {b.name!r} overlaps {a.range.text} of "
                           f"{a.name!r} (row {a.row}) in list {lst.name!r}; a value must fall in one bin only")


SETTING_KEYS = ("title", "form_title", "survey_date", "handed_out", "valid_min_share", "valid_min_answered",
                "positional_codes")
KNOWN_SETTINGS = set(SETTING_KEYS) | {"form_id", "version", "default_language", "style", "instance_name",
                                      "allow_choice_duplicates", "public_key", "submission_url", "namespaces",
                                      "auto_send", "auto_delete", "xml_root", "id_string"}


def _load_settings(cb: Codebook, values: dict[str, tuple[str, int]], errors: _Errors) -> None:
    cb.title = (values.get("title") or values.get("form_title") or ("", 0))[0]
    cb.survey_date = values.get("survey_date", ("", 0))[0]
    for key, conv in (("handed_out", int), ("valid_min_answered", int), ("valid_min_share", float)):
        raw, row = values.get(key, ("", 0))
        if not raw:
            continue
        try:
            value = conv(float(raw)) if conv is int else conv(raw)
        except ValueError:
            errors.add("settings", row, f"{key} {raw!r} is not a number")
            continue
        if key == "valid_min_share" and not 0 <= value <= 1:
            errors.add("settings", row, f"valid_min_share {raw} must be between 0 and 1 (0.5 = half)")
            continue
        if value < 0:
            errors.add("settings", row, f"{key} must not be negative")
            continue
        setattr(cb, key, value)


def _load_dimensions(cb: Codebook, rows: list[list[Any]], errors: _Errors) -> None:
    header, recs = _records(rows)
    for _, rec in recs:
        if rec.get("name"):
            en = next((v for k, v in rec.items() if k.startswith("label:") and _is_english(k.split(":")[-1]) and v), "")
            cb.dimensions[rec["name"]] = Dimension(rec["name"], rec.get("label", "") or rec["name"], en)
    for d in cb.dimension_order():
        cb.dimensions.setdefault(d, Dimension(d, d))
    for q in cb.questions:
        if q.is_likert and q.list_name in cb.lists:
            pts = cb.lists[q.list_name].points()
            if len(pts) != len(cb.lists[q.list_name].choices) or len(pts) < 2:
                errors.add("choices", cb.lists[q.list_name].choices[0].row,
                           f"Likert scale {q.list_name!r} needs numeric points (names or codes 1..5)")


def _check_references(cb: Codebook, errors: _Errors) -> None:
    from cluster_credit_cli.survey.xpath import XPathError, compile_checked, parse, refs, unsupported, uses_dot

    names = {q.name: q for q in cb.questions}
    known = set(names) | {q.name for q in cb.skipped}
    calc_refs: dict[str, list[str]] = {}
    group_seen: set[tuple[str, int]] = set()
    for q in cb.questions:
        items = [("calculation", q.calculation, q.row)] if q.calculation else []
        items += [("relevant", q.relevant, q.row)] if q.relevant else []
        items += [(f"relevant of group {g!r}", text, row) for g, text, row in q.group_relevant]
        for what, text, row in items:
            if what.startswith("relevant of group"):
                if (text, row) in group_seen:
                    continue
                group_seen.add((text, row))
            try:
                node = compile_checked(text)
                if uses_dot(node):
                    raise XPathError(f"'.' (the question itself) belongs in a constraint, not in {text!r}")
            except XPathError as exc:
                errors.add("survey", row, f"{what}: {exc}")
                continue
            for ref in refs(node):
                if ref not in known:
                    errors.add("survey", row, f"{what} refers to ${{{ref}}}, which is not a question")
            if what == "calculation":
                calc_refs[q.name] = [r for r in refs(node) if r in names]
        if q.constraint:
            try:
                node = parse(q.constraint)
                bad = unsupported(node)
                if bad or any(r not in names for r in refs(node)):
                    q.constraint = ""
                    cb.notes.append(f"{q.name}: constraint not checked ({', '.join(bad) or 'refers to a question not read'})")
            except XPathError as exc:
                q.constraint = ""
                cb.notes.append(f"{q.name}: constraint not checked ({exc})")
    # cycles among calculations
    state: dict[str, int] = {}

    def visit(q: Question, chain: list[str]) -> bool:
        if state.get(q.name) == 2:
            return True
        if state.get(q.name) == 1:
            errors.add("survey", q.row, f"calculations refer to each other in a circle: {' -> '.join(chain + [q.name])}")
            return False
        state[q.name] = 1
        for ref in calc_refs.get(q.name, []):
            if not visit(names[ref], chain + [q.name]):
                state[q.name] = 2
                return False
        state[q.name] = 2
        return True

    for q in cb.questions:
        visit(q, [])
