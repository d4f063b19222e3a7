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

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from conftest import assert_totals_add_up, run  # noqa: E402
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from layers.test_tensor import STRATEGIES as TENSOR_STRATEGIES  # noqa: E402
from random_ops import STRATEGIES as OPS_STRATEGIES  # noqa: E402

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


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def per_axis(n: int, values: st.SearchStrategy[int]) -> st.SearchStrategy[Any]:
    """One value for all axes, or a list of one per axis."""
    return st.one_of(values, st.lists(values, min_size=n, max_size=n))


def _conv(shape: Shape, ndim: int, transposed: bool) -> Args:
    @st.composite
    def draw(d: Callable[..., Any]) -> dict[str, Any]:
        groups = d(st.sampled_from(divisors(shape[0])))
        stride = d(st.integers(1, 3) if transposed else per_axis(ndim, st.integers(1, 3)))
        dilation = d(st.integers(1, 2) if transposed else per_axis(ndim, st.integers(1, 2)))
        args: dict[str, Any] = {
            "out_channels": groups * d(st.integers(1, 4)),
            "kernel_size": d(per_axis(ndim, st.integers(1, 4))),
            "stride": stride, "dilation": dilation, "groups": groups, "bias": d(st.booleans()),
        }
        if transposed:
            args["padding"] = d(st.integers(0, 1))
            args["output_padding"] = d(st.integers(0, max(stride, dilation) - 1))
        else:
            pads = [st.integers(0, 2), st.just("valid")]
            if stride == 1 or stride == [1] * ndim:
                pads.append(st.just("same"))
            args["padding"] = d(st.one_of(*pads))
            args["padding_mode"] = d(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
        if d(st.booleans()):
            args["in_channels"] = shape[0]
        return args

    return draw()


def _pool(shape: Shape, ndim: int, kind: str) -> Args:
    @st.composite
    def draw(d: Callable[..., Any]) -> dict[str, Any]:
        k = d(st.integers(1, 3))
        args: dict[str, Any] = {"kernel_size": k, "padding": d(st.integers(0, k // 2)), "ceil_mode": d(st.booleans())}
        if d(st.booleans()):
            args["stride"] = d(per_axis(ndim, st.integers(1, 3)))
        if kind == "max":
            args["dilation"] = d(st.integers(1, 2))
        else:
            args["count_include_pad"] = d(st.booleans())
        return args

    return draw()


def _upsample(shape: Shape) -> Args:
    n = len(shape) - 1
    modes = ["nearest", "nearest-exact", *{1: ["linear"], 2: ["bilinear", "bicubic"], 3: ["trilinear"]}.get(n, [])]
    return st.fixed_dictionaries(
        {"mode": st.sampled_from(modes)},
        optional={"align_corners": st.booleans()},
    ).flatmap(lambda a: st.one_of(
        st.builds(lambda s: {**a, "scale_factor": s}, st.one_of(st.integers(1, 3), st.sampled_from([0.5, 1.5]))),
        st.builds(lambda s: {**a, "size": s}, per_axis(n, st.integers(1, 12))),
    )).map(lambda a: a if a["mode"] in ("linear", "bilinear", "bicubic", "trilinear") else
           {k: v for k, v in a.items() if k != "align_corners"})


def _norm_features(shape: Shape) -> Args:
    return st.fixed_dictionaries({}, optional={
        "affine": st.booleans(), "track_running_stats": st.booleans(), "num_features": st.just(shape[0]),
        "eps": st.floats(1e-6, 1e-3), "momentum": st.one_of(st.none(), st.floats(0.01, 0.5)),
    })


def _activation(**extra: st.SearchStrategy[Any]) -> Callable[[Shape], Args]:
    return lambda shape: st.fixed_dictionaries({}, optional={"inplace": st.booleans(), **extra})


FAMILIES: dict[str, Callable[[Shape], Args]] = {
    "conv": lambda s: _conv(s, len(s) - 1, False),
    "convtranspose": lambda s: _conv(s, len(s) - 1, True),
    "maxpool": lambda s: _pool(s, len(s) - 1, "max"),
    "avgpool": lambda s: _pool(s, len(s) - 1, "avg"),
    "adaptiveavgpool": lambda s: st.fixed_dictionaries(
        {"output_size": st.one_of(st.integers(1, 4), st.lists(st.one_of(st.none(), st.integers(1, 4)),
                                                              min_size=len(s) - 1, max_size=len(s) - 1))}),
    "adaptivemaxpool": lambda s: st.fixed_dictionaries(
        {"output_size": st.integers(1, 4)}, optional={"return_indices": st.booleans()}),
    "globalavgpool": lambda s: st.just({}),
    "globalmaxpool": lambda s: st.just({}),
    "batchnorm": _norm_features,
    "instancenorm": _norm_features,
    "layernorm": lambda s: st.fixed_dictionaries({}, optional={
        "normalized_shape": st.integers(0, len(s) - 1).map(lambda k: list(s[k:])),
        "elementwise_affine": st.booleans(), "bias": st.booleans()}),
    "layernorm2d": lambda s: st.fixed_dictionaries({}, optional={"elementwise_affine": st.booleans()}),
    "groupnorm": lambda s: st.fixed_dictionaries({"num_groups": st.sampled_from(divisors(s[0]))},
                                                 optional={"affine": st.booleans(), "num_channels": st.just(s[0])}),
    "localresponsenorm": lambda s: st.fixed_dictionaries({"size": st.integers(1, 5)}),
    "layerscale": lambda s: st.just({}),
    "relu": _activation(), "relu6": _activation(), "sigmoid": _activation(), "tanh": _activation(),
    "silu": _activation(), "hardsigmoid": _activation(), "hardswish": _activation(),
    "leakyrelu": _activation(negative_slope=st.floats(0, 0.5)),
    "elu": _activation(alpha=st.floats(0.1, 2)),
    "gelu": _activation(approximate=st.sampled_from(["none", "tanh"])),
    "prelu": lambda s: st.fixed_dictionaries({}, optional={"num_parameters": st.sampled_from(sorted({1, s[0]}))}),
    "softmax": lambda s: st.fixed_dictionaries({"dim": st.sampled_from([*range(1, len(s) + 1), -1])}),
    "dropout": lambda s: st.fixed_dictionaries({}, optional={"p": st.floats(0, 1), "inplace": st.booleans()}),
    "alphadropout": lambda s: FAMILIES["dropout"](s),
    "flatten": lambda s: st.sampled_from([{}, {"start_dim": 1, "end_dim": -1}, {"start_dim": len(s)}]),
    "identity": lambda s: st.just({}),
    "permute": lambda s: st.permutations(range(1, len(s) + 1)).map(lambda order: {"dims": [0, *order]}),
    "linear": lambda s: st.fixed_dictionaries(
        {"out_features": st.integers(1, 32)},
        optional={"bias": st.booleans()},
    ).map(lambda a: {**a, "in_features": s[-1]} if len(s) > 1 else a),
    "zeropad": lambda s: st.fixed_dictionaries({"padding": st.one_of(
        st.integers(0, 2), st.lists(st.integers(0, 2), min_size=2 * (len(s) - 1), max_size=2 * (len(s) - 1)))}),
    "upsample": _upsample,
    "pixelshuffle": lambda s: st.fixed_dictionaries(
        {"upscale_factor": st.sampled_from([r for r in range(1, 4) if s[0] % (r * r) == 0])}),
    "pixelunshuffle": lambda s: st.fixed_dictionaries(
        {"downscale_factor": st.sampled_from([r for r in range(1, 4) if all(n % r == 0 for n in s[1:])])}),
    "channel_shuffle": lambda s: st.fixed_dictionaries({"groups": st.sampled_from(divisors(s[0]))}),
    "chunk": lambda s: st.integers(1, 4).flatmap(lambda c: st.fixed_dictionaries(
        {"chunks": st.just(c), "index": st.integers(0, min(c, s[0]) - 1), "dim": st.just(1)})),
    "split": lambda s: st.integers(1, s[0]).flatmap(lambda k: st.fixed_dictionaries(
        {"split_size_or_sections": st.just(k), "index": st.integers(0, -(-s[0] // k) - 1), "dim": st.just(1)})),
    # merges take their second input from an earlier layer: see ``networks``
    "add": lambda s: st.just({}),
    "multiply": lambda s: st.just({}),
    "concat": lambda s: st.just({}),
}
FAMILIES.update(OPS_STRATEGIES)  # crop, slices, reductions, constants; zero padding with negative amounts
FAMILIES.update(TENSOR_STRATEGIES)  # reshape, contiguous
MERGES = {"add", "multiply", "concat"}


def family(type_name: str) -> str:
    """``conv2d`` → ``conv``, ``batchnorm1d`` → ``batchnorm``; ``layernorm2d`` is a family of its own."""
    return type_name if type_name in FAMILIES else re.sub(r"[123]d$", "", type_name)


def test_every_layer_type_has_a_strategy() -> None:
    assert {family(t) for t in REGISTRY} <= set(FAMILIES)
    assert set(FAMILIES) <= {family(t) for t in REGISTRY}


def fits(type_name: str, shape: Shape) -> bool:
    """Whether a layer type can take a tensor of this rank."""
    ndim = REGISTRY[type_name].ndim
    if type_name in ("batchnorm1d", "instancenorm1d"):
        return len(shape) in (1, 2)
    if ndim is not None:
        return len(shape) == ndim + 1
    if type_name in ("pixelshuffle", "pixelunshuffle"):
        return len(shape) == 3
    if type_name in ("upsample", "globalavgpool", "globalmaxpool", "groupnorm", "localresponsenorm", "zeropad"):
        return len(shape) >= 2
    return True


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
        else:
            assert res.stdout.strip()
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
