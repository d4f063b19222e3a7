"""Seeded random network descriptions: every layer type and every graph construct, small shapes.

``random_network(seed)`` returns a description (a dict, as YAML would give it) that cnncalc
accepts: chains of random layers with random arguments, residual adds, concatenations,
squeeze-excitation gates, channel splits, sequential groups, repeated block calls with
``$expressions`` and skipped ``if`` items. Each candidate layer is checked with the layer's
own ``infer``; one that does not fit is drawn again.

Known differences with PyTorch that are not cnncalc's to fix are avoided (each is commented).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import layers

from cnncalc.errors import LayerError
from cnncalc.layers import REGISTRY
from cnncalc.layers.base import Layout, channels_first

Args = dict[str, Any]
Shape = tuple[int, ...]

#: Largest number of elements of any layer's output (keeps every test fast).
MAX_ELEMENTS = 6000




#: Arguments for a layer type, given the shape that reaches it: every family's (tests/layers).
GENERATORS: dict[str, Callable[[random.Random, Shape], Args | None]] = layers.mapping("GENERATORS")
#: Layer types that take several inputs; the generator wires them itself.
MERGES = tuple(sorted(t for t in layers.mapping_set("WIRED") if REGISTRY[t].arity[1] != 1))
#: Layer types the generator places itself: permute, around layers that work on channels-last tensors.
PLACED = tuple(sorted(t for t in layers.mapping_set("WIRED") if t not in MERGES))


Value = tuple[Shape, Layout]

#: Views that leave gaps or reorder strides: ``reshape`` (``x.view``) fails on them in PyTorch, and
#: cnncalc does not yet refuse it (it sees shapes, not strides), so no reshape is drawn after one.
#: What is computed from them is taken as strided too (a convolution keeps a permuted input's
#: channels-last memory format), until ``contiguous``.
STRIDED = {"permute", "narrow", "slice", "select", "crop", "chunk", "split"}


def infer(kind: str, args: Args, ins: list[Value]) -> Value | None:
    """cnncalc's output shape and layout, or None when the layer does not fit its inputs."""
    try:
        layer = REGISTRY[kind].model_validate(args)
        shapes = [s for s, _ in ins]
        out = layer.infer(shapes)
        return out, layer.layout([lay for _, lay in ins], shapes, out)
    except (LayerError, ValueError):
        return None


def fits(value: Value | None) -> bool:
    """A value the next layers can take: not empty, not too large."""
    return value is not None and min(value[0]) >= 1 and math.prod(value[0]) <= MAX_ELEMENTS


class _Builder:
    """Builds one scope's items, tracking the shape and layout of every named value."""

    def __init__(self, rng: random.Random, start: Value, blocks: dict[str, Any]) -> None:
        self.rng = rng
        self.items: list[Any] = []
        self.values: dict[str, Value] = {"input": start}
        self.current = "input"
        self.blocks = blocks
        self.count = 0
        #: values that are strided views (:data:`STRIDED`)
        self.strided: set[str] = set()

    @property
    def value(self) -> Value:
        return self.values[self.current]

    @property
    def shape(self) -> Shape:
        return self.value[0]

    def fresh(self) -> str:
        self.count += 1
        return f"n{self.count}"

    def add(self, kind: str, args: Args, sources: list[str] | None = None, chain: bool = True) -> str | None:
        """Append a layer (taking ``sources``, else the current value); it becomes current if ``chain``."""
        taken = sources or [self.current]
        if kind == "reshape" and self.strided.intersection(taken):
            return None
        out = infer(kind, args, [self.values[s] for s in taken])
        if not fits(out):
            return None
        name = self.fresh()
        if kind in STRIDED or (kind != "contiguous" and self.strided.intersection(taken)):
            self.strided.add(name)
        body = {**args, "name": name, **({"from": sources} if sources else {})}
        self.items.append({kind: body})
        self.values[name] = out  # type: ignore[assignment]
        if chain:
            self.current = name
        return name

    def side(self, source: str, kind: str, args: Args) -> str:
        """A branch from ``source`` that a merge will take (the chain stays where it is)."""
        name = self.add(kind, args, [source], chain=False)
        assert name is not None, (kind, args, self.values[source])
        return name

    def layer(self) -> bool:
        """One random single-input layer, as the next item."""
        kinds = sorted(GENERATORS)
        self.rng.shuffle(kinds)  # each type that applies to the shape is as likely as any other
        for kind in kinds:
            args = GENERATORS[kind](self.rng, self.shape)
            if args is not None and self.add(kind, args):
                return True
        return False

    def residual(self) -> None:
        """``add`` (or ``subtract``) of the current value and a shape-keeping branch, or an earlier value."""
        same = [v for v, s in self.values.items() if s == self.value and v not in (self.current, "$chain")]
        if same and self.rng.random() < 0.5:
            other = self.rng.choice(same)
        else:
            other = self.side(self.current, self.rng.choice(["relu", "identity", "sigmoid", "layerscale"]), {})
        ins = [self.current, other] + ([other] if self.rng.random() < 0.2 else [])
        # every fifth value a subtraction of the two, chosen without a draw so that the seeds'
        # networks stay as they were
        self.add("subtract" if len(ins) == 2 and len(self.values) % 5 == 0 else "add", {}, ins)

    def concat(self) -> None:
        """``concat`` along a random axis with a branch, or with itself."""
        if 1 < len(self.shape) <= 4 and self.rng.random() < 0.5:  # conv1d–conv3d
            conv = f"conv{len(self.shape) - 1}d"
            other = self.add(conv, {"out_channels": self.rng.randint(1, 6), "kernel_size": 1}, [self.current], False)
            if other:
                self.add("concat", {}, [self.current, other])
            return
        self.add("concat", {"dim": self.rng.randint(1, len(self.shape))}, [self.current, self.current])

    def gate(self) -> None:
        """Squeeze-excitation: global pooling, a sigmoid, ``multiply`` broadcast over positions."""
        if len(self.shape) < 2:
            self.add("multiply", {}, [self.current, self.side(self.current, "tanh", {})])
            return
        pooled = self.add("globalavgpool", {}, [self.current], chain=False)
        if pooled:
            self.add("multiply", {}, [self.side(pooled, "sigmoid", {}), self.current])

    def split(self) -> None:
        """ShuffleNet's unit: two chunks along the channels, concatenated back, shuffled."""
        if self.shape[0] % 2:
            return
        a = self.side(self.current, "chunk", {"chunks": 2, "index": 0})
        b = self.side(self.side(self.current, "chunk", {"chunks": 2, "index": 1}), "relu", {})
        if self.add("concat", {}, [a, b]) and len(self.shape) > 1:
            self.add("channel_shuffle", {"groups": 2})

    def channels_last(self) -> None:
        """ConvNeXt's pattern: permute to channels-last, layernorm or linear over the channels, permute back."""
        rank = len(self.shape) + 1
        if rank < 3:
            return
        self.add("permute", {"dims": [0, *range(2, rank), 1]})
        for _ in range(self.rng.randint(1, 2)):
            kind = self.rng.choice(["layernorm", "linear", "gelu"])
            self.add(kind, {"out_features": self.rng.randint(1, 8)} if kind == "linear" else {})
        back = [0, rank - 1, *range(1, rank - 1)]
        self.add("permute", {"dims": back if self.rng.random() < 0.5 else [d - rank for d in back]})

    def product(self) -> None:
        """``matmul`` of the current value and its transpose: a Gram matrix (bilinear pooling, attention scores)."""
        rank = len(self.shape) + 1
        if rank < 3:
            return
        t = self.add("permute", {"dims": [*range(rank - 2), rank - 1, rank - 2]}, [self.current], chain=False)
        if t:
            self.add("matmul", {}, [self.current, t])

    def skipped(self) -> None:
        """An item whose ``if`` is false: its name stands for its input."""
        self.items.append({"relu": {"name": self.fresh(), "if": False}})

    def sequential(self) -> None:
        """A group of a few layers, named by position."""
        inner = _Builder(self.rng, self.value, self.blocks)
        if self.current in self.strided:
            inner.strided.add("input")
        for _ in range(self.rng.randint(1, 3)):
            inner.layer()
        if inner.current == "input":
            return
        for item in inner.items:  # named by position inside the group
            next(iter(item.values())).pop("name")
        if self.rng.random() < 0.3:
            inner.items.insert(self.rng.randint(0, len(inner.items)), {"identity": {"if": False}})
        name = self.fresh()
        self.items.append({"sequential": {"name": name, "layers": inner.items}})
        self.values[name] = inner.value
        if inner.current in inner.strided:
            self.strided.add(name)
        self.current = name

    def block(self) -> None:
        """A repeated call of a residual block with ``$expressions``; named calls nest, unnamed expand in place."""
        shape, layout = self.value
        n = len(shape) - 1
        if n < 1 or min(shape[1:]) < 2 or layout != channels_first(len(shape)):
            return
        key = f"unit{n}d"
        self.blocks[key] = {
            "args": {"out": None, "stride": 1},
            "layers": [
                {f"conv{n}d": {"out_channels": "$out", "kernel_size": 3, "stride": "$stride", "padding": 1,
                               "bias": False}},
                f"batchnorm{n}d",
                {"relu": {"inplace": True, "if": "$index == 0"}},
                {"add": {"from": ["bn1", "input"], "if": "$stride == 1 and in_channels == out"}},
            ],
        }
        out_c = self.rng.choice([shape[0], self.rng.randint(1, 8)])
        stride = self.rng.choice([1, 1, 2])
        repeat = self.rng.randint(1, 3)
        call: Args = {"out": out_c, "stride": f"$({stride} if index == 0 else 1)", "repeat": repeat}
        for k in range(repeat):
            s = stride if k == 0 else 1
            shape = (out_c, *((x - 1) // s + 1 for x in shape[1:]))
        if math.prod(shape) > MAX_ELEMENTS:
            return
        self.items.append({key: call})
        strided = self.current in self.strided
        if self.rng.random() < 0.5:
            call["name"] = self.current = self.fresh()
        else:
            # an unnamed repeat: its instances are items of this scope, reached through the chain
            self.current = "$chain"
        self.values[self.current] = (shape, layout)
        (self.strided.add if strided else self.strided.discard)(self.current)

    def step(self) -> None:
        r = self.rng.random()
        if self.current == "$chain":
            # the previous item is an unnamed block call: name its output first
            self.add("identity", {})
        elif r < 0.5:
            self.layer()
        elif r < 0.6:
            self.residual()
        elif r < 0.68:
            self.concat()
        elif r < 0.74:
            self.gate()
        elif r < 0.8:
            self.split()
        elif r < 0.83:
            self.skipped()
        elif r < 0.87:
            self.channels_last()
        elif r < 0.91:
            self.sequential()
        elif r < 0.93:
            self.product()
        else:
            self.block()


def _start(rng: random.Random) -> Shape:
    rank = rng.choice([1, 2, 2, 3, 3, 4, 4])
    spatial = {1: [], 2: [rng.randint(4, 24)], 3: [rng.randint(4, 12) for _ in range(2)],
               4: [rng.randint(3, 6) for _ in range(3)]}[rank]
    return (rng.randint(1, 8), *spatial)


def random_network(seed: int) -> dict[str, Any]:
    """A random description cnncalc accepts, the same for the same seed.

    Its first layer is of type ``sorted(GENERATORS)[seed % len(GENERATORS)]``, so that any
    ``len(GENERATORS)`` consecutive seeds use every layer type.
    """
    rng = random.Random(seed)
    first = sorted(GENERATORS)[seed % len(GENERATORS)]
    blocks: dict[str, Any] = {}
    for _ in range(1000):
        shape = _start(rng)
        b = _Builder(rng, (shape, channels_first(len(shape))), blocks)
        args = GENERATORS[first](rng, shape)
        if args is not None and b.add(first, args):
            break
    else:
        raise AssertionError(f"no input fits a {first}")
    for _ in range(rng.randint(2, 11)):
        b.step()
    if b.current == "$chain":
        b.add("identity", {})
    net: dict[str, Any] = {"name": f"random {seed}", "input": list(shape), "layers": b.items}
    if blocks:
        net["blocks"] = blocks
    return net
