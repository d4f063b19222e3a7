"""The published schemas tell the truth: every JSON any command prints validates against
``cnncalc schema output [COMMAND]``, and ``cnncalc schema input`` refuses what cnncalc refuses.

(Every bundled network validating against the input schema is tests/test_schema.py's.)
The two places where the input schema and cnncalc differ, because JSON Schema cannot say
more, are tested as such: a block call's name is checked by cnncalc only, and ``3.0`` is an
integer to JSON Schema.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from random_networks import random_network

from cnncalc import spec
from cnncalc.cli import JSON_COMMANDS, cli
from cnncalc.errors import CnnCalcError
from cnncalc.graph import build
from cnncalc.layers import REGISTRY
from cnncalc.layers.base import MAX_INT
from cnncalc.schema import OUTPUTS, validate_output

jsonschema = pytest.importorskip("jsonschema")

NETWORKS = sorted(spec.bundled())
CONVENTIONS = [None, "torchvision", "fvcore", "thop", "ptflops", "torchinfo", "torch"]
#: report options that change what the JSON holds (rows, grouping, memory settings)
REPORT_OPTIONS: list[tuple[str, ...]] = [
    (), ("--memory",), ("--depth", "1"), ("--depth", "2", "--sort", "params"), ("--sort", "macs", "--top", "3"),
    ("--batch", "4", "--dtype", "fp16"), ("--amp",), ("--optimizer", "none"), ("--dtype", "int8"),
    ("--batch", "2", "--optimizer", "sgd", "--dtype", "bf16", "--memory"),
]


def run(*args: str) -> Any:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return r


@functools.cache
def printed_schema(*args: str) -> Any:
    r = run("schema", *args)
    assert r.exit_code == 0 and r.stderr == ""
    schema = json.loads(r.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def json_of(command: str, *args: str, codes: tuple[int, ...] = (0,)) -> dict[str, Any]:
    r = run(command, *args, "--format", "json")
    assert r.exit_code in codes, r.output
    doc: dict[str, Any] = json.loads(r.stdout)
    return doc


def assert_valid(command: str, doc: dict[str, Any]) -> None:
    """Valid against the command's printed schema, the schema of every output, and strictly the models."""
    for validator in (printed_schema("output", command), printed_schema("output")):
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in validator.iter_errors(doc)]
        assert errors == []
    validate_output(doc, command)
    assert doc["schema_version"] == 1


def test_every_json_command_has_a_schema() -> None:
    assert set(JSON_COMMANDS) == set(OUTPUTS)
    for command in JSON_COMMANDS:
        assert printed_schema("output", command).schema["title"] == f"cnncalc {command}"


# ---------------------------------------------------------------------------------------------
# report: every convention and option combination, across the bundled networks


@pytest.mark.parametrize("net", NETWORKS)
def test_report_of_every_bundled_network(net: str) -> None:
    assert_valid("report", json_of("report", net))


COMBINATIONS = list(itertools.product(CONVENTIONS, REPORT_OPTIONS))


@pytest.mark.parametrize(
    "i, convention, options",
    [pytest.param(i, c, o, id=f"{c or 'cnncalc'} {' '.join(o) or 'plain'}") for i, (c, o) in enumerate(COMBINATIONS)],
)
def test_report_in_every_convention_and_option(i: int, convention: str | None, options: tuple[str, ...]) -> None:
    # each combination on another bundled network, so that all of them meet every option
    net = NETWORKS[i * 7 % len(NETWORKS)]
    args = (*options, *(("--convention", convention) if convention else ()))
    doc = json_of("report", net, *args)
    assert_valid("report", doc)
    assert doc["network"].get("convention") == convention


# ---------------------------------------------------------------------------------------------
# check, diff, sweep, fit


def test_check_with_every_kind_of_entry(tmp_path: Path) -> None:
    small = "input: [1, 8, 8]\nlayers:\n  - conv2d: {out_channels: 2, kernel_size: 3}\n"
    files = {"pass.yaml": small + "budgets: {max_params: 5M, min_rf: 2}\n",
             "fail.yaml": small + "budgets: {max_params: 1}\n",
             "error.yaml": small + "budgets: {max_train_memory: 1GiB, dtype: int8}\n",
             "skip.yaml": small,
             "invalid.yaml": "input: [1, 8, 8]\nlayers: [convv2d]\n",
             "unreadable.yaml": b"\xff\xfe"}
    for name, text in files.items():
        (tmp_path / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    doc = json_of("check", *(str(tmp_path / n) for n in files), str(tmp_path / "missing.yaml"), codes=(2,))
    assert_valid("check", doc)
    assert [n["status"] for n in doc["networks"]] == ["pass", "fail", "error", "skip", "error", "error", "error"]


def test_check_of_every_bundled_network_and_limit() -> None:
    limits = ("--max-params", "1G", "--max-macs", "100G", "--max-flops", "100G", "--max-param-memory", "1GiB",
              "--max-activation-memory", "8GiB", "--max-train-memory", "64GiB", "--min-rf", "32")
    doc = json_of("check", *NETWORKS, *limits, codes=(0, 1))
    assert_valid("check", doc)
    assert len(doc["networks"]) == len(NETWORKS) and doc["summary"]["limits"] == 7 * len(NETWORKS)


@pytest.mark.parametrize("net", NETWORKS)
def test_sweep_and_fit_of_every_bundled_network(net: str) -> None:
    assert_valid("sweep", json_of("sweep", net, "--batch", "1,4"))
    assert_valid("fit", json_of("fit", net, "--memory", "8GiB", codes=(0, 1)))


@pytest.mark.parametrize("args, code", [
    (("lenet5", "--max-params", "5M"), 0),
    (("lenet5", "--max-params", "5M", "--convention", "fvcore"), 0),
    (("lenet5", "vgg16", "--max-params", "5M", "--min-rf", "100", "--max-train-memory", "8GiB"), 1),
    (("lenet5",), 0),
    (("lenet5", "--max-train-memory", "1GiB", "--dtype", "int8"), 2),
])
def test_check(args: tuple[str, ...], code: int) -> None:
    assert_valid("check", json_of("check", *args, codes=(code,)))


@pytest.mark.parametrize("old, new, options", [
    ("alexnet", "alexnet_bvlc", ("--fail-above", "5%")),
    ("lenet5", "tiny_cnn", ()),
    ("resnet18", "resnet34", ("--convention", "thop", "--batch", "8", "--dtype", "fp16", "--all")),
    ("mobilenet_v2", "mobilenet_v2", ("--fail-above", "0%", "--fail-on", "macs")),
])
def test_diff(old: str, new: str, options: tuple[str, ...]) -> None:
    assert_valid("diff", json_of("diff", old, new, *options, codes=(0, 1)))


@pytest.mark.parametrize("args", [
    ("resnet18",),
    ("lenet5", "--batch", "1,8,{16..64..16}"),
    ("mobilenet_v2", "3x{128..224..32}", "--dtype", "fp16", "--amp"),
    ("tiny_cnn", "--optimizer", "none", "--batch", "2"),
    ("squeezenet1_1", "--dtype", "int8", "--input", "3x224,3x128"),
])
def test_sweep(args: tuple[str, ...]) -> None:
    assert_valid("sweep", json_of("sweep", *args))


@pytest.mark.parametrize("args, code", [
    (("resnet50", "--memory", "16GiB"), 0),
    (("lenet5", "--memory", "1GiB", "--optimizer", "none"), 0),
    (("vgg16", "--memory", "8G", "--amp"), 0),
    (("mobilenet_v2", "--memory", "4GiB", "--dtype", "int8"), 0),
    (("vgg16", "--memory", "1MiB"), 1),  # not even one sample fits
])
def test_fit(args: tuple[str, ...], code: int) -> None:
    assert_valid("fit", json_of("fit", *args, codes=(code,)))


@pytest.mark.parametrize("command", JSON_COMMANDS)
def test_schemas_refuse_what_no_command_prints(command: str) -> None:
    """The schemas are closed: an unknown key or a wrong schema version is refused."""
    sample = {"report": ("report", "lenet5"), "check": ("check", "lenet5", "--max-params", "1M"),
              "diff": ("diff", "lenet5", "tiny_cnn"), "sweep": ("sweep", "lenet5"),
              "fit": ("fit", "lenet5", "--memory", "1GiB")}[command]
    doc = json_of(*sample)
    for mutate in (lambda d: d.__setitem__("extra", 1), lambda d: d.__setitem__("schema_version", 2),
                   lambda d: d.pop("schema_version")):
        bad = copy.deepcopy(doc)
        mutate(bad)
        assert not printed_schema("output", command).is_valid(bad)


# ---------------------------------------------------------------------------------------------
# input: the schema refuses what cnncalc refuses


def cnncalc_accepts(doc: Any) -> bool:
    """Whether cnncalc reads the description and builds its graph."""
    try:
        build(spec.load("t.yaml", text=yaml.safe_dump(doc, sort_keys=False)))
    except CnnCalcError:
        return False
    return True


def schema_accepts(doc: Any) -> bool:
    return bool(printed_schema("input").is_valid(doc))


def net(*layers: Any, **extra: Any) -> dict[str, Any]:
    return {"input": [3, 16, 16], "layers": list(layers), **extra}


INVALID = [
    pytest.param(net({"convv2d": {"out_channels": 4, "kernel_size": 3}}), id="unknown type"),
    pytest.param(net("batchnorm"), id="unknown bare type"),
    pytest.param(net({"sequential": {"layers": ["relu", {"batchnorm": None}]}}), id="unknown type in a group"),
    pytest.param(net({"conv2d": {"out_channels": 2.5, "kernel_size": 3}}), id="fraction for an integer"),
    pytest.param(net({"conv2d": {"out_channels": True, "kernel_size": 3}}), id="boolean for an integer"),
    pytest.param(net({"conv2d": {"out_channels": "4", "kernel_size": 3}}), id="string for an integer"),
    pytest.param(net({"conv2d": {"out_channels": 2**63, "kernel_size": 3}}), id="integer past 2^63-1"),
    pytest.param(net({"conv2d": {"out_channels": 0, "kernel_size": 3}}), id="zero channels"),
    pytest.param(net({"conv2d": {"out_channels": 4, "kernel_size": 3, "bogus": 1}}), id="unknown argument"),
    pytest.param(net({"conv2d": {"out_channels": 4}}), id="missing argument"),
    pytest.param(net("conv2d"), id="bare type with required arguments"),
    pytest.param(net({"conv2d": None}), id="null for required arguments"),
    pytest.param(net({"conv2d": {"out_channels": 4, "kernel_size": [3, 3, 3]}}), id="three sizes on conv2d"),
    pytest.param(net({"maxpool2d": {"kernel_size": [2]}}), id="one size on maxpool2d"),
    pytest.param(net({"zeropad2d": {"padding": [1, 1, 1]}}), id="three paddings on zeropad2d"),
    pytest.param(net({"conv2d": {"out_channels": 4, "kernel_size": []}}), id="empty size list"),
    pytest.param(net({"conv2d": {"out_channels": 4, "kernel_size": 3, "padding_mode": "mirror"}}),
                 id="unknown word"),
    pytest.param(net({"sequential": None}), id="group without layers"),
    pytest.param({"input": [3, 16, 16, 16, 16], "layers": ["relu"]}, id="five input sizes"),
    pytest.param({"input": [3, 1.5], "layers": ["relu"]}, id="fractional input size"),
    pytest.param({"input": [3, 16], "layers": []}, id="no layers"),
    pytest.param({"input": [3, 16], "layers": ["relu"], "blocks": {}, "extra": 1}, id="unknown key"),
    pytest.param(net({"relu": {"inplace": 1}}), id="number for a flag"),
    pytest.param(net({"relu": {"name": "block..relu"}}), id="empty part in a dotted name"),
    pytest.param(net({"relu": {"name": "block.*"}}), id="star part in a dotted name"),
    pytest.param(net({"relu": {"name": "$x"}}), id="name like an expression"),
    pytest.param(net({"sequential": {"name": " g", "layers": ["relu"]}}), id="space around a group's name"),
    pytest.param(net({"relu": {"name": "x" * 201}}), id="name of 201 characters"),
]


@pytest.mark.parametrize("doc", INVALID)
def test_schema_refuses_what_cnncalc_refuses(doc: dict[str, Any]) -> None:
    assert not cnncalc_accepts(doc)
    assert not schema_accepts(doc)


VALID = [
    pytest.param(net("relu", "flatten", {"linear": {"out_features": 10}}), id="bare types"),
    pytest.param(net({"relu": None}, {"identity": {}}, {"batchnorm2d": None}), id="null arguments"),
    pytest.param(net({"conv_transpose2d": {"out_channels": 2, "kernel_size": [3, 1]}}), id="alias, one per axis"),
    pytest.param(net({"zeropad2d": {"padding": [1, 0, 2, 0]}}, {"zeropad2d": {"padding": 1}}), id="zero padding"),
    pytest.param(net({"sequential": {"layers": [{"conv2d": {"out_channels": 4, "kernel_size": 1}}, "relu"]}}),
                 id="group"),
    pytest.param(net({"unit": {"c": 4, "mode": "reflect"}}, "unit",
                     blocks={"unit": {"args": {"c": 2, "mode": "zeros"},
                                      "layers": [{"conv2d": {"out_channels": "$c", "kernel_size": 3,
                                                             "padding": 1, "padding_mode": "$mode"}}]}}),
                 id="block calls with a word as an expression"),
]


@pytest.mark.parametrize("doc", VALID)
def test_schema_accepts_what_cnncalc_accepts(doc: dict[str, Any]) -> None:
    assert cnncalc_accepts(doc)
    assert schema_accepts(doc)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=205))
def test_names_the_schema_refuses_cnncalc_refuses(name: str) -> None:
    for doc in (net({"relu": {"name": name}}), net({"sequential": {"name": name, "layers": ["relu"]}})):
        assert schema_accepts(doc) or not cnncalc_accepts(doc)


def test_every_registered_type_is_in_the_closed_union() -> None:
    """Each registered type is a member; it may stand bare (or null) exactly when no argument is required."""
    schema = printed_schema("input").schema
    members = {m["$ref"].rsplit("/", 1)[1] for m in schema["$defs"]["LayerItem"]["oneOf"] if "$ref" in m}
    assert {f"{cls.__name__}Item" for cls in REGISTRY.values()} <= members
    for name, cls in REGISTRY.items():
        needs = any(f.is_required() for f in cls.model_fields.values())
        assert schema_accepts(net(name)) == schema_accepts(net({name: None})) == (not needs), name
        if needs:
            assert not cnncalc_accepts(net(name)), name


# -- random networks: mutated the ways an editor should flag, both refuse; unmutated, both accept

SEEDS = range(60)


def top_layers(doc: dict[str, Any]) -> list[tuple[int, str, dict[str, Any]]]:
    """(index, type, arguments) of the top-level layers of a registered type written with arguments."""
    return [(i, t, a) for i, item in enumerate(doc["layers"]) if isinstance(item, dict)
            for t, a in item.items() if t in REGISTRY and isinstance(a, dict)]


def int_arguments(doc: dict[str, Any]) -> list[tuple[int, str, str, int]]:
    """Arguments holding an int where only ints are valid (not a number that happens to be whole: scale_factor 2)."""
    return [(i, t, k, v) for i, t, a in top_layers(doc) for k, v in a.items()
            if isinstance(v, int) and not isinstance(v, bool) and not _takes_fractions(t, k)]


def _takes_fractions(type_name: str, arg: str) -> bool:
    cls = REGISTRY.get(type_name)
    field = cls.model_fields.get(arg) if cls is not None else None
    schema = json.dumps(cls.model_json_schema().get("properties", {}).get(arg, {})) if field else ""
    return '"number"' in schema


def axis_arguments(doc: dict[str, Any]) -> list[tuple[int, str, str, int]]:
    """Per-axis arguments of 1d/2d/3d layers, with the number of values they take."""
    found = []
    for i, t, _a in top_layers(doc):
        n = REGISTRY[t].ndim
        for k in ("kernel_size", "stride", "dilation", "output_size"):
            if n and k in REGISTRY[t].model_fields:
                found.append((i, t, k, n))
    return found


def mutations(doc: dict[str, Any], rng: random.Random) -> dict[str, dict[str, Any]]:
    """The description changed in each way that makes it invalid and that a schema can see."""
    out: dict[str, dict[str, Any]] = {}
    layers = top_layers(doc)
    if layers:
        i, t, a = rng.choice(layers)
        m = copy.deepcopy(doc)
        m["layers"][i] = {t + "x": a}
        out["unknown type"] = m
        m = copy.deepcopy(doc)
        m["layers"][i][t]["bogus_argument"] = 1
        out["unknown argument"] = m
    ints = int_arguments(doc)
    if ints:
        i, t, k, v = rng.choice(ints)
        for name, value in (("fraction for an integer", v + 0.5), ("boolean for an integer", True),
                            ("past 2^63-1", MAX_INT + 1)):
            m = copy.deepcopy(doc)
            m["layers"][i][t][k] = value
            out[name] = m
    axes = axis_arguments(doc)
    if axes:
        i, t, k, n = rng.choice(axes)
        m = copy.deepcopy(doc)
        m["layers"][i][t][k] = [1] * (n + 1)
        out["one size too many"] = m
    m = copy.deepcopy(doc)
    m["input"] = [*m["input"], 2, 2, 2, 2][:5]
    out["five input sizes"] = m
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_random_networks_agree(seed: int) -> None:
    doc = random_network(seed)
    assert cnncalc_accepts(doc) and schema_accepts(doc)
    for name, bad in mutations(doc, random.Random(seed)).items():
        assert not cnncalc_accepts(bad), name
        if name == "unknown type" and doc.get("blocks"):
            # with blocks defined, an unknown name may be a call of one: cnncalc checks which blocks exist
            continue
        assert not schema_accepts(bad), name


def test_random_networks_cover_the_mutations() -> None:
    seen: set[str] = set()
    for seed in SEEDS:
        seen |= set(mutations(random_network(seed), random.Random(seed)))
    assert len(seen) == 7


def test_unknown_type_where_blocks_are_defined_is_left_to_cnncalc() -> None:
    """The one place the schema cannot close: which names are blocks. cnncalc says which."""
    doc = net({"convv2d": {"out_channels": 4}}, blocks={"unit": {"layers": ["relu"]}})
    assert schema_accepts(doc) and not cnncalc_accepts(doc)
    assert not schema_accepts(net({"convv2d": {"out_channels": 4}}))


def test_integral_float_is_an_integer_to_json_schema() -> None:
    """``3.0`` for an integer: JSON Schema (draft 2020-12 §6.1.1) counts it an integer, cnncalc refuses
    it; a fraction is refused by both (test_schema_refuses_what_cnncalc_refuses)."""
    doc = net({"conv2d": {"out_channels": 3.0, "kernel_size": 3}})
    assert schema_accepts(doc) and not cnncalc_accepts(doc)
