"""Draft a codebook from a responses file (``ccredit survey codebook``).

Guesses, for the analyst to check and finish in Excel:

* a column whose answers are mostly numbers with many distinct values -> ``integer``/``decimal``
  with a ``bins`` list of four quartile ranges in interval notation (``<q1``, ``[q1,q2)`` ...);
* answers joined by separators (、 , ; ；) whose parts repeat -> ``select_multiple``;
* few distinct answers (<= 20) -> ``select_one`` with those answers as choices (name = label =
  the answer), numbers sorted, text in order of frequency;
* anything else -> ``text``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cluster_credit_cli.atomic import WriteOutcome
from cluster_credit_cli.outputs.excel import Column, Workbook, write_table
from cluster_credit_cli.problems import UsageError
from cluster_credit_cli.text import normalize_header

MAX_CHOICES = 20
_SEP = re.compile(r"[,，、;；|]+")


@dataclass
class Draft:
    survey: list[dict[str, str]] = field(default_factory=list)
    choices: list[dict[str, str]] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)


def _name(header: str, i: int, used: set[str]) -> str:
    base = normalize_header(header)
    base = re.sub(r"[^\w]", "_", base).strip("_")
    if not base or not base.isidentifier():
        base = f"q{i + 1}"
    name, k = base, 2
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


def _fmt(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:.6g}"


def draft_codebook(path: str | Path, sheet: str | None = None) -> Draft:
    from cluster_credit_cli.inputs.reading import ReadError, read_grid
    from cluster_credit_cli.survey.stats import _cell_text, _number

    path = Path(path)
    try:
        grid = read_grid(path, sheet)
    except ReadError as exc:
        raise UsageError(str(exc)) from None
    rows = [[_cell_text(c) for c in r] for r in grid.rows]
    # header: the first row among the first 30 with the most non-blank cells (skips title rows)
    scan = rows[:30]
    if not any(any(r) for r in scan):
        raise UsageError(f"{path.name}: no data")
    h = max(range(len(scan)), key=lambda i: (sum(1 for c in scan[i] if c), -i))
    header = rows[h]
    body = [r for r in rows[h + 1:] if any(r)]
    draft = Draft(settings={"title": path.stem, "survey_date": "", "handed_out": "", "valid_min_share": "0.5"})
    used: set[str] = set()
    for j, head in enumerate(header):
        if not head:
            continue
        values = [r[j] for r in body if j < len(r) and r[j]]
        name = _name(head, j, used)
        q = {"type": "text", "name": name, "label": head, "bins": ""}
        draft.survey.append(q)
        if not values:
            continue
        nums = [_number(v) for v in values]
        numeric = [x for x in nums if x is not None]
        distinct = Counter(values)
        parts = Counter(p.strip() for v in values for p in _SEP.split(v) if p.strip())
        multi_share = sum(1 for v in values if _SEP.search(v)) / len(values)
        if len(numeric) >= 0.9 * len(values) and len(set(numeric)) > MAX_CHOICES:
            arr = np.array(numeric, dtype="float64")
            q["type"] = "integer" if all(float(x).is_integer() for x in numeric) else "decimal"
            q["bins"] = f"{name}_bins"
            qs = sorted({_fmt(x) for x in np.quantile(arr, [0.25, 0.5, 0.75])}, key=float)
            ranges = [f"<{qs[0]}"] + [f"[{a},{b})" for a, b in zip(qs, qs[1:])] + [f">={qs[-1]}"]
            labels = [f"小于{qs[0]}"] + [f"{a}~{b}" for a, b in zip(qs, qs[1:])] + [f"{qs[-1]}及以上"]
            for k, (rng, lab) in enumerate(zip(ranges, labels), start=1):
                draft.choices.append({"list_name": q["bins"], "name": f"b{k}", "label": lab, "range": rng})
        elif multi_share >= 0.2 and len(parts) <= MAX_CHOICES:
            q["type"] = f"select_multiple {name}_list"
            for p, _n in parts.most_common():
                draft.choices.append({"list_name": f"{name}_list", "name": p, "label": p, "range": ""})
        elif len(distinct) <= MAX_CHOICES:
            q["type"] = f"select_one {name}_list"
            if len(numeric) == len(values):
                ordered = sorted(distinct, key=lambda v: _number(v))
            else:
                ordered = [v for v, _n in distinct.most_common()]
            for v in ordered:
                draft.choices.append({"list_name": f"{name}_list", "name": v,
                                      "label": v, "range": ""})
    if not draft.survey:
        raise UsageError(f"{path.name}: no column headers found")
    return draft


def write_codebook(draft: Draft, path: Path) -> WriteOutcome:
    survey_cols = ["type", "name", "label", "label::English", "bins", "calculation", "relevant", "dimension", "tabulate"]
    choice_cols = ["list_name", "name", "label", "label::English", "range"]
    with Workbook(path) as wb:
        write_table(wb, "survey", [Column(c) for c in survey_cols], [[q.get(c, "") for c in survey_cols] for q in draft.survey])
        write_table(wb, "choices", [Column(c) for c in choice_cols], [[c.get(k, "") for k in choice_cols] for c in draft.choices])
        keys = list(draft.settings)
        write_table(wb, "settings", [Column(k) for k in keys], [[draft.settings[k] for k in keys]], autofilter=False)
    return wb.close()
