"""Every layer type, one family per module; importing this package fills the registry."""

from __future__ import annotations

from . import activation, conv, linear, merge, norm, pool, reduce, reshape, slicing, tensor  # noqa: F401  (registration)
from .base import ALIASES, REGISTRY, RF, AxisRF, Layer, Shape, fmt_shape, numel

__all__ = ["ALIASES", "REGISTRY", "RF", "AxisRF", "Layer", "Shape", "fmt_shape", "numel", "lookup"]


def lookup(name: str) -> type[Layer] | None:
    """The layer class registered under ``name`` or one of its aliases."""
    return REGISTRY.get(name) or REGISTRY.get(ALIASES.get(name, ""))
