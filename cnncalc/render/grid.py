"""Long tables that fit a width: columns chosen by priority, names wrapped at dots, rows streamed.

rich measures every cell of every row before it draws a table, over a millisecond a row: 100,000
rows of ``cnncalc diff`` took minutes. Here the widths are chosen in one pass over the cells, and
each row is drawn on its own with rich's box characters (the ``HEAVY_HEAD`` box of the report
table), so the time is linear and a row costs microseconds. ``tests/test_scale.py`` holds the
drawing to rich's own rendering of the same table.

Layout, for a width (``None``: a file or a pipe without ``COLUMNS``, which has no width):

- every column at its natural width when that fits (or when there is no width);
- else the columns of highest ``drop`` rank go first (0: always kept), until the kept columns fit
  with every name and every shape whole and the other text at its narrowest: a number column never wraps, a
  change of shape wraps after its arrow (a shape itself at its spaces), other text wraps at a
  space, a heading at a space; a name wraps only after a dot, and only once every
  column that may go has gone;
- the width left over goes first to the shapes, so that each stays whole on its line (every row
  would be taller otherwise), then to the names, then to the other columns, up to their natural
  width. Only when the always-kept columns cannot fit at all does a piece longer than its column
  fold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from .console import CELL_PADDING, HEAVY_HEAD, cell_width

Wrap = Literal["never", "dots", "words", "arrows"]

#: A table's frame: ``│ `` before the first cell, `` │ `` between cells, `` │`` after the last.
_EDGE, _GAP = 4, 3
#: Narrowest a wrapping column gets when the table cannot fit otherwise.
_FLOOR = 6


@dataclass(frozen=True)
class Column:
    """A column: heading, alignment, how its cells may wrap, and its drop rank (0: always kept)."""

    head: str
    justify: Literal["left", "right"] = "left"
    wrap: Wrap = "never"
    drop: int = 0


_DOT_PIECES = re.compile(r"[^.]*(?:\.|$)")
_WORDS = re.compile(r"\S+\s*")
#: ``[64, 56, 56] → [256, 56, 56]``: a shape whole, a line broken only after an arrow.
_ARROW_PIECES = re.compile(r"[^→]*→\s*|[^→]+")


def pieces(text: str, wrap: Wrap) -> list[str]:
    """The unbreakable pieces of a cell: after each dot (``dots``), at spaces (``words``), after each
    arrow (``arrows``), or whole."""
    if wrap == "arrows":
        return _ARROW_PIECES.findall(text) or [text]
    if wrap == "dots":
        return [p for p in _DOT_PIECES.findall(text) if p] or [text]
    if wrap == "words":
        found = _WORDS.findall(text)
        lead = text[: len(text) - len(text.lstrip())]
        return ([lead + found[0], *found[1:]] if found else [text]) if lead else (found or [text])
    return [text]


def _fold(piece: str, width: int) -> list[str]:
    """A piece longer than ``width`` cut into lines of at most ``width`` cells (the last resort)."""
    out, line = [], ""
    for ch in piece:
        if line and cell_width(line + ch) > width:
            out.append(line)
            line = ""
        line += ch
    return [*out, line]


def wrap_cell(text: str, width: int, wrap: Wrap) -> list[str]:
    """``text`` as lines of at most ``width`` cells, broken only where ``wrap`` allows."""
    # a space where a line breaks is dropped; a name keeps every character it has
    trim = str.rstrip if wrap in ("words", "arrows") else str
    lines: list[str] = []
    for paragraph in text.split("\n"):
        if wrap == "never" or cell_width(paragraph) <= width:
            lines.append(paragraph)
            continue
        line = ""
        for p in pieces(paragraph, wrap):
            if line and cell_width(trim(line + p)) > width:
                lines.append(trim(line))
                line = ""
            if cell_width(trim(p)) > width:
                # a shape too wide for the column breaks at its spaces before it folds
                *full, line = wrap_cell(trim(p), width, "words") if wrap == "arrows" else _fold(trim(p), width)
                lines += full
                line += p[len(trim(p)):]  # the space after the piece still parts it from the next
            else:
                line += p
        lines.append(trim(line))
    return lines


def _narrowest(text: str, wrap: Wrap) -> int:
    return max((cell_width(p.rstrip()) for line in text.split("\n") for p in pieces(line, wrap)), default=0)


def _natural(text: str) -> int:
    return max((cell_width(line) for line in text.split("\n")), default=0)


def frame_width(widths: Iterable[int]) -> int:
    """Width of a table whose columns are ``widths`` wide (one space of padding on each side)."""
    ws = list(widths)
    return sum(ws) + _GAP * (len(ws) - 1) + _EDGE if ws else 0


def layout(columns: Sequence[Column], rows: Iterable[Sequence[str]], width: int | None) -> list[int | None]:
    """The width of each column (None: dropped) so that the table fits ``width``; one pass over ``rows``."""
    natural = [_natural(c.head) for c in columns]
    # a heading wraps at its spaces; a cell as its column allows
    least = [_narrowest(c.head, "words") for c in columns]
    # ``arrows``: as narrow as a shape broken at its spaces, as wide as one whole shape when there is room
    whole_piece = [0] * len(columns)
    for row in rows:
        for i, text in enumerate(row):
            n = _natural(text)
            if n > natural[i]:
                natural[i] = n
            c = columns[i]
            m = n if c.wrap == "never" else _narrowest(text, "words" if c.wrap == "arrows" else c.wrap)
            if m > least[i]:
                least[i] = m
            if c.wrap == "arrows" and (w := _narrowest(text, "arrows")) > whole_piece[i]:
                whole_piece[i] = w
    if width is None or frame_width(natural) <= width:
        return list(natural)
    kept = list(range(len(columns)))
    # drop the highest ranks first, the rightmost of a rank first, while the rest cannot fit with
    # every name whole: a column goes before a name is wrapped
    # (and every shape on one line: a shape broken in every row makes the whole table taller)
    whole = [n if c.wrap == "dots" else max(a, p) if c.wrap == "arrows" else a
             for a, n, p, c in zip(least, natural, whole_piece, columns)]
    for i in sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: (-columns[i].drop, -i)):
        if frame_width(whole[k] for k in kept) <= width:
            break
        kept.remove(i)
    widths: dict[int, int] = {k: least[k] for k in kept}
    spare = width - frame_width(widths.values())
    if spare < 0:
        # the kept columns cannot fit whole: the wrapping ones fold, widest first, down to a floor
        for k in sorted((k for k in kept if columns[k].wrap != "never"), key=lambda k: -widths[k]):
            cut = min(-spare, widths[k] - min(_FLOOR, widths[k]))
            widths[k] -= cut
            spare += cut
            if spare >= 0:
                break
    # a shape broken across lines makes every row of the table taller: shapes whole come first
    for k in (k for k in kept if columns[k].wrap == "arrows"):
        grow = max(0, min(spare, whole_piece[k] - widths[k]))
        widths[k] += grow
        spare -= grow
    for k in sorted(kept, key=lambda k: columns[k].wrap != "dots"):
        if spare <= 0:
            break
        grow = min(spare, natural[k] - widths[k])
        widths[k] += grow
        spare -= grow
    return [widths.get(i) for i in range(len(columns))]


def _pad(text: str, width: int, justify: str) -> str:
    fill = " " * (width - cell_width(text))
    return fill + text if justify == "right" else text + fill


class Grid:
    """A laid-out table: draws its top, its heading, any number of rows, and its bottom."""

    def __init__(self, columns: Sequence[Column], widths: Sequence[int | None], *, color: bool = False) -> None:
        kept = [(c, w) for c, w in zip(columns, widths) if w is not None]
        self.index = [i for i, w in enumerate(widths) if w is not None]
        self.columns = [c for c, _ in kept]
        self.widths = [w for _, w in kept]
        self.color = color
        self.box = HEAVY_HEAD
        self.padded = [w + CELL_PADDING for w in self.widths]

    @property
    def width(self) -> int:
        """Width of every line of the table."""
        return frame_width(self.widths)

    def _lines(self, cells: Sequence[str], left: str, mid: str, right: str, *, head: bool = False) -> list[str]:
        split = [wrap_cell(text, w, "words" if head else c.wrap) for text, w, c in zip(cells, self.widths,
                                                                                         self.columns)]
        height = max((len(s) for s in split), default=1)
        if head:  # headings sit on the line above the rows, as rich sets them
            split = [[""] * (height - len(s)) + s for s in split]
        bold, reset = ("\x1b[1m", "\x1b[0m") if head and self.color else ("", "")
        out = []
        for k in range(height):
            parts = [_pad(s[k] if k < len(s) else "", w, c.justify) for s, w, c in zip(split, self.widths,
                                                                                          self.columns)]
            if bold:
                parts = [bold + p + reset for p in parts]
            out.append(f"{left} " + f" {mid} ".join(parts) + f" {right}")
        return out

    def head(self) -> list[str]:
        """The top border, the headings and the line under them."""
        b = self.box
        return [b.get_top(self.padded), *self._lines([c.head for c in self.columns], b.head_left,
                                                      b.head_vertical, b.head_right, head=True),
                b.get_row(self.padded, "head")]

    def row(self, cells: Sequence[str]) -> list[str]:
        """The lines of one row (all the cells of the row, dropped columns included)."""
        b = self.box
        return self._lines([cells[i] for i in self.index], b.mid_left, b.mid_vertical, b.mid_right)

    def bottom(self) -> str:
        """The bottom border."""
        return self.box.get_bottom(self.padded)

    def lines(self, rows: Iterable[Sequence[str]]) -> Iterator[str]:
        """The whole table, line by line."""
        yield from self.head()
        for cells in rows:
            yield from self.row(cells)
        yield self.bottom()


def render_grid(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None, *,
                color: bool = False) -> list[str]:
    """``rows`` under ``columns`` as table lines that fit ``width`` (no limit when None)."""
    grid = Grid(columns, layout(columns, rows, width), color=color)
    return list(grid.lines(rows))
