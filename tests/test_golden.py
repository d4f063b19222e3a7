"""Golden outputs: the table (fixed width, no colour), JSON and CSV of two bundled networks.

Regenerate after an intended change with ``python -m pytest --update-golden``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import GOLDEN

from cnncalc import analyse, load
from cnncalc.render.json import render_json
from cnncalc.render.report import render_csv, render_table


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
    path: Path = GOLDEN / f"{name}.{fmt if fmt != 'table' else 'txt'}"
    if update_golden or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
