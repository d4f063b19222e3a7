"""A bug ends cleanly: one line naming the version, exit code 70; and every exit code is the documented one.

An internal error is any exception that is not a ``CnnCalcError``. It is planted here by
replacing a core function that every command calls, for each command and for a class of
exceptions, in-process (CliRunner) and in a real process (the console-script path).
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from conftest import COMMAND_LINES, run

import cnncalc
from cnncalc import cli as cli_module
from cnncalc import spec
from cnncalc.cli import EXIT_CODES, EXIT_INTERNAL, EXIT_INVALID, cli
from cnncalc.errors import SpecError

ROOT = Path(__file__).resolve().parent.parent

#: One command line per command that reads a network.
COMMANDS = COMMAND_LINES

#: Exceptions a bug may raise, including ones whose text spans lines or holds control characters.
BUGS = {
    "RuntimeError": RuntimeError("unexpected state"),
    "ZeroDivisionError": ZeroDivisionError("division by zero"),
    "KeyError": KeyError("conv1"),
    "AttributeError": AttributeError("'NoneType' object has no attribute 'shape'"),
    "RecursionError": RecursionError("maximum recursion depth exceeded"),
    "AssertionError without text": AssertionError(),
    "OSError inside the core": OSError(errno.EIO, "Input/output error"),
    "multi-line text": ValueError("first line\nsecond line\x1b[31m red"),
}


def _raise(e: BaseException) -> Any:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise e

    return boom


def assert_bug_line(stderr: str) -> None:
    """One line that says it is a bug, names the version and how to see the traceback."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith("error: internal error in cnncalc ")
    assert f"cnncalc {cnncalc.__version__}" in line and "bug" in line
    assert "--debug" in line and "CNNCALC_DEBUG=1" in line
    assert "Traceback" not in stderr and "\x1b" not in stderr


@pytest.mark.parametrize("bug", list(BUGS.values()), ids=list(BUGS))
@pytest.mark.parametrize("args", list(COMMANDS.values()), ids=list(COMMANDS))
def test_a_bug_exits_70_in_one_line(monkeypatch: pytest.MonkeyPatch, args: list[str], bug: BaseException) -> None:
    monkeypatch.setattr(spec, "load", _raise(bug))
    res = run(*args)
    assert res.exit_code == EXIT_INTERNAL == 70
    assert res.stdout == ""
    assert_bug_line(res.stderr)
    assert type(bug).__name__ in res.stderr


@pytest.mark.parametrize(("how", "env"), [
    pytest.param(["--debug"], {}, id="--debug"),
    pytest.param([], {"CNNCALC_DEBUG": "1"}, id="CNNCALC_DEBUG=1"),
    pytest.param([], {"CNNCALC_DEBUG": "yes"}, id="CNNCALC_DEBUG=yes"),
])
def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch, how: list[str], env: dict[str, str]) -> None:
    monkeypatch.setattr(spec, "load", _raise(RuntimeError("planted")))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    res = run(*how, "report", "lenet5")
    assert res.exit_code == 70
    assert "Traceback (most recent call last)" in res.stderr
    assert "RuntimeError: planted" in res.stderr
    assert res.stderr.splitlines()[-1].startswith("error: internal error in cnncalc ")


@pytest.mark.parametrize("value", ["", "0", "false", "no", "off"])
def test_debug_off_values(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setattr(spec, "load", _raise(RuntimeError("planted")))
    monkeypatch.setenv("CNNCALC_DEBUG", value)
    res = run("report", "lenet5")
    assert res.exit_code == 70
    assert_bug_line(res.stderr)


@pytest.mark.parametrize("args", list(COMMANDS.values()), ids=list(COMMANDS))
def test_invalid_input_is_not_a_bug(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    monkeypatch.setattr(spec, "load", _raise(SpecError("bad file")))
    res = run(*args)
    assert (res.exit_code, res.stderr) == (EXIT_INVALID, "error: bad file\n")


# ---------------------------------------------------------------------------------------------
# click's own errors are usage errors: exit 2


def _commands() -> list[str]:
    assert isinstance(cli, click.Group)
    return sorted(cli.commands)


@pytest.mark.parametrize("name", _commands())
def test_unknown_option_exits_2(name: str) -> None:
    res = run(name, "--no-such-option")
    assert res.exit_code == 2
    assert "No such option" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("name", [n for n in _commands() if n not in ("networks", "layers", "check")])
def test_missing_argument_exits_2(name: str) -> None:
    res = run(name)
    assert res.exit_code == 2
    assert "Missing" in res.stderr


@pytest.mark.parametrize("args", [
    pytest.param([], id="no command"),
    pytest.param(["no-such-command"], id="unknown command"),
    pytest.param(["report", "lenet5", "--format", "xml"], id="bad choice"),
    pytest.param(["report", "lenet5", "--batch", "abc"], id="not an integer"),
    pytest.param(["report", "lenet5", "--batch"], id="option without its value"),
    pytest.param(["networks", "extra"], id="extra argument"),
    pytest.param(["check"], id="check with nothing to check"),
])
def test_usage_errors_exit_2(args: list[str]) -> None:
    res = run(*args)
    assert res.exit_code == 2
    assert "Traceback" not in res.stderr


# ---------------------------------------------------------------------------------------------
# the console script, in a real process

_PLANTED = """
import sys
import cnncalc.spec
def boom(*a, **k):
    raise RuntimeError("planted")
cnncalc.spec.load = boom
sys.argv = ["cnncalc", *sys.argv[1:]]
from cnncalc.cli import main
main()
"""


def _process(*args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    kw = {"capture_output": True, **kw}
    return subprocess.run([sys.executable, "-c", _PLANTED, *args], text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, **kw)


def test_a_bug_in_a_real_process() -> None:
    p = _process("report", "lenet5")
    assert p.returncode == 70
    assert p.stdout == ""
    assert_bug_line(p.stderr)


def test_a_bug_with_stderr_closed_still_exits_70() -> None:
    # closed, not /dev/null: the child starts with no descriptor 2 at all
    p = _process("report", "lenet5", stderr=None, stdout=subprocess.PIPE, capture_output=False,
                 preexec_fn=lambda: os.close(2))
    assert p.returncode == 70
    assert p.stdout == ""


def test_debug_in_a_real_process() -> None:
    p = _process("--debug", "report", "lenet5")
    assert p.returncode == 70
    assert "Traceback (most recent call last)" in p.stderr and "RuntimeError: planted" in p.stderr


# ---------------------------------------------------------------------------------------------
# the docs' table of exit codes is the code's


def documented_exit_codes() -> dict[int, str]:
    """The rows of the table under '## Exit codes' on the errors page, as the site shows it: code → meaning."""
    from docs_pages import page, section, table

    return {int(code): meaning for code, meaning in table(section(page("errors.md"), "## Exit codes"), "code")}


def test_docs_table_lists_every_exit_code() -> None:
    assert documented_exit_codes() == EXIT_CODES
    assert {0, 1, 2, 70, 130} <= set(EXIT_CODES)


def test_docs_explain_every_exit_code() -> None:
    from docs_pages import page, section

    # each code, and each signal the code handles by its name, is explained below the table
    text = section(page("errors.md"), "## Exit codes")
    for code, meaning in EXIT_CODES.items():
        if code > 128:
            name = meaning.split("(")[1].rstrip(")")
            assert re.search(rf"\b{code} {name}\b", text), (code, name)
        else:
            assert f"- **{code}**:" in text, code
    assert "left as it was" in text


def test_codes_are_distinct_from_each_other() -> None:
    assert cli_module.EXIT_EXCEEDED == 1 and cli_module.EXIT_INVALID == 2 and cli_module.EXIT_INTERNAL == 70
    assert len({cli_module.EXIT_OK, cli_module.EXIT_EXCEEDED, cli_module.EXIT_INVALID, cli_module.EXIT_INTERNAL}) == 4
