"""Shapes without the batch, ``(C, *spatial)`` for feature maps and ``(N,)`` after flatten, and how they print."""

from __future__ import annotations

import math

from .rf import Layout

Shape = tuple[int, ...]


def fmt_layout(layout: Layout) -> str:
    """``[H, W, C]``: the axes of a tensor, spatial axes by letter, feature axes as C."""
    letters = {1: "L", 2: "HW", 3: "DHW"}.get(sum(a is not None for a in layout), "")
    return "[" + ", ".join("C" if a is None else (letters[a] if a < len(letters) else f"S{a}") for a in layout) + "]"


def fmt_shape(shape: Shape) -> str:
    """``[16, 32, 32]``."""
    return "[" + ", ".join(str(s) for s in shape) + "]"


def numel(shape: Shape) -> int:
    """Number of elements of a shape."""
    return math.prod(shape)



def fmt_axes(values: tuple[int, ...]) -> str:
    """``3`` when all axes agree, else ``3x5``."""
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))

