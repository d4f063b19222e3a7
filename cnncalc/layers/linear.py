"""Fully connected layers: linear.

- applies to the last axis, as PyTorch does; when that axis is spatial (a ``[C, H, W]`` map)
  ``in_features`` must be given, otherwise a missing ``flatten`` would go unnoticed. On a
  channels-last tensor (after ``permute``) the last axis is the channels and nothing is needed.
- params: ``(in + bias)·out``
- MACs: ``in·out`` per row (rows = elements of the input / in)
- FLOPs: ``2·MACs`` plus one add per output element when there is a bias
- receptive field: the whole input along the spatial axis the layer mixes, if its last axis is
  one; unchanged when it mixes channels
- saved for backward: the input and the weight; under autocast it runs in fp16/bf16
- peer tools (see cnncalc.layers.peers): the MACs; ptflops adds one per output element for the
  bias; torchinfo counts the parameters once, whatever the number of rows
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import LayerError
from ..formula import Sym, Term, axis_names, prod
from .base import (
    RF,
    Flag,
    Layer,
    Layout,
    Pos,
    Saved,
    Shape,
    fmt_shape,
    matmul_flops,
    register,
    spatial_axes,
    torch_call,
)
from .peers import Peers, params, weights, weights_and_bias


@register("linear")
class Linear(Layer):
    """Fully connected layer (``torch.nn.Linear``); in_features is inferred."""

    prefix = "fc"
    peers = Peers(fvcore=weights, thop=weights, ptflops=weights_and_bias, torchinfo=params)
    autocast = "low"

    out_features: Pos
    in_features: Pos | None = None
    bias: Flag = True

    def infer(self, ins: Sequence[Shape]) -> Shape:
        shape = ins[0]
        if self.in_features is not None and self.in_features != shape[-1]:
            raise LayerError(f"in_features is {self.in_features} but the input's last axis is {shape[-1]}")
        return (*shape[:-1], self.out_features)

    def params_term(self, ins: Sequence[Shape]) -> Term:
        # (F_in + 1)·F_out
        f_in: Term = Sym("F_in", ins[0][-1])
        return (f_in + 1 if self.bias else f_in) * Sym("F_out", self.out_features)

    def macs_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # F_in·F_out per row; rows: every position of the leading axes
        rows = [Sym(a, n) for a, n in zip(axis_names(len(ins[0])), ins[0][:-1])]
        return prod([*rows, Sym("F_in", ins[0][-1]), Sym("F_out", self.out_features)])

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return matmul_flops(self.macs(ins, out), out, bool(self.bias))

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        return (Saved.input(ins), Saved.weight(ins[0][-1] * self.out_features))

    def saved_when(self, ins: Sequence[Shape], out: Shape, needs: Sequence[bool], trainable: bool) -> tuple[Saved, ...]:
        # addmm/matmul keep x for dL/dW = gᵀ·x and W for dL/dx = g·W, each only if that gradient is needed
        x, w = self.saved(ins, out)
        return (*((x,) if trainable else ()), *((w,) if needs[0] else ()))
    def layout(self, layouts: Sequence[Layout], ins: Sequence[Shape], out: Shape) -> Layout:
        shape, layout = ins[0], layouts[0]
        if len(shape) > 1 and layout[-1] is not None and self.in_features is None:
            raise LayerError(
                f"input is {fmt_shape(shape)}: add 'flatten' before it, or give in_features "
                "to apply it to the last axis as PyTorch does"
            )
        return (*layout[:-1], None)

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        rf = fields[0]
        return rf.whole_along(spatial_axes(rf.layout, [len(ins[0]) - 1]))

    def describe(self) -> str:
        return f"→{self.out_features}" + ("" if self.bias else " no bias")

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("nn.Linear", ins[0][-1], self.out_features, **self.torch_args("bias"))
