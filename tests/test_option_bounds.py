"""Every numeric option of every command refuses huge, infinite, NaN and malformed values: exit 2, naming the option.

The options are found by walking the click commands, so a new numeric option is tested as
soon as it exists; an option that takes a name or a path must be listed in NOT_NUMBERS.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import click
import pytest
from conftest import COMMAND_LINES, run
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import spec, units
from cnncalc.cli import cli
from cnncalc.units import MAX_VALUE

#: Options whose value is a name or a path, not a number.
NOT_NUMBERS = {"--output", "--html", "--budgets", "--layer", "--fail-on", "--kwargs"}

#: A valid command line for each command, to which one bad option value is added.
BASE = {**COMMAND_LINES, "import": ["import", "torch.nn:Identity", "--input", "3x8x8"]}

#: Values no numeric option may take: beyond 2^63 − 1, not finite, not a number, an exponent
#: that would take hours to expand, more digits than int() reads, negative.
BAD = {
    "1e400": "1e400",
    "2^63": str(2**63),
    "10^25 with a unit": "1e25K",
    "huge exponent": "1e99999999",
    "tiny exponent": "1e-99999999",
    "5000 digits": "9" * 5000,
    "inf": "inf",
    "-inf": "-inf",
    "nan": "nan",
    "NaN%": "NaN%",
    "Infinity": "Infinity",
    "negative": "-1",
}


def numeric_options() -> Iterator[tuple[str, str]]:
    """(command, option) for every option that takes a number (or numbers, or a shape)."""
    assert isinstance(cli, click.Group)
    for name, command in sorted(cli.commands.items()):
        for p in command.params:
            if not isinstance(p, click.Option) or p.is_flag or isinstance(p.type, click.Choice):
                continue
            long = max(p.opts, key=len)
            if long not in NOT_NUMBERS:
                yield name, long


OPTIONS = list(numeric_options())


def test_every_command_with_a_numeric_option_has_a_base_line() -> None:
    assert {c for c, _ in OPTIONS} <= set(BASE)
    # the walk finds what the README's synopsis lists
    assert {("fit", "--memory"), ("diff", "--fail-above"), ("check", "--max-params"), ("check", "--min-rf"),
            ("report", "--batch"), ("report", "--input"), ("sweep", "--batch"), ("report", "--top")} <= set(OPTIONS)


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fail a test that runs longer than 20 s (a huge exponent expanded digit by digit would)."""
    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError("took more than 20 s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 20)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _with(command: str, option: str, value: str) -> list[str]:
    args = list(BASE[command])
    if option in args:  # replace the base line's own value
        args[args.index(option) + 1] = value
        return args
    return [*args, option, value]


@pytest.mark.parametrize("value", list(BAD.values()), ids=list(BAD))
@pytest.mark.parametrize(("command", "option"), OPTIONS, ids=[f"{c} {o}" for c, o in OPTIONS])
def test_bad_number_is_refused_naming_the_option(command: str, option: str, value: str, deadline: None) -> None:
    res = run(*_with(command, option, value))
    assert res.exit_code == 2, res.output
    assert option in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert res.stdout == ""


#: Options that take one quantity (a count, a size, a percentage), with the unit-less text of 2^63 − 1.
QUANTITIES = [(c, o) for c, o in OPTIONS if o.startswith(("--max-", "--min-")) or o in ("--memory", "--fail-above")]
#: Options that take one positive integer through click.
INTEGERS = [(c, o) for c, o in OPTIONS if o in ("--batch", "--depth", "--top") and c != "sweep"]


@pytest.mark.parametrize(("command", "option"), QUANTITIES + INTEGERS,
                         ids=[f"{c} {o}" for c, o in QUANTITIES + INTEGERS])
def test_the_bound_is_exactly_2_63_minus_1(command: str, option: str) -> None:
    # the largest accepted value reaches the command; one more is refused while parsing
    over = run(*_with(command, option, str(MAX_VALUE + 1)))
    assert over.exit_code == 2 and option in over.stderr, over.stderr
    at = run(*_with(command, option, str(MAX_VALUE)))
    assert at.exit_code in (0, 1), at.stderr  # 1: a budget of 2^63 − 1 as a minimum fails
    assert "Traceback" not in at.stderr


@pytest.mark.parametrize("text", ["3x1e400", f"1x{2**63}", "1x" + "9" * 5000, "3x٣x3", "3xinfx3", "3xnanx3"])
@pytest.mark.parametrize("command", ["report", "explain", "export", "fit", "sweep"])
def test_shapes_out_of_range(command: str, text: str) -> None:
    res = run(*_with(command, "--input", text))
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("error: --input: "), res.stderr


@pytest.mark.parametrize("text", [str(2**63), f"{{1..{2**63}..{2**63 - 1}}}", "{1..1" + "0" * 30 + "}", "1e400"])
def test_sweep_batch_sizes_out_of_range(text: str) -> None:
    res = run("sweep", "lenet5", "--batch", text)
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("error: --batch: "), res.stderr


# ---------------------------------------------------------------------------------------------
# the parser under the options, and the same bound in files


@settings(max_examples=300, deadline=2000)
@given(mantissa=st.sampled_from(["0", "1", "9.5", "123_456", "0.000001"]), exponent=st.integers(-10**9, 10**9),
       unit=st.sampled_from(["", "K", "G", "T", "KiB", "TiB", "MB"]), kind=st.sampled_from(["count", "bytes"]))
def test_any_exponent_is_read_at_once_and_bounded(mantissa: str, exponent: int, unit: str, kind: units.Kind) -> None:
    # 10^exponent is never expanded beyond what the bound needs: a huge exponent costs nothing
    text = f"{mantissa}e{exponent}{unit}"
    try:
        q = units.parse(text, kind)
    except ValueError as e:
        assert "out of range" in str(e) or "not a whole" in str(e) or "unit" in str(e), str(e)
        return
    assert 0 <= q.value <= MAX_VALUE
    assert Fraction(Decimal(f"{mantissa.replace('_', '')}e{exponent}")) * units.UNITS[kind][unit] == q.value


@given(value=st.integers(0, 2 * MAX_VALUE))
def test_integers_are_bounded_like_strings(value: int) -> None:
    for given_as in (value, str(value)):
        if value <= MAX_VALUE:
            assert units.parse(given_as, "count").value == value
        else:
            with pytest.raises(ValueError, match="out of range"):
                units.parse(given_as, "count")


@pytest.mark.parametrize("value", ["'1e400'", "'1e99999999'", str(2**63), "'inf'", ".inf", ".nan"])
def test_budgets_in_a_network_file_are_bounded_too(tmp_path: Path, value: str) -> None:
    text = spec.bundled()["lenet5"].read_text() + f"budgets:\n  max_params: {value}\n"
    path = tmp_path / "net.yaml"
    path.write_text(text)
    line = text.count("\n")  # the max_params line, the last one
    res = run("check", str(path))
    assert res.exit_code == 2
    assert res.stderr.startswith(f"error: {path}:{line}:"), res.stderr
