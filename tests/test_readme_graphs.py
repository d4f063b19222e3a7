"""The graph examples of the format page run, and the networks page's table is what cnncalc reports."""

from __future__ import annotations

import re

import pytest
from docs_pages import page, section, table
from zoo_table import report

import cnncalc
from cnncalc import spec
from cnncalc.formatting import format_rf, local_rf

SECTION = section(page("format.md"), "## Graphs, blocks and the model zoo")
EXAMPLES = re.findall(r"```yaml\n(.*?)```", SECTION, re.S)
# name, input, params, MACs, RF: the table the site shows, generated when it is built
TABLE = [(row[0].strip("`"), *row[2:]) for row in table(page("networks.md"), "name")]


#: Each example's outputs (name, shape) and parameters, worked out by hand: a convolution has
#: k·k·C_in·C_out weights and C_out biases, a transposed one the same, batch norm 2·C.
EXPECTED = {
    # torchvision's ResNet-50 layer1 and layer2, as `named_parameters()` counts them
    "residual": ([("layer2.3.relu", (512, 28, 28))], 215_808 + 1_219_584),
    "inception": ([("cat", (64 + 128 + 32, 28, 28))],
                  (192 * 64 + 64) + (192 * 96 + 96) + (9 * 96 * 128 + 128) + (192 * 32 + 32)),
    "squeeze-excitation": ([("se.mul", (96, 14, 14))], (9 * 96 * 96 + 96) + (96 * 24 + 24) + (24 * 96 + 96)),
    # 416 → ⌊(416 + 2 − 3)/16⌋ + 1 = 26 → ⌊(26 + 2 − 3)/2⌋ + 1 = 13; upsampled back to 26
    "two outputs": ([("head13", (255, 13, 13)), ("head26", (255, 26, 26))],
                    (9 * 3 * 16 + 16) + (9 * 16 * 32 + 32) + (32 * 255 + 255) + ((32 + 16) * 255 + 255)),
    "u-net decoder": ([("up1.relu", (64, 64, 64))],
                      (9 * 3 * 64 + 64) + (9 * 64 * 128 + 128) + (9 * 128 * 256 + 256)
                      + (4 * 256 * 128 + 128) + (9 * 256 * 128 + 128) + (4 * 128 * 64 + 64) + (9 * 128 * 64 + 64)),
    "like": ([("cat1", (256 + 256, 28, 28))], (9 * 2048 * 256 + 256) + (2048 * 256 + 256)),
    # Res2Net's loop over two ModuleLists: two 3x3 convs of 26 channels, two batch norms
    "dotted names": ([("cat", (26 + 26, 28, 28))], 2 * (9 * 26 * 26 + 26) + 2 * 2 * 26),
}


def test_every_example_has_its_expectations() -> None:
    assert len(EXAMPLES) == len(EXPECTED)


@pytest.mark.parametrize(("text", "outputs", "params"),
                         [(text, *EXPECTED[key]) for text, key in zip(EXAMPLES, EXPECTED)], ids=list(EXPECTED))
def test_examples_analyse(text: str, outputs: list[tuple[str, tuple[int, ...]]], params: int) -> None:
    r = cnncalc.analyse(cnncalc.load("example.yaml", text=text))
    assert list(r.totals.outputs) == outputs
    assert r.totals.params == params


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
