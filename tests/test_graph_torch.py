"""Small graph networks written twice, in plain PyTorch and in the format: params, every named
module's output shape, and the receptive field from a gradient probe must agree."""

from __future__ import annotations

import textwrap
from collections import OrderedDict
from collections.abc import Callable

import pytest

torch = pytest.importorskip("torch")

import torch_reference  # noqa: E402
from torch import nn  # noqa: E402

import cnncalc  # noqa: E402

pytestmark = pytest.mark.torch


class Residual(nn.Module):
    """torchvision's BasicBlock with a strided projection."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(8, 16, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 16, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.downsample = nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False), nn.BatchNorm2d(16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + self.downsample(x))


RESIDUAL = """
    input: [8, 32, 32]
    layers:
      - conv2d: {out_channels: 16, kernel_size: 3, stride: 2, padding: 1, bias: false}
      - batchnorm2d
      - relu: {name: relu1}
      - conv2d: {out_channels: 16, kernel_size: 3, padding: 1, bias: false}
      - batchnorm2d
      - sequential:
          name: downsample
          from: input
          layers:
            - conv2d: {out_channels: 16, kernel_size: 1, stride: 2, bias: false}
            - batchnorm2d
      - add: {from: [bn2, downsample]}
      - relu: {name: relu}
"""


class Inception(nn.Module):
    """Four branches concatenated: 1x1 | 1x1, 3x3 | 1x1, 5x5 | 3x3 average pool, 1x1."""

    def __init__(self) -> None:
        super().__init__()
        self.branch1 = nn.Conv2d(16, 8, 1)
        self.branch2 = nn.Sequential(nn.Conv2d(16, 8, 1), nn.ReLU(), nn.Conv2d(8, 12, 3, padding=1))
        self.branch3 = nn.Sequential(nn.Conv2d(16, 4, 1), nn.ReLU(), nn.Conv2d(4, 6, 5, padding=2))
        self.branch4 = nn.Sequential(nn.AvgPool2d(3, 1, 1), nn.Conv2d(16, 5, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


INCEPTION = """
    input: [16, 24, 24]
    layers:
      - conv2d: {name: branch1, out_channels: 8, kernel_size: 1}
      - sequential:
          name: branch2
          from: input
          layers:
            - conv2d: {out_channels: 8, kernel_size: 1}
            - relu
            - conv2d: {out_channels: 12, kernel_size: 3, padding: 1}
      - sequential:
          name: branch3
          from: input
          layers:
            - conv2d: {out_channels: 4, kernel_size: 1}
            - relu
            - conv2d: {out_channels: 6, kernel_size: 5, padding: 2}
      - sequential:
          name: branch4
          from: input
          layers:
            - avgpool2d: {kernel_size: 3, stride: 1, padding: 1}
            - conv2d: {out_channels: 5, kernel_size: 1}
      - concat: {name: cat, from: [branch1, branch2, branch3, branch4]}
"""


class SqueezeExcite(nn.Module):
    """A 3x3 conv gated per channel by squeeze-excitation (torchvision.ops.SqueezeExcitation)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(16, 32, 3, padding=1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(32, 8, 1)
        self.activation = nn.ReLU()
        self.fc2 = nn.Conv2d(8, 32, 1)
        self.scale_activation = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return s * x


SQUEEZE_EXCITE = """
    input: [16, 12, 12]
    layers:
      - conv2d: {name: conv, out_channels: 32, kernel_size: 3, padding: 1}
      - adaptiveavgpool2d: {name: avgpool, output_size: 1}
      - conv2d: {name: fc1, out_channels: 8, kernel_size: 1}
      - relu: {name: activation}
      - conv2d: {name: fc2, out_channels: 32, kernel_size: 1}
      - sigmoid: {name: scale_activation}
      - multiply: {name: mul, from: [scale_activation, conv]}
"""


class DenseLayer(nn.Module):
    """BN-ReLU-1x1-BN-ReLU-3x3, the new features appended to the input."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(cin, 16, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(16)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 4, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))], 1)


def dense_block() -> nn.Module:
    return nn.Sequential(OrderedDict((f"denselayer{i + 1}", DenseLayer(8 + 4 * i)) for i in range(3)))


DENSE = """
    input: [8, 16, 16]
    blocks:
      denselayer:
        layers:
          - batchnorm2d: {name: norm1}
          - relu
          - conv2d: {out_channels: 16, kernel_size: 1, bias: false}
          - batchnorm2d: {name: norm2}
          - relu
          - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, bias: false}
          - concat: {name: cat, from: [input, conv2]}
    layers:
      - denselayer: {repeat: 3}
"""

# torch module, description, layer whose field is probed
CASES: list[tuple[Callable[[], nn.Module], str, str]] = [
    (Residual, RESIDUAL, "relu"),
    (Inception, INCEPTION, "cat"),
    (SqueezeExcite, SQUEEZE_EXCITE, "mul"),
    (dense_block, DENSE, "denselayer3.cat"),
]
IDS = ["residual block", "inception concat", "squeeze-excitation", "dense block"]


def probe(model: nn.Module, shape: tuple[int, ...], module: nn.Module | None) -> list[int | None]:
    """Extent, per spatial axis, of the input pixels the centre unit of ``module``'s output
    (summed over its channels) depends on; None where that is every pixel. Every weight is a
    small positive constant and the input positive, in double precision, so no path cancels, is
    cut by a ReLU or vanishes in a saturated sigmoid."""
    model.eval().double()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.05)
    x = (torch.rand(1, *shape, dtype=torch.float64) + 0.5).requires_grad_()
    captured: list[torch.Tensor] = []
    target = module if module is not None else model
    handle = target.register_forward_hook(lambda m, i, o: captured.append(o))
    model(x)
    handle.remove()
    out = captured[-1]
    centre = tuple(n // 2 for n in out.shape[2:])
    out[(0, slice(None), *centre)].sum().backward()
    used = x.grad[0].abs().sum(0)
    extents: list[int | None] = []
    for axis in range(used.dim()):
        other = [a for a in range(used.dim()) if a != axis]
        hit = used.sum(other).nonzero().flatten()
        size = int(hit.max() - hit.min()) + 1
        extents.append(None if size == used.shape[axis] else size)
    return extents


@pytest.mark.parametrize(("build", "text", "probed"), CASES, ids=IDS)
def test_small_graph_against_torch(build: Callable[[], nn.Module], text: str, probed: str) -> None:
    torch.manual_seed(0)
    model = build()
    report = cnncalc.analyse(cnncalc.load("net.yaml", text=textwrap.dedent(text)))
    shape = report.input_shape
    assert report.totals.params == torch_reference.count_params(model)
    ours = {row.name: row for row in report.layers}
    theirs = torch_reference.output_shapes(model, shape)
    assert set(theirs) <= set(ours)
    for name, out in theirs.items():
        assert ours[name].output_shape == out, name
    with torch.no_grad():
        final = model(torch.zeros(1, *shape))
    assert report.totals.output_shape == tuple(final.shape[1:])
    # the field over all paths, against a gradient probe of the same layer
    module = dict(model.named_modules()).get(probed)
    field = ours[probed].rf
    expected = [a.size for a in field.axes]
    assert probe(model, shape, module) == expected
