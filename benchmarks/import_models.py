"""Models for timing ``cnncalc import`` (``benchmarks/bench.py``): plain PyTorch, no torchvision needed.

    cnncalc import benchmarks/import_models.py:resnet50 --input 3x224x224
    cnncalc import benchmarks/import_models.py:chain --input 16x32x32
"""

from __future__ import annotations

import sys
from pathlib import Path

from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def resnet50() -> nn.Module:
    """torchvision's ResNet-50, module for module (``tests/torch_reference.py``)."""
    import torch_reference

    build, _ = torch_reference.BUILDERS["resnet50"]
    return build()


def chain(layers: int = 500) -> nn.Module:
    """``layers`` modules: (conv 3x3 → batchnorm → relu) repeated on a 16x32x32 map, as bench.py's chain."""
    pattern = [lambda: nn.Conv2d(16, 16, 3, padding=1), lambda: nn.BatchNorm2d(16), lambda: nn.ReLU()]
    return nn.Sequential(*(pattern[i % 3]() for i in range(layers)))
