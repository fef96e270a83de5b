"""Options every command shares (``--quiet``, ``--verbose``, ``--json``) and what they do.

``--quiet`` leaves only the result (for a command that writes a file: its path) and
errors; ``--verbose`` adds the settings used, timings and the files written on stderr,
and the traceback of an internal error (as ``EMBEDLAB_DEBUG=1`` does). Passing both is
a one-line user error.

An option renamed in a release keeps its old name one more release as a hidden option
(``--seed`` for ``--random-state``): :func:`renamed_option` prints one
``warning: --seed is deprecated; use --random-state`` line on stderr and hands on its
value; giving both names is a user error.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import typer

__all__ = [
    "VERBOSE_KEY",
    "JsonOpt",
    "Output",
    "QuietOpt",
    "SeedAliasOpt",
    "VerboseOpt",
    "output",
    "python_flags",
    "renamed_option",
]

VERBOSE_KEY = "embedlab.verbose"
_QUIET_KEY = "embedlab.quiet"


def _conflict(ctx: typer.Context, key: str, value: bool) -> bool:
    """Record the flag in ``ctx.meta`` (shared by the whole command tree); both → exit 2."""
    if not value:
        return value
    ctx.meta[key] = True
    if ctx.meta.get(VERBOSE_KEY) and ctx.meta.get(_QUIET_KEY):
        typer.echo("error: --quiet and --verbose exclude each other; pass one of them", err=True)
        raise typer.Exit(2)
    return value


def _quiet(ctx: typer.Context, value: bool) -> bool:
    return _conflict(ctx, _QUIET_KEY, value)


def _verbose(ctx: typer.Context, value: bool) -> bool:
    return _conflict(ctx, VERBOSE_KEY, value)


QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        callback=_quiet,
        help="Only the result (or the path written) and errors: no progress bars or notes.",
    ),
]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        callback=_verbose,
        help="More detail on stderr: settings, timings, files written; tracebacks of bugs.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
#: ``--seed``, the old name of ``--random-state`` (hidden; warns; removed in the next release).
SeedAliasOpt = Annotated[
    int | None, typer.Option("--seed", hidden=True, help="Deprecated: use --random-state.")
]


def renamed_option(ctx: typer.Context, name: str, value: Any, old_value: Any, old: str) -> Any:
    """The value of the option of parameter ``name``, or of ``old``, its deprecated name.

    ``old_value`` is None unless ``old`` was given; then one warning line goes to stderr
    and its value wins over ``value`` (the new option's default). Both given: a user error.
    """
    if old_value is None:
        return value
    new = "--" + name.replace("_", "-")
    typer.echo(f"warning: {old} is deprecated; use {new}", err=True)
    source = ctx.get_parameter_source(name)
    if source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP"):
        from embedlab.exceptions import DataError

        raise DataError(f"{new} and {old} are the same option ({old} is its old name); pass {new}")
    return old_value


def python_flags(message: str, flags: dict[str, str]) -> str:
    """``message`` with the Python arguments ``name=value`` of a library call as the
    command's flags (``n_users=-1`` → ``--users -1``, per ``flags``: name -> flag)."""
    import re

    if not flags:
        return message
    names = "|".join(sorted(map(re.escape, flags), key=len, reverse=True))
    return re.sub(rf"(?<![\w.-])({names})=", lambda m: f"{flags[m.group(1)]} ", message)


class Output:
    """Where a command's lines go, by verbosity.

    ``result`` lines are the command's answer (stdout, always); ``info`` lines are notes
    a quiet run drops (stdout, or stderr under ``--json`` so the JSON stays parseable);
    ``detail`` lines appear only with ``--verbose`` (stderr).
    """

    def __init__(self, quiet: bool = False, verbose: bool = False, as_json: bool = False) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.as_json = as_json
        self.start = time.perf_counter()

    @property
    def progress(self) -> bool:
        """Whether progress bars may be drawn."""
        return not (self.quiet or self.as_json)

    def result(self, line: str) -> None:
        typer.echo(line)

    def info(self, line: str) -> None:
        if not self.quiet:
            typer.echo(line, err=self.as_json)

    def detail(self, line: str) -> None:
        if self.verbose:
            typer.echo(line, err=True)

    def settings(self, **values: Any) -> None:
        """One ``--verbose`` line of the settings used."""
        if self.verbose:
            shown = ", ".join(f"{k}={v}" for k, v in values.items())
            typer.echo(f"settings: {shown}", err=True)

    def done(self, what: str = "done") -> None:
        """One ``--verbose`` line with the seconds since the command started."""
        self.detail(f"{what} in {time.perf_counter() - self.start:.2f} s")

    def wrote(self, path: Any, line: str | None = None) -> None:
        """A file written: its path alone when quiet, ``line`` (or ``wrote PATH``) otherwise."""
        if self.as_json:
            self.detail(f"wrote {path}")
        elif self.quiet:
            typer.echo(str(path))
        else:
            typer.echo(line or f"wrote {path}")


def output(quiet: bool = False, verbose: bool = False, as_json: bool = False) -> Output:
    """The :class:`Output` of a command's ``--quiet``/``--verbose``/``--json`` values."""
    return Output(quiet=quiet, verbose=verbose, as_json=as_json)


def splice_options(
    func: Callable[..., Any], options: Iterable[Any], after: str, what: str
) -> Callable[..., Any]:
    """Give ``func`` (which takes ``**kwargs``) one keyword parameter per generated option
    (objects with ``name`` and ``annotation()``), placed after its parameter ``after``.

    Typer reads ``inspect.signature`` and ``typing.get_type_hints``; both follow
    ``__signature__`` and ``__annotations__``, which this sets, so decorators using it
    stack. Every parameter becomes keyword-only: typer passes them by name, and the
    generated defaults (None: "left out") may then come in any order.

    Raises:
        TypeError: A generated option has the name of one of ``func``'s parameters.
    """
    options = list(options)
    sig = inspect.signature(func, eval_str=True)
    own = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    clash = {p.name for p in own} & {o.name for o in options}
    if clash:
        raise TypeError(f"{func.__name__}: parameters {sorted(clash)} clash with {what}")
    generated = [
        inspect.Parameter(
            o.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=o.annotation()
        )
        for o in options
    ]
    at = next(i for i, p in enumerate(own) if p.name == after) + 1
    params = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in [*own[:at], *generated, *own[at:]]
    ]
    func.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    func.__annotations__ = {p.name: p.annotation for p in params}
    return func
