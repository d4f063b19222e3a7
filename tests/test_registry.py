"""Walks the whole layer registry: every type is documented, decided, tested, generated and round-trips.

The evidence for each type lives with its family, in tests/layers/test_<family>.py (collected by
tests/layers); a failure here names the table and the file to add to, and the checklist.
"""

from __future__ import annotations

import re
from typing import Any

import layers
import pytest

from cnncalc.conventions import CONVENTIONS
from cnncalc.layers import REGISTRY, Layer, lookup
from cnncalc.layers.peers import TOOLS, Undecided

TYPES = sorted(REGISTRY)


def missing(name: str, what: str, table: str) -> str:
    """The failure message: what is missing, where it goes, and the checklist."""
    return (f"layer type '{name}' has no {what}: add it to {table} in {layers.where(name)} "
            f"(see the checklist in {layers.CHECKLIST})")


@pytest.mark.parametrize("name", TYPES)
def test_documented(name: str) -> None:
    cls = REGISTRY[name]
    assert cls.__doc__ and cls.__doc__.strip(), f"{name} has no docstring"
    module_doc = __import__(cls.__module__, fromlist=["x"]).__doc__ or ""
    assert module_doc.strip(), f"the module of {name} states no rules"


@pytest.mark.parametrize("name", TYPES)
def test_rules_name_the_type(name: str) -> None:
    """The family's docstring, the source of the rule tables in the docs, names the type as a word."""
    cls = REGISTRY[name]
    module_doc = __import__(cls.__module__, fromlist=["x"]).__doc__ or ""
    stem = re.sub(r"[123]d$", "", name)
    # conv1d/2d/3d may be written once as conv1d/2d/3d, or by its stem with its dimensions
    named = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", module_doc) or (
        stem != name and re.search(rf"(?<![\w-]){re.escape(stem)}(?:\d?d?/)*{name[-2:]}", module_doc))
    assert named, f"the docstring of {cls.__module__} does not name '{name}' (see {layers.CHECKLIST})"


@pytest.mark.parametrize("name", TYPES)
def test_has_a_family_test_module(name: str) -> None:
    assert layers.module(layers.family(name)) is not None, (
        f"layer type '{name}' has no family test module: create {layers.where(name)} "
        f"(see the checklist in {layers.CHECKLIST})")


@pytest.mark.parametrize("name", TYPES)
def test_has_an_arithmetic_case(name: str) -> None:
    assert name in layers.names("CASES") | layers.names("MERGE_CASES"), missing(name, "arithmetic case", "CASES")


@pytest.mark.parametrize("name", TYPES)
def test_has_a_torch_twin(name: str) -> None:
    assert name in layers.mapping("TWINS"), missing(name, "torch twin", "TWINS")


@pytest.mark.parametrize("name", TYPES)
def test_has_a_saved_tensor_rule(name: str) -> None:
    assert name in layers.names("SAVED"), missing(name, "saved-tensor rule", "SAVED")


@pytest.mark.parametrize("name", TYPES)
def test_has_a_random_generator(name: str) -> None:
    generated = set(layers.mapping("GENERATORS")) | layers.mapping_set("WIRED")
    assert name in generated, missing(name, "random generator", "GENERATORS")


@pytest.mark.parametrize("name", TYPES)
def test_has_a_hypothesis_strategy(name: str) -> None:
    strategies = layers.mapping("STRATEGIES")
    assert name in strategies or re.sub(r"[123]d$", "", name) in strategies, \
        missing(name, "hypothesis strategy", "STRATEGIES")


@pytest.mark.parametrize("name", TYPES)
def test_every_convention_decided(name: str) -> None:
    """Each peer tool's count is stated on the class, and it counts the type's first case."""
    cls = REGISTRY[name]
    assert cls.peers is not None, (f"layer type '{name}' has no peers: state what {', '.join(TOOLS)} count "
                                   f"in {cls.__module__} (see the checklist in {layers.CHECKLIST})")
    case = _first_case(name)
    layer = cls.model_validate(dict(case["args"] or {}))
    ins = case["ins"]
    out = layer.infer(ins)
    for convention in CONVENTIONS.values():
        macs, flops = convention.figures(layer, ins, out)
        assert macs >= 0 and flops >= 0


def test_the_tools_a_type_decides_are_conventions() -> None:
    assert set(TOOLS) <= set(CONVENTIONS)


def test_an_undecided_type_fails_loudly() -> None:
    class Undecided_(Layer):
        type_name = "mystery"

    layer = Undecided_()
    with pytest.raises(Undecided, match=r"convention 'thop' has not decided layer type 'mystery'.*adding-a-layer"):
        CONVENTIONS["thop"].figures(layer, [(3, 4, 4)], (3, 4, 4))
    assert CONVENTIONS["torchvision"].figures(layer, [(3, 4, 4)], (3, 4, 4)) == (0, 0)  # MACs: no per-type rule


def _first_case(name: str) -> dict[str, Any]:
    """The arguments and input shapes of the type's first arithmetic case."""
    for row in layers.table("CASES"):
        if lookup(row.values[0]).type_name == name:  # type: ignore[union-attr]
            return {"args": row.values[1], "ins": [tuple(row.values[2])]}
    for row in layers.table("MERGE_CASES"):
        if row.values[0] == name:
            return {"args": row.values[1], "ins": [tuple(s) for s in row.values[2]]}
    pytest.fail(missing(name, "arithmetic case", "CASES"))


@pytest.mark.parametrize("name", TYPES)
def test_json_round_trip(name: str) -> None:
    cls = REGISTRY[name]
    layer = cls.model_validate(dict(_first_case(name)["args"] or {}))
    again = cls.model_validate_json(layer.model_dump_json(by_alias=True, exclude_unset=True))
    assert again == layer
