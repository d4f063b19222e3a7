"""Reading a description: bytes to plain data, keeping every node's line and column.

YAML is read with PyYAML's safe parser (the C one when available), in one pass over its event
stream that builds the data; plain scalars are resolved by the YAML 1.2 core schema (``010`` is
10, ``yes`` and ``1:20`` are strings), and a plain scalar that YAML 1.1 reads otherwise gets a
warning. The composed node tree, which maps any data path back to a line and column, is made
from the text only when a location is asked for.

JSON (a file named ``*.json``, or any text that starts with ``{`` and is valid JSON) is read by
JSON's grammar (RFC 8259) in a pass of the same kind over its tokens, with the same limits, the
same refusal of duplicate keys, and its own node tree for locations.

Hostile input is bounded before it costs anything: the file's size is capped, and the same
pass (the parser produces events without recursion, and nothing here recurses) checks the
nesting depth and counts the nodes as aliases will expand them, so an alias bomb or a deeply
nested file is rejected, with its line, before any alias is expanded and before the composer
or Pydantic ever sees it.
"""

from __future__ import annotations

import gc
import json
import math
import os
import re
import stat
from _json import scanstring  # json.decoder's reader of a string, from after its opening quote
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

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
# an exponent without a decimal point or without a sign, e.g. ``1e-5``, ``2E3``. cnncalc read
# these as numbers before it read YAML 1.2, so they are no news to warn about.
_EXP_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+")

# The YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution)
_INT = re.compile(r"[-+]?[0-9]+")
_INT_OCT = re.compile(r"0o[0-7]+")
_INT_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_CONSTANTS: dict[str, Any] = {
    **dict.fromkeys(("null", "Null", "NULL", "~", ""), None),
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **{f"{sign}.{inf}": float(f"{sign}inf") for sign in ("", "+", "-") for inf in ("inf", "Inf", "INF")},
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
}
_NUMBER_START = frozenset("0123456789+-.")
# Plain scalars that YAML 1.1 and 1.2 read alike (the common case: a size, a rate), which need
# no comparison with YAML 1.1's reading
_SAME_IN_1_1 = re.compile(r"[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]*)?")
# YAML 1.1's booleans that YAML 1.2 reads as strings
_BOOL_1_1 = frozenset(("yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"))
# Python refuses to turn integers of more than 4300 digits into text (and back): a hexadecimal
# one that long in decimal cannot be shown in a message, so it is refused as well
_MAX_INT_BITS = 14_000

_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
_INT_TAG, _FLOAT_TAG, _BOOL_TAG, _NULL_TAG = _TAG + "int", _TAG + "float", _TAG + "bool", _TAG + "null"
_SEQ, _MAP = _TAG + "seq", _TAG + "map"
_MERGE = _TAG + "merge"
# A "\ud83d" escape (half of a UTF-16 pair) is not a character: PyYAML's pure-Python reader lets
# it through, and it cannot be written out as UTF-8
_SURROGATE = re.compile("[\ud800-\udfff]")
# What a YAML stream may not hold (YAML 1.1's printable set, which PyYAML's readers enforce)
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


_PLAIN_DATA = "a description holds plain mappings, lists, strings, numbers, booleans and null"


def short_tag(tag: str) -> str:
    """A tag as it is written: ``!!int`` for ``tag:yaml.org,2002:int``."""
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


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
    #: what was read but may not be what was meant (a YAML 1.1 form read by YAML 1.2)
    warnings: list[Problem] = field(default_factory=list)
    #: ``text`` is JSON, read by JSON's grammar
    is_json: bool = False

    @property
    def root(self) -> yaml.Node | None:
        """The node tree: kept, or composed from ``text``."""
        if self._root is None and self.text is not None:
            with _gc_paused():
                self._root = _json_nodes(self.text) if self.is_json else yaml.compose(self.text, Loader=_Loader)
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
    elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
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
        # non-blocking, so that a FIFO with no writer cannot stall the open; refused below
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as f:
            kind = _not_regular(os.fstat(fd).st_mode)
            if kind is not None:
                raise SourceError([Problem(f"is {kind}, not a regular file; to read a pipe or a device, "
                                           f"redirect it to standard input and give - as the file", file=name)])
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise SourceError([Problem("no such file", file=name)]) from None
    except IsADirectoryError:
        raise SourceError([Problem("is a directory, not a network description", file=name)]) from None
    except PermissionError:
        raise SourceError([Problem("permission denied", file=name)]) from None
    except OSError as e:
        raise SourceError([Problem(_unreadable(path, e), file=name)]) from None
    except ValueError:  # the name holds a NUL character, which no file name can
        raise SourceError([Problem("is not a valid file name (it holds a NUL character)", file=name)]) from None
    return parse_bytes(raw, name, collect=collect)


def _unreadable(path: str | Path, e: OSError) -> str:
    """Why ``path`` cannot be opened: what it is when not a regular file (a socket gives ENXIO), else the error."""
    try:
        kind = _not_regular(os.stat(path).st_mode)
    except OSError:
        kind = None
    if kind is not None:
        return f"is {kind}, not a regular file"
    return f"cannot read: {e.strerror or e}"


def _not_regular(mode: int) -> str | None:
    """What a file that is not a regular file is (a FIFO, a device...), or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        raise IsADirectoryError
    kinds = [(stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]
    return next((what for test, what in kinds if test(mode)), "not a regular file")


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

    A name ending in ``.json`` is read by JSON's grammar (no trailing commas, no comments);
    any other text that starts with ``{`` is read as JSON when it is JSON, else as YAML.
    """
    if len(text) > MAX_BYTES:
        raise _too_big(name)
    if not text.strip():
        raise _empty(name)  # before YAML, which refuses a tab even on a blank line
    src = None
    if name.lower().endswith(".json"):
        src = _parse_json(text, name)
    elif text.startswith("{", _skip_ws(text)):
        src = _parse_json(text, name, fallback=True)
    if src is None:
        src = _parse_yaml(text, name)
    if src.problems and not collect:
        raise SpecError(list(src.problems))
    return src


def _parse_yaml(text: str, name: str) -> Source:
    """Read YAML text; a syntax error is raised with PyYAML's message at its line and column."""
    try:
        with _gc_paused():
            data, problems, warnings, refused = _read(text, name)
        if refused:  # the composer's own error, with its message and location
            yaml.compose(text, Loader=_Loader)
            raise AssertionError(f"PyYAML composed {name}, which was expected to be refused")  # pragma: no cover
    except yaml.MarkedYAMLError as e:
        raise SpecError([_yaml_problem(e, name, text)]) from None
    except yaml.reader.ReaderError as e:
        raise SpecError([_reader_problem(e, name, text)]) from None
    except yaml.YAMLError as e:  # pragma: no cover  (PyYAML marks its syntax errors)
        raise SpecError([Problem(f"invalid YAML: {e}", file=name)]) from None
    if data is _NOTHING:
        raise _empty(name)
    return Source(data, name, problems=problems, text=text, warnings=warnings)


def _parse_json(text: str, name: str, *, fallback: bool = False) -> Source | None:
    """Read JSON text; with ``fallback``, None for text that is not JSON (to be read as YAML)."""
    try:
        with _gc_paused():
            data, problems = _read_json(text, name)
    except _JSONSyntax as e:
        if fallback:
            return None
        raise SpecError([_json_problem(text, name, e.pos)]) from None
    return Source(data, name, problems=problems, text=text, is_json=True)


def _empty(name: str) -> SpecError:
    return SpecError([Problem("is empty: expected a mapping with 'input' and 'layers'", file=name)])


def _line_col(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column of the character at ``pos``, lines ending at ``\\n``."""
    return text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)


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


def _reader_problem(e: yaml.reader.ReaderError, name: str, text: str) -> Problem:
    """A character YAML does not allow (a NUL, a control character), at its line and column."""
    found = _NON_PRINTABLE.search(text)
    pos = found.start() if found else max(min(e.position, len(text) - 1), 0)
    char = text[pos]
    what = "a NUL character (U+0000): is it a binary file?" if char == "\0" else (
        f"the character U+{ord(char):04X}, which YAML does not allow (write it as an escape in a double-quoted "
        "string)")
    line, col = _line_col(text, pos)
    return Problem(f"contains {what}", file=name, line=line, column=col)


def _json_problem(text: str, name: str, pos: int) -> Problem:
    """Invalid JSON: JSON's own message and position, where the ``json`` module gives one."""
    try:
        # hooks that keep json from converting numbers (a 5,000-digit one would stop it) or reading
        # NaN and Infinity, which are not JSON
        json.loads(text, parse_int=len, parse_float=len, parse_constant=len)
    except json.JSONDecodeError as e:
        msg = e.msg
        before = text[: e.pos].rstrip()
        if before.endswith(",") and text[e.pos : e.pos + 1] in ("]", "}"):
            msg = f"trailing comma before '{text[e.pos]}'"
        return Problem(f"invalid JSON: {msg}", file=name, line=e.lineno, column=e.colno)
    except RecursionError:  # pragma: no cover  (nesting is bounded before this is reached)
        pass
    word = re.compile(r"-?[A-Za-z]+").match(text, pos)
    msg = f"'{word.group()}' is not a JSON value" if word else f"unexpected character {text[pos : pos + 1]!r}"
    line, col = _line_col(text, pos)
    return Problem(f"invalid JSON: {msg}", file=name, line=line, column=col)


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


def _too_many(name: str, line: int, column: int) -> SpecError:
    return SpecError([Problem(f"more than {MAX_NODES:,} nodes (after expanding aliases), the limit for a description",
                              file=name, line=line, column=column)])


def _too_deep(name: str, line: int, column: int, aliases: bool = False) -> SpecError:
    after = " (after expanding aliases)" if aliases else ""
    return SpecError([Problem(f"nesting deeper than {MAX_DEPTH} levels{after}", file=name, line=line, column=column)])


def _describe(value: Any) -> str:
    """A value read from a scalar, for a warning."""
    if isinstance(value, str):
        return f"the string '{value}'"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return f"the number {value}"


def _written(value: Any) -> str:
    """A value as it is written unambiguously in YAML 1.1 and 1.2 alike."""
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and (a == b or a != a and b != b)  # NaN is NaN


class _Where(Protocol):
    """A position in the text as both of PyYAML's parsers mark one: 0-based line and column."""

    line: int
    column: int


def _start(event: yaml.Event) -> _Where:
    """Where ``event`` starts (both parsers mark every event)."""
    mark = event.start_mark
    assert mark is not None, f"PyYAML gave a {type(event).__name__} without a mark"
    return mark


class _Open:
    """A sequence or mapping whose end event has not come yet."""

    __slots__ = ("anchor", "data", "first", "height", "key", "mark", "nodes", "start", "tag")

    def __init__(self, event: yaml.CollectionStartEvent, data: Any, start: int) -> None:
        self.anchor = event.anchor
        self.nodes = self.height = 1  # expanded nodes and height so far
        self.data = data
        self.start = start  # problems found before it
        self.mark = _start(event)
        self.tag = event.tag
        self.key: Any = _KEY if isinstance(data, dict) else None
        self.first: dict[str, _Where] = {}  # a mapping's keys so far, at their first occurrence


def _read(text: str, name: str) -> tuple[Any, list[Problem], list[Problem], bool]:
    """Read the event stream once: check the limits and build the first document's data.

    Returns the data (``_NOTHING`` for a stream without a document), the problems that do not
    stop the rest of the file from being checked (a duplicate key, a merge key, a value that
    cannot be read, a tag that is not part of the format), the warnings (a plain scalar that
    YAML 1.1 reads otherwise), and whether PyYAML's composer refuses the stream (a second
    document, an anchor given twice), which the caller reports with the composer's own message.

    The parser produces events without recursion, and nothing here recurses, so nesting is
    bounded before it can overflow a stack. A node's expanded size is 1 plus its children's; an
    alias costs its anchor's size and reaches as deep as its anchor's height, so a bomb is
    stopped at the alias that crosses the limit. An alias stands for its anchor's data while
    the stream is read, and the data is copied once it has all been counted, so that aliases
    become copies without any being expanded before then; the anchor's problems are reported
    again for each alias, as the node would be read again. A key is read as its text.
    """
    loader = _Loader(text)
    # anchor → (expanded nodes, height, data, problems, start mark, text if a scalar, tag)
    anchors: dict[str, tuple[int, int, Any, list[Problem], _Where, str | None, str | None]] = {}
    in_document: set[str] = set()  # anchors of this document, from their start, as the composer counts them
    stack: list[_Open] = []
    keys: dict[str, str] = {}  # one string for each key text, as json.loads shares them: layers repeat keys
    problems: list[Problem] = []
    warnings: list[Problem] = []
    root: Any = _NOTHING
    total = documents = 0
    refused = aliased = False

    def fail(event: yaml.Event, message: str) -> SpecError:
        m = _start(event)
        return SpecError([Problem(message, file=name, line=m.line + 1, column=m.column + 1)])

    def note(mark: _Where, message: str) -> None:
        problems.append(Problem(message, file=name, line=mark.line + 1, column=mark.column + 1))

    def number(n: int, event: yaml.ScalarEvent) -> Any:
        """``n``, or its text with a problem if it is too large to be shown."""
        if n.bit_length() > _MAX_INT_BITS:
            note(_start(event), f"number with more than {_MAX_INT_BITS:,} bits is too large")
            return event.value
        return n

    def plain(event: yaml.ScalarEvent) -> Any:
        """A plain scalar by the YAML 1.2 core schema, warned about where YAML 1.1 reads it otherwise."""
        value = event.value
        if value[:1] in _NUMBER_START:
            if _INT.fullmatch(value):
                try:
                    out: Any = int(value)
                except ValueError:  # Python refuses to read integers of more than 4300 digits
                    note(_start(event), f"number with {len(value.lstrip('+-')):,} digits is too large")
                    return value
            elif _FLOAT.fullmatch(value):
                out = float(value)
            elif _INT_HEX.fullmatch(value) or _INT_OCT.fullmatch(value):
                out = number(int(value[2:], 16 if value[1] == "x" else 8), event)
                if out is value:
                    return value
            else:
                out = _CONSTANTS.get(value, value)
            if not _SAME_IN_1_1.fullmatch(value):
                compare(event, out)
            return out
        out = _CONSTANTS.get(value, value)
        if value in _BOOL_1_1:
            compare(event, out)
        return out

    def compare(event: yaml.ScalarEvent, out: Any) -> None:
        """Warn where YAML 1.1, as PyYAML reads it, gives another value (``010`` is 8, ``on`` is true)."""
        value = event.value
        tag = loader.resolve(yaml.ScalarNode, value, (True, False))
        old: Any = value
        if tag != _STR:
            try:
                old = loader.construct_object(yaml.ScalarNode(tag, value))  # marks: its errors are not shown
            except (ValueError, yaml.YAMLError):
                return  # refused by YAML 1.1: nothing was ever read differently
        elif _EXP_NUMBER.fullmatch(value):
            old = float(value)  # how cnncalc read YAML before it read YAML 1.2
        if isinstance(old, int) and old.bit_length() > _MAX_INT_BITS:
            return  # too large to show (a 20,000-digit '0b1...'); read as a string, as YAML 1.2 has it
        if isinstance(old, (str, int, float, bool, type(None))) and not _same(old, out):
            m = _start(event)
            warnings.append(Problem(
                f"'{value}' is read as {_describe(out)} (YAML 1.2), not as {_describe(old)} (YAML 1.1): write "
                f"{_written(out)} or {_written(old)} to say which", file=name, line=m.line + 1, column=m.column + 1))

    def tagged(event: yaml.ScalarEvent, tag: str) -> Any:
        """A scalar with an explicit tag: one of the core schema's, read by its rules."""
        value, mark = event.value, _start(event)
        if tag == _STR:
            return value
        if tag == _INT_TAG:
            if _INT.fullmatch(value):
                try:
                    return int(value)
                except ValueError:
                    note(mark, f"number with {len(value.lstrip('+-')):,} digits is too large")
                    return value
            if _INT_HEX.fullmatch(value) or _INT_OCT.fullmatch(value):
                return number(int(value[2:], 16 if value[1] == "x" else 8), event)
        elif tag == _FLOAT_TAG:
            if _INT.fullmatch(value) or _FLOAT.fullmatch(value):
                return float(value)  # inf for one too large: refused where a size is read
            if isinstance(_CONSTANTS.get(value), float):
                return _CONSTANTS[value]
        elif tag in (_BOOL_TAG, _NULL_TAG):
            out = _CONSTANTS.get(value, value)
            if out is not value and (out is None) == (tag == _NULL_TAG) and not isinstance(out, float):
                return out
        else:
            note(mark, f"unsupported tag '{short_tag(tag)}': {_PLAIN_DATA}")
            return value
        note(mark, f"invalid value: cannot read '{value}' as {short_tag(tag)}")
        return value

    def scalar(event: yaml.ScalarEvent) -> Any:
        tag = event.tag
        if tag is None:
            if event.implicit[0]:  # plain
                return plain(event)
            value = event.value
            if event.style == '"' and _SURROGATE.search(value):
                note(_start(event), "a '\\u' escape of half a UTF-16 surrogate pair is not a character: write "
                                       "the character itself, or '\\U' and its 8 hex digits")
            return value
        return event.value if tag == "!" else tagged(event, tag)

    try:
        while loader.check_event():
            event = loader.get_event()
            kind = type(event)
            if kind is yaml.ScalarEvent:
                nodes, height = 1, 0
                total += 1
                if total > MAX_NODES:
                    m = _start(event)
                    raise _too_many(name, m.line + 1, m.column + 1)
                anchor, mark, value, tag = event.anchor, _start(event), event.value, event.tag
                start = len(problems)
                if anchor is None and stack and stack[-1].key is _KEY:
                    data = None  # a key is read as its text
                    if tag is None and event.implicit[0] and value == "<<":
                        tag = _MERGE
                else:
                    data = scalar(event)
                if tag is None or tag == "!":
                    tag = _STR
                if anchor is not None:
                    refused = refused or anchor in in_document
                    in_document.add(anchor)
                    anchors[anchor] = (1, 0, data, problems[start:], mark, value, tag)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                total += 1
                is_map = kind is yaml.MappingStartEvent
                stack.append(_Open(event, {} if is_map else [], len(problems)))
                if len(stack) > MAX_DEPTH:
                    m = _start(event)
                    raise _too_deep(name, m.line + 1, m.column + 1)
                if event.anchor is not None:
                    refused = refused or event.anchor in in_document
                    in_document.add(event.anchor)
                if event.tag not in (None, "!", _MAP if is_map else _SEQ):
                    what = "mapping" if is_map else "list"
                    note(_start(event), f"unsupported tag '{short_tag(event.tag)}' on a {what}: {_PLAIN_DATA}")
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
                    m = _start(event)
                    raise _too_deep(name, m.line + 1, m.column + 1, aliases=True)
                total += nodes
                if total > MAX_NODES:
                    m = _start(event)
                    raise _too_many(name, m.line + 1, m.column + 1)
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
                elif tag != _STR:
                    note(mark, f"unsupported tag '{short_tag(tag)}' on a key: keys are plain names")
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
    return root, problems, warnings, refused


# ---------------------------------------------------------------------------------------------
# JSON, by its grammar (RFC 8259)

_JSON_WS = re.compile(r"[ \t\n\r]*")


def _skip_ws(text: str, pos: int = 0) -> int:
    """The position after the JSON whitespace that starts at ``pos``."""
    m = _JSON_WS.match(text, pos)
    return pos if m is None else m.end()  # never None: the pattern matches nothing at all too


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_JSON_LITERALS = (("true", True), ("false", False), ("null", None))
# the tokens of JSON text, as (kind, position, value)
_OPEN_MAP, _OPEN_SEQ, _CLOSE, _KEY_TOKEN, _STRING, _NUMBER, _LITERAL = range(7)


class _JSONSyntax(Exception):
    """The text breaks JSON's grammar at ``pos``."""

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.pos = pos


def _json_tokens(text: str) -> Iterator[tuple[int, int, Any]]:
    """The tokens of JSON text, checked against JSON's grammar, without recursion.

    A string is decoded by the ``json`` module's own scanner; a number is given as its text.
    """
    skip, number = _skip_ws, _JSON_NUMBER.match
    closers: list[str] = []  # the closing bracket of each open array or object
    pos = skip(text)
    want = "value"  # or "value or ]" just after '[', "key", "key or }" just after '{', "after" a value
    try:
        while True:
            c = text[pos : pos + 1]
            start = pos
            if want == "after":
                if not closers:
                    if pos != len(text):
                        raise _JSONSyntax(pos)
                    return
                if c == ",":
                    want = "key" if closers[-1] == "}" else "value"
                elif c == closers[-1]:
                    closers.pop()
                    yield _CLOSE, start, None
                else:
                    raise _JSONSyntax(pos)
                pos = skip(text, pos + 1)
                continue
            if want in ("key", "key or }"):
                if c == '"':
                    key, pos = scanstring(text, pos + 1, True)
                    yield _KEY_TOKEN, start, key
                    pos = skip(text, pos)
                    if text[pos : pos + 1] != ":":
                        raise _JSONSyntax(pos)
                    want = "value"
                elif c == "}" and want == "key or }":
                    closers.pop()
                    yield _CLOSE, start, None
                    want = "after"
                else:
                    raise _JSONSyntax(pos)
                pos = skip(text, pos + 1)
                continue
            # a value
            may_close, want = want == "value or ]", "after"
            if c == '"':
                value, pos = scanstring(text, pos + 1, True)
                yield _STRING, start, value
            elif c == "{":
                closers.append("}")
                yield _OPEN_MAP, start, None
                want, pos = "key or }", pos + 1
            elif c == "[":
                closers.append("]")
                yield _OPEN_SEQ, start, None
                want, pos = "value or ]", pos + 1
            elif c == "]" and may_close:
                closers.pop()
                yield _CLOSE, start, None
                pos += 1
            elif m := number(text, pos):
                yield _NUMBER, start, m
                pos = m.end()
            else:
                for word, literal in _JSON_LITERALS:
                    if text.startswith(word, pos):
                        yield _LITERAL, start, literal
                        pos += len(word)
                        break
                else:
                    raise _JSONSyntax(pos)
            pos = skip(text, pos)
    except json.JSONDecodeError as e:  # from scanstring: an unterminated string, a bad escape
        raise _JSONSyntax(e.pos) from None


class _JSONOpen:
    """An array or object whose end has not come yet."""

    __slots__ = ("data", "first", "key", "start")

    def __init__(self, data: Any) -> None:
        self.data = data
        self.key: Any = None  # the key its next value goes under (an object's), or _SKIP
        self.first: dict[str, int] = {}  # an object's keys so far, at their first position
        self.start = 0  # problems found before the value of a refused key


def _read_json(text: str, name: str) -> tuple[Any, list[Problem]]:
    """Read JSON text in one pass over its tokens: check the limits and build the data.

    Returns the data and the problems that do not stop the rest of the file from being checked
    (a duplicate key, a number too long to read, half a surrogate pair); nodes are counted and
    nesting is bounded as for YAML.
    """
    stack: list[_JSONOpen] = []
    keys: dict[str, str] = {}
    problems: list[Problem] = []
    root: Any = _NOTHING
    total = 0
    # a "\ud83d" escape alone is not a character; only a text with such an escape can hold one
    halves = "\\ud" in text or "\\uD" in text

    def note(pos: int, message: str) -> None:
        line, col = _line_col(text, pos)
        problems.append(Problem(message, file=name, line=line, column=col))

    def half(pos: int, value: str) -> None:
        if halves and _SURROGATE.search(value):
            note(pos, "a '\\u' escape of half a UTF-16 surrogate pair that is not followed by its other half is "
                      "not a character")

    for kind, pos, value in _json_tokens(text):
        total += 1
        if total > MAX_NODES:
            raise _too_many(name, *_line_col(text, pos))
        if kind in (_OPEN_MAP, _OPEN_SEQ):
            stack.append(_JSONOpen({} if kind == _OPEN_MAP else []))
            if len(stack) > MAX_DEPTH:
                raise _too_deep(name, *_line_col(text, pos))
            continue
        if kind == _KEY_TOKEN:
            parent = stack[-1]
            half(pos, value)
            if value in parent.first:
                note(pos, f"duplicate key '{value}' (first given on line {_line_col(text, parent.first[value])[0]})")
                parent.key, parent.start = _SKIP, len(problems)
            else:
                parent.first[value] = pos
                parent.key = keys.setdefault(value, value)
            continue
        if kind == _CLOSE:
            total -= 1  # a closing bracket is not a node
            data = stack.pop().data
        elif kind == _STRING:
            data = value
            half(pos, value)
        elif kind == _NUMBER:
            if value.group(1) is None and value.group(2) is None:
                try:
                    data = int(value.group())
                except ValueError:  # Python refuses to read integers of more than 4300 digits
                    note(pos, f"number with {len(value.group().lstrip('-')):,} digits is too large")
                    data = value.group()
            else:
                data = float(value.group())
        else:
            data = value
        if not stack:
            root = data
            continue
        parent = stack[-1]
        if type(parent.data) is list:
            parent.data.append(data)
        elif parent.key is _SKIP:
            del problems[parent.start :]  # the value of a duplicate key is dropped, and its problems
        else:
            parent.data[parent.key] = data
    return root, problems


def _json_nodes(text: str) -> yaml.Node | None:
    """The node tree of JSON text that :func:`_read_json` has read: YAML's nodes, with JSON's positions."""
    stack: list[tuple[yaml.Node, list[Any]]] = []  # an open node, and the key its next value goes under
    line = line_start = last = 0
    for kind, pos, value in _json_tokens(text):
        breaks = text.count("\n", last, pos)
        if breaks:
            line += breaks
            line_start = text.rfind("\n", last, pos) + 1
        last = pos
        mark = yaml.Mark("", pos, line, pos - line_start, None, 0)  # no buffer, so no snippet
        if kind in (_OPEN_MAP, _OPEN_SEQ):
            node: yaml.Node = (yaml.MappingNode(_MAP, [], mark, mark) if kind == _OPEN_MAP
                               else yaml.SequenceNode(_SEQ, [], mark, mark))
            stack.append((node, [None]))
            continue
        if kind == _KEY_TOKEN:
            stack[-1][1][0] = yaml.ScalarNode(_STR, value, mark, mark)
            continue
        if kind == _CLOSE:
            node = stack.pop()[0]
        else:
            node = yaml.ScalarNode(_STR, value if isinstance(value, str) else "", mark, mark)
        if not stack:
            return node
        parent, key = stack[-1]
        parent.value.append((key[0], node) if isinstance(parent, yaml.MappingNode) else node)
    return None  # pragma: no cover  (the text was read as JSON before)


def _copy(data: Any) -> Any:
    """A copy of ``data`` in which no list or mapping is in two places, as aliases left them.

    Recursive: the data is at most :data:`MAX_DEPTH` deep, aliases expanded.
    """
    if type(data) is dict:
        return {k: _copy(v) for k, v in data.items()}
    if type(data) is list:
        return [_copy(v) for v in data]
    return data
