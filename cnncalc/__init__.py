"""cnncalc: shapes, parameters, MACs/FLOPs, receptive fields and memory of CNNs from a description.

The Python API::

    import cnncalc
    report = cnncalc.analyse("resnet50", batch=32, dtype="fp16")   # or a dict, YAML text, a Path
    report.totals.macs, report.layers[0].output_shape, report.to_dict()
    print(report)                                                  # the terminal's table

``cnncalc.from_torch(module, (3, 224, 224))`` returns the description of a PyTorch model as YAML
text (see :mod:`cnncalc.importer`; needs torch). ``analyse`` and ``load`` take a mapping, YAML or
JSON text (a string that has a line break, starts with ``{`` or is blank), a path or a bundled
network name (any other string), and raise :class:`CnnCalcError` with located problems on bad
input; see :mod:`cnncalc.api`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from .api import analyse, load
    from .errors import CnnCalcError
    from .importer import from_torch
    from .report import Report

__all__ = ["CnnCalcError", "Report", "__version__", "analyse", "from_torch", "load"]


def __getattr__(name: str) -> Any:
    # imported lazily so that `cnncalc --help` does not pay for Pydantic
    if name in ("load", "analyse"):
        from . import api

        return getattr(api, name)
    if name == "CnnCalcError":
        from .errors import CnnCalcError

        return CnnCalcError
    if name == "from_torch":  # imports torch when called, never before
        from .importer import from_torch

        return from_torch
    if name == "Report":
        from .report import Report

        return Report
    raise AttributeError(f"module 'cnncalc' has no attribute '{name}'")
