"""One definition of each named choice (:mod:`cnncalc.constants`), light enough for ``--help`` to import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import get_args

import click

from cnncalc import constants, hotspots, limits, spec
from cnncalc.cli import cli
from cnncalc.conventions import CONVENTIONS
from cnncalc.schema import OUTPUTS

ROOT = Path(__file__).resolve().parent.parent


def test_constants_import_nothing_but_the_standard_library() -> None:
    code = ("import json, sys; import cnncalc.constants; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('cnncalc') or m in "
            "('pydantic', 'yaml', 'rich', 'click'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert json.loads(out.stdout) == ["cnncalc", "cnncalc.constants"]


def test_each_table_is_keyed_by_its_names() -> None:
    assert tuple(constants.DTYPE_BYTES) == constants.DTYPES == get_args(constants.Dtype)
    assert tuple(constants.OPTIMIZER_STATE) == constants.OPTIMIZERS
    assert ("none", *constants.TRAINING_OPTIMIZERS) == constants.OPTIMIZERS
    assert set(constants.TRAINING_DTYPES) == set(constants.DTYPES) - {"int8"}
    assert constants.DEFAULT_DTYPE in constants.DTYPES and constants.DEFAULT_OPTIMIZER in constants.TRAINING_OPTIMIZERS


def test_the_registries_define_exactly_the_named_choices() -> None:
    # the conventions and the hotspot metrics are defined by their rules; the names here must match
    assert tuple(CONVENTIONS) == constants.CONVENTIONS
    assert tuple(hotspots.METRICS) == constants.METRICS


def _choices(command: str, option: str) -> tuple[str, ...]:
    param = next(p for p in cli.commands[command].params if p.name == option)
    assert isinstance(param.type, click.Choice)
    return tuple(param.type.choices)


def test_the_command_line_offers_the_named_choices() -> None:
    for command in ("report", "fit", "sweep", "check"):
        assert _choices(command, "dtype") == constants.DTYPES
    for command in ("report", "fit", "sweep"):
        assert _choices(command, "optimizer") == constants.OPTIMIZERS
    assert _choices("check", "optimizer") == constants.TRAINING_OPTIMIZERS
    assert _choices("report", "convention") == constants.CONVENTIONS
    assert _choices("report", "sort") == _choices("report", "bars") == constants.METRICS


def test_the_formats_accept_the_named_choices() -> None:
    budgets = spec.Budgets.model_json_schema()["properties"]
    assert budgets["dtype"]["anyOf"][0]["enum"] == list(constants.DTYPES)
    assert budgets["optimizer"]["anyOf"][0]["enum"] == list(constants.TRAINING_OPTIMIZERS)
    assert set(budgets) == {*limits.LIMITS, "batch", "dtype", "optimizer"}
    fit = OUTPUTS["fit"].model_json_schema()["properties"]
    assert fit["optimizer"]["enum"] == list(constants.OPTIMIZERS)
