"""The version of cnncalc, in a module of its own: the renderers and the export read it without
importing the package's ``__init__`` (which loads the API lazily)."""

from __future__ import annotations

__version__ = "0.1.0"
