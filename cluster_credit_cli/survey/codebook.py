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
IGNORED_TYPES = ("note", "begin_group", "end_group", "begin group", "end group", "start", "end", "today",
                 "deviceid", "begin_repeat", "end_repeat", "begin repeat", "end repeat")
REF = re.compile(r"\$\{([^}]+)\}")


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

    def lookup(self) -> dict[str, int]:
        """Normalised answer text -> choice index: names first, then labels, then codes."""
        index: dict[str, int] = {}
        for i, c in enumerate(self.choices):
            index.setdefault(normalize_choice(c.name), i)
        for i, c in enumerate(self.choices):
            for t in (c.label, c.label_en):
                if t:
                    index.setdefault(normalize_choice(t), i)
        for i, c in enumerate(self.choices):
            code = c.code or str(i + 1)
            index.setdefault(normalize_choice(code), i)
        return index

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


@dataclass
class Question:
    type: str  # one of TYPES
    name: str
    label: str
    label_en: str = ""
    list_name: str = ""  # select_one / select_multiple
    bins: str = ""  # list name of bins for numeric questions
    calculation: str = ""
    relevant: str = ""
    dimension: str = ""
    tabulate: bool = True
    row: int = 0  # spreadsheet row in `survey`

    def text(self, lang: str) -> str:
        return (self.label_en or self.label or self.name) if lang == "en" else (self.label or self.name)

    @property
    def is_likert(self) -> bool:
        return self.type == "select_one" and bool(self.dimension)

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


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

def _sheets(path: Path) -> dict[str, list[list[Any]]]:
    from python_calamine import CalamineWorkbook

    from cluster_credit_cli.inputs.reading import read_grid

    if path.suffix.lower() not in (".xlsx", ".xlsm", ".xls"):
        raise ConfigError(f"{path.name}: a codebook is an .xlsx workbook with sheets survey and choices")
    try:
        names = CalamineWorkbook.from_path(str(path)).sheet_names
    except Exception as exc:  # noqa: BLE001 - calamine raises several types
        raise ConfigError(f"{path.name}: cannot read the codebook ({exc})") from None
    return {str(n).strip().lower(): read_grid(path, n).rows for n in names}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(value)


def _records(rows: list[list[Any]], sheet: str, file: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header (lower-cased) and the non-blank rows as dicts with their spreadsheet row numbers."""
    start = next((i for i, r in enumerate(rows) if any(_cell(c) for c in r)), None)
    if start is None:
        return [], []
    header = [_cell(c).lower().replace(" ", "") for c in rows[start]]
    out = []
    for i, r in enumerate(rows[start + 1:], start=start + 2):
        rec = {h: _cell(r[j]) if j < len(r) else "" for j, h in enumerate(header) if h}
        if any(rec.values()):
            out.append((i, rec))
    return header, out


def _english(rec: dict[str, str], base: str) -> str:
    for k, v in rec.items():
        if k.startswith(base + "::") and v and ("english" in k or k.endswith("::en")):
            return v
    return ""


def _err(file: str, sheet: str, row: int | None, message: str) -> ConfigError:
    where = f"{file}, sheet {sheet}" + (f", row {row}" if row else "")
    return ConfigError(f"{where}: {message}")


def load_codebook(path: str | Path) -> Codebook:
    """Read and check a codebook; every error names sheet and row."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"codebook not found: {path}")
    file = path.name
    sheets = _sheets(path)
    if "survey" not in sheets:
        raise _err(file, "survey", None, "missing; the codebook needs sheets survey and choices (XLSForm layout)")
    lists = _load_choices(sheets.get("choices", []), file)
    header, recs = _records(sheets["survey"], "survey", file)
    for col in ("type", "name"):
        if col not in header:
            raise _err(file, "survey", 1, f"no column {col!r}; the header needs type, name, label")
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for row, rec in recs:
        qtype_raw = rec.get("type", "").strip()
        qtype = re.sub(r"\s+", " ", qtype_raw).lower()
        if not qtype or qtype in IGNORED_TYPES or qtype.split(" ")[0] in ("note",):
            continue
        parts = qtype.split(" ")
        base = parts[0]
        if base not in TYPES:
            raise _err(file, "survey", row, f"type {qtype_raw!r} is not supported; use one of {', '.join(TYPES)}")
        name = rec.get("name", "")
        if not name:
            raise _err(file, "survey", row, "the question has no name")
        if name in seen:
            raise _err(file, "survey", row, f"name {name!r} is used twice (first on row {seen[name]})")
        seen[name] = row
        q = Question(type=base, name=name, label=rec.get("label", "") or name, label_en=_english(rec, "label"),
                     bins=rec.get("bins", ""), calculation=rec.get("calculation", ""),
                     relevant=rec.get("relevant", ""), dimension=rec.get("dimension", ""),
                     tabulate=normalize_choice(rec.get("tabulate", "")) not in ("no", "false", "0", "否", "n"),
                     row=row)
        if base in ("select_one", "select_multiple"):
            if len(parts) < 2 or not parts[1]:
                raise _err(file, "survey", row, f"{base} needs a list name, e.g. '{base} yesno'")
            q.list_name = qtype_raw.split()[1]
            if q.list_name not in lists:
                raise _err(file, "survey", row, f"list {q.list_name!r} is not in sheet choices")
        if q.bins:
            if not q.is_numeric:
                raise _err(file, "survey", row, f"bins apply to integer, decimal or calculate questions, not {base}")
            if q.bins not in lists:
                raise _err(file, "survey", row, f"bins list {q.bins!r} is not in sheet choices")
            _check_bins(lists[q.bins], file)
        if base == "calculate" and not q.calculation:
            raise _err(file, "survey", row, "a calculate question needs a calculation, e.g. 2018 - ${成立年份}")
        if q.dimension and base != "select_one":
            raise _err(file, "survey", row, "a Likert item (with a dimension) must be select_one over a scale list")
        questions.append(q)
    if not questions:
        raise _err(file, "survey", None, "no questions")
    cb = Codebook(questions=questions, lists=lists, path=str(path))
    _load_settings(cb, sheets.get("settings", []), file)
    _load_dimensions(cb, sheets.get("dimensions", []), file)
    _check_references(cb, file)
    return cb


def _load_choices(rows: list[list[Any]], file: str) -> dict[str, ChoiceList]:
    header, recs = _records(rows, "choices", file)
    if recs and "list_name" not in header:
        raise _err(file, "choices", 1, "no column 'list_name'; the header needs list_name, name, label")
    lists: dict[str, ChoiceList] = {}
    for row, rec in recs:
        ln = rec.get("list_name", "")
        if not ln:
            raise _err(file, "choices", row, "the choice has no list_name")
        name, label = rec.get("name", ""), rec.get("label", "")
        if not name and not label:
            raise _err(file, "choices", row, "the choice has neither name nor label")
        rng = None
        if rec.get("range"):
            try:
                rng = parse_interval(rec["range"])
            except ValueError as exc:
                raise _err(file, "choices", row, f"range {exc}") from None
        lst = lists.setdefault(ln, ChoiceList(ln))
        if any(c.name == (name or label) for c in lst.choices):
            raise _err(file, "choices", row, f"choice {name or label!r} appears twice in list {ln!r}")
        lst.choices.append(Choice(name=name or label, label=label or name, label_en=_english(rec, "label"),
                                  code=rec.get("code", ""), range=rng, row=row))
    for lst in lists.values():
        _check_lookup(lst, file)
    return lists


def _check_lookup(lst: ChoiceList, file: str) -> None:
    """Two choices of one list must not share a name or label (an answer would be ambiguous)."""
    owner: dict[str, Choice] = {}
    for c in lst.choices:
        for t in {normalize_choice(c.name), normalize_choice(c.label)}:
            if t in owner and owner[t] is not c:
                raise _err(file, "choices", c.row, f"{t!r} names two choices of list {lst.name!r} "
                           f"(also row {owner[t].row}); make names and labels unique")
            owner[t] = c


def _check_bins(lst: ChoiceList, file: str) -> None:
    for c in lst.choices:
        if c.range is None:
            raise _err(file, "choices", c.row, f"bin {c.name!r} of list {lst.name!r} has no range, e.g. [300,2000)")
    for i, a in enumerate(lst.choices):
        for b in lst.choices[i + 1:]:
            if a.range.overlaps(b.range):
                raise _err(file, "choices", b.row, f"range {b.range.text} of {b.name!r} overlaps {a.range.text} of "
                           f"{a.name!r} (row {a.row}) in list {lst.name!r}; a value must fall in one bin only")


SETTING_KEYS = ("title", "form_title", "survey_date", "handed_out", "valid_min_share", "valid_min_answered")


def _load_settings(cb: Codebook, rows: list[list[Any]], file: str) -> None:
    values: dict[str, tuple[str, int]] = {}
    cells = [[_cell(c) for c in r] for r in rows]
    cells = [r for r in cells if any(r)]
    if not cells:
        return
    first = [c.lower() for c in cells[0]]
    known = set(SETTING_KEYS) | {"form_id", "version", "default_language", "style", "instance_name"}
    # XLSForm puts keys in a header row and values below; people also write key/value rows.
    horizontal = len(cells) >= 2 and ((len(first) > 1 and first[1] in known) or
                                      (first[0] in known and cells[1][0].lower() not in known))
    if horizontal:
        for j, k in enumerate(first):
            if k and j < len(cells[1]):
                values[k] = (cells[1][j], 2)
    else:
        for i, r in enumerate(cells, start=1):
            if r and r[0] and r[0].lower() not in ("key", "setting", "name"):
                values[r[0].lower()] = (r[1] if len(r) > 1 else "", i)
    cb.title = (values.get("title") or values.get("form_title") or ("", 0))[0]
    cb.survey_date = values.get("survey_date", ("", 0))[0]
    for key, conv in (("handed_out", int), ("valid_min_answered", int), ("valid_min_share", float)):
        raw, row = values.get(key, ("", 0))
        if not raw:
            continue
        try:
            value = conv(float(raw)) if conv is int else conv(raw)
        except ValueError:
            raise _err(file, "settings", row, f"{key} {raw!r} is not a number") from None
        if key == "valid_min_share" and not 0 <= value <= 1:
            raise _err(file, "settings", row, f"valid_min_share {raw} must be between 0 and 1 (0.5 = half)")
        if value < 0:
            raise _err(file, "settings", row, f"{key} must not be negative")
        setattr(cb, key, value)


def _load_dimensions(cb: Codebook, rows: list[list[Any]], file: str) -> None:
    header, recs = _records(rows, "dimensions", file)
    for _, rec in recs:
        if rec.get("name"):
            cb.dimensions[rec["name"]] = Dimension(rec["name"], rec.get("label", "") or rec["name"], _english(rec, "label"))
    for d in cb.dimension_order():
        cb.dimensions.setdefault(d, Dimension(d, d))
    for q in cb.questions:
        if q.is_likert:
            pts = cb.lists[q.list_name].points()
            if len(pts) != len(cb.lists[q.list_name].choices) or len(pts) < 2:
                raise _err(file, "choices", cb.lists[q.list_name].choices[0].row,
                           f"Likert scale {q.list_name!r} needs numeric points (names or codes 1..5)")


def calc_expression(calculation: str) -> tuple[str, dict[str, str]]:
    """``2018 - ${成立年份}`` -> (``2018 - _r0``, {"_r0": "成立年份"}) for ``expr.evaluate``."""
    mapping: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        ref = m.group(1).strip()
        for k, v in mapping.items():
            if v == ref:
                return k
        key = f"_r{len(mapping)}"
        mapping[key] = ref
        return key

    return REF.sub(sub, halfwidth(calculation)), mapping


def _check_references(cb: Codebook, file: str) -> None:
    from cluster_credit_cli.model.expr import ExpressionError, names_in

    names = {q.name: q for q in cb.questions}
    for q in cb.questions:
        if q.calculation:
            text, mapping = calc_expression(q.calculation)
            try:
                used = names_in(text)
            except ExpressionError as exc:
                raise _err(file, "survey", q.row, f"calculation: {exc}") from None
            for u in used:
                if u not in mapping:
                    raise _err(file, "survey", q.row, f"calculation uses {u!r}; refer to questions as ${{name}}")
                ref = names.get(mapping[u])
                if ref is None:
                    raise _err(file, "survey", q.row, f"calculation refers to ${{{mapping[u]}}}, which is not a question")
                if not (ref.is_numeric or ref.type == "select_one"):
                    raise _err(file, "survey", q.row, f"calculation uses ${{{ref.name}}}, a {ref.type} question")
        if q.relevant:
            from cluster_credit_cli.survey.relevant import RelevantError, parse_relevant

            try:
                node = parse_relevant(q.relevant)
            except RelevantError as exc:
                raise _err(file, "survey", q.row, f"relevant: {exc}") from None
            for ref in node.refs():
                if ref not in names:
                    raise _err(file, "survey", q.row, f"relevant refers to ${{{ref}}}, which is not a question")
    # cycles among calculations
    state: dict[str, int] = {}

    def visit(q: Question, chain: list[str]) -> None:
        if state.get(q.name) == 2:
            return
        if state.get(q.name) == 1:
            raise _err(file, "survey", q.row, f"calculations refer to each other in a circle: {' -> '.join(chain + [q.name])}")
        state[q.name] = 1
        if q.calculation:
            _, mapping = calc_expression(q.calculation)
            for ref in mapping.values():
                visit(names[ref], chain + [q.name])
        state[q.name] = 2

    for q in cb.questions:
        visit(q, [])
