"""The named choices cnncalc offers, each defined once: dtypes, optimizers, conventions, metrics.

Light to import (``typing`` only): the command line builds its ``--help`` from these without
loading the core, and the core, the JSON schemas and the budgets format validate against them.
"""

from __future__ import annotations

from typing import Literal, get_args

#: The batch size of every figure when none is given.
DEFAULT_BATCH = 1

Dtype = Literal["fp32", "fp16", "bf16", "int8"]
#: Bytes per element of each dtype in :data:`DTYPES`.
DTYPE_BYTES: dict[str, int] = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}
#: Every dtype, in the order ``--dtype`` lists them.
DTYPES: tuple[Dtype, ...] = get_args(Dtype)
#: dtypes that can train (int8 is inference only).
TRAINING_DTYPES: tuple[Dtype, ...] = ("fp32", "fp16", "bf16")
#: The dtype of the memory figures when none is given.
DEFAULT_DTYPE: Dtype = "fp32"

TrainingOptimizer = Literal["sgd", "momentum", "adam", "adamw"]
#: ``none`` is inference only: no gradients, no optimizer state.
Optimizer = Literal["none", TrainingOptimizer]
#: Optimizer state per trainable parameter for each of :data:`OPTIMIZERS`: SGD none, momentum one
#: buffer, Adam/AdamW two (m and v).
OPTIMIZER_STATE: dict[str, int] = {"none": 0, "sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
#: Every optimizer, ``none`` first, in the order ``--optimizer`` lists them.
OPTIMIZERS: tuple[Optimizer, ...] = get_args(Optimizer)
#: The optimizers that train: those a training-memory limit can assume.
TRAINING_OPTIMIZERS: tuple[TrainingOptimizer, ...] = get_args(TrainingOptimizer)
#: The optimizer of the training figures when none is given.
DEFAULT_OPTIMIZER: Optimizer = "adam"

ConventionName = Literal["torchvision", "fvcore", "thop", "ptflops", "torchinfo", "torch"]
#: The counting conventions (``--convention``), each defined by a rule in :mod:`cnncalc.conventions`.
CONVENTIONS: tuple[ConventionName, ...] = get_args(ConventionName)

Metric = Literal["macs", "params", "memory"]
#: What a layer's share of the network is measured in (``--sort``, ``--bars``, :mod:`cnncalc.hotspots`).
METRICS: tuple[Metric, ...] = get_args(Metric)
