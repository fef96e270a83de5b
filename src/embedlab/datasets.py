"""Ready-made datasets: MovieLens found on disk or downloaded on demand.

>>> import embedlab as el
>>> ds = el.datasets.movielens("ml-100k")  # doctest: +SKIP

Where a release is looked for, in order:

1. ``data=PATH`` when given: the release folder itself (``…/ml-100k``), a folder
   holding it (``…/data`` with ``ml-100k/`` or ``ml-100k.zip`` inside) or a ``.zip`` file. Nothing else
   is searched: a wrong explicit path is an error, not a reason to download.
2. ``$EMBEDLAB_DATA``: the release folder itself (``…/ml-100k``, as ``data=`` takes it) or a
   folder holding ``ml-100k/``, ``ml-latest-small/``... or their zips.
3. The download cache (``$EMBEDLAB_CACHE`` or the user cache directory).
4. GroupLens, through :func:`embedlab.data.fetch_movielens` (checksum, progress bar),
   unless ``download=False``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from embedlab import _config
from embedlab.data import (
    MovieLensRelease,
    fetch_movielens,
    get_release,
    movielens_releases,
)
from embedlab.exceptions import DatasetNotFoundError, DownloadError

if TYPE_CHECKING:
    from embedlab.data import Interactions

__all__ = ["MovieLensRelease", "find_movielens", "movielens", "releases"]


def releases() -> list[MovieLensRelease]:
    """The MovieLens releases that :func:`movielens` knows.

    Returns:
        A list of :class:`MovieLensRelease` (name, folder, files, number of ratings,
        size, pinned checksums); ``r.to_dict()`` gives a JSON-ready dict.
    """
    return movielens_releases()


def _holds(folder: Path, release: MovieLensRelease) -> bool:
    return (folder / release.ratings_file).is_file()


def _in(
    directory: Path, release: MovieLensRelease, *, itself: bool, loose: bool = True
) -> Path | None:
    """The release in ``directory``: its ``<folder>/`` (or ``<name>/``), itself, or ``<name>.zip``.

    ``itself`` lets ``directory`` be the release folder when it is named like it
    (``…/ml-100k``); ``loose`` also under another name (an explicit path only: in a
    search directory a loose ``ratings.csv`` could be any release).
    """
    named = directory.name in (release.folder, release.name)
    if itself and named and _holds(directory, release):
        return directory
    for sub in dict.fromkeys((release.folder, release.name)):
        if _holds(directory / sub, release):
            return directory / sub
    if itself and loose and _holds(directory, release):
        return directory
    if (directory / f"{release.name}.zip").is_file():
        return directory / f"{release.name}.zip"
    return None


def _tried(
    directory: Path, release: MovieLensRelease, *, itself: bool, loose: bool = True
) -> list[Path]:
    """The files :func:`_in` looks for in ``directory``, in its order (for messages)."""
    named = directory.name in (release.folder, release.name)
    paths = [directory / release.ratings_file] if itself and (loose or named) else []
    paths += [directory / sub / release.ratings_file for sub in (release.folder, release.name)]
    paths.append(directory / f"{release.name}.zip")
    return list(dict.fromkeys(paths))


def _search(
    release: MovieLensRelease,
    data: str | os.PathLike[str] | None,
    cache_dir: str | os.PathLike[str] | None,
) -> tuple[Path | None, list[Path]]:
    """The release on disk (or None) and the paths looked at, in order."""
    if data is not None:
        path = Path(data).expanduser()
        if path.is_file() and path.suffix.lower() == ".zip":
            return path, [path]
        tried = _tried(path, release, itself=True)
        return (_in(path, release, itself=True) if path.is_dir() else None), tried
    dirs = _config.data_dirs()
    if cache_dir is not None:
        dirs = [*dirs[:-1], Path(cache_dir).expanduser()]
    tried: list[Path] = []
    for i, directory in enumerate(dirs):
        # $EMBEDLAB_DATA may name the release folder itself, as data= does; the cache may not
        itself = i < len(dirs) - 1
        tried += _tried(directory, release, itself=itself, loose=False)
        found = _in(directory, release, itself=itself, loose=False) if directory.is_dir() else None
        if found is not None:
            return found, tried
    return None, tried


def _listing(paths: list[Path]) -> str:
    return ", ".join(str(p) for p in paths)


def find_movielens(
    name: str | MovieLensRelease = "ml-100k",
    data: str | os.PathLike[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path | None:
    """Find a MovieLens release on disk, without downloading.

    Args:
        name: Release name (``"ml-100k"``, ``"ml-latest-small"``...).
        data: An explicit location: the release folder, a folder holding it, or a
            ``.zip``. When given, only it is searched. Otherwise ``$EMBEDLAB_DATA``
            (the release folder or a folder holding it), then the cache.
        cache_dir: The download cache to search instead of the default one.

    Returns:
        The release folder (or zip), or ``None`` if it is not there.

    Raises:
        DataError: If ``name`` is not a known release.
    """
    return _search(get_release(name), data, cache_dir)[0]


def movielens(
    name: str = "ml-100k",
    *,
    data: str | os.PathLike[str] | None = None,
    download: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    progress: bool = True,
) -> Interactions:
    """Load a MovieLens release: from ``data``, ``$EMBEDLAB_DATA``, the cache, or GroupLens.

    Args:
        name: Release name; see :func:`releases`.
        data: The release folder, a folder holding ``<folder>/``, or a ``.zip``.
            When given, nothing else is searched or downloaded.
        download: Download into the cache when the release is not on disk.
        cache_dir: The download cache (default ``$EMBEDLAB_CACHE`` or the user cache).
        base_url: A mirror serving ``<base_url>/<name>.zip``.
        progress: Show a progress bar while downloading.

    Returns:
        The ratings with vocabularies and metadata, as ``load_movielens`` reads them.

    Raises:
        DataError: If ``name`` is unknown or the files are malformed.
        DatasetNotFoundError: If the release is not at ``data``, or is not on disk and
            ``download`` is false.
        DownloadError: If downloading fails (offline, HTTP error, checksum).
    """
    release = get_release(name)
    path, tried = _search(release, data, cache_dir)
    if path is None and data is not None:
        where = Path(data).expanduser()
        raise DatasetNotFoundError(
            f"data={str(where)!r} does not hold {release.name}: tried {_listing(tried)}; "
            f"expected the {release.folder} folder itself, a folder holding it, or its .zip"
        )
    if path is None:
        env = os.environ.get(_config.DATA_ENV)
        searched = f"{_config.DATA_ENV}={env}" if env else f"{_config.DATA_ENV} (unset)"
        if not download:
            raise DatasetNotFoundError(
                f"{release.name} is not on disk (searched {searched} and the cache; tried "
                f"{_listing(tried)}) and downloading is off; pass --data PATH or set "
                f"{_config.DATA_ENV} to the {release.folder}/ folder or a folder holding it, "
                "or allow downloading"
            )
        try:
            path = fetch_movielens(
                release, cache_dir=cache_dir, base_url=base_url, progress=progress
            )
        except DownloadError as exc:
            if not env:
                raise
            raise DownloadError(
                f"{exc} ({release.name} is not on disk either: {searched}; tried {_listing(tried)})"
            ) from exc
    from embedlab.data import load_movielens

    return load_movielens(path)
