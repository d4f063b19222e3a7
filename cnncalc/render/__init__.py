"""The renderers: one module per output, over the result objects of the core.

- :mod:`~cnncalc.render.report`: the report as a terminal table, CSV and Markdown, and its memory view;
- :mod:`~cnncalc.render.json`: JSON text (``json.dumps(..., indent=2)``, faster) and the report's JSON;
- :mod:`~cnncalc.render.check`: ``cnncalc check`` as a table, JSON, GitHub workflow commands, JUnit XML;
- :mod:`~cnncalc.render.diff`, :mod:`~cnncalc.render.sweep`: those commands' table, JSON, CSV, Markdown;
- :mod:`~cnncalc.render.html`: the self-contained HTML report and its notebook fragment;
- :mod:`~cnncalc.render.explain`: ``cnncalc explain`` as text and Markdown with LaTeX;
- :mod:`~cnncalc.render.table`, :mod:`~cnncalc.render.grid`: the layout of long terminal tables;
- :mod:`~cnncalc.render.markdown`: Markdown cells, tables and bullets;
- :mod:`~cnncalc.render.console`: the terminal, the only module of cnncalc that imports rich;
- :mod:`~cnncalc.render.display`: how a :class:`~cnncalc.report.Report` shows itself (``str``, rich, Jupyter).

The core never imports this package; the value-to-text helpers both use are in
:mod:`cnncalc.formatting`. Importing this package imports none of its modules.
"""
