"""Layers that move or copy values without learning: flatten, permute, identity, dropout
(dropout1d/2d/3d, alphadropout), padding (zeropad1d/2d/3d, constantpad1d/2d/3d,
reflectionpad1d/2d/3d, replicationpad1d/2d/3d, circularpad1d/2d/3d), upsampling (upsample) and
pixel shuffle (pixelshuffle, pixelunshuffle).

- flatten, permute, identity, dropout, padding, pixel (un)shuffle: 0 FLOPs
- padding, per axis: ``n + p_before + p_after``; a negative amount removes entries (PyTorch's
  ``F.pad`` and its padding modules allow it), as long as one remains on each axis. Zero,
  constant and circular padding crop by the negative amounts first, so ``n + p_before⁻ + p_after⁻ ≥ 0``;
  constant padding fills with ``value``, ±infinity included (TF-'same' max pooling pads with
  −inf so that the padding never wins the max);
  reflection padding must be smaller than the input size on each side, circular padding at
  most the entries left after that crop (one wrap)
- upsample: ``2·taps − 1`` FLOPs per output element (taps = 2 per axis for linear modes, 4 for
  bicubic, so 3 for linear, 7 for bilinear, 15 for trilinear, 31 for bicubic); nearest is 0
- receptive field: flatten over spatial axes gives the whole input; permute keeps the field and
  moves the axes (``[C, H, W]`` → ``[H, W, C]`` is channels-last); padding shifts the
  units (padding positions count, as a convolution's, whatever fills them); upsampling by s
  divides the jump by s and each output unit sees the input pixels PyTorch reads for it
  (nearest one, linear two, cubic four, one wherever the source falls on a pixel), so the field
  depends on the unit's phase; pixel shuffle is nearest upsampling by r;
  pixel unshuffle is an r×r window with stride r
- storage: flatten, permute and identity return views of their input (no memory, no traffic);
  so does dropout with p = 0; ``inplace: true`` dropout overwrites its input
- saved for backward: reflection and replication padding keep their input (their backward
  reads it); nothing else, except dropout (0 < p < 1): a mask of one byte per element
  (CUDA's fused kernel); in place, a mask in the activation dtype; dropout1d/2d/3d (feature
  dropout) one mask value per sample and channel, in the activation dtype; alphadropout one
  mask value per element, in the activation dtype
- peer tools (see cnncalc.layers.peers): none counts any of them but upsample, which fvcore
  counts as 1 (nearest) or 4 (bilinear) per output element in 2-d only (``aten::upsample_*2d``),
  thop as 1, 5, 11 or 259 per output element (nearest, linear, bilinear, bicubic; 0 for
  trilinear and nearest-exact), and ptflops as E (module hook) plus F.interpolate's input
  elements · int(Π scale_factor) when the factors are a list, else E again
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import ClassVar

from ..errors import LayerError
from ..formula import ZERO, Div, Sym, Term, axis_names, elements, prod
from .base import (
    RF,
    AnyInt,
    AnyIntN,
    AxisRF,
    Fill,
    Flag,
    Layer,
    Layout,
    Number,
    Pos,
    PosNumberN,
    Saved,
    Shape,
    SizeN,
    choice,
    fmt_shape,
    numel,
    register,
    register_nd,
    spatial_axes,
    torch_call,
)
from .peers import UNCOUNTED, Peers, nothing


@register("flatten")
class Flatten(Layer):
    """Flatten axes ``start_dim``..``end_dim`` (PyTorch numbering: 0 is the batch)."""

    prefix = "flatten"
    peers = UNCOUNTED
    torch_view = True
    start_dim: AnyInt = 1
    end_dim: AnyInt = -1

    def span(self, shape: Shape) -> tuple[int, int]:
        """First and last flattened axis, in batch-less numbering."""
        rank = len(shape) + 1
        s = self.start_dim + rank if self.start_dim < 0 else self.start_dim
        e = self.end_dim + rank if self.end_dim < 0 else self.end_dim
        if not 1 <= s < rank or not 1 <= e < rank or s > e:
            raise LayerError(
                f"start_dim {self.start_dim} and end_dim {self.end_dim} do not select non-batch axes "
                f"of a {rank}-d tensor (0 is the batch)"
            )
        return s - 1, e - 1

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        s, e = self.span(ins[0])
        shape = ins[0]
        syms = [Sym(a, n) for a, n in zip(axis_names(len(shape)), shape)]
        return (*syms[:s], prod(syms[s : e + 1]), *syms[e + 1 :])

    def output_storage(self) -> str:
        return "view"

    def backward_views(self) -> bool:
        return True
    def layout(self, layouts: Sequence[Layout], ins: Sequence[Shape], out: Shape) -> Layout:
        s, e = self.span(ins[0])
        layout = layouts[0]
        return (*layout[:s], layout[s] if s == e else None, *layout[e + 1 :])

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        s, e = self.span(ins[0])
        merges_space = s != e and spatial_axes(fields[0].layout, range(s, e + 1))
        return fields[0].whole() if merges_space else fields[0]

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("nn.Flatten", **self.torch_args("start_dim", "end_dim"))


@register("permute")
class Permute(Layer):
    """Reorder the axes (``torch.permute``, torchvision's ``Permute``); ``dims`` count the batch as 0."""

    prefix = "permute"
    peers = UNCOUNTED
    dims: tuple[AnyInt, ...]

    def order(self, shape: Shape) -> tuple[int, ...]:
        """For each output axis, the input axis it comes from (batch-less numbering)."""
        rank = len(shape) + 1
        dims = [d + rank if d < 0 else d for d in self.dims]
        if sorted(dims) != list(range(rank)):
            raise LayerError(f"dims {list(self.dims)} are not an order of the {rank} axes of a {rank}-d tensor")
        if dims[0] != 0:
            raise LayerError(f"dims {list(self.dims)} must keep the batch axis 0 first")
        return tuple(d - 1 for d in dims[1:])

    def infer(self, ins: Sequence[Shape]) -> Shape:
        return tuple(ins[0][a] for a in self.order(ins[0]))

    def layout(self, layouts: Sequence[Layout], ins: Sequence[Shape], out: Shape) -> Layout:
        return tuple(layouts[0][a] for a in self.order(ins[0]))

    def output_storage(self) -> str:
        return "view"

    def backward_views(self) -> bool:
        return True

    def describe(self) -> str:
        return "(" + ", ".join(map(str, self.dims)) + ")"

    torch_helpers = (
        '''class Permute(nn.Module):
    """Reorders the axes (torchvision's Permute); dims count the batch as 0."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.dims)
''',
    )
    torch_view = True

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("Permute", self.dims)


@register("identity")
class Identity(Layer):
    """Passes its input through unchanged."""

    prefix = "identity"
    peers = UNCOUNTED
    torch_view = True

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("nn.Identity")

    def output_storage(self) -> str:
        return "view"

    def backward_views(self) -> bool:
        return True


@register("dropout")
class Dropout(Layer):
    """Dropout: identity at inference (FLOPs 0)."""

    prefix = "dropout"
    peers = UNCOUNTED
    #: The PyTorch module class of this dropout variant.
    torch_class: ClassVar[str] = "nn.Dropout"
    torch_view = True  # at inference
    p: Number = 0.5
    inplace: Flag = False

    def infer(self, ins: Sequence[Shape]) -> Shape:
        if not 0 <= self.p <= 1:
            raise LayerError(f"p must be between 0 and 1, got {self.p}")
        return ins[0]

    def mask(self, ins: Sequence[Shape]) -> Saved:
        """The mask kept for backward: one byte per element from the fused kernel, else act dtype."""
        if self.inplace:
            return Saved("mask", numel(ins[0]))
        return Saved("mask", numel(ins[0]), "bool")

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # p = 0 returns the input itself; p = 1 multiplies by a zero scalar
        return (self.mask(ins),) if 0 < self.p < 1 else ()

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call(self.torch_class, **self.torch_args("p", "inplace"))

    def output_storage(self) -> str:
        if self.p == 0:
            return "view"
        return "in-place" if self.inplace else "new"

    def backward_views(self) -> bool:
        return self.p == 0


class FeatureDropoutNd(Dropout):
    """Dropout of whole channels (``torch.nn.DropoutNd``): identity at inference."""

    def mask(self, ins: Sequence[Shape]) -> Saved:
        return Saved("mask per channel", ins[0][0])

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call(f"nn.Dropout{self.ndim}d", **self.torch_args("p", "inplace"))


register_nd(FeatureDropoutNd, "dropout")


@register("alphadropout")
class AlphaDropout(Dropout):
    """Alpha dropout for SELU networks (``torch.nn.AlphaDropout``): identity at inference."""

    torch_class = "nn.AlphaDropout"

    def mask(self, ins: Sequence[Shape]) -> Saved:
        return Saved("mask", numel(ins[0]))


class PadNd(Layer):
    """Padding by an int, or (left, right, top, bottom, front, back): what every padding mode shares."""

    prefix = "pad"
    peers = UNCOUNTED
    values_per_axis = 2  # padding: (before, after) per axis, last axis first, as F.pad
    spatial = True
    #: ``torch.nn`` class stem the export writes (``ZeroPad`` → ``nn.ZeroPad2d``)
    torch_stem: ClassVar[str] = ""
    padding: AnyIntN

    def pads(self) -> list[tuple[int, int]]:
        """(before, after) per spatial axis, first axis first."""
        n = self.ndim or 1
        p = self.padding
        if not isinstance(p, tuple):
            return [(p, p)] * n
        if len(p) != 2 * n:
            raise LayerError(f"padding has {len(p)} values, expected 1 or {2 * n}")
        # PyTorch lists the last axis first: (left, right, top, bottom, front, back)
        pairs = [(p[2 * i], p[2 * i + 1]) for i in range(n)]
        return pairs[::-1]

    def check_axis(self, axis: str, n: int, before: int, after: int) -> None:
        """Raise LayerError where PyTorch refuses this mode's padding of an axis of ``n`` entries."""

    def crops_first(self, axis: str, n: int, before: int, after: int) -> None:
        """F.pad crops by the negative pads first, then pads: the crop must leave n + b⁻ + a⁻ ≥ 0."""
        if n + min(before, 0) + min(after, 0) < 0:
            raise LayerError(f"padding {self.given()} crops {-min(before, 0) - min(after, 0)} entries from the {n} "
                             f"along {axis} before padding (PyTorch crops first)")

    def given(self) -> int | list[int]:
        """The padding as written (a list, not a tuple, in messages)."""
        return list(self.padding) if isinstance(self.padding, tuple) else self.padding

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        self.expect_rank(ins[0])
        names = axis_names(len(ins[0]))
        sizes = [Sym(f"{a}_in", n) + Sym("p_before", b) + Sym("p_after", after)
                 for a, n, (b, after) in zip(names[1:], ins[0][1:], self.pads())]
        for a, n, (b, after), size in zip(names[1:], ins[0][1:], self.pads(), sizes):
            if size.value < 1:  # negative padding crops (as F.pad); PyTorch refuses below 0
                raise LayerError(f"padding {self.given()} leaves {size.value} entries along {a}; "
                                 "at least 1 must remain")
            self.check_axis(a, n, b, after)
        return (Sym("C", ins[0][0]), *sizes)

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        pads = self.pads()
        # output unit u is input unit u − p_before (padding positions count, whatever fills them)
        return fields[0].map(lambda i, a: a.shift(-pads[i][0]))

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call(f"nn.{self.torch_stem}{self.ndim}d", self.padding)


class ZeroPadNd(PadNd):
    """Zero padding (``torch.nn.ZeroPadNd``): an int, or (left, right, top, bottom, front, back); negative crops."""

    torch_stem = "ZeroPad"

    def check_axis(self, axis: str, n: int, before: int, after: int) -> None:
        self.crops_first(axis, n, before, after)


class ConstantPadNd(ZeroPadNd):
    """Padding by a constant ``value`` (``torch.nn.ConstantPadNd``; ±infinity too): what zero padding does."""

    torch_stem = "ConstantPad"
    value: Fill

    def describe(self) -> str:
        return f"{super().describe()} value {self.value}".strip()

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call(f"nn.ConstantPad{self.ndim}d", self.padding, self.value)


class ReflectionPadNd(PadNd):
    """Reflection padding (``torch.nn.ReflectionPadNd``): the input mirrored about its edges; negative crops."""

    torch_stem = "ReflectionPad"

    def check_axis(self, axis: str, n: int, before: int, after: int) -> None:
        # reflection_pad*d: each side less than the input size (the mirror excludes the edge)
        if max(before, after) >= n:
            raise LayerError(f"padding {max(before, after)} must be smaller than the input size {n} along {axis} "
                             "for reflection padding (as in PyTorch)")

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # reflection_pad*d_backward(grad, self, padding) reads the input
        return (Saved.input(ins),)


class ReplicationPadNd(PadNd):
    """Replication padding (``torch.nn.ReplicationPadNd``): the edge values repeated; negative crops."""

    torch_stem = "ReplicationPad"

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # replication_pad*d_backward(grad, self, padding) reads the input
        return (Saved.input(ins),)


class CircularPadNd(PadNd):
    """Circular padding (``torch.nn.CircularPadNd``): the input wrapped around; negative crops."""

    torch_stem = "CircularPad"

    def check_axis(self, axis: str, n: int, before: int, after: int) -> None:
        # _pad_circular: at most one wrap per side; its negative pads crop before it copies the
        # wraps from the cropped entries, so a wrap longer than those n + b⁻ + a⁻ reads memory it
        # never wrote (PyTorch checks against n only, and returns uninitialised values)
        if max(before, after) > n:
            raise LayerError(f"padding {max(before, after)} must be at most the input size {n} along {axis} "
                             "for circular padding (as in PyTorch: it wraps around once)")
        self.crops_first(axis, n, before, after)
        left = n + min(before, 0) + min(after, 0)
        if max(before, after) > left:
            raise LayerError(f"padding {max(before, after)} wraps more than once around the {left} entries left "
                             f"along {axis} after cropping (PyTorch would copy uninitialised values)")


register_nd(ZeroPadNd, "zeropad")
register_nd(ConstantPadNd, "constantpad")
register_nd(ReflectionPadNd, "reflectionpad")
register_nd(ReplicationPadNd, "replicationpad")
register_nd(CircularPadNd, "circularpad")

_TAPS = {"nearest": 1, "nearest-exact": 1, "linear": 2, "bilinear": 2, "trilinear": 2, "bicubic": 4}
_MODE_NDIM = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _fvcore_upsample(layer: Upsample, ins: Sequence[Shape], out: Shape) -> int:
    """upsample_nearest2d and upsample_bilinear2d: 1 and 4 per output element; no other handler."""
    return {"nearest": 1, "bilinear": 4}.get(layer.mode, 0) * numel(out) if len(out) == 3 else 0


def _thop_upsample(layer: Upsample, ins: Sequence[Shape], out: Shape) -> int:
    """calculate_upsample; trilinear and nearest-exact are not among its modes: 0."""
    return {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 259}.get(layer.mode, 0) * numel(out)


def _ptflops_upsample(layer: Upsample, ins: Sequence[Shape], out: Shape) -> int:
    """upsample_flops_counter_hook: E; F.interpolate: input elements · Π scale_factor (an
    integer when the factors are one per axis: a tuple in PyTorch), or C·Π size = E."""
    factors = layer.scale_factor
    if isinstance(factors, tuple):
        return numel(out) + numel(ins[0]) * int(math.prod(float(f) for f in factors))
    return 2 * numel(out)


@register("upsample")
class Upsample(Layer):
    """Upsampling by ``scale_factor`` or to ``size`` (``torch.nn.Upsample``)."""

    prefix = "up"
    peers = Peers(fvcore=_fvcore_upsample, thop=_thop_upsample, ptflops=_ptflops_upsample, torchinfo=nothing)
    spatial = True
    size: SizeN | None = None
    scale_factor: PosNumberN | None = None
    mode: choice(*_TAPS) = "nearest"  # type: ignore[valid-type]
    align_corners: Flag | None = None

    def scales(self, shape: Shape) -> tuple[Fraction, ...]:
        """Scale per spatial axis, as exact fractions."""
        n = len(shape) - 1
        sf = self.scale_factor
        if (self.size is None) == (sf is None):
            raise LayerError("give exactly one of size and scale_factor")
        if self.size is not None:
            size = self.size if isinstance(self.size, tuple) else (self.size,) * n
            if len(size) != n:
                raise LayerError(f"size has {len(size)} values, expected {n}")
            return tuple(Fraction(o, i) for o, i in zip(size, shape[1:]))
        assert sf is not None  # exactly one of size and scale_factor: checked above
        factors = sf if isinstance(sf, tuple) else (sf,) * n  # positive finite numbers (validated)
        if len(factors) != n:
            raise LayerError(f"scale_factor has {len(factors)} values, expected {n}")
        return tuple(Fraction(f).limit_denominator(10**6) for f in factors)

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        # per axis: n·scale
        shape = ins[0]
        if len(shape) < 2:
            raise LayerError(f"expects a [C, *spatial] input, got {fmt_shape(shape)}")
        if self.align_corners is not None and _TAPS[self.mode] == 1:
            raise LayerError(f"align_corners is only for the interpolating modes, not '{self.mode}' (as in PyTorch)")
        want = _MODE_NDIM.get(self.mode)
        if want is not None and want != len(shape) - 1:
            raise LayerError(f"mode '{self.mode}' needs {want} spatial axes, the input has {len(shape) - 1}")
        out: list[Term] = [Sym("C", shape[0])]
        for a, n, s in zip(axis_names(len(shape))[1:], shape[1:], self.scales(shape)):
            o = Sym(f"{a}_in", n) * Sym("scale", s)
            if not isinstance(o.value, int):
                raise LayerError(
                    f"scale {float(s):g} on size {n} gives {float(o.value):g}, not a whole size; give 'size' instead"
                )
            if o.value < 1:
                raise LayerError(f"output size {o.value} is not positive")
            out.append(o)
        return tuple(out)

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # 2·taps − 1 per output element (taps multiplies and taps − 1 adds)
        taps = _TAPS[self.mode] ** (len(out) - 1)
        return ZERO if taps == 1 else (2 * Sym("taps", taps) - 1) * elements(out)

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        scales = self.scales(ins[0])
        return fields[0].map(lambda i, a: self.axis_field(a, ins[0][1 + i], out[1 + i], scales[i]))

    def axis_field(self, a: AxisRF, n_in: int, n_out: int, scale: Fraction) -> AxisRF:
        """The field along one axis: output unit t reads the input units PyTorch interpolates from."""
        if self.align_corners and n_out > 1:
            # x = t·(n_in − 1)/(n_out − 1): the corners meet
            ratio = Fraction(n_in - 1, n_out - 1)
        elif self.align_corners:
            ratio = Fraction(0)
        else:
            ratio = 1 / scale
        p0, s0 = (ratio.denominator, ratio.numerator) if ratio else (1, 0)
        taps = _TAPS[self.mode]

        def source(t: int) -> Fraction:
            if self.mode == "nearest":
                return math.floor(t * ratio)  # type: ignore[return-value]
            if self.mode == "nearest-exact":
                return math.floor((t + Fraction(1, 2)) * ratio)  # type: ignore[return-value]
            # linear modes: x = (t + ½)/scale − ½, or t·ratio with align_corners
            return t * ratio if self.align_corners else (t + Fraction(1, 2)) * ratio - Fraction(1, 2)

        def read(t: int) -> tuple[int, ...]:
            x = source(t)
            f = math.floor(x)
            if taps == 1 or x == f:
                return (f,)  # on a pixel the other taps have weight 0
            # linear: floor(x) and the next; cubic: one more on each side
            return tuple(range(f - (taps // 2 - 1), f + taps // 2 + 1))

        return a.gather(p0, s0, read, n_out)

    def describe(self) -> str:
        sf = self.scale_factor
        if sf is not None:
            what = "×" + ("x".join(f"{f:g}" for f in sf) if isinstance(sf, tuple) else f"{sf:g}")
        else:
            what = "→" + ("x".join(map(str, self.size)) if isinstance(self.size, tuple) else str(self.size))
        return f"{what} {self.mode}"

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("nn.Upsample", **self.torch_args("size", "scale_factor", "mode", "align_corners"))


@register("pixelshuffle", "pixel_shuffle")
class PixelShuffle(Layer):
    """[C·r², H, W] → [C, H·r, W·r] (``torch.nn.PixelShuffle``)."""

    prefix = "shuffle"
    peers = UNCOUNTED
    spatial = True
    upscale_factor: Pos

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        shape, r = ins[0], self.upscale_factor
        if len(shape) != 3:
            raise LayerError(f"expects a [C, H, W] input, got {fmt_shape(shape)}")
        if shape[0] % (r * r):
            raise LayerError(f"{shape[0]} channels are not divisible by upscale_factor² = {r * r}")
        rr = Sym("r", r)
        return (Div(Sym("C_in", shape[0]), rr * rr), Sym("H_in", shape[1]) * rr, Sym("W_in", shape[2]) * rr)

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        r = self.upscale_factor
        # output unit t along H or W is input unit floor(t/r)
        return fields[0].map(lambda i, a: a.gather(r, 1, lambda t: (t // r,), out[1 + i]))

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("nn.PixelShuffle", self.upscale_factor)


@register("pixelunshuffle", "pixel_unshuffle")
class PixelUnshuffle(Layer):
    """[C, H·r, W·r] → [C·r², H, W] (``torch.nn.PixelUnshuffle``)."""

    prefix = "unshuffle"
    peers = UNCOUNTED
    spatial = True
    downscale_factor: Pos

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        shape, r = ins[0], self.downscale_factor
        if len(shape) != 3:
            raise LayerError(f"expects a [C, H, W] input, got {fmt_shape(shape)}")
        if shape[1] % r or shape[2] % r:
            raise LayerError(f"spatial size {shape[1]}x{shape[2]} is not divisible by downscale_factor {r}")
        rr = Sym("r", r)
        return (Sym("C_in", shape[0]) * rr * rr, Div(Sym("H_in", shape[1]), rr), Div(Sym("W_in", shape[2]), rr))

    def rf_window(self, ins: Sequence[Shape]) -> tuple[tuple[Term, int, int], ...]:
        r = self.downscale_factor
        return ((Sym("r", r) - 1, r, 0),) * 2

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("nn.PixelUnshuffle", self.downscale_factor)

