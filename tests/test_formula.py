"""Terms evaluate exactly and render as the formula, the numbers substituted and LaTeX."""

from __future__ import annotations

from fractions import Fraction

import pytest

from cnncalc.formula import Ceil, Div, Floor, Max, Note, Num, Sym, elements, format_value, tex_symbol, total


def conv_params():
    # (k_h·k_w·C_in/g + 1)·C_out for a 3x3 conv from 3 to 16 channels
    return (Sym("k_h", 3) * Sym("k_w", 3) * Sym("C_in", 3) / Sym("g", 1) + 1) * Sym("C_out", 16)


@pytest.mark.parametrize(
    "term, value, formula, numbers",
    [
        pytest.param(
            conv_params(), (3 * 3 * 3 + 1) * 16, "(k_h·k_w·C_in/g + 1)·C_out", "(3·3·3/1 + 1)·16", id="conv params"
        ),
        pytest.param(
            Floor((Sym("H_in", 32) + 2 * Sym("p", 1) - Sym("d", 1) * (Sym("k", 3) - 1) - 1) / Sym("s", 2)) + 1,
            (32 + 2 - 2 - 1) // 2 + 1,
            "⌊(H_in + 2·p − d·(k−1) − 1)/s⌋ + 1",
            "⌊(32 + 2·1 − 1·(3−1) − 1)/2⌋ + 1",
            id="conv output size s2",
        ),
        pytest.param(
            Sym("a", 10) - (Sym("b", 3) + Sym("c", 2)),
            10 - (3 + 2),
            "a − (b+c)",
            "10 − (3+2)",
            id="subtracted sum keeps its parentheses",
        ),
        pytest.param(
            Sym("a", 10) + (Sym("b", 3) - Sym("c", 2)), 10 + 3 - 2, "a + b − c", "10 + 3 − 2", id="added sum flattens"
        ),
        pytest.param(
            2 * Sym("MACs", 442368) + Note(elements((16, 32, 32), "out"), "bias"),
            2 * 442368 + 16 * 32 * 32,
            "2·MACs + C_out·H_out·W_out (bias)",
            "2·442,368 + 16·32·32 (bias)",
            id="flops with bias note",
        ),
        pytest.param(Ceil(Div(Sym("n", 7), Sym("s", 2))), 4, "⌈n/s⌉", "⌈7/2⌉", id="ceil"),
        pytest.param(Max([Sym("r_1", 3), Sym("r_2", 7)]), 7, "max(r_1, r_2)", "max(3, 7)", id="max"),
        pytest.param(total([1, 2, 3]), 6, "1 + 2 + 3", "1 + 2 + 3", id="total of numbers"),
    ],
)
def test_term_value_and_text(term, value, formula, numbers):
    assert term.value == value
    assert term.text(numbers=False) == formula
    assert term.text() == numbers


def test_division_is_exact():
    assert Div(Num(3), Num(4)).value == Fraction(3, 4)
    assert isinstance(Div(Num(8), Num(4)).value, int)
    assert format_value(Fraction(73, 576)) == "73/576"
    with pytest.raises(ValueError, match="not a whole number"):
        int(Div(Num(3), Num(4)))


def test_latex():
    assert conv_params().tex() == r"\left(\frac{3 \cdot 3 \cdot 3}{1} + 1\right) \cdot 16"
    assert conv_params().tex(numbers=False) == (
        r"\left(\frac{k_{h} \cdot k_{w} \cdot C_{\mathrm{in}}}{g} + 1\right) \cdot C_{\mathrm{out}}"
    )
    assert Num(442368).tex() == "442{,}368"
    assert tex_symbol("MACs") == r"\mathrm{MACs}"


def test_numbers_must_be_exact():
    with pytest.raises(TypeError):
        Sym("x", 1) * 0.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        Sym("x", 1) + True  # type: ignore[operator]
