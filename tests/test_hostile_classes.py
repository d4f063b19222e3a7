"""Classes of unusual input that once ended in a traceback, each tested with several variants.

Every case runs the command line in-process (click's CliRunner does not catch exceptions here,
so a traceback fails the test) and asserts cnncalc's part: the exit code, a message located at
``file:line:col`` of the node at fault, and nothing on stdout when the input is refused.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from cnncalc import source, spec
from cnncalc.errors import CnnCalcError

LOCATED = re.compile(r"\{f\}:(\d+):(\d+): ")


def write(path: Path, content: str | bytes) -> Path:
    """``content`` written to ``path`` (as UTF-8 when text)."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def refused(res: Any, path: Path | str) -> list[str]:
    """The error lines of a run that refused its input cleanly, ``{f}`` standing for the file."""
    assert res.exit_code == 2, (res.exit_code, res.stdout[-500:], res.stderr[-2000:])
    assert "Traceback" not in res.stderr
    lines = res.stderr.replace(str(path), "{f}").splitlines()
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
    assert errors, lines
    assert all(line.startswith(("error: ", "warning: ")) for line in lines), lines
    return errors


def location(line: str) -> tuple[int, int]:
    """(line, column) of an error line; it must have both."""
    m = LOCATED.match(line)
    assert m, f"not located at file:line:col: {line}"
    return int(m.group(1)), int(m.group(2))


def position(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the ``nth`` occurrence of ``needle`` in ``text``, past its leading whitespace."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    at += len(needle) - len(needle.lstrip())
    return text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)


# ---------------------------------------------------------------------------------------------
# 1. a network that ends up with no layers

NO_LAYERS = {
    "every item skipped": "input: [3, 8, 8]\nlayers:\n  - relu: {if: false}\n  - conv2d: {out_channels: 4, "
                          "kernel_size: 3, if: false}\n",
    "an empty sequential": "input: [3, 8, 8]\nlayers:\n  - sequential: {layers: []}\n",
    "empty sequentials nested": "input: [3, 8, 8]\nlayers:\n  - sequential:\n      layers:\n        - sequential: "
                                "{layers: []}\n        - relu: {if: false}\n",
    "an empty block body": "input: [3, 8, 8]\nblocks:\n  nothing: {layers: []}\nlayers:\n  - nothing\n",
    "a repeated empty block": "input: [3, 8, 8]\nblocks:\n  nothing: {layers: []}\nlayers:\n  - nothing: "
                              "{repeat: 3}\n  - nothing: {repeat: 2, name: twice}\n",
    "a block whose items are all skipped": "input: [3, 8, 8]\nblocks:\n  maybe:\n    args: {on: false}\n    layers:\n"
                                           "      - relu: {if: $on}\n      - tanh: {if: $on}\nlayers:\n  - maybe\n",
    "an expression that skips": "input: [3, 8, 8]\nlayers:\n  - relu: {if: $1 > 2}\n",
    "layers: []": "input: [3, 8, 8]\nlayers: []\n",
    "layers: [] in block style": "input: [3, 8, 8]\nlayers:\n  []\n",
}

#: Every command, as arguments around the network's path ``{net}``.
COMMANDS = {
    "report": ["report", "{net}"],
    "report json": ["report", "{net}", "-f", "json"],
    "report csv": ["report", "{net}", "-f", "csv"],
    "report markdown": ["report", "{net}", "-f", "markdown"],
    "report html": ["report", "{net}", "--html", "{out}"],
    "explain": ["explain", "{net}"],
    "check": ["check", "{net}", "--max-params", "1G"],
    "diff": ["diff", "lenet5", "{net}"],
    "sweep": ["sweep", "{net}", "3x16x16"],
    "fit": ["fit", "{net}", "--memory", "1GiB"],
    "export": ["export", "{net}", "--to", "pytorch"],
}


def command(name: str, net: Path, tmp_path: Path) -> list[str]:
    return [a.replace("{net}", str(net)).replace("{out}", str(tmp_path / "out.html")) for a in COMMANDS[name]]


@pytest.mark.parametrize("cmd", list(COMMANDS))
@pytest.mark.parametrize("case", list(NO_LAYERS))
def test_a_network_without_layers_is_refused_at_its_layers_key(tmp_path: Path, case: str, cmd: str) -> None:
    text = NO_LAYERS[case]
    net = write(tmp_path / "net.yaml", text)
    (line,) = refused(run(*command(cmd, net, tmp_path)), net)
    assert location(line) == position(text, "\nlayers:") and re.search(r"\bskipped|empty", line)
    assert not (tmp_path / "out.html").exists()


@pytest.mark.parametrize("case", ["every item skipped", "an empty sequential", "an empty block body"])
def test_a_json_network_without_layers_is_refused_at_its_layers_key(tmp_path: Path, case: str) -> None:
    text = json.dumps(source.parse(NO_LAYERS[case], "net.yaml").data, indent=2)
    net = write(tmp_path / "net.json", text)
    (line,) = refused(run("report", str(net)), net)
    assert location(line) == position(text, '\n  "layers"')  # the top-level key, indented by 2
    assert "skipped" in line


EMPTIES = [
    pytest.param("  - sequential: {layers: []}\n", id="empty sequential"),
    pytest.param("  - sequential: {layers: [{relu: {if: false}}]}\n", id="sequential of skipped items"),
    pytest.param("  - nothing\n", id="empty block"),
    pytest.param("  - nothing: {repeat: 4}\n", id="repeated empty block"),
    pytest.param("  - sequential: {layers: [{sequential: {layers: []}}]}\n", id="nested empty sequentials"),
]
BASE = ("input: [3, 16, 16]\nblocks:\n  nothing: {{layers: []}}\nlayers:\n{0}"
        "  - conv2d: {{out_channels: 8, kernel_size: 3, padding: 1}}\n{0}  - relu\n{0}"
        "  - conv2d: {{out_channels: 8, kernel_size: 3, stride: 2}}\n  - add: {{from: [conv2, conv2]}}\n{0}")


def figures(res: Any) -> tuple[Any, ...]:
    """What a report says about a network, in JSON, without where it came from."""
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    rows = [{k: v for k, v in row.items() if k != "index"} for row in data["layers"]]
    return rows, data["totals"], data["memory"]


@pytest.mark.parametrize("empty", EMPTIES)
def test_an_empty_group_inside_a_network_is_an_identity(tmp_path: Path, empty: str) -> None:
    """As ``torch.nn.Sequential()``: the report is that of the network without it, in every command."""
    with_empty = write(tmp_path / "with.yaml", BASE.format(empty))
    without = write(tmp_path / "without.yaml", BASE.format(""))
    assert figures(run("report", str(with_empty), "-f", "json")) == figures(run("report", str(without), "-f", "json"))
    for cmd in COMMANDS:
        res = run(*command(cmd, with_empty, tmp_path))
        assert res.exit_code == 0, (cmd, res.stderr)
        assert "Traceback" not in res.stderr


def test_pytorch_runs_an_empty_sequential_as_an_identity() -> None:
    torch = pytest.importorskip("torch")
    x = torch.randn(2, 3, 5, 5)
    assert torch.equal(torch.nn.Sequential()(x), x)
    assert torch.equal(torch.nn.Sequential(torch.nn.Sequential(), torch.nn.Sequential())(x), x)


def test_an_exported_network_with_empty_groups_matches_pytorch(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    net = write(tmp_path / "net.yaml", BASE.format("  - sequential: {layers: []}\n  - nothing\n"))
    res = run("export", str(net), "--to", "pytorch", "--check")
    assert res.exit_code == 0, res.stderr


# ---------------------------------------------------------------------------------------------
# 2. expressions wherever a value stands

BLOCK = """\
input: [3, 8, 8]
blocks:
  b:
    args: {{p: 1, q: 4, r: null}}
    layers:
      - conv2d: {{out_channels: {out}, kernel_size: 3, padding: {pad}, if: {cond}}}
layers:
  - b: {{r: {r}}}
"""


def block_net(out: str = "$q", pad: str = "$p", cond: str = "true", r: str = "0") -> str:
    return BLOCK.format(out=out, pad=pad, cond=cond, r=r)


EVALUATED = [
    # (description, expected conv2d output shape)
    pytest.param(block_net(pad="$r", r='["$1", 1]'), [4, 8, 8], id="expression in a list given to a block"),
    pytest.param(block_net(pad="$r", r='["$index + 1", "$2 - 1"]'), [4, 8, 8], id="expressions over index in a list"),
    pytest.param(block_net(pad="$r", r='[["$1"]]'), None, id="a nested list is a list, refused by padding"),
    pytest.param(block_net(pad="[$p, $r]", r='"$1 + 1"'), [4, 8, 10], id="expressions in a layer's list"),
    pytest.param(block_net(out="$r[0]", r='["$2 * 3"]'), None, id="indexing is refused"),
    pytest.param(block_net(pad="$r", r='{a: "$1"}'), None, id="expression in a mapping given to a block"),
    pytest.param(block_net(cond="$r", r='"$index == 0"'), [4, 8, 8], id="expression given to a block used in if"),
    pytest.param(block_net(out="$r", r='"$index + 8"'), [8, 8, 8], id="expression over the caller's names"),
    pytest.param(block_net(out="$r", r='"$q * 2"'), None, id="the block's names are not the caller's"),
]


@pytest.mark.parametrize("text, shape", EVALUATED)
def test_an_expression_is_evaluated_or_refused_wherever_it_stands(tmp_path: Path, text: str, shape: Any) -> None:
    net = write(tmp_path / "net.yaml", text)
    res = run("report", str(net), "-f", "json")
    if shape is None or res.exit_code != 0:
        (line,) = refused(res, net)
        location(line)
        assert shape is None, line
    else:
        (row,) = json.loads(res.stdout)["layers"]
        assert row["output_shape"] == shape
        assert "$" not in json.dumps(row)


AN_EXPRESSION_AS_VALUE = [
    pytest.param(block_net(r="\"$'$1'\"", pad="$r"), "r", id="block argument"),
    pytest.param(block_net(r="[\"$'$1'\", 1]", pad="$r"), "r", id="in a list given to a block"),
    pytest.param(block_net(r="{a: \"$'$q'\"}", pad="$r"), "r", id="in a mapping given to a block"),
    pytest.param(block_net(pad="\"$'$p'\""), "padding", id="layer argument"),
    pytest.param(block_net(pad="[1, \"$'$p'\"]"), "padding", id="in a layer's list"),
    pytest.param(block_net(cond="\"$'$p'\""), "if", id="if"),
    pytest.param(block_net(out="\"$['$q']\""), "out_channels", id="a list holding an expression"),
    pytest.param("input: [3, 8, 8]\nblocks:\n  b:\n    args: {p: \"$'$x'\"}\n    layers: [relu]\nlayers: [b]\n",
                 "p", id="a default"),
    pytest.param("input: [3, 8, 8]\nlayers:\n  - sequential: {if: \"$'$x'\", layers: [relu]}\n", "if",
                 id="if of a sequential"),
]


@pytest.mark.parametrize("text, field", AN_EXPRESSION_AS_VALUE)
def test_an_expression_whose_value_is_an_expression_is_refused(tmp_path: Path, text: str, field: str) -> None:
    net = write(tmp_path / "net.yaml", text)
    (line,) = refused(run("report", str(net)), net)
    row, _ = location(line)
    assert row == position(text, f"{field}: ", text.count(f"{field}: ") - 1)[0]
    assert "'$" in line and "never evaluated again" in line


SCALARS = st.one_of(st.integers(-3, 5), st.sampled_from(["$1", "$index", "$'$1'", "$[1, 2]", "$p", "$", "x"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(["a", "p"]), inner, max_size=2), max_leaves=6)


@hsettings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=VALUES, where=st.sampled_from(["block argument", "layer argument", "if", "default"]))
def test_any_value_anywhere_gives_figures_or_a_located_error(tmp_path: Path, value: Any, where: str) -> None:
    written = json.dumps(value)
    text = {
        "block argument": block_net(pad="$r", r=written),
        "layer argument": block_net(pad=written),
        "if": block_net(cond=written),
        "default": block_net().replace("p: 1,", f"p: {written},"),
    }[where]
    net = write(tmp_path / "net.yaml", text)
    res = run("report", str(net), "-f", "json")
    if res.exit_code == 0:
        assert "$" not in json.dumps(json.loads(res.stdout)["layers"])
    else:
        for line in refused(res, net):
            location(line)


# ---------------------------------------------------------------------------------------------
# 3. empty typed scalars, and tags that are not part of the format

EMPTY_TAGGED = ["!!int ", "!!float ", "!!bool ", "!!int ''", '!!float ""', '!!bool ""', "!!int ' '"]
SLOTS = {
    "input size": "input: [3, {v}, 8]\nlayers: [relu]\n",
    "layer argument": "input: [3, 8, 8]\nlayers:\n  - batchnorm2d: {{eps: {v}}}\n",
    "if": "input: [3, 8, 8]\nlayers:\n  - relu: {{if: {v}}}\n",
    "block argument": "input: [3, 8, 8]\nblocks:\n  b:\n    args: {{p: 1}}\n    layers: [relu]\nlayers:\n"
                      "  - b: {{p: {v}}}\n",
    "block-style value": "input: [3, 8, 8]\nlayers:\n  - dropout:\n      p: {v}\n",
}


@pytest.mark.parametrize("slot", list(SLOTS))
@pytest.mark.parametrize("value", EMPTY_TAGGED)
def test_an_empty_typed_scalar_is_refused_where_it_stands(tmp_path: Path, loader: str, value: str, slot: str) -> None:
    text = SLOTS[slot].format(v=value)
    net = write(tmp_path / "net.yaml", text)
    lines = refused(run("report", str(net)), net)
    tag = value.split()[0]
    mine = [line for line in lines if tag in line]
    assert mine, lines
    assert location(mine[0]) == position(text, tag)
    assert "too large" not in mine[0]


@pytest.mark.parametrize("value, tag", [
    ("!!int eight", "!!int"), ("!!int 1.5", "!!int"), ("!!int 0x", "!!int"), ("!!float one", "!!float"),
    ("!!bool yes", "!!bool"), ("!!bool 1", "!!bool"), ("!!null 0", "!!null"),
])
def test_a_typed_scalar_that_is_not_of_its_type_says_so(tmp_path: Path, loader: str, value: str, tag: str) -> None:
    text = SLOTS["layer argument"].format(v=value)
    net = write(tmp_path / "net.yaml", text)
    (line,) = refused(run("report", str(net)), net)
    assert location(line) == position(text, tag)
    assert f"cannot read '{value.split()[1]}' as {tag}" in line


@pytest.mark.parametrize("value", ["!!int 0o17", "!!int 0x1F", "!!int +12", "!!float 1", "!!float .inf",
                                   "!!bool true", "!!null ''", "!!str x", "! x"])
def test_a_core_schema_tag_is_read(value: str) -> None:
    src = source.parse(f"a: {value}\n", "net.yaml")
    expected = {"!!int 0o17": 15, "!!int 0x1F": 31, "!!int +12": 12, "!!float 1": 1.0, "!!float .inf": float("inf"),
                "!!bool true": True, "!!null ''": None, "!!str x": "x", "! x": "x"}[value]
    assert src.data["a"] == expected and type(src.data["a"]) is type(expected)


TAGS = ["!!python/name:os.system", "!!python/object/apply:os.system", "!!set", "!!omap", "!!pairs", "!foo",
        "!<tag:example.com,2000:x>", "!!binary", "!!timestamp", "!!merge"]
TAGGED_NODES = {
    "list": "input: {t} [3, 8, 8]\nlayers: [relu]\n",
    "mapping": "input: [3, 8, 8]\nlayers:\n  - conv2d: {t} {{out_channels: 4, kernel_size: 3}}\n",
    "block-style mapping": "input: [3, 8, 8]\nlayers:\n  - conv2d: {t}\n      out_channels: 4\n      kernel_size: 3\n",
    "block-style list": "input: [3, 8, 8]\nlayers: {t}\n  - relu\n",
    "scalar": "input: [3, {t} 8, 8]\nlayers: [relu]\n",
    "key": "input: [3, 8, 8]\nlayers:\n  - conv2d: {{{t} out_channels: 4, kernel_size: 3}}\n",
    "the whole file": "{t}\ninput: [3, 8, 8]\nlayers: [relu]\n",
}


@pytest.mark.parametrize("node", list(TAGGED_NODES))
@pytest.mark.parametrize("tag", TAGS)
def test_a_tag_outside_the_format_is_refused_on_any_node(tmp_path: Path, loader: str, tag: str, node: str) -> None:
    text = TAGGED_NODES[node].format(t=tag)
    net = write(tmp_path / "net.yaml", text)
    lines = refused(run("report", str(net)), net)
    at = [line for line in lines if location(line) == position(text, tag)]
    assert at, lines
    assert "tag" in at[0] or "merge" in at[0]


@pytest.mark.parametrize("text", ["!!str [1, 2]", "!!int [1]", "!!map [1]", "!!seq {a: 1}", "!!str {a: 1}"])
def test_a_scalar_tag_on_a_collection_is_refused(text: str) -> None:
    with pytest.raises(CnnCalcError) as info:
        source.parse(f"a: {text}\n", "net.yaml")
    (p,) = info.value.problems
    assert (p.line, p.column) == (1, 4)
    assert text.split()[0] in p.message


# ---------------------------------------------------------------------------------------------
# 4. numbers too long to read

HUGE = "9" * 5000


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("slot, sign", [("input", ""), ("layer", ""), ("layer", "-"), ("block", ""), ("budget", "")])
def test_a_huge_number_is_refused_where_it_stands(tmp_path: Path, fmt: str, slot: str, sign: str) -> None:
    n = f"{sign}{HUGE}"
    data: dict[str, Any] = {"input": [3, 8, 8], "layers": [{"conv2d": {"out_channels": 4, "kernel_size": 3}}]}
    if slot == "input":
        data["input"][1] = "@"
    elif slot == "layer":
        data["layers"][0]["conv2d"]["padding"] = "@"
    elif slot == "block":
        data["blocks"] = {"b": {"args": {"p": 1}, "layers": ["relu"]}}
        data["layers"].append({"b": {"p": "@"}})
    else:
        data["budgets"] = {"max_params": "@"}
    text = (json.dumps(data, indent=1) if fmt == "json" else yaml.safe_dump(data, sort_keys=False)).replace(
        '"@"' if fmt == "json" else "'@'", n)
    net = write(tmp_path / f"net.{fmt}", text)
    for args in (["report", str(net)], ["check", str(net)]):
        (line,) = refused(run(*args), net)
        assert location(line) == position(text, n)
        assert "5,000 digits is too large" in line


@pytest.mark.parametrize("value", ["0x" + "f" * 5000, "!!int 0x" + "f" * 5000])
def test_a_huge_hexadecimal_number_is_refused(value: str) -> None:
    with pytest.raises(CnnCalcError) as info:
        source.parse(f"a: [1, {value}]\n", "net.yaml")
    (p,) = info.value.problems
    assert (p.line, p.column) == (1, 8)
    assert "too large" in p.message


# ---------------------------------------------------------------------------------------------
# 5. JSON read by JSON's grammar

HOSTILE_NAMES = ["smile \U0001F600", "e\u0301 accent", "line\u2028sep", "para\u2029sep", "del\x7f", "nel\x85",
                 "rtl \u202e reversed", "quote \" and \\ backslash", "tab\tin", "\U00010348 gothic", "\ufeffbom",
                 "non\ufffechar"]


def hostile_network(name: str) -> dict[str, Any]:
    return {"name": name, "description": name, "input": [3, 8, 8],
            "layers": [{"conv2d": {"out_channels": 4, "kernel_size": 3}}, {"relu": {"name": "r" + str(len(name))}}]}


@pytest.mark.parametrize("ascii_only", [True, False], ids=["escaped", "raw"])
@pytest.mark.parametrize("where", ["file.json", "stdin", "file.yaml"])
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_valid_json_is_accepted_with_every_string_as_written(tmp_path: Path, name: str, where: str,
                                                            ascii_only: bool) -> None:
    data = hostile_network(name)
    text = json.dumps(data, ensure_ascii=ascii_only)
    if where == "stdin":
        res = run("report", "-", "-f", "json", input=text)
    else:
        res = run("report", str(write(tmp_path / f"net.{where.split('.')[1]}", text)), "-f", "json")
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["network"]["name"] == name
    assert out["totals"]["params"] == 4 * (3 * 3 * 3 + 1)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_json_strings_reach_every_format(tmp_path: Path, name: str, fmt: str) -> None:
    net = write(tmp_path / "net.json", json.dumps(hostile_network(name)))
    res = run("report", str(net), "-f", fmt)
    assert res.exit_code == 0, res.stderr
    assert "r" + str(len(name)) in res.stdout


@pytest.mark.parametrize("escape", ["\\ud83d", "\\ude00", "\\ud83d x", "\\ude00\\ud83d"])
@pytest.mark.parametrize("where", ["value", "key"])
def test_half_a_surrogate_pair_is_refused(tmp_path: Path, escape: str, where: str) -> None:
    s = f'"a{escape}b"'
    text = (f'{{"input": [3, 8, 8], "layers": ["relu"], "description": {s}}}' if where == "value"
            else f'{{"input": [3, 8, 8], "layers": ["relu"], {s}: 1}}')
    net = write(tmp_path / "net.json", text)
    lines = refused(run("report", str(net)), net)
    assert any(location(line) == position(text, s) and "surrogate" in line for line in lines), lines


@pytest.mark.parametrize("text, at", [
    ('{"input": [3, 8, 8], "layers": [{"dropout": {"p": NaN}}]}', "NaN"),
    ('{"input": [3, 8, 8], "layers": [{"dropout": {"p": Infinity}}]}', "Infinity"),
    ('{"input": [3, 8, 8], "layers": [{"dropout": {"p": -Infinity}}]}', "-Infinity"),
    ('{"input": [3, 8, 8], "layers": ["relu",]}', "]}"),
    ('{"input": [3, 8, 8], "layers": [\'relu\']}', "'"),
    ('{"input": [3, 8, 8], "layers": ["relu"]} {}', "{}"),
    ('{"input": [3, 08, 8], "layers": ["relu"]}', "8, 8"),
    ('{"input": [3, 8, 8], "layers": ["re\x01lu"]}', "\x01"),
    ('{"input": [3, 8, 8], "layers": ["relu\\x"]}', "\\x"),
    ('{"input": [3, 8, 8], "layers": ["relu]}', '"relu'),
    ('{"input": [3, 8, 8], "layers": ["relu"]', None),
    ('{"input": [3, 8, 8], "layers": ["relu"], ' + " " * 9000 + '\x00: 1}', "\x00"),
])
def test_text_that_is_not_json_is_refused_in_a_json_file(tmp_path: Path, text: str, at: str | None) -> None:
    net = write(tmp_path / "net.json", text)
    (line,) = refused(run("report", str(net)), net)
    assert "invalid JSON: " in line
    row, col = location(line)
    if at is not None:
        want_row, want_col = position(text, at)
        assert row == want_row and abs(col - want_col) <= 1, (line, want_col)


def test_json_duplicate_keys_and_limits_are_those_of_yaml(tmp_path: Path) -> None:
    text = '{\n "input": [3, 8, 8],\n "layers": [{"relu": {"name": "a", "name": "b"}}],\n "input": [1]\n}'
    net = write(tmp_path / "net.json", text)
    assert refused(run("report", str(net)), net) == [
        "{f}:" + ":".join(map(str, position(text, '"name"', 1))) + ": duplicate key 'name' (first given on line 3)",
        "{f}:4:2: duplicate key 'input' (first given on line 2)",
    ]
    deep = '{"input": [3, 8, 8], "layers": ["relu"], "x": ' + "[" * 300 + "]" * 300 + "}"
    net = write(tmp_path / "deep.json", deep)
    (line,) = refused(run("report", str(net)), net)
    assert f"nesting deeper than {source.MAX_DEPTH} levels" in line
    # the object is level 1, so the list opened by the k-th '[' (from 0) is level k + 2
    assert location(line) == (1, deep.index("[[") + (source.MAX_DEPTH + 1 - 2) + 1)
    many = '{"input": [3, 8, 8], "layers": ["relu"], "x": [' + ",".join(["1"] * source.MAX_NODES) + "]}"
    net = write(tmp_path / "many.json", many)
    (line,) = refused(run("report", str(net)), net)
    assert f"more than {source.MAX_NODES:,} nodes" in line


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(string.ascii_letters, max_size=4), inner,
                                                                 max_size=4),
    max_leaves=20,
)


def paths(data: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``data``."""
    out = [at]
    if isinstance(data, dict):
        for k, v in data.items():
            out += paths(v, (*at, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += paths(v, (*at, i))
    return out


@hsettings(max_examples=150)
@given(data=JSON_VALUES, ascii_only=st.booleans(), indent=st.sampled_from([None, 1, "\t"]))
def test_json_reads_as_json_and_locates_as_yaml_does(data: Any, ascii_only: bool, indent: Any) -> None:
    """The data is json.loads'; where YAML reads the same text alike, every node is at the same place."""
    text = json.dumps(data, ensure_ascii=ascii_only, indent=indent)
    src = source.parse(text, "net.json")
    assert src.data == json.loads(text)
    try:
        as_yaml = source._parse_yaml(text.replace("\t", " "), "net.yaml")
    except CnnCalcError:
        return  # YAML refuses it (a character YAML does not allow): JSON is read all the same
    if as_yaml.data != src.data:
        return  # YAML reads it otherwise (a line separator in a string): JSON's reading is the one taken
    for path in paths(src.data):
        assert src.locate(path) == as_yaml.locate(path), path
        assert src.locate(path, key=True) == as_yaml.locate(path, key=True), path


def test_bundled_networks_read_the_same_as_json() -> None:
    for name, path in spec.bundled().items():
        data = source.read(path).data
        assert source.parse(json.dumps(data), f"{name}.json").data == data, name


# ---------------------------------------------------------------------------------------------
# 5. YAML 1.1 forms, read by YAML 1.2 and warned about

YAML_1_1 = [
    # (written, read as, what YAML 1.1 read)
    ("010", 10, 8), ("0o17", 15, "0o17"), ("09", 9, "09"), ("+.5", 0.5, "+.5"), ("1_000", "1_000", 1000),
    ("1:20", "1:20", 80), ("0b101", "0b101", 5), ("yes", "yes", True), ("No", "No", False), ("on", "on", True),
    ("OFF", "OFF", False),
]


@pytest.mark.parametrize("written, now, before", YAML_1_1)
def test_a_yaml_1_1_form_is_read_by_yaml_1_2_with_a_warning(tmp_path: Path, loader: str, written: str, now: Any,
                                                             before: Any) -> None:
    src = source.parse(f"a: [1, {written}]\n", "net.yaml")
    assert src.data == {"a": [1, now]} and type(src.data["a"][1]) is type(now)
    (w,) = src.warnings
    assert (w.line, w.column) == (1, 8)
    assert "YAML 1.2" in w.message and "YAML 1.1" in w.message
    # quoted, or written as YAML 1.2 has it, there is nothing to warn about
    for plain in (f"'{written}'", json.dumps(now)):
        assert source.parse(f"a: [1, {plain}]\n", "net.yaml").warnings == []


@pytest.mark.parametrize("value", ["3", "-2", "0", "1.5", "1e-5", "2E3", "true", "False", "null", "~", ".inf",
                                   "-.inf", ".nan", "0x1f", "relu", "3x3", "2020-01-01"])
def test_forms_yaml_1_1_and_1_2_read_alike_give_no_warning(value: str) -> None:
    assert source.parse(f"a: {value}\n", "net.yaml").warnings == []


def test_the_warning_reaches_the_user_and_explains_an_error(tmp_path: Path) -> None:
    text = "input: [3, 010, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 3, bias: yes}\n"
    net = write(tmp_path / "net.yaml", text)
    (line,) = refused(run("report", str(net)), net)
    assert location(line) == position(text, "yes")
    assert "got the string 'yes'" in line and "YAML 1.1" in line and "true" in line
    ok = write(tmp_path / "ok.yaml", text.replace("yes", "true"))
    res = run("report", str(ok), "-f", "json")
    assert res.exit_code == 0
    assert json.loads(res.stdout)["network"]["input_shape"] == [3, 10, 8]
    (warning,) = res.stderr.replace(str(ok), "{f}").splitlines()
    assert warning.startswith("warning: {f}:1:12: '010'")


# ---------------------------------------------------------------------------------------------
# 5. what was wrongly accepted, or located at the wrong place

@pytest.mark.parametrize("arg", ["index", "in_channels"])
@pytest.mark.parametrize("style", ["flow", "block"])
def test_a_built_in_name_is_refused_as_a_block_argument(tmp_path: Path, arg: str, style: str) -> None:
    args = f"{{{arg}: 2, p: 1}}" if style == "flow" else f"\n      p: 1\n      {arg}: 2"
    text = f"input: [3, 8, 8]\nblocks:\n  b:\n    args: {args}\n    layers: [relu]\nlayers:\n  - b\n"
    net = write(tmp_path / "net.yaml", text)
    (line,) = refused(run("report", str(net)), net)
    assert location(line) == position(text, arg)
    assert f"'{arg}' is reserved" in line


@pytest.mark.parametrize("block", ["relu", "conv2d", "sequential", "cat", "leaky_relu"])
def test_a_block_named_like_a_layer_type_is_reported_at_its_name(tmp_path: Path, block: str) -> None:
    text = f"input: [3, 8, 8]\nblocks:\n  {block}:\n    layers:\n      - tanh\nlayers:\n  - relu\n"
    net = write(tmp_path / "net.yaml", text)
    lines = refused(run("report", str(net)), net)
    assert any(location(line) == (3, 3) and "already a layer type" in line for line in lines), lines


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\ufffe"])
@pytest.mark.parametrize("offset", [0, 20_000])
def test_a_character_yaml_does_not_allow_is_located(tmp_path: Path, loader: str, char: str, offset: int) -> None:
    text = "# " + "x" * offset + "\ninput: [3, 8, 8]\nlayers:\n  - relu: {name: a" + char + "b}\n"
    if char == "\x00" and offset == 0:
        return  # a NUL in the first 8 KiB says the file is binary, without a location
    net = write(tmp_path / "net.yaml", text)
    (line,) = refused(run("report", str(net)), net)
    assert location(line) == position(text, char)
    assert f"U+{ord(char):04X}" in line


# ---------------------------------------------------------------------------------------------
# block names follow the rule of layer names: they become part of their layers' names


@pytest.mark.parametrize("name", ["a.b", "a/b", "$x", " padded", "trailing ", "bell\x07", "esc\x1b[31m",
                                  "bidi\u202e", "x" * 201],
                         ids=["dot", "slash", "dollar", "leading space", "trailing space", "BEL", "ESC", "bidi",
                              "201 characters"])
def test_a_block_name_that_no_layer_could_carry_is_refused_at_its_key(tmp_path: Path, name: str) -> None:
    text = json.dumps({"input": [3, 8, 8], "blocks": {name: {"layers": ["relu"]}}, "layers": [name]}, indent=1)
    path = write(tmp_path / "net.json", text)
    errors = refused(run("report", str(path)), path)
    assert location(errors[0]) == position(text, json.dumps(name))
    assert "block name" in errors[0]


@pytest.mark.parametrize("name", ["[bold]x[red]", "=1+2", "ünïcödé", "with space", "🧠"])
def test_a_block_name_a_layer_could_carry_is_kept_as_written(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / "net.json", json.dumps({"input": [3, 8, 8], "blocks": {name: {"layers": ["relu"]}},
                                                   "layers": [name]}))
    res = run("report", str(path), "-f", "json")
    assert res.exit_code == 0, res.stderr
    assert [row["name"] for row in json.loads(res.stdout)["layers"]] == [f"{name}1.relu1"]
