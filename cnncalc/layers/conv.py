"""Convolutions: conv1d/2d/3d and convtranspose1d/2d/3d.

Rules (k = product of kernel sizes, C_in inferred from the input):

- output, per axis: ``floor((n + 2p − d(k−1) − 1)/s) + 1``; transposed:
  ``(n − 1)s − 2p + d(k−1) + output_padding + 1``
- params: ``(k·C_in/groups + bias)·C_out``; transposed ``k·C_in·C_out/groups + bias·C_out``
- MACs: ``k·C_in/groups·C_out·out_spatial``; transposed ``k·C_out/groups·C_in·in_spatial``
- FLOPs: ``2·MACs`` plus one add per output element when there is a bias
- receptive field: ``r' = r + (d(k−1))·j``, ``j' = j·s``; transposed, output unit ``t`` reads
  the input units ``u`` with ``t = u·s − p + i·d``, so ``j' = j/s`` and the field of each unit
  depends on its phase ``t mod s`` (see :mod:`cnncalc.layers.rf`)
- saved for backward: the input and the weight. ``padding_mode`` reflect or replicate also
  keeps the padded copy ``C_in·Π(n + 2p)``; circular keeps only the padded copy; ``padding:
  same`` with an odd total padding ``d(k−1)`` on some axis keeps only a zero-padded copy one
  element longer on those axes instead of the input. Under autocast they run in fp16/bf16.
- workspace: a dense (``groups`` 1) convolution with a kernel larger than 1 takes a transient
  workspace of its input plus its output, forward and backward (cuDNN's tensor-core kernels
  work on channels-last copies); 1x1 and grouped convolutions take none
- peer tools (see cnncalc.layers.peers): the MACs, except that fvcore counts 0 for ``padding``
  same or valid with zeros (traced as ``aten::_convolution_mode``, which it does not handle),
  thop counts a transposed one as output elements · C_in/groups · k, ptflops adds one per output
  element for the bias, and torchinfo counts the parameters once per output position

Weight standardisation (conv1d/2d/3d, ``weight_standardization: true``; timm's ``StdConv2d``,
BiT, and with ``ws_gain`` its ``ScaledStdConv2d``, NF-Nets): in forward the weight is
standardised per output channel, ``Ŵ = F.batch_norm(W.reshape(1, C_out, −1), None, None,
weight=g, training=True, eps=ws_eps)``, i.e. ``(W − mean)/√(var + ws_eps)`` over the
``F = k·C_in/groups`` weights of each output channel, times ``g = gain·ws_gamma/√F`` with a
learnable gain ``[C_out, 1, …]``; the convolution runs with ``Ŵ``. W = ``F·C_out`` weights:

- params: ``+ C_out`` for the gain
- MACs: the convolution's, unchanged (the standardisation multiplies no activation; the forward
  hooks and FlopCounterMode count the convolution only)
- FLOPs: plus, once per forward pass whatever the batch, ``5W`` for the statistics and the
  normalisation (as for the norm layers) and, with the gain, ``W + C_out`` (times g; gain·scale).
  ``--convention torch`` and ``torchvision`` leave it out, as FlopCounterMode does (it counts
  convolutions and matrix products); fvcore counts ``aten::batch_norm`` in training mode as
  ``5W`` with the gain, ``4W`` without
- saved for backward, per step (not per sample): the standardised weight ``W`` (autograd keeps
  it for the convolution instead of the parameter; a low-precision copy under autocast), the
  mean and inverse std ``2·C_out`` (fp32), and with the gain the product gain·scale ``C_out``;
  frozen, only the standardised weight (nothing computes a gradient of the parameters)
- peer tools: thop and ptflops hook modules by exact class, so the exported module (a subclass
  of ``nn.ConvNd``) counts 0 in both; torchinfo counts weight and bias once per output position,
  not the gain
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import Field

from ..errors import LayerError
from ..formula import Floor, Note, Sym, Term, axis_names, elements
from .base import (
    RF,
    AxisRF,
    Flag,
    Layer,
    NonNegN,
    Number,
    Padding,
    Pos,
    PosN,
    Saved,
    Shape,
    choice,
    fmt_axes,
    kernel_term,
    matmul_flops,
    numel,
    register_nd,
    torch_call,
)
from .peers import PeerRule, Peers, nothing, weights, weights_and_bias


class _Conv(Layer):
    """Shared arguments of convolutions."""

    prefix = "conv"
    autocast = "low"
    spatial = True

    out_channels: Pos
    kernel_size: PosN
    stride: PosN = 1
    padding: Padding = 0
    dilation: PosN = 1
    groups: Pos = 1
    bias: Flag = True
    padding_mode: choice("zeros", "reflect", "replicate", "circular") = "zeros"  # type: ignore[valid-type]
    in_channels: Pos | None = None

    def geometry(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """Kernel, stride and dilation per spatial axis."""
        return (
            self.per_axis(self.kernel_size, "kernel_size"),
            self.per_axis(self.stride, "stride"),
            self.per_axis(self.dilation, "dilation"),
        )

    def channels_in(self, ins: Sequence[Shape]) -> int:
        """C_in, checked against ``in_channels`` and ``groups``."""
        self.expect_rank(ins[0])
        c_in = ins[0][0]
        if self.in_channels is not None and self.in_channels != c_in:
            raise LayerError(f"in_channels is {self.in_channels} but the input has {c_in} channels")
        if c_in % self.groups:
            raise LayerError(f"in_channels {c_in} is not divisible by groups {self.groups}")
        if self.out_channels % self.groups:
            raise LayerError(f"out_channels {self.out_channels} is not divisible by groups {self.groups}")
        return c_in

    def describe(self) -> str:
        k, s, d = self.geometry()
        parts = [f"{self.out_channels}", f"k{fmt_axes(k)}"]
        if any(x != 1 for x in s):
            parts.append(f"s{fmt_axes(s)}")
        if isinstance(self.padding, str):
            parts.append(f"p={self.padding}")
        elif any(x != 0 for x in self.per_axis(self.padding, "padding")):
            parts.append(f"p{fmt_axes(self.per_axis(self.padding, 'padding'))}")
        if any(x != 1 for x in d):
            parts.append(f"d{fmt_axes(d)}")
        if self.groups != 1:
            parts.append(f"g{self.groups}")
        if not self.bias:
            parts.append("no bias")
        return " ".join(parts)

    def params_term(self, ins: Sequence[Shape]) -> Term:
        # (k·C_in/g + 1)·C_out
        t: Term = kernel_term(self.geometry()[0]) * Sym("C_in", ins[0][0]) / Sym("g", self.groups)
        return (t + 1 if self.bias else t) * Sym("C_out", self.out_channels)

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return matmul_flops(self.macs(ins, out), out, bool(self.bias))

    def workspace(self, ins: Sequence[Shape], out: Shape) -> int:
        # channels-last copies of the input and the output: in + out elements
        if self.groups != 1 or all(k == 1 for k in self.geometry()[0]):
            return 0
        return numel(ins[0]) + numel(out)

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # weight = params − bias
        weight = self.params(ins) - (self.out_channels if self.bias else 0)
        return (Saved.input(ins), Saved.weight(weight))

    def torch_module(self, ins: Sequence[Shape]) -> str:
        kind = "ConvTranspose" if isinstance(self, ConvTransposeNd) else "Conv"
        extra = ("output_padding",) if isinstance(self, ConvTransposeNd) else ()
        args = self.torch_args("stride", "padding", *extra, "dilation", "groups", "bias", "padding_mode")
        return torch_call(f"nn.{kind}{self.ndim}d", ins[0][0], self.out_channels, self.kernel_size, **args)


def _per_position(layer: Layer, ins: Sequence[Shape], out: Shape) -> int:
    """torchinfo: 'Conv' in the class name, so parameters · output positions."""
    return layer.params(ins) * math.prod(out[1:])


def _fvcore_conv(layer: ConvNd, ins: Sequence[Shape], out: Shape) -> int:
    """The MACs of ``aten::_convolution``; 'same' or 'valid' padding traces as ``_convolution_mode``: 0."""
    return 0 if isinstance(layer.padding, str) and layer.padding_mode == "zeros" else layer.macs(ins, out)


def _thop_transposed(layer: ConvTransposeNd, ins: Sequence[Shape], out: Shape) -> int:
    """thop's calculate_conv2d_flops: output elements · C_in/groups · kernel, for transposed ones too."""
    return numel(out) * (ins[0][0] // layer.groups) * math.prod(layer.geometry()[0])


def _ws_peer(plain: PeerRule, standardised: PeerRule) -> PeerRule:
    """A peer rule that counts a weight-standardised convolution by its own rule."""

    def rule(layer: ConvNd, ins: Sequence[Shape], out: Shape) -> int:
        return int((standardised if layer.weight_standardization else plain)(layer, ins, out))

    return rule


def _fvcore_ws(layer: ConvNd, ins: Sequence[Shape], out: Shape) -> int:
    """The convolution, plus ``aten::batch_norm`` (training mode) on the weights: 5 per weight with a gain, else 4."""
    return _fvcore_conv(layer, ins, out) + (5 if layer.ws_gain else 4) * layer.weight_elements(ins)


def _torchinfo_ws(layer: ConvNd, ins: Sequence[Shape], out: Shape) -> int:
    """torchinfo: the parameters named weight and bias (not the gain) once per output position."""
    return (layer.params(ins) - (layer.out_channels if layer.ws_gain else 0)) * math.prod(out[1:])


#: What the standardisation of a weight saves (see the module docstring).
_STANDARDISED, _WS_STATS, _GAIN_SCALE = "standardised weight", "mean and inverse std of the weights", "gain·scale"

#: The helper module ``cnncalc export`` writes for a weight-standardised convolution ({n}: 1, 2, 3).
_WS_HELPER = '''class WSConv{n}d(nn.Conv{n}d):
    """nn.Conv{n}d whose weight is standardised per output channel in forward (timm's StdConv2d;
    with a gain, its ScaledStdConv2d: the gain times gamma / sqrt(fan-in))."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, ...], *,
                 ws_eps: float = 1e-6, ws_gain: bool = False, ws_gamma: float = 1.0, **conv: object) -> None:
        super().__init__(in_channels, out_channels, kernel_size, **conv)
        self.ws_eps = ws_eps
        self.scale = ws_gamma * self.weight[0].numel() ** -0.5
        self.gain = nn.Parameter(torch.ones(self.out_channels, *(1,) * (self.weight.dim() - 1))) if ws_gain else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gain = None if self.gain is None else (self.gain * self.scale).view(-1)
        weight = nn.functional.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None, weight=gain,
                                          training=True, momentum=0.0, eps=self.ws_eps).reshape_as(self.weight)
        return self._conv_forward(x, weight, self.bias)
'''


class ConvNd(_Conv):
    """Convolution (``torch.nn.ConvNd``), its weight optionally standardised in forward."""

    peers = Peers(fvcore=_ws_peer(_fvcore_conv, _fvcore_ws), thop=_ws_peer(weights, nothing),
                  ptflops=_ws_peer(weights_and_bias, nothing), torchinfo=_ws_peer(_per_position, _torchinfo_ws))
    weight_standardization: Flag = Field(False, description="standardise the weight per output channel in "
                                         "forward (timm's StdConv2d)")
    ws_gain: Flag = Field(False, description="a learnable gain per output channel times ws_gamma/sqrt(fan-in) "
                          "(timm's ScaledStdConv2d)")
    ws_gamma: Number = Field(1.0, description="the constant the gain is multiplied by, over sqrt(fan-in)")
    ws_eps: Number = Field(1e-6, description="added to the variance of each output channel's weights")

    def weight_elements(self, ins: Sequence[Shape]) -> int:
        """W = k·C_in/groups·C_out, the weights of the kernel."""
        return math.prod(self.geometry()[0]) * ins[0][0] // self.groups * self.out_channels

    def describe(self) -> str:
        text = super().describe()
        return f"{text} ws{' gain' if self.ws_gain else ''}" if self.weight_standardization else text

    def params_term(self, ins: Sequence[Shape]) -> Term:
        t = super().params_term(ins)
        # + C_out: the gain
        return t + Note(Sym("C_out", self.out_channels), "gain") if self.weight_standardization and self.ws_gain else t

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        t = super().flops_term(ins, out)
        if not self.weight_standardization:
            return t
        # once per pass: 5W (mean: add; variance: subtract, square, add; times 1/σ), with the gain W + C_out
        w: Term = kernel_term(self.geometry()[0]) * Sym("C_in", ins[0][0]) / Sym("g", self.groups) * Sym(
            "C_out", self.out_channels)
        ws = 6 * w + Sym("C_out", self.out_channels) if self.ws_gain else 5 * w
        return t + Note(ws, "weight standardisation")

    def torch_helper_sources(self) -> tuple[str, ...]:
        # a weight-standardised convolution is a subclass of nn.ConvNd written out
        return (_WS_HELPER.format(n=self.ndim),) if self.weight_standardization else ()

    def torch_module(self, ins: Sequence[Shape]) -> str:
        if not self.weight_standardization:
            return super().torch_module(ins)
        args = self.torch_args("stride", "padding", "dilation", "groups", "bias", "padding_mode", "ws_eps",
                               "ws_gain", "ws_gamma")
        return torch_call(f"WSConv{self.ndim}d", ins[0][0], self.out_channels, self.kernel_size, **args)

    def pads(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Padding before and after, per axis (``same`` puts the odd pixel after, as PyTorch)."""
        k, s, d = self.geometry()
        if self.padding == "valid":
            z = (0,) * len(k)
            return z, z
        if self.padding == "same":
            total = tuple(di * (ki - 1) for ki, di in zip(k, d))
            return tuple(t // 2 for t in total), tuple(t - t // 2 for t in total)
        p = self.per_axis(self.padding, "padding")
        return p, p

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        # per axis: ⌊(n + 2p − d·(k−1) − 1)/s⌋ + 1
        self.channels_in(ins)
        options = [f for f in ("ws_gain", "ws_gamma", "ws_eps") if f in self.model_fields_set]
        if options and not self.weight_standardization:
            raise LayerError(f"{', '.join(options)} applies only with weight_standardization: true")
        if "ws_gamma" in options and not self.ws_gain:
            raise LayerError("ws_gamma scales the gain: it needs ws_gain: true")
        if self.weight_standardization and self.weight_elements(ins) == self.out_channels:
            # F.batch_norm in training mode needs more than one value per channel
            raise LayerError("weight standardisation needs more than one weight per output channel "
                             "(k·C_in/groups is 1), as PyTorch's batch_norm does")
        k, s, d = self.geometry()
        if self.padding == "same" and any(x != 1 for x in s):
            raise LayerError("padding 'same' is not supported for strided convolutions (as in PyTorch)")
        before, after = self.pads()
        padded = tuple(n + pb + pa for n, pb, pa in zip(ins[0][1:], before, after))
        k_eff = tuple(di * (ki - 1) + 1 for ki, di in zip(k, d))
        if any(n < ke for n, ke in zip(padded, k_eff)):
            what = f"kernel_size {fmt_axes(k)}" + (f" (dilated to {fmt_axes(k_eff)})" if k_eff != k else "")
            raise LayerError(f"{what} is larger than the padded input {'x'.join(map(str, padded))}")
        out: list[Term] = [Sym("C_out", self.out_channels)]
        for name, n, ki, si, di, pb, pa in zip(axis_names(len(ins[0]))[1:], ins[0][1:], k, s, d, before, after):
            # PyTorch pads by reflection only less than the size, circularly at most the size
            if (self.padding_mode == "reflect" and max(pb, pa) >= n) or (
                    self.padding_mode == "circular" and max(pb, pa) > n):
                limit = "smaller than" if self.padding_mode == "reflect" else "at most"
                raise LayerError(f"padding {max(pb, pa)} must be {limit} the input size {n} "
                                 f"for padding_mode '{self.padding_mode}' (as in PyTorch)")
            pad = 2 * Sym("p", pb) if pb == pa else Sym("p_before", pb) + Sym("p_after", pa)
            span = Sym(f"{name}_in", n) + pad - Sym("d", di) * (Sym("k", ki) - 1) - 1
            out.append(Floor(span / Sym("s", si)) + 1)
        return tuple(out)

    def macs_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # k·C_in/g per output element
        per_output = kernel_term(self.geometry()[0]) * Sym("C_in", ins[0][0]) / Sym("g", self.groups)
        return per_output * elements(out, "out")

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        kept = self._conv_saved(ins, out)
        if not self.weight_standardization:
            return kept
        # the convolution keeps the standardised weight in place of the parameter (its last entry)
        w, c = self.weight_elements(ins), self.out_channels
        standardisation = (Saved(_STANDARDISED, w, per_sample=False), Saved(_WS_STATS, 2 * c, "fp32", per_sample=False))
        # F.batch_norm keeps its weight argument, gain·scale, a new tensor of C_out
        gain = (Saved(_GAIN_SCALE, c, "weights", per_sample=False),) if self.ws_gain else ()
        return (*kept[:-1], *standardisation, *gain)

    def _conv_saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        """What the convolution itself keeps: its (padded) input and its weight, last."""
        keep_input, weight = super().saved(ins, out)
        before, after = self.pads()
        c, spatial = ins[0][0], ins[0][1:]
        if self.padding_mode != "zeros":
            # F.pad(mode) makes a padded copy C·Π(n + before + after) and the conv keeps it;
            # reflect and replicate padding keep the input for their own backward as well
            padded_size = c * math.prod(n + b + a for n, b, a in zip(spatial, before, after))
            padded = Saved("padded copy of the input", padded_size)
            return (padded, weight) if self.padding_mode == "circular" else (keep_input, padded, weight)
        if self.padding == "same" and any((b + a) % 2 for b, a in zip(before, after)):
            # an odd total padding is applied as one extra zero on the far side, to a copy
            grown = math.prod(n + (b + a) % 2 for n, b, a in zip(spatial, before, after))
            return (Saved("zero-padded copy of the input", c * grown), weight)
        return (keep_input, weight)

    def saved_when(self, ins: Sequence[Shape], out: Shape, needs: Sequence[bool], trainable: bool) -> tuple[Saved, ...]:
        # the convolution keeps its (padded) input and weight whichever gradient is needed (one
        # backward formula for all); reflect/replicate padding keeps the input only for dL/dx
        kept = super().saved_when(ins, out, needs, trainable)
        if kept and not trainable:
            # no gradient of the parameters: the standardisation of the weight builds no backward
            kept = tuple(s for s in kept if s.what not in (_WS_STATS, _GAIN_SCALE))
        if kept and not needs[0] and self.padding_mode in ("reflect", "replicate"):
            return kept[1:]  # (padded copy, weight)
        return kept

    def rf_window(self, ins: Sequence[Shape]) -> tuple[tuple[Term, int, int], ...]:
        k, s, d = self.geometry()
        before = self.pads()[0]
        return tuple((Sym("d", di) * (Sym("k", ki) - 1), si, pb) for ki, si, di, pb in zip(k, s, d, before))

    def rf_dilation(self, ins: Sequence[Shape]) -> tuple[int, ...]:
        return self.geometry()[2]


class ConvTransposeNd(_Conv):
    """Transposed convolution (``torch.nn.ConvTransposeNd``)."""

    prefix = "deconv"
    peers = Peers(fvcore=weights, thop=_thop_transposed, ptflops=weights_and_bias, torchinfo=_per_position)
    output_padding: NonNegN = 0

    def out_terms(self, ins: Sequence[Shape]) -> tuple[Term, ...]:
        # per axis: (n − 1)·s − 2p + d·(k−1) + output_padding + 1
        self.channels_in(ins)
        if isinstance(self.padding, str):
            raise LayerError("padding must be an integer for transposed convolutions")
        if self.padding_mode != "zeros":
            raise LayerError("padding_mode must be 'zeros' for transposed convolutions (as in PyTorch)")
        k, s, d = self.geometry()
        p = self.per_axis(self.padding, "padding")
        op = self.per_axis(self.output_padding, "output_padding")
        out: list[Term] = [Sym("C_out", self.out_channels)]
        for name, n, ki, si, di, pi, opi in zip(axis_names(len(ins[0]))[1:], ins[0][1:], k, s, d, p, op):
            if opi >= max(si, di):
                raise LayerError(f"output_padding {opi} must be smaller than stride or dilation")
            size = ((Sym(f"{name}_in", n) - 1) * Sym("s", si) - 2 * Sym("p", pi)
                    + Sym("d", di) * (Sym("k", ki) - 1) + Sym("output_padding", opi) + 1)
            if size.value <= 0:
                raise LayerError(f"output size {size.value} is not positive (padding {pi} too large)")
            out.append(size)
        return tuple(out)

    def params_term(self, ins: Sequence[Shape]) -> Term:
        # k·C_in·C_out/g + C_out (bias)
        c_out = Sym("C_out", self.out_channels)
        t: Term = kernel_term(self.geometry()[0]) * Sym("C_in", ins[0][0]) * c_out / Sym("g", self.groups)
        return t + Note(c_out, "bias") if self.bias else t

    def macs_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # k·C_out/g per input element
        return kernel_term(self.geometry()[0]) * Sym("C_out", self.out_channels) / Sym("g", self.groups) * elements(
            ins[0], "in"
        )

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        k, s, d = self.geometry()
        p = self.per_axis(self.padding, "padding")

        def step(i: int, a: AxisRF) -> AxisRF:
            ki, si, di, pi = k[i], s[i], d[i], p[i]
            if si == 1:
                # stride 1 is a convolution with the kernel flipped and padding d(k−1) − p
                return a.window(di * (ki - 1), 1, di * (ki - 1) - pi, di)

            def taps(t: int) -> list[int]:
                # output t = u·s − p + i·d: the input units u whose kernel reaches t
                return [(t + pi - j * di) // si for j in range(ki) if (t + pi - j * di) % si == 0]

            return a.gather(si, 1, taps, out[1 + i])

        return fields[0].map(step)


register_nd(ConvNd, "conv")
register_nd(ConvTransposeNd, "convtranspose", "conv_transpose")
