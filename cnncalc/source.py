"""Reading a description: bytes to plain data, keeping every node's line and column.

YAML and JSON are both read with PyYAML's safe parser (the C one when available), in one pass
over its event stream that builds the data; the composed node tree, which maps any data path
back to a line and column, is made from the text only when a location is asked for.

Hostile input is bounded before it costs anything: the file's size is capped, and the same
pass (the parser produces events without recursion, and nothing here recurses) checks the
nesting depth and counts the nodes as aliases will expand them, so an alias bomb or a deeply
nested file is rejected, with its line, before any alias is expanded and before the composer
or Pydantic ever sees it.
"""

from __future__ import annotations

import gc
import json
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
    source made by :func:`parse` keeps its ``text`` instead and composes the tree the first
    time :attr:`root` is read.
    """

    data: Any
    name: str
    _root: yaml.Node | None = field(default=None, repr=False)
    problems: list[Problem] = field(default_factory=list)
    text: str | None = field(default=None, repr=False)

    @property
    def root(self) -> yaml.Node | None:
        """The node tree: kept, or composed from ``text``."""
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

    def problem(self, message: str, path: tuple[Any, ...] = (), *, key: bool = False, **kw: Any) -> Problem:
        """A :class:`Problem` located at ``path`` (with ``key``: at its key)."""
        line, col = self.locate(path, key=key)
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
        with _gc_paused():
            data, problems, refused = _read(yaml_text, name)
        if is_json:
            _check_json(text, name)
        if refused:  # the composer's own error, with its message and location
            yaml.compose(yaml_text, Loader=_Loader)
            raise AssertionError(f"PyYAML composed {name}, which was expected to be refused")  # pragma: no cover
    except yaml.MarkedYAMLError as e:
        if is_json:
            _check_json(text, name)
        raise SpecError([_yaml_problem(e, name, text)]) from None
    except yaml.YAMLError as e:  # pragma: no cover  (PyYAML marks its syntax errors)
        raise SpecError([Problem(f"invalid YAML: {e}", file=name)]) from None
    if data is _NOTHING:
        raise _empty(name)
    src = Source(data, name, problems=problems, text=yaml_text)
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


_NOTHING = object()  # the stream holds no document
_KEY = object()  # a mapping's next node is a key
_SKIP = object()  # a mapping's next node is the value of a refused key: read, then dropped
_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"


class _Open:
    """A sequence or mapping whose end event has not come yet."""

    __slots__ = ("anchor", "data", "first", "height", "key", "mark", "nodes", "start", "tag")

    def __init__(self, event: yaml.Event, data: Any, start: int) -> None:
        self.anchor = event.anchor
        self.nodes = self.height = 1  # expanded nodes and height so far
        self.data = data
        self.start = start  # problems found before it
        self.mark = event.start_mark
        self.tag = event.tag  # only an explicit '!!merge' matters: PyYAML resolves none on a collection
        self.key: Any = _KEY if isinstance(data, dict) else None
        self.first: dict[str, yaml.Mark] = {}  # a mapping's keys so far, at their first occurrence


def _read(text: str, name: str) -> tuple[Any, list[Problem], bool]:
    """Read the event stream once: check the limits and build the first document's data.

    Returns the data (``_NOTHING`` for a stream without a document), the problems that do not
    stop the rest of the file from being checked (a duplicate key, a merge key, a value that
    cannot be read), and whether PyYAML's composer refuses the stream (a second document, an
    anchor given twice), which the caller reports with the composer's own message.

    The parser produces events without recursion, and nothing here recurses, so nesting is
    bounded before it can overflow a stack. A node's expanded size is 1 plus its children's; an
    alias costs its anchor's size and reaches as deep as its anchor's height, so a bomb is
    stopped at the alias that crosses the limit. An alias stands for its anchor's data while
    the stream is read, and the data is copied once it has all been counted, so that aliases
    become copies without any being expanded before then; the anchor's problems are reported
    again for each alias, as the node would be read again. A key is read as its text.
    """
    loader = _Loader(text)
    resolve, construct = loader.resolve, loader.construct_object
    # anchor → (expanded nodes, height, data, problems, start mark, text if a scalar, tag)
    anchors: dict[str, tuple[int, int, Any, list[Problem], yaml.Mark, str | None, str | None]] = {}
    in_document: set[str] = set()  # anchors of this document, from their start, as the composer counts them
    stack: list[_Open] = []
    keys: dict[str, str] = {}  # one string for each key text, as json.loads shares them: layers repeat keys
    problems: list[Problem] = []
    root: Any = _NOTHING
    total = documents = 0
    refused = aliased = False

    def fail(event: yaml.Event, message: str) -> SpecError:
        m = event.start_mark
        return SpecError([Problem(message, file=name, line=m.line + 1, column=m.column + 1)])

    def note(mark: yaml.Mark, message: str) -> None:
        problems.append(Problem(message, file=name, line=mark.line + 1, column=mark.column + 1))

    def scalar(event: yaml.ScalarEvent, tag: str) -> Any:
        if tag == _STR:
            if not event.style and _EXP_NUMBER.fullmatch(event.value):  # plain: None, or '' from libyaml
                return float(event.value)
            return event.value
        try:
            value = construct(yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style))
        except ValueError:
            # Python refuses to read integers of more than 4300 digits
            note(event.start_mark, f"number with {len(event.value):,} digits is too large")
            return event.value
        except yaml.YAMLError as e:
            note(event.start_mark, f"invalid value: {getattr(e, 'problem', None) or e}")
            return event.value
        except (KeyError, AttributeError):
            # how PyYAML's readers of !!bool and !!timestamp fail on text they cannot read
            note(event.start_mark, f"invalid value: cannot read '{event.value}' as '{tag}'")
            return event.value
        if not isinstance(value, (str, int, float, bool, type(None))):
            # timestamps, binary and other YAML types are not part of the format
            return event.value
        return value

    try:
        while loader.check_event():
            event = loader.get_event()
            kind = type(event)
            if kind is yaml.ScalarEvent:
                nodes, height = 1, 0
                total += 1
                if total > MAX_NODES:
                    raise fail(event, f"more than {MAX_NODES:,} nodes (after expanding aliases), the limit for a "
                                      "description")
                anchor, mark, value, tag = event.anchor, event.start_mark, event.value, event.tag
                if tag is None or tag == "!":
                    tag = resolve(yaml.ScalarNode, value, event.implicit)
                start = len(problems)
                if anchor is None and stack and stack[-1].key is _KEY:
                    data = None  # a key is read as its text
                else:
                    data = scalar(event, tag)
                if anchor is not None:
                    refused = refused or anchor in in_document
                    in_document.add(anchor)
                    anchors[anchor] = (1, 0, data, problems[start:], mark, value, tag)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                total += 1
                stack.append(_Open(event, {} if kind is yaml.MappingStartEvent else [], len(problems)))
                if len(stack) > MAX_DEPTH:
                    raise fail(event, f"nesting deeper than {MAX_DEPTH} levels")
                if event.anchor is not None:
                    refused = refused or event.anchor in in_document
                    in_document.add(event.anchor)
                continue
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                done = stack.pop()
                nodes, height, data, start, mark, value, tag = (done.nodes, done.height, done.data, done.start,
                                                                done.mark, None, done.tag)
                if done.anchor is not None:
                    anchors[done.anchor] = (nodes, height, data, problems[start:], mark, None, tag)
            elif kind is yaml.AliasEvent:
                anchor = event.anchor
                if anchor not in anchors:
                    if any(o.anchor == anchor for o in stack):
                        raise fail(event, f"alias '*{anchor}' refers to a node that contains it")
                    raise fail(event, f"alias '*{anchor}' refers to no anchor defined before it")
                nodes, height, data, again, mark, value, tag = anchors[anchor]
                if len(stack) + height > MAX_DEPTH:
                    raise fail(event, f"nesting deeper than {MAX_DEPTH} levels (after expanding aliases)")
                total += nodes
                if total > MAX_NODES:
                    raise fail(event, f"more than {MAX_NODES:,} nodes (after expanding aliases), the limit for a "
                                      "description")
                start = len(problems)
                problems += again
                aliased = True
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                refused = refused or documents > 1
                in_document = set()
                continue
            else:
                continue
            # the node is complete: count it in its parent and put it there
            if not stack:
                if root is _NOTHING:
                    root = data
                continue
            parent = stack[-1]
            parent.nodes += nodes
            if height >= parent.height:
                parent.height = height + 1
            key = parent.key
            if key is None:
                parent.data.append(data)
            elif key is _KEY:
                del problems[start:]  # a key is read as its text, never as a value
                parent.key = _SKIP
                if tag == _MERGE:
                    note(mark, "merge keys ('<<') are not supported; write the keys out")
                elif value is None:
                    note(mark, "mapping keys must be plain names")
                elif value in parent.first:
                    note(mark, f"duplicate key '{value}' (first given on line {parent.first[value].line + 1})")
                else:
                    parent.first[value] = mark
                    parent.key = keys.setdefault(value, value)
            else:
                if key is _SKIP:
                    del problems[start:]  # the value of a refused key is dropped, and its problems
                else:
                    parent.data[key] = data
                parent.key = _KEY
    finally:
        loader.dispose()
    if aliased and root is not _NOTHING:
        root = _copy(root)
    return root, problems, refused


def _copy(data: Any) -> Any:
    """A copy of ``data`` in which no list or mapping is in two places, as aliases left them.

    Recursive: the data is at most :data:`MAX_DEPTH` deep, aliases expanded.
    """
    if type(data) is dict:
        return {k: _copy(v) for k, v in data.items()}
    if type(data) is list:
        return [_copy(v) for v in data]
    return data
