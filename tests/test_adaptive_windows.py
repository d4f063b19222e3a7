"""Adaptive pooling's window sums and longest window in closed form equal the definition.

The closed forms keep a layer pooling to 10^12 positions as cheap as one pooling to 7; the
definition (one window per output position) is PyTorch's: window i is
``[floor(i·n/o), ceil((i+1)·n/o))``.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.layers.pool import adaptive_window_max, adaptive_window_sum, adaptive_windows


@pytest.mark.parametrize("n", range(1, 40))
@pytest.mark.parametrize("o", range(1, 40))
def test_closed_forms_equal_the_definition(n: int, o: int) -> None:
    windows = adaptive_windows(n, o)
    assert adaptive_window_sum(n, o) == sum(windows)
    assert adaptive_window_max(n, o) == max(windows)


@given(st.integers(1, 5000), st.integers(1, 5000))
def test_closed_forms_equal_the_definition_at_random(n: int, o: int) -> None:
    windows = adaptive_windows(n, o)
    assert (adaptive_window_sum(n, o), adaptive_window_max(n, o)) == (sum(windows), max(windows))


def test_pytorch_windows_for_a_known_case() -> None:
    """8 → 3 positions: torch's windows are [0, 3), [2, 6), [5, 8) (lengths 3, 4, 3)."""
    assert adaptive_windows(8, 3) == [3, 4, 3]
    assert (adaptive_window_sum(8, 3), adaptive_window_max(8, 3)) == (10, 4)


def test_a_huge_output_size_costs_no_more_than_a_small_one() -> None:
    from cnncalc import analyse

    start = time.process_time()
    report = analyse({"input": [1, 8, 8], "layers": [{"adaptiveavgpool2d": {"output_size": [10**12, 1]}}]})
    assert time.process_time() - start < 5  # the definition would loop 10^12 times
    # Σ windows along H: 8 + 10^12 − gcd(8, 10^12) = 10^12; along W the one window of 8
    assert report.totals.flops == (8 + 10**12 - 8) * 8
