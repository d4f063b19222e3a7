"""``--output`` is written atomically: a failure at any point leaves the old file whole and no
temporary file behind."""

from __future__ import annotations

import errno
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import run

from cnncalc import cli as cli_module

OLD = "the previous report\n"


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "report.json"
    path.write_text(OLD)
    return path


class _DiskFull(io.StringIO):
    """A file that takes the first 100 characters and then reports a full disk."""

    def write(self, text: str) -> int:
        super().write(text[:100])
        raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_mid_write_keeps_the_old_file(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fdopen = os.fdopen

    def fdopen(fd: int, *args: Any, **kw: Any) -> Any:
        os.close(fd)
        return _DiskFull()

    monkeypatch.setattr(cli_module.os, "fdopen", fdopen)
    res = run("report", "lenet5", "-f", "json", "-o", str(target))
    monkeypatch.setattr(cli_module.os, "fdopen", real_fdopen)
    assert res.exit_code == 2
    assert res.stderr == f"error: --output: cannot write to '{target}': No space left on device\n"
    assert target.read_text() == OLD
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_failed_rename_keeps_the_old_file(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def replace(src: str, dst: str) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(cli_module.os, "replace", replace)
    res = run("report", "lenet5", "-f", "json", "-o", str(target))
    assert res.exit_code == 2
    assert "Invalid cross-device link" in res.stderr
    assert target.read_text() == OLD
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_interrupt_mid_write_keeps_the_old_file(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def replace(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module.os, "replace", replace)
    res = run("report", "lenet5", "-f", "json", "-o", str(target))
    assert res.exit_code == 130
    assert target.read_text() == OLD
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_success_replaces_the_file_and_leaves_nothing_else(target: Path) -> None:
    res = run("report", "lenet5", "-f", "json", "-o", str(target))
    assert res.exit_code == 0, res.stderr
    assert json.loads(target.read_text())["totals"]["params"] == 431_080
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # permissions: test_cli.py


@pytest.mark.parametrize(
    "where, message",
    [
        pytest.param("missing/report.json", "No such file or directory", id="missing folder"),
        pytest.param("report.json", "Is a directory", id="a folder"),
    ],
)
def test_unwritable_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.json").mkdir()
    res = run("report", "lenet5", "-o", where)
    assert res.exit_code == 2
    assert res.stderr.startswith(f"error: --output: cannot write to '{where}': ")
    assert message in res.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    assert list((tmp_path / "report.json").iterdir()) == []
