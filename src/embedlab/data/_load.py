"""One entry point for any ratings source: a MovieLens folder or archive, or a table."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from embedlab.data._interactions import Interactions
from embedlab.data._movielens import (
    detect_movielens,
    is_ml100k_ratings_file,
    load_ml100k_ratings_file,
    load_movielens,
)
from embedlab.data._tables import load_ratings
from embedlab.exceptions import DataError

__all__ = ["load"]

_MOVIELENS_OPTIONS = frozenset({"duplicates"})


def load(path: str | os.PathLike[str] | pd.DataFrame | pa.Table, **options: Any) -> Interactions:
    """Load ratings from a MovieLens folder or archive, or from a ratings table.

    A folder or ``.zip`` archive with a MovieLens layout goes to
    :func:`~embedlab.data.load_movielens`. A ratings file of an ML-100K folder
    (``u.data`` or a predefined fold: ``u1.base`` … ``u5.test``, ``ua.base``,
    ``ua.test``, ``ub.base``, ``ub.test``, in a folder that holds ``u.data``) is read
    with the release's columns and keeps the folder's titles, genres and user
    attributes, so a model trained on ``u1.base`` labels its films. Anything else (a
    CSV/TSV/Parquet file, a DataFrame, an Arrow table) goes to
    :func:`~embedlab.data.load_ratings`.

    Args:
        path: A MovieLens folder or zip archive, a ratings file, a DataFrame or an
            Arrow table.
        **options: Passed on: ``duplicates`` for MovieLens (folders, archives and
            ML-100K ratings files); any
            :func:`~embedlab.data.load_ratings` option (``user``, ``item``,
            ``rating``, ``timestamp``, ``sep``, ``header``, ``rating_scale``,
            ``duplicates``, ``encoding``, ``name``) for tables.

    Returns:
        The validated :class:`~embedlab.data.Interactions`.

    Raises:
        DataError: The path is missing, a folder or archive holds no MovieLens
            layout, table options were given for a MovieLens dataset or an ML-100K
            ratings file, or the data is invalid (see
            :func:`~embedlab.data.load_ratings`).
    """
    if isinstance(path, (pd.DataFrame, pa.Table)):
        return load_ratings(path, **options)
    p = Path(path).expanduser()
    if p.is_dir() or (p.is_file() and p.suffix.lower() == ".zip"):
        if detect_movielens(p) is None:
            # load_movielens raises the precise "not a MovieLens dataset" message.
            return load_movielens(p)
        _check_movielens_options(path, options, "is a MovieLens dataset")
        return load_movielens(p, **options)
    if is_ml100k_ratings_file(p):
        _check_movielens_options(path, options, f"is an ML-100K ratings file ({p.name})")
        return load_ml100k_ratings_file(p, **options)
    return load_ratings(p, **options)


def _check_movielens_options(path: object, options: dict[str, Any], what: str) -> None:
    """Raise when table options were given for MovieLens data, whose columns are known."""
    extra = sorted(set(options) - _MOVIELENS_OPTIONS)
    if extra:
        given = ", ".join(f"{k}=" for k in extra)
        raise DataError(
            f"{path}: {what}, whose columns are known; {given} only "
            "apply to other ratings tables (CSV/TSV/Parquet files): leave them out"
        )
