"""Whole-process benchmark of cnncalc against its speed targets (and torchinfo, when installed).

Every figure is measured on a fresh process, as a user or a CI job would run cnncalc: wall
time from start to exit, CPU time (user + system, which other work on a shared machine disturbs
less) and peak resident memory (``ru_maxrss`` of that one child; both read with ``os.wait4``).
Each target runs ``--runs`` times; the table shows the median, min and max wall time and the
median CPU time.

    python benchmarks/bench.py             # all targets, 5 runs each
    python benchmarks/bench.py --runs 3 --skip-large

The installed ``cnncalc`` console script is used when there is one, else ``python -m cnncalc``
with this checkout on ``PYTHONPATH``; the first line of the output says which. Bytecode is
cached (in a temporary ``PYTHONPYCACHEPREFIX``) as it is for an installed package, and the
warm-up run fills it. ``python -c pass`` is timed too: the interpreter's own start, which no
command can beat. The exit code is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024

#: 100 input sizes for the sweep target: 128, 138, ..., 1118.
SWEEP_RANGE = "3x{128..1118..10}"


# ---------------------------------------------------------------------------------------------
# generated networks


def chain(n: int) -> Iterator[str]:
    """A plain chain of ``n`` layers: (conv 3x3 → batchnorm → relu) repeated on a 16x32x32 map."""
    pattern = ["  - conv2d: {out_channels: 16, kernel_size: 3, padding: 1}\n", "  - batchnorm2d\n", "  - relu\n"]
    yield "name: chain\ninput: [16, 32, 32]\nlayers:\n"
    for i in range(n):
        yield pattern[i % 3]


def distinct(n: int) -> Iterator[str]:
    """The chain of :func:`chain` with every layer different: each convolution has one more channel.

    Equal layers on equal inputs share their counts, so this is the cost of a network whose
    layers are all distinct; against :func:`chain` it is the time per distinct layer.
    """
    yield "name: distinct\ninput: [16, 32, 32]\nlayers:\n"
    for i in range(n):
        yield (f"  - conv2d: {{out_channels: {16 + i // 3}, kernel_size: 3, padding: 1}}\n", "  - batchnorm2d\n",
               "  - relu\n")[i % 3]


def residual(n: int) -> Iterator[str]:
    """``n`` layers or a few fewer: basic residual blocks of 7 layers, an ``add`` every 7th layer.

    Layers keep their automatic names (conv1, bn1, relu1, add1, ...), so that 100,000 layers
    stay within the 500,000 YAML nodes a description may have.
    """
    yield "name: residual\ninput: [16, 32, 32]\nlayers:\n"
    conv = "  - conv2d: {out_channels: 16, kernel_size: 3, padding: 1}\n"
    for k in range(n // 7):
        skip = "input" if k == 0 else f"relu{2 * k}"
        yield (f"{conv}  - batchnorm2d\n  - relu\n{conv}  - batchnorm2d\n"
               f"  - add: {{from: [bn{2 * k + 2}, {skip}]}}\n  - relu\n")


def repeated_block(n: int, *, bias: bool = True) -> Iterator[str]:
    """``n`` layers from a 4-layer residual block repeated ``n // 4`` times: a file of about 225 bytes.

    ``bias=False`` is the same network with every convolution's bias dropped: ``diff`` of the two
    changes every fourth layer.
    """
    conv = "{out_channels: 8, kernel_size: 3, padding: 1" + ("" if bias else ", bias: false") + "}"
    yield (f"input: [8, 16, 16]\nblocks:\n  b:\n    layers:\n      - conv2d: {conv}\n      - batchnorm2d\n"
           f"      - relu\n      - add: {{from: [relu1, input]}}\nlayers:\n  - b: {{name: stage, repeat: {n // 4}}}\n")


def fan_in(n: int) -> Iterator[str]:
    """One ``concat`` of ``n`` inputs, all the same 1x1 convolution."""
    yield "input: [1, 4, 4]\nlayers:\n  - conv2d: {name: c, out_channels: 1, kernel_size: 1}\n"
    yield "  - concat: {from: [" + ", ".join(["c"] * n) + "]}\n"


#: Figures of the commands at the documented limits before they were made linear: 2026-12-05,
#: the same 2-core machine (AMD EPYC, Python 3.11.7), shared with other jobs, one run each;
#: seconds. The JSON report of the repeated block took 18.3 s in the same series.
BEFORE = {
    "explain, repeated block, 100,000 layers": 75.9,
    "diff, repeated block, 100,000 layers (table, 80 columns)": 161.1,
    "diff, repeated block, 100,000 layers --format json": 37.4,
    "sweep lenet5 --batch {1..10000} (table, 80 columns)": 36.6,
    "sweep lenet5 --batch {1..10000} --format json": 14.9,
}

#: The scale cases: (name, arguments, the JSON report they are held to). The command must take at
#: most RATIO times as long as that report: a time of the same order.
RATIO = 5.0


# ---------------------------------------------------------------------------------------------
# measuring


@dataclass
class Result:
    """The runs of one target."""

    name: str
    walls: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    #: user + system CPU seconds of each run: less disturbed than wall time by other work on the machine
    cpus: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def wall(self) -> float:
        """Median wall time in seconds."""
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        """Median CPU time (user + system) in seconds."""
        return statistics.median(self.cpus)


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, int, bytes]:
    """Run ``cmd`` once: (wall seconds, CPU seconds, peak RSS bytes, exit code, stderr)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, proc.returncode, err.read()


def run(name: str, cmd: list[str], env: dict[str, str], runs: int) -> Result:
    """Run a target ``runs`` times (after one warm-up run that fills the OS file cache)."""
    res = Result(name)
    for i in range(runs + 1):
        wall, cpu, rss, code, err = measure(cmd, env)
        if code != 0:
            res.error = f"exit {code}: {err.decode(errors='replace').strip().splitlines()[-1:]}"
            return res
        if i:
            res.walls.append(wall)
            res.cpus.append(cpu)
            res.rss.append(rss)
    return res


@dataclass
class Target:
    """A command with its limits (None: no limit, printed for information)."""

    name: str
    args: list[str]
    max_wall: float | None = None
    max_rss_mib: float | None = None
    #: environment variables set for this target only (e.g. ``COLUMNS`` for a table's width)
    env: dict[str, str] = field(default_factory=dict)
    #: A target whose time is held to RATIO times this one's (the JSON report of the same network).
    like: str | None = None
    #: run ``python -c CODE`` instead of cnncalc
    code: str | None = None


def cnncalc_command(pycache: Path) -> tuple[list[str], dict[str, str], str]:
    """How to run cnncalc: the console script if installed, else ``python -m cnncalc``."""
    # COLUMNS would set the width of the tables that are piped: only a target sets it
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "COLUMNS")}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    script = shutil.which("cnncalc")
    if script:
        return [script], env, f"installed console script {script}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return [sys.executable, "-m", "cnncalc"], env, f"{sys.executable} -m cnncalc with PYTHONPATH={ROOT}"


def bundled(name: str) -> bool:
    """True when ``networks/NAME.yaml`` exists in this checkout."""
    return (ROOT / "networks" / f"{name}.yaml").is_file()


TORCHINFO = """
import sys
sys.path.insert(0, {tests!r})
import torch, torchinfo
from torch_reference import BUILDERS
build, shape = BUILDERS["resnet50"]
torchinfo.summary(build().eval(), input_size=(1, *shape), verbose=0)
"""


def has_torch() -> bool:
    """True when torch imports in this interpreter."""
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0


def import_targets(tmp: Path) -> list[Target]:
    """``cnncalc import`` of a plain-torch ResNet-50 and of a 500-layer chain, and torch's own import time."""
    models = ROOT / "benchmarks" / "import_models.py"
    return [
        Target("python -c 'import torch' (an import's floor)", [], code="import torch"),
        Target("import ResNet-50 (plain torch, 3x224x224)",
               ["import", f"{models}:resnet50", "--input", "3x224x224", "-o", str(tmp / "resnet50.yaml")]),
        Target("import a chain of 500 layers (16x32x32)",
               ["import", f"{models}:chain", "--input", "16x32x32", "-o", str(tmp / "chain500.yaml")]),
    ]


def has_torchinfo() -> bool:
    """True when torch and torchinfo import in this interpreter."""
    probe = subprocess.run([sys.executable, "-c", "import torch, torchinfo"], capture_output=True)
    return probe.returncode == 0


def scale_targets(tmp: Path) -> list[Target]:
    """explain, diff and sweep at the documented limits: 100,000 layers, a 400,000-way concat, 10,000 rows."""
    files = {}
    for name, lines in (("block", repeated_block(100_000)), ("block_nobias", repeated_block(100_000, bias=False)),
                        ("fan_in", fan_in(400_000))):
        files[name] = path = tmp / f"{name}.yaml"
        path.write_text("".join(lines), encoding="utf-8")
    block, nobias, wide = (str(files[k]) for k in ("block", "block_nobias", "fan_in"))
    ref_block = "report, repeated block, 100,000 layers, --format json"
    ref_fan = "report, concat of 400,000 inputs, --format json"
    ref_sweep = "report lenet5 --format json"
    return [
        Target(ref_block, ["report", block, "--format", "json"]),
        Target("explain, repeated block, 100,000 layers", ["explain", block], like=ref_block, env={"COLUMNS": "80"}),
        Target("diff, repeated block, 100,000 layers (table, 80 columns)", ["diff", block, nobias], like=ref_block,
               env={"COLUMNS": "80"}),
        Target("diff, repeated block, 100,000 layers --format json", ["diff", block, nobias, "-f", "json"],
               like=ref_block),
        Target(ref_fan, ["report", wide, "--format", "json"]),
        Target("explain, concat of 400,000 inputs", ["explain", wide], like=ref_fan, env={"COLUMNS": "80"}),
        Target("diff, concat of 400,000 inputs (table, 80 columns)", ["diff", wide, wide, "--all"], like=ref_fan,
               env={"COLUMNS": "80"}),
        Target("sweep, concat of 400,000 inputs", ["sweep", wide], like=ref_fan),
        Target(ref_sweep, ["report", "lenet5", "--format", "json"]),
        Target("sweep lenet5 --batch {1..10000} (table, 80 columns)", ["sweep", "lenet5", "--batch", "{1..10000}"],
               env={"COLUMNS": "80"}),
        Target("sweep lenet5 --batch {1..10000} --format json",
               ["sweep", "lenet5", "--batch", "{1..10000}", "--format", "json"]),
        Target("sweep lenet5 --input 1x{28..10027} (10,000 shapes) --format json",
               ["sweep", "lenet5", "--input", "1x{28..10027}", "--format", "json"]),
        Target("sweep resnet50 --batch {1..10000} --format json",
               ["sweep", "resnet50", "--batch", "{1..10000}", "--format", "json"]),
    ]


# ---------------------------------------------------------------------------------------------
# the table


def _fmt(x: float | None, unit: str) -> str:
    return "-" if x is None else f"{x:.3f} {unit}" if unit == "s" else f"{x:.0f} {unit}"


def print_table(rows: list[tuple[Target, Result]]) -> bool:
    """Print one line per target; return True when every limit is met."""
    head = (f"{'target':<44} {'median':>9} {'min':>9} {'max':>9} {'limit':>9}  {'CPU':>9}  {'peak RSS':>9} "
            f"{'limit':>9}  ok")
    print(head)
    print("-" * len(head))
    ok_all = True
    for t, r in rows:
        if r.error:
            print(f"{t.name:<44} failed: {r.error}")
            ok_all = False
            continue
        rss = max(r.rss) / MIB
        ok = (t.max_wall is None or r.wall <= t.max_wall) and (t.max_rss_mib is None or rss <= t.max_rss_mib)
        ok_all &= ok
        mark = "yes" if ok else "NO"
        if t.max_wall is None and t.max_rss_mib is None:
            mark = ""
        print(f"{t.name:<44} {_fmt(r.wall, 's'):>9} {_fmt(min(r.walls), 's'):>9} {_fmt(max(r.walls), 's'):>9} "
              f"{_fmt(t.max_wall, 's'):>9}  {_fmt(r.cpu, 's'):>9}  {_fmt(rss, 'MiB'):>9} "
              f"{_fmt(t.max_rss_mib, 'MiB'):>9}  {mark}")
    return ok_all


def main(argv: list[str] | None = None) -> int:
    """Run every target and print the tables; exit code 1 when a target is missed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per target (default 5)")
    ap.add_argument("--skip-large", action="store_true", help="skip the 100,000-layer networks")
    ap.add_argument("--no-torchinfo", action="store_true", help="skip the torchinfo comparison")
    ap.add_argument("--no-import", action="store_true", help="skip the cnncalc import targets (they need torch)")
    # repeatable rather than comma-separated: target names contain commas ("100,000 layers")
    ap.add_argument("--only", metavar="TEXT", action="append",
                    help="run only the targets whose name contains TEXT (repeatable)")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="cnncalc-bench-"))
    base, env, how = cnncalc_command(tmp / "pycache")
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    print(f"cnncalc: {how}")
    print(f"machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; "
          f"{datetime.date.today().isoformat()}; {args.runs} runs per target (median, min, max)\n")

    sizes = [10_000] if args.skip_large else [10_000, 100_000]
    generated: dict[tuple[str, int], Path] = {}
    for kind, make in (("chain", chain), ("residual", residual), ("distinct", distinct)):
        for n in sizes if kind != "distinct" else [10_000]:
            path = tmp / f"{kind}{n}.yaml"
            with open(path, "w", encoding="utf-8") as f:
                # written line by line: this process stays small, and a child's peak RSS (which
                # counts this process's memory until the child starts its program) stays its own
                f.writelines(make(n))
            generated[kind, n] = path

    targets = [
        Target("python -c pass (the interpreter alone)", []),
        Target("cnncalc --help", ["--help"], 0.12),
        Target("report resnet50 --format json", ["report", "resnet50", "--format", "json"], 0.25, 60),
        Target("report resnet50 (table)", ["report", "resnet50", "--format", "table", "-o", str(tmp / "t.txt")]),
        Target("report resnet50 (table, COLUMNS=80)", ["report", "resnet50"], env={"COLUMNS": "80"}),
        Target("report resnet152 --format json", ["report", "resnet152", "--format", "json"]),
        Target("report densenet121 --format json", ["report", "densenet121", "--format", "json"]),
    ]
    targets = [t for t in targets if len(t.args) < 2 or t.args[0] != "report" or bundled(t.args[1])]
    for (kind, n), path in generated.items():
        if kind == "distinct":
            targets.append(Target(f"{kind} {n:,} layers --format json", ["report", str(path), "--format", "json"]))
            continue
        limit = (1.0, None) if n == 10_000 else (8.0, 600)
        targets.append(Target(f"{kind} {n:,} layers --format json", ["report", str(path), "--format", "json"], *limit))
        targets.append(Target(f"{kind} {n:,} layers --format csv", ["report", str(path), "--format", "csv"]))
        # the table, not wrapped (a file has no width), and at 80 columns (names broken at dots)
        targets.append(Target(f"{kind} {n:,} layers (table)", ["report", str(path), "-o", str(tmp / "t.txt")]))
        targets.append(Target(f"{kind} {n:,} layers (table, COLUMNS=80)", ["report", str(path)],
                              env={"COLUMNS": "80"}))
    if bundled("resnet50"):
        targets.append(Target(f"sweep resnet50 --input {SWEEP_RANGE} (100)",
                              ["sweep", "resnet50", "--input", SWEEP_RANGE, "--format", "json"], 2.0))
    if not args.skip_large:
        targets += scale_targets(tmp)
    if not args.no_import and has_torch():
        targets += import_targets(tmp)
    if args.only:
        targets = [t for t in targets if any(x in t.name for x in args.only)]

    rows = []
    for t in targets:
        print(f"  running {t.name} ...", file=sys.stderr)
        cmd = base + t.args if t.args else [sys.executable, "-c", t.code or "pass"]
        rows.append((t, run(t.name, cmd, {**env, **t.env}, args.runs)))
    ok = print_table(rows)
    by_name = {t.name: r for t, r in rows}

    held = [(t, r) for t, r in rows if (t.like in by_name or t.name in BEFORE) and not r.error]
    if held:
        print(f"\nat the documented limits: time / the JSON report of the same network (limit {RATIO:g}x), "
              "and the time before")
        for t, r in held:
            ratio = ""
            if t.like in by_name and not by_name[t.like].error:
                ratio = f"{r.wall / by_name[t.like].wall:.1f}x (CPU {r.cpu / by_name[t.like].cpu:.1f}x)"
                ok &= r.wall / by_name[t.like].wall <= RATIO
            before = BEFORE.get(t.name)
            print(f"  {t.name:<60} {ratio:>17}  {r.wall:7.2f} s" + (f" (before: {before:.0f} s)" if before else ""))

    if not args.skip_large and "chain 100,000 layers --format json" in by_name:
        print("\ngrowth, 100,000 / 10,000 layers (median wall; linear is 10x, limit 12x)")
        for kind in ("chain", "residual"):
            for fmt in ("json", "csv"):
                small = by_name.get(f"{kind} 10,000 layers --format {fmt}")
                large = by_name.get(f"{kind} 100,000 layers --format {fmt}")
                if small is None or large is None or small.error or large.error:
                    continue
                ratio = large.wall / small.wall
                ok &= ratio <= 12 or fmt != "json"
                print(f"  {kind:<9} {fmt:<5} {ratio:5.1f}x")

    chain_json, distinct_json = by_name.get("chain 10,000 layers --format json"), by_name.get(
        "distinct 10,000 layers --format json")
    if chain_json and distinct_json and not chain_json.error and not distinct_json.error:
        # in CPU time, which other work on the machine disturbs less than wall time
        extra = (distinct_json.cpu - chain_json.cpu) / 10_000 * 1e6
        print(f"\ndistinct layers: {extra:.0f} µs more CPU time per layer than the repeated chain "
              f"({distinct_json.cpu:.2f} s against {chain_json.cpu:.2f} s of CPU for 10,000 layers, --format json; "
              f"wall {distinct_json.wall:.2f} s against {chain_json.wall:.2f} s)")

    # the table of a network must take a time of the same order as its JSON: at most 4x
    print("\ntable / JSON of the same network (median wall; limit 4x)")
    for kind in ("chain", "residual"):
        for n in sizes:
            json_run = by_name.get(f"{kind} {n:,} layers --format json")
            for table in (f"{kind} {n:,} layers (table)", f"{kind} {n:,} layers (table, COLUMNS=80)"):
                # --only may have left either out
                if json_run is None or table not in by_name or json_run.error or by_name[table].error:
                    continue
                ratio = by_name[table].wall / json_run.wall
                ok &= ratio <= 4
                print(f"  {table:<44} {ratio:5.1f}x  (CPU time: {by_name[table].cpu / json_run.cpu:.1f}x)")

    if not args.no_torchinfo and "report resnet50 --format json" in by_name:
        if has_torchinfo():
            script = TORCHINFO.format(tests=str(ROOT / "tests"))
            ti = run("torchinfo.summary(resnet50)", [sys.executable, "-c", script], env, args.runs)
            ours = by_name["report resnet50 --format json"]
            print("\ncompared with torchinfo (plain-torch ResNet-50 from tests/torch_reference.py, whole process)")
            print_table([(Target(ti.name, []), ti), (Target(ours.name, []), ours)])
            if not ti.error and not ours.error:
                print(f"  torchinfo / cnncalc: {ti.wall / ours.wall:.0f}x the wall time, "
                      f"{max(ti.rss) / max(ours.rss):.1f}x the peak memory")
        else:
            print("\n(torch or torchinfo is not installed: no torchinfo comparison)")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
