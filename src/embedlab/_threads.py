"""One threading policy for numba, torch and BLAS: how many threads, and how they wait.

Every engine, the settings' resolvers and the t-SNE map size their threads here
instead of each guessing from the machine:

* :func:`available_cpus`: the CPUs this process may really use, the smallest of its
  affinity mask (``os.sched_getaffinity``) and its cgroup CPU quota (v2
  ``cpu.max``, v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``), rounded up.
* :func:`default_threads`: the user's choice, ``$EMBEDLAB_NUM_THREADS``
  (:data:`THREADS_ENV`), else :func:`available_cpus`. A model's ``n_threads``
  setting (``--n-threads`` on the command line) wins over both.
* :func:`parallel_section`: numba's pool at the chosen size for one compiled
  region, with torch's intra-op pool at one thread and BLAS at one thread inside it,
  so that no parallel region runs inside another (each library sizing itself to the
  machine inside another's threads oversubscribes the cores). With ``adapt=True``
  (kernels made of many short parallel regions, such as the neural model's compiled
  epoch) it also leaves out the CPUs other programs keep busy at that moment
  (:func:`other_runnable`): a region ends when its slowest thread does, so a thread
  descheduled by another program holds up every region. Measured on 2 cores beside
  two busy loops, the default neural fit at ML-1M's shape: epochs of 1.2 s quiet on
  2 threads took 9 s busy on 2 threads and 3.6 s busy adapted to 1 (1 thread,
  quiet: 2.2 s).
* :func:`configure_runtime`: how OpenMP threads wait, called when this module is
  imported (``embedlab/__init__`` imports it first, before torch or numba can load
  the OpenMP runtime, which reads it once).

This module is the lowest layer: it imports nothing of embedlab's but
:mod:`embedlab.exceptions`, and numba, torch and threadpoolctl only when a function
needs them.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from embedlab.exceptions import SettingsError

__all__ = [
    "SPINCOUNT",
    "THREADS_ENV",
    "available_cpus",
    "cgroup_cpu_limit",
    "configure_runtime",
    "default_threads",
    "other_runnable",
    "parallel_section",
    "resolve_threads",
]

#: The user's thread count for every engine, the t-SNE map and the server, when the
#: call (``n_threads=``) or the command line (``--n-threads``) does not give one.
THREADS_ENV = "EMBEDLAB_NUM_THREADS"

#: GNU OpenMP's spin before a waiting thread sleeps (``GOMP_SPINCOUNT``; libgomp's
#: default is 300,000, ``OMP_WAIT_POLICY=passive`` is 0). Threads that spin at the end
#: of every parallel region keep the cores from the programs beside them, and a
#: thread they wait for may be descheduled; threads that sleep at once are slow to
#: wake for the next short region. Measured on a 2-core machine (ML-1M shape), quiet
#: and beside two busy loops: torch's scoring for ``recommend_batch()`` 0.56 -> 1.46 s
#: (2.6x) at the default, 0.58 -> 0.81 s passive, 0.65 -> 0.98 s at 10,000; two epochs
#: of the compiled neural model, quiet: 4.9-6.4 s at the default, 7.7 s passive,
#: 5.5 s at 10,000. The middle keeps the quiet speed and most of the busy one.
SPINCOUNT = "10000"

#: Where cgroup files are read (a test points it at a temporary folder).
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def cgroup_cpu_limit(root: Path | None = None) -> float | None:
    """The CPU quota of this process's cgroup, in CPUs (``1.5``), or ``None`` if unlimited.

    Reads cgroup v2's ``cpu.max`` (``"150000 100000"`` or ``"max 100000"``), else v1's
    ``cpu/cpu.cfs_quota_us`` and ``cpu/cpu.cfs_period_us`` (quota ``-1``: unlimited),
    under ``root`` (default :data:`CGROUP_ROOT`). Unreadable or malformed files count
    as no limit.
    """
    root = CGROUP_ROOT if root is None else Path(root)
    v2 = _read(root / "cpu.max")
    if v2 is not None:
        parts = v2.split()
        if len(parts) == 2 and parts[0] != "max":
            try:
                quota, period = float(parts[0]), float(parts[1])
            except ValueError:
                return None
            return quota / period if quota > 0 and period > 0 else None
        return None
    for folder in (root / "cpu", root / "cpu,cpuacct", root):
        quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
        if quota is None or period is None:
            continue
        try:
            q, p = float(quota), float(period)
        except ValueError:
            return None
        return q / p if q > 0 and p > 0 else None
    return None


def available_cpus(root: Path | None = None) -> int:
    """CPUs this process may use: the smallest of its affinity mask, its cgroup quota
    (rounded up: a 1.5-CPU quota gives 2) and ``os.cpu_count()``; at least 1."""
    affinity = getattr(os, "sched_getaffinity", None)  # absent on macOS and Windows
    n = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    limit = cgroup_cpu_limit(root)
    if limit is not None:
        n = min(n, math.ceil(limit))
    return max(1, n)


def _env_threads() -> int | None:
    raw = os.environ.get(THREADS_ENV)
    if raw is None or raw.strip() == "":
        return None
    try:
        n = int(raw.strip())
    except ValueError:
        n = 0
    if n < 1:
        raise SettingsError(
            f"{THREADS_ENV}={raw!r}: expected a whole number of threads >= 1; "
            f"set it to e.g. {THREADS_ENV}=2, or unset it to use all available CPUs"
        )
    return n


def default_threads() -> int:
    """Threads when the call does not say: ``$EMBEDLAB_NUM_THREADS``, else
    :func:`available_cpus` (at most ``$NUMBA_NUM_THREADS`` where that is set, the size
    of numba's pool).

    Raises:
        SettingsError: ``$EMBEDLAB_NUM_THREADS`` is not a whole number >= 1.
    """
    env = _env_threads()
    if env is not None:
        return env
    n = available_cpus()
    numba_pool = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    if numba_pool.isdigit() and int(numba_pool) > 0:
        n = min(n, int(numba_pool))
    return n


def resolve_threads(n_threads: int | None) -> int:
    """``n_threads`` if given, else :func:`default_threads`."""
    return default_threads() if n_threads is None else int(n_threads)


def configure_runtime(environ: dict[str, str] | None = None) -> None:
    """Set the OpenMP wait default, :data:`SPINCOUNT`, unless the user chose one
    (``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY`` set). It takes effect only if the
    OpenMP runtime has not been loaded yet (``embedlab`` imported before torch)."""
    env = os.environ if environ is None else environ
    if "OMP_WAIT_POLICY" not in env:
        env.setdefault("GOMP_SPINCOUNT", SPINCOUNT)


def _runnable_total(path: Path) -> int | None:
    text = _read(path)
    try:
        return int(text.split()[3].split("/")[0]) if text else None
    except (IndexError, ValueError):
        return None


def _own_running(task_dir: Path) -> int:
    running = 0
    try:
        tasks = list(task_dir.iterdir())
    except OSError:
        return 1
    for task in tasks:
        stat = _read(task / "stat")
        # "pid (comm) S ...": the state follows the last ")" (comm may hold spaces)
        if stat and stat[stat.rfind(")") + 2 : stat.rfind(")") + 3] == "R":
            running += 1
    return max(1, running)


def other_runnable(
    samples: int = 5,
    *,
    loadavg: Path = Path("/proc/loadavg"),
    tasks: Path = Path("/proc/self/task"),
) -> int:
    """Threads of other programs ready to run right now (the median of ``samples``
    readings of ``/proc/loadavg``'s runnable count, less this process's running
    threads); 0 where ``/proc`` is not there."""
    counts = []
    for k in range(samples):
        total = _runnable_total(loadavg)
        if total is None:
            return 0
        counts.append(max(0, total - _own_running(tasks)))
        if k + 1 < samples:
            time.sleep(0.001)
    counts.sort()
    return counts[len(counts) // 2]


@contextmanager
def parallel_section(n_threads: int | None, *, adapt: bool = False) -> Iterator[int]:
    """Run numba's parallel regions on ``n_threads`` threads (``None``:
    :func:`default_threads`; at most numba's pool), with torch's intra-op pool and the
    BLAS pools at one thread inside, so no parallel region nests in another; all are
    restored on exit. Yields numba's thread count.

    ``adapt``: also at most the CPUs that other programs leave free now
    (:func:`available_cpus` less :func:`other_runnable`, at least 1). Only for kernels
    whose results do not depend on the thread count.
    """
    import numba

    wanted = resolve_threads(n_threads)
    n = max(1, min(wanted, numba.config.NUMBA_NUM_THREADS))
    if adapt and n > 1:
        n = max(1, min(n, available_cpus() - other_runnable()))
    before = numba.get_num_threads()
    # numba's OpenMP layer shares the runtime with torch: setting numba's count also
    # sets torch's, so torch's is put back on exit either way.
    torch = sys.modules.get("torch")
    torch_before = torch.get_num_threads() if torch is not None else None
    numba.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(1)
    try:
        with _blas_limit(1):
            yield n
    finally:
        numba.set_num_threads(before)
        if torch is not None and torch_before is not None:
            torch.set_num_threads(torch_before)


def _blas_limit(n: int):
    """BLAS pools at ``n`` threads (threadpoolctl, when installed and BLAS is loaded)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn installs it
        return nullcontext()
    return threadpool_limits(n, user_api="blas")


configure_runtime()
