"""``cnncalc export --to pytorch``: every layer type, names, in-place rules, the CLI, and no torch import."""

from __future__ import annotations

import ast
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from random_networks import GENERATORS, MERGES, PLACED, infer

from cnncalc import spec
from cnncalc.cli import cli
from cnncalc.export import to_pytorch
from cnncalc.graph import build
from cnncalc.layers import REGISTRY

ROOT = Path(__file__).resolve().parent.parent


def graph_of(text: str):
    return build(spec.load("net.yaml", text=text))


def test_every_layer_type_has_a_generator_for_the_differential_tests() -> None:
    assert set(GENERATORS) | set(MERGES) | set(PLACED) == set(REGISTRY)


def _sample(kind: str):
    """A layer of this type with random arguments, on an input it fits."""
    rng = random.Random(kind)
    for _ in range(500):
        shape = tuple(rng.randint(2, 8) for _ in range(rng.randint(1, 4)))
        args = {} if kind in MERGES else {"dims": [0, *range(len(shape), 0, -1)]} if kind in PLACED else \
            GENERATORS[kind](rng, shape)
        value = (shape, (None, *range(len(shape) - 1)))
        if args is not None and infer(kind, args, [value, value] if kind in MERGES else [value]) is not None:
            return REGISTRY[kind].model_validate(args), shape
    raise AssertionError(f"no sample for {kind}")


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_layer_type_writes_a_module(kind: str) -> None:
    layer, shape = _sample(kind)
    expr = ast.parse(layer.torch_module([shape]), mode="eval").body
    assert isinstance(expr, ast.Call)
    helpers = {node.name for src in layer.torch_helper_sources() for node in ast.parse(src).body
               if isinstance(node, ast.ClassDef)}
    callee = ast.unparse(expr.func)
    assert callee in helpers or (callee.startswith("nn.") and not helpers), callee


@pytest.mark.parametrize("name", sorted(spec.bundled()))
def test_exported_source_compiles(name: str) -> None:
    compile(to_pytorch(build(spec.load(name)), source=name), f"{name}.py", "exec")


def _line(code: str, name: str) -> str:
    (line,) = [ln for ln in code.splitlines() if re.match(rf'\s*(self\.{name} =|"{name}":)', ln)]
    return line


INPLACE = [
    pytest.param("- conv2d: {out_channels: 2, kernel_size: 1}\n- relu: {name: r, inplace: true}", None,
                 id="after a convolution: kept"),
    pytest.param("- relu: {name: r, inplace: true}", "it would change the network's input",
                 id="on the network's input: dropped"),
    pytest.param("- sigmoid\n- relu: {name: r, inplace: true}",
                 "sigmoid1 (sigmoid) keeps its output for the backward pass",
                 id="after a sigmoid, which keeps its output: dropped"),
    pytest.param("- conv2d: {name: c, out_channels: 2, kernel_size: 1}\n- relu: {name: r, inplace: true}\n"
                 "- add: {from: [c, r]}", "its input is also used by add1",
                 id="input also read by an add: dropped"),
    pytest.param("- conv2d: {name: c, out_channels: 2, kernel_size: 1}\n- identity\n"
                 "- relu: {name: r, inplace: true}\n- add: {from: [c, r]}", "its input is also used by add1",
                 id="input read by an add through an identity: dropped"),
    pytest.param("- conv2d: {out_channels: 2, kernel_size: 1}\n- relu6: {inplace: true}\n"
                 "- relu: {name: r, inplace: true}", "relu61 changed the same values in place already",
                 id="after another in-place layer: dropped"),
]


@pytest.mark.parametrize(("layers", "reason"), INPLACE)
def test_inplace_is_kept_only_where_it_is_safe(layers: str, reason: str | None) -> None:
    line = _line(to_pytorch(graph_of("input: [2, 4, 4]\nlayers:\n" + layers)), "r")
    if reason is None:
        assert "inplace=True" in line and "#" not in line
    else:
        assert "inplace=True" not in line and line.endswith(f"# inplace dropped: {reason}")


def test_names_that_are_not_identifiers_are_kept() -> None:
    code = to_pytorch(graph_of("input: [2, 4, 4]\nlayers:\n- relu: {name: class}\n"
                               "- sequential: {name: my-group, layers: [relu, {relu: {name: 2b}}]}\n"))
    assert 'self.add_module("class", nn.ReLU())' in code
    assert 'x = getattr(self, "my-group")["0"](x)' in code
    assert 'x = getattr(self, "my-group")["2b"](x)' in code
    compile(code, "net.py", "exec")


def test_cli_writes_the_file_and_nothing_to_stdout(tmp_path: Path) -> None:
    out = tmp_path / "model.py"
    result = CliRunner().invoke(cli, ["export", "lenet5", "--to", "pytorch", "-o", str(out)])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert "class Model(nn.Module):" in out.read_text()


def test_cli_needs_a_target() -> None:
    result = CliRunner().invoke(cli, ["export", "lenet5"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--to" in result.stderr  # click's usage message names the option; its wording is click's


def test_cli_check_without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    result = CliRunner().invoke(cli, ["export", "lenet5", "--to", "pytorch", "--check"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "error: --check needs PyTorch: pip install 'cnncalc[torch]'\n"


def test_export_does_not_import_torch() -> None:
    code = ("import sys\nfrom click.testing import CliRunner\nfrom cnncalc.cli import cli\n"
            "r = CliRunner().invoke(cli, ['export', 'resnet50', '--to', 'pytorch'])\n"
            "assert r.exit_code == 0, r.output\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert out.stdout == "[]\n"


@pytest.mark.torch
def test_cli_check_with_torch() -> None:
    pytest.importorskip("torch")
    result = CliRunner().invoke(cli, ["export", "lenet5", "--to", "pytorch", "--check"])
    assert result.exit_code == 0
    assert result.stdout.startswith('"""LeNet-5 (Caffe): a PyTorch module written by cnncalc')
    # 431,080 = conv1 (25 + 1)·20 + conv2 (500 + 1)·50 + ip1 (800 + 1)·500 + ip2 (500 + 1)·10
    assert re.fullmatch(r"checked with torch \S+: 431,080 parameters, 0 buffer values, and the names, inputs and "
                        r"output shapes of 8 layers agree with cnncalc\n", result.stderr)


@pytest.mark.torch
def test_odd_names_line_up_with_named_modules() -> None:
    torch = pytest.importorskip("torch")
    graph = graph_of("input: [2, 4, 4]\nlayers:\n- relu: {name: class}\n"
                     "- sequential: {name: my-group, layers: [relu, {relu: {name: 2b}}]}\n")
    namespace: dict = {}
    exec(to_pytorch(graph), namespace)
    model = namespace["Model"]()
    leaves = [n for n, m in model.named_modules() if n and not list(m.children())]
    assert leaves == [n.name for n in graph.nodes] == ["class", "my-group.0", "my-group.2b"]
    assert model(torch.zeros(1, 2, 4, 4)).shape == (1, 2, 4, 4)


def test_hostile_names_stay_text() -> None:
    """A network name or layer name cannot inject code into the written file."""
    text = (
        "name: 'x\"\"\"; import os; os.system(\"echo no\"); \"\"\"'\n"
        "input: [3, 8, 8]\n"
        "layers:\n"
        "  - conv2d: {out_channels: 4, kernel_size: 3, name: 'a\"b\\c'}\n"
    )
    code = to_pytorch(graph_of(text))
    tree = ast.parse(code)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}
    assert "os" not in imported
    assert not any(isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) for node in tree.body)
    assert 'x"""; import os' in ast.get_docstring(tree)


def test_names_with_control_characters_are_refused() -> None:
    with pytest.raises(Exception, match="control characters"):
        graph_of("input: [3, 8, 8]\nlayers:\n  - relu: {name: \"a\\nimport os\"}\n")
