"""CSV written a column at a time: the bytes ``csv.writer`` would write, at a fraction of the cost.

The detail CSVs of a city round hold millions of cells. ``csv.writer.writerows`` formats and
quotes cell by cell in a Python loop over rows; here each column is formatted once per distinct
value (codes, names, labels and scores repeat a lot) and the lines are joined from the formatted
columns. The output is byte-identical to ``csv.writer`` with the default (excel) dialect:
``QUOTE_MINIMAL``, ``\\r\\n`` line ends, floats as ``repr``, ``None`` as an empty field — and
text that a spreadsheet would run as a formula gets a leading apostrophe (as every cell ccredit
writes, see ``excel.escape_for_text_output``).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from cluster_credit_cli.outputs.excel import INJECTION_PREFIXES

_NEEDS_QUOTES = (",", '"', "\r", "\n")
CHUNK_ROWS = 100_000


def value_key(value: Any) -> tuple:
    """A dict key for caching per distinct value: values that compare equal but print differently
    (1, 1.0 and True; 0.0 and -0.0) get different keys."""
    if value.__class__ is float and value == 0:
        return (float, value, str(value))
    return (value.__class__, value)


def format_value(value: Any) -> str:
    """One cell as ``csv.writer`` writes it (after the formula escape for text)."""
    if value is None:
        return ""
    if isinstance(value, str):
        if value.startswith(INJECTION_PREFIXES):
            value = "'" + value
        if any(ch in value for ch in _NEEDS_QUOTES):
            return '"' + value.replace('"', '""') + '"'
        return value
    if isinstance(value, float):  # numpy float64 too: csv.writer uses float's repr
        return float.__repr__(value)
    return str(value)


def format_column(values: Sequence[Any] | np.ndarray | pd.Series) -> list[str]:
    """Every cell of one column formatted, each distinct value once."""
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values, dtype=object) \
        if not isinstance(values, np.ndarray) else values
    if arr.dtype.kind == "f":
        codes, uniques = pd.factorize(arr, use_na_sentinel=True)
        # NaN is a float too: csv.writer writes repr(nan) = 'nan'
        table = np.array([float.__repr__(u) for u in uniques.tolist()] + ["nan"], dtype=object)
        out = table[codes]
        zero = arr == 0  # factorize merges 0.0 and -0.0; repr does not
        if zero.any():
            out[zero] = np.where(np.signbit(arr[zero]), "-0.0", "0.0")
        return out.tolist()
    if arr.dtype.kind in "iu":
        codes, uniques = pd.factorize(arr)
        return np.array([str(u) for u in uniques.tolist()], dtype=object)[codes].tolist()
    if arr.dtype.kind == "O" and len(arr):
        codes, uniques = pd.factorize(arr, use_na_sentinel=True)
        uniq = uniques.tolist()
        # Text only: factorize's equality is exact for str (1 == 1.0 == True would merge otherwise).
        if all(u.__class__ is str for u in uniq):
            table = np.array([format_value(u) for u in uniq] + [""], dtype=object)
            out = table[codes]
            missing = np.flatnonzero(codes == -1)  # None → '', NaN → 'nan': format each one
            if len(missing):
                out[missing] = [format_value(v) for v in arr[missing].tolist()]
            return out.tolist()
    # Mixed object columns may hold values that compare equal but print differently: cache by key.
    cache: dict[tuple, str] = {}
    out = []
    for v in arr.tolist():
        key = value_key(v)
        try:
            text = cache.get(key)
        except TypeError:  # unhashable: format without caching
            out.append(format_value(v))
            continue
        if text is None:
            text = cache[key] = format_value(v)
        out.append(text)
    return out


def write_columns(fh, header: Sequence[str], columns: Sequence[Sequence[Any] | np.ndarray | pd.Series]) -> int:
    """Write ``header`` and the rows made of ``columns`` (equal lengths) to the text file ``fh``.

    ``fh`` is opened with ``newline=""`` like a file for ``csv.writer``. Returns the row count.
    """
    head = ",".join(format_value(h) for h in header)
    fh.write((head if head or len(header) != 1 else '""') + "\r\n")
    columns = [c.to_numpy() if isinstance(c, pd.Series) else c for c in columns]  # positional slices
    n = len(columns[0]) if columns else 0
    if any(len(c) != n for c in columns):
        raise ValueError("columns of different lengths")
    for start in range(0, n, CHUNK_ROWS):  # bounded memory: a chunk of formatted lines at a time
        parts = [format_column(c[start:start + CHUNK_ROWS]) for c in columns]
        if len(parts) == 1:  # csv.writer quotes a row that is one empty field (else it reads as no field)
            parts = [['""' if s == "" else s for s in parts[0]]]
        fh.write("\r\n".join(map(",".join, zip(*parts))))
        fh.write("\r\n")
    return n
