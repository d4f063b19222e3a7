"""``check``'s table never cuts a cell with '…': a long path or a figure is read back whole at any width."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cnncalc.cli import cli

WIDTHS = (80, 100, 120, 200)
NET = ("name: a_network_whose_name_has_no_spaces_and_runs_long\ninput: [3, 32, 32]\n"
       "layers: [{conv2d: {out_channels: 8, kernel_size: 3}}, relu]\n")


def columns_of(table_lines: list[str]) -> list[str]:
    """Each column's cells joined across all rows and lines, spaces removed (a cell wraps or folds)."""
    rows = [line.split("│")[1:-1] for line in table_lines if line.startswith("│")]
    return ["".join("".join(row[i].split()) for row in rows) for i in range(len(rows[0]))]


@pytest.mark.parametrize("columns", WIDTHS)
def test_paths_and_figures_are_whole(tmp_path: Path, columns: int) -> None:
    deep = tmp_path / "a_directory_with_a_long_name" / "and_another_one_below_it"
    deep.mkdir(parents=True)
    good = deep / "a_network_file_whose_name_has_no_spaces.yaml"
    good.write_text(NET)
    broken = deep / "an_invalid_network_file_with_a_long_name.yaml"
    broken.write_text(NET.replace("kernel_size: 3", "kernel_size: 3.0"))
    res = CliRunner().invoke(cli, ["check", str(good), str(broken), "--max-params", "1M",
                                   "--max-train-memory", "1GiB", "--max-activation-memory", "1023KiB"],
                             env={"COLUMNS": str(columns)}, catch_exceptions=False)
    assert res.exit_code == 2, res.stderr
    table = [line for line in res.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and max(map(len, table)) <= columns
    assert "…" not in "".join(table)
    network, limit, actual, bound = columns_of(table)[:4]
    # a network by its name, an invalid file by its path
    assert "a_network_whose_name_has_no_spaces_and_runs_long" in network
    assert "".join(str(broken).split()) in network
    for word in ("max_params", "max_train_memory", "max_activation_memory"):
        assert word in limit
    # each bound with its exact figure, digit for digit
    for figure in ("1M(1,000,000)", "1GiB(1,073,741,824B)", "1023KiB(1,047,552B)"):
        assert figure in bound
    assert actual.count("B)") == 2  # the two memory figures, each with its exact bytes
