"""Comparing two analyses layer by layer (matched by name) and in total. Pure: no I/O.

Layers are matched by their full name (``features.0``, ``layer1.0.conv1``): a name only in the
old network is ``removed``, only in the new one ``added``; a matched layer is ``changed`` when its
type, output shape or any figure differs. Rows follow the new network's order, with removed
layers where they stood in the old one.
"""

from __future__ import annotations

from fractions import Fraction

from . import units
from .errors import OptionError
from .report import TOTAL_FIGURES, Change, Diff, Gate, LayerDiff, Report, rf_sizes
from .spec import suggest

__all__ = ["Change", "Diff", "Gate", "LayerDiff", "compare", "matching_blocks", "parse_gate", "rf_sizes"]


def compare(old: Report, new: Report) -> Diff:
    """Match the layers of two analyses by name and compare them."""
    old_rows = {r.name: r for r in old.layers}
    new_rows = {r.name: r for r in new.layers}
    old_names, new_names = list(old_rows), list(new_rows)
    rows: list[LayerDiff] = []
    for i1, i2, j1, j2 in _opcodes(old_names, new_names):
        # a name on both sides but out of order is listed once, where it stands in the new network
        rows += [LayerDiff(n, old_rows[n], None) for n in old_names[i1:i2] if n not in new_rows]
        rows += [LayerDiff(n, old_rows.get(n), new_rows[n]) for n in new_names[j1:j2]]
    return Diff(old, new, tuple(rows))


def matching_blocks(a: list[str], b: list[str]) -> list[tuple[int, int, int]]:
    """``difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks()`` for distinct items.

    difflib finds the longest common run in a window (the earliest in ``a`` on ties) and recurses
    on both sides of it, which takes time quadratic in the number of layers when many layers
    move. With distinct items (layer names) each maximal run is found in one pass, and the
    recursion keeps exactly the runs that, taken longest first (earliest in ``a`` on ties), lie
    wholly before or after every run kept so far in both sequences: O(n log n).
    ``tests/test_scale.py`` holds this to difflib.
    """
    where = {x: j for j, x in enumerate(b)}
    runs: list[tuple[int, int, int]] = []
    i, n, m = 0, len(a), len(b)
    while i < n:
        j = where.get(a[i])
        if j is None:
            i += 1
            continue
        k = 1
        while i + k < n and j + k < m and b[j + k] == a[i + k]:
            k += 1
        runs.append((i, j, k))
        i += k
    # the runs kept form a chain, increasing in both sequences: a candidate fits when it fits
    # between its neighbours in the chain, found by counting in a Fenwick tree over run positions
    size = len(runs)
    tree = [0] * (size + 1)
    top = 1 << size.bit_length()

    def below(r: int) -> int:  # how many kept runs come before run r
        c = 0
        while r > 0:
            c += tree[r]
            r -= r & -r
        return c

    def nth(c: int) -> int:  # position of the c-th kept run (c ≥ 1)
        pos, step = 0, top
        while step:
            if pos + step <= size and tree[pos + step] < c:
                pos += step
                c -= tree[pos]
            step >>= 1
        return pos

    taken = [False] * size
    kept = 0
    for r in sorted(range(size), key=lambda r: (-runs[r][2], runs[r][0])):
        _, j, k = runs[r]
        c = below(r)
        if c:
            _, pj, pk = runs[nth(c)]
            if pj + pk > j:
                continue
        if c < kept and j + k > runs[nth(c + 1)][1]:
            continue
        taken[r] = True
        kept += 1
        x = r + 1
        while x <= size:
            tree[x] += 1
            x += x & -x
    chosen = [run for run, t in zip(runs, taken) if t]
    return [*chosen, (n, m, 0)]


def _opcodes(a: list[str], b: list[str]) -> list[tuple[int, int, int, int]]:
    """The ranges of ``difflib.SequenceMatcher.get_opcodes()`` (without tags), from :func:`matching_blocks`."""
    out = []
    i = j = 0
    for ai, bj, k in matching_blocks(a, b):
        if i < ai or j < bj:
            out.append((i, ai, j, bj))
        i, j = ai + k, bj + k
        if k:
            out.append((ai, i, bj, j))
    return out


def parse_gate(fail_above: str | None, fail_on: tuple[str, ...] = ()) -> tuple[Fraction, tuple[str, ...]] | None:
    """``--fail-above 5%`` and ``--fail-on`` figures as (threshold, figures); None without a threshold."""
    if fail_above is None:
        if fail_on:
            raise OptionError("--fail-on needs --fail-above, e.g. --fail-above 5%")
        return None
    try:
        threshold = units.parse_percent(fail_above)
    except ValueError as e:
        raise OptionError(f"--fail-above: {e}") from None
    for f in fail_on:
        if f not in TOTAL_FIGURES:
            raise OptionError(f"--fail-on: unknown total '{f}'{suggest(f, TOTAL_FIGURES)}; "
                              f"choose from {', '.join(TOTAL_FIGURES)}")
    return threshold, tuple(dict.fromkeys(fail_on)) or tuple(TOTAL_FIGURES)
