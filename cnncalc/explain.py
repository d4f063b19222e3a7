"""Every figure of every layer with its formula and the numbers substituted. Pure: no I/O.

The terms come from the layer rules themselves (``out_terms``, ``params_term``, ``macs_term``,
``flops_term``, ``rf_window``; see :mod:`cnncalc.formula`), the same ones that ``report``
evaluates, so an explanation cannot disagree with the report. On top of the layers:

- a merge (add, concat, multiply) shows how the shapes and receptive fields of its inputs combine;
- a block (a group of layers sharing a name prefix, such as ``layer1.0``) gets a summary: its
  input and output shape, its figures summed, and how its receptive field grew;
- a depthwise convolution followed by a pointwise one is priced against the standard
  convolution it replaces: the MACs ratio is ``1/C_out + 1/k²`` (MobileNet, section 3.1);
- the memory line lists, after the output, each tensor the layer saves for backward
  (``Layer.saved``), per sample unless it says per step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from .analysis import analyse, receptive_field
from .errors import OptionError
from .formula import Div, Max, Num, Sym, Term, axis_names, elements, total
from .graph import INPUT, Graph, Node, build
from .layers import RF, Layer, Shape, fmt_shape
from .layers.base import kernel_term
from .layers.conv import ConvNd
from .memory import autograd_saves, requires_grad
from .report import DTYPE_BYTES, Report
from .spec import Network, suggest


@dataclass(frozen=True)
class Eq:
    """One equation ``lhs = formula = numbers = value unit note``; the value is the term's."""

    lhs: str
    term: Term
    unit: str = ""
    note: str = ""


@dataclass(frozen=True)
class Line:
    """One figure: its equations, or a sentence when there is no arithmetic to show."""

    figure: str
    eqs: tuple[Eq, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Explanation:
    """The figures of one layer (``kind='layer'``) or one block (``kind='block'``)."""

    name: str
    kind: str
    title: str
    inputs: tuple[str, ...]
    lines: tuple[Line, ...]
    #: Results as computed here (from the terms), keyed like LayerRow fields; tests compare them.
    values: dict[str, object] = field(default_factory=dict)

    def line(self, figure: str) -> Line | None:
        """The line of a figure, if shown."""
        return next((ln for ln in self.lines if ln.figure == figure), None)


def explain(
    network: Network | Graph,
    *,
    dtype: str = "fp32",
    input_shape: Sequence[int] | None = None,
    layers: Sequence[str] = (),
) -> list[Explanation]:
    """Explanations of every layer and block, in order, or of the layers and blocks named."""
    graph = network if isinstance(network, Graph) else build(network, input_shape)
    report = analyse(graph, dtype=dtype)
    return _Explainer(graph, report).run(list(layers))


# ---------------------------------------------------------------------------------------------


#: A layer's output line, shape, count terms, count lines and memory line.
_Shared = tuple[Line, Shape, dict[str, Term], list[Line], Line]


def _groups(names: list[str]) -> dict[str, list[int]]:
    """Name prefixes (blocks, sequentials) with the indices of their layers, in order."""
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        parts = name.split(".")
        for depth in range(1, len(parts)):
            groups.setdefault(".".join(parts[:depth]), []).append(i)
    return groups


class _Explainer:
    def __init__(self, graph: Graph, report: Report) -> None:
        self.graph, self.report = graph, report
        self.requires_grad: dict[int, bool] | None = None  # which outputs require grad, once asked
        self.size = DTYPE_BYTES[report.dtype]
        self.users: dict[int, list[int]] = {}
        for node in graph.nodes:
            for r in node.inputs:
                self.users.setdefault(r, []).append(node.index)
        self.groups = _groups([n.name for n in graph.nodes])
        # the lines that depend only on a layer and its input shapes, shared by equal layers (the
        # instances of a repeated block): built once, and written once by the renderer
        self.shared: dict[tuple[int, tuple[Shape, ...], Shape], _Shared] = {}

    # -- selection ------------------------------------------------------------------------------
    def run(self, wanted: list[str]) -> list[Explanation]:
        names = {n.name: n.index for n in self.graph.nodes}
        picked_layers: set[int] = set()
        picked_groups: set[str] = set()
        for w in wanted:
            if w in names:
                picked_layers.add(names[w])
            elif w in self.groups:
                picked_groups.add(w)
                picked_layers.update(self.groups[w])
            else:
                hint = suggest(w, [*names, *self.groups])
                raise OptionError(f"--layer: no layer or block named '{w}'{hint}")
        # a block's summary follows its last layer; nested blocks innermost first
        closing: dict[int, list[str]] = {}
        for g, members in self.groups.items():
            if len(members) > 1 and (not wanted or g in picked_groups):
                closing.setdefault(members[-1], []).append(g)
        out: list[Explanation] = []
        for node in self.graph.nodes:
            if not wanted or node.index in picked_layers:
                out.append(self.layer(node))
            for g in sorted(closing.get(node.index, []), key=lambda g: -g.count(".")):
                out.append(self.block(g))
        return out

    # -- one layer ------------------------------------------------------------------------------
    def rf_of(self, ref: int) -> RF:
        return RF.identity(len(self.graph.input_shape) - 1) if ref == INPUT else self.report.layers[ref].rf

    def layer(self, node: Node) -> Explanation:
        layer, ins, out = node.layer, node.in_shapes, node.out_shape
        sources = tuple(f"{self.graph.input_name(r)} {fmt_shape(s)}" for r, s in zip(node.inputs, ins))
        key = (id(layer), ins, out)
        shared = self.shared.get(key)
        if shared is None:
            shape_line, shape = self.output(layer, ins, out)
            counts = {
                "params": layer.params_term(ins),
                "buffers": layer.buffers_term(ins),
                "MACs": layer.macs_term(ins, out),
                "FLOPs": layer.flops_term(ins, out),
            }
            figures = [Line(fig, (Eq("", t),)) for fig, t in counts.items() if t.value != 0]
            zero = [fig for fig, t in counts.items() if t.value == 0]
            if zero:
                listed = ", ".join(zero[:-1]) + (" or " if len(zero) > 1 else "") + zero[-1]
                figures.append(Line("", note=f"no {listed}"))
            memory_line = Line("memory", tuple(self.memory(node, out)))
            shared = self.shared[key] = (shape_line, shape, counts, figures, memory_line)
        shape_line, shape, counts, figures, memory_line = shared
        memory = memory_line.eqs
        lines = [shape_line]
        for arg, ref in node.like:
            # a size read from another layer's output: it follows --input
            spatial = (self.graph.input_shape if ref == INPUT else self.graph.nodes[ref].out_shape)[1:]
            lines.append(Line(arg, note=f"like {self.graph.input_name(ref)}: {list(spatial)}, its spatial sizes"))
        lines += figures
        if node.frozen:
            held = "its parameters get" if counts["params"].value else "it has no parameters; any would get"
            lines.append(Line("frozen", note=f"{held} no gradient and no optimizer state (requires_grad_(False))"))
        rf_line, rf = self.receptive(node)
        lines.append(rf_line)
        lines.append(memory_line)
        lines += self.separable(node)
        values = {
            "output_shape": shape,
            "params": counts["params"].value,
            "trainable_params": 0 if node.frozen else counts["params"].value,
            "buffers": counts["buffers"].value,
            "macs": counts["MACs"].value,
            "flops": counts["FLOPs"].value,
            "rf": rf,
            "output_bytes": memory[0].term.value,
        }
        title = layer.type_name + (f" {layer.describe()}" if layer.describe() else "")
        return Explanation(node.name, "layer", title, sources, tuple(lines), values)

    def output(self, layer: Layer, ins: tuple[Shape, ...], out: Shape) -> tuple[Line, Shape]:
        """Each computed output size as an equation (``H = ⌊…⌋ + 1``)."""
        terms = layer.out_terms(ins)
        if terms is None:
            if len(ins) > 1:
                note = f"{' and '.join(fmt_shape(s) for s in ins)} combine element-wise → {fmt_shape(out)}"
            elif out == ins[0]:
                note = f"{fmt_shape(out)}, the shape of the input"
            else:
                note = f"{fmt_shape(out)}"
            return Line("output", note=note), out
        shape = tuple(int(t) for t in terms)
        eqs = tuple(Eq(a, t) for a, t in zip(axis_names(len(shape)), terms) if not t.is_atom)
        return Line("output", eqs, note=f"→ {fmt_shape(shape)}"), shape

    def receptive(self, node: Node) -> tuple[Line, RF]:
        """How the receptive field grows: a window, a merge, the whole input, or unchanged."""
        layer, ins = node.layer, node.in_shapes
        fields = [self.rf_of(r) for r in node.inputs]
        rf = receptive_field(node, fields)
        if rf.is_whole or not rf.axes:
            before = fields[0].is_whole or not fields[0].axes
            return Line("RF", note="the whole input" + ("" if before else " (every position is mixed)")), rf
        window = layer.rf_window(ins)
        if window is not None:
            eqs: list[Eq] = []
            names = _axis_letters(len(rf.axes))
            for i, (a, (span, stride, _pad)) in enumerate(zip(fields[0].axes, window)):
                if a.size is None:
                    continue
                size, jump = a.window_terms(span, stride)
                suffix = f"_{names[i]}" if len(rf.axes) > 1 else ""
                eqs += [Eq(f"r{suffix}", size), Eq(f"j{suffix}", jump)]
            return Line("RF", tuple(_same_axes(eqs))), rf
        if len(fields) > 1 and all(a.size is not None for f in fields for a in f.axes):
            eqs = []
            names = _axis_letters(len(rf.axes))
            for i in range(len(rf.axes)):
                sizes = [Sym(f"r_{k + 1}", f.axes[i].size) for k, f in enumerate(fields)]  # type: ignore[arg-type]
                suffix = f"_{names[i]}" if len(rf.axes) > 1 else ""
                eqs.append(Eq(f"r{suffix}", Max(sizes)))
            note = "(the largest field over the inputs"
            note += "; their jumps differ, the larger field's is kept)" if rf.mixed_jump else ")"
            return Line("RF", tuple(_same_axes(eqs)), note=note), rf
        from .render import format_jump, format_rf

        before, after = fields[0], rf
        if before == after or (len(fields) == 1 and before.axes == after.axes):
            return Line("RF", note=f"unchanged: {format_rf(after)} (jump {format_jump(after)})"), rf
        return Line(
            "RF", note=f"{format_rf(before)} → {format_rf(after)}, jump {format_jump(before)} → {format_jump(after)}"
        ), rf

    def memory(self, node: Node, out: Shape) -> list[Eq]:
        """The memory line: the output tensor, then each tensor the layer saves for backward."""
        from .render import format_bytes

        def eq(term: Term, what: str) -> Eq:
            readable = format_bytes(term.value)
            return Eq("", term, "B", ("" if readable.endswith(" B") else f"({readable}) ") + what)

        eqs = [eq(elements(out) * Sym("bytes", self.size), f"output, {self.report.dtype}")]
        ins = node.in_shapes
        if self.requires_grad is None:
            self.requires_grad = requires_grad(self.graph)
        grads = self.requires_grad
        saved = autograd_saves(node, self.graph.counts()[node.index], grads) if grads[node.index] else ()
        for s in saved:
            if s.ref == "weight":
                continue  # the parameter itself, counted as weights
            shape = ins[s.index] if s.ref == "input" else out if s.ref == "output" else None
            if shape is None:
                # a new tensor: name its size after a shape it matches, when it does
                shape = next((x for x in (out, *ins) if math.prod(x) == s.elements), None)
            count = Num(s.elements) if shape is None else elements(shape)
            size = {"act": Sym("bytes", self.size), "weights": Sym("bytes", self.size)}.get(s.dtype)
            size = size or Num({"fp32": 4, "int64": 8, "bool": 1}[s.dtype])
            what = f"saved: {s.what}" + ("" if s.dtype in ("act", "weights") else f", {s.dtype}")
            eqs.append(eq(count * size, what + ("" if s.per_sample else ", per step")))
        return eqs

    # -- depthwise + pointwise -------------------------------------------------------------------
    def separable(self, node: Node) -> list[Line]:
        """On a pointwise conv fed by a depthwise one: the standard convolution they replace."""
        pw = node.layer
        if not isinstance(pw, ConvNd) or not _is_pointwise(pw):
            return []
        ref = node.inputs[0]
        # walk back through element-wise layers (batchnorm, activations) to the depthwise conv
        while ref != INPUT:
            prev = self.graph.nodes[ref]
            if isinstance(prev.layer, ConvNd):
                break
            if len(prev.inputs) != 1 or prev.out_shape != prev.in_shapes[0] or len(self.users.get(ref, [])) != 1:
                return []
            ref = prev.inputs[0]
        if ref == INPUT:
            return []
        dw_node = self.graph.nodes[ref]
        dw = dw_node.layer
        c_in = dw_node.in_shapes[0][0]
        if not isinstance(dw, ConvNd) or not (dw.groups == c_in == dw.out_channels > 1):
            return []
        std = type(dw).model_validate(
            {
                "out_channels": pw.out_channels,
                "kernel_size": dw.kernel_size,
                "stride": dw.stride,
                "padding": dw.padding,
                "dilation": dw.dilation,
                "bias": pw.bias,
            }
        )
        ins = dw_node.in_shapes
        std_out = std.infer(ins)
        std_macs = std.macs_term(ins, std_out)
        dw_macs = Sym("MACs_dw", dw.macs(ins, dw_node.out_shape))
        pw_macs = Sym("MACs_pw", pw.macs(node.in_shapes, node.out_shape))
        ratio = Div(dw_macs + pw_macs, Sym("MACs_std", std_macs.value))
        k = kernel_term(dw.geometry()[0])
        identity = Div(Num(1), Sym("C_out", pw.out_channels)) + Div(Num(1), k)
        std_params = std.params_term(ins)
        sep_params = total([Sym("params_dw", dw.params(ins)), Sym("params_pw", pw.params(node.in_shapes))])
        times = float(Fraction(std_macs.value) / (dw_macs.value + pw_macs.value))
        return [
            Line(
                "separable",
                note=f"{dw_node.name} (depthwise) + {node.name} (pointwise) replace a standard "
                f"{std.type_name} {std.describe()}",
            ),
            Line("↳ MACs", (Eq("standard", std_macs), Eq("separable", dw_macs + pw_macs))),
            Line(
                "↳ ratio",
                (Eq("", ratio), Eq("", identity)),
                note=f"= {float(ratio.value):.4f}: {times:.1f}× fewer MACs",
            ),
            Line("↳ params", (Eq("standard", std_params), Eq("separable", sep_params))),
        ]

    # -- blocks ---------------------------------------------------------------------------------
    def block(self, name: str) -> Explanation:
        """A block's summary: its shapes, its figures summed, how its receptive field grew."""
        from .render import format_jump, format_rf

        members = self.groups[name]
        inside = set(members)
        rows = [self.report.layers[i] for i in members]
        entries = sorted({r for i in members for r in self.graph.nodes[i].inputs if r not in inside})
        last = self.graph.nodes[members[-1]]
        sources = tuple(
            f"{self.graph.input_name(r)} {fmt_shape(self.graph.nodes[r].out_shape if r != INPUT else self.graph.input_shape)}"
            for r in entries
        )
        lines = [Line("output", note=f"{last.name} → {fmt_shape(last.out_shape)}")]
        sums: dict[str, Term] = {}
        for fig, key in (
            ("params", "params"),
            ("buffers", "buffers"),
            ("MACs", "macs"),
            ("FLOPs", "flops"),
            ("memory", "output_bytes"),
        ):
            parts = [getattr(r, key) for r in rows if getattr(r, key)]
            sums[key] = total(parts) if parts else Num(0)
            if parts:
                unit = "B" if key == "output_bytes" else ""
                lines.append(Line(fig, (Eq("", sums[key], unit, f"over {len(parts)} of {len(rows)} layers"),)))
        merges = [self.graph.nodes[i].name for i in members if len(self.graph.nodes[i].inputs) > 1]
        if entries:
            before = self.rf_of(entries[0])
            after = self.report.layers[last.index].rf
            note = f"{format_rf(before)} → {format_rf(after)}, jump {format_jump(before)} → {format_jump(after)}"
            if merges:
                note += f"; paths meet at {', '.join(merges)}"
            lines.append(Line("RF", note=note))
        values = {key: t.value for key, t in sums.items()}
        return Explanation(name, "block", f"block of {len(members)} layers", sources, tuple(lines), values)


def _is_pointwise(conv: ConvNd) -> bool:
    k, s, d = conv.geometry()
    pad = conv.pads()
    return all(x == 1 for x in (*k, *s)) and conv.groups == 1 and not any(pad[0]) and not any(pad[1])


def _axis_letters(n: int) -> tuple[str, ...]:
    return {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}.get(n, tuple(str(i + 1) for i in range(n)))


def _same_axes(eqs: list[Eq]) -> list[Eq]:
    """Per-axis equations, or one set without the axis suffix when every axis reads the same."""
    by_lhs: dict[str, list[Eq]] = {}
    for e in eqs:
        by_lhs.setdefault(e.lhs.split("_")[0], []).append(e)
    if all(len({e.term.text() for e in group}) == 1 for group in by_lhs.values()):
        return [Eq(k, group[0].term) for k, group in by_lhs.items()]
    return eqs
