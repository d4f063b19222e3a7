"""``check`` at a terminal says each located line once; piped or redirected, stderr still carries it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pty = pytest.importorskip("pty")  # POSIX only

NET = "name: {name}\ninput: [3, 32, 32]\nlayers: [{{conv2d: {{out_channels: 8, kernel_size: {k}}}}}, relu]\n"


def _files(tmp_path: Path) -> list[str]:
    good = tmp_path / "no_limits.yaml"
    good.write_text(NET.format(name="plain", k=3))
    broken = tmp_path / "broken.yaml"
    broken.write_text(NET.format(name="broken", k="3.0"))
    return [str(good), str(broken)]


def _at_terminal(args: list[str]) -> tuple[int, str]:
    """Run cnncalc with stdout and stderr on one pseudo-terminal, as a user at a shell sees it."""
    master, slave = os.openpty()
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cnncalc", *args], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode().replace("\r\n", "\n")


MESSAGES = ("no limits to check", "expected an integer, got the number 3.0")


def test_each_located_line_once_at_a_terminal(tmp_path: Path) -> None:
    rc, seen = _at_terminal(["check", *_files(tmp_path)])
    assert rc == 2
    for message in MESSAGES:
        assert seen.count(message) == 1, seen


@pytest.mark.parametrize("fmt", ["table", "json", "junit", "github"])
def test_stderr_carries_them_when_stdout_is_not_seen(tmp_path: Path, fmt: str) -> None:
    """Piped (as CI runs it) stderr has every error and note, whatever stdout holds."""
    res = subprocess.run([sys.executable, "-m", "cnncalc", "check", *_files(tmp_path), "--format", fmt],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": ""})
    assert res.returncode == 2
    assert "error: " in res.stderr and "note: " in res.stderr
    for message in MESSAGES:
        assert res.stderr.count(message) == 1
