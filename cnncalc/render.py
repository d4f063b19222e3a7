"""Rendering a :class:`Report` as a rich table, JSON, CSV or Markdown.

``format_*`` functions are pure (value → string). rich is imported only inside
:func:`render_table`, so the machine formats never load it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from itertools import islice
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import TYPE_CHECKING, Any

from . import hotspots
from .columns import LAYER, MEMORY, ColumnSet
from .diff import rf_sizes
from .errors import OptionError, Problem
from .layers import RF, AxisRF, fmt_shape
from .memory import Fit, LayerMemory, MemoryEstimate
from .report import DTYPE_BYTES, LayerRow, Report
from .text import csv_cell, markdown, printable, xml_text

if TYPE_CHECKING:  # pragma: no cover
    from .budgets import CheckResult, Limit, NetworkCheck, Outcome
    from .diff import Change, Diff, Gate, LayerDiff
    from .sweep import Sweep, SweepRow

_SI = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))
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
    return "<1%" if x < 0.005 else f"{x:.0%}"


def format_int(n: int) -> str:
    """Thousands separators: ``431,080``."""
    return f"{n:,}"


def _axes_text(values: list[Any]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "x".join(str(v) for v in values)


def _jump(x: Any) -> str:
    return str(x) if x.denominator == 1 else f"{float(x):.3g}"


def format_rf(rf: RF) -> str:
    """``16`` (all axes), ``7x3`` (per axis) or ``whole`` (the whole input)."""
    if not rf.axes:
        return "whole"
    if rf.is_whole:
        return "whole"
    return _axes_text(["whole" if a.size is None else a.size for a in rf.axes])


def format_rf_least(rf: RF) -> str:
    """The smallest field over the output units, per axis as :func:`format_rf` gives the largest."""
    if not rf.axes or rf.is_whole:
        return "whole"
    return _axes_text(["whole" if a.size is None else a.size_min for a in rf.axes])


def format_jump(rf: RF) -> str:
    """Effective stride of the field, per axis when they differ."""
    if not rf.axes or rf.is_whole:
        return "-"
    return _axes_text([_jump(a.jump) for a in rf.axes if a.size is not None])


def local_rf(rf: RF) -> RF | None:
    """The field through spatial paths only, when it differs from the field over all paths."""
    if rf.local is None or rf.local == rf.axes:
        return None
    return RF(rf.local, rf.local)


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
        text = f"{format_rf(rf)} at most, {format_rf_least(rf)} at least over the output units (jump {format_jump(rf)})"
    local = local_rf(rf)
    if local is not None:
        text += f" over all paths; {format_rf(local)} (jump {format_jump(local)}) through spatial paths only"
    if rf.mixed_jump:
        text += "; paths of different jump meet (the largest field is shown)"
    return f"{text} at {layer}"


def format_inputs(row: LayerRow, previous: LayerRow | None) -> str:
    """The row's inputs, or an empty string when it takes only the previous row (or the input, first)."""
    follows = ("input",) if previous is None else (previous.name,)
    return "" if row.inputs == follows else ", ".join(row.inputs)


def _with_previous(rows: Sequence[LayerRow]) -> list[tuple[LayerRow, LayerRow | None]]:
    return list(zip(rows, (None, *rows[:-1])))


JUMPS_NOTE = "* paths of different jump meet here; the largest field is shown"


# ---------------------------------------------------------------------------------------------
# machine formats


def render_json(report: Report) -> str:
    """The documented JSON object, indented, ending in a newline (as ``json.dumps(..., indent=2)``)."""
    return "".join(iter_json(report))


def iter_json(report: Report) -> Iterator[str]:
    """:func:`render_json` in pieces, one layer at a time: a huge report is never held whole."""
    text = json_text(replace(report, layers=()).to_dict())
    if not report.layers:
        yield text + "\n"
        return
    # a string in JSON never holds a raw newline, so this is the top-level key and nothing else
    head, tail = text.split('\n  "layers": []')
    yield head + '\n  "layers": ['
    sep = "\n    "
    memory = None if report.memory is None else report.memory.by_name()
    memo: dict[Any, str] = {}
    for row in report.layers:
        yield sep + _layer_json(row, None if memory is None else memory[row.name], memo)
        sep = ",\n    "
    yield "\n  ]" + tail + "\n"


# A layer sits two levels deep in the report: its keys at level 3, their contents at level 4.
_L3, _L4 = "\n" + "  " * 3, "\n" + "  " * 4


def _json_num(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else float.__repr__(float(x))


def _axes_json(axes: tuple[AxisRF, ...], nl: str) -> str:
    if not axes:
        return "[]"
    i1, i2 = nl + "  ", nl + "    "
    items = []
    for a in axes:
        size = "null" if a.size is None else str(a.size)
        least = "null" if a.size_min is None else str(a.size_min)
        items.append(f'{{{i2}"size": {size},{i2}"size_min": {least},{i2}"size_max": {size},'
                     f'{i2}"jump": {_json_num(a.jump)},{i2}"start": {_json_num(a.start)}{i1}}}')
    return "[" + i1 + ("," + i1).join(items) + nl + "]"


def _rf_json(rf: RF) -> str:
    """``json_text(rf_dict(rf))`` at a layer's level 3, from the field itself."""
    local = "null" if rf.local is None else _axes_json(rf.local, _L4)
    return (f'{{{_L4}"whole_input": {"true" if rf.is_whole else "false"},{_L4}"axes": {_axes_json(rf.axes, _L4)},'
            f'{_L4}"local": {local},{_L4}"mixed_jump": {"true" if rf.mixed_jump else "false"}{_L3}}}')


def _layer_json(row: LayerRow, mem: LayerMemory | None, memo: dict[Any, str]) -> str:
    """``json_text`` of the layer's entry in ``Report.to_dict()`` (``row.to_dict()`` and its
    ``memory``), written from the row itself without building the dict; shapes repeat from
    layer to layer, and each distinct one is written once (``memo``).

    ``tests/test_fast_paths.py`` holds this to ``json.dumps`` of ``to_dict()`` for every bundled
    network and random ones: a key added to ``LayerRow.to_dict`` must be added here too.
    """
    shapes = memo.get(row.input_shapes)
    if shapes is None:
        shapes = memo[row.input_shapes] = _json_value([list(s) for s in row.input_shapes], _L3)
    out = memo.get(row.output_shape)
    if out is None:
        out = memo[row.output_shape] = _json_value(list(row.output_shape), _L3)
    rf = _rf_json(row.rf)
    text = (
        f'{{{_L3}"index": {row.index:d},{_L3}"name": {encode_basestring_ascii(row.name)},'
        f'{_L3}"type": {encode_basestring_ascii(row.type)},{_L3}"layer_count": {row.count:d},'
        f'{_L3}"inputs": {_json_value(list(row.inputs), _L3)},{_L3}"input_shapes": {shapes},'
        f'{_L3}"output_shape": {out},{_L3}"params": {row.params:d},'
        f'{_L3}"trainable_params": {row.trainable_params:d},{_L3}"frozen": {"true" if row.frozen else "false"},'
        f'{_L3}"buffers": {row.buffers:d},'
        f'{_L3}"macs": {row.macs:d},{_L3}"flops": {row.flops:d},{_L3}"receptive_field": {rf},'
        f'{_L3}"jumps_meet": {"true" if row.jumps_meet else "false"},'
        f'{_L3}"output_elements": {row.output_elements:d},{_L3}"output_bytes": {row.output_bytes:d}'
    )
    if mem is None:
        return text + "\n    }"
    return text + f',{_L3}"memory": {_json_value(mem.to_dict(), _L3)}\n    }}'


def json_text(value: Any, level: int = 0) -> str:
    """``json.dumps(value, indent=2)``, character for character, for plain JSON data (string keys).

    The standard library writes indented JSON with its pure-Python encoder, which was the
    slowest step of a large report; this writes the same text about three times as fast (one
    joined string per container, scalars dispatched on their exact type). ``level`` indents the
    text as if it sat that many levels deep in a larger document.
    """
    return _json_value(value, "\n" + "  " * level)


def _json_float(v: float) -> str:
    if v != v:
        return "NaN"  # json.dumps writes these as JavaScript does
    if v in (math.inf, -math.inf):
        return "Infinity" if v > 0 else "-Infinity"
    return float.__repr__(v)


#: Encoders of the scalar types, by exact type (``bool`` is not ``int`` here).
_SCALARS: dict[type, Any] = {
    str: encode_basestring_ascii,
    int: int.__repr__,
    float: _json_float,
    bool: lambda v: "true" if v else "false",
    type(None): lambda v: "null",
}


def _json_value(v: Any, nl: str) -> str:
    """``v`` as indented JSON, its nested lines starting with ``nl`` plus two spaces."""
    encode = _SCALARS.get(type(v))
    if encode is not None:
        return encode(v)
    inner = nl + "  "
    if isinstance(v, dict):
        if not v:
            return "{}"
        parts = []
        for k, x in v.items():
            if type(k) is not str and not isinstance(k, str):
                raise TypeError(f"keys must be strings, not {type(k).__name__}")
            encode = _SCALARS.get(type(x))
            parts.append(encode_basestring_ascii(k) + ": " + (encode(x) if encode else _json_value(x, inner)))
        return "{" + inner + ("," + inner).join(parts) + nl + "}"
    if isinstance(v, (list, tuple)):
        if not v:
            return "[]"
        return "[" + inner + ("," + inner).join([_json_value(x, inner) for x in v]) + nl + "]"
    # subclasses of the scalar types (an IntEnum, a str subclass) are written as their base type
    for base in (str, bool, int, float):
        if isinstance(v, base):
            return _SCALARS[base](v)
    raise TypeError(f"Object of type {type(v).__name__} is not JSON serializable")


CSV_COLUMNS = [
    "index", "name", "type", "inputs", "input_shape", "output_shape", "params", "buffers",
    "macs", "flops", "rf_size", "rf_jump", "rf_whole", "output_elements", "output_bytes",
    "rf_local", "jumps_meet", "layer_count", "trainable_params", "frozen",
    "batch_output_bytes", "saved_bytes", "training_peak_bytes", "read_bytes", "write_bytes", "flops_per_byte",
]


def _csv_memory(mem: LayerMemory | None) -> list[Any]:
    if mem is None:
        return [""] * 6
    intensity = "" if mem.intensity is None else f"{mem.intensity:.4g}"
    return [mem.output_bytes, mem.saved_bytes, mem.peak_bytes, mem.read_bytes, mem.write_bytes, intensity]


def _csv_row(row: LayerRow) -> list[Any]:
    rf = row.rf
    whole = rf.is_whole or not rf.axes
    # user text goes through csv_cell (a spreadsheet would run "=..." as a formula); numbers stay numbers
    return [
        row.index, csv_cell(row.name), csv_cell(row.type), csv_cell(";".join(row.inputs)),
        ";".join("x".join(map(str, s)) for s in row.input_shapes), "x".join(map(str, row.output_shape)),
        row.params, row.buffers, row.macs, row.flops,
        "" if whole else format_rf(rf), "" if whole else format_jump(rf), "true" if whole else "false",
        row.output_elements, row.output_bytes,
        "" if local_rf(rf) is None else format_rf(local_rf(rf)), "true" if row.jumps_meet else "false", row.count,
        row.trainable_params, "true" if row.frozen else "false",
    ]


class _Rows:
    """A file for :func:`csv.writer` that ends each row with LF where the writer wrote CR LF.

    The writer quotes a cell only for the characters of its line terminator: with LF it writes
    a carriage return in a name bare, and a reader takes it for the end of the row. With CR LF
    it quotes both; the writer writes each row with one call, ending in its terminator.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, row: str) -> None:
        """Keep one row, its CR LF written as LF."""
        self.parts.append(row[:-2] + "\n")


def render_csv(report: Report) -> str:
    """One row per layer with a header; raw integers; shapes as ``16x32x32``."""
    rows = _Rows()
    w = csv.writer(rows, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    memory = report.memory.by_name() if report.memory else {}
    for row in report.layers:
        w.writerow(_csv_row(row) + _csv_memory(memory.get(row.name)))
    return "".join(rows.parts)


def _md_escape(text: str) -> str:
    """User text in a Markdown line or table cell, shown as written (:func:`cnncalc.text.markdown`)."""
    return markdown(text)


def _md_summary(lines: list[tuple[str, str]]) -> list[str]:
    """``- **label**: text`` bullets; the texts quote layer names, so they are escaped."""
    return [f"- **{k}**: {_md_escape(v)}" for k, v in lines]


def render_markdown(report: Report, rows: Sequence[LayerRow] | None = None, *, memory: bool = False) -> str:
    """A per-layer table (``rows``, default every layer) and the totals, for pasting into a pull request.

    ``memory``: the memory columns instead (see :func:`render_memory_table`).
    """
    if memory and report.memory is not None:
        return _markdown_memory(report, report.memory, rows)
    lines = [
        f"### {_md_escape(report.network)}",
        "",
        f"Input {fmt_shape(report.input_shape)}, {report.dtype}, batch {report.batch}."
        + (f" MACs and FLOPs counted as {report.convention} does." if report.convention else ""),
        "",
        "| # | layer | type | from | output | params | MACs | FLOPs | RF | jump | output memory |",
        "|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r, prev in _with_previous(report.layers if rows is None else rows):
        lines.append(
            f"| {r.index} | {_md_escape(r.name)} | {_md_escape(r.type)} | {_md_escape(format_inputs(r, prev))} "
            f"| {fmt_shape(r.output_shape)} | {format_int(r.params)} | {format_int(r.macs)} | {format_int(r.flops)} "
            f"| {format_rf_cell(r.rf, r.jumps_meet)} | {format_jump(r.rf)} | {format_bytes(r.output_bytes)} |"
        )
    lines.append("")
    if any(r.jumps_meet for r in report.layers):
        lines += ["\\" + JUMPS_NOTE, ""]
    lines.extend(_md_summary(totals_lines(report) + memory_lines(report)))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# memory

OPTIMIZER_NAMES = {"none": "no optimizer", "sgd": "SGD", "momentum": "SGD with momentum", "adam": "Adam",
                   "adamw": "AdamW"}
MEMORY_HEADERS = ("#", "layer", "type", "output", "saved", "at peak", "read", "written", "FLOPs/B")


def format_intensity(x: float | None) -> str:
    """Arithmetic intensity in FLOPs per byte: ``61.9``, or ``-`` for a layer that moves no bytes."""
    return "-" if x is None else f"{x:.3g}" if x < 100 else f"{x:,.0f}"


def format_answer(m: MemoryEstimate) -> str:
    """The one-line answer: ``training at batch 32 with Adam needs ≈ 2.94 GiB``."""
    precision = f"{m.dtype} autocast" if m.amp else m.dtype
    if m.training_peak is None:
        return f"inference at batch {m.batch} ({precision}) needs ≈ {format_bytes(m.inference_peak)}"
    return (f"training at batch {m.batch} with {OPTIMIZER_NAMES[m.optimizer]} ({precision}) "
            f"needs ≈ {format_bytes(m.training_peak)}")


def memory_lines(report: Report) -> list[tuple[str, str]]:
    """(label, text) pairs: the one-line answer, what training keeps, inference, and the overhead."""
    m = report.memory
    if m is None:
        return []
    lines = []
    if m.training_peak is not None:
        parts = [f"weights {format_bytes(m.weights)}", f"gradients {format_bytes(m.gradients)}"]
        if m.optimizer_state:
            parts.append(f"optimizer state {format_bytes(m.optimizer_state)}")
        parts.append(f"saved activations {format_bytes(m.saved)}")
        lines += [("Memory", f"{format_answer(m)} (peak during {m.training_moment})"),
                  ("Training keeps", " · ".join(parts))]
    lines += [("Inference", f"batch {m.batch} needs ≈ {format_bytes(m.inference_peak)}: weights "
                            f"{format_bytes(m.weights)}, activations {format_bytes(m.inference_activations)} at their peak"),
              ("Both include", f"the input batch ({format_bytes(m.input)}) and {format_bytes(m.overhead)} of CUDA "
                               "library workspace")]
    return lines


def memory_rows(report: Report, m: MemoryEstimate, rows: Sequence[LayerRow] | None = None) -> list[tuple[str, ...]]:
    """Per-layer memory cells of ``rows`` (default every layer), in the order of :data:`MEMORY_HEADERS`."""
    memory = m.by_name()
    cells = []
    for r in report.layers if rows is None else rows:
        x = memory[r.name]
        cells.append((str(r.index), r.name, r.type + (f" {r.label}" if r.label else ""), format_bytes(x.output_bytes),
                      format_bytes(x.saved_bytes), format_bytes(x.peak_bytes), format_bytes(x.read_bytes),
                      format_bytes(x.write_bytes), format_intensity(x.intensity)))
    return cells


def breakdown_lines(m: MemoryEstimate) -> list[tuple[str, str]]:
    """What is alive at the training peak, by kind, adding up to the peak."""
    if m.training_peak is None:
        return []
    parts = " + ".join(f"{kind} {format_bytes(b)}" for kind, b in m.training_breakdown)
    return [("At the peak", f"{parts} = {format_bytes(m.training_peak)}, during {m.training_moment}")]


def format_fit_line(batch: int | None, used: int | None, budget: int) -> str:
    """``batch 170 fits (needs ≈ 15.97 GiB)``, or that not even one sample fits in ``budget``."""
    if batch is None:
        return "not modelled"
    if batch == 0:
        return f"does not fit: even batch 1 needs more than {format_bytes(budget)}"
    return f"batch {format_int(batch)} fits (needs ≈ {format_bytes(used or 0)})"


def render_fit(network: str, input_shape: tuple[int, ...], fit: Fit) -> str:
    """The answer of ``cnncalc fit`` as plain lines: the budget asked about, then each answer."""
    precision = f"{fit.dtype} autocast" if fit.amp else fit.dtype
    # the first line states the question (the budget), never an answer: the lines below say what fits
    lines = [f"{printable(network)} · input {fmt_shape(input_shape)} · {precision} · "
             f"largest batch in {format_bytes(fit.budget)}"]
    if fit.training_batch is not None:
        lines.append(f"training with {OPTIMIZER_NAMES[fit.optimizer]}: "
                     f"{format_fit_line(fit.training_batch, fit.training_bytes, fit.budget)}")
    lines.append(f"inference: {format_fit_line(fit.inference_batch, fit.inference_bytes, fit.budget)}")
    return "\n".join(lines) + "\n"


def _markdown_memory(report: Report, m: MemoryEstimate, rows: Sequence[LayerRow] | None) -> str:
    lines = [
        f"### {_md_escape(report.network)}: memory",
        "",
        f"Input {fmt_shape(report.input_shape)}, {report.dtype}, batch {report.batch}, "
        f"{OPTIMIZER_NAMES[m.optimizer]}{', autocast' if m.amp else ''}.",
        "",
        "| " + " | ".join(MEMORY_HEADERS) + " |",
        "|---:|---|---|" + "---:|" * (len(MEMORY_HEADERS) - 3),
    ]
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in memory_rows(report, m, rows)]
    lines.append("")
    lines.extend(_md_summary(breakdown_lines(m) + memory_lines(report)))
    return "\n".join(lines) + "\n"


def _exact_and_short(n: int) -> str:
    """``25,557,032 (25.56 M)``; ``520`` alone where the short form says the same."""
    short = format_count(n)
    return format_int(n) if short == str(n) else f"{format_int(n)} ({short})"


def totals_lines(report: Report) -> list[tuple[str, str]]:
    """(label, text) pairs summarising the totals, shared by the table and Markdown."""
    t = report.totals
    others = {"fp32": "fp32", "fp16": "fp16/bf16", "int8": "int8"}
    weights = " · ".join(
        f"{label} {format_bytes((t.params + t.buffers) * DTYPE_BYTES[name])}"
        for name, label in others.items() if DTYPE_BYTES[name] != DTYPE_BYTES[report.dtype]
    )
    return [
        # as PyTorch and torchinfo count them: parameters only, frozen ones non-trainable
        ("Params", f"{_exact_and_short(t.params)}: {format_int(t.trainable_params)} trainable, "
                   f"{format_int(t.non_trainable_params)} non-trainable (frozen)"),
        ("Buffers", f"{_exact_and_short(t.buffers)}: saved with the weights, not trained (e.g. BatchNorm running "
                    "statistics)" if t.buffers else "0"),
        ("Weights", f"{format_int(t.weight_file_bytes)} B ({format_bytes(t.weight_file_bytes)}) as {report.dtype}"
                    f" · {weights}"),
        ("MACs", f"{format_int(t.macs)} ({format_count(t.macs)})"),
        ("FLOPs", f"{format_int(t.flops)} ({format_count(t.flops)})"),
        ("Activations", f"{format_int(t.activation_elements)} values, {format_bytes(t.activation_bytes)} per sample; "
                        f"{format_bytes(t.activation_bytes_batch)} at batch {t.batch}"),
        ("Output", fmt_shape(t.output_shape)) if len(t.outputs) < 2 else
        ("Outputs", " · ".join(f"{printable(name)} {fmt_shape(shape)}" for name, shape in t.outputs)),
        ("Receptive field", format_rf_summary(t.receptive_field, t.receptive_field_layer)),
        ("Hotspots", hotspots.summary(report) or "none"),
    ]


# ---------------------------------------------------------------------------------------------
# the terminal table
#
# A table is laid out once for all its rows and then drawn by rich a chunk of rows at a time:
# one pass measures every column (its natural width, and the widest piece a cell cannot be
# broken in), :func:`_fit` chooses the columns and their widths for the width at hand, and each
# chunk of rows is drawn as a rich table with those fixed widths, its inner edges cut, so that
# the pieces join into one table and memory stays flat however many rows there are.


#: Width of the share bars, in characters.
BAR_WIDTH = 6
#: Rows drawn by one rich table when a table is streamed.
CHUNK_ROWS = 400

_HEADERS = {"index": "#", "name": "layer", "type": "type", "output": "output", "params": "params", "macs": "MACs",
            "flops": "FLOPs", "rf": "RF", "jump": "jump", "memory": "memory", "bar": "%",
            "saved": "saved", "peak": "at peak", "read": "read", "written": "written", "intensity": "FLOPs/B"}
#: Where a cell may be broken across lines: a name after its dots; a type (which lists its
#: inputs' names) after spaces and dots. Every other column is never broken.
_BREAKS = {"name": re.compile(r"[^.]*\.+|[^.]+"), "type": re.compile(r"[^ .]*[ .]+|[^ .]+")}
#: Columns whose text is a count: exact (``25,557,032``) when the table fits, else ``25.56 M``.
_COUNTS = ("params", "macs", "flops")

Cell = Any  # str, or rich.text.Text where a cell carries styles


def _cell_width(text: str) -> int:
    """Terminal cells taken by ``text`` (wide characters take two)."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def _plain(cell: Cell) -> str:
    return cell if isinstance(cell, str) else cell.plain


def break_offsets(text: str, width: int, breaks: re.Pattern[str]) -> list[int]:
    """Where to cut ``text`` into lines of at most ``width`` cells: after a break character
    (``breaks`` matches the pieces that end in one), and inside a piece only when the piece
    alone is wider than ``width`` (it folds). Spaces at the end of a line do not count."""
    from rich.cells import get_character_cell_size

    offsets: list[int] = []
    used = 0  # cells on the current line, its trailing spaces included
    for m in breaks.finditer(text):
        piece = m.group()
        shown = _cell_width(piece.rstrip(" "))
        if used and used + shown > width:
            offsets.append(m.start())
            used = 0
        if shown <= width:
            used += _cell_width(piece)
            continue
        for i, ch in enumerate(piece):
            size = get_character_cell_size(ch)
            if used and used + size > width and ch != " ":
                offsets.append(m.start() + i)
                used = 0
            used += size
    return offsets


def _cell_lines(cell: Cell, width: int, key: str) -> list[Any]:
    """The lines of one cell at ``width``: the cell itself when it fits, else broken at dots (or spaces)."""
    from rich.text import Text

    if _cell_width(_plain(cell)) <= width or key not in _BREAKS:
        return [cell]
    text = Text(cell) if isinstance(cell, str) else cell
    lines = text.divide(break_offsets(text.plain, width, _BREAKS[key]))
    for line in lines:
        line.rstrip()
    return list(lines)


@dataclass
class _Measure:
    """Widths of the columns over every row, at each level of giving way.

    ``natural``: every cell on one line. ``own``: a type without the inputs it lists (they
    wrap). ``least``: broken at dots and spaces, as wide as the widest piece.
    """

    natural: dict[str, int]
    own: dict[str, int]
    least: dict[str, int]


def _measure(keys: Sequence[str], rows: Iterator[tuple[Cell, ...]], head: dict[str, str],
             foot: dict[str, str], pieces: bool = True) -> _Measure:
    """The widths of the columns over ``rows``; the widths of broken cells only with ``pieces``."""
    natural = {k: max(_cell_width(head[k]), _cell_width(foot.get(k, ""))) for k in keys}
    own, least = dict(natural), dict(natural)
    widest = [0] * len(keys)
    breakable = [i for i, k in enumerate(keys) if k in _BREAKS] if pieces else []
    for cells in rows:
        for i, cell in enumerate(cells):
            n = _cell_width(_plain(cell))
            if n > widest[i]:
                widest[i] = n
        for i in breakable:
            key, cell = keys[i], cells[i]
            plain = _plain(cell)
            if not plain:
                continue
            # a type's own text ends where its styled list of inputs begins
            spans = [] if isinstance(cell, str) else cell.spans
            own[key] = max(own[key], _cell_width(plain[:spans[0].start] if spans else plain))
            least[key] = max(least[key], *(_cell_width(p.rstrip(" ")) for p in _BREAKS[key].findall(plain)))
    for k, w in zip(keys, widest):
        natural[k] = max(natural[k], w)
        if k not in _BREAKS:
            own[k] = least[k] = natural[k]
    return _Measure(natural, own, least)


def _overhead(n: int) -> int:
    """Cells of rich's box and padding around ``n`` columns: ``│ a │ b │`` is 3 per column and 1."""
    return 3 * n + 1


def _fit(shown: list[str], m: _Measure, width: int | None, columns: ColumnSet, chosen: bool,
         compact: Callable[[], dict[str, int]]) -> tuple[list[str], dict[str, int], bool]:
    """The columns to show, their widths, and whether counts are abbreviated, for ``width``.

    In order, until the table fits: counts are abbreviated (where that is narrower); a type's
    list of inputs wraps; the minor columns go (``columns.drop_first``); types and then names
    break at dots and spaces; further columns go (``drop_later``); names and types fold. The
    kept columns always stay. Columns the user chose (``chosen``) go only when names cannot
    stay whole otherwise.
    """
    if width is None:
        return shown, {k: m.natural[k] for k in shown}, False
    breaking = ["type:own", "type:least", "name:least"]
    stages = ["compact", *(breaking if chosen else breaking[:1]), *columns.drop_first,
              *([] if chosen else breaking[1:]), *columns.drop_later, "type:fold", "name:fold"]
    cols, short, fixed = list(shown), False, m.natural
    dropped: list[tuple[str, dict[str, dict[str, int]]]] = []
    level = dict.fromkeys(("name", "type"), m.natural)
    folded = {k: _cell_width(_HEADERS[k]) for k in _HEADERS}

    def need() -> int:
        return _overhead(len(cols)) + sum(level[k][k] if k in level else fixed[k] for k in cols)

    for stage in stages:
        if need() <= width:
            break
        if stage == "compact":
            abbreviated = {**m.natural, **compact()}
            # ``431.08 K`` is wider than ``431,080``: abbreviate only when it saves room
            if sum(abbreviated[k] for k in cols) < sum(fixed[k] for k in cols):
                short, fixed = True, abbreviated
        elif ":" in stage:
            key, to = stage.split(":")
            level[key] = {"own": m.own, "least": m.least, "fold": folded}[to]
        elif stage in cols and stage not in columns.kept:
            cols.remove(stage)
            dropped.append((stage, dict(level)))
    for key, then in reversed(dropped):
        # a column dropped early may fit again beside those dropped after it, but not at the cost
        # of breaking names or types more than they were when it went
        if then == level and need() + 3 + fixed[key] <= width:
            cols = [k for k in shown if k in cols or k == key]
    if short and need() - sum(fixed[k] - m.natural[k] for k in cols if k not in level) <= width:
        short, fixed = False, m.natural  # exact counts fit beside the columns that stayed
    flex = [k for k in ("name", "type") if k in cols]
    widths = {k: level[k][k] if k in flex else fixed[k] for k in cols}
    spare = width - need()
    for k in flex:  # room left goes to the name first, then the type, up to their natural widths
        extra = max(0, min(spare, m.natural[k] - widths[k]))
        widths[k] += extra
        spare -= extra
    return cols, widths, short


@dataclass
class _TableSpec:
    """What a streamed table shows: its columns, and its cells and footers with counts exact or abbreviated."""

    keys: tuple[str, ...]
    headers: dict[str, str]
    footers: Callable[[bool], dict[str, str]]
    cells: Callable[[bool], Iterator[tuple[Cell, ...]]]
    justify: dict[str, str]


def _console(width: int, color: bool | None) -> Any:
    from rich.console import Console

    return Console(file=io.StringIO(), width=width, no_color=not color, force_terminal=bool(color),
                   color_system="standard" if color else None, highlight=False, emoji=False, markup=False)


def _captured(console: Any, renderable: Any) -> list[str]:
    """The lines ``console`` prints for ``renderable``, trailing spaces stripped."""
    with console.capture() as capture:
        console.print(renderable)
    return [line.rstrip() for line in capture.get().splitlines()]


def _summary_width(lines: list[tuple[str, str]]) -> int:
    if not lines:
        return 0
    return max(_cell_width(k) for k, _ in lines) + 2 + max(_cell_width(printable(v)) for _, v in lines)


def _iter_table(spec: _TableSpec, *, title: str, width: int | None, color: bool | None, columns: ColumnSet,
                chosen: Sequence[str] | None, summary: list[tuple[str, str]], caption: str | None = None
                ) -> Iterator[str]:
    """The title, the table a chunk of rows at a time, and the summary, as text ending in newlines."""
    from rich.table import Table
    from rich.text import Text

    keys = spec.keys
    unknown = [k for k in chosen or () if k not in keys]
    if unknown or (chosen is not None and "name" not in chosen):
        raise OptionError(f"columns: {', '.join(map(repr, unknown)) or 'name is missing'}; "
                          f"the table has: {', '.join(keys)} (name always among them)")
    # without a width nothing is broken: the pieces of names need no measuring
    measured = _measure(keys, spec.cells(False), spec.headers, spec.footers(False), pieces=width is not None)

    def compact() -> dict[str, int]:
        counts = [k for k in keys if k in _COUNTS]
        found = _measure(keys, spec.cells(True), spec.headers, spec.footers(True), pieces=False).natural
        return {k: found[k] for k in counts}

    shown = list(chosen) if chosen else list(keys)
    cols, widths, short = _fit(shown, measured, width, columns, bool(chosen), compact)
    # a column the user asked for is never left out without a word
    left_out = [k for k in shown if k not in cols] if chosen else []
    table_width = _overhead(len(cols)) + sum(widths.values())
    title_text = Text(printable(title))
    if width is None:  # no wrapping: as wide as the widest part
        width = max(table_width, _cell_width(title_text.plain), _summary_width(summary),
                    _cell_width(caption or ""))
    console = _console(max(width, table_width), color)
    yield "\n".join(_captured(console, title_text)) + "\n"

    index = [keys.index(k) for k in cols]
    footers = spec.footers(short)
    rows = spec.cells(short)
    chunk = list(islice(rows, CHUNK_ROWS))
    first = True
    while True:
        after = list(islice(rows, CHUNK_ROWS))
        last = not after
        # the cells bring their own padding of one space a side (see _justified): rich's padding
        # wraps every cell in one more renderable, a third of the time of a long table
        table = Table(show_header=first, show_footer=last, header_style="bold", footer_style="bold", padding=0)
        for k in cols:
            right = spec.justify[k] == "right"
            head, foot = (_padded(x, widths[k], right) for x in (spec.headers[k], footers.get(k, "")))
            table.add_column(head, footer=foot, style="dim" if k == "index" else None, width=widths[k] + 2,
                             no_wrap=True, overflow="fold")
        if chunk:
            table.add_row(*_chunk_cells(chunk, index, cols, widths, spec.justify, console))
        lines = _captured(console, table)
        # the pieces join into one table: the bottom edge of all but the last, the top of all but the first, go
        lines = lines[0 if first else 1:None if last else -1]
        yield "\n".join(lines) + "\n"
        if last:
            break
        chunk, first = after, False
    tail: list[Any] = []
    if caption:
        tail.append(Text(caption))
    if left_out:
        tail.append(Text(f"Left out to fit {width} columns: {', '.join(left_out)} (a wider terminal shows them, "
                         "and so does output piped without COLUMNS or written with -o)"))
    tail.append(_summary(summary))
    for part in tail:
        yield "\n".join(_captured(console, part)) + "\n"


class _Block:
    """The lines of one column over a chunk of rows, already cut to the column's width and
    justified: rich draws them inside its table as they are (measuring and wrapping each line
    through rich's Text was most of the time of a long table)."""

    def __init__(self, lines: list[list[Any]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        """One line of segments after another."""
        from rich.segment import Segment

        newline = Segment.line()
        for line in self.lines:
            yield from line
            yield newline


def _padded(text: str, width: int, right: bool) -> str:
    """``text`` justified in ``width`` cells, with a space each side."""
    gap = " " * max(0, width - _cell_width(text))
    return f" {gap}{text} " if right else f" {text}{gap} "


def _justified(line: Cell, width: int, right: bool, console: Any) -> list[Any]:
    """One line of a cell as segments ``width`` cells wide and a space each side, its styles kept."""
    from rich.segment import Segment

    if isinstance(line, str) or not (line.spans or line.style):
        return [Segment(_padded(line if isinstance(line, str) else line.plain, width, right))]
    gap = " " * max(0, width - _cell_width(line.plain))
    segments = list(line.render(console))
    return [Segment(" " + gap), *segments, Segment(" ")] if right else [Segment(" "), *segments, Segment(gap + " ")]


def _chunk_cells(chunk: list[tuple[Cell, ...]], index: list[int], cols: list[str], widths: dict[str, int],
                 justify: dict[str, str], console: Any) -> list[_Block]:
    """One block per column holding every row of the chunk, each row as tall as its tallest cell."""
    lines: list[list[list[Any]]] = [[] for _ in cols]
    blank = {k: _justified("", widths[k], False, console) for k in cols}
    right = {k: justify[k] == "right" for k in cols}
    bars: dict[int, list[Any]] = {}  # the bar cells are shared objects (see _bar_cell): drawn once each
    for cells in chunk:
        row = [_cell_lines(cells[i], widths[k], k) if k in _BREAKS else [cells[i]] for i, k in zip(index, cols)]
        height = max(len(c) for c in row)
        for out, k, c in zip(lines, cols, row):
            w, r = widths[k], right[k]
            if k == "bar":
                drawn = bars.get(id(c[0]))
                if drawn is None:
                    drawn = bars[id(c[0])] = _justified(c[0], w, r, console)
                out.append(drawn)
            else:
                out.extend(_justified(x, w, r, console) for x in c)
            if len(c) < height:
                out.extend([blank[k]] * (height - len(c)))
    return [_Block(out) for out in lines]


def _bar_cell(memo: dict[tuple[str, int], Any], share: float) -> Any:
    """``13% ▊`` : the share and a bar of :data:`BAR_WIDTH` cells, drawn by rich once per eighth of a cell."""
    from rich.bar import Bar
    from rich.text import Text

    key = (format_share(share), int(BAR_WIDTH * 8 * share))  # rich's Bar draws in eighths of a cell
    cell = memo.get(key)
    if cell is None:
        drawn = Bar(1.0, 0.0, share, width=BAR_WIDTH, color="magenta", bgcolor="grey23")
        console = _console(BAR_WIDTH, False)
        ink = "".join(s.text for s in console.render(drawn, console.options) if s.text != "\n")
        cell = memo[key] = Text(f"{key[0]:>3} ")
        cell.append(ink, style=drawn.style)
    return cell


def render_table(report: Report, *, width: int | None = None, color: bool | None = None,
                 rows: Sequence[LayerRow] | None = None, bars: str = "macs",
                 columns: Sequence[str] | None = None) -> str:
    """The per-layer rich table with a totals section, as text (ANSI codes only when ``color``).

    See :func:`iter_table` for the arguments.
    """
    return "".join(iter_table(report, width=width, color=color, rows=rows, bars=bars, columns=columns))


def iter_table(report: Report, *, width: int | None = None, color: bool | None = None,
               rows: Sequence[LayerRow] | None = None, bars: str = "macs",
               columns: Sequence[str] | None = None) -> Iterator[str]:
    """:func:`render_table` in pieces, a chunk of rows at a time.

    ``width``: the terminal's columns; the table chooses its columns to fit (``None``: no
    limit, every column at its full width). ``rows`` (default: every layer) are the rows to
    list, e.g. the heaviest first (:func:`hotspots.select`); ``bars`` is the metric whose share
    each row's bar shows; ``columns`` the columns to show (:data:`cnncalc.columns.LAYER`).
    """
    from rich.text import Text

    listed = report.layers if rows is None else tuple(rows)
    title = f"{report.network} · input {fmt_shape(report.input_shape)} · {report.dtype} · batch {report.batch}"
    if report.convention:
        title += f" · counted as {report.convention}"
    if len(listed) < len(report.layers):
        title += f" · {len(listed)} of {len(report.layers)} layers"
    t = report.totals
    memo: dict[tuple[str, int], Any] = {}

    def cells(short: bool) -> Iterator[tuple[Cell, ...]]:
        count = format_count if short else format_int
        previous: LayerRow | None = None
        for r, share in zip(listed, hotspots.shares(report, bars, listed)):
            # a layer whose input is not the row above names its inputs after its type
            kind: Cell = printable(r.type + (f" {r.label}" if r.label else ""))
            source = format_inputs(r, previous)
            if source:
                kind = Text(kind)
                kind.append(f" ← {printable(source)}", style="italic")
            previous = r
            yield (str(r.index), printable(r.name), kind, fmt_shape(r.output_shape), count(r.params), count(r.macs),
                   count(r.flops), format_rf_cell(r.rf, r.jumps_meet), format_jump(r.rf),
                   format_bytes(r.output_bytes), _bar_cell(memo, share))

    def footers(short: bool) -> dict[str, str]:
        count = format_count if short else format_int
        return {"name": "total", "params": count(t.params), "macs": count(t.macs), "flops": count(t.flops),
                "memory": format_bytes(t.activation_bytes)}

    headers = {k: _HEADERS[k] for k in LAYER.names}
    headers["bar"] = f"% {hotspots.METRICS[bars][0].split()[-1]}"
    spec = _TableSpec(LAYER.names, headers, footers, cells,
                      {k: "left" if k in ("name", "type", "bar") else "right" for k in LAYER.names})
    caption = JUMPS_NOTE if any(r.jumps_meet for r in report.layers) else None
    yield from _iter_table(spec, title=title, width=width, color=color, columns=LAYER, chosen=columns,
                           summary=totals_lines(report) + memory_lines(report), caption=caption)


def _summary(lines: list[tuple[str, str]]) -> Any:
    """A two-column grid of (bold label, text); the text is shown literally (control characters escaped)."""
    from rich.table import Table
    from rich.text import Text

    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold", no_wrap=True)
    summary.add_column()
    for label, text in lines:
        summary.add_row(Text(label), Text(printable(text)))
    return summary


#: The console width that stands for "no width": rich lays a table out at its natural width inside it.
UNWRAPPED = 100_000


def _console_text(renderables: list[Any], *, width: int | None, color: bool | None) -> str:
    """Print rich renderables to a string at ``width`` (ANSI codes only when ``color``), lines stripped."""
    from rich.console import Console

    console = Console(
        file=io.StringIO(), width=width or 120, no_color=not color, force_terminal=bool(color),
        color_system="standard" if color else None, highlight=False,
    )
    for r in renderables:
        console.print(r)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def render_memory_table(report: Report, *, width: int | None = None, color: bool | None = None,
                        rows: Sequence[LayerRow] | None = None, columns: Sequence[str] | None = None) -> str:
    """Per-layer memory (output, saved, share of the training peak, traffic) and the peak's breakdown.

    See :func:`iter_memory_table` for the arguments.
    """
    return "".join(iter_memory_table(report, width=width, color=color, rows=rows, columns=columns))


def iter_memory_table(report: Report, *, width: int | None = None, color: bool | None = None,
                      rows: Sequence[LayerRow] | None = None, columns: Sequence[str] | None = None) -> Iterator[str]:
    """:func:`render_memory_table` in pieces; ``width``, ``rows`` and ``columns`` as for :func:`iter_table`
    (the columns of :data:`cnncalc.columns.MEMORY`). The totals stay those of the network."""

    m = report.memory
    if m is None:  # pragma: no cover  (analyse always estimates memory)
        yield from iter_table(report, width=width, color=color, rows=rows)
        return
    mem = m
    precision = f"{m.dtype} autocast" if m.amp else m.dtype
    title = (f"{report.network} · memory · input {fmt_shape(report.input_shape)} · {precision} · batch {m.batch} "
             f"· {OPTIMIZER_NAMES[m.optimizer]}")
    listed = report.layers if rows is None else tuple(rows)

    def cells(short: bool) -> Iterator[tuple[Cell, ...]]:
        memory = mem.by_name()
        for r in listed:
            x = memory[r.name]
            yield (str(r.index), printable(r.name), printable(r.type + (f" {r.label}" if r.label else "")),
                   format_bytes(x.output_bytes), format_bytes(x.saved_bytes), format_bytes(x.peak_bytes),
                   format_bytes(x.read_bytes), format_bytes(x.write_bytes), format_intensity(x.intensity))

    totals = {"name": "total", "peak": format_bytes(sum(x.peak_bytes for x in m.layers)),
              "read": format_bytes(sum(x.read_bytes for x in m.layers)),
              "written": format_bytes(sum(x.write_bytes for x in m.layers))}
    spec = _TableSpec(MEMORY.names, {k: _HEADERS[k] for k in MEMORY.names}, lambda short: totals, cells,
                      {k: "left" if k in ("name", "type") else "right" for k in MEMORY.names})
    yield from _iter_table(spec, title=title, width=width, color=color, columns=MEMORY, chosen=columns,
                           summary=breakdown_lines(m) + memory_lines(report))


# ---------------------------------------------------------------------------------------------
# cnncalc check: table, JSON, GitHub workflow commands, JUnit XML


def format_figure(value: int | None, kind: str) -> str:
    """A measured figure by its unit: counts with separators, bytes in IEC units, pixels plain."""
    if value is None:
        return "whole" if kind == "pixels" else "-"
    if kind == "bytes":
        return f"{format_bytes(value)} ({format_int(value)} B)" if value >= 1024 else f"{value} B"
    return format_int(value)


def format_limit(limit: Limit) -> str:
    """The limit as written, with its exact value when the text abbreviates it: ``5M (5,000,000)``."""
    q, kind = limit.value, limit.metric.kind
    exact = format_int(q.value) + (" B" if kind == "bytes" else "")
    return q.text if q.text in (str(q.value), exact) else f"{q.text} ({exact})"


def format_headroom(outcome: Outcome) -> str:
    """``+13.8%`` of the limit left, ``-7.8%`` when exceeded, ``-`` when undefined."""
    h = outcome.headroom
    return "-" if h is None else f"{float(h):+.1f}%"


def format_outcome(net: NetworkCheck, outcome: Outcome) -> str:
    """One sentence: ``LeNet-5: params 431,080 exceed max_params 400K (400,000) by 7.8%``."""
    m = outcome.limit.metric
    limit = f"{m.limit} {format_limit(outcome.limit)}"
    if outcome.status == "error":
        return f"{net.name}: {limit}: {outcome.message}"
    actual = f"{m.figure.replace('_', ' ')} {format_figure(outcome.actual, m.kind)}"
    h = outcome.headroom
    if outcome.status == "fail":
        verb = "exceeds" if m.bound == "max" else "is below"
        by = "" if h is None else f" by {float(-h):.1f}%"
        return f"{net.name}: {actual} {verb} {limit}{by}"
    spare = "" if h is None else f" ({float(h):.1f}% headroom)"
    return f"{net.name}: {actual} within {limit}{spare}"


def format_check_summary(result: CheckResult) -> str:
    """``2 networks, 5 limits: 4 passed, 1 failed, 0 not checked``, then any invalid or unlimited files.

    ``failed`` fits both kinds of limit: a maximum exceeded and a minimum not reached.
    """
    n, k = len(result.networks), len(result.outcomes)
    text = (f"{n} network{'s' * (n != 1)}, {k} limit{'s' * (k != 1)}: {result.count('pass')} passed, "
            f"{result.count('fail')} failed, {result.count('error')} not checked")
    extra = [f"{len(result.invalid)} invalid"] if result.invalid else []
    if result.skipped:
        extra.append(f"{len(result.skipped)} without limits")
    return text + (f"; {', '.join(extra)}" if extra else "")


def format_entry_lines(result: CheckResult) -> list[str]:
    """One located line per problem of an invalid file and per note: ``net.yaml:3:5: layer 'x' (conv2d): ...``."""
    lines = []
    for net in result.networks:
        lines.extend(printable(p.format()) for p in net.problems)
        if net.note:
            lines.append(printable(Problem(net.note, file=net.file).format()))
    return lines


_STATUS = {"pass": ("PASS", "green"), "fail": ("FAIL", "bold red"), "error": ("ERROR", "bold yellow"),
           "skip": ("NO LIMITS", "dim")}


def render_check_table(result: CheckResult, *, width: int | None = None, color: bool | None = None) -> str:
    """One row per network and limit: limit, actual, headroom, pass/fail; one row per invalid file or
    network without limits, their messages below; then a summary line."""
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold")
    # nothing is cut with '…' (a path or a figure would lose what tells it apart): a cell wraps at
    # its spaces, and a word wider than its column folds, every character kept
    for col, justify in (("network", "left"), ("limit", "left"), ("actual", "right"), ("max / min", "right"),
                         ("headroom", "right"), ("status", "left")):
        table.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for net in result.networks:
        if not net.outcomes:  # an invalid file, or a network without limits: one row, its message below
            label, style = _STATUS[net.status]
            table.add_row(Text(printable(net.name)), "-", "-", "-", "-", Text(label, style=style))
        for o in net.outcomes:
            label, style = _STATUS[o.status]
            m = o.limit.metric
            # user text as Text, never as markup: "[bold]x" is a network name, not a style
            actual = format_figure(o.actual, m.kind) if o.status != "error" else "-"
            table.add_row(Text(printable(net.name)), m.limit, actual, Text(format_limit(o.limit)),
                          format_headroom(o), Text(label, style=style))
    # the located messages whole, never wrapped: editors find a file:line:col at the start of a line
    notes = "".join(line + "\n" for line in format_entry_lines(result))
    # without a width (a file, or a pipe without COLUMNS) nothing wraps: the table takes its natural width
    room = width or UNWRAPPED
    return (_console_text([table], width=room, color=color) + notes
            + _console_text([format_check_summary(result)], width=room, color=color))


def render_check_json(result: CheckResult) -> str:
    """The documented JSON object of ``cnncalc check``."""
    return json.dumps(result.to_dict(), indent=2) + "\n"


def _gh_escape(text: str, prop: bool = False) -> str:
    # the escapes of GitHub's workflow commands: % CR LF in data; also : and , in properties
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def _gh_printable(text: str) -> str:
    return "\n".join(map(printable, text.split("\n")))


def github_command(level: str, message: str, *, file: str | None = None, line: int | None = None,
                   col: int | None = None, title: str | None = None) -> str:
    """One workflow command: ``::error file=net.yaml,line=12,title=...::message``.

    The annotation shows the text to a person, so control characters are made visible
    (:func:`cnncalc.text.printable`) first, all but the line breaks of a message of several lines.
    """
    props = [f"{k}={_gh_escape(printable(str(v)), prop=True)}"
             for k, v in (("file", file), ("line", line), ("col", col), ("title", title)) if v is not None]
    text = _gh_escape(_gh_printable(message))
    return f"::{level} {','.join(props)}::{text}" if props else f"::{level}::{text}"


def annotation_site(net: NetworkCheck, o: Outcome) -> tuple[str | None, int]:
    """The network file, at the limit's line when the file set it, else at the network's line."""
    src = o.limit.source
    line = src.line if src.origin == "network" and src.line else net.line
    return net.file, line


def render_problems_github(problems: Sequence[Problem], *, path: Callable[[str], str] = str) -> str:
    """An ``::error`` per problem of invalid input, on its file at its line and column."""
    lines = []
    for p in problems:
        what = replace(p, file=None, line=None, column=None).format() if p.file else p.format()
        lines.append(github_command("error", printable(what), file=printable(path(p.file)) if p.file else None,
                                    line=p.line, col=p.column, title="cnncalc check: invalid input"))
    return "".join(line + "\n" for line in lines)


def render_check_github(result: CheckResult, *, path: Callable[[str], str] = str) -> str:
    """GitHub Actions workflow commands: an ``::error`` on the network file per limit not met and per
    problem of an invalid file, a ``::notice`` per network without limits."""
    lines = []
    for net in result.networks:
        if net.problems:
            lines.append(render_problems_github(net.problems, path=path).rstrip("\n"))
        if net.note:
            lines.append(github_command("notice", printable(f"{net.name}: {net.note}"),
                                        file=None if net.file is None else printable(path(net.file)), line=net.line,
                                        title="cnncalc check: no limits"))
        for o in net.outcomes:
            if o.status == "pass":
                continue
            file, line = annotation_site(net, o)
            verdict = ("not checked" if o.status == "error" else "exceeded" if o.limit.metric.bound == "max"
                       else "not reached")
            title = f"cnncalc check: {o.limit.metric.limit} {verdict}"
            # one line: a line break in the network's name is shown, not kept
            lines.append(github_command("error", printable(format_outcome(net, o)),
                                        file=None if file is None else path(file), line=line, title=title))
    lines.append(format_check_summary(result))
    return "\n".join(lines) + "\n"


def render_check_junit(result: CheckResult, *, path: Callable[[str], str] = str) -> str:
    """JUnit XML: a testsuite per network, a testcase per limit, ``failure`` when not met, ``error`` when
    unchecked; an invalid file is a suite with one ``error`` testcase, a network without limits a
    suite with one ``skipped`` testcase."""
    import xml.etree.ElementTree as ET

    def counts(outcomes: list[Outcome], errors: int = 0, skipped: int = 0) -> dict[str, str]:
        return {"tests": str(len(outcomes) + errors + skipped),
                "failures": str(sum(o.status == "fail" for o in outcomes)),
                "errors": str(sum(o.status == "error" for o in outcomes) + errors), "skipped": str(skipped),
                "time": "0"}

    # user text through xml_text: ElementTree writes a control character as it is, which no XML
    # 1.0 parser accepts, and a CI's test view shows these strings to a person
    root = ET.Element("testsuites", name="cnncalc check",
                      **counts([o for _, o in result.outcomes], len(result.invalid), len(result.skipped)))
    for net in result.networks:
        file = None if net.file is None else xml_text(path(net.file))
        suite_name = xml_text(net.name)
        invalid, skipped = bool(net.problems), net.status == "skip"
        suite = ET.SubElement(root, "testsuite", name=suite_name,
                              **counts(list(net.outcomes), int(invalid), int(skipped)))
        if file is not None:
            suite.set("file", file)
        if invalid or skipped:
            case = ET.SubElement(suite, "testcase", name="invalid file" if invalid else "no limits",
                                 classname=file or suite_name, time="0")
            if file is not None:
                case.set("file", file)
                case.set("line", str(net.line))
            if invalid:
                lines = [xml_text(p.format()) for p in net.problems]
                ET.SubElement(case, "error", message=lines[0], type="InvalidInput").text = "\n".join(lines)
            else:
                ET.SubElement(case, "skipped", message=net.note or "")
        for o in net.outcomes:
            m = o.limit.metric
            case = ET.SubElement(suite, "testcase", name=f"{m.limit} {format_limit(o.limit)}",
                                 classname=file or suite_name, time="0")
            _, line = annotation_site(net, o)
            if file is not None:
                case.set("file", file)
                case.set("line", str(line))
            if o.status != "pass":
                tag, kind = (("failure", "BudgetExceeded" if m.bound == "max" else "BelowMinimum")
                             if o.status == "fail" else ("error", "NotChecked"))
                node = ET.SubElement(case, tag, message=xml_text(format_outcome(net, o)), type=kind)
                settings = net.settings
                node.text = (f"actual: {format_figure(o.actual, m.kind)}\nlimit: {m.bound} {format_limit(o.limit)}\n"
                             f"headroom: {format_headroom(o)}"
                             + ("" if settings is None else f"\nbatch {settings.batch}, {settings.dtype}"))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


# ---------------------------------------------------------------------------------------------
# cnncalc diff: table, JSON, Markdown


def format_delta(change: Change, kind: str = "count", *, exact: bool = True, percent: bool = True) -> str:
    """``+1,234 (+5.20%)``; counts compact (``+1.23 M``) unless ``exact``; bytes in IEC units; ``0`` when unchanged."""
    d = change.delta
    if d == 0:
        return "0"
    sign = "+" if d > 0 else "-"
    text = sign + format_bytes(abs(d)) if kind == "bytes" else f"{d:+,}" if exact else sign + format_count(abs(d))
    pct = change.percent
    if not percent:
        return text
    return f"{text} ({float(pct):+.2f}%)" if pct is not None else f"{text} (new)"


def format_rf_sizes(sizes: list[int | None] | None) -> str:
    """``195``, ``7x3``, ``whole`` or ``-`` (no spatial map)."""
    if sizes is None:
        return "-"
    if all(s is None for s in sizes):
        return "whole"
    return _axes_text(["whole" if s is None else s for s in sizes])


def _side(d: LayerDiff, get: Callable[[LayerRow], str]) -> str:
    old, new = (None if r is None else get(r) for r in (d.old, d.new))
    if old is None or new is None or old == new:
        return str(new if new is not None else old)
    return f"{old} → {new}"


_TOTAL_KIND = {"param_memory": "bytes", "activation_memory": "bytes"}
_TOTAL_LABEL = {"params": "params", "trainable_params": "trainable params", "buffers": "buffers",
                "macs": "MACs", "flops": "FLOPs",
                "param_memory": "param memory", "activation_memory": "activation memory"}


def _diff_totals(diff: Diff) -> list[list[str]]:
    """The totals rows (figure, old, new, change) as text."""
    totals = []
    for fig, c in diff.totals.items():
        kind = _TOTAL_KIND.get(fig, "count")
        fmt = format_bytes if kind == "bytes" else format_int
        totals.append([_TOTAL_LABEL[fig], fmt(c.old), fmt(c.new), format_delta(c, kind)])
    old_rf = format_rf_sizes(rf_sizes(diff.old.totals.receptive_field))
    new_rf = format_rf_sizes(rf_sizes(diff.new.totals.receptive_field))
    totals.append(["receptive field", old_rf, new_rf, "0" if old_rf == new_rf else "changed"])
    old_out, new_out = diff.old.totals.outputs, diff.new.totals.outputs
    if len(old_out) > 1 or len(new_out) > 1 or old_out != new_out:
        # what the network returns: every output by name and shape (user text, shown as written)
        def listed(outs: tuple[tuple[str, Any], ...]) -> str:
            return ", ".join(f"{printable(name)} {fmt_shape(shape)}" for name, shape in outs)
        totals.append(["outputs", listed(old_out), listed(new_out), "same" if old_out == new_out else "changed"])
    return totals


def _diff_layer_row(d: LayerDiff) -> list[str]:
    """One layer's cells, in the order of :data:`_LAYER_HEAD`; names and types as written."""
    # MACs and FLOPs compact, params exact; a percentage only where the layer is on both sides
    pct = d.status == "changed"
    return [
        # freezing a layer changes no count but its trainable parameters: the type says so
        d.name, d.status, _side(d, lambda r: r.type + (" (frozen)" if r.frozen else "")),
        _side(d, lambda r: fmt_shape(r.output_shape)),
        format_delta(d.change("params"), percent=pct),
        *(format_delta(d.change(f), exact=False, percent=pct) for f in ("macs", "flops")),
        format_delta(d.change("memory"), "bytes", percent=pct), _side(d, lambda r: format_rf(r.rf)),
    ]


def _diff_rows(diff: Diff) -> tuple[list[list[str]], list[list[str]]]:
    """(totals rows, layer rows) as text, shared by the table and Markdown."""
    return _diff_totals(diff), [_diff_layer_row(d) for d in diff.layers]


_LAYER_HEAD = ["layer", "change", "type", "output", "params", "MACs", "FLOPs", "memory", "RF"]


def _diff_columns() -> list[Any]:
    """The layer table's columns: names wrap at dots, shapes only after an arrow; FLOPs, then memory, RF and
    type give way first."""
    from .render_grid import Column

    drop = {"FLOPs": 4, "memory": 3, "RF": 2, "type": 1}
    right = {"params", "MACs", "FLOPs", "memory", "RF"}
    return [Column(h, "right" if h in right else "left",
                   "dots" if h == "layer" else "words" if h == "type" else "arrows" if h == "output" else "never",
                   drop.get(h, 0))
            for h in _LAYER_HEAD]


def _shown(diff: Diff, rows: list[list[str]], all_layers: bool) -> list[list[str]]:
    return [r for d, r in zip(diff.layers, rows) if all_layers or d.status != "unchanged"]


def format_diff_summary(diff: Diff) -> str:
    """``3 added, 2 removed, 4 changed, 30 unchanged layers``."""
    return ", ".join(f"{n} {s}" for s, n in diff.summary().items()) + " layers"


def format_gate(gate: Gate) -> str:
    """The --fail-above verdict in one sentence."""
    if not gate.exceeded:
        return f"No total grew by more than {float(gate.threshold):g}%."
    names = ", ".join(_TOTAL_LABEL[f] for f in gate.exceeded)
    return f"Grew by more than {float(gate.threshold):g}%: {names}."


def render_diff_table(diff: Diff, *, gate: Gate | None = None, all_layers: bool = False,
                      width: int | None = None, color: bool | None = None) -> str:
    """Totals old/new/change, then the layers that changed (all with ``all_layers``).

    ``width`` None: no width (a file, a pipe), every line as long as it needs.
    """
    return "".join(iter_diff_table(diff, gate=gate, all_layers=all_layers, width=width, color=color))


def iter_diff_table(diff: Diff, *, gate: Gate | None = None, all_layers: bool = False,
                    width: int | None = None, color: bool | None = None) -> Iterator[str]:
    """:func:`render_diff_table` in pieces: the layer table is laid out in one pass and drawn row by row."""
    from rich.table import Table
    from rich.text import Text

    from .render_grid import Grid, layout

    # the title on its own line, as wide as the width allows (a table's title wraps at the table's)
    title = Text(f"{printable(diff.old.network)} → {printable(diff.new.network)}", style="italic")
    totals = Table(header_style="bold")
    for col, justify in (("total", "left"), ("old", "right"), ("new", "right"), ("change", "right")):
        # figures are never cut: the labels wrap, and the change wraps between its two terms
        totals.add_column(col, justify=justify, no_wrap=col in ("old", "new"))  # type: ignore[arg-type]
    for row in _diff_totals(diff):
        totals.add_row(*row)
    # without a width, as wide as the title or the table need
    room = width or max(len(title) + 1, 200)
    yield _console_text([title, totals, format_diff_summary(diff)], width=room, color=color)
    shown = [d for d in diff.layers if all_layers or d.status != "unchanged"]
    if shown:
        cells = [_diff_layer_row(d) for d in shown]
        for row in cells:
            row[0], row[2] = printable(row[0]), printable(row[2])
        columns = _diff_columns()
        grid = Grid(columns, layout(columns, cells, width), color=bool(color))
        yield "\n".join(grid.head()) + "\n"
        for row in cells:
            yield "\n".join(line.rstrip() for line in grid.row(row)) + "\n"
        yield grid.bottom() + "\n"
    if gate is not None:
        yield _console_text([format_gate(gate)], width=room, color=color)


def render_diff_json(diff: Diff, *, gate: Gate | None = None) -> str:
    """The documented JSON object of ``cnncalc diff``."""
    return "".join(iter_diff_json(diff, gate=gate))


def iter_diff_json(diff: Diff, *, gate: Gate | None = None) -> Iterator[str]:
    """:func:`render_diff_json` in pieces, one layer at a time (``json.dumps(..., indent=2)``'s text)."""
    # the object without its layers, then each layer written as it comes; the summary counts them all
    text = json_text({**replace(diff, layers=()).to_dict(gate), "summary": diff.summary()})
    if not diff.layers:
        yield text + "\n"
        return
    # a string in JSON never holds a raw newline, so this is the top-level key and nothing else
    head, tail = text.split('\n  "layers": []')
    yield head + '\n  "layers": ['
    sep = "\n    "
    for d in diff.layers:
        yield sep + _json_value(d.to_dict(), "\n    ")
        sep = ",\n    "
    yield "\n  ]" + tail + "\n"


def _md_table(head: list[str], rows: list[list[str]], right: set[str]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if h in right else "---" for h in head) + "|"]
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
    return lines


def render_diff_markdown(diff: Diff, *, gate: Gate | None = None, all_layers: bool = False) -> str:
    """A pull-request comment: totals, then the layers that changed."""
    totals_rows, layer_rows = _diff_rows(diff)
    lines = [f"### {_md_escape(diff.old.network)} → {_md_escape(diff.new.network)}", ""]
    lines += _md_table(["total", "old", "new", "change"], totals_rows, {"old", "new", "change"})
    lines += ["", format_diff_summary(diff) + "."]
    shown = _shown(diff, layer_rows, all_layers)
    if shown:
        lines += ["", *_md_table(_LAYER_HEAD, shown, {"params", "MACs", "FLOPs", "memory", "RF"})]
    if gate is not None:
        lines += ["", f"**{format_gate(gate)}**"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# cnncalc sweep: one row per input shape and batch size


def _x(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape))


def _training_peak(row: SweepRow) -> int | None:
    return None if row.memory is None else row.memory.training_peak


#: (CSV name, table heading, value of a row, how the table shows it): a new column is one line.
#: The sum of every layer's output and the training peak are both bytes, and read alike unless
#: the headings say which is which: the sum is larger than the peak at large batches, as outputs
#: are freed during the step (the caption under the table says so).
SWEEP_COLUMNS: list[tuple[str, str, Callable[[SweepRow], Any], Callable[[Any], str]]] = [
    ("input_shape", "input", lambda r: r.input_shape, _x),
    ("batch", "batch", lambda r: r.batch, str),
    ("output_shape", "output", lambda r: r.totals.output_shape, _x),
    ("params", "params", lambda r: r.totals.params, format_count),
    ("macs", "MACs per sample", lambda r: r.totals.macs, format_count),
    ("flops", "FLOPs per sample", lambda r: r.totals.flops, format_count),
    ("activation_bytes_batch", "all outputs summed", lambda r: r.totals.activation_bytes_batch, format_bytes),
    ("training_peak_bytes", "training peak", _training_peak, lambda v: "-" if v is None else format_bytes(v)),
]
#: Rank in which the table drops a column to fit its width (0: always kept; the highest goes first).
_SWEEP_DROP = {"params": 4, "output_shape": 3, "flops": 2, "activation_bytes_batch": 1}
SWEEP_CAPTION = ("all outputs summed: every layer's output for the whole batch, added up (the report's "
                 "activations), not what is held at any one time. training peak: the most memory held at once "
                 "during a training step, weights, gradients and optimizer state included.")


def _sweep_title(result: Sweep) -> str:
    precision = f"{result.dtype} autocast" if result.amp else result.dtype
    return (f"{result.network} · {precision} · {OPTIMIZER_NAMES[result.optimizer]} · "
            "MACs and FLOPs per sample, memory for the whole batch")


def render_sweep_json(result: Sweep) -> str:
    """The documented sweep object, indented, ending in a newline."""
    return json_text(result.to_dict()) + "\n"


def render_sweep_csv(result: Sweep) -> str:
    """One row per input shape and batch size; raw integers; shapes as ``3x224x224``."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([name for name, _, _, _ in SWEEP_COLUMNS])
    for row in result.rows:
        values = (get(row) for _, _, get, _ in SWEEP_COLUMNS)
        w.writerow(["" if v is None else _x(v) if isinstance(v, tuple) else v for v in values])
    return buf.getvalue()


def _sweep_cells(result: Sweep) -> list[list[str]]:
    return [[show(get(row)) for _, _, get, show in SWEEP_COLUMNS] for row in result.rows]


def render_sweep_markdown(result: Sweep) -> str:
    """The sweep as a Markdown table."""
    head = [h for _, h, _, _ in SWEEP_COLUMNS]
    lines = [f"### {_md_escape(_sweep_title(result))}", "", *_md_table(head, _sweep_cells(result), set(head))]
    return "\n".join(lines) + "\n"


def render_sweep_table(result: Sweep, *, width: int | None = None, color: bool | None = None) -> str:
    """The sweep as a table that fits ``width`` (None: no width), with its title and caption."""
    from rich.text import Text

    from .render_grid import Column, render_grid

    columns = [Column(head, "right", "never", _SWEEP_DROP.get(name, 0)) for name, head, _, _ in SWEEP_COLUMNS]
    lines = render_grid(columns, _sweep_cells(result), width, color=bool(color))
    room = width or len(lines[0])
    # the network's name as written, never read as markup
    words = _console_text([Text(printable(_sweep_title(result)))], width=max(room, 40), color=False)
    caption = _console_text([SWEEP_CAPTION], width=max(room, 40), color=False)
    return words + "\n".join(lines) + "\n" + caption


class RichReport:
    """A report drawn on a rich console: the terminal's table at the console's width and colours."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        """The text of :func:`render.render_table`, with its colours read back into rich styles."""
        from rich.text import Text

        color = console.color_system is not None and not console.no_color
        text = render_table(self.report, width=options.max_width, color=color)
        lines = Text.from_ansi(text.rstrip("\n"), no_wrap=True, overflow="ignore").split("\n")
        for line in lines:
            line.rstrip()  # a styled span (the title) may end in padding that the plain text has not
        yield Text("\n", no_wrap=True, overflow="ignore").join(lines)
