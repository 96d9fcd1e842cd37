"""Blank input workbooks generated from the model (``ccredit template KIND``).

Headers are the model's canonical labels, a hint row says what each column expects, and Excel
data validation offers dropdowns for ratings, 是/否 and categories, so the files the secretary
sends out come back in a shape ``ccredit score`` reads without surprises.
"""

from __future__ import annotations

from pathlib import Path

from cluster_credit_cli.atomic import WriteOutcome
from cluster_credit_cli.excel import Workbook, display_width
from cluster_credit_cli.model import FieldDef, Model
from cluster_credit_cli.text import clean_text

UNITS = {"requested": "万元", "total_assets": "万元", "total_liabilities": "万元", "current_assets": "万元",
         "current_liabilities": "万元", "revenue": "万元", "revenue_last_year": "万元", "net_profit": "万元",
         "receivables_start": "万元", "receivables_end": "万元", "amount": "元", "overdue_days": "天",
         "employees": "人"}


def _choices(model: Model, f: FieldDef) -> list[str]:
    """Allowed answers for a categorical field, taken from the rules and gates that read it."""
    if f.type == "yesno":
        return ["是", "否"]
    if f.type == "rating":
        lo, hi = int(model.ratings.get("min", 1)), int(model.ratings.get("max", 5))
        return [str(i) for i in range(hi, lo - 1, -1)] + list(model.ratings.get("labels", {}))
    out: list[str] = []
    for rule in model.rules.values():
        if rule.get("field") == f.key and rule["kind"] == "lookup":
            out += list(rule["points"])
        if f.key == "record_type" and rule["kind"] == "count":
            out += rule["record_types"]
        if f.key == "role" and rule.get("role"):
            out += ["原告", "被告"]
        if rule.get("text") and f.key in rule.get("_names", []):
            out += list(rule["text"])[:1]
    for gate in model.veto:
        if f.key == "record_type":
            out += gate.get("record_types", [])
        for also in gate.get("also", []):
            if also.get("field") == f.key and "equals" in also:
                out += ["良好", "一般", also["equals"]] if f.key == "personal_credit" else [also["equals"]]
    return list(dict.fromkeys(out))


def _hint(model: Model, f: FieldDef, lang: str) -> str:
    en = lang == "en"
    unit = UNITS.get(f.key)
    if f.type == "code":
        return "18-character code, as text" if en else "18位代码，文本格式"
    if f.type == "date":
        return "date, e.g. 2023-05-06" if en else "日期，如 2023-05-06"
    if f.type == "rating":
        return "1–5 or 优/良/中/差/劣" if en else "1–5 或 优/良/中/差/劣"
    if f.type == "yesno":
        return "是 / 否"
    if f.type in ("percent", "percent_or_text"):
        extra = ("; 无 if no lease" if en else "；无设备租赁填“无”") if f.type == "percent_or_text" else ""
        return ("percent 0–100" if en else "百分数 0–100") + extra
    if f.type == "number":
        return (f"number ({unit})" if en else f"数字（{unit}）") if unit else ("number" if en else "数字")
    if f.type == "category":
        return " / ".join(_choices(model, f))
    return ""


def hint_texts(model: Model, kind: str) -> set[str]:
    """Every hint the template of ``kind`` may carry, in both languages (the reader skips that row)."""
    return {clean_text(h) for f in model.source_fields(kind) for lang in ("zh", "en") if (h := _hint(model, f, lang))}


def write_template(model: Model, kind: str, path: Path, lang: str = "zh") -> WriteOutcome:
    # Figures another source supplies with precedence (audited financials on the applicants form)
    # are accepted when present but not asked for: the form stays the canonical one.
    fields = [f for f in model.source_fields(kind) if f.sources[0] == kind or f.type != "number"
              or kind != "applicants" or f.key in ("requested", "employees")]
    # Keep required columns first (code, name), then the model's field order.
    required = model.sources[kind].required
    fields.sort(key=lambda f: (0 if f.key == "code" else 1 if f.key == "name" else 2 if f.key in required else 3))
    with Workbook(path) as wb:
        sheet = wb.book.add_worksheet(model.sources[kind].title(lang)[:31])
        head = wb.header_format()
        hint_fmt = wb.fmt(italic=True, font_color="#7F7F7F", text_wrap=True, valign="top")
        for j, f in enumerate(fields):
            header = f.header(lang) + (f"（{UNITS[f.key]}）" if f.key in UNITS and lang != "en" else "")
            wb.write_cell(sheet, 0, j, header, head)
            hint = _hint(model, f, lang)
            wb.write_cell(sheet, 1, j, hint, hint_fmt)
            width = max(display_width(header), min(display_width(hint), 30)) + 2
            col_fmt = None
            if f.type == "code" or f.type == "text":
                col_fmt = wb.fmt(num_format="@")
            elif f.type == "date":
                col_fmt = wb.fmt(num_format="yyyy-mm-dd")
            sheet.set_column(j, j, width, col_fmt)
            choices = _choices(model, f) if f.type in ("yesno", "rating", "category") else []
            if choices:
                sheet.data_validation(2, j, 5001, j, {
                    "validate": "list", "source": choices, "error_type": "warning",
                    "input_title": f.header(lang)[:32], "input_message": " / ".join(choices)[:255]})
            elif f.type == "date":
                sheet.data_validation(2, j, 5001, j, {"validate": "date", "criteria": ">",
                                                      "minimum": __import__("datetime").date(1900, 1, 2),
                                                      "error_type": "warning"})
            elif f.type in ("number", "percent"):
                sheet.data_validation(2, j, 5001, j, {"validate": "decimal", "criteria": "between",
                                                      "minimum": -1e12 if f.type == "number" else 0,
                                                      "maximum": 1e12 if f.type == "number" else 100,
                                                      "error_type": "warning"})
        sheet.set_row(1, 30)
        sheet.freeze_panes(2, 0)
    return wb.close()
