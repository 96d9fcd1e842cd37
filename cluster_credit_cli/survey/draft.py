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
from cluster_credit_cli.survey.layout import exact_key, is_metadata, numbered
from cluster_credit_cli.text import normalize_header

MAX_CHOICES = 20
_SEP = re.compile(r"[,，、;；|┋]+")


@dataclass
class Draft:
    survey: list[dict[str, str]] = field(default_factory=list)
    choices: list[dict[str, str]] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)


def _name(header: str, i: int, used: set[str]) -> str:
    base = normalize_header(header).replace("/", "_")
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
    from cluster_credit_cli.survey.stats import _cell_text, _number, _read_grid

    path = Path(path)
    grid = _read_grid(path, sheet)
    rows = [[_cell_text(c) for c in r] for r in grid.rows]
    # header: the first row among the first 30 with the most non-blank cells (skips title rows)
    scan = rows[:30]
    if not any(any(r) for r in scan):
        raise UsageError(f"{path.name}: no data")
    h = max(range(len(scan)), key=lambda i: (sum(1 for c in scan[i] if c), -i))
    header = rows[h]
    body = [r for r in rows[h + 1:] if any(r)]
    wjx = bool({exact_key(x) for x in header} & {"提交答卷时间", "所用时间", "来自ip"})
    _skip_markers(body, wjx=wjx)
    tencent = bool({exact_key(x) for x in header} & {"开始答题时间", "结束答题时间", "答题时长"})
    platform = "wjx" if wjx else "tencent" if tencent else ""
    keys = {exact_key(x) for x in header}
    xlsform_export = bool(keys & {"_uuid", "_submission_time", "_index", "meta/instanceid", "key", "submissiondate",
                                  "meta-instanceid", "formhub/uuid"})
    draft = Draft(settings={"title": path.stem, "survey_date": "", "handed_out": "", "valid_min_share": "0.5"})
    used: set[str] = set()
    groups = _option_groups(header, body, platform)
    in_group = {j for cols in groups.values() for j, _opt in cols}
    done_groups: set[str] = set()
    for j, head in enumerate(header):
        if not head or is_metadata(head, platform):  # platform metadata (_uuid, KEY, 提交答卷时间 ...) is no question
            continue
        if j in in_group:
            key = next(k for k, cols in groups.items() if any(jj == j for jj, _ in cols))
            if key not in done_groups:
                done_groups.add(key)
                _draft_split(draft, key, groups[key], used)
            continue
        if key_of(head) in groups:  # the joined column of a question also exported split
            continue
        values = [r[j] for r in body if j < len(r) and r[j]]
        name, label = _name_label(head, j, used)
        q = {"type": "text", "name": name, "label": label, "bins": ""}
        draft.survey.append(q)
        if not values:
            continue
        nums = [_number(v) for v in values]
        numeric = [x for x in nums if x is not None]
        distinct = Counter(values)
        sep = _SEP
        if xlsform_export and any(" " in v for v in values) and not any(_SEP.search(v) for v in values):
            sep = re.compile(r"\s+")  # Kobo / ODK Central: the choice names of a select_multiple, space-separated
        parts = Counter(p.strip() for v in values for p in sep.split(v) if p.strip())
        multi_share = sum(1 for v in values if sep.search(v)) / len(values)
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


def key_of(head: str) -> str:
    return exact_key(head)


def _skip_markers(body: list[list[str]], wjx: bool) -> None:
    """The platforms' markers for skipped and empty answers are no answers (问卷星: -3, -2)."""
    marks = {"(跳过)", "(空)", "跳过"} | ({"-3", "-2"} if wjx else set())
    for r in body:
        for i, v in enumerate(r):
            if v in marks:
                r[i] = ""
            elif "〖" in v:  # 问卷星's fill-in text of an "other" option: 其他〖众筹〗 is the choice 其他
                r[i] = re.sub(r"\s*〖[^〗]*〗", "", v)


def _option_groups(header: list[str], body: list[list[str]], platform: str) -> dict[str, list[tuple[int, str]]]:
    """Columns that are the options of one multiple choice question: Kobo ``q/option`` and 问卷星
    ``3(option)`` / ``第3题(option)``, whose answers are 0/1 (-3/-2/blank for skipped or empty)."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for j, head in enumerate(header):
        if not head or is_metadata(head, platform):
            continue
        values = {r[j] for r in body if j < len(r) and r[j]}
        if not values <= {"0", "1", "-3", "-2"}:
            continue
        num = numbered(head)
        m = re.match(r"^(.*)[(（](.+)[)）]\s*$", num[1]) if num else None
        if num and m and not m.group(1).strip():
            groups.setdefault(f"Q{num[0]}", []).append((j, m.group(2).strip()))
        elif "/" in head:
            q, opt = head.rsplit("/", 1)
            groups.setdefault(key_of(q), []).append((j, opt.strip()))
    return {k: v for k, v in groups.items() if len(v) >= 2}


def _draft_split(draft: Draft, key: str, cols: list[tuple[int, str]], used: set[str]) -> None:
    if re.fullmatch(r"Q\d+", key) and key not in used:
        name = key
        used.add(name)
    else:
        name = _name(key, cols[0][0], used)
    draft.survey.append({"type": f"select_multiple {name}_list", "name": name, "label": key, "bins": ""})
    for _j, opt in cols:
        draft.choices.append({"list_name": f"{name}_list", "name": opt, "label": opt, "range": ""})


def _name_label(head: str, j: int, used: set[str]) -> tuple[str, str]:
    """问卷星 / 腾讯问卷 ``3、您的性别`` -> name Q3, label 您的性别; otherwise from the header."""
    num = numbered(head)
    if num and num[1] and not num[1].startswith(("(", "（")):
        name = f"Q{num[0]}"
        if name not in used:
            used.add(name)
            return name, num[1]
    return _name(head, j, used), head


def write_codebook(draft: Draft, path: Path) -> WriteOutcome:
    survey_cols = ["type", "name", "label", "label::English", "bins", "calculation", "relevant", "dimension", "tabulate"]
    choice_cols = ["list_name", "name", "label", "label::English", "range"]
    with Workbook(path) as wb:
        write_table(wb, "survey", [Column(c) for c in survey_cols], [[q.get(c, "") for c in survey_cols] for q in draft.survey])
        write_table(wb, "choices", [Column(c) for c in choice_cols], [[c.get(k, "") for k in choice_cols] for c in draft.choices])
        keys = list(draft.settings)
        write_table(wb, "settings", [Column(k) for k in keys], [[draft.settings[k] for k in keys]], autofilter=False)
    return wb.close()
