"""Text normalisation shared by every reader: headers, codes, categorical answers.

Real files come with full-width characters, stray spaces, brackets in two widths and unit
suffixes; every comparison in ccredit goes through these functions so that a header typed
``申请贷款金额（万元）`` and the canonical ``申请贷款金额`` are the same column.
"""

from __future__ import annotations

import re
import unicodedata

# Units people append to headers, with or without brackets ("年销售收入（万元）", "企业年龄/年").
_UNITS = (
    "万元", "亿元", "千元", "元", "人民币", "%", "％", "百分比", "年", "月", "天", "日", "人", "个",
    "次", "项", "家", "份", "万", "亿", "是/否", "是否", "yuan", "cny", "rmb", "days", "years",
    "persons", "y/n", "yes/no",
)
_BRACKETS = re.compile(r"[\(\[\{<（【［｛〈《][^\)\]\}>）】］｝〉》]*[\)\]\}>）】］｝〉》]")
_SPACES = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")
_UNIT_SUFFIX = re.compile(
    r"(?:[/\\_\-—:：]|单位[:：]?)\s*(?:" + "|".join(re.escape(u) for u in _UNITS) + r")$",
    re.IGNORECASE,
)


def halfwidth(value: str) -> str:
    """Full-width letters, digits, punctuation and the ideographic space become ASCII (NFKC)."""
    return unicodedata.normalize("NFKC", value)


def clean_text(value: object) -> str:
    """A cell as text: NFKC, trimmed, inner whitespace runs collapsed to one space."""
    if value is None:
        return ""
    text = halfwidth(str(value))
    return _SPACES.sub(" ", text).strip()


def normalize_header(value: object) -> str:
    """Key used to compare headers and labels.

    NFKC, lower case, all whitespace removed, bracketed parts removed (they hold units or hints:
    ``(万元)``, ``（是/否）``, ``(%)``), and a trailing unit after a slash removed (``企业年龄/年``).

    >>> normalize_header(" 申请贷款金额（万元） ")
    '申请贷款金额'
    >>> normalize_header("合作银行结算账户(是/否)")
    '合作银行结算账户'
    >>> normalize_header("企业年龄/年")
    '企业年龄'
    """
    text = halfwidth(str(value if value is not None else "")).lower()
    text = _SPACES.sub("", text)
    stripped = _BRACKETS.sub("", text)
    # A header that is nothing but a bracket ("(备注)") keeps its content.
    text = stripped or text.strip("()[]{}<>")
    previous = None
    while previous != text:
        previous = text
        text = _UNIT_SUFFIX.sub("", text)
    return text.strip("_-:：/")


def normalize_choice(value: object) -> str:
    """Key used to compare categorical answers (是/否, 优/良, 会长单位 ...): NFKC, no spaces, lower."""
    return _SPACES.sub("", halfwidth(str(value if value is not None else ""))).lower()
