"""Rendering credit reports as PDF (fpdf2), one booklet with a table of contents or one file per firm.

fpdf2 is pure Python, embeds a subset of a TrueType font with a ToUnicode map (text stays
searchable and copyable) and draws the few shapes a report needs. The font is the Noto Sans SC
subset shipped in ``fonts/`` (SIL OFL 1.1): Chinese renders on a machine with no CJK font.
Every page carries the model, the as-of date and the config hash.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path
from typing import Any, Callable

from cluster_credit_cli.atomic import WriteOutcome, atomic_path
from cluster_credit_cli.dossier.build import EnterpriseReport, RoundInfo
from cluster_credit_cli.i18n import status_words

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FILE = FONT_DIR / "NotoSansSC-Regular-GB2312.ttf"
# CJK fonts a machine may have, tried (path, font number in a collection) for characters outside
# the shipped subset; found by path, no font search library needed.
SYSTEM_FALLBACKS = (("C:/Windows/Fonts/simhei.ttf", 0), ("C:/Windows/Fonts/msyh.ttc", 0),
                    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
                    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # 2: the SC face
                    ("/System/Library/Fonts/STHeiti Medium.ttc", 0))

L = {
    "title": ("企业信用评价报告", "Enterprise credit report"),
    "booklet": ("企业信用评价报告汇编", "Credit reports of the round"),
    "contents": ("目录", "Contents"),
    "identity": ("一、企业基本信息", "1. Identity"),
    "verdict": ("二、评价结论", "2. Result"),
    "dims": ("三、维度得分（与本轮中位数、四分位数对比）", "3. Dimensions against the round (median, quartiles)"),
    "leaves": ("四、指标明细", "4. Indicators"),
    "gates": ("五、准入资格与否决", "5. Eligibility and vetoes"),
    "missing": ("六、缺失材料与数据冲突", "6. Missing materials and conflicts settled"),
    "history": ("七、评级历史与贷后预警", "7. Rating history and monitoring alerts"),
    "grade": ("信用等级", "Grade"), "rank": ("排名", "Rank"), "total": ("总分", "Total"), "base": ("基础分", "Base"),
    "bonus": ("加分", "Bonus"), "requested": ("申请金额", "Requested"), "quota": ("建议额度", "Quota"),
    "status": ("状态", "Status"), "not_graded": ("未评级", "not graded"), "of": ("共", "of"),
    "dimension": ("维度", "Dimension"), "score": ("得分", "Score"), "max": ("满分", "Max"),
    "median": ("中位数", "Median"), "quartiles": ("四分位（Q1–Q3）", "Quartiles (Q1–Q3)"),
    "key": ("代码", "Key"), "indicator": ("指标", "Indicator"), "input": ("输入值", "Input"),
    "leaf_score": ("得分", "Score"), "weight": ("有效权重", "Weight"), "points": ("加权分", "Points"),
    "source": ("来源（文件 / 工作表 / 行 / 列）", "Source (file / sheet / row / column)"),
    "eligible": ("符合准入条件，无否决事项。", "Eligible; no veto."),
    "reasons": ("原因", "Reasons"), "none_missing": ("材料齐全。", "No materials missing."),
    "missing_items": ("缺失材料", "Missing"), "no_conflicts": ("各来源数据一致，无冲突。", "No conflicting values."),
    "conflict_field": ("字段", "Field"), "conflict_values": ("各来源的值（标“采用”者为本轮所用）", "Values by source (the one marked “used” was used)"),
    "used": ("采用", "used"),
    "no_history": ("评级登记簿中无本企业的往期记录。", "The register holds no earlier rounds of this enterprise."),
    "no_register": ("未提供评级登记簿（--db），无往期记录。", "No rating register given (--db): no history."),
    "run": ("运行", "Run"), "as_of": ("评价基准日", "As of"), "alerts": ("贷后预警", "Monitoring alerts"),
    "change": ("较上期", "Since last"), "up": ("↑ 升级", "↑ up"), "down": ("↓ 降级", "↓ down"),
    "same": ("持平", "same"), "lost": ("↓ 未评级", "↓ not graded"), "new": ("新评级", "graded"),
    "no_alerts": ("无贷后预警。", "No monitoring alerts."),
    "legend": ("蓝色条：本企业得分占满分比例；红线：本轮中位数；灰色区间：本轮四分位（Q1–Q3）",
               "Blue bar: this enterprise's share of the maximum; red line: round median; grey band: quartiles (Q1–Q3)"),
    "model": ("模型", "Model"), "hash": ("配置哈希", "Config hash"), "page": ("第 {p} 页", "Page {p}"),
    "conflict_note": ("同一代码多行申报，本轮不评分：", "Several application rows for this code; not scored: "),
}


def _t(key: str, lang: str) -> str:
    zh, en = L[key]
    return en if lang == "en" else zh


def _fmt(value: Any, decimals: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{decimals}f}"
    return str(value)


def _fmt_input(value: Any) -> str:
    if value is None:
        return "—"
    try:
        import pandas as pd  # noqa: PLC0415

        if value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value):
            return "—"
        if isinstance(value, pd.Timestamp):
            return value.date().isoformat()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _new_pdf(info: RoundInfo):
    from fpdf import FPDF  # noqa: PLC0415 - only ccredit report needs it

    lang = info.lang

    class ReportPDF(FPDF):
        firm = ""

        def header(self) -> None:
            self.set_font("cjk", size=7.5)
            self.set_text_color(90, 90, 90)
            self.cell(0, 4, f"{info.model}  ·  {_t('as_of', lang)} {info.as_of}", new_x="LMARGIN", new_y="NEXT")
            if self.firm:
                self.cell(0, 4, self.firm, new_x="LMARGIN", new_y="NEXT")
            self.set_draw_color(180, 180, 180)
            self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
            self.set_y(self.get_y() + 3)
            self.set_text_color(0, 0, 0)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("cjk", size=7.5)
            self.set_text_color(90, 90, 90)
            left = (f"{_t('model', lang)} {info.model} · ccredit {info.tool_version} · {_t('as_of', lang)} {info.as_of}"
                    f" · {_t('hash', lang)} {info.config_hash[:16]}")
            self.cell(150, 5, left)
            self.cell(0, 5, _t("page", lang).format(p=self.page_no()), align="R")
            self.set_text_color(0, 0, 0)

    pdf = ReportPDF(format="A4", unit="mm")
    pdf.set_margins(16, 14, 16)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_font("cjk", "", str(FONT_FILE))
    fallbacks = []
    for i, (p, number) in enumerate(SYSTEM_FALLBACKS):
        if Path(p).is_file():
            try:
                pdf.add_font(f"fallback{i}", "", p, collection_font_number=number)
                fallbacks.append(f"fallback{i}")
            except Exception:  # noqa: BLE001 - an unusable system font is simply not a fallback
                continue
    if fallbacks:
        pdf.set_fallback_fonts(fallbacks)
    pdf.set_title(_t("booklet", lang))
    pdf.set_creator(f"ccredit {info.tool_version}")
    pdf.set_lang("en" if lang == "en" else "zh-CN")
    return pdf


def missing_glyphs(texts: list[str]) -> list[str]:
    """Characters of ``texts`` that neither the shipped font nor a fallback font of this machine can draw."""
    from fontTools.ttLib import TTFont  # noqa: PLC0415 - fpdf2 depends on fontTools

    seen = {ch for text in texts for ch in text if ord(ch) >= 32}
    todo = set(seen)
    for path, number in [(str(FONT_FILE), 0), *((p, n) for p, n in SYSTEM_FALLBACKS if Path(p).is_file())]:
        if not todo:
            break
        try:
            cmap = TTFont(path, lazy=True, fontNumber=number)["cmap"].getBestCmap()
        except Exception:  # noqa: BLE001 - an unreadable system font draws nothing
            continue
        todo = {ch for ch in todo if ord(ch) not in cmap}
    return sorted(todo)


def _heading(pdf, text: str) -> None:
    if pdf.get_y() > pdf.h - 40:
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font("cjk", size=11)
    pdf.set_text_color(31, 78, 121)
    pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("cjk", size=8.5)


def _table(pdf, headings: list[str] | None, rows: list[list[str]], widths: tuple[float, ...],
           aligns: tuple[str, ...] | None = None, size: float = 8.0) -> None:
    pdf.set_font("cjk", size=size)
    pdf.set_fill_color(255, 255, 255)
    pdf.set_draw_color(160, 160, 160)
    with pdf.table(col_widths=widths, text_align=aligns or "LEFT", line_height=size * 0.5, padding=0.8,
                   headings_style=_heading_style(), first_row_as_headings=headings is not None,
                   repeat_headings=1) as table:
        for row in ([headings] if headings is not None else []) + rows:
            r = table.row()
            for cell in row:
                r.cell(cell)


def _heading_style():
    from fpdf.fonts import FontFace  # noqa: PLC0415

    return FontFace(fill_color=(221, 235, 247), emphasis=None)


def render_report(pdf, rep: EnterpriseReport, info: RoundInfo, *, section: bool = True, new_page: bool = True) -> None:
    lang = info.lang
    pdf.firm = f"{rep.name}  {rep.code}"
    if new_page:
        pdf.add_page()
    if section:
        pdf.start_section(f"{rep.name}  {rep.code}")
    pdf.set_font("cjk", size=15)
    pdf.cell(0, 9, _t("title", lang), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 7, f"{rep.name}（{rep.code}）" if lang != "en" else f"{rep.name} ({rep.code})", align="C",
             new_x="LMARGIN", new_y="NEXT")

    _heading(pdf, _t("identity", lang))
    _table(pdf, None, [[k, v or "—"] for k, v in rep.identity], (40, 138))

    _heading(pdf, _t("verdict", lang))
    unit = f"（{rep.unit}）" if rep.unit and lang != "en" else (f" ({rep.unit})" if rep.unit else "")
    rank = f"{rep.rank} / {rep.ranked_of}" if rep.rank is not None else "—"
    _table(pdf, [_t("grade", lang), _t("rank", lang), _t("total", lang), _t("base", lang), _t("bonus", lang),
                 _t("requested", lang) + unit, _t("quota", lang) + unit],
           [[rep.grade or _t("not_graded", lang), rank, _fmt(rep.total), _fmt(rep.base), _fmt(rep.bonus),
             _fmt(rep.requested, 0), _fmt(rep.quota, 0)]], (22, 22, 22, 22, 22, 34, 34),
           ("CENTER",) * 7, size=9)
    if rep.status_text:
        pdf.set_font("cjk", size=9)
        pdf.multi_cell(0, 5, f"{_t('status', lang)}：{rep.status_text}" if lang != "en" else f"Status: {rep.status_text}",
                       new_x="LMARGIN", new_y="NEXT")

    _heading(pdf, _t("dims", lang))
    _table(pdf, [_t("dimension", lang), _t("score", lang), _t("max", lang), _t("median", lang), _t("quartiles", lang)],
           [[d.label, _fmt(d.value), _fmt(d.weight), _fmt(d.median),
             f"{_fmt(d.q1)} – {_fmt(d.q3)}" if d.q1 is not None else "—"] for d in rep.dimensions],
           (50, 28, 28, 28, 44), ("LEFT", "RIGHT", "RIGHT", "RIGHT", "CENTER"))
    _dimension_chart(pdf, rep, lang)

    _heading(pdf, _t("leaves", lang))
    if rep.status == ["conflict"] or "conflict" in rep.status and all(leaf.score is None for leaf in rep.leaves):
        pdf.multi_cell(0, 5, _t("conflict_note", lang) + "；".join(rep.reasons), new_x="LMARGIN", new_y="NEXT")
    _table(pdf, [_t("key", lang), _t("indicator", lang), _t("input", lang), _t("leaf_score", lang), _t("weight", lang),
                 _t("points", lang), _t("source", lang)],
           [[leaf.key, leaf.label, _fmt_input(leaf.input), _fmt(leaf.score, 0), f"{leaf.weight:.4f}",
             _fmt(leaf.points), leaf.source or "—"] for leaf in rep.leaves],
           (10, 26, 20, 11, 14, 13, 84), ("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "LEFT"), size=7)

    _heading(pdf, _t("gates", lang))
    vetoes = [s for s in rep.status if s.startswith(("ineligible", "veto"))]
    if not vetoes:
        pdf.multi_cell(0, 5, _t("eligible", lang), new_x="LMARGIN", new_y="NEXT")
    else:
        _table(pdf, [_t("status", lang), _t("reasons", lang)],
               [[status_words(vetoes, lang), ("；" if lang != "en" else "; ").join(rep.reasons) or "—"]], (45, 133))

    _heading(pdf, _t("missing", lang))
    if rep.missing:
        sep = "；" if lang != "en" else "; "
        colon = ": " if lang == "en" else "："
        pdf.multi_cell(0, 5, f"{_t('missing_items', lang)}{colon}{sep.join(rep.missing)}", new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.multi_cell(0, 5, _t("none_missing", lang), new_x="LMARGIN", new_y="NEXT")
    if rep.conflicts:
        rows = []
        for c in rep.conflicts:
            vals = "；".join(f"{'【' + _t('used', lang) + '】' if v['used'] else ''}{v['source']} {v['value']}"
                            f"（{v['file']} {'第' if lang != 'en' else 'row '}{int(v['row']) if v['row'] else ''}{'行' if lang != 'en' else ''}）"
                            for v in c["values"])
            rows.append([c["field"], vals])
        _table(pdf, [_t("conflict_field", lang), _t("conflict_values", lang)], rows, (40, 138))
    else:
        pdf.multi_cell(0, 5, _t("no_conflicts", lang), new_x="LMARGIN", new_y="NEXT")

    _history(pdf, rep, lang, info.grades)


def _change(prev: dict | None, cur: dict, grades: list[str], lang: str) -> str:
    """The grade move since the previous recorded run: up, down, same, lost its grade, newly graded."""
    if prev is None:
        return "—"
    a, b = prev.get("grade"), cur.get("grade")
    if a and b:
        if a not in grades or b not in grades:
            return "—"
        ia, ib = grades.index(a), grades.index(b)
        return _t("same" if ia == ib else "up" if ib < ia else "down", lang)
    if a and not b:
        return _t("lost", lang)
    if b and not a:
        return _t("new", lang)
    return "—"


def _history(pdf, rep: EnterpriseReport, lang: str, grades: list[str]) -> None:
    _heading(pdf, _t("history", lang))
    if rep.history is None:
        pdf.multi_cell(0, 5, _t("no_register", lang), new_x="LMARGIN", new_y="NEXT")
    elif not rep.history:
        pdf.multi_cell(0, 5, _t("no_history", lang), new_x="LMARGIN", new_y="NEXT")
    else:
        _table(pdf, [_t("run", lang), _t("as_of", lang), _t("grade", lang), _t("change", lang), _t("rank", lang),
                     _t("total", lang), _t("quota", lang), _t("status", lang)],
               [[f"#{h.get('run_id', '')}", str(h.get("as_of", "")), h.get("grade") or _t("not_graded", lang),
                 _change(rep.history[i - 1] if i else None, h, grades, lang),
                 _fmt(h.get("rank")), _fmt(h.get("total")), _fmt(h.get("quota"), 0),
                 status_words(list(h.get("status") or []), lang) if h.get("status") else "—"]
                for i, h in enumerate(rep.history)],
               (14, 22, 16, 20, 14, 18, 20, 54), ("LEFT", "LEFT", "CENTER", "CENTER", "RIGHT", "RIGHT", "RIGHT", "LEFT"))
    if rep.alerts:
        pdf.ln(1)
        pdf.set_font("cjk", size=9)
        pdf.cell(0, 6, _t("alerts", lang), new_x="LMARGIN", new_y="NEXT")
        sep = "；" if lang != "en" else "; "
        for a in rep.alerts:
            pdf.multi_cell(0, 5, f"• {a.get('grade_then', '')} → {a.get('grade_now') or '—'}：{sep.join(a.get('reasons', []))}",
                           new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.multi_cell(0, 5, _t("no_alerts", lang), new_x="LMARGIN", new_y="NEXT")


def _dimension_chart(pdf, rep: EnterpriseReport, lang: str) -> None:
    """Horizontal bars: the firm's points per dimension as a share of the dimension's maximum,
    with the round's quartile range as a frame and its median as a tick."""
    dims = [d for d in rep.dimensions if d.weight]
    if not dims:
        return
    row_h, label_w, bar_w = 6.0, 50.0, 110.0
    need = row_h * len(dims) + 10
    if pdf.get_y() + need > pdf.h - 18:
        pdf.add_page()
    x0, y = pdf.l_margin, pdf.get_y() + 2
    pdf.set_font("cjk", size=8)
    for d in dims:
        pdf.set_xy(x0, y)
        pdf.cell(label_w, row_h - 1, d.label, align="R")
        left = x0 + label_w + 2
        pdf.set_draw_color(200, 200, 200)
        pdf.rect(left, y + 0.5, bar_w, row_h - 2)
        if d.q1 is not None and d.q3 is not None:
            pdf.set_fill_color(230, 230, 230)
            pdf.rect(left + bar_w * d.q1 / d.weight, y + 0.5, max(bar_w * (d.q3 - d.q1) / d.weight, 0.3), row_h - 2, style="DF")
        if d.value is not None:
            pdf.set_fill_color(68, 114, 196)
            pdf.rect(left, y + 1.5, max(bar_w * min(d.value / d.weight, 1.0), 0.2), row_h - 4, style="F")
        if d.median is not None:
            pdf.set_draw_color(192, 0, 0)
            pdf.set_line_width(0.6)
            mx = left + bar_w * min(d.median / d.weight, 1.0)
            pdf.line(mx, y, mx, y + row_h - 1)
            pdf.set_line_width(0.2)
        pdf.set_xy(left + bar_w + 2, y)
        pdf.cell(14, row_h - 1, f"{_fmt(d.value, 1)} / {d.weight:g}")
        y += row_h
    pdf.set_draw_color(0, 0, 0)
    pdf.set_xy(x0 + label_w + 2, y)
    pdf.set_font("cjk", size=7)
    pdf.cell(0, 4, _t("legend", lang), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _toc(lang: str) -> Callable:
    def render(pdf, outline) -> None:
        pdf.set_x(pdf.l_margin)
        pdf.set_font("cjk", size=15)
        pdf.cell(0, 10, _t("booklet", lang), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=11)
        pdf.cell(0, 8, _t("contents", lang), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=9)
        for i, sec in enumerate(outline, 1):
            link = pdf.add_link(page=sec.page_number)
            pdf.cell(150, 5.2, f"{i}. {sec.name}", link=link)
            pdf.cell(0, 5.2, str(sec.page_number), align="R", link=link, new_x="LMARGIN", new_y="NEXT")
    return render


def toc_pages(n: int) -> int:
    """Pages the table of contents takes: a title, then about 44 firms a page."""
    return max(1, -(-(n + 4) // 44))


def write_booklet(reports: list[EnterpriseReport], info: RoundInfo, path: Path) -> WriteOutcome:
    """All reports in one PDF: a table of contents (with links and bookmarks), then one report per firm."""
    pdf = _new_pdf(info)
    pdf.add_page()  # the table of contents fills this page (and more when needed)
    if reports:  # the page after the contents (opened by the placeholder) is the first firm's
        pdf.firm = f"{reports[0].name}  {reports[0].code}"
    pdf.insert_toc_placeholder(_toc(info.lang), pages=toc_pages(len(reports)), allow_extra_pages=True)
    for i, rep in enumerate(reports):
        render_report(pdf, rep, info, new_page=i > 0)
    return _save(pdf, path)


def write_each(reports: list[EnterpriseReport], info: RoundInfo, folder: Path) -> list[WriteOutcome]:
    """One PDF per firm in ``folder``, named ``<code>_<name>.pdf``."""
    outcomes = []
    for rep in reports:
        pdf = _new_pdf(info)
        render_report(pdf, rep, info, section=False)
        outcomes.append(_save(pdf, folder / file_name(rep)))
    return outcomes


def file_name(rep: EnterpriseReport) -> str:
    safe = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", rep.name).strip(" .")[:60]
    return f"{rep.code}_{safe}.pdf" if safe else f"{rep.code}.pdf"


def _save(pdf, path: Path) -> WriteOutcome:
    log = logging.getLogger("fpdf")
    level = log.level
    log.setLevel(logging.ERROR)  # its note on missing glyphs: ccredit report names them once (missing_glyphs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = pdf.output()
    finally:
        log.setLevel(level)
    with atomic_path(path) as (tmp, outcome):
        Path(tmp).write_bytes(bytes(data))
    return outcome[0]  # filled when the file is in place
