"""Frozen layers: where ``frozen`` applies, the counts PyTorch and torchinfo report, and the memory
model's training figures (gradients, optimizer state, saved tensors, fit, check).

The saved tensors themselves are checked against autograd in tests/test_frozen_torch.py.
"""

from __future__ import annotations

import csv
import io
import json
import random
from typing import Any

import pytest
import yaml
from conftest import run
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import spec
from cnncalc.analysis import analyse
from cnncalc.diff import compare
from cnncalc.errors import CnnCalcError
from cnncalc.explain import explain
from cnncalc.graph import Graph, build, freeze
from cnncalc.memory import MemoryModel, fit
from cnncalc.render.json import render_json
from cnncalc.render.report import render_csv, render_markdown, render_table
from cnncalc.schema import input_schema, validate_output

jsonschema = pytest.importorskip("jsonschema")


def graph_of(text: str) -> Graph:
    return build(spec.load("case.yaml", text=text))


# -- where ``frozen`` applies: the innermost setting, a call over its block definition ------------

#: A tree of named items: ("layer", name, frozen) or ("group", kind, name, frozen, children).
SETTING = st.sampled_from([None, None, True, False])
NAMES = st.sampled_from(["a", "b", "c", "d", "e"])


@st.composite
def trees(draw: Any, depth: int = 0) -> list[Any]:
    items: list[Any] = []
    for name in draw(st.lists(NAMES, min_size=1, max_size=3, unique=True)):
        if depth < 3 and draw(st.booleans()):
            kind = draw(st.sampled_from(["sequential", "call"]))
            items.append(("group", kind, name, draw(SETTING), draw(SETTING), draw(trees(depth + 1))))
        else:
            items.append(("layer", name, draw(SETTING)))
    return items


def written(items: list[Any], blocks: dict[str, Any]) -> list[Any]:
    """The items as a description writes them; each called block gets a definition of its own."""
    out = []
    for item in items:
        if item[0] == "layer":
            _, name, setting = item
            args: dict[str, Any] = {"out_channels": 2, "kernel_size": 1, "name": name}
            if setting is not None:
                args["frozen"] = setting
            out.append({"conv2d": args})
            continue
        _, kind, name, setting, definition, children = item
        if kind == "sequential":
            body: dict[str, Any] = {"name": name, "layers": written(children, blocks)}
            if setting is not None:
                body["frozen"] = setting
            out.append({"sequential": body})
        else:
            block = f"blk{len(blocks)}"
            blocks[block] = {}  # taken before the body's own blocks are named
            blocks[block]["layers"] = written(children, blocks)
            if definition is not None:
                blocks[block]["frozen"] = definition
            call: dict[str, Any] = {"name": name}
            if setting is not None:
                call["frozen"] = setting
            out.append({block: call})
    return out


def expected(items: list[Any], prefix: str = "", inherited: bool = False) -> dict[str, bool]:
    """Each layer's name and whether it is frozen, by the rule stated in the README."""
    out: dict[str, bool] = {}
    for item in items:
        if item[0] == "layer":
            _, name, setting = item
            out[prefix + name] = inherited if setting is None else setting
            continue
        _, kind, name, setting, definition, children = item
        if kind == "call" and setting is None:
            setting = definition  # the call's own setting wins over its block's
        out.update(expected(children, f"{prefix}{name}.", inherited if setting is None else setting))
    return out


@settings(max_examples=60, deadline=None)
@given(trees())
def test_frozen_applies_to_everything_inside_unless_set_nearer(items: list[Any]) -> None:
    blocks: dict[str, Any] = {}
    text = yaml.safe_dump({"input": [2, 4, 4], "layers": written(items, blocks), "blocks": blocks}, sort_keys=False)
    graph = graph_of(text)
    assert {n.name: n.frozen for n in graph.nodes} == expected(items)


def test_frozen_in_a_block_can_be_an_argument() -> None:
    text = """
input: [3, 8, 8]
blocks:
  stage:
    args: {freeze: false}
    layers:
      - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, frozen: $freeze}
      - batchnorm2d
layers:
  - stage: {freeze: true, name: s1}
  - stage: {name: s2}
  - stage: {repeat: 2, freeze: true, frozen: false, name: s3}
"""
    frozen = {n.name for n in graph_of(text).nodes if n.frozen}
    assert frozen == {"s1.conv1", "s3.0.conv1", "s3.1.conv1"}


@pytest.mark.parametrize("value, message", [
    ("maybe", "frozen"),
    ("3", "frozen"),
    ("$nowhere", "frozen"),
])
def test_a_bad_frozen_value_is_a_located_error(value: str, message: str) -> None:
    text = f"input: [3, 8, 8]\nlayers:\n  - conv2d: {{out_channels: 4, kernel_size: 3, frozen: {value}}}\n"
    with pytest.raises(CnnCalcError) as err:
        graph_of(text)
    (problem,) = err.value.problems
    assert problem.line == 3 and message in problem.message


def test_freeze_names_layers_and_groups_and_refuses_unknown_names() -> None:
    graph = build(spec.load("resnet18"))
    frozen = freeze(graph, ["conv1", "layer1"])
    assert {n.name for n in frozen.nodes if n.frozen} == {
        n.name for n in graph.nodes if n.name == "conv1" or n.name.startswith("layer1.")}
    assert not any(n.frozen for n in graph.nodes)  # the graph given is left alone
    with pytest.raises(CnnCalcError, match="no layer or group named 'layer9' \\(did you mean 'layer"):
        freeze(graph, ["layer9"])
    with pytest.raises(CnnCalcError, match="no layer or group named 'layer1.0.con'"):
        freeze(graph, ["layer1.0.con"])  # a prefix of a name is not a group


# -- counts as PyTorch and torchinfo give them ---------------------------------------------------

BUNDLED = ["resnet50", "mobilenet_v2", "vgg16_bn", "densenet121", "lenet5"]


def frozen_set(graph: Graph, seed: int) -> list[str]:
    rng = random.Random(seed)
    names = [n.name for n in graph.nodes]
    return rng.sample(names, len(names) // 3)


@pytest.mark.parametrize("name", BUNDLED)
@pytest.mark.parametrize("seed", [0, 1])
def test_params_are_trainable_plus_frozen_and_buffers_are_apart(name: str, seed: int) -> None:
    graph = freeze(build(spec.load(name)), frozen_set(build(spec.load(name)), seed))
    report = analyse(graph)
    t = report.totals
    counts = graph.counts()
    assert t.params == sum(c.params for c in counts)
    assert t.non_trainable_params == sum(c.params for n, c in zip(graph.nodes, counts) if n.frozen)
    assert t.trainable_params + t.non_trainable_params == t.params
    assert t.buffers == sum(c.buffers for c in counts)
    assert t.non_trainable_params == sum(r.non_trainable_params for r in report.layers)
    out = report.to_dict()
    validate_output(out, "report")
    assert out["totals"]["params"] == t.params  # buffers never counted as parameters
    assert out["totals"]["non_trainable_params"] == t.non_trainable_params
    assert out["totals"]["buffers"] == t.buffers
    for layer, row, node in zip(out["layers"], report.layers, graph.nodes):
        assert layer["frozen"] is node.frozen
        assert layer["trainable_params"] == (0 if node.frozen else row.params)
    # the JSON writer and to_dict agree, and every grouped row sums its members
    assert json.loads(render_json(report)) == out
    for depth in (1, 2):
        grouped = report.collapse(depth)
        assert sum(r.non_trainable_params for r in grouped.layers) == t.non_trainable_params
        assert json.loads(render_json(grouped)) == grouped.to_dict()


def test_resnet50_prints_pytorchs_parameter_count() -> None:
    # torchvision's ResNet-50: sum(p.numel() for p in model.parameters()) = 25,557,032; the 53,120
    # BatchNorm running statistics are buffers
    report = analyse(spec.load("resnet50"))
    text = render_table(report, width=200, color=False)
    assert "Params           25,557,032 (25.56 M): 25,557,032 trainable, 0 non-trainable" in text
    assert "Buffers          53,120 (53.12 K)" in text
    md = render_markdown(report)
    assert "25,557,032 (25.56 M): 25,557,032 trainable" in md and "25,610,152" not in md


def test_csv_carries_each_layers_trainable_count_and_frozen_flag() -> None:
    graph = freeze(build(spec.load("lenet5")), ["conv1", "ip2"])
    rows = list(csv.DictReader(io.StringIO(render_csv(analyse(graph)))))
    for row, node in zip(rows, graph.nodes):
        assert row["frozen"] == ("true" if node.frozen else "false")
        assert int(row["trainable_params"]) == (0 if node.frozen else int(row["params"]))


def test_diff_shows_a_freeze_as_a_change_of_trainable_params() -> None:
    base = build(spec.load("resnet18"))
    old, new = analyse(base), analyse(freeze(base, ["layer1"]))
    d = compare(old, new)
    layer1 = sum(r.params for r in old.layers if r.name.startswith("layer1."))
    assert d.totals["trainable_params"].delta == -layer1
    assert d.totals["params"].delta == 0
    changed = {x.name for x in d.layers if x.status == "changed"}
    assert changed == {r.name for r in old.layers if r.name.startswith("layer1.") and r.params}
    k = next(i for i, r in enumerate(old.layers) if r.name.startswith("layer1."))
    entry = d.to_dict()["layers"][k]
    assert entry["name"] == old.layers[k].name and entry["delta"]["trainable_params"] == -old.layers[k].params
    validate_output(d.to_dict(), "diff")
    from cnncalc.render.diff import render_diff_markdown

    md = render_diff_markdown(d)
    assert "conv2d → conv2d (frozen)" in md and "batchnorm2d → batchnorm2d (frozen)" in md


def test_html_marks_frozen_layers_and_counts_them() -> None:
    from cnncalc.render.html import render_html

    graph = freeze(build(spec.load("lenet5")), ["conv1", "ip2"])
    page = render_html(analyse(graph))
    rows = {n.name: page[page.index(f'<td class="name">{n.name}</td>'):] for n in graph.nodes}
    for node in graph.nodes:
        row = rows[node.name][: rows[node.name].index("</tr>")]
        assert ("· frozen" in row) is node.frozen, node.name
    t = analyse(graph).totals
    assert f"{t.trainable_params:,} trainable · {t.non_trainable_params:,} frozen" in page


def test_explain_says_a_layer_is_frozen() -> None:
    graph = freeze(build(spec.load("lenet5")), ["conv1"])
    first, second = explain(graph)[:2]
    assert first.line("frozen") is not None and first.values["trainable_params"] == 0
    assert second.line("frozen") is None and second.values["trainable_params"] == second.values["params"]


# -- the memory model ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "vgg11"])
@pytest.mark.parametrize("optimizer, state", [("sgd", 0), ("momentum", 1), ("adam", 2)])
def test_frozen_parameters_get_no_gradient_and_no_optimizer_state(name: str, optimizer: str, state: int) -> None:
    graph = build(spec.load(name))
    frozen = freeze(graph, frozen_set(graph, 3))
    t = analyse(frozen).totals
    est = MemoryModel(frozen, optimizer=optimizer).estimate(2)
    assert est.gradients == 4 * t.trainable_params
    assert est.optimizer_state == state * 4 * t.trainable_params
    assert est.weights == 4 * (t.params + t.buffers)  # frozen weights stay in memory


def test_everything_frozen_saves_only_the_output() -> None:
    graph = build(spec.load("resnet18"))
    everything = freeze(graph, [n.name for n in graph.nodes])
    est = MemoryModel(everything, optimizer="adam").estimate(4)
    assert est.gradients == est.optimizer_state == 0
    assert est.saved == 4 * 4 * 1000  # the logits the loss keeps


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["resnet18", "mobilenet_v3_small", "squeezenet1_1", "shufflenet_v2_x1_0"]),
       st.integers(0, 2**32), st.sampled_from(["sgd", "adam"]), st.sampled_from([False, True]))
def test_freezing_more_never_needs_more_memory(name: str, seed: int, optimizer: str, amp: bool) -> None:
    graph = build(spec.load(name), (3, 64, 64))
    rng = random.Random(seed)
    names = [n.name for n in graph.nodes]
    some = rng.sample(names, rng.randrange(len(names)))
    more = some + rng.sample(names, rng.randrange(len(names)))
    kw: dict[str, Any] = {"optimizer": optimizer, "amp": amp, "dtype": "fp16" if amp else "fp32"}
    a = MemoryModel(freeze(graph, some), **kw).estimate(3)
    b = MemoryModel(freeze(graph, more), **kw).estimate(3)
    assert b.training_peak <= a.training_peak
    assert b.saved <= a.saved
    assert b.gradients <= a.gradients


def test_freezing_a_backbone_raises_the_largest_batch_that_fits() -> None:
    graph = build(spec.load("resnet50"))
    backbone = ["conv1", "bn1", "layer1", "layer2", "layer3"]
    budget = 8 * 2**30
    whole, tuned = fit(graph, budget), fit(freeze(graph, backbone), budget)
    assert tuned.training_batch > whole.training_batch
    assert tuned.inference_batch == whole.inference_batch  # inference trains nothing
    # and each is the largest that fits
    model = MemoryModel(freeze(graph, backbone))
    assert model.training_bytes(tuned.training_batch) <= budget < model.training_bytes(tuned.training_batch + 1)


def test_fit_and_check_honour_frozen_layers_on_the_command_line(tmp_path: Any) -> None:
    text = spec.resolve("resnet18").read_text()
    path = tmp_path / "net.yaml"
    path.write_text(text)
    plain = run("fit", str(path), "--memory", "4GiB", "-f", "json")
    tuned = run("fit", str(path), "--memory", "4GiB", "-f", "json", "--freeze", "conv1", "--freeze", "layer1",
                "--freeze", "layer2", "--freeze", "layer3")
    assert plain.exit_code == tuned.exit_code == 0
    assert json.loads(tuned.stdout)["training_batch"] > json.loads(plain.stdout)["training_batch"]
    # check reads frozen layers from the file: a limit between the two peaks passes only frozen
    graph = build(spec.load(str(path)))
    lo = MemoryModel(freeze(graph, ["conv1", "bn1", "layer1", "layer2", "layer3"])).training_bytes(8)
    hi = MemoryModel(graph).training_bytes(8)
    assert lo < hi
    limit = (lo + hi) // 2
    assert run("check", str(path), "--max-train-memory", str(limit), "--batch", "8").exit_code == 1
    data = yaml.safe_load(text)
    for k, item in enumerate(data["layers"]):
        ((kind, body),) = item.items() if isinstance(item, dict) else ((item, None),)
        body = dict(body or {})
        if k < 2 or body.get("name") in ("layer1", "layer2", "layer3"):  # conv1, bn1 and three stages
            data["layers"][k] = {kind: {**body, "frozen": True}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert run("check", str(path), "--max-train-memory", str(limit), "--batch", "8").exit_code == 0


def test_report_freeze_is_the_same_as_frozen_in_the_file() -> None:
    flagged = run("report", "lenet5", "-f", "json", "--freeze", "conv1")
    assert flagged.exit_code == 0
    out = json.loads(flagged.stdout)
    graph = freeze(build(spec.load("lenet5")), ["conv1"])
    assert out == json.loads(render_json(analyse(graph)))
    unknown = run("report", "lenet5", "--freeze", "conv9")
    assert unknown.exit_code == 2 and "--freeze: no layer or group named 'conv9'" in unknown.stderr


def test_a_frozen_layer_round_trips_through_the_schema() -> None:
    text = "input: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 3, frozen: true}\n"
    data = yaml.safe_load(text)
    jsonschema.validate(data, input_schema())
    assert graph_of(text).nodes[0].frozen
    for bad in ("yes", 1):
        data["layers"][0]["conv2d"]["frozen"] = bad
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(data, input_schema())
