"""Element-wise activations and softmax.

FLOPs per output element, counting exp, erf and tanh as one operation each:

=============  ====  =====================================================
relu           1     one comparison
relu6          2     two comparisons (clamp to [0, 6])
hardtanh       2     two comparisons (clamp to [min_val, max_val])
leakyrelu      2     comparison, multiply
prelu          2     comparison, multiply (params: num_parameters, 1 or C)
elu            4     comparison, exp, subtract, multiply
gelu           5     x/√2, erf, add 1, multiply by x, multiply by ½ (9 with the tanh approximation)
sigmoid        4     negate, exp, add 1, divide
tanh           1     tanh
silu           5     sigmoid, multiply
hardsigmoid    4     add 3, two comparisons, divide by 6
hardswish      5     hardsigmoid, multiply
softmax        5     running max, subtract, exp, sum, divide
log_softmax    5     running max, subtract, exp, sum, subtract the log of the sum (+ one log per row)
scale          1     multiply by a constant (``x * value``)
shift          1     add a constant (``x + value``)
=============  ====  =====================================================

Saved for backward, as PyTorch's derivative formulas use ``self`` (the input) or ``result``
(the output). ``inplace: true`` writes the output over the input's storage; a formula that
needs ``result`` then shares that storage, one that needs ``self`` makes autograd keep a copy
of the input taken before it is overwritten:

==========================================  ==========  ===================
type                                        keeps       with inplace: true
==========================================  ==========  ===================
relu, sigmoid, tanh, softmax, log_softmax   output      output (shared)
leakyrelu, elu                              input       output (shared)
relu6, hardtanh, silu, hardsigmoid,         input       a copy of the input
hardswish, gelu
prelu                                       input       a copy of the input
==========================================  ==========  ===================

scale and shift keep nothing (the derivative of ``x * value`` is the constant ``value``).

Peer tools (see cnncalc.layers.peers): fvcore counts none of them; thop counts prelu (one per
element) and softmax (per row of n: n exps, n − 1 adds, n divides); ptflops counts per element
relu, prelu, elu and gelu twice (module hook and patched function), leakyrelu, relu6 and silu
once, softmax once, the others not; torchinfo counts prelu's weight.

prelu runs in fp16/bf16 under autocast, softmax and log_softmax in fp32.

Receptive field: unchanged, except that softmax and log_softmax along a spatial axis make it
whole along it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ..errors import LayerError
from ..formula import Div, Num, Sym, Term, elements
from .base import RF, AnyInt, Flag, Layer, Number, Pos, Saved, Shape, choice, numel, register, spatial_axes, torch_call
from .peers import UNCOUNTED, Peers, nothing, params, per_output


class Activation(Layer):
    """An element-wise activation: output shape equals input shape."""

    prefix = "act"
    #: FLOPs per element.
    cost: ClassVar[int] = 1
    #: What the derivative formula uses: ``input`` (self) or ``output`` (result).
    keeps: ClassVar[str] = "input"
    #: What the in-place form keeps: ``output`` (shared storage) or ``copy`` (of the input).
    keeps_inplace: ClassVar[str] = "copy"
    #: The ``torch.nn`` class, and the arguments it takes.
    torch_class: ClassVar[str] = ""
    torch_fields: ClassVar[tuple[str, ...]] = ("inplace",)

    inplace: Flag = False

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return Num(self.cost) * elements(out)

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        keeps = self.keeps_inplace if self.inplace else self.keeps
        if keeps == "copy":
            return (Saved("copy of the input", numel(ins[0])),)
        return (Saved.output(out),) if keeps == "output" else (Saved.input(ins),)

    def output_storage(self) -> str:
        return "in-place" if self.inplace else "new"

    def torch_module(self, ins: Sequence[Shape]) -> str:
        if not self.torch_class:
            return super().torch_module(ins)
        return torch_call(f"nn.{self.torch_class}", **self.torch_args(*self.torch_fields))


def _ptflops(per_element: int) -> Peers:
    """An activation only ptflops counts: ``per_element`` (module hook and/or patched function)."""
    return Peers(fvcore=nothing, thop=nothing, ptflops=per_output(per_element), torchinfo=nothing)


def _activation(name: str, cost: int, doc: str, aliases: tuple[str, ...] = (), *, ptflops: int,
                keeps: str = "input", keeps_inplace: str = "copy", torch: str = "", inplace: bool = True,
                **fields: Any) -> None:
    """Register a simple activation: ``cost`` FLOPs per element, what ptflops counts per element
    (the other tools count none), what it keeps for backward, and ``torch.nn.<torch>`` in
    PyTorch (``inplace``: whether that module takes an ``inplace`` flag)."""
    ns: dict[str, Any] = {"cost": cost, "__doc__": doc, "prefix": name, "__module__": __name__,
                          "keeps": keeps, "keeps_inplace": keeps_inplace, "peers": _ptflops(ptflops),
                          "torch_class": torch, "torch_fields": (*fields, *(("inplace",) if inplace else ()))}
    annotations: dict[str, Any] = {}
    for field, (typ, default) in fields.items():
        annotations[field] = typ
        ns[field] = default
    ns["__annotations__"] = annotations
    register(name, *aliases)(type(name.capitalize(), (Activation,), ns))


_activation("relu", 1, "Rectified linear unit, max(0, x).", keeps="output", keeps_inplace="output", torch="ReLU",
            ptflops=2)
_activation("relu6", 2, "ReLU clamped to [0, 6].", torch="ReLU6", ptflops=1)
_activation(
    "leakyrelu", 2, "Leaky ReLU: x if x > 0 else negative_slope·x.", ("leaky_relu",), keeps_inplace="output",
    torch="LeakyReLU", ptflops=1, negative_slope=(Number, 0.01),
)
_activation("elu", 4, "Exponential linear unit.", keeps_inplace="output", torch="ELU", ptflops=2,
            alpha=(Number, 1.0))
_activation("sigmoid", 4, "Logistic sigmoid 1/(1 + e^−x).", keeps="output", keeps_inplace="output",
            torch="Sigmoid", inplace=False, ptflops=0)
_activation("tanh", 1, "Hyperbolic tangent.", keeps="output", keeps_inplace="output", torch="Tanh", inplace=False,
            ptflops=0)
_activation("silu", 5, "SiLU / swish: x·sigmoid(x).", torch="SiLU", ptflops=1)
_activation("hardsigmoid", 4, "Hard sigmoid: relu6(x + 3)/6.", torch="Hardsigmoid", ptflops=0)
_activation("hardswish", 5, "Hard swish: x·relu6(x + 3)/6.", torch="Hardswish", ptflops=0)


@register("hardtanh")
class Hardtanh(Activation):
    """Hard tanh (``torch.nn.Hardtanh``): x clamped to [min_val, max_val]; relu6 is hardtanh(0, 6)."""

    prefix = "hardtanh"
    cost = 2  # two comparisons
    # no tool counts it: ptflops hooks nn.ReLU6, a subclass, but not nn.Hardtanh, and patches no F.hardtanh
    peers = UNCOUNTED
    torch_class = "Hardtanh"
    torch_fields = ("min_val", "max_val", "inplace")
    min_val: Number = -1.0
    max_val: Number = 1.0

    def infer(self, ins: Sequence[Shape]) -> Shape:
        if not self.max_val > self.min_val:
            raise LayerError(f"max_val {self.max_val:g} must be greater than min_val {self.min_val:g} (as PyTorch)")
        return ins[0]


@register("gelu")
class Gelu(Activation):
    """Gaussian error linear unit: x·Φ(x) (exact), or its tanh approximation."""

    prefix = "gelu"
    peers = _ptflops(2)
    torch_class = "GELU"
    torch_fields = ("approximate",)
    approximate: choice("none", "tanh") = "none"  # type: ignore[valid-type]

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return Num(9 if self.approximate == "tanh" else 5) * elements(out)


@register("prelu")
class PRelu(Activation):
    """Parametric ReLU: one learnable slope, or one per channel (``num_parameters``)."""

    prefix = "prelu"
    # thop's count_prelu: one per element; ptflops: module hook and F.prelu; torchinfo: its weight
    peers = Peers(fvcore=nothing, thop=per_output(1), ptflops=per_output(2), torchinfo=params)
    autocast = "low"
    cost = 2
    torch_class = "PReLU"
    torch_fields = ("num_parameters", "init")
    num_parameters: Pos = 1
    init: Number = 0.25

    def infer(self, ins: Sequence[Shape]) -> Shape:
        if self.num_parameters not in (1, ins[0][0]):
            raise LayerError(f"num_parameters must be 1 or the {ins[0][0]} input channels, got {self.num_parameters}")
        return ins[0]

    def params_term(self, ins: Sequence[Shape]) -> Term:
        return Sym("num_parameters", self.num_parameters)

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        return (*super().saved(ins, out), Saved.weight(self.num_parameters))


class _Normalised(Layer):
    """A softmax-like layer along ``dim``: keeps its output for backward, runs in fp32 under autocast."""

    autocast = "fp32"
    dim: AnyInt = -1

    def infer(self, ins: Sequence[Shape]) -> Shape:
        rank = len(ins[0]) + 1
        if not -rank <= self.dim < rank or self.dim in (0, -rank):
            raise LayerError(f"dim {self.dim} is not a non-batch axis of a {rank}-d tensor")
        return ins[0]

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        return (Saved.output(out),)

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        axis = self.dim % (len(ins[0]) + 1) - 1  # PyTorch numbering (0 the batch) to a batch-less index
        return fields[0].whole_along(spatial_axes(fields[0].layout, [axis]))


@register("softmax")
class Softmax(_Normalised):
    """Softmax along ``dim`` (PyTorch numbering: 0 is the batch, 1 the channels; default -1)."""

    prefix = "softmax"
    # thop: n exps, n − 1 adds and n divides per row of n; ptflops (F.softmax): one per element
    peers = Peers(fvcore=nothing, thop=lambda layer, ins, out: layer.thop_count(ins, out), ptflops=per_output(1),
                  torchinfo=nothing)

    def thop_count(self, ins: Sequence[Shape], out: Shape) -> int:
        """thop's softmax hook: rows · (3n − 1) for the n entries along ``dim``."""
        n = (1, *ins[0])[self.dim]
        return numel(out) // n * (3 * n - 1)

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return Num(5) * elements(out)

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("nn.Softmax", dim=self.dim)


@register("log_softmax", "logsoftmax")
class LogSoftmax(_Normalised):
    """Log of the softmax along ``dim`` (``torch.nn.LogSoftmax``; 0 is the batch, default -1)."""

    prefix = "logsoftmax"
    peers = UNCOUNTED

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # 5 per element, and one log per row of the n entries along dim
        n = (1, *ins[0])[self.dim]
        return Num(5) * elements(out) + Div(elements(out), Sym("n", n))

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("nn.LogSoftmax", dim=self.dim)


class _Constant(Layer):
    """An element-wise operation with a constant: one FLOP per element, nothing kept for backward."""

    #: The Python operator applied to the input and the value.
    operator: ClassVar[str] = ""
    # the * and + operators: no module hook, no patched function, no counted aten op
    peers = UNCOUNTED
    value: Number

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return elements(out)

    def describe(self) -> str:
        return f"×{self.value:g}" if self.operator == "*" else f"{self.value:+g}"

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call(type(self).__name__, self.value)


# the * and + operators, as a model's forward writes them (torch.mul and torch.add would be
# counted by ptflops, which patches those functions)
_CONSTANT_HELPER = '''class {cls}(nn.Module):
    """x {op} value, for a constant value."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x {op} self.value
'''


@register("scale")
class Scale(_Constant):
    """Multiplies by a constant ``value`` (``x * value``; ``x / d`` is ``value: 1/d``)."""

    prefix = "scale"
    operator = "*"
    torch_helpers = (_CONSTANT_HELPER.format(cls="Scale", op="*"),)


@register("shift")
class Shift(_Constant):
    """Adds a constant ``value`` (``x + value``; ``x − c`` is ``value: −c``)."""

    prefix = "shift"
    operator = "+"
    torch_helpers = (_CONSTANT_HELPER.format(cls="Shift", op="+"),)
