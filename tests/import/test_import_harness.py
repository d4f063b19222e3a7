"""The exactness harness itself: it passes a description that is exact, and names each way one is not.

Until a description comes from ``cnncalc import``, the exact ones are the bundled networks beside
their plain-PyTorch twins (``tests/torch_reference.py``), and small hand-written pairs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import import_harness as harness  # noqa: E402
import torch_reference as ref  # noqa: E402
from torch import nn  # noqa: E402

from cnncalc import spec  # noqa: E402

pytestmark = pytest.mark.torch

#: Bundled networks with a twin, chosen for their variety: residual, dense concat, squeeze-excitation
#: with stochastic depth, channel shuffle, layer scale with channels-last LayerNorm, Inception branches.
TWINS = ["resnet50", "densenet121", "efficientnet_b0", "shufflenet_v2_x1_0", "convnext_tiny", "googlenet",
         "mobilenet_v3_small"]


@pytest.mark.parametrize("name", TWINS)
def test_bundled_description_is_exact_for_its_twin(name: str, tmp_path: Path) -> None:
    build, shape = ref.BUILDERS[name]
    model = harness.on_meta(build)
    # hand-written: a module called several times is one row, named for its last call
    harness.assert_exact(model, shape, spec.bundled()[name].read_text(encoding="utf-8"), tmp_path, last_only=True)


class Block(nn.Module):
    """conv → bn → relu → conv, plus the input; the pieces each mutation below changes."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, groups=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.relu(self.bn1(self.conv1(x)))) + x
        return self.fc(torch.flatten(self.pool(y), 1))


BLOCK = """\
input: [8, 16, 16]
layers:
  - conv2d: {name: conv1, out_channels: 8, kernel_size: 3, padding: 1, bias: false}
  - batchnorm2d: {name: bn1}
  - relu: {name: relu}
  - conv2d: {name: conv2, out_channels: 8, kernel_size: 3, padding: 1, groups: 2}
  - add: {from: [conv2, input]}
  - adaptiveavgpool2d: {name: pool, output_size: 1}
  - flatten
  - linear: {name: fc, out_features: 10}
"""


def test_exact_pair_passes(tmp_path: Path) -> None:
    harness.assert_exact(harness.on_meta(Block), (8, 16, 16), BLOCK, tmp_path)


#: conv1 8·8·9, bn1 2·8, conv2 8·4·9 + 8, fc 8·10 + 10
PARAMS = 8 * 8 * 9 + 2 * 8 + 8 * 4 * 9 + 8 + 8 * 10 + 10
#: one [2, 8, 16, 16] fp32 tensor
MAP = 2 * 8 * 16 * 16 * 4
#: what autograd keeps at batch 2: bn1 its input and 2·8 statistics, relu its output (conv2's input),
#: fc its [2, 8] input, and the loss the [2, 10] output
SAVED = MAP + 2 * 8 * 4 + MAP + 2 * 8 * 4 + 2 * 10 * 4

MUTATIONS = [
    pytest.param("bias: false}\n  - batchnorm2d", "bias: true}\n  - batchnorm2d",
                 [f"params: cnncalc {PARAMS + 8:,}, PyTorch {PARAMS:,}",
                  f"export: the exported module has {PARAMS + 8:,} parameters"], id="a bias too many"),
    pytest.param("batchnorm2d: {name: bn1}", "batchnorm2d: {name: bn1, track_running_stats: false}",
                 ["buffers: cnncalc 0, PyTorch 16"], id="running statistics left out"),
    pytest.param("{name: pool, output_size: 1}", "{name: pool2, output_size: 1}",
                 ["shape: no row for the module 'pool' (AdaptiveAvgPool2d)"], id="a module without its row"),
    pytest.param("groups: 2}", "groups: 1}",
                 [f"MACs: 'conv2' cnncalc {16 * 16 * 8 * 8 * 9:,}, hook {16 * 16 * 8 * 4 * 9:,}", "MACs: total",
                  "torch FLOPs", "params"], id="groups forgotten"),
    pytest.param("relu: {name: relu}", "relu6: {name: relu}",
                 # relu6 keeps its input, bn1's output, which nothing else keeps
                 [f"saved activations at batch 2: cnncalc {SAVED + MAP:,} B, autograd {SAVED:,} B"],
                 id="relu6 for relu"),
]


@pytest.mark.parametrize("old, new, expected", MUTATIONS)
def test_each_difference_is_named(old: str, new: str, expected: list[str], tmp_path: Path) -> None:
    assert old in BLOCK
    found = harness.problems(harness.on_meta(Block), (8, 16, 16), BLOCK.replace(old, new), tmp_path)
    for text in expected:
        assert any(text in p for p in found), (text, found)


class Attention(nn.Module):
    """Two matrix products between activations: the hooks see the linear layers, not them."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.qkv = nn.Linear(c, 3 * c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        return torch.softmax(q @ k.transpose(-2, -1), dim=-1) @ v


def test_matrix_products_between_activations_are_counted() -> None:
    # [1, 5, 8] tokens: qkv 5·8·24; q @ kᵀ 5·8·5; attention @ v 5·5·8
    model = harness.on_meta(Attention)
    assert ref.conv_linear_macs(model, (5, 8)) == 5 * 8 * 24
    assert harness.functional_macs(model, (5, 8)) == 5 * 8 * 5 + 5 * 5 * 8
    assert harness.torch_flops(model, (5, 8)) == 2 * (5 * 8 * 24 + 5 * 8 * 5 + 5 * 5 * 8)


def test_attention_is_counted_on_the_unfused_kernel() -> None:
    # FlopCounterMode counts the CPU's fused kernel as 0; on the math kernel, its two products:
    # q @ kᵀ and attention @ v, 2·(L·S·E + L·S·Ev) per head
    class SDPA(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.scaled_dot_product_attention(x, x, x)

    for device in ("cpu", "meta"):
        with torch.device(device):
            model = SDPA()
        assert harness.torch_flops(model, (2, 6, 4)) == 2 * 2 * (6 * 6 * 4 + 6 * 6 * 4), device
        assert harness.functional_macs(model, (2, 6, 4)) == 2 * (6 * 6 * 4 + 6 * 6 * 4), device


def test_models_that_compute_in_their_constructor_are_built_on_meta() -> None:
    class Computes(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            width = int(torch.round(torch.tensor(7.6)).item())  # RegNet's widths are computed so
            self.conv = nn.Conv2d(3, width, 1)

    model = harness.on_meta(Computes)
    assert model.conv.weight.device.type == "meta"
    assert model.conv.out_channels == 8


def test_functional_convolutions_are_counted_as_the_hooks_count_modules() -> None:
    class Functional(nn.Module):
        """A weight-standardised conv (NF-Net) and a transposed one, called functionally."""

        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(6, 2, 3, 3))  # groups 2: [C_out, C_in/g, k, k]
            self.up = nn.Parameter(torch.ones(6, 3, 2, 2))  # transposed: [C_in, C_out/g, k, k]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            w = (self.weight - self.weight.mean((1, 2, 3), keepdim=True)) / self.weight.std((1, 2, 3), keepdim=True)
            y = nn.functional.conv2d(x, w, groups=2)
            return nn.functional.conv_transpose2d(y, self.up, stride=2)

    # conv: out 6·6·6 positions · C_in/g 2 · k 9; transposed: in 6·6·6 · C_out/g 3 · k 4
    assert harness.functional_macs(harness.on_meta(Functional), (4, 8, 8)) == 6 * 6 * 6 * 2 * 9 + 6 * 6 * 6 * 3 * 4


def test_functional_dropout_keeps_cuda_s_one_byte_mask() -> None:
    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.dropout(self.conv(x), 0.2, self.training)

    # batch 2 of [4, 6, 6]: the mask, one byte an element, and the fp32 output the loss keeps (the
    # conv keeps only the input batch, which is not counted); the CPU's float mask would be 4 bytes
    elements = 2 * 4 * 6 * 6
    for device in ("cpu", "meta"):
        with torch.device(device):
            model = Head()
        assert harness.saved_bytes(model, (3, 8, 8), 2) == elements * 1 + elements * 4, device
