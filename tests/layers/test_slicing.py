"""The slicing family (cnncalc/layers/slicing.py): crop, narrow, slice and select.

The registry-wide tests read these tables through tests/layers/__init__.py; a type missing
from one fails there, naming the table (the checklist: docs/adding-a-layer.md).
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from conftest import network_text, run

from layers.kit import Args, Generator, Lambda, Shape, Strategy, X, dim, generated

#: (type, args, input shape, output shape, params, buffers, MACs, FLOPs), as arithmetic
CASES = [
    pytest.param("crop", {"size": [4, 4]}, [3, 8, 10], [3, 4, 4], 0, 0, 0, 0,
                 id="crop centred, even differences (offsets 2, 3)"),
    pytest.param("crop", {"size": [5, 2]}, [2, 8, 9], [2, 5, 2], 0, 0, 0, 0,
                 id="crop centred, odd differences (torchvision rounds 1.5 to 2, 3.5 to 4)"),
    pytest.param("crop", {"size": 6, "offset": 5}, [21, 16, 16], [21, 6, 6], 0, 0, 0, 0,
                 id="crop at offset 5 (FCN-8s score_pool4c)"),
    pytest.param("crop", {"size": [7]}, [4, 12], [4, 7], 0, 0, 0, 0, id="crop 1d"),
    pytest.param("crop", {"size": [2, 3, 4], "offset": [1, 0, 2]}, [2, 4, 5, 6], [2, 2, 3, 4], 0, 0, 0, 0,
                 id="crop 3d at offsets"),
    pytest.param("narrow", {"dim": 2, "start": 0, "length": 10 - 2}, [16, 10], [16, 8], 0, 0, 0, 0,
                 id="narrow: TCN Chomp1d of 2"),
    pytest.param("narrow", {"dim": 1, "start": -3, "length": 2}, [7, 4, 4], [2, 4, 4], 0, 0, 0, 0,
                 id="narrow from a negative start"),
    pytest.param("slice", {"dim": 2, "end": -2}, [16, 10], [16, 10 - 2], 0, 0, 0, 0,
                 id="slice x[:, :, :-2] (Chomp1d as written)"),
    pytest.param("slice", {"dim": 1, "end": 5}, [8, 6, 6], [5, 6, 6], 0, 0, 0, 0,
                 id="slice x[:, :5] (GhostNet out[:, :oup])"),
    pytest.param("slice", {"dim": -1, "start": 1, "step": 3}, [2, 3, 11], [2, 3, len(range(1, 11, 3))], 0, 0, 0, 0,
                 id="slice with step 3"),
    pytest.param("slice", {"dim": 1, "start": -100, "end": 100}, [5, 2], [5, 2], 0, 0, 0, 0,
                 id="slice bounds clamped as Python's"),
    pytest.param("select", {"dim": 2, "index": -1}, [32, 50], [32], 0, 0, 0, 0,
                 id="select x[:, :, -1] (last time step)"),
    pytest.param("select", {"dim": 1, "index": 2}, [4, 5, 6], [5, 6], 0, 0, 0, 0, id="select a channel"),
]


#: (type, args, input shapes, saved as (tensor or dtype, elements[, per step]))
SAVED = [
    pytest.param("crop", {"size": 3}, [X], [], id="crop: nothing (a view)"),
    pytest.param("narrow", {"dim": 1, "start": 0, "length": 2}, [X], [], id="narrow: nothing"),
    pytest.param("slice", {"dim": 2, "step": 2}, [X], [], id="slice: nothing"),
    pytest.param("select", {"dim": 2, "index": -1}, [X], [], id="select: nothing"),
]


#: (type, args, shape, whether PyTorch refuses too, words of cnncalc's message)
REFUSED = [
    pytest.param("narrow", {"dim": 2, "start": 7, "length": 1}, [3, 6], True, "outside [-6, 6]",
                 id="narrow start past the end"),
    pytest.param("narrow", {"dim": 2, "start": -2, "length": 3}, [3, 6], True, "runs past", id="narrow too long"),
    pytest.param("select", {"dim": 1, "index": 3}, [3, 6], True, "outside [-3, 3)", id="select index out of range"),
    pytest.param("select", {"dim": 3, "index": 0}, [3, 6], True, "not a non-batch axis", id="select dim out of range"),
    pytest.param("crop", {"size": [2, 9]}, [3, 6, 6], False, "larger than the input", id="crop larger than input"),
    pytest.param("crop", {"size": 4, "offset": 3}, [3, 6, 6], False, "runs past", id="crop offset past the end"),
    pytest.param("crop", {"size": [2, 2, 2]}, [3, 6, 6], False, "3 values, expected 2", id="crop size per axis"),
    pytest.param("slice", {"dim": 1, "start": 4, "end": 2}, [6], False, "selects nothing", id="empty slice"),
    pytest.param("slice", {"dim": 0, "end": 1}, [6], False, "0 is the batch", id="slice of the batch"),
    pytest.param("select", {"dim": 1, "index": 0}, [6], False, "no axis but the batch", id="select of a vector"),
]


def _centre(n: int, size: int) -> int:
    """torchvision's center_crop anchor: ``int(round((image − crop) / 2.0))``."""
    return int(round((n - size) / 2.0))


def _crop(a: Args, shape: Shape) -> Any:
    n = len(shape) - 1
    size = a["size"] if isinstance(a["size"], list) else [a["size"]] * n
    off = a.get("offset")
    offsets = [_centre(shape[1 + i], size[i]) for i in range(n)] if off is None else \
        (off if isinstance(off, list) else [off] * n)
    index = (slice(None), slice(None), *(slice(o, o + s) for o, s in zip(offsets, size)))
    return Lambda(lambda x: x[index])


def _narrow(a: Args, shape: Shape) -> Any:
    import torch

    return Lambda(lambda x: torch.narrow(x, a["dim"], a["start"], a["length"]))


def _slice(a: Args, shape: Shape) -> Any:
    d = a["dim"] % (len(shape) + 1)
    index = (slice(None),) * d + (slice(a.get("start"), a.get("end"), a.get("step", 1)),)
    return Lambda(lambda x: x[index])


def _select(a: Args, shape: Shape) -> Any:
    import torch

    return Lambda(lambda x: torch.select(x, a["dim"], a["index"]))


#: The layer written with PyTorch's own functions (``x[:, :, 5:9]``, ``torch.narrow``, torchvision's
#: centre-crop arithmetic), never with cnncalc's export.
TWINS: dict[str, Any] = {"crop": _crop, "narrow": _narrow, "slice": _slice, "select": _select}


def _crop_args(rng: random.Random, shape: Shape) -> Args | None:
    if len(shape) < 2:
        return None
    sizes = [rng.randint(1, n) for n in shape[1:]]
    args: Args = {"size": sizes if rng.random() < 0.7 or len(set(sizes)) > 1 else sizes[0]}
    if rng.random() < 0.4:
        args["offset"] = [rng.randint(0, n - s) for n, s in zip(shape[1:], sizes)]
    return args


def _narrow_args(rng: random.Random, shape: Shape) -> Args:
    axis = dim(rng, shape)
    n = shape[axis - 1 if axis > 0 else axis]
    start = rng.randint(-n, n - 1)
    first = start + n if start < 0 else start
    return {"dim": axis, "start": start, "length": rng.randint(1, n - first)}


def _bound(rng: random.Random, n: int) -> int | None:
    """A slice bound: none, inside, negative or out of range (PyTorch clamps it)."""
    return rng.choice([None, rng.randint(0, n), rng.randint(-n, -1), n + rng.randint(1, 3), -n - rng.randint(1, 3)])


def _slice_args(rng: random.Random, shape: Shape) -> Args:
    axis = dim(rng, shape)
    n = shape[axis - 1 if axis > 0 else axis]
    args: Args = {"dim": axis, "start": _bound(rng, n), "end": _bound(rng, n)}
    if rng.random() < 0.5:
        args["step"] = rng.randint(1, 3)
    return {k: v for k, v in args.items() if v is not None or rng.random() < 0.5}


def _select_args(rng: random.Random, shape: Shape) -> Args | None:
    if len(shape) < 2:
        return None
    axis = dim(rng, shape)
    n = shape[axis - 1 if axis > 0 else axis]
    return {"dim": axis, "index": rng.randint(-n, n - 1)}


#: Random arguments for the seeded random networks (tests/random_networks.py).
GENERATORS: dict[str, Generator] = {"crop": _crop_args, "narrow": _narrow_args, "slice": _slice_args,
                                    "select": _select_args}

#: Hypothesis strategies for the property tests (tests/test_properties.py); the fallback: valid
#: arguments for a shape the generator does not take (``infer`` refuses them: the caller draws again).
STRATEGIES: dict[str, Strategy] = {
    "crop": generated(_crop_args, {"size": 1}),
    "narrow": generated(_narrow_args, {}),
    "slice": generated(_slice_args, {}),
    "select": generated(_select_args, {"dim": 1, "index": 0}),
}


def test_cli_error_line() -> None:
    text = network_text([3, 6], [{"narrow": {"name": "chomp", "dim": 2, "start": 0, "length": 9}}])
    result = run("report", "-", input=text)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "layer 'chomp' (narrow): start 0 + length 9 runs past the axis of size 6" in result.stderr
    assert "Traceback" not in result.stderr
