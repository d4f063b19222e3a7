"""The reshape family, cnncalc/layers/reshape.py.

Flatten, permute, identity, dropout, padding (zero, reflection, replication, circular), upsampling
and pixel (un)shuffle.

The registry-wide tests read these tables through tests/layers/__init__.py; a type missing
from one fails there, naming the table (the checklist: docs/adding-a-layer.md).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from conftest import network_text
from hypothesis import strategies as st

from cnncalc import analyse, spec
from cnncalc.errors import CnnCalcError
from layers.kit import PE, Args, E, Generator, Lambda, Shape, Strategy, X, nn, per_axis

#: (type, args, input shape, output shape, params, buffers, MACs, FLOPs), as arithmetic
CASES = [
    pytest.param("dropout", {"p": 0.5}, [4096], [4096], 0, 0, 0, 0, id="dropout"),
    pytest.param("dropout2d", None, [8, 4, 4], [8, 4, 4], 0, 0, 0, 0, id="dropout2d"),
    pytest.param("dropout1d", None, [8, 4], [8, 4], 0, 0, 0, 0, id="dropout1d"),
    pytest.param("dropout3d", None, [8, 2, 2, 2], [8, 2, 2, 2], 0, 0, 0, 0, id="dropout3d"),
    pytest.param("alphadropout", None, [4096], [4096], 0, 0, 0, 0, id="alphadropout"),
    pytest.param("permute", {"dims": [0, 2, 3, 1]}, [8, 4, 5], [4, 5, 8], 0, 0, 0, 0, id="permute to channels-last"),
    pytest.param("flatten", None, [50, 4, 4], [800], 0, 0, 0, 0, id="flatten"),
    pytest.param("flatten", {"start_dim": 2}, [8, 4, 5], [8, 20], 0, 0, 0, 0, id="flatten spatial axes only"),
    pytest.param("identity", None, [3, 4, 4], [3, 4, 4], 0, 0, 0, 0, id="identity"),
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
    pytest.param("zeropad3d", {"padding": 1}, [1, 2, 3, 4], [1, 4, 5, 6], 0, 0, 0, 0, id="zeropad3d"),
    # TF-'same' max pooling pads with -inf (timm's MaxPool2dSame), after by one more than before
    pytest.param("constantpad2d", {"padding": [0, 1, 0, 1], "value": float("-inf")}, [96, 83, 83], [96, 84, 84],
                 0, 0, 0, 0, id="constantpad2d -inf (NASNet's 'same' max pooling)"),
    pytest.param("constantpad1d", {"padding": [-1, 2], "value": 0.5}, [2, 6], [2, 7], 0, 0, 0, 0,
                 id="constantpad1d crops first, as zero padding"),
    pytest.param("constantpad1d", {"padding": 1, "value": "-inf"}, [2, 6], [2, 8], 0, 0, 0, 0,
                 id="constantpad1d -inf as JSON writes it"),
    pytest.param("constantpad3d", {"padding": [1, 0, 0, 1, 2, 2], "value": -1.0}, [2, 3, 3, 3], [2, 7, 4, 4],
                 0, 0, 0, 0, id="constantpad3d (left, right, top, bottom, front, back)"),
    pytest.param("permute", {"dims": [0, 2, 3, 1]}, [96, 7, 5], [7, 5, 96], 0, 0, 0, 0, id="permute to channels-last"),
    pytest.param("zeropad2d", {"padding": [-1, -2, 0, -3]}, [3, 8, 8], [3, 8 - 3, 8 - 3], 0, 0, 0, 0,
                 id="negative zero padding crops"),
    pytest.param("zeropad1d", {"padding": [2, -3]}, [2, 6], [2, 6 + 2 - 3], 0, 0, 0, 0,
                 id="zeropad1d pad before, crop after"),
    pytest.param("zeropad3d", {"padding": -1}, [1, 3, 4, 5], [1, 1, 2, 3], 0, 0, 0, 0, id="zeropad3d -1"),
    pytest.param("reflectionpad2d", {"padding": 1}, [8, 7, 7], [8, 7 + 2, 7 + 2], 0, 0, 0, 0,
                 id="reflectionpad2d 1 (anti-aliased downsampling)"),
    pytest.param("reflectionpad2d", {"padding": [3, 3, 0, 2]}, [2, 4, 4], [2, 4 + 0 + 2, 4 + 3 + 3], 0, 0, 0, 0,
                 id="reflectionpad2d up to size − 1"),
    pytest.param("reflectionpad1d", {"padding": [-2, 3]}, [2, 5], [2, 5 - 2 + 3], 0, 0, 0, 0,
                 id="reflectionpad1d crop before, pad after"),
    pytest.param("reflectionpad3d", {"padding": 1}, [1, 2, 3, 4], [1, 4, 5, 6], 0, 0, 0, 0, id="reflectionpad3d"),
    pytest.param("replicationpad2d", {"padding": [5, 0, 1, 1]}, [3, 2, 2], [3, 2 + 2, 2 + 5], 0, 0, 0, 0,
                 id="replicationpad2d beyond the input size"),
    pytest.param("replicationpad1d", {"padding": 2}, [4, 3], [4, 3 + 4], 0, 0, 0, 0, id="replicationpad1d"),
    pytest.param("replicationpad3d", {"padding": [1, 0, 0, 1, -1, 0]}, [1, 3, 3, 3], [1, 3 - 1, 3 + 1, 3 + 1],
                 0, 0, 0, 0, id="replicationpad3d crops front"),
    pytest.param("circularpad2d", {"padding": [4, 4, 1, 0]}, [2, 3, 4], [2, 3 + 1, 4 + 8], 0, 0, 0, 0,
                 id="circularpad2d wraps the whole width"),
    pytest.param("circularpad1d", {"padding": [1, -2]}, [2, 5], [2, 5 + 1 - 2], 0, 0, 0, 0,
                 id="circularpad1d pad before, crop after"),
    pytest.param("circularpad3d", {"padding": 1}, [1, 2, 2, 2], [1, 4, 4, 4], 0, 0, 0, 0, id="circularpad3d"),
]


#: (type, args, input shapes, saved as (tensor or dtype, elements[, per step]))
SAVED = [
    pytest.param("dropout", {"p": 0.5}, [X], [("bool", E)], id="dropout: 1 byte per element"),
    pytest.param("dropout", {"p": 0.5, "inplace": True}, [X], [("act", E)], id="dropout inplace: act mask"),
    pytest.param("dropout", {"p": 0.0}, [X], [], id="dropout p=0: nothing"),
    pytest.param("dropout1d", {}, [(4, 10)], [("act", 4)], id="dropout1d: per channel"),
    pytest.param("dropout2d", {}, [X], [("act", 4)], id="dropout2d: per channel"),
    pytest.param("dropout3d", {}, [(4, 2, 2, 2)], [("act", 4)], id="dropout3d: per channel"),
    pytest.param("alphadropout", {}, [X], [("act", E)], id="alphadropout"),
    pytest.param("flatten", {}, [X], [], id="flatten"),
    pytest.param("permute", {"dims": [0, 2, 3, 1]}, [X], [], id="permute"),
    pytest.param("identity", {}, [X], [], id="identity"),
    pytest.param("zeropad1d", {"padding": 1}, [(4, 10)], [], id="zeropad1d"),
    pytest.param("zeropad2d", {"padding": 1}, [X], [], id="zeropad2d"),
    pytest.param("zeropad3d", {"padding": 1}, [(4, 2, 2, 2)], [], id="zeropad3d"),
    pytest.param("constantpad1d", {"padding": 1, "value": 2.0}, [(4, 10)], [], id="constantpad1d: nothing"),
    pytest.param("constantpad2d", {"padding": 1, "value": float("-inf")}, [X], [], id="constantpad2d: nothing"),
    pytest.param("constantpad3d", {"padding": 1, "value": -1.0}, [(4, 2, 2, 2)], [], id="constantpad3d: nothing"),
    # reflection_pad*d_backward(grad, self, padding) and replication_pad*d_backward read the input
    pytest.param("reflectionpad1d", {"padding": 1}, [(4, 10)], [("input", 4 * 10)], id="reflectionpad1d: the input"),
    pytest.param("reflectionpad2d", {"padding": 1}, [X], [("input", E)], id="reflectionpad2d: the input"),
    pytest.param("reflectionpad3d", {"padding": 1}, [(4, 2, 2, 2)], [("input", 4 * 8)], id="reflectionpad3d"),
    pytest.param("replicationpad1d", {"padding": 1}, [(4, 10)], [("input", 4 * 10)], id="replicationpad1d"),
    pytest.param("replicationpad2d", {"padding": 2}, [X], [("input", E)], id="replicationpad2d: the input"),
    pytest.param("replicationpad3d", {"padding": 1}, [(4, 2, 2, 2)], [("input", 4 * 8)], id="replicationpad3d"),
    # circular padding is copies into slices of the output (CopySlices): nothing to keep
    pytest.param("circularpad1d", {"padding": 1}, [(4, 10)], [], id="circularpad1d: nothing"),
    pytest.param("circularpad2d", {"padding": 1}, [X], [], id="circularpad2d: nothing"),
    pytest.param("circularpad3d", {"padding": 1}, [(4, 2, 2, 2)], [], id="circularpad3d: nothing"),
    pytest.param("upsample", {"scale_factor": 2, "mode": "bilinear"}, [X], [], id="upsample: shapes"),
    pytest.param("pixelshuffle", {"upscale_factor": 2}, [X], [], id="pixelshuffle"),
    pytest.param("pixelunshuffle", {"downscale_factor": 2}, [X], [], id="pixelunshuffle"),
]


#: (layer after a 3x3 conv on [4, 8, 8], its torch twin from ``nn``): what autograd saves, to the byte
AUTOGRAD = [
    pytest.param("dropout: {p: 0.3}", lambda nn: nn.Dropout(0.3), id="dropout"),
    pytest.param("dropout: {p: 0.3, inplace: true}", lambda nn: nn.Dropout(0.3, inplace=True), id="dropout inplace"),
    pytest.param("dropout: {p: 0.0}", lambda nn: nn.Dropout(0.0), id="dropout p 0"),
    pytest.param("dropout2d: {p: 0.3}", lambda nn: nn.Dropout2d(0.3), id="dropout2d"),
    pytest.param("alphadropout: {p: 0.3}", lambda nn: nn.AlphaDropout(0.3), id="alphadropout"),
    pytest.param("zeropad2d: {padding: 1}", lambda nn: nn.ZeroPad2d(1), id="zeropad2d"),
    pytest.param("reflectionpad2d: {padding: [1, 2, 0, 1]}", lambda nn: nn.ReflectionPad2d((1, 2, 0, 1)),
                 id="reflectionpad2d"),
    pytest.param("replicationpad2d: {padding: 3}", lambda nn: nn.ReplicationPad2d(3), id="replicationpad2d"),
    pytest.param("circularpad2d: {padding: 2}", lambda nn: nn.CircularPad2d(2), id="circularpad2d"),
    pytest.param("upsample: {scale_factor: 2, mode: bilinear}", lambda nn: nn.Upsample(scale_factor=2, mode="bilinear"),
                 id="upsample bilinear"),
    pytest.param("pixelshuffle: {upscale_factor: 2}", lambda nn: nn.PixelShuffle(2), id="pixelshuffle"),
    pytest.param("pixelunshuffle: {downscale_factor: 2}", lambda nn: nn.PixelUnshuffle(2), id="pixelunshuffle"),
    pytest.param("identity", lambda nn: nn.Identity(), id="identity"),
    pytest.param("flatten", lambda nn: nn.Flatten(), id="flatten"),
]


#: (convention, type, args, input shape, MACs): what each peer tool counts, from its source
PEER_CASES = [
    pytest.param("fvcore", "upsample", {"scale_factor": 2, "mode": "bilinear"}, (8, 6, 6), 4 * 4 * PE,
                 id="fvcore upsample_bilinear2d: 4 per output"),
    pytest.param("fvcore", "upsample", {"scale_factor": 2}, (8, 6, 6), 4 * PE, id="fvcore upsample_nearest2d: 1"),
    pytest.param("fvcore", "upsample", {"scale_factor": 2}, (8, 6), 0, id="fvcore upsample_nearest1d: 0"),
    pytest.param("thop", "upsample", {"scale_factor": 2, "mode": "bilinear"}, (8, 6, 6), 11 * 4 * PE,
                 id="thop bilinear: 11 per output"),
    pytest.param("thop", "upsample", {"scale_factor": 2, "mode": "trilinear"}, (8, 6, 6, 6), 0,
                 id="thop trilinear: not among its modes, 0"),
    pytest.param("ptflops", "upsample", {"scale_factor": 2}, (8, 6, 6), 2 * 4 * PE,
                 id="ptflops upsample: module hook and F.interpolate"),
    pytest.param("ptflops", "upsample", {"scale_factor": [1.5, 1.5]}, (8, 4, 4), 8 * 6 * 6 + 8 * 16 * 2,
                 id="ptflops upsample by a list: input·int(Π factors)"),
]


#: (type, args, shape, the torch module from ``nn``, message): refused by both
TORCH_REFUSES = [
    pytest.param("upsample", {"scale_factor": 2, "align_corners": False}, (1, 4, 4),
                 lambda nn: nn.Upsample(scale_factor=2, align_corners=False),
                 "only for the interpolating modes", id="nearest upsampling with align_corners"),
    # F.pad crops by the negative pads before padding: 1 + 0 − 2 < 0, although 1 + 2 − 2 = 1
    pytest.param("zeropad1d", {"padding": [2, -2]}, (1, 1), lambda nn: nn.ZeroPad1d((2, -2)),
                 "crops 2 entries from the 1", id="zero padding cropping more than the axis first"),
    pytest.param("reflectionpad2d", {"padding": [0, 0, 4, 0]}, (1, 4, 6),
                 lambda nn: nn.ReflectionPad2d((0, 0, 4, 0)), "padding 4 must be smaller than the input size 4 along H",
                 id="reflection padding as large as the input"),
    pytest.param("reflectionpad1d", {"padding": 1}, (1, 1), lambda nn: nn.ReflectionPad1d(1),
                 "padding 1 must be smaller than the input size 1 along L", id="reflection padding of one entry"),
    pytest.param("circularpad1d", {"padding": [0, 4]}, (1, 3), lambda nn: nn.CircularPad1d((0, 4)),
                 "padding 4 must be at most the input size 3 along L", id="circular padding wrapping twice"),
    # _pad_circular slices the cropped input: 3 − 4 < 0 entries do not fill the output's middle
    pytest.param("circularpad1d", {"padding": [-4, 3]}, (1, 3), lambda nn: nn.CircularPad1d((-4, 3)),
                 "crops 4 entries from the 3", id="circular padding cropping more than the axis first"),
]


#: (type, args, shape, the torch module from ``nn``, output shape): accepted by both
TORCH_ACCEPTS = [
    pytest.param("upsample", {"scale_factor": 2, "mode": "bilinear", "align_corners": True}, (1, 3, 3),
                 lambda nn: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), (1, 6, 6),
                 id="bilinear upsampling with align_corners"),
    pytest.param("zeropad1d", {"padding": [-3, 1]}, (1, 3), lambda nn: nn.ZeroPad1d((-3, 1)), (1, 1),
                 id="zero padding cropping the whole axis, then padding"),
    pytest.param("reflectionpad1d", {"padding": 3}, (1, 4), lambda nn: nn.ReflectionPad1d(3), (1, 4 + 6),
                 id="reflection padding by size − 1"),
    pytest.param("reflectionpad1d", {"padding": [-5, 1]}, (1, 5), lambda nn: nn.ReflectionPad1d((-5, 1)), (1, 1),
                 id="reflection padding cropping the whole axis, then padding"),
    pytest.param("replicationpad1d", {"padding": [7, -1]}, (1, 2), lambda nn: nn.ReplicationPad1d((7, -1)), (1, 8),
                 id="replication padding far beyond the input"),
    pytest.param("circularpad1d", {"padding": 3}, (1, 3), lambda nn: nn.CircularPad1d(3), (1, 9),
                 id="circular padding by the whole size"),
]


#: (type, args, shape, whether PyTorch refuses too, words of cnncalc's message)
REFUSED = [
    pytest.param("zeropad1d", {"padding": [-3, -3]}, [2, 6], False, "leaves 0 entries", id="negative padding to 0"),
    pytest.param("zeropad2d", {"padding": [-4, -3, 0, 0]}, [2, 5, 6], True, "leaves -1 entries",
                 id="negative padding past the input"),
    pytest.param("reflectionpad1d", {"padding": [-4, -1]}, [2, 5], True, "leaves 0 entries",
                 id="reflection padding cropping to 0"),
    pytest.param("replicationpad2d", {"padding": [0, 0, -2, -2]}, [2, 3, 3], True, "leaves -1 entries",
                 id="replication padding cropping past the input"),
    pytest.param("replicationpad2d", {"padding": [0, 0, -2, -1]}, [2, 3, 3], False, "leaves 0 entries",
                 id="replication padding cropping to 0"),
    # PyTorch's _pad_circular computes a width of 1 here from slices it clamps; cnncalc refuses it
    pytest.param("circularpad1d", {"padding": [-3, 2]}, [2, 2], False, "crops 3 entries from the 2",
                 id="circular padding cropping past the input, then padding"),
    # PyTorch copies the wrap from the 2 − 2 = 0 entries left, so the output is uninitialised memory
    pytest.param("circularpad1d", {"padding": [-2, 1]}, [2, 2], False, "wraps more than once around the 0 entries",
                 id="circular padding wrapping more than the crop leaves"),
    pytest.param("circularpad3d", {"padding": [0, 0, 3, -1, 0, 0]}, [1, 2, 3, 2], False,
                 "padding 3 wraps more than once around the 2 entries left along H",
                 id="circular padding wrapping more than the crop leaves, in 3-d"),
]


def _nn(cls: str) -> Any:
    """``nn.<cls>(**args)``."""
    return lambda a, s: getattr(nn(), cls)(**a)


#: The padding modules, ``nn.<stem><n>d``.
PADS = ("ZeroPad", "ReflectionPad", "ReplicationPad", "CircularPad")


def _pad(stem: str, n: int) -> Any:
    """``nn.<stem><n>d(padding)``, a list of amounts as a tuple."""
    return lambda a, s: getattr(nn(), f"{stem}{n}d")(tuple(a["padding"]) if isinstance(a["padding"], list)
                                                    else a["padding"])


def _constant_pad(n: int) -> Any:
    """``nn.ConstantPad<n>d(padding, value)``."""
    return lambda a, s: getattr(nn(), f"ConstantPad{n}d")(
        tuple(a["padding"]) if isinstance(a["padding"], list) else a["padding"], float(a["value"]))


#: The torch module computing each type, built from its arguments and input shape.
TWINS: dict[str, Any] = {
    "flatten": _nn("Flatten"), "identity": _nn("Identity"), "dropout": _nn("Dropout"),
    "alphadropout": _nn("AlphaDropout"), "upsample": _nn("Upsample"), "pixelshuffle": _nn("PixelShuffle"),
    "pixelunshuffle": _nn("PixelUnshuffle"),
    "permute": lambda a, s: Lambda(lambda x: x.permute(*a["dims"])),
    **{f"dropout{n}d": _nn(f"Dropout{n}d") for n in (1, 2, 3)},
    **{f"{stem.lower()}{n}d": _pad(stem, n) for stem in PADS for n in (1, 2, 3)},
    **{f"constantpad{n}d": _constant_pad(n) for n in (1, 2, 3)},
}


def _flatten(rng: random.Random, shape: Shape) -> Args | None:
    rank = len(shape) + 1
    start = rng.randint(1, rank - 1)
    return {"start_dim": start, "end_dim": rng.choice([-1, rng.randint(start, rank - 1)])}


def _upsample(rng: random.Random, shape: Shape) -> Args | None:
    n = len(shape) - 1
    if n < 1:
        return None
    modes = ["nearest", "nearest-exact", {1: "linear", 2: rng.choice(["bilinear", "bicubic"]), 3: "trilinear"}[n]]
    args: Args = {"mode": rng.choice(modes)}
    if rng.random() < 0.3:
        args["size"] = [s + rng.randint(0, 3) for s in shape[1:]]
    elif rng.random() < 0.5:
        args["scale_factor"] = [rng.choice([1, 2]) for _ in range(n)]
    else:
        args["scale_factor"] = rng.choice([2, 2.0, 0.5])
    if rng.random() < 0.4:
        args["align_corners"] = rng.random() < 0.5
    return args


def _feature_dropout(n: int) -> Generator:
    """Channel dropout: [C, *n spatial axes]."""
    return lambda rng, s: {"p": rng.choice([0.1, 0.5])} if len(s) == n + 1 else None


def _zeropad_args(n: int) -> Generator:
    """Zero padding with amounts from −2 (a crop) to 2."""
    def gen(rng: random.Random, shape: Shape) -> Args | None:
        if len(shape) != n + 1:
            return None
        if rng.random() < 0.3:
            return {"padding": rng.randint(-1, 2)}
        return {"padding": [rng.randint(-2, 2) for _ in range(2 * n)]}

    return gen


def _constant_args(n: int) -> Generator:
    """Constant padding: zero padding's amounts, a value of -inf (as JSON holds it), 0.5 or -1."""
    zero = _zeropad_args(n)

    def gen(rng: random.Random, shape: Shape) -> Args | None:
        args = zero(rng, shape)
        return None if args is None else {**args, "value": rng.choice(["-inf", 0.5, -1.0])}

    return gen


def _pad_args(stem: str, n: int) -> Generator:
    """Amounts from −2 to 3 that PyTorch takes: reflection below the size, circular at most the size
    (after a crop of at most the size); at least one entry left on each axis."""
    def fits(size: int, before: int, after: int) -> bool:
        if size + before + after < 1:
            return False
        if stem == "reflectionpad":
            return max(before, after) < size
        if stem == "circularpad":
            return max(before, after) <= size + min(before, 0) + min(after, 0)
        return True

    def gen(rng: random.Random, shape: Shape) -> Args | None:
        if len(shape) != n + 1:
            return None
        # F.pad's order: the last axis first
        pairs = [next((p for p in ((rng.randint(-2, 3), rng.randint(-2, 3)) for _ in range(20)) if fits(size, *p)),
                      (0, 0)) for size in reversed(shape[1:])]
        pads = [v for pair in pairs for v in pair]
        same = all(fits(size, pads[0], pads[0]) for size in shape[1:])
        return {"padding": pads[0]} if same and rng.random() < 0.3 else {"padding": pads}

    return gen


#: Random arguments for the seeded random networks (tests/random_networks.py).
GENERATORS: dict[str, Generator] = {
    "flatten": _flatten,
    "identity": lambda rng, s: {},
    "dropout": lambda rng, s: {"p": rng.choice([0.1, 0.5])},
    "alphadropout": lambda rng, s: {"p": rng.choice([0.1, 0.5])},
    "upsample": _upsample,
    "pixelshuffle": lambda rng, s: ({"upscale_factor": 2} if len(s) == 3 and s[0] % 4 == 0 else None),
    "pixelunshuffle": lambda rng, s: ({"downscale_factor": 2} if len(s) == 3 and s[1] % 2 == 0 == s[2] % 2
                                      else None),
    **{f"dropout{n}d": _feature_dropout(n) for n in (1, 2, 3)},
    **{f"zeropad{n}d": _zeropad_args(n) for n in (1, 2, 3)},
    **{f"constantpad{n}d": _constant_args(n) for n in (1, 2, 3)},
    **{f"{stem}{n}d": _pad_args(stem, n) for stem in ("reflectionpad", "replicationpad", "circularpad")
       for n in (1, 2, 3)},
}
#: The random networks place permute themselves, around layers that work on channels-last tensors.
WIRED = {"permute"}


def _upsample_strategy(shape: Shape) -> st.SearchStrategy[Args]:
    n = len(shape) - 1
    modes = ["nearest", "nearest-exact", *{1: ["linear"], 2: ["bilinear", "bicubic"], 3: ["trilinear"]}.get(n, [])]
    return st.fixed_dictionaries(
        {"mode": st.sampled_from(modes)},
        optional={"align_corners": st.booleans()},
    ).flatmap(lambda a: st.one_of(
        st.builds(lambda s: {**a, "scale_factor": s}, st.one_of(st.integers(1, 3), st.sampled_from([0.5, 1.5]))),
        st.builds(lambda s: {**a, "size": s}, per_axis(n, st.integers(1, 12))),
    )).map(lambda a: a if a["mode"] in ("linear", "bilinear", "bicubic", "trilinear") else
           {k: v for k, v in a.items() if k != "align_corners"})


def _pad_strategy(stem: str) -> Strategy:
    """Padding by a seed through ``_pad_args``, 0 for a shape of another rank."""
    return lambda shape: st.integers(0, 2**32 - 1).map(
        lambda seed: _pad_args(stem, len(shape) - 1)(random.Random(seed), shape) or {"padding": 0})


def _dropout(shape: Shape) -> st.SearchStrategy[Args]:
    return st.fixed_dictionaries({}, optional={"p": st.floats(0, 1), "inplace": st.booleans()})


#: Hypothesis strategies for the property tests (tests/test_properties.py), by type or family stem.
STRATEGIES: dict[str, Strategy] = {
    "dropout": _dropout,
    "alphadropout": _dropout,
    "flatten": lambda s: st.sampled_from([{}, {"start_dim": 1, "end_dim": -1}, {"start_dim": len(s)}]),
    "identity": lambda s: st.just({}),
    "permute": lambda s: st.permutations(range(1, len(s) + 1)).map(lambda order: {"dims": [0, *order]}),
    "zeropad": lambda shape: st.integers(0, 2**32 - 1).map(
        lambda seed: _zeropad_args(len(shape) - 1)(random.Random(seed), shape) or {"padding": 0}),
    **{stem: _pad_strategy(stem) for stem in ("reflectionpad", "replicationpad", "circularpad")},
    "constantpad": lambda shape: st.integers(0, 2**32 - 1).map(
        lambda seed: _constant_args(len(shape) - 1)(random.Random(seed), shape) or {"padding": 0, "value": 1.0}),
    "upsample": _upsample_strategy,
    "pixelshuffle": lambda s: st.fixed_dictionaries(
        {"upscale_factor": st.sampled_from([r for r in range(1, 4) if s[0] % (r * r) == 0])}),
    "pixelunshuffle": lambda s: st.fixed_dictionaries(
        {"downscale_factor": st.sampled_from([r for r in range(1, 4) if all(n % r == 0 for n in s[1:])])}),
}

#: The ranks a type takes where its ``ndim`` does not say (tests/test_properties.py).
FITS: dict[str, Any] = {
    "pixelshuffle": lambda s: len(s) == 3,
    "pixelunshuffle": lambda s: len(s) == 3,
    "upsample": lambda s: len(s) >= 2,
}


@pytest.mark.torch
def test_circular_padding_is_a_wrap_of_the_cropped_axis() -> None:
    """Where cnncalc accepts circular padding, PyTorch's values are the cropped axis wrapped once
    around (``numpy.pad(mode="wrap")``); PyTorch also computes some that cnncalc refuses (from
    memory it never wrote, so their values are not asserted)."""
    import numpy as np
    import torch

    computed_anyway = []
    for n in range(1, 6):
        for before in range(-6, 7):
            for after in range(-6, 7):
                x = torch.arange(1.0, n + 1).view(1, 1, n)
                try:
                    analyse(spec.load("pad.yaml", text=network_text([1, n], [{"circularpad1d": {
                        "padding": [before, after]}}])))
                    accepted = True
                except CnnCalcError:
                    accepted = False
                try:
                    y = nn().CircularPad1d((before, after))(x).numpy()
                except RuntimeError:
                    assert not accepted, (n, before, after)
                    continue
                if not accepted:
                    computed_anyway.append((n, before, after))
                    continue
                core = x[..., max(-before, 0): n - max(-after, 0)].numpy()
                wrap = np.pad(core, ((0, 0), (0, 0), (max(before, 0), max(after, 0))), mode="wrap")
                assert np.array_equal(y, wrap), (n, before, after)
    assert (2, -2, 1) in computed_anyway  # one entry copied from the none left after cropping 2
