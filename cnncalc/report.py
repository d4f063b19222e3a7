"""The result objects of every command, each with ``to_dict`` for JSON. Pure: no I/O, no computation
beyond summing and comparing what the computations produced.

- an analysis (``report``): :class:`Report`, one :class:`LayerRow` per layer and the :class:`Totals`;
- memory (:mod:`cnncalc.memory`): :class:`MemoryEstimate` with a :class:`LayerMemory` per layer, and
  the largest batch that fits, :class:`Fit`;
- budgets (:mod:`cnncalc.budgets`, ``check``): a :class:`CheckResult` of :class:`NetworkCheck` entries,
  each with an :class:`Outcome` per :class:`Limit`;
- a comparison (:mod:`cnncalc.diff`): :class:`Diff`, a :class:`LayerDiff` per layer, a :class:`Change`
  per figure, and the :class:`Gate` of ``--fail-above``;
- a sweep (:mod:`cnncalc.sweep`): :class:`Sweep`, one :class:`SweepRow` per input shape and batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from typing import Any, Literal

from . import units
from .constants import DEFAULT_BATCH, DEFAULT_DTYPE, DEFAULT_OPTIMIZER, DTYPE_BYTES
from .errors import OptionError, Problem
from .layers import RF, AxisRF, Shape
from .limits import LimitKind

SCHEMA_VERSION = 1


def _num(x: Fraction) -> int | float:
    return int(x) if x.denominator == 1 else float(x)


def axis_dict(a: AxisRF) -> dict[str, Any]:
    """One axis of a receptive field; ``size`` (the largest over the output units) null means the whole input."""
    return {"size": a.size, "size_min": a.size_min, "size_max": a.size, "jump": _num(a.jump), "start": _num(a.start)}


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
    #: number of layers the row stands for: 1, or the size of a group collapsed by ``--depth``
    count: int = 1
    #: paths of different jump meet here (the field shown is the largest)
    jumps_meet: bool = False
    #: parameters that get no gradient (``requires_grad_(False)``); ``params`` counts them too
    non_trainable_params: int = 0
    #: the layer (for a group: every layer in it) is frozen
    frozen: bool = False

    @property
    def trainable_params(self) -> int:
        """Parameters that get a gradient, as ``sum(p.numel() for p in parameters() if p.requires_grad)``."""
        return self.params - self.non_trainable_params

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with raw integers (``render`` writes its JSON text directly: keep both alike)."""
        return {
            "index": self.index,
            "name": self.name,
            "type": self.type,
            "layer_count": self.count,
            "inputs": list(self.inputs),
            "input_shapes": [list(s) for s in self.input_shapes],
            "output_shape": list(self.output_shape),
            "params": self.params,
            "trainable_params": self.trainable_params,
            "frozen": self.frozen,
            "buffers": self.buffers,
            "macs": self.macs,
            "flops": self.flops,
            "receptive_field": rf_dict(self.rf),
            "jumps_meet": self.jumps_meet,
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
    #: every output the network returns, in order: (name, shape); ``output_shape`` is the first's
    outputs: tuple[tuple[str, Shape], ...] = ()
    #: frozen parameters (no gradient); ``params`` counts them too, as ``Module.parameters()`` does
    non_trainable_params: int = 0

    @property
    def trainable_params(self) -> int:
        """Parameters that get a gradient and optimizer state."""
        return self.params - self.non_trainable_params

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with raw integers."""
        return {
            "params": self.params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
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
            "outputs": [{"name": name, "shape": list(shape)} for name, shape in self.outputs],
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
    #: groups of layers by name: (what the group is, e.g. ``bottleneck``, and its output layer)
    groups: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: The counting convention of the MACs and FLOPs (None: cnncalc's own).
    convention: str | None = None
    #: what does not stop the analysis but changes its meaning (a branch that reaches no output)
    warnings: tuple[Problem, ...] = ()

    def collapse(self, depth: int) -> Report:
        """The report with every row deeper than ``depth`` name components merged into one row per
        group, carrying the group's sums and its output's shape and field (torchinfo's depth)."""
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise OptionError(f"depth must be a positive integer, got {depth!r}")
        shown: dict[str, str] = {}  # layer name -> name of the row that shows it
        members: dict[str, list[LayerRow]] = {}
        for row in self.layers:
            key = ".".join(row.name.split(".")[:depth])
            shown[row.name] = key
            members.setdefault(key, []).append(row)
        rows = []
        for key, group in members.items():
            if len(group) == 1 and group[0].name == key:
                row = group[0]
                rows.append(replace(row, inputs=tuple(shown.get(i, i) for i in row.inputs)))
                continue
            rows.append(self._group_row(key, group, shown))
        memory = None if self.memory is None else self.memory.grouped(shown)
        return replace(self, layers=tuple(rows), memory=memory)

    def _group_row(self, key: str, group: list[LayerRow], shown: dict[str, str]) -> LayerRow:
        """One row for the layers of group ``key``: sums, the inputs from outside, the output's shape and field."""
        kind, out_name = self.groups.get(key, ("group", group[-1].name))
        out = next((r for r in group if r.name == out_name), group[-1])
        inside = {r.name for r in group}
        outside: dict[str, Shape] = {}
        for r in group:
            for name, shape in zip(r.inputs, r.input_shapes):
                if name not in inside:
                    outside.setdefault(shown.get(name, name), shape)
        count = sum(r.count for r in group)
        return LayerRow(
            index=group[0].index,
            name=key,
            type=kind,
            label=f"({count} layers)",
            inputs=tuple(outside),
            input_shapes=tuple(outside.values()),
            output_shape=out.output_shape,
            params=sum(r.params for r in group),
            buffers=sum(r.buffers for r in group),
            macs=sum(r.macs for r in group),
            flops=sum(r.flops for r in group),
            rf=out.rf,
            output_elements=sum(r.output_elements for r in group),
            output_bytes=sum(r.output_bytes for r in group),
            count=count,
            jumps_meet=any(r.jumps_meet for r in group),
            non_trainable_params=sum(r.non_trainable_params for r in group),
            frozen=all(r.frozen for r in group),
        )

    def __repr__(self) -> str:
        """One line: the network, the input and the headline totals (the rows are in ``layers``)."""
        from .render import format_count

        t = self.totals
        return (f"<Report {self.network!r} input {list(self.input_shape)} {self.dtype} batch {self.batch}: "
                f"{len(self.layers)} layers, {format_count(t.params)} params, {format_count(t.macs)} MACs>")

    def __str__(self) -> str:
        """The table ``cnncalc report`` prints, 120 columns wide, without colour."""
        from .render import render_table

        return render_table(self, width=120, color=False)

    def __rich__(self) -> Any:
        """The table ``cnncalc report`` prints, for ``rich.print`` and rich consoles, at the console's width."""
        from .render import RichReport

        return RichReport(self)

    def _repr_html_(self) -> str:
        """The HTML report as a fragment for a notebook cell (scoped styles and ids: several fit on a page)."""
        from .render_html import render_html_fragment

        return render_html_fragment(self)

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object (``schema_version``, ``network``, ``layers``, ``totals``, ``memory``)."""
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "network": {
                "name": self.network,
                "source": self.source,
                "input_shape": list(self.input_shape),
                "dtype": self.dtype,
                "dtype_bytes": DTYPE_BYTES[self.dtype],
                "batch": self.batch,
            },
            "layers": list(self.layer_dicts()),
            "totals": self.totals.to_dict(),
            "warnings": [{"message": w.message, "layer": w.layer, "type": w.layer_type, "file": w.file,
                          "line": w.line, "column": w.column} for w in self.warnings],
        }
        if self.memory is not None:
            out["memory"] = self.memory.to_dict()
        if self.convention is not None:
            out["network"]["convention"] = self.convention
        return out

    def layer_dicts(self) -> Iterator[dict[str, Any]]:
        """The entries of ``layers`` in :meth:`to_dict`, one at a time (with the layer's memory figures)."""
        memory = None if self.memory is None else self.memory.by_name()
        for row in self.layers:
            out = row.to_dict()
            if memory is not None:
                out["memory"] = memory[row.name].to_dict()
            yield out


# ---------------------------------------------------------------------------------------------
# memory (cnncalc.memory)


#: The per-layer figures a group of layers adds up.
_SUMMED = ("output_bytes", "saved_bytes", "peak_bytes", "read_bytes", "write_bytes", "flops")


@dataclass(frozen=True, slots=True)
class LayerMemory:
    """Memory figures of one layer at the estimate's batch size."""

    index: int
    name: str
    output_bytes: int
    saved_bytes: int
    peak_bytes: int
    read_bytes: int
    write_bytes: int
    flops: int

    @property
    def intensity(self) -> float | None:
        """Arithmetic intensity: FLOPs per byte read or written (None when no bytes move)."""
        moved = self.read_bytes + self.write_bytes
        return self.flops / moved if moved else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            "output_bytes": self.output_bytes,
            "saved_bytes": self.saved_bytes,
            "training_peak_bytes": self.peak_bytes,
            "read_bytes": self.read_bytes,
            "write_bytes": self.write_bytes,
            "arithmetic_intensity": self.intensity,
        }


@dataclass(frozen=True)
class MemoryEstimate:
    """Training and inference memory of a network at one batch size, dtype and optimizer."""

    batch: int
    dtype: str
    amp: bool
    optimizer: str
    layers: tuple[LayerMemory, ...]
    weights: int
    gradients: int
    optimizer_state: int
    saved: int
    input: int
    overhead: int
    inference_activations: int
    inference_peak: int
    training_peak: int | None
    training_moment: str | None
    training_breakdown: tuple[tuple[str, int], ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of the totals (the per-layer figures go with the layer rows)."""
        return {
            "batch": self.batch,
            "dtype": self.dtype,
            "amp": self.amp,
            "optimizer": self.optimizer,
            "weights_bytes": self.weights,
            "gradients_bytes": self.gradients,
            "optimizer_state_bytes": self.optimizer_state,
            "saved_activations_bytes": self.saved,
            "input_bytes": self.input,
            "library_workspace_bytes": self.overhead,
            "inference_activations_bytes": self.inference_activations,
            "inference_peak_bytes": self.inference_peak,
            "training_peak_bytes": self.training_peak,
            "training_peak_at": self.training_moment,
            "training_peak_breakdown": dict(self.training_breakdown),
        }

    def by_name(self) -> dict[str, LayerMemory]:
        """The per-layer figures by layer (or group) name."""
        return {row.name: row for row in self.layers}

    def grouped(self, shown: dict[str, str]) -> MemoryEstimate:
        """One row per group of layers (``shown``: layer name → its group's name), with the group's sums."""
        groups: dict[str, list[LayerMemory]] = {}
        for row in self.layers:
            groups.setdefault(shown.get(row.name, row.name), []).append(row)
        rows = tuple(
            LayerMemory(g[0].index, key, *(sum(getattr(r, f) for r in g) for f in _SUMMED))
            for key, g in groups.items()
        )
        return replace(self, layers=rows)


@dataclass(frozen=True)
class Fit:
    """The largest batch that fits in a memory budget, for training and for inference."""

    budget: int
    dtype: str
    amp: bool
    optimizer: str
    training_batch: int | None
    training_bytes: int | None
    inference_batch: int
    inference_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (batch 0: not even one sample fits; null: no training)."""
        return {
            "budget_bytes": self.budget,
            "dtype": self.dtype,
            "amp": self.amp,
            "optimizer": self.optimizer,
            "training_batch": self.training_batch,
            "training_bytes": self.training_bytes,
            "inference_batch": self.inference_batch,
            "inference_bytes": self.inference_bytes,
        }


# ---------------------------------------------------------------------------------------------
# budgets (cnncalc.budgets)


Status = Literal["pass", "fail", "error"]
#: A network's verdict: its limits' worst status, or ``skip`` when it has no limit to check.
NetworkStatus = Literal["pass", "fail", "error", "skip"]
Origin = Literal["flag", "network", "budgets"]


@dataclass(frozen=True)
class Settings:
    """What a network is analysed at for its memory limits."""

    batch: int = DEFAULT_BATCH
    dtype: str = DEFAULT_DTYPE
    optimizer: str = DEFAULT_OPTIMIZER


@dataclass(frozen=True)
class LimitSource:
    """Where a limit was set: a flag, the network file or a budgets file (with its line)."""

    origin: Origin
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Limit:
    """One limit to check: its kind, its value and where it was set."""

    metric: LimitKind
    value: units.Quantity
    source: LimitSource


@dataclass(frozen=True)
class Outcome:
    """A limit checked: the measured figure (None: unbounded, the whole input) and the verdict."""

    limit: Limit
    actual: int | None
    status: Status
    message: str | None = None

    @property
    def headroom(self) -> Fraction | None:
        """Share of the limit left, in percent: (limit − actual)/limit·100 for a maximum,
        (actual − limit)/limit·100 for a minimum; negative when exceeded; None when undefined."""
        limit = self.limit.value.value
        if self.actual is None or limit == 0:
            return None
        spare = limit - self.actual if self.limit.metric.bound == "max" else self.actual - limit
        return Fraction(spare * 100, limit)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with raw integers."""
        m, headroom = self.limit.metric, self.headroom
        return {
            "limit": m.limit,
            "figure": m.figure,
            "bound": m.bound,
            "unit": m.kind,
            "value": self.limit.value.value,
            "text": self.limit.value.text,
            "source": {"origin": self.limit.source.origin, "file": self.limit.source.file,
                       "line": self.limit.source.line},
            "actual": self.actual,
            "headroom_percent": None if headroom is None else float(headroom),
            "status": self.status,
            "message": self.message,
        }


def _status(statuses: Sequence[str]) -> Status:
    return "error" if "error" in statuses else "fail" if "fail" in statuses else "pass"


@dataclass(frozen=True)
class NetworkCheck:
    """One file checked: every limit of its network, or the problems that kept it from being checked.

    ``problems`` is non-empty for a file that could not be read, validated or analysed (its
    ``name`` is then the file as given, and ``settings`` None); ``note`` says why a network
    without limits was not checked.
    """

    name: str
    file: str | None
    line: int
    settings: Settings | None
    outcomes: tuple[Outcome, ...]
    problems: tuple[Problem, ...] = ()
    note: str | None = None
    #: what the network's build warns about (a branch that reaches no output), for stderr
    warnings: tuple[Problem, ...] = ()

    @classmethod
    def invalid(cls, file: str, problems: Sequence[Problem]) -> NetworkCheck:
        """The entry of a file that could not be checked, with its located problems."""
        first = next((p for p in problems if p.line is not None), None)
        return cls(file, file, first.line if first and first.line else 1, None, (), tuple(problems))

    @property
    def status(self) -> NetworkStatus:
        """``error`` if the file is invalid or a limit could not be checked, else ``fail`` if a limit is
        not met, else ``pass``; ``skip`` when there is no limit to check."""
        if self.problems:
            return "error"
        if not self.outcomes:
            return "skip"
        return _status([o.status for o in self.outcomes])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        s = self.settings
        return {
            "name": None if self.problems else self.name,
            "file": self.file,
            "batch": None if s is None else s.batch,
            "dtype": None if s is None else s.dtype,
            "optimizer": None if s is None else s.optimizer,
            "status": self.status,
            "limits": [o.to_dict() for o in self.outcomes],
            "problems": [{"message": p.message, "file": p.file, "line": p.line, "column": p.column,
                          "layer": p.layer, "layer_type": p.layer_type, "text": p.format()}
                         for p in self.problems],
            "note": self.note,
        }


#: Exit code of each status; 2 wins over 1, which wins over 0.
CHECK_EXIT_CODES: dict[NetworkStatus, int] = {"skip": 0, "pass": 0, "fail": 1, "error": 2}


@dataclass(frozen=True)
class CheckResult:
    """The check of all files; ``exit_code`` is 2 (one invalid or unchecked), else 1 (one not met), else 0."""

    networks: tuple[NetworkCheck, ...]

    @property
    def outcomes(self) -> list[tuple[NetworkCheck, Outcome]]:
        """(network, outcome) for every limit, in order."""
        return [(n, o) for n in self.networks for o in n.outcomes]

    @property
    def invalid(self) -> list[NetworkCheck]:
        """The entries of files that could not be checked."""
        return [n for n in self.networks if n.problems]

    @property
    def skipped(self) -> list[NetworkCheck]:
        """The networks that have no limit to check."""
        return [n for n in self.networks if n.status == "skip"]

    @property
    def status(self) -> NetworkStatus:
        """The worst status of any entry (``error`` > ``fail`` > ``pass``); ``skip`` when nothing was checked."""
        checked = [n.status for n in self.networks if n.status != "skip"]
        return _status(checked) if checked else "skip"

    @property
    def exit_code(self) -> int:
        """2 when a file is invalid or a limit cannot be checked, else 1 when a limit is not met, else 0."""
        return CHECK_EXIT_CODES[self.status]

    def count(self, status: Status) -> int:
        """Number of limits with ``status``."""
        return sum(1 for _, o in self.outcomes if o.status == status)

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object of ``cnncalc check``."""
        return {
            "schema_version": SCHEMA_VERSION,
            "status": self.status,
            "summary": {
                "networks": len(self.networks),
                "limits": len(self.outcomes),
                "passed": self.count("pass"),
                "failed": self.count("fail"),
                "errors": self.count("error"),
                "invalid": len(self.invalid),
                "skipped": len(self.skipped),
            },
            "networks": [n.to_dict() for n in self.networks],
        }


# ---------------------------------------------------------------------------------------------
# comparisons (cnncalc.diff)


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


# ---------------------------------------------------------------------------------------------
# sweeps (cnncalc.sweep)


@dataclass(frozen=True)
class SweepRow:
    """The totals and memory of the network at one input shape and batch size."""

    input_shape: Shape
    batch: int
    totals: Totals
    memory: MemoryEstimate | None

    def to_dict(self) -> dict[str, Any]:
        """The input shape, the batch, and the report's ``totals`` and ``memory`` objects."""
        return {
            "input_shape": list(self.input_shape),
            "batch": self.batch,
            "totals": self.totals.to_dict(),
            "memory": None if self.memory is None else self.memory.to_dict(),
        }


@dataclass(frozen=True)
class Sweep:
    """A network's totals for every combination of input shape and batch size, input-major."""

    network: str
    source: str | None
    dtype: str
    optimizer: str
    amp: bool
    rows: tuple[SweepRow, ...]

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object (``schema_version``, ``network``, ``rows``)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "network": {
                "name": self.network,
                "source": self.source,
                "dtype": self.dtype,
                "dtype_bytes": DTYPE_BYTES[self.dtype],
                "optimizer": self.optimizer,
                "amp": self.amp,
            },
            "rows": [row.to_dict() for row in self.rows],
        }
