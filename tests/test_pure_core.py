"""The core does no styling and no command-line work: importing it loads neither click nor rich."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_core_imports_neither_click_nor_rich() -> None:
    code = (
        "import sys; import cnncalc.spec, cnncalc.graph, cnncalc.analysis, cnncalc.layers, cnncalc.report, "
        "cnncalc.memory, cnncalc.formula, cnncalc.explain, cnncalc.hotspots, cnncalc.budgets, cnncalc.diff, "
        "cnncalc.conventions, cnncalc.export, cnncalc.units, cnncalc.text, cnncalc.errors; "
        "cnncalc.analysis.analyse(cnncalc.spec.load('lenet5')); "
        "print(sorted(m for m in ('click', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
