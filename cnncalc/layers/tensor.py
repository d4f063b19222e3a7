"""Layers that change a tensor's shape or layout without touching its values (reshape, contiguous,
stack), and the product of two activations (matmul).

- contiguous: a copy of its input laid out in order, always new memory (``x.contiguous()`` of a
  permuted tensor; PyTorch's ``contiguous()`` returns a tensor that already is as it is, so the
  export writes ``x.clone(memory_format=torch.contiguous_format)``, and ``cnncalc import`` writes
  this layer only where PyTorch copies): 0 FLOPs, no parameters, nothing saved (the gradient
  passes through unchanged)
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
- matmul: ``torch.matmul(a, b)`` of two activations (attention): ``a`` is ``[*A, n, k]``, ``b``
  is ``[*B, k, m]``, of one rank (so that the batch lines up with the batch), the batch axes
  ``A`` and ``B`` broadcast as in PyTorch to ``D``; output ``[*D, n, m]``; no parameters;
  MACs ``D·n·k·m`` (a multiply and an add for each), FLOPs ``2·MACs``; saved for backward: both
  inputs (dL/da = dL/dy·bᵀ keeps ``b``, dL/db = aᵀ·dL/dy keeps ``a``), an input whose leading axes
  broadcast as the copy expanded to ``D`` that ``bmm`` reads; receptive field: whole
  along every spatial axis either input carries (a product of activations mixes positions, as
  attention does); peer tools: fvcore (``aten::matmul``) and ptflops (the patched
  ``torch.matmul``) count ``numel(a)·m``; thop and torchinfo count 0 (no hook, no weight)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import LayerError
from ..formula import Sym, Term, axis_names, prod
from .base import (
    RF,
    AnyInt,
    Layer,
    Layout,
    Saved,
    Shape,
    fmt_shape,
    matmul_flops,
    merge_rf,
    numel,
    register,
    spatial_axes,
    torch_call,
)
from .peers import UNCOUNTED, Peers, nothing


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
    """A copy laid out in order (``x.contiguous()`` after a ``permute``): always a new tensor."""

    prefix = "contiguous"
    peers = UNCOUNTED

    def output_storage(self) -> str:
        return "new"

    def backward_views(self) -> bool:
        return True

    torch_helpers = (
        '''class Contiguous(nn.Module):
    """A copy laid out in order (x.contiguous() after a permute), made even where x already is."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone(memory_format=torch.contiguous_format)
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


def _numel_a_times_m(layer: Layer, ins: Sequence[Shape], out: Shape) -> int:
    """fvcore's ``matmul_flop_jit`` and ptflops' ``_matmul_tensor_flops_hook``: ``prod(a.shape)·b.shape[−1]``."""
    return numel(ins[0]) * ins[1][-1]


@register("matmul")
class Matmul(Layer):
    """``torch.matmul(a, b)`` (``a @ b``) of two activations of one rank, the batch axes broadcast."""

    prefix = "matmul"
    arity = (2, 2)
    autocast = "low"
    peers = Peers(fvcore=_numel_a_times_m, thop=nothing, ptflops=_numel_a_times_m, torchinfo=nothing)

    def batch_axes(self, ins: Sequence[Shape]) -> Shape:
        """The broadcast leading axes ``D`` of the two inputs (raise LayerError if they do not fit)."""
        a, b = ins
        if len(a) < 2 or len(b) < 2:
            raise LayerError(f"matmul takes matrices per sample ([.., n, k] @ [.., k, m]), got "
                             f"{fmt_shape(a)} @ {fmt_shape(b)}: a vector here would make the batch a matrix axis")
        if len(a) != len(b):
            # PyTorch aligns the leading axes from the right: the batch would meet an axis of the other
            raise LayerError(f"matmul of ranks {len(a)} and {len(b)}: the batch would broadcast against "
                             "another axis; give both inputs one rank")
        if a[-1] != b[-2]:
            raise LayerError(f"cannot multiply {fmt_shape(a)} by {fmt_shape(b)}: {a[-1]} columns, {b[-2]} rows")
        axes = []
        for x, y in zip(a[:-2], b[:-2]):
            if x != y and 1 not in (x, y):
                raise LayerError(f"the leading axes of {fmt_shape(a)} and {fmt_shape(b)} do not broadcast")
            axes.append(max(x, y))
        return tuple(axes)

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        d = self.batch_axes(ins)
        names = axis_names(len(d) + 2)
        return (*(Sym(n, v) for n, v in zip(names, d)), Sym("n", ins[0][-2]), Sym("m", ins[1][-1]))

    def macs_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # one n×k by k×m product per entry of the broadcast leading axes: D·n·k·m
        d = self.batch_axes(ins)
        names = axis_names(len(d) + 2)
        return prod([*(Sym(n, v) for n, v in zip(names, d)), Sym("n", ins[0][-2]), Sym("k", ins[0][-1]),
                     Sym("m", ins[1][-1])])

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return matmul_flops(self.macs(ins, out), out, False)

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # bmm keeps both operands; an operand whose leading axes broadcast is first expanded to D and
        # folded into one batch axis, which copies it: the copy, D·n·k (or D·k·m) values, is kept
        d = self.batch_axes(ins)
        return tuple(Saved.input(ins, i) if x[:-2] == d else
                     Saved(f"input {i + 1} broadcast to {fmt_shape(d)}", numel((*d, *x[-2:])))
                     for i, x in enumerate(ins))

    def saved_when(self, ins: Sequence[Shape], out: Shape, needs: Sequence[bool], trainable: bool) -> tuple[Saved, ...]:
        # dL/da = dL/dy·bᵀ keeps b; dL/db = aᵀ·dL/dy keeps a
        a, b = self.saved(ins, out)
        return (*([b] if needs[0] else []), *([a] if needs[1] else []))

    def layout(self, layouts: Sequence[Layout], ins: Sequence[Shape], out: Shape) -> Layout:
        # every axis of the product mixes positions of one input or the other: none keeps a position
        return (None,) * len(out)

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        whole = [f.whole_along(spatial_axes(f.layout, range(len(s)))) if f.layout else f
                 for f, s in zip(fields, ins)]
        return merge_rf(whole)

    torch_helpers = (
        '''class Matmul(nn.Module):
    """torch.matmul(a, b) of two activations, the batch axes broadcast."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b)
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("Matmul")
