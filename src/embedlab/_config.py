"""Environment variables and default locations, in one place."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["CACHE_ENV", "DATA_ENV", "cache_dir", "data_dirs"]

#: A MovieLens release folder (``…/ml-100k``, as ``--data`` takes it) or a directory
#: holding release folders (``ml-100k/``, ``ml-latest-small/``...) or their zips: the
#: offline alternative to downloading.
DATA_ENV = "EMBEDLAB_DATA"
#: Where downloads are cached; default: the user cache directory.
CACHE_ENV = "EMBEDLAB_CACHE"


def cache_dir() -> Path:
    """The download cache: ``$EMBEDLAB_CACHE``, else the platform's user cache dir."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("embedlab"))


def data_dirs() -> list[Path]:
    """Directories searched for datasets before downloading: ``$EMBEDLAB_DATA`` (a release
    folder or its parent) then the cache."""
    dirs = []
    env = os.environ.get(DATA_ENV)
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(cache_dir())
    return dirs
