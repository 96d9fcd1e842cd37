"""Writing a round's results: the rating workbook, the materials-feedback workbook and the JSON.

The rating workbook is what the secretary prints for the joint meeting: ranked ratings first,
then the grade distribution with a native bar chart, every indicator of every enterprise, the
model as used (table 2 layout with printed and effective weights and the model's warnings),
provenance and conflicts, missing materials, the problems found in the inputs, and the run
information (tool version, as-of date, input files with SHA-256, model hash).
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cluster_credit_cli.atomic import WriteOutcome, atomic_write_bytes
from cluster_credit_cli.outputs.columnar_csv import value_key
from cluster_credit_cli.outputs.excel import EXCEL_MAX_ROWS, Column, Workbook, write_table
from cluster_credit_cli.i18n import status_words, t
from cluster_credit_cli.model.config import Model
from cluster_credit_cli.rating.pipeline import RoundResult, python_strings


def default_output(applicants: Path, as_of: _dt.date, lang: str, kind: str = "ratings") -> Path:
    word = {"ratings": ("评级结果", "ratings"), "feedback": ("材料审核", "feedback")}[kind]
    return applicants.with_name(f"{applicants.stem}_{word[1 if lang == 'en' else 0]}_{as_of.isoformat()}.xlsx")


def _source_label(model: Model, kind: str, lang: str) -> str:
    src = model.sources.get(kind)
    return src.title(lang) if src else kind


def _rule_text(model: Model, key: str, lang: str) -> str:
    rule = model.rules.get(key)
    if not rule:
        return ""
    kind = rule["kind"]
    en = lang == "en"
    if kind == "todo":
        return "to be written" if en else "待编写"
    if kind == "rating":
        return (f"rating 1–5 × {model.ratings.get('points_per_step', 20)}" if en
                else f"评分1–5 × {model.ratings.get('points_per_step', 20)}")
    if kind == "lookup":
        return " · ".join(f"{k} {v:g}" for k, v in rule["points"].items())
    if kind == "count":
        pts = " · ".join(f"{i}{'+' if i == len(rule['points']) - 1 else ''}→{p:g}" for i, p in enumerate(rule["points"]))
        role = f" ({'/'.join(rule['role'])})" if rule.get("role") else ""
        return (f"{'/'.join(rule['record_types'])}{role}, {rule['window_months']} months: {pts}" if en else
                f"近{rule['window_months']}个月{'/'.join(rule['record_types'])}{role}次数：{pts}")
    parts = rule["parts"] if kind == "mean" else [rule]
    texts = []
    for part in parts:
        bands = " · ".join(f"{part['compare'].replace('>=', '≥').replace('<=', '≤')}{b[0]:g} {b[1]:g}"
                           for b in part["bands"])
        texts.append(f"{metric_words(model, part['metric'], lang)}: {bands} · "
                     f"{'else' if en else '其余'} {part.get('else', 0):g}")
    return ("mean of " if en else "平均：") + " | ".join(texts) if kind == "mean" else texts[0]


def metric_words(model: Model, metric: str, lang: str) -> str:
    """A metric with the fields' headers in place of their internal names: 负债总额 / 资产总额."""
    import re

    def label(m: "re.Match[str]") -> str:
        f = model.fields.get(m.group(0))
        return f.header(lang) if f is not None else m.group(0)

    return re.sub(r"[A-Za-z_][A-Za-z0-9_]*", label, metric)


# Above this many rows the indicator / provenance sheets go to CSV beside the workbook: a
# workbook with millions of detail cells takes minutes to write and to open (see benchmarks/README.md).
DEFAULT_DETAIL_LIMIT = 250_000


DETAIL_MODES = ("auto", "csv", "off")


def write_rating_workbook(result: RoundResult, path: Path, *, detail_limit: int | None = None,
                          detail: str = "auto") -> WriteOutcome:
    """The ranked rating workbook; returns where it was written (see ``atomic``).

    ``detail_limit``: the most rows the indicator and provenance sheets hold in the workbook
    (default ``DEFAULT_DETAIL_LIMIT``, never more than Excel's row limit). ``detail`` says what
    happens to a larger one: ``auto`` (default) leaves it out and the sheet says how to get it,
    ``csv`` writes it as a CSV beside the workbook (the sheet names the file), ``off`` leaves
    both detail sheets out whatever their size. The per-leaf scores stay in the JSON and the
    register either way.
    """
    if detail not in DETAIL_MODES:
        raise ValueError(f"detail must be one of {DETAIL_MODES}")
    lang, model = result.lang, result.model
    ranked = result.ranked()
    dims1 = [k for k, n in model.nodes.items() if n.level == 1 and n.block == "base"]
    detail_limit = min(detail_limit or DEFAULT_DETAIL_LIMIT, EXCEL_MAX_ROWS - 10)
    from cluster_credit_cli.atomic import belongs_to_set

    # CSVs an earlier run wrote beside this workbook go unless this run writes them again.
    for sheet in ("sheet.indicators", "sheet.provenance", "sheet.problems"):
        belongs_to_set(path.with_name(path.stem + f"_{t(sheet, lang)}.csv"))
    with python_strings(), Workbook(path) as wb:
        wb.set_print_info(_print_title(result, "sheet.ratings"), result.as_of, lang)
        _ratings_sheet(wb, ranked, model, dims1, lang)
        _grades_sheet(wb, result, lang)
        _indicator_sheet(wb, result, ranked, lang, detail_limit, path, detail)
        write_model_sheet(wb, model, lang)
        _provenance_sheets(wb, result, lang, detail_limit, path, detail)
        _missing_sheet(wb, ranked, lang)
        write_problems_sheet(wb, result.problems.as_dicts(), lang, _problems_csv(path, lang))
        _run_sheet(wb, result, lang)
        for attachment in result.attachments.values():
            attachment.write_sheet(wb, model, lang, dict(zip(ranked["code"], ranked["name"])))
    return wb.close()


def _unit(model: Model, lang: str) -> str:
    """The pool's unit after a heading, in the sheet's language: （万元） or (CNY 10k)."""
    if lang == "en":
        unit = model.pool.get("unit_en") or model.pool.get("unit", "")
        return f" ({unit})" if unit else ""
    unit = model.pool.get("unit", "")
    return f"（{unit}）" if unit else ""


def _print_title(result: RoundResult, kind: str) -> str:
    """The page header's title: the model (the cluster's round) and what the workbook is."""
    model, lang = result.model, result.lang
    name = model.name_en if lang == "en" and model.name_en else model.name
    return f"{name} · {t(kind, lang)}" if name else t(kind, lang)


def _grade_fmt(wb: Workbook, model: Model, grade: Any):
    color = model.grade_colors.get(grade) if isinstance(grade, str) else None
    return {"bg_color": color, "bold": True} if color else None


def _ratings_sheet(wb: Workbook, ranked: pd.DataFrame, model: Model, dims1: list[str], lang: str) -> None:
    # Sentence columns are capped and wrap: the sheet must print one page wide at 8 pt or more.
    cols = [Column(t("rank", lang), "int"), Column(t("code", lang)), Column(t("name", lang), width=28),
            Column(t("total", lang), "number"), Column(t("base", lang), "number"), Column(t("bonus", lang), "number"),
            Column(t("grade", lang)), Column(t("status", lang), width=14), Column(t("reasons", lang), width=20),
            Column(f"{t('requested', lang)}{_unit(model, lang)}", "number", 0),
            Column(f"{t('quota', lang)}{_unit(model, lang)}", "number", 0)]
    cols += [Column(f"{model.nodes[k].label(lang)}" + (f" ({model.nodes[k].weight:g})" if lang == "en" else
                                                      f"（{model.nodes[k].weight:g}）"), "number") for k in dims1]
    if not len(ranked):
        sheet, _ = write_table(wb, t("sheet.ratings", lang), cols, [])
        wb.print_setup(sheet, orientation="landscape")
        return
    sep = "; " if lang == "en" else "；"
    grades = ranked["grade"].astype(object)
    data = [ranked["rank"], ranked["code"], ranked["name"], ranked["total_display"], ranked["base"], ranked["bonus"],
            grades.where(grades.map(lambda g: isinstance(g, str)), None),
            # the reasons, and for 材料不全 what is missing (the reason of that status)
            [status_words(s, lang) for s in ranked["status"]],
            [sep.join(a + b) for a, b in zip(ranked["reasons"], ranked["missing"])],
            ranked["requested"], ranked["quota"]]
    data += [ranked[f"dim:{k}"] if f"dim:{k}" in ranked else [None] * len(ranked) for k in dims1]
    # Grade colours on the grade cell only, so the sheet prints well in black and white too.
    colours = {g: _grade_fmt(wb, model, g) for g in pd.unique(grades) if isinstance(g, str)}
    grade_fmts = [({**colours[g], "align": "center", "text_wrap": False} if isinstance(g, str) and colours[g] else None)
                  for g in grades]
    sheet, _ = write_table(wb, t("sheet.ratings", lang), cols, data=data, cell_formats={6: grade_fmts})
    wb.print_setup(sheet, orientation="landscape")


def _grades_sheet(wb: Workbook, result: RoundResult, lang: str) -> None:
    counts = result.grade_counts()
    model = result.model
    quota = result.table.groupby("grade")["quota"].sum() if len(result.table) else {}
    rows = [[g, counts[g], float(quota.get(g, 0.0)) if hasattr(quota, "get") else 0.0] for g in counts]
    not_graded = int((~result.table["graded"]).sum())
    rows.append([t("not_graded", lang), not_graded, 0.0])
    cols = [Column(t("grade", lang)), Column(t("count", lang), "int"),
            Column(f"{t('quota', lang)}{_unit(model, lang)}", "number", 0)]
    sheet, n = write_table(wb, t("sheet.grades", lang), cols, rows, autofilter=False)
    chart = wb.book.add_chart({"type": "column"})
    name = t("sheet.grades", lang)[:31]
    points = [{"fill": {"color": model.grade_colors.get(g, "#4472C4")}} for g in counts] + [{"fill": {"color": "#BFBFBF"}}]
    chart.add_series({"name": t("count", lang), "categories": [name, 1, 0, n, 0], "values": [name, 1, 1, n, 1],
                      "points": points, "data_labels": {"value": True}})
    chart.set_title({"name": t("chart.grades", lang)})
    chart.set_legend({"none": True})
    chart.set_y_axis({"name": t("count", lang), "major_gridlines": {"visible": True}})
    pool = result.pool()
    r0 = n + 3
    sheet.set_column(0, 0, 22)
    # Below the tables, so it prints on the same portrait page.
    wb.insert_chart(sheet, r0 + 4, 0, chart, x_scale=0.95)
    for i, (label, value) in enumerate([(t("run.capacity", lang), pool["capacity"]),
                                        (t("run.allocated", lang), pool["allocated"]),
                                        (t("run.remaining", lang), pool["remaining"])]):
        wb.write_cell(sheet, r0 + i, 0, f"{label}{_unit(model, lang)}", wb.fmt(bold=True))
        wb.write_cell(sheet, r0 + i, 1, value, wb.fmt(num_format="#,##0"))


def _detail_left_out(wb: Workbook, sheet: str, rows: int, limit: int, detail: str, lang: str) -> bool:
    """Write the note sheet for a detail sheet that is not written; True if so."""
    if detail == "csv" or (detail == "auto" and rows <= limit):
        return False
    if detail == "off":
        zh = f"未写入（--detail off）：共 {rows:,} 行。如需明细，请加 --detail auto 或 --detail csv 重新运行。"
        en = f"Not written (--detail off): {rows:,} rows. Rerun with --detail auto or --detail csv for them."
    else:
        zh = (f"共 {rows:,} 行，超过工作簿明细上限 {limit:,} 行，未写入。"
              f"如需全部明细，请加 --detail csv 重新运行（写成本工作簿旁的 CSV 文件）；"
              f"各企业各指标得分另见 JSON 结果和评级登记簿。")
        en = (f"{rows:,} rows, more than the workbook's detail limit of {limit:,}: not written. "
              f"Rerun with --detail csv to write them as a CSV beside this workbook; every "
              f"enterprise's leaf scores are also in the JSON result and the rating register.")
    write_table(wb, sheet, [Column(t("message", lang), width=100)], [[en if lang == "en" else zh]],
                autofilter=False, paper=False)
    return True


def _indicator_sheet(wb: Workbook, result: RoundResult, ranked: pd.DataFrame, lang: str, limit: int,
                     path: Path, detail: str = "csv") -> None:
    model, scores, merged = result.model, result.scores, result.merged
    cols = [Column(t("code", lang)), Column(t("name", lang), width=30), Column(t("key", lang)),
            Column(t("indicator", lang), width=16), Column(t("input", lang), "number", 4),
            Column("Inputs" if lang == "en" else "输入明细", width=40),
            Column(t("score", lang), "number", 0), Column(t("weight", lang), "number", 6),
            Column(t("points", lang), "number", 4), Column(t("source", lang), width=40)]
    leaves = model.leaves()
    codes = [c for c in ranked["code"] if c not in merged.conflict_codes]
    names = dict(zip(ranked["code"], ranked["name"]))
    total_rows = len(codes) * len(leaves)
    if _detail_left_out(wb, t("sheet.indicators", lang), total_rows, limit, detail, lang):
        return
    # Whole-column lookups up front: a per-cell .at is the slow part of a 40,000-firm sheet.
    pos = scores.scores.index.get_indexer(pd.Index(codes))
    score_arr = scores.scores[leaves].to_numpy(dtype=float)[pos] if len(codes) else np.zeros((0, len(leaves)))
    input_arr = scores.inputs[leaves].to_numpy(dtype=object)[pos] if len(codes) else np.zeros((0, len(leaves)), object)
    source_arr = _leaf_source_table(model, merged, leaves, codes, lang)
    detail_arr = _leaf_input_table(model, merged, leaves, codes, lang)
    labels = [model.nodes[k].label(lang) for k in leaves]
    weights = [model.effective[k] for k in leaves]

    # The same cells for the sheet and the CSV, as whole columns (a city round has millions).
    nl = len(leaves)
    flat_scores = score_arr.ravel()
    weight_col = np.tile(np.array(weights, dtype=float), len(codes))
    data = [np.repeat(np.array(codes, dtype=object), nl), np.repeat(np.array([names[c] for c in codes], dtype=object), nl),
            np.tile(np.array(leaves, dtype=object), len(codes)), np.tile(np.array(labels, dtype=object), len(codes)),
            [None if isinstance(v, float) and v != v else v for v in input_arr.ravel().tolist()],
            [s for row in detail_arr for s in row], flat_scores, weight_col,
            weight_col * flat_scores, [s for row in source_arr for s in row]]
    if total_rows > limit:
        csv_path = path.with_name(path.stem + f"_{t('sheet.indicators', lang)}.csv")
        _write_csv(csv_path, [c.header for c in cols], data)
        write_table(wb, t("sheet.indicators", lang), [Column(t("message", lang), width=80)],
                    [[_spilled(total_rows, limit, csv_path, lang)]], autofilter=False, paper=False)
        return
    write_table(wb, t("sheet.indicators", lang), cols, data=data, paper=False, repeat_cols=2)


def _leaf_sources(model: Model, merged, lang: str):
    """A function (code, leaf) → 'file / sheet / row / column' of the value the leaf used."""
    def describe(code: str, key: str) -> str:
        rule = model.rules[key]
        if rule["kind"] == "count":
            t_ = merged.tables.get("credit_system")
            return f"{t_.file.name}（{len(merged.records) if merged.records is not None else 0} records）" \
                if t_ is not None else ""
        names = rule.get("_inputs", [])
        bits = []
        for f in names:
            src = merged.winner.at[code, f] if f in merged.winner else ""
            if not src:
                continue
            table = merged.tables[src]
            row = merged.aligned[src].at[code, "_row"]
            bits.append(f"{table.file.name}/{table.sheet or ''}/{int(row)}/{table.columns.get(f, f)}")
        return "; ".join(dict.fromkeys(bits))
    return describe


def _leaf_source_table(model: Model, merged, leaves: list[str], codes: list[str], lang: str = "zh") -> list[list[str]]:
    """``_leaf_sources`` for every (code, leaf) at once: one string per field and code, then joined."""
    n = len(codes)
    index = pd.Index(codes)
    per_field: dict[str, np.ndarray] = {}

    def field_sources(f: str) -> np.ndarray:
        if f in per_field:
            return per_field[f]
        out = np.full(n, "", dtype=object)
        if f in merged.winner and n:
            win = merged.winner[f].reindex(index).fillna("").to_numpy(dtype=object)
            for src in set(win) - {""}:
                table = merged.tables[src]
                mask = win == src
                rows = merged.aligned[src]["_row"].reindex(index[mask]).to_numpy()
                prefix = f"{table.file.name}/{table.sheet or ''}/"
                suffix = f"/{table.columns.get(f, f)}"
                out[mask] = [f"{prefix}{int(r)}{suffix}" for r in rows]
        per_field[f] = out
        return out

    columns = []
    for key in leaves:
        rule = model.rules[key]
        if rule["kind"] == "count":
            t_ = merged.tables.get("credit_system")
            n_rec = len(merged.records) if merged.records is not None else 0
            text = ((f"{t_.file.name} ({n_rec} records)" if lang == "en" else f"{t_.file.name}（{n_rec} 条记录）")
                    if t_ is not None else "")
            columns.append([text] * n)
            continue
        arrays = [field_sources(f) for f in rule.get("_inputs", [])]
        if not arrays:
            columns.append([""] * n)
        elif len(arrays) == 1:
            columns.append(arrays[0].tolist())
        else:
            columns.append(["; ".join(dict.fromkeys(b for b in bits if b)) for bits in zip(*arrays)])
    return [list(r) for r in zip(*columns)] if columns and n else [[""] * len(leaves) for _ in range(n)]


def _leaf_input_table(model: Model, merged, leaves: list[str], codes: list[str], lang: str) -> list[list[str]]:
    """Per (code, leaf) the values the rule read, by their headers: '负债总额 300；资产总额 1000'.

    Built one field at a time (an array of strings per field), then joined per leaf.
    """
    from cluster_credit_cli.rating.missing import leaf_inputs

    n = len(codes)
    index = pd.Index(codes)
    blank = "—"
    sep = "; " if lang == "en" else "；"
    per_field: dict[str, np.ndarray] = {}

    def text(v: Any) -> str:
        if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
            return blank
        if isinstance(v, (bool, np.bool_)):
            return t("yes", lang) if v else t("no", lang)
        if isinstance(v, (float, np.floating)):
            return f"{float(v):,.6g}"
        if isinstance(v, pd.Timestamp):
            return v.date().isoformat()
        return str(v)

    def field_texts(f: str) -> np.ndarray:
        if f not in per_field:
            header = model.fields[f].header(lang)
            col = merged.values[f].reindex(index) if f in merged.values and n else pd.Series([None] * n, dtype=object)
            # once per distinct value (amounts repeat little, ratings and yes/no a lot)
            codes_, uniques = pd.factorize(col.to_numpy(dtype=object), use_na_sentinel=True)
            shown = np.array([f"{header} {text(u)}" for u in uniques] + [f"{header} {blank}"], dtype=object)
            per_field[f] = shown[codes_]
        return per_field[f]

    columns = []
    for key in leaves:
        fields = leaf_inputs(model, key)
        if not fields:
            columns.append([""] * n)
        elif len(fields) == 1:
            columns.append(field_texts(fields[0]).tolist())
        else:
            joined = field_texts(fields[0])
            for f in fields[1:]:
                joined = joined + sep + field_texts(f)  # object arrays: one concatenation per field
            columns.append(joined.tolist())
    return [list(r) for r in zip(*columns)] if columns and n else [[""] * len(leaves) for _ in range(n)]


def _weight_decimals(model: Model) -> int:
    """As many decimals as the printed weights have (2 for the paper's, 4 for AHP-derived), at most 6."""
    return max([2] + [next(d for d in range(7) if d == 6 or abs(n.weight - round(n.weight, d)) < 1e-12)
                      for n in model.nodes.values()])


def write_model_sheet(wb: Workbook, model: Model, lang: str) -> None:
    cols = [Column(t("key", lang)), Column(t("level", lang), "int"), Column(t("indicator", lang), width=20),
            Column(t("parent", lang)), Column(t("printed_weight", lang), "number", _weight_decimals(model)),
            Column(t("weight", lang), "number", 6), Column(t("rule", lang), width=60)]
    rows = [[n.key, n.level, n.label(lang), n.parent or "", n.weight, model.effective[n.key],
             _rule_text(model, n.key, lang)] for n in model.walk()]
    sheet, n = write_table(wb, t("sheet.model", lang), cols, rows)
    warn = model.warnings_en if lang == "en" else model.warnings
    for i, w in enumerate(warn):
        wb.write_cell(sheet, n + 2 + i, 0, t("run.warning", lang), wb.fmt(bold=True, font_color="#C00000"))
        wb.write_note(sheet, n + 2 + i, 2, len(cols) - 1, w)


def _provenance_sheets(wb: Workbook, result: RoundResult, lang: str, limit: int, path: Path,
                       detail: str = "csv") -> None:
    merged, model = result.merged, result.model
    labels = {k: f.header(lang) for k, f in model.fields.items()}
    if not _detail_left_out(wb, t("sheet.provenance", lang), merged.provenance_rows(), limit, detail, lang):
        _provenance_sheet(wb, result, lang, limit, path, labels)
    _conflicts_sheet(wb, result, lang, labels)


def _provenance_sheet(wb: Workbook, result: RoundResult, lang: str, limit: int, path: Path,
                      labels: dict[str, str]) -> None:
    merged, model = result.merged, result.model
    prov = merged.provenance(model)
    cols = [Column(t("code", lang)), Column(t("field", lang)), Column(t("value", lang)), Column(t("source", lang)),
            Column(t("file", lang)), Column(t("sheet", lang)), Column(t("row", lang), "int"), Column(t("column", lang))]
    if not len(prov):
        write_table(wb, t("sheet.provenance", lang), cols, [], paper=False, repeat_cols=1)
        return
    src_labels = {k: _source_label(model, k, lang) for k in set(prov["source"])}
    field_labels = {f: labels.get(f, f) for f in pd.unique(prov["field"])}
    data = [prov["code"], prov["field"].map(field_labels), _cell_column(prov["value"]),
            prov["source"].map(src_labels), prov["file"], prov["sheet"], prov["row"], prov["column"]]
    if len(prov) > limit:
        csv_path = path.with_name(path.stem + f"_{t('sheet.provenance', lang)}.csv")
        _write_csv(csv_path, [c.header for c in cols], data)
        write_table(wb, t("sheet.provenance", lang), [Column(t("message", lang), width=80)],
                    [[_spilled(len(prov), limit, csv_path, lang)]], autofilter=False, paper=False)
    else:
        write_table(wb, t("sheet.provenance", lang), cols, data=data, paper=False, repeat_cols=1)


def _conflicts_sheet(wb: Workbook, result: RoundResult, lang: str, labels: dict[str, str]) -> None:
    model = result.model
    conf = result.merged.conflicts
    ccols = [Column(t("code", lang)), Column(t("name", lang), width=30), Column(t("field", lang)),
             Column(t("source", lang)), Column(t("file", lang)), Column(t("row", lang), "int"),
             Column(t("column", lang)), Column(t("value", lang)), Column(t("used", lang))]
    if not len(conf):
        write_table(wb, t("sheet.conflicts", lang), ccols, [], paper=False, repeat_cols=2)
        return
    used = {True: t("yes", lang), False: t("no", lang)}
    field_labels = {f: labels.get(f, f) for f in pd.unique(conf["field"])}
    src_labels = {k: _source_label(model, k, lang) for k in pd.unique(conf["source"])}
    data = [conf["code"], conf["name"], conf["field"].map(field_labels), conf["source"].map(src_labels),
            conf["file"], conf["row"], conf["column"], _cell_column(conf["value"]),
            [used[bool(u)] for u in conf["used"]]]
    write_table(wb, t("sheet.conflicts", lang), ccols, data=data, paper=False, repeat_cols=2)


def _spilled(rows: int, limit: int, csv_path: Path, lang: str) -> str:
    """The note left in a detail sheet that went to CSV, in the workbook's language."""
    return (f"{rows} rows > {limit}: written to {csv_path.name}" if lang == "en"
            else f"共 {rows} 行，超过 {limit} 行的上限：已写入 {csv_path.name}")


def _cell(value: Any) -> Any:
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        return value.date() if hasattr(value, "date") else value
    if isinstance(value, (bool, np.bool_)):
        return "是" if value else "否"
    return value


def _missing_sheet(wb: Workbook, ranked: pd.DataFrame, lang: str) -> None:
    cols = [Column(t("code", lang)), Column(t("name", lang), width=34), Column(t("status", lang), width=20),
            Column(t("missing", lang), width=80)]
    sep = "; " if lang == "en" else "；"
    some = ranked[[bool(m) for m in ranked["missing"]]] if len(ranked) else ranked
    if not len(some):
        write_table(wb, t("sheet.missing", lang), cols, [])
        return
    write_table(wb, t("sheet.missing", lang), cols, data=[
        some["code"], some["name"], [status_words(s, lang) for s in some["status"]],
        [sep.join(m) for m in some["missing"]]])


def write_problems_sheet(wb: Workbook, problems: list[dict[str, Any]], lang: str,
                         overflow_csv: Path | None = None) -> None:
    """The problems sheet. More problems than Excel has rows: the sheet says so, and the full list
    goes to ``overflow_csv`` (beside the workbook) when given, as it does to the JSON."""
    cols = [Column(t("file", lang), width=24), Column(t("sheet", lang)), Column(t("row", lang), "int"),
            Column(t("column", lang), width=20), Column(t("problem_code", lang)), Column(t("severity", lang)),
            Column(t("message", lang), width=90)]
    rows = [[p["file"], p["sheet"], p["row"], p["column"], p["code"], t(p["severity"], lang), p["message"]]
            for p in problems]
    note = ""
    if overflow_csv is not None and len(rows) > EXCEL_MAX_ROWS - 2:
        _write_csv(overflow_csv, [c.header for c in cols], [list(col) for col in zip(*rows)])
        note = (f"the full list ({len(rows):,}): {overflow_csv.name}, JSON" if lang == "en"
                else f"完整清单（{len(rows):,} 条）：{overflow_csv.name}、JSON")
    write_table(wb, t("sheet.problems", lang), cols, rows, overflow_note=note)


def _run_sheet(wb: Workbook, result: RoundResult, lang: str) -> None:
    model = result.model
    pool = result.pool()
    items: list[list[Any]] = [
        [t("run.tool", lang), f"ccredit {result.tool_version}"],
        [t("run.as_of", lang), result.as_of],
        [t("run.created", lang), _dt.datetime.now().replace(microsecond=0)],
        [t("run.model", lang), model.name_en if lang == "en" and model.name_en else model.name],
        [t("run.config", lang), str(model.path)],
        [t("run.config_hash", lang), result.config_hash],
        [f"{t('run.capacity', lang)}{_unit(model, lang)}", pool["capacity"]],
        [f"{t('run.allocated', lang)}{_unit(model, lang)}", pool["allocated"]],
    ]
    for w in result.warnings:
        items.append([t("run.warning", lang), w])
    for i in result.inputs:
        items.append([f"{t('run.input', lang)}：{_source_label(model, i['kind'], lang)}",
                      f"{i['file']}  ({i['rows']} {t('rows', lang)}; SHA-256 {i['sha256']})"])
        if i.get("ignored_columns"):
            items.append([f"{t('run.ignored', lang)}：{i['file']}",
                          (", " if lang == "en" else "、").join(i["ignored_columns"])])
    for kind, st in result.stats.items():
        items.append([f"{_source_label(model, kind, lang)}", json.dumps(st, ensure_ascii=False)])
    sheet, _ = write_table(wb, t("sheet.run", lang), [Column(t("item", lang), width=30),
                                                      Column(t("content", lang), width=100)], items,
                           autofilter=False, paper=False)


def _cell_column(values: pd.Series) -> list[Any]:
    """``_cell`` over a column, once per distinct (type, value)."""
    cache: dict[tuple, Any] = {}
    out = []
    for v in values.to_numpy(dtype=object).tolist():
        key = value_key(v)
        try:
            c = cache[key]
        except KeyError:
            c = cache[key] = _cell(v)
        except TypeError:
            c = _cell(v)
        out.append(c)
    return out


def _write_csv(path: Path, header: list[str], columns) -> None:
    from cluster_credit_cli.atomic import atomic_path
    from cluster_credit_cli.outputs.columnar_csv import write_columns

    with atomic_path(path) as (tmp, _):
        with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
            write_columns(fh, header, columns)


def json_bytes(result: RoundResult) -> bytes:
    """The result as JSON (UTF-8): indented, but one line per enterprise.

    The stdlib encoder is in C only without ``indent``; a 20,000-firm round's enterprises
    indented in pure Python took seconds. So the envelope is indented and each enterprise is one
    compact line (easy to grep, same data; ``json.load`` sees no difference). The lines are built
    a column at a time (outputs/json_rows.py): the same text the encoder gives for each
    enterprise's dict, at a fraction of its cost.
    """
    from cluster_credit_cli.outputs.json_rows import enterprise_lines, gc_paused

    marker = f"@@enterprises-{uuid.uuid4().hex}@@"
    doc = result.to_json(enterprises=marker)
    head, tail = json.dumps(doc, ensure_ascii=False, indent=2, default=str).split(json.dumps(marker), 1)
    with gc_paused():
        if not len(result.enterprise_columns()):
            return (head + "[]" + tail).encode("utf-8")
        # the document is the lines with the envelope before the first and after the last: one join
        return enterprise_lines(result, first=head + "[\n    ", between=",\n    ", last="\n  ]" + tail,
                                as_bytes=True, flat=True)


def json_text(result: RoundResult) -> str:
    """``json_bytes`` as text."""
    return json_bytes(result).decode("utf-8")


def write_json(result: RoundResult, path: Path) -> WriteOutcome:
    return atomic_write_bytes(path, json_bytes(result))


def write_feedback_workbook(result: RoundResult, path: Path) -> WriteOutcome:
    """材料完整性审核: per enterprise what is missing or to correct, to send back to applicants.

    Meant for applicants: it names documents and fields, never indicator codes; it does not show
    the review panel's values (the panel's ratings are the panel's), and differences settled by
    precedence (the auditor's figures over the form's) are information, not something to check.
    """
    lang, model = result.lang, result.model
    en = lang == "en"
    sep = "; " if en else "；"
    conflicts = result.merged.conflicts
    if len(conflicts):
        conflicts = conflicts[conflicts["source"] != "panel"]
    # Capped widths that wrap: the feedback prints one landscape page wide, every column readable.
    cols = [Column(t("code", lang)), Column(t("name", lang), width=22), Column(t("status", lang), width=12),
            Column(t("missing", lang), width=34),
            Column("Differences" if en else "数据不一致", width=28),  # each cell names the source used
            Column(t("action", lang), width=30)]
    rows = []
    by_code = {c: g for c, g in conflicts.groupby("code", sort=False)} if len(conflicts) else {}
    for r in result.table.sort_values("code").to_dict("records"):
        diffs = []
        for field, group in (by_code[r["code"]].groupby("field", sort=False) if r["code"] in by_code else []):
            if len(group) < 2:
                continue
            label = model.fields[field].header(lang)
            used = [_source_label(model, s, lang) for s, u in zip(group["source"], group["used"]) if u]
            vals = (", " if en else "，").join(f"{_source_label(model, s, lang)} {v}"
                                               for s, v in zip(group["source"], group["value"]))
            diffs.append(f"{label}: {vals} ({used[0]} used)" if en and used else
                         f"{label}：{vals}（采用{used[0]}）" if used else f"{label}：{vals}")
        status = [s for s in r["status"] if s in ("incomplete", "conflict")]
        todo = list(r.get("todo") or [])
        if status:
            state = status_words(status, lang)
        elif todo:
            state = "to check" if en else "需核对"
        else:
            state = "complete" if en else "材料完整"
        rows.append([r["code"], r["name"], state, sep.join(r["missing"]), sep.join(diffs), sep.join(todo)])
    with Workbook(path) as wb:
        wb.set_print_info(_print_title(result, "sheet.feedback"), result.as_of, lang)
        write_table(wb, t("sheet.feedback", lang), cols, rows)
        write_problems_sheet(wb, result.problems.as_dicts(), lang, _problems_csv(path, lang))
        _run_sheet(wb, result, lang)
    return wb.close()


def _problems_csv(path: Path, lang: str) -> Path:
    return path.with_name(path.stem + f"_{t('sheet.problems', lang)}.csv")
