"""Property-based: arbitrary cell contents never crash reading or scoring, and scores stay in range.

Any text, number or date in any cell of any source becomes at worst a reported problem; leaf
scores stay within 0-100, base within 0-100, bonus within 0-10, totals within 0-110.
"""

from __future__ import annotations

import datetime as dt
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import (
    ASSOCIATION_HEADER, AUDITOR_HEADER, BANK_HEADER, CREDIT_HEADER, APPLICANT_HEADER, ent, record, run_round,
)

# Characters an xlsx can hold (XML 1.0: no C0 controls except tab/LF/CR, no surrogates).
XLSX_TEXT = st.text(st.characters(blacklist_categories=("Cs",),
                                  blacklist_characters="".join(chr(c) for c in range(32) if c not in (9, 10, 13))),
                    max_size=30)
PAYLOADS = st.sampled_from(["=1+1", '=HYPERLINK("http://x","y")', "+1", "-1+1", "@SUM(1)", "无", "优", "是",
                            "否", "", " ", "１００", "98%", "-5", "1e309", "NaN", "inf", "2023年5月6日",
                            "2023/5/6", "45000", "标准无保留", "会长单位", "良好", "N/A"])
VALUES = st.one_of(XLSX_TEXT, PAYLOADS,
                   st.integers(min_value=-10**12, max_value=10**12),
                   st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
                   st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1)),
                   st.none())
SOURCES = {"app": APPLICANT_HEADER, "aud": AUDITOR_HEADER, "assoc": ASSOCIATION_HEADER, "bnk": BANK_HEADER}
EDIT = st.tuples(st.integers(1, 3), st.sampled_from(sorted(SOURCES)),
                 st.integers(0, 40), VALUES)


def check_ranges(result) -> None:
    t = result.table
    for col in t.columns:
        if col.startswith("score:"):
            vals = [v for v in t[col] if v is not None and not (isinstance(v, float) and math.isnan(v))]
            assert all(0 <= float(v) <= 100 for v in vals), (col, vals)
    for col, hi in (("base", 100), ("bonus", 10), ("total", 110)):
        vals = [float(v) for v in t[col] if v is not None and not (isinstance(v, float) and math.isnan(v))]
        assert all(-1e-9 <= v <= hi + 1e-9 for v in vals), (col, vals)
    result.to_json()  # the machine-readable result is always producible


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(edits=st.lists(EDIT, min_size=1, max_size=6))
def test_arbitrary_cells_never_crash_and_scores_stay_in_range(tmp_path_factory, model, edits):
    ents = {n: {"app": {}, "aud": {}, "assoc": {}, "bnk": {}} for n in (1, 2, 3)}
    for n, src, col, value in edits:
        header = SOURCES[src]
        ents[n][src][header[col % len(header)]] = value
    folder = tmp_path_factory.mktemp("round")
    result = run_round(folder, [ent(n, **over) for n, over in ents.items()], model=model)
    check_ranges(result)
    assert len(result.table) >= 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(cells=st.lists(st.tuples(st.integers(0, len(CREDIT_HEADER) - 1),
                                st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                                        max_size=20)), min_size=1, max_size=8),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
def test_arbitrary_text_in_credit_csv_never_crashes(tmp_path_factory, model, cells, encoding):
    recs = [record(1), record(2, kind="司法诉讼", 当事人角色="被告")]
    for i, (col, text) in enumerate(cells):
        try:
            text.encode(encoding)
        except UnicodeEncodeError:
            continue
        recs[i % 2][CREDIT_HEADER[col]] = text
    folder = tmp_path_factory.mktemp("round")
    result = run_round(folder, [ent(1), ent(2)], records=recs, credit_csv=encoding, model=model)
    check_ranges(result)


def test_bad_values_reported_in_multi_row_files(tmp_path, model):
    """Regression: with several rows, Series.map turned the None marking a bad value into NaN,
    so '领导力水平 = abc' scored 0 without any reported problem."""
    result = run_round(tmp_path, [ent(1), ent(2, app={"领导力水平": "abc"}), ent(3)], model=model)
    assert [(p.code, p.row) for p in result.problems] == [("bad_rating", 3)]
