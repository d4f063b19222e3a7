"""``cnncalc import`` on real models: torchvision's and timm's, each exact or refused, none wrong.

Each model of ``zoo_models`` is recorded in ``zoo_expected.EXPECTED``: exact (the harness's six
checks hold, :mod:`import_harness`) or refused (exit 2, one located line naming the module path
and the op, and the reason recorded). At least 95% of the CNNs must be exact; transformers and
attention hybrids exact where the format can say them, else refused.

By default one model of each family runs (``zoo_expected.REPRESENTATIVES``, about 40 seconds on two
cores); ``CNNCALC_ZOO=all`` runs every model recorded (about 7 minutes).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import import_harness as harness  # noqa: E402
import zoo_models  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from zoo_expected import ATTENTION, CNNS, EXPECTED, REPRESENTATIVES  # noqa: E402

from cnncalc.cli import cli  # noqa: E402
from cnncalc.importer import from_torch  # noqa: E402

pytestmark = pytest.mark.torch

ZOO = str(Path(zoo_models.__file__))
ALL = os.environ.get("CNNCALC_ZOO") == "all"
KEYS = [pytest.param(key, marks=pytest.mark.xfail(strict=True, reason=EXPECTED[key]))
        if EXPECTED[key].startswith("wrong: ") else key for key in (sorted(EXPECTED) if ALL else REPRESENTATIVES)]


def _models(prefix: str) -> dict[str, tuple[zoo_models.Factory, tuple[int, ...]]]:
    if prefix.startswith("tv"):
        pytest.importorskip("torchvision")
        return zoo_models.torchvision_models()
    pytest.importorskip("timm")
    return zoo_models.timm_models()


def test_the_bar_is_met() -> None:
    # issue 15: at least 95% of the CNNs exact, the rest refused with a clear message (attention
    # hybrids and transformers: exact where the format can say them, else refused)
    exact = [k for k in CNNS if EXPECTED[k] == "exact"]
    assert len(exact) >= 0.95 * len(CNNS), f"{len(exact)} of {len(CNNS)} CNNs exact"
    assert set(REPRESENTATIVES) <= set(EXPECTED)
    assert set(EXPECTED) >= ATTENTION


@pytest.mark.parametrize("source", ["tv", "timm"])
def test_every_model_is_recorded(source: str) -> None:
    """A model added to the zoo (or by a new torchvision) needs its outcome recorded."""
    keys = set(_models(source))
    assert keys == {k for k in EXPECTED if k.split(":")[0].startswith(source)}


@pytest.mark.parametrize("key", KEYS)
def test_model(key: str, tmp_path: Path) -> None:
    make, shape = _models(key)[key]
    model = harness.on_meta(make)
    expected = EXPECTED[key]
    if expected == "exact" or expected.startswith("wrong: "):
        harness.assert_exact(model, shape, from_torch(model, shape), tmp_path)
        return
    # refused through the command line: exit 2, one line naming the module path (a call's row,
    # `relu_1`, is the module `relu`; a functional op's, `layer1.0.add`, its caller) and the op, or,
    # for code of the top-level module (ViT's class token), the source line
    result = CliRunner().invoke(cli, ["import", f"{ZOO}:build", "--input", "x".join(map(str, shape)),
                                      "--kwargs", json.dumps({"key": key})])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    line = result.stderr
    assert line.startswith("error: ") and line.count("\n") == 1, line
    assert expected in line, line
    where = re.search(r"layer '([^']*)' \((aten\.[^)]*)\)", line)
    if where is None:
        assert re.match(r"error: [^:]*\.py:\d+: ", line), f"names no module path and op, nor a source line: {line}"
        return
    path = "" if where.group(1) == "<top>" else re.sub(r"_\d+$", "", where.group(1))
    modules = dict(model.named_modules())
    assert path in modules or path.rpartition(".")[0] in modules, line
