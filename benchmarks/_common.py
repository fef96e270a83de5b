"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import os
import platform
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
