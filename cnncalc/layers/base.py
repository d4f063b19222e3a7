"""The layer base class, its argument types and the registry (the receptive-field algebra is in rf.py).

A layer type is one Pydantic model that holds its own arguments and its own rules: output
shape, trainable parameters, buffers, MACs, FLOPs, the receptive-field step and the tensors
autograd saves for the backward pass. Shapes never include the batch: ``(C, *spatial)`` for
feature maps, ``(N,)`` after flatten.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from ..errors import LayerError
from ..expr import is_expr
from ..formula import ZERO, Note, Sym, Term, elements, prod
from .rf import RF, UNIT_AXIS, WHOLE_AXIS, AxisRF, Layout, channels_first, merge_rf, spatial_axes  # noqa: F401  (re-exported)

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


Name = Annotated[Any, PlainValidator(_name), WithJsonSchema({"type": "string"})]
Refs = Annotated[
    Any,
    PlainValidator(_refs),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}),
]

# ---------------------------------------------------------------------------------------------
# saved tensors

#: ``Saved.dtype`` values: the layer's activation dtype, fixed types, or the parameters' dtype.
SAVED_DTYPES = ("act", "fp32", "int64", "bool", "weights")


@dataclass(frozen=True, slots=True)
class Saved:
    """One tensor that autograd keeps for a layer's backward pass.

    ``ref`` names a tensor that already exists, so that storage shared between layers is
    counted once: ``input`` (input number ``index``), ``output`` or ``weight`` (the parameter:
    counted as weights, except for the low-precision copy autocast makes). ``ref`` None is a
    new tensor of ``elements`` values of ``dtype``, per sample unless ``per_sample`` is false.
    """

    what: str
    elements: int
    dtype: str = "act"
    ref: str | None = None
    index: int = 0
    per_sample: bool = True

    @staticmethod
    def input(ins: Sequence[Shape], index: int = 0) -> Saved:
        """The layer's input tensor itself."""
        return Saved("input" if len(ins) == 1 else f"input {index + 1}", numel(ins[index]), ref="input", index=index)

    @staticmethod
    def output(out: Shape) -> Saved:
        """The layer's output tensor itself."""
        return Saved("output", numel(out), ref="output")

    @staticmethod
    def weight(elements: int) -> Saved:
        """The layer's weight parameter (not its bias)."""
        return Saved("weight", elements, dtype="weights", ref="weight", per_sample=False)


@dataclass(frozen=True, slots=True)
class Counts:
    """A layer's figures on given input shapes: what reports, estimates and budgets add up.

    A pure function of the layer's arguments and its input shapes, so equal layers on equal
    inputs share one (see :meth:`cnncalc.graph.Graph.counts`).
    """

    params: int
    buffers: int
    macs: int
    flops: int
    #: elements per sample of library workspace (see :meth:`Layer.workspace`)
    workspace: int
    saved: tuple[Saved, ...]


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

    # defer_build: a layer type's validator is built when first used, not for all ~60 at import
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    type_name: ClassVar[str] = "layer"
    #: Number of spatial axes the layer works on (1, 2, 3), or None for any.
    ndim: ClassVar[int | None] = None
    #: Smallest and largest number of inputs (None: unbounded).
    arity: ClassVar[tuple[int, int | None]] = (1, 1)
    #: Prefix for automatic names (conv1, bn1, pool1, ...).
    prefix: ClassVar[str] = "layer"
    #: Under mixed precision (``torch.autocast`` on CUDA): ``low`` runs in fp16/bf16 (conv,
    #: linear), ``fp32`` runs in fp32 (normalisations over features, softmax), ``same`` keeps
    #: the dtype of its inputs.
    autocast: ClassVar[str] = "same"
    #: True for layers that read axis 0 as channels and the rest as spatial axes ([C, H, W]).
    spatial: ClassVar[bool] = False

    name: Name | None = Field(None, description="layer name; automatic if omitted")
    from_: Refs | None = Field(
        None, alias="from", description="input layer name(s); the previous layer if omitted"
    )
    if_: Flag | None = Field(None, alias="if", description="when false the layer is skipped (identity)")
    frozen: Flag | None = Field(
        None, description="true: its parameters get no gradient (PyTorch's requires_grad_(False)); "
        "false: trainable inside a frozen group; omitted: as its group"
    )

    # -- rules; every layer overrides what applies to it ---------------------------------------
    # The counts are terms (cnncalc.formula) so that `cnncalc explain` prints the very
    # arithmetic that params(), buffers(), macs() and flops() evaluate.
    def infer(self, ins: Sequence[Shape]) -> Shape:
        """Output shape for the given input shapes (raise LayerError if they do not fit)."""
        terms = self.out_terms(ins)
        return ins[0] if terms is None else tuple(int(t) for t in terms)

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...] | None:
        """The output sizes as terms, for layers that compute them (``infer`` evaluates these)."""
        return None

    def params_term(self, ins: Sequence[Shape]) -> Term:
        """Trainable parameters, as a term."""
        return ZERO

    def buffers_term(self, ins: Sequence[Shape]) -> Term:
        """Non-trainable stored values (e.g. BatchNorm running mean and variance), as a term."""
        return ZERO

    def macs_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        """Multiply-accumulates of the layer's weights (conv and linear only), bias excluded."""
        return ZERO

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        """Every floating-point operation, per the rule stated for the layer type."""
        return ZERO

    def params(self, ins: Sequence[Shape]) -> int:
        """Trainable parameters."""
        return int(self.params_term(ins))

    def buffers(self, ins: Sequence[Shape]) -> int:
        """Non-trainable stored values."""
        return int(self.buffers_term(ins))

    def macs(self, ins: Sequence[Shape], out: Shape) -> int:
        """Multiply-accumulates of the layer's weights, bias excluded."""
        return int(self.macs_term(ins, out))

    def flops(self, ins: Sequence[Shape], out: Shape) -> int:
        """Every floating-point operation."""
        return int(self.flops_term(ins, out))

    def counts(self, ins: Sequence[Shape], out: Shape) -> Counts:
        """Every count at once: parameters, buffers, MACs, FLOPs, workspace and saved tensors."""
        return Counts(self.params(ins), self.buffers(ins), self.macs(ins, out), self.flops(ins, out),
                      self.workspace(ins, out), self.saved(ins, out))

    def rf_window(self, ins: Sequence[Shape]) -> tuple[tuple[Term, Term | int, int], ...] | None:
        """Per spatial axis ``(k_eff − 1, stride, padding before)`` for layers that slide a window."""
        return None

    def rf_dilation(self, ins: Sequence[Shape]) -> tuple[int, ...] | None:
        """Per spatial axis, the distance between the window's taps (None: 1, every position)."""
        return None

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        """Receptive field of the output; a sliding window grows it, element-wise layers keep it."""
        window = self.rf_window(ins)
        if window is not None:
            f = fields[0]
            # the taps between the window's ends matter only to fields that differ between units
            phased = any(len(a.lo) > 1 for a in f.axes) or any(len(a.lo) > 1 for a in f.local or ())
            dil = self.rf_dilation(ins) if phased else None
            if dil is None:
                return f.map(lambda i, a: a.window(*window[i]))
            return f.map(lambda i, a: a.window(*window[i], dil[i]))
        return merge_rf(fields)

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        """Tensors autograd keeps for the backward pass: none unless the layer type states its own rule."""
        return ()

    def saved_when(self, ins: Sequence[Shape], out: Shape, needs: Sequence[bool], trainable: bool) -> tuple[Saved, ...]:
        """What autograd keeps when only the inputs flagged in ``needs`` require grad, and the
        parameters do only if ``trainable`` (false: frozen, or none).

        Nothing when nothing requires grad (PyTorch builds no backward node); otherwise
        :meth:`saved`, which every type whose formulas keep a tensor for one gradient only narrows.
        """
        return self.saved(ins, out) if trainable or any(needs) else ()

    def output_storage(self) -> str:
        """``new`` tensor, ``in-place`` (the input's storage, modified) or ``view`` of the input."""
        return "new"

    def workspace(self, ins: Sequence[Shape], out: Shape) -> int:
        """Elements per sample (activation dtype) of library workspace while the layer runs."""
        return 0

    def backward_views(self) -> bool:
        """True when the gradients of the inputs are views of the output's gradient (no new memory)."""
        return False
    def layout(self, layouts: Sequence[Layout], ins: Sequence[Shape], out: Shape) -> Layout:
        """Which input spatial axis each output axis runs along (raise LayerError if the input's does not suit)."""
        first = layouts[0]
        # axis 0 must hold no spatial axis, and the spatial axes must come in order (axis 1 + i
        # holds spatial axis i, or a later one once an axis was reduced or selected away)
        carried = [a for a in first if a is not None]
        in_order = first[0] is None and carried == sorted(carried)
        if self.spatial and not in_order:
            raise LayerError(
                f"expects a channels-first input, got one laid out {fmt_layout(first)}; permute it back first"
            )
        same = [lay for lay in layouts if len(lay) == len(out)]
        return same[0] if same else (None,) * len(out)

    def describe(self) -> str:
        """Short human summary of the arguments (for tables)."""
        return ""

    # -- PyTorch export (``cnncalc export --to pytorch``) ----------------------------------------
    #: Source of helper ``nn.Module`` classes the exported file needs for this layer type.
    torch_helpers: ClassVar[tuple[str, ...]] = ()
    #: The PyTorch module returns its input or a view of it (changing the output changes the input).
    torch_view: ClassVar[bool] = False

    def torch_module(self, ins: Sequence[Shape]) -> str:
        """Python source constructing the ``torch.nn`` module that computes this layer."""
        raise NotImplementedError(f"layer type '{self.type_name}' has no PyTorch export")

    def torch_args(self, *names: str) -> dict[str, Any]:
        """The named arguments whose values differ from their defaults (PyTorch shares the defaults)."""
        out = {}
        for n in names:
            v, default = getattr(self, n), type(self).model_fields[n].default
            if type(v) is not type(default) or v != default:
                out[n] = v
        return out

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


def torch_call(ctor: str, *args: Any, **kwargs: Any) -> str:
    """A constructor call as Python source: ``nn.Conv2d(3, 64, kernel_size=7, bias=False)``."""
    return f"{ctor}(" + ", ".join([*map(_py, args), *(f"{k}={_py(v)}" for k, v in kwargs.items())]) + ")"


def _py(v: Any) -> str:
    """An argument value as Python source (lists as tuples)."""
    if isinstance(v, (list, tuple)):
        items = [_py(x) for x in v]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return f'"{v}"' if isinstance(v, str) else repr(v)
def fmt_layout(layout: Layout) -> str:
    """``[H, W, C]``: the axes of a tensor, spatial axes by letter, feature axes as C."""
    letters = {1: "L", 2: "HW", 3: "DHW"}.get(sum(a is not None for a in layout), "")
    return "[" + ", ".join("C" if a is None else (letters[a] if a < len(letters) else f"S{a}") for a in layout) + "]"


def fmt_shape(shape: Shape) -> str:
    """``[16, 32, 32]``."""
    return "[" + ", ".join(str(s) for s in shape) + "]"


def numel(shape: Shape) -> int:
    """Number of elements of a shape."""
    return math.prod(shape)


def kernel_term(k: tuple[int, ...]) -> Term:
    """The window size as a product: ``k`` (1-d), ``k_h·k_w`` (2-d), ``k_d·k_h·k_w`` (3-d)."""
    names = {1: ("k",), 2: ("k_h", "k_w"), 3: ("k_d", "k_h", "k_w")}.get(len(k))
    return prod(Sym(n, v) for n, v in zip(names or [f"k_{i + 1}" for i in range(len(k))], k))


def matmul_flops(macs: int, out: Shape, bias: bool) -> Term:
    """``2·MACs`` (a multiply and an add each) plus one add per output element for the bias."""
    t = 2 * Sym("MACs", macs)
    return t + Note(elements(out, "out"), "bias") if bias else t


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
