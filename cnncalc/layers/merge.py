"""Layers that combine or split tensors: add, subtract, concat, multiply, chunk, split, channel_shuffle.

- add: inputs broadcast as in PyTorch (a residual of equal shapes; a global-context term
  [C, H, W] + [C, 1, 1]); FLOPs ``(inputs − 1)·E``
- subtract: ``x − y`` of two inputs, broadcast as in PyTorch (PoolFormer's ``pool(x) − x``);
  FLOPs ``E``
- multiply: inputs broadcast as in PyTorch (squeeze-excitation: [C, H, W]·[C, 1, 1]);
  FLOPs ``(inputs − 1)·E``
- concat: equal shapes except along ``dim`` (default 1, the channels); 0 FLOPs
- chunk: piece ``index`` of ``chunks`` along ``dim``, sized as ``torch.chunk``; 0 FLOPs
- split: piece ``index`` of ``torch.split(x, split_size_or_sections, dim)``: pieces of one size
  (the last one shorter) or of the listed sizes, which must add up to the axis; 0 FLOPs
- chunk or split without ``index`` stands for every piece: the graph makes one layer per piece,
  ``name.0``, ``name.1``, ... (see :mod:`cnncalc.graph`)
- channel_shuffle: reorders channels in ``groups``; 0 FLOPs
- receptive field of a merge: the largest over its inputs, per axis
- saved for backward: add, subtract, concat, chunk, split and channel_shuffle keep nothing;
  multiply keeps every input and, with more than two, each running product but the last
  (``a·b·c`` keeps ``a``, ``b``, ``c`` and ``a·b``). The gradients of an add's or a concat's
  inputs are views of its output's gradient, and so is that of a subtraction's ``x``; a
  broadcast input's gradient is the output's summed to its shape (a new tensor of its size), and
  ``y``'s of a subtraction is negated (a new tensor); the output of chunk and split is a view of
  its input
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from ..errors import LayerError
from ..formula import Sym, Term, axis_names, elements, total
from .base import AnyInt, Layer, NonNeg, Pos, PosN, Saved, Shape, fmt_shape, numel, register, torch_call
from .peers import UNCOUNTED


def _pairwise_flops(ins: Sequence[Shape], out: Shape) -> Term:
    """(inputs − 1) operations per output element."""
    return (Sym("inputs", len(ins)) - 1) * elements(out)


def _broadcast(ins: Sequence[Shape]) -> Shape:
    """The shape of the inputs broadcast as PyTorch does (each axis: equal sizes, or 1)."""
    rank = max(len(s) for s in ins)
    out = []
    for axis in range(rank):
        sizes = {s[axis - rank + len(s)] for s in ins if axis - rank + len(s) >= 0} - {1}
        if len(sizes) > 1:
            raise LayerError("shapes differ: " + " vs ".join(fmt_shape(s) for s in ins))
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def _dim(dim: int, rank: int) -> int:
    """PyTorch axis number (0 is the batch) to an index into a batch-less shape."""
    d = dim + rank + 1 if dim < 0 else dim
    if not 1 <= d <= rank:
        raise LayerError(f"dim {dim} is not a non-batch axis of a {rank + 1}-d tensor (0 is the batch)")
    return d - 1


@register("add")
class Add(Layer):
    """Element-wise sum of the inputs, broadcast as in PyTorch (residual connections)."""

    prefix = "add"
    peers = UNCOUNTED
    arity = (2, None)

    def infer(self, ins: Sequence[Shape]) -> Shape:
        return _broadcast(ins)

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return _pairwise_flops(ins, out)

    def view_gradients(self, ins: Sequence[Shape], out: Shape) -> tuple[bool, ...]:
        # each input's gradient is the output's, except a broadcast input's: summed to its shape, new
        return tuple(s == out for s in ins)

    # the + operator, as torchvision's residual blocks write it (torch.add would be counted by ptflops)
    torch_helpers = (
        '''class Add(nn.Module):
    """Element-wise sum of the inputs."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("Add")


@register("subtract", "sub")
class Subtract(Layer):
    """``x − y`` of two inputs, broadcast as in PyTorch (PoolFormer's token mixer ``pool(x) − x``)."""

    prefix = "sub"
    peers = UNCOUNTED
    arity = (2, 2)

    def infer(self, ins: Sequence[Shape]) -> Shape:
        return _broadcast(ins)

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return elements(out)

    def view_gradients(self, ins: Sequence[Shape], out: Shape) -> tuple[bool, ...]:
        # d(x − y)/dx passes the output's gradient on (summed to x's shape if x is broadcast);
        # d/dy is its negation, a new tensor
        return (ins[0] == out, False)

    torch_helpers = (
        '''class Subtract(nn.Module):
    """x - y, broadcast."""

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x - y
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("Subtract")


@register("multiply", "mul")
class Multiply(Layer):
    """Element-wise product with PyTorch broadcasting (squeeze-excitation gating)."""

    prefix = "mul"
    peers = UNCOUNTED
    arity = (2, None)

    def infer(self, ins: Sequence[Shape]) -> Shape:
        return _broadcast(ins)

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return _pairwise_flops(ins, out)

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # x1·x2·…·xn runs left to right; each product keeps both of its operands
        partial = [Saved(f"product of inputs 1–{k}", numel(self.infer(ins[:k]))) for k in range(2, len(ins))]
        return (*(Saved.input(ins, i) for i in range(len(ins))), *partial)

    def saved_when(self, ins: Sequence[Shape], out: Shape, needs: Sequence[bool], trainable: bool) -> tuple[Saved, ...]:
        # p_k = p_(k−1)·x_k keeps x_k only for dL/dp_(k−1), and p_(k−1) only for dL/dx_k
        every = self.saved(ins, out)
        inputs, partial = every[:len(ins)], every[len(ins):]
        left = [inputs[0], *partial]  # p_(k−1) of the k-th product, k = 2..n
        kept: list[Saved] = [inputs[0]] if needs[1] else []
        kept += [inputs[k] for k in range(1, len(ins)) if any(needs[:k])]
        kept += [left[k - 1] for k in range(2, len(ins)) if needs[k]]
        return tuple(kept)

    torch_helpers = (
        '''class Multiply(nn.Module):
    """Element-wise product of the inputs, broadcast (squeeze-excitation gating)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("Multiply")


@register("concat", "cat")
class Concat(Layer):
    """Concatenation along ``dim`` (default 1: the channels)."""

    prefix = "cat"
    peers = UNCOUNTED
    arity = (1, None)
    dim: AnyInt = 1

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        rank = len(ins[0])
        if any(len(s) != rank for s in ins):
            raise LayerError("inputs differ in rank: " + " vs ".join(fmt_shape(s) for s in ins))
        d = _dim(self.dim, rank)
        for s in ins[1:]:
            if s[:d] + s[d + 1 :] != ins[0][:d] + ins[0][d + 1 :]:
                raise LayerError(
                    f"shapes differ outside dim {self.dim}: " + " vs ".join(fmt_shape(s) for s in ins)
                )
        names = axis_names(rank)
        # the sizes along dim add up: C = C_1 + C_2 + …
        joined = total(Sym(f"{names[d]}_{i + 1}", s[d]) for i, s in enumerate(ins))
        return tuple(joined if a == d else Sym(names[a], n) for a, n in enumerate(ins[0]))

    def backward_views(self) -> bool:
        return True

    torch_helpers = (
        '''class Concat(nn.Module):
    """Concatenation of the inputs along dim (0 is the batch)."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, self.dim)
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("Concat", **self.torch_args("dim"))


@register("chunk")
class Chunk(Layer):
    """Piece ``index`` of ``torch.chunk(x, chunks, dim)`` (ShuffleNet's channel split)."""

    prefix = "chunk"
    peers = UNCOUNTED
    chunks: Pos
    index: NonNeg | None = Field(None, description="the piece; omitted: every piece, as name.0, name.1, ...")
    dim: AnyInt = 1

    def pieces(self, shape: Shape) -> list[int]:
        """The sizes of the pieces along ``dim``, as ``torch.chunk`` makes them (ceil(n / chunks) each)."""
        n = shape[_dim(self.dim, len(shape))]
        size = -(-n // self.chunks)
        return [min(size, n - start) for start in range(0, n, size)]

    def infer(self, ins: Sequence[Shape]) -> Shape:
        return _piece(self, ins[0], "chunks")

    def output_storage(self) -> str:
        return "view"

    def describe(self) -> str:
        return f"{self.index}/{self.chunks}"

    # narrow, not chunk()[i]: one view, which a later in-place layer may change (a view among
    # several outputs of torch.chunk may not be changed in place)
    torch_helpers = (
        '''class Chunk(nn.Module):
    """Piece index of torch.chunk(x, chunks, dim) (0 is the batch)."""

    def __init__(self, chunks: int, index: int, dim: int = 1) -> None:
        super().__init__()
        self.chunks, self.index, self.dim = chunks, index, dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[self.dim]
        size = -(-n // self.chunks)  # torch.chunk's piece size: ceil(n / chunks)
        start = self.index * size
        return x.narrow(self.dim, start, min(size, n - start))
''',
    )
    torch_view = True

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("Chunk", self.chunks, self.index, **self.torch_args("dim"))


def _piece(layer: Chunk | Split, shape: Shape, what: str) -> Shape:
    """The shape of piece ``layer.index`` of ``shape``."""
    sizes = layer.pieces(shape)
    if layer.index is None:
        raise LayerError("stands for every piece: read them as name.0, name.1, ... (give it a name)")
    if layer.index >= len(sizes):
        raise LayerError(f"index {layer.index} is past the {len(sizes)} {what} of size {sum(sizes)}")
    d = _dim(layer.dim, len(shape))
    return (*shape[:d], sizes[layer.index], *shape[d + 1 :])


@register("split")
class Split(Layer):
    """Piece ``index`` of ``torch.split(x, split_size_or_sections, dim)`` (MixNet's and Res2Net's unequal splits)."""

    prefix = "split"
    peers = UNCOUNTED
    split_size_or_sections: PosN = Field(description="size of every piece (the last may be shorter), or a list of "
                                                     "sizes adding up to the axis")
    index: NonNeg | None = Field(None, description="the piece; omitted: every piece, as name.0, name.1, ...")
    dim: AnyInt = 1

    def pieces(self, shape: Shape) -> list[int]:
        """The sizes of the pieces along ``dim``, as ``torch.split`` makes them."""
        n = shape[_dim(self.dim, len(shape))]
        sizes = self.split_size_or_sections
        if isinstance(sizes, tuple):
            if sum(sizes) != n:
                raise LayerError(f"split sizes {list(sizes)} add up to {sum(sizes)}, the axis has {n} "
                                 "(torch.split needs them equal)")
            return list(sizes)
        return [min(sizes, n - start) for start in range(0, n, sizes)]

    def infer(self, ins: Sequence[Shape]) -> Shape:
        return _piece(self, ins[0], "pieces")

    def output_storage(self) -> str:
        return "view"

    def describe(self) -> str:
        sizes = self.split_size_or_sections
        return f"{self.index} of {list(sizes) if isinstance(sizes, tuple) else sizes}"

    torch_helpers = (
        '''class Split(nn.Module):
    """Piece index of torch.split(x, split_size_or_sections, dim) (0 is the batch)."""

    def __init__(self, split_size_or_sections: int | list[int], index: int, dim: int = 1) -> None:
        super().__init__()
        self.sizes, self.index, self.dim = split_size_or_sections, index, dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # narrow, not split()[i]: one view, which a later in-place layer may change
        n, size = x.shape[self.dim], self.sizes
        sizes = list(size) if isinstance(size, (list, tuple)) else [min(size, n - s) for s in range(0, n, size)]
        return x.narrow(self.dim, sum(sizes[: self.index]), sizes[self.index])
''',
    )
    torch_view = True

    def torch_module(self, ins: Sequence[Shape]) -> str:
        sizes = self.split_size_or_sections
        return torch_call("Split", list(sizes) if isinstance(sizes, tuple) else sizes, self.index,
                          **self.torch_args("dim"))


@register("channel_shuffle", "channelshuffle")
class ChannelShuffle(Layer):
    """Reorders channels across ``groups`` (``torch.nn.ChannelShuffle``)."""

    prefix = "shuffle"
    peers = UNCOUNTED
    spatial = True
    groups: Pos

    def infer(self, ins: Sequence[Shape]) -> Shape:
        if len(ins[0]) < 2:
            raise LayerError(f"expects a [C, *spatial] input (as PyTorch), got {fmt_shape(ins[0])}")
        if ins[0][0] % self.groups:
            raise LayerError(f"{ins[0][0]} channels are not divisible by groups {self.groups}")
        return ins[0]

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("nn.ChannelShuffle", self.groups)
