"""The walks over one step: which tensors are alive at each moment of the forward pass, the
backward pass and the optimizer step. Pure: no I/O.

:class:`~cnncalc.memory.MemoryModel` decides what every storage is: its size, who saves it, and
after which layer the forward pass frees it. :class:`StepWalk`, its base, replays a step over
those decisions with a :class:`LiveSet`, yielding a :class:`Moment` (the live total) after each
allocation point; :mod:`cnncalc.memory`'s docstring states the rules the walks follow.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from .constants import OPTIMIZER_STATE
from .graph import INPUT, Graph

#: Temporaries of ``optimizer.step()`` per trainable parameter: foreach Adam builds √v for all of them.
STEP_TEMPORARIES: dict[str, int] = {"adam": 1, "adamw": 1}

#: What a live tensor is, for the breakdown of a peak.
KINDS = ("weights", "gradients", "optimizer state", "optimizer temporaries", "input batch",
         "saved activations", "activations", "autocast copies", "activation gradients", "convolution workspace")


@dataclass(frozen=True, slots=True)
class Size:
    """Bytes as ``fixed + per_sample·batch``."""

    fixed: int = 0
    per_sample: int = 0

    def at(self, batch: int) -> int:
        """Bytes at a batch size."""
        return self.fixed + self.per_sample * batch

    def __add__(self, other: Size) -> Size:
        return Size(self.fixed + other.fixed, self.per_sample + other.per_sample)


#: A storage: what it is and the layer (and input) it belongs to, e.g. ``("out", 3)``, ``("cast", 3, 1)``.
Key = tuple[str | int, ...]

#: No bytes.
NOTHING = Size()


class Item(NamedTuple):
    """A live tensor: ``fixed + per_sample·batch`` bytes, the layer it is charged to, and what it is."""

    fixed: int
    per_sample: int
    owner: int
    kind: str

    def at(self, batch: int) -> int:
        """Bytes at a batch size."""
        return self.fixed + self.per_sample * batch


#: The tensors alive at one moment, by storage key.
Snapshot = dict[Key, Item]


class LiveSet:
    """The tensors alive at one moment, with their running total.

    Sizes are passed as two ints rather than a :class:`Size`: a step adds and drops a few
    tensors per layer, hundreds of thousands on a large network.
    """

    __slots__ = ("items", "fixed", "per_sample")

    def __init__(self) -> None:
        self.items: Snapshot = {}
        self.fixed = 0
        self.per_sample = 0

    def add(self, key: Key, fixed: int, per_sample: int, owner: int, kind: str) -> None:
        """Allocate ``key`` (nothing if it is empty or already live)."""
        if (fixed or per_sample) and key not in self.items:
            self.items[key] = Item(fixed, per_sample, owner, kind)
            self.fixed += fixed
            self.per_sample += per_sample

    def drop(self, key: Key) -> None:
        """Free ``key`` (nothing if it is not live)."""
        item = self.items.pop(key, None)
        if item is not None:
            self.fixed -= item.fixed
            self.per_sample -= item.per_sample

    def moment(self, phase: str, node: int | None) -> Moment:
        """The live total now, as the moment ``phase`` of layer ``node``."""
        return Moment(phase, node, self.fixed, self.per_sample)


class Moment(NamedTuple):
    """A point of the step: ``phase`` (forward, end of forward, backward, optimizer step), layer, live bytes."""

    phase: str
    node: int | None
    fixed: int
    per_sample: int


class StepWalk:
    """The walks over one step, over the storages and lifetimes that :class:`~cnncalc.memory.MemoryModel` sets."""

    graph: Graph
    optimizer: str
    amp: bool
    #: bytes per element of the activations, and of the parameters (fp32 master weights under autocast)
    act: int
    param_bytes: int
    n_params: list[int]
    n_trainable: list[int]
    n_buffers: list[int]
    #: whether each layer's output (and the input batch's, ``INPUT``) requires grad
    requires_grad: dict[int, bool]
    #: the layer whose output storage each layer's output lives in (itself, or its input's for a view)
    root: dict[int, int]
    #: per-sample bytes of each layer's output, and of its library workspace
    out_bytes: dict[int, int]
    ws_bytes: list[int]
    #: autocast copies of the inputs: (layer, input) → size, and each layer's inputs that are cast
    casts: dict[tuple[int, int], Size]
    casts_of: dict[int, list[int]]
    #: the network's outputs other than its input, each once, in order
    outs: tuple[int, ...]
    #: each layer's saved tensors as (storage key, size); per storage, its first saver and how many save it
    saved_by: dict[int, tuple[tuple[Key, Size], ...]]
    first_saver: dict[Key, int]
    n_savers: dict[Key, int]
    sizes: dict[Key, Size]
    saved_keys: dict[int, tuple[Key, ...]]
    #: storages kept for backward (saved, or an output the loss holds), and the outputs' own
    kept: set[Key]
    output_keys: frozenset[Key]
    #: forward pass: the output storages freed after each layer
    dies_after: dict[int, tuple[int, ...]]
    #: what is live when backward starts: (its moment's index, items, fixed, per_sample)
    _end_of_forward: tuple[int, Snapshot, int, int]

    def _moments(self, *, training: bool) -> list[Moment]:
        """Every moment of a step, in order; a training walk records what is live at the end of forward."""
        live = LiveSet()
        moments: list[Moment] = []
        for m in self._walk(live, training=training):
            if m.phase == "end of forward":
                self._end_of_forward = (len(moments), dict(live.items), live.fixed, live.per_sample)
            moments.append(m)
        return moments

    def _resident(self, training: bool) -> dict[int, int]:
        """Bytes of each layer's weights and buffers, with its optimizer state when training."""
        state = OPTIMIZER_STATE[self.optimizer] * self.param_bytes if training else 0
        return {i: p * self.param_bytes + t * state + b * self.param_bytes
                for i, (p, t, b) in enumerate(zip(self.n_params, self.n_trainable, self.n_buffers)) if p or b}

    def _walk(self, live: LiveSet, *, training: bool) -> Iterator[Moment]:
        """Walk a step from nothing, updating ``live`` and yielding each moment."""
        nodes = self.graph.nodes
        add, drop = live.add, live.drop

        # the weights and the optimizer state live throughout: counted in the totals from the
        # start, they are not live items (see _resident for their share of a snapshot)
        live.fixed = sum(self._resident(training).values())
        add(("out", INPUT), 0, self.out_bytes[INPUT], INPUT, "input batch")

        first_saver = self.first_saver
        kept_keys = self.kept if training else frozenset()
        root, out_bytes, ws_bytes, casts_of = self.root, self.out_bytes, self.ws_bytes, self.casts_of
        low_copies = self.amp
        for node in nodes:
            i = node.index
            if root[i] == i:
                key: Key = ("out", i)
                if key in kept_keys:
                    add(key, 0, out_bytes[i], first_saver.get(key, i), "saved activations")
                else:
                    add(key, 0, out_bytes[i], i, "activations")
            for k in casts_of.get(i, ()):
                c = self.casts[i, k]
                add(("cast", i, k), c.fixed, c.per_sample, i,
                    "saved activations" if ("cast", i, k) in kept_keys else "activations")
            if training:
                for key, size in self.saved_by[i]:
                    add(key, size.fixed, size.per_sample, first_saver[key], "saved activations")
            if low_copies and node.layer.autocast == "low":
                # the autocast cache holds fp16/bf16 copies of all the layer's parameters
                p = self.n_params[i]
                w = self.sizes.get(("weight copy", i), NOTHING).fixed
                add(("weight copy", i), w, 0, i, "autocast copies")
                add(("bias copy", i), p * self.act - w, 0, i, "autocast copies")
            if ws_bytes[i]:
                add(("workspace", i), 0, ws_bytes[i], i, "convolution workspace")
            yield live.moment("forward", i)
            if ws_bytes[i]:
                drop(("workspace", i))
            if low_copies and node.frozen:
                # autocast caches only the casts of leaves that require grad: a frozen layer's
                # copies are temporaries of its call, unless saved
                drop(("bias copy", i))
                if ("weight copy", i) not in kept_keys:
                    drop(("weight copy", i))
            for r in self.dies_after.get(i, ()):
                if ("out", r) not in kept_keys:
                    drop(("out", r))
            for k in casts_of.get(i, ()):
                if ("cast", i, k) not in kept_keys:
                    drop(("cast", i, k))
        if not training:
            return
        # leaving autocast clears its cache: only the copies that layers saved stay
        if low_copies:
            for node in nodes:
                drop(("bias copy", node.index))
                if ("weight copy", node.index) not in self.kept:
                    drop(("weight copy", node.index))
        yield live.moment("end of forward", None)
        yield from self._backward(live)

    def _backward(self, live: LiveSet) -> Iterator[Moment]:
        """The backward pass and the optimizer step, continuing from the end of the forward pass in ``live``."""
        nodes = self.graph.nodes
        add, drop = live.add, live.drop
        remaining = dict(self.n_savers)
        pending: dict[int, Key] = {}
        holders: dict[Key, set[int]] = {}
        requires_grad, kept, output_keys = self.requires_grad, self.kept, self.output_keys
        out_bytes, ws_bytes, n_trainable = self.out_bytes, self.ws_bytes, self.n_trainable

        def hold(j: int, key: Key) -> None:
            pending[j] = key
            holders.setdefault(key, set()).add(j)

        def release(j: int) -> None:
            key = pending.pop(j)
            holders[key].discard(j)
            if not holders[key]:
                drop(key)

        # the loss gives every output that requires grad its gradient
        for o in self.outs:
            if requires_grad[o]:
                add(("grad", o), 0, out_bytes[o], o, "activation gradients")
                hold(o, ("grad", o))
        pb = self.param_bytes
        for node in reversed(nodes):
            i = node.index
            if i not in pending:
                continue
            incoming: list[tuple[int, Key]] = []
            views = node.layer.view_gradients(node.in_shapes, node.out_shape)
            for k, j in enumerate(node.inputs):
                if not requires_grad[j]:
                    continue
                if views[k]:
                    incoming.append((j, pending[i]))
                else:
                    grad: Key = ("grad", i, k)
                    add(grad, 0, out_bytes[j], i, "activation gradients")  # the size of input k
                    incoming.append((j, grad))
            if n_trainable[i]:
                add(("param grad", i), n_trainable[i] * pb, 0, i, "gradients")
            if ws_bytes[i]:
                add(("workspace", i), 0, ws_bytes[i], i, "convolution workspace")
            yield live.moment("backward", i)
            if ws_bytes[i]:
                drop(("workspace", i))
            for key in self.saved_keys[i]:
                remaining[key] -= 1
                if not remaining[key] and key in kept and key not in output_keys:
                    drop(key)
            for j, key in incoming:
                holders.setdefault(key, set()).add(j)
            release(i)
            for j, key in incoming:
                if j in pending and pending[j] != key:
                    # two gradients for one tensor: their sum is a new tensor
                    total: Key = ("grad sum", i, j)
                    add(total, 0, out_bytes[j], i, "activation gradients")
                    yield live.moment("backward", i)
                    release(j)
                    holders[key].discard(j)
                    if not holders[key]:
                        drop(key)
                    hold(j, total)
                else:
                    pending[j] = key
        for key in list(live.items):
            if key in kept and key not in output_keys:
                drop(key)
        for key in list(holders):
            drop(key)
        tmp = STEP_TEMPORARIES.get(self.optimizer, 0)
        for i, p in enumerate(self.n_trainable):
            add(("step", i), tmp * p * pb, 0, i, "optimizer temporaries")
        yield live.moment("optimizer step", None)

    def _snapshots(self, moments: frozenset[int]) -> dict[int, Snapshot]:
        """The live items at each of the training ``moments``, from one walk that stops at the last.

        Moments from the end of the forward pass on walk on from what was live there.
        """
        end, items, fixed, per_sample = self._end_of_forward
        found: dict[int, Snapshot] = {}
        live = LiveSet()
        if min(moments) >= end:
            live.items, live.fixed, live.per_sample = dict(items), fixed, per_sample
            if end in moments:
                found[end] = items
            walk = enumerate(self._backward(live), end + 1)
        else:
            walk = enumerate(self._walk(live, training=True))
        if len(found) < len(moments):
            for k, _ in walk:
                if k in moments:
                    found[k] = dict(live.items)
                    if len(found) == len(moments):
                        break
        return found
