"""Layers that change a tensor's shape or layout without touching its values: reshape, contiguous, stack.

- contiguous: ``x.contiguous()`` on a permuted tensor copies it into a new one: 0 FLOPs, no
  parameters, nothing saved; its output is new memory (the gradient passes through unchanged)
- peer tools: none counts either (no hook, no handled op, no parameter)
- reshape: ``x.view(x.shape[0], *shape)``: the same elements in a new shape (one size may be
  -1, inferred); 0 FLOPs, no parameters, a view of its input (no memory, nothing saved)
- receptive field: trailing axes that keep their size keep their field and their spatial axis
  (one of size 1 becomes a feature axis); a spatial axis merged or split into others makes the
  field whole along it (as flatten does)
- stack: ``torch.stack(xs, dim)``: inputs of equal shape joined along a new axis of size
  ``inputs`` at ``dim`` (0 is the batch; default 1); 0 FLOPs, no parameters, nothing saved (the
  gradient of each input is a view of the output's); its output is new memory; peer tools: none
  counts it; receptive field: the largest over its inputs, per axis (the new axis carries no position)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import LayerError
from ..formula import Sym, Term, axis_names
from .base import RF, AnyInt, Layer, Layout, Shape, fmt_shape, numel, register, spatial_axes, torch_call
from .peers import UNCOUNTED


@register("reshape", "view")
class Reshape(Layer):
    """``x.view(x.shape[0], *shape)`` (a reshape of a contiguous tensor): no batch in ``shape``; one size may be -1."""

    prefix = "reshape"
    torch_view = True
    peers = UNCOUNTED
    shape: tuple[AnyInt, ...]

    def infer(self, ins: Sequence[Shape]) -> Shape:
        n = numel(ins[0])
        sizes = list(self.shape)
        if not sizes:
            raise LayerError("shape must name at least one axis")
        if sizes.count(-1) > 1:
            raise LayerError(f"shape {sizes} may infer one size (-1), not {sizes.count(-1)}")
        if any(s < -1 or s == 0 for s in sizes):
            raise LayerError(f"shape {sizes} must hold positive sizes (or one -1)")
        known = math.prod(s for s in sizes if s != -1)
        if -1 in sizes:
            if n % known:
                raise LayerError(f"cannot view {fmt_shape(ins[0])} ({n} elements) as {sizes}")
            sizes[sizes.index(-1)] = n // known
        elif known != n:
            raise LayerError(f"cannot view {fmt_shape(ins[0])} ({n} elements) as {fmt_shape(tuple(sizes))} "
                             f"({known} elements)")
        return tuple(sizes)

    def kept(self, ins: Sequence[Shape], out: Shape) -> int:
        """How many trailing axes keep their size, and so their elements, in the new shape."""
        src, k = ins[0], 0
        while k < min(len(src), len(out)) and src[-1 - k] == out[-1 - k]:
            k += 1
        return k

    def layout(self, layouts: Sequence[Layout], ins: Sequence[Shape], out: Shape) -> Layout:
        k = self.kept(ins, out)
        tail = layouts[0][len(layouts[0]) - k:] if k else ()
        # an axis of size 1 carries no position: it may be read as a feature axis
        tail = tuple(None if out[len(out) - k + i] == 1 else a for i, a in enumerate(tail))
        return (*(None,) * (len(out) - k), *tail)

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        k = self.kept(ins, out)
        mixed = spatial_axes(fields[0].layout, range(len(ins[0]) - k)) if fields[0].layout else set()
        return fields[0].whole_along(mixed)

    def output_storage(self) -> str:
        return "view"

    def backward_views(self) -> bool:
        return True

    def describe(self) -> str:
        return "→ [" + ", ".join(map(str, self.shape)) + "]"

    torch_helpers = (
        '''class Reshape(nn.Module):
    """x.view(x.shape[0], *shape): the same elements in a new shape (the batch kept first)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], *self.shape)
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("Reshape", self.shape)


@register("contiguous")
class Contiguous(Layer):
    """``x.contiguous()`` after a ``permute``: the same values copied into a new tensor laid out in order."""

    prefix = "contiguous"
    peers = UNCOUNTED

    def output_storage(self) -> str:
        return "new"

    def backward_views(self) -> bool:
        return True

    torch_helpers = (
        '''class Contiguous(nn.Module):
    """x.contiguous(): a copy laid out in order (after a permute)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous()
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("Contiguous")


@register("stack")
class Stack(Layer):
    """``torch.stack(xs, dim)``: inputs of equal shape joined along a new axis at ``dim`` (0 is the batch)."""

    prefix = "stack"
    peers = UNCOUNTED
    arity = (1, None)
    dim: AnyInt = 1

    def axis(self, rank: int) -> int:
        """The new axis' index in the batch-less output of ``rank + 1`` axes."""
        # the output has rank + 2 axes with the batch: dim ∈ [−(rank + 2), rank + 1], 0 being the batch
        d = self.dim + rank + 2 if self.dim < 0 else self.dim
        if not 1 <= d <= rank + 1:
            raise LayerError(f"dim {self.dim} is not a non-batch axis of the stacked {rank + 2}-d tensor "
                             "(0 is the batch)")
        return d - 1

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        if any(s != ins[0] for s in ins[1:]):
            raise LayerError("stack takes inputs of equal shape, got " + " vs ".join(fmt_shape(s) for s in ins))
        d = self.axis(len(ins[0]))
        sizes: list[Term] = [Sym(n, v) for n, v in zip(axis_names(len(ins[0])), ins[0])]
        # the new axis holds one entry per input
        sizes.insert(d, Sym("inputs", len(ins)))
        return tuple(sizes)

    def layout(self, layouts: Sequence[Layout], ins: Sequence[Shape], out: Shape) -> Layout:
        first, d = layouts[0], self.axis(len(ins[0]))
        return (*first[:d], None, *first[d:])

    def backward_views(self) -> bool:
        return True

    def describe(self) -> str:
        return f"dim {self.dim}"

    torch_helpers = (
        '''class Stack(nn.Module):
    """torch.stack of the inputs along a new axis at dim (0 is the batch)."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.stack(xs, self.dim)
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("Stack", **self.torch_args("dim"))
