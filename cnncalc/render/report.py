"""The report as a terminal table, CSV and Markdown, and its memory view.

``render_table``/``iter_table`` draw the per-layer table with its totals (rich, through
:mod:`cnncalc.render.console`, loaded only when a table is drawn); ``render_csv`` and
``render_markdown`` are plain text. The summary lines (:func:`totals_lines`,
:func:`memory_lines`) are shared by the table, Markdown and the HTML page.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from typing import Any

from .. import hotspots
from ..columns import LAYER, MEMORY
from ..formatting import (
    OPTIMIZER_NAMES,
    format_bytes,
    format_count,
    format_int,
    format_intensity,
    format_jump,
    format_rf,
    format_rf_cell,
    format_rf_summary,
    format_share,
    local_rf,
)
from ..layers import fmt_shape
from ..memory import Fit, LayerMemory, MemoryEstimate
from ..report import DTYPE_BYTES, SCHEMA_VERSION, LayerRow, Report
from ..text import csv_cell, printable
from . import markdown as md


def format_inputs(row: LayerRow, previous: LayerRow | None) -> str:
    """The row's inputs, or an empty string when it takes only the previous row (or the input, first)."""
    follows = ("input",) if previous is None else (previous.name,)
    return "" if row.inputs == follows else ", ".join(row.inputs)


def _with_previous(rows: Sequence[LayerRow]) -> list[tuple[LayerRow, LayerRow | None]]:
    return list(zip(rows, (None, *rows[:-1])))


JUMPS_NOTE = "* paths of different jump meet here; the largest field is shown"



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
    local = local_rf(rf)
    # user text goes through csv_cell (a spreadsheet would run "=..." as a formula); numbers stay numbers
    return [
        row.index, csv_cell(row.name), csv_cell(row.type), csv_cell(";".join(row.inputs)),
        ";".join("x".join(map(str, s)) for s in row.input_shapes), "x".join(map(str, row.output_shape)),
        row.params, row.buffers, row.macs, row.flops,
        "" if whole else format_rf(rf), "" if whole else format_jump(rf), "true" if whole else "false",
        row.output_elements, row.output_bytes,
        "" if local is None else format_rf(local), "true" if row.jumps_meet else "false", row.count,
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


def render_markdown(report: Report, rows: Sequence[LayerRow] | None = None, *, memory: bool = False) -> str:
    """A per-layer table (``rows``, default every layer) and the totals, for pasting into a pull request.

    ``memory``: the memory columns instead (see :func:`render_memory_table`).
    """
    if memory and report.memory is not None:
        return _markdown_memory(report, report.memory, rows)
    lines = [
        f"### {md.escape(report.network)}",
        "",
        f"Input {fmt_shape(report.input_shape)}, {report.dtype}, batch {report.batch}."
        + (f" MACs and FLOPs counted as {report.convention} does." if report.convention else ""),
        "",
        "| # | layer | type | from | output | params | MACs | FLOPs | RF | jump | output memory |",
        "|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r, prev in _with_previous(report.layers if rows is None else rows):
        lines.append(
            f"| {r.index} | {md.escape(r.name)} | {md.escape(r.type)} | {md.escape(format_inputs(r, prev))} "
            f"| {fmt_shape(r.output_shape)} | {format_int(r.params)} | {format_int(r.macs)} | {format_int(r.flops)} "
            f"| {format_rf_cell(r.rf, r.jumps_meet)} | {format_jump(r.rf)} | {format_bytes(r.output_bytes)} |"
        )
    lines.append("")
    if any(r.jumps_meet for r in report.layers):
        lines += ["\\" + JUMPS_NOTE, ""]
    lines.extend(md.summary(totals_lines(report) + memory_lines(report)))
    return "\n".join(lines) + "\n"



# ---------------------------------------------------------------------------------------------
# memory

MEMORY_HEADERS = ("#", "layer", "type", "output", "saved", "at peak", "read", "written", "FLOPs/B")


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
                            f"{format_bytes(m.weights)}, activations {format_bytes(m.inference_activations)} "
                            "at their peak"),
              ("Both include", f"the input batch ({format_bytes(m.input)}) and {format_bytes(m.overhead)} of CUDA "
                               "library workspace")]
    return lines


def memory_rows(report: Report, m: MemoryEstimate, rows: Sequence[LayerRow] | None = None) -> list[tuple[str, ...]]:
    """Per-layer memory cells of ``rows`` (default every layer), in the order of :data:`MEMORY_HEADERS`."""
    memory = m.by_name()
    cells: list[tuple[str, ...]] = []
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


def render_fit_json(network: str, input_shape: tuple[int, ...], fit: Fit) -> str:
    """The documented JSON object of ``cnncalc fit``: the network, its input, and :meth:`Fit.to_dict`."""
    return json.dumps({"schema_version": SCHEMA_VERSION, "network": network, "input_shape": list(input_shape),
                       **fit.to_dict()}, indent=2) + "\n"


def _markdown_memory(report: Report, m: MemoryEstimate, rows: Sequence[LayerRow] | None) -> str:
    lines = [
        f"### {md.escape(report.network)}: memory",
        "",
        f"Input {fmt_shape(report.input_shape)}, {report.dtype}, batch {report.batch}, "
        f"{OPTIMIZER_NAMES[m.optimizer]}{', autocast' if m.amp else ''}.",
        "",
        "| " + " | ".join(MEMORY_HEADERS) + " |",
        "|---:|---|---|" + "---:|" * (len(MEMORY_HEADERS) - 3),
    ]
    lines += ["| " + " | ".join(md.escape(c) for c in row) + " |" for row in memory_rows(report, m, rows)]
    lines.append("")
    lines.extend(md.summary(breakdown_lines(m) + memory_lines(report)))
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
    from . import console as term
    from .table import BAR_WIDTH, HEADERS, TableSpec, stream

    listed = report.layers if rows is None else tuple(rows)
    title = f"{report.network} · input {fmt_shape(report.input_shape)} · {report.dtype} · batch {report.batch}"
    if report.convention:
        title += f" · counted as {report.convention}"
    if len(listed) < len(report.layers):
        title += f" · {len(listed)} of {len(report.layers)} layers"
    t = report.totals
    memo: dict[tuple[str, int], Any] = {}

    def cells(short: bool) -> Iterator[tuple[Any, ...]]:
        count = format_count if short else format_int
        previous: LayerRow | None = None
        for r, share in zip(listed, hotspots.shares(report, bars, listed)):
            # a layer whose input is not the row above names its inputs after its type
            kind: Any = printable(r.type + (f" {r.label}" if r.label else ""))
            source = format_inputs(r, previous)
            if source:
                kind = term.with_note(kind, f" ← {printable(source)}", style="italic")
            previous = r
            yield (str(r.index), printable(r.name), kind, fmt_shape(r.output_shape), count(r.params), count(r.macs),
                   count(r.flops), format_rf_cell(r.rf, r.jumps_meet), format_jump(r.rf),
                   format_bytes(r.output_bytes), term.bar_cell(memo, share, format_share(share), BAR_WIDTH))

    def footers(short: bool) -> dict[str, str]:
        count = format_count if short else format_int
        return {"name": "total", "params": count(t.params), "macs": count(t.macs), "flops": count(t.flops),
                "memory": format_bytes(t.activation_bytes)}

    headers = {k: HEADERS[k] for k in LAYER.names}
    headers["bar"] = f"% {hotspots.METRICS[bars][0].split()[-1]}"
    spec = TableSpec(LAYER.names, headers, footers, cells,
                     {k: "left" if k in ("name", "type", "bar") else "right" for k in LAYER.names}, shared="bar")
    caption = JUMPS_NOTE if any(r.jumps_meet for r in report.layers) else None
    yield from stream(spec, title=title, width=width, color=color, columns=LAYER, chosen=columns,
                      summary=totals_lines(report) + memory_lines(report), caption=caption)

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
    from .table import HEADERS, TableSpec, stream

    m = report.memory
    if m is None:  # pragma: no cover  (analyse always estimates memory)
        yield from iter_table(report, width=width, color=color, rows=rows)
        return
    mem = m
    precision = f"{m.dtype} autocast" if m.amp else m.dtype
    title = (f"{report.network} · memory · input {fmt_shape(report.input_shape)} · {precision} · batch {m.batch} "
             f"· {OPTIMIZER_NAMES[m.optimizer]}")
    listed = report.layers if rows is None else tuple(rows)

    def cells(short: bool) -> Iterator[tuple[Any, ...]]:
        memory = mem.by_name()
        for r in listed:
            x = memory[r.name]
            yield (str(r.index), printable(r.name), printable(r.type + (f" {r.label}" if r.label else "")),
                   format_bytes(x.output_bytes), format_bytes(x.saved_bytes), format_bytes(x.peak_bytes),
                   format_bytes(x.read_bytes), format_bytes(x.write_bytes), format_intensity(x.intensity))

    totals = {"name": "total", "peak": format_bytes(sum(x.peak_bytes for x in m.layers)),
              "read": format_bytes(sum(x.read_bytes for x in m.layers)),
              "written": format_bytes(sum(x.write_bytes for x in m.layers))}
    spec = TableSpec(MEMORY.names, {k: HEADERS[k] for k in MEMORY.names}, lambda short: totals, cells,
                     {k: "left" if k in ("name", "type") else "right" for k in MEMORY.names})
    yield from stream(spec, title=title, width=width, color=color, columns=MEMORY, chosen=columns,
                      summary=breakdown_lines(m) + memory_lines(report))

