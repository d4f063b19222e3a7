"""cnncalc: shapes, parameters, MACs/FLOPs, receptive fields and memory of CNNs from a description.

The Python API::

    import cnncalc
    net = cnncalc.load("resnet50")            # a path, or a bundled network name
    report = cnncalc.analyse(net, batch=32, dtype="fp16")
    report.totals.macs, report.layers[0].output_shape, report.to_dict()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from .analysis import analyse
    from .spec import load

__all__ = ["__version__", "analyse", "load"]


def __getattr__(name: str) -> Any:
    # imported lazily so that `cnncalc --help` does not pay for Pydantic
    if name == "load":
        from .spec import load

        return load
    if name == "analyse":
        from .analysis import analyse

        return analyse
    raise AttributeError(name)
