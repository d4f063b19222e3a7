"""The one error the importer raises: a model, or a part of it, that cannot be described exactly."""

from __future__ import annotations

from ..errors import CnnCalcError, Problem


class ImportRefused(CnnCalcError):
    """The model cannot be described exactly; the problem names the module path, the op and the source line."""


def refuse(message: str, *, layer: str | None = None, op: str | None = None,
           file: str | None = None, line: int | None = None) -> ImportRefused:
    """An :class:`ImportRefused` located at the user's source line, module path and op."""
    return ImportRefused([Problem(message, file=file, line=line, layer=layer, layer_type=op)])
