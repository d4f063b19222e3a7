"""Large flat descriptions: right totals, errors still located, and no node tree kept after parsing."""

from __future__ import annotations

import pytest
from conftest import run

from cnncalc import analysis, source, spec
from cnncalc.errors import ShapeError

BLOCKS = 300  # 2,100 layers


def residual(blocks: int, bad: int | None = None) -> str:
    """``blocks`` basic residual blocks of 16 channels on 16x16; block ``bad`` gets a 17-channel conv."""
    lines = ["input: [16, 16, 16]", "layers:"]
    for k in range(blocks):
        skip = "input" if k == 0 else f"b{k - 1}out"
        c2 = 17 if k == bad else 16
        lines += [
            f"  - conv2d: {{name: b{k}c1, out_channels: 16, kernel_size: 3, padding: 1, bias: false}}",
            f"  - batchnorm2d: {{name: b{k}n1}}",
            f"  - relu: {{name: b{k}r1}}",
            f"  - conv2d: {{name: b{k}c2, out_channels: {c2}, kernel_size: 3, padding: 1, bias: false}}",
            f"  - batchnorm2d: {{name: b{k}n2}}",
            f"  - add: {{name: b{k}add, from: [b{k}n2, {skip}]}}",
            f"  - relu: {{name: b{k}out}}",
        ]
    return "\n".join(lines) + "\n"


def test_totals_of_a_large_residual_network() -> None:
    report = analysis.analyse(spec.load("big.yaml", text=residual(BLOCKS)))
    t = report.totals
    conv = 3 * 3 * 16 * 16  # weights of one 3x3 conv, 16 → 16 channels, no bias
    assert len(report.layers) == 7 * BLOCKS
    assert t.params == BLOCKS * (2 * conv + 2 * 2 * 16)  # two convs and two batchnorms (γ, β) per block
    assert t.buffers == BLOCKS * 2 * 2 * 16  # running mean and variance of two batchnorms
    assert t.macs == BLOCKS * 2 * conv * 16 * 16
    # every 3x3 conv adds 2 to the field; the 1x1 skip paths add nothing
    assert t.receptive_field is not None and t.receptive_field.axes[0].size == 1 + 2 * 2 * BLOCKS


def test_an_error_deep_in_a_large_file_names_its_line() -> None:
    bad = 250
    with pytest.raises(ShapeError) as e:
        analysis.analyse(spec.load("big.yaml", text=residual(BLOCKS, bad=bad)))
    line = 2 + 7 * bad + 6  # the add of block `bad`: its inputs now have 17 and 16 channels
    assert e.value.format() == (f"big.yaml:{line}:10: layer 'b{bad}add' (add): "
                                "shapes differ: [17, 16, 16] vs [16, 16, 16]")


def test_validation_errors_are_located_in_large_files_too() -> None:
    text = residual(BLOCKS).replace("{name: b200r1}", "{name: b200r1, inplace: 2}")
    with pytest.raises(spec.SpecError) as e:
        spec.load("big.yaml", text=text)
    line = 2 + 7 * 200 + 3
    assert e.value.format() == (f"big.yaml:{line}:35: layer 'b200r1' (relu): inplace: expected true or false, got 2")


def test_the_node_tree_is_composed_again_only_when_a_location_is_asked() -> None:
    src = source.parse(residual(3), "small.yaml")
    assert src._root is None  # dropped after parsing: it takes several times the memory of the data
    assert src.locate(("layers", 5)) == (8, 5)
    assert src._root is not None


def test_cli_error_on_a_large_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "big.yaml"
    path.write_text(residual(BLOCKS, bad=10))
    res = run("report", str(path), "-f", "json")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr.startswith(f"error: {path}:{2 + 7 * 10 + 6}:10: layer 'b10add' (add): shapes differ")
