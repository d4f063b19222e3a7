"""Reading a description: bytes to plain data, keeping every node's line and column.

YAML and JSON are both read with PyYAML's safe composer (the C one when available); the
composed node tree is kept so that any data path can be mapped back to a line and column.

Hostile input is bounded before anything is built: the file's size is capped, and one pass
over PyYAML's event stream (which the parser produces without recursion) checks the nesting
depth and counts the nodes as aliases will expand them, so an alias bomb or a deeply nested
file is rejected, with its line, before the composer or Pydantic ever sees it.
"""

from __future__ import annotations

import gc
import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from .errors import Problem, SourceError, SpecError

#: Upper bound on the size of a description, in bytes.
MAX_BYTES = 64 * 2**20
#: Upper bound on the number of nodes after alias expansion ("billion laughs" guard).
MAX_NODES = 500_000
#: Upper bound on nesting depth of mappings and sequences.
MAX_DEPTH = 200

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# A plain scalar that JSON and YAML 1.2 read as a number but YAML 1.1 leaves a string:
# an exponent without a decimal point or without a sign, e.g. ``1e-5``, ``2E3``.
_EXP_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+")


@dataclass
class Source:
    """A parsed description: its data, its name for messages, and its node tree for locations.

    ``problems`` holds what was found while building the data but does not stop validation
    (duplicate keys, unsupported keys or values), so it can be reported with the schema's.

    The node tree takes several times the memory of the data, and only an error needs it: a
    source made by :func:`parse` keeps its ``text`` instead and composes the tree again the
    first time :attr:`root` is read.
    """

    data: Any
    name: str
    _root: yaml.Node | None = field(default=None, repr=False)
    problems: list[Problem] = field(default_factory=list)
    text: str | None = field(default=None, repr=False)

    @property
    def root(self) -> yaml.Node | None:
        """The node tree: kept, or composed again from ``text``."""
        if self._root is None and self.text is not None:
            with _gc_paused():
                self._root = yaml.compose(self.text, Loader=_Loader)
        return self._root

    def locate(self, path: tuple[Any, ...], *, key: bool = False) -> tuple[int | None, int | None]:
        """Line and column (1-based) of the deepest node along ``path`` (with ``key``: of its key)."""
        node = self.root
        if node is None:
            return None, None
        for i, step in enumerate(path):
            child = _child(node, step, key=key and i == len(path) - 1)
            if child is None:
                continue
            node = child
        return node.start_mark.line + 1, node.start_mark.column + 1

    def problem(self, message: str, path: tuple[Any, ...] = (), **kw: Any) -> Problem:
        """A :class:`Problem` located at ``path``."""
        line, col = self.locate(path)
        return Problem(message, file=self.name, line=line, column=col, **kw)


def _child(node: yaml.Node, step: Any, *, key: bool = False) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(step, str):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == step:
                return k if key else v
    elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
        if 0 <= step < len(node.value):
            return node.value[step]
    return None


def _too_big(name: str) -> SourceError:
    return SourceError([Problem(f"is larger than {MAX_BYTES:,} bytes, the limit for a description", file=name)])


def read(path: str | Path, *, collect: bool = False) -> Source:
    """Read and parse the description at ``path`` (``-`` is not handled here).

    Problems that do not stop reading (a duplicate key, say) are raised, or with ``collect``
    left on :attr:`Source.problems` for the caller to report with its own.
    """
    name = str(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise SourceError([Problem("no such file", file=name)]) from None
    except IsADirectoryError:
        raise SourceError([Problem("is a directory, not a network description", file=name)]) from None
    except PermissionError:
        raise SourceError([Problem("permission denied", file=name)]) from None
    except OSError as e:
        raise SourceError([Problem(f"cannot read: {e.strerror or e}", file=name)]) from None
    return parse_bytes(raw, name, collect=collect)


def read_stream(stream: BinaryIO, name: str, *, collect: bool = False) -> Source:
    """Read and parse a description from an open binary stream (e.g. standard input)."""
    return parse_bytes(stream.read(MAX_BYTES + 1), name, collect=collect)


def parse_bytes(raw: bytes, name: str, *, collect: bool = False) -> Source:
    """Decode UTF-8 bytes and parse them."""
    if len(raw) > MAX_BYTES:
        raise _too_big(name)
    if b"\x00" in raw[:8192]:
        raise SourceError([Problem("is a binary file, not a YAML or JSON description", file=name)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise SourceError(
            [Problem(f"is not valid UTF-8 (byte 0x{raw[e.start]:02x})", file=name, line=line, column=col)]
        ) from None
    return parse(text, name, collect=collect)


def parse(text: str, name: str = "<string>", *, collect: bool = False) -> Source:
    """Parse YAML or JSON text into plain data, rejecting alias bombs and deep nesting.

    A name ending in ``.json`` is held to JSON's grammar too (no trailing commas, no comments).
    """
    if len(text) > MAX_BYTES:
        raise _too_big(name)
    if not text.strip():
        raise _empty(name)  # before YAML, which refuses a tab even on a blank line
    is_json = name.lower().endswith(".json")
    # JSON allows tabs wherever it allows spaces; PyYAML's pure-Python scanner does not. Raw
    # tabs cannot occur inside JSON strings, so replacing them keeps every value and column.
    yaml_text = text.replace("\t", " ") if is_json else text
    try:
        _scan(yaml_text, name)
        if is_json:
            _check_json(text, name)
        with _gc_paused():
            root = yaml.compose(yaml_text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        if is_json:
            _check_json(text, name)
        raise SpecError([_yaml_problem(e, name, text)]) from None
    except yaml.YAMLError as e:  # pragma: no cover  (PyYAML marks its syntax errors)
        raise SpecError([Problem(f"invalid YAML: {e}", file=name)]) from None
    if root is None:
        raise _empty(name)
    src = Source(None, name, root)
    with _gc_paused():
        src.data = _Builder(src).build(root)
    src._root, src.text = None, yaml_text
    if src.problems and not collect:
        raise SpecError(list(src.problems))
    return src


def _empty(name: str) -> SpecError:
    return SpecError([Problem("is empty: expected a mapping with 'input' and 'layers'", file=name)])


def _yaml_problem(e: yaml.MarkedYAMLError, name: str, text: str) -> Problem:
    mark = e.problem_mark or e.context_mark
    msg = e.problem or e.context or "syntax error"
    if e.context and e.problem:
        msg = f"{e.problem} ({e.context})"
    if mark is None:  # pragma: no cover
        return Problem(f"invalid YAML: {msg}", file=name)
    lines = text.split("\n", mark.line + 1)
    if mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:
        msg += "; indent with spaces: YAML does not allow tabs"
    return Problem(f"invalid YAML: {msg}", file=name, line=mark.line + 1, column=mark.column + 1)


def _check_json(text: str, name: str) -> None:
    """Hold a ``.json`` file to JSON's grammar, with JSON's own message and position."""
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        msg = e.msg
        before = text[: e.pos].rstrip()
        if before.endswith(",") and text[e.pos : e.pos + 1] in ("]", "}"):
            msg = f"trailing comma before '{text[e.pos]}'"
        raise SpecError([Problem(f"invalid JSON: {msg}", file=name, line=e.lineno, column=e.colno)]) from None
    except RecursionError:
        pass  # nested deeper than the event scan got before a syntax error; that error is reported


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many acyclic objects are created (5-10x faster)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _scan(text: str, name: str) -> None:
    """Check nesting depth and the node count after alias expansion, on the event stream.

    A node's expanded size is 1 plus its children's; an alias costs its anchor's size and
    reaches as deep as its anchor's height, so a bomb is stopped at the alias that crosses
    the limit, after reading only the file itself.
    """
    anchors: dict[str, tuple[int, int]] = {}  # anchor → (expanded nodes, height)
    stack: list[list[Any]] = []  # open collections: [anchor, nodes so far, height so far]
    total = 0

    def fail(event: yaml.Event, message: str) -> SpecError:
        m = event.start_mark
        return SpecError([Problem(message, file=name, line=m.line + 1, column=m.column + 1)])

    for event in yaml.parse(text, Loader=_Loader):
        kind = type(event)
        if kind is yaml.ScalarEvent:
            nodes, height = 1, 0
            if event.anchor is not None:
                anchors[event.anchor] = (1, 0)
        elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
            total += 1
            stack.append([event.anchor, 1, 1])
            if len(stack) > MAX_DEPTH:
                raise fail(event, f"nesting deeper than {MAX_DEPTH} levels")
            continue
        elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
            anchor, nodes, height = stack.pop()
            if anchor is not None:
                anchors[anchor] = (nodes, height)
            if stack:
                stack[-1][1] += nodes
                stack[-1][2] = max(stack[-1][2], height + 1)
            continue
        elif kind is yaml.AliasEvent:
            if event.anchor not in anchors:
                if any(frame[0] == event.anchor for frame in stack):
                    raise fail(event, f"alias '*{event.anchor}' refers to a node that contains it")
                raise fail(event, f"alias '*{event.anchor}' refers to no anchor defined before it")
            nodes, height = anchors[event.anchor]
            if len(stack) + height > MAX_DEPTH:
                raise fail(event, f"nesting deeper than {MAX_DEPTH} levels (after expanding aliases)")
        else:
            continue
        total += nodes
        if total > MAX_NODES:
            raise fail(event, f"more than {MAX_NODES:,} nodes (after expanding aliases), the limit for a description")
        if stack:
            stack[-1][1] += nodes
            stack[-1][2] = max(stack[-1][2], height + 1)


class _Builder:
    """Turns composed nodes into dicts, lists and scalars; aliases become copies.

    Problems that do not stop the rest of the file from being checked (a duplicate key, a merge
    key, a value that cannot be read) are collected on the source rather than raised.
    """

    def __init__(self, src: Source) -> None:
        self.src = src
        self.constructor = yaml.constructor.SafeConstructor()

    def note(self, node: yaml.Node, message: str) -> None:
        m = node.start_mark
        self.src.problems.append(Problem(message, file=self.src.name, line=m.line + 1, column=m.column + 1))

    def build(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v) for v in node.value]
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            first: dict[str, yaml.Node] = {}
            for k, v in node.value:
                if k.tag == "tag:yaml.org,2002:merge":
                    self.note(k, "merge keys ('<<') are not supported; write the keys out")
                    continue
                if not isinstance(k, yaml.ScalarNode):
                    self.note(k, "mapping keys must be plain names")
                    continue
                key = k.value
                if key in first:
                    line = first[key].start_mark.line + 1
                    self.note(k, f"duplicate key '{key}' (first given on line {line})")
                    continue
                first[key] = k
                out[key] = self.build(v)
            return out
        raise AssertionError(f"unexpected YAML node {node!r}")  # pragma: no cover

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == "tag:yaml.org,2002:str":
            if not node.style and _EXP_NUMBER.fullmatch(node.value):  # plain: None, or '' from libyaml
                return float(node.value)
            return node.value
        try:
            value = self.constructor.construct_object(node)
        except ValueError:
            # Python refuses to read integers of more than 4300 digits
            self.note(node, f"number with {len(node.value):,} digits is too large")
            return node.value
        except yaml.YAMLError as e:
            self.note(node, f"invalid value: {getattr(e, 'problem', None) or e}")
            return node.value
        except (KeyError, AttributeError):
            # how PyYAML's readers of !!bool and !!timestamp fail on text they cannot read
            self.note(node, f"invalid value: cannot read '{node.value}' as '{node.tag}'")
            return node.value
        if isinstance(value, float) and not math.isfinite(value):
            return value
        if not isinstance(value, (str, int, float, bool, type(None))):
            # timestamps, binary and other YAML types are not part of the format
            return node.value
        return value
