"""Property tests: random valid networks over the whole layer registry, and random corruption of
valid files through the command line.

The examples are drawn reproducibly (the ``ci`` profile in conftest.py derandomizes them); set
``HYPOTHESIS_PROFILE=explore`` to draw new ones.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import layers
import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from conftest import assert_totals_add_up, run  # noqa: E402
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cnncalc import analysis, spec  # noqa: E402
from cnncalc.errors import LayerError  # noqa: E402
from cnncalc.layers import REGISTRY  # noqa: E402
from cnncalc.layers.base import channels_first  # noqa: E402
from cnncalc.render import render_csv, render_json  # noqa: E402
from cnncalc.text import printable  # noqa: E402

Shape = tuple[int, ...]
Args = st.SearchStrategy[dict[str, Any]]

# ---------------------------------------------------------------------------------------------
# arguments for each layer family, given the shape that reaches the layer


#: Hypothesis strategies of arguments, by layer type or family stem: every family's (tests/layers).
FAMILIES: dict[str, Callable[[Shape], Args]] = layers.mapping("STRATEGIES")
#: The ranks a type takes where its ``ndim`` does not say.
FITS: dict[str, Callable[[Shape], bool]] = layers.mapping("FITS")
#: Layer types with several inputs: ``networks`` wires their second input.
MERGES = {t for t in layers.mapping_set("WIRED") if REGISTRY[t].arity[1] != 1}


def family(type_name: str) -> str:
    """``conv2d`` → ``conv``, ``batchnorm1d`` → ``batchnorm``; ``layernorm2d`` is a family of its own."""
    return type_name if type_name in FAMILIES else re.sub(r"[123]d$", "", type_name)


def test_every_layer_type_has_a_strategy() -> None:
    assert {family(t) for t in REGISTRY} <= set(FAMILIES)
    assert set(FAMILIES) <= {family(t) for t in REGISTRY}


def fits(type_name: str, shape: Shape) -> bool:
    """Whether a layer type can take a tensor of this rank."""
    if type_name in FITS:
        return bool(FITS[type_name](shape))
    ndim = REGISTRY[type_name].ndim
    return ndim is None or len(shape) == ndim + 1


@st.composite
def networks(draw: Callable[..., Any]) -> tuple[dict[str, Any], list[str]]:
    """A valid description and the types of its layers, in order."""
    spatial = draw(st.integers(0, 3))
    shape: Shape = (draw(st.integers(1, 8)), *draw(st.lists(st.integers(1, 12), min_size=spatial,
                                                            max_size=spatial)))
    shapes: dict[str, Shape] = {"input": shape}
    layouts = {"input": channels_first(len(shape))}  # which input axis each axis runs along
    items: list[Any] = []
    types: list[str] = []
    for i in range(draw(st.integers(1, 8))):
        candidates = sorted(t for t in REGISTRY if fits(t, shape))
        for _attempt in range(5):
            typ = draw(st.sampled_from(candidates))
            args = draw(FAMILIES[family(typ)](shape))
            sources = [list(shapes)[-1]]
            if typ in MERGES:
                same = [n for n, s in shapes.items() if s == shape] if typ != "concat" else \
                       [n for n, s in shapes.items() if len(s) == len(shape) and s[1:] == shape[1:]]
                sources.append(draw(st.sampled_from(same or sources)))
                args["from"] = sources
            ins = [shapes[n] for n in sources]
            try:
                layer = REGISTRY[typ].model_validate(args)
                out = layer.infer(ins)
                layout = layer.layout([layouts[n] for n in sources], ins, out)
            except LayerError:
                continue
            if all(d >= 1 for d in out) and math.prod(out) <= 10**6:
                break
        else:
            typ, args, out, layout = "identity", {}, shape, layouts[list(shapes)[-1]]
        name = f"l{i}"
        items.append({typ: {**args, "name": name}})
        types.append(typ)
        shapes[name] = shape = tuple(out)
        layouts[name] = layout
    description: dict[str, Any] = {"input": list(shapes["input"]), "layers": items}
    if draw(st.booleans()):
        description["layers"] = [{"sequential": {"name": "body", "layers": items}}]
    return description, types


# ---------------------------------------------------------------------------------------------
# random valid networks


@settings(max_examples=1200, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_random_valid_networks(case: tuple[dict[str, Any], list[str]]) -> None:
    description, types = case
    text = yaml.safe_dump(description, sort_keys=False)
    report = analysis.analyse(spec.load("random.yaml", text=text), batch=3, dtype="fp16")

    assert [r.type for r in report.layers] == types
    event(f"{len(report.input_shape) - 1} spatial axes")
    out = {"input": report.input_shape}
    for row in report.layers:  # each layer's input is what its sources put out
        assert row.input_shapes == tuple(out[name] for name in row.inputs)
        out[row.name] = row.output_shape
        assert min(row.params, row.buffers, row.macs, row.flops) >= 0
        assert row.output_elements == math.prod(row.output_shape)
        assert row.output_bytes == 2 * row.output_elements
    assert_totals_add_up(report)
    assert report.totals.output_shape == report.layers[-1].output_shape
    assert report.totals.activation_bytes_batch == 3 * report.totals.activation_bytes

    data = json.loads(render_json(report))
    assert data == report.to_dict()
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert [r["name"] for r in rows] == [r.name for r in report.layers]
    assert [int(r["flops"]) for r in rows] == [r.flops for r in report.layers]

    # the same description written as JSON gives the same figures
    as_json = analysis.analyse(spec.load("random.json", text=json.dumps(description, indent=1)), batch=3,
                               dtype="fp16").to_dict()
    assert {**as_json, "network": None} == {**data, "network": None}


# ---------------------------------------------------------------------------------------------
# random corruption of valid files, through the command line

ROOT = Path(__file__).resolve().parent.parent
TEXTS = {p.name: p.read_text() for p in sorted((ROOT / "networks").glob("*.yaml"))}
TEXTS |= {p.stem + ".json": json.dumps(yaml.safe_load(t), indent=2) for p, t in
          ((ROOT / "networks" / n, t) for n, t in TEXTS.items())}

VALUES = ["true", "false", "null", "0", "-1", "1.5", ".nan", "-.inf", "1e400", "x", "'7'", "[]", "{}",
          "[1, 2]", "$x", "$in_channels * 2", "99999999999999999999", '"', "&a", "*a", "<<", "{a: 1", "]"]
#: A value: after ': ', or an element of a flow list or mapping.
VALUE = re.compile(r"(?:(?<=: )|(?<=\[)|(?<=, ))([^\s,\[\]{}#]+)")


@st.composite
def corrupted(draw: Callable[..., Any]) -> tuple[str, str, str]:
    """(file name, text, what was done)."""
    name = draw(st.sampled_from(sorted(TEXTS)))
    text = TEXTS[name]
    lines = text.splitlines(keepends=True)
    how = draw(st.sampled_from(["delete a line", "change a value", "truncate", "duplicate a key", "swap lines"]))
    if how == "delete a line":
        del lines[draw(st.integers(0, len(lines) - 1))]
        text = "".join(lines)
    elif how == "change a value":
        values = list(VALUE.finditer(text))
        m = draw(st.sampled_from(values))
        value = draw(st.sampled_from(VALUES))
        if name.endswith(".json"):
            value = draw(st.sampled_from([value, json.dumps(value)]))
        text = text[: m.start(1)] + value + text[m.end(1):]
    elif how == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif how == "duplicate a key":
        keyed = [i for i, line in enumerate(lines) if re.match(r"\s*(- )?\"?\w+\"?\s*:", line)]
        i = draw(st.sampled_from(keyed))
        flow = re.sub(r"\{(\s*[\w\"]+\s*:\s*[^,}]+)", r"{\1, \1", lines[i], count=1)
        if flow != lines[i] and draw(st.booleans()):
            lines[i] = flow  # within a flow mapping: {a: 1, a: 1, b: 2}
        else:
            lines.insert(i + 1, re.sub(r"^(\s*)- ", r"\1  ", lines[i]))  # the same line again
        text = "".join(lines)
    else:
        i = draw(st.integers(0, len(lines) - 2))
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
        text = "".join(lines)
    return name, text, how


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corrupt")


COMMANDS = [("report", "-f", "json"), ("report", "--depth", "1", "-f", "csv"), ("explain",),
            ("check", "--max-params", "1T", "-f", "json")]


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(corrupted(), st.sampled_from(COMMANDS))
def test_corrupted_files_give_figures_or_located_errors(workdir: Path, case: tuple[str, str, str],
                                                        command: tuple[str, ...]) -> None:
    name, text, how = case
    path = workdir / name
    path.write_text(text)
    res = run(command[0], str(path), *command[1:])  # an exception here is a traceback: a bug
    assert res.exit_code in (0, 2), (how, res.exit_code, res.stderr)
    event(f"{how}: exit {res.exit_code}")
    if res.exit_code == 0:
        # a swap can leave a branch that reaches no output: said at its line, nothing else
        assert all(line.startswith(f"warning: {path}:") and "reaches no output" in line
                   for line in res.stderr.splitlines())
        if command[0] == "report" and "json" in command:
            data = json.loads(res.stdout)
            assert len(data["warnings"]) == len(res.stderr.splitlines())
            assert data["totals"]["params"] == sum(row["params"] for row in data["layers"])
        elif command[0] == "check":
            assert json.loads(res.stdout)["summary"]["passed"] == 1
        elif command[0] == "report":  # CSV at depth 1: one full row per top-level name
            rows = list(csv.DictReader(io.StringIO(res.stdout)))
            assert rows and all(None not in row and None not in row.values() for row in rows)
            assert len({row["name"] for row in rows}) == len(rows)
            assert not any("." in row["name"] for row in rows)
        else:  # explain: each layer's output is worked out
            assert "\n  output " in res.stdout
    else:
        lines = res.stderr.splitlines()
        assert lines and all(line.startswith(f"error: {path}") for line in lines), (how, res.stderr)
        if command[0] == "check":  # the file's error entry, with the same located messages
            (entry,) = json.loads(res.stdout)["networks"]
            shown = [f"error: {printable(p['text'])}" for p in entry["problems"]]
            assert entry["status"] == "error"
            assert shown == lines or not shown and any(x["status"] == "error" for x in entry["limits"])
        else:
            assert res.stdout == ""


# ---------------------------------------------------------------------------------------------
# the expression evaluator on random token soup

TOKENS = ["1", "2", "0", "64", "10**6", "1e6", "0.5", "-", "+", "*", "/", "//", "%", "**", "(", ")", "[", "]",
          ",", " if ", " else ", " and ", " or ", "not ", "==", "<", "planes", "in_channels", "act", "index",
          "'relu'", "min", "max", "abs", "int", "round", "floor", "ceil", "make_divisible", ".", "__class__",
          "lambda", ":", "x", "True", "None"]
NAMES = {"planes": 64, "in_channels": 3, "act": "relu", "index": 0}


LEAVES = st.one_of(st.sampled_from(["0", "1", "2", "-3", "0.5", "1e6", "10**6", "1e30", "planes", "in_channels",
                                    "act", "index", "'relu'", "[1, 2]", "True"]),
                   st.integers(-(10**40), 10**40).map(str))


def _compose(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "==", "<", "and", "or"]),
                       inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
    call = st.tuples(st.sampled_from(["min", "max", "abs", "int", "round", "floor", "ceil", "make_divisible"]),
                     st.lists(inner, min_size=1, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})")
    choice = st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})")
    return st.one_of(binary, call, choice, inner.map(lambda x: f"-{x}"), inner.map(lambda x: f"not {x}"))


@settings(max_examples=2000)
@given(st.one_of(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=24).map("".join),
                 st.recursive(LEAVES, _compose, max_leaves=12)))
def test_expressions_evaluate_or_raise_expr_error(body: str) -> None:
    from cnncalc.expr import ExprError, evaluate

    try:
        value = evaluate("$" + body, NAMES)
    except ExprError:
        event("refused")
        return
    event("evaluated")
    assert value is None or isinstance(value, (bool, int, float, str, list))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        assert abs(value) <= 10**30
