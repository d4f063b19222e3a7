"""The registry of layer types, keyed by their PyTorch-style names; a family module fills it on import."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .layer import Layer

REGISTRY: dict[str, type[Layer]] = {}
ALIASES: dict[str, str] = {}


def register(*names: str) -> Any:
    """Class decorator: register a layer type under its PyTorch-style name (and aliases)."""

    def deco(cls: type[Layer]) -> type[Layer]:
        cls.type_name = names[0]
        REGISTRY[names[0]] = cls
        for alias in names[1:]:
            ALIASES[alias] = names[0]
        return cls

    return deco



def register_nd(base: type[Layer], stem: str, *alias_stems: str) -> None:
    """Register ``{stem}1d``, ``{stem}2d`` and ``{stem}3d`` variants of a family class."""
    for n in (1, 2, 3):
        name = base.__name__.removesuffix("Nd") + f"{n}d"
        cls: Any = type(name, (base,), {"ndim": n, "__doc__": base.__doc__, "__module__": base.__module__})
        register(f"{stem}{n}d", *(f"{a}{n}d" for a in alias_stems))(cls)


def lookup(name: str) -> type[Layer] | None:
    """The layer class registered under ``name`` or one of its aliases."""
    return REGISTRY.get(name) or REGISTRY.get(ALIASES.get(name, ""))
