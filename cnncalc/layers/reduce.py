"""Reductions over given axes: max, min, amax, amin, mean and sum (PyTorch's functions).

``dim`` counts the batch as 0 (PyTorch numbering) and may not name it; ``keepdim: true`` keeps
each reduced axis with size 1. ``max`` and ``min`` are ``torch.max(x, dim)[0]`` (one axis, the
values); ``amax``, ``amin``, ``mean`` and ``sum`` take one axis or a list.

- params, buffers, MACs: 0
- FLOPs (E_in input elements, E_out output elements): max, min, amax, amin ``E_in − E_out``
  comparisons; sum ``E_in − E_out`` adds; mean ``E_in`` (the adds and one divide per output),
  as global average pooling
- receptive field: reducing over a spatial axis makes the field whole along it
- saved for backward, as PyTorch's derivative formulas: max and min keep only the indices
  (int64, one per output element; ``torch.max(x, 2)`` on PointNet's ``[1024, 2500]`` keeps 8 KiB
  per sample where ``globalmaxpool`` keeps the 10 MB input too); amax and amin keep the input and
  the output (the gradient is shared among equal maxima); mean and sum keep nothing
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from ..errors import LayerError
from ..formula import Sym, Term, axis_names, elements
from .base import RF, AnyInt, AnyIntN, Flag, Layer, Layout, Saved, Shape, numel, register, spatial_axes, torch_call
from .merge import _dim
from .peers import UNCOUNTED


class Reduction(Layer):
    """Reduces the input over the axes ``dim`` (0 is the batch), keeping them as size 1 with ``keepdim``."""

    prefix = "reduce"
    # tensor methods in the exported forward: no module hook, no counted op
    peers = UNCOUNTED
    #: The PyTorch function: ``torch.<function>(x, dim, keepdim)``.
    function: ClassVar[str] = ""
    dim: AnyIntN
    keepdim: Flag = False

    def axes(self, shape: Shape) -> tuple[int, ...]:
        """The reduced axes, as indices into the batch-less shape, in order."""
        dims = self.dim if isinstance(self.dim, tuple) else (self.dim,)
        axes = [_dim(d, len(shape)) for d in dims]
        if len(set(axes)) != len(axes):
            raise LayerError(f"dim {list(dims)} names an axis twice (as PyTorch refuses)")
        if not self.keepdim and len(axes) == len(shape):
            raise LayerError("would leave no axis but the batch; give keepdim: true, or fewer axes")
        return tuple(sorted(axes))

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        shape = ins[0]
        axes = self.axes(shape)
        names = axis_names(len(shape))
        return tuple(Sym(a, 1 if i in axes else n) for i, (a, n) in enumerate(zip(names, shape))
                     if self.keepdim or i not in axes)

    def infer(self, ins: Sequence[Shape]) -> Shape:
        axes = self.axes(ins[0])
        return tuple(1 if i in axes else n for i, n in enumerate(ins[0]) if self.keepdim or i not in axes)

    def layout(self, layouts: Sequence[Layout], ins: Sequence[Shape], out: Shape) -> Layout:
        if self.keepdim:
            return layouts[0]
        axes = self.axes(ins[0])
        return tuple(a for i, a in enumerate(layouts[0]) if i not in axes)

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        return fields[0].whole_along(spatial_axes(fields[0].layout, self.axes(ins[0])))

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # one comparison or add per input element but the first of each output
        return elements(ins[0], "in") - elements(out, "out")

    def describe(self) -> str:
        dims = ", ".join(map(str, self.dim)) if isinstance(self.dim, tuple) else str(self.dim)
        return f"dim {dims}" + (" keepdim" if self.keepdim else "")

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call(self.function.capitalize(), self.dim, **self.torch_args("keepdim"))


def _helper(function: str) -> tuple[str, ...]:
    """The helper module calling ``torch.<function>`` (its values only, for max and min)."""
    index = "[0]" if function in ("max", "min") else ""
    return (_HELPER.format(cls=function.capitalize(), function=function, index=index),)


_HELPER = '''class {cls}(nn.Module):
    """torch.{function}(x, dim, keepdim){index} (0 is the batch)."""

    def __init__(self, dim: int | tuple[int, ...], keepdim: bool = False) -> None:
        super().__init__()
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.{function}(x, self.dim, self.keepdim){index}
'''


@register("max")
class Max(Reduction):
    """``torch.max(x, dim)[0]``: the largest value along one axis; keeps only the indices for backward."""

    prefix = "max"
    function = "max"
    torch_helpers = _helper("max")
    dim: AnyInt

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        return (Saved("indices", numel(out), "int64"),)


@register("min")
class Min(Max):
    """``torch.min(x, dim)[0]``: the smallest value along one axis; keeps only the indices for backward."""

    prefix = "min"
    function = "min"
    torch_helpers = _helper("min")


@register("amax")
class Amax(Reduction):
    """``torch.amax(x, dim)``: the largest value over the axes; keeps the input and the output for backward."""

    prefix = "amax"
    function = "amax"
    torch_helpers = _helper("amax")

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        return (Saved.input(ins), Saved.output(out))


@register("amin")
class Amin(Amax):
    """``torch.amin(x, dim)``: the smallest value over the axes; keeps the input and the output for backward."""

    prefix = "amin"
    function = "amin"
    torch_helpers = _helper("amin")


@register("mean")
class Mean(Reduction):
    """``torch.mean(x, dim)``: the average over the axes; keeps nothing for backward."""

    prefix = "mean"
    function = "mean"
    torch_helpers = _helper("mean")

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # E_in − E_out adds and E_out divides
        return elements(ins[0], "in")


@register("sum")
class Sum(Reduction):
    """``torch.sum(x, dim)``: the total over the axes; keeps nothing for backward."""

    prefix = "sum"
    function = "sum"
    torch_helpers = _helper("sum")
