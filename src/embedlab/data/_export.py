"""Write an :class:`Interactions` as a MovieLens-20M-style folder of CSV files."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv

from embedlab.data._interactions import Interactions

__all__ = ["write_movielens_csv"]

_CHUNK = 1 << 21  # rows per CSV batch
_NO_GENRES = "(no genres listed)"
_STRUCTURAL = (",", '"', "\n", "\r")


def _decimal_tenths(tenths: np.ndarray) -> pa.Array:
    """A decimal128(18, 1) array from int64 tenths (written as ``4.0``, ``3.5``)."""
    buf = np.empty((tenths.size, 2), dtype=np.int64)
    buf[:, 0] = tenths
    buf[:, 1] = tenths >> 63  # sign extension into the high 64 bits (little-endian int128)
    return pa.Array.from_buffers(pa.decimal128(18, 1), tenths.size, [None, pa.py_buffer(buf)])


def _on_tenths(rating: np.ndarray) -> bool:
    """Whether every rating reads back exactly from one decimal (``3.5``, ``4.0``, ``3.7``)."""
    for lo in range(0, rating.size, _CHUNK):
        r = rating[lo : lo + _CHUNK]
        tenths = np.rint(r.astype(np.float64) * 10.0)
        if np.abs(tenths).max(initial=0.0) >= 1e17 or not np.array_equal(
            (tenths / 10.0).astype(np.float32), r
        ):
            return False
    return True


def _id_column(ids: np.ndarray, kind: str) -> pa.Array:
    if kind == "int":
        return pa.array(ids, type=pa.int64())
    return pa.array(ids, type=pa.string())


def _needs_quotes(ids: np.ndarray) -> bool:
    """Whether any string ID holds a character that CSV must quote."""
    return any(any(c in str(v) for c in _STRUCTURAL) for v in ids.tolist())


def _write_ratings(ds: Interactions, path: Path) -> None:
    user_ids = ds.users.ids()
    item_ids = ds.items.ids()
    quote = (ds.users.kind == "str" and _needs_quotes(user_ids)) or (
        ds.items.kind == "str" and _needs_quotes(item_ids)
    )
    tenths = _on_tenths(ds.rating)
    names = ["userId", "movieId", "rating"] + (["timestamp"] if ds.timestamp is not None else [])
    options = pcsv.WriteOptions(include_header=False, quoting_style="needed" if quote else "none")
    with pa.OSFile(str(path), "wb") as sink:
        sink.write((",".join(names) + "\n").encode())
        writer = None
        for lo in range(0, len(ds), _CHUNK):
            hi = min(lo + _CHUNK, len(ds))
            r = ds.rating[lo:hi]
            rating = (
                _decimal_tenths(np.rint(r.astype(np.float64) * 10.0).astype(np.int64))
                if tenths
                else pa.array(r)
            )
            cols = [
                _id_column(user_ids[ds.user_index[lo:hi]], ds.users.kind),
                _id_column(item_ids[ds.item_index[lo:hi]], ds.items.kind),
                rating,
            ]
            if ds.timestamp is not None:
                cols.append(pa.array(ds.timestamp[lo:hi], type=pa.int64()))
            batch = pa.record_batch(cols, names=names)
            if writer is None:
                writer = pcsv.CSVWriter(sink, batch.schema, write_options=options)
            writer.write_batch(batch)
        if writer is not None:
            writer.close()
    _fsync(path)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_movies(ds: Interactions, path: Path) -> None:
    n = ds.n_items
    meta = ds.item_metadata
    if meta is not None and "title" in meta.columns:
        title = (
            meta["title"]
            .astype(object)
            .where(meta["title"].notna(), "")
            .astype(str)
            .to_numpy(dtype=object)
        )
    else:
        title = np.full(n, "", dtype=object)
    if meta is not None and "genres" in meta.columns:
        genres = ["|".join(map(str, g)) if len(g) else _NO_GENRES for g in meta["genres"]]
    else:
        genres = [_NO_GENRES] * n
    ids = ds.items.ids()
    frame = pd.DataFrame(
        {
            "movieId": ids.tolist() if ds.items.kind == "str" else ids,
            "title": title,
            "genres": genres,
        }
    )
    with open(path, "w", encoding="utf-8", newline="") as fh:
        frame.to_csv(fh, index=False, lineterminator="\n")
        fh.flush()
        os.fsync(fh.fileno())


def write_movielens_csv(
    ds: Interactions, out_dir: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write ``ratings.csv`` and ``movies.csv`` in the MovieLens 20M/25M/32M layout.

    ``ratings.csv`` has ``userId,movieId,rating,timestamp`` (no ``timestamp`` column
    when ``ds`` has none), rows in ``ds`` order; ratings are written with one
    decimal (``4.0``, ``3.5``) when that is exact, else with the shortest text that
    reads back to the same float32. ``movies.csv`` has ``movieId,title,genres`` for
    every item of the vocabulary, genres joined with ``|`` (``(no genres listed)``
    when none), titles verbatim (a missing title is empty; a ``year`` column is not
    added to titles). Fields holding a comma, a quote or a line break are quoted as
    in RFC 4180 (quotes doubled); lines end with ``\\n`` as in MovieLens.

    Writing is atomic: the files go to a temporary folder beside ``out_dir`` that is
    renamed into place when complete, so ``out_dir`` holds either nothing new or
    every file, whatever fails on the way.

    Args:
        ds: The ratings (raw IDs and ``item_metadata`` title/genres are written).
        out_dir: Folder to create.
        overwrite: Replace ``out_dir`` if it exists and is not empty.

    Returns:
        ``out_dir`` as a :class:`~pathlib.Path`.

    Raises:
        FileExistsError: If ``out_dir`` exists, is not an empty folder and
            ``overwrite`` is False.
        OSError: If the folder cannot be written (nothing is left behind).

    Example:
        >>> import tempfile
        >>> ds = Interactions.from_ids([1, 2], [10, 10], [4.0, 3.5], [0, 1])
        >>> out = write_movielens_csv(ds, Path(tempfile.mkdtemp()) / "ml")
        >>> (out / "ratings.csv").read_text().splitlines()
        ['userId,movieId,rating,timestamp', '1,10,4.0,0', '2,10,3.5,1']
    """
    out = Path(out_dir)
    if not overwrite and out.exists() and not (out.is_dir() and not any(out.iterdir())):
        what = "a folder that is not empty" if out.is_dir() else "a file"
        raise FileExistsError(
            f"{out} already exists and is {what}; pass overwrite=True to replace it"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; give the folder normal permissions
        _write_ratings(ds, tmp / "ratings.csv")
        _write_movies(ds, tmp / "movies.csv")
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace_dir(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` onto ``out``; an existing ``out`` is moved aside first and restored on failure."""
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        os.replace(tmp, out)
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    backup.rmdir()
    os.replace(out, backup)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(backup, out)
        raise
    if backup.is_dir():
        shutil.rmtree(backup, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            backup.unlink()
