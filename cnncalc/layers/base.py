"""The layer base class, its argument types, the registry and the receptive-field algebra.

A layer type is one Pydantic model that holds its own arguments and its own rules: output
shape, trainable parameters, buffers, MACs, FLOPs and the receptive-field step. Shapes never
include the batch: ``(C, *spatial)`` for feature maps, ``(N,)`` after flatten.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Annotated, Any, ClassVar, Sequence

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from ..errors import LayerError
from ..expr import is_expr

Shape = tuple[int, ...]

#: Largest integer argument: PyTorch holds sizes in signed 64-bit integers.
MAX_INT = 2**63 - 1

# ---------------------------------------------------------------------------------------------
# argument types: strict (``true`` is not 1, ``3.0`` is not 3), and ``$expressions`` inside blocks


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
#: true/false (or ``$expr``).
Flag = Annotated[Any, PlainValidator(_flag), WithJsonSchema({"anyOf": [{"type": "boolean"}, _EXPR_SCHEMA]})]
#: A finite number (or ``$expr``).
Number = Annotated[Any, PlainValidator(_number), WithJsonSchema({"anyOf": [{"type": "number"}, _EXPR_SCHEMA]})]


def _name(v: Any) -> Any:
    if not isinstance(v, str) or not v:
        raise ValueError(f"expected a name, got {_describe(v)}")
    if "." in v or "/" in v or v.startswith("$") or v.strip() != v or len(v) > 200:
        raise ValueError(f"'{v}' is not a valid name (no '.', '/', '$' or surrounding spaces)")
    return v


def _refs(v: Any) -> Any:
    items = v if isinstance(v, list) else [v]
    if not items:
        raise ValueError("expected a layer name or a list of names")
    for x in items:
        if not isinstance(x, str) or not x:
            raise ValueError(f"expected a layer name, got {_describe(x)}")
    return tuple(items)


Name = Annotated[Any, PlainValidator(_name), WithJsonSchema({"type": "string"})]
Refs = Annotated[
    Any,
    PlainValidator(_refs),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]

# ---------------------------------------------------------------------------------------------
# receptive field


@dataclass(frozen=True, slots=True)
class AxisRF:
    """Receptive field along one input axis: size (None = the whole input), jump and centre of unit 0."""

    size: int | None
    jump: Fraction
    start: Fraction

    def window(self, k_eff: int, stride: int, pad: int) -> AxisRF:
        """r' = r + (k_eff − 1)·j,  j' = j·s,  start' = start + ((k_eff − 1)/2 − p)·j."""
        size = None if self.size is None else math.ceil(self.size + (k_eff - 1) * self.jump)
        return AxisRF(size, self.jump * stride, self.start + (Fraction(k_eff - 1, 2) - pad) * self.jump)


WHOLE_AXIS = AxisRF(None, Fraction(1), Fraction(0))


@dataclass(frozen=True, slots=True)
class RF:
    """Receptive field of a tensor over all paths (``axes``) and through spatial paths only (``local``)."""

    axes: tuple[AxisRF, ...]
    local: tuple[AxisRF, ...] | None
    mixed_jump: bool = False

    @staticmethod
    def identity(ndim: int) -> RF:
        """The field of the network input itself: one pixel, jump 1, centred on pixel 0."""
        unit = tuple(AxisRF(1, Fraction(1), Fraction(0)) for _ in range(ndim))
        return RF(unit, unit)

    def whole(self) -> RF:
        """Every unit sees the whole input (after flatten, linear or global pooling)."""
        return RF(tuple(WHOLE_AXIS for _ in self.axes), None, self.mixed_jump)

    def map(self, step: Any) -> RF:
        """Apply a per-axis step ``step(axis_index, AxisRF) -> AxisRF`` to both fields."""
        axes = tuple(a if a.size is None else step(i, a) for i, a in enumerate(self.axes))
        local = None if self.local is None else tuple(step(i, a) for i, a in enumerate(self.local))
        return RF(axes, local, self.mixed_jump)

    @property
    def is_whole(self) -> bool:
        """True when the field covers the whole input on every axis."""
        return all(a.size is None for a in self.axes)


def merge_rf(fields: Sequence[RF]) -> RF:
    """Largest field over all paths, per axis; flags paths of different jump meeting."""
    if len(fields) == 1:
        return fields[0]
    n = len(fields[0].axes)
    mixed = any(f.mixed_jump for f in fields)

    def pick(cands: list[AxisRF]) -> AxisRF:
        nonlocal mixed
        if any(a.size is None for a in cands):
            return WHOLE_AXIS
        best = max(cands, key=lambda a: (a.size, a.jump))
        if len({a.jump for a in cands}) > 1:
            mixed = True
        return best

    axes = tuple(pick([f.axes[i] for f in fields]) for i in range(n))
    locals_ = [f.local for f in fields if f.local is not None]
    local = None
    if locals_:
        local = tuple(max((loc[i] for loc in locals_), key=lambda a: (a.size, a.jump)) for i in range(n))
    return RF(axes, local, mixed)


# ---------------------------------------------------------------------------------------------
# the base class and the registry

REGISTRY: dict[str, type[Layer]] = {}
ALIASES: dict[str, str] = {}


def register(*names: str) -> Any:
    """Class decorator: register a layer type under its PyTorch-style name (and aliases)."""

    def deco(cls: type[Layer]) -> type[Layer]:
        cls.type_name = names[0]
        REGISTRY[names[0]] = cls
        for alias in names[1:]:
            ALIASES[alias] = names[0]
        return cls

    return deco


class Layer(BaseModel):
    """One layer: its arguments (validated by Pydantic) and its counting rules."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type_name: ClassVar[str] = "layer"
    #: Number of spatial axes the layer works on (1, 2, 3), or None for any.
    ndim: ClassVar[int | None] = None
    #: Smallest and largest number of inputs (None: unbounded).
    arity: ClassVar[tuple[int, int | None]] = (1, 1)
    #: Prefix for automatic names (conv1, bn1, pool1, ...).
    prefix: ClassVar[str] = "layer"

    name: Name | None = Field(None, description="layer name; automatic if omitted")
    from_: Refs | None = Field(
        None, alias="from", description="input layer name(s); the previous layer if omitted"
    )
    if_: Flag | None = Field(None, alias="if", description="when false the layer is skipped (identity)")

    # -- rules; every layer overrides what applies to it ---------------------------------------
    def infer(self, ins: Sequence[Shape]) -> Shape:
        """Output shape for the given input shapes (raise LayerError if they do not fit)."""
        return ins[0]

    def params(self, ins: Sequence[Shape]) -> int:
        """Trainable parameters."""
        return 0

    def buffers(self, ins: Sequence[Shape]) -> int:
        """Non-trainable stored values (e.g. BatchNorm running mean and variance)."""
        return 0

    def macs(self, ins: Sequence[Shape], out: Shape) -> int:
        """Multiply-accumulates of the layer's weights (conv and linear only), bias excluded."""
        return 0

    def flops(self, ins: Sequence[Shape], out: Shape) -> int:
        """Every floating-point operation, per the rule stated for the layer type."""
        return 0

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        """Receptive field of the output; element-wise layers leave it unchanged."""
        return merge_rf(fields)

    def describe(self) -> str:
        """Short human summary of the arguments (for tables)."""
        return ""

    # -- helpers --------------------------------------------------------------------------------
    def per_axis(self, value: Any, what: str) -> tuple[int, ...]:
        """Expand an int or list argument to one value per spatial axis."""
        n = self.ndim or 1
        if isinstance(value, tuple):
            if len(value) != n:
                raise LayerError(f"{what} has {len(value)} values, expected {n} (one per spatial axis)")
            return value
        return (value,) * n

    def expect_rank(self, shape: Shape, what: str = "input") -> None:
        """Require ``(C, *spatial)`` with the layer's number of spatial axes."""
        if self.ndim is not None and len(shape) != self.ndim + 1:
            want = {1: "[C, L]", 2: "[C, H, W]", 3: "[C, D, H, W]"}[self.ndim]
            raise LayerError(f"expects a {want} {what}, got {fmt_shape(shape)}")

    def label(self) -> str:
        """Type name plus short arguments, e.g. ``conv2d k3 s1 p1``."""
        d = self.describe()
        return f"{self.type_name} {d}" if d else self.type_name


def fmt_shape(shape: Shape) -> str:
    """``[16, 32, 32]``."""
    return "[" + ", ".join(str(s) for s in shape) + "]"


def numel(shape: Shape) -> int:
    """Number of elements of a shape."""
    return math.prod(shape)


def fmt_axes(values: tuple[int, ...]) -> str:
    """``3`` when all axes agree, else ``3x5``."""
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


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


def register_nd(base: type[Layer], stem: str, *alias_stems: str) -> None:
    """Register ``{stem}1d``, ``{stem}2d`` and ``{stem}3d`` variants of a family class."""
    for n in (1, 2, 3):
        name = base.__name__.removesuffix("Nd") + f"{n}d"
        cls: Any = type(name, (base,), {"ndim": n, "__doc__": base.__doc__, "__module__": base.__module__})
        register(f"{stem}{n}d", *(f"{a}{n}d" for a in alias_stems))(cls)
