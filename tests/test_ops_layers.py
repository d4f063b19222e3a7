"""crop, narrow, slice, select, the reductions, log_softmax, scale, shift, layerscale and negative
zero padding together: their receptive fields, a network using them all, the README and the schema.

Their rules, twins and saved tensors are with their families (tests/layers). The receptive-field
rules are checked unit by unit with a float64 gradient probe over random chains of convolutions,
pooling and these layers, each written with the family's torch twin (PyTorch's own functions,
never cnncalc's export).
"""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction
from typing import Any

import layers
import pytest
from conftest import network_text, run

from cnncalc import analyse, spec
from cnncalc.errors import CnnCalcError
from cnncalc.graph import build
from cnncalc.layers import lookup

Shape = tuple[int, ...]
TWINS = layers.mapping("TWINS")


# ---------------------------------------------------------------------------------------------
# receptive field: every output unit against a float64 gradient probe

def _random_chain(rng: random.Random) -> tuple[list[int], list[dict[str, Any]]]:
    """A 2-d input and a chain of convolutions and average pooling with the new layers among them."""
    shape = [2, rng.randint(12, 20), rng.randint(12, 20)]
    items: list[dict[str, Any]] = []
    for _ in range(rng.randint(2, 5)):
        kind = rng.choice(["conv", "conv", "pool", "crop", "narrow", "slice", "zeropad", "scale"])
        if kind == "conv":
            k = rng.randint(1, 3)
            items.append({"conv2d": {"out_channels": 2, "kernel_size": k, "stride": rng.randint(1, 2),
                                     "dilation": rng.randint(1, 2), "padding": rng.randint(0, k // 2)}})
        elif kind == "pool":
            items.append({"avgpool2d": {"kernel_size": 2, "stride": rng.randint(1, 2)}})
        elif kind == "crop":
            items.append({"crop": {"size": [rng.randint(2, 6), rng.randint(2, 6)],
                                   **({"offset": [rng.randint(0, 2), rng.randint(0, 2)]} if rng.random() < 0.5
                                      else {})}})
        elif kind == "narrow":
            items.append({"narrow": {"dim": rng.choice([2, 3, -1]), "start": rng.randint(-3, 2), "length": 2}})
        elif kind == "slice":
            items.append({"slice": {"dim": rng.choice([2, 3, -2]), "start": rng.choice([None, 1, -4]),
                                    "step": rng.randint(1, 2)}})
        elif kind == "zeropad":
            items.append({"zeropad2d": {"padding": [rng.randint(-2, 1) for _ in range(4)]}})
        else:
            items.append({rng.choice(["scale", "shift"]): {"value": 0.5}})
    tail = rng.choice([None, None, "select", "mean", "amax", "max", "log_softmax"])
    if tail == "select":
        items.append({"select": {"dim": rng.choice([2, 3]), "index": rng.choice([0, -1, 1])}})
    elif tail in ("mean", "amax"):
        items.append({tail: {"dim": rng.choice([2, 3, [2, 3]]), "keepdim": rng.random() < 0.5}})
    elif tail == "max":
        items.append({"max": {"dim": rng.choice([2, 3])}})
    elif tail == "log_softmax":
        items.append({"log_softmax": {"dim": rng.choice([1, 2])}})
    return shape, items


def _torch_chain(shape: list[int], items: list[dict[str, Any]]) -> Any:
    import torch.nn as nn

    modules: list[Any] = []
    shapes = [tuple(shape)]
    for item in items:
        (typ, args), = item.items()
        if typ == "conv2d":
            args = dict(args)
            modules.append(nn.Conv2d(shapes[-1][0], args.pop("out_channels"), args.pop("kernel_size"), **args))
        elif typ == "avgpool2d":
            modules.append(nn.AvgPool2d(**args))
        elif typ in ("max", "amax"):
            # the gradient of a max reaches the largest value only; what it depends on is what the
            # mean over the same axes depends on
            modules.append(TWINS["mean"]({**args, "dim": [args["dim"]] if typ == "max" else args["dim"]}, shapes[-1]))
        else:
            modules.append(TWINS[typ](args, shapes[-1]))
        rows = analyse(spec.load("n.yaml", text=network_text(shape, items[: len(modules)]))).layers
        shapes.append(rows[-1].output_shape)
    return nn.Sequential(*modules)


def _supports(model: Any, shape: list[int]) -> tuple[Any, list[list[tuple[int, int] | None]]]:
    """For each output element (batch 0, channels summed), the input span per spatial axis it depends on."""
    import torch

    model.double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.05)  # positive weights and input: no path cancels
    x = torch.rand(1, *shape, dtype=torch.float64) + 0.5
    jac = torch.autograd.functional.jacobian(lambda t: model(t)[0], x)  # [*out, 1, *in]
    out_shape = jac.shape[: jac.dim() - len(shape) - 1]
    used = jac.abs().reshape(*out_shape, *shape).sum(len(out_shape))  # sum over input channels
    spans: list[list[tuple[int, int] | None]] = []
    for idx in itertools.product(*[range(n) for n in out_shape]):
        grad = used[idx]
        row: list[tuple[int, int] | None] = []
        for axis in range(grad.dim()):
            hit = grad.sum([a for a in range(grad.dim()) if a != axis]).nonzero().flatten()
            row.append((int(hit.min()), int(hit.max())) if len(hit) else None)
        spans.append(row)
    return out_shape, spans


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(40))
def test_receptive_field_of_every_unit_matches_a_gradient_probe(seed: int) -> None:
    pytest.importorskip("torch")
    rng = random.Random(seed)
    for _ in range(200):
        shape, items = _random_chain(rng)
        try:
            report = analyse(spec.load("n.yaml", text=network_text(shape, items)))
        except CnnCalcError:
            continue
        if math.prod(report.layers[-1].output_shape) > 400:
            continue
        out_shape, spans = _supports(_torch_chain(shape, items), shape)
        seen = [s for s in spans if s[0] is not None]  # a unit of zero padding only depends on nothing
        if seen:
            break
    else:
        pytest.skip("no chain fits")
    row = report.layers[-1]
    assert tuple(out_shape) == row.output_shape
    # a field reaching past the part of the input that reaches the last layer (after a crop, a
    # slice or at the borders) meets zero padding there: compare within that part
    reach = [(min(s[a][0] for s in seen), max(s[a][1] for s in seen)) for a in range(len(shape) - 1)]
    for idx, span in zip(itertools.product(*[range(n) for n in out_shape]), spans):
        if span[0] is None:
            continue
        for a, field in enumerate(row.rf.axes):
            if field.size is not None:
                at = [idx[t] for t, lay in enumerate(row.rf.layout) if lay == a]
                want = _span(field, at[0] if at else 0, at[0] if at else 0, reach[a])
            else:
                # reduced along a: every unit of the reduction's input along a ("whole")
                before = report.layers[-2]
                (t,) = [t for t, lay in enumerate(before.rf.layout) if lay == a]
                want = _span(before.rf.axes[a], 0, before.output_shape[t] - 1, reach[a])
            assert span[a] == want, (items, idx, a, field)


def _span(field: Any, first: int, last: int, reach: tuple[int, int]) -> tuple[int, int]:
    """Input pixels seen by units ``first``..``last`` of a field, within ``reach``."""
    half = Fraction(field.size - 1, 2)
    return (max(reach[0], math.ceil(field.start + first * field.jump - half)),
            min(reach[1], math.floor(field.start + last * field.jump + half)))


# ---------------------------------------------------------------------------------------------
# a network using every new layer, for explain and the registry-wide tests

ZOO_OPS = """\
name: ops
input: [4, 20, 20]
layers:
  - conv2d: {name: c1, out_channels: 8, kernel_size: 3}
  - crop: {size: 16}
  - crop: {size: [12, 14], offset: [2, 1]}
  - zeropad2d: {padding: [-1, -1, 0, -2]}
  - narrow: {dim: 2, start: -8, length: 8}
  - slice: {dim: -1, start: 1, step: 2}
  - layerscale: {init_values: 0.1}
  - scale: {value: 0.5}
  - shift: {value: 1.0}
  - log_softmax: {dim: 1}
  - conv2d: {name: c2, out_channels: 6, kernel_size: 1}
  - amax: {from: c2, name: a, dim: [2, 3], keepdim: true}
  - amin: {from: c2, name: b, dim: 2}
  - min: {from: b, dim: -1}
  - max: {from: c2, name: m, dim: 3}
  - mean: {dim: 1}
  - sum: {from: c2, dim: [1, 2]}
  - select: {from: c2, dim: 1, index: -1}
  - permute: {from: c2, dims: [0, 2, 3, 1]}
  - layerscale: {dim: -1}
"""


def test_zoo_ops_uses_every_new_type() -> None:
    cutting = [*layers.table("CASES")]
    types = {c.values[0] for c in cutting if layers.family(c.values[0]) in ("slicing", "reduce")}
    types |= {"log_softmax", "scale", "shift", "layerscale", "zeropad2d"}
    used = {n.layer.type_name for n in build(spec.load("ops.yaml", text=ZOO_OPS)).nodes}
    assert types <= used


def test_readme_examples_are_valid_layers() -> None:
    """Every line of the format page's example of crops, slices, reductions and constants is a valid layer."""
    import yaml
    from docs_pages import blocks, page, section

    (block,) = blocks(section(page("format.md"), "## Crops, slices, reductions and constants"), "yaml")
    items = yaml.safe_load(block)
    assert len(items) >= 10
    for item in items:
        (typ, args), = item.items()
        lookup(typ).model_validate(args)  # type: ignore[union-attr]


SCHEMA_CASES = [
    pytest.param({"crop": {"size": [4, 4], "offset": 1}}, True, id="crop with offset"),
    pytest.param({"crop": {"size": 0}}, False, id="crop to size 0"),
    pytest.param({"crop": {"size": 2, "offset": -1}}, False, id="crop at a negative offset"),
    pytest.param({"narrow": {"dim": 1, "start": -2, "length": 1}}, True, id="narrow from the end"),
    pytest.param({"narrow": {"dim": 1, "start": 0}}, False, id="narrow without length"),
    pytest.param({"slice": {"dim": 2, "end": -2}}, True, id="slice to -2"),
    pytest.param({"slice": {"dim": 2, "step": 0}}, False, id="slice step 0"),
    pytest.param({"select": {"dim": 2, "index": -1}}, True, id="select the last"),
    pytest.param({"max": {"dim": [1, 2]}}, False, id="max over a list (torch.max takes one dim)"),
    pytest.param({"amax": {"dim": [1, 2], "keepdim": True}}, True, id="amax over a list"),
    pytest.param({"mean": {"dim": 1, "keepdim": 1}}, False, id="keepdim not a boolean"),
    pytest.param({"scale": {"value": 0.5}}, True, id="scale"),
    pytest.param({"shift": {"value": "one"}}, False, id="shift by a word"),
    pytest.param({"zeropad2d": {"padding": [-1, 0, 2, -3]}}, True, id="negative zero padding"),
    pytest.param({"layerscale": {"dim": -1, "init_values": 0.1}}, True, id="layerscale channels-last"),
]


@pytest.mark.parametrize("item, valid", SCHEMA_CASES)
def test_input_schema_knows_the_new_layers(item: dict[str, Any], valid: bool) -> None:
    """The published JSON Schema of network files takes and refuses what cnncalc does."""
    jsonschema = pytest.importorskip("jsonschema")
    import json

    from pydantic import ValidationError

    result = run("schema", "input")
    validator = jsonschema.Draft202012Validator(json.loads(result.stdout))
    doc = {"input": [4, 8, 8], "layers": [item]}
    assert validator.is_valid(doc) == valid
    (typ, args), = item.items()
    try:
        lookup(typ).model_validate(args)  # type: ignore[union-attr]
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == valid
