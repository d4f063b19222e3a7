"""The merge family, cnncalc/layers/merge.py.

Merges (add, subtract, multiply, concat) and channel splits (chunk, split, channel_shuffle).

The registry-wide tests read these tables through tests/layers/__init__.py; a type missing
from one fails there, naming the table (the checklist: docs/adding-a-layer.md).
"""

from __future__ import annotations

import functools
import operator
import random
from typing import Any

import pytest
from hypothesis import strategies as st

from layers.kit import Args, E, Generator, Lambda, Shape, Strategy, X, divisors, nn

#: (type, args, input shape, output shape, params, buffers, MACs, FLOPs), as arithmetic
CASES = [
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
]


#: (type, args, input shapes, output shape, FLOPs) of layers with several inputs
MERGE_CASES = [
    pytest.param("add", None, [[64, 56, 56], [64, 56, 56]], [64, 56, 56], 64 * 56 * 56, id="residual add"),
    pytest.param("add", None, [[8, 4], [8, 4], [8, 4]], [8, 4], 2 * 32, id="add of three"),
    pytest.param("add", None, [[64, 16, 16], [64, 1, 1]], [64, 16, 16], 64 * 16 * 16,
                 id="global-context term broadcast (GCNet)"),
    pytest.param("subtract", None, [[64, 56, 56], [64, 56, 56]], [64, 56, 56], 64 * 56 * 56,
                 id="pool(x) - x (PoolFormer)"),
    pytest.param("subtract", None, [[8, 4, 4], [1, 4, 4]], [8, 4, 4], 8 * 16, id="subtract broadcast"),
    pytest.param("multiply", None, [[96, 28, 28], [96, 1, 1]], [96, 28, 28], 96 * 28 * 28,
                 id="squeeze-excitation gate broadcast"),
    pytest.param("concat", None, [[64, 28, 28], [128, 28, 28], [32, 28, 28]], [224, 28, 28], 0,
                 id="inception concat"),
    pytest.param("concat", {"dim": -1}, [[3, 4, 5], [3, 4, 2]], [3, 4, 7], 0, id="concat along width"),
]


#: (type, args, input shapes, saved as (tensor or dtype, elements[, per step]))
SAVED = [
    pytest.param("add", {}, [X, X], [], id="add: nothing"),
    pytest.param("add", {}, [X, (4, 1, 1)], [], id="add broadcast: nothing"),
    pytest.param("subtract", {}, [X, X], [], id="subtract: nothing"),
    pytest.param("concat", {}, [X, X], [], id="concat: nothing"),
    pytest.param("multiply", {}, [X, (4, 1, 1)], [("input", E), ("input", 4)], id="multiply: both inputs"),
    pytest.param("multiply", {}, [X, X, X], [("input", E), ("input", E), ("input", E), ("act", E)],
                 id="multiply 3: inputs and a·b"),
    pytest.param("chunk", {"chunks": 2, "index": 0}, [X], [], id="chunk"),
    pytest.param("split", {"split_size_or_sections": [1, 3], "index": 1}, [X], [], id="split"),
    pytest.param("channel_shuffle", {"groups": 2}, [X], [], id="channel_shuffle"),
]


#: (layer after a 3x3 conv on [4, 8, 8], its torch twin from ``nn``): what autograd saves, to the byte
AUTOGRAD = [
    pytest.param("channel_shuffle: {groups: 2}", lambda nn: nn.ChannelShuffle(2), id="channel_shuffle"),
]


#: (type, args, shape, the torch module from ``nn``, message): refused by both
TORCH_REFUSES = [
    pytest.param("channel_shuffle", {"groups": 2}, (4,), lambda nn: nn.ChannelShuffle(2),
                 "expects a [C, *spatial] input", id="channel shuffle of a vector"),
]


def _cat(a: Args, s: Shape) -> Any:
    import torch

    return Lambda(lambda *xs: torch.cat(xs, dim=a.get("dim", 1)))


#: The torch module computing each type, built from its arguments and (first) input shape; a merge
#: takes its inputs as separate arguments, as a model's forward writes ``a + b``.
TWINS: dict[str, Any] = {
    "add": lambda a, s: Lambda(lambda *xs: functools.reduce(operator.add, xs)),
    "subtract": lambda a, s: Lambda(operator.sub),
    "multiply": lambda a, s: Lambda(lambda *xs: functools.reduce(operator.mul, xs)),
    "concat": _cat,
    "chunk": lambda a, s: Lambda(lambda x: x.chunk(a["chunks"], dim=a.get("dim", 1))[a["index"]]),
    "split": lambda a, s: Lambda(lambda x: x.split(a["split_size_or_sections"], dim=a.get("dim", 1))[a["index"]]),
    "channel_shuffle": lambda a, s: nn().ChannelShuffle(**a),
}


def _chunk(rng: random.Random, shape: Shape) -> Args:
    dim = rng.randint(1, len(shape))
    chunks = rng.randint(1, 3)
    size = -(-shape[dim - 1] // chunks)
    count = -(-shape[dim - 1] // size)
    return {"chunks": chunks, "index": rng.randint(0, count - 1), "dim": rng.choice([dim, dim - len(shape) - 1])}


def _split(rng: random.Random, shape: Shape) -> Args:
    """torch.split by one size or by a list of sizes adding up to the axis."""
    dim = rng.randint(1, len(shape))
    n = shape[dim - 1]
    if rng.random() < 0.5 and n > 1:
        cut = sorted(rng.sample(range(1, n), min(rng.randint(1, 3), n - 1)))
        sizes: Any = [b - a for a, b in zip([0, *cut], [*cut, n])]
        count = len(sizes)
    else:
        sizes = rng.randint(1, max(1, n))
        count = -(-n // sizes)
    return {"split_size_or_sections": sizes, "index": rng.randint(0, count - 1),
            "dim": rng.choice([dim, dim - len(shape) - 1])}


#: Random arguments for the seeded random networks (tests/random_networks.py).
GENERATORS: dict[str, Generator] = {
    "channel_shuffle": lambda rng, s: {"groups": rng.choice(divisors(s[0]))},
    "chunk": _chunk,
    "split": _split,
}
#: Types with several inputs: the random networks and the property tests wire them themselves.
WIRED = {"add", "subtract", "multiply", "concat"}

#: Hypothesis strategies for the property tests (tests/test_properties.py).
STRATEGIES: dict[str, Strategy] = {
    "channel_shuffle": lambda s: st.fixed_dictionaries({"groups": st.sampled_from(divisors(s[0]))}),
    "chunk": lambda s: st.integers(1, 4).flatmap(lambda c: st.fixed_dictionaries(
        {"chunks": st.just(c), "index": st.integers(0, min(c, s[0]) - 1), "dim": st.just(1)})),
    "split": lambda s: st.integers(1, s[0]).flatmap(lambda k: st.fixed_dictionaries(
        {"split_size_or_sections": st.just(k), "index": st.integers(0, -(-s[0] // k) - 1), "dim": st.just(1)})),
    # merges take their second input from an earlier layer: see test_properties.networks
    "add": lambda s: st.just({}),
    "subtract": lambda s: st.just({}),
    "multiply": lambda s: st.just({}),
    "concat": lambda s: st.just({}),
}
