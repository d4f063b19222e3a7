"""The layer base class: a layer type is one Pydantic model holding its own arguments and its own rules.

The rules are the output shape, trainable parameters, buffers, MACs, FLOPs, the receptive-field
step and the tensors autograd saves for the backward pass (the receptive-field algebra is in
rf.py, the argument types in args.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ..errors import LayerError
from ..formula import ZERO, Note, Sym, Term, elements, prod
from .args import Flag, Name, Refs
from .peers import Peers, Undecided
from .records import Counts, Saved
from .rf import RF, Layout, merge_rf
from .shapes import Shape, fmt_layout, fmt_shape


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
    #: Values an argument given per spatial axis takes for each axis (2 for padding before and after).
    values_per_axis: ClassVar[int] = 1

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

    def view_gradients(self, ins: Sequence[Shape], out: Shape) -> tuple[bool, ...]:
        """Per input, whether its gradient is a view of the output's gradient (no new memory)."""
        return (self.backward_views(),) * len(ins)
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

    # -- what other tools count (``cnncalc report --convention``) --------------------------------
    #: The count of each peer tool (:class:`cnncalc.layers.peers.Peers`); None: never decided.
    peers: ClassVar[Peers | None] = None

    def peer_count(self, tool: str, ins: Sequence[Shape], out: Shape) -> int:
        """What the peer ``tool`` counts for this layer; :class:`Undecided` if the type never said."""
        if self.peers is None:
            raise Undecided(f"convention '{tool}' has not decided layer type '{self.type_name}': give "
                            f"{type(self).__name__} its peers (see docs/adding-a-layer.md)")
        rule = getattr(self.peers, tool)
        return int(rule(self, ins, out))

    # -- PyTorch export (``cnncalc export --to pytorch``) ----------------------------------------
    #: Source of helper ``nn.Module`` classes the exported file needs for this layer type.
    torch_helpers: ClassVar[tuple[str, ...]] = ()
    #: The PyTorch module returns its input or a view of it (changing the output changes the input).
    torch_view: ClassVar[bool] = False

    def torch_helper_sources(self) -> tuple[str, ...]:
        """The helper classes this layer's module needs: :attr:`torch_helpers`, unless its arguments pick others."""
        return self.torch_helpers

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


def kernel_term(k: tuple[int, ...]) -> Term:
    """The window size as a product: ``k`` (1-d), ``k_h·k_w`` (2-d), ``k_d·k_h·k_w`` (3-d)."""
    names = {1: ("k",), 2: ("k_h", "k_w"), 3: ("k_d", "k_h", "k_w")}.get(len(k))
    return prod(Sym(n, v) for n, v in zip(names or [f"k_{i + 1}" for i in range(len(k))], k))


def matmul_flops(macs: int, out: Shape, bias: bool) -> Term:
    """``2·MACs`` (a multiply and an add each) plus one add per output element for the bias."""
    t = 2 * Sym("MACs", macs)
    return t + Note(elements(out, "out"), "bias") if bias else t

