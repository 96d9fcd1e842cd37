"""Survey outputs: the table-1 workbook (merged question cells, native charts), Markdown, CSV, JSON
and the plain-text tables printed in the terminal.

Layout of the main sheet, as table 1 of the Hengli paper::

    <title>
    发放问卷109份，收回109份，有效问卷104份
    样本特征 | 特征分布 | 样本数量 | 比例(%)
    企业性质 | 民营     | 71      | 68.3      <- question cell merged over its block
             | ...
             | 合计     | 104     | 100.0
"""

from __future__ import annotations

import csv
import io
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

from cluster_credit_cli.atomic import WriteOutcome, atomic_write_text
from cluster_credit_cli.outputs.excel import Column, Workbook, display_width, escape_for_text_output, write_table
from cluster_credit_cli.survey.stats import CrossTable, QuestionStat, SurveyResult

WORDS = {
    "sheet.profile": ("样本特征", "Sample profile"), "sheet.likert": ("量表统计", "Likert scales"),
    "sheet.invalid": ("无效问卷", "Invalid questionnaires"), "sheet.problems": ("问题清单", "Problems"),
    "sheet.run": ("运行信息", "Run information"), "sheet.crosstab": ("交叉表", "Crosstab"),
    "question": ("样本特征", "Characteristic"), "category": ("特征分布", "Category"),
    "count": ("样本数量", "Count"), "percent": ("比例(%)", "Percent (%)"),
    "percent_answers": ("占回答次数比例(%)", "Percent of answers (%)"),
    "total": ("合计", "Total"), "missing": ("缺失（未回答）", "Missing (no answer)"),
    "unknown": ("无法识别（见问题清单）", "Unrecognised (see problems)"),
    "not_asked": ("不适用（跳题）", "Not asked (skip logic)"), "respondents": ("答题人数", "Respondents"),
    "answers": ("回答次数", "Answers"), "valid_n": ("有效回答", "Valid answers"), "mean": ("均值", "Mean"),
    "sd": ("标准差", "SD"), "min": ("最小值", "Min"), "median": ("中位数", "Median"), "max": ("最大值", "Max"),
    "dimension": ("维度", "Dimension"), "item": ("题项", "Item"), "n": ("样本数", "n"),
    "top2": ("前两档比例(%)", "Top-2-box (%)"), "row": ("行", "Row"), "answered": ("已答题数", "Answered"),
    "applicable": ("应答题数", "Applicable"), "radar": ("维度均值雷达图", "Dimension means"),
    "item_means": ("题项均值", "Item means"), "text_q": ("文本题：回答人数", "Text question: respondents"),
    "row_pct": ("行百分比(%)", "Row percent (%)"), "col_pct": ("列百分比(%)", "Column percent (%)"),
    "test": ("检验", "Test"), "statistic": ("统计量", "Statistic"), "dof": ("自由度", "df"),
    "p": ("p值", "p-value"), "group": ("分组", "Group"), "all": ("全部", "All"),
    "chi-square": ("Pearson卡方检验（无连续性校正）", "Pearson chi-square (no continuity correction)"),
    "fisher": ("Fisher精确检验（双侧）", "Fisher's exact test (two-sided)"),
    "run.data": ("问卷数据文件", "Responses file"), "run.sheet": ("工作表", "Sheet"), "run.codebook": ("编码本", "Codebook"),
    "run.date": ("调查时间", "Survey date"), "run.counts": ("问卷数量", "Questionnaires"), "run.weight": ("权重列", "Weight column"),
    "run.layout": ("数据格式", "Export layout"), "cramers_v": ("Cramér's V", "Cramér's V"),
}


def w(key: str, lang: str) -> str:
    zh, en = WORDS[key]
    return en if lang == "en" else zh


def header_line(result: SurveyResult) -> str:
    d, en = result.data, result.lang == "en"
    parts = []
    if d.handed_out is not None:
        parts.append(f"{d.handed_out} handed out" if en else f"发放问卷{d.handed_out}份")
    parts.append(f"{d.returned} returned" if en else f"收回{d.returned}份")
    parts.append(f"{d.n_valid} valid" if en else f"有效问卷{d.n_valid}份")
    return ", ".join(parts) if en else "，".join(parts)


def notes(result: SurveyResult) -> list[str]:
    en, cb = result.lang == "en", result.data.codebook
    rule = (f"at least {cb.valid_min_answered} questions answered" if en else f"至少回答{cb.valid_min_answered}题") \
        if cb.valid_min_answered is not None else (
        f"at least {cb.valid_min_share:.0%} of the questions answered" if en else f"回答题数不少于应答题数的{cb.valid_min_share:.0%}")
    out = [("Percent = count / valid answers to the question (N = total row); " if en else
            "比例 = 样本数量 ÷ 该题有效回答数（合计行即分母N）；") +
           (f"rounded half-up to {result.decimals} decimals" if en else f"四舍五入保留{result.decimals}位小数")]
    if result.sum_100:
        out.append("Single-choice blocks made to sum to 100 (largest remainder)." if en else
                   "单选题各类比例按最大余数法调整，合计恰为100。")
    out.append(f"Valid questionnaire: {rule}." if en else f"有效问卷规则：{rule}。")
    if result.data.weights is not None:
        out.append(f"Weighted by column {result.data.weight_column}." if en else f"按列“{result.data.weight_column}”加权。")
    if result.data.layout:
        out.append(f"Export layout: {result.data.layout_en}." if en else f"数据格式：{result.data.layout}。")
    if cb.positional_codes:
        out.append("Numbers that are no choice's name, label or code are read as the choice's position in its list "
                   "(codebook setting positional_codes)." if en else
                   "不是选项名称、标签或 code 的数字答案按选项在列表中的位置读取（编码本设置 positional_codes）。")
    skipped = [q for q in cb.skipped if q.type != "note"]
    if skipped:
        items = ", ".join(f"{q.text(result.lang)} ({q.not_tabulated})" for q in skipped)
        out.append(f"Not tabulated: {items}." if en else f"未制表的题目（不计入有效问卷判断）：{items}。")
    out += cb.notes
    if any(q.categories and sum(c.percent for c in q.categories if c.percent is not None) != 100
           for q in result.questions if q.kind == "choice" and q.n):
        out.append("Percents are rounded one by one; a total row shows their sum, which may differ from 100 by rounding."
                   if en else "各类比例分别四舍五入，合计行为其加总，可能因舍入与100略有出入。")
    if any(q.kind == "multi" for q in result.questions):
        out.append("Multiple choice: percent of respondents, may sum above 100%; percent of answers in its own column."
                   if en else "多选题：比例为占答题人数的百分比，合计可超过100%；占回答次数的比例另列。")
    return out


def _day(days: float) -> str:
    import numpy as np

    return str(np.datetime64("1970-01-01", "D") + int(days))


def _f(x: Any) -> Any:
    """Decimal -> float for writing; keeps ints/None."""
    if isinstance(x, Decimal):
        return float(x)
    return x


def block_rows(q: QuestionStat, lang: str) -> list[list[Any]]:
    """Rows of one question: [category, count, percent, percent_of_answers]."""
    rows: list[list[Any]] = []
    if q.kind == "multi":
        for c in q.categories:
            rows.append([c.label, c.count, _f(c.percent), _f(c.percent_answers)])
        rows.append([f"{w('total', lang)}（{w('respondents', lang)}）" if lang != "en" else
                     f"{w('total', lang)} ({w('respondents', lang)})", q.n, None, None])
        rows.append([w("answers", lang), q.answers, None, 100.0 if q.answers else None])
    elif q.kind == "date":
        rows.append([w("valid_n", lang), q.n, None, None])
        for key in ("min", "max"):
            if key in q.summary:
                rows.append([w(key, lang), _day(q.summary[key]), None, None])
        for c in q.categories:
            rows.append([c.label, c.count, _f(c.percent), None])
    elif q.categories:
        for c in q.categories:
            rows.append([c.label, c.count, _f(c.percent), None])
        printed = [c.percent for c in q.categories if c.percent is not None]
        rows.append([w("total", lang), q.n, float(sum(printed)) if q.n and printed else None, None])
    elif q.summary or q.kind == "number":
        rows.append([w("valid_n", lang), q.n, None, None])
        for key in ("mean", "sd", "min", "median", "max"):
            if key in q.summary:
                rows.append([w(key, lang), q.summary[key], None, None])
    else:
        rows.append([w("text_q", lang), q.n, None, None])
    if q.missing:
        rows.append([w("missing", lang), q.missing, None, None])
    if q.unknown:
        rows.append([w("unknown", lang), q.unknown, None, None])
    if q.not_asked:
        rows.append([w("not_asked", lang), q.not_asked, None, None])
    return rows


# -- workbook ----------------------------------------------------------------------------------

def write_workbook(result: SurveyResult, path: Path) -> WriteOutcome:
    lang = result.lang
    with Workbook(path) as wb:
        cb = result.data.codebook
        wb.set_print_info(cb.title or ("4C 满意度调查" if lang != "en" else "Survey"), cb.survey_date, lang)
        _profile_sheet(wb, result)
        if result.items:
            _likert_sheet(wb, result)
        inv = result.data.invalid_rows()
        if inv:
            write_table(wb, w("sheet.invalid", lang), [Column(w("row", lang), "int"), Column(w("answered", lang), "int"),
                                                       Column(w("applicable", lang), "int")], inv)
        _problems_sheet(wb, result.problems, lang)
        cb = result.data.codebook
        write_table(wb, w("sheet.run", lang), [Column("项目" if lang != "en" else "Item"), Column("内容" if lang != "en" else "Value")],
                    [(w("run.data", lang), result.data.file), (w("run.sheet", lang), result.data.sheet or ""),
                     (w("run.codebook", lang), Path(cb.path).name), (w("run.date", lang), cb.survey_date),
                     (w("run.counts", lang), header_line(result)),
                     (w("run.weight", lang), result.data.weight_column),
                     (w("run.layout", lang), result.data.layout_en if lang == "en" else result.data.layout)],
                    autofilter=False)
    return wb.close()


def _profile_sheet(wb: Workbook, result: SurveyResult) -> None:
    lang = result.lang
    sheet = wb.book.add_worksheet(w("sheet.profile", lang))
    multi = any(q.kind == "multi" for q in result.questions)
    heads = [w("question", lang), w("category", lang), w("count", lang), w("percent", lang)]
    if multi:
        heads.append(w("percent_answers", lang))
    title = result.data.codebook.title or ("调查样本的基本情况" if lang != "en" else "Sample characteristics")
    n = result.data.n_valid
    sheet.write_string(0, 0, f"{title}（N={n}）" if lang != "en" else f"{title} (N={n})", wb.fmt(bold=True, font_size=13))
    sheet.write_string(1, 0, header_line(result), wb.fmt(italic=True))
    border = dict(border=1, valign="vcenter")
    hfmt = wb.header_format()
    for j, h in enumerate(heads):
        sheet.write_string(3, j, h, hfmt)
    pfmt = "0." + "0" * result.decimals if result.decimals else "0"
    text_f = wb.fmt(**border)
    qfmt = wb.fmt(bold=True, text_wrap=True, **border)
    count_f = wb.fmt(num_format="0" if result.data.weights is None else "0.0", **border)
    num_f = wb.fmt(num_format="0.00", **border)
    pct_f = wb.fmt(num_format=pfmt, **border)
    total_text = wb.fmt(bold=True, top=1, **border)
    r = 4
    widths = [display_width(h) + 2 for h in heads]
    for q in result.questions:
        rows = block_rows(q, lang)
        first = r
        for row in rows:
            is_total = row[0].startswith(w("total", lang))
            wb.write_cell(sheet, r, 1, row[0], total_text if is_total else text_f)
            is_stat = q.kind == "number" and not q.categories and row[0] in (w(k, lang) for k in ("mean", "sd", "min", "median", "max"))
            wb.write_cell(sheet, r, 2, row[1], num_f if is_stat else count_f)
            wb.write_cell(sheet, r, 3, row[2], pct_f)
            if multi:
                wb.write_cell(sheet, r, 4, row[3], pct_f)
            widths[1] = max(widths[1], display_width(str(row[0])) + 2)
            r += 1
        if r - 1 > first:
            # merge_range writes the cell; write the label again through write_cell (text, never a formula)
            sheet.merge_range(first, 0, r - 1, 0, "", qfmt)
        wb.write_cell(sheet, first, 0, q.label, qfmt)
        widths[0] = max(widths[0], min(display_width(q.label) + 2, 30))
    r += 1
    for line in notes(result):
        sheet.write_string(r, 0, line, wb.fmt(italic=True, font_color="#555555"))
        r += 1
    for j, width in enumerate(widths):
        sheet.set_column(j, j, max(width, 10))
    sheet.freeze_panes(4, 0)
    wb.print_setup(sheet, header_row=3)


def _likert_sheet(wb: Workbook, result: SurveyResult) -> None:
    lang = result.lang
    cols = [Column(w("dimension", lang)), Column(w("item", lang)), Column(w("n", lang), "int" if result.data.weights is None else "number"),
            Column(w("mean", lang), "number", decimals=2), Column(w("sd", lang), "number", decimals=2),
            Column(w("top2", lang), "number", decimals=result.decimals)]
    dim_label = {d.name: d.label for d in result.dimensions}
    item_rows = [[dim_label.get(i.dimension, i.dimension), i.label, i.n, _nan(i.mean), _nan(i.sd), _f(i.top2)]
                 for i in result.items]
    dim_rows = [[d.label, w("all", lang) if lang == "en" else "维度得分", d.n, _nan(d.mean), _nan(d.sd), _f(d.top2)]
                for d in result.dimensions]
    sheet, _ = write_table(wb, w("sheet.likert", lang), cols, item_rows + [[None] * 6] + dim_rows, autofilter=False)
    name = sheet.get_name()
    first_dim = 1 + len(item_rows) + 1  # header row 0, items, one blank row
    last_dim = first_dim + len(dim_rows) - 1
    radar = wb.book.add_chart({"type": "radar", "subtype": "with_markers"})
    radar.add_series({"name": w("mean", lang), "categories": [name, first_dim, 0, last_dim, 0],
                      "values": [name, first_dim, 3, last_dim, 3], "marker": {"type": "circle"}})
    points = sorted({p for q in result.data.codebook.questions if q.is_likert
                     for p in result.data.codebook.lists[q.list_name].points()})
    radar.set_title({"name": w("radar", lang)})
    radar.set_y_axis({"min": points[0] if points else 1, "max": points[-1] if points else 5})
    radar.set_legend({"none": True})
    # Charts below the table, not beside it: the table prints one page wide and no chart is cut
    # by a page break (Workbook.insert_chart breaks the page before a chart that would straddle one).
    y = wb.insert_chart(sheet, last_dim + 2, 0, radar, x_scale=1.1, y_scale=1.2)
    # one bar chart of item means per dimension
    start = 1
    for d in result.dimensions:
        count = sum(1 for i in result.items if i.dimension == d.name)
        bar = wb.book.add_chart({"type": "bar"})
        bar.add_series({"name": d.label, "categories": [name, start, 1, start + count - 1, 1],
                        "values": [name, start, 3, start + count - 1, 3], "data_labels": {"value": True, "num_format": "0.00"}})
        bar.set_title({"name": f"{d.label} — {w('item_means', lang)}"})
        bar.set_x_axis({"min": points[0] if points else 1, "max": points[-1] if points else 5})
        bar.set_legend({"none": True})
        bar.set_y_axis({"reverse": True})  # Excel draws bar categories bottom-up; keep codebook order
        y = wb.insert_chart(sheet, y, 0, bar, x_scale=1.1, y_scale=min(0.7 + 0.1 * count, 2.2))
        start += count


def _nan(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def _problems_sheet(wb: Workbook, problems, lang: str) -> None:
    from cluster_credit_cli.i18n import t

    cols = [Column(t("file", lang)), Column(t("sheet", lang)), Column(t("row", lang), "int"), Column(t("column", lang)),
            Column(t("problem_code", lang)), Column(t("message", lang), width=60), Column(t("severity", lang))]
    write_table(wb, w("sheet.problems", lang), cols,
                [[p.file, p.sheet, p.row, p.column, p.code, p.message, p.severity] for p in problems])


# -- text outputs ------------------------------------------------------------------------------

def _fmt(x: Any, decimals: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, Decimal):
        return f"{x:.{decimals}f}"
    if isinstance(x, float):
        return f"{x:.{decimals}f}" if not x.is_integer() else (f"{x:.{decimals}f}" if decimals else str(int(x)))
    return str(x)


def _count_text(x: Any) -> str:
    if isinstance(x, float) and not x.is_integer():
        return f"{x:.2f}"
    return "" if x is None else str(int(x)) if isinstance(x, float) else str(x)


def profile_rows(result: SurveyResult) -> list[list[str]]:
    """Flat rows [question, category, count, percent, percent of answers] as text."""
    out = []
    for q in result.questions:
        for i, row in enumerate(block_rows(q, result.lang)):
            is_stat = q.kind == "number" and not q.categories and i > 0 and row[0] != w("missing", result.lang)
            out.append([q.label if i == 0 else "", row[0], _fmt(row[1], 2) if is_stat else _count_text(row[1]),
                        _fmt(row[2], result.decimals), _fmt(row[3], result.decimals)])
    return out


def to_markdown(result: SurveyResult) -> str:
    lang = result.lang
    multi = any(q.kind == "multi" for q in result.questions)
    heads = [w("question", lang), w("category", lang), w("count", lang), w("percent", lang)] + (
        [w("percent_answers", lang)] if multi else [])
    title = result.data.codebook.title or ("调查样本的基本情况" if lang != "en" else "Sample characteristics")
    lines = [f"## {_md(title)} (N={result.data.n_valid})", "", _md(header_line(result)), "",
             "| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for row in profile_rows(result):
        lines.append("| " + " | ".join(_md(c) for c in row[:len(heads)]) + " |")
    lines.append("")
    lines += [f"- {_md(n)}" for n in notes(result)]
    if result.dimensions:
        lines += ["", f"### {w('sheet.likert', lang)}", "",
                  f"| {w('dimension', lang)} | {w('item', lang)} | {w('n', lang)} | {w('mean', lang)} | {w('sd', lang)} | {w('top2', lang)} |",
                  "|---|---|---|---|---|---|"]
        dim_label = {d.name: d.label for d in result.dimensions}
        for i in result.items:
            lines.append(f"| {_md(dim_label.get(i.dimension, i.dimension))} | {_md(i.label)} | {_count_text(i.n)} | "
                         f"{_fmt(i.mean, 2)} | {_fmt(i.sd, 2)} | {_fmt(i.top2, result.decimals)} |")
        for d in result.dimensions:
            lines.append(f"| **{_md(d.label)}** | | {_count_text(d.n)} | {_fmt(d.mean, 2)} | {_fmt(d.sd, 2)} | "
                         f"{_fmt(d.top2, result.decimals)} |")
    if result.problems:
        lines += ["", f"### {w('sheet.problems', lang)} ({len(result.problems)})", ""]
        lines += [f"- {_md(p.file)} {_md(p.sheet or '')} row {p.row or ''} {_md(p.column or '')}: {_md(p.message)}"
                  for p in result.problems]
    return "\n".join(lines) + "\n"


def _md(value: Any) -> str:
    text = str(escape_for_text_output(value if value is not None else ""))
    return text.replace("|", "\\|").replace("\n", " ")


def to_csv(result: SurveyResult) -> str:
    lang = result.lang
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\r\n")
    wr.writerow(["question", "label", "type", "category", w("category", lang), "count", "percent", "percent_of_answers"])
    for q in result.questions:
        for c in q.categories:
            wr.writerow([escape_for_text_output(x) for x in (q.name, q.label, q.type, c.name, c.label, _count_text(c.count),
                                                             _fmt(c.percent, result.decimals), _fmt(c.percent_answers, result.decimals))])
        for key, value in (("_n", q.n), ("_missing", q.missing), ("_unknown", q.unknown), ("_not_asked", q.not_asked)):
            if value or key == "_n":
                label = {"_n": w("total", lang), "_missing": w("missing", lang), "_unknown": w("unknown", lang),
                         "_not_asked": w("not_asked", lang)}[key]
                wr.writerow([escape_for_text_output(x) for x in (q.name, q.label, q.type, key, label, _count_text(value), "", "")])
        for key, value in q.summary.items():
            shown = _day(value) if q.kind == "date" else _fmt(value, 4)  # dates as 2024-03-31, not day numbers
            wr.writerow([escape_for_text_output(x) for x in (q.name, q.label, q.type, "_" + key, w(key, lang), shown, "", "")])
    for d in result.dimensions:
        wr.writerow([escape_for_text_output(x) for x in ("_dimension", d.label, "likert", d.name, d.label, _count_text(d.n),
                                                         _fmt(d.top2, result.decimals), "")])
    return "\ufeff" + buf.getvalue()  # BOM: Excel opens UTF-8 CSV with Chinese correctly


def write_markdown(result: SurveyResult, path: Path) -> WriteOutcome:
    return atomic_write_text(path, to_markdown(result))


def write_csv(result: SurveyResult, path: Path) -> WriteOutcome:
    return atomic_write_text(path, to_csv(result))


def write_json(result: SurveyResult, path: Path) -> WriteOutcome:
    return atomic_write_text(path, json.dumps(result.to_json(), ensure_ascii=False, indent=2))


def render_text(result: SurveyResult) -> str:
    """Plain tables for the terminal."""
    lang = result.lang
    rows = profile_rows(result)
    multi = any(q.kind == "multi" for q in result.questions)
    heads = [w("question", lang), w("category", lang), w("count", lang), w("percent", lang)] + (
        [w("percent_answers", lang)] if multi else [])
    lines = [header_line(result), ""] + _aligned([heads] + [r[:len(heads)] for r in rows])
    lines += [""] + notes(result)
    if result.dimensions:
        lines += ["", w("sheet.likert", lang)]
        table = [[w("dimension", lang), w("n", lang), w("mean", lang), w("sd", lang), w("top2", lang)]]
        table += [[d.label, _count_text(d.n), _fmt(d.mean, 2), _fmt(d.sd, 2), _fmt(d.top2, result.decimals)]
                  for d in result.dimensions]
        lines += _aligned(table)
    return "\n".join(lines)


def _aligned(table: list[list[str]]) -> list[str]:
    widths = [max(display_width(str(r[j])) for r in table) for j in range(len(table[0]))]
    out = []
    for r in table:
        cells = []
        for j, c in enumerate(r):
            pad = widths[j] - display_width(str(c))
            cells.append(str(c) + " " * pad if j < 2 else " " * pad + str(c))
        out.append("  ".join(cells).rstrip())
    return out


# -- crosstabs ---------------------------------------------------------------------------------

def crosstab_json(tables: list[CrossTable], rows: str, cols: str, by: str | None, problems) -> dict[str, Any]:
    def pl(m):
        return [[_f(x) for x in r] for r in m]

    return {"rows": rows, "cols": cols, "by": by, "problems": problems.as_dicts(),
            "tables": [{"group": t.group, "row_labels": t.row_labels, "col_labels": t.col_labels,
                        "counts": t.counts.tolist(), "row_totals": t.counts.sum(axis=1).tolist(),
                        "col_totals": t.counts.sum(axis=0).tolist(), "total": int(t.counts.sum()),
                        "row_percents": pl(t.row_pct), "col_percents": pl(t.col_pct), "missing": t.missing,
                        "test": t.test or None, "statistic": t.statistic, "dof": t.dof, "p_value": t.p_value,
                        "cramers_v": t.cramers_v,
                        "note": t.note} for t in tables]}


def _printed_sum(parts) -> float | None:
    vals = [p for p in parts if p is not None]
    return float(sum(vals)) if vals else None


def test_text(t: CrossTable, lang: str) -> str:
    if not t.test:
        return t.note
    if t.test == "fisher":
        s = f"{w('fisher', lang)}: p = {t.p_value:.4f}"
    else:
        s = f"{w('chi-square', lang)}: χ² = {t.statistic:.3f}, df = {t.dof}, p = {t.p_value:.4f}"
    if t.cramers_v is not None:
        s += f", Cramér's V = {t.cramers_v:.3f}"
    return s + (f"（{t.note}）" if t.note and lang != "en" else f" ({t.note})" if t.note else "")


def crosstab_blocks(t: CrossTable, lang: str) -> list[list[Any]]:
    """Rows of one crosstab: counts with totals, then row percents, then column percents."""
    tot = w("total", lang)
    blocks: list[list[Any]] = [[f"{t.row_label} \\ {t.col_label}", *t.col_labels, tot]]
    for i, lab in enumerate(t.row_labels):
        blocks.append([lab, *[int(x) for x in t.counts[i]], int(t.counts[i].sum())])
    blocks.append([tot, *[int(x) for x in t.counts.sum(axis=0)], int(t.counts.sum())])
    blocks.append([])
    blocks.append([w("row_pct", lang), *t.col_labels, tot])
    # totals are the sums of the printed parts (4.5 + 29.9 + 46.3 + 19.4 shows 100.1, not 100.0)
    for i, lab in enumerate(t.row_labels):
        blocks.append([lab, *[_f(x) for x in t.row_pct[i]], _printed_sum(t.row_pct[i]) if t.counts[i].sum() else None])
    blocks.append([])
    blocks.append([w("col_pct", lang), *t.col_labels])
    for i, lab in enumerate(t.row_labels):
        blocks.append([lab, *[_f(x) for x in t.col_pct[i]]])
    blocks.append([tot, *[_printed_sum([r[j] for r in t.col_pct]) if x else None
                          for j, x in enumerate(t.counts.sum(axis=0))]])
    blocks.append([])
    blocks.append([w("test", lang), test_text(t, lang)])
    return blocks


def write_crosstab_workbook(tables: list[CrossTable], path: Path, problems, lang: str, decimals: int = 1) -> WriteOutcome:
    with Workbook(path) as wb:
        wb.set_print_info("问卷交叉分析" if lang != "en" else "Survey cross-tabulation", None, lang)
        for k, t in enumerate(tables):
            name = (f"{w('sheet.crosstab', lang)}{k + 1}" + (f"_{t.group}" if t.group else ""))[:31]
            for bad in "[]:*?/\\":
                name = name.replace(bad, "_")
            sheet = wb.book.add_worksheet(name)
            title = f"{t.row_label} × {t.col_label}" + (f"（{t.group}）" if t.group else "")
            sheet.write_string(0, 0, title, wb.fmt(bold=True, font_size=13))
            pct_f = wb.fmt(num_format="0." + "0" * decimals if decimals else "0", border=1)
            head = wb.header_format()
            cell = wb.fmt(border=1)
            in_pct = False
            for i, row in enumerate(crosstab_blocks(t, lang), start=2):
                if row and row[0] in (w("row_pct", lang), w("col_pct", lang)):
                    in_pct = True
                for j, v in enumerate(row):
                    is_head = j == 0 or (row and row[0] in (w("row_pct", lang), w("col_pct", lang)) or i == 2)
                    fmt = head if is_head and not isinstance(v, (int, float)) else (pct_f if in_pct else cell)
                    wb.write_cell(sheet, i, j, v, fmt)
            sheet.set_column(0, 0, max(14, max(display_width(x) for x in t.row_labels + [t.row_label]) + 2))
            sheet.set_column(1, len(t.col_labels) + 1, max(10, max(display_width(x) for x in t.col_labels) + 2))
        _problems_sheet(wb, problems, lang)
    return wb.close()


def render_crosstab(t: CrossTable, lang: str, decimals: int = 1) -> str:
    rows = []
    for row in crosstab_blocks(t, lang):
        rows.append([_fmt(x, decimals) if isinstance(x, float) else str(x) for x in row])
    title = f"{t.row_label} × {t.col_label}" + (f"（{t.group}）" if t.group else "")
    width = max(len(r) for r in rows)
    body = _aligned([r + [""] * (width - len(r)) for r in rows if r and not (len(r) == 2 and r[0] == w("test", lang))])
    return "\n".join([title] + body + [test_text(t, lang)] + ([f"missing: {t.missing}"] if t.missing else []))
