"""The fast paths give exactly what they stand in for: the standard library's JSON, the explained formulas."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction
from typing import Any

import pytest
from conftest import run
from hypothesis import given
from hypothesis import strategies as st

from cnncalc import analysis, graph, layers, spec
from cnncalc import report as report_module
from cnncalc.errors import SpecError
from cnncalc.formula import Sym
from cnncalc.layers.base import AxisRF
from cnncalc.render.json import json_text, render_json

# ---------------------------------------------------------------------------------------------
# JSON: json_text is json.dumps(value, indent=2), character for character

_scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text()
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


@given(_values)
def test_json_text_is_json_dumps(value: Any) -> None:
    assert json_text(value) == json.dumps(value, indent=2)


@given(_values)
def test_json_text_at_a_depth_is_the_nested_dump(value: Any) -> None:
    # two levels deep, as a layer sits in a report
    assert json.dumps([[value]], indent=2) == "[\n  [\n    " + json_text(value, 2) + "\n  ]\n]"


def test_json_text_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError):
        json_text({"a": object()})
    with pytest.raises(TypeError):
        json_text({1: "a"})  # json.dumps would turn the key into "1"; reports only have string keys


@pytest.mark.parametrize("name", spec.bundled())
def test_report_json_is_json_dumps_of_to_dict(name: str) -> None:
    # every bundled network, so that every layer type's row goes through the layer writer
    report = analysis.analyse(spec.load(name), batch=4, dtype="fp16")
    assert render_json(report) == json.dumps(report.to_dict(), indent=2) + "\n"


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(report_module.Field("label", "label"), id="a scalar"),
        pytest.param(report_module.Field("kernel", "input_shapes", lambda s: [list(x)[:1] for x in s]), id="converted"),
        pytest.param(report_module.Field("field_again", "rf", fields=report_module.RF_FIELDS), id="a nested object"),
    ],
)
def test_a_field_added_to_the_table_is_in_to_dict_and_the_json(monkeypatch: pytest.MonkeyPatch,
                                                              extra: report_module.Field) -> None:
    # one table defines a layer's entry: the writer has no list of keys of its own to fall behind
    monkeypatch.setattr(report_module, "LAYER_FIELDS", (*report_module.LAYER_FIELDS, extra))
    report = analysis.analyse(spec.load("resnet18"))
    assert all(extra.key in d for d in report.to_dict()["layers"])
    assert render_json(report) == json.dumps(report.to_dict(), indent=2) + "\n"


@pytest.mark.parametrize("options", [{"convention": "fvcore"}, {"convention": "thop", "optimizer": "none"},
                                     {"dtype": "int8"}, {"amp": True, "dtype": "bf16", "optimizer": "sgd"}])
def test_report_json_is_json_dumps_of_to_dict_with_options(options: dict[str, Any]) -> None:
    report = analysis.analyse(spec.load("mobilenet_v3_small"), **options)
    assert render_json(report) == json.dumps(report.to_dict(), indent=2) + "\n"
    collapsed = report.collapse(1)
    assert render_json(collapsed) == json.dumps(collapsed.to_dict(), indent=2) + "\n"


def test_selected_and_collapsed_rows_too() -> None:
    report = analysis.analyse(spec.load("resnet18")).collapse(2)
    top = replace(report, layers=tuple(sorted(report.layers, key=lambda r: -r.macs)[:3]))
    assert render_json(top) == json.dumps(top.to_dict(), indent=2) + "\n"


def test_report_without_layers() -> None:
    # a description left without layers is refused (tests/test_hostile_classes.py); a report made
    # through the API may still have none, and the writer mirrors to_dict for it
    with pytest.raises(SpecError):
        analysis.analyse(spec.load("t.yaml", text="input: [3, 8, 8]\nlayers:\n  - relu: {if: false}\n"))
    report = replace(analysis.analyse(spec.load("t.yaml", text="input: [3, 8, 8]\nlayers: [relu]\n")), layers=())
    assert render_json(report) == json.dumps(report.to_dict(), indent=2) + "\n"


def test_cli_writes_the_pieces_in_order(tmp_path: Any) -> None:
    expected = render_json(analysis.analyse(spec.load("resnet50")))
    res = run("report", "resnet50", "-f", "json")
    assert (res.exit_code, res.stdout) == (0, expected)
    out = tmp_path / "r.json"
    assert run("report", "resnet50", "-f", "json", "-o", str(out)).exit_code == 0
    assert out.read_text() == expected


# ---------------------------------------------------------------------------------------------
# receptive field: AxisRF.window computes the values of window_terms, which `explain` prints

@given(size=st.none() | st.integers(1, 10**6), jump=st.integers(1, 64), lo=st.integers(-100, 100),
       span=st.integers(0, 30), stride=st.integers(1, 8), pad=st.integers(0, 10), as_terms=st.booleans())
def test_window_is_window_terms(size: int | None, jump: int, lo: int, span: int, stride: int, pad: int,
                                as_terms: bool) -> None:
    a = AxisRF(size, Fraction(jump), Fraction(lo) + Fraction((size or 1) - 1, 2))
    k1: Any = Sym("d", 1) * Sym("k", span + 1) - 1 if as_terms else span
    s: Any = Sym("s", stride) if as_terms else stride
    got = a.window(k1, s, pad)
    size_term, jump_term = a.window_terms(k1, s)
    assert got.size == (None if size is None else int(size_term))
    assert got.jump == jump_term.value
    if size is not None:
        assert got.start == a.start + (Fraction(span) / 2 - pad) * jump
        assert got.size_min == got.size


@given(lo=st.lists(st.integers(-20, 20), min_size=2, max_size=5), width=st.integers(0, 5),
       span=st.integers(0, 12), stride=st.integers(1, 4))
def test_window_terms_of_phased_fields_is_the_exact_size(lo: list[int], width: int, span: int, stride: int) -> None:
    a = AxisRF.phases(lo, [x + width + (i % 2) for i, x in enumerate(lo)], 41)
    size_term, jump_term = a.window_terms(span, stride)
    assert int(size_term) == a.window(span, stride, 0).size
    assert jump_term.value == a.jump * stride


# ---------------------------------------------------------------------------------------------
# shared counts: equal layers on equal inputs share one Counts, which is what each would compute


def _each_alone(g: Any) -> list[Any]:
    return [n.layer.counts(n.in_shapes, n.out_shape) for n in g.nodes]


@pytest.mark.parametrize("name", ["resnet152", "densenet121", "mobilenet_v3_large", "efficientnet_b0", "inception_v3"])
def test_shared_counts_are_each_layers_own(name: str) -> None:
    g = graph.build(spec.load(name))
    shared = g.counts()
    assert shared == _each_alone(g)
    # the repeated blocks do share: far fewer distinct objects than layers
    assert len({id(c) for c in shared}) < len(shared)


def test_equal_layers_share_and_unequal_ones_do_not() -> None:
    text = ("input: [4, 8, 8]\nlayers:\n  - upsample: {scale_factor: [2, 3]}\n  - upsample: {scale_factor: [2, 3]}\n"
            "  - conv2d: {out_channels: 4, kernel_size: 3}\n  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}\n"
            "  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}\n")
    g = graph.build(spec.load("t.yaml", text=text))
    assert [n.out_shape for n in g.nodes] == [(4, 16, 24), (4, 32, 72), (4, 30, 70), (4, 30, 70), (4, 30, 70)]
    shared = g.counts()
    assert shared == _each_alone(g)
    assert shared[3] is shared[4] and shared[2] is not shared[3]
    report = analysis.analyse(g)
    assert [r.label for r in report.layers] == [n.layer.describe() for n in g.nodes]
    assert report.layers[0].label == "×2x3 nearest"


def test_a_layer_that_cannot_be_hashed_is_counted_alone() -> None:
    # every argument type validates to something hashable; a layer built around validation
    # with a list must still be counted (alone) rather than fail
    g = graph.build(spec.load("t.yaml", text="input: [4, 8, 8]\nlayers:\n  - relu\n  - relu\n"))
    odd = layers.REGISTRY["upsample"].model_construct(scale_factor=[2, 2])
    for n in g.nodes:
        n.layer = odd
    with pytest.raises(TypeError):
        hash(odd)
    assert g.counts() == _each_alone(g)


@pytest.mark.parametrize("seed", range(40))
def test_random_network_json_is_json_dumps_of_to_dict(seed: int) -> None:
    # every layer type in random arrangements: branches, merges, permuted layouts, whole fields
    import yaml
    from random_networks import random_network

    text = yaml.safe_dump(random_network(seed), sort_keys=False)
    report = analysis.analyse(spec.load(f"random{seed}.yaml", text=text), batch=3)
    assert render_json(report) == json.dumps(report.to_dict(), indent=2) + "\n"
