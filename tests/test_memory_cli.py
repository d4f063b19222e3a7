"""The memory options of ``cnncalc report`` and the ``cnncalc fit`` command."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner, Result

from cnncalc import spec
from cnncalc.cli import cli
from cnncalc.graph import build
from cnncalc.memory import MemoryModel


def run(*args: str) -> Result:
    """Invoke the CLI with separate stdout and stderr."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_report_gives_the_one_line_answer() -> None:
    r = run("report", "resnet50", "--batch", "32", "--optimizer", "adam")
    assert r.exit_code == 0, r.stderr
    peak = MemoryModel(build(spec.load("resnet50")), optimizer="adam").training_bytes(32)
    assert f"training at batch 32 with Adam (fp32) needs ≈ {peak / 2**30:.2f} GiB" in r.stdout
    assert "65.00 MiB of CUDA library workspace" in r.stdout
    assert r.stderr == ""


def test_report_memory_table() -> None:
    r = run("report", "tiny_cnn", "--memory", "--optimizer", "sgd")
    assert r.exit_code == 0, r.stderr
    for header in ("saved", "at peak", "read", "written", "FLOPs/B", "At the peak"):
        assert header in r.stdout
    assert "with SGD (fp32)" in r.stdout


def test_report_amp_defaults_to_fp16() -> None:
    r = run("report", "tiny_cnn", "--amp", "-f", "json")
    assert r.exit_code == 0, r.stderr
    memory = json.loads(r.stdout)["memory"]
    assert (memory["dtype"], memory["amp"], memory["optimizer"]) == ("fp16", True, "adam")


def test_report_amp_with_fp32_is_a_usage_error() -> None:
    r = run("report", "tiny_cnn", "--amp", "--dtype", "fp32")
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr == "error: mixed precision (amp) needs a 16-bit dtype, fp16 or bf16, not fp32\n"


def test_report_json_and_csv_carry_the_memory_figures() -> None:
    r = run("report", "tiny_cnn", "-b", "4", "-f", "json")
    data = json.loads(r.stdout)
    assert data["memory"]["training_peak_bytes"] == sum(data["memory"]["training_peak_breakdown"].values())
    first = data["layers"][0]["memory"]
    # conv1 keeps its input, the batch of 4 [3, 32, 32] fp32 images (its weight counts as weights)
    assert first["saved_bytes"] == 4 * 3 * 32 * 32 * 4
    rows = list(csv.DictReader(io.StringIO(run("report", "tiny_cnn", "-b", "4", "-f", "csv").stdout)))
    assert [int(row["saved_bytes"]) for row in rows] == [layer["memory"]["saved_bytes"] for layer in data["layers"]]


def test_report_depth_groups_the_memory_rows() -> None:
    r = run("report", "resnet50", "--depth", "1", "-f", "json")
    data = json.loads(r.stdout)
    assert [layer["name"] for layer in data["layers"]][:6] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2"]
    full = json.loads(run("report", "resnet50", "-f", "json").stdout)
    grouped = sum(layer["memory"]["saved_bytes"] for layer in data["layers"])
    assert grouped == sum(layer["memory"]["saved_bytes"] for layer in full["layers"])


def test_fit() -> None:
    r = run("fit", "resnet50", "--memory", "16GiB")
    assert r.exit_code == 0, r.stderr
    graph = build(spec.load("resnet50"))
    m = MemoryModel(graph, optimizer="adam")
    n = m.largest_batch(16 * 2**30, training=True)
    assert f"training with Adam: batch {n:,} " in r.stdout
    assert "inference: batch " in r.stdout


def test_fit_json() -> None:
    r = run("fit", "vgg16", "--memory", "8G", "--optimizer", "sgd", "-f", "json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["budget_bytes"] == 8 * 10**9
    assert data["optimizer"] == "sgd"
    assert data["training_bytes"] <= data["budget_bytes"]


def test_fit_exits_1_when_nothing_fits() -> None:
    r = run("fit", "vgg16", "--memory", "1GiB")
    assert r.exit_code == 1
    assert "does not fit: even batch 1 needs more than 1.00 GiB" in r.stdout


@pytest.mark.parametrize("size", ["16 gigs", "0.3KiB"])
def test_fit_bad_size_is_a_usage_error(size: str) -> None:
    r = run("fit", "resnet50", "--memory", size)
    assert r.exit_code == 2
    assert r.stderr.startswith("error: --memory: ")


def test_explain_lists_what_a_layer_saves() -> None:
    r = run("explain", "resnet50", "--layer", "maxpool", "--layer", "bn1")
    assert r.exit_code == 0, r.stderr
    # max pooling keeps its input [64, 112, 112] and int64 indices of its output [64, 56, 56]
    assert f"64·112·112·4 = {64 * 112 * 112 * 4:,} B (3.06 MiB) saved: input" in r.stdout
    assert f"64·56·56·8 = {64 * 56 * 56 * 8:,} B (1.53 MiB) saved: indices, int64" in r.stdout
    # batchnorm's statistics: 2C fp32 values per step
    assert f"128·4 = {2 * 64 * 4} B saved: mean and inverse std, fp32, per step" in r.stdout
