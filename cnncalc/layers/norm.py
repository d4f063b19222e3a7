"""Normalisation: batchnorm1d/2d/3d, instancenorm1d/2d/3d, layernorm, layernorm2d, groupnorm,
localresponsenorm (local response norm), layerscale, globalresponsenorm (ConvNeXt-V2's GRN),
normalize (``F.normalize``, SSD's L2Norm), EvoNorm (evonorm2ds0, evonorm2ds0a, evonorm2db0);
simplenorm, simplenorm2d, rmsnorm and rmsnorm2d (x · rsqrt(s(x) + eps) · w: x not centred, no
bias); filterresponsenorm2d (frn); scalaraffine.

Rules (C = channels, E = elements of the output):

- batchnorm: params ``2C`` (γ, β) when affine, buffers ``2C`` (running mean and variance) when
  tracking statistics; FLOPs ``2E`` (at inference the statistics fold into one multiply and one add)
- layernorm, groupnorm, instancenorm: params ``2·normalized`` (γ, β) when affine; FLOPs ``5E`` for
  the statistics and normalisation (mean: 1 add; variance: subtract, square, add; scale: 1 multiply)
  plus ``2E`` when affine; layernorm, layernorm2d and groupnorm with ``bias: false`` (a weight, no β): params
  ``normalized``, plus ``E`` FLOPs
- local response norm: FLOPs ``(size + 4)·E`` (square, window sum, scale, add k, power, divide)
- layerscale: a learnable multiplier per channel along ``dim`` (ConvNeXt, CaiT; ``dim: -1`` for
  channels-last), or with ``scalar: true`` one value for the whole tensor (NF-Nets' skip-init
  gain): params ``C`` (1), FLOPs ``E``
- globalresponsenorm, channels along ``dim``: ``x + γ·(x·N) + β`` with ``G`` the L2 norm of each
  channel over all positions and ``N = G / (mean over channels of G + eps)``; params ``2C``,
  FLOPs ``6E + 3C + 1`` (the norms ``2E + C``, their mean plus eps ``C + 1``, ``C`` divides,
  ``4E`` for the product, the affine and the residual)
- normalize, along ``dim``: ``x / max(‖x‖_p, eps)`` for each of the ``V = E/n`` vectors of ``n``
  values; FLOPs ``3E + 2V`` (``|x|^p`` and an add per element and a root per vector for the
  norm, the max per vector, a divide per element)
- simplenorm (timm's SimpleNorm, over the trailing ``normalized_shape``), simplenorm2d (over the
  channels of [C, H, W], timm's SimpleNorm2d): ``x · rsqrt(var(x) + eps) · w``, the variance
  unbiased (``torch.var``); params ``normalized`` (w) when ``elementwise_affine``; FLOPs ``5E``
  (variance: mean 1 add, subtract, square, add; then 1 multiply by the inverse root) plus ``E`` for w
- rmsnorm (``nn.RMSNorm``), rmsnorm2d (timm's RmsNorm2d): ``x · rsqrt(mean(x²) + eps) · w``;
  params as simplenorm; FLOPs ``3E`` (square, add, multiply) plus ``E`` for w. For both, eps and the
  root, once per normalised row, are not counted, as for layernorm
- filterresponsenorm2d (timm's FilterResponseNormTlu2d): ``max(x · rsqrt(mean(x², (H, W)) + eps) · w
  + b, tau)``; params ``3C`` (w, b, tau; ``2C`` with ``tlu: false``); FLOPs ``6E`` (square, add,
  multiply; multiply, add; max), ``5E`` without the TLU
- scalaraffine (HGNetV2's LearnableAffineBlock): ``scale · x + bias``, one learnable value each:
  params 2, FLOPs ``2E``; with ``square: true``, ``scale · x² + bias`` (MetaFormer's StarReLU after
  its ReLU), FLOPs ``3E``
- receptive field: unchanged, except that layernorm makes it whole along any spatial axis it
  normalises over (none for ``LayerNorm(C)`` on a channels-last tensor), and so do simplenorm and
  rmsnorm; globalresponsenorm along every spatial axis, and normalize along ``dim`` when it is a
  spatial axis

Saved for backward (statistics in fp32, PyTorch's accumulation type):

- batchnorm: the input, and the batch mean and inverse std: ``2C`` per step, not per sample
- instancenorm: the input, mean and inverse std per sample and channel ``2C``, plus the
  weight ``C`` when affine and the running mean and variance ``2C`` when tracked, each
  repeated per sample (in the parameters' dtype)
- layernorm, layernorm2d, groupnorm: the input, and mean and inverse std per normalised row
  (``2·E/normalized`` per sample; ``2·H·W`` for layernorm2d; ``2·num_groups`` for groupnorm);
  under autocast they run in fp32
- local response norm (composed of PyTorch ops): the input, the zero-padded squares
  ``(C + size − 1)·spatial``, the base of the power and the divisor (``E`` each); fp32 under autocast
- layerscale: the input
- globalresponsenorm (measured on timm's): the input, ``G`` and ``N`` (``C`` each), the divisor
  (1), ``x·N`` (``E``, only for ``dL/dγ``) and ``γ``; under autocast it runs in fp32 (its
  output and saved tensors; the input it keeps is counted as an fp32 copy, which PyTorch does
  not make)
- normalize (measured on ``F.normalize``): the input, the norm and the clamped norm (``V``
  each); under autocast it runs in fp32, as globalresponsenorm
- simplenorm, simplenorm2d, rmsnorm, rmsnorm2d (composed of PyTorch ops, in the activations'
  dtype): the input (for the statistic), the inverse root per normalised row (``E/normalized``;
  ``H·W`` for the 2d forms), and when affine the normalised ``x · r`` (``E``, for dL/dw) and w
- filterresponsenorm2d: the input, the inverse rms (``C``), ``x · r`` (``E``) and w; with the TLU,
  the affine output (``E``) and tau, which the max keeps
- scalaraffine: the input (for dL/dscale) and scale (for dL/dx); with ``square``, the input (for the
  square's gradient), ``x²`` (``E``, for dL/dscale) and scale

Peer tools (see cnncalc.layers.peers; "5|4E": 5E when affine, else 4E):

- fvcore: batchnorm ``2|1E`` with running statistics, ``5|4E`` without; instancenorm, groupnorm,
  layernorm and layernorm2d ``5|4E``; local response norm, layerscale, globalresponsenorm and
  normalize (none of whose ops has a handler) 0
- thop: batchnorm, instancenorm and layernorm ``4|2E``; layernorm2d (a subclass of
  ``nn.LayerNorm``: no hook of its own), groupnorm, local response norm, layerscale,
  globalresponsenorm and normalize 0
- ptflops, on the input's elements I: batchnorm, instancenorm and groupnorm ``2|1·I``;
  layernorm ``I`` (``nn.LayerNorm`` has no ``affine``); local response norm ``3E`` (two
  multiplies and an add) plus ``(C + size − 1)·positions`` (average pooling of the padded
  squares); layernorm2d, layerscale, globalresponsenorm and normalize (F.normalize is not
  among its patched functions) 0
- torchinfo: the parameters (γ and β are called weight and bias), except layerscale's ``gamma``: 0
  (normalize has none)
- simplenorm, simplenorm2d, rmsnorm and rmsnorm2d: fvcore, thop and ptflops 0 (no handled op, no
  hook, written with operators); torchinfo their weight
- filterresponsenorm2d: fvcore, thop and ptflops 0; torchinfo ``2C`` (weight and bias, not tau)
- scalaraffine: fvcore, thop and ptflops 0; torchinfo 1 (bias, not scale)

EvoNorm-S0 (Liu et al. 2020, "Evolving Normalization-Activation Layers"; timm's ``EvoNorm2dS0``
and ``EvoNorm2dS0a``): evonorm2ds0 and evonorm2ds0a compute ``y = x·σ(v·x) / s·γ + β`` on a
[C, H, W] map, where ``s = √(var + ε)`` is the standard deviation of each of ``g`` channel groups
(``g = C / group_size`` when group_size is given) and ``v``, γ, β are per channel. There are no
running statistics, so training and evaluation compute the same. Without ``apply_act``,
evonorm2ds0 is only ``γ·x + β`` and evonorm2ds0a is ``x / s·γ + β``.

- params ``3C`` (γ, β, v), ``2C`` without apply_act; no buffers
- FLOPs ``13E`` (v·x 1, sigmoid 4, x·σ 1, group statistics and the divide 5 as for groupnorm,
  affine 2); evonorm2ds0a without apply_act ``7E``; evonorm2ds0 without apply_act ``2E``. As for
  groupnorm, the ``2g`` per-group ops (add ε, square root) are not counted
- saved for backward: the input, σ(v·x) and x·σ (``E`` each), ``s`` per group (``g``, fp32), ``s``
  expanded to every element (``E``: reshaping the expanded std copies it unless ``g`` is 1 or
  ``C``), the normalised ``x·σ/s`` (``E``), and the parameters v and γ; without apply_act the
  gate's terms go (evonorm2ds0: only the input and γ)
- peer tools: fvcore, thop and ptflops count none of its ops (element-wise operators, var,
  sigmoid); torchinfo counts the parameters named weight and bias, ``2C``

EvoNorm-B0 (timm's ``EvoNorm2dB0``): evonorm2db0 computes ``y = x / max(b, v·x + s)·γ + β``,
where ``s = √(var + ε)`` is each sample's per-channel (instance) std and ``b = √(var + ε)`` the
per-channel batch std: in training, of the batch (updating ``running_var`` as batchnorm does,
with ``n/(n − 1)``); in evaluation, from ``running_var``. Without ``apply_act`` it is ``γ·x + β``.

- params ``3C`` (γ, β, v), ``2C`` without apply_act; buffers ``C`` (running_var, kept either way)
- FLOPs, in evaluation (as imported): ``10E`` (v·x 1, instance variance 4, add the std 1, max 1,
  divide 1, affine 2); ``2E`` without apply_act. The per-channel and per-sample ops on the
  statistics (add ε, square roots) are not counted
- saved for backward, in training (as the saved activations are measured; batchnorm too): the
  input, the batch std (``C`` per step, fp32), the instance std (``C``, fp32), ``v·x + s``, the max and
  the normalised ``x / max`` (``E`` each), and v and γ; without apply_act the input and γ
- peer tools: as for evonorm2ds0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from ..errors import LayerError
from ..formula import ZERO, Num, Sym, Term, axis_names, elements, prod
from .base import (
    RF,
    AnyInt,
    Flag,
    Layer,
    Number,
    Pos,
    PosN,
    Saved,
    Shape,
    fmt_shape,
    numel,
    register,
    register_nd,
    spatial_axes,
    torch_call,
)
from .merge import _dim
from .peers import UNCOUNTED, PeerRule, Peers, nothing, params, per_input


def _affine(times: int, without: int, field: str = "affine", per: str = "output") -> PeerRule:
    """``times`` per element when the layer is affine (``field``), else ``without`` (of the output or input)."""

    def rule(layer: Layer, ins: Sequence[Shape], out: Shape) -> int:
        return (times if getattr(layer, field) else without) * numel(out if per == "output" else ins[0])

    return rule


def _fvcore_batchnorm(layer: BatchNormNd, ins: Sequence[Shape], out: Shape) -> int:
    """batchnorm_flop_jit: inference with running statistics, else counted as training (norm_flop_counter)."""
    if layer.track_running_stats:
        return (2 if layer.affine else 1) * numel(out)
    return (5 if layer.affine else 4) * numel(out)


def _ptflops_lrn(layer: LocalResponseNorm, ins: Sequence[Shape], out: Shape) -> int:
    """F.local_response_norm: the patched Tensor.mul twice and Tensor.add once (E each), and
    F.avg_pool2d/3d on the squares padded along the channels, (C + size − 1)·positions."""
    return 3 * numel(out) + (ins[0][0] + layer.size - 1) * numel(ins[0][1:])


def _affine_flops(affine: bool, out: Shape, bias: bool = True) -> Term:
    """5 per element for statistics and normalisation, 2 more for the affine γ·x + β (1 for γ·x without β)."""
    return Num((7 if bias else 6) if affine else 5) * elements(out)


def _stats(rows: int, per_sample: bool = True) -> Saved:
    """Mean and inverse standard deviation, one pair per normalised row, in fp32."""
    return Saved("mean and inverse std", 2 * rows, "fp32", per_sample=per_sample)


class BatchNormNd(Layer):
    """Batch normalisation (``torch.nn.BatchNormNd``); num_features is inferred."""

    prefix = "bn"
    peers = Peers(fvcore=_fvcore_batchnorm, thop=_affine(4, 2), ptflops=_affine(2, 1, per="input"),
                  torchinfo=params)
    spatial = True

    num_features: Pos | None = None
    eps: Number = 1e-5
    momentum: Number | None = 0.1
    affine: Flag = True
    track_running_stats: Flag = True

    def infer(self, ins: Sequence[Shape]) -> Shape:
        shape = ins[0]
        ok = len(shape) in (1, 2) if self.ndim == 1 else len(shape) == (self.ndim or 0) + 1
        if not ok:
            want = {1: "[C] or [C, L]", 2: "[C, H, W]", 3: "[C, D, H, W]"}[self.ndim or 1]
            raise LayerError(f"expects a {want} input, got {fmt_shape(shape)}")
        if self.num_features is not None and self.num_features != shape[0]:
            raise LayerError(f"num_features is {self.num_features} but the input has {shape[0]} channels")
        return shape

    def params_term(self, ins: Sequence[Shape]) -> Term:
        return 2 * Sym("C", ins[0][0]) if self.affine else ZERO  # γ and β

    def buffers_term(self, ins: Sequence[Shape]) -> Term:
        return 2 * Sym("C", ins[0][0]) if self.track_running_stats else ZERO  # running mean and variance

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        if self.track_running_stats:
            return 2 * elements(out)  # the statistics fold into one multiply and one add
        return _affine_flops(bool(self.affine), out)

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # statistics of the whole batch: 2C per step
        return (Saved.input(ins), _stats(ins[0][0], per_sample=False))

    def torch_module(self, ins: Sequence[Shape]) -> str:
        kind = "InstanceNorm" if isinstance(self, InstanceNormNd) else "BatchNorm"
        args = self.torch_args("eps", "momentum", "affine", "track_running_stats")
        return torch_call(f"nn.{kind}{self.ndim}d", ins[0][0], **args)


register_nd(BatchNormNd, "batchnorm")


class InstanceNormNd(BatchNormNd):
    """Instance normalisation (``torch.nn.InstanceNormNd``): not affine, no running stats by default."""

    prefix = "in"
    # nn.InstanceNorm has the batchnorm hooks of thop and ptflops; fvcore's norm_flop_counter(1)
    peers = Peers(fvcore=_affine(5, 4), thop=_affine(4, 2), ptflops=_affine(2, 1, per="input"), torchinfo=params)
    affine: Flag = False
    track_running_stats: Flag = False

    def infer(self, ins: Sequence[Shape]) -> Shape:
        # PyTorch reads a 2-d input as one unbatched [C, L] sample, so [C] is not accepted
        self.expect_rank(ins[0])
        if not self.track_running_stats and numel(ins[0][1:]) == 1:
            raise LayerError("normalises over a single position (PyTorch needs more than one spatial element)")
        return super().infer(ins)

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return _affine_flops(bool(self.affine), out)

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # PyTorch runs batch_norm on a [1, N·C, ...] view, repeating weight and running stats N times
        c = ins[0][0]
        kept = [Saved.input(ins), _stats(c)]
        if self.affine:
            kept.append(Saved("weight repeated per sample", c, "weights"))
        if self.track_running_stats:
            kept.append(Saved("running mean and variance repeated per sample", 2 * c, "weights"))
        return tuple(kept)


register_nd(InstanceNormNd, "instancenorm")


@register("layernorm")
class LayerNorm(Layer):
    """Layer normalisation over the trailing ``normalized_shape`` (default: the last axis)."""

    prefix = "ln"
    peers = Peers(fvcore=_affine(5, 4, "elementwise_affine"), thop=_affine(4, 2, "elementwise_affine"),
                  ptflops=per_input(1), torchinfo=params)
    autocast = "fp32"

    normalized_shape: PosN | None = None
    eps: Number = 1e-5
    elementwise_affine: Flag = True
    bias: Flag = True

    def normalized(self, shape: Shape) -> tuple[int, ...]:
        """The trailing axes normalised over."""
        ns = self.normalized_shape
        if ns is None:
            return shape[-1:]
        ns = ns if isinstance(ns, tuple) else (ns,)
        if len(ns) > len(shape) or tuple(shape[len(shape) - len(ns) :]) != ns:
            raise LayerError(f"normalized_shape {list(ns)} does not match the input's trailing axes {fmt_shape(shape)}")
        return ns

    def infer(self, ins: Sequence[Shape]) -> Shape:
        self.normalized(ins[0])
        return ins[0]

    def params_term(self, ins: Sequence[Shape]) -> Term:
        if not self.elementwise_affine:
            return ZERO
        ns = self.normalized(ins[0])
        names = axis_names(len(ins[0]))[len(ins[0]) - len(ns) :]
        return Num(2 if self.bias else 1) * prod(Sym(a, n) for a, n in zip(names, ns))

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return _affine_flops(bool(self.elementwise_affine), out, bool(self.bias))

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        rows = numel(ins[0]) // numel(self.normalized(ins[0]))
        return (Saved.input(ins), _stats(rows))

    def torch_module(self, ins: Sequence[Shape]) -> str:
        ns = self.normalized(ins[0])
        args = self.torch_args("eps", "elementwise_affine", "bias")
        return torch_call("nn.LayerNorm", ns[0] if len(ns) == 1 else ns, **args)
    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        rank, k = len(ins[0]), len(self.normalized(ins[0]))
        return fields[0].whole_along(spatial_axes(fields[0].layout, range(rank - k, rank)))


@register("layernorm2d")
class LayerNorm2d(Layer):
    """Layer normalisation over channels at every position of a [C, H, W] map (torchvision's LayerNorm2d)."""

    prefix = "ln"
    # exported as a subclass of nn.LayerNorm: thop and ptflops hook the exact class only
    peers = Peers(fvcore=_affine(5, 4, "elementwise_affine"), thop=nothing, ptflops=nothing, torchinfo=params)
    ndim = 2
    autocast = "fp32"
    spatial = True
    eps: Number = 1e-6
    elementwise_affine: Flag = True
    #: False: a weight without a bias (MetaFormer's LayerNorm2dNoBias)
    bias: Flag = True

    def infer(self, ins: Sequence[Shape]) -> Shape:
        self.expect_rank(ins[0])
        return ins[0]

    def params_term(self, ins: Sequence[Shape]) -> Term:
        return Num(2 if self.bias else 1) * Sym("C", ins[0][0]) if self.elementwise_affine else ZERO

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return _affine_flops(bool(self.elementwise_affine), out, bool(self.bias))

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # one row per position: H·W
        return (Saved.input(ins), _stats(numel(ins[0][1:])))

    torch_helpers = (
        '''class LayerNorm2d(nn.LayerNorm):
    """Layer normalisation over the channels at every position of [N, C, H, W] (torchvision's LayerNorm2d)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        # eps always given: nn.LayerNorm's default (1e-5) is not LayerNorm2d's (1e-6)
        return torch_call("LayerNorm2d", ins[0][0], eps=self.eps, **self.torch_args("elementwise_affine", "bias"))


@register("groupnorm")
class GroupNorm(Layer):
    """Group normalisation (``torch.nn.GroupNorm``); num_channels is inferred."""

    prefix = "gn"
    peers = Peers(fvcore=_affine(5, 4), thop=nothing, ptflops=_affine(2, 1, per="input"), torchinfo=params)
    autocast = "fp32"
    spatial = True

    num_groups: Pos
    num_channels: Pos | None = None
    eps: Number = 1e-5
    affine: Flag = True
    #: False: a weight without a bias (PoolFormerV2's GroupNorm1NoBias)
    bias: Flag = True

    def infer(self, ins: Sequence[Shape]) -> Shape:
        c = ins[0][0]
        if len(ins[0]) < 2:
            raise LayerError(f"expects a [C, *spatial] input, got {fmt_shape(ins[0])}")
        if self.num_channels is not None and self.num_channels != c:
            raise LayerError(f"num_channels is {self.num_channels} but the input has {c} channels")
        if c % self.num_groups:
            raise LayerError(f"{c} channels are not divisible by num_groups {self.num_groups}")
        return ins[0]

    def params_term(self, ins: Sequence[Shape]) -> Term:
        return Num(2 if self.bias else 1) * Sym("C", ins[0][0]) if self.affine else ZERO

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return _affine_flops(bool(self.affine), out, bool(self.bias))

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        return (Saved.input(ins), _stats(self.num_groups))

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("nn.GroupNorm", self.num_groups, ins[0][0], **self.torch_args("eps", "affine", "bias"))


@register("localresponsenorm", "lrn")
class LocalResponseNorm(Layer):
    """Local response normalisation across channels (``torch.nn.LocalResponseNorm``, AlexNet)."""

    prefix = "lrn"
    peers = Peers(fvcore=nothing, thop=nothing, ptflops=_ptflops_lrn, torchinfo=nothing)
    autocast = "fp32"
    spatial = True

    size: Pos
    alpha: Number = 1e-4
    beta: Number = 0.75
    k: Number = 1.0

    def infer(self, ins: Sequence[Shape]) -> Shape:
        if len(ins[0]) < 2:
            raise LayerError(f"expects a [C, *spatial] input, got {fmt_shape(ins[0])}")
        return ins[0]

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return (Sym("size", self.size) + 4) * elements(out)

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # input², zero-padded by size − 1 channels, average-pooled across channels (which keeps
        # the padded squares); then (k + α·avg)^β keeps its base, and input / divisor the divisor
        c, spatial = ins[0][0], numel(ins[0][1:])
        return (
            Saved.input(ins),
            Saved("padded squares", (c + self.size - 1) * spatial),
            Saved("base of the power", numel(out)),
            Saved("divisor", numel(out)),
        )

    def describe(self) -> str:
        return f"size {self.size}"

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("nn.LocalResponseNorm", self.size, **self.torch_args("alpha", "beta", "k"))


@register("layerscale")
class LayerScale(Layer):
    """A learnable multiplier per channel along ``dim`` (ConvNeXt's, CaiT's layer scale ``gamma * x``), or one."""

    prefix = "scale"
    # its parameter is called gamma, which torchinfo does not count
    peers = Peers(fvcore=nothing, thop=nothing, ptflops=nothing, torchinfo=nothing)
    #: The channel axis (0 is the batch): 1 for [C, H, W], -1 for channels-last [H, W, C].
    dim: AnyInt = 1
    #: The value every element of gamma starts at (affects no count; kept for the export).
    init_values: Number = 1e-6
    #: One value for the whole tensor, a parameter of shape [] (NF-Nets' skip-init gain), not one per channel.
    scalar: Flag = False

    def axis(self, shape: Shape) -> int:
        """The channel axis, as an index into the batch-less shape."""
        return _dim(self.dim, len(shape))

    def gamma(self, shape: Shape) -> tuple[int, ...]:
        """The parameter's shape: the channels, then 1 for each later axis (it broadcasts over them); [] if scalar."""
        if self.scalar:
            return ()
        d = self.axis(shape)
        return (shape[d],) + (1,) * (len(shape) - 1 - d)

    def infer(self, ins: Sequence[Shape]) -> Shape:
        if self.scalar and "dim" in self.model_fields_set:
            raise LayerError("a scalar layer scale has no dim: its one value multiplies every element")
        self.gamma(ins[0])
        return ins[0]

    def params_term(self, ins: Sequence[Shape]) -> Term:
        return Num(1) if self.scalar else Sym("C", ins[0][self.axis(ins[0])])

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        return elements(out)

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # x·γ keeps x (and γ, a parameter)
        return (Saved.input(ins), Saved.weight(self.params(ins)))

    def describe(self) -> str:
        return "one value" if self.scalar else "" if self.dim == 1 else f"dim {self.dim}"

    def saved_when(self, ins: Sequence[Shape], out: Shape, needs: Sequence[bool], trainable: bool) -> tuple[Saved, ...]:
        # x·γ keeps x only for dL/dγ, and γ only for dL/dx
        x, gamma = self.saved(ins, out)
        return (*((x,) if trainable else ()), *((gamma,) if needs[0] else ()))

    torch_helpers = (
        '''class LayerScale(nn.Module):
    """A learnable multiplier per channel, of shape [C, 1, ...] (ConvNeXt's layer scale) or [C] (channels-last)."""

    def __init__(self, shape: tuple[int, ...], init: float = 1e-6) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full(shape, init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        init = {} if self.init_values == 1e-6 else {"init": self.init_values}
        return torch_call("LayerScale", self.gamma(ins[0]), **init)


@register("globalresponsenorm", "grn")
class GlobalResponseNorm(Layer):
    """Global response normalisation (ConvNeXt-V2; timm's ``GlobalResponseNorm``): ``x + γ·(x·N) + β``."""

    prefix = "grn"
    # exported as a module of its own: no hook in thop or ptflops, none of its ops in fvcore's
    # handlers; torchinfo counts its weight and bias once
    peers = Peers(fvcore=nothing, thop=nothing, ptflops=nothing, torchinfo=params)
    # under autocast linalg_vector_norm computes in fp32 (fp32_set_opt_dtype) and its result promotes
    # the products after it, so the output is fp32; it reads the 16-bit input as it is, where
    # cnncalc counts an fp32 copy (autocast is not measured here: no GPU)
    autocast = "fp32"
    #: The channel axis (0 is the batch): 1 for [C, H, W], -1 for channels-last [H, W, C].
    dim: AnyInt = 1
    eps: Number = 1e-6

    def axis(self, shape: Shape) -> int:
        """The channel axis, as an index into the batch-less shape."""
        return _dim(self.dim, len(shape))

    def infer(self, ins: Sequence[Shape]) -> Shape:
        self.axis(ins[0])
        if len(ins[0]) < 2:
            raise LayerError(f"expects channels and at least one spatial axis, got {fmt_shape(ins[0])}")
        return ins[0]

    def params_term(self, ins: Sequence[Shape]) -> Term:
        return 2 * Sym("C", ins[0][self.axis(ins[0])])  # γ and β

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # G = ‖x‖₂ over the positions of each channel: a square and an add per element, a root per
        # channel (2E + C); N = G / (mean over channels of G + eps): C + 1, then C divides;
        # x·N, γ·(x·N) + β and the residual + x: 4E.  6E + 3C + 1
        c = Sym("C", ins[0][self.axis(ins[0])])
        return 6 * elements(out) + 3 * c + 1

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # the norm keeps x and G; G / d keeps G and d; x·N keeps x and N; addcmul(β, γ, x·N)
        # keeps γ (the parameter) and x·N
        c = ins[0][self.axis(ins[0])]
        return (Saved.input(ins), Saved("norm per channel G", c), Saved("mean norm + eps d", 1),
                Saved("normalised norm N", c), Saved.weight(c), Saved("x·N", numel(ins[0])))

    def saved_when(self, ins: Sequence[Shape], out: Shape, needs: Sequence[bool], trainable: bool) -> tuple[Saved, ...]:
        # only dL/dγ reads x·N; everything else is for dL/dx (γ too: for the gradient of x·N)
        kept = self.saved(ins, out)
        if not needs[0]:
            return kept[-1:] if trainable else ()
        return kept if trainable else kept[:-1]

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        # every output depends on all positions, through G
        d = self.axis(ins[0])
        return fields[0].whole_along(spatial_axes(fields[0].layout, [a for a in range(len(ins[0])) if a != d]))

    def describe(self) -> str:
        return "" if self.dim == 1 else f"dim {self.dim}"

    torch_helpers = (
        '''class GlobalResponseNorm(nn.Module):
    """Global response normalisation (ConvNeXt-V2): x + γ·(x·N) + β, N = G / (mean over channels of G + eps),
    G the L2 norm of each channel over the positions."""

    def __init__(self, channels: int, dim: int = 1, eps: float = 1e-6) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps
        self.weight = nn.Parameter(torch.zeros(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dim = self.dim % x.ndim
        shape = [-1 if d == dim else 1 for d in range(x.ndim)]
        g = torch.linalg.vector_norm(x, 2, dim=[d for d in range(1, x.ndim) if d != dim], keepdim=True)
        n = g / (g.mean(dim=dim, keepdim=True) + self.eps)
        return x + torch.addcmul(self.bias.view(shape), self.weight.view(shape), x * n)
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("GlobalResponseNorm", ins[0][self.axis(ins[0])], **self.torch_args("dim", "eps"))


@register("normalize")
class Normalize(Layer):
    """``F.normalize(x, p, dim, eps)``: x divided by its p-norm along ``dim``, at least eps (SSD's L2Norm)."""

    prefix = "normalize"
    # exported as a module calling F.normalize: no hook, no patched call, no handled op, no parameters
    peers = UNCOUNTED
    # under autocast as globalresponsenorm: the norm in fp32, the division promoted to fp32, the
    # 16-bit input read as it is (counted as an fp32 copy)
    autocast = "fp32"
    p: Number = 2.0
    #: The axis normalised along (0 is the batch): 1, the channels, as F.normalize.
    dim: AnyInt = 1
    eps: Number = 1e-12

    def axis(self, shape: Shape) -> int:
        """The normalised axis, as an index into the batch-less shape."""
        return _dim(self.dim, len(shape))

    def infer(self, ins: Sequence[Shape]) -> Shape:
        self.axis(ins[0])
        return ins[0]

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # the norm: |x|^p and an add per element, a root per vector (2E + V); max(norm, eps) per
        # vector (V); a divide per element (E).  3E + 2V, V = E / n the vectors along dim
        vectors = Sym("V", numel(ins[0]) // ins[0][self.axis(ins[0])])
        return 3 * elements(out) + 2 * vectors

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # the norm keeps x and its result (clamp_min reads the same); x / max(norm, eps) keeps x
        # and the clamped norm (expanded: a view of one value per vector)
        vectors = numel(ins[0]) // ins[0][self.axis(ins[0])]
        return (Saved.input(ins), Saved("norm per vector", vectors), Saved("norm clamped to eps", vectors))

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        # every element of a vector depends on all of it
        return fields[0].whole_along(spatial_axes(fields[0].layout, [self.axis(ins[0])]))

    def describe(self) -> str:
        return "" if self.dim == 1 else f"dim {self.dim}"

    torch_helpers = (
        '''class Normalize(nn.Module):
    """F.normalize(x, p, dim, eps): x divided by its p-norm along dim, at least eps."""

    def __init__(self, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> None:
        super().__init__()
        self.p, self.dim, self.eps = p, dim, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(x, self.p, self.dim, self.eps)
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("Normalize", **self.torch_args("p", "dim", "eps"))


def _weight_and_bias(layer: Layer, ins: Sequence[Shape], out: Shape) -> int:
    """torchinfo: the parameters named weight and bias (γ and β, not v), once per sample."""
    return 2 * ins[0][0]


@register("evonorm2ds0")
class EvoNorm2dS0(Layer):
    """EvoNorm-S0 (timm's ``EvoNorm2dS0``): x·σ(v·x) over the group standard deviation, then γ·x + β."""

    prefix = "evo"
    peers = Peers(fvcore=nothing, thop=nothing, ptflops=nothing, torchinfo=_weight_and_bias)
    ndim = 2
    spatial = True

    groups: Pos = 32
    #: channels per group; when given it decides the groups (C / group_size), as in timm
    group_size: Pos | None = None
    apply_act: Flag = True
    eps: Number = 1e-5
    #: evonorm2ds0a divides by the group std even without apply_act; evonorm2ds0 does not
    normalises_without_act: ClassVar[bool] = False

    def num_groups(self, channels: int) -> int:
        """The number of channel groups the standard deviation is taken over."""
        return channels // self.group_size if self.group_size else self.groups

    def normalises(self) -> bool:
        """Whether the layer divides by the group standard deviation."""
        return bool(self.apply_act) or self.normalises_without_act

    def infer(self, ins: Sequence[Shape]) -> Shape:
        self.expect_rank(ins[0])
        c = ins[0][0]
        if self.group_size and c % self.group_size:
            raise LayerError(f"{c} channels are not divisible by group_size {self.group_size}")
        if self.normalises() and c % self.num_groups(c):
            raise LayerError(f"{c} channels are not divisible by groups {self.num_groups(c)}")
        return ins[0]

    def params_term(self, ins: Sequence[Shape]) -> Term:
        return Num(3 if self.apply_act else 2) * Sym("C", ins[0][0])  # γ, β, and v for the gate

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # gate: v·x 1, sigmoid 4, x·σ 1; group std and divide 5 (as groupnorm); affine γ·x + β 2
        per = (6 if self.apply_act else 0) + (5 if self.normalises() else 0) + 2
        return Num(per) * elements(out)

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        c, e = ins[0][0], numel(ins[0])
        if not self.normalises():
            return (Saved.input(ins), Saved.weight(c))  # γ·x + β keeps x and γ
        g = self.num_groups(c)
        kept = [Saved.input(ins)]
        if self.apply_act:
            # v·x keeps x and v; sigmoid keeps its output; x·σ keeps x and σ
            kept += [Saved.weight(c), Saved("sigmoid(v·x)", e)]
        # var keeps x (a view of it); the square root keeps its result, one per group (in fp32, as timm
        # takes the statistics of x.float())
        kept.append(Saved("group std", g, "fp32"))
        if 1 < g < c:
            # the std expanded to [g, C/g, H, W] has zero strides that no [C, H, W] view can merge:
            # reshape copies it, and the divide keeps the copy
            kept.append(Saved("group std expanded", e))
        if self.apply_act:
            kept.append(Saved("x·sigmoid(v·x)", e))  # the divide keeps its numerator
        # γ·y keeps y and γ
        return (*kept, Saved("normalised", e), Saved.weight(c))

    def describe(self) -> str:
        g = f"group_size {self.group_size}" if self.group_size else f"groups {self.groups}"
        return g if self.apply_act else f"{g}, no act"

    torch_helpers: ClassVar[tuple[str, ...]] = (
        '''class EvoNorm2dS0(nn.Module):
    """EvoNorm-S0 (Liu et al. 2020), as timm computes it: x·sigmoid(v·x) / group std, then weight·x + bias."""

    def __init__(self, num_features: int, groups: int = 32, group_size: int | None = None,
                 apply_act: bool = True, eps: float = 1e-5) -> None:
        super().__init__()
        self.groups = num_features // group_size if group_size else groups
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.v = nn.Parameter(torch.ones(num_features)) if apply_act else None

    def group_std(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        x = x.reshape(n, self.groups, c // self.groups, h, w)
        std = torch.sqrt(x.float().var(dim=(2, 3, 4), unbiased=False, keepdim=True) + self.eps).to(x.dtype)
        return std.expand(x.shape).reshape(n, c, h, w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.v is not None:
            x = x * torch.sigmoid(x * self.v.view(1, -1, 1, 1)) / self.group_std(x)
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        args = self.torch_args("groups", "group_size", "apply_act", "eps")
        return torch_call(type(self).__name__, ins[0][0], **args)


@register("evonorm2ds0a")
class EvoNorm2dS0a(EvoNorm2dS0):
    """EvoNorm-S0a (timm's ``EvoNorm2dS0a``): EvoNorm-S0 that divides by the group std even without the gate."""

    eps: Number = 1e-3
    normalises_without_act = True

    torch_helpers = (
        *EvoNorm2dS0.torch_helpers,
        '''class EvoNorm2dS0a(EvoNorm2dS0):
    """EvoNorm-S0a, as timm computes it: the group std first, and the divide even without the gate."""

    def __init__(self, num_features: int, groups: int = 32, group_size: int | None = None,
                 apply_act: bool = True, eps: float = 1e-3) -> None:
        super().__init__(num_features, groups, group_size, apply_act, eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.group_std(x)
        if self.v is not None:
            x = x * torch.sigmoid(x * self.v.view(1, -1, 1, 1))
        x = x / d
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
''',
    )


@register("evonorm2db0")
class EvoNorm2dB0(Layer):
    """EvoNorm-B0 (timm's ``EvoNorm2dB0``): x over max(batch std, v·x + instance std), then γ·x + β."""

    prefix = "evo"
    peers = Peers(fvcore=nothing, thop=nothing, ptflops=nothing, torchinfo=_weight_and_bias)
    ndim = 2
    spatial = True

    apply_act: Flag = True
    momentum: Number = 0.1
    eps: Number = 1e-3

    def infer(self, ins: Sequence[Shape]) -> Shape:
        self.expect_rank(ins[0])
        return ins[0]

    def params_term(self, ins: Sequence[Shape]) -> Term:
        return Num(3 if self.apply_act else 2) * Sym("C", ins[0][0])  # γ, β, and v for the gate

    def buffers_term(self, ins: Sequence[Shape]) -> Term:
        return Sym("C", ins[0][0])  # the running variance (kept even without apply_act)

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # v·x 1, instance variance 4 (mean 1; subtract, square, add), + std 1, max 1, divide 1; affine 2
        return Num(10 if self.apply_act else 2) * elements(out)

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # in training: the batch variance keeps x, its square root keeps C per step; v·x keeps x
        # and v; the instance variance keeps x and its square root N·C; max keeps both sides (the
        # batch std expanded is a view of its C values); the divide keeps x and the max; γ·y keeps y and γ
        c, e = ins[0][0], numel(ins[0])
        if not self.apply_act:
            return (Saved.input(ins), Saved.weight(c))
        return (Saved.input(ins), Saved("batch std", c, "fp32", per_sample=False), Saved.weight(c),
                Saved("instance std", c, "fp32"), Saved("v·x + instance std", e), Saved("max", e),
                Saved("normalised", e), Saved.weight(c))

    def describe(self) -> str:
        return "" if self.apply_act else "no act"

    torch_helpers: ClassVar[tuple[str, ...]] = (
        '''class EvoNorm2dB0(nn.Module):
    """EvoNorm-B0 (Liu et al. 2020), as timm computes it: x / max(batch std, v·x + instance std), then affine."""

    def __init__(self, num_features: int, apply_act: bool = True, momentum: float = 0.1, eps: float = 1e-3) -> None:
        super().__init__()
        self.momentum = momentum
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.v = nn.Parameter(torch.ones(num_features)) if apply_act else None
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.v is not None:
            if self.training:
                var = x.float().var(dim=(0, 2, 3), unbiased=False)
                n = x.numel() / x.shape[1]
                with torch.no_grad():
                    self.running_var.copy_(self.running_var * (1 - self.momentum) + var * self.momentum * (n / (n - 1)))
            else:
                var = self.running_var
            left = torch.sqrt_(var + self.eps).to(x.dtype).view(1, -1, 1, 1).expand_as(x)
            x = x / left.max(x * self.v.view(1, -1, 1, 1) + self.instance_std(x))
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)

    def instance_std(self, x: torch.Tensor) -> torch.Tensor:
        std = torch.sqrt(x.float().var(dim=(2, 3), unbiased=False, keepdim=True) + self.eps).to(x.dtype)
        return std.expand(x.shape)
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("EvoNorm2dB0", ins[0][0], **self.torch_args("apply_act", "momentum", "eps"))


def _trailing(normalized_shape: int | tuple[int, ...] | None, shape: Shape) -> tuple[int, ...]:
    """The trailing axes a channels-last norm normalises over (default: the last axis)."""
    if normalized_shape is None:
        return shape[-1:]
    ns = normalized_shape if isinstance(normalized_shape, tuple) else (normalized_shape,)
    if len(ns) > len(shape) or tuple(shape[len(shape) - len(ns) :]) != ns:
        raise LayerError(f"normalized_shape {list(ns)} does not match the input's trailing axes {fmt_shape(shape)}")
    return ns


class _RsqrtNorm(Layer):
    """``x · rsqrt(s(x) + eps) · w`` over the channels, x not centred, no bias: simplenorm and rmsnorm."""

    prefix = "norm"
    # the exported helpers compute with Python operators (x * r): no hook, no handled op, no patched call
    peers = Peers(fvcore=nothing, thop=nothing, ptflops=nothing, torchinfo=params)
    #: FLOPs per element of the statistic s(x) (4: the variance's mean, subtract, square, add; 2: square, add)
    stat_cost: ClassVar[int] = 4
    #: What the statistic is, for the saved tensor's name.
    stat: ClassVar[str] = "inverse std"

    elementwise_affine: Flag = True

    def normalized(self, shape: Shape) -> tuple[int, ...]:
        """The axes normalised over, as their sizes (the channels, for the channels-first forms)."""
        return (shape[0],)

    def infer(self, ins: Sequence[Shape]) -> Shape:
        self.expect_rank(ins[0])
        self.normalized(ins[0])
        return ins[0]

    def params_term(self, ins: Sequence[Shape]) -> Term:
        if not self.elementwise_affine:
            return ZERO
        ns = self.normalized(ins[0])
        if self.ndim is not None:
            return Sym("C", ns[0])
        names = axis_names(len(ins[0]))[len(ins[0]) - len(ns) :]
        return prod(Sym(a, n) for a, n in zip(names, ns))

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # the statistic, one multiply by its inverse root, and one by w when affine (eps and rsqrt are per row)
        return Num(self.stat_cost + 1 + (1 if self.elementwise_affine else 0)) * elements(out)

    def rows(self, shape: Shape) -> int:
        """One statistic per normalised row."""
        return numel(shape) // numel(self.normalized(shape))

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # s(x) keeps x; rsqrt keeps its result (one per row, in the activations' dtype); x·r keeps both;
        # (x·r)·w keeps x·r for dL/dw and w for dL/dx
        kept = [Saved.input(ins), Saved(self.stat, self.rows(ins[0]))]
        if self.elementwise_affine:
            kept += [Saved("normalised input", numel(out)), Saved.weight(numel(self.normalized(ins[0])))]
        return tuple(kept)

    def saved_when(self, ins: Sequence[Shape], out: Shape, needs: Sequence[bool], trainable: bool) -> tuple[Saved, ...]:
        kept = self.saved(ins, out)
        if not self.elementwise_affine:
            return kept if needs[0] else ()
        x, r, xr, w = kept
        # the statistic's ops keep theirs only when x needs a gradient; (x·r)·w keeps x·r for dL/dw only
        return (*((x, r, w) if needs[0] else ()), *((xr,) if trainable else ()))

    def receptive(self, fields: Sequence[RF], ins: Sequence[Shape], out: Shape) -> RF:
        if self.ndim is not None:
            return fields[0]
        rank, k = len(ins[0]), len(self.normalized(ins[0]))
        return fields[0].whole_along(spatial_axes(fields[0].layout, range(rank - k, rank)))


_SIMPLE_NORM = '''class SimpleNorm(nn.Module):
    """x / sqrt(var(x) + eps) · weight over the trailing axes (timm's SimpleNorm; the variance is unbiased)."""

    def __init__(self, normalized_shape: tuple[int, ...], eps: float = 1e-6, elementwise_affine: bool = True) -> None:
        super().__init__()
        self.normalized_shape, self.eps = normalized_shape, eps
        self.weight = nn.Parameter(torch.ones(normalized_shape)) if elementwise_affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(-1, -len(self.normalized_shape) - 1, -1))
        x = x * torch.rsqrt(torch.var(x, dim=dims, keepdim=True) + self.eps)
        return x * self.weight if self.weight is not None else x
'''


@register("simplenorm")
class SimpleNorm(_RsqrtNorm):
    """``x · rsqrt(var(x) + eps) · w`` over the trailing axes, channels-last (timm's SimpleNorm; unbiased variance)."""

    normalized_shape: PosN | None = None
    eps: Number = 1e-6

    def normalized(self, shape: Shape) -> tuple[int, ...]:
        return _trailing(self.normalized_shape, shape)

    torch_helpers = (_SIMPLE_NORM,)

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("SimpleNorm", self.normalized(ins[0]), **self.torch_args("eps", "elementwise_affine"))


@register("simplenorm2d")
class SimpleNorm2d(_RsqrtNorm):
    """``x · rsqrt(var(x) + eps) · w`` over the channels of a [C, H, W] map (timm's SimpleNorm2d)."""

    ndim = 2
    spatial = True
    eps: Number = 1e-6

    torch_helpers = (
        _SIMPLE_NORM,
        '''class SimpleNorm2d(SimpleNorm):
    """SimpleNorm over the channels at every position of [N, C, H, W] (timm's SimpleNorm2d)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("SimpleNorm2d", (ins[0][0],), **self.torch_args("eps", "elementwise_affine"))


@register("rmsnorm")
class RMSNorm(_RsqrtNorm):
    """``x · rsqrt(mean(x²) + eps) · w`` over the trailing axes (``torch.nn.RMSNorm``, timm's RmsNorm)."""

    stat_cost = 2
    stat = "inverse rms"
    normalized_shape: PosN | None = None
    #: None: PyTorch's default, the machine epsilon of the dtype.
    eps: Number | None = None

    def normalized(self, shape: Shape) -> tuple[int, ...]:
        return _trailing(self.normalized_shape, shape)

    def torch_module(self, ins: Sequence[Shape]) -> str:
        ns = self.normalized(ins[0])
        return torch_call("nn.RMSNorm", ns[0] if len(ns) == 1 else ns, **self.torch_args("eps", "elementwise_affine"))


@register("rmsnorm2d")
class RMSNorm2d(_RsqrtNorm):
    """``x · rsqrt(mean(x²) + eps) · w`` over the channels of a [C, H, W] map (timm's RmsNorm2d)."""

    stat_cost = 2
    stat = "inverse rms"
    ndim = 2
    spatial = True
    eps: Number = 1e-6

    torch_helpers = (
        '''class RmsNorm2d(nn.Module):
    """x / sqrt(mean(x², channels) + eps) · weight at every position of [N, C, H, W] (timm's RmsNorm2d)."""

    def __init__(self, channels: int, eps: float = 1e-6, elementwise_affine: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels)) if elementwise_affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)
        return x * self.weight.reshape(1, -1, 1, 1) if self.weight is not None else x
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("RmsNorm2d", ins[0][0], **self.torch_args("eps", "elementwise_affine"))


@register("filterresponsenorm2d", "frn")
class FilterResponseNorm2d(Layer):
    """Filter response normalisation with its thresholded linear unit (timm's FilterResponseNormTlu2d)."""

    prefix = "frn"
    # written with operators: no hook, no handled op, no patched call; torchinfo counts weight and bias, not tau
    peers = Peers(fvcore=nothing, thop=nothing, ptflops=nothing,
                  torchinfo=lambda layer, ins, out: 2 * ins[0][0])
    ndim = 2
    spatial = True

    eps: Number = 1e-5
    #: The thresholded linear unit ``max(y, tau)`` after the affine (False: FilterResponseNormAct2d's norm).
    tlu: Flag = True

    def infer(self, ins: Sequence[Shape]) -> Shape:
        self.expect_rank(ins[0])
        return ins[0]

    def params_term(self, ins: Sequence[Shape]) -> Term:
        return Num(3 if self.tlu else 2) * Sym("C", ins[0][0])  # w, b (and tau)

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # square, add (the mean), multiply by the inverse rms; w·x + b; max with tau
        return Num(3 + 2 + (1 if self.tlu else 0)) * elements(out)

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # x² keeps x; rsqrt its result (one per channel); (x·r)·w keeps x·r and w; max(y, tau) keeps y and tau
        c, e = ins[0][0], numel(out)
        kept = [Saved.input(ins), Saved("inverse rms", c), Saved("normalised input", e), Saved.weight(c)]
        if self.tlu:
            kept += [Saved("affine output", e), Saved("tau", c, dtype="weights", ref="weight", per_sample=False)]
        return tuple(kept)

    def saved_when(self, ins: Sequence[Shape], out: Shape, needs: Sequence[bool], trainable: bool) -> tuple[Saved, ...]:
        kept = self.saved(ins, out)
        if not (needs[0] or trainable):
            return ()
        x, r, xr, w, *tlu = kept
        # the statistic's ops and w keep theirs for dL/dx, x·r for dL/dw only; max keeps both whenever it has a grad
        return (*((x, r, w) if needs[0] else ()), *((xr,) if trainable else ()), *tlu)

    def describe(self) -> str:
        return "" if self.tlu else "no tlu"

    torch_helpers = (
        '''class FilterResponseNorm2d(nn.Module):
    """x / sqrt(mean(x², (H, W)) + eps) · weight + bias, then max(., tau) (timm's FilterResponseNormTlu2d)."""

    def __init__(self, channels: int, eps: float = 1e-5, tlu: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.tau = nn.Parameter(torch.zeros(channels)) if tlu else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * torch.rsqrt(x.square().mean(dim=(2, 3), keepdim=True) + self.eps)
        x = x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        return torch.maximum(x, self.tau.view(1, -1, 1, 1)) if self.tau is not None else x
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("FilterResponseNorm2d", ins[0][0], **self.torch_args("eps", "tlu"))


@register("scalaraffine")
class ScalarAffine(Layer):
    """``scale · x + bias`` with one learnable value each (HGNetV2's LearnableAffineBlock)."""

    prefix = "affine"
    # written with operators: no hook, no handled op, no patched call; torchinfo counts the parameter named bias
    peers = Peers(fvcore=nothing, thop=nothing, ptflops=nothing, torchinfo=lambda layer, ins, out: 1)
    #: The values scale and bias start at (they affect no count; kept for the export).
    scale_value: Number = 1.0
    bias_value: Number = 0.0
    #: ``scale · x² + bias``: MetaFormer's StarReLU after its ReLU (``scale · relu(x) ** 2 + bias``).
    square: Flag = False

    def infer(self, ins: Sequence[Shape]) -> Shape:
        return ins[0]

    def params_term(self, ins: Sequence[Shape]) -> Term:
        return Sym("scale", 1) + Sym("bias", 1)  # one value each

    def flops_term(self, ins: Sequence[Shape], out: Shape) -> Term:
        # one multiply, one add (and the square)
        return Num(3 if self.square else 2) * elements(out)

    def saved(self, ins: Sequence[Shape], out: Shape) -> tuple[Saved, ...]:
        # scale·x keeps x (for dL/dscale) and scale (for dL/dx); + bias keeps nothing;
        # with square, x ** 2 keeps x and scale·x² keeps x² instead
        if self.square:
            return (Saved.input(ins), Saved("square", numel(out)), Saved.weight(1))
        return (Saved.input(ins), Saved.weight(1))

    def saved_when(self, ins: Sequence[Shape], out: Shape, needs: Sequence[bool], trainable: bool) -> tuple[Saved, ...]:
        kept = self.saved(ins, out)
        if self.square:
            x, sq, scale = kept
            return (*((x, scale) if needs[0] else ()), *((sq,) if trainable else ()))
        x, scale = kept
        return (*((x,) if trainable else ()), *((scale,) if needs[0] else ()))

    def describe(self) -> str:
        return "square" if self.square else ""

    torch_helpers = (
        '''class ScalarAffine(nn.Module):
    """scale · x + bias, one learnable value each (HGNetV2's LearnableAffineBlock)."""

    def __init__(self, scale_value: float = 1.0, bias_value: float = 0.0, square: bool = False) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([scale_value]))
        self.bias = nn.Parameter(torch.tensor([bias_value]))
        self.square = square

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * (x ** 2 if self.square else x) + self.bias
''',
    )

    def torch_module(self, ins: Sequence[Shape]) -> str:
        return torch_call("ScalarAffine", **self.torch_args("scale_value", "bias_value", "square"))
