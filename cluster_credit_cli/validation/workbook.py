"""The validation workbook: summary with traffic lights, ROC and CAP charts, calibration per
grade, the indicators that separate defaulters, stability (PSI, CSI, migration), the cohort."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cluster_credit_cli.atomic import WriteOutcome
from cluster_credit_cli.outputs.excel import Column, Workbook, write_table
from cluster_credit_cli.validation.analysis import Validation

L = {
    "summary": ("验证概览", "Summary"), "discrimination": ("区分能力", "Discrimination"),
    "calibration": ("等级校准", "Calibration"), "indicators": ("指标区分能力", "Indicators"),
    "stability": ("稳定性", "Stability"), "cohort": ("验证样本", "Cohort"), "problems": ("问题清单", "Problems"),
    "settings": ("验证设置", "Settings"),
    "item": ("项目", "Item"), "value": ("数值", "Value"), "light": ("信号灯", "Light"), "detail": ("说明", "Detail"),
    "grade": ("等级", "Grade"), "n": ("户数", "Obligors"), "defaults": ("违约户数", "Defaults"),
    "observed": ("实际违约率", "Observed rate"), "ci_lo": ("95%区间下限", "95% CI low"),
    "ci_hi": ("95%区间上限", "95% CI high"), "pd": ("预期违约概率PD", "PD"), "expected": ("预期违约户数", "Expected defaults"),
    "binomial_p": ("二项检验p值", "Binomial p"), "jeffreys_p": ("Jeffreys检验p值", "Jeffreys p"),
    "key": ("指标代码", "Key"), "indicator": ("指标", "Indicator"), "level": ("层级", "Level"), "auc": ("AUC", "AUC"),
    "separates": ("能否区分违约", "Separates defaulters?"), "code": ("统一社会信用代码", "Credit code"),
    "name": ("企业名称", "Name"), "run": ("评级运行", "Rating run"), "rating_date": ("评级日期", "Rating date"),
    "score": ("评分", "Score"), "defaulted": ("是否违约", "Defaulted"), "default_date": ("违约日期", "Default date"),
    "bin": ("区间", "Bin"), "expected_n": ("验证样本户数", "Cohort count"), "actual_n": ("最新一轮户数", "Latest round count"),
    "expected_share": ("验证样本占比", "Cohort share"), "actual_share": ("最新一轮占比", "Latest round share"),
    "csi": ("CSI", "CSI"), "from": ("从运行", "From run"), "to": ("到运行", "To run"), "stay": ("等级不变", "Kept grade"),
    "within_one": ("变动不超过一级", "Within one notch"), "mwb_down": ("下调加权带宽MWB", "MWB down"),
    "mwb_up": ("上调加权带宽MWB", "MWB up"), "roc_x": ("非违约者中被拒比例", "Share of non-defaulters refused"),
    "roc_y": ("违约者中被拒比例", "Share of defaulters refused"), "cap_x": ("全部样本中被拒比例", "Share of all refused"),
    "ks_score": ("评分（不高于）", "Score (at or below)"), "f_bad": ("违约者累计占比", "Defaulters, cumulative"),
    "f_good": ("非违约者累计占比", "Non-defaulters, cumulative"), "gap": ("差距", "Gap"),
    "file": ("文件", "File"), "sheet": ("工作表", "Sheet"), "row": ("行", "Row"), "column": ("列", "Column"),
    "problem_code": ("问题代码", "Code"), "message": ("说明", "Message"), "severity": ("级别", "Severity"),
    "green": ("绿", "green"), "yellow": ("黄", "yellow"), "red": ("红", "red"), "yes": ("是", "yes"), "no": ("否", "no"),
    "leaf": ("末级指标", "leaf"), "dimension": ("维度", "dimension"), "reverse": ("反向", "reversed"),
    "unclear": ("不能确定", "not shown"),
}
FILL = {"green": "#C6EFCE", "yellow": "#FFEB9C", "red": "#FFC7CE"}


def t(key: str, lang: str) -> str:
    zh, en = L[key]
    return en if lang == "en" else zh


def _light_cell(wb: Workbook, sheet, row: int, col: int, light: str | None, lang: str) -> None:
    if light is None:
        sheet.write_blank(row, col, None)
        return
    sheet.write_string(row, col, t(light, lang), wb.fmt(bg_color=FILL[light], bold=True, align="center", border=1))


def summary_rows(v: Validation) -> list[tuple[str, Any, str | None, str]]:
    """(item, value, light, detail) of the summary sheet and the terminal summary."""
    en = v.lang == "en"
    a, c = v.auc, v.cohort
    rows: list[tuple[str, Any, str | None, str]] = [
        ("Source" if en else "数据来源", c.source if c.source != "register" else ("the register's loan book" if en
                                                                               else "登记簿贷款台账"), None, ""),
        ("Default definition" if en else "违约定义", c.definition, None, ""),
        ("Horizon (months)" if en else "观察期（月）", c.horizon_months if c.horizon_months is not None else
         ("as in the file" if en else "按文件"), None, ""),
    ]
    if c.as_of:
        rows.append(("Outcomes as of" if en else "结果截至", c.as_of.isoformat(), None, ""))
    rows += [("Obligors" if en else "样本户数", v.n, None, ""), ("Defaults" if en else "违约户数", v.defaults, None, "")]
    for reason, count in c.excluded:
        rows.append(("Left out" if en else "未计入", count, None, reason))
    ci = f"[{a.ci[0]:.3f}, {a.ci[1]:.3f}]" if a.ci else ""
    if a.auc is None:
        rows.append(("AUC", None, None, "needs defaulters and non-defaulters" if en else "需要既有违约也有未违约的样本"))
    else:
        rows += [
            ("AUC", round(a.auc, 4), v.auc_light,
             ((f"DeLong 95% CI {ci}" if en else f"DeLong 95% 区间 {ci}") if a.ci else
              ("no interval: fewer than two of a class" if en else "无区间：某一类少于两户")) +
             ("" if v.score_kind == "score" else (" (on grades)" if en else "（按等级）"))),
            ("Accuracy ratio (Gini)" if en else "准确率比AR（基尼）", round(a.accuracy_ratio, 4), None, "2·AUC − 1"),
            ("KS", None if v.ks.ks is None else round(v.ks.ks, 4), None,
             "" if v.ks.score is None else (f"largest at score {_ks_where(v)}" if en else f"最大处：评分 {_ks_where(v)}")),
        ]
    hl = v.hosmer_lemeshow
    rows.append(("Hosmer–Lemeshow", None if hl is None else round(hl[0], 3), v.hl_light,
                 "" if hl is None else f"df = {hl[1]}, p = {hl[2]:.4f}"))
    mono = v.monotonic
    rows.append(("Monotonic default rates" if en else "违约率随等级单调", None if mono is None else
                 t("yes" if mono else "no", v.lang), None,
                 "; ".join(f"{x} > {y}" for x, y in v.monotonic_breaks)))
    source = {"file": ("结果文件", "the outcome file")}.get(v.pd_source or "", (v.pd_source, v.pd_source))[1 if en else 0]
    reds = [g["grade"] for g in v.grades if g["light"] == "red"]
    yellows = [g["grade"] for g in v.grades if g["light"] == "yellow"]
    worst = "red" if reds else "yellow" if yellows else ("green" if any(g["light"] for g in v.grades) else None)
    if v.n:
        flagged = ("; " if en else "；").join(x for x in (
            (("red: " if en else "红：") + ", ".join(reds)) if reds else "",
            (("yellow: " if en else "黄：") + ", ".join(yellows)) if yellows else "") if x)
        test = "Jeffreys" if v.settings.light_test == "jeffreys" else ("binomial" if en else "二项")
        tested = sum(1 for g in v.grades if g["light"])
        how = (f"{test} test; PD from {source}" if en else f"{test}检验；PD 来自 {source}") if v.pd_source else ""
        # value: grades flagged of those tested; the detail names them
        rows.append(("Calibration per grade" if en else "分等级校准", f"{len(reds) + len(yellows)}/{tested}", worst,
                     ("; " if en else "；").join(x for x in (flagged, how) if x)))
    ref = c.reference_label or ""
    rows.append(("PSI of the score" if en else "评分PSI", None if v.psi_score is None else round(v.psi_score, 4),
                 v.psi_lights["score"], ref))
    rows.append(("PSI of the grades" if en else "等级分布PSI", None if v.psi_grade is None else round(v.psi_grade, 4),
                 v.psi_lights["grade"], ref))
    rows.append(("Conclusive" if en else "结论是否可靠", t("yes" if v.conclusive else "no", v.lang), None, v.note))
    for n in v.notes:
        rows.append(("Note" if en else "说明", "", None, n))
    return rows


def _ks_where(v: Validation) -> str:
    if v.score_kind == "score":
        return f"{v.ks.score:.2f}"
    k = len(v.grade_order) - int(round(v.ks.score))
    return v.grade_order[k] if 0 <= k < len(v.grade_order) else ""


def write_validation_workbook(v: Validation, path: Path) -> WriteOutcome:
    lang = v.lang
    en = lang == "en"
    with Workbook(path) as wb:
        wb.set_print_info("Scorecard validation" if en else "评分卡验证", None, lang)
        # Summary with lights.
        cols = [Column(t("item", lang), width=30), Column(t("value", lang), width=18),
                Column(t("light", lang), width=10), Column(t("detail", lang), width=90)]
        rows = summary_rows(v)
        title = ("Validation of the scorecard against outcomes" if en else "评分卡验证：与实际违约结果对照")
        sheet, _ = write_table(wb, t("summary", lang), cols, [[a, b, None, d] for a, b, _, d in rows], title=title,
                               autofilter=False)
        for i, (_, _, light, _) in enumerate(rows):
            _light_cell(wb, sheet, 3 + i, 2, light, lang)
        _discrimination_sheet(wb, v)
        _calibration_sheet(wb, v)
        if v.indicators:
            _indicator_sheet(wb, v)
        if v.cohort.reference is not None or v.migration:
            _stability_sheet(wb, v)
        _cohort_sheet(wb, v)
        _settings_sheet(wb, v)
        if len(v.cohort.problems):
            pcols = [Column(t(k, lang), width=w) for k, w in (("file", 24), ("sheet", 12), ("row", 6), ("column", 16),
                                                               ("problem_code", 18), ("severity", 8), ("message", 80))]
            write_table(wb, t("problems", lang), pcols,
                        [[p.file, p.sheet, p.row, p.column, p.code, p.severity, p.message] for p in v.cohort.problems])
    return wb.close()


def _discrimination_sheet(wb: Workbook, v: Validation) -> None:
    lang = v.lang
    en = lang == "en"
    name = t("discrimination", lang)
    sheet = wb.book.add_worksheet(name)
    hfmt = wb.header_format()
    pct = wb.fmt(num_format="0.0%")
    heads = [t("roc_x", lang), t("roc_y", lang), "", t("cap_x", lang), t("roc_y", lang), "", t("ks_score", lang),
             t("f_bad", lang), t("f_good", lang), t("gap", lang)]
    for j, h in enumerate(heads):
        if h:
            sheet.write_string(0, j, h, hfmt)
    for i, (x, y) in enumerate(v.roc):
        sheet.write_number(1 + i, 0, x, pct)
        sheet.write_number(1 + i, 1, y, pct)
    for i, (x, y) in enumerate(v.cap):
        sheet.write_number(1 + i, 3, x, pct)
        sheet.write_number(1 + i, 4, y, pct)
    for i, (s, fb, fg) in enumerate(v.ks.points):
        if v.score_kind == "score":
            sheet.write_number(1 + i, 6, s, wb.fmt(num_format="0.00"))
        else:
            k = len(v.grade_order) - int(round(s))
            sheet.write_string(1 + i, 6, v.grade_order[k] if 0 <= k < len(v.grade_order) else "")
        sheet.write_number(1 + i, 7, fb, pct)
        sheet.write_number(1 + i, 8, fg, pct)
        gap_fmt = wb.fmt(num_format="0.0%", bold=True, bg_color="#FFEB9C") if s == v.ks.score else pct
        sheet.write_number(1 + i, 9, abs(fb - fg), gap_fmt)
    sheet.set_column(0, 9, 16)
    sheet.freeze_panes(1, 0)
    if not v.roc:
        sheet.write_string(1, 0, "no defaulters or no non-defaulters: no curve" if en else "样本中违约或非违约为空：无曲线")
        return
    # The reference lines live in spare columns right of the charts (no hidden sheet needed).
    R, P, PX = 30, 31, 32
    wb.print_setup(sheet, header_row=0, print_cols=10)  # on paper: the table and the charts, not the spare columns
    sheet.write_string(0, R, "random" if en else "随机", hfmt)
    sheet.write_number(1, R, 0.0)
    sheet.write_number(2, R, 1.0)
    bad_rate = v.defaults / v.n
    sheet.write_string(0, P, "perfect" if en else "完美模型", hfmt)
    sheet.write_string(0, PX, "x", hfmt)
    for i, (x, y) in enumerate([(0.0, 0.0), (bad_rate, 1.0), (1.0, 1.0)]):
        sheet.write_number(1 + i, PX, x)
        sheet.write_number(1 + i, P, y)
    a = v.auc
    for kind, xs, ys, n, title, row in (
            ("roc", 0, 1, len(v.roc), f"ROC  AUC = {a.auc:.3f}", 1),
            ("cap", 3, 4, len(v.cap), f"CAP  AR = {a.accuracy_ratio:.3f}", 18)):
        chart = wb.book.add_chart({"type": "scatter", "subtype": "straight"})
        chart.add_series({"name": "ROC" if kind == "roc" else "CAP", "categories": [name, 1, xs, n, xs],
                          "values": [name, 1, ys, n, ys], "line": {"color": "#1F4E79", "width": 2.25}})
        chart.add_series({"name": "random" if en else "随机", "categories": [name, 1, R, 2, R],
                          "values": [name, 1, R, 2, R], "line": {"color": "#A6A6A6", "dash_type": "dash"}})
        if kind == "cap":
            chart.add_series({"name": "perfect" if en else "完美模型", "categories": [name, 1, PX, 3, PX],
                              "values": [name, 1, P, 3, P], "line": {"color": "#548235", "dash_type": "dash"}})
        chart.set_title({"name": title, "name_font": {"size": 12}})
        chart.set_x_axis({"name": heads[0] if kind == "roc" else heads[3], "min": 0, "max": 1,
                          "num_format": "0%", "major_gridlines": {"visible": True, "line": {"color": "#E7E6E6"}}})
        chart.set_y_axis({"name": heads[1], "min": 0, "max": 1, "num_format": "0%"})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 520, "height": 330})
        wb.insert_chart(sheet, row, 11, chart)  # through the workbook: never cut on paper


def _calibration_sheet(wb: Workbook, v: Validation) -> None:
    lang = v.lang
    cols = [Column(t("grade", lang)), Column(t("n", lang), "int"), Column(t("defaults", lang), "int"),
            Column(t("observed", lang), "percent", 2), Column(t("ci_lo", lang), "percent", 2),
            Column(t("ci_hi", lang), "percent", 2), Column(t("pd", lang), "percent", 2),
            Column(t("expected", lang), "number", 2), Column(t("binomial_p", lang), "number", 4),
            Column(t("jeffreys_p", lang), "number", 4), Column(t("light", lang))]
    rows = [[g["grade"], g["n"], g["defaults"], g["observed_rate"], g["ci"][0] if g["ci"] else None,
             g["ci"][1] if g["ci"] else None, g["pd"], g["expected"], g["binomial_p"], g["jeffreys_p"], None]
            for g in v.grades]
    title = (f"Observed default rate per grade against the PD ({v.pd_source or 'no PD table'}); exact 95% intervals"
             if lang == "en" else f"各等级实际违约率与预期 PD 对照（PD 来自 {v.pd_source or '无'}）；精确 95% 区间")
    name = t("calibration", lang)
    sheet, n = write_table(wb, name, cols, rows, title=title, autofilter=False)
    for i, g in enumerate(v.grades):
        _light_cell(wb, sheet, 3 + i, 10, g["light"], lang)
    if n:
        chart = wb.book.add_chart({"type": "column"})
        # The exact 95 % interval of each observed rate as error bars, from two columns beside the table.
        pct = wb.fmt(num_format="0.00%", font_color="#7F7F7F")
        sheet.write_string(2, 12, "+" if lang == "en" else "区间上距", wb.header_format())
        sheet.write_string(2, 13, "−" if lang == "en" else "区间下距", wb.header_format())
        for i, g in enumerate(v.grades):
            up = (g["ci"][1] - g["observed_rate"]) if g["ci"] else 0.0
            down = (g["observed_rate"] - g["ci"][0]) if g["ci"] else 0.0
            sheet.write_number(3 + i, 12, up, pct)
            sheet.write_number(3 + i, 13, down, pct)
        quoted = "'" + name.replace("'", "''") + "'"
        chart.add_series({"name": t("observed", lang), "categories": [name, 3, 0, 2 + n, 0],
                          "values": [name, 3, 3, 2 + n, 3], "fill": {"color": "#2E75B6"},
                          "y_error_bars": {"type": "custom", "end_style": 1, "line": {"color": "#404040"},
                                           "plus_values": f"={quoted}!$M$4:$M${3 + n}",
                                           "minus_values": f"={quoted}!$N$4:$N${3 + n}"}})
        if v.pd_source:
            chart.add_series({"name": "PD", "categories": [name, 3, 0, 2 + n, 0], "values": [name, 3, 6, 2 + n, 6],
                              "fill": {"color": "#F4B183"}})
        chart.set_y_axis({"num_format": "0%", "min": 0})
        chart.set_title({"name": t("calibration", lang), "name_font": {"size": 12}})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 520, "height": 300})
        wb.insert_chart(sheet, 4 + n, 0, chart)


def _indicator_sheet(wb: Workbook, v: Validation) -> None:
    lang = v.lang
    cols = [Column(t("key", lang)), Column(t("indicator", lang), width=22), Column(t("level", lang)),
            Column(t("n", lang), "int"), Column(t("auc", lang), "number", 3), Column(t("ci_lo", lang), "number", 3),
            Column(t("ci_hi", lang), "number", 3), Column(t("separates", lang))]
    rows = []
    for i in v.indicators:
        lo, hi = i["ci"] if i["ci"] else (None, None)
        verdict = None if lo is None else "yes" if lo > 0.5 else "reverse" if hi < 0.5 else "unclear"
        rows.append([i["key"], i["name"], t(i["level"], lang) if i["level"] else "", i["n"], i["auc"], lo, hi,
                     t(verdict, lang) if verdict else ""])
    title = ("AUC of each dimension and leaf indicator alone: which separate defaulters (95% interval above 0.5)"
             if lang == "en" else "各维度和末级指标单独的 AUC：哪些指标能区分违约（95% 区间高于 0.5）")
    write_table(wb, t("indicators", lang), cols, rows, title=title)


def _stability_sheet(wb: Workbook, v: Validation) -> None:
    lang = v.lang
    en = lang == "en"
    name = t("stability", lang)
    sheet = wb.book.add_worksheet(name)
    hfmt = wb.header_format()
    bold = wb.fmt(bold=True, font_size=12)
    r = 0
    ref = v.cohort.reference_label
    sheet.write_string(r, 0, (f"Population stability: the validation cohort against the latest round {ref or ''}" if en
                              else f"群体稳定性：验证样本对比最新一轮 {ref or ''}"), bold)
    r += 2
    for kind, label, value, light in (("score", "PSI " + t("score", lang), v.psi_score, v.psi_lights["score"]),
                                      ("grade", "PSI " + t("grade", lang), v.psi_grade, v.psi_lights["grade"])):
        table = v.psi_tables.get(kind) or []
        sheet.write_string(r, 0, label, hfmt)
        wb.write_cell(sheet, r, 1, None if value is None else round(value, 4), wb.fmt(num_format="0.0000"))
        _light_cell(wb, sheet, r, 2, light, lang)
        r += 1
        if table:
            for j, h in enumerate((t("bin", lang), t("expected_n", lang), t("actual_n", lang),
                                   t("expected_share", lang), t("actual_share", lang))):
                sheet.write_string(r, j, h, hfmt)
            te = sum(x["expected"] for x in table) or 1
            ta = sum(x["actual"] for x in table) or 1
            for row in table:
                r += 1
                sheet.write_string(r, 0, str(row["bin"]))
                sheet.write_number(r, 1, row["expected"])
                sheet.write_number(r, 2, row["actual"])
                sheet.write_number(r, 3, row["expected"] / te, wb.fmt(num_format="0.0%"))
                sheet.write_number(r, 4, row["actual"] / ta, wb.fmt(num_format="0.0%"))
        r += 2
    if v.csi:
        sheet.write_string(r, 0, "CSI per leaf indicator" if en else "各末级指标的 CSI", bold)
        r += 1
        for j, h in enumerate((t("key", lang), t("csi", lang), t("light", lang))):
            sheet.write_string(r, j, h, hfmt)
        for c in v.csi:
            r += 1
            sheet.write_string(r, 0, c["key"])
            wb.write_cell(sheet, r, 1, None if c["csi"] is None else round(c["csi"], 4), wb.fmt(num_format="0.0000"))
            _light_cell(wb, sheet, r, 2, c["light"], lang)
        r += 2
    if v.migration:
        sheet.write_string(r, 0, "Stability of the rating migrations between consecutive runs" if en
                           else "相邻两轮评级迁移的稳定性", bold)
        r += 1
        for j, h in enumerate((t("from", lang), t("to", lang), t("n", lang), t("stay", lang), t("within_one", lang),
                               t("mwb_down", lang), t("mwb_up", lang))):
            sheet.write_string(r, j, h, hfmt)
        for m in v.migration:
            r += 1
            vals = [f"#{m['from']}", f"#{m['to']}", m["n"], m["stay"], m["within_one"], m["mwb_down"], m["mwb_up"]]
            fmts = [None, None, None, wb.fmt(num_format="0.0%"), wb.fmt(num_format="0.0%"),
                    wb.fmt(num_format="0.000"), wb.fmt(num_format="0.000")]
            for j, (x, f) in enumerate(zip(vals, fmts)):
                wb.write_cell(sheet, r, j, x, f)
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 6, 16)


def _settings_sheet(wb: Workbook, v: Validation) -> None:
    """What the figures rest on: the model, the settings and thresholds, the PD table."""
    import datetime as _dt

    lang = v.lang
    en = lang == "en"
    s, m = v.settings, v.meta
    items = [("Model" if en else "评价模型", m.get("model")), ("Model file" if en else "模型文件", m.get("model_file")),
             ("Model hash" if en else "模型哈希", (m.get("model_hash") or "")[:16]),
             ("Tool version" if en else "工具版本", m.get("tool_version")),
             ("Created" if en else "生成时间", _dt.datetime.now().replace(microsecond=0).isoformat(sep=" ")),
             ("Horizon (months)" if en else "观察期（月）", s.horizon_months), ("Definition" if en else "违约定义",
                                                                          v.cohort.definition),
             ("Light test" if en else "信号灯检验", s.light_test), ("p yellow / red", f"{s.p_yellow} / {s.p_red}"),
             ("AUC yellow / red", f"{s.auc_yellow} / {s.auc_red}"), ("PSI yellow / red", f"{s.psi_yellow} / {s.psi_red}"),
             ("AUC ± (enough defaults)" if en else "AUC 区间半宽（违约是否足够）", s.auc_half_width),
             ("PD table" if en else "PD 表来源", v.pd_source or "—")]
    items += [(f"PD {g}", p) for g, p in s.pd.items()]
    write_table(wb, t("settings", lang), [Column(t("item", lang), width=28), Column(t("value", lang), width=60)],
                [[a, b] for a, b in items], autofilter=False)


def _cohort_sheet(wb: Workbook, v: Validation) -> None:
    lang = v.lang
    f = v.cohort.frame
    cols = [Column(t("code", lang)), Column(t("name", lang), width=30), Column(t("run", lang)),
            Column(t("rating_date", lang), "date"), Column(t("score", lang), "number", 2), Column(t("grade", lang)),
            Column(t("pd", lang), "percent", 2), Column(t("defaulted", lang)), Column(t("default_date", lang), "date")]
    rows = []
    for r in f.itertuples(index=False):
        run = getattr(r, "run_id", None)
        rows.append([r.code, r.name, f"#{run}" if run is not None and run == run else None,
                     _day(getattr(r, "rating_date", None)), r.score, r.grade, r.pd,
                     t("yes" if r.defaulted else "no", lang), _day(getattr(r, "default_date", None))])
    write_table(wb, t("cohort", lang), cols, rows)


def _day(value):
    import datetime as _dt

    import pandas as pd

    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value
