"""Pooling: maxpool1d/2d/3d, avgpool1d/2d/3d, lppool1d/2d/3d, adaptiveavgpool1d/2d/3d,
adaptivemaxpool1d/2d/3d, and global pooling, globalavgpool and globalmaxpool.

Rules (window = product of kernel sizes):

- output, per axis, exactly as PyTorch: ``floor((n + 2p − d(k−1) − 1 + (s−1 if ceil_mode))/s) + 1``,
  minus one when ceil_mode makes the last window start past the input and left padding
- padding must be at most half the kernel, as PyTorch requires
- FLOPs: max pooling ``window − 1`` comparisons per output element; average pooling ``window``
  (``window − 1`` adds and one divide); adaptive pooling counts each output's actual window;
  power-average pooling (lppool, ``(Σ x^p)^(1/p)`` over each window, no padding) one ``x^p`` per
  input element and ``window`` per output element (``window − 1`` adds and the ``1/p``-th power)
- receptive field: ``r' = r + (d(k−1))·j``, ``j' = j·s``; adaptive pooling reads, for output
  ``t``, the input ``[floor(t·n/o), ceil((t+1)·n/o))``, exactly per unit; to size 1 on an axis
  (global pooling) it makes the field the whole input
- saved for backward: max pooling keeps its input and the int64 indices of the maxima (one per
  output element), adaptive and global max pooling too; average pooling keeps its input;
  adaptive average pooling to size 1 on every axis (global average pooling) is a mean and
  keeps nothing but shapes, to any other size it keeps its input; lppool (PyTorch's
  ``(sign(a)·relu(|a|))·k`` ``^(1/p)`` of ``a = avg_pool(x^p)``) keeps its input, the powers
  ``x^p`` and four tensors of the output's size: ``a``, ``sign(a)``, ``relu(|a|)`` and the
  scaled base of the root
- peer tools (see cnncalc.layers.peers; E output, I input elements): fvcore counts only 2-d
  adaptive and global average pooling, ``I`` (``aten::adaptive_avg_pool2d``); thop counts
  average pooling ``E`` and adaptive or global average pooling ``(Π in/out + 1)·E`` in float64,
  truncated; ptflops counts every pooling ``2I`` (module hook and patched function), lppool
  ``I + 2E`` (the patched F.avg_pool, F.relu and Tensor.mul it calls; no module hook); torchinfo 0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import PlainValidator, WithJsonSchema

from ..errors import LayerError
from ..formula import Ceil, Floor, Note, Num, Sym, Term, axis_names, elements, prod
from .base import (
    RF,
    WHOLE_AXIS,
    AxisRF,
    Flag,
    Layer,
    NonNegN,
    Number,
    Pos,
    PosN,
    Saved,
    Shape,
    fmt_axes,
    kernel_term,
    numel,
    register,
    register_nd,
    torch_call,
)
from .base import _int as _positive
from .peers import Peers, nothing, per_input, per_output


def _fvcore_adaptive_avg(layer: Layer, ins: Sequence[Shape], out: Shape) -> int:
    """aten::adaptive_avg_pool2d: one per input element; no handler for 1-d and 3-d."""
    return numel(ins[0]) if len(ins[0]) == 3 else 0


def _thop_adaptive_avg(layer: Layer, ins: Sequence[Shape], out: Shape) -> int:
    """thop's count_adap_avgpool: (Π in/out + 1)·E, in float64, truncated."""
    kernel = 1.0
    for i, o in zip(ins[0][1:], out[1:]):
        kernel *= i / o
    return int((kernel + 1) * numel(out))


#: exported as nn.AdaptiveAvgPoolNd
_ADAPTIVE_AVG = Peers(fvcore=_fvcore_adaptive_avg, thop=_thop_adaptive_avg, ptflops=per_input(2), torchinfo=nothing)
#: max pooling: only ptflops counts it, its module hook and F.*max_pool*d: the input elements each
_MAX = Peers(fvcore=nothing, thop=nothing, ptflops=per_input(2), torchinfo=nothing)


def pool_axis(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool, name: str = "n") -> Term:
    """PyTorch's ``pooling_output_shape`` for one axis, as a term."""
    # ⌊(n + 2p − d·(k−1) − 1)/s⌋ + 1, with ⌈⌉ in ceil_mode: ⌊(x + s − 1)/s⌋ = ⌈x/s⌉
    span = Sym(f"{name}_in", n) + 2 * Sym("p", p) - Sym("d", d) * (Sym("k", k) - 1) - 1
    out: Term = (Ceil if ceil_mode else Floor)(span / Sym("s", s)) + 1
    if ceil_mode and (out.value - 1) * s >= n + p:
        out = out - Note(Num(1), "the last window would start in the padding")
    return out


def pool_out(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's ``pooling_output_shape`` for one axis."""
    return int(pool_axis(n, k, s, p, d, ceil_mode))


def _input_and_indices(ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
    """What max pooling keeps: its input and the int64 index of each output's maximum."""
    return (Saved.input(ins), Saved("indices", numel(out), "int64"))


class _Pool(Layer):
    """Shared arguments of max and average pooling."""

    prefix = "pool"
    spatial = True

    kernel_size: PosN
    stride: PosN | None = None
    padding: NonNegN = 0
    ceil_mode: Flag = False

    def dil(self) -> tuple[int, ...]:
        """Dilation per axis (1 for average pooling)."""
        return (1,) * (self.ndim or 1)

    def geometry(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """Kernel, stride (defaults to the kernel) and padding per axis."""
        k = self.per_axis(self.kernel_size, "kernel_size")
        s = k if self.stride is None else self.per_axis(self.stride, "stride")
        return k, s, self.per_axis(self.padding, "padding")

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        self.expect_rank(ins[0])
        k, s, p = self.geometry()
        padded = tuple(n + 2 * pi for n, pi in zip(ins[0][1:], p))
        k_eff = tuple(di * (ki - 1) + 1 for ki, di in zip(k, self.dil()))
        out: list[Term] = [Sym("C", ins[0][0])]
        for name, n, ki, si, pi, di in zip(axis_names(len(ins[0]))[1:], ins[0][1:], k, s, p, self.dil()):
            if pi > ki // 2:
                raise LayerError(f"padding {pi} is more than half the kernel_size {ki}")
            out.append(pool_axis(n, ki, si, pi, di, bool(self.ceil_mode), name))
        # PyTorch refuses an output size below 1 only: with ceil_mode a kernel larger than the
        # padded input still gives one window (MaxPool2d(3, 2, ceil_mode=True) on 2x2 gives 1x1)
        if any(o.value < 1 for o in out[1:]):
            if any(n < ke for n, ke in zip(padded, k_eff)):
                what = f"kernel_size {fmt_axes(k)}" + (f" (dilated to {fmt_axes(k_eff)})" if k_eff != k else "")
                raise LayerError(f"{what} is larger than the padded input {'x'.join(map(str, padded))}")
            raise LayerError(f"output size {min(o.value for o in out[1:])} is not positive")
        return tuple(out)

    def rf_window(self, ins: Sequence[Shape]) -> tuple[tuple[Term, int, int], ...]:
        k, s, p = self.geometry()
        return tuple((Sym("d", di) * (Sym("k", ki) - 1), si, pi) for ki, si, pi, di in zip(k, s, p, self.dil()))

    def rf_dilation(self, ins: Sequence[Shape]) -> tuple[int, ...]:
        return self.dil()

    def describe(self) -> str:
        k, s, p = self.geometry()
        parts = [f"k{fmt_axes(k)}", f"s{fmt_axes(s)}"]
        if any(p):
            parts.append(f"p{fmt_axes(p)}")
        if self.ceil_mode:
            parts.append("ceil")
        return " ".join(parts)


class MaxPoolNd(_Pool):
    """Max pooling (``torch.nn.MaxPoolNd``)."""

    peers = _MAX

    dilation: PosN = 1
    return_indices: Flag = False

    def dil(self) -> tuple[int, ...]:
        return self.per_axis(self.dilation, "dilation")

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        return _input_and_indices(ins, out)

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # window − 1 comparisons per output element
        return (kernel_term(self.geometry()[0]) - 1) * elements(out, "out")

    def torch_module(self, ins: Sequence[Shape]) -> str:
        # return_indices is left out: the indices are not a tensor a later layer takes
        args = self.torch_args("stride", "padding", "dilation", "ceil_mode")
        return torch_call(f"nn.MaxPool{self.ndim}d", self.kernel_size, **args)


class AvgPoolNd(_Pool):
    """Average pooling (``torch.nn.AvgPoolNd``)."""

    peers = Peers(fvcore=nothing, thop=per_output(1), ptflops=per_input(2), torchinfo=nothing)

    count_include_pad: Flag = True
    divisor_override: Pos | None = None

    def infer(self, ins: Sequence[Shape]) -> Shape:
        if self.ndim == 1 and self.divisor_override is not None:
            raise LayerError("avgpool1d takes no divisor_override (as PyTorch's AvgPool1d)")
        out = super().infer(ins)
        if self.ndim == 3:
            # PyTorch's avg_pool3d wants the kernel to fit in the input before padding
            for n, k in zip(ins[0][1:], self.geometry()[0]):
                if n < k:
                    raise LayerError(f"kernel_size {k} is larger than the input {n} (avgpool3d does not count "
                                     "the padding here, as PyTorch)")
        return out


    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # window − 1 adds and one divide per output element
        return kernel_term(self.geometry()[0]) * elements(out, "out")

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        return (Saved.input(ins),)

    def torch_module(self, ins: Sequence[Shape]) -> str:
        args = self.torch_args("stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")
        return torch_call(f"nn.AvgPool{self.ndim}d", self.kernel_size, **args)


def _ptflops_lppool(layer: Layer, ins: Sequence[Shape], out: Shape) -> int:
    """F.lp_poolNd calls the patched F.avg_poolNd (input elements), F.relu and Tensor.mul (E each)."""
    return numel(ins[0]) + 2 * numel(out)


class LPPoolNd(Layer):
    """Power-average pooling (``torch.nn.LPPoolNd``): ``(Σ x^p)^(1/p)`` over each window, p = ``norm_type``."""

    prefix = "pool"
    spatial = True
    peers = Peers(fvcore=nothing, thop=nothing, ptflops=_ptflops_lppool, torchinfo=nothing)

    norm_type: Number
    kernel_size: PosN
    stride: PosN | None = None
    ceil_mode: Flag = False

    def geometry(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Kernel and stride (defaults to the kernel) per axis."""
        k = self.per_axis(self.kernel_size, "kernel_size")
        return k, k if self.stride is None else self.per_axis(self.stride, "stride")

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        self.expect_rank(ins[0])
        if self.norm_type == 0:
            raise LayerError("norm_type 0 has no 1/p-th power (PyTorch divides by it)")
        k, s = self.geometry()
        out: list[Term] = [Sym("C", ins[0][0])]
        for name, n, ki, si in zip(axis_names(len(ins[0]))[1:], ins[0][1:], k, s):
            # avg_pool of x^p with no padding; in ceil_mode a window may run past the input
            o = pool_axis(n, ki, si, 0, 1, bool(self.ceil_mode), name)
            if o.value < 1:
                raise LayerError(f"kernel_size {fmt_axes(k)} is larger than the input "
                                 f"{'x'.join(map(str, ins[0][1:]))}")
            out.append(o)
        return tuple(out)

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # x^p per input element; per output, window − 1 adds and the 1/p-th power
        return elements(ins[0], "in") + kernel_term(self.geometry()[0]) * elements(out, "out")

    def rf_window(self, ins: Sequence[Shape]) -> tuple[tuple[Term, int, int], ...]:
        k, s = self.geometry()
        return tuple((Sym("k", ki) - 1, si, 0) for ki, si in zip(k, s))

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # pow keeps its base (x, then the scaled magnitudes), avg pooling its input x^p, abs its
        # input a, and sign(a)·relu(|a|) both factors (relu's result among them)
        e = numel(out)
        return (Saved.input(ins), Saved("p-th powers", numel(ins[0])), Saved("window means", e),
                Saved("signs", e), Saved("rectified means", e), Saved("scaled means", e))

    def describe(self) -> str:
        k, s = self.geometry()
        return f"p{self.norm_type:g} k{fmt_axes(k)} s{fmt_axes(s)}" + (" ceil" if self.ceil_mode else "")

    def torch_module(self, ins: Sequence[Shape]) -> str:
        args = self.torch_args("stride", "ceil_mode")
        return torch_call(f"nn.LPPool{self.ndim}d", self.norm_type, self.kernel_size, **args)


def adaptive_windows(n: int, o: int) -> list[int]:
    """Window lengths of adaptive pooling from ``n`` to ``o``: window i is ``[floor(i·n/o), ceil((i+1)·n/o))``.

    One entry per output position: the definition, which :func:`adaptive_window_sum` and
    :func:`adaptive_window_max` give in closed form (tests hold them equal).
    """
    return [-((-(i + 1) * n) // o) - (i * n) // o for i in range(o)]


def adaptive_window_sum(n: int, o: int) -> int:
    """Σ of the window lengths: ``n + o − gcd(n, o)``.

    Σ ceil((i+1)·n/o) − Σ floor(i·n/o) over i < o: the floors cancel but for the last ceiling,
    ``n``, and each ceiling exceeds its floor by 1 except where o divides (i+1)·n, which happens
    for gcd(n, o) of the o values of i.
    """
    return n + o - math.gcd(n, o)


def adaptive_window_max(n: int, o: int) -> int:
    """The longest window: ``q``, ``q + 1`` or ``q + 2`` where ``n = q·o + r``, ``g = gcd(n, o)``.

    Window i is ``q + [f + r ≥ o] + [(f + r) mod o ≠ 0]`` with ``f = i·n mod o``, and f runs over
    the multiples of g below o: q when r = 0; otherwise q + 2 where f = o − g makes both terms 1
    (r > g), else q + 1 (r = g).
    """
    q, r = divmod(n, o)
    return q if r == 0 else q + 2 if r > math.gcd(n, o) else q + 1


def _output_size(v: Any) -> Any:
    one = _positive(1)
    if isinstance(v, (list, tuple)):
        # a tuple, as every argument with one value per axis: a layer is hashable, so equal
        # layers on equal inputs share their figures (cnncalc.graph.Graph.counts)
        return tuple(None if x is None else one(x) for x in v)
    return one(v)


#: ``output_size``: an int, or one per axis where ``null`` keeps the input size.
OutputSize = Annotated[
    Any,
    PlainValidator(_output_size),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {"type": "array", "items": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]}},
            ]
        }
    ),
]


class _Adaptive(Layer):
    """Adaptive pooling to a fixed output size."""

    prefix = "pool"
    spatial = True
    output_size: OutputSize = 1

    def sizes(self, ins: Sequence[Shape]) -> tuple[int, ...]:
        """Output size per axis (``null`` keeps the input size)."""
        v = self.output_size
        n = self.ndim or 1
        if isinstance(v, tuple):
            if len(v) != n:
                raise LayerError(f"output_size has {len(v)} values, expected {n}")
            if n == 1 and v[0] is None:
                raise LayerError("output_size null (keep the size) is not accepted in 1-d, as in PyTorch")
            return tuple(ins[0][1 + i] if x is None else x for i, x in enumerate(v))
        return (v,) * n

    def infer(self, ins: Sequence[Shape]) -> Shape:
        self.expect_rank(ins[0])
        return (ins[0][0], *self.sizes(ins))

    def window_total(self, ins: Sequence[Shape], out: Shape) -> Term:
        """Sum over output elements of their window sizes: C·Σwindows_H·Σwindows_W."""
        names = axis_names(len(out))[1:]
        per_axis = [Sym(f"win_{a}", adaptive_window_sum(n, o)) for a, n, o in zip(names, ins[0][1:], out[1:])]
        return prod([Sym("C", out[0]), *per_axis])

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        rf = fields[0]
        if all(o == 1 for o in out[1:]):
            return rf.whole()

        def step(i: int, a: AxisRF) -> AxisRF:
            n, o = ins[0][1 + i], out[1 + i]
            if o == 1:
                return WHOLE_AXIS
            # output t reads [floor(t·n/o), ceil((t+1)·n/o)); the windows repeat every o/g units, n/g further
            g = math.gcd(n, o)
            return a.gather(o // g, n // g, lambda t: range(t * n // o, -(-(t + 1) * n // o)), o)

        return rf.map(step)

    def describe(self) -> str:
        v = self.output_size
        return "→" + ("x".join("*" if x is None else str(x) for x in v) if isinstance(v, tuple) else str(v))

    def torch_module(self, ins: Sequence[Shape]) -> str:
        kind = "Max" if isinstance(self, AdaptiveMaxPoolNd) else "Avg"
        return torch_call(f"nn.Adaptive{kind}Pool{self.ndim}d", self.output_size)


class AdaptiveAvgPoolNd(_Adaptive):
    """Adaptive average pooling (``torch.nn.AdaptiveAvgPoolNd``); FLOPs = Σ window sizes."""

    peers = _ADAPTIVE_AVG

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return Note(self.window_total(ins, out), "window sizes summed")

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # PyTorch computes an output of size 1 on every axis as mean(), which keeps only shapes
        return () if all(o == 1 for o in out[1:]) else (Saved.input(ins),)


class AdaptiveMaxPoolNd(_Adaptive):
    """Adaptive max pooling (``torch.nn.AdaptiveMaxPoolNd``); FLOPs = Σ (window − 1)."""

    peers = _MAX

    return_indices: Flag = False

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # Σ (window − 1)
        return Note(self.window_total(ins, out), "window sizes summed") - elements(out, "out")

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        return _input_and_indices(ins, out)


@register("globalavgpool")
class GlobalAvgPool(Layer):
    """Global average pooling over all spatial axes, keeping them as size 1 (``AdaptiveAvgPool(1)``)."""

    prefix = "pool"
    peers = _ADAPTIVE_AVG
    spatial = True

    def infer(self, ins: Sequence[Shape]) -> Shape:
        if len(ins[0]) < 2:
            raise LayerError(f"expects a [C, *spatial] input, got {list(ins[0])}")
        return (ins[0][0],) + (1,) * (len(ins[0]) - 1)

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return elements(ins[0], "in")

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        return fields[0].whole()

    def torch_module(self, ins: Sequence[Shape]) -> str:
        kind = "Max" if isinstance(self, GlobalMaxPool) else "Avg"
        return torch_call(f"nn.Adaptive{kind}Pool{len(ins[0]) - 1}d", 1)


@register("globalmaxpool")
class GlobalMaxPool(GlobalAvgPool):
    """Global max pooling over all spatial axes (``AdaptiveMaxPool(1)``); FLOPs = in − out."""

    peers = _MAX

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return elements(ins[0], "in") - elements(out, "out")

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        return _input_and_indices(ins, out)


for _base, _stem in (
    (MaxPoolNd, "maxpool"),
    (AvgPoolNd, "avgpool"),
    (LPPoolNd, "lppool"),
    (AdaptiveAvgPoolNd, "adaptiveavgpool"),
    (AdaptiveMaxPoolNd, "adaptivemaxpool"),
):
    register_nd(_base, _stem)
