"""Counting conventions: the MACs and FLOPs that other tools print, reproduced layer by layer.

Each convention is one function ``(layer, input shapes, output shape) -> count`` that mirrors the
counting code of one tool, applied to the module ``cnncalc export --to pytorch`` writes for the
layer: a layer is one module, and add, multiply and concat are Python operators, as torchvision's
models write them. Counts are per sample, as cnncalc's are (batch 1).

Under a convention the MACs column is the tool's count (its "MACs", "flops" or "Mult-Adds") and
FLOPs = 2·MACs. ``torch`` (FlopCounterMode) counts FLOPs, so there MACs = FLOPs / 2.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from .errors import OptionError
from .layers import Layer, Shape, numel
from .layers.activation import Activation, Softmax
from .layers.conv import ConvNd, ConvTransposeNd
from .layers.linear import Linear
from .layers.norm import BatchNormNd, GroupNorm, InstanceNormNd, LayerNorm, LayerNorm2d, LayerScale, LocalResponseNorm
from .layers.pool import AdaptiveAvgPoolNd, AdaptiveMaxPoolNd, AvgPoolNd, GlobalAvgPool, GlobalMaxPool, MaxPoolNd
from .layers.reshape import Upsample

Rule = Callable[[Layer, Sequence[Shape], Shape], int]


@dataclass(frozen=True)
class Convention:
    """A named counting convention: the tool it reproduces, the source it mirrors, its rule."""

    name: str
    tool: str
    mirrors: str
    unit: Literal["macs", "flops"]
    rule: Rule

    def figures(self, layer: Layer, ins: Sequence[Shape], out: Shape) -> tuple[int, int]:
        """(MACs, FLOPs) of one layer under this convention."""
        n = self.rule(layer, ins, out)
        return (n // 2, n) if self.unit == "flops" else (n, 2 * n)


CONVENTIONS: dict[str, Convention] = {}


def _convention(name: str, tool: str, mirrors: str, unit: Literal["macs", "flops"] = "macs") -> Callable[[Rule], Rule]:
    def deco(rule: Rule) -> Rule:
        CONVENTIONS[name] = Convention(name, tool, mirrors, unit, rule)
        return rule

    return deco


def lookup(name: str) -> Convention:
    """The convention called ``name``; :class:`OptionError` if there is none."""
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise OptionError(f"unknown convention '{name}' (choose from {', '.join(CONVENTIONS)})") from None


def _spatial(shape: Shape) -> int:
    """Positions of a [C, *spatial] shape."""
    return math.prod(shape[1:])


_CONV = (ConvNd, ConvTransposeNd, Linear)
_POOL = (MaxPoolNd, AvgPoolNd, AdaptiveAvgPoolNd, AdaptiveMaxPoolNd, GlobalAvgPool, GlobalMaxPool)


def _adaptive_avg(layer: Layer) -> bool:
    """Exported as ``nn.AdaptiveAvgPoolNd`` (global average pooling too; global max pooling is not)."""
    return isinstance(layer, AdaptiveAvgPoolNd) or (isinstance(layer, GlobalAvgPool)
                                                    and not isinstance(layer, GlobalMaxPool))


@_convention("torchvision", "torchvision 0.28 (weights meta '_ops')",
             "torchvision/models/*.py: meta['_ops'] (script of pytorch/vision#6936)")
def torchvision(layer: Layer, ins: Sequence[Shape], out: Shape) -> int:
    """Multiply-accumulates of convolutions and linear layers, bias excluded (cnncalc's MACs)."""
    return layer.macs(ins, out)


@_convention("fvcore", "fvcore 0.1.5", "fvcore/nn/flop_count.py (_DEFAULT_SUPPORTED_OPS), fvcore/nn/jit_handles.py")
def fvcore(layer: Layer, ins: Sequence[Shape], out: Shape) -> int:
    """The handlers of the traced aten ops; every other op (relu, max_pool2d, add, ...) counts 0."""
    e = numel(out)
    if isinstance(layer, ConvNd) and isinstance(layer.padding, str) and layer.padding_mode == "zeros":
        return 0  # padding 'same' or 'valid' traces as aten::_convolution_mode, which has no handler
    if isinstance(layer, _CONV):
        # aten::_convolution: batch·prod(w)·prod(out spatial, or input spatial when transposed);
        # aten::linear: prod(input)·out_features. Bias is ignored.
        return layer.macs(ins, out)
    if isinstance(layer, InstanceNormNd):
        return (5 if layer.affine else 4) * e  # norm_flop_counter(1)
    if isinstance(layer, BatchNormNd):
        if layer.track_running_stats:
            return (2 if layer.affine else 1) * e  # batchnorm_flop_jit, inference
        return (5 if layer.affine else 4) * e  # batch statistics even in eval: counted as training
    if isinstance(layer, GroupNorm):
        return (5 if layer.affine else 4) * e  # norm_flop_counter(2)
    if isinstance(layer, (LayerNorm, LayerNorm2d)):
        return (5 if layer.elementwise_affine else 4) * e  # norm_flop_counter(2)
    if isinstance(layer, Upsample) and len(out) == 3:
        return {"nearest": 1, "bilinear": 4}.get(layer.mode, 0) * e  # upsample_nearest2d / _bilinear2d
    if _adaptive_avg(layer) and len(ins[0]) == 3:
        return numel(ins[0])  # aten::adaptive_avg_pool2d: one per input element
    return 0


@_convention("thop", "thop 0.1.1", "thop/profile.py (register_hooks), thop/vision/basic_hooks.py, thop/vision/calc_func.py")
def thop(layer: Layer, ins: Sequence[Shape], out: Shape) -> int:
    """Its forward hooks, looked up by exact module type; a module without a hook counts 0."""
    e = numel(out)
    if isinstance(layer, ConvTransposeNd):
        # calculate_conv2d_flops: output elements · C_in/groups · kernel, for transposed ones too
        return e * (ins[0][0] // layer.groups) * math.prod(layer.geometry()[0])
    if isinstance(layer, (ConvNd, Linear)):
        return layer.macs(ins, out)  # bias is not counted
    if isinstance(layer, InstanceNormNd):
        return (4 if layer.affine else 2) * e  # count_normalization: 2E, doubled when affine
    if isinstance(layer, BatchNormNd):
        return (4 if layer.affine else 2) * e
    if type(layer) is LayerNorm:  # LayerNorm2d is a subclass of nn.LayerNorm: no hook of its own
        return (4 if layer.elementwise_affine else 2) * e
    if layer.type_name == "prelu":
        return e  # count_prelu in eval
    if isinstance(layer, Softmax):
        n = (1, *ins[0])[layer.dim]
        return e // n * (3 * n - 1)  # n exps, n - 1 adds, n divides per row
    if isinstance(layer, AvgPoolNd):
        return e
    if _adaptive_avg(layer):
        # count_adap_avgpool: (Π in/out + 1)·E in float64, truncated
        kernel = 1.0
        for i, o in zip(ins[0][1:], out[1:]):
            kernel *= i / o
        return int((kernel + 1) * e)
    if isinstance(layer, Upsample):
        # calculate_upsample; trilinear and nearest-exact are not among its modes: 0
        return {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 259}.get(layer.mode, 0) * e
    return 0


# ptflops counts an activation or pooling twice when both its module hook and the patched
# torch.nn.functional call it makes are counted: module hook + functional hook, per element
_PTFLOPS_ACTIVATIONS = {"relu": 2, "prelu": 2, "elu": 2, "gelu": 2, "leakyrelu": 1, "relu6": 1, "silu": 1}


@_convention("ptflops", "ptflops 0.7.5 (pytorch backend)", "ptflops/pytorch_engine.py, ptflops/pytorch_ops.py")
def ptflops(layer: Layer, ins: Sequence[Shape], out: Shape) -> int:
    """Its module hooks (MODULES_MAPPING) plus its patched torch.nn.functional calls (FUNCTIONAL_MAPPING)."""
    e, n_in = numel(out), numel(ins[0])
    if isinstance(layer, _CONV):
        return layer.macs(ins, out) + (e if layer.bias else 0)  # bias: one per output element
    if isinstance(layer, Activation) and layer.type_name in _PTFLOPS_ACTIVATIONS:
        return _PTFLOPS_ACTIVATIONS[layer.type_name] * e
    if isinstance(layer, Softmax):
        return e  # F.softmax: input elements
    if isinstance(layer, _POOL):
        return 2 * n_in  # pool_flops_counter_hook and F.*pool*d: input elements each
    if isinstance(layer, (BatchNormNd, GroupNorm)):
        return (2 if layer.affine else 1) * n_in  # bn_flops_counter_hook (InstanceNorm too)
    if type(layer) is LayerNorm:
        return n_in  # bn_flops_counter_hook: nn.LayerNorm has no 'affine' attribute
    if isinstance(layer, LocalResponseNorm):
        # F.local_response_norm calls the patched Tensor.mul twice and Tensor.add once (E each) and
        # F.avg_pool2d/3d on the squares padded along the channels: (C + size − 1)·positions
        return 3 * e + (ins[0][0] + layer.size - 1) * _spatial(ins[0])
    if isinstance(layer, Upsample):
        # upsample_flops_counter_hook: E; F.interpolate: input elements · Π scale_factor
        # (an integer when the factors are one per axis: a tuple in PyTorch), or C·Π size
        factors = layer.scale_factor
        if isinstance(factors, tuple):
            return e + n_in * int(math.prod(float(f) for f in factors))
        return 2 * e
    return 0


@_convention("torchinfo", "torchinfo 1.8.0 (Mult-Adds)", "torchinfo/layer_info.py (calculate_macs), torchinfo/model_statistics.py")
def torchinfo(layer: Layer, ins: Sequence[Shape], out: Shape) -> int:
    """Parameters named weight or bias, times the output positions for convolutions, else once."""
    if isinstance(layer, LayerScale):
        return 0  # its parameter is called gamma
    params = layer.params(ins)
    if isinstance(layer, (ConvNd, ConvTransposeNd)):
        return params * _spatial(out)  # 'Conv' in the class name: params · output positions
    return params  # otherwise params · batch (a linear layer on [L, F] still counts once)


@_convention("torch", "torch 2.13 FlopCounterMode", "torch/utils/flop_counter.py (flop_registry)", unit="flops")
def torch(layer: Layer, ins: Sequence[Shape], out: Shape) -> int:
    """2 per multiply-accumulate of convolutions (aten.convolution) and linear layers (aten.addmm, aten.mm)."""
    return 2 * layer.macs(ins, out)
