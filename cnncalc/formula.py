"""Arithmetic that shows its work: a term knows its value, its formula and the numbers substituted.

The layer rules build their figures from these terms, and ``params()``, ``macs()``, ``flops()``
and the output shape read ``term.value``; ``cnncalc explain`` prints the same terms. So the
explanation cannot disagree with the report::

    k = Sym("k_h", 3) * Sym("k_w", 3)
    t = (k * Sym("C_in", 3) / Sym("g", 1) + 1) * Sym("C_out", 16)
    t.value                 # 448
    t.text(numbers=False)   # (k_h·k_w·C_in/g + 1)·C_out
    t.text()                # (3·3·3/1 + 1)·16
    t.tex()                 # \\left(\\frac{3 \\cdot 3 \\cdot 3}{1} + 1\\right) \\cdot 16

Values are exact: ``int`` or :class:`fractions.Fraction` (a receptive field's jump after upsampling).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from fractions import Fraction

Value = int | Fraction

# precedence: a child binds less tightly than its parent → parentheses
_SUM, _PROD, _ATOM = 1, 2, 3


def _exact(v: Value) -> Value:
    """A Fraction with denominator 1 becomes an int."""
    if type(v) is not int and v.denominator == 1:
        return int(v)
    return v


def format_value(v: Value) -> str:
    """``442368`` → ``442,368``; ``Fraction(1, 2)`` → ``1/2``."""
    v = _exact(v)
    if isinstance(v, Fraction):
        return f"{v.numerator:,}/{v.denominator:,}"
    return f"{v:,}"


def tex_value(v: Value) -> str:
    """``442368`` → ``442{,}368``; ``Fraction(1, 2)`` → ``\\tfrac{1}{2}``."""
    v = _exact(v)
    if isinstance(v, Fraction):
        return rf"\tfrac{{{tex_value(v.numerator)}}}{{{tex_value(v.denominator)}}}"
    return f"{v:,}".replace(",", "{,}")


def tex_symbol(name: str) -> str:
    """``C_in`` → ``C_{\\mathrm{in}}``, ``k_h`` → ``k_h``, ``MACs`` → ``\\mathrm{MACs}``."""
    base, _, sub = name.partition("_")
    head = base if len(base) == 1 else rf"\mathrm{{{base}}}"
    if not sub:
        return head
    return f"{head}_{{{sub}}}" if len(sub) == 1 else rf"{head}_{{\mathrm{{{sub}}}}}"


class Term:
    """An exact arithmetic expression that renders as a formula or with its numbers substituted."""

    __slots__ = ("value",)
    prec = _ATOM
    value: Value

    # -- building -------------------------------------------------------------------------------
    def __add__(self, other: Term | Value) -> Term:
        return Sum(((1, self), (1, lift(other))))

    def __radd__(self, other: Value) -> Term:
        return Sum(((1, lift(other)), (1, self)))

    def __sub__(self, other: Term | Value) -> Term:
        return Sum(((1, self), (-1, lift(other))))

    def __rsub__(self, other: Value) -> Term:
        return Sum(((1, lift(other)), (-1, self)))

    def __mul__(self, other: Term | Value) -> Term:
        return Prod((self, lift(other)))

    def __rmul__(self, other: Value) -> Term:
        return Prod((lift(other), self))

    def __truediv__(self, other: Term | Value) -> Term:
        return Div(self, lift(other))

    # -- rendering ------------------------------------------------------------------------------
    def text(self, numbers: bool = True) -> str:
        """Plain text with ``·``, ``−``, ``⌊⌋``: the formula, or with ``numbers`` substituted."""
        raise NotImplementedError

    def tex(self, numbers: bool = True) -> str:
        """LaTeX math (no surrounding ``$``)."""
        raise NotImplementedError

    def __int__(self) -> int:
        v = _exact(self.value)
        if not isinstance(v, int):
            raise ValueError(f"{self.text()} = {format_value(v)} is not a whole number")
        return v

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text(False)} = {self.text()} = {format_value(self.value)})"

    def _wrap(self, numbers: bool, below: int, tex: bool) -> str:
        """Rendered, in parentheses when binding less tightly than ``below``."""
        if self.prec >= below:
            return self.tex(numbers) if tex else self.text(numbers)
        if tex:
            return rf"\left({self.tex(numbers)}\right)"
        # a short difference inside parentheses reads best tight: (3−1)
        tight = isinstance(self, Sum) and len(self.terms) == 2 and all(t.is_atom for _, t in self.terms)
        return f"({self._render(numbers, False, tight) if tight else self.text(numbers)})"  # type: ignore[attr-defined]

    @property
    def is_atom(self) -> bool:
        """A number or a symbol."""
        return isinstance(self, (Num, Sym))


class Num(Term):
    """A literal number, shown as itself in the formula too (the ``2`` of ``2·MACs``)."""

    __slots__ = ()

    def __init__(self, value: Value) -> None:
        self.value = value if type(value) is int else _exact(value)

    def text(self, numbers: bool = True) -> str:
        return format_value(self.value)

    def tex(self, numbers: bool = True) -> str:
        return tex_value(self.value)


class Sym(Term):
    """A named quantity: ``C_in`` in the formula, its value once substituted."""

    __slots__ = ("name",)

    def __init__(self, name: str, value: Value) -> None:
        self.name = name
        self.value = value if type(value) is int else _exact(value)

    def text(self, numbers: bool = True) -> str:
        return format_value(self.value) if numbers else self.name

    def tex(self, numbers: bool = True) -> str:
        return tex_value(self.value) if numbers else tex_symbol(self.name)


def lift(x: Term | Value) -> Term:
    """A term as it is; a number as :class:`Num`."""
    if isinstance(x, Term):
        return x
    if type(x) is not int and type(x) is not Fraction:
        raise TypeError(f"cannot use {x!r} in a term")
    return Num(x)


class Sum(Term):
    """``a + b − c``."""

    __slots__ = ("terms",)
    prec = _SUM
    terms: tuple[tuple[int, Term], ...]

    def __init__(self, terms: Iterable[tuple[int, Term]]) -> None:
        flat: list[tuple[int, Term]] = []
        v: Value = 0
        for sign, t in terms:
            if sign > 0 and type(t) is Sum:
                flat.extend(t.terms)  # a + (b − c) = a + b − c
                v += t.value
            else:
                flat.append((sign, t))
                v += t.value if sign > 0 else -t.value
        self.terms = tuple(flat)
        self.value = v if type(v) is int else _exact(v)

    def _render(self, numbers: bool, tex: bool, tight: bool = False) -> str:
        plus, minus = ("+", "−") if tight else (" + ", " − ")
        if tex:
            plus, minus = " + ", " - "
        out = ""
        for i, (sign, t) in enumerate(self.terms):
            # a subtracted sum needs parentheses: a − (b + c)
            part = t._wrap(numbers, _PROD if sign < 0 else _SUM, tex)
            if i == 0:
                out = part if sign > 0 else ("-" if tex else "−") + part
            else:
                out += (plus if sign > 0 else minus) + part
        return out

    def text(self, numbers: bool = True) -> str:
        return self._render(numbers, False)

    def tex(self, numbers: bool = True) -> str:
        return self._render(numbers, True)


class Prod(Term):
    """``a·b·c``."""

    __slots__ = ("factors",)
    prec = _PROD
    factors: tuple[Term, ...]

    def __init__(self, factors: Iterable[Term]) -> None:
        flat: list[Term] = []
        v: Value = 1
        for f in factors:
            if type(f) is Prod:
                flat.extend(f.factors)
            else:
                flat.append(f)
            v *= f.value
        self.factors = tuple(flat)
        self.value = v if type(v) is int else _exact(v)

    def text(self, numbers: bool = True) -> str:
        return "·".join(f._wrap(numbers, _PROD, False) for f in self.factors)

    def tex(self, numbers: bool = True) -> str:
        return r" \cdot ".join(f._wrap(numbers, _PROD, True) for f in self.factors)


def prod(factors: Iterable[Term | Value]) -> Term:
    """The product of ``factors``; a single factor is returned as it is."""
    items = [lift(f) for f in factors]
    return items[0] if len(items) == 1 else Prod(items)


def total(terms: Iterable[Term | Value]) -> Term:
    """The sum of ``terms``; a single term is returned as it is."""
    items = [lift(t) for t in terms]
    return items[0] if len(items) == 1 else Sum((1, t) for t in items)


class Div(Term):
    """Exact division ``a/b`` (a Fraction unless it divides evenly)."""

    __slots__ = ("num", "den")
    prec = _PROD

    def __init__(self, num: Term, den: Term) -> None:
        self.num, self.den = num, den
        a, b = num.value, den.value
        self.value = a // b if type(a) is int and type(b) is int and a % b == 0 else _exact(Fraction(a) / b)

    def text(self, numbers: bool = True) -> str:
        return f"{self.num._wrap(numbers, _PROD, False)}/{self.den._wrap(numbers, _ATOM, False)}"

    def tex(self, numbers: bool = True) -> str:
        return rf"\frac{{{self.num.tex(numbers)}}}{{{self.den.tex(numbers)}}}"


class _Round(Term):
    """A term rounded to a whole number, shown between brackets."""

    __slots__ = ("arg",)
    round: Callable[[Value], int]
    brackets: tuple[str, str, str, str]  # text left, text right, LaTeX left, LaTeX right

    def __init__(self, arg: Term) -> None:
        self.arg = arg
        self.value = type(self).round(arg.value)

    def text(self, numbers: bool = True) -> str:
        left, right, _, _ = self.brackets
        return f"{left}{self.arg.text(numbers)}{right}"

    def tex(self, numbers: bool = True) -> str:
        _, _, left, right = self.brackets
        return rf"\left{left} {self.arg.tex(numbers)} \right{right}"


class Floor(_Round):
    """``⌊x⌋``."""

    __slots__ = ()
    round = staticmethod(math.floor)
    brackets = ("⌊", "⌋", r"\lfloor", r"\rfloor")


class Ceil(_Round):
    """``⌈x⌉``."""

    __slots__ = ()
    round = staticmethod(math.ceil)
    brackets = ("⌈", "⌉", r"\lceil", r"\rceil")


class Max(Term):
    """``max(a, b, …)``."""

    __slots__ = ("args",)

    def __init__(self, args: Iterable[Term]) -> None:
        self.args = tuple(args)
        self.value = max(a.value for a in self.args)

    def text(self, numbers: bool = True) -> str:
        return "max(" + ", ".join(a.text(numbers) for a in self.args) + ")"

    def tex(self, numbers: bool = True) -> str:
        return r"\max\left(" + ", ".join(a.tex(numbers) for a in self.args) + r"\right)"


class Note(Term):
    """A term with a word after it: ``16·32·32 (bias)``."""

    __slots__ = ("arg", "note", "prec")

    def __init__(self, arg: Term, note: str) -> None:
        self.arg, self.note = arg, note
        self.value = arg.value
        self.prec = arg.prec  # binds as its term does

    def text(self, numbers: bool = True) -> str:
        return f"{self.arg.text(numbers)} ({self.note})"

    def tex(self, numbers: bool = True) -> str:
        return rf"{self.arg.tex(numbers)}\ \text{{({self.note})}}"


ZERO = Num(0)

#: Symbols of the axes of a batch-less shape, by rank.
AXES = {1: ("N",), 2: ("C", "L"), 3: ("C", "H", "W"), 4: ("C", "D", "H", "W")}


def axis_names(rank: int) -> tuple[str, ...]:
    """``C, H, W`` for a rank-3 shape; ``d1, d2, …`` past rank 4."""
    return AXES.get(rank, tuple(f"d{i + 1}" for i in range(rank)))


def elements(shape: tuple[int, ...], suffix: str = "") -> Term:
    """Number of elements of a shape as a product of named sizes: ``C_out·H_out·W_out``."""
    tail = f"_{suffix}" if suffix else ""
    return prod(Sym(a + tail, n) for a, n in zip(axis_names(len(shape)), shape))
