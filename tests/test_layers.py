"""Each layer type's rules, table-driven, with expectations written as arithmetic.

Every case also runs against real PyTorch where it is installed (output shape and parameter
count of the equivalent ``torch.nn`` module), so the expectations are checked from outside.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from conftest import analyse_text, network_text, probe

# (type, args, input shape, output shape, params, buffers, MACs, FLOPs)
CASES = [
    pytest.param("conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}, [3, 32, 32],
                 [16, 32, 32], (3 * 3 * 3 + 1) * 16, 0, 3 * 3 * 3 * 16 * 32 * 32,
                 2 * 3 * 3 * 3 * 16 * 32 * 32 + 16 * 32 * 32, id="conv2d 3x3 p1 (tiny_cnn conv1)"),
    pytest.param("conv2d", {"out_channels": 32, "kernel_size": 3, "stride": 2, "padding": 1, "groups": 32,
                            "bias": False}, [32, 112, 112],
                 [32, 56, 56], 3 * 3 * 1 * 32, 0, 3 * 3 * 1 * 32 * 56 * 56, 2 * 3 * 3 * 32 * 56 * 56,
                 id="depthwise 3x3 s2"),
    pytest.param("conv2d", {"out_channels": 64, "kernel_size": 3, "dilation": 2}, [8, 20, 20],
                 [64, 16, 16], (9 * 8 + 1) * 64, 0, 9 * 8 * 64 * 16 * 16, 2 * 9 * 8 * 64 * 256 + 64 * 256,
                 id="dilated 3x3 d2 (k_eff 5)"),
    pytest.param("conv2d", {"out_channels": 8, "kernel_size": [1, 7], "padding": [0, 3]}, [4, 17, 17],
                 [8, 17, 17], (7 * 4 + 1) * 8, 0, 7 * 4 * 8 * 17 * 17, 2 * 7 * 4 * 8 * 289 + 8 * 289,
                 id="asymmetric 1x7"),
    pytest.param("conv2d", {"out_channels": 6, "kernel_size": 4, "padding": "same"}, [3, 10, 10],
                 [6, 10, 10], (16 * 3 + 1) * 6, 0, 16 * 3 * 6 * 100, 2 * 16 * 3 * 600 + 600,
                 id="padding same, even kernel"),
    pytest.param("conv2d", {"out_channels": 6, "kernel_size": 3, "padding": "valid", "groups": 3}, [6, 9, 9],
                 [6, 7, 7], (9 * 2 + 1) * 6, 0, 9 * 2 * 6 * 49, 2 * 9 * 2 * 6 * 49 + 6 * 49,
                 id="padding valid, groups 3"),
    pytest.param("conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1, "padding_mode": "reflect"},
                 [2, 5, 5], [4, 5, 5], (9 * 2 + 1) * 4, 0, 9 * 2 * 4 * 25, 2 * 9 * 2 * 100 + 100,
                 id="padding_mode reflect"),
    pytest.param("conv1d", {"out_channels": 8, "kernel_size": 5, "stride": 2}, [4, 100],
                 [8, 48], (5 * 4 + 1) * 8, 0, 5 * 4 * 8 * 48, 2 * 5 * 4 * 8 * 48 + 8 * 48, id="conv1d k5 s2"),
    pytest.param("conv3d", {"out_channels": 8, "kernel_size": 3, "padding": 1, "bias": False}, [2, 4, 8, 8],
                 [8, 4, 8, 8], 27 * 2 * 8, 0, 27 * 2 * 8 * 4 * 64, 2 * 27 * 2 * 8 * 256, id="conv3d 3x3x3"),
    pytest.param("convtranspose2d", {"out_channels": 8, "kernel_size": 4, "stride": 2, "padding": 1},
                 [16, 7, 7], [8, 14, 14], 16 * 16 * 8 + 8, 0, 16 * 8 * 16 * 49, 2 * 16 * 8 * 16 * 49 + 8 * 196,
                 id="convtranspose2d k4 s2 p1 (x2)"),
    pytest.param("convtranspose2d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1,
                                     "output_padding": 1, "groups": 2}, [6, 5, 5],
                 [4, 10, 10], 9 * 6 * 2 + 4, 0, 9 * 2 * 6 * 25, 2 * 9 * 2 * 6 * 25 + 4 * 100,
                 id="convtranspose2d output_padding 1 groups 2"),
    pytest.param("convtranspose1d", {"out_channels": 3, "kernel_size": 3}, [2, 10],
                 [3, 12], 3 * 2 * 3 + 3, 0, 3 * 3 * 2 * 10, 2 * 3 * 3 * 2 * 10 + 3 * 12, id="convtranspose1d"),
    pytest.param("convtranspose3d", {"out_channels": 2, "kernel_size": 2, "stride": 2, "bias": False},
                 [4, 2, 3, 3], [2, 4, 6, 6], 8 * 4 * 2, 0, 8 * 2 * 4 * 18, 2 * 8 * 2 * 4 * 18,
                 id="convtranspose3d k2 s2"),
    pytest.param("maxpool2d", {"kernel_size": 3, "stride": 2}, [96, 55, 55],
                 [96, 27, 27], 0, 0, 0, (9 - 1) * 96 * 27 * 27, id="maxpool 3 s2 (AlexNet)"),
    pytest.param("maxpool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, [96, 109, 109],
                 [96, 54, 54], 0, 0, 0, 8 * 96 * 54 * 54, id="maxpool ceil_mode (SqueezeNet)"),
    pytest.param("maxpool2d", {"kernel_size": 2, "stride": 2, "ceil_mode": True}, [1, 5, 5],
                 [1, 3, 3], 0, 0, 0, 3 * 9, id="maxpool ceil_mode partial window"),
    pytest.param("maxpool2d", {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}, [1, 5, 5],
                 # ceil((5 + 2 − 2)/2) + 1 = 4, but window 4 would start at 6 ≥ 5 + 1 (in the right padding)
                 [1, 3, 3], 0, 0, 0, 3 * 9, id="ceil_mode window starting in the right padding is dropped"),
    pytest.param("maxpool2d", {"kernel_size": 3, "stride": 2, "padding": 1}, [64, 112, 112],
                 [64, 56, 56], 0, 0, 0, 8 * 64 * 56 * 56, id="maxpool 3 s2 p1 (ResNet stem)"),
    pytest.param("maxpool2d", {"kernel_size": 2, "dilation": 2}, [1, 7, 7],
                 # floor((7 − 2·(2−1) − 1)/2) + 1 = 3 (stride defaults to the kernel)
                 [1, 3, 3], 0, 0, 0, 3 * 9, id="maxpool dilation 2"),
    pytest.param("maxpool1d", {"kernel_size": 2}, [3, 9], [3, 4], 0, 0, 0, 1 * 12, id="maxpool1d"),
    pytest.param("maxpool3d", {"kernel_size": 2}, [2, 4, 4, 4], [2, 2, 2, 2], 0, 0, 0, 7 * 16, id="maxpool3d"),
    pytest.param("avgpool2d", {"kernel_size": 2, "stride": 2}, [256, 56, 56],
                 [256, 28, 28], 0, 0, 0, 4 * 256 * 28 * 28, id="avgpool 2 s2 (DenseNet transition)"),
    pytest.param("avgpool2d", {"kernel_size": 3, "stride": 1, "padding": 1, "count_include_pad": False},
                 [8, 35, 35], [8, 35, 35], 0, 0, 0, 9 * 8 * 35 * 35, id="avgpool 3 s1 p1 (Inception)"),
    pytest.param("avgpool1d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, [1, 8],
                 [1, 4], 0, 0, 0, 3 * 4, id="avgpool1d ceil"),
    pytest.param("adaptiveavgpool2d", {"output_size": 1}, [2048, 7, 7],
                 [2048, 1, 1], 0, 0, 0, 2048 * 49, id="adaptive avg to 1 (global)"),
    pytest.param("adaptiveavgpool2d", {"output_size": [6, 6]}, [256, 13, 13],
                 # windows of 13 → 6: starts floor(13i/6), ends ceil(13(i+1)/6): lengths 3,3,3,3,3,3
                 [256, 6, 6], 0, 0, 0, 256 * (3 * 6) * (3 * 6), id="adaptive avg 13 → 6 (overlapping windows)"),
    pytest.param("adaptivemaxpool2d", {"output_size": [2, None]}, [4, 5, 3],
                 # 5 → 2: windows [0,3) and [2,5): 3 + 3; width kept: windows of 1
                 [4, 2, 3], 0, 0, 0, 4 * (3 + 3) * 3 - 4 * 2 * 3, id="adaptive max with None axis"),
    pytest.param("adaptiveavgpool1d", {"output_size": 4}, [2, 8], [2, 4], 0, 0, 0, 2 * 8, id="adaptive avg 1d"),
    pytest.param("globalavgpool", None, [1280, 7, 7], [1280, 1, 1], 0, 0, 0, 1280 * 49, id="global avg pool"),
    pytest.param("globalmaxpool", None, [16, 4, 4], [16, 1, 1], 0, 0, 0, 16 * 16 - 16, id="global max pool"),
    pytest.param("batchnorm2d", None, [64, 56, 56], [64, 56, 56], 2 * 64, 2 * 64, 0, 2 * 64 * 56 * 56,
                 id="batchnorm2d"),
    pytest.param("batchnorm1d", None, [500], [500], 2 * 500, 2 * 500, 0, 2 * 500, id="batchnorm1d on [N]"),
    pytest.param("batchnorm2d", {"affine": False, "track_running_stats": False}, [4, 3, 3], [4, 3, 3],
                 0, 0, 0, 5 * 36, id="batchnorm without affine or running stats"),
    pytest.param("batchnorm3d", None, [8, 2, 4, 4], [8, 2, 4, 4], 16, 16, 0, 2 * 8 * 32, id="batchnorm3d"),
    pytest.param("instancenorm2d", None, [8, 4, 4], [8, 4, 4], 0, 0, 0, 5 * 128, id="instancenorm2d"),
    pytest.param("instancenorm2d", {"affine": True}, [8, 4, 4], [8, 4, 4], 16, 0, 0, 7 * 128,
                 id="instancenorm2d affine"),
    pytest.param("layernorm", {"normalized_shape": [8, 4, 4]}, [8, 4, 4], [8, 4, 4], 2 * 128, 0, 0, 7 * 128,
                 id="layernorm over [C,H,W]"),
    pytest.param("layernorm", None, [7, 7, 96], [7, 7, 96], 2 * 96, 0, 0, 7 * 7 * 7 * 96,
                 id="layernorm over the last axis"),
    pytest.param("groupnorm", {"num_groups": 32}, [256, 14, 14], [256, 14, 14], 2 * 256, 0, 0, 7 * 256 * 196,
                 id="groupnorm 32 groups"),
    pytest.param("localresponsenorm", {"size": 5}, [96, 55, 55], [96, 55, 55], 0, 0, 0, (5 + 4) * 96 * 55 * 55,
                 id="local response norm (AlexNet)"),
    pytest.param("relu", None, [16, 8, 8], [16, 8, 8], 0, 0, 0, 1024, id="relu"),
    pytest.param("relu6", None, [16, 8, 8], [16, 8, 8], 0, 0, 0, 2 * 1024, id="relu6"),
    pytest.param("leakyrelu", {"negative_slope": 0.2}, [4, 4], [4, 4], 0, 0, 0, 2 * 16, id="leakyrelu"),
    pytest.param("prelu", None, [16, 8, 8], [16, 8, 8], 1, 0, 0, 2 * 1024, id="prelu shared slope"),
    pytest.param("prelu", {"num_parameters": 16}, [16, 8, 8], [16, 8, 8], 16, 0, 0, 2 * 1024,
                 id="prelu per channel"),
    pytest.param("elu", None, [10], [10], 0, 0, 0, 4 * 10, id="elu"),
    pytest.param("gelu", None, [10], [10], 0, 0, 0, 5 * 10, id="gelu"),
    pytest.param("gelu", {"approximate": "tanh"}, [10], [10], 0, 0, 0, 9 * 10, id="gelu tanh"),
    pytest.param("silu", None, [10], [10], 0, 0, 0, 5 * 10, id="silu"),
    pytest.param("sigmoid", None, [10], [10], 0, 0, 0, 4 * 10, id="sigmoid"),
    pytest.param("tanh", None, [10], [10], 0, 0, 0, 10, id="tanh"),
    pytest.param("hardswish", None, [10], [10], 0, 0, 0, 5 * 10, id="hardswish"),
    pytest.param("hardsigmoid", None, [10], [10], 0, 0, 0, 4 * 10, id="hardsigmoid"),
    pytest.param("softmax", {"dim": 1}, [1000], [1000], 0, 0, 0, 5 * 1000, id="softmax over classes"),
    pytest.param("dropout", {"p": 0.5}, [4096], [4096], 0, 0, 0, 0, id="dropout"),
    pytest.param("dropout2d", None, [8, 4, 4], [8, 4, 4], 0, 0, 0, 0, id="dropout2d"),
    pytest.param("dropout1d", None, [8, 4], [8, 4], 0, 0, 0, 0, id="dropout1d"),
    pytest.param("dropout3d", None, [8, 2, 2, 2], [8, 2, 2, 2], 0, 0, 0, 0, id="dropout3d"),
    pytest.param("alphadropout", None, [4096], [4096], 0, 0, 0, 0, id="alphadropout"),
    pytest.param("permute", {"dims": [0, 2, 3, 1]}, [8, 4, 5], [4, 5, 8], 0, 0, 0, 0, id="permute to channels-last"),
    pytest.param("flatten", None, [50, 4, 4], [800], 0, 0, 0, 0, id="flatten"),
    pytest.param("flatten", {"start_dim": 2}, [8, 4, 5], [8, 20], 0, 0, 0, 0, id="flatten spatial axes only"),
    pytest.param("identity", None, [3, 4, 4], [3, 4, 4], 0, 0, 0, 0, id="identity"),
    pytest.param("linear", {"out_features": 500}, [800], [500], (800 + 1) * 500, 0, 800 * 500,
                 2 * 800 * 500 + 500, id="linear (LeNet ip1)"),
    pytest.param("linear", {"out_features": 10, "bias": False}, [32], [10], 32 * 10, 0, 320, 640,
                 id="linear no bias"),
    pytest.param("linear", {"in_features": 96, "out_features": 384}, [7, 7, 96], [7, 7, 384],
                 (96 + 1) * 384, 0, 49 * 96 * 384, 2 * 49 * 96 * 384 + 49 * 384, id="linear on the last axis"),
    pytest.param("zeropad2d", {"padding": 1}, [3, 4, 4], [3, 6, 6], 0, 0, 0, 0, id="zeropad2d 1"),
    pytest.param("zeropad2d", {"padding": [1, 2, 0, 3]}, [3, 4, 4], [3, 7, 7], 0, 0, 0, 0,
                 id="zeropad2d (left, right, top, bottom)"),
    pytest.param("zeropad1d", {"padding": [2, 0]}, [3, 4], [3, 6], 0, 0, 0, 0, id="zeropad1d"),
    pytest.param("upsample", {"scale_factor": 2}, [8, 7, 7], [8, 14, 14], 0, 0, 0, 0, id="upsample nearest x2"),
    pytest.param("upsample", {"scale_factor": 2, "mode": "bilinear", "align_corners": False}, [8, 7, 7],
                 [8, 14, 14], 0, 0, 0, (2 * 4 - 1) * 8 * 196, id="upsample bilinear x2"),
    pytest.param("upsample", {"size": [10, 20], "mode": "bicubic"}, [2, 5, 5],
                 [2, 10, 20], 0, 0, 0, (2 * 16 - 1) * 400, id="upsample bicubic to size"),
    pytest.param("upsample", {"scale_factor": 1.5, "mode": "linear"}, [2, 8],
                 [2, 12], 0, 0, 0, (2 * 2 - 1) * 24, id="upsample linear 1d x1.5"),
    pytest.param("upsample", {"scale_factor": 2, "mode": "trilinear"}, [1, 2, 2, 2],
                 [1, 4, 4, 4], 0, 0, 0, (2 * 8 - 1) * 64, id="upsample trilinear"),
    pytest.param("pixelshuffle", {"upscale_factor": 3}, [18, 4, 4], [2, 12, 12], 0, 0, 0, 0, id="pixel shuffle r3"),
    pytest.param("pixelunshuffle", {"downscale_factor": 2}, [2, 8, 8], [8, 4, 4], 0, 0, 0, 0,
                 id="pixel unshuffle r2"),
    pytest.param("channel_shuffle", {"groups": 2}, [116, 28, 28], [116, 28, 28], 0, 0, 0, 0, id="channel shuffle"),
    pytest.param("chunk", {"chunks": 2, "index": 1}, [116, 28, 28], [58, 28, 28], 0, 0, 0, 0, id="chunk 2, second"),
    pytest.param("chunk", {"chunks": 3, "index": 2}, [7, 2], [1, 2], 0, 0, 0, 0,
                 id="chunk sizes as torch.chunk (3, 3, 1)"),
    pytest.param("split", {"split_size_or_sections": 3, "index": 2}, [7, 2], [1, 2], 0, 0, 0, 0,
                 id="split by size (3, 3, 1)"),
    pytest.param("split", {"split_size_or_sections": [16, 24, 24], "index": 1}, [64, 5, 5], [24, 5, 5], 0, 0, 0,
                 0, id="split unequal (MixNet)"),
    pytest.param("split", {"split_size_or_sections": [2, 3], "index": 0, "dim": -1}, [4, 6, 5], [4, 6, 2], 0, 0,
                 0, 0, id="split along the last axis"),
    pytest.param("layerscale", None, [96, 56, 56], [96, 56, 56], 96, 0, 0, 96 * 56 * 56, id="layer scale"),
    pytest.param("avgpool3d", {"kernel_size": [1, 2, 2]}, [4, 3, 8, 8], [4, 3, 4, 4], 0, 0, 0, 4 * 4 * 48,
                 id="avgpool3d 1x2x2"),
    pytest.param("adaptiveavgpool3d", {"output_size": [1, 2, 2]}, [3, 4, 6, 6], [3, 1, 2, 2], 0, 0, 0,
                 3 * 4 * 6 * 6, id="adaptive avg 3d (disjoint windows cover the input once)"),
    pytest.param("adaptivemaxpool1d", {"output_size": 3}, [2, 7], [2, 3], 0, 0, 0,
                 # 7 → 3: [0,3) [2,5) [4,7): 3 + 3 + 3 window elements, minus one per output
                 2 * (3 + 3 + 3) - 2 * 3, id="adaptive max 1d overlapping"),
    pytest.param("adaptivemaxpool3d", {"output_size": 1}, [2, 2, 2, 2], [2, 1, 1, 1], 0, 0, 0, 2 * 8 - 2,
                 id="adaptive max 3d global"),
    pytest.param("instancenorm1d", None, [4, 10], [4, 10], 0, 0, 0, 5 * 40, id="instancenorm1d"),
    pytest.param("instancenorm3d", {"affine": True}, [2, 2, 3, 3], [2, 2, 3, 3], 4, 0, 0, 7 * 36,
                 id="instancenorm3d affine"),
    pytest.param("layernorm2d", None, [96, 56, 56], [96, 56, 56], 2 * 96, 0, 0, 7 * 96 * 56 * 56,
                 id="layernorm2d over channels (ConvNeXt)"),
    pytest.param("zeropad3d", {"padding": 1}, [1, 2, 3, 4], [1, 4, 5, 6], 0, 0, 0, 0, id="zeropad3d"),
    pytest.param("permute", {"dims": [0, 2, 3, 1]}, [96, 7, 5], [7, 5, 96], 0, 0, 0, 0, id="permute to channels-last"),
]

# merges: (type, args, input shapes, output shape, FLOPs)
MERGES = [
    pytest.param("add", None, [[64, 56, 56], [64, 56, 56]], [64, 56, 56], 64 * 56 * 56, id="residual add"),
    pytest.param("add", None, [[8, 4], [8, 4], [8, 4]], [8, 4], 2 * 32, id="add of three"),
    pytest.param("multiply", None, [[96, 28, 28], [96, 1, 1]], [96, 28, 28], 96 * 28 * 28,
                 id="squeeze-excitation gate broadcast"),
    pytest.param("concat", None, [[64, 28, 28], [128, 28, 28], [32, 28, 28]], [224, 28, 28], 0,
                 id="inception concat"),
    pytest.param("concat", {"dim": -1}, [[3, 4, 5], [3, 4, 2]], [3, 4, 7], 0, id="concat along width"),
]


@pytest.mark.parametrize("typ, args, shapes, out, flops", MERGES)
def test_merge_rules(typ: str, args: Any, shapes: list[list[int]], out: list[int], flops: int) -> None:
    row = merge_probe(typ, args, shapes)
    assert list(row.output_shape) == out
    assert (row.params, row.macs, row.flops) == (0, 0, flops)


def merge_probe(typ: str, args: Any, shapes: list[list[int]]) -> Any:
    """One merge layer fed by ``len(shapes)`` inputs of the given shapes (made by adaptive pooling)."""
    c_max = max(s[0] for s in shapes)
    items: list[Any] = []
    for i, s in enumerate(shapes):
        # a 1x1 conv to the channels, then adaptive pooling to the spatial size; a linear for 2-d inputs
        items.append({"conv1d" if len(s) == 2 else "conv3d" if len(s) == 4 else "conv2d":
                      {"out_channels": s[0], "kernel_size": 1, "from": "input", "name": f"c{i}"}})
        items.append({f"adaptiveavgpool{len(s) - 1}d": {"output_size": s[1:], "name": f"p{i}"}})
    items.append({typ: {**(args or {}), "from": [f"p{i}" for i in range(len(shapes))], "name": "merge"}})
    rank = max(len(s) for s in shapes)
    text = network_text([c_max] + [16] * (rank - 1), items)
    return next(r for r in analyse_text(text).layers if r.name == "merge")


@pytest.mark.parametrize("typ, args, shape, out, params, buffers, macs, flops", CASES)
def test_layer_rules(typ: str, args: Any, shape: list[int], out: list[int], params: int, buffers: int,
                     macs: int, flops: int) -> None:
    row = probe(typ, args, shape)
    assert list(row.output_shape) == out
    assert (row.params, row.buffers, row.macs, row.flops) == (params, buffers, macs, flops)
    assert row.output_elements == math.prod(out)
    assert row.output_bytes == 4 * math.prod(out)


def _torch_module(typ: str, args: dict[str, Any], shape: list[int]) -> Any:
    """The torch.nn module equivalent to one layer applied to ``shape``."""
    import torch.nn as nn

    a = dict(args or {})
    c = shape[0]
    simple = {
        "relu": nn.ReLU, "relu6": nn.ReLU6, "leakyrelu": nn.LeakyReLU, "prelu": nn.PReLU, "elu": nn.ELU,
        "gelu": nn.GELU, "silu": nn.SiLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "hardswish": nn.Hardswish,
        "hardsigmoid": nn.Hardsigmoid, "softmax": nn.Softmax, "dropout": nn.Dropout, "dropout2d": nn.Dropout2d,
        "dropout1d": nn.Dropout1d, "dropout3d": nn.Dropout3d, "alphadropout": nn.AlphaDropout,
        "flatten": nn.Flatten, "identity": nn.Identity, "localresponsenorm": nn.LocalResponseNorm,
        "upsample": nn.Upsample, "pixelshuffle": nn.PixelShuffle, "pixelunshuffle": nn.PixelUnshuffle,
        "channel_shuffle": nn.ChannelShuffle, "layernorm": nn.LayerNorm,
    }
    if typ == "layernorm2d":
        class _LayerNorm2d(nn.LayerNorm):
            def forward(self, x: Any) -> Any:
                return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return _LayerNorm2d(c)
    nd = typ[-2:] if typ[-2:] in ("1d", "2d", "3d") else ""
    if typ in simple:
        if typ == "layernorm":
            a.setdefault("normalized_shape", shape[-1])
        return simple[typ](**a)
    if typ.startswith("conv") or typ.startswith("convtranspose"):
        cls = getattr(nn, ("ConvTranspose" if "transpose" in typ else "Conv") + nd)
        out = a.pop("out_channels")
        ks = a.pop("kernel_size")
        return cls(c, out, ks, **a)
    if typ.startswith("batchnorm") or typ.startswith("instancenorm"):
        cls = getattr(nn, ("BatchNorm" if typ.startswith("batch") else "InstanceNorm") + nd)
        return cls(c, **a)
    if typ == "groupnorm":
        return nn.GroupNorm(a["num_groups"], c)
    if typ == "linear":
        a.pop("in_features", None)
        return nn.Linear(shape[-1], **a)
    for stem, name in (("maxpool", "MaxPool"), ("avgpool", "AvgPool"), ("adaptiveavgpool", "AdaptiveAvgPool"),
                       ("adaptivemaxpool", "AdaptiveMaxPool"), ("zeropad", "ZeroPad")):
        if typ == stem + nd:
            if "padding" in a and isinstance(a["padding"], list) and stem == "zeropad":
                a["padding"] = tuple(a["padding"])
            return getattr(nn, name + nd)(**a)
    if typ in ("globalavgpool", "globalmaxpool"):
        return getattr(nn, ("AdaptiveAvgPool" if "avg" in typ else "AdaptiveMaxPool") + f"{len(shape) - 1}d")(1)
    if typ == "permute":
        class _Permute(nn.Module):
            def forward(self, x: Any) -> Any:
                return x.permute(*a["dims"])
        return _Permute()
    if typ == "chunk":
        class _Chunk(nn.Module):
            def forward(self, x: Any) -> Any:
                return x.chunk(a["chunks"], dim=1)[a["index"]]
        return _Chunk()
    if typ == "split":
        class _Split(nn.Module):
            def forward(self, x: Any) -> Any:
                return x.split(a["split_size_or_sections"], dim=a.get("dim", 1))[a["index"]]
        return _Split()
    if typ == "layerscale":
        class _Scale(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                import torch
                self.scale = nn.Parameter(torch.ones(c, *([1] * (len(shape) - 1))))

            def forward(self, x: Any) -> Any:
                return x * self.scale
        return _Scale()
    raise AssertionError(f"no torch equivalent for {typ}")


@pytest.mark.torch
@pytest.mark.parametrize("typ, args, shape, out, params, buffers, macs, flops", CASES)
def test_layer_rules_match_torch(typ: str, args: Any, shape: list[int], out: list[int], params: int,
                                 buffers: int, macs: int, flops: int) -> None:
    torch = pytest.importorskip("torch")
    module = _torch_module(typ, args, shape).eval()
    with torch.no_grad():
        y = module(torch.zeros(1, *shape))
    assert list(y.shape[1:]) == out
    assert sum(p.numel() for p in module.parameters()) == params
    float_buffers = sum(b.numel() for b in module.buffers() if b.is_floating_point())
    assert float_buffers == buffers
