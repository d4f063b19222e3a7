"""A small, safe evaluator for block-argument expressions such as ``$planes * 4``.

Only arithmetic, comparisons, ``and``/``or``/``not``, ``x if c else y`` and a few pure
functions over named values are accepted; nothing is ever passed to :func:`eval`.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import warnings
from collections.abc import Callable, Mapping
from typing import Any

MAX_LENGTH = 200
MAX_MAGNITUDE = 10**30

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**"}
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def _make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels as MobileNet/EfficientNet do: to a multiple of ``divisor``, never below 90%."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _round(number: Any, ndigits: int | None = None) -> Any:
    """Python's round, with at most 64 digits either way (``round(2, -10**8)`` computes 10^(10^8))."""
    if isinstance(ndigits, int) and abs(ndigits) > 64:
        raise ValueError(f"ndigits {ndigits} is beyond ±64")
    return round(number, ndigits)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "int": int,
    "round": _round,
    "floor": math.floor,
    "ceil": math.ceil,
    "make_divisible": _make_divisible,
}


class ExprError(ValueError):
    """An expression that cannot be parsed or evaluated."""


def is_expr(value: Any) -> bool:
    """True for a string written as an expression (``$...``)."""
    return isinstance(value, str) and value.startswith("$")


def contains_expr(value: Any) -> bool:
    """True when ``value`` is an expression or holds one, in lists and mappings at any depth."""
    if isinstance(value, (list, tuple)):
        return any(contains_expr(v) for v in value)
    if isinstance(value, dict):
        return any(contains_expr(v) for v in value.values())
    return is_expr(value)


def substitute(value: Any, names: Mapping[str, Any], *, whole: bool = False) -> Any:
    """``value`` with every expression in it evaluated, in lists and mappings at any depth.

    With ``whole``, an expression whose value is a float without a fractional part gives an int
    (``$c / 2`` as a size).
    """
    if isinstance(value, (list, tuple)):
        return [substitute(v, names, whole=whole) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, names, whole=whole) for k, v in value.items()}
    if is_expr(value):
        out = evaluate(value, names)
        if whole and isinstance(out, float) and out.is_integer():
            return int(out)
        return out
    return value


def evaluate(text: str, names: Mapping[str, Any]) -> Any:
    """Evaluate ``$expression`` with ``names`` bound; raise :class:`ExprError` on anything else.

    A value that is itself an expression (``$'$x'``) is refused: an expression is evaluated
    once, and its value is never read as another one.
    """
    body = text[1:].strip() if text.startswith("$") else text
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1].strip()
    if not body:
        raise ExprError("empty expression")
    if len(body) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = _parse(body)
    except SyntaxError:
        raise ExprError(f"cannot parse expression '{body}'") from None
    value = _eval(tree.body, names)
    if contains_expr(value):
        what = "starts" if isinstance(value, str) else "holds a string that starts"
        raise ExprError(f"its value {value!r:.60} {what} with '$', as an expression does; an expression's value "
                        "is never evaluated again")
    return value


@functools.lru_cache(maxsize=4096)
def _parse(body: str) -> ast.Expression:
    """The syntax tree of an expression, parsed once: a block repeats the same few expressions."""
    with warnings.catch_warnings():
        # e.g. "invalid decimal literal" for '2if': the expression is refused or evaluated, never warned about
        warnings.simplefilter("ignore", SyntaxWarning)
        return ast.parse(body, mode="eval")


def _check(value: Any) -> Any:
    if isinstance(value, complex):
        raise ExprError("expression value is not a real number")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > MAX_MAGNITUDE:
        raise ExprError("expression value is too large")
    return value


def _number(value: Any, op: str) -> Any:
    """Arithmetic is on numbers only: ``'a' * 10**9`` or ``[0] * 10**9`` would fill the memory."""
    if not isinstance(value, (int, float)):
        raise ExprError(f"'{op}' needs numbers, got {type(value).__name__} {value!r:.40}")
    return value


def _eval(node: ast.AST, names: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float, bool, str)) or node.value is None:
            return _check(node.value)
        raise ExprError(f"unsupported constant {node.value!r}")
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        known = ", ".join(sorted(names)) or "none"
        raise ExprError(f"unknown name '{node.id}' (known: {known})")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        symbol = _SYMBOLS[type(node.op)]
        left = _number(_eval(node.left, names), symbol)
        right = _number(_eval(node.right, names), symbol)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 10**6):
            raise ExprError("exponent too large")
        try:
            return _check(_BINOPS[type(node.op)](left, right))
        except ZeroDivisionError:
            raise ExprError("division by zero") from None
        except OverflowError:
            raise ExprError("expression value is too large") from None
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, names)
        if isinstance(node.op, ast.USub):
            return -_number(v, "-")
        if isinstance(node.op, ast.UAdd):
            return +_number(v, "+")
        if isinstance(node.op, ast.Not):
            return not v
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, names) for v in node.values]
        if isinstance(node.op, ast.And):
            return all(values)
        return any(values)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, names)
        for op, comp in zip(node.ops, node.comparators):
            if type(op) not in _CMPOPS:
                raise ExprError("unsupported comparison")
            right = _eval(comp, names)
            try:
                if not _CMPOPS[type(op)](left, right):
                    return False
            except TypeError as e:
                raise ExprError(str(e)) from None
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body, names) if _eval(node.test, names) else _eval(node.orelse, names)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        fn = FUNCTIONS.get(node.func.id)
        if fn is None:
            raise ExprError(f"unknown function '{node.func.id}' (known: {', '.join(sorted(FUNCTIONS))})")
        args = [_eval(a, names) for a in node.args]
        try:
            return _check(fn(*args))
        except (TypeError, ValueError, ArithmeticError) as e:
            raise ExprError(f"{node.func.id}(): {e}") from None
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(e, names) for e in node.elts]
    raise ExprError(f"unsupported syntax '{ast.unparse(node)}'")
