"""Memory a fit needs, checked against the memory available before any table is built.

A width of 2**40 or a hidden layer of 10**14 units would otherwise reach the allocator
and end in its message (``DefaultCPUAllocator: can't allocate memory``), or worse, in the
operating system's out-of-memory killer after the machine has been swapping for minutes.
:func:`check_training_memory` estimates the bytes of the tables, the network, the
optimizer's state and the copies the engine keeps, and raises a
:class:`~embedlab.exceptions.SettingsError` that names the setting responsible, the
estimate and the memory available.

The estimate is a lower bound of what training allocates (float32 everywhere)::

    tables      (n_users + n_items) · (embedding_dim + 1) · 4 bytes   (vectors and biases)
    network     Σ (fan_in + 1) · fan_out · 4 bytes                   (neural model)
    copies      × (1 + optimizer state + engine copy + best epoch)   (see ``_copies``)
    batch       min(batch_size, ratings) · Σ widths · 4 bytes · 3     (neural model)
    scratch     16 · (max width² + max width) · 4 bytes              (compiled neural engine)

The setting named is the one whose reset to its default frees the most of the estimate.

Available memory: ``psutil.virtual_memory().available`` when psutil is installed, else
``MemAvailable`` of ``/proc/meminfo``, else ``os.sysconf`` (available physical pages),
capped by a cgroup (container) limit when one is set; on a GPU, its free memory.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

from embedlab.exceptions import SettingsError

__all__ = ["available_memory", "check_training_memory", "training_memory"]

_FLOAT = 4  # bytes of a float32
_OPTIMIZER_STATE = {"adam": 2, "adagrad": 1, "sgd": 0, None: 2}


def _format_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} EiB"  # pragma: no cover


def _cgroup_room() -> int | None:
    """Bytes a cgroup (v2, else v1) memory limit leaves to this process, or None."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit == "max" or not limit.isdigit() or int(limit) >= 1 << 60:
            return None
        return max(int(limit) - usage, 0)
    return None


def available_memory(device: str = "cpu") -> tuple[int | None, str]:
    """``(bytes, where the number comes from)`` of the memory a fit may still use;
    ``(None, ...)`` when it cannot be told."""
    if device == "cuda":
        try:
            import torch

            free, _ = torch.cuda.mem_get_info()
            return int(free), "free GPU memory"
        except Exception:  # no CUDA, or a driver that cannot tell: no check
            return None, "GPU memory unknown"
    found: int | None = None
    source = "unknown"
    try:
        import psutil

        found, source = int(psutil.virtual_memory().available), "available RAM (psutil)"
    except Exception:  # psutil missing (an optional extra) or failing
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
                    source = "available RAM (/proc/meminfo)"
                    break
        except (OSError, ValueError, IndexError):
            pass
        if found is None:
            try:
                pages = os.sysconf("SC_AVPHYS_PAGES")
                found, source = pages * os.sysconf("SC_PAGE_SIZE"), "available RAM (sysconf)"
            except (ValueError, OSError, AttributeError):
                pass
    room = _cgroup_room()
    if room is not None and (found is None or room < found):
        found, source = room, "memory left under the container's limit (cgroup)"
    return found, source


def _copies(settings: Any) -> int:
    """How many table-sized arrays a fit holds: the model, the optimizer's state, the
    engine's own copy or gradient tables, the best epoch's copy."""
    engine = getattr(settings, "engine", None)
    neural = hasattr(settings, "hidden")
    copies = 1
    if neural or engine == "torch":
        copies += _OPTIMIZER_STATE.get(getattr(settings, "optimizer", None), 2)
    if (neural and engine == "compiled") or engine in ("sgd", "als", "spark"):
        copies += 1  # the compiled engines' gradient tables or own copy of the tables
    if getattr(settings, "patience", None):
        copies += 1
    return copies


def _bytes(
    settings: Any,
    n_users: int,
    n_items: int,
    n_ratings: int,
    *,
    dims: tuple[int, int],
    hidden: tuple[int, ...],
    batch_size: int | None,
) -> int:
    """The estimate of the module docstring for these widths and batch size."""
    du, di = dims
    copies = _copies(settings)
    total = (n_users * (du + 1) + n_items * (di + 1)) * copies
    if not hasattr(settings, "hidden"):
        return total * _FLOAT
    if getattr(settings, "pretrain", None) == "mf":  # the MF fit that starts the tables
        total += (n_users + n_items) * (du + 1) * 2
    widths = [du + di, *hidden, 1]
    weights = sum((a + 1) * b for a, b in itertools.pairwise(widths))
    total += weights * (copies + 1)  # + the gradients
    batch = min(int(batch_size or 1), max(int(n_ratings), 1))
    total += batch * sum(widths) * 3
    if getattr(settings, "engine", None) == "compiled":
        widest = max(widths)
        total += 16 * (widest * widest + widest)
    return total * _FLOAT


def _values(settings: Any) -> dict[str, Any]:
    neural = hasattr(settings, "hidden")
    dims = settings.dims if neural else (int(settings.embedding_dim),) * 2
    return {
        "dims": tuple(dims),
        "hidden": tuple(settings.hidden) if neural else (),
        "batch_size": getattr(settings, "batch_size", None),
    }


def training_memory(settings: Any, n_users: int, n_items: int, n_ratings: int) -> int:
    """A lower bound of the bytes a fit with ``settings`` allocates (module docstring)."""
    return _bytes(settings, n_users, n_items, n_ratings, **_values(settings))


def _culprit(settings: Any, n_users: int, n_items: int, n_ratings: int, total: int) -> str:
    """The setting whose reset to its default frees the most memory."""
    values = _values(settings)
    defaults = type(settings).defaults() if hasattr(type(settings), "defaults") else {}
    options = {"embedding_dim": "dims"}
    if hasattr(settings, "hidden"):
        options |= {"hidden": "hidden", "batch_size": "batch_size"}
    best, freed = "embedding_dim", 0
    for name, key in options.items():
        default = defaults.get(name)
        if default is None:
            continue
        if key == "dims":
            default = (default, default) if isinstance(default, int) else tuple(default)
        elif key == "hidden":
            default = tuple(default)
        less = total - _bytes(settings, n_users, n_items, n_ratings, **(values | {key: default}))
        if less > freed:
            best, freed = name, less
    return best


def check_training_memory(settings: Any, n_users: int, n_items: int, n_ratings: int) -> None:
    """Raise before building the tables when the fit cannot fit in the memory available.

    Args:
        settings: The resolved settings of the fit (``MFSettings`` or ``NeuralSettings``).
        n_users, n_items: The sizes of the tables.
        n_ratings: The number of training ratings.

    Raises:
        SettingsError: The estimate (:func:`training_memory`) exceeds the memory
            available (:func:`available_memory`); the message names the setting whose
            reset to its default frees the most, the estimate and the memory available.
    """
    total = training_memory(settings, n_users, n_items, n_ratings)
    device = getattr(settings, "device", "cpu") or "cpu"
    available, source = available_memory("cuda" if device == "cuda" else "cpu")
    if available is None or total <= available:
        return
    name = _culprit(settings, n_users, n_items, n_ratings, total)
    value = getattr(settings, name)
    shown = f"({','.join(map(str, value))})" if isinstance(value, tuple) else value
    raise SettingsError(
        f"{name}={shown}: training on {n_users:,} users, {n_items:,} items and "
        f"{n_ratings:,} ratings needs at least {_format_bytes(total)} of memory, but "
        f"{_format_bytes(available)} is available ({source}); pass a smaller value"
    )
