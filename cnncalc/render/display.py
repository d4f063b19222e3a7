"""How a :class:`~cnncalc.report.Report` shows itself: ``str()``, rich consoles and Jupyter.

The core asks the hook that :func:`install` sets (:func:`cnncalc.report.set_display`) and never
imports the renderers; :func:`cnncalc.analyse` installs it. Each view loads what it draws with
when it is asked for: rich for the table, the page's assets for HTML.
"""

from __future__ import annotations

from typing import Any

from ..report import Display, Report, set_display

#: Width of ``str(report)``: the table as ``cnncalc report`` prints it at 120 columns.
TEXT_WIDTH = 120


def text(report: Report) -> str:
    """The table ``cnncalc report`` prints, :data:`TEXT_WIDTH` columns wide, without colour."""
    from .report import render_table

    return render_table(report, width=TEXT_WIDTH, color=False)


def rich(report: Report) -> Any:
    """A renderable that draws the table at a rich console's width and colours."""
    from .console import Drawn
    from .report import render_table

    return Drawn(lambda width, color: render_table(report, width=width, color=color))


def html(report: Report) -> str:
    """The HTML report as a fragment for a notebook cell (scoped styles and ids: several fit on a page)."""
    from .html import render_html_fragment

    return render_html_fragment(report)


def install() -> None:
    """Make every report show itself through these views."""
    set_display(Display(text=text, rich=rich, html=html))
