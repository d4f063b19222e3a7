"""The network format: Pydantic models, and ``load`` from a path, a bundled name or text.

A layer item is a mapping with one key, the layer type, whose value holds the arguments
(``- conv2d: {out_channels: 20, kernel_size: 5}``), or just the type (``- relu``). Besides the
registered layer types an item may be a ``sequential`` group or a call of a block defined
under ``blocks:``.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainValidator,
    PrivateAttr,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, ErrorDetails, core_schema

from . import layers as _layers
from . import units
from .constants import Dtype, TrainingOptimizer
from .errors import MAX_PROBLEMS, Problem, SourceError, SpecError, capped
from .layers.base import Expr, Flag, Name, Pos, Refs, _describe, _name, _refs
from .limits import LIMITS
from .source import Source, parse, parse_bytes, read, read_stream

RESERVED = {"sequential"}
GRAPH_KEYS = ("name", "from", "if", "frozen")
#: Names every block body has bound, so no block argument may take them.
BUILTIN_ARGS = {
    "index": "the repeat index of the instance",
    "in_channels": "the channels of the instance's input",
}


def _group_refs(v: Any) -> Any:
    """A group's or block call's ``from``: names as for a layer, or ``{input: layer}`` by input name."""
    if not isinstance(v, dict):
        return _refs(v)
    if not v:
        raise ValueError("expected a layer name, a list of names, or a mapping of input names to layers")
    for key, ref in v.items():
        _name(key)
        if not isinstance(ref, str) or not ref:
            raise ValueError(f"input '{key}': expected a layer name, got {_describe(ref)}")
    return dict(v)


#: ``from`` of a block call or a ``sequential``: one name, a list in the order of the inputs,
#: or a mapping ``{input name: layer}``.
GroupRefs = Annotated[
    Any,
    PlainValidator(_group_refs),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1},
                              {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1}]}),
]


def _input_names(v: Any) -> Any:
    """Names of a group's inputs: distinct names, none of them ``input``."""
    if not isinstance(v, list) or not v:
        raise ValueError("expected a non-empty list of input names")
    for x in v:
        _name(x)
        if x == "input":
            raise ValueError("'input' names a group's first input already; choose another name")
    dup = sorted({x for x in v if v.count(x) > 1})
    if dup:
        raise ValueError(f"input name '{dup[0]}' is given twice")
    return tuple(v)


#: ``inputs: [x, skip]``: the named inputs of a block or ``sequential`` (the first is ``input`` too).
InputNames = Annotated[
    Any,
    PlainValidator(_input_names),
    WithJsonSchema({"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": True,
                    "description": "names of the inputs, in the order of a positional 'from' list"}),
]


def suggest(word: str, options: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest option, or an empty string."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _known_types() -> list[str]:
    return [*_layers.REGISTRY, *_layers.ALIASES, *RESERVED]


def _fold(word: str) -> str:
    """A type name compared without case or underscores: ``BatchNorm2d`` and ``batchnorm2d`` meet."""
    return word.lower().replace("_", "")


@functools.cache
def _folded_types() -> dict[str, str]:
    """Every type name and alias, folded, to its canonical type (PyTorch's class names fold onto them)."""
    out = {_fold(alias): name for alias, name in _layers.ALIASES.items()}
    out.update({_fold(name): name for name in [*_layers.REGISTRY, *RESERVED]})
    return out


def canonical_type(key: str, blocks: Any = ()) -> str | None:
    """The layer type (or ``sequential``) that ``key`` names, or None for a block call or an unknown word.

    The rule, in order: a type or alias as written; a block defined under ``blocks:``; then any
    spelling that differs from a type or alias only in case and underscores, so PyTorch's class
    names (``Conv2d``, ``BatchNorm2d``, ``ReLU``, ``AdaptiveAvgPool2d``) name the same types.
    """
    if not isinstance(key, str):
        return None
    if key in _layers.REGISTRY or key in RESERVED:
        return key
    if key in _layers.ALIASES:
        return _layers.ALIASES[key]
    if key in blocks:
        return None
    return _folded_types().get(_fold(key))


#: ``conv2d``, ``batchnorm3d``: the number of spatial axes a type is made for.
_RANKED = re.compile(r"([123])d$")


def suggest_type(word: str, options: Any, spatial: int | None) -> str:
    """:func:`suggest` among ``options``, leaving out types made for another number of spatial axes."""
    if spatial is not None:
        options = [o for o in options if (m := _RANKED.search(o)) is None or int(m.group(1)) == spatial]
    return suggest(word, options)


def _normalise(v: Any, blocks: Any = ()) -> Any:
    """``relu`` and ``{relu: null}`` → ``{relu: {}}``; aliases and PyTorch class names → canonical names."""
    if isinstance(v, str):
        v = {v: {}}
    if not isinstance(v, dict):
        raise ValueError("expected a layer: a mapping with one key, the layer type (e.g. '- relu')")
    if len(v) != 1:
        keys = list(v)
        typed = [k for k in keys if isinstance(k, str) and canonical_type(k, blocks) is not None]
        if typed and len(typed) == 1:
            others = ", ".join(f"'{k}'" for k in keys if k != typed[0])
            raise ValueError(
                f"a layer has exactly one key, its type; {others} must be indented under '{typed[0]}'"
            )
        raise ValueError(f"a layer has exactly one key, its type; found {', '.join(map(repr, keys)) or 'none'}")
    ((key, body),) = v.items()
    if isinstance(key, str):
        key = canonical_type(key, blocks) or key
    if body is None:
        body = {}
    return {key: body}


def _tag(v: Any) -> str:
    (key,) = v
    return key if key in _layers.REGISTRY or key in RESERVED else "call"


class Call(BaseModel):
    """A call of a block defined under ``blocks:``; arguments are checked against the block."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    block: str
    name: Name | None = None
    from_: GroupRefs | None = Field(None, alias="from")
    if_: Flag | None = Field(None, alias="if")
    frozen: Flag | None = Field(None, description="true: every parameter of the block instance is frozen")
    # a plain number: the size of the expansion is checked before anything is evaluated
    repeat: Annotated[int, Field(strict=True, ge=1)] | None = None
    args: dict[str, Any] = {}

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """The call as written: ``{block: {arg: value, ..., repeat, name, from, if}}`` or ``{block: null}``."""
        fields = handler.resolve_ref_schema(handler(core_schema))["properties"]
        body = {
            "type": "object",
            "properties": {key: fields[key] for key in (*GRAPH_KEYS, "repeat")},
            "additionalProperties": True,
        }
        return {
            "type": "object",
            "description": "a call of a block defined under 'blocks:', with the block's arguments",
            "minProperties": 1,
            "maxProperties": 1,
            "propertyNames": {"not": {"enum": sorted(_known_types())}},
            "additionalProperties": {"anyOf": [body, {"type": "null"}]},
        }

    @model_validator(mode="before")
    @classmethod
    def _split(cls, v: Any, info: ValidationInfo) -> Any:
        (key, body), *_ = v.items()
        blocks = (info.context or {}).get("blocks", set())
        if key not in blocks:
            spatial = (info.context or {}).get("spatial")
            hint = suggest_type(key, [*_known_types(), *blocks], spatial)
            raise ValueError(f"unknown layer type or block '{key}'{hint}")
        if not isinstance(body, dict):
            raise ValueError(f"the arguments of block '{key}' must be a mapping")
        out: dict[str, Any] = {"block": key, "args": {}}
        for k, val in body.items():
            if k in (*GRAPH_KEYS, "repeat"):
                out[k] = val
            else:
                out["args"][k] = val
        return out


class Sequential(BaseModel):
    """An inline group whose children are named by position (``features.0``, ``features.1``, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: Name | None = None
    from_: GroupRefs | None = Field(None, alias="from")
    if_: Flag | None = Field(None, alias="if")
    frozen: Flag | None = Field(None, description="true: every parameter inside the group is frozen")
    naming: Literal["type", "index"] = Field(
        "index", description="automatic names of the children: by position (0, 1) or by type (conv1, bn1)"
    )
    inputs: InputNames | None = Field(None, description="names of the group's inputs (default: one, 'input')")
    layers: list[Item]


def _written_form(type_name: str) -> Any:
    """JSON Schema of an item as written: ``{type: args}`` or ``{type: null}``, under any alias."""

    def extra(schema: dict[str, Any]) -> None:
        value = {"anyOf": [schema["properties"].pop(type_name), {"type": "null"}]}
        keys = [type_name, *sorted(a for a, name in _layers.ALIASES.items() if name == type_name)]
        schema["properties"] = dict.fromkeys(keys, value)
        schema.pop("required", None)
        schema.update(minProperties=1, maxProperties=1)

    return extra


@functools.cache
def _item_model(tag: str) -> type[BaseModel]:
    """The model of one item type: ``{type: {args}}`` for a layer or ``sequential``, or a block call."""
    if tag == "call":
        return Call
    cls = Sequential if tag == "sequential" else _layers.REGISTRY[tag]
    cls.model_rebuild()  # builds a deferred layer model once, for itself and for its wrapper
    return create_model(  # type: ignore[call-overload]
        f"{cls.__name__}Item",
        __config__=ConfigDict(extra="forbid", frozen=True, json_schema_extra=_written_form(tag)),
        __doc__=(cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else None,
        **{tag: (cls, ...)},
    )


@functools.cache
def _item_union() -> TypeAdapter[Any]:
    """Every item type as one tagged union; built only for the JSON Schema."""
    members = [Annotated[_item_model(tag), Tag(tag)] for tag in [*_layers.REGISTRY, "sequential", "call"]]
    # a Union built at run time, so a value to type checkers: `X | Y` has no form for a tuple of members
    union: Any = Annotated[Union[tuple(members)],  # noqa: UP007
                           Discriminator(_tag), BeforeValidator(_normalise), _BareItemSchema()]
    return TypeAdapter(union)


class _BareItemSchema:
    """Adds the bare-string item (``- relu``, ``- myblock``) to the JSON Schema of the item union."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        bare = {
            "anyOf": [{"enum": sorted(_known_types())}, {"type": "string", "pattern": "^[A-Za-z_]"}],
            "description": "a layer type without arguments (e.g. relu), or the name of a block",
        }
        return {"oneOf": [bare, *schema["oneOf"]]}


class _ItemType:
    """A layer item, validated by the model of its own type only.

    Validating through one union of every layer type would build all ~60 layer models at
    startup (most of the run time of a small network); this builds the few a description uses.
    Errors keep their location: the item's errors are raised again under its tag, as the union
    of every type reported them, and Pydantic puts them under the item's path.
    """

    @staticmethod
    def validate(v: Any, info: ValidationInfo) -> Any:
        """Normalise the item and validate it with the model of its type."""
        v = _normalise(v, (info.context or {}).get("blocks", ()))
        tag = _tag(v)
        try:
            return _item_model(tag).model_validate(v, context=info.context)
        except ValidationError as e:
            # located as the union of every item type located them: under the item's tag
            errors = [{k: err[k] for k in ("type", "input", "ctx") if k in err} | {"loc": (tag, *err["loc"])}
                      for err in e.errors(include_url=False)]
            raise ValidationError.from_exception_data(e.title, errors) from None  # type: ignore[arg-type]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.with_info_plain_validator_function(self.validate)

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # the union of every item type as the definition "Item"; a ``sequential`` inside it
        # refers back to that definition
        global _item_schema_depth
        ref = core_schema.definition_reference_schema(_ITEM_REF)
        if _item_schema_depth:
            return handler(ref)
        full = _item_union().core_schema
        defs = []
        if full["type"] == "definitions":
            defs, full = list(full["definitions"]), full["schema"]
        _item_schema_depth += 1
        try:
            return handler(core_schema.definitions_schema(ref, [*defs, {**full, "ref": _ITEM_REF}]))
        finally:
            _item_schema_depth -= 1


_ITEM_REF = "Item"
_item_schema_depth = 0

#: One item of a ``layers`` list.
Item = Annotated[Any, _ItemType()]
Sequential.model_rebuild()


class BlockDef(BaseModel):
    """A reusable block: named arguments with defaults (null = required) and a body of layers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    args: dict[str, Any] = Field(default_factory=dict, description="argument names and defaults (null: required)")
    naming: Literal["type", "index"] = Field(
        "type", description="automatic names of the body's layers: by type (conv1, bn1) or by position (0, 1)"
    )
    inputs: InputNames | None = Field(None, description="names of the block's inputs (default: one, 'input')")
    frozen: bool | None = Field(None, description="true: every call of the block is frozen unless it says otherwise")
    layers: list[Item]


def _quantity(kind: units.Kind, description: str) -> Any:
    """A limit written as an integer or a string with a unit, parsed exactly by :mod:`units`."""
    schema = {
        "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": units.PATTERNS[kind]}],
        "description": description,
    }
    return Annotated[Any, PlainValidator(lambda v: units.parse(v, kind)), WithJsonSchema(schema)]


if TYPE_CHECKING:  # pragma: no cover

    class Budgets(BaseModel):
        """What a type checker sees of the model below: one field per limit of :data:`limits.LIMITS`."""

        batch: int | None
        dtype: Dtype | None
        optimizer: TrainingOptimizer | None

        def __getattr__(self, limit: str) -> units.Quantity | None: ...

else:
    Budgets = create_model(
        "Budgets",
        __config__=ConfigDict(extra="forbid", frozen=True),
        __doc__="Limits a network must stay within (``cnncalc check``), and the batch/dtype they assume.",
        **{m.limit: (_quantity(m.kind, m.help) | None, None) for m in LIMITS.values()},
        batch=(Annotated[int, Field(strict=True, ge=1)] | None,
               Field(None, description="batch size the memory limits assume (default 1)")),
        dtype=(Dtype | None,
               Field(None, description="element type the memory limits assume (default fp32)")),
        optimizer=(TrainingOptimizer | None,
                   Field(None, description="optimizer the training-memory limit assumes (default adam)")),
    )


def _literal(v: Any) -> Any:
    if isinstance(v, Expr):
        raise ValueError(f"'{v}' is an expression, and expressions are evaluated only inside blocks")
    return v


#: A positive integer written out (the input's sizes: no expression can be evaluated there).
Size = Annotated[Pos, AfterValidator(_literal), WithJsonSchema({"type": "integer", "minimum": 1})]

#: A shape as ``--input`` takes it: sizes separated by ``x``, ``×`` or commas (``3x224x224``).
SHAPE_TEXT = re.compile(r"\s*[0-9]+(?:\s*[x×,]\s*[0-9]+)*\s*")
#: The same, as a JSON Schema pattern (ECMA-262 reads this syntax alike).
SHAPE_PATTERN = f"^{SHAPE_TEXT.pattern}$"


def shape_from_text(text: str) -> list[int] | None:
    """``3x224x224`` (or ``3×224×224``, ``3,224,224``) → ``[3, 224, 224]``; None if it is not one."""
    if not SHAPE_TEXT.fullmatch(text):
        return None
    return [int(p) for p in re.split(r"[x×,]", text)]


def _input_text(v: Any) -> Any:
    if isinstance(v, str):
        sizes = shape_from_text(v)
        if sizes is None:
            raise ValueError(f"'{v}' is not a shape: write sizes as a list ([3, 224, 224]) or as 3x224x224")
        return sizes
    return v


_INPUT_SCHEMA = {
    "anyOf": [
        {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "maxItems": 4},
        {"type": "string", "pattern": SHAPE_PATTERN},
    ],
    "description": "input shape without the batch: [C, H, W] (or [C, L], [C, D, H, W]), or '3x224x224'",
}


class Network(BaseModel):
    """A network description: input shape without the batch, layers, and optional blocks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    description: str | None = None
    input: Annotated[list[Size], Field(min_length=1, max_length=4), BeforeValidator(_input_text),
                     WithJsonSchema(_INPUT_SCHEMA)]
    layers: Annotated[list[Item], Field(min_length=1)]
    outputs: Refs | None = Field(
        None, description="the layers whose outputs the network returns, in order (default: its last item)"
    )
    blocks: dict[str, BlockDef] = Field(default_factory=dict)
    budgets: Budgets | None = Field(None, description="limits checked by 'cnncalc check'")

    _source: Source | None = PrivateAttr(default=None)

    @property
    def source(self) -> Source | None:
        """Where the description came from (for error locations)."""
        return self._source


def from_source(src: Source) -> Network:
    """Validate parsed data; every schema problem is reported at once, with its line."""
    data = src.data
    if not isinstance(data, dict):
        what = _describe(data)
        raise SpecError([*src.problems, src.problem(f"expected a mapping with 'input' and 'layers', got {what}")])
    raw_blocks = data.get("blocks")
    blocks: dict[Any, Any] = raw_blocks if isinstance(raw_blocks, dict) else {}
    names = set(blocks)
    problems = list(src.problems)
    more = 0
    for b in sorted(names & set(_known_types())):
        problems.append(src.problem(f"block name '{b}' is already a layer type", ("blocks", b), key=True))
    for b in sorted(n for n in names if isinstance(n, str)):
        # a block's name becomes part of its layers' names, so it follows the same rule: a '.' would
        # add a level to the hierarchy that is not there
        try:
            _name(b)
        except ValueError as e:
            problems.append(src.problem(f"block name: {e}", ("blocks", b), key=True))
    for b in names:
        args = blocks[b].get("args") if isinstance(blocks[b], dict) else None
        for a in sorted(set(args) & set(BUILTIN_ARGS)) if isinstance(args, dict) else ():
            problems.append(src.problem(f"block argument '{a}' is reserved: in a block, '{a}' is {BUILTIN_ARGS[a]}",
                                        ("blocks", b, "args", a), key=True))
    try:
        shape = data.get("input")
        shape = shape_from_text(shape) if isinstance(shape, str) else shape
        # the number of spatial axes, so that a typo is matched to a type of the input's rank
        spatial = len(shape) - 1 if isinstance(shape, list) and 1 <= len(shape) <= 4 else None
        net = Network.model_validate(data, context={"blocks": names, "spatial": spatial})
    except ValidationError as e:
        # a value the reader already complained about (e.g. a number too long to read) is not
        # reported a second time by the schema
        read_errors = {(p.line, p.column) for p in src.problems}
        found, more = _located(src, e, MAX_PROBLEMS)
        problems.extend(p for p in found if (p.line, p.column) not in read_errors)
    if problems:
        # a value YAML 1.1 reads otherwise (``yes``, ``1:20``) is the likely cause of a problem at it
        why = {(w.line, w.column): w.message for w in src.warnings}
        problems = [replace(p, message=f"{p.message}; {why[p.line, p.column]}")
                    if (p.line, p.column) in why else p for p in problems]
        # in the order of the file, so that a reader can walk down it
        raise SpecError(capped(sorted(problems, key=lambda p: (p.line or 0, p.column or 0)), more))
    net._source = src
    return net


def load(what: str | Path, *, text: str | None = None) -> Network:
    """Load a network from a path, a bundled network name, or (with ``text``) a string."""
    if text is not None:
        return from_source(parse(text, str(what), collect=True))
    path = resolve(what)
    return from_source(read(path, collect=True))


def load_bytes(raw: bytes, name: str) -> Network:
    """Load a network from raw bytes."""
    return from_source(parse_bytes(raw, name, collect=True))


def load_stream(stream: BinaryIO, name: str) -> Network:
    """Load a network from an open binary stream (e.g. standard input), reading at most the size limit."""
    return from_source(read_stream(stream, name, collect=True))


def networks_dir() -> Path:
    """The folder of bundled networks (installed, or the source checkout's ``networks/``)."""
    here = Path(__file__).resolve().parent
    for cand in (here / "networks", here.parent / "networks"):
        if cand.is_dir():
            return cand
    return here / "networks"


def bundled() -> dict[str, Path]:
    """Bundled network names and their files."""
    d = networks_dir()
    return {p.stem: p for p in sorted(d.glob("*.yaml"))} if d.is_dir() else {}


def resolve(what: str | Path) -> Path:
    """A path as given if it exists, else the bundled network of that name."""
    p = Path(what)
    try:
        exists = p.exists()
    except OSError:  # a name too long, a loop of links...: reading it reports the error
        exists = True
    if exists or p.suffix in (".yaml", ".yml", ".json") or "/" in str(what):
        return p
    found = bundled().get(str(what))
    if found is None:
        hint = suggest(str(what), bundled())
        raise SourceError([Problem(f"no such file or bundled network{hint}; see 'cnncalc networks'", file=str(what))])
    return found


# ---------------------------------------------------------------------------------------------
# turning Pydantic's errors into located, readable problems


def _walk(data: Any, loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """Follow ``loc`` through ``data``: the data path reached and the item paths passed on the way."""
    path: list[Any] = []
    items: list[tuple[Any, ...]] = []
    node = data
    for n, key in enumerate(loc):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, dict) and len(node) == 1 and (
            key == canonical_type(next(iter(node))) or (key == "call" and n + 1 < len(loc))
        ):
            key = next(iter(node))  # the layer type as written (an alias), or the block a call names
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            continue
        path.append(key)
        if isinstance(key, int) and len(path) >= 2 and path[-2] == "layers":
            items.append(tuple(path))
    return tuple(path), items


def item_identity(item: Any) -> tuple[str | None, str | None]:
    """(name, type) of a raw layer item, for messages."""
    if isinstance(item, str):
        return None, canonical_type(item) or item
    if isinstance(item, dict) and len(item) == 1:
        ((key, body),) = item.items()
        name = body.get("name") if isinstance(body, dict) else None
        typ = (canonical_type(key) or key) if isinstance(key, str) else key
        return (name if isinstance(name, str) else None), typ
    return None, None


def _message(err: ErrorDetails, field: str | None) -> str:
    typ = err["type"]
    ctx = err.get("ctx") or {}
    if typ == "extra_forbidden" and field is not None:
        return f"unknown argument '{field}'"
    if typ == "missing" and field is not None:
        return f"missing required argument '{field}'"
    msg = str(ctx.get("error", err["msg"]))
    msg = msg.removeprefix("Value error, ")
    if typ == "too_short" and field == "layers":
        return "'layers' is empty: a network needs at least one layer"
    if typ in ("too_short", "too_long") and field == "input":
        n = len(err["input"]) if isinstance(err["input"], list) else "?"
        msg = f"expected 1 to 4 sizes (channels, then up to 3 spatial axes), got {n}"
    elif typ == "int_type":
        msg = f"expected an integer, got {_describe(err['input'])}"
    elif typ == "greater_than_equal":
        msg = f"must be at least {ctx.get('ge')}, got {err['input']}"
    elif typ == "list_type":
        msg = f"expected a list, got {_describe(err['input'])}"
    elif typ in ("dict_type", "model_type"):
        msg = f"expected a mapping, got {_describe(err['input'])}"
    return f"{field}: {msg}" if field is not None else msg


def problems(src: Source, e: ValidationError) -> list[Problem]:
    """Pydantic's errors on data parsed from ``src`` as located, readable problems."""
    return _problems(src, e)


def _problems(src: Source, e: ValidationError) -> list[Problem]:
    return _located(src, e)[0]


def _located(src: Source, e: ValidationError, limit: int | None = None) -> tuple[list[Problem], int]:
    """Up to ``limit`` located problems, and how many of Pydantic's errors were left unread."""
    out: list[Problem] = []
    seen: set[tuple[Any, ...]] = set()
    errors = e.errors(include_url=False)
    for n, err in enumerate(errors):
        if limit is not None and len(out) >= limit:
            return out, len(errors) - n
        loc = tuple(err["loc"])
        path, items = _walk(src.data, loc)
        field = None
        # the field is the last string in loc that is not a tag or wrapper key
        if loc and isinstance(loc[-1], str):
            field = loc[-1]
        elif loc and loc[0] == "input":
            field = "input"  # one of its sizes
        name = typ = None
        index = None
        if items:
            item_path = items[-1]
            name, typ = item_identity(_get(src.data, item_path))
            index = item_path[-1]
            own = field not in (*GRAPH_KEYS, "repeat")
            if (field is not None and (field == typ or (len(path) == len(item_path) and own))
                    and err["type"] not in ("extra_forbidden", "missing")):
                field = None
            if typ is not None and field == typ:
                field = None
        msg = _message(err, field)
        if err["type"] == "extra_forbidden" and field is not None and typ in _layers.REGISTRY:
            msg += suggest(field, [*_layers.REGISTRY[typ].model_fields, "from", "if"])
        elif err["type"] in ("extra_forbidden", "missing") and field is not None and not items:
            # a key of the file itself or of a block definition
            model = Network if len(loc) == 1 else BlockDef if len(loc) == 3 and loc[0] == "blocks" else None
            if model is not None and err["type"] == "missing":
                msg = f"missing required key '{field}'"
            elif model is not None:
                msg = f"unknown key '{field}'" + suggest(field, model.model_fields)
        key = (path, msg)
        if key in seen:
            continue
        seen.add(key)
        # an unknown key is pointed at itself, and so is an empty 'layers:'; anything else at its value
        at_key = err["type"] == "extra_forbidden" or (err["type"] == "too_short" and field == "layers")
        line, col = src.locate(path, key=at_key)
        out.append(
            Problem(msg, file=src.name, line=line, column=col, layer=name, layer_type=typ,
                    index=None if name or index is None else index + 1)
        )
    return out, 0


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data
