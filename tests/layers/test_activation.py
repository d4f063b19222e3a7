"""The activation family, cnncalc/layers/activation.py.

Element-wise activations, softmax, log_softmax, scale and shift.

The registry-wide tests read these tables through tests/layers/__init__.py; a type missing
from one fails there, naming the table (the checklist: docs/adding-a-layer.md).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from conftest import network_text
from hypothesis import strategies as st

from cnncalc import spec
from cnncalc.errors import ShapeError
from cnncalc.graph import build
from layers.kit import PE, STEP, Args, E, Generator, Lambda, Shape, Strategy, X, dim, generated, nn

#: (type, args, input shape, output shape, params, buffers, MACs, FLOPs), as arithmetic
CASES = [
    pytest.param("relu", None, [16, 8, 8], [16, 8, 8], 0, 0, 0, 1024, id="relu"),
    pytest.param("relu6", None, [16, 8, 8], [16, 8, 8], 0, 0, 0, 2 * 1024, id="relu6"),
    pytest.param("hardtanh", None, [10], [10], 0, 0, 0, 2 * 10, id="hardtanh: two comparisons"),
    pytest.param("hardtanh", {"min_val": -2.0, "max_val": 3.0, "inplace": True}, [16, 8, 8], [16, 8, 8], 0, 0, 0,
                 2 * 1024, id="hardtanh [-2, 3] inplace"),
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
    pytest.param("log_softmax", {"dim": 1}, [10], [10], 0, 0, 0, 5 * 10 + 1, id="log_softmax over classes"),
    pytest.param("log_softmax", {"dim": 1}, [21, 4, 4], [21, 4, 4], 0, 0, 0, 5 * 336 + 16,
                 id="log_softmax over channels (a log per position)"),
    pytest.param("scale", {"value": 0.5}, [3, 4, 4], [3, 4, 4], 0, 0, 0, 48, id="scale by 0.5"),
    pytest.param("shift", {"value": -1.0}, [3, 4, 4], [3, 4, 4], 0, 0, 0, 48, id="shift by -1"),
]


#: (type, args, input shapes, saved as (tensor or dtype, elements[, per step]))
SAVED = [
    pytest.param("relu", {}, [X], [("output", E)], id="relu"),
    pytest.param("relu", {"inplace": True}, [X], [("output", E)], id="relu inplace: shared output"),
    pytest.param("relu6", {}, [X], [("input", E)], id="relu6"),
    pytest.param("relu6", {"inplace": True}, [X], [("act", E)], id="relu6 inplace: a copy"),
    pytest.param("hardtanh", {}, [X], [("input", E)], id="hardtanh"),
    pytest.param("hardtanh", {"min_val": 0.0, "max_val": 6.0, "inplace": True}, [X], [("act", E)],
                 id="hardtanh inplace: a copy"),
    pytest.param("leakyrelu", {}, [X], [("input", E)], id="leakyrelu"),
    pytest.param("leakyrelu", {"inplace": True}, [X], [("output", E)], id="leakyrelu inplace"),
    pytest.param("elu", {"inplace": True}, [X], [("output", E)], id="elu inplace"),
    pytest.param("sigmoid", {}, [X], [("output", E)], id="sigmoid"),
    pytest.param("tanh", {}, [X], [("output", E)], id="tanh"),
    pytest.param("silu", {}, [X], [("input", E)], id="silu"),
    pytest.param("silu", {"inplace": True}, [X], [("act", E)], id="silu inplace: a copy"),
    pytest.param("hardsigmoid", {}, [X], [("input", E)], id="hardsigmoid"),
    pytest.param("hardswish", {"inplace": True}, [X], [("act", E)], id="hardswish inplace: a copy"),
    pytest.param("gelu", {}, [X], [("input", E)], id="gelu"),
    pytest.param("prelu", {"num_parameters": 4}, [X], [("input", E), ("weight", 4, STEP)], id="prelu"),
    pytest.param("softmax", {"dim": 1}, [X], [("output", E)], id="softmax"),
    pytest.param("log_softmax", {"dim": 1}, [X], [("output", E)], id="log_softmax: the output"),
    pytest.param("scale", {"value": 2.0}, [X], [], id="scale: nothing"),
    pytest.param("shift", {"value": 2.0}, [X], [], id="shift: nothing"),
]


#: (layer after a 3x3 conv on [4, 8, 8], its torch twin from ``nn``): what autograd saves, to the byte
AUTOGRAD = [
    pytest.param("relu", lambda nn: nn.ReLU(), id="relu"),
    pytest.param("relu: {inplace: true}", lambda nn: nn.ReLU(inplace=True), id="relu inplace"),
    pytest.param("relu6", lambda nn: nn.ReLU6(), id="relu6"),
    pytest.param("relu6: {inplace: true}", lambda nn: nn.ReLU6(inplace=True), id="relu6 inplace"),
    pytest.param("hardtanh", lambda nn: nn.Hardtanh(), id="hardtanh"),
    pytest.param("hardtanh: {min_val: -2.0, max_val: 3.0, inplace: true}",
                 lambda nn: nn.Hardtanh(-2.0, 3.0, inplace=True), id="hardtanh inplace"),
    pytest.param("leakyrelu: {inplace: true}", lambda nn: nn.LeakyReLU(inplace=True), id="leakyrelu inplace"),
    pytest.param("elu", lambda nn: nn.ELU(), id="elu"),
    pytest.param("elu: {inplace: true}", lambda nn: nn.ELU(inplace=True), id="elu inplace"),
    pytest.param("sigmoid", lambda nn: nn.Sigmoid(), id="sigmoid"),
    pytest.param("tanh", lambda nn: nn.Tanh(), id="tanh"),
    pytest.param("silu", lambda nn: nn.SiLU(), id="silu"),
    pytest.param("silu: {inplace: true}", lambda nn: nn.SiLU(inplace=True), id="silu inplace"),
    pytest.param("hardsigmoid: {inplace: true}", lambda nn: nn.Hardsigmoid(inplace=True), id="hardsigmoid inplace"),
    pytest.param("hardswish", lambda nn: nn.Hardswish(), id="hardswish"),
    pytest.param("hardswish: {inplace: true}", lambda nn: nn.Hardswish(inplace=True), id="hardswish inplace"),
    pytest.param("gelu: {approximate: tanh}", lambda nn: nn.GELU("tanh"), id="gelu"),
    pytest.param("prelu: {num_parameters: 4}", lambda nn: nn.PReLU(4), id="prelu"),
    pytest.param("softmax: {dim: 1}", lambda nn: nn.Softmax(1), id="softmax"),
]


#: (convention, type, args, input shape, MACs): what each peer tool counts, from its source
PEER_CASES = [
    pytest.param("fvcore", "relu", {}, (8, 6, 6), 0, id="fvcore relu: 0"),
    pytest.param("thop", "prelu", {}, (8, 6, 6), PE, id="thop prelu: PE"),
    pytest.param("thop", "softmax", {"dim": 1}, (8, 6, 6), 36 * (3 * 8 - 1),
                 id="thop softmax: rows·(3n − 1)"),
    pytest.param("thop", "relu", {}, (8, 6, 6), 0, id="thop relu: 0"),
    pytest.param("ptflops", "relu", {}, (8, 6, 6), 2 * PE, id="ptflops relu: module hook and F.relu"),
    pytest.param("ptflops", "leakyrelu", {}, (8, 6, 6), PE, id="ptflops leaky relu: module hook only"),
    pytest.param("ptflops", "silu", {}, (8, 6, 6), PE, id="ptflops silu: F.silu only"),
    pytest.param("ptflops", "hardtanh", {}, (8, 6, 6), 0, id="ptflops hardtanh: nn.ReLU6's hook is not its own, 0"),
    pytest.param("ptflops", "sigmoid", {}, (8, 6, 6), 0, id="ptflops sigmoid: 0"),
]


def _nn(cls: str) -> Any:
    """``nn.<cls>(**args)``."""
    return lambda a, s: getattr(nn(), cls)(**a)


def _log_softmax(a: Args, s: Shape) -> Any:
    import torch.nn.functional as F

    return Lambda(lambda x: F.log_softmax(x, a["dim"]))


#: The torch module computing each type, built from its arguments and input shape.
TWINS: dict[str, Any] = {
    "relu": _nn("ReLU"), "relu6": _nn("ReLU6"), "hardtanh": _nn("Hardtanh"), "leakyrelu": _nn("LeakyReLU"),
    "prelu": _nn("PReLU"),
    "elu": _nn("ELU"), "gelu": _nn("GELU"), "silu": _nn("SiLU"), "sigmoid": _nn("Sigmoid"), "tanh": _nn("Tanh"),
    "hardswish": _nn("Hardswish"), "hardsigmoid": _nn("Hardsigmoid"), "softmax": _nn("Softmax"),
    "log_softmax": _log_softmax,
    "scale": lambda a, s: Lambda(lambda x: x * a["value"]),
    "shift": lambda a, s: Lambda(lambda x: x + a["value"]),
}


def _activation(name: str) -> Generator:
    def gen(rng: random.Random, shape: Shape) -> Args | None:
        args: Args = {}
        if name not in ("gelu", "prelu", "sigmoid", "tanh") and rng.random() < 0.3:
            args["inplace"] = True
        if name == "leakyrelu":
            args["negative_slope"] = rng.choice([0.01, 0.2])
        if name == "elu":
            args["alpha"] = rng.choice([1.0, 0.5])
        if name == "gelu":
            args["approximate"] = rng.choice(["none", "tanh"])
        if name == "hardtanh":
            args["min_val"], args["max_val"] = rng.choice([(-1.0, 1.0), (0.0, 6.0), (-2.5, 0.5)])
        if name == "prelu" and rng.random() < 0.5:
            args["num_parameters"] = shape[0]
        return args

    return gen


def _softmax(rng: random.Random, shape: Shape) -> Args:
    rank = len(shape) + 1
    return {"dim": rng.choice([d for d in range(-rank, rank) if d not in (0, -rank)])}


#: Random arguments for the seeded random networks (tests/random_networks.py).
GENERATORS: dict[str, Generator] = {
    **{name: _activation(name) for name in ("relu", "relu6", "hardtanh", "leakyrelu", "elu", "sigmoid", "tanh", "silu",
                                              "hardsigmoid", "hardswish", "gelu", "prelu")},
    "softmax": _softmax,
    "log_softmax": lambda rng, s: {"dim": dim(rng, s)},
    "scale": lambda rng, s: {"value": rng.choice([0.5, 2, -1.5, 0.125])},
    "shift": lambda rng, s: {"value": rng.choice([1, -0.5, 3.25])},
}


def _optional(**extra: st.SearchStrategy[Any]) -> Strategy:
    return lambda shape: st.fixed_dictionaries({}, optional={"inplace": st.booleans(), **extra})


#: Hypothesis strategies for the property tests (tests/test_properties.py).
STRATEGIES: dict[str, Strategy] = {
    "relu": _optional(), "relu6": _optional(), "sigmoid": _optional(), "tanh": _optional(),
    "silu": _optional(), "hardsigmoid": _optional(), "hardswish": _optional(),
    "hardtanh": _optional(min_val=st.floats(-3, 0), max_val=st.floats(0.5, 3)),
    "leakyrelu": _optional(negative_slope=st.floats(0, 0.5)),
    "elu": _optional(alpha=st.floats(0.1, 2)),
    "gelu": _optional(approximate=st.sampled_from(["none", "tanh"])),
    "prelu": lambda s: st.fixed_dictionaries({}, optional={"num_parameters": st.sampled_from(sorted({1, s[0]}))}),
    "softmax": lambda s: st.fixed_dictionaries({"dim": st.sampled_from([*range(1, len(s) + 1), -1])}),
    **{name: generated(GENERATORS[name], {}) for name in ("log_softmax", "scale", "shift")},
}


@pytest.mark.parametrize("bounds", [(2.0, 1.0), (1.0, 1.0)], ids=["max below min", "max equal to min"])
def test_hardtanh_wants_max_above_min(bounds: tuple[float, float]) -> None:
    low, high = bounds
    with pytest.raises(ShapeError, match=f"max_val {high:g} must be greater than min_val {low:g}"):
        build(spec.load("bad.yaml", text=network_text([4], [{"hardtanh": {"min_val": low, "max_val": high}}])))
    torch = pytest.importorskip("torch")
    with pytest.raises(AssertionError, match="must be greater than min_val"):
        torch.nn.Hardtanh(low, high)
