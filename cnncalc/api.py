"""The Python API: ``load`` and ``analyse`` accept a description in every form a script or notebook has.

What ``source`` may be, and how a string is read (the rule is decided by the string alone, never
by what happens to exist on disk, so the same call means the same thing everywhere):

* a mapping (``dict``): the description as data, checked as a file is; errors name the layer;
* a ``pathlib.Path``: always a file;
* a ``str`` that contains a line break, whose first non-blank character is ``{``, or that is
  blank: YAML or JSON text (errors name ``<string>`` and the line and column in it);
* any other ``str``: a file path, else the name of a bundled network (``"resnet50"``);
* ``bytes``: YAML or JSON text in UTF-8;
* a :class:`~cnncalc.spec.Network` already loaded (or, for ``analyse``, a built graph).

Pure: no printing; bad input raises a :class:`~cnncalc.errors.CnnCalcError` subclass.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import OptionError, Problem, SpecError
from .source import MAX_DEPTH, MAX_NODES, Source

if TYPE_CHECKING:  # pragma: no cover
    from .graph import Graph
    from .report import Report
    from .spec import Network

#: The name a description given as a mapping has in messages.
DICT_NAME = "<dict>"
#: The name a description given as text has in messages.
TEXT_NAME = "<string>"


def is_text(source: str) -> bool:
    """Whether a string is read as YAML/JSON text (it has a line break, starts with ``{`` or is blank), not a path."""
    return "\n" in source or "\r" in source or source.lstrip().startswith("{") or not source.strip()


def load(source: Any, *, text: str | None = None) -> Network:
    """A network from a mapping, YAML/JSON text, a path, a bundled name or a loaded network (see the module)."""
    from . import spec

    if text is not None:  # the older form load(name, text=...): ``source`` names the text in messages
        return spec.load(str(source), text=text)
    if isinstance(source, spec.Network):
        return source
    if isinstance(source, Mapping):
        return spec.from_source(Source(_plain(source), DICT_NAME))
    if isinstance(source, (bytes, bytearray)):
        return spec.load_bytes(bytes(source), TEXT_NAME)
    if isinstance(source, Path):
        return spec.from_source(spec.read(source, collect=True))
    if isinstance(source, str):
        if is_text(source):
            return spec.load(TEXT_NAME, text=source)
        return spec.load(source)
    raise OptionError(
        f"cannot read a network from {type(source).__name__}: give a dict, YAML or JSON text, a path or a "
        "bundled network name"
    )


def analyse(source: Any, *, input_shape: Sequence[int] | str | None = None, batch: int = 1,
            dtype: str | None = None, optimizer: str = "adam", amp: bool = False,
            convention: str | None = None, depth: int | None = None) -> Report:
    """Analyse a network given in any form :func:`load` takes, with the options of ``cnncalc report``.

    ``input_shape`` overrides the input (``(3, 224, 224)`` or ``"3x224x224"``); ``dtype``
    defaults to fp32, or fp16 with ``amp``; ``depth`` collapses groups as ``--depth`` does.
    """
    from .analysis import analyse as _analyse
    from .graph import Graph
    from .render.display import install

    install()  # the report prints as the terminal's table, and shows in rich and Jupyter

    shape = _shape(input_shape)
    network: Network | Graph = source if isinstance(source, Graph) else load(source)
    if shape is not None and isinstance(network, Graph):
        raise OptionError("input_shape: a built graph has its input shape already; pass the network instead")
    report = _analyse(network, batch=batch, dtype=dtype or ("fp16" if amp else "fp32"), input_shape=shape,
                      optimizer=optimizer, amp=amp, convention=convention)
    return report if depth is None else report.collapse(depth)


def _shape(value: Sequence[int] | str | None) -> tuple[int, ...] | None:
    """An input shape given to the API, checked as ``--input`` is."""
    from .spec import shape_from_text

    if value is None:
        return None
    if isinstance(value, str):
        parsed = shape_from_text(value)
        if parsed is None:
            raise OptionError(f"input_shape: '{value}' is not a shape like 3x224x224")
        value = parsed
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, Sequence):
        raise OptionError(f"input_shape: expected sizes like (3, 224, 224) or '3x224x224', got {value!r}")
    sizes: list[Any] = list(value)
    if not 1 <= len(sizes) <= 4 or not all(_is_int(d) and d >= 1 for d in sizes):
        raise OptionError(f"input_shape: {value!r} must have 1 to 4 positive integer sizes, like (3, 224, 224)")
    return tuple(int(d) for d in sizes)


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _plain(data: Mapping[Any, Any]) -> dict[str, Any]:
    """A copy of a description given as Python data, in the types a YAML file yields.

    Tuples become lists and NumPy-style numbers plain ``int``/``float``; anything else that a
    file could not hold is refused with its path. Walks without recursion and counts every node
    (a shared sub-object counts each time it is reached, as an alias does), so a cyclic or huge
    object is refused with the same limits as a file.
    """
    out: dict[str, Any] = {}
    stack: list[tuple[Any, Any, Any, str, int]] = [(data, None, None, "", 0)]  # (value, parent, key, path, depth)
    nodes = 0
    while stack:
        value, parent, key, path, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise _refused(f"has more than {MAX_NODES:,} values, the limit for a description")
        if depth > MAX_DEPTH:
            where = path if len(path) <= 60 else path[:60] + "…"
            raise _refused(f"{where}: nested deeper than {MAX_DEPTH} levels (does it contain itself?)")
        if isinstance(value, Mapping):
            copy: Any = out if parent is None else {}
            for k in reversed(list(value)):
                if not isinstance(k, str):
                    raise _refused(f"{path or 'the description'}: key {k!r} is not a string")
                stack.append((value[k], copy, k, f"{path}.{k}" if path else k, depth + 1))
            # children are filled in after the parent is placed; keep the mapping's order
            for k in value:
                copy[k] = None
        elif isinstance(value, (list, tuple)):
            copy = [None] * len(value)
            for i in reversed(range(len(value))):
                stack.append((value[i], copy, i, f"{path}[{i}]", depth + 1))
        elif value is None or isinstance(value, (str, bool, int, float)):
            copy = value
        elif isinstance(value, numbers.Integral):
            copy = int(value)
        elif isinstance(value, numbers.Real):
            copy = float(value)
        else:
            raise _refused(f"{path or 'the description'}: a value of type '{type(value).__name__}' "
                           "cannot be part of a description")
        if parent is not None:
            parent[key] = copy
    return out


def _refused(message: str) -> SpecError:
    return SpecError([Problem(message, file=DICT_NAME)])
