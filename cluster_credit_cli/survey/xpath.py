"""The XPath of XLSForms (``relevant``, ``calculation``, ``constraint``), parsed and evaluated over
whole columns: a small precedence-climbing parser and a numpy evaluator, never ``eval``.

Supported::

    ${q}  .  'text'  "text"  12  3.5  ( )
    or  and  =  !=  <  <=  >  >=  +  -  *  div  mod  /  (a / b: division, as ccredit codebooks wrote it)
    if(c, a, b)  round(x[, d])  int(x)  coalesce(a, b)  selected(${q}, 'x')  count-selected(${q})
    string-length(s)  concat(a, ...)  not(x)  true()  false()  number(x)  string(x)  boolean(x)
    today()  now()  date(x)  abs(x)  min(a, ...)  max(a, ...)
    sqrt() exp() exp10() log() log10() sin() cos() tan() asin() acos() atan() atan2() pow() pi() floor() ceiling()

Values follow XPath 1.0 with ODK's conventions: a blank answer is ``''`` (numbers: NaN), so
``${q} != 'x'`` is true for a blank q and ``${q} = ''`` is true exactly when q was not answered;
a comparison with a number converts the other side to a number; dates compare as dates
(a date question against ``'2020-01-31'`` or ``today()``). Comparing a select question with a
quoted choice accepts the choice's name, label or code (as ``ccredit`` always did).

Any other function (``pulldata()``, ``jr:choice-name()``, ``position()`` ...) is an error that
names every such function, raised when the codebook is loaded.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from cluster_credit_cli.text import halfwidth


class XPathError(ValueError):
    pass


SUPPORTED = {"if", "round", "int", "coalesce", "selected", "count-selected", "string-length", "concat", "not",
             "true", "false", "number", "string", "boolean", "today", "now", "date", "abs", "min", "max",
             *("sqrt", "exp", "exp10", "log", "log10", "sin", "cos", "tan", "asin", "acos", "atan", "floor", "ceiling",
               "pow", "atan2", "pi")}
_MATH1 = {"sqrt": np.sqrt, "exp": np.exp, "exp10": lambda x: 10.0 ** x, "log": np.log, "log10": np.log10,
          "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan,
          "floor": np.floor, "ceiling": np.ceil}

_TOKEN = re.compile(r"""\s*(?:
    (?P<ref>\$\{[^}]*\})
  | (?P<str>'[^']*'|"[^"]*"|‘[^’]*’|“[^”]*”)
  | (?P<num>\d+(?:\.\d*)?|\.\d+)
  | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|/|\||,|\(|\))
  | (?P<name>[A-Za-z_][\w.:-]*)
  | (?P<dot>\.)
)""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            rest = text[pos:].strip()
            if not rest:
                break
            raise XPathError(f"cannot read {rest!r} in {text!r}")
        pos = m.end()
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
    return out


# AST: tuples ("num", x) ("str", s) ("ref", name) ("dot",) ("bin", op, a, b) ("neg", a) ("call", f, args)

_BINARY = [("or",), ("and",), ("=", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "div", "mod", "/")]


MAX_DEPTH = 200  # nesting levels; real forms use a handful, a hostile one must not exhaust the stack


def parse(text: str) -> tuple:
    """Parse an XPath expression; ``XPathError`` names what cannot be read."""
    try:
        node = _parse(text)
    except RecursionError:
        raise XPathError(f"the expression is nested more than {MAX_DEPTH} levels deep") from None
    depth, stack = 0, [(node, 1)]
    while stack:  # iterative: the evaluator recurses, so the depth is checked before it runs
        n, d = stack.pop()
        depth = max(depth, d)
        if depth > MAX_DEPTH:
            raise XPathError(f"the expression is nested more than {MAX_DEPTH} levels deep; split it into calculations")
        kids = (n[2], n[3]) if n[0] == "bin" else (n[1],) if n[0] == "neg" else n[2] if n[0] == "call" else ()
        stack.extend((k, d + 1) for k in kids)
    return node


def _parse(text: str) -> tuple:
    text = halfwidth(str(text))  # full-width digits, operators and brackets typed in a Chinese IME
    if not text.strip():
        raise XPathError("the expression is empty")
    toks = _tokens(str(text))
    pos = 0

    def peek() -> tuple[str, str] | None:
        return toks[pos] if pos < len(toks) else None

    def is_op(tok, ops) -> bool:
        if tok is None:
            return False
        kind, v = tok
        return (kind == "op" and v in ops) or (kind == "name" and v.lower() in ops and v.lower() in ("or", "and", "div", "mod"))

    def level(i: int) -> tuple:
        nonlocal pos
        if i == len(_BINARY):
            return unary()
        node = level(i + 1)
        while is_op(peek(), _BINARY[i]):
            op = peek()[1].lower()
            pos += 1
            node = ("bin", op, node, level(i + 1))
        return node

    def unary() -> tuple:
        nonlocal pos
        tok = peek()
        if tok == ("op", "-"):
            pos += 1
            return ("neg", unary())
        return primary()

    def primary() -> tuple:
        nonlocal pos
        tok = peek()
        if tok is None:
            raise XPathError(f"{text!r} ends too early")
        kind, v = tok
        pos += 1
        if kind == "num":
            return ("num", float(v))
        if kind == "str":
            return ("str", v[1:-1])
        if kind == "ref":
            name = v[2:-1].strip()
            if not name:
                raise XPathError(f"empty reference ${{}} in {text!r}")
            return ("ref", name)
        if kind == "dot":
            return ("dot",)
        if kind == "op" and v == "(":
            node = level(0)
            expect(")")
            return node
        if kind == "name":
            if peek() == ("op", "("):
                pos += 1
                args = []
                if peek() != ("op", ")"):
                    args.append(level(0))
                    while peek() == ("op", ","):
                        pos += 1
                        args.append(level(0))
                expect(")")
                return ("call", v, tuple(args))
            if v.lower() in ("true", "false"):  # yes/no style constants some forms use
                return ("call", v.lower(), ())
            raise XPathError(f"{v!r} in {text!r} is not a quoted text or a function; refer to questions as ${{name}}")
        raise XPathError(f"unexpected {v!r} in {text!r}")

    def expect(v: str) -> None:
        nonlocal pos
        if peek() != ("op", v):
            got = peek()[1] if peek() else "end of text"
            raise XPathError(f"expected {v!r} but found {got!r} in {text!r}")
        pos += 1

    node = level(0)
    if pos != len(toks):
        raise XPathError(f"unexpected {toks[pos][1]!r} in {text!r}")
    return node


def walk(node: tuple):
    yield node
    if node[0] == "bin":
        yield from walk(node[2])
        yield from walk(node[3])
    elif node[0] == "neg":
        yield from walk(node[1])
    elif node[0] == "call":
        for a in node[2]:
            yield from walk(a)


def refs(node: tuple) -> list[str]:
    out: list[str] = []
    for n in walk(node):
        if n[0] == "ref" and n[1] not in out:
            out.append(n[1])
    return out


def unsupported(node: tuple) -> list[str]:
    """Functions used that ccredit cannot evaluate, in order of appearance."""
    out: list[str] = []
    for n in walk(node):
        if n[0] == "call" and n[1] not in SUPPORTED and n[1] + "()" not in out:
            out.append(n[1] + "()")
    return out


def uses_dot(node: tuple) -> bool:
    return any(n[0] == "dot" for n in walk(node))


_ARITY = {"if": (3, 3), "round": (1, 2), "int": (1, 1), "coalesce": (2, 2), "selected": (2, 2),
          "count-selected": (1, 1), "string-length": (1, 1), "not": (1, 1), "true": (0, 0), "false": (0, 0),
          "number": (1, 1), "string": (1, 1), "boolean": (1, 1), "today": (0, 0), "now": (0, 0), "date": (1, 1),
          "abs": (1, 1), "pow": (2, 2), "atan2": (2, 2), "pi": (0, 0), "min": (1, 99), "max": (1, 99),
          "concat": (0, 999), **{f: (1, 1) for f in ("sqrt", "exp", "exp10", "log", "log10", "sin", "cos", "tan", "asin",
                                                   "acos", "atan", "floor", "ceiling")}}


def compile_checked(text: str) -> tuple:
    """Parse and refuse unsupported functions (all named at once) and wrong argument counts."""
    node = parse(text)
    for n in walk(node):
        if n[0] == "call" and n[1] in _ARITY:
            lo, hi = _ARITY[n[1]]
            if not lo <= len(n[2]) <= hi:
                want = str(lo) if lo == hi else f"{lo} or more" if hi > 9 else f"{lo} to {hi}"
                raise XPathError(f"{n[1]}() takes {want} argument(s), not {len(n[2])}, in {text!r}")
    bad = unsupported(node)
    if bad:
        raise XPathError(f"uses {', '.join(bad)}, which ccredit cannot evaluate (it evaluates if(), round(), "
                         "int(), coalesce(), selected(), count-selected(), string-length(), concat(), not(), "
                         "dates and math functions: see docs/readme-survey.md)")
    return node


# -- evaluation ----------------------------------------------------------------------------------

EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class Val:
    kind: str  # num | str | bool | date (date: float days since 1970-01-01, NaN blank)
    data: np.ndarray


@dataclass
class Env:
    """Column access for the evaluator (supplied by ``stats``)."""

    n: int
    value: Callable[[str], Val]
    selected: Callable[[str, str], np.ndarray]  # (question, choice text) -> bool per respondent
    count_selected: Callable[[str], np.ndarray]
    canon: Callable[[str, str], str]  # (question, literal) -> the choice name the literal means
    dot: Callable[[], Val] | None = None
    today: float | None = None  # days since epoch (tests pin it)


def parse_date_text(values: np.ndarray) -> np.ndarray:
    """Texts -> float days since 1970-01-01 (NaN where not a date)."""
    s = pd.to_datetime(pd.Series(values, dtype=object).replace("", None), errors="coerce", format="mixed")
    out = (s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s).values.astype("datetime64[D]")
    days = (out - EPOCH).astype("float64")
    days[pd.isna(s).to_numpy()] = np.nan
    return days


def _num(v: Val) -> np.ndarray:
    if v.kind in ("num", "date"):
        return v.data
    if v.kind == "bool":
        return v.data.astype("float64")
    return pd.to_numeric(pd.Series(v.data, dtype=object).replace("", None), errors="coerce").to_numpy(dtype="float64")


def _fmt_num(x: float) -> str:
    if np.isnan(x):
        return ""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _str(v: Val) -> np.ndarray:
    if v.kind == "str":
        return v.data
    if v.kind == "bool":
        return np.where(v.data, "true", "false").astype(object)
    if v.kind == "date":
        out = np.full(len(v.data), "", dtype=object)
        ok = ~np.isnan(v.data)
        out[ok] = (EPOCH + v.data[ok].astype("int64")).astype(str)
        return out
    return np.array([_fmt_num(x) for x in v.data], dtype=object)


def _bool(v: Val) -> np.ndarray:
    if v.kind == "bool":
        return v.data
    if v.kind in ("num", "date"):
        return ~np.isnan(v.data) & (v.data != 0)
    return np.array([bool(x) for x in v.data], bool)


def _blank(v: Val) -> np.ndarray:
    if v.kind in ("num", "date"):
        return np.isnan(v.data)
    if v.kind == "bool":
        return np.zeros(len(v.data), bool)
    return np.array([x == "" for x in v.data], bool)


_CMP = {"=": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def evaluate(node: tuple, env: Env) -> Val:
    n = env.n
    kind = node[0]
    if kind == "num":
        return Val("num", np.full(n, node[1]))
    if kind == "str":
        return Val("str", np.full(n, node[1], dtype=object))
    if kind == "ref":
        return env.value(node[1])
    if kind == "dot":
        if env.dot is None:
            raise XPathError("'.' (the question itself) is only meaningful in a constraint")
        return env.dot()
    if kind == "neg":
        return Val("num", -_num(evaluate(node[1], env)))
    if kind == "call":
        return _call(node, env)
    op, a_node, b_node = node[1], node[2], node[3]
    if op in ("or", "and"):
        a, b = _bool(evaluate(a_node, env)), _bool(evaluate(b_node, env))
        return Val("bool", a | b if op == "or" else a & b)
    a, b = evaluate(a_node, env), evaluate(b_node, env)
    if op in ("+", "-", "*", "div", "/", "mod"):
        x, y = _num(a), _num(b)
        with np.errstate(all="ignore"):
            if op == "+":
                r = x + y
            elif op == "-":
                r = x - y
            elif op == "*":
                r = x * y
            elif op in ("div", "/"):
                r = np.where(y == 0, np.nan, x / np.where(y == 0, 1, y))
            else:
                r = np.fmod(x, y)
        return Val("num", r)
    # comparisons
    if op in ("=", "!="):
        for lit, other, other_node in ((a_node, b, b_node), (b_node, a, a_node)):
            if lit[0] == "str" and lit[1] == "":
                blank = _blank(other)
                return Val("bool", blank if op == "=" else ~blank)
        # a select question against a quoted choice: compare choice names
        for lit, ref in ((a_node, b_node), (b_node, a_node)):
            if lit[0] == "str" and ref[0] == "ref":
                name = env.canon(ref[1], lit[1])
                s = _str(evaluate(ref, env))
                hit = np.array([x == name for x in s], bool)
                return Val("bool", hit if op == "=" else ~hit)
        if "bool" in (a.kind, b.kind):
            return Val("bool", _CMP[op](_bool(a), _bool(b)))
    if "date" in (a.kind, b.kind):
        x = a.data if a.kind == "date" else _as_date(a)
        y = b.data if b.kind == "date" else _as_date(b)
        with np.errstate(invalid="ignore"):
            return Val("bool", _CMP[op](x, y))
    if op in ("=", "!=") and a.kind == "str" and b.kind == "str":
        sa, sb = a.data, b.data
        eq = np.array([p == q for p, q in zip(sa, sb)], bool)
        return Val("bool", eq if op == "=" else ~eq)
    with np.errstate(invalid="ignore"):
        return Val("bool", _CMP[op](_num(a), _num(b)))


def _as_date(v: Val) -> np.ndarray:
    if v.kind == "num":
        return v.data
    if v.kind == "str":
        return parse_date_text(v.data)
    return _num(v)


def _today(env: Env) -> float:
    if env.today is not None:
        return env.today
    return float((np.datetime64(_dt.date.today(), "D") - EPOCH).astype("int64"))


def _call(node: tuple, env: Env) -> Val:
    fname, args = node[1], node[2]
    n = env.n

    def need(k: int, k_max: int | None = None) -> None:
        hi = k if k_max is None else k_max
        if not k <= len(args) <= hi:
            want = str(k) if k == hi else f"{k} to {hi}"
            raise XPathError(f"{fname}() takes {want} argument(s), not {len(args)}")

    ev = [evaluate(a, env) for a in args] if fname not in ("selected", "count-selected") else []
    if fname == "if":
        need(3)
        c, a, b = _bool(ev[0]), ev[1], ev[2]
        kinds = {a.kind, b.kind}
        if kinds <= {"num", "bool"}:
            return Val("num", np.where(c, _num(a), _num(b)))
        if kinds <= {"date"}:
            return Val("date", np.where(c, a.data, b.data))
        for x, y in ((a, b), (b, a)):  # if(..., ${n}, '') keeps a number
            if x.kind in ("num", "date") and y.kind == "str" and all(v == "" for v in y.data):
                return Val(x.kind, np.where(c, x.data, np.nan) if x is a else np.where(c, np.nan, x.data))
        return Val("str", np.where(c, _str(a), _str(b)).astype(object))
    if fname == "round":
        need(1, 2)
        x = _num(ev[0])
        d = _num(ev[1]) if len(ev) > 1 else np.zeros(n)
        scale = 10.0 ** np.nan_to_num(d)
        with np.errstate(invalid="ignore"):
            return Val("num", np.sign(x) * np.floor(np.abs(x) * scale + 0.5) / scale)
    if fname == "int":
        need(1)
        return Val("num", np.trunc(_num(ev[0])))
    if fname == "abs":
        need(1)
        return Val("num", np.abs(_num(ev[0])))
    if fname in _MATH1:
        need(1)
        with np.errstate(all="ignore"):
            return Val("num", _MATH1[fname](_num(ev[0])))
    if fname in ("pow", "atan2"):
        need(2)
        with np.errstate(all="ignore"):
            f = np.power if fname == "pow" else np.arctan2
            return Val("num", f(_num(ev[0]), _num(ev[1])))
    if fname == "pi":
        need(0)
        return Val("num", np.full(n, np.pi))
    if fname in ("min", "max"):
        if not ev:
            raise XPathError(f"{fname}() needs arguments")
        stack = np.column_stack([_num(v) for v in ev])
        with np.errstate(invalid="ignore"):
            return Val("num", stack.min(axis=1) if fname == "min" else stack.max(axis=1))
    if fname == "coalesce":
        need(2)
        a, b = ev
        if a.kind == b.kind and a.kind in ("num", "date"):
            return Val(a.kind, np.where(np.isnan(a.data), b.data, a.data))
        return Val("str", np.where(_blank(a), _str(b), _str(a)).astype(object))
    if fname == "not":
        need(1)
        return Val("bool", ~_bool(ev[0]))
    if fname in ("true", "false"):
        need(0)
        return Val("bool", np.full(n, fname == "true"))
    if fname == "number":
        need(1)
        return Val("num", _num(ev[0]))
    if fname == "string":
        need(1)
        return Val("str", _str(ev[0]))
    if fname == "boolean":
        need(1)
        return Val("bool", _bool(ev[0]))
    if fname == "string-length":
        need(1)
        return Val("num", np.array([len(s) for s in _str(ev[0])], dtype="float64"))
    if fname == "concat":
        parts = [_str(v) for v in ev]
        out = np.full(n, "", dtype=object)
        for p in parts:
            out = out + p
        return Val("str", out)
    if fname in ("today", "now"):
        need(0)
        return Val("date", np.full(n, _today(env)))
    if fname == "date":
        need(1)
        v = ev[0]
        return Val("date", v.data if v.kind == "date" else _as_date(v))
    if fname == "selected":
        need(2)
        target, choice = args
        wanted = evaluate(choice, env)
        if target[0] == "ref" and choice[0] == "str":
            return Val("bool", env.selected(target[1], env.canon(target[1], choice[1])))
        hay = _str(evaluate(target, env))
        needles = _str(wanted)
        return Val("bool", np.array([w != "" and w in h.split() for h, w in zip(hay, needles)], bool))
    if fname == "count-selected":
        need(1)
        target = args[0]
        if target[0] == "ref":
            return Val("num", env.count_selected(target[1]).astype("float64"))
        return Val("num", np.array([len(s.split()) for s in _str(evaluate(target, env))], dtype="float64"))
    raise XPathError(f"{fname}() is not supported")


def truth(node: tuple, env: Env) -> np.ndarray:
    """A condition as a boolean array."""
    return _bool(evaluate(node, env))
