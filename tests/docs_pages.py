"""The pages of the documentation site (docs/) and the README, as the tests read them.

A page is read with its generated tables expanded by the site's own hook (docs/hooks.py), so a
test sees what a reader of the built site sees.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"


@cache
def hooks() -> ModuleType:
    """docs/hooks.py, the MkDocs hook that generates the tables."""
    spec = importlib.util.spec_from_file_location("cnncalc_docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pages() -> list[Path]:
    """Every Markdown page of the site."""
    return sorted(DOCS.glob("*.md"))


def source(name: str) -> str:
    """A page as written, markers and all (``"README.md"`` is the README)."""
    path = README if name == "README.md" else DOCS / name
    return path.read_text(encoding="utf-8")


@cache
def page(name: str) -> str:
    """A page with its generated tables expanded, as the built site shows it."""
    return hooks().expand(source(name))


def section(text: str, heading: str) -> str:
    """From ``heading`` (a whole line) to the next heading of the same or a higher level."""
    start = re.search(rf"^{re.escape(heading)}$", text, re.M)
    assert start, f"no heading {heading!r}"
    level = len(heading) - len(heading.lstrip("#"))
    end = re.compile(rf"^#{{1,{level}}} ", re.M).search(text, start.end())
    return text[start.start() : end.start() if end else len(text)]


def fences(text: str) -> list[tuple[str, str]]:
    """Every fenced code block, in order: (its language, or "" when it names none; its text).

    A fence may be indented (inside a list item); the indent is taken off the block's lines.
    """
    out = []
    opened: tuple[str, str, list[str]] | None = None  # indent, language, lines
    for line in text.splitlines():
        m = re.match(r"^( *)```(\S*)\s*$", line)
        if opened is None:
            if m:
                opened = (m.group(1), m.group(2), [])
        elif m and m.group(2) == "" and len(m.group(1)) <= len(opened[0]):
            out.append((opened[1], "".join(s.removeprefix(opened[0]) + "\n" for s in opened[2])))
            opened = None
        else:
            opened[2].append(line)
    assert opened is None, "a code block is not closed"
    return out


def blocks(text: str, lang: str) -> list[str]:
    """The fenced code blocks of one language, in order."""
    return [body for language, body in fences(text) if language == lang]


def table(text: str, first_column: str) -> list[list[str]]:
    """The rows of the Markdown table whose header starts with ``| first_column |``, as cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_column} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return rows
