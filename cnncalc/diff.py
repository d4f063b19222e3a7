"""Comparing two analyses layer by layer (matched by name) and in total. Pure: no I/O.

Layers are matched by their full name (``features.0``, ``layer1.0.conv1``): a name only in the
old network is ``removed``, only in the new one ``added``; a matched layer is ``changed`` when its
type, output shape or any figure differs. Rows follow the new network's order, with removed
layers where they stood in the old one.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from fractions import Fraction
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

    @property
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
        return {s: sum(1 for d in self.layers if d.status == s) for s in ("added", "removed", "changed", "unchanged")}

    def gate(self, threshold: Fraction, figures: tuple[str, ...] = tuple(TOTAL_FIGURES)) -> Gate:
        """Which of ``figures`` grew by more than ``threshold`` percent."""
        totals = self.totals
        return Gate(threshold, figures, tuple(f for f in figures if totals[f].grows_beyond(threshold)))

    def to_dict(self, gate: Gate | None = None) -> dict[str, Any]:
        """The documented JSON object of ``cnncalc diff``."""
        return {
            "schema_version": SCHEMA_VERSION,
            "old": self.old.to_dict()["network"],
            "new": self.new.to_dict()["network"],
            "totals": {
                **{fig: c.to_dict() for fig, c in self.totals.items()},
                "receptive_field": {"old": rf_sizes(self.old.totals.receptive_field),
                                    "new": rf_sizes(self.new.totals.receptive_field)},
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
    matcher = difflib.SequenceMatcher(a=old_names, b=new_names, autojunk=False)
    for _, i1, i2, j1, j2 in matcher.get_opcodes():
        # a name on both sides but out of order is listed once, where it stands in the new network
        rows += [LayerDiff(n, old_rows[n], None) for n in old_names[i1:i2] if n not in new_rows]
        rows += [LayerDiff(n, old_rows.get(n), new_rows[n]) for n in new_names[j1:j2]]
    return Diff(old, new, tuple(rows))


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
