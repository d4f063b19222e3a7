"""The HTML report answers "will it fit" with the memory model's figures, lets a large graph be
collapsed and expanded like ``--depth``, shows names whole and a merge's inputs, shows user text
literally, and sits in a page (a notebook) beside other reports without touching them."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import cli
from cnncalc.render.html import COLUMNS, GRAPH_NODES, graph_groups, initial_depth, render_html, render_html_fragment
from cnncalc.text import printable


class Page(HTMLParser):
    """Tags, ids, the memory rows, the table's cells and the JSON payload of a page."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.memory: dict[str, dict[str, Any]] = {}
        self.rows: list[dict[str, Any]] = []
        self.payloads: list[str] = []
        self.styles: list[str] = []
        self.texts: dict[str, list[str]] = {"h1": [], "title": []}
        self._stack: list[tuple[str, dict[str, str | None]]] = []
        self._cell: str | None = None
        self._text = ""
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if a.get("id"):
            self.ids.append(a["id"] or "")
        if tag == "div" and a.get("data-peak"):
            self.memory[a["data-peak"] or ""] = {"bytes": int(a["data-bytes"] or 0), "parts": {}}
            self._peak = a["data-peak"]
        if tag == "span" and "data-kind" in a:
            self.memory[self._peak]["parts"][a["data-kind"]] = int(a["data-bytes"] or 0)
        if tag == "tr" and "data-id" in a:
            self.rows.append({"id": a["data-id"] or "", "values": []})
        if tag == "td" and self.rows and self._in("tbody"):
            self._cell = a.get("class") or ""
            self.rows[-1]["values"].append(a.get("data-v"))
        self._stack.append((tag, a))
        self._text = ""

    def _in(self, tag: str) -> bool:
        return any(t == tag for t, _ in self._stack)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            if self._cell in ("name", "from"):
                self.rows[-1][self._cell] = self._text
            self._cell = None
        if tag == "script" and self._stack and self._stack[-1][1].get("class") == "cnncalc-data":
            self.payloads.append(self._text)
        if tag == "style":
            self.styles.append(self._text)
        if tag in self.texts:
            self.texts[tag].append(self._text)
        while self._stack and self._stack[-1][0] != tag:
            self._stack.pop()
        if self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        self._text += data


# ---------------------------------------------------------------------------------------------
# memory: the figures of report --memory

CASES = [
    ("lenet5", {}),
    ("resnet50", {"batch": 32}),
    ("mobilenet_v2", {"batch": 8, "optimizer": "sgd", "amp": True}),
    ("densenet121", {"batch": 4, "optimizer": "momentum", "dtype": "bf16"}),
    ("vgg16", {"optimizer": "none"}),
    ("efficientnet_b0", {"batch": 2, "optimizer": "adamw", "input_shape": "3x256x256"}),
]


@pytest.mark.parametrize(("name", "options"), CASES, ids=[f"{n} {o}" for n, o in CASES])
def test_memory_is_the_memory_models_answer(name: str, options: dict[str, Any]) -> None:
    report = cnncalc.analyse(name, **options)
    page = Page(render_html(report))
    memory = report.to_dict()["memory"]
    if memory["training_peak_bytes"] is None:
        assert "training" not in page.memory
    else:
        training = page.memory["training"]
        assert training["bytes"] == memory["training_peak_bytes"]
        assert training["parts"] == memory["training_peak_breakdown"]
        assert sum(training["parts"].values()) == training["bytes"]
    inference = page.memory["inference"]
    assert inference["bytes"] == memory["inference_peak_bytes"]
    assert sum(inference["parts"].values()) == inference["bytes"]
    assert inference["parts"]["weights"] == memory["weights_bytes"]
    # the per-layer saved tensors are the JSON's too (the column after the output's memory)
    saved = [r["memory"]["saved_bytes"] for r in report.to_dict()["layers"]]
    column = COLUMNS.index("saved")
    assert [int(row["values"][column]) for row in page.rows] == saved


@pytest.mark.parametrize("args", [["--batch", "16"], ["--optimizer", "none", "--dtype", "fp16"],
                                  ["--amp", "--optimizer", "sgd", "--batch", "3"]], ids=" ".join)
def test_cli_html_has_the_figures_of_report_memory_json(tmp_path: Path, args: list[str]) -> None:
    target = tmp_path / "r.html"
    done = CliRunner().invoke(cli, ["report", "resnet18", *args, "--memory", "-f", "json", "--html", str(target)],
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output
    memory = json.loads(done.stdout)["memory"]
    page = Page(target.read_text(encoding="utf-8"))
    assert page.memory["inference"]["bytes"] == memory["inference_peak_bytes"]
    if memory["training_peak_bytes"] is not None:
        assert page.memory["training"]["bytes"] == memory["training_peak_bytes"]
        assert page.memory["training"]["parts"] == memory["training_peak_breakdown"]
    else:
        assert "training" not in page.memory


# ---------------------------------------------------------------------------------------------
# the table: whole names, and the inputs of merges


@pytest.mark.parametrize("name", ["resnet50", "inception_v3", "densenet121", "googlenet"])
def test_table_names_rows_inputs_where_not_the_row_above(name: str) -> None:
    report = cnncalc.analyse(name)
    page = Page(render_html(report))
    merges = 0
    for prev, row, cells in zip((None, *report.layers), report.layers, page.rows):
        assert cells["name"] == row.name
        listed = [s for s in cells["from"].split(", ") if s]
        follows = (prev.name if prev else "input",)
        if len(row.inputs) > 1:
            merges += 1
        assert listed == ([] if row.inputs == follows else list(row.inputs))
    assert merges > 0  # add or concat rows: each lists every input


def test_graph_payload_keeps_names_whole_and_groups_are_depths_rows() -> None:
    report = cnncalc.analyse("densenet121")
    data = json.loads(Page(render_html(report)).payloads[0])
    assert [n["name"] for n in data["nodes"]] == [r.name for r in report.layers]
    assert [".".join(n["path"]) for n in data["nodes"]] == [r.name for r in report.layers]
    # a group is a prefix that --depth makes one row of (with two or more layers)
    for depth in range(1, 4):
        grouped = {r.name: r.count for r in report.collapse(depth).layers if r.count > 1}
        assert all(key in data["groups"] and data["groups"][key]["count"] == n for key, n in grouped.items())
    depth = initial_depth(report)
    assert depth is not None and len(report.collapse(depth).layers) <= GRAPH_NODES
    assert len(report.collapse(depth + 1).layers) > GRAPH_NODES


# ---------------------------------------------------------------------------------------------
# user text is literal


HOSTILE = [
    "</script><script>window.pwned = 1</script>",
    "<!-- ]]> <b>bold</b>",
    "\"quoted\" & 'single' &amp; &lt;",
    "\x1b[31mred\x07",
    "right\u202eto left",
    "line\u2028separator",
    "{{ template }} ${x} `tick`",
]


def _hostile(name: str) -> dict[str, Any]:
    # layer and block names refuse '/', '.', '$' and control characters; the network's name is free text
    layer = name.replace("/", "|").replace(".", ",").replace("$", "S")
    layer = "".join(c if c.isprintable() else "?" for c in layer).strip()
    return {
        "name": name,
        "input": [3, 16, 16],
        "blocks": {layer: {"layers": [{"conv2d": {"out_channels": 4, "kernel_size": 3}}, "relu"]}},
        "layers": [{layer: {"name": layer}}, {"relu": {"name": layer + "x"}}, {"add": {"from": [layer, layer + "x"]}}],
    }


@pytest.mark.parametrize("name", HOSTILE, ids=repr)
def test_user_text_is_literal(name: str) -> None:
    report = cnncalc.analyse(_hostile(name))
    benign = cnncalc.analyse(_hostile("plain"))
    text = render_html(report)
    page = Page(text)
    # the structure is that of a report with plain names: no text became a tag
    assert page.tags == Page(render_html(benign)).tags
    assert page.texts["h1"] == [printable(name)]
    assert page.texts["title"][0] == f"{printable(name)} · cnncalc report"
    assert [row["name"] for row in page.rows] == [printable(r.name) for r in report.layers]
    (payload,) = page.payloads
    assert "</" not in payload and "<!--" not in payload
    data = json.loads(payload)
    assert [n["name"] for n in data["nodes"]] == [printable(r.name) for r in report.layers]
    assert {g["kind"] for g in data["groups"].values()} == {printable(next(iter(_hostile(name)["blocks"])))}
    # nothing a terminal or a text viewer would act on
    assert not any(c in text for c in "\x1b\x07\u202e")


# ---------------------------------------------------------------------------------------------
# in a notebook: fragments


def test_fragments_share_a_page() -> None:
    a, b = cnncalc.analyse("resnet18"), cnncalc.analyse("resnet18")
    html = a._repr_html_() + b._repr_html_() + render_html_fragment(a)
    page = Page(html)
    # one id per report, all different; no page-level elements
    assert len(page.ids) == 3 and len(set(page.ids)) == 3
    assert not {"html", "head", "body", "meta"} & set(page.tags)
    # every style rule is scoped to the report's class
    for css in page.styles:
        for selector_list in _selectors(css):
            for selector in selector_list.split(","):
                assert selector.strip().startswith(".cnncalc-report"), selector


def _selectors(css: str) -> list[str]:
    """The selector lists of a style sheet (inside @media too)."""
    out = []
    depth = 0
    current = ""
    for ch in css:
        if ch == "{":
            head = current.strip()
            if not head.startswith("@"):
                out.append(head)
            depth += 1
            current = ""
        elif ch == "}":
            depth -= 1
            current = ""
        else:
            current += ch
    return [s for s in out if s and not s.startswith("/*")]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

#: Drives every report of a page after it rendered: each depth, every layer, a click on a group.
_DRIVER = """
<script>
(function () {
  function count(root) { return root.querySelectorAll(".graph .node").length - 1; }
  function choose(select, value) { select.value = value; select.dispatchEvent(new Event("change")); }
  var out = { reports: {}, outside: {} };
  document.querySelectorAll(".cnncalc-report").forEach(function (root) {
    var r = { rendered: root.dataset.rendered || null, error: root.dataset.error || null, depths: {} };
    var fold = root.querySelector("input.fold");
    if (fold.checked) { fold.checked = false; fold.dispatchEvent(new Event("change")); }
    var select = root.querySelector("select.depth");
    Array.prototype.forEach.call(select.options, function (o) {
      choose(select, o.value); r.depths[o.value] = count(root);
    });
    choose(select, "all");
    r.names = Array.prototype.map.call(root.querySelectorAll(".graph .node .t-name"),
                                       function (t) { return t.textContent; });
    choose(select, "1");
    var group = root.querySelector(".graph .node.group");
    if (group) {
      r.clicked = group.dataset.unit.slice(2);
      group.dispatchEvent(new MouseEvent("click", { bubbles: true }));
      r.after_click = count(root);
    }
    r.arrows = Array.prototype.map.call(root.querySelectorAll("marker"), function (m) { return m.id; });
    out.reports[root.id] = r;
  });
  ["outside-h1", "outside-th", "outside-card", "outside-main"].forEach(function (id) {
    var s = getComputedStyle(document.getElementById(id));
    out.outside[id] = [s.fontSize, s.fontFamily, s.color, s.backgroundColor, s.padding, s.position, s.boxSizing];
  });
  var pre = document.createElement("pre");
  pre.id = "results";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""

_OUTSIDE = ('<header><h1 id="outside-h1">notebook</h1></header><main id="outside-main">\n'
            '<table class="layers"><tr><th id="outside-th">a</th></tr></table>'
            '<div class="card graph" id="outside-card">c</div></main>')


def _browse(tmp_path: Path, body: str) -> dict[str, Any]:
    page = tmp_path / "page.html"
    page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{_OUTSIDE}{body}{_DRIVER}"
                    "</body></html>", encoding="utf-8")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
           "--disable-background-networking", "--disable-component-update", "--enable-logging=stderr", "--v=0",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [line for line in done.stderr.splitlines() if ":CONSOLE" in line] == []
    results = done.stdout.split('<pre id="results">')[1].split("</pre>")[0]
    return json.loads(results.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def _after_expanding(report: cnncalc.Report, group: str) -> int:
    """Nodes of --depth 1 with one group opened one level."""
    level = len(group.split(".")) + 1
    inside = {".".join(r.name.split(".")[:level]) for r in report.layers if r.name.startswith(group + ".")}
    return len(report.collapse(1).layers) - 1 + len(inside)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_reports_in_one_page_collapse_like_depth_and_leave_the_page_alone(tmp_path: Path) -> None:
    reports = [cnncalc.analyse("densenet121"), cnncalc.analyse("googlenet"), cnncalc.analyse(_hostile(HOSTILE[0])),
               cnncalc.analyse("tiny_cnn")]
    fragments = [r._repr_html_() for r in reports]
    found = _browse(tmp_path, "".join(fragments))
    alone = _browse(tmp_path, "")
    # the page's own elements look the same with the reports in it
    assert found["outside"] == alone["outside"]
    ids = [Page(f).ids[0] for f in fragments]
    assert list(found["reports"]) == ids
    for report, uid in zip(reports, ids):
        r = found["reports"][uid]
        assert (r["rendered"], r["error"]) == ("ok", None)
        assert r["arrows"] == [f"{uid}-arrow"]
        # every depth shows the rows of --depth, and "every layer" every layer
        assert r["depths"].pop("all") == len(report.layers)
        assert r["depths"] == {str(d): len(report.collapse(d).layers) for d in range(1, len(r["depths"]) + 1)}
        # names are drawn whole
        assert sorted(r["names"]) == sorted(printable(x.name) for x in report.layers)
        if "clicked" in r:
            assert r["after_click"] == _after_expanding(report, r["clicked"])
            assert r["clicked"] in graph_groups(report)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_hostile_page_runs_no_script_of_the_users(tmp_path: Path) -> None:
    report = cnncalc.analyse(_hostile(HOSTILE[0]))
    probe = "<script>document.body.dataset.pwned = String(window.pwned);</script>"
    page = tmp_path / "h.html"
    page.write_text(render_html(report).replace("</body>", probe + "</body>"), encoding="utf-8")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'p'}",
           "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert 'data-pwned="undefined"' in done.stdout
    assert 'data-rendered="ok"' in done.stdout
