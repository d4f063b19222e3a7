"""Sizes that follow the input: ``size: like <layer>`` takes that layer's spatial sizes.

DeepLab v3's ASPP head upsamples its image-pooling branch back to the feature map's size
(``F.interpolate(pool, size=x.shape[-2:])``); written with ``like``, it follows ``--input``.
"""

from __future__ import annotations

import json
import textwrap

import jsonschema
import pytest
import yaml

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from conftest import run  # noqa: E402
from graph_twins import agree, graph_of  # noqa: E402
from torch import nn  # noqa: E402

from cnncalc import spec  # noqa: E402
from cnncalc.analysis import analyse  # noqa: E402
from cnncalc.errors import SpecError  # noqa: E402
from cnncalc.graph import build  # noqa: E402
from cnncalc.schema import input_schema  # noqa: E402

pytestmark = pytest.mark.torch


class Resize(nn.Module):
    """``F.interpolate(x, size=like.shape[2:])``: the size of another tensor, read at run time."""

    def __init__(self, mode: str = "nearest", align_corners: bool | None = None) -> None:
        super().__init__()
        self.mode, self.align_corners = mode, align_corners

    def forward(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=like.shape[2:], mode=self.mode, align_corners=self.align_corners)


class ASPP(nn.Module):
    """torchvision's DeepLab v3 ASPP head (rates 2, 4), 1x1 branch, pooling branch, projection."""

    def __init__(self, cin: int, c: int) -> None:
        super().__init__()
        self.b0 = nn.Sequential(nn.Conv2d(cin, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.b1 = nn.Sequential(nn.Conv2d(cin, c, 3, padding=2, dilation=2, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.b2 = nn.Sequential(nn.Conv2d(cin, c, 3, padding=4, dilation=4, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, c, 1, bias=False), nn.ReLU())
        self.resize = Resize("bilinear", align_corners=False)
        self.project = nn.Sequential(nn.Conv2d(4 * c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.resize(self.pool(x), x)
        return self.project(torch.cat([self.b0(x), self.b1(x), self.b2(x), pooled], 1))


ASPP_TEXT = """
    input: [6, 12, 12]
    layers:
      - sequential:
          name: b0
          layers: [conv2d: {out_channels: 4, kernel_size: 1, bias: false}, batchnorm2d, relu]
      - sequential:
          name: b1
          from: input
          layers: [conv2d: {out_channels: 4, kernel_size: 3, padding: 2, dilation: 2, bias: false}, batchnorm2d,
                   relu]
      - sequential:
          name: b2
          from: input
          layers: [conv2d: {out_channels: 4, kernel_size: 3, padding: 4, dilation: 4, bias: false}, batchnorm2d,
                   relu]
      - sequential:
          name: pool
          from: input
          layers: [adaptiveavgpool2d: {output_size: 1}, conv2d: {out_channels: 4, kernel_size: 1, bias: false}, relu]
      - upsample: {size: like input, mode: bilinear, align_corners: false, name: resize}
      - concat: {from: [b0, b1, b2, resize]}
      - sequential:
          name: project
          layers: [conv2d: {out_channels: 4, kernel_size: 1, bias: false}, batchnorm2d, relu]
"""


@pytest.mark.parametrize("shape", [None, (6, 20, 20), (6, 9, 31), (6, 1, 5)])
def test_aspp_head_agrees_with_torch_at_any_input(shape: tuple[int, ...] | None) -> None:
    graph = agree(ASPP_TEXT, ASPP(6, 4), shape)
    resize = next(n for n in graph.nodes if n.name == "resize")
    assert resize.out_shape == (4, *graph.input_shape[1:])
    # a dependency for the shape only: the upsample reads the pooling branch and nothing else
    assert [graph.input_name(j) for j in resize.inputs] == ["pool.2"]


def test_the_cli_input_option_reaches_a_like_size(tmp_path: object) -> None:
    path = tmp_path / "aspp.yaml"  # type: ignore[operator]
    path.write_text(textwrap.dedent(ASPP_TEXT), encoding="utf-8")
    r = run("report", str(path), "--input", "6x512x512", "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)["layers"]}
    assert rows["resize"]["output_shape"] == [4, 512, 512]
    fixed = textwrap.dedent(ASPP_TEXT).replace("size: like input", "size: [12, 12]")
    path.write_text(fixed, encoding="utf-8")
    r = run("report", str(path), "--input", "6x512x512")
    assert r.exit_code == 2 and "concat" in r.stderr  # what 'like' is for


class Crop(nn.Module):
    """Nearest resize of a coarse map to a finer one, then added: FCN's fuse step with a resize."""

    def __init__(self) -> None:
        super().__init__()
        self.fine = nn.Conv2d(3, 4, 3, padding=1)
        self.coarse = nn.Conv2d(4, 4, 3, stride=3)
        self.resize = Resize()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fine = self.fine(x)
        return fine + self.resize(self.coarse(fine), fine)


LIKE_LAYER = """
    input: [3, 14, 11]
    layers:
      - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: fine}
      - conv2d: {out_channels: 4, kernel_size: 3, stride: 3, name: coarse}
      - upsample: {size: like fine, name: resize}
      - add: {from: [fine, resize]}
"""


@pytest.mark.parametrize("shape", [None, (3, 30, 7), (3, 6, 6)])
def test_like_a_layer_follows_it(shape: tuple[int, ...] | None) -> None:
    graph = agree(LIKE_LAYER, Crop(), shape)
    fine = next(n for n in graph.nodes if n.name == "fine")
    assert graph.nodes[-2].out_shape == fine.out_shape


def test_like_inside_a_block_reads_a_named_input() -> None:
    graph = graph_of("""
        input: [3, 10, 10]
        blocks:
          fuse:
            inputs: [x, skip]
            layers:
              - upsample: {size: like skip, mode: bilinear}
              - add: {from: [up1, skip]}
        layers:
          - conv2d: {out_channels: 3, kernel_size: 3, stride: 2, name: low}
          - fuse: {from: [low, input]}
    """, (3, 17, 23))
    assert graph.nodes[1].out_shape == (3, 17, 23) and graph.nodes[1].inputs == (0,)


def test_like_orders_the_layers_it_depends_on() -> None:
    """The reference may come later in the list; the topological order puts it first."""
    graph = graph_of("""
        input: [2, 9]
        layers:
          - conv1d: {out_channels: 2, kernel_size: 3, stride: 3, name: low}
          - upsample: {size: like high, name: up}
          - conv1d: {out_channels: 2, kernel_size: 1, from: input, name: high}
          - add: {from: [up, high]}
    """)
    assert [n.name for n in graph.nodes] == ["low", "high", "up", "add1"]


@pytest.mark.parametrize("size, message", [
    pytest.param("like nowhere", "unknown layer 'nowhere'", id="unknown layer"),
    pytest.param("like flat", "like 'flat': its output [144] has no spatial axes", id="no spatial axes"),
    pytest.param("likeflat", "expected a size, a list of sizes, or 'like <layer>'", id="not like"),
    pytest.param("like up", "takes input from itself", id="itself"),
    pytest.param("like seq", "size has 1 values, expected 2", id="another rank"),
])
def test_bad_like_is_a_located_error(size: str, message: str) -> None:
    text = textwrap.dedent(f"""\
        input: [4, 6, 6]
        layers:
          - flatten: {{name: flat}}
          - flatten: {{start_dim: 2, from: input, name: seq}}
          - conv2d: {{out_channels: 2, kernel_size: 1, from: input, name: c}}
          - upsample: {{size: "{size}", name: up}}
    """)
    with pytest.raises(SpecError) as e:
        build(spec.load("like.yaml", text=text))
    hits = [p for p in e.value.problems if message in p.message]
    assert hits, [p.message for p in e.value.problems]
    assert all(p.line == 6 and p.layer == "up" for p in hits)


def test_the_json_schema_takes_like() -> None:
    schema = input_schema()
    jsonschema.validate(yaml.safe_load(textwrap.dedent(ASPP_TEXT)), schema)
    bad = yaml.safe_load(textwrap.dedent(ASPP_TEXT))
    bad["layers"][4]["upsample"]["size"] = "likeinput"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_explain_and_export_show_the_size_read() -> None:
    from cnncalc import export as exporter

    graph = graph_of(ASPP_TEXT, (6, 7, 9))
    code = exporter.export(graph, "pytorch")
    assert "size=(7, 9)" in code
    report = analyse(graph)
    assert next(r for r in report.layers if r.name == "resize").label.startswith("→7x9")


def test_explain_names_the_layer_a_size_is_like(tmp_path: object) -> None:
    path = tmp_path / "like.yaml"  # type: ignore[operator]
    path.write_text(textwrap.dedent(LIKE_LAYER), encoding="utf-8")
    for shape in ("3x14x11", "3x20x9"):
        r = run("explain", str(path), "--input", shape, "-l", "resize")
        assert r.exit_code == 0, r.stderr
        h, w = shape.split("x")[1:]
        assert f"size      like fine: [{h}, {w}], its spatial sizes" in r.stdout
    graph = graph_of(LIKE_LAYER)
    assert graph.nodes[2].like == (("size", 0),)
