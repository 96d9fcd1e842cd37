"""The round's enterprises as JSON text, built a column at a time.

Encoding one dict per enterprise (``json.JSONEncoder.encode``) was most of the JSON's and the
register's time at 20,000 firms: ~45 values each, almost all of them repeated floats. Here each
field is a column: a table of texts (every distinct value encoded once) and one code per row; the
keys and separators are constant columns. Neighbouring columns are merged per distinct
*combination* of their values while those stay few (25 leaf scores of 3-13 values each make a few
thousand combinations, not one per row), so each enterprise's text is the join of a handful of
pieces.

The text is exactly what the stdlib encoder gives for the dicts of
``RoundResult.enterprise_records`` (``ensure_ascii=False``, separators ``", "`` and ``": "``,
floats as ``float.__repr__``, NaN/Infinity as the stdlib writes them, anything else through the
encoder itself with ``default=str``): tests/test_json_rows.py compares the bytes with the previous
code, kept there as the reference.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# What the stdlib encoder uses for str with ensure_ascii=False (its C version when there is one).
_encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]
# Everything that is not plain text or a number: the old encoder, so the text cannot differ.
_encode_any = json.JSONEncoder(ensure_ascii=False, default=str).encode

# A column: one code per row into a table of texts.
Column = tuple[np.ndarray, list]
LIMIT = 1 / 32  # a group of columns stays one piece while it has at most n * LIMIT combinations (measured: 1/16-1/64 best at 20k)


@contextlib.contextmanager
def gc_paused():
    """The cyclic garbage collector off while the texts are built (and back on after).

    Building them makes tens of thousands of short-lived tuples and lists; that can set off a
    full collection, which walks every container of the round still in memory (after the workbook,
    ~70 ms at 20,000 firms: as much as building the register rows). Nothing made here forms a
    cycle, so nothing is left for the collector; reference counting frees it all as before.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def scalar_text(value: Any) -> tuple[str, bool]:
    """``(JSON text, plain)``: plain when a strict encoder (``allow_nan=False``) gives the same."""
    cls = value.__class__
    if cls is str:
        return _encode_str(value), True
    if value is None:
        return "null", True
    if cls is float:
        if math.isfinite(value):
            return float.__repr__(value), True
        return _encode_any(value), False
    if cls is int:
        return int.__repr__(value), True
    return _encode_any(value), False


def _key_text(key: Any) -> str:
    if key.__class__ is str:
        return _encode_str(key)
    # json writes int/float/bool/None keys as strings; anything else is its TypeError, as before
    return _encode_any({key: 0})[1:-4]


def _scalar_codes(values: list, prefix: str = "", suffix: str = "") -> tuple[Column, bool]:
    """A column of scalars: each distinct (type, value) encoded once."""
    n = len(values)
    classes = set(map(type, values))
    if classes == {str} and n > 64:  # codes and names: (nearly) one per row, no table to share
        texts = list(map(_encode_str, values))
        return (np.arange(n), [prefix + t + suffix for t in texts] if prefix or suffix else texts), True
    if classes <= {str, int, type(None)}:  # no two of these are equal across types (bool and float are)
        codes, uniques = pd.factorize(np.array(values, dtype=object), use_na_sentinel=True)  # None: -1
        table = [prefix + (_encode_str(v) if v.__class__ is str else int.__repr__(v)) + suffix
                 for v in uniques.tolist()]
        table.append(prefix + "null" + suffix)
        return (np.where(codes < 0, len(table) - 1, codes), table), True
    index: dict[tuple, int] = {}
    table = []
    codes = np.empty(n, dtype=np.intp)
    plain = True
    for i, v in enumerate(values):
        key = (v.__class__, v)
        try:
            code = index.get(key)
        except TypeError:  # unhashable: its own entry
            key, code = None, None
        if code is None:
            text, ok = scalar_text(v)
            plain &= ok
            code = len(table)
            table.append(prefix + text + suffix)
            # 0.0 == -0.0 and NaN != NaN: floats that print differently or never match are not shared
            if key is not None and (v.__class__ is not float or (math.isfinite(v) and v != 0)):
                index[key] = code
        codes[i] = code
    return (codes, table), plain


def _list_codes(values: list, prefix: str = "", suffix: str = "") -> tuple[Column, bool]:
    """A column of short lists (statuses, missing items, reasons): each distinct list encoded once."""
    n = len(values)
    try:
        keys = list(map(tuple, values))
        distinct = set(keys)
    except TypeError:  # an unhashable item
        distinct = None
    if distinct is not None and all(x.__class__ is str for k in distinct for x in k):
        table = list(distinct)
        index = {k: i for i, k in enumerate(table)}
        codes = np.fromiter(map(index.__getitem__, keys), dtype=np.intp, count=n)
        return (codes, [prefix + _encode_any(list(k)) + suffix for k in table]), True
    # other items (numbers, NaN ...): 1, 1.0 and True are equal keys but print differently
    return (np.arange(n), [prefix + _encode_any(list(items)) + suffix for items in values]), False


def _num_codes(column, prefix: str = "", suffix: str = "") -> tuple[Column, bool]:
    """A ``NumColumn`` (row i is ``uniques[codes[i]]``, code -1 None) as a text column."""
    table = []
    plain = True
    for u in column.uniques:
        text, ok = scalar_text(u)
        plain &= ok
        table.append(prefix + text + suffix)
    table.append(prefix + "null" + suffix)
    codes = np.asarray(column.codes, dtype=np.intp)
    return (np.where(codes < 0, len(table) - 1, codes), table), plain


def _object_columns(columns: dict, n: int) -> tuple[list[Column], bool]:
    """``{"k": v, ...}`` as text columns, one per key (the braces in the first and the last)."""
    if not columns:
        return [(np.zeros(n, dtype=np.intp), ["{}"])], True
    out = []
    plain = True
    last = len(columns) - 1
    for i, (key, col) in enumerate(columns.items()):
        c, ok = _num_codes(col, ("{" if i == 0 else ", ") + _key_text(key) + ": ", "}" if i == last else "")
        plain &= ok
        out.append(c)
    return out, plain


def join_columns(columns: list[Column], n: int, as_bytes: bool = False, flat: bool = False) -> Any:
    """Row i's text: the join of ``table[codes[i]]`` over the columns, in order (UTF-8 bytes
    with ``as_bytes``); with ``flat`` all rows' texts as one string.

    Neighbouring columns are grouped while their distinct combinations of codes stay few; each
    combination's text is joined once and the rows join one piece per group.
    """
    limit = max(64, int(n * LIMIT))
    groups: list[tuple[np.ndarray, list[np.ndarray], list[list]]] = []  # row codes, per-column codes of each combination, tables
    cur = None
    for codes, table in columns:
        if cur is not None and len(table) == 1 and len(cur[1][0]) <= limit:  # a constant joins a small group
            cur = (cur[0], cur[1] + [np.zeros(len(cur[1][0]), dtype=np.intp)], cur[2] + [table])
            continue
        size = len(cur[1][0]) * len(table) if cur is not None else 0
        if cur is not None and size <= n * 4 + 64:
            key = cur[0] * len(table) + codes
            seen = np.zeros(size, dtype=np.intp)  # the combinations that occur, numbered in key order
            seen[key] = 1
            uniques = np.flatnonzero(seen)
            if len(uniques) <= limit:
                merged = (np.cumsum(seen) - 1)[key]
                a, b = np.divmod(uniques, len(table))
                cur = (merged, [p[a] for p in cur[1]] + [b], cur[2] + [table])
                continue
        if cur is not None:
            groups.append(cur)
        cur = (codes, [np.arange(len(table))], [table])
    if cur is None:
        empty = b"" if as_bytes else ""
        return empty if flat else [empty] * n
    groups.append(cur)
    empty = b"" if as_bytes else ""
    tables = []
    for codes, parts, column_tables in groups:
        if len(column_tables) == 1:
            table = column_tables[0]
        else:
            table = list(map("".join, zip(*(np.array(t, dtype=object)[p].tolist()
                                            for p, t in zip(parts, column_tables)))))
        tables.append(list(map(str.encode, table)) if as_bytes else table)
    if flat:  # all the rows as one text
        return empty.join(map(empty.join, zip(*[table if len(table) == n and _is_arange(codes) else
                                                np.array(table, dtype=object)[codes].tolist()
                                                for (codes, _, _), table in zip(groups, tables)])))
    pieces = [table if len(table) == n and _is_arange(codes) else np.array(table, dtype=object)[codes].tolist()
              for (codes, _, _), table in zip(groups, tables)]
    if len(pieces) == 1:
        return pieces[0]
    return list(map(empty.join, zip(*pieces)))


def _is_arange(codes: np.ndarray) -> bool:
    return bool(len(codes) == 0 or (codes[0] == 0 and (np.diff(codes) == 1).all()))


@dataclass
class EnterpriseTexts:
    """Per enterprise (workbook order) the JSON text of the register's JSON fields.

    ``plain``: every value in them is text, a finite number or null -- then a strict dump (the
    register's ``allow_nan=False``) gives the same text; otherwise the register dumps its rows the
    old way (and refuses NaN/Infinity as it always did).
    """
    status: list[str]
    dimensions: list[str]
    scores: list[str]
    missing: list[str]
    reasons: list[str]
    plain: bool


def enterprise_texts(result) -> EnterpriseTexts:
    """The register's JSON fields of every enterprise (kept on the result)."""
    cached = result.__dict__.get("_enterprise_texts")
    if cached is not None:
        return cached
    c = result.enterprise_columns()
    n = len(c)
    lists = [_list_codes(v) for v in (c.status, c.missing, c.reasons)]
    dims, p_dims = _object_columns(c.dimensions, n)
    scores, p_scores = _object_columns(c.scores, n)
    status, missing, reasons = (np.array(t, dtype=object)[codes].tolist() for (codes, t), _ in lists)
    texts = EnterpriseTexts(status, join_columns(dims, n), join_columns(scores, n), missing, reasons,
                            all(ok for _, ok in lists) and p_dims and p_scores)
    result.__dict__["_enterprise_texts"] = texts
    return texts


def enterprise_lines(result, *, first: str = "", between: str = "", last: str = "", as_bytes: bool = False,
                     flat: bool = False) -> Any:
    """Each enterprise as one compact JSON object: the text ``JSONEncoder(ensure_ascii=False,
    default=str).encode`` gives for ``result.enterprise_records()``; ``first`` before the first
    line, ``between`` before each other one and ``last`` after the last; ``flat``: all of them
    as one text (so a document around them is made without copying the lines again)."""
    c = result.enterprise_columns()
    n = len(c)
    zeros = np.zeros(n, dtype=np.intp)
    cols: list[Column] = [
        (np.minimum(np.arange(n), 1), [first, between]), (zeros, ['{"code": ']), _scalar_codes(c.code)[0],
        (zeros, [', "name": ']), _scalar_codes(c.name)[0],
        _list_codes(c.status, ', "status": ')[0], _scalar_codes(c.grade, ', "grade": ')[0],
        _scalar_codes(c.rank, ', "rank": ')[0],
        *(_num_codes(col, f", {_key_text(k)}: ")[0] for k, col in c.numbers.items())]
    dims, _ = _object_columns(c.dimensions, n)
    scores, _ = _object_columns(c.scores, n)
    dims[0] = (dims[0][0], [', "dimensions": ' + t for t in dims[0][1]])
    scores[0] = (scores[0][0], [', "scores": ' + t for t in scores[0][1]])
    cols += [*dims, *scores, _list_codes(c.missing, ', "missing": ')[0], _list_codes(c.reasons, ', "reasons": ', "}")[0]]
    if last and n:
        ends = np.zeros(n, dtype=np.intp)
        ends[-1] = 1
        cols.append((ends, ["", last]))
    return join_columns(cols, n, as_bytes, flat)
