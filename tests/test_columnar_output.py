"""The column-at-a-time writers give exactly what the row-at-a-time ones gave.

The detail CSVs, the JSON and the register rows of a large round are built from whole columns
(each distinct value formatted once); these tests hold them to the bytes of the reference
(``csv.writer``, ``json.dumps`` per dict) on values chosen to trip a cache: 1 / 1.0 / True,
0.0 / -0.0, NaN, None, quotes, commas, newlines and formula-looking text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cluster_credit_cli.outputs.columnar_csv import format_column, write_columns
from cluster_credit_cli.outputs.excel import INJECTION_PREFIXES

TRICKY = [1, 1.0, True, False, 0, 0.0, -0.0, float("nan"), None, "", "a,b", 'say "hi"', "two\nlines", "cr\r",
          "=HYPERLINK(\"x\")", "+1", "-2", "@sum", "普通文本", dt.date(2026, 11, 30), np.float64(2.5),
          np.float64(-0.0), np.int64(7), 1e16, 1e-7, float("inf")]


def _reference(header, rows) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows([("'" + v) if isinstance(v, str) and v.startswith(INJECTION_PREFIXES) else v for v in row]
                for row in rows)
    return buf.getvalue()


def _columnar(header, columns) -> str:
    buf = io.StringIO(newline="")
    write_columns(buf, header, columns)
    return buf.getvalue()


def test_tricky_values_byte_identical():
    col = TRICKY * 3
    rows = [[v, v] for v in col]
    assert _columnar(["a", "b"], [col, np.array(col, dtype=object)]) == _reference(["a", "b"], rows)


def test_typed_columns_byte_identical():
    floats = np.array([0.1, -0.0, 0.0, np.nan, 1.7999999999999998, 100.0, np.inf, -3.25] * 5)
    ints = np.arange(40, dtype=np.int64) - 20
    text = pd.Series(["x", "y,z", None, "=1+1", "x"] * 8, dtype=object)
    rows = [[f, i, t] for f, i, t in zip(floats.tolist(), ints.tolist(), text.tolist())]
    # csv.writer sees numpy scalars for float columns in the old code: the same repr
    assert _columnar(["f", "i", "t"], [floats, ints, text]) == _reference(["f", "i", "t"], rows)


def test_pandas_string_dtype_with_missing():
    s = pd.Series(["a", None, "b", "a"], dtype="str")  # missing is NaN in pandas' str dtype
    ref = _reference(["s"], [[v] for v in s.to_numpy(dtype=object).tolist()])
    assert _columnar(["s"], [s]) == ref
    assert "nan" in ref  # what the row writer wrote for pandas' missing text


def test_chunks_do_not_split_rows(monkeypatch):
    import cluster_credit_cli.outputs.columnar_csv as cc

    monkeypatch.setattr(cc, "CHUNK_ROWS", 3)
    col = list(range(10))
    assert _columnar(["n"], [col]) == _reference(["n"], [[v] for v in col])


def test_lengths_must_agree():
    with pytest.raises(ValueError):
        _columnar(["a", "b"], [[1, 2], [1]])


scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0.0, -0.0, 1.0]), st.text(max_size=6), st.sampled_from(["=a", "-0", "a\"b"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(scalars, min_size=1, max_size=30))
def test_any_mixture_byte_identical(values):
    assert _columnar(["v"], [values]) == _reference(["v"], [[v] for v in values])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True), st.sampled_from([0.0, -0.0])), min_size=1, max_size=30))
def test_float_arrays_byte_identical(values):
    arr = np.array(values, dtype=float)
    assert format_column(arr) == [float.__repr__(v) if not math.isnan(v) else "nan" for v in values]


# -- the round's JSON and register rows ---------------------------------------------------------

@pytest.fixture(scope="module")
def sample_result():
    """The sample round (sample_data/): conflicts, vetoes, missing materials, a broken code."""
    from pathlib import Path

    from cluster_credit_cli.inputs.discovery import discover_sources
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.rating.pipeline import score_round

    model = load_model(None)
    app = Path(__file__).resolve().parents[1] / "sample_data" / "申报材料汇总.xlsx"
    return score_round(app, discover_sources(app, model, {}), model=model, as_of=dt.date(2026, 11, 30))


def _old_enterprises(result):
    """The row-at-a-time construction the JSON used before it was built from columns."""
    from cluster_credit_cli.rating.pipeline import _num

    leaves = result.model.leaves()
    dims = [k for k, n in result.model.nodes.items() if not n.is_leaf]
    out = []
    for r in result.ranked().to_dict("records"):
        out.append({
            "code": r["code"], "name": r["name"], "status": list(r["status"]),
            "grade": r["grade"] if isinstance(r["grade"], str) else None,
            "rank": int(r["rank"]) if pd.notna(r["rank"]) else None,
            "total": _num(r["total_display"]), "base": _num(r["base"], 4), "bonus": _num(r["bonus"], 4),
            "quota": _num(r["quota"]), "requested": _num(r["requested"]),
            "dimensions": {k: _num(r.get(f"dim:{k}"), 4) for k in dims},
            "scores": {k: _num(r.get(f"score:{k}"), 4) for k in leaves},
            "missing": list(r["missing"]), "reasons": list(r["reasons"])})
    return out


def test_enterprise_records_match_row_construction(sample_result):
    result = sample_result
    assert json.dumps(result.enterprise_records(), ensure_ascii=False) == \
        json.dumps(_old_enterprises(result), ensure_ascii=False)


def test_json_text_parses_to_the_result_one_line_per_enterprise(sample_result):
    from cluster_credit_cli.outputs.rating_workbook import json_text

    text = json_text(sample_result)
    doc = json.loads(text)
    assert doc == json.loads(json.dumps(sample_result.to_json(), ensure_ascii=False, default=str))
    lines = text.splitlines()
    ent_lines = [ln for ln in lines if ln.startswith('    {"code": ')]
    assert len(ent_lines) == len(doc["enterprises"]) > 0


def test_register_rows_match_row_construction(sample_result):
    from cluster_credit_cli.register import store

    result = sample_result
    got = store._result_rows(result, 7)
    inputs = result.scores.inputs
    want = []
    for e in _old_enterprises(result):
        code = e["code"]
        leaf = {k: store._plain(inputs.at[code, k]) for k in inputs.columns} if code in inputs.index else {}
        want.append((7, code, e["name"] if isinstance(e["name"], str) else None, store._dumps(e["status"]),
                     e["grade"], e["rank"], e["total"], e["quota"], store._dumps(e["scores"]), e["base"], e["bonus"],
                     e["requested"], store._dumps(e["dimensions"]), store._dumps(e["missing"]),
                     store._dumps(e.get("reasons", [])), store._dumps(leaf)))
    assert got == want


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0]),
                          st.integers(-3, 3), st.none(), st.text(max_size=3)), min_size=1, max_size=20))
def test_register_inputs_json_any_column(values):
    """Float-only columns take a factorised path, the rest go value by value: both give the dump."""
    from cluster_credit_cli.register import store

    codes = [f"c{i}" for i in range(len(values))]
    floats = [v if isinstance(v, float) else float("nan") for v in values]
    frame = pd.DataFrame({"mixed": pd.Series(values, dtype=object), "flo": pd.Series(floats, dtype=object),
                          "np": pd.Series([np.float64(v) for v in floats], dtype=object)}, index=codes)
    got = store._inputs_json_column(frame, codes + ["absent"])
    want = [store._dumps({k: store._plain(frame.at[c, k]) for k in frame.columns}) for c in codes] + ["{}"]
    assert got == want
