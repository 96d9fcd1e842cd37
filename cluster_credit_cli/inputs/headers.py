"""Headers that are almost a known one: a typo must never drop a column silently.

A header the model does not know is normally just kept in the provenance. But ``流动负责（万元）``
typed for ``流动负债（万元）`` would make every firm lack its current liabilities without a word,
so an unknown header that *resembles* a known header of the same source is a problem naming the
field it probably means. Resemblance, in the order tried:

* ``script``: the same header in traditional characters (流動負債), via OpenCC's t2s table;
* ``unit``: the header with its unit in brackets ``normalize_header`` does not strip
  (〔万元〕, 「万元」) or with no bracket at all (流动负债万元);
* ``order``: the same characters in another order (负债流动);
* ``typo``: one character different, missing or extra (two for headers of 8 or more characters).

The column is still not read: ccredit never guesses what a column means; the user renames it.
"""

from __future__ import annotations

import functools
import re

from cluster_credit_cli.text import _UNITS, normalize_header

# Brackets people use around units that normalize_header does not treat as brackets.
_OTHER_BRACKETS = re.compile(r"[〔「『〖﹝⦅｟]([^〕」』〗﹞⦆｠]*)[〕」』〗﹞⦆｠]")


@functools.lru_cache(maxsize=1)
def _t2s():
    try:
        import opencc
    except ImportError:  # pragma: no cover - a declared dependency; without it only this check is lost
        return None
    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    conv = _t2s()
    return conv.convert(text) if conv is not None and text else text


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance (insert, delete, substitute), stopping early above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def _allowed_typos(text: str) -> int:
    n = len(text)
    return 0 if n < 3 else 1 if n < 8 else 2


def resembles(header: object, index: dict[str, str]) -> tuple[str, str] | None:
    """(field key, how) when an unknown header looks like one of ``index`` (normalised name -> key).

    ``how`` is one of ``script``, ``unit``, ``order``, ``typo``; None when nothing is close.
    """
    raw = str(header if header is not None else "")
    norm = normalize_header(raw)
    if not norm:
        return None
    simp = normalize_header(simplified(raw))
    if simp != norm and simp in index:
        return index[simp], "script"
    for candidate in {norm, simp}:
        unbracketed = normalize_header(_OTHER_BRACKETS.sub("", simplified(raw)))
        if unbracketed in index and unbracketed != candidate:
            return index[unbracketed], "unit"
        for unit in _UNITS:
            if candidate.endswith(unit.lower()) and candidate[: -len(unit)] in index:
                return index[candidate[: -len(unit)]], "unit"
    for candidate in dict.fromkeys((norm, simp)):
        if len(candidate) >= 2:
            key = sorted(candidate)
            for name, field in index.items():
                if len(name) == len(candidate) and sorted(name) == key:
                    return field, "order"
        allowed = _allowed_typos(candidate)
        if allowed:
            best = None
            for name, field in index.items():
                if _allowed_typos(name) == 0:
                    continue
                d = edit_distance(candidate, name, allowed)
                if d <= min(allowed, _allowed_typos(name)) and (best is None or d < best[0]):
                    best = (d, field)
            if best is not None:
                return best[1], "typo"
    return None
