"""Budget globs stay inside the project, skip links that lead out, and survive files vanishing while walking."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc import budgets, spec
from cnncalc.budgets import glob_inside, load_budgets
from cnncalc.errors import SpecError

LENET = spec.bundled()["lenet5"].read_text()


def make_tree(top: Path) -> None:
    """models/{a,b}.yaml, models/sub/c.yaml, models/sub/deep/d.yaml, other/e.yml, notes.txt."""
    for rel in ("models/a.yaml", "models/b.yaml", "models/sub/c.yaml", "models/sub/deep/d.yaml", "other/e.yml"):
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_text(LENET)
    (top / "notes.txt").write_text("not a network\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A checkout (it has .git) with a budgets folder ci/ and models, inside a folder with a secret beside it."""
    top = tmp_path / "project"
    top.mkdir()
    (top / ".git").mkdir()
    make_tree(top)
    (top / "ci").mkdir()
    (tmp_path / "secret.yaml").write_text(LENET)  # outside the project
    return top


def budgets_file(folder: Path, *patterns: str) -> Path:
    path = folder / "budgets.yaml"
    path.write_text("".join(f"{p!r}:\n  max_params: 1G\n" for p in patterns))
    return path


def matched(path: Path) -> set[str]:
    """Every file the budgets file's globs match, relative to the project."""
    top = budgets.project_root(path.parent)
    return {p.relative_to(top).as_posix() for p in load_budgets(path).networks()}


ESCAPES = [
    pytest.param("/**", id="absolute, the whole disk"),
    pytest.param("/etc/*.yaml", id="absolute"),
    pytest.param("../../../../proc/**/x.yaml", id="climbing to /proc"),
    pytest.param("../../secret.yaml", id="above the checkout"),
    pytest.param("../../*", id="above the checkout, a glob"),
    pytest.param("models/../../../secret.yaml", id=".. after the start"),
    pytest.param("models/../models/*.yaml", id=".. after the start, staying inside"),
    pytest.param("**/../*.yaml", id=".. after **"),
]


@pytest.mark.parametrize("pattern", ESCAPES)
def test_escaping_globs_are_located_errors(project: Path, pattern: str) -> None:
    path = project / "ci" / "budgets.yaml"
    # the bad entry second, so that its own line is reported, not the file's first
    path.write_text(f"'models/*.yaml':\n  max_params: 1G\n{pattern!r}:\n  max_params: 1G\n")
    with pytest.raises(SpecError) as e:
        load_budgets(path)
    (p,) = e.value.problems
    assert (p.file, p.line, p.column) == (str(path), 3, 1)
    assert p.message.startswith(f"'{pattern}' ")


@pytest.mark.parametrize("pattern", ESCAPES)
def test_escaping_globs_exit_2_on_the_command_line(
    project: Path, pattern: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    budgets_file(project / "ci", pattern)
    res = run("check", "--budgets", "ci/budgets.yaml")
    assert res.exit_code == 2
    assert res.stderr.startswith("error: ci/budgets.yaml:1:1: ") and res.stdout == ""


def test_dotdot_inside_the_checkout_is_allowed(project: Path) -> None:
    path = budgets_file(project / "ci", "../models/*.yaml", "../other/*.yml")
    assert matched(path) == {"models/a.yaml", "models/b.yaml", "other/e.yml"}


def test_without_a_checkout_the_budgets_folder_is_the_project(tmp_path: Path) -> None:
    make_tree(tmp_path)
    path = budgets_file(tmp_path / "models", "*.yaml", "sub/**/*.yaml")
    assert matched(path) == {"a.yaml", "b.yaml", "sub/c.yaml", "sub/deep/d.yaml"}
    budgets_file(tmp_path / "models", "../other/*.yml")
    with pytest.raises(SpecError, match="leads outside the project"):
        load_budgets(tmp_path / "models" / "budgets.yaml")


def test_double_star_matches_any_depth_and_never_the_budgets_file(project: Path) -> None:
    path = budgets_file(project, "**")
    assert matched(path) == {"models/a.yaml", "models/b.yaml", "models/sub/c.yaml", "models/sub/deep/d.yaml",
                             "other/e.yml", "notes.txt"}


def test_links_leading_outside_are_skipped(project: Path, tmp_path: Path) -> None:
    (project / "models" / "root").symlink_to("/")
    (project / "models" / "out").symlink_to(tmp_path)
    (project / "models" / "secret.yaml").symlink_to(tmp_path / "secret.yaml")
    (project / "models" / "inside.yaml").symlink_to(project / "other" / "e.yml")
    (project / "models" / "loop").symlink_to(project / "models")
    path = budgets_file(project, "models/*.yaml", "models/root/etc/*", "models/out/*.yaml", "models/*/*.yaml",
                        "models/**/*.yaml", "models/loop/loop/loop/a.yaml")
    # the link to a file inside counts (as the file it names); nothing outside the project does
    assert matched(path) == {"models/a.yaml", "models/b.yaml", "other/e.yml", "models/sub/c.yaml",
                             "models/sub/deep/d.yaml"}
    table = load_budgets(path)
    assert [e.pattern for e in table.unmatched()] == ["models/root/etc/*", "models/out/*.yaml"]


def test_double_star_does_not_follow_links_to_folders(project: Path) -> None:
    # two links back up in every folder would make 2^depth paths if ** followed them
    for folder in (project / "models", project / "models" / "sub", project / "models" / "sub" / "deep"):
        (folder / "up1").symlink_to(project)
        (folder / "up2").symlink_to(project / "models")
    path = budgets_file(project, "**/*.yaml")
    assert matched(path) == {"models/a.yaml", "models/b.yaml", "models/sub/c.yaml", "models/sub/deep/d.yaml"}


#: What vanishes when a folder is listed: models/a.yaml with models, models/sub/deep with models/sub.
VICTIMS = {"models": "a.yaml", "sub": "deep"}


def _remove(path: str) -> None:
    # os.listdir, not os.scandir (replaced below) nor shutil.rmtree (which uses it)
    if os.path.isdir(path) and not os.path.islink(path):
        for name in os.listdir(path):
            _remove(os.path.join(path, name))
        os.rmdir(path)
    else:
        os.unlink(path)


@pytest.fixture
def vanishing(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """os.scandir that, once it has listed a folder, removes one of the listed entries (as another process might)."""
    real = os.scandir
    gone: list[str] = []

    class Listing:
        def __init__(self, folder: Any) -> None:
            self.folder = Path(folder)
            self.entries = list(real(folder))

        def __enter__(self) -> Iterator[os.DirEntry[str]]:
            victim = self.folder / VICTIMS.get(self.folder.name, "")
            if self.folder.name in VICTIMS and victim.exists():
                gone.append(str(victim))
                _remove(str(victim))
            return iter(self.entries)

        def __exit__(self, *exc: Any) -> None:
            return None

    monkeypatch.setattr(os, "scandir", Listing)
    yield gone


def test_files_and_folders_vanishing_while_walking_are_skipped(project: Path, vanishing: list[str]) -> None:
    path = budgets_file(project, "**/*.yaml", "models/*", "models/sub/deep/*.yaml", "*/*/*.yaml")
    found = matched(path)
    assert sorted(vanishing) == [str(project / "models" / "a.yaml"), str(project / "models" / "sub" / "deep")]
    assert found == {"models/b.yaml", "models/sub/c.yaml"}


def test_unreadable_folder_is_skipped(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.scandir

    def scandir(folder: Any) -> Any:
        if Path(folder).name == "sub":
            raise PermissionError(13, "Permission denied", str(folder))
        return real(folder)

    monkeypatch.setattr(budgets.os, "scandir", scandir)
    assert matched(budgets_file(project, "models/**/*.yaml")) == {"models/a.yaml", "models/b.yaml"}


# ---------------------------------------------------------------------------------------------
# the walk against pathlib's glob, on a tree without links

SEGMENTS = ["models", "sub", "deep", "other", "*", "**", "*.yaml", "?.yaml", "[ab].yaml", "*.yml", "x"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=5))
def test_matches_pathlib_glob(tmp_path: Path, parts: list[str]) -> None:
    top = tmp_path / "tree"
    if not top.exists():
        make_tree(top)
    pattern = "/".join(parts)
    if parts[-1] == "**":  # pathlib's trailing ** matches folders only; here it means every file below
        expected = {p.resolve() for p in top.glob(pattern + "/*") if p.is_file()}  # X/**/* holds X/*
    else:
        expected = {p.resolve() for p in top.glob(pattern) if p.is_file()}
    assert set(glob_inside(top, pattern)) == expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from([*SEGMENTS, "..", "", ".", "root", "out"]), min_size=1, max_size=6),
       absolute=st.booleans())
def test_never_leaves_the_project(tmp_path: Path, parts: list[str], absolute: bool) -> None:
    top = tmp_path / "project"
    if not top.exists():
        make_tree(top)
        (top / "models" / "root").symlink_to("/")
        (top / "out").symlink_to(tmp_path)
        (tmp_path / "secret.yaml").write_text(LENET)
    pattern = "/" * absolute + "/".join(parts)
    try:
        found = glob_inside(top / "models", pattern, top)
    except ValueError:
        return
    assert all(p.is_relative_to(top.resolve()) for p in found), found
