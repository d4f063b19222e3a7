"""Pure value-to-text helpers shared by the core and the renderers: counts, bytes, shares, fields.

Each ``format_*`` function turns a value into a string and does nothing else: no console, no
styles, no rich. The core (``explain``, ``report``) and every renderer (``cnncalc.render``)
read them from here, so that the core never imports the renderers.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .layers import RF

#: What each optimizer is called in a sentence.
OPTIMIZER_NAMES = {"none": "no optimizer", "sgd": "SGD", "momentum": "SGD with momentum", "adam": "Adam",
                   "adamw": "AdamW"}
#: Decimal prefixes, largest first: counts (params, MACs, FLOPs) are powers of 10.
_SI = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))
#: Binary prefixes, largest first: memory is counted in powers of 2.
_IEC = ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def format_count(n: int) -> str:
    """``431080`` → ``431.08 K`` (powers of 10)."""
    for size, unit in _SI:
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return str(n)


def format_bytes(n: int) -> str:
    """``1724320`` → ``1.64 MiB`` (powers of 2)."""
    for size, unit in _IEC:
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


def format_share(x: float) -> str:
    """``0.7312`` → ``73%``, ``0.004`` → ``<1%``; empty for 0."""
    if not x:
        return ""
    # below half a percent, "0%" would read as nothing at all
    return "<1%" if x < 0.005 else f"{x:.0%}"


def format_int(n: int) -> str:
    """Thousands separators: ``431,080``."""
    return f"{n:,}"


def format_intensity(x: float | None) -> str:
    """Arithmetic intensity in FLOPs per byte: ``61.9``, or ``-`` for a layer that moves no bytes."""
    return "-" if x is None else f"{x:.3g}" if x < 100 else f"{x:,.0f}"


def axes_text(values: Sequence[object]) -> str:
    """One value when every axis has it (``16``), else the axes joined by ``x`` (``7x3``)."""
    return str(values[0]) if len(set(values)) == 1 else "x".join(str(v) for v in values)


def format_step(x: Fraction) -> str:
    """A jump or a start: exact when whole (``8``), else three significant digits (``0.667``)."""
    return str(x) if x.denominator == 1 else f"{float(x):.3g}"


def format_rf(rf: RF) -> str:
    """``16`` (all axes), ``7x3`` (per axis) or ``whole`` (the whole input)."""
    if not rf.axes or rf.is_whole:
        return "whole"
    return axes_text(["whole" if a.size is None else a.size for a in rf.axes])


def format_rf_least(rf: RF) -> str:
    """The smallest field over the output units, per axis as :func:`format_rf` gives the largest."""
    if not rf.axes or rf.is_whole:
        return "whole"
    return axes_text(["whole" if a.size is None else a.size_min for a in rf.axes])


def format_jump(rf: RF) -> str:
    """Effective stride of the field, per axis when they differ."""
    if not rf.axes or rf.is_whole:
        return "-"
    return axes_text([format_step(a.jump) for a in rf.axes if a.size is not None])


def local_rf(rf: RF) -> RF | None:
    """The field through spatial paths only, when it differs from the field over all paths."""
    if rf.local is None or rf.local == rf.axes:
        return None
    return type(rf)(rf.local, rf.local)


def format_rf_cell(rf: RF, jumps_meet: bool = False) -> str:
    """``427``; ``whole (851 local)`` when the local field differs; `` *`` where jumps meet."""
    text = format_rf(rf)
    local = local_rf(rf)
    if local is not None:
        text += f" ({format_rf(local)} local)"
    return text + (" *" if jumps_meet else "")


def format_rf_summary(rf: RF | None, layer: str | None) -> str:
    """One line: the field of the last spatial map, its jump, and the local field when it differs."""
    if rf is None:
        return "no spatial map"
    text = "whole input" if rf.is_whole else f"{format_rf(rf)} (jump {format_jump(rf)})"
    if rf.is_uneven:
        text = (f"{format_rf(rf)} at most, {format_rf_least(rf)} at least over the output units "
                f"(jump {format_jump(rf)})")
    local = local_rf(rf)
    if local is not None:
        text += f" over all paths; {format_rf(local)} (jump {format_jump(local)}) through spatial paths only"
    if rf.mixed_jump:
        text += "; paths of different jump meet (the largest field is shown)"
    return f"{text} at {layer}"
