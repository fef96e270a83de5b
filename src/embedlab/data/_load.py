"""One entry point for any ratings source: a MovieLens folder or archive, or a table."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from embedlab.data._interactions import Interactions
from embedlab.data._movielens import detect_movielens, load_movielens
from embedlab.data._tables import load_ratings
from embedlab.exceptions import DataError

__all__ = ["load"]

_MOVIELENS_OPTIONS = frozenset({"duplicates"})


def load(path: str | os.PathLike[str] | pd.DataFrame | pa.Table, **options: Any) -> Interactions:
    """Load ratings from a MovieLens folder or archive, or from a ratings table.

    A folder or ``.zip`` archive with a MovieLens layout goes to
    :func:`~embedlab.data.load_movielens`; anything else (a CSV/TSV/Parquet file, a
    DataFrame, an Arrow table) to :func:`~embedlab.data.load_ratings`.

    Args:
        path: A MovieLens folder or zip archive, a ratings file, a DataFrame or an
            Arrow table.
        **options: Passed on: ``duplicates`` for MovieLens; any
            :func:`~embedlab.data.load_ratings` option (``user``, ``item``,
            ``rating``, ``timestamp``, ``sep``, ``header``, ``rating_scale``,
            ``duplicates``, ``encoding``, ``name``) for tables.

    Returns:
        The validated :class:`~embedlab.data.Interactions`.

    Raises:
        DataError: The path is missing, a folder or archive holds no MovieLens
            layout, table options were given for a MovieLens dataset, or the data
            is invalid (see :func:`~embedlab.data.load_ratings`).
    """
    if isinstance(path, (pd.DataFrame, pa.Table)):
        return load_ratings(path, **options)
    p = Path(path).expanduser()
    if p.is_dir() or (p.is_file() and p.suffix.lower() == ".zip"):
        if detect_movielens(p) is None:
            # load_movielens raises the precise "not a MovieLens dataset" message.
            return load_movielens(p)
        extra = sorted(set(options) - _MOVIELENS_OPTIONS)
        if extra:
            given = ", ".join(f"{k}=" for k in extra)
            raise DataError(
                f"{path}: is a MovieLens dataset, whose columns are known; {given} only "
                "apply to ratings tables (CSV/TSV/Parquet files): leave them out"
            )
        return load_movielens(p, **options)
    return load_ratings(p, **options)
