"""The bundled torchvision zoo against the figures measured with PyTorch and torchvision."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from zoo_table import ZOO, ZOO_NAMES, report

import cnncalc
from cnncalc import spec
from cnncalc.cli import cli


@pytest.mark.parametrize(("name", "shape", "params", "macs", "rf", "rf_layer"), ZOO, ids=ZOO_NAMES)
def test_zoo_matches_pytorch(name: str, shape: tuple[int, ...], params: int, macs: int, rf: int | None,
                             rf_layer: str) -> None:
    r = report(name)
    t = r.totals
    assert r.input_shape == shape
    assert t.params == params
    assert t.macs == macs
    assert t.output_shape == (1000,)
    assert t.receptive_field is not None
    if rf is None:
        assert t.receptive_field.is_whole
    else:
        assert [a.size for a in t.receptive_field.axes] == [rf, rf]
    assert t.receptive_field_layer == rf_layer


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_reported_field_is_the_last_spatial_map_before_global_pooling(name: str) -> None:
    """The issue's definition: the last map with more than one position, before global pooling."""
    rows = report(name).layers
    names = [row.name for row in rows]
    at = names.index(report(name).totals.receptive_field_layer)
    assert rows[at].output_shape[1] * rows[at].output_shape[2] > 1
    # every later layer has at most one position per spatial axis (pooled, flattened, classified)
    for row in rows[at + 1 :]:
        assert row.output_shape[1:] in ((), (1, 1)), row.name


@pytest.mark.parametrize(
    ("size", "macs"),
    [
        pytest.param(224, 4_089_184_256, id="224"),
        pytest.param(320, 8_343_142_400, id="320"),
        pytest.param(512, 21_355_249_664, id="512"),
    ],
)
def test_resnet50_at_other_resolutions(size: int, macs: int) -> None:
    r = cnncalc.analyse(cnncalc.load("resnet50"), input_shape=(3, size, size))
    assert r.totals.macs == macs
    assert r.totals.params == 25_557_032


def test_cli_resnet50_at_512() -> None:
    result = CliRunner().invoke(cli, ["report", "resnet50", "--input", "3x512x512", "--format", "json"])
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)["totals"]
    assert totals["macs"] == 21_355_249_664
    assert totals["output_shape"] == [1000]


def test_resnet50_fits_in_about_60_lines() -> None:
    text = (spec.bundled()["resnet50"]).read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 60


def test_resnet50_names_follow_torchvision() -> None:
    names = {row.name for row in report("resnet50").layers}
    assert {"layer3.2.conv1", "layer1.0.downsample.0", "layer4.0.downsample.1", "fc"} <= names
    # the downsample exists only where the shape changes: the first block of each stage
    assert "layer1.1.downsample.0" not in names


def test_efficientnet_local_field_is_the_field_without_squeeze_excitation() -> None:
    """The local field follows spatial paths only: it is the field of the same network with the
    squeeze-excitation branches taken out."""
    path = spec.bundled()["efficientnet_b0"]
    text = path.read_text(encoding="utf-8")
    call = '- squeeze_excitation: {squeeze: "$max(1, in_channels // 4)"}'
    assert call in text
    without_se = text.replace(call, '- squeeze_excitation: {squeeze: 1, if: false}')
    plain = cnncalc.analyse(cnncalc.load("no_se.yaml", text=without_se)).totals.receptive_field
    field = report("efficientnet_b0").totals.receptive_field
    assert field.is_whole and not plain.is_whole
    assert field.local == plain.axes
    assert [a.size for a in plain.axes] == [851, 851]


def test_every_bundled_network_is_in_the_zoo_table_or_predates_it() -> None:
    earlier = {"lenet5", "tiny_cnn", "alexnet", "alexnet_bvlc", "vgg16", "mobilenet_v1"}
    assert set(spec.bundled()) == earlier | set(ZOO_NAMES)
