"""Hotspots: shares, the heaviest layers first, the summary line and the bar column."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from cnncalc import hotspots
from cnncalc.analysis import analyse
from cnncalc.cli import cli
from cnncalc.render.report import render_table
from cnncalc.spec import load


@pytest.mark.parametrize("metric", sorted(hotspots.METRICS))
@pytest.mark.parametrize("name", ["tiny_cnn", "resnet50", "inception_v3"])
def test_shares_add_up_to_one(name, metric):
    assert sum(hotspots.shares(analyse(load(name)), metric)) == pytest.approx(1.0)


def test_resnet50_macs_sit_in_layer3():
    # torchvision ResNet-50: 4,089,184,256 MACs ("4.09 GFLOPS" in its docs). layer3 runs at 14x14:
    # its first block 1x1 512→256 at 28x28, 3x3 s2 256→256, 1x1 256→1024, downsample 1x1 s2 512→1024,
    # then five blocks of 1x1 1024→256, 3x3 256→256, 1x1 256→1024.
    first = 512 * 256 * 28 * 28 + 9 * 256 * 256 * 14 * 14 + 256 * 1024 * 14 * 14 + 512 * 1024 * 14 * 14
    rest = 5 * (1024 * 256 * 14 * 14 + 9 * 256 * 256 * 14 * 14 + 256 * 1024 * 14 * 14)
    spot = hotspots.hotspot(analyse(load("resnet50")), "macs")
    assert (spot.group, spot.layers) == ("layer3", 6 * 10 + 2)
    assert spot.share == pytest.approx((first + rest) / 4_089_184_256)
    assert spot.sentence() == f"{(first + rest) / 4_089_184_256:.0%} of MACs in layer3 (62 layers)"


def test_single_layer_hotspot_is_named_by_its_place():
    # tiny_cnn: fc1 holds (512 + 1)·32 of the 3·3·3·16+16 + 3·3·16·8+8 + (512+1)·32 + (32+1)·2 params
    total = (27 + 1) * 16 + (144 + 1) * 8 + (512 + 1) * 32 + (32 + 1) * 2
    summary = hotspots.summary(analyse(load("tiny_cnn")))
    assert f"{(512 + 1) * 32 / total:.0%} of params in fc1 (the first linear layer)" in summary


def test_one_wrapping_group_is_looked_into():
    # vgg16 puts every conv under 'features' (>90% of MACs), so the summary names a layer inside it
    spot = hotspots.hotspot(analyse(load("vgg16")), "macs")
    assert spot.group.startswith("features.") and spot.layers == 1


def test_select_heaviest_first():
    report = analyse(load("tiny_cnn"))
    rows = hotspots.select(report, "macs", 2)
    assert [r.name for r in rows] == ["conv1", "conv2"]
    assert [r.name for r in hotspots.select(report, "params", 1)] == ["fc1"]
    assert hotspots.select(report) == report.layers


def test_table_has_bars_and_summary():
    text = render_table(analyse(load("tiny_cnn")), width=120)
    header = next(line for line in text.splitlines() if "% MACs" in line)
    conv1 = next(line for line in text.splitlines() if " conv1 " in line)
    assert header and "59% ███▌" in conv1  # 442,368 of 753,728 MACs
    assert "Hotspots" in text


def test_cli_sort_top_every_format():
    runner = CliRunner()
    result = runner.invoke(cli, ["report", "tiny_cnn", "--sort", "params", "--top", "2", "-f", "csv"])
    assert result.exit_code == 0 and result.stderr == ""
    names = [line.split(",")[1] for line in result.stdout.splitlines()[1:]]
    assert names == ["fc1", "conv2"]
    result = runner.invoke(cli, ["report", "tiny_cnn", "--top", "3"])
    assert result.exit_code == 0
    assert "tiny CNN · input [3, 32, 32] · fp32 · batch 1 · 3 of 10 layers" in result.stdout


def test_cli_bad_top():
    result = CliRunner().invoke(cli, ["report", "tiny_cnn", "--top", "0"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--top" in result.stderr  # click's usage message names the option; its wording is click's


def test_core_modules_stay_pure():
    code = ("import sys, cnncalc.explain, cnncalc.hotspots, cnncalc.formula; "
            "print('rich' in sys.modules, 'click' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
