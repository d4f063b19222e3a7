"""From mapped ops to a description a person reads: rows named by module path, grouped by the module tree.

- A leaf module that computes one op is one row named by its path in ``named_modules()``
  (``layer1.0.conv1``); an op a module computes itself is named ``<module path>.<op>``
  (``layer1.0.add``, then ``add_1``, ...); a module called again gets ``_1``, ``_2``, ...
- Every module that holds rows becomes a ``sequential`` group with explicit names, so the rows'
  names are the module paths; a comment gives the module's class.
- A group reads tensors from outside through ``inputs:`` (its first one is ``input``); a row
  reads the row above it unless it says ``from:``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .capture import Capture, Frame, Node, Param, Ref
from .mapping import PATTERNS, Alias, Context, Mapped, Piece, Unmappable, map_node
from .refusal import refuse

#: A tensor of the description: ``input``, a row's output, or piece ``k`` of a split row.
Value = tuple[str, int | None]
INPUT: Value = ("input", None)


@dataclass
class Row:
    """One emitted layer: the mapped op, its name and its name components from the root."""

    mapped: Mapped
    name: str
    inputs: list[Value]
    path: tuple[str, ...] = ()


@dataclass
class Group:
    """A module holding rows: its children in order of first use."""

    name: str
    path: tuple[str, ...]
    cls: str = ""
    #: a container never called itself (an nn.ModuleList): a path, not a module call
    virtual: bool = False
    children: list[Row | Group] = field(default_factory=list)
    index: dict[str, Row | Group] = field(default_factory=dict)


#: The name refusals give an op of the top module's own forward (it has no path).
TOP = "<top>"


def _fail(node: Node, message: str) -> Exception:
    layer = node.scope[-1].path if node.scope else TOP
    return refuse(message, layer=layer, op=node.target, file=node.file, line=node.line)


def _components(scope: Sequence[Frame]) -> list[str]:
    """Name components of a module stack: each module's path relative to its caller, ``_k`` for its k-th recall."""
    comps: list[str] = []
    prev = ""
    for f in scope:
        rel = f.path[len(prev) + 1:] if prev and f.path.startswith(prev + ".") else f.path
        parts = rel.split(".")
        if f.call:
            parts[-1] = f"{parts[-1]}_{f.call}"
        comps += parts
        prev = f.path
    return comps


#: Row names of functional ops whose aten name is not the one the user wrote.
_WRITTEN = {"split_with_sizes": "split", "_unsafe_view": "view", "concat": "cat"}


def _op_name(m: Mapped) -> str:
    """``add`` for ``x + y`` (aten.add), ``interpolate`` for F.interpolate; a pattern is named by its layer."""
    op = m.node.op.split(".")[-1].strip("_") or "op"
    if op.startswith("upsample") or "upsample_nearest_exact" in op:
        return "interpolate"
    if m.fused:
        return m.type
    return _WRITTEN.get(op, op)


def plan(cap: Capture) -> tuple[Group, list[Value], list[Mapped]]:
    """Map every op and place its row in the module tree; the root group, the output values and the rows."""
    _copy_first(cap)
    shapes: dict[str, Any] = {"input": (1, *cap.input_shape)}
    for n in cap.nodes:
        shapes[n.name] = n.out
    ctx = Context(shapes, {n.name: n.contiguous for n in cap.nodes})
    values: dict[str, Value] = {"input": INPUT}
    pieces: dict[tuple[str, int], Value] = {}
    mapped: list[Mapped] = []
    by_node: dict[str, Node] = {n.name: n for n in cap.nodes}
    claimed: set[str] = set()

    def value(ref: Ref, user: Node) -> Value:
        v = values.get(ref.node)
        if v is None:
            raise _fail(user, f"reads '{ref.node}', which cnncalc cannot describe")
        return v

    _fold_parameter_views(cap)
    fused, skip = _fuse(cap, ctx)
    per_call: dict[tuple[Frame, ...], int] = {}
    for n in cap.nodes:
        per_call[n.scope] = per_call.get(n.scope, 0) + 1
    for n in cap.nodes:
        if n.name in skip:
            continue  # read by the pattern that ends at a later op; read by anything else, it is refused
        if n.op == "aten.alias" and per_call[n.scope] > 1 and isinstance(n.args[0], Ref):
            # the mark of a module returning its input after an op of its own (dropout in place, in eval)
            values[n.name] = value(n.args[0], n)
            continue
        try:
            res = fused[n.name] if n.name in fused else map_node(n, ctx)
        except Unmappable as err:
            raise _fail(n, str(err)) from None
        if isinstance(res, Alias):
            values[n.name] = value(res.of, n)
        elif isinstance(res, Piece):
            src = by_node.get(res.of.node)
            v = value(res.of, n)
            if src is not None and src.op in ("aten.split", "aten.split_with_sizes", "aten.chunk"):
                values[n.name] = (v[0], res.index)
            elif res.index == 0 and isinstance(src.out if src else None, tuple) and src is not None:
                values[n.name] = v  # the values of max/min over a dim, or of adaptive max pooling
            else:
                raise _fail(n, "reads the indices of a max (return_indices): cnncalc has no layer for them")
            pieces[(res.of.node, res.index)] = values[n.name]
        else:
            for p in res.params:
                if p.fqn in claimed:
                    raise _fail(n, f"uses the parameter '{p.fqn}' again (shared weights): cnncalc would count it twice")
                claimed.add(p.fqn)
            mapped.append(res)
            values[n.name] = (n.name, None)
    outs: list[Value] = []
    for o in cap.outputs:
        got = values.get(o.node) if isinstance(o, Ref) else None
        if got is None:
            raise refuse(f"the model returns {type(o).__name__ if not isinstance(o, Ref) else o.node}, "
                         "which is not a tensor computed from the input")
        if got == INPUT:
            raise refuse("the model returns its input: cnncalc's outputs are layers")
        if got in outs:
            raise refuse("the model returns one tensor twice: cnncalc lists each output once")
        outs.append(got)
    if not outs:
        raise refuse("the model returns no tensor")
    root = Group("", ())
    # rows per module: a module computing exactly one op (and holding no other rows) is that row
    own: dict[tuple[str, ...], list[Mapped]] = {}
    for m in mapped:
        own.setdefault(tuple(_components(m.node.scope)), []).append(m)
    holders = {p[:k] for p in own for k in range(len(p))}

    def childless(m: Mapped) -> bool:
        module = cap.modules.get(m.node.scope[-1].path) if m.node.scope else None
        return module is not None and not any(True for _ in module.children())

    for m in mapped:
        comps = tuple(_components(m.node.scope))
        group_path = comps
        leaf = bool(comps) and len(own[comps]) == 1 and comps not in holders
        # a module without submodules that computes several ops (Conv2dSame: pad, then conv) is the
        # row giving its output, named by its path, after rows <name>_<op> for the ops before it
        several = bool(comps) and not leaf and comps not in holders and childless(m)
        if leaf or several:
            group_path = comps[:-1]
        g = root
        for k, c in enumerate(group_path):
            child = g.index.get(c)
            if not isinstance(child, Group):
                if child is not None:
                    raise _fail(m.node, f"'{c}' names both a module and a row in '{'.'.join(g.path)}'")
                frame = _frame_at(m.node.scope, group_path[:k + 1])
                child = Group(c, (*g.path, c), frame.cls if frame else "", frame is None)
                g.children.append(child)
                g.index[c] = child
            g = child
        if several:
            name = comps[-1] if m is own[comps][-1] else f"{comps[-1]}_{_op_name(m)}"
        else:
            name = comps[-1] if leaf else _op_name(m)
        base, k = name, 0
        while name in g.index:
            k += 1
            name = f"{base}_{k}"
        ins = [values[r.node] for r in m.inputs]
        row = Row(m, name, ins)
        g.children.append(row)
        g.index[name] = row
    order = {n.name: i for i, n in enumerate(cap.nodes)}
    _untangle(root, order, values)
    _repath(root, ())
    return root, outs, mapped


def _rows_of(c: Row | Group) -> list[Row]:
    if isinstance(c, Row):
        return [c]
    return [r for x in c.children for r in _rows_of(x)]


def _span(c: Row | Group, order: dict[str, int]) -> tuple[int, int]:
    at = [order[r.mapped.node.name] for r in _rows_of(c)]
    return min(at), max(at)


def _untangle(g: Group, order: dict[str, int], values: dict[str, Value]) -> None:
    """Wire each container that is never called itself (an nn.ModuleList) as one unit, or dissolve it.

    A group is wired as one unit, so one whose items interleave with ops of its caller that they
    read (Res2Net's convs, bns and adds) would make a cycle. Such a container is dissolved: its
    items move up into the caller, named by their path ``convs.0`` (a dotted name: the list is a
    path, not a group), and the caller's own ops keep the caller's names (``layer1.0.add``).
    """
    changed = True
    while changed:
        changed = False
        for c in list(g.children):
            if not isinstance(c, Group) or not c.virtual:
                continue
            rows = _rows_of(c)
            inside = {r.mapped.node.name for r in rows}
            first, _ = _span(c, order)
            if not any(v != INPUT and v[0] not in inside and order.get(v[0], -1) > first
                       for r in rows for v in r.inputs):
                continue
            at = g.children.index(c)
            moved = []
            for x in c.children:
                x.name = f"{c.name}.{x.name}"
                moved.append(x)
            g.children[at:at + 1] = moved
            del g.index[c.name]
            for x in moved:
                if x.name in g.index:
                    raise refuse(f"'{x.name}' names two rows of '{'.'.join(g.path)}'")
                g.index[x.name] = x
            changed = True
            break
    # items run in the order of their first op
    g.children.sort(key=lambda x: _span(x, order)[0])
    for c in g.children:
        if isinstance(c, Group):
            _untangle(c, order, values)


def _repath(g: Group, path: tuple[str, ...]) -> None:
    g.path = path
    for c in g.children:
        if isinstance(c, Group):
            _repath(c, (*path, c.name))
        else:
            c.path = (*path, c.name)


#: Ops that view a tensor in another shape without computing: on a parameter, the parameter itself.
_VIEWS = ("aten.view", "aten.reshape", "aten._unsafe_view", "aten.unsqueeze", "aten.squeeze")


def _fold_parameter_views(cap: Capture) -> None:
    """``self.gamma.reshape(1, -1, 1, 1)`` is the parameter in another shape: the ops that read it get the parameter."""
    views: dict[str, Param] = {}

    def sub(v: Any) -> Any:
        if isinstance(v, Ref) and v.node in views:
            return views[v.node]
        if isinstance(v, (list, tuple)):
            return type(v)(sub(x) for x in v)
        return v

    kept = []
    for n in cap.nodes:
        n.args = sub(n.args)
        n.kwargs = {k: sub(v) for k, v in n.kwargs.items()}
        src = n.args[0] if n.args else None
        if n.op in _VIEWS and isinstance(src, Param) and isinstance(n.out, tuple):
            views[n.name] = Param(src.fqn, n.out, src.buffer)
            continue
        kept.append(n)
    cap.nodes[:] = kept
    cap.outputs[:] = [sub(o) for o in cap.outputs]


def _copy_first(cap: Capture) -> None:
    """The copies PyTorch makes inside an op, as ops of their own, as PyTorch runs them: a reshape or
    flatten whose input's strides allow no view is a copy to a contiguous tensor (``x.contiguous()``),
    then the view; so is an operand of a matrix product that autograd keeps a copy of, of its own
    size (one it broadcasts into a larger copy stays, and is refused), and the input of a group norm
    that is not contiguous (a channel slice)."""
    nodes: list[Node] = []
    taken = {n.name for n in cap.nodes}
    outs = {n.name: n.out for n in cap.nodes}

    def copy(n: Node, k: int) -> None:
        name = f"{n.name}_contiguous"
        while name in taken:
            name += "_"
        taken.add(name)
        src = n.args[k]
        nodes.append(Node(name, "aten.contiguous.default", (src,), {}, outs.get(src.node), n.scope, n.file, n.line))
        n.args = (*n.args[:k], Ref(name), *n.args[k + 1:])

    for n in cap.nodes:
        if n.copies and n.args and isinstance(n.args[0], Ref):
            copy(n, 0)
            n.copies = False
        kept = list(n.operand_copies)
        for k, numel in enumerate(n.operand_copies):
            src = n.args[k]
            shape = outs.get(src.node) if isinstance(src, Ref) else None
            if numel and isinstance(shape, tuple) and numel == math.prod(shape):
                copy(n, k)
                kept[k] = 0
        n.operand_copies = tuple(kept)
        nodes.append(n)
    cap.nodes[:] = nodes


def _refs(v: Any) -> list[str]:
    if isinstance(v, Ref):
        return [v.node]
    if isinstance(v, (list, tuple)):
        return [r for x in v for r in _refs(x)]
    if isinstance(v, dict):
        return [r for x in v.values() for r in _refs(x)]
    return []


def _fuse(cap: Capture, ctx: Context) -> tuple[dict[str, Mapped], set[str]]:
    """Runs of ops that a pattern makes one layer: the layer by the run's last op, and the ops it absorbs."""
    readers: dict[str, int] = {}
    for n in cap.nodes:
        for r in _refs((n.args, n.kwargs)):
            readers[r] = readers.get(r, 0) + 1
    for o in cap.outputs:
        for r in _refs(o):
            readers[r] = readers.get(r, 0) + 1
    runs: list[list[Node]] = []
    by_frame: dict[tuple[Frame, ...], list[Node]] = {}
    for n in cap.nodes:
        by_frame.setdefault(n.scope, []).append(n)
    runs += [ns for scope, ns in by_frame.items() if scope]
    nodes = cap.nodes
    for size in (5, 4, 3):  # 5: a gain's two ops, a standardisation's two, a convolution
        runs += [nodes[i:i + size] for i in range(len(nodes) - size + 1)
                 if all(m.scope == nodes[i].scope for m in nodes[i:i + size])]
    fused: dict[str, Mapped] = {}
    skip: set[str] = set()
    for run in runs:
        if any(n.name in skip or n.name in fused for n in run):
            continue
        # the ops inside the run are read only inside it
        if any(readers.get(n.name, 0) != 1 for n in run[:-1]) and len(run) <= 4:
            continue
        module = cap.modules.get(run[0].scope[-1].path) if run[0].scope else None
        for pat in PATTERNS:
            try:
                got = pat.fn(run, module, ctx)
            except Unmappable:
                got = None
            if got is not None:
                got.fused = True
                fused[run[-1].name] = got
                skip.update(n.name for n in run[:-1])
                break
    return fused, skip


def _frame_at(scope: Sequence[Frame], comps: Sequence[str]) -> Frame | None:
    """The module whose name components are ``comps`` (None for a path between modules)."""
    for i in range(len(scope)):
        if tuple(_components(scope[: i + 1])) == tuple(comps):
            return scope[i]
    return None


# ---------------------------------------------------------------------------------------------
# text


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
#: Words YAML reads as something other than a string (1.1's too, which editors still use).
_SPECIAL = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "none", "nan", "inf"}


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            raise ValueError(v)
        if math.isinf(v):
            return ".inf" if v > 0 else "-.inf"  # YAML's infinities
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    text = str(v)
    if _PLAIN.fullmatch(text) and text.lower() not in _SPECIAL:
        return text
    return json.dumps(text, ensure_ascii=False)


def _flow(d: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in d.items()) + "}"


class _Writer:
    def __init__(self, root: Group) -> None:
        self.lines: list[str] = []
        self.where: dict[Value, tuple[str, ...]] = {}
        self.owner: dict[str, Row] = {}
        self._index(root)
        self.external: dict[int, list[Value]] = {}
        self._externals(root)

    def _index(self, g: Group) -> None:
        for c in g.children:
            if isinstance(c, Row):
                self.where[(c.mapped.node.name, None)] = c.path
                self.owner[c.mapped.node.name] = c
            else:
                self._index(c)

    def _inside(self, v: Value, g: Group) -> bool:
        if v == INPUT:
            return False
        path = self.where[(v[0], None)]
        return path[: len(g.path)] == g.path and len(path) > len(g.path)

    def _externals(self, g: Group) -> list[Value]:
        ext: list[Value] = []
        for c in g.children:
            reads = c.inputs if isinstance(c, Row) else self._externals(c)
            for v in reads:
                if not self._inside(v, g) and v not in ext:
                    ext.append(v)
        self.external[id(g)] = ext
        return ext

    def ref(self, v: Value, scope: Group, names: dict[Value, str]) -> str:
        """How ``v`` is written inside ``scope``: a relative path, or one of the scope's input names."""
        if v in names:
            return names[v]
        if v == INPUT:
            return "input"
        base = ".".join(self.where[(v[0], None)][len(scope.path):])
        return base if v[1] is None else f"{base}.{v[1]}"

    def last(self, c: Row | Group) -> Value:
        """The value a row or group gives (a group: its last listed item)."""
        while isinstance(c, Group):
            c = c.children[-1]
        return (c.mapped.node.name, None)

    def write(self, g: Group, names: dict[Value, str], indent: str) -> None:
        prev: Value | None = None
        first = self.external[id(g)][0] if g.path else INPUT
        for c in g.children:
            reads = c.inputs if isinstance(c, Row) else self.external[id(c)]
            implicit = [prev] if prev is not None else [first]
            # a split read whole is every piece: name the piece
            src = None if reads == implicit and all(v[1] is None for v in reads) else [
                self.ref(v, g, names) for v in reads]
            name = c.path[-1]
            if isinstance(c, Row):
                m = c.mapped
                args: dict[str, Any] = {"name": name}
                if src is not None:
                    args["from"] = src[0] if len(src) == 1 else src
                args.update(m.args)
                self.lines.append(f"{indent}- {m.type}: {_flow(args)}")
            else:
                ext = self.external[id(c)]
                inner: dict[Value, str] = {}
                head: dict[str, Any] = {"name": name}
                if len(ext) > 1:
                    taken = set(c.index)
                    labels = []
                    for k, v in enumerate(ext):
                        label = f"in{k}"
                        while label in taken:
                            label = "_" + label
                        labels.append(label)
                        inner[v] = label if k else "input"
                    head["inputs"] = labels
                else:
                    inner[ext[0]] = "input"
                if src is not None:
                    head["from"] = src[0] if len(src) == 1 else src
                comment = f"  # {c.cls}" if c.cls else ""
                self.lines.append(f"{indent}- sequential:{comment}")
                for key, val in head.items():
                    self.lines.append(f"{indent}    {key}: {_scalar(val)}")
                self.lines.append(f"{indent}    layers:")
                self.write(c, inner, indent + "      ")
            prev = self.last(c)


@dataclass(frozen=True)
class Emitted:
    """The description's text, each row's name → the op it came from, and the parameters the rows hold."""

    text: str
    rows: dict[str, str]
    params: frozenset[str]


def emit(cap: Capture, name: str) -> Emitted:
    """The description of a captured model as YAML text, with the rows' origins."""
    root, outs, mapped = plan(cap)
    w = _Writer(root)
    lines = [f"# Imported from PyTorch by cnncalc import: {name}.",
             "# Rows are named by module path, as in named_modules().",
             f"name: {_scalar(name)}",
             f"input: {_scalar(list(cap.input_shape))}"]
    if outs != [w.last(root)]:
        # every tensor the model returns, in order (a dict's values, a tuple's items)
        lines.append("outputs: [" + ", ".join(_scalar(w.ref(o, root, {})) for o in outs) + "]")
    lines.append("layers:")
    w.write(root, {}, "  ")
    rows = {".".join(r.path): node for node, r in w.owner.items()}
    held = frozenset(p.fqn for m in mapped for p in m.params)
    return Emitted("\n".join(lines + w.lines) + "\n", rows, held)
