"""Shared fixtures: running the CLI in-process, one-layer probes, golden-file regeneration."""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import settings

from cnncalc import analysis, source, spec
from cnncalc.cli import cli
from cnncalc.report import LayerRow, Report

GOLDEN = Path(__file__).parent / "golden"

# The torchvision wheel on PyPI is a CUDA build whose C operators do not load with a CPU torch:
# importing torchvision then fails in its meta registrations ("operator torchvision::nms does not
# exist"), and so does every tool that imports it (ptflops). Nothing here needs those operators
# (the models are built and traced on the meta device), so an empty module stands in for them.
sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))

# Property tests draw the same examples on every run, so that CI is reproducible, and have no
# deadline, as shared runners are slow at times; HYPOTHESIS_PROFILE=explore draws new ones.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/* from the current output")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def run(*args: str, input: str | None = None) -> Any:
    """Invoke the CLI in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def network_text(input_shape: list[int], items: list[Any], **extra: Any) -> str:
    """A description as YAML text."""
    return yaml.safe_dump({"input": input_shape, "layers": items, **extra}, sort_keys=False)


def analyse_text(text: str, **kw: Any) -> Report:
    """Load and analyse a description given as text."""
    return analysis.analyse(spec.load("test.yaml", text=text), **kw)


def probe(layer_type: str, args: dict[str, Any] | None, input_shape: list[int]) -> LayerRow:
    """The row of a single layer applied to ``input_shape``."""
    item: Any = {layer_type: args} if args is not None else layer_type
    return analyse_text(network_text(input_shape, [item])).layers[0]


def assert_totals_add_up(report: Report) -> None:
    """The totals equal the sum of the rows."""
    t = report.totals
    assert t.params == sum(r.params for r in report.layers)
    assert t.buffers == sum(r.buffers for r in report.layers)
    assert t.non_trainable_params == sum(r.non_trainable_params for r in report.layers)
    assert t.macs == sum(r.macs for r in report.layers)
    assert t.flops == sum(r.flops for r in report.layers)
    assert t.activation_elements == sum(r.output_elements for r in report.layers)
    assert t.activation_bytes == sum(r.output_bytes for r in report.layers)


def load_json(text: str) -> Any:
    return json.loads(text)


#: A valid command line for each command that reads a network (tests add one thing to it).
COMMAND_LINES: dict[str, list[str]] = {
    "report": ["report", "lenet5"],
    "explain": ["explain", "lenet5"],
    "fit": ["fit", "lenet5", "--memory", "1GiB"],
    "sweep": ["sweep", "lenet5"],
    "export": ["export", "lenet5", "--to", "pytorch"],
    "check": ["check", "lenet5", "--max-params", "1G"],
    "diff": ["diff", "lenet5", "lenet5"],
}


@pytest.fixture(params=["C", "Python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with PyYAML's C loader (when built with libyaml) and with its pure-Python one."""
    if request.param == "C":
        if not hasattr(yaml, "CSafeLoader"):
            pytest.skip("PyYAML is built without libyaml")
        monkeypatch.setattr(source, "_Loader", yaml.CSafeLoader)
    else:
        monkeypatch.setattr(source, "_Loader", yaml.SafeLoader)
    return str(request.param)
