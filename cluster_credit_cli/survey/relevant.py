"""XLSForm ``relevant`` conditions, a documented subset, evaluated over whole columns.

Supported::

    ${q} = 'x'        ${q} != 'x'        (select_one: the answer's choice name, label or code)
    selected(${q}, 'x')                  (select_multiple, or select_one)
    ${q} > 3   ${q} >= 3   ${q} < 3   ${q} <= 3   ${q} = 3   (numeric questions)
    ${q} != ''   ${q} = ''               (answered / not answered)
    not(...)   ... and ...   ... or ...   ( ... )

A blank answer equals ``''``: ``${q} != 'x'`` is true when q was not answered, as in XLSForm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np


class RelevantError(ValueError):
    pass


_TOKEN = re.compile(r"""\s*(?:(\$\{[^}]+\})|('[^']*'|"[^"]*")|(-?\d+(?:\.\d+)?)|(!=|<=|>=|=|<|>)|(\(|\)|,)|([A-Za-z_]+))""")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise RelevantError(f"cannot read {text[pos:]!r} in {text!r}")
        pos = m.end()
        kinds = ("ref", "str", "num", "op", "punct", "word")
        for kind, value in zip(kinds, m.groups()):
            if value is not None:
                out.append((kind, value))
                break
    return out


@dataclass
class Node:
    kind: str  # cmp | selected | and | or | not
    op: str = ""
    ref: str = ""
    value: object = None
    children: tuple = ()

    def refs(self) -> list[str]:
        out = [self.ref] if self.ref else []
        for c in self.children:
            out.extend(c.refs())
        return out


def parse_relevant(text: str) -> Node:
    toks = _tokens(text)
    pos = 0

    def peek(kind=None, value=None):
        if pos >= len(toks):
            return None
        k, v = toks[pos]
        if (kind and k != kind) or (value is not None and v.lower() != value):
            return None
        return toks[pos]

    def take(kind=None, value=None):
        nonlocal pos
        tok = peek(kind, value)
        if tok is None:
            got = toks[pos][1] if pos < len(toks) else "end of text"
            raise RelevantError(f"expected {value or kind} but found {got!r} in {text!r}")
        pos += 1
        return tok

    def literal():
        k, v = take()
        if k == "str":
            return v[1:-1]
        if k == "num":
            return float(v)
        raise RelevantError(f"expected a 'text' or a number, found {v!r} in {text!r}")

    def atom() -> Node:
        if peek("punct", "("):
            take()
            node = disj()
            take("punct", ")")
            return node
        if peek("word", "not"):
            take()
            take("punct", "(")
            node = disj()
            take("punct", ")")
            return Node("not", children=(node,))
        if peek("word", "selected"):
            take()
            take("punct", "(")
            ref = take("ref")[1][2:-1].strip()
            take("punct", ",")
            value = literal()
            take("punct", ")")
            return Node("selected", ref=ref, value=str(value) if not isinstance(value, float) else _fmt(value))
        ref = take("ref")[1][2:-1].strip()
        op = take("op")[1]
        return Node("cmp", op=op, ref=ref, value=literal())

    def conj() -> Node:
        node = atom()
        while peek("word", "and"):
            take()
            node = Node("and", children=(node, atom()))
        return node

    def disj() -> Node:
        node = conj()
        while peek("word", "or"):
            take()
            node = Node("or", children=(node, conj()))
        return node

    node = disj()
    if pos != len(toks):
        raise RelevantError(f"unexpected {toks[pos][1]!r} in {text!r}")
    return node


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# Column accessors supplied by the caller (survey_stats): for a question name,
#   choice(name, value) -> bool array "the answer is choice `value`" (select questions)
#   number(name) -> float array (numeric questions; NaN when blank)
#   answered(name) -> bool array
#   kind(name) -> "select_one" | "select_multiple" | "number" | "text"
@dataclass
class Columns:
    kind: Callable[[str], str]
    choice: Callable[[str, str], np.ndarray]
    number: Callable[[str], np.ndarray]
    answered: Callable[[str], np.ndarray]
    text_equals: Callable[[str, str], np.ndarray]


_CMP = {"=": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def evaluate_relevant(node: Node, cols: Columns) -> np.ndarray:
    if node.kind == "and":
        return evaluate_relevant(node.children[0], cols) & evaluate_relevant(node.children[1], cols)
    if node.kind == "or":
        return evaluate_relevant(node.children[0], cols) | evaluate_relevant(node.children[1], cols)
    if node.kind == "not":
        return ~evaluate_relevant(node.children[0], cols)
    kind = cols.kind(node.ref)
    if node.kind == "selected":
        return cols.choice(node.ref, str(node.value))
    value, op = node.value, node.op
    if value == "":
        if op not in ("=", "!="):
            raise RelevantError(f"${{{node.ref}}} {op} '' compares with blank; use = or !=")
        ans = cols.answered(node.ref)
        return ~ans if op == "=" else ans
    if kind == "number" and isinstance(value, (float, str)):
        try:
            x = float(value)
        except ValueError:
            raise RelevantError(f"${{{node.ref}}} is numeric; compare it with a number, not {value!r}") from None
        nums = cols.number(node.ref)
        with np.errstate(invalid="ignore"):
            out = _CMP[op](nums, x)
        return np.where(np.isnan(nums), op == "!=", out)
    if op not in ("=", "!="):
        raise RelevantError(f"${{{node.ref}}} {op} {value!r}: only = and != apply to choice questions")
    text = _fmt(value) if isinstance(value, float) else str(value)
    if kind in ("select_one", "select_multiple"):
        hit = cols.choice(node.ref, text)
    else:
        hit = cols.text_equals(node.ref, text)
    return hit if op == "=" else ~hit
