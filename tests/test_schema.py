"""JSON Schemas: real output validates against what ``cnncalc schema output`` prints, and every
bundled network validates against what ``cnncalc schema input`` prints."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cnncalc import spec
from cnncalc.cli import cli
from cnncalc.schema import validate_output

jsonschema = pytest.importorskip("jsonschema")


def run(*args: str) -> Any:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert r.stderr == ""
    return r


def printed_schema(*args: str) -> dict[str, Any]:
    r = run("schema", *args)
    assert r.exit_code == 0
    schema = json.loads(r.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


@pytest.fixture(scope="module")
def output_schema() -> Any:
    return jsonschema.Draft202012Validator(printed_schema("output"))


@pytest.fixture(scope="module")
def input_schema() -> Any:
    return jsonschema.Draft202012Validator(printed_schema("input"))


def output_of(*args: str) -> dict[str, Any]:
    r = CliRunner().invoke(cli, [*args, "--format", "json"], catch_exceptions=False)
    assert r.exit_code in (0, 1, 2), r.output
    doc: dict[str, Any] = json.loads(r.stdout)
    assert doc["schema_version"] == 1
    return doc


OUTPUTS = [
    pytest.param("report", ("report", "mobilenet_v1", "--batch", "8", "--dtype", "fp16"), id="report mobilenet"),
    pytest.param("report", ("report", "alexnet_bvlc"), id="report alexnet"),
    pytest.param("check", ("check", "lenet5", "vgg16", "--max-params", "5M", "--min-rf", "100",
                           "--max-train-memory", "8GiB", "--max-param-memory", "20MiB"), id="check"),
    pytest.param("diff", ("diff", "alexnet", "alexnet_bvlc", "--fail-above", "5%"), id="diff with gate"),
    pytest.param("diff", ("diff", "lenet5", "tiny_cnn"), id="diff"),
]


@pytest.mark.parametrize("command, args", OUTPUTS)
def test_output_validates_against_printed_schema(output_schema: Any, command: str, args: tuple[str, ...]) -> None:
    doc = output_of(*args)
    output_schema.validate(doc)
    jsonschema.validate(doc, printed_schema("output", command))
    validate_output(doc, command)  # and strictly against the models the schema is generated from


@pytest.mark.parametrize("net", sorted(spec.bundled()))
def test_every_bundled_report_validates(output_schema: Any, net: str) -> None:
    output_schema.validate(output_of("report", net))


def _numbers(doc: Any) -> list[Any]:
    if isinstance(doc, dict):
        return [x for v in doc.values() for x in _numbers(v)]
    if isinstance(doc, list):
        return [x for v in doc for x in _numbers(v)]
    return [doc]


def test_counts_are_raw_integers() -> None:
    doc = output_of("report", "vgg16")
    assert doc["totals"]["macs"] == 15_470_264_320
    assert all(not isinstance(v, str) or not v[:1].isdigit() for v in _numbers(doc))


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda d: d["totals"].__setitem__("macs", "15.47 G"), id="formatted number"),
        pytest.param(lambda d: d["totals"].__setitem__("extra", 1), id="unknown key"),
        pytest.param(lambda d: d.__setitem__("schema_version", 2), id="other schema version"),
        pytest.param(lambda d: d["layers"][0].pop("params"), id="missing key"),
    ],
)
def test_schema_rejects_drift(output_schema: Any, mutate: Any) -> None:
    doc = copy.deepcopy(output_of("report", "lenet5"))
    mutate(doc)
    assert not output_schema.is_valid(doc)
    with pytest.raises(ValueError):
        validate_output(doc, "report")


@pytest.mark.parametrize("net", sorted(spec.bundled()))
def test_bundled_networks_validate_against_input_schema(input_schema: Any, net: str) -> None:
    data = yaml.safe_load(spec.bundled()[net].read_text())
    errors = [e.message for e in input_schema.iter_errors(data)]
    assert errors == []


VALID = [
    pytest.param("input: [1, 8, 8]\nlayers: [relu, {relu: null}, {conv2d: {out_channels: 2, kernel_size: 3}}]\n",
                 id="bare string, null and arguments"),
    pytest.param("input: [3, 8, 8]\nlayers:\n  - cat: {from: [input, input]}\n  - mul: {from: [input, input]}\n",
                 id="aliases"),
    pytest.param("input: [3, 8, 8]\nblocks:\n  b: {args: {c: null}, layers: [{conv2d: {out_channels: $c, "
                 "kernel_size: 1}}]}\nlayers:\n  - b: {c: 4, repeat: 2}\n  - b: {c: 4, name: last}\n",
                 id="block calls"),
    pytest.param("input: [3, 8, 8]\nlayers: [relu]\nbudgets: {max_params: 5M, max_param_memory: 20MiB, "
                 "min_rf: 3, batch: 8, dtype: fp16, optimizer: adam}\n", id="budgets"),
]

INVALID = [
    pytest.param("input: [1, 8, 8]\nlayers: [{conv2d: {out_chanels: 2, kernel_size: 3}}]\n", id="misspelt argument"),
    pytest.param("input: [1, 8, 8]\nlayers: [{conv2d: {out_channels: true, kernel_size: 3}}]\n", id="boolean count"),
    pytest.param("input: [1, 8, 8]\nlayers: [{relu: {}, name: x}]\n", id="two keys in an item"),
    pytest.param("input: [1, 8, 8]\nlayers: [relu]\nbudgets: {max_params: 5MiB}\n", id="memory unit on a count"),
    pytest.param("input: [1, 8, 8]\nlayers: [relu]\nbudgets: {max_param_memory: 20 mb}\n", id="unknown unit"),
    pytest.param("input: [1, 8, 8]\nlayers: [relu]\nbudgets: {max_parms: 5M}\n", id="unknown budget"),
    pytest.param("input: [1, 8, 8]\nlayers: []\n", id="no layers"),
]


@pytest.mark.parametrize("text", VALID)
def test_input_schema_accepts_what_cnncalc_accepts(input_schema: Any, text: str) -> None:
    spec.load("t.yaml", text=text)
    assert [e.message for e in input_schema.iter_errors(yaml.safe_load(text))] == []


@pytest.mark.parametrize("text", INVALID)
def test_input_schema_rejects_what_cnncalc_rejects(input_schema: Any, text: str) -> None:
    with pytest.raises(spec.SpecError):
        spec.load("t.yaml", text=text)
    assert not input_schema.is_valid(yaml.safe_load(text))


def test_schema_command_usage() -> None:
    r = CliRunner().invoke(cli, ["schema", "input", "report"])
    assert r.exit_code == 2
    r = CliRunner().invoke(cli, ["schema", "outputs"])
    assert r.exit_code == 2
