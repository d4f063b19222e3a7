"""Rendering explanations as plain text (terminal) or Markdown with LaTeX math (notes)."""

from __future__ import annotations

from typing import Sequence

from .explain import Eq, Explanation, Line
from .formula import format_value, tex_value

#: Width of the figure column in text.
_LABEL = 9
#: Equations of one figure share a line while it stays this short.
_ONE_LINE = 110


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


def _line_text(line: Line) -> list[str]:
    seen: set[str] = set()
    eqs = [_eq_text(e, seen) for e in line.eqs]
    tail = [line.note] if line.note else []
    joined = ";  ".join(eqs)
    if len(joined) <= _ONE_LINE:
        body = [" ".join([joined, *tail]).strip()]
    else:
        body = eqs[:-1] + [" ".join([eqs[-1], *tail])]
    pad = " " * (_LABEL + 3)
    return [f"  {line.figure:<{_LABEL}} {body[0]}".rstrip()] + [f"{pad}{b}" for b in body[1:]]


def render_text(explanations: Sequence[Explanation]) -> str:
    """Plain text: a heading per layer or block, then one figure per line."""
    out: list[str] = []
    for ex in explanations:
        src = ", ".join(ex.inputs)
        out.append(f"{ex.name} ({ex.title})" + (f" ← {src}" if src else ""))
        for line in ex.lines:
            out.extend(_line_text(line))
        out.append("")
    return "\n".join(out)


def _eq_tex(eq: Eq, seen: set[str]) -> str:
    return f"${_chain(eq, seen, tex=True)}$" + (f" {eq.note}" if eq.note else "")


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def render_markdown(explanations: Sequence[Explanation]) -> str:
    """Markdown: a heading per layer or block, a bullet per figure with ``$…$`` LaTeX math."""
    out: list[str] = []
    for ex in explanations:
        out.append(f"#### `{ex.name}` — {_md(ex.title)}")
        out.append("")
        if ex.inputs:
            out.append("Input: " + ", ".join(f"`{s.split(' ', 1)[0]}` {s.split(' ', 1)[1]}" for s in ex.inputs))
            out.append("")
        for line in ex.lines:
            seen: set[str] = set()
            body = ", ".join(_eq_tex(e, seen) for e in line.eqs)
            note = _md(line.note)
            text = " ".join(x for x in (body, note) if x)
            out.append(f"- **{line.figure}**: {text}" if line.figure else f"- {text}")
        out.append("")
    return "\n".join(out)
