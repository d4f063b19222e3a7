"""cnncalc's saved activations against what PyTorch's autograd really saves.

``benchmarks/measure_memory.py`` records every tensor autograd saves during a training forward
pass (``saved_tensors_hooks``), each storage once, plus the output the loss keeps. cnncalc's
"saved activations" must equal it to the byte, at two batch sizes (so that per-step figures,
such as BatchNorm's statistics, are told apart from per-sample ones).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from cnncalc import spec  # noqa: E402
from cnncalc.graph import build  # noqa: E402
from cnncalc.memory import MemoryModel  # noqa: E402

pytestmark = pytest.mark.torch

_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "measure_memory.py"
_spec = importlib.util.spec_from_file_location("measure_memory", _SCRIPT)
measure = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(measure)  # type: ignore[union-attr]


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


class LayerScale(nn.Module):
    """x·γ with a learnable γ of shape [C, 1, 1] (ConvNeXt)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(c, 1, 1))

    def forward(self, x: object) -> object:
        return x * self.gamma


SINGLE = [
    pytest.param("conv2d: {out_channels: 6, kernel_size: 3}", nn.Conv2d(4, 6, 3), id="conv2d"),
    pytest.param("conv2d: {out_channels: 6, kernel_size: 3, padding: 1, padding_mode: reflect}",
                 nn.Conv2d(4, 6, 3, padding=1, padding_mode="reflect"), id="conv2d reflect"),
    pytest.param("conv2d: {out_channels: 6, kernel_size: 3, padding: 1, padding_mode: circular}",
                 nn.Conv2d(4, 6, 3, padding=1, padding_mode="circular"), id="conv2d circular"),
    pytest.param("conv2d: {out_channels: 6, kernel_size: 4, padding: same}", nn.Conv2d(4, 6, 4, padding="same"),
                 id="conv2d same even kernel"),
    pytest.param("conv2d: {out_channels: 4, kernel_size: 3, groups: 4}", nn.Conv2d(4, 4, 3, groups=4),
                 id="depthwise"),
    pytest.param("convtranspose2d: {out_channels: 6, kernel_size: 2, stride: 2}",
                 nn.ConvTranspose2d(4, 6, 2, 2), id="convtranspose2d"),
    pytest.param("batchnorm2d", nn.BatchNorm2d(4), id="batchnorm2d"),
    pytest.param("batchnorm2d: {affine: false, track_running_stats: false}",
                 nn.BatchNorm2d(4, affine=False, track_running_stats=False), id="batchnorm2d plain"),
    pytest.param("instancenorm2d", nn.InstanceNorm2d(4), id="instancenorm2d"),
    pytest.param("instancenorm2d: {affine: true, track_running_stats: true}",
                 nn.InstanceNorm2d(4, affine=True, track_running_stats=True), id="instancenorm2d affine tracked"),
    pytest.param("layernorm", nn.LayerNorm(8), id="layernorm last axis"),
    pytest.param("layernorm: {normalized_shape: [8, 8]}", nn.LayerNorm([8, 8]), id="layernorm 2 axes"),
    pytest.param("groupnorm: {num_groups: 2}", nn.GroupNorm(2, 4), id="groupnorm"),
    pytest.param("lrn: {size: 3}", nn.LocalResponseNorm(3), id="local response norm"),
    pytest.param("relu", nn.ReLU(), id="relu"),
    pytest.param("relu: {inplace: true}", nn.ReLU(inplace=True), id="relu inplace"),
    pytest.param("relu6", nn.ReLU6(), id="relu6"),
    pytest.param("relu6: {inplace: true}", nn.ReLU6(inplace=True), id="relu6 inplace"),
    pytest.param("leakyrelu: {inplace: true}", nn.LeakyReLU(inplace=True), id="leakyrelu inplace"),
    pytest.param("elu", nn.ELU(), id="elu"),
    pytest.param("elu: {inplace: true}", nn.ELU(inplace=True), id="elu inplace"),
    pytest.param("sigmoid", nn.Sigmoid(), id="sigmoid"),
    pytest.param("tanh", nn.Tanh(), id="tanh"),
    pytest.param("silu", nn.SiLU(), id="silu"),
    pytest.param("silu: {inplace: true}", nn.SiLU(inplace=True), id="silu inplace"),
    pytest.param("hardsigmoid: {inplace: true}", nn.Hardsigmoid(inplace=True), id="hardsigmoid inplace"),
    pytest.param("hardswish", nn.Hardswish(), id="hardswish"),
    pytest.param("hardswish: {inplace: true}", nn.Hardswish(inplace=True), id="hardswish inplace"),
    pytest.param("gelu: {approximate: tanh}", nn.GELU("tanh"), id="gelu"),
    pytest.param("prelu: {num_parameters: 4}", nn.PReLU(4), id="prelu"),
    pytest.param("softmax: {dim: 1}", nn.Softmax(1), id="softmax"),
    pytest.param("maxpool2d: {kernel_size: 3, stride: 2, padding: 1}", nn.MaxPool2d(3, 2, 1), id="maxpool2d"),
    pytest.param("avgpool2d: {kernel_size: 2}", nn.AvgPool2d(2), id="avgpool2d"),
    pytest.param("adaptiveavgpool2d: {output_size: 1}", nn.AdaptiveAvgPool2d(1), id="adaptive avg to 1"),
    pytest.param("adaptiveavgpool2d: {output_size: 3}", nn.AdaptiveAvgPool2d(3), id="adaptive avg to 3"),
    pytest.param("adaptivemaxpool2d: {output_size: 3}", nn.AdaptiveMaxPool2d(3), id="adaptive max to 3"),
    pytest.param("globalavgpool", nn.AdaptiveAvgPool2d(1), id="global avg pool"),
    pytest.param("globalmaxpool", nn.AdaptiveMaxPool2d(1), id="global max pool"),
    pytest.param("dropout: {p: 0.3}", nn.Dropout(0.3), id="dropout"),
    pytest.param("dropout: {p: 0.3, inplace: true}", nn.Dropout(0.3, inplace=True), id="dropout inplace"),
    pytest.param("dropout: {p: 0.0}", nn.Dropout(0.0), id="dropout p 0"),
    pytest.param("dropout2d: {p: 0.3}", nn.Dropout2d(0.3), id="dropout2d"),
    pytest.param("alphadropout: {p: 0.3}", nn.AlphaDropout(0.3), id="alphadropout"),
    pytest.param("zeropad2d: {padding: 1}", nn.ZeroPad2d(1), id="zeropad2d"),
    pytest.param("upsample: {scale_factor: 2, mode: bilinear}", nn.Upsample(scale_factor=2, mode="bilinear"),
                 id="upsample bilinear"),
    pytest.param("pixelshuffle: {upscale_factor: 2}", nn.PixelShuffle(2), id="pixelshuffle"),
    pytest.param("pixelunshuffle: {downscale_factor: 2}", nn.PixelUnshuffle(2), id="pixelunshuffle"),
    pytest.param("channel_shuffle: {groups: 2}", nn.ChannelShuffle(2), id="channel_shuffle"),
    pytest.param("identity", nn.Identity(), id="identity"),
    pytest.param("flatten", nn.Flatten(), id="flatten"),
    pytest.param("layerscale", LayerScale(4), id="layerscale"),
]


@pytest.mark.parametrize("layer, module", SINGLE)
@pytest.mark.parametrize("batch", [2, 3])
def test_layer_saves_what_autograd_saves(layer: str, module: nn.Module, batch: int) -> None:
    assert cnncalc_saved(after_conv(layer), batch) == torch_saved(conv_then(module), (4, 8, 8), batch)


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
