"""The result of ``cnncalc check``: a terminal table, JSON, GitHub workflow commands and JUnit XML."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import Problem
from ..formatting import format_bytes, format_int
from ..text import printable, xml_text

if TYPE_CHECKING:  # pragma: no cover
    from ..budgets import CheckResult, Limit, NetworkCheck, Outcome


def format_figure(value: int | None, kind: str) -> str:
    """A measured figure by its unit: counts with separators, bytes in IEC units, pixels plain."""
    if value is None:
        return "whole" if kind == "pixels" else "-"
    if kind == "bytes":
        return f"{format_bytes(value)} ({format_int(value)} B)" if value >= 1024 else f"{value} B"
    return format_int(value)


def format_limit(limit: Limit) -> str:
    """The limit as written, with its exact value when the text abbreviates it: ``5M (5,000,000)``."""
    q, kind = limit.value, limit.metric.kind
    exact = format_int(q.value) + (" B" if kind == "bytes" else "")
    return q.text if q.text in (str(q.value), exact) else f"{q.text} ({exact})"


def format_headroom(outcome: Outcome) -> str:
    """``+13.8%`` of the limit left, ``-7.8%`` when exceeded, ``-`` when undefined."""
    h = outcome.headroom
    return "-" if h is None else f"{float(h):+.1f}%"


def format_outcome(net: NetworkCheck, outcome: Outcome) -> str:
    """One sentence: ``LeNet-5: params 431,080 exceed max_params 400K (400,000) by 7.8%``."""
    m = outcome.limit.metric
    limit = f"{m.limit} {format_limit(outcome.limit)}"
    if outcome.status == "error":
        return f"{net.name}: {limit}: {outcome.message}"
    actual = f"{m.figure.replace('_', ' ')} {format_figure(outcome.actual, m.kind)}"
    h = outcome.headroom
    if outcome.status == "fail":
        verb = "exceeds" if m.bound == "max" else "is below"
        by = "" if h is None else f" by {float(-h):.1f}%"
        return f"{net.name}: {actual} {verb} {limit}{by}"
    spare = "" if h is None else f" ({float(h):.1f}% headroom)"
    return f"{net.name}: {actual} within {limit}{spare}"


def format_check_summary(result: CheckResult) -> str:
    """``2 networks, 5 limits: 4 passed, 1 failed, 0 not checked``, then any invalid or unlimited files.

    ``failed`` fits both kinds of limit: a maximum exceeded and a minimum not reached.
    """
    n, k = len(result.networks), len(result.outcomes)
    text = (f"{n} network{'s' * (n != 1)}, {k} limit{'s' * (k != 1)}: {result.count('pass')} passed, "
            f"{result.count('fail')} failed, {result.count('error')} not checked")
    extra = [f"{len(result.invalid)} invalid"] if result.invalid else []
    if result.skipped:
        extra.append(f"{len(result.skipped)} without limits")
    return text + (f"; {', '.join(extra)}" if extra else "")


def format_entry_lines(result: CheckResult) -> list[str]:
    """One located line per problem of an invalid file and per note: ``net.yaml:3:5: layer 'x' (conv2d): ...``."""
    lines: list[str] = []
    for net in result.networks:
        lines.extend(printable(p.format()) for p in net.problems)
        if net.note:
            lines.append(printable(Problem(net.note, file=net.file).format()))
    return lines


#: The columns of the table: heading and justification.
_CHECK_COLUMNS = (("network", "left"), ("limit", "left"), ("actual", "right"), ("max / min", "right"),
                  ("headroom", "right"), ("status", "left"))
#: How each status is shown: its label and the label's style.
_STATUS = {"pass": ("PASS", "green"), "fail": ("FAIL", "bold red"), "error": ("ERROR", "bold yellow"),
           "skip": ("NO LIMITS", "dim")}


def render_check_table(result: CheckResult, *, width: int | None = None, color: bool | None = None) -> str:
    """One row per network and limit: limit, actual, headroom, pass/fail; one row per invalid file or
    network without limits, their messages below; then a summary line."""
    from .console import UNWRAPPED, console_text, styled, table

    rows = []
    for net in result.networks:
        if not net.outcomes:  # an invalid file, or a network without limits: one row, its message below
            label, style = _STATUS[net.status]
            rows.append((styled(printable(net.name)), "-", "-", "-", "-", styled(label, style)))
        for o in net.outcomes:
            label, style = _STATUS[o.status]
            m = o.limit.metric
            # user text styled, never read as markup: "[bold]x" is a network name, not a style
            actual = format_figure(o.actual, m.kind) if o.status != "error" else "-"
            rows.append((styled(printable(net.name)), m.limit, actual, styled(format_limit(o.limit)),
                         format_headroom(o), styled(label, style)))
    # nothing is cut with '…' (a path or a figure would lose what tells it apart): a cell wraps at
    # its spaces, and a word wider than its column folds, every character kept
    drawn = table([(col, {"justify": justify, "overflow": "fold"}) for col, justify in _CHECK_COLUMNS], rows)
    # the located messages whole, never wrapped: editors find a file:line:col at the start of a line
    notes = "".join(line + "\n" for line in format_entry_lines(result))
    # without a width (a file, or a pipe without COLUMNS) nothing wraps: the table takes its natural width
    room = width or UNWRAPPED
    return (console_text([drawn], width=room, color=color) + notes
            + console_text([format_check_summary(result)], width=room, color=color))


def render_check_json(result: CheckResult) -> str:
    """The documented JSON object of ``cnncalc check``."""
    return json.dumps(result.to_dict(), indent=2) + "\n"


def _gh_escape(text: str, prop: bool = False) -> str:
    # the escapes of GitHub's workflow commands: % CR LF in data; also : and , in properties
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def _gh_printable(text: str) -> str:
    return "\n".join(map(printable, text.split("\n")))


def github_command(level: str, message: str, *, file: str | None = None, line: int | None = None,
                   col: int | None = None, title: str | None = None) -> str:
    """One workflow command: ``::error file=net.yaml,line=12,title=...::message``.

    The annotation shows the text to a person, so control characters are made visible
    (:func:`cnncalc.text.printable`) first, all but the line breaks of a message of several lines.
    """
    props = [f"{k}={_gh_escape(printable(str(v)), prop=True)}"
             for k, v in (("file", file), ("line", line), ("col", col), ("title", title)) if v is not None]
    text = _gh_escape(_gh_printable(message))
    return f"::{level} {','.join(props)}::{text}" if props else f"::{level}::{text}"


def annotation_site(net: NetworkCheck, o: Outcome) -> tuple[str | None, int]:
    """The network file, at the limit's line when the file set it, else at the network's line."""
    src = o.limit.source
    line = src.line if src.origin == "network" and src.line else net.line
    return net.file, line


def render_problems_github(problems: Sequence[Problem], *, path: Callable[[str], str] = str) -> str:
    """An ``::error`` per problem of invalid input, on its file at its line and column."""
    lines = []
    for p in problems:
        what = replace(p, file=None, line=None, column=None).format() if p.file else p.format()
        lines.append(github_command("error", printable(what), file=printable(path(p.file)) if p.file else None,
                                    line=p.line, col=p.column, title="cnncalc check: invalid input"))
    return "".join(line + "\n" for line in lines)


def render_check_github(result: CheckResult, *, path: Callable[[str], str] = str) -> str:
    """GitHub Actions workflow commands: an ``::error`` on the network file per limit not met and per
    problem of an invalid file, a ``::notice`` per network without limits."""
    lines = []
    for net in result.networks:
        if net.problems:
            lines.append(render_problems_github(net.problems, path=path).rstrip("\n"))
        if net.note:
            lines.append(github_command("notice", printable(f"{net.name}: {net.note}"),
                                        file=None if net.file is None else printable(path(net.file)), line=net.line,
                                        title="cnncalc check: no limits"))
        for o in net.outcomes:
            if o.status == "pass":
                continue
            file, line = annotation_site(net, o)
            verdict = ("not checked" if o.status == "error" else "exceeded" if o.limit.metric.bound == "max"
                       else "not reached")
            title = f"cnncalc check: {o.limit.metric.limit} {verdict}"
            # one line: a line break in the network's name is shown, not kept
            lines.append(github_command("error", printable(format_outcome(net, o)),
                                        file=None if file is None else path(file), line=line, title=title))
    lines.append(format_check_summary(result))
    return "\n".join(lines) + "\n"


def render_check_junit(result: CheckResult, *, path: Callable[[str], str] = str) -> str:
    """JUnit XML: a testsuite per network, a testcase per limit, ``failure`` when not met, ``error`` when
    unchecked; an invalid file is a suite with one ``error`` testcase, a network without limits a
    suite with one ``skipped`` testcase."""
    import xml.etree.ElementTree as ET

    def counts(outcomes: list[Outcome], errors: int = 0, skipped: int = 0) -> dict[str, str]:
        return {"tests": str(len(outcomes) + errors + skipped),
                "failures": str(sum(o.status == "fail" for o in outcomes)),
                "errors": str(sum(o.status == "error" for o in outcomes) + errors), "skipped": str(skipped),
                "time": "0"}

    # user text through xml_text: ElementTree writes a control character as it is, which no XML
    # 1.0 parser accepts, and a CI's test view shows these strings to a person
    root = ET.Element("testsuites", {"name": "cnncalc check", **counts([o for _, o in result.outcomes],
                                                                        len(result.invalid), len(result.skipped))})
    for net in result.networks:
        file = None if net.file is None else xml_text(path(net.file))
        suite_name = xml_text(net.name)
        invalid, skipped = bool(net.problems), net.status == "skip"
        suite = ET.SubElement(root, "testsuite",
                              {"name": suite_name, **counts(list(net.outcomes), int(invalid), int(skipped))})
        if file is not None:
            suite.set("file", file)
        if invalid or skipped:
            case = ET.SubElement(suite, "testcase", name="invalid file" if invalid else "no limits",
                                 classname=file or suite_name, time="0")
            if file is not None:
                case.set("file", file)
                case.set("line", str(net.line))
            if invalid:
                lines = [xml_text(p.format()) for p in net.problems]
                ET.SubElement(case, "error", message=lines[0], type="InvalidInput").text = "\n".join(lines)
            else:
                ET.SubElement(case, "skipped", message=net.note or "")
        for o in net.outcomes:
            m = o.limit.metric
            case = ET.SubElement(suite, "testcase", name=f"{m.limit} {format_limit(o.limit)}",
                                 classname=file or suite_name, time="0")
            _, line = annotation_site(net, o)
            if file is not None:
                case.set("file", file)
                case.set("line", str(line))
            if o.status != "pass":
                tag, kind = (("failure", "BudgetExceeded" if m.bound == "max" else "BelowMinimum")
                             if o.status == "fail" else ("error", "NotChecked"))
                node = ET.SubElement(case, tag, message=xml_text(format_outcome(net, o)), type=kind)
                settings = net.settings
                node.text = (f"actual: {format_figure(o.actual, m.kind)}\nlimit: {m.bound} {format_limit(o.limit)}\n"
                             f"headroom: {format_headroom(o)}"
                             + ("" if settings is None else f"\nbatch {settings.batch}, {settings.dtype}"))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
