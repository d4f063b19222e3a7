"""``split`` and ``chunk`` standing for all their pieces: ``s.0``, ``s.1``, ... and ``from: s``.

MixNet's mixed depthwise convolution and Res2Net's hierarchical split are written twice, in the
format and in plain PyTorch, and compared on every figure (see ``graph_twins.agree``).
"""

from __future__ import annotations

import textwrap

import pytest

torch = pytest.importorskip("torch")

from graph_twins import agree, graph_of  # noqa: E402
from torch import nn  # noqa: E402

from cnncalc import spec  # noqa: E402
from cnncalc.errors import SpecError  # noqa: E402
from cnncalc.graph import build  # noqa: E402
from cnncalc.layers import lookup  # noqa: E402

pytestmark = pytest.mark.torch


class MixConv(nn.Module):
    """MixNet: channels split unequally, a depthwise conv of its own kernel size on each, concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.k3 = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.k5 = nn.Conv2d(4, 4, 5, padding=2, groups=4)
        self.k7 = nn.Conv2d(8, 8, 7, padding=3, groups=8)
        self.bn = nn.BatchNorm2d(16)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b, c = torch.split(x, [4, 4, 8], 1)
        return self.act(self.bn(torch.cat([self.k3(a), self.k5(b), self.k7(c)], 1)))


MIXCONV = """
    input: [16, 10, 10]
    layers:
      - split: {split_size_or_sections: [4, 4, 8], name: s}
      - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, groups: 4, from: s.0, name: k3}
      - conv2d: {out_channels: 4, kernel_size: 5, padding: 2, groups: 4, from: s.1, name: k5}
      - conv2d: {out_channels: 8, kernel_size: 7, padding: 3, groups: 8, from: s.2, name: k7}
      - concat: {from: [k3, k5, k7]}
      - batchnorm2d: {name: bn}
      - relu: {name: act}
"""


class Res2Net(nn.Module):
    """Res2Net's split: y1 = x1, y2 = K2(x2), y_i = K_i(x_i + y_(i-1)), concatenated."""

    def __init__(self, width: int, scale: int) -> None:
        super().__init__()
        self.width = width
        self.convs = nn.ModuleDict({str(k): nn.Conv2d(width, width, 3, padding=1) for k in range(1, scale)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xs = torch.split(x, self.width, 1)
        ys = [xs[0], self.convs["1"](xs[1])]
        for k in range(2, len(xs)):
            ys.append(self.convs[str(k)](xs[k] + ys[-1]))
        return torch.cat(ys, 1)


RES2NET = """
    input: [12, 8, 8]
    layers:
      - split: {split_size_or_sections: 3, name: xs}
      - sequential:
          name: convs
          inputs: [x1, x2, x3]
          from: [xs.1, xs.2, xs.3]
          layers:
            - conv2d: {out_channels: 3, kernel_size: 3, padding: 1, name: "1"}
            - add: {from: [x2, "1"], name: a2}
            - conv2d: {out_channels: 3, kernel_size: 3, padding: 1, name: "2"}
            - add: {from: [x3, "2"], name: a3}
            - conv2d: {out_channels: 3, kernel_size: 3, padding: 1, name: "3"}
      - concat: {from: [xs.0, convs.1, convs.2, convs.3]}
"""


class Gated(nn.Module):
    """WaveNet's gate: tanh(a)·sigmoid(b) with a, b = conv(x).chunk(2)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(3, 8, 3, padding=2, dilation=2)
        self.tanh = nn.Tanh()
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.conv(x).chunk(2, 1)
        return self.tanh(a) * self.sigmoid(b)


GATED = """
    input: [3, 20]
    layers:
      - conv1d: {out_channels: 8, kernel_size: 3, padding: 2, dilation: 2, name: conv}
      - chunk: {chunks: 2, name: ab}
      - tanh: {from: ab.0, name: tanh}
      - sigmoid: {from: ab.1, name: sigmoid}
      - multiply: {from: [tanh, sigmoid]}
"""


@pytest.mark.parametrize("text, make", [
    pytest.param(MIXCONV, MixConv, id="MixNet mixed depthwise, unequal split"),
    pytest.param(RES2NET, lambda: Res2Net(3, 4), id="Res2Net hierarchical split"),
    pytest.param(GATED, Gated, id="WaveNet gate, chunk in two"),
])
def test_splits_agree_with_torch(text: str, make: object) -> None:
    agree(text, make())  # type: ignore[operator]


def test_the_pieces_are_named_by_position_and_form_a_group() -> None:
    graph = graph_of(MIXCONV)
    assert [n.name for n in graph.nodes][:3] == ["s.0", "s.1", "s.2"]
    assert [n.out_shape for n in graph.nodes][:3] == [(4, 10, 10), (4, 10, 10), (8, 10, 10)]
    assert graph.groups["s"] == ("split ×3", 2)


@pytest.mark.parametrize("text", [
    pytest.param("- split: {split_size_or_sections: [2, 3, 3], name: s}\n  - concat: {from: s}", id="from the name"),
    pytest.param("- split: {split_size_or_sections: [2, 3, 3], name: s}\n  - concat", id="the next item"),
    pytest.param("- split: {split_size_or_sections: [2, 3, 3]}\n  - concat: {from: split1}", id="automatic name"),
    pytest.param("- chunk: {chunks: 3, name: s}\n  - concat: {from: [s]}", id="chunk, in a list"),
    pytest.param("- split: {split_size_or_sections: [2, 3, 3], name: s}\n  - concat: {from: [\"s.*\"]}",
                 id="a pattern"),
])
def test_reading_a_split_whole_reads_every_piece_in_order(text: str) -> None:
    graph = graph_of(f"input: [8, 5]\nlayers:\n  {text}\n")
    cat = graph.nodes[-1]
    assert cat.inputs == tuple(range(len(graph.nodes) - 1))
    assert cat.out_shape == (8, 5)


def test_a_split_as_outputs_gives_every_piece() -> None:
    graph = graph_of("""
        input: [8, 5]
        outputs: [s]
        layers:
          - split: {split_size_or_sections: 5, name: s}
    """)
    assert graph.output_names == ("s.0", "s.1")
    assert [graph.nodes[o].out_shape for o in graph.outputs] == [(5, 5), (3, 5)]


@pytest.mark.parametrize("n", range(1, 9))
def test_pieces_are_torch_s(n: int) -> None:
    x = torch.zeros(1, n)
    for size in range(1, n + 2):
        split = lookup("split").model_validate({"split_size_or_sections": size})  # type: ignore[union-attr]
        assert split.pieces((n,)) == [t.shape[1] for t in torch.split(x, size, 1)]
    for chunks in range(1, n + 2):
        chunk = lookup("chunk").model_validate({"chunks": chunks})  # type: ignore[union-attr]
        assert chunk.pieces((n,)) == [t.shape[1] for t in torch.chunk(x, chunks, 1)]


@pytest.mark.parametrize("item, message", [
    pytest.param("split: {split_size_or_sections: [2, 3], name: s}", "split sizes [2, 3] add up to 5, the axis has 8",
                 id="sizes not adding up"),
    pytest.param("split: {split_size_or_sections: [2, 6], name: s, dim: 3}", "dim 3 is not a non-batch axis",
                 id="bad dim"),
    pytest.param("split: {split_size_or_sections: 0, name: s}", "must be positive", id="size 0"),
])
def test_bad_splits_are_located_errors(item: str, message: str) -> None:
    text = f"input: [8, 5]\nlayers:\n  - conv1d: {{out_channels: 8, kernel_size: 1}}\n  - {item}\n"
    with pytest.raises(SpecError) as e:
        build(spec.load("split.yaml", text=text))
    hits = [p for p in e.value.problems if message in p.message]
    assert hits, [p.message for p in e.value.problems]
    assert all(p.line == 4 for p in hits)


def test_a_piece_past_the_last_is_an_unknown_layer() -> None:
    text = textwrap.dedent("""\
        input: [8, 5]
        layers:
          - split: {split_size_or_sections: 4, name: s}
          - relu: {from: s.2}
    """)
    with pytest.raises(SpecError) as e:
        build(spec.load("split.yaml", text=text))
    assert [(p.line, p.message) for p in e.value.problems] == [(4, "takes input from unknown layer 's.2'")]


def test_a_single_piece_is_still_one_layer() -> None:
    graph = graph_of("""
        input: [8, 5]
        layers:
          - split: {split_size_or_sections: [3, 5], index: 1}
    """)
    assert [(n.name, n.out_shape) for n in graph.nodes] == [("split1", (5, 5))]
