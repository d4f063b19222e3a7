"""The result of ``cnncalc sweep``: one row per input shape and batch size, as a table, JSON, CSV or Markdown."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..formatting import OPTIMIZER_NAMES, format_bytes, format_count
from ..text import printable
from . import markdown as md
from .json import json_text

if TYPE_CHECKING:  # pragma: no cover
    from ..sweep import Sweep, SweepRow

#: The narrowest the title and caption are wrapped to, however narrow the table.
_LEAST_WIDTH = 40

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
    lines = [f"### {md.escape(_sweep_title(result))}", "", *md.table(head, _sweep_cells(result), set(head))]
    return "\n".join(lines) + "\n"


def render_sweep_table(result: Sweep, *, width: int | None = None, color: bool | None = None) -> str:
    """The sweep as a table that fits ``width`` (None: no width), with its title and caption."""
    from .console import console_text, styled
    from .grid import Column, render_grid

    columns = [Column(head, "right", "never", _SWEEP_DROP.get(name, 0)) for name, head, _, _ in SWEEP_COLUMNS]
    lines = render_grid(columns, _sweep_cells(result), width, color=bool(color))
    room = width or len(lines[0])
    # the network's name as written, never read as markup
    words = console_text([styled(printable(_sweep_title(result)))], width=max(room, _LEAST_WIDTH), color=False)
    caption = console_text([SWEEP_CAPTION], width=max(room, _LEAST_WIDTH), color=False)
    return words + "\n".join(lines) + "\n" + caption
