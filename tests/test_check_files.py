"""``cnncalc check`` over many files: every file gets its result, the exit code is the worst, a
network without limits is a note, and the pre-commit hook feeds it networks only.

Precedence: 2 (a file invalid, or a limit that cannot be checked) wins over 1 (a limit not met),
which wins over 0 (every limit holds; networks without limits are only noted).
"""

from __future__ import annotations

import itertools
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from cnncalc.cli import cli

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("table", "json", "github", "junit")
#: ``::error file=...,line=...::message`` as GitHub parses a workflow command
COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")

# a conv2d 2@3x3 on 1x8x8: (3·3·1 + 1)·2 = 20 parameters, receptive field 3
SMALL = "input: [1, 8, 8]\nlayers:\n  - conv2d: {out_channels: 2, kernel_size: 3}\n"
PARAMS = (3 * 3 * 1 + 1) * 2

#: Files that cnncalc cannot check, each for a different reason, found at a different stage.
BROKEN = {
    "syntax.yaml": "input: [1, 8, 8]\nlayers: [relu\n",
    "schema.yaml": "input: [1, 8, 8]\nlayers:\n  - conv2d: {out_channels: 2, kernel_sise: 3}\n",
    "shape.yaml": "input: [1, 8, 8]\nlayers:\n  - conv2d: {out_channels: 2, kernel_size: 50}\n",
    "other.yaml": "repos:\n  - repo: https://example.org/hooks\n    rev: v1\n",  # not a network at all
    "latin1.yaml": b"name: caf\xe9\ninput: [1, 8, 8]\nlayers: [relu]\n",
    "empty.json": "",
}

#: One file per verdict, its limits in its own budgets: section.
KINDS = {
    "pass": SMALL + f"budgets: {{max_params: {PARAMS}}}\n",
    "fail": SMALL + f"budgets: {{max_params: {PARAMS - 1}}}\n",
    "unchecked": SMALL + "budgets: {max_train_memory: 1GiB, dtype: int8}\n",  # int8 does not train
    "invalid": BROKEN["shape.yaml"],
    "skip": SMALL,
}


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


def write(folder: Path, name: str, text: str | bytes) -> str:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def report_errors(path: str) -> list[str]:
    """What ``cnncalc report`` says about the file: the same problems ``check`` must carry."""
    r = run("report", path)
    assert r.exit_code == 2 and r.stdout == ""
    return [line.removeprefix("error: ") for line in r.stderr.splitlines()]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    good = write(tmp_path, "good.yaml", "name: good\n" + KINDS["pass"])
    over = write(tmp_path, "over.yaml", "name: over\n" + KINDS["fail"])
    return {"good": good, "over": over, **{n: write(tmp_path, n, t) for n, t in BROKEN.items()}}


# ---------------------------------------------------------------------------------------------
# every file gets its result, in every format


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_json_has_an_entry_per_file(files: dict[str, str], broken: str) -> None:
    expected = report_errors(files[broken])
    r = run("check", files["good"], files[broken], files["over"], "-f", "json")
    assert r.exit_code == 2  # an invalid file wins over the exceeded limit of over.yaml
    doc = json.loads(r.stdout)
    assert doc["status"] == "error"
    good, bad, over = doc["networks"]
    assert (good["name"], good["status"], [x["actual"] for x in good["limits"]]) == ("good", "pass", [PARAMS])
    assert (over["name"], over["status"], [x["actual"] for x in over["limits"]]) == ("over", "fail", [PARAMS])
    assert (bad["file"], bad["status"], bad["limits"], bad["name"]) == (files[broken], "error", [], None)
    assert [p["text"] for p in bad["problems"]] == expected
    for p in bad["problems"]:  # each part of the located line is there to use
        assert p["text"].startswith(f"{p['file']}:{p['line']}:" if p["line"] else f"{p['file']}: ")
        assert p["text"].endswith(p["message"])
    assert doc["summary"] == {"networks": 3, "limits": 2, "passed": 1, "failed": 1, "errors": 0, "invalid": 1,
                              "skipped": 0}
    # stderr tells the same, one located line per problem
    assert [line.removeprefix("error: ") for line in r.stderr.splitlines()] == expected


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_table_has_a_row_per_file(files: dict[str, str], broken: str) -> None:
    expected = report_errors(files[broken])
    r = run("check", files["good"], files[broken], files["over"])
    assert r.exit_code == 2
    lines = r.stdout.splitlines()
    assert [ln.split("│")[-2].strip() for ln in lines if ln.startswith("│")] == ["PASS", "ERROR", "FAIL"]
    for message in expected:  # the located message itself, under the table
        assert message in lines
    assert lines[-1] == "3 networks, 2 limits: 1 passed, 1 failed, 0 not checked; 1 invalid"


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_github_annotates_every_file(files: dict[str, str], broken: str) -> None:
    expected = report_errors(files[broken])
    r = run("check", files["good"], files[broken], files["over"], "-f", "github")
    assert r.exit_code == 2
    cmds = [COMMAND.match(line) for line in r.stdout.splitlines() if line.startswith("::")]
    assert all(cmds)
    props = [dict(kv.split("=", 1) for kv in (m[2] or "").split(",") if kv) for m in cmds if m]
    invalid = [(p, m) for p, m in zip(props, cmds) if m and p.get("title") == "cnncalc check%3A invalid input"]
    assert len(invalid) == len(expected)
    for (p, m), line in zip(invalid, expected):
        where = ":".join(filter(None, (p["file"].replace("%3A", ":").replace("%2C", ","), p.get("line"),
                                       p.get("col"))))
        assert f"{where}: {m[3]}" == line  # the same file:line:col and message as the error line
    exceeded = [p for p in props if p.get("title") == "cnncalc check%3A max_params exceeded"]
    assert [p["file"] for p in exceeded] == [files["over"].replace(":", "%3A").replace(",", "%2C")]


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_junit_has_a_suite_per_file(files: dict[str, str], broken: str) -> None:
    expected = report_errors(files[broken])
    r = run("check", files["good"], files[broken], files["over"], "-f", "junit")
    assert r.exit_code == 2
    root = ET.fromstring(r.stdout.split("\n", 1)[1])
    suites = root.findall("testsuite")
    assert [s.get("file") for s in suites] == [files["good"], files[broken], files["over"]]
    (case,) = suites[1].findall("testcase")
    (error,) = case.findall("error")
    assert error.get("message") == expected[0]
    assert (error.text or "").splitlines() == expected
    for key in ("tests", "failures", "errors", "skipped"):  # the totals are the sums of the suites
        assert int(root.get(key) or -1) == sum(int(s.get(key) or -1) for s in suites)
    assert [int(root.get(k) or -1) for k in ("tests", "failures", "errors")] == [3, 1, 1]


@pytest.mark.parametrize("fmt", ["json", "junit"])
def test_output_file_gets_every_result(files: dict[str, str], tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"out.{fmt}"
    r = run("check", files["good"], files["shape.yaml"], "-f", fmt, "-o", str(out))
    assert r.exit_code == 2 and r.stdout == ""
    text = out.read_text()
    assert files["good"] in text and files["shape.yaml"] in text


def test_invalid_standard_input_is_an_entry(files: dict[str, str]) -> None:
    r = run("check", files["good"], "-", "-f", "json", stdin=BROKEN["schema.yaml"])
    assert r.exit_code == 2
    good, bad = json.loads(r.stdout)["networks"]
    assert (good["status"], bad["status"], bad["file"]) == ("pass", "error", "<stdin>")
    assert bad["problems"][0]["text"].startswith("<stdin>:3:")


def test_command_wide_errors_still_stop_the_run(files: dict[str, str]) -> None:
    """A bad flag or budgets file concerns every file: nothing is checked, exit 2, stdout empty."""
    r = run("check", files["good"], "--max-params", "5MiB", "-f", "json")
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr.startswith("error: --max-params: ")


# ---------------------------------------------------------------------------------------------
# precedence of the exit codes

EXIT = {"pass": 0, "skip": 0, "fail": 1, "unchecked": 2, "invalid": 2}
STATUS = {"pass": "pass", "skip": "skip", "fail": "fail", "unchecked": "error", "invalid": "error"}


@pytest.mark.parametrize("kinds", [c for n in (1, 2, 3) for c in itertools.combinations(sorted(KINDS), n)],
                         ids=" + ".join)
def test_the_worst_verdict_sets_the_exit_code(tmp_path: Path, kinds: tuple[str, ...]) -> None:
    paths = [write(tmp_path, f"{k}.yaml", KINDS[k]) for k in kinds]
    r = run("check", *paths, "-f", "json")
    assert r.exit_code == max(EXIT[k] for k in kinds)
    doc = json.loads(r.stdout)
    assert [n["status"] for n in doc["networks"]] == [STATUS[k] for k in kinds]
    checked = [STATUS[k] for k in kinds if k != "skip"]
    worst = max(checked, key=["pass", "fail", "error"].index) if checked else "skip"
    assert doc["status"] == worst


# ---------------------------------------------------------------------------------------------
# a network without limits: a note, not a failure


def test_network_without_limits_is_a_note(tmp_path: Path) -> None:
    net = write(tmp_path, "plain.cnn.yaml", SMALL)
    r = run("check", net)
    assert r.exit_code == 0
    assert r.stderr == f"note: {net}: no limits to check: give limits such as --max-params 5M, a 'budgets:' " \
                       "section in the file, or --budgets FILE\n"
    assert r.stdout.splitlines()[-1] == "1 network, 0 limits: 0 passed, 0 failed, 0 not checked; 1 without limits"


@pytest.mark.parametrize("fmt", FORMATS)
def test_network_without_limits_in_every_format(tmp_path: Path, fmt: str) -> None:
    plain = write(tmp_path, "plain.yaml", "name: plain\n" + SMALL)
    good = write(tmp_path, "good.yaml", "name: good\n" + KINDS["pass"])
    r = run("check", plain, good, "-f", fmt)
    assert r.exit_code == 0
    if fmt == "json":
        doc = json.loads(r.stdout)
        assert doc["status"] == "pass"
        assert [(n["name"], n["status"], n["limits"]) for n in doc["networks"]][0] == ("plain", "skip", [])
        assert "no limits" in doc["networks"][0]["note"]
        assert doc["summary"]["skipped"] == 1
    elif fmt == "junit":
        suite = ET.fromstring(r.stdout.split("\n", 1)[1]).find("testsuite")
        assert suite is not None and suite.get("skipped") == "1" and suite.get("failures") == "0"
        assert suite.find("testcase/skipped") is not None
    elif fmt == "github":
        (notice,) = [line for line in r.stdout.splitlines() if line.startswith("::notice ")]
        assert f"file={plain}" in notice.replace("%3A", ":") and "::plain: no limits to check" in notice
        assert not any(line.startswith("::error") for line in r.stdout.splitlines())
    else:
        assert "NO LIMITS" in r.stdout and f"{plain}: no limits to check" in r.stdout


def test_invalid_network_without_limits_is_still_an_error(tmp_path: Path) -> None:
    """Skipping the limits does not skip validation: a wrong shape is found without any limit."""
    r = run("check", write(tmp_path, "bad.yaml", KINDS["invalid"]), "-f", "json")
    assert r.exit_code == 2
    assert json.loads(r.stdout)["networks"][0]["status"] == "error"


# ---------------------------------------------------------------------------------------------
# a minimum not reached is "failed", not "exceeded"


def test_unmet_minimum_is_not_called_exceeded(tmp_path: Path) -> None:
    net = write(tmp_path, "n.yaml", SMALL)
    r = run("check", net, "--min-rf", "4")  # the receptive field is 3
    assert r.exit_code == 1
    assert r.stdout.splitlines()[-1] == "1 network, 1 limit: 0 passed, 1 failed, 0 not checked"
    assert "exceed" not in r.stdout
    junit = run("check", net, "--min-rf", "4", "-f", "junit")
    failure = ET.fromstring(junit.stdout.split("\n", 1)[1]).find("testsuite/testcase/failure")
    assert failure is not None and failure.get("type") == "BelowMinimum"
    github = run("check", net, "--min-rf", "4", "-f", "github").stdout
    assert "title=cnncalc check%3A min_rf not reached" in github and "exceed" not in github


# ---------------------------------------------------------------------------------------------
# hostile file names in error entries: shown literally, never acted on

HOSTILE = ["esc\x1b[31mred", "bell\x07", "rtl\u202etxt", "percent%25,comma:colon", "[bold]markup[red]"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("stem", HOSTILE, ids=ascii)
def test_hostile_names_of_invalid_files(tmp_path: Path, fmt: str, stem: str) -> None:
    path = write(tmp_path, stem + ".yaml", BROKEN["schema.yaml"])
    r = run("check", path, "-f", fmt)
    assert r.exit_code == 2
    shown = path.encode("unicode_escape").decode("ascii").replace("\\\\", "\\")  # as printable() writes it
    for out in (r.stdout, r.stderr):
        assert not re.search("[\x00-\x09\x0b-\x1f\x7f\u202e]", out)  # no control character but newline
    if fmt == "json":
        assert json.loads(r.stdout)["networks"][0]["file"] == path  # JSON escapes by itself: exact
    elif fmt == "github":
        assert COMMAND.match(r.stdout.splitlines()[0])
    elif fmt == "junit":
        root = ET.fromstring(r.stdout.split("\n", 1)[1])
        assert root.find("testsuite/testcase/error").get("message").startswith(shown + ":")  # type: ignore[union-attr]
    else:
        assert any(line.startswith(shown + ":3:") for line in r.stdout.splitlines())
    assert r.stderr.startswith(f"error: {shown}:3:")


# ---------------------------------------------------------------------------------------------
# the pre-commit hook

HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
(HOOK,) = [h for h in HOOKS if h["id"] == "cnncalc-check"]

NETWORK_PATHS = ["net.cnn.yaml", "models/mobile/net.cnn.yaml", "a.cnn.yml", "deep/er/x.cnn.json",
                 "models/v2.1.cnn.yaml"]
OTHER_PATHS = [".pre-commit-config.yaml", ".pre-commit-hooks.yaml", "ci/budgets.yaml", "docker-compose.yml",
               ".github/workflows/ci.yml", "package.json", "tsconfig.json", "models/net.yaml",
               "cnn.yaml", "mycnn.yaml", "net.cnn.yaml.bak", "net.cnn.yaml/readme.md", "net.cnn.txt",
               "net.cnnyaml", "schema.cnn.yaml.json.txt"]


@pytest.mark.parametrize("path", NETWORK_PATHS)
def test_hook_matches_networks(path: str) -> None:
    # pre-commit selects a file when re.search(files, path) matches its path from the repository root
    assert re.search(HOOK["files"], path)


@pytest.mark.parametrize("path", OTHER_PATHS)
def test_hook_leaves_other_yaml_and_json_alone(path: str) -> None:
    assert not re.search(HOOK["files"], path)


def test_hook_runs_check() -> None:
    assert HOOK["entry"] == "cnncalc check" and HOOK["language"] == "python"
    assert HOOK.get("pass_filenames", True) and "args" not in HOOK


def test_hook_on_a_repository_passes(tmp_path: Path) -> None:
    """What pre-commit does with the hook's defaults: every matched file to one ``check`` run."""
    tree = {
        ".pre-commit-config.yaml": "repos:\n  - repo: local\n    hooks: []\n",
        ".github/workflows/ci.yml": "on: [push]\njobs: {}\n",
        "ci/budgets.yaml": "../models/*.cnn.yaml: {max_params: 5M}\n",
        "package.json": '{"name": "x"}\n',
        "models/limited.cnn.yaml": KINDS["pass"],
        "models/plain.cnn.yaml": SMALL,  # no limits: noted
        "models/plain.cnn.json": json.dumps(yaml.safe_load(SMALL)),
    }
    for name, text in tree.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        write(tmp_path, name, text)
    chosen = [str(tmp_path / n) for n in sorted(tree) if re.search(HOOK["files"], n)]
    assert len(chosen) == 3
    r = run("check", *chosen)
    assert r.exit_code == 0, r.output
    assert r.stderr.count("note: ") == 2
    # the files the old default (every .yaml, .yml and .json) also fed it are not networks
    others = [str(tmp_path / n) for n in sorted(tree) if str(tmp_path / n) not in chosen]
    assert run("check", *others).exit_code == 2


def readme_pre_commit_configs() -> list[dict[str, object]]:
    """The ``.pre-commit-config.yaml`` examples of the pre-commit recipe on the budgets page."""
    from docs_pages import page

    text = page("budgets.md")
    recipe = text[text.index("**pre-commit**"):]
    blocks = re.findall(r"```yaml\n(.*?)```", recipe, flags=re.S)
    return [yaml.safe_load(b) for b in blocks]


def test_readme_pre_commit_examples_agree_with_the_hook() -> None:
    configs = readme_pre_commit_configs()
    repos = [r for c in configs for r in c["repos"]]  # type: ignore[attr-defined]
    assert {r["repo"] for r in repos} >= {"local"} and len(repos) == 2
    for repo in repos:
        (hook,) = repo["hooks"]
        assert hook["id"] == HOOK["id"]
        if repo["repo"] == "local":  # a copy of the published hook, run with the installed cnncalc
            assert (hook["entry"], hook["files"]) == (HOOK["entry"], HOOK["files"])
        else:
            # no release tag exists: the pin is a commit, never a made-up version like v0.1.0
            assert not re.match(r"v?\d+\.\d+", str(repo["rev"]))
            assert re.search(hook.get("files", HOOK["files"]), "models/mobile/net.yaml")
