// cnncalc HTML report: draws the network with dagre's layout, collapses and expands its groups,
// and sorts the layer table. A function of the report's root element: it reads the JSON in the
// root's script.cnncalc-data and looks nothing up outside the root, so that several reports can
// share a page. The page calls it with its root right after this text.
(function (root) {
  "use strict";
  var errors = root.querySelector(".js-errors");
  try {
    main();
    root.dataset.rendered = "ok";
  } catch (e) {
    errors.textContent += (e && e.stack ? e.stack : String(e)) + "\n";
    root.dataset.error = "1";
  }

  function main() {
    var data = JSON.parse(root.querySelector("script.cnncalc-data").textContent);
    var SVG = "http://www.w3.org/2000/svg";
    var arrow = root.id + "-arrow";  // the one id a drawing needs, unique per report
    var box = root.querySelector(".graph");
    var maxMacs = Math.max.apply(null, data.nodes.map(function (n) { return n.macs; }).concat([1]));
    var chainOf = {};  // layer -> its fold chain
    data.chains.forEach(function (g) { g.forEach(function (i) { chainOf[i] = g; }); });

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
      var t = Math.sqrt(Math.min(1, macs / maxMacs));
      var a = [255, 236, 214], b = [214, 76, 18];
      var c = a.map(function (x, i) { return Math.round(x + (b[i] - x) * t); });
      return ["rgb(" + c.join(",") + ")", t > 0.55 ? "#ffffff" : "#1d2333"];
    }

    // folded followers by short names: conv2d 64 k3 · BN · relu
    function abbreviate(type) {
      var m = type.match(/^(batch|instance|layer|group)norm/);
      return m ? { batch: "BN", instance: "IN", layer: "LN", group: "GN" }[m[1]] : type;
    }

    var state = { folded: data.fold, expanded: {}, zoom: 1, svg: null, size: null };

    // --depth d: the groups of fewer than d name components are open, the others closed
    function setDepth(depth) {
      state.expanded = {};
      Object.keys(data.groups).forEach(function (key) {
        state.expanded[key] = depth === null || key.split(".").length < depth;
      });
    }

    // the unit that shows a layer: its outermost closed group, else the layer itself
    function unitOf(i) {
      var path = data.nodes[i].path;
      for (var k = 1; k < path.length; k++) {
        var key = path.slice(0, k).join(".");
        if (data.groups[key] && !state.expanded[key]) return "g:" + key;
      }
      return "n:" + i;
    }

    function units() {
      var byKey = {}, list = [], owner = {};
      data.nodes.forEach(function (n) {
        var key = unitOf(n.id);
        var chain = chainOf[n.id], k = chain.indexOf(n.id);
        // a follower joins its chain's head while every layer before it in the chain did
        if (state.folded && k > 0 && key === "n:" + n.id && owner[chain[k - 1]] === "n:" + chain[0]) key = "n:" + chain[0];
        if (!byKey[key]) {
          byKey[key] = { id: key, members: [] };
          list.push(byKey[key]);
        }
        byKey[key].members.push(n.id);
        owner[n.id] = key;
      });
      list.forEach(function (u) {
        var head = data.nodes[u.members[0]];
        var macs = u.members.reduce(function (s, i) { return s + data.nodes[i].macs; }, 0);
        u.macs = macs;
        if (u.id.charAt(0) === "g") {
          var key = u.id.slice(2), g = data.groups[key];
          var out = u.members.indexOf(g.out) >= 0 ? g.out : u.members[u.members.length - 1];
          u.kind = "group";
          u.name = key;
          u.title = g.kind + " (" + u.members.length + " layers)";
          u.shape = data.nodes[out].shape;
        } else {
          var last = data.nodes[u.members[u.members.length - 1]];
          var kinds = u.members.map(function (i) { return abbreviate(data.nodes[i].type); });
          u.kind = head.inputs.length > 1 ? "merge" : "layer";
          u.name = head.name;
          u.title = head.type + (head.label ? " " + head.label : "") + (kinds.length > 1 ? " · " + kinds.slice(1).join(" · ") : "");
          u.shape = last.shape;
        }
      });
      return { units: list, owner: owner };
    }

    function draw() {
      var built = units();
      var g = new dagre.graphlib.Graph();
      g.setGraph({ rankdir: "TB", nodesep: 18, ranksep: 26, edgesep: 8, marginx: 12, marginy: 12 });
      g.setDefaultEdgeLabel(function () { return {}; });
      g.setNode("input", { width: 130, height: 34, unit: { id: "input", kind: "input", members: [] } });
      built.units.forEach(function (u) {
        // names are shown whole: the node grows to fit them
        u.lines = [u.name, u.title, u.shape + (u.macs ? " · " + si(u.macs) + " MACs" : "")];
        var w = Math.max(110, 18 + Math.max(6.2 * u.lines[0].length, 7.4 * u.lines[1].length, 6.6 * u.lines[2].length));
        g.setNode(u.id, { width: w, height: 50, unit: u });
      });
      built.units.forEach(function (u) {
        u.members.forEach(function (m) {
          data.nodes[m].inputs.forEach(function (src) {
            var from = src < 0 ? "input" : built.owner[src];
            if (from !== u.id) g.setEdge(from, u.id);
          });
        });
      });
      dagre.layout(g);

      box.textContent = "";
      var gw = g.graph().width, gh = g.graph().height;
      var svg = el("svg", { class: "graph-svg", viewBox: "0 0 " + gw + " " + gh, role: "img",
                            "aria-label": "the network as a graph" }, box);
      var defs = el("defs", {}, svg);
      var marker = el("marker", { id: arrow, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
                                  orient: "auto-start-reverse" }, defs);
      el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#8a93a8" }, marker);
      var edges = el("g", { class: "edges" }, svg);
      g.edges().forEach(function (e) {
        var pts = g.edge(e).points;
        var d = "M" + pts.map(function (p) { return p.x.toFixed(1) + " " + p.y.toFixed(1); }).join(" L");
        el("path", { d: d, class: "edge", "marker-end": "url(#" + arrow + ")" }, edges);
      });
      var nodes = el("g", { class: "nodes" }, svg);
      g.nodes().forEach(function (id) {
        var n = g.node(id), u = n.unit, colours = shade(u.macs);
        var grp = el("g", { class: "node " + u.kind, transform: "translate(" + (n.x - n.width / 2) + "," + (n.y - n.height / 2) + ")" }, nodes);
        grp.dataset.members = u.members.join(",");
        grp.dataset.unit = u.id;
        el("rect", { width: n.width, height: n.height, rx: 7, fill: u.kind === "input" ? "#2b3245" : colours[0] }, grp);
        var fg = u.kind === "input" ? "#ffffff" : colours[1];
        if (u.kind === "input") {
          var t0 = el("text", { x: n.width / 2, y: 21, "text-anchor": "middle", fill: fg, class: "t-type" }, grp);
          t0.textContent = "input " + data.input_shape;
        } else {
          [["t-name", 14], ["t-type", 29], ["t-shape", 43]].forEach(function (spec, i) {
            var t = el("text", { x: n.width / 2, y: spec[1], "text-anchor": "middle", fill: fg, class: spec[0] }, grp);
            t.textContent = u.lines[i];
          });
        }
        var tip = el("title", {}, grp);
        if (u.kind === "input") tip.textContent = "input " + data.input_shape;
        else if (u.kind === "group") tip.textContent = u.name + ": " + u.title + " → " + u.shape +
          (u.macs ? ", " + u.macs.toLocaleString("en-US") + " MACs" : "") + "\nclick to expand";
        else tip.textContent = u.members.map(function (i) {
          var m = data.nodes[i];
          return m.name + " (" + m.type + (m.label ? " " + m.label : "") + ") → " + m.shape +
                 (m.macs ? ", " + m.macs.toLocaleString("en-US") + " MACs" : "") +
                 (m.params ? ", " + m.params.toLocaleString("en-US") + " params" : "");
        }).join("\n");
        grp.addEventListener("click", function () {
          if (u.kind === "group") {
            state.expanded[u.name] = true;
            redraw(u.members[0]);
          } else if (u.members.length) select(u.members[0], false);
        });
        grp.addEventListener("dblclick", function () {
          if (u.kind !== "layer" && u.kind !== "merge") return;
          var path = data.nodes[u.members[0]].path;
          for (var k = path.length - 1; k >= 1; k--) {
            var key = path.slice(0, k).join(".");
            if (data.groups[key] && state.expanded[key]) {
              state.expanded[key] = false;
              redraw(u.members[0]);
              return;
            }
          }
        });
      });
      state.svg = svg;
      state.size = [gw, gh];
      var closed = built.units.filter(function (u) { return u.kind === "group"; }).length;
      root.querySelector(".graph-count").textContent = built.units.length + " " +
        (built.units.length === data.nodes.length ? "layers" : "nodes for " + data.nodes.length + " layers") +
        (closed ? ", " + closed + " groups collapsed" : "") + (state.folded ? ", chains folded" : "");
      // start readable: the width fitted, but never below 80%
      fit();
      if (state.zoom < 0.8) {
        state.zoom = 0.8;
        applyZoom();
        box.scrollLeft = (box.scrollWidth - box.clientWidth) / 2;
      }
    }

    // draw again and keep a layer in view
    function redraw(id) {
      draw();
      select(id, true);
    }

    function applyZoom() {
      state.svg.setAttribute("width", Math.round(state.size[0] * state.zoom));
      state.svg.setAttribute("height", Math.round(state.size[1] * state.zoom));
    }

    function fit() {
      state.zoom = Math.min(1, Math.max(0.3, (box.clientWidth - 8) / state.size[0]));
      applyZoom();
    }

    function select(id, fromTable) {
      root.querySelectorAll(".picked").forEach(function (e) { e.classList.remove("picked"); });
      var row = root.querySelector('tbody tr[data-id="' + id + '"]');
      if (row) {
        row.classList.add("picked");
        if (!fromTable) row.scrollIntoView({ block: "nearest", behavior: "smooth" });
      }
      var node = null;
      root.querySelectorAll(".graph .node").forEach(function (n) {
        if (n.dataset.members.split(",").indexOf(String(id)) >= 0) node = n;
      });
      if (node) {
        node.classList.add("picked");
        if (fromTable) {
          var r = node.getBoundingClientRect(), b = box.getBoundingClientRect();
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

    root.querySelector(".zoom-in").addEventListener("click", function () { state.zoom *= 1.25; applyZoom(); });
    root.querySelector(".zoom-out").addEventListener("click", function () { state.zoom /= 1.25; applyZoom(); });
    root.querySelector(".zoom-fit").addEventListener("click", fit);
    if (!Object.keys(data.groups).length) {
      // nothing to collapse: no depth menu, no hint about groups
      root.querySelector("label.depth-choice").hidden = true;
      root.querySelector(".hint").hidden = true;
    }
    var depthBox = root.querySelector("select.depth");
    var choices = [["all", "every layer"]];
    for (var d = 1; d < data.max_depth; d++) choices.push([String(d), String(d)]);
    choices.forEach(function (c) {
      var o = document.createElement("option");
      o.value = c[0];
      o.textContent = c[1];
      depthBox.appendChild(o);
    });
    depthBox.value = data.depth === null ? "all" : String(data.depth);
    depthBox.addEventListener("change", function () {
      setDepth(depthBox.value === "all" ? null : Number(depthBox.value));
      draw();
    });
    var foldBox = root.querySelector("input.fold");
    foldBox.checked = data.fold;
    foldBox.addEventListener("change", function () { state.folded = foldBox.checked; draw(); });
    sortable(root.querySelector("table.layers"));
    setDepth(data.depth);
    draw();
  }
})
