"""Identity of an enterprise: the unified social credit code (统一社会信用代码, GB 32100-2015).

Codes are normalised (NFKC so full-width characters become ASCII, spaces and dashes removed,
upper case) and their check digit validated with python-stdnum's ``cn.uscc``. An invalid code
is a row-level problem: that row is not merged. Names are compared after the same kind of
normalisation, so "广东某某模具有限公司 " and "广东某某模具有限公司" are the same name.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from stdnum.cn import uscc

from cluster_credit_cli.i18n import say
from cluster_credit_cli.text import halfwidth

_STRIP = re.compile(r"[\s\-—_·.]")


def normalize_code(value: object) -> str:
    if value is None:
        return ""
    return _STRIP.sub("", halfwidth(str(value))).upper()


_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(_ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_WELL_FORMED = re.compile(r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}")


def code_problem(code: str) -> str | None:
    """Why a normalised code is not a valid unified social credit code, or None if it is."""
    if not code:
        return "empty"
    # Fast path for the common valid code (the same test as stdnum's, without its per-character
    # cleaning, which a normalised code does not need); anything else gets stdnum's verdict.
    if _WELL_FORMED.fullmatch(code):
        total = sum(_VALUE[c] * w for c, w in zip(code, _WEIGHTS))
        if code[17] == _ALPHABET[(31 - total) % 31]:
            return None
    try:
        uscc.validate(code)
    except uscc.InvalidLength:
        return say(f"共 {len(code)} 位，统一社会信用代码应为 18 位", f"has {len(code)} characters, a unified social credit code has 18")
    except uscc.InvalidChecksum:
        digit = uscc.calc_check_digit(code[:17])
        return say(f"校验码错误（最后一位应为 {digit}）", f"check digit is wrong (the last character should be {digit})")
    except (uscc.InvalidFormat, uscc.InvalidComponent):
        return say("含有统一社会信用代码不允许的字符（I、O、S、V、Z 或符号）",
                   "contains characters not allowed in a unified social credit code (I, O, S, V, Z or symbols)")
    return None


def corrected_code(code: str) -> str | None:
    """The code with the check digit its first 17 characters call for, when only that digit is wrong."""
    if len(code) != 18 or not _WELL_FORMED.fullmatch(code[:17] + "0"):
        return None
    try:
        fixed = code[:17] + uscc.calc_check_digit(code[:17])
    except Exception:  # noqa: BLE001 - characters stdnum does not accept: no correction to offer
        return None
    return fixed if fixed != code else None


_LUT = np.full(256, 99, dtype=np.int64)
for _i, _c in enumerate(_ALPHABET):
    _LUT[ord(_c)] = _i


def _problems_of(codes: list[str]) -> dict[str, str | None]:
    """``code_problem`` of many distinct normalised codes; the well-formed ones (18 characters of
    the code alphabet, 8 digits first, as ``_WELL_FORMED``) and their check digits in array ops."""
    cand = [c for c in codes if len(c) == 18 and c.isascii()]
    out: dict[str, str | None] = {}
    if cand:
        vals = _LUT[np.frombuffer("".join(cand).encode("ascii"), dtype=np.uint8).reshape(-1, 18)]
        well = (vals[:, :8] < 10).all(axis=1) & (vals[:, 8:] < 31).all(axis=1)
        expected = (31 - (vals[:, :17] @ np.array(_WEIGHTS)) % 31) % 31
        out = dict.fromkeys(np.array(cand, dtype=object)[well & (vals[:, 17] == expected)].tolist())
    for c in set(codes).difference(out):
        out[c] = code_problem(c)
    return out


def normalize_codes(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised over unique values: (normalised codes, reason invalid or None)."""
    arr = values.to_numpy(dtype=object)
    if not len(arr):
        return values.map({}), values.map({})
    # Each distinct value once, spread back by its factor code (Series.map with a dict builds an
    # index of the dict first).
    idx, uniques = pd.factorize(arr, use_na_sentinel=True)
    uniques = uniques.tolist()
    missing = np.flatnonzero(idx < 0)
    if len(missing):  # None and NaN cells: each its own value (normalize_code(None) is "")
        idx = idx.copy()
        idx[missing] = len(uniques) + np.arange(len(missing))
        uniques += arr[missing].tolist()
    # A code already in plain upper-case ASCII letters and digits is its own normal form.
    # (``isascii and isalnum and (isupper or isdigit)``: _PLAIN's [0-9A-Z]+ without a regex call)
    norm = [u if type(u) is str and u.isascii() and u.isalnum() and (u.isupper() or u.isdigit())
            else normalize_code(u) for u in uniques]
    problem = _problems_of(list(set(norm)))
    codes = pd.Series(np.array(norm, dtype=object)[idx], index=values.index, name=values.name)
    reasons = pd.Series(np.array([problem[c] for c in norm], dtype=object)[idx], index=values.index,
                        name=values.name)
    return codes, reasons


_WHITESPACE = re.compile(r"\s+")


def normalize_name(value: object) -> str:
    """Name comparison key: NFKC, no spaces, brackets unified."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return _WHITESPACE.sub("", halfwidth(str(value)))


def make_code(body17: str) -> str:
    """A valid code from its first 17 characters (used by the sample and benchmark generators)."""
    return body17 + uscc.calc_check_digit(body17)
