"""Broken and hostile input: every file gives figures or located errors with exit code 2.

Each case writes a file, runs ``cnncalc report`` on it through click's CliRunner (exceptions are
not caught, so a traceback fails the test) and compares stderr line by line, with ``{f}``
standing for the file's path. Locations are 1-based ``line:column`` of the offending node.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run

from cnncalc import analysis, graph, source, spec
from cnncalc.errors import ShapeError, SourceError, SpecError

LENET = (Path(__file__).resolve().parent.parent / "networks" / "lenet5.yaml").read_text()


def report(path: Path, content: str | bytes, *args: str) -> Any:
    """Write ``content`` to ``path`` and run ``cnncalc report`` on it."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return run("report", str(path), *args)


def errors(res: Any, path: Path) -> list[str]:
    """stderr as lines without ``error: ``, the path written ``{f}``; the run must have failed cleanly."""
    assert res.exit_code == 2, res.stdout
    assert res.stdout == ""
    lines = res.stderr.replace(str(path), "{f}").splitlines()
    assert all(line.startswith("error: ") for line in lines), lines
    return [line.removeprefix("error: ") for line in lines]


# ---------------------------------------------------------------------------------------------
# files that are not a description at all

EMPTY = "{f}: is empty: expected a mapping with 'input' and 'layers'"


@pytest.mark.parametrize(
    "content, expected",
    [
        pytest.param("", [EMPTY], id="empty file"),
        pytest.param("  \n\n\t\n", [EMPTY], id="whitespace only"),
        pytest.param("# nothing here\n# at all\n", [EMPTY], id="comments only"),
        pytest.param("- relu\n- tanh\n", ["{f}:1:1: expected a mapping with 'input' and 'layers', got a list"],
                     id="top-level list"),
        pytest.param("42\n", ["{f}:1:1: expected a mapping with 'input' and 'layers', got 42"], id="top-level number"),
        pytest.param("lenet5\n", ["{f}:1:1: expected a mapping with 'input' and 'layers', got the string 'lenet5'"],
                     id="top-level string"),
        pytest.param("input: [3, 32, 32\nlayers: [relu]\n",
                     ["{f}:2:7: invalid YAML: "], id="unclosed bracket"),
        pytest.param("input: [3, 8, 8]\nlayers:\n  - relu\n - tanh\n",
                     ["{f}:4:2: invalid YAML: "],
                     id="bad indentation"),
        pytest.param("input: [3, 8, 8]\nlayers:\n  - relu\n---\ninput: [1]\n",
                     ["{f}:4:1: invalid YAML: "], id="two documents"),
        pytest.param(b"\x00\x01\x02binary\xff", ["{f}: is a binary file, not a YAML or JSON description"],
                     id="binary"),
        pytest.param(b"input: [3, 8, 8]\nlayers:\n  - relu\n  - conv2d: {out_channels: \xe9}\n",
                     ["{f}:4:28: is not valid UTF-8 (byte 0xe9)"], id="latin-1, not UTF-8"),
        pytest.param("\ufeffinput: [1, 4]\nlayers: [relu]\n", None, id="UTF-8 with a byte-order mark is fine"),
    ],
)
def test_not_a_description(tmp_path: Path, content: str | bytes, expected: list[str] | None, loader: str) -> None:
    path = tmp_path / "net.yaml"
    res = report(path, content)
    if expected is None:
        assert res.exit_code == 0, res.stderr
    else:
        assert_lines(errors(res, path), expected)


def assert_lines(got: list[str], expected: list[str]) -> None:
    """``got`` is ``expected``; a line ending ``invalid YAML: `` or ``invalid JSON: `` is a prefix.

    What follows is the parser's own wording, which differs between PyYAML's loaders, libyaml's
    and Python's releases: cnncalc's part is the location and the kind of error.
    """
    assert len(got) == len(expected), got
    for line, want in zip(got, expected):
        assert line.startswith(want) if want.endswith(("invalid YAML: ", "invalid JSON: ")) else line == want, line


def test_tab_in_indentation(tmp_path: Path, loader: str) -> None:
    path = tmp_path / "net.yaml"
    res = report(path, "input: [3, 8, 8]\nlayers:\n\t- relu\n")
    (line,) = errors(res, path)
    assert line.startswith("{f}:3:1: invalid YAML: ")
    assert line.endswith("; indent with spaces: YAML does not allow tabs")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert errors(run("report", str(path)), path) == ["{f}: no such file"]


def test_directory(tmp_path: Path) -> None:
    path = tmp_path / "nets.yaml"
    path.mkdir()
    assert errors(run("report", str(path)), path) == ["{f}: is a directory, not a network description"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads files whatever their mode; test_unreadable_file_simulated covers it")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text(LENET)
    path.chmod(0)
    assert errors(run("report", str(path)), path) == ["{f}: permission denied"]


def test_unreadable_file_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text(LENET)

    def denied(file: Any, *args: Any, **kw: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(file))

    monkeypatch.setattr(source, "open", denied, raising=False)
    assert errors(run("report", str(path)), path) == ["{f}: permission denied"]


def test_larger_than_the_size_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as f:
        f.truncate(source.MAX_BYTES + 1)  # sparse: nothing is written to disk
    assert errors(run("report", str(path)), path) == [
        f"{{f}}: is larger than {source.MAX_BYTES:,} bytes, the limit for a description"
    ]


def test_stdin_is_read_up_to_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "MAX_BYTES", 100)
    res = run("report", "-", input="# " + "x" * 200 + "\n" + LENET)
    assert res.exit_code == 2
    assert res.stderr == "error: <stdin>: is larger than 100 bytes, the limit for a description\n"


# ---------------------------------------------------------------------------------------------
# values of the wrong type, all reported at once

WRONG_TYPES = """\
input: [3, 32, 32]
layers:
  - conv2d: {out_channels: true, kernel_size: 3}
  - conv2d: {out_channels: 3.0, kernel_size: .nan}
  - conv2d: {out_channels: null, kernel_size: .inf}
  - conv2d: {out_channels: "8", kernel_size: -3}
  - conv2d: {out_channels: 0, kernel_size: [3, 0]}
  - conv2d: {out_channels: 9223372036854775808, kernel_size: 1}
  - relu: {inplace: 1}
  - dropout: {p: .nan}
  - upsample: {scale_factor: 1}
  - upsample: {scale_factor: true}
  - upsample: {scale_factor: [2, -1]}
"""


def test_wrong_types_are_all_reported_with_their_columns(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    assert errors(report(path, WRONG_TYPES), path) == [
        "{f}:3:28: layer #1 (conv2d): out_channels: expected an integer, got the boolean true",
        "{f}:4:28: layer #2 (conv2d): out_channels: expected an integer, got the number 3.0",
        "{f}:4:46: layer #2 (conv2d): kernel_size: expected an integer, got the number nan",
        "{f}:5:28: layer #3 (conv2d): out_channels: expected an integer, got null",
        "{f}:5:47: layer #3 (conv2d): kernel_size: expected an integer, got the number inf",
        "{f}:6:28: layer #4 (conv2d): out_channels: expected an integer, got the string '8'",
        "{f}:6:46: layer #4 (conv2d): kernel_size: must be positive, got -3",
        "{f}:7:28: layer #5 (conv2d): out_channels: must be positive, got 0",
        "{f}:7:44: layer #5 (conv2d): kernel_size: must be positive, got 0",
        "{f}:8:28: layer #6 (conv2d): out_channels: must be at most 2^63 − 1, the largest size PyTorch can hold",
        "{f}:9:21: layer #7 (relu): inplace: expected true or false, got 1",
        "{f}:10:18: layer #8 (dropout): p: expected a finite number, got nan",
        # true is not 1, even after an upsample by 1 (equal layers share their shapes)
        "{f}:12:30: layer #10 (upsample): scale_factor: expected a number, got the boolean true",
        "{f}:13:30: layer #11 (upsample): scale_factor: must be positive, got -1",
    ]


def test_a_tag_the_value_cannot_be_read_as_is_located(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    text = "input: [3, 8, 8]\nlayers:\n  - relu: {inplace: !!bool maybe}\n  - dropout: {p: !!timestamp soon}\n"
    assert errors(report(path, text), path) == [
        "{f}:3:21: invalid value: cannot read 'maybe' as !!bool",
        "{f}:4:18: unsupported tag '!!timestamp': a description holds plain mappings, lists, strings, numbers, "
        "booleans and null",
    ]
    path = tmp_path / "net.json"  # tags are not JSON
    text = '{"input": [3, 8, 8], "layers": [{"relu": {"inplace": !!bool maybe}}]}'
    assert_lines(errors(report(path, text), path), ["{f}:1:54: invalid JSON: "])


@pytest.mark.parametrize(
    "input_line, expected",
    [
        pytest.param("input: 224", "{f}:1:8: input: expected a list, got 224", id="not a list"),
        pytest.param("input: []", "{f}:1:8: input: expected 1 to 4 sizes (channels, then up to 3 spatial axes), "
                                  "got 0", id="no sizes"),
        pytest.param("input: [1, 2, 3, 4, 5]", "{f}:1:8: input: expected 1 to 4 sizes (channels, then up to 3 "
                                               "spatial axes), got 5", id="five sizes"),
        pytest.param("input: [3, 0, 8]", "{f}:1:12: input: must be positive, got 0", id="zero size"),
        pytest.param("input: [3, -8, 8]", "{f}:1:12: input: must be positive, got -8", id="negative size"),
        pytest.param("input: [3, 8.5, 8]", "{f}:1:12: input: expected an integer, got the number 8.5", id="float size"),
        pytest.param("input: [3, 1e3, 8]", "{f}:1:12: input: expected an integer, got the number 1000.0",
                     id="exponent is a float, as in JSON"),
        pytest.param("input: [3, " + "9" * 5000 + "]", "{f}:1:12: number with 5,000 digits is too large",
                     id="more digits than Python reads"),
    ],
)
def test_bad_input_shape(tmp_path: Path, input_line: str, expected: str) -> None:
    path = tmp_path / "net.yaml"
    assert errors(report(path, f"{input_line}\nlayers: [relu]\n"), path) == [expected]


@pytest.mark.parametrize(
    "layers, expected",
    [
        pytest.param("- conv2dd: {out_channels: 8, kernel_size: 3}",
                     "{f}:3:5: layer #1 (conv2dd): unknown layer type or block 'conv2dd' (did you mean 'conv2d'?)",
                     id="misspelt type"),
        pytest.param("- conv2d: {out_channels: 8, kernal_size: 3}",
                     "{f}:3:13: layer #1 (conv2d): missing required argument 'kernel_size'\n"
                     "{f}:3:31: layer #1 (conv2d): unknown argument 'kernal_size' (did you mean 'kernel_size'?)",
                     id="misspelt argument"),
        pytest.param("- {}", "{f}:3:5: layer #1: a layer has exactly one key, its type; found none", id="empty item"),
        pytest.param("- relu: 5", "{f}:3:11: layer #1 (relu): expected a mapping, got 5", id="arguments not a mapping"),
        pytest.param("- [relu]", "{f}:3:5: layer #1: expected a layer: a mapping with one key, the layer type "
                                 "(e.g. '- relu')", id="item is a list"),
    ],
)
def test_unknown_and_misshapen_items(tmp_path: Path, layers: str, expected: str) -> None:
    path = tmp_path / "net.yaml"
    assert errors(report(path, f"input: [3, 8, 8]\nlayers:\n  {layers}\n"), path) == expected.splitlines()


# ---------------------------------------------------------------------------------------------
# duplicate keys are errors, reported with everything else

DUPLICATES = """\
input: [3, 8, 8]
input: [1, 8, 8]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, kernel_size: 5}
  - relu: {inplace: yes please}
  - linear:
      out_features: 10
      out_features: 20
"""


def test_duplicate_keys_are_collected_with_schema_problems(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    assert errors(report(path, DUPLICATES), path) == [
        "{f}:2:1: duplicate key 'input' (first given on line 1)",
        "{f}:4:47: duplicate key 'kernel_size' (first given on line 4)",
        "{f}:5:21: layer #2 (relu): inplace: expected true or false, got the string 'yes please'",
        "{f}:8:7: duplicate key 'out_features' (first given on line 7)",
    ]


def test_duplicate_keys_in_json(tmp_path: Path) -> None:
    path = tmp_path / "net.json"
    text = '{\n  "input": [3, 8, 8],\n  "layers": ["relu"],\n  "layers": ["tanh"]\n}\n'
    assert errors(report(path, text), path) == ["{f}:4:3: duplicate key 'layers' (first given on line 3)"]


def test_budgets_file_still_rejects_duplicate_keys(tmp_path: Path) -> None:
    from cnncalc import budgets

    path = tmp_path / "budgets.yaml"
    path.write_text("'*.yaml': {max_params: 1M}\n'*.yaml': {max_params: 2M}\n")
    with pytest.raises(SpecError) as info:
        budgets.load_budgets(path)
    assert [p.format() for p in info.value.problems] == [f"{path}:2:1: duplicate key '*.yaml' (first given on line 1)"]


def test_merge_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    text = ("input: [3, 8, 8]\nlayers:\n  - conv2d: &conv {out_channels: 4, kernel_size: 3}\n"
            "  - conv2d: {<<: *conv, stride: 2}\n")
    assert "{f}:4:14: merge keys ('<<') are not supported; write the keys out" in errors(report(path, text), path)


def test_unknown_top_level_keys_get_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    text = "input: [3, 8, 8]\nlayer: [relu]\nblocks:\n  b:\n    args: {}\n    layer: [relu]\n"
    assert errors(report(path, text), path) == [
        "{f}:1:1: missing required key 'layers'",
        "{f}:2:1: unknown key 'layer' (did you mean 'layers'?)",
        "{f}:5:5: missing required key 'layers'",
        "{f}:6:5: unknown key 'layer' (did you mean 'layers'?)",
    ]


# ---------------------------------------------------------------------------------------------
# JSON

def test_json_errors_carry_lines(tmp_path: Path) -> None:
    path = tmp_path / "net.json"
    text = json.dumps({"input": [3, 8, 8], "layers": [{"conv2d": {"out_channels": True, "kernel_size": 3}}]},
                      indent=2)
    assert errors(report(path, text), path) == [
        "{f}:10:25: layer #1 (conv2d): out_channels: expected an integer, got the boolean true"
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param('{"input": [3, 8, 8], "layers": ["relu",]}', "{f}:1:40: invalid JSON: trailing comma before ']'",
                     id="trailing comma in a list"),
        pytest.param('{\n  "input": [3, 8, 8],\n  "layers": ["relu"],\n}', "{f}:4:1: invalid JSON: trailing comma "
                     "before '}'", id="trailing comma in an object"),
        pytest.param('{"input": [3, 8, 8], "layers": [relu]}', "{f}:1:33: invalid JSON: ",
                     id="unquoted string"),
        pytest.param('{"input": [3, 8, 8], // the input\n "layers": ["relu"]}', "{f}:1:22: invalid JSON: ",
                     id="comment"),
        pytest.param('{"input": [3, 8, 8] "layers": ["relu"]}', "{f}:1:21: invalid JSON: ",
                     id="missing comma"),
    ],
)
def test_json_syntax_errors_are_json_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "net.json"
    assert_lines(errors(report(path, text), path), [expected])


def test_json_indented_with_tabs(tmp_path: Path, loader: str) -> None:
    path = tmp_path / "net.json"
    text = '{\n\t"input": [1, 28, 28],\n\t"layers": [\n\t\t{"conv2d": {"out_channels": 20, "kernel_size": 5}},\n' \
           '\t\t{"batchnorm2d": {"eps": 1e-5, "momentum": 1E-1}}\n\t]\n}\n'
    res = report(path, text, "-f", "json")
    assert res.exit_code == 0, res.stderr
    layers = json.loads(res.stdout)["layers"]
    assert layers[0]["params"] == (5 * 5 * 1 + 1) * 20
    assert layers[1]["buffers"] == 2 * 20


def test_json_and_yaml_give_the_same_report(tmp_path: Path) -> None:
    data = yaml.safe_load(LENET)
    as_json = tmp_path / "lenet.json"
    as_json.write_text(json.dumps(data))
    a = analysis.analyse(spec.load(as_json)).to_dict()
    b = analysis.analyse(spec.load("lenet5")).to_dict()
    a["network"].pop("source")
    b["network"].pop("source")
    assert a == b


# ---------------------------------------------------------------------------------------------
# shape errors: at the layer that causes them, named, with the sizes involved

SHAPE_CASES = [
    pytest.param([6, 5, 5], "conv2d: {out_channels: 8, kernel_size: 7, name: conv3}",
                 "layer 'conv3' (conv2d): kernel_size 7 is larger than the padded input 5x5 (input [6, 5, 5])",
                 id="kernel larger than the input"),
    pytest.param([6, 5, 9], "conv2d: {out_channels: 8, kernel_size: [3, 7], padding: [0, 1], dilation: 2}",
                 "layer 'conv1' (conv2d): kernel_size 3x7 (dilated to 5x13) is larger than the padded input 5x11 "
                 "(input [6, 5, 9])", id="dilated kernel, per axis"),
    pytest.param([6, 4, 4], "maxpool2d: {kernel_size: 3, padding: 1, dilation: 3}",
                 "layer 'pool1' (maxpool2d): kernel_size 3 (dilated to 7) is larger than the padded input 6x6 "
                 "(input [6, 4, 4])", id="pooling window larger than the input"),
    pytest.param([6, 4, 4], "maxpool2d: {kernel_size: 2, padding: 2}",
                 "layer 'pool1' (maxpool2d): padding 2 is more than half the kernel_size 2 (input [6, 4, 4])",
                 id="pool padding more than half the kernel"),
    pytest.param([6, 4, 4], "convtranspose2d: {out_channels: 2, kernel_size: 1, padding: 2}",
                 # (n − 1)s − 2p + d(k − 1) + output_padding + 1 = 3 − 4 + 0 + 0 + 1
                 "layer 'deconv1' (convtranspose2d): output size 0 is not positive (padding 2 too large) "
                 "(input [6, 4, 4])", id="zero output size"),
    pytest.param([6, 4, 4], "convtranspose2d: {out_channels: 2, kernel_size: 1, padding: 3}",
                 "layer 'deconv1' (convtranspose2d): output size -2 is not positive (padding 3 too large) "
                 "(input [6, 4, 4])", id="negative output size"),
    pytest.param([6, 4, 4], "conv2d: {out_channels: 8, kernel_size: 3, groups: 4}",
                 "layer 'conv1' (conv2d): in_channels 6 is not divisible by groups 4 (input [6, 4, 4])",
                 id="channels not divisible by groups"),
    pytest.param([8, 4, 4], "conv2d: {out_channels: 6, kernel_size: 1, groups: 4}",
                 "layer 'conv1' (conv2d): out_channels 6 is not divisible by groups 4 (input [8, 4, 4])",
                 id="out_channels not divisible by groups"),
    pytest.param([6, 4, 4], "conv2d: {in_channels: 3, out_channels: 8, kernel_size: 3}",
                 "layer 'conv1' (conv2d): in_channels is 3 but the input has 6 channels (input [6, 4, 4])",
                 id="in_channels given and wrong"),
    pytest.param([6, 4, 4], "linear: {out_features: 10}",
                 "layer 'fc1' (linear): input is [6, 4, 4]: add 'flatten' before it, or give in_features to apply "
                 "it to the last axis as PyTorch does", id="linear on a spatial map"),
    pytest.param([96], "linear: {in_features: 69, out_features: 10}",
                 "layer 'fc1' (linear): in_features is 69 but the input's last axis is 96 (input [96])",
                 id="in_features given and wrong"),
    pytest.param([6, 5, 5], "upsample: {scale_factor: 1.5}",
                 "layer 'up1' (upsample): scale 1.5 on size 5 gives 7.5, not a whole size; give 'size' instead "
                 "(input [6, 5, 5])", id="upsample to a fractional size"),
    pytest.param([6, 4, 4], "pixelshuffle: {upscale_factor: 2}",
                 "layer 'shuffle1' (pixelshuffle): 6 channels are not divisible by upscale_factor² = 4 "
                 "(input [6, 4, 4])", id="pixel_shuffle factor does not divide the channels"),
    pytest.param([6, 5, 4], "pixel_unshuffle: {downscale_factor: 2}",
                 "layer 'unshuffle1' (pixelunshuffle): spatial size 5x4 is not divisible by downscale_factor 2 "
                 "(input [6, 5, 4])", id="pixel_unshuffle factor does not divide the size"),
    pytest.param([6, 4], "conv2d: {out_channels: 8, kernel_size: 3}",
                 "layer 'conv1' (conv2d): expects a [C, H, W] input, got [6, 4]", id="2-d conv on a 1-d signal"),
]


@pytest.mark.parametrize("shape, item, message", SHAPE_CASES)
def test_shape_errors(tmp_path: Path, shape: list[int], item: str, message: str) -> None:
    path = tmp_path / "net.yaml"
    text = f"input: {shape}\nlayers:\n  - relu\n  - {item}\n  - relu\n"
    (line,) = errors(report(path, text), path)
    col = 5 + len(item.split(":")[0]) + 2  # the arguments' mapping
    assert line == f"{{f}}:4:{col}: {message}"


def test_independent_problems_are_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    text = """\
input: [3, 8, 8]
blocks:
  blk:
    args: {c: null}
    layers:
      - conv2d: {out_channels: $c, kernel_size: 3}
layers:
  - conv2d: {out_channels: 16, kernel_size: 3, name: stem}
  - conv2d: {out_channels: 8, kernel_size: 9, name: a}
  - relu: {name: a_act}
  - conv2d: {out_channels: 8, kernel_size: 3, groups: 3, from: stem, name: b}
  - conv2d: {out_channels: 8, kernel_size: 1, from: stemm, name: c}
  - blk: {d: 3, from: stem}
  - blk: {from: stem}
  - linear: {out_features: 4, from: stem}
  - add: {from: [a_act, b]}
"""
    assert errors(report(path, text), path) == [
        "{f}:9:13: layer 'a' (conv2d): kernel_size 9 is larger than the padded input 6x6 (input [16, 6, 6])",
        "{f}:11:13: layer 'b' (conv2d): in_channels 16 is not divisible by groups 3 (input [16, 6, 6])",
        "{f}:12:5: layer 'c' (conv2d): takes input from unknown layer 'stemm' (did you mean 'stem'?)",
        "{f}:13:14: layer 'blk1' (blk): block 'blk' has no argument 'd'",
        "{f}:14:5: layer 'blk2' (blk): block 'blk' needs argument 'c'",
        "{f}:15:13: layer 'fc1' (linear): input is [16, 6, 6]: add 'flatten' before it, or give in_features to "
        "apply it to the last axis as PyTorch does",
    ]  # 'add' depends on the failed 'a' and 'b' and is not checked


def test_all_shape_problems_raise_shape_error() -> None:
    text = ("input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 9, name: a}\n"
            "  - conv2d: {out_channels: 4, kernel_size: 9, from: input, name: b}\n")
    with pytest.raises(ShapeError) as info:
        graph.build(spec.load("net.yaml", text=text))
    assert [p.layer for p in info.value.problems] == ["a", "b"]


def test_schema_problems_come_before_any_shape_check(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    text = ("input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 9}\n"
            "  - conv2d: {out_channels: four, kernel_size: 3}\n")
    assert errors(report(path, text), path) == [
        "{f}:4:28: layer #2 (conv2d): out_channels: expected an integer, got the string 'four'"
    ]


def test_failure_inside_a_repeated_block_is_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    text = ("input: [3, 8, 8]\nblocks:\n  down:\n    layers:\n      - conv2d: {out_channels: 4, kernel_size: 3}\n"
            "layers:\n  - down: {repeat: 9}\n")
    assert errors(report(path, text), path) == [
        "{f}:5:17: layer 'down4.conv1' (conv2d): kernel_size 3 is larger than the padded input 2x2 "
        "(input [4, 2, 2])"
    ]


# ---------------------------------------------------------------------------------------------
# absurd sizes: exact with Python integers, or a clear limit

def test_a_terapixel_input_is_counted_exactly() -> None:
    text = ("input: [3, 1000000, 1000000]\nlayers:\n"
            "  - conv2d: {out_channels: 64, kernel_size: 7, stride: 2, padding: 3, bias: false}\n"
            "  - maxpool2d: {kernel_size: 2}\n")
    r = analysis.analyse(spec.load("net.yaml", text=text), batch=256)
    conv, pool = r.layers
    # out = floor((10^6 + 2·3 − 7)/2) + 1 = 500,000
    assert conv.output_shape == (64, 500_000, 500_000)
    assert conv.macs == 7 * 7 * 3 * 64 * 500_000**2 == 2_352_000_000_000_000
    assert pool.output_shape == (64, 250_000, 250_000)
    assert pool.flops == (2 * 2 - 1) * 64 * 250_000**2
    assert r.totals.activation_bytes_batch == 256 * 4 * (64 * 500_000**2 + 64 * 250_000**2)


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("input: [3, 4294967296, 4294967296]\nlayers: [relu]\n",
                     "{f}:1:8: input has more than 2^63 − 1 elements, more than PyTorch can hold", id="input"),
        pytest.param("input: [3, 100000, 100000]\nlayers:\n  - upsample: {scale_factor: 100000}\n",
                     "{f}:3:15: layer 'up1' (upsample): output has more than 2^63 − 1 elements, more than PyTorch "
                     "can hold (input [3, 100000, 100000])", id="grown by a layer"),
        pytest.param("input: [3, 8]\nlayers:\n  - conv1d: {out_channels: 4, kernel_size: 1, stride: "
                     + "1" + "0" * 400 + "}\n",
                     "{f}:3:55: layer #1 (conv1d): stride: must be at most 2^63 − 1, the largest size PyTorch can "
                     "hold", id="400-digit argument"),
    ],
)
def test_sizes_beyond_int64_are_rejected(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "net.yaml"
    assert errors(report(path, text), path) == [expected]


def test_batch_and_input_options_beyond_int64() -> None:
    res = run("report", "lenet5", "--batch", str(2**63))
    # refused while the options are parsed, naming the option and the largest value
    assert res.exit_code == 2
    assert "'--batch'" in res.stderr and f"{2**63 - 1}" in res.stderr
    res = run("report", "lenet5", "--input", f"1x{2**32}x{2**32}")
    assert res.exit_code == 2
    assert res.stderr == f"error: input shape 1x{2**32}x{2**32} has more than 2^63 − 1 elements, more than " \
                         "PyTorch can hold\n"


# ---------------------------------------------------------------------------------------------
# blocks: repeat, recursion, nesting

def _blocks(defs: str, layers: str) -> str:
    return f"input: [3, 8, 8]\nblocks:\n{defs}layers:\n{layers}"


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param(_blocks("  b:\n    layers: [relu]\n", "  - b: {repeat: 1000000000}\n"),
                     "{f}:6:5: expands to more than 100,000 layers, the limit", id="repeat 10^9"),
        pytest.param(_blocks("  b:\n    layers: [relu]\n  c:\n    layers: [{b: {repeat: 1000}}]\n",
                             "  - c: {repeat: 1000}\n"),
                     "{f}:8:5: expands to more than 100,000 layers, the limit", id="1000 x 1000 nested"),
        pytest.param(_blocks("  a:\n    layers:\n      - relu\n      - a\n", "  - a\n"),
                     "{f}:6:9: block 'a' calls itself: a → a", id="self-recursive"),
        pytest.param(_blocks("  a:\n    layers: [b]\n  b:\n    layers: [relu, {a: {}}]\n", "  - relu\n  - a\n"),
                     "{f}:6:20: block 'a' calls itself: a → b → a", id="mutually recursive"),
    ],
)
def test_block_limits(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "net.yaml"
    start = time.perf_counter()
    assert errors(report(path, text), path) == [expected]
    assert time.perf_counter() - start < 1.0  # checked before anything is expanded


def test_a_long_chain_of_blocks_hits_the_nesting_limit(tmp_path: Path) -> None:
    n = 400  # deep enough to overflow Python's stack if expanded
    defs = "".join(f"  b{i}:\n    layers: [{f'b{i + 1}' if i + 1 < n else 'relu'}]\n" for i in range(n))
    path = tmp_path / "net.yaml"
    (line,) = errors(report(path, _blocks(defs, "  - b0\n")), path)
    assert line.endswith(f": blocks and groups nest more than {graph.MAX_NESTING} deep, the limit")
    ok = "".join(f"  b{i}:\n    layers: [{f'b{i + 1}' if i + 1 < 90 else 'relu'}]\n" for i in range(90))
    net = spec.load("net.yaml", text=_blocks(ok, "  - b0\n"))
    # an unnamed call is named after its block and a counter: b01, b11, ...
    assert analysis.analyse(net).layers[0].name == ".".join(f"b{i}1" for i in range(90)) + ".relu1"


# ---------------------------------------------------------------------------------------------
# the reader's own bounds

def test_alias_bomb_is_stopped_at_the_alias_that_crosses_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "lol.yaml"
    assert errors(report(path, BILLION_LAUGHS), path) == [
        f"{{f}}:6:26: more than {source.MAX_NODES:,} nodes (after expanding aliases), the limit for a description"
    ]


def test_recursive_and_undefined_aliases(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    assert errors(report(path, "a: &a [1, *a]\ninput: [3]\nlayers: [relu]\n"), path) == [
        "{f}:1:11: alias '*a' refers to a node that contains it"
    ]
    assert errors(report(path, "input: *b\nlayers: [relu]\n"), path) == [
        "{f}:1:8: alias '*b' refers to no anchor defined before it"
    ]


def test_aliases_within_the_limits_are_expanded() -> None:
    text = "input: [3, 8, 8]\nlayers:\n  - &c {conv2d: {out_channels: 4, kernel_size: 1}}\n  - *c\n  - *c\n"
    assert len(analysis.analyse(spec.load("net.yaml", text=text)).layers) == 3


def test_an_alias_is_a_copy_with_the_problems_of_its_anchor() -> None:
    text = "a: &a {x: 1, x: {z: 1, z: 2}, y: !!bool maybe}\nb: *a\n"
    src = source.parse(text, "net.yaml", collect=True)
    assert src.data == {"a": {"x": 1, "y": "maybe"}, "b": {"x": 1, "y": "maybe"}}
    assert src.data["a"] is not src.data["b"]
    # the value of the duplicate key is not read, so its own duplicate 'z' is not reported
    assert [p.format() for p in src.problems] == 2 * [
        "net.yaml:1:14: duplicate key 'x' (first given on line 1)",
        "net.yaml:1:34: invalid value: cannot read 'maybe' as !!bool",
    ]


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
input: [3, 32, 32]
layers: *i
"""


def test_fifty_megabytes(tmp_path: Path) -> None:
    """A 50 MB file of layers is refused at the node limit; one of comments and a long description is read."""
    dense = tmp_path / "dense.yaml"
    with open(dense, "w") as f:
        f.write("input: [3, 16, 16]\nlayers:\n")
        row = "  - conv2d: {out_channels: 3, kernel_size: 3, padding: 1}\n  - relu\n"
        f.write(row * (50_000_000 // len(row)))
    assert dense.stat().st_size > 49_000_000
    start = time.perf_counter()
    (line,) = errors(run("report", str(dense)), dense)
    assert f"more than {source.MAX_NODES:,} nodes" in line
    assert time.perf_counter() - start < 10

    sparse = tmp_path / "sparse.yaml"
    sparse.write_text("# " + "x" * 25_000_000 + "\ndescription: " + "y" * 25_000_000 + "\n" + LENET)
    start = time.perf_counter()
    res = run("report", str(sparse), "-f", "json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["totals"]["params"] == 431_080
    assert time.perf_counter() - start < 10


# ---------------------------------------------------------------------------------------------
# the API raises the same errors

def test_api_raises_located_errors() -> None:
    with pytest.raises(SourceError) as info:
        spec.load("no/such.yaml")
    assert info.value.problems[0].format() == "no/such.yaml: no such file"
    with pytest.raises(SpecError) as info2:
        spec.load("net.yaml", text="input: [3]\nlayers: [conv1d]\n")
    assert [p.format() for p in info2.value.problems] == [
        "net.yaml:2:10: layer #1 (conv1d): missing required argument 'out_channels'",
        "net.yaml:2:10: layer #1 (conv1d): missing required argument 'kernel_size'",
    ]


# ---------------------------------------------------------------------------------------------
# safety: safe YAML only, no eval, expressions of arithmetic on named numbers


def test_no_unsafe_loading_or_eval_in_the_package() -> None:
    import ast

    unsafe = {"load", "full_load", "unsafe_load", "load_all", "full_load_all", "unsafe_load_all"}
    found = []
    for path in sorted((Path(__file__).resolve().parent.parent / "cnncalc").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if isinstance(f, ast.Name) and f.id in ("eval", "exec", "compile", "__import__"):
                found.append(f"{path.name}:{node.lineno}: {f.id}()")
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "yaml" \
                    and f.attr in unsafe:
                found.append(f"{path.name}:{node.lineno}: yaml.{f.attr}()")
    assert found == []


@pytest.mark.parametrize(
    "expression, message",
    [
        pytest.param("$__import__('os').system('true')", "unsupported syntax '__import__('os').system('true')'",
                     id="import"),
        pytest.param("$open('/etc/passwd')", "unknown function 'open' (known: abs, ceil, floor, int, "
                     "make_divisible, max, min, round)", id="a builtin"),
        pytest.param("$planes.__class__", "unsupported syntax 'planes.__class__'", id="attribute"),
        pytest.param("$'x' * 10**9", "'*' needs numbers, got str 'x'", id="string bomb"),
        pytest.param("$[0] * 10**9", "'*' needs numbers, got list [0]", id="list bomb"),
        pytest.param("$9**9**9", "exponent too large", id="power tower"),
        pytest.param("$1e6 ** 64", "expression value is too large", id="float overflow"),
        pytest.param("$(-8) ** 0.5", "expression value is not a real number", id="complex"),
        pytest.param("$-[1]", "'-' needs numbers, got list [1]", id="negated list"),
        pytest.param("$make_divisible(planes, 0)", "make_divisible(): integer division or modulo by zero",
                     id="division by zero in a function"),
        pytest.param("$planes // 0", "division by zero", id="division by zero"),
        pytest.param("$round(planes, -10**8)", "round(): ndigits -100000000 is beyond ±64",
                     id="round to 10^8 digits"),
        pytest.param("$" + "1+" * 150 + "1", "expression longer than 200 characters", id="too long"),
    ],
)
def test_hostile_expressions(tmp_path: Path, expression: str, message: str) -> None:
    path = tmp_path / "net.yaml"
    text = ("input: [3, 8, 8]\nblocks:\n  b:\n    args: {planes: 4}\n    layers:\n"
            f"      - conv2d: {{out_channels: \"{expression}\", kernel_size: 1}}\nlayers: [b]\n")
    (line,) = errors(report(path, text), path)
    assert line.startswith("{f}:6:32: layer 'b1.conv1' (conv2d): out_channels: ")
    assert line.endswith(message), line
