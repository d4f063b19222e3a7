"""Every layer type, one family per module; importing this package fills the registry."""

from __future__ import annotations

from . import activation, conv, linear, merge, norm, pool, reduce, reshape, slicing, tensor  # noqa: F401  (registration)
from .layer import Layer
from .registry import ALIASES, REGISTRY, lookup
from .rf import RF, AxisRF
from .shapes import Shape, fmt_shape, numel

__all__ = ["ALIASES", "REGISTRY", "RF", "AxisRF", "Layer", "Shape", "fmt_shape", "numel", "lookup"]
