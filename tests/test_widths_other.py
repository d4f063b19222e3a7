"""``explain``, ``diff``, ``sweep`` and ``check`` fit the width they are given, and show every name whole.

For each command at 80, 100, 120 and 200 columns (``COLUMNS``, as a terminal sets it): no line
is wider than the width, and every layer name (the ``input`` of a sweep row) can be read in full,
joined across the lines of its cell where a table wraps it at dots. Piped without ``COLUMNS``,
nothing is wrapped: a file has no width.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc import diff as diffs
from cnncalc.cli import cli, parse_shape
from cnncalc.explain import explain
from cnncalc.render.explain import render_text
from cnncalc.sweep import expand, fill_spatial
from cnncalc.text import printable

WIDTHS = (80, 100, 120, 200)


def run(*args: str, columns: int | None) -> str:
    env = {"COLUMNS": str(columns) if columns else ""}
    res = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    return res.stdout


def long_names(tmp_path: Path, wide: bool = False) -> Path:
    """Nested groups whose dotted names run past 80 columns, and a 40-character name without a dot."""
    c = 32 if wide else 16
    text = f"""name: long names
input: [3, 32, 32]
layers:
  - sequential:
      name: encoder_stage_number_three
      naming: type
      layers:
        - sequential:
            name: residual_block_number_eleven
            naming: type
            layers:
              - conv2d: {{name: depthwise_convolution_three_by_three, out_channels: {c}, kernel_size: 3}}
              - batchnorm2d: {{name: batch_normalisation_after_depthwise}}
  - relu: {{name: an_activation_whose_name_has_no_dots_at_all}}
  - identity: {{name: a name with spaces in it is still one name}}
  - adaptiveavgpool2d: {{output_size: 1}}
  - flatten
  - linear: {{name: classifier_head_fully_connected_layer, out_features: 10}}
"""
    path = tmp_path / ("wide.yaml" if wide else "narrow.yaml")
    path.write_text(text)
    return path


def layer_names(net: str | Path) -> list[str]:
    return [r.name for r in cnncalc.analyse(cnncalc.load(net)).layers]


def assert_fits(text: str, width: int) -> None:
    too_wide = [line for line in text.splitlines() if len(line) > width]
    assert not too_wide, f"{len(too_wide)} lines wider than {width}: {too_wide[:3]}"


def table_rows(text: str, start: str = "│") -> list[list[str]]:
    """The body rows of the last grid in ``text`` as cells, continuation lines joined to their row."""
    rows: list[list[list[str]]] = []
    lines = text.splitlines()
    last_head = max(i for i, line in enumerate(lines) if line.startswith("┡"))
    for line in lines[last_head + 1:]:
        if not line.startswith(start):
            continue
        cells = [c.strip() for c in line.strip()[1:-1].split("│")]
        # a row's second cell (change, batch) is never empty; a wrapped line's is
        if cells[1] or not rows:
            rows.append([[c] for c in cells])
        else:
            for acc, c in zip(rows[-1], cells):
                acc.append(c)
    return [["".join(parts) for parts in row] for row in rows]


# -- explain ----------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("net", ["tiny_cnn", "mobilenet_v1", "googlenet", "densenet121", "long"])
def test_explain_fits_the_width_and_names_every_layer(net: str, width: int, tmp_path: Path) -> None:
    source = str(long_names(tmp_path)) if net == "long" else net
    out = run("explain", source, columns=width)
    assert_fits(out, width)
    # a heading goes on 4 spaces in, after a space or a name cut after a dot
    headings: list[str] = []
    for line in out.splitlines():
        if line and not line.startswith(" "):
            headings.append(line)
        elif re.match(r"    \S", line):
            headings[-1] += ("" if headings[-1].endswith(".") else " ") + line[4:]
    for name in layer_names(source):
        assert any(h.startswith(name + " (") for h in headings), name
        if len(name) <= width - 4:  # a name that fits a line is never broken, not even at a space
            assert any(name in line for line in out.splitlines()), name


@pytest.mark.parametrize("width", WIDTHS)
def test_explain_breaks_between_terms_never_inside_a_number(width: int) -> None:
    out = run("explain", "resnet50", "--layer", "layer1.0", columns=width)
    assert_fits(out, width)
    # every number with thousands separators the unwrapped text holds is still whole
    plain = run("explain", "resnet50", "--layer", "layer1.0", columns=None)
    numbers = set(re.findall(r"\d{1,3}(?:,\d{3})+", plain))
    assert numbers and numbers <= set(re.findall(r"\d{1,3}(?:,\d{3})+", out))
    # and the text is the same once the lines are joined again (equations that shared a line
    # with ";" each have their own when they do not fit)
    assert out.replace(";", " ").split() == plain.replace(";", " ").split()


def test_explain_piped_without_columns_is_not_wrapped() -> None:
    out = run("explain", "resnet50", columns=None)
    assert out == render_text(explain(cnncalc.load("resnet50")), width=None)
    assert max(len(line) for line in out.splitlines()) > 200  # nothing was cut to a width


# -- diff -------------------------------------------------------------------------------------

PAIRS = [("resnet18", "resnet34"), ("vgg16", "vgg16_bn"), ("mobilenet_v2", "mobilenet_v3_large"), ("long", "long")]


def pair(old: str, new: str, tmp_path: Path) -> tuple[str, str]:
    if old == "long":
        return str(long_names(tmp_path)), str(long_names(tmp_path, wide=True))
    return old, new


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("old,new", PAIRS)
def test_diff_fits_the_width_and_shows_every_name_whole(old: str, new: str, width: int, tmp_path: Path) -> None:
    a, b = pair(old, new, tmp_path)
    out = run("diff", a, b, "--all", columns=width)
    assert_fits(out, width)
    rows = table_rows(out)
    d = diffs.compare(cnncalc.analyse(cnncalc.load(a)), cnncalc.analyse(cnncalc.load(b)))
    assert [r[0] for r in rows] == [x.name for x in d.layers]
    assert [r[1] for r in rows] == [x.status for x in d.layers]
    head = next(line for line in out.splitlines() if line.startswith("┃ layer"))
    for kept in ("layer", "change", "output", "params", "MACs"):
        assert f" {kept} " in head + " "


@pytest.mark.parametrize("old,new", PAIRS)
def test_diff_piped_without_columns_keeps_each_row_on_one_line(old: str, new: str, tmp_path: Path) -> None:
    a, b = pair(old, new, tmp_path)
    out = run("diff", a, b, "--all", columns=None)
    lines = out.splitlines()
    last_head = max(i for i, line in enumerate(lines) if line.startswith("┡"))
    body = [line for line in lines[last_head + 1:] if line.startswith("│")]
    d = diffs.compare(cnncalc.analyse(cnncalc.load(a)), cnncalc.analyse(cnncalc.load(b)))
    assert [line.split("│")[1].strip() for line in body] == [x.name for x in d.layers]  # one line a row
    head = next(line for line in out.splitlines() if line.startswith("┃ layer"))
    assert all(f" {h} " in head + " " for h in ("type", "FLOPs", "memory", "RF"))


# -- sweep ------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("net,shapes", [("resnet50", "3x{224..1024..400}"), ("lenet5", "1x28,1x1000")])
def test_sweep_fits_the_width_and_shows_every_input_whole(net: str, shapes: str, width: int) -> None:
    out = run("sweep", net, "--input", shapes, "--batch", "1,1024", columns=width)
    assert_fits(out, width)
    rows = table_rows(out)
    network = cnncalc.load(net)
    given = [parse_shape(s) for s in expand(shapes, "--input")]
    expected = [fill_spatial(s, network.input) for s in given for _ in (1, 1024)]
    assert [r[0] for r in rows] == ["x".join(map(str, s)) for s in expected]
    assert [r[1] for r in rows] == ["1", "1024"] * len(given)
    head = " ".join(" ".join(line.strip("┃").split("┃")) for line in out.splitlines() if line.startswith("┃"))
    assert "training" in head and "input" in head and "batch" in head


def test_sweep_labels_the_sum_of_outputs_apart_from_the_peak() -> None:
    out = run("sweep", "resnet50", "--batch", "32", columns=200)
    head = next(line for line in out.splitlines() if line.startswith("┃"))
    cells = [c.strip() for c in head.strip("┃").split("┃")]
    assert "all outputs summed" in cells and "training peak" in cells
    assert "activations" not in cells
    # the caption says what each of the two byte columns is
    assert "not what is held at any one time" in " ".join(out.split())


# -- names as written ---------------------------------------------------------------------------

HOSTILE = ["model [/tmp]", "[bold]x[/]", "[link=https://e.x]y[/link]", "[reverse]y", "a|b `c`", "\x1b[31mred\x07",
           "\u202eevil", "=1+2", "ünïcødé 🙂", "x" * 120]


@pytest.mark.parametrize("name", HOSTILE, ids=repr)
@pytest.mark.parametrize("command", ["diff", "sweep"])
def test_tables_show_the_network_name_as_written(command: str, name: str, tmp_path: Path) -> None:
    net = tmp_path / "net.yaml"
    escaped = name.replace("\x1b", "\\x1b").replace("\x07", "\\x07").replace("\u202e", "\\u202e")
    net.write_text(f'name: "{escaped}"\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {{out_channels: 4, kernel_size: 3}}\n',
                   encoding="utf-8")
    args = ["diff", str(net), "tiny_cnn"] if command == "diff" else ["sweep", str(net)]
    out = run(*args, columns=200)
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert printable(name) in out


@pytest.mark.parametrize("columns", WIDTHS)
def test_check_fits_the_width_and_keeps_the_network_names(tmp_path: Path, columns: int) -> None:
    """``check`` over several networks: no line wider than the width, each network named in full."""
    nets = [long_names(tmp_path), tmp_path / "lenet.yaml"]
    nets[1].write_text("name: a network whose name is long\ninput: [1, 28, 28]\n"
                       "layers: [{conv2d: {out_channels: 6, kernel_size: 5}}, relu]\n")
    res = CliRunner().invoke(cli, ["check", *map(str, nets), "--max-params", "10M", "--max-macs", "1G"],
                             env={"COLUMNS": str(columns)}, catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert max(map(len, lines)) <= columns
    # a name may wrap inside its cell: read the first column's pieces back in order
    first = " ".join(cell.split("│")[1].strip() for cell in lines if cell.startswith("│") and cell.count("│") > 2)
    for name in ("long names", "a network whose name is long"):
        assert " ".join(name.split()) in " ".join(first.split())


def test_check_piped_without_columns_does_not_wrap(tmp_path: Path) -> None:
    """Without COLUMNS a pipe has no width: every row is one line, however long the name."""
    net = tmp_path / "net.yaml"
    name = "a very long network name " * 8
    net.write_text(f"name: {name.strip()}\ninput: [1, 28, 28]\n"
                   "layers: [{conv2d: {out_channels: 6, kernel_size: 5}}]\n")
    out = run("check", str(net), "--max-params", "10M", columns=None)
    assert any(name.strip() in line for line in out.splitlines())
