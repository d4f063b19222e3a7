"""The pool family (cnncalc/layers/pool.py): max, average, adaptive and global pooling.

The registry-wide tests read these tables through tests/layers/__init__.py; a type missing
from one fails there, naming the table (the checklist: docs/adding-a-layer.md).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from conftest import network_text
from hypothesis import strategies as st

from cnncalc import analyse, spec
from cnncalc.errors import ShapeError
from cnncalc.graph import build
from layers.kit import PE, Args, E, Generator, Shape, Strategy, X, axes, nn, per_axis, spatial

#: (type, args, input shape, output shape, params, buffers, MACs, FLOPs), as arithmetic
CASES = [
    pytest.param("maxpool2d", {"kernel_size": 3, "stride": 2}, [96, 55, 55],
                 [96, 27, 27], 0, 0, 0, (9 - 1) * 96 * 27 * 27, id="maxpool 3 s2 (AlexNet)"),
    pytest.param("maxpool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, [96, 109, 109],
                 [96, 54, 54], 0, 0, 0, 8 * 96 * 54 * 54, id="maxpool ceil_mode (SqueezeNet)"),
    pytest.param("maxpool2d", {"kernel_size": 2, "stride": 2, "ceil_mode": True}, [1, 5, 5],
                 [1, 3, 3], 0, 0, 0, 3 * 9, id="maxpool ceil_mode partial window"),
    pytest.param("maxpool2d", {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}, [1, 5, 5],
                 # ceil((5 + 2 − 2)/2) + 1 = 4, but window 4 would start at 6 ≥ 5 + 1 (in the right padding)
                 [1, 3, 3], 0, 0, 0, 3 * 9, id="ceil_mode window starting in the right padding is dropped"),
    # PyTorch refuses an output below 1 only: with ceil_mode, a window larger than the input is one
    # output (torch.nn.MaxPool2d(3, 2, ceil_mode=True) on 2x2 gives 1x1)
    pytest.param("maxpool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, [1, 2, 2],
                 [1, 1, 1], 0, 0, 0, 8, id="maxpool ceil_mode: a window larger than the input"),
    pytest.param("avgpool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, [1, 2, 2],
                 [1, 1, 1], 0, 0, 0, 9, id="avgpool ceil_mode: a window larger than the input"),
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
    # lppool: x^p per input element, window (window − 1 adds and the 1/p-th power) per output
    pytest.param("lppool2d", {"norm_type": 2, "kernel_size": 2}, [8, 6, 6], [8, 3, 3], 0, 0, 0,
                 8 * 36 + 4 * 8 * 9, id="lppool2d p2 k2 (stride = kernel)"),
    # p = 1 or even: PyTorch's 1/p-th power of a negative mean (an odd or fractional p) is NaN
    pytest.param("lppool2d", {"norm_type": 4, "kernel_size": [2, 3], "stride": [2, 1]}, [3, 6, 7],
                 # (6 − 2)/2 + 1 = 3, (7 − 3)/1 + 1 = 5
                 [3, 3, 5], 0, 0, 0, 3 * 42 + 6 * 3 * 15, id="lppool2d 2x3 s2x1"),
    pytest.param("lppool2d", {"norm_type": 2, "kernel_size": 3, "ceil_mode": True}, [1, 2, 2], [1, 1, 1], 0, 0, 0,
                 4 + 9 * 1, id="lppool2d ceil_mode: a window larger than the input"),
    pytest.param("lppool1d", {"norm_type": 1, "kernel_size": 3, "stride": 2}, [4, 9],
                 [4, (9 - 3) // 2 + 1], 0, 0, 0, 36 + 3 * 16, id="lppool1d p1 k3 s2"),
    pytest.param("lppool3d", {"norm_type": 2.0, "kernel_size": 2}, [2, 4, 4, 4], [2, 2, 2, 2], 0, 0, 0,
                 128 + 8 * 16, id="lppool3d p2.0 k2"),
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
    pytest.param("avgpool3d", {"kernel_size": [1, 2, 2]}, [4, 3, 8, 8], [4, 3, 4, 4], 0, 0, 0, 4 * 4 * 48,
                 id="avgpool3d 1x2x2"),
    pytest.param("adaptiveavgpool3d", {"output_size": [1, 2, 2]}, [3, 4, 6, 6], [3, 1, 2, 2], 0, 0, 0,
                 3 * 4 * 6 * 6, id="adaptive avg 3d (disjoint windows cover the input once)"),
    pytest.param("adaptivemaxpool1d", {"output_size": 3}, [2, 7], [2, 3], 0, 0, 0,
                 # 7 → 3: [0,3) [2,5) [4,7): 3 + 3 + 3 window elements, minus one per output
                 2 * (3 + 3 + 3) - 2 * 3, id="adaptive max 1d overlapping"),
    pytest.param("adaptivemaxpool3d", {"output_size": 1}, [2, 2, 2, 2], [2, 1, 1, 1], 0, 0, 0, 2 * 8 - 2,
                 id="adaptive max 3d global"),
]


#: (type, args, input shapes, saved as (tensor or dtype, elements[, per step]))
SAVED = [
    pytest.param("maxpool1d", {"kernel_size": 2}, [(4, 10)], [("input", 40), ("int64", 4 * 5)], id="maxpool1d"),
    pytest.param("maxpool2d", {"kernel_size": 2}, [X], [("input", E), ("int64", 4 * 3 * 3)],
                 id="maxpool2d: input and int64 indices"),
    pytest.param("maxpool3d", {"kernel_size": 2}, [(4, 4, 4, 4)], [("input", 256), ("int64", 4 * 8)],
                 id="maxpool3d"),
    pytest.param("avgpool1d", {"kernel_size": 2}, [(4, 10)], [("input", 40)], id="avgpool1d"),
    pytest.param("avgpool2d", {"kernel_size": 2}, [X], [("input", E)], id="avgpool2d"),
    pytest.param("avgpool3d", {"kernel_size": 2}, [(4, 4, 4, 4)], [("input", 256)], id="avgpool3d"),
    # lppool: the input and x^p, then a, sign(a), relu(|a|) and the scaled base, one per output each
    pytest.param("lppool2d", {"norm_type": 2, "kernel_size": 2}, [X],
                 [("input", E), ("act", E), *[("act", 4 * 3 * 3)] * 4], id="lppool2d: input, powers, 4 per output"),
    pytest.param("lppool1d", {"norm_type": 2, "kernel_size": 3, "stride": 1}, [(4, 10)],
                 [("input", 40), ("act", 40), *[("act", 4 * 8)] * 4], id="lppool1d"),
    pytest.param("lppool3d", {"norm_type": 2, "kernel_size": 2}, [(4, 4, 4, 4)],
                 [("input", 256), ("act", 256), *[("act", 4 * 8)] * 4], id="lppool3d"),
    pytest.param("adaptiveavgpool1d", {"output_size": 1}, [(4, 10)], [], id="adaptiveavgpool1d to 1: shapes"),
    pytest.param("adaptiveavgpool2d", {"output_size": 1}, [X], [], id="adaptiveavgpool2d to 1: shapes"),
    pytest.param("adaptiveavgpool2d", {"output_size": 3}, [X], [("input", E)], id="adaptiveavgpool2d to 3"),
    pytest.param("adaptiveavgpool3d", {"output_size": [1, 2, 1]}, [(4, 4, 4, 4)], [("input", 256)],
                 id="adaptiveavgpool3d not to 1"),
    pytest.param("adaptivemaxpool1d", {"output_size": 5}, [(4, 10)], [("input", 40), ("int64", 4 * 5)],
                 id="adaptivemaxpool1d"),
    pytest.param("adaptivemaxpool2d", {"output_size": 3}, [X], [("input", E), ("int64", 4 * 9)],
                 id="adaptivemaxpool2d"),
    pytest.param("adaptivemaxpool3d", {"output_size": 1}, [(4, 4, 4, 4)], [("input", 256), ("int64", 4)],
                 id="adaptivemaxpool3d"),
    pytest.param("globalavgpool", {}, [X], [], id="globalavgpool: shapes"),
    pytest.param("globalmaxpool", {}, [X], [("input", E), ("int64", 4)], id="globalmaxpool"),
]


#: (layer after a 3x3 conv on [4, 8, 8], its torch twin from ``nn``): what autograd saves, to the byte
AUTOGRAD = [
    pytest.param("maxpool2d: {kernel_size: 3, stride: 2, padding: 1}",
                 lambda nn: nn.MaxPool2d(3, 2, 1), id="maxpool2d"),
    pytest.param("avgpool2d: {kernel_size: 2}", lambda nn: nn.AvgPool2d(2), id="avgpool2d"),
    pytest.param("lppool2d: {norm_type: 2, kernel_size: 2}", lambda nn: nn.LPPool2d(2, 2), id="lppool2d"),
    pytest.param("lppool2d: {norm_type: 3, kernel_size: 3, stride: 1}", lambda nn: nn.LPPool2d(3, 3, stride=1),
                 id="lppool2d p3 overlapping"),
    pytest.param("adaptiveavgpool2d: {output_size: 1}", lambda nn: nn.AdaptiveAvgPool2d(1), id="adaptive avg to 1"),
    pytest.param("adaptiveavgpool2d: {output_size: 3}", lambda nn: nn.AdaptiveAvgPool2d(3), id="adaptive avg to 3"),
    pytest.param("adaptivemaxpool2d: {output_size: 3}", lambda nn: nn.AdaptiveMaxPool2d(3), id="adaptive max to 3"),
    pytest.param("globalavgpool", lambda nn: nn.AdaptiveAvgPool2d(1), id="global avg pool"),
    pytest.param("globalmaxpool", lambda nn: nn.AdaptiveMaxPool2d(1), id="global max pool"),
]


#: (convention, type, args, input shape, MACs): what each peer tool counts, from its source
PEER_CASES = [
    pytest.param("fvcore", "adaptiveavgpool2d", {"output_size": 1}, (8, 6, 6), PE,
                 id="fvcore adaptive_avg_pool2d: input elements"),
    pytest.param("fvcore", "globalavgpool", {}, (8, 6, 6), PE, id="fvcore global average pooling: input elements"),
    pytest.param("fvcore", "globalmaxpool", {}, (8, 6, 6), 0, id="fvcore global max pooling: 0"),
    pytest.param("fvcore", "adaptiveavgpool1d", {"output_size": 1}, (8, 6), 0, id="fvcore adaptive_avg_pool1d: 0"),
    pytest.param("fvcore", "maxpool2d", {"kernel_size": 2}, (8, 6, 6), 0, id="fvcore max pooling: 0"),
    pytest.param("thop", "avgpool2d", {"kernel_size": 2}, (8, 6, 6), 8 * 3 * 3, id="thop avg pooling: outputs"),
    pytest.param("thop", "adaptiveavgpool2d", {"output_size": 4}, (8, 6, 6), int((1.5 * 1.5 + 1) * 8 * 16),
                 id="thop adaptive avg pooling: (Π in/out + 1)·outputs"),
    pytest.param("ptflops", "maxpool2d", {"kernel_size": 2}, (8, 6, 6), 2 * PE,
                 id="ptflops max pooling: input elements, twice"),
    pytest.param("ptflops", "lppool2d", {"norm_type": 2, "kernel_size": 2}, (8, 6, 6), PE + 2 * 8 * 3 * 3,
                 id="ptflops lppool: F.avg_pool2d on the input, F.relu and Tensor.mul on the output"),
    pytest.param("thop", "lppool2d", {"norm_type": 2, "kernel_size": 2}, (8, 6, 6), 0, id="thop lppool: no hook, 0"),
    pytest.param("fvcore", "lppool2d", {"norm_type": 2, "kernel_size": 2}, (8, 6, 6), 0,
                 id="fvcore lppool: pow, avg_pool2d, sign, abs, relu, mul: none handled, 0"),
]


#: (type, args, shape, the torch module from ``nn``, message): refused by both
TORCH_REFUSES = [
    pytest.param("avgpool1d", {"kernel_size": 2, "divisor_override": 2}, (1, 4),
                 lambda nn: nn.AvgPool1d(2, divisor_override=2), "no divisor_override", id="avgpool1d divisor"),
    pytest.param("avgpool3d", {"kernel_size": 3, "padding": 1}, (1, 2, 4, 4), lambda nn: nn.AvgPool3d(3, padding=1),
                 "larger than the input 2", id="avgpool3d kernel 3 on 2, padded to 4"),
    pytest.param("adaptiveavgpool1d", {"output_size": [None]}, (1, 4), lambda nn: nn.AdaptiveAvgPool1d((None,)),
                 "not accepted in 1-d", id="adaptive pooling 1d keeping the size"),
]


#: (type, args, shape, the torch module from ``nn``, output shape): accepted by both
TORCH_ACCEPTS = [
    pytest.param("avgpool2d", {"kernel_size": 3, "padding": 1}, (1, 2, 2), lambda nn: nn.AvgPool2d(3, padding=1),
                 (1, 1, 1), id="avgpool2d kernel 3 on 2, padded to 4"),
    pytest.param("adaptiveavgpool2d", {"output_size": [None, 2]}, (1, 4, 6),
                 lambda nn: nn.AdaptiveAvgPool2d((None, 2)), (1, 4, 2), id="adaptive pooling 2d keeping one size"),
]


def _module(kind: str, n: int) -> Any:
    """``nn.<kind><n>d(**args)``."""
    return lambda a, s: getattr(nn(), f"{kind}{n}d")(**a)


def _global(kind: str) -> Any:
    """``nn.Adaptive<kind>Pool<n>d(1)`` over the spatial axes of the input."""
    return lambda a, s: getattr(nn(), f"Adaptive{kind}Pool{len(s) - 1}d")(1)


#: The torch module computing each type, built from its arguments and input shape.
TWINS: dict[str, Any] = {
    **{f"{stem}{n}d": _module(kind, n) for n in (1, 2, 3)
       for stem, kind in (("maxpool", "MaxPool"), ("avgpool", "AvgPool"), ("lppool", "LPPool"),
                          ("adaptiveavgpool", "AdaptiveAvgPool"),
                          ("adaptivemaxpool", "AdaptiveMaxPool"))},
    "globalavgpool": _global("Avg"),
    "globalmaxpool": _global("Max"),
}


def _pool(n: int, kind: str) -> Generator:
    def gen(rng: random.Random, shape: Shape) -> Args | None:
        if not spatial(shape, n):
            return None
        k = rng.randint(1, 3)
        args: Args = {"kernel_size": k, "padding": rng.randint(0, k // 2), "ceil_mode": rng.random() < 0.3}
        if rng.random() < 0.6:
            args["stride"] = axes(rng, n, 1, 3)
        if kind == "max" and rng.random() < 0.3:
            args["dilation"] = 2
        if kind == "avg":
            args["count_include_pad"] = rng.random() < 0.5
            if rng.random() < 0.2:
                args["divisor_override"] = rng.randint(1, 4)
        return args

    return gen


def _lppool(n: int) -> Generator:
    def gen(rng: random.Random, shape: Shape) -> Args | None:
        if not spatial(shape, n):
            return None
        # p = 1 or even: PyTorch's 1/p-th power of a negative mean (an odd or fractional p) is NaN
        args: Args = {"norm_type": rng.choice([1, 2, 2.0, 4]), "kernel_size": axes(rng, n, 1, min(3, *shape[1:])),
                      "ceil_mode": rng.random() < 0.3}
        if rng.random() < 0.5:
            args["stride"] = axes(rng, n, 1, 3)
        return args

    return gen


def _adaptive(n: int) -> Generator:
    def gen(rng: random.Random, shape: Shape) -> Args | None:
        if not spatial(shape, n):
            return None
        if rng.random() < 0.3:
            return {"output_size": [rng.choice([None, rng.randint(1, s)]) for s in shape[1:]]}
        return {"output_size": rng.randint(1, min(shape[1:]) + 2)}

    return gen


#: Random arguments for the seeded random networks (tests/random_networks.py).
GENERATORS: dict[str, Generator] = {
    **{f"maxpool{n}d": _pool(n, "max") for n in (1, 2, 3)},
    **{f"avgpool{n}d": _pool(n, "avg") for n in (1, 2, 3)},
    **{f"lppool{n}d": _lppool(n) for n in (1, 2, 3)},
    **{f"adaptiveavgpool{n}d": _adaptive(n) for n in (1, 2, 3)},
    **{f"adaptivemaxpool{n}d": _adaptive(n) for n in (1, 2, 3)},
    "globalavgpool": lambda rng, s: {} if len(s) > 1 else None,
    "globalmaxpool": lambda rng, s: {} if len(s) > 1 else None,
}


def _strategy(shape: Shape, ndim: int, kind: str) -> st.SearchStrategy[Args]:
    @st.composite
    def draw(d: Callable[..., Any]) -> dict[str, Any]:
        k = d(st.integers(1, 3))
        args: dict[str, Any] = {"kernel_size": k, "padding": d(st.integers(0, k // 2)), "ceil_mode": d(st.booleans())}
        if d(st.booleans()):
            args["stride"] = d(per_axis(ndim, st.integers(1, 3)))
        if kind == "max":
            args["dilation"] = d(st.integers(1, 2))
        else:
            args["count_include_pad"] = d(st.booleans())
        return args

    return draw()


#: Hypothesis strategies for the property tests (tests/test_properties.py), by type or family stem.
STRATEGIES: dict[str, Strategy] = {
    "maxpool": lambda s: _strategy(s, len(s) - 1, "max"),
    "avgpool": lambda s: _strategy(s, len(s) - 1, "avg"),
    "lppool": lambda s: st.fixed_dictionaries(
        {"norm_type": st.sampled_from([1, 2, 3, 1.5]), "kernel_size": per_axis(len(s) - 1, st.integers(1, 3))},
        optional={"stride": per_axis(len(s) - 1, st.integers(1, 3)), "ceil_mode": st.booleans()}),
    "adaptiveavgpool": lambda s: st.fixed_dictionaries(
        {"output_size": st.one_of(st.integers(1, 4), st.lists(st.one_of(st.none(), st.integers(1, 4)),
                                                              min_size=len(s) - 1, max_size=len(s) - 1))}),
    "adaptivemaxpool": lambda s: st.fixed_dictionaries(
        {"output_size": st.integers(1, 4)}, optional={"return_indices": st.booleans()}),
    "globalavgpool": lambda s: st.just({}),
    "globalmaxpool": lambda s: st.just({}),
}

#: The ranks a type takes where its ``ndim`` does not say (tests/test_properties.py).
FITS: dict[str, Any] = {"globalavgpool": lambda s: len(s) >= 2, "globalmaxpool": lambda s: len(s) >= 2}


def test_lppool_refuses_norm_type_0() -> None:
    """PyTorch divides by the norm type for the 1/p-th power."""
    with pytest.raises(ShapeError, match="norm_type 0"):
        build(spec.load("bad.yaml", text=network_text([2, 4, 4], [{"lppool2d": {"norm_type": 0, "kernel_size": 2}}])))
    torch = pytest.importorskip("torch")
    with pytest.raises(ZeroDivisionError):
        torch.nn.LPPool2d(0, 2)(torch.rand(1, 2, 4, 4))


@pytest.mark.torch
def test_lppool_receptive_field_is_what_the_gradient_reaches() -> None:
    """Two stacked lppool1d (k3 s2, then k2 s2): r = 3 + (2 − 1)·2 = 5 input positions, jump 4."""
    torch = pytest.importorskip("torch")
    items = [{"lppool1d": {"norm_type": 2, "kernel_size": 3, "stride": 2}},
             {"lppool1d": {"norm_type": 2, "kernel_size": 2, "stride": 2}}]
    field = analyse(spec.load("rf.yaml", text=network_text([1, 33], items))).layers[-1].rf.axes[0]
    assert (field.size, field.jump) == (5, 4)
    model = torch.nn.Sequential(torch.nn.LPPool1d(2, 3, stride=2), torch.nn.LPPool1d(2, 2, stride=2))
    for unit in range(3):
        x = (torch.rand(1, 1, 33, dtype=torch.float64) + 0.5).requires_grad_()
        model(x)[0, 0, unit].backward()
        reached = torch.nonzero(x.grad[0, 0]).flatten().tolist()
        assert reached == list(range(4 * unit, 4 * unit + 5))
