"""What PyTorch refuses, cnncalc refuses; what PyTorch runs, cnncalc accepts.

Each refusal here is a mismatch the differential tests found: cnncalc accepted the layer and
counted it, but the PyTorch module could not be built or run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from cnncalc import spec
from cnncalc.errors import ShapeError
from cnncalc.graph import build


def network(kind: str, args: dict[str, Any], shape: tuple[int, ...]) -> Any:
    text = f"input: {list(shape)}\nlayers:\n  - {kind}: {json.dumps(args)}\n"
    return build(spec.load("net.yaml", text=text))


def _nn() -> Any:
    torch = pytest.importorskip("torch")
    return torch.nn


REFUSED = [
    pytest.param("convtranspose2d", {"out_channels": 2, "kernel_size": 3, "padding_mode": "reflect"}, (2, 5, 5),
                 lambda nn: nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect"),
                 "padding_mode must be 'zeros'", id="transposed conv: zeros padding only"),
    pytest.param("conv1d", {"out_channels": 1, "kernel_size": 1, "padding": 2, "padding_mode": "reflect"}, (1, 2),
                 lambda nn: nn.Conv1d(1, 1, 1, padding=2, padding_mode="reflect"),
                 "smaller than the input size 2", id="reflect padding 2 on a size of 2"),
    pytest.param("conv1d", {"out_channels": 1, "kernel_size": 1, "padding": 3, "padding_mode": "circular"}, (1, 2),
                 lambda nn: nn.Conv1d(1, 1, 1, padding=3, padding_mode="circular"),
                 "at most the input size 2", id="circular padding 3 on a size of 2"),
    pytest.param("conv2d", {"out_channels": 1, "kernel_size": 5, "padding": "same", "padding_mode": "reflect"},
                 (1, 2, 8), lambda nn: nn.Conv2d(1, 1, 5, padding="same", padding_mode="reflect"),
                 "smaller than the input size 2", id="reflect 'same' padding wider than the input"),
    pytest.param("channel_shuffle", {"groups": 2}, (4,), lambda nn: nn.ChannelShuffle(2),
                 "expects a [C, *spatial] input", id="channel shuffle of a vector"),
    pytest.param("instancenorm2d", {}, (3, 1, 1), lambda nn: nn.InstanceNorm2d(3),
                 "single position", id="instance norm over one position"),
    pytest.param("instancenorm1d", {}, (3,), lambda nn: nn.InstanceNorm1d(3, affine=True),
                 "expects a [C, L] input", id="instance norm of a vector"),
    pytest.param("avgpool1d", {"kernel_size": 2, "divisor_override": 2}, (1, 4),
                 lambda nn: nn.AvgPool1d(2, divisor_override=2), "no divisor_override", id="avgpool1d divisor"),
    pytest.param("avgpool3d", {"kernel_size": 3, "padding": 1}, (1, 2, 4, 4), lambda nn: nn.AvgPool3d(3, padding=1),
                 "larger than the input 2", id="avgpool3d kernel 3 on 2, padded to 4"),
    pytest.param("adaptiveavgpool1d", {"output_size": [None]}, (1, 4), lambda nn: nn.AdaptiveAvgPool1d((None,)),
                 "not accepted in 1-d", id="adaptive pooling 1d keeping the size"),
    pytest.param("upsample", {"scale_factor": 2, "align_corners": False}, (1, 4, 4),
                 lambda nn: nn.Upsample(scale_factor=2, align_corners=False),
                 "only for the interpolating modes", id="nearest upsampling with align_corners"),
]

ACCEPTED = [
    pytest.param("conv1d", {"out_channels": 1, "kernel_size": 1, "padding": 1, "padding_mode": "reflect"}, (1, 2),
                 lambda nn: nn.Conv1d(1, 1, 1, padding=1, padding_mode="reflect"), (1, 4), id="reflect 1 on 2"),
    pytest.param("conv1d", {"out_channels": 1, "kernel_size": 1, "padding": 2, "padding_mode": "circular"}, (1, 2),
                 lambda nn: nn.Conv1d(1, 1, 1, padding=2, padding_mode="circular"), (1, 6), id="circular 2 on 2"),
    pytest.param("instancenorm2d", {"track_running_stats": True}, (3, 1, 1),
                 lambda nn: nn.InstanceNorm2d(3, track_running_stats=True), (3, 1, 1),
                 id="instance norm over one position with running statistics"),
    pytest.param("avgpool2d", {"kernel_size": 3, "padding": 1}, (1, 2, 2), lambda nn: nn.AvgPool2d(3, padding=1),
                 (1, 1, 1), id="avgpool2d kernel 3 on 2, padded to 4"),
    pytest.param("adaptiveavgpool2d", {"output_size": [None, 2]}, (1, 4, 6),
                 lambda nn: nn.AdaptiveAvgPool2d((None, 2)), (1, 4, 2), id="adaptive pooling 2d keeping one size"),
    pytest.param("upsample", {"scale_factor": 2, "mode": "bilinear", "align_corners": True}, (1, 3, 3),
                 lambda nn: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), (1, 6, 6),
                 id="bilinear upsampling with align_corners"),
]


@pytest.mark.parametrize(("kind", "args", "shape", "module", "message"), REFUSED)
def test_cnncalc_refuses(kind: str, args: dict[str, Any], shape: tuple[int, ...], module: Callable[..., Any],
                         message: str) -> None:
    with pytest.raises(ShapeError, match=message.replace("[", r"\[").replace("*", r"\*")) as err:
        network(kind, args, shape)
    assert err.value.problems[0].line == 3  # the layer's line in net.yaml


@pytest.mark.torch
@pytest.mark.parametrize(("kind", "args", "shape", "module", "message"), REFUSED)
def test_pytorch_refuses_too(kind: str, args: dict[str, Any], shape: tuple[int, ...], module: Callable[..., Any],
                             message: str) -> None:
    nn = _nn()
    import torch

    with pytest.raises((ValueError, RuntimeError, TypeError)):
        module(nn).eval()(torch.zeros(1, *shape))


@pytest.mark.parametrize(("kind", "args", "shape", "module", "out"), ACCEPTED)
def test_cnncalc_accepts(kind: str, args: dict[str, Any], shape: tuple[int, ...], module: Callable[..., Any],
                         out: tuple[int, ...]) -> None:
    assert network(kind, args, shape).nodes[0].out_shape == out


@pytest.mark.torch
@pytest.mark.parametrize(("kind", "args", "shape", "module", "out"), ACCEPTED)
def test_pytorch_accepts_too(kind: str, args: dict[str, Any], shape: tuple[int, ...], module: Callable[..., Any],
                             out: tuple[int, ...]) -> None:
    nn = _nn()
    import torch

    assert tuple(module(nn).eval()(torch.zeros(1, *shape)).shape[1:]) == out
