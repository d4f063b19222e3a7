"""Comparing two analyses layer by layer (matched by name) and in total. Pure: no I/O.

Layers are matched by their full name (``features.0``, ``layer1.0.conv1``): a name only in the
old network is ``removed``, only in the new one ``added``; a matched layer is ``changed`` when its
type, output shape or any figure differs. Rows follow the new network's order, with removed
layers where they stood in the old one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cached_property
from typing import Any, Literal

from . import units
from .errors import OptionError
from .layers import RF
from .report import SCHEMA_VERSION, LayerRow, Report
from .spec import suggest

LayerStatus = Literal["added", "removed", "changed", "unchanged"]

#: Figures compared per layer: the LayerRow attribute of each.
LAYER_FIGURES = {"params": "params", "trainable_params": "trainable_params", "buffers": "buffers",
                 "macs": "macs", "flops": "flops", "memory": "output_bytes"}
#: Figures compared in total, and the Totals attribute of each.
TOTAL_FIGURES = {"params": "params", "trainable_params": "trainable_params", "buffers": "buffers",
                 "macs": "macs", "flops": "flops",
                 "param_memory": "weight_file_bytes", "activation_memory": "activation_bytes_batch"}


@dataclass(frozen=True)
class Change:
    """One figure, old and new: ``delta`` = new − old, ``percent`` = delta/old·100 (None when old is 0)."""

    old: int
    new: int

    @property
    def delta(self) -> int:
        """new − old."""
        return self.new - self.old

    @property
    def percent(self) -> Fraction | None:
        """delta/old·100, or None when old is 0."""
        return None if self.old == 0 else Fraction(self.delta * 100, self.old)

    def grows_beyond(self, threshold: Fraction) -> bool:
        """True when the figure grew by more than ``threshold`` percent (any growth from 0 counts)."""
        if self.old == 0:
            return self.new > 0
        return Fraction(self.delta * 100, self.old) > threshold

    def to_dict(self) -> dict[str, Any]:
        """``{old, new, delta, percent}`` with raw integers."""
        pct = self.percent
        return {"old": self.old, "new": self.new, "delta": self.delta,
                "percent": None if pct is None else float(pct)}


def rf_sizes(rf: RF | None) -> list[int | None] | None:
    """Receptive-field size per axis (None: the whole input), or None without a spatial field."""
    return None if rf is None else [a.size for a in rf.axes]


@dataclass(frozen=True)
class LayerDiff:
    """One layer matched by name: its old row, its new row, or both."""

    name: str
    old: LayerRow | None
    new: LayerRow | None

    @cached_property
    def status(self) -> LayerStatus:
        """added, removed, changed or unchanged."""
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        same = (self.old.type == self.new.type and self.old.output_shape == self.new.output_shape
                and rf_sizes(self.old.rf) == rf_sizes(self.new.rf)
                and all(getattr(self.old, a) == getattr(self.new, a) for a in LAYER_FIGURES.values()))
        return "unchanged" if same else "changed"

    def change(self, figure: str) -> Change:
        """Old and new value of a per-layer figure (0 on the side where the layer is absent)."""
        attr = LAYER_FIGURES[figure]
        return Change(getattr(self.old, attr) if self.old else 0, getattr(self.new, attr) if self.new else 0)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""

        def side(row: LayerRow | None) -> dict[str, Any] | None:
            if row is None:
                return None
            return {"index": row.index, "type": row.type, "output_shape": list(row.output_shape),
                    "receptive_field": rf_sizes(row.rf),
                    **{fig: getattr(row, attr) for fig, attr in LAYER_FIGURES.items()}}

        return {
            "name": self.name,
            "status": self.status,
            "old": side(self.old),
            "new": side(self.new),
            "delta": {fig: self.change(fig).delta for fig in LAYER_FIGURES},
        }


@dataclass(frozen=True)
class Gate:
    """``--fail-above``: the growth threshold in percent, the figures it watches, those that grew beyond it."""

    threshold: Fraction
    figures: tuple[str, ...]
    exceeded: tuple[str, ...]


@dataclass(frozen=True)
class Diff:
    """Two analyses compared: per-layer rows and total changes."""

    old: Report
    new: Report
    layers: tuple[LayerDiff, ...]

    @property
    def totals(self) -> dict[str, Change]:
        """Old and new value of each total figure."""
        return {fig: Change(getattr(self.old.totals, attr), getattr(self.new.totals, attr))
                for fig, attr in TOTAL_FIGURES.items()}

    def summary(self) -> dict[str, int]:
        """Number of layers added, removed, changed and unchanged."""
        counts = dict.fromkeys(("added", "removed", "changed", "unchanged"), 0)
        for d in self.layers:
            counts[d.status] += 1
        return counts

    def gate(self, threshold: Fraction, figures: tuple[str, ...] = tuple(TOTAL_FIGURES)) -> Gate:
        """Which of ``figures`` grew by more than ``threshold`` percent."""
        totals = self.totals
        return Gate(threshold, figures, tuple(f for f in figures if totals[f].grows_beyond(threshold)))

    def to_dict(self, gate: Gate | None = None) -> dict[str, Any]:
        """The documented JSON object of ``cnncalc diff``."""
        return {
            "schema_version": SCHEMA_VERSION,
            # the network part alone: a report's full dict holds every layer
            "old": replace(self.old, layers=(), memory=None).to_dict()["network"],
            "new": replace(self.new, layers=(), memory=None).to_dict()["network"],
            "totals": {
                **{fig: c.to_dict() for fig, c in self.totals.items()},
                "receptive_field": {"old": rf_sizes(self.old.totals.receptive_field),
                                    "new": rf_sizes(self.new.totals.receptive_field)},
                "outputs": {side: [{"name": name, "shape": list(shape)} for name, shape in report.totals.outputs]
                            for side, report in (("old", self.old), ("new", self.new))},
            },
            "summary": self.summary(),
            "layers": [d.to_dict() for d in self.layers],
            "fail_above": None if gate is None else {
                "percent": float(gate.threshold), "figures": list(gate.figures), "exceeded": list(gate.exceeded),
            },
        }


def compare(old: Report, new: Report) -> Diff:
    """Match the layers of two analyses by name and compare them."""
    old_rows = {r.name: r for r in old.layers}
    new_rows = {r.name: r for r in new.layers}
    old_names, new_names = list(old_rows), list(new_rows)
    rows: list[LayerDiff] = []
    for i1, i2, j1, j2 in _opcodes(old_names, new_names):
        # a name on both sides but out of order is listed once, where it stands in the new network
        rows += [LayerDiff(n, old_rows[n], None) for n in old_names[i1:i2] if n not in new_rows]
        rows += [LayerDiff(n, old_rows.get(n), new_rows[n]) for n in new_names[j1:j2]]
    return Diff(old, new, tuple(rows))


def matching_blocks(a: list[str], b: list[str]) -> list[tuple[int, int, int]]:
    """``difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks()`` for distinct items.

    difflib finds the longest common run in a window (the earliest in ``a`` on ties) and recurses
    on both sides of it, which takes time quadratic in the number of layers when many layers
    move. With distinct items (layer names) each maximal run is found in one pass, and the
    recursion keeps exactly the runs that, taken longest first (earliest in ``a`` on ties), lie
    wholly before or after every run kept so far in both sequences: O(n log n).
    ``tests/test_scale.py`` holds this to difflib.
    """
    where = {x: j for j, x in enumerate(b)}
    runs: list[tuple[int, int, int]] = []
    i, n, m = 0, len(a), len(b)
    while i < n:
        j = where.get(a[i])
        if j is None:
            i += 1
            continue
        k = 1
        while i + k < n and j + k < m and b[j + k] == a[i + k]:
            k += 1
        runs.append((i, j, k))
        i += k
    # the runs kept form a chain, increasing in both sequences: a candidate fits when it fits
    # between its neighbours in the chain, found by counting in a Fenwick tree over run positions
    size = len(runs)
    tree = [0] * (size + 1)
    top = 1 << size.bit_length()

    def below(r: int) -> int:  # how many kept runs come before run r
        c = 0
        while r > 0:
            c += tree[r]
            r -= r & -r
        return c

    def nth(c: int) -> int:  # position of the c-th kept run (c ≥ 1)
        pos, step = 0, top
        while step:
            if pos + step <= size and tree[pos + step] < c:
                pos += step
                c -= tree[pos]
            step >>= 1
        return pos

    taken = [False] * size
    kept = 0
    for r in sorted(range(size), key=lambda r: (-runs[r][2], runs[r][0])):
        _, j, k = runs[r]
        c = below(r)
        if c:
            _, pj, pk = runs[nth(c)]
            if pj + pk > j:
                continue
        if c < kept and j + k > runs[nth(c + 1)][1]:
            continue
        taken[r] = True
        kept += 1
        x = r + 1
        while x <= size:
            tree[x] += 1
            x += x & -x
    chosen = [run for run, t in zip(runs, taken) if t]
    return [*chosen, (n, m, 0)]


def _opcodes(a: list[str], b: list[str]) -> list[tuple[int, int, int, int]]:
    """The ranges of ``difflib.SequenceMatcher.get_opcodes()`` (without tags), from :func:`matching_blocks`."""
    out = []
    i = j = 0
    for ai, bj, k in matching_blocks(a, b):
        if i < ai or j < bj:
            out.append((i, ai, j, bj))
        i, j = ai + k, bj + k
        if k:
            out.append((ai, i, bj, j))
    return out


def parse_gate(fail_above: str | None, fail_on: tuple[str, ...] = ()) -> tuple[Fraction, tuple[str, ...]] | None:
    """``--fail-above 5%`` and ``--fail-on`` figures as (threshold, figures); None without a threshold."""
    if fail_above is None:
        if fail_on:
            raise OptionError("--fail-on needs --fail-above, e.g. --fail-above 5%")
        return None
    try:
        threshold = units.parse_percent(fail_above)
    except ValueError as e:
        raise OptionError(f"--fail-above: {e}") from None
    for f in fail_on:
        if f not in TOTAL_FIGURES:
            raise OptionError(f"--fail-on: unknown total '{f}'{suggest(f, TOTAL_FIGURES)}; "
                              f"choose from {', '.join(TOTAL_FIGURES)}")
    return threshold, tuple(dict.fromkeys(fail_on)) or tuple(TOTAL_FIGURES)
