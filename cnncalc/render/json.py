"""JSON text: ``json.dumps(value, indent=2)``, character for character, written faster, and the
report's JSON streamed a layer at a time.

The report's JSON is ``Report.to_dict()``; a layer's entry is :data:`cnncalc.report.LAYER_FIELDS`
read from its row (the one definition :meth:`LayerRow.to_dict` also reads), written without
building the dict, each distinct value of a converted field encoded once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from ..memory import LayerMemory
from ..report import LAYER_FIELDS, LayerRow, Report


def render_json(report: Report) -> str:
    """The documented JSON object, indented, ending in a newline (as ``json.dumps(..., indent=2)``)."""
    return "".join(iter_json(report))


def iter_json(report: Report) -> Iterator[str]:
    """:func:`render_json` in pieces, one layer at a time: a huge report is never held whole."""
    text = json_text(replace(report, layers=()).to_dict())
    if not report.layers:
        yield text + "\n"
        return
    # a string in JSON never holds a raw newline, so this is the top-level key and nothing else
    head, tail = text.split('\n  "layers": []')
    yield head + '\n  "layers": ['
    sep = "\n    "
    memory = None if report.memory is None else report.memory.by_name()
    memos: list[dict[Any, str]] = [{} for _ in LAYER_FIELDS]
    for row in report.layers:
        yield sep + _layer_json(row, None if memory is None else memory[row.name], memos)
        sep = ",\n    "
    yield "\n  ]" + tail + "\n"


#: A layer sits two levels deep in the report: its keys start lines at level 3.
_L3 = "\n" + "  " * 3
#: Each field's key as it starts its line in a layer's entry.
_PREFIXES = tuple(_L3 + encode_basestring_ascii(key) + ": " for key, _, _ in LAYER_FIELDS)
_FIELDS = tuple(zip(_PREFIXES, LAYER_FIELDS))


def _layer_json(row: LayerRow, mem: LayerMemory | None, memos: list[dict[Any, str]]) -> str:
    """``json_text`` of the layer's entry in ``Report.to_dict()`` (``Report.layer_dicts``: the row's
    fields, then its ``memory``) at level 2, from the row itself.

    Shapes and fields repeat from layer to layer: a converted field's text is kept in ``memos``
    (one dict per field) by the value it was converted from, and written once per distinct value.
    """
    parts = []
    for (prefix, (_, attr, convert)), memo in zip(_FIELDS, memos):
        value = getattr(row, attr)
        if convert is None:
            encode = _SCALARS.get(type(value))
            parts.append(prefix + (encode(value) if encode is not None else _json_value(value, _L3)))
            continue
        text = memo.get(value)
        if text is None:
            text = memo[value] = _json_value(convert(value), _L3)
        parts.append(prefix + text)
    if mem is not None:
        parts.append(f'{_L3}"memory": {_json_value(mem.to_dict(), _L3)}')
    return "{" + ",".join(parts) + "\n    }"


def json_text(value: Any, level: int = 0) -> str:
    """``json.dumps(value, indent=2)``, character for character, for plain JSON data (string keys).

    The standard library writes indented JSON with its pure-Python encoder, which was the
    slowest step of a large report; this writes the same text about three times as fast (one
    joined string per container, scalars dispatched on their exact type). ``level`` indents the
    text as if it sat that many levels deep in a larger document.
    """
    return _json_value(value, "\n" + "  " * level)


def _json_float(v: float) -> str:
    if v != v:
        return "NaN"  # json.dumps writes these as JavaScript does
    if v in (math.inf, -math.inf):
        return "Infinity" if v > 0 else "-Infinity"
    return float.__repr__(v)


#: Encoders of the scalar types, by exact type (``bool`` is not ``int`` here).
_SCALARS: dict[type, Any] = {
    str: encode_basestring_ascii,
    int: int.__repr__,
    float: _json_float,
    bool: lambda v: "true" if v else "false",
    type(None): lambda v: "null",
}


def _json_value(v: Any, nl: str) -> str:
    """``v`` as indented JSON, its nested lines starting with ``nl`` plus two spaces."""
    encode = _SCALARS.get(type(v))
    if encode is not None:
        return encode(v)
    inner = nl + "  "
    if isinstance(v, dict):
        if not v:
            return "{}"
        parts = []
        for k, x in v.items():
            if type(k) is not str and not isinstance(k, str):
                raise TypeError(f"keys must be strings, not {type(k).__name__}")
            encode = _SCALARS.get(type(x))
            parts.append(encode_basestring_ascii(k) + ": " + (encode(x) if encode else _json_value(x, inner)))
        return "{" + inner + ("," + inner).join(parts) + nl + "}"
    if isinstance(v, (list, tuple)):
        if not v:
            return "[]"
        return "[" + inner + ("," + inner).join([_json_value(x, inner) for x in v]) + nl + "]"
    # subclasses of the scalar types (an IntEnum, a str subclass) are written as their base type
    for base in (str, bool, int, float):
        if isinstance(v, base):
            return _SCALARS[base](v)
    raise TypeError(f"Object of type {type(v).__name__} is not JSON serializable")

