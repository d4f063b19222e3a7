"""The norm family (cnncalc/layers/norm.py): normalisation layers, layer scale, GRN and F.normalize.

The registry-wide tests read these tables through tests/layers/__init__.py; a type missing
from one fails there, naming the table (the checklist: docs/adding-a-layer.md).
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from conftest import network_text
from hypothesis import strategies as st

from cnncalc import analyse, spec
from cnncalc.errors import CnnCalcError
from layers.kit import PE, STEP, Args, E, Generator, Lambda, Shape, Strategy, X, dim, divisors, generated, nn, spatial

#: (type, args, input shape, output shape, params, buffers, MACs, FLOPs), as arithmetic
CASES = [
    pytest.param("batchnorm2d", None, [64, 56, 56], [64, 56, 56], 2 * 64, 2 * 64, 0, 2 * 64 * 56 * 56,
                 id="batchnorm2d"),
    pytest.param("batchnorm1d", None, [500], [500], 2 * 500, 2 * 500, 0, 2 * 500, id="batchnorm1d on [N]"),
    pytest.param("batchnorm2d", {"affine": False, "track_running_stats": False}, [4, 3, 3], [4, 3, 3],
                 0, 0, 0, 5 * 36, id="batchnorm without affine or running stats"),
    pytest.param("batchnorm3d", None, [8, 2, 4, 4], [8, 2, 4, 4], 16, 16, 0, 2 * 8 * 32, id="batchnorm3d"),
    pytest.param("instancenorm2d", None, [8, 4, 4], [8, 4, 4], 0, 0, 0, 5 * 128, id="instancenorm2d"),
    pytest.param("instancenorm2d", {"affine": True}, [8, 4, 4], [8, 4, 4], 16, 0, 0, 7 * 128,
                 id="instancenorm2d affine"),
    pytest.param("layernorm", {"normalized_shape": [8, 4, 4]}, [8, 4, 4], [8, 4, 4], 2 * 128, 0, 0, 7 * 128,
                 id="layernorm over [C,H,W]"),
    pytest.param("layernorm", None, [7, 7, 96], [7, 7, 96], 2 * 96, 0, 0, 7 * 7 * 7 * 96,
                 id="layernorm over the last axis"),
    pytest.param("groupnorm", {"num_groups": 32}, [256, 14, 14], [256, 14, 14], 2 * 256, 0, 0, 7 * 256 * 196,
                 id="groupnorm 32 groups"),
    pytest.param("localresponsenorm", {"size": 5}, [96, 55, 55], [96, 55, 55], 0, 0, 0, (5 + 4) * 96 * 55 * 55,
                 id="local response norm (AlexNet)"),
    pytest.param("layerscale", None, [96, 56, 56], [96, 56, 56], 96, 0, 0, 96 * 56 * 56, id="layer scale"),
    pytest.param("instancenorm1d", None, [4, 10], [4, 10], 0, 0, 0, 5 * 40, id="instancenorm1d"),
    pytest.param("instancenorm3d", {"affine": True}, [2, 2, 3, 3], [2, 2, 3, 3], 4, 0, 0, 7 * 36,
                 id="instancenorm3d affine"),
    pytest.param("layernorm2d", None, [96, 56, 56], [96, 56, 56], 2 * 96, 0, 0, 7 * 96 * 56 * 56,
                 id="layernorm2d over channels (ConvNeXt)"),
    pytest.param("layerscale", {"dim": -1, "init_values": 1e-5}, [7, 7, 96], [7, 7, 96], 96, 0, 0, 49 * 96,
                 id="layer scale channels-last (CaiT, timm LayerScale)"),
    pytest.param("layerscale", {"dim": 1}, [8, 5], [8, 5], 8, 0, 0, 40, id="layer scale channels-first 1d"),
    pytest.param("layerscale", {"scalar": True, "init_values": 0.0}, [96, 14, 14], [96, 14, 14], 1, 0, 0,
                 96 * 14 * 14, id="layer scale of one value (NF-Nets' skip-init gain)"),
    # GRN: norms 2E + C, their mean + eps C + 1, C divides, x·N + γ·(x·N) + β + x 4E
    pytest.param("globalresponsenorm", {"dim": -1}, [7, 7, 40], [7, 7, 40], 2 * 40, 0, 0,
                 6 * 7 * 7 * 40 + 3 * 40 + 1, id="GRN channels-last (ConvNeXt-V2)"),
    pytest.param("globalresponsenorm", {"eps": 1e-5}, [8, 5, 5], [8, 5, 5], 2 * 8, 0, 0, 6 * 8 * 25 + 3 * 8 + 1,
                 id="GRN channels-first"),
    pytest.param("globalresponsenorm", None, [4, 10], [4, 10], 2 * 4, 0, 0, 6 * 40 + 3 * 4 + 1, id="GRN 1d"),
    # F.normalize: |x|^p and an add per element, a root and a max per vector, a divide per element
    pytest.param("normalize", None, [512, 38, 38], [512, 38, 38], 0, 0, 0, 3 * 512 * 38 * 38 + 2 * 38 * 38,
                 id="normalize over channels (SSD's L2Norm on conv4_3)"),
    pytest.param("normalize", {"dim": -1, "p": 1.0}, [3, 4, 10], [3, 4, 10], 0, 0, 0, 3 * 120 + 2 * 12,
                 id="normalize L1 along the last axis"),
    pytest.param("normalize", {"eps": 1e-6}, [16], [16], 0, 0, 0, 3 * 16 + 2 * 1, id="normalize a feature vector"),
]


#: (type, args, input shapes, saved as (tensor or dtype, elements[, per step]))
SAVED = [
    pytest.param("batchnorm1d", {}, [(4, 10)], [("input", 40), ("fp32", 2 * 4, STEP)], id="batchnorm1d"),
    pytest.param("batchnorm2d", {}, [X], [("input", E), ("fp32", 2 * 4, STEP)], id="batchnorm2d: 2C per step"),
    pytest.param("batchnorm3d", {}, [(4, 2, 2, 2)], [("input", 32), ("fp32", 2 * 4, STEP)], id="batchnorm3d"),
    pytest.param("instancenorm1d", {}, [(4, 10)], [("input", 40), ("fp32", 2 * 4)], id="instancenorm1d"),
    pytest.param("instancenorm2d", {"affine": True, "track_running_stats": True}, [X],
                 [("input", E), ("fp32", 2 * 4), ("weights", 4), ("weights", 2 * 4)],
                 id="instancenorm2d affine, tracked: per sample"),
    pytest.param("instancenorm3d", {}, [(4, 2, 2, 2)], [("input", 32), ("fp32", 2 * 4)], id="instancenorm3d"),
    pytest.param("layernorm", {}, [X], [("input", E), ("fp32", 2 * 4 * 6)], id="layernorm: 2 per row"),
    pytest.param("layernorm", {"normalized_shape": [6, 6]}, [X], [("input", E), ("fp32", 2 * 4)],
                 id="layernorm over 2 axes"),
    pytest.param("layernorm2d", {}, [X], [("input", E), ("fp32", 2 * 6 * 6)], id="layernorm2d: 2 per position"),
    pytest.param("groupnorm", {"num_groups": 2}, [X], [("input", E), ("fp32", 2 * 2)], id="groupnorm: 2 per group"),
    pytest.param("localresponsenorm", {"size": 3}, [X],
                 [("input", E), ("act", (4 + 3 - 1) * 36), ("act", E), ("act", E)], id="local response norm"),
    pytest.param("layerscale", {}, [X], [("input", E), ("weight", 4, STEP)], id="layerscale"),
    pytest.param("layerscale", {"scalar": True}, [X], [("input", E), ("weight", 1, STEP)], id="layerscale scalar"),
    # the norm keeps x and G, G / d keeps d, x·N keeps N, addcmul(β, γ, x·N) keeps γ and x·N
    pytest.param("globalresponsenorm", {}, [X],
                 [("input", E), ("act", 4), ("act", 1), ("act", 4), ("weight", 4, STEP), ("act", E)], id="GRN"),
    # the norm keeps x and its result; x / max(norm, eps) keeps x and the clamped norm
    pytest.param("normalize", {}, [X], [("input", E), ("act", 36), ("act", 36)], id="normalize: 2 per vector"),
]


#: (layer after a 3x3 conv on [4, 8, 8], its torch twin from ``nn``): what autograd saves, to the byte
AUTOGRAD = [
    pytest.param("batchnorm2d", lambda nn: nn.BatchNorm2d(4), id="batchnorm2d"),
    pytest.param("batchnorm2d: {affine: false, track_running_stats: false}",
                 lambda nn: nn.BatchNorm2d(4, affine=False, track_running_stats=False), id="batchnorm2d plain"),
    pytest.param("instancenorm2d", lambda nn: nn.InstanceNorm2d(4), id="instancenorm2d"),
    pytest.param("instancenorm2d: {affine: true, track_running_stats: true}",
                 lambda nn: nn.InstanceNorm2d(4, affine=True, track_running_stats=True),
                 id="instancenorm2d affine tracked"),
    pytest.param("layernorm", lambda nn: nn.LayerNorm(8), id="layernorm last axis"),
    pytest.param("layernorm: {normalized_shape: [8, 8]}", lambda nn: nn.LayerNorm([8, 8]), id="layernorm 2 axes"),
    pytest.param("groupnorm: {num_groups: 2}", lambda nn: nn.GroupNorm(2, 4), id="groupnorm"),
    pytest.param("lrn: {size: 3}", lambda nn: nn.LocalResponseNorm(3), id="local response norm"),
    pytest.param("layerscale", lambda nn: _layerscale({}, (4, 8, 8)), id="layerscale"),
    pytest.param("layerscale: {scalar: true}", lambda nn: _layerscale({"scalar": True}, (4, 8, 8)),
                 id="layerscale scalar"),
    pytest.param("globalresponsenorm", lambda nn: _grn({}, (4, 8, 8)), id="GRN as timm writes it"),
    pytest.param("grn", lambda nn: _grn({}, (4, 8, 8), paper=True), id="GRN as the paper writes it"),
    pytest.param("normalize", lambda nn: _normalize({}, (4, 8, 8)), id="normalize"),
    pytest.param("normalize: {p: 1, dim: -1}", lambda nn: _normalize({"p": 1, "dim": -1}, (4, 8, 8)),
                 id="normalize L1 along the width"),
    pytest.param("normalize: {p: 3, dim: 2}", lambda nn: _normalize({"p": 3, "dim": 2}, (4, 8, 8)),
                 id="normalize L3 along the height"),
]


#: (convention, type, args, input shape, MACs): what each peer tool counts, from its source
PEER_CASES = [
    pytest.param("torchvision", "batchnorm2d", {}, (8, 6, 6), 0, id="torchvision batchnorm: 0"),
    pytest.param("fvcore", "batchnorm2d", {}, (8, 6, 6), 2 * PE, id="fvcore batchnorm (inference): 2E"),
    pytest.param("fvcore", "batchnorm2d", {"affine": False}, (8, 6, 6), PE, id="fvcore batchnorm no affine: PE"),
    pytest.param("fvcore", "batchnorm2d", {"track_running_stats": False}, (8, 6, 6), 5 * PE,
                 id="fvcore batchnorm, batch statistics: 5E"),
    pytest.param("fvcore", "groupnorm", {"num_groups": 2}, (8, 6, 6), 5 * PE, id="fvcore groupnorm: 5E"),
    pytest.param("fvcore", "layernorm", {"elementwise_affine": False}, (8, 6, 6), 4 * PE,
                 id="fvcore layernorm no affine: 4E"),
    pytest.param("fvcore", "instancenorm2d", {}, (8, 6, 6), 4 * PE, id="fvcore instance norm: 4E"),
    pytest.param("thop", "batchnorm2d", {}, (8, 6, 6), 4 * PE, id="thop batchnorm: 2E doubled when affine"),
    pytest.param("thop", "instancenorm2d", {}, (8, 6, 6), 2 * PE, id="thop instance norm no affine: 2E"),
    pytest.param("thop", "layernorm", {}, (8, 6, 6), 4 * PE, id="thop layernorm: 4E"),
    pytest.param("thop", "layernorm2d", {}, (8, 6, 6), 0, id="thop LayerNorm2d, a subclass: 0"),
    pytest.param("thop", "groupnorm", {"num_groups": 2}, (8, 6, 6), 0, id="thop groupnorm: 0"),
    pytest.param("ptflops", "batchnorm2d", {}, (8, 6, 6), 2 * PE, id="ptflops batchnorm affine: 2E"),
    pytest.param("ptflops", "layernorm", {}, (8, 6, 6), PE, id="ptflops layernorm: PE"),
    pytest.param("ptflops", "localresponsenorm", {"size": 3}, (8, 6, 6), 3 * PE + (8 + 3 - 1) * 36,
                 id="ptflops lrn: two muls, an add, avg pooling over padded channels"),
    pytest.param("torchinfo", "batchnorm2d", {}, (8, 6, 6), 2 * 8, id="torchinfo batchnorm: params"),
    pytest.param("torchinfo", "layerscale", {}, (8, 6, 6), 0, id="torchinfo layer scale (gamma): 0"),
    pytest.param("torchinfo", "globalresponsenorm", {}, (8, 6, 6), 2 * 8, id="torchinfo GRN: weight and bias once"),
    pytest.param("fvcore", "globalresponsenorm", {}, (8, 6, 6), 0, id="fvcore GRN: no handled op"),
    pytest.param("thop", "globalresponsenorm", {}, (8, 6, 6), 0, id="thop GRN: no hook"),
    pytest.param("ptflops", "globalresponsenorm", {}, (8, 6, 6), 0,
                 id="ptflops GRN: no hook, none of its calls patched (operators, addcmul, vector_norm)"),
    pytest.param("torch", "batchnorm2d", {}, (8, 6, 6), 0, id="torch batchnorm: 0"),
]


#: (type, args, shape, the torch module from ``nn``, message): refused by both
TORCH_REFUSES = [
    pytest.param("instancenorm2d", {}, (3, 1, 1), lambda nn: nn.InstanceNorm2d(3),
                 "single position", id="instance norm over one position"),
    pytest.param("instancenorm1d", {}, (3,), lambda nn: nn.InstanceNorm1d(3, affine=True),
                 "expects a [C, L] input", id="instance norm of a vector"),
]


#: (type, args, shape, the torch module from ``nn``, output shape): accepted by both
TORCH_ACCEPTS = [
    pytest.param("instancenorm2d", {"track_running_stats": True}, (3, 1, 1),
                 lambda nn: nn.InstanceNorm2d(3, track_running_stats=True), (3, 1, 1),
                 id="instance norm over one position with running statistics"),
]




def _features(kind: str, n: int) -> Any:
    """``nn.<kind><n>d(C, **args)``."""
    return lambda a, s: getattr(nn(), f"{kind}{n}d")(s[0], **a)


def _layernorm(args: Args, shape: Shape) -> Any:
    a = dict(args)
    a.setdefault("normalized_shape", shape[-1])
    return nn().LayerNorm(**a)


def _layernorm2d(args: Args, shape: Shape) -> Any:
    """LayerNorm over the channels of a [C, H, W] map (ConvNeXt's LayerNorm2d, eps 1e-6)."""

    class LayerNorm2d(nn().LayerNorm):  # type: ignore[misc]
        def forward(self, x: Any) -> Any:
            return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    return LayerNorm2d(shape[0], **{"eps": 1e-6, **args})


def _groupnorm(args: Args, shape: Shape) -> Any:
    a = dict(args)
    a.pop("num_channels", None)
    return nn().GroupNorm(a.pop("num_groups"), shape[0], **a)


def _layerscale(args: Args, shape: Shape) -> Any:
    """timm's LayerScale (channels-last): gamma of [C]; channels-first: gamma.view(C, 1, ...); scalar: of []."""
    import torch

    d = args.get("dim", 1) % (len(shape) + 1)
    gamma = torch.rand(()) if args.get("scalar") else torch.rand(shape[d - 1], *([1] * (len(shape) - d)))
    return Lambda(lambda x, g: x * g, gamma)


def _grn(args: Args, shape: Shape, paper: bool = False) -> Any:
    """GRN on channel axis ``dim``: timm's GlobalResponseNorm (addcmul), or as the ConvNeXt-V2 paper writes it."""
    import torch

    d = args.get("dim", 1) % (len(shape) + 1)
    eps = args.get("eps", 1e-6)
    spatial = [a for a in range(1, len(shape) + 1) if a != d]
    view = [shape[d - 1] if a == d else 1 for a in range(len(shape) + 1)]

    class GRN(nn().Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn().Parameter(torch.randn(shape[d - 1]))
            self.bias = nn().Parameter(torch.randn(shape[d - 1]))

        def forward(self, x: Any) -> Any:
            g = torch.norm(x, p=2, dim=spatial, keepdim=True)
            n = g / (g.mean(dim=d, keepdim=True) + eps)
            if paper:
                return self.weight.view(view) * (x * n) + self.bias.view(view) + x
            return x + torch.addcmul(self.bias.view(view), self.weight.view(view), x * n)

    return GRN()


def _normalize(args: Args, shape: Shape) -> Any:
    """``F.normalize(x, p, dim, eps)``."""
    import torch.nn.functional as F

    return Lambda(lambda x: F.normalize(x, args.get("p", 2.0), args.get("dim", 1), args.get("eps", 1e-12)))


#: The torch module computing each type, built from its arguments and input shape.
TWINS: dict[str, Any] = {
    **{f"batchnorm{n}d": _features("BatchNorm", n) for n in (1, 2, 3)},
    **{f"instancenorm{n}d": _features("InstanceNorm", n) for n in (1, 2, 3)},
    "layernorm": _layernorm,
    "layernorm2d": _layernorm2d,
    "groupnorm": _groupnorm,
    "localresponsenorm": lambda a, s: nn().LocalResponseNorm(**a),
    "layerscale": _layerscale,
    "globalresponsenorm": _grn,
    "normalize": _normalize,
}


def _norm(n: int, instance: bool) -> Generator:
    def gen(rng: random.Random, shape: Shape) -> Args | None:
        if not (spatial(shape, n) or (n == 1 and not instance and len(shape) == 1)):
            return None
        positions = math.prod(shape[1:])
        args: Args = {"affine": rng.random() < 0.7, "eps": rng.choice([1e-5, 1e-3])}
        if rng.random() < 0.3:
            args["momentum"] = rng.choice([None, 0.01])
        # batch statistics over one value per channel: PyTorch refuses at batch 1 (any batch works)
        if positions > 1:
            args["track_running_stats"] = rng.random() < 0.5
        return args

    return gen


def _layernorm_args(rng: random.Random, shape: Shape) -> Args:
    args: Args = {"elementwise_affine": rng.random() < 0.7, "bias": rng.random() < 0.7}
    k = rng.randint(0, len(shape))
    if k:
        args["normalized_shape"] = list(shape[len(shape) - k:])
    return args


def _groupnorm_args(rng: random.Random, shape: Shape) -> Args | None:
    if len(shape) < 2:
        return None
    # a group of one value: PyTorch refuses at batch 1 ("more than 1 value per channel"), any batch works
    groups = [g for g in divisors(shape[0]) if shape[0] // g * math.prod(shape[1:]) > 1]
    return {"num_groups": rng.choice(groups), "affine": rng.random() < 0.7} if groups else None


#: Random arguments for the seeded random networks (tests/random_networks.py).
GENERATORS: dict[str, Generator] = {
    **{f"batchnorm{n}d": _norm(n, False) for n in (1, 2, 3)},
    **{f"instancenorm{n}d": _norm(n, True) for n in (1, 2, 3)},
    "layernorm": _layernorm_args,
    "layernorm2d": lambda rng, s: {"elementwise_affine": rng.random() < 0.7} if len(s) == 3 else None,
    "groupnorm": _groupnorm_args,
    "localresponsenorm": lambda rng, s: {"size": rng.randint(1, 5)} if len(s) > 1 else None,
    "layerscale": lambda rng, s: {"dim": dim(rng, s), "init_values": rng.choice([1e-6, 0.1, 1.0])},
    "globalresponsenorm": lambda rng, s: {"dim": dim(rng, s), "eps": rng.choice([1e-6, 1e-3])} if len(s) > 1 else None,
    "normalize": lambda rng, s: {"dim": dim(rng, s), "p": rng.choice([2.0, 1.0, 3.0]),
                                 "eps": rng.choice([1e-12, 1e-6])},
}


def _norm_features(shape: Shape) -> st.SearchStrategy[Args]:
    return st.fixed_dictionaries({}, optional={
        "affine": st.booleans(), "track_running_stats": st.booleans(), "num_features": st.just(shape[0]),
        "eps": st.floats(1e-6, 1e-3), "momentum": st.one_of(st.none(), st.floats(0.01, 0.5)),
    })


#: Hypothesis strategies for the property tests (tests/test_properties.py), by type or family stem.
STRATEGIES: dict[str, Strategy] = {
    "batchnorm": _norm_features,
    "instancenorm": _norm_features,
    "layernorm": lambda s: st.fixed_dictionaries({}, optional={
        "normalized_shape": st.integers(0, len(s) - 1).map(lambda k: list(s[k:])),
        "elementwise_affine": st.booleans(), "bias": st.booleans()}),
    "layernorm2d": lambda s: st.fixed_dictionaries({}, optional={"elementwise_affine": st.booleans()}),
    "groupnorm": lambda s: st.fixed_dictionaries({"num_groups": st.sampled_from(divisors(s[0]))},
                                                 optional={"affine": st.booleans(), "num_channels": st.just(s[0])}),
    "localresponsenorm": lambda s: st.fixed_dictionaries({"size": st.integers(1, 5)}),
    "layerscale": generated(GENERATORS["layerscale"], {}),
    "globalresponsenorm": generated(GENERATORS["globalresponsenorm"], {}),
    "normalize": generated(GENERATORS["normalize"], {}),
}

#: The ranks a type takes where its ``ndim`` does not say (tests/test_properties.py).
FITS: dict[str, Any] = {
    "batchnorm1d": lambda s: len(s) in (1, 2),
    "instancenorm1d": lambda s: len(s) in (1, 2),
    "groupnorm": lambda s: len(s) >= 2,
    "localresponsenorm": lambda s: len(s) >= 2,
    "globalresponsenorm": lambda s: len(s) >= 2,
}


def test_layerscale_refuses_an_axis_out_of_range() -> None:
    """timm's LayerScale cannot take it either (its gamma would not broadcast); the twin needs the axis."""
    with pytest.raises(CnnCalcError, match="not a non-batch axis"):
        analyse(spec.load("bad.yaml", text=network_text([2, 5, 6], [{"layerscale": {"dim": 4, "name": "x"}}])))


@pytest.mark.torch
@pytest.mark.parametrize(("frozen", "first"), [(True, False), (False, True)], ids=["GRN frozen", "GRN first"])
@pytest.mark.parametrize("batch", [2, 3])
def test_grn_saves_for_the_gradients_needed(frozen: bool, first: bool, batch: int) -> None:
    """Frozen, it keeps what dL/dx needs (not x·N); on the network's input, only x·N for dL/dγ."""
    from test_memory_torch import cnncalc_saved, torch_saved

    torch = pytest.importorskip("torch")
    grn = _grn({}, (4, 8, 8))
    conv = nn().Conv2d(4, 4, 3, padding=1)
    grn.requires_grad_(not frozen)
    layer = f"globalresponsenorm: {{frozen: {str(frozen).lower()}}}"
    if first:
        text = f"name: case\ninput: [4, 8, 8]\nlayers:\n  - {layer}\n  - conv2d: {{out_channels: 4, kernel_size: 3}}\n"
        model = torch.nn.Sequential(grn, nn().Conv2d(4, 4, 3))
    else:
        text = ("name: case\ninput: [4, 8, 8]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1}\n"
                f"  - {layer}\n")
        model = torch.nn.Sequential(conv, grn)
    assert cnncalc_saved(text, batch) == torch_saved(model, (4, 8, 8), batch)
# EvoNorm-S0 and S0a (Liu et al. 2020; timm/layers/evo_norm.py)

CASES += [
    pytest.param("evonorm2ds0", {"groups": 8}, [64, 14, 14], [64, 14, 14], 3 * 64, 0, 0,
                 (1 + 4 + 1 + 5 + 2) * 64 * 14 * 14, id="evonorm-s0: gate, group std, affine"),
    pytest.param("evonorm2ds0", {"apply_act": False}, [64, 14, 14], [64, 14, 14], 2 * 64, 0, 0,
                 2 * 64 * 14 * 14, id="evonorm-s0 without act: only the affine"),
    pytest.param("evonorm2ds0a", {"group_size": 16}, [48, 7, 7], [48, 7, 7], 3 * 48, 0, 0,
                 13 * 48 * 49, id="evonorm-s0a by group size"),
    pytest.param("evonorm2ds0a", {"groups": 3, "apply_act": False}, [12, 5, 5], [12, 5, 5], 2 * 12, 0, 0,
                 (5 + 2) * 12 * 25, id="evonorm-s0a without act: group std and affine"),
    pytest.param("evonorm2ds0", {"groups": 4}, [4, 3, 3], [4, 3, 3], 3 * 4, 0, 0, 13 * 36,
                 id="evonorm-s0 one channel per group"),
    pytest.param("evonorm2ds0a", {"groups": 1, "eps": 1e-5}, [6, 4, 4], [6, 4, 4], 3 * 6, 0, 0, 13 * 96,
                 id="evonorm-s0a one group"),
]

SAVED += [
    # the input, v, σ(v·x), the std per group, the std expanded (a copy), x·σ, x·σ/s, γ
    pytest.param("evonorm2ds0", {"groups": 2}, [X],
                 [("input", E), ("weight", 4, STEP), ("act", E), ("fp32", 2), ("act", E), ("act", E), ("act", E),
                  ("weight", 4, STEP)], id="evonorm-s0: two groups, the expanded std copied"),
    pytest.param("evonorm2ds0a", {"groups": 4}, [X],
                 [("input", E), ("weight", 4, STEP), ("act", E), ("fp32", 4), ("act", E), ("act", E),
                  ("weight", 4, STEP)], id="evonorm-s0a: one channel per group, the expanded std a view"),
    pytest.param("evonorm2ds0a", {"groups": 2, "apply_act": False}, [X],
                 [("input", E), ("fp32", 2), ("act", E), ("act", E), ("weight", 4, STEP)],
                 id="evonorm-s0a without act"),
    pytest.param("evonorm2ds0", {"apply_act": False}, [X], [("input", E), ("weight", 4, STEP)],
                 id="evonorm-s0 without act: γ·x"),
]


def _evonorm(after_std: bool) -> Any:
    """timm's EvoNorm2dS0 (``after_std``: S0a), transcribed from timm/layers/evo_norm.py, random parameters."""

    def twin(args: Args, shape: Shape) -> Any:
        import torch

        class EvoNorm(nn().Module):  # type: ignore[misc]
            def __init__(self, c: int, groups: int = 32, group_size: int | None = None, apply_act: bool = True,
                         eps: float = 1e-3 if after_std else 1e-5) -> None:
                super().__init__()
                self.groups = c // group_size if group_size else groups
                self.eps = eps
                self.weight = nn().Parameter(torch.rand(c))
                self.bias = nn().Parameter(torch.rand(c))
                self.v = nn().Parameter(torch.rand(c)) if apply_act else None

            def group_std(self, x: Any) -> Any:
                b, c, h, w = x.shape
                x = x.reshape(b, self.groups, c // self.groups, h, w)
                std = x.float().var(dim=(2, 3, 4), unbiased=False, keepdim=True).add(self.eps).sqrt().to(x.dtype)
                return std.expand(x.shape).reshape(b, c, h, w)

            def forward(self, x: Any) -> Any:
                shape = (1, -1, 1, 1)
                if after_std:
                    d = self.group_std(x)
                    if self.v is not None:
                        x = x * (x * self.v.view(shape).to(x.dtype)).sigmoid()
                    x = x / d
                elif self.v is not None:
                    x = x * (x * self.v.view(shape).to(x.dtype)).sigmoid() / self.group_std(x)
                return x * self.weight.view(shape).to(x.dtype) + self.bias.view(shape).to(x.dtype)

        return EvoNorm(shape[0], **args)

    return twin


TWINS.update({"evonorm2ds0": _evonorm(False), "evonorm2ds0a": _evonorm(True)})

AUTOGRAD += [
    pytest.param("evonorm2ds0: {groups: 2}", lambda nn: _evonorm(False)({"groups": 2}, (4, 8, 8)), id="evonorm-s0"),
    pytest.param("evonorm2ds0a: {groups: 1, apply_act: false}",
                 lambda nn: _evonorm(True)({"groups": 1, "apply_act": False}, (4, 8, 8)),
                 id="evonorm-s0a one group without act"),
]

PEER_CASES += [
    pytest.param("torchinfo", "evonorm2ds0", {"groups": 2}, (8, 6, 6), 2 * 8,
                 id="torchinfo evonorm: weight and bias, not v"),
    pytest.param("fvcore", "evonorm2ds0a", {"groups": 2}, (8, 6, 6), 0, id="fvcore evonorm: no handled op"),
    pytest.param("ptflops", "evonorm2ds0a", {"groups": 2}, (8, 6, 6), 0, id="ptflops evonorm: no patched call"),
]


def _evonorm_args(rng: random.Random, shape: Shape) -> Args | None:
    if len(shape) != 3:
        return None
    args: Args = {"apply_act": rng.random() < 0.7}
    if rng.random() < 0.5:
        args["group_size"] = rng.choice(divisors(shape[0]))
    else:
        args["groups"] = rng.choice(divisors(shape[0]))
    return args


GENERATORS.update({"evonorm2ds0": _evonorm_args, "evonorm2ds0a": _evonorm_args})


def _evonorm_strategy(s: Shape) -> st.SearchStrategy[Args]:
    return st.fixed_dictionaries({}, optional={
        "groups": st.sampled_from(divisors(s[0])), "apply_act": st.booleans(), "eps": st.floats(1e-6, 1e-2)})


STRATEGIES.update({"evonorm2ds0": _evonorm_strategy, "evonorm2ds0a": _evonorm_strategy})


def test_evonorm_twin_computes_what_timm_computes() -> None:
    """The twin above against timm's own modules, where timm is installed."""
    torch = pytest.importorskip("torch")
    evo = pytest.importorskip("timm.layers.evo_norm")
    for cls, after_std in ((evo.EvoNorm2dS0, False), (evo.EvoNorm2dS0a, True)):
        for args in ({"groups": 4}, {"group_size": 2, "apply_act": False}):
            twin = _evonorm(after_std)(args, (8, 5, 5)).eval()
            ref = cls(8, **args).eval()
            ref.load_state_dict(twin.state_dict())
            x = torch.randn(2, 8, 5, 5)
            assert torch.equal(twin(x), ref(x)), (cls.__name__, args)


def test_evonorm_refuses_groups_that_do_not_divide_the_channels() -> None:
    """timm asserts C % groups == 0 in group_std."""
    with pytest.raises(CnnCalcError, match="not divisible by groups 5"):
        analyse(spec.load("bad.yaml", text=network_text([8, 4, 4], [{"evonorm2ds0": {"groups": 5, "name": "e"}}])))


# EvoNorm-B0: batch statistics in training, the running variance in evaluation

CASES += [
    pytest.param("evonorm2db0", None, [64, 14, 14], [64, 14, 14], 3 * 64, 64, 0,
                 (1 + 4 + 1 + 1 + 1 + 2) * 64 * 14 * 14, id="evonorm-b0 (evaluation)"),
    pytest.param("evonorm2db0", {"apply_act": False, "eps": 1e-5}, [8, 5, 5], [8, 5, 5], 2 * 8, 8, 0, 2 * 200,
                 id="evonorm-b0 without act: the affine, the running variance still a buffer"),
]

SAVED += [
    # the input, the batch std per step, v, the instance std, v·x + s, the max, x / max, γ
    pytest.param("evonorm2db0", {}, [X],
                 [("input", E), ("fp32", 4, STEP), ("weight", 4, STEP), ("fp32", 4), ("act", E), ("act", E),
                  ("act", E), ("weight", 4, STEP)], id="evonorm-b0 (training)"),
    pytest.param("evonorm2db0", {"apply_act": False}, [X], [("input", E), ("weight", 4, STEP)],
                 id="evonorm-b0 without act"),
]


def _evonorm_b0(args: Args, shape: Shape) -> Any:
    """timm's EvoNorm2dB0, transcribed from timm/layers/evo_norm.py; random parameters, running_var 1."""
    import torch

    class EvoNormB0(nn().Module):  # type: ignore[misc]
        def __init__(self, c: int, apply_act: bool = True, momentum: float = 0.1, eps: float = 1e-3) -> None:
            super().__init__()
            self.momentum, self.eps = momentum, eps
            self.weight = nn().Parameter(torch.rand(c))
            self.bias = nn().Parameter(torch.rand(c))
            self.v = nn().Parameter(torch.rand(c)) if apply_act else None
            self.register_buffer("running_var", torch.ones(c))

        def forward(self, x: Any) -> Any:
            shape = (1, -1, 1, 1)
            if self.v is not None:
                if self.training:
                    var = x.float().var(dim=(0, 2, 3), unbiased=False)
                    n = x.numel() / x.shape[1]
                    self.running_var.copy_(self.running_var * (1 - self.momentum)
                                           + var.detach() * self.momentum * (n / (n - 1)))
                else:
                    var = self.running_var
                left = var.add(self.eps).sqrt_().to(x.dtype).view(shape).expand_as(x)
                std = x.float().var(dim=(2, 3), unbiased=False, keepdim=True).add(self.eps).sqrt().to(x.dtype)
                x = x / left.max(x * self.v.to(x.dtype).view(shape) + std.expand(x.shape))
            return x * self.weight.to(x.dtype).view(shape) + self.bias.to(x.dtype).view(shape)

    return EvoNormB0(shape[0], **args)


TWINS["evonorm2db0"] = _evonorm_b0

AUTOGRAD += [
    pytest.param("evonorm2db0", lambda nn: _evonorm_b0({}, (4, 8, 8)), id="evonorm-b0 training"),
]

PEER_CASES += [
    pytest.param("torchinfo", "evonorm2db0", {}, (8, 6, 6), 2 * 8, id="torchinfo evonorm-b0: weight and bias"),
]

GENERATORS["evonorm2db0"] = lambda rng, s: {"apply_act": rng.random() < 0.7} if len(s) == 3 else None
STRATEGIES["evonorm2db0"] = lambda s: st.fixed_dictionaries({}, optional={
    "apply_act": st.booleans(), "eps": st.floats(1e-6, 1e-2), "momentum": st.floats(0.01, 0.5)})


def test_evonorm_b0_twin_computes_what_timm_computes() -> None:
    """The twin against timm's EvoNorm2dB0, in training (batch statistics) and in evaluation."""
    torch = pytest.importorskip("torch")
    evo = pytest.importorskip("timm.layers.evo_norm")
    for args in ({}, {"apply_act": False}):
        twin, ref = _evonorm_b0(args, (8, 5, 5)), evo.EvoNorm2dB0(8, **args)
        ref.load_state_dict(twin.state_dict())
        x = torch.randn(3, 8, 5, 5)
        assert torch.equal(twin(x), ref(x)), args
        assert torch.equal(twin.running_var, ref.running_var)
        assert torch.equal(twin.eval()(x), ref.eval()(x)), args


_EVO_NET = [{"conv2d": {"out_channels": 8, "kernel_size": 3}}, {"evonorm2ds0": {"groups": 4}},
            {"evonorm2ds0a": {"group_size": 2, "apply_act": False}}, {"evonorm2ds0": {"apply_act": False}},
            {"evonorm2db0": {"eps": 1e-5}}, {"evonorm2db0": {"apply_act": False}}]


@pytest.mark.torch
def test_exported_evonorms_import_exactly(tmp_path: Any) -> None:
    """The module the export writes, imported back: the same rows, and exact under the six checks of the harness."""
    pytest.importorskip("torch")
    import import_harness as harness

    from cnncalc import from_torch
    from cnncalc.export import to_pytorch
    from cnncalc.graph import build

    namespace: dict[str, Any] = {}
    exec(compile(to_pytorch(build(spec.load("evo.yaml", text=network_text([3, 9, 9], _EVO_NET)))), "<export>", "exec"),
         namespace)
    model = harness.on_meta(namespace["Model"])
    text = from_torch(model, (3, 9, 9))
    rows = [r for r in analyse(spec.load("back.yaml", text=text)).layers if r.type.startswith("evonorm")]
    assert [(r.type, r.label) for r in rows] == [
        ("evonorm2ds0", "groups 4"), ("evonorm2ds0a", "groups 4, no act"), ("evonorm2ds0", "groups 32, no act"),
        ("evonorm2db0", ""), ("evonorm2db0", "no act")]
    harness.assert_exact(model, (3, 9, 9), text, tmp_path)


@pytest.mark.torch
def test_timm_evonorms_import_exactly(tmp_path: Any) -> None:
    """timm's own modules, in evaluation as the import captures them, exact under the harness."""
    pytest.importorskip("torch")
    evo = pytest.importorskip("timm.layers.evo_norm")
    import import_harness as harness

    from cnncalc import from_torch

    def make() -> Any:
        return nn().Sequential(nn().Conv2d(3, 8, 3), evo.EvoNorm2dS0(8, groups=2), evo.EvoNorm2dS0a(8, group_size=8),
                               evo.EvoNorm2dS0a(8, groups=4, apply_act=False), evo.EvoNorm2dS0(8, apply_act=False),
                               evo.EvoNorm2dB0(8, momentum=0.2), evo.EvoNorm2dB0(8, apply_act=False))

    model = harness.on_meta(make)
    text = from_torch(model, (3, 9, 9))
    types = [r.type for r in analyse(spec.load("timm.yaml", text=text)).layers]
    assert types == ["conv2d", "evonorm2ds0", "evonorm2ds0a", "evonorm2ds0a", "evonorm2ds0", "evonorm2db0",
                     "evonorm2db0"]
    harness.assert_exact(model, (3, 9, 9), text, tmp_path)
# -- simplenorm, simplenorm2d, rmsnorm, rmsnorm2d: x · rsqrt(s(x) + eps) · w, x not centred, no bias ----------

CASES += [
    # FLOPs: the variance 4E (mean, subtract, square, add), the multiply by rsqrt E, the weight E
    pytest.param("simplenorm", None, [7, 7, 96], [7, 7, 96], 96, 0, 0, (4 + 1 + 1) * 7 * 7 * 96,
                 id="simplenorm over the last axis (timm SimpleNorm)"),
    pytest.param("simplenorm2d", None, [40, 56, 56], [40, 56, 56], 40, 0, 0, (4 + 1 + 1) * 40 * 56 * 56,
                 id="simplenorm2d over channels (ConvNeXt rms)"),
    pytest.param("simplenorm2d", {"elementwise_affine": False}, [8, 5, 5], [8, 5, 5], 0, 0, 0, (4 + 1) * 200,
                 id="simplenorm2d without weight"),
    pytest.param("simplenorm", {"normalized_shape": [6, 8]}, [4, 6, 8], [4, 6, 8], 6 * 8, 0, 0, 6 * 192,
                 id="simplenorm over 2 axes"),
    # FLOPs: the mean of squares 2E (square, add), the multiply by rsqrt E, the weight E
    pytest.param("rmsnorm", None, [7, 7, 96], [7, 7, 96], 96, 0, 0, (2 + 1 + 1) * 7 * 7 * 96,
                 id="rmsnorm over the last axis (nn.RMSNorm)"),
    pytest.param("rmsnorm", {"elementwise_affine": False, "eps": 1e-6}, [10, 16], [10, 16], 0, 0, 0, 3 * 160,
                 id="rmsnorm without weight"),
    pytest.param("rmsnorm2d", None, [32, 14, 14], [32, 14, 14], 32, 0, 0, 4 * 32 * 196,
                 id="rmsnorm2d over channels (timm RmsNorm2d)"),
]

SAVED += [
    # s(x) keeps x, rsqrt its result (one per row), (x·r)·w keeps x·r and w
    pytest.param("simplenorm", {}, [X], [("input", E), ("act", 4 * 6), ("act", E), ("weight", 6, STEP)],
                 id="simplenorm: one inverse std per row"),
    pytest.param("simplenorm2d", {}, [X], [("input", E), ("act", 6 * 6), ("act", E), ("weight", 4, STEP)],
                 id="simplenorm2d: one inverse std per position"),
    pytest.param("simplenorm2d", {"elementwise_affine": False}, [X], [("input", E), ("act", 6 * 6)],
                 id="simplenorm2d without weight"),
    pytest.param("rmsnorm", {"normalized_shape": [6, 6]}, [X],
                 [("input", E), ("act", 4), ("act", E), ("weight", 36, STEP)], id="rmsnorm over 2 axes"),
    pytest.param("rmsnorm2d", {}, [X], [("input", E), ("act", 6 * 6), ("act", E), ("weight", 4, STEP)],
                 id="rmsnorm2d"),
]


def _rsqrt_norm(stat: str, channels_first: bool) -> Any:
    """x · rsqrt(s(x) + eps) · w, as timm's simple_norm and rms_norm2d write it (layers/fast_norm.py)."""

    def build(args: Args, shape: Shape) -> Any:
        import torch

        affine = args.get("elementwise_affine", True)
        eps = args.get("eps", 1e-6)
        ns = (shape[0],) if channels_first else tuple(shape[len(shape) - len(_ns(args, shape)):])
        dims = (1,) if channels_first else tuple(range(-1, -len(ns) - 1, -1))

        class Norm(nn().Module):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__()
                self.weight = nn().Parameter(torch.rand(ns)) if affine else None

            def forward(self, x: Any) -> Any:
                s = torch.var(x, dim=dims, keepdim=True) if stat == "var" else x.pow(2).mean(dim=dims, keepdim=True)
                x = x * torch.rsqrt(s + eps)
                if self.weight is None:
                    return x
                return x * (self.weight.reshape(1, -1, 1, 1) if channels_first else self.weight)

        return Norm()

    return build


def _ns(args: Args, shape: Shape) -> list[int]:
    ns = args.get("normalized_shape", shape[-1])
    return list(ns) if isinstance(ns, (list, tuple)) else [ns]


def _simplenorm2d(args: Args, shape: Shape) -> Any:
    """timm's SimpleNorm2d: permute to channels-last, simple_norm over C, permute back."""
    inner = _rsqrt_norm("var", False)(args, (*shape[1:], shape[0]))
    return Lambda(lambda x, _: inner(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2), inner.weight) \
        if inner.weight is not None else Lambda(lambda x: inner(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))


def _rmsnorm(args: Args, shape: Shape) -> Any:
    a = dict(args)
    ns = _ns(a, shape)
    a["normalized_shape"] = ns
    return nn().RMSNorm(**a)


TWINS.update({
    "simplenorm": _rsqrt_norm("var", False),
    "simplenorm2d": _simplenorm2d,
    "rmsnorm": _rmsnorm,
    "rmsnorm2d": _rsqrt_norm("ms", True),
})

AUTOGRAD += [
    pytest.param("simplenorm2d", lambda nn: _simplenorm2d({}, (4, 8, 8)), id="simplenorm2d"),
    pytest.param("simplenorm: {normalized_shape: [8, 8], elementwise_affine: false}",
                 lambda nn: _rsqrt_norm("var", False)({"normalized_shape": [8, 8], "elementwise_affine": False},
                                                      (4, 8, 8)), id="simplenorm 2 axes, no weight"),
    pytest.param("rmsnorm", lambda nn: nn.RMSNorm(8), id="rmsnorm (nn.RMSNorm)"),
    pytest.param("rmsnorm2d", lambda nn: _rsqrt_norm("ms", True)({}, (4, 8, 8)), id="rmsnorm2d"),
]

PEER_CASES += [
    pytest.param("torchinfo", "simplenorm2d", {}, (8, 6, 6), 8, id="torchinfo simplenorm2d: its weight"),
    pytest.param("torchinfo", "rmsnorm", {"elementwise_affine": False}, (8, 6, 6), 0,
                 id="torchinfo rmsnorm without weight: 0"),
    pytest.param("fvcore", "rmsnorm", {}, (8, 6, 6), 0, id="fvcore rmsnorm (aten.rms_norm unhandled): 0"),
]


def _rsqrt_norm_args(rng: random.Random, shape: Shape) -> Args | None:
    # the unbiased variance of one value is NaN (PyTorch warns): normalise over more than one
    k = rng.randint(1, len(shape))
    if math.prod(shape[len(shape) - k:]) < 2:
        return None
    args: Args = {"elementwise_affine": rng.random() < 0.7, "eps": rng.choice([1e-6, 1e-5])}
    if k > 1 or rng.random() < 0.5:
        args["normalized_shape"] = list(shape[len(shape) - k:])
    return args


def _rsqrt_norm2d_args(rng: random.Random, shape: Shape) -> Args | None:
    if len(shape) != 3 or shape[0] < 2:
        return None
    return {"elementwise_affine": rng.random() < 0.7, "eps": rng.choice([1e-6, 1e-5])}


GENERATORS.update({
    "simplenorm": _rsqrt_norm_args,
    "simplenorm2d": _rsqrt_norm2d_args,
    "rmsnorm": _rsqrt_norm_args,
    "rmsnorm2d": _rsqrt_norm2d_args,
})


def _rsqrt_norm_strategy(s: Shape) -> st.SearchStrategy[Args]:
    return st.fixed_dictionaries({}, optional={
        "normalized_shape": st.integers(0, len(s) - 1).map(lambda k: list(s[k:])),
        "elementwise_affine": st.booleans(), "eps": st.floats(1e-6, 1e-3)})


STRATEGIES.update({
    "simplenorm": _rsqrt_norm_strategy,
    "rmsnorm": _rsqrt_norm_strategy,
    "simplenorm2d": lambda s: st.fixed_dictionaries({}, optional={"elementwise_affine": st.booleans()}),
    "rmsnorm2d": lambda s: st.fixed_dictionaries({}, optional={"elementwise_affine": st.booleans()}),
})


def test_simplenorm_is_not_layernorm_nor_rmsnorm() -> None:
    """The three differ on one input: SimpleNorm divides the uncentred x by the (unbiased) std, RMSNorm by the rms."""
    torch = pytest.importorskip("torch")
    x = torch.tensor([[1.0, 2.0, 3.0, 6.0]])
    simple = _rsqrt_norm("var", False)({"elementwise_affine": False, "eps": 0.0}, (4,))(x)
    # var (unbiased) of 1, 2, 3, 6: mean 3, (4 + 1 + 0 + 9) / (4 - 1) = 14/3
    assert torch.allclose(simple, x / math.sqrt(14 / 3))
    rms = nn().RMSNorm(4, eps=0.0, elementwise_affine=False)(x)
    assert torch.allclose(rms, x / math.sqrt((1 + 4 + 9 + 36) / 4))


# -- filterresponsenorm2d: x · rsqrt(mean(x², (H, W)) + eps) · w + b, then max(., tau) -----------------------

CASES += [
    # FLOPs: square, add, multiply by rsqrt 3E; w·x + b 2E; max with tau E
    pytest.param("filterresponsenorm2d", None, [64, 56, 56], [64, 56, 56], 3 * 64, 0, 0, 6 * 64 * 56 * 56,
                 id="frn with TLU (resnetv2 frn)"),
    pytest.param("filterresponsenorm2d", {"tlu": False, "eps": 1e-6}, [8, 5, 5], [8, 5, 5], 2 * 8, 0, 0, 5 * 200,
                 id="frn without TLU (FilterResponseNormAct2d's norm)"),
]

SAVED += [
    pytest.param("filterresponsenorm2d", {}, [X],
                 [("input", E), ("act", 4), ("act", E), ("weight", 4, STEP), ("act", E), ("weight", 4, STEP)],
                 id="frn: an inverse rms per channel, x·r, y for the max"),
    pytest.param("frn", {"tlu": False}, [X], [("input", E), ("act", 4), ("act", E), ("weight", 4, STEP)],
                 id="frn without TLU"),
]


def _frn(args: Args, shape: Shape) -> Any:
    """timm's FilterResponseNormTlu2d (layers/filter_response_norm.py), its casts to x's dtype left out."""
    import torch

    eps, tlu = args.get("eps", 1e-5), args.get("tlu", True)

    class FRN(nn().Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn().Parameter(torch.rand(shape[0]))
            self.bias = nn().Parameter(torch.rand(shape[0]))
            self.tau = nn().Parameter(torch.rand(shape[0])) if tlu else None

        def forward(self, x: Any) -> Any:
            rms = x.square().mean(dim=(2, 3), keepdim=True).add(eps).rsqrt()
            x = x * rms.expand(x.shape)
            x = x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
            return torch.maximum(x, self.tau.reshape(1, -1, 1, 1)) if self.tau is not None else x

    return FRN()


TWINS.update({"filterresponsenorm2d": _frn})
AUTOGRAD += [
    pytest.param("frn", lambda nn: _frn({}, (4, 8, 8)), id="frn"),
    pytest.param("frn: {tlu: false}", lambda nn: _frn({"tlu": False}, (4, 8, 8)), id="frn without TLU"),
]
PEER_CASES += [
    pytest.param("torchinfo", "frn", {}, (8, 6, 6), 2 * 8, id="torchinfo frn: weight and bias, not tau"),
]
GENERATORS.update({
    "filterresponsenorm2d": lambda rng, s: {"tlu": rng.random() < 0.7, "eps": rng.choice([1e-5, 1e-6])}
    if len(s) == 3 else None,
})
STRATEGIES.update({
    "filterresponsenorm2d": lambda s: st.fixed_dictionaries({}, optional={"tlu": st.booleans(),
                                                                          "eps": st.floats(1e-6, 1e-3)}),
})


# -- bias: false on groupnorm, layernorm and layernorm2d: a weight without a bias ---------------------------

CASES += [
    # γ·x without β: one multiply per element after the 5E of the statistics and normalisation
    pytest.param("groupnorm", {"num_groups": 1, "bias": False}, [64, 56, 56], [64, 56, 56], 64, 0, 0,
                 (5 + 1) * 64 * 56 * 56, id="groupnorm without bias (PoolFormerV2)"),
    pytest.param("layernorm", {"bias": False}, [7, 7, 96], [7, 7, 96], 96, 0, 0, (5 + 1) * 7 * 7 * 96,
                 id="layernorm without bias"),
    pytest.param("layernorm2d", {"bias": False}, [96, 7, 7], [96, 7, 7], 96, 0, 0, (5 + 1) * 96 * 49,
                 id="layernorm2d without bias (MetaFormer LayerNorm2dNoBias)"),
]

# F.group_norm keeps the same tensors with or without a bias (native_group_norm's backward does not need it)
SAVED += [
    pytest.param("groupnorm", {"num_groups": 2, "bias": False}, [X], [("input", E), ("fp32", 2 * 2)],
                 id="groupnorm without bias"),
]

AUTOGRAD += [
    pytest.param("groupnorm: {num_groups: 1, bias: false}", lambda nn: nn.GroupNorm(1, 4, bias=False),
                 id="groupnorm without bias"),
    pytest.param("layernorm: {bias: false}", lambda nn: nn.LayerNorm(8, bias=False), id="layernorm without bias"),
]

PEER_CASES += [
    # fvcore's norm_flop_counter: 5E when there is a weight; ptflops' hook doubles when affine; torchinfo: γ
    pytest.param("fvcore", "groupnorm", {"num_groups": 2, "bias": False}, (8, 6, 6), 5 * PE,
                 id="fvcore groupnorm without bias: 5E"),
    pytest.param("ptflops", "groupnorm", {"num_groups": 2, "bias": False}, (8, 6, 6), 2 * PE,
                 id="ptflops groupnorm without bias: 2E"),
    pytest.param("torchinfo", "groupnorm", {"num_groups": 2, "bias": False}, (8, 6, 6), 8,
                 id="torchinfo groupnorm without bias: its weight"),
]


def _with_bias(gen: Generator, field: str) -> Generator:
    """``gen``'s arguments, with ``bias: false`` now and then where ``field`` (affine) is on."""

    def wrapped(rng: random.Random, shape: Shape) -> Args | None:
        args = gen(rng, shape)
        if args is not None and args.get(field, True) and rng.random() < 0.3:
            args = {**args, "bias": False}
        return args

    return wrapped


GENERATORS.update({
    "groupnorm": _with_bias(GENERATORS["groupnorm"], "affine"),
    "layernorm2d": _with_bias(GENERATORS["layernorm2d"], "elementwise_affine"),
})
STRATEGIES.update({
    "groupnorm": lambda s: st.fixed_dictionaries({"num_groups": st.sampled_from(divisors(s[0]))}, optional={
        "affine": st.booleans(), "num_channels": st.just(s[0]), "bias": st.booleans()}),
    "layernorm2d": lambda s: st.fixed_dictionaries({}, optional={"elementwise_affine": st.booleans(),
                                                                 "bias": st.booleans()}),
})


# -- scalaraffine: scale · x + bias, one learnable value each (HGNetV2's LearnableAffineBlock) ---------------

CASES += [
    pytest.param("scalaraffine", None, [16, 56, 56], [16, 56, 56], 2, 0, 0, 2 * 16 * 56 * 56,
                 id="scalar affine: a multiply and an add per element"),
    pytest.param("scalaraffine", {"scale_value": 0.5, "bias_value": 0.1}, [10], [10], 2, 0, 0, 2 * 10,
                 id="scalar affine on a vector"),
]
SAVED += [
    pytest.param("scalaraffine", {}, [X], [("input", E), ("weight", 1, STEP)], id="scalar affine: x and scale"),
]


def _scalar_affine(args: Args, shape: Shape) -> Any:
    """timm's LearnableAffineBlock (models/hgnet.py); with square, StarReLU (models/metaformer.py) after its ReLU."""
    import torch

    square = args.get("square", False)

    class LearnableAffineBlock(nn().Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn().Parameter(torch.tensor([args.get("scale_value", 1.0)]))
            self.bias = nn().Parameter(torch.tensor([args.get("bias_value", 0.0)]))

        def forward(self, x: Any) -> Any:
            return self.scale * x ** 2 + self.bias if square else self.scale * x + self.bias

    return LearnableAffineBlock()


TWINS.update({"scalaraffine": _scalar_affine})
AUTOGRAD += [pytest.param("scalaraffine", lambda nn: _scalar_affine({}, (4, 8, 8)), id="scalar affine")]
PEER_CASES += [
    pytest.param("torchinfo", "scalaraffine", {}, (8, 6, 6), 1, id="torchinfo scalar affine: its bias, once"),
]
GENERATORS.update({
    "scalaraffine": lambda rng, s: {"scale_value": rng.choice([1.0, 0.5]), "bias_value": rng.choice([0.0, 0.1]),
                                    "square": rng.random() < 0.4},
})
STRATEGIES.update({
    "scalaraffine": lambda s: st.fixed_dictionaries({}, optional={"scale_value": st.floats(-2, 2),
                                                                  "bias_value": st.floats(-2, 2),
                                                                  "square": st.booleans()}),
})

# scalaraffine with square: MetaFormer's StarReLU after its ReLU, scale · x² + bias
CASES += [
    pytest.param("scalaraffine", {"square": True}, [64, 56, 56], [64, 56, 56], 2, 0, 0, 3 * 64 * 56 * 56,
                 id="scalar affine of the square (StarReLU): square, multiply, add"),
]
SAVED += [
    pytest.param("scalaraffine", {"square": True}, [X], [("input", E), ("act", E), ("weight", 1, STEP)],
                 id="scalar affine of the square: x, x² and scale"),
]
AUTOGRAD += [
    pytest.param("scalaraffine: {square: true}", lambda nn: _scalar_affine({"square": True}, (4, 8, 8)),
                 id="scalar affine of the square"),
]
