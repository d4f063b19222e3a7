"""MkDocs hook: the tables that live in cnncalc's code are generated from it when the site is built.

A page asks for a table with a marker on a line of its own, ``<!-- cnncalc: NAME -->``, where
NAME is a key of :data:`TABLES`. The marker is replaced by the table, computed from the code
(the layer registry and the layer modules' docstrings, the conventions, the exit codes, the
bundled networks), so the docs cannot drift from it. An unknown marker fails the build.

A hook rather than generated pages: the pages stay ordinary files in ``docs/`` with only their
tables generated, the tests expand them with the same :func:`expand`, and nothing beyond MkDocs
itself is needed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

#: ``<!-- cnncalc: NAME -->`` on a line of its own.
MARKER = re.compile(r"^<!-- cnncalc: ([\w-]+) -->$", re.M)


def _cell(text: str) -> str:
    """Text for a Markdown table cell: a ``|`` would end the cell."""
    return text.replace("|", "\\|")


def _table(head: list[str], rows: list[list[str]], align: str = "") -> str:
    """A Markdown table; ``align`` gives one character per column, ``r`` for right-aligned."""
    rule = ["---:" if align[i:i + 1] == "r" else "---" for i in range(len(head))]
    lines = [head, rule, *rows]
    return "\n".join("| " + " | ".join(_cell(c) if line is not rule else c for c in line) + " |"
                     for line in lines) + "\n"


# ---------------------------------------------------------------------------------------------
# reStructuredText of the docstrings, as Markdown

_ROLE = re.compile(r":(?:mod|class|func|data|meth|attr):`~?([^`]+)`")
_BORDER = re.compile(r"^=+(?: +=+)+ *$")


def _rst_table(lines: list[str]) -> list[str]:
    """A simple reStructuredText table (``====  ====`` borders) as a Markdown table."""
    border = lines[0]
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", border)]

    def cells(line: str) -> list[str]:
        # the last column runs to the end of the line, as in reStructuredText
        out = []
        for i, (start, _end) in enumerate(spans):
            stop = len(line) if i == len(spans) - 1 else spans[i + 1][0]
            out.append(line[start:stop].strip())
        return out

    body = [line for line in lines[1:] if line.strip()]
    borders = [i for i, line in enumerate(body) if _BORDER.match(line)]
    if len(borders) >= 2:  # a header between the first two borders
        head, rows = [cells(line) for line in body[: borders[0]]], body[borders[0] + 1 :]
        header = head[0]
    else:
        header, rows = [""] * len(spans), body
    rows = [line for line in rows if not _BORDER.match(line)]
    return _table(header, [cells(line) for line in rows]).splitlines()


def rst_to_markdown(text: str) -> str:
    """A docstring's text as Markdown: literals, roles and simple tables."""
    text = _ROLE.sub(r"``\1``", text)
    text = re.sub(r"``(.+?)``", r"`\1`", text, flags=re.S)
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if _BORDER.match(lines[i]):
            # a table is its borders and what lies between them, up to the last border before a blank line
            j = i + 1
            while j < len(lines) and lines[j].strip():
                j += 1
            # Markdown needs a blank line before a table; the blank line after it is the source's
            out.extend(([""] if out and out[-1].strip() else []) + _rst_table(lines[i:j]))
            i = j
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# the tables


def _families() -> dict[str, list[str]]:
    """Layer module → the types it registers, in registration order."""
    from cnncalc.layers import REGISTRY

    families: dict[str, list[str]] = {}
    for name, cls in REGISTRY.items():
        families.setdefault(cls.__module__, []).append(name)
    return families


def _aliases() -> dict[str, list[str]]:
    from cnncalc.layers import ALIASES

    out: dict[str, list[str]] = {}
    for alias, name in ALIASES.items():
        out.setdefault(name, []).append(alias)
    return out


def layer_types() -> str:
    """Every registered layer type: its arguments (optional ones in brackets), aliases and summary."""
    from cnncalc.layers import REGISTRY, Layer

    aliases = _aliases()
    common = set(Layer.model_fields)  # name, from, if, frozen: every layer takes them
    rows = []
    for name, cls in sorted(REGISTRY.items()):
        args = [k if f.is_required() else f"[{k}]" for k, f in cls.model_fields.items() if k not in common]
        doc = rst_to_markdown((cls.__doc__ or "").strip().splitlines()[0])
        rows.append([f"`{name}`", " ".join(f"`{a}`" for a in args), ", ".join(f"`{a}`" for a in aliases.get(name, [])),
                     doc])
    return _table(["type", "arguments", "aliases", "what it is"], rows)


def layer_rules() -> str:
    """One section per layer family: its types and the rules its module's docstring states."""
    import importlib

    aliases = _aliases()
    parts = []
    for module, names in _families().items():
        doc = (importlib.import_module(module).__doc__ or "").strip()
        title, _, body = doc.partition("\n")
        stem = module.rsplit(".", 1)[1]
        listed = ", ".join(f"`{n}`" + (f" ({', '.join(f'`{a}`' for a in aliases[n])})" if n in aliases else "")
                           for n in names)
        parts.append(f"### {stem}\n\n{rst_to_markdown(title)}\n\nTypes: {listed}. Source: `{module}`.\n\n"
                     f"{rst_to_markdown(body.strip())}\n")
    return "\n".join(parts)


def conventions() -> str:
    """Every counting convention, with ResNet-50's total as cnncalc counts it under each."""
    import cnncalc
    from cnncalc.conventions import CONVENTIONS

    rows = []
    for name, conv in CONVENTIONS.items():
        totals = cnncalc.analyse("resnet50", convention=name).totals
        total = totals.flops if conv.unit == "flops" else totals.macs
        rows.append([f"`{name}`", conv.tool, f"`{conv.mirrors}`", "FLOPs" if conv.unit == "flops" else "MACs",
                     f"{total:,}"])
    return _table(["convention", "tool", "mirrors", "counts", "ResNet-50 at 224"], rows, "    r")


def exit_codes() -> str:
    """The exit codes of the command line (``cnncalc.cli.EXIT_CODES``)."""
    from cnncalc.cli import EXIT_CODES

    return _table(["code", "meaning"], [[str(code), meaning] for code, meaning in sorted(EXIT_CODES.items())])


def _rf_text(field: dict[str, Any]) -> str:
    """The field of the last spatial map from the JSON report: ``427``, ``7x3``, ``whole input (local 851)``."""

    def sizes(axes: list[dict[str, Any]]) -> str:
        values = ["whole" if a["size"] is None else str(a["size"]) for a in axes]
        return values[0] if len(set(values)) == 1 else "x".join(values)

    text = "whole input" if field["whole_input"] else sizes(field["axes"])
    if field.get("local") and field["local"] != field["axes"]:
        text += f" (local {sizes(field['local'])})"
    return text


def networks() -> str:
    """The bundled networks, with the figures ``cnncalc report NAME`` gives."""
    import cnncalc
    from cnncalc import spec

    rows = []
    for name in sorted(spec.bundled(), key=lambda n: (n != "lenet5", n != "tiny_cnn", n)):
        data = cnncalc.analyse(name).to_dict()
        net, totals = data["network"], data["totals"]
        rows.append([f"`{name}`", net["name"], "x".join(map(str, net["input_shape"])), f"{totals['params']:,}",
                     f"{totals['macs']:,}", _rf_text(totals["receptive_field"])])
    return _table(["name", "network", "input", "params", "MACs", "RF of the last spatial map"], rows, "   rr")


def import_mapping() -> str:
    """The table of PyTorch modules and ops that ``cnncalc import`` maps, and to which layer types."""
    import importlib

    # cnncalc.importer is imported only when a page asks for its table (it is the import's own part)
    return str(importlib.import_module("cnncalc.importer").mapping_markdown())


#: Marker name → the function that writes its Markdown.
TABLES: dict[str, Callable[[], str]] = {
    "layer-types": layer_types,
    "layer-rules": layer_rules,
    "conventions": conventions,
    "exit-codes": exit_codes,
    "networks": networks,
    "import-mapping": import_mapping,
}


def expand(markdown: str) -> str:
    """``markdown`` with every ``<!-- cnncalc: NAME -->`` marker replaced by its table."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in TABLES:
            raise KeyError(f"unknown table marker '{name}' (known: {', '.join(TABLES)})")
        return TABLES[name]().rstrip("\n")

    return MARKER.sub(one, markdown)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """MkDocs event: expand the table markers of a page."""
    return expand(markdown)
