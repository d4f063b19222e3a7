"""A column chosen with ``--columns`` that gives way to the width is named under the table, never lost silently."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from cnncalc.cli import cli

WIDTHS = (80, 100, 120, 200)
CHOICES = [
    ("lenet5", (), "name,output,params,macs,rf"),
    ("lenet5", (), "index,name,type,output,params,macs,flops,rf,jump,memory,bar"),
    ("resnet50", ("--depth", "1"), "name,type,output,params,macs,flops,rf,jump,memory"),
    ("densenet121", ("--depth", "3"), "memory,jump,rf,flops,macs,params,output,type,name,index"),
    ("inception_v3", ("--sort", "macs", "--top", "5"), "name,flops,bar,macs"),
    ("resnet50", ("--memory",), "index,name,type,output,saved,peak,read,written,intensity"),
]


def report(net: str, extra: tuple[str, ...], columns: str, width: int | None) -> str:
    env = {"COLUMNS": str(width) if width else "", "NO_COLOR": "1"}
    res = CliRunner().invoke(cli, ["report", net, *extra, "--columns", columns], env=env, catch_exceptions=False)
    assert res.exit_code == 0, res.stderr
    return res.stdout


def headers(text: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith("┃"))
    return [cell.strip() for cell in line.strip("┃").split("┃")]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("net", "extra", "columns"), CHOICES, ids=lambda x: x if isinstance(x, str) else None)
def test_every_chosen_column_is_shown_or_named(net: str, extra: tuple[str, ...], columns: str, width: int) -> None:
    chosen = columns.split(",")
    whole = headers(report(net, extra, columns, None))  # no width: every chosen column, in order
    assert len(whole) == len(chosen)
    text = report(net, extra, columns, width)
    shown = headers(text)
    missing = [key for key, head in zip(chosen, whole) if head not in shown]
    joined = " ".join(text.split())
    note = re.search(rf"Left out to fit {width} columns: ([a-z, ]+) \(", joined)
    if missing:
        assert note is not None, joined[-600:]
        assert note.group(1).split(", ") == missing
    else:
        assert note is None and "Left out" not in joined
    assert "name" not in missing  # the name always stays
    assert max(len(line) for line in text.splitlines()) <= width


def test_without_choice_the_usual_give_way_is_silent() -> None:
    """Without --columns, the documented order of giving way applies and is not announced."""
    res = CliRunner().invoke(cli, ["report", "resnet50"], env={"COLUMNS": "80"}, catch_exceptions=False)
    assert "Left out" not in res.stdout
