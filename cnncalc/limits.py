"""The kinds of budget limit (:data:`LIMITS`): name, figure bounded, unit and help. Data only, light to import.

:mod:`spec` builds the ``budgets:`` section from this table, :mod:`budgets` measures each
figure, and the CLI makes one ``--max-...`` flag of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .units import Kind

#: Whether a limit is a maximum or a minimum.
Bound = Literal["max", "min"]


@dataclass(frozen=True)
class LimitKind:
    """One kind of limit: its name (a ``budgets:`` key and a flag), the figure it bounds, its unit."""

    limit: str
    figure: str
    bound: Bound
    kind: Kind
    help: str


#: Every kind of limit by name, in display order.
LIMITS: dict[str, LimitKind] = {m.limit: m for m in (
    LimitKind("max_params", "params", "max", "count", "Most trainable parameters, e.g. 5M."),
    LimitKind("max_macs", "macs", "max", "count", "Most multiply-accumulates per sample, e.g. 600M."),
    LimitKind("max_flops", "flops", "max", "count", "Most floating-point operations per sample, e.g. 1.2G."),
    LimitKind("max_param_memory", "param_memory", "max", "bytes",
              "Most bytes of parameters and buffers at the dtype, e.g. 20MiB."),
    LimitKind("max_activation_memory", "activation_memory", "max", "bytes",
              "Most bytes of all layer outputs at the batch and dtype, e.g. 512MiB."),
    LimitKind("max_train_memory", "train_memory", "max", "bytes",
              "Most bytes to train at the batch with the optimizer, e.g. 8GiB."),
    LimitKind("min_rf", "receptive_field", "min", "pixels",
              "Least receptive field of the last feature map, in input pixels on every axis, e.g. 200."),
)}
