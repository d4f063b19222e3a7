"""Exact parsing of human quantities: SI prefixes are powers of 10, IEC prefixes powers of 2."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc import units


@pytest.mark.parametrize(
    "text, kind, expected",
    [
        pytest.param("5M", "count", 5 * 10**6, id="5M"),
        pytest.param("600M", "count", 600 * 10**6, id="600M"),
        pytest.param("1.2G", "count", 12 * 10**8, id="1.2G exactly, no float rounding"),
        pytest.param("431.08K", "count", 431_080, id="431.08K"),
        pytest.param("1.5k", "count", 1_500, id="lower-case k"),
        pytest.param("2T", "count", 2 * 10**12, id="2T"),
        pytest.param("5_000_000", "count", 5_000_000, id="underscores"),
        pytest.param("5e6", "count", 5 * 10**6, id="exponent"),
        pytest.param(" 7 ", "count", 7, id="spaces"),
        pytest.param(431080, "count", 431_080, id="YAML integer"),
        pytest.param("20MiB", "bytes", 20 * 2**20, id="20MiB"),
        pytest.param("8GiB", "bytes", 8 * 2**30, id="8GiB"),
        pytest.param("0.5KiB", "bytes", 512, id="half a KiB"),
        pytest.param("1.5 TiB", "bytes", 3 * 2**39, id="1.5 TiB"),
        pytest.param("500MB", "bytes", 500 * 10**6, id="500MB"),
        pytest.param("500M", "bytes", 500 * 10**6, id="500M bytes"),
        pytest.param("1kB", "bytes", 1000, id="kB"),
        pytest.param("123B", "bytes", 123, id="plain bytes"),
        pytest.param("200", "pixels", 200, id="pixels"),
        pytest.param(0, "count", 0, id="zero"),
    ],
)
def test_parse(text: object, kind: units.Kind, expected: int) -> None:
    q = units.parse(text, kind)
    assert q.value == expected
    assert isinstance(q.value, int)


@pytest.mark.parametrize(
    "text, kind, message",
    [
        pytest.param("5X", "count", "unknown unit 'X'", id="unknown unit"),
        pytest.param("5MiB", "count", "'MiB' is a unit of memory", id="binary unit on a count"),
        pytest.param("5m", "count", "unknown unit 'm'", id="milli is not mega"),
        pytest.param("20mib", "bytes", "did you mean 'MiB'?", id="case of MiB"),
        pytest.param("1.5", "count", "is 1.5, not a whole count", id="fractional count"),
        pytest.param("0.3KiB", "bytes", "is 307.2, not a whole number of bytes", id="fractional bytes"),
        pytest.param("-5M", "count", "must not be negative", id="negative string"),
        pytest.param(-5, "count", "must not be negative", id="negative integer"),
        pytest.param("", "count", "is not a count", id="empty"),
        pytest.param("M", "count", "is not a count", id="unit without a number"),
        pytest.param("5 M B", "bytes", "is not a size", id="split unit"),
        pytest.param(True, "count", "the boolean true", id="boolean"),
        pytest.param(5.5, "count", "write it as a string with a unit", id="YAML float"),
        pytest.param("200px", "pixels", "plain number of input pixels", id="unit on pixels"),
    ],
)
def test_bad_quantities(text: object, kind: units.Kind, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        units.parse(text, kind)


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("5%", Fraction(5), id="5%"),
        pytest.param("0.5%", Fraction(1, 2), id="0.5%"),
        pytest.param("5", Fraction(5), id="no percent sign"),
    ],
)
def test_parse_percent(text: str, expected: Fraction) -> None:
    assert units.parse_percent(text) == expected


def test_bad_percent() -> None:
    with pytest.raises(ValueError, match="not a percentage"):
        units.parse_percent("five")


_texts = st.builds(
    lambda n, frac, unit: f"{n}{frac}{unit}",
    st.integers(0, 10**6),
    st.sampled_from(["", ".5", ".25", ".001"]),
    st.sampled_from(["", "K", "k", "M", "G", "T", "KB", "MB", "B", "KiB", "MiB", "GiB", "TiB", "X", "mb", "Ki"]),
)


@pytest.mark.parametrize("kind", ["count", "bytes", "pixels"])
@given(text=_texts)
def test_schema_pattern_agrees_with_parser(kind: units.Kind, text: str) -> None:
    """The JSON Schema pattern editors use accepts exactly the strings the parser reads (up to wholeness)."""
    matches = re.match(units.PATTERNS[kind], text) is not None
    try:
        units.parse(text, kind)
        parsed = True
    except ValueError as e:
        parsed = False
        if matches:
            assert "not a whole" in str(e)
    assert matches or not parsed


@pytest.mark.parametrize("text, expected", [
    pytest.param("16GiB", 16 * 2**30, id="GiB"),
    pytest.param("512 MiB", 512 * 2**20, id="MiB with a space"),
    pytest.param("1.5GiB", 3 * 2**29, id="decimal GiB"),
    pytest.param("0.5KiB", 512, id="decimal KiB"),
    pytest.param("16G", 16 * 10**9, id="G"),
    pytest.param("16GB", 16 * 10**9, id="GB"),
    pytest.param("500M", 500 * 10**6, id="M"),
    pytest.param("16kB", 16 * 10**3, id="kB"),
    pytest.param("2TiB", 2 * 2**40, id="TiB"),
    pytest.param("1000", 1000, id="bytes"),
])
def test_parse_size(text: str, expected: int) -> None:
    assert units.parse_size(text) == expected


@pytest.mark.parametrize("text, message", [
    pytest.param("16gib", "did you mean 'GiB'", id="units are case-sensitive"),
    pytest.param("0.3KiB", "307.2, not a whole number of bytes", id="not whole bytes"),
    pytest.param("0", "positive", id="zero"),
    pytest.param("lots", "not a size", id="words"),
])
def test_parse_size_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        units.parse_size(text)
