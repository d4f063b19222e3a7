"""Memory of training and inference, modelled on what PyTorch keeps and when. Pure: no I/O.

Every tensor is a storage of ``fixed + per_sample·batch`` bytes that lives between two moments:

- the weights, buffers and optimizer state (SGD 0, momentum 1×, Adam/AdamW 2× the trainable
  parameters: frozen ones get no gradient and no state) live throughout, in the parameters'
  dtype (fp32 under autocast: they are the master weights); the input batch lives throughout
  (the caller holds it);
- in the forward pass a layer's output is allocated when the layer runs (in-place layers and
  views reuse their input's storage) and freed after its last consumer, or when the module
  that received it as input returns (a PyTorch module holds its arguments until it returns:
  a block keeps its input alive), whichever is later;
- in training, the tensors each layer saves (``Layer.saved_when``: what autograd keeps given
  which of its inputs require grad and whether its parameters are frozen; nothing where
  nothing does, as in a frozen prefix) stay until that layer's backward has run, each storage
  counted once however many layers save it; the loss keeps every output (``Graph.outputs``) and
  gives each its gradient; a layer whose result reaches no output saves nothing (PyTorch frees
  what it saved when ``forward`` returns);
- the backward pass walks the layers in reverse: each allocates the gradients of its inputs
  (views of the output's gradient for add, concat, flatten, identity) and of its parameters,
  then frees its saved tensors and its output's gradient; a tensor used twice sums its
  gradients into a new tensor;
- ``optimizer.step()`` runs with every gradient alive; foreach Adam/AdamW adds a temporary of
  the size of the trainable parameters (√v);
- a layer's library workspace (``Layer.workspace``) is live while it runs, forward and backward.

The peak is the largest live total over all these moments, plus the CUDA library workspace
(cuBLAS and the like) that a PyTorch process holds: about 65 MiB, measured on an H100 with
PyTorch 2.11.
Each moment's total is linear in the batch, so the largest batch that fits is exact.
"""

from __future__ import annotations

from .constants import DEFAULT_DTYPE, DEFAULT_OPTIMIZER, DTYPE_BYTES, OPTIMIZER_STATE, OPTIMIZERS, TRAINING_DTYPES
from .errors import OptionError
from .graph import INPUT, Graph, Node
from .layers import numel
from .layers.base import Counts, Saved
from .memory_walk import KINDS, NOTHING, Key, Moment, Size, StepWalk
from .report import Fit, LayerMemory, MemoryEstimate

#: CUDA library workspace (cuBLAS and the like) a PyTorch process holds (measured: PyTorch 2.11, H100).
LIBRARY_WORKSPACE = 65 * 2**20
#: Bytes of the fixed-type tensors a layer saves.
_FIXED_BYTES = {"fp32": 4, "int64": 8, "bool": 1}


def requires_grad(graph: Graph) -> dict[int, bool]:
    """Whether each node's output requires grad: a trainable (not frozen) parameter at or above it.

    The input batch (``INPUT``) does not, so a frozen prefix computes without autograd.
    """
    needs_grad = {INPUT: False}
    for node, c in zip(graph.nodes, graph.counts()):
        needs_grad[node.index] = (c.params > 0 and not node.frozen) or any(needs_grad[j] for j in node.inputs)
    return needs_grad


def autograd_saves(node: Node, counts: Counts, needs_grad: dict[int, bool]) -> tuple[Saved, ...]:
    """What autograd keeps for ``node``'s backward, given which outputs require grad (:func:`requires_grad`)."""
    needs = tuple(needs_grad[j] for j in node.inputs)
    trainable = counts.params > 0 and not node.frozen
    if all(needs) and trainable == (counts.params > 0):
        return counts.saved  # everything requires grad: the layer's full rule
    return node.layer.saved_when(node.in_shapes, node.out_shape, needs, trainable)


class MemoryModel(StepWalk):
    """Everything batch-independent about a network's memory: storages, lifetimes, moments."""

    def __init__(self, graph: Graph, *, dtype: str = DEFAULT_DTYPE, amp: bool = False,
                 optimizer: str = DEFAULT_OPTIMIZER) -> None:
        if dtype not in DTYPE_BYTES:
            raise OptionError(f"unknown dtype '{dtype}' (choose from {', '.join(DTYPE_BYTES)})")
        if optimizer not in OPTIMIZERS:
            raise OptionError(f"unknown optimizer '{optimizer}' (choose from {', '.join(OPTIMIZERS)})")
        if amp and DTYPE_BYTES[dtype] != 2:
            raise OptionError(f"mixed precision (amp) needs a 16-bit dtype, fp16 or bf16, not {dtype}")
        self.graph = graph
        self.dtype, self.amp, self.optimizer = dtype, amp, optimizer
        self.trains = optimizer != "none" and dtype in TRAINING_DTYPES
        self.act = DTYPE_BYTES[dtype]
        # autocast keeps the parameters in fp32: they are the master weights
        self.param_bytes = 4 if amp else self.act
        # each layer's counts, once: the walks below visit every layer several times
        self.counts = graph.counts()
        self.n_params = [c.params for c in self.counts]
        #: parameters that get a gradient and optimizer state (a frozen layer's get neither)
        self.n_trainable = [0 if n.frozen else p for n, p in zip(graph.nodes, self.n_params)]
        self.n_buffers = [c.buffers for c in self.counts]
        self.n_workspace = [c.workspace for c in self.counts]
        self._storages()
        self._saved()
        self._lifetimes()
        self.inference_moments = self._moments(training=False)
        self.training_moments = self._moments(training=True) if self.trains else []

    # -- storages ---------------------------------------------------------------------------------
    def _storages(self) -> None:
        """Storage root, dtype, autocast copies and requires-grad of every layer's output."""
        nodes = self.graph.nodes
        self.root: dict[int, int] = {INPUT: INPUT}
        # under autocast the caller's batch is fp32
        self.bytes: dict[int, int] = {INPUT: 4 if self.amp else self.act}
        self.casts: dict[tuple[int, int], Size] = {}
        self.casts_of: dict[int, list[int]] = {}
        self.requires_grad = requires_grad(self.graph)
        for node in nodes:
            layer, i = node.layer, node.index
            storage = layer.output_storage()
            self.root[i] = i if storage == "new" else self.root[node.inputs[0]]
            ins_bytes = [self.bytes[j] for j in node.inputs]
            if storage != "new":
                self.bytes[i] = ins_bytes[0]
            elif self.amp and layer.autocast != "same":
                target = self.act if layer.autocast == "low" else 4
                for k, b in enumerate(ins_bytes):
                    if b != target:
                        self.casts[i, k] = Size(0, numel(node.in_shapes[k]) * target)
                        self.casts_of.setdefault(i, []).append(k)
                self.bytes[i] = target
            else:
                self.bytes[i] = max(ins_bytes)
        # per-sample bytes of each layer's output (out_size gives its storage's, that of its root)
        # and of its library workspace
        self.out_bytes: dict[int, int] = {INPUT: numel(self.graph.input_shape) * self.bytes[INPUT]}
        for node in nodes:
            self.out_bytes[node.index] = numel(node.out_shape) * self.bytes[node.index]
        self.ws_bytes = [w * self.bytes[i] for i, w in enumerate(self.n_workspace)]
        # layers whose output reaches one of the network's outputs take part in backward
        self.reaches = [False] * len(nodes)
        #: the network's outputs other than its input, each once, in order
        self.outs = tuple(dict.fromkeys(o for o in self.graph.outputs if o != INPUT))
        for o in self.outs:
            self.reaches[o] = True
        for node in reversed(nodes):
            if self.reaches[node.index]:
                for j in node.inputs:
                    if j != INPUT:
                        self.reaches[j] = True

    def out_size(self, i: int) -> Size:
        """Per-sample bytes of the storage of node ``i``'s output (``INPUT``: the batch)."""
        return Size(0, self.out_bytes[self.root[i]])

    def _resolve(self, i: int, k: int, s: Saved) -> tuple[Key, Size] | None:
        """The storage a saved tensor lives in: shared (input, output, weight copy) or its own."""
        node = self.graph.nodes[i]
        if s.ref == "input":
            if (i, s.index) in self.casts:
                return ("cast", i, s.index), self.casts[i, s.index]
            j = node.inputs[s.index]
            return ("out", self.root[j]), self.out_size(j)
        if s.ref == "output":
            return ("out", self.root[i]), self.out_size(i)
        if s.ref == "weight":
            # the parameter itself is counted as weights; autocast keeps a low-precision copy
            if self.amp and node.layer.autocast == "low":
                return ("weight copy", i), Size(s.elements * self.act, 0)
            return None
        per = {"act": self.bytes[i], "weights": self.param_bytes}.get(s.dtype) or _FIXED_BYTES[s.dtype]
        return ("new", i, k), Size(0, s.elements * per) if s.per_sample else Size(s.elements * per, 0)

    def _saved(self) -> None:
        """Every layer's saved tensors, resolved to storages; each storage knows its savers."""
        self.saved_by: dict[int, tuple[tuple[Key, Size], ...]] = {}
        # per storage that layers save: the first layer to save it, and how many do
        self.first_saver: dict[Key, int] = {}
        self.n_savers: dict[Key, int] = {}
        self.sizes: dict[Key, Size] = {}
        self.saved_specs: dict[int, tuple[Saved, ...]] = {}
        self.saved_keys: dict[int, tuple[Key, ...]] = {}
        #: what each layer's own saved tensors take (its row's ``saved_bytes``)
        self.layer_saved: list[Size] = []
        for node in self.graph.nodes:
            i = node.index
            kept: list[tuple[Key, Size]] = []
            own = NOTHING
            if self.requires_grad[i] and self.reaches[i]:
                self.saved_specs[i] = autograd_saves(node, self.counts[i], self.requires_grad)
                for k, s in enumerate(self.saved_specs[i]):
                    hit = self._resolve(i, k, s)
                    if hit is not None:
                        kept.append(hit)
                        if s.ref == "input" and hit[0][0] == "out":
                            # the input tensor itself (a view keeps its whole storage alive)
                            j = node.inputs[s.index]
                            own += Size(0, self.out_bytes[j])
                        else:
                            own += hit[1]
            self.layer_saved.append(own)
            self.saved_by[i] = tuple(kept)
            # each storage once: its savers are counted down as their backward runs
            self.saved_keys[i] = keys = tuple(dict.fromkeys(key for key, _ in kept))
            for key in keys:
                self.first_saver.setdefault(key, i)
                self.n_savers[key] = self.n_savers.get(key, 0) + 1
            for key, size in kept:
                self.sizes[key] = size
        # every output of the network is kept by the loss (and by the caller) until the end of the step
        self.output_keys = frozenset(("out", self.root[o]) for o in self.outs) - {("out", INPUT)}
        self.kept = set(self.n_savers) - {("out", INPUT)}
        for o in self.outs:
            key = ("out", self.root[o])
            if key in self.output_keys:
                self.kept.add(key)
                self.sizes[key] = self.out_size(o)

    def _lifetimes(self) -> None:
        """Forward pass: the layer after which each output storage can be freed."""
        nodes = self.graph.nodes
        scope_end: dict[str, int] = {}
        for node in nodes:
            parts = node.name.split(".")
            for k in range(1, len(parts)):
                scope_end[".".join(parts[:k])] = node.index
        last: dict[int, int] = {}
        for node in nodes:
            i = node.index
            last.setdefault(self.root[i], i)
            parts = node.name.split(".")
            for j in node.inputs:
                end = i
                inside = "" if j == INPUT else nodes[j].name
                # the outermost module that received j as input holds it until that module returns
                for k in range(1, len(parts)):
                    scope = ".".join(parts[:k])
                    if not inside.startswith(scope + "."):
                        end = max(end, scope_end[scope])
                        break
                r = self.root[j]
                last[r] = max(last.get(r, end), end)
        for o in self.outs:
            last[self.root[o]] = len(nodes)
        dies: dict[int, list[int]] = {}
        for r, end in last.items():
            if r != INPUT:
                dies.setdefault(end, []).append(r)
        self.dies_after = {end: tuple(rs) for end, rs in dies.items()}

    # -- figures at a batch size -------------------------------------------------------------------
    @staticmethod
    def _peak(moments: list[Moment], batch: int) -> tuple[int, int]:
        """(bytes, index) of the largest moment at ``batch`` (the first one on ties)."""
        best, at = -1, 0
        for k, m in enumerate(moments):
            v = m.fixed + m.per_sample * batch
            if v > best:
                best, at = v, k
        return best, at

    def inference_bytes(self, batch: int) -> int:
        """Peak memory of an inference (eval, no_grad) forward pass, workspace included."""
        return self._peak(self.inference_moments, batch)[0] + LIBRARY_WORKSPACE

    def training_bytes(self, batch: int) -> int | None:
        """Peak memory of one training step, workspace included (None when not training)."""
        if not self.trains:
            return None
        return self._peak(self.training_moments, batch)[0] + LIBRARY_WORKSPACE

    def largest_batch(self, budget: int, *, training: bool) -> int:
        """Largest batch whose peak fits in ``budget`` bytes (0 if not even one sample fits)."""
        moments = self.training_moments if training else self.inference_moments
        room = budget - LIBRARY_WORKSPACE
        best: int | None = None
        for m in moments:
            # fixed + per_sample·batch ≤ room
            if m.fixed > room:
                return 0
            if m.per_sample:
                n = (room - m.fixed) // m.per_sample
                best = n if best is None else min(best, n)
        return max(best or 0, 0)

    def _layer_figures(self, batch: int, contributions: dict[int, int]) -> tuple[LayerMemory, ...]:
        rows = []
        out_bytes = self.out_bytes
        for node in self.graph.nodes:
            i, layer = node.index, node.layer
            saved = self.layer_saved[i].at(batch)
            if layer.output_storage() == "view":
                read = write = 0
            else:
                read = sum(out_bytes[j] for j in node.inputs) * batch
                read += (self.n_params[i] + self.n_buffers[i]) * self.param_bytes
                write = out_bytes[i] * batch
            flops = self.counts[i].flops * batch
            rows.append(LayerMemory(i, node.name, out_bytes[i] * batch, saved,
                                    contributions.get(i, 0), read, write, flops))
        return tuple(rows)

    def estimate(self, batch: int) -> MemoryEstimate:
        """All figures at one batch size."""
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise OptionError(f"batch must be a positive integer, got {batch!r}")
        nodes = self.graph.nodes
        trainable = sum(self.n_trainable)
        weights = (sum(self.n_params) + sum(self.n_buffers)) * self.param_bytes
        inference, _ = self._peak(self.inference_moments, batch)
        training = moment_name = None
        breakdown: dict[str, int] = {}
        contributions: dict[int, int] = {}
        saved = 0
        if self.trains:
            training, at = self._peak(self.training_moments, batch)
            m = self.training_moments[at]
            moment_name = m.phase if m.node is None else f"{m.phase} of {nodes[m.node].name}"
            end = next(k for k, mm in enumerate(self.training_moments) if mm.phase == "end of forward")
            snapshots = self._snapshots(frozenset((at, end)))
            snapshot = snapshots[at]
            if weights:
                breakdown["weights"] = weights
            if trainable and OPTIMIZER_STATE[self.optimizer]:
                breakdown["optimizer state"] = OPTIMIZER_STATE[self.optimizer] * trainable * self.param_bytes
            contributions = self._resident(training=True)
            for item in snapshot.values():
                b = item.at(batch)
                breakdown[item.kind] = breakdown.get(item.kind, 0) + b
                if item.owner != INPUT:
                    contributions[item.owner] = contributions.get(item.owner, 0) + b
            snap_end = snapshots[end]
            saved = sum(it.at(batch) for it in snap_end.values()
                        if it.kind in ("saved activations", "autocast copies"))
            training += LIBRARY_WORKSPACE
            breakdown["library workspace"] = LIBRARY_WORKSPACE
        return MemoryEstimate(
            batch=batch,
            dtype=self.dtype,
            amp=self.amp,
            optimizer=self.optimizer,
            layers=self._layer_figures(batch, contributions),
            weights=weights,
            gradients=trainable * self.param_bytes if self.trains else 0,
            optimizer_state=OPTIMIZER_STATE[self.optimizer] * trainable * self.param_bytes if self.trains else 0,
            saved=saved,
            input=self.out_size(INPUT).at(batch),
            overhead=LIBRARY_WORKSPACE,
            inference_activations=inference - weights,
            inference_peak=inference + LIBRARY_WORKSPACE,
            training_peak=training,
            training_moment=moment_name,
            training_breakdown=tuple((k, breakdown[k]) for k in (*KINDS, "library workspace") if breakdown.get(k)),
        )


def estimate(graph: Graph, *, batch: int = 1, dtype: str = DEFAULT_DTYPE, amp: bool = False,
             optimizer: str = DEFAULT_OPTIMIZER) -> MemoryEstimate:
    """Training and inference memory of a built graph."""
    return MemoryModel(graph, dtype=dtype, amp=amp, optimizer=optimizer).estimate(batch)


def fit(graph: Graph, budget: int, *, dtype: str = DEFAULT_DTYPE, amp: bool = False,
        optimizer: str = DEFAULT_OPTIMIZER) -> Fit:
    """The largest batch that fits in ``budget`` bytes for training and for inference."""
    model = MemoryModel(graph, dtype=dtype, amp=amp, optimizer=optimizer)
    train = model.largest_batch(budget, training=True) if model.trains else None
    infer = model.largest_batch(budget, training=False)
    return Fit(
        budget=budget,
        dtype=dtype,
        amp=amp,
        optimizer=optimizer,
        training_batch=train,
        training_bytes=model.training_bytes(train) if train else None,
        inference_batch=infer,
        inference_bytes=model.inference_bytes(infer) if infer else 0,
    )
