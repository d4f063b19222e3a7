"""Exact parsing of human quantities: ``5M`` params, ``1.2G`` MACs, ``20MiB`` of memory.

Counts take the SI prefixes K (or k), M, G, T, which are powers of 10. Byte sizes take the
same SI prefixes, with or without ``B`` (``20MB`` = ``20M`` = 20·10⁶ bytes), and the binary
prefixes KiB, MiB, GiB, TiB, which are powers of 2 (``20MiB`` = 20·2²⁰ bytes). The number is
read as an exact decimal (``1.2G`` = 1.2·10⁹ = 1,200,000,000, never 1,199,999,999.99…), and the
result must be a whole number of units: ``1.5`` params or ``0.3KiB`` (307.2 bytes) are refused.
Every value is at most :data:`MAX_VALUE` (2^63 − 1, the largest size PyTorch holds), and the
exponent is looked at before the number is expanded, so ``1e99999999`` is refused at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

Kind = Literal["count", "bytes", "pixels"]

#: The largest value of any quantity or percentage: 2^63 − 1, as PyTorch's sizes are.
MAX_VALUE = 2**63 - 1
#: Decimal exponent above which a number is surely out of range (10^24 > MAX_VALUE), and the
#: least exponent read at all: both checked before the exact value (10^exponent) is computed.
_MAX_EXPONENT = 24
_MIN_EXPONENT = -1000

SI = {"": 1, "K": 10**3, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
IEC = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
#: Multiplier of every unit suffix accepted for each kind of quantity.
UNITS: dict[str, dict[str, int]] = {
    "count": SI,
    "bytes": {**SI, **{f"{p}B": m for p, m in SI.items()}, **IEC},
    "pixels": {"": 1},
}

_NUMBER = r"[0-9][0-9_]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_QUANTITY = re.compile(rf"^\s*(?P<number>{_NUMBER})\s*(?P<unit>[A-Za-z]*)\s*$")
#: JSON Schema patterns of the accepted strings, for editors (the parser is the authority).
PATTERNS: dict[str, str] = {
    "count": rf"^\s*{_NUMBER}\s*[kKMGT]?\s*$",
    "bytes": rf"^\s*{_NUMBER}\s*([kKMGT]B?|[KMGT]iB|B)?\s*$",
    "pixels": rf"^\s*{_NUMBER}\s*$",
}
_HINT = {
    "count": "a count like 5000000, 5M or 1.2G (K, M, G, T are powers of 10)",
    "bytes": "a size like 20MiB, 8GiB or 500MB (KiB, MiB, GiB are powers of 2; KB, MB, GB of 10)",
    "pixels": "a whole number of input pixels, like 200",
}


@dataclass(frozen=True, slots=True)
class Quantity:
    """A parsed quantity: its exact integer value and the text it was written as."""

    value: int
    text: str

    def __str__(self) -> str:
        return self.text


def parse(text: Any, kind: Kind) -> Quantity:
    """Parse ``text`` (a string with an optional unit, or an integer) as a ``kind`` quantity.

    Raises ``ValueError`` with a message that names the accepted forms.
    """
    if isinstance(text, bool) or not isinstance(text, (int, str)):
        raise ValueError(f"expected {_HINT[kind]}, got {_what(text)}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"must not be negative, got {text}")
        if text > MAX_VALUE:
            raise ValueError(_too_large(str(text)))
        return Quantity(text, str(text))
    m = _QUANTITY.match(text)
    if m is None:
        if text.strip().startswith("-"):
            raise ValueError(f"must not be negative, got '{text}'")
        raise ValueError(f"'{text}' is not {_HINT[kind]}")
    unit = m["unit"]
    table = UNITS[kind]
    if unit not in table:
        raise ValueError(f"'{text}': {_unit_problem(unit, kind)}")
    exact = _exact(m["number"], text) * table[unit]
    if exact.denominator != 1:
        what = {"count": "a whole count", "bytes": "a whole number of bytes", "pixels": "a whole number"}[kind]
        shown = f"{float(exact):g}" if exact >= Fraction(1, 10**6) else "less than 0.000001"
        raise ValueError(f"'{text}' is {shown}, not {what}")
    if exact > MAX_VALUE:
        raise ValueError(_too_large(text))
    return Quantity(int(exact), text.strip())


def _exact(number: str, text: str) -> Fraction:
    """The exact value of a matched number, refusing a huge exponent before expanding it."""
    d = Decimal(number.replace("_", ""))
    if d.is_zero():
        return Fraction(0)
    if d.adjusted() > _MAX_EXPONENT:
        raise ValueError(_too_large(text))
    if d.adjusted() < _MIN_EXPONENT:
        raise ValueError(f"'{text.strip()}' is out of range: a nonzero value at least 10^{_MIN_EXPONENT}")
    return Fraction(d)


def _too_large(text: str) -> str:
    return f"'{text.strip()}' is out of range: at most {MAX_VALUE:,} (2^63 − 1)"


def _unit_problem(unit: str, kind: Kind) -> str:
    if kind == "count" and unit in UNITS["bytes"]:
        return f"'{unit}' is a unit of memory; counts take K, M, G or T (powers of 10)"
    if kind == "pixels":
        return "a receptive field is a plain number of input pixels, without a unit"
    close = {"m": "M", "g": "G", "t": "T", "mb": "MB", "gb": "GB", "kib": "KiB", "mib": "MiB", "gib": "GiB",
             "tib": "TiB", "kb": "KB", "tb": "TB"}.get(unit.lower())
    hint = f" (did you mean '{close}'?)" if close and close in UNITS[kind] else ""
    return f"unknown unit '{unit}'{hint}; use {_unit_list(kind)}"


def _unit_list(kind: Kind) -> str:
    if kind == "count":
        return "K, M, G or T (powers of 10)"
    return "KiB, MiB, GiB, TiB (powers of 2), or KB, MB, GB, TB (powers of 10), or B"


def _what(v: Any) -> str:
    if isinstance(v, bool):
        return f"the boolean {str(v).lower()}"
    if isinstance(v, float):
        return f"the number {v} (write it as a string with a unit, e.g. '1.2G')"
    if v is None:
        return "null"
    return f"a {type(v).__name__}"


def parse_percent(text: str) -> Fraction:
    """``5%`` (or ``5``) → ``Fraction(5)``: a non-negative percentage, read exactly."""
    m = re.fullmatch(rf"\s*({_NUMBER})\s*%?\s*", text)
    if m is None:
        raise ValueError(f"'{text}' is not a percentage like 5% or 0.5%")
    value = _exact(m[1], text)
    if value > MAX_VALUE:
        raise ValueError(_too_large(text))
    return value


def parse_size(text: str) -> int:
    """A positive memory size: ``16GiB`` = 16·2³⁰ bytes, ``16G`` = ``16GB`` = 16·10⁹; ``ValueError`` otherwise."""
    value = parse(text, "bytes").value
    if value < 1:
        raise ValueError(f"'{text}' is not a positive size")
    return value
