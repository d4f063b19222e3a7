"""Blocks and ``sequential`` groups with several named inputs, and ``from:`` patterns over a repeat.

Each network is written twice, in the format and in plain PyTorch with the same module names
(a decoder stage is ``Up(x, skip)``), and compared on every figure (see ``graph_twins.agree``).
"""

from __future__ import annotations

import textwrap

import jsonschema
import pytest
import yaml

torch = pytest.importorskip("torch")

from conftest import run  # noqa: E402
from graph_twins import agree, graph_of, warnings_of  # noqa: E402
from torch import nn  # noqa: E402

from cnncalc import spec  # noqa: E402
from cnncalc.errors import SpecError  # noqa: E402
from cnncalc.graph import build  # noqa: E402
from cnncalc.schema import input_schema  # noqa: E402

pytestmark = pytest.mark.torch


class Up(nn.Module):
    """A U-Net decoder stage: upsample x, concatenate the skip, convolve."""

    def __init__(self, cin: int, cskip: int, c: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, c, 2, stride=2)
        self.conv = nn.Conv2d(c + cskip, c, 3, padding=1)
        self.bn = nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(torch.cat([self.up(x), skip], 1))))


class UNet(nn.Module):
    """Two levels down, two decoder stages up, a 1x1 head."""

    def __init__(self) -> None:
        super().__init__()
        self.down1 = nn.Conv2d(3, 8, 3, padding=1)
        self.pool1 = nn.MaxPool2d(2)
        self.down2 = nn.Conv2d(8, 16, 3, padding=1)
        self.pool2 = nn.MaxPool2d(2)
        self.bottom = nn.Conv2d(16, 32, 3, padding=1)
        self.up2 = Up(32, 16, 16)
        self.up1 = Up(16, 8, 8)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d1 = self.down1(x)
        d2 = self.down2(self.pool1(d1))
        b = self.bottom(self.pool2(d2))
        return self.head(self.up1(self.up2(b, d2), d1))


UNET = """
    input: [3, 16, 16]
    blocks:
      Up:
        inputs: [x, skip]
        args: {c: null}
        layers:
          - convtranspose2d: {out_channels: $c, kernel_size: 2, stride: 2, name: up}
          - concat: {from: [up, skip]}
          - conv2d: {out_channels: $c, kernel_size: 3, padding: 1, name: conv}
          - batchnorm2d: {name: bn}
          - relu: {inplace: true, name: relu}
    layers:
      - conv2d: {out_channels: 8, kernel_size: 3, padding: 1, name: down1}
      - maxpool2d: {kernel_size: 2, name: pool1}
      - conv2d: {out_channels: 16, kernel_size: 3, padding: 1, name: down2}
      - maxpool2d: {kernel_size: 2, name: pool2}
      - conv2d: {out_channels: 32, kernel_size: 3, padding: 1, name: bottom}
      - Up: {c: 16, from: {x: bottom, skip: down2}, name: up2}
      - Up: {c: 8, from: [up2, down1], name: up1}
      - conv2d: {out_channels: 2, kernel_size: 1, name: head}
"""


def test_unet_decoder_stages_agree_with_torch() -> None:
    graph = agree(UNET, UNet())
    names = [n.name for n in graph.nodes]
    assert names[5:10] == ["up2.up", "up2.cat1", "up2.conv", "up2.bn", "up2.relu"]
    cat = graph.nodes[names.index("up1.cat1")]
    assert [graph.input_name(j) for j in cat.inputs] == ["up1.up", "down1"]


def test_inputs_by_name_and_by_position_build_the_same_graph() -> None:
    by_name = graph_of(UNET)
    flipped = UNET.replace("from: [up2, down1]", "from: {skip: down1, x: up2}")
    by_position = graph_of(flipped.replace("from: {x: bottom, skip: down2}", "from: [bottom, down2]"))
    assert [(n.name, n.inputs, n.out_shape) for n in by_name.nodes] == \
        [(n.name, n.inputs, n.out_shape) for n in by_position.nodes]


class Conditioned(nn.Module):
    """A gated stage repeated three times, each instance reading the chain and the same condition."""

    def __init__(self, c: int, n: int) -> None:
        super().__init__()
        self.stem = nn.Conv1d(2, c, 1)
        self.cond = nn.Conv1d(2, c, 1)
        self.blocks = nn.ModuleDict({str(k): Gate(c) for k in range(n)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cond = self.cond(x)
        h = self.stem(x)
        for block in self.blocks.values():
            h = block(h, cond)
        return h


class Gate(nn.Module):
    """tanh(conv(x) + cond) · x."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c, c, 3, padding=1)
        self.tanh = nn.Tanh()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.tanh(self.conv(x) + cond) * x


CONDITIONED = """
    input: [2, 24]
    blocks:
      gate:
        inputs: [x, cond]
        layers:
          - conv1d: {out_channels: $in_channels, kernel_size: 3, padding: 1, name: conv}
          - add: {from: [conv, cond]}
          - tanh: {name: tanh}
          - multiply: {from: [tanh, x]}
    layers:
      - conv1d: {out_channels: 6, kernel_size: 1, name: cond}
      - conv1d: {out_channels: 6, kernel_size: 1, from: input, name: stem}
      - gate: {repeat: 3, from: {x: stem, cond: cond}, name: blocks}
"""


def test_a_repeat_chains_the_first_input_and_hands_the_others_to_every_instance() -> None:
    graph = agree(CONDITIONED, Conditioned(6, 3))
    adds = [n for n in graph.nodes if n.name.endswith(".add1")]
    assert [graph.input_name(n.inputs[1]) for n in adds] == ["cond"] * 3
    convs = [n for n in graph.nodes if n.name.endswith(".conv")]
    assert [graph.input_name(n.inputs[0]) for n in convs] == ["stem", "blocks.0.mul1", "blocks.1.mul1"]


def test_unnamed_repeat_with_named_inputs() -> None:
    graph = graph_of(CONDITIONED.replace(", name: blocks}", "}"))
    convs = [n for n in graph.nodes if n.name.endswith(".conv")]
    assert [n.name for n in convs] == ["gate1.conv", "gate2.conv", "gate3.conv"]
    assert [graph.input_name(n.inputs[0]) for n in convs] == ["stem", "gate1.mul1", "gate2.mul1"]
    adds = [n for n in graph.nodes if n.name.endswith(".add1")]
    assert [graph.input_name(n.inputs[1]) for n in adds] == ["cond"] * 3


class Merge(nn.Module):
    """A sequential-like group of two inputs: add them, then convolve."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(3, 4, 3, padding=1)
        self.fuse = nn.ModuleDict({"1": nn.Conv2d(4, 4, 3, padding=1), "2": nn.ReLU()})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fuse["2"](self.fuse["1"](self.a(x) + self.b(x)))


MERGE = """
    input: [3, 10, 10]
    layers:
      - conv2d: {out_channels: 4, kernel_size: 1, name: a}
      - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, from: input, name: b}
      - sequential:
          name: fuse
          inputs: [left, right]
          from: {left: a, right: b}
          layers:
            - add: {from: [left, right]}
            - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}
            - relu
"""


def test_sequential_with_named_inputs() -> None:
    graph = agree(MERGE, Merge())
    assert [n.name for n in graph.nodes][2:] == ["fuse.0", "fuse.1", "fuse.2"]


class WaveNet(nn.Module):
    """WaveNet's residual stack: every block adds to the chain and gives a skip; the skips are summed."""

    def __init__(self, c: int, n: int) -> None:
        super().__init__()
        self.stem = nn.Conv1d(1, c, 1)
        self.blocks = nn.ModuleDict({str(k): Residual(c, 2**k) for k in range(n)})
        self.relu = nn.ReLU()
        self.out = nn.Conv1d(c, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        skips = []
        for block in self.blocks.values():
            h, s = block(h)
            skips.append(s)
        return self.out(self.relu(sum(skips[1:], skips[0])))


class Residual(nn.Module):
    """Gated dilated conv; a 1x1 back onto the chain (plus the input) and a 1x1 skip."""

    def __init__(self, c: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c, 2 * c, 3, padding=dilation, dilation=dilation)
        self.res = nn.Conv1d(c, c, 1)
        self.skip = nn.Conv1d(c, c, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = self.conv(x).chunk(2, 1)
        z = torch.tanh(a) * torch.sigmoid(b)
        return self.res(z) + x, self.skip(z)


WAVENET = """
    input: [1, 64]
    blocks:
      residual:
        layers:
          - conv1d: {out_channels: $2 * in_channels, kernel_size: 3, padding: $2 ** index,
                     dilation: $2 ** index, name: conv}
          - chunk: {chunks: 2, index: 0, from: conv}
          - tanh
          - chunk: {chunks: 2, index: 1, from: conv}
          - sigmoid
          - multiply: {from: [tanh1, sigmoid1], name: z}
          - conv1d: {out_channels: $in_channels, kernel_size: 1, name: skip}
          - conv1d: {out_channels: $in_channels, kernel_size: 1, from: z, name: res}
          - add: {from: [res, input]}
    outputs: [out]
    layers:
      - conv1d: {out_channels: 4, kernel_size: 1, name: stem}
      - residual: {repeat: 4, name: blocks}
      - add: {from: ["blocks.*.skip"], name: skips}
      - relu: {name: relu}
      - conv1d: {out_channels: 3, kernel_size: 1, name: out}
"""


def test_wavenet_skip_sum_over_every_instance_agrees_with_torch() -> None:
    graph = agree(WAVENET, WaveNet(4, 4))
    total = next(n for n in graph.nodes if n.name == "skips")
    assert [graph.input_name(j) for j in total.inputs] == [f"blocks.{k}.skip" for k in range(4)]
    # the last block's chain output reaches nothing: said, not silently dropped
    assert warnings_of(graph) == ["blocks.3.add1"]


@pytest.mark.parametrize("n", [2, 3, 5])
def test_a_pattern_follows_the_repeat_count(n: int) -> None:
    graph = graph_of(WAVENET.replace("repeat: 4", f"repeat: {n}"))
    total = next(node for node in graph.nodes if node.name == "skips")
    assert len(total.inputs) == n


def test_a_pattern_matches_one_name_component_only() -> None:
    graph = graph_of("""
        input: [2, 8]
        layers:
          - sequential:
              name: g
              layers:
                - conv1d: {out_channels: 2, kernel_size: 1}
                - sequential:
                    layers:
                      - conv1d: {out_channels: 2, kernel_size: 1}
          - concat: {from: ["g.*"]}
    """)
    cat = graph.nodes[-1]
    # g.0 and g.1 (the inner group, read as its output g.1.0); never g.1.0 as a match of its own
    assert [graph.input_name(j) for j in cat.inputs] == ["g.0", "g.1.0"]


@pytest.mark.parametrize("edit, message", [
    pytest.param(("from: {x: bottom, skip: down2}", "from: {x: bottom, skp: down2}"),
                 "block 'Up' has no input 'skp' (did you mean 'skip'?)", id="unknown input"),
    pytest.param(("from: {x: bottom, skip: down2}", "from: {x: bottom}"),
                 "input 'skip' is not given in 'from'", id="missing input"),
    pytest.param(("from: [up2, down1]", "from: [up2]"),
                 "block 'Up' takes 2 inputs (x, skip), got 1", id="too few by position"),
    pytest.param(("from: [up2, down1]", "from: [up2, down1, down1]"),
                 "block 'Up' takes 2 inputs (x, skip), got 3", id="too many by position"),
    pytest.param(("name: bn}", "name: skip}"), "'skip' names an input of the group already", id="shadowed input"),
    pytest.param(("inputs: [x, skip]", "inputs: [x, x]"), "input name 'x' is given twice", id="twice"),
    pytest.param(("inputs: [x, skip]", "inputs: [input, skip]"), "'input' names a group's first input",
                 id="input reserved"),
    pytest.param(("name: head}", "name: head, from: {x: up1}}"), "expected a layer name", id="mapping on a layer"),
])
def test_wiring_mistakes_are_located_errors(edit: tuple[str, str], message: str) -> None:
    text = textwrap.dedent(UNET).replace(*edit)
    assert text != textwrap.dedent(UNET)
    with pytest.raises(SpecError) as e:
        build(spec.load("unet.yaml", text=text))
    hits = [p for p in e.value.problems if message in p.message]
    assert hits, [p.message for p in e.value.problems]
    assert all(p.line is not None for p in hits)


def test_a_pattern_matching_nothing_is_an_error(tmp_path: object) -> None:
    path = tmp_path / "w.yaml"  # type: ignore[operator]
    path.write_text(textwrap.dedent(WAVENET).replace("blocks.*.skip", "blocks.*.skipp"), encoding="utf-8")
    r = run("report", str(path))
    assert r.exit_code == 2
    assert "'blocks.*.skipp' matches no layer" in r.stderr and r.stderr.startswith(f"error: {path}:")


@pytest.mark.parametrize("text", [UNET, CONDITIONED, MERGE, WAVENET])
def test_the_json_schema_takes_the_new_wiring(text: str) -> None:
    jsonschema.validate(yaml.safe_load(textwrap.dedent(text)), input_schema())


def test_the_json_schema_refuses_a_mapping_on_a_layer() -> None:
    data = yaml.safe_load(textwrap.dedent(UNET))
    data["layers"][-1]["conv2d"]["from"] = {"x": "up1"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, input_schema())
