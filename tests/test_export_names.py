"""``cnncalc export --to pytorch`` with hostile layer names: every class either exports a module that
PyTorch builds and runs with cnncalc's figures, or is refused with a located error.

The oracle for "PyTorch allows this name" is PyTorch itself: ``add_module`` on a model and on an
``nn.ModuleDict``. A name PyTorch allows keeps its name in ``named_modules()``; one it refuses is
renamed, listed in ``RENAMED`` and commented at its line.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc import analysis, spec
from cnncalc.cli import cli
from cnncalc.errors import CnnCalcError
from cnncalc.export import CheckError, check, module_names, reserved, to_pytorch
from cnncalc.graph import build

torch = pytest.importorskip("torch")
nn = torch.nn

pytestmark = pytest.mark.torch


class _Probe(nn.Module):
    """A model like the exported one: a subclass of nn.Module with a forward."""

    def forward(self, x: Any) -> Any:
        return x


def torch_accepts(name: str, *, top: bool) -> bool:
    """Whether PyTorch itself takes ``name`` for a child of a model (``top``) or of a ModuleDict."""
    owner = _Probe() if top else nn.ModuleDict()
    try:
        owner.add_module(name, nn.Identity())
    except KeyError:
        return False
    return True


def network(names: list[str], *, group: str | None = None, merge: bool = True) -> str:
    """A network whose layers are called ``names`` (inside a group called ``group``): each a 1x1
    convolution (parameters make a lost module visible), then one add reading them all (so each
    output is a variable of ``forward``, and the wiring matters)."""
    items: list[Any] = [{"conv2d": {"name": n, "out_channels": 2, "kernel_size": 1}} for n in names]
    if merge and len(names) > 1:
        items.append({"add": {"name": "sum of all", "from": list(names)}})
    if group is not None:
        items = [{"sequential": {"name": group, "layers": items}}]
    return yaml.safe_dump({"input": [2, 3, 3], "layers": items}, sort_keys=False, allow_unicode=True)


def leaf_modules(model: Any) -> list[str]:
    return [n for n, m in model.named_modules() if n and next(m.children(), None) is None]


def assert_exports(text: str, tmp_path: Path) -> Any:
    """``export --check`` passes, and the written module has cnncalc's names, parameters and output."""
    net = tmp_path / "net.yaml"
    net.write_text(text, encoding="utf-8")
    out = tmp_path / "model.py"
    result = CliRunner().invoke(cli, ["export", str(net), "--to", "pytorch", "--check", "-o", str(out)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("checked with torch"), result.stderr

    graph = build(spec.load(str(net)))
    namespace: dict[str, Any] = {}
    exec(compile(out.read_text(encoding="utf-8"), str(out), "exec"), namespace)
    model = namespace["Model"]().eval()
    paths = module_names(graph)
    assert leaf_modules(model) == [paths[n.index] for n in graph.nodes]
    assert len(set(paths.values())) == len(graph.nodes)
    renamed = {paths[n.index]: n.name for n in graph.nodes if paths[n.index] != n.name}
    assert namespace.get("RENAMED", {}) == renamed
    for n in graph.nodes:
        # a component changes only where PyTorch itself refuses it at that depth, or is a __dunder__
        for depth, (mine, theirs) in enumerate(zip(paths[n.index].split("."), n.name.split("."))):
            dunder = theirs.startswith("__") and theirs.endswith("__")
            assert (mine != theirs) == (dunder or not torch_accepts(theirs, top=depth == 0)), n.name
    report = analysis.analyse(graph)
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    with torch.no_grad():
        assert tuple(model(torch.zeros(1, *graph.input_shape)).shape[1:]) == tuple(report.layers[-1].output_shape)
    return model


# -- the classes of names -------------------------------------------------------------------------

#: Every attribute of a model and of a ModuleDict, as this torch has them.
MODULE_NAMES = sorted(set(dir(_Probe())) | set(dir(nn.ModuleDict())))


def _lookalike(name: str) -> str:
    """``name`` written with compatibility characters that NFKC folds back to it (fullwidth letters)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)


NFKC_PAIRS = [
    pytest.param(["H", "ℌ"], id="H and fraktur H"),
    pytest.param(["filter", "ﬁlter"], id="fi ligature"),
    pytest.param(["x2", "x²"], id="superscript two"),
    pytest.param(["IX", "Ⅸ"], id="roman numeral nine"),
    pytest.param(["forward", "ｆｏｒｗａｒｄ"], id="fullwidth forward"),
    pytest.param(["conv1", _lookalike("conv1"), "𝐜𝐨𝐧𝐯𝟏"], id="fullwidth and bold conv1"),
    pytest.param(["_modules", _lookalike("_modules")], id="fullwidth _modules"),
    pytest.param(["A", "𝐀", "𝔄", "𝕬", "Ａ"], id="five As"),
]


@pytest.mark.parametrize("names", NFKC_PAIRS)
@pytest.mark.parametrize("group", [None, "g"], ids=["top", "in a group"])
def test_names_python_folds_together_stay_apart(names: list[str], group: str | None, tmp_path: Path) -> None:
    assert len({unicodedata.normalize("NFKC", n) for n in names}) == 1
    model = assert_exports(network(names, group=group), tmp_path)
    prefix = f"{group}." if group else ""
    assert [prefix + n for n in names if torch_accepts(n, top=group is None)] == \
        [n for n in leaf_modules(model) if n.removeprefix(prefix) in names]


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_every_module_attribute_name(name: str, tmp_path: Path) -> None:
    # at the top and inside a group, next to the names a rename would pick first
    text = network([name, f"{name}_", f"layer{name}"]) if torch_accepts(name, top=True) else \
        network([name, f"{name}_", f"layer{name}", f"{name}_2", f"layer{name}2"])
    assert_exports(text, tmp_path)
    assert_exports(network([name, f"{name}_"], group=name), tmp_path)


def test_all_module_attribute_names_together(tmp_path: Path) -> None:
    assert_exports(network(MODULE_NAMES, group="training"), tmp_path)
    assert_exports(network(MODULE_NAMES), tmp_path)


def test_the_reserved_lists_cover_this_torch() -> None:
    assert {n for n in dir(_Probe()) if not reserved(n, top=True)} == set()
    assert {n for n in dir(nn.ModuleDict()) if not reserved(n, top=False)} == set()
    # and no more: a name PyTorch accepts is kept, except Python's __dunder__ names
    for name in ("keys", "items", "_foo", "__x", "layer", "x_"):
        assert reserved(name, top=True) is not torch_accepts(name, top=True)


@pytest.mark.parametrize("name", sorted({*keyword.kwlist, *keyword.softkwlist}))
def test_python_keywords_keep_their_names(name: str, tmp_path: Path) -> None:
    model = assert_exports(network([name, "x", "self", "torch", "nn", "inp", "getattr"], group=None), tmp_path)
    assert name in leaf_modules(model)


ODD = [
    "a-b", "a b", "1x1", "0", "ß", "слой", "名前", "émoji🙂", "a'b", 'a"b', "a\\b", "#comment", "x = 1",
    "'''", '"""', "__x", "_", "__", "_foo", "__x__", "a\u00a0b", "e\u0301", "\u00e9", "fin\u0301", "ǅ",
    "Ω", "Ω", "K", "K", "${x}", "{x}", "a:b", "a,b", "[0]", "None", "True", "print(1)",
]


@pytest.mark.parametrize("group", [None, "g", "my group", "forward"], ids=["top", "g", "my group", "forward"])
def test_names_with_odd_characters(group: str | None, tmp_path: Path) -> None:
    names = list(dict.fromkeys(n for n in ODD if spec_accepts(n)))
    assert len(names) > 30
    assert_exports(network(names, group=group), tmp_path)


def spec_accepts(name: str) -> bool:
    try:
        build(spec.load("n.yaml", text=network([name])))
    except CnnCalcError:
        return False
    return True


SANITISED_ALIKE = [
    pytest.param(["bns.0", "bns.1", "convs.0", "bns_0"], id="dotted names, as a ModuleList's items"),
    pytest.param(["forward.0", "a.forward", "1.2.3"], id="dotted names with reserved parts"),
    pytest.param(["a-b", "a_b", "a b", "a+b", "a/b"], id="punctuation to underscores"),
    pytest.param(["forward", "forward_", "forward_2", "forward_3", "layerforward"], id="renames next to free names"),
    pytest.param(["_modules", "layer_modules", "layer_modules2", "_modules_"], id="underscore renames"),
    pytest.param(["v_x", "x", "v_x_2", "inp", "v_inp"], id="variable prefixes"),
    pytest.param(["ℌ", "H", "v_H", "H_2"], id="folded variable names"),
    pytest.param(["1", "v_1", "_1"], id="digits"),
]


@pytest.mark.parametrize("names", SANITISED_ALIKE)
@pytest.mark.parametrize("group", [None, "keys"], ids=["top", "in group keys"])
def test_names_alike_after_sanitising(names: list[str], group: str | None, tmp_path: Path) -> None:
    names = [n for n in names if spec_accepts(n)]
    assert_exports(network(names, group=group), tmp_path)


def test_very_long_names(tmp_path: Path) -> None:
    longest = ["a" * 200, "b" * 199 + "ℌ", "_" * 200, "forward" + "_" * 193, "é" * 200]
    assert all(spec_accepts(n) for n in longest)
    assert_exports(network(longest, group="c" * 200), tmp_path)


def test_deep_groups_export(tmp_path: Path) -> None:
    # blocks nest up to the graph's limit; nested ModuleDict literals would pass Python's 200 brackets
    depth = 100
    blocks = {f"b{i}": {"layers": [{f"b{i + 1}": {"name": "forward" if i % 2 else f"g{i}"}}]}
              for i in range(depth - 1)}
    blocks[f"b{depth - 1}"] = {"layers": [{"conv2d": {"name": "keys", "out_channels": 2, "kernel_size": 1}}]}
    text = yaml.safe_dump({"input": [2, 3, 3], "blocks": blocks, "layers": [{"b0": {"name": "top"}}]})
    model = assert_exports(text, tmp_path)
    assert len(leaf_modules(model)[0].split(".")) == depth + 1


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(names=st.lists(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Cf", "Zl", "Zp", "Co", "Cn")),
                              min_size=1, max_size=12), min_size=1, max_size=6, unique=True))
def test_any_accepted_names_export(names: list[str], tmp_path: Path) -> None:
    names = [n for n in names if spec_accepts(n) and n != "sum of all"]
    # a dotted name is a path: `a.b` next to `a` names the row b of a group a (refused, located)
    names = [n for n in names if not any(n.startswith(m + ".") for m in names)]
    if names:
        assert_exports(network(names, group="forward" if len(names) % 2 else None), tmp_path)


REFUSED = [
    pytest.param("a..b", id="empty part"),
    pytest.param("a.*", id="star part"),
    pytest.param("a/b", id="slash"),
    pytest.param("$x", id="dollar"),
    pytest.param(" a", id="leading space"),
    pytest.param("a" * 201, id="201 characters"),
    pytest.param("a\x1bb", id="ESC"),
    pytest.param("a\u202eb", id="bidi override"),
]


@pytest.mark.parametrize("name", REFUSED)
def test_names_cnncalc_refuses_are_located(name: str, tmp_path: Path) -> None:
    net = tmp_path / "net.yaml"
    net.write_text(network(["ok", name]), encoding="utf-8")
    result = CliRunner().invoke(cli, ["export", str(net), "--to", "pytorch", "--check"])
    assert result.exit_code == 2 and result.stdout == ""
    assert re.match(rf"error: {re.escape(str(net))}:\d+:\d+: ", result.stderr), result.stderr


# -- --check catches a module that differs ---------------------------------------------------------

BASE = yaml.safe_dump({"input": [2, 3, 3], "layers": [
    {"conv2d": {"name": "a", "out_channels": 2, "kernel_size": 1}},
    {"conv2d": {"name": "b", "out_channels": 2, "kernel_size": 1}},
    {"relu": {"name": "r"}},
    {"add": {"name": "s", "from": ["a", "r"]}},
    {"sequential": {"name": "g", "layers": [{"conv2d": {"name": "c", "out_channels": 4, "kernel_size": 1}}]}},
]}, sort_keys=False)

TAMPERED = [
    pytest.param(lambda c: c.replace("self.b = ", "self.bb = ").replace("self.b(", "self.bb("), "b",
                 id="module renamed"),
    pytest.param(lambda c: c.replace("self.b = ", "self.a = ").replace("self.b(", "self.a("), "b",
                 id="two layers folded into one module"),
    pytest.param(lambda c: c.replace("self.s(a, x)", "self.s(x, a)"), "s", id="inputs swapped"),
    pytest.param(lambda c: c.replace("self.s(a, x)", "self.s(a, a)"), "s", id="wrong input"),
    pytest.param(lambda c: c.replace("nn.Conv2d(2, 4, 1)", "nn.Conv2d(2, 4, 3, padding=1)"), "g.c",
                 id="more parameters, same shape"),
    pytest.param(lambda c: c.replace("nn.Conv2d(2, 4, 1)", "nn.Conv2d(2, 3, 1)"), "g.c", id="other shape"),
    pytest.param(lambda c: c.replace("        self.b = ", "        self.extra = nn.Linear(1, 1)\n        self.b = "),
                 None, id="extra module"),
    pytest.param(lambda c: c.replace("x = self.r(x)", "x = self.r(self.r(x))"), "r", id="runs twice"),
    pytest.param(lambda c: c.replace("return x", "return a"), None, id="wrong output"),
    pytest.param(lambda c: c.replace("x = self.g.c(x)", "x = self.g.c(x[:, :1])"), "g.c", id="fails to run"),
    pytest.param(lambda c: c.replace("class Model", "class Model("), None, id="syntax error"),
    pytest.param(lambda c: c.replace("super().__init__()",
                                     "super().__init__()\n        self.add_module('forward', nn.ReLU())"),
                 None, id="Model() fails"),
]


@pytest.mark.parametrize(("tamper", "layer"), TAMPERED)
def test_check_catches_a_module_that_differs(tamper: Any, layer: str | None) -> None:
    graph = build(spec.load("net.yaml", text=BASE))
    code = to_pytorch(graph)
    check(code, graph)  # the untampered module passes
    bad = tamper(code)
    assert bad != code
    with pytest.raises(CheckError) as e:
        check(bad, graph)
    for p in e.value.problems:
        assert p.file == "net.yaml" and p.line is not None, p
    if layer is not None:
        assert layer in {p.layer for p in e.value.problems}, e.value.format()
