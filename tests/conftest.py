"""Shared fixtures: running the CLI in-process, one-layer probes, golden-file regeneration, and the
check that every report the suite produces adds up."""

from __future__ import annotations

import functools
import json
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import settings

from cnncalc import analysis, source, spec
from cnncalc.cli import cli
from cnncalc.constants import DTYPE_BYTES
from cnncalc.memory import MemoryModel
from cnncalc.report import LayerRow, MemoryEstimate, Report

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


@functools.cache
def measure_memory() -> types.ModuleType:
    """``benchmarks/measure_memory.py`` (what autograd saves, measured in PyTorch), loaded once."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "measure_memory.py"
    spec_ = importlib.util.spec_from_file_location("measure_memory", path)
    assert spec_ is not None and spec_.loader is not None
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    return module


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
    """The per-row figures add up to the totals, and the memory rows to the memory totals.

    One definition, run by :func:`every_report_adds_up` on every analysis the suite produces.
    """
    t, rows = report.totals, report.layers
    assert t.params == sum(r.params for r in rows)
    assert t.buffers == sum(r.buffers for r in rows)
    assert t.non_trainable_params == sum(r.non_trainable_params for r in rows)
    assert t.macs == sum(r.macs for r in rows)
    assert t.flops == sum(r.flops for r in rows)
    assert t.activation_elements == sum(r.output_elements for r in rows)
    assert t.activation_bytes == sum(r.output_bytes for r in rows)
    # bytes at the report's dtype: weights as stored, every output at the batch
    size = DTYPE_BYTES[report.dtype]
    assert (t.param_bytes, t.buffer_bytes) == (t.params * size, t.buffers * size)
    assert t.weight_file_bytes == t.param_bytes + t.buffer_bytes
    assert t.activation_bytes_batch == t.activation_bytes * t.batch
    if report.memory is not None:
        m = report.memory
        assert [r.name for r in m.layers] == [r.name for r in rows]
        # autocast keeps fp32 master weights
        assert m.weights == (t.params + t.buffers) * (4 if m.amp else size)
        if not m.amp:  # under autocast a layer's output may be fp32 while the report's dtype is 16-bit
            assert sum(r.output_bytes for r in m.layers) == t.activation_bytes_batch
        assert_memory_adds_up(m)


def assert_memory_adds_up(m: MemoryEstimate) -> None:
    """The training peak is the sum of its breakdown, and of the layers' shares, the input batch and the workspace."""
    if m.training_peak is None:
        assert m.training_breakdown == ()
        return
    breakdown = dict(m.training_breakdown)
    assert sum(breakdown.values()) == m.training_peak
    assert sum(r.peak_bytes for r in m.layers) + breakdown.get("input batch", 0) + m.overhead == m.training_peak


@pytest.fixture(autouse=True)
def every_report_adds_up(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Check, after every test, that each analysis, collapse and memory estimate it produced adds up.

    ``analyse`` is wrapped wherever a module holds it (``from cnncalc.analysis import analyse``),
    so that reports made by the CLI, the API and the tests alike are checked, as torchinfo checks
    every summary its tests print.
    """
    reports: list[Report] = []
    estimates: list[MemoryEstimate] = []
    real_analyse, real_collapse, real_estimate = analysis.analyse, Report.collapse, MemoryModel.estimate

    @functools.wraps(real_analyse)
    def analyse(*args: Any, **kwargs: Any) -> Report:
        reports.append(real_analyse(*args, **kwargs))
        return reports[-1]

    def collapse(self: Report, depth: int) -> Report:
        reports.append(real_collapse(self, depth))
        return reports[-1]

    def estimate(self: MemoryModel, batch: int) -> MemoryEstimate:
        estimates.append(real_estimate(self, batch))
        return estimates[-1]

    for module in list(sys.modules.values()):
        # vars(), not getattr(): a module's __getattr__ may import things
        if module is not None and vars(module).get("analyse") is real_analyse:
            monkeypatch.setattr(module, "analyse", analyse)
    monkeypatch.setattr(Report, "collapse", collapse)
    monkeypatch.setattr(MemoryModel, "estimate", estimate)
    yield
    for report in reports:
        assert_totals_add_up(report)
    for e in estimates:
        assert_memory_adds_up(e)


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
