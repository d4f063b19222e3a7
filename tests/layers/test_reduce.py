"""The reduce family (cnncalc/layers/reduce.py): reductions along axes (max, min, amax, amin, mean, sum).

The registry-wide tests read these tables through tests/layers/__init__.py; a type missing
from one fails there, naming the table (the checklist: docs/adding-a-layer.md).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from conftest import network_text

from layers.kit import Args, E, Generator, Lambda, Shape, Strategy, X, dim, generated

#: (type, args, input shape, output shape, params, buffers, MACs, FLOPs), as arithmetic
CASES = [
    pytest.param("max", {"dim": 2}, [1024, 50], [1024], 0, 0, 0, 1024 * 50 - 1024,
                 id="max over points (PointNet torch.max(x, 2)[0])"),
    pytest.param("max", {"dim": 1, "keepdim": True}, [6, 3, 3], [1, 3, 3], 0, 0, 0, 54 - 9, id="max keepdim"),
    pytest.param("min", {"dim": -1}, [4, 5, 6], [4, 5], 0, 0, 0, 120 - 20, id="min over the last axis"),
    pytest.param("amax", {"dim": [2, 3]}, [8, 4, 5], [8], 0, 0, 0, 160 - 8, id="amax over H and W"),
    pytest.param("amin", {"dim": [1, -1], "keepdim": True}, [3, 4, 5], [1, 4, 1], 0, 0, 0, 60 - 4,
                 id="amin keepdim over C and W"),
    pytest.param("mean", {"dim": [2, 3], "keepdim": True}, [256, 7, 7], [256, 1, 1], 0, 0, 0, 256 * 49,
                 id="mean over H, W keepdim (ShuffleNet, DeepLab ASPP pooling)"),
    pytest.param("mean", {"dim": 2}, [6, 10], [6], 0, 0, 0, 60, id="mean over time"),
    pytest.param("sum", {"dim": 1}, [5, 4, 4], [4, 4], 0, 0, 0, 80 - 16, id="sum over channels"),
]


#: (type, args, input shapes, saved as (tensor or dtype, elements[, per step]))
SAVED = [
    pytest.param("max", {"dim": 2}, [X], [("int64", 4 * 6)], id="max: the indices only"),
    pytest.param("min", {"dim": 1, "keepdim": True}, [X], [("int64", 36)], id="min: the indices only"),
    pytest.param("amax", {"dim": [2, 3]}, [X], [("input", E), ("output", 4)], id="amax: input and output"),
    pytest.param("amin", {"dim": 2}, [X], [("input", E), ("output", 24)], id="amin: input and output"),
    pytest.param("mean", {"dim": [2, 3]}, [X], [], id="mean: nothing"),
    pytest.param("sum", {"dim": 1}, [X], [], id="sum: nothing"),
]


#: (type, args, shape, whether PyTorch refuses too, words of cnncalc's message)
REFUSED = [
    pytest.param("max", {"dim": 3}, [3, 6], True, "not a non-batch axis", id="max dim out of range"),
    pytest.param("amax", {"dim": [1, -2]}, [3, 6], True, "twice", id="amax same axis twice"),
    pytest.param("sum", {"dim": [1, 1]}, [3, 6], True, "twice", id="sum same axis twice"),
    pytest.param("mean", {"dim": [1, 2]}, [3, 6], False, "no axis but the batch", id="mean over every axis"),
]


def _indexed(name: str) -> Any:
    """``torch.max(x, dim, keepdim)[0]``: the values of a reduction that also returns indices."""

    def twin(a: Args, s: Shape) -> Any:
        import torch

        fn = getattr(torch, name)
        return Lambda(lambda x: fn(x, a["dim"], keepdim=a.get("keepdim", False))[0])

    return twin


def _over(name: str) -> Any:
    """``torch.<name>(x, dims, keepdim)``."""

    def twin(a: Args, s: Shape) -> Any:
        import torch

        fn = getattr(torch, name)
        axes = tuple(a["dim"]) if isinstance(a["dim"], list) else a["dim"]
        return Lambda(lambda x: fn(x, axes, keepdim=a.get("keepdim", False)))

    return twin


#: The layer written with PyTorch's own functions, from its arguments and input shape.
TWINS: dict[str, Any] = {
    "max": _indexed("max"), "min": _indexed("min"),
    **{name: _over(name) for name in ("amax", "amin", "mean", "sum")},
}


def _reduction(single: bool) -> Generator:
    def gen(rng: random.Random, shape: Shape) -> Args | None:
        keepdim = rng.random() < 0.4
        if len(shape) < 2 and not keepdim:
            return None
        axis: Any
        if single:
            axis = dim(rng, shape)
        else:
            picked = rng.sample(range(1, len(shape) + 1), rng.randint(1, len(shape) - (0 if keepdim else 1)))
            axis = [rng.choice([d, d - len(shape) - 1]) for d in picked]
            if len(axis) == 1 and rng.random() < 0.5:
                axis = axis[0]
        return {"dim": axis, **({"keepdim": True} if keepdim else {})}

    return gen


#: Random arguments for the seeded random networks (tests/random_networks.py).
GENERATORS: dict[str, Generator] = {
    "max": _reduction(True), "min": _reduction(True),
    **{name: _reduction(False) for name in ("amax", "amin", "mean", "sum")},
}

#: Hypothesis strategies for the property tests (tests/test_properties.py); ``{"dim": 1}`` where
#: the generator takes no arguments for the shape (``infer`` refuses them: the caller draws again).
STRATEGIES: dict[str, Strategy] = {name: generated(gen, {"dim": 1}) for name, gen in GENERATORS.items()}


@pytest.mark.torch
@pytest.mark.parametrize("batch", [2, 3])
def test_max_keeps_indices_where_globalmaxpool_keeps_the_input(batch: int) -> None:
    """PointNet: ``torch.max(x, 2)[0]`` after a conv1d keeps int64 indices, global max pooling the map too."""
    torch = pytest.importorskip("torch")
    from test_memory_torch import cnncalc_saved, torch_saved

    c, n = 64, 500
    head = {"max": {"dim": 2}}
    pool = [{"globalmaxpool": None}, {"flatten": None}]
    base = [{"conv1d": {"out_channels": c, "kernel_size": 1}}]
    with_max = cnncalc_saved(network_text([3, n], [*base, head]), batch)
    with_pool = cnncalc_saved(network_text([3, n], [*base, *pool]), batch)
    # both keep the conv's input, the c indices (int64) and the output; only pooling keeps the c·n map
    assert with_pool - with_max == c * n * 4 * batch
    conv = torch.nn.Conv1d(3, c, 1)
    assert with_max == torch_saved(torch.nn.Sequential(conv, Lambda(lambda x: torch.max(x, 2)[0])), (3, n), batch)
    pooled = torch.nn.Sequential(conv, torch.nn.AdaptiveMaxPool1d(1), torch.nn.Flatten())
    assert with_pool == torch_saved(pooled, (3, n), batch)
