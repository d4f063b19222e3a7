"""How the peer tools count a layer type: each layer class states one rule per tool.

:mod:`cnncalc.conventions` reproduces the MACs or FLOPs that fvcore, thop, ptflops and torchinfo
print. What a tool counts depends on the module type it meets (a hook by exact class, a handler
for a traced aten op, a patched ``torch.nn.functional`` call), so the decision belongs with the
layer type: :attr:`cnncalc.layers.Layer.peers` holds one rule per tool, each a function
``(layer, input shapes, output shape) -> count`` per sample, applied to the module that
``cnncalc export --to pytorch`` writes for the layer. A type that states no :class:`Peers`
has been decided by no tool; counting it raises :class:`Undecided` instead of returning 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from .shapes import Shape, numel

#: ``(layer, input shapes, output shape) -> count`` under one tool.
PeerRule = Callable[[Any, Sequence[Shape], Shape], int]


class Undecided(NotImplementedError):
    """A convention met a layer type whose count under that tool was never stated (a bug)."""


@dataclass(frozen=True)
class Peers:
    """A layer type's count under each peer tool (each field is the convention of that name)."""

    #: fvcore 0.1.5: the handlers of the traced aten ops (fvcore/nn/jit_handles.py).
    fvcore: PeerRule
    #: thop 0.1.1: its forward hooks, looked up by exact module type (thop/profile.py).
    thop: PeerRule
    #: ptflops 0.7.5: module hooks plus the patched ``torch.nn.functional`` calls (pytorch_ops.py).
    ptflops: PeerRule
    #: torchinfo 1.8.0: parameters named weight or bias (layer_info.py, calculate_macs).
    torchinfo: PeerRule


#: The names of the conventions a layer type decides through :class:`Peers`.
TOOLS: tuple[str, ...] = tuple(f.name for f in fields(Peers))


def nothing(layer: Any, ins: Sequence[Shape], out: Shape) -> int:
    """0: no hook, no handled op, no parameter named weight or bias."""
    return 0


def weights(layer: Any, ins: Sequence[Shape], out: Shape) -> int:
    """The layer's multiply-accumulates (cnncalc's MACs), bias excluded."""
    return int(layer.macs(ins, out))


def params(layer: Any, ins: Sequence[Shape], out: Shape) -> int:
    """The layer's parameters, once (torchinfo: weight and bias counted once outside convolutions)."""
    return int(layer.params(ins))


def weights_and_bias(layer: Any, ins: Sequence[Shape], out: Shape) -> int:
    """The MACs plus one per output element when there is a bias (ptflops' conv and linear hooks)."""
    return int(layer.macs(ins, out)) + (numel(out) if layer.bias else 0)


def per_output(k: int) -> PeerRule:
    """``k`` per output element."""
    return lambda layer, ins, out: k * numel(out)


def per_input(k: int) -> PeerRule:
    """``k`` per element of the first input."""
    return lambda layer, ins, out: k * numel(ins[0])


#: A type that no tool counts: no module hook, no counted op, no weight or bias.
UNCOUNTED = Peers(fvcore=nothing, thop=nothing, ptflops=nothing, torchinfo=nothing)
