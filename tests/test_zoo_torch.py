"""Every zoo network against its plain-PyTorch reference, module by module.

The reference models are built on PyTorch's ``meta`` device: their forward pass propagates
shapes without computing, so the whole zoo is checked in seconds.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import torch_reference  # noqa: E402
from zoo_table import ZOO_NAMES, report  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_zoo_layer_by_layer(name: str) -> None:
    build, shape = torch_reference.BUILDERS[name]
    with torch.device("meta"):
        model = build()
    r = report(name)
    assert r.input_shape == shape
    ours = {row.name: row.output_shape for row in r.layers}
    theirs = torch_reference.output_shapes(model, shape)
    # every module torchvision names is a layer of the same name and output shape here
    # (a module called twice, like ResNet's relu, keeps the shape of its last call)
    missing = sorted(set(theirs) - set(ours))
    assert not missing
    wrong = {n: (ours[n], s) for n, s in theirs.items() if ours[n] != s}
    assert not wrong
    assert r.totals.params == torch_reference.count_params(model)
    assert r.totals.buffers == torch_reference.count_float_buffers(model)
    assert r.totals.macs == torch_reference.conv_linear_macs(model, shape)
