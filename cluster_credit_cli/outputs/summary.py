"""The short terminal summary of a round (rich): files used, grades, who was not graded and why,
what was missing, the problems found, and where the results were written."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cluster_credit_cli.i18n import status_words, t
from cluster_credit_cli.rating.pipeline import RoundResult

MAX_PROBLEMS_SHOWN = 20


def _console() -> Console:
    # markup=False: names and messages come from the inputs; "[/]" in a firm's name must print as
    # is, not end (or crash) rich's markup. Styles are given as Text styles instead.
    return Console(highlight=False, soft_wrap=False, markup=False)


def _files(console: Console, result: RoundResult, sources: dict[str, Path]) -> None:
    en = result.lang == "en"
    table = Table(title="Files used" if en else "使用的文件", title_justify="left")
    table.add_column(t("kind", result.lang))
    table.add_column(t("file", result.lang))
    table.add_column(t("rows", result.lang), justify="right")
    by_kind = {i["kind"]: i for i in result.inputs}
    for kind, src in result.model.sources.items():
        info = by_kind.get(kind)
        if info:
            state = str(info["rows"]) if info["used"] else ("unreadable" if en else "无法读取")
            table.add_row(src.title(result.lang), info["file"], state)
        else:
            table.add_row(src.title(result.lang), "—" + (" (not found)" if en else "（未找到）"), "")
    console.print(table)


def _problems(console: Console, result: RoundResult) -> None:
    lang = result.lang
    if not result.problems:
        console.print("No problems found in the inputs." if lang == "en" else "输入文件未发现问题。")
        return
    table = Table(title=(f"Problems found in the inputs: {len(result.problems)}" if lang == "en"
                         else f"输入文件中发现的问题：{len(result.problems)} 条"), title_justify="left")
    for key in ("file", "sheet", "row", "column", "problem_code", "message"):
        table.add_column(t(key, lang), overflow="fold")
    for p in list(result.problems)[:MAX_PROBLEMS_SHOWN]:
        table.add_row(p.file, p.sheet or "", str(p.row or ""), p.column or "", p.code, p.message)
    console.print(table)
    rest = len(result.problems) - MAX_PROBLEMS_SHOWN
    if rest > 0:
        console.print(f"… {rest} more in the workbook's problems sheet" if lang == "en"
                      else f"…… 另有 {rest} 条，见工作簿“问题清单”")


def _written(console: Console, outcomes, lang: str) -> None:
    for o in outcomes:
        console.print(("Written: " if lang == "en" else "已写入：") + str(o.written))
        if o.diverted:
            console.print(Text(o.note, style="bold red"))
        for note in getattr(o, "truncated", ()):
            console.print(Text.assemble(("Not all shown: " if lang == "en" else "未全部写入：", "bold red"), note))


def print_summary(result: RoundResult, sources: dict[str, Path], outcomes) -> None:
    console = _console()
    lang = result.lang
    en = lang == "en"
    _files(console, result, sources)
    counts = result.grade_counts()
    grades = Table(title="Grades" if en else "评级结果", title_justify="left")
    grades.add_column(t("grade", lang))
    grades.add_column(t("count", lang), justify="right")
    for g, c in counts.items():
        grades.add_row(g, str(c))
    not_graded = result.table[~result.table["graded"]]
    grades.add_row(t("not_graded", lang), str(len(not_graded)))
    console.print(grades)
    if len(not_graded):
        table = Table(title="Not graded" if en else "未评级企业", title_justify="left")
        for key in ("code", "name", "status", "reasons"):
            table.add_column(t(key, lang), overflow="fold")
        for _, r in not_graded.iterrows():
            why = r["reasons"] + ([("missing: " if en else "缺：") + "、".join(r["missing"])] if r["missing"] else [])
            table.add_row(r["code"], str(r["name"]), status_words(r["status"], lang), "；".join(why))
        console.print(table)
    pool = result.pool()
    console.print((f"Pool: {pool['allocated']:,.0f} of {pool['capacity']:,.0f} {pool['unit']} allocated"
                   if en else f"资金池：已分配 {pool['allocated']:,.0f} / {pool['capacity']:,.0f} {pool['unit']}"))
    for w in result.warnings:
        console.print(Text.assemble(("Model warning: " if en else "模型警告：", "yellow"), w))
    _problems(console, result)
    _written(console, outcomes, lang)


def print_check_summary(result: RoundResult, sources: dict[str, Path], outcomes) -> None:
    console = _console()
    lang = result.lang
    _files(console, result, sources)
    todo = result.table[(result.table["missing"].map(len) > 0) | result.table["status"].map(lambda s: "conflict" in s)]
    console.print((f"{len(result.table)} applicants, {len(todo)} with missing or conflicting materials"
                   if lang == "en" else f"申报企业 {len(result.table)} 家，其中 {len(todo)} 家材料不全或有冲突"))
    _problems(console, result)
    _written(console, outcomes, lang)
