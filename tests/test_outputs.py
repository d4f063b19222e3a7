"""Several outputs (``outputs:``) and branches that reach none.

Each network is written twice, in the format and in plain PyTorch returning a tuple, and
compared on params, every shape, every output, MACs, torch FLOPs, saved bytes and the export.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from conftest import run  # noqa: E402
from graph_twins import agree, graph_of, saved, warnings_of  # noqa: E402
from torch import nn  # noqa: E402

from cnncalc import spec  # noqa: E402
from cnncalc.analysis import analyse  # noqa: E402
from cnncalc.errors import SpecError  # noqa: E402
from cnncalc.graph import INPUT, build  # noqa: E402
from cnncalc.memory import MemoryModel  # noqa: E402

pytestmark = pytest.mark.torch


class TwoHeads(nn.Module):
    """YOLOv3-tiny's shape: a coarse head, and a fine head on the upsampled body plus the stem."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.body = nn.Conv2d(8, 16, 3, padding=1)
        self.act = nn.LeakyReLU(0.1)
        self.head1 = nn.Conv2d(16, 6, 1)
        self.lateral = nn.Conv2d(16, 8, 1)
        self.up = nn.Upsample(scale_factor=2)
        self.head2 = nn.Conv2d(16, 6, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        stem = self.stem(x)
        body = self.act(self.body(self.pool(stem)))
        fine = torch.cat([self.up(self.lateral(body)), stem], 1)
        return self.head1(body), self.head2(fine)


TWO_HEADS = """
    input: [3, 16, 16]
    outputs: [head1, head2]
    layers:
      - conv2d: {out_channels: 8, kernel_size: 3, padding: 1, name: stem}
      - maxpool2d: {kernel_size: 2, name: pool}
      - conv2d: {out_channels: 16, kernel_size: 3, padding: 1, name: body}
      - leakyrelu: {negative_slope: 0.1, name: act}
      - conv2d: {out_channels: 6, kernel_size: 1, name: head1}
      - conv2d: {out_channels: 8, kernel_size: 1, from: act, name: lateral}
      - upsample: {scale_factor: 2, name: up}
      - concat: {from: [up, stem]}
      - conv2d: {out_channels: 6, kernel_size: 3, padding: 1, name: head2}
"""


class AuxClassifier(nn.Module):
    """A classifier with an auxiliary head off its middle (GoogLeNet, Inception v3)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU()
        self.aux = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mid = self.relu1(self.bn1(self.conv1(x)))
        out = self.fc(self.flat(self.pool(self.relu2(self.conv2(mid)))))
        return out, self.aux(mid)


AUX = """
    input: [3, 16, 16]
    outputs: [fc, aux]
    layers:
      - conv2d: {out_channels: 8, kernel_size: 3, stride: 2, padding: 1, name: conv1}
      - batchnorm2d: {name: bn1}
      - relu: {name: relu1}
      - sequential:
          name: aux
          layers:
            - adaptiveavgpool2d: {output_size: 1}
            - flatten
            - linear: {out_features: 5}
      - conv2d: {out_channels: 16, kernel_size: 3, padding: 1, from: relu1, name: conv2}
      - relu: {name: relu2}
      - adaptiveavgpool2d: {output_size: 1, name: pool}
      - flatten: {name: flat}
      - linear: {out_features: 5, name: fc}
"""


class DeepSupervision(nn.Module):
    """U-Net++-like: an early map is an output and is also read further on; outputs out of layer order."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Conv2d(2, 4, 3, padding=1)
        self.side = nn.Conv2d(4, 1, 1)
        self.sig = nn.Sigmoid()
        self.dec = nn.Conv2d(5, 4, 3, padding=1)
        self.final = nn.Conv2d(4, 1, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        enc = self.enc(x)
        side = self.sig(self.side(enc))
        final = self.final(self.dec(torch.cat([enc, side], 1)))
        return final, side, enc


DEEP = """
    input: [2, 12, 12]
    outputs: [final, sig, enc]
    layers:
      - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: enc}
      - conv2d: {out_channels: 1, kernel_size: 1, name: side}
      - sigmoid: {name: sig}
      - concat: {from: [enc, sig]}
      - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: dec}
      - conv2d: {out_channels: 1, kernel_size: 1, name: final}
"""


class Pyramid(nn.Module):
    """An FPN's top-down path: three levels, each an output, the coarser ones upsampled into the finer."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        self.c3 = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        self.up3 = nn.Upsample(scale_factor=2, mode="nearest")
        self.up2 = nn.Upsample(scale_factor=2, mode="nearest")
        self.p1 = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c1 = self.c1(x)
        c2 = self.c2(c1)
        p3 = self.c3(c2)
        p2 = c2 + self.up3(p3)
        p1 = self.p1(c1 + self.up2(p2))
        return p1, p2, p3


PYRAMID = """
    input: [3, 16, 16]
    outputs: [p1, p2, c3]
    layers:
      - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: c1}
      - conv2d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1, name: c2}
      - conv2d: {out_channels: 4, kernel_size: 3, stride: 2, padding: 1, name: c3}
      - upsample: {scale_factor: 2, name: up3}
      - add: {from: [c2, up3], name: p2}
      - upsample: {scale_factor: 2, name: up2}
      - add: {from: [c1, up2]}
      - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: p1}
"""

CASES = [
    pytest.param(TWO_HEADS, TwoHeads, id="two detection heads"),
    pytest.param(AUX, AuxClassifier, id="auxiliary classifier, a group as output"),
    pytest.param(DEEP, DeepSupervision, id="outputs read further on, out of layer order"),
    pytest.param(PYRAMID, Pyramid, id="feature pyramid, three levels"),
]


@pytest.mark.parametrize("text, make", CASES)
def test_several_outputs_agree_with_torch(text: str, make: Callable[[], torch.nn.Module]) -> None:
    graph = agree(text, make())
    assert len(graph.outputs) == len(spec.load("x.yaml", text=textwrap.dedent(text)).outputs)
    assert warnings_of(graph) == []


@pytest.mark.parametrize("text, make", CASES)
def test_leaving_out_an_output_keeps_what_torch_keeps_for_the_others(text: str,
                                                                    make: Callable[[], nn.Module]) -> None:
    """With output k left out of the list, cnncalc keeps what autograd holds for a twin returning
    the others: what only output k needed is a dead branch, computed and let go."""
    net = spec.load("x.yaml", text=textwrap.dedent(text))
    for k in range(len(net.outputs)):
        fewer = textwrap.dedent(text).replace(
            f"outputs: [{', '.join(net.outputs)}]", f"outputs: [{', '.join(net.outputs[:k] + net.outputs[k + 1:])}]")
        graph = graph_of(fewer)
        model = _returning(make(), [j for j in range(len(net.outputs)) if j != k])
        _run_without_grad(model, _dead(graph))
        for batch in (2, 3):
            assert MemoryModel(graph, optimizer="sgd").estimate(batch).saved == saved(model, graph.input_shape, batch)


def _returning(model: nn.Module, keep: list[int]) -> nn.Module:
    """The twin returning only the outputs ``keep`` (by position)."""
    forward = model.forward

    def run_some(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = forward(x)
        return tuple(outs[j] for j in keep)

    model.forward = run_some  # type: ignore[method-assign]
    return model


def _dead(graph: object) -> set[str]:
    """Names of the layers from which no path leads to an output."""
    nodes = graph.nodes  # type: ignore[attr-defined]
    alive = {o for o in graph.outputs if o != INPUT}  # type: ignore[attr-defined]
    for node in reversed(nodes):
        if node.index in alive:
            alive.update(j for j in node.inputs if j != INPUT)
    return {n.name for n in nodes if n.index not in alive}


def _run_without_grad(model: nn.Module, names: set[str]) -> None:
    """Run the named modules under no_grad: autograd saves nothing for them.

    A dead branch still runs in PyTorch, and autograd packs what it saves, but all of it is freed
    when ``forward`` returns; cnncalc's saved activations are what is held at that moment.
    """
    for name, module in model.named_modules():
        if name in names:
            forward = module.forward

            def quiet(*args: torch.Tensor, forward: Callable[..., torch.Tensor] = forward) -> torch.Tensor:
                with torch.no_grad():
                    return forward(*args)

            module.forward = quiet  # type: ignore[method-assign]


def test_without_outputs_the_last_item_is_the_output() -> None:
    text = TWO_HEADS.replace("    outputs: [head1, head2]\n", "")
    graph = graph_of(text)
    assert graph.outputs == (len(graph.nodes) - 1,) and graph.output_names == ("head2",)
    # the coarse head reaches nothing now: a warning says so, and its compute is still counted
    assert warnings_of(graph) == ["head1"]
    report = analyse(graph)
    assert report.totals.macs == sum(r.macs for r in report.layers)
    assert "head1" in {r.name for r in report.layers}


def test_output_order_is_the_listed_order() -> None:
    graph = graph_of(PYRAMID)
    assert graph.output_names == ("p1", "p2", "c3")
    assert [graph.nodes[o].name for o in graph.outputs] == ["p1", "p2", "c3"]
    again = graph_of(PYRAMID.replace("[p1, p2, c3]", "[c3, p1, p2]"))
    assert [again.nodes[o].name for o in again.outputs] == ["c3", "p1", "p2"]


def test_a_group_as_output_names_its_last_layer() -> None:
    graph = graph_of(AUX)
    assert graph.output_names == ("fc", "aux")
    assert graph.nodes[graph.outputs[1]].name == "aux.2"


def test_input_and_patterns_as_outputs() -> None:
    graph = graph_of("""
        input: [2, 8]
        outputs: [input, "heads.*"]
        layers:
          - sequential:
              name: heads
              layers:
                - conv1d: {out_channels: 3, kernel_size: 1}
                - conv1d: {out_channels: 4, kernel_size: 1, from: input}
    """)
    assert graph.outputs == (INPUT, 0, 1)
    assert graph.output_names == ("input", "heads.0", "heads.1")


DANGLING = """
    input: [3, 8, 8]
    layers:
      - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: stem}
      - conv2d: {out_channels: 4, kernel_size: 1, name: probe}
      - relu: {name: probe_act}
      - conv2d: {out_channels: 2, kernel_size: 1, from: stem, name: spare}
      - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, from: stem, name: body}
      - relu: {name: out}
"""


def test_each_dangling_branch_is_one_warning_at_its_last_layer() -> None:
    graph = graph_of(DANGLING)
    assert warnings_of(graph) == ["probe_act", "spare"]
    lines = textwrap.dedent(DANGLING).splitlines()
    for w in graph.warnings:
        assert f"name: {w.layer}" in lines[w.line - 1], "the warning points at the layer's item"
        assert "reaches no output" in w.message and w.layer_type in ("relu", "conv2d")
    listed = graph_of(DANGLING.replace("layers:\n", "outputs: [out, probe_act, spare]\n    layers:\n", 1))
    assert warnings_of(listed) == []


def test_a_dead_branch_costs_compute_but_keeps_nothing() -> None:
    with_dead = graph_of(DANGLING)
    without = graph_of("\n".join(line for line in textwrap.dedent(DANGLING).splitlines()
                                 if "probe" not in line and "spare" not in line))
    full, pruned = analyse(with_dead), analyse(without)
    assert full.totals.macs > pruned.totals.macs
    assert full.totals.macs == sum(r.macs for r in full.layers)
    for batch in (1, 4):
        a = MemoryModel(with_dead, optimizer="sgd").estimate(batch)
        b = MemoryModel(without, optimizer="sgd").estimate(batch)
        assert a.saved == b.saved


def test_warnings_travel_on_stderr_and_in_json(tmp_path: object) -> None:
    path = tmp_path / "dangling.yaml"  # type: ignore[operator]
    path.write_text(textwrap.dedent(DANGLING), encoding="utf-8")
    for fmt in ("table", "json", "csv", "markdown"):
        r = run("report", str(path), "--format", fmt)
        assert r.exit_code == 0
        warned = [line for line in r.stderr.splitlines() if line.startswith("warning: ")]
        assert len(warned) == 2 and all(f"{path}:" in line and "reaches no output" in line for line in warned)
        assert "reaches no output" not in r.stdout or fmt == "json"
        if fmt == "json":
            data = json.loads(r.stdout)
            assert [w["layer"] for w in data["warnings"]] == ["probe_act", "spare"]
            assert all(isinstance(w["line"], int) for w in data["warnings"])
    for command in (("explain",), ("export", "--to", "pytorch"), ("fit", "--memory", "1GiB")):
        r = run(command[0], str(path), *command[1:])
        assert r.exit_code == 0
        assert [line.split(": layer ")[1].split(" ")[0] for line in r.stderr.splitlines()] == ["'probe_act'", "'spare'"]
    clean = run("report", "lenet5", "--format", "json")
    assert json.loads(clean.stdout)["warnings"] == [] and clean.stderr == ""


@pytest.mark.parametrize("bad, message", [
    pytest.param("[head1, nope]", "outputs: unknown layer 'nope'", id="unknown"),
    pytest.param("[head1, head1]", "'head1' is listed twice", id="twice"),
    pytest.param("[hed1]", "did you mean 'head1'", id="typo"),
    pytest.param("[]", "expected a layer name or a list of names", id="empty"),
    pytest.param("[3]", "expected a layer name", id="not a name"),
    pytest.param("['body.*']", "unknown layer 'body.*'", id="pattern matching nothing"),
])
def test_bad_outputs_are_located_errors(bad: str, message: str, tmp_path: object) -> None:
    text = textwrap.dedent(TWO_HEADS).replace("[head1, head2]", bad)
    path = tmp_path / "bad.yaml"  # type: ignore[operator]
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as e:
        build(spec.load(path))
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.startswith("outputs:"))
    assert any(message in p.message and p.line == line for p in e.value.problems)
    r = run("report", str(path))
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith(f"error: {path}:{line}:")


def test_report_lists_every_output(tmp_path: object) -> None:
    path = tmp_path / "heads.yaml"  # type: ignore[operator]
    path.write_text(textwrap.dedent(TWO_HEADS), encoding="utf-8")
    data = json.loads(run("report", str(path), "--format", "json").stdout)
    assert data["totals"]["outputs"] == [{"name": "head1", "shape": [6, 8, 8]},
                                         {"name": "head2", "shape": [6, 16, 16]}]
    assert data["totals"]["output_shape"] == [6, 8, 8]  # the first output's
    table = run("report", str(path)).stdout
    assert "Outputs" in table and "head1 [6, 8, 8] · head2 [6, 16, 16]" in table
    md = run("report", str(path), "--format", "markdown").stdout
    assert "- **Outputs**: head1 [6, 8, 8] · head2 [6, 16, 16]" in md


def test_export_returns_a_tuple_in_the_listed_order(tmp_path: object) -> None:
    from cnncalc import export as exporter

    graph = graph_of(PYRAMID)
    code = exporter.export(graph, "pytorch")
    module = exporter._import(code)
    model = module.Model().eval()
    with torch.no_grad():
        outs = model(torch.zeros(1, *graph.input_shape))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape[1:]) for o in outs] == [graph.nodes[o].out_shape for o in graph.outputs]


def test_export_check_catches_a_wrong_output() -> None:
    from cnncalc import export as exporter

    graph = graph_of(TWO_HEADS)
    code = exporter.export(graph, "pytorch")
    lines = code.splitlines()
    k = max(i for i, line in enumerate(lines) if line.startswith("        return "))  # Model.forward's
    lines[k] = "        return head1, head1"
    with pytest.raises(exporter.CheckError) as e:
        exporter.check("\n".join(lines) + "\n", graph)
    assert any("output 'head2'" in p.message for p in e.value.problems)


def test_each_output_is_held_at_the_end_of_forward() -> None:
    """Listing head1 as an output keeps its [6, 8, 8] fp32 map: nothing else changes (the
    activation it reads is kept by the lateral conv either way)."""
    one = MemoryModel(graph_of(TWO_HEADS.replace("[head1, head2]", "[head2]")), optimizer="sgd")
    two = MemoryModel(graph_of(TWO_HEADS), optimizer="sgd")
    for batch in (1, 3):
        assert two.estimate(batch).saved - one.estimate(batch).saved == batch * 6 * 8 * 8 * 4


def test_pattern_outputs_and_uses_are_not_hidden_names() -> None:
    graph = graph_of("""
        input: [2, 8]
        outputs: ["s.*"]
        layers:
          - sequential:
              name: s
              layers:
                - conv1d: {out_channels: 3, kernel_size: 1}
                - relu: {if: false}
                - conv1d: {out_channels: 4, kernel_size: 1}
    """)
    assert graph.output_names == ("s.0", "s.1")


def test_dead_branch_torch_twin_is_the_pruned_one() -> None:
    """Against autograd: the dangling network keeps what its pruned twin keeps."""

    class Twin(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 4, 3, padding=1)
            self.body = nn.Conv2d(4, 4, 3, padding=1)
            self.out = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.out(self.body(self.stem(x)))

    graph = graph_of(DANGLING)
    for batch in (2, 3):
        assert MemoryModel(graph, optimizer="sgd").estimate(batch).saved == saved(Twin(), (3, 8, 8), batch)


def _valid_name(text: str) -> bool:
    from cnncalc.layers.base import _name

    try:
        _name(text)
    except ValueError:
        return False
    return True


def _hostile_names() -> list[object]:
    from test_literal_text import HOSTILE

    return [p for p in HOSTILE if _valid_name(p.values[0])]


@pytest.mark.parametrize("name", _hostile_names())
def test_output_and_warning_names_are_shown_literally(name: str, tmp_path: object) -> None:
    import html

    import yaml

    from cnncalc.text import printable

    dead = f"{name} dead"
    path = tmp_path / "hostile.yaml"  # type: ignore[operator]
    path.write_text(yaml.safe_dump({"input": [3, 8, 8], "outputs": [name, "b"], "layers": [
        {"conv2d": {"out_channels": 4, "kernel_size": 3, "name": name}},
        {"relu": {"name": "b"}},
        {"conv2d": {"out_channels": 2, "kernel_size": 1, "from": "input", "name": dead}},
    ]}), encoding="utf-8")
    data = json.loads(run("report", str(path), "-f", "json").stdout)
    assert data["totals"]["outputs"] == [{"name": name, "shape": [4, 6, 6]}, {"name": "b", "shape": [4, 6, 6]}]
    assert [w["layer"] for w in data["warnings"]] == [dead]
    table = run("report", str(path))
    assert table.exit_code == 0
    assert f"Outputs          {printable(name)} [4, 6, 6] · b [4, 6, 6]" in table.stdout
    assert f"warning: {path}:" in table.stderr and f"layer '{printable(dead)}' (conv2d)" in table.stderr
    page = tmp_path / "report.html"  # type: ignore[operator]
    assert run("report", str(path), "--html", str(page)).exit_code == 0
    text = page.read_text(encoding="utf-8")
    assert f"outputs {html.escape(name, quote=True)} [4, 6, 6]" in text
    assert f"Warning: layer <b>{html.escape(dead, quote=True)}</b> (conv2d)" in text


def _random_heads(seed: int) -> str:
    """A random graph of [4, 8, 8] maps with several outputs: every dangling end, and some others."""
    import random

    import yaml

    rng = random.Random(seed)
    layers: list[dict[str, object]] = [{"conv2d": {"out_channels": 4, "kernel_size": 3, "padding": 1, "name": "l0"}}]
    for k in range(1, rng.randint(4, 14)):
        earlier = [f"l{j}" for j in range(k)]
        kind = rng.choice(["conv", "conv", "relu", "sigmoid", "bn", "add", "multiply", "pool", "cat"])
        src = rng.choice(earlier)
        if kind == "conv":
            size = rng.choice([1, 3])
            item: dict[str, object] = {"conv2d": {"out_channels": 4, "kernel_size": size, "padding": size // 2}}
        elif kind in ("relu", "sigmoid"):
            item = {kind: {}}
        elif kind == "bn":
            item = {"batchnorm2d": {}}
        elif kind == "pool":
            item = {"maxpool2d": {"kernel_size": 3, "stride": 1, "padding": 1}}
        elif kind == "cat":
            # two maps concatenated and mixed back to 4 channels
            layers.append({"concat": {"from": rng.sample(earlier, min(2, k)) * (2 if k == 1 else 1),
                                      "name": f"c{k}"}})
            src, item = f"c{k}", {"conv2d": {"out_channels": 4, "kernel_size": 1}}
        else:
            pair = [rng.choice(earlier), rng.choice(earlier)]
            item = {kind: {"from": pair, "name": f"l{k}"}}
            layers.append(item)
            continue
        ((typ, args),) = item.items()
        args.update({"from": src, "name": f"l{k}"})  # type: ignore[union-attr]
        layers.append(item)
    args = [next(iter(x.values())) for x in layers]
    names = [a["name"] for a in args]  # type: ignore[index]
    used = {r for a in args for r in ([a["from"]] if isinstance(a.get("from"), str)  # type: ignore[union-attr]
                                      else a.get("from") or [])}  # type: ignore[union-attr]
    tips = [n for n in names if n not in used and not n.startswith("c")]
    extra = [n for n in names if n not in tips and not n.startswith("c") and rng.random() < 0.3]
    outputs = tips + extra
    rng.shuffle(outputs)
    return yaml.safe_dump({"input": [3, 8, 8], "outputs": outputs, "layers": layers}, sort_keys=False)


@pytest.mark.parametrize("seed", range(24))
def test_random_multi_output_graphs_keep_what_autograd_keeps(seed: int) -> None:
    """The exported module, run under saved_tensors_hooks, against cnncalc's saved activations."""
    from cnncalc import export as exporter

    text = _random_heads(seed)
    graph = graph_of(text)
    assert graph.warnings == (), text
    model = exporter._import(exporter.export(graph, "pytorch")).Model()
    for batch in (2, 3):
        assert MemoryModel(graph, optimizer="sgd").estimate(batch).saved == saved(model, graph.input_shape, batch), \
            text


@pytest.mark.parametrize("outputs, valid", [
    pytest.param(["head1", "head2"], True, id="a list"),
    pytest.param("head2", True, id="one name"),
    pytest.param([], False, id="empty"),
    pytest.param([3], False, id="not a name"),
    pytest.param({"a": "head1"}, False, id="a mapping"),
])
def test_the_json_schema_says_what_outputs_takes(outputs: object, valid: bool) -> None:
    import jsonschema
    import yaml

    from cnncalc.schema import input_schema

    data = yaml.safe_load(textwrap.dedent(TWO_HEADS))
    data["outputs"] = outputs
    errors = list(jsonschema.Draft202012Validator(input_schema()).iter_errors(data))
    assert (errors == []) == valid
    try:
        build(spec.load("x.yaml", text=yaml.safe_dump(data)))
    except SpecError:
        assert not valid
    else:
        assert valid


def test_diff_compares_what_each_network_returns(tmp_path: Any) -> None:
    """Dropping an output is a change diff reports, by name and shape, in JSON, the table and Markdown."""
    two = tmp_path / "two.yaml"
    one = tmp_path / "one.yaml"
    two.write_text(textwrap.dedent(TWO_HEADS))
    # head1 still computed (its MACs count) but no longer returned: a warning, and a different output list
    one.write_text(textwrap.dedent(TWO_HEADS).replace("[head1, head2]", "[head2]"))
    res = run("diff", str(two), str(one), "-f", "json")
    assert res.exit_code == 0, res.stderr
    outputs = json.loads(res.stdout)["totals"]["outputs"]
    assert outputs == {"old": [{"name": "head1", "shape": [6, 8, 8]}, {"name": "head2", "shape": [6, 16, 16]}],
                       "new": [{"name": "head2", "shape": [6, 16, 16]}]}
    for fmt in ("table", "markdown"):
        text = run("diff", str(two), str(one), "-f", fmt).stdout
        row = next(line for line in text.splitlines() if "outputs" in line)
        assert "head1 [6, 8, 8]" in row and "changed" in row
    same = run("diff", str(one), str(one), "-f", "json")
    assert json.loads(same.stdout)["totals"]["outputs"]["old"] == [{"name": "head2", "shape": [6, 16, 16]}]


@pytest.mark.parametrize("limits", [("--max-params", "1G"), ()], ids=["with limits", "without limits"])
def test_check_warns_of_a_branch_that_reaches_no_output(tmp_path: Any, limits: tuple[str, ...]) -> None:
    """check reads the network as report does: a dead branch is a located warning, never a failure."""
    net = tmp_path / "net.yaml"
    net.write_text(textwrap.dedent(TWO_HEADS).replace("[head1, head2]", "[head2]"))
    res = run("check", str(net), *limits, "-f", "json")
    assert res.exit_code == 0, res.stderr
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and f"{net}:" in warnings[0] and "head1" in warnings[0]
    report = run("report", str(net), "-f", "json")
    assert [w["layer"] for w in json.loads(report.stdout)["warnings"]] == ["head1"]
