"""The real tools print what cnncalc's conventions say (each test is skipped when its tool is missing).

- On ResNet-50 at 224 (torch_reference's plain-torch copy of torchvision's model) every tool
  prints the number of the issue's table, and cnncalc's convention reproduces it.
- On other zoo networks (at 112×112, to be quick: the rules do not depend on the input size) the
  tool on the plain-torch model equals the convention on the bundled description.
- On the module ``cnncalc export`` writes for random networks that use every layer type, the tool
  equals the convention, layer type by layer type.
- Where torchvision applies a layer as a function, not a module, the tools that count modules see
  it differently; the differences are exactly the documented ones.

Measured with torch 2.13.0 CPU, torchinfo 1.8.0, fvcore 0.1.5.post20221221, ptflops 0.7.5 and
thop 0.1.1.post2209072238.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from random_networks import GENERATORS

from cnncalc import analyse, spec
from cnncalc.conventions import CONVENTIONS

torch = pytest.importorskip("torch")

import peers  # noqa: E402
import torch_reference as ref  # noqa: E402
from test_conventions import RESNET50  # noqa: E402
from test_torch_differential import exported, random_graph  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore")]  # the tools warn about themselves

SMALL = (3, 112, 112)


def tool(convention: str) -> Callable[[Any, tuple[int, ...]], int]:
    package, run = peers.TOOLS[convention]
    pytest.importorskip(package)
    return run


def printed(report: Any) -> int:
    """The figure the tool prints: FLOPs for FlopCounterMode, MACs for the others."""
    return report.totals.flops if report.convention == "torch" else report.totals.macs


@pytest.mark.parametrize(("convention", "number"), RESNET50)
def test_resnet50_table(convention: str, number: int) -> None:
    build, shape = ref.BUILDERS["resnet50"]
    assert tool(convention)(build(), shape) == number == printed(analyse(spec.load("resnet50"), convention=convention))


ZOO = ["squeezenet1_1", "mobilenet_v3_small", "efficientnet_b0", "regnet_y_400mf", "convnext_tiny"]


@pytest.mark.parametrize("convention", list(CONVENTIONS))
@pytest.mark.parametrize("name", ZOO)
def test_zoo_network(name: str, convention: str) -> None:
    run = tool(convention)
    report = analyse(spec.load(name), input_shape=SMALL, convention=convention)
    assert run(ref.BUILDERS[name][0](), SMALL) == printed(report)


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_exported_random_networks(convention: str) -> None:
    run = tool(convention)
    for seed in range(len(GENERATORS)):  # every layer type, first in one of them
        graph = random_graph(seed)
        assert run(exported(graph), graph.input_shape) == printed(analyse(graph, convention=convention)), seed


def _pooled(name: str) -> tuple[int, int]:
    """Channels and positions of the map a network pools globally at the end (at SMALL)."""
    report = analyse(spec.load(name), input_shape=SMALL)
    (pool,) = [r for r in report.layers if r.type in ("adaptiveavgpool2d", "globalavgpool")]
    c, h, w = pool.input_shapes[0]
    return c, h * w


# torchvision's MobileNet v2 pools with F.adaptive_avg_pool2d, ShuffleNet v2 with x.mean([2, 3]):
# thop has no module to hook (its rule: (positions + 1)·C); ptflops counts the patched function
# once instead of module hook + function (mean: neither); fvcore sees aten::mean, which it skips
FUNCTIONAL_POOL = [
    pytest.param("mobilenet_v2", "thop", lambda c, n: -(n + 1) * c, id="mobilenet_v2 thop"),
    pytest.param("mobilenet_v2", "ptflops", lambda c, n: -n * c, id="mobilenet_v2 ptflops"),
    pytest.param("mobilenet_v2", "fvcore", lambda c, n: 0, id="mobilenet_v2 fvcore (traces the same op)"),
    pytest.param("shufflenet_v2_x1_0", "thop", lambda c, n: -(n + 1) * c, id="shufflenet thop"),
    pytest.param("shufflenet_v2_x1_0", "ptflops", lambda c, n: -2 * n * c, id="shufflenet ptflops"),
    pytest.param("shufflenet_v2_x1_0", "fvcore", lambda c, n: -n * c, id="shufflenet fvcore"),
    pytest.param("shufflenet_v2_x1_0", "torchinfo", lambda c, n: 0, id="shufflenet torchinfo (no parameters)"),
]


@pytest.mark.parametrize(("name", "convention", "difference"), FUNCTIONAL_POOL)
def test_functional_pooling(name: str, convention: str, difference: Callable[[int, int], int]) -> None:
    run = tool(convention)
    report = analyse(spec.load(name), input_shape=SMALL, convention=convention)
    assert run(ref.BUILDERS[name][0](), SMALL) - printed(report) == difference(*_pooled(name))
