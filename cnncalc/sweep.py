"""Sweeps: a network's totals and memory over several input shapes and batch sizes. Pure: no I/O.

The description is loaded and validated once. Each input shape gets its own graph (blocks
expanded and shapes inferred for that input) and one analysis; each further batch size gets its
own memory estimate of that graph. A row's figures are exactly the ``totals`` and ``memory`` of
``analyse(network, input_shape=s, batch=b)`` (``tests/test_scale.py`` holds them to it).

On the command line a list is comma-separated, and a number may be a range written as in a
shell, ``{start..stop}`` or ``{start..stop..step}`` (stop included when a step lands on it):
``3x{224..320..32}`` is ``3x224, 3x256, 3x288, 3x320``; several ranges in one item give every
combination. A shape with fewer axes than the network's input repeats its last size, so
``3x224`` is ``3x224x224`` for an image network.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .analysis import analyse
from .errors import CnnCalcError, OptionError
from .graph import MAX_ELEMENTS, build
from .layers import Shape, fmt_shape
from .memory import MemoryModel
from .report import Sweep, SweepRow
from .spec import Network

#: Most values one option may expand to (and most rows of a sweep).
MAX_VALUES = 10_000

_BRACES = re.compile(r"\{([^{}]*)\}")
_RANGE = re.compile(r"\s*(-?[0-9]+)\s*\.\.\s*(-?[0-9]+)\s*(?:\.\.\s*(-?[0-9]+)\s*)?")
#: Most digits of a number: 2^63 − 1 has 19 (and int() refuses more than 4,300).
_MAX_DIGITS = 19


def _range(body: str, option: str) -> list[str]:
    m = _RANGE.fullmatch(body)
    if m is None:
        raise OptionError(f"{option}: '{{{body}}}' is not a range like {{224..1024..32}} (start..stop..step)")
    if any(g is not None and len(g.lstrip("-0")) > _MAX_DIGITS for g in m.groups()):
        raise OptionError(f"{option}: {{{body}}}: a number is out of range: at most 2^63 − 1")
    start, stop, step = int(m[1]), int(m[2]), int(m[3] or 1)
    if step < 1:
        raise OptionError(f"{option}: the step of {{{body}}} must be positive")
    if start > stop:
        raise OptionError(f"{option}: {{{body}}} runs backwards; ranges go up, like {{{stop}..{start}}}")
    if (stop - start) // step + 1 > MAX_VALUES:
        raise OptionError(f"{option}: {{{body}}} has more than {MAX_VALUES:,} values")
    return [str(v) for v in range(start, stop + 1, step)]


def expand(text: str, option: str) -> list[str]:
    """``3x{224..320..32},3x512`` → ``['3x224', '3x256', '3x288', '3x320', '3x512']``."""
    listed = re.search(r"\{[^{}]*,[^{}]*\}", text)
    if listed:
        raise OptionError(f"{option}: '{listed[0]}': write a list without braces, like 3x224,3x320")
    out: list[str] = []
    for item in text.split(","):
        parts = _BRACES.split(item.strip())  # odd positions: the insides of braces
        if any("{" in p or "}" in p for p in parts[::2]):
            raise OptionError(f"{option}: unbalanced braces in '{item.strip()}'")
        if not item.strip():
            raise OptionError(f"{option}: empty value in '{text}'")
        choices = [[p] if i % 2 == 0 else _range(p, option) for i, p in enumerate(parts)]
        for combo in itertools.product(*choices):
            out.append("".join(combo))
            if len(out) > MAX_VALUES:
                raise OptionError(f"{option}: '{text}' expands to more than {MAX_VALUES:,} values")
    return out


def parse_batches(text: str) -> list[int]:
    """``1,8,32`` or ``{1..64..8}`` → batch sizes."""
    out = []
    for v in expand(text, "--batch"):
        if not (v.isascii() and v.isdigit()) or len(v.lstrip("0")) > _MAX_DIGITS or int(v) < 1:
            raise OptionError(f"--batch: '{v}' is not a positive integer")
        out.append(int(v))
    return out


def fill_spatial(shape: Sequence[int], like: Sequence[Any]) -> Shape:
    """Repeat the last size of ``shape`` until it has as many axes as ``like`` (``3x224`` → ``3x224x224``)."""
    shape = tuple(shape)
    if 2 <= len(shape) < len(like):
        shape += (shape[-1],) * (len(like) - len(shape))
    return shape


def sweep(network: Network, inputs: Sequence[Sequence[int]], batches: Sequence[int], *,
          dtype: str = "fp32", optimizer: str = "adam", amp: bool = False) -> Sweep:
    """Analyse ``network`` at every input shape (filled as by :func:`fill_spatial`) and batch size."""
    if len(inputs) * len(batches) > MAX_VALUES:
        raise OptionError(f"{len(inputs):,} inputs × {len(batches):,} batch sizes is more than {MAX_VALUES:,} rows")
    for b in batches:
        if b > MAX_ELEMENTS:
            raise OptionError("batch must be at most 2^63 − 1, as PyTorch's sizes are")
    rows = []
    for given in inputs:
        shape = fill_spatial(given, network.input)
        try:
            # the file's own input is built as the file's, so that its problems are located there
            graph = build(network, None if list(shape) == list(network.input) else shape)
        except CnnCalcError as e:
            where = f"at input {fmt_shape(shape)}: "
            raise type(e)([replace(p, message=where + p.message) for p in e.problems]) from None
        # the counts do not depend on the batch: one analysis per input, and for each further
        # batch only the memory model's figures (its moments are linear in the batch) and the
        # batch's activation total, as analyse() computes them
        if not batches:
            continue
        report = analyse(graph, batch=batches[0], dtype=dtype, optimizer=optimizer, amp=amp)
        model = MemoryModel(graph, dtype=dtype, amp=amp, optimizer=optimizer) if len(batches) > 1 else None
        t = report.totals
        for b in batches:
            if b == report.batch or model is None:
                rows.append(SweepRow(shape, b, t, report.memory))
                continue
            totals = replace(t, batch=b, activation_bytes_batch=t.activation_bytes * b)
            rows.append(SweepRow(shape, b, totals, model.estimate(b)))
    source = network.source.name if network.source else None
    return Sweep(network.name or "network", source, dtype, optimizer, amp, tuple(rows))
