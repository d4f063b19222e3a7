"""The Python API: one ``analyse`` for every form a description takes, located errors, and a Report
that prints as the terminal's table, as rich, and as HTML in a notebook."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import cnncalc
from cnncalc import analysis, api, render, spec
from cnncalc.cli import cli
from cnncalc.errors import CnnCalcError, OptionError, SourceError, SpecError

ROOT = Path(__file__).resolve().parent.parent

SMALL = ["lenet5", "tiny_cnn", "resnet18", "squeezenet1_0"]


def figures(report: cnncalc.Report) -> dict[str, Any]:
    """Everything of a report but where it came from."""
    out = report.to_dict()
    out["network"].pop("source")
    return out


def _forms(name: str, tmp_path: Path) -> dict[str, Any]:
    """The same bundled network in every form ``analyse`` takes."""
    path = spec.bundled()[name]
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    copy = tmp_path / f"copy of {name}.yaml"
    copy.write_text(text, encoding="utf-8")
    return {
        "bundled name": name,
        "str path": str(copy),
        "Path": copy,
        "YAML text": text,
        "JSON text": json.dumps(data),
        "JSON text, one line": json.dumps(data, separators=(",", ":")),
        "bytes": text.encode("utf-8"),
        "dict": data,
        "dict with tuples": {**data, "input": tuple(data["input"])},
        "Network": spec.load(str(path)),
    }


@pytest.mark.parametrize("name", SMALL)
def test_every_form_gives_the_same_report(tmp_path: Path, name: str) -> None:
    expected = figures(analysis.analyse(spec.load(name)))
    for form, source in _forms(name, tmp_path).items():
        assert figures(cnncalc.analyse(source)) == expected, form
        assert cnncalc.load(source).model_dump() == spec.load(name).model_dump(), form


def test_a_dict_is_not_changed_by_loading() -> None:
    data = {"input": (3, 16, 16), "layers": [{"conv2d": {"out_channels": 4, "kernel_size": 3}}, "relu"]}
    before = repr(data)
    cnncalc.analyse(data)
    assert repr(data) == before


def test_the_text_or_path_rule_depends_on_the_string_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a string with a line break, or starting with "{", is text, even when a file of that name exists
    monkeypatch.chdir(tmp_path)
    one_line = '{"input": [1, 8, 8], "layers": ["relu"]}'
    (tmp_path / one_line).write_text("input: [3, 4, 4]\nlayers: [relu]\n", encoding="utf-8")
    assert cnncalc.analyse(one_line).input_shape == (1, 8, 8)
    assert cnncalc.analyse("  " + one_line).input_shape == (1, 8, 8)
    # any other string is a path, then a bundled name, never text
    (tmp_path / "input: [2, 4, 4]").write_text("input: [5, 4, 4]\nlayers: [relu]\n", encoding="utf-8")
    assert cnncalc.analyse("input: [2, 4, 4]").input_shape == (5, 4, 4)
    with pytest.raises(SourceError) as e:
        cnncalc.analyse("layers: [relu]")
    assert e.value.problems[0].file == "layers: [relu]"
    for text in ("input: [2, 4]\nlayers: [relu]", "input: [2, 4]\r\nlayers: [relu]\r\n"):
        assert api.is_text(text) and cnncalc.analyse(text).input_shape == (2, 4)
    # a blank string is an empty description, not the current folder
    for blank in ("", "   ", "\t"):
        with pytest.raises(SpecError) as e:
            cnncalc.analyse(blank)
        assert e.value.problems[0].file == api.TEXT_NAME and "empty" in e.value.problems[0].message
    # a Path is always a file, whatever its name looks like
    with pytest.raises(SourceError):
        cnncalc.analyse(Path("{not text}"))


#: Broken descriptions: (what, the description as data, words the one problem's message has).
BROKEN = [
    ("unknown argument", {"input": [3, 8, 8], "layers": [{"conv2d": {"out_channels": 4, "kernel_size": 3,
                                                                      "stide": 2}}]}, "stide"),
    ("shape", {"input": [3, 8, 8], "layers": [{"conv2d": {"out_channels": 4, "kernel_size": 9}}]}, "larger"),
    ("unknown type", {"input": [3, 8, 8], "layers": ["relu", {"convolution": {"out_channels": 4}}]}, "convolution"),
    ("wiring", {"input": [3, 8, 8], "layers": ["relu", {"add": {"from": ["relu1", "nope"]}}]}, "nope"),
    ("strict type", {"input": [3, 8, 8], "layers": [{"conv2d": {"out_channels": True, "kernel_size": 1}}]},
     "integer"),
]


@pytest.mark.parametrize(("what", "data", "words"), BROKEN, ids=[b[0] for b in BROKEN])
@pytest.mark.parametrize("form", ["dict", "YAML text", "JSON text", "file"])
def test_bad_input_gives_located_errors(tmp_path: Path, what: str, data: dict[str, Any], words: str,
                                        form: str) -> None:
    source: Any = {
        "dict": data,
        "YAML text": yaml.safe_dump(data, sort_keys=False),
        "JSON text": json.dumps(data, indent=1),
        "file": tmp_path / "net.yaml",
    }[form]
    if form == "file":
        source.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(CnnCalcError) as e:
        cnncalc.analyse(source)
    (problem,) = e.value.problems
    assert words in problem.message
    # the layer is named, and in text or a file the line and column are given
    assert problem.layer is not None or problem.index is not None
    if form == "dict":
        assert problem.file == api.DICT_NAME and problem.line is None
    else:
        assert problem.file == (str(source) if form == "file" else api.TEXT_NAME)
        assert problem.line is not None and problem.column is not None
        lines = (source.read_text() if form == "file" else source).splitlines()
        layer = data["layers"][-1]
        key = layer if isinstance(layer, str) else next(iter(layer))
        # the line shown is in the broken layer (the last one): its type's line, the line that opens
        # its mapping, or one of its arguments
        typed = next(n for n, line in enumerate(lines, 1) if key in line and "layers" not in line)
        assert typed - 1 <= problem.line <= len(lines)


def _cyclic() -> dict[str, Any]:
    data: dict[str, Any] = {"input": [3, 8, 8], "layers": []}
    data["layers"].append({"sequential": data})
    return data


def _nested(depth: int) -> dict[str, Any]:
    item: Any = "relu"
    for _ in range(depth):
        item = {"sequential": {"layers": [item]}}
    return {"input": [3, 8, 8], "layers": [item]}


def _shared(width: int, levels: int) -> dict[str, Any]:
    # each level lists the one below ``width`` times: width**levels values once expanded
    level: Any = ["relu"]
    for _ in range(levels):
        level = [level] * width
    return {"input": [3, 8, 8], "layers": ["relu"], "description": level}


HOSTILE_DATA = {
    "an object": {"input": [3, 8, 8], "layers": [object()]},
    "a set": {"input": {3, 8}, "layers": ["relu"]},
    "a non-string key": {"input": [3, 8, 8], "layers": [{1: {}}]},
    "a key that is not a string at the top": {"input": [3, 8, 8], "layers": ["relu"], 7: 1},
    "a cycle": _cyclic(),
    "deep nesting": _nested(5000),
    "shared lists (a billion values)": _shared(1000, 3),
    "bytes": {"input": [3, 8, 8], "layers": [b"relu"]},
}


@pytest.mark.parametrize("data", list(HOSTILE_DATA.values()), ids=list(HOSTILE_DATA))
def test_hostile_python_data_is_refused_with_a_spec_error(data: dict[Any, Any]) -> None:
    with pytest.raises(SpecError) as e:
        cnncalc.analyse(data)
    assert all(p.file == api.DICT_NAME for p in e.value.problems)
    assert all(len(p.message) < 300 for p in e.value.problems)


def test_numpy_style_numbers_are_plain_numbers() -> None:
    np = pytest.importorskip("numpy")
    data = {"input": np.array([3, 16, 16]).tolist(), "layers": [{"conv2d": {"out_channels": np.int64(4),
                                                                             "kernel_size": np.int32(3)}}]}
    plain = {"input": [3, 16, 16], "layers": [{"conv2d": {"out_channels": 4, "kernel_size": 3}}]}
    assert figures(cnncalc.analyse(data)) == figures(cnncalc.analyse(plain))


@pytest.mark.parametrize("source", [None, 3, 2.5, ["relu"], object()], ids=repr)
def test_other_objects_are_an_option_error(source: Any) -> None:
    with pytest.raises(OptionError):
        cnncalc.analyse(source)


# ---------------------------------------------------------------------------------------------
# options: as on the command line


OPTION_SETS = [
    ({}, []),
    ({"input_shape": "1x32x32"}, ["--input", "1x32x32"]),
    ({"input_shape": (1, 40, 36), "batch": 16}, ["--input", "1x40x36", "--batch", "16"]),
    ({"dtype": "bf16", "optimizer": "sgd"}, ["--dtype", "bf16", "--optimizer", "sgd"]),
    ({"amp": True, "optimizer": "adamw", "batch": 4}, ["--amp", "--optimizer", "adamw", "--batch", "4"]),
    ({"optimizer": "none", "dtype": "int8"}, ["--optimizer", "none", "--dtype", "int8"]),
    ({"convention": "fvcore"}, ["--convention", "fvcore"]),
    ({"depth": 1, "batch": 2}, ["--depth", "1", "--batch", "2"]),
]


@pytest.mark.parametrize(("kwargs", "args"), OPTION_SETS, ids=[" ".join(a) or "defaults" for _, a in OPTION_SETS])
def test_keyword_options_mean_what_the_flags_mean(kwargs: dict[str, Any], args: list[str]) -> None:
    cli_json = CliRunner().invoke(cli, ["report", "lenet5", "-f", "json", *args], catch_exceptions=False)
    assert cli_json.exit_code == 0, cli_json.output
    assert json.loads(cli_json.stdout) == json.loads(render.render_json(cnncalc.analyse("lenet5", **kwargs)))


BAD_OPTIONS = [
    {"batch": 0}, {"batch": True}, {"batch": 2.0}, {"dtype": "fp64"}, {"optimizer": "rmsprop"},
    {"input_shape": "3x"}, {"input_shape": "3x0x4"}, {"input_shape": (3, 0, 4)}, {"input_shape": (3, 2.0)},
    {"input_shape": (1, 2, 3, 4, 5)}, {"input_shape": ()}, {"input_shape": 3}, {"input_shape": (True, 8, 8)},
    {"depth": 0}, {"amp": True, "dtype": "fp32"}, {"convention": "nope"},
]


@pytest.mark.parametrize("kwargs", BAD_OPTIONS, ids=repr)
def test_bad_options_are_option_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(CnnCalcError) as e:
        cnncalc.analyse("lenet5", **kwargs)
    assert isinstance(e.value, OptionError), e.value


# ---------------------------------------------------------------------------------------------
# Report: str, repr, rich, HTML


@pytest.mark.parametrize("name", SMALL)
def test_str_is_the_terminal_table(name: str) -> None:
    report = cnncalc.analyse(name, batch=8)
    printed = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1"}).invoke(
        cli, ["report", name, "--batch", "8"], catch_exceptions=False)
    assert str(report) == printed.stdout
    assert "\x1b" not in str(report)


NAMES = ["plain", "new\nline", "\x1b[31mred", "ri\u202eght", "quote ' \" >", "[bold]markup[/bold]", "<b>x</b>"]


@pytest.mark.parametrize("name", NAMES, ids=repr)
def test_repr_is_one_line_naming_the_network(name: str) -> None:
    report = cnncalc.analyse({"name": name, "input": [3, 8, 8], "layers": ["relu"]})
    text = repr(report)
    assert "\n" not in text and "\x1b" not in text and "\u202e" not in text
    assert repr(name) in text
    assert f"{len(report.layers)} layers" in text


@pytest.mark.parametrize("width", [80, 120, 200])
@pytest.mark.parametrize("name", ["lenet5", "resnet18"])
def test_rich_shows_the_terminal_table_at_the_console_width(width: int, name: str) -> None:
    from rich.console import Console

    report = cnncalc.analyse(name)
    plain = Console(file=io.StringIO(), width=width, color_system=None)
    plain.print(report)
    assert plain.file.getvalue() == render.render_table(report, width=width, color=False)
    coloured = Console(file=io.StringIO(), width=width, force_terminal=True, color_system="standard")
    coloured.print(report)
    out = coloured.file.getvalue()
    assert "\x1b[" in out
    # the same text once the colours are taken off
    assert re.sub(r"\x1b\[[0-9;]*m", "", out) == render.render_table(report, width=width, color=False)


# control characters are left out: how the table shows them is render_table's to decide, and rich
# shows what render_table gives
@pytest.mark.parametrize("name", [n for n in NAMES if n.isprintable()], ids=repr)
def test_rich_does_not_read_user_text_as_markup(name: str) -> None:
    from rich.console import Console

    # layer names refuse control characters and "/", but may hold rich's brackets
    report = cnncalc.analyse({"name": name, "input": [3, 8, 8], "layers": [{"relu": {"name": "[red]x[b]"}}]})
    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(report)
    assert console.file.getvalue() == render.render_table(report, width=160, color=False)


_FRESH = """
import json, sys
import cnncalc
after_import = sorted(sys.modules)
report = cnncalc.analyse({"input": [3, 8, 8], "layers": ["relu"]})
after_analyse = sorted(sys.modules)
str(report)
after_str = sorted(sys.modules)
report._repr_html_()
print(json.dumps([after_import, after_analyse, after_str, sorted(sys.modules)]))
"""


def test_import_stays_light_and_each_view_loads_only_what_it_needs() -> None:
    done = subprocess.run([sys.executable, "-c", _FRESH], capture_output=True, text=True, cwd=ROOT, check=True)
    after_import, after_analyse, after_str, after_html = (set(m) for m in json.loads(done.stdout))
    assert not {"pydantic", "yaml", "rich", "cnncalc.spec", "cnncalc.render_html"} & after_import
    assert not {"rich", "cnncalc.render_html"} & after_analyse
    assert "rich" in after_str and "cnncalc.render_html" not in after_str
    assert "cnncalc.render_html" in after_html


def test_the_public_names_are_exported() -> None:
    for name in cnncalc.__all__:
        assert getattr(cnncalc, name) is not None
    assert cnncalc.Report is analysis.Report
    with pytest.raises(AttributeError):
        cnncalc.no_such_thing  # noqa: B018


def test_the_api_pages_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from docs_pages import blocks, page

    code = blocks(page("api.md"), "python")[0]
    (tmp_path / "net.yaml").write_text("input: [3, 8, 8]\nlayers: [relu]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    scope: dict[str, Any] = {}
    exec(compile(code, "docs/api.md", "exec"), scope)
    assert scope["report"].input_shape == (3, 64, 64)
    assert capsys.readouterr().out == str(scope["report"]) + "\n"
