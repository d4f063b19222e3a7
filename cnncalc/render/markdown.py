"""Markdown pieces shared by the report, diff and sweep renderers: escaped cells, tables, bullets."""

from __future__ import annotations

from collections.abc import Sequence

from ..text import markdown


def escape(text: str) -> str:
    """User text in a Markdown line or table cell, shown as written (:func:`cnncalc.text.markdown`)."""
    return markdown(text)


def summary(lines: list[tuple[str, str]]) -> list[str]:
    """``- **label**: text`` bullets; the texts quote layer names, so they are escaped."""
    return [f"- **{k}**: {escape(v)}" for k, v in lines]


def table(head: Sequence[str], rows: Sequence[Sequence[str]], right: set[str]) -> list[str]:
    """A Markdown table: the headings as written, the cells escaped; the columns in ``right`` right-aligned."""
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if h in right else "---" for h in head) + "|"]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return lines
