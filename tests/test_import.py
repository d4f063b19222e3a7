"""``cnncalc import`` on plain-torch models: every figure checked against PyTorch itself, or a clear refusal.

What "exact" means (issue 15): the parameters and buffers are PyTorch's; every call of every leaf
module has a row of its output shape; the FLOPs under ``--convention torch`` are FlopCounterMode's
at batch 1 (and the MACs half of them: these models multiply only by weights); the saved
activations at batch 2 are what ``saved_tensors_hooks`` sees; and ``export --to pytorch --check``
of the imported description runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import import_models as models  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from conftest import measure_memory  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc import spec  # noqa: E402
from cnncalc.cli import cli  # noqa: E402
from cnncalc.graph import build  # noqa: E402
from cnncalc.importer import ImportRefused, from_torch, mapping_markdown  # noqa: E402
from cnncalc.importer.mapping import PATTERNS, TABLE  # noqa: E402
from cnncalc.memory import MemoryModel  # noqa: E402

pytestmark = pytest.mark.torch

measure = measure_memory()

SHAPE = (3, 32, 32)
MODELS = {
    "gates (SE, ECA, split attention, space-to-depth)": models.Gates,
    "attentions (BoTNet's MHSA, timm's global context, bmm)": models.Attentions,
    "kernels (timm's selective kernel and split attention: stack, radix sum and softmax)": models.Kernels,
    "mixed (splits, shuffles, interpolate, layer scale, LayerNorms, drop path)": models.Mixed,
    "classic (pad, pools, transposed conv, PReLU, GroupNorm, InstanceNorm, softmax)": models.Classic,
    "lists (interleaved ModuleLists of sequentials, an item picked from a list)": models.Lists,
    "views (reshapes of a permuted tensor: a view, and a copy first)": models.Views,
    "mixers (PoolFormer's pool(x) - x, GCNet's broadcast add)": models.Mixers,
    "heads (q, k, v chunked: channel slices matmul copies at a larger batch)": models.Heads,
    "same pool (TF-'same' max pooling: -inf padding first)": models.SamePool,
    "slice norm (a GroupNorm on a channel slice: torch copies it first)": models.SliceNorm,
    "standardised (BiT's StdConv2d, NF-Nets' ScaledStdConv2d and its TF-same form)": models.Standardised,
    "padded (reflection, replication, circular padding; blur pooling's fixed filter; BatchNorm1d on [N, C])":
        models.Padded,
    "responses (ConvNeXt-V2's GRN: timm's channels-first and -last, the paper's; SSD's L2Norm)": models.Responses,
    "norms (SimpleNorm, SimpleNorm2d, RmsNorm2d, nn.RMSNorm, filter response norm, GroupNorm and "
    "LayerNorm2d without bias, a learnable scalar affine, StarReLU)": models.Norms,
}


def imported(make: Callable[[], nn.Module], shape: tuple[int, ...] = SHAPE) -> str:
    """The description of ``make()``, built on the meta device as ``cnncalc import`` builds it."""
    with torch.device("meta"):
        model = make()
    return from_torch(model, shape)


def real(make: Callable[[], nn.Module]) -> nn.Module:
    torch.manual_seed(0)
    return make().eval()


def leaf_calls(model: nn.Module, shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Every call of every leaf module, as a forward hook sees it: ``path`` for the first, ``path_k`` after."""
    seen: dict[str, int] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    for name, m in model.named_modules():
        if name and not list(m.children()):
            def hook(mod: nn.Module, inp: object, out: torch.Tensor, name: str = name) -> None:
                k = seen.get(name, 0)
                seen[name] = k + 1
                shapes[name if k == 0 else f"{name}_{k}"] = tuple(out.shape[1:])
            handles.append(m.register_forward_hook(hook))
    with torch.no_grad():
        model(torch.randn(1, *shape))
    for h in handles:
        h.remove()
    return shapes


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_params_buffers_and_every_leaf_call(make: Callable[[], nn.Module]) -> None:
    text = imported(make)
    model = real(make)
    report = cnncalc.analyse(text)
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    # cnncalc's buffers are the running statistics (num_batches_tracked is not counted)
    assert report.totals.buffers == sum(b.numel() for b in model.buffers() if b.is_floating_point())
    # a leaf module is the row giving its output, even one computing several ops (SpaceToDepth)
    rows = {r.name: tuple(r.output_shape) for r in report.layers}
    calls = leaf_calls(model, SHAPE)
    assert calls, "the model has leaf modules"
    for name, shape in calls.items():
        assert rows.get(name) == shape, name


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_flops_are_flop_counter_modes(make: Callable[[], nn.Module]) -> None:
    text = imported(make)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        real(make)(torch.randn(1, *SHAPE))
    flops = counter.get_total_flops()
    assert flops > 0
    assert cnncalc.analyse(text, convention="torch").totals.flops == flops
    assert cnncalc.analyse(text).totals.macs * 2 == flops


def _no_drop_path(model: nn.Module) -> nn.Module:
    # drop path is the identity in eval, where the model was captured; train it as eval runs it
    for m in model.modules():
        if isinstance(m, models.DropPath):
            m.p = 0.0
    return model


@pytest.mark.parametrize("batch", [2, 3])
@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_saved_activations_are_autograds(make: Callable[[], nn.Module], batch: int) -> None:
    text = imported(make)
    torch.manual_seed(0)
    model = measure.cuda_dropout(_no_drop_path(make()))
    want = measure.saved_bytes(model, torch.randn(batch, *SHAPE))
    graph = build(spec.load("imported.yaml", text=text))
    assert MemoryModel(graph, optimizer="sgd").estimate(batch).saved == want


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_export_check_of_the_imported_description(make: Callable[[], nn.Module], tmp_path: Path) -> None:
    path = tmp_path / "imported.yaml"
    path.write_text(imported(make))
    result = CliRunner().invoke(cli, ["export", str(path), "--to", "pytorch", "--check"])
    assert result.exit_code == 0, result.output
    namespace: dict[str, object] = {}
    exec(compile(result.stdout, "exported.py", "exec"), namespace)  # the module our own export wrote
    exported = namespace["Model"]()  # type: ignore[operator]
    assert sum(p.numel() for p in exported.parameters()) == sum(p.numel() for p in real(make).parameters())


def test_rows_are_named_by_module_path_and_calling_module() -> None:
    text = imported(models.Gates)
    names = [r.name for r in cnncalc.analyse(text).layers]
    # leaf modules by their path; functional ops by the module calling them, numbered when repeated
    assert "stem.0" in names and "se.fc1" in names and "eca.conv" in names
    assert "se.mul" in names and "split_attn.sum" in names and "split_attn.sum_1" in names
    assert "mean" in names  # x.mean((2, 3)) in the top module's forward


def test_a_module_called_twice_gets_path_k() -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.conv2, self.relu = nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3), nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.relu(self.conv2(self.relu(self.conv1(x))))

    names = [r.name for r in cnncalc.analyse(imported(Twice)).layers]
    assert names == ["conv1", "relu", "conv2", "relu_1"]


def test_the_description_reads_as_the_module_tree() -> None:
    text = imported(models.Mixed)
    assert "- sequential:  # import_models.ConvNeXtBlock" in text
    assert "- identity: {name: drop_path}" in text  # drop path in eval: the input itself
    assert "- flatten: {name: s2d, end_dim: 3}" in imported(models.Gates)  # the op giving SpaceToDepth's output
    assert "- layernorm2d: {name: norm}" in text  # permute, layer_norm, permute in one module
    assert "channel_shuffle: {name: channel_shuffle, groups: 2}" in text  # the view/transpose idiom


def test_a_standardised_weight_is_one_conv_row_with_its_options() -> None:
    text = imported(models.Standardised)
    assert ("- conv2d: {name: stem, out_channels: 16, kernel_size: 3, stride: 2, padding: 1, bias: false, "
            "weight_standardization: true, ws_eps: 1e-08}") in text
    # γ written as the model's constant: γ·fan_in^−½ is the scale the model multiplies its gain by
    assert "weight_standardization: true, ws_gain: true, ws_gamma: 1.7139588594436646, ws_eps: 1e-05}" in text
    # TF's SAME padding stays a row of its own before the convolution, as for timm's Conv2dSame
    assert "- zeropad2d: {name: conv2_pad, padding: [0, 1, 0, 1]}" in text
    assert "{name: conv2, out_channels: 32, kernel_size: 3, stride: 2, weight_standardization: true" in text
    assert "- layerscale: {name: mul, scalar: true}" in text  # the skip-init gain, one value


@pytest.mark.parametrize("case", models.REFUSED.values(), ids=models.REFUSED.keys())
def test_refused_with_module_path_op_and_source_line(case: tuple[Callable[[], nn.Module], str, str]) -> None:
    make, op, why = case
    with pytest.raises(ImportRefused) as err:
        imported(make)
    (problem,) = err.value.problems
    assert problem.layer_type is not None and problem.layer_type.startswith(op)
    assert problem.layer  # the module path
    assert problem.file is not None and problem.line is not None
    assert why in problem.message
    assert "\n" not in err.value.format()


def test_parameters_forward_never_uses_are_refused() -> None:
    with pytest.raises(ImportRefused, match=r"not used by forward at this input: aux\.weight, aux\.bias"):
        imported(models.Unused)


def test_several_inputs_are_refused() -> None:
    class Two(nn.Module):
        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return x + y

    with torch.device("meta"):
        model = Two()
    with pytest.raises(ImportRefused, match="takes 2 tensor inputs"):
        from_torch(model, SHAPE)


def test_a_model_with_weights_is_left_as_it_is() -> None:
    model = models.Classic().eval()
    before = model.conv.weight.detach().clone()
    text = from_torch(model, SHAPE)
    assert model.conv.weight.device.type == "cpu" and torch.equal(model.conv.weight, before)
    assert cnncalc.analyse(text).totals.params == sum(p.numel() for p in model.parameters())


def test_the_mapping_table_is_rendered_from_the_rules() -> None:
    table = mapping_markdown()
    for rule in TABLE:
        assert all(f"`{op}`" in table for op in rule.ops)
    for pattern in PATTERNS:
        assert pattern.torch in table


def test_the_docs_hold_the_table_the_code_renders() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "import.md").read_text()
    marker = "tests/test_import.py checks that this copy is the same -->\n\n"
    assert doc.split(marker, 1)[1] == mapping_markdown()


def test_an_op_whose_result_nothing_reads_is_still_counted() -> None:
    class Aux(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.aux, self.pool = nn.Conv2d(3, 4, 3), nn.Conv2d(4, 2, 1), nn.MaxPool2d(2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            self.aux(y)  # computed in eager PyTorch, as FlopCounterMode and the hooks see
            return self.pool(y)

    report = cnncalc.analyse(imported(Aux, (3, 8, 8)), convention="torch")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        real(Aux)(torch.randn(1, 3, 8, 8))
    assert report.totals.flops == counter.get_total_flops()
    assert [w.layer for w in report.warnings] == ["aux"]  # it reaches no output, and cnncalc says so
    assert report.totals.outputs[0][0] == "pool"


def test_lists_interleaved_with_modules_are_dissolved_and_still_exact() -> None:
    # convs[i] and bns[i] alternate, with the shared ReLU between: no group can hold either list
    # (it would be wired as one unit), so their items are rows of the caller named by their paths,
    # as named_modules() names them, and the caller's add keeps the caller's name
    make = lambda: nn.Sequential(nn.Conv2d(3, 32, 1), models.Res2Bottleneck())  # noqa: E731
    text = imported(make)
    names = [r.name for r in cnncalc.analyse(text).layers]
    assert names[5:10] == ["1.convs.0", "1.bns.0", "1.relu", "1.add", "1.convs.1"]
    modules = dict(real(make).named_modules())
    assert all(n in modules for n in names[5:10] if n != "1.add")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        real(make)(torch.randn(1, *SHAPE))
    assert cnncalc.analyse(text, convention="torch").totals.flops == counter.get_total_flops()
    assert cnncalc.analyse(text).totals.params == sum(p.numel() for p in real(make).parameters())


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_the_users_module_is_left_as_it_was(device: str) -> None:
    # the capture works on a meta copy: the module keeps its own tensors (not fake ones) and its
    # training mode, and importing it twice gives the same description
    with torch.device(device):
        model = models.Gates()
    model.train()
    before = {name: (t, t.device) for name, t in [*model.named_parameters(), *model.named_buffers()]}
    first = from_torch(model, SHAPE)
    after = {name: (t, t.device) for name, t in [*model.named_parameters(), *model.named_buffers()]}
    assert all(after[n][0] is before[n][0] and after[n][1] == before[n][1] for n in before)
    assert all(m.training for m in model.modules())
    assert from_torch(model, SHAPE) == first
def test_an_exported_weight_standardised_convolution_imports_back_as_itself(tmp_path: Path) -> None:
    text = ("name: ws\ninput: [3, 16, 16]\nlayers:\n"
            "  - conv2d: {name: a, out_channels: 8, kernel_size: 3, padding: 1, bias: false, "
            "weight_standardization: true, ws_eps: 1.0e-08}\n"
            "  - conv2d: {name: b, out_channels: 8, kernel_size: 3, stride: 2, groups: 2, "
            "weight_standardization: true, ws_gain: true, ws_gamma: 1.7139588594436646}\n"
            "  - flatten: {name: f, start_dim: 2}\n"
            "  - conv1d: {name: c, out_channels: 4, kernel_size: 3, weight_standardization: true}\n")
    source = tmp_path / "ws.yaml"
    source.write_text(text)
    exported = tmp_path / "ws.py"
    result = CliRunner().invoke(cli, ["export", str(source), "--to", "pytorch", "-o", str(exported)])
    assert result.exit_code == 0, result.output
    assert "class WSConv2d(nn.Conv2d):" in exported.read_text()
    result = CliRunner().invoke(cli, ["import", f"{exported}:Model", "--input", "3x16x16"])
    assert result.exit_code == 0, result.output
    for layer in ("a", "b", "c"):
        (line,) = [ln for ln in text.splitlines() if f"{{name: {layer}," in ln]
        assert line.replace("1.0e-08", "1e-08") in result.stdout
    want, got = cnncalc.analyse(text, batch=2).to_dict(), cnncalc.analyse(result.stdout, batch=2).to_dict()
    assert {k: v for k, v in got["totals"].items() if k != "name"} == \
        {k: v for k, v in want["totals"].items() if k != "name"}
