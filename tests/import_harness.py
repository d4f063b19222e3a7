"""What "imported exactly" means, checked: a PyTorch model against the description cnncalc writes for it.

:func:`assert_exact` holds a description (``cnncalc.from_torch``'s YAML, or any text) to the
model it describes, on the measurements PyTorch itself makes:

1. **params and buffers**: the parameters, and the floating-point buffers (BatchNorm's running
   statistics; not ``num_batches_tracked``), equal ``model.parameters()`` / ``model.buffers()``;
2. **leaf shapes**: every call of every leaf module is a row under its ``named_modules()`` path,
   with the output shape a forward hook records; a module called several times, like ResNet's
   shared ReLU, is a row per call, ``relu``, ``relu_1``, ``relu_2``, as torch.fx names them
   (hand-written descriptions name only the last call: ``last_only``);
3. **MACs**: each convolution / linear module's MACs (all its calls), counted by a forward hook
   (``tests/torch_reference.py``), equal its row's; the total equals those plus the matrix products
   and convolutions called outside such modules (attention's ``q @ k.T``), counted from the
   operators' shapes as they are dispatched;
4. **torch FLOPs**: ``--convention torch`` FLOPs equal ``FlopCounterMode`` at batch 1. On the CPU,
   ``scaled_dot_product_attention`` runs a fused kernel that FlopCounterMode counts as 0; cnncalc
   counts the attention's two matrix products, which is what FlopCounterMode counts on the
   unfused (math) kernel, so the count runs under ``sdpa_kernel(SDPBackend.MATH)`` (on the meta
   device SDPA takes that path anyway);
5. **saved activations**: at batch 2, cnncalc's saved activations equal the bytes of the distinct
   storages ``saved_tensors_hooks`` sees in one training forward pass, plus the output the loss
   keeps, as docs/memory.md ("Training and inference memory") defines them and
   ``benchmarks/measure_memory.py`` counts them (dropout run as CUDA's fused kernel, functional
   calls too; what is still saved when the pass ends: a branch nothing reads is freed).
   Stochastic depth is the identity in a description (as at inference); in training it keeps
   one random value per sample, which is set aside;
6. **export**: ``cnncalc export --to pytorch --check`` of the description exits 0, and the module it
   writes has the model's parameter count.

Everything runs on the meta device (hooks, FlopCounterMode and saved_tensors_hooks work on meta
tensors, and no memory is allocated for weights), so a ResNet-50 is checked in about a second.
Storages are told apart by their identity (``_cdata``), as meta storages have no address.
"""

from __future__ import annotations

import contextlib
import math
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
import torch_reference as ref
from click.testing import CliRunner
from torch import nn
from torch.nn import functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from cnncalc import analyse, spec
from cnncalc.cli import cli
from cnncalc.graph import Graph, build
from cnncalc.memory import MemoryModel
from cnncalc.report import Report

Shape = tuple[int, ...]

#: Modules whose training-mode randomness a description leaves out (identity at inference).
STOCHASTIC_DEPTH = {"StochasticDepth", "DropPath"}

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_HOOKED = (*_CONV, nn.Linear)


# ---------------------------------------------------------------------------------------------
# building models without memory for their weights


@contextlib.contextmanager
def _parameters_on_meta() -> Iterator[None]:
    """Every parameter and buffer a module registers is created on the meta device.

    For models whose constructors compute with real tensors (torchvision's RegNet rounds its
    widths with ``torch.round(...).tolist()``), which ``torch.device("meta")`` cannot run.
    """
    register_parameter, register_buffer = nn.Module.register_parameter, nn.Module.register_buffer

    def parameter(self: nn.Module, name: str, param: Any) -> None:
        if param is not None:
            param = nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
        register_parameter(self, name, param)

    def buffer(self: nn.Module, name: str, tensor: Any, persistent: bool = True) -> None:
        register_buffer(self, name, None if tensor is None else tensor.to("meta"), persistent)

    nn.Module.register_parameter = parameter  # type: ignore[method-assign]
    nn.Module.register_buffer = buffer  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.register_parameter = register_parameter  # type: ignore[method-assign]
        nn.Module.register_buffer = register_buffer  # type: ignore[method-assign]


def on_meta(make: Callable[[], nn.Module]) -> nn.Module:
    """``make()`` built on the meta device, in eval mode."""
    try:
        with torch.device("meta"):
            return make().eval()
    except (NotImplementedError, RuntimeError):  # "Cannot copy out of meta tensor": the constructor computes
        with _parameters_on_meta():
            return make().eval()


# ---------------------------------------------------------------------------------------------
# what PyTorch measures


def _module_stack(model: nn.Module) -> tuple[list[nn.Module], list[Any]]:
    """The modules being run, innermost last, kept by forward hooks (and the hooks' handles)."""
    stack: list[nn.Module] = []

    def enter(module: nn.Module, args: Any) -> None:
        stack.append(module)

    def leave(module: nn.Module, args: Any, out: Any) -> None:
        stack.pop()

    handles = []
    for m in model.modules():
        handles += [m.register_forward_pre_hook(enter), m.register_forward_hook(leave)]
    return stack, handles


def _zeros(model: nn.Module, shape: Sequence[int], batch: int = 1) -> torch.Tensor:
    """A zero batch on the device the model's weights are on."""
    device = next(model.parameters(), torch.empty(0)).device
    return torch.zeros(batch, *shape, device=device)


class _MatmulMacs(TorchDispatchMode):
    """MACs of the matrix products and convolutions dispatched outside convolution and linear modules."""

    def __init__(self, stack: list[nn.Module]) -> None:
        super().__init__()
        self.stack = stack
        self.macs = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if not (self.stack and isinstance(self.stack[-1], _HOOKED)):
            self.macs += _op_macs(func, args, out)
        return out


def _op_macs(func: Any, args: Any, out: Any) -> int:
    """[m, k] @ [k, n]: m·k·n; batched, times the batch; convolution as the forward hooks count it."""
    aten = torch.ops.aten
    if func in (aten.mm.default, aten.bmm.default):
        a, b = args[0], args[1]
    elif func in (aten.addmm.default, aten.baddbmm.default):
        a, b = args[1], args[2]
    elif func is aten.convolution.default:
        x, w, transposed = args[0], args[1], args[6]
        k = math.prod(w.shape[2:])
        # weight [C_out, C_in/g, k...]; transposed [C_in, C_out/g, k...]
        return int(x.numel() * w.shape[1] * k if transposed else out.numel() * w.shape[1] * k)
    else:
        return 0
    return int(math.prod(a.shape) * b.shape[-1])


def leaf_calls(model: nn.Module, shape: Sequence[int]) -> dict[str, list[Shape | None]]:
    """Leaf module path -> the output shape (without the batch) of each of its calls, in order (None: no tensor)."""
    calls: dict[str, list[Shape | None]] = {}
    handles = []
    for name, m in model.named_modules():
        if name and next(m.children(), None) is None:
            def hook(mod: nn.Module, args: Any, out: Any, name: str = name) -> None:
                calls.setdefault(name, []).append(tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else None)
            handles.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(_zeros(model, shape))
    finally:
        for h in handles:
            h.remove()
    return calls


def call_rows(name: str, calls: int, last_only: bool = False) -> list[str]:
    """The rows of a module called ``calls`` times: ``name``, ``name_1``, ..., as torch.fx names repeated calls.

    ``last_only``: the one row ``name``, for the last call (hand-written descriptions name it so).
    """
    if last_only:
        return [name]
    return [name] + [f"{name}_{k}" for k in range(1, calls)]


def functional_macs(model: nn.Module, shape: Sequence[int]) -> int:
    """MACs of matrix products and convolutions called outside convolution and linear modules, batch 1."""
    stack, handles = _module_stack(model)
    try:
        with torch.no_grad(), sdpa_kernel([SDPBackend.MATH]), _MatmulMacs(stack) as mode:
            model(_zeros(model, shape))
    finally:
        for h in handles:
            h.remove()
    return mode.macs


def torch_flops(model: nn.Module, shape: Sequence[int]) -> int:
    """FlopCounterMode's total at batch 1, attention on its unfused (math) kernel."""
    with torch.no_grad(), sdpa_kernel([SDPBackend.MATH]), FlopCounterMode(display=False) as counter:
        model(_zeros(model, shape))
    return int(counter.get_total_flops())


@contextlib.contextmanager
def _fused_dropout() -> Iterator[None]:
    """``F.dropout`` as CUDA runs it, ``torch.native_dropout`` with a one-byte mask (the CPU keeps a float mask).

    ``benchmarks/measure_memory.py`` swaps ``nn.Dropout`` modules for it; this catches functional
    calls too (timm's heads call ``F.dropout``). In place it stays as it is, as there.
    """
    dropout = F.dropout

    def fused(input: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> torch.Tensor:
        if training and p > 0 and not inplace:
            return torch.native_dropout(input, p, True)[0]
        return dropout(input, p, training, inplace)

    F.dropout = fused  # type: ignore[assignment]
    try:
        yield
    finally:
        F.dropout = dropout


def saved_bytes(model: nn.Module, shape: Sequence[int], batch: int = 2) -> int:
    """Bytes autograd saves in one training forward pass, each storage once, plus the output.

    As ``benchmarks/measure_memory.py`` counts them (parameters, buffers and the input batch left
    out; dropout as CUDA's fused kernel), storages told apart by identity, not address, so that
    meta tensors count; what stochastic depth saves is set aside. The model is left in eval mode.
    """
    x = _zeros(model, shape, batch)
    exclude = {t.untyped_storage()._cdata for t in (*model.parameters(), *model.buffers(), x)}
    stack, handles = _module_stack(model)
    storages: dict[int, int] = {}
    # what is still saved when the pass ends: a branch nothing reads is freed with its part of the
    # graph (and its storage's identity may go to a later one), so each packed tensor is held by a
    # weak reference and storages are told apart once the pass is over
    packed: list[weakref.ref[torch.Tensor]] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        if not (stack and type(stack[-1]).__name__ in STOCHASTIC_DEPTH):
            packed.append(weakref.ref(t))
        return t

    model.train()
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), _fused_dropout():
            out = model(x)
        for ref in packed:
            t = ref()
            if t is not None and t.untyped_storage()._cdata not in exclude:
                storages.setdefault(t.untyped_storage()._cdata, t.untyped_storage().nbytes())
        # the loss keeps the output (each of them, where there are several: a tuple, or a dict of maps)
        for o in out.values() if isinstance(out, dict) else out if isinstance(out, (tuple, list)) else (out,):
            storages.setdefault(o.untyped_storage()._cdata, o.untyped_storage().nbytes())
    finally:
        model.eval()
        for h in handles:
            h.remove()
    return sum(storages.values())


# ---------------------------------------------------------------------------------------------
# the six checks


def _rows(report: Report) -> dict[str, Any]:
    return {row.name: row for row in report.layers}


def check_params(model: nn.Module, report: Report) -> list[str]:
    """Parameters and float buffers, in total."""
    problems = []
    if report.totals.params != ref.count_params(model):
        problems.append(f"params: cnncalc {report.totals.params:,}, PyTorch {ref.count_params(model):,}")
    if report.totals.buffers != ref.count_float_buffers(model):
        problems.append(f"buffers: cnncalc {report.totals.buffers:,}, PyTorch {ref.count_float_buffers(model):,}")
    return problems


def check_shapes(model: nn.Module, report: Report, calls: dict[str, list[Shape | None]],
                 last_only: bool = False) -> list[str]:
    """Every call of every leaf module (``calls``: :func:`leaf_calls`) is a row of its name and output shape."""
    rows = _rows(report)
    problems = []
    for name, outs in calls.items():
        if last_only:
            outs = outs[-1:]
        for row, out in zip(call_rows(name, len(outs), last_only), outs):
            if row not in rows:
                kind = type(model.get_submodule(name)).__name__
                problems.append(f"shape: no row for the module '{row}' ({kind})")
            elif out is not None and tuple(rows[row].output_shape) != out:
                problems.append(f"shape: '{row}' cnncalc {list(rows[row].output_shape)}, PyTorch {list(out)}")
    return problems


def check_macs(model: nn.Module, report: Report, shape: Sequence[int], calls: dict[str, list[Shape | None]],
               last_only: bool = False) -> list[str]:
    """Each conv / linear module's MACs (forward hooks, all its calls), and the total with the functional products."""
    rows = _rows(report)
    hooked = ref.macs_by_module(model, shape)
    problems = []
    for name, macs in hooked.items():
        ours = sum(rows[r].macs for r in call_rows(name, len(calls[name]), last_only) if r in rows)
        if ours != macs:
            problems.append(f"MACs: '{name}' cnncalc {ours:,}, hook {macs:,}")
    expected = sum(hooked.values()) + functional_macs(model, shape)
    if report.totals.macs != expected:
        problems.append(f"MACs: total cnncalc {report.totals.macs:,}, PyTorch {expected:,}")
    return problems


def check_torch_flops(model: nn.Module, graph: Graph, shape: Sequence[int]) -> list[str]:
    """``--convention torch`` FLOPs against FlopCounterMode at batch 1."""
    ours = analyse(graph, convention="torch").totals.flops
    theirs = torch_flops(model, shape)
    return [] if ours == theirs else [f"torch FLOPs: cnncalc {ours:,}, FlopCounterMode {theirs:,}"]


def check_saved(model: nn.Module, graph: Graph, shape: Sequence[int]) -> list[str]:
    """Saved activations at batch 2 against saved_tensors_hooks."""
    ours = MemoryModel(graph, optimizer="sgd").estimate(2).saved
    theirs = saved_bytes(model, shape, 2)
    return [] if ours == theirs else [f"saved activations at batch 2: cnncalc {ours:,} B, autograd {theirs:,} B"]


def check_export(model: nn.Module, text: str, tmp: Path) -> list[str]:
    """``cnncalc export --to pytorch --check`` exits 0; the module it writes has the model's parameters."""
    path = tmp / "imported.yaml"
    path.write_text(text, encoding="utf-8")
    # on the meta device: the exported module is built and run without memory for its weights
    with torch.device("meta"):
        result = CliRunner().invoke(cli, ["export", str(path), "--to", "pytorch", "--check"])
    if result.exit_code != 0:
        return [f"export --check: exit {result.exit_code}: {result.stderr.strip()[:2000]}"]
    namespace: dict[str, Any] = {}
    exec(compile(result.stdout, "<export>", "exec"), namespace)
    with torch.device("meta"):
        exported = namespace["Model"]()
    params = ref.count_params(exported)
    return [] if params == ref.count_params(model) else [
        f"export: the exported module has {params:,} parameters, PyTorch's {ref.count_params(model):,}"]


def problems(model: nn.Module, shape: Sequence[int], text: str, tmp: Path, last_only: bool = False) -> list[str]:
    """Every way the description ``text`` differs from ``model`` at input ``shape`` (empty: exact).

    ``last_only``: a module called several times is one row, of its last call (hand-written descriptions).
    """
    graph = build(spec.load("imported.yaml", text=text))
    report = analyse(graph)
    found = [f"input: cnncalc {list(graph.input_shape)}, given {list(shape)}"] if tuple(graph.input_shape) != tuple(
        shape) else []
    found += check_params(model, report)
    calls = leaf_calls(model, shape)
    found += check_shapes(model, report, calls, last_only)
    found += check_macs(model, report, shape, calls, last_only)
    found += check_torch_flops(model, graph, shape)
    found += check_export(model, text, tmp)
    found += check_saved(model, graph, shape)  # last: it swaps dropout for CUDA's kernel
    return found


def assert_exact(model: nn.Module, shape: Sequence[int], text: str, tmp: Path, last_only: bool = False) -> None:
    """The description ``text`` is exactly ``model`` (eval mode, meta device or not) at input ``shape``."""
    found = problems(model, shape, text, tmp, last_only)
    assert not found, "\n".join(found[:40]) + (f"\n... and {len(found) - 40} more" if len(found) > 40 else "")

