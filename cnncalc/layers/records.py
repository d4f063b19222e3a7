"""What one layer amounts to on given inputs: its counts and the tensors autograd saves for it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .shapes import Shape, numel

#: ``Saved.dtype`` values: the layer's activation dtype, fixed types, or the parameters' dtype.
SAVED_DTYPES = ("act", "fp32", "int64", "bool", "weights")


@dataclass(frozen=True, slots=True)
class Saved:
    """One tensor that autograd keeps for a layer's backward pass.

    ``ref`` names a tensor that already exists, so that storage shared between layers is
    counted once: ``input`` (input number ``index``), ``output`` or ``weight`` (the parameter:
    counted as weights, except for the low-precision copy autocast makes). ``ref`` None is a
    new tensor of ``elements`` values of ``dtype``, per sample unless ``per_sample`` is false.
    """

    what: str
    elements: int
    dtype: str = "act"
    ref: str | None = None
    index: int = 0
    per_sample: bool = True

    @staticmethod
    def input(ins: Sequence[Shape], index: int = 0) -> Saved:
        """The layer's input tensor itself."""
        return Saved("input" if len(ins) == 1 else f"input {index + 1}", numel(ins[index]), ref="input", index=index)

    @staticmethod
    def output(out: Shape) -> Saved:
        """The layer's output tensor itself."""
        return Saved("output", numel(out), ref="output")

    @staticmethod
    def weight(elements: int) -> Saved:
        """The layer's weight parameter (not its bias)."""
        return Saved("weight", elements, dtype="weights", ref="weight", per_sample=False)


@dataclass(frozen=True, slots=True)
class Counts:
    """A layer's figures on given input shapes: what reports, estimates and budgets add up.

    A pure function of the layer's arguments and its input shapes, so equal layers on equal
    inputs share one (see :meth:`cnncalc.graph.Graph.counts`).
    """

    params: int
    buffers: int
    macs: int
    flops: int
    #: elements per sample of library workspace (see :meth:`Layer.workspace`)
    workspace: int
    saved: tuple[Saved, ...]

