"""The short terminal summary of a round (rich): files used, the problems found, who was not
graded and why, where the results were written — and last, so they stay on screen, the grade
counts and the pool.

Written for an 80-column terminal: a credit code (18 characters) always stays on one line,
each problem or firm is a short block rather than a narrow table cell, and long lists are cut
after the first few with "… 另有 K 家/条，见工作簿" (the workbook has them all).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cluster_credit_cli.i18n import diverted_note
from cluster_credit_cli.i18n import status_words, t
from cluster_credit_cli.rating.pipeline import RoundResult

MAX_PROBLEMS_SHOWN = 20
MAX_FIRMS_SHOWN = 15


def _console(stderr: bool = False) -> Console:
    return Console(highlight=False, soft_wrap=False, stderr=stderr)


def _files(console: Console, result: RoundResult, sources: dict[str, Path]) -> None:
    en = result.lang == "en"
    table = Table(title="Files used" if en else "使用的文件", title_justify="left")
    table.add_column(t("kind", result.lang))
    table.add_column(t("file", result.lang), overflow="fold")
    table.add_column(t("rows", result.lang), justify="right")
    by_kind = {i["kind"]: i for i in result.inputs}
    for kind, src in result.model.sources.items():
        info = by_kind.get(kind)
        if info:
            state = str(info["rows"]) if info["used"] else ("unreadable" if en else "无法读取")
            table.add_row(src.title(result.lang), escape(info["file"]), state)
        else:
            table.add_row(src.title(result.lang), "—" + (" (not found)" if en else "（未找到）"), "")
    console.print(table)
    for info in result.inputs:
        if info.get("ignored_columns"):
            sep = ": " if en else "："
            console.print(escape(f"{t('run.ignored', result.lang)}{sep}{info['file']}{sep}"
                                 f"{(', ' if en else '、').join(info['ignored_columns'])}"))


def _more(console: Console, rest: int, lang: str, what: str) -> None:
    if rest <= 0:
        return
    if what == "problems":
        console.print(f"… {rest} more: see the Problems sheet of the workbook" if lang == "en"
                      else f"… 另有 {rest} 条，见工作簿“问题清单”")
    else:
        console.print(f"… {rest} more: see the workbook" if lang == "en" else f"… 另有 {rest} 家，见工作簿")


def _problems(console: Console, result: RoundResult) -> None:
    lang = result.lang
    en = lang == "en"
    if not result.problems:
        console.print("No problems found in the inputs." if en else "输入文件未发现问题。")
        return
    console.print(f"[bold]Problems found in the inputs: {len(result.problems)}[/]" if en
                  else f"[bold]输入文件中发现的问题：{len(result.problems)} 条[/]")
    for p in list(result.problems)[:MAX_PROBLEMS_SHOWN]:
        where = [p.file, p.sheet or ""]
        if p.row:
            where.append(f"row {p.row}" if en else f"第 {p.row} 行")
        if p.column:
            where.append(p.column)
        level = "" if p.severity == "error" else (" (warning)" if en else "（警告）")
        console.print(escape(f"• {' / '.join(w for w in where if w)}{level}"))
        _indented(console, p.message)
    _more(console, len(result.problems) - MAX_PROBLEMS_SHOWN, lang, "problems")


def _not_graded(console: Console, result: RoundResult) -> None:
    lang = result.lang
    en = lang == "en"
    not_graded = result.ranked()
    not_graded = not_graded[~not_graded["graded"]]
    if not len(not_graded):
        return
    console.print(f"[bold]Not graded: {len(not_graded)}[/]" if en else f"[bold]未评级企业：{len(not_graded)} 家[/]")
    _firm_lines(console, not_graded, lang)


def _firm_lines(console: Console, firms, lang: str, state=None) -> None:
    en = lang == "en"
    sep = "; " if en else "；"
    for r in firms.head(MAX_FIRMS_SHOWN).to_dict("records"):
        console.print(escape(f"{r['code']}  {r['name']}"))
        why = list(r["reasons"]) + list(r["missing"])
        head = state(r) if state else status_words(r["status"], lang)
        _indented(console, head + (f"{': ' if en else '：'}{sep.join(why)}" if why else ""))
    _more(console, len(firms) - MAX_FIRMS_SHOWN, lang, "firms")


def _indented(console: Console, text: str) -> None:
    """A block of text indented by two columns, wrapped lines too.

    Wrapped here, not by rich: Chinese may break between any two characters, while rich breaks
    only at spaces and so splits "第 2 行" across lines and leaves short ragged lines.
    """
    for line in wrap_display(text, max(20, console.width - 4)):  # 2 indent + 2 for a closing mark
        console.print(Text("  " + line))


def wrap_display(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` terminal columns: ASCII words and numbers stay whole, a CJK
    character (two columns) may end a line, and a line does not start with closing punctuation."""
    import re

    from rich.cells import cell_len

    tokens = re.findall(r"[!-~]+|\s+|.", text)  # an ASCII word, a run of spaces, or one character
    lines, cur = [], ""
    for tok in tokens:
        if tok.isspace():
            if cur and cell_len(cur) < width:
                cur += " "
            continue
        if cell_len(cur) + cell_len(tok) > width and cur.strip():
            if tok in "，。；：、）”』」】,.;:)" and cell_len(cur) + cell_len(tok) <= width + 2:
                cur += tok  # keep closing punctuation with its text (a little past the edge)
                continue
            lines.append(cur.rstrip())
            cur = ""
        cur += tok
    if cur.strip():
        lines.append(cur.rstrip())
    return lines or [""]


def _written(console: Console, outcomes, lang: str) -> None:
    for o in outcomes:
        if o is None:
            continue
        console.print(escape(("Written: " if lang == "en" else "已写入：") + str(o.written)))
        if o.diverted:
            console.print(f"[bold red]{escape(diverted_note(o))}[/]")
        for note in getattr(o, "truncated", ()) if o is not None else ():
            console.print(("[bold red]Not all shown: [/]" if lang == "en" else "[bold red]未全部写入：[/]") + escape(note))


def _grades(console: Console, result: RoundResult) -> None:
    lang = result.lang
    en = lang == "en"
    counts = result.grade_counts()
    grades = Table(title="Grades" if en else "评级结果", title_justify="left")
    grades.add_column(t("grade", lang))
    grades.add_column(t("count", lang), justify="right")
    for g, c in counts.items():
        grades.add_row(g, str(c))
    grades.add_row(t("not_graded", lang), str(int((~result.table["graded"]).sum())))
    console.print(grades)
    pool = result.pool()
    unit_en = result.model.pool.get("unit_en") or pool["unit"]
    console.print((f"Pool: {pool['allocated']:,.0f} of {pool['capacity']:,.0f} allocated ({unit_en})"
                   if en else f"资金池：已分配 {pool['allocated']:,.0f} / {pool['capacity']:,.0f} {pool['unit']}"))


def print_summary(result: RoundResult, sources: dict[str, Path], outcomes, recorded: str | None = None,
                  stderr: bool = False) -> None:
    """The summary of ``score``; ``recorded`` is the register line; ``stderr`` when stdout carries JSON."""
    console = _console(stderr)
    lang = result.lang
    en = lang == "en"
    _files(console, result, sources)
    for w in result.warnings:
        for line in wrap_display(("Model warning: " if en else "模型警告：") + w, max(20, console.width - 2)):
            console.print(Text(line))
    _problems(console, result)
    _not_graded(console, result)
    _written(console, outcomes, lang)
    if recorded:
        console.print(escape(recorded))
    _grades(console, result)


def print_check_summary(result: RoundResult, sources: dict[str, Path], outcomes, stderr: bool = False) -> None:
    """The summary of ``check``: it lists exactly the firms it counts as needing work, with what to do."""
    console = _console(stderr)
    lang = result.lang
    en = lang == "en"
    _files(console, result, sources)
    _problems(console, result)
    todo = result.table[result.table["todo"].map(len) > 0].sort_values("code")
    if len(todo):
        console.print(f"[bold]To send back or check: {len(todo)}[/]" if en
                      else f"[bold]需要补正或核对的企业：{len(todo)} 家[/]")
        def state(r):
            shown = [s for s in r["status"] if s in ("incomplete", "conflict")]
            return status_words(shown, lang) if shown else ("to check" if en else "需核对")

        _firm_lines(console, todo.assign(reasons=todo["todo"].map(lambda _: []), missing=todo["todo"]), lang, state)
    _written(console, outcomes, lang)
    console.print((f"{len(result.table)} applicants, {len(todo)} to complete, correct or check"
                   if en else f"申报企业 {len(result.table)} 家，其中 {len(todo)} 家需要补正或核对"))
