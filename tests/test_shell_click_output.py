"""click's own output (help, version) on a full device or a closed pipe ends like every other write.

Help and version are printed by click while it parses, outside the commands' own writes, so they
need their own cases: exit 2 and one line on a full device, exit 0 when the reader goes away, and
never exit 70 (a bug) or a traceback.
"""

from __future__ import annotations

import errno
import os
import subprocess

import pytest
from test_shell import CNNCALC, ENV, TIMEOUT, cnncalc, no_traceback

#: Every way click prints on its own: the group's and each kind of command's help, and the version.
CLICK_WRITERS = {
    "group help": ["--help"],
    "group -h": ["-h"],
    "report help": ["report", "--help"],
    "check help": ["check", "-h"],
    "layers help": ["layers", "--help"],
    "version": ["--version"],
}


@pytest.mark.parametrize("args", list(CLICK_WRITERS.values()), ids=list(CLICK_WRITERS))
def test_click_output_on_a_full_device(args: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        p = cnncalc(*args, stdout=full)
    err = no_traceback(p)
    assert p.returncode == 2, err
    assert err == f"error: cannot write to standard output: {os.strerror(errno.ENOSPC)}\n"


@pytest.mark.parametrize("args", list(CLICK_WRITERS.values()), ids=list(CLICK_WRITERS))
def test_click_output_to_a_reader_that_goes_away(args: list[str]) -> None:
    # `cnncalc --help | head -c 0`: the pipe is closed before anything is written
    p = subprocess.Popen([*CNNCALC, *args], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()
    err = p.stderr.read().decode("utf-8", "replace")
    assert p.wait(TIMEOUT) == 0, err
    assert "Traceback" not in err and "internal error" not in err, err
