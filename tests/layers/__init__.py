"""One test module per layer family, and the collector the registry-wide tests read them through.

``tests/layers/test_<family>.py`` holds the evidence for the types of ``cnncalc/layers/<family>.py``:

==============  ====================================================================  ==============
table           what                                                                  read by
==============  ====================================================================  ==============
CASES           shapes, params, buffers, MACs, FLOPs as arithmetic (MERGE_CASES for   test_layers.py
                layers with several inputs)
TWINS           ``type -> (args, input shape) -> torch module``                       test_layers.py
SAVED           the tensors autograd keeps, as rules (AUTOGRAD: against autograd)     test_memory.py
PEER_CASES      what fvcore, thop, ptflops, torchinfo, torchvision, torch count       test_conventions.py
GENERATORS      ``type -> (rng, shape) -> args`` for the seeded random networks       random_networks.py
STRATEGIES      ``type or family stem -> shape -> hypothesis strategy``               test_properties.py
==============  ====================================================================  ==============

and, where they apply, TORCH_REFUSES / TORCH_ACCEPTS (test_pytorch_rules.py), FITS (the ranks a
type takes, for test_properties.py), WIRED (types the random networks wire themselves).
test_registry.py fails for a registered type missing from a required table, naming the file
to add it to and the checklist, docs/adding-a-layer.md.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from cnncalc.layers import REGISTRY, lookup

CHECKLIST = "docs/adding-a-layer.md"


def family(type_name: str) -> str:
    """The family of a layer type (or alias): the name of the cnncalc/layers module defining it."""
    cls = lookup(type_name)
    assert cls is not None, f"no layer type {type_name!r}"
    return cls.__module__.rsplit(".", 1)[1]


def families() -> list[str]:
    """Every family that registers a layer type."""
    return sorted({family(name) for name in REGISTRY})


def module(name: str) -> ModuleType | None:
    """The test module of a family, or None where there is none yet."""
    try:
        return importlib.import_module(f"layers.test_{name}")
    except ModuleNotFoundError as e:
        if e.name != f"layers.test_{name}":
            raise
        return None


def table(name: str) -> list[Any]:
    """A list table (CASES, SAVED, ...) of every family, in family order."""
    return [row for f in families() for row in getattr(module(f), name, [])]


def mapping(name: str) -> dict[str, Any]:
    """A dict table (TWINS, GENERATORS, ...) of every family, merged."""
    out: dict[str, Any] = {}
    for f in families():
        out.update(getattr(module(f), name, {}))
    return out


def mapping_set(name: str) -> set[str]:
    """A set table (WIRED) of every family, joined."""
    return {t for f in families() for t in getattr(module(f), name, set())}


def names(name: str) -> set[str]:
    """The type names a table covers: a dict's keys, or the type each row starts with (PEER_CASES: its second)."""
    covered: set[str] = set()
    for f in families():
        rows = getattr(module(f), name, ())
        keys = rows if isinstance(rows, dict) else [r.values[1 if name == "PEER_CASES" else 0] for r in rows]
        covered |= {_canonical(k) for k in keys}
    return covered


def _canonical(key: str) -> str:
    """``lrn: {size: 3}`` → ``localresponsenorm``; family stems (``conv``) are kept."""
    head = key.split(":")[0].strip()
    cls = lookup(head)
    return cls.type_name if cls is not None else head


def where(type_name: str) -> str:
    """Where a type's evidence goes: ``tests/layers/test_<family>.py``."""
    return f"tests/layers/test_{family(type_name)}.py"
