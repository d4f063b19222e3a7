"""The streamed terminal table of a report: laid out once for all its rows, drawn a chunk at a time.

One pass measures every column (its natural width, and the widest piece a cell cannot be
broken in), :func:`_fit` chooses the columns and their widths for the width at hand, and each
chunk of rows is drawn (:func:`cnncalc.render.console.draw_chunk`) with those fixed widths, its
inner edges cut, so that the pieces join into one table and memory stays flat however many rows
there are. The layout here is plain arithmetic on cell widths; the drawing is the console's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from ..columns import ColumnSet
from ..errors import OptionError
from ..text import printable
from . import console as term
from .console import Cell, cell_width

#: Width of the share bars, in characters.
BAR_WIDTH = 6
#: Rows drawn by one rich table when a table is streamed.
CHUNK_ROWS = 400
#: Cells a column adds to the width of a table besides its text: the rule on its left and a
#: space of padding each side (``│ a ``).
COLUMN_FRAME = 1 + term.CELL_PADDING
#: The rule that closes a table on its right.
RIGHT_EDGE = 1

#: The heading of each column of the layer and memory tables.
HEADERS = {"index": "#", "name": "layer", "type": "type", "output": "output", "params": "params", "macs": "MACs",
           "flops": "FLOPs", "rf": "RF", "jump": "jump", "memory": "memory", "bar": "%",
           "saved": "saved", "peak": "at peak", "read": "read", "written": "written", "intensity": "FLOPs/B"}
#: Where a cell may be broken across lines: a name after its dots; a type (which lists its
#: inputs' names) after spaces and dots. Every other column is never broken.
_BREAKS = {"name": re.compile(r"[^.]*\.+|[^.]+"), "type": re.compile(r"[^ .]*[ .]+|[^ .]+")}
#: Columns whose text is a count: exact (``25,557,032``) when the table fits, else ``25.56 M``.
_COUNTS = ("params", "macs", "flops")


def break_offsets(text: str, width: int, breaks: re.Pattern[str]) -> list[int]:
    """Where to cut ``text`` into lines of at most ``width`` cells: after a break character
    (``breaks`` matches the pieces that end in one), and inside a piece only when the piece
    alone is wider than ``width`` (it folds). Spaces at the end of a line do not count."""
    offsets: list[int] = []
    used = 0  # cells on the current line, its trailing spaces included
    for m in breaks.finditer(text):
        piece = m.group()
        shown = cell_width(piece.rstrip(" "))
        if used and used + shown > width:
            offsets.append(m.start())
            used = 0
        if shown <= width:
            used += cell_width(piece)
            continue
        for i, ch in enumerate(piece):
            size = term.char_width(ch)
            if used and used + size > width and ch != " ":
                offsets.append(m.start() + i)
                used = 0
            used += size
    return offsets


def _cell_lines(cell: Cell, width: int, key: str) -> list[Any]:
    """The lines of one cell at ``width``: the cell itself when it fits, else broken at dots (or spaces)."""
    text = term.plain(cell)
    if cell_width(text) <= width or key not in _BREAKS:
        return [cell]
    return term.divide(cell, break_offsets(text, width, _BREAKS[key]))


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
    natural = {k: max(cell_width(head[k]), cell_width(foot.get(k, ""))) for k in keys}
    own, least = dict(natural), dict(natural)
    widest = [0] * len(keys)
    breakable = [i for i, k in enumerate(keys) if k in _BREAKS] if pieces else []
    for cells in rows:
        for i, cell in enumerate(cells):
            n = cell_width(term.plain(cell))
            if n > widest[i]:
                widest[i] = n
        for i in breakable:
            key, cell = keys[i], cells[i]
            plain = term.plain(cell)
            if not plain:
                continue
            # a type's own text ends where its styled list of inputs begins
            spans = [] if isinstance(cell, str) else cell.spans
            own[key] = max(own[key], cell_width(plain[:spans[0].start] if spans else plain))
            least[key] = max(least[key], *(cell_width(p.rstrip(" ")) for p in _BREAKS[key].findall(plain)))
    for k, w in zip(keys, widest):
        natural[k] = max(natural[k], w)
        if k not in _BREAKS:
            own[k] = least[k] = natural[k]
    return _Measure(natural, own, least)


def _overhead(n: int) -> int:
    """Cells of the box and padding around ``n`` columns: ``│ a │ b │`` is 3 per column and 1."""
    return COLUMN_FRAME * n + RIGHT_EDGE


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
    folded = {k: cell_width(HEADERS[k]) for k in HEADERS}

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
        if then == level and need() + COLUMN_FRAME + fixed[key] <= width:
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
class TableSpec:
    """What a streamed table shows: its columns, and its cells and footers with counts exact or abbreviated."""

    keys: tuple[str, ...]
    headers: dict[str, str]
    footers: Callable[[bool], dict[str, str]]
    cells: Callable[[bool], Iterator[tuple[Cell, ...]]]
    justify: dict[str, str]
    #: a column whose cells are objects shared between rows (the bars), drawn once each
    shared: str | None = None


def _summary_width(lines: list[tuple[str, str]]) -> int:
    """Width of the summary under a table (:func:`cnncalc.render.console.summary`)."""
    if not lines:
        return 0
    return max(cell_width(k) for k, _ in lines) + term.SUMMARY_GAP + max(cell_width(printable(v)) for _, v in lines)


def stream(spec: TableSpec, *, title: str, width: int | None, color: bool | None, columns: ColumnSet,
         chosen: Sequence[str] | None, summary: list[tuple[str, str]], caption: str | None = None
         ) -> Iterator[str]:
    """The title, the table a chunk of rows at a time, and the summary, as text ending in newlines."""
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
    title_text = printable(title)
    if width is None:  # no wrapping: as wide as the widest part
        width = max(table_width, cell_width(title_text), _summary_width(summary), cell_width(caption or ""))
    console = term.make_console(max(width, table_width), color)
    yield "\n".join(term.captured(console, term.styled(title_text))) + "\n"

    index = [keys.index(k) for k in cols]
    right = {k: spec.justify[k] == "right" for k in cols}
    footers = spec.footers(short)
    rows = spec.cells(short)
    chunk = list(islice(rows, CHUNK_ROWS))
    first = True
    while True:
        after = list(islice(rows, CHUNK_ROWS))
        last = not after
        lines = term.draw_chunk(console, chunk, index=index, cols=cols, widths=widths, headers=spec.headers,
                                footers=footers, right=right, dim="index", split=_cell_lines,
                                breakable=_BREAKS.keys(), shared=spec.shared, first=first, last=last)
        yield "\n".join(lines) + "\n"
        if last:
            break
        chunk, first = after, False
    tail: list[Any] = []
    if caption:
        tail.append(term.styled(caption))
    if left_out:
        tail.append(term.styled(f"Left out to fit {width} columns: {', '.join(left_out)} (a wider terminal shows "
                                "them, and so does output piped without COLUMNS or written with -o)"))
    tail.append(term.summary(summary))
    for part in tail:
        yield "\n".join(term.captured(console, part)) + "\n"

