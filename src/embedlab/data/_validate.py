"""Validation of rating columns: one place that turns raw columns into clean arrays.

Every check raises :class:`~embedlab.exceptions.DataError` with the source (file
or argument), the column, the first offending row, what was found and what was
expected.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from embedlab.data._kernels import keys_strictly_increasing, pair_keys
from embedlab.exceptions import DataError, DataWarning

__all__ = [
    "DuplicatePolicy",
    "check_duplicate_policy",
    "check_ratings",
    "check_scale",
    "check_timestamps",
    "resolve_duplicates",
    "row_label",
]

DuplicatePolicy = Literal["warn", "error", "last", "first", "mean"]
#: Ratings are stored as float32; larger magnitudes would become ±inf.
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_POLICIES = ("warn", "error", "last", "first", "mean")


def _to_numpy(values: Any) -> np.ndarray:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.to_numpy(zero_copy_only=False)
    if isinstance(values, (pd.Series, pd.Index)):
        if values.dtype.kind in "iuf":
            return values.to_numpy()
        if (
            isinstance(values.dtype, pd.api.extensions.ExtensionDtype)
            and values.dtype.kind in "iufb"
        ):
            return values.to_numpy(dtype="float64", na_value=np.nan)
        return values.to_numpy(dtype=object)
    return np.asarray(values)


def _py(value: Any) -> Any:
    """A NumPy scalar as the plain Python value (for readable messages)."""
    return value.item() if isinstance(value, np.generic) else value


def row_label(row: int, row_offset: int) -> str:
    """Where a 0-based row is: ``line N`` of a file (``row_offset`` > 0), else ``row N``."""
    return f"line {row + row_offset}" if row_offset > 0 else f"row {row}"


def check_ratings(
    values: Any,
    *,
    source: str = "data",
    column: str = "rating",
    rating_scale: tuple[float, float] | None = None,
    row_offset: int = 0,
) -> np.ndarray:
    """Return ratings as a float32 array, or raise a DataError naming the bad rows.

    Args:
        values: One rating per row.
        source: The file or argument the values came from, for messages.
        column: The column name, for messages.
        rating_scale: ``(low, high)``; values outside raise. ``None`` skips the check.
        row_offset: Added to row numbers in messages (e.g. 2 for a CSV with a header,
            so that the number matches the file's line number).

    Raises:
        DataError: Non-numeric, NaN or infinite values, or values outside the scale.
    """
    arr = _to_numpy(values).reshape(-1)
    if arr.dtype.kind == "b":
        raise DataError(f"{source}: column {column!r} holds booleans; expected numeric ratings")
    if arr.dtype.kind not in "iuf":
        numeric = pd.to_numeric(pd.Series(arr, dtype=object), errors="coerce").to_numpy(
            dtype=np.float64
        )
        bad = np.isnan(numeric) & ~pd.isna(arr)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{source}: column {column!r} has {int(bad.sum())} non-numeric values "
                f"(first {_py(arr[first])!r} at {row_label(first, row_offset)}); expected numbers"
            )
        arr = numeric
    # Fast path: NaN or ±inf anywhere (also a value beyond float32, which the cast makes
    # ±inf) poisons the float64 sum of the float32 ratings.
    if arr.dtype.kind == "f":
        with np.errstate(over="ignore", invalid="ignore"):
            out = arr.astype(np.float32, copy=False)
            clean = bool(np.isfinite(out.sum(dtype=np.float64)))
        if clean:
            if rating_scale is not None:
                check_scale(out, rating_scale, source=source, column=column, row_offset=row_offset)
            return out
    arr = arr.astype(np.float64, copy=False)
    finite = np.isfinite(arr)
    if not finite.all():
        bad_idx = np.flatnonzero(~finite)
        n_nan = int(np.isnan(arr).sum())
        what = (
            "NaN or missing"
            if n_nan == bad_idx.size
            else ("infinite" if n_nan == 0 else "NaN or infinite")
        )
        first = int(bad_idx[0])
        raise DataError(
            f"{source}: column {column!r} has {bad_idx.size} {what} values "
            f"(first at {row_label(first, row_offset)}: {_py(arr[first])!r}); drop or fill those rows"
        )
    huge = np.abs(arr) > _FLOAT32_MAX
    if huge.any():
        first = int(np.flatnonzero(huge)[0])
        raise DataError(
            f"{source}: column {column!r} has {int(huge.sum())} values too large for a rating "
            f"(first at {row_label(first, row_offset)}: {_py(arr[first])!r}); expected numbers "
            f"within ±{_FLOAT32_MAX:.3g} (float32); fix or drop those rows"
        )
    out = arr.astype(np.float32)
    if rating_scale is not None:
        check_scale(out, rating_scale, source=source, column=column, row_offset=row_offset)
    return out


def check_scale(
    ratings: np.ndarray,
    rating_scale: tuple[float, float],
    *,
    source: str = "data",
    column: str = "rating",
    row_offset: int = 0,
) -> None:
    """Raise a DataError if any rating lies outside ``rating_scale``."""
    lo, hi = (float(rating_scale[0]), float(rating_scale[1]))
    if not lo < hi:
        raise DataError(f"rating_scale={rating_scale!r}: expected (low, high) with low < high")
    if ratings.size == 0 or (float(ratings.min()) >= lo and float(ratings.max()) <= hi):
        return
    outside = (ratings < lo) | (ratings > hi)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise DataError(
            f"{source}: column {column!r} has {int(outside.sum())} ratings outside the scale "
            f"{lo:g}..{hi:g} (first {float(ratings[first]):g} at {row_label(first, row_offset)}); "
            "fix the values or pass rating_scale=(low, high) that covers them"
        )


def _seconds(dt: pd.Series) -> np.ndarray:
    """Datetimes (any unit, naive or aware) to int64 Unix seconds."""
    epoch = pd.Timestamp("1970-01-01", tz=dt.dt.tz)
    return ((dt - epoch) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)


def check_timestamps(
    values: Any, *, source: str = "data", column: str = "timestamp", row_offset: int = 0
) -> np.ndarray:
    """Return timestamps as int64 seconds since the epoch.

    Accepts integers, integral floats, datetimes (converted to seconds) and
    strings holding either.

    Raises:
        DataError: Missing or unparsable timestamps.
    """
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = values.to_pandas()
    if not isinstance(values, pd.Series):
        plain = np.asarray(values)
        if plain.dtype.kind in "iu":  # the common case: no pandas round trip (which copies)
            return plain.reshape(-1).astype(np.int64, copy=False)
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values).reshape(-1))
    missing_msg = (
        f"{source}: column {column!r} has {{n}} missing timestamps (first at {{row}}); "
        "drop those rows or pass timestamp=None"
    )
    if series.dtype.kind == "M":
        if series.isna().any():
            first = int(np.flatnonzero(series.isna().to_numpy())[0])
            raise DataError(
                missing_msg.format(n=int(series.isna().sum()), row=row_label(first, row_offset))
            )
        return _seconds(series)
    if series.dtype.kind in "iu":
        return series.to_numpy(dtype=np.int64)
    numeric = pd.to_numeric(series, errors="coerce")
    unparsed = numeric.isna() & series.notna()
    if unparsed.any():
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore", UserWarning
            )  # "could not infer format": we parse per element
            parsed = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
        bad = (unparsed & parsed.isna()).to_numpy()
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{source}: column {column!r} has {int(bad.sum())} values that are neither numbers nor dates "
                f"(first {series.iloc[first]!r} at {row_label(first, row_offset)}); expected Unix seconds or dates"
            )
        if numeric.notna().any():
            first = int(np.flatnonzero(numeric.notna().to_numpy())[0])
            raise DataError(
                f"{source}: column {column!r} mixes numbers (first {series.iloc[first]!r} at "
                f"{row_label(first, row_offset)}) with dates; expected Unix seconds or dates, not both"
            )
        if parsed.isna().any():
            first = int(np.flatnonzero(parsed.isna().to_numpy())[0])
            raise DataError(
                missing_msg.format(n=int(parsed.isna().sum()), row=row_label(first, row_offset))
            )
        return _seconds(parsed)
    arr = numeric.to_numpy(dtype=np.float64)
    if not np.isfinite(arr).all():
        bad_idx = np.flatnonzero(~np.isfinite(arr))
        raise DataError(
            missing_msg.format(n=bad_idx.size, row=row_label(int(bad_idx[0]), row_offset))
        )
    return arr.astype(np.int64)


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside embedlab."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back
        level += 1
    return level


def check_duplicate_policy(policy: str) -> None:
    """Raise ValueError unless ``policy`` is a known duplicates policy."""
    if policy not in _POLICIES:
        raise ValueError(
            f"duplicates={policy!r}; expected one of {', '.join(map(repr, _POLICIES))}"
        )


def resolve_duplicates(
    user_index: np.ndarray,
    item_index: np.ndarray,
    n_items: int,
    policy: DuplicatePolicy,
    *,
    rating: np.ndarray | None = None,
    source: str = "data",
    row_offset: int = 0,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Find repeated (user, item) pairs and apply the duplicates policy.

    Cost: one linear scan when the pairs are already sorted (as in every MovieLens
    file), else one sort of the int64 pair keys (~0.25 s for 20M rows here); only the
    rows of repeated pairs are then grouped.

    Args:
        user_index: User index of each row.
        item_index: Item index of each row.
        n_items: Size of the item vocabulary.
        policy: ``"warn"`` (keep the last rating, warn with the count), ``"error"``,
            ``"last"``, ``"first"`` or ``"mean"``.
        rating: The ratings; required for ``policy="mean"``.
        source: The file or argument, for messages.
        row_offset: Added to row numbers in messages.

    Returns:
        ``(keep, rating)``: a boolean row mask, or None when every row is kept; and,
        for ``policy="mean"``, the ratings with each kept row holding its pair's mean
        (else None).

    Raises:
        DataError: If duplicates exist and ``policy="error"``.
        ValueError: For an unknown policy.
    """
    check_duplicate_policy(policy)
    if user_index.size < 2:
        return None, None
    key = pair_keys(user_index, item_index, n_items)
    if keys_strictly_increasing(key):
        return None, None
    ordered = np.sort(key)
    repeated = ordered[1:] == ordered[:-1]
    if not repeated.any():
        return None, None
    dup_keys = ordered[1:][repeated]
    dup_keys = dup_keys[np.concatenate(([True], dup_keys[1:] != dup_keys[:-1]))]
    pos = np.minimum(np.searchsorted(dup_keys, key), dup_keys.size - 1)
    rows = np.flatnonzero(dup_keys[pos] == key)  # every row of a repeated pair, in file order
    sub = pd.Series(key[rows])
    superseded = sub.duplicated(keep="first" if policy == "first" else "last").to_numpy()
    n_dup, n_pairs, first_row = int(superseded.sum()), int(dup_keys.size), int(rows[0])
    where = f"{n_dup} duplicate (user, item) rows over {n_pairs} pairs (first at {row_label(first_row, row_offset)})"
    if policy == "error":
        raise DataError(
            f"{source}: {where}; pass duplicates='last', 'first' or 'mean' to resolve them"
        )
    if policy == "warn":
        warnings.warn(
            f"{source}: {where}; kept the last rating of each pair. "
            "Pass duplicates='last', 'first', 'mean' or 'error' to choose and silence this warning.",
            DataWarning,
            stacklevel=_user_stacklevel(),
        )
    keep = np.ones(key.size, dtype=np.bool_)
    keep[rows[superseded]] = False
    if policy != "mean":
        return keep, None
    if rating is None:
        raise ValueError("resolve_duplicates(policy='mean') needs the ratings")
    averaged = np.array(rating, dtype=np.float32, copy=True)
    means = (
        pd.Series(rating[rows].astype(np.float64))
        .groupby(sub.to_numpy())
        .transform("mean")
        .to_numpy()
    )
    averaged[rows] = means.astype(np.float32)
    return keep, averaged
