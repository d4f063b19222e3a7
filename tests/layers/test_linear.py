"""The linear family (cnncalc/layers/linear.py): fully connected layers.

The registry-wide tests read these tables through tests/layers/__init__.py; a type missing
from one fails there, naming the table (the checklist: docs/adding-a-layer.md).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import strategies as st

from layers.kit import STEP, Args, Generator, Shape, Strategy, nn

#: (type, args, input shape, output shape, params, buffers, MACs, FLOPs), as arithmetic
CASES = [
    pytest.param("linear", {"out_features": 500}, [800], [500], (800 + 1) * 500, 0, 800 * 500,
                 2 * 800 * 500 + 500, id="linear (LeNet ip1)"),
    pytest.param("linear", {"out_features": 10, "bias": False}, [32], [10], 32 * 10, 0, 320, 640,
                 id="linear no bias"),
    pytest.param("linear", {"in_features": 96, "out_features": 384}, [7, 7, 96], [7, 7, 384],
                 (96 + 1) * 384, 0, 49 * 96 * 384, 2 * 49 * 96 * 384 + 49 * 384, id="linear on the last axis"),
]


#: (type, args, input shapes, saved as (tensor or dtype, elements[, per step]))
SAVED = [
    pytest.param("linear", {"out_features": 10}, [(32,)], [("input", 32), ("weight", 32 * 10, STEP)], id="linear"),
]


#: (convention, type, args, input shape, MACs): what each peer tool counts, from its source
PEER_CASES = [
    pytest.param("ptflops", "linear", {"out_features": 5}, (8,), 8 * 5 + 5, id="ptflops linear: MACs + bias"),
    pytest.param("torchinfo", "linear", {"out_features": 5, "in_features": 8}, (3, 8), 8 * 5 + 5,
                 id="torchinfo linear on [3, 8]: params, once"),
]


def _twin(args: Args, shape: Shape) -> Any:
    a = dict(args)
    a.pop("in_features", None)
    return nn().Linear(shape[-1], **a)


#: The torch module computing each type, built from its arguments and input shape.
TWINS: dict[str, Any] = {"linear": _twin}


def _linear(rng: random.Random, shape: Shape) -> Args:
    args: Args = {"out_features": rng.randint(1, 16), "bias": rng.random() < 0.7}
    if len(shape) > 1:
        args["in_features"] = shape[-1]
    return args


#: Random arguments for the seeded random networks (tests/random_networks.py).
GENERATORS: dict[str, Generator] = {"linear": _linear}

#: Hypothesis strategies for the property tests (tests/test_properties.py).
STRATEGIES: dict[str, Strategy] = {
    "linear": lambda s: st.fixed_dictionaries(
        {"out_features": st.integers(1, 32)},
        optional={"bias": st.booleans()},
    ).map(lambda a: {**a, "in_features": s[-1]} if len(s) > 1 else a),
}
