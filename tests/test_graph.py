"""Graphs and blocks: wiring, names, blocks with arguments, skipped layers, layouts, and the
wiring errors, each reported with its file, line and layer."""

from __future__ import annotations

import textwrap

import pytest

import cnncalc
from cnncalc.errors import ShapeError, SpecError
from cnncalc.graph import build
from cnncalc.report import Report
from cnncalc.spec import Network


def load(text: str) -> Network:
    return cnncalc.load("net.yaml", text=textwrap.dedent(text))


def analyse(text: str) -> Report:
    return cnncalc.analyse(load(text))


def rows(text: str) -> dict[str, tuple[int, ...]]:
    return {row.name: row.output_shape for row in analyse(text).layers}


def error(text: str, kind: type[SpecError] = SpecError) -> str:
    with pytest.raises(kind) as info:
        cnncalc.analyse(load(text))
    assert len(info.value.problems) == 1
    return info.value.problems[0].format()


RESIDUAL = """
    input: [64, 56, 56]
    blocks:
      bottleneck:
        args: {planes: null, stride: 1, project: true}
        layers:
          - conv2d: {out_channels: $planes, kernel_size: 1, bias: false}
          - batchnorm2d
          - relu
          - conv2d: {out_channels: $planes, kernel_size: 3, stride: $stride, padding: 1, bias: false}
          - batchnorm2d
          - relu
          - conv2d: {out_channels: $planes * 4, kernel_size: 1, bias: false}
          - batchnorm2d
          - sequential:
              name: downsample
              from: input
              if: $project and (stride != 1 or in_channels != planes * 4)
              layers:
                - conv2d: {out_channels: $planes * 4, kernel_size: 1, stride: $stride, bias: false}
                - batchnorm2d
          - add: {name: add, from: [bn3, downsample]}
          - relu: {name: relu}
    layers:
      - bottleneck: {name: layer1, planes: 64, repeat: 2}
"""

# ---------------------------------------------------------------------------------------------
# wiring and names


def test_residual_block_names_and_shapes() -> None:
    shapes = rows(RESIDUAL)
    assert shapes["layer1.0.downsample.0"] == (256, 56, 56)
    assert shapes["layer1.0.add"] == (256, 56, 56)
    # the second instance keeps the shape: no downsample, the add takes the block input
    assert "layer1.1.downsample.0" not in shapes
    r = analyse(RESIDUAL)
    add = next(row for row in r.layers if row.name == "layer1.1.add")
    assert add.inputs == ("layer1.1.bn3", "layer1.0.relu")


def test_rows_run_in_topological_order() -> None:
    r = analyse(
        """
        input: [3, 8, 8]
        layers:
          - add: {name: sum, from: [b, a]}
          - conv2d: {name: a, from: input, out_channels: 4, kernel_size: 1}
          - conv2d: {name: b, from: input, out_channels: 4, kernel_size: 3, padding: 1}
        """
    )
    assert [row.name for row in r.layers] == ["a", "b", "sum"]
    assert r.totals.output_shape == (4, 8, 8)


def test_inception_style_concat() -> None:
    shapes = rows(
        """
        input: [192, 28, 28]
        layers:
          - conv2d: {name: b1, out_channels: 64, kernel_size: 1}
          - conv2d: {name: b2, from: input, out_channels: 128, kernel_size: 3, padding: 1}
          - maxpool2d: {name: pool, from: input, kernel_size: 3, stride: 1, padding: 1}
          - conv2d: {name: b3, out_channels: 32, kernel_size: 1}
          - concat: {name: cat, from: [b1, b2, b3]}
        """
    )
    assert shapes["cat"] == (64 + 128 + 32, 28, 28)


def test_squeeze_excitation_broadcasts_and_makes_the_field_whole() -> None:
    r = analyse(
        """
        input: [16, 8, 8]
        layers:
          - conv2d: {name: conv, out_channels: 16, kernel_size: 3, padding: 1}
          - globalavgpool: {name: squeeze}
          - conv2d: {name: fc1, out_channels: 4, kernel_size: 1}
          - relu
          - conv2d: {name: fc2, out_channels: 16, kernel_size: 1}
          - sigmoid: {name: gate}
          - multiply: {name: scale, from: [gate, conv]}
        """
    )
    scale = r.layers[-1]
    assert scale.output_shape == (16, 8, 8)
    assert scale.rf.is_whole
    # the local field follows the spatial path only: the 3x3 conv
    assert [a.size for a in scale.rf.local] == [3, 3]


def test_chunk_and_channel_shuffle() -> None:
    shapes = rows(
        """
        input: [116, 28, 28]
        layers:
          - chunk: {name: x1, chunks: 2, index: 0}
          - chunk: {name: x2, from: input, chunks: 2, index: 1}
          - conv2d: {out_channels: 58, kernel_size: 1}
          - concat: {name: cat, from: [x1, conv1]}
          - channel_shuffle: {groups: 2}
        """
    )
    assert shapes["x1"] == (58, 28, 28)
    assert shapes["cat"] == (116, 28, 28)


def test_dotted_reference_into_a_block_instance() -> None:
    shapes = rows(
        RESIDUAL.replace(
            "      - bottleneck: {name: layer1, planes: 64, repeat: 2}",
            "      - bottleneck: {name: layer1, planes: 64, repeat: 2}\n"
            "      - identity: {name: tap, from: layer1.0.conv2}",
        )
    )
    assert shapes["tap"] == (64, 56, 56)


# ---------------------------------------------------------------------------------------------
# blocks: repeat, naming, skipped layers


def test_unnamed_repeat_is_the_call_written_n_times() -> None:
    """In an index-named sequential the instances take positions (features.1, features.2)."""
    shapes = rows(
        """
        input: [8, 16, 16]
        blocks:
          unit:
            args: {out: null, stride: 1}
            naming: index
            layers:
              - conv2d: {out_channels: $out, kernel_size: 3, stride: $stride, padding: 1}
              - relu
        layers:
          - sequential:
              name: features
              layers:
                - conv2d: {out_channels: 8, kernel_size: 1}
                - unit: {out: 16, repeat: 3, stride: $2 if index == 0 else 1}
                - unit: {out: 32}
        """
    )
    assert list(shapes) == [
        "features.0", "features.1.0", "features.1.1", "features.2.0", "features.2.1",
        "features.3.0", "features.3.1", "features.4.0", "features.4.1",
    ]
    assert shapes["features.1.0"] == (16, 8, 8)
    assert shapes["features.2.0"] == (16, 8, 8)


def test_unnamed_repeat_in_a_type_named_scope() -> None:
    """DenseNet's OrderedDict names: denselayer1, denselayer2, ..."""
    shapes = rows(
        """
        input: [64, 8, 8]
        blocks:
          denselayer:
            layers:
              - conv2d: {out_channels: 32, kernel_size: 3, padding: 1}
              - concat: {name: cat, from: [input, conv1]}
        layers:
          - sequential: {name: denseblock1, naming: type, layers: [denselayer: {repeat: 3}]}
        """
    )
    assert shapes["denseblock1.denselayer3.cat"] == (64 + 3 * 32, 8, 8)


def test_index_naming_skips_absent_layers() -> None:
    """As a PyTorch list built with ``if t != 1: layers.append(...)``: positions close up."""
    shapes = rows(
        """
        input: [16, 8, 8]
        blocks:
          block:
            args: {t: 1}
            naming: index
            layers:
              - conv2d: {out_channels: $in_channels * t, kernel_size: 1, if: $t != 1}
              - conv2d: {out_channels: $in_channels, kernel_size: 3, padding: 1, groups: $in_channels}
              - conv2d: {out_channels: 24, kernel_size: 1}
        layers:
          - block: {name: a, t: 1}
          - block: {name: b, t: 6}
        """
    )
    assert list(shapes) == ["a.0", "a.1", "b.0", "b.1", "b.2"]
    assert shapes["b.0"] == (144, 8, 8)


def test_alternatives_may_share_a_name() -> None:
    shapes = rows(
        """
        input: [8, 4, 4]
        blocks:
          act:
            args: {kind: relu}
            layers:
              - relu: {name: activation, if: $kind == 'relu'}
              - hardswish: {name: activation, if: $kind == 'hardswish'}
              - identity: {name: out}
        layers:
          - act: {name: a}
          - act: {name: b, kind: hardswish}
        """
    )
    assert list(shapes) == ["a.activation", "a.out", "b.activation", "b.out"]
    r = analyse("input: [8, 4, 4]\nlayers:\n  - hardswish: {name: x, if: false}\n  - relu\n")
    assert [row.type for row in r.layers] == ["relu"]


def test_skipped_layer_name_stands_for_its_input() -> None:
    r = analyse(
        """
        input: [8, 4, 4]
        layers:
          - relu: {name: first}
          - conv2d: {name: maybe, out_channels: 8, kernel_size: 1, if: false}
          - add: {name: sum, from: [maybe, first]}
        """
    )
    assert r.layers[-1].inputs == ("first", "first")


def test_block_defaults_may_use_earlier_arguments() -> None:
    shapes = rows(RESIDUAL.replace("{planes: null, stride: 1, project: true}",
                                   "{planes: null, stride: 1, project: true, width: $planes // 2}")
                  .replace("out_channels: $planes, kernel_size: 1", "out_channels: $width, kernel_size: 1"))
    assert shapes["layer1.0.conv1"] == (32, 56, 56)


def test_groups_are_recorded() -> None:
    graph = build(load(RESIDUAL))
    assert graph.groups["layer1"][0] == "bottleneck ×2"
    assert graph.groups["layer1.0"][0] == "bottleneck"
    assert graph.groups["layer1.0.downsample"][0] == "sequential"


# ---------------------------------------------------------------------------------------------
# wiring errors: one message with file, line and layer


def test_add_of_mismatched_shapes_names_the_layer() -> None:
    msg = error(RESIDUAL.replace("project: true}", "project: false}"), ShapeError)
    assert msg == "net.yaml:22:14: layer 'layer1.0.add' (add): shapes differ: [256, 56, 56] vs [64, 56, 56]"


def test_unknown_reference() -> None:
    msg = error(
        """
        input: [3, 8, 8]
        layers:
          - conv2d: {name: stem, out_channels: 4, kernel_size: 1}
          - add: {name: sum, from: [stem, sten2]}
        """
    )
    assert msg == "net.yaml:5:5: layer 'sum' (add): takes input from unknown layer 'sten2' (did you mean 'stem'?)"


def test_unknown_dotted_reference() -> None:
    msg = error(
        RESIDUAL.replace(
            "      - bottleneck: {name: layer1, planes: 64, repeat: 2}",
            "      - bottleneck: {name: layer1, planes: 64, repeat: 2}\n"
            "      - identity: {name: tap, from: layer1.5.conv2}",
        )
    )
    assert msg.endswith("layer 'tap' (identity): takes input from unknown layer 'layer1.5.conv2'")


def test_cycle() -> None:
    msg = error(
        """
        input: [3, 8, 8]
        layers:
          - relu: {name: a, from: c}
          - relu: {name: b, from: a}
          - relu: {name: c, from: b}
        """
    )
    assert msg == "net.yaml:4:5: layer 'a' (relu): cycle in the wiring: a → b → c → a"


def test_duplicate_name() -> None:
    msg = error(
        """
        input: [3, 8, 8]
        layers:
          - relu: {name: act}
          - sigmoid: {name: act}
        """
    )
    assert msg == "net.yaml:5:5: layer 'act' (sigmoid): duplicate name 'act' (also layer #1)"


def test_self_reference() -> None:
    msg = error("input: [3, 8, 8]\nlayers:\n  - relu: {name: a, from: a}\n")
    assert msg == "net.yaml:3:5: layer 'a' (relu): takes input from itself"


def test_concat_of_mismatched_sizes() -> None:
    msg = error(
        """
        input: [3, 8, 8]
        layers:
          - maxpool2d: {name: half, kernel_size: 2}
          - concat: {name: cat, from: [input, half]}
        """,
        ShapeError,
    )
    assert msg.endswith("layer 'cat' (concat): shapes differ outside dim 1: [3, 8, 8] vs [3, 4, 4]")


def test_repeat_is_a_number() -> None:
    msg = error("input: [3, 8, 8]\nblocks:\n  b: {layers: [relu]}\nlayers:\n  - b: {repeat: $2}\n")
    assert "repeat" in msg and "integer" in msg


# ---------------------------------------------------------------------------------------------
# layouts: permute, channels-last layernorm and linear


CONVNEXT_BLOCK = """
    input: [96, 56, 56]
    layers:
      - conv2d: {out_channels: 96, kernel_size: 7, padding: 3, groups: 96}
      - permute: {dims: [0, 2, 3, 1]}
      - layernorm: {eps: 1.0e-6}
      - linear: {out_features: 384}
      - gelu
      - linear: {out_features: 96}
      - permute: {dims: [0, 3, 1, 2]}
      - layerscale
      - add: {from: [scale1, input]}
"""


def test_channels_last_block() -> None:
    r = analyse(CONVNEXT_BLOCK)
    by_name = {row.name: row for row in r.layers}
    assert by_name["permute1"].output_shape == (56, 56, 96)
    assert by_name["fc1"].output_shape == (56, 56, 384)
    # params: depthwise 7·7·96 + 96, LayerNorm 2·96, fc 96·384 + 384 and 384·96 + 96, scale 96
    assert r.totals.params == (49 * 96 + 96) + 2 * 96 + (96 * 384 + 384) + (384 * 96 + 96) + 96
    # MACs: 56·56 positions × (49 + 96·384 + 384·96)
    assert r.totals.macs == 56 * 56 * 96 * 49 + 56 * 56 * 96 * 384 * 2
    # layernorm and linear on the channels keep the 7x7 field; the map stays a spatial map
    for name in ("ln1", "fc1", "fc2", "add1"):
        assert [a.size for a in by_name[name].rf.axes] == [7, 7], name
    assert r.totals.receptive_field_layer == "add1"


def test_linear_on_a_spatial_last_axis_needs_in_features() -> None:
    msg = error("input: [8, 4, 4]\nlayers:\n  - linear: {out_features: 10}\n", ShapeError)
    assert msg.endswith("input is [8, 4, 4]: add 'flatten' before it, or give in_features to apply it "
                        "to the last axis as PyTorch does")
    r = analyse("input: [8, 4, 6]\nlayers:\n  - linear: {out_features: 10, in_features: 6}\n")
    row = r.layers[0]
    assert row.output_shape == (8, 4, 10)
    # mixing the last spatial axis makes the field whole along it only
    assert [a.size for a in row.rf.axes] == [1, None]


def test_layernorm_over_spatial_axes_makes_them_whole() -> None:
    r = analyse("input: [8, 4, 6]\nlayers:\n  - layernorm: {normalized_shape: [8, 4, 6]}\n")
    assert r.layers[0].rf.is_whole
    assert r.layers[0].params == 2 * 8 * 4 * 6


def test_spatial_layers_refuse_a_channels_last_input() -> None:
    msg = error("input: [8, 4, 6]\nlayers:\n  - permute: {dims: [0, 2, 3, 1]}\n"
                "  - conv2d: {out_channels: 4, kernel_size: 1}\n", ShapeError)
    assert msg.endswith("layer 'conv1' (conv2d): expects a channels-first input, got one laid out "
                        "[H, W, C]; permute it back first")


@pytest.mark.parametrize(
    ("dims", "message"),
    [
        pytest.param("[0, 2, 2, 1]", "dims [0, 2, 2, 1] are not an order of the 4 axes of a 4-d tensor",
                     id="repeated axis"),
        pytest.param("[1, 0, 2, 3]", "dims [1, 0, 2, 3] must keep the batch axis 0 first", id="batch moved"),
    ],
)
def test_permute_errors(dims: str, message: str) -> None:
    msg = error(f"input: [8, 4, 6]\nlayers:\n  - permute: {{dims: {dims}}}\n", ShapeError)
    assert msg.endswith(message)


def test_permute_accepts_negative_dims() -> None:
    r = analyse("input: [8, 4, 6]\nlayers:\n  - permute: {dims: [0, -2, -1, 1]}\n")
    assert r.layers[0].output_shape == (4, 6, 8)


def test_channels_first_layers_accept_feature_axes() -> None:
    """After a linear over the length axis, [C, F] has no spatial axis out of place."""
    r = analyse("input: [8, 16]\nlayers:\n  - linear: {out_features: 10, in_features: 16}\n  - batchnorm1d\n")
    assert r.layers[-1].output_shape == (8, 10)
    assert r.layers[-1].params == 2 * 8
