"""What PyTorch refuses, cnncalc refuses; what PyTorch runs, cnncalc accepts.

Each refusal in TORCH_REFUSES is a mismatch the differential tests found: cnncalc accepted the
layer and counted it, but the PyTorch module could not be built or run. REFUSED adds the empty
or batch-cutting results that PyTorch computes and cnncalc refuses on purpose. The cases live
with their family (tests/layers).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import layers
import pytest
from conftest import network_text

from cnncalc import analyse, spec
from cnncalc.errors import CnnCalcError, ShapeError
from cnncalc.graph import build


def network(kind: str, args: dict[str, Any], shape: tuple[int, ...]) -> Any:
    text = f"input: {list(shape)}\nlayers:\n  - {kind}: {json.dumps(args)}\n"
    return build(spec.load("net.yaml", text=text))


def _nn() -> Any:
    torch = pytest.importorskip("torch")
    return torch.nn


REFUSED = layers.table("TORCH_REFUSES")  # every family's cases (tests/layers)

ACCEPTED = layers.table("TORCH_ACCEPTS")


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


CUTS = layers.table("REFUSED")
TWINS = layers.mapping("TWINS")


@pytest.mark.parametrize("typ, args, shape, torch_refuses, words", CUTS)
def test_refused(typ: str, args: dict[str, Any], shape: list[int], torch_refuses: bool, words: str) -> None:
    with pytest.raises(CnnCalcError, match=r"(?s)" + words.replace("[", r"\[").replace("(", r"\(")
                       .replace(")", r"\)")):
        analyse(spec.load("bad.yaml", text=network_text(shape, [{typ: {**args, "name": "x"}}])))


@pytest.mark.torch
@pytest.mark.parametrize("typ, args, shape, torch_refuses, words", CUTS)
def test_refused_by_torch_too(typ: str, args: dict[str, Any], shape: list[int], torch_refuses: bool,
                              words: str) -> None:
    torch = pytest.importorskip("torch")
    x = torch.zeros(1, *shape)
    if torch_refuses:
        with pytest.raises((RuntimeError, IndexError, ValueError)):
            TWINS[typ](args, tuple(shape))(x)
    else:  # PyTorch gives an empty or shorter tensor, or cuts the batch: cnncalc refuses on purpose
        TWINS[typ](args, tuple(shape))(x)
