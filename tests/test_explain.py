"""``cnncalc explain``: the worked example, agreement with ``report`` for every layer, separable convs."""

from __future__ import annotations

from fractions import Fraction

import pytest
from click.testing import CliRunner
from layers.test_tensor import ZOO_TENSOR  # reshape, contiguous
from test_ops_layers import ZOO_OPS  # crop, slices, reductions, constants

from cnncalc.analysis import analyse
from cnncalc.cli import cli
from cnncalc.explain import explain
from cnncalc.graph import build
from cnncalc.layers import REGISTRY, Layer
from cnncalc.render_explain import render_markdown, render_text
from cnncalc.spec import bundled, load

# Every registered layer type appears in one of these (checked below), so the agreement test
# covers every rule.
ZOO_2D = """
name: every 2-d layer
input: [8, 16, 16]
layers:
  - conv2d: {out_channels: 8, kernel_size: 3, padding: same, dilation: 2, groups: 2, name: c1}
  - batchnorm2d
  - relu6
  - relu
  - maxpool2d: {kernel_size: 3, stride: 2, padding: 1, ceil_mode: true, name: mp}
  - convtranspose2d: {out_channels: 8, kernel_size: 3, stride: 2, padding: 1, output_padding: 1}
  - instancenorm2d: {affine: true}
  - groupnorm: {num_groups: 2}
  - layernorm2d
  - permute: {dims: [0, 2, 3, 1]}
  - layernorm
  - permute: {dims: [0, 3, 1, 2]}
  - layerscale
  - localresponsenorm: {size: 3}
  - leakyrelu
  - prelu: {num_parameters: 8}
  - elu
  - gelu: {approximate: tanh}
  - sigmoid
  - tanh
  - silu
  - hardsigmoid
  - hardswish
  - softmax: {dim: 1}
  - avgpool2d: {kernel_size: 2, name: ap}
  - conv2d: {out_channels: 8, kernel_size: 1, name: side}
  - add: {from: [ap, side], name: sum}
  - globalavgpool: {name: gap}
  - multiply: {from: [sum, gap], name: gate}
  - concat: {from: [gate, sum], name: cat}
  - chunk: {chunks: 3, index: 2}
  - split: {split_size_or_sections: [2, 2], index: 1}
  - channel_shuffle: {groups: 2}
  - zeropad2d: {padding: [1, 0, 2, 1]}
  - upsample: {scale_factor: 2, mode: bilinear}
  - pixelunshuffle: {downscale_factor: 2}
  - pixelshuffle: {upscale_factor: 2}
  - adaptivemaxpool2d: {output_size: [3, 5]}
  - adaptiveavgpool2d: {output_size: [2, null]}
  - globalmaxpool
  - dropout
  - dropout2d
  - alphadropout
  - identity
  - flatten
  - linear: {out_features: 6}
  - layernorm
"""

ZOO_1D = """
name: every 1-d layer
input: [4, 40]
layers:
  - conv1d: {out_channels: 6, kernel_size: 5, stride: 2, bias: false}
  - batchnorm1d
  - instancenorm1d
  - maxpool1d: {kernel_size: 2}
  - convtranspose1d: {out_channels: 4, kernel_size: 4, stride: 2}
  - avgpool1d: {kernel_size: 3, stride: 1, padding: 1}
  - zeropad1d: {padding: 2}
  - dropout1d
  - adaptivemaxpool1d: {output_size: 7}
  - adaptiveavgpool1d: {output_size: 3}
  - linear: {out_features: 5, in_features: 3}
"""

ZOO_3D = """
name: every 3-d layer
input: [2, 8, 10, 10]
layers:
  - conv3d: {out_channels: 4, kernel_size: [3, 3, 1], padding: [1, 1, 0]}
  - batchnorm3d
  - instancenorm3d
  - maxpool3d: {kernel_size: 2}
  - convtranspose3d: {out_channels: 2, kernel_size: 2, stride: 2}
  - avgpool3d: {kernel_size: 2}
  - zeropad3d: {padding: 1}
  - dropout3d
  - adaptivemaxpool3d: {output_size: 2}
  - adaptiveavgpool3d: {output_size: 1}
"""

SYNTHETIC = {"zoo2d": ZOO_2D, "zoo1d": ZOO_1D, "zoo3d": ZOO_3D, "zoo_ops": ZOO_OPS, "zoo_tensor": ZOO_TENSOR}


def network(name):
    """A bundled network or a synthetic one."""
    return load(f"{name}.yaml", text=SYNTHETIC[name]) if name in SYNTHETIC else load(name)


def test_synthetic_networks_cover_every_layer_type():
    used = {n.layer.type_name for text in SYNTHETIC.values() for n in build(load("x.yaml", text=text)).nodes}
    assert set(REGISTRY) - used == set()


def test_no_layer_counts_outside_its_terms():
    # params/buffers/macs/flops evaluate the *_term rules, so explain and report share one path
    for name, cls in REGISTRY.items():
        for rule in ("params", "buffers", "macs", "flops"):
            assert getattr(cls, rule) is getattr(Layer, rule), f"{name} overrides {rule}(); override {rule}_term()"


@pytest.mark.parametrize("name", sorted([*bundled(), *SYNTHETIC]))
def test_every_number_agrees_with_report(name):
    net = network(name)
    report = analyse(net)
    everything = explain(net)
    found = [e for e in everything if e.kind == "layer"]
    assert [e.name for e in found] == [r.name for r in report.layers]
    text = render_text(found)
    for ex, row in zip(found, report.layers):
        v = ex.values
        assert v["output_shape"] == row.output_shape, ex.name
        assert (v["params"], v["buffers"], v["macs"], v["flops"]) == (row.params, row.buffers, row.macs, row.flops)
        assert v["rf"] == row.rf, ex.name
        assert v["output_bytes"] == row.output_bytes, ex.name
        for figure, value in (("params", row.params), ("MACs", row.macs), ("FLOPs", row.flops)):
            if value:
                assert ex.line(figure).eqs[0].term.value == value
                assert f"= {value:,}" in text
    for block in (e for e in everything if e.kind == "block"):
        members = [r for r in report.layers if r.name.startswith(block.name + ".")]
        assert block.values["params"] == sum(r.params for r in members)
        assert block.values["macs"] == sum(r.macs for r in members)


def _lines(ex):
    return {
        line.figure: render_text([type(ex)(ex.name, ex.kind, ex.title, (), (line,))]).splitlines()[1]
        for line in ex.lines
        if line.figure
    }


def test_worked_example_conv1_of_tiny_cnn():
    # the example of a tutorial: a 3x3 conv, padding 1, from 3 to 16 channels on a 32x32 image
    (conv1,) = explain(load("tiny_cnn"), layers=["conv1"])
    lines = _lines(conv1)
    assert f"⌊(32 + 2·1 − 1·(3−1) − 1)/1⌋ + 1 = {(32 + 2 * 1 - 1 * (3 - 1) - 1) // 1 + 1}" in lines["output"]
    assert "W = 32 → [16, 32, 32]" in lines["output"]
    assert f"(3·3·3/1 + 1)·16 = {(3 * 3 * 3 + 1) * 16}" in lines["params"]
    assert f"3·3·3/1·16·32·32 = {3 * 3 * 3 * 16 * 32 * 32:,}" in lines["MACs"]
    assert f"2·442,368 + 16·32·32 (bias) = {2 * 442_368 + 16 * 32 * 32:,}" in lines["FLOPs"]
    assert f"1 + 1·(3−1)·1 = {1 + (3 - 1) * 1}" in lines["RF"] and "j = j_in·s = 1·1 = 1" in lines["RF"]
    assert f"16·32·32·4 = {16 * 32 * 32 * 4:,} B (64.00 KiB) output" in lines["memory"]


def test_strided_and_pooled_receptive_field():
    # tiny_cnn: conv3 (r 3) → pool2 s2 (r 4, j 2) → conv3 (r 4 + 2·2 = 8)
    conv2 = explain(load("tiny_cnn"), layers=["conv2"])[0]
    assert f"4 + 1·(3−1)·2 = {4 + (3 - 1) * 2}" in _lines(conv2)["RF"]


def test_separable_conv_priced_against_the_standard_one():
    # MobileNet (Howard et al. 2017, eq. 5): cost ratio 1/N + 1/D_K², "8 to 9 times less computation"
    found = [e for e in explain(load("mobilenet_v1")) if e.line("separable")]
    assert len(found) == 13
    for ex in found:
        ratio, identity = ex.line("↳ ratio").eqs
        c_out = ex.values["output_shape"][0]
        assert ratio.term.value == identity.term.value == Fraction(1, c_out) + Fraction(1, 3 * 3)
        assert 7.8 < 1 / ratio.term.value < 9  # 7.9 for 64 output channels, 8.9 for 1024
    first = found[0]
    standard, separable = first.line("↳ MACs").eqs
    # features.1: 3x3 from 32 to 64 channels at 112x112
    assert standard.term.value == 3 * 3 * 32 * 64 * 112 * 112
    assert separable.term.value == 3 * 3 * 32 * 112 * 112 + 32 * 64 * 112 * 112


def test_merge_shows_how_fields_and_shapes_combine():
    net = load("zoo2d.yaml", text=ZOO_2D)
    by_name = {e.name: e for e in explain(net)}
    cat = _lines(by_name["cat"])["output"]
    assert "C = C_1 + C_2 = 8 + 8 = 16" in cat
    rf = _lines(by_name["sum"])["RF"]
    assert "r = max(r_1, r_2)" in rf and "the largest field over the inputs" in rf


def test_block_summary():
    found = explain(load("mobilenet_v1"), layers=["features.2"])
    assert [e.kind for e in found] == ["layer"] * 6 + ["block"]
    block = found[-1]
    assert block.name == "features.2"
    assert block.values["macs"] == 3 * 3 * 64 * 56 * 56 + 64 * 128 * 56 * 56


def test_markdown_uses_latex():
    text = render_markdown(explain(load("tiny_cnn"), layers=["conv1"]))
    assert r"\left\lfloor \frac{32 + 2 \cdot 1 - 1 \cdot \left(3 - 1\right) - 1}{1} \right\rfloor + 1 = 32$" in text
    assert "#### `conv1` — conv2d 16 k3 p1" in text


def test_cli_explain():
    result = CliRunner().invoke(cli, ["explain", "tiny_cnn", "--layer", "conv1", "--layer", "fc1"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.startswith("conv1 (conv2d 16 k3 p1) ← input [3, 32, 32]\n")
    assert "fc1 (linear →32) ← flatten [512]" in result.stdout
    assert "tanh1" not in result.stdout


def test_cli_explain_unknown_layer():
    result = CliRunner().invoke(cli, ["explain", "tiny_cnn", "--layer", "flaten"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "error: --layer: no layer or block named 'flaten' (did you mean 'flatten'?)\n"


def test_readme_example_is_what_explain_prints():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    shown = readme.split("$ cnncalc explain tiny_cnn --layer conv1\n", 1)[1].split("```", 1)[0]
    result = CliRunner().invoke(cli, ["explain", "tiny_cnn", "--layer", "conv1"])
    assert result.stdout.strip() == shown.strip()
