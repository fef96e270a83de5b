"""Implicit feedback: interactions (clicks, plays, purchases) without ratings.

:func:`load_interactions` reads the same sources as :func:`~embedlab.data.load_ratings`
(CSV/TSV/Parquet files, DataFrames, Arrow tables, string or integer IDs, the same
column options) through the same reader, then validates the optional weight column
and aggregates repeated (user, item) pairs into one row each. The result is an
:class:`~embedlab.data.Interactions` with ``feedback="implicit"``: ``rating`` holds
each pair's weight (strictly positive) and ``rating_scale`` is None.
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from embedlab.data._build import _check_ids
from embedlab.data._columns import NO_WEIGHT, ColumnRef, RatingColumns
from embedlab.data._interactions import Interactions
from embedlab.data._kernels import keys_strictly_increasing, pair_keys
from embedlab.data._tables import read_columns
from embedlab.data._validate import check_ratings, check_timestamps, row_label
from embedlab.data._vocab import Vocabulary
from embedlab.exceptions import DataError

__all__ = ["IMPLICIT_DUPLICATES", "ImplicitDuplicatePolicy", "load_interactions"]

ImplicitDuplicatePolicy = Literal["sum", "max", "mean", "first", "last", "error"]
IMPLICIT_DUPLICATES = ("sum", "max", "mean", "first", "last", "error")
_FLOAT32_MAX = float(np.finfo(np.float32).max)


#: The shared reader's words for a ratings table, as they read for interactions.
_READER_WORDS = (
    ("for rating;", "for weight;"),
    ("pass rating=", "pass weight="),
    (
        "a ratings table with (user, item, rating) rows",
        "an interactions table with (user, item[, weight]) rows",
    ),
    (
        "a ratings table with user, item and rating columns",
        "an interactions table with user and item columns",
    ),
)


def load_interactions(
    source: str | os.PathLike[str] | pd.DataFrame | pa.Table,
    *,
    user: ColumnRef | None = None,
    item: ColumnRef | None = None,
    weight: ColumnRef | Literal[False] | None = None,
    timestamp: ColumnRef | bool | None = None,
    duplicates: ImplicitDuplicatePolicy = "sum",
    sep: str | None = None,
    header: bool | None = None,
    encoding: str = "utf-8",
    name: str | None = None,
) -> Interactions:
    """Load implicit feedback: ``(user, item[, weight][, timestamp])`` rows, no ratings.

    Each row records that a user interacted with an item (a click, a play, a
    purchase), optionally with a weight (a count, play time, an amount). Rows of the
    same (user, item) pair are aggregated into one by ``duplicates``; without a
    weight column each row weighs 1, so repeats add up to the number of
    interactions. Pairs whose weight comes to 0 record no interaction and are
    dropped (their IDs stay in the vocabularies). A repeated pair's timestamp is its
    latest one, whatever the policy (the pair was last seen then), so temporal
    splits hold out what each user did last.

    Reading is :func:`~embedlab.data.load_ratings`'s: the same sources, column
    detection by name (``userId``, ``item_id``, ``timestamp``...), positions for
    files without a header line (user 0, item 1; the weight and a timestamp then
    need their positions), separators, encodings and compressed files.

    Args:
        source: A CSV/TSV/``::``-separated text file or a Parquet file (path), a
            :class:`pandas.DataFrame` or a :class:`pyarrow.Table`.
        user: The user column: a name or a 0-based position; None detects it.
        item: The item column; None detects it.
        weight: The weight column (non-negative numbers; booleans count as 1 and
            0), a name or a position. None: no weight column, every row weighs 1,
            and a column named like explicit ratings (``rating``, ``score``,
            ``stars``...) raises rather than being ignored. False: no weight column,
            other columns ignored.
        timestamp: The timestamp column, optional; None uses a column named like
            ``timestamp``, ``time`` or ``date`` if there is one, False ignores it.
        duplicates: How repeated (user, item) pairs become one row: ``"sum"``
            (default: the total weight, the count without a weight column),
            ``"max"``, ``"mean"``, ``"first"`` or ``"last"`` (the weight of the
            pair's first or last row in input order), or ``"error"``.
        sep: Field separator of a text file; None sniffs it.
        header: Whether the first line of a text file names the columns; None
            detects it.
        encoding: Text encoding of a text file.
        name: Dataset name for summaries; default: the file's stem, or
            ``"interactions"``.

    Returns:
        An :class:`~embedlab.data.Interactions` with ``feedback="implicit"``, one
        row per (user, item) pair in the order of each pair's first row, ``rating``
        holding the aggregated weights (all > 0) and ``rating_scale`` None.

    Raises:
        DataError: Everything :func:`~embedlab.data.load_ratings` raises about
            reading (missing file, unknown columns, bad text, missing IDs, bad
            timestamps); empty data; a non-numeric weight column; NaN, infinite or
            negative weights; weights that are all 0; repeated pairs under
            ``duplicates="error"``; a column named like ratings with ``weight=None``.
        ValueError: For an unknown ``duplicates`` policy.
        TypeError: A column reference that is neither a name nor a position, or a
            source of an unsupported type.

    Example:
        >>> import pandas as pd
        >>> log = pd.DataFrame({"user": ["ann", "ann", "bob", "ann"],
        ...                     "item": ["tea", "jam", "tea", "tea"]})
        >>> ds = load_interactions(log)
        >>> ds.feedback, len(ds), ds.to_pandas()["rating"].tolist()
        ('implicit', 3, [2.0, 1.0, 1.0])
    """
    if duplicates not in IMPLICIT_DUPLICATES:
        raise ValueError(
            f"duplicates={duplicates!r}; expected one of {', '.join(map(repr, IMPLICIT_DUPLICATES))}"
        )
    if weight is True:
        raise TypeError(
            "weight=True: expected a column name (str), a 0-based position (int), None (no "
            "weight column) or False (no weight column, other columns ignored)"
        )
    refs = {
        "user": user,
        "item": item,
        "rating": NO_WEIGHT if weight is None else weight,
        "timestamp": timestamp,
    }
    try:
        cols, default_name = read_columns(source, refs, sep=sep, header=header, encoding=encoding)
    except DataError as exc:  # the weight column travels in the reader's rating role
        message = str(exc)
        for said, meant in _READER_WORDS:
            message = message.replace(said, meant)
        if message == str(exc):
            raise
        raise DataError(message) from None
    if isinstance(source, (pd.DataFrame, pa.Table, pa.RecordBatch)):
        default_name = "interactions"
    return build_implicit(cols, duplicates=duplicates, name=name or default_name)


def _weights(cols: RatingColumns, n: int) -> np.ndarray:
    """Validated float32 weights (ones without a weight column)."""
    values = cols.arrays.get("rating")
    if values is None:
        return np.ones(n, dtype=np.float32)
    source, label, offset = cols.source, cols.labels["rating"], cols.row_offset
    if isinstance(values, (pd.Series, pd.Index)) and values.dtype.kind == "b":
        values = values.to_numpy()
    arr = np.asarray(values) if not isinstance(values, (pd.Series, pd.Index)) else values
    if isinstance(arr, np.ndarray) and arr.dtype.kind == "b":
        arr = arr.astype(np.float32)
    try:
        weight = check_ratings(arr, source=source, column=label, row_offset=offset)
    except DataError as exc:
        raise DataError(str(exc).replace("expected numbers", "expected numeric weights")) from None
    negative = weight < 0
    if negative.any():
        first = int(np.flatnonzero(negative)[0])
        raise DataError(
            f"{source}: column {label!r} has {int(negative.sum())} negative weights (first "
            f"{float(weight[first]):g} at {row_label(first, offset)}); expected weights >= 0 "
            "(counts, play time, amounts): fix or drop those rows"
        )
    if not (weight > 0).any():
        raise DataError(
            f"{source}: every weight in column {label!r} is 0; expected at least one positive "
            "weight (a weight of 0 records no interaction)"
        )
    return weight


def aggregate_pairs(
    ui: np.ndarray,
    ii: np.ndarray,
    weight: np.ndarray,
    ts: np.ndarray | None,
    n_items: int,
    duplicates: ImplicitDuplicatePolicy,
    *,
    source: str = "data",
    row_offset: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """One row per (user, item) pair: weights by ``duplicates``, the latest timestamp.

    Rows keep the order of each pair's first row. One linear scan when the pairs
    already increase (no repeat), else one stable sort of the int64 pair keys.

    Raises:
        DataError: Repeated pairs under ``duplicates="error"``; a total weight too
            large for float32.
    """
    key = pair_keys(ui, ii, n_items)
    if keys_strictly_increasing(key):
        return ui, ii, weight, ts
    order = np.argsort(key, kind="stable")
    sk = key[order]
    new = np.concatenate(([True], sk[1:] != sk[:-1]))
    start = np.flatnonzero(new)
    if start.size == key.size:
        return ui, ii, weight, ts
    if duplicates == "error":
        repeated = np.flatnonzero(~new)
        first = int(order[repeated].min())
        raise DataError(
            f"{source}: {key.size - start.size} repeated (user, item) rows over "
            f"{int(np.unique(sk[repeated]).size)} pairs (first at {row_label(first, row_offset)}); "
            "pass duplicates='sum' (or 'max', 'mean', 'first', 'last') to aggregate them"
        )
    end = np.append(start[1:], key.size)
    first_row = order[start]  # the stable sort keeps input order within a pair
    last_row = order[end - 1]
    w = weight.astype(np.float64)[order]
    if duplicates == "sum":
        agg = np.add.reduceat(w, start)
    elif duplicates == "max":
        agg = np.maximum.reduceat(w, start)
    elif duplicates == "mean":
        agg = np.add.reduceat(w, start) / (end - start)
    elif duplicates == "first":
        agg = weight[first_row].astype(np.float64)
    else:
        agg = weight[last_row].astype(np.float64)
    if agg.size and float(agg.max()) > _FLOAT32_MAX:
        raise DataError(
            f"{source}: a (user, item) pair's total weight exceeds float32's "
            f"{_FLOAT32_MAX:.3g}; rescale the weights or pass duplicates='max'"
        )
    out_ts = None if ts is None else np.maximum.reduceat(ts[order], start)
    keep = np.argsort(first_row, kind="stable")
    rows = first_row[keep]
    return (
        ui[rows],
        ii[rows],
        agg[keep].astype(np.float32),
        None if out_ts is None else out_ts[keep],
    )


def build_implicit(
    cols: RatingColumns, *, duplicates: ImplicitDuplicatePolicy, name: str
) -> Interactions:
    """Validate read columns into implicit :class:`Interactions` (see :func:`load_interactions`).

    Raises:
        DataError: Empty data, missing IDs, bad weights or timestamps, duplicates
            under ``"error"``.
    """
    source, offset = cols.source, cols.row_offset
    users, items = cols.arrays["user"], cols.arrays["item"]
    n = len(users)  # type: ignore[arg-type]
    if n == 0:
        raise DataError(
            f"{source}: no interactions (empty input); expected at least one (user, item) row"
        )
    for role in ("user", "item"):
        _check_ids(cols.arrays[role], cols.labels[role], role, source, offset)  # type: ignore[arg-type]
    weight = _weights(cols, n)
    ts = None
    if cols.arrays.get("timestamp") is not None:
        try:
            ts = check_timestamps(
                cols.arrays["timestamp"],
                source=source,
                column=cols.labels.get("timestamp", "timestamp"),
                row_offset=offset,
            )
        except DataError as exc:
            raise DataError(
                str(exc).replace("pass timestamp=None", "pass timestamp=False to ignore the column")
            ) from None
    user_vocab, ui = Vocabulary.from_values(users, name="user")
    item_vocab, ii = Vocabulary.from_values(items, name="item")
    ui, ii, weight, ts = aggregate_pairs(
        ui, ii, weight, ts, len(item_vocab), duplicates, source=source, row_offset=offset
    )
    positive = weight > 0
    if not positive.all():
        if not positive.any():
            raise DataError(
                f"{source}: every (user, item) pair weighs 0 after duplicates={duplicates!r}; "
                "expected at least one positive weight"
            )
        ui, ii, weight = ui[positive], ii[positive], weight[positive]
        ts = None if ts is None else ts[positive]
    return Interactions(
        ui,
        ii,
        weight,
        user_vocab,
        item_vocab,
        timestamp=ts,
        rating_scale=None,
        name=name,
        feedback="implicit",
    )
