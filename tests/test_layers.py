"""Each layer type's rules, table-driven, with expectations written as arithmetic.

The cases live with their family (tests/layers/test_<family>.py, collected by tests/layers).
Every case also runs against real PyTorch where it is installed: the family's torch twin of the
layer gives the output shape, the parameter and buffer counts, FlopCounterMode's count and the
values the module cnncalc exports computes, so the expectations are checked from outside.
"""

from __future__ import annotations

import math
from typing import Any

import layers
import pytest
from conftest import analyse_text, network_text, probe

from cnncalc import analyse, spec
from cnncalc.export import to_pytorch
from cnncalc.graph import build

CASES = layers.table("CASES")
MERGE_CASES = layers.table("MERGE_CASES")
TWINS = layers.mapping("TWINS")


@pytest.mark.parametrize("typ, args, shape, out, params, buffers, macs, flops", CASES)
def test_layer_rules(typ: str, args: Any, shape: list[int], out: list[int], params: int, buffers: int,
                     macs: int, flops: int) -> None:
    row = probe(typ, args, shape)
    assert list(row.output_shape) == out
    assert (row.params, row.buffers, row.macs, row.flops) == (params, buffers, macs, flops)
    assert row.output_elements == math.prod(out)
    assert row.output_bytes == 4 * math.prod(out)


@pytest.mark.parametrize("typ, args, shapes, out, flops", MERGE_CASES)
def test_merge_rules(typ: str, args: Any, shapes: list[list[int]], out: list[int], flops: int) -> None:
    row = merge_probe(typ, args, shapes)
    assert list(row.output_shape) == out
    assert (row.params, row.flops) == (0, flops)
    # matmul multiplies two activations: a multiply and an add per MAC; the other merges have no MACs
    assert row.macs == (flops // 2 if typ == "matmul" else 0)


def merge_probe(typ: str, args: Any, shapes: list[list[int]]) -> Any:
    """One merge layer fed by ``len(shapes)`` inputs of the given shapes (made by adaptive pooling)."""
    c_max = max(s[0] for s in shapes)
    items: list[Any] = []
    for i, s in enumerate(shapes):
        # a 1x1 conv to the channels, then adaptive pooling to the spatial size; a linear for 2-d inputs
        items.append({"conv1d" if len(s) == 2 else "conv3d" if len(s) == 4 else "conv2d":
                      {"out_channels": s[0], "kernel_size": 1, "from": "input", "name": f"c{i}"}})
        items.append({f"adaptiveavgpool{len(s) - 1}d": {"output_size": s[1:], "name": f"p{i}"}})
    items.append({typ: {**(args or {}), "from": [f"p{i}" for i in range(len(shapes))], "name": "merge"}})
    rank = max(len(s) for s in shapes)
    text = network_text([c_max] + [16] * (rank - 1), items)
    return next(r for r in analyse_text(text).layers if r.name == "merge")


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

    a = dict(args or {})
    module = TWINS[typ](a, tuple(shape)).eval()
    x = torch.randn(2, *shape)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = module(x)
    assert list(y.shape[1:]) == out
    assert sum(p.numel() for p in module.parameters()) == params
    assert sum(b.numel() for b in module.buffers() if b.is_floating_point()) == buffers
    # FlopCounterMode counts matrix products and convolutions: 2·MACs per sample
    report = analyse(spec.load("one.yaml", text=network_text(shape, [{typ: a}])), convention="torch")
    assert counter.get_total_flops() == 2 * report.totals.flops == 4 * macs
    # the exported module computes the very same values
    exported = _single(typ, a, shape).eval()
    with torch.no_grad():
        # the parameters and the buffers: a fixed filter is a buffer
        for p, q in zip([*exported.parameters(), *exported.buffers()], [*module.parameters(), *module.buffers()]):
            p.copy_(q)
        assert torch.equal(exported(x), module(x))


@pytest.mark.torch
@pytest.mark.parametrize("typ, args, shapes, out, flops", MERGE_CASES)
def test_merge_rules_match_torch(typ: str, args: Any, shapes: list[list[int]], out: list[int], flops: int) -> None:
    torch = pytest.importorskip("torch")
    module = TWINS[typ](dict(args or {}), tuple(shapes[0]))
    y = module(*(torch.randn(2, *s) for s in shapes))
    assert list(y.shape[1:]) == out
    assert sum(p.numel() for p in module.parameters()) == 0
