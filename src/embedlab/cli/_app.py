"""The ``embedlab`` command: a typer app whose group turns user errors into one line.

Exit codes: 0 success; 2 a user error (bad input, unknown ID, failed download) with a
one-line message on stderr; 1 an internal error (a bug), with the traceback only
when ``EMBEDLAB_DEBUG=1`` or the command ran with ``--verbose``.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

import typer
from typer.core import TyperGroup

from embedlab._version import __version__
from embedlab.exceptions import EmbedlabError

__all__ = ["app", "fail"]


def _passthrough() -> tuple[type[BaseException], ...]:
    """Exceptions the framework handles itself (help, usage errors, explicit exits).

    Typer >= 0.29 vendors click as ``typer._click``; older releases use ``click``.
    """
    classes: list[type[BaseException]] = [typer.Exit, typer.Abort]
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            mod = __import__(module, fromlist=["ClickException"])
        except ImportError:
            continue
        classes += [getattr(mod, n) for n in ("ClickException", "Exit", "Abort") if hasattr(mod, n)]
    return tuple(classes)


_PASSTHROUGH = _passthrough()


def _usage_errors() -> tuple[type[BaseException], ...]:
    classes: list[type[BaseException]] = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            mod = __import__(module, fromlist=["UsageError"])
        except ImportError:
            continue
        classes.append(mod.UsageError)
    return tuple(classes)


_USAGE = _usage_errors()

USER_ERROR = 2
INTERNAL_ERROR = 1


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on one line of stderr and return the Exit to raise."""
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    return typer.Exit(USER_ERROR)


def _verbose(ctx: Any) -> bool:
    """Whether a command of this invocation was given ``--verbose`` (see ``_options``)."""
    from embedlab.cli._options import VERBOSE_KEY

    return bool(getattr(ctx, "meta", {}).get(VERBOSE_KEY))


class _ErrorHandlingGroup(TyperGroup):
    """Runs sub-commands, mapping embedlab errors to exit 2 and bugs to exit 1."""

    def make_context(self, info_name: Any, args: Any, parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except _USAGE as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":
                raise
            raise fail(f"{exc.format_message()} (see '{info_name or 'embedlab'} --help')") from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except EmbedlabError as exc:
            raise fail(str(exc)) from None
        except _USAGE as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # a group without arguments: its help
                raise
            where = getattr(getattr(exc, "ctx", None), "command_path", None) or ctx.command_path
            raise fail(f"{exc.format_message()} (see '{where} --help')") from None
        except _PASSTHROUGH:
            raise
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:
            if os.environ.get("EMBEDLAB_DEBUG") == "1" or _verbose(ctx):
                traceback.print_exc()
            typer.echo(
                f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())} "
                "(this is a bug in embedlab; rerun with --verbose or EMBEDLAB_DEBUG=1 for the traceback "
                "and report it)",
                err=True,
            )
            raise typer.Exit(INTERNAL_ERROR) from None


app = typer.Typer(
    name="embedlab",
    cls=_ErrorHandlingGroup,
    help=(
        "Learn, explore and serve embeddings of categorical variables.\n\n"
        "Exit codes: 0 ok; 2 a user error (a missing file, a bad option, an unknown ID: one "
        "line on stderr); 1 an internal error (--verbose or EMBEDLAB_DEBUG=1 prints its "
        "traceback).\n\n"
        "Every command takes --quiet/-q (only the result) and --verbose/-v (more detail); "
        "commands whose output is data take --json.\n\n"
        "Example: embedlab demo"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"embedlab {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Learn, explore and serve embeddings of categorical variables.

    Exit codes: 0 ok, 2 a user error (one line on stderr), 1 an internal error
    (--verbose or EMBEDLAB_DEBUG=1 prints its traceback).

    Every command takes --quiet/-q (only the result) and --verbose/-v (more detail).
    """


def _register() -> None:
    from embedlab.cli import (
        _demo,  # noqa: F401  (registers `demo`)
        _experiment,  # noqa: F401  (registers `experiment size-sweep`, `biases`, `l2`)
        _explore,  # noqa: F401  (registers `similar`, `recommend` and `export`)
        _fetch,  # noqa: F401  (registers `data fetch` and `data list`)
        _serve,  # noqa: F401  (registers `serve`)
        _synth,  # noqa: F401  (registers `data synth`)
        _train,  # noqa: F401  (registers `train`, `evaluate` and `info`)
        _viz,  # noqa: F401  (registers `map` and `plot history|biases|sweep|obscurity`)
    )
    from embedlab.cli._data import data_app

    app.add_typer(data_app, name="data")


_register()
