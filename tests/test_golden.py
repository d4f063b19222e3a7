"""Golden outputs: the table (fixed width, no colour), JSON and CSV of two bundled networks.

Regenerate after an intended change with ``python -m pytest --update-golden``; without the flag a
missing golden file fails, so a file left out of a commit cannot pass by being written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import GOLDEN

from cnncalc import analyse, load
from cnncalc.render import render_csv, render_json, render_table


def _stable_json(name: str) -> str:
    text = render_json(analyse(load(name)))
    # the source path depends on where the checkout lives
    src = str(load(name).source.name)  # type: ignore[union-attr]
    return text.replace(src, f"networks/{name}.yaml")


@pytest.mark.parametrize("name", ["lenet5", "tiny_cnn"])
@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_golden(name: str, fmt: str, update_golden: bool) -> None:
    if fmt == "json":
        text = _stable_json(name)
    elif fmt == "csv":
        text = render_csv(analyse(load(name)))
    else:
        text = render_table(analyse(load(name)), width=120, color=False)
    assert_golden(text, GOLDEN / f"{name}.{fmt if fmt != 'table' else 'txt'}", update_golden)


def assert_golden(text: str, path: Path, update: bool) -> None:
    """``text`` equals the golden file ``path``; with ``update`` (``--update-golden``) it is written first."""
    if update:
        path.write_text(text, encoding="utf-8")
    elif not path.exists():
        pytest.fail(f"golden file {path} is missing: write it with `python -m pytest --update-golden`")
    assert text == path.read_text(encoding="utf-8")


def test_a_missing_golden_file_fails_and_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "missing.txt"
    with pytest.raises(pytest.fail.Exception, match="missing.txt is missing"):
        assert_golden("text", path, update=False)
    assert not path.exists()
    assert_golden("text", path, update=True)
    assert path.read_text(encoding="utf-8") == "text"
    with pytest.raises(AssertionError):
        assert_golden("other", path, update=False)
