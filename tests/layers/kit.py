"""What the family test modules share: shapes for the saved-tensor rules, a module from a function,
and the helpers of the random generators and hypothesis strategies."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

Args = dict[str, Any]
Shape = tuple[int, ...]
#: ``(rng, input shape) -> arguments``, or None where the type does not apply to the shape.
Generator = Callable[[random.Random, Shape], Args | None]
#: ``input shape -> hypothesis strategy`` of arguments.
Strategy = Callable[[Shape], st.SearchStrategy[Args]]

X = (4, 6, 6)  # a [C, H, W] input of the saved-tensor rules
E = 4 * 6 * 6  # its elements
PE = 8 * 6 * 6  # elements of the [8, 6, 6] map of the peer-tool cases
STEP = "per step"  # a saved tensor kept once per step, not per sample


def nn() -> Any:
    """``torch.nn``, imported when a twin is built (the tables load without torch)."""
    import torch.nn

    return torch.nn


class Lambda:
    """``nn.Module`` factory for a function of the input (imported lazily with torch)."""

    def __new__(cls, fn: Callable[..., Any], params: Any = None) -> Any:  # type: ignore[misc]
        import torch.nn as nn

        class _Fn(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                if params is not None:
                    self.gamma = nn.Parameter(params)

            def forward(self, *x: Any) -> Any:
                return fn(*x, self.gamma) if params is not None else fn(*x)

        return _Fn()


# -- random generators ----------------------------------------------------------------------------


def axes(rng: random.Random, n: int, lo: int, hi: int) -> int | list[int]:
    """One value for all axes, or one per axis."""
    if n > 1 and rng.random() < 0.3:
        return [rng.randint(lo, hi) for _ in range(n)]
    return rng.randint(lo, hi)


def divisors(n: int) -> list[int]:
    """The divisors of ``n``, ascending."""
    return [d for d in range(1, n + 1) if n % d == 0]


def spatial(shape: Shape, n: int) -> bool:
    """Whether ``shape`` is ``[C, *n spatial axes]``."""
    return len(shape) == n + 1


def dim(rng: random.Random, shape: Shape) -> int:
    """A non-batch axis in PyTorch numbering, counted from the front or the back."""
    d = rng.randint(1, len(shape))
    return rng.choice([d, d - len(shape) - 1])


# -- hypothesis strategies ----------------------------------------------------------------------


def per_axis(n: int, values: st.SearchStrategy[int]) -> st.SearchStrategy[Any]:
    """One value for all axes, or a list of one per axis."""
    return st.one_of(values, st.lists(values, min_size=n, max_size=n))


def generated(gen: Generator, refused: Args) -> Strategy:
    """A strategy drawing a seed for ``gen``; ``refused``: valid arguments for a shape it does not take."""
    return lambda shape: st.integers(0, 2**32 - 1).map(lambda seed: gen(random.Random(seed), shape) or dict(refused))
