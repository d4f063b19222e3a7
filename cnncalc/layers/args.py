"""The argument types of layers: strict (``true`` is not 1, ``3.0`` is not 3), and ``$expressions`` inside blocks.

Each type is a Pydantic ``Annotated`` validator with its JSON schema, so that the layer classes,
the input format and ``cnncalc schema`` agree on what an argument accepts.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from ..expr import is_expr

#: Largest integer argument: PyTorch holds sizes in signed 64-bit integers.
MAX_INT = 2**63 - 1

class Expr(str):
    """An unevaluated ``$expression``; replaced by its value when a block is instantiated."""


_EXPR_SCHEMA = {"type": "string", "pattern": r"^\$", "description": "expression over block arguments"}


def _describe(v: Any) -> str:
    if isinstance(v, bool):
        return f"the boolean {str(v).lower()}"
    if v is None:
        return "null"
    if isinstance(v, float):
        return f"the number {v}"
    if isinstance(v, str):
        return f"the string '{v}'" if len(v) < 40 else "a string"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return repr(v)


def _int(minimum: int) -> Any:
    def check(v: Any) -> Any:
        if is_expr(v):
            return Expr(v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"expected an integer, got {_describe(v)}")
        if v < minimum:
            raise ValueError(f"must be {'positive' if minimum == 1 else f'at least {minimum}'}, got {v}")
        if v > MAX_INT:
            raise ValueError("must be at most 2^63 − 1, the largest size PyTorch can hold")
        return v

    return check


def _ints(minimum: int) -> Any:
    one = _int(minimum)

    def check(v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            if not v:
                raise ValueError("expected an integer or a non-empty list of integers")
            return tuple(one(x) for x in v)
        return one(v)

    return check


def _flag(v: Any) -> Any:
    if is_expr(v):
        return Expr(v)
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {_describe(v)}")
    return v


def _number(v: Any) -> Any:
    if is_expr(v):
        return Expr(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"expected a number, got {_describe(v)}")
    if not math.isfinite(v):
        raise ValueError(f"expected a finite number, got {v}")
    return v


#: How a description writes infinity where JSON has none (YAML's ``.inf`` and ``-.inf`` work too).
_INFINITIES = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf}


def _fill(v: Any) -> Any:
    """A fill value: a number, ±infinity too (TF-'same' max pooling pads with −inf), not NaN."""
    if isinstance(v, str) and v in _INFINITIES:
        return _INFINITIES[v]
    if is_expr(v):
        return Expr(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"expected a number, or \"inf\" or \"-inf\", got {_describe(v)}")
    if math.isnan(v):
        raise ValueError("expected a number or ±infinity (\"-inf\", or -.inf in YAML), got NaN")
    return v


def _fill_json(v: Any) -> Any:
    """Infinity as the string JSON can hold (``"-inf"``), which :func:`_fill` reads back."""
    return ("inf" if v > 0 else "-inf") if isinstance(v, float) and math.isinf(v) else v


#: A number, ±infinity included (``"-inf"``, YAML's ``-.inf``), or ``$expr``.
Fill = Annotated[Any, PlainValidator(_fill), PlainSerializer(_fill_json, when_used="json"),
                 WithJsonSchema({"anyOf": [{"type": "number"}, {"enum": sorted(_INFINITIES)}, _EXPR_SCHEMA]})]


def _int_schema(minimum: int) -> dict[str, Any]:
    return {"anyOf": [{"type": "integer", "minimum": minimum}, _EXPR_SCHEMA]}


def _ints_schema(minimum: int) -> dict[str, Any]:
    one = _int_schema(minimum)
    return {"anyOf": [*one["anyOf"], {"type": "array", "minItems": 1, "items": one}]}


#: A positive integer (or ``$expr``).
Pos = Annotated[Any, PlainValidator(_int(1)), WithJsonSchema(_int_schema(1))]
#: A non-negative integer (or ``$expr``).
NonNeg = Annotated[Any, PlainValidator(_int(0)), WithJsonSchema(_int_schema(0))]
#: Any integer (or ``$expr``), e.g. a dimension index.
AnyInt = Annotated[Any, PlainValidator(_int(-(10**9))), WithJsonSchema(_int_schema(-(10**9)))]
#: A positive integer or one per spatial axis.
PosN = Annotated[Any, PlainValidator(_ints(1)), WithJsonSchema(_ints_schema(1))]
#: A non-negative integer or one per spatial axis.
NonNegN = Annotated[Any, PlainValidator(_ints(0)), WithJsonSchema(_ints_schema(0))]
#: Any integer or a list of them (negative padding, axes to reduce over).
AnyIntN = Annotated[Any, PlainValidator(_ints(-(10**9))), WithJsonSchema(_ints_schema(-(10**9)))]
def _positive_number(v: Any) -> Any:
    if is_expr(v):
        return Expr(v)
    v = _number(v)
    if v <= 0:
        raise ValueError(f"must be positive, got {v}")
    return v


def _positive_numbers(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        if not v:
            raise ValueError("expected a number or a non-empty list of numbers")
        return tuple(_positive_number(x) for x in v)
    return _positive_number(v)


_POSITIVE_NUMBER_SCHEMA = {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, _EXPR_SCHEMA]}

#: A positive finite number or one per spatial axis (or ``$expr``), e.g. a scale factor.
PosNumberN = Annotated[
    Any,
    PlainValidator(_positive_numbers),
    WithJsonSchema({"anyOf": [*_POSITIVE_NUMBER_SCHEMA["anyOf"],
                              {"type": "array", "minItems": 1, "items": _POSITIVE_NUMBER_SCHEMA}]}),
]
class Like(str):
    """``like <layer>``: a size taken from that layer's output (its spatial sizes), resolved when wired."""

    @property
    def ref(self) -> str:
        """The name of the layer whose output gives the size."""
        return self[len("like "):].strip()


def _sizes(v: Any) -> Any:
    if isinstance(v, str) and v.startswith("like ") and v[len("like "):].strip():
        return Like(v)
    if isinstance(v, str) and not is_expr(v):
        raise ValueError(f"expected a size, a list of sizes, or 'like <layer>', got {_describe(v)}")
    return _ints(1)(v)


#: A positive size or one per spatial axis (or ``$expr``), or ``like <layer>``: the spatial sizes
#: of that layer's output, so that the size follows ``--input``.
SizeN = Annotated[
    Any,
    PlainValidator(_sizes),
    WithJsonSchema({"anyOf": [*_ints_schema(1)["anyOf"],
                              {"type": "string", "pattern": r"^like \S", "description": "like <layer>: the "
                               "spatial sizes of that layer's output"}]}),
]

#: true/false (or ``$expr``).
Flag = Annotated[Any, PlainValidator(_flag), WithJsonSchema({"anyOf": [{"type": "boolean"}, _EXPR_SCHEMA]})]
#: A finite number (or ``$expr``).
Number = Annotated[Any, PlainValidator(_number), WithJsonSchema({"anyOf": [{"type": "number"}, _EXPR_SCHEMA]})]


def _name(v: Any) -> Any:
    if not isinstance(v, str) or not v:
        raise ValueError(f"expected a name, got {_describe(v)}")
    if "." in v or "/" in v or v.startswith("$") or v.strip() != v or len(v) > 200 or not v.isprintable():
        raise ValueError(f"{v!r} is not a valid name (no '.', '/', '$', control characters or surrounding spaces)")
    return v


def _refs(v: Any) -> Any:
    items = list(v) if isinstance(v, (list, tuple)) else [v]
    if not items:
        raise ValueError("expected a layer name or a list of names")
    for x in items:
        if not isinstance(x, str) or not x:
            raise ValueError(f"expected a layer name, got {_describe(x)}")
    return tuple(items)


def _layer_name(v: Any) -> Any:
    """A layer's, group's or call's name: a name, or names joined by '.' (``bns.0``).

    A dotted name is a path whose upper levels are not groups: PyTorch's ``nn.ModuleList`` is a
    container that is never called, so its items run interleaved with other modules (Res2Net's
    ``convs.0``, ``bns.0``, ``convs.1``, ...) and can only be rows of their caller, named by path.
    """
    if not isinstance(v, str) or "." not in v:
        return _name(v)
    if len(v) > 200 or not all(part and part.strip() == part for part in v.split(".")):
        raise ValueError(f"{v!r} is not a valid name (a dotted name joins names: no empty part, no spaces around one)")
    for part in v.split("."):
        try:
            _name(part)
        except ValueError:
            raise ValueError(f"{v!r} is not a valid name (no '/', '$', control characters or surrounding spaces "
                             "in any of its parts)") from None
        if part == "*":
            raise ValueError(f"{v!r} is not a valid name ('*' stands for any one part in a reference)")
    return v


#: A layer's name; a block's and a group input's are :func:`_name` (no '.').
Name = Annotated[Any, PlainValidator(_layer_name), WithJsonSchema({"type": "string"})]
Refs = Annotated[
    Any,
    PlainValidator(_refs),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}),
]


def _padding(v: Any) -> Any:
    if v in ("same", "valid"):
        return v
    return _ints(0)(v)


#: ``padding``: an int, one per axis, ``same`` or ``valid``.
Padding = Annotated[
    Any,
    PlainValidator(_padding),
    WithJsonSchema({"anyOf": [*_ints_schema(0)["anyOf"], {"enum": ["same", "valid"]}]}),
]


def choice(*options: str) -> Any:
    """A string restricted to ``options`` (or ``$expr``)."""

    def check(v: Any) -> Any:
        if is_expr(v):
            return Expr(v)
        if v not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {_describe(v)}")
        return v

    return Annotated[Any, PlainValidator(check), WithJsonSchema({"enum": list(options)})]

