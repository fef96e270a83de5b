"""Input parsing shared by the ranking and beyond-accuracy metrics.

The accepted forms of ``recs`` (and ``users``, ``pad``) are described once, in the
docstring of :mod:`embedlab.evaluation`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from embedlab.exceptions import DataError


def _check_k(k: Any, name: str = "k") -> int | None:
    if k is None:
        return None
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or int(k) < 1:
        raise DataError(f"{name}={k!r}: expected a positive integer (the list length cut-off)")
    return int(k)


def _pad_mask(items: np.ndarray, pad: Any) -> np.ndarray:
    """True where ``items`` holds a real item (not ``pad``, None or NaN)."""
    if items.dtype.kind in "iu":
        return items != pad if pad is not None else np.ones(items.shape, dtype=bool)
    valid = ~pd.isna(items)
    if pad is not None:
        with np.errstate(invalid="ignore"):
            valid &= np.asarray(items != pad, dtype=bool)
    return valid


def _rec_lists(
    recs: Any, users: Any, k: int | None, pad: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse ``recs`` into (row users, 2-D items cut at ``k``, valid mask)."""
    if isinstance(recs, pd.DataFrame):
        if users is not None:
            raise DataError(
                "users= is for a 2-D array of recommendations; a DataFrame names its users "
                "in its 'user' column: drop users="
            )
        missing = [c for c in ("user", "item") if c not in recs.columns]
        if missing:
            raise DataError(
                f"recs: DataFrame lacks column(s) {missing}; expected columns 'user', 'item' "
                f"and optionally 'rank' (got {list(recs.columns)})"
            )
        frame = recs.reset_index(drop=True)
        ucodes, uniq = pd.factorize(frame["user"], sort=False)
        if (ucodes < 0).any():
            raise DataError("recs: the 'user' column holds missing values; expected a user per row")
        order_keys = [np.arange(len(frame))]
        if "rank" in frame.columns:
            rank = pd.to_numeric(frame["rank"], errors="coerce").to_numpy(dtype=np.float64)
            if np.isnan(rank).any():
                raise DataError("recs: the 'rank' column holds missing or non-numeric values")
            order_keys.append(rank)
        order_keys.append(ucodes)
        order = np.lexsort(order_keys)
        sorted_users = ucodes[order]
        counts = np.bincount(ucodes, minlength=len(uniq))
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        pos = np.arange(len(frame)) - starts[sorted_users]
        width = int(counts.max()) if len(frame) else 0
        if k is not None:
            width = min(width, k)
        keep = pos < width
        items_col = frame["item"].to_numpy()
        dtype = items_col.dtype if items_col.dtype.kind in "iu" else np.dtype(object)
        fill: Any = pad if dtype.kind in "iu" else None
        if pad is None:
            dtype, fill = np.dtype(object), None
        items = np.full((len(uniq), width), fill, dtype=dtype)
        items[sorted_users[keep], pos[keep]] = items_col[order][keep]
        valid = np.zeros((len(uniq), width), dtype=bool)
        valid[sorted_users[keep], pos[keep]] = True
        valid &= _pad_mask(items, pad)
        return np.asarray(uniq), items, valid
    items = np.asarray(recs)
    if items.ndim == 1 and items.size == 0:
        items = items.reshape(0, 0)
    if items.ndim != 2:
        raise DataError(
            f"recs: got an array of shape {items.shape}; expected a 2-D array (one row of item "
            "keys per user, best first) or a DataFrame with columns user, item, rank"
        )
    if k is not None:
        items = items[:, :k]
    if users is None:
        row_users = np.arange(items.shape[0])
    else:
        row_users = np.asarray(users)
        if row_users.ndim != 1 or row_users.size != items.shape[0]:
            raise DataError(
                f"users: got {row_users.size} user keys for {items.shape[0]} rows of recs; "
                "expected one user per row"
            )
    dup_users = pd.Index(row_users).duplicated()
    if dup_users.any():
        first = row_users[np.flatnonzero(dup_users)[0]]
        raise DataError(
            f"users: user {first!r} has more than one row of recs; expected one list per user"
        )
    return row_users, items, _pad_mask(items, pad)


def _codes(*arrays: np.ndarray) -> tuple[list[np.ndarray], int]:
    """Joint integer codes of several 1-D key arrays (same key -> same code)."""
    sizes = [a.size for a in arrays]
    joined = (
        np.concatenate([np.asarray(a, dtype=object) for a in arrays])
        if len({a.dtype.kind for a in arrays}) > 1
        else np.concatenate(arrays)
    )
    codes, uniq = pd.factorize(joined, sort=False)
    return list(np.split(codes.astype(np.int64), np.cumsum(sizes)[:-1])), len(uniq)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")
