"""The tensor family (cnncalc/layers/tensor.py): reshape and contiguous.

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
from hypothesis import strategies as st

from cnncalc import analyse, spec
from cnncalc.cli import cli
from cnncalc.errors import LayerError
from cnncalc.graph import build
from cnncalc.layers import REGISTRY
from cnncalc.memory import MemoryModel

Shape = tuple[int, ...]
Args = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# arithmetic: (type, args, input, output); both types have no params, buffers, MACs or FLOPs

CASES = [
    pytest.param("reshape", {"shape": [2, 8, 5, 5]}, [16, 5, 5], [2, 8, 5, 5], id="split the channels (radix)"),
    pytest.param("reshape", {"shape": [16, -1]}, [16, 5, 5], [16, 25], id="-1 inferred: 400 / 16"),
    pytest.param("reshape", {"shape": [16, 1, 1]}, [16], [16, 1, 1], id="SE: [C] back to [C, 1, 1]"),
    pytest.param("reshape", {"shape": [-1]}, [3, 4, 5], [60], id="everything in one axis"),
    pytest.param("contiguous", {}, [5, 7, 3], [5, 7, 3], id="a copy of the same shape"),
]


@pytest.mark.parametrize(("kind", "args", "shape", "out"), CASES)
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


# ---------------------------------------------------------------------------------------------
# saved tensors: what autograd keeps, as saved_tensors_hooks sees it

torch = pytest.importorskip("torch") if importlib.util.find_spec("torch") else None

_SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "measure_memory.py"


def _measure() -> Any:
    spec_ = importlib.util.spec_from_file_location("measure_memory", _SCRIPT)
    module = importlib.util.module_from_spec(spec_)  # type: ignore[arg-type]
    spec_.loader.exec_module(module)  # type: ignore[union-attr]
    return module


TWIN_TEXT = """name: twin
input: [4, 8, 8]
layers:
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - reshape: {shape: [2, 4, 8, 8]}
  - permute: {dims: [0, 2, 1, 3, 4]}
  - contiguous
  - reshape: {shape: [8, 8, 8]}
  - relu
  - conv2d: {out_channels: 4, kernel_size: 1}
"""


def _twin() -> Any:
    nn = torch.nn

    class Twin(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.relu, self.conv2 = nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 1)

        def forward(self, x: Any) -> Any:
            y = self.conv1(x).view(x.shape[0], 2, 4, 8, 8).permute(0, 2, 1, 3, 4).contiguous()
            return self.conv2(self.relu(y.view(x.shape[0], 8, 8, 8)))

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
    assert "class Reshape(nn.Module)" in result.stdout and "class Contiguous(nn.Module)" in result.stdout


def test_explain_and_schema_know_the_family() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["explain", "-", "--layer", "reshape1"], input=ZOO_TENSOR)
    assert result.exit_code == 0, result.output
    assert "reshape" in result.stdout
    schema = runner.invoke(cli, ["schema", "input"])
    assert '"reshape"' in schema.stdout and '"contiguous"' in schema.stdout


# ---------------------------------------------------------------------------------------------
# what the registry-wide tests read


def _reshape(rng: random.Random, shape: Shape) -> Args | None:
    """Split the first axis in two, keep every size with a -1, or merge everything."""
    c = shape[0]
    split = [d for d in range(2, c) if c % d == 0]
    choice = rng.choice(["split", "same", "merge"] if split else ["same", "merge"])
    if choice == "split":
        d = rng.choice(split)
        return {"shape": [d, c // d, *shape[1:]]}
    if choice == "same":
        return {"shape": [-1, *shape[1:]]}
    return {"shape": [-1]}


#: Random arguments for a shape (None: none fits), as tests/random_networks.py draws them.
GENERATORS: dict[str, Callable[[random.Random, Shape], Args | None]] = {
    "reshape": _reshape,
    "contiguous": lambda rng, shape: {},
}

#: Hypothesis strategies by type, as tests/test_properties.py draws them.
STRATEGIES: dict[str, Callable[[Shape], st.SearchStrategy[Args]]] = {
    "reshape": lambda shape: st.integers(0, 2**32 - 1).map(lambda seed: _reshape(random.Random(seed), shape)),
    "contiguous": lambda shape: st.just({}),
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
"""
