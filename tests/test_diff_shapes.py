"""``diff`` keeps each output shape on one line whenever the always-kept columns leave room for it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cnncalc.cli import cli
from cnncalc.render.grid import Column, layout, wrap_cell

PAIRS = [("resnet18", "resnet50"), ("densenet121", "resnet50"), ("mobilenet_v2", "mobilenet_v3_large"),
         ("vgg16", "vgg16_bn")]
WIDTHS = (80, 100, 120, 200)


def output_cells(text: str) -> tuple[int, list[str]]:
    """The output column's width and its cell lines, from a drawn diff table."""
    lines = text.splitlines()
    head = [line for line in lines if line.startswith("┃")][-1].strip("┃").split("┃")
    i = [h.strip() for h in head].index("output")
    return len(head[i]) - 2, [line.strip("│").split("│")[i] for line in lines
                              if line.startswith("│") and line.count("│") > 3]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("old", "new"), PAIRS)
def test_shapes_stay_whole_when_there_is_room(old: str, new: str, width: int) -> None:
    res = CliRunner().invoke(cli, ["diff", old, new, "--all"], env={"COLUMNS": str(width)}, catch_exceptions=False)
    assert res.exit_code == 0
    room, cells = output_cells(res.stdout)
    widest_shape = max(len(part.strip()) for cell in cells for part in cell.split("→"))
    if room >= widest_shape:  # every shape fits: none is broken inside its brackets
        assert all(cell.count("[") == cell.count("]") for cell in cells)
    # the wide networks' shapes fit from 100 columns on (at 80 the kept number columns leave no room)
    if width >= 100:
        assert all(cell.count("[") == cell.count("]") for cell in cells), (old, new, width, room)


@pytest.mark.parametrize("text", ["[64, 56, 56] → [256, 56, 56]", "[1024, 7, 7] → [2048, 7, 7]", "[10]"])
@pytest.mark.parametrize("width", range(6, 32))
def test_a_change_of_shape_breaks_after_its_arrow_first(text: str, width: int) -> None:
    lines = wrap_cell(text, width, "arrows")
    assert all(len(line) <= width for line in lines)
    assert " ".join(lines).split() == text.split()  # every character, broken only at spaces
    old, _, new = text.partition("→ ")
    if width >= max(len(old.strip()) + 2, len(new)):  # each side fits: the break is at the arrow
        assert lines == ([text] if len(text) <= width else [old + "→", new])


def test_a_droppable_column_goes_before_a_shape_breaks() -> None:
    columns = [Column("layer", wrap="dots"), Column("output", wrap="arrows"), Column("FLOPs", "right", drop=1)]
    rows = [["a.b", "[64, 112, 112]", "123,456,789"]]
    widths = layout(columns, rows, 30)
    assert widths[2] is None and widths[1] == len("[64, 112, 112]")
