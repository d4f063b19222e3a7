"""The input schema and cnncalc agree on how a layer type may be spelt: any case, any underscores."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from cnncalc import spec
from cnncalc.cli import cli
from cnncalc.layers import ALIASES, REGISTRY


@pytest.fixture(scope="module")
def input_schema() -> Any:
    r = CliRunner().invoke(cli, ["schema", "input"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return jsonschema.Draft202012Validator(json.loads(r.stdout))


def respellings(word: str) -> list[str]:
    """Spellings that differ only in case and underscores: as PyTorch's classes, shouted, snake-ish."""
    pascal = "".join(part[:1].upper() + part[1:] for part in word.split("_"))
    return [pascal, word.upper(), "_".join(word), word.capitalize() + "_"]


WORDS = sorted({*REGISTRY, *ALIASES})


def _against(schema: Any, ref: str, item: Any) -> list[str]:
    """Errors of ``item`` against one definition of the input schema."""
    wrapped = {"$defs": schema.schema["$defs"], "$ref": f"#/$defs/{ref}"}
    return [e.message for e in jsonschema.Draft202012Validator(wrapped).iter_errors(item)]


@pytest.mark.parametrize("word", WORDS)
def test_respelt_type_is_known_to_both(input_schema: Any, word: str) -> None:
    """cnncalc reads every respelling as the type, and the schema does not flag it as unknown."""
    for key in respellings(word):
        assert spec.canonical_type(key) == ALIASES.get(word, word), key
        cls = REGISTRY[ALIASES.get(word, word)]
        # the type's own item takes the key (its arguments may still be refused: {} lacks them) ...
        assert not [m for m in _against(input_schema, f"{cls.__name__}Item", {key: {}}) if "unexpected" in m], key
        # ... and a block call does not, so that the item has one reading in a file with blocks
        assert _against(input_schema, "Call", {key: None}), key


@pytest.mark.parametrize("text", [
    pytest.param("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 4, kernel_size: 3}\n  - BatchNorm2d\n"
                 "  - ReLU\n  - AdaptiveAvgPool2d: {output_size: 1}\n  - Flatten\n  - Linear: {out_features: 2}\n",
                 id="pytorch class names"),
    pytest.param("input: [3, 8, 8]\nblocks:\n  b: {layers: [ReLU]}\nlayers:\n  - Conv2d: {out_channels: 4, "
                 "kernel_size: 3}\n  - b\n  - LeakyReLU\n  - b: {repeat: 2}\n", id="class names beside blocks"),
    pytest.param("input: [3, 8, 8]\nlayers:\n  - conv_2d: {out_channels: 4, kernel_size: 3}\n  - Leaky_ReLU\n"
                 "  - CAT: {from: [conv_2d, Leaky_ReLU]}\n", id="underscores and aliases"),
])
def test_schema_accepts_class_names_cnncalc_reads(input_schema: Any, text: str) -> None:
    spec.load("t.yaml", text=text)
    assert [e.message for e in input_schema.iter_errors(yaml.safe_load(text))] == []


@pytest.mark.parametrize("text", [
    pytest.param("input: [3, 8, 8]\nlayers:\n  - Convv2d: {out_channels: 4, kernel_size: 3}\n", id="misspelt class"),
    pytest.param("input: [3, 8, 8]\nlayers:\n  - Conv2d: {out_channels: 4}\n", id="class without its arguments"),
    pytest.param("input: [3, 8, 8]\nlayers:\n  - Conv2d\n", id="bare class that needs arguments"),
    pytest.param("input: [3, 8, 8]\nlayers:\n  - Conv-2d: {out_channels: 4, kernel_size: 3}\n", id="hyphen"),
    pytest.param("input: [3, 8, 8]\nlayers:\n  - BatchNorm2d: {momentom: 0.1}\n", id="misspelt argument"),
])
def test_schema_refuses_what_cnncalc_refuses(input_schema: Any, text: str) -> None:
    with pytest.raises(spec.SpecError):
        spec.load("t.yaml", text=text)
    assert not input_schema.is_valid(yaml.safe_load(text))
