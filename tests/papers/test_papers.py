"""Sixteen networks written from their papers, against the same networks in plain PyTorch.

Each ``tests/papers/NAME.yaml`` is a network as its paper and reference code have it; its twin in
``tests/papers/torch_models.py`` is written in plain torch, independently of cnncalc's export.
For each, at the description's input (on PyTorch's meta device, which propagates shapes without
computing):

- parameters and float buffers, in total and per leaf module;
- every leaf module's output shape (forward hooks) is the shape of the layer of the same name;
- MACs of convolutions, transposed convolutions and linear layers (forward hooks), per module
  and in total;
- FLOPs under the ``torch`` convention equal FlopCounterMode's count;

and on the CPU, at a smaller input where the paper's is costly (``CASES``):

- the saved activations at batch 2 equal what autograd saves (``saved_tensors_hooks``, each
  storage once, plus every output, which the loss keeps), as tests/test_memory_torch.py measures;
- the receptive field, probed by gradients: the twin in float64, weights positive, max pooling
  as average pooling of the same window and every activation the identity (the same wiring, and
  no path can cancel or block another), each probed output unit backpropagated from on its own
  sample. For every spatial layer, the first and last input position with a nonzero gradient
  must be the bounds cnncalc gives that unit, for units whose field lies inside the input, over
  a full period of units along each axis; so the largest and smallest field agree too.

Then ``cnncalc export --to pytorch --check`` must accept each description.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from cnncalc import analyse, spec
from cnncalc.errors import CnnCalcError
from cnncalc.graph import Graph, build
from cnncalc.memory import MemoryModel

torch = pytest.importorskip("torch")
nn = torch.nn
import torch_reference as ref  # noqa: E402
from conftest import measure_memory  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402
from torch_models import BUILDERS  # noqa: E402

pytestmark = pytest.mark.torch

HERE = Path(__file__).resolve().parent
measure = measure_memory()


@dataclass(frozen=True)
class Case:
    """A network: the CPU input for saved bytes and the probe (None: its own), and what it still lacks.

    ``needs`` maps a check (``counts``, ``saved``, ``rf``, ``export``, or ``all``) to the missing
    construct that makes it fail today; those checks are strict xfails.
    """

    cpu_shape: tuple[int, ...] | None = None
    needs: dict[str, str] = field(default_factory=dict)
    probe_units: int = 8  # units probed along each axis: a full period of every layer
    outputs: tuple[str, ...] = ()


# The constructs still to come, in the syntax of the branches that build them. Each is known by
# a small network in that syntax: while cnncalc refuses it (a located error), the checks that
# need it are strict xfails; once it is accepted they run, and must pass.
_NET = "name: probe\ninput: [4, 8, 8]\n"
OPS = "crop, slice, select, reductions and log_softmax (ops)"
OUTPUTS = "several outputs: 'outputs: [head13, head26]' (graph)"
INPUTS = "blocks with several inputs: 'inputs: [x, skip]' (graph)"
PATTERNS = "a sum over every instance of a repeat: 'from: [blocks.*.skip]' (graph)"
LIKE = "sizes that follow the input: 'size: like input' (graph)"
LIKE_CROP = "a crop to the size of another layer: 'crop: {size: like up}' (ops, graph)"
RF = "exact fields through upsampling and pixel shuffle, per unit (rf)"
SNIPPETS = {
    OPS: _NET + "layers:\n  - crop: {size: 6}\n  - slice: {dim: 1, end: 2}\n  - select: {dim: 2, index: -1}\n"
                "  - max: {dim: 2}\n  - log_softmax: {dim: 1}\n",
    OUTPUTS: _NET + "outputs: [a, b]\nlayers:\n  - relu: {name: a}\n  - sigmoid: {name: b, from: input}\n",
    INPUTS: _NET + "blocks:\n  two:\n    inputs: [x, skip]\n    layers: [add: {from: [x, skip]}]\n"
                   "layers:\n  - relu: {name: a}\n  - two: {from: [a, input]}\n",
    PATTERNS: _NET + "blocks:\n  b:\n    layers: [relu: {name: r}]\nlayers:\n  - b: {name: s, repeat: 2}\n"
                     "  - add: {from: [s.*.r]}\n",
    LIKE: _NET + "layers:\n  - maxpool2d: {kernel_size: 2}\n  - upsample: {size: like input}\n",
    LIKE_CROP: _NET + "layers:\n  - maxpool2d: {kernel_size: 2, name: p}\n  - crop: {size: like p, from: input}\n",
}


@functools.cache
def available(construct: str) -> bool:
    """Whether cnncalc accepts the construct (any other failure than a located refusal counts as yes)."""
    if construct == RF:
        return hasattr(analyse(build(spec.load("probe.yaml", text=_NET + "layers: [relu]\n"))).layers[0].rf.axes[0],
                       "size_min")
    try:
        analyse(build(spec.load("probe.yaml", text=SNIPPETS[construct])))
    except CnnCalcError:
        return False
    except Exception:
        return True
    return True

#: Inputs on the CPU are as small as the architecture allows, as every test runs on a shared CPU.
CASES: dict[str, Case] = {
    "dcgan_generator": Case((100, 16, 16), needs={"rf": RF}),  # the 16x16 case: 5 to 6
    "dcgan_discriminator": Case(),
    "srcnn": Case(),
    "espcn": Case((1, 24, 24), needs={"rf": RF}),
    "c3d": Case((3, 16, 32, 32), probe_units=2),  # no upsampling: every field has period 1
    "m5": Case((1, 8000)),
    "tcn": Case(needs={"all": OPS}),
    "wavenet": Case((256, 1200), needs={"all": PATTERNS}),
    "unet_valid": Case((1, 188, 188), needs={"all": LIKE_CROP, "rf": RF}),
    "unet_padded": Case((3, 32, 32), needs={"all": INPUTS, "rf": RF}),
    "fcn8s": Case((3, 64, 64), needs={"all": LIKE_CROP, "rf": RF}),
    "deeplabv3_aspp": Case((2048, 12, 12), needs={"all": LIKE}),
    "yolov3_tiny": Case((3, 64, 64), needs={"all": OUTPUTS}, outputs=("head13", "head26")),
    "ghostnet": Case((3, 64, 64), needs={"all": OPS}),
    "efficientnet_v2_fused": Case((3, 64, 64)),
    "pointnet": Case((3, 256), needs={"all": OPS}),
}


def graph_of(name: str, shape: Sequence[int] | None = None) -> Graph:
    """The description's graph, at its own input or at ``shape``."""
    path = HERE / f"{name}.yaml"
    network = spec.load(str(path), text=path.read_text(encoding="utf-8"))
    return build(network, tuple(shape)) if shape is not None else build(network)


def cases(check: str) -> list[Any]:
    """Every network, a strict xfail where ``check`` needs a construct cnncalc does not have yet."""
    out = []
    for name, case in CASES.items():
        missing = [c for c in (case.needs.get("all"), case.needs.get(check)) if c and not available(c)]
        marks = [pytest.mark.xfail(strict=True, reason=f"needs {'; '.join(missing)}")] if missing else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


def test_every_network_has_a_description_and_a_twin() -> None:
    assert set(CASES) == set(BUILDERS) == {p.stem for p in HERE.glob("*.yaml")}
    assert len(CASES) == 16


# ---------------------------------------------------------------------------------------------
# counts and shapes at the paper's input


def torch_flops(model: Any, shape: Sequence[int]) -> int:
    """FlopCounterMode's total for one sample."""
    device = next(model.parameters()).device
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.zeros(1, *shape, device=device))
    return int(counter.get_total_flops())


@pytest.mark.parametrize("name", cases("counts"))
def test_counts_and_shapes_match_pytorch(name: str) -> None:
    graph = graph_of(name)
    shape = tuple(graph.input_shape)
    report = analyse(graph)
    with torch.device("meta"):
        model = BUILDERS[name](shape)
    assert report.totals.params == ref.count_params(model)
    assert report.totals.buffers == ref.count_float_buffers(model)
    ours = {row.name: tuple(row.output_shape) for row in report.layers}
    theirs = ref.output_shapes(model, shape)
    missing = sorted(set(theirs) - set(ours))
    assert not missing, f"modules without a layer of the same name: {missing}"
    wrong = {n: (ours[n], s) for n, s in theirs.items() if ours[n] != s}
    assert not wrong
    rows = {row.name: row for row in report.layers}
    for module_name, module in model.named_modules():
        if module_name in theirs:  # a leaf: its own parameters and buffers are the layer's
            assert rows[module_name].params == sum(p.numel() for p in module.parameters()), module_name
            assert rows[module_name].buffers == ref.count_float_buffers(module), module_name
    macs = {n: m for n, m in ref.macs_by_module(model, shape).items() if m}
    assert {n: rows[n].macs for n in macs} == macs
    assert report.totals.macs == sum(macs.values())
    assert analyse(graph, convention="torch").totals.flops == torch_flops(model, shape)


# ---------------------------------------------------------------------------------------------
# saved activations at batch 2, on the CPU


def autograd_saved(model: Any, x: Any) -> int:
    """Bytes autograd saves in a training forward pass, each storage once, plus every output.

    As ``measure_memory.saved_storages``, which keeps one output: parameters, buffers and the
    input batch are left out.
    """
    exclude = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())}
    exclude.add(x.untyped_storage().data_ptr())
    storages: dict[int, int] = {}

    def pack(t: Any) -> Any:
        s = t.untyped_storage()
        if s.data_ptr() not in exclude:
            storages.setdefault(s.data_ptr(), s.nbytes())
        return t

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    for t in out if isinstance(out, tuple) else (out,):
        storages.setdefault(t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
    return sum(storages.values())


@pytest.mark.parametrize("name", cases("saved"))
def test_saved_activations_match_autograd(name: str) -> None:
    shape = CASES[name].cpu_shape or tuple(graph_of(name).input_shape)
    graph = graph_of(name, shape)
    torch.manual_seed(0)
    model = measure.cuda_dropout(BUILDERS[name](shape))
    expected = autograd_saved(model, torch.randn(2, *shape))
    assert MemoryModel(graph, optimizer="sgd").estimate(2).saved == expected


# ---------------------------------------------------------------------------------------------
# the receptive field, by a gradient probe

_IDENTITY = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.SiLU, nn.Hardsigmoid, nn.Hardswish,
             nn.GELU, nn.ELU, nn.Softmax, nn.LogSoftmax)
_MAX_POOL = {nn.MaxPool1d: nn.AvgPool1d, nn.MaxPool2d: nn.AvgPool2d, nn.MaxPool3d: nn.AvgPool3d}


def probe_twin(model: Any) -> Any:
    """The twin in float64 with positive weights, max pooling as average pooling, activations the identity."""
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, _IDENTITY):
                setattr(parent, child_name, nn.Identity())
            elif type(child) in _MAX_POOL:
                assert child.dilation in (1, (1,) * 3), "a dilated max pool has no average-pool twin"
                setattr(parent, child_name, _MAX_POOL[type(child)](child.kernel_size, child.stride, child.padding,
                                                                   child.ceil_mode))
    model = model.double().eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            for key, p in m.named_parameters(recurse=False):
                w = torch.rand(p.shape, generator=gen, dtype=p.dtype) + 0.5
                if key == "weight" and isinstance(m, (nn.Linear, nn.modules.conv._ConvNd)):
                    # each output a weighted mean of its inputs: with the input in [0, 0.01), values stay
                    # small through products (WaveNet's gates, SE) and never overflow to inf, whose
                    # gradient (nan) would be nonzero everywhere
                    w /= w.sum(dim=tuple(range(1, w.dim())), keepdim=True)
                elif key == "bias":
                    w *= 0.01
                p.copy_(w)
    return model


def bounds(axis: Any, unit: int) -> tuple[int, int] | None:
    """First and last input position cnncalc gives ``unit`` along ``axis`` (None: it sees none)."""
    if hasattr(axis, "bounds"):
        return axis.bounds(unit)  # type: ignore[no-any-return]
    # a field the same for every unit: ``size`` positions centred on start + unit·jump
    centre = axis.start + unit * axis.jump
    lo = centre - Fraction(axis.size - 1, 2)
    assert lo.denominator == 1, f"a field of {axis.size} centred on {centre} has no whole first position"
    return int(lo), int(lo) + axis.size - 1


def probed_layers(report: Any, outputs: dict[str, Any], ndim: int) -> list[Any]:
    """Rows of the layers whose output the probe reads: channels-first maps with a local field."""
    return [r for r in report.layers if r.name in outputs and len(r.output_shape) == ndim + 1
            and not r.rf.is_whole and tuple(r.rf.layout[1:]) == tuple(range(ndim))]


def spread(rows: list[Any], most: int) -> list[Any]:
    """At most ``most`` of ``rows``, evenly spread, the last always among them."""
    if len(rows) <= most:
        return rows
    return [rows[round(i * (len(rows) - 1) / (most - 1))] for i in range(most)]


@pytest.mark.parametrize("name", cases("rf"))
def test_receptive_field_matches_a_gradient_probe(name: str, layers: int = 8) -> None:
    limit = CASES[name].probe_units
    shape = CASES[name].cpu_shape or tuple(graph_of(name).input_shape)
    ndim = len(shape) - 1
    report = analyse(graph_of(name, shape))
    model = probe_twin(BUILDERS[name](shape))
    leaves = {n: m for n, m in model.named_modules() if n and next(m.children(), None) is None}
    seen: dict[str, Any] = {}
    handles = [m.register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, o)) for n, m in leaves.items()]
    # one sample per probed unit: ``limit`` units along each axis in turn
    x = (0.01 * torch.rand(ndim * limit, *shape, dtype=torch.float64)).requires_grad_()
    try:
        out = model(x)
    finally:
        for h in handles:
            h.remove()
    for i, name_out in enumerate(CASES[name].outputs or (report.layers[-1].name,)):
        seen[name_out] = out[i] if isinstance(out, tuple) else out  # the network's outputs, whatever computes them
    rows = probed_layers(report, seen, ndim)
    finals = [r for r in rows if r.name in (CASES[name].outputs or (report.layers[-1].name,))]
    checked = 0
    for row in spread([r for r in rows if r not in finals], layers) + finals:
        inside = [[u for u in range(n_out) if (b := bounds(a, u)) is None or (b[0] >= 0 and b[1] < n_in)]
                  for a, n_in, n_out in zip(row.rf.axes, shape[1:], row.output_shape[1:])]
        if not all(inside):
            continue
        fixed = [u[len(u) // 2] for u in inside]
        plan = []  # (sample, axis, unit)
        for axis in range(ndim):
            plan += [(axis * limit + k, axis, u) for k, u in enumerate(inside[axis][:limit])]
        target = sum(seen[row.name][(b, slice(None), *(u if i == axis else fixed[i] for i in range(ndim)))].sum()
                     for b, axis, u in plan)
        (grad,) = torch.autograd.grad(target, x, retain_graph=True)
        for axis in range(ndim):
            support = grad.abs().sum(dim=tuple(d for d in range(1, ndim + 2) if d != axis + 2))
            a = row.rf.axes[axis]
            units = [(b, u) for b, ax, u in plan if ax == axis]
            got, want = [], []
            for b, u in units:
                nonzero = torch.nonzero(support[b]).flatten().tolist()
                got.append((nonzero[0], nonzero[-1]) if nonzero else None)
                want.append(bounds(a, u))
            assert got == want, f"{row.name} along axis {axis}: units {[u for _, u in units]}"
            if len(units) >= getattr(a, "period", 1) and all(w is not None for w in want):
                sizes = [hi - lo + 1 for lo, hi in want]  # type: ignore[misc]
                assert max(sizes) == a.size, row.name
                assert min(sizes) == getattr(a, "size_min", a.size), row.name
        checked += 1
    assert checked, "no layer had a unit whose field lies inside the input"


# ---------------------------------------------------------------------------------------------
# the export


@pytest.mark.parametrize("name", cases("export"))
def test_export_check_accepts_it(name: str, tmp_path: Path) -> None:
    from conftest import run

    shape = CASES[name].cpu_shape or tuple(graph_of(name).input_shape)
    result = run("export", str(HERE / f"{name}.yaml"), "--to", "pytorch", "--check",
                 "--input", "x".join(map(str, shape)), "-o", str(tmp_path / "model.py"))
    assert result.exit_code == 0, result.stderr
