"""Walks the whole layer registry: every type is documented, tested, listed and round-trips."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cnncalc.layers import REGISTRY

TESTS = Path(__file__).parent
ROOT = TESTS.parent


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_documented(name: str) -> None:
    cls = REGISTRY[name]
    assert cls.__doc__ and cls.__doc__.strip(), f"{name} has no docstring"
    module_doc = __import__(cls.__module__, fromlist=["x"]).__doc__ or ""
    assert module_doc.strip(), f"the module of {name} states no rules"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_tested(name: str) -> None:
    # test_layers.py, or the test module of the layer's family (test_ops_*.py)
    cases = "".join(p.read_text() for p in [TESTS / "test_layers.py", *sorted(TESTS.glob("test_ops_*.py")),
                                            *sorted(TESTS.glob("layers/test_*.py"))])
    assert re.search(rf'pytest\.param\("{name}"', cases), f"no rule test for {name} in test_layers.py"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_in_readme(name: str) -> None:
    readme = (ROOT / "README.md").read_text()
    family = {"conv": "conv", "convtranspose": "transposed conv", "maxpool": "max pooling",
              "avgpool": "average pooling", "adaptiveavgpool": "adaptive pooling",
              "adaptivemaxpool": "adaptive pooling", "batchnorm": "batchnorm", "instancenorm": "instancenorm",
              "zeropad": "padding", "globalavgpool": "global", "globalmaxpool": "global",
              "localresponsenorm": "local response norm", "pixelshuffle": "pixel shuffle",
              "pixelunshuffle": "pixel shuffle"}
    stem = re.sub(r"[123]d$", "", name)
    assert family.get(stem, stem) in readme, f"README's counting rules do not mention {name}"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_json_round_trip(name: str) -> None:
    cls = REGISTRY[name]
    required = {k: f for k, f in cls.model_fields.items() if f.is_required()}
    sample = dict.fromkeys(required, 2)
    if name == "chunk":
        sample["index"] = 1
    if name == "permute":
        sample["dims"] = [0, 2, 1]
    if name == "reshape":
        sample["shape"] = [2, -1]
    layer = cls.model_validate(sample)
    again = cls.model_validate_json(layer.model_dump_json(by_alias=True, exclude_unset=True))
    assert again == layer
