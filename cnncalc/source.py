"""Reading a description: bytes to plain data, keeping every node's line and column.

YAML and JSON are both read with PyYAML's safe composer (the C one when available); the
composed node tree is kept so that any data path can be mapped back to a line and column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem, SourceError, SpecError

#: Upper bound on the number of nodes after alias expansion ("billion laughs" guard).
MAX_NODES = 2_000_000
#: Upper bound on nesting depth of mappings and sequences.
MAX_DEPTH = 200

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Source:
    """A parsed description: its data, its name for messages, and its node tree for locations.

    The node tree takes several times the memory of the data, and only an error needs it: a
    source made by :func:`parse` keeps its ``text`` instead and composes the tree again on the
    first call of :meth:`locate`.
    """

    data: Any
    name: str
    _root: yaml.Node | None = field(default=None, repr=False)
    text: str | None = field(default=None, repr=False)

    @property
    def root(self) -> yaml.Node | None:
        """The node tree: kept, or composed again from ``text``."""
        if self._root is None and self.text is not None:
            self._root = yaml.compose(self.text, Loader=_Loader)
        return self._root

    def locate(self, path: tuple[Any, ...]) -> tuple[int | None, int | None]:
        """Line and column (1-based) of the deepest node along ``path``."""
        node = self.root
        if node is None:
            return None, None
        for key in path:
            child = _child(node, key)
            if child is None:
                continue
            node = child
        return node.start_mark.line + 1, node.start_mark.column + 1

    def problem(self, message: str, path: tuple[Any, ...] = (), **kw: Any) -> Problem:
        """A :class:`Problem` located at ``path``."""
        line, col = self.locate(path)
        return Problem(message, file=self.name, line=line, column=col, **kw)


def _child(node: yaml.Node, key: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
        if 0 <= key < len(node.value):
            return node.value[key]
    return None


def read(path: str | Path) -> Source:
    """Read and parse the description at ``path`` (``-`` is not handled here)."""
    p = Path(path)
    name = str(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise SourceError([Problem("no such file", file=name)]) from None
    except IsADirectoryError:
        raise SourceError([Problem("is a directory, not a network description", file=name)]) from None
    except PermissionError:
        raise SourceError([Problem("permission denied", file=name)]) from None
    except OSError as e:
        raise SourceError([Problem(f"cannot read: {e.strerror or e}", file=name)]) from None
    return parse_bytes(raw, name)


def parse_bytes(raw: bytes, name: str) -> Source:
    """Decode UTF-8 bytes and parse them."""
    if b"\x00" in raw[:8192]:
        raise SourceError([Problem("is a binary file, not a YAML or JSON description", file=name)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise SourceError(
            [Problem(f"is not valid UTF-8 (byte 0x{raw[e.start]:02x})", file=name, line=line)]
        ) from None
    return parse(text, name)


def parse(text: str, name: str = "<string>") -> Source:
    """Parse YAML or JSON text into plain data, rejecting duplicate keys and alias bombs."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        msg = e.problem or e.context or "syntax error"
        if e.context and e.problem:
            msg = f"{e.problem} ({e.context})"
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise SpecError([Problem(f"invalid YAML: {msg}", file=name, line=line, column=col)]) from None
    except yaml.YAMLError as e:
        raise SpecError([Problem(f"invalid YAML: {e}", file=name)]) from None
    except RecursionError:
        raise SpecError([Problem(f"nesting deeper than {MAX_DEPTH} levels", file=name)]) from None
    src = Source(None, name, root)
    if root is None:
        raise SpecError([Problem("is empty: expected a mapping with 'input' and 'layers'", file=name)])
    src.data = _Builder(src).build(root, 0)
    src._root, src.text = None, text
    return src


class _Builder:
    """Turns composed nodes into dicts, lists and scalars, counting nodes as aliases expand."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.count = 0
        # one per parse: a constructor remembers every node it has seen
        self.scalars = yaml.constructor.SafeConstructor()

    def fail(self, node: yaml.Node, message: str) -> SpecError:
        m = node.start_mark
        return SpecError([Problem(message, file=self.src.name, line=m.line + 1, column=m.column + 1)])

    def build(self, node: yaml.Node, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(node, f"more than {MAX_NODES:,} nodes after expanding aliases")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.ScalarNode):
            try:
                value = self.scalars.construct_object(node)
            except yaml.YAMLError as e:
                raise self.fail(node, f"invalid value: {e}") from None
            if isinstance(value, float) and not math.isfinite(value):
                return value
            if not isinstance(value, (str, int, float, bool, type(None))):
                # timestamps, binary and other YAML types are not part of the format
                return node.value
            return value
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, depth + 1) for v in node.value]
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for k, v in node.value:
                if k.tag == "tag:yaml.org,2002:merge":
                    raise self.fail(k, "merge keys ('<<') are not supported")
                if not isinstance(k, yaml.ScalarNode):
                    raise self.fail(k, "mapping keys must be plain names")
                key = k.value
                if key in out:
                    raise self.fail(k, f"duplicate key '{key}'")
                out[key] = self.build(v, depth + 1)
            return out
        raise self.fail(node, "unsupported YAML node")  # pragma: no cover
