"""cnncalc in real processes, as a shell runs it: closed and full streams, encodings, FIFOs, signals, long names.

Each case asserts the exit code, that stderr holds no traceback, and, where ``-o`` is written,
that no temporary file is left and the previous file is intact. The command runs as
``python -m cnncalc`` with this checkout first on the path.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
ENV.pop("CNNCALC_DEBUG", None)
ENV.pop("PYTHONIOENCODING", None)
CNNCALC = [sys.executable, "-m", "cnncalc"]
TIMEOUT = 120
OLD = "the previous contents\n"


def cnncalc(*args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.CompletedProcess[bytes]:
    """Run ``cnncalc ARGS``; stdout and stderr captured as bytes unless ``kw`` says otherwise."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([*CNNCALC, *args], env={**ENV, **(env or {})}, timeout=TIMEOUT, **kw)


def no_traceback(p: subprocess.CompletedProcess[bytes]) -> str:
    """stderr as text, after checking it holds no traceback."""
    err = (p.stderr or b"").decode("utf-8", "replace")
    assert "Traceback" not in err, err
    return err


def close(*fds: int) -> Any:
    """A preexec_fn that starts the child with these descriptors closed (``>&-``, ``<&-``)."""
    def run() -> None:
        for fd in fds:
            os.close(fd)

    return run


#: Commands that write to stdout, in each format that takes a different path to it.
WRITERS = {
    "table": ["report", "lenet5"],
    "json (written in pieces)": ["report", "lenet5", "-f", "json"],
    "csv": ["report", "lenet5", "-f", "csv"],
    "explain": ["explain", "lenet5"],
    "check": ["check", "lenet5", "--max-params", "1G"],
    "diff": ["diff", "lenet5", "tiny_cnn"],
    "sweep": ["sweep", "lenet5", "-f", "csv"],
    "schema": ["schema", "input"],
    "layers": ["layers"],
    "networks": ["networks"],
}


@pytest.mark.parametrize("args", list(WRITERS.values()), ids=list(WRITERS))
def test_closed_stdout(args: list[str]) -> None:
    p = cnncalc(*args, stdout=None, preexec_fn=close(1))
    err = no_traceback(p)
    assert p.returncode == 2
    assert err == "error: cannot write to standard output: it is closed\n"


@pytest.mark.parametrize("args", list(WRITERS.values()), ids=list(WRITERS))
def test_stdout_on_a_full_device(args: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        p = cnncalc(*args, stdout=full)
    err = no_traceback(p)
    assert p.returncode == 2
    assert err == f"error: cannot write to standard output: {os.strerror(errno.ENOSPC)}\n"


def test_reader_going_away_is_not_an_error() -> None:
    # `cnncalc report resnet152 | head -c 1`: the pipe closes under a long table
    p = subprocess.Popen([*CNNCALC, "report", "resnet152", "-f", "csv"], env=ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    p.stdout.read(1)
    p.stdout.close()
    err = p.stderr.read()
    assert p.wait(TIMEOUT) == 0
    assert b"Traceback" not in err


def test_closed_stdin_for_dash() -> None:
    p = cnncalc("report", "-", stdin=None, preexec_fn=close(0))
    assert no_traceback(p) == "error: <stdin>: standard input is closed\n"
    assert p.returncode == 2


def test_closed_stdin_unused() -> None:
    # a command that does not read stdin does not care
    p = cnncalc("report", "lenet5", "-f", "json", stdin=None, preexec_fn=close(0))
    assert p.returncode == 0
    no_traceback(p)


@pytest.mark.parametrize("args", [
    pytest.param(["report", "no-such-file.yaml"], id="missing file"),
    pytest.param(["report", "lenet5", "--batch", "0"], id="usage error"),
    pytest.param(["fit", "lenet5", "--memory", "1e400"], id="out of range"),
])
def test_closed_stderr_with_invalid_input_exits_2(args: list[str]) -> None:
    p = cnncalc(*args, stderr=None, preexec_fn=close(2))
    assert p.returncode == 2
    assert p.stdout == b""


@pytest.mark.parametrize("fds", [(0, 1, 2), (0, 1), (1, 2)], ids=["all three", "stdin and stdout", "stdout and stderr"])
def test_several_streams_closed(fds: tuple[int, ...], tmp_path: Path) -> None:
    # with descriptors 0-2 free, the input and the -o file would take their numbers; the run is unharmed
    out = tmp_path / "out.csv"
    p = cnncalc("report", "lenet5", "-f", "csv", "-o", str(out), stdin=None, stdout=None,
                stderr=None if 2 in fds else subprocess.PIPE, preexec_fn=close(*fds))
    assert p.returncode == 0
    assert out.read_text(encoding="utf-8").startswith("index,name,")


# ---------------------------------------------------------------------------------------------
# names an encoding cannot hold

#: Names outside Latin-1 and ASCII: CJK, an emoji (outside the BMP), Greek, Latin-1, a combining accent.
NAMES = ["卷积层", "relu😀", "σ-block", "Müller", "e\u0301"]
NETWORK = "name: \"网络\"\ninput: [3, 8, 8]\nlayers:\n" + "".join(
    f"  - conv2d: {{name: \"{n}\", out_channels: 4, kernel_size: 1}}\n" for n in NAMES)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("names") / "net.yaml"
    path.write_text(NETWORK, encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
@pytest.mark.parametrize("env", [
    pytest.param({"PYTHONIOENCODING": "latin-1"}, id="latin-1"),
    pytest.param({"PYTHONIOENCODING": "ascii"}, id="ascii"),
    pytest.param({"LANG": "C", "LC_ALL": "C"}, id="LANG=C"),
    pytest.param({"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": "ascii"},
                 id="C locale without UTF-8 mode"),
])
def test_unencodable_names_are_escaped(hostile: Path, fmt: str, env: dict[str, str]) -> None:
    p = cnncalc("report", str(hostile), "-f", fmt, env=env)
    no_traceback(p)
    assert p.returncode == 0
    out = p.stdout.decode("utf-8", "replace")
    if fmt == "json":  # still JSON, whichever escapes it holds
        assert {row["name"] for row in json.loads(p.stdout)["layers"]} == set(NAMES)
    for name in NAMES:
        # as written (where the output is UTF-8 after all), or with \x, \u, \U escapes
        escaped = name.encode("ascii", "backslashreplace").decode("ascii")
        latin = name.encode("latin-1", "backslashreplace").decode("latin-1")
        shown = {name, escaped, latin, json.dumps(name)[1:-1]}  # the last: JSON's own \ud83d\ude00
        assert any(s in out or s in p.stdout.decode("latin-1") for s in shown), (name, out[:2000])


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii"}, {"PYTHONIOENCODING": "latin-1"}],
                         ids=["ascii", "latin-1"])
def test_unencodable_file_name_in_an_error(tmp_path: Path, env: dict[str, str]) -> None:
    p = cnncalc("report", str(tmp_path / "网络😀.yaml"), env=env)
    assert p.returncode == 2
    err = no_traceback(p)
    assert err.startswith("error: ") and "no such file" in err


# ---------------------------------------------------------------------------------------------
# files that are not regular files, and names the system refuses


def test_fifo_without_a_writer_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "net.yaml"
    os.mkfifo(fifo)
    p = cnncalc("report", str(fifo))  # would block forever in open() if opened as a file
    assert p.returncode == 2
    assert no_traceback(p) == (f"error: {fifo}: is a FIFO (named pipe), not a regular file; to read a pipe or a "
                               "device, redirect it to standard input and give - as the file\n")


def test_fifo_as_stdin_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "net.fifo"
    os.mkfifo(fifo)
    text = (ROOT / "networks" / "lenet5.yaml").read_bytes()

    def write() -> None:
        with open(fifo, "wb") as f:
            f.write(text)

    writer = threading.Thread(target=write)
    writer.start()
    with open(fifo, "rb") as stdin:
        p = cnncalc("report", "-", "-f", "json", stdin=stdin)
    writer.join(TIMEOUT)
    assert p.returncode == 0, no_traceback(p)
    assert b'"params": 431080' in p.stdout


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "s.yaml"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        yield path


@pytest.mark.parametrize("kind", ["/dev/null", "/dev/zero", "socket"])
def test_other_special_files_are_refused(kind: str, request: pytest.FixtureRequest) -> None:
    path = str(request.getfixturevalue("unix_socket")) if kind == "socket" else kind
    p = cnncalc("report", path)
    assert p.returncode == 2
    err = no_traceback(p)
    assert err.startswith(f"error: {path}: is a ") and "not a regular file" in err


NAME_MAX = os.pathconf("/", "PC_NAME_MAX")
PATH_MAX = os.pathconf("/", "PC_PATH_MAX")


@pytest.fixture
def unopenable(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Paths that open() refuses, each with the words its error names."""
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "file.yaml").write_text("input: [1]\n")
    return {
        "longer than NAME_MAX": (str(tmp_path / ("n" * (NAME_MAX + 1) + ".yaml")), os.strerror(errno.ENAMETOOLONG)),
        "longer than NAME_MAX, no suffix": ("n" * (NAME_MAX + 1), os.strerror(errno.ENAMETOOLONG)),
        "longer than PATH_MAX": (str(tmp_path) + "/d" * (PATH_MAX // 2 + 1) + ".yaml",
                                 os.strerror(errno.ENAMETOOLONG)),
        "a loop of links": (str(tmp_path / "loop"), os.strerror(errno.ELOOP)),
        "below a file": (str(tmp_path / "file.yaml" / "net.yaml"), os.strerror(errno.ENOTDIR)),
        "a directory": (str(tmp_path), "is a directory"),
        "a NUL byte": (str(tmp_path / "a\x00b.yaml"), "NUL"),  # only through the API: argv cannot hold one
    }


CASES = ["longer than NAME_MAX", "longer than NAME_MAX, no suffix", "longer than PATH_MAX", "a loop of links",
         "below a file", "a directory"]


@pytest.mark.parametrize("case", CASES)
def test_unopenable_net(unopenable: dict[str, tuple[str, str]], case: str) -> None:
    path, words = unopenable[case]
    p = cnncalc("report", path)
    assert p.returncode == 2
    err = no_traceback(p)
    assert err.startswith(f"error: {path}: ") and words in err and err.count("\n") == 1


@pytest.mark.parametrize("case", [*CASES, "a NUL byte"])
def test_unopenable_net_in_process(unopenable: dict[str, tuple[str, str]], case: str) -> None:
    from cnncalc import spec
    from cnncalc.errors import SourceError

    path, words = unopenable[case]
    with pytest.raises(SourceError) as e:
        spec.load(path)
    assert e.value.problems[0].file == path and words in e.value.problems[0].message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_net(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text("input: [1]\n")
    path.chmod(0)
    p = cnncalc("report", str(path))
    assert p.returncode == 2 and "permission denied" in no_traceback(p)


@pytest.mark.parametrize("option", ["--output", "--html"])
@pytest.mark.parametrize("case", ["longer than NAME_MAX", "longer than PATH_MAX", "below a file", "a directory"])
def test_unwritable_output(unopenable: dict[str, tuple[str, str]], case: str, option: str) -> None:
    path, words = unopenable[case]
    p = cnncalc("report", "lenet5", option, path)
    assert p.returncode == 2
    err = no_traceback(p)
    assert err.startswith(f"error: {option}: cannot write to ") and err.count("\n") == 1
    assert p.stdout == b""  # nothing is written after the failure


# ---------------------------------------------------------------------------------------------
# signals while --output is written

#: Runs the CLI with os.replace slowed down: the temporary file is complete, the rename waits.
_SLOW_RENAME = """
import os, sys, time
import cnncalc.cli as cli
flag, *args = sys.argv[1:]
real = os.replace
def slow(src, dst):
    open(flag, "w").close()
    time.sleep(60)
    real(src, dst)
cli.os.replace = slow
sys.argv = ["cnncalc", *args]
cli.main()
"""

SIGNALS = {"SIGTERM": (signal.SIGTERM, "terminated"), "SIGINT": (signal.SIGINT, "interrupted"),
           "SIGHUP": (signal.SIGHUP, "hangup")}


def _wait_for(test: Any, p: subprocess.Popen[bytes], what: str) -> None:
    """Poll ``test()`` until it holds, failing if ``p`` ends first or it takes too long."""
    deadline = time.monotonic() + TIMEOUT
    while not test():
        assert p.poll() is None, f"cnncalc ended before {what}: {p.communicate()}"
        assert time.monotonic() < deadline, f"no {what} after {TIMEOUT} s"
        time.sleep(0.005)


def _signal_while_writing(args: list[str], started: Any, sig: int, cmd: list[str] | None = None) -> tuple[int, str]:
    """Run ``cmd ARGS``, send ``sig`` once ``started()`` holds, and return the exit code and stderr."""
    p = subprocess.Popen([*(cmd or CNNCALC), *args], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(started, p, "the write started")
        p.send_signal(sig)
        _, err = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
    return p.returncode, err.decode("utf-8", "replace")


def _temporaries(folder: Path) -> list[Path]:
    """The temporary files that an --output into ``folder`` makes."""
    return [f for f in folder.iterdir() if f.name.endswith(".tmp")]


@pytest.mark.parametrize("name", list(SIGNALS))
def test_signal_before_the_rename(tmp_path: Path, name: str) -> None:
    sig, word = SIGNALS[name]
    out, flag = tmp_path / "report.json", tmp_path / "flag"
    out.write_text(OLD)
    code, err = _signal_while_writing([str(flag), "report", "lenet5", "-f", "json", "-o", str(out)],
                                      flag.exists, sig, cmd=[sys.executable, "-c", _SLOW_RENAME])
    assert (code, err) == (128 + sig, f"{word}\n")
    assert out.read_text() == OLD
    assert _temporaries(tmp_path) == []


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A network whose JSON report is tens of megabytes, written over a noticeable time."""
    path = tmp_path_factory.mktemp("large") / "large.yaml"
    path.write_text("input: [8, 16, 16]\nlayers:\n" + "  - relu\n" * 20_000)
    return path


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_signal_during_a_large_write(tmp_path: Path, large: Path, name: str) -> None:
    sig, word = SIGNALS[name]
    out = tmp_path / "report.json"
    out.write_text(OLD)
    code, err = _signal_while_writing(["report", str(large), "-f", "json", "-o", str(out)],
                                      lambda: bool(_temporaries(tmp_path)), sig)
    assert (code, err) == (128 + sig, f"{word}\n")
    assert out.read_text() == OLD
    assert _temporaries(tmp_path) == []


def test_ignored_hangup_stays_ignored(tmp_path: Path) -> None:
    # under nohup SIGHUP is ignored, and cnncalc keeps it so: the run completes
    out, flag = tmp_path / "report.json", tmp_path / "flag"
    script = _SLOW_RENAME.replace("time.sleep(60)", "time.sleep(1)")
    p = subprocess.Popen([sys.executable, "-c", script, str(flag), "report", "lenet5", "-f", "json", "-o", str(out)],
                         env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    _wait_for(flag.exists, p, "the write started")
    p.send_signal(signal.SIGHUP)
    assert p.wait(TIMEOUT) == 0
    assert out.read_text().startswith("{")
