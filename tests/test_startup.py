"""Startup and run: each command imports only what it uses, layer validators are built on first use, and a run
leaves no cyclic garbage.

Every case runs in a fresh interpreter, as a user's command does: an import that slipped to the
top of a module shows up here, not as a slower ``cnncalc --help`` months later.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cnncalc import layers, spec

ROOT = Path(__file__).resolve().parent.parent

#: Runs the CLI in-process with the given arguments, then lists the modules it had imported.
_RUN = """
import json, sys
from pathlib import Path
out, args = sys.argv[1], json.loads(sys.argv[2])
from cnncalc.cli import cli
try:
    cli(args, prog_name="cnncalc")
except SystemExit as e:
    assert e.code in (0, None), e.code
finally:
    Path(out).write_text(json.dumps(sorted(sys.modules)))
"""


def modules_after(tmp_path: Path, *args: str) -> set[str]:
    """Top-level packages imported by ``cnncalc ARGS`` run in a fresh interpreter."""
    out = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", _RUN, str(out), json.dumps(args)], cwd=tmp_path, check=True,
                   capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return {m.split(".")[0] for m in json.loads(out.read_text())} | set(json.loads(out.read_text()))


@pytest.mark.parametrize(
    ("args", "absent"),
    [
        pytest.param(("--help",), {"pydantic", "rich", "yaml", "cnncalc.spec"}, id="--help"),
        pytest.param(("--version",), {"pydantic", "rich", "yaml", "cnncalc.spec"}, id="--version"),
        pytest.param(("report", "lenet5", "-f", "json"), {"rich", "cnncalc.render.html"}, id="report json"),
        pytest.param(("report", "lenet5", "-f", "csv"), {"rich", "cnncalc.render.html"}, id="report csv"),
        pytest.param(("check", "lenet5", "--max-params", "1G", "-f", "json"), {"rich"}, id="check json"),
        pytest.param(("sweep", "lenet5", "--input", "1x{28..32..4}", "-f", "csv"), {"rich"}, id="sweep csv"),
        pytest.param(("schema", "input"), {"rich"}, id="schema"),
    ],
)
def test_command_imports_only_what_it_uses(tmp_path: Path, args: tuple[str, ...], absent: set[str]) -> None:
    loaded = modules_after(tmp_path, *args)
    assert "cnncalc.cli" in loaded
    assert not absent & loaded


def test_table_loads_rich(tmp_path: Path) -> None:
    # the other side of the check above: the module names are right
    assert "rich" in modules_after(tmp_path, "report", "lenet5")


def test_validators_are_built_for_the_layer_types_used_only() -> None:
    code = (
        "import cnncalc.spec as s, cnncalc.layers as L; s.load('lenet5'); "
        "print(sorted(n for n, c in L.REGISTRY.items() if c.__pydantic_complete__))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    # lenet5: conv2d, maxpool2d, flatten, linear, relu
    assert out.stdout.strip() == str(["conv2d", "flatten", "linear", "maxpool2d", "relu"])


# ---------------------------------------------------------------------------------------------
# validating one item by its own type keeps the schema and the error locations of the union


def _item_refs(schema: dict[str, Any]) -> set[str]:
    return {m["$ref"].rsplit("/", 1)[1] for m in schema["$defs"]["Item"]["oneOf"] if "$ref" in m}


def test_schema_lists_every_item_type_once() -> None:
    schema = spec.Network.model_json_schema()
    wrappers = {f"{cls.__name__}Item" for cls in layers.REGISTRY.values()} | {"SequentialItem", "Call"}
    assert _item_refs(schema) == wrappers
    item = {"$ref": "#/$defs/Item"}
    assert schema["properties"]["layers"]["items"] == item
    assert schema["$defs"]["BlockDef"]["properties"]["layers"]["items"] == item
    assert schema["$defs"]["Sequential"]["properties"]["layers"]["items"] == item


BLOCK = """\
input: [3, 32, 32]
blocks:
  stage:
    args: {c: null}
    layers:
      - sequential:
          layers:
            - conv2d: {out_channels: $c, kernel_size: 3, groups: true}
layers:
  - stage: {c: 8}
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: true}\n",
                     "t.yaml:3:44: layer #1 (conv2d): kernel_size: expected an integer, got the boolean true",
                     id="argument of a layer"),
        pytest.param("input: [3, 8, 8]\nlayers:\n  - relu\n  - conv2d: {kernel_size: 3}\n",
                     "t.yaml:4:13: layer #2 (conv2d): missing required argument 'out_channels'",
                     id="missing argument"),
        pytest.param("input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 3, strid: 2}\n",
                     "t.yaml:3:47: layer #1 (conv2d): unknown argument 'strid' (did you mean 'stride'?)",
                     id="unknown argument"),
        pytest.param("input: [3, 8, 8]\nlayers:\n  - relux\n",
                     "t.yaml:3:5: layer #1 (relux): unknown layer type or block 'relux' (did you mean 'relu'?)",
                     id="unknown type"),
        pytest.param(BLOCK, "t.yaml:8:66: layer #1 (conv2d): groups: expected an integer, got the boolean true",
                     id="inside a sequential inside a block"),
        pytest.param("input: [3, 8, 8]\nblocks:\n  b:\n    layers: [relu]\nlayers:\n  - b: {repeat: 0}\n",
                     "t.yaml:6:17: layer #1 (b): repeat: must be at least 1, got 0", id="argument of a block call"),
        pytest.param("input: [3, 8, 8]\nlayers:\n  - cat: {from: [input, input], dim: x}\n",
                     "t.yaml:3:38: layer #1 (concat): dim: expected an integer, got the string 'x'",
                     id="a layer written by its alias"),
    ],
)
def test_item_errors_keep_their_line_and_column(text: str, message: str) -> None:
    with pytest.raises(spec.SpecError) as e:
        spec.load("t.yaml", text=text)
    assert e.value.format() == message


#: Runs each command twice in-process with the cyclic collector off, as ``cnncalc.cli.main`` does,
#: and prints the objects that only the collector could free after the second run (the first
#: one imports modules and builds validators, which stay).
_GARBAGE = """
import contextlib, gc, io, json, sys
gc.disable()
from cnncalc.cli import cli
args = json.loads(sys.argv[1])
for _ in range(2):
    gc.collect()
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            cli(args, prog_name="cnncalc")
        except SystemExit as e:
            assert e.code in (0, 1, None), e.code
print(gc.collect())
"""


@pytest.mark.parametrize(
    "args",
    [
        ("report", "resnet50", "-f", "json"),
        ("report", "densenet121", "-f", "table", "--depth", "2"),
        ("report", "googlenet", "--memory", "--html", "{tmp}/r.html"),
        ("sweep", "resnet18", "--input", "3x{64..256..64}", "--batch", "1,8"),
        ("explain", "mobilenet_v2", "-l", "features.3"),
        ("check", "resnet50", "--max-params", "30M", "-f", "junit"),
        ("diff", "resnet18", "resnet34"),
        ("fit", "vgg16", "--memory", "16GiB"),
        ("export", "resnet18", "--to", "pytorch", "-o", "{tmp}/m.py"),
        ("report", "tiny_cnn", "--convention", "fvcore", "-f", "csv"),
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_run_leaves_almost_no_cyclic_garbage(tmp_path: Path, args: tuple[str, ...]) -> None:
    # main() turns the cyclic collector off for speed; that is only sound while a command's
    # garbage is freed by reference counting. A few objects (a cached traceback) are fine; a
    # count growing with the network's size is not.
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    res = subprocess.run([sys.executable, "-c", _GARBAGE, json.dumps(argv)], cwd=tmp_path, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0, res.stderr
    assert int(res.stdout.strip().splitlines()[-1]) < 100


@pytest.mark.parametrize("name", ["resnet152", "densenet121", "efficientnet_b0"])
def test_block_instances_are_validated_once_per_distinct_arguments(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # a layer whose arguments are $expressions is validated when a block instance binds them:
    # once per distinct set of values, not once per instance (ResNet-152 has 50 bottlenecks)
    from cnncalc.graph import build
    from cnncalc.layers import Layer

    made: list[tuple[Any, str]] = []
    validate = Layer.model_validate.__func__  # type: ignore[attr-defined]

    def counting(cls: Any, obj: Any, *args: Any, **kwargs: Any) -> Any:
        made.append((cls, repr(sorted(obj.items()))))
        return validate(cls, obj, *args, **kwargs)

    net = spec.load(name)
    monkeypatch.setattr(Layer, "model_validate", classmethod(counting))
    g = build(net)
    assert made, "the network's blocks bind expressions"
    assert len(set(made)) == len(made)  # no arguments were validated twice
    assert len(made) < len(g.nodes) / 3
