"""The ``cnncalc`` command line: thin click commands over the core.

Exit codes (:data:`EXIT_CODES`; the table in docs/errors.md is the same): 0 success; 1 a budget is
exceeded; 2 invalid input or usage (one message per problem on stderr, never a traceback);
70 a bug in cnncalc; 128 + the signal when interrupted. Everything that can go wrong at the edge
is caught once, by :class:`_Group`: cnncalc's own errors, click's usage errors, a closed or full
standard output, a signal, and any other exception, which is a bug and says so in one line.

A command is a click function with the shared options (:func:`input_option`,
:func:`output_options`, :func:`batch_option`, :func:`dtype_option`, :func:`training_options`,
:func:`convention_option` ...), one call into the core, a table from each ``--format`` to its
renderer in :mod:`cnncalc.render` (imported inside the command, so that ``--help`` stays fast),
and :func:`write_output`.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from . import __version__
from .constants import CONVENTIONS, DEFAULT_OPTIMIZER, DTYPES, METRICS, OPTIMIZERS, TRAINING_OPTIMIZERS
from .errors import CnnCalcError, OptionError, Problem, SourceError
from .text import printable
from .units import MAX_VALUE, parse_size

FORMATS = ("table", "json", "csv", "markdown")
#: The commands whose JSON output has a schema: the keys of cnncalc.schema.OUTPUTS.
JSON_COMMANDS = ("report", "check", "diff", "sweep", "fit")

EXIT_OK = 0
#: a limit is not met (check), or a watched total grew beyond --fail-above (diff); fit: nothing fits
EXIT_EXCEEDED = 1
#: invalid input or usage, or an output that cannot be written
EXIT_INVALID = 2
#: EX_SOFTWARE of sysexits.h: an internal error, a bug in cnncalc
EXIT_INTERNAL = 70
#: Signals that stop a run like Ctrl-C: any --output file is left as it was; exit code 128 + signal.
SIGNALS: dict[int, str] = {signal.SIGHUP: "hangup", signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}
#: Every exit code and what it means.
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_EXCEEDED: "a limit is not met (check), a total grew beyond diff --fail-above, or fit: not one sample fits",
    EXIT_INVALID: "invalid input or usage, or an output that cannot be written",
    EXIT_INTERNAL: "internal error: a bug in cnncalc",
    **{128 + int(sig): f"{what} ({signal.Signals(sig).name})" for sig, what in SIGNALS.items()},
}
#: Environment variable that, set to 1, shows the traceback of an internal error (as --debug does).
DEBUG_ENV = "CNNCALC_DEBUG"


class _Signalled(BaseException):
    """Raised by the handler of a signal in :data:`SIGNALS`; unwinding removes a temporary output file."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _StdoutError(Exception):
    """Standard output cannot be written: closed, a full device, an I/O error."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _say(line: str) -> None:
    """One line on stderr, made printable; nothing if stderr is closed or unwritable."""
    with contextlib.suppress(OSError, ValueError):  # stderr closed or full: the exit code still tells
        click.echo(printable(line), err=True)


def _debug_requested(ctx: click.Context | None) -> bool:
    """--debug on the command line, or CNNCALC_DEBUG set to anything but empty, 0, false, no, off."""
    if ctx is not None and ctx.find_root().params.get("debug"):
        return True
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def _internal_error(e: BaseException, ctx: click.Context | None, *, debug: bool = False) -> int:
    """Report an exception that is not a :class:`CnnCalcError`: a bug, in one line (and, asked, its traceback)."""
    if debug or _debug_requested(ctx):
        import traceback

        _say_lines("".join(traceback.format_exception(e)))
    what = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    _say(f"error: internal error in cnncalc {__version__} (a bug in cnncalc, please report it): {what}; "
         f"run again with --debug or {DEBUG_ENV}=1 to see the traceback")
    return EXIT_INTERNAL


def _say_lines(text: str) -> None:
    """Text as it is on stderr (a traceback), if stderr can take it."""
    with contextlib.suppress(OSError, ValueError):
        click.echo(text, err=True, nl=False)


def _flush_stdout() -> None:
    """Flush standard output, so that a full device or an I/O error is reported, not lost."""
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except (OSError, ValueError) as e:
        raise _stdout_error(e) from None


def _stdout_error(e: BaseException) -> BaseException:
    """What a failed write to stdout raises: the reader went away (exit 0), or :class:`_StdoutError` (exit 2)."""
    if isinstance(e, BrokenPipeError):
        return e
    return _StdoutError(getattr(e, "strerror", None) or str(e))


def _failed_stdout_write(e: BaseException) -> BaseException | None:
    """The stdout error that ``e`` is, if it was raised by ``click.echo`` writing to stdout (click's
    own help or version on a full device or a closed pipe); else None."""
    if not isinstance(e, OSError):
        return None
    tb = e.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code is click.utils.echo.__code__:
            stream = frame.f_locals.get("file")
            with contextlib.suppress(AttributeError, OSError, ValueError):
                if stream is sys.stdout or (stream is not None and stream.fileno() == 1):
                    return _stdout_error(e)
            return None
        tb = tb.tb_next
    return None


class _Group(click.Group):
    """Catches everything once, at the edge: a message on stderr and the exit code of :data:`EXIT_CODES`."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                rv = super().invoke(ctx)
            except click.exceptions.Exit:
                _flush_stdout()
                raise
            _flush_stdout()
            return rv
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except CnnCalcError as e:
            for p in e.problems:
                _say(f"error: {p.format()}")
            ctx.exit(EXIT_INVALID)
        except BrokenPipeError:
            # the reader went away (e.g. `| head`): not an error of ours
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.close()
            ctx.exit(EXIT_OK)
        except _StdoutError as e:
            _say(f"error: cannot write to standard output: {e.reason}")
            ctx.exit(EXIT_INVALID)
        except KeyboardInterrupt:
            # 130 = 128 + SIGINT, as shells report it; never 1, which means a budget was exceeded
            _say(SIGNALS[signal.SIGINT])
            ctx.exit(128 + signal.SIGINT)
        except _Signalled as e:
            _say(SIGNALS[e.signum])
            ctx.exit(128 + e.signum)
        except Exception as e:
            failed = _failed_stdout_write(e)
            if isinstance(failed, _StdoutError):
                _say(f"error: cannot write to standard output: {failed.reason}")
                ctx.exit(EXIT_INVALID)
            ctx.exit(EXIT_OK if failed is not None else _internal_error(e, ctx))

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        """Parse the group's options; its help or version to a reader that went away exits 0.

        click's own main would exit 1 on that broken pipe, the code of an exceeded budget.
        """
        try:
            return super().make_context(*args, **kwargs)
        except BrokenPipeError:
            raise click.exceptions.Exit(EXIT_OK) from None

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Run the command; standalone, end with :func:`sys.exit` and a code of :data:`EXIT_CODES`.

        click's own usage errors exit 2; Ctrl-C while click parses exits 130, not click's 1.
        """
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) and not isinstance(rv, bool) else EXIT_OK
        except click.ClickException as e:
            # one line, like every error of cnncalc's (click's own form is a usage block and a line)
            ctx = getattr(e, "ctx", None)
            hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            _say(f"error: {e.format_message()}{hint}")
            code = EXIT_INVALID  # a usage error, or click's other errors about the arguments
        except (click.exceptions.Abort, KeyboardInterrupt):
            _say(SIGNALS[signal.SIGINT])
            code = 128 + signal.SIGINT
        except _Signalled as e:
            _say(SIGNALS[e.signum])
            code = 128 + e.signum
        except Exception as e:
            failed = _failed_stdout_write(e)
            if isinstance(failed, BrokenPipeError):
                code = EXIT_OK  # the reader went away: not an error of ours
            elif isinstance(failed, _StdoutError):
                _say(f"error: cannot write to standard output: {failed.reason}")
                code = EXIT_INVALID
            else:
                argv = args if args is not None else sys.argv[1:]
                code = _internal_error(e, None, debug="--debug" in argv)
        sys.exit(code)


def parse_shape(text: str) -> tuple[int, ...]:
    """``3x224x224`` (or ``3,224,224``) → ``(3, 224, 224)``."""
    parts = [p.strip() for p in text.replace(",", "x").replace("×", "x").split("x")]
    # ASCII digits only: int() would also take '٣', '+3' and '1_0'
    if not all(p.isascii() and p.isdigit() for p in parts):
        raise OptionError(f"--input: '{text}' is not a shape like 3x224x224")
    # digits counted first: 2^63 − 1 has 19, and int() refuses more than 4,300
    if any(len(p.lstrip("0")) > len(str(MAX_VALUE)) or int(p) > MAX_VALUE for p in parts):
        raise OptionError(f"--input: '{text}': a size is out of range: at most {MAX_VALUE:,} (2^63 − 1)")
    dims = tuple(int(p) for p in parts)
    if not 1 <= len(dims) <= 4 or any(d < 1 for d in dims):
        raise OptionError(f"--input: '{text}' must have 1 to 4 positive sizes, like 3x224x224")
    return dims


def is_torch_source(net: str) -> bool:
    """``MODULE:CALLABLE`` or ``path/to/file.py:CALLABLE`` (and no file of that name): a model to import."""
    import re

    if re.fullmatch(r"(?:[\w.]+|[^:]+\.py):[A-Za-z_][\w.]*", net) is None:
        return False
    try:
        return not Path(net).exists()
    except OSError:  # a name the system cannot even look up (too long) is no file either
        return True


def _kwargs(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """``--kwargs JSON``: keyword arguments for the model's constructor, kept for :func:`load_network`."""
    import json

    if value is None:
        return
    try:
        kwargs = json.loads(value)
    except ValueError as e:
        raise OptionError(f"--kwargs: not valid JSON: {e}") from None
    if not isinstance(kwargs, dict):
        raise OptionError("--kwargs: expected a JSON object, e.g. '{\"num_classes\": 10}'")
    ctx.meta["cnncalc.kwargs"] = kwargs


def _import_shape(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """``--input`` of a command that has no other: checked now, kept for :func:`load_network`."""
    if value is not None:
        parse_shape(value)
        ctx.meta["cnncalc.input"] = value


def import_options(fn: Callable[..., Any] | None = None, *, shape: bool = False) -> Any:
    """``--kwargs`` (and ``--input`` where the command has none) for NET given as ``MODULE:CALLABLE``."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = click.option("--kwargs", metavar="JSON", callback=_kwargs, expose_value=False,
                          help="Keyword arguments (a JSON object) for a NET given as MODULE:CALLABLE, which is "
                               "imported on the fly: this needs torch, runs the module's code and takes seconds.")(fn)
        if shape:
            fn = click.option("--input", "import_shape", metavar="CxHxW", expose_value=False, callback=_import_shape,
                              help="Input shape (no batch) of a NET given as MODULE:CALLABLE.")(fn)
        return fn

    return deco(fn) if fn is not None else deco


def _import_network(net: str) -> Any:
    """NET given as ``MODULE:CALLABLE``: imported from PyTorch at the command's ``--input``."""
    from . import spec
    from .importer import import_source

    ctx = click.get_current_context(silent=True)
    given = None if ctx is None else ctx.params.get("input_shape") or ctx.meta.get("cnncalc.input")
    if not given:
        raise OptionError(f"{net}: a model imported from PyTorch needs --input, e.g. --input 3x224x224")
    kwargs = None if ctx is None else ctx.meta.get("cnncalc.kwargs")
    return spec.load(net, text=import_source(net, parse_shape(given), kwargs))


def load_network(net: str) -> Any:
    """A path, a bundled name, ``-`` for standard input, or ``MODULE:CALLABLE`` to import from PyTorch."""
    from . import spec

    if is_torch_source(net):
        return _import_network(net)
    ctx = click.get_current_context(silent=True)
    if ctx is not None and "cnncalc.kwargs" in ctx.meta:
        raise OptionError(f"--kwargs is for a NET given as MODULE:CALLABLE, not '{net}'")
    if net == "-":
        if sys.stdin is None:
            raise SourceError([Problem("standard input is closed", file="<stdin>")])
        try:
            network = spec.load_stream(sys.stdin.buffer, "<stdin>")
        except OSError as e:
            raise SourceError([Problem(f"cannot read: {e.strerror or e}", file="<stdin>")]) from None
    else:
        network = spec.load(net)
    for w in network.source.warnings if network.source else ():
        _say(f"warning: {w.format()}")
    return network


def warn(problems: Iterable[Problem]) -> None:
    """Print each warning on stderr as ``warning: file:line:col: layer 'x' (type): message``."""
    for p in problems:
        _say(f"warning: {p.format()}")


def write_output(text: str | Iterable[str], output: str | None, *, option: str = "--output") -> None:
    """Write to stdout, or atomically to ``output`` (temporary file, then rename).

    A special file such as ``/dev/null`` or a pipe is written directly: it cannot be replaced.
    The new file gets the old file's permissions, or the usual ones under the umask. ``text``
    may come in pieces (from :func:`cnncalc.render.json.iter_json`), written as they come.
    """
    pieces = [text] if isinstance(text, str) else text
    if output is None or output == "-":
        if sys.stdout is None:  # started with stdout closed (`>&-`)
            raise _StdoutError("it is closed")
        try:
            if isinstance(text, str):
                # color=True: click would otherwise strip what looks like an ANSI code when stdout is no
                # terminal, changing the names in CSV or JSON written to a pipe or file
                click.echo(text, nl=False, color=True)
            else:
                for piece in pieces:
                    sys.stdout.write(piece)
            sys.stdout.flush()
        except (OSError, ValueError) as e:
            raise _stdout_error(e) from None
        return
    target = Path(output)
    tmp: str | None = None
    try:
        try:
            if target.exists() and not target.is_file() and not target.is_dir():
                with open(target, "w", encoding="utf-8", newline="") as f:
                    for piece in pieces:
                        f.write(piece)
                return
            mode = stat.S_IMODE(target.stat().st_mode) if target.is_file() else 0o666 & ~_umask()
            with _signals_held():  # a signal between creating the file and naming it would leak it
                fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                for piece in pieces:
                    f.write(piece)
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        raise OptionError(f"{option}: cannot write to '{output}': {e.strerror or e}") from None


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold back the signals of :data:`SIGNALS` inside the block; they are delivered after it."""
    held = set(SIGNALS)
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, OSError, ValueError):  # not POSIX, or not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _use_color(output: str | None) -> bool:
    if output not in (None, "-") or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout is not None and sys.stdout.isatty()


#: A positive integer that PyTorch can hold: 1 to 2^63 − 1.
_SIZE = click.IntRange(min=1, max=MAX_VALUE)


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def output_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The shared ``--output/-o FILE`` option: written atomically (:func:`write_output`)."""
    return click.option("--output", "-o", metavar="FILE", help="Write to FILE (atomically) instead of stdout.")(fn)


def format_option(formats: tuple[str, ...], help: str = "Output format.") -> Decorator:
    """The shared ``--format/-f`` option (into ``fmt``); the first of ``formats`` is the default."""
    return click.option("--format", "-f", "fmt", type=click.Choice(formats), default=formats[0], show_default=True,
                        help=help)


def output_options(fn: Callable[..., Any] | None = None, *, formats: tuple[str, ...] = FORMATS,
                   help: str = "Output format.") -> Any:
    """The shared ``--format`` and ``--output`` options (``@output_options(formats=...)`` to choose formats)."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        return format_option(formats, help)(output_option(fn))

    return deco if fn is None else deco(fn)


def input_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The shared ``--input CxHxW`` option (into ``input_shape``): the network's input, overridden."""
    return click.option("--input", "input_shape", metavar="CxHxW",
                        help="Override the input shape, e.g. 3x224x224.")(fn)


def batch_option(default: int | None = 1, help: str = "Batch size.") -> Decorator:
    """The shared ``--batch/-b N`` option (``None``: a default the help names)."""
    return click.option("--batch", "-b", type=_SIZE, default=default, show_default=default is not None, help=help)


def dtype_option(default: str | None = "fp32", help: str = "Element type for memory figures.") -> Decorator:
    """The shared ``--dtype`` option, one of :data:`DTYPES` (``None``: a default the help names)."""
    return click.option("--dtype", type=click.Choice(DTYPES), default=default, show_default=default is not None,
                        help=help)


def optimizer_option(default: str | None = DEFAULT_OPTIMIZER,
                     help: str = "Optimizer whose state training keeps (none: inference only).",
                     choices: tuple[str, ...] = OPTIMIZERS) -> Decorator:
    """The shared ``--optimizer`` option, one of ``choices`` (``None``: a default the help names)."""
    return click.option("--optimizer", type=click.Choice(choices), default=default,
                        show_default=default is not None, help=help)


#: The size of a terminal that does not say its own (columns, lines).
_FALLBACK_TERMINAL = (120, 24)


def _text_width(output: str | None) -> int | None:
    """Width to fit the report table, ``explain``, ``diff`` and ``sweep`` to: ``COLUMNS`` if set, else the terminal's.

    None (no wrapping) for a file, and for a pipe without ``COLUMNS``: a file has no width.
    """
    if output not in (None, "-"):
        return None
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout is None or not sys.stdout.isatty():  # closed (`>&-`), or a pipe or file
        return None
    return shutil.get_terminal_size(_FALLBACK_TERMINAL).columns


def convention_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The shared ``--convention`` option: MACs and FLOPs as another tool counts them."""
    return click.option("--convention", type=click.Choice(CONVENTIONS), default=None,
                        help="Count MACs and FLOPs as this tool prints them (see docs/conventions.md).")(fn)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
@click.option("--debug", is_flag=True, help=f"Show the traceback of an internal error (or set {DEBUG_ENV}=1).")
def cli(debug: bool) -> None:
    """Shapes, parameters, MACs/FLOPs, receptive fields and memory of a CNN, from a YAML or JSON file."""


def training_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The shared ``--dtype``, ``--amp`` and ``--optimizer`` options of the memory figures."""
    fn = optimizer_option()(fn)
    fn = click.option("--amp", is_flag=True,
                      help="Mixed precision (torch.autocast): fp32 weights, fp16/bf16 activations.")(fn)
    return dtype_option(None, "Element type for memory figures.  [default: fp32; fp16 with --amp]")(fn)


def freeze_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--freeze NAME`` (repeatable): freeze a layer or group for a fine-tuning what-if."""
    return click.option("--freeze", "freeze", metavar="NAME", multiple=True,
                        help="Freeze this layer or group (and all inside it), as requires_grad_(False); "
                             "repeatable.")(fn)


def built(net: str, shape: Any, freeze: tuple[str, ...]) -> Any:
    """The graph of NET at ``shape``, with the ``--freeze`` layers and groups frozen."""
    from .graph import build
    from .graph import freeze as frozen

    graph = build(load_network(net), shape)
    return frozen(graph, freeze) if freeze else graph


def resolve_dtype(dtype: str | None, amp: bool) -> str:
    """The dtype to use: as given, else fp16 under --amp and fp32 otherwise."""
    return dtype or ("fp16" if amp else "fp32")


@cli.command()
@click.argument("net")
@input_option
@batch_option()
@training_options
@click.option("--depth", type=_SIZE, metavar="N",
              help="One row per group at N name components (layer3.2 at 2) with the group's totals; "
                   "default: every layer.")
@click.option("--sort", type=click.Choice(METRICS), help="List the heaviest layers first by this metric.")
@click.option("--top", type=_SIZE, metavar="N", help="List only the first N layers (after --sort).")
@click.option("--bars", type=click.Choice(METRICS), help="Metric whose share the table's bars show "
              "[default: the --sort metric, else macs].")
@click.option("--html", "html", metavar="FILE", help="Also write a self-contained HTML report to FILE.")
@click.option("--memory", "memory_view", is_flag=True,
              help="Per-layer memory instead: output, saved for backward, share of the training peak, traffic.")
@click.option("--columns", metavar="LIST",
              help="The table's columns, comma-separated, in order: index,name,type,output,params,macs,flops,"
                   "rf,jump,memory,bar (with --memory: index,name,type,output,saved,peak,read,written,intensity). "
                   "Default: all that fit the width.")
@freeze_option
@convention_option
@import_options
@output_options
def report(net: str, input_shape: str | None, batch: int, dtype: str | None, amp: bool, optimizer: str,
           depth: int | None, sort: str | None, top: int | None, bars: str | None, html: str | None,
           memory_view: bool, columns: str | None, freeze: tuple[str, ...], convention: str | None, fmt: str,
           output: str | None) -> None:
    """Per-layer and total figures for NET (a file, a bundled network name, or - for stdin)."""
    from dataclasses import replace

    from . import hotspots
    from .analysis import analyse
    from .columns import parse_columns
    from .render import json as json_out
    from .render import report as out

    if columns is not None and fmt != "table":
        raise OptionError(f"--columns: only the table has columns to choose, not --format {fmt}")
    chosen = None if columns is None else parse_columns(columns, memory=memory_view)
    shape = parse_shape(input_shape) if input_shape else None
    full = analyse(built(net, shape, freeze), batch=batch, dtype=resolve_dtype(dtype, amp),
                   optimizer=optimizer, amp=amp, convention=convention)
    warn(full.warnings)
    if html is not None:
        from .render.html import render_html

        write_output(render_html(full), html, option="--html")
    if depth is not None:
        full = full.collapse(depth)
    rows = hotspots.select(full, sort, top)
    # --sort and --top choose the listed rows in every format; the totals stay those of the network
    result = replace(full, layers=rows)
    width, color = _text_width(output), _use_color(output)
    renderers: dict[str, Callable[[], str | Iterable[str]]] = {
        "table": lambda: (out.iter_memory_table(full, width=width, color=color, rows=rows, columns=chosen)
                          if memory_view else
                          out.iter_table(full, width=width, color=color, rows=rows, bars=bars or sort or "macs",
                                         columns=chosen)),
        "json": lambda: json_out.iter_json(result),
        "csv": lambda: out.render_csv(result),
        "markdown": lambda: out.render_markdown(full, rows=rows, memory=memory_view),
    }
    write_output(renderers[fmt](), output)


@cli.command()
@click.argument("net")
@click.option("--memory", "budget", required=True, metavar="SIZE",
              help="Memory to fit in: 16GiB, 512MiB (powers of 2) or 16G, 500M (powers of 10).")
@input_option
@training_options
@freeze_option
@import_options
@output_options(formats=("table", "json"))
def fit(net: str, budget: str, input_shape: str | None, dtype: str | None, amp: bool, optimizer: str,
        freeze: tuple[str, ...], fmt: str, output: str | None) -> None:
    """The largest batch of NET that fits in --memory, for training and for inference.

    Exits with 1 when not even one sample fits (training, or inference with --optimizer none).
    """
    from . import memory
    from .render import report as out

    try:
        size = parse_size(budget)
    except ValueError as e:
        raise OptionError(f"--memory: {e}") from None
    shape = parse_shape(input_shape) if input_shape else None
    graph = built(net, shape, freeze)
    warn(graph.warnings)
    result = memory.fit(graph, size, dtype=resolve_dtype(dtype, amp), amp=amp, optimizer=optimizer)
    renderers: dict[str, Callable[[], str]] = {
        "table": lambda: out.render_fit(graph.name, graph.input_shape, result),
        "json": lambda: out.render_fit_json(graph.name, graph.input_shape, result),
    }
    write_output(renderers[fmt](), output)
    if (result.training_batch if result.training_batch is not None else result.inference_batch) == 0:
        click.get_current_context().exit(1)


@cli.command()
@click.argument("net")
@click.option("--layer", "-l", "names", multiple=True, metavar="NAME",
              help="Explain only this layer, or this block (a name prefix such as layer1.0); repeatable.")
@input_option
@dtype_option()
@output_options(formats=("text", "markdown"), help="Plain text, or Markdown with LaTeX math.")
def explain(net: str, names: tuple[str, ...], input_shape: str | None, dtype: str, fmt: str,
            output: str | None) -> None:
    """Every figure of every layer of NET with its formula, the numbers substituted and the result."""
    from .explain import explain as explain_network
    from .graph import build
    from .render import explain as out

    shape = parse_shape(input_shape) if input_shape else None
    graph = build(load_network(net), shape)
    warn(graph.warnings)
    found = explain_network(graph, dtype=dtype, layers=names)
    renderers: dict[str, Callable[[], str]] = {
        "text": lambda: out.render_text(found, width=_text_width(output)),
        "markdown": lambda: out.render_markdown(found),
    }
    write_output(renderers[fmt](), output)


@cli.command("sweep")
@click.argument("net")
@click.argument("more", nargs=-1, metavar="[SHAPES]...")
@click.option("--input", "inputs", metavar="SHAPES",
              help="Comma-separated input shapes; a size may be a range {start..stop..step}: 3x{224..1024..32}. "
                   "3x224 means 3x224x224 for an image network. Default: the network's own input.")
@click.option("--batch", "-b", "batches", metavar="SIZES", default="1", show_default=True,
              help="Comma-separated batch sizes, ranges allowed: 1,8,32 or {8..64..8}.")
@training_options
@output_options
def sweep_command(net: str, more: tuple[str, ...], inputs: str | None, batches: str, dtype: str | None, amp: bool,
                  optimizer: str, fmt: str, output: str | None) -> None:
    """Totals and memory of NET for every combination of input shape and batch size.

    Shapes may also follow NET, so that a shell's own brace expansion works unquoted:
    ``cnncalc sweep resnet50 3x{224..512..32}``.
    """
    from .render import sweep as out
    from .sweep import expand, parse_batches, sweep

    for text in more:
        if "x" not in text and "{" not in text:
            raise OptionError(f"'{text}' is not a shape like 3x224x224 (to sweep batch sizes, quote the range: "
                              "--batch '{1..8}')")
    texts = [*([inputs] if inputs else []), *more]
    shapes = [parse_shape(s) for text in texts for s in expand(text, "--input")]
    sizes = parse_batches(batches)
    if any(b > MAX_VALUE for b in sizes):
        raise OptionError(f"--batch: '{batches}': a batch size is out of range: at most {MAX_VALUE:,} (2^63 − 1)")
    network = load_network(net)
    result = sweep(network, shapes or [tuple(network.input)], sizes, dtype=resolve_dtype(dtype, amp),
                   optimizer=optimizer, amp=amp)
    renderers: dict[str, Callable[[], str]] = {
        "table": lambda: out.render_sweep_table(result, width=_text_width(output), color=_use_color(output)),
        "json": lambda: out.render_sweep_json(result),
        "csv": lambda: out.render_sweep_csv(result),
        "markdown": lambda: out.render_sweep_markdown(result),
    }
    write_output(renderers[fmt](), output)


@cli.command()
@click.argument("net")
@click.option("--to", "target", type=click.Choice(["pytorch"]), required=True, help="The framework to write for.")
@input_option
@output_option
@click.option("--check", is_flag=True,
              help="Build the module with PyTorch and compare its parameters, buffers and every layer's "
                   "output shape with cnncalc's (needs torch).")
def export(net: str, target: str, input_shape: str | None, output: str | None, check: bool) -> None:
    """Write NET as a runnable torch.nn.Module whose module names are cnncalc's layer names."""
    from . import export as exporter
    from .graph import build

    shape = parse_shape(input_shape) if input_shape else None
    graph = build(load_network(net), shape)
    warn(graph.warnings)
    code = exporter.export(graph, target, source="standard input" if net == "-" else net)
    if check:
        click.echo(exporter.check(code, graph), err=True)
    write_output(code, output)


@cli.command("import")
@click.argument("source")
@click.option("--input", "input_shape", metavar="CxHxW", required=True,
              help="Input shape without the batch, e.g. 3x224x224.")
@click.option("--kwargs", metavar="JSON", callback=_kwargs, expose_value=False,
              help="Keyword arguments for CALLABLE, a JSON object, e.g. '{\"num_classes\": 10}'.")
@click.option("--output", "-o", metavar="FILE", help="Write to FILE (atomically) instead of stdout.")
def import_command(source: str, input_shape: str, output: str | None) -> None:
    """Write the cnncalc description of a PyTorch model, exactly, or refuse it with the reason.

    SOURCE is MODULE:CALLABLE (torchvision.models:resnet50) or path/to/file.py:CALLABLE, an
    nn.Module class or a function returning one. Importing SOURCE runs its code, as python -c
    would: import only code you trust. The model is built on the meta device (no memory for
    weights, nothing downloaded) and captured with torch.export. Needs torch:
    pip install "cnncalc[torch]".
    """
    from .importer import import_source

    kwargs = click.get_current_context().meta.get("cnncalc.kwargs")
    write_output(import_source(source, parse_shape(input_shape), kwargs), output)


@cli.command()
def networks() -> None:
    """List the bundled networks."""
    from . import spec

    found = spec.bundled()
    width = max((len(n) for n in found), default=0)
    lines = []
    for name, path in found.items():
        title = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("name:"):
                title = line.split(":", 1)[1].strip()
                break
        lines.append(f"{name:<{width}}  {title}\n")
    write_output("".join(lines), None)


@cli.command()
def layers() -> None:
    """List the layer types and their arguments."""
    from .layers import ALIASES, REGISTRY

    aliases: dict[str, list[str]] = {}
    for alias, name in ALIASES.items():
        aliases.setdefault(name, []).append(alias)
    lines = []
    for name, cls in sorted(REGISTRY.items()):
        args = [k if f.is_required() else f"[{k}]" for k, f in cls.model_fields.items()
                if k not in ("name", "from_", "if_", "frozen")]
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        extra = f" (also: {', '.join(aliases[name])})" if name in aliases else ""
        lines.append(f"{name}{extra}: {' '.join(args)}\n    {doc}\n")
    write_output("".join(lines), None)


def _limit_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """One ``--max-...``/``--min-...`` option per kind of limit, and what the memory limits assume."""
    from .limits import LIMITS

    fn = optimizer_option(None, "Optimizer the training-memory limit assumes.  [default: adam]",
                          TRAINING_OPTIMIZERS)(fn)
    fn = dtype_option(None, "Element type the memory limits assume.  [default: fp32]")(fn)
    fn = batch_option(None, "Batch size the memory limits assume.  [default: 1]")(fn)
    metavars = {"count": "N", "bytes": "SIZE", "pixels": "PIXELS"}
    for m in reversed(LIMITS.values()):
        fn = click.option("--" + m.limit.replace("_", "-"), m.limit, metavar=metavars[m.kind], help=m.help)(fn)
    return fn


def _relative(path: str) -> str:
    """``path`` relative to the working directory when it lies below it (as CI annotations want)."""
    p = Path(path).resolve()
    try:
        return p.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path


@cli.command()
@click.argument("nets", nargs=-1, metavar="[NET]...")
@_limit_options
@click.option("--budgets", "budgets_file", metavar="FILE",
              help="Budgets file mapping network paths or globs to limits; with no NET, checks every match.")
@convention_option
@import_options(shape=True)
@output_options(formats=("table", "json", "github", "junit"))
def check(nets: tuple[str, ...], budgets_file: str | None, convention: str | None, fmt: str, output: str | None,
          **flags: Any) -> None:
    """Check networks against budgets: exit 0 if all hold, 1 if one is not met, 2 on invalid input.

    Every file gets its result: an invalid file is an error entry beside the others, and the
    exit code is the worst: 2 (invalid, or a limit that cannot be checked) wins over 1. A network
    without limits is noted, not failed. Limits come from the flags, from a 'budgets:' section
    in the network file, and from --budgets FILE; for the same limit a flag wins over the file's
    section, which wins over the budgets file. Counts take K, M, G (powers of 10); sizes take
    KiB, MiB, GiB (powers of 2).
    """
    from . import budgets
    from .render import check as out

    try:
        limits = budgets.parse_flags(flags)
        table = budgets.load_budgets(budgets_file) if budgets_file else None
        paths = list(nets)
        if not paths:
            if table is None:
                raise click.UsageError("give the networks to check, or --budgets FILE to check every network it names")
            paths = [_relative(str(p)) for p in table.networks()]
            if not paths:
                raise OptionError([Problem("no pattern matches a network file", file=table.name)])
    except CnnCalcError as e:
        if fmt == "github":  # invalid input is annotated too, at its line
            click.echo(out.render_problems_github(e.problems, path=_relative), nl=False)
        raise
    for entry in table.unmatched() if table is not None else ():
        unmatched = Problem(f"'{entry.pattern}' matches no file", file=table.name if table else None, line=entry.line)
        click.echo(f"warning: {unmatched.format()}", err=True)
    # each file on its own: an invalid one is an entry of the result, not the end of the run
    result = budgets.check_files(paths, load_network, flags=limits, budgets_file=table, convention=convention)
    warn(w for net in result.networks for w in net.warnings)
    renderers: dict[str, Callable[[], str]] = {
        "table": lambda: out.render_check_table(result, width=_text_width(output), color=_use_color(output)),
        "json": lambda: out.render_check_json(result),
        "github": lambda: out.render_check_github(result, path=_relative),
        "junit": lambda: out.render_check_junit(result, path=_relative),
    }
    write_output(renderers[fmt](), output)
    # the table lists each invalid file's problems and each note under it: at a terminal that
    # shows both streams they are read there, and a second copy on stderr is only noise
    on_screen = fmt == "table" and output in (None, "-") and all(
        s is not None and s.isatty() for s in (sys.stdout, sys.stderr))
    for net in result.networks if not on_screen else ():
        for p in net.problems:
            click.echo(f"error: {printable(p.format())}", err=True)
        if net.note:
            click.echo(f"note: {printable(Problem(net.note, file=net.file).format())}", err=True)
        for o in net.outcomes:
            if o.status == "error":
                file, line = out.annotation_site(net, o)
                click.echo(f"error: {Problem(out.format_outcome(net, o), file=file, line=line).format()}",
                           err=True)
    click.get_current_context().exit(result.exit_code)


@cli.command()
@click.argument("old")
@click.argument("new")
@batch_option()
@dtype_option()
@click.option("--fail-above", metavar="PCT", help="Exit 1 when a total grows by more than PCT percent, e.g. 5%.")
@click.option("--fail-on", "fail_on", metavar="TOTAL", multiple=True,
              help="Total watched by --fail-above (repeatable): params, trainable_params, buffers, macs, flops, "
                   "param_memory, "
                   "activation_memory.  [default: all]")
@click.option("--all", "all_layers", is_flag=True, help="List unchanged layers too.")
@convention_option
@import_options(shape=True)
@output_options(formats=("table", "json", "markdown"))
def diff(old: str, new: str, batch: int, dtype: str, fail_above: str | None, fail_on: tuple[str, ...],
         all_layers: bool, convention: str | None, fmt: str, output: str | None) -> None:
    """Compare two networks (or two revisions of one file) layer by layer, matched by name.

    OLD or NEW may be - for standard input, e.g. git show main:net.yaml | cnncalc diff - net.yaml
    """
    from . import analyse
    from .diff import compare, parse_gate
    from .render import diff as out

    if old == "-" and new == "-":
        raise click.UsageError("only one of OLD and NEW can be standard input")
    gate_args = parse_gate(fail_above, fail_on)
    result = compare(analyse(load_network(old), batch=batch, dtype=dtype, convention=convention),
                     analyse(load_network(new), batch=batch, dtype=dtype, convention=convention))
    gate = None if gate_args is None else result.gate(*gate_args)
    renderers: dict[str, Callable[[], str | Iterable[str]]] = {
        "table": lambda: out.iter_diff_table(result, gate=gate, all_layers=all_layers, width=_text_width(output),
                                             color=_use_color(output)),
        "json": lambda: out.iter_diff_json(result, gate=gate),
        "markdown": lambda: out.render_diff_markdown(result, gate=gate, all_layers=all_layers),
    }
    write_output(renderers[fmt](), output)
    if gate is not None and gate.exceeded:
        click.echo(f"cnncalc diff: {out.format_gate(gate)}", err=True)
        click.get_current_context().exit(1)


@cli.command()
@click.argument("which", type=click.Choice(["input", "output"]))
@click.argument("command", required=False, type=click.Choice(JSON_COMMANDS))
@output_option
def schema(which: str, command: str | None, output: str | None) -> None:
    """Print a JSON Schema: of network files (input) or of the JSON output of report, check, diff, sweep and fit.

    With COMMAND, only the output of that command.
    """
    import json

    from . import schema as schemas

    if which == "input" and command is not None:
        raise click.UsageError("COMMAND is only for 'schema output'")
    doc = schemas.input_schema() if which == "input" else schemas.output_schema(command)
    write_output(json.dumps(doc, indent=2) + "\n", output)


def main() -> None:
    """Console-script entry point."""
    _prepare_process()
    # A run allocates millions of long-lived objects (parsed YAML, models, rows) and almost no
    # cyclic garbage (tests/test_startup.py holds the commands to that): the cyclic
    # collector would only traverse the live objects again and again, a tenth of the time of a
    # 100,000-layer report. One command runs and the process ends; reference counting frees
    # what it drops.
    gc.disable()
    try:
        cli(prog_name="cnncalc")
        code = EXIT_OK
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else EXIT_INTERNAL if e.code is not None else EXIT_OK
    except _Signalled as e:  # arrived after the command's own handling
        code = 128 + e.signum
    except KeyboardInterrupt:
        code = 128 + signal.SIGINT
    # Freeing every object at interpreter exit takes 40 ms of the 0.26 s of a ResNet-50
    # report, and longer for large networks: flush the output and leave without it.
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # closed, or the reader went away: reported already
            pass
    os._exit(code)


def _prepare_process() -> None:
    """Streams and signals of a real run: what a test runner's process must keep as it is.

    - A standard stream that was closed (``>&-``) gets ``/dev/null`` on its descriptor, so that no
      file opened later takes that number and receives what was meant for the stream; Python
      already left ``sys.stdout`` (or stdin, stderr) None, which the commands report.
    - Names a stream's encoding cannot hold (``PYTHONIOENCODING=latin-1``) are written escaped.
    - SIGTERM and SIGHUP stop the run as Ctrl-C does (unless the parent ignores them, as nohup
      does): an --output file being written is left as it was; exit code 128 + the signal.
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            with contextlib.suppress(OSError):
                devnull = os.open(os.devnull, os.O_RDWR)
                if devnull != fd:  # the lowest free number is this one, unless a lower one is also closed
                    os.dup2(devnull, fd)
                    os.close(devnull)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    for sig in SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, _on_signal)


def _on_signal(signum: int, frame: Any) -> None:
    # a second signal must not interrupt the clean-up the first one started
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise _Signalled(signum)
