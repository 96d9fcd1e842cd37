"""The round's JSON and register rows, built a column at a time (outputs/json_rows.py), are
byte for byte what the dict-per-enterprise code wrote before (kept here as the reference).

The round is the sample round made larger and filled with awkward values: NaN, None, pandas'
NA, +-Infinity, -0.0 beside 0.0, 1e-05 and 1e+16, 5e-324, halves that round either way, Chinese
text, control characters, quotes and backslashes, U+2028, an emoji, formula-like text, lists
holding numbers, 1 beside 1.0 and True, numpy scalars and dates among the leaf inputs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cluster_credit_cli.outputs import json_rows
from cluster_credit_cli.outputs.rating_workbook import json_bytes, json_text, write_json
from cluster_credit_cli.register import store

# the pool's sums over the awkward quotas (1e308, Infinity) overflow: numpy says so, the test does not care
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                                        "ignore:invalid value encountered:RuntimeWarning")

# -- the reference: the code before the columnar builder (2026-12-02, main d4fa655) ---------------


def _ref_num(value, decimals=2):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return round(float(value), decimals)


def _ref_num_column(values: pd.Series, decimals: int) -> list:
    if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return [_ref_num(v, decimals) for v in values.tolist()]
    codes, uniques = pd.factorize(values.to_numpy(dtype=float, na_value=np.nan), use_na_sentinel=True)
    rounded = np.array([round(u, decimals) for u in uniques.tolist()] + [None], dtype=object)
    return rounded[codes].tolist()


def ref_enterprise_records(result) -> list[dict]:
    leaves = result.model.leaves()
    dims = [k for k, n in result.model.nodes.items() if not n.is_leaf]
    r = result.ranked()
    n = len(r)
    none = [None] * n

    def col(name, decimals):
        return _ref_num_column(r[name], decimals) if name in r else none

    grades = [g if isinstance(g, str) else None for g in r["grade"].tolist()]
    ranks = [int(v) if pd.notna(v) else None for v in r["rank"].tolist()]
    total, base, bonus = col("total_display", 2), col("base", 4), col("bonus", 4)
    quota, requested = col("quota", 2), col("requested", 2)
    dim_cols = [col(f"dim:{k}", 4) for k in dims]
    score_cols = [col(f"score:{k}", 4) for k in leaves]
    ents = []
    for i, (code, name, status, missing, reasons) in enumerate(zip(
            r["code"].tolist(), r["name"].tolist(), r["status"].tolist(), r["missing"].tolist(),
            r["reasons"].tolist())):
        ents.append({
            "code": code, "name": name, "status": list(status), "grade": grades[i], "rank": ranks[i],
            "total": total[i], "base": base[i], "bonus": bonus[i], "quota": quota[i], "requested": requested[i],
            "dimensions": {k: c[i] for k, c in zip(dims, dim_cols)},
            "scores": {k: c[i] for k, c in zip(leaves, score_cols)},
            "missing": list(missing),
            "reasons": list(reasons),
        })
    return ents


def ref_json_text(result) -> str:
    doc = result.to_json(enterprises=ref_enterprise_records(result))
    ents = doc["enterprises"]
    marker = f"@@enterprises-{uuid.uuid4().hex}@@"
    doc["enterprises"] = marker
    text = json.dumps(doc, ensure_ascii=False, indent=2, default=str)
    if ents:
        encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
        body = "[\n" + ",\n".join("    " + encode(e) for e in ents) + "\n  ]"
    else:
        body = "[]"
    return text.replace(json.dumps(marker), body, 1)


def _ref_dumps(value):
    return json.dumps(value, ensure_ascii=False, default=str, allow_nan=False)


def _ref_inputs_json_column(inputs, codes):
    """One dict per enterprise, one ``_dumps`` each (what the factorised version replaced)."""
    if inputs is None or not len(inputs.columns):
        return ["{}"] * len(codes)
    out = []
    for code in codes:
        if code not in inputs.index:
            out.append("{}")
            continue
        out.append(_ref_dumps({str(k): store._plain(inputs.at[code, k]) for k in inputs.columns}))
    return out


def ref_result_rows(result, run_id):
    ents = ref_enterprise_records(result)
    codes = [e["code"] for e in ents]
    inputs_json = _ref_inputs_json_column(result.scores.inputs if result.scores is not None else None, codes)
    cache: dict = {}

    def dumps(items):
        key = tuple(items)
        if key not in cache:
            cache[key] = _ref_dumps(items)
        return cache[key]
    return [(run_id, e["code"], e["name"] if isinstance(e["name"], str) else None, dumps(e["status"]), e["grade"],
             e["rank"], e["total"], e["quota"], _ref_dumps(e["scores"]), e["base"], e["bonus"], e["requested"],
             _ref_dumps(e["dimensions"]), dumps(e["missing"]), dumps(e.get("reasons", [])), inputs_json[i])
            for i, e in enumerate(ents)]


# -- an awkward round ---------------------------------------------------------------------------

FLOATS = [np.nan, np.inf, -np.inf, 1e16, 1e-05, 1.5e-07, -0.0, 0.0, 1.7999999999999998, 2.675, 0.125, 2.5,
          123456789.125, 5e-324, 1.7976931348623157e308, -3.25, 100.0, 1e+22, 0.1, 12.34565]
FINITE = [f for f in FLOATS if np.isfinite(f) and abs(f) < 1e300] + [np.nan]  # null, not refused; no overflowing sums
TEXTS = ["", "普通文本", 'say "hi"', "back\\slash", "ctl\x00\x01\x08\x1f\x7f", "tab\tnew\nline\rcr",
         "=HYPERLINK(\"http://x\")", "+1", "-2", "@sum", "line\u2028sep", "emoji 😀", "'; DROP TABLE results;--",
         "</script>", "\ufeffbom", "全角，标点。"]
LISTS = [[], ["veto:bank"], ["incomplete", "conflict"], TEXTS[:4], ["近24个月最长逾期超过90天"], [TEXTS[5]]]
ODD_LISTS = [[1], [True], [1.0], [None, "x"], [dt.date(2026, 11, 30)]]  # and [NaN] in the JSON
INPUTS = FLOATS + TEXTS + [None, 1, True, False, 0, np.float64(2.5), np.int64(7), np.float64(-0.0),
                           dt.date(2026, 11, 30), pd.NA]


@pytest.fixture(scope="module")
def sample_result():
    from cluster_credit_cli.inputs.discovery import discover_sources
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.rating.pipeline import score_round

    model = load_model(None)
    app = Path(__file__).resolve().parents[1] / "sample_data" / "申报材料汇总.xlsx"
    return score_round(app, discover_sources(app, model, {}), model=model, as_of=dt.date(2026, 11, 30))


def awkward(result, seed: int, *, floats=FLOATS, lists=LISTS, copies: int = 8):
    """The round ``copies`` times over (unique codes), cells replaced at random by awkward values."""
    rng = np.random.default_rng(seed)
    base = result.table
    table = pd.concat([base] * copies, ignore_index=True)
    n = len(table)
    table["code"] = pd.array([f"{c}-{i}" for i, c in enumerate(table["code"].tolist())], dtype=base["code"].dtype)
    order = table["_order"].to_numpy(dtype=float).copy()
    graded = ~np.isnan(order)
    order[graded] = rng.permutation(int(graded.sum()))
    table["_order"] = order

    def pick(values, k):
        return [values[j] for j in rng.integers(0, len(values), k)]

    def sprinkle(col, values, share=0.3):
        hit = rng.random(n) < share
        new = table[col].astype(object).to_numpy().copy()
        new[hit] = np.array(pick(values, int(hit.sum())) + [None], dtype=object)[:-1]
        return new, hit

    for col in [c for c in table.columns if c.startswith(("dim:", "score:"))] + ["total_display", "base", "bonus",
                                                                                "quota", "requested"]:
        new, _ = sprinkle(col, floats)
        table[col] = pd.array(new.tolist(), dtype=float) if col != "bonus" else new  # one object column
    table["name"] = pd.array(sprinkle("name", TEXTS + [None])[0].tolist(), dtype=base["name"].dtype)
    for col in ("status", "missing", "reasons"):
        new, hit = sprinkle(col, lists)
        table[col] = new
    inputs = pd.concat([result.scores.inputs] * copies)
    inputs.index = pd.Index([f"{c}-{i}" for i, c in enumerate(inputs.index)], dtype=inputs.index.dtype, name="code")
    inputs = inputs.astype(object)
    for col in inputs.columns[: len(inputs.columns) // 2]:
        hit = rng.random(len(inputs)) < 0.4
        vals = inputs[col].to_numpy().copy()
        vals[hit] = np.array(pick(INPUTS, int(hit.sum())) + [None], dtype=object)[:-1]
        inputs[col] = vals
    inputs = inputs.drop(index=inputs.index[::7])  # enterprises the scorer never saw: "{}"
    scores = dataclasses.replace(result.scores, inputs=inputs)
    return dataclasses.replace(result, table=table, scores=scores)


# -- the JSON -----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_json_bytes_identical_to_the_dict_per_enterprise_encoder(sample_result, seed):
    result = awkward(sample_result, seed)
    want = ref_json_text(result)
    assert json_text(result) == want
    assert json_bytes(result) == want.encode("utf-8")
    # (1e-05 rounds to 0.0 in these fields; it reaches the register's leaf inputs unrounded, below)
    assert "NaN" in want and "-Infinity" in want and "1e+16" in want and "1e+22" in want and "😀" in want


def test_written_json_file_is_the_reference_bytes(sample_result, tmp_path):
    result = awkward(sample_result, 11)
    write_json(result, tmp_path / "r.json")
    assert (tmp_path / "r.json").read_bytes() == ref_json_text(result).encode("utf-8")


def test_sample_round_json_identical_and_no_dicts_built(sample_result):
    result = dataclasses.replace(sample_result)  # fresh caches
    assert json_text(result) == ref_json_text(result)
    assert "_enterprise_records" not in result.__dict__  # the JSON does not need the dicts
    assert result.enterprise_records() == ref_enterprise_records(result)


def test_empty_round_json(sample_result):
    result = dataclasses.replace(sample_result, table=sample_result.table.iloc[:0])
    assert json_text(result) == ref_json_text(result)
    assert '"enterprises": []' in json_text(result)
    assert store._result_rows(result, 1) == ref_result_rows(result, 1) == []


def test_odd_list_items_take_the_encoder(sample_result):
    """1, 1.0 and True are equal keys but print differently: lists of non-text are not shared."""
    result = awkward(sample_result, 5, lists=LISTS + ODD_LISTS + [[np.nan]])
    assert json_text(result) == ref_json_text(result)
    assert '"status": [1]' in json_text(result) and '"status": [true]' in json_text(result)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=True),
                     st.sampled_from([0.0, -0.0, 1e16, 1e-05]), st.text(max_size=4))


@settings(max_examples=150, deadline=None)
@given(st.lists(_scalars, min_size=1, max_size=80), st.text(max_size=3), st.text(max_size=3))
def test_scalar_column_any_values(values, prefix, suffix):
    (codes, table), _ = json_rows._scalar_codes(values, prefix, suffix)
    enc = json.JSONEncoder(ensure_ascii=False, default=str).encode
    assert [table[c] for c in codes] == [prefix + enc(v) + suffix for v in values]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=12), min_size=1, max_size=12),
       st.integers(1, 300))
def test_join_columns_any_grouping(layout, n):
    """Columns of few and many distinct texts, merged or not, give the plain row joins."""
    rng = np.random.default_rng(len(layout) * 1000 + n)
    columns = []
    for spec in layout:
        k = max(1, spec[0] ** 3 * (1 + n // 10) if spec[0] else 1)
        table = [f"<{len(columns)}:{j}>" for j in range(k)]
        columns.append((rng.integers(0, k, n), table))
    want = ["".join(t[c[i]] for c, t in columns) for i in range(n)]
    assert json_rows.join_columns(columns, n) == want
    assert json_rows.join_columns(columns, n, as_bytes=True) == [w.encode() for w in want]


# -- the register rows --------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_register_rows_identical(sample_result, seed):
    result = awkward(sample_result, seed, floats=FINITE)
    assert json_rows.enterprise_texts(result).plain
    got = store._result_rows(result, 3)
    assert got == ref_result_rows(result, 3)
    assert [tuple(map(type, r)) for r in got] == [tuple(map(type, r)) for r in ref_result_rows(result, 3)]
    inputs = "".join(r[-1] for r in got)
    assert "1e-05" in inputs and "1e+16" in inputs and "-0.0" in inputs and "\\u0000" in inputs


def test_register_rows_with_odd_lists_go_the_old_way(sample_result):
    result = awkward(sample_result, 7, floats=FINITE, lists=LISTS + ODD_LISTS)
    assert not json_rows.enterprise_texts(result).plain
    assert store._result_rows(result, 3) == ref_result_rows(result, 3)


def test_register_still_refuses_infinity_in_scores(sample_result):
    """The register's JSON fields never held NaN/Infinity (allow_nan=False): still refused, as before."""
    result = awkward(sample_result, 2)
    with pytest.raises(ValueError):
        ref_result_rows(result, 1)
    with pytest.raises(ValueError):
        store._result_rows(result, 1)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(_scalars, st.sampled_from([np.float64(2.5), np.int64(7), dt.date(2026, 1, 2), pd.NA])),
                min_size=1, max_size=40))
def test_register_inputs_column_any_values(values):
    codes = [f"c{i}" for i in range(len(values))]
    texts = [v if isinstance(v, str) else None for v in values]
    frame = pd.DataFrame({"mixed": pd.Series(values, dtype=object), "text": pd.Series(texts, dtype=object),
                          "str": pd.Series(texts, dtype="str")}, index=codes)
    got = store._inputs_json_column(frame, codes + ["absent"])
    assert got == _ref_inputs_json_column(frame, codes + ["absent"])


def test_register_reads_back_what_it_read_back_before(sample_result, tmp_path):
    """Recorded through record_run, the awkward round reads back as the reference rows."""
    result = awkward(sample_result, 9, floats=FINITE)
    run_id = store.record_run(tmp_path / "r.db", result)
    con = sqlite3.connect(tmp_path / "r.db")
    cols = [d[1] for d in con.execute("PRAGMA table_info(results)")]
    got = con.execute(f"SELECT {', '.join(cols)} FROM results WHERE run_id = ? ORDER BY rowid", (run_id,)).fetchall()
    con.close()
    want = [dict(zip(["run_id", "code", "name", "status_json", "grade", "rank", "total", "quota", "scores_json",
                      "base", "bonus", "requested", "dimensions_json", "missing_json", "reasons_json",
                      "inputs_json"], r)) for r in ref_result_rows(result, run_id)]
    assert [dict(zip(cols, r)) for r in got] == want
    hist = store.history(tmp_path / "r.db", want[0]["code"])
    assert hist[0]["scores"] == json.loads(want[0]["scores_json"])
