"""A self-contained HTML report: the network drawn as a graph, charts, memory, a sortable table, the totals.

One file with everything inline (styles, scripts, data, charts), so it opens offline and can be
attached to a pull request or a ticket. The graph is laid out in the browser by dagre (MIT
licence, vendored unmodified in ``assets/dagre.min.js``); the charts are SVG drawn here. Pure:
returns a string.

The report is one ``<div class="cnncalc-report" id=...>`` holding its own styles (every rule
scoped to that class), data and script (which looks only inside its div), and no other id, so
that :func:`render_html_fragment` can put several reports on one page (a notebook) without
their styles or ids meeting; :func:`render_html` is that fragment in a page of its own.
"""

from __future__ import annotations

import html
import json
import math
import uuid
from collections.abc import Callable, Sequence
from importlib import resources

from .. import hotspots
from ..constants import VERSION
from ..formatting import format_bytes, format_count, format_int, format_jump, format_rf
from ..layers import fmt_shape
from ..report import LayerRow, Report
from ..text import printable
from .report import breakdown_lines, format_answer, format_inputs, memory_lines

#: The graph opens showing every layer up to this many; a larger network opens collapsed to the
#: deepest ``--depth`` that keeps at most this many nodes (DenseNet-121: its 58 dense layers).
GRAPH_NODES = 80

#: Layers with one input whose output has the input's shape and no MACs (batchnorm, activations,
#: dropout) fold into the layer before them in the compact view of the graph, which opens folded
#: when even the collapsed graph has more than :data:`GRAPH_NODES` nodes.
FOLD_ABOVE = GRAPH_NODES

#: The id of the report of a standalone page (a notebook's reports get a unique one each).
PAGE_ID = "cnncalc-report"


def _t(text: str) -> str:
    """User text for HTML: control and bidi characters made visible, then HTML-escaped (quotes too)."""
    return html.escape(printable(text), quote=True)


def _asset(name: str) -> str:
    return resources.files("cnncalc").joinpath("assets").joinpath(name).read_text(encoding="utf-8")


def fold_groups(report: Report) -> list[list[int]]:
    """Chains of layers drawn as one node: a layer and the element-wise layers that follow it alone."""
    names = {r.name: r.index for r in report.layers}
    consumers: dict[int, int] = {}
    for r in report.layers:
        for src in r.inputs:
            if src in names:
                consumers[names[src]] = consumers.get(names[src], 0) + 1
    groups: list[list[int]] = []
    head_of: dict[int, list[int]] = {}
    for r in report.layers:
        source = names.get(r.inputs[0]) if len(r.inputs) == 1 else None
        if (source is not None and consumers.get(source) == 1 and r.macs == 0
                and r.input_shapes[0] == r.output_shape and source in head_of):
            group = head_of[source]
            group.append(r.index)
        else:
            group = [r.index]
            groups.append(group)
        head_of[r.index] = group
    return groups


def initial_depth(report: Report) -> int | None:
    """The ``--depth`` the graph opens at: None (every layer) when that is at most :data:`GRAPH_NODES`
    nodes, else the deepest depth that is, else 1."""
    if len(report.layers) <= GRAPH_NODES:
        return None
    deepest = max(len(r.name.split(".")) for r in report.layers)
    best = 1
    for depth in range(2, deepest):
        if len(report.collapse(depth).layers) > GRAPH_NODES:
            break
        best = depth
    return best


def graph_groups(report: Report) -> dict[str, dict[str, object]]:
    """Every name prefix that two or more layers share, i.e. a row of ``--depth``: its kind, layer
    count and output layer."""
    index = {r.name: r.index for r in report.layers}
    members: dict[str, list[int]] = {}
    for r in report.layers:
        parts = r.name.split(".")
        for k in range(1, len(parts)):
            members.setdefault(".".join(parts[:k]), []).append(r.index)
    out: dict[str, dict[str, object]] = {}
    for key, ids in members.items():
        if len(ids) < 2 and key not in report.groups:
            continue
        kind, output = report.groups.get(key, ("group", report.layers[ids[-1]].name))
        out[key] = {"kind": printable(kind), "count": len(ids), "out": index.get(output, ids[-1])}
    return out


def _payload(report: Report) -> dict[str, object]:
    names = {r.name: r.index for r in report.layers}
    nodes = [
        {
            "id": r.index,
            # the name's components: a collapsed group is a prefix of its layers' names
            "path": r.name.split("."),
            "name": printable(r.name),
            "type": printable(r.type),
            "label": printable(r.label),
            "shape": fmt_shape(r.output_shape),
            "macs": r.macs,
            "params": r.params,
            "inputs": [names.get(i, -1) for i in r.inputs],
        }
        for r in report.layers
    ]
    depth = initial_depth(report)
    shown = len(report.layers) if depth is None else len(report.collapse(depth).layers)
    return {
        "input_shape": fmt_shape(report.input_shape),
        "nodes": nodes,
        "groups": graph_groups(report),
        "chains": fold_groups(report),
        "depth": depth,
        "max_depth": max((len(r.name.split(".")) for r in report.layers), default=1),
        "fold": shown > FOLD_ABOVE,
    }


def _json_for_script(data: object) -> str:
    # inside <script>, "</" would end the element and "<!--" change how it is read: every "<" is
    # written as its JSON escape (every other non-ASCII character is escaped already)
    text = json.dumps(data, separators=(",", ":"))
    return text.replace("<", "\\u003c")


# ---------------------------------------------------------------------------------------------
# charts: inline SVG

_W, _H, _L, _B, _T = 460, 160, 50, 22, 10  # width, height, left and bottom margins, top margin


def _ticks(top: float, binary: bool = False) -> list[float]:
    """About four round tick values from 0 to ``top`` (powers of two for bytes)."""
    if top <= 0:
        return [0.0]
    if binary:
        step = 2 ** math.floor(math.log2(top / 4)) if top >= 8 else 1
        while top / step > 5:
            step *= 2
    else:
        step = 10 ** math.floor(math.log10(top / 4))
        for m in (1, 2, 2.5, 5, 10):
            if top / (step * m) <= 5:
                step *= m
                break
    return [i * step for i in range(int(top // step) + 1)]


def _axis_label(v: float, fmt: Callable[[int], str]) -> str:
    """A tick's label without trailing zeros: ``500M``, ``2.5K``, ``4MiB``."""
    if not v:
        return "0"
    number, _, unit = fmt(int(v)).partition(" ")
    number = number.rstrip("0").rstrip(".") if "." in number else number
    return number + unit


def _frame(top: float, fmt: Callable[[int], str], n: int, xlabel: str) -> list[str]:
    out = []
    for t in _ticks(top, binary=fmt is format_bytes):
        y = _H - _B - (t / top * (_H - _B - _T) if top else 0)
        out.append(f'<line class="grid-line" x1="{_L}" x2="{_W - 6}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text x="{_L - 5}" y="{y + 3:.1f}" text-anchor="end">{html.escape(_axis_label(t, fmt))}</text>')
    out.append(f'<line class="axis" x1="{_L}" x2="{_W - 6}" y1="{_H - _B}" y2="{_H - _B}"/>')
    out.append(f'<text x="{_L}" y="{_H - 6}">0</text>')
    out.append(f'<text x="{_W - 6}" y="{_H - 6}" text-anchor="end">{n - 1}</text>')
    out.append(f'<text x="{(_L + _W) / 2:.0f}" y="{_H - 6}" text-anchor="middle">{html.escape(xlabel)}</text>')
    return out


def bar_chart(
    rows: Sequence[LayerRow], value: Callable[[LayerRow], int], fmt: Callable[[int], str], colour: str, what: str
) -> str:
    """One bar per layer, in network order; each bar's tooltip names the layer and its value."""
    n = max(len(rows), 1)
    top = max((value(r) for r in rows), default=0) or 1
    parts = [f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-label="{html.escape(what)} per layer">']
    parts += _frame(top * 1.05, fmt, n, "layer")
    step = (_W - 6 - _L) / n
    width = max(step * 0.8, 0.6)
    for i, r in enumerate(rows):
        v = value(r)
        if not v:
            continue
        h = v / (top * 1.05) * (_H - _B - _T)
        parts.append(
            f'<rect class="bar" x="{_L + i * step + (step - width) / 2:.2f}" y="{_H - _B - h:.2f}" '
            f'width="{width:.2f}" height="{h:.2f}" fill="{colour}"><title>{_t(r.name)} ({_t(r.type)}): '
            f"{format_int(v)} {html.escape(what)}</title></rect>"
        )
    parts.append("</svg>")
    return "".join(parts)


def rf_chart(report: Report) -> str:
    """Receptive-field size (largest axis) after each layer, until it covers the whole input."""
    rows = report.layers
    n = max(len(rows), 1)
    sizes = [
        max((a.size for a in r.rf.axes if a.size is not None), default=None) if not r.rf.is_whole else None
        for r in rows
    ]
    spatial = max(report.input_shape[1:], default=1) if len(report.input_shape) > 1 else 1
    top = max([s for s in sizes if s is not None] + [spatial]) * 1.08
    parts = [f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-label="receptive field per layer">']
    parts += _frame(top, lambda v: str(v), n, "layer")
    step = (_W - 6 - _L) / n

    def y(v: float) -> float:
        return _H - _B - v / top * (_H - _B - _T)

    yi = y(spatial)
    parts.append(f'<line x1="{_L}" x2="{_W - 6}" y1="{yi:.1f}" y2="{yi:.1f}" stroke="#9aa3b8" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{_L + 4}" y="{yi - 4:.1f}">input {spatial}</text>')
    points = [(i, s) for i, s in enumerate(sizes) if s is not None]
    if points:
        path = " ".join(
            f"{'M' if k == 0 else 'L'}{_L + (i + 0.5) * step:.1f} {y(s):.1f}" for k, (i, s) in enumerate(points)
        )
        parts.append(f'<path d="{path}" fill="none" stroke="var(--rf)" stroke-width="1.8"/>')
        for i, s in points[:: max(1, len(points) // 120)]:
            r = rows[i]
            parts.append(
                f'<circle cx="{_L + (i + 0.5) * step:.1f}" cy="{y(s):.1f}" r="2.2" fill="var(--rf)">'
                f"<title>{_t(r.name)}: {format_rf(r.rf)} (jump {format_jump(r.rf)})</title></circle>"
            )
    whole = next((i for i, r in enumerate(rows) if r.rf.is_whole), None)
    if whole is not None:
        x = _L + (whole + 0.5) * step
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_T}" y2="{_H - _B}" stroke="#c7ccd9" stroke-dasharray="2 3"/>'
        )
        parts.append(f'<text x="{x - 4:.1f}" y="{(_H - _B) * 0.55:.1f}" text-anchor="end">whole input</text>')
        parts.append(
            f'<text x="{x - 4:.1f}" y="{(_H - _B) * 0.55 + 12:.1f}" text-anchor="end">'
            f"from {_t(rows[whole].name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# page parts


def _cards(report: Report) -> str:
    t = report.totals
    m = report.memory
    cards = [
        (
            "Params",
            format_count(t.params),
            f"{format_int(t.trainable_params)} trainable · {format_int(t.non_trainable_params)} frozen · "
            f"{format_int(t.buffers)} buffer values apart",
        ),
        ("MACs", format_count(t.macs), f"{format_int(t.macs)} per sample"),
        ("FLOPs", format_count(t.flops), f"{format_int(t.flops)} per sample"),
        ("Weights", format_bytes(t.weight_file_bytes), f"as {report.dtype}"),
    ]
    if m is not None and m.training_peak is not None:
        cards.append(("Training", format_bytes(m.training_peak),
                      f"peak at batch {m.batch}, during {m.training_moment}"))
    if m is not None:
        cards.append(("Inference", format_bytes(m.inference_peak), f"peak at batch {m.batch}"))
    cards += [
        (
            "Receptive field",
            format_rf(t.receptive_field) if t.receptive_field else "–",
            f"jump {format_jump(t.receptive_field)} at {t.receptive_field_layer}"
            if t.receptive_field
            else "no spatial map",
        ),
        ("Layers", str(len(report.layers)), f"output {fmt_shape(t.output_shape)}" if len(t.outputs) < 2 else
         "outputs " + " · ".join(f"{name} {fmt_shape(shape)}" for name, shape in t.outputs)),
    ]
    return "".join(
        f'<div class="card"><div class="k">{k}</div><div class="v">{_t(v)}</div>'
        f'<div class="d">{_t(d)}</div></div>'
        for k, v, d in cards
    )


#: Colours of the kinds of memory in the breakdown bars.
MEMORY_COLOURS = {
    "weights": "#7b4bc4",
    "gradients": "#b59ae0",
    "optimizer state": "#d64c12",
    "input batch": "#9aa3b8",
    "saved activations": "#1c9a7b",
    "activation gradients": "#7fcfb9",
    "activations at their peak": "#1c9a7b",
    "library workspace": "#c7ccd9",
}


def _membar(kind: str, parts: Sequence[tuple[str, int]], total: int) -> str:
    """A stacked bar of ``parts`` (label, bytes) adding up to ``total``, with a key; exact bytes in ``data-bytes``."""
    whole = total or 1
    bar = "".join(
        f'<span style="width:{b / whole * 100:.3f}%;background:{MEMORY_COLOURS.get(k, "#9aa3b8")}" '
        f'title="{_t(k)}: {format_bytes(b)}"></span>'
        for k, b in parts
        if b
    )
    keys = "".join(
        f'<span class="part" data-kind="{_t(k)}" data-bytes="{b}">'
        f'<i style="background:{MEMORY_COLOURS.get(k, "#9aa3b8")}">'
        f"</i>{_t(k)}: <b>{format_bytes(b)}</b></span>"
        for k, b in parts
    )
    return (
        f'<div class="memrow" data-peak="{kind}" data-bytes="{total}"><div class="memhead">{kind.capitalize()} peak '
        f"<b>{format_bytes(total)}</b></div><div class=\"membar\">{bar}</div><div class=\"memkeys\">{keys}</div></div>"
    )


def _memory(report: Report) -> str:
    """The memory model's answer, as ``report --memory`` gives it: the peaks, when, and what is alive then."""
    m = report.memory
    if m is None:  # pragma: no cover  (analyse always estimates memory)
        return ""
    rows = []
    if m.training_peak is not None:
        rows.append(_membar("training", m.training_breakdown, m.training_peak))
    inference = [("weights", m.weights), ("activations at their peak", m.inference_activations),
                 ("library workspace", m.overhead)]
    rows.append(_membar("inference", inference, m.inference_peak))
    lines = "".join(f"<dt>{_t(k)}</dt><dd>{_t(v)}</dd>" for k, v in breakdown_lines(m) + memory_lines(report))
    return (
        f'<div class="chart memory" style="grid-column: 1 / -1"><h3>Memory: will it fit? · {_t(format_answer(m))}</h3>'
        f"{''.join(rows)}<dl>{lines}</dl></div>"
    )


#: The columns of the layer table.
COLUMNS = ("#", "layer", "type", "from", "output", "params", "MACs", "FLOPs", "RF", "jump", "memory", "saved",
            "share of MACs")
_NUMERIC = {0, *range(4, len(COLUMNS))}


def _table(report: Report) -> str:
    shares = hotspots.shares(report, "macs")
    memory = report.memory.by_name() if report.memory is not None else {}
    head = "".join(f'<th class="{"n" if i in _NUMERIC else ""}">{c}</th>' for i, c in enumerate(COLUMNS))
    body = []
    previous: LayerRow | None = None
    for r, s in zip(report.layers, shares):
        kind = r.type + (f" {r.label}" if r.label else "") + (" · frozen" if r.frozen else "")
        rf_v = -1 if r.rf.is_whole or not r.rf.axes else max(a.size or 0 for a in r.rf.axes)
        # the inputs where they are not the row above in network order (add, concat, a branch's start)
        sources = format_inputs(r, previous)
        previous = r
        saved = memory[r.name].saved_bytes if r.name in memory else 0
        body.append(
            f'<tr data-id="{r.index}"><td class="n" data-v="{r.index}">{r.index}</td>'
            f'<td class="name">{_t(r.name)}</td><td>{_t(kind)}</td><td class="from">{_t(sources)}</td>'
            f'<td class="n" data-v="{math.prod(r.output_shape)}">{fmt_shape(r.output_shape)}</td>'
            f'<td class="n" data-v="{r.params}">{format_int(r.params)}</td>'
            f'<td class="n" data-v="{r.macs}">{format_int(r.macs)}</td>'
            f'<td class="n" data-v="{r.flops}">{format_int(r.flops)}</td>'
            f'<td class="n" data-v="{rf_v}">{format_rf(r.rf)}</td><td class="n">{format_jump(r.rf)}</td>'
            f'<td class="n" data-v="{r.output_bytes}">{format_bytes(r.output_bytes)}</td>'
            f'<td class="n" data-v="{saved}">{format_bytes(saved)}</td>'
            f'<td class="n" data-v="{s:.6f}">{s:.1%}'
            f'<span class="share"><b style="width:{s * 100:.2f}%"></b></span></td></tr>'
        )
    t = report.totals
    saved_total = report.memory.saved if report.memory is not None else 0
    foot = (
        f'<tr><td></td><td>total</td><td></td><td></td><td></td><td class="n">{format_int(t.params)}</td>'
        f'<td class="n">{format_int(t.macs)}</td><td class="n">{format_int(t.flops)}</td><td></td><td></td>'
        f'<td class="n">{format_bytes(t.activation_bytes)}</td><td class="n">{format_bytes(saved_total)}</td>'
        f'<td class="n">100%</td></tr>'
    )
    return (f'<table class="layers"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
            f"<tfoot>{foot}</tfoot></table>")


def _hotspot_line(report: Report) -> str:
    found = [h for m in hotspots.METRICS if (h := hotspots.hotspot(report, m)) is not None]
    if not found:
        return ""
    items = "; ".join(
        f"<b>{h.share:.0%}</b> of {hotspots.METRICS[h.metric][0]} in <b>{_t(h.where)}</b>" for h in found
    )
    return f'<div class="hot">Where the cost sits: {items}.</div>'


def _warnings(report: Report) -> str:
    """One line per warning of the analysis (a branch that reaches no output), with its layer and line."""
    return "".join(
        f'<div class="hot warning">Warning: layer <b>{_t(w.layer or "")}</b> ({_t(w.layer_type or "")})'
        f'{f" at line {w.line}" if w.line else ""}: {_t(w.message)}</div>'
        for w in report.warnings
    )


#: The graph's zoom buttons, on the toolbar's first line.
_ZOOM_BUTTONS = ('<button class="zoom-out" title="zoom out">−</button>'
                 '<button class="zoom-in" title="zoom in">+</button>')


def render_html_fragment(report: Report, *, uid: str | None = None) -> str:
    """The report as one ``<div>`` with its styles, data and script, to sit in any page beside others.

    ``uid`` is the div's id, the only id in the fragment (default: a new random one).
    """
    uid = uid or f"cnncalc-{uuid.uuid4().hex[:12]}"
    rows = report.layers
    m = report.memory
    charts = [
        (
            "MACs per layer",
            "multiply-accumulates of conv and linear layers",
            bar_chart(rows, lambda r: r.macs, format_count, "#d64c12", "MACs"),
        ),
        (
            "Params per layer",
            "parameters, trainable and frozen",
            bar_chart(rows, lambda r: r.params, format_count, "#7b4bc4", "params"),
        ),
        (
            "Activation memory per layer",
            f"output tensor, {report.dtype}, per sample",
            bar_chart(rows, lambda r: r.output_bytes, format_bytes, "#1c9a7b", "bytes"),
        ),
        ("Receptive field growth", "largest axis, input pixels", rf_chart(report)),
    ]
    chart_html = "".join(
        f'<div class="chart"><h3>{t}</h3><div class="note">{html.escape(n)}</div>{svg}</div>' for t, n, svg in charts
    )
    title = _t(report.network)
    optimizer = f" · {m.optimizer}{' · autocast' if m.amp else ''}" if m is not None else ""
    sub = _t(
        f"input {fmt_shape(report.input_shape)} · {report.dtype} · batch {report.batch}{optimizer}"
        + (f" · {report.source.replace(chr(92), '/').rsplit('/', 1)[-1]}" if report.source else "")
    )
    # the script finds its report by id; nothing else in it is looked up outside the div
    start = f"(document.getElementById({json.dumps(uid)}));"
    return f"""<div class="cnncalc-report" id="{html.escape(uid)}">
<style>{_asset("report.css")}</style>
<div class="js-errors"></div>
<header><div class="brand">cnncalc {VERSION}</div><h1>{title}</h1><div class="sub">{sub}</div></header>
<main>
<section class="cards">{_cards(report)}</section>
{_hotspot_line(report)}
{_warnings(report)}
<div class="grid">
<section class="panel graph-panel">
<h2>Network <small class="graph-count"></small></h2>
<div class="toolbar">{_ZOOM_BUTTONS}
<button class="zoom-fit" title="fit the width">fit</button>
<label class="depth-choice" title="one node per group of this many name components, like --depth">depth
<select class="depth"></select></label>
<label><input type="checkbox" class="fold"> fold element-wise layers into the layer before</label>
<span class="legend">MACs <span class="ramp"></span></span></div>
<div class="hint">Click a group (dashed border) to expand it; double-click a layer to collapse its group again.</div>
<div class="graph"></div>
</section>
<section class="panel"><h2>Per layer</h2><div class="charts">{chart_html}{_memory(report)}</div></section>
</div>
<section class="panel table-wrap"><h2>Layers <small>click a column to sort, a row to find it in the graph</small></h2>
<div class="scroll">{_table(report)}</div></section>
</main>
<footer>Made by cnncalc {VERSION}. Graph layout by dagre (MIT licence).</footer>
<script type="application/json" class="cnncalc-data">{_json_for_script(_payload(report))}</script>
<script>if (typeof dagre === "undefined") {{
{_asset("dagre.min.js")}
}}</script>
<script>{_asset("report.js")}{start}</script>
</div>
"""


def render_html(report: Report) -> str:
    """The whole report as one HTML document with no external references."""
    title = _t(report.network)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="cnncalc {VERSION}">
<title>{title} · cnncalc report</title>
<style>body {{ margin: 0; background: #f5f6fa; }}</style>
</head>
<body>
<script>
window.addEventListener("error", function (e) {{
  var box = document.querySelector(".cnncalc-report .js-errors");
  if (box) box.textContent += (e.message || String(e)) + "\\n";
  document.body.dataset.error = "1";
}});
</script>
{render_html_fragment(report, uid=PAGE_ID)}</body>
</html>
"""
