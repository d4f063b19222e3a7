"""cnncalc.text against outside definitions: Unicode's tables, OWASP's list, a Markdown renderer, an XML parser.

The expectations are built here from those sources (``acts_on_a_terminal`` from Unicode's general
category and bidirectional class, the formula starts from OWASP's "CSV Injection" page, what a
name looks like from markdown-it's GitHub-flavoured rendering), never from the module's own sets.
"""

from __future__ import annotations

import csv
import io
import sys
import unicodedata
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from cnncalc.text import csv_cell, markdown, markdown_code, printable, xml_text

#: The bidirectional controls: embeddings, overrides and isolates (Unicode's Bidi_Class) and the
#: three implicit marks (LRM, RLM, ALM), which a viewer acts on without showing.
_BIDI = {"LRE", "RLE", "PDF", "LRO", "RLO", "LRI", "RLI", "FSI", "PDI"}
_MARKS = {"\u200e", "\u200f", "\u061c"}


def acts_on_a_terminal(c: str) -> bool:
    """A control character (general category Cc), a line or paragraph separator (Zl, Zp), or a
    bidirectional control."""
    return (unicodedata.category(c) in ("Cc", "Zl", "Zp") or unicodedata.bidirectional(c) in _BIDI
            or c in _MARKS)


def shown(text: str) -> str:
    """``text`` with each such character as its Python escape (``\\x1b``, ``\\u202e``), the rest as it is."""
    return "".join((f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") if acts_on_a_terminal(c) else c
                   for c in text)


#: OWASP, "CSV Injection": cells starting with these are read as formulas.
OWASP_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: Every code point but the surrogates, which no str from a UTF-8 file can hold.
EVERY_CHARACTER = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)

#: Text of every kind, with the characters these helpers are about drawn often.
texts = st.text(st.one_of(st.characters(), st.sampled_from(
    list("\x1b\x07\x00\t\r\n\x7f\x85\u202e\u2066\u200f\u061c\ufffe =+-@|`*_[]()<>&~$#!\\: \u00a0\u3000"))))


# ---------------------------------------------------------------------------------------------
# printable


def test_printable_escapes_exactly_what_a_terminal_acts_on() -> None:
    """Over every code point: each control and bidi control as its escape, everything else untouched."""
    assert printable(EVERY_CHARACTER) == shown(EVERY_CHARACTER)


@given(texts)
def test_printable_leaves_nothing_to_act_on(text: str) -> None:
    out = printable(text)
    assert not any(acts_on_a_terminal(c) for c in out)
    assert out == shown(text)


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Cf"))))
def test_printable_is_the_identity_on_ordinary_text(text: str) -> None:
    assert printable(text) == text


@pytest.mark.parametrize("text,expected", [
    pytest.param("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m", id="ANSI colour"),
    pytest.param("ding\x07", "ding\\x07", id="BEL"),
    pytest.param("abc\u202edef", "abc\\u202edef", id="right-to-left override"),
    pytest.param("a\nb\r", "a\\x0ab\\x0d", id="line breaks"),
    pytest.param("\x9b31m", "\\x9b31m", id="C1 CSI"),
    pytest.param("\U0001f9e0 ünï", "\U0001f9e0 ünï", id="emoji and accents untouched"),
])
def test_printable_examples(text: str, expected: str) -> None:
    assert printable(text) == expected


# ---------------------------------------------------------------------------------------------
# csv_cell


@given(texts)
def test_csv_cell_never_starts_a_formula_and_keeps_the_text(text: str) -> None:
    cell = csv_cell(text)
    assert not cell.startswith(OWASP_FORMULA_STARTS)
    if text.startswith(OWASP_FORMULA_STARTS):
        assert cell == "'" + text  # OWASP: a single quote before it, the rest as written
    else:
        assert cell == text


@given(st.lists(texts, min_size=1, max_size=4))
def test_csv_cells_survive_a_csv_round_trip(cells: list[str]) -> None:
    buf = io.StringIO(newline="")
    csv.writer(buf).writerow([csv_cell(c) for c in cells])
    assert next(csv.reader(io.StringIO(buf.getvalue(), newline=""))) == [csv_cell(c) for c in cells]


# ---------------------------------------------------------------------------------------------
# markdown, markdown_code: rendered by a GitHub-flavoured renderer

_MD = MarkdownIt("gfm-like", {"linkify": False}).disable("linkify")


class _Html(HTMLParser):
    """The tags of a rendered fragment and the text of each element of interest."""

    def __init__(self, of: tuple[str, ...]) -> None:
        super().__init__(convert_charrefs=True)
        self.of, self.tags, self.texts, self._open = of, [], [], []  # type: ignore[var-annotated]

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)
        if tag in self.of:
            self._open.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.of:
            self.texts.append(self._open.pop())

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1] += data


def rendered(source: str, *of: str) -> _Html:
    page = _Html(of)
    page.feed(_MD.render(source))
    return page


#: Each construct GitHub-flavoured Markdown would make of a name, drawn every run.
MARKDOWN_CONSTRUCTS = ["a #", "x ##", "*em*", "_em_", "**b**", "~~del~~", "`code`", "``a`b``", "[a](http://e.x)",
                       "![i](x.png)", "[a][b]", "<b>bold</b>", "<http://e.x>", "&amp; &#65;", "a|b", "back\\",
                       "\\*", " lead", "trail ", "\u00a0nbsp\u3000", "$x^2$", "[x]: http://e.x"]


def markdown_examples(test: Any) -> Any:
    for text in MARKDOWN_CONSTRUCTS:
        test = example(text)(test)
    return test


@given(texts)
@markdown_examples
def test_markdown_heading_shows_the_text(text: str) -> None:
    page = rendered(f"### {markdown(text)}\n", "h3")
    assert page.tags == ["h3"]  # no emphasis, link, image, code, HTML or strikethrough
    assert page.texts == [shown(text)]


@given(texts, texts)
@example("a|b", "\\|")
@example("`a|b`", "[a](b)")
@example(" x ", "*y*")
def test_markdown_table_cells_show_the_text(a: str, b: str) -> None:
    page = rendered(f"| x | y |\n|---|---|\n| {markdown(a)} | {markdown(b)} |\n", "td")
    assert page.tags.count("td") == 2  # a | in the text makes no new cell
    assert set(page.tags) == {"table", "thead", "tr", "th", "tbody", "td"}
    assert page.texts == [shown(a), shown(b)]


@given(texts)
@markdown_examples
def test_markdown_list_item_shows_the_text(text: str) -> None:
    page = rendered(f"- **label**: {markdown(text)} (more)\n", "li")
    assert page.tags == ["ul", "li", "strong"]
    assert page.texts == [f"label: {shown(text)} (more)"]


@given(texts)
@markdown_examples
def test_markdown_code_span_holds_the_text(text: str) -> None:
    page = rendered(f"#### {markdown_code(text)} — title\n", "code")
    if shown(text) == "":
        return  # no span holds nothing
    assert page.tags == ["h4", "code"]
    assert page.texts == [shown(text)]


@pytest.mark.parametrize("text", [
    pytest.param("[64, 224, 224]", id="shape"),
    pytest.param("layer1.0.conv1", id="dotted name"),
    pytest.param("VGG-16 (torchvision)", id="title"),
])
def test_markdown_leaves_ordinary_text_readable(text: str) -> None:
    """What cnncalc writes itself (shapes, dotted names, titles) needs no escape and gets none."""
    assert markdown(text) == text


# ---------------------------------------------------------------------------------------------
# xml_text


@given(texts)
def test_xml_text_makes_a_document_an_xml_parser_reads_back(text: str) -> None:
    node = ET.Element("testsuite", name=xml_text(text))
    node.text = xml_text(text)
    back = ET.fromstring(ET.tostring(node, encoding="unicode"))
    assert back.get("name") == (back.text or "") == xml_text(text)
    assert not any(acts_on_a_terminal(c) for c in back.text or "")


def test_xml_text_over_every_character() -> None:
    """Every code point, lone surrogates too, in a document that parses."""
    every = EVERY_CHARACTER + "".join(map(chr, range(0xD800, 0xE000)))
    node = ET.Element("a", b=xml_text(every))
    text = ET.tostring(node, encoding="unicode")
    assert ET.fromstring(text.encode("utf-8")).get("b") == xml_text(every)
