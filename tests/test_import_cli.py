"""``cnncalc import`` and MODULE:CALLABLE as NET, through the command line (CliRunner)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cnncalc.cli import cli

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

CONV = ["torch.nn:Conv2d", "--kwargs", '{"in_channels": 3, "out_channels": 8, "kernel_size": 3}']

MODEL = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(width, 10)

    def forward(self, x):
        return self.fc(self.relu(self.conv(x)).mean((2, 3)))


def make(width: int = 8) -> nn.Module:
    return Net(width)


def not_a_model():
    return 42


def broken():
    raise ValueError("no such width")
'''


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "mymodel.py"
    path.write_text(MODEL)
    return path


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def one_error_line(result: object, *parts: str) -> None:
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for part in parts:
        assert part in lines[0]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]


def test_import_a_module_callable_to_stdout() -> None:
    result = invoke("import", *CONV, "--input", "3x32x32")
    assert result.exit_code == 0, result.output
    assert "conv2d: {name: conv2d, out_channels: 8, kernel_size: 3}" in result.stdout
    assert result.stderr == ""


def test_import_a_file_with_kwargs_to_a_file(model_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "net.yaml"
    result = invoke("import", f"{model_file}:make", "--kwargs", '{"width": 16}', "--input", "3x16x16", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    report = invoke("report", str(out), "--format", "json")
    data = json.loads(report.stdout)
    # conv 3·16·9 + 16, linear 16·10 + 10
    assert data["totals"]["params"] == 3 * 16 * 9 + 16 + 16 * 10 + 10
    assert [r["name"] for r in data["layers"]] == ["conv", "relu", "mean", "fc"]
    assert list(tmp_path.glob(".net.yaml.*")) == []  # written atomically: no temporary left


def test_the_help_says_it_runs_the_users_code() -> None:
    result = invoke("import", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())  # as wrapped to the terminal's width
    assert "Importing SOURCE runs its code" in text and 'pip install "cnncalc[torch]"' in text


def test_without_torch_it_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    result = invoke("import", *CONV, "--input", "3x32x32")
    one_error_line(result, 'pip install "cnncalc[torch]"')


@pytest.mark.parametrize(("source", "kwargs", "parts"), [
    # located at the name the user gave, not inside the import machinery
    pytest.param("nosuchmodule_xyz:Net", None, ["error: nosuchmodule_xyz: importing 'nosuchmodule_xyz' failed",
                                                 "ModuleNotFoundError"], id="unknown module"),
    pytest.param("torch.nn:NoSuchThing", None, ["has no attribute 'NoSuchThing'"], id="unknown callable"),
    pytest.param("FILE:not_a_model", None, ["returned int, not a torch.nn.Module"], id="not a module"),
    pytest.param("FILE:broken", None, ["ValueError: no such width", "mymodel.py:"], id="the constructor raises"),
    pytest.param("FILE:make", '{"width": ', ["--kwargs: not valid JSON"], id="bad json"),
    pytest.param("FILE:make", "[1, 2]", ["--kwargs: expected a JSON object"], id="json not an object"),
    pytest.param("FILE:make", '{"depth": 3}', ["TypeError", "depth"], id="an unexpected keyword"),
])
def test_bad_sources_are_one_located_error(model_file: Path, source: str, kwargs: str | None,
                                           parts: list[str]) -> None:
    args = ["import", source.replace("FILE", str(model_file)), "--input", "3x8x8"]
    if kwargs is not None:
        args += ["--kwargs", kwargs]
    one_error_line(invoke(*args), *parts)


def test_a_refused_model_names_module_op_and_line(tmp_path: Path) -> None:
    path = tmp_path / "attn.py"
    path.write_text("import torch\nfrom torch import nn\n\n\nclass A(nn.Module):\n"
                    "    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(3, 3, 1)\n\n"
                    "    def forward(self, x):\n        y = self.conv(x).flatten(2)\n"
                    "        return torch.nn.functional.scaled_dot_product_attention(y, y, y)\n")
    one_error_line(invoke("import", f"{path}:A", "--input", "3x4x4"),
                   f"{path}:12:", "layer '<top>' (aten.scaled_dot_product_attention.default)",
                   "attention has no cnncalc layer")


def test_report_and_check_take_module_callable() -> None:
    report = invoke("report", *CONV, "--input", "3x32x32", "--format", "json")
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["totals"]["macs"] == 8 * 30 * 30 * 3 * 9
    held = invoke("check", *CONV, "--input", "3x32x32", "--max-params", "1M")
    assert held.exit_code == 0, held.output
    exceeded = invoke("check", *CONV, "--input", "3x32x32", "--max-params", "100")
    assert exceeded.exit_code == 1, exceeded.output


def test_a_module_callable_needs_input() -> None:
    one_error_line(invoke("report", *CONV), "needs --input")


def test_diff_and_fit_take_module_callable(model_file: Path) -> None:
    diff = invoke("diff", f"{model_file}:make", f"{model_file}:Net", "--input", "3x8x8")
    assert diff.exit_code == 0, diff.output
    fit = invoke("fit", f"{model_file}:make", "--input", "3x8x8", "--memory", "16GiB")
    assert fit.exit_code == 0, fit.output


def test_kwargs_with_a_description_file_is_an_error() -> None:
    one_error_line(invoke("report", "resnet18", "--kwargs", "{}"), "--kwargs is for a NET given as MODULE:CALLABLE")


BRANCHY = '''
import torch
from torch import nn


class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        if x.mean() > 0:
            return self.conv(x)
        return x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3)
        self.gate = Gate()

    def forward(self, x):
        print("forward of Net")
        return self.gate(self.stem(x))


class Chatty(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        print("shape", x.shape)
        return self.conv(x)
'''


def test_a_model_export_cannot_capture_is_one_line_at_the_branch(tmp_path: Path) -> None:
    # a Python branch on a tensor's values: export fails (and prints its graph, and warns); the
    # user sees one line, at the line of the branch, naming the module whose forward it is
    path = tmp_path / "branchy.py"
    path.write_text(BRANCHY, encoding="utf-8")
    line = BRANCHY.splitlines().index("        if x.mean() > 0:") + 1
    one_error_line(invoke("import", f"{path}:Net", "--input", "3x8x8"),
                   f"{path}:{line}: layer 'gate'", "reads the values of a tensor")


def test_what_the_model_prints_does_not_mix_with_the_yaml(tmp_path: Path) -> None:
    path = tmp_path / "branchy.py"
    path.write_text(BRANCHY, encoding="utf-8")
    result = invoke("import", f"{path}:Chatty", "--input", "3x8x8")
    assert result.exit_code == 0, result.stderr
    assert "shape" not in result.stdout and yaml.safe_load(result.stdout)["layers"]


def test_torch_fx_cannot_trace_what_export_cannot_capture(tmp_path: Path) -> None:
    # why cnncalc has no torch.fx fallback (docs/import.md): fx refuses the same forward
    namespace: dict[str, object] = {}
    exec(compile(BRANCHY, str(tmp_path / "branchy.py"), "exec"), namespace)
    with pytest.raises(torch.fx.proxy.TraceError):
        torch.fx.symbolic_trace(namespace["Net"]())  # type: ignore[operator]
