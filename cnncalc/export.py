"""``cnncalc export --to pytorch``: a readable, runnable ``torch.nn.Module`` from a description.

- Every layer becomes one module whose dotted name is its cnncalc name (``layer1.0.conv1``);
  the dotted prefixes (``layer1``, ``layer1.0``) become ``nn.ModuleDict`` containers, so
  ``model.named_modules()`` lists the rows of ``cnncalc report`` in the same order.
- A name is written as a string wherever Python would not read it back as itself (``my-layer``,
  ``class``, and ``ℌ``, which Python folds to ``H``); a name PyTorch refuses because the module
  has that attribute (``forward``, ``_modules``, ``keys`` in a group) is renamed, with a
  comment, and listed in the file's ``RENAMED``.
- ``forward`` runs the layers in the graph's topological order; a value used once, by the next
  layer, is called ``x``, any other value is named after its layer. It returns the network's
  output, or the tuple of its outputs when the network names several (``outputs:``).
- Each layer type writes its own module (``Layer.torch_module``) and any helper class it needs
  (``Layer.torch_helper_sources``: Add, Concat, LayerNorm2d, ...).
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
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .errors import CnnCalcError, OptionError, Problem, SpecError, capped
from .graph import INPUT, Graph, Node
from .layers import fmt_shape
from .text import printable

#: Public attributes of ``nn.Module`` (torch 2.13): a layer of the model cannot take these names.
MODULE_ATTRIBUTES = frozenset(
    [
        "T_destination", "add_module", "apply", "bfloat16", "buffers", "call_super_init", "children", "compile",
        "cpu", "cuda", "double", "dump_patches", "eval", "extra_repr", "float", "forward", "get_buffer",
        "get_extra_state", "get_parameter", "get_submodule", "half", "ipu", "load_state_dict", "modules", "mtia",
        "named_buffers", "named_children", "named_modules", "named_parameters", "parameters",
        "register_backward_hook", "register_buffer", "register_forward_hook", "register_forward_pre_hook",
        "register_full_backward_hook", "register_full_backward_pre_hook", "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook", "register_module", "register_parameter", "register_state_dict_post_hook",
        "register_state_dict_pre_hook", "requires_grad_", "set_extra_state", "set_submodule", "share_memory",
        "state_dict", "to", "to_empty", "train", "training", "type", "xpu", "zero_grad"
    ]
)

#: Private attributes of ``nn.Module`` and ``nn.ModuleDict`` (torch 2.13): reserved like the public ones.
MODULE_INTERNALS = frozenset(
    [
        "_apply", "_backward_hooks", "_backward_pre_hooks", "_buffers", "_call_impl", "_compiled_call_impl",
        "_forward_hooks", "_forward_hooks_always_called", "_forward_hooks_with_kwargs", "_forward_pre_hooks",
        "_forward_pre_hooks_with_kwargs", "_get_backward_hooks", "_get_backward_pre_hooks", "_get_name",
        "_is_full_backward_hook", "_load_from_state_dict", "_load_state_dict_post_hooks",
        "_load_state_dict_pre_hooks", "_maybe_warn_non_full_backward_hook", "_modules", "_named_members",
        "_non_persistent_buffers_set", "_parameters", "_register_load_state_dict_pre_hook",
        "_register_state_dict_hook", "_replicate_for_data_parallel", "_save_to_state_dict", "_slow_forward",
        "_state_dict_hooks", "_state_dict_pre_hooks", "_version", "_wrapped_call_impl"
    ]
)

#: What ``nn.ModuleDict`` adds (torch 2.13): a layer inside a group cannot take these names either.
MODULE_DICT_ATTRIBUTES = frozenset(["clear", "items", "keys", "pop", "update", "values"])

TARGETS = ("pytorch",)

#: Deepest group nesting written as nested ``nn.ModuleDict({...})`` literals; deeper models are
#: built one statement per module, as Python's parser allows only 200 nested brackets (2 a level).
MAX_LITERAL_DEPTH = 32

#: Names ``forward`` uses for itself; a variable named after a layer avoids them.
_FORWARD_NAMES = frozenset({"x", "inp", "self", "torch", "nn", "getattr"})


class CheckError(CnnCalcError):
    """The exported module disagrees with cnncalc's figures (a bug in one of them)."""


@dataclass
class _Tree:
    """A container module: children by attribute key; leaves are graph nodes."""

    name: str = ""  # the group's cnncalc name ("" for the model)
    children: dict[str, _Tree | Node] = field(default_factory=dict)
    #: attribute key → cnncalc name component, for the children renamed because PyTorch reserves their name
    renamed: dict[str, str] = field(default_factory=dict)


def reserved(key: str, *, top: bool) -> bool:
    """Whether PyTorch refuses ``key`` as a child's name: of the model (``top``) or of a ``nn.ModuleDict``.

    ``add_module`` refuses a name the module already has as an attribute: nn.Module's methods,
    hooks and state, Python's own ``__dunder__`` names, and in a ModuleDict its dict methods.
    """
    if key in MODULE_ATTRIBUTES or key in MODULE_INTERNALS or (key.startswith("__") and key.endswith("__")):
        return True
    return not top and key in MODULE_DICT_ATTRIBUTES


def _plain(name: str) -> bool:
    """Whether ``name`` may be written bare (``self.name``, a variable) and reads as itself.

    Python folds identifiers to NFKC (``ℌ`` is ``H``, ``ﬁlter`` is ``filter``), so a name that
    NFKC changes must stay a string; a name with two leading underscores is mangled in a class.
    """
    return (name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("__")
            and unicodedata.normalize("NFKC", name) == name)


def _quote(name: str) -> str:
    """A double-quoted Python string literal."""
    return json.dumps(name, ensure_ascii=False)


def _text(text: str) -> str:
    """``text`` made safe inside a docstring or a comment: one line, quotes and backslashes escaped."""
    flat = "".join(c if c.isprintable() else " " for c in text)
    return flat.replace("\\", "\\\\").replace('"', '\\"')


def _located(graph: Graph, message: str, node: Node | None = None) -> Problem:
    """A problem at ``node``'s line, or at the top of the description."""
    name, typ = (None, None) if node is None else (node.name, node.layer.type_name)
    src = graph.network.source
    if src is None:
        return Problem(message, layer=name, layer_type=typ)
    return src.problem(message, () if node is None else node.path, layer=name, layer_type=typ)


def _fail(graph: Graph, node: Node, message: str) -> SpecError:
    return SpecError([_located(graph, message, node)])


def _rename(key: str, taken: set[str], *, top: bool) -> str:
    """A name for ``key`` that PyTorch accepts and no sibling has: ``forward_``, ``layer_modules``."""
    base = f"layer{key}" if key.startswith("_") else f"{key}_"
    name, k = base, 1
    while name in taken or reserved(name, top=top):
        k += 1
        name = f"{base}{k}"
    return name


def _tree(graph: Graph) -> _Tree:
    """The model's modules: groups as containers, each child under a name PyTorch accepts."""
    root = _Tree()
    for node in graph.nodes:
        *parents, leaf = node.name.split(".")
        here = root
        for part in parents:
            sub = here.children.setdefault(part, _Tree(f"{here.name}.{part}" if here.name else part))
            if not isinstance(sub, _Tree):
                raise _fail(graph, node, f"cannot export to PyTorch: '{sub.name}' is both a layer and a group")
            here = sub
        if leaf in here.children:
            raise _fail(graph, node, f"cannot export to PyTorch: '{node.name}' is both a layer and a group")
        here.children[leaf] = node

    def rename(tree: _Tree, top: bool) -> None:
        # siblings keep their names where PyTorch allows it; the others take free names after them
        keep = {k for k in tree.children if not reserved(k, top=top)}
        children: dict[str, _Tree | Node] = {}
        for key, child in tree.children.items():
            attr = key
            if key not in keep:
                attr = _rename(key, keep, top=top)
                keep.add(attr)
                tree.renamed[attr] = key
            children[attr] = child
            if isinstance(child, _Tree):
                rename(child, False)
        tree.children = children

    rename(root, True)
    return root


def _walk(tree: _Tree, prefix: str = "") -> Iterator[tuple[str, _Tree | Node]]:
    """(module name in the model, group or layer) of every container and layer, depth first."""
    for key, child in tree.children.items():
        path = f"{prefix}.{key}" if prefix else key
        yield path, child
        if isinstance(child, _Tree):
            yield from _walk(child, path)


def module_names(graph: Graph) -> dict[int, str]:
    """Each layer's module name in the exported model (``named_modules()``), by node index.

    It is the layer's cnncalc name, except where PyTorch reserves a component of it
    (``forward``, ``training``, ``_modules``, ``keys`` in a group ...): that component is renamed.
    """
    return {child.index: path for path, child in _walk(_tree(graph)) if not isinstance(child, _Tree)}


def _depth(tree: _Tree) -> int:
    return 1 + max((_depth(c) for c in tree.children.values() if isinstance(c, _Tree)), default=0)


def _access(path: str, *, top: bool = True) -> str:
    """``self.layer1["0"].conv1``: the expression reaching a module by its name in the model."""
    head, *rest = path.split(".")
    out = f"self.{head}" if top and _plain(head) else f"getattr(self, {_quote(head)})"
    for part in rest:
        # a group is a ModuleDict: an attribute reaches a child unless the dict has that attribute
        out += f".{part}" if _plain(part) and not reserved(part, top=False) else f"[{_quote(part)}]"
    return out


def _variables(graph: Graph) -> tuple[dict[int, str], dict[int, list[int]]]:
    """The variable holding each value (node index, or INPUT) and each value's users."""
    end = len(graph.nodes)
    users: dict[int, list[int]] = {INPUT: [], **{n.index: [] for n in graph.nodes}}
    for node in graph.nodes:
        for ref in node.inputs:
            users[ref].append(node.index)
    for o in graph.outputs:
        users[o].append(end)
    names: dict[int, str] = {}
    taken = set(_FORWARD_NAMES)
    for ref in (INPUT, *(n.index for n in graph.nodes)):
        if users[ref] == [ref + 1]:  # used once, by the next layer (the input: by the first)
            names[ref] = "x"
            continue
        if ref == INPUT:
            names[ref] = "inp"
            continue
        # written as Python reads it (NFKC: ℌ is H), so that two names never fold into one variable
        base = re.sub(r"\W", "_", unicodedata.normalize("NFKC", graph.nodes[ref].name))
        if unicodedata.normalize("NFKC", base) != base:
            base = re.sub(r"[^0-9A-Za-z_]", "_", base)
        base = base if _plain(base) and not base.startswith("_") and base not in taken else f"v_{base}"
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
        helpers.update(dict.fromkeys(layer.torch_helper_sources()))

    paths = {child.index: path for path, child in _walk(tree) if isinstance(child, Node)}
    renamed = {paths[n.index]: n.name for n in graph.nodes if paths[n.index] != n.name}
    literal = _depth(tree) <= MAX_LITERAL_DEPTH
    init: list[str] = []

    def emit(group: _Tree, path: str, depth: int) -> None:
        pad = "    " * depth
        top = not path  # children of the model are its attributes; deeper, entries of a ModuleDict
        for key, child in group.children.items():
            comments = [notes[child.index]] if isinstance(child, Node) and child.index in notes else []
            if key in group.renamed:
                original = group.renamed[key]
                full = f"{group.name}.{original}" if group.name else original
                comments.insert(0, f"cnncalc's {_quote(_text(full))}, renamed: {_reserver(original, top)}")
            note = f"  # {'; '.join(comments)}" if comments else ""
            expr = modules[child.index] if isinstance(child, Node) else "nn.ModuleDict({" if literal else \
                "nn.ModuleDict()"
            if not top and literal:
                opening, closing = f"{_quote(key)}: {expr}", ","
            elif not top:
                opening, closing = f"{_access(path)}[{_quote(key)}] = {expr}", ""
            elif _plain(key):
                opening, closing = f"self.{key} = {expr}", ""
            else:
                opening, closing = f"self.add_module({_quote(key)}, {expr}", ")"
            full_path = f"{path}.{key}" if path else key
            if isinstance(child, _Tree) and literal:
                init.append(f"{pad}{opening}{note}")
                emit(child, full_path, depth + 1)
                init.append(f"{pad}}}){closing}")
            else:
                init.append(f"{pad}{opening}{closing}{note}")
                if isinstance(child, _Tree):
                    emit(child, full_path, depth)

    emit(tree, "", 2)
    frozen = frozen_modules(graph)
    if frozen:
        init.append("        # frozen: no gradient, no optimizer state")
        init += [f"        {'self' if not name else _access(name)}.requires_grad_(False)" for name in frozen]

    body: list[str] = []
    if names[INPUT] == "inp":
        body.append("inp = x")
    for node in graph.nodes:
        args = ", ".join(names[r] for r in node.inputs)
        body.append(f"{names[node.index]} = {_access(paths[node.index])}({args})  # {fmt_shape(node.out_shape)}")
    returned = [names[o] for o in graph.outputs]
    several = len(graph.outputs) > 1
    body.append(f"return {', '.join(returned) if several else returned[0]}")

    title = _text(graph.name)
    origin = f" from {_text(source)}" if source else ""
    params = sum(n.layer.params(n.in_shapes) for n in graph.nodes)
    names_note = ["model.named_modules() lists the rows of `cnncalc report` in the same order."]
    if renamed:
        names_note = [
            "model.named_modules() lists the rows of `cnncalc report` in the same order, except that",
            f"{len(renamed):,} module{'s are' if len(renamed) != 1 else ' is'} renamed where PyTorch keeps "
            "the name for itself (RENAMED maps",
            "them back; the comments in Model say why).",
        ]
    trainable = sum(n.layer.params(n.in_shapes) for n in graph.nodes if not n.frozen)
    counted = f"{params:,} parameters" + (f" ({trainable:,} trainable)" if trainable != params else "")
    lines = [
        f'"""{title}: a PyTorch module written by cnncalc {__version__}{origin}.',
        "",
        f"Input: a batch of {fmt_shape(graph.input_shape)}. The module names are cnncalc's layer names, so",
        *names_note,
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import torch",
        "from torch import nn",
        "",
        f"INPUT_SHAPE = {tuple(graph.input_shape)!r}",
    ]
    if renamed:
        lines += ["", "#: Module names (model.named_modules()) that differ from cnncalc's layer names.",
                  "RENAMED = {", *(f"    {_quote(k)}: {_quote(v)}," for k, v in renamed.items()), "}"]
    lines += ["", ""]
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
        f"    def forward(self, x: torch.Tensor) -> {_returns(graph)}:",
        *("        " + line for line in body),
        "",
        "",
        'if __name__ == "__main__":',
        "    model = Model().eval()",
        "    with torch.no_grad():",
        *(["        for out in model(torch.zeros(1, *INPUT_SHAPE)):", "            print(out.shape)"]
          if len(graph.outputs) > 1 else ["        print(model(torch.zeros(1, *INPUT_SHAPE)).shape)"]),
    ]
    return "\n".join(lines) + "\n"


def _reserver(key: str, top: bool) -> str:
    """Who keeps ``key`` for itself, for the comment at a renamed module."""
    if key in MODULE_ATTRIBUTES or key in MODULE_INTERNALS:
        return f"nn.Module has an attribute {_quote(key)}"
    if not top and key in MODULE_DICT_ATTRIBUTES:
        return f"nn.ModuleDict has an attribute {_quote(key)}"
    return "Python keeps __dunder__ names for itself"


def _returns(graph: Graph) -> str:
    """The annotation of ``forward``'s result: a tensor, or a tuple of one per output."""
    n = len(graph.outputs)
    return f"tuple[{', '.join(['torch.Tensor'] * n)}]" if n > 1 else "torch.Tensor"


def export(graph: Graph, target: str, *, source: str | None = None) -> str:
    """The source of ``graph`` for ``target`` (one of :data:`TARGETS`)."""
    if target not in TARGETS:
        raise OptionError(f"unknown export target '{target}' (choose from {', '.join(TARGETS)})")
    return to_pytorch(graph, source=source)


def _import(code: str) -> Any:
    """Import the written file as a module, as a user would."""
    import importlib.util
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cnncalc_export.py"
        path.write_text(code, encoding="utf-8")
        spec = importlib.util.spec_from_file_location("cnncalc_export", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def _error(e: BaseException) -> str:
    """An exception as one line of a message."""
    return f"{type(e).__name__}: {printable(' '.join(str(e).split()))}"


def check(code: str, graph: Graph) -> str:
    """Build and run the exported module with torch, and compare it with cnncalc layer by layer.

    Every layer must be a module under its name (:func:`module_names`), with no module besides
    the layers and their groups; run once, on the outputs of the layers cnncalc wires it to
    (the same tensors), with cnncalc's output shape, parameters and float buffers. The model
    must return cnncalc's outputs, and as many parameters must train as cnncalc counts trainable.
    """
    try:
        import torch
    except ImportError:
        raise OptionError("--check needs PyTorch: pip install 'cnncalc[torch]'") from None
    paths = module_names(graph)
    try:
        model = _import(code).Model().eval()
    except Exception as e:
        raise CheckError([_located(graph, f"the exported module cannot be built: {_error(e)}")]) from None
    found = dict(model.named_modules())
    problems: list[Problem] = []
    wanted = set(paths.values())
    if len(wanted) != len(paths):
        problems.append(_located(graph, f"{len(paths) - len(wanted):,} layers share a module name with another"))
    groups = {path[:i] for path in wanted for i, c in enumerate(path) if c == "."}
    for name in found:
        # a name not a layer, not a group, and not inside a layer (a layer's own submodules)
        parts = name.split(".")
        if name and name not in groups and not any(".".join(parts[:i]) in wanted for i in range(1, len(parts) + 1)):
            problems.append(_located(graph, f"PyTorch has a module {_quote(printable(name))} that is no layer of "
                                            "cnncalc's"))

    inputs: dict[int, tuple[Any, ...]] = {}
    outputs: dict[int, Any] = {}
    calls: dict[int, int] = {}
    entered: list[int] = []
    handles = []

    def hooks(index: int) -> tuple[Any, Any]:
        def before(module: Any, args: tuple[Any, ...]) -> None:
            entered.append(index)
            calls[index] = calls.get(index, 0) + 1
            inputs[index] = args

        def after(module: Any, args: tuple[Any, ...], out: Any) -> None:
            outputs[index] = out

        return before, after

    for node in graph.nodes:
        module = found.get(paths[node.index])
        if module is None:
            problems.append(_located(graph, f"PyTorch has no module {_quote(printable(paths[node.index]))}", node))
            continue
        before, after = hooks(node.index)
        handles += [module.register_forward_pre_hook(before), module.register_forward_hook(after)]
    x = torch.zeros(1, *graph.input_shape)
    try:
        with torch.no_grad():
            out = model(x)
    except Exception as e:
        running = [i for i in entered if i not in outputs]
        waiting = [n.index for n in graph.nodes if n.index not in outputs]
        at = running[-1] if running else waiting[0] if waiting else None
        problems.append(_located(graph, f"in PyTorch it fails: {_error(e)}", None if at is None else graph.nodes[at]))
        raise CheckError(problems) from None
    finally:
        for h in handles:
            h.remove()

    values: dict[int, Any] = {INPUT: x, **outputs}
    who = {id(v): graph.input_name(ref) for ref, v in values.items()}

    def named(tensors: Any) -> str:
        return ", ".join(who.get(id(t), "another tensor") for t in tensors) or "nothing"

    for node in graph.nodes:
        module = found.get(paths[node.index])
        if module is None:
            continue
        if node.index not in outputs:
            problems.append(_located(graph, "in PyTorch it does not run", node))
            continue
        if calls[node.index] != 1:
            problems.append(_located(graph, f"in PyTorch it runs {calls[node.index]} times", node))
        got, want = inputs[node.index], tuple(values.get(r) for r in node.inputs)
        if len(got) != len(want) or any(a is not b for a, b in zip(got, want)):
            problems.append(_located(graph, f"in PyTorch it reads {named(got)}, in cnncalc "
                                            f"{', '.join(graph.input_name(r) for r in node.inputs)}", node))
        shape = tuple(outputs[node.index].shape[1:])
        if shape != node.out_shape:
            problems.append(_located(graph, f"in PyTorch it outputs {fmt_shape(shape)}, cnncalc infers "
                                            f"{fmt_shape(node.out_shape)}", node))
        params = sum(p.numel() for p in module.parameters())
        if params != node.layer.params(node.in_shapes):
            problems.append(_located(graph, f"PyTorch counts {params:,} parameters, cnncalc "
                                            f"{node.layer.params(node.in_shapes):,}", node))
        buffers = sum(b.numel() for b in module.buffers() if b.is_floating_point())
        if buffers != node.layer.buffers(node.in_shapes):
            problems.append(_located(graph, f"PyTorch counts {buffers:,} buffer values, cnncalc "
                                            f"{node.layer.buffers(node.in_shapes):,}", node))
    several = len(graph.outputs) > 1
    results = tuple(out) if several and isinstance(out, (tuple, list)) else (out,)
    if len(results) != len(graph.outputs):
        problems.append(_located(graph, f"the model returns {len(results)} outputs, cnncalc has {len(graph.outputs)}"))
    else:
        for name, o, got in zip(graph.output_names, graph.outputs, results):
            if got is not values.get(o):
                problems.append(_located(graph, f"the model returns {named([got])} as output "
                                                f"'{printable(name)}', cnncalc's is {graph.input_name(o)}"))
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for b in model.buffers() if b.is_floating_point())
    want_params = sum(n.layer.params(n.in_shapes) for n in graph.nodes)
    want_buffers = sum(n.layer.buffers(n.in_shapes) for n in graph.nodes)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    want_trainable = sum(n.layer.params(n.in_shapes) for n in graph.nodes if not n.frozen)
    if params != want_params:
        problems.append(_located(graph, f"PyTorch counts {params:,} parameters in all, cnncalc {want_params:,}"))
    if trainable != want_trainable:
        problems.append(_located(graph, f"PyTorch counts {trainable:,} trainable parameters, "
                                        f"cnncalc {want_trainable:,}"))
    if buffers != want_buffers:
        problems.append(_located(graph, f"PyTorch counts {buffers:,} buffer values in all, cnncalc {want_buffers:,}"))
    if problems:
        raise CheckError(capped(problems))
    outs = f", and its {len(graph.outputs)} outputs," if len(graph.outputs) > 1 else ""
    renamed = sum(1 for n in graph.nodes if paths[n.index] != n.name)
    note = f" ({renamed:,} renamed, see RENAMED)" if renamed else ""
    counted = f"{params:,} parameters" + (f" ({trainable:,} trainable)" if trainable != params else "")
    layers = f"{len(graph.nodes):,} layer{'s' if len(graph.nodes) != 1 else ''}"
    return (f"checked with torch {torch.__version__}: {counted}, {buffers:,} buffer values, and the "
            f"names{note}, inputs and output shapes of {layers}{outs} agree with cnncalc")
