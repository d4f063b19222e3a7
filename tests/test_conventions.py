"""Named counting conventions: each reproduces what a peer tool prints, layer by layer and in total.

The expectations are the tools' own numbers (the ResNet-50 table, measured with torch 2.13 CPU
and torchvision 0.28 models) or arithmetic from the tools' source files; tests/test_peers.py
runs the real tools when they are installed.
"""

from __future__ import annotations

import json
from typing import Any

import layers
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


RULES = layers.table("PEER_CASES")  # every family's cases (tests/layers)


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
