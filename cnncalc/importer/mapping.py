"""The one table from PyTorch ops to cnncalc layers; the docs render it (:func:`mapping_markdown`).

Each rule reads one captured op (its arguments, the shapes of its tensors, the parameters it
uses) and gives the cnncalc layer that counts exactly what the op computes, or refuses. An op
that only aliases its input (a view to the same shape, ``detach``) vanishes. Every op the table
does not hold is refused: cnncalc never counts something else, and never counts 0 silently.
Shapes here carry the batch (1) first, as PyTorch's do; cnncalc's ``dim`` arguments count it as 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .capture import Node, Param, Ref

Shape = tuple[int, ...]


class Unmappable(Exception):
    """Raised by a rule: the op cannot be described exactly; the message says why."""


@dataclass
class Mapped:
    """One cnncalc layer for one op: its type, arguments, input tensors and the parameters it holds."""

    node: Node
    type: str
    args: dict[str, Any]
    inputs: list[Ref]
    params: list[Param] = field(default_factory=list)
    #: made by a pattern from several ops
    fused: bool = False


@dataclass(frozen=True)
class Alias:
    """The op's output is its input (a view to the same shape): it vanishes from the description."""

    of: Ref


@dataclass(frozen=True)
class Piece:
    """``getitem`` on an op that returns several tensors: piece ``index`` of ``of``."""

    of: Ref
    index: int


Result = Mapped | Alias | Piece
RuleFn = Callable[[Node, "Context"], Result]


@dataclass(frozen=True)
class Rule:
    """One row of the mapping table: the ops it reads, what PyTorch writes, the cnncalc layer, the conditions."""

    ops: tuple[str, ...]
    torch: str
    layer: str
    when: str
    fn: RuleFn


RULES: dict[str, Rule] = {}
TABLE: list[Rule] = []


def rule(*ops: str, torch: str, layer: str, when: str = "") -> Callable[[RuleFn], RuleFn]:
    """Register a mapping rule for ``ops`` (``aten.conv2d``, ...), documented by ``torch``, ``layer`` and ``when``."""

    def deco(fn: RuleFn) -> RuleFn:
        r = Rule(ops, torch, layer, when, fn)
        TABLE.append(r)
        for op in ops:
            RULES[op] = r
        return fn

    return deco


class Context:
    """What a rule may ask about the graph: the shape of a tensor."""

    def __init__(self, shapes: dict[str, Any], contiguous: dict[str, bool] | None = None) -> None:
        self.shapes = shapes
        #: whether each tensor is contiguous (a view of it keeps its storage)
        self.contiguous = contiguous or {}

    def shape(self, ref: Any) -> Shape:
        """The shape (batch first) of a tensor reference."""
        if isinstance(ref, Param):
            return ref.shape
        if not isinstance(ref, Ref):
            raise Unmappable(f"expected a tensor, got {type(ref).__name__}")
        s = self.shapes.get(ref.node)
        if not isinstance(s, tuple) or (s and not isinstance(s[0], int)):
            raise Unmappable(f"'{ref.node}' is not a single tensor")
        return s


def arg(node: Node, i: int, name: str, default: Any = None) -> Any:
    """Argument ``i`` (or keyword ``name``) of the op, else ``default``."""
    if i < len(node.args):
        return node.args[i]
    return node.kwargs.get(name, default)


def tensor(node: Node, i: int = 0) -> Ref:
    """Argument ``i``, which must be a tensor computed from the input (not a parameter, not a constant)."""
    a = arg(node, i, "input" if i == 0 else f"arg{i}")
    if isinstance(a, Param):
        raise Unmappable(f"computes on the parameter '{a.fqn}' in forward: no cnncalc layer transforms a "
                         "parameter this way (a layer holds its parameters as they are)")
    if not isinstance(a, Ref) or a.node.startswith("constant "):
        raise Unmappable("reads a tensor that is not computed from the input (a constant)")
    return a


def param(node: Node, i: int, name: str) -> Param | None:
    """Argument ``i`` as a parameter or buffer of the model (None if absent); a computed weight is refused."""
    a = arg(node, i, name)
    if a is None or isinstance(a, Param):
        return a
    raise Unmappable(f"its {name} is computed in forward (e.g. weight standardisation), not a parameter of the model")


def _ints(v: Any) -> Any:
    """A list of ints as cnncalc writes it: one int when all are equal."""
    if isinstance(v, (list, tuple)):
        v = [int(x) for x in v]
        return v[0] if len(set(v)) == 1 else v
    return int(v)


def _dim(node: Node, ctx: Context, d: int, rank: int) -> int:
    """A PyTorch dim that must not be the batch."""
    if (d + rank if d < 0 else d) == 0:
        raise Unmappable("works across the batch axis, which cnncalc describes per sample")
    return int(d)


# ---------------------------------------------------------------------------------------------
# convolution, linear


@rule("aten.conv1d", "aten.conv2d", "aten.conv3d", torch="nn.Conv1d/2d/3d, F.conv1d/2d/3d",
      layer="conv1d/2d/3d", when="padding_mode other than zeros is a separate pad op (its padding layer); "
      "a weight computed in forward is refused, except timm's weight standardisation (below); a weight held as a "
      "buffer (a fixed filter) sets `fixed`")
def _conv(node: Node, ctx: Context) -> Result:
    x, w, b = tensor(node), param(node, 1, "weight"), param(node, 2, "bias")
    if w is None:
        raise Unmappable("has no weight")
    nd = len(w.shape) - 2
    stride, padding = arg(node, 3, "stride", 1), arg(node, 4, "padding", 0)
    dilation, groups = arg(node, 5, "dilation", 1), arg(node, 6, "groups", 1)
    args: dict[str, Any] = {"out_channels": w.shape[0], "kernel_size": _ints(w.shape[2:])}
    if _ints(stride) != 1:
        args["stride"] = _ints(stride)
    if isinstance(padding, str):
        args["padding"] = padding
    elif _ints(padding) != 0:
        args["padding"] = _ints(padding)
    if _ints(dilation) != 1:
        args["dilation"] = _ints(dilation)
    if groups != 1:
        args["groups"] = int(groups)
    if b is None:
        args["bias"] = False
    if len(ctx.shape(x)) != nd + 2:
        raise Unmappable(f"a {nd}-d convolution on a {len(ctx.shape(x)) - 1}-d tensor (unbatched input)")
    if w.buffer:
        # a fixed filter (anti-aliased downsampling's blur): its weight and bias are buffers
        if b is not None and not b.buffer:
            raise Unmappable("has a fixed weight (a buffer) and a learnable bias; cnncalc's fixed conv holds both")
        args["fixed"] = True
    elif b is not None and b.buffer:
        raise Unmappable("has a learnable weight and a fixed bias (a buffer); cnncalc's conv holds both alike")
    return Mapped(node, f"conv{nd}d", args, [x], [p for p in (w, b) if p is not None])


@rule("aten.conv_transpose1d", "aten.conv_transpose2d", "aten.conv_transpose3d",
      torch="nn.ConvTranspose1d/2d/3d, F.conv_transpose1d/2d/3d", layer="convtranspose1d/2d/3d")
def _convt(node: Node, ctx: Context) -> Result:
    x, w, b = tensor(node), param(node, 1, "weight"), param(node, 2, "bias")
    if w is None:
        raise Unmappable("has no weight")
    if w.buffer or (b is not None and b.buffer):
        raise Unmappable("a transposed convolution with a fixed filter (a buffer) has no cnncalc layer")
    nd = len(w.shape) - 2
    groups = int(arg(node, 6, "groups", 1))
    args: dict[str, Any] = {"out_channels": w.shape[1] * groups, "kernel_size": _ints(w.shape[2:])}
    for i, name, default in ((3, "stride", 1), (4, "padding", 0), (5, "output_padding", 0), (7, "dilation", 1)):
        v = _ints(arg(node, i, name, default))
        if v != default:
            args[name] = v
    if groups != 1:
        args["groups"] = groups
    if b is None:
        args["bias"] = False
    return Mapped(node, f"convtranspose{nd}d", args, [x], [p for p in (w, b) if p is not None])


@rule("aten.linear", torch="nn.Linear, F.linear", layer="linear",
      when="an input whose strides allow no view of its leading axes as one (tokens after a transpose) is a "
      "contiguous row first, as PyTorch copies it and autograd keeps the copy")
def _linear(node: Node, ctx: Context) -> Result:
    x, w, b = tensor(node), param(node, 1, "weight"), param(node, 2, "bias")
    if w is None:
        raise Unmappable("has no weight")
    if any(node.operand_copies):
        raise Unmappable(f"copies its input {list(ctx.shape(x))} into {max(node.operand_copies)} elements that "
                         "autograd keeps; cnncalc's linear has no such copy")
    args: dict[str, Any] = {"out_features": w.shape[0]}
    if b is None:
        args["bias"] = False
    return Mapped(node, "linear", args, [x], [p for p in (w, b) if p is not None])


# ---------------------------------------------------------------------------------------------
# normalisation


@rule("aten.batch_norm", torch="nn.BatchNorm1d/2d/3d (eval), F.batch_norm", layer="batchnorm1d/2d/3d",
      when="running statistics, or none (track_running_stats=False); BatchNorm1d on [N, C] or [N, C, L]; the "
      "BN's num_batches_tracked buffer is not counted, as cnncalc's batchnorm does not")
def _bn(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    w, b = param(node, 1, "weight"), param(node, 2, "bias")
    rm, rv = param(node, 3, "running_mean"), param(node, 4, "running_var")
    training = bool(arg(node, 5, "training", False))
    nd = len(ctx.shape(x)) - 2
    if (w is None) != (b is None):
        raise Unmappable("has a weight without a bias (or a bias without a weight)")
    args: dict[str, Any] = {}
    if (rm is None) != (rv is None) or (rm is not None and training):
        raise Unmappable("uses running statistics in training mode")
    if rm is None:
        args["track_running_stats"] = False
    if w is None:
        args["affine"] = False
    eps = float(arg(node, 7, "eps", 1e-5))
    if eps != 1e-5:
        args["eps"] = eps
    # a [N, C] tensor (a classifier's BatchNorm1d) is batchnorm1d on a [C] sample, as PyTorch reads it
    return Mapped(node, f"batchnorm{max(nd, 1)}d", args, [x], [p for p in (w, b, rm, rv) if p is not None])


@rule("aten.instance_norm", torch="nn.InstanceNorm1d/2d/3d, F.instance_norm", layer="instancenorm1d/2d/3d",
      when="input statistics (use_input_stats); running statistics in eval are refused")
def _in(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    w, b = param(node, 1, "weight"), param(node, 2, "bias")
    rm, rv = param(node, 3, "running_mean"), param(node, 4, "running_var")
    if not arg(node, 5, "use_input_stats", True) or rm is not None or rv is not None:
        raise Unmappable("uses running statistics (track_running_stats=True)")
    args: dict[str, Any] = {}
    if w is not None:
        args["affine"] = True
    return Mapped(node, f"instancenorm{len(ctx.shape(x)) - 2}d", args, [x], [p for p in (w, b) if p is not None])


@rule("aten.layer_norm", torch="nn.LayerNorm, F.layer_norm", layer="layernorm",
      when="over the trailing axes (channels-last), so ConvNeXt's permute → LayerNorm → permute maps exactly")
def _ln(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    shape = [int(s) for s in arg(node, 1, "normalized_shape")]
    w, b = param(node, 2, "weight"), param(node, 3, "bias")
    args: dict[str, Any] = {"normalized_shape": shape[0] if len(shape) == 1 else shape}
    if w is None:
        if b is not None:
            raise Unmappable("has a bias without a weight")
        args["elementwise_affine"] = False
    elif b is None:
        args["bias"] = False
    eps = float(arg(node, 4, "eps", 1e-5))
    if eps != 1e-5:
        args["eps"] = eps
    return Mapped(node, "layernorm", args, [x], [p for p in (w, b) if p is not None])


@rule("aten.group_norm", torch="nn.GroupNorm, F.group_norm", layer="groupnorm",
      when="a weight without a bias (PoolFormerV2's GroupNorm1NoBias) is `bias: false`")
def _gn(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    w, b = param(node, 2, "weight"), param(node, 3, "bias")
    if w is None and b is not None:
        raise Unmappable("has a bias without a weight")
    args: dict[str, Any] = {"num_groups": int(arg(node, 1, "num_groups"))}
    if w is None:
        args["affine"] = False
    elif b is None:
        args["bias"] = False
    eps = float(arg(node, 4, "eps", 1e-5))
    if eps != 1e-5:
        args["eps"] = eps
    return Mapped(node, "groupnorm", args, [x], [p for p in (w, b) if p is not None])


@rule("aten.rms_norm", torch="nn.RMSNorm, F.rms_norm, timm's RmsNorm", layer="rmsnorm",
      when="over the trailing axes; eps None is PyTorch's default (the dtype's machine epsilon)")
def _rms(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    shape = [int(s) for s in arg(node, 1, "normalized_shape")]
    w = param(node, 2, "weight")
    args: dict[str, Any] = {"normalized_shape": shape[0] if len(shape) == 1 else shape}
    if w is None:
        args["elementwise_affine"] = False
    eps = arg(node, 3, "eps", None)
    if eps is not None:
        args["eps"] = float(eps)
    return Mapped(node, "rmsnorm", args, [x], [w] if w is not None else [])


# ---------------------------------------------------------------------------------------------
# activations

_ACTIVATIONS = {
    "aten.relu": "relu", "aten.silu": "silu", "aten.sigmoid": "sigmoid", "aten.tanh": "tanh",
    "aten.hardswish": "hardswish", "aten.hardsigmoid": "hardsigmoid",
}


@rule(*_ACTIVATIONS, *(f"{k}_" for k in _ACTIVATIONS),
      torch="nn.ReLU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid and their functions",
      layer="relu, silu, sigmoid, tanh, hardswish, hardsigmoid", when="the in-place form (`relu_`) sets inplace")
def _activation(node: Node, ctx: Context) -> Result:
    op = node.op
    inplace = op.endswith("_")
    args = {"inplace": True} if inplace else {}
    return Mapped(node, _ACTIVATIONS[op.rstrip("_")], args, [tensor(node)])


@rule("aten.hardtanh", "aten.hardtanh_", torch="nn.ReLU6, F.relu6", layer="relu6",
      when="only the range [0, 6]; any other hardtanh is refused")
def _relu6(node: Node, ctx: Context) -> Result:
    lo, hi = float(arg(node, 1, "min_val", -1.0)), float(arg(node, 2, "max_val", 1.0))
    if (lo, hi) != (0.0, 6.0):
        raise Unmappable(f"hardtanh over [{lo:g}, {hi:g}] has no cnncalc layer (only relu6, [0, 6])")
    return Mapped(node, "relu6", {"inplace": True} if node.op.endswith("_") else {}, [tensor(node)])


@rule("aten.gelu", "aten.gelu_", torch="nn.GELU, F.gelu", layer="gelu", when="exact or tanh approximation")
def _gelu(node: Node, ctx: Context) -> Result:
    approx = arg(node, 1, "approximate", "none")
    return Mapped(node, "gelu", {"approximate": approx} if approx != "none" else {}, [tensor(node)])


@rule("aten.leaky_relu", "aten.leaky_relu_", torch="nn.LeakyReLU, F.leaky_relu", layer="leakyrelu")
def _leaky(node: Node, ctx: Context) -> Result:
    slope = float(arg(node, 1, "negative_slope", 0.01))
    args: dict[str, Any] = {"negative_slope": slope} if slope != 0.01 else {}
    if node.op.endswith("_"):
        args["inplace"] = True
    return Mapped(node, "leakyrelu", args, [tensor(node)])


@rule("aten.elu", "aten.elu_", torch="nn.ELU, F.elu", layer="elu", when="scale and input_scale 1 (not SELU/CELU)")
def _elu(node: Node, ctx: Context) -> Result:
    alpha = float(arg(node, 1, "alpha", 1.0))
    if float(arg(node, 2, "scale", 1.0)) != 1.0 or float(arg(node, 3, "input_scale", 1.0)) != 1.0:
        raise Unmappable("an ELU with scale or input_scale (SELU, CELU) has no cnncalc layer")
    args: dict[str, Any] = {"alpha": alpha} if alpha != 1.0 else {}
    if node.op.endswith("_"):
        args["inplace"] = True
    return Mapped(node, "elu", args, [tensor(node)])


@rule("aten.prelu", torch="nn.PReLU, F.prelu", layer="prelu", when="one slope, or one per channel")
def _prelu(node: Node, ctx: Context) -> Result:
    x, w = tensor(node), param(node, 1, "weight")
    if w is None:
        raise Unmappable("has no weight")
    args: dict[str, Any] = {"num_parameters": w.numel} if w.numel != 1 else {}
    return Mapped(node, "prelu", args, [x], [w])


@rule("aten.softmax", "aten._softmax", torch="nn.Softmax, F.softmax, x.softmax(dim)", layer="softmax")
def _softmax(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    return Mapped(node, "softmax", {"dim": _dim(node, ctx, int(arg(node, 1, "dim")), len(ctx.shape(x)))}, [x])


@rule("aten.log_softmax", "aten._log_softmax", torch="nn.LogSoftmax, F.log_softmax", layer="log_softmax")
def _log_softmax(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    return Mapped(node, "log_softmax", {"dim": _dim(node, ctx, int(arg(node, 1, "dim")), len(ctx.shape(x)))}, [x])


# ---------------------------------------------------------------------------------------------
# pooling and reductions


def _pool_window(node: Node, ctx: Context) -> tuple[Ref, int, dict[str, Any]]:
    """A pooling op's input, its number of spatial axes, and ``kernel_size`` (with ``stride`` where
    it is not the kernel, PyTorch's default): args 1 and 2 of every aten pooling op."""
    x = tensor(node)
    k = arg(node, 1, "kernel_size")
    nd = len(k) if isinstance(k, (list, tuple)) else len(ctx.shape(x)) - 2
    args: dict[str, Any] = {"kernel_size": _ints(k)}
    stride = arg(node, 2, "stride", [])
    if stride and _ints(stride) != _ints(k):
        args["stride"] = _ints(stride)
    return x, nd, args


@rule("aten.max_pool1d", "aten.max_pool2d", "aten.max_pool3d", torch="nn.MaxPool1d/2d/3d, F.max_pool*d",
      layer="maxpool1d/2d/3d", when="without return_indices")
def _maxpool(node: Node, ctx: Context) -> Result:
    x, nd, args = _pool_window(node, ctx)
    for i, name, default in ((3, "padding", 0), (4, "dilation", 1)):
        v = _ints(arg(node, i, name, default))
        if v != default:
            args[name] = v
    if arg(node, 5, "ceil_mode", False):
        args["ceil_mode"] = True
    return Mapped(node, f"maxpool{nd}d", args, [x])


@rule("aten.avg_pool1d", "aten.avg_pool2d", "aten.avg_pool3d", torch="nn.AvgPool1d/2d/3d, F.avg_pool*d",
      layer="avgpool1d/2d/3d", when="ceil_mode, count_include_pad and divisor_override are carried over")
def _avgpool(node: Node, ctx: Context) -> Result:
    x, nd, args = _pool_window(node, ctx)
    if _ints(arg(node, 3, "padding", 0)) != 0:
        args["padding"] = _ints(arg(node, 3, "padding", 0))
    if arg(node, 4, "ceil_mode", False):
        args["ceil_mode"] = True
    if not arg(node, 5, "count_include_pad", True):
        args["count_include_pad"] = False
    if arg(node, 6, "divisor_override", None) is not None:
        args["divisor_override"] = int(arg(node, 6, "divisor_override"))
    return Mapped(node, f"avgpool{nd}d", args, [x])


@rule("aten.adaptive_avg_pool1d", "aten.adaptive_avg_pool2d", "aten.adaptive_avg_pool3d",
      "aten.adaptive_max_pool1d", "aten.adaptive_max_pool2d", "aten.adaptive_max_pool3d",
      torch="nn.AdaptiveAvgPool*d, nn.AdaptiveMaxPool*d", layer="adaptiveavgpool*d, adaptivemaxpool*d")
def _adaptive(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    size = [int(s) for s in arg(node, 1, "output_size")]
    kind = "avg" if "avg" in node.op else "max"
    return Mapped(node, f"adaptive{kind}pool{len(size)}d", {"output_size": _ints(size)}, [x])


_REDUCE = {"aten.mean": "mean", "aten.sum": "sum", "aten.amax": "amax", "aten.amin": "amin"}


@rule(*_REDUCE, torch="x.mean(dims), x.sum(dims), x.amax(dims), x.amin(dims)", layer="mean, sum, amax, amin",
      when="over listed axes other than the batch (global pooling written as `x.mean((2, 3))`); no dtype change")
def _reduce(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    dims = arg(node, 1, "dim")
    if dims is None or (isinstance(dims, (list, tuple)) and not dims):
        raise Unmappable("reduces over every axis, the batch included")
    if node.kwargs.get("dtype") is not None:
        raise Unmappable("changes the dtype")
    dims = [dims] if isinstance(dims, int) else list(dims)
    rank = len(ctx.shape(x))
    dims = [_dim(node, ctx, int(d), rank) for d in dims]
    args: dict[str, Any] = {"dim": dims[0] if len(dims) == 1 else dims}
    if arg(node, 2, "keepdim", False):
        args["keepdim"] = True
    return Mapped(node, _REDUCE[node.op], args, [x])


@rule("aten.max", "aten.min", torch="torch.max(x, dim), torch.min(x, dim)", layer="max, min",
      when="the values of one axis (index 0 of the result)")
def _maxdim(node: Node, ctx: Context) -> Result:
    if node.target not in ("aten.max.dim", "aten.min.dim"):
        raise Unmappable("only the form with a dim has a cnncalc layer")
    x = tensor(node)
    args: dict[str, Any] = {"dim": _dim(node, ctx, int(arg(node, 1, "dim")), len(ctx.shape(x)))}
    if arg(node, 2, "keepdim", False):
        args["keepdim"] = True
    return Mapped(node, node.op.split(".")[1], args, [x])


# ---------------------------------------------------------------------------------------------
# element-wise arithmetic


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@rule("aten.add", "aten.add_", torch="x + y, x + c", layer="add, shift",
      when="two activations of one rank, broadcast as PyTorch does (a global-context term); a constant (shift); "
      "a learnable bias is refused")
def _add(node: Node, ctx: Context) -> Result:
    a, b = arg(node, 0, "input"), arg(node, 1, "other")
    if arg(node, 2, "alpha", 1) != 1:
        raise Unmappable("add with alpha ≠ 1 has no cnncalc layer")
    if _number(b):
        return Mapped(node, "shift", {"value": b}, [tensor(node)])
    if _number(a):
        return Mapped(node, "shift", {"value": a}, [tensor(node, 1)])
    if isinstance(a, Param) or isinstance(b, Param):
        raise Unmappable("adds a learnable tensor (a bias): cnncalc has no layer for it")
    x, y = tensor(node), tensor(node, 1)
    if len(ctx.shape(x)) != len(ctx.shape(y)):
        raise Unmappable("adds tensors of different ranks")
    return Mapped(node, "add", {}, [x, y])


@rule("aten.sub", "aten.sub_", torch="x - y, x - c", layer="subtract, shift",
      when="two activations of one rank, broadcast as PyTorch does (PoolFormer's pool(x) - x); a constant (shift); "
      "a learnable tensor is refused")
def _sub(node: Node, ctx: Context) -> Result:
    a, b = arg(node, 0, "input"), arg(node, 1, "other")
    if arg(node, 2, "alpha", 1) != 1:
        raise Unmappable("subtract with alpha ≠ 1 has no cnncalc layer")
    if _number(b):
        return Mapped(node, "shift", {"value": -b}, [tensor(node)])
    if isinstance(a, Param) or isinstance(b, Param):
        raise Unmappable("subtracts a learnable tensor: cnncalc has no layer for it")
    x, y = tensor(node), tensor(node, 1)
    if len(ctx.shape(x)) != len(ctx.shape(y)):
        raise Unmappable("subtracts tensors of different ranks")
    return Mapped(node, "subtract", {}, [x, y])


def _layerscale(node: Node, ctx: Context, x: Ref, g: Param) -> Result:
    shape = ctx.shape(x)
    c = g.numel
    # gamma of shape [C, 1, ..., 1] along the channels (dim 1), or [C] along the last axis; leading
    # 1s (a view such as gamma.reshape(1, -1, 1, 1)) broadcast over the batch
    gs = tuple(g.shape)
    while len(gs) > 1 and gs[0] == 1 and len(gs) >= len(shape):
        gs = gs[1:]
    if len(gs) == len(shape) - 1 and gs[0] == c and shape[1] == c:
        return Mapped(node, "layerscale", {"dim": 1}, [x], [g])
    if gs[-1:] == (c,) and all(s == 1 for s in gs[:-1]) and shape[-1] == c:
        return Mapped(node, "layerscale", {"dim": -1}, [x], [g])
    if g.shape == ():
        return Mapped(node, "layerscale", {"scalar": True}, [x], [g])  # one value (NF-Nets' skip-init gain)
    raise Unmappable(f"multiplies by a parameter of shape {list(g.shape)}: only one value per channel "
                     "(layer scale) has a cnncalc layer")


@rule("aten.mul", "aten.mul_", torch="x * y, x * c, gamma * x", layer="multiply, scale, layerscale",
      when="two activations broadcast as PyTorch does (squeeze-excitation gates); a constant (scale); "
      "a parameter of one value per channel (layer scale), or of one value (shape [], layerscale scalar)")
def _mul(node: Node, ctx: Context) -> Result:
    a, b = arg(node, 0, "input"), arg(node, 1, "other")
    if _number(b):
        return Mapped(node, "scale", {"value": b}, [tensor(node)])
    if _number(a):
        return Mapped(node, "scale", {"value": a}, [tensor(node, 1)])
    if isinstance(a, Param) and isinstance(b, Ref):
        return _layerscale(node, ctx, tensor(node, 1), a)
    if isinstance(b, Param) and isinstance(a, Ref):
        return _layerscale(node, ctx, tensor(node), b)
    x, y = tensor(node), tensor(node, 1)
    if len(ctx.shape(x)) != len(ctx.shape(y)):
        raise Unmappable("multiplies tensors of different ranks")
    return Mapped(node, "multiply", {}, [x, y])


@rule("aten.div", "aten.div_", torch="x / c", layer="scale", when="by a constant: scale 1/c")
def _div(node: Node, ctx: Context) -> Result:
    b = arg(node, 1, "other")
    if not _number(b) or node.kwargs.get("rounding_mode") is not None:
        raise Unmappable("dividing by a tensor has no cnncalc layer")
    return Mapped(node, "scale", {"value": 1 / b}, [tensor(node)])


@rule("aten.matmul", "aten.bmm", torch="a @ b, torch.matmul, torch.bmm of two activations (attention)",
      layer="matmul", when="both of one rank, at least 3 with the batch, so the batch meets the batch; "
      "a parameter as an operand is refused; an operand PyTorch copies (its strides allow no batched view) "
      "is a contiguous row first, as autograd keeps the copy; one it broadcasts into a larger copy is refused")
def _matmul(node: Node, ctx: Context) -> Result:
    a, b = tensor(node), tensor(node, 1)
    sa, sb = ctx.shape(a), ctx.shape(b)
    if len(sa) != len(sb) or len(sa) < 3:
        raise Unmappable(f"multiplies shapes {list(sa)} and {list(sb)}: cnncalc's matmul takes two inputs of "
                         "one rank with the batch first in both (a vector or a rank mismatch would broadcast "
                         "the batch against another axis)")
    for k, numel in enumerate(node.operand_copies):
        if numel:
            raise Unmappable(f"broadcasts its {('first', 'second')[k]} operand {list((sa, sb)[k])} into a copy of "
                             f"{numel} elements that autograd keeps; cnncalc's matmul has no such copy")
    return Mapped(node, "matmul", {}, [a, b])


# ---------------------------------------------------------------------------------------------
# joining, splitting, indexing


@rule("aten.cat", "aten.concat", torch="torch.cat", layer="concat")
def _cat(node: Node, ctx: Context) -> Result:
    xs = arg(node, 0, "tensors")
    refs = list(xs)
    for r in refs:
        if not isinstance(r, Ref) or r.node.startswith("constant "):
            raise Unmappable("concatenates a tensor that is not computed from the input")
    dim = _dim(node, ctx, int(arg(node, 1, "dim", 0)), len(ctx.shape(refs[0])))
    if len(refs) == 1:
        return Alias(refs[0])
    return Mapped(node, "concat", {"dim": dim} if dim != 1 else {}, refs)


@rule("aten.stack", torch="torch.stack", layer="stack",
      when="inputs of one shape along a new axis other than the batch (selective kernel's paths)")
def _stack(node: Node, ctx: Context) -> Result:
    refs = list(arg(node, 0, "tensors"))
    for r in refs:
        if not isinstance(r, Ref) or r.node.startswith("constant "):
            raise Unmappable("stacks a tensor that is not computed from the input")
    shapes = {ctx.shape(r) for r in refs}
    if len(shapes) != 1:
        listed = ", ".join(str(list(s)) for s in sorted(shapes))
        raise Unmappable(f"stacks tensors of shapes {listed}: torch.stack takes one shape")
    # the new axis is a dim of the result, one rank above the inputs
    dim = _dim(node, ctx, int(arg(node, 1, "dim", 0)), len(ctx.shape(refs[0])) + 1)
    return Mapped(node, "stack", {"dim": dim} if dim != 1 else {}, refs)


@rule("aten.split", "aten.split_with_sizes", "aten.chunk", torch="torch.split, torch.chunk, x.split, x.chunk",
      layer="split, chunk", when="every piece, read by index (unequal splits of MixNet, Res2Net)")
def _split(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    rank = len(ctx.shape(x))
    if node.op == "aten.chunk":
        dim = _dim(node, ctx, int(arg(node, 2, "dim", 0)), rank)
        return Mapped(node, "chunk", {"chunks": int(arg(node, 1, "chunks")), "dim": dim}, [x])
    sizes = arg(node, 1, "split_size")
    dim = _dim(node, ctx, int(arg(node, 2, "dim", 0)), rank)
    sections = [int(s) for s in sizes] if isinstance(sizes, (list, tuple)) else int(sizes)
    return Mapped(node, "split", {"split_size_or_sections": sections, "dim": dim}, [x])


@rule("getitem", torch="pieces of split/chunk, torch.max(x, dim)[0], adaptive max pooling's values",
      layer="(the piece)", when="the values; indices are refused")
def _getitem(node: Node, ctx: Context) -> Result:
    of, i = node.args[0], int(node.args[1])
    if not isinstance(of, Ref):
        raise Unmappable("indexes a value that is not computed from the input")
    return Piece(of, i)


@rule("aten.slice", torch="x[:, a:b:s]", layer="slice", when="step ≥ 1; a full slice vanishes")
def _slice(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    shape = ctx.shape(x)
    dim = int(arg(node, 1, "dim", 0))
    start, end, step = arg(node, 2, "start", None), arg(node, 3, "end", None), int(arg(node, 4, "step", 1))
    n = shape[dim]
    if (start in (None, 0)) and (end is None or end >= n) and step == 1:
        return Alias(x)  # x[:, :] is x
    _dim(node, ctx, dim, len(shape))
    args: dict[str, Any] = {"dim": dim}
    if start not in (None, 0):
        args["start"] = int(start)
    if end is not None and end < n:
        args["end"] = int(end)
    if step != 1:
        args["step"] = step
    return Mapped(node, "slice", args, [x])


@rule("aten.narrow", torch="torch.narrow", layer="narrow")
def _narrow(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    dim = _dim(node, ctx, int(arg(node, 1, "dim")), len(ctx.shape(x)))
    return Mapped(node, "narrow", {"dim": dim, "start": int(arg(node, 2, "start")),
                                   "length": int(arg(node, 3, "length"))}, [x])


@rule("aten.select", torch="x[:, :, i]", layer="select")
def _select(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    dim = _dim(node, ctx, int(arg(node, 1, "dim")), len(ctx.shape(x)))
    return Mapped(node, "select", {"dim": dim, "index": int(arg(node, 2, "index"))}, [x])


# ---------------------------------------------------------------------------------------------
# shapes and layout


@rule("aten.flatten", torch="nn.Flatten, torch.flatten", layer="flatten",
      when="a flatten the input's strides allow no view of is a copy first (contiguous), as PyTorch runs it")
def _flatten(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    rank = len(ctx.shape(x))
    s, e = int(arg(node, 1, "start_dim", 0)), int(arg(node, 2, "end_dim", -1))
    s, e = (s + rank if s < 0 else s), (e + rank if e < 0 else e)
    if s == e:
        return Alias(x)
    if s == 0:
        raise Unmappable("flattens the batch axis into the others")
    args: dict[str, Any] = {}
    if s != 1:
        args["start_dim"] = s
    if e != rank - 1:
        args["end_dim"] = e
    return Mapped(node, "flatten", args, [x])


def _flatten_of(src: Shape, dst: Shape) -> tuple[int, int] | None:
    """(start, end) when ``dst`` is ``src`` with the axes start..end merged into one."""
    for s in range(1, len(src)):
        for e in range(s + 1, len(src)):
            merged = (*src[:s], math.prod(src[s:e + 1]), *src[e + 1:])
            if merged == dst:
                return s, e
    return None


@rule("aten.view", "aten.reshape", "aten._unsafe_view", "aten.unsqueeze", "aten.squeeze",
      torch="x.view, x.reshape, x.unsqueeze, x.squeeze", layer="flatten, reshape (or nothing)",
      when="a view to the same shape vanishes; a view merging neighbouring axes is a flatten; any other shape "
      "is a reshape; the batch stays first; a reshape the input's strides allow no view of is a copy first "
      "(contiguous), as PyTorch runs it")
def _view(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    src, dst = ctx.shape(x), node.out
    if src == dst:
        return Alias(x)
    if not dst or dst[0] != src[0]:
        raise Unmappable("reshapes across the batch axis, which cnncalc describes per sample")
    # squeeze and unsqueeze are reshapes; a view that merges neighbouring axes is written as flatten
    span = None if node.op in ("aten.squeeze", "aten.unsqueeze") else _flatten_of(src, dst)
    if span is None:
        return Mapped(node, "reshape", {"shape": list(dst[1:])}, [x])
    args: dict[str, Any] = {}
    if span[0] != 1:
        args["start_dim"] = span[0]
    if span[1] != len(src) - 1:
        args["end_dim"] = span[1]
    return Mapped(node, "flatten", args, [x])


@rule("aten.expand", "aten.expand_as", torch="x.expand(...), x.expand_as(y) read by a broadcasting op",
      layer="(vanishes)",
      when="only where what reads it broadcasts to the same shape (ECA's gate); the row shapes are checked")
def _expand(node: Node, ctx: Context) -> Result:
    return Alias(tensor(node))


@rule("aten.permute", torch="x.permute, torchvision's Permute", layer="permute", when="the batch stays first")
def _permute(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    rank = len(ctx.shape(x))
    dims = [int(d) + rank if int(d) < 0 else int(d) for d in arg(node, 1, "dims")]
    if dims == list(range(rank)):
        return Alias(x)
    return Mapped(node, "permute", {"dims": dims}, [x])


@rule("aten.transpose", torch="x.transpose(a, b)", layer="permute", when="of two axes other than the batch")
def _transpose(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    rank = len(ctx.shape(x))
    a, b = (int(arg(node, i, n)) for i, n in ((1, "dim0"), (2, "dim1")))
    a, b = (a + rank if a < 0 else a), (b + rank if b < 0 else b)
    dims = list(range(rank))
    dims[a], dims[b] = dims[b], dims[a]
    if a == b:
        return Alias(x)
    return Mapped(node, "permute", {"dims": dims}, [x])


@rule("aten.alias", torch="nn.Identity, drop path in eval: a leaf module that returns its input", layer="identity",
      when="the importer marks each call of such a module with an alias, so that it keeps its row")
def _identity(node: Node, ctx: Context) -> Result:
    return Mapped(node, "identity", {}, [tensor(node)])


@rule("aten.detach", "aten.clone", torch="x.detach()", layer="(vanishes)",
      when="detach returns its input; a copy (clone) is refused")
def _detach(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    if node.op == "aten.clone":
        raise Unmappable("copies a tensor (cnncalc has no copy layer: the copy would go uncounted)")
    return Alias(x)


@rule("aten.contiguous", torch="x.contiguous()", layer="contiguous (or nothing)",
      when="a copy of a non-contiguous tensor (after a permute or transpose); on a contiguous one it vanishes")
def _contiguous(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    if ctx.contiguous.get(x.node, True):
        return Alias(x)
    return Mapped(node, "contiguous", {}, [x])


@rule("aten.dropout", "aten.dropout_", "aten.feature_dropout", "aten.feature_dropout_", "aten.alpha_dropout",
      "aten.alpha_dropout_", torch="nn.Dropout, nn.Dropout1d/2d/3d, nn.AlphaDropout, F.dropout",
      layer="dropout, dropout1d/2d/3d, alphadropout",
      when="identity in eval; cnncalc's dropout counts the training mask, as for every bundled network "
      "(drop path in eval returns its input: an identity row)")
def _dropout(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    p = float(arg(node, 1, "p", 0.5))
    args: dict[str, Any] = {"p": p} if p != 0.5 else {}
    if node.op.endswith("_"):
        args["inplace"] = True
    if "feature" in node.op:
        return Mapped(node, f"dropout{len(ctx.shape(x)) - 2}d", args, [x])
    return Mapped(node, "alphadropout" if "alpha" in node.op else "dropout", args, [x])


_UPSAMPLE = {"aten.upsample_nearest1d": "nearest", "aten.upsample_nearest2d": "nearest",
             "aten.upsample_nearest3d": "nearest", "aten._upsample_nearest_exact1d": "nearest-exact",
             "aten._upsample_nearest_exact2d": "nearest-exact", "aten._upsample_nearest_exact3d": "nearest-exact",
             "aten.upsample_linear1d": "linear", "aten.upsample_bilinear2d": "bilinear",
             "aten.upsample_trilinear3d": "trilinear", "aten.upsample_bicubic2d": "bicubic"}


@rule(*_UPSAMPLE, torch="nn.Upsample, F.interpolate", layer="upsample",
      when="by scale_factor or to size; nearest, nearest-exact, (bi/tri)linear, bicubic; align_corners carried")
def _upsample(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    mode = _UPSAMPLE[node.op]
    size = arg(node, 1, "output_size")
    if mode in ("nearest", "nearest-exact"):
        scales, corners = arg(node, 2, "scale_factors"), None
    else:
        corners, scales = arg(node, 2, "align_corners"), arg(node, 3, "scale_factors")
    args: dict[str, Any] = {}
    if size is not None:
        args["size"] = _ints(size)
    elif scales is not None:
        vals = [float(s) for s in scales]
        vals_out = [int(v) if v.is_integer() else v for v in vals]
        args["scale_factor"] = vals_out[0] if len(set(vals_out)) == 1 else vals_out
    else:
        raise Unmappable("has neither a size nor a scale factor")
    if mode != "nearest":
        args["mode"] = mode
    if corners is not None:
        args["align_corners"] = bool(corners)
    return Mapped(node, "upsample", args, [x])


#: F.pad's modes and the aten ops they dispatch to, by cnncalc's padding type stem
_PAD_MODES = {"constant": "zeropad", "reflect": "reflectionpad", "replicate": "replicationpad",
              "circular": "circularpad"}
_PAD_WORDS = {"constant": "zero", "reflect": "reflection", "replicate": "replication", "circular": "circular"}


@rule("aten.pad", "aten.constant_pad_nd", "aten.reflection_pad1d", "aten.reflection_pad2d", "aten.reflection_pad3d",
      "aten.replication_pad1d", "aten.replication_pad2d", "aten.replication_pad3d",
      torch="nn.ZeroPad*d, nn.ConstantPad*d, nn.ReflectionPad*d, nn.ReplicationPad*d, nn.CircularPad*d, F.pad",
      layer="zeropad*d, constantpad*d, reflectionpad*d, replicationpad*d, circularpad*d",
      when="over every spatial axis; a constant other than 0 (-inf before TF-'same' max pooling) is constantpad")
def _pad(node: Node, ctx: Context) -> Result:
    x = tensor(node)
    pads = [int(p) for p in arg(node, 1, "pad" if node.op in ("aten.pad", "aten.constant_pad_nd") else "padding")]
    if node.op == "aten.pad":
        mode, value = arg(node, 2, "mode", "constant"), arg(node, 3, "value", None)
    else:
        mode = "reflect" if "reflection" in node.op else "replicate" if "replication" in node.op else "constant"
        value = arg(node, 2, "value", 0.0) if mode == "constant" else None
    if mode not in _PAD_MODES:
        raise Unmappable(f"'{mode}' padding has no cnncalc layer")
    if mode == "constant" and value is not None and math.isnan(value):
        raise Unmappable("padding with NaN has no cnncalc layer")
    nd = len(ctx.shape(x)) - 2
    if len(pads) != 2 * nd:
        words = "constant" if mode == "constant" and value not in (None, 0, 0.0) else _PAD_WORDS[mode]
        raise Unmappable(f"pads {len(pads) // 2} of the {nd} spatial axes; cnncalc's {words} padding pads them all")
    args: dict[str, Any] = {"padding": pads[0] if len(set(pads)) == 1 else pads}
    if mode == "constant" and value not in (None, 0, 0.0):
        # another constant (TF-'same' max pooling pads with -inf): the same shapes and counts
        return Mapped(node, f"constantpad{nd}d", {**args, "value": float(value)}, [x])
    return Mapped(node, f"{_PAD_MODES[mode]}{nd}d", args, [x])


@rule("aten.channel_shuffle", "aten.native_channel_shuffle", torch="nn.ChannelShuffle", layer="channel_shuffle")
def _shuffle(node: Node, ctx: Context) -> Result:
    return Mapped(node, "channel_shuffle", {"groups": int(arg(node, 1, "groups"))}, [tensor(node)])


@rule("aten.pixel_shuffle", torch="nn.PixelShuffle", layer="pixelshuffle")
def _pixel_shuffle(node: Node, ctx: Context) -> Result:
    return Mapped(node, "pixelshuffle", {"upscale_factor": int(arg(node, 1, "upscale_factor"))}, [tensor(node)])


@rule("aten.pixel_unshuffle", torch="nn.PixelUnshuffle (space-to-depth)", layer="pixelunshuffle")
def _pixel_unshuffle(node: Node, ctx: Context) -> Result:
    return Mapped(node, "pixelunshuffle", {"downscale_factor": int(arg(node, 1, "downscale_factor"))},
                  [tensor(node)])


# ---------------------------------------------------------------------------------------------
# patterns: several ops that together are one cnncalc layer


@dataclass(frozen=True)
class Pattern:
    """A run of ops that is one cnncalc layer: a module computed by several ops, or a known idiom."""

    torch: str
    layer: str
    when: str
    #: (the ops of one module call, the module or None, context) → the layer, or None if it does not match
    fn: Callable[[list[Node], Any, Context], Mapped | None]


PATTERNS: list[Pattern] = []


def pattern(torch: str, layer: str, when: str = "") -> Callable[[Any], Any]:
    """Register a :class:`Pattern`."""

    def deco(fn: Any) -> Any:
        PATTERNS.append(Pattern(torch, layer, when, fn))
        return fn

    return deco


def _ops(nodes: list[Node]) -> list[str]:
    return [n.op for n in nodes]


def _chain(nodes: list[Node]) -> bool:
    """Each op reads the one before it (the first reads from outside)."""
    return all(isinstance(n.args[0], Ref) and n.args[0].node == p.name for p, n in zip(nodes, nodes[1:]))


@pattern("nn.LocalResponseNorm (F.local_response_norm's ops)", "localresponsenorm",
         "the whole module call, with its size, alpha, beta and k")
def _lrn(nodes: list[Node], module: Any, ctx: Context) -> Mapped | None:
    if module is None or type(module).__name__ != "LocalResponseNorm" or not nodes:
        return None
    args: dict[str, Any] = {"size": int(module.size)}
    for k, default in (("alpha", 1e-4), ("beta", 0.75), ("k", 1.0)):
        if float(getattr(module, k)) != default:
            args[k] = float(getattr(module, k))
    first = nodes[0]
    return Mapped(nodes[-1], "localresponsenorm", args, [tensor(first)])


@pattern("x.norm(2, spatial dims) / (its mean over channels + eps), then x + γ·(x·N) + β in one module "
         "(ConvNeXt-V2's GRN, timm's GlobalResponseNorm with addcmul, or the paper's γ·(x·N) + β + x)",
         "globalresponsenorm", "channels first or last; γ and β one value per channel")
def _grn(nodes: list[Node], module: Any, ctx: Context) -> Mapped | None:
    # the parameters' views (γ.view(1, 1, 1, C)) are read through; the rest is the formula, op by op
    views = {n.name: n.args[0] for n in nodes if n.op == "aten.view" and isinstance(n.args[0], Param)}
    ops = [n for n in nodes if n.name not in views]
    names = _ops(ops)
    timm = ["aten.linalg_vector_norm", "aten.mean", "aten.add", "aten.div", "aten.mul", "aten.addcmul", "aten.add"]
    paper = ["aten.linalg_vector_norm", "aten.mean", "aten.add", "aten.div", "aten.mul", "aten.mul", "aten.add",
             "aten.add"]
    if names not in (timm, paper):
        return None
    norm, mean, add_eps, div, mul = ops[:5]
    x = tensor(norm)
    shape = ctx.shape(x)
    rank = len(shape)
    dims = sorted(int(d) % rank for d in arg(mean, 1, "dim", []))
    if len(dims) != 1 or dims[0] == 0:
        return None
    c_axis = dims[0]
    spatial = [a for a in range(1, rank) if a != c_axis]
    if (float(arg(norm, 1, "ord", 2)) != 2.0 or sorted(int(d) % rank for d in arg(norm, 2, "dim", [])) != spatial
            or not arg(norm, 3, "keepdim", False) or not arg(mean, 2, "keepdim", False)):
        return None

    def ref(a: Any, node: Node) -> bool:
        return isinstance(a, Ref) and a.node == node.name

    def same(a: Any, b: Any) -> bool:
        return isinstance(a, Ref) and isinstance(b, Ref) and a.node == b.node

    def vec(a: Any) -> Param | None:
        """γ or β: a parameter of one value per channel, or a view of one."""
        p = views.get(a.node) if isinstance(a, Ref) else a
        return p if isinstance(p, Param) and p.numel == shape[c_axis] else None

    def pair(node: Node, want: Callable[[Any], bool]) -> Any:
        """The operand of a two-operand op beside the one ``want`` picks (None if neither is)."""
        a, b = node.args[0], node.args[1]
        return b if want(a) else a if want(b) else None

    eps = add_eps.args[1]
    if not ref(mean.args[0], norm) or not ref(add_eps.args[0], mean) or not isinstance(eps, (int, float)):
        return None
    if not (ref(div.args[0], norm) and ref(div.args[1], add_eps)) or not same(pair(mul, lambda a: ref(a, div)), x):
        return None
    if names == timm:
        affine, last = ops[5], ops[6]
        if float(affine.kwargs.get("value", 1)) != 1 or not ref(affine.args[2], mul):
            return None
        b, w = vec(affine.args[0]), vec(affine.args[1])
        if not same(pair(last, lambda a: ref(a, affine)), x):
            return None
    else:
        scaled, shifted, last = ops[5], ops[6], ops[7]
        w, b = vec(pair(scaled, lambda a: ref(a, mul))), vec(pair(shifted, lambda a: ref(a, scaled)))
        if not same(pair(last, lambda a: ref(a, shifted)), x):
            return None
    if w is None or b is None or any(len(n.args) > 2 or n.kwargs for n in (add_eps, last)):
        return None
    args: dict[str, Any] = {} if c_axis == 1 else {"dim": c_axis - rank}
    if float(eps) != 1e-6:
        args["eps"] = float(eps)
    return Mapped(last, "globalresponsenorm", args, [x], [w, b])


@pattern("x.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(x), then x / it (F.normalize; SSD's L2Norm)",
         "normalize", "the four ops in a row, each read only by the next")
def _normalize(nodes: list[Node], module: Any, ctx: Context) -> Mapped | None:
    if _ops(nodes) != ["aten.linalg_vector_norm", "aten.clamp_min", "aten.expand_as", "aten.div"] or not _chain(
            nodes[:3]):
        return None
    norm, clamp, expand, div = nodes
    x = tensor(norm)
    rank = len(ctx.shape(x))
    dims = arg(norm, 2, "dim", None)
    if not isinstance(dims, (list, tuple)) or len(dims) != 1 or not arg(norm, 3, "keepdim", False):
        return None
    same = [isinstance(a, Ref) and a.node == x.node for a in (expand.args[1], div.args[0])]
    if not all(same) or not (isinstance(div.args[1], Ref) and div.args[1].node == expand.name):
        return None
    p, eps = arg(norm, 1, "ord", 2), arg(clamp, 1, "min")
    if not isinstance(p, (int, float)) or not isinstance(eps, (int, float)) or norm.kwargs.get("dtype") is not None:
        return None
    args: dict[str, Any] = {}
    if float(p) != 2.0:
        args["p"] = float(p)
    if _dim(norm, ctx, int(dims[0]), rank) % rank != 1:
        args["dim"] = int(dims[0])
    if float(eps) != 1e-12:
        args["eps"] = float(eps)
    return Mapped(div, "normalize", args, [x])


@pattern("permute(0, 2, 3, 1) → F.layer_norm over C → permute(0, 3, 1, 2) in one module "
         "(torchvision's and timm's LayerNorm2d)", "layernorm2d", "affine, with a bias or without (MetaFormer's "
         "LayerNorm2dNoBias: `bias: false`), or not affine at all")
def _ln2d(nodes: list[Node], module: Any, ctx: Context) -> Mapped | None:
    if _ops(nodes) != ["aten.permute", "aten.layer_norm", "aten.permute"] or not _chain(nodes):
        return None
    p1, ln, p2 = nodes
    x = tensor(p1)
    rank = len(ctx.shape(x))
    if rank != 4 or list(arg(p1, 1, "dims")) != [0, 2, 3, 1] or list(arg(p2, 1, "dims")) != [0, 3, 1, 2]:
        return None
    if [int(s) for s in arg(ln, 1, "normalized_shape")] != [ctx.shape(x)[1]]:
        return None
    w, b = param(ln, 2, "weight"), param(ln, 3, "bias")
    if w is None and b is not None:
        return None
    args: dict[str, Any] = {} if w is not None else {"elementwise_affine": False}
    if w is not None and b is None:
        args["bias"] = False
    eps = float(arg(ln, 4, "eps", 1e-5))
    if eps != 1e-5:
        args["eps"] = eps
    return Mapped(p2, "layernorm2d", args, [x], [p for p in (w, b) if p is not None])


class _Plain:
    """A module call's ops without ``expand`` (read by the broadcasting op the pattern checks, as FRN's
    ``rms.expand(x.shape)``; no-op casts vanish at the capture); :meth:`src` sees through them."""

    def __init__(self, nodes: list[Node]) -> None:
        self.same: dict[str, Any] = {}
        self.nodes: list[Node] = []
        for n in nodes:
            if n.op == "aten.expand":
                self.same[n.name] = self.src(n.args[0])
            else:
                self.nodes.append(n)

    def src(self, v: Any) -> Any:
        """What a value stands for, through the ops that compute nothing."""
        while isinstance(v, Ref) and v.node in self.same:
            v = self.same[v.node]
        return v

    def reads(self, node: Node, i: int, prev: Node) -> bool:
        """Argument ``i`` of ``node`` is the output of ``prev``."""
        v = self.src(arg(node, i, ""))
        return isinstance(v, Ref) and v.node == prev.name

    def operands(self, node: Node) -> tuple[Any, Any]:
        """The two operands of a binary op, seen through."""
        return self.src(arg(node, 0, "input")), self.src(arg(node, 1, "other"))


@dataclass
class _RsqrtRun:
    """``x · rsqrt(s(x) + eps)``: its input, statistic (``var``: unbiased variance; ``ms``: mean of
    squares), axes, eps, and the index in the plain ops of the multiply that ends it."""

    x: Ref
    stat: str
    dims: list[int]
    eps: float
    end: int


def _rsqrt_run(plain: _Plain, ctx: Context) -> _RsqrtRun | None:
    """Match var(x) or mean(x²) with keepdim, + eps, rsqrt, x · r at the start of the plain ops."""
    ns = plain.nodes
    first = ns[0] if ns else None
    if first is None:
        return None
    x = plain.src(arg(first, 0, "input"))
    if not isinstance(x, Ref):
        return None
    if first.op == "aten.var":
        correction = first.kwargs.get("correction", 1 if arg(first, 2, "unbiased", True) else 0)
        keepdim = first.kwargs.get("keepdim", arg(first, 3, "keepdim", False))
        stat, k = "var", 1
        if correction != 1 or not keepdim:
            return None
    elif first.op in ("aten.pow", "aten.square") and len(ns) > 1 and ns[1].op == "aten.mean":
        if first.op == "aten.pow" and arg(first, 1, "exponent") not in (2, 2.0):
            return None
        if not plain.reads(ns[1], 0, first) or not arg(ns[1], 2, "keepdim", False):
            return None
        stat, k = "ms", 2
    else:
        return None
    reduce = ns[k - 1]
    dims = arg(reduce, 1, "dim")
    if not dims or len(ns) < k + 3:
        return None
    rank = len(ctx.shape(x))
    dims = sorted(int(d) % rank for d in ([dims] if isinstance(dims, int) else dims))
    add, rs, mul = ns[k:k + 3]
    eps = arg(add, 1, "other")
    if add.op != "aten.add" or not plain.reads(add, 0, reduce) or not _number(eps) or arg(add, 2, "alpha", 1) != 1:
        return None
    if rs.op != "aten.rsqrt" or not plain.reads(rs, 0, add) or mul.op != "aten.mul":
        return None
    a, b = plain.operands(mul)
    if {getattr(a, "node", None), getattr(b, "node", None)} != {x.node, rs.name}:
        return None
    return _RsqrtRun(x, stat, dims, float(eps), k + 2)


def _scaled_by(plain: _Plain, i: int, op: str, shapes: tuple[Shape, ...]) -> Param | None:
    """The parameter that plain op ``i`` (``op``) combines with op ``i - 1``'s output, if of one of ``shapes``."""
    if i >= len(plain.nodes) or plain.nodes[i].op != op:
        return None
    a, b = plain.operands(plain.nodes[i])
    prev = plain.nodes[i - 1].name
    p = b if isinstance(a, Ref) and a.node == prev else a if isinstance(b, Ref) and b.node == prev else None
    return p if isinstance(p, Param) and tuple(p.shape) in shapes else None


@pattern("x · rsqrt(var(x) + eps) · w, x · rsqrt(mean(x²) + eps) · w in one module, channels-last or "
         "channels-first (timm's SimpleNorm, SimpleNorm2d, RmsNorm2d; ConvNeXt *_rms)",
         "simplenorm, simplenorm2d, rmsnorm, rmsnorm2d",
         "the unbiased variance (torch.var's default) or the mean of squares, keepdim, over the channels "
         "(dim 1 of [N, C, H, W], or the last axis between permute(0, 2, 3, 1) and permute(0, 3, 1, 2)) or the "
         "trailing axes; w of the normalised shape, or none")
def _rsqrt_norm(nodes: list[Node], module: Any, ctx: Context) -> Mapped | None:
    if module is None or len(nodes) < 4:
        return None
    permuted = _ops(nodes)[0] == "aten.permute" and _ops(nodes)[-1] == "aten.permute"
    plain = _Plain(nodes[1:-1] if permuted else nodes)
    run = _rsqrt_run(plain, ctx)
    if run is None:
        return None
    shape = ctx.shape(run.x)
    rank = len(shape)
    if permuted:
        p1, p2 = nodes[0], nodes[-1]
        if rank != 4 or list(arg(p1, 1, "dims")) != [0, 2, 3, 1] or list(arg(p2, 1, "dims")) != [0, 3, 1, 2]:
            return None
        if run.x.node != p1.name or run.dims != [3]:
            return None
        x, channels = tensor(p1), shape[3]
        weights: tuple[Shape, ...] = ((channels,),)
    elif rank == 4 and run.dims == [1]:
        # w of shape [C] would broadcast along W, not C: only [1, C, 1, 1] or [C, 1, 1] scale the channels
        x, channels = run.x, shape[1]
        weights = ((1, channels, 1, 1), (channels, 1, 1))
    elif run.dims == list(range(rank - len(run.dims), rank)) and 0 not in run.dims:
        x, channels = run.x, 0
        weights = (tuple(shape[d] for d in run.dims),)
    else:
        return None
    w = _scaled_by(plain, run.end + 1, "aten.mul", weights)
    if len(plain.nodes) != run.end + (2 if w is not None else 1):
        return None
    # the module's output: the last op, or a permute (or a cast) of it
    end = nodes[-1]
    if plain.src(Ref(end.name) if not permuted else arg(end, 0, "input")) != Ref(plain.nodes[-1].name):
        return None
    args: dict[str, Any] = {}
    if w is None:
        args["elementwise_affine"] = False
    simple = run.stat == "var"
    if channels:
        typ = "simplenorm2d" if simple else "rmsnorm2d"
        if run.eps != 1e-6:
            args["eps"] = run.eps
    else:
        typ = "simplenorm" if simple else "rmsnorm"
        ns = [shape[d] for d in run.dims]
        if len(ns) > 1:
            args["normalized_shape"] = ns
        if run.eps != 1e-6 or not simple:
            args["eps"] = run.eps
    return Mapped(end, typ, args, [x], [w] if w is not None else [])


@pattern("x · rsqrt(mean(x², (2, 3)) + eps) · w + b, then max(., tau), in one module (timm's "
         "FilterResponseNormTlu2d, and FilterResponseNormAct2d's norm)", "filterresponsenorm2d",
         "w, b and tau of one value per channel")
def _frn(nodes: list[Node], module: Any, ctx: Context) -> Mapped | None:
    if module is None or len(nodes) < 6:
        return None
    plain = _Plain(nodes)
    run = _rsqrt_run(plain, ctx)
    if run is None or run.stat != "ms" or run.dims != [2, 3] or len(ctx.shape(run.x)) != 4:
        return None
    per_channel = ((1, ctx.shape(run.x)[1], 1, 1),)
    w = _scaled_by(plain, run.end + 1, "aten.mul", per_channel)
    b = _scaled_by(plain, run.end + 2, "aten.add", per_channel)
    tau = _scaled_by(plain, run.end + 3, "aten.maximum", per_channel)
    if w is None or b is None or len(plain.nodes) != run.end + (4 if tau is not None else 3):
        return None
    if plain.src(Ref(nodes[-1].name)) != Ref(plain.nodes[-1].name):
        return None
    args: dict[str, Any] = {} if tau is not None else {"tlu": False}
    if run.eps != 1e-5:
        args["eps"] = run.eps
    return Mapped(nodes[-1], "filterresponsenorm2d", args, [run.x], [p for p in (w, b, tau) if p is not None])


def _one_value(v: Any) -> bool:
    """A parameter holding one value ([1], or any shape of 1s)."""
    return isinstance(v, Param) and v.numel == 1


@pattern("scale · x + bias in one module, each a parameter of one value (HGNetV2's LearnableAffineBlock); "
         "scale · x ** 2 + bias (MetaFormer's StarReLU, after its ReLU module)", "scalaraffine",
         "the multiply alone stays the multiply rule's (layerscale scalar for a parameter of shape [])")
def _scalar_affine(nodes: list[Node], module: Any, ctx: Context) -> Mapped | None:
    square = _ops(nodes)[:1] in (["aten.pow"], ["aten.square"]) and len(nodes) == 3
    if square and nodes[0].op == "aten.pow" and arg(nodes[0], 1, "exponent") not in (2, 2.0):
        return None
    body = nodes[1:] if square else nodes
    if module is None or _ops(body) != ["aten.mul", "aten.add"] or arg(body[1], 2, "alpha", 1) != 1:
        return None
    mul, add = body
    a, b = arg(mul, 0, "input"), arg(mul, 1, "other")
    scale, x = (a, b) if _one_value(a) else (b, a)
    c, d = arg(add, 0, "input"), arg(add, 1, "other")
    bias, y = (c, d) if _one_value(c) else (d, c)
    if not _one_value(scale) or not _one_value(bias) or not isinstance(x, Ref) or y != Ref(mul.name):
        return None
    if square and x != Ref(nodes[0].name):
        return None
    x = tensor(nodes[0]) if square else tensor(mul, 1 if x is b else 0)
    # a parameter with more axes than x would broadcast the output to a larger rank
    if max(len(scale.shape), len(bias.shape)) > len(ctx.shape(x)):
        return None
    return Mapped(add, "scalaraffine", {"square": True} if square else {}, [x], [scale, bias])


@pattern("x.view(N, g, C/g, H, W).transpose(1, 2).contiguous().view(N, C, H, W) (ShuffleNet's channel_shuffle)",
         "channel_shuffle", "the four ops in a row, each read only by the next")
def _shuffle_idiom(nodes: list[Node], module: Any, ctx: Context) -> Mapped | None:
    if _ops(nodes) != ["aten.view", "aten.transpose", "aten.contiguous", "aten.view"] or not _chain(nodes):
        return None
    v1, t, _, v2 = nodes
    x = tensor(v1)
    src, mid = ctx.shape(x), v1.out
    if len(src) != 4 or len(mid) != 5 or v2.out != src or mid[0] != src[0] or mid[3:] != src[2:]:
        return None
    if mid[1] * mid[2] != src[1] or sorted([int(arg(t, 1, "dim0")), int(arg(t, 2, "dim1"))]) != [1, 2]:
        return None
    return Mapped(v2, "channel_shuffle", {"groups": mid[1]}, [x])


_CONV_OPS = ("aten.conv1d", "aten.conv2d", "aten.conv3d")


@pattern("F.batch_norm(W.reshape(1, C_out, −1), None, None, weight=None or (gain·scale).view(−1), training=True)"
         ".reshape_as(W) → F.conv1d/2d/3d (timm's StdConv2d, ScaledStdConv2d; in their Same forms the pad "
         "is a zeropad row before)", "conv1d/2d/3d with weight_standardization (ws_gain, ws_gamma, ws_eps)",
         "the weight standardised per output channel, no bias or running statistics in the standardisation; "
         "the gain a parameter of C_out values times a constant (γ/√fan-in); any other form is refused")
def _std_conv(nodes: list[Node], module: Any, ctx: Context) -> Mapped | None:
    ops = _ops(nodes)
    if len(ops) == 3 and ops[:2] == ["aten.batch_norm", "aten.reshape_as"] and ops[2] in _CONV_OPS:
        (bn, reshaped, conv), gain_ops = nodes, None
    elif len(ops) == 5 and ops[:4] == ["aten.mul", "aten.view", "aten.batch_norm", "aten.reshape_as"] \
            and ops[4] in _CONV_OPS:
        mul, view, bn, reshaped, conv = nodes
        gain_ops = (mul, view)
    else:
        return None
    weight = arg(reshaped, 1, "other")
    flat = arg(bn, 0, "input")
    if arg(conv, 1, "weight") != Ref(reshaped.name) or arg(reshaped, 0, "input") != Ref(bn.name):
        return None
    if not isinstance(weight, Param) or not isinstance(flat, Param) or flat.fqn != weight.fqn:
        return None
    c_out = weight.shape[0]
    if flat.shape != (1, c_out, weight.numel // c_out):
        return None  # standardised over other axes than each output channel's weights
    if any(arg(bn, i, name) is not None for i, name in ((2, "bias"), (3, "running_mean"), (4, "running_var"))):
        return None
    if arg(bn, 5, "training") is not True:
        return None
    args: dict[str, Any] = {"weight_standardization": True}
    params: list[Param] = []
    if gain_ops is not None:
        mul, view = gain_ops
        gain, scale = arg(mul, 0, "input"), arg(mul, 1, "other")
        if isinstance(scale, Param):
            gain, scale = scale, gain  # scale * gain
        if arg(bn, 1, "weight") != Ref(view.name) or arg(view, 0, "input") != Ref(mul.name):
            return None
        if not isinstance(gain, Param) or gain.numel != c_out or isinstance(scale, bool) \
                or not isinstance(scale, (int, float)):
            return None
        args["ws_gain"] = True
        gamma = _gamma(float(scale), weight.numel // c_out)
        if gamma != 1.0:
            args["ws_gamma"] = gamma
        params.append(gain)
    elif arg(bn, 1, "weight") is not None:
        return None  # a gain without timm's constant scale: its product is not saved
    eps = float(arg(bn, 7, "eps", 1e-5))
    if eps != 1e-6:
        args["ws_eps"] = eps
    plain = _conv(replace(conv, args=(conv.args[0], weight, *conv.args[2:])), ctx)
    assert isinstance(plain, Mapped)
    plain.args.update(args)
    return Mapped(conv, plain.type, plain.args, plain.inputs, [*plain.params, *params])


def _gamma(scale: float, fan_in: int) -> float:
    """γ with ``γ·fan_in^−½ == scale`` as timm computes it, the shortest such decimal (else the nearest)."""
    root = fan_in ** -0.5
    near = scale / root
    for digits in range(1, 18):
        g = float(f"{near:.{digits}g}")
        if g * root == scale:
            return g
    return near


#: Ops that are refused with a reason of their own (the rest: "no cnncalc layer computes it").
REFUSED = {
    "aten.mm": "a product of 2-d matrices (the batch is one of their matrix axes) has no cnncalc layer",
    "aten.scaled_dot_product_attention": "attention has no cnncalc layer",
    "aten.mish": "Mish has no cnncalc layer",
    "aten.softplus": "Softplus has no cnncalc layer",
}


def map_node(node: Node, ctx: Context) -> Result:
    """The cnncalc layer (or alias, or piece) for one op; :class:`Unmappable` if there is none."""
    r = RULES.get(node.op)
    if r is None:
        raise Unmappable(REFUSED.get(node.op, "no cnncalc layer computes this op"))
    return r.fn(node, ctx)


def mapping_markdown() -> str:
    """The mapping table (PyTorch module or op → cnncalc layer) as Markdown, from :data:`TABLE`."""
    rows = ["| PyTorch | aten ops | cnncalc layer | conditions |", "|---|---|---|---|"]
    for r in TABLE:
        ops = ", ".join(f"`{o}`" for o in r.ops)
        rows.append(f"| {r.torch} | {ops} | `{r.layer}` | {r.when or '—'} |")
    rows += ["", "Several ops that together are one layer:", "",
             "| PyTorch | cnncalc layer | conditions |", "|---|---|---|"]
    rows += [f"| {p.torch} | `{p.layer}` | {p.when or '—'} |" for p in PATTERNS]
    rows += ["", "Refused with a reason of their own:", ""]
    rows += [f"- `{op}`: {why}" for op, why in REFUSED.items()]
    rows.append("- any other op: no cnncalc layer computes it")
    return "\n".join(rows) + "\n"


#: The ops of one call of timm's EvoNorm2dS0/S0a, by (class, apply_act): the gate, the group std
#: and the affine in timm's order (``x.float()``, the casts ``v.to(x.dtype)`` and the views of the
#: parameters vanish before patterns are read).
_GROUP_STD = ["aten.reshape", "aten.var", "aten.add", "aten.sqrt", "aten.expand", "aten.reshape"]
_GATE = ["aten.mul", "aten.sigmoid", "aten.mul"]
_AFFINE = ["aten.mul", "aten.add"]
_EVONORM_OPS = {
    ("EvoNorm2dS0", True): [*_GATE, *_GROUP_STD, "aten.div", *_AFFINE],
    ("EvoNorm2dS0", False): _AFFINE,
    ("EvoNorm2dS0a", True): [*_GROUP_STD, *_GATE, "aten.div", *_AFFINE],
    ("EvoNorm2dS0a", False): [*_GROUP_STD, "aten.div", *_AFFINE],
}


@pattern("timm's EvoNorm2dS0 and EvoNorm2dS0a (x·sigmoid(v·x) / group std, then weight·x + bias)",
         "evonorm2ds0/evonorm2ds0a", "the whole module call on one [N, C, H, W] input, with its own weight, bias "
         "and v, its groups and eps")
def _evonorm(nodes: list[Node], module: Any, ctx: Context) -> Mapped | None:
    kind = type(module).__name__ if module is not None else ""
    want = _EVONORM_OPS.get((kind, getattr(module, "v", None) is not None))
    # a reshape that cannot view its input (the expanded std) copies it first: a contiguous op
    if want is None or [op for op in _ops(nodes) if op != "aten.contiguous"] != want:
        return None
    x = _one_input(nodes)
    params = _own_params(nodes, ("weight", "bias", "v") if module.v is not None else ("weight", "bias"))
    if x is None or params is None:
        return None
    shape = ctx.shape(x)
    if len(shape) != 4:
        return None
    c = shape[1]
    groups = int(module.groups)
    for n in nodes:
        # the group statistics: a biased variance over [C/g, H, W] of each group, plus eps
        if n.op == "aten.reshape" and len(n.out) == 5 and list(n.out) != [shape[0], groups, c // groups, *shape[2:]]:
            return None
        if n.op == "aten.var" and (list(arg(n, 1, "dim")) != [2, 3, 4] or arg(n, 2, "unbiased", True)):
            return None
        if n.op == "aten.add" and isinstance(n.args[1], (int, float)) and float(n.args[1]) != float(module.eps):
            return None
    default_eps = 1e-3 if kind == "EvoNorm2dS0a" else 1e-5
    args: dict[str, Any] = {"groups": groups}
    if module.v is None:
        args["apply_act"] = False
    if float(module.eps) != default_eps:
        args["eps"] = float(module.eps)
    return Mapped(nodes[-1], kind.lower(), args, [x], params)


def _one_input(nodes: list[Node]) -> Ref | None:
    """The one tensor from outside that a module call's ops read, or None if they read several."""
    inside = {n.name for n in nodes}
    outside = {r.node for n in nodes for a in (*n.args, *n.kwargs.values())
               for r in (a if isinstance(a, (list, tuple)) else [a]) if isinstance(r, Ref) and r.node not in inside}
    return Ref(outside.pop()) if len(outside) == 1 else None


def _own_params(nodes: list[Node], names: tuple[str, ...]) -> list[Param] | None:
    """The parameters ``names`` of the module the ops are a call of, in that order, if the ops read
    exactly those (read through a view, they carry its shape; each is returned once)."""
    path = nodes[0].scope[-1].path if nodes[0].scope else ""
    want = [f"{path}.{n}" if path else n for n in names]
    read = {a.fqn: a for n in nodes for a in (*n.args, *n.kwargs.values()) if isinstance(a, Param)}
    return [read[f] for f in want] if set(read) == set(want) else None


#: The ops of one evaluation call of timm's EvoNorm2dB0 with apply_act: the batch std from the
#: running variance, v·x plus the instance std, their max, the divide and the affine.
_EVONORM_B0_OPS = ["aten.add", "aten.sqrt_", "aten.view", "aten.expand_as", "aten.mul", "aten.var", "aten.add",
                   "aten.sqrt", "aten.expand", "aten.add", "aten.max", "aten.div", *_AFFINE]


@pattern("timm's EvoNorm2dB0 in evaluation (x / max(√(running_var + eps), v·x + instance std), then "
         "weight·x + bias)", "evonorm2db0", "the whole module call on one [N, C, H, W] input, with its own "
         "parameters and running_var, and its eps")
def _evonorm_b0(nodes: list[Node], module: Any, ctx: Context) -> Mapped | None:
    if module is None or type(module).__name__ != "EvoNorm2dB0":
        return None
    act = getattr(module, "v", None) is not None
    if _ops(nodes) != (_EVONORM_B0_OPS if act else _AFFINE):
        return None
    x = _one_input(nodes)
    params = _own_params(nodes, ("weight", "bias", "v", "running_var") if act else ("weight", "bias"))
    if x is None or params is None or len(ctx.shape(x)) != 4:
        return None
    for n in nodes:
        if n.op == "aten.var" and (list(arg(n, 1, "dim")) != [2, 3] or arg(n, 2, "unbiased", True)):
            return None
        if n.op == "aten.add" and isinstance(n.args[1], (int, float)) and float(n.args[1]) != float(module.eps):
            return None
    args: dict[str, Any] = {} if act else {"apply_act": False}
    for k, default in (("momentum", 0.1), ("eps", 1e-3)):
        if float(getattr(module, k)) != default:
            args[k] = float(getattr(module, k))
    return Mapped(nodes[-1], "evonorm2db0", args, [x], params)
