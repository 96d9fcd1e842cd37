"""Reading and merging give exactly what they gave before they were made faster (issue 19).

A messy generated round (tests/messy_round.py: every kind of bad cell, rows without codes, broken
codes, records of other enterprises with bad values) is scored, and everything read and merge
hand on is compared with tests/golden/messy_round.json, recorded before the speed work: every
problem (file, sheet, row, column, code, message, severity), the statistics, and a digest of each
table (the round's table, the provenance, the conflicts, the records kept, the merged values and
their winning sources, every source table as read). Set CCREDIT_UPDATE_GOLDEN=1 to re-record
after a deliberate change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from cluster_credit_cli.model.config import load_model
from cluster_credit_cli.rating.pipeline import python_strings, score_round

from messy_round import build_messy

GOLDEN = Path(__file__).parent / "golden" / "messy_round.json"
AS_OF = dt.date(2026, 11, 30)


def _digest(frame: pd.DataFrame | None) -> str | None:
    """Values, dtypes, index and column names of a frame, as one hash."""
    if frame is None:
        return None
    text = "|".join(f"{c}:{t}" for c, t in frame.dtypes.astype(str).items()) + "\n"
    text += f"{frame.index.name}:{frame.index.dtype}\n" + frame.to_csv(lineterminator="\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def fingerprint(folder: Path) -> dict:
    files = build_messy(folder)
    model = load_model(None)
    res = score_round(files["applicants"], {k: p for k, p in files.items() if k != "applicants"},
                      model=model, as_of=AS_OF)
    m = res.merged
    with python_strings():
        provenance = m.provenance(model)
    return {
        "problems": [[p.file, p.sheet, p.row, p.column, p.code, p.severity, p.message] for p in res.problems],
        "stats": res.stats,
        "inputs": [{k: v for k, v in i.items() if k not in ("path", "sha256")} for i in res.inputs],
        "conflict_codes": sorted(m.conflict_codes),
        "shared": {k: [list(x) for x in v] for k, v in sorted(m.shared.items())},
        "name_mismatch": {k: [list(x) for x in v] for k, v in sorted(m.name_mismatch.items())},
        "digests": {
            "table": _digest(res.table), "provenance": _digest(provenance), "conflicts": _digest(m.conflicts),
            "records": _digest(m.records), "values": _digest(m.values), "winner": _digest(m.winner),
            **{f"aligned:{k}": _digest(f) for k, f in sorted(m.aligned.items())},
            **{f"read:{k}": _digest(t.data) for k, t in sorted(m.tables.items())},
            **{f"extra:{k}": _digest(t.extra) for k, t in sorted(m.tables.items())},
        },
        "columns": {k: t.columns for k, t in sorted(m.tables.items())},
        "json_enterprises": hashlib.sha256(json.dumps(res.to_json()["enterprises"], ensure_ascii=False,
                                                      sort_keys=True).encode()).hexdigest()[:16],
    }


def test_messy_round_reads_and_merges_exactly_as_recorded(tmp_path):
    got = json.loads(json.dumps(fingerprint(tmp_path), ensure_ascii=False))
    if os.environ.get("CCREDIT_UPDATE_GOLDEN"):  # one line per problem and per key: readable diffs
        lines = [f" {json.dumps(k)}: " + ("[\n" + ",\n".join("  " + json.dumps(p, ensure_ascii=False) for p in v)
                                          + "\n ]" if k == "problems" else json.dumps(v, ensure_ascii=False))
                 for k, v in got.items()]
        GOLDEN.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert len(got["problems"]) > 400  # the round is as messy as intended
    # Problems one by one first: a failure then names the first problem that changed.
    for i, (g, e) in enumerate(zip(got["problems"], expected["problems"])):
        assert g == e, f"problem {i}"
    for key in expected:
        assert got[key] == expected[key], key


def test_messy_round_is_deterministic(tmp_path):
    """The generator itself gives the same round twice (else the golden test proves nothing)."""
    assert fingerprint(tmp_path / "a") == fingerprint(tmp_path / "b")


ODD = {"empty": [], "blank": ["", None, " "], "none": [None, None], "nan": [float("nan"), None, ""],
       "mixed": ["1", 2, 2.0, True, None, float("nan"), "x", "2023年5月", dt.datetime(2020, 1, 2), "", "5", "优", "是",
                 "0.5", "-3"],
       "fracs": [0.5, 0.25, None], "texts": ["无", "无", 95], "allbad": ["x", "y"]}


def test_every_parser_on_odd_columns_as_recorded():
    """Each field type's parser on empty, blank, mixed and all-bad columns: values, dtype (an empty
    number column is int64, as it always was) and problems as recorded before the speed work."""
    import numpy as np

    from cluster_credit_cli.inputs.reading import _ColumnParser
    from cluster_credit_cli.problems import Problems

    model = load_model(None)
    types = {}
    for f in model.fields.values():
        types.setdefault(f.type, f)
    lines = []
    with python_strings():
        for name, vals in ODD.items():
            for typ, f in types.items():
                problems = Problems()
                parser = _ColumnParser(model, problems, "f.xlsx", "S", "zh")
                out = parser.parse(f, pd.Series(vals, dtype=object), np.arange(len(vals)) + 5, "H")
                lines.append(f"{name} {typ} {out.dtype} {out.tolist()!r} "
                             f"{[(p.row, p.code, p.message) for p in problems]}")
    expected = (Path(__file__).parent / "golden" / "odd_columns.txt").read_text(encoding="utf-8").splitlines()
    assert lines == expected


def test_text_cells_fast_path_is_clean_text():
    """_text_cell returns letters-and-digits text as is after NFKC: no character that is alphanumeric
    is one the whitespace pattern collapses, so clean_text could not have changed it."""
    import sys
    import unicodedata

    from cluster_credit_cli.inputs.reading import _text_cell
    from cluster_credit_cli.text import _SPACES, clean_text

    assert not [c for c in map(chr, range(sys.maxunicode + 1)) if c.isalnum() and _SPACES.search(c)]
    for text in ["91441900MA4W1X2Y3Q", "企业１２", "Ⅻ", "²", "a b", "\u3000x", "x\u200by", "\ufeffa", " ", "", "（1）号"]:
        assert _text_cell(text) == clean_text(text) == _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()
