"""Workbooks from the rating register: the runs list with the pool ledger, the rating migration
(heat-map matrix, upgrades and downgrades with their drivers) and the monitoring alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cluster_credit_cli.atomic import WriteOutcome
from cluster_credit_cli.outputs.excel import Column, Workbook, write_table
from cluster_credit_cli.i18n import status_words
from cluster_credit_cli.register.store import ABSENT, NOT_GRADED, Comparison

L = {
    "runs": ("评级运行记录", "Runs"), "ledger": ("资金池台账", "Pool ledger"), "matrix": ("评级迁移矩阵", "Migration matrix"),
    "changes": ("升降级清单", "Upgrades and downgrades"), "drivers": ("变动指标", "Drivers"),
    "alerts": ("预警", "Alerts"), "watch": ("关注", "Watch list"), "events": ("新增事件", "New events"),
    "info": ("说明", "About"), "problems": ("问题清单", "Problems"),
    "id": ("运行编号", "Run"), "created": ("登记时间(UTC)", "Recorded (UTC)"), "as_of": ("评价基准日", "As-of date"),
    "model": ("评价模型", "Model"), "hash": ("模型哈希", "Model hash"), "tool": ("工具版本", "Tool version"),
    "applicants": ("申报文件", "Applicants file"), "n": ("企业数", "Enterprises"), "graded": ("已评级", "Graded"),
    "allocated": ("已分配额度", "Allocated"), "inputs": ("输入文件(SHA-256)", "Input files (SHA-256)"),
    "grade": ("等级", "Grade"), "cap": ("单户上限", "Cap per enterprise"), "requested": ("申请金额", "Requested"),
    "quota": ("建议额度", "Quota"), "share": ("占授信容量", "Share of capacity"), "rank": ("排名", "Rank"),
    "code": ("统一社会信用代码", "Credit code"), "name": ("企业名称", "Name"), "total": ("总分", "Total"),
    "cumulative": ("累计额度", "Cumulative"), "remaining": ("剩余容量", "Remaining capacity"),
    "capacity": ("授信容量", "Capacity"), "from": ("原等级", "From"), "to": ("新等级", "To"),
    "total_from": ("原总分", "Total (A)"), "total_to": ("新总分", "Total (B)"), "delta": ("变化", "Change"),
    "direction": ("变动", "Direction"), "top": ("主要变动指标", "Main drivers"), "key": ("指标代码", "Key"),
    "indicator": ("指标", "Indicator"), "score_from": ("原得分", "Score (A)"), "score_to": ("新得分", "Score (B)"),
    "points_delta": ("加权得分变化", "Δ weighted points"), "input_from": ("原输入值", "Input (A)"),
    "input_to": ("新输入值", "Input (B)"), "status_from": ("原状态", "Status (A)"), "status_to": ("新状态", "Status (B)"),
    "count": ("企业数", "Count"), "row_pct": ("行百分比", "Row percent"), "sum": ("合计", "Total"),
    "grade_then": ("评级时等级", "Grade then"), "grade_now": ("重算等级", "Grade now"),
    "total_then": ("评级时总分", "Total then"), "total_now": ("重算总分", "Total now"),
    "reasons": ("原因", "Reasons"), "type": ("类型", "Type"),
    "date": ("日期", "Date"), "doc_no": ("文书编号", "Document no."), "role": ("当事人角色", "Role"),
    "detail": ("说明", "Detail"), "file": ("文件", "File"), "row": ("行", "Row"), "item": ("项目", "Item"),
    "content": ("内容", "Content"), "severity": ("级别", "Severity"), "column": ("列", "Column"),
    "sheet": ("工作表", "Sheet"), "message": ("说明", "Message"), "problem_code": ("问题代码", "Code"),
    NOT_GRADED: ("未评级", "not graded"), ABSENT: ("不在本轮", "absent"),
    "upgrade": ("升级", "upgrade"), "downgrade": ("降级", "downgrade"), "entered": ("入池", "entered the pool"),
    "left": ("出池", "left the pool"), "vetoed": ("否决（不再评级）", "vetoed (no grade)"),
}


def t(key: str, lang: str) -> str:
    zh, en = L[key]
    return en if lang == "en" else zh


def category_label(cat: str, lang: str) -> str:
    return t(cat, lang) if cat in (NOT_GRADED, ABSENT) else cat


def _inputs_text(inputs: list[dict[str, Any]]) -> str:
    return "; ".join(f"{i.get('kind')}: {i.get('file')} ({str(i.get('sha256', ''))[:12]}…)" for i in inputs)


# -- runs + pool ledger -------------------------------------------------------------------------------

def write_runs_workbook(runs: list[dict[str, Any]], ledger: dict[str, Any] | None, path: Path, lang: str) -> WriteOutcome:
    unit = (ledger or {}).get("unit", "")
    with Workbook(path) as wb:
        wb.set_print_info(("Rating register: runs" if lang == "en" else "评级登记簿：运行记录"),
                          ledger["run"]["as_of"] if ledger else None, lang)
        cols = [Column(t("id", lang), "int"), Column(t("created", lang), width=22), Column(t("as_of", lang)),
                Column(t("model", lang), width=30), Column(t("hash", lang), width=16), Column(t("tool", lang)),
                Column(t("n", lang), "int"), Column(t("graded", lang), "int"),
                Column(f"{t('allocated', lang)}（{unit}）", "number", 0), Column(t("applicants", lang), width=30),
                Column(t("inputs", lang), width=50)]
        rows = [[r["id"], r["created_at"], r["as_of"], r["model"], (r["model_hash"] or "")[:12], r["tool_version"],
                 r["enterprises"], r["graded"], r["allocated"], r["applicants_file"], _inputs_text(r["inputs"])]
                for r in runs]
        write_table(wb, t("runs", lang), cols, rows)
        if ledger is not None:
            _ledger_sheet(wb, ledger, lang)
    return wb.close()


def _ledger_sheet(wb: Workbook, ledger: dict[str, Any], lang: str) -> None:
    unit = ledger.get("unit", "")
    u = f"（{unit}）" if unit else ""
    run = ledger["run"]
    title = (f"Pool ledger of run #{run['id']} (as of {run['as_of']})" if lang == "en"
             else f"资金池台账：运行 #{run['id']}（评价基准日 {run['as_of']}）")
    cols = [Column(t("grade", lang)), Column(t("n", lang), "int"), Column(t("cap", lang) + u, "number", 0),
            Column(t("requested", lang) + u, "number", 0), Column(t("quota", lang) + u, "number", 0),
            Column(t("share", lang), "percent", 1)]
    rows = [[g["grade"], g["enterprises"], g["cap"], g["requested"], g["quota"], g["share"]] for g in ledger["by_grade"]]
    rows.append([t("sum", lang), sum(g["enterprises"] for g in ledger["by_grade"]), None,
                 sum(g["requested"] for g in ledger["by_grade"]), ledger["allocated"],
                 (ledger["allocated"] / ledger["capacity"]) if ledger.get("capacity") else None])
    sheet, n = write_table(wb, t("ledger", lang), cols, rows, title=title, autofilter=False)
    r0 = 2 + 1 + n + 1
    for i, (label, value) in enumerate([(t("capacity", lang), ledger["capacity"]),
                                        (t("allocated", lang), ledger["allocated"]),
                                        (t("remaining", lang), ledger["remaining"])]):
        wb.write_cell(sheet, r0 + i, 0, label + u, wb.fmt(bold=True))
        wb.write_cell(sheet, r0 + i, 1, value, wb.fmt(num_format="#,##0"))
    # Quota per enterprise, in rank order, below the grade block.
    r1 = r0 + 5
    ecols = [Column(t("rank", lang), "int"), Column(t("code", lang)), Column(t("name", lang), width=34),
             Column(t("grade", lang)), Column(t("total", lang), "number"), Column(t("requested", lang) + u, "number", 0),
             Column(t("cap", lang) + u, "number", 0), Column(t("quota", lang) + u, "number", 0),
             Column(t("cumulative", lang) + u, "number", 0), Column(t("remaining", lang) + u, "number", 0)]
    hfmt = wb.header_format()
    for j, c in enumerate(ecols):
        sheet.write_string(r1, j, c.header, hfmt)
    fmts = [wb.column_format(c) for c in ecols]
    for i, e in enumerate(ledger["enterprises"]):
        vals = [e["rank"], e["code"], e["name"], e["grade"], e["total"], e["requested"], e["cap"], e["quota"],
                e["cumulative"], e["remaining"]]
        for j, v in enumerate(vals):
            wb.write_cell(sheet, r1 + 1 + i, j, v, fmts[j])
    for j, c in enumerate(ecols):
        sheet.set_column(j, j, c.width or max(12, len(c.header) * 2 + 2))


# -- rating migration -----------------------------------------------------------------------------------

def write_compare_workbook(cmp: Comparison, path: Path, lang: str) -> WriteOutcome:
    cats = cmp.categories
    with Workbook(path) as wb:
        sheet = wb.book.add_worksheet(t("matrix", lang))
        a, b = cmp.run_a, cmp.run_b
        title = (f"Rating migration: run #{a['id']} ({a['as_of']}) → run #{b['id']} ({b['as_of']})" if lang == "en"
                 else f"评级迁移：运行 #{a['id']}（{a['as_of']}）→ 运行 #{b['id']}（{b['as_of']}）")
        wb.set_print_info(title, b["as_of"], lang)
        note = ("rows: grade in A; columns: grade in B" if lang == "en" else "行：A 轮等级；列：B 轮等级")
        sheet.write_string(1, 0, note)
        hfmt = wb.header_format()
        pct = cmp.row_percent()
        for block, (label, fmt) in enumerate([(t("count", lang), wb.fmt(num_format="0", border=1)),
                                              (t("row_pct", lang), wb.fmt(num_format="0.0%", border=1))]):
            top = 3 + block * (len(cats) + 4)
            sheet.write_string(top, 0, f"{label}: A \\ B", hfmt)
            for j, c in enumerate(cats):
                sheet.write_string(top, 1 + j, category_label(c, lang), hfmt)
            if block == 0:
                sheet.write_string(top, 1 + len(cats), t("sum", lang), hfmt)
            for i, ca in enumerate(cats):
                sheet.write_string(top + 1 + i, 0, category_label(ca, lang), hfmt)
                for j, cb in enumerate(cats):
                    if cb not in cmp.matrix[ca]:
                        sheet.write_blank(top + 1 + i, 1 + j, None, fmt)
                        continue
                    value = cmp.matrix[ca][cb] if block == 0 else pct[ca][cb]
                    wb.write_cell(sheet, top + 1 + i, 1 + j, value, fmt)
                if block == 0:
                    wb.write_cell(sheet, top + 1 + i, 1 + len(cats), sum(cmp.matrix[ca].values()),
                                  wb.fmt(num_format="0", border=1, bold=True))
            # Heat map: white (none) → amber → red (many) over the grade-to-grade cells and the pool moves.
            sheet.conditional_format(top + 1, 1, top + len(cats), len(cats), {
                "type": "3_color_scale", "min_color": "#FFFFFF", "mid_color": "#FFD966", "max_color": "#F8696B"})
        sheet.set_column(0, 0, 18)
        sheet.set_column(1, len(cats) + 1, 11)
        sheet.freeze_panes(4, 1)
        # The title across the matrix, wrapped (left to overflow it would widen the printed page).
        wb.write_note(sheet, 0, 0, len(cats) + 1, title, {"bold": True, "font_size": 13})
        wb.print_setup(sheet, header_row=1)

        cols = [Column(t("code", lang)), Column(t("name", lang), width=30), Column(t("direction", lang)),
                Column(t("from", lang)), Column(t("to", lang)), Column(t("total_from", lang), "number"),
                Column(t("total_to", lang), "number"), Column(t("delta", lang), "number"),
                Column(t("status_from", lang), width=18), Column(t("status_to", lang), width=18),
                Column(t("top", lang), width=70)]
        rows = []
        for c in cmp.changes:
            top3 = "; ".join(f"{d['key']} {d['name_en'] if lang == 'en' and d.get('name_en') else d['name']} "
                             f"{d['delta']:+.2f}" for d in c["drivers"][:3])
            delta = (c["total_to"] - c["total_from"]) if c["total_to"] is not None and c["total_from"] is not None else None
            rows.append([c["code"], c["name"], t(c["direction"], lang), category_label(c["from"], lang),
                         category_label(c["to"], lang), c["total_from"], c["total_to"], delta,
                         status_words(c["status_from"] or [], lang), status_words(c["status_to"] or [], lang), top3])
        write_table(wb, t("changes", lang), cols, rows)

        dcols = [Column(t("code", lang)), Column(t("name", lang), width=30), Column(t("key", lang)),
                 Column(t("indicator", lang), width=16), Column(t("input_from", lang)), Column(t("input_to", lang)),
                 Column(t("score_from", lang), "number", 0), Column(t("score_to", lang), "number", 0),
                 Column(t("points_delta", lang), "number", 4)]
        drows = [[c["code"], c["name"], d["key"], d["name_en"] if lang == "en" and d.get("name_en") else d["name"],
                  _cell(d.get("input_from")), _cell(d.get("input_to")), d["score_from"], d["score_to"], d["delta"]]
                 for c in cmp.changes for d in c["drivers"]]
        write_table(wb, t("drivers", lang), dcols, drows)
        info = [[f"A: #{a['id']}", f"{a['as_of']} · {a['created_at']} · {a['model']} · {(a['model_hash'] or '')[:12]}"],
                [f"B: #{b['id']}", f"{b['as_of']} · {b['created_at']} · {b['model']} · {(b['model_hash'] or '')[:12]}"]]
        write_table(wb, t("info", lang), [Column(t("item", lang), width=14), Column(t("content", lang), width=90)],
                    info, autofilter=False)
    return wb.close()


def _cell(value: Any) -> Any:
    return value if isinstance(value, (int, float, str)) or value is None else str(value)


# -- monitoring alerts ------------------------------------------------------------------------------------

def write_monitor_workbook(res, path: Path, lang: str) -> WriteOutcome:
    sep = "; " if lang == "en" else "；"
    cols = [Column(t("code", lang)), Column(t("name", lang), width=30), Column(t("grade_then", lang)),
            Column(t("grade_now", lang)), Column(t("total_then", lang), "number"), Column(t("total_now", lang), "number"),
            Column(t("quota", lang), "number", 0), Column(t("events", lang), "int"), Column(t("reasons", lang), width=60)]

    def rows(items):
        return [[a["code"], a["name"], a["grade_then"], a["grade_now"] or t("vetoed", lang), a["total_then"],
                 a["total_now"], a["quota"], len(a["events"]), sep.join(a["reasons"])] for a in items]

    with Workbook(path) as wb:
        wb.set_print_info(("Post-loan monitoring" if lang == "en" else "贷后监控预警"), res.as_of, lang)
        sheet, _ = write_table(wb, t("alerts", lang), cols, rows(res.alerts))
        red = wb.fmt(bg_color="#F8CBAD", bold=True)
        for i, a in enumerate(res.alerts):
            wb.write_cell(sheet, i + 1, 3, a["grade_now"] or t("vetoed", lang), red)
        write_table(wb, t("watch", lang), cols, rows(res.watch))
        ecols = [Column(t("code", lang)), Column(t("name", lang), width=30), Column(t("type", lang)),
                 Column(t("date", lang)), Column(t("key", lang)), Column(t("doc_no", lang), width=22),
                 Column(t("role", lang)), Column(t("detail", lang), width=40), Column(t("file", lang), width=24),
                 Column(t("row", lang), "int")]
        erows = [[a["code"], a["name"], e.get("type"), e.get("date"), e.get("indicator"), e.get("doc_no"),
                  e.get("role"), e.get("detail") or e.get("status"), e.get("file"), e.get("row")]
                 for a in [*res.alerts, *res.watch] for e in a["events"]]
        write_table(wb, t("events", lang), ecols, erows)
        pcols = [Column(t("file", lang), width=24), Column(t("sheet", lang)), Column(t("row", lang), "int"),
                 Column(t("column", lang), width=20), Column(t("problem_code", lang)), Column(t("severity", lang)),
                 Column(t("message", lang), width=60)]
        write_table(wb, t("problems", lang), pcols, [[p["file"], p["sheet"], p["row"], p["column"], p["code"],
                                                      p["severity"], p["message"]] for p in res.problems.as_dicts()])
        run = res.run
        info = [[t("id", lang), f"#{run['id']}"], [t("as_of", lang), run["as_of"]],
                [("Monitoring date" if lang == "en" else "监控截止日"), res.as_of.isoformat()],
                [t("model", lang), run["model"]], [t("hash", lang), run["model_hash"]]]
        info += [[k, v] for k, v in res.stats.items()]
        info += [[t("file", lang), f"{i['kind']}: {i['file']} (SHA-256 {i['sha256']})"] for i in res.inputs]
        info += [["warning", w] for w in res.warnings]
        write_table(wb, t("info", lang), [Column(t("item", lang), width=24), Column(t("content", lang), width=90)],
                    info, autofilter=False)
    return wb.close()
