"""Frozen layers against PyTorch: what autograd saves, parameter counts, the export.

Each case freezes the same parameters on both sides: ``frozen`` (or :func:`cnncalc.graph.freeze`)
in cnncalc, ``requires_grad_(False)`` on the twin module of that name in PyTorch. cnncalc's
saved activations must equal, to the byte and at two batch sizes, every storage autograd saves
during a ``model.train()`` forward pass (``saved_tensors_hooks``, as tests/test_memory_torch.py
measures it), and its trainable and non-trainable counts must be PyTorch's.
"""

from __future__ import annotations

import random
import zlib
from typing import Any

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from conftest import measure_memory  # noqa: E402

from cnncalc import spec  # noqa: E402
from cnncalc.analysis import analyse  # noqa: E402
from cnncalc.export import check, to_pytorch  # noqa: E402
from cnncalc.graph import Graph, build, freeze  # noqa: E402
from cnncalc.memory import MemoryModel  # noqa: E402

pytestmark = pytest.mark.torch

measure = measure_memory()


def cnncalc_saved(graph: Graph, batch: int, **kw: Any) -> int:
    """cnncalc's saved activations."""
    return MemoryModel(graph, optimizer="sgd", **kw).estimate(batch).saved


def torch_saved(model: Any, shape: tuple[int, ...], batch: int, amp: Any = None) -> int:
    """What autograd saves for ``model`` on a random batch (the batch itself needs no gradient)."""
    torch.manual_seed(0)
    return measure.saved_bytes(measure.cuda_dropout(model), torch.randn(batch, *shape), amp=amp)


def freeze_twin(model: Any, graph: Graph) -> Any:
    """``requires_grad_(False)`` on the twin's module of each frozen layer that has parameters (or on
    the parameter of that name: torchvision's ConvNeXt holds its layer scale as a bare parameter)."""
    for node in graph.nodes:
        if node.frozen and node.layer.params(node.in_shapes):
            try:
                model.get_submodule(node.name).requires_grad_(False)
            except AttributeError:
                model.get_parameter(node.name).requires_grad_(False)
    return model


def trainable(model: Any) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# -- one layer with parameters, frozen or not, its input requiring grad or not -----------------

#: (layer as written, its twin); each is preceded by conv "pre" (frozen or not: whether the
#: layer's input requires grad) on a [4, 8, 8] input.
LAYERS = [
    ("conv2d: {out_channels: 6, kernel_size: 3}", lambda: nn.Conv2d(4, 6, 3)),
    ("conv2d: {out_channels: 6, kernel_size: 3, bias: false}", lambda: nn.Conv2d(4, 6, 3, bias=False)),
    ("conv2d: {out_channels: 6, kernel_size: 3, padding: 1, padding_mode: reflect}",
     lambda: nn.Conv2d(4, 6, 3, padding=1, padding_mode="reflect")),
    ("conv2d: {out_channels: 6, kernel_size: 3, padding: 1, padding_mode: replicate}",
     lambda: nn.Conv2d(4, 6, 3, padding=1, padding_mode="replicate")),
    ("conv2d: {out_channels: 6, kernel_size: 3, padding: 1, padding_mode: circular}",
     lambda: nn.Conv2d(4, 6, 3, padding=1, padding_mode="circular")),
    ("conv2d: {out_channels: 6, kernel_size: 4, padding: same}", lambda: nn.Conv2d(4, 6, 4, padding="same")),
    ("convtranspose2d: {out_channels: 6, kernel_size: 2, stride: 2}", lambda: nn.ConvTranspose2d(4, 6, 2, 2)),
    ("batchnorm2d", lambda: nn.BatchNorm2d(4)),
    ("groupnorm: {num_groups: 2}", lambda: nn.GroupNorm(2, 4)),
    ("instancenorm2d: {affine: true}", lambda: nn.InstanceNorm2d(4, affine=True)),
    ("layernorm", lambda: nn.LayerNorm(8)),
    ("prelu: {num_parameters: 4}", lambda: nn.PReLU(4)),
    ("layerscale", None),  # the twin: LayerScale below
    ("linear: {out_features: 5, in_features: 8}", lambda: nn.Linear(8, 5)),
    ("linear: {out_features: 5, in_features: 8, bias: false}", lambda: nn.Linear(8, 5, bias=False)),
]


class LayerScale(nn.Module):
    """x·γ with a learnable γ of shape [C, 1, 1], as the export writes it."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(c, 1, 1))

    def forward(self, x: Any) -> Any:
        return x * self.gamma


def _twin(make: Any) -> Any:
    return LayerScale(4) if make is None else make()


@pytest.mark.parametrize("layer, make", LAYERS, ids=[y.split(":")[0] + f" {i}" for i, (y, _) in enumerate(LAYERS)])
@pytest.mark.parametrize("pre_frozen, frozen", [(False, True), (True, False), (True, True), (False, False)],
                         ids=["input needs grad, layer frozen", "input frozen, layer trains",
                              "both frozen", "neither"])
def test_layer_saves_what_autograd_saves_when_frozen(layer: str, make: Any, pre_frozen: bool, frozen: bool) -> None:
    flag = f"frozen: {str(frozen).lower()}"
    written = layer[:-1] + f", {flag}}}" if layer.endswith("}") else f"{layer}: {{{flag}}}"
    text = (f"input: [4, 8, 8]\nlayers:\n  - conv2d: {{out_channels: 4, kernel_size: 3, padding: 1, name: pre, "
            f"frozen: {str(pre_frozen).lower()}}}\n  - {written}\n")
    graph = build(spec.load("case.yaml", text=text))
    assert [n.frozen for n in graph.nodes] == [pre_frozen, frozen]
    name = graph.nodes[1].name
    model = nn.Sequential()
    model.add_module("pre", nn.Conv2d(4, 4, 3, padding=1))
    model.add_module(name, _twin(make))
    freeze_twin(model, graph)
    for batch in (2, 3):
        assert cnncalc_saved(graph, batch) == torch_saved(model, (4, 8, 8), batch)
    report = analyse(graph)
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.trainable_params == trainable(model)


class Gate(nn.Module):
    """y·sigmoid(fc(mean(y))) · d(x): a squeeze-excitation gate and a third branch, as three products."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.a, self.fc, self.d = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 1), nn.Conv2d(c, c, 1)

    def forward(self, x: Any) -> Any:
        y = self.a(x)
        return y * torch.sigmoid(self.fc(y.mean((2, 3), keepdim=True))) * self.d(x)


GATE = """
input: [4, 8, 8]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: a}
  - globalavgpool
  - conv2d: {out_channels: 4, kernel_size: 1, name: fc}
  - sigmoid: {name: gate}
  - conv2d: {out_channels: 4, kernel_size: 1, name: d, from: input}
  - multiply: {from: [a, gate, d]}
"""


@pytest.mark.parametrize("frozen", [set(s) for s in
                                    ([], ["a"], ["fc"], ["d"], ["a", "fc"], ["a", "d"], ["fc", "d"], ["a", "fc", "d"])],
                         ids=lambda s: "+".join(sorted(s)) or "none")
def test_multiply_keeps_an_operand_only_for_the_other_ones_gradient(frozen: set[str]) -> None:
    graph = freeze(build(spec.load("gate.yaml", text=GATE)), sorted(frozen))
    model = freeze_twin(Gate(4), graph)
    for batch in (2, 3):
        assert cnncalc_saved(graph, batch) == torch_saved(model, (4, 8, 8), batch)


# -- whole networks: frozen prefixes, middles, BatchNorm only, random sets -------------------------

#: Bundled networks with a plain-torch twin of the same module names (tests/torch_reference.py).
NETWORKS = ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "shufflenet_v2_x1_0", "convnext_tiny",
            "densenet121", "squeezenet1_1", "vgg11"]


def _twin_of(name: str) -> tuple[Any, tuple[int, ...]]:
    model, shape = measure.build(name)
    if shape[1:] == (224, 224):
        shape = (shape[0], 64, 64)  # every tensor scales alike; small keeps the test fast
    return model, shape


def _holders(graph: Graph) -> list[str]:
    return [n.name for n in graph.nodes if n.layer.params(n.in_shapes)]


def _top(graph: Graph) -> list[str]:
    """The top-level children that hold parameters, in order (``layer1``, ``features``...)."""
    return list(dict.fromkeys(name.split(".")[0] for name in _holders(graph)))


def _second(graph: Graph) -> list[str]:
    """The children two levels down that hold parameters (``features.3``), or the top level."""
    out = list(dict.fromkeys(".".join(name.split(".")[:2]) for name in _holders(graph)))
    return out if len(out) > 3 else _top(graph)


def frozen_sets(graph: Graph, seed: int) -> dict[str, list[str]]:
    """Named sets of layers and groups to freeze: a prefix, a middle, BatchNorm only, a random set."""
    parts = _second(graph)
    rng = random.Random(seed)
    k = len(parts)
    return {
        "prefix": parts[: max(1, 2 * k // 3)],
        "middle": parts[k // 3: max(k // 3 + 1, 2 * k // 3)],
        "everything but the head": parts[:-1],
        "batchnorm only": [n.name for n in graph.nodes if n.layer.type_name.startswith("batchnorm")],
        "random": rng.sample(_holders(graph), max(1, len(_holders(graph)) // 3)),
    }


@pytest.mark.parametrize("name", NETWORKS)
def test_frozen_network_saves_what_autograd_saves(name: str) -> None:
    model, shape = _twin_of(name)
    base = build(spec.load(name), shape)
    for n, (what, names) in enumerate(frozen_sets(base, zlib.crc32(name.encode())).items()):
        if not names:
            continue
        graph = freeze(base, names)
        twin = freeze_twin(measure.build(name)[0], graph) if n else freeze_twin(model, graph)
        storages = measure.saved_storages(twin, torch.randn(2, *shape))["storages"].values()
        modules = dict(twin.named_modules())
        # stochastic depth is the identity in the descriptions (as at inference); set aside here
        # as tests/test_memory_torch.py does
        measured = sum(b for b, _, m in storages if type(modules.get(m)).__name__ != "StochasticDepth")
        assert cnncalc_saved(graph, 2) == measured, what
        report = analyse(graph)
        assert report.totals.trainable_params == trainable(twin), what
        assert report.totals.params == sum(p.numel() for p in twin.parameters()), what
        assert report.totals.non_trainable_params == report.totals.params - trainable(twin), what


def random_chain(seed: int) -> str:
    """A random chain of layers with parameters and without, some frozen, with a residual add
    and a gate; every layer named so that its twin can be found."""
    rng = random.Random(seed)
    lines = ["input: [4, 8, 8]", "layers:"]
    menu = [
        "conv2d: {out_channels: 4, kernel_size: 3, padding: 1}",
        "conv2d: {out_channels: 4, kernel_size: 3, padding: 1, padding_mode: reflect}",
        "conv2d: {out_channels: 4, kernel_size: 1, bias: false}",
        "batchnorm2d", "groupnorm: {num_groups: 2}", "prelu: {num_parameters: 4}", "layerscale",
        "relu", "sigmoid", "maxpool2d: {kernel_size: 3, stride: 1, padding: 1}",
        "linear: {out_features: 8, in_features: 8}",
    ]
    for i in range(rng.randint(3, 9)):
        item = rng.choice(menu)
        args = item.split(":", 1)[1].strip()[1:-1] if ":" in item else ""
        kind = item.split(":")[0]
        extra = f"name: l{i}" + (", frozen: true" if rng.random() < 0.4 else "")
        if i > 1 and rng.random() < 0.2:
            lines.append(f"  - add: {{name: l{i}, from: [l{i - 1}, l{rng.randrange(i - 1)}]}}")
            continue
        if i > 1 and rng.random() < 0.15:
            lines.append(f"  - multiply: {{name: l{i}, from: [l{i - 1}, l{rng.randrange(i - 1)}]}}")
            continue
        lines.append(f"  - {kind}: {{{', '.join(x for x in (args, extra) if x)}}}")
    return "\n".join(lines) + "\n"


def _exported(graph: Graph) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(to_pytorch(graph), "<export>", "exec"), namespace)
    return namespace["Model"]()


@pytest.mark.parametrize("seed", range(40))
def test_random_frozen_chain_saves_what_autograd_saves(seed: int) -> None:
    graph = build(spec.load(f"chain{seed}.yaml", text=random_chain(seed)))
    # the twin is the export with its own requires_grad_(False) lines; it must freeze what cnncalc does
    model = _exported(graph)
    modules = dict(model.named_modules())
    assert {n for n, p in model.named_parameters() if not p.requires_grad} == {
        f"{node.name}.{n}" for node in graph.nodes if node.frozen for n, _ in modules[node.name].named_parameters()}
    for batch in (2, 3):
        assert cnncalc_saved(graph, batch) == torch_saved(model, (4, 8, 8), batch)


def test_frozen_layers_under_autocast_save_their_low_precision_copies() -> None:
    text = """
input: [3, 16, 16]
layers:
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1, frozen: true}
  - batchnorm2d: {frozen: true}
  - relu
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - relu
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1, frozen: true}
  - flatten
  - linear: {out_features: 10, frozen: true}
"""
    graph = build(spec.load("amp.yaml", text=text))
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                          nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.Flatten(), nn.Linear(2048, 10))
    for i in (0, 1, 5, 7):
        model[i].requires_grad_(False)
    for batch in (2, 5):
        expected = torch_saved(model, (3, 16, 16), batch, amp=torch.bfloat16)
        assert cnncalc_saved(graph, batch, dtype="bf16", amp=True) == expected


def test_export_check_compares_trainable_counts() -> None:
    graph = freeze(build(spec.load("resnet18")), ["conv1", "bn1", "layer1", "layer2"])
    code = to_pytorch(graph)
    assert "self.layer1.requires_grad_(False)" in code
    message = check(code, graph)
    report = analyse(graph)
    assert f"({report.totals.trainable_params:,} trainable)" in message
    # a module that freezes less than cnncalc says is caught
    with pytest.raises(Exception, match="trainable parameters"):
        check(code.replace("self.layer2.requires_grad_(False)", ""), graph)


@pytest.mark.parametrize("name", ["class", "a-b", "ünï", "0", "with space", 'quo"te', "back\\slash"])
def test_export_freezes_groups_whatever_their_name(name: str) -> None:
    import yaml

    data = {"input": [3, 8, 8], "layers": [
        {"sequential": {"name": name, "frozen": True, "layers": [{"conv2d": {"out_channels": 4, "kernel_size": 3}},
                                                                  "batchnorm2d"]}},
        {"conv2d": {"out_channels": 2, "kernel_size": 1, "name": "head"}}]}
    graph = build(spec.load("names.yaml", text=yaml.safe_dump(data)))
    code = to_pytorch(graph)
    check(code, graph)
    model = _exported(graph)
    # only the head trains: (1·1·4 + 1)·2
    assert trainable(model) == analyse(graph).totals.trainable_params == (1 * 1 * 4 + 1) * 2
