"""``cnncalc import``: a PyTorch model to a cnncalc description, exactly, or refused.

The flow: :mod:`.source` resolves ``MODULE:CALLABLE`` and builds the model on the meta device,
:mod:`.capture` records its graph with ``torch.export``, :mod:`.mapping` turns each op into a
cnncalc layer (one table, which the docs render), :mod:`.emit` writes the YAML grouped by the
module tree, and :func:`from_torch` checks the result against the model before returning it:
every row's output shape against the traced one, and the parameters and buffers against the
model's. Anything that cannot be described exactly raises :class:`.refusal.ImportRefused`.

This package is the only part of cnncalc that imports torch, and only when called.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .refusal import ImportRefused, refuse

if TYPE_CHECKING:  # pragma: no cover
    from .capture import Capture
    from .emit import Emitted

__all__ = ["ImportRefused", "from_torch", "import_source", "mapping_markdown"]

#: What to tell a user without torch.
INSTALL_HINT = 'cnncalc import needs PyTorch: pip install "cnncalc[torch]"'


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise refuse(INSTALL_HINT) from None
    return torch


def _shape(input_shape: Sequence[int] | str) -> tuple[int, ...]:
    from ..api import _shape as parse

    shape = parse(input_shape)
    if shape is None:
        raise refuse("give the input shape without the batch, e.g. 3x224x224")
    return tuple(shape)


def from_torch(module: Any, input_shape: Sequence[int] | str, name: str | None = None) -> str:
    """The cnncalc description (YAML text) of ``module`` on inputs of ``input_shape`` (no batch), or ImportRefused."""
    torch = _torch()
    from .capture import capture
    from .emit import emit

    if not isinstance(module, torch.nn.Module):
        raise refuse(f"expected a torch.nn.Module, got {type(module).__name__}")
    shape = _shape(input_shape)
    # the capture works on a meta copy: the user's module keeps its tensors and its training mode
    module = _to_meta(module).eval()
    cap = capture(module, shape)
    emitted = emit(cap, name or type(module).__name__)
    verify(emitted, cap)
    return emitted.text


def _to_meta(module: Any) -> Any:
    """A copy of ``module`` on the meta device (the user's model is left as it is; no weight is copied)."""
    import copy

    torch = _torch()
    # the memo hands deepcopy a meta twin of every parameter and buffer instead of copying its data
    memo: dict[int, Any] = {}
    for p in module.parameters():
        memo[id(p)] = torch.nn.Parameter(p.detach().to("meta"), requires_grad=p.requires_grad)
    for b in module.buffers():
        memo[id(b)] = b.detach().to("meta")
    try:
        return copy.deepcopy(module, memo)
    except Exception as err:  # an attribute that cannot be copied (a lock, a file, a generator)
        if all(t.device.type == "meta" for t in [*module.parameters(), *module.buffers()]):
            return module  # captured in place, as the only way left: its tensors become fake ones
        raise refuse(f"the model cannot be copied to the meta device ({type(err).__name__}: {err}); "
                     "build it on the meta device (with torch.device('meta'): ...)") from None


def import_source(source: str, input_shape: Sequence[int] | str, kwargs: Mapping[str, Any] | None = None) -> str:
    """``cnncalc import SOURCE``: build ``SOURCE(**kwargs)`` on the meta device and describe it (runs user code)."""
    _torch()
    from .source import build

    shape = _shape(input_shape)
    model = build(source, kwargs)
    return from_torch(model, shape, name=source)


def verify(emitted: Emitted, cap: Capture) -> None:
    """Load the description and check it against the capture: each row's shape, the params and buffers."""
    from .. import api
    from ..errors import CnnCalcError
    from ..graph import build

    nodes = {n.name: n for n in cap.nodes}
    try:
        graph = build(api.load(emitted.text))
    except CnnCalcError as err:
        p = err.problems[0]
        node = nodes.get(emitted.rows.get(p.layer or "", ""))
        if node is None:
            raise refuse(f"the description does not load: {p.message}", layer=p.layer, op=p.layer_type) from None
        raise refuse(p.message, layer=node.scope[-1].path if node.scope else p.layer, op=node.target,
                     file=node.file, line=node.line) from None
    for gn in graph.nodes:
        node = nodes.get(emitted.rows.get(gn.name, ""))
        if node is None or not isinstance(node.out, tuple) or not node.out or not isinstance(node.out[0], int):
            continue
        if tuple(gn.out_shape) != tuple(node.out[1:]):
            raise refuse(f"cnncalc's {gn.layer.type_name} gives {list(gn.out_shape)}, PyTorch {list(node.out[1:])}",
                         layer=gn.name, op=node.target, file=node.file, line=node.line)
    counts = graph.counts()
    params, buffers = sum(c.params for c in counts), sum(c.buffers for c in counts)
    want_params = sum(p.numel for p in cap.params.values())
    # cnncalc's batchnorm does not count num_batches_tracked (one int64 each), as its buffers total says
    want_buffers = sum(b.numel for b in cap.buffers.values() if not b.fqn.endswith("num_batches_tracked"))
    if params != want_params:
        unused = [p for p in cap.params if p not in emitted.params]
        why = f" (not used by forward at this input: {', '.join(unused[:5])}{', ...' if len(unused) > 5 else ''})"
        raise refuse(f"the description holds {params:,} parameters, the model {want_params:,}"
                     + (why if unused else ""))
    if buffers != want_buffers:
        raise refuse(f"the description holds {buffers:,} buffer values, the model {want_buffers:,}")


def mapping_markdown() -> str:
    """The mapping table (PyTorch module or op → cnncalc layer) as Markdown, generated from the rules in code."""
    from .mapping import mapping_markdown as table

    return table()
