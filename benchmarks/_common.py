"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The real MovieLens files: ``$EMBEDLAB_TEST_DATA``, else ``../shared/data``."""
    return Path(os.environ.get("EMBEDLAB_TEST_DATA", REPO.parent / "shared" / "data")).expanduser()


def cpu_name() -> str:
    """The processor's model name, for the report."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def git_commit() -> str:
    """The short commit of the checkout, noting uncommitted changes under src/."""
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return out.stdout.strip() + (" (src/ has uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def rss_mib() -> float:
    """This process's resident set size now, in MiB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def maxrss_mib() -> float:
    """``getrusage(RUSAGE_SELF).ru_maxrss`` in MiB (KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_mib() -> float:
    """This process's peak resident set size: ``VmHWM`` of ``/proc/self/status``.

    ``getrusage(RUSAGE_SELF).ru_maxrss`` is not used for this on Linux: a child started
    by fork + exec inherits its parent's peak there (it is kept as :func:`maxrss_mib`).
    """
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return maxrss_mib()


def peer_versions(peer_python: Path, runner: Path) -> dict:
    """The versions a peer runner reports (``RUNNER . --versions``, a JSON line) in the
    peers' environment; {} without that environment."""
    if not peer_python.exists():
        return {}
    proc = subprocess.run(
        [str(peer_python), str(runner), ".", "--versions"], capture_output=True, text=True
    )
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    return {}


def library_versions(commit: bool = False) -> dict[str, str]:
    """Python, NumPy, pandas, scikit-learn, torch and embedlab versions (and the git commit)."""
    import numpy as np
    import pandas as pd
    import sklearn
    import torch

    import embedlab

    out = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
        "embedlab": embedlab.__version__,
    }
    if commit:
        out["commit"] = git_commit()
    return out


def write_results(name: str, result: dict, markdown: str) -> None:
    """Write ``results/<name>.json`` and ``results/<name>.md`` and say so."""
    folder = REPO / "benchmarks" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (folder / f"{name}.md").write_text(markdown)
    print(f"wrote {folder / (name + '.md')} and {name}.json")
