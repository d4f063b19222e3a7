"""Words that mislead: fit's answers, typo suggestions of the input's rank, PyTorch's class names, and
the input shape written as on the command line."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import cnncalc
from cnncalc import layers, spec
from cnncalc.cli import parse_shape
from cnncalc.errors import SpecError
from tests.conftest import run

# ---------------------------------------------------------------------------------------------
# cnncalc fit

BUDGETS = ["1MiB", "64MiB", "512MiB", "1GiB", "2GiB", "16GiB", "80GB"]


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize(("name", "options"), [("vgg16", []), ("lenet5", []), ("resnet50", ["--optimizer", "none"]),
                                               ("mobilenet_v2", ["--amp"])])
def test_fit_says_fits_exactly_where_a_batch_fits(name: str, options: list[str], budget: str) -> None:
    table = run("fit", name, "--memory", budget, *options)
    data = json.loads(run("fit", name, "--memory", budget, *options, "-f", "json").stdout)
    lines = table.stdout.splitlines()
    # the first line states the question; no answer is given before the answers
    assert not re.search(r"\bfits?\b", lines[0])
    answers = {"training": data["training_batch"], "inference": data["inference_batch"]}
    said = {}
    for line in lines[1:]:
        kind = "inference" if line.startswith("inference") else "training"
        said[kind] = line
        batch = answers[kind]
        if batch:
            assert re.search(rf"\bbatch {batch:,} fits\b", line) and "not" not in line
        else:
            assert "does not fit" in line and not re.search(r"\bbatch \d[\d,]* fits\b", line)
    assert set(said) == {k for k, v in answers.items() if v is not None}
    nothing_fits = (answers["training"] if answers["training"] is not None else answers["inference"]) == 0
    assert table.exit_code == (1 if nothing_fits else 0)


# ---------------------------------------------------------------------------------------------
# typo suggestions follow the input's rank

#: Types made for one number of spatial axes, by their stem: conv → {1: conv1d, 2: conv2d, 3: conv3d}.
RANKED: dict[str, dict[int, str]] = {}
for _t in layers.REGISTRY:
    if (_m := re.fullmatch(r"(.+)([123])d", _t)) and _m.group(1) not in layers.REGISTRY:
        RANKED.setdefault(_m.group(1), {})[int(_m.group(2))] = _t
STEMS = sorted(s for s, ranks in RANKED.items() if len(ranks) == 3)


def _suggestion(input_shape: list[int], word: str) -> str | None:
    text = yaml.safe_dump({"input": input_shape, "layers": [word]})
    with pytest.raises(SpecError) as e:
        spec.load("net.yaml", text=text)
    (problem,) = e.value.problems
    found = re.search(r"did you mean '([^']+)'", problem.message)
    return found.group(1) if found else None


def test_the_stems_are_there() -> None:
    assert {"conv", "batchnorm", "maxpool", "avgpool", "adaptiveavgpool", "convtranspose"} <= set(STEMS)


@pytest.mark.parametrize("stem", STEMS)
@pytest.mark.parametrize("spatial", [1, 2, 3])
def test_a_type_without_its_rank_suggests_the_inputs(stem: str, spatial: int) -> None:
    shape = [3] + [16] * spatial
    assert _suggestion(shape, stem) == RANKED[stem][spatial]


@pytest.mark.parametrize("spatial", [1, 2, 3])
def test_a_typo_suggests_a_type_of_the_inputs_rank(spatial: int) -> None:
    shape = [3] + [16] * spatial
    assert _suggestion(shape, "batchnrom") == f"batchnorm{spatial}d"
    assert _suggestion(shape, f"cnov{spatial}d") == f"conv{spatial}d"


# ---------------------------------------------------------------------------------------------
# PyTorch's class names


def _torch_modules() -> list[str]:
    torch_nn = pytest.importorskip("torch.nn")
    return sorted(n for n in dir(torch_nn) if isinstance(getattr(torch_nn, n), type)
                  and issubclass(getattr(torch_nn, n), torch_nn.Module))


def test_pytorch_class_names_name_the_types() -> None:
    # every torch.nn module whose name is a cnncalc type but for case names that type
    names = _torch_modules()
    matched = {n: spec.canonical_type(n) for n in names if n.lower() in layers.REGISTRY}
    assert {"Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "AdaptiveAvgPool2d", "Linear", "Flatten",
            "ConvTranspose2d", "LayerNorm", "GELU", "SiLU", "Hardswish"} <= set(matched)
    assert all(matched[n] == n.lower() for n in matched)
    assert spec.canonical_type("Sequential") == "sequential"
    # and every cnncalc type is reached from a spelling that differs in case and underscores only
    for t in layers.REGISTRY:
        for variant in (t.upper(), t.title(), t.replace("_", ""), "_".join(t)):
            assert spec.canonical_type(variant) == t, variant


LOWER = {
    "input": [3, 32, 32],
    "layers": [
        {"conv2d": {"out_channels": 8, "kernel_size": 3, "padding": 1}},
        "batchnorm2d",
        {"relu": {"inplace": True}},
        {"maxpool2d": {"kernel_size": 2}},
        {"sequential": {"name": "head", "layers": [{"adaptiveavgpool2d": {"output_size": 1}}, "flatten",
                                                    {"linear": {"out_features": 10}}]}},
    ],
}
PYTORCH = {
    "input": "3x32x32",
    "layers": [
        {"Conv2d": {"out_channels": 8, "kernel_size": 3, "padding": 1}},
        "BatchNorm2d",
        {"ReLU": {"inplace": True}},
        {"MaxPool2d": {"kernel_size": 2}},
        {"Sequential": {"name": "head", "layers": [{"AdaptiveAvgPool2d": {"output_size": 1}}, "Flatten",
                                                    {"Linear": {"out_features": 10}}]}},
    ],
}


def test_a_network_in_pytorchs_names_is_the_same_network() -> None:
    assert cnncalc.analyse(PYTORCH).to_dict() == cnncalc.analyse(LOWER).to_dict()
    text = yaml.safe_dump(PYTORCH, sort_keys=False)
    assert cnncalc.analyse(text).to_dict()["layers"] == cnncalc.analyse(LOWER).to_dict()["layers"]


def test_errors_in_pytorchs_names_are_located_at_the_layer() -> None:
    text = "input: [3, 8, 8]\nlayers:\n  - ReLU\n  - Conv2d: {out_channels: 4, kernel_size: 3, stide: 2}\n"
    with pytest.raises(SpecError) as e:
        spec.load("net.yaml", text=text)
    (problem,) = e.value.problems
    assert (problem.line, problem.layer_type) == (4, "conv2d")
    assert "stide" in problem.message and "stride" in problem.message


def test_a_block_of_a_pytorch_name_is_the_block() -> None:
    # a block named as written wins over the type its name folds onto
    data = {"input": [3, 8, 8], "blocks": {"ReLU": {"layers": ["sigmoid", "tanh"]}}, "layers": ["ReLU"]}
    assert [r.type for r in cnncalc.analyse(data).layers] == ["sigmoid", "tanh"]


# ---------------------------------------------------------------------------------------------
# input: 3x32x32


@given(sizes=st.lists(st.integers(1, 512), min_size=1, max_size=4),
       sep=st.sampled_from(["x", "×", ",", " x ", ", "]))
def test_the_input_written_as_on_the_command_line(sizes: list[int], sep: str) -> None:
    written = sep.join(map(str, sizes))
    assert spec.shape_from_text(written) == list(parse_shape(written)) == sizes
    net = spec.load("net.yaml", text=yaml.safe_dump({"input": written, "layers": ["identity"]}))
    assert net.input == sizes


@pytest.mark.parametrize("text", ["3x", "x3", "3xx3", "3x-1", "3.5x2", "three", "3x3x", "", " ", "3 3", "3x3x3x3x3",
                                  "0x3", "3x0"])
def test_a_bad_input_string_is_a_located_error(text: str) -> None:
    source = f'name: n\ninput: "{text}"\nlayers: [relu]\n'
    with pytest.raises(SpecError) as e:
        spec.load("net.yaml", text=source)
    (problem,) = e.value.problems
    assert (problem.file, problem.line) == ("net.yaml", 2)
    assert problem.message.startswith("input")


def test_the_schema_takes_the_input_string() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(run("schema", "input").stdout)
    for good in ("3x224x224", "3,32,32", "1×28×28", [3, 8, 8]):
        jsonschema.validate({"input": good, "layers": ["relu"]}, schema)
    for bad in ("3x", "3x-1"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"input": bad, "layers": ["relu"]}, schema)

