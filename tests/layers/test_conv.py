"""The conv family (cnncalc/layers/conv.py): convolutions and transposed convolutions.

The registry-wide tests read these tables through tests/layers/__init__.py; a type missing
from one fails there, naming the table (the checklist: docs/adding-a-layer.md).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import strategies as st

from layers.kit import STEP, Args, E, Generator, Shape, Strategy, X, axes, divisors, nn, per_axis, spatial

#: (type, args, input shape, output shape, params, buffers, MACs, FLOPs), as arithmetic
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
    # weight standardisation: W = k·C_in/g·C_out weights, 5W FLOPs once per pass (+ W + C_out with a gain)
    pytest.param("conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1, "bias": False,
                            "weight_standardization": True}, [4, 10, 10],
                 [8, 10, 10], 9 * 4 * 8, 0, 9 * 4 * 8 * 100, 2 * 9 * 4 * 8 * 100 + 5 * 9 * 4 * 8,
                 id="weight-standardised 3x3 (BiT's StdConv2d)"),
    pytest.param("conv2d", {"out_channels": 8, "kernel_size": 3, "stride": 2, "weight_standardization": True,
                            "ws_gain": True, "ws_gamma": 1.7, "ws_eps": 1e-5}, [4, 9, 9],
                 [8, 4, 4], (9 * 4 + 1) * 8 + 8, 0, 9 * 4 * 8 * 16,
                 2 * 9 * 4 * 8 * 16 + 8 * 16 + 6 * 9 * 4 * 8 + 8, id="scaled, with a gain (NF-Nets' ScaledStdConv2d)"),
    pytest.param("conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1, "padding_mode": "reflect",
                            "weight_standardization": True, "ws_gain": True}, [2, 5, 5],
                 [4, 5, 5], (9 * 2 + 1) * 4 + 4, 0, 9 * 2 * 4 * 25, 2 * 9 * 2 * 100 + 100 + 6 * 9 * 2 * 4 + 4,
                 id="weight-standardised, reflect padding"),
    pytest.param("conv1d", {"out_channels": 6, "kernel_size": 3, "groups": 2, "weight_standardization": True,
                            "ws_gain": True}, [4, 12],
                 [6, 10], (3 * 2 + 1) * 6 + 6, 0, 3 * 2 * 6 * 10, 2 * 3 * 2 * 6 * 10 + 6 * 10 + 6 * 3 * 2 * 6 + 6,
                 id="conv1d weight-standardised, groups 2"),
    pytest.param("conv3d", {"out_channels": 2, "kernel_size": 2, "bias": False, "weight_standardization": True},
                 [3, 3, 3, 3], [2, 2, 2, 2], 8 * 3 * 2, 0, 8 * 3 * 2 * 8, 2 * 8 * 3 * 2 * 8 + 5 * 8 * 3 * 2,
                 id="conv3d weight-standardised"),
]


#: (type, args, input shapes, saved as (tensor or dtype, elements[, per step]))
SAVED = [
    pytest.param("conv1d", {"out_channels": 8, "kernel_size": 3}, [(4, 10)],
                 [("input", 4 * 10), ("weight", 8 * 4 * 3, STEP)], id="conv1d"),
    pytest.param("conv2d", {"out_channels": 8, "kernel_size": 3}, [X], [("input", E), ("weight", 8 * 4 * 9, STEP)],
                 id="conv2d"),
    pytest.param("conv3d", {"out_channels": 2, "kernel_size": 3, "bias": False}, [(4, 5, 5, 5)],
                 [("input", 4 * 125), ("weight", 2 * 4 * 27, STEP)], id="conv3d no bias"),
    pytest.param("conv2d", {"out_channels": 4, "kernel_size": 3, "groups": 4}, [X],
                 [("input", E), ("weight", 4 * 1 * 9, STEP)], id="depthwise 3x3"),
    pytest.param("conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1, "padding_mode": "reflect"}, [X],
                 [("input", E), ("act", 4 * 8 * 8), ("weight", 8 * 4 * 9, STEP)], id="reflect padding: padded copy"),
    pytest.param("conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1, "padding_mode": "circular"}, [X],
                 [("act", 4 * 8 * 8), ("weight", 8 * 4 * 9, STEP)], id="circular padding: padded copy only"),
    pytest.param("conv2d", {"out_channels": 8, "kernel_size": 4, "padding": "same"}, [X],
                 [("act", 4 * 7 * 7), ("weight", 8 * 4 * 16, STEP)], id="same, even kernel: one-longer copy"),
    pytest.param("conv2d", {"out_channels": 8, "kernel_size": 3, "padding": "same"}, [X],
                 [("input", E), ("weight", 8 * 4 * 9, STEP)], id="same, odd kernel: the input"),
    pytest.param("convtranspose1d", {"out_channels": 2, "kernel_size": 2}, [(4, 5)],
                 [("input", 4 * 5), ("weight", 4 * 2 * 2, STEP)], id="convtranspose1d"),
    pytest.param("convtranspose2d", {"out_channels": 2, "kernel_size": 2, "stride": 2}, [X],
                 [("input", E), ("weight", 4 * 2 * 4, STEP)], id="convtranspose2d"),
    pytest.param("convtranspose3d", {"out_channels": 2, "kernel_size": 2}, [(4, 3, 3, 3)],
                 [("input", 4 * 27), ("weight", 4 * 2 * 8, STEP)], id="convtranspose3d"),
    pytest.param("conv2d", {"out_channels": 8, "kernel_size": 3, "weight_standardization": True}, [X],
                 [("input", E), ("act", 8 * 4 * 9, STEP), ("fp32", 2 * 8, STEP)],
                 id="weight-standardised: the standardised weight, mean and inverse std per output channel"),
    pytest.param("conv2d", {"out_channels": 8, "kernel_size": 3, "weight_standardization": True, "ws_gain": True},
                 [X], [("input", E), ("act", 8 * 4 * 9, STEP), ("fp32", 2 * 8, STEP), ("weights", 8, STEP)],
                 id="with a gain: gain·scale too"),
    pytest.param("conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1, "padding_mode": "reflect",
                            "weight_standardization": True}, [X],
                 [("input", E), ("act", 4 * 8 * 8), ("act", 8 * 4 * 9, STEP), ("fp32", 2 * 8, STEP)],
                 id="weight-standardised, reflect padding: the padded copy too"),
]


#: (layer after a 3x3 conv on [4, 8, 8], its torch twin from ``nn``): what autograd saves, to the byte
AUTOGRAD = [
    pytest.param("conv2d: {out_channels: 6, kernel_size: 3}", lambda nn: nn.Conv2d(4, 6, 3), id="conv2d"),
    pytest.param("conv2d: {out_channels: 6, kernel_size: 3, padding: 1, padding_mode: reflect}",
                 lambda nn: nn.Conv2d(4, 6, 3, padding=1, padding_mode="reflect"), id="conv2d reflect"),
    pytest.param("conv2d: {out_channels: 6, kernel_size: 3, padding: 1, padding_mode: circular}",
                 lambda nn: nn.Conv2d(4, 6, 3, padding=1, padding_mode="circular"), id="conv2d circular"),
    pytest.param("conv2d: {out_channels: 6, kernel_size: 4, padding: same}",
                 lambda nn: nn.Conv2d(4, 6, 4, padding="same"),
                 id="conv2d same even kernel"),
    pytest.param("conv2d: {out_channels: 4, kernel_size: 3, groups: 4}", lambda nn: nn.Conv2d(4, 4, 3, groups=4),
                 id="depthwise"),
    pytest.param("convtranspose2d: {out_channels: 6, kernel_size: 2, stride: 2}",
                 lambda nn: nn.ConvTranspose2d(4, 6, 2, 2), id="convtranspose2d"),
    pytest.param("conv2d: {out_channels: 6, kernel_size: 3, bias: false, weight_standardization: true, ws_eps: 1.0e-8}",
                 lambda nn: std_conv((4, 8, 8), 6, 3, bias=False, ws_eps=1e-8), id="StdConv2d (BiT)"),
    pytest.param("conv2d: {out_channels: 6, kernel_size: 3, stride: 2, weight_standardization: true, ws_gain: true}",
                 lambda nn: std_conv((4, 8, 8), 6, 3, stride=2, ws_gain=True), id="ScaledStdConv2d (NF-Nets)"),
]


#: (convention, type, args, input shape, MACs): what each peer tool counts, from its source
PEER_CASES = [
    pytest.param("torchvision", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, (8, 6, 6),
                 4 * 6 * 6 * 8 * 9, id="torchvision conv: out·C_in·k"),
    pytest.param("fvcore", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": "same"}, (8, 6, 6), 0,
                 id="fvcore conv with padding same: _convolution_mode, 0"),
    pytest.param("fvcore", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": "same",
                                      "padding_mode": "reflect"}, (8, 6, 6), 4 * 6 * 6 * 8 * 9,
                 id="fvcore conv with padding same, reflect: padded first, counted"),
    pytest.param("thop", "convtranspose2d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "groups": 2},
                 (8, 6, 6), 4 * 13 * 13 * (8 // 2) * 9, id="thop transposed conv: outputs·C_in/groups·k"),
    pytest.param("ptflops", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, (8, 6, 6),
                 4 * 6 * 6 * 8 * 9 + 4 * 6 * 6, id="ptflops conv: MACs + bias per output"),
    pytest.param("torchinfo", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, (8, 6, 6),
                 (4 * 8 * 9 + 4) * 36, id="torchinfo conv: params·output positions"),
    pytest.param("torchinfo", "convtranspose2d", {"out_channels": 4, "kernel_size": 3, "stride": 2}, (8, 6, 6),
                 (8 * 4 * 9 + 4) * 13 * 13, id="torchinfo transposed conv: params·output positions"),
    pytest.param("torch", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1}, (8, 6, 6),
                 4 * 6 * 6 * 8 * 9, id="torch conv: MACs = FLOPs / 2"),
    # a weight-standardised convolution, exported as WSConv2d (a subclass of nn.Conv2d): W = 4·8·9 weights
    pytest.param("fvcore", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1,
                                      "weight_standardization": True}, (8, 6, 6), 4 * 6 * 6 * 8 * 9 + 4 * 4 * 8 * 9,
                 id="fvcore weight-standardised: conv + aten::batch_norm in training, 4 per weight"),
    pytest.param("fvcore", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": "same",
                                      "weight_standardization": True, "ws_gain": True}, (8, 6, 6), 5 * 4 * 8 * 9,
                 id="fvcore weight-standardised with a gain, padding same: 0 for the conv, 5 per weight"),
    pytest.param("thop", "conv2d", {"out_channels": 4, "kernel_size": 3, "weight_standardization": True}, (8, 6, 6),
                 0, id="thop weight-standardised: no hook for the subclass"),
    pytest.param("ptflops", "conv2d", {"out_channels": 4, "kernel_size": 3, "weight_standardization": True},
                 (8, 6, 6), 0, id="ptflops weight-standardised: no hook for the subclass"),
    pytest.param("torchinfo", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1,
                                         "weight_standardization": True, "ws_gain": True}, (8, 6, 6),
                 (4 * 8 * 9 + 4) * 36, id="torchinfo weight-standardised: weight and bias per position, not the gain"),
    pytest.param("torch", "conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 1,
                                     "weight_standardization": True, "ws_gain": True}, (8, 6, 6),
                 4 * 6 * 6 * 8 * 9, id="torch weight-standardised: the convolution only"),
]


#: (type, args, shape, the torch module from ``nn``, message): refused by both
TORCH_REFUSES = [
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
    pytest.param("conv2d", {"out_channels": 4, "kernel_size": 1, "groups": 4, "weight_standardization": True},
                 (4, 3, 3), lambda nn: std_conv((4, 3, 3), 4, 1, groups=4),
                 "more than one weight per output channel", id="weight-standardised depthwise 1x1: one weight each"),
]


#: (type, args, shape, the torch module from ``nn``, output shape): accepted by both
TORCH_ACCEPTS = [
    pytest.param("conv1d", {"out_channels": 1, "kernel_size": 1, "padding": 1, "padding_mode": "reflect"}, (1, 2),
                 lambda nn: nn.Conv1d(1, 1, 1, padding=1, padding_mode="reflect"), (1, 4), id="reflect 1 on 2"),
    pytest.param("conv1d", {"out_channels": 1, "kernel_size": 1, "padding": 2, "padding_mode": "circular"}, (1, 2),
                 lambda nn: nn.Conv1d(1, 1, 1, padding=2, padding_mode="circular"), (1, 6), id="circular 2 on 2"),
    pytest.param("conv1d", {"out_channels": 2, "kernel_size": 2, "groups": 2, "weight_standardization": True},
                 (2, 3), lambda nn: std_conv((2, 3), 2, 2, groups=2), (2, 2),
                 id="weight-standardised, two weights each"),
]


def std_conv(shape: Shape, out_channels: int, kernel_size: Any, *, ws_eps: float = 1e-6, ws_gain: bool = False,
             ws_gamma: float = 1.0, **conv: Any) -> Any:
    """timm's ``StdConv2d`` (with a gain, ``ScaledStdConv2d``) for any number of spatial axes, as timm writes it.

    ``F.batch_norm`` in training mode standardises each output channel's weights; the gain is
    multiplied by ``gamma·fan_in^−½``. The convolution gets the padding mode through ``_conv_forward``.
    """
    import torch

    n = len(shape) - 1

    class StdConv(getattr(nn(), f"Conv{n}d")):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(shape[0], out_channels, kernel_size, **conv)
            self.eps = ws_eps
            self.scale = ws_gamma * self.weight[0].numel() ** -0.5
            self.gain = nn().Parameter(torch.ones(out_channels, *(1,) * (n + 1))) if ws_gain else None

        def forward(self, x: Any) -> Any:
            weight = torch.nn.functional.batch_norm(
                self.weight.reshape(1, self.out_channels, -1), None, None,
                weight=None if self.gain is None else (self.gain * self.scale).view(-1),
                training=True, momentum=0.0, eps=self.eps).reshape_as(self.weight)
            return self._conv_forward(x, weight, self.bias)

    return StdConv()


def _twin(kind: str, n: int) -> Any:
    """``nn.<kind><n>d(C_in, out_channels, kernel_size, **rest)``; weight-standardised, :func:`std_conv`."""

    def twin(args: Args, shape: Shape) -> Any:
        a = dict(args)
        out, ks = a.pop("out_channels"), a.pop("kernel_size")
        if a.pop("weight_standardization", False):
            return std_conv(shape, out, ks, **a)
        return getattr(nn(), f"{kind}{n}d")(shape[0], out, ks, **a)

    return twin


#: The torch module computing each type, built from its arguments and input shape.
TWINS: dict[str, Any] = {
    **{f"conv{n}d": _twin("Conv", n) for n in (1, 2, 3)},
    **{f"convtranspose{n}d": _twin("ConvTranspose", n) for n in (1, 2, 3)},
}


def _generator(n: int, transposed: bool) -> Generator:
    def gen(rng: random.Random, shape: Shape) -> Args | None:
        if not spatial(shape, n):
            return None
        groups = rng.choice(divisors(shape[0]))
        args: Args = {"out_channels": groups * rng.randint(1, max(1, 12 // groups)),
                      "kernel_size": axes(rng, n, 1, 3)}
        if rng.random() < 0.5:
            args["stride"] = axes(rng, n, 1, 2)
        if rng.random() < 0.3:
            args["dilation"] = axes(rng, n, 1, 2)
        if groups > 1:
            args["groups"] = groups
        if rng.random() < 0.4:
            args["bias"] = False
        args["padding_mode"] = rng.choice(["zeros", "zeros", "reflect", "replicate", "circular"])
        if transposed:
            args["padding"] = axes(rng, n, 0, 1)
            if rng.random() < 0.3:
                args["output_padding"] = 1
        else:
            args["padding"] = rng.choice([0, 1, axes(rng, n, 0, 2), "valid", "same"])
            if args["padding"] == "same":
                args.pop("stride", None)
            if rng.random() < 0.25:
                # timm's StdConv2d, or with a gain its ScaledStdConv2d
                args["weight_standardization"] = True
                if rng.random() < 0.5:
                    args.update(ws_gain=True, ws_gamma=rng.choice([1.0, 1.7139588594436646]))
        return args

    return gen


#: Random arguments for the seeded random networks (tests/random_networks.py).
GENERATORS: dict[str, Generator] = {
    **{f"conv{n}d": _generator(n, False) for n in (1, 2, 3)},
    **{f"convtranspose{n}d": _generator(n, True) for n in (1, 2, 3)},
}


def _strategy(shape: Shape, ndim: int, transposed: bool) -> st.SearchStrategy[Args]:
    @st.composite
    def draw(d: Callable[..., Any]) -> dict[str, Any]:
        groups = d(st.sampled_from(divisors(shape[0])))
        stride = d(st.integers(1, 3) if transposed else per_axis(ndim, st.integers(1, 3)))
        dilation = d(st.integers(1, 2) if transposed else per_axis(ndim, st.integers(1, 2)))
        args: dict[str, Any] = {
            "out_channels": groups * d(st.integers(1, 4)),
            "kernel_size": d(per_axis(ndim, st.integers(1, 4))),
            "stride": stride, "dilation": dilation, "groups": groups, "bias": d(st.booleans()),
        }
        if transposed:
            args["padding"] = d(st.integers(0, 1))
            args["output_padding"] = d(st.integers(0, max(stride, dilation) - 1))
        else:
            pads = [st.integers(0, 2), st.just("valid")]
            if stride == 1 or stride == [1] * ndim:
                pads.append(st.just("same"))
            args["padding"] = d(st.one_of(*pads))
            args["padding_mode"] = d(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
            if d(st.booleans()):
                args["weight_standardization"] = True
                args["ws_gain"] = d(st.booleans())
                args["ws_eps"] = d(st.sampled_from([1e-6, 1e-8, 1e-5]))
        if d(st.booleans()):
            args["in_channels"] = shape[0]
        return args

    return draw()


#: Hypothesis strategies for the property tests (tests/test_properties.py), by family stem.
STRATEGIES: dict[str, Strategy] = {
    "conv": lambda s: _strategy(s, len(s) - 1, False),
    "convtranspose": lambda s: _strategy(s, len(s) - 1, True),
}


# -- weight standardisation against autograd: frozen, and under autocast ---------------------------


def _ws_saved(layer: str, frozen: tuple[bool, bool], batch: int, amp: bool) -> tuple[int, int]:
    """(cnncalc, autograd) saved bytes of ``pre`` conv → a weight-standardised ``layer``, each frozen or not."""
    torch = pytest.importorskip("torch")
    from conftest import measure_memory

    from cnncalc import spec
    from cnncalc.graph import build
    from cnncalc.memory import MemoryModel

    text = (f"input: [4, 8, 8]\nlayers:\n  - conv2d: {{out_channels: 4, kernel_size: 3, padding: 1, "
            f"frozen: {str(frozen[0]).lower()}}}\n  - conv2d: {{{layer}, frozen: {str(frozen[1]).lower()}}}\n")
    graph = build(spec.load("case.yaml", text=text))
    args = {k.strip(): v.strip() for k, v in (item.split(":") for item in layer.split(","))}
    torch.manual_seed(0)
    model = nn().Sequential(nn().Conv2d(4, 4, 3, padding=1),
                            std_conv((4, 8, 8), int(args["out_channels"]), int(args["kernel_size"]),
                                     ws_gain=args.get("ws_gain") == "true"))
    for module, off in zip(model, frozen):
        module.requires_grad_(not off)
    measure = measure_memory()
    dtype = torch.bfloat16 if amp else None
    theirs = measure.saved_bytes(model, torch.randn(batch, 4, 8, 8), amp=dtype)
    ours = MemoryModel(graph, optimizer="sgd", **({"dtype": "bf16", "amp": True} if amp else {})).estimate(batch)
    return ours.saved, theirs


WS_LAYERS = ["out_channels: 6, kernel_size: 3, weight_standardization: true",
             "out_channels: 6, kernel_size: 3, weight_standardization: true, ws_gain: true"]


@pytest.mark.torch
@pytest.mark.parametrize("layer", WS_LAYERS, ids=["StdConv2d", "ScaledStdConv2d"])
@pytest.mark.parametrize("frozen", [(False, True), (True, False), (True, True)],
                         ids=["conv frozen: the standardisation builds no backward", "input needs no grad",
                              "both frozen: nothing"])
def test_weight_standardisation_frozen_saves_what_autograd_saves(layer: str, frozen: tuple[bool, bool]) -> None:
    for batch in (2, 3):
        ours, theirs = _ws_saved(layer, frozen, batch, amp=False)
        assert ours == theirs


@pytest.mark.torch
@pytest.mark.parametrize("layer", WS_LAYERS, ids=["StdConv2d", "ScaledStdConv2d"])
def test_weight_standardisation_under_autocast_saves_a_low_precision_standardised_weight(layer: str) -> None:
    # CPU autocast (bf16) as CUDA's: the convolution keeps a bf16 copy of the standardised weight;
    # the statistics and gain·scale stay fp32
    for batch in (2, 3):
        ours, theirs = _ws_saved(layer, (False, False), batch, amp=True)
        assert ours == theirs
