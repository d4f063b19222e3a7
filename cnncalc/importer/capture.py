"""Capture a model's graph with ``torch.export`` (non-strict) into plain records the mapping reads.

The model's parameters and buffers are moved to fake CPU tensors (no memory is allocated) before
exporting, because some decompositions (group norm, PReLU) create CPU tensors that do not mix
with meta ones. A model ``torch.export`` cannot capture is refused with its reason.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .refusal import refuse


@dataclass(frozen=True)
class Ref:
    """A tensor computed by the graph: ``input`` or the name of the node that produced it."""

    node: str


@dataclass(frozen=True)
class Param:
    """A parameter or buffer of the model, by its fully qualified name."""

    fqn: str
    shape: tuple[int, ...]
    buffer: bool = False

    @property
    def numel(self) -> int:
        """Number of elements."""
        n = 1
        for s in self.shape:
            n *= s
        return n


@dataclass(frozen=True)
class Frame:
    """One module on the call stack of a node: its path in ``named_modules()`` and its class."""

    path: str
    cls: str
    #: 0 for the module's first call, k for its (k+1)-th call
    call: int = 0


@dataclass
class Node:
    """One op of the captured graph, with its arguments resolved to refs, params and constants."""

    name: str
    target: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    #: output shape (with the batch), or a tuple of them for ops that return several tensors
    out: Any
    scope: tuple[Frame, ...]
    file: str | None = None
    line: int | None = None
    #: the output is a contiguous tensor
    contiguous: bool = True
    #: PyTorch copies the input first: a reshape or flatten whose input's strides allow no view, a
    #: group norm whose input is not contiguous
    copies: bool = False
    #: a matrix product: per operand, the elements of a copy of it that autograd keeps (0: none;
    #: an operand whose strides allow no batched view is copied, and broadcast one is expanded)
    operand_copies: tuple[int, ...] = ()

    @property
    def op(self) -> str:
        """``aten.conv2d`` for ``aten.conv2d.default``; the bare name for Python functions."""
        parts = self.target.split(".")
        return ".".join(parts[:2]) if parts[0] == "aten" else self.target


@dataclass
class Capture:
    """What the mapping needs: the ops in execution order, the outputs and every parameter and buffer."""

    input_shape: tuple[int, ...]
    nodes: list[Node]
    outputs: list[Any]
    params: dict[str, Param] = field(default_factory=dict)
    buffers: dict[str, Param] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)
    #: each module by path, for the rules that read a module's attributes
    modules: dict[str, Any] = field(default_factory=dict)


_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def _location(trace: str | None) -> tuple[str | None, int | None]:
    """The innermost frame of a node's stack trace outside torch itself: the user's source line
    (else the innermost frame in torch: a model made of torch's modules alone)."""
    if not trace:
        return None, None
    found: tuple[str | None, int | None] = (None, None)
    fallback = found
    for file, line in _FRAME.findall(trace):
        norm = file.replace("\\", "/")
        if "/cnncalc/" in norm:
            continue
        fallback = (file, int(line))
        if "/torch/" not in norm:
            found = fallback
    return found if found[0] is not None else fallback


def _shape(val: Any) -> Any:
    if isinstance(val, (list, tuple)):
        return tuple(_shape(v) for v in val)
    shape = getattr(val, "shape", None)
    return None if shape is None else tuple(int(s) for s in shape)


def _scope(meta: dict[str, Any]) -> tuple[Frame, ...]:
    frames = []
    for key, (path, cls) in (meta.get("nn_module_stack") or {}).items():
        if not path:
            continue  # the root module
        call = int(key.rpartition("@")[2]) if "@" in key else 0
        name = cls if isinstance(cls, str) else f"{cls.__module__}.{cls.__qualname__}"
        frames.append(Frame(_fqn(path), name, call))
    return tuple(frames)


_ITEM = re.compile(r"\[(?:'([^']*)'|(\d+))\]")


def _fqn(path: str) -> str:
    """``layer1.0.conv1`` from a path as export writes it (``L['self'].layer1[0]`` in older versions)."""
    path = re.sub(r"^L\['self'\]\.?", "", path)
    path = _ITEM.sub(lambda m: "." + (m.group(1) if m.group(1) is not None else m.group(2)), path)
    return path.lstrip(".")


def capture(model: Any, input_shape: tuple[int, ...]) -> Capture:
    """The graph of ``model`` on a batch of 1 of ``input_shape``, captured by ``torch.export`` (non-strict)."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    classes = {name: f"{type(m).__module__}.{type(m).__qualname__}" for name, m in model.named_modules()}
    _one_input(model)
    mode = FakeTensorMode(allow_non_fake_inputs=True)
    with mode:
        # fake CPU tensors: shapes and dtypes only, no memory; meta ones trip some decompositions
        fake = model.to_empty(device="cpu")
        x = torch.empty(1, *input_shape)
    # a leaf module that returns its input (nn.Identity, drop path in eval) computes no op; an
    # alias makes its call a node of its own, so that it keeps its row
    _VERSIONS.clear()
    leaves = [m for m in fake.modules() if not any(True for _ in m.children())]
    hooks = [m.register_forward_pre_hook(_note_version) for m in leaves]
    hooks += [m.register_forward_hook(_mark_identity) for m in leaves]
    try:
        with _quiet():
            exported = torch.export.export(fake, (x,), strict=False)
    except Exception as err:  # export could not trace the model: say why, in one line, where
        raise _not_captured(err, fake) from None
    finally:
        for h in hooks:
            h.remove()
    cap = _from_export(exported, input_shape, classes)
    cap.modules = dict(fake.named_modules())
    return cap


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Nothing printed while exporting: torch's warnings, its log records and what it prints (a
    failed export prints its whole graph), and the model's own prints, which would mix with the
    YAML on stdout. The outcome is the description, or one refusal."""
    before = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(before)


def _not_captured(err: Exception, model: Any) -> Exception:
    """The refusal of a model export cannot capture, at the innermost line of the user's code and
    the module whose forward runs it."""
    text = str(err).strip()
    first = text.splitlines()[0] if text else ""
    file: str | None = None
    line: int | None = None
    layer: str | None = None
    paths = {id(m): name for name, m in model.named_modules()}
    for frame, lineno in traceback.walk_tb(err.__traceback__):
        norm = frame.f_code.co_filename.replace("\\", "/")
        if "/torch/" in norm or "/cnncalc/" in norm or norm.startswith("<"):
            continue
        file, line = frame.f_code.co_filename, lineno
        code = frame.f_code
        owner = frame.f_locals.get(code.co_varnames[0]) if code.co_argcount else None  # a method's self
        layer = paths.get(id(owner), layer) if owner is not None else layer
    if layer == "":
        layer = "<top>"
    if "data-dependent" in text:
        why = ("its forward reads the values of a tensor (a Python branch on them, .item(), float()), which "
               "a capture on shapes alone cannot follow; cnncalc describes models whose ops depend on shapes only")
    else:
        why = f"{type(err).__name__}: {first}"
    return refuse(f"torch.export could not capture the model: {why}", layer=layer, file=file, line=line)


def _one_input(model: Any) -> None:
    """Refuse a forward that needs more than one tensor: cnncalc describes one input."""
    import inspect

    try:
        sig = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    needed = [p for p in sig.parameters.values() if p.kind in kinds and p.default is inspect.Parameter.empty]
    if len(needed) > 1:
        raise refuse(f"the model takes {len(needed)} tensor inputs "
                     f"({', '.join(p.name for p in needed)}); cnncalc describes models with one input")


_VERSIONS: list[dict[int, int]] = []


def _tensors(value: Any) -> list[Any]:
    """The tensors of a module's inputs: an argument, or the items of a list or tuple argument."""
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    return [value] if hasattr(value, "_version") else []


def _note_version(module: Any, inputs: Any) -> None:
    # an in-place op (relu_) returns its input too, but bumps its version counter
    _VERSIONS.append({id(t): t._version for t in _tensors(inputs)})


def _mark_identity(module: Any, inputs: Any, output: Any) -> Any:
    """A leaf module that returns one of its inputs untouched (nn.Identity; timm's SelectSeq, ``x[i]``
    of a list) gets an alias node, so that its call is a row."""
    import torch

    versions = _VERSIONS.pop() if _VERSIONS else {}
    if any(output is t for t in _tensors(inputs)) and versions.get(id(output)) == output._version:
        return torch.ops.aten.alias.default(output)
    return None


#: Ops that compute nothing worth a row of their own when nothing reads them.
_QUIET = ("getitem", "aten.view", "aten.reshape", "aten._unsafe_view", "aten.unsqueeze", "aten.squeeze",
          "aten.expand", "aten.expand_as", "aten.detach", "aten.sym_size", "aten.lift_fresh_copy")


def _computes(node: Any) -> bool:
    """Whether a dead node still counts: an aten op other than the views and lookups of :data:`_QUIET`."""
    if node.op != "call_function":
        return False
    target = getattr(node.target, "__name__", "") if not str(node.target).startswith("aten.") else str(node.target)
    return str(target).startswith("aten.") and ".".join(str(target).split(".")[:2]) not in _QUIET


#: Ops that return a view where the input's strides allow one, else a copy (``aten.reshape``'s rule).
_RESHAPES = ("aten.reshape.default", "aten.flatten.using_ints")


def _batch2(shape: Any) -> tuple[int, ...]:
    """A shape captured at batch 1, at batch 2: whether a view fits the strides depends on the batch
    axis only where it is more than 1 (merging it with an axis of heads), as in training."""
    return (2, *(int(s) for s in shape[1:])) if len(shape) and int(shape[0]) == 1 else tuple(int(s) for s in shape)


def _at_batch2(val: Any) -> Any:
    """An empty meta tensor with the shape (at batch 2) and strides of a captured value, or None."""
    import torch

    if not hasattr(val, "stride") or not hasattr(val, "shape"):
        return None
    return torch.empty_strided(_batch2(val.shape), val.stride(), device="meta")


def _contiguous(val: Any) -> bool:
    """Whether a tensor is contiguous in training, at batch 2: at batch 1 a channel slice of a larger
    tensor (``q`` of ``qkv.chunk(3, 1)``) is contiguous, as a size-1 axis's stride does not count."""
    t = _at_batch2(val)
    return t is None or bool(t.is_contiguous())


def _copies(node: Any, val: Any) -> bool:
    """Whether the op copies its input before computing, by PyTorch's own rules, asked of an empty
    tensor with the input's shape and strides: a reshape copies where ``view`` refuses, and
    ``torch.group_norm`` makes its input contiguous in the memory format it suggests (a
    channels-last tensor is left as it is) before its kernel, which keeps that copy."""
    import torch

    src = _at_batch2(node.args[0].meta.get("val")) if node.args and hasattr(node.args[0], "meta") else None
    if src is None:
        return False
    if str(node.target) == "aten.group_norm.default":
        last = {4: torch.channels_last, 5: torch.channels_last_3d}.get(src.dim())
        return not (src.is_contiguous() or (last is not None and src.is_contiguous(memory_format=last)))
    if str(node.target) not in _RESHAPES or not hasattr(val, "shape"):
        return False
    try:
        src.view(_batch2(val.shape))
    except RuntimeError:
        return True
    return False


#: Products that fold their operands' leading axes into one, copying an operand whose strides allow
#: no such view; autograd then keeps the copy (matmul's operands, linear's input).
_PRODUCTS = ("aten.matmul.default", "aten.bmm.default", "aten.linear.default")


def _operand_copies(node: Any) -> tuple[int, ...]:
    """For a product, per tensor operand, the elements per sample of a copy of it that autograd keeps
    for the backward pass: measured by running the product alone on meta tensors with the operands'
    shapes (at batch 2) and strides, one operand requiring grad at a time (the other is then
    saved), under ``saved_tensors_hooks``."""
    import torch

    if str(node.target) not in _PRODUCTS or len(node.args) < 2:
        return ()
    vals: list[Any] = [a.meta.get("val") if hasattr(a, "meta") else None for a in node.args[:2]]
    if not all(hasattr(v, "stride") for v in vals):
        return ()
    linear = str(node.target) == "aten.linear.default"
    found = []
    for other in (1, 0):  # the copy of one operand is saved for the gradient of the other
        ops = [torch.empty_strided(v.shape if linear and i else _batch2(v.shape), v.stride(), device="meta",
                                   requires_grad=i == other) for i, v in enumerate(vals)]
        kept = {ops[0].untyped_storage()._cdata, ops[1].untyped_storage()._cdata}
        saved: list[Any] = []

        def pack(t: Any, saved: list[Any] = saved) -> Any:
            saved.append(t)
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            torch.nn.functional.linear(*ops) if linear else torch.matmul(*ops)
        found.append(max((t.numel() // 2 for t in saved if t.untyped_storage()._cdata not in kept), default=0))
    return (found[0], found[1])


def _from_export(exported: Any, input_shape: tuple[int, ...], classes: dict[str, str]) -> Capture:
    sig = exported.graph_signature
    params: dict[str, Param] = {}
    buffers: dict[str, Param] = {}
    bound: dict[str, Param] = {}
    kinds = {spec.arg.name: spec for spec in sig.input_specs}
    graph = exported.graph
    # an op whose result nothing reads still runs in eager PyTorch (its hooks fire, FlopCounterMode
    # counts it): it stays, as a layer that reaches no output; getitem, views and the like go
    graph.eliminate_dead_code(is_impure_node=lambda n: n.is_impure() or _computes(n))
    for node in graph.nodes:
        if node.op != "placeholder":
            continue
        spec = kinds.get(node.name)
        kind = getattr(spec, "kind", None)
        kind_name = getattr(kind, "name", "")
        if spec is not None and kind_name in ("PARAMETER", "BUFFER"):
            p = Param(spec.target, _shape(node.meta.get("val")), kind_name == "BUFFER")
            (buffers if p.buffer else params)[p.fqn] = p
            bound[node.name] = p
    # every parameter and buffer, used or not: an unused one must not go missing silently
    for name, tensor in exported.state_dict.items():
        if name not in params and name not in buffers:
            p = Param(name, _shape(tensor), name in sig.buffers)
            (buffers if p.buffer else params)[name] = p
    constants = {name for name, spec in kinds.items()
                 if getattr(getattr(spec, "kind", None), "name", "") in ("CONSTANT_TENSOR", "CUSTOM_OBJ", "TOKEN")}
    user_inputs = [n.name for n in graph.nodes
                   if n.op == "placeholder" and n.name not in bound and n.name not in constants]
    if len(user_inputs) != 1:
        raise refuse(f"the model takes {len(user_inputs)} tensor inputs; cnncalc describes models with one input")

    # a cast to the dtype and device a tensor has (``w.to(x.dtype)``) returns the tensor itself,
    # and the check export records before it computes nothing: both vanish
    same: dict[str, Any] = {}
    for node in graph.nodes:
        if node.op == "call_function" and str(node.target).startswith("aten.to.") and node.args:
            src, val = node.args[0], node.meta.get("val")
            before = getattr(src, "meta", {}).get("val")
            if (before is not None and val is not None and before.dtype == val.dtype and before.device == val.device
                    and not node.kwargs.get("copy") and not (len(node.args) > 3 and node.args[3])):
                same[node.name] = src

    def conv(a: Any) -> Any:
        import torch.fx

        if isinstance(a, torch.fx.Node):
            if a.name in same:
                return conv(same[a.name])
            if a.name in bound:
                return bound[a.name]
            if a.name in constants:
                return Ref(f"constant {a.name}")
            if a.op == "placeholder":
                return Ref("input")
            if a.op == "get_attr":
                return Ref(f"constant {a.target}")
            return Ref(a.name)
        if isinstance(a, (list, tuple)):
            return type(a)(conv(v) for v in a)
        return a

    nodes: list[Node] = []
    outputs: list[Any] = []
    for node in graph.nodes:
        if node.name in same or str(node.target) == "aten._assert_tensor_metadata.default":
            continue
        if node.op == "call_function":
            file, line = _location(node.meta.get("stack_trace"))
            target = getattr(node.target, "__name__", str(node.target))
            if hasattr(node.target, "_schema") or str(node.target).startswith("aten."):
                target = str(node.target)
            val = node.meta.get("val")
            contiguous = _contiguous(val)
            nodes.append(Node(node.name, target, conv(tuple(node.args)), conv(dict(node.kwargs)),
                              _shape(val), _scope(node.meta), file, line, contiguous=contiguous,
                              copies=_copies(node, val), operand_copies=_operand_copies(node)))
        elif node.op == "output":
            outs = node.args[0]
            outputs = list(conv(outs if isinstance(outs, (list, tuple)) else (outs,)))
    return Capture(tuple(input_shape), nodes, outputs, params, buffers, classes)

