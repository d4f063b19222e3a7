"""The tensor family (cnncalc/layers/tensor.py): reshape, contiguous, stack and matmul.

This module holds the family's arithmetic cases, its receptive-field and saved-tensor rules
(checked against autograd's ``saved_tensors_hooks``), its torch twin (``export --check``), the
random generator (:data:`GENERATORS`, read by tests/random_networks.py), the hypothesis
strategies (:data:`STRATEGIES`, read by tests/test_properties.py) and a network using every type
(:data:`ZOO_TENSOR`, read by tests/test_explain.py).
"""

from __future__ import annotations

import importlib.util
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import measure_memory
from hypothesis import strategies as st

from cnncalc import analyse, spec
from cnncalc.cli import cli
from cnncalc.errors import LayerError
from cnncalc.graph import build
from cnncalc.layers import REGISTRY
from cnncalc.memory import MemoryModel
from layers.kit import Lambda

Shape = tuple[int, ...]
Args = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# arithmetic: (type, args, input, output); both types have no params, buffers, MACs or FLOPs

SHAPE_CASES = [
    pytest.param("reshape", {"shape": [2, 8, 5, 5]}, [16, 5, 5], [2, 8, 5, 5], id="split the channels (radix)"),
    pytest.param("reshape", {"shape": [16, -1]}, [16, 5, 5], [16, 25], id="-1 inferred: 400 / 16"),
    pytest.param("reshape", {"shape": [16, 1, 1]}, [16], [16, 1, 1], id="SE: [C] back to [C, 1, 1]"),
    pytest.param("reshape", {"shape": [-1]}, [3, 4, 5], [60], id="everything in one axis"),
    pytest.param("contiguous", {}, [5, 7, 3], [5, 7, 3], id="a copy of the same shape"),
]


@pytest.mark.parametrize(("kind", "args", "shape", "out"), SHAPE_CASES)
def test_shape_and_zero_counts(kind: str, args: Args, shape: list[int], out: list[int]) -> None:
    layer = REGISTRY[kind].model_validate(args)
    got = layer.infer([tuple(shape)])
    assert got == tuple(out)
    assert math.prod(got) == math.prod(shape)  # the same elements
    counts = layer.counts([tuple(shape)], got)
    assert (counts.params, counts.buffers, counts.macs, counts.flops) == (0, 0, 0, 0)
    assert counts.saved == ()


@pytest.mark.parametrize(("shape", "message"), [
    pytest.param([3, 5], "cannot view", id="3·5 is not 2·8"),
    pytest.param([2, -1, -1], "one size", id="two -1"),
    pytest.param([0, -1], "positive", id="a zero size"),
    pytest.param([7, -1], "cannot view", id="-1 does not divide"),
])
def test_reshape_refuses(shape: list[int], message: str) -> None:
    with pytest.raises(LayerError, match=message):
        REGISTRY["reshape"].model_validate({"shape": shape}).infer([(16,)])


#: Saved for backward, as tests/test_memory.py checks every type's: (type, args, inputs, saved).
#: Neither keeps anything: a view's gradient is a view of the output's, a copy's is the same values.
SAVED = [
    pytest.param("reshape", {"shape": [2, -1]}, [(4, 6, 6)], [], id="reshape: nothing"),
    pytest.param("contiguous", {}, [(4, 6, 6)], [], id="contiguous: nothing"),
    # stack's backward unbinds the output's gradient: each input's gradient is a view of it
    pytest.param("stack", {}, [(4, 6, 6), (4, 6, 6)], [], id="stack: nothing"),
    # mm_mat1_backward keeps b (the other operand) for dL/da, mm_mat2_backward keeps a for dL/db
    pytest.param("matmul", {}, [(2, 9, 4), (2, 4, 9)], [("input", 72), ("input", 72)], id="matmul: both inputs"),
    # matmul expands a broadcast operand to the leading axes D and folds them (a copy), which bmm keeps
    pytest.param("matmul", {}, [(2, 1, 6, 6), (1, 3, 6, 6)], [("act", 2 * 3 * 36), ("act", 2 * 3 * 36)],
                 id="matmul broadcast: both operands expanded"),
    pytest.param("matmul", {}, [(2, 3, 6, 4), (1, 3, 4, 6)], [("input", 144), ("act", 2 * 3 * 24)],
                 id="matmul: only the second broadcasts"),
]


@pytest.mark.parametrize(("kind", "args", "ins", "saved"), SAVED)
def test_saved_rule(kind: str, args: Args, ins: list[Shape], saved: list[Any]) -> None:
    layer = REGISTRY[kind].model_validate(args)
    got = [(x.ref or x.dtype, x.elements) for x in layer.saved(ins, layer.infer(ins))]
    assert got == [tuple(x) for x in saved]


@pytest.mark.parametrize(("args", "ins", "out"), [
    pytest.param({}, [(4, 6, 6)] * 2, (2, 4, 6, 6), id="radix paths at dim 1 (selective kernel)"),
    pytest.param({"dim": 2}, [(4, 6, 6)] * 3, (4, 3, 6, 6), id="dim 2"),
    pytest.param({"dim": -1}, [(4, 6)] * 3, (4, 6, 3), id="dim -1: a new last axis"),
    pytest.param({"dim": -4}, [(4, 6, 6)] * 2, (2, 4, 6, 6), id="dim -4 is dim 1"),
    pytest.param({}, [(5,)], (1, 5), id="one input: a new axis of size 1"),
])
def test_stack_inserts_an_axis_of_one_entry_per_input(args: Args, ins: list[Shape], out: Shape) -> None:
    layer = REGISTRY["stack"].model_validate(args)
    assert layer.infer(ins) == out
    assert math.prod(out) == sum(math.prod(s) for s in ins)  # every element once


@pytest.mark.parametrize(("args", "ins", "message"), [
    pytest.param({}, [(4, 6, 6), (4, 6, 5)], "equal shape", id="shapes differ"),
    pytest.param({"dim": 0}, [(4, 6)] * 2, "non-batch", id="across the batch"),
    pytest.param({"dim": -4}, [(4, 6)] * 2, "non-batch", id="-4 of a 4-d result is the batch"),
    pytest.param({"dim": 4}, [(4, 6)] * 2, "non-batch", id="past the end"),
])
def test_stack_refuses(args: Args, ins: list[Shape], message: str) -> None:
    with pytest.raises(LayerError, match=message):
        REGISTRY["stack"].model_validate(args).infer(ins)


@pytest.mark.torch
@pytest.mark.parametrize(("dim", "rank"), [(d, r) for r in (1, 2, 3) for d in range(-r - 2, r + 2)])
def test_stack_shape_and_refusal_are_pytorchs(dim: int, rank: int) -> None:
    if torch is None:
        pytest.skip("torch is not installed")
    shape = tuple(range(2, 2 + rank))
    want = tuple(torch.stack([torch.zeros(1, *shape)] * 3, dim).shape)
    layer = REGISTRY["stack"].model_validate({"dim": dim})
    if want[0] != 1:  # the new axis went before the batch: cnncalc refuses it
        with pytest.raises(LayerError):
            layer.infer([shape] * 3)
    else:
        assert layer.infer([shape] * 3) == want[1:]


def test_reshape_is_a_view_and_contiguous_a_new_tensor() -> None:
    assert REGISTRY["reshape"].model_validate({"shape": [4]}).output_storage() == "view"
    assert REGISTRY["contiguous"].model_validate({}).output_storage() == "new"


# ---------------------------------------------------------------------------------------------
# receptive field


def _net(*layers: str, shape: str = "[4, 16, 16]") -> str:
    body = "\n".join(f"  - {item}" for item in layers)
    return f"name: t\ninput: {shape}\nlayers:\n  - conv2d: {{out_channels: 4, kernel_size: 3}}\n{body}\n"


def test_a_reshape_keeping_the_spatial_axes_keeps_the_field() -> None:
    # [4, 14, 14] → [2, 2, 14, 14]: H and W unchanged; the 3x3 conv after it sees 5x5
    r = analyse(_net("reshape: {shape: [2, 2, 14, 14]}", "reshape: {shape: [4, 14, 14]}",
                     "conv2d: {out_channels: 4, kernel_size: 3}"))
    assert [a.size for a in r.layers[-1].rf.axes] == [5, 5]


def test_a_reshape_merging_the_spatial_axes_sees_the_whole_input() -> None:
    r = analyse(_net("reshape: {shape: [4, 196]}"))
    assert r.layers[-1].rf.is_whole  # as flatten


def test_a_stack_keeps_the_field_and_its_new_axis_carries_no_position() -> None:
    # two paths of a 3x3 and a dilated 3x3 (5x5) conv, stacked at dim 1 and summed over it (SK)
    text = """name: t
input: [4, 16, 16]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: a}
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 2, dilation: 2, from: input, name: b}
  - stack: {from: [a, b]}
  - sum: {dim: 1}
"""
    r = analyse(text)
    stacked, summed = r.layers[-2], r.layers[-1]
    assert tuple(stacked.output_shape) == (2, 4, 16, 16) and stacked.rf.layout[0] is None
    assert [ax.size for ax in summed.rf.axes] == [5, 5]


@pytest.mark.parametrize(("a", "b", "out", "macs"), [
    pytest.param((9, 4), (4, 5), (9, 5), 9 * 4 * 5, id="a matrix per sample (bmm)"),
    pytest.param((2, 9, 4), (2, 4, 9), (2, 9, 9), 2 * 9 * 4 * 9, id="q·kᵀ of two heads"),
    pytest.param((1, 16, 64), (1, 64, 1), (1, 16, 1), 16 * 64, id="global context pooling"),
    pytest.param((3, 1, 6, 2), (1, 5, 2, 7), (3, 5, 6, 7), 3 * 5 * 6 * 2 * 7, id="leading axes broadcast"),
])
def test_matmul_shape_and_macs(a: Shape, b: Shape, out: Shape, macs: int) -> None:
    layer = REGISTRY["matmul"].model_validate({})
    assert layer.infer([a, b]) == out
    counts = layer.counts([a, b], out)
    assert (counts.params, counts.macs, counts.flops) == (0, macs, 2 * macs)


@pytest.mark.parametrize(("a", "b", "message"), [
    pytest.param((9, 4), (5, 4), "4 columns, 5 rows", id="inner sizes differ"),
    pytest.param((9,), (9, 4), "matrices per sample", id="a vector: the batch would be a matrix axis"),
    pytest.param((2, 9, 4), (4, 5), "ranks 3 and 2", id="ranks differ: the batch meets a head axis"),
    pytest.param((2, 9, 4), (3, 4, 5), "do not broadcast", id="leading axes 2 and 3"),
])
def test_matmul_refuses(a: Shape, b: Shape, message: str) -> None:
    with pytest.raises(LayerError, match=message):
        REGISTRY["matmul"].model_validate({}).infer([a, b])


@pytest.mark.torch
@pytest.mark.parametrize(("a", "b"), [((9, 4), (4, 5)), ((3, 1, 6, 2), (1, 5, 2, 7)), ((2, 9, 4), (3, 4, 5)),
                                      ((9, 4), (5, 4))])
def test_matmul_shapes_are_pytorchs(a: Shape, b: Shape) -> None:
    if torch is None:
        pytest.skip("torch is not installed")
    layer = REGISTRY["matmul"].model_validate({})
    try:
        want = tuple(torch.matmul(torch.zeros(1, *a), torch.zeros(1, *b)).shape[1:])
    except RuntimeError:
        with pytest.raises(LayerError):
            layer.infer([a, b])
    else:
        assert layer.infer([a, b]) == want


MATMUL_TEXT = """name: attention
input: [8, 4, 4]
layers:
  - conv2d: {out_channels: 8, kernel_size: 1, name: q}
  - reshape: {shape: [2, 4, 16], name: qh}
  - permute: {dims: [0, 1, 3, 2], name: qt}
  - conv2d: {out_channels: 8, kernel_size: 1, from: input, name: k}
  - reshape: {shape: [2, 4, 16], name: kh}
  - matmul: {from: [qt, kh], name: scores}
  - softmax: {dim: -1, name: attn}
  - matmul: {from: [kh, attn], name: out}
  - reshape: {shape: [8, 4, 4]}
"""


def _matmul_twin() -> Any:
    nn = torch.nn

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q, self.k, self.attn = nn.Conv2d(8, 8, 1), nn.Conv2d(8, 8, 1), nn.Softmax(-1)

        def forward(self, x: Any) -> Any:
            q = self.q(x).view(x.shape[0], 2, 4, 16).permute(0, 1, 3, 2)
            k = self.k(x).view(x.shape[0], 2, 4, 16)
            return torch.matmul(k, self.attn(torch.matmul(q, k))).view(x.shape[0], 8, 4, 4)

    return Attention()


@pytest.mark.torch
@pytest.mark.parametrize("convention", ["fvcore", "thop", "ptflops", "torchinfo", "torch"])
def test_matmul_counts_are_the_real_tools(convention: str) -> None:
    if torch is None:
        pytest.skip("torch is not installed")
    import peers

    package, run = peers.TOOLS[convention]
    pytest.importorskip(package)
    graph = build(spec.load("attention.yaml", text=MATMUL_TEXT))
    report = analyse(graph, convention=convention)
    got = report.totals.flops if convention == "torch" else report.totals.macs
    namespace: dict[str, Any] = {}
    from cnncalc.export import to_pytorch

    exec(compile(to_pytorch(graph), "<export>", "exec"), namespace)
    assert run(namespace["Model"]().eval(), graph.input_shape) == got
    # and the twin written by hand (softmax a module, as export writes it): the tools see its products as in a model
    assert run(_matmul_twin().eval(), graph.input_shape) == got


BROADCAST_TEXT = """name: broadcast
input: [4, 6, 6]
layers:
  - conv2d: {out_channels: 2, kernel_size: 1, name: a}
  - reshape: {shape: [2, 1, 6, 6], name: ar}
  - conv2d: {out_channels: 3, kernel_size: 1, from: input, name: b}
  - reshape: {shape: [1, 3, 6, 6], name: br}
  - matmul: {from: [ar, br]}
"""


def _broadcast_twin() -> Any:
    nn = torch.nn

    class Broadcast(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Conv2d(4, 2, 1), nn.Conv2d(4, 3, 1)

        def forward(self, x: Any) -> Any:
            n = x.shape[0]
            return torch.matmul(self.a(x).view(n, 2, 1, 6, 6), self.b(x).view(n, 1, 3, 6, 6))

    return Broadcast()


@pytest.mark.torch
@pytest.mark.parametrize("batch", [2, 3])
def test_a_broadcast_matmul_saves_the_expanded_copies(batch: int) -> None:
    if torch is None:
        pytest.skip("torch is not installed")
    want = _measure().saved_bytes(_broadcast_twin(), torch.randn(batch, 4, 6, 6))
    graph = build(spec.load("broadcast.yaml", text=BROADCAST_TEXT))
    assert MemoryModel(graph, optimizer="sgd").estimate(batch).saved == want


@pytest.mark.torch
@pytest.mark.parametrize("batch", [2, 3])
def test_matmul_saves_what_autograd_saves(batch: int) -> None:
    if torch is None:
        pytest.skip("torch is not installed")
    torch.manual_seed(0)
    want = _measure().saved_bytes(_matmul_twin(), torch.randn(batch, 8, 4, 4))
    graph = build(spec.load("attention.yaml", text=MATMUL_TEXT))
    assert MemoryModel(graph, optimizer="sgd").estimate(batch).saved == want


# ---------------------------------------------------------------------------------------------
# saved tensors: what autograd keeps, as saved_tensors_hooks sees it

torch = pytest.importorskip("torch") if importlib.util.find_spec("torch") else None

_measure = measure_memory


TWIN_TEXT = """name: twin
input: [4, 8, 8]
layers:
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - reshape: {shape: [2, 4, 8, 8]}
  - permute: {dims: [0, 2, 1, 3, 4]}
  - contiguous
  - reshape: {shape: [8, 8, 8]}
  - relu: {name: r}
  - conv2d: {out_channels: 4, kernel_size: 1, name: one}
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, from: r, name: other}
  - stack: {from: [one, other], dim: 2}
  - relu
"""


def _twin() -> Any:
    nn = torch.nn

    class Twin(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.relu, self.conv2 = nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 1)
            self.other = nn.Conv2d(8, 4, 3, padding=1)

        def forward(self, x: Any) -> Any:
            y = self.conv1(x).view(x.shape[0], 2, 4, 8, 8).permute(0, 2, 1, 3, 4).contiguous()
            y = self.relu(y.view(x.shape[0], 8, 8, 8))
            return torch.relu(torch.stack([self.conv2(y), self.other(y)], 2))

    return Twin()


@pytest.mark.torch
@pytest.mark.parametrize("batch", [2, 3])
def test_saves_what_autograd_saves(batch: int) -> None:
    if torch is None:
        pytest.skip("torch is not installed")
    measure = _measure()
    torch.manual_seed(0)
    want = measure.saved_bytes(_twin(), torch.randn(batch, 4, 8, 8))
    graph = build(spec.load("twin.yaml", text=TWIN_TEXT))
    assert MemoryModel(graph, optimizer="sgd").estimate(batch).saved == want


@pytest.mark.torch
def test_the_torch_twin_export_checks(tmp_path: Path) -> None:
    if torch is None:
        pytest.skip("torch is not installed")
    path = tmp_path / "twin.yaml"
    path.write_text(TWIN_TEXT)
    result = CliRunner().invoke(cli, ["export", str(path), "--to", "pytorch", "--check"])
    assert result.exit_code == 0, result.output
    for helper in ("Reshape", "Contiguous", "Stack"):
        assert f"class {helper}(nn.Module)" in result.stdout


def test_explain_and_schema_know_the_family() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["explain", "-", "--layer", "reshape1"], input=ZOO_TENSOR)
    assert result.exit_code == 0, result.output
    assert "reshape" in result.stdout
    schema = runner.invoke(cli, ["schema", "input"])
    assert all(f'"{t}"' in schema.stdout for t in ("reshape", "contiguous", "stack"))


# ---------------------------------------------------------------------------------------------
# what the registry-wide tests read


def _reshape(rng: random.Random, shape: Shape) -> Args | None:
    """Split the first axis in two (up to 3 spatial axes, as the other layers take), keep every size, or merge."""
    c = shape[0]
    split = [d for d in range(2, c) if c % d == 0] if len(shape) < 4 else []
    choice = rng.choice(["split", "same", "merge"] if split else ["same", "merge"])
    if choice == "split":
        d = rng.choice(split)
        return {"shape": [d, c // d, *shape[1:]]}
    if choice == "same":
        return {"shape": [-1, *shape[1:]]}
    return {"shape": [-1]}


#: (type, args, input shape, output shape, params, buffers, MACs, FLOPs), as the registry-wide tests read them
CASES = [
    pytest.param("reshape", {"shape": [2, 8, 5, 5]}, [16, 5, 5], [2, 8, 5, 5], 0, 0, 0, 0, id="reshape radix"),
    pytest.param("contiguous", None, [5, 7, 3], [5, 7, 3], 0, 0, 0, 0, id="contiguous"),
]

#: (type, args, input shapes, output shape, FLOPs), as the registry-wide tests read several-input types
MERGE_CASES = [
    pytest.param("stack", None, [[16, 7, 7], [16, 7, 7]], [2, 16, 7, 7], 0, id="stack of two radix paths"),
    pytest.param("stack", {"dim": -1}, [[6, 5], [6, 5], [6, 5]], [6, 5, 3], 0, id="stack of three at the end"),
    pytest.param("matmul", None, [[2, 16, 8], [2, 8, 16]], [2, 16, 16], 2 * (2 * 16 * 8 * 16),
                 id="q·kᵀ of two heads: 2·heads·n·k·m"),
]

def _copy(x: Any) -> Any:
    """What ``contiguous`` computes: a copy laid out in order, even of a tensor that already is."""
    return torch.clone(x, memory_format=torch.contiguous_format)


#: The layers run under autograd's saved_tensors_hooks (a YAML item, its torch module).
AUTOGRAD = [
    pytest.param("reshape: {shape: [2, -1, 8, 8]}", lambda nn: Lambda(lambda x: x.view(x.shape[0], 2, -1, 8, 8)),
                 id="reshape"),
    pytest.param("contiguous", lambda nn: Lambda(_copy), id="contiguous"),
    pytest.param("stack: {dim: 2}", lambda nn: Lambda(lambda x: torch.stack([x], 2)), id="stack"),
]


#: type -> (args, input shape) -> the torch module computing the layer.
TWINS: dict[str, Any] = {
    "reshape": lambda a, s: Lambda(lambda x: x.view(x.shape[0], *a["shape"])),
    "contiguous": lambda a, s: Lambda(_copy),
    "stack": lambda a, s: Lambda(lambda *xs: torch.stack(xs, a.get("dim", 1))),
    "matmul": lambda a, s: Lambda(lambda x, y: torch.matmul(x, y)),
}

#: Types with two inputs of related shapes: the property tests wire them (a second input of the same shape).
WIRED = {"matmul"}


def _stack(rng: random.Random, shape: Shape) -> Args | None:
    """One input (a new axis of size 1) at any non-batch position, counted from either end.

    Only up to rank 2, so that the result and a split of it still have layers of their rank (conv1d–conv3d).
    """
    if len(shape) > 2:
        return None
    dim = rng.randint(1, len(shape) + 1)
    return {"dim": rng.choice([dim, dim - len(shape) - 2])}

#: Random arguments for a shape (None: none fits), as tests/random_networks.py draws them.
GENERATORS: dict[str, Callable[[random.Random, Shape], Args | None]] = {
    "reshape": _reshape,
    "contiguous": lambda rng, shape: {},
    "stack": _stack,
}

#: Hypothesis strategies by type, as tests/test_properties.py draws them.
STRATEGIES: dict[str, Callable[[Shape], st.SearchStrategy[Args]]] = {
    "reshape": lambda shape: st.integers(0, 2**32 - 1).map(lambda seed: _reshape(random.Random(seed), shape)),
    "contiguous": lambda shape: st.just({}),
    "stack": lambda shape: st.integers(1, len(shape) + 1).map(lambda d: {"dim": d}),
    "matmul": lambda shape: st.just({}),
}

#: A network using every type of the family.
ZOO_TENSOR = """name: zoo_tensor
input: [8, 6, 6]
layers:
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - reshape: {shape: [2, 4, 6, 6]}
  - permute: {dims: [0, 2, 1, 3, 4]}
  - contiguous
  - reshape: {shape: [8, 6, 6]}
  - stack: {from: [reshape2, reshape2], dim: 2}
  - matmul: {from: [reshape2, reshape2]}
"""
