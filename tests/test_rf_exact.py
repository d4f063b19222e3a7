"""Receptive fields, exact for every output unit, against a gradient probe in PyTorch.

The probe: the network cnncalc exports, in float64 with every weight made positive (so that no
path cancels another), max pooling swapped for average pooling of the same geometry (the same
field, but every position gets a gradient, not only the maximum), and no activation. Each probed
output unit is backpropagated from on its own sample of a batch; the first and last input
position with a nonzero gradient are the unit's field. They must equal the positions cnncalc
gives for that unit (``AxisRF.bounds``), for a full period of units on every axis, and so the
largest (``size``) and the smallest (``size_min``) field over the units must equal the probe's.

cnncalc's field counts padding positions (the input is taken as unbounded): only units whose
field lies inside the input are probed, and there the two definitions agree.
"""

from __future__ import annotations

import importlib.util
import random
from fractions import Fraction
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from cnncalc import analyse, spec
from cnncalc.errors import CnnCalcError
from cnncalc.export import to_pytorch
from cnncalc.graph import Graph, build
from cnncalc.layers import rf as rf_module
from cnncalc.layers.rf import RF, UNIT_AXIS, WHOLE_AXIS, AxisRF, merge_axes

Net = dict[str, Any]


def graph_of(net: Net) -> Graph:
    """The cnncalc graph of a network given as a dict in the file format."""
    return build(spec.load(f"{net['name']}.yaml", text=yaml.safe_dump(net, sort_keys=False)))


def fields(net: Net) -> dict[str, RF]:
    """Each layer's field, by name."""
    return {r.name: r.rf for r in analyse(graph_of(net)).layers}


# ---------------------------------------------------------------------------------------------
# the algebra alone: arithmetic a reader can check


def chain(steps: list[tuple[int, int, int]], up: bool = False) -> list[AxisRF]:
    """Fields after a chain of windows (or transposed convolutions) ``(k, s, p)`` in 1-D."""
    layers = [{("convtranspose1d" if up else "conv1d"): {"out_channels": 1, "kernel_size": k, "stride": s,
                                                          "padding": p}} for k, s, p in steps]
    got = fields({"name": "chain", "input": [1, 64], "layers": layers})
    return [rf.axes[0] for rf in got.values()]


def test_transposed_chain_no_longer_rounds_up() -> None:
    # convtranspose1d(k4, s2, p1): output t reads inputs (t + 1 − i)/2 for the i in 0..3 that
    # divide; two inputs each, so after one layer every unit sees 2 pixels; after the next, the
    # two inputs' fields are 2 pixels each, at 1/2 pixel apart: 2 or 3 pixels with the phase
    got = chain([(4, 2, 1)] * 4, up=True)
    assert [(a.size_min, a.size) for a in got] == [(2, 2), (2, 3), (2, 3), (2, 3)]
    assert [a.jump for a in got] == [Fraction(1, 2), Fraction(1, 4), Fraction(1, 8), Fraction(1, 16)]


@pytest.mark.parametrize(("steps", "size", "jump"), [
    pytest.param([(3, 1, 1)] * 3, 1 + 3 * 2, 1, id="three 3x3 s1: 1 + 3·2"),
    pytest.param([(7, 2, 3), (3, 2, 1)], 1 + 6 + 2 * 2, 4, id="7s2 then 3s2: 1 + 6 + 2·2"),
    pytest.param([(11, 4, 2), (3, 2, 0), (5, 1, 2)], 1 + 10 + 2 * 4 + 4 * 8, 8, id="alexnet-like: 1 + 10 + 2·4 + 4·8"),
])
def test_a_chain_of_windows_is_the_textbook_formula(steps: list[tuple[int, int, int]], size: int, jump: int) -> None:
    last = chain(steps)[-1]
    assert (last.size_min, last.size, last.jump, last.period) == (size, size, jump, 1)


def test_nearest_upsampling_has_phases() -> None:
    # ×2 nearest then a 3-wide window: unit t reads up-units t−1..t+1 = input floor((t−1)/2) ..
    # floor((t+1)/2): 2 pixels for every t (the window straddles one boundary), jump 1/2
    net = {"name": "up", "input": [1, 32], "layers": [
        {"upsample": {"scale_factor": 2}},
        {"conv1d": {"out_channels": 1, "kernel_size": 3, "padding": 1}},
        {"conv1d": {"out_channels": 1, "kernel_size": 2}}]}
    up, conv3, conv2 = (rf.axes[0] for rf in fields(net).values())
    assert (up.size_min, up.size, up.jump) == (1, 1, Fraction(1, 2))
    assert (conv3.size_min, conv3.size) == (2, 2)
    # then a 2-wide window: up-units t−1..t+1 or t..t+2: 2 or 3 pixels by the phase of t
    assert (conv2.size_min, conv2.size, conv2.period) == (2, 3, 2)


@pytest.mark.parametrize(("scale", "sizes"), [
    # x = (u + ½)/s − ½; two pixels, floor(x) and the next, except where x is whole
    pytest.param(2, [2, 2], id="×2: x = u/2 − 1/4, never whole: 2, 2"),
    pytest.param(3, [2, 1, 2], id="×3: x = (u − 1)/3, whole at u = 1: 2, 1, 2"),
    pytest.param(4, [2, 2, 2, 2], id="×4: x = u/4 − 3/8: 2 each"),
])
def test_linear_upsampling_reads_two_pixels_or_one(scale: int, sizes: list[int]) -> None:
    net = {"name": "lin", "input": [1, 16], "layers": [{"upsample": {"scale_factor": scale, "mode": "linear"}}]}
    a = next(iter(fields(net).values())).axes[0]
    assert [a.bounds(u)[1] - a.bounds(u)[0] + 1 for u in range(scale)] == sizes  # type: ignore[index]
    assert (a.size_min, a.size, a.jump) == (min(sizes), max(sizes), Fraction(1, scale))


def test_shift_and_pick_move_units() -> None:
    a = UNIT_AXIS.window(2, 1, 1)  # unit u sees u−1 … u+1
    assert a.shift(5).bounds(0) == (4, 6)
    assert a.shift(-2).bounds(3) == (0, 2)
    b = a.pick(1, 3)  # unit u is unit 1 + 3u
    assert (b.bounds(0), b.bounds(2), b.jump) == ((0, 2), (6, 8), 3)
    assert WHOLE_AXIS.shift(3) is WHOLE_AXIS


_phase = st.lists(st.tuples(st.integers(-20, 20), st.integers(0, 6)), min_size=1, max_size=6)


@given(raw=_phase, advance=st.integers(1, 12), offset=st.integers(-30, 30))
def test_shift_moves_every_unit(raw: list[tuple[int, int]], advance: int, offset: int) -> None:
    lo = [a for a, _ in raw]
    a = AxisRF.phases(lo, [x + w for x, w in zip(lo, (w for _, w in raw))], advance)
    moved = a.shift(offset)
    for u in range(-10, 10):
        assert moved.bounds(u) == a.bounds(u + offset)


@given(raw=_phase, advance=st.integers(1, 12))
def test_phases_reduce_to_the_same_fields(raw: list[tuple[int, int]], advance: int) -> None:
    lo = [a for a, _ in raw]
    hi = [x + w for x, w in zip(lo, (w for _, w in raw))]
    a = AxisRF.phases(lo, hi, advance)
    assert a.period <= len(lo)
    p = len(lo)
    for u in range(-2 * p, 3 * p):
        k, t = divmod(u, p)
        assert a.bounds(u) == (lo[t] + k * advance, hi[t] + k * advance)
    assert a.size == max(h - low + 1 for low, h in zip(lo, hi))
    assert a.size_min == min(h - low + 1 for low, h in zip(lo, hi))
    assert a.jump == Fraction(advance, p)


@given(raw=_phase, raw2=_phase, advance=st.integers(1, 6))
def test_merge_is_the_union_per_unit(raw: list[tuple[int, int]], raw2: list[tuple[int, int]], advance: int) -> None:
    def field(r: list[tuple[int, int]]) -> AxisRF:
        lo = [x for x, _ in r]
        # the same jump for both: advance per unit, times the period
        return AxisRF.phases(lo, [x + w for x, (_, w) in zip(lo, r)], advance * len(r))

    a, b = field(raw), field(raw2)
    merged, mixed = merge_axes([a, b])
    assert not mixed
    for u in range(-12, 12):
        ba, bb = a.bounds(u), b.bounds(u)
        assert merged.bounds(u) == (min(ba[0], bb[0]), max(ba[1], bb[1]))  # type: ignore[index]


def test_a_period_too_long_follows_the_layers_own_units(monkeypatch: pytest.MonkeyPatch) -> None:
    # adaptive pooling 45 → 34 then 34 → 25: a period of 34·25/gcd… units; with the bound set
    # below it, each layer's own units keep the fields the full period gives them
    net = {"name": "odd", "input": [1, 45], "layers": [
        {"upsample": {"size": 67, "mode": "linear"}},
        {"adaptiveavgpool1d": {"output_size": 34}},
        {"adaptiveavgpool1d": {"output_size": 25}},
        {"conv1d": {"out_channels": 1, "kernel_size": 3, "padding": 1}}]}
    full = fields(net)
    assert max(rf.axes[0].period for rf in full.values()) > 25
    monkeypatch.setattr(rf_module, "MAX_PERIOD", 4)
    cut = fields(net)
    for (name, a), b, n in zip(full.items(), cut.values(), (67, 34, 25, 25)):
        assert b.axes[0].period <= max(a.axes[0].period, n)
        assert [b.axes[0].bounds(u) for u in range(n)] == [a.axes[0].bounds(u) for u in range(n)], name
        assert b.axes[0].jump == a.axes[0].jump


def test_the_same_field_for_every_unit_keeps_its_constructor() -> None:
    a = AxisRF(5, Fraction(2), Fraction(3))
    assert (a.bounds(0), a.bounds(1), a.size_min, a.period) == ((1, 5), (3, 7), 5, 1)
    with pytest.raises(ValueError, match="AxisRF.phases"):
        AxisRF(4, Fraction(1, 2), Fraction(0))


# ---------------------------------------------------------------------------------------------
# the gradient probe

def probe_model(graph: Graph) -> Any:
    """The exported module in float64, weights positive, max pooling as average pooling."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    namespace: dict[str, Any] = {}
    exec(compile(to_pytorch(graph), "<export>", "exec"), namespace)
    model = namespace["Model"]().double().eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand(p.shape, generator=gen, dtype=p.dtype) + 0.5)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            kind = type(child).__name__
            if kind.startswith("MaxPool"):
                d = child.dilation if isinstance(child.dilation, tuple) else (child.dilation,)
                assert set(d) == {1}, "a dilated max pool has no average-pool twin"
                avg = getattr(nn, kind.replace("Max", "Avg"))
                setattr(parent, name, avg(child.kernel_size, child.stride, child.padding, child.ceil_mode))
    return model


def probe(net: Net, names: list[str] | None = None, limit: int = 128) -> dict[str, bool]:
    """Check every spatial layer's field (or those named) unit by unit, at most ``limit`` units per axis.

    Returns, per layer, whether the units probed covered a full period on every axis (then the
    smallest and largest field were checked too).
    """
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: threads only contend (float64 dilated convs by 1000x)
    try:
        return _probe(net, names, limit)
    finally:
        torch.set_num_threads(threads)


def _probe(net: Net, names: list[str] | None, limit: int) -> dict[str, bool]:
    import torch

    graph = graph_of(net)
    report = analyse(graph)
    model = probe_model(graph)
    shape = tuple(graph.input_shape)
    ndim = len(shape) - 1
    wanted = {r.name for r in report.layers} if names is None else set(names)
    # Per layer, the units clear of every border: a unit that reads a padding position (or one
    # a transposed convolution crops) of some layer before it sees that position's field, which
    # reaches at least as far out as the field of that layer's first (last) unit. So a unit whose
    # field starts after the first unit's of every layer before it, and ends before the last
    # unit's, reads no padding; the input's own first and last pixel may be seen.
    left = [0] * ndim
    right = [n - 1 for n in shape[1:]]
    plans: dict[str, list[tuple[int, ...]]] = {}
    for r in report.layers:
        if len(r.output_shape) != ndim + 1 or r.rf.is_whole or r.rf.layout[1:] != tuple(range(ndim)):
            continue
        per_axis = []
        for i, a in enumerate(r.rf.axes):
            # a unit that sees no input (a transposed convolution's kernel shorter than its stride),
            # between two that are clear, is probed too: its gradient must be zero everywhere
            clear = [u for u in range(r.output_shape[1 + i])
                     if (b := a.bounds(u)) is not None and b[0] >= left[i] and b[1] <= right[i]]
            ok = set(clear)
            inside = [u for u in range(clear[0], clear[-1] + 1) if u in ok or a.bounds(u) is None] if clear else []
            per_axis.append(inside[:limit])
            seen = [b for u in range(r.output_shape[1 + i]) if (b := a.bounds(u)) is not None]
            if seen:
                left[i], right[i] = max(left[i], seen[0][0] + 1), min(right[i], seen[-1][1] - 1)
        if r.name not in wanted or not all(per_axis):
            continue
        n = max(len(p) for p in per_axis)
        plans[r.name] = [tuple(p[k % len(p)] for p in per_axis) for k in range(n)]
    outputs: dict[str, Any] = {}
    hooks = [m.register_forward_hook(lambda _m, _i, out, name=name: outputs.__setitem__(name, out))
             for name, m in model.named_modules() if name in plans]
    batch = max((len(p) for p in plans.values()), default=1)
    x = torch.ones(batch, *shape, dtype=torch.float64, requires_grad=True)
    model(x)
    for h in hooks:
        h.remove()
    # Every weight is positive, so any nonzero gradient is a path. Except that PyTorch computes
    # an interpolation's source x = (u + ½)·(1/s) − ½ in floating point: where it should fall on
    # a pixel it misses by 1e-16, which gives the neighbour a weight of 1e-16 that the operation
    # does not have. With such layers (only in the short random networks) gradients below 1e-9
    # of the largest are rounding; elsewhere, deep networks have real paths far below that.
    interpolates = any(n.layer.type_name == "upsample" and n.layer.mode not in ("nearest", "nearest-exact")
                       for n in graph.nodes)
    tiny = 1e-9 if interpolates else 0.0
    covered: dict[str, bool] = {}
    for r in (r for r in report.layers if r.name in plans):
        units = plans[r.name]
        out = outputs[r.name]
        loss = sum(out[(b, slice(None), *u)].sum() for b, u in enumerate(units))
        (grad,) = torch.autograd.grad(loss, x, retain_graph=True)
        for b, u in enumerate(units):
            g = grad[b].abs().sum(dim=0)  # over channels
            # a unit that sees nothing along one axis sees nothing at all
            nothing = any(a.bounds(u[i]) is None for i, a in enumerate(r.rf.axes))
            for i, a in enumerate(r.rf.axes):
                line = g.sum(dim=tuple(d for d in range(ndim) if d != i)) if ndim > 1 else g
                hit = (line > line.max() * tiny).nonzero().flatten().tolist()
                want = None if nothing else a.bounds(u[i])
                assert ((hit[0], hit[-1]) if hit else None) == want, f"{r.name} unit {u} axis {i}"
        full = True
        for i, a in enumerate(r.rf.axes):
            seen = sorted({u[i] for u in units})
            if len({u % a.period for u in seen}) == a.period:  # every phase
                sizes = [0 if (b := a.bounds(t)) is None else b[1] - b[0] + 1 for t in seen]
                assert (min(sizes), max(sizes)) == (a.size_min, a.size), r.name
            else:
                full = False
        covered[r.name] = full
    return covered


# ---------------------------------------------------------------------------------------------
# the networks of the issue, along one axis (the rules act on each axis alone)


def unet(n: int, c: int = 2) -> Net:
    """U-Net (Ronneberger et al. 2015) with padded 3-wide convolutions, along one axis."""
    layers: list[Net] = []

    def conv(name: str, k: int = 3, **extra: Any) -> None:
        layers.append({"conv1d": {"out_channels": c, "kernel_size": k, "padding": k // 2, "name": name, **extra}})

    conv("enc1a")
    conv("enc1b")
    for level in range(2, 6):
        layers.append({"maxpool1d": {"kernel_size": 2, "name": f"pool{level}"}})
        conv(f"enc{level}a")
        conv(f"enc{level}b")
    below = "enc5b"
    for level in range(4, 0, -1):
        layers.append({"convtranspose1d": {"out_channels": c, "kernel_size": 2, "stride": 2, "name": f"up{level}",
                                           "from": below}})
        layers.append({"concat": {"name": f"cat{level}", "from": [f"enc{level}b", f"up{level}"]}})
        conv(f"dec{level}a")
        conv(f"dec{level}b")
        below = f"dec{level}b"
    conv("head", k=1)
    return {"name": "unet", "input": [c, n], "layers": layers}


def dcgan_generator(n: int, c: int = 2) -> Net:
    """DCGAN's generator (Radford et al. 2016): a 4-wide transposed conv, then four k4 s2 p1 ones."""
    layers = [{"convtranspose1d": {"out_channels": c, "kernel_size": 4}}]
    layers += [{"convtranspose1d": {"out_channels": c, "kernel_size": 4, "stride": 2, "padding": 1}}] * 4
    return {"name": "dcgan", "input": [c, n], "layers": layers}


@pytest.mark.torch
@pytest.mark.parametrize(("net", "least", "most"), [
    # measured by a gradient probe over all output units; cnncalc used to say 200 and 8
    pytest.param(unet(384), 188, 204, id="U-Net: 188 to 204"),
    pytest.param(dcgan_generator(16), 5, 6, id="DCGAN generator at 16: 5 to 6"),
])
def test_the_issues_networks(net: Net, least: int, most: int) -> None:
    last = list(fields(net).values())[-1].axes[0]
    assert (last.size_min, last.size) == (least, most)
    covered = probe(net)
    assert covered[list(covered)[-1]], "the output's units were not all probed"


# ---------------------------------------------------------------------------------------------
# random networks mixing upsampling, transposed convolutions, pools, dilated and strided convs


def _same_conv(rng: random.Random) -> Net:
    """A 1-d convolution that keeps the length: padding d(k−1)/2 for an odd kernel."""
    k, d = rng.choice([1, 3, 5]), rng.randint(1, 3)
    return {"conv1d": {"out_channels": 2, "kernel_size": k, "dilation": d, "padding": d * (k - 1) // 2}}


def _layer_1d(rng: random.Random, n: int) -> list[Net]:
    """One random 1-d layer for a length-n input, or two paths that meet in an add."""
    kind = rng.choice(["conv", "conv", "deconv", "pool", "up", "up", "adaptive", "pad", "paths"])
    if kind == "conv":
        k, s, d = rng.randint(1, 5), rng.randint(1, 3), rng.randint(1, 3)
        return [{"conv1d": {"out_channels": 2, "kernel_size": k, "stride": s, "padding": rng.randint(0, d * (k - 1)),
                            "dilation": d}}]
    if kind == "deconv":
        k, s, d = rng.randint(1, 5), rng.randint(1, 3), rng.randint(1, 2)
        return [{"convtranspose1d": {"out_channels": 2, "kernel_size": k, "stride": s, "dilation": d,
                                     "padding": rng.randint(0, d * (k - 1)),
                                     "output_padding": rng.randint(0, max(s, d) - 1)}}]
    if kind == "pool":
        k = rng.randint(1, 4)
        return [{rng.choice(["maxpool1d", "avgpool1d"]): {"kernel_size": k, "stride": rng.randint(1, 3),
                                                        "padding": rng.randint(0, k // 2)}}]
    if kind == "up":
        args: dict[str, Any] = {"mode": rng.choice(["nearest", "nearest-exact", "linear"])}
        if rng.random() < 0.5 or n % 2:
            args["scale_factor"] = rng.choice([2, 3])
        else:
            args["size"] = n * rng.choice([3, 5]) // 2  # a fractional scale: 3/2 or 5/2
        if args["mode"] == "linear" and rng.random() < 0.3:
            args["align_corners"] = True
        return [{"upsample": args}]
    if kind == "adaptive" and (n % 3 == 0 or n % 4 == 0):
        # windows that repeat every 2 or 3 units (n/o = 3/2 or 4/3), overlapping or not
        return [{"adaptiveavgpool1d": {"output_size": n * 2 // 3 if n % 3 == 0 else n * 3 // 4}}]
    if kind == "adaptive":
        return [{"adaptiveavgpool1d": {"output_size": n - 1}}]  # n/(n − 1): one long period
    if kind == "pad":
        return [{"zeropad1d": {"padding": [rng.randint(0, 3), rng.randint(0, 3)]}}]
    # two paths of the same length and jump but different periods: a "same" convolution, and
    # upsampling undone by a pool or a strided convolution
    r = rng.choice([2, 3])
    other = rng.choice([
        [{"upsample": {"scale_factor": r, "mode": rng.choice(["nearest", "linear"])}},
         {"avgpool1d": {"kernel_size": r, "stride": r}}],
        [{"convtranspose1d": {"out_channels": 2, "kernel_size": 4, "stride": 2, "padding": 1}},
         {"conv1d": {"out_channels": 2, "kernel_size": 3, "stride": 2, "padding": 1}}],
        [_same_conv(rng)],
    ])
    return [_same_conv(rng), *other]


def _named(layer: Net, **extra: Any) -> Net:
    kind = next(iter(layer))
    return {kind: {**layer[kind], **extra}}


def random_probe_network(seed: int) -> Net:
    """A 1-d network of 3 to 7 random layers (each kept only where it fits), some of them two paths."""
    rng = random.Random(seed)
    net: Net = {"name": f"probe{seed}", "input": [2, rng.choice([160, 192, 224])],
                "layers": [{"conv1d": {"out_channels": 2, "kernel_size": 1, "name": "stem"}}]}
    last, n = "stem", net["input"][1]
    for i in range(rng.randint(3, 7)):
        for _ in range(20):
            parts = _layer_1d(rng, n)
            if len(parts) == 1:
                new = [_named(parts[0], name=f"l{i}", **{"from": last})]
                end = f"l{i}"
            else:
                new = [_named(parts[0], name=f"a{i}", **{"from": last})]
                new += [_named(p, name=f"b{i}_{j}", **({"from": last} if j == 0 else {}))
                        for j, p in enumerate(parts[1:])]
                new.append({"add": {"name": f"m{i}", "from": [f"a{i}", f"b{i}_{len(parts) - 2}"]}})
                end = f"m{i}"
            trial = {**net, "layers": net["layers"] + new}
            try:
                out = analyse(graph_of(trial)).layers[-1].output_shape
            except CnnCalcError:
                continue  # a kernel longer than its input, an output of size 0 ...
            if 24 <= out[1] <= 400:
                net, last, n = trial, end, out[1]
                break
    return net


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(40), ids=lambda s: f"random-{s}")
def test_random_network_fields_are_exact(seed: int) -> None:
    net = random_probe_network(seed)
    assert len(net["layers"]) >= 3
    covered = probe(net)
    # every layer whose fields repeat within 8 units had them all checked (a longer period, as
    # after adaptive pooling n → n − 1, may not fit in the units clear of the borders)
    periods = {name: rf.axes[0].period for name, rf in fields(net).items()}
    assert all(covered[name] for name in covered if periods[name] <= 8), covered


def test_random_networks_reach_every_rule() -> None:
    used = {next(iter(layer)) for seed in range(40) for layer in random_probe_network(seed)["layers"]}
    assert {"conv1d", "convtranspose1d", "maxpool1d", "avgpool1d", "upsample", "adaptiveavgpool1d", "zeropad1d",
            "add"} <= used
    # and phases: some field differs between units
    assert any(rf.is_uneven for seed in range(40) for rf in fields(random_probe_network(seed)).values())


# ---------------------------------------------------------------------------------------------
# 2-d: the axes apart, pixel (un)shuffle, bilinear and bicubic


def _layer_2d(rng: random.Random) -> list[Net]:
    kind = rng.choice(["conv", "deconv", "up", "shuffle", "unshuffle", "pool"])
    if kind == "conv":
        return [{"conv2d": {"out_channels": 4, "kernel_size": [rng.randint(1, 4), rng.randint(1, 4)],
                            "stride": [rng.randint(1, 2), rng.randint(1, 2)], "dilation": [rng.randint(1, 2), 1],
                            "padding": [1, 1]}}]
    if kind == "deconv":
        return [{"convtranspose2d": {"out_channels": 4, "kernel_size": [rng.randint(2, 4), 3],
                                     "stride": [2, rng.randint(1, 3)], "padding": [1, 1]}}]
    if kind == "up":
        mode = rng.choice(["nearest", "bilinear", "bicubic"])
        args: dict[str, Any] = {"scale_factor": [rng.choice([2, 3]), rng.choice([1, 2])], "mode": mode}
        if mode != "nearest" and rng.random() < 0.3:
            args["align_corners"] = True
        return [{"upsample": args}]
    if kind == "shuffle":
        return [{"pixelshuffle": {"upscale_factor": 2}}, {"conv2d": {"out_channels": 4, "kernel_size": 1}}]
    if kind == "unshuffle":
        return [{"pixelunshuffle": {"downscale_factor": 2}}, {"conv2d": {"out_channels": 4, "kernel_size": 1}}]
    return [{"maxpool2d": {"kernel_size": [2, 3], "stride": [2, 1], "padding": [1, 1]}}]


def random_2d(seed: int) -> Net:
    """A 2-d network of 3 to 5 random layers with different rules per axis."""
    rng = random.Random(seed)
    net: Net = {"name": f"probe2d{seed}", "input": [4, 24, 20],
                "layers": [{"conv2d": {"out_channels": 4, "kernel_size": [3, 1], "padding": [1, 0]}}]}
    for _ in range(rng.randint(3, 5)):
        for _ in range(20):
            trial = {**net, "layers": net["layers"] + _layer_2d(rng)}
            try:
                out = analyse(graph_of(trial)).layers[-1].output_shape
            except CnnCalcError:
                continue
            if all(12 <= n <= 160 for n in out[1:]):
                net = trial
                break
    return net


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(12), ids=lambda s: f"random2d-{s}")
def test_random_2d_network_fields_are_exact(seed: int) -> None:
    net = random_2d(seed)
    covered = probe(net, limit=48)
    periods = {name: max(a.period for a in rf.axes) for name, rf in fields(net).items()}
    assert all(covered[name] for name in covered if periods[name] <= 6), covered


# ---------------------------------------------------------------------------------------------
# the headline (the largest over the units) in every output; the smallest beside it


def _cli(*args: str) -> Any:
    from click.testing import CliRunner

    from cnncalc.cli import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture()
def unet_file(tmp_path: Any) -> str:
    path = tmp_path / "unet.yaml"
    path.write_text(yaml.safe_dump(unet(384), sort_keys=False))
    return str(path)


def test_json_gives_both_and_the_headline_is_the_largest(unet_file: str) -> None:
    import json

    result = _cli("report", unet_file, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    head = data["layers"][-1]["receptive_field"]["axes"][0]
    assert (head["size"], head["size_min"], head["size_max"]) == (204, 188, 204)
    assert data["totals"]["receptive_field"]["axes"][0]["size_min"] == 188
    for layer in data["layers"]:
        for axis in layer["receptive_field"]["axes"]:
            assert axis["size_max"] == axis["size"] and axis["size_min"] <= axis["size"]


def test_the_totals_say_both_where_they_differ(unet_file: str) -> None:
    result = _cli("report", unet_file)
    assert result.exit_code == 0
    assert "204 at most, 188 at least over the output units (jump 1)" in result.stdout
    # the table's RF column holds the headline alone
    head_row = next(line for line in result.stdout.splitlines() if " head " in line)
    assert "│ 204 │" in head_row and "188" not in head_row


@pytest.mark.parametrize(("limit", "code"), [("204", 0), ("205", 1), ("188", 0)])
def test_check_holds_the_headline_to_a_minimum(unet_file: str, limit: str, code: int) -> None:
    assert _cli("check", unet_file, "--min-rf", limit).exit_code == code


def test_diff_compares_the_headline(tmp_path: Any, unet_file: str) -> None:
    import json

    other = unet(384)
    other["layers"].append({"conv1d": {"out_channels": 2, "kernel_size": 3, "padding": 1, "name": "extra"}})
    path = tmp_path / "unet2.yaml"
    path.write_text(yaml.safe_dump(other, sort_keys=False))
    data = json.loads(_cli("diff", unet_file, str(path), "--format", "json").stdout)
    # the head's fields step by 16 pixels every 16 units, so a unit with the largest field sees
    # its neighbours' fields already: one more 3-wide window widens no unit's field past 204
    # (the probe says the same, unit by unit), where the old formula said r + 2
    assert data["totals"]["receptive_field"] == {"old": [204], "new": [204]}
    if importlib.util.find_spec("torch"):
        assert probe(other, names=["extra"]) == {"extra": True}
    other["layers"][-1]["conv1d"] |= {"kernel_size": 35, "padding": 17}
    path.write_text(yaml.safe_dump(other, sort_keys=False))
    data = json.loads(_cli("diff", unet_file, str(path), "--format", "json").stdout)
    # a window wider than the period (35 units: two steps of 16 and more) does widen it
    assert data["totals"]["receptive_field"]["new"][0] > 204
    if importlib.util.find_spec("torch"):
        assert probe(other, names=["extra"]) == {"extra": True}
