"""JSON Schemas: of the network format (input) and of the JSON that cnncalc prints (output).

The output models below are the documented contract of ``report``, ``check``, ``diff``,
``sweep`` and ``fit`` ``--format json``. They mirror the ``to_dict`` methods of :mod:`report`,
:mod:`budgets`, :mod:`diff`, :mod:`sweep` and :mod:`memory`; the tests round-trip real output
of every command and option through them in strict mode (unknown keys are refused), so the two
cannot drift apart. Counts and bytes are raw integers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from .constants import ConventionName, Dtype, Optimizer, TrainingOptimizer
from .layers import REGISTRY
from .layers import Layer as LayerModel
from .layers.base import _EXPR_SCHEMA as EXPR_SCHEMA
from .layers.base import MAX_INT
from .limits import LIMITS, Bound
from .report import SCHEMA_VERSION, LayerStatus, NetworkStatus, Origin, Status
from .spec import Network, _fold, _known_types
from .units import Kind

DRAFT = "https://json-schema.org/draft/2020-12/schema"
#: ``schema_version`` of every JSON output; bumped on any incompatible change.
Version = Literal[SCHEMA_VERSION]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# ---------------------------------------------------------------------------------------------
# cnncalc report


class AxisField(_Strict):
    """Receptive field along one input axis."""

    size: int | None = Field(
        description="pixels of the input seen, the largest over the output units; null: the whole input")
    size_min: int | None = Field(description="the smallest field over the output units; null: the whole input")
    size_max: int | None = Field(description="the largest field over the output units, the same as size")
    jump: int | float = Field(description="input pixels between neighbouring units (effective stride)")
    start: int | float = Field(description="input coordinate of the centre of unit 0")


class ReceptiveField(_Strict):
    """Receptive field of a layer's output."""

    whole_input: bool = Field(description="every unit sees the whole input on every axis")
    axes: list[AxisField] = Field(description="over all paths, one entry per spatial axis")
    local: list[AxisField] | None = Field(description="through spatial paths only; null when there are none")
    mixed_jump: bool = Field(description="paths of different jump meet (the largest field is given)")


class NetworkInfo(_Strict):
    """What was analysed."""

    name: str
    source: str | None = Field(description="the file read; null for text or standard input")
    input_shape: list[int] = Field(description="(C, *spatial), without the batch")
    dtype: Dtype
    dtype_bytes: int
    batch: int
    convention: ConventionName | None = Field(
        None, description="the tool whose MACs and FLOPs --convention reproduces; absent: cnncalc's own")


class LayerMemory(_Strict):
    """A layer's memory at the batch, dtype and optimizer of the report."""

    output_bytes: int = Field(ge=0, description="output elements × activation bytes × batch")
    saved_bytes: int = Field(ge=0, description="what autograd keeps for the layer's backward pass, at the batch")
    training_peak_bytes: int = Field(
        ge=0, description="the layer's share of the training peak: its weights, gradients and optimizer state, "
                          "the saved tensors it keeps first, and its transients")
    read_bytes: int = Field(ge=0, description="inputs × batch + weights")
    write_bytes: int = Field(ge=0, description="output × batch")
    arithmetic_intensity: float | None = Field(description="FLOPs per byte read or written; null: no bytes move")


class Memory(_Strict):
    """Training and inference memory: cnncalc's model of what PyTorch keeps."""

    batch: int = Field(ge=1)
    dtype: Dtype
    amp: bool = Field(description="mixed precision (torch.autocast): fp32 weights, 16-bit activations")
    optimizer: Optimizer
    weights_bytes: int = Field(ge=0, description="parameters and buffers")
    gradients_bytes: int = Field(ge=0, description="the trainable parameters': frozen ones get none")
    optimizer_state_bytes: int = Field(ge=0, description="0, 1x or 2x the trainable parameters (frozen ones have none)")
    saved_activations_bytes: int = Field(ge=0, description="what autograd keeps at the end of the forward pass")
    input_bytes: int = Field(ge=0, description="the input batch")
    library_workspace_bytes: int = Field(ge=0, description="CUDA library workspace, included in both peaks")
    inference_activations_bytes: int = Field(ge=0, description="peak of live activations, input batch included")
    inference_peak_bytes: int = Field(ge=0)
    training_peak_bytes: int | None = Field(description="null: no training (optimizer none, or int8)")
    training_peak_at: str | None = Field(description="the moment of the peak, e.g. 'backward of layer4.2.relu'")
    training_peak_breakdown: dict[str, int] = Field(description="bytes alive at the peak, by kind")


class Layer(_Strict):
    """One layer's figures, per sample."""

    index: int
    name: str = Field(description="hierarchical name, like a PyTorch module path")
    type: str
    layer_count: int = Field(ge=1, description="layers the row stands for: 1, or the size of a group under --depth")
    inputs: list[str] = Field(description="names of the layers it reads ('input' for the network input)")
    input_shapes: list[list[int]]
    output_shape: list[int]
    params: int = Field(ge=0, description="parameters, trainable and frozen (as Module.parameters())")
    trainable_params: int = Field(ge=0, description="parameters that get a gradient (not frozen)")
    frozen: bool = Field(description="the layer (a group: every layer in it) is frozen, requires_grad_(False)")
    buffers: int = Field(ge=0, description="buffers, not parameters (e.g. BatchNorm running statistics)")
    macs: int = Field(ge=0, description="multiply-accumulates of conv and linear weights, and of matmul")
    flops: int = Field(ge=0, description="floating-point operations")
    receptive_field: ReceptiveField
    jumps_meet: bool = Field(description="paths of different jump meet here; the largest field is shown")
    output_elements: int = Field(ge=0)
    output_bytes: int = Field(ge=0, description="output_elements × dtype_bytes")
    memory: LayerMemory


class Output(_Strict):
    """One output of the network."""

    name: str = Field(description="as listed under 'outputs:' (a layer or group), else the last layer")
    shape: list[int] = Field(description="without the batch")


class Warning_(_Strict):
    """Something that does not stop the analysis but changes its meaning."""

    model_config = ConfigDict(title="Warning")

    message: str
    layer: str | None
    type: str | None = Field(description="the layer's type")
    file: str | None
    line: int | None
    column: int | None


class Totals(_Strict):
    """Whole-network figures."""

    params: int = Field(ge=0, description="parameters, trainable and frozen, as sum(p.numel() for p in parameters())")
    trainable_params: int = Field(ge=0, description="parameters with requires_grad (torchinfo's 'Trainable params')")
    non_trainable_params: int = Field(ge=0, description="frozen parameters (torchinfo's 'Non-trainable params')")
    buffers: int = Field(ge=0, description="buffer values (BatchNorm running statistics), never parameters")
    macs: int = Field(ge=0)
    flops: int = Field(ge=0)
    param_bytes: int = Field(ge=0)
    buffer_bytes: int = Field(ge=0)
    weight_file_bytes: int = Field(ge=0, description="(params + buffers) × dtype_bytes")
    input_elements: int = Field(ge=0)
    activation_elements: int = Field(ge=0, description="sum of every layer's output elements")
    activation_bytes: int = Field(ge=0, description="per sample")
    batch: int = Field(ge=1)
    activation_bytes_batch: int = Field(ge=0, description="activation_bytes × batch")
    output_shape: list[int] = Field(description="of the first output")
    outputs: list[Output] = Field(description="every output the network returns, in order")
    receptive_field: ReceptiveField | None = Field(description="of the last spatial feature map")
    receptive_field_layer: str | None


class ReportOutput(_Strict):
    """``cnncalc report --format json``."""

    model_config = ConfigDict(title="cnncalc report")

    schema_version: Version
    network: NetworkInfo
    layers: list[Layer]
    totals: Totals
    warnings: list[Warning_] = Field(description="e.g. a branch whose result reaches no output")
    memory: Memory


# ---------------------------------------------------------------------------------------------
# cnncalc check


class LimitSource(_Strict):
    """Where a limit was set."""

    origin: Origin = Field(
        description="a command-line flag, the network file's budgets: section, or a budgets file")
    file: str | None
    line: int | None


class LimitResult(_Strict):
    """One limit, checked."""

    limit: Literal[tuple(LIMITS)]  # type: ignore[valid-type]
    figure: str = Field(description="the figure bounded")
    bound: Bound
    unit: Kind
    value: int = Field(ge=0, description="the limit, exactly")
    text: str = Field(description="the limit as written, e.g. 5M")
    source: LimitSource
    actual: int | None = Field(description="the measured figure; null when not measured, or for a "
                                           "receptive field covering the whole input")
    headroom_percent: float | None = Field(description="share of the limit left; negative when exceeded")
    status: Status = Field(description="pass, fail (exceeded) or error (could not be checked)")
    message: str | None = Field(description="why the limit could not be checked")


class LocatedProblem(_Strict):
    """Why a file could not be checked, where."""

    message: str
    file: str | None
    line: int | None = Field(description="1-based")
    column: int | None = Field(description="1-based")
    layer: str | None = Field(description="the layer's name, when the problem is in a layer")
    layer_type: str | None
    text: str = Field(description="the whole message as printed: file:line:col: layer 'x' (type): message")


class NetworkResult(_Strict):
    """One file: the limits of its network, or the problems that kept it from being checked."""

    name: str | None = Field(description="the network's name; null for a file that could not be read or analysed")
    file: str | None
    batch: int | None = Field(description="what the memory limits assume; null for an invalid file")
    dtype: Dtype | None
    optimizer: TrainingOptimizer | None
    status: NetworkStatus = Field(
        description="error (invalid file, or a limit not checked), fail (a limit not met), pass, or skip (no limits)")
    limits: list[LimitResult]
    problems: list[LocatedProblem] = Field(description="non-empty exactly when the file is invalid")
    note: str | None = Field(description="why a network was skipped")


class CheckSummary(_Strict):
    """Counts of files and limits."""

    networks: int = Field(ge=0, description="files checked, invalid ones included")
    limits: int = Field(ge=0)
    passed: int = Field(ge=0)
    failed: int = Field(ge=0, description="limits not met: a maximum exceeded or a minimum not reached")
    errors: int = Field(ge=0, description="limits that could not be checked")
    invalid: int = Field(ge=0, description="files that could not be read, validated or analysed")
    skipped: int = Field(ge=0, description="networks without limits")


class CheckOutput(_Strict):
    """``cnncalc check --format json``."""

    model_config = ConfigDict(title="cnncalc check")

    schema_version: Version
    status: NetworkStatus = Field(
        description="the worst status: error (exit code 2) over fail (1) over pass (0); skip (0) when no "
                    "network had limits")
    summary: CheckSummary
    networks: list[NetworkResult]


# ---------------------------------------------------------------------------------------------
# cnncalc diff


class Change(_Strict):
    """A figure in the old and the new network."""

    old: int
    new: int
    delta: int = Field(description="new - old")
    percent: float | None = Field(description="delta / old × 100; null when old is 0")


class RFChange(_Strict):
    """Receptive field per axis of the last spatial map (null entries: the whole input)."""

    old: list[int | None] | None
    new: list[int | None] | None


class OutputsChange(_Strict):
    """What each network returns, in order (several with ``outputs:``)."""

    old: list[Output]
    new: list[Output]


class DiffTotals(_Strict):
    """Total figures compared."""

    params: Change
    trainable_params: Change
    buffers: Change
    macs: Change
    flops: Change
    param_memory: Change = Field(description="weight_file_bytes")
    activation_memory: Change = Field(description="activation_bytes_batch")
    receptive_field: RFChange
    outputs: OutputsChange


class LayerSide(_Strict):
    """A layer's figures on one side of the diff."""

    index: int
    type: str
    output_shape: list[int]
    receptive_field: list[int | None] | None
    params: int
    trainable_params: int
    buffers: int
    macs: int
    flops: int
    memory: int = Field(description="output bytes per sample")


class LayerDelta(_Strict):
    """new - old of each per-layer figure (0 on an absent side)."""

    params: int
    trainable_params: int
    buffers: int
    macs: int
    flops: int
    memory: int


class LayerChange(_Strict):
    """One layer, matched by name."""

    name: str
    status: LayerStatus
    old: LayerSide | None
    new: LayerSide | None
    delta: LayerDelta


class DiffSummary(_Strict):
    """Number of layers by status."""

    added: int
    removed: int
    changed: int
    unchanged: int


class FailAbove(_Strict):
    """The --fail-above gate."""

    percent: float
    figures: list[str]
    exceeded: list[str] = Field(description="figures that grew beyond the threshold (exit code 1 if any)")


class DiffOutput(_Strict):
    """``cnncalc diff --format json``."""

    model_config = ConfigDict(title="cnncalc diff")

    schema_version: Version
    old: NetworkInfo
    new: NetworkInfo
    totals: DiffTotals
    summary: DiffSummary
    layers: list[LayerChange]
    fail_above: FailAbove | None


# ---------------------------------------------------------------------------------------------
# cnncalc sweep


class SweepNetwork(_Strict):
    """What was swept."""

    name: str
    source: str | None = Field(description="the file read; null for text or standard input")
    dtype: Dtype
    dtype_bytes: int
    optimizer: Optimizer
    amp: bool


class SweepRow(_Strict):
    """The network at one input shape and batch size."""

    input_shape: list[int] = Field(description="(C, *spatial), without the batch")
    batch: int = Field(ge=1)
    totals: Totals
    memory: Memory | None


class SweepOutput(_Strict):
    """``cnncalc sweep --format json``."""

    model_config = ConfigDict(title="cnncalc sweep")

    schema_version: Version
    network: SweepNetwork
    rows: list[SweepRow] = Field(description="every input shape and batch size, input-major")


# ---------------------------------------------------------------------------------------------
# cnncalc fit


class FitOutput(_Strict):
    """``cnncalc fit --format json``."""

    model_config = ConfigDict(title="cnncalc fit")

    schema_version: Version
    network: str
    input_shape: list[int] = Field(description="(C, *spatial), without the batch")
    budget_bytes: int = Field(ge=0)
    dtype: Dtype
    amp: bool
    optimizer: Optimizer
    training_batch: int | None = Field(ge=0, description="largest batch that trains; 0: not even one sample; "
                                                          "null: no training (optimizer none, or int8)")
    training_bytes: int | None = Field(ge=0, description="training peak at that batch; null when none trains")
    inference_batch: int = Field(ge=0, description="largest batch for inference; 0: not even one sample")
    inference_bytes: int = Field(ge=0, description="inference peak at that batch; 0 when none fits")


OUTPUTS: dict[str, type[_Strict]] = {"report": ReportOutput, "check": CheckOutput, "diff": DiffOutput,
                                     "sweep": SweepOutput, "fit": FitOutput}
# a Union built at run time, so a value to type checkers: `X | Y` has no form for a tuple of members
_OUTPUT_UNION: Any = Union[tuple(OUTPUTS.values())]  # noqa: UP007
_ANY_OUTPUT: TypeAdapter[Any] = TypeAdapter(_OUTPUT_UNION)


def output_schema(command: str | None = None) -> dict[str, Any]:
    """JSON Schema of the JSON output of ``command`` (a key of :data:`OUTPUTS`), or of any of them."""
    if command is not None:
        schema = OUTPUTS[command].model_json_schema()
    else:
        schema = _ANY_OUTPUT.json_schema()
        schema["title"] = "cnncalc JSON output"
    return {"$schema": DRAFT, **schema}


def validate_output(data: Any, command: str) -> BaseModel:
    """Validate parsed JSON output against the model of ``command`` (strict; raises ValidationError)."""
    return OUTPUTS[command].model_validate(data, strict=True)


def input_schema() -> dict[str, Any]:
    """JSON Schema of the network format, generated from :class:`spec.Network`, closed over the layer types.

    Pydantic generates the union of every registered layer type's item; this closes it so that a
    validator refuses what cnncalc refuses (see :func:`_close`).
    """
    schema = Network.model_json_schema()
    schema["title"] = "cnncalc network"
    _close(schema)
    return {"$schema": DRAFT, **schema}


# ---------------------------------------------------------------------------------------------
# closing the input schema over the registry
#
# What JSON Schema cannot say is left to cnncalc: whether a block call names a block defined
# under ``blocks:`` (a schema cannot compare a key with the keys of another mapping), names,
# wiring and shapes; and ``3.0`` for an integer, which JSON Schema counts as an integer (a
# number "with a zero fractional part", draft 2020-12 validation §6.1.1) while cnncalc refuses it.


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in ``node``, depth first."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def _retarget(node: Any, old: str, new: str) -> Any:
    """A deep copy of ``node`` whose references to ``old`` point to ``new``."""
    if isinstance(node, dict):
        return {k: new if k == "$ref" and v == old else _retarget(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_retarget(v, old, new) for v in node]
    return node


def _is_number_array(node: Any) -> bool:
    return isinstance(node, dict) and node.get("type") == "array" and any(
        n.get("type") in ("integer", "number") for n in _walk(node.get("items", {})))


#: One part of a layer name as :func:`layers.args._name` takes it: no '.', '/' or control
#: character, no '$' first, no space first or last (what else it refuses, such as other
#: non-printable characters, cnncalc reports).
_NAME_PART = r"[^\s$./\x00-\x1f\x7f](?:[^./\x00-\x1f\x7f]*[^\s./\x00-\x1f\x7f])?"
#: A layer name as :func:`layers.args._layer_name` takes it: 1 to 200 characters, one part or
#: several joined by '.' (a part is not '*').
NAME_PATTERN = rf"^(?=.{{1,200}}$)(?!(?=.*\.)(?:.*\.)?\*(?:\..*)?$){_NAME_PART}(?:\.{_NAME_PART})*$"


def _close_name(schema: dict[str, Any]) -> None:
    for node in _walk(schema.get("properties", {}).get("name", {})):
        if node.get("type") == "string":
            node["pattern"] = NAME_PATTERN


def _close_layer(schema: dict[str, Any], cls: type[LayerModel]) -> None:
    """A layer type's arguments as cnncalc validates them."""
    _close_name(schema)
    for key, prop in schema.get("properties", {}).items():
        if "enum" in prop and key not in ("from", "if", "name"):
            # a choice of words may also be a $expression inside a block, as its validator allows
            words = {"enum": prop.pop("enum")}
            prop.pop("type", None)
            prop["anyOf"] = [words, dict(EXPR_SCHEMA)]
        for node in _walk(prop):
            if node.get("type") == "integer":
                node.setdefault("maximum", MAX_INT)  # PyTorch holds sizes in signed 64-bit integers
            for branch in node.get("anyOf", ()):
                if cls.ndim is not None and _is_number_array(branch):
                    # one value per spatial axis of a 1d/2d/3d layer; zero padding: two (before, after)
                    branch["minItems"] = branch["maxItems"] = cls.ndim * cls.values_per_axis


def _spellings(words: Any) -> str:
    """A pattern for every spelling of ``words`` that cnncalc reads as them: any case, any underscores.

    It mirrors :func:`spec.canonical_type`'s last rule, so that PyTorch's class names (``Conv2d``,
    ``BatchNorm2d``) are not flagged by an editor while cnncalc reads them. JSON Schema patterns
    have no case-insensitive flag: each letter is a class of its two cases.
    """
    def one(word: str) -> str:
        return "_*" + "".join((f"[{c.upper()}{c}]" if c.isalpha() else re.escape(c)) + "_*" for c in _fold(word))

    return "^(?:" + "|".join(sorted({one(w) for w in words})) + ")$"


def _close(schema: dict[str, Any]) -> None:
    """Close the item union: registered layer types only (bare, ``{type: null}`` only where no argument is
    required), ``sequential`` with its layers, and block calls only in a file that defines blocks."""
    defs = schema["$defs"]
    required: dict[str, bool] = {}
    layer_refs = []
    for tag, cls in REGISTRY.items():
        item = defs[f"{cls.__name__}Item"]
        keys = list(item["properties"])
        ref = item["properties"][tag]["anyOf"][0]
        _close_layer(defs[ref["$ref"].rsplit("/", 1)[1]], cls)
        required.update(dict.fromkeys(keys, any(f.is_required() for f in cls.model_fields.values())))
        if required[tag]:  # ``conv2d: null`` has no out_channels: only the arguments
            for k in keys:
                item["properties"][k] = ref
        # the exact names for completion; every other spelling cnncalc folds onto them for validation
        item["patternProperties"] = {_spellings(keys): item["properties"][tag]}
        layer_refs.append({"$ref": f"#/$defs/{cls.__name__}Item"})
    _close_name(defs["Sequential"])
    _close_name(defs["Call"]["additionalProperties"]["anyOf"][0])
    # ``sequential`` needs its layers: never null
    defs["SequentialItem"]["properties"]["sequential"] = {"$ref": "#/$defs/Sequential"}
    bare_words = sorted(k for k, req in required.items() if not req)
    # a group in a file without blocks holds layers only: Sequential with its items closed too
    defs["LayerSequential"] = _retarget(defs["Sequential"], "#/$defs/Item", "#/$defs/LayerItem")
    defs["LayerSequentialItem"] = {**defs["SequentialItem"], "title": "LayerSequentialItem",
                                   "properties": {"sequential": {"$ref": "#/$defs/LayerSequential"}}}
    bare = {"anyOf": [{"enum": bare_words}, {"type": "string", "pattern": _spellings(bare_words)}],
            "description": "a layer type that needs no argument (e.g. relu, or ReLU as PyTorch spells it)"}
    defs["LayerItem"] = {
        "description": "a layer: one of the registered layer types, or a sequential group of them",
        "oneOf": [bare, *layer_refs, {"$ref": "#/$defs/LayerSequentialItem"}],
    }
    # with blocks, an item may also call one: any other name (which blocks exist, cnncalc checks)
    # a name that folds onto a type is that type here: one reading per item (a block named exactly
    # ``Conv2d`` is still called by cnncalc, but an editor reads the name as the type)
    not_a_type = {"pattern": _spellings(_known_types())}
    defs["Call"]["propertyNames"] = {"not": not_a_type}
    block_name = {"type": "string", "pattern": "^[A-Za-z_]", "not": not_a_type,
                  "description": "the name of a block defined under 'blocks:'"}
    defs["Item"] = {
        "description": "a layer, a sequential group, or a call of a block defined under 'blocks:'",
        "oneOf": [bare, *layer_refs, {"$ref": "#/$defs/SequentialItem"}, block_name, {"$ref": "#/$defs/Call"}],
    }
    for node in _walk(schema["properties"]["input"]):
        if node.get("type") == "integer":
            node.setdefault("maximum", MAX_INT)
    # a file without blocks can hold only layers: the closed union, so that a misspelt type
    # (convv2d) is refused instead of being read as a call of an undefined block
    schema["if"] = {"required": ["blocks"], "properties": {"blocks": {"minProperties": 1}}}
    schema["else"] = {"properties": {"layers": {"items": {"$ref": "#/$defs/LayerItem"}}}}
