"""Arithmetic over named fields for scoring metrics (``revenue / revenue_last_year - 1``).

A small, safe evaluator: numbers, field names, + - * / and parentheses, unary minus. No
attribute access, no calls: a model file is data, never code. Evaluation is vectorised —
names map to numpy arrays — and division by zero gives NaN (the metric cannot be computed)
rather than an error or an infinity.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping

import numpy as np


class ExpressionError(ValueError):
    pass


_BINOPS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply}


@functools.lru_cache(maxsize=256)  # metrics are few and evaluated once per round each
def _parse(text: str) -> ast.expr:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse {text!r}: {exc.msg}") from None
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Constant, ast.Load,
                                 ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd)):
            raise ExpressionError(f"{text!r}: only numbers, names, + - * / and parentheses are allowed")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            raise ExpressionError(f"{text!r}: {node.value!r} is not a number")
    return tree.body


def names_in(text: str) -> list[str]:
    """Field names used by an expression, in order of first use."""
    seen: list[str] = []
    for node in ast.walk(_parse(text)):
        if isinstance(node, ast.Name) and node.id not in seen:
            seen.append(node.id)
    return seen


def evaluate(text: str, values: Mapping[str, np.ndarray]) -> np.ndarray:
    """Evaluate over arrays of equal length; NaN propagates, x/0 is NaN."""
    def ev(node: ast.expr):
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return np.asarray(values[node.id], dtype="float64")
        if isinstance(node, ast.UnaryOp):
            operand = ev(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        left, right = ev(node.left), ev(node.right)
        if isinstance(node.op, ast.Div):
            with np.errstate(divide="ignore", invalid="ignore"):
                out = np.divide(left, right)
            return np.where(np.asarray(right) == 0, np.nan, out)
        return _BINOPS[type(node.op)](left, right)

    return np.asarray(ev(_parse(text)), dtype="float64")


def zero_divisors(text: str, values: Mapping[str, np.ndarray]) -> list[tuple[list[str], np.ndarray]]:
    """For each division in the expression: the names in its divisor and where that divisor is 0.

    So a metric that cannot be computed is explained in the user's words ("上年营业收入为 0"),
    never as the expression's internal field names.
    """
    out = []
    for node in ast.walk(_parse(text)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            divisor = ast.unparse(node.right)
            names = [n.id for n in ast.walk(node.right) if isinstance(n, ast.Name)]
            if not names:
                continue  # a constant divisor ("/ 2") is never the reason
            with np.errstate(all="ignore"):
                zero = evaluate(divisor, values) == 0
            out.append((list(dict.fromkeys(names)), np.asarray(zero, dtype=bool)))
    return out
