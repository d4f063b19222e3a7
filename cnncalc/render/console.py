"""The terminal: the only module of cnncalc that imports rich.

Everything drawn for a terminal goes through here: styled cells, tables, the chunks of a
streamed table, the share bars, and the capture of what a console prints as plain text (ANSI
codes only when colour is asked for). The other renderers build their rows as strings and hand
them over; the machine formats (JSON, CSV, Markdown, GitHub, JUnit, HTML) never import this
module, so they never load rich.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from rich import box
from rich.bar import Bar
from rich.cells import cell_len, get_character_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from ..text import printable

#: A cell of a table: a ``str``, or a styled text (:func:`styled`) where a cell carries styles.
Cell = Any
#: The box of every table: a heavy rule under the headings (rich's default for a table).
HEAVY_HEAD = box.HEAVY_HEAD
#: The console width that stands for "no width": rich lays a table out at its natural width inside it.
UNWRAPPED = 100_000
#: Spaces between a summary's labels and their texts.
SUMMARY_GAP = 2
#: A cell's padding: one space each side of its text.
CELL_PADDING = 2
#: Width of a console that was given none (rich's own default is the terminal's, which a file has not).
DEFAULT_WIDTH = 120


def cell_width(text: str) -> int:
    """Terminal cells taken by ``text`` (wide characters take two)."""
    return len(text) if text.isascii() else cell_len(text)


def char_width(ch: str) -> int:
    """Terminal cells taken by one character."""
    return get_character_cell_size(ch)


def plain(cell: Cell) -> str:
    """The text of a cell without its styles."""
    return cell if isinstance(cell, str) else cell.plain


def styled(text: str, style: str | None = None) -> Cell:
    """``text`` as a cell that is never read as markup (``[bold]x`` is a name, not a style)."""
    return Text(text) if style is None else Text(text, style=style)


def with_note(cell: Cell, note: str, style: str) -> Cell:
    """``cell`` followed by ``note`` in ``style`` (a type, then the inputs it names in italics)."""
    out = Text(cell) if isinstance(cell, str) else cell
    out.append(note, style=style)
    return out


def divide(cell: Cell, offsets: list[int]) -> list[Cell]:
    """``cell`` cut into lines at ``offsets``, each line's trailing spaces dropped."""
    lines = (Text(cell) if isinstance(cell, str) else cell).divide(offsets)
    for line in lines:
        line.rstrip()
    return list(lines)


def make_console(width: int, color: bool | None) -> Console:
    """A console that prints into a string, ``width`` cells wide, in colour only when ``color``."""
    return Console(file=io.StringIO(), width=width, no_color=not color, force_terminal=bool(color),
                   color_system="standard" if color else None, highlight=False, emoji=False, markup=False)


def captured(console: Console, renderable: Any) -> list[str]:
    """The lines ``console`` prints for ``renderable``, trailing spaces stripped."""
    with console.capture() as capture:
        console.print(renderable)
    return [line.rstrip() for line in capture.get().splitlines()]


def summary(lines: list[tuple[str, str]]) -> Any:
    """A two-column grid of (bold label, text); the text is shown literally (control characters escaped)."""
    grid = Table.grid(padding=(0, SUMMARY_GAP))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, text in lines:
        grid.add_row(Text(label), Text(printable(text)))
    return grid


def table(columns: Sequence[tuple[str, dict[str, Any]]], rows: Iterable[Sequence[Cell]]) -> Any:
    """A rich table with bold headings: ``columns`` as (heading, ``Table.add_column`` options); a ``str``
    cell may hold rich markup, a :func:`styled` one is shown as written."""
    drawn = Table(header_style="bold")
    for head, options in columns:
        drawn.add_column(head, **options)
    for row in rows:
        drawn.add_row(*row)
    return drawn


def console_text(renderables: list[Any], *, width: int | None, color: bool | None) -> str:
    """Print rich renderables to a string at ``width`` (ANSI codes only when ``color``), lines stripped."""
    console = Console(
        file=io.StringIO(), width=width or DEFAULT_WIDTH, no_color=not color, force_terminal=bool(color),
        color_system="standard" if color else None, highlight=False,
    )
    for r in renderables:
        console.print(r)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def bar_cell(memo: dict[tuple[str, int], Any], share: float, label: str, width: int) -> Cell:
    """``13% ▊`` : the share's ``label`` and a bar ``width`` cells wide, drawn by rich once per eighth of a cell."""
    key = (label, int(width * 8 * share))  # rich's Bar draws in eighths of a cell
    cell = memo.get(key)
    if cell is None:
        drawn = Bar(1.0, 0.0, share, width=width, color="magenta", bgcolor="grey23")
        console = make_console(width, False)
        ink = "".join(s.text for s in console.render(drawn, console.options) if s.text != "\n")
        # the label right-aligned in three cells, so that "13%", " 5%" and "<1%" line up
        cell = memo[key] = Text(f"{label:>3} ")
        cell.append(ink, style=drawn.style)
    return cell


class _Block:
    """The lines of one column over a chunk of rows, already cut to the column's width and
    justified: rich draws them inside its table as they are (measuring and wrapping each line
    through rich's Text was most of the time of a long table)."""

    def __init__(self, lines: list[list[Segment]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """One line of segments after another."""
        newline = Segment.line()
        for line in self.lines:
            yield from line
            yield newline


def padded(text: str, width: int, right: bool) -> str:
    """``text`` justified in ``width`` cells, with a space each side."""
    gap = " " * max(0, width - cell_width(text))
    return f" {gap}{text} " if right else f" {text}{gap} "


def _justified(line: Cell, width: int, right: bool, console: Console) -> list[Segment]:
    """One line of a cell as segments ``width`` cells wide and a space each side, its styles kept."""
    if isinstance(line, str) or not (line.spans or line.style):
        return [Segment(padded(plain(line), width, right))]
    gap = " " * max(0, width - cell_width(line.plain))
    segments = list(line.render(console))
    return [Segment(" " + gap), *segments, Segment(" ")] if right else [Segment(" "), *segments, Segment(gap + " ")]


def _chunk_blocks(chunk: list[tuple[Cell, ...]], index: list[int], cols: list[str], widths: dict[str, int],
                  right: dict[str, bool], split: Callable[[Cell, int, str], list[Cell]], breakable: Collection[str],
                  shared: str | None, console: Console) -> list[_Block]:
    """One block per column holding every row of the chunk, each row as tall as its tallest cell."""
    lines: list[list[list[Segment]]] = [[] for _ in cols]
    blank = {k: _justified("", widths[k], False, console) for k in cols}
    drawn_once: dict[int, list[Segment]] = {}  # the cells of the ``shared`` column are shared objects
    for cells in chunk:
        row = [split(cells[i], widths[k], k) if k in breakable else [cells[i]] for i, k in zip(index, cols)]
        height = max(len(c) for c in row)
        for out, k, c in zip(lines, cols, row):
            w, r = widths[k], right[k]
            if k == shared:
                drawn = drawn_once.get(id(c[0]))
                if drawn is None:
                    drawn = drawn_once[id(c[0])] = _justified(c[0], w, r, console)
                out.append(drawn)
            else:
                out.extend(_justified(x, w, r, console) for x in c)
            if len(c) < height:
                out.extend([blank[k]] * (height - len(c)))
    return [_Block(out) for out in lines]


def draw_chunk(console: Console, chunk: list[tuple[Cell, ...]], *, index: list[int], cols: list[str],
               widths: dict[str, int], headers: dict[str, str], footers: dict[str, str], right: dict[str, bool],
               dim: str, split: Callable[[Cell, int, str], list[Cell]], breakable: Collection[str],
               shared: str | None, first: bool, last: bool) -> list[str]:
    """The lines of one chunk of a streamed table: headings on the ``first``, footers on the ``last``.

    ``cols`` at ``widths`` (the cell, without padding); ``index`` says which cell of a row each
    column shows; ``split`` cuts a cell of a ``breakable`` column into the lines of its column; the
    column ``dim`` is dimmed, and the cells of the column ``shared`` are objects shared between
    rows, drawn once each. The
    pieces join into one table: the bottom edge of all but the last, the top of all but the first, go.
    """
    # the cells bring their own padding of one space a side (see padded): rich's padding wraps
    # every cell in one more renderable, a third of the time of a long table
    drawn = Table(show_header=first, show_footer=last, header_style="bold", footer_style="bold", padding=0)
    for k in cols:
        head, foot = (padded(x, widths[k], right[k]) for x in (headers[k], footers.get(k, "")))
        drawn.add_column(head, footer=foot, style="dim" if k == dim else None, width=widths[k] + CELL_PADDING,
                         no_wrap=True, overflow="fold")
    if chunk:
        drawn.add_row(*_chunk_blocks(chunk, index, cols, widths, right, split, breakable, shared, console))
    lines = captured(console, drawn)
    return lines[0 if first else 1:None if last else -1]


class Drawn:
    """Text drawn for a width and a choice of colour, shown on a rich console at the console's width
    and colours: ``draw(width, color)`` gives the text, ANSI codes and all (a report's table)."""

    def __init__(self, draw: Callable[[int, bool], str]) -> None:
        self.draw = draw

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """The drawn text, its colours read back into rich styles."""
        color = console.color_system is not None and not console.no_color
        text = self.draw(options.max_width, color)
        lines = Text.from_ansi(text.rstrip("\n"), no_wrap=True, overflow="ignore").split("\n")
        for line in lines:
            line.rstrip()  # a styled span (the title) may end in padding that the plain text has not
        yield Text("\n", no_wrap=True, overflow="ignore").join(lines)
