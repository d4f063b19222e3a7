"""The receptive-field algebra: the exact field of every output unit, over a period of phases.

Along one spatial axis, output unit ``u`` of a layer sees the input positions ``lo(u) … hi(u)``
(their extent: a dilated kernel skips positions in between). The input is taken as unbounded,
so padding positions count and every unit is interior.

Every layer maps its output unit ``u`` to a set of units of its own input, ``taps(u)``, that
repeats: ``taps(u + p0) = taps(u) + s0`` (a window of stride s: ``p0 = 1, s0 = s``; upsampling
by 3/2: ``p0 = 3, s0 = 2``). So the field repeats too: ``lo(u + P) = lo(u) + Q`` for a period
of ``P`` output units and an advance of ``Q`` input pixels. :class:`AxisRF` keeps ``lo`` and
``hi`` for the ``P`` phases (the smallest period that describes them), from which:

- ``jump = Q/P``, input pixels between neighbouring units on average;
- ``size = max(hi − lo + 1)`` over the phases, the largest field (the headline figure), and
  ``size_min`` the smallest: after upsampling, units are no longer evenly spaced over the input
  and their fields differ with their phase;
- ``start``, the centre of unit 0's field.

Through a layer, ``lo'(u) = min lo(taps(u))`` and ``hi'(u) = max hi(taps(u))``: exact, with no
rounding. The period grows only through upsampling, transposed convolutions and adaptive
pooling, by their ratio; past :data:`MAX_PERIOD` the layer's own output units are followed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..formula import Ceil, Sym, Term, lift

#: The longest period followed phase by phase; beyond it (uneven ratios chained, e.g. adaptive
#: pooling 145 → 108 after one 389 → 291) the layer's own output units are followed instead.
MAX_PERIOD = 1 << 16

#: The most output units followed one by one along an axis. An axis longer than this whose period
#: is longer too (a layer resizing to more than 2^20 units by an uneven ratio) has the fields of its
#: first MAX_UNITS units, repeated: bounded time, at the price of exactness past them.
MAX_UNITS = 1 << 20

#: First or last input position a phase sees; None where the unit sees no input along the axis
#: (a transposed convolution whose kernel is shorter than its stride leaves such units).
Bound = int | None


def _value(x: Term | int) -> int:
    v = x.value if isinstance(x, Term) else x
    if isinstance(v, Fraction):
        if v.denominator != 1:
            raise ValueError(f"a window's span and stride are whole numbers, got {v}")
        v = v.numerator
    return int(v)


@dataclass(frozen=True, slots=True)
class AxisRF:
    """Receptive field along one input axis: the largest size (None = the whole input), jump, centre of unit 0.

    ``size_min`` is the smallest field over the output units; ``lo``/``hi`` the first and last
    input position seen by the units of one period, and ``advance`` the input pixels one period
    moves. ``AxisRF(size, jump, start)`` alone is a field that is the same for every unit.
    """

    size: int | None
    jump: Fraction
    start: Fraction
    size_min: int | None = None
    lo: tuple[Bound, ...] = ()
    hi: tuple[Bound, ...] = ()
    advance: int = 0

    def __post_init__(self) -> None:
        if self.lo or self.size is None:
            return
        # the same field for every unit: one phase
        first = Fraction(self.start) - Fraction(self.size - 1, 2)
        jump = Fraction(self.jump)
        if first.denominator != 1 or jump.denominator != 1:
            raise ValueError("a field the same for every unit has a whole jump and starts on a pixel; "
                             "build others with AxisRF.phases")
        lo = int(first)
        object.__setattr__(self, "size_min", self.size)
        object.__setattr__(self, "lo", (lo,))
        object.__setattr__(self, "hi", (lo + self.size - 1,))
        object.__setattr__(self, "advance", int(jump))

    # ---------------------------------------------------------------------------------------
    # construction and inspection

    @staticmethod
    def phases(lo: Sequence[Bound], hi: Sequence[Bound], advance: int) -> AxisRF:
        """The field whose units ``0 … P−1`` see ``lo[t] … hi[t]``, repeating every P units ``advance`` further."""
        lo_t, hi_t, advance = _reduce(tuple(lo), tuple(hi), advance)
        sizes = [0 if a is None else b - a + 1 for a, b in zip(lo_t, hi_t)]  # type: ignore[operator]
        jump = Fraction(advance, len(lo_t))
        first = next((t for t, a in enumerate(lo_t) if a is not None), None)
        # the centre of unit 0, or where it would be for a unit that sees nothing
        start = Fraction(0) if first is None else Fraction(lo_t[first] + hi_t[first], 2) - first * jump  # type: ignore[operator]
        return AxisRF(max(sizes), jump, start, min(sizes), lo_t, hi_t, advance)

    @property
    def period(self) -> int:
        """Output units after which the fields repeat (1: every unit alike)."""
        return max(len(self.lo), 1)

    @property
    def size_max(self) -> int | None:
        """The largest field over the output units (the same as ``size``)."""
        return self.size

    def bounds(self, unit: int) -> tuple[int, int] | None:
        """First and last input position seen by output unit ``unit``; None: it sees none (or the whole axis)."""
        if self.size is None:
            return None
        q, t = divmod(unit, len(self.lo))
        a = self.lo[t]
        if a is None:
            return None
        return a + q * self.advance, self.hi[t] + q * self.advance  # type: ignore[operator]

    # ---------------------------------------------------------------------------------------
    # steps

    def gather(self, p0: int, s0: int, taps: Callable[[int], Iterable[int]], units: int | None = None) -> AxisRF:
        """The field after a layer whose output unit ``u`` reads input units ``taps(u)``.

        The taps repeat: ``taps(u + p0) = taps(u) + s0``.

        ``units``, the layer's output size, bounds the work where uneven ratios chained make the
        period longer than :data:`MAX_PERIOD`: then the fields of those units are followed
        exactly, and repeated every ``units`` units as if periodic (only the padding positions
        a later layer reads lie outside them).
        """
        if self.size is None:
            return self
        p, q = len(self.lo), self.advance
        # the new period: p0·m output units, whose s0·m input units are whole periods of the input
        m = p // math.gcd(p, s0)
        period = p0 * m
        advance = s0 * m // p * q
        jump = Fraction(advance, period)
        if units is not None and period > max(MAX_PERIOD, units):
            period, advance = units, round(jump * units)
        if period > MAX_UNITS:
            # bounded work on legal but huge axes (adaptive pooling or upsampling to 10^12 units):
            # the first MAX_UNITS units are followed exactly and repeated
            period, advance = MAX_UNITS, round(jump * MAX_UNITS)
        lo: list[Bound] = []
        hi: list[Bound] = []
        for t in range(period):
            first: int | None = None
            last: int | None = None
            for u in taps(t):
                k, r = divmod(u, p)
                a = self.lo[r]
                if a is None:
                    continue
                a += k * q
                b = self.hi[r] + k * q  # type: ignore[operator]
                first = a if first is None or a < first else first
                last = b if last is None or b > last else last
            lo.append(first)
            hi.append(last)
        if Fraction(advance, period) != jump:
            # the units followed one by one: their own sizes, the true jump
            sizes = [0 if a is None else b - a + 1 for a, b in zip(lo, hi)]  # type: ignore[operator]
            b0: tuple[int, int] = next(((a, b) for a, b in zip(lo, hi) if a is not None and b is not None), (0, 0))
            return AxisRF(max(sizes), jump, Fraction(b0[0] + b0[1], 2), min(sizes), tuple(lo), tuple(hi), advance)
        return AxisRF.phases(lo, hi, advance)

    def window(self, span: Term | int, stride: Term | int, pad: int, dilation: int = 1) -> AxisRF:
        """A sliding window: output unit u reads input units ``u·s − p + d·i`` for ``d·i`` in ``0 … span``.

        Through a field the same for every unit: ``r' = r + span·j``, ``j' = j·s``,
        ``start' = start + (span/2 − p)·j``.
        """
        # int arithmetic, and a Fraction only where one is new: this runs for every windowed layer
        k1 = span if type(span) is int else _value(span)
        s = stride if type(stride) is int else _value(stride)
        if self.size is None:
            # the whole input stays whole; its jump and centre still move as a window's would
            return AxisRF(None, self.jump * s, self.start + (Fraction(k1, 2) - pad) * self.jump)
        if len(self.lo) == 1 and self.lo[0] is not None:
            q = self.advance
            a, b = self.lo[0] - pad * q, self.hi[0] + (k1 - pad) * q  # type: ignore[operator]
            size = b - a + 1
            c = a + b
            return AxisRF(size, self.jump if s == 1 else Fraction(q * s), Fraction(c // 2) if c % 2 == 0
                          else Fraction(c, 2), size, (a,), (b,), q * s)
        return self.gather(1, s, lambda t: range(t * s - pad, t * s - pad + k1 + 1, dilation))

    def window_terms(self, span: Term | int, stride: Term | int, dilation: int = 1) -> tuple[Term, Term]:
        """Size and jump through a window reaching ``span = k_eff − 1`` further: r + span·j, j·s.

        Where the units' fields differ with their phase (after upsampling), the size is the
        exact largest field, not the formula.
        """
        j = Sym("j_in", self.jump)
        jump = j * (stride if isinstance(stride, Term) else Sym("s", stride))
        if self.size is not None and len(self.lo) > 1:
            exact = self.window(span, stride, 0, dilation).size
            assert exact is not None  # a bounded field stays bounded through a window
            # no closed form: the largest of the units' fields, each min lo … max hi of its taps
            return Sym("r_max", exact), jump
        size = Sym("r_in", self.size or 0) + lift(span) * j
        if not isinstance(size.value, int):
            size = Ceil(size)
        return size, jump

    def shift(self, offset: int) -> AxisRF:
        """Output unit u is input unit ``u + offset``: a crop or slice from ``offset`` (negative: padding before)."""
        if self.size is None or offset == 0:
            return self
        if len(self.lo) == 1 and self.lo[0] is not None:
            d = offset * self.advance
            return AxisRF(self.size, self.jump, self.start + d, self.size_min,
                          (self.lo[0] + d,), (self.hi[0] + d,), self.advance)  # type: ignore[operator]
        return self.gather(1, 1, lambda t: (t + offset,))

    def pick(self, start: int, step: int) -> AxisRF:
        """Output unit u is input unit ``start + u·step``: a strided slice."""
        if step == 1:
            return self.shift(start)
        return self.gather(1, step, lambda t: (start + t * step,))


WHOLE_AXIS = AxisRF(None, Fraction(1), Fraction(0))
UNIT_AXIS = AxisRF(1, Fraction(1), Fraction(0))


def _reduce(
    lo: tuple[Bound, ...], hi: tuple[Bound, ...], advance: int
) -> tuple[tuple[Bound, ...], tuple[Bound, ...], int]:
    """The smallest period describing the same fields, so that equal fields compare equal."""
    p = len(lo)
    if p == 1:
        return lo, hi, advance
    for d in range(1, p):
        if p % d or (advance * d) % p:
            continue
        step = advance * d // p

        def at(bounds: tuple[Bound, ...], u: int) -> Bound:
            k, t = divmod(u, p)
            b = bounds[t]
            return None if b is None else b + k * advance

        def moved(b: Bound) -> Bound:
            return None if b is None else b + step  # noqa: B023  (used in this iteration only)

        if all(at(lo, t + d) == moved(lo[t]) and at(hi, t + d) == moved(hi[t]) for t in range(p)):
            return lo[:d], hi[:d], step
    return lo, hi, advance


def merge_axes(cands: Sequence[AxisRF]) -> tuple[AxisRF, bool]:
    """Union of the fields of several paths into one unit; True when paths of different jump meet.

    Paths of the same jump are merged exactly, unit by unit. Where jumps differ the union is not
    periodic (its extent grows with the unit), so the larger field, and its jump, is kept.
    """
    first = cands[0]
    if any(a.size is None for a in cands):
        return WHOLE_AXIS, False
    q = first.advance
    if all(len(a.lo) == 1 and a.advance == q and a.lo[0] is not None for a in cands):
        # one phase each, the same jump (the common case: a residual add): int arithmetic
        low = min(a.lo[0] for a in cands)  # type: ignore[type-var]
        high = max(a.hi[0] for a in cands)  # type: ignore[type-var]
        if low == first.lo[0] and high == first.hi[0]:
            return first, False
        size = high - low + 1  # type: ignore[operator]
        return AxisRF(size, first.jump, Fraction(low + high, 2), size, (low,), (high,), q), False  # type: ignore[operator]
    if len({a.jump for a in cands}) > 1:
        return max(cands, key=lambda a: (a.size, a.jump)), True
    period = math.lcm(*(len(a.lo) for a in cands))
    lo: list[Bound] = []
    hi: list[Bound] = []
    for t in range(period):
        seen = [b for b in (a.bounds(t) for a in cands) if b is not None]
        lo.append(min(b[0] for b in seen) if seen else None)
        hi.append(max(b[1] for b in seen) if seen else None)
    return AxisRF.phases(lo, hi, period // len(first.lo) * first.advance), False


#: For each axis of a tensor (batch excluded), the input spatial axis it runs along, or None for
#: a feature axis (channels). ``[C, H, W]`` is ``(None, 0, 1)``; permuted to ``[H, W, C]``, ``(0, 1, None)``.
Layout = tuple[int | None, ...]


def channels_first(rank: int) -> Layout:
    """The layout of a ``[C, *spatial]`` tensor of ``rank`` axes (a ``[N]`` vector has no spatial axis)."""
    return (None, *range(rank - 1))


def spatial_axes(layout: Layout, axes: Sequence[int]) -> set[int]:
    """The input spatial axes carried by the tensor ``axes`` (indices into a batch-less shape)."""
    return {axis for axis in (layout[a] for a in axes) if axis is not None}


@dataclass(frozen=True, slots=True)
class RF:
    """Receptive field of a tensor over all paths (``axes``) and through spatial paths only (``local``).

    ``layout`` says which tensor axis carries which spatial axis of the input (see :data:`Layout`).
    """

    axes: tuple[AxisRF, ...]
    local: tuple[AxisRF, ...] | None
    mixed_jump: bool = False
    layout: Layout = ()

    @staticmethod
    def identity(ndim: int) -> RF:
        """The field of the network input itself: one pixel, jump 1, centred on pixel 0."""
        unit = tuple(UNIT_AXIS for _ in range(ndim))
        return RF(unit, unit, False, channels_first(ndim + 1))

    def whole(self) -> RF:
        """Every unit sees the whole input (after flatten, linear or global pooling)."""
        return RF(tuple(WHOLE_AXIS for _ in self.axes), None, self.mixed_jump, self.layout)

    def whole_along(self, spatial: set[int]) -> RF:
        """The field made whole along the given input spatial axes (a layer mixing them), in both fields."""
        if not spatial:
            return self
        return self.map_axes(lambda i, a: WHOLE_AXIS if i in spatial else a)

    def map_axes(self, step: Any) -> RF:
        """Apply ``step(input spatial axis, AxisRF) -> AxisRF`` to every axis of both fields."""
        axes = tuple(a if a.size is None else step(i, a) for i, a in enumerate(self.axes))
        local = None if self.local is None else tuple(step(i, a) for i, a in enumerate(self.local))
        return RF(axes, local, self.mixed_jump, self.layout)

    def map(self, step: Any) -> RF:
        """Apply a spatial layer's per-axis step ``step(k, AxisRF) -> AxisRF`` to both fields.

        ``k`` counts the spatial axes of the tensor (``[C, H, W]``: H is 0, W is 1); it is the
        input spatial axis itself unless an axis was reduced or selected away (``[C, W]`` after
        ``select`` along H: W is 0). An input axis the tensor no longer carries keeps its field.
        """
        layout = self.layout
        if not layout or (layout[0] is None and layout[1:] == tuple(range(len(self.axes)))):
            return self.map_axes(step)  # [C, *spatial] with every axis in place: k is the axis
        at = {a: t - 1 for t, a in enumerate(layout) if a is not None}
        return self.map_axes(lambda i, a: a if i not in at else step(at[i], a))

    @property
    def is_whole(self) -> bool:
        """True when the field covers the whole input on every axis."""
        return all(a.size is None for a in self.axes)

    @property
    def is_uneven(self) -> bool:
        """True when, on some axis, the field differs between output units (after upsampling)."""
        return any(a.size is not None and a.size_min != a.size for a in self.axes)


def merge_rf(fields: Sequence[RF]) -> RF:
    """Union of the fields of several paths, per axis; flags paths of different jump meeting."""
    if len(fields) == 1:
        return fields[0]
    n = len(fields[0].axes)
    mixed = any(f.mixed_jump for f in fields)
    axes = []
    for i in range(n):
        a, differ = merge_axes([f.axes[i] for f in fields])
        axes.append(a)
        mixed = mixed or differ
    locals_ = [f.local for f in fields if f.local is not None]
    local = None
    if locals_:
        local = tuple(merge_axes([loc[i] for loc in locals_])[0] for i in range(n))
    return RF(tuple(axes), local, mixed, fields[0].layout)
