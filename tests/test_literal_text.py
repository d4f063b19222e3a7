"""Every user-supplied string is shown literally, in every output format of every command.

A class of hostile strings (rich markup, terminal escapes, bidi overrides, spreadsheet formulas,
Markdown and HTML syntax, characters XML cannot hold, very long names, emoji outside the BMP) is
put into the network name, into a block name (which the layers the block makes carry), into a
layer name where the format allows it, and into the file name. Each output must:

* human formats (table, Markdown, explain, fit, check table and annotations, error lines): hold
  the string with its control characters written as visible escapes, and no raw control
  character, as a terminal would act on it (the expectations are written here from Unicode's
  categories, not from cnncalc's helper);
* Markdown: render (markdown-it, GitHub-flavoured tables) to the same structure as for a plain
  name, with the string's text shown;
* JSON: give back the exact string; CSV: give back the exact string, with a formula start
  neutralised by a leading ``'`` (OWASP); JUnit: parse as XML.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt
from test_text import OWASP_FORMULA_STARTS as FORMULA
from test_text import acts_on_a_terminal, shown

from cnncalc import analysis, spec
from cnncalc.cli import cli
from cnncalc.errors import CnnCalcError

HOSTILE = [
    pytest.param("[bold]x[/]", id="markup"),
    pytest.param("model [/tmp]", id="closing-tag"),
    pytest.param("ResNet-50 [torchvision/v2]", id="bracketed"),
    pytest.param("[link=https://e.x]y[/link]", id="hyperlink"),
    pytest.param("[reverse]y", id="reverse"),
    pytest.param("\x1b[31mred\x1b[0m", id="ESC"),
    pytest.param("ding\x07", id="BEL"),
    pytest.param("abc\u202edef", id="bidi-override"),
    pytest.param("=1+2", id="formula-eq"),
    pytest.param("@SUM(A1)", id="formula-at"),
    pytest.param("-2+3", id="formula-minus"),
    pytest.param("+x", id="formula-plus"),
    pytest.param("\tx", id="tab-start"),
    pytest.param("\rx", id="CR-start"),
    pytest.param("a|b", id="pipe"),
    pytest.param("`tick` ``two``", id="backticks"),
    pytest.param("<script>alert(1)</script>", id="script"),
    pytest.param("*_em_* ~~s~~ $m$ &amp; #", id="markdown-syntax"),
    pytest.param("[a](http://e.x) ![i](x)", id="markdown-link"),
    pytest.param("back\\slash\\", id="backslash"),
    pytest.param("nul\x00vt\x0bnon\ufffe", id="xml-invalid"),
    pytest.param("line\nbreak", id="newline"),
    pytest.param("W" * 250 + "[b]", id="very-long"),
    pytest.param("\U0001f9e0 net \U0001f680", id="emoji"),
]

#: A plain name: what every output looks like when no name needs an escape.
PLAIN = "plain"

# ---------------------------------------------------------------------------------------------
# what a person must see, from Unicode's own tables (tests/test_text.py)


def raw_controls(output: str) -> list[str]:
    """The characters a terminal would act on, other than the line breaks of the output itself."""
    return [c for c in output if c != "\n" and acts_on_a_terminal(c)]


def neutralised(text: str) -> str:
    """A CSV cell a spreadsheet shows as text (OWASP): a formula start gets a ``'`` before it."""
    return "'" + text if text.startswith(FORMULA) else text


# ---------------------------------------------------------------------------------------------
# the hostile networks


def dumps(data: Any) -> str:
    """ASCII JSON, but a character outside the BMP written as it is: cnncalc reads JSON as YAML,
    which does not join the two escapes of a surrogate pair (``\\ud83e\\udde0``)."""
    pair = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})")

    def join(m: re.Match[str]) -> str:
        high, low = int(m[1], 16), int(m[2], 16)
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))  # UTF-16 decoding

    return pair.sub(join, json.dumps(data))


def write_json(path: Path, data: Any) -> None:
    path.write_text(dumps(data), encoding="utf-8")


def file_name(text: str) -> str:
    """A file name holding ``text``: what a file system refuses (/ and NUL) replaced, 200 bytes at most."""
    name = text.replace("/", "_").replace("\x00", "_")
    while len(name.encode()) > 200:
        name = name[:-1]
    return name + ".json"


def block_name(text: str) -> str:
    """``text`` as a block name, which follows the rule of layer names: no ``.`` (it would start a
    level of the names the block gives its layers) or ``/``, no leading ``$``, nothing unprintable,
    no surrounding spaces, at most 200 characters. The rest (markup, formulas, bidi text) stays."""
    name = "".join(c if c.isprintable() else "_" for c in text.replace(".", "_").replace("/", "_"))
    name = name.strip()[:200].strip()
    return "_" + name[1:] if name.startswith("$") else name or "_"


def description(name: str, *, layer_name: str | None, wider: bool = False) -> dict[str, Any]:
    """A small graph: a block named after ``name`` (its layers ``<name>1.conv1`` ..., one a merge), a named layer."""
    body = [{"conv2d": {"out_channels": 4, "kernel_size": 3, "padding": 1}}, "relu",
            {"add": {"from": ["conv1", "relu1"]}}]
    layers: list[Any] = [block_name(name), {"conv2d": {"out_channels": 4, "kernel_size": 3, "padding": 1,
                                           **({"name": layer_name} if layer_name else {})}},
                         {"conv2d": {"out_channels": 6 if wider else 4, "kernel_size": 3}}, "flatten",
                         {"linear": {"out_features": 3}}]
    return {"name": name, "input": [3, 8, 8], "blocks": {block_name(name): {"layers": body}}, "layers": layers}


@dataclass
class Case:
    """One hostile string and the network files that carry it."""

    text: str
    path: Path
    wider: Path
    names: list[str]  # the layer names that hold the string
    merge_inputs: tuple[str, ...]  # the inputs of the merge, one of them a name holding the string
    twin: Path  # the same network with PLAIN for the string
    twin_wider: Path


def write_case(folder: Path, text: str) -> Case:
    folder.mkdir(parents=True, exist_ok=True)
    path, wider = folder / file_name(text), folder / ("wider-" + file_name(text))
    layer_name: str | None = text
    try:  # as a layer name too, where the format allows it (tests/test_hostile_input.py: where not)
        spec.load("probe.json", text=dumps(description(text, layer_name=text)))
    except CnnCalcError:
        layer_name = None
    write_json(path, description(text, layer_name=layer_name))
    write_json(wider, description(text, layer_name=layer_name, wider=True))
    twin, twin_wider = folder / "twin" / "plain.json", folder / "twin" / "wider-plain.json"
    twin.parent.mkdir()
    write_json(twin, description(PLAIN, layer_name=layer_name and PLAIN))
    write_json(twin_wider, description(PLAIN, layer_name=layer_name and PLAIN, wider=True))
    rows = analysis.analyse(spec.load(str(path))).layers
    names = [r.name for r in rows if text in r.name or block_name(text) in r.name]
    assert len(names) >= 2 + (layer_name is not None)
    merge = next(r for r in rows if r.type == "add")
    return Case(text, path, wider, names, merge.inputs, twin, twin_wider)


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    root = tmp_path_factory.mktemp("literal")
    return {p.values[0]: write_case(root / str(i), p.values[0]) for i, p in enumerate(HOSTILE)}


def cli_run(*args: str | Path, columns: int = 1000) -> Any:
    """The CLI in-process; a terminal this wide (COLUMNS), so that no table cell wraps a long name."""
    return CliRunner(env={"COLUMNS": str(columns)}).invoke(cli, [str(a) for a in args], catch_exceptions=False)


def human(res: Any, case: Case, *, network: bool = True, layers: bool = True, code: int = 0) -> None:
    """A human format: the exit code, no raw control character, and each string shown escaped."""
    assert res.exit_code == code, res.stderr
    assert res.stderr == ""
    assert raw_controls(res.stdout) == []
    if network:
        assert shown(case.text) in res.stdout
    for name in case.names if layers else ():
        assert shown(name) in res.stdout


# ---------------------------------------------------------------------------------------------
# Markdown: rendered, the structure of a plain name's and the string's text


_MD = MarkdownIt("gfm-like", {"linkify": False}).disable("linkify")


class _Elements(HTMLParser):
    """The tags of an HTML document in order, and the text of each heading, cell and list item."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.texts: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)
        if tag in ("h3", "h4", "td", "li", "p"):
            self._open.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h3", "h4", "td", "li", "p") and self._open:
            self.texts.append(self._open.pop())

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1] += data


def markdown_elements(text: str) -> _Elements:
    parser = _Elements()
    parser.feed(_MD.render(text))
    return parser


def check_markdown(res: Any, twin: Any, case: Case) -> _Elements:
    """Rendered, the output has the elements of its twin's (PLAIN for the string), and each
    element's text is the twin's with the string shown where the twin has PLAIN."""
    assert res.exit_code == 0, res.stderr
    assert twin.exit_code == 0, twin.stderr
    assert raw_controls(res.stdout) == []
    got, want = markdown_elements(res.stdout), markdown_elements(twin.stdout)
    assert got.tags == want.tags  # no link, emphasis, code, HTML or table cell made by a name
    texts = [t.replace(shown(case.text), PLAIN).replace(shown(block_name(case.text)), PLAIN) for t in got.texts]
    assert texts == want.texts
    return got


# ---------------------------------------------------------------------------------------------
# report

hostile = pytest.mark.parametrize("text", HOSTILE)



@hostile
@pytest.mark.parametrize("view", [(), ("--memory",)], ids=["layers", "memory"])
def test_report_table(cases: dict[str, Case], text: str, view: tuple[str, ...]) -> None:
    res = cli_run("report", cases[text].path, *view)
    human(res, cases[text])


@hostile
def test_report_table_narrow_terminal(cases: dict[str, Case], text: str) -> None:
    """At 60 columns long names wrap, but nothing crashes and no control character gets through."""
    res = cli_run("report", cases[text].path, columns=60)
    assert res.exit_code == 0, res.stderr
    assert raw_controls(res.stdout) == []


@hostile
def test_report_json(cases: dict[str, Case], text: str) -> None:
    case = cases[text]
    res = cli_run("report", case.path, "-f", "json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["network"]["name"] == text
    assert data["network"]["source"] == str(case.path)
    names = [row["name"] for row in data["layers"]]
    assert set(case.names) <= set(names)
    assert any(set(case.names) & set(row["inputs"]) for row in data["layers"])


@hostile
@pytest.mark.parametrize("memory", [(), ("--memory",)], ids=["layers", "memory"])
def test_report_csv(cases: dict[str, Case], text: str, memory: tuple[str, ...]) -> None:
    case = cases[text]
    res = cli_run("report", case.path, "-f", "csv", *memory)
    assert res.exit_code == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout, newline="")))
    rows_by_name = {r["name"]: r for r in rows}
    for name in case.names:
        row = rows_by_name[neutralised(name)]  # exactly the name, a formula start neutralised
        assert int(row["params"]) >= 0 and int(row["macs"]) >= 0  # numbers stay numbers
    for row in rows:
        for column in ("name", "type", "inputs"):
            assert not row[column].startswith(FORMULA)
    merge = next(r for r in rows if r["type"] == "add")
    assert merge["inputs"] == neutralised(";".join(case.merge_inputs))


@hostile
@pytest.mark.parametrize("memory", [(), ("--memory",)], ids=["layers", "memory"])
def test_report_markdown(cases: dict[str, Case], text: str, memory: tuple[str, ...]) -> None:
    case = cases[text]
    args = ("-f", "markdown", *memory)
    got = check_markdown(cli_run("report", case.path, *args), cli_run("report", case.twin, *args), case)
    heading = f"{shown(text)}: memory" if memory else shown(text)
    assert got.texts[0] == heading
    for name in case.names:
        assert shown(name) in got.texts  # a table cell


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text += data


@hostile
def test_report_html(cases: dict[str, Case], text: str, tmp_path: Path) -> None:
    """The HTML page has the plain name's elements, and its text holds the string (exact, or shown)."""
    pages = []
    for path in (cases[text].path, cases[text].twin):
        out = tmp_path / "report.html"
        res = cli_run("report", path, "--html", out, "-f", "json")
        assert res.exit_code == 0, res.stderr
        page = _Html()
        page.feed(out.read_bytes().decode("utf-8"))  # every character as written, a lone CR too
        pages.append(page)
    got, plain = pages
    assert got.tags == plain.tags
    assert text in got.text or shown(text) in got.text


@hostile
@pytest.mark.parametrize("fmt", ["json", "csv", "markdown"])
def test_report_depth_shows_the_block_as_written(cases: dict[str, Case], text: str, fmt: str) -> None:
    """With --depth, a block's row has the block's name as its type, as the file writes it."""
    case, block = cases[text], block_name(text)
    res = cli_run("report", case.path, "--depth", "1", "-f", fmt)
    assert res.exit_code == 0, res.stderr
    if fmt == "json":
        assert block in [row["type"] for row in json.loads(res.stdout)["layers"]]
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(res.stdout, newline="")))
        assert neutralised(block) in [row["type"] for row in rows]
        assert all(not row["type"].startswith(FORMULA) for row in rows)
    else:
        got = check_markdown(res, cli_run("report", case.twin, "--depth", "1", "-f", fmt), case)
        assert shown(block) in got.texts


# ---------------------------------------------------------------------------------------------
# explain


@hostile
def test_explain_text(cases: dict[str, Case], text: str) -> None:
    human(cli_run("explain", cases[text].path), cases[text], network=False)


@hostile
def test_explain_markdown(cases: dict[str, Case], text: str) -> None:
    case = cases[text]
    got = check_markdown(*(cli_run("explain", p, "-f", "markdown") for p in (case.path, case.twin)), case)
    for name in case.names:
        assert any(t.startswith(shown(name) + " — ") for t in got.texts)  # its heading


# ---------------------------------------------------------------------------------------------
# check


@hostile
@pytest.mark.parametrize("limit,code", [(("--max-params", "1G"), 0), (("--max-params", "1"), 1)], ids=["pass", "fail"])
def test_check_table(cases: dict[str, Case], text: str, limit: tuple[str, str], code: int) -> None:
    human(cli_run("check", cases[text].path, *limit), cases[text], layers=False, code=code)


@hostile
@pytest.mark.parametrize("limit,code", [(("--max-params", "1G"), 0), (("--max-params", "1"), 1)], ids=["pass", "fail"])
def test_check_json(cases: dict[str, Case], text: str, limit: tuple[str, str], code: int) -> None:
    case = cases[text]
    res = cli_run("check", case.path, "-f", "json", *limit)
    assert res.exit_code == code, res.stderr
    data = json.dumps(json.loads(res.stdout))
    assert json.dumps(text) in data  # the exact string, wherever the object holds it
    assert json.dumps(str(case.path)) in data


def gh_unescape(text: str) -> str:
    """The text GitHub shows for a workflow-command value (%25 %0D %0A %3A %2C)."""
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


@hostile
def test_check_github(cases: dict[str, Case], text: str) -> None:
    case = cases[text]
    res = cli_run("check", case.path, "-f", "github", "--max-params", "1")
    assert res.exit_code == 1, res.stderr
    assert raw_controls(res.stdout) == []
    lines = res.stdout.splitlines()
    assert len(lines) == 2  # one annotation: a value never breaks its line
    props, message = re.fullmatch(r"::error (.*?)::(.*)", lines[0]).groups()  # type: ignore[union-attr]
    fields = dict(p.split("=", 1) for p in props.split(","))
    assert gh_unescape(fields["file"]) == shown(str(case.path))
    assert gh_unescape(message).startswith(shown(text) + ": params ")


@hostile
@pytest.mark.parametrize("limit,code", [(("--max-params", "1G"), 0), (("--max-params", "1"), 1)], ids=["pass", "fail"])
def test_check_junit(cases: dict[str, Case], text: str, limit: tuple[str, str], code: int) -> None:
    case = cases[text]
    res = cli_run("check", case.path, "-f", "junit", *limit)
    assert res.exit_code == code, res.stderr
    root = ET.fromstring(res.stdout.encode("utf-8"))  # XML 1.0 holds it
    suite = root.find("testsuite")
    assert suite is not None
    xml_shown = shown(text).replace("\ufffe", "\\ufffe")  # no XML 1.0 document can hold U+FFFE
    assert suite.get("name") == xml_shown
    assert suite.get("file") == shown(str(case.path)).replace("\ufffe", "\\ufffe")
    failure = root.find("testsuite/testcase/failure")
    assert (failure is None) == (code == 0)
    if failure is not None:
        assert failure.get("message", "").startswith(xml_shown + ": params ")


# ---------------------------------------------------------------------------------------------
# diff, sweep, fit

@hostile
def test_diff_table(cases: dict[str, Case], text: str) -> None:
    case = cases[text]
    human(cli_run("diff", case.path, case.wider), case, layers=False)


@hostile
def test_diff_json(cases: dict[str, Case], text: str) -> None:
    case = cases[text]
    res = cli_run("diff", case.path, case.wider, "-f", "json")
    assert res.exit_code == 0, res.stderr
    data = json.dumps(json.loads(res.stdout))
    assert json.dumps(text) in data


@hostile
def test_diff_markdown(cases: dict[str, Case], text: str) -> None:
    case = cases[text]
    got = check_markdown(*(cli_run("diff", old, new, "-f", "markdown", "--all")
                           for old, new in ((case.path, case.wider), (case.twin, case.twin_wider))), case)
    assert got.texts[0] == f"{shown(text)} → {shown(text)}"
    for name in case.names:
        assert shown(name) in got.texts


@hostile
@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_sweep(cases: dict[str, Case], text: str, fmt: str) -> None:
    case = cases[text]
    args = ("sweep", case.path, "--batch", "1,2", "-f", fmt)
    res = cli_run(*args)
    if fmt == "json":
        assert res.exit_code == 0, res.stderr
        assert json.dumps(text) in json.dumps(json.loads(res.stdout))
    elif fmt == "csv":
        assert res.exit_code == 0, res.stderr
        rows = list(csv.DictReader(io.StringIO(res.stdout, newline="")))
        assert [int(r["batch"]) for r in rows] == [1, 2]
    elif fmt == "markdown":
        got = check_markdown(res, cli_run("sweep", case.twin, "--batch", "1,2", "-f", fmt), case)
        assert got.texts[0].startswith(shown(text) + " · ")
    else:
        human(res, case, layers=False)


@hostile
def test_fit(cases: dict[str, Case], text: str) -> None:
    case = cases[text]
    human(cli_run("fit", case.path, "--memory", "1GiB"), case, layers=False)
    res = cli_run("fit", case.path, "--memory", "1GiB", "-f", "json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["network"] == text


# ---------------------------------------------------------------------------------------------
# error messages on stderr: file names, names and types quoted as written, escaped


def error_lines(res: Any) -> list[str]:
    assert res.exit_code == 2
    assert res.stdout == ""
    assert raw_controls(res.stderr) == []
    lines = res.stderr.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines)
    return lines


@hostile
def test_error_quotes_an_unknown_type_and_the_file(text: str, tmp_path: Path) -> None:
    """An unknown layer type is quoted as written, in a message that names the file as it is called."""
    path = tmp_path / file_name(text)
    write_json(path, {"name": text, "input": [3, 8, 8], "layers": [{text: None}]})
    (line,) = error_lines(cli_run("report", path))
    assert line.startswith(f"error: {shown(str(path))}:1:")
    assert f"'{shown(text)}'" in line


@hostile
def test_error_names_the_layer_as_written(text: str, tmp_path: Path) -> None:
    """A layer of a block whose kernel is too large is named in the message as the block names it."""
    path = tmp_path / "net.json"
    block = block_name(text)
    body = {"input": [3, 8, 8], "blocks": {block: {"layers": [{"conv2d": {"out_channels": 4, "kernel_size": 30}}]}},
            "layers": [block]}
    write_json(path, body)
    (line,) = error_lines(cli_run("report", path))
    assert f"layer '{shown(block)}1.conv1' (conv2d): " in line


def test_error_names_an_invalid_layer_name_escaped(tmp_path: Path) -> None:
    """A layer name the format refuses (a control character in it) is quoted escaped."""
    path = tmp_path / "net.json"
    write_json(path, {"input": [3, 8, 8], "layers": [{"relu": {"name": "a\x1b[2Jb"}}]})
    (line,) = error_lines(cli_run("report", path))
    assert "layer 'a\\x1b[2Jb' (relu)" in line


@hostile
def test_budgets_file_patterns_and_keys_are_quoted_escaped(cases: dict[str, Case], text: str, tmp_path: Path) -> None:
    """A budgets-file glob that matches nothing is warned about, and an unknown key refused, as written."""
    net = tmp_path / "net.json"
    net.write_bytes(cases[text].twin.read_bytes())
    budgets = tmp_path / "budgets.json"
    write_json(budgets, {text + ".nomatch": {"max_params": "1G"}, "net.json": {"max_params": "1G"}})
    res = cli_run("check", "--budgets", budgets)
    assert raw_controls(res.stderr) == []
    if "\0" in text:  # no path holds a NUL: the glob is refused at its place, quoted as written
        assert res.exit_code == 2, res.stderr
        (line,) = error_lines(res)
        assert line.startswith(f"error: {shown(str(budgets))}:1:") and f"'{shown(text)}.nomatch'" in line
    else:
        assert res.exit_code == 0, res.stderr
        assert res.stderr == f"warning: {shown(str(budgets))}:1: '{shown(text)}.nomatch' matches no file\n"
    write_json(budgets, {"net.json": {"max_params": "1G", text: 3}})
    (line,) = error_lines(cli_run("check", "--budgets", budgets))
    assert line.endswith(f": unknown argument '{shown(text)}'")
