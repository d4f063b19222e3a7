"""Layers that take part of a tensor: crop, narrow, slice and select (PyTorch indexing).

- crop: the spatial axes cut to ``size``, centred as torchvision's ``center_crop`` (offset
  ``round((in − size)/2)``, Python's rounding of halves to even: 1 for a difference of 2 or
  3, 2 for 4 or 5) or from ``offset`` (FCN's ``score_pool4[:, :, 5:5 + h, 5:5 + w]``)
- narrow: ``torch.narrow(x, dim, start, length)``; a negative ``start`` counts from the end
- slice: ``x[..., start:end:step]`` along ``dim``, with Python's negative indices and clamping
  of out-of-range bounds; ``step ≥ 1`` (as PyTorch); an empty result is refused
- select: ``torch.select(x, dim, index)`` (``x[:, :, -1]``): one entry along ``dim``, which is
  dropped from the shape
- ``dim`` counts the batch as 0 (PyTorch numbering); the batch itself cannot be cut
- params, buffers, MACs and FLOPs: 0; the output is a view of the input (no memory, no
  traffic) and autograd saves nothing (only the sizes)
- receptive field: along a spatial axis, keeping entries from ``o`` with step ``s`` moves the
  centre of unit 0 by ``o`` jumps and multiplies the jump by ``s``; the size is unchanged.
  Cutting a feature axis (channels) leaves the field as it is
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from ..errors import LayerError
from ..formula import Sym, Term, axis_names
from .base import (
    RF,
    AnyInt,
    Layer,
    Layout,
    NonNegN,
    Pos,
    Shape,
    SizeN,
    fmt_shape,
    register,
    torch_call,
)
from .merge import _dim
from .peers import UNCOUNTED


def _shifted(field: RF, axis: int | None, first: int, step: int = 1) -> RF:
    """The field after keeping every ``step``-th entry from ``first`` along input spatial ``axis``."""
    if axis is None:
        return field
    return field.map_axes(lambda i, a: a if i != axis else a.pick(first, step))


def _per_axis(value: Any, n: int, what: str) -> tuple[int, ...]:
    """An int, or a list of one per spatial axis, as a tuple of ``n`` values."""
    if isinstance(value, tuple):
        if len(value) != n:
            raise LayerError(f"{what} has {len(value)} values, expected {n} (one per spatial axis)")
        return value
    return (value,) * n


@register("crop")
class Crop(Layer):
    """Crops the spatial axes to ``size``: centred (torchvision's ``center_crop``) or from ``offset``."""

    prefix = "crop"
    peers = UNCOUNTED
    spatial = True
    torch_view = True
    size: SizeN
    offset: NonNegN | None = None

    def windows(self, shape: Shape) -> tuple[tuple[int, int], ...]:
        """(first entry, size) kept along each spatial axis."""
        n = len(shape) - 1
        if n < 1:
            raise LayerError(f"expects a [C, *spatial] input, got {fmt_shape(shape)}")
        sizes = _per_axis(self.size, n, "size")
        offsets = None if self.offset is None else _per_axis(self.offset, n, "offset")
        out = []
        for axis, (have, want) in enumerate(zip(shape[1:], sizes)):
            name = axis_names(len(shape))[axis + 1]
            if want > have:
                raise LayerError(f"size {want} is larger than the input's {have} along {name}; "
                                 "pad it first (zeropad) to grow it")
            # torchvision: int(round((in − size) / 2.0)), halves rounded to even
            first = round(Fraction(have - want, 2)) if offsets is None else offsets[axis]
            if first + want > have:
                raise LayerError(f"offset {first} + size {want} runs past the input's {have} along {name}")
            out.append((first, want))
        return tuple(out)

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        shape = ins[0]
        names = axis_names(len(shape))
        return (Sym("C", shape[0]), *(Sym(f"{a}_out", s) for a, (_, s) in zip(names[1:], self.windows(shape))))

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        firsts = [first for first, _ in self.windows(ins[0])]
        return fields[0].map(lambda i, a: a.shift(firsts[i]))

    def output_storage(self) -> str:
        return "view"

    def describe(self) -> str:
        size = "x".join(map(str, self.size)) if isinstance(self.size, tuple) else str(self.size)
        if self.offset is None:
            return f"→{size} centre"
        at = "x".join(map(str, self.offset)) if isinstance(self.offset, tuple) else str(self.offset)
        return f"→{size} at {at}"

    torch_helpers = (
        '''class Crop(nn.Module):
    """Crops the spatial axes to size, from offset (the first entry kept on each axis)."""

    def __init__(self, size: tuple[int, ...], offset: tuple[int, ...]) -> None:
        super().__init__()
        self.index = (slice(None), slice(None), *(slice(o, o + s) for o, s in zip(offset, size)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[self.index]
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        # the offsets cnncalc computed (centred, or as given): the file is written for one input shape
        windows = self.windows(ins[0])
        return torch_call("Crop", tuple(s for _, s in windows), tuple(o for o, _ in windows))


class _Cut(Layer):
    """A view of part of the input along one axis ``dim`` (0 is the batch)."""

    peers = UNCOUNTED

    torch_view = True
    dim: AnyInt

    def axis(self, shape: Shape) -> int:
        """The cut axis, as an index into the batch-less shape."""
        return _dim(self.dim, len(shape))

    def cut(self, shape: Shape) -> tuple[int, int, int]:
        """(first entry, number of entries, step) kept along the axis."""
        raise NotImplementedError

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        shape = ins[0]
        d = self.axis(shape)
        _, count, _ = self.cut(shape)
        names = axis_names(len(shape))
        return tuple(Sym(f"{a}_out", count) if i == d else Sym(a, n) for i, (a, n) in enumerate(zip(names, shape)))

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        first, _, step = self.cut(ins[0])
        return _shifted(fields[0], fields[0].layout[self.axis(ins[0])], first, step)

    def output_storage(self) -> str:
        return "view"


@register("narrow")
class Narrow(_Cut):
    """``torch.narrow(x, dim, start, length)``: ``length`` entries from ``start`` (negative: from the end)."""

    prefix = "narrow"
    start: AnyInt
    length: Pos

    def cut(self, shape: Shape) -> tuple[int, int, int]:
        n = shape[self.axis(shape)]
        if not -n <= self.start <= n:
            raise LayerError(f"start {self.start} is outside [-{n}, {n}], the axis of size {n} (as PyTorch)")
        first = self.start + n if self.start < 0 else self.start
        if first + self.length > n:
            raise LayerError(f"start {self.start} + length {self.length} runs past the axis of size {n}")
        return first, self.length, 1

    def describe(self) -> str:
        return f"dim {self.dim} start {self.start} length {self.length}"

    torch_helpers = (
        '''class Narrow(nn.Module):
    """torch.narrow(x, dim, start, length) (0 is the batch)."""

    def __init__(self, dim: int, start: int, length: int) -> None:
        super().__init__()
        self.dim, self.start, self.length = dim, start, length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.narrow(self.dim, self.start, self.length)
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("Narrow", self.dim, self.start, self.length)


@register("slice")
class Slice(_Cut):
    """``x[..., start:end:step]`` along ``dim``: Python's negative indices and clamping, ``step ≥ 1``."""

    prefix = "slice"
    start: AnyInt | None = None
    end: AnyInt | None = None
    step: Pos = 1

    def cut(self, shape: Shape) -> tuple[int, int, int]:
        n = shape[self.axis(shape)]
        kept = range(n)[self.start : self.end : self.step]  # Python's (and PyTorch's) slice of n entries
        if not kept:
            raise LayerError(f"[{self._text()}] selects nothing of the axis of size {n}")
        return kept.start, len(kept), self.step

    def _text(self) -> str:
        text = f"{'' if self.start is None else self.start}:{'' if self.end is None else self.end}"
        return text + (f":{self.step}" if self.step != 1 else "")

    def describe(self) -> str:
        return f"dim {self.dim} [{self._text()}]"

    torch_helpers = (
        '''class Slice(nn.Module):
    """x[..., start:end:step] along dim (0 is the batch)."""

    def __init__(self, dim: int, start: int | None = None, end: int | None = None, step: int = 1) -> None:
        super().__init__()
        self.dim, self.index = dim, slice(start, end, step)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[(slice(None),) * (self.dim % x.dim()) + (self.index,)]
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("Slice", self.dim, **self.torch_args("start", "end", "step"))


@register("select")
class Select(_Cut):
    """``torch.select(x, dim, index)`` (``x[:, :, index]``): one entry along ``dim``, which is dropped."""

    prefix = "select"
    index: AnyInt

    def cut(self, shape: Shape) -> tuple[int, int, int]:
        n = shape[self.axis(shape)]
        if not -n <= self.index < n:
            raise LayerError(f"index {self.index} is outside [-{n}, {n}), the axis of size {n} (as PyTorch)")
        return (self.index + n if self.index < 0 else self.index), 1, 1

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        shape = ins[0]
        if len(shape) < 2:
            raise LayerError(f"would leave no axis but the batch of a {fmt_shape(shape)} input; "
                             "use narrow to keep the axis")
        self.cut(shape)
        d = self.axis(shape)
        return tuple(Sym(a, n) for i, (a, n) in enumerate(zip(axis_names(len(shape)), shape)) if i != d)

    def layout(self, layouts: Sequence[Layout], ins: Sequence[Shape], out: Shape) -> Layout:
        d = self.axis(ins[0])
        return (*layouts[0][:d], *layouts[0][d + 1 :])

    def describe(self) -> str:
        return f"dim {self.dim} [{self.index}]"

    torch_helpers = (
        '''class Select(nn.Module):
    """torch.select(x, dim, index): one entry along dim, which is dropped (0 is the batch)."""

    def __init__(self, dim: int, index: int) -> None:
        super().__init__()
        self.dim, self.index = dim, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.select(self.dim, self.index)
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("Select", self.dim, self.index)
