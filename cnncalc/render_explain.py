"""Rendering explanations as plain text (terminal) or Markdown with LaTeX math (notes).

Names and notes quote user text: the text form shows control characters escaped
(:func:`cnncalc.text.printable`), the Markdown form escapes Markdown as well
(:func:`cnncalc.text.markdown`, :func:`cnncalc.text.markdown_code`).
"""

from __future__ import annotations

from typing import Sequence

from .explain import Eq, Explanation, Line
from .formula import format_value, tex_value
from .text import markdown, markdown_code, printable

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
