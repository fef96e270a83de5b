"""Load a ratings table from a CSV/TSV/Parquet file, a pandas DataFrame or an Arrow table.

:func:`load_ratings` is the entry point. The work is shared out: column references
and their resolution in :mod:`embedlab.data._columns`, separator and header sniffing
in :mod:`embedlab.data._sniff`, reading delimited text in :mod:`embedlab.data._delimited`,
validation into :class:`Interactions` in :mod:`embedlab.data._build`. DataFrames,
Arrow tables and Parquet files are read here.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from embedlab.data._build import build_interactions
from embedlab.data._columns import (
    _ROLES,
    ColumnRef,
    RatingColumns,
    _arrow_to_numpy,
    _check_ref,
    resolve_columns,
)
from embedlab.data._delimited import TextSource, read_text_columns
from embedlab.data._interactions import Interactions
from embedlab.data._sniff import _normalise_sep
from embedlab.data._validate import DuplicatePolicy
from embedlab.exceptions import DataError

__all__ = ["ColumnRef", "load_ratings", "read_columns"]

_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


def _frame_columns(frame: pd.DataFrame, refs: Mapping[str, Any], source: str) -> RatingColumns:
    labels_raw = list(frame.columns)
    names = [str(c) for c in labels_raw]
    # A DataFrame read with header=None has integer labels: a given int is then a label.
    refs = dict(refs)
    for role in _ROLES:
        ref = refs.get(role)
        if isinstance(ref, (int, np.integer)) and not isinstance(ref, bool) and ref in labels_raw:
            refs[role] = labels_raw.index(ref)
    positions = resolve_columns(names, refs, named=True, source=source)
    arrays: dict[str, np.ndarray | None] = {"timestamp": None}
    for role, pos in positions.items():
        if pos is None:
            continue
        series = frame.iloc[:, pos]
        arrays[role] = series  # type: ignore[assignment]
    for role in ("user", "item"):
        series = arrays[role]
        if series.isna().any():  # type: ignore[union-attr]
            arrays[role] = series.to_numpy(dtype=object)  # type: ignore[union-attr]
        elif series.dtype.kind in "iuf":  # type: ignore[union-attr]
            arrays[role] = series.to_numpy()  # type: ignore[union-attr]
        else:
            arrays[role] = series.to_numpy(dtype=object)  # type: ignore[union-attr]
    labels = {role: names[pos] for role, pos in positions.items() if pos is not None}
    return RatingColumns(source=source, labels=labels, arrays=arrays, row_offset=0)


def _arrow_columns(table: pa.Table, refs: Mapping[str, Any], source: str) -> RatingColumns:
    names = list(table.column_names)
    positions = resolve_columns(names, refs, named=True, source=source)
    arrays: dict[str, np.ndarray | None] = {"timestamp": None}
    for role, pos in positions.items():
        if pos is None:
            continue
        col = table.column(pos)
        if role == "timestamp" and (pa.types.is_timestamp(col.type) or pa.types.is_date(col.type)):
            arrays[role] = col.to_pandas()  # type: ignore[assignment]
        else:
            arrays[role] = _arrow_to_numpy(col)
    labels = {role: names[pos] for role, pos in positions.items() if pos is not None}
    return RatingColumns(source=source, labels=labels, arrays=arrays, row_offset=0)


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def _parquet_columns(path: Path, refs: Mapping[str, Any], source: str) -> RatingColumns:
    try:
        pfile = pq.ParquetFile(path)
        names = list(pfile.schema_arrow.names)
        positions = resolve_columns(names, refs, named=True, source=source)
        wanted = sorted({pos for pos in positions.values() if pos is not None})
        table = pfile.read(columns=[names[p] for p in wanted], use_threads=True)
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
        raise DataError(
            f"{source}: cannot read as Parquet ({exc}); expected a Parquet file"
        ) from None
    if table.num_rows == 0:
        raise DataError(
            f"{source}: the Parquet file has no rows; expected (user, item, rating) rows"
        )
    remapped = {
        role: (table.column_names.index(names[pos]) if pos is not None else False)
        for role, pos in positions.items()
    }
    return _arrow_columns(table, remapped, source)


def _source_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".bz2", ".zst", ".lz4"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return Path(name).stem or "ratings"


def load_ratings(
    source: str | os.PathLike[str] | pd.DataFrame | pa.Table,
    user: ColumnRef | None = None,
    item: ColumnRef | None = None,
    rating: ColumnRef | None = None,
    timestamp: ColumnRef | bool | None = None,
    *,
    sep: str | None = None,
    header: bool | None = None,
    rating_scale: tuple[float, float] | None = None,
    duplicates: DuplicatePolicy = "warn",
    encoding: str = "utf-8",
    name: str | None = None,
) -> Interactions:
    """Load a (user, item, rating[, timestamp]) table and validate it.

    Delimited text is read by :func:`pyarrow.csv.read_csv` on all cores, with only the
    needed columns and explicit types (IDs ``int64`` or ``string``, ratings
    ``float64``, timestamps ``int64``). Files ending in ``.gz``, ``.bz2`` or ``.zst``
    are decompressed on the fly.

    Args:
        source: A CSV/TSV/``::``-separated text file or a Parquet file (path), a
            :class:`pandas.DataFrame` or a :class:`pyarrow.Table`.
        user: The user column: a name, or a 0-based position. None detects it from
            common names (``userId``, ``user_id``, ``user``, ``UserID``, ``uid``...); in a
            file without a header line, position 0.
        item: The item column (detected from ``movieId``, ``item_id``, ``item``,
            ``iid``...; headerless: position 1).
        rating: The rating column (``rating``, ``score``, ``stars``...; headerless: 2).
        timestamp: The timestamp column, optional. None uses a column named like
            ``timestamp``, ``time``, ``ts`` or ``date`` if there is one (headerless: position 3
            when that column holds integers); False ignores timestamps.
        sep: Field separator of a text file: one character, or a repeated one such
            as ``"::"``. None sniffs it from the first 64 KiB (``::``, tab, ``,``,
            ``;``, ``|``, space).
        header: Whether the first line of a text file names the columns. None
            detects it (a first line with a non-number above numbers is a header).
        rating_scale: ``(low, high)``; a rating outside raises. None infers it
            from the data.
        duplicates: Repeated (user, item) pairs: ``"warn"`` (keep the last, warn
            with the count), ``"error"``, ``"last"``, ``"first"`` or ``"mean"``.
        encoding: Text encoding of a text file (``"latin-1"`` for old MovieLens files).
        name: Dataset name for summaries; default: the file's stem, or ``"ratings"``.

    Returns:
        The validated :class:`~embedlab.data.Interactions`. Row numbers in messages
        are file line numbers (counting the header; blank lines are not counted).

    Raises:
        DataError: Missing file; empty file or header only; missing, ambiguous or
            unknown columns; unparsable text (ragged rows, binary data); text that
            does not decode with ``encoding``; missing IDs; non-numeric, NaN or
            infinite ratings; ratings outside ``rating_scale``; duplicate pairs
            under ``duplicates="error"``; ``rating=False`` (data without ratings
            goes to :func:`~embedlab.data.load_interactions`).
        TypeError: A column reference that is neither a name nor a position, or a
            source of an unsupported type.

    Example:
        >>> import pandas as pd
        >>> ds = load_ratings(pd.DataFrame({"userId": [1, 1, 2], "movieId": [10, 20, 10],
        ...                                 "rating": [4.0, 3.0, 5.0]}))
        >>> len(ds), ds.n_users, ds.n_items
        (3, 2, 2)
    """
    if rating is False:
        raise DataError(
            "rating=False: load_ratings reads explicit ratings and needs a rating column; "
            "for clicks, plays or purchases without ratings use load_interactions"
        )
    refs = {"user": user, "item": item, "rating": rating, "timestamp": timestamp}
    cols, default_name = read_columns(source, refs, sep=sep, header=header, encoding=encoding)
    return build_interactions(
        cols, rating_scale=rating_scale, duplicates=duplicates, name=name or default_name
    )


def read_columns(
    source: str | os.PathLike[str] | pd.DataFrame | pa.Table,
    refs: Mapping[str, Any],
    *,
    sep: str | None = None,
    header: bool | None = None,
    encoding: str = "utf-8",
) -> tuple[RatingColumns, str]:
    """Read the referenced columns of any table source, not yet validated.

    The reading half of :func:`load_ratings`, shared with
    :func:`~embedlab.data.load_interactions`.

    Args:
        source: A text or Parquet file (path), a DataFrame or an Arrow table.
        refs: Column reference per role (``user``, ``item``, ``rating``,
            ``timestamp``), as :func:`~embedlab.data.resolve_columns` takes them.
        sep: Field separator of a text file (None sniffs it).
        header: Whether a text file has a header line (None detects it).
        encoding: Text encoding of a text file.

    Returns:
        The columns read, and the dataset's default name (the file's stem, or
        ``"ratings"``).

    Raises:
        DataError: As :func:`load_ratings`, for everything about reading.
        TypeError: A bad column reference or an unsupported source type.
    """
    for role, ref in refs.items():
        _check_ref(role, ref)
    if isinstance(source, pd.DataFrame):
        cols = _frame_columns(source, refs, "DataFrame")
        default_name = "ratings"
    elif isinstance(source, (pa.Table, pa.RecordBatch)):
        table = source if isinstance(source, pa.Table) else pa.Table.from_batches([source])
        cols = _arrow_columns(table, refs, "Arrow table")
        default_name = "ratings"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        display = str(source)
        if not path.exists():
            raise DataError(
                f"{display}: file not found; expected a CSV/TSV or Parquet ratings file"
            )
        if path.is_dir():
            raise DataError(
                f"{display}: is a folder; pass a ratings file, or use embedlab.data.load() / "
                "load_movielens() for a MovieLens folder"
            )
        if _is_parquet(path):
            cols = _parquet_columns(path, refs, display)
        elif zipfile.is_zipfile(path):
            raise DataError(
                f"{display}: is a zip archive, not a ratings table; use embedlab.data.load() or "
                "load_movielens() for a MovieLens archive, or extract the ratings file"
            )
        else:
            if sep is not None:
                sep = _normalise_sep(sep, display)
            cols = read_text_columns(
                TextSource(display=display, path=path),
                refs,
                sep=sep,
                header=header,
                encoding=encoding,
            )
        default_name = _source_name(path)
    else:
        raise TypeError(
            f"source must be a path, a pandas DataFrame or a pyarrow Table, got {type(source).__name__}"
        )
    return cols, default_name
