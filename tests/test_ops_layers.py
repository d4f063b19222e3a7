"""crop, narrow, slice, select, the reductions, log_softmax, scale, shift, layerscale and negative
zero padding: their rules as arithmetic, and each checked against plain PyTorch.

Each case has a twin written with PyTorch's own functions (``x[:, :, 5:9]``, ``torch.narrow``,
``torch.max(x, 2)[0]``, torchvision's centre-crop arithmetic, ...), never with cnncalc's export:
output shape, parameter count, the values the exported module computes, FlopCounterMode's
count and the bytes autograd saves (``saved_tensors_hooks``) must agree with cnncalc. The
receptive-field rules are checked unit by unit with a float64 gradient probe over random chains
of convolutions, pooling and these layers.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
from conftest import network_text, probe, run

from cnncalc import analyse, spec
from cnncalc.errors import CnnCalcError
from cnncalc.export import to_pytorch
from cnncalc.graph import build
from cnncalc.layers import lookup

Shape = tuple[int, ...]

# (type, args, input shape, output shape, params, buffers, MACs, FLOPs)
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
    pytest.param("log_softmax", {"dim": 1}, [10], [10], 0, 0, 0, 5 * 10 + 1, id="log_softmax over classes"),
    pytest.param("log_softmax", {"dim": 1}, [21, 4, 4], [21, 4, 4], 0, 0, 0, 5 * 336 + 16,
                 id="log_softmax over channels (a log per position)"),
    pytest.param("scale", {"value": 0.5}, [3, 4, 4], [3, 4, 4], 0, 0, 0, 48, id="scale by 0.5"),
    pytest.param("shift", {"value": -1.0}, [3, 4, 4], [3, 4, 4], 0, 0, 0, 48, id="shift by -1"),
    pytest.param("layerscale", {"dim": -1, "init_values": 1e-5}, [7, 7, 96], [7, 7, 96], 96, 0, 0, 49 * 96,
                 id="layer scale channels-last (CaiT, timm LayerScale)"),
    pytest.param("layerscale", {"dim": 1}, [8, 5], [8, 5], 8, 0, 0, 40, id="layer scale channels-first 1d"),
    pytest.param("zeropad2d", {"padding": [-1, -2, 0, -3]}, [3, 8, 8], [3, 8 - 3, 8 - 3], 0, 0, 0, 0,
                 id="negative zero padding crops"),
    pytest.param("zeropad1d", {"padding": [2, -3]}, [2, 6], [2, 6 + 2 - 3], 0, 0, 0, 0,
                 id="zeropad1d pad before, crop after"),
    pytest.param("zeropad3d", {"padding": -1}, [1, 3, 4, 5], [1, 1, 2, 3], 0, 0, 0, 0, id="zeropad3d -1"),
]


class Lambda:
    """``nn.Module`` factory for a function of the input (imported lazily with torch)."""

    def __new__(cls, fn: Callable[[Any], Any], params: Any = None) -> Any:  # type: ignore[misc]
        import torch.nn as nn

        class _Fn(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                if params is not None:
                    self.gamma = nn.Parameter(params)

            def forward(self, x: Any) -> Any:
                return fn(x, self.gamma) if params is not None else fn(x)

        return _Fn()


def _centre(n: int, size: int) -> int:
    """torchvision's center_crop anchor: ``int(round((image − crop) / 2.0))``."""
    return int(round((n - size) / 2.0))


def twin(typ: str, args: dict[str, Any], shape: Shape) -> Any:
    """The layer written with PyTorch's own functions, for a batched input of ``shape``."""
    import torch
    import torch.nn.functional as F

    a = dict(args)
    if typ == "crop":
        n = len(shape) - 1
        size = a["size"] if isinstance(a["size"], list) else [a["size"]] * n
        off = a.get("offset")
        offsets = [_centre(shape[1 + i], size[i]) for i in range(n)] if off is None else \
            (off if isinstance(off, list) else [off] * n)
        index = (slice(None), slice(None), *(slice(o, o + s) for o, s in zip(offsets, size)))
        return Lambda(lambda x: x[index])
    if typ == "narrow":
        return Lambda(lambda x: torch.narrow(x, a["dim"], a["start"], a["length"]))
    if typ == "slice":
        d = a["dim"] % (len(shape) + 1)
        index = (slice(None),) * d + (slice(a.get("start"), a.get("end"), a.get("step", 1)),)
        return Lambda(lambda x: x[index])
    if typ == "select":
        return Lambda(lambda x: torch.select(x, a["dim"], a["index"]))
    if typ in ("max", "min"):
        fn = torch.max if typ == "max" else torch.min
        return Lambda(lambda x: fn(x, a["dim"], keepdim=a.get("keepdim", False))[0])
    if typ in ("amax", "amin", "mean", "sum"):
        fn = getattr(torch, typ)
        dim = tuple(a["dim"]) if isinstance(a["dim"], list) else a["dim"]
        return Lambda(lambda x: fn(x, dim, keepdim=a.get("keepdim", False)))
    if typ == "log_softmax":
        return Lambda(lambda x: F.log_softmax(x, a["dim"]))
    if typ == "scale":
        return Lambda(lambda x: x * a["value"])
    if typ == "shift":
        return Lambda(lambda x: x + a["value"])
    if typ == "layerscale":
        d = a.get("dim", 1) % (len(shape) + 1)
        # timm's LayerScale (channels-last): gamma of [C]; channels-first: gamma.view(C, 1, ...)
        gamma = torch.rand(shape[d - 1], *([1] * (len(shape) - d)))
        return Lambda(lambda x, g: x * g, gamma)
    if typ.startswith("zeropad"):
        p = a["padding"]
        return getattr(torch.nn, f"ZeroPad{typ[-2:]}")(tuple(p) if isinstance(p, list) else p)
    raise AssertionError(f"no twin for {typ}")


@pytest.mark.parametrize("typ, args, shape, out, params, buffers, macs, flops", CASES)
def test_layer_rules(typ: str, args: Any, shape: list[int], out: list[int], params: int, buffers: int,
                     macs: int, flops: int) -> None:
    row = probe(typ, args, shape)
    assert list(row.output_shape) == out
    assert (row.params, row.buffers, row.macs, row.flops) == (params, buffers, macs, flops)


def _single(typ: str, args: dict[str, Any], shape: list[int]) -> Any:
    """The module cnncalc's export writes for one layer on ``shape``."""
    namespace: dict[str, Any] = {}
    exec(compile(to_pytorch(build(spec.load("one.yaml", text=network_text(shape, [{typ: args}])))),
                 "<export>", "exec"), namespace)
    return namespace["Model"]()


@pytest.mark.torch
@pytest.mark.parametrize("typ, args, shape, out, params, buffers, macs, flops", CASES)
def test_layer_rules_match_torch(typ: str, args: Any, shape: list[int], out: list[int], params: int,
                                 buffers: int, macs: int, flops: int) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    module = twin(typ, args, tuple(shape))
    x = torch.randn(2, *shape)
    with FlopCounterMode(display=False) as counter:
        y = module(x)
    assert list(y.shape[1:]) == out
    assert sum(p.numel() for p in module.parameters()) == params
    # FlopCounterMode counts matrix products and convolutions only: none here
    report = analyse(spec.load("one.yaml", text=network_text(shape, [{typ: args}])), convention="torch")
    assert counter.get_total_flops() == report.totals.flops == 0
    # the exported module computes the very same values
    exported = _single(typ, args, shape)
    with torch.no_grad():
        for p, q in zip(exported.parameters(), module.parameters()):
            p.copy_(q)
        assert torch.equal(exported(x), module(x))


# ---------------------------------------------------------------------------------------------
# refusals: what PyTorch refuses, and the empty or batch-cutting results cnncalc refuses too

REFUSED = [
    pytest.param("narrow", {"dim": 2, "start": 7, "length": 1}, [3, 6], True, "outside [-6, 6]",
                 id="narrow start past the end"),
    pytest.param("narrow", {"dim": 2, "start": -2, "length": 3}, [3, 6], True, "runs past", id="narrow too long"),
    pytest.param("select", {"dim": 1, "index": 3}, [3, 6], True, "outside [-3, 3)", id="select index out of range"),
    pytest.param("select", {"dim": 3, "index": 0}, [3, 6], True, "not a non-batch axis", id="select dim out of range"),
    pytest.param("max", {"dim": 3}, [3, 6], True, "not a non-batch axis", id="max dim out of range"),
    pytest.param("amax", {"dim": [1, -2]}, [3, 6], True, "twice", id="amax same axis twice"),
    pytest.param("sum", {"dim": [1, 1]}, [3, 6], True, "twice", id="sum same axis twice"),
    pytest.param("crop", {"size": [2, 9]}, [3, 6, 6], False, "larger than the input", id="crop larger than input"),
    pytest.param("crop", {"size": 4, "offset": 3}, [3, 6, 6], False, "runs past", id="crop offset past the end"),
    pytest.param("crop", {"size": [2, 2, 2]}, [3, 6, 6], False, "3 values, expected 2", id="crop size per axis"),
    pytest.param("slice", {"dim": 1, "start": 4, "end": 2}, [6], False, "selects nothing", id="empty slice"),
    pytest.param("slice", {"dim": 0, "end": 1}, [6], False, "0 is the batch", id="slice of the batch"),
    pytest.param("mean", {"dim": [1, 2]}, [3, 6], False, "no axis but the batch", id="mean over every axis"),
    pytest.param("select", {"dim": 1, "index": 0}, [6], False, "no axis but the batch", id="select of a vector"),
    pytest.param("zeropad1d", {"padding": [-3, -3]}, [2, 6], False, "leaves 0 entries", id="negative padding to 0"),
    pytest.param("zeropad2d", {"padding": [-4, -3, 0, 0]}, [2, 5, 6], True, "leaves -1 entries",
                 id="negative padding past the input"),
    pytest.param("layerscale", {"dim": 4}, [2, 5, 6], True, "not a non-batch axis", id="layerscale dim out of range"),
]


@pytest.mark.parametrize("typ, args, shape, torch_refuses, words", REFUSED)
def test_refused(typ: str, args: dict[str, Any], shape: list[int], torch_refuses: bool, words: str) -> None:
    with pytest.raises(CnnCalcError, match=r"(?s)" + words.replace("[", r"\[").replace("(", r"\(")
                       .replace(")", r"\)")):
        analyse(spec.load("bad.yaml", text=network_text(shape, [{typ: {**args, "name": "x"}}])))


@pytest.mark.torch
@pytest.mark.parametrize("typ, args, shape, torch_refuses, words", REFUSED)
def test_refused_by_torch_too(typ: str, args: dict[str, Any], shape: list[int], torch_refuses: bool,
                              words: str) -> None:
    torch = pytest.importorskip("torch")
    if typ == "layerscale":
        pytest.skip("the twin's parameter shape needs the axis")
    x = torch.zeros(1, *shape)
    if torch_refuses:
        with pytest.raises((RuntimeError, IndexError, ValueError)):
            twin(typ, args, tuple(shape))(x)
    else:  # PyTorch gives an empty or shorter tensor, or cuts the batch: cnncalc refuses on purpose
        twin(typ, args, tuple(shape))(x)


def test_cli_error_line() -> None:
    text = network_text([3, 6], [{"narrow": {"name": "chomp", "dim": 2, "start": 0, "length": 9}}])
    result = run("report", "-", input=text)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "layer 'chomp' (narrow): start 0 + length 9 runs past the axis of size 6" in result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------------
# saved for backward: the rules, and against autograd

X = (4, 6, 6)
E = 4 * 6 * 6

#: (type, args, input shapes, saved as (tensor or dtype, elements)); read by test_memory.py's registry check.
SAVED_RULES = [
    pytest.param("crop", {"size": 3}, [X], [], id="crop: nothing (a view)"),
    pytest.param("narrow", {"dim": 1, "start": 0, "length": 2}, [X], [], id="narrow: nothing"),
    pytest.param("slice", {"dim": 2, "step": 2}, [X], [], id="slice: nothing"),
    pytest.param("select", {"dim": 2, "index": -1}, [X], [], id="select: nothing"),
    pytest.param("max", {"dim": 2}, [X], [("int64", 4 * 6)], id="max: the indices only"),
    pytest.param("min", {"dim": 1, "keepdim": True}, [X], [("int64", 36)], id="min: the indices only"),
    pytest.param("amax", {"dim": [2, 3]}, [X], [("input", E), ("output", 4)], id="amax: input and output"),
    pytest.param("amin", {"dim": 2}, [X], [("input", E), ("output", 24)], id="amin: input and output"),
    pytest.param("mean", {"dim": [2, 3]}, [X], [], id="mean: nothing"),
    pytest.param("sum", {"dim": 1}, [X], [], id="sum: nothing"),
    pytest.param("log_softmax", {"dim": 1}, [X], [("output", E)], id="log_softmax: the output"),
    pytest.param("scale", {"value": 2.0}, [X], [], id="scale: nothing"),
    pytest.param("shift", {"value": 2.0}, [X], [], id="shift: nothing"),
]


@pytest.mark.parametrize("type_name, args, ins, expected", SAVED_RULES)
def test_saved_rule(type_name: str, args: dict[str, Any], ins: list[Shape], expected: list[tuple[Any, ...]]) -> None:
    layer = lookup(type_name).model_validate(args)  # type: ignore[union-attr]
    out = layer.infer(ins)
    assert [(s.ref or s.dtype, s.elements) for s in layer.saved(ins, out)] == expected


def after_conv(items: list[dict[str, Any]], shape: Shape = (4, 8, 8)) -> str:
    """A conv (so the layer's input needs gradients), then ``items``."""
    return network_text(list(shape), [{f"conv{len(shape) - 1}d": {"out_channels": shape[0], "kernel_size": 3,
                                                                  "padding": 1}}, *items])


def cnncalc_saved(text: str, batch: int) -> int:
    from cnncalc.memory import MemoryModel

    return MemoryModel(build(spec.load("case.yaml", text=text)), optimizer="sgd").estimate(batch).saved


def torch_saved(model: Any, shape: Shape, batch: int) -> int:
    import torch
    from test_memory_torch import measure

    torch.manual_seed(0)
    return measure.saved_bytes(model, torch.randn(batch, *shape))


@pytest.mark.torch
@pytest.mark.parametrize("typ, args, shape, out, params, buffers, macs, flops", CASES)
@pytest.mark.parametrize("batch", [2, 3])
def test_saves_what_autograd_saves(typ: str, args: Any, shape: list[int], out: list[int], params: int,
                                   buffers: int, macs: int, flops: int, batch: int) -> None:
    torch = pytest.importorskip("torch")
    if len(shape) > 4:
        pytest.skip("no convolution of this rank")
    conv = getattr(torch.nn, f"Conv{len(shape) - 1}d" if len(shape) > 1 else "Linear")
    first = conv(shape[0], shape[0], 3, padding=1) if len(shape) > 1 else conv(shape[0], shape[0])
    text = network_text(shape, [{f"conv{len(shape) - 1}d": {"out_channels": shape[0], "kernel_size": 3,
                                                            "padding": 1}} if len(shape) > 1 else
                                 {"linear": {"out_features": shape[0]}}, {typ: args}])
    model = torch.nn.Sequential(first, twin(typ, args, tuple(shape)))
    assert cnncalc_saved(text, batch) == torch_saved(model, tuple(shape), batch)


@pytest.mark.torch
@pytest.mark.parametrize("batch", [2, 3])
def test_max_keeps_indices_where_globalmaxpool_keeps_the_input(batch: int) -> None:
    """PointNet: ``torch.max(x, 2)[0]`` after a conv1d keeps int64 indices, global max pooling the map too."""
    torch = pytest.importorskip("torch")
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
            modules.append(twin("mean", {**args, "dim": [args["dim"]] if typ == "max" else args["dim"]}, shapes[-1]))
        else:
            modules.append(twin(typ, args, shapes[-1]))
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
    types = {c.values[0] for c in CASES if c.values[0] not in ("zeropad1d", "zeropad3d")}
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
