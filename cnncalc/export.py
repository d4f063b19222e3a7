"""``cnncalc export --to pytorch``: a readable, runnable ``torch.nn.Module`` from a description.

- Every layer becomes one module whose dotted name is its cnncalc name (``layer1.0.conv1``);
  the dotted prefixes (``layer1``, ``layer1.0``) become ``nn.ModuleDict`` containers, so
  ``model.named_modules()`` lists the rows of ``cnncalc report`` in the same order.
- ``forward`` runs the layers in the graph's topological order; a value used once, by the next
  layer, is called ``x``, any other value is named after its layer.
- Each layer type writes its own module (``Layer.torch_module``) and any helper class it needs
  (``Layer.torch_helpers``: Add, Concat, LayerNorm2d, ...).
- Frozen layers are frozen as PyTorch does it, ``requires_grad_(False)`` at the end of
  ``__init__``: once per largest group whose parameters are all frozen.
- ``inplace`` is kept only where changing the input in place is safe: no other layer reads it
  (through views either), it is not the network's input, and no backward pass needs it; else it
  is dropped, with a comment saying why.

Only :func:`check` imports torch.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .errors import CnnCalcError, OptionError, Problem, SpecError
from .graph import INPUT, Graph, Node
from .layers import fmt_shape

#: Attributes of ``nn.Module`` and ``nn.ModuleDict`` (torch 2.13): a module cannot take these names.
MODULE_ATTRIBUTES = frozenset(
    """T_destination add_module apply bfloat16 buffers call_super_init children clear compile cpu cuda
    double dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter
    get_submodule half ipu items keys load_state_dict modules mtia named_buffers named_children
    named_modules named_parameters parameters pop register_backward_hook register_buffer
    register_forward_hook register_forward_pre_hook register_full_backward_hook
    register_full_backward_pre_hook register_load_state_dict_post_hook
    register_load_state_dict_pre_hook register_module register_parameter
    register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state
    set_submodule share_memory state_dict to to_empty train training type update values xpu
    zero_grad""".split()
)

TARGETS = ("pytorch",)


class CheckError(CnnCalcError):
    """The exported module disagrees with cnncalc's figures (a bug in one of them)."""


@dataclass
class _Tree:
    """A container module: children by name, leaves are graph nodes."""

    children: dict[str, _Tree | Node] = field(default_factory=dict)


def _identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _quote(name: str) -> str:
    """A double-quoted Python string literal."""
    return json.dumps(name, ensure_ascii=False)


def _text(text: str) -> str:
    """``text`` made safe inside a docstring or a comment: one line, quotes and backslashes escaped."""
    flat = "".join(c if c.isprintable() else " " for c in text)
    return flat.replace("\\", "\\\\").replace('"', '\\"')


def _fail(graph: Graph, node: Node, message: str) -> SpecError:
    src = graph.network.source
    if src is None:
        return SpecError([Problem(message, layer=node.name, layer_type=node.layer.type_name)])
    return SpecError([src.problem(message, node.path, layer=node.name, layer_type=node.layer.type_name)])


def _tree(graph: Graph) -> _Tree:
    root = _Tree()
    for node in graph.nodes:
        *parents, leaf = node.name.split(".")
        for part in (*parents, leaf):
            if part in MODULE_ATTRIBUTES or part.startswith("__"):
                raise _fail(graph, node, f"cannot export to PyTorch: '{part}' is an attribute of torch.nn.Module; "
                                         "rename the layer")
        here = root
        for part in parents:
            sub = here.children.setdefault(part, _Tree())
            if not isinstance(sub, _Tree):
                raise _fail(graph, node, f"cannot export to PyTorch: '{part}' is both a layer and a group")
            here = sub
        here.children[leaf] = node
    return root


def _access(name: str) -> str:
    """``self.layer1["0"].conv1``: the expression reaching a module by its dotted name."""
    head, *rest = name.split(".")
    out = f"self.{head}" if _identifier(head) else f"getattr(self, {_quote(head)})"
    for part in rest:
        out += f".{part}" if _identifier(part) else f"[{_quote(part)}]"
    return out


def _variables(graph: Graph) -> tuple[dict[int, str], dict[int, list[int]]]:
    """The variable holding each value (node index, or INPUT) and each value's users."""
    end = len(graph.nodes)
    users: dict[int, list[int]] = {INPUT: [], **{n.index: [] for n in graph.nodes}}
    for node in graph.nodes:
        for ref in node.inputs:
            users[ref].append(node.index)
    users[graph.output].append(end)
    names: dict[int, str] = {}
    taken = {"x", "self", "torch", "nn", "inp"}
    for ref in (INPUT, *(n.index for n in graph.nodes)):
        if users[ref] == [ref + 1]:  # used once, by the next layer (the input: by the first)
            names[ref] = "x"
            continue
        if ref == INPUT:
            names[ref] = "inp"
            continue
        base = re.sub(r"\W", "_", graph.nodes[ref].name)
        base = f"v_{base}" if not _identifier(base) or base in taken else base
        var, k = base, 1
        while var in taken:
            k += 1
            var = f"{base}_{k}"
        taken.add(var)
        names[ref] = var
    return names, users


def _inplace_conflict(graph: Graph, node: Node, users: dict[int, list[int]], kept: set[int]) -> str | None:
    """Why ``node`` may not change its input in place, or None when it may.

    The tensor it would change is that of the first layer up the chain of views (flatten,
    identity, ...): that tensor and every view on the way must have no other user, must not be
    the network's input, and must not be kept for a backward pass (by its layer, or by a layer
    that already changed it in place).
    """
    ref, mine = node.inputs[0], node.index
    while True:
        others = [u for u in users[ref] if u != mine]
        if others:
            names = sorted("the output" if u == len(graph.nodes) else graph.nodes[u].name for u in others)
            return f"its input is also used by {', '.join(names)}"
        if ref == INPUT:
            return "it would change the network's input"
        source = graph.nodes[ref]
        if ref in kept:
            return f"{source.name} changed the same values in place already"
        if any(s.ref == "output" for s in source.layer.saved(source.in_shapes, source.out_shape)):
            return f"{source.name} ({source.layer.type_name}) keeps its output for the backward pass"
        if not source.layer.torch_view:
            return None
        ref, mine = source.inputs[0], source.index


def frozen_modules(graph: Graph) -> list[str]:
    """The dotted names to call ``requires_grad_(False)`` on: each largest group (or layer) whose
    parameters are all frozen and that holds some; ``""`` is the whole model."""
    holders = [n for n in graph.nodes if n.layer.params(n.in_shapes)]
    thawed: set[str] = set()  # every prefix of a trainable layer (``""`` included)
    for n in holders:
        if not n.frozen:
            parts = n.name.split(".")
            thawed.update(".".join(parts[:k]) for k in range(len(parts) + 1))
    out: dict[str, None] = {}
    for n in holders:
        if n.frozen:
            parts = n.name.split(".")
            out.setdefault(next(p for k in range(len(parts) + 1) if (p := ".".join(parts[:k])) not in thawed))
    return list(out)


def to_pytorch(graph: Graph, *, source: str | None = None) -> str:
    """Python source of a module ``Model`` computing ``graph``, with cnncalc's layer names."""
    tree = _tree(graph)
    names, users = _variables(graph)
    modules: dict[int, str] = {}
    notes: dict[int, str] = {}
    helpers: dict[str, None] = {}
    kept: set[int] = set()
    for node in graph.nodes:
        layer = node.layer
        if getattr(layer, "inplace", False):
            reason = _inplace_conflict(graph, node, users, kept)
            if reason:
                layer = layer.model_copy(update={"inplace": False})
                notes[node.index] = f"inplace dropped: {_text(reason)}"
            else:
                kept.add(node.index)
        modules[node.index] = layer.torch_module(node.in_shapes)
        helpers.update(dict.fromkeys(layer.torch_helpers))

    init: list[str] = []

    def emit(children: dict[str, _Tree | Node], depth: int) -> None:
        pad = "    " * depth
        top = depth == 2  # attributes of the model; deeper: entries of a ModuleDict literal
        for key, child in children.items():
            note = ""
            if isinstance(child, _Tree):
                expr = "nn.ModuleDict({"
            else:
                expr = modules[child.index]
                note = f"  # {notes[child.index]}" if child.index in notes else ""
            if not top:
                opening, closing = f"{_quote(key)}: {expr}", ","
            elif _identifier(key):
                opening, closing = f"self.{key} = {expr}", ""
            else:
                opening, closing = f"self.add_module({_quote(key)}, {expr}", ")"
            if isinstance(child, _Tree):
                init.append(pad + opening)
                emit(child.children, depth + 1)
                init.append(f"{pad}}}){closing}")
            else:
                init.append(f"{pad}{opening}{closing}{note}")

    emit(tree.children, 2)
    frozen = frozen_modules(graph)
    if frozen:
        init.append("        # frozen: no gradient, no optimizer state")
        init += [f"        {'self' if not name else _access(name)}.requires_grad_(False)" for name in frozen]

    body: list[str] = []
    if names[INPUT] == "inp":
        body.append("inp = x")
    for node in graph.nodes:
        args = ", ".join(names[r] for r in node.inputs)
        body.append(f"{names[node.index]} = {_access(node.name)}({args})  # {fmt_shape(node.out_shape)}")
    body.append(f"return {names[graph.output]}")

    title = _text(graph.name)
    origin = f" from {_text(source)}" if source else ""
    params = sum(n.layer.params(n.in_shapes) for n in graph.nodes)
    trainable = sum(n.layer.params(n.in_shapes) for n in graph.nodes if not n.frozen)
    counted = f"{params:,} parameters" + (f" ({trainable:,} trainable)" if trainable != params else "")
    lines = [
        f'"""{title}: a PyTorch module written by cnncalc {__version__}{origin}.',
        "",
        f"Input: a batch of {fmt_shape(graph.input_shape)}. The module names are cnncalc's layer names, so",
        "model.named_modules() lists the rows of `cnncalc report` in the same order.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import torch",
        "from torch import nn",
        "",
        f"INPUT_SHAPE = {tuple(graph.input_shape)!r}",
        "",
        "",
    ]
    for helper in helpers:
        lines += [*helper.rstrip("\n").splitlines(), "", ""]
    lines += [
        "class Model(nn.Module):",
        f'    """{title}: {len(graph.nodes)} layers, {counted}."""',
        "",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *init,
        "",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        *("        " + line for line in body),
        "",
        "",
        'if __name__ == "__main__":',
        "    model = Model().eval()",
        "    with torch.no_grad():",
        "        print(model(torch.zeros(1, *INPUT_SHAPE)).shape)",
    ]
    return "\n".join(lines) + "\n"


def export(graph: Graph, target: str, *, source: str | None = None) -> str:
    """The source of ``graph`` for ``target`` (one of :data:`TARGETS`)."""
    if target not in TARGETS:
        raise OptionError(f"unknown export target '{target}' (choose from {', '.join(TARGETS)})")
    return to_pytorch(graph, source=source)


def _import(code: str) -> Any:
    """Import the written file as a module, as a user would."""
    import importlib.util  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cnncalc_export.py"
        path.write_text(code, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("cnncalc_export", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def check(code: str, graph: Graph) -> str:
    """Build the exported module with torch; compare parameters (trainable ones too), buffers and every output shape."""
    try:
        import torch  # noqa: PLC0415  (torch is optional: only this check needs it)
    except ImportError:
        raise OptionError("--check needs PyTorch: pip install 'cnncalc[torch]'") from None
    model = _import(code).Model().eval()
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    for name, module in model.named_modules():
        if next(module.children(), None) is None and name:
            handles.append(module.register_forward_hook(
                lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape[1:]))))
    try:
        with torch.no_grad():
            model(torch.zeros(1, *graph.input_shape))
    finally:
        for h in handles:
            h.remove()
    problems = []
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for b in model.buffers() if b.is_floating_point())
    want_params = sum(n.layer.params(n.in_shapes) for n in graph.nodes)
    want_buffers = sum(n.layer.buffers(n.in_shapes) for n in graph.nodes)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    want_trainable = sum(n.layer.params(n.in_shapes) for n in graph.nodes if not n.frozen)
    if params != want_params:
        problems.append(Problem(f"PyTorch counts {params:,} parameters, cnncalc {want_params:,}"))
    if trainable != want_trainable:
        problems.append(Problem(f"PyTorch counts {trainable:,} trainable parameters, cnncalc {want_trainable:,}"))
    if buffers != want_buffers:
        problems.append(Problem(f"PyTorch counts {buffers:,} buffer values, cnncalc {want_buffers:,}"))
    for node in graph.nodes:
        got = shapes.get(node.name)
        if got != node.out_shape:
            what = "does not run" if got is None else f"outputs {fmt_shape(got)}"
            problems.append(Problem(f"in PyTorch it {what}, cnncalc infers {fmt_shape(node.out_shape)}",
                                    layer=node.name, layer_type=node.layer.type_name))
    if problems:
        raise CheckError(problems)
    counted = f"{params:,} parameters" + (f" ({trainable:,} trainable)" if trainable != params else "")
    return (f"checked with torch {torch.__version__}: {counted}, {buffers:,} buffer values and "
            f"{len(graph.nodes)} output shapes agree with cnncalc")
