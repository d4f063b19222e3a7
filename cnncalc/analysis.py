"""Walks an expanded graph and computes every layer's figures and the totals. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence

from .constants import DTYPE_BYTES
from .errors import OptionError
from .graph import INPUT, MAX_ELEMENTS, Graph, Node, build
from .layers import RF, numel
from .memory import MemoryModel
from .report import LayerRow, Report, Totals
from .spec import Network


def analyse(network: Network | Graph, *, batch: int = 1, dtype: str = "fp32",
            input_shape: Sequence[int] | None = None, optimizer: str = "adam", amp: bool = False,
            convention: str | None = None) -> Report:
    """Analyse a network (or an already built graph) for a batch size, dtype and optimizer.

    ``convention`` (see :mod:`cnncalc.conventions`) makes MACs and FLOPs those another tool prints.
    """
    counting = None
    if convention is not None:
        from .conventions import lookup

        counting = lookup(convention)
    if dtype not in DTYPE_BYTES:
        raise OptionError(f"unknown dtype '{dtype}' (choose from {', '.join(DTYPE_BYTES)})")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise OptionError(f"batch must be a positive integer, got {batch!r}")
    if batch > MAX_ELEMENTS:
        raise OptionError("batch must be at most 2^63 − 1, as PyTorch's sizes are")
    graph = network if isinstance(network, Graph) else build(network, input_shape)
    size = DTYPE_BYTES[dtype]
    spatial = len(graph.input_shape) - 1
    fields: list[RF] = []
    rows: list[LayerRow] = []
    input_rf = RF.identity(spatial)
    labels: dict[int, str] = {}  # a layer object of a repeated block, described once
    for node, c in zip(graph.nodes, graph.counts()):
        ins_rf = [input_rf if r == INPUT else fields[r] for r in node.inputs]
        layer, ins, out = node.layer, node.in_shapes, node.out_shape
        rf = receptive_field(node, ins_rf)
        fields.append(rf)
        elements = numel(out)
        label = labels.get(id(layer))
        if label is None:
            label = labels[id(layer)] = layer.describe()
        macs, flops = counting.figures(layer, ins, out) if counting else (c.macs, c.flops)
        rows.append(
            LayerRow(
                index=node.index,
                name=node.name,
                type=layer.type_name,
                label=label,
                inputs=tuple(graph.input_name(r) for r in node.inputs),
                input_shapes=ins,
                output_shape=out,
                params=c.params,
                buffers=c.buffers,
                macs=macs,
                flops=flops,
                rf=rf,
                output_elements=elements,
                output_bytes=elements * size,
                jumps_meet=rf.mixed_jump and not any(f.mixed_jump for f in ins_rf),
                non_trainable_params=c.params if node.frozen else 0,
                frozen=node.frozen,
            )
        )
    return Report(
        network=graph.name,
        source=graph.network.source.name if graph.network.source else None,
        input_shape=graph.input_shape,
        dtype=dtype,
        batch=batch,
        layers=tuple(rows),
        totals=_totals(graph, rows, size, batch),
        memory=MemoryModel(graph, dtype=dtype, amp=amp, optimizer=optimizer).estimate(batch),
        groups={name: (kind, graph.input_name(out)) for name, (kind, out) in graph.groups.items()},
        convention=convention,
        warnings=graph.warnings,
    )


def receptive_field(node: Node, fields: Sequence[RF]) -> RF:
    """The receptive field of a node's output, given the fields of its inputs."""
    rf = node.layer.receptive(fields, node.in_shapes, node.out_shape)
    return RF(rf.axes, rf.local, rf.mixed_jump, node.layout)


def _totals(graph: Graph, rows: list[LayerRow], size: int, batch: int) -> Totals:
    params = sum(r.params for r in rows)
    buffers = sum(r.buffers for r in rows)
    act = sum(r.output_elements for r in rows)
    # the field reported is that of the last spatial map: an output with a spatial axis of more
    # than one position (before global pooling; channels-last maps count)
    last_map = None
    for r in rows:
        if any(axis is not None and n > 1 for n, axis in zip(r.output_shape, r.rf.layout)):
            last_map = r
    shapes = [graph.input_shape if o == INPUT else graph.nodes[o].out_shape for o in graph.outputs]
    return Totals(
        params=params,
        buffers=buffers,
        macs=sum(r.macs for r in rows),
        flops=sum(r.flops for r in rows),
        param_bytes=params * size,
        buffer_bytes=buffers * size,
        weight_file_bytes=(params + buffers) * size,
        input_elements=numel(graph.input_shape),
        activation_elements=act,
        activation_bytes=act * size,
        batch=batch,
        activation_bytes_batch=act * size * batch,
        output_shape=shapes[0],
        outputs=tuple(zip(graph.output_names, shapes)),
        receptive_field=last_map.rf if last_map else None,
        receptive_field_layer=last_map.name if last_map else None,
        non_trainable_params=sum(r.non_trainable_params for r in rows),
    )
