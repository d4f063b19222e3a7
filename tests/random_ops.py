"""Random arguments for the cutting, reducing and constant layers (crop, narrow, slice, select,
reductions, log_softmax, scale, shift, layerscale, zero padding with negative amounts).

``GENERATORS`` (``random.Random``) feed the seeded random networks of random_networks.py, and
``STRATEGIES`` (hypothesis) the property tests; both take the shape that reaches the layer and
may give arguments that do not fit it (the caller checks with the layer's own ``infer``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

Args = dict[str, Any]
Shape = tuple[int, ...]


def _dim(rng: random.Random, shape: Shape) -> int:
    """A non-batch axis in PyTorch numbering, counted from the front or the back."""
    d = rng.randint(1, len(shape))
    return rng.choice([d, d - len(shape) - 1])


def _crop(rng: random.Random, shape: Shape) -> Args | None:
    if len(shape) < 2:
        return None
    sizes = [rng.randint(1, n) for n in shape[1:]]
    args: Args = {"size": sizes if rng.random() < 0.7 or len(set(sizes)) > 1 else sizes[0]}
    if rng.random() < 0.4:
        args["offset"] = [rng.randint(0, n - s) for n, s in zip(shape[1:], sizes)]
    return args


def _narrow(rng: random.Random, shape: Shape) -> Args:
    dim = _dim(rng, shape)
    n = shape[dim - 1 if dim > 0 else dim]
    start = rng.randint(-n, n - 1)
    first = start + n if start < 0 else start
    return {"dim": dim, "start": start, "length": rng.randint(1, n - first)}


def _bound(rng: random.Random, n: int) -> int | None:
    """A slice bound: none, inside, negative or out of range (PyTorch clamps it)."""
    return rng.choice([None, rng.randint(0, n), rng.randint(-n, -1), n + rng.randint(1, 3), -n - rng.randint(1, 3)])


def _slice(rng: random.Random, shape: Shape) -> Args:
    dim = _dim(rng, shape)
    n = shape[dim - 1 if dim > 0 else dim]
    args: Args = {"dim": dim, "start": _bound(rng, n), "end": _bound(rng, n)}
    if rng.random() < 0.5:
        args["step"] = rng.randint(1, 3)
    return {k: v for k, v in args.items() if v is not None or rng.random() < 0.5}


def _select(rng: random.Random, shape: Shape) -> Args | None:
    if len(shape) < 2:
        return None
    dim = _dim(rng, shape)
    n = shape[dim - 1 if dim > 0 else dim]
    return {"dim": dim, "index": rng.randint(-n, n - 1)}


def _reduction(single: bool) -> Callable[[random.Random, Shape], Args | None]:
    def gen(rng: random.Random, shape: Shape) -> Args | None:
        keepdim = rng.random() < 0.4
        if len(shape) < 2 and not keepdim:
            return None
        if single:
            dim: Any = _dim(rng, shape)
        else:
            axes = rng.sample(range(1, len(shape) + 1), rng.randint(1, len(shape) - (0 if keepdim else 1)))
            dim = [rng.choice([d, d - len(shape) - 1]) for d in axes]
            if len(dim) == 1 and rng.random() < 0.5:
                dim = dim[0]
        return {"dim": dim, **({"keepdim": True} if keepdim else {})}

    return gen


def _zeropad(n: int) -> Callable[[random.Random, Shape], Args | None]:
    """Zero padding with amounts from −2 (a crop) to 2."""
    def gen(rng: random.Random, shape: Shape) -> Args | None:
        if len(shape) != n + 1:
            return None
        if rng.random() < 0.3:
            return {"padding": rng.randint(-1, 2)}
        return {"padding": [rng.randint(-2, 2) for _ in range(2 * n)]}

    return gen


GENERATORS: dict[str, Callable[[random.Random, Shape], Args | None]] = {
    "crop": _crop,
    "narrow": _narrow,
    "slice": _slice,
    "select": _select,
    "max": _reduction(True),
    "min": _reduction(True),
    "amax": _reduction(False),
    "amin": _reduction(False),
    "mean": _reduction(False),
    "sum": _reduction(False),
    "log_softmax": lambda rng, s: {"dim": _dim(rng, s)},
    "scale": lambda rng, s: {"value": rng.choice([0.5, 2, -1.5, 0.125])},
    "shift": lambda rng, s: {"value": rng.choice([1, -0.5, 3.25])},
    "layerscale": lambda rng, s: {"dim": _dim(rng, s), "init_values": rng.choice([1e-6, 0.1, 1.0])},
    **{f"zeropad{n}d": _zeropad(n) for n in (1, 2, 3)},
}


#: Valid arguments for a shape the generator does not take (``infer`` refuses them: the caller draws again).
_REFUSED: dict[str, Args] = {"crop": {"size": 1}, "select": {"dim": 1, "index": 0}, "max": {"dim": 1},
                             "min": {"dim": 1}, "amax": {"dim": 1}, "amin": {"dim": 1}, "mean": {"dim": 1},
                             "sum": {"dim": 1}}


def _generated(name: str) -> Callable[[Shape], st.SearchStrategy[Args]]:
    """A hypothesis strategy drawing a seed for the generator."""
    gen = GENERATORS[name]
    return lambda shape: st.integers(0, 2**32 - 1).map(
        lambda seed: gen(random.Random(seed), shape) or dict(_REFUSED[name]))


#: Hypothesis strategies, by layer family (zeropad for zeropad1d/2d/3d).
STRATEGIES: dict[str, Callable[[Shape], st.SearchStrategy[Args]]] = {
    **{name: _generated(name) for name in GENERATORS if not name.startswith("zeropad")},
    "zeropad": lambda shape: st.integers(0, 2**32 - 1).map(
        lambda seed: _zeropad(len(shape) - 1)(random.Random(seed), shape) or {"padding": 0}),
}
