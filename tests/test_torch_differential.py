"""Differential tests: the module ``cnncalc export --to pytorch`` writes, run by PyTorch, against cnncalc.

For every bundled network (at its declared input) and for seeded random networks that use every
layer type and graph construct, the exported module is built and run on a zero batch of one.
The random networks run on the CPU; the bundled ones on the meta device, which propagates shapes
and dispatches the same operators without computing values (seconds less per network):

- its parameters and float buffers, in total and per layer, equal cnncalc's;
- its leaf modules are cnncalc's layers, in report order, and each one's output shape (forward
  hook) is the one cnncalc infers;
- each layer's MACs counted by a forward hook (conv ``out_numel·C_in/groups·k``, transposed
  ``in_numel·C_out/groups·k``, linear ``out_numel·in_features``) equal cnncalc's MACs;
- FlopCounterMode's total equals cnncalc's FLOPs under the ``torch`` convention (2·MACs of
  convolutions and linear layers).

The random networks are also trained one step (autograd accepts every in-place layer the export
kept) and compute on random values what they compute with every in-place layer switched off.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from random_networks import GENERATORS, random_network

from cnncalc import analyse, spec
from cnncalc.export import to_pytorch
from cnncalc.graph import Graph, build
from cnncalc.layers import REGISTRY

torch = pytest.importorskip("torch")
import torch_reference as ref  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

pytestmark = pytest.mark.torch

#: Twice the layer types: each random network starts with one type in turn (see random_network).
RANDOM_SEEDS = range(2 * len(GENERATORS))


def exported(graph: Graph) -> Any:
    """The exported module, built (on the default device) and in eval mode."""
    namespace: dict[str, Any] = {}
    exec(compile(to_pytorch(graph), "<export>", "exec"), namespace)
    return namespace["Model"]().eval()


def random_graph(seed: int) -> Graph:
    return build(spec.load(f"random{seed}.yaml", text=yaml.safe_dump(random_network(seed), sort_keys=False)))


def leaves(model: Any) -> dict[str, Any]:
    return {n: m for n, m in model.named_modules() if n and next(m.children(), None) is None}


def compare(graph: Graph, device: str) -> None:
    with torch.device(device):
        measure(graph)


def measure(graph: Graph) -> None:
    report = analyse(graph)
    model = exported(graph)
    modules = leaves(model)
    assert list(modules) == [r.name for r in report.layers]
    for row in report.layers:
        m = modules[row.name]
        assert sum(p.numel() for p in m.parameters()) == row.params, row.name
        assert sum(b.numel() for b in m.buffers() if b.is_floating_point()) == row.buffers, row.name
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    shapes = ref.output_shapes(model, graph.input_shape)
    assert {r.name: tuple(r.output_shape) for r in report.layers} == shapes
    macs = ref.macs_by_module(model, graph.input_shape)
    assert {r.name: r.macs for r in report.layers if r.macs} == {k: v for k, v in macs.items() if v}
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, *graph.input_shape))
    assert counter.get_total_flops() == analyse(graph, convention="torch").totals.flops == 2 * report.totals.macs


@pytest.mark.parametrize("name", sorted(spec.bundled()))
def test_bundled_network_agrees_with_pytorch(name: str) -> None:
    compare(build(spec.load(name)), "meta")


def trainable(graph: Graph) -> None:
    model = exported(graph)
    # the input needs a gradient too: every layer's backward runs (and torch 2.13 CPU crashes in
    # GroupNorm's backward for a channels-last input that needs none)
    x = torch.randn(1, *graph.input_shape, generator=torch.Generator().manual_seed(0), requires_grad=True)
    out = model(x)
    out.sum().backward()
    for m in model.modules():
        if getattr(m, "inplace", False):
            m.inplace = False
    with torch.no_grad():
        # equal to the bit, NaN included (a max pool's padding can reach a GELU as −inf)
        torch.testing.assert_close(model(x), out.detach(), rtol=0, atol=0, equal_nan=True)


def test_random_networks_use_every_layer_type() -> None:
    used = {node.layer.type_name for seed in RANDOM_SEEDS for node in random_graph(seed).nodes}
    assert used == set(REGISTRY)


@pytest.mark.parametrize("seed", RANDOM_SEEDS, ids=lambda s: f"random-{s}")
def test_random_network_agrees_with_pytorch(seed: int) -> None:
    graph = random_graph(seed)
    compare(graph, "cpu")
    trainable(graph)
