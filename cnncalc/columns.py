"""The columns of the terminal tables of ``cnncalc report``: their names and the order they give way.

A light module (no rich, no Pydantic), so that ``--help`` can list the names. The per-layer
table and the ``--memory`` table each have:

* their columns, in the order shown, by the name ``--columns`` takes;
* the columns always shown, which identify a row and carry its main figures;
* the columns dropped first when the width is short (before a name is wrapped), and those
  dropped later (after names are wrapped at dots and still do not fit), in the order dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import OptionError


@dataclass(frozen=True)
class ColumnSet:
    """The columns of one table and how they give way to a narrow width."""

    names: tuple[str, ...]
    kept: tuple[str, ...]
    drop_first: tuple[str, ...]
    drop_later: tuple[str, ...]


LAYER = ColumnSet(
    names=("index", "name", "type", "output", "params", "macs", "flops", "rf", "jump", "memory", "bar"),
    kept=("name", "output", "params", "macs"),
    drop_first=("bar", "jump", "flops", "memory"),
    drop_later=("rf", "index", "type"),
)

MEMORY = ColumnSet(
    names=("index", "name", "type", "output", "saved", "peak", "read", "written", "intensity"),
    kept=("name", "output", "saved", "peak"),
    drop_first=("intensity", "read", "written"),
    drop_later=("index", "type"),
)


def parse_columns(text: str, *, memory: bool = False) -> tuple[str, ...]:
    """``name,output,params`` → the chosen columns, in that order; ``name`` is always among them.

    Raises :class:`OptionError` naming the valid columns when one is unknown or none is given.
    """
    valid = (MEMORY if memory else LAYER).names
    chosen: list[str] = []
    for part in text.split(","):
        key = part.strip().lower()
        if key and key not in chosen:
            chosen.append(key)
    unknown = [k for k in chosen if k not in valid]
    table = "the --memory table" if memory else "the table"
    if unknown or not chosen:
        what = (f"unknown column{'s' * (len(unknown) > 1)} " + ", ".join(repr(k) for k in unknown)
                if unknown else "no column given")
        raise OptionError(f"--columns: {what}; {table} has: {', '.join(valid)}")
    if "name" not in chosen:
        # a row is identified by its layer's name: it is shown even when not asked for
        chosen.insert(1 if chosen[0] == "index" else 0, "name")
    return tuple(chosen)
