"""The ``cnncalc`` command line: thin click commands over the core.

Exit codes: 0 success; 2 invalid input or usage (one message per problem on stderr, never a
traceback); 1 is reserved for budgets that are exceeded.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import click

from . import __version__
from .errors import CnnCalcError, OptionError

FORMATS = ("table", "json", "csv", "markdown")
DTYPES = ("fp32", "fp16", "bf16", "int8")


class _Group(click.Group):
    """Catches cnncalc's errors once, at the edge: message on stderr, exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CnnCalcError as e:
            for p in e.problems:
                click.echo(f"error: {p.format()}", err=True)
            ctx.exit(2)
        except BrokenPipeError:
            # the reader went away (e.g. `| head`): not an error of ours
            sys.stderr.close()
            ctx.exit(0)


def parse_shape(text: str) -> tuple[int, ...]:
    """``3x224x224`` (or ``3,224,224``) → ``(3, 224, 224)``."""
    parts = text.replace(",", "x").replace("×", "x").split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise OptionError(f"--input: '{text}' is not a shape like 3x224x224") from None
    if not 1 <= len(dims) <= 4 or any(d < 1 for d in dims):
        raise OptionError(f"--input: '{text}' must have 1 to 4 positive sizes, like 3x224x224")
    return dims


def load_network(net: str) -> Any:
    """A path, a bundled name, or ``-`` for standard input."""
    from . import spec  # noqa: PLC0415

    if net == "-":
        return spec.load_stream(click.get_binary_stream("stdin"), "<stdin>")
    return spec.load(net)


def write_output(text: str, output: str | None) -> None:
    """Write to stdout, or atomically to ``output`` (temporary file, then rename)."""
    if output is None or output == "-":
        click.echo(text, nl=False)
        return
    target = Path(output)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise OptionError(f"--output: cannot write to '{output}': {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        # the temporary file is private (0600); give the result the mode a new file would get
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise OptionError(f"--output: cannot write to '{output}': {e.strerror or e}") from None
        raise


def _use_color(output: str | None) -> bool:
    if output not in (None, "-") or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The shared ``--format`` and ``--output`` options."""
    fn = click.option("--output", "-o", metavar="FILE", help="Write to FILE (atomically) instead of stdout.")(fn)
    fn = click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
                      help="Output format.")(fn)
    return fn


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
def cli() -> None:
    """Shapes, parameters, MACs/FLOPs, receptive fields and memory of a CNN, from a YAML or JSON file."""


@cli.command()
@click.argument("net")
@click.option("--input", "input_shape", metavar="CxHxW", help="Override the input shape, e.g. 3x224x224.")
@click.option("--batch", "-b", type=click.IntRange(min=1), default=1, show_default=True, help="Batch size.")
@click.option("--dtype", type=click.Choice(DTYPES), default="fp32", show_default=True,
              help="Element type for memory figures.")
@output_options
def report(net: str, input_shape: str | None, batch: int, dtype: str, fmt: str, output: str | None) -> None:
    """Per-layer and total figures for NET (a file, a bundled network name, or - for stdin)."""
    from .analysis import analyse  # noqa: PLC0415
    from . import render  # noqa: PLC0415

    shape = parse_shape(input_shape) if input_shape else None
    result = analyse(load_network(net), batch=batch, dtype=dtype, input_shape=shape)
    if fmt == "json":
        text = render.render_json(result)
    elif fmt == "csv":
        text = render.render_csv(result)
    elif fmt == "markdown":
        text = render.render_markdown(result)
    else:
        width = shutil.get_terminal_size((120, 24)).columns if output in (None, "-") else 160
        text = render.render_table(result, width=width, color=_use_color(output))
    write_output(text, output)


@cli.command()
def networks() -> None:
    """List the bundled networks."""
    from . import spec  # noqa: PLC0415

    found = spec.bundled()
    width = max((len(n) for n in found), default=0)
    for name, path in found.items():
        title = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("name:"):
                title = line.split(":", 1)[1].strip()
                break
        click.echo(f"{name:<{width}}  {title}")


@cli.command()
def layers() -> None:
    """List the layer types and their arguments."""
    from .layers import ALIASES, REGISTRY  # noqa: PLC0415

    aliases: dict[str, list[str]] = {}
    for alias, name in ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    for name, cls in sorted(REGISTRY.items()):
        args = [k if f.is_required() else f"[{k}]" for k, f in cls.model_fields.items()
                if k not in ("name", "from_", "if_")]
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        extra = f" (also: {', '.join(aliases[name])})" if name in aliases else ""
        click.echo(f"{name}{extra}: {' '.join(args)}\n    {doc}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="cnncalc")
