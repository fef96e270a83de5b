"""The ``embedlab`` command: a typer app whose group turns user errors into one line.

Exit codes: 0 success; 2 a user error (bad input, unknown ID, failed download) or a
fault of the environment (a full disk or quota, a read-only file system, permission
denied, a file that vanished, stdout closed early: ``| head``) with a one-line message on
stderr; 1 an internal error (a bug), with the traceback only when ``EMBEDLAB_DEBUG=1`` or
the command ran with ``--verbose``.

Warnings (embedlab's :class:`~embedlab.exceptions.DataWarning` and any library's) reach the
user as one ``warning: ...`` line each, without the file, line and source that Python's
default format adds.

A closed stdout (``embedlab similar ... | head -3``) ends like every other fault of the
environment: one ``error:`` line on stderr and exit 2, the rest of the output dropped
(stdout is pointed at ``os.devnull`` so that the interpreter's final flush stays quiet).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import traceback
import warnings
from typing import Any, TextIO

import typer
from typer.core import TyperGroup

from embedlab._version import __version__
from embedlab.exceptions import EmbedlabError

__all__ = ["app", "environment_message", "environment_reason", "fail", "show_warning"]


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


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` of the command line: one ``warning: ...`` line on stderr.

    embedlab's own warnings (:class:`~embedlab.exceptions.DataWarning`, the
    ``FutureWarning`` of a renamed parameter) are written as their message; any other
    keeps its category, so that its origin stays visible (``warning: RuntimeWarning: ...``).
    """
    text = " ".join(str(message).split())
    module = getattr(category, "__module__", "") or ""
    own = module.split(".")[0] == "embedlab" or category is FutureWarning
    shown = _setting_flags(text) if own else f"{category.__name__}: {text}"
    stream = file if file is not None else sys.stderr
    with contextlib.suppress(OSError, ValueError):  # a closed stderr: nothing to tell
        stream.write(f"warning: {shown}\n")
        stream.flush()


def _setting_flags(text: str) -> str:
    """A message's model settings as ``train``'s flags: ``fallback=False`` →
    ``--no-fallback``, ``holdout=0`` → ``--holdout 0``."""
    import re

    from embedlab.settings import ImplicitMFSettings, MFSettings, NeuralSettings

    classes = (MFSettings, NeuralSettings, ImplicitMFSettings)
    names = {f.name for cls in classes for f in cls.fields()}
    pattern = "|".join(sorted(map(re.escape, names), key=len, reverse=True))

    def flag(m: re.Match[str]) -> str:
        name, value = m.group(1), m.group(2)
        option = "--" + name.replace("_", "-")
        if value in ("True", "False"):
            return option if value == "True" else "--no-" + name.replace("_", "-")
        return f"{option} {value}"

    return re.sub(rf"(?<![\w.-])({pattern})=([^\s,;)]+)", flag, text)


#: Errors of the environment rather than of embedlab: errno -> what it means and the fix.
_ENVIRONMENT_ERRNOS: dict[int, tuple[str, str]] = {
    code: text
    for name, text in (
        ("ENOSPC", ("no space left on the device", "free some space or write elsewhere")),
        ("EDQUOT", ("disk quota exceeded", "free some space or write elsewhere")),
        ("EROFS", ("read-only file system", "write to a writable folder")),
        ("EACCES", ("permission denied", "check the permissions or use another path")),
        ("EPERM", ("operation not permitted", "check the permissions or use another path")),
        ("EFBIG", ("file too large for the file system", "write to another file system")),
        ("EIO", ("input/output error of the device", "check the disk or use another path")),
        ("ENAMETOOLONG", ("file name too long", "choose a shorter path")),
        ("ENOENT", ("no such file or folder", "check the path")),
        ("ENOTDIR", ("a part of the path is a file, not a folder", "check the path")),
        ("EISDIR", ("is a folder, not a file", "check the path")),
        ("EMFILE", ("too many open files", "raise the limit (ulimit -n) and rerun")),
        ("ENFILE", ("too many open files in the system", "rerun when fewer files are open")),
        ("ENOMEM", ("out of memory", "free memory or use smaller settings")),
    )
    if (code := getattr(errno, name, None)) is not None
}
#: Errnos that need a path to be told apart from a bug (a wrong path built by embedlab).
_NEEDS_PATH = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR}


def _errno_of(exc: BaseException) -> int | None:
    """The errno of ``exc``; for libraries that raise their own types (safetensors,
    pyarrow), the ``[Errno N]`` / ``os error N`` in their message."""
    code = getattr(exc, "errno", None)
    if isinstance(code, int):
        return code
    try:
        from embedlab._io import storage_errno
    except ImportError:  # pragma: no cover - an older _io without it
        return None
    return storage_errno(exc)


def environment_reason(exc: BaseException) -> tuple[int, str, str] | None:
    """``(errno, what happened, the fix)`` of an operating-system error caused by the
    environment (full disk, read-only file system, permissions...), None for anything else."""
    code = _errno_of(exc)
    if code is None or code not in _ENVIRONMENT_ERRNOS:
        return None
    if code in _NEEDS_PATH and not getattr(exc, "filename", None):
        return None
    reason, fix = _ENVIRONMENT_ERRNOS[code]
    return code, reason, fix


def environment_message(exc: BaseException) -> str | None:
    """The one-line message (``PATH: what happened ([Errno N]); the fix``) of an
    operating-system error caused by the environment, or None for anything else."""
    found = environment_reason(exc)
    if found is None:
        return None
    code, reason, fix = found
    path = getattr(exc, "filename", None)
    where = f"{os.fsdecode(path)}: " if path else ""
    return f"{where}{reason} ([Errno {code}]); {fix}"


def _out_of_memory(exc: BaseException) -> bool:
    """A failed allocation: Python's ``MemoryError`` or torch's allocator error (CPU and
    CUDA), which the checks before training did not foresee."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "can't allocate memory" in text or "out of memory" in text.lower()
    )


def _broken_pipe(exc: BaseException) -> bool:
    return isinstance(exc, BrokenPipeError) or getattr(exc, "errno", None) == errno.EPIPE


def _silence_stdout() -> None:
    """Point stdout at the null device: the interpreter's last flush of a closed pipe
    would otherwise print "Exception ignored ... BrokenPipeError" (Python's docs, "Note
    on SIGPIPE")."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _raise_broken_pipe(console: Any) -> None:
    raise BrokenPipeError(errno.EPIPE, "broken pipe")


@contextlib.contextmanager
def _rich_broken_pipe() -> Any:
    """Let rich's tables report a closed stdout as every other write does.

    rich's ``Console.on_broken_pipe`` (a documented hook) exits with status 1 and no word;
    while a command runs it raises :class:`BrokenPipeError` instead, for the one line and
    exit 2 of :meth:`_ErrorHandlingGroup.invoke`.
    """
    try:
        from rich.console import Console
    except ImportError:  # pragma: no cover - rich is a dependency
        yield
        return
    saved = Console.__dict__.get("on_broken_pipe")
    Console.on_broken_pipe = _raise_broken_pipe  # type: ignore[method-assign]
    try:
        yield
    finally:
        if saved is not None:
            Console.on_broken_pipe = saved  # type: ignore[method-assign]


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
        with warnings.catch_warnings(), _rich_broken_pipe():
            warnings.showwarning = show_warning
            return self._invoke(ctx)

    def _invoke(self, ctx: Any) -> Any:
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
        except OSError as exc:
            if _broken_pipe(exc):
                _silence_stdout()
                raise fail(
                    "stdout was closed before the output was complete (broken pipe, e.g. "
                    "'| head'); the rest of the output was dropped"
                ) from None
            message = environment_message(exc)
            if message is None:
                raise self._internal(ctx, exc) from None
            if os.environ.get("EMBEDLAB_DEBUG") == "1" or _verbose(ctx):
                traceback.print_exc()
            raise fail(message) from None
        except Exception as exc:
            if _out_of_memory(exc):
                raise fail(
                    f"out of memory ({' '.join(str(exc).split()) or type(exc).__name__}); "
                    "free memory, or use smaller sizes (--embedding-dim, --hidden, --batch-size)"
                ) from None
            raise self._internal(ctx, exc) from None

    @staticmethod
    def _internal(ctx: Any, exc: BaseException) -> typer.Exit:
        """Report a bug: one line (and the traceback when asked); the Exit to raise."""
        if os.environ.get("EMBEDLAB_DEBUG") == "1" or _verbose(ctx):
            traceback.print_exc()
        typer.echo(
            f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())} "
            "(this is a bug in embedlab; rerun with --verbose or EMBEDLAB_DEBUG=1 for the traceback "
            "and report it)",
            err=True,
        )
        return typer.Exit(INTERNAL_ERROR)


app = typer.Typer(
    name="embedlab",
    cls=_ErrorHandlingGroup,
    help=(
        "Learn, explore and serve embeddings of categorical variables.\n\n"
        "Exit codes: 0 ok; 2 a user error or a fault of the environment (a missing file, a "
        "bad option, an unknown ID, a full disk, a closed pipe: one line on stderr); 1 an internal error (--verbose or EMBEDLAB_DEBUG=1 prints its "
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

    Exit codes: 0 ok, 2 a user error or a fault of the environment (one line on
    stderr), 1 an internal error
    (--verbose or EMBEDLAB_DEBUG=1 prints its traceback).

    Every command takes --quiet/-q (only the result) and --verbose/-v (more detail).
    """


def _register() -> None:
    from embedlab.cli import (
        _demo,  # noqa: F401  (registers `demo`)
        _experiment,  # noqa: F401  (registers `experiment size-sweep`, `biases`, `l2`)
        _explore,  # noqa: F401  (registers `similar`, `recommend` and `export`)
        _features,  # noqa: F401  (registers `features fit|transform|similar|export`)
        _fetch,  # noqa: F401  (registers `data fetch` and `data list`)
        _serve,  # noqa: F401  (registers `serve`)
        _synth,  # noqa: F401  (registers `data synth`)
        _train,  # noqa: F401  (registers `train`, `evaluate` and `info`)
        _viz,  # noqa: F401  (registers `map` and `plot history|biases|sweep|obscurity`)
    )
    from embedlab.cli._data import data_app

    app.add_typer(data_app, name="data")


_register()
