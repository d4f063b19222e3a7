"""The fuzzer: mutated bundled networks, through every command, never crash cnncalc.

Each mutant (see ``fuzz_strategies``: bytes, tokens, structure, hostile strings) runs in-process
through the CLI with one drawn command. The contract, for any input:

- no exception escapes (``result.exception`` is None or SystemExit), no traceback is printed,
  and no command runs past a generous limit of CPU time;
- the exit code is 0, or 1 where a budget or gate applies (``check``, ``diff --fail-above``,
  ``fit``), or 2 for invalid input;
- no control or bidi character reaches the terminal unescaped (``text.printable``), on stderr
  or in any output but JSON;
- on exit code 2, standard error holds only ``error: `` lines (``warning: `` allowed), each
  naming the file it is about, and at least one with a ``file:line`` location unless the
  problem is the whole file (empty, binary, too large); standard output is empty;
- on exit code 0, figures: JSON parses, the other formats are not empty, nothing on stderr but
  ``export --check``'s summary, and a name rich could read as markup (``[bold]x``) is shown as
  written in the tables.

Runs: ``CNNCALC_FUZZ=short`` (the default: a fixed, deterministic set of mutants, a few seconds
per level, so that CI never flakes) or ``CNNCALC_FUZZ=long`` (new random mutants on every run,
failures kept in hypothesis' example database and replayed first next time; about 20 minutes on
one core). ``CNNCALC_FUZZ_EXAMPLES=N`` sets the number of mutants per level in either mode.
"""

from __future__ import annotations

import json
import os
import re
import signal
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fuzz_strategies import ORIGINALS, SEEDS, Mutant, byte_mutants, hostile_mutants, structure_mutants, token_mutants
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cnncalc.cli import cli
from cnncalc.text import printable

MODE = os.environ.get("CNNCALC_FUZZ", "short")
if MODE not in ("short", "long"):
    raise ValueError(f"CNNCALC_FUZZ={MODE!r}: choose short or long")

#: Mutants per level: the short run stays within a few seconds per level on one core.
EXAMPLES = int(os.environ.get("CNNCALC_FUZZ_EXAMPLES", 40 if MODE == "short" else 2500))

#: short: derandomized (the same mutants every run, no database); long: fresh mutants, and the
#: default example database, so that a failure found once is replayed first on the next run.
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=MODE == "short",
    database=settings.default.database if MODE == "long" else None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Command:
    """A command line, with ``{net}`` for the mutant, ``{orig}`` for the network it came from and
    ``{dir}`` for a directory to write to."""

    args: tuple[str, ...]
    #: exit code 1 means a budget or gate was exceeded (or nothing fits)
    may_exceed: bool = False
    #: the command imports torch: the long run only (a few seconds each)
    slow: bool = False
    #: extreme option values: refusing one is an error about the option, not the file
    extreme: bool = False

    def __str__(self) -> str:
        return " ".join(self.args)


COMMANDS = [
    Command(("report", "{net}")),
    Command(("report", "{net}", "-f", "json")),
    Command(("report", "{net}", "-f", "csv")),
    Command(("report", "{net}", "-f", "markdown")),
    Command(("report", "{net}", "--memory", "--sort", "memory", "--top", "3")),
    Command(("report", "{net}", "--depth", "1", "-f", "json", "--html", "{dir}/report.html")),
    Command(("report", "{net}", "--convention", "fvcore", "-o", "{dir}/report.txt")),
    Command(("explain", "{net}")),
    Command(("explain", "{net}", "-f", "markdown")),
    Command(("check", "{net}", "--max-params", "1M", "--max-macs", "100M"), may_exceed=True),
    Command(("check", "{net}", "--max-flops", "1G", "-f", "junit"), may_exceed=True),
    Command(("diff", "{orig}", "{net}")),
    Command(("diff", "{net}", "{orig}", "-f", "json", "--fail-above", "5%"), may_exceed=True),
    Command(("sweep", "{net}", "-b", "1,2")),
    Command(("sweep", "{net}", "-f", "csv")),
    Command(("fit", "{net}", "--memory", "1GiB"), may_exceed=True),
    Command(("export", "{net}", "--to", "pytorch")),
    Command(("export", "{net}", "--to", "pytorch", "--check"), slow=True),
    # numbers past what the options' types hold
    Command(("report", "{net}", "--batch", "9" * 30, "-f", "csv"), extreme=True),
    Command(("report", "{net}", "--top", "9" * 30, "--depth", "9" * 30, "-f", "json"), extreme=True),
    Command(("fit", "{net}", "--memory", "9" * 30 + "TiB"), may_exceed=True, extreme=True),
    Command(("check", "{net}", "--max-params", "1e400", "--max-train-memory", "9" * 30 + "TiB"), may_exceed=True,
            extreme=True),
    Command(("diff", "{orig}", "{net}", "--fail-above", "1e400%"), may_exceed=True, extreme=True),
    Command(("sweep", "{net}", "-b", "1," + "9" * 30), extreme=True),
]

#: Problems about the whole file, which have no line to point at.
WHOLE_FILE = ("is empty", "is a binary file", "is larger than")


#: CPU seconds one command may use on one mutant: generous (the slowest take a second or two),
#: so that only a runaway computation reaches it. CPU time, not wall time: a busy machine does
#: not make a run fail.
TIME_LIMIT = 30


class TookTooLong(Exception):
    """Raised into a command that uses more than :data:`TIME_LIMIT` seconds of CPU."""


@contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    """Raise :class:`TookTooLong` inside the block after ``seconds`` of CPU (where SIGPROF exists)."""
    if not hasattr(signal, "SIGPROF"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TookTooLong(f"used more than {seconds} s of CPU")

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


@dataclass(frozen=True)
class Violation:
    """How a run broke the contract: a signature to group like failures by, and the detail."""

    signature: str
    detail: str
    exception: BaseException | None = None


def _where(e: BaseException) -> str:
    """The innermost frame of cnncalc in ``e``'s traceback: ``report.py:render_table``."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if "/cnncalc/" in f.filename]
    frame = frames[-1] if frames else traceback.extract_tb(e.__traceback__)[-1]
    return f"{Path(frame.filename).name}:{frame.name}"


def violation(mutant: Mutant, command: Command, workdir: Path) -> Violation | None:
    """Run ``command`` on ``mutant``; how the result breaks the contract, or None."""
    net = workdir / mutant.name
    net.write_bytes(mutant.data)
    orig = ORIGINALS[mutant.name]
    args = [a.format(net=net, orig=orig, dir=workdir) for a in command.args]
    with _time_limit(TIME_LIMIT):
        res = CliRunner().invoke(cli, args)
    verb = command.args[0]
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        e = res.exception
        text = "".join(traceback.format_exception(e))
        return Violation(f"{type(e).__name__} in {_where(e)} ({verb})", text, e)
    allowed = {0, 2} | ({1} if command.may_exceed else set())
    if res.exit_code not in allowed:
        return Violation(f"exit code {res.exit_code} ({verb})", res.stderr)
    if "Traceback (most recent call last)" in res.stdout + res.stderr:
        return Violation(f"traceback printed ({verb})", res.stderr)
    # user text is shown with its control characters escaped, in messages and in every text format
    shown = [("stderr", res.stderr)] + ([] if "json" in command.args else [("stdout", res.stdout)])
    for stream, text in shown:
        raw = [ln for ln in text.split("\n") if printable(ln.removesuffix("\r")) != ln.removesuffix("\r")]
        if raw:
            return Violation(f"control characters on {stream} ({verb})", ascii(raw[0])[:2000])
    if res.exit_code == 2:
        lines = res.stderr.rstrip("\n").split("\n")
        errors = [ln for ln in lines if ln.startswith("error: ")]
        # check gives every file its result: an invalid one is an error entry on stdout too
        if res.stdout and verb != "check":
            return Violation(f"output on exit code 2 ({verb})", res.stdout[:2000])
        if not errors or len(errors) + sum(ln.startswith(("warning: ", "note: ")) for ln in lines) != len(lines):
            return Violation(f"not only error lines ({verb})", res.stderr)
        files = (str(net), str(orig))
        for line in errors:
            if not line.startswith(tuple(f"error: {f}:" for f in files)) and not command.extreme:
                return Violation(f"error without the file ({verb}): {_shape(line)}", res.stderr)
        located = [ln for ln in errors if re.match(rf"error: ({'|'.join(map(re.escape, files))}):\d+", ln)]
        if not located and not command.extreme and not any(w in ln for w in WHOLE_FILE for ln in errors):
            return Violation(f"error without a line ({verb}): {_shape(errors[0])}", res.stderr)
        return None
    out = res.stdout
    if res.exit_code == 0 and res.stderr and not (verb == "export" and res.stderr.startswith("checked with torch")):
        return Violation(f"stderr on exit code {res.exit_code} ({verb})", res.stderr)
    if "-o" not in command.args and not out.strip():
        return Violation(f"no output ({verb})", "")
    if "json" in command.args:
        try:
            json.loads(out)
        except ValueError as e:
            return Violation(f"invalid JSON ({verb})", f"{e}\n{out[:2000]}")
    if not {"-f", "-o"} & set(command.args):  # a rich table, or explain's text
        for name in _markup_names(net, command):
            if name not in out:
                return Violation(f"name not shown literally ({verb})", f"{name!r} is not in\n{out[:3000]}")
    return None


def _markup_names(net: Path, command: Command) -> list[str]:
    """The names in ``net`` that rich could read as markup (``[bold]x``) and that the text output of
    ``command`` shows in full: the network's in a title, the layers' in report's rows and explain."""
    from cnncalc import spec
    from cnncalc.graph import build

    verb = command.args[0]
    network = spec.load(str(net))
    names = [network.name] if network.name and verb in ("report", "sweep", "diff", "fit") else []
    if verb in ("report", "explain") and not {"--top", "--depth"} & set(command.args):
        names += [node.name for node in build(network).nodes]
    # short, one-word ASCII names only: a table never wraps them
    return [n for n in names if n and "[" in n and n.isascii() and len(n) <= 20 and printable(n) == n
            and " " not in n]


def _shape(line: str) -> str:
    """An error line with the file, numbers and quoted text taken out, to group alike lines."""
    line = re.sub(r"^error: [^:]*(:\d+)*: ", "error: ", line)
    return re.sub(r"'[^']*'|\d+", "_", line)[:120]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _commands() -> st.SearchStrategy[Command]:
    return st.sampled_from([c for c in COMMANDS if MODE == "long" or not c.slow])


def _assert_contract(mutant: Mutant, command: Command, workdir: Path) -> None:
    v = violation(mutant, command, workdir)
    if v is None:
        event(f"ok: {command.args[0]}")
        return
    raise AssertionError(f"{v.signature}\ncnncalc {command}\n{mutant.reproducer()}\n{v.detail}")


@FUZZ_SETTINGS
@given(mutant=byte_mutants(), command=_commands())
def test_byte_mutants(mutant: Mutant, command: Command, workdir: Path) -> None:
    _assert_contract(mutant, command, workdir)


@FUZZ_SETTINGS
@given(mutant=token_mutants(), command=_commands())
def test_token_mutants(mutant: Mutant, command: Command, workdir: Path) -> None:
    _assert_contract(mutant, command, workdir)


@FUZZ_SETTINGS
@given(mutant=structure_mutants(), command=_commands())
def test_structure_mutants(mutant: Mutant, command: Command, workdir: Path) -> None:
    _assert_contract(mutant, command, workdir)


@FUZZ_SETTINGS
@given(mutant=hostile_mutants(), command=_commands())
def test_hostile_mutants(mutant: Mutant, command: Command, workdir: Path) -> None:
    _assert_contract(mutant, command, workdir)


def test_the_contract_can_fail(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash, a wrong exit code and an unlocated error are each caught."""
    mutant = Mutant("lenet5.yaml", ORIGINALS["lenet5.yaml"].read_bytes(), "none")
    assert violation(mutant, Command(("report", "{net}")), workdir) is None
    assert violation(mutant, Command(("check", "{net}", "--max-params", "1")), workdir) is not None  # exit 1

    from cnncalc.render import report as render

    def boom(*args: Any, **kw: Any) -> str:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(render, "render_csv", boom)
    v = violation(mutant, Command(("report", "{net}", "-f", "csv")), workdir)
    assert v is not None and v.signature == "exit code 70 (report)"  # a bug: caught at the edge, still a violation
    from cnncalc.errors import SpecError

    def unlocated(*args: Any, **kw: Any) -> str:
        raise SpecError("somewhere")

    monkeypatch.setattr(render, "render_csv", unlocated)
    v = violation(mutant, Command(("report", "{net}", "-f", "csv")), workdir)
    assert v is not None and v.signature.startswith("error without the file")


@pytest.mark.parametrize("command", [c for c in COMMANDS if MODE == "long" or not c.slow], ids=str)
def test_seeds(command: Command, workdir: Path) -> None:
    """Every hand-written hostile mutant (``fuzz_strategies.SEEDS``) through every command."""
    broken = []
    for how, mutant in SEEDS.items():
        v = violation(mutant, command, workdir)
        if v is not None:
            broken.append(f"{how}: {v.signature}\n{v.detail[-1500:]}")
    assert not broken, f"cnncalc {command}: {len(broken)} of {len(SEEDS)} seeds break the contract\n\n" + \
        "\n\n".join(broken)
