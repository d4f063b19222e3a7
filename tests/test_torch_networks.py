"""The classic bundled networks against the same networks built in plain PyTorch
(tests/torch_reference.py): total parameters, float buffers, MACs, and every layer's output shape
by module name. The torchvision zoo is cross-checked the same way in test_zoo_torch.py."""

from __future__ import annotations

import pytest

from cnncalc import analyse, load
from cnncalc.spec import bundled

torch = pytest.importorskip("torch")
ref = pytest.importorskip("torch_reference")

pytestmark = pytest.mark.torch

NAMES = ["lenet5", "tiny_cnn", "alexnet_bvlc", "alexnet", "vgg16", "mobilenet_v1"]


def test_every_bundled_network_has_a_reference() -> None:
    assert set(bundled()) <= set(ref.BUILDERS)


@pytest.mark.parametrize("name", NAMES)
def test_matches_pytorch(name: str) -> None:
    build, shape = ref.BUILDERS[name]
    model = build().eval()
    report = analyse(load(name))
    assert tuple(report.input_shape) == tuple(shape)
    assert report.totals.params == ref.count_params(model)
    assert report.totals.buffers == ref.count_float_buffers(model)
    assert report.totals.macs == ref.conv_linear_macs(model, shape)
    ours = {row.name: row.output_shape for row in report.layers}
    theirs = ref.output_shapes(model, shape)
    missing = [n for n, m in model.named_modules() if n in theirs and any(True for _ in m.parameters(recurse=False))
               and n not in ours]
    assert not missing, f"layers with parameters missing from the description: {missing}"
    compared = 0
    for module_name, out_shape in theirs.items():
        if module_name in ours:
            assert tuple(ours[module_name]) == tuple(out_shape), module_name
            compared += 1
    assert compared >= len(theirs) * 0.8, f"only {compared} of {len(theirs)} layer names line up"
