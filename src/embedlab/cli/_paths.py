"""Output paths checked before a command starts its work.

A command that writes (``train --out``, ``export --out``, ``map --out``...) calls
:func:`check_output` first, so a path that cannot be written ends in one line and exit 2
before minutes of training, not after them. What is checked:

* the path is of the right kind: a file path is not an existing folder; a bundle or
  folder path is not an existing file, and an existing folder there is empty or holds
  what the command writes (a model bundle's ``model.json``, a projector export);
* the nearest existing folder above it is a folder (not a file: nothing can be written
  under a file) and is writable (not read-only, not the user's to write). Folders missing
  in between are created by the writer, as ``mkdir -p`` would.

The writers stay atomic (a temporary beside the target, then a rename), so a failure
later (a full disk) leaves any previous file or bundle as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from embedlab.exceptions import DataError

__all__ = ["check_output", "nearest_existing", "write_error", "write_staged"]

Kind = Literal["file", "bundle", "folder"]

#: What may already be at a ``"bundle"`` path: a previous bundle (replaced).
_BUNDLE_MARKER = "model.json"


def nearest_existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (``.`` for a relative path's start)."""
    current = path
    while not (current.exists() or current.is_symlink()):
        parent = current.parent
        if parent == current:
            break
        current = parent
    return current


def _writable(folder: Path) -> str | None:
    """Why ``folder`` cannot be written to, or None when it can (as far as ``access`` tells)."""
    if os.access(folder, os.W_OK | os.X_OK):
        return None
    try:  # access(2) says EROFS for a read-only mount, EACCES for permissions
        probe = os.statvfs(folder)
        if probe.f_flag & os.ST_RDONLY:
            return "is on a read-only file system"
    except (OSError, AttributeError):
        pass
    return "is not writable (permission denied)"


def check_output(
    path: Path | str,
    kind: Kind = "file",
    option: str = "--out",
    *,
    marker: str | None = None,
    what: str | None = None,
    writable: bool = True,
) -> Path:
    """Raise a one-line :class:`DataError` unless ``path`` can be written as ``kind``.

    Args:
        path: The output path given on the command line.
        kind: ``"file"`` (a file, replaced if it exists), ``"bundle"`` (a model bundle
            folder: new, empty, or a previous bundle) or ``"folder"`` (a folder: new or
            existing; with ``marker``, an existing non-empty one must hold ``marker``).
        option: The option or argument that named the path, for the message.
        marker: For ``"folder"``: the file that shows an existing folder holds an earlier
            output of the same kind (e.g. ``projector_config.pbtxt``).
        what: For ``"folder"`` with ``marker``: what such a folder is called.
        writable: Check that the folder can be written to (False for a cache that may
            only be read, when it holds what is asked for).

    Returns:
        ``path`` as a :class:`Path`.

    Raises:
        DataError: The path is of the wrong kind, lies under a file, or its folder is
            not writable.
    """
    path = Path(path)
    where = f"{option} {path}"
    if kind == "file":
        if path.is_dir():
            raise DataError(
                f"{where}: a folder exists there; expected a file path "
                "(an existing file is replaced); choose a file name, e.g. inside that folder"
            )
    else:
        if path.exists() and not path.is_dir():
            label = "a model bundle folder" if kind == "bundle" else "a folder"
            raise DataError(
                f"{where}: a file exists there; expected {label}; choose another path or "
                "remove the file"
            )
        if kind == "bundle":
            marker, what = _BUNDLE_MARKER, "a model bundle"
        if marker is not None and path.is_dir():
            try:
                empty = not any(path.iterdir())
            except OSError as exc:
                raise DataError(
                    f"{where}: the folder cannot be read ({exc.strerror or exc}); "
                    "choose a folder you can read and write"
                ) from None
            if not empty and not (path / marker).is_file():
                raise DataError(
                    f"{where}: a non-empty folder that is not {what} (it has no {marker}); "
                    f"expected a new or empty folder, or {what} to replace; choose another path"
                )
    base = nearest_existing(path.parent if path.parent != path else path)
    if not base.is_dir():
        raise DataError(
            f"{where}: {base} is a file, so nothing can be written under it; expected a path "
            "in a folder; choose another path"
        )
    # Writers put a temporary beside the target (in ``base``); a folder target that
    # exists is also written into.
    folders = [base] + ([path] if kind != "file" and path.is_dir() else [])
    for folder in folders if writable else []:
        reason = _writable(folder)
        if reason is not None:
            raise DataError(
                f"{where}: the folder {folder} {reason}; choose a folder you can write to"
            )
    return path


def _move_into(source: Path, dest: Path) -> None:
    """Rename ``source`` onto ``dest``; a folder onto an existing folder file by file."""
    if source.is_dir() and not source.is_symlink() and dest.is_dir():
        for entry in sorted(source.iterdir()):
            _move_into(entry, dest / entry.name)
        return
    os.replace(source, dest)


def write_staged(out: Path, write: Callable[[Path], Any]) -> None:
    """Run ``write(path)`` on a path in a temporary folder beside ``out``, then rename
    what it wrote into place.

    Every file the writer makes (``out`` itself, side files such as ``out.labels.tsv``,
    or the files of a folder ``out``) is complete before the first rename, so a failed
    write (a full disk, a read-only file system) leaves nothing half-written and any
    earlier output as it was. The writer sees the real name (formats chosen by suffix).
    """
    from embedlab._io import temp_prefix

    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=temp_prefix(out.name), dir=out.parent))
    try:
        write(stage / out.name)
        for entry in sorted(stage.iterdir()):
            _move_into(entry, out.parent / entry.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def write_error(option: str, path: Path, exc: OSError) -> DataError:
    """The one-line error of a write to ``path`` (named by ``option``) that failed; the
    write went through :func:`write_staged`, so nothing was left half-written."""
    from embedlab.cli._app import environment_reason

    found = environment_reason(exc)
    if found is None:
        return DataError(f"{option} {path}: cannot write ({exc.strerror or exc})")
    code, reason, fix = found
    return DataError(
        f"{option} {path}: cannot write: {reason} ([Errno {code}]); nothing was "
        f"half-written and any earlier {path.name} is unchanged; {fix}"
    )
