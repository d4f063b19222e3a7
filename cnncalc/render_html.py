"""A self-contained HTML report: the network drawn as a graph, charts, a sortable table, the totals.

One file with everything inline (styles, scripts, data, charts), so it opens offline and can be
attached to a pull request or a ticket. The graph is laid out in the browser by dagre (MIT
licence, vendored unmodified in ``assets/dagre.min.js``); the charts are SVG drawn here. Pure:
returns a string.
"""

from __future__ import annotations

import html
import json
import math
from importlib import resources
from typing import Callable, Sequence

from . import __version__, hotspots
from .layers import fmt_shape
from .render import format_bytes, format_count, format_int, format_jump, format_rf
from .report import LayerRow, Report

#: Layers with one input whose output has the input's shape and no MACs (batchnorm, activations,
#: dropout) fold into the layer before them in the compact view of the graph.
FOLD_ABOVE = 40


def _asset(name: str) -> str:
    return resources.files("cnncalc").joinpath("assets", name).read_text(encoding="utf-8")


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
        src = names.get(r.inputs[0]) if len(r.inputs) == 1 else None
        foldable = (
            src is not None
            and consumers.get(src) == 1
            and r.macs == 0
            and r.input_shapes[0] == r.output_shape
            and src in head_of
        )
        if foldable:
            group = head_of[src]  # type: ignore[index]
            group.append(r.index)
        else:
            group = [r.index]
            groups.append(group)
        head_of[r.index] = group
    return groups


def _payload(report: Report) -> dict[str, object]:
    names = {r.name: r.index for r in report.layers}
    nodes = [
        {
            "id": r.index,
            "name": r.name,
            "type": r.type,
            "label": r.label,
            "shape": fmt_shape(r.output_shape),
            "macs": r.macs,
            "params": r.params,
            "inputs": [names.get(i, -1) for i in r.inputs],
        }
        for r in report.layers
    ]
    return {
        "input_shape": fmt_shape(report.input_shape),
        "nodes": nodes,
        "groups": fold_groups(report),
        "fold": len(report.layers) > FOLD_ABOVE,
    }


def _json_for_script(data: object) -> str:
    # inside <script>, "</" would end the element: write every "<" as its JSON escape
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")


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
            f'width="{width:.2f}" height="{h:.2f}" fill="{colour}"><title>{html.escape(r.name)} ({r.type}): '
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
                f"<title>{html.escape(r.name)}: {format_rf(r.rf)} (jump {format_jump(r.rf)})</title></circle>"
            )
    whole = next((i for i, r in enumerate(rows) if r.rf.is_whole), None)
    if whole is not None:
        x = _L + (whole + 0.5) * step
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_T}" y2="{_H - _B}" stroke="#c7ccd9" stroke-dasharray="2 3"/>'
        )
        parts.append(f'<text x="{x - 4:.1f}" y="{(_H - _B) * 0.55:.1f}" text-anchor="end">whole input</text>')
        parts.append(
            f'<text x="{x - 4:.1f}" y="{(_H - _B) * 0.55 + 12:.1f}" text-anchor="end">from {html.escape(rows[whole].name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# page parts


def memory_parts(report: Report) -> list[tuple[str, int, str]]:
    """(label, bytes, colour) of the memory breakdown; further kinds of memory join this list."""
    t = report.totals
    return [
        ("weights", t.param_bytes, "#7b4bc4"),
        ("buffers", t.buffer_bytes, "#b59ae0"),
        (f"activations (all layer outputs, batch {t.batch})", t.activation_bytes_batch, "#1c9a7b"),
    ]


def _cards(report: Report) -> str:
    t = report.totals
    cards = [
        (
            "Params",
            format_count(t.params + t.buffers),
            f"{format_int(t.params)} trainable · {format_int(t.buffers)} buffers",
        ),
        ("MACs", format_count(t.macs), f"{format_int(t.macs)} per sample"),
        ("FLOPs", format_count(t.flops), f"{format_int(t.flops)} per sample"),
        ("Weights", format_bytes(t.weight_file_bytes), f"as {report.dtype}"),
        (
            "Activations",
            format_bytes(t.activation_bytes),
            f"per sample · {format_bytes(t.activation_bytes_batch)} at batch {t.batch}",
        ),
        (
            "Receptive field",
            format_rf(t.receptive_field) if t.receptive_field else "–",
            f"jump {format_jump(t.receptive_field)} at {t.receptive_field_layer}"
            if t.receptive_field
            else "no spatial map",
        ),
        ("Layers", str(len(report.layers)), f"output {fmt_shape(t.output_shape)}"),
    ]
    return "".join(
        f'<div class="card"><div class="k">{k}</div><div class="v">{html.escape(v)}</div>'
        f'<div class="d">{html.escape(d)}</div></div>'
        for k, v, d in cards
    )


def _memory(report: Report) -> str:
    parts = memory_parts(report)
    whole = sum(b for _, b, _ in parts) or 1
    bar = "".join(
        f'<span style="width:{b / whole * 100:.3f}%;background:{c}" title="{html.escape(k)}: {format_bytes(b)}"></span>'
        for k, b, c in parts
        if b
    )
    keys = "".join(
        f'<span><i style="background:{c}"></i>{html.escape(k)}: <b>{format_bytes(b)}</b></span>' for k, b, c in parts
    )
    return (
        f'<div class="chart" style="grid-column: 1 / -1"><h3>Memory · {format_bytes(whole)}</h3>'
        f'<div class="membar">{bar}</div><div class="memkeys">{keys}</div></div>'
    )


_COLUMNS = ("#", "layer", "type", "output", "params", "MACs", "FLOPs", "RF", "jump", "memory", "share of MACs")


def _table(report: Report) -> str:
    shares = hotspots.shares(report, "macs")
    head = "".join(
        f'<th class="{"n" if i in (0, 4, 5, 6, 7, 8, 9, 10) else ""}">{c}</th>' for i, c in enumerate(_COLUMNS)
    )
    body = []
    for r, s in zip(report.layers, shares):
        kind = r.type + (f" {r.label}" if r.label else "")
        rf_v = -1 if r.rf.is_whole or not r.rf.axes else max(a.size or 0 for a in r.rf.axes)
        body.append(
            f'<tr id="row-{r.index}" data-id="{r.index}"><td class="n" data-v="{r.index}">{r.index}</td>'
            f'<td class="name">{html.escape(r.name)}</td><td>{html.escape(kind)}</td>'
            f'<td class="n" data-v="{math.prod(r.output_shape)}">{fmt_shape(r.output_shape)}</td>'
            f'<td class="n" data-v="{r.params}">{format_int(r.params)}</td>'
            f'<td class="n" data-v="{r.macs}">{format_int(r.macs)}</td>'
            f'<td class="n" data-v="{r.flops}">{format_int(r.flops)}</td>'
            f'<td class="n" data-v="{rf_v}">{format_rf(r.rf)}</td><td class="n">{format_jump(r.rf)}</td>'
            f'<td class="n" data-v="{r.output_bytes}">{format_bytes(r.output_bytes)}</td>'
            f'<td class="n" data-v="{s:.6f}">{s:.1%}<span class="share"><b style="width:{s * 100:.2f}%"></b></span></td></tr>'
        )
    t = report.totals
    foot = (
        f'<tr><td></td><td>total</td><td></td><td></td><td class="n">{format_int(t.params)}</td>'
        f'<td class="n">{format_int(t.macs)}</td><td class="n">{format_int(t.flops)}</td><td></td><td></td>'
        f'<td class="n">{format_bytes(t.activation_bytes)}</td><td class="n">100%</td></tr>'
    )
    return (
        f'<table id="layers"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody><tfoot>{foot}</tfoot></table>'
    )


def _hotspot_line(report: Report) -> str:
    found = [h for m in hotspots.METRICS if (h := hotspots.hotspot(report, m)) is not None]
    if not found:
        return ""
    items = "; ".join(
        f"<b>{h.share:.0%}</b> of {hotspots.METRICS[h.metric][0]} in <b>{html.escape(h.where)}</b>" for h in found
    )
    return f'<div class="hot">Where the cost sits: {items}.</div>'


def render_html(report: Report) -> str:
    """The whole report as one HTML document with no external references."""
    rows = report.layers
    charts = [
        (
            "MACs per layer",
            "multiply-accumulates of conv and linear layers",
            bar_chart(rows, lambda r: r.macs, format_count, "#d64c12", "MACs"),
        ),
        (
            "Params per layer",
            "trainable parameters",
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
    title = html.escape(report.network)
    sub = html.escape(
        f"input {fmt_shape(report.input_shape)} · {report.dtype} · batch {report.batch}"
        + (f" · {report.source.replace(chr(92), '/').rsplit('/', 1)[-1]}" if report.source else "")
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="cnncalc {__version__}">
<title>{title} · cnncalc report</title>
<style>{_asset("report.css")}</style>
</head>
<body>
<div id="js-errors"></div>
<header><div class="brand">cnncalc {__version__}</div><h1>{title}</h1><div class="sub">{sub}</div></header>
<main>
<section class="cards">{_cards(report)}</section>
{_hotspot_line(report)}
<div class="grid">
<section class="panel" id="graph-panel">
<h2>Network <small id="graph-count"></small></h2>
<div class="toolbar"><button id="zoom-out" title="zoom out">−</button><button id="zoom-in" title="zoom in">+</button>
<button id="zoom-fit" title="fit the width">fit</button>
<label><input type="checkbox" id="fold"> fold element-wise layers into the layer before</label>
<span class="legend">MACs <span class="ramp"></span></span></div>
<div id="graph"></div>
</section>
<section class="panel"><h2>Per layer</h2><div class="charts">{chart_html}{_memory(report)}</div></section>
</div>
<section class="panel table-wrap"><h2>Layers <small>click a column to sort, a row to find it in the graph</small></h2>
<div class="scroll">{_table(report)}</div></section>
</main>
<footer>Made by cnncalc {__version__}. Graph layout by dagre (MIT licence).</footer>
<script type="application/json" id="cnncalc-data">{_json_for_script(_payload(report))}</script>
<script>
window.addEventListener("error", function (e) {{
  var box = document.getElementById("js-errors");
  box.textContent += (e.message || String(e)) + "\\n";
  document.body.dataset.error = "1";
}});
</script>
<script>{_asset("dagre.min.js")}</script>
<script>{_asset("report.js")}</script>
</body>
</html>
"""
