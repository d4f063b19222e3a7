"""Every bundled network, exported with ``cnncalc export --to pytorch`` and imported back, gives the same figures."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import cli

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

NETWORKS = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "networks").glob("*.yaml"))
#: What differs by construction: the name, where the rows read from (the wiring is written anew), and the
#: type where two say the same (globalavgpool is exported as nn.AdaptiveAvgPool2d(1)): figures only.
LEFT_OUT = {"name", "inputs", "index", "type", "label"}


@pytest.mark.parametrize("name", NETWORKS)
def test_export_then_import_gives_the_same_figures(name: str, tmp_path: Path) -> None:
    exported = tmp_path / f"{name}.py"
    runner = CliRunner()
    result = runner.invoke(cli, ["export", name, "--to", "pytorch", "-o", str(exported)])
    assert result.exit_code == 0, result.output
    original = cnncalc.analyse(name, batch=2)
    shape = "x".join(map(str, original.input_shape))
    result = runner.invoke(cli, ["import", f"{exported}:Model", "--input", shape])
    assert result.exit_code == 0, result.output
    back = cnncalc.analyse(result.stdout, batch=2)
    want, got = original.to_dict(), back.to_dict()
    assert {k: v for k, v in got["totals"].items() if k != "name"} == \
        {k: v for k, v in want["totals"].items() if k != "name"}
    # row by row: the same names (the module paths of the export), shapes and every figure
    assert [r["name"] for r in got["layers"]] == [r["name"] for r in want["layers"]]
    for old, new in zip(want["layers"], got["layers"]):
        left_out = set(LEFT_OUT)
        if old["type"] == "dropout":
            # export writes an in-place dropout after an in-place layer as nn.Dropout() (see its
            # comment "inplace dropped"): the module it writes saves a byte mask where the
            # description's in-place dropout saves one in the activation dtype
            left_out.add("memory")
        assert {k: v for k, v in new.items() if k not in left_out} == \
            {k: v for k, v in old.items() if k not in left_out}, old["name"]
