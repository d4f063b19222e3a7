"""Where the cost sits: each layer's share of a metric, the heaviest layers first, and a summary.

A layer's share of a metric is its value over the network's total: MACs over total MACs,
trainable params over total params, output bytes over the summed activation memory. The summary
groups layers by the first component of their name (``layer3.2.conv1`` → ``layer3``); when one
group holds 90% or more and has several sub-groups, it looks one level deeper, so that a network
wrapped in one ``features`` block still says which part of it is heavy. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .errors import OptionError
from .report import LayerRow, Report

#: metric → (how it reads in a sentence, the value of a row, the total of a report)
METRICS: dict[str, tuple[str, Callable[[LayerRow], int], Callable[[Report], int]]] = {
    "macs": ("MACs", lambda r: r.macs, lambda rep: rep.totals.macs),
    "params": ("params", lambda r: r.params, lambda rep: rep.totals.params),
    "memory": ("activation memory", lambda r: r.output_bytes, lambda rep: rep.totals.activation_bytes),
}

#: Share above which a single group is split into its sub-groups.
DESCEND = 0.9


def _metric(metric: str) -> tuple[str, Callable[[LayerRow], int], Callable[[Report], int]]:
    if metric not in METRICS:
        raise OptionError(f"unknown metric '{metric}' (choose from {', '.join(METRICS)})")
    return METRICS[metric]


def shares(report: Report, metric: str, rows: Sequence[LayerRow] | None = None) -> list[float]:
    """The share of the metric's total of each row (all layers by default); 0 when the total is 0."""
    _, value, total = _metric(metric)
    whole = total(report)
    return [value(r) / whole if whole else 0.0 for r in (report.layers if rows is None else rows)]


def select(report: Report, sort: str | None = None, top: int | None = None) -> tuple[LayerRow, ...]:
    """The rows, heaviest first by ``sort`` (stable: ties keep network order), cut to ``top``."""
    rows = list(report.layers)
    if sort is not None:
        _, value, _ = _metric(sort)
        rows.sort(key=value, reverse=True)
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise OptionError(f"--top must be a positive integer, got {top!r}")
        rows = rows[:top]
    return tuple(rows)


@dataclass(frozen=True)
class Hotspot:
    """The group of layers holding the largest share of one metric."""

    metric: str
    share: float
    group: str
    layers: int
    where: str

    def sentence(self) -> str:
        """``73% of MACs in layer3 (18 layers)``."""
        return f"{self.share:.0%} of {METRICS[self.metric][0]} in {self.where}"


def _ordinal(i: int, n: int) -> str:
    if n == 1:
        return "the"
    if i == n - 1:
        return "the last"
    return "the " + ({0: "first", 1: "second", 2: "third"}.get(i) or f"{i + 1}th")


def _where(report: Report, group: str, members: list[LayerRow]) -> str:
    """``layer3 (18 layers)``, or for one layer ``fc6 (the first linear layer)``."""
    if len(members) > 1:
        return f"{group} ({len(members)} layers)"
    row = members[0]
    same = [r.name for r in report.layers if r.type == row.type]
    return f"{row.name} ({_ordinal(same.index(row.name), len(same))} {row.type} layer)"


def hotspot(report: Report, metric: str) -> Hotspot | None:
    """The heaviest group for one metric, or None when the network has none of it."""
    _, value, total = _metric(metric)
    whole = total(report)
    if not whole:
        return None
    depth = 1
    rows = list(report.layers)
    prefix = ""
    while True:
        groups: dict[str, list[LayerRow]] = {}
        for r in rows:
            parts = r.name.split(".")
            groups.setdefault(".".join(parts[:depth]), []).append(r)
        best, members = max(groups.items(), key=lambda kv: sum(value(r) for r in kv[1]))
        share = sum(value(r) for r in members) / whole
        deeper = {".".join(r.name.split(".")[: depth + 1]) for r in members}
        if share >= DESCEND and len(deeper) > 1 and best != prefix:
            rows, prefix, depth = members, best, depth + 1
            continue
        return Hotspot(metric, share, best, len(members), _where(report, best, members))


def summary(report: Report) -> str:
    """One line naming where the MACs, params and activation memory sit."""
    found = [h for m in METRICS if (h := hotspot(report, m)) is not None]
    return "; ".join(h.sentence() for h in found)
