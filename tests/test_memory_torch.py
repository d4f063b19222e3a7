"""cnncalc's saved activations against what PyTorch's autograd really saves.

``benchmarks/measure_memory.py`` records every tensor autograd saves during a training forward
pass (``saved_tensors_hooks``), each storage once, plus the output the loss keeps. cnncalc's
"saved activations" must equal it to the byte, at two batch sizes (so that per-step figures,
such as BatchNorm's statistics, are told apart from per-sample ones).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import layers
import pytest
from conftest import measure_memory, network_text

torch = pytest.importorskip("torch")
nn = torch.nn

from cnncalc import spec  # noqa: E402
from cnncalc.graph import build  # noqa: E402
from cnncalc.memory import MemoryModel  # noqa: E402

pytestmark = pytest.mark.torch

measure = measure_memory()


def cnncalc_saved(text: str, batch: int, **kw: object) -> int:
    """cnncalc's saved activations of a network given as YAML text."""
    graph = build(spec.load("case.yaml", text=text))
    return MemoryModel(graph, optimizer="sgd", **kw).estimate(batch).saved  # type: ignore[arg-type]


def torch_saved(model: nn.Module, shape: tuple[int, ...], batch: int, amp: object = None) -> int:
    """What autograd saves for ``model`` on a random batch."""
    torch.manual_seed(0)
    return measure.saved_bytes(measure.cuda_dropout(model), torch.randn(batch, *shape), amp=amp)


def after_conv(layer_yaml: str, c: int = 4, hw: int = 8) -> str:
    """input [c, hw, hw] → conv 3x3 → the layer (so that the layer's input requires grad)."""
    return (f"name: case\ninput: [{c}, {hw}, {hw}]\nlayers:\n"
            f"  - conv2d: {{out_channels: {c}, kernel_size: 3, padding: 1}}\n  - {layer_yaml}\n")


def conv_then(module: nn.Module, c: int = 4) -> nn.Module:
    """The torch twin of :func:`after_conv`."""
    return nn.Sequential(nn.Conv2d(c, c, 3, padding=1), module)


SINGLE = layers.table("AUTOGRAD")  # every family's cases (tests/layers)


@pytest.mark.parametrize("layer, module", SINGLE)
@pytest.mark.parametrize("batch", [2, 3])
def test_layer_saves_what_autograd_saves(layer: str, module: Callable[[Any], nn.Module], batch: int) -> None:
    assert cnncalc_saved(after_conv(layer), batch) == torch_saved(conv_then(module(nn)), (4, 8, 8), batch)


@pytest.mark.parametrize("typ, args, shape, out, params, buffers, macs, flops", layers.table("CASES"))
@pytest.mark.parametrize("batch", [2, 3])
def test_every_case_saves_what_autograd_saves(typ: str, args: Any, shape: list[int], out: list[int], params: int,
                                             buffers: int, macs: int, flops: int, batch: int) -> None:
    """Each arithmetic case after a conv (or linear) that makes its input need gradients, against its twin."""
    if len(shape) > 4:
        pytest.skip("no convolution of this rank")
    a = dict(args or {})
    conv = getattr(nn, f"Conv{len(shape) - 1}d" if len(shape) > 1 else "Linear")
    first = conv(shape[0], shape[0], 3, padding=1) if len(shape) > 1 else conv(shape[0], shape[0])
    text = network_text(shape, [{f"conv{len(shape) - 1}d": {"out_channels": shape[0], "kernel_size": 3,
                                                            "padding": 1}} if len(shape) > 1 else
                                 {"linear": {"out_features": shape[0]}}, {typ: a}])
    model = nn.Sequential(first, layers.mapping("TWINS")[typ](a, tuple(shape)))
    assert cnncalc_saved(text, batch) == torch_saved(model, tuple(shape), batch)


def test_layernorm2d_and_linear_on_the_last_axis() -> None:
    text = ("name: case\ninput: [4, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}\n"
            "  - layernorm2d\n  - linear: {out_features: 5, in_features: 8}\n")
    import torch_reference

    model = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), torch_reference.LayerNorm2d(4, eps=1e-6), nn.Linear(8, 5))
    for batch in (2, 3):
        assert cnncalc_saved(text, batch) == torch_saved(model, (4, 8, 8), batch)


class Residual(nn.Module):
    """conv → bn → relu (in place) → conv → bn, plus the input, → relu (in place)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: object) -> object:
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + x)


class Branches(nn.Module):
    """Concat of two convs, times a squeeze-excitation gate, times a third branch."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 3, padding=1)
        self.fc = nn.Conv2d(2 * c, 2 * c, 1)
        self.d = nn.Conv2d(c, 2 * c, 1)

    def forward(self, x: object) -> object:
        y = torch.cat([self.a(x), self.b(x)], 1)
        gate = torch.sigmoid(self.fc(y.mean((2, 3), keepdim=True)))
        return y * gate * self.d(x)


GRAPHS = [
    pytest.param(
        """
name: residual
input: [4, 8, 8]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: stem}
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, bias: false}
  - batchnorm2d
  - relu: {inplace: true}
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, bias: false}
  - batchnorm2d
  - add: {from: [bn2, stem]}
  - relu: {inplace: true}
""",
        lambda: nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), Residual(4)), id="residual block"),
    pytest.param(
        """
name: branches
input: [4, 8, 8]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: stem}
  - conv2d: {out_channels: 4, kernel_size: 1, name: a}
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: b, from: stem}
  - concat: {from: [a, b], name: y}
  - globalavgpool
  - conv2d: {out_channels: 8, kernel_size: 1, name: fc}
  - sigmoid: {name: gate}
  - conv2d: {out_channels: 8, kernel_size: 1, name: d, from: stem}
  - multiply: {from: [y, gate, d]}
""",
        lambda: nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), Branches(4)), id="concat, gate and 3-way multiply"),
]


@pytest.mark.parametrize("text, make", GRAPHS)
@pytest.mark.parametrize("batch", [2, 3])
def test_graph_saves_what_autograd_saves(text: str, make: Callable[[], nn.Module], batch: int) -> None:
    assert cnncalc_saved(text, batch) == torch_saved(make(), (4, 8, 8), batch)


def _zoo() -> list[str]:
    """Bundled networks that have a plain-torch twin in tests/torch_reference.py."""
    import torch_reference

    return [n for n in torch_reference.BUILDERS if n in spec.bundled()]


@pytest.mark.parametrize("name", _zoo())
def test_bundled_network_saves_what_its_torch_twin_saves(name: str) -> None:
    model, shape = measure.build(name)
    if shape[1:] == (224, 224):
        shape = (shape[0], 112, 112)  # faster; every tensor scales the same way
    torch.manual_seed(0)
    storages = measure.saved_storages(model, torch.randn(2, *shape))["storages"].values()
    modules = dict(model.named_modules())
    # stochastic depth is the identity in the descriptions (as at inference); in training it
    # keeps one random value per sample, which is set aside here
    measured = sum(n for n, _, m in storages if type(modules.get(m)).__name__ != "StochasticDepth")
    graph = build(spec.load(name), shape)
    assert MemoryModel(graph, optimizer="sgd").estimate(2).saved == measured


def test_autocast_saves_low_precision_copies() -> None:
    # CPU autocast (bf16) treats conv, linear, batchnorm, relu and pooling as CUDA's does:
    # the fp32 input batch and the conv/linear weights are cast, and the casts are saved
    text = """
name: amp
input: [3, 16, 16]
layers:
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - batchnorm2d
  - relu: {inplace: true}
  - maxpool2d: {kernel_size: 2}
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - relu
  - flatten
  - linear: {out_features: 10}
"""
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(True), nn.MaxPool2d(2),
                          nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(512, 10))
    for batch in (2, 5):
        expected = torch_saved(model, (3, 16, 16), batch, amp=torch.bfloat16)
        assert cnncalc_saved(text, batch, dtype="bf16", amp=True) == expected
