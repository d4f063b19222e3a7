"""``cnncalc diff``: layers matched by name, per-layer and total deltas, ``--fail-above``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import cnncalc
from cnncalc import diff, spec
from cnncalc.cli import cli

VGG16 = spec.bundled()["vgg16"].read_text()
# torchvision's VGG-16: 138,357,544 parameters, 15,470,264,320 MACs at 224x224
VGG16_PARAMS = 138_357_544
VGG16_MACS = 15_470_264_320


def wider_vgg(tmp_path: Path) -> Path:
    """VGG-16 with a first conv of 128 instead of 64 filters, and a softmax named 'prob' at the end."""
    first = "        - conv2d: {out_channels: 64, kernel_size: 3, padding: 1}\n"
    assert VGG16.count(first) == 2
    text = VGG16.replace(first, first.replace("64", "128"), 1) + "  - softmax: {name: prob}\n"
    path = tmp_path / "vgg16_wide.yaml"
    path.write_text(text)
    return path


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_layers_matched_by_name(tmp_path: Path) -> None:
    old = cnncalc.analyse(cnncalc.load("vgg16"))
    new = cnncalc.analyse(cnncalc.load(wider_vgg(tmp_path)))
    d = diff.compare(old, new)
    changed = {x.name: x for x in d.layers if x.status != "unchanged"}
    assert {n: x.status for n, x in changed.items()} == {
        "features.0": "changed", "features.1": "changed", "features.2": "changed", "prob": "added"}
    assert [x.name for x in d.layers][-1] == "prob"
    # conv 3→64 vs 3→128, 3x3, with bias; then the second conv reads 128 instead of 64 channels
    assert changed["features.0"].change("params").delta == (3 * 128 * 9 + 128) - (3 * 64 * 9 + 64)
    assert changed["features.2"].change("params").delta == (128 * 64 * 9 + 64) - (64 * 64 * 9 + 64)
    assert changed["features.2"].change("macs").delta == 224 * 224 * 64 * 9 * (128 - 64)
    assert changed["features.1"].change("memory").delta == 64 * 224 * 224 * 4
    assert changed["prob"].change("memory").delta == 1000 * 4
    t = d.totals
    assert t["params"].old == VGG16_PARAMS
    assert t["params"].delta == 3 * 64 * 9 + 64 + 64 * 64 * 9
    assert t["macs"].old == VGG16_MACS
    assert t["macs"].delta == 224 * 224 * 64 * 3 * 9 + 224 * 224 * 64 * 64 * 9
    assert t["param_memory"].delta == t["params"].delta * 4


def test_added_and_removed_between_two_bundled_networks() -> None:
    """torchvision's AlexNet names by position, BVLC's by role: only 'flatten' is on both sides."""
    old = cnncalc.analyse(cnncalc.load("alexnet"))
    new = cnncalc.analyse(cnncalc.load("alexnet_bvlc"))
    d = diff.compare(old, new)
    summary = d.to_dict()["summary"]
    assert summary == {"added": len(new.layers) - 1, "removed": len(old.layers) - 1, "changed": 0, "unchanged": 1}
    # every layer of either network is listed exactly once
    assert sorted(x.name for x in d.layers) == sorted({r.name for r in old.layers} | {r.name for r in new.layers})
    # 61,100,840 (torchvision) vs 60,965,224 (bvlc_alexnet: grouped conv2, conv4, conv5)
    assert (d.totals["params"].old, d.totals["params"].new) == (61_100_840, 60_965_224)
    removed = next(x for x in d.layers if x.name == "classifier.1")
    assert removed.new is None and removed.change("params").delta == -(9216 * 4096 + 4096)


@pytest.mark.parametrize(
    "args, code",
    [
        pytest.param(["--fail-above", "5%"], 1, id="MACs grow 12.5% > 5%"),
        pytest.param(["--fail-above", "13%", "--fail-on", "macs", "--fail-on", "flops"], 0,
                     id="MACs and FLOPs grow less than 13%"),
        pytest.param(["--fail-above", "13%"], 1, id="activations grow 22.4% > 13%"),
        pytest.param(["--fail-above", "5%", "--fail-on", "params"], 0, id="params grow 0.03%"),
        pytest.param(["--fail-above", "0.02%", "--fail-on", "params"], 1, id="params grow more than 0.02%"),
        pytest.param([], 0, id="no gate"),
    ],
)
def test_fail_above(tmp_path: Path, args: list[str], code: int) -> None:
    r = run("diff", "vgg16", str(wider_vgg(tmp_path)), *args, "-f", "json")
    assert r.exit_code == code, r.output
    doc = json.loads(r.stdout)
    macs = doc["totals"]["macs"]
    assert macs["percent"] == pytest.approx((224 * 224 * 64 * 3 * 9 + 224 * 224 * 64 * 64 * 9) / VGG16_MACS * 100)
    if args:
        assert bool(doc["fail_above"]["exceeded"]) == bool(code)
        assert ("grew by more than" in r.stderr.lower()) == bool(code)


def test_growth_from_zero_counts(tmp_path: Path) -> None:
    old = cnncalc.analyse(cnncalc.load("lenet5"))
    bn = spec.bundled()["lenet5"].read_text().replace("  - relu\n", "  - batchnorm1d\n  - relu\n")
    new = cnncalc.analyse(cnncalc.load("bn.yaml", text=bn))
    gate = diff.compare(old, new).gate(diff.units.parse_percent("1000%"), ("buffers",))
    # batchnorm1d over 500 features keeps running mean and variance (and a batch counter)
    assert gate.exceeded == ("buffers",)


def test_markdown_for_a_pull_request(tmp_path: Path) -> None:
    r = run("diff", "vgg16", str(wider_vgg(tmp_path)), "--fail-above", "5%", "-f", "markdown")
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert lines[0] == "### VGG-16 → VGG-16"
    assert f"| params | {VGG16_PARAMS:,} | {VGG16_PARAMS + 38_656:,} | +38,656 (+0.03%) |" in lines
    assert any(line.startswith("| features.0 | changed | conv2d | [64, 224, 224] → [128, 224, 224] |")
               for line in lines)
    assert any(line.startswith("| prob | added | softmax | [1000] |") for line in lines)
    assert not any(line.startswith("| features.3 |") for line in lines)  # unchanged layers are left out
    assert lines[-1] == "**Grew by more than 5%: MACs, FLOPs, activation memory.**"


def test_two_revisions_of_one_file_via_stdin(tmp_path: Path) -> None:
    new = wider_vgg(tmp_path)
    r = run("diff", "-", str(new), "-f", "json", input=VGG16)
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["old"]["source"] == "<stdin>"
    assert doc["totals"]["params"]["delta"] == 38_656


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param(["--fail-above", "5x"], "error: --fail-above: '5x' is not a percentage like 5% or 0.5%",
                     id="bad threshold"),
        pytest.param(["--fail-above", "5%", "--fail-on", "mac"], "error: --fail-on: unknown total 'mac' "
                     "(did you mean 'macs'?)", id="unknown total"),
        pytest.param(["--fail-on", "macs"], "error: --fail-on needs --fail-above", id="fail-on alone"),
    ],
)
def test_bad_gate_options(args: list[str], message: str) -> None:
    r = run("diff", "lenet5", "lenet5", *args)
    assert r.exit_code == 2
    assert r.stderr.startswith(message)
    assert r.stdout == ""


def test_both_stdin_is_a_usage_error() -> None:
    r = run("diff", "-", "-")
    assert r.exit_code == 2


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_output_names_are_shown_as_written_in_the_totals(tmp_path: Path, fmt: str) -> None:
    # a layer name may hold rich's brackets: "[red]y" is a name, not a colour
    for name, (channels, out) in {"a": (4, "[red]y"), "b": (8, "[bold]z")}.items():
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {{out_channels: {channels}, kernel_size: 3}}\n"
            f"  - relu: {{name: '{out}'}}\n")
    result = run("diff", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"), "-f", fmt)
    assert result.exit_code == 0
    outputs = next(line for line in result.stdout.splitlines() if "outputs" in line)
    assert "[red]y [4, 6, 6]" in outputs.replace("\\", "")
    assert "[bold]z [8, 6, 6]" in outputs.replace("\\", "")
