"""Every example of the docs and the README that cnncalc can run, runs, and shows what cnncalc prints.

YAML examples are classified by what they are (a network, a fragment of one, a list of layers, a
budgets section or file, a CI configuration); an example of a new kind fails until it is classified
here. Command lines shown after ``$`` are run; where the page shows their whole output, it must be
exactly what cnncalc prints at the page's width.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from docs_pages import DOCS, README, fences, page, pages, section, source, table

import cnncalc
from cnncalc.cli import cli
from cnncalc.layers import REGISTRY, lookup

NAMES = ["README.md", *(p.name for p in pages())]
# the width of the terminal the console examples were printed at
CONSOLE_WIDTH = 120
# the input a fragment of a network (layers without an input) is run on
FRAGMENT_INPUT = [3, 224, 224]


def examples(lang: str) -> list[Any]:
    """pytest params of every code block of a language, with an id naming its page and place."""
    out = []
    for name in NAMES:
        found = [body for language, body in fences(page(name)) if language == lang]
        out += [pytest.param(name, body, id=f"{name} #{i + 1}") for i, body in enumerate(found)]
    return out


def kind(data: Any) -> str:
    """What a YAML example is."""
    if isinstance(data, list) and all(isinstance(item, dict) and len(item) == 1 for item in data):
        return "layers"
    if not isinstance(data, dict):
        return "comment" if data is None else "unknown"
    if "jobs" in data:
        return "workflow"
    if "repos" in data:
        return "pre-commit"
    if data and all(str(key).endswith((".yaml", ".yml", ".json")) for key in data):
        return "budgets file"
    if "budgets" in data and data.get("layers") == ["..."]:
        return "budgets section"
    if "layers" in data:
        return "network" if "input" in data else "fragment"
    return "unknown"


@pytest.mark.parametrize(("name", "text"), examples("yaml"))
def test_yaml_example(name: str, text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = yaml.safe_load(text)
    what = kind(data)
    assert what != "unknown", f"a YAML example of {name} is of no kind this test knows: classify it\n{text}"
    if what == "network":
        report = cnncalc.analyse(cnncalc.load("example.yaml", text=text))
        assert len(report.layers) >= len(data["layers"])
    elif what == "fragment":
        report = cnncalc.analyse(cnncalc.load("example.yaml", text=f"input: {FRAGMENT_INPUT}\n{text}"))
        assert len(report.layers) >= len(data["layers"])
    elif what == "layers":
        for item in data:
            ((typ, args),) = item.items()
            layer = lookup(typ)
            assert layer is not None, typ
            layer.model_validate(args)
    elif what == "budgets section":
        # the section's limits, checked on a network that has it: each limit is a row of the check
        net = tmp_path / "net.yaml"
        net.write_text(text.replace("layers: [...]", "layers: [relu]"), encoding="utf-8")
        res = CliRunner().invoke(cli, ["check", str(net), "--format", "json"], catch_exceptions=False)
        assert res.exit_code in (0, 1), res.stderr
        limits = {row["limit"] for row in __import__("json").loads(res.stdout)["networks"][0]["limits"]}
        assert limits == {k for k in data["budgets"] if k.startswith(("max_", "min_"))}
    elif what == "budgets file":
        # the file as the page places it (ci/budgets.yaml in a checkout), over the networks it names
        (tmp_path / ".git").mkdir()
        (tmp_path / "ci").mkdir()
        (tmp_path / "ci" / "budgets.yaml").write_text(text, encoding="utf-8")
        (tmp_path / "models" / "mobile").mkdir(parents=True)
        (tmp_path / "models" / "mobile" / "net.yaml").write_text("input: [3, 8, 8]\nlayers: [relu]\n", encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        # the command the workflow on the same page runs
        res = CliRunner().invoke(cli, ["check", "--budgets", "ci/budgets.yaml", "--format", "github"],
                                 catch_exceptions=False)
        assert res.exit_code == 0, res.output
        assert "cnncalc check --budgets ci/budgets.yaml --format github" in page("budgets.md")
    # workflows and pre-commit configurations are not cnncalc's to run (test_check_files checks the
    # pre-commit hook's); a comment-only block is the schema modeline


def command_lines() -> list[Any]:
    """Every ``$ cnncalc ...`` line of a console block, with the output shown under it."""
    out = []
    for name in NAMES:
        for lang, body in fences(page(name)):
            if lang != "console":
                continue
            for m in re.finditer(r"^\$ (cnncalc .*)\n((?:(?!\$ ).*\n)*)", body, re.M):
                out.append(pytest.param(name, m.group(1), m.group(2), id=f"{name}: {m.group(1)}"))
    return out


@pytest.mark.parametrize(("name", "line", "shown"), command_lines())
def test_command_line(name: str, line: str, shown: str) -> None:
    args = shlex.split(line)[1:]
    res = CliRunner(env={"COLUMNS": str(CONSOLE_WIDTH)}).invoke(cli, args, catch_exceptions=False)
    assert res.exit_code in (0, 1), res.stderr
    if not shown.strip():
        return  # the page shows the output rendered (Markdown), not as printed
    lines = shown.rstrip("\n").splitlines()
    if not any(re.match(r"^│ +\.\.\. +│", s) for s in lines):
        assert res.stdout.rstrip("\n") == shown.rstrip("\n")
    else:
        # a row of `...` elides layers, and the widths of the table's columns with them: the
        # lines around the table are still exactly as printed
        def text(out: list[str]) -> list[str]:
            return [s for s in out if not s.startswith(tuple("┏┃┡│├└"))]

        assert text(res.stdout.rstrip("\n").splitlines()) == text(lines)


def plain_command_lines() -> list[Any]:
    """Concrete ``cnncalc ...`` lines of blocks without a language (synopses, with [OPTIONS], are not)."""
    out = []
    for name in NAMES:
        for lang, body in fences(page(name)):
            if lang:
                continue
            for line in body.splitlines():
                if line.startswith("cnncalc ") and not re.search(r"[\[|…]|\.\.\.|\bNET\b|\bOLD\b", line):
                    out.append(pytest.param(line.split("#")[0].strip(), id=f"{name}: {line}"))
    return out


@pytest.mark.parametrize("line", plain_command_lines())
def test_plain_command_line(line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = shlex.split(line)[1:]
    # a network given as MODULE:CALLABLE is imported with PyTorch, from that module
    for arg in args:
        if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", arg):
            pytest.importorskip("torch")
            pytest.importorskip(arg.split(":")[0])
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.stderr


def test_the_conventions_example_prints_the_figure_it_names() -> None:
    (line,) = [p.values[0] for p in plain_command_lines() if "--convention" in p.values[0]]
    comment = next(s for s in source("conventions.md").splitlines() if s.startswith(line))
    figure = re.search(r"MACs ([\d,]+)", comment)
    assert figure
    res = CliRunner().invoke(cli, [*shlex.split(line)[1:], "--format", "json"], catch_exceptions=False)
    assert f"{__import__('json').loads(res.stdout)['totals']['macs']:,}" == figure.group(1)


def test_the_streams_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (code,) = [b for b in fences(page("outputs.md")) if b[0] == "python"]
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "net.yaml").write_text("input: [3, 8, 8]\nlayers: [relu]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    scope: dict[str, Any] = {}
    exec(compile(code[1], "docs/outputs.md", "exec"), scope)
    assert scope["result"].batch == 32


@pytest.mark.torch
def test_the_export_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    (code,) = [b for b in fences(page("export.md")) if b[0] == "python"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    res = CliRunner().invoke(cli, ["export", "lenet5", "--to", "pytorch", "-o", "model.py"], catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    scope: dict[str, Any] = {}
    exec(compile(code[1], "docs/export.md", "exec"), scope)
    assert tuple(scope["out"].shape) == (8, 10)


def test_readme_is_a_front_door() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.encode()) <= 15 * 1024
    # the two commands at the top, exactly as .ci/run runs them
    first = re.search(r"```sh\n(.*?)```", text, re.S)
    assert first and first.group(1).splitlines()[:2] == [
        'pip install . && cnncalc report lenet5          # install and run',
        'pip install ".[test]" && python -m pytest       # install the test extra and run the tests']
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pip install --quiet .\ncnncalc report lenet5" in ci
    assert 'python -m pip install --quiet ".[test]"\npython -m pytest' in ci


def test_readme_links_reach_pages() -> None:
    for target in re.findall(r"\]\((docs/[^)#]+)", README.read_text(encoding="utf-8")):
        assert (README.parent / target).is_file(), target


def test_every_page_is_in_the_nav() -> None:
    config = (DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8")
    nav = set(re.findall(r"^\s+- (?:[^:\n]+: )?(\S+\.md)$", config, re.M))
    # (a nav entry without its page fails `mkdocs build --strict`)
    assert {p.name for p in pages()} <= nav


def test_every_table_marker_is_expanded() -> None:
    hooks = __import__("docs_pages").hooks()
    for name in NAMES:
        assert not hooks.MARKER.search(page(name)), name
    # and each table of the core is on some page (the import's mapping table is on its own page)
    used = {m for name in NAMES for m in hooks.MARKER.findall(source(name))}
    assert {"layer-types", "layer-rules", "conventions", "exit-codes", "networks"} <= used <= set(hooks.TABLES)


def test_an_unknown_marker_fails() -> None:
    hooks = __import__("docs_pages").hooks()
    with pytest.raises(KeyError, match="no-such-table"):
        hooks.expand("text\n<!-- cnncalc: no-such-table -->\n")


def test_rst_tables_become_markdown_tables() -> None:
    hooks = __import__("docs_pages").hooks()
    text = "Before:\n\n=====  ==\ntype   n\n=====  ==\nrelu   1\ngelu   5 or 9\n=====  ==\n\nAfter ``x``."
    assert hooks.rst_to_markdown(text) == (
        "Before:\n\n| type | n |\n| --- | --- |\n| relu | 1 |\n| gelu | 5 or 9 |\n\nAfter `x`.")


def test_the_layer_rules_come_from_every_family_module() -> None:
    import importlib

    from cnncalc.layers import REGISTRY

    hooks = __import__("docs_pages").hooks()
    rules = section(page("counting.md"), "## The rules of each layer family")
    for module in {cls.__module__ for cls in REGISTRY.values()}:
        title = (importlib.import_module(module).__doc__ or "").strip().splitlines()[0]
        assert f"### {module.rsplit('.', 1)[1]}\n\n{hooks.rst_to_markdown(title)}\n" in rules, module


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_layer_type_is_in_the_docs(name: str) -> None:
    # exactly the type's name, as a code span: `relu` is not satisfied by `relu6`
    rules = section(page("counting.md"), "## The rules of each layer family")
    family = section(rules, "### " + REGISTRY[name].__module__.rsplit(".", 1)[1])
    listed = re.search(r"^Types: (.*)\. Source: ", family, re.M)
    assert listed and f"`{name}`" in re.findall(r"`[^`]+`", listed.group(1)), \
        f"the counting rules of its family do not list {name}"
    assert name in [row[0].strip("`") for row in table(page("format.md"), "type")], \
        f"the format page's table of layer types does not list {name}"
