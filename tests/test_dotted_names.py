"""Dotted layer names (``bns.0``): a path whose upper levels are not groups, as PyTorch's ``nn.ModuleList``.

A ModuleList is never called itself; its items run interleaved with other modules (Res2Net:
``convs[i]``, ``bns[i]``, the shared ReLU, an add), so they can only be rows of their caller, and
only a dotted name keeps them named as ``named_modules()`` names them. The oracle is PyTorch's own
module tree: the description's rows and the exported module's ``named_modules()`` agree.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import cnncalc
from cnncalc.cli import cli
from cnncalc.errors import SpecError
from cnncalc.layers.args import _layer_name
from cnncalc.schema import NAME_PATTERN

#: Res2Net's inner loop, written as its module tree names it: lists convs and bns, the caller's relu
RES2 = """\
input: [8, 16, 16]
layers:
  - sequential:
      name: block
      layers:
        - conv2d: {name: conv1, out_channels: 8, kernel_size: 1}
        - split: {name: split, split_size_or_sections: 4, dim: 1}
        - conv2d: {name: convs.0, from: split.0, out_channels: 4, kernel_size: 3, padding: 1}
        - batchnorm2d: {name: bns.0}
        - relu: {name: relu}
        - add: {name: add, from: [relu, split.1]}
        - conv2d: {name: convs.1, out_channels: 4, kernel_size: 3, padding: 1}
        - batchnorm2d: {name: bns.1}
        - relu: {name: relu_1}
        - concat: {name: cat, from: [relu, relu_1]}
"""


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "net.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_keep_their_dotted_names_and_are_wired_one_by_one() -> None:
    report = cnncalc.analyse(cnncalc.load("net.yaml", text=RES2))
    names = [r.name for r in report.layers]
    assert names[3:8] == ["block.convs.0", "block.bns.0", "block.relu", "block.add", "block.convs.1"]
    rows = {r.name: r for r in report.layers}
    # convs.1 reads the add, which reads bns.0 through relu: no group could hold either list
    assert rows["block.convs.1"].output_shape == (4, 16, 16)
    assert report.totals.params == 72 + 2 * (4 * 4 * 9 + 4) + 2 * 8


def test_references_from_outside_and_patterns_reach_dotted_rows() -> None:
    text = RES2 + textwrap.dedent("""\
          - conv2d: {name: head, from: block.bns.1, out_channels: 2, kernel_size: 1}
        outputs: [head, block.convs.*]
        """)
    report = cnncalc.analyse(cnncalc.load("net.yaml", text=text))
    assert [name for name, _ in report.totals.outputs] == ["head", "block.convs.0", "block.convs.1"]


torch = pytest.importorskip("torch")


@pytest.mark.torch
def test_exported_module_names_its_modules_as_the_rows(tmp_path: Path) -> None:
    net = write(tmp_path, RES2)
    out = tmp_path / "model.py"
    code, _, err = run("export", str(net), "--to", "pytorch", "--check", "-o", str(out))
    assert code == 0, err
    namespace: dict[str, object] = {}
    exec(compile(out.read_text(encoding="utf-8"), str(out), "exec"), namespace)
    model = namespace["Model"]()  # type: ignore[operator]
    modules = dict(model.named_modules())
    report = cnncalc.analyse(cnncalc.load(str(net)))
    with_weights = [r.name for r in report.layers if r.params]
    assert len(with_weights) == 5 and all(name in modules for name in with_weights)


@pytest.mark.parametrize(("text", "found"), [
    # an item named like the list, next to its dotted items: `bns.0` would name two things
    (RES2.replace("name: relu}", "name: bns}"), "'bns.0' is a path inside 'bns'"),
    # a group `convs` and a row `convs.1` of the same list
    (RES2.replace("- conv2d: {name: convs.0, from: split.0, out_channels: 4, kernel_size: 3, padding: 1}",
                  "- sequential: {name: convs, from: split.0, layers: [{conv2d: {name: '0', out_channels: 4, "
                  "kernel_size: 3, padding: 1}}]}"), "'convs.1' is a path inside 'convs'"),
    # a split's pieces are `split.0`, `split.1`
    (RES2.replace("name: convs.0,", "name: split.0,"), "'split.0' is a path inside 'split'"),
])
def test_a_dotted_name_inside_another_item_is_refused_at_its_line(tmp_path: Path, text: str, found: str) -> None:
    net = write(tmp_path, text)
    code, out, err = run("report", str(net))
    assert code == 2 and out == ""
    line = err.splitlines()[0]
    assert found in line, err
    number = int(re.match(rf"error: {re.escape(str(net))}:(\d+):\d+: ", line).group(1))  # type: ignore[union-attr]
    assert found.split("'")[1] in text.splitlines()[number - 1]


@pytest.mark.parametrize("name", ["a..b", ".a", "a.", "a.*", "*.a", "a.$x", "a. b", "a./b", "a.b\x1b"])
def test_malformed_dotted_names_are_refused(tmp_path: Path, name: str) -> None:
    text = json.dumps({"input": [3, 8, 8], "layers": [{"relu": {"name": name}}]}, indent=1)
    with pytest.raises(SpecError) as info:
        cnncalc.load("net.json", text=text)
    assert "is not a valid name" in info.value.problems[0].message


def test_block_names_and_group_inputs_stay_single_names() -> None:
    text = "input: [3, 8, 8]\nblocks:\n  a.b:\n    layers: [relu]\nlayers: [a.b]\n"
    with pytest.raises(SpecError) as info:
        cnncalc.load("net.yaml", text=text)
    assert "block name" in info.value.problems[0].message


@given(st.text(alphabet="ab.*$/ \x07", max_size=8))
def test_the_json_schema_pattern_takes_the_names_cnncalc_takes(name: str) -> None:
    try:
        _layer_name(name)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == bool(re.match(NAME_PATTERN, name))
