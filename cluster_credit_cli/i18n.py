"""User-facing labels: Chinese by default, English with ``--lang en``.

Only generic words live here (sheet names, column headings, status words). Indicator names,
field labels and source names come from the model file, which carries both languages.
"""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    # sheets
    "sheet.ratings": ("评级结果", "Ratings"),
    "sheet.grades": ("等级分布", "Grade distribution"),
    "sheet.indicators": ("指标明细", "Indicators"),
    "sheet.model": ("评价模型", "Model"),
    "sheet.provenance": ("数据来源", "Provenance"),
    "sheet.conflicts": ("数据冲突", "Conflicts"),
    "sheet.missing": ("缺失材料", "Missing materials"),
    "sheet.problems": ("问题清单", "Problems"),
    "sheet.run": ("运行信息", "Run information"),
    "sheet.feedback": ("材料审核反馈", "Materials feedback"),
    # columns
    "rank": ("排名", "Rank"), "code": ("统一社会信用代码", "Credit code"), "name": ("企业名称", "Name"),
    "total": ("总分", "Total"), "base": ("基础分", "Base"), "bonus": ("加分", "Bonus"), "grade": ("等级", "Grade"),
    "status": ("状态", "Status"), "reasons": ("原因", "Reasons"), "requested": ("申请金额", "Requested"),
    "quota": ("建议额度", "Suggested quota"), "missing": ("缺失材料", "Missing"), "count": ("企业数", "Enterprises"),
    "indicator": ("指标", "Indicator"), "key": ("代码", "Key"), "input": ("输入值", "Input value"),
    "score": ("得分(0-100)", "Score (0-100)"), "weight": ("有效权重", "Effective weight"),
    "points": ("加权得分", "Points"), "source": ("来源", "Source"), "file": ("文件", "File"),
    "sheet": ("工作表", "Sheet"), "row": ("行", "Row"), "column": ("列", "Column"), "field": ("字段", "Field"),
    "value": ("值", "Value"), "used": ("采用", "Used"), "severity": ("级别", "Severity"),
    "problem_code": ("问题代码", "Code"), "message": ("说明", "Message"), "level": ("层级", "Level"),
    "printed_weight": ("印刷权重", "Printed weight"), "parent": ("上级", "Parent"), "rule": ("评分规则", "Rule"),
    "item": ("项目", "Item"), "content": ("内容", "Content"), "sha256": ("SHA-256", "SHA-256"),
    "rows": ("行数", "Rows"), "kind": ("数据类别", "Source kind"), "action": ("需补充或更正", "To do"),
    "yes": ("是", "yes"), "no": ("否", "no"), "error": ("错误", "error"), "warning": ("警告", "warning"),
    "eligible": ("合格", "eligible"), "graded": ("已评级", "graded"), "not_graded": ("未评级", "not graded"),
    # run information
    "run.tool": ("工具版本", "Tool version"), "run.as_of": ("评价基准日", "As-of date"),
    "run.model": ("评价模型", "Model"), "run.config": ("模型文件", "Model file"),
    "run.config_hash": ("模型哈希", "Model hash"), "run.created": ("生成时间", "Created"),
    "run.capacity": ("资金池授信容量", "Pool capacity"), "run.allocated": ("已分配额度", "Allocated"),
    "run.remaining": ("剩余额度", "Remaining"), "run.warning": ("模型警告", "Model warning"),
    "run.input": ("输入文件", "Input file"),
    "run.ignored": ("未识别的列（未读取）", "Columns not recognised (not read)"),
    "title.ratings": ("综合信用评级结果", "Comprehensive credit ratings"),
    "chart.grades": ("等级分布", "Grade distribution"),
}

STATUS: dict[str, tuple[str, str]] = {
    "": ("合格", "eligible"),
    "ineligible:age": ("经营不足规定年限", "in operation too short"),
    "ineligible:town": ("非本镇注册", "not registered in the town"),
    "ineligible:account": ("无合作银行结算账户", "no settlement account at the partner bank"),
    "veto:government": ("政府否决", "government veto"),
    "veto:association": ("协会否决", "association veto"),
    "veto:bank": ("银行否决", "bank veto"),
    "incomplete": ("材料不全", "incomplete"),
    "conflict": ("申报记录冲突", "conflicting applicant rows"),
}

def t(key: str, lang: str) -> str:
    zh, en = LABELS[key]
    return en if lang == "en" else zh


def status_words(codes: list[str], lang: str) -> str:
    if not codes:
        zh, en = STATUS[""]
        return en if lang == "en" else zh
    out = []
    for c in codes:
        zh, en = STATUS.get(c, (c, c))
        out.append(en if lang == "en" else zh)
    return "; ".join(out) if lang == "en" else "；".join(out)


# The language of messages built deep inside reading and merging. Set once per run by the
# pipeline (``use_lang``) so every layer can word its problems without passing ``lang`` around.
import contextlib as _contextlib  # noqa: E402
import contextvars as _contextvars  # noqa: E402

_LANG: _contextvars.ContextVar[str] = _contextvars.ContextVar("ccredit_lang", default="zh")


def say(zh: str, en: str) -> str:
    """The message in the current run's language."""
    return en if _LANG.get() == "en" else zh


def current_lang() -> str:
    return _LANG.get()


@_contextlib.contextmanager
def use_lang(lang: str):
    token = _LANG.set(lang)
    try:
        yield
    finally:
        _LANG.reset(token)


def diverted_note(outcome) -> str:
    """The note of an output that could not replace its target (``atomic.WriteOutcome``), in the
    run's language: atomic sits beside i18n and words it in English only."""
    if not getattr(outcome, "diverted", False):
        return ""
    return say(f"{outcome.requested.name} 无法替换（可能正在其他程序中打开）；结果另存为 {outcome.written.name}",
               outcome.note)
