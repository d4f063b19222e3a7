"""What a family module needs to define layer types, gathered in one import.

The parts live in their own modules: the argument types (args.py), shapes (shapes.py), the
receptive-field algebra (rf.py), counts and saved-tensor records (records.py), the registry
(registry.py) and the :class:`Layer` base class (layer.py).
"""

from __future__ import annotations

from .args import (
    _EXPR_SCHEMA,
    MAX_INT,
    AnyInt,
    AnyIntN,
    Expr,
    Fill,
    Flag,
    Like,
    Name,
    NonNeg,
    NonNegN,
    Number,
    Padding,
    Pos,
    PosN,
    PosNumberN,
    Refs,
    SizeN,
    _describe,
    _int,
    _name,
    _refs,
    choice,
)
from .layer import Layer, kernel_term, matmul_flops, torch_call
from .records import SAVED_DTYPES, Counts, Saved
from .registry import ALIASES, REGISTRY, register, register_nd
from .rf import RF, UNIT_AXIS, WHOLE_AXIS, AxisRF, Layout, channels_first, merge_rf, spatial_axes
from .shapes import Shape, fmt_axes, fmt_layout, fmt_shape, numel

__all__ = [
    "ALIASES", "MAX_INT", "REGISTRY", "RF", "SAVED_DTYPES", "UNIT_AXIS", "WHOLE_AXIS", "_EXPR_SCHEMA", "AnyInt",
    "AnyIntN", "AxisRF", "Counts", "Expr", "Fill", "Flag", "Layer", "Layout", "Like", "Name", "NonNeg", "NonNegN",
    "Number", "Padding", "Pos", "PosN", "PosNumberN", "Refs", "Saved", "Shape", "SizeN", "_describe", "_int", "_name",
    "_refs", "channels_first", "choice", "fmt_axes", "fmt_layout", "fmt_shape", "kernel_term", "matmul_flops",
    "merge_rf", "numel", "register", "register_nd", "spatial_axes", "torch_call",
]
