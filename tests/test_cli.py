"""The command line, through click's CliRunner: every format and every exit code."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from conftest import run

from cnncalc.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_report_table() -> None:
    res = run("report", "lenet5")
    assert res.exit_code == 0, res.stderr
    assert res.stderr == ""
    out = res.stdout
    assert "LeNet-5 (Caffe)" in out
    assert "431,080" in out and "431.08 K" in out and "1.64 MiB" in out
    assert "2,293,000" in out
    assert "\x1b[" not in out  # no colour when not a terminal


def test_report_json() -> None:
    res = run("report", "lenet5", "--format", "json")
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["schema_version"] == 1
    assert set(data) == {"schema_version", "network", "layers", "totals", "warnings", "memory"}
    assert data["totals"]["params"] == 431_080
    assert data["totals"]["macs"] == 2_293_000
    assert [row["name"] for row in data["layers"]][:2] == ["conv1", "pool1"]
    assert all(isinstance(row["params"], int) for row in data["layers"])


def test_report_csv() -> None:
    res = run("report", "tiny_cnn", "-f", "csv")
    assert res.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(rows) == 10
    assert rows[0]["name"] == "conv1" and rows[0]["params"] == "448" and rows[0]["output_shape"] == "16x32x32"
    assert sum(int(r["params"]) for r in rows) == 18_090


def test_report_markdown() -> None:
    res = run("report", "lenet5", "-f", "markdown")
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert lines[0] == "### LeNet-5 (Caffe)"
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + 8  # header, rule, 8 layers
    assert "| 431,080" not in res.stdout  # rows carry per-layer params, totals are below
    assert "**Params**: 431,080" in res.stdout


def test_input_override_and_batch() -> None:
    res = run("report", "vgg16", "--input", "3x256x256", "--batch", "8", "--dtype", "fp16", "-f", "json")
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["network"]["input_shape"] == [3, 256, 256]
    assert data["layers"][0]["output_shape"] == [64, 256, 256]
    t = data["totals"]
    assert t["activation_bytes_batch"] == 8 * t["activation_elements"] * 2


def test_stdin() -> None:
    text = (ROOT / "networks" / "lenet5.yaml").read_text()
    res = run("report", "-", "-f", "json", input=text)
    assert res.exit_code == 0
    assert json.loads(res.stdout)["totals"]["params"] == 431_080


def test_output_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    res = run("report", "lenet5", "-f", "json", "-o", str(target))
    assert res.exit_code == 0 and res.stdout == ""
    assert json.loads(target.read_text())["totals"]["params"] == 431_080
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_error_in_file_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "net.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 11}\n")
    res = run("report", str(bad))
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr == (
        f"error: {bad}:3:13: layer 'conv1' (conv2d): kernel_size 11 is larger than the padded input 8x8 "
        "(input [3, 8, 8])\n"
    )
    assert "Traceback" not in res.stderr


def test_missing_file_exit_2() -> None:
    res = run("report", "no/such/net.yaml")
    assert res.exit_code == 2
    assert res.stderr == "error: no/such/net.yaml: no such file\n"


def test_unknown_bundled_name_suggests() -> None:
    res = run("report", "lenet")
    assert res.exit_code == 2
    assert "did you mean 'lenet5'" in res.stderr


def test_bad_option_exit_2() -> None:
    res = run("report", "lenet5", "--input", "3xfoo")
    assert res.exit_code == 2
    assert "3xfoo" in res.stderr
    res = run("report", "lenet5", "--dtype", "fp64")
    assert res.exit_code == 2


def test_error_does_not_clobber_output(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("previous")
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3]\nlayers: [conv2d]\n")
    res = run("report", str(bad), "-f", "json", "-o", str(target))
    assert res.exit_code == 2
    assert target.read_text() == "previous"


def test_networks_lists_bundled() -> None:
    res = run("networks")
    assert res.exit_code == 0
    names = [line.split()[0] for line in res.stdout.splitlines()]
    for name in ("lenet5", "tiny_cnn", "alexnet_bvlc", "alexnet", "vgg16", "mobilenet_v1"):
        assert name in names


def test_layers_lists_registry() -> None:
    from cnncalc.layers import REGISTRY

    res = run("layers")
    assert res.exit_code == 0
    listed = {line.split(":")[0].split(" ")[0] for line in res.stdout.splitlines() if not line.startswith(" ")}
    assert listed == set(REGISTRY)


def test_every_command_has_help_and_docs() -> None:
    from docs_pages import pages, source

    docs = "".join(source(p.name) for p in pages())
    # the command reference is generated from the click group itself, every command included
    assert re.search(r"^::: mkdocs-click\n    :module: cnncalc\.cli\n    :command: cli\n", source("commands.md"), re.M)
    for name, command in cli.commands.items():
        assert command.help, name
        res = run(name, "--help")
        assert res.exit_code == 0
        assert re.search(rf"cnncalc {name}\b", docs), f"the docs do not document 'cnncalc {name}'"


def test_version() -> None:
    res = run("--version")
    assert res.exit_code == 0 and "cnncalc" in res.stdout


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_no_colour_codes_in_any_format(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    res = run("report", "tiny_cnn", "-f", fmt)
    assert res.exit_code == 0 and "\x1b[" not in res.stdout


def test_output_to_a_special_file_writes_through() -> None:
    res = run("report", "lenet5", "-f", "json", "-o", "/dev/null")
    assert res.exit_code == 0
    assert Path("/dev/null").is_char_device()


def test_output_file_permissions(tmp_path: Path) -> None:
    import os

    fresh = tmp_path / "fresh.json"
    assert run("report", "lenet5", "-f", "json", "-o", str(fresh)).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask
    kept = tmp_path / "kept.json"
    kept.write_text("{}")
    kept.chmod(0o640)
    assert run("report", "lenet5", "-f", "json", "-o", str(kept)).exit_code == 0
    assert kept.stat().st_mode & 0o777 == 0o640
