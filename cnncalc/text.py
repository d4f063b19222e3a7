"""User-supplied text made safe to show: pure helpers shared by every output format.

cnncalc shows names, types and messages exactly as the user wrote them. Two kinds of character
cannot be shown as they are without changing what a reader sees:

* control characters (C0, DEL, C1), the Unicode bidirectional controls and the line and
  paragraph separators, which a terminal or a text viewer acts on instead of showing (an ESC
  sequence recolours or moves the cursor, BEL rings, U+202E reverses the text after it, U+2028
  starts a new line). :func:`printable` writes them as Python escapes (``\\x1b``, ``\\u202e``),
  so they are visible and the rest of the text is untouched;
* a CSV cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, which a
  spreadsheet runs as a formula (CSV injection). :func:`csv_cell` prefixes such a cell with a
  single quote, as OWASP recommends, so the spreadsheet shows it as text.
"""

from __future__ import annotations

import re

#: C0 controls, DEL, C1 controls, the bidirectional embeddings, overrides and isolates, and the
#: line and paragraph separators (which start a new line in many viewers, so a name would seem to
#: end early).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character written as a visible escape (``\\x1b``, ``\\u202e``)."""
    return _CONTROL.sub(_escape, text) if _CONTROL.search(text) else text


#: What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """``text`` as a CSV cell that a spreadsheet shows as text: a formula start gets a ``'`` before it."""
    return "'" + text if text.startswith(FORMULA_START) else text


#: What GitHub-flavoured Markdown acts on inside a line: the backslash itself, code spans, emphasis,
#: raw HTML and autolinks, entity references, table cells, strikethrough, math (``$``) and a
#: heading's closing ``#``; and a ``]`` that a ``(`` or ``[`` follows, which makes a link or an
#: image of what comes before it (a lone ``[x]`` is text: a reference needs a definition line,
#: and cnncalc writes none). Every ASCII punctuation character may be backslash-escaped
#: (CommonMark 2.4), so escaping these shows them as written. What only matters at the start of
#: a line (``-``, ``+``, ``>``, ``1.``) needs nothing: user text never starts one.
_MARKDOWN = re.compile(r"[\\`*_<&|~$#]|\](?=[(\[])")


#: Spaces at either end, which a heading or a table cell would trim.
_ENDS = re.compile(r"^\s+|\s+$")


def _entities(match: re.Match[str]) -> str:
    return "".join(f"&#{ord(c)};" for c in match.group())


def markdown(text: str) -> str:
    """``text`` for a Markdown line or table cell: :func:`printable`, then its Markdown syntax
    backslash-escaped and spaces at either end written as character references."""
    text = _MARKDOWN.sub(lambda m: "\\" + m.group(), printable(text))
    return _ENDS.sub(_entities, text) if text[:1].isspace() or text[-1:].isspace() else text


def markdown_code(text: str) -> str:
    """``text`` as a Markdown code span: :func:`printable`, fenced by more backticks than it holds.

    Not for a table cell: a ``|`` would end the cell even inside the span.
    """
    text = printable(text)
    run = max((len(r) for r in re.findall("`+", text)), default=0)
    fence = "`" * (run + 1)
    # a space inside each fence when the text begins or ends with a backtick (CommonMark 6.1
    # strips one space from each side then)
    pad = " " if text[:1] == "`" or text[-1:] == "`" or (text[:1] == " " == text[-1:] and text.strip()) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


#: What XML 1.0 cannot hold even as a character reference, once :func:`printable` has escaped the
#: controls: the non-characters U+FFFE and U+FFFF and lone surrogates.
_NOT_XML = re.compile("[\ufffe\uffff\ud800-\udfff]")


def xml_text(text: str) -> str:
    """``text`` for an XML 1.0 attribute or element: :func:`printable`, and what XML cannot hold escaped too."""
    text = printable(text)
    return _NOT_XML.sub(_escape, text) if _NOT_XML.search(text) else text
