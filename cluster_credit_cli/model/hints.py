"""What each input column expects, in words: the hint row of a template and the units of amounts.

Shared by the template writer (``outputs.templates``) and the reader (``inputs.reading`` skips a
template's hint row), so it lives with the model both of them read.
"""

from __future__ import annotations

from cluster_credit_cli.model.config import FieldDef, Model
from cluster_credit_cli.text import clean_text

UNITS = {"requested": "万元", "total_assets": "万元", "total_liabilities": "万元", "current_assets": "万元",
         "current_liabilities": "万元", "revenue": "万元", "revenue_last_year": "万元", "net_profit": "万元",
         "receivables_start": "万元", "receivables_end": "万元", "amount": "元", "overdue_days": "天",
         "employees": "人"}

UNITS_EN = {"万元": "CNY 10k", "元": "yuan", "天": "days", "人": "persons"}


def choices(model: Model, f: FieldDef) -> list[str]:
    """Allowed answers for a categorical field, taken from the rules and gates that read it."""
    if getattr(f, "choices", None):  # a field that lists its answers itself (the pool's ledger columns)
        return list(f.choices)
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


def hint(model: Model, f: FieldDef, lang: str) -> str:
    en = lang == "en"
    unit = getattr(f, "unit", None) or UNITS.get(f.key)
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
        return " / ".join(choices(model, f))
    return ""


def hint_texts(model: Model, kind: str) -> set[str]:
    """Every hint the template of ``kind`` may carry, in both languages (the reader skips that row)."""
    return {clean_text(h) for f in model.source_fields(kind) for lang in ("zh", "en") if (h := hint(model, f, lang))}
