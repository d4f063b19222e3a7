"""Counting conventions: the MACs and FLOPs that other tools print, reproduced layer by layer.

Each convention is one function ``(layer, input shapes, output shape) -> count`` that mirrors the
counting code of one tool, applied to the module ``cnncalc export --to pytorch`` writes for the
layer: a layer is one module, and add, multiply and concat are Python operators, as torchvision's
models write them. Counts are per sample, as cnncalc's are (batch 1).

Under a convention the MACs column is the tool's count (its "MACs", "flops" or "Mult-Adds") and
FLOPs = 2·MACs. ``torch`` (FlopCounterMode) counts FLOPs, so there MACs = FLOPs / 2.

torchvision and FlopCounterMode count convolutions and matrix products only, which are
cnncalc's MACs, so one rule holds for every layer type. What fvcore, thop, ptflops and
torchinfo count depends on the module, so each layer class states it (``Layer.peers``, see
:mod:`cnncalc.layers.peers`); a type that never did fails loudly instead of counting 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from .errors import OptionError
from .layers import Layer, Shape

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


def _stated(name: str) -> Rule:
    """The rule each layer class states for the tool ``name`` (``Layer.peers``)."""
    return lambda layer, ins, out: layer.peer_count(name, ins, out)


def _torchvision(layer: Layer, ins: Sequence[Shape], out: Shape) -> int:
    """Multiply-accumulates of convolutions, linear layers and matmuls, bias excluded (cnncalc's MACs)."""
    return layer.macs(ins, out)


def _flop_counter(layer: Layer, ins: Sequence[Shape], out: Shape) -> int:
    """2 per multiply-accumulate of convolutions, linear layers (aten.addmm, aten.mm) and matmuls (aten.bmm)."""
    return 2 * layer.macs(ins, out)


_ALL = [
    Convention("torchvision", "torchvision 0.28 (weights meta '_ops')",
               "torchvision/models/*.py: meta['_ops'] (script of pytorch/vision#6936)", "macs", _torchvision),
    Convention("fvcore", "fvcore 0.1.5", "fvcore/nn/flop_count.py (_DEFAULT_SUPPORTED_OPS), fvcore/nn/jit_handles.py",
               "macs", _stated("fvcore")),
    Convention("thop", "thop 0.1.1", "thop/profile.py (register_hooks), thop/vision/basic_hooks.py, "
               "thop/vision/calc_func.py", "macs", _stated("thop")),
    Convention("ptflops", "ptflops 0.7.5 (pytorch backend)", "ptflops/pytorch_engine.py, ptflops/pytorch_ops.py",
               "macs", _stated("ptflops")),
    Convention("torchinfo", "torchinfo 1.8.0 (Mult-Adds)",
               "torchinfo/layer_info.py (calculate_macs), torchinfo/model_statistics.py", "macs", _stated("torchinfo")),
    Convention("torch", "torch 2.13 FlopCounterMode", "torch/utils/flop_counter.py (flop_registry)", "flops",
               _flop_counter),
]
CONVENTIONS: dict[str, Convention] = {c.name: c for c in _ALL}


def lookup(name: str) -> Convention:
    """The convention called ``name``; :class:`OptionError` if there is none."""
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise OptionError(f"unknown convention '{name}' (choose from {', '.join(CONVENTIONS)})") from None
