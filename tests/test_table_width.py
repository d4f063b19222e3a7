"""The report table at any width: columns by priority, names whole (wrapped at dots), user text literal.

Every table here is parsed back: its rows are found by the output column (never wrapped, always
shown), the name fragments of a row are joined, and the names must come back in full, in order.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import analyse_text, network_text
from rich.cells import cell_len
from zoo_table import ZOO

import cnncalc
from cnncalc import spec
from cnncalc.cli import cli
from cnncalc.columns import LAYER, MEMORY, parse_columns
from cnncalc.errors import OptionError
from cnncalc.render import report as render_report
from cnncalc.render import table
from cnncalc.report import Report
from cnncalc.text import printable

WIDTHS = (80, 100, 120, 200)
BUNDLED = sorted(spec.bundled())
LAYER_HEADERS = {"index": "#", "name": "layer", "type": "type", "output": "output", "params": "params",
                 "macs": "MACs", "flops": "FLOPs", "rf": "RF", "jump": "jump", "memory": "memory"}
MEMORY_HEADERS = {"index": "#", "name": "layer", "type": "type", "output": "output", "saved": "saved",
                  "peak": "at peak", "read": "read", "written": "written", "intensity": "FLOPs/B"}
ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def _cells(line: str, sep: str) -> list[str]:
    return [c.strip() for c in line.split(sep)[1:-1]]


def parse(text: str) -> tuple[list[str], list[list[list[str]]]]:
    """(headings, rows): each row a list of its lines, each line its cells, as drawn."""
    lines = text.splitlines()
    heading = next(line for line in lines if line.startswith("┃"))
    body_start = next(i for i, line in enumerate(lines) if line.startswith("┡")) + 1
    body_end = next(i for i, line in enumerate(lines) if line.startswith(("├", "└")) and i > body_start - 1)
    headings = _cells(heading, "┃")
    # a column never wrapped: a row starts where it has text
    out = headings.index(next(h for h in ("output", "#", "MACs", "FLOPs", "RF", "saved", "read",
                                                    "written", "FLOPs/B") if h in headings))
    rows: list[list[list[str]]] = []
    for line in lines[body_start:body_end]:
        cells = _cells(line, "│")
        assert len(cells) == len(headings), line
        if cells[out]:
            rows.append([cells])
        else:
            rows[-1].append(cells)
    return headings, rows


def names_of(text: str) -> tuple[list[str], list[list[str]]]:
    """The layer names of a table, wrapped lines joined, and the fragments of each."""
    headings, rows = parse(text)
    col = headings.index("layer")
    fragments = [[line[col] for line in row if line[col]] for row in rows]
    return ["".join(f) for f in fragments], fragments


def check_table(text: str, report: Report, width: int, kept: list[str], *, memory: bool = False) -> list[str]:
    """No line wider than ``width``; every name whole and in order, broken only at dots; kept columns shown."""
    for line in text.splitlines():
        assert cell_len(line) <= width, line
    headings, _ = parse(text)
    assert set(kept) <= set(headings), headings
    names, fragments = names_of(text)
    assert names == [printable(r.name) for r in report.layers]
    for name, parts in zip(report.layers, fragments):
        pieces = name.name.split(".")
        if max(map(len, pieces)) + 1 <= 12:  # pieces that fit a name column: never cut inside
            assert all(p.endswith(".") for p in parts[:-1]), parts
    return headings


# ---------------------------------------------------------------------------------------------
# every bundled network at every width


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_networks_fit_every_width(name: str, width: int) -> None:
    report = cnncalc.analyse(cnncalc.load(name))
    text = render_report.render_table(report, width=width, color=False)
    check_table(text, report, width, ["layer", "output", "params", "MACs"])


def test_the_layer_name_comes_before_the_minor_columns() -> None:
    # LeNet-5's names are short: the table keeps every name on one line at 80 columns
    report = cnncalc.analyse(cnncalc.load("lenet5"))
    text = render_report.render_table(report, width=80, color=False)
    _, rows = parse(text)
    assert all(len(row) == 1 for row in rows)
    headings, _ = parse(text)
    assert headings[:3] == ["#", "layer", "type"]
    # the bar, jump and FLOPs columns give way first
    assert "% MACs" not in headings and "jump" not in headings and "FLOPs" not in headings


@pytest.mark.parametrize("name", ["resnet50", "densenet121", "inception_v3"])
def test_more_width_never_shows_fewer_columns(name: str) -> None:
    report = cnncalc.analyse(cnncalc.load(name))
    shown = [len(parse(render_report.render_table(report, width=w))[0]) for w in (60, 80, 100, 120, 160, 200, 260)]
    assert shown == sorted(shown)
    assert shown[-1] == len(LAYER.names)  # at its full width, every column


# ---------------------------------------------------------------------------------------------
# random networks with long dotted names


def _name(rng: random.Random) -> str:
    # a letter first (YAML would read 37e7 as a number), and unique among its siblings: a running
    # count at the end
    _name.count += 1  # type: ignore[attr-defined]
    body = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz_0123456789") for _ in range(rng.randint(0, 7)))
    return rng.choice("abcdefghijklmnopqrstuvwxyz") + body + str(_name.count)  # type: ignore[attr-defined]


_name.count = 0  # type: ignore[attr-defined]


def _items(rng: random.Random, depth: int) -> list[Any]:
    items: list[Any] = []
    for _ in range(rng.randint(1, 4)):
        if depth < 6 and rng.random() < 0.5:
            items.append({"sequential": {"name": _name(rng), "layers": _items(rng, depth + 1)}})
        elif rng.random() < 0.5:
            items.append({"conv2d": {"out_channels": rng.randint(1, 8), "kernel_size": 1, "name": _name(rng)}})
        else:
            items.append({rng.choice(["relu", "batchnorm2d"]): {"name": _name(rng)}})
    return items


def long_named_network(seed: int) -> Report:
    """A chain under up to six levels of nested groups with random names: long dotted layer names."""
    rng = random.Random(seed)
    items = [{"sequential": {"name": _name(rng), "layers": _items(rng, 1)}} for _ in range(rng.randint(2, 5))]
    return analyse_text(network_text([3, 8, 8], items, name=f"random {seed}"))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("seed", range(12))
def test_random_long_names_fit_every_width(seed: int, width: int) -> None:
    report = long_named_network(seed)
    assert max(len(r.name) for r in report.layers) > 12
    text = render_report.render_table(report, width=width, color=False)
    check_table(text, report, width, ["layer", "output", "params", "MACs"])
    memory = render_report.render_memory_table(report, width=width, color=False)
    check_table(memory, report, width, ["layer", "output", "saved", "at peak"], memory=True)


def test_a_name_wider_than_any_column_folds_and_stays_whole() -> None:
    piece = "x" * 70  # no dot to break at, wider than an 80-column table leaves for it
    report = analyse_text(network_text([3, 8, 8], [{"sequential": {"name": piece, "layers": [
        {"conv2d": {"out_channels": 4, "kernel_size": 1, "name": piece}}, {"relu": {"name": "r"}}]}}]))
    text = render_report.render_table(report, width=80)
    for line in text.splitlines():
        assert cell_len(line) <= 80
    assert names_of(text)[0] == [r.name for r in report.layers]


# ---------------------------------------------------------------------------------------------
# --depth rows and the --memory view stay readable at 80


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("name", ["resnet50", "densenet121", "efficientnet_b0", "googlenet"])
def test_collapsed_groups_at_80(name: str, depth: int) -> None:
    report = cnncalc.analyse(cnncalc.load(name)).collapse(depth)
    text = render_report.render_table(report, width=80, color=False)
    check_table(text, report, 80, ["layer", "output", "params", "MACs"])


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["lenet5", "resnet50", "densenet121", "mobilenet_v3_large", "inception_v3"])
def test_memory_view_fits(name: str, width: int) -> None:
    report = cnncalc.analyse(cnncalc.load(name))
    text = render_report.render_memory_table(report, width=width, color=False)
    check_table(text, report, width, ["layer", "output", "saved", "at peak"], memory=True)


# ---------------------------------------------------------------------------------------------
# no width: every column, every row on one line


@pytest.mark.parametrize("name", ["lenet5", "resnet50", "densenet121"])
def test_no_width_means_no_wrapping(name: str) -> None:
    report = cnncalc.analyse(cnncalc.load(name))
    text = render_report.render_table(report, width=None, color=False)
    headings, rows = parse(text)
    assert headings == [LAYER_HEADERS.get(k, "% MACs") for k in LAYER.names]
    assert all(len(row) == 1 for row in rows)
    assert "," in rows[0][0][headings.index("MACs")] or report.layers[0].macs < 1000  # exact counts
    summary = text.splitlines()[-1]
    assert not summary.startswith(" ")  # the summary's text is not wrapped either


# ---------------------------------------------------------------------------------------------
# chunks: a long table is drawn in pieces that join into the table drawn whole


@pytest.mark.parametrize("chunk", [1, 2, 7, 50])
@pytest.mark.parametrize("width", [None, 80, 120])
def test_chunks_join_into_one_table(monkeypatch: pytest.MonkeyPatch, chunk: int, width: int | None) -> None:
    report = cnncalc.analyse(cnncalc.load("resnet18"))
    whole = render_report.render_table(report, width=width, color=False)
    whole_memory = render_report.render_memory_table(report, width=width, color=False)
    monkeypatch.setattr(table, "CHUNK_ROWS", chunk)
    assert render_report.render_table(report, width=width, color=False) == whole
    assert render_report.render_memory_table(report, width=width, color=False) == whole_memory
    pieces = list(render_report.iter_table(report, width=width))
    assert len(pieces) >= len(report.layers) // chunk  # streamed, not drawn at once


def test_every_row_is_drawn_between_one_header_and_one_footer() -> None:
    report = cnncalc.analyse(cnncalc.load("resnet50"))
    text = render_report.render_table(report, width=None)
    lines = text.splitlines()
    assert sum(line.startswith("┏") for line in lines) == 1
    assert sum(line.startswith("└") for line in lines) == 1
    assert sum(line.startswith("│") for line in lines) == len(report.layers) + 1  # and the totals row


# ---------------------------------------------------------------------------------------------
# --columns


@pytest.mark.parametrize("spec", ["name,output,params,macs,rf", "macs,name,flops", "index,type,memory,bar", "rf"])
def test_chosen_columns_in_their_order(spec: str) -> None:
    chosen = parse_columns(spec)
    result = CliRunner().invoke(cli, ["report", "resnet18", "--columns", spec], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    headings, _ = parse(result.stdout)
    expected = [LAYER_HEADERS.get(k, "% MACs") for k in chosen]
    assert headings == expected
    assert "layer" in headings  # always: it identifies the row


@pytest.mark.parametrize("spec", ["name,saved,peak", "intensity,read", "written"])
def test_chosen_memory_columns(spec: str) -> None:
    result = CliRunner().invoke(cli, ["report", "resnet18", "--memory", "--columns", spec])
    assert result.exit_code == 0, result.stderr
    headings, _ = parse(result.stdout)
    assert headings == [MEMORY_HEADERS[k] for k in parse_columns(spec, memory=True)]


@pytest.mark.parametrize("spec, memory", [("name,colour", False), ("saved", False), ("flops", True), (",", False),
                                          ("name,output,[bold]x", False)])
def test_unknown_columns_exit_2_listing_the_valid_ones(spec: str, memory: bool) -> None:
    args = ["report", "lenet5", "--columns", spec] + (["--memory"] if memory else [])
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    valid = (MEMORY if memory else LAYER).names
    assert result.stderr.startswith("error: --columns: ")
    assert ", ".join(valid) in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown"])
def test_columns_are_for_the_table_only(fmt: str) -> None:
    result = CliRunner().invoke(cli, ["report", "lenet5", "--columns", "name", "-f", fmt])
    assert result.exit_code == 2 and result.stdout == ""
    assert "--columns" in result.stderr


def test_parse_columns() -> None:
    assert parse_columns(" Output , params,output") == ("name", "output", "params")
    assert parse_columns("index,macs") == ("index", "name", "macs")
    with pytest.raises(OptionError):
        parse_columns("")


@pytest.mark.parametrize("columns", [("name", "colour"), ("output", "params"), ("name", "saved")])
def test_the_api_refuses_unknown_columns(columns: tuple[str, ...]) -> None:
    report = cnncalc.analyse(cnncalc.load("lenet5"))
    with pytest.raises(OptionError):
        render_report.render_table(report, columns=columns)


def test_chosen_columns_stay_while_names_can_break() -> None:
    report = cnncalc.analyse(cnncalc.load("resnet50"))
    chosen = ("name", "output", "params", "macs", "flops", "memory")
    text = render_report.render_table(report, width=80, columns=chosen)
    headings = check_table(text, report, 80, ["layer"])
    assert headings == ["layer", "output", "params", "MACs", "FLOPs", "memory"]


# ---------------------------------------------------------------------------------------------
# the width on a terminal, in a pipe and in a file


def test_piped_output_honours_columns() -> None:
    result = CliRunner().invoke(cli, ["report", "resnet50"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert max(cell_len(line) for line in result.stdout.splitlines()) <= 80
    report = cnncalc.analyse(cnncalc.load("resnet50"))
    check_table(result.stdout, report, 80, ["layer", "output", "params", "MACs"])


@pytest.mark.parametrize("memory", [False, True])
def test_piped_output_without_columns_is_not_wrapped(memory: bool) -> None:
    result = CliRunner().invoke(cli, ["report", "resnet50"] + (["--memory"] if memory else []), env={"COLUMNS": None})
    assert result.exit_code == 0
    headings, rows = parse(result.stdout)
    assert len(headings) == len((MEMORY if memory else LAYER).names)
    assert all(len(row) == 1 for row in rows)
    assert max(cell_len(line) for line in result.stdout.splitlines()) > 120


def test_a_file_has_no_width(tmp_path: Path) -> None:
    out = tmp_path / "table.txt"
    result = CliRunner().invoke(cli, ["report", "resnet50", "-o", str(out)], env={"COLUMNS": "80"})
    assert result.exit_code == 0 and result.stdout == ""
    text = out.read_text(encoding="utf-8")
    report = cnncalc.analyse(cnncalc.load("resnet50"))
    assert text == render_report.render_table(report, width=None, color=False)


# ---------------------------------------------------------------------------------------------
# user text is shown literally


NETWORK_NAMES = ["model [/tmp]", "[link=https://example.com]click[/link]", "[reverse]y", "a\x1b[31mred",
                 "bell\x07", "r\u202eev", "two\nlines", "名前 のネット", ":smile: [/]", "\\[bold]x"]
LAYER_NAMES = ["[reverse]y", "[link=https:x]y", "model [tmp]", "[bold red]x", ":smile:", "名前層", "x\\", "[i]"]


def hostile(network: str, layer: str) -> Report:
    items = [{"sequential": {"name": layer, "layers": [
        {"conv2d": {"out_channels": 4, "kernel_size": 3, "name": layer}},
        {"relu": {"name": "after"}}]}}, {"conv2d": {"out_channels": 2, "kernel_size": 1, "name": layer + "2"}}]
    return analyse_text(network_text([3, 8, 8], items, name=network))


def _renders(report: Report, width: int | None, color: bool) -> list[str]:
    return [render_report.render_table(report, width=width, color=color),
            render_report.render_table(report, width=width, color=color, columns=("name", "type", "output")),
            render_report.render_table(report.collapse(1), width=width, color=color),
            render_report.render_memory_table(report, width=width, color=color)]


@pytest.mark.parametrize("color", [False, True])
@pytest.mark.parametrize("width", [None, 80])
@pytest.mark.parametrize("network, layer", list(zip(NETWORK_NAMES, LAYER_NAMES * 2)))
def test_user_text_is_shown_literally(network: str, layer: str, width: int | None, color: bool) -> None:
    report = hostile(network, layer)
    for text in _renders(report, width, color):
        plain = ESCAPE.sub("", text)
        if color:
            # the only escape sequences are the table's own colours: the name's ESC is shown as \x1b
            assert "\x1b" not in plain
        else:
            assert "\x1b" not in text
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e]", plain)
        if width is None:
            assert printable(network) in plain
            names, _ = names_of(plain)
            assert set(names) <= {printable(r.name) for r in report.layers} | {printable(layer)}
            assert printable(f"{layer}.{layer}") in names or printable(layer) in names
        else:
            for line in plain.splitlines():
                assert cell_len(line) <= 80


# ---------------------------------------------------------------------------------------------
# the Params line counts parameters, as PyTorch does; buffers on their own line


def summary_value(text: str, label: str) -> int:
    line = next(line for line in text.splitlines() if line.startswith(label + " "))
    return int(line.split()[1].rstrip(":").replace(",", ""))


@pytest.mark.parametrize("name, params", [(name, params) for name, _, params, *_ in ZOO])
def test_params_line_is_pytorchs_parameter_count(name: str, params: int) -> None:
    report = cnncalc.analyse(cnncalc.load(name))
    text = render_report.render_table(report, width=None)
    assert summary_value(text, "Params") == params  # sum(p.numel() for p in model.parameters())
    assert summary_value(text, "Buffers") == report.totals.buffers == sum(r.buffers for r in report.layers)
    headings, _ = parse(text)
    footer = next(line for line in text.splitlines() if line.startswith("│") and "total" in line)
    assert int(_cells(footer, "│")[headings.index("params")].replace(",", "")) == params
    assert f"{params:,} trainable, 0 non-trainable" in text


@pytest.mark.parametrize("name", ["lenet5", "resnet50", "mobilenet_v2"])
def test_markdown_totals_agree(name: str) -> None:
    report = cnncalc.analyse(cnncalc.load(name))
    md = render_report.render_markdown(report)
    assert f"- **Params**: {report.totals.params:,}" in md
    assert f"- **Buffers**: {report.totals.buffers:,}" in md
