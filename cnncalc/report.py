"""The result objects of an analysis: one row per layer, totals, and ``to_dict`` for JSON."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .errors import OptionError, Problem
from .formatting import format_count
from .layers import RF, AxisRF, Shape

if TYPE_CHECKING:  # pragma: no cover
    from .memory import MemoryEstimate

SCHEMA_VERSION = 1

#: Bytes per element of each supported dtype.
DTYPE_BYTES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}


def _num(x: Fraction) -> int | float:
    return int(x) if x.denominator == 1 else float(x)


def axis_dict(a: AxisRF) -> dict[str, Any]:
    """One axis of a receptive field; ``size`` (the largest over the output units) null means the whole input."""
    return {"size": a.size, "size_min": a.size_min, "size_max": a.size, "jump": _num(a.jump), "start": _num(a.start)}


@dataclass(frozen=True, slots=True)
class Field:
    """One entry of an object's JSON form: its key, the attribute it reads, and how the value becomes JSON data.

    ``convert`` turns the value into JSON data (None: it is a JSON scalar already); ``fields``
    instead writes the value as an object of its own (null when the value is None).
    """

    key: str
    attr: str
    convert: Callable[[Any], Any] | None = None
    fields: tuple[Field, ...] | None = None


def json_data(obj: Any, fields: tuple[Field, ...]) -> dict[str, Any]:
    """``obj`` as JSON data: one entry per field, in order."""
    out: dict[str, Any] = {}
    for f in fields:
        value = getattr(obj, f.attr)
        if f.fields is not None:
            out[f.key] = None if value is None else json_data(value, f.fields)
        else:
            out[f.key] = value if f.convert is None else f.convert(value)
    return out


def _axes(axes: tuple[AxisRF, ...] | None) -> list[dict[str, Any]] | None:
    return None if axes is None else [axis_dict(a) for a in axes]


#: A receptive field's JSON object: over all paths, through spatial paths only, and whether jumps were mixed.
RF_FIELDS = (
    Field("whole_input", "is_whole"),
    Field("axes", "axes", _axes),
    Field("local", "local", _axes),
    Field("mixed_jump", "mixed_jump"),
)


def rf_dict(rf: RF) -> dict[str, Any]:
    """Receptive field over all paths, through spatial paths only, and whether jumps were mixed (:data:`RF_FIELDS`)."""
    return json_data(rf, RF_FIELDS)


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
        """Plain JSON-ready dict with raw integers: the entries of :data:`LAYER_FIELDS`, in order."""
        return json_data(self, LAYER_FIELDS)


def _shapes(shapes: tuple[Shape, ...]) -> list[list[int]]:
    return [list(s) for s in shapes]


#: A layer's entry in the JSON report, in order. :meth:`LayerRow.to_dict` and the JSON writer
#: (:mod:`cnncalc.render.json`) both read this table, so a key added here is in both.
LAYER_FIELDS = (
    Field("index", "index"),
    Field("name", "name"),
    Field("type", "type"),
    Field("layer_count", "count"),
    Field("inputs", "inputs", list),
    Field("input_shapes", "input_shapes", _shapes),
    Field("output_shape", "output_shape", list),
    Field("params", "params"),
    Field("trainable_params", "trainable_params"),
    Field("frozen", "frozen"),
    Field("buffers", "buffers"),
    Field("macs", "macs"),
    Field("flops", "flops"),
    Field("receptive_field", "rf", fields=RF_FIELDS),
    Field("jumps_meet", "jumps_meet"),
    Field("output_elements", "output_elements"),
    Field("output_bytes", "output_bytes"),
)


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
        t = self.totals
        return (f"<Report {self.network!r} input {list(self.input_shape)} {self.dtype} batch {self.batch}: "
                f"{len(self.layers)} layers, {format_count(t.params)} params, {format_count(t.macs)} MACs>")

    def __str__(self) -> str:
        """The table ``cnncalc report`` prints, 120 columns wide, without colour (its ``repr`` until
        the renderers are loaded: :func:`cnncalc.analyse` loads them)."""
        return repr(self) if _display is None else _display.text(self)

    def __rich__(self) -> Any:
        """The table ``cnncalc report`` prints, for ``rich.print`` and rich consoles, at the console's width."""
        return str(self) if _display is None else _display.rich(self)

    def _repr_html_(self) -> str | None:
        """The HTML report as a fragment for a notebook cell (scoped styles and ids: several fit on a page)."""
        return None if _display is None else _display.html(self)

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


@dataclass(frozen=True)
class Display:
    """How a report draws itself for ``str()``, rich consoles and notebooks (Jupyter's ``_repr_html_``)."""

    text: Callable[[Report], str]
    rich: Callable[[Report], Any]
    html: Callable[[Report], str]


#: Set by the renderers (:mod:`cnncalc.render.display`): the core asks this hook and never
#: imports them, so that ``cnncalc.report`` loads neither rich nor the HTML page.
_display: Display | None = None


def set_display(display: Display) -> None:
    """Make ``display`` the way every :class:`Report` shows itself."""
    global _display
    _display = display
