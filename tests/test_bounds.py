"""Time, memory and stack bounds on hostile files, measured in a fresh interpreter.

A stack overflow in a C parser would kill the process that runs it, so these files are read in
a child process, which also gives an honest peak memory. The child reads every file with PyYAML's
C loader (when it is built) and with its pure-Python loader.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from test_hostile_input import BILLION_LAUGHS

from cnncalc import source

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
import yaml
from cnncalc import errors, source, spec

def peak_mib():
    # VmHWM is this program's own peak; ru_maxrss may include the parent's, from before exec
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024

source._Loader = yaml.CSafeLoader if sys.argv[1] == "C" else yaml.SafeLoader
spec.load("warm-up.yaml", text="input: [1]\nlayers: [relu]\n")  # imports done before measuring
results = {}
for path in sys.argv[2:]:
    start = time.perf_counter()
    try:
        spec.load(path)
        outcome = "loaded"
    except errors.CnnCalcError as e:
        outcome = e.format()
    results[path] = {"outcome": outcome, "seconds": time.perf_counter() - start, "peak_mib": peak_mib()}
print(json.dumps(results))
"""



def deep_files(tmp: Path, depth: int) -> dict[str, tuple[Path, Callable[[int, int], int]]]:
    """Files nesting ``depth`` lists or mappings, each with a map from line:col to the nesting level
    of the list or mapping that opens there (0 where none opens)."""

    def at(line: int, first: int, step: int, level: int) -> Callable[[int, int], int]:
        # on ``line``, the opener at column first + step·i is level level + i
        def level_at(ln: int, col: int) -> int:
            i, rest = divmod(col - first, step)
            return level + i if ln == line and rest == 0 and 0 <= i < depth else 0
        return level_at

    files = {
        # the network mapping is level 1, so the list opened at column 8 + i is level i + 2
        "flow lists": ("deep.yaml", "input: " + "[" * depth + "]" * depth + "\nlayers: [relu]\n", at(1, 8, 1, 2)),
        "block lists": ("deep_block.yaml", "input:\n  " + "- " * depth + "3\nlayers: [relu]\n", at(2, 3, 2, 2)),
        # '[' at column 9 is level 2, the item's '{' level 3, the first "{a: " at column 17 level 4
        "flow mappings": ("deep_map.yaml", "input: [3]\nlayers: [{relu: " + "{a: " * depth + "1"
                          + "}" * depth + "}]\n", at(2, 17, 4, 4)),
        "JSON lists": ("deep.json", '{"input": ' + "[" * depth + "]" * depth + ', "layers": ["relu"]}',
                       at(1, 11, 1, 2)),
    }
    out = {}
    for what, (name, text, level_at) in files.items():
        path = tmp / f"{depth}_{name}"
        path.write_text(text)
        out[what] = (path, level_at)
    return out


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, object]]]:
    """Each loader's outcome, time and peak memory on the alias bomb and the deep files."""
    tmp = tmp_path_factory.mktemp("hostile")
    bomb = tmp / "laughs.yaml"
    bomb.write_text(BILLION_LAUGHS)
    paths = [str(bomb)]  # first, so that the peak memory measured after it is its own
    for depth in (10_000, 100_000):
        paths += [str(p) for p, _ in deep_files(tmp, depth).values()]
    loaders = ["C", "Python"] if hasattr(yaml, "CSafeLoader") else ["Python"]
    out = {}
    for loader in loaders:
        child = subprocess.run([sys.executable, "-c", CHILD, loader, *paths], capture_output=True, text=True,
                               timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": ""}, cwd=tmp)
        assert child.returncode == 0, f"{loader} loader: exit {child.returncode}\n{child.stderr[-2000:]}"
        out[loader] = json.loads(child.stdout)
    return out


@pytest.mark.parametrize("loader", ["C", "Python"])
def test_billion_laughs_is_refused_within_a_second_and_200_mib(measured: dict, loader: str) -> None:
    if loader not in measured:
        pytest.skip("PyYAML is built without libyaml")
    result = next(r for p, r in measured[loader].items() if p.endswith("laughs.yaml"))
    assert result["outcome"].endswith(  # type: ignore[union-attr]
        f"laughs.yaml:6:26: more than {source.MAX_NODES:,} nodes (after expanding aliases), the limit for a "
        "description")
    assert result["seconds"] < 1.0
    assert result["peak_mib"] < 200  # the whole interpreter, Pydantic and cnncalc included


@pytest.mark.parametrize("loader", ["C", "Python"])
@pytest.mark.parametrize("depth", [10_000, 100_000])
@pytest.mark.parametrize("what", ["flow lists", "block lists", "flow mappings", "JSON lists"])
def test_deep_nesting_is_refused_without_overflowing_the_stack(measured: dict, loader: str, depth: int,
                                                               what: str, tmp_path: Path) -> None:
    """Refused with the file and the line:col of a list or mapping nested deeper than the limit.

    Which check refuses first is the parser's business: cnncalc's own stops at level
    MAX_DEPTH + 1, while libyaml's scanner (in some PyYAML releases) refuses deep flow nesting by
    itself while it looks ahead. Either way the place named is one such opener, found in bounded
    time and memory, and the child process survives.
    """
    if loader not in measured:
        pytest.skip("PyYAML is built without libyaml")
    path, level_at = deep_files(tmp_path, depth)[what]  # the same content as the child read
    result = next(r for p, r in measured[loader].items() if p.endswith(path.name))
    located = re.match(rf".*{re.escape(path.name)}:(\d+):(\d+): \S", result["outcome"])  # type: ignore[arg-type]
    assert located, result["outcome"]
    level = level_at(int(located[1]), int(located[2]))
    assert level > source.MAX_DEPTH, result["outcome"]
    if loader == "Python":  # nothing looks ahead of cnncalc's own check
        assert level == source.MAX_DEPTH + 1, result["outcome"]
    assert result["seconds"] < 5.0
    assert result["peak_mib"] < 200
