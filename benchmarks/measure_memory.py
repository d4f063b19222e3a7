"""Measure what PyTorch really keeps in memory while training a network, to check cnncalc.

Two measurements, on the plain-torch reference models of ``tests/torch_reference.py``:

``saved`` (any device, CPU included)
    Runs one ``model.train()`` forward pass under ``torch.autograd.graph.saved_tensors_hooks``.
    The pack hook sees every tensor autograd saves for the backward pass; each storage is
    counted once (``untyped_storage().data_ptr()``), leaving out the parameters and buffers
    (already counted as weights) and the input batch (its own line). The network's output is
    added, because the loss keeps it. This is exactly cnncalc's "saved activations".

    ``nn.Dropout`` runs the fused kernel on CUDA (``torch.native_dropout``: a one-byte mask)
    but an unfused multiply by a float mask on the CPU; with ``--cuda-dropout`` (the default)
    the CPU run calls ``torch.native_dropout`` as CUDA does, so both devices save the same.

``table`` (CUDA only)
    Reproduces the reference table of docs/memory.md: fp32, ``model.train()``, loss
    ``out.pow(2).mean()``, cuDNN benchmark off, figures taken at the second optimizer step:
    *saved* is ``memory_allocated()`` after the forward pass minus before it, *peak* is
    ``max_memory_allocated()`` over forward + backward + ``optimizer.step()`` (weights,
    optimizer state, input batch and library workspace included), *eval* is the peak of an
    eval-mode ``no_grad`` forward pass (its input batch included) minus the memory allocated
    before it (the weights).

Usage::

    python benchmarks/measure_memory.py saved resnet50 mobilenet_v2 --batch 2
    python benchmarks/measure_memory.py table resnet50 vgg16 mobilenet_v2 --batch 32   # on a GPU
"""

from __future__ import annotations

import argparse
import sys
import weakref
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

MiB = 2**20


class NativeDropout(nn.Module):
    """``nn.Dropout`` as it runs on CUDA: ``torch.native_dropout`` saves a bool mask."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return torch.native_dropout(x, self.p, True)[0]


def cuda_dropout(model: nn.Module) -> nn.Module:
    """Replace every non-inplace ``nn.Dropout`` by :class:`NativeDropout` (names are kept)."""
    for name, child in list(model.named_children()):
        if type(child) is nn.Dropout and not child.inplace:
            setattr(model, name, NativeDropout(child.p))
        else:
            cuda_dropout(child)
    return model


def saved_storages(model: nn.Module, x: torch.Tensor, *, amp: torch.dtype | None = None) -> dict[str, Any]:
    """One training forward pass: every storage autograd saves, once, with the module saving it.

    Returns ``{"storages": {id: (nbytes, dtype, module)}, "output": tensor}``; parameters,
    buffers and the input batch are left out, the output (which the loss keeps) is not. Only
    what is still saved when the forward pass ends counts: a branch whose result nothing reads
    is freed with its part of the graph, and the allocator may hand its memory to a later tensor,
    so storages are told apart once the pass is over (each packed tensor held by a weak reference).
    """
    # storages by identity (the storage object's address), which also tells meta storages apart
    exclude = {t.untyped_storage()._cdata for t in (*model.parameters(), *model.buffers())}
    exclude.add(x.untyped_storage()._cdata)
    current = ["<model>"]
    stack: list[str] = []
    names = {m: n for n, m in model.named_modules()}
    packed: list[tuple[weakref.ref[torch.Tensor], str]] = []

    def pre(module: nn.Module, args: Any) -> None:
        stack.append(current[0])
        current[0] = names[module] or "<model>"

    def post(module: nn.Module, args: Any, out: Any) -> None:
        current[0] = stack.pop()

    def pack(t: torch.Tensor) -> torch.Tensor:
        packed.append((weakref.ref(t), current[0]))
        return t

    handles = [m.register_forward_pre_hook(pre) for m in model.modules()]
    handles += [m.register_forward_hook(post) for m in model.modules()]
    model.train()
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            if amp is not None:
                with torch.autocast(x.device.type, dtype=amp):
                    out = model(x)
            else:
                out = model(x)
    finally:
        for h in handles:
            h.remove()
    storages: dict[int, tuple[int, torch.dtype, str]] = {}
    for ref, module in packed:
        t = ref()
        if t is not None and t.untyped_storage()._cdata not in exclude:
            storages.setdefault(t.untyped_storage()._cdata, (t.untyped_storage().nbytes(), t.dtype, module))
    # a network with several outputs returns a tuple: the loss keeps each of them
    for o in out if isinstance(out, (tuple, list)) else (out,):
        s = o.untyped_storage()
        if s._cdata not in storages:
            storages[s._cdata] = (s.nbytes(), o.dtype, "<output>")
    return {"storages": storages, "output": out}


def saved_bytes(model: nn.Module, x: torch.Tensor, *, amp: torch.dtype | None = None) -> int:
    """Total bytes of the distinct storages autograd saves (plus the output), as cnncalc counts them."""
    return sum(nbytes for nbytes, _, _ in saved_storages(model, x, amp=amp)["storages"].values())


def build(name: str, cuda_dropout_on_cpu: bool = True) -> tuple[nn.Module, tuple[int, ...]]:
    """A reference model by name (``tests/torch_reference.py``) and its input shape."""
    import torch_reference

    builder, shape = torch_reference.BUILDERS[name]
    model = builder()
    if cuda_dropout_on_cpu:
        cuda_dropout(model)
    return model, shape


def report_saved(names: Sequence[str], batch: int, input_shape: Sequence[int] | None) -> None:
    """Print the saved bytes of each network, and per module type."""
    torch.manual_seed(0)
    for name in names:
        model, shape = build(name)
        shape = tuple(input_shape) if input_shape else shape
        x = torch.randn(batch, *shape)
        result = saved_storages(model, x)
        total = sum(n for n, _, _ in result["storages"].values())
        by_type: dict[str, int] = defaultdict(int)
        modules = dict(model.named_modules())
        for nbytes, dtype, module in result["storages"].values():
            kind = type(modules[module]).__name__ if module in modules else module
            by_type[f"{kind} {str(dtype).removeprefix('torch.')}"] += nbytes
        print(f"{name} {list(shape)} batch {batch}: saved {total:,} B = {total / MiB:.3f} MiB "
              f"({total / batch:,.0f} B per sample)")
        for kind, nbytes in sorted(by_type.items(), key=lambda kv: -kv[1]):
            print(f"    {kind:32s} {nbytes:>16,d}")


def measure_cuda(name: str, batch: int, optimizer: str) -> dict[str, float]:
    """The reference protocol on a CUDA device: saved, peak (2nd step) and eval peak, in MiB."""
    torch.backends.cudnn.benchmark = False
    dev = torch.device("cuda")
    torch.manual_seed(0)
    model, shape = build(name, cuda_dropout_on_cpu=False)
    model = model.to(dev)
    opt: torch.optim.Optimizer
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    elif optimizer == "momentum":
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    elif optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(batch, *shape, device=dev)
    model.train()
    figures: dict[str, float] = {}
    for step in range(2):
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if step == 1:
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
        out = model(x)
        loss = out.pow(2).mean()
        if step == 1:
            torch.cuda.synchronize()
            figures["saved"] = (torch.cuda.memory_allocated() - before) / MiB
        loss.backward()
        opt.step()
        torch.cuda.synchronize()
        if step == 1:
            figures["peak"] = torch.cuda.max_memory_allocated() / MiB
        del out, loss
    opt.zero_grad(set_to_none=True)
    del opt, x
    model.eval()
    torch.cuda.synchronize()
    # the eval figure counts the input batch: it is allocated inside the measured window
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    with torch.no_grad():
        model(torch.randn(batch, *shape, device=dev))
    torch.cuda.synchronize()
    figures["eval"] = (torch.cuda.max_memory_allocated() - before) / MiB
    return figures


def report_table(names: Sequence[str], batch: int) -> None:
    """Print the reference table (needs CUDA)."""
    if not torch.cuda.is_available():
        raise SystemExit("the table needs a CUDA device")
    print(f"| network | saved (MiB) | peak SGD | peak momentum | peak Adam | eval b{batch} |")
    print("|---|---|---|---|---|---|")
    for name in names:
        runs = {opt: measure_cuda(name, batch, opt) for opt in ("sgd", "momentum", "adam")}
        torch.cuda.empty_cache()
        print(f"| {name} | {runs['sgd']['saved']:.1f} | {runs['sgd']['peak']:.1f} | "
              f"{runs['momentum']['peak']:.1f} | {runs['adam']['peak']:.1f} | {runs['sgd']['eval']:.1f} |",
              flush=True)


def main() -> None:
    """Command line: ``saved`` (any device) or ``table`` (CUDA)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("saved", "table"))
    ap.add_argument("networks", nargs="+")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--input", type=lambda s: tuple(int(v) for v in s.split("x")), default=None,
                    help="input shape such as 3x64x64 (saved only)")
    args = ap.parse_args()
    if args.what == "saved":
        report_saved(args.networks, args.batch, args.input)
    else:
        report_table(args.networks, args.batch)


if __name__ == "__main__":
    main()
