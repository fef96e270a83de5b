"""Download MovieLens releases from GroupLens into the cache, verified and atomically.

:func:`fetch_movielens` streams ``<base_url>/<name>.zip`` to a temporary ``.part``
file in the cache, checks its length and checksum, tests and extracts the zip into
a temporary folder, checks the content (expected files, number of ratings) and only
then renames the folder into place (``<cache>/<folder>``). Any failure removes the
temporary files, so the final location holds a complete, verified release or
nothing.

A verified folder gets a small marker file (:data:`MARKER`) recording the release,
the source URL, the archive checksum and the size of each expected file; later calls
compare the sizes against the marker instead of counting millions of rows again.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from embedlab._config import CACHE_ENV, DATA_ENV
from embedlab._config import cache_dir as default_cache_dir
from embedlab._version import __version__
from embedlab.exceptions import DataError, DownloadError

__all__ = [
    "DEFAULT_BASE_URL",
    "MARKER",
    "MovieLensRelease",
    "check_release_folder",
    "count_ratings",
    "fetch_movielens",
    "get_release",
    "movielens_releases",
]

#: Where GroupLens publishes the MovieLens zips.
DEFAULT_BASE_URL = "https://files.grouplens.org/datasets/movielens"
#: Name of the marker file written into a verified, downloaded release folder.
MARKER = ".embedlab-release.json"

_CHUNK = 1 << 16
_USER_AGENT = f"embedlab/{__version__} (+https://example.invalid/embedlab)"


@dataclass(frozen=True)
class MovieLensRelease:
    """One MovieLens release as GroupLens distributes it.

    Attributes:
        name: Release name, also the zip's stem (``ml-100k`` → ``ml-100k.zip``).
        folder: The folder inside the zip (``ml-10M100K`` for ``ml-10m``).
        files: Files the folder must hold (the content check).
        ratings_file: The file holding one rating per line.
        ratings_header: Whether ``ratings_file`` starts with a header row.
        n_ratings: Number of ratings of a frozen release; ``None`` for the ``latest``
            releases, which GroupLens regenerates (only their files are checked).
        size_bytes: Size of the zip in bytes (exact where pinned, else approximate).
        md5: Pinned MD5 of the zip, or ``None``.
        sha256: Pinned SHA-256 of the zip, or ``None``.
        description: One line for humans.
    """

    name: str
    folder: str
    files: tuple[str, ...]
    ratings_file: str
    ratings_header: bool = False
    n_ratings: int | None = None
    size_bytes: int | None = None
    md5: str | None = None
    sha256: str | None = None
    description: str = ""

    @property
    def frozen(self) -> bool:
        """Whether the release never changes (its number of ratings is known)."""
        return self.n_ratings is not None

    def url(self, base_url: str | None = None) -> str:
        """The zip's URL under ``base_url`` (default: GroupLens)."""
        base = (base_url or DEFAULT_BASE_URL).rstrip("/")
        return f"{base}/{self.name}.zip"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``files`` as a list, plus ``url`` and ``frozen``)."""
        out = asdict(self)
        out["files"] = list(self.files)
        out["url"] = self.url()
        out["frozen"] = self.frozen
        return out


_ML100K_FOLDS = tuple(
    f"u{k}.{part}" for k in (1, 2, 3, 4, 5, "a", "b") for part in ("base", "test")
)
_CSV_FILES = ("ratings.csv", "movies.csv", "tags.csv", "links.csv")
_GENOME = ("genome-scores.csv", "genome-tags.csv")

# Checksums. Only values from a credible source are pinned:
# - md5: the values GroupLens publishes beside each zip in
#   https://files.grouplens.org/datasets/movielens/<name>.zip.md5 ("MD5 (<name>.zip) = ..."),
#   as pinned by independent projects, e.g. eli-osherovich/papers_with_code
#   datasets/movielens/dl_config.py (100k, 1m, 10m, 20m, 25m), dataset downloaders
#   using pooch (`known_hash="md5:d472be..."` for ml-32m) and many others that agree.
# - sha256 and exact sizes: tensorflow/datasets
#   tensorflow_datasets/url_checksums/movielens.txt (commit 1c076ac3c19c8ea83e1d1a75e0623c9a699e0d7c)
#   for ml-100k, ml-1m, ml-20m, ml-25m. It also lists ml-latest-small, which is not
#   pinned here because GroupLens regenerates the "latest" releases.
# - sizes of ml-10m and ml-32m: 65,566,137 and 238,950,008 bytes as recorded by projects
#   that checked them against the md5 above; ml-latest* sizes are approximate.
_RELEASES: tuple[MovieLensRelease, ...] = (
    MovieLensRelease(
        name="ml-100k",
        folder="ml-100k",
        files=("u.data", "u.item", "u.user", "u.genre", "u.occupation", "u.info", *_ML100K_FOLDS),
        ratings_file="u.data",
        n_ratings=100_000,
        size_bytes=4_924_029,
        md5="0e33842e24a9c977be4e0107933c0723",
        sha256="50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
        description="100,000 ratings (1-5) from 943 users on 1,682 movies, 1998; folds u1-u5, ua, ub",
    ),
    MovieLensRelease(
        name="ml-1m",
        folder="ml-1m",
        files=("ratings.dat", "movies.dat", "users.dat"),
        ratings_file="ratings.dat",
        n_ratings=1_000_209,
        size_bytes=5_917_549,
        md5="c4d9eecfca2ab87c1945afe126590906",
        sha256="a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
        description="1,000,209 ratings (1-5) from 6,040 users on 3,706 movies, 2003",
    ),
    MovieLensRelease(
        name="ml-10m",
        folder="ml-10M100K",
        files=("ratings.dat", "movies.dat", "tags.dat"),
        ratings_file="ratings.dat",
        n_ratings=10_000_054,
        size_bytes=65_566_137,
        md5="ce571fd55effeba0271552578f2648bd",
        description="10,000,054 ratings (0.5-5) from 69,878 users on 10,677 movies, 2009",
    ),
    MovieLensRelease(
        name="ml-20m",
        folder="ml-20m",
        files=(*_CSV_FILES, *_GENOME),
        ratings_file="ratings.csv",
        ratings_header=True,
        n_ratings=20_000_263,
        size_bytes=198_702_078,
        md5="cd245b17a1ae2cc31bb14903e1204af3",
        sha256="96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3",
        description="20,000,263 ratings (0.5-5) from 138,493 users on 26,744 movies, 2015",
    ),
    MovieLensRelease(
        name="ml-25m",
        folder="ml-25m",
        files=(*_CSV_FILES, *_GENOME),
        ratings_file="ratings.csv",
        ratings_header=True,
        n_ratings=25_000_095,
        size_bytes=261_978_986,
        md5="6b51fb2759a8657d3bfcbfc42b592ada",
        sha256="8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa",
        description="25,000,095 ratings (0.5-5) from 162,541 users on 59,047 movies, 2019",
    ),
    MovieLensRelease(
        name="ml-32m",
        folder="ml-32m",
        files=_CSV_FILES,
        ratings_file="ratings.csv",
        ratings_header=True,
        n_ratings=32_000_204,
        size_bytes=238_950_008,
        md5="d472be332d4daa821edc399621853b57",
        description="32,000,204 ratings (0.5-5) from 200,948 users on 84,432 movies, 2023",
    ),
    MovieLensRelease(
        name="ml-latest-small",
        folder="ml-latest-small",
        files=_CSV_FILES,
        ratings_file="ratings.csv",
        ratings_header=True,
        size_bytes=1_000_000,
        description="about 100,000 ratings from 600 users; regenerated by GroupLens (development only)",
    ),
    MovieLensRelease(
        name="ml-latest",
        folder="ml-latest",
        files=_CSV_FILES,
        ratings_file="ratings.csv",
        ratings_header=True,
        size_bytes=335_000_000,
        description="all ratings to date (over 33 million); regenerated by GroupLens (development only)",
    ),
)
_BY_NAME = {r.name: r for r in _RELEASES}


def movielens_releases() -> list[MovieLensRelease]:
    """The known MovieLens releases, smallest benchmark first.

    Returns:
        A new list of :class:`MovieLensRelease`.
    """
    return list(_RELEASES)


def get_release(name: str | MovieLensRelease) -> MovieLensRelease:
    """Look up a release by name (a :class:`MovieLensRelease` is returned as is).

    Args:
        name: A release name such as ``"ml-100k"``; case and a missing ``ml-``
            prefix are forgiven (``"100K"``), as is the folder name (``ml-10M100K``).

    Returns:
        The registry entry.

    Raises:
        DataError: If the name is not a known release; the message lists them.
    """
    if isinstance(name, MovieLensRelease):
        return name
    if not isinstance(name, str):
        raise DataError(
            f"release name: expected a string such as 'ml-100k', got {type(name).__name__}"
        )
    key = name.strip().lower()
    if key and not key.startswith("ml-"):
        key = f"ml-{key}"
    if key in _BY_NAME:
        return _BY_NAME[key]
    for release in _RELEASES:
        if release.folder.lower() == key:
            return release
    known = ", ".join(_BY_NAME)
    raise DataError(f"unknown MovieLens release {name!r}; known releases: {known}")


def _parse_checksum(checksum: str) -> tuple[str, str]:
    """``'md5:…'``, ``'sha256:…'`` or bare hex (32 → md5, 64 → sha256) → (algo, hex)."""
    text = checksum.strip().lower()
    algo, sep, digest = text.partition(":")
    if not sep:
        algo, digest = {32: "md5", 64: "sha256"}.get(len(text), ""), text
    expected_len = {"md5": 32, "sha256": 64}.get(algo)
    if (
        expected_len is None
        or len(digest) != expected_len
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise DataError(
            f"checksum={checksum!r}: expected 'md5:<32 hex digits>', 'sha256:<64 hex digits>' or bare hex digits"
        )
    return algo, digest


def _expected_checksums(release: MovieLensRelease, checksum: str | None) -> dict[str, str]:
    if checksum is not None:
        algo, digest = _parse_checksum(checksum)
        return {algo: digest}
    out = {}
    if release.sha256:
        out["sha256"] = release.sha256
    if release.md5:
        out["md5"] = release.md5
    return out


def count_ratings(path: str | os.PathLike[str], *, header: bool = False) -> int:
    """Count the rating rows of a ratings file, fast (counts line ends, parses nothing).

    Args:
        path: The ratings file.
        header: Whether the first line is a header (not counted).

    Returns:
        The number of lines (a last line without a line end counts), less the header.

    Raises:
        OSError: If the file cannot be read.
    """
    lines = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - (1 if header else 0), 0)


def check_release_folder(
    folder: str | os.PathLike[str], release: str | MovieLensRelease, *, count: bool = True
) -> None:
    """Check that a folder holds a complete release: expected files, number of ratings.

    Args:
        folder: The release folder (``…/ml-100k``).
        release: The release (name or registry entry).
        count: Whether to count the ratings of a frozen release (reads the whole file).

    Raises:
        DataError: If a file is missing or the number of ratings is wrong.
    """
    release = get_release(release)
    folder = Path(folder)
    missing = [f for f in release.files if not (folder / f).is_file()]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise DataError(
            f"{folder} is not a complete {release.name} release: missing {missing[0]}{more} "
            f"(expected {', '.join(release.files)})"
        )
    if count and release.n_ratings is not None:
        n = count_ratings(folder / release.ratings_file, header=release.ratings_header)
        if n != release.n_ratings:
            raise DataError(
                f"{folder / release.ratings_file}: expected {release.n_ratings:,} ratings for "
                f"{release.name}, found {n:,}; the files are incomplete or altered"
            )


def _file_sizes(folder: Path, release: MovieLensRelease) -> dict[str, int]:
    return {f: (folder / f).stat().st_size for f in release.files}


def _cached_ok(folder: Path, release: MovieLensRelease) -> bool:
    """Whether a cached folder is complete: the marker's sizes match, else a full check."""
    if not folder.is_dir():
        return False
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        if marker.get("release") == release.name and marker.get("files") == _file_sizes(
            folder, release
        ):
            return True
    except (OSError, ValueError, AttributeError):
        pass
    try:
        check_release_folder(folder, release)
    except (DataError, OSError):
        return False
    return True


def _offline_hint(release: MovieLensRelease) -> str:
    return (
        f"if you are offline, pass --data PATH or set {DATA_ENV} to a folder holding "
        f"{release.folder}/"
    )


def _describe(exc: BaseException) -> str:
    """A short reason for a network exception: 'HTTP 404 Not Found', 'timed out'..."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}".strip()
    if isinstance(exc, urllib.error.URLError):
        if not isinstance(exc.reason, BaseException):
            return " ".join(str(exc.reason).split())
        exc = exc.reason
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host: {exc.strerror or exc}"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


@contextlib.contextmanager
def _progress_bar(enabled: bool, label: str, total: int | None) -> Iterator[Any]:
    """A rich progress bar on stderr (bytes, speed, ETA), or a no-op."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


def _download(
    url: str,
    dest: BinaryIO,
    *,
    release: MovieLensRelease,
    timeout: float,
    progress: bool,
    algorithms: list[str],
) -> dict[str, str]:
    """Stream ``url`` into ``dest``; return the hex digests. Raises DownloadError."""
    hint = _offline_hint(release)
    hashers = {a: hashlib.new(a) for a in algorithms}
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            exc.close()
        raise DownloadError(
            f"could not download {release.name} from {url} ({_describe(exc)}); {hint}"
        ) from None
    received = 0
    with response:
        length_header = response.headers.get("Content-Length")
        try:
            expected = int(length_header) if length_header is not None else None
        except ValueError:
            expected = None
        with _progress_bar(progress, f"{release.name}.zip", expected) as advance:
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    raise DownloadError(
                        f"could not download {release.name} from {url} ({_describe(exc)} after "
                        f"{received:,} bytes); {hint}"
                    ) from None
                if not chunk:
                    break
                dest.write(chunk)  # an OSError here is the cache's (disk full): the caller says so
                for h in hashers.values():
                    h.update(chunk)
                received += len(chunk)
                advance(len(chunk))
    if expected is not None and received != expected:
        raise DownloadError(
            f"could not download {release.name} from {url} (truncated: received {received:,} of "
            f"{expected:,} bytes); {hint}"
        )
    return {a: h.hexdigest() for a, h in hashers.items()}


def _safe_members(archive: zipfile.ZipFile, release: MovieLensRelease, url: str) -> None:
    for info in archive.infolist():
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if info.filename.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            raise DataError(
                f"downloaded {release.name} from {url}: unsafe path {info.filename!r} in the zip; refusing to extract"
            )


def _rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _install(staged: Path, final: Path) -> None:
    """Move a verified ``staged`` folder to ``final`` atomically, replacing an old one."""
    old: Path | None = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        os.replace(final, old)
    try:
        os.replace(staged, final)
    except BaseException:
        if old is not None and not final.exists():
            os.replace(old, final)
            old = None
        raise
    finally:
        if old is not None:
            _rmtree(old)


def fetch_movielens(
    name: str | MovieLensRelease,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    force: bool = False,
    base_url: str | None = None,
    timeout: float = 30.0,
    progress: bool = True,
    checksum: str | None = None,
) -> Path:
    """Download a MovieLens release into the cache (or find it there) and return its folder.

    Without ``force``, a folder already in the cache that passes the content check is
    returned without touching the network. Otherwise the zip is streamed to a
    temporary ``.part`` file with a progress bar on stderr, its length and checksum
    are verified, it is tested and extracted into a temporary folder, the content is
    checked (expected files, number of ratings of a frozen release), and the folder
    is renamed into place. On any failure nothing is left behind.

    Args:
        name: A release name (see :func:`movielens_releases`), or a
            :class:`MovieLensRelease` (e.g. a test's tiny release or a mirror's
            variant with different files, count or checksum).
        cache_dir: Where releases live; default ``$EMBEDLAB_CACHE`` or the user
            cache directory.
        force: Download again even when a verified copy is cached.
        base_url: Serve ``<base_url>/<name>.zip`` instead of GroupLens (a mirror).
        timeout: Seconds to wait for the connection and for each read.
        progress: Show a progress bar on stderr.
        checksum: Expected checksum of the zip (``'md5:…'``, ``'sha256:…'`` or bare
            hex); overrides the pinned one. Without either, no checksum is checked.

    Returns:
        The release folder, ``<cache_dir>/<folder>`` (e.g. ``…/ml-100k``).

    Raises:
        DataError: If the name is unknown, ``checksum`` is malformed, or the archive
            does not hold a complete release.
        DownloadError: If the download fails (HTTP error, refused connection,
            timeout, truncated body), the checksum differs, or the zip is corrupt.

    Example:
        >>> path = fetch_movielens("ml-100k")  # doctest: +SKIP
    """
    release = get_release(name)
    if not (isinstance(timeout, int | float) and timeout > 0):
        raise DataError(f"timeout={timeout!r}: expected a positive number of seconds")
    expected_sums = _expected_checksums(release, checksum)
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    final = root / release.folder
    if not force and _cached_ok(final, release):
        return final

    url = release.url(base_url)
    part: Path | None = None
    staging: Path | None = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, part_name = tempfile.mkstemp(prefix=f".{release.name}.zip.", suffix=".part", dir=root)
        part = Path(part_name)
        with os.fdopen(fd, "wb") as fh:
            got = _download(
                url,
                fh,
                release=release,
                timeout=float(timeout),
                progress=progress,
                algorithms=sorted(set(expected_sums) | {"sha256"}),
            )
        for algo, want in expected_sums.items():
            if got[algo] != want:
                raise DownloadError(
                    f"{release.name} from {url}: {algo} checksum mismatch (expected {want}, "
                    f"got {got[algo]}); the download is corrupt or the file changed upstream; "
                    "nothing was kept"
                )
        staging = Path(tempfile.mkdtemp(prefix=f".{release.name}.", suffix=".tmp", dir=root))
        extracted = _unpack(part, staging, release, url)
        marker = {
            "release": release.name,
            "url": url,
            "sha256": got["sha256"],
            "n_ratings": release.n_ratings,
            "files": _file_sizes(extracted, release),
            "embedlab": __version__,
            "downloaded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (extracted / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        _install(extracted, final)
    except (DownloadError, DataError):
        raise
    except OSError as exc:  # the cache: permissions, disk full
        raise DownloadError(
            f"could not store {release.name} in the cache {root} ({_describe(exc)}); free some "
            f"space, or point {CACHE_ENV} (or --cache-dir) to a writable folder"
        ) from None
    finally:
        if part is not None:
            part.unlink(missing_ok=True)
        if staging is not None:
            _rmtree(staging)
    return final


def _unpack(part: Path, staging: Path, release: MovieLensRelease, url: str) -> Path:
    """Test the zip, extract it into ``staging`` and check the content; return the folder."""
    try:
        with zipfile.ZipFile(part) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise DownloadError(
                    f"{release.name} from {url}: corrupt member {bad!r} in the zip; nothing was kept"
                )
            _safe_members(archive, release, url)
            archive.extractall(staging)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise DownloadError(
            f"{release.name} from {url}: not a valid zip ({exc}); nothing was kept"
        ) from None
    extracted = staging / release.folder
    if not extracted.is_dir():
        top = sorted(p.name for p in staging.iterdir())
        raise DataError(
            f"downloaded {release.name} from {url}: the zip has no folder {release.folder}/ "
            f"(found {', '.join(top) or 'nothing'}); nothing was kept"
        )
    try:
        check_release_folder(extracted, release)
    except DataError as exc:
        raise DataError(f"downloaded {release.name} from {url}: {exc}; nothing was kept") from None
    return extracted
