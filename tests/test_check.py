"""``cnncalc check``: limits from flags, the network file and a budgets file; exit codes 0/1/2.

The figures of LeNet-5 (Caffe's MNIST example) used throughout, from its layers:
conv1 20@5x5 on 1x28x28 → 20x24x24, pool 2 → 20x12x12, conv2 50@5x5 → 50x8x8, pool 2 → 50x4x4,
ip1 800→500, relu, ip2 500→10.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import cnncalc
from cnncalc import budgets, spec
from cnncalc.cli import cli
from cnncalc.graph import build
from cnncalc.limits import LIMITS
from cnncalc.memory import MemoryModel

PARAMS = (20 * 25 + 20) + (50 * 20 * 25 + 50) + (800 * 500 + 500) + (500 * 10 + 10)
MACS = 20 * 24 * 24 * 25 + 50 * 8 * 8 * 20 * 25 + 800 * 500 + 500 * 10
# conv and linear: 2 per MAC plus one bias add per output; max pool: k·k − 1 comparisons per output; relu: 1
FLOPS = 2 * MACS + 20 * 24 * 24 + 50 * 8 * 8 + 500 + 10 + (20 * 12 * 12 + 50 * 4 * 4) * 3 + 500
ACTIVATIONS = 20 * 24 * 24 + 20 * 12 * 12 + 50 * 8 * 8 + 50 * 4 * 4 + 800 + 500 + 500 + 10
# receptive field of pool2: 5 (conv1) +1 (pool1, jump 1→2) +4·2 (conv2) +1·2 (pool2)
RF = 5 + 1 + 4 * 2 + 1 * 2

#: (flag, the actual figure of LeNet-5 at batch 1 in fp32)
FIGURES = [
    pytest.param("max_params", PARAMS, id="params"),
    pytest.param("max_macs", MACS, id="macs"),
    pytest.param("max_flops", FLOPS, id="flops"),
    pytest.param("max_param_memory", PARAMS * 4, id="param memory"),
    pytest.param("max_activation_memory", ACTIVATIONS * 4, id="activation memory"),
    pytest.param("min_rf", RF, id="receptive field"),
]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def flag(limit: str) -> str:
    return "--" + limit.replace("_", "-")


@pytest.mark.parametrize("limit, actual", FIGURES)
def test_limit_at_the_figure_holds(limit: str, actual: int) -> None:
    r = run("check", "lenet5", flag(limit), str(actual), "-f", "json")
    assert r.exit_code == 0, r.output
    assert r.stderr == ""
    (row,) = json.loads(r.stdout)["networks"][0]["limits"]
    assert (row["limit"], row["actual"], row["value"], row["status"]) == (limit, actual, actual, "pass")
    assert row["headroom_percent"] == 0


@pytest.mark.parametrize("limit, actual", FIGURES)
def test_limit_past_the_figure_fails(limit: str, actual: int) -> None:
    bound = actual - 1 if LIMITS[limit].bound == "max" else actual + 1
    r = run("check", "lenet5", flag(limit), str(bound), "-f", "json")
    assert r.exit_code == 1, r.output
    (row,) = json.loads(r.stdout)["networks"][0]["limits"]
    assert (row["actual"], row["status"]) == (actual, "fail")
    assert row["headroom_percent"] == pytest.approx(-100 / bound)


@pytest.mark.parametrize("limit", list(LIMITS))
def test_bad_unit_is_a_usage_error(limit: str) -> None:
    r = run("check", "lenet5", flag(limit), "12Q")
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.startswith(f"error: {flag(limit)}: '12Q': ")
    assert "Traceback" not in r.output


def test_train_memory_is_never_silently_passed() -> None:
    # int8 is an inference format: training in it is not modelled
    r = run("check", "lenet5", "--max-train-memory", "1000GiB", "--batch", "32", "--optimizer", "adam",
            "--dtype", "int8", "--max-params", "5M", "-f", "json")
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert doc["status"] == "error"
    statuses = {row["limit"]: row["status"] for row in doc["networks"][0]["limits"]}
    assert statuses == {"max_params": "pass", "max_train_memory": "error"}
    assert doc["networks"][0]["batch"] == 32
    assert "training in int8 is not modelled" in r.stderr


def test_train_memory_is_the_memory_models_peak() -> None:
    """Every limit kind has a measure; training memory is the peak of the memory model."""
    assert set(budgets.MEASURES) == set(LIMITS) == set(spec.Budgets.model_fields) - {"batch", "dtype", "optimizer"}
    net = spec.load("lenet5")
    settings = budgets.Settings(batch=8, optimizer="momentum")
    subject = budgets.Subject(net, cnncalc.analyse(net, batch=8, optimizer="momentum"), settings)
    expected = MemoryModel(build(net), optimizer="momentum").training_bytes(8)
    assert budgets.MEASURES["max_train_memory"](subject) == expected
    r = run("check", "lenet5", "--max-train-memory", "1GiB", "--batch", "8", "--optimizer", "momentum", "-f", "json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["networks"][0]["limits"][0]["actual"] == expected


def test_exact_units_on_the_boundary() -> None:
    """431.08K is exactly 431,080 (holds); 431.079K is one param short (fails)."""
    assert run("check", "lenet5", "--max-params", "431.08K").exit_code == 0
    assert run("check", "lenet5", "--max-params", "431.079K").exit_code == 1


def test_batch_and_dtype_scale_memory_limits() -> None:
    r = run("check", "lenet5", "--max-activation-memory", str(ACTIVATIONS * 2 * 8), "--batch", "8",
            "--dtype", "fp16", "--max-param-memory", str(PARAMS * 2), "-f", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["networks"][0]["limits"]
    assert [row["actual"] for row in rows] == [PARAMS * 2, ACTIVATIONS * 2 * 8]


def test_rf_of_a_network_without_spatial_map_cannot_be_checked(tmp_path: Path) -> None:
    net = tmp_path / "mlp.yaml"
    net.write_text("input: [16]\nlayers:\n  - linear: {out_features: 4}\n")
    r = run("check", str(net), "--min-rf", "3")
    assert r.exit_code == 2
    assert "no spatial feature map" in r.stderr


def test_no_limits_is_a_note() -> None:
    r = run("check", "lenet5")
    assert r.exit_code == 0  # noted, not failed (tests/test_check_files.py has the rest)
    assert r.stderr.startswith("note: ") and "no limits to check" in r.stderr


def test_no_networks_is_a_usage_error() -> None:
    r = run("check", "--max-params", "5M")
    assert r.exit_code == 2
    assert "give the networks to check" in r.stderr


def test_invalid_network_is_exit_2(tmp_path: Path) -> None:
    net = tmp_path / "bad.yaml"
    net.write_text("input: [1, 28, 28]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 50}\n")
    r = run("check", str(net), "--max-params", "5M")
    assert r.exit_code == 2
    assert r.stderr.startswith(f"error: {net}:3:")


# ---------------------------------------------------------------------------------------------
# limits inside the network file

LENET_WITH_BUDGETS = spec.bundled()["lenet5"].read_text() + """budgets:
  max_params: 400K
  max_macs: 5M
  batch: 4
"""


def test_budgets_section_in_the_network_file(tmp_path: Path) -> None:
    net = tmp_path / "lenet.yaml"
    net.write_text(LENET_WITH_BUDGETS)
    r = run("check", str(net), "-f", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    rows = doc["networks"][0]["limits"]
    assert [(row["limit"], row["status"]) for row in rows] == [("max_params", "fail"), ("max_macs", "pass")]
    lines = LENET_WITH_BUDGETS.splitlines()
    assert rows[0]["source"] == {"origin": "network", "file": str(net), "line": lines.index("  max_params: 400K") + 1}
    assert doc["networks"][0]["batch"] == 4


def test_a_flag_overrides_the_file(tmp_path: Path) -> None:
    net = tmp_path / "lenet.yaml"
    net.write_text(LENET_WITH_BUDGETS)
    r = run("check", str(net), "--max-params", "500K", "-f", "json")
    assert r.exit_code == 0
    rows = json.loads(r.stdout)["networks"][0]["limits"]
    assert rows[0]["source"]["origin"] == "flag" and rows[0]["value"] == 500_000


def test_bad_unit_in_the_file_is_located(tmp_path: Path) -> None:
    net = tmp_path / "lenet.yaml"
    net.write_text(LENET_WITH_BUDGETS.replace("max_macs: 5M", "max_macs: 5MiB"))
    r = run("check", str(net))
    assert r.exit_code == 2
    line = LENET_WITH_BUDGETS.splitlines().index("  max_macs: 5M") + 1
    assert r.stderr == (f"error: {net}:{line}:13: max_macs: '5MiB': 'MiB' is a unit of memory; "
                        "counts take K, M, G or T (powers of 10)\n")


def test_unknown_budget_key_is_located(tmp_path: Path) -> None:
    net = tmp_path / "lenet.yaml"
    net.write_text(LENET_WITH_BUDGETS.replace("max_macs", "max_mac"))
    r = run("report", str(net))
    assert r.exit_code == 2
    assert "unknown argument 'max_mac'" in r.stderr


def test_report_ignores_budgets(tmp_path: Path) -> None:
    net = tmp_path / "lenet.yaml"
    net.write_text(LENET_WITH_BUDGETS)
    r = run("report", str(net), "-f", "json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["totals"]["params"] == PARAMS


# ---------------------------------------------------------------------------------------------
# budgets files


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository of models: two small ones under models/mobile, VGG-16 under models/big."""
    nets = spec.bundled()
    for sub, name in (("mobile", "lenet5"), ("mobile", "tiny_cnn"), ("big", "vgg16")):
        (tmp_path / "models" / sub).mkdir(parents=True, exist_ok=True)
        (tmp_path / "models" / sub / f"{name}.yaml").write_text(nets[name].read_text())
    (tmp_path / ".git").mkdir()  # the project whose files ../ may reach
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "budgets.yaml").write_text(
        "# relative to this file\n"
        "../models/**/*.yaml:\n  max_params: 200M\n"
        "../models/mobile/*.yaml:\n  max_params: 500K\n  max_macs: 3M\n"
        "../models/mobile/tiny_cnn.yaml:\n  min_rf: 10\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_budgets_file_checks_every_network_it_names(repo: Path) -> None:
    r = run("check", "--budgets", "ci/budgets.yaml", "-f", "json")
    assert r.exit_code == 0, r.output
    got = {n["file"]: {row["limit"]: (row["value"], row["source"]["line"]) for row in n["limits"]}
           for n in json.loads(r.stdout)["networks"]}
    assert got == {
        # ** matches any depth, later entries override earlier ones
        "models/big/vgg16.yaml": {"max_params": (200_000_000, 3)},
        "models/mobile/lenet5.yaml": {"max_params": (500_000, 5), "max_macs": (3_000_000, 6)},
        "models/mobile/tiny_cnn.yaml": {"max_params": (500_000, 5), "max_macs": (3_000_000, 6), "min_rf": (10, 8)},
    }


def test_budgets_file_with_named_networks(repo: Path) -> None:
    r = run("check", "models/mobile/lenet5.yaml", "--budgets", "ci/budgets.yaml", "--max-macs", "2M", "-f", "json")
    assert r.exit_code == 1
    rows = json.loads(r.stdout)["networks"][0]["limits"]
    assert [(row["limit"], row["source"]["origin"], row["status"]) for row in rows] == [
        ("max_params", "budgets", "pass"), ("max_macs", "flag", "fail")]


def test_star_does_not_cross_folders(repo: Path) -> None:
    (repo / "b.yaml").write_text("models/*.yaml:\n  max_params: 1\n")
    r = run("check", "--budgets", "b.yaml")
    assert r.exit_code == 2
    assert "no pattern matches a network file" in r.stderr


def test_unmatched_pattern_warns(repo: Path) -> None:
    (repo / "b.yaml").write_text("models/big/*.yaml:\n  max_params: 200M\nmodel/*.yaml:\n  max_params: 1\n")
    r = run("check", "--budgets", "b.yaml")
    assert r.exit_code == 0
    assert r.stderr == "warning: b.yaml:3: 'model/*.yaml' matches no file\n"


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param("models/**/*.yaml:\n  max_params: 5 M B\n", "b.yaml:2:15: max_params: '5 M B' is not a count",
                     id="bad unit"),
        pytest.param("models/**/*.yaml:\n  max_parms: 5M\n", "b.yaml:2:3: unknown argument 'max_parms'",
                     id="unknown key"),
        pytest.param("- models/*.yaml\n", "b.yaml:1:1: a budgets file maps network paths or globs to limits",
                     id="a list"),
        pytest.param("/abs/*.yaml:\n  max_params: 5M\n", "b.yaml:1:1: '/abs/*.yaml' must be a path or glob relative",
                     id="absolute glob"),
    ],
)
def test_bad_budgets_file(repo: Path, text: str, message: str) -> None:
    (repo / "b.yaml").write_text(text)
    r = run("check", "--budgets", "b.yaml")
    assert r.exit_code == 2
    assert r.stderr.startswith(f"error: {message}"), r.stderr


def test_missing_budgets_file(repo: Path) -> None:
    r = run("check", "--budgets", "nope.yaml")
    assert r.exit_code == 2
    assert r.stderr == "error: nope.yaml: no such file\n"


# ---------------------------------------------------------------------------------------------
# GitHub workflow commands
# https://docs.github.com/actions/reference/workflows-and-actions/workflow-commands:
#   ::error file={name},line={line},endLine={endLine},title={title}::{message}
# data escapes % CR LF as %25 %0D %0A; property values also escape : and , as %3A %2C.

COMMAND = re.compile(r"^::(error|warning|notice)(?: ((?:[a-zA-Z]+=[^,:]*)(?:,[a-zA-Z]+=[^,:]*)*))?::(.*)$")


def _unescape(text: str) -> str:
    for esc, ch in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(esc, ch)
    return text


def parse_commands(out: str) -> list[tuple[str, dict[str, str], str]]:
    cmds = []
    for line in out.splitlines():
        m = COMMAND.match(line)
        if m:
            props = dict(p.split("=", 1) for p in m[2].split(",")) if m[2] else {}
            cmds.append((m[1], {k: _unescape(v) for k, v in props.items()}, _unescape(m[3])))
    return cmds


def test_github_annotations_point_at_the_budget_line(repo: Path) -> None:
    net = repo / "models" / "mobile" / "lenet5.yaml"
    net.write_text(LENET_WITH_BUDGETS)
    name_line = LENET_WITH_BUDGETS.splitlines().index("name: LeNet-5 (Caffe)") + 1
    budget_line = LENET_WITH_BUDGETS.splitlines().index("  max_params: 400K") + 1
    r = run("check", "models/mobile/lenet5.yaml", "--min-rf", "20", "--max-flops", "5M", "-f", "github")
    assert r.exit_code == 1
    cmds = parse_commands(r.stdout)
    assert [(c[0], c[1]["file"], c[1]["line"]) for c in cmds] == [
        ("error", "models/mobile/lenet5.yaml", str(budget_line)),  # set in the file: its line
        ("error", "models/mobile/lenet5.yaml", str(name_line)),  # set by a flag: the network's line
    ]
    assert cmds[0][1]["title"] == "cnncalc check: max_params exceeded"
    assert cmds[0][2] == f"LeNet-5 (Caffe): params {PARAMS:,} exceeds max_params 400K (400,000) by 7.8%"
    assert cmds[1][2] == f"LeNet-5 (Caffe): receptive field {RF} is below min_rf 20 by 20.0%"
    # every other line is plain log text, not a malformed command
    assert all(COMMAND.match(line) or not line.startswith("::") for line in r.stdout.splitlines())
    assert r.stdout.splitlines()[-1] == "1 network, 4 limits: 2 passed, 2 failed, 0 not checked"


def test_github_annotates_invalid_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text("input: [1, 28, 28]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 50}\n")
    r = run("check", "bad.yaml", "--max-params", "1M", "-f", "github")
    assert r.exit_code == 2
    ((level, props, message),) = parse_commands(r.stdout)
    assert (level, props["file"], props["line"]) == ("error", "bad.yaml", "3")
    assert "kernel_size" in message
    assert r.stderr.startswith("error: bad.yaml:3:")


def test_github_is_quiet_when_all_pass() -> None:
    r = run("check", "lenet5", "--max-params", "5M", "-f", "github")
    assert r.exit_code == 0
    assert parse_commands(r.stdout) == []


def test_github_escapes() -> None:
    from cnncalc.render import github_command

    line = github_command("error", "50%\nmore", file="a,b:c.yaml", line=3, title="t: x")
    assert line == "::error file=a%2Cb%3Ac.yaml,line=3,title=t%3A x::50%25%0Amore"
    assert parse_commands(line) == [("error", {"file": "a,b:c.yaml", "line": "3", "title": "t: x"}, "50%\nmore")]


# ---------------------------------------------------------------------------------------------
# JUnit XML, as CI systems read it (the Jenkins/Ant JUnit schema):
# <testsuites tests failures errors> <testsuite name tests failures errors skipped time>
# <testcase name classname time> with an optional <failure message type> or <error message type>


def test_junit_structure(repo: Path) -> None:
    out = repo / "report.xml"
    r = run("check", "--budgets", "ci/budgets.yaml", "--max-macs", "1M", "--max-train-memory", "4GiB",
            "--dtype", "int8", "-f", "junit", "-o", str(out))
    assert r.exit_code == 2  # the training-memory limit cannot be checked in int8
    assert r.stdout == ""
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["VGG-16", "LeNet-5 (Caffe)", "tiny CNN"]
    total = {"tests": 0, "failures": 0, "errors": 0}
    for suite in suites:
        cases = suite.findall("testcase")
        assert set(suite.keys()) >= {"name", "tests", "failures", "errors", "skipped", "time"}
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(len(c.findall("failure")) for c in cases)
        assert int(suite.get("errors")) == sum(len(c.findall("error")) for c in cases)
        for c in cases:
            assert c.get("name") and c.get("classname") and float(c.get("time")) == 0
            assert len(list(c)) <= 1
            for child in c:
                assert child.tag in ("failure", "error") and child.get("message") and child.get("type")
        for key in total:
            total[key] += int(suite.get(key))
    assert {k: int(root.get(k)) for k in total} == total == {"tests": 3 + 3 + 4, "failures": 2, "errors": 3}
    vgg = {c.get("name"): c for c in suites[0].findall("testcase")}
    assert vgg["max_macs 1M (1,000,000)"].find("failure").get("type") == "BudgetExceeded"
    assert vgg["max_train_memory 4GiB (4,294,967,296 B)"].find("error").get("type") == "NotChecked"
    assert vgg["max_params 200M (200,000,000)"].find("failure") is None


def test_table_output() -> None:
    r = run("check", "lenet5", "--max-params", "400K", "--min-rf", "10")
    assert r.exit_code == 1
    assert "\x1b[" not in r.stdout
    rows = [line for line in r.stdout.splitlines() if "LeNet-5" in line]
    assert re.search(rf"max_params .*{PARAMS:,} .*400K \(400,000\) .*-7\.8% .*FAIL", rows[0])
    assert re.search(r"min_rf .* 16 .* 10 .*\+60\.0% .*PASS", rows[1])
    assert r.stdout.splitlines()[-1] == "1 network, 2 limits: 1 passed, 1 failed, 0 not checked"
