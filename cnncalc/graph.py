"""From a validated description to a flat graph: names, wiring, blocks expanded, shapes inferred.

- Each item takes its input from the previous item of its list (the scope's input for the
  first), or from the names in ``from``. ``input`` names the scope's input. Items run in a
  topological order that keeps the listed order where the wiring allows.
- Names are hierarchical like PyTorch module paths: ``layer1.0.conv1``. Unnamed items get
  ``conv1``, ``bn1``, ... (in a ``sequential``: their position, ``features.0``).
- A block call expands the block's body once per ``repeat``, with the block's arguments,
  ``index`` (the repeat index) and ``in_channels`` (of the instance's input) bound for
  ``$expressions``. An item whose ``if`` is false is skipped and its name stands for its input.
- The listed last item of a scope is its output. A network may name its outputs instead
  (``outputs: [head1, head2]``); a layer whose result reaches none of them is reported as a
  warning (its compute is counted, its result is not kept).
- A block or ``sequential`` may take several named inputs (``inputs: [x, skip]``), given at the
  call by name (``from: {x: up3, skip: down2}``) or in order (``from: [up3, down2]``); inside,
  ``from: skip`` reads that input and ``input`` the first.
- ``from: blocks.*.skip`` reads every layer the pattern matches, ``*`` standing for one name
  component (each instance of a repeated block, in order).
- An argument written ``like <layer>`` (upsample's ``size``) takes that layer's spatial sizes:
  the layer is a dependency for its shape only, not an input.
- A ``split`` or ``chunk`` without ``index`` stands for all its pieces: one layer per piece,
  ``s.0``, ``s.1``, ... (read one as ``from: s.1``); read as ``s`` (or by the next item) it gives
  every piece, in order.
- ``frozen`` (on a layer, a ``sequential``, a block call or a block definition) freezes the
  parameters inside, as PyTorch's ``requires_grad_(False)``; the innermost setting wins, and a
  call's setting wins over its block definition's (the caller runs after the block's constructor).

Problems are collected rather than raised one at a time: an item that fails (a shape that does
not fit, an unknown ``from``, a bad block argument) is reported, its output is marked as
unknown, and everything that depends on it is skipped, while independent items are still checked.
Limits on the expanded size and on nesting are checked before anything is expanded.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from pydantic import ValidationError

from .errors import MAX_PROBLEMS, LayerError, OptionError, Problem, ShapeError, SpecError
from .expr import ExprError, contains_expr, evaluate, is_expr, substitute
from .layers import Layer, Shape, fmt_shape
from .layers.base import MAX_INT, Counts, Layout, Like, channels_first
from .spec import Call, Network, suggest


@runtime_checkable
class _Divisible(Protocol):
    """A layer that can stand for all its pieces (split, chunk): one layer per piece."""

    def pieces(self, shape: Shape) -> list[int]:
        """The size of each piece along the divided axis."""


INPUT = -1
#: Stands for the output of an item that failed: items that depend on it are skipped.
UNKNOWN = -2
#: A ``from`` that could not be read (reported when wired): the item is skipped.
_BAD = "\0"
#: Upper bound on the number of layers after expanding blocks, checked before expanding.
MAX_LAYERS = 100_000
#: Upper bound on how deep block calls and sequential groups nest inside one another.
MAX_NESTING = 100
#: Largest size of a tensor (elements, without the batch) and of any of its axes: PyTorch
#: counts sizes in signed 64-bit integers.
MAX_ELEMENTS = MAX_INT


@dataclass(slots=True)
class Node:
    """One concrete layer of the expanded graph."""

    index: int
    name: str
    layer: Layer
    inputs: tuple[int, ...]
    in_shapes: tuple[Shape, ...]
    out_shape: Shape
    path: tuple[Any, ...]
    #: which input spatial axis each output axis runs along (see ``layers.base.Layout``)
    layout: Layout = ()
    #: arguments written ``like <layer>``: (argument, the node whose shape gave the sizes)
    like: tuple[tuple[str, int], ...] = ()
    #: its parameters are frozen (``requires_grad_(False)``): no gradient, no optimizer state
    frozen: bool = False


@dataclass
class Graph:
    """The expanded network: nodes in execution order; ``inputs`` refer to node indices or INPUT."""

    name: str
    input_shape: Shape
    nodes: list[Node]
    #: the first output (the last item when the network names none)
    output: int
    network: Network = field(repr=False)
    #: every group of layers (a sequential, a block instance, a repeated call) by name:
    #: what it is (``sequential``, ``bottleneck``, ``bottleneck ×3``) and its output node
    groups: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: every output the network returns, in order (``outputs:``; else the last item alone)
    outputs: tuple[int, ...] = ()
    #: things worth saying that do not stop the analysis (a branch that reaches no output)
    warnings: tuple[Problem, ...] = ()
    #: the name of each output as the network lists it (a layer or a group, or ``input``)
    output_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.outputs:
            self.outputs = (self.output,)
        if not self.output_names:
            self.output_names = tuple(self.input_name(o) for o in self.outputs)
    _counts: list[Counts] | None = field(default=None, init=False, repr=False, compare=False)

    def input_name(self, ref: int) -> str:
        """Name of a node index, or ``input``."""
        return "input" if ref == INPUT else self.nodes[ref].name

    def counts(self) -> list[Counts]:
        """Each node's counts, computed once per graph and once per distinct (layer, input shapes).

        Repeated blocks and long chains hold many equal layers on equal inputs: they share one
        :class:`Counts` instead of rebuilding the same formula terms.
        """
        if self._counts is None:
            memo: dict[Any, Counts] = {}
            out = []
            for n in self.nodes:
                key = (n.layer, n.in_shapes)
                try:
                    c = memo.get(key)
                except TypeError:  # an argument holding a list (upsample's scale_factor): not shared
                    c = n.layer.counts(n.in_shapes, n.out_shape)
                if c is None:
                    c = memo[key] = n.layer.counts(n.in_shapes, n.out_shape)
                out.append(c)
            self._counts = out
        return self._counts


def build(network: Network, input_shape: Sequence[int] | None = None) -> Graph:
    """Expand and wire ``network``; raise :class:`SpecError` / :class:`ShapeError` with locations.

    Every independent problem is reported at once; a :class:`ShapeError` when all are about shapes.
    """
    shape = tuple(input_shape) if input_shape is not None else tuple(network.input)
    b = _Builder(network, shape)
    if math.prod(shape) > MAX_ELEMENTS:
        too_big = "has more than 2^63 − 1 elements, more than PyTorch can hold"
        if input_shape is not None:
            raise OptionError(f"input shape {'x'.join(map(str, shape))} {too_big}")
        raise b.fail(("input",), f"input {too_big}", cls=ShapeError)
    b.check_size()
    out = UNKNOWN
    more = 0
    try:
        out = b.scope(network.layers, ("layers",), "", INPUT, {}, "type")
    except SpecError as err:
        b.note(err)
    except _TooMany:
        more = 1  # at least one more; the count is not known as the build stopped
    if b.problems:
        cls = ShapeError if all(isinstance(e, ShapeError) for e in b.errors) else SpecError
        problems = sorted(b.problems, key=lambda p: (p.line or 0, p.column or 0))
        if more:
            problems.append(Problem(f"stopped after {len(problems)} problems", file=b.src.name if b.src else None))
        raise cls(problems)
    b.freeze()
    if not b.nodes:
        # as torch.nn.Sequential() with nothing in it: an identity, which has no layer to report
        raise b.fail(("layers",), "every item was skipped ('if' false) or is an empty group or block, so the "
                     "network has no layers", key=True)
    outs, names = b.outputs(out)
    return Graph(network.name or "network", shape, b.nodes, outs[0], network, b.groups, outs, b.dead(outs), names)


def freeze(graph: Graph, names: Sequence[str]) -> Graph:
    """``graph`` with every layer named in ``names``, or inside a group named there, frozen
    (``model.get_submodule(name).requires_grad_(False)``); the graph given is left as it is."""
    layers = [n.name for n in graph.nodes]
    known = {*layers, *graph.groups}
    for name in names:
        if name not in known:
            raise OptionError(f"--freeze: no layer or group named '{name}'{suggest(name, known)}")
    wanted = set(names)
    nodes = []
    for node in graph.nodes:
        parts = node.name.split(".")
        inside = any(".".join(parts[:k]) in wanted for k in range(1, len(parts) + 1))
        nodes.append(replace(node, frozen=True) if inside else node)
    out = replace(graph, nodes=nodes)
    out._counts = graph._counts  # the counts do not depend on freezing
    return out


class _Unknown(Exception):
    """An input of the item being expanded is the output of an item that failed."""


class _TooMany(Exception):
    """Enough problems were found to stop looking for more."""


def _unpack(item: Any) -> tuple[str, Any]:
    """(type name, object) of a validated item wrapper."""
    if isinstance(item, Call):
        return "call", item
    ((key, obj),) = item.__dict__.items()  # a wrapper's one field
    return key, obj


@dataclass
class _Entry:
    kind: str
    obj: Any
    item: int = 0
    index: int | None = None
    name: str = ""
    deps: list[int] = field(default_factory=list)
    present: bool = True
    #: the layers named by ``like <layer>`` arguments (a dependency for their shape only)
    likes: list[str] = field(default_factory=list)


class _SizeCheck:
    """Counts the layers and the nesting a description expands to, without expanding it."""

    def __init__(self, builder: _Builder) -> None:
        self.builder = builder
        self.memo: dict[str, tuple[int, int]] = {}  # block → (layers, nesting depth of its body)
        self.active: list[str] = []  # the blocks being counted, outermost first

    def items(self, items: list[Any], path: tuple[Any, ...], depth: int) -> tuple[int, int]:
        """(layers, nesting depth) of a list of items at nesting ``depth``."""
        total, deepest = 0, 0
        for i, item in enumerate(items):
            kind, obj = _unpack(item)
            if kind == "sequential":
                n, d = self.items(obj.layers, (*path, i, "sequential", "layers"), depth + 1)
                d += 1
            elif kind == "call":
                n, d = self.block(obj.block, (*path, i), depth + 1)
                n, d = (obj.repeat or 1) * n, d + 1
            else:
                n, d = 1, 0
            total, deepest = total + n, max(deepest, d)
            if total > MAX_LAYERS:
                raise self.builder.fail((*path, i), f"expands to more than {MAX_LAYERS:,} layers, the limit")
            if depth + d > MAX_NESTING:
                raise self.builder.fail((*path, i), f"blocks and groups nest more than {MAX_NESTING} deep, the limit")
        return total, deepest

    def block(self, name: str, path: tuple[Any, ...], depth: int) -> tuple[int, int]:
        """(layers, nesting depth) of the body of block ``name``, counted once."""
        if name in self.active:
            cycle = " → ".join([*self.active[self.active.index(name):], name])
            raise self.builder.fail(path, f"block '{name}' calls itself: {cycle}")
        if depth > MAX_NESTING:
            raise self.builder.fail(path, f"blocks and groups nest more than {MAX_NESTING} deep, the limit")
        if name not in self.memo:
            self.active.append(name)
            self.memo[name] = self.items(self.builder.net.blocks[name].layers, ("blocks", name, "layers"), depth)
            self.active.pop()
        return self.memo[name]


class _Builder:
    def __init__(self, network: Network, input_shape: Shape) -> None:
        self.net = network
        self.src = network.source
        self.input_shape = input_shape
        self.nodes: list[Node] = []
        self.names: dict[str, int] = {}
        self.cache: dict[Any, Layer] = {}
        self.has_expr: dict[int, list[str]] = {}
        #: (layer, input shapes, input layouts) → (output shape, layout): equal layers on equal
        #: inputs (a chain, a repeated block) infer once
        self.inferred: dict[Any, tuple[Shape, Layout]] = {}
        self.groups: dict[str, tuple[str, int]] = {}
        #: the pieces of each split or chunk that stands for all of them, by full name
        self.parts: dict[str, list[int]] = {}
        self.stack: list[str] = []
        self.problems: dict[Problem, None] = {}  # in the order found, without repeats
        #: the ``frozen`` setting of each group (a sequential, a block instance) that states one
        self.frozen_at: dict[str, bool] = {}
        self.errors: list[SpecError] = []

    # -- errors ---------------------------------------------------------------------------------
    def fail(self, path: tuple[Any, ...], msg: str, name: str | None = None, typ: str | None = None,
             cls: type[SpecError] = SpecError, *, key: bool = False) -> SpecError:
        if self.src is None:
            return cls([Problem(msg, layer=name, layer_type=typ)])
        return cls([self.src.problem(msg, path, layer=name, layer_type=typ, key=key)])

    def args_path(self, path: tuple[Any, ...]) -> tuple[Any, ...]:
        """Where a layer item's arguments are, under its type as written (which may be an alias)."""
        item: Any = self.src.data if self.src is not None else None
        for key in path:
            try:
                item = item[key]
            except (KeyError, IndexError, TypeError):
                return path
        return (*path, next(iter(item))) if isinstance(item, dict) and len(item) == 1 else path

    def enough(self) -> None:
        """Stop once there are :data:`MAX_PROBLEMS` problems: more would not be read."""
        if len(self.problems) >= MAX_PROBLEMS:
            raise _TooMany

    def note(self, err: SpecError) -> None:
        """Record a problem and go on with what does not depend on it."""
        self.errors.append(err)
        for p in err.problems:
            self.problems.setdefault(p)

    # -- size check before any expansion ---------------------------------------------------------
    def check_size(self) -> None:
        """Reject recursive blocks, too deep nesting and too many layers, before expanding anything."""
        _SizeCheck(self).items(self.net.layers, ("layers",), 0)

    # -- expansion -------------------------------------------------------------------------------
    def shape_of(self, ref: int) -> Shape:
        if ref == UNKNOWN:
            raise _Unknown
        return self.input_shape if ref == INPUT else self.nodes[ref].out_shape

    def layout_of(self, ref: int) -> Layout:
        return channels_first(len(self.input_shape)) if ref == INPUT else self.nodes[ref].layout

    def scope(self, items: list[Any], path: tuple[Any, ...], prefix: str, scope_in: int,
              env: dict[str, Any], naming: str, named: dict[str, int] | None = None) -> int:
        """Expand one list of items; return the node that is its output.

        ``named`` maps the names of the scope's inputs (a block's ``inputs:``) to their values;
        ``scope_in`` is the first of them.
        """
        named = named or {}
        entries: list[_Entry] = []
        for pos, item in enumerate(items):
            kind, obj = _unpack(item)
            if kind == "call" and obj.repeat is not None and obj.name is None:
                # an unnamed repeated call is the call written `repeat` times: each instance is
                # an item of this scope, named like one (denselayer1, denselayer2 / 3, 4, ...)
                entries += [_Entry(kind, obj, pos, k) for k in range(obj.repeat)]
            else:
                entries.append(_Entry(kind, obj, pos))
        for e in entries:
            e.present = self.condition(e.obj, env, (*path, e.item), e.obj.name and prefix + e.obj.name, e.kind)
        self.assign_names(entries, path, prefix, naming)
        local: dict[str, int] = {}
        for i, e in enumerate(entries):
            if e.present or e.name not in local:
                local[e.name] = i
        for e in entries:
            # a dotted name is a path (`bns.0`): none of its upper levels may be an item of this
            # list, or `bns.0` would also name the row `0` of the group `bns` (or piece 0 of a split)
            parts = e.name.split(".")
            above = next((".".join(parts[:k]) for k in range(1, len(parts)) if ".".join(parts[:k]) in local), None)
            if above is not None:
                raise self.fail((*path, e.item), f"'{e.name}' is a path inside '{above}', which is another item of "
                                "this list; name it inside that group, or rename one", prefix + e.name, e.kind)
            if e.name in named:
                raise self.fail((*path, e.item), f"'{e.name}' names an input of the group already; rename the layer",
                                prefix + e.name, e.kind)
        refs: list[list[str | None]] = []
        for i, e in enumerate(entries):
            try:
                srcs: list[str | None] = self.sources(e, i, path, prefix)
            except SpecError as err:
                self.note(err)
                srcs = [_BAD]
            if e.index:
                srcs = [None, *srcs[1:]]  # a repeat instance chains its first input
            if e.kind not in ("call", "sequential"):
                e.likes = [v.ref for v in e.obj.__dict__.values() if isinstance(v, Like)]
            refs.append(srcs)
            for r in [*srcs, *e.likes]:
                if r is None:
                    e.deps.append(i - 1)
                elif r != "input" and r != _BAD and r not in named:
                    head = _head(r, local)
                    if head not in local:
                        hint = suggest(head, [*(n for n in local if not n.startswith("$")), "input"])
                        self.note(self.fail((*path, e.item), f"takes input from unknown layer '{r}'{hint}",
                                            prefix + e.name, e.kind))
                    elif local[head] == i:
                        self.note(self.fail((*path, e.item), "takes input from itself", prefix + e.name, e.kind))
                    else:
                        e.deps.append(local[head])
        self.enough()
        outputs: dict[int, int] = {}
        for i in self.order(entries, path, prefix):
            e = entries[i]
            try:
                ins = [v for r in refs[i] for v in self.resolve(r, i, scope_in, outputs, entries, local, prefix,
                                                                 path, named)]
                likes = {}
                for r in e.likes:
                    got = self.resolve(r, i, scope_in, outputs, entries, local, prefix, path, named)
                    if len(got) != 1:
                        raise self.fail((*path, e.item), f"like '{r}' matches {len(got)} layers; name one",
                                        prefix + e.name, e.kind)
                    likes[r] = got[0]
                outputs[i] = self.expand(e, ins, (*path, e.item), prefix, env, likes)
            except _Unknown:
                outputs[i] = UNKNOWN
            except SpecError as err:
                self.note(err)
                self.enough()
                outputs[i] = UNKNOWN
            if outputs[i] == UNKNOWN:
                self.names[prefix + e.name] = UNKNOWN
        return outputs[len(entries) - 1] if entries else scope_in

    def assign_names(self, entries: list[_Entry], path: tuple[Any, ...], prefix: str, naming: str) -> None:
        # explicit names must be unique among the items that are present; items whose `if`
        # differs may share a name (alternatives, e.g. one activation or another)
        taken: dict[str, int] = {}
        for i, e in enumerate(entries):
            if e.obj.name is not None:
                other = taken.get(e.obj.name)
                if other is not None and e.present and entries[other].present:
                    item = entries[other].item
                    raise self.fail((*path, e.item), f"duplicate name '{e.obj.name}' (also layer #{item + 1})",
                                    prefix + e.obj.name, e.kind)
                if other is None or e.present:
                    taken[e.obj.name] = i
                e.name = e.obj.name
        counters: dict[str, int] = {}
        # index naming counts only the items that are present, as a PyTorch list built with
        # `if ...: layers.append(...)` does; a skipped unnamed item gets a name no user can write
        position = 0
        for i, e in enumerate(entries):
            if e.name:
                position += e.present
                continue
            if naming == "index" and not e.present:
                e.name = f"$skipped{i}"
                continue
            if naming == "index":
                stem, n = str(position), None
                position += 1
            else:
                stem = e.obj.block if e.kind == "call" else ("seq" if e.kind == "sequential" else e.obj.prefix)
                n = counters.get(stem, 0)
            name = stem
            while n is not None:
                n += 1
                name = f"{stem}{n}"
                if name not in taken:
                    counters[stem] = n
                    break
            if name in taken:
                raise self.fail((*path, e.item), f"automatic name '{name}' is already taken", prefix + name, e.kind)
            taken[name] = i
            e.name = name

    def order(self, entries: list[_Entry], path: tuple[Any, ...], prefix: str) -> list[int]:
        """Topological order (Kahn), preferring the listed order."""
        n = len(entries)
        users: list[list[int]] = [[] for _ in range(n)]
        indeg = [0] * n
        for i, e in enumerate(entries):
            for d in e.deps:
                users[d].append(i)
                indeg[i] += 1
        ready = [i for i in range(n) if indeg[i] == 0]
        heapq.heapify(ready)
        out: list[int] = []
        while ready:
            i = heapq.heappop(ready)
            out.append(i)
            for u in users[i]:
                indeg[u] -= 1
                if indeg[u] == 0:
                    heapq.heappush(ready, u)
        if len(out) < n:
            left = {i for i in range(n) if indeg[i] > 0}
            start = min(left)
            seen: list[int] = []
            cur = start
            while cur not in seen:
                seen.append(cur)
                cur = next(d for d in entries[cur].deps if d in left)
            cycle = [entries[j].name for j in seen[seen.index(cur):]] + [entries[cur].name]
            raise self.fail((*path, entries[cur].item), "cycle in the wiring: " + " → ".join(reversed(cycle)),
                            prefix + entries[cur].name, entries[cur].kind)
        return out

    def sources(self, e: _Entry, i: int, path: tuple[Any, ...], prefix: str) -> list[str | None]:
        """The references an item reads, in the order of its inputs (None: the previous item)."""
        given = e.obj.from_
        if given is None:
            return ["input"] if i == 0 else [None]
        if not isinstance(given, dict):
            return list(given)
        block = self.net.blocks[e.obj.block] if e.kind == "call" else e.obj
        want = tuple(block.inputs or ("input",))
        for key in given:
            if key not in want:
                what = f"block '{e.obj.block}'" if e.kind == "call" else "the group"
                raise self.fail((*path, e.item), f"{what} has no input '{key}'{suggest(key, want)}; its inputs are "
                                f"{', '.join(want)}", prefix + e.name, e.kind)
        missing = [key for key in want if key not in given]
        if missing:
            raise self.fail((*path, e.item), f"input '{missing[0]}' is not given in 'from'", prefix + e.name, e.kind)
        return [given[key] for key in want]

    def resolve(self, ref: str | None, i: int, scope_in: int, outputs: dict[int, int], entries: list[_Entry],
                local: dict[str, int], prefix: str, path: tuple[Any, ...],
                named: dict[str, int] | None = None) -> list[int]:
        """The values a reference reads: one, or every match of a ``*`` pattern."""
        if ref is None:
            return self.parts.get(prefix + entries[i - 1].name, [outputs[i - 1]])
        if ref == _BAD:
            return [UNKNOWN]
        if ref == "input":
            return [scope_in]
        if named and ref in named:
            return [named[ref]]
        head = _head(ref, local)
        if head not in local or local[head] == i:
            return [UNKNOWN]  # reported when the scope was wired
        if ref == head or outputs[local[head]] == UNKNOWN:
            return self.parts.get(prefix + ref, [outputs[local[head]]])
        if "*" in ref.split("."):
            found = self.matching(prefix + ref)
            if not found:
                raise self.fail((*path, entries[i].item), f"'{ref}' matches no layer", prefix + entries[i].name,
                                entries[i].kind)
            return found
        full = prefix + ref
        if full not in self.names:
            raise self.fail((*path, entries[i].item), f"takes input from unknown layer '{ref}'",
                            prefix + entries[i].name, entries[i].kind)
        return [self.names[full]]

    def matching(self, pattern: str) -> list[int]:
        """The values of every name that ``pattern`` matches, ``*`` standing for one component, in build order."""
        rx = _pattern(pattern)
        return [v for name, v in self.names.items() if rx.fullmatch(name)]

    def outputs(self, last: int) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """The network's outputs and their names: those listed under ``outputs:``, or its last item."""
        refs = self.net.outputs
        if not refs:
            return (last,), ()
        out: dict[str, int] = {}
        problems = []
        for k, ref in enumerate(refs):
            if ref == "input":
                found = {"input": INPUT}
            elif ref in self.parts:
                found = {f"{ref}.{n}": v for n, v in enumerate(self.parts[ref])}
            elif "*" in ref.split("."):
                rx = _pattern(ref)
                found = {n: v for n, v in self.names.items() if rx.fullmatch(n)}
            else:
                found = {ref: self.names[ref]} if ref in self.names and not ref.startswith("$") else {}
            if not found:
                top = [n for n in self.names if "." not in n and not n.startswith("$")]
                problems.append(self.fail(("outputs", k), f"outputs: unknown layer '{ref}'{suggest(ref, top)}"))
            twice = next((n for n in found if n in out), None)
            if twice is not None:
                problems.append(self.fail(("outputs", k), f"outputs: '{twice}' is listed twice"))
            out.update(found)
        if problems:
            raise SpecError([p for err in problems for p in err.problems])
        return tuple(out.values()), tuple(out)

    def dead(self, outputs: tuple[int, ...]) -> tuple[Problem, ...]:
        """A warning for the last layer of each branch whose result reaches no output."""
        alive = [False] * len(self.nodes)
        for o in outputs:
            if o >= 0:
                alive[o] = True
        used_by_dead = [False] * len(self.nodes)
        for node in reversed(self.nodes):
            for j in node.inputs:
                if j >= 0:
                    if alive[node.index]:
                        alive[j] = True
                    else:
                        used_by_dead[j] = True
        out = []
        for node in self.nodes:
            if not alive[node.index] and not used_by_dead[node.index]:
                msg = ("reaches no output of the network: its MACs and FLOPs are counted, but its result is not "
                       "kept (list it under 'outputs:' to keep it)")
                where = self.src.problem(msg, node.path) if self.src is not None else Problem(msg)
                out.append(Problem(where.message, where.file, where.line, where.column, node.name,
                                   node.layer.type_name))
        return tuple(out)

    def flag(self, value: Any, env: dict[str, Any], path: tuple[Any, ...], name: str | None, kind: str,
             key: str) -> bool:
        """A ``Flag`` argument of a group, its ``$expression`` evaluated."""
        if is_expr(value):
            try:
                value = evaluate(value, env)
            except ExprError as ex:
                raise self.fail(path, f"{key}: {ex}", name, kind) from None
        return bool(value)

    def freeze(self) -> None:
        """Mark the frozen nodes: a layer's own ``frozen``, else that of its innermost group stating one."""
        settings = self.frozen_at
        for node in self.nodes:
            own = node.layer.frozen
            if own is None and settings:
                parts = node.name.split(".")
                own = next((settings[g] for k in range(len(parts) - 1, 0, -1)
                            if (g := ".".join(parts[:k])) in settings), None)
            node.frozen = bool(own)

    def condition(self, obj: Any, env: dict[str, Any], path: tuple[Any, ...], name: str | None, kind: str) -> bool:
        return obj.if_ is None or self.flag(obj.if_, env, path, name, kind, "if")

    def expand(self, e: _Entry, ins: list[int], path: tuple[Any, ...], prefix: str, env: dict[str, Any],
               likes: dict[str, int] | None = None) -> int:
        full = prefix + e.name
        if not e.present:
            self.names[full] = ins[0]
            return ins[0]
        if e.kind in ("sequential", "call") and e.obj.frozen is not None:
            self.frozen_at[full] = self.flag(e.obj.frozen, env, path, full, e.kind, "frozen")
        if e.kind == "sequential":
            want = e.obj.inputs or ("input",)
            if len(ins) != len(want):
                n = len(want)
                raise self.fail(path, f"a sequential group takes {n} input{'s' if n != 1 else ''}, got {len(ins)}",
                                full, e.kind)
            named = dict(zip(want, ins)) if e.obj.inputs else None
            out = self.scope(e.obj.layers, (*path, "sequential", "layers"), full + ".", ins[0], env, e.obj.naming,
                             named)
            kind = "sequential"
        elif e.kind == "call":
            out = self.call(e.obj, ins, path, full, env, e.index)
            nested = e.index is None and e.obj.repeat is not None
            kind = f"{e.obj.block} ×{e.obj.repeat}" if nested else e.obj.block
        elif e.kind in ("split", "chunk") and e.obj.index is None:
            return self.pieces(e, ins, path, full, env)
        else:
            return self.add_layer(e, ins, path, full, env, likes or {})
        self.groups[full] = (kind, out)
        self.names[full] = out
        return out

    def call(self, call: Call, ins: list[int], path: tuple[Any, ...], full: str, env: dict[str, Any],
             index: int | None = None) -> int:
        """Instantiate a block: ``repeat`` nested instances (``full.0``, ``full.1``, ...), or the one ``index``."""
        block = self.net.blocks[call.block]
        for a in call.args:
            if a not in block.args:
                hint = suggest(a, block.args)
                raise self.fail((*path, call.block, a), f"block '{call.block}' has no argument '{a}'{hint}",
                                full, call.block)
        want = block.inputs or ("input",)
        if len(ins) != len(want):
            n = len(want)
            raise self.fail(path, f"block '{call.block}' takes {n} input{'s' if n != 1 else ''} "
                            f"({', '.join(want)}), got {len(ins)}", full, call.block)
        current = ins[0]
        self.stack.append(call.block)
        nested = index is None and call.repeat is not None
        for k in [index] if index is not None else range(call.repeat or 1):
            caller = {**env, "index": k}
            args: dict[str, Any] = {}
            for a, default in block.args.items():
                v = call.args.get(a, default)
                if v is None:
                    raise self.fail(path, f"block '{call.block}' needs argument '{a}'", full, call.block)
                if contains_expr(v):  # alone, or in a list or a mapping
                    try:
                        v = substitute(v, caller if a in call.args else {**args, "index": k})
                    except ExprError as ex:
                        # at the value given in the call, or at the block's default
                        at = (*path, call.block, a) if a in call.args else ("blocks", call.block, "args", a)
                        raise self.fail(at, f"{a}: {ex}", full, call.block) from None
                args[a] = v
            body_env = {**args, "index": k, "in_channels": self.shape_of(current)[0]}
            inst = f"{full}.{k}." if nested else f"{full}."
            if call.frozen is None and block.frozen is not None:
                self.frozen_at[inst[:-1]] = block.frozen  # the call's own setting wins (see expand)
            # a repeat chains the first input through the instances; the others reach every instance
            named = dict(zip(want, [current, *ins[1:]])) if block.inputs else None
            current = self.scope(block.layers, ("blocks", call.block, "layers"), inst, current, body_env,
                                 block.naming, named)
            if nested:
                self.groups[inst[:-1]] = (call.block, current)
        self.stack.pop()
        return current

    def pieces(self, e: _Entry, ins: list[int], path: tuple[Any, ...], full: str, env: dict[str, Any]) -> int:
        """A split or chunk standing for all its pieces: one layer per piece, ``full.0``, ``full.1``, ..."""
        if len(ins) != 1:
            raise self.fail(path, f"takes 1 input, got {len(ins)}", full, e.kind)
        layer = self.concrete(e.obj, env, path, full)
        if not isinstance(layer, _Divisible):  # pragma: no cover  (the caller sends split and chunk only)
            raise TypeError(f"a {e.kind} layer has no pieces")
        shape = self.shape_of(ins[0])
        try:
            count = len(layer.pieces(shape))
        except LayerError as ex:
            raise self.fail(self.args_path(path), f"{ex} (input {fmt_shape(shape)})", full, e.kind,
                            ShapeError) from None
        parts = [self.add_layer(_Entry(e.kind, layer.model_copy(update={"index": k}), e.item), ins, path,
                                f"{full}.{k}", env, {}) for k in range(count)]
        self.groups[full] = (f"{e.kind} ×{count}", parts[-1])
        self.parts[full] = parts
        self.names[full] = parts[-1]
        return parts[-1]

    def concrete(self, layer: Layer, env: dict[str, Any], path: tuple[Any, ...], full: str,
                 likes: dict[str, Shape] | None = None) -> Layer:
        """The layer with its ``$expressions`` evaluated and ``like`` sizes read (validated once per value set)."""
        fields = self.has_expr.get(id(layer))
        if fields is None:
            given = layer.model_fields_set  # defaults are never expressions
            fields = [k for k in type(layer).model_fields
                      if k in given and (isinstance(getattr(layer, k), Like) or contains_expr(getattr(layer, k)))]
            self.has_expr[id(layer)] = fields
        if not fields:
            return layer
        raw = layer.model_dump(by_alias=True, exclude_unset=True)
        for k in fields:
            alias = type(layer).model_fields[k].alias or k
            value = getattr(layer, k)
            if isinstance(value, Like):
                shape = (likes or {})[value.ref]
                if len(shape) < 2:
                    raise self.fail((*self.args_path(path), alias), f"{alias}: like '{value.ref}': its output "
                                    f"{fmt_shape(shape)} has no spatial axes", full, layer.type_name)
                raw[alias] = list(shape[1:])  # the spatial sizes, as ``x.shape[2:]`` in PyTorch
                continue
            try:
                raw[alias] = substitute(raw[alias], env, whole=True)
            except ExprError as ex:
                raise self.fail((*self.args_path(path), alias), f"{alias}: {ex}", full, layer.type_name) from None
        key = (type(layer), repr(sorted(raw.items())))
        hit = self.cache.get(key)
        if hit is None:
            try:
                hit = type(layer).model_validate(raw)
            except ValidationError as ve:
                err = ve.errors(include_url=False)[0]
                field_name = str(err["loc"][0]) if err["loc"] else ""
                msg = str((err.get("ctx") or {}).get("error", err["msg"]))
                raise self.fail((*self.args_path(path), field_name), f"{field_name}: {msg}", full,
                                layer.type_name) from None
            self.cache[key] = hit
        return hit

    def add_layer(self, e: _Entry, ins: list[int], path: tuple[Any, ...], full: str, env: dict[str, Any],
                  likes: dict[str, int]) -> int:
        lo, hi = e.obj.arity
        if len(ins) < lo or (hi is not None and len(ins) > hi):
            want = f"{lo}" if lo == hi else f"at least {lo}"
            raise self.fail(path, f"takes {want} input{'s' if lo != 1 else ''}, got {len(ins)}", full, e.kind)
        in_shapes = tuple(self.shape_of(r) for r in ins)
        shapes = {r: self.shape_of(j) for r, j in likes.items()} if likes else None
        layer = self.concrete(e.obj, env, path, full, shapes)
        layouts = tuple(self.layout_of(r) for r in ins)
        key: tuple[Layer, tuple[Shape, ...], tuple[Layout, ...]] | None = (layer, in_shapes, layouts)
        try:
            hit: tuple[Shape, Layout] | None
            try:
                hit = self.inferred.get(key)
            except TypeError:  # an argument holding a list (upsample's scale_factor): not shared
                key, hit = None, None
            if hit is None:
                out = layer.infer(in_shapes)
                hit = out, layer.layout(layouts, in_shapes, out)
                if key is not None:
                    self.inferred[key] = hit
            out, layout = hit
        except LayerError as ex:
            got = " and ".join(fmt_shape(s) for s in in_shapes)
            msg = str(ex) if "[" in str(ex) else f"{ex} (input {got})"
            raise self.fail(self.args_path(path), msg, full, e.kind, ShapeError) from None
        if any(d <= 0 for d in out):
            raise self.fail(self.args_path(path), f"output shape {fmt_shape(out)} is empty", full, e.kind, ShapeError)
        if math.prod(out) > MAX_ELEMENTS:
            got = " and ".join(fmt_shape(s) for s in in_shapes)
            raise self.fail(self.args_path(path), f"output has more than 2^63 − 1 elements, more than PyTorch "
                            f"can hold (input {got})", full, e.kind, ShapeError)
        like = tuple((type(e.obj).model_fields[k].alias or k, likes[v.ref])
                     for k, v in e.obj.__dict__.items() if isinstance(v, Like)) if likes else ()
        node = Node(len(self.nodes), full, layer, tuple(ins), in_shapes, out, path, layout, like)
        self.nodes.append(node)
        self.names[full] = node.index
        return node.index


def _head(ref: str, local: dict[str, int]) -> str:
    """The item of a list that ``ref`` starts with: its first part, or a dotted name (``bns.0``) of the list."""
    parts = ref.split(".")
    return next((".".join(parts[:k]) for k in range(len(parts), 1, -1) if ".".join(parts[:k]) in local), parts[0])


def _pattern(pattern: str) -> re.Pattern[str]:
    """A dotted name with ``*`` for any one component (never a hidden ``$`` name) as a regular expression."""
    return re.compile(r"\.".join("[^.$]+" if part == "*" else re.escape(part) for part in pattern.split(".")))

