"""Run the real counting tools on a PyTorch model, as their users do, and return their totals.

Each function takes a model and an input shape without the batch, runs on a batch of one and
returns the number the tool prints: torchinfo's "Total mult-adds", fvcore's ``total()``,
ptflops' MACs, thop's MACs, FlopCounterMode's FLOPs and torchvision's ``_ops`` (the MACs of
convolutions and linear layers, counted by hooks in torch_reference).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch_reference as ref


def _quiet(fn: Callable[[], Any]) -> Any:
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return fn()


def torchvision(model: torch.nn.Module, shape: Sequence[int]) -> int:
    return ref.conv_linear_macs(model, shape)


def torchinfo(model: torch.nn.Module, shape: Sequence[int]) -> int:
    import torchinfo as ti

    return int(_quiet(lambda: ti.summary(model, input_size=(1, *shape), verbose=0)).total_mult_adds)


def fvcore(model: torch.nn.Module, shape: Sequence[int]) -> int:
    from fvcore.nn import FlopCountAnalysis

    def run() -> int:
        analysis = FlopCountAnalysis(model.eval(), torch.zeros(1, *shape))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return int(analysis.total())

    return _quiet(run)


def ptflops(model: torch.nn.Module, shape: Sequence[int]) -> int:
    from ptflops import get_model_complexity_info

    macs, _ = _quiet(lambda: get_model_complexity_info(model.eval(), tuple(shape), as_strings=False,
                                                      print_per_layer_stat=False, verbose=False))
    return int(macs)


def thop(model: torch.nn.Module, shape: Sequence[int]) -> int:
    import thop as th

    macs, _ = _quiet(lambda: th.profile(model.eval(), inputs=(torch.zeros(1, *shape),), verbose=False))
    return int(macs)


def flop_counter(model: torch.nn.Module, shape: Sequence[int]) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.zeros(1, *shape))
    return int(counter.get_total_flops())


#: convention name -> (the package to import, the function running the tool)
TOOLS: dict[str, tuple[str, Callable[[torch.nn.Module, Sequence[int]], int]]] = {
    "torchvision": ("torch", torchvision),
    "torchinfo": ("torchinfo", torchinfo),
    "fvcore": ("fvcore", fvcore),
    "ptflops": ("ptflops", ptflops),
    "thop": ("thop", thop),
    "torch": ("torch", flop_counter),
}
