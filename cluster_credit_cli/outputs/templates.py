"""Blank input workbooks generated from the model (``ccredit template KIND``).

Headers are the model's canonical labels, a hint row says what each column expects, and Excel
data validation offers dropdowns for ratings, 是/否 and categories, so the files the secretary
sends out come back in a shape ``ccredit score`` reads without surprises.
"""

from __future__ import annotations

from pathlib import Path

from cluster_credit_cli.atomic import WriteOutcome
from cluster_credit_cli.outputs.excel import Workbook, display_width
from cluster_credit_cli.model.config import Model
from cluster_credit_cli.model.hints import UNITS, choices as field_choices, hint as field_hint

def write_template(model: Model, kind: str, path: Path, lang: str = "zh") -> WriteOutcome:
    # Figures another source supplies with precedence (audited financials on the applicants form)
    # are accepted when present but not asked for: the form stays the canonical one.
    fields = [f for f in model.source_fields(kind) if f.sources[0] == kind or f.type != "number"
              or kind != "applicants" or f.key in ("requested", "employees")]
    # Keep required columns first (code, name), then the model's field order.
    required = model.sources[kind].required
    fields.sort(key=lambda f: (0 if f.key == "code" else 1 if f.key == "name" else 2 if f.key in required else 3))
    with Workbook(path) as wb:
        wb.set_print_info(model.sources[kind].title(lang) + (" (template)" if lang == "en" else "（模板）"), None, lang)
        sheet = wb.book.add_worksheet(model.sources[kind].title(lang)[:31])
        head = wb.header_format()
        hint_fmt = wb.fmt(italic=True, font_color="#7F7F7F", text_wrap=True, valign="top")
        for j, f in enumerate(fields):
            unit = getattr(f, "unit", None) or UNITS.get(f.key)
            header = f.header(lang) + (f"（{unit}）" if unit and lang != "en" else "")
            wb.write_cell(sheet, 0, j, header, head)
            hint = field_hint(model, f, lang)
            wb.write_cell(sheet, 1, j, hint, hint_fmt)
            width = max(display_width(header), min(display_width(hint), 30)) + 2
            col_fmt = None
            if f.type == "code" or f.type == "text":
                col_fmt = wb.fmt(num_format="@")
            elif f.type == "date":
                col_fmt = wb.fmt(num_format="yyyy-mm-dd")
            sheet.set_column(j, j, width, col_fmt)
            choices = field_choices(model, f) if f.type in ("yesno", "rating", "category") else []
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
        # Headers and hints on every printed page; a form of many columns prints over several
        # pages across (code and name repeated) rather than one page of unreadable type.
        wb.print_setup(sheet, header_row=1, repeat_cols=2, min_scale=0.8)
    return wb.close()
