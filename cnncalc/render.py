"""Rendering a :class:`Report` as a rich table, JSON, CSV or Markdown.

``format_*`` functions are pure (value → string). rich is imported only inside
:func:`render_table`, so the machine formats never load it.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from .layers import RF, fmt_shape
from .report import DTYPE_BYTES, LayerRow, Report

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


def _with_previous(report: Report) -> list[tuple[LayerRow, LayerRow | None]]:
    return list(zip(report.layers, (None, *report.layers[:-1])))


JUMPS_NOTE = "* paths of different jump meet here; the largest field is shown"


# ---------------------------------------------------------------------------------------------
# machine formats


def render_json(report: Report) -> str:
    """The documented JSON object, indented, ending in a newline."""
    return json.dumps(report.to_dict(), indent=2) + "\n"


CSV_COLUMNS = [
    "index", "name", "type", "inputs", "input_shape", "output_shape", "params", "buffers",
    "macs", "flops", "rf_size", "rf_jump", "rf_whole", "output_elements", "output_bytes",
    "rf_local", "jumps_meet", "layer_count",
]


def _csv_row(row: LayerRow) -> list[Any]:
    rf = row.rf
    whole = rf.is_whole or not rf.axes
    return [
        row.index, row.name, row.type, ";".join(row.inputs),
        ";".join("x".join(map(str, s)) for s in row.input_shapes), "x".join(map(str, row.output_shape)),
        row.params, row.buffers, row.macs, row.flops,
        "" if whole else format_rf(rf), "" if whole else format_jump(rf), "true" if whole else "false",
        row.output_elements, row.output_bytes,
        "" if local_rf(rf) is None else format_rf(local_rf(rf)), "true" if row.jumps_meet else "false", row.count,
    ]


def render_csv(report: Report) -> str:
    """One row per layer with a header; raw integers; shapes as ``16x32x32``."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for row in report.layers:
        w.writerow(_csv_row(row))
    return buf.getvalue()


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(report: Report) -> str:
    """A per-layer table and the totals, for pasting into a pull request."""
    t = report.totals
    lines = [
        f"### {_md_escape(report.network)}",
        "",
        f"Input {fmt_shape(report.input_shape)}, {report.dtype}, batch {report.batch}."
        + (f" MACs and FLOPs counted as {report.convention} does." if report.convention else ""),
        "",
        "| # | layer | type | from | output | params | MACs | FLOPs | RF | jump | output memory |",
        "|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r, prev in _with_previous(report):
        lines.append(
            f"| {r.index} | {_md_escape(r.name)} | {_md_escape(r.type)} | {_md_escape(format_inputs(r, prev))} "
            f"| {fmt_shape(r.output_shape)} | {format_int(r.params)} | {format_int(r.macs)} | {format_int(r.flops)} "
            f"| {format_rf_cell(r.rf, r.jumps_meet)} | {format_jump(r.rf)} | {format_bytes(r.output_bytes)} |"
        )
    lines.append("")
    if any(r.jumps_meet for r in report.layers):
        lines += ["\\" + JUMPS_NOTE, ""]
    lines.extend(f"- **{k}**: {v}" for k, v in totals_lines(report))
    return "\n".join(lines) + "\n"


def totals_lines(report: Report) -> list[tuple[str, str]]:
    """(label, text) pairs summarising the totals, shared by the table and Markdown."""
    t = report.totals
    weights = " · ".join(
        f"{name} {format_bytes((t.params + t.buffers) * size)}" for name, size in DTYPE_BYTES.items()
        if name != "bf16"
    )
    return [
        ("Params", f"{format_int(t.params + t.buffers)} ({format_count(t.params + t.buffers)}): "
                   f"{format_int(t.params)} trainable, {format_int(t.buffers)} non-trainable (buffers)"),
        ("Weights", f"{format_int(t.weight_file_bytes)} B ({format_bytes(t.weight_file_bytes)}) as {report.dtype}; "
                    f"{weights.replace('fp16', 'fp16/bf16')}"),
        ("MACs", f"{format_int(t.macs)} ({format_count(t.macs)})"),
        ("FLOPs", f"{format_int(t.flops)} ({format_count(t.flops)})"),
        ("Activations", f"{format_int(t.activation_elements)} values, {format_bytes(t.activation_bytes)} per sample; "
                        f"{format_bytes(t.activation_bytes_batch)} at batch {t.batch}"),
        ("Output", fmt_shape(t.output_shape)),
        ("Receptive field", format_rf_summary(t.receptive_field, t.receptive_field_layer)),
    ]


# ---------------------------------------------------------------------------------------------
# the terminal table


def render_table(report: Report, *, width: int | None = None, color: bool | None = None) -> str:
    """The per-layer rich table with a totals section, as text (ANSI codes only when ``color``)."""
    from rich.console import Console  # noqa: PLC0415  (rich is loaded only for tables)
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    table = Table(
        title=f"{report.network} · input {fmt_shape(report.input_shape)} · {report.dtype} · batch {report.batch}"
        + (f" · counted as {report.convention}" if report.convention else ""),
        title_justify="left",
        show_footer=True,
        header_style="bold",
        footer_style="bold",
    )
    t = report.totals
    table.add_column("#", justify="right", style="dim")
    table.add_column("layer", footer="total", overflow="fold")
    table.add_column("type")
    table.add_column("output", justify="right")
    table.add_column("params", justify="right", footer=format_int(t.params))
    table.add_column("MACs", justify="right", footer=format_int(t.macs))
    table.add_column("FLOPs", justify="right", footer=format_int(t.flops))
    table.add_column("RF", justify="right")
    table.add_column("jump", justify="right")
    table.add_column("memory", justify="right", footer=format_bytes(t.activation_bytes))
    for r, prev in _with_previous(report):
        # a layer whose input is not the row above names its inputs after its type
        kind = Text(r.type + (f" {r.label}" if r.label else ""))
        source = format_inputs(r, prev)
        if source:
            kind.append(f" ← {source}", style="italic")
        table.add_row(
            str(r.index), r.name, kind, fmt_shape(r.output_shape), format_int(r.params), format_int(r.macs),
            format_int(r.flops), format_rf_cell(r.rf, r.jumps_meet), format_jump(r.rf), format_bytes(r.output_bytes),
        )
    if any(r.jumps_meet for r in report.layers):
        table.caption = JUMPS_NOTE
        table.caption_justify = "left"
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    for label, text in totals_lines(report):
        summary.add_row(label, text)
    console = Console(
        file=io.StringIO(), width=width or 120, no_color=not color, force_terminal=bool(color),
        color_system="standard" if color else None, highlight=False,
    )
    console.print(table)
    console.print(summary)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
