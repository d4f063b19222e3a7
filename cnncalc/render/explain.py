"""Rendering explanations as plain text (terminal) or Markdown with LaTeX math (notes).

Names and notes quote user text: the text form shows control characters escaped
(:func:`cnncalc.text.printable`), the Markdown form escapes Markdown as well
(:func:`cnncalc.text.markdown`, :func:`cnncalc.text.markdown_code`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..explain import Eq, Explanation, Line
from ..formula import format_value, tex_value
from ..text import markdown, markdown_code, printable

#: Width of the figure column in text.
_LABEL = 9
#: Equations of one figure share a line while it stays this short.
_ONE_LINE = 110
#: Where a figure's text starts: two spaces, the figure column, a space.
_TEXT_AT = 2 + _LABEL + 1
#: Where a figure's text goes on when a line of it wraps: two spaces further in.
_WRAPPED_AT = _TEXT_AT + 2
#: Where a layer's heading goes on when it wraps.
_HEADING_AT = 4


def _chain(eq: Eq, seen: set[str], tex: bool) -> str:
    """``lhs = formula = numbers = value unit``, dropping repeats (``W = 32`` after ``H``)."""
    show = eq.term.tex if tex else eq.term.text
    result = (tex_value if tex else format_value)(eq.term.value)
    formula, numbers = show(numbers=False), show()
    unit = (rf"\ \mathrm{{{eq.unit}}}" if tex else f" {eq.unit}") if eq.unit else ""
    parts = [eq.lhs] if eq.lhs else []
    if numbers not in seen:
        if formula != numbers:
            parts.append(formula)
        if numbers != result:
            parts.append(numbers)
        seen.add(numbers)
    parts.append(result + unit)
    return " = ".join(parts)


def _eq_text(eq: Eq, seen: set[str]) -> str:
    return _chain(eq, seen, tex=False) + (f" {eq.note}" if eq.note else "")


def _line_text(line: Line, width: int | None = None) -> list[str]:
    seen: set[str] = set()
    eqs = [_eq_text(e, seen) for e in line.eqs]
    tail = [line.note] if line.note else []
    joined = ";  ".join(eqs)
    # equations share a line while it stays short and fits the width
    room = _ONE_LINE if width is None else min(_ONE_LINE, width - _TEXT_AT)
    body = [" ".join([joined, *tail]).strip()] if len(joined) <= room else eqs[:-1] + [" ".join([eqs[-1], *tail])]
    pad = " " * _TEXT_AT
    lines = [f"  {line.figure:<{_LABEL}} {body[0]}".rstrip()] + [f"{pad}{b}" for b in body[1:]]
    return [w for text in lines for w in wrap(text, width, _WRAPPED_AT, start=_TEXT_AT)]


#: A line never breaks after these (an operator starts the next line) ...
_GLUE_AFTER = frozenset(["=", "+", "−", "-", "·", "×", "/", "→", "←", "(", ";"])
#: ... nor before a unit, which stays with its number.
_UNITS = frozenset(("B", "KiB", "MiB", "GiB", "TiB", "K", "M", "G", "T"))
_WORD = re.compile(r"\S+")


def wrap(text: str, width: int | None, indent: int, *, start: int = 0) -> list[str]:
    """``text`` in lines of at most ``width`` characters, continued ``indent`` spaces in.

    A line breaks only at a space between two terms: never inside a number, a shape, or the
    first ``start`` characters, never right after an operator or before a unit. ``width`` None:
    one line, as it is.
    """
    if width is None or len(text) <= width:
        return [text]
    return pack(terms(text, start), width, indent)


def terms(text: str, start: int = 0) -> list[str]:
    """``text`` cut at the spaces where a line may break (see :func:`wrap`)."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    out, first, depth = [], 0, 0
    for (i0, i1), (j0, j1) in zip(words, words[1:]):
        word, after = text[i0:i1], text[j0:j1]
        # a shape [32, 112, 112] is one term
        depth += word.count("[") - word.count("]")
        if i1 <= start or depth > 0 or word in _GLUE_AFTER or after.rstrip("),;:.") in _UNITS:
            continue
        out.append(text[first:i1])
        first = j0
    out.append(text[first:])
    return out


def pack(parts: Sequence[str], width: int, indent: int) -> list[str]:
    """Terms joined by spaces into lines of at most ``width``, continued ``indent`` spaces in.

    A term longer than a whole line (a long dotted name) is cut after a dot, or where the line
    ends if it has none.
    """
    lines: list[str] = []
    line = parts[0]
    pad = " " * min(indent, width // 2)
    for term in parts[1:]:
        if len(line) + 1 + len(term) <= width:
            line += " " + term
            continue
        lines.append(line)
        line = pad + term
    lines.append(line)
    out: list[str] = []
    for line in lines:
        while len(line) > width:  # a single term wider than the line: cut it, after a dot if one fits
            cut = line.rfind(".", len(pad) + 1, width) + 1 or width
            out.append(line[:cut])
            line = pad + line[cut:]
        out.append(line)
    return out


def _heading(ex: Explanation, width: int | None) -> list[str]:
    """``name (title) ← input [shape], ...``; a name, and an input with its shape, are one term each."""
    text = f"{ex.name} ({ex.title})" + (f" ← {', '.join(ex.inputs)}" if ex.inputs else "")
    if width is None or len(text) <= width:
        return [text]
    sources = [f"{s}," for s in ex.inputs[:-1]] + list(ex.inputs[-1:])
    if sources:
        sources[0] = "← " + sources[0]
    return pack([ex.name, *terms(f"({ex.title})"), *sources], width, _HEADING_AT)


def render_text(explanations: Sequence[Explanation], *, width: int | None = None) -> str:
    """Plain text: a heading per layer or block, then one figure per line, fitted to ``width`` (None: no limit)."""
    out: list[str] = []
    # layers of a repeated block share their figures' lines (see explain): each is written once
    memo: dict[int, list[str]] = {}
    for ex in explanations:
        out.extend(_heading(ex, width))
        for line in ex.lines:
            text = memo.get(id(line))
            if text is None:
                text = memo[id(line)] = _line_text(line, width)
            out.extend(text)
        out.append("")
    # every piece is made printable, so a newline in a name cannot start a line of its own
    return "\n".join(map(printable, out))


def _eq_tex(eq: Eq, seen: set[str]) -> str:
    return f"${_chain(eq, seen, tex=True)}$" + (f" {eq.note}" if eq.note else "")


def _source_md(source: str) -> str:
    """``name [3, 32, 32]`` → the name as code, then its shape (a name may hold spaces and brackets)."""
    name, _, shape = source.rpartition(" [")
    return f"{markdown_code(name)} [{shape}" if name else markdown(source)


def render_markdown(explanations: Sequence[Explanation]) -> str:
    """Markdown: a heading per layer or block, a bullet per figure with ``$…$`` LaTeX math."""
    out: list[str] = []
    for ex in explanations:
        out.append(f"#### {markdown_code(ex.name)} — {markdown(ex.title)}")
        out.append("")
        if ex.inputs:
            out.append("Input: " + ", ".join(_source_md(s) for s in ex.inputs))
            out.append("")
        for line in ex.lines:
            seen: set[str] = set()
            body = ", ".join(_eq_tex(e, seen) for e in line.eqs)
            note = markdown(line.note)
            text = " ".join(x for x in (body, note) if x)
            out.append(f"- **{line.figure}**: {text}" if line.figure else f"- {text}")
        out.append("")
    return "\n".join(out)
