"""Budgets: limits on a network's figures, where each comes from, and whether it holds. Pure.

A limit comes from one of three places; for the same limit the more specific one wins:

1. a command-line flag (``--max-params 5M``);
2. the ``budgets:`` section of the network file itself;
3. a budgets file mapping network paths or globs (relative to that file, and kept inside its
   project by :func:`glob_inside`) to limits; when several entries match a network, later
   entries override earlier ones.

``batch``, ``dtype`` and ``optimizer`` (what the memory limits assume) are merged the same way.
Each limit yields an :class:`Outcome`: ``pass``, ``fail`` (exceeded, or a minimum not met) or
``error`` (the figure cannot be measured, e.g. training memory in int8). Never a silent pass.

:func:`check_files` gives every file its own entry: a file that cannot be read, validated or
analysed is an ``error`` entry carrying its located problems, beside the others' results; a
network with no limit from any source is a ``skip`` entry with a note. The exit code is the
worst over all entries: 2 (an invalid file, or a limit that cannot be checked) wins over 1 (a
limit not met), which wins over 0 (every limit holds; networks without limits are only noted).
Each figure is measured by one function in :data:`MEASURES`; training memory by
:func:`_train_memory`, from :mod:`memory`'s model.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from .analysis import analyse
from .errors import CnnCalcError, OptionError, Problem, SpecError
from .graph import build
from .limits import LIMITS
from .report import CheckResult, Limit, LimitSource, NetworkCheck, Outcome, Report, Settings
from .source import read
from .spec import Budgets, Network, problems

#: The note of a network that has no limit from any source.
NO_LIMITS = ("no limits to check: give limits such as --max-params 5M, a 'budgets:' section in the file, "
             "or --budgets FILE")

class Unmeasurable(Exception):
    """A figure a limit needs cannot be measured for this network (the limit is an error)."""


@dataclass(frozen=True)
class Subject:
    """What a limit is measured on: the network, its analysis at the settings, and the settings."""

    network: Network
    report: Report
    settings: Settings


def _min_rf(s: Subject) -> int | None:
    """Smallest receptive field over the axes of the last spatial map; None: the whole input."""
    rf = s.report.totals.receptive_field
    if rf is None:
        raise Unmeasurable("the network has no spatial feature map, so no receptive field to check")
    sizes = [a.size for a in rf.axes if a.size is not None]
    return min(sizes) if sizes else None


def _train_memory(s: Subject) -> int:
    """Peak training memory in bytes of ``s.network`` at the batch, dtype and optimizer of ``s.settings``.

    The peak of one training step in :mod:`memory`'s model, library workspace included; int8
    does not train, so there the limit is an error (exit code 2), never a pass.
    """
    peak = None if s.report.memory is None else s.report.memory.training_peak
    if peak is None:
        raise Unmeasurable(f"training in {s.settings.dtype} is not modelled; the limit cannot be checked")
    return peak


#: How each kind of limit measures its figure (keys: :data:`limits.LIMITS`).
MEASURES: dict[str, Callable[[Subject], int | None]] = {
    "max_params": lambda s: s.report.totals.params,
    "max_macs": lambda s: s.report.totals.macs,
    "max_flops": lambda s: s.report.totals.flops,
    # parameters and buffers as stored: (params + buffers) × dtype bytes
    "max_param_memory": lambda s: s.report.totals.weight_file_bytes,
    # every layer's output kept at once: Σ output elements × dtype bytes × batch
    "max_activation_memory": lambda s: s.report.totals.activation_bytes_batch,
    "max_train_memory": _train_memory,
    "min_rf": _min_rf,
}


def evaluate(limit: Limit, subject: Subject) -> Outcome:
    """Measure the figure a limit bounds and compare it."""
    try:
        actual = MEASURES[limit.metric.limit](subject)
    except Unmeasurable as e:
        return Outcome(limit, None, "error", str(e))
    if actual is None:  # the whole input: larger than any minimum
        return Outcome(limit, None, "pass")
    bound = limit.value.value
    holds = actual <= bound if limit.metric.bound == "max" else actual >= bound
    return Outcome(limit, actual, "pass" if holds else "fail")


# ---------------------------------------------------------------------------------------------
# where limits come from


def parse_flags(values: dict[str, Any]) -> Budgets:
    """Validate command-line values (``{"max_params": "5M", "batch": 32, ...}``; None = not given)."""
    given = {k: v for k, v in values.items() if v is not None}
    try:
        return Budgets.model_validate(given)
    except ValidationError as e:
        msgs = []
        for err in e.errors(include_url=False):
            name = "--" + str(err["loc"][0]).replace("_", "-")
            msgs.append(Problem(f"{name}: {str(err['msg']).removeprefix('Value error, ')}"))
        raise OptionError(msgs) from None


@dataclass(frozen=True)
class Entry:
    """One entry of a budgets file: a glob, its limits, its line, and the files it matches."""

    pattern: str
    budgets: Budgets
    line: int | None
    files: tuple[Path, ...]
    #: the line of each limit the entry sets
    lines: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class BudgetsFile:
    """A budgets file: globs relative to its folder, each mapped to limits."""

    name: str
    entries: tuple[Entry, ...]

    def matching(self, path: Path) -> list[Entry]:
        """The entries whose glob matches ``path``, in file order."""
        target = path.resolve()
        return [e for e in self.entries if target in e.files]

    def networks(self) -> list[Path]:
        """Every file any glob matches, in the order of the entries, each once."""
        seen: dict[Path, None] = {}
        for e in self.entries:
            seen.update(dict.fromkeys(e.files))
        return list(seen)

    def unmatched(self) -> list[Entry]:
        """Entries whose glob matches no file (likely a typo)."""
        return [e for e in self.entries if not e.files]


_ENTRIES = TypeAdapter(dict[str, Budgets])


def load_budgets(path: str | Path) -> BudgetsFile:
    """Read a budgets file: ``{glob: {max_params: 5M, ...}, ...}``, globs relative to its folder."""
    src = read(path)
    if not isinstance(src.data, dict) or not src.data:
        raise SpecError([src.problem("a budgets file maps network paths or globs to limits, "
                                     "e.g. 'models/*.yaml: {max_params: 5M}'")])
    try:
        parsed = _ENTRIES.validate_python(src.data)
    except ValidationError as e:
        raise SpecError(problems(src, e)) from None
    base = Path(path).parent
    itself = Path(path).resolve()
    root = project_root(itself.parent)
    keys = {k.value: k.start_mark for k, _ in src.root.value} if isinstance(src.root, yaml.MappingNode) else {}
    entries = []
    for pattern, budgets in parsed.items():
        mark = keys.get(pattern)
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        try:
            # the budgets file itself is never a network, even where '**' matches it
            files = tuple(f for f in glob_inside(base, pattern, root) if f != itself)
        except ValueError as e:
            raise SpecError([Problem(f"'{pattern}' {e}", file=src.name, line=line, column=col)]) from None
        lines = {key: src.locate((pattern, key))[0] for key in budgets.model_fields_set}
        entries.append(Entry(pattern, budgets, line, files, lines))
    return BudgetsFile(src.name, tuple(entries))


_MAGIC = re.compile(r"[*?\[]")


#: What marks the top folder of a project: a version-control checkout.
PROJECT_MARKERS = (".git", ".hg", ".svn")


def project_root(folder: Path) -> Path:
    """The project a budgets file in ``folder`` belongs to: the nearest checkout around it, else ``folder``."""
    folder = folder.resolve()
    for candidate in (folder, *folder.parents):
        try:
            if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
                return candidate
        except OSError:
            break
    return folder


def glob_inside(base: Path, pattern: str, root: Path | None = None) -> tuple[Path, ...]:
    """The regular files that ``pattern``, relative to ``base``, matches inside ``root``: resolved, sorted.

    ``root`` (default ``base``) is the project, a folder at or above ``base``. ``*``, ``?`` and
    ``[...]`` match within one path component, ``**`` any number of folders (at the end, every
    file below). The walk never leaves ``root``: an absolute pattern, or leading ``..`` that
    climb above it, are refused (``ValueError``), as is ``..`` after the start; ``**`` does not
    follow links to folders, and a link that resolves outside ``root`` is skipped. A file or
    folder that vanishes or cannot be read while walking is skipped too.
    """
    parts = [p for p in pattern.split("/") if p not in ("", ".")]
    if "\0" in pattern:  # no file name holds one: a mistake, not a glob that happens to match nothing
        raise ValueError("cannot contain the NUL character: no path does")
    if not pattern.strip() or pattern.startswith("/") or Path(pattern).is_absolute():
        raise ValueError("must be a path or glob relative to the budgets file")
    ups = next((i for i, p in enumerate(parts) if p != ".."), len(parts))
    if ".." in parts[ups:]:
        raise ValueError("may have '..' only at its start, as in ../models/*.yaml")
    try:
        top = (root or base).resolve()
        start = base.resolve()
    except OSError:
        return ()
    for _ in range(ups):
        start = start.parent
    if not start.is_relative_to(top):
        raise ValueError(f"leads outside the project {top}: globs stay inside the folder of the budgets file, "
                         "or of the checkout (.git) it is in")
    parts = parts[ups:]
    if not parts:
        raise ValueError("must name files, not the budgets file's folder itself")
    bad = next((p for p in parts if "**" in p and p != "**"), None)
    if bad is not None:
        raise ValueError(f"is not a valid glob: '**' can only be a whole path component, not '{bad}'")
    # '**/**' matches what '**' does: one, so that the walk is not repeated for each
    parts = [p for i, p in enumerate(parts) if not (p == "**" and i and parts[i - 1] == "**")]
    found: set[Path] = set()
    for p in _walk(top, start, parts):
        try:
            real = p.resolve()
            if real.is_relative_to(top) and real.is_file():
                found.add(real)
        except OSError:  # vanished, or a loop of links
            continue
    return tuple(sorted(found))


def _walk(root: Path, folder: Path, parts: list[str]) -> Iterator[Path]:
    """Paths below ``folder`` matching ``parts`` (see :func:`glob_inside`); ``folder`` lies inside ``root``."""
    part, rest = parts[0], parts[1:]
    if part == "**":
        if rest:
            yield from _walk(root, folder, rest)  # '**' as no folder at all
        else:
            yield from (folder / e.name for e in _entries(folder) if not _is_dir(e, follow=False))
        for entry in _entries(folder):
            if _is_dir(entry, follow=False):  # never through a link: no loops, no escape
                yield from _walk(root, folder / entry.name, parts)
        return
    names = [e.name for e in _entries(folder) if fnmatchcase(e.name, part)] if _MAGIC.search(part) else [part]
    for name in names:
        child = folder / name
        if not rest:
            yield child
        elif _inside(root, child):
            yield from _walk(root, child, rest)


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    """The entries of ``folder``; none when it vanished or cannot be read."""
    try:
        with os.scandir(folder) as it:
            return list(it)
    except OSError:
        return []


def _is_dir(entry: os.DirEntry[str], *, follow: bool) -> bool:
    try:
        return entry.is_dir(follow_symlinks=follow)
    except OSError:
        return False


def _inside(root: Path, folder: Path) -> bool:
    """Whether ``folder`` is a folder whose real path lies inside ``root`` (links are followed)."""
    try:
        return folder.is_dir() and (not folder.is_symlink() or folder.resolve().is_relative_to(root))
    except OSError:
        return False


@dataclass
class _Plan:
    limits: dict[str, Limit] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def add(self, budgets: Budgets, source: Callable[[str], LimitSource]) -> None:
        for key in budgets.model_fields_set:
            value = getattr(budgets, key)
            if key in LIMITS:
                self.limits[key] = Limit(LIMITS[key], value, source(key))
            else:
                self.settings[key] = value


def _entry_source(file: str, entry: Entry) -> Callable[[str], LimitSource]:
    """Where each limit of a budgets file's entry was set: the file and the limit's line."""
    return lambda key: LimitSource("budgets", file, entry.lines.get(key))


def plan(network: Network, *, flags: Budgets | None = None,
         budgets_file: BudgetsFile | None = None) -> tuple[list[Limit], Settings]:
    """The limits of ``network`` and its settings, merged from the three sources."""
    p = _Plan()
    src = network.source
    if budgets_file is not None and src is not None:
        for entry in budgets_file.matching(Path(src.name)):
            p.add(entry.budgets, _entry_source(budgets_file.name, entry))
    if network.budgets is not None:
        p.add(network.budgets, lambda key: LimitSource(
            "network", src.name if src else None, src.locate(("budgets", key))[0] if src else None))
    if flags is not None:
        p.add(flags, lambda key: LimitSource("flag"))
    limits = [p.limits[k] for k in LIMITS if k in p.limits]
    return limits, Settings(**p.settings)


def network_line(network: Network) -> int:
    """The line that stands for the network in annotations: its ``name:``, else line 1."""
    src = network.source
    if src is not None and isinstance(src.data, dict) and "name" in src.data:
        return src.locate(("name",))[0] or 1
    return 1


def check_network(network: Network, *, flags: Budgets | None = None,
                  budgets_file: BudgetsFile | None = None, convention: str | None = None) -> NetworkCheck:
    """Analyse ``network`` at its settings (MACs and FLOPs per ``convention``) and check each limit.

    A network with no limit from any source is still built (so that an invalid one is an error)
    and its entry is skipped with a note.
    """
    limits, settings = plan(network, flags=flags, budgets_file=budgets_file)
    src = network.source
    file = src.name if src else None
    if not limits:
        graph = build(network)
        return NetworkCheck(graph.name, file, network_line(network), settings, (), note=NO_LIMITS,
                            warnings=tuple(graph.warnings))
    report = analyse(network, batch=settings.batch, dtype=settings.dtype, optimizer=settings.optimizer,
                     convention=convention)
    subject = Subject(network, report, settings)
    outcomes = tuple(evaluate(limit, subject) for limit in limits)
    return NetworkCheck(report.network, file, network_line(network), settings, outcomes,
                        warnings=tuple(report.warnings))


def check(networks: list[Network], *, flags: Budgets | None = None,
          budgets_file: BudgetsFile | None = None, convention: str | None = None) -> CheckResult:
    """Check every network against its limits (an invalid one raises; see :func:`check_files`)."""
    return CheckResult(tuple(check_network(n, flags=flags, budgets_file=budgets_file, convention=convention)
                             for n in networks))


def check_files(paths: Sequence[str], load: Callable[[str], Network], *, flags: Budgets | None = None,
                budgets_file: BudgetsFile | None = None, convention: str | None = None) -> CheckResult:
    """Check the network of each path (read with ``load``): every path gets an entry, in order.

    A path whose network cannot be read, validated or analysed becomes an ``error`` entry with
    its located problems; the others are checked as usual.
    """
    entries = []
    for path in paths:
        try:
            entries.append(check_network(load(path), flags=flags, budgets_file=budgets_file, convention=convention))
        except CnnCalcError as e:
            file = next((p.file for p in e.problems if p.file), path)
            entries.append(NetworkCheck.invalid(file, e.problems))
    return CheckResult(tuple(entries))
