"""The graph examples of the format page run, and the networks page's table is what cnncalc reports."""

from __future__ import annotations

import re

import pytest
from docs_pages import page, section, table
from zoo_table import report

import cnncalc
from cnncalc import spec
from cnncalc.render import format_rf, local_rf

SECTION = section(page("format.md"), "## Graphs, blocks and the model zoo")
EXAMPLES = re.findall(r"```yaml\n(.*?)```", SECTION, re.S)
# name, input, params, MACs, RF: the table the site shows, generated when it is built
TABLE = [(row[0].strip("`"), *row[2:]) for row in table(page("networks.md"), "name")]


@pytest.mark.parametrize("text", EXAMPLES, ids=["residual", "inception", "squeeze-excitation", "two outputs",
                                                "u-net decoder", "like"])
def test_examples_analyse(text: str) -> None:
    r = cnncalc.analyse(cnncalc.load("example.yaml", text=text))
    assert r.layers


def test_inception_example_concatenates_the_branches() -> None:
    r = cnncalc.analyse(cnncalc.load("example.yaml", text=EXAMPLES[1]))
    assert r.totals.output_shape == (64 + 128 + 32, 28, 28)


@pytest.mark.parametrize(("name", "shape", "params", "macs", "rf"), TABLE, ids=[row[0] for row in TABLE])
def test_table_of_bundled_networks(name: str, shape: str, params: str, macs: str, rf: str) -> None:
    r = report(name)
    field = r.totals.receptive_field
    text = "whole input" if field.is_whole else format_rf(field)
    local = local_rf(field)
    if local is not None:
        text += f" (local {format_rf(local)})"
    assert (shape, params, macs, rf.strip()) == (
        "x".join(map(str, r.input_shape)), f"{r.totals.params:,}", f"{r.totals.macs:,}", text)


def test_table_lists_every_bundled_network() -> None:
    assert sorted(row[0] for row in TABLE) == sorted(spec.bundled())
