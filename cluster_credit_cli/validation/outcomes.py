"""Reading a cohort with outcomes from a file (``validate --outcomes FILE``), so a bank can
validate ratings made elsewhere.

One row per rated obligor: credit code, rating date, the score and/or the grade, whether it
defaulted (是/否), optionally the name, the PD and the default date. The file is read with the
same rules as every input (``inputs.reading``: preflight, header found below titles, aliases,
GBK CSV, dates as text, hint rows of a template); bad rows become problems naming file, sheet,
row and column, and are left out of the statistics (never silently).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from cluster_credit_cli.i18n import say
from cluster_credit_cli.inputs.identity import normalize_codes
from cluster_credit_cli.inputs.reading import read_source
from cluster_credit_cli.model.config import FieldDef, Model, SourceDef
from cluster_credit_cli.problems import Problems
from cluster_credit_cli.text import normalize_choice

KIND = "outcomes"

# key, label, label_en, type, aliases
_FIELDS = [
    ("rating_date", "评级日期", "Rating date", "date",
     ["评级时间", "评级基准日", "评价基准日", "评级日", "rating date", "date rated", "as of", "as-of date"]),
    ("score", "评分", "Score", "number",
     ["总分", "得分", "信用评分", "综合得分", "评级得分", "score", "total", "total score", "credit score"]),
    ("grade", "等级", "Grade", "text", ["评级", "信用等级", "评级结果", "评级等级", "grade", "rating", "rating grade"]),
    ("defaulted", "是否违约", "Defaulted", "yesno",
     ["违约", "违约标志", "是否违约(是/否)", "default", "defaulted", "default flag", "bad"]),
    ("pd", "违约概率", "PD", "number", ["PD", "违约概率PD", "违约概率(PD)", "预测违约概率", "probability of default"]),
    ("default_date", "违约日期", "Default date", "date", ["违约时间", "default date", "date of default"]),
]
# Words for "defaulted" besides the model's yes/no lists.
_YES = ["违约", "已违约", "default", "defaulted", "bad"]
_NO = ["未违约", "正常", "履约", "good", "performing"]


def outcome_model(model: Model) -> Model:
    """The model with the outcome file's fields and source added (a copy; the model is unchanged)."""
    fields = dict(model.fields)
    for key in ("code", "name"):  # the same fields, now also carried by the outcome file
        fields[key] = dataclasses.replace(model.fields[key], sources=[*model.fields[key].sources, KIND])
    for key, label, label_en, typ, aliases in _FIELDS:
        fields[key] = FieldDef(key, label, label_en, typ, aliases, [KIND])
    sources = dict(model.sources)
    sources[KIND] = SourceDef(KIND, "违约结果", "Outcomes", "entity", [], ["code", "rating_date", "defaulted"])
    return dataclasses.replace(
        model, fields=fields, sources=sources,
        yes_values=model.yes_values | {normalize_choice(v) for v in _YES},
        no_values=model.no_values | {normalize_choice(v) for v in _NO})


def read_outcomes(path: Path, model: Model, problems: Problems, *, lang: str = "zh") -> pd.DataFrame:
    """The usable rows of an outcome file: code, name, rating_date, score, grade, defaulted, pd,
    default_date, _row (spreadsheet row). Problems name every row left out and why."""
    path = Path(path)
    omodel = outcome_model(model)
    table = read_source(path, KIND, omodel, problems, lang=lang)
    cols = ["code", "name", "rating_date", "score", "grade", "defaulted", "pd", "default_date", "_row"]
    if table is None:
        return pd.DataFrame(columns=cols)
    if table.data.empty:
        problems.add(path.name, table.sheet, table.header_row, None, "no_rows",
                     say("表头下没有数据行", "no data rows below the header"))
        return pd.DataFrame(columns=cols)
    data = table.data.copy()
    file, sheet = path.name, table.sheet
    header = table.columns
    if "score" not in data.columns and "grade" not in data.columns:
        problems.add(file, sheet, table.header_row, None, "missing_column",
                     say("需要“评分”或“等级”列（至少一列）", "a score or a grade column is needed (at least one)"))
        return pd.DataFrame(columns=cols)
    for c in cols:
        if c not in data.columns:
            data[c] = np.nan if c not in ("name", "grade") else None
    codes, reasons = normalize_codes(data["code"].astype(object).where(data["code"].notna(), ""))
    data["code"] = codes
    keep = np.ones(len(data), dtype=bool)
    # A cell the reader already reported (not a date, neither 是 nor 否 ...) is not reported twice.
    reported = {(p.row, p.column) for p in problems if p.file == file}

    def drop(mask, column_key, code, message_fn, severity="error"):
        mask = np.asarray(mask, dtype=bool)
        for i in np.flatnonzero(mask & keep):
            row, column = int(data["_row"].iloc[i]), header.get(column_key)
            if (row, column) not in reported:
                problems.add(file, sheet, row, column, code, message_fn(i), severity)
        keep[mask] = False

    drop(reasons.notna().to_numpy(), "code", "bad_code",
         lambda i: say(f"统一社会信用代码“{codes.iloc[i]}”无效：{reasons.iloc[i]}；该行未计入",
                       f"credit code '{codes.iloc[i]}' is not valid: {reasons.iloc[i]}; the row is left out"))
    drop(data["rating_date"].isna().to_numpy(), "rating_date", "missing_value",
         lambda i: say("缺少评级日期或不是日期；该行未计入", "no rating date (or not a date); the row is left out"))
    drop(data["defaulted"].isna().to_numpy(), "defaulted", "missing_value",
         lambda i: say("未填写是否违约（是/否）；该行未计入", "defaulted (是/否) is not given; the row is left out"))
    score_missing = data["score"].isna().to_numpy()
    grade_missing = data["grade"].map(lambda g: g is None or (isinstance(g, float) and np.isnan(g)) or g == "").to_numpy()
    drop(score_missing & grade_missing, "score" if "score" in header else "grade", "missing_value",
         lambda i: say("评分和等级都没有填写；该行未计入", "neither a score nor a grade is given; the row is left out"))
    pd_col = pd.to_numeric(data["pd"], errors="coerce")
    drop((pd_col.notna() & ((pd_col <= 0) | (pd_col >= 1))).to_numpy(), "pd", "bad_pd",
         lambda i: say(f"违约概率 {pd_col.iloc[i]} 不在 0 与 1 之间（可写 0.02 或 2%）；该行未计入",
                       f"PD {pd_col.iloc[i]} is not between 0 and 1 (write 0.02 or 2%); the row is left out"))
    key = data["code"] + "|" + data["rating_date"].astype(str)
    dup = key.duplicated().to_numpy()
    first_row = dict(zip(key[~key.duplicated()], data["_row"][~key.duplicated()]))
    drop(dup, "code", "duplicate_row",
         lambda i: say(f"同一企业同一评级日期已在第 {first_row[key.iloc[i]]} 行出现；本行未计入",
                       f"the same enterprise and rating date is already on row {first_row[key.iloc[i]]}; this row is "
                       "left out"), "warning")
    out = data.loc[keep, cols].reset_index(drop=True)
    out["defaulted"] = out["defaulted"].astype(bool)
    out["rating_date"] = pd.to_datetime(out["rating_date"]).dt.date
    out["default_date"] = pd.to_datetime(out["default_date"], errors="coerce").dt.date
    out["pd"] = pd.to_numeric(out["pd"], errors="coerce")
    out["score"] = pd.to_numeric(out["score"], errors="coerce")
    out["grade"] = out["grade"].map(lambda g: None if g is None or (isinstance(g, float) and np.isnan(g)) or g == ""
                                    else str(g))
    out["name"] = out["name"].map(lambda g: None if g is None or (isinstance(g, float) and np.isnan(g)) else str(g))
    return out
