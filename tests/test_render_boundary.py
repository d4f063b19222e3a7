"""The renderers' boundary: rich is imported by ``cnncalc.render.console`` alone, and the core never
imports ``cnncalc.render``.

Imports are read from every module's syntax tree, those inside functions included (a lazy import
is still an import), with relative imports resolved to the module they name.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cnncalc"

#: The one module that may import rich.
CONSOLE = "cnncalc.render.console"
#: The edges of the program, which choose a renderer for the user: the only modules outside the
#: renderers that may import them.
EDGES = {"cnncalc.cli", "cnncalc.api"}


def module_name(path: Path) -> str:
    """``cnncalc/render/json.py`` → ``cnncalc.render.json``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(source: str, module: str, *, is_package: bool = False) -> list[tuple[str, int]]:
    """Every module ``source`` imports, anywhere in it, as (absolute name, line).

    ``from . import x`` names both the package and ``package.x`` (x may be a module or a name in
    the package); ``importlib.import_module("m")`` with a literal name counts as importing m.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, node.lineno))
            found += [(f"{target}.{alias.name}", node.lineno) for alias in node.names]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and (getattr(node.func, "attr", None) == "import_module" or getattr(node.func, "id", None) in
                   ("import_module", "__import__"))):
            found.append((node.args[0].value, node.lineno))
    return found


def all_imports() -> dict[str, list[tuple[str, int]]]:
    """The imports of every module of cnncalc, by module name."""
    return {module_name(p): imports(p.read_text(encoding="utf-8"), module_name(p), is_package=p.name == "__init__.py")
            for p in sorted(PACKAGE.rglob("*.py"))}


def _is(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_import_reader_sees_lazy_relative_and_dynamic_imports() -> None:
    # the reader the two boundary tests rely on, on a module that breaks both rules in every way
    source = (
        "import os\n"
        "def draw():\n"
        "    from rich.table import Table\n"
        "    from .render import report\n"
        "    from . import render\n"
        "    import importlib\n"
        "    importlib.import_module('cnncalc.render.json')\n"
        "class A:\n"
        "    def m(self):\n"
        "        from ..render.console import styled\n"
    )
    found = imports(source, "cnncalc.layers.conv")
    names = {n for n, _ in found}
    assert "rich.table" in names
    assert {"cnncalc.layers.render.report", "cnncalc.layers.render", "cnncalc.render.json",
            "cnncalc.render.console"} <= names
    assert ("cnncalc.render.console", 10) in found
    assert imports("from . import render\n", "cnncalc", is_package=True) == [("cnncalc", 1), ("cnncalc.render", 1)]


def test_the_edges_do_import_the_renderers() -> None:
    # the other side of the rule below: the reader resolves what cli.py imports to the renderers
    found = all_imports()
    assert any(_is(name, "cnncalc.render") for name, _ in found["cnncalc.cli"])
    assert any(_is(name, "rich") for name, _ in found[CONSOLE])


def test_only_the_console_imports_rich() -> None:
    offenders = [f"{module}:{line} imports {name}" for module, names in all_imports().items() if module != CONSOLE
                 for name, line in names if _is(name, "rich")]
    assert not offenders, ("rich is imported only by cnncalc/render/console.py; draw through it instead:\n"
                           + "\n".join(offenders))


def test_the_core_never_imports_the_renderers() -> None:
    offenders = [f"{module}:{line} imports {name}" for module, names in all_imports().items()
                 if not _is(module, "cnncalc.render") and module not in EDGES
                 for name, line in names if _is(name, "cnncalc.render")]
    assert not offenders, ("the core never imports cnncalc.render (a report shows itself through the hook "
                           "cnncalc.render.display installs):\n" + "\n".join(offenders))


#: The renderers that write no terminal output: importing them must not load rich.
MACHINE = ["check", "diff", "display", "explain", "html", "json", "markdown", "report", "sweep"]


@pytest.mark.parametrize("name", MACHINE)
def test_importing_a_renderer_loads_no_rich(name: str) -> None:
    code = (f"import json, sys; import cnncalc.render.{name}; "
            "print(json.dumps(sorted(m for m in sys.modules if m == 'rich' or m.startswith('rich.'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(done.stdout) == []


_HOOK = """
import cnncalc.analysis, cnncalc.spec, json, sys
report = cnncalc.analysis.analyse(cnncalc.spec.load("lenet5"))
before = [str(report) == repr(report), report._repr_html_() is None, "rich" in sys.modules]
from cnncalc.render.display import install
from cnncalc.render.html import render_html_fragment
from cnncalc.render.report import render_table
install()
after = [str(report) == render_table(report, width=120, color=False),
         report._repr_html_().split('id="')[0] == render_html_fragment(report).split('id="')[0]]
print(json.dumps([before, after]))
"""


def test_a_report_shows_itself_through_the_hook_the_renderers_install() -> None:
    # the core draws nothing itself: until the hook is installed a report shows its repr, then the table
    done = subprocess.run([sys.executable, "-c", _HOOK], capture_output=True, text=True, cwd=ROOT, check=True)
    before, after = json.loads(done.stdout)
    assert before == [True, True, False]
    assert after == [True, True]
