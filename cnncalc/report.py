"""The result objects of an analysis: one row per layer, totals, and ``to_dict`` for JSON."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .layers import RF, AxisRF, Shape

if TYPE_CHECKING:  # pragma: no cover
    from .memory import MemoryEstimate

SCHEMA_VERSION = 1

#: Bytes per element of each supported dtype.
DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}


def _num(x: Fraction) -> int | float:
    return int(x) if x.denominator == 1 else float(x)


def axis_dict(a: AxisRF) -> dict[str, Any]:
    """One axis of a receptive field; ``size`` null means the whole input."""
    return {"size": a.size, "jump": _num(a.jump), "start": _num(a.start)}


def rf_dict(rf: RF) -> dict[str, Any]:
    """Receptive field over all paths, through spatial paths only, and whether jumps were mixed."""
    return {
        "whole_input": rf.is_whole,
        "axes": [axis_dict(a) for a in rf.axes],
        "local": None if rf.local is None else [axis_dict(a) for a in rf.local],
        "mixed_jump": rf.mixed_jump,
    }


@dataclass(frozen=True, slots=True)
class LayerRow:
    """Figures of one layer, per sample (batch 1) unless stated."""

    index: int
    name: str
    type: str
    label: str
    inputs: tuple[str, ...]
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    params: int
    buffers: int
    macs: int
    flops: int
    rf: RF
    output_elements: int
    output_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with raw integers."""
        return {
            "index": self.index,
            "name": self.name,
            "type": self.type,
            "inputs": list(self.inputs),
            "input_shapes": [list(s) for s in self.input_shapes],
            "output_shape": list(self.output_shape),
            "params": self.params,
            "buffers": self.buffers,
            "macs": self.macs,
            "flops": self.flops,
            "receptive_field": rf_dict(self.rf),
            "output_elements": self.output_elements,
            "output_bytes": self.output_bytes,
        }


@dataclass(frozen=True, slots=True)
class Totals:
    """Whole-network figures; ``*_bytes`` use the chosen dtype, activations are summed over layers."""

    params: int
    buffers: int
    macs: int
    flops: int
    param_bytes: int
    buffer_bytes: int
    weight_file_bytes: int
    input_elements: int
    activation_elements: int
    activation_bytes: int
    batch: int
    activation_bytes_batch: int
    output_shape: Shape
    receptive_field: RF | None
    receptive_field_layer: str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with raw integers."""
        return {
            "params": self.params,
            "trainable_params": self.params,
            "non_trainable_params": self.buffers,
            "buffers": self.buffers,
            "macs": self.macs,
            "flops": self.flops,
            "param_bytes": self.param_bytes,
            "buffer_bytes": self.buffer_bytes,
            "weight_file_bytes": self.weight_file_bytes,
            "input_elements": self.input_elements,
            "activation_elements": self.activation_elements,
            "activation_bytes": self.activation_bytes,
            "batch": self.batch,
            "activation_bytes_batch": self.activation_bytes_batch,
            "output_shape": list(self.output_shape),
            "receptive_field": None if self.receptive_field is None else rf_dict(self.receptive_field),
            "receptive_field_layer": self.receptive_field_layer,
        }


@dataclass(frozen=True)
class Report:
    """The analysis of one network: per-layer rows and totals, for a dtype and batch."""

    network: str
    source: str | None
    input_shape: Shape
    dtype: str
    batch: int
    layers: tuple[LayerRow, ...]
    totals: Totals
    memory: MemoryEstimate | None = None

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object (``schema_version``, ``network``, ``layers``, ``totals``, ``memory``)."""
        out = {
            "schema_version": SCHEMA_VERSION,
            "network": {
                "name": self.network,
                "source": self.source,
                "input_shape": list(self.input_shape),
                "dtype": self.dtype,
                "dtype_bytes": DTYPE_BYTES[self.dtype],
                "batch": self.batch,
            },
            "layers": [row.to_dict() for row in self.layers],
            "totals": self.totals.to_dict(),
        }
        if self.memory is not None:
            for row, mem in zip(out["layers"], self.memory.layers):
                row["memory"] = mem.to_dict()
            out["memory"] = self.memory.to_dict()
        return out
