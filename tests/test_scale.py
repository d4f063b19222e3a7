"""The fast paths of ``diff``, ``sweep`` and ``explain`` give what the straightforward ones give.

Each optimisation is held to a plain reference: the layer matching to :mod:`difflib`, the
streamed diff JSON to ``json.dumps``, a sweep row to its own ``analyse``, the shared explain lines
to lines built for every layer, the streamed table to rich's rendering of the same table.
"""

from __future__ import annotations

import difflib
import io
import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cnncalc
from cnncalc.analysis import analyse
from cnncalc.diff import LayerDiff, compare, matching_blocks
from cnncalc.explain import _Explainer, explain
from cnncalc.graph import build
from cnncalc.render.diff import render_diff_json
from cnncalc.render.explain import render_text
from cnncalc.render.grid import Column, Grid, layout, wrap_cell
from cnncalc.sweep import fill_spatial, sweep

# -- matching layers by name ------------------------------------------------------------------


def reference_compare(old: Any, new: Any) -> list[tuple[str, bool, bool]]:
    """``diff.compare`` as first written, on difflib: (name, in old, in new) per row."""
    old_rows = {r.name: r for r in old.layers}
    new_rows = {r.name: r for r in new.layers}
    a, b = list(old_rows), list(new_rows)
    rows = []
    for _, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        rows += [(n, True, False) for n in a[i1:i2] if n not in new_rows]
        rows += [(n, n in old_rows, True) for n in b[j1:j2]]
    return rows


@st.composite
def edited(draw: Any) -> tuple[list[str], list[str]]:
    """Distinct names, and an edit of them: layers removed, added and moved, singly or in runs."""
    n = draw(st.integers(0, 40))
    a = [f"l{i}" for i in range(n)]
    b = list(a)
    for op, x, y, k in draw(st.lists(st.tuples(st.sampled_from("dam"), st.integers(0, 99), st.integers(0, 99),
                                               st.integers(1, 5)), max_size=12)):
        if op == "d" and b:
            del b[x % len(b):x % len(b) + k]
        elif op == "a":
            b[y % (len(b) + 1):y % (len(b) + 1)] = [f"new{x}_{i}" for i in range(k) if f"new{x}_{i}" not in b]
        elif op == "m" and b:
            run = b[x % len(b):x % len(b) + k]
            del b[x % len(b):x % len(b) + k]
            b[y % (len(b) + 1):y % (len(b) + 1)] = run
    return a, b


@given(edited())
def test_matching_blocks_are_difflibs(pair: tuple[list[str], list[str]]) -> None:
    a, b = pair
    expected = [tuple(m) for m in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks()]
    assert matching_blocks(a, b) == expected


@given(st.permutations([f"n{i}" for i in range(30)]), st.permutations([f"n{i}" for i in range(30)]))
def test_matching_blocks_of_any_reordering_are_difflibs(a: list[str], b: list[str]) -> None:
    expected = [tuple(m) for m in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks()]
    assert matching_blocks(a, b) == expected


PAIRS = [("resnet18", "resnet34"), ("resnet50", "resnext50_32x4d"), ("vgg16", "vgg16_bn"),
         ("mobilenet_v2", "mobilenet_v3_large"), ("googlenet", "inception_v3"), ("densenet121", "resnet50")]


@pytest.mark.parametrize("old,new", PAIRS)
def test_compare_matches_the_difflib_reference_on_bundled_networks(old: str, new: str) -> None:
    a, b = analyse(cnncalc.load(old)), analyse(cnncalc.load(new))
    for x, y in ((a, b), (b, a)):
        got = [(d.name, d.old is not None, d.new is not None) for d in compare(x, y).layers]
        assert got == reference_compare(x, y)


def test_matching_is_not_quadratic_when_every_layer_moves() -> None:
    # every pair of neighbours swapped: difflib recurses once per layer over the rest, n²/2 steps
    n = 100_000
    a = [f"layer{i}" for i in range(n)]
    b = [a[i ^ 1] for i in range(n)]
    start = time.perf_counter()
    blocks = matching_blocks(a, b)
    assert time.perf_counter() - start < 60  # a generous bound: about 1 s, where difflib takes some 40 minutes
    assert len(blocks) == n // 2 + 1  # the first of each swapped pair, as difflib keeps it
    assert blocks[:-1] == [(2 * k, 2 * k + 1, 1) for k in range(n // 2)]


# -- diff output ------------------------------------------------------------------------------


@pytest.mark.parametrize("old,new", PAIRS[:4])
def test_streamed_diff_json_is_json_dumps(old: str, new: str) -> None:
    d = compare(analyse(cnncalc.load(old)), analyse(cnncalc.load(new)))
    gate = d.gate(__import__("fractions").Fraction(5))
    for g in (None, gate):
        text = render_diff_json(d, gate=g)
        assert text == json.dumps(d.to_dict(g), indent=2) + "\n"
        assert json.loads(text)["summary"] == d.summary()


def test_a_layer_status_is_computed_once_and_is_the_same() -> None:
    d = compare(analyse(cnncalc.load("resnet18")), analyse(cnncalc.load("resnet34")))
    for x in d.layers:
        fresh = LayerDiff(x.name, x.old, x.new)
        assert fresh.status == x.status == x.status


# -- sweep ------------------------------------------------------------------------------------


@pytest.mark.parametrize("net,shapes,batches,options", [
    ("resnet50", [(3, 224), (3, 320)], [1, 7, 32], {}),
    ("mobilenet_v2", [(3, 160)], [2, 1, 64], {"optimizer": "sgd"}),
    ("vgg16_bn", [(3, 64)], [1, 3], {"dtype": "fp16", "amp": True}),
    ("lenet5", [(1, 28), (1, 60)], [5, 1], {"dtype": "int8", "optimizer": "none"}),
    ("efficientnet_b0", [(3, 224)], [1, 16], {"dtype": "bf16", "optimizer": "adamw"}),
])
def test_sweep_rows_are_each_their_own_analysis(net: str, shapes: list[tuple[int, ...]], batches: list[int],
                                                 options: dict[str, Any]) -> None:
    network = cnncalc.load(net)
    result = sweep(network, shapes, batches, **options)
    expected = [(fill_spatial(s, network.input), b) for s in shapes for b in batches]
    assert [(r.input_shape, r.batch) for r in result.rows] == expected
    for row in result.rows:
        report = analyse(build(network, row.input_shape), batch=row.batch, **options)
        assert row.totals == report.totals
        assert row.memory == report.memory


# -- explain ----------------------------------------------------------------------------------


class _Unshared(dict):  # type: ignore[type-arg]
    """A cache that keeps nothing: every layer's lines built anew, as before they were shared."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


@pytest.mark.parametrize("net", ["mobilenet_v1", "resnet50", "densenet121", "efficientnet_b0", "convnext_tiny"])
def test_shared_explain_lines_are_those_built_for_each_layer(net: str, monkeypatch: pytest.MonkeyPatch) -> None:
    network = cnncalc.load(net)
    shared = explain(network)
    init = _Explainer.__init__

    def unshared_init(self: _Explainer, *args: Any) -> None:
        init(self, *args)
        self.shared = _Unshared()

    monkeypatch.setattr(_Explainer, "__init__", unshared_init)
    plain = explain(network)
    assert [(e.name, e.values) for e in shared] == [(e.name, e.values) for e in plain]
    for width in (None, 80):
        assert render_text(shared, width=width) == render_text(plain, width=width)


# -- the streamed table -----------------------------------------------------------------------


def rich_table(columns: list[Column], widths: list[int | None], rows: list[list[str]]) -> list[str]:
    """The same table drawn by rich: fixed widths, the cells already wrapped by the layout."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    grid = Grid(columns, widths)
    table = Table(box=box.HEAVY_HEAD, header_style="bold")
    for c, w in zip(grid.columns, grid.widths):
        table.add_column(Text("\n".join(wrap_cell(c.head, w, "words"))), justify=c.justify, width=w, no_wrap=True)
    for row in rows:
        table.add_row(*(Text("\n".join(wrap_cell(row[i], w, c.wrap)))
                        for i, c, w in zip(grid.index, grid.columns, grid.widths)))
    console = Console(file=io.StringIO(), width=grid.width, no_color=True, highlight=False)
    console.print(table)
    return [line.rstrip() for line in console.file.getvalue().splitlines()]  # type: ignore[attr-defined]


NAME = st.lists(st.text("abcdefgh_", min_size=1, max_size=12), min_size=1, max_size=5).map(".".join)
FIGURE = st.integers(-10**12, 10**12).map(lambda n: f"{n:+,}")
WORDS = st.lists(st.text("xyz[]→0", min_size=1, max_size=8), min_size=1, max_size=4).map(" ".join)


@given(st.lists(st.tuples(NAME, FIGURE, WORDS, FIGURE), min_size=1, max_size=8), st.integers(40, 140))
def test_the_streamed_table_is_richs_table(rows: list[tuple[str, ...]], width: int) -> None:
    columns = [Column("layer", "left", "dots"), Column("params", "right"), Column("output shape", "left", "words", 1),
               Column("MACs per sample", "right", "never", 2)]
    cells = [list(r) for r in rows]
    widths = layout(columns, cells, width)
    grid = Grid(columns, widths)
    ours = [line.rstrip() for line in grid.lines(cells)]
    assert ours == rich_table(columns, widths, cells)
    assert all(len(line) <= width for line in ours)
    name_width = widths[0]
    assert name_width is not None
    assert all("".join(wrap_cell(r[0], name_width, "dots")) == r[0] for r in rows)
