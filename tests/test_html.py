"""The HTML report: one self-contained file, and it renders in a real browser without errors."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from cnncalc.analysis import analyse
from cnncalc.cli import cli
from cnncalc.render.html import fold_groups, initial_depth, render_html
from cnncalc.spec import load


class _Collect(HTMLParser):
    """Tags, their attributes, and the JSON payload of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.payload = ""
        self._in_payload = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        self._in_payload = tag == "script" and a.get("class") == "cnncalc-data"

    def handle_data(self, data):
        if self._in_payload:
            self.payload += data

    def handle_endtag(self, tag):
        self._in_payload = False


def parse(name):
    report = analyse(load(name))
    page = render_html(report)
    p = _Collect()
    p.feed(page)
    return report, page, p


@pytest.mark.parametrize("name", ["tiny_cnn", "resnet50", "inception_v3"])
def test_self_contained(name):
    report, page, p = parse(name)
    # nothing to fetch: no external scripts, styles, images or fonts
    assert not [t for t, a in p.tags if "src" in a or (t == "link")]
    assert not re.search(r"url\((?!#)", page) and "@import" not in page  # url(#arrow) is in-page
    # the only addresses are the vendored layout library's home (a comment) and the SVG namespace
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) == {
        "https://github.com/dagrejs/dagre",
        "http://www.w3.org/2000/svg",
    }
    rows = [a for t, a in p.tags if t == "tr" and "data-id" in a]
    assert len(rows) == len(report.layers)
    data = json.loads(p.payload)
    assert [n["name"] for n in data["nodes"]] == [r.name for r in report.layers]


def test_folded_chains_cover_every_layer_once():
    report = analyse(load("resnet50"))
    groups = fold_groups(report)
    assert sorted(i for g in groups for i in g) == list(range(len(report.layers)))
    for g in groups:
        for i in g[1:]:
            r = report.layers[i]
            assert r.macs == 0 and r.input_shapes == (r.output_shape,) and len(r.inputs) == 1
    # a bottleneck's conv + bn + relu is one node; 16 blocks, 4 downsamples, stem, pool, fc: 73 nodes
    assert [report.layers[i].type for i in groups[0]] == ["conv2d", "batchnorm2d", "relu"]
    assert len(groups) == 1 + 1 + 16 * 4 + 4 + 1 + 1 + 1


def test_charts_have_a_bar_per_counted_layer():
    report, page, _ = parse("tiny_cnn")
    macs_chart = page.split('aria-label="MACs per layer"')[1].split("</svg>")[0]
    assert macs_chart.count('class="bar"') == sum(1 for r in report.layers if r.macs)


def test_cli_writes_html_and_still_prints(tmp_path):
    target = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", "tiny_cnn", "--html", str(target), "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("index,name,type")
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
]


def _chromium(tmp_path, *args):
    profile = tmp_path / "profile"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
@pytest.mark.parametrize("name", ["tiny_cnn", "resnet50", "inception_v3"])
def test_renders_in_chromium(tmp_path, name):
    report = analyse(load(name))
    page = tmp_path / f"{name}.html"
    page.write_text(render_html(report), encoding="utf-8")
    done = _chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    dom = done.stdout
    assert 'data-rendered="ok"' in dom and "data-error" not in dom
    assert '<div class="js-errors"></div>' in dom
    # the graph was laid out and drawn: one node per row of --depth at the depth it opens at
    # (every layer for a small network), plus the input
    graph = dom.split('class="graph-svg"')[1].split("</svg>")[0]
    depth = initial_depth(report)
    expected = len(report.layers) if depth is None else len(report.collapse(depth).layers)
    assert graph.count('<g class="node ') == expected + 1
    assert graph.count('class="edge"') >= expected
    assert dom.count('<tr data-id="') == len(report.layers)
    shot = tmp_path / f"{name}.png"
    done = _chromium(tmp_path, "--window-size=1400,1000", f"--screenshot={shot}", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
