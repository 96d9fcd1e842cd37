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


# -- printing untrusted text (file, sheet and round names, cell values) ---------------------------
#
# A name can carry terminal escape sequences (set the window title, clear the screen, move the
# cursor to forge output) or a newline that forges a log line. Everything ccredit prints or logs
# passes through ``printable``/``one_line``; workbook cells keep the text (outputs/excel.py drops
# only what the file format forbids).

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides/isolates
# that make text display in another order than it reads.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match) -> str:
    ch = m.group(0)
    return _NAMED.get(ch) or f"\\u{ord(ch):04x}"


def printable(value: object) -> str:
    """``value`` as text safe for a terminal: control characters become visible escapes (``\\u001b``).

    Tab and newline are kept (messages may span lines); use ``one_line`` for a single field.
    """
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def one_line(value: object) -> str:
    """Like ``printable`` but newline, CR and tab are escaped too: one record, one line."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE_LINE.sub(_escape, text) if _UNSAFE_LINE.search(text) else text


def cut(value: object, limit: int) -> str:
    """At most ``limit`` characters of ``value``, with the full length said when cut."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        from cluster_credit_cli.i18n import say  # the run's language, one at a time

        text = text[:limit] + say(f"…（共 {len(text):,} 字符）", f"… ({len(text):,} characters)")
    return text


def excerpt(value: object, limit: int = 60) -> str:
    """At most ``limit`` characters of ``value`` on one line, with the full length when cut."""
    return one_line(cut(value, limit))


# On a terminal the program's own colours and its progress line (rich) must pass: SGR colour
# codes, erase-in-line, cursor up and show/hide, and CR. Names were escaped before they got there;
# this is the last line of defence for anything that was not.
_TERMINAL_OK = re.compile(r"\x1b\[[0-9;]*m|\x1b\[[0-9]*[AK]|\x1b\[\?25[hl]|\r")


def escape_stream_text(text: str, terminal: bool) -> str:
    if not _UNSAFE.search(text):
        return text
    if not terminal:
        return _UNSAFE.sub(_escape, text)
    out, pos = [], 0
    for m in _TERMINAL_OK.finditer(text):
        out.append(_UNSAFE.sub(_escape, text[pos:m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_UNSAFE.sub(_escape, text[pos:]))
    return "".join(out)


class EscapingStream:
    """A text stream wrapper that escapes control characters in everything written through it."""

    def __init__(self, stream):
        self._stream = stream
        try:
            self._terminal = bool(stream.isatty())
        except (AttributeError, ValueError):
            self._terminal = False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError("EscapingStream takes text")
        self._stream.write(escape_stream_text(text, self._terminal))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._stream, name)
