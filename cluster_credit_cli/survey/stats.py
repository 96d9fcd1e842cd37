"""Survey tabulation: coding answers against a codebook, validity, frequencies, Likert, crosstabs.

Everything is vectorised over respondents: each column is decoded once per *distinct* answer
(``pd.factorize``) and mapped back, bins are numpy masks, counts are ``np.bincount``. Percents are
computed exactly with ``Decimal`` and rounded half-up (0.25 -> 0.3 at one decimal); ``sum_100``
uses the largest-remainder method so a single-choice block adds up to exactly 100.

Answer codes per question and respondent: ``>= 0`` the choice/bin index, ``BLANK`` (-1) not
answered, ``UNKNOWN`` (-2) answered with something the codebook does not know (reported with
row and column), ``NA`` (-3) not asked (``relevant`` is false).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cluster_credit_cli.i18n import say, use_lang
from cluster_credit_cli.problems import Problems, UsageError
from cluster_credit_cli.survey.codebook import ChoiceList, Codebook, Question, choice_key, loose_key
from cluster_credit_cli.text import clean_text, normalize_choice, normalize_header

BLANK, UNKNOWN, NA = -1, -2, -3
TABULATED = ("select_one", "select_multiple", "integer", "decimal", "text")
EPOCH_D = np.datetime64("1970-01-01", "D")
MAX_CELL_PROBLEMS = 20  # per question and kind; the rest are summarised in one problem
HEADER_SCAN_ROWS = 30
_SPLIT = re.compile(r"[,，、;；|┋\n]+")


# -- rounding ----------------------------------------------------------------------------------

def to_decimal(x: Any) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(repr(float(x))) if isinstance(x, float) else Decimal(int(x))


def round_half_up(x: Any, decimals: int = 1) -> Decimal:
    """Half away from zero on the decimal value: 0.25 -> 0.3, 2.675 -> 2.7 (1 decimal)."""
    return to_decimal(x).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def exact_percent(count: Any, total: Any) -> Decimal | None:
    total = to_decimal(total)
    if total == 0:
        return None
    return to_decimal(count) * 100 / total


def largest_remainder(exact: list[Decimal], decimals: int = 1, total: int = 100) -> list[Decimal]:
    """Round so the parts sum to exactly ``total``: floor each, then hand the missing units to
    the largest remainders (ties: the earlier category, i.e. codebook order)."""
    unit = Decimal(1).scaleb(-decimals)
    scaled = [p / unit for p in exact]
    floors = [s.to_integral_value(rounding=ROUND_FLOOR) for s in scaled]
    missing = int(Decimal(total) / unit - sum(floors))
    order = sorted(range(len(exact)), key=lambda i: (-(scaled[i] - floors[i]), i))
    for i in order[:max(missing, 0)]:
        floors[i] += 1
    return [(f * unit).quantize(unit) for f in floors]


# -- data --------------------------------------------------------------------------------------

@dataclass
class Coded:
    question: Question
    kind: str  # choice | multi | number | date | text
    codes: np.ndarray | None = None  # int per respondent (choice, binned number)
    values: np.ndarray | None = None  # float per respondent (numbers, dates as days), object (text)
    multi: np.ndarray | None = None  # bool (respondents x choices)
    answered: np.ndarray | None = None  # bool: a non-blank answer given (and asked)
    relevant: np.ndarray | None = None  # bool: asked
    column: str = ""  # header as found in the data ("" for calculate / not found)
    skipped: np.ndarray | None = None  # bool: the platform marked the answer as skipped ((跳过), -3)
    col: "_Col | None" = None  # the data column (answer texts, for messages and XPath), built on demand

    @property
    def texts(self) -> np.ndarray | None:
        if self.col is None:
            return None
        return np.array(self.col.texts, dtype=object)[self.col.codes] if len(self.col.codes) else \
            np.zeros(0, dtype=object)


@dataclass
class SurveyData:
    codebook: Codebook
    file: str
    sheet: str | None
    rows: np.ndarray  # spreadsheet row number per returned questionnaire
    valid: np.ndarray  # bool per returned questionnaire
    answered_count: np.ndarray
    applicable_count: np.ndarray
    coded: dict[str, Coded]
    weights: np.ndarray | None
    problems: Problems
    weight_column: str = ""
    layout: str = ""  # the export layout recognised, said in the output
    layout_en: str = ""
    parent: np.ndarray | None = None  # a repeat's sheet: the respondent (_parent_index) of each instance

    @property
    def returned(self) -> int:
        return int(len(self.rows))

    @property
    def n_valid(self) -> int:
        return int(self.valid.sum())

    @property
    def handed_out(self) -> int | None:
        return self.codebook.handed_out

    def invalid_rows(self) -> list[tuple[int, int, int]]:
        idx = np.flatnonzero(~self.valid)
        return [(int(self.rows[i]), int(self.answered_count[i]), int(self.applicable_count[i])) for i in idx]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, bool):
        return "1" if value else "0"
    return clean_text(value)


def _number(text: str) -> float | None:
    from cluster_credit_cli.inputs.reading import parse_number_text

    v = parse_number_text(text)
    if v is None:
        t = text.replace("万", "").replace("亿", "")
        if t != text:
            v = parse_number_text(t)
    return v


def _header_score(row: list[Any], exact: set[str], labels: set[str]) -> int:
    from cluster_credit_cli.survey.layout import exact_key, numbered

    hits = 0
    for c in row:
        t = _cell_text(c)
        if not t:
            continue
        k = exact_key(t)
        if k in exact or normalize_header(t) in labels or k.split("/", 1)[0] in exact:
            hits += 1
        elif numbered(t) is not None and normalize_header(numbered(t)[1]) in labels:
            hits += 1
    return hits


def _find_header(rows: list[list[Any]], questions: list[Question]) -> int | None:
    from cluster_credit_cli.survey.layout import _path_keys, label_keys

    exact = {k for q in questions for k in _path_keys(q)}
    labels = {k for q in questions for k in label_keys(q)} | {normalize_header(q.name) for q in questions}
    best, best_hits = None, 0
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        hits = _header_score(row, exact, labels)
        if hits > best_hits:
            best, best_hits = i, hits
    if best is None:  # numbered headers whose texts differ from the labels: the row with most numbered cells
        from cluster_credit_cli.survey.layout import numbered

        counts = [sum(1 for c in r if _cell_text(c) and numbered(_cell_text(c))) for r in rows[:HEADER_SCAN_ROWS]]
        if counts and max(counts) >= 2:
            best = counts.index(max(counts))
    return best


class _Reporter:
    """Cell problems, capped per question and code, the remainder summarised (never dropped)."""

    def __init__(self, problems: Problems, file: str, sheet: str | None):
        self.problems, self.file, self.sheet = problems, file, sheet

    def cells(self, rows: np.ndarray, values: list[str], column: str, code: str, message, severity="error",
              what: tuple[str, str] | None = None) -> None:
        for r, v in zip(rows[:MAX_CELL_PROBLEMS], values[:MAX_CELL_PROBLEMS]):
            self.problems.add(self.file, self.sheet, int(r), column, code, message(v), severity)
        rest = len(rows) - MAX_CELL_PROBLEMS
        if rest > 0:
            more = ", ".join(str(int(r)) for r in rows[MAX_CELL_PROBLEMS:MAX_CELL_PROBLEMS + 10])
            dots = " ..." if rest > 10 else ""
            self.problems.add(self.file, self.sheet, None, column, code,
                              say(f"列“{column}”另有{rest}个单元格{what[0] if what else '有同样的问题'}（行 {more}{dots}）",
                                  f"{rest} more cells in column {column} {what[1] if what else 'with the same problem'} "
                                  f"(rows {more}{dots})"), severity)


def _read_grid(path: Path, sheet: str | None):
    """The survey file's grid; LibreOffice-saved exports (1,024 formatted columns) are read."""
    from cluster_credit_cli.inputs.filecheck import Limits, preflight
    from cluster_credit_cli.inputs.reading import MAX_COLS, MAX_ROWS, ReadError, read_grid

    verdict = preflight(path, max_rows=MAX_ROWS, max_cols=MAX_COLS, limits=Limits(sparse=True))
    try:
        return read_grid(path, sheet, verdict=verdict)
    except ReadError as exc:
        raise UsageError(str(exc)) from None


def read_responses(path: str | Path, codebook: Codebook, *, sheet: str | None = None,
                   weight: str | None = None, problems: Problems | None = None,
                   today: float | None = None) -> SurveyData:
    """Read a responses file (.xlsx/.csv), recognise its layout, code every answer, decide validity."""
    from cluster_credit_cli.survey.layout import EMPTY_MARKERS, SKIP_MARKERS, WJX_EMPTY_CODES, WJX_SKIP_CODES, resolve

    path = Path(path)
    problems = problems if problems is not None else Problems()
    grid = _read_grid(path, sheet)
    file = path.name
    read_qs = [q for q in codebook.questions if q.type != "calculate"] + \
              [q for q in codebook.skipped if q.type != "note"]
    h = _find_header(grid.rows, read_qs or codebook.questions)
    if h is None:
        raise UsageError(f"{file}: no column header matches a question of the codebook "
                         f"{Path(codebook.path).name}; the header row must carry the names or labels")
    # headers as typed (for messages); matching goes through layout.resolve
    header = [c.strip() if isinstance(c, str) else _cell_text(c) for c in grid.rows[h]]
    body = grid.rows[h + 1:]
    width = len(header)
    cells = np.empty((len(body), width), dtype=object)
    if body and all(len(r) == width for r in body):  # calamine grids are rectangular: one bulk copy
        cells[:, :] = body
    else:
        for i, r in enumerate(body):
            cells[i, :min(len(r), width)] = r[:width]
    columns = [_Col.of(cells[:, j]) for j in range(width)]
    lay = resolve(header, codebook, read_qs)
    # the platforms' markers for skipped and empty answers
    skip_marks = {normalize_choice(x) for x in SKIP_MARKERS}
    empty_marks = {normalize_choice(x) for x in EMPTY_MARKERS}
    if lay.platform == "wjx" and any(t in WJX_SKIP_CODES | WJX_EMPTY_CODES for c in columns for t in c.texts):
        lay.wjx_codes = True
        skip_marks |= WJX_SKIP_CODES
        empty_marks |= WJX_EMPTY_CODES
    for c in columns:
        c.mark(skip_marks, empty_marks)
    keep = np.zeros(len(body), bool)
    for c in columns:
        keep |= c.nonblank | c.skipped
    columns = [c.take(keep) for c in columns]
    rows = np.flatnonzero(keep) + h + 2  # spreadsheet rows (1-based, header counted)
    rep = _Reporter(problems, file, grid.sheet)
    n = int(keep.sum())

    for q in codebook.questions:
        if q.type == "calculate" or q.name in lay.single or q.name in lay.split:
            continue
        problems.add(file, grid.sheet, h + 1, q.label, "column_not_found",
                     say(f"找不到题目“{q.label}”（{q.name}）的列；请把列名写成“{q.label}”或“{q.name}”；"
                         "该题按未回答计", f"no column for question {q.name!r} ({q.label}); name the column "
                         f"{q.label!r} or {q.name!r}; its answers are counted as missing"))
    for qname, cols in lay.split_unknown.items():
        q = next(x for x in codebook.questions if x.name == qname)
        for j in cols:
            problems.add(file, grid.sheet, h + 1, header[j], "unknown_option_column",
                         say(f"列“{header[j]}”像是多选题“{q.label}”的一个选项列，但选项表 {q.list_name} 中没有该选项；"
                             "该列的答案未计入；请在编码本中增加该选项",
                             f"column {header[j]!r} looks like an option column of {q.name!r}, but list "
                             f"{q.list_name} has no such choice; its answers are not counted; add the choice"))

    coded: dict[str, Coded] = {}
    for q in read_qs:
        if q.name in lay.split and q.name not in lay.single:  # both exported: the joined column is read
            coded[q.name] = _code_split(q, codebook, {i: columns[j] for i, j in lay.split[q.name].items()},
                                        "、".join(header[j] for j in lay.split[q.name].values()), n)
            continue
        j = lay.single.get(q.name)
        col = columns[j] if j is not None else _Col.empty(n)
        coded[q.name] = _code_question(q, codebook, col, header[j] if j is not None else "")
    # a multiple choice exported both ways: the option columns must agree with the joined column
    for qname in [x for x in lay.split if x in lay.single and x in coded]:
        q = coded[qname].question
        split = _code_split(q, codebook, {i: columns[j] for i, j in lay.split[qname].items()}, "", n)
        joined = coded[qname]
        both = split.answered & joined.answered & (joined.codes != UNKNOWN) & (split.codes != UNKNOWN)
        differ = np.flatnonzero(both & (split.multi != joined.multi).any(axis=1))
        if len(differ):
            rep.cells(rows[differ], joined.col.text_at(differ), joined.column, "split_columns_disagree",
                      lambda v, q=q: say(f"{q.label}：合并列的答案“{v}”与各选项列（0/1）不一致；按合并列统计，请核对",
                                         f"{q.label}: the joined answer {v!r} disagrees with the option columns (0/1); "
                                         "the joined column is counted, check the row"), "warning")
    for q in codebook.skipped:
        if q.type == "note":
            coded[q.name] = Coded(q, "text", values=np.full(n, "", dtype=object), answered=np.zeros(n, bool),
                                  codes=np.full(n, BLANK), skipped=np.zeros(n, bool))
    env = _Env(codebook, coded, n, today)
    for q in codebook.questions:
        if q.type == "calculate":
            _calculate(q, codebook, coded, n, env)

    # who should answer (relevant, with every enclosing group's condition), in codebook order; a
    # question not asked is masked at once so later conditions see only answers that were asked for
    raw_answered: dict[str, np.ndarray] = {}
    for q in codebook.questions + [x for x in codebook.skipped if x.type != "note"]:
        c = coded[q.name]
        raw_answered[q.name] = c.answered
        rel = np.ones(n, bool)
        for cond in q.conditions:
            rel &= env.truth(cond)
        if c.skipped is not None:
            rel &= ~c.skipped
        c.relevant = rel
        if not rel.all():
            if c.codes is not None:
                c.codes = np.where(rel, c.codes, NA)
            if c.multi is not None:
                c.multi = c.multi & rel[:, None]
            if c.kind in ("number", "date"):
                c.values = np.where(rel, c.values, np.nan)
            c.answered = c.answered & rel
            env.changed(q.name)

    counted = [q for q in codebook.questions if q.type != "calculate"]
    if counted:
        answered = np.column_stack([coded[q.name].answered & coded[q.name].relevant for q in counted])
        applicable = np.column_stack([coded[q.name].relevant for q in counted])
        answered_count, applicable_count = answered.sum(axis=1), applicable.sum(axis=1)
    else:
        answered_count = applicable_count = np.zeros(n, int)
    if codebook.valid_min_answered is not None:
        valid = answered_count >= codebook.valid_min_answered
    else:
        valid = answered_count >= codebook.valid_min_share * applicable_count
    valid &= answered_count > 0

    weights = None
    weight_col = ""
    if weight:
        weights, weight_col = _weights(columns, header, [normalize_header(x) for x in header], weight, rows, valid, rep)

    # answers given to questions not asked: kept out of the tables, said so
    for q in codebook.questions:
        c = coded[q.name]
        if q.conditions and c.column:
            wrong = np.flatnonzero(raw_answered[q.name] & ~c.relevant & valid & ~(c.skipped if c.skipped is not None
                                                                                  else False))
            if len(wrong):
                cond = " and ".join(f"({x})" for x in q.conditions) if len(q.conditions) > 1 else q.conditions[0]
                rep.cells(rows[wrong], [""] * len(wrong), c.column, "answered_not_relevant",
                          lambda v, q=q, cond=cond: say(f"{q.label}：按跳题条件（{cond}）不应回答此题却有答案；该答案不计入统计",
                                                        f"{q.label}: answered although relevant ({cond}) is false; "
                                                        "the answer is left out of the table"), "warning")
    # constraints: answers the form itself would have refused
    for q in codebook.questions:
        c = coded[q.name]
        if q.constraint and c.column:
            from cluster_credit_cli.survey.xpath import XPathError

            try:
                ok = env.truth(q.constraint, dot=q.name)
            except XPathError:
                continue
            bad = np.flatnonzero(c.answered & ~ok & valid)
            if len(bad):
                rep.cells(rows[bad], _texts_at(c, bad), c.column, "constraint_failed",
                          lambda v, q=q: say(f"{q.label}：答案“{v}”不满足表单的约束条件（{q.constraint}）",
                                             f"{q.label}: answer {v!r} breaks the form's constraint ({q.constraint})"),
                          "warning")

    data = SurveyData(codebook, file, grid.sheet, rows, valid, answered_count, applicable_count, coded,
                      weights, problems, weight_col, lay.describe("zh"), lay.describe("en"))
    from cluster_credit_cli.survey.layout import exact_key

    pj = next((j for j, x in enumerate(header) if exact_key(x) in ("_parent_index", "parent_key")), None)
    if pj is not None:
        data.parent = np.array(columns[pj].texts, dtype=object)[columns[pj].codes]
    _report_unknown(data, rep)
    return data


def _texts_at(c: Coded, idx: np.ndarray) -> list[str]:
    if c.col is not None:
        return c.col.text_at(idx)
    if c.values is not None:
        return [str(c.values[i]) for i in idx]
    return [""] * len(idx)


def _weights(columns, header, norm_header, weight, rows, valid, rep) -> tuple[np.ndarray, str]:
    key = normalize_header(weight)
    if key not in norm_header:
        raise UsageError(f"--weight: no column {weight!r} in the data; columns: {', '.join(h for h in header if h)}")
    j = norm_header.index(key)
    col = columns[j]
    w_u = np.array([np.nan if (v := _number(t) if t else None) is None else float(v) for t in col.texts], dtype="float64")
    w = w_u[col.codes]
    bad = (np.isnan(w) | (w < 0)) & valid
    if bad.any():
        idx = np.flatnonzero(bad)
        rep.cells(rows[idx], col.text_at(idx), header[j], "bad_weight",
                  lambda v: say(f"权重“{v}”不是不小于0的数字；该问卷权重按0计",
                                f"weight {v!r} is not a number >= 0; the questionnaire gets weight 0"))
    return np.where(np.isnan(w) | (w < 0), 0.0, w), header[j]


@dataclass
class _Col:
    """One data column as distinct cell texts plus a per-row index into them (last text is blank).

    ``skip_u`` marks distinct texts that are a platform's "skipped" marker; those and "empty"
    markers read as blank."""

    codes: np.ndarray
    texts: list[str]
    skip_u: np.ndarray | None = None

    @classmethod
    def of(cls, values: np.ndarray) -> "_Col":
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        texts = [_cell_text(u) for u in uniques] + [""]
        return cls(np.where(codes < 0, len(texts) - 1, codes), texts)

    @classmethod
    def empty(cls, n: int) -> "_Col":
        return cls(np.zeros(n, dtype=np.intp), [""])

    def mark(self, skip: set[str], empty: set[str]) -> None:
        keys = [normalize_choice(t) for t in self.texts]
        self.skip_u = np.array([k in skip for k in keys], bool)
        if self.skip_u.any() or any(k in empty for k in keys):
            self.texts = ["" if (k in skip or k in empty) else t for k, t in zip(keys, self.texts)]

    @property
    def skipped(self) -> np.ndarray:
        if self.skip_u is None:
            return np.zeros(len(self.codes), bool)
        return self.skip_u[self.codes]

    @property
    def nonblank(self) -> np.ndarray:
        return np.array([t != "" for t in self.texts], bool)[self.codes]

    def take(self, mask: np.ndarray) -> "_Col":
        return _Col(self.codes[mask], self.texts, self.skip_u)

    def text_at(self, idx: np.ndarray) -> list[str]:
        return [self.texts[i] for i in self.codes[idx]]


def _decode_unique(col: _Col, func) -> tuple[np.ndarray, list]:
    """Apply ``func`` to each distinct cell text once; per-row indexes into the results."""
    return col.codes, [func(t) for t in col.texts[:-1]] + [func("")]


_FILL_IN = re.compile(r"^(.*?)\s*[〖\[【](.*)[〗\]】]\s*$", re.S)  # 问卷星: 其他〖自填文字〗


def _one_choice(lst: ChoiceList, t: str) -> int:
    """The choice a select_one answer names, or UNKNOWN; never two names read as one (``1 2`` is not 12)."""
    i = lst.lookup().get(choice_key(t))
    if i is not None:
        return i
    m = _FILL_IN.match(t)
    if m and m.group(1):
        i = lst.lookup().get(choice_key(m.group(1)))
        if i is not None:
            return i
    toks = t.split()
    if len(toks) > 1 and all(lst.lookup().get(choice_key(x)) is not None for x in toks):
        return UNKNOWN  # several choices in a single-choice answer
    i = lst.loose().get(loose_key(t))
    return UNKNOWN if i is None else i


def _split_multi(lst: ChoiceList, t: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Choices of a select_multiple cell: separators 、,;|┋ and newlines; XLSForm exports separate
    choice names by spaces. A part is a choice as a whole (a label with spaces) or space-separated
    names; never several names glued together."""
    if not t:
        return (), ()
    hits: list[int] = []
    unknown: list[str] = []
    for p in (p.strip() for p in _SPLIT.split(t)):
        if not p:
            continue
        i = lst.lookup().get(choice_key(p))
        if i is None:
            m = _FILL_IN.match(p)
            if m and m.group(1):
                i = lst.lookup().get(choice_key(m.group(1)))
        if i is not None:
            hits.append(i)
            continue
        toks = p.split()
        found = [lst.lookup().get(choice_key(x)) for x in toks]
        if len(toks) > 1 and all(f is not None for f in found):
            hits += found
            continue
        i = lst.loose().get(loose_key(p))
        if i is not None:
            hits.append(i)
            continue
        seg = _segment(lst, toks)
        if seg is not None:  # labels with spaces, joined by spaces (Kobo's export with labels)
            hits += seg
            continue
        for x, f in zip(toks, found):
            if f is None:
                f = lst.loose().get(loose_key(x))
            if f is None:
                unknown.append(x)
            else:
                hits.append(f)
    return tuple(dict.fromkeys(hits)), tuple(unknown)


def _segment(lst: ChoiceList, toks: list[str]) -> list[int] | None:
    """Split space-separated tokens into consecutive runs that are each a choice (fewest runs);
    None when no such split exists. ``Own funds Private lending`` -> [Own funds, Private lending]."""
    if len(toks) < 2 or len(toks) > 40:
        return None
    best: list[list[int] | None] = [None] * (len(toks) + 1)
    best[0] = []
    for end in range(1, len(toks) + 1):
        for start in range(end):
            if best[start] is None:
                continue
            i = lst.lookup().get(choice_key(" ".join(toks[start:end])))
            if i is not None and (best[end] is None or len(best[start]) + 1 < len(best[end])):
                best[end] = best[start] + [i]
    return best[-1]


def _code_question(q: Question, cb: Codebook, col: _Col, column: str) -> Coded:
    n = len(col.codes)
    answered = col.nonblank
    skipped = col.skipped
    if q.not_tabulated or q.type not in ("select_one", "select_multiple") and not q.is_numeric and not q.is_date:
        texts = np.array(col.texts, dtype=object)[col.codes] if n else np.zeros(0, dtype=object)
        return Coded(q, "text", values=texts, answered=answered, column=column, codes=np.where(answered, 0, BLANK),
                     skipped=skipped, col=col)
    if q.type in ("select_one", "select_multiple"):
        lst = cb.lists[q.list_name]
        k = len(lst.choices)
        if q.type == "select_one":
            codes_u, res = _decode_unique(col, lambda t: BLANK if not t else _one_choice(lst, t))
            table = np.array(res, dtype=int)
            codes = table[codes_u] if n else np.zeros(0, int)
            return Coded(q, "choice", codes=codes, answered=answered, column=column, skipped=skipped, col=col)
        codes_u, res = _decode_unique(col, lambda t: _split_multi(lst, t))
        mat_u = np.zeros((len(res), k), bool)
        unknown_u = np.zeros(len(res), bool)
        for i, (hits, unknown) in enumerate(res):
            mat_u[i, list(hits)] = True
            unknown_u[i] = bool(unknown)
        c = Coded(q, "multi", multi=mat_u[codes_u] if n else np.zeros((0, k), bool), answered=answered, column=column,
                  skipped=skipped, col=col)
        c.codes = np.where(unknown_u[codes_u], UNKNOWN, np.where(answered, 0, BLANK)) if n else np.zeros(0, int)
        c._unknown_tokens = [r[1] for r in res]  # type: ignore[attr-defined]
        c._unique_index = codes_u  # type: ignore[attr-defined]
        return c
    if q.is_date:
        from cluster_credit_cli.survey.xpath import parse_date_text

        def conv(t: str) -> float:
            v = _number(t) if t else None
            if v is not None and 1 <= v < 2958466:  # an Excel date serial
                return float(math.floor(v) - 25569)
            return float(parse_date_text(np.array([t], dtype=object))[0]) if t else np.nan

        codes_u, res = _decode_unique(col, conv)
        vals = np.array(res, dtype="float64")[codes_u] if n else np.zeros(0)
        codes = np.where(~answered, BLANK, np.where(np.isnan(vals), UNKNOWN, 0))
        return Coded(q, "date", values=vals, codes=codes, answered=answered, column=column, skipped=skipped, col=col)
    if q.is_numeric:
        bins = cb.lists.get(q.bins) if q.bins else None

        def conv(t: str):
            if not t:
                return (np.nan, BLANK)
            if bins is not None and _number(t) is None:
                i = bins.find(t)
                if i is not None:
                    return (np.nan, i)  # already binned in the data
            v = _number(t)
            return (np.nan, UNKNOWN) if v is None else (v, BLANK)

        codes_u, res = _decode_unique(col, conv)
        vals_u = np.array([r[0] for r in res], dtype="float64")
        pre_u = np.array([r[1] for r in res], dtype=int)
        values = vals_u[codes_u] if n else np.zeros(0)
        pre = pre_u[codes_u] if n else np.zeros(0, int)
        c = Coded(q, "number", values=values, answered=answered, column=column, skipped=skipped, col=col)
        c.codes = _bin(values, pre, bins) if bins else np.where(pre == UNKNOWN, UNKNOWN, np.where(answered, 0, BLANK))
        return c


_TRUE = {"1", "true", "yes", "y", "是", "√", "✓", "x"}
_FALSE = {"0", "false", "no", "n", "否", ""}


def _code_split(q: Question, cb: Codebook, cols: dict[int, _Col], column: str, n: int) -> Coded:
    """A multiple choice question exported as one 0/1 column per option (Kobo, 问卷星 按序号)."""
    k = len(cb.lists[q.list_name].choices)
    mat = np.zeros((n, k), bool)
    answered = np.zeros(n, bool)
    unknown = np.zeros(n, bool)
    skipped = np.zeros(n, bool)
    bad_texts = [""] * n
    for i, col in cols.items():
        keys = [normalize_choice(t) for t in col.texts]
        yes_u = np.array([t in _TRUE for t in keys], bool)
        bad_u = np.array([t not in _TRUE and t not in _FALSE for t in keys], bool)
        mat[:, i] = yes_u[col.codes]
        bad = bad_u[col.codes]
        for r in np.flatnonzero(bad & ~unknown):
            bad_texts[r] = col.texts[col.codes[r]]
        unknown |= bad
        answered |= mat[:, i]
        skipped |= col.skipped
    c = Coded(q, "multi", multi=mat, answered=answered | unknown, column=column, skipped=skipped)
    c.codes = np.where(unknown, UNKNOWN, np.where(answered, 0, BLANK))
    c._unknown_tokens = [(t,) if t else () for t in bad_texts]  # type: ignore[attr-defined]
    c._unique_index = np.arange(n)  # type: ignore[attr-defined]
    return c


OUT_OF_RANGE = -4


def _bin(values: np.ndarray, pre: np.ndarray, bins) -> np.ndarray:
    codes = pre.copy()
    has = ~np.isnan(values)
    assigned = np.zeros(len(values), bool)
    for i, ch in enumerate(bins.choices):
        m = ch.range.contains(values) & has & ~assigned
        codes[m] = i
        assigned |= m
    codes[has & ~assigned] = OUT_OF_RANGE
    return codes


class _Env:
    """XPath access to the coded columns; condition results are cached until a question they read
    is masked by its own relevance."""

    def __init__(self, cb: Codebook, coded: dict[str, Coded], n: int, today: float | None):
        from cluster_credit_cli.survey.xpath import Env

        self.cb, self.coded, self.n = cb, coded, n
        self.cache: dict[str, tuple[np.ndarray, list[str]]] = {}
        self.env = Env(n=n, value=self.value, selected=self.selected, count_selected=self.count_selected,
                       canon=self.canon, today=today)

    def value(self, name: str):
        from cluster_credit_cli.survey.xpath import Val

        c = self.coded[name]
        if c.kind in ("number", "date"):
            return Val("num" if c.kind == "number" else "date", c.values)
        if c.kind == "choice":
            lst = self.cb.lists[c.question.list_name]
            names = np.array([ch.name for ch in lst.choices] + [""], dtype=object)
            raw = c.texts if c.texts is not None else np.full(self.n, "", dtype=object)
            return Val("str", np.where(c.codes >= 0, names[np.clip(c.codes, 0, None)],
                                       np.where(c.codes == UNKNOWN, raw, "")).astype(object))
        if c.kind == "multi":
            lst = self.cb.lists[c.question.list_name]
            names = [ch.name for ch in lst.choices]
            return Val("str", np.array([" ".join(names[i] for i in np.flatnonzero(r)) for r in c.multi], dtype=object))
        vals = c.values if c.values is not None else np.full(self.n, "", dtype=object)
        if c.relevant is not None:
            vals = np.where(c.relevant, vals, "").astype(object)
        return Val("str", vals)

    def canon(self, name: str, literal: str) -> str:
        c = self.coded.get(name)
        if c is None:
            return literal
        lst = self.cb.lists.get(c.question.list_name) if c.kind in ("choice", "multi") else None
        if lst is None:
            return literal
        i = lst.find(literal)
        return literal if i is None else lst.choices[i].name

    def selected(self, name: str, choice: str) -> np.ndarray:
        c = self.coded[name]
        lst = self.cb.lists.get(c.question.list_name) if c.kind in ("choice", "multi") else None
        if lst is None:
            return np.array([choice in str(v).split() for v in (c.values if c.values is not None else [])], bool)
        idx = lst.find(choice)
        if idx is None:
            return np.zeros(self.n, bool)
        return c.multi[:, idx] if c.kind == "multi" else c.codes == idx

    def count_selected(self, name: str) -> np.ndarray:
        c = self.coded[name]
        if c.kind == "multi":
            return c.multi.sum(axis=1)
        return (c.codes >= 0).astype(int) if c.codes is not None else np.zeros(self.n, int)

    def truth(self, text: str, dot: str | None = None) -> np.ndarray:
        from cluster_credit_cli.survey.xpath import parse, refs, truth

        key = text if dot is None else f"{dot}\x00{text}"
        hit = self.cache.get(key)
        if hit is not None:
            return hit[0]
        node = parse(text)
        self.env.dot = (lambda: self.value(dot)) if dot else None
        out = truth(node, self.env)
        self.env.dot = None
        self.cache[key] = (out, refs(node) + ([dot] if dot else []))
        return out

    def changed(self, name: str) -> None:
        for k in [k for k, (_, used) in self.cache.items() if name in used]:
            del self.cache[k]


def _calculate(q: Question, cb: Codebook, coded: dict[str, Coded], n: int, env: _Env) -> None:
    from cluster_credit_cli.survey.xpath import evaluate, parse, refs

    if q.name in coded:
        return
    node = parse(q.calculation)
    for ref in refs(node):
        if ref not in coded:
            _calculate(cb.question(ref), cb, coded, n, env)
    v = evaluate(node, env.env)
    bins = cb.lists.get(q.bins) if q.bins else None
    if v.kind in ("num", "bool", "date"):
        out = v.data.astype("float64")
        out = np.where(np.isfinite(out), out, np.nan)
        answered = ~np.isnan(out)
        c = Coded(q, "number" if v.kind != "date" else "date", values=out, answered=answered)
        c.codes = _bin(out, np.full(n, BLANK), bins) if bins else np.where(answered, 0, BLANK)
    else:
        vals = v.data.astype(object)
        nums = pd.to_numeric(pd.Series(vals).replace("", None), errors="coerce").to_numpy(dtype="float64")
        answered = np.array([x != "" for x in vals], bool)
        if bins is not None or (answered.any() and not np.isnan(nums[answered]).any()):
            c = Coded(q, "number", values=nums, answered=answered)
            c.codes = _bin(nums, np.where(answered & np.isnan(nums), UNKNOWN, BLANK), bins) if bins else \
                np.where(answered, 0, BLANK)
        else:
            c = Coded(q, "text", values=vals, answered=answered, codes=np.where(answered, 0, BLANK))
    coded[q.name] = c
    env.changed(q.name)


def _report_unknown(data: SurveyData, rep: _Reporter) -> None:
    cb = data.codebook
    for q in cb.questions:
        c = data.coded[q.name]
        if c.codes is None:
            continue
        col = c.column or q.label
        for code, kind in ((UNKNOWN, "unknown_answer"), (OUT_OF_RANGE, "out_of_range")):
            idx = np.flatnonzero((c.codes == code) & data.valid)
            if not len(idx):
                continue
            if q.type == "calculate":
                texts = [repr(float(v)) if isinstance(v, float) else str(v) for v in c.values[idx]]
            else:
                texts = _texts_at(c, idx)
            lst = cb.choices_of(q)
            known = "、".join(ch.label for ch in lst.choices[:12]) if lst else ""
            if kind == "unknown_answer" and q.type == "select_multiple":
                toks = c._unknown_tokens  # type: ignore[attr-defined]
                ui = c._unique_index  # type: ignore[attr-defined]
                def msg(v, i=iter(idx), q=q, known=known, toks=toks, ui=ui):
                    bad = "、".join(repr(t) for t in toks[ui[next(i)]])
                    return say(f"{q.label}：{bad} 不在选项表 {q.list_name}（{known}）中；其余可识别的选项照常计数",
                               f"{q.label}: {bad} not in list {q.list_name} ({known}); the known choices are still counted")
            elif kind == "unknown_answer" and q.is_date:
                msg = lambda v: say(f"{q.label}：“{v}”不是日期；请写成 2024-03-31 的形式",  # noqa: E731
                                    f"{q.label}: {v!r} is not a date; write it as 2024-03-31")
            elif kind == "unknown_answer" and q.is_numeric:
                msg = lambda v: say(f"{q.label}：“{v}”不是数字{'，也不是分组 ' + q.bins + ' 的类别' if q.bins else ''}；请更正该单元格",  # noqa: E731
                                    f"{q.label}: {v!r} is not a number{' or a bin of ' + q.bins if q.bins else ''}; fix the cell")
            elif kind == "unknown_answer":
                hint = "" if cb.positional_codes else say("；数字答案只按选项的名称、标签或 code 列识别，不按位置",
                                                         "; a number is read as a choice's name, label or code, never its position")
                msg = lambda v, hint=hint: say(f"{q.label}：答案“{v}”不是选项表 {q.list_name}（{known}）中的选项；请更正该单元格或在编码本中增加该选项{hint}",  # noqa: E731
                                               f"{q.label}: answer {v!r} is not a choice of list {q.list_name} ({known}); fix the cell or add the choice{hint}")
            else:
                ranges = "、".join(f"{ch.label} {ch.range.text}" for ch in lst.choices)
                src = f" (= {q.calculation})" if q.calculation else ""
                msg = lambda v, src=src: say(f"{q.label}{src}：数值 {v} 不在分组 {q.bins}（{ranges}）的任何区间内；请放宽区间或更正数据",  # noqa: E731
                                             f"{q.label}{src}: value {v} falls in no bin of {q.bins} ({ranges}); widen a range")
            rep.cells(data.rows[idx], texts, col, kind, msg, what=("的答案不在编码本中", "answered outside the codebook") if kind == "unknown_answer" else ("不在任何区间内", "outside every bin"))


# -- frequencies -------------------------------------------------------------------------------

@dataclass
class CategoryStat:
    name: str
    label: str
    count: float
    percent: Decimal | None
    percent_answers: Decimal | None = None  # multi-choice: percent of all answers


@dataclass
class QuestionStat:
    name: str
    label: str
    type: str
    kind: str  # choice | multi | number | text
    n: float  # valid answers (multi: respondents)
    missing: float
    unknown: float
    not_asked: float
    categories: list[CategoryStat] = field(default_factory=list)
    answers: float = 0  # multi: total answers
    summary: dict[str, float] = field(default_factory=dict)  # unbinned numbers: mean sd min max
    note: str = ""


def _count(x: float, weighted: bool):
    """Counts are integers; weighted counts are sums of weights, rounded to 6 decimals so float
    noise (243.74400000000003) never reaches a table."""
    return round(float(x), 6) if weighted else int(round(x))


def frequencies(data: SurveyData, *, decimals: int = 1, sum_100: bool = False, lang: str = "zh") -> list[QuestionStat]:
    """One block per tabulated question, in codebook order."""
    cb = data.codebook
    v = data.valid
    w = data.weights[v] if data.weights is not None else None
    weighted = w is not None
    out: list[QuestionStat] = []

    def wsum(mask: np.ndarray) -> float:
        return float(w[mask].sum()) if weighted else float(mask.sum())

    for q in cb.questions:
        if not q.tabulate:
            continue
        c = data.coded[q.name]
        codes = c.codes[v]
        st = QuestionStat(q.name, q.text(lang), q.type, c.kind, 0, _count(wsum(codes == BLANK), weighted),
                          _count(wsum((codes == UNKNOWN) | (codes == OUT_OF_RANGE)), weighted),
                          _count(wsum(codes == NA), weighted))
        lst = cb.choices_of(q)
        if c.kind == "multi":
            mat = c.multi[v]
            resp = mat.any(axis=1)
            counts = (w @ mat) if weighted else mat.sum(axis=0).astype(float)
            st.n = _count(wsum(resp), weighted)
            st.answers = _count(float(counts.sum()), weighted)
            for ch, cnt in zip(lst.choices, counts):
                st.categories.append(CategoryStat(ch.name, ch.text(lang), _count(cnt, weighted),
                                                  _rounded(exact_percent(cnt, st.n), decimals),
                                                  _rounded(exact_percent(cnt, st.answers), decimals)))
            st.note = ("多选题：比例为占答题人数的百分比，合计可超过100%；另列占回答次数的百分比" if lang != "en" else
                       "Multiple choice: percent of respondents (may sum above 100%); percent of answers shown too")
        elif lst is not None and (c.kind == "choice" or q.bins):
            ok = codes >= 0
            counts = np.bincount(codes[ok], weights=w[ok] if weighted else None, minlength=len(lst.choices))
            st.n = _count(float(counts.sum()), weighted)
            exact = [exact_percent(x, counts.sum()) for x in counts]
            if sum_100 and counts.sum() > 0:
                pcts = largest_remainder(exact, decimals)
            else:
                pcts = [_rounded(p, decimals) for p in exact]
            for ch, cnt, p in zip(lst.choices, counts, pcts):
                st.categories.append(CategoryStat(ch.name, ch.text(lang), _count(cnt, weighted), p))
        elif c.kind == "date":
            vals = c.values[v]
            ok = ~np.isnan(vals) & (codes >= 0)
            st.n = _count(wsum(ok), weighted)
            if ok.any():
                st.summary = {"min": float(vals[ok].min()), "max": float(vals[ok].max())}
                months = (EPOCH_D + vals[ok].astype("int64")).astype("datetime64[M]")
                span = int((months.max() - months.min()).astype(int)) + 1
                unit = "M" if span <= 24 else "Y"  # a count per month over up to two years, else per year
                keys, inv = np.unique(months.astype(f"datetime64[{unit}]"), return_inverse=True)
                if len(keys) <= 40:
                    cnt = np.bincount(inv, weights=w[ok] if weighted else None, minlength=len(keys))
                    for key, x in zip(keys, cnt):
                        st.categories.append(CategoryStat(str(key), str(key), _count(x, weighted),
                                                          _rounded(exact_percent(x, cnt.sum()), decimals)))
        elif c.kind == "number":
            vals = c.values[v]
            ok = ~np.isnan(vals) & (codes >= 0)
            st.n = _count(wsum(ok), weighted)
            st.summary = _describe(vals[ok], w[ok] if weighted else None)
        else:
            st.n = _count(wsum(codes >= 0), weighted)
        out.append(st)
    return out


def _rounded(p: Decimal | None, decimals: int) -> Decimal | None:
    return None if p is None else round_half_up(p, decimals)


def _describe(x: np.ndarray, w: np.ndarray | None) -> dict[str, float]:
    if len(x) == 0:
        return {}
    mean, sd = weighted_mean_sd(x, w)
    return {"mean": mean, "sd": sd, "min": float(x.min()), "median": weighted_median(x, w), "max": float(x.max())}


def weighted_median(x: np.ndarray, w: np.ndarray | None) -> float:
    """Median with frequency weights: the value where the cumulative weight reaches half the total;
    exactly half -> the mean of that value and the next (so integer weights give the median of the
    expanded sample, and no weights give ``np.median``)."""
    if w is None:
        return float(np.median(x))
    keep = w > 0
    x, w = x[keep], w[keep]
    if len(x) == 0:
        return math.nan
    order = np.argsort(x, kind="stable")
    x, cw = x[order], np.cumsum(w[order])
    half = cw[-1] / 2
    i = int(np.searchsorted(cw, half - 1e-9 * cw[-1]))
    if abs(cw[i] - half) <= 1e-9 * cw[-1] and i + 1 < len(x):
        return float((x[i] + x[i + 1]) / 2)
    return float(x[i])


def weighted_mean_sd(x: np.ndarray, w: np.ndarray | None) -> tuple[float, float]:
    """Mean and sample SD (n - 1); with frequency weights sum(w) plays n."""
    if w is None:
        n = len(x)
        if n == 0:
            return math.nan, math.nan
        return float(x.mean()), float(x.std(ddof=1)) if n > 1 else math.nan
    total = float(w.sum())
    if total <= 0:
        return math.nan, math.nan
    mean = float((w * x).sum() / total)
    sd = math.sqrt(float((w * (x - mean) ** 2).sum()) / (total - 1)) if total > 1 else math.nan
    return mean, sd


# -- Likert ------------------------------------------------------------------------------------

@dataclass
class LikertStat:
    name: str
    label: str
    dimension: str
    n: float
    mean: float
    sd: float
    top2: Decimal | None  # percent of answers in the two highest points


def likert(data: SurveyData, *, decimals: int = 1, lang: str = "zh") -> tuple[list[LikertStat], list[LikertStat]]:
    """Per item and per dimension: n, mean, sample SD, top-2-box percent.

    A dimension's mean and SD are over respondents' dimension scores (the mean of the items of
    that dimension they answered); its top-2-box is the share of all its item answers in the two
    highest points.
    """
    cb = data.codebook
    v = data.valid
    w = data.weights[v] if data.weights is not None else None
    items: list[LikertStat] = []
    per_dim: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for q in cb.questions:
        if not q.is_likert:
            continue
        lst = cb.lists[q.list_name]
        pts = np.array(lst.points(), dtype="float64")
        top = np.sort(np.unique(pts))[-2:]
        codes = data.coded[q.name].codes[v]
        x = np.where(codes >= 0, pts[np.clip(codes, 0, None)], np.nan)
        ok = ~np.isnan(x)
        wi = w[ok] if w is not None else None
        mean, sd = weighted_mean_sd(x[ok], wi)
        hit = np.isin(x[ok], top)
        n = float(wi.sum()) if wi is not None else float(ok.sum())
        top_n = float(wi[hit].sum()) if wi is not None else float(hit.sum())
        items.append(LikertStat(q.name, q.text(lang), q.dimension, _count(n, w is not None), mean, sd,
                                _rounded(exact_percent(top_n, n), decimals)))
        per_dim.setdefault(q.dimension, []).append((x, np.isin(x, top)))
    dims: list[LikertStat] = []
    for d in cb.dimension_order():
        pairs = per_dim[d]
        xs = np.column_stack([p[0] for p in pairs])
        answered = ~np.isnan(xs)
        has = answered.any(axis=1)
        with np.errstate(invalid="ignore"):
            score = np.where(has, np.nansum(xs, axis=1) / np.maximum(answered.sum(axis=1), 1), np.nan)
        wd = w[has] if w is not None else None
        mean, sd = weighted_mean_sd(score[has], wd)
        tops = np.column_stack([p[1] for p in pairs])
        if w is not None:
            n_ans, n_top = float((answered * w[:, None]).sum()), float((tops * w[:, None]).sum())
            n = float(wd.sum())
        else:
            n_ans, n_top, n = float(answered.sum()), float(tops.sum()), int(has.sum())
        dims.append(LikertStat(d, cb.dimensions[d].text(lang), d, _count(n, w is not None), mean, sd,
                               _rounded(exact_percent(n_top, n_ans), decimals)))
    return items, dims


# -- crosstab ----------------------------------------------------------------------------------

@dataclass
class CrossTable:
    row_q: str
    col_q: str
    row_labels: list[str]
    col_labels: list[str]
    counts: np.ndarray  # r x c
    row_pct: list[list[Decimal | None]]
    col_pct: list[list[Decimal | None]]
    group: str = ""  # --by category label ("" = all)
    test: str = ""  # "chi-square" | "fisher" | ""
    statistic: float | None = None
    dof: int | None = None
    p_value: float | None = None
    note: str = ""
    row_label: str = ""
    col_label: str = ""
    missing: int = 0
    cramers_v: float | None = None  # effect size: sqrt(chi2 / (n (min(r, c) - 1))) over the non-empty part  # valid questionnaires without an answer to one of the two


def _categorical(data: SurveyData, name: str, flag: str) -> tuple[Question, np.ndarray, list[str], str]:
    cb = data.codebook
    try:
        q = cb.question(name)
    except KeyError:
        raise UsageError(f"{flag}: no question {name!r} in the codebook; questions: "
                         f"{', '.join(q.name for q in cb.questions)}") from None
    lst = cb.choices_of(q)
    if q.type == "select_multiple" or lst is None:
        raise UsageError(f"{flag}: {name!r} is {q.type}{'' if lst else ' without bins'}; "
                         "crosstabs take select_one questions or binned numbers")
    return q, data.coded[q.name].codes, [c.label for c in lst.choices], lst.name


def crosstab(data: SurveyData, rows: str, cols: str, by: str | None = None, *, decimals: int = 1,
             lang: str = "zh") -> list[CrossTable]:
    rq, rc, rl, _ = _categorical(data, rows, "--rows")
    cq, cc, cl, _ = _categorical(data, cols, "--cols")
    v = data.valid
    groups: list[tuple[str, np.ndarray]] = [("", v)]
    if by:
        bq, bc, bl, _ = _categorical(data, by, "--by")
        groups = [(lab, v & (bc == i)) for i, lab in enumerate(bl)]
    out = []
    for label, mask in groups:
        ok = mask & (rc >= 0) & (cc >= 0)
        counts = np.bincount(rc[ok] * len(cl) + cc[ok], minlength=len(rl) * len(cl)).reshape(len(rl), len(cl))
        t = CrossTable(rq.name, cq.name, [x for x in rl], [x for x in cl], counts,
                       _pct(counts, axis=1, decimals=decimals), _pct(counts, axis=0, decimals=decimals),
                       group=label, row_label=rq.text(lang), col_label=cq.text(lang),
                       missing=int((mask & ~((rc >= 0) & (cc >= 0))).sum()))
        _test(t, lang)
        out.append(t)
    return out


def _pct(counts: np.ndarray, axis: int, decimals: int) -> list[list[Decimal | None]]:
    totals = counts.sum(axis=axis)
    out = []
    for i in range(counts.shape[0]):
        row = []
        for j in range(counts.shape[1]):
            tot = totals[i] if axis == 1 else totals[j]
            row.append(_rounded(exact_percent(int(counts[i, j]), int(tot)), decimals))
        out.append(row)
    return out


def _test(t: CrossTable, lang: str) -> None:
    """Pearson chi-square without continuity correction; Fisher's exact for 2x2 with an expected count < 5."""
    from scipy import stats

    sub = t.counts[t.counts.sum(axis=1) > 0][:, t.counts.sum(axis=0) > 0]
    if sub.shape[0] < 2 or sub.shape[1] < 2:
        t.note = ("检验不可计算：有效行或列少于2" if lang != "en" else
                  "test not computable: fewer than 2 non-empty rows or columns")
        return
    chi2, p, dof, expected = stats.chi2_contingency(sub, correction=False)
    t.cramers_v = float(math.sqrt(chi2 / (sub.sum() * (min(sub.shape) - 1))))
    small = int((expected < 5).sum())
    if sub.shape == (2, 2) and small:
        _, p_f = stats.fisher_exact(sub)
        t.test, t.p_value, t.statistic, t.dof = "fisher", float(p_f), None, None
        t.note = ("期望频数<5，采用Fisher精确检验（双侧）" if lang != "en" else
                  "expected count < 5: Fisher's exact test (two-sided)")
        return
    t.test, t.statistic, t.dof, t.p_value = "chi-square", float(chi2), int(dof), float(p)
    if small:
        share = small / expected.size * 100
        t.note = (f"{small}个单元格（{share:.0f}%）期望频数<5，卡方检验结果需谨慎解读" if lang != "en" else
                  f"{small} cells ({share:.0f}%) have expected count < 5; read the chi-square with care")


# -- one call for the command ------------------------------------------------------------------

@dataclass
class SurveyResult:
    data: SurveyData
    questions: list[QuestionStat]
    items: list[LikertStat]
    dimensions: list[LikertStat]
    decimals: int = 1
    sum_100: bool = False
    lang: str = "zh"

    @property
    def problems(self) -> Problems:
        return self.data.problems

    def to_json(self) -> dict[str, Any]:
        """The stable JSON of ``ccredit survey --json`` (fields as documented)."""
        def num(x):
            if x is None or (isinstance(x, float) and math.isnan(x)):
                return None
            return float(x) if isinstance(x, (Decimal, float)) else x

        def rnd(x, k=4):
            return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), k)

        return {
            "handed_out": self.data.handed_out,
            "returned": self.data.returned,
            "valid": self.data.n_valid,
            "problems": self.problems.as_dicts(),
            "questions": [{"name": q.name, "label": q.label, "type": q.type, "n": q.n, "missing": q.missing,
                           "categories": [{"name": c.name, "label": c.label, "count": c.count,
                                           "percent": num(c.percent)} for c in q.categories]}
                          for q in self.questions],
            "dimensions": [{"name": d.name, "label": d.label, "n": d.n, "mean": rnd(d.mean), "sd": rnd(d.sd),
                            "top2": num(d.top2)} for d in self.dimensions],
            "layout": self.data.layout_en if self.lang == "en" else self.data.layout,
            "not_tabulated": [{"name": q.name, "label": q.text(self.lang), "type": q.not_tabulated}
                              for q in self.data.codebook.skipped if q.type != "note"],
        }


def analyse(data_path: str | Path, codebook_path: str | Path, *, decimals: int = 1, sum_100: bool = False,
            weight: str | None = None, lang: str = "zh", sheet: str | None = None,
            language: str | None = None) -> SurveyResult:
    """Read the codebook and the responses; frequencies and Likert summaries of the valid questionnaires."""
    from cluster_credit_cli.survey.codebook import load_codebook

    if not 0 <= decimals <= 6:
        raise UsageError(f"--decimals {decimals}: use 0 to 6")
    cb = load_codebook(codebook_path, language=language)
    with use_lang(lang):
        data = read_responses(data_path, cb, sheet=sheet, weight=weight)
        items, dims = likert(data, decimals=decimals, lang=lang)
        questions = frequencies(data, decimals=decimals, sum_100=sum_100, lang=lang)
        if sheet is None:
            questions += repeat_frequencies(data_path, cb, data.problems, decimals=decimals, sum_100=sum_100, lang=lang)
    return SurveyResult(data, questions, items, dims, decimals, sum_100, lang)


def repeat_frequencies(data_path: str | Path, cb: Codebook, problems: Problems, *, decimals: int = 1,
                       sum_100: bool = False, lang: str = "zh") -> list[QuestionStat]:
    """Questions inside a ``begin repeat``, tabulated from the repeat's own sheet (Kobo writes each
    repeat to a sheet named after it, joined to the respondents by ``_parent_index``): per repeat
    instance, and for choice questions per respondent (respondents with at least one instance
    giving the choice; percents of respondents with an answer, may sum above 100)."""
    from dataclasses import replace as dc_replace

    from python_calamine import CalamineWorkbook

    from cluster_credit_cli.survey.xpath import parse, refs

    reps: dict[str, list[Question]] = {}
    for q in cb.skipped:
        if q.not_tabulated.startswith("repeat ") and q.type not in ("note",) and (q.type in TABULATED or q.is_date):
            reps.setdefault(q.repeat, []).append(q)
    if not reps or Path(data_path).suffix.lower() not in (".xlsx", ".xlsm", ".xls"):
        return []
    try:
        sheets = {str(x).strip().lower(): x for x in CalamineWorkbook.from_path(str(data_path)).sheet_names}
    except Exception:  # noqa: BLE001 - the main sheet was read; a repeat sheet is a bonus
        return []
    out: list[QuestionStat] = []
    for rep, qs in reps.items():
        sheet = sheets.get(rep.lower()) or sheets.get(rep.lower()[:31])
        if sheet is None:
            continue
        names = {q.name for q in qs}
        sub = []
        for q in qs:
            own = [c for c in ([q.relevant] if q.relevant else []) if not set(refs(parse(c))) <= names]
            if q.type == "calculate" or own:
                continue
            inner = tuple(g for g in q.group_relevant if set(refs(parse(g[1]))) <= names)
            sub.append(dc_replace(q, not_tabulated="", group_relevant=inner))
        if not sub:
            continue
        done = {x.name for x in sub}
        cb.skipped = [q for q in cb.skipped if q.name not in done]  # tabulated now: no longer "not tabulated"
        rcb = Codebook(questions=sub, lists=cb.lists, path=cb.path, valid_min_answered=1,
                       positional_codes=cb.positional_codes)
        rdata = read_responses(data_path, rcb, sheet=sheet, problems=problems)
        per_instance = frequencies(rdata, decimals=decimals, sum_100=sum_100, lang=lang)
        v = rdata.valid
        for st in per_instance:
            st.label = f"{st.label}（{rep}，按条目）" if lang != "en" else f"{st.label} ({rep}, per instance)"
            out.append(st)
            c = rdata.coded[st.name]
            if rdata.parent is None or c.kind not in ("choice", "multi"):
                continue
            lst = cb.choices_of(c.question)
            if lst is None:
                continue
            mat = c.multi[v] if c.kind == "multi" else (c.codes[v][:, None] == np.arange(len(lst.choices))[None, :])
            parent = rdata.parent[v]
            answered = mat.any(axis=1)
            n_resp = len(set(parent[answered]) - {""})
            per = QuestionStat(st.name, (f"{c.question.text(lang)}（{rep}，按受访者）" if lang != "en" else
                                         f"{c.question.text(lang)} ({rep}, per respondent)"), c.question.type, "multi",
                               n_resp, 0, 0, 0)
            for i, ch in enumerate(lst.choices):
                k = len(set(parent[mat[:, i]]) - {""})
                per.categories.append(CategoryStat(ch.name, ch.text(lang), k, _rounded(exact_percent(k, n_resp), decimals)))
            per.answers = sum(x.count for x in per.categories)
            for x in per.categories:
                x.percent_answers = _rounded(exact_percent(x.count, per.answers), decimals)
            per.note = ("按受访者：至少一个条目选择该项的受访者占比" if lang != "en" else
                        "per respondent: share of respondents with at least one instance giving the choice")
            out.append(per)
    return out
