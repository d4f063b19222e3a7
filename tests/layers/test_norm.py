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
