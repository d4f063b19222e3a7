"""Named counting conventions: each reproduces what a peer tool prints, layer by layer and in total.

The expectations are the tools' own numbers (the ResNet-50 table, measured with torch 2.13 CPU
and torchvision 0.28 models) or arithmetic from the tools' source files; tests/test_peers.py
runs the real tools when they are installed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from cnncalc import analyse, spec
from cnncalc import cli as cli_module
from cnncalc.cli import cli
from cnncalc.conventions import CONVENTIONS, lookup
from cnncalc.errors import OptionError
from cnncalc.graph import build

# ResNet-50 at 224: what each tool prints (torch 2.13.0 CPU, torchvision 0.28 models)
RESNET50 = [
    pytest.param("torchvision", 4_089_184_256, id="torchvision _ops"),
    pytest.param("torchinfo", 4_089_238_376, id="torchinfo 1.8.0 Mult-Adds"),
    pytest.param("fvcore", 4_111_512_576, id="fvcore 0.1.5"),
    pytest.param("ptflops", 4_132_436_968, id="ptflops 0.7.5"),
    pytest.param("thop", 4_133_742_592, id="thop 0.1.1"),
    pytest.param("torch", 8_178_368_512, id="torch FlopCounterMode (FLOPs)"),
]


@pytest.fixture(scope="module")
def resnet50() -> Any:
    return build(spec.load("resnet50"))


@pytest.mark.parametrize(("convention", "printed"), RESNET50)
def test_resnet50_reproduces_the_tools(resnet50: Any, convention: str, printed: int) -> None:
    totals = analyse(resnet50, convention=convention).totals
    if convention == "torch":
        assert (totals.flops, totals.macs) == (printed, printed // 2)
    else:
        assert (totals.macs, totals.flops) == (printed, 2 * printed)


def test_resnet50_differences_are_the_documented_ones(resnet50: Any) -> None:
    macs = {c: analyse(resnet50, convention=c).totals.macs for c in CONVENTIONS}
    bn = 11_113_984  # elements out of the 53 batch norms
    bn_params = 53_120  # their γ and β
    relu = 9_608_704  # elements out of the 49 ReLUs
    assert macs["torchinfo"] - macs["torchvision"] == bn_params + 1000  # + the fc bias
    assert macs["fvcore"] - macs["torchvision"] == 2 * bn + 2048 * 7 * 7  # + adaptive_avg_pool2d input
    assert macs["thop"] - macs["torchvision"] == 4 * bn + (7 * 7 + 1) * 2048
    # ptflops: BN 2E, ReLU and max pooling counted by module hook and patched function, fc bias
    maxpool_in = 64 * 112 * 112
    assert macs["ptflops"] - macs["torchvision"] == 2 * bn + 2 * relu + 2 * maxpool_in + 2 * 2048 * 7 * 7 + 1000


def one(kind: str, args: dict[str, Any], shape: tuple[int, ...], convention: str) -> int:
    """The MACs of a network made of one layer, under a convention."""
    text = f"input: {list(shape)}\nlayers:\n  - {kind}: {json.dumps(args)}\n"
    return analyse(spec.load("one.yaml", text=text), convention=convention).totals.macs


E = 8 * 6 * 6  # elements of an [8, 6, 6] map

RULES = [
    # torchvision: conv and linear multiply-accumulates, no bias
    pytest.param("torchvision", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, (8, 6, 6),
                 4 * 6 * 6 * 8 * 9, id="torchvision conv: out·C_in·k"),
    pytest.param("torchvision", "batchnorm2d", {}, (8, 6, 6), 0, id="torchvision batchnorm: 0"),
    # fvcore: the handlers of the traced aten ops
    pytest.param("fvcore", "batchnorm2d", {}, (8, 6, 6), 2 * E, id="fvcore batchnorm (inference): 2E"),
    pytest.param("fvcore", "batchnorm2d", {"affine": False}, (8, 6, 6), E, id="fvcore batchnorm no affine: E"),
    pytest.param("fvcore", "batchnorm2d", {"track_running_stats": False}, (8, 6, 6), 5 * E,
                 id="fvcore batchnorm, batch statistics: 5E"),
    pytest.param("fvcore", "groupnorm", {"num_groups": 2}, (8, 6, 6), 5 * E, id="fvcore groupnorm: 5E"),
    pytest.param("fvcore", "layernorm", {"elementwise_affine": False}, (8, 6, 6), 4 * E,
                 id="fvcore layernorm no affine: 4E"),
    pytest.param("fvcore", "instancenorm2d", {}, (8, 6, 6), 4 * E, id="fvcore instance norm: 4E"),
    pytest.param("fvcore", "adaptiveavgpool2d", {"output_size": 1}, (8, 6, 6), E,
                 id="fvcore adaptive_avg_pool2d: input elements"),
    pytest.param("fvcore", "globalavgpool", {}, (8, 6, 6), E, id="fvcore global average pooling: input elements"),
    pytest.param("fvcore", "globalmaxpool", {}, (8, 6, 6), 0, id="fvcore global max pooling: 0"),
    pytest.param("fvcore", "adaptiveavgpool1d", {"output_size": 1}, (8, 6), 0, id="fvcore adaptive_avg_pool1d: 0"),
    pytest.param("fvcore", "upsample", {"scale_factor": 2, "mode": "bilinear"}, (8, 6, 6), 4 * 4 * E,
                 id="fvcore upsample_bilinear2d: 4 per output"),
    pytest.param("fvcore", "upsample", {"scale_factor": 2}, (8, 6, 6), 4 * E, id="fvcore upsample_nearest2d: 1"),
    pytest.param("fvcore", "upsample", {"scale_factor": 2}, (8, 6), 0, id="fvcore upsample_nearest1d: 0"),
    pytest.param("fvcore", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": "same"}, (8, 6, 6), 0,
                 id="fvcore conv with padding same: _convolution_mode, 0"),
    pytest.param("fvcore", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": "same",
                                      "padding_mode": "reflect"}, (8, 6, 6), 4 * 6 * 6 * 8 * 9,
                 id="fvcore conv with padding same, reflect: padded first, counted"),
    pytest.param("fvcore", "maxpool2d", {"kernel_size": 2}, (8, 6, 6), 0, id="fvcore max pooling: 0"),
    pytest.param("fvcore", "relu", {}, (8, 6, 6), 0, id="fvcore relu: 0"),
    # thop: hooks by exact module type
    pytest.param("thop", "batchnorm2d", {}, (8, 6, 6), 4 * E, id="thop batchnorm: 2E doubled when affine"),
    pytest.param("thop", "instancenorm2d", {}, (8, 6, 6), 2 * E, id="thop instance norm no affine: 2E"),
    pytest.param("thop", "layernorm", {}, (8, 6, 6), 4 * E, id="thop layernorm: 4E"),
    pytest.param("thop", "layernorm2d", {}, (8, 6, 6), 0, id="thop LayerNorm2d, a subclass: 0"),
    pytest.param("thop", "groupnorm", {"num_groups": 2}, (8, 6, 6), 0, id="thop groupnorm: 0"),
    pytest.param("thop", "prelu", {}, (8, 6, 6), E, id="thop prelu: E"),
    pytest.param("thop", "softmax", {"dim": 1}, (8, 6, 6), 36 * (3 * 8 - 1),
                 id="thop softmax: rows·(3n − 1)"),
    pytest.param("thop", "avgpool2d", {"kernel_size": 2}, (8, 6, 6), 8 * 3 * 3, id="thop avg pooling: outputs"),
    pytest.param("thop", "adaptiveavgpool2d", {"output_size": 4}, (8, 6, 6), int((1.5 * 1.5 + 1) * 8 * 16),
                 id="thop adaptive avg pooling: (Π in/out + 1)·outputs"),
    pytest.param("thop", "upsample", {"scale_factor": 2, "mode": "bilinear"}, (8, 6, 6), 11 * 4 * E,
                 id="thop bilinear: 11 per output"),
    pytest.param("thop", "upsample", {"scale_factor": 2, "mode": "trilinear"}, (8, 6, 6, 6), 0,
                 id="thop trilinear: not among its modes, 0"),
    pytest.param("thop", "convtranspose2d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "groups": 2},
                 (8, 6, 6), 4 * 13 * 13 * (8 // 2) * 9, id="thop transposed conv: outputs·C_in/groups·k"),
    pytest.param("thop", "relu", {}, (8, 6, 6), 0, id="thop relu: 0"),
    # ptflops: module hooks plus patched torch.nn.functional calls
    pytest.param("ptflops", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, (8, 6, 6),
                 4 * 6 * 6 * 8 * 9 + 4 * 6 * 6, id="ptflops conv: MACs + bias per output"),
    pytest.param("ptflops", "linear", {"out_features": 5}, (8,), 8 * 5 + 5, id="ptflops linear: MACs + bias"),
    pytest.param("ptflops", "relu", {}, (8, 6, 6), 2 * E, id="ptflops relu: module hook and F.relu"),
    pytest.param("ptflops", "leakyrelu", {}, (8, 6, 6), E, id="ptflops leaky relu: module hook only"),
    pytest.param("ptflops", "silu", {}, (8, 6, 6), E, id="ptflops silu: F.silu only"),
    pytest.param("ptflops", "sigmoid", {}, (8, 6, 6), 0, id="ptflops sigmoid: 0"),
    pytest.param("ptflops", "maxpool2d", {"kernel_size": 2}, (8, 6, 6), 2 * E,
                 id="ptflops max pooling: input elements, twice"),
    pytest.param("ptflops", "batchnorm2d", {}, (8, 6, 6), 2 * E, id="ptflops batchnorm affine: 2E"),
    pytest.param("ptflops", "layernorm", {}, (8, 6, 6), E, id="ptflops layernorm: E"),
    pytest.param("ptflops", "localresponsenorm", {"size": 3}, (8, 6, 6), 3 * E + (8 + 3 - 1) * 36,
                 id="ptflops lrn: two muls, an add, avg pooling over padded channels"),
    pytest.param("ptflops", "upsample", {"scale_factor": 2}, (8, 6, 6), 2 * 4 * E,
                 id="ptflops upsample: module hook and F.interpolate"),
    pytest.param("ptflops", "upsample", {"scale_factor": [1.5, 1.5]}, (8, 4, 4), 8 * 6 * 6 + 8 * 16 * 2,
                 id="ptflops upsample by a list: input·int(Π factors)"),
    # torchinfo: weight and bias parameters
    pytest.param("torchinfo", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, (8, 6, 6),
                 (4 * 8 * 9 + 4) * 36, id="torchinfo conv: params·output positions"),
    pytest.param("torchinfo", "convtranspose2d", {"out_channels": 4, "kernel_size": 3, "stride": 2}, (8, 6, 6),
                 (8 * 4 * 9 + 4) * 13 * 13, id="torchinfo transposed conv: params·output positions"),
    pytest.param("torchinfo", "linear", {"out_features": 5, "in_features": 8}, (3, 8), 8 * 5 + 5,
                 id="torchinfo linear on [3, 8]: params, once"),
    pytest.param("torchinfo", "batchnorm2d", {}, (8, 6, 6), 2 * 8, id="torchinfo batchnorm: params"),
    pytest.param("torchinfo", "layerscale", {}, (8, 6, 6), 0, id="torchinfo layer scale (gamma): 0"),
    # torch: FlopCounterMode, in MACs
    pytest.param("torch", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, (8, 6, 6),
                 4 * 6 * 6 * 8 * 9, id="torch conv: MACs = FLOPs / 2"),
    pytest.param("torch", "batchnorm2d", {}, (8, 6, 6), 0, id="torch batchnorm: 0"),
]


@pytest.mark.parametrize(("convention", "kind", "args", "shape", "macs"), RULES)
def test_rule(convention: str, kind: str, args: dict[str, Any], shape: tuple[int, ...], macs: int) -> None:
    assert one(kind, args, shape, convention) == macs


def test_every_convention_has_rules_here() -> None:
    assert {p.values[0] for p in RULES} == set(CONVENTIONS) == set(cli_module.CONVENTIONS)


def test_flops_are_twice_the_macs() -> None:
    for name, convention in CONVENTIONS.items():
        report = analyse(spec.load("mobilenet_v1"), convention=name)
        for row in report.layers:
            assert row.flops == 2 * row.macs, (name, row.name)
        assert convention.mirrors


def test_unknown_convention() -> None:
    with pytest.raises(OptionError, match="unknown convention 'flops' \\(choose from torchvision, fvcore"):
        lookup("flops")
    with pytest.raises(OptionError):
        analyse(spec.load("lenet5"), convention="flops")


def test_cli_report_json() -> None:
    result = CliRunner().invoke(cli, ["report", "resnet50", "--convention", "fvcore", "-f", "json"])
    assert (result.exit_code, result.stderr) == (0, "")
    data = json.loads(result.stdout)
    assert data["network"]["convention"] == "fvcore"
    assert data["totals"]["macs"] == 4_111_512_576
    assert sum(row["macs"] for row in data["layers"]) == data["totals"]["macs"]


def test_cli_report_without_convention_has_no_key() -> None:
    result = CliRunner().invoke(cli, ["report", "lenet5", "-f", "json"])
    assert "convention" not in json.loads(result.stdout)["network"]


def test_cli_report_table_says_the_convention() -> None:
    result = CliRunner().invoke(cli, ["report", "lenet5", "--convention", "thop"])
    assert result.exit_code == 0
    assert "· counted as thop" in result.stdout.splitlines()[0]


def test_cli_unknown_convention() -> None:
    result = CliRunner().invoke(cli, ["report", "lenet5", "--convention", "flops"])
    assert result.exit_code == 2
    assert result.stdout == ""
    # click's usage message names the option and the value; its wording is click's
    assert "--convention" in result.stderr and "flops" in result.stderr
