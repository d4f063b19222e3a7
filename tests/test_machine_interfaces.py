"""Clean streams, atomic ``--output`` and the Python API, used the way scripts and CI use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cnncalc import cli as cli_module
from cnncalc.cli import cli

ROOT = Path(__file__).resolve().parent.parent
ANSI = "\x1b["


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, color=False)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("report", "lenet5", "-f", "json"), id="report json"),
        pytest.param(("report", "lenet5", "-f", "csv"), id="report csv"),
        pytest.param(("report", "lenet5", "-f", "markdown"), id="report markdown"),
        pytest.param(("check", "lenet5", "--max-params", "5M", "-f", "json"), id="check json"),
        pytest.param(("check", "lenet5", "--max-params", "5M", "-f", "github"), id="check github"),
        pytest.param(("check", "lenet5", "--max-params", "5M", "-f", "junit"), id="check junit"),
        pytest.param(("diff", "lenet5", "tiny_cnn", "-f", "json"), id="diff json"),
        pytest.param(("diff", "lenet5", "tiny_cnn", "-f", "markdown"), id="diff markdown"),
        pytest.param(("schema", "output"), id="schema"),
    ],
)
def test_machine_formats_are_clean(monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    """Only the document on stdout, no colour even when colour is forced, nothing on stderr."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    r = run(*args)
    assert r.exit_code == 0
    assert r.stderr == ""
    assert ANSI not in r.stdout
    if "json" in args or args[0] == "schema":
        json.loads(r.stdout)


def test_clean_streams_in_a_real_process() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FORCE_COLOR": "1"}
    cmd = [sys.executable, "-m", "cnncalc", "check", "lenet5", "--max-params", "400K", "-f", "json"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert (p.returncode, p.stderr) == (1, "")
    assert json.loads(p.stdout)["status"] == "fail"


def test_errors_go_to_stderr_only() -> None:
    r = run("report", "no_such_net", "-f", "json")
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.startswith("error: no_such_net: no such file or bundled network")


# ---------------------------------------------------------------------------------------------
# --output is atomic: a temporary file beside the target, renamed over it when complete


class _DiskFull:
    """A file object that writes half of what it is given, then fails like a full disk."""

    def __init__(self, f: Any) -> None:
        self.f = f

    def write(self, text: str) -> int:
        self.f.write(text[: len(text) // 2])
        self.f.flush()
        raise OSError(28, "No space left on device")

    def __enter__(self) -> _DiskFull:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.f.close()


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("report", "vgg16", "-f", "json"), id="report"),
        pytest.param(("check", "vgg16", "--max-params", "200M", "-f", "junit"), id="check"),
        pytest.param(("diff", "alexnet", "alexnet_bvlc", "-f", "markdown"), id="diff"),
        pytest.param(("schema", "input"), id="schema"),
    ],
)
def test_failure_mid_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              args: tuple[str, ...]) -> None:
    target = tmp_path / "out.txt"
    target.write_text("the previous, complete output\n")
    real_fdopen = os.fdopen
    monkeypatch.setattr(cli_module.os, "fdopen", lambda fd, *a, **k: _DiskFull(real_fdopen(fd, *a, **k)))
    r = run(*args, "--output", str(target))
    assert r.exit_code == 2
    assert r.stderr == f"error: --output: cannot write to '{target}': No space left on device\n"
    assert target.read_text() == "the previous, complete output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # no temporary file left behind


def test_interrupt_mid_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.json"
    target.write_text("{}\n")

    def interrupted(src: str, dst: str) -> None:
        assert Path(src).read_text().startswith("{\n  \"schema_version\": 1")  # complete beside the target
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module.os, "replace", interrupted)
    r = run("report", "lenet5", "-f", "json", "-o", str(target))
    assert (r.exit_code, r.stderr) == (130, "interrupted\n")
    assert target.read_text() == "{}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_output_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    r = run("check", "lenet5", "--max-params", "400K", "-f", "json", "-o", str(target))
    assert r.exit_code == 1  # the exit code still tells the budget was exceeded
    assert r.stdout == ""
    assert json.loads(target.read_text())["status"] == "fail"


def test_output_to_a_missing_folder(tmp_path: Path) -> None:
    r = run("report", "lenet5", "-o", str(tmp_path / "no" / "out.txt"))
    assert r.exit_code == 2
    assert r.stderr.startswith("error: --output: cannot write to")


# ---------------------------------------------------------------------------------------------
# the Python API, as a script uses it

SCRIPT = """
import json, sys
import cnncalc
net = cnncalc.load(sys.argv[1])
result = cnncalc.analyse(net, batch=4, dtype="fp16")
assert result.layers[0].name == "conv1" and result.layers[0].output_shape == (20, 24, 24)
assert result.totals.params == 431080
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("click", "rich"))
print(json.dumps({"report": result.to_dict(), "heavy": heavy}))
"""


def test_python_api_matches_the_cli() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", SCRIPT, "lenet5"], capture_output=True, text=True, env=env, check=True)
    out = json.loads(p.stdout)
    assert out["heavy"] == []  # scripts do not pay for the CLI
    r = run("report", "lenet5", "--batch", "4", "--dtype", "fp16", "-f", "json")
    assert out["report"] == json.loads(r.stdout)


def test_core_modules_do_not_import_the_cli() -> None:
    code = ("import sys, cnncalc.budgets, cnncalc.diff, cnncalc.units, cnncalc.limits, cnncalc.schema;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('click', 'rich')))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert p.stdout.strip() == "[]"


def test_api_errors_are_cnncalc_errors(tmp_path: Path) -> None:
    import cnncalc
    from cnncalc.errors import CnnCalcError, OptionError

    with pytest.raises(CnnCalcError):
        cnncalc.load(tmp_path / "missing.yaml")
    with pytest.raises(OptionError):
        cnncalc.analyse(cnncalc.load("lenet5"), dtype="fp64")


# ---------------------------------------------------------------------------------------------
# documentation


def test_commands_and_exit_codes_are_documented() -> None:
    from docs_pages import page, section, table

    for command, where in (("check", "budgets.md"), ("diff", "budgets.md"), ("schema", "outputs.md")):
        assert f"cnncalc {command}" in page(where)
        assert cli.commands[command].help
    codes = {row[0] for row in table(section(page("errors.md"), "## Exit codes"), "code")}
    assert {"0", "1", "2"} <= codes
    assert "# yaml-language-server: $schema=" in page("outputs.md")


def test_pre_commit_hook_runs_check() -> None:
    import yaml

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["entry"].split()[:2] == ["cnncalc", "check"]
    assert {"id", "name", "entry", "language", "files"} <= set(hook)
