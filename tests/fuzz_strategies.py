"""Hypothesis strategies for the fuzzer: the bundled networks mutated at four levels.

- bytes: flip a bit, insert bytes, delete a run of bytes;
- tokens (on the text, at the spans PyYAML reports for each scalar): change a number to another
  small one (the file often stays valid, so the layer rules run on odd sizes); replace a scalar with a
  number that is huge, negative, zero or a float, with a string, a ``$`` expression, a tag
  (``!!python/name:x``, ``!!int ""``), a 5,000-digit number; swap two scalars; drop a key;
  write a key twice;
- structure (on the data, written back as YAML or JSON): delete, duplicate or move an item,
  empty a list or a mapping, nest an item in a ``sequential``, wrap items in a new block;
- hostile strings (on the data): rich markup, ESC/BEL, bidi controls, CSV formulas, reserved
  names, NFKC look-alikes, NUL bytes, ``$`` expressions, as names, values and keys.

Each strategy draws a :class:`Mutant`: the file name, its bytes, and what was done to it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent


def _sources() -> dict[str, str]:
    """File name → text of every bundled network, as YAML and as JSON, smallest first."""
    texts = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "networks").glob("*.yaml")}
    texts |= {name.removesuffix(".yaml") + ".json": json.dumps(yaml.safe_load(t), indent=2)
              for name, t in texts.items()}
    return dict(sorted(texts.items(), key=lambda kv: (len(kv[1]), kv[0])))


#: File name → original text; hypothesis shrinks towards the first, so the smallest come first.
SOURCES = _sources()

#: The bundled network each file was made from (the original of ``diff``).
ORIGINALS = {name: ROOT / "networks" / (name.rsplit(".", 1)[0] + ".yaml") for name in SOURCES}

#: A number of 5,000 digits: more than Python converts to an int by default (4,300).
HUGE = "9" * 5000

#: Strings that a renderer, a spreadsheet, a terminal, PyTorch or Python could act on.
HOSTILE = [
    "[bold red]x[/]", "[/]", "[link=https://example.com]x[/link]", "[", "\\[x]", "x[/bold]", "[bold]x",
    "[red]", "[link=x]y", "[/bold", "[#ff0000]x", ":smiley:", "[not a style]",
    "\x1b[31mred\x1b[0m", "\x1b]8;;http://x\x07y\x1b]8;;\x07", "bell\x07", "\x1b[2J",
    "\u202eevil", "a\u2066b\u2069", "\u200f", "a\u2028b",
    "=1+1", "+1", "-1", "@SUM(A1)", "=HYPERLINK(\"http://x\")", "\tx", "\rx",
    "_modules", "_parameters", "forward", "training", "__init__", "__class__", "keys", "index",
    "in_channels", "input", "output", "x", "self", "torch", "nn",
    "ℌ", "ﬁlter", "ｆｏｒｗａｒｄ", "𝐜𝐨𝐧𝐯𝟏", "e\u0301",
    "$x", "${x}", "$in_channels * 2", "$$", "$",
    "a\x00b", "\x00", "a.b", "a/b", " a", "a ", "",
    "<script>alert(1)</script>", "&amp;", "'", "\"", "\\", "{{x}}", "%s%n", "\n", "a\nb",
    "😀" * 3, "x" * 300, HUGE,
]

#: Replacement texts for a scalar in the source (YAML or JSON syntax, valid or not).
TOKENS = [
    "0", "-1", "-7", "1", "2", "3", "1.5", "0.0", "-0", "1e400", "-1e400", "1e-400", ".nan", ".inf", "-.inf",
    "2147483648", "18446744073709551616", "99999999999999999999", HUGE, "-" + HUGE, "1" + "0" * 400,
    "0x10", "0o7", "1_000", "+5", "1:30", "true", "false", "null", "~", "yes", "no",
    "'7'", '"7"', "''", '""', "x", "relu", "conv2d", "'$x'", "$in_channels", "'$in_channels * 2'", "$",
    "'$index'", "${x}", "$undefined", "'$10**100'", "'$1/0'",
    "[]", "{}", "[1, 2]", "[0]", "[-1, 3]", "{a: 1}", "[[[]]]",
    "!!python/name:os.system", "!!python/object/apply:os.system ['echo']", '!!int ""', '!!float ""',
    '!!bool ""', "!!null x", "!!binary AAAA", "!!timestamp soon", "!!set {a}", "!!omap [a: 1]", "!!str 7",
    "!!int 0x", "!x y", "&a 1", "*a", "<<", "'\\x00'", '"\\0"', '"\\x1b[31m"', '"\\u202e"', '"\\ud800"',
    '"\\x07"', "[bold]x[/]", "'=1+1'", "_modules", "forward", "index", "in_channels",
]


@dataclass(frozen=True)
class Mutant:
    """A mutated description: the name it is written under, its bytes, and the mutation."""

    name: str
    data: bytes
    how: str

    def reproducer(self) -> str:
        """The mutation and the file's text, for a failure message."""
        return f"{self.how}\n--- {self.name} ---\n{self.data.decode('utf-8', 'backslashreplace')}"


source_names = st.sampled_from(list(SOURCES))

# -- bytes ---------------------------------------------------------------------------------------


@st.composite
def byte_mutants(draw: Callable[..., Any]) -> Mutant:
    """Flip a bit, insert bytes, or delete a run of bytes, one to three times."""
    name = draw(source_names)
    data = bytearray(SOURCES[name].encode("utf-8"))
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "delete"]))
        if op == "flip" and at < len(data):
            bit = draw(st.integers(0, 7))
            data[at] ^= 1 << bit
            steps.append(f"flip bit {bit} of byte {at}")
        elif op == "insert":
            new = draw(st.binary(min_size=1, max_size=4) | st.sampled_from(
                [b"\x00", b"\xff", b"\xef\xbb\xbf", b"\t", b"\r", b"\n- ", b": ", b"[", b"{", b"&a ", b"*a", b"#"]))
            data[at:at] = new
            steps.append(f"insert {new!r} at byte {at}")
        else:
            n = draw(st.integers(1, 16))
            del data[at:at + n]
            steps.append(f"delete {n} bytes at {at}")
    return Mutant(name, bytes(data), "bytes: " + "; ".join(steps))


# -- tokens --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    key: bool


def _scalars(text: str) -> tuple[list[_Span], list[tuple[yaml.Node, yaml.Node, bool]]]:
    """Every scalar's span in ``text``, and every (key, value, in a flow mapping) pair."""
    spans: list[_Span] = []
    pairs: list[tuple[yaml.Node, yaml.Node, bool]] = []
    stack = [(yaml.compose(text, Loader=yaml.SafeLoader), False)]
    while stack:
        node, key = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            spans.append(_Span(node.start_mark.index, node.end_mark.index, key))
        elif isinstance(node, yaml.SequenceNode):
            stack += [(n, False) for n in node.value]
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                pairs.append((k, v, bool(node.flow_style)))
                stack += [(k, True), (v, False)]
    spans.sort(key=lambda s: s.start)
    return spans, pairs


_PARSED = {name: _scalars(text) for name, text in SOURCES.items()}


@st.composite
def token_mutants(draw: Callable[..., Any]) -> Mutant:
    """Replace or swap scalars, drop a key or write it twice, on the text; one to three times."""
    name = draw(source_names)
    text = SOURCES[name]
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        try:
            spans, pairs = _scalars(text) if steps else _PARSED[name]
        except yaml.YAMLError:  # an earlier step broke the syntax: that is the mutant
            break
        op = draw(st.sampled_from(["replace", "replace", "renumber", "renumber", "swap", "drop key", "duplicate key"]))
        numbers = [s for s in spans if re.fullmatch(r"-?\d+", text[s.start:s.end])]
        if op == "renumber" and numbers:
            # another small number: the file stays valid more often, and the layer rules run
            s = draw(st.sampled_from(numbers))
            new = str(draw(st.sampled_from([0, 1, 2, 3, 5, 7, 8, 64, 1000, -1, 2**31, 10**12])))
            steps.append(f"renumber {text[s.start:s.end]!r} to {new}")
            text = text[:s.start] + new + text[s.end:]
        elif op in ("replace", "renumber") or (op == "swap" and len(spans) < 2) or (op != "swap" and not pairs):
            s = draw(st.sampled_from(spans))
            new = draw(st.sampled_from(TOKENS) | st.sampled_from(HOSTILE).map(json.dumps))
            steps.append(f"replace {'key' if s.key else 'value'} {text[s.start:s.end]!r} with {new!r}")
            text = text[:s.start] + new + text[s.end:]
        elif op == "swap":
            a, b = sorted(draw(st.lists(st.sampled_from(spans), min_size=2, max_size=2, unique=True)),
                          key=lambda s: s.start)
            steps.append(f"swap {text[a.start:a.end]!r} and {text[b.start:b.end]!r}")
            text = text[:a.start] + text[b.start:b.end] + text[a.end:b.start] + text[a.start:a.end] + text[b.end:]
        else:
            k, v, flow = draw(st.sampled_from(pairs))
            pair = text[k.start_mark.index:v.end_mark.index].rstrip()
            end = k.start_mark.index + len(pair)
            if op == "drop key":
                steps.append(f"drop key {k.value!r}")
                text = text[:k.start_mark.index] + text[end:]
            else:
                steps.append(f"write key {k.value!r} twice")
                sep = ", " if flow else "\n" + " " * k.start_mark.column
                text = text[:end] + sep + pair + text[end:]
    return Mutant(name, text.encode("utf-8", "surrogatepass"), "tokens: " + "; ".join(steps))


# -- structure -----------------------------------------------------------------------------------


def _containers(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """(path, list or dict) of every container in ``data``, the root first."""
    found = []
    stack = [(path, data)]
    while stack:
        p, node = stack.pop()
        if isinstance(node, dict):
            found.append((p, node))
            stack += [((*p, k), v) for k, v in node.items()]
        elif isinstance(node, list):
            found.append((p, node))
            stack += [((*p, i), v) for i, v in enumerate(node)]
    return found


def _dump(name: str, data: Any) -> bytes:
    if name.endswith(".json"):
        return json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8", "surrogatepass")


_DATA = {name: yaml.safe_load(text) for name, text in SOURCES.items()}


@st.composite
def structure_mutants(draw: Callable[..., Any]) -> Mutant:
    """Delete, duplicate, move, empty, nest or wrap in a block the items and maps of the data."""
    name = draw(source_names)
    data = json.loads(json.dumps(_DATA[name]))  # a deep copy
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        path, node = draw(st.sampled_from(_containers(data)))
        if isinstance(node, list) and node:
            i = draw(st.integers(0, len(node) - 1))
            op = draw(st.sampled_from(["delete", "duplicate", "move", "empty", "nest", "block", "nest deep"]))
            if op == "delete":
                del node[i]
            elif op == "duplicate":
                node.insert(i, json.loads(json.dumps(node[i])))
            elif op == "move":
                node.insert(draw(st.integers(0, len(node) - 1)), node.pop(i))
            elif op == "empty":
                node.clear()
            elif op == "nest":
                node[i] = {"sequential": {"layers": [node[i]]}}
            elif op == "nest deep":
                for _ in range(draw(st.integers(2, 60))):
                    node[i] = {"sequential": {"layers": [node[i]]}}
            else:
                j = draw(st.integers(i + 1, len(node)))
                blocks = data.setdefault("blocks", {}) if isinstance(data, dict) else {}
                if isinstance(blocks, dict):
                    block = f"fuzzblock{len(blocks)}"
                    blocks[block] = {"layers": node[i:j]}
                    node[i:j] = [block]
            steps.append(f"{op} item {i} of {list(path)}")
        elif isinstance(node, dict) and node:
            key = draw(st.sampled_from(list(node)))
            op = draw(st.sampled_from(["drop", "empty", "null", "empty list", "empty map", "listify", "rename"]))
            if op == "drop":
                del node[key]
            elif op == "empty":
                node.clear()
            elif op == "null":
                node[key] = None
            elif op == "empty list":
                node[key] = []
            elif op == "empty map":
                node[key] = {}
            elif op == "listify":
                node[key] = [node[key]]
            else:
                others = [k for k in _keys(data) if k != key]
                if others:
                    new = draw(st.sampled_from(others))
                    node[new] = node.pop(key)
            steps.append(f"{op} key {key!r} of {list(path)}")
    return Mutant(name, _dump(name, data), "structure: " + "; ".join(steps))


def _keys(data: Any) -> list[str]:
    return sorted({k for _, node in _containers(data) if isinstance(node, dict) for k in node if isinstance(k, str)})


# -- hostile strings -----------------------------------------------------------------------------


def _strings(data: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every string value in ``data``."""
    return [(node, k) for _, node in _containers(data)
            for k, v in (node.items() if isinstance(node, dict) else enumerate(node)) if isinstance(v, str)]


def _items(data: Any) -> list[dict[str, Any]]:
    """Every layer item written as ``{type: {args}}``."""
    return [node for _, node in _containers(data) if isinstance(node, dict) and len(node) == 1
            and isinstance(next(iter(node.values())), dict)]


@st.composite
def hostile_mutants(draw: Callable[..., Any]) -> Mutant:
    """Hostile strings as layer names, network and block names, string values and keys."""
    name = draw(source_names)
    data = json.loads(json.dumps(_DATA[name]))
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        bad = draw(st.sampled_from(HOSTILE) | st.text(min_size=1, max_size=8))
        where = draw(st.sampled_from(["layer name", "layer name", "network name", "string value", "key",
                                      "block name"]))
        items = _items(data)
        strings = _strings(data)
        if where == "layer name" and items:
            item = draw(st.sampled_from(items))
            next(iter(item.values()))["name"] = bad
        elif where == "network name" and isinstance(data, dict):
            data["name"] = bad
        elif where == "string value" and strings:
            node, key = draw(st.sampled_from(strings))
            node[key] = bad
        elif where == "key":
            containers = [n for _, n in _containers(data) if isinstance(n, dict) and n]
            if not containers:
                continue
            node = draw(st.sampled_from(containers))
            key = draw(st.sampled_from(list(node)))
            node[bad] = node.pop(key)
        elif where == "block name" and isinstance(data, dict) and data.get("blocks"):
            blocks = data["blocks"]
            block = draw(st.sampled_from(list(blocks)))
            blocks[bad] = blocks.pop(block)
            data = json.loads(json.dumps(data).replace(json.dumps(block), json.dumps(bad)))
        else:
            continue
        steps.append(f"{bad!r} as {where}")
    return Mutant(name, _dump(name, data), "hostile: " + ("; ".join(steps) or "nothing"))


#: Every kind of mutant.
mutants = st.one_of(byte_mutants(), token_mutants(), structure_mutants(), hostile_mutants())


# -- seeds: one hand-written mutant per hostile class, run on every command in the short run ------

_LENET = SOURCES["lenet5.yaml"]
_RESNET = SOURCES["resnet18.yaml"]


def _edit(name: str, old: str, new: str, how: str) -> Mutant:
    """``name``'s text with ``old`` (which must be there) replaced by ``new``."""
    text = SOURCES[name]
    assert old in text, (name, old)
    return Mutant(name, text.replace(old, new, 1).encode("utf-8", "surrogatepass"), how)


def _lenet(new: str, how: str, old: str = "out_channels: 20") -> Mutant:
    return _edit("lenet5.yaml", old, new, how)


def _json(key: str, value: str, how: str) -> Mutant:
    return _edit("lenet5.json", f'"{key}": 20', f'"{key}": {value}', how)


#: Hand-written mutants, one per class of hostile input, named by their class.
SEEDS: dict[str, Mutant] = {m.how: m for m in [
    # empty typed scalars and tags
    *(_lenet(f"out_channels: {tag}", f"tag {tag}") for tag in [
        '!!int ""', '!!float ""', '!!bool ""', "!!null x", "!!int 0x", "!!python/name:os.system",
        "!!python/object/apply:os.system ['echo']", "!!binary AAAA", "!!timestamp soon", "!!set {a}",
        "!!omap [a: 1]", "!x y", "!!str 20"]),
    # numbers: huge, negative, zero, float, strings
    *(_lenet(f"out_channels: {v}", f"out_channels {v[:20]}") for v in [
        HUGE, "-" + HUGE, "1" + "0" * 30, "0", "-1", "1.5", "1e400", ".nan", "'20'", "twenty", "[]", "{}", "null"]),
    _json("out_channels", "1" + "0" * 5000, "a 5,001-digit integer in JSON"),
    _json("out_channels", "1e400", "1e400 in JSON"),
    _json("out_channels", "-0.0", "-0.0 in JSON"),
    _lenet("input: [1, 99999999999, 99999999999]", "huge input", old="input: [1, 28, 28]"),
    _lenet("input: [0, 28, 28]", "zero input", old="input: [1, 28, 28]"),
    _lenet("input: []", "empty input", old="input: [1, 28, 28]"),
    _lenet("kernel_size: 2, stride: 0", "stride 0", old="kernel_size: 2, stride: 2"),
    # $ expressions where none are defined
    _lenet("out_channels: $x", "undefined $ name"),
    _lenet("input: [$x, 28, 28]", "$ in the input list", old="input: [1, 28, 28]"),
    _lenet("kernel_size: [$x, 3]", "$ in a list", old="kernel_size: 5"),
    _lenet("out_channels: '$10**100'", "$ overflow"),
    _lenet("out_channels: $", "bare $"),
    _edit("resnet18.yaml", "args: {planes: null, stride: 1}", "args: {planes: null, stride: 1, index: 0}",
          "reserved block argument index"),
    _edit("resnet18.yaml", "args: {planes: null, stride: 1}", "args: {planes: null, stride: 1, in_channels: 3}",
          "reserved block argument in_channels"),
    _edit("resnet18.yaml", "basic_block:", "relu:", "a block named like a layer type"),
    # hostile names
    *(_lenet(f"name: {json.dumps(s)}", f"layer name {s!r}", old="name: conv1") for s in [
        "[bold]x", "[red]", "[/]", "\x1b[31mred", "bell\x07", "\u202eevil", "=1+1", "@SUM(A1)", "-1", "+1",
        "_modules", "forward", "index", "in_channels", "input", "ℌ", "a\x00b", "a\nb", "$x", "x" * 300, ""]),
    *(_lenet(f"name: {json.dumps(s)}", f"network name {s!r}", old="name: LeNet-5 (Caffe)") for s in [
        "[bold]x", "x[/bold]", "[link=x]y[/link]", "\x1b[31mred\x1b[0m", "bell\x07", "\u202eevil", "=1+1", "a\x00b",
        "a\nb", "", "x" * 300]),
    _lenet("relu: {name: H}\n  - relu: {name: ℌ}\n  - linear", "NFKC look-alike names", old="linear"),
    _lenet("conv2d: {out_channels: 20, out_channels: 30", "duplicate key", old="conv2d: {out_channels: 20"),
    _lenet("\x00", "a NUL byte", old="relu"),
    _lenet('relu: {name: "\\0"}', "an escaped NUL in a name", old="relu"),
    _lenet('"\\x07": {}', "a control character as layer type", old="relu"),
    # empty and odd structure
    _lenet("layers: []\nx:", "no layers", old="layers:"),
    _edit("lenet5.yaml", _LENET[_LENET.index("layers:"):], "layers:\n", "layers: null"),
    _edit("lenet5.yaml", _LENET, "", "an empty file"),
    _edit("lenet5.yaml", _LENET, "{}", "an empty mapping"),
    _edit("lenet5.yaml", _LENET, "[]", "an empty list"),
    _edit("lenet5.yaml", _LENET, "\ufeff" + _LENET, "a byte-order mark"),
    _edit("lenet5.yaml", "- relu", "- relu: {if: false}", "a skipped layer"),
    Mutant("tiny_cnn.yaml", b"name: t\ninput: [3, 8, 8]\nlayers:\n  - relu: {if: false}\n", "every layer skipped"),
    _lenet("sequential: {layers: []}", "an empty sequential", old="relu"),
    _lenet("sequential: {layers: [" * 60 + "relu" + "]}" * 60, "sequentials 60 deep", old="relu"),
    _lenet("relu: {from: ip2}", "a layer reading a later one", old="relu"),
    _lenet("relu: {from: [conv1, conv2]}", "a relu reading two layers", old="relu"),
]}
