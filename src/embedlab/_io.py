"""Small file-system helpers shared by every layer: atomic writes and their temporaries.

Every temporary file or folder a writer of embedlab creates beside its target is named
``.<target name>.embedlab-tmp.<pid>.<random>``: a fixed tag and the id of the process
writing it. A write that is killed (SIGKILL, a power cut, an out-of-memory kill) leaves
its temporary behind; the next write to the same place removes the ones whose process
is gone (:func:`remove_stale_temporaries`), and never one whose process still runs, nor
one of the current process.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "OLD_TAG",
    "STORAGE_ERRNOS",
    "TMP_TAG",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "pid_alive",
    "remove_stale_temporaries",
    "storage_errno",
    "storage_failure",
    "temp_prefix",
]

#: Tag in the name of a temporary being written (``.NAME.embedlab-tmp.PID.RANDOM``).
TMP_TAG = "embedlab-tmp"
#: Tag of a previous version moved aside while a new one is swapped in (bundles).
OLD_TAG = "embedlab-old"

#: Errors of the storage rather than of embedlab: the disk or quota is full, the file
#: system is read-only, the file is too large, or writing is not permitted.
STORAGE_ERRNOS = frozenset(
    code
    for code in (
        getattr(errno, name, None)
        for name in ("ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "EFBIG")
    )
    if code is not None
)

_ERRNO_TEXT = re.compile(r"\[errno (\d+)\]|os error (\d+)", re.IGNORECASE)


def temp_prefix(name: str, tag: str = TMP_TAG) -> str:
    """The name prefix of this process's temporaries for target ``name``: ``.NAME.TAG.PID.``."""
    return f".{name}.{tag}.{os.getpid()}."


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` may still be running (True when it cannot be told).

    Only a ``ProcessLookupError`` from ``os.kill(pid, 0)`` counts as gone; the current
    process, a process of another user (``PermissionError``) and, on Windows (where
    ``os.kill`` does not probe), every process count as alive.
    """
    if pid == os.getpid() or pid <= 0 or os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, owned by someone else
        return True
    return True


def _stale_pattern(name: str | None, tags: tuple[str, ...]) -> re.Pattern[str]:
    target = ".+" if name is None else re.escape(name)
    alternatives = "|".join(re.escape(t) for t in tags)
    return re.compile(rf"^\.(?:{target})\.(?:{alternatives})\.(\d+)\.[A-Za-z0-9_]+$")


def remove_stale_temporaries(
    directory: str | os.PathLike[str],
    name: str | None = None,
    tags: tuple[str, ...] = (TMP_TAG,),
) -> list[Path]:
    """Remove the temporaries that killed writers left in ``directory``; return them.

    Args:
        directory: The folder the writers wrote into.
        name: Only the temporaries of target ``name`` (None: of any target).
        tags: Which kinds (:data:`TMP_TAG`, :data:`OLD_TAG`).

    Only names of the form ``.NAME.TAG.PID.RANDOM`` whose process ``PID`` no longer
    exists are removed (:func:`pid_alive`); errors while removing are ignored (another
    writer may be sweeping the same folder).
    """
    folder = Path(directory)
    pattern = _stale_pattern(name, tags)
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None or pid_alive(int(match.group(1))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
        if not (entry.exists() or entry.is_symlink()):
            removed.append(entry)
    return removed


def storage_errno(exc: BaseException) -> int | None:
    """The errno of ``exc`` when it is a storage failure (:data:`STORAGE_ERRNOS`), else None.

    Libraries that write through their own I/O layer (safetensors, pyarrow) raise their
    own exception types; their message still carries ``[Errno N]`` or ``os error N``.
    """
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code in STORAGE_ERRNOS:
        return code
    if isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in ("safetensors", "pyarrow"):
        for match in _ERRNO_TEXT.finditer(str(exc)):
            found = int(match.group(1) or match.group(2))
            if found in STORAGE_ERRNOS:
                return found
    return None


_STORAGE_FIX = {
    "ENOSPC": "free some space or write elsewhere",
    "EDQUOT": "free some of your quota or write elsewhere",
    "EFBIG": "write to a file system that allows larger files",
}


def storage_failure(code: int) -> tuple[str, str]:
    """``(reason, fix)`` for a storage errno: ``("No space left on device (ENOSPC)",
    "free some space or write elsewhere")``."""
    name = errno.errorcode.get(code, str(code))
    return f"{os.strerror(code)} ({name})", _STORAGE_FIX.get(
        name, "write to a folder you can write to"
    )


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The temporary file lives in the same directory, so the final ``os.replace`` is
    atomic: readers see the old file or the complete new one, never half of it. On
    any exception the temporary file is removed and ``path`` is left untouched.
    Temporaries of ``path`` left by killed writers are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, path.name)
    fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(path.name), dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode(encoding))
