"""What ``pool risk`` shows: the terminal summary (80 columns, Chinese by default) and the workbook
(the loss distribution with its charts, the risk figures, contributions, scenarios, parameters)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cluster_credit_cli.atomic import WriteOutcome
from cluster_credit_cli.outputs.excel import Column, Workbook, display_width, write_table
from cluster_credit_cli.pool.risk import ALPHAS
from cluster_credit_cli.pool.risk_analysis import RiskResult

L = {
    "title": ("资金池风险", "Pool risk"), "overview": ("概览", "Overview"), "dist": ("损失分布", "Loss distribution"),
    "contrib": ("风险贡献", "Contributions"), "scen": ("压力情景", "Scenarios"), "params": ("参数", "Parameters"),
    "about": ("说明", "About"), "item": ("项目", "Item"), "value": ("数值", "Value"),
    "as_of": ("基准日（快照）", "As of (snapshot)"), "horizon": ("期限（月）", "Horizon (months)"),
    "loans": ("在贷笔数", "Live loans"), "borrowers": ("借款企业", "Borrowers"), "ead": ("违约风险敞口", "Exposure at default"),
    "el": ("预期损失", "Expected loss"), "sd": ("损失标准差", "Standard deviation"), "fund": ("资金池余额", "Fund balance"),
    "p_exceed": ("损失超过资金池余额的概率", "P(loss > fund balance)"), "share": ("资金池承担比例", "Guarantee share"),
    "var": ("在险价值 VaR", "Value at risk"), "es": ("预期短缺 ES", "Expected shortfall"),
    "fund_for": ("所需资金池（不被击穿的概率 {p}）", "Fund needed (holds with probability {p})"),
    "gap": ("尚缺（负数为富余）", "Shortfall (negative: to spare)"), "method": ("方法", "Method"),
    "mc": ("蒙特卡洛核对", "Monte Carlo check"), "from": ("损失自", "Loss from"), "to": ("损失至", "Loss to"),
    "prob": ("概率", "Probability"), "exceed": ("超过该损失的概率", "P(loss > upper bound)"),
    "code": ("统一社会信用代码", "Credit code"), "name": ("企业名称", "Name"), "grade": ("放款时等级", "Grade at rating"),
    "sector": ("细分行业", "Sub-sector"), "outstanding": ("在贷余额", "Outstanding"), "undrawn": ("未用额度", "Undrawn quota"),
    "pd": ("违约概率 PD", "PD"), "lgd": ("违约损失率 LGD", "LGD"), "rho": ("资产相关性 ρ", "Asset correlation"),
    "contribution": ("对 ES99% 的贡献", "Contribution to ES 99%"), "contribution_share": ("贡献占比", "Share of ES"),
    "in_default": ("已违约", "In default"), "scenario": ("情景", "Scenario"), "detail": ("设定", "Settings"),
    "var99": ("VaR 99%", "VaR 99%"), "es99": ("ES 99%", "ES 99%"), "table_pd": ("配置表 PD", "Table PD"),
    "obs_loans": ("有结果的贷款", "Loans with outcome"), "defaults": ("违约", "Defaults"), "used_pd": ("采用 PD", "PD used"),
    "source": ("来源", "Source"), "prob_axis": ("概率", "Probability"), "loss_axis": ("损失", "Loss"),
    "exceed_chart": ("损失超过 x 的概率（对数刻度）", "P(loss > x) (log scale)"), "fund_line": ("资金池余额", "Fund balance"),
    "yes": ("是", "yes"), "no": ("否", "no"), "base": ("基准", "Base case"),
}
SOURCES = {"table": ("配置表", "table"), "history": ("登记簿历史（向配置表收缩）", "register history, shrunk to the table"),
           "override": ("命令行 --pd", "command line --pd"), "config": ("配置", "config"),
           "override_lgd": ("命令行 --lgd", "command line --lgd")}


def t(key: str, lang: str) -> str:
    zh, en = L[key]
    return en if lang == "en" else zh


def _src(key: str, lang: str) -> str:
    zh, en = SOURCES.get(key, (key, key))
    return en if lang == "en" else zh


def pct(v: float) -> str:
    """A probability for people: 0.85%, 0.0032%, < 0.0001%."""
    if v <= 0:
        return "0%"
    if v < 1e-6:
        return "< 0.0001%"
    x = v * 100
    if x >= 10:
        return f"{x:.1f}%"
    if x >= 0.1:
        return f"{x:.2f}%"
    digits = 1 - int(np.floor(np.log10(x)))
    return f"{x:.{digits}f}%"


def _amt(v: float) -> str:
    return f"{v:,.2f}"


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - display_width(text), 0)


def _lpad(text: str, width: int) -> str:
    return " " * max(width - display_width(text), 0) + text


def _fit(text: str, width: int) -> str:
    out = ""
    for ch in text:
        if display_width(out + ch) > width - 1:
            return out + "…"
        out += ch
    return out


def lgd_text(r: RiskResult, lang: str) -> str:
    e = r.lgd
    if lang == "en":
        base = {"history": f"1 − recovery rate of {e.closed_cases} closed cases",
                "override": "--lgd", "config": f"config; {e.closed_cases} closed cases (too few to estimate)"}[e.source]
    else:
        base = {"history": f"1 − 已结案 {e.closed_cases} 笔代偿的回收率", "override": "命令行 --lgd",
                "config": f"配置值；已结案代偿 {e.closed_cases} 笔，不足以估计"}[e.source]
    return f"{e.used:g} ({base})" if lang == "en" else f"{e.used:g}（{base}）"


def summary_lines(r: RiskResult, lang: str) -> list[str]:
    en = lang == "en"
    u = r.unit
    b = r.borrowers
    out = []
    out.append(f"Pool risk at {r.as_of}, {r.horizon_months}-month horizon (amounts in {u})" if en else
               f"资金池风险  {r.as_of}，期限 {r.horizon_months} 个月（金额单位：{u}）")
    ead = float(b["ead"].sum()) if len(b) else 0.0
    out.append(f"{r.loans} live loans, {len(b)} borrowers; exposure at default {_amt(ead)}; fund {_amt(r.fund_balance)}"
               if en else f"在贷 {r.loans} 笔、{len(b)} 户；违约风险敞口 {_amt(ead)}；资金池余额 {_amt(r.fund_balance)}")
    if b.empty:
        out.append("No live loans: nothing can be lost." if en else "没有在贷贷款，不会发生损失。")
        return out
    out.append("")
    out.append((f"Expected loss {_amt(r.expected_loss)}   standard deviation {_amt(r.sd)}") if en else
               f"预期损失 {_amt(r.expected_loss)}    损失标准差 {_amt(r.sd)}")
    head = _pad("", 10) + "".join(_lpad(f"{a:.1%}".replace(".0%", "%"), 14) for a in ALPHAS)
    out.append(head)
    out.append(_pad("VaR", 10) + "".join(_lpad(_amt(r.var[a]), 14) for a in ALPHAS))
    out.append(_pad("ES", 10) + "".join(_lpad(_amt(r.es[a]), 14) for a in ALPHAS))
    out.append("")
    out.append(f"P(loss > fund {_amt(r.fund_balance)}) = {pct(r.p_exceed_fund)}" if en else
               f"损失超过资金池余额 {_amt(r.fund_balance)} 的概率：{pct(r.p_exceed_fund)}")
    worst = float((b["ead"] * b["lgd"]).sum()) * r.guarantee_share
    if worst <= r.fund_balance:
        out.append(f"  (even if every borrower defaulted, the loss {_amt(worst)} would not exceed the fund)" if en
                   else f"  （即使所有企业全部违约，损失 {_amt(worst)} 也不超过资金池余额）")
    if r.monte_carlo is not None:
        mc = r.monte_carlo
        out.append(f"  Monte Carlo check: {pct(mc.p_exceed)}, 99% interval [{pct(mc.ci[0])}, {pct(mc.ci[1])}]"
                   if en else f"  蒙特卡洛核对：{pct(mc.p_exceed)}，99% 置信区间 [{pct(mc.ci[0])}, {pct(mc.ci[1])}]")
        out.append(f"  ({mc.n:,} draws, seed {mc.seed}; expected loss {_amt(mc.mean)})" if en else
                   f"  （{mc.n:,} 次模拟，种子 {mc.seed}；预期损失 {_amt(mc.mean)}）")
    for a, need in r.fund_for.items():
        gap = need - r.fund_balance
        p = f"{a:.1%}".replace(".0%", "%")
        if en:
            word = f"{_amt(gap)} short" if gap > 0 else "enough"
            out.append(f"Fund needed to hold with probability {p}: {_amt(need)} ({word})")
        else:
            word = f"尚缺 {_amt(gap)}" if gap > 0 else "现有余额足够"
            out.append(f"不被击穿的概率达到 {p} 所需资金池：{_amt(need)}（{word}）")
    out.append("")
    out.append("Largest contributions to ES 99%:" if en else "对 ES 99% 贡献最大的企业：")
    es99 = r.es[0.99]
    for row in b.head(5).itertuples():
        share = row.es_contribution / es99 if es99 > 0 else 0.0
        name = _fit(str(row.name or row.code), 30)
        out.append(f"  {_pad(name, 30)} {_lpad(str(row.grade or '—'), 4)} {_lpad(_amt(row.es_contribution), 12)}"
                   f" {_lpad(f'{share:.0%}', 5)}")
    if r.scenarios:
        out.append("")
        out.append("Scenarios: expected loss, P(loss > fund)" if en else "压力情景：预期损失、击穿概率")
        out.append(f"  {_pad(_fit(t('base', lang), 44), 44)} {_lpad(_amt(r.expected_loss), 12)} "
                   f"{_lpad(pct(r.p_exceed_fund), 10)}")
        for s in r.scenarios:
            name = _fit(s.name_en if en and s.name_en else s.name, 44)
            out.append(f"  {_pad(name, 44)} {_lpad(_amt(s.expected_loss), 12)} {_lpad(pct(s.p_exceed_fund), 10)}")
    out.append("")
    pds = ", ".join(f"{g} {e.used:.2%}" for g, e in r.pds.items())
    sources = {e.source for e in r.pds.values()}
    src = "/".join(_src(s, lang) for s in sorted(sources))
    out.append(f"PD ({src}): {pds}" if en else f"违约概率（{src}）：{pds}")
    out.append(f"LGD {lgd_text(r, lang)}; CCF {r.ccf:g}" if en else f"违约损失率 {lgd_text(r, lang)}；CCF {r.ccf:g}")
    rho = r.borrowers["rho"]
    basel = r.rho_text.startswith("Basel")
    out.append(f"Correlation {rho.min():.3f}–{rho.max():.3f} ({'Basel corporate/SME formula' if basel else r.rho_text})"
               if en else
               f"资产相关性 {rho.min():.3f}–{rho.max():.3f}（{'Basel 公司/中小企业公式' if basel else r.rho_text}）")
    if r.dist is not None and r.dist.sectors is not None:
        n_sec = len(r.dist.sectors.groups)
        out.append(f"Sub-sector factors: {n_sec} sub-sectors, each with its own factor carrying "
                   f"{r.sector_share:.0%} of the correlation" if en else
                   f"细分行业因子：{n_sec} 个细分行业，各有自身因子，占相关性的 {r.sector_share:.0%}")
    bad = int(r.borrowers["in_default"].sum())
    if bad:
        out.append(f"{bad} borrower(s) already in default count with PD 1." if en else
                   f"已违约企业 {bad} 户按违约概率 1 计。")
    unrated = [n for n in r.notes if n.startswith("unrated:")]
    if unrated:
        out.append(f"{len(unrated)} borrower(s) without a grade: PD of the worst grade." if en else
                   f"无评级企业 {len(unrated)} 户：按最差等级的违约概率计。")
    if r.dist is not None:
        d = r.dist
        out.append(f"Exact on a grid of {d.cells:,} steps of {d.unit:.4g} {u}; Gauss-Hermite order {d.order} "
                   f"over the factor." if en else
                   f"在 {d.cells:,} 格（每格 {d.unit:.4g} {u}）的损失网格上精确计算；因子积分：{d.order} 阶高斯–埃尔米特。")
    return [piece for line in out for piece in wrap(line)]


def wrap(line: str, width: int = 80) -> list[str]:
    """Break a line wider than ``width`` terminal columns (CJK counts two), after a comma or a space
    where one is near, continuing with two spaces of indent."""
    if display_width(line) <= width:
        return [line]
    out, cur = [], ""
    for ch in line:
        if display_width(cur + ch) > width:
            cut = max(cur.rfind(", "), cur.rfind("，"), cur.rfind("；"), cur.rfind("; "), cur.rfind(" "))
            if cut > len(cur) // 2:
                head, cur = cur[: cut + 1].rstrip(), cur[cut + 1:].lstrip()
            else:
                head, cur = cur, ""
            out.append(head)
            cur = "  " + cur
        cur += ch
    if cur.strip():
        out.append(cur)
    return out


# -- workbook --------------------------------------------------------------------------------------

def distribution_bins(r: RiskResult, bins: int = 100) -> list[list[float]]:
    """The grid distribution in at most ``bins`` equal bins up to beyond the fund and ES 99.9 %."""
    d = r.dist
    hi = max(r.es[0.999], r.fund_balance) * 1.15
    top_steps = min(d.cells, int(np.ceil(hi / d.unit)) + 1)
    per = max(1, int(np.ceil(top_steps / bins)))
    rows = []
    pmf = d.pmf
    for start in range(0, top_steps, per):
        stop = min(start + per, top_steps)
        prob = float(pmf[start:stop].sum())
        upper = (stop - 1) * d.unit
        rows.append([start * d.unit, upper, prob, d.p_exceed(upper)])
    return rows


def write_risk_workbook(r: RiskResult, path: Path, lang: str) -> WriteOutcome:
    with Workbook(path) as wb:
        _overview(wb, r, lang)
        if r.dist is not None:
            _distribution(wb, r, lang)
        _contributions(wb, r, lang)
        _scenarios(wb, r, lang)
        _parameters(wb, r, lang)
        _about(wb, r, lang)
    return wb.close()


def _overview(wb: Workbook, r: RiskResult, lang: str) -> None:
    u = r.unit
    money, count, share = "#,##0.00", "0", "0.0%"
    rows: list[tuple[str, Any, str | None]] = [
        (t("as_of", lang), r.as_of.isoformat(), None), (t("horizon", lang), r.horizon_months, count),
        (t("loans", lang), r.loans, count), (t("borrowers", lang), int(len(r.borrowers)), count),
        (f"{t('ead', lang)}（{u}）", float(r.borrowers["ead"].sum()) if len(r.borrowers) else 0.0, money),
        (f"{t('fund', lang)}（{u}）", r.fund_balance, money), (t("share", lang), r.guarantee_share, share),
        (f"{t('el', lang)}（{u}）", r.expected_loss, money), (f"{t('sd', lang)}（{u}）", r.sd, money),
    ]
    for a in ALPHAS:
        rows.append((f"{t('var', lang)} {a:.1%}（{u}）".replace(".0%", "%"), r.var[a], money))
    for a in ALPHAS:
        rows.append((f"{t('es', lang)} {a:.1%}（{u}）".replace(".0%", "%"), r.es[a], money))
    rows.append((t("p_exceed", lang), pct(r.p_exceed_fund), None))
    for a, need in r.fund_for.items():
        rows.append((t("fund_for", lang).format(p=f"{a:.1%}".replace(".0%", "%")) + f"（{u}）", need, money))
        rows.append((f"  {t('gap', lang)}（{u}）", need - r.fund_balance, money))
    if r.monte_carlo is not None:
        mc = r.monte_carlo
        rows.append((t("mc", lang), f"{pct(mc.p_exceed)} [{pct(mc.ci[0])}, {pct(mc.ci[1])}] "
                                    f"(n = {mc.n:,}, seed {mc.seed})", None))
    rows.append((t("method", lang), r.method, None))
    # one number format per row: the value column mixes dates, counts, money and shares
    formats = [{"num_format": f} if f else {} for _, _, f in rows]
    write_table(wb, t("overview", lang), [Column(t("item", lang), width=44), Column(t("value", lang), width=26)],
                [[a, b] for a, b, _ in rows], row_formats=formats, title=f"{t('title', lang)} {r.as_of}",
                autofilter=False)


def _distribution(wb: Workbook, r: RiskResult, lang: str) -> None:
    u = r.unit
    rows = distribution_bins(r)
    cols = [Column(f"{t('from', lang)}（{u}）", "number", 2), Column(f"{t('to', lang)}（{u}）", "number", 2),
            Column(t("prob", lang), "number", 8), Column(t("exceed", lang), "number", 8)]
    name = t("dist", lang)
    sheet, n = write_table(wb, name, cols, rows)
    book = wb.book
    col = book.add_chart({"type": "column"})
    col.add_series({"name": t("prob", lang), "categories": [name[:31], 1, 1, n, 1],
                    "values": [name[:31], 1, 2, n, 2], "gap": 0})
    col.set_title({"name": f"{t('dist', lang)}（{r.horizon_months} {'months' if lang == 'en' else '个月'}）"})
    col.set_x_axis({"name": f"{t('loss_axis', lang)}（{u}）", "num_format": "#,##0"})
    col.set_y_axis({"name": t("prob_axis", lang), "num_format": "0.0%"})
    col.set_legend({"none": True})
    col.set_size({"width": 760, "height": 340})
    below = wb.insert_chart(sheet, 1, 6, col)
    # P(L > x) on a log axis, with the fund balance as a vertical line
    positive = [row for row in rows if row[3] > 0]
    ex = book.add_chart({"type": "scatter", "subtype": "straight"})
    if positive:
        ex.add_series({"name": t("exceed", lang), "categories": [name[:31], 1, 1, len(positive), 1],
                       "values": [name[:31], 1, 3, len(positive), 3], "marker": {"type": "none"}})
    lo = min(row[3] for row in positive) if positive else 1e-6
    sheet.write_string(0, 16, t("fund_line", lang))
    sheet.write_number(1, 16, r.fund_balance)
    sheet.write_number(2, 16, r.fund_balance)
    sheet.write_number(1, 17, max(lo, 1e-12))
    sheet.write_number(2, 17, 1.0)
    sheet.set_column(16, 17, None, None, {"hidden": True})  # the fund line's two points: chart data only
    ex.show_hidden_data()
    ex.add_series({"name": t("fund_line", lang), "categories": [name[:31], 1, 16, 2, 16],
                   "values": [name[:31], 1, 17, 2, 17], "line": {"color": "#C00000", "dash_type": "dash"},
                   "marker": {"type": "none"}})
    ex.set_title({"name": t("exceed_chart", lang)})
    ex.set_x_axis({"name": f"{t('loss_axis', lang)}（{u}）", "num_format": "#,##0", "min": 0})
    ex.set_y_axis({"name": t("prob_axis", lang), "log_base": 10, "num_format": "0E+00", "max": 1})
    ex.set_size({"width": 760, "height": 340})
    wb.insert_chart(sheet, below, 6, ex)


def _contributions(wb: Workbook, r: RiskResult, lang: str) -> None:
    u = r.unit
    es99 = r.es[0.99]
    cols = [Column(t("code", lang), width=22), Column(t("name", lang)), Column(t("grade", lang)),
            Column(t("sector", lang)), Column(f"{t('outstanding', lang)}（{u}）", "number", 2),
            Column(f"{t('undrawn', lang)}（{u}）", "number", 2), Column(f"EAD（{u}）", "number", 2),
            Column(t("pd", lang), "percent", 2), Column(t("lgd", lang), "number", 2), Column(t("rho", lang), "number", 3),
            Column(f"{t('el', lang)}（{u}）", "number", 2), Column(f"{t('contribution', lang)}（{u}）", "number", 2),
            Column(t("contribution_share", lang), "percent", 1), Column(t("in_default", lang))]
    rows = [[x.code, x.name, x.grade, x.sector, x.outstanding, x.undrawn, x.ead, x.pd, x.lgd, x.rho, x.el,
             x.es_contribution, (x.es_contribution / es99) if es99 > 0 else 0.0,
             t("yes", lang) if x.in_default else t("no", lang)] for x in r.borrowers.itertuples()]
    write_table(wb, t("contrib", lang), cols, rows)


def _scenarios(wb: Workbook, r: RiskResult, lang: str) -> None:
    u = r.unit
    cols = [Column(t("scenario", lang), width=40), Column(t("detail", lang), width=36),
            Column(f"{t('el', lang)}（{u}）", "number", 2), Column(t("p_exceed", lang), "percent", 4),
            Column(f"{t('var99', lang)}（{u}）", "number", 2), Column(f"{t('es99', lang)}（{u}）", "number", 2)]
    rows = [[t("base", lang), "", r.expected_loss, r.p_exceed_fund, r.var[0.99], r.es[0.99]]]
    rows += [[s.name_en if lang == "en" and s.name_en else s.name, s.detail if lang == "en" else s.detail_zh,
              s.expected_loss, s.p_exceed_fund,
              s.var99, s.es99] for s in r.scenarios]
    write_table(wb, t("scen", lang), cols, rows)


def _parameters(wb: Workbook, r: RiskResult, lang: str) -> None:
    cols = [Column(t("grade", lang)), Column(t("table_pd", lang), "percent", 3), Column(t("obs_loans", lang), "int"),
            Column(t("defaults", lang), "int"), Column(t("used_pd", lang), "percent", 3), Column(t("source", lang))]
    rows = [[g, e.table, e.loans, e.defaults, e.used, _src(e.source, lang)] for g, e in r.pds.items()]
    rows.append([])
    rows.append([t("lgd", lang), None, r.lgd.closed_cases, None, r.lgd.used, lgd_text(r, lang)])
    rows.append(["CCF", None, None, None, r.ccf, ""])
    rows.append([t("rho", lang), None, None, None, None, r.rho_text])
    write_table(wb, t("params", lang), cols, rows, autofilter=False)


ABOUT_ZH = [
    "模型：单因子高斯 Copula（Vasicek）。每户企业在期限内违约，当其资产价值 √ρ·Z + √(1−ρ)·ε 低于 Φ⁻¹(PD)；"
    "Z 是全体企业共同面对的经济/集群因子，ε 是企业自身因素。",
    "给定 Z，各企业是否违约相互独立：在每个 Z 节点上把各户损失（EAD × LGD × 资金池承担比例）逐户卷积，"
    "得到损失的精确分布（在损失网格上；超出网格顶端的概率单独记录，不丢失），再按高斯–埃尔米特权重混合。",
    "VaR：损失分布的分位数；ES：最坏的 (1−α) 情形的平均损失；风险贡献：各户对 ES 99% 的欧拉分配，合计等于 ES。",
    "“损失超过资金池余额的概率 = x%”：在上述假设下，未来一个期限内代偿损失超过目前资金池余额的可能性；"
    "它假定违约概率、违约损失率和相关性设得合理，期间不新增放款、不补充资金，也不计追偿回收的时间。",
    "违约概率表为示例数值，应以合作银行的主标尺或资金池自身的历史校准。",
]
ABOUT_EN = [
    "Model: one-factor Gaussian copula (Vasicek). A borrower defaults within the horizon when its asset value "
    "√ρ·Z + √(1−ρ)·ε falls below Φ⁻¹(PD); Z is the economy/cluster factor all borrowers share, ε the firm's own.",
    "Given Z, defaults are independent: at each node of Z the borrowers' losses (EAD × LGD × guarantee share) are "
    "convolved one by one into the exact loss distribution (on a loss grid; what lies beyond its top is kept in one "
    "overflow cell, never dropped), then mixed with the Gauss-Hermite weights.",
    "VaR: a quantile of the loss; ES: the mean loss over the worst (1 − α) of outcomes; contributions: each "
    "borrower's Euler share of ES 99 %, adding up to ES.",
    "'P(loss > fund) = x %': under these assumptions, the chance that the guarantees paid within the horizon exceed "
    "today's fund balance. It assumes the PDs, LGD and correlation are right, no new loans and no new money during "
    "the horizon, and ignores when recoveries come in.",
    "The PD table is illustrative: calibrate it to the partner bank's master scale or the pool's own history.",
]


def _about(wb: Workbook, r: RiskResult, lang: str) -> None:
    lines = ABOUT_EN if lang == "en" else ABOUT_ZH
    rows = [[line] for line in lines] + [[r.method]]
    sheet, _ = write_table(wb, t("about", lang), [Column(t("about", lang), width=120)], rows, autofilter=False)
    wrap = wb.fmt(text_wrap=True, valign="top")
    for i, row in enumerate(rows):
        sheet.write_string(1 + i, 0, row[0], wrap)
