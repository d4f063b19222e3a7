"""The result of ``cnncalc diff``: a terminal table, JSON and Markdown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..diff import rf_sizes
from ..formatting import axes_text, format_bytes, format_count, format_int, format_rf
from ..layers import fmt_shape
from ..text import printable
from . import markdown as md
from .json import json_text

if TYPE_CHECKING:  # pragma: no cover
    from ..diff import Change, Diff, Gate, LayerDiff
    from ..report import LayerRow
    from .grid import Column

#: The width of the totals when there is none (a file, a pipe): room for the whole totals table.
_NO_WIDTH = 200

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
    return axes_text(["whole" if s is None else s for s in sizes])


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


def _diff_columns() -> list[Column]:
    """The layer table's columns: names wrap at dots, shapes only after an arrow; FLOPs, then memory, RF and
    type give way first."""
    from .grid import Column

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
    from .console import console_text, styled, table
    from .grid import Grid, layout

    # the title on its own line, as wide as the width allows (a table's title wraps at the table's)
    title = f"{printable(diff.old.network)} → {printable(diff.new.network)}"
    # figures are never cut: the labels wrap, and the change wraps between its two terms
    totals = table([(col, {"justify": justify, "no_wrap": col in ("old", "new")})
                    for col, justify in (("total", "left"), ("old", "right"), ("new", "right"), ("change", "right"))],
                   # styled: an output's name is shown as written, never read as rich markup
                   ([styled(cell) for cell in row] for row in _diff_totals(diff)))
    # without a width, as wide as the title or the table need
    room = width or max(len(title) + 1, _NO_WIDTH)
    yield console_text([styled(title, "italic"), totals, format_diff_summary(diff)], width=room, color=color)
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
        yield console_text([format_gate(gate)], width=room, color=color)


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
        yield sep + json_text(d.to_dict(), 2)
        sep = ",\n    "
    yield "\n  ]" + tail + "\n"


def render_diff_markdown(diff: Diff, *, gate: Gate | None = None, all_layers: bool = False) -> str:
    """A pull-request comment: totals, then the layers that changed."""
    totals_rows, layer_rows = _diff_rows(diff)
    lines = [f"### {md.escape(diff.old.network)} → {md.escape(diff.new.network)}", ""]
    lines += md.table(["total", "old", "new", "change"], totals_rows, {"old", "new", "change"})
    lines += ["", format_diff_summary(diff) + "."]
    shown = _shown(diff, layer_rows, all_layers)
    if shown:
        lines += ["", *md.table(_LAYER_HEAD, shown, {"params", "MACs", "FLOPs", "memory", "RF"})]
    if gate is not None:
        lines += ["", f"**{format_gate(gate)}**"]
    return "\n".join(lines) + "\n"
