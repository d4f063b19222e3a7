"""``--depth N``: one row per group at N name components, carrying the group's totals."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from conftest import assert_totals_add_up
from zoo_table import report

from cnncalc.cli import cli
from cnncalc.errors import OptionError

TOP = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "flatten", "fc"]

# ResNet-50's layer1: three bottlenecks on 56x56, the first with a projection
#   conv1 1x1 64→64, conv2 3x3 64→64, conv3 1x1 64→256, their BNs (2C each); projection 1x1 64→256 + BN
FIRST = 64 * 64 + 2 * 64 + 9 * 64 * 64 + 2 * 64 + 64 * 256 + 2 * 256 + 64 * 256 + 2 * 256
#   then conv1 1x1 256→64 in place of 64→64, no projection
OTHER = 256 * 64 + 2 * 64 + 9 * 64 * 64 + 2 * 64 + 64 * 256 + 2 * 256
#   MACs: every convolution of layer1 runs on 56x56 positions
LAYER1_MACS = 56 * 56 * ((64 * 64 + 9 * 64 * 64 + 64 * 256 + 64 * 256) + 2 * (256 * 64 + 9 * 64 * 64 + 64 * 256))


def test_depth_one_collapses_the_stages() -> None:
    full = report("resnet50")
    top = full.collapse(1)
    assert [r.name for r in top.layers] == TOP
    layer1 = top.layers[4]
    assert layer1.type == "bottleneck ×3"
    assert layer1.count == 3 * 10 + 2  # ten layers per bottleneck, two more for the projection
    assert layer1.params == FIRST + 2 * OTHER
    assert layer1.macs == LAYER1_MACS
    assert layer1.output_shape == (256, 56, 56)
    assert layer1.inputs == ("maxpool",)
    # the stage's field is that of its output, layer1.2.relu
    assert layer1.rf == next(r.rf for r in full.layers if r.name == "layer1.2.relu")
    assert top.layers[8].inputs == ("layer4",)
    assert top.totals == full.totals


def test_depth_two_gives_one_row_per_block() -> None:
    rows = report("resnet50").collapse(2).layers
    names = [r.name for r in rows]
    assert names[4:7] == ["layer1.0", "layer1.1", "layer1.2"]
    assert len(names) == 4 + (3 + 4 + 6 + 3) + 3
    assert rows[4].params == FIRST and rows[5].params == OTHER
    assert rows[5].inputs == ("layer1.0",)


@pytest.mark.parametrize("name", ["resnet50", "googlenet", "efficientnet_b0", "convnext_tiny", "densenet121"])
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_rows_still_add_up_to_the_totals(name: str, depth: int) -> None:
    full = report(name)
    collapsed = full.collapse(depth)
    t = collapsed.totals
    assert t == full.totals
    assert_totals_add_up(collapsed)
    assert sum(r.count for r in collapsed.layers) == len(full.layers)
    assert all(len(r.name.split(".")) <= depth for r in collapsed.layers)


def test_depth_beyond_the_deepest_name_changes_nothing() -> None:
    full = report("mobilenet_v2")
    assert full.collapse(10).layers == full.layers


def test_depth_must_be_positive() -> None:
    with pytest.raises(OptionError):
        report("resnet50").collapse(0)


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, ["report", "resnet50", "--depth", "1", *args])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


def test_cli_json_honours_depth() -> None:
    data = json.loads(invoke("--format", "json"))
    assert [r["name"] for r in data["layers"]] == TOP
    assert data["layers"][4]["layer_count"] == 32
    assert data["totals"]["params"] == 25_557_032


def test_cli_csv_honours_depth() -> None:
    rows = list(csv.DictReader(io.StringIO(invoke("--format", "csv"))))
    assert [r["name"] for r in rows] == TOP
    assert rows[4]["params"] == str(FIRST + 2 * OTHER)


def test_cli_markdown_and_table_honour_depth() -> None:
    markdown = invoke("--format", "markdown")
    assert "| 4 | layer1 | bottleneck ×3 | " in markdown
    assert "layer1.0.conv1" not in markdown
    table = invoke("--format", "table")
    assert "bottleneck ×3" in table
    assert "layer1.0" not in table


def test_cli_rejects_depth_zero() -> None:
    result = CliRunner().invoke(cli, ["report", "resnet50", "--depth", "0"])
    assert result.exit_code == 2
    assert "--depth" in result.stderr
