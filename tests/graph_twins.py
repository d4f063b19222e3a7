"""A network written twice, in the format and in plain PyTorch, compared on every figure.

:func:`agree` checks parameters, buffers, every named module's output shape, every output of the
network (in order), MACs, FlopCounterMode's FLOPs (cnncalc's ``torch`` convention), what
autograd saves for backward (``saved_tensors_hooks``, at two batch sizes) and that
``export --check`` passes. The module names of the twin are cnncalc's layer names.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import peers
import torch
import torch_reference
from conftest import measure_memory
from torch import nn

from cnncalc import export as exporter
from cnncalc import spec
from cnncalc.analysis import analyse
from cnncalc.graph import Graph, build
from cnncalc.memory import MemoryModel

measure = measure_memory()


def graph_of(text: str, input_shape: Sequence[int] | None = None) -> Graph:
    """The graph of a description given as (indented) YAML text."""
    return build(spec.load("case.yaml", text=textwrap.dedent(text)), input_shape)


def outputs_of(model: nn.Module, shape: Sequence[int]) -> list[tuple[int, ...]]:
    """The shapes (without the batch) of what the model returns: one tensor or a tuple."""
    with torch.no_grad():
        out = model.eval()(torch.zeros(1, *shape))
    return [tuple(o.shape[1:]) for o in (out if isinstance(out, (tuple, list)) else (out,))]


def saved(model: nn.Module, shape: Sequence[int], batch: int) -> int:
    """Bytes autograd saves in a training forward pass, each storage once, the outputs included."""
    torch.manual_seed(0)
    return measure.saved_bytes(model, torch.randn(batch, *shape))


def agree(text: str, model: nn.Module, input_shape: Sequence[int] | None = None) -> Graph:
    """Assert that the description and the torch twin agree on every figure; return the graph."""
    graph = graph_of(text, input_shape)
    shape = graph.input_shape
    report = analyse(graph)
    assert report.totals.params == torch_reference.count_params(model)
    assert report.totals.buffers == torch_reference.count_float_buffers(model)
    rows = {r.name: r.output_shape for r in report.layers}
    shapes = torch_reference.output_shapes(model, shape)
    assert shapes, "the twin has no named modules to compare"
    for name, got in shapes.items():
        assert name in rows, f"the twin's module {name} is no layer of the description"
        assert rows[name] == got, name
    assert [s for _, s in report.totals.outputs] == outputs_of(model, shape)
    assert report.totals.macs == torch_reference.conv_linear_macs(model, shape)
    assert analyse(graph, convention="torch").totals.flops == peers.flop_counter(model, shape)
    for batch in (2, 3):
        want = saved(model, shape, batch)
        assert MemoryModel(graph, optimizer="sgd").estimate(batch).saved == want, f"batch {batch}"
    code = exporter.export(graph, "pytorch")
    assert "agree with cnncalc" in exporter.check(code, graph)
    return graph


def warnings_of(graph: Graph) -> list[Any]:
    """The layers the warnings of a graph are about."""
    return [w.layer for w in graph.warnings]
