"""The check that rows add up to totals (``conftest.assert_totals_add_up``) can fail, and runs everywhere."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from conftest import assert_memory_adds_up, assert_totals_add_up

from cnncalc import analysis, budgets, spec, sweep
from cnncalc.report import Report


def _lenet() -> Report:
    return analysis.analyse(spec.load("lenet5"), batch=4)


def test_every_holder_of_analyse_calls_the_checked_one() -> None:
    # the autouse fixture wraps analyse wherever the core holds it
    for module in (analysis, budgets, sweep):
        assert module.analyse.__wrapped__ is analysis.analyse.__wrapped__


@pytest.mark.parametrize("figure", ["params", "buffers", "macs", "flops", "activation_bytes", "non_trainable_params"])
def test_a_total_that_is_not_the_sum_of_the_rows_fails(figure: str) -> None:
    r = _lenet()
    assert_totals_add_up(r)
    wrong = replace(r, totals=replace(r.totals, **{figure: getattr(r.totals, figure) + 1}))
    with pytest.raises(AssertionError):
        assert_totals_add_up(wrong)


@pytest.mark.parametrize(("field", "change"), [
    pytest.param("weights", {"weights": 1}, id="weights"),
    pytest.param("training_peak", {"training_peak": 1}, id="training peak"),
])
def test_memory_that_does_not_add_up_fails(field: str, change: dict[str, Any]) -> None:
    r = _lenet()
    assert r.memory is not None
    wrong = replace(r.memory, **{field: getattr(r.memory, field) + change[field]})
    with pytest.raises(AssertionError):
        assert_totals_add_up(replace(r, memory=wrong))


def test_a_layer_share_of_the_peak_that_is_lost_fails() -> None:
    m = _lenet().memory
    assert m is not None
    assert_memory_adds_up(m)
    first = replace(m.layers[0], peak_bytes=m.layers[0].peak_bytes - 1)
    with pytest.raises(AssertionError):
        assert_memory_adds_up(replace(m, layers=(first, *m.layers[1:])))
