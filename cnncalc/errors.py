"""The one exception tree of cnncalc.

::

    CnnCalcError                 anything cnncalc reports to a user (exit code 2 in the CLI)
     ├── SourceError             the file cannot be read: missing, a directory, unreadable, not UTF-8
     ├── SpecError               the description is malformed: syntax, schema, wiring, expressions
     │    └── ShapeError         a layer cannot be applied to the shape that reaches it
     └── OptionError             a value given on the command line or to the API is invalid

Every error carries one or more :class:`Problem` s, each with a location, so that all problems
of a file can be reported together and each message reads
``net.yaml:14:7: layer 'conv3' (conv2d): kernel_size 7 is larger than the padded input 5``.
The CLI catches :class:`CnnCalcError` once, at its edge; anything else is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass

from .text import printable


@dataclass(frozen=True)
class Problem:
    """One located problem: where it is and what is wrong."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    layer: str | None = None
    layer_type: str | None = None
    index: int | None = None

    def format(self) -> str:
        """Render as ``file:line:col: layer 'name' (type): message``, control characters made visible."""
        where = ""
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        who = ""
        if self.layer is not None or self.index is not None:
            who = f"layer '{self.layer}'" if self.layer is not None else f"layer #{self.index}"
            if self.layer_type:
                who += f" ({self.layer_type})"
            who += ": "
        # file, names and messages quote user text, read on a terminal: an ESC there would act
        return printable(f"{where}{who}{self.message}")


#: Most problems reported at once; a file with more gets one more line saying so.
MAX_PROBLEMS = 100


def capped(problems: list[Problem], more: int = 0) -> list[Problem]:
    """The first :data:`MAX_PROBLEMS` problems, and a line counting the rest (``more`` were not even listed)."""
    rest = max(len(problems) - MAX_PROBLEMS, 0) + more
    if not rest:
        return problems
    kept = problems[:MAX_PROBLEMS]
    file = next((p.file for p in kept if p.file), None)
    return [*kept, Problem(f"{rest:,} more problem{'s' if rest != 1 else ''} not shown", file=file)]


class CnnCalcError(Exception):
    """Base of every error cnncalc reports to a user."""

    def __init__(self, problems: list[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        self.problems: list[Problem] = list(problems)
        super().__init__(self.format())

    def format(self) -> str:
        """All problems, one per line."""
        return "\n".join(p.format() for p in self.problems)


class SourceError(CnnCalcError):
    """The description cannot be read at all."""


class SpecError(CnnCalcError):
    """The description is malformed."""


class ShapeError(SpecError):
    """A layer cannot be applied to its input shape."""


class OptionError(CnnCalcError):
    """An option value is invalid."""


class LayerError(Exception):
    """Raised by a layer rule with a bare message; the graph adds file, line and layer."""
