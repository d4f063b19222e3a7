"""cnncalc sweep: ranges, one row per combination, and the same figures as report at every input."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import run

from cnncalc.errors import OptionError
from cnncalc.sweep import expand, fill_spatial, parse_batches


@pytest.mark.parametrize(
    ("text", "values"),
    [
        pytest.param("3x224x224", ["3x224x224"], id="one shape"),
        pytest.param("3x224,3x320", ["3x224", "3x320"], id="a list"),
        pytest.param("3x{224..320..32}", ["3x224", "3x256", "3x288", "3x320"], id="range with a step"),
        pytest.param("3x{224..300..32}", ["3x224", "3x256", "3x288"], id="stop between steps"),
        pytest.param("{1..4}", ["1", "2", "3", "4"], id="step 1 by default"),
        pytest.param("{7..7}", ["7"], id="a single value"),
        pytest.param("3x{1..2}x{5..6}", ["3x1x5", "3x1x6", "3x2x5", "3x2x6"], id="two ranges: every combination"),
        pytest.param("3x{ 8 .. 16 .. 8 }", ["3x8", "3x16"], id="spaces inside braces"),
        pytest.param("1x28,3x{32..64..32}", ["1x28", "3x32", "3x64"], id="list and range"),
    ],
)
def test_expand(text: str, values: list[str]) -> None:
    assert expand(text, "--input") == values


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("3x{224..}", "--input: '{224..}' is not a range like {224..1024..32} (start..stop..step)",
                     id="no stop"),
        pytest.param("3x{a..b}", "--input: '{a..b}' is not a range like {224..1024..32} (start..stop..step)",
                     id="not numbers"),
        pytest.param("3x{224,320}", "--input: '{224,320}': write a list without braces, like 3x224,3x320",
                     id="a list inside braces"),
        pytest.param("3x{320..224}", "--input: {320..224} runs backwards; ranges go up, like {224..320}",
                     id="backwards"),
        pytest.param("3x{224..320..0}", "--input: the step of {224..320..0} must be positive", id="step 0"),
        pytest.param("3x{224..320..-32}", "--input: the step of {224..320..-32} must be positive", id="negative step"),
        pytest.param("3x{224..320", "--input: unbalanced braces in '3x{224..320'", id="unclosed"),
        pytest.param("3x224}", "--input: unbalanced braces in '3x224}'", id="unopened"),
        pytest.param("3x224,", "--input: empty value in '3x224,'", id="empty item"),
        pytest.param("3x{1..20000}", "--input: {1..20000} has more than 10,000 values", id="too many values"),
        pytest.param("3x{1..200}x{1..200}", "--input: '3x{1..200}x{1..200}' expands to more than 10,000 values",
                     id="too many combinations"),
        pytest.param("3xa", "--input: '3xa' is not a shape like 3x224x224", id="not a shape"),
    ],
)
def test_bad_input_ranges_exit_2_with_one_message(text: str, message: str) -> None:
    res = run("sweep", "lenet5", "--input", text)
    assert (res.exit_code, res.stdout, res.stderr) == (2, "", f"error: {message}\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("0,8", "--batch: '0' is not a positive integer", id="zero"),
        pytest.param("1,x", "--batch: 'x' is not a positive integer", id="not a number"),
        pytest.param("{8..1}", "--batch: {8..1} runs backwards; ranges go up, like {1..8}", id="backwards"),
    ],
)
def test_bad_batches_exit_2(text: str, message: str) -> None:
    res = run("sweep", "lenet5", "--batch", text)
    assert (res.exit_code, res.stderr) == (2, f"error: {message}\n")


def test_batches() -> None:
    assert parse_batches("1,8,32") == [1, 8, 32]
    assert parse_batches("{8..32..8}") == [8, 16, 24, 32]
    with pytest.raises(OptionError):
        parse_batches("-1")


@pytest.mark.parametrize(
    ("shape", "like", "filled"),
    [
        pytest.param((3, 224), [3, 32, 32], (3, 224, 224), id="image: square"),
        pytest.param((3, 8), [3, 4, 4, 4], (3, 8, 8, 8), id="volume: cube"),
        pytest.param((3, 224, 112), [3, 32, 32], (3, 224, 112), id="complete shape kept"),
        pytest.param((16, 100), [16, 50], (16, 100), id="1-d signal kept"),
        pytest.param((3,), [3, 32, 32], (3,), id="channels alone: left to fail as a shape"),
    ],
)
def test_fill_spatial(shape: tuple[int, ...], like: list[int], filled: tuple[int, ...]) -> None:
    assert fill_spatial(shape, like) == filled


def _sweep_json(*args: str) -> dict:  # type: ignore[type-arg]
    res = run("sweep", *args, "--format", "json")
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


def _report_json(*args: str) -> dict:  # type: ignore[type-arg]
    res = run("report", *args, "--format", "json")
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


@pytest.mark.parametrize(
    ("net", "inputs", "batches", "options"),
    [
        pytest.param("lenet5", ["1x28x28", "1x32x32"], ["1", "4"], [], id="lenet5"),
        pytest.param("resnet18", ["3x160x160", "3x224x224", "3x256x192"], ["1", "8"], [], id="resnet18"),
        pytest.param("mobilenet_v2", ["3x96x96"], ["2"], ["--amp", "--optimizer", "sgd"], id="mobilenet_v2 amp sgd"),
        pytest.param("densenet121", ["3x64x64"], ["1", "3"], ["--dtype", "bf16"], id="densenet121 bf16"),
    ],
)
def test_every_row_equals_report_at_its_input_and_batch(net: str, inputs: list[str], batches: list[str],
                                                        options: list[str]) -> None:
    doc = _sweep_json(net, "--input", ",".join(inputs), "--batch", ",".join(batches), *options)
    rows = doc["rows"]
    assert [(r["input_shape"], r["batch"]) for r in rows] == [
        ([int(d) for d in s.split("x")], int(b)) for s in inputs for b in batches
    ]
    for row, (shape, batch) in zip(rows, [(s, b) for s in inputs for b in batches]):
        report = _report_json(net, "--input", shape, "--batch", batch, *options)
        assert row["totals"] == report["totals"]
        assert row["memory"] == report["memory"]
        assert doc["network"]["dtype"] == report["network"]["dtype"]


def test_default_is_the_network_input_at_batch_1() -> None:
    doc = _sweep_json("lenet5")
    assert [(r["input_shape"], r["batch"]) for r in doc["rows"]] == [([1, 28, 28], 1)]
    assert doc["rows"][0]["totals"]["params"] == 431_080  # Caffe's LeNet: 500 + 25,050 + 400,500 + 5,010


def test_square_shorthand_in_a_range() -> None:
    doc = _sweep_json("resnet18", "--input", "3x{224..288..32}")
    assert [r["input_shape"] for r in doc["rows"]] == [[3, 224, 224], [3, 256, 256], [3, 288, 288]]
    # the convolutions scale with the area; the final linear layer (512 x 1000) does not
    fc = 512 * 1000
    conv = [r["totals"]["macs"] - fc for r in doc["rows"]]
    assert conv[1] * 224 * 224 == conv[0] * 256 * 256


def test_csv_and_table() -> None:
    res = run("sweep", "lenet5", "--input", "1x{28..36..4}", "--batch", "1,2", "-f", "csv")
    assert res.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [(r["input_shape"], r["batch"]) for r in rows] == [
        (f"1x{s}x{s}", b) for s in (28, 32, 36) for b in ("1", "2")
    ]
    # activations of the whole batch: twice those of one sample
    assert int(rows[1]["activation_bytes_batch"]) == 2 * int(rows[0]["activation_bytes_batch"])
    table = run("sweep", "lenet5", "--input", "1x{28..36..4}")
    assert table.exit_code == 0
    assert table.stdout.count("1x32x32") == 1 and "training peak" in table.stdout
    md = run("sweep", "lenet5", "-f", "markdown")
    assert md.exit_code == 0 and "| 1x28x28 | 1 | 10 | 431.08 K |" in md.stdout


def test_no_training_figure_for_int8() -> None:
    res = run("sweep", "lenet5", "--dtype", "int8", "-f", "csv")
    row = next(csv.DictReader(io.StringIO(res.stdout)))
    assert row["training_peak_bytes"] == ""


def test_an_input_too_small_names_the_input(tmp_path) -> None:  # type: ignore[no-untyped-def]
    res = run("sweep", "alexnet", "--input", "3x224,3x32")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert "layer 'features.12' (maxpool2d): at input [3, 32, 32]: kernel_size 3 is larger" in res.stderr


@pytest.mark.torch
def test_macs_follow_torch_at_every_input() -> None:
    pytest.importorskip("torch")
    from torch_reference import BUILDERS, conv_linear_macs, count_params

    build, _ = BUILDERS["resnet18"]
    model = build()
    shapes = [(3, 64, 64), (3, 96, 128), (3, 160, 160)]
    doc = _sweep_json("resnet18", "--input", ",".join("x".join(map(str, s)) for s in shapes))
    for row, shape in zip(doc["rows"], shapes):
        assert row["totals"]["macs"] == conv_linear_macs(model, shape)
        assert row["totals"]["params"] == count_params(model)


def test_shapes_after_net_as_a_shell_expands_braces() -> None:
    # bash turns `--input 3x{64..96..32}` into `--input 3x64 3x96`: the second shape follows NET
    doc = _sweep_json("resnet18", "--input", "3x64", "3x96", "3x{128..160..32}")
    assert [r["input_shape"][1] for r in doc["rows"]] == [64, 96, 128, 160]


def test_a_number_after_net_is_not_a_shape() -> None:
    # bash turns `--batch {1..4}` into `--batch 1 2 3 4`
    res = run("sweep", "lenet5", "--batch", "1", "2", "3")
    assert res.exit_code == 2
    assert res.stderr == ("error: '2' is not a shape like 3x224x224 "
                          "(to sweep batch sizes, quote the range: --batch '{1..8}')\n")
