"""What an incomplete enterprise must send, by the document it comes from (not by indicator code).

"缺：F1 偿债能力、F2 营运能力" does not tell an applicant what to send. Each missing value is
traced to the source that should carry it — the first source of the field's precedence that is
not optional (the panel reviews some firms only, so a rating it lacks is asked of the applicant)
— and grouped by what is wrong with that source for this firm:

* the file was not given at all:         未提供会计师事务所审计数据文件（影响：偿债能力、…）
* the file has no row for the firm:      会计师事务所审计数据中没有该企业（影响：偿债能力、…）
* the row leaves the cells blank:        申报材料未填：战略定位、企业使命
* the cells hold something unreadable:   申报材料填写有误：申请贷款金额（见问题清单）
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from cluster_credit_cli.model.config import Model
from cluster_credit_cli.problems import Problems


def responsible_source(model: Model, field: str) -> str:
    """The source asked for a missing value of ``field``: the first one that is not optional."""
    sources = model.fields[field].sources
    for s in sources:
        src = model.sources.get(s)
        if src is not None and not src.optional:
            return s
    return sources[0]


def leaf_inputs(model: Model, key: str) -> list[str]:
    """The fields a leaf's rule reads."""
    rule = model.rules[key]
    if rule["kind"] in ("rating", "lookup"):
        return [rule["field"]]
    if rule["kind"] == "count":
        return []
    parts = rule["parts"] if rule["kind"] == "mean" else [rule]
    return list(dict.fromkeys(n for part in parts for n in part["_names"]))


def describe_missing(merged, scores, model: Model, tables: dict, problems: Problems, lang: str,
                     extra_fields: dict[str, list[str]], unusable: set[str] = frozenset()) -> dict[str, list["Gap"]]:
    """Per code, the missing materials grouped by source document (see ``gap_words``, ``gap_action``).

    ``extra_fields``: code -> fields missing outside the leaves (gate inputs, the requested amount).
    ``unusable``: sources whose file was given but could not be used (reported in the problems).
    """
    codes = merged.codes
    leaves = model.leaves()
    miss = scores.missing[leaves].to_numpy(dtype=bool)
    values = merged.values
    # Cells that held something unreadable: (file, row, column) of every cell problem.
    bad_cells = {(p.file, p.row, p.column) for p in problems if p.row is not None and p.column}
    blank = {f: (values[f].isna().to_numpy() if f in values else np.ones(len(codes), dtype=bool))
             for f in model.fields}
    rows_of = {s: frame["_row"].to_numpy() if "_row" in frame else np.full(len(codes), np.nan)
               for s, frame in merged.aligned.items()}
    out: dict[str, list[str]] = {}
    for i, code in enumerate(codes):
        # (state, source) -> affected items (leaf names or field labels), in model order
        groups: dict[tuple[str, str], list[str]] = {}
        for j in np.flatnonzero(miss[i]):
            key = leaves[j]
            rule = model.rules[key]
            leaf_name = model.nodes[key].label(lang)
            if rule["kind"] == "count":
                src = next((s for s, sd in model.sources.items() if sd.shape == "records"), None)
                if src is not None and src not in tables:
                    groups.setdefault(("unusable" if src in unusable else "no_file", src), []).append(leaf_name)
                continue
            for f in leaf_inputs(model, key):
                if blank[f][i]:
                    _add(groups, model, f, i, tables, rows_of, bad_cells, leaf_name,
                         model.fields[f].header(lang), unusable)
        for f in extra_fields.get(code, []):
            label = model.fields[f].header(lang)
            _add(groups, model, f, i, tables, rows_of, bad_cells, label, label, unusable)
        out[code] = [Gap(state, src, tuple(items)) for (state, src), items in groups.items()]
    return out


def _add(groups, model: Model, field: str, i: int, tables: dict, rows_of: dict, bad_cells: set,
         affected: str, label: str, unusable: set[str]) -> None:
    src = responsible_source(model, field)
    table = tables.get(src)
    if table is None:
        state, item = ("unusable" if src in unusable else "no_file"), affected
    else:
        row = rows_of.get(src, np.full(i + 1, np.nan))[i]
        if row is None or (isinstance(row, float) and np.isnan(row)) or pd.isna(row):
            state, item = "no_row", affected
        elif field not in table.columns:
            state, item = "no_column", label  # the file has no such column (a mistyped header?)
        elif (table.file.name, int(row), table.columns[field]) in bad_cells:
            state, item = "bad", label
        else:
            state, item = "blank", label
    items = groups.setdefault((state, src), [])
    if item not in items:
        items.append(item)


class Gap(NamedTuple):
    """What one source lacks for one firm: ``state`` (no_file, unusable, no_row, blank, bad)."""

    state: str
    source: str
    items: tuple[str, ...]


def gap_words(model: Model, gap: Gap, lang: str) -> str:
    """The gap as listed under 缺失材料."""
    return _words(model, gap.state, gap.source, list(gap.items), lang)


def gap_action(model: Model, gap: Gap, lang: str) -> str:
    """What to do about the gap, naming the document and the fields (the feedback's 需补充或更正)."""
    en = lang == "en"
    name = model.sources[gap.source].title(lang)
    listed = (", " if en else "、").join(gap.items)
    if gap.state == "no_file":
        return f"send the {name} file" if en else f"请提供{name}文件"
    if gap.state == "unusable":
        return f"correct the {name} file (see Problems) and send it again" if en else f"请更正{name}文件（见问题清单）后重新提交"
    if gap.state == "no_row":
        return (f"send this firm's {name} data (affects {listed})" if en
                else f"请补充该企业的{name}（影响：{listed}）")
    if gap.state == "bad":
        return f"correct {listed} in the {name} file (see Problems)" if en else f"请更正{name}中的：{listed}（见问题清单）"
    if gap.state == "no_column":
        return (f"add the column {listed} to the {name} file (or correct its header)" if en
                else f"请在{name}中补上“{listed}”列（或更正表头）")
    return f"fill in {listed} in the {name} file" if en else f"请在{name}中填写：{listed}"


def _words(model: Model, state: str, src: str, items: list[str], lang: str) -> str:
    en = lang == "en"
    name = model.sources[src].title(lang)
    listed = (", " if en else "、").join(items)
    if state == "no_file":
        return (f"no {name} file was given (affects {listed})" if en else f"未提供{name}文件（影响：{listed}）")
    if state == "unusable":
        return (f"the {name} file could not be used, see Problems (affects {listed})" if en
                else f"{name}文件无法使用，见问题清单（影响：{listed}）")
    if state == "no_column":
        return (f"the {name} file has no column {listed} (see Problems)" if en
                else f"{name}缺少“{listed}”列（见问题清单）" if len(items) == 1
                else f"{name}缺少这些列：{listed}（见问题清单）")
    if state == "no_row":
        return (f"the {name} file has no row for this firm (affects {listed})" if en
                else f"{name}中没有该企业（影响：{listed}）")
    if state == "bad":
        return (f"{name}: cannot read {listed} (see Problems)" if en else f"{name}填写有误：{listed}（见问题清单）")
    return f"{name}: not filled in: {listed}" if en else f"{name}未填：{listed}"
