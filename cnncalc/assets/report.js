// cnncalc HTML report: draws the network with dagre's layout, and sorts the layer table.
// Reads the JSON in #cnncalc-data; needs nothing from the network.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("cnncalc-data").textContent);
  var SVG = "http://www.w3.org/2000/svg";
  var maxMacs = Math.max.apply(null, data.nodes.map(function (n) { return n.macs; }).concat([1]));

  function el(tag, attrs, parent) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function si(n) {
    var units = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "K"]];
    for (var i = 0; i < units.length; i++) if (n >= units[i][0]) return (n / units[i][0]).toFixed(2) + " " + units[i][1];
    return String(n);
  }

  // shade: light grey for no MACs, then cream to deep orange by sqrt(MACs / max MACs)
  function shade(macs) {
    if (!macs) return ["#eef0f5", "#1d2333"];
    var t = Math.sqrt(macs / maxMacs);
    var a = [255, 236, 214], b = [214, 76, 18];
    var c = a.map(function (x, i) { return Math.round(x + (b[i] - x) * t); });
    return ["rgb(" + c.join(",") + ")", t > 0.55 ? "#ffffff" : "#1d2333"];
  }

  // folded followers by short names: conv2d 64 k3 · BN · relu
  function abbreviate(type) {
    var m = type.match(/^(batch|instance|layer|group)norm/);
    return m ? { batch: "BN", instance: "IN", layer: "LN", group: "GN" }[m[1]] : type;
  }

  function short(name, n) {
    return name.length <= n ? name : "…" + name.slice(name.length - n + 1);
  }

  // the drawn units: every layer, or chains folded into the layer that heads them
  function units(folded) {
    var out = [{ id: "input", members: [], title: "input", kind: "input", shape: data.input_shape, macs: 0 }];
    var owner = {};
    (folded ? data.groups : data.nodes.map(function (n) { return [n.id]; })).forEach(function (g) {
      var head = data.nodes[g[0]], last = data.nodes[g[g.length - 1]];
      var kinds = g.map(function (i) { return abbreviate(data.nodes[i].type); });
      var title = head.type + (head.label ? " " + head.label : "");
      if (kinds.length > 1) title += " · " + kinds.slice(1).join(" · ");
      var macs = g.reduce(function (s, i) { return s + data.nodes[i].macs; }, 0);
      var u = { id: "n" + head.id, members: g, title: title, name: head.name, shape: last.shape, macs: macs,
                kind: head.inputs.length > 1 ? "merge" : "layer" };
      g.forEach(function (i) { owner[i] = u.id; });
      out.push(u);
    });
    return { units: out, owner: owner };
  }

  var state = { folded: data.fold, zoom: 1, svg: null, size: null };

  function draw() {
    var built = units(state.folded);
    var g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "TB", nodesep: 18, ranksep: 26, edgesep: 8, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(function () { return {}; });
    built.units.forEach(function (u) {
      var lines = u.kind === "input" ? ["", "input " + u.shape, ""] :
        [short(u.name, 34), u.title, u.shape + (u.macs ? " · " + si(u.macs) + " MACs" : "")];
      var w = Math.min(320, Math.max(110, 18 + Math.max(6.2 * lines[0].length, 7.4 * lines[1].length, 6.6 * lines[2].length)));
      u.lines = lines;
      g.setNode(u.id, { width: w, height: u.kind === "input" ? 34 : 50, unit: u });
    });
    built.units.forEach(function (u) {
      if (!u.members.length) return;
      data.nodes[u.members[0]].inputs.forEach(function (src) {
        g.setEdge(src < 0 ? "input" : built.owner[src], u.id);
      });
    });
    dagre.layout(g);

    var box = document.getElementById("graph");
    box.textContent = "";
    var gw = g.graph().width, gh = g.graph().height;
    var svg = el("svg", { id: "graph-svg", viewBox: "0 0 " + gw + " " + gh, role: "img",
                          "aria-label": "the network as a graph" }, box);
    var defs = el("defs", {}, svg);
    var marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
                                orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#8a93a8" }, marker);
    var edges = el("g", { class: "edges" }, svg);
    g.edges().forEach(function (e) {
      var pts = g.edge(e).points;
      var d = "M" + pts.map(function (p) { return p.x.toFixed(1) + " " + p.y.toFixed(1); }).join(" L");
      el("path", { d: d, class: "edge", "marker-end": "url(#arrow)" }, edges);
    });
    var nodes = el("g", { class: "nodes" }, svg);
    g.nodes().forEach(function (id) {
      var n = g.node(id), u = n.unit, colours = shade(u.macs);
      var grp = el("g", { class: "node " + u.kind, id: "node-" + id, transform: "translate(" + (n.x - n.width / 2) + "," + (n.y - n.height / 2) + ")" }, nodes);
      grp.dataset.members = u.members.join(",");
      el("rect", { width: n.width, height: n.height, rx: 7, fill: u.kind === "input" ? "#2b3245" : colours[0] }, grp);
      var fg = u.kind === "input" ? "#ffffff" : colours[1];
      if (u.kind === "input") {
        var t0 = el("text", { x: n.width / 2, y: 21, "text-anchor": "middle", fill: fg, class: "t-type" }, grp);
        t0.textContent = "input " + u.shape;
      } else {
        [["t-name", 14], ["t-type", 29], ["t-shape", 43]].forEach(function (spec, i) {
          var t = el("text", { x: n.width / 2, y: spec[1], "text-anchor": "middle", fill: fg, class: spec[0] }, grp);
          t.textContent = u.lines[i];
        });
      }
      var tip = el("title", {}, grp);
      tip.textContent = u.members.map(function (i) {
        var m = data.nodes[i];
        return m.name + " (" + m.type + (m.label ? " " + m.label : "") + ") → " + m.shape +
               (m.macs ? ", " + m.macs.toLocaleString("en-US") + " MACs" : "") +
               (m.params ? ", " + m.params.toLocaleString("en-US") + " params" : "");
      }).join("\n") || "input " + u.shape;
      grp.addEventListener("click", function () { if (u.members.length) select(u.members[0], false); });
    });
    state.svg = svg;
    state.size = [gw, gh];
    document.getElementById("graph-count").textContent =
      built.units.length - 1 + " " + (state.folded ? "nodes (chains folded)" : "layers");
    // start readable: the width fitted, but never below 80%; centred on the input
    fit();
    if (state.zoom < 0.8) {
      state.zoom = 0.8;
      applyZoom();
      var box2 = document.getElementById("graph");
      box2.scrollLeft = (box2.scrollWidth - box2.clientWidth) / 2;
    }
  }

  function applyZoom() {
    state.svg.setAttribute("width", Math.round(state.size[0] * state.zoom));
    state.svg.setAttribute("height", Math.round(state.size[1] * state.zoom));
  }

  function fit() {
    var box = document.getElementById("graph");
    state.zoom = Math.min(1, Math.max(0.3, (box.clientWidth - 8) / state.size[0]));
    applyZoom();
  }

  function select(id, fromTable) {
    document.querySelectorAll(".picked").forEach(function (e) { e.classList.remove("picked"); });
    var row = document.getElementById("row-" + id);
    if (row) {
      row.classList.add("picked");
      if (!fromTable) row.scrollIntoView({ block: "center", behavior: "smooth" });
    }
    var node = null;
    document.querySelectorAll("#graph .node").forEach(function (n) {
      if (n.dataset.members.split(",").indexOf(String(id)) >= 0) node = n;
    });
    if (node) {
      node.classList.add("picked");
      if (fromTable) {
        var box = document.getElementById("graph"), r = node.getBoundingClientRect(), b = box.getBoundingClientRect();
        box.scrollBy({ top: r.top - b.top - b.height / 2, left: r.left - b.left - b.width / 2, behavior: "smooth" });
      }
    }
  }

  function sortable(table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var down = th.getAttribute("aria-sort") !== "descending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          var vx = x.dataset.v !== undefined ? Number(x.dataset.v) : x.textContent;
          var vy = y.dataset.v !== undefined ? Number(y.dataset.v) : y.textContent;
          var c = typeof vx === "number" ? vx - vy : String(vx).localeCompare(vy);
          return down ? -c : c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
    Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
      r.addEventListener("click", function () { select(Number(r.dataset.id), true); });
    });
  }

  document.getElementById("zoom-in").addEventListener("click", function () { state.zoom *= 1.25; applyZoom(); });
  document.getElementById("zoom-out").addEventListener("click", function () { state.zoom /= 1.25; applyZoom(); });
  document.getElementById("zoom-fit").addEventListener("click", fit);
  var foldBox = document.getElementById("fold");
  foldBox.checked = data.fold;
  foldBox.addEventListener("change", function () { state.folded = foldBox.checked; draw(); });
  sortable(document.getElementById("layers"));
  draw();
  document.body.dataset.rendered = "ok";
})();
