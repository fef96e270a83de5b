"""Rating, ranking and beyond-accuracy metrics, computed from arrays (NumPy and pandas only).

Notation: ``U`` is the set of *evaluated* users, ``L_u`` the first ``k`` entries of
user ``u``'s recommendation list, ``rel_u(j)`` is 1 when the item at position ``j``
(0-based) of ``L_u`` is relevant, ``R_u`` the user's relevant test items: those with a
test rating ``>= threshold``.

Inputs of the ranking and beyond-accuracy functions:

``recs``
    Either a 2-D array (one row per user, one column per rank, best first) of item
    keys padded with ``pad`` (default ``-1``; ``None``/NaN also count as padding in
    object or float arrays), with ``users`` naming the user of each row (default: row
    ``i`` is user ``i``, for index-keyed data); or a DataFrame with columns ``user``,
    ``item`` and optionally ``rank`` (1 = best; without it, the row order within each
    user). A padding entry is a miss at its rank: put padding at the end.
``test``
    A DataFrame with columns ``user``, ``item``, ``rating``, or an
    :class:`~embedlab.data.Interactions` (its raw IDs by default; ``keys="index"``
    uses its user and item indices instead).

Keys are matched by equality: recommendations and test data must use the same key
space (both raw IDs or both indices), never a mix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from embedlab.data import Interactions
from embedlab.exceptions import DataError

__all__ = [
    "catalog_coverage",
    "hit_rate_at_k",
    "mae",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "obscure_share",
    "personalization",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
    "recommended_popularity",
    "rmse",
]

Keys = Literal["id", "index"]


# ---------------------------------------------------------------------------- rating metrics
def _rating_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        try:
            arr = np.asarray(values, dtype=np.float64).ravel()
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"{name}: expected numbers (ratings), got values that are not ({exc})"
            ) from None
        if arr.size == 0:
            raise DataError(f"{name} is empty; expected at least one rating")
        bad = ~np.isfinite(arr)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{name} holds {int(bad.sum())} NaN or infinite value(s) (first at position {first}: "
                f"{arr[first]}); expected finite ratings: drop or fill them first"
            )
        out.append(arr)
    if out[0].size != out[1].size:
        raise DataError(
            f"y_true has {out[0].size} values but y_pred has {out[1].size}; "
            "expected one prediction per true rating"
        )
    return out[0], out[1]


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error, ``sqrt(mean((y_pred - y_true)²))``, accumulated in float64.

    Args:
        y_true: True ratings (any array-like of numbers).
        y_pred: Predicted ratings, one per true rating.

    Returns:
        The RMSE.

    Raises:
        DataError: (a ``ValueError``) if the lengths differ, an input is empty, or
            holds NaN, infinite or non-numeric values.

    Example:
        >>> rmse([1, 2, 3], [1, 2, 5])
        1.1547005383792515
    """
    t, p = _rating_pair(y_true, y_pred)
    return float(np.sqrt(np.mean((p - t) ** 2)))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error, ``mean(|y_pred - y_true|)``, accumulated in float64.

    Args:
        y_true: True ratings (any array-like of numbers).
        y_pred: Predicted ratings, one per true rating.

    Returns:
        The MAE.

    Raises:
        DataError: (a ``ValueError``) if the lengths differ, an input is empty, or
            holds NaN, infinite or non-numeric values.

    Example:
        >>> mae([1, 2, 3], [1, 2, 5])
        0.6666666666666666
    """
    t, p = _rating_pair(y_true, y_pred)
    return float(np.mean(np.abs(p - t)))


# ---------------------------------------------------------------------------- input parsing
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


def _test_frame(test: Any, keys: Keys) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if keys not in ("id", "index"):
        raise DataError(f"keys={keys!r}: expected 'id' (raw IDs) or 'index' (row numbers)")
    if isinstance(test, Interactions):
        if keys == "index":
            return test.user_index, test.item_index, test.rating.astype(np.float64)
        frame = test.to_pandas()
    elif isinstance(test, pd.DataFrame):
        frame = test
    else:
        raise DataError(
            f"test: got {type(test).__name__}; expected a DataFrame with columns user, item, "
            "rating or an Interactions"
        )
    missing = [c for c in ("user", "item", "rating") if c not in frame.columns]
    if missing:
        raise DataError(
            f"test: DataFrame lacks column(s) {missing}; expected 'user', 'item', 'rating' "
            f"(got {list(frame.columns)})"
        )
    rating = pd.to_numeric(frame["rating"], errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(rating).any():
        first = int(np.flatnonzero(np.isnan(rating))[0])
        raise DataError(
            f"test: column 'rating' holds {int(np.isnan(rating).sum())} missing or non-numeric "
            f"value(s) (first at row {first}); expected a rating per row"
        )
    return frame["user"].to_numpy(), frame["item"].to_numpy(), rating


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique`` by sorting (NumPy's hash-based unique is slow on large int arrays)."""
    a = np.sort(a)
    return a[np.concatenate(([True], a[1:] != a[:-1]))] if a.size else a


def _hits(
    recs: Any, test: Any, k: Any, threshold: float, users: Any, pad: Any, keys: Keys
) -> tuple[np.ndarray, np.ndarray, int]:
    """Hit matrix of the evaluated users (rows) at ranks 0..k-1, and their relevant counts."""
    k = _check_k(k)
    if k is None:
        raise DataError("k=None: expected a positive integer (the list length cut-off)")
    row_users, items, valid = _rec_lists(recs, users, k, pad)
    t_user, t_item, t_rating = _test_frame(test, keys)
    if not np.isfinite(threshold):
        raise DataError(f"threshold={threshold!r}: expected a finite rating")
    rel = t_rating >= threshold
    (ru, tu), _ = _codes(np.asarray(row_users), np.asarray(t_user)[rel])
    (ri, ti), n_item_codes = _codes(np.asarray(items[valid]), np.asarray(t_item)[rel])
    n_item_codes = max(n_item_codes, 1)
    rel_keys = _sorted_unique(tu * n_item_codes + ti)
    rel_users, n_rel = np.unique(rel_keys // n_item_codes, return_counts=True)
    # Item codes of the recommendation matrix; -1 for padding.
    codes = np.full(items.shape, -1, dtype=np.int64)
    codes[valid] = ri
    if valid.any():
        row_keys = np.broadcast_to(np.arange(items.shape[0])[:, None], items.shape)[valid]
        pairs = row_keys * n_item_codes + ri
        order = np.argsort(pairs, kind="stable")
        same = pairs[order][1:] == pairs[order][:-1]
        if same.any():
            dup = order[1:][same][0]
            raise DataError(
                f"recs: user {row_users[row_keys[dup]]!r} is recommended item "
                f"{items[valid][dup]!r} more than once; expected distinct items per list"
            )
    # Rows for every evaluated user: those with a list get it; the rest get no hits.
    row_of_user = np.full(int(max(ru.max(initial=-1), rel_users.max(initial=-1))) + 1, -1, np.int64)
    row_of_user[ru] = np.arange(ru.size)
    rows = row_of_user[rel_users]
    hits = np.zeros((rel_users.size, k), dtype=bool)
    has = rows >= 0
    width = items.shape[1]
    sub = codes[rows[has]]
    pair = np.where(sub >= 0, rel_users[has][:, None] * n_item_codes + sub, -1)
    hits[has, :width] = np.isin(pair, rel_keys, kind="sort")
    return hits, n_rel.astype(np.float64), k


_DISCOUNT_CACHE: dict[int, np.ndarray] = {}


def _discount(k: int) -> np.ndarray:
    if k not in _DISCOUNT_CACHE:
        _DISCOUNT_CACHE[k] = 1.0 / np.log2(np.arange(k, dtype=np.float64) + 2.0)
    return _DISCOUNT_CACHE[k]


def _per_user(hits: np.ndarray, n_rel: np.ndarray, k: int) -> dict[str, np.ndarray]:
    n_hits = hits.sum(axis=1, dtype=np.float64)
    disc = _discount(k)
    ideal = np.concatenate(([0.0], np.cumsum(disc)))[np.minimum(n_rel, k).astype(np.int64)]
    cum = np.cumsum(hits, axis=1, dtype=np.float64)
    ranks = np.arange(1, k + 1, dtype=np.float64)
    first = np.argmax(hits, axis=1)
    any_hit = hits.any(axis=1)
    return {
        "precision": n_hits / k,
        "recall": n_hits / n_rel,
        "ndcg": (hits * disc).sum(axis=1) / ideal,
        "map": (hits * cum / ranks).sum(axis=1) / np.minimum(n_rel, k),
        "mrr": np.where(any_hit, 1.0 / (first + 1.0), 0.0),
        "hit_rate": any_hit.astype(np.float64),
    }


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def _one(
    name: str, recs: Any, test: Any, k: Any, threshold: float, users: Any, pad: Any, keys: Keys
) -> float:
    hits, n_rel, k = _hits(recs, test, k, threshold, users, pad, keys)
    return _mean(_per_user(hits, n_rel, k)[name])


def precision_at_k(
    recs: Any,
    test: Any,
    k: int = 10,
    *,
    threshold: float = 4.0,
    users: Any = None,
    pad: Any = -1,
    keys: Keys = "id",
) -> float:
    """Precision@k: ``|L_u ∩ R_u| / k``, averaged over evaluated users.

    The denominator is ``k`` even when a list is shorter, so short lists are
    penalized.

    Evaluated users are those with at least one relevant test item (test rating
    ``>= threshold``); users without one are excluded, and an evaluated user who got
    no list scores 0.

    Args:
        recs: Recommendation lists: a 2-D array of item keys (best first, padded
            with ``pad``) or a DataFrame with columns ``user``, ``item`` (and
            ``rank``); see the module docstring.
        test: Test ratings: a DataFrame with ``user``, ``item``, ``rating`` or an
            :class:`~embedlab.data.Interactions`.
        k: Cut-off: only the first ``k`` recommendations count.
        threshold: A test rating ``>= threshold`` makes the item relevant.
        users: For a 2-D ``recs``, the user of each row (default: row ``i`` is
            user ``i``).
        pad: The padding value of a 2-D ``recs`` (default ``-1``).
        keys: For an :class:`~embedlab.data.Interactions` ``test``, match raw IDs
            (``"id"``, default) or indices (``"index"``).

    Returns:
        The mean over evaluated users (NaN when there is none).

    Raises:
        DataError: (a ``ValueError``) for malformed inputs: bad ``k``, a DataFrame
            without the needed columns, missing ratings, a user with two lists, an
            item twice in one list.
    """
    return _one("precision", recs, test, k, threshold, users, pad, keys)


def recall_at_k(
    recs: Any,
    test: Any,
    k: int = 10,
    *,
    threshold: float = 4.0,
    users: Any = None,
    pad: Any = -1,
    keys: Keys = "id",
) -> float:
    """Recall@k: ``|L_u ∩ R_u| / |R_u|``, averaged over evaluated users.

    The denominator is all of the user's relevant items (not capped at ``k``), so a
    user with more than ``k`` relevant items cannot reach 1.

    Evaluated users are those with at least one relevant test item (test rating
    ``>= threshold``); users without one are excluded, and an evaluated user who got
    no list scores 0.

    Args:
        recs: Recommendation lists: a 2-D array of item keys (best first, padded
            with ``pad``) or a DataFrame with columns ``user``, ``item`` (and
            ``rank``); see the module docstring.
        test: Test ratings: a DataFrame with ``user``, ``item``, ``rating`` or an
            :class:`~embedlab.data.Interactions`.
        k: Cut-off: only the first ``k`` recommendations count.
        threshold: A test rating ``>= threshold`` makes the item relevant.
        users: For a 2-D ``recs``, the user of each row (default: row ``i`` is
            user ``i``).
        pad: The padding value of a 2-D ``recs`` (default ``-1``).
        keys: For an :class:`~embedlab.data.Interactions` ``test``, match raw IDs
            (``"id"``, default) or indices (``"index"``).

    Returns:
        The mean over evaluated users (NaN when there is none).

    Raises:
        DataError: (a ``ValueError``) for malformed inputs: bad ``k``, a DataFrame
            without the needed columns, missing ratings, a user with two lists, an
            item twice in one list.
    """
    return _one("recall", recs, test, k, threshold, users, pad, keys)


def ndcg_at_k(
    recs: Any,
    test: Any,
    k: int = 10,
    *,
    threshold: float = 4.0,
    users: Any = None,
    pad: Any = -1,
    keys: Keys = "id",
) -> float:
    """NDCG@k with binary gains: ``DCG_u / IDCG_u``, averaged over evaluated users.

    ``DCG_u = Σ_{j<k} rel_u(j) / log2(j + 2)`` and
    ``IDCG_u = Σ_{j < min(k, |R_u|)} 1 / log2(j + 2)`` (all relevant items first).

    Evaluated users are those with at least one relevant test item (test rating
    ``>= threshold``); users without one are excluded, and an evaluated user who got
    no list scores 0.

    Args:
        recs: Recommendation lists: a 2-D array of item keys (best first, padded
            with ``pad``) or a DataFrame with columns ``user``, ``item`` (and
            ``rank``); see the module docstring.
        test: Test ratings: a DataFrame with ``user``, ``item``, ``rating`` or an
            :class:`~embedlab.data.Interactions`.
        k: Cut-off: only the first ``k`` recommendations count.
        threshold: A test rating ``>= threshold`` makes the item relevant.
        users: For a 2-D ``recs``, the user of each row (default: row ``i`` is
            user ``i``).
        pad: The padding value of a 2-D ``recs`` (default ``-1``).
        keys: For an :class:`~embedlab.data.Interactions` ``test``, match raw IDs
            (``"id"``, default) or indices (``"index"``).

    Returns:
        The mean over evaluated users (NaN when there is none).

    Raises:
        DataError: (a ``ValueError``) for malformed inputs: bad ``k``, a DataFrame
            without the needed columns, missing ratings, a user with two lists, an
            item twice in one list.
    """
    return _one("ndcg", recs, test, k, threshold, users, pad, keys)


def map_at_k(
    recs: Any,
    test: Any,
    k: int = 10,
    *,
    threshold: float = 4.0,
    users: Any = None,
    pad: Any = -1,
    keys: Keys = "id",
) -> float:
    """MAP@k: the mean over evaluated users of ``AP_u@k``.

    ``AP_u@k = Σ_{j<k} rel_u(j) · P_u@(j+1) / min(k, |R_u|)``, where ``P_u@(j+1)``
    is the precision of the first ``j + 1`` entries.

    Evaluated users are those with at least one relevant test item (test rating
    ``>= threshold``); users without one are excluded, and an evaluated user who got
    no list scores 0.

    Args:
        recs: Recommendation lists: a 2-D array of item keys (best first, padded
            with ``pad``) or a DataFrame with columns ``user``, ``item`` (and
            ``rank``); see the module docstring.
        test: Test ratings: a DataFrame with ``user``, ``item``, ``rating`` or an
            :class:`~embedlab.data.Interactions`.
        k: Cut-off: only the first ``k`` recommendations count.
        threshold: A test rating ``>= threshold`` makes the item relevant.
        users: For a 2-D ``recs``, the user of each row (default: row ``i`` is
            user ``i``).
        pad: The padding value of a 2-D ``recs`` (default ``-1``).
        keys: For an :class:`~embedlab.data.Interactions` ``test``, match raw IDs
            (``"id"``, default) or indices (``"index"``).

    Returns:
        The mean over evaluated users (NaN when there is none).

    Raises:
        DataError: (a ``ValueError``) for malformed inputs: bad ``k``, a DataFrame
            without the needed columns, missing ratings, a user with two lists, an
            item twice in one list.
    """
    return _one("map", recs, test, k, threshold, users, pad, keys)


def mrr_at_k(
    recs: Any,
    test: Any,
    k: int = 10,
    *,
    threshold: float = 4.0,
    users: Any = None,
    pad: Any = -1,
    keys: Keys = "id",
) -> float:
    """MRR@k: ``1 / rank`` of the first relevant item in the top ``k`` (0 if none), averaged.

    Ranks start at 1; the mean runs over evaluated users.

    Evaluated users are those with at least one relevant test item (test rating
    ``>= threshold``); users without one are excluded, and an evaluated user who got
    no list scores 0.

    Args:
        recs: Recommendation lists: a 2-D array of item keys (best first, padded
            with ``pad``) or a DataFrame with columns ``user``, ``item`` (and
            ``rank``); see the module docstring.
        test: Test ratings: a DataFrame with ``user``, ``item``, ``rating`` or an
            :class:`~embedlab.data.Interactions`.
        k: Cut-off: only the first ``k`` recommendations count.
        threshold: A test rating ``>= threshold`` makes the item relevant.
        users: For a 2-D ``recs``, the user of each row (default: row ``i`` is
            user ``i``).
        pad: The padding value of a 2-D ``recs`` (default ``-1``).
        keys: For an :class:`~embedlab.data.Interactions` ``test``, match raw IDs
            (``"id"``, default) or indices (``"index"``).

    Returns:
        The mean over evaluated users (NaN when there is none).

    Raises:
        DataError: (a ``ValueError``) for malformed inputs: bad ``k``, a DataFrame
            without the needed columns, missing ratings, a user with two lists, an
            item twice in one list.
    """
    return _one("mrr", recs, test, k, threshold, users, pad, keys)


def hit_rate_at_k(
    recs: Any,
    test: Any,
    k: int = 10,
    *,
    threshold: float = 4.0,
    users: Any = None,
    pad: Any = -1,
    keys: Keys = "id",
) -> float:
    """Hit rate@k: the share of evaluated users with a relevant item in their top ``k``.

    ``hit_u = 1`` if ``|L_u ∩ R_u| > 0`` else 0.

    Evaluated users are those with at least one relevant test item (test rating
    ``>= threshold``); users without one are excluded, and an evaluated user who got
    no list scores 0.

    Args:
        recs: Recommendation lists: a 2-D array of item keys (best first, padded
            with ``pad``) or a DataFrame with columns ``user``, ``item`` (and
            ``rank``); see the module docstring.
        test: Test ratings: a DataFrame with ``user``, ``item``, ``rating`` or an
            :class:`~embedlab.data.Interactions`.
        k: Cut-off: only the first ``k`` recommendations count.
        threshold: A test rating ``>= threshold`` makes the item relevant.
        users: For a 2-D ``recs``, the user of each row (default: row ``i`` is
            user ``i``).
        pad: The padding value of a 2-D ``recs`` (default ``-1``).
        keys: For an :class:`~embedlab.data.Interactions` ``test``, match raw IDs
            (``"id"``, default) or indices (``"index"``).

    Returns:
        The mean over evaluated users (NaN when there is none).

    Raises:
        DataError: (a ``ValueError``) for malformed inputs: bad ``k``, a DataFrame
            without the needed columns, missing ratings, a user with two lists, an
            item twice in one list.
    """
    return _one("hit_rate", recs, test, k, threshold, users, pad, keys)


def ranking_metrics(
    recs: Any,
    test: Any,
    k: int = 10,
    threshold: float = 4.0,
    *,
    users: Any = None,
    pad: Any = -1,
    keys: Keys = "id",
) -> dict[str, float]:
    """All ranking metrics at ``k`` in one pass.

    Each metric is averaged over the *evaluated users*: users with at least one
    relevant test item (test rating ``>= threshold``). Users without a relevant test
    item are excluded; an evaluated user who got no list scores 0 on every metric.
    Formulas: see :func:`precision_at_k`, :func:`recall_at_k`, :func:`ndcg_at_k`
    (binary gains, log2 discount), :func:`map_at_k` (normalized by
    ``min(k, |R_u|)``), :func:`mrr_at_k`, :func:`hit_rate_at_k`.

    Args:
        recs: Recommendation lists: a 2-D array of item keys (best first, padded
            with ``pad``) or a DataFrame with columns ``user``, ``item`` (and
            ``rank``); see the module docstring.
        test: Test ratings: a DataFrame with ``user``, ``item``, ``rating`` or an
            :class:`~embedlab.data.Interactions`.
        k: Cut-off: only the first ``k`` recommendations count.
        threshold: A test rating ``>= threshold`` makes the item relevant.
        users: For a 2-D ``recs``, the user of each row (default: row ``i`` is
            user ``i``).
        pad: The padding value of a 2-D ``recs`` (default ``-1``).
        keys: For an :class:`~embedlab.data.Interactions` ``test``, match raw IDs
            (``"id"``, default) or indices (``"index"``).

    Returns:
        ``{"precision@k": ..., "recall@k": ..., "ndcg@k": ..., "map@k": ...,
        "mrr@k": ..., "hit_rate@k": ..., "n_users": ...}`` with ``k`` written out;
        ``n_users`` is the number of evaluated users (metrics are NaN when it is 0).

    Raises:
        DataError: (a ``ValueError``) for malformed inputs: bad ``k``, a DataFrame
            without the needed columns, missing ratings, a user with two lists, an
            item twice in one list.
    """
    hits, n_rel, k = _hits(recs, test, k, threshold, users, pad, keys)
    out = {f"{name}@{k}": _mean(v) for name, v in _per_user(hits, n_rel, k).items()}
    out["n_users"] = int(n_rel.size)
    return out


# ---------------------------------------------------------------------------- beyond accuracy
def _flat_items(recs: Any, k: Any, pad: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row users, items, valid) with ``k`` applied; beyond-accuracy metrics take no users."""
    return _rec_lists(recs, None, _check_k(k), pad)


def _counts_of(items: np.ndarray, item_counts: Any) -> np.ndarray:
    """Training-rating counts of ``items`` (keys); unknown keys count 0."""
    if isinstance(item_counts, Interactions):
        item_counts = pd.Series(item_counts.item_counts(), index=item_counts.items.ids())
    elif isinstance(item_counts, Mapping):
        item_counts = pd.Series(item_counts, dtype=np.float64)
    if isinstance(item_counts, pd.Series):
        values = item_counts.reindex(pd.Index(items)).to_numpy(dtype=np.float64)
        values = np.where(np.isnan(values), 0.0, values)
    else:
        table = np.asarray(item_counts, dtype=np.float64)
        if table.ndim != 1:
            raise DataError(
                f"item_counts: got an array of shape {table.shape}; expected a 1-D array indexed "
                "by item index, a Series or dict keyed by item, or an Interactions"
            )
        idx = np.asarray(items)
        if idx.dtype.kind not in "iu":
            raise DataError(
                "item_counts is an array (indexed by item index) but recs hold non-integer item "
                "keys; pass a Series or dict keyed by item ID instead"
            )
        known = (idx >= 0) & (idx < table.size)
        values = np.zeros(idx.shape, dtype=np.float64)
        values[known] = table[idx[known]]
    if (values < 0).any() or not np.isfinite(values).all():
        raise DataError("item_counts: expected non-negative finite counts of training ratings")
    return values


def catalog_coverage(recs: Any, n_items: int, *, k: int | None = None, pad: Any = -1) -> float:
    """Catalog coverage: ``|∪_u L_u| / n_items``, the share of the catalogue recommended.

    Args:
        recs: Recommendation lists (2-D array or DataFrame; see the module docstring).
        n_items: Size of the catalogue.
        k: Cut each list at ``k`` first (default: whole lists).
        pad: The padding value of a 2-D ``recs``.

    Returns:
        A share in [0, 1] (more if ``recs`` holds items outside the catalogue).

    Raises:
        DataError: If ``n_items`` is not a positive integer or ``recs`` is malformed.
    """
    if (
        isinstance(n_items, (bool, np.bool_))
        or not isinstance(n_items, (int, np.integer))
        or n_items < 1
    ):
        raise DataError(f"n_items={n_items!r}: expected a positive integer (the catalogue size)")
    _, items, valid = _flat_items(recs, k, pad)
    return float(pd.unique(items[valid]).size / int(n_items))


def novelty(
    recs: Any, item_counts: Any, n_users: int, *, k: int | None = None, pad: Any = -1
) -> float:
    """Mean self-information of the recommended items: ``mean(−log2(pop_i))``.

    ``pop_i = max(count_i, 1) / n_users`` is the share of users who rated item ``i``
    in training; an item never rated counts as rated once so the value stays finite.
    The mean runs over all recommended entries (every list position of every user).

    Args:
        recs: Recommendation lists (2-D array or DataFrame; see the module docstring).
        item_counts: Training ratings per item: a 1-D array indexed by item index,
            a Series or dict keyed by item, or the training
            :class:`~embedlab.data.Interactions` (keyed by raw item ID).
        n_users: Number of training users.
        k: Cut each list at ``k`` first (default: whole lists).
        pad: The padding value of a 2-D ``recs``.

    Returns:
        Bits; higher means less popular (more novel) recommendations. NaN when
        ``recs`` holds no item.

    Raises:
        DataError: If ``n_users`` is not a positive integer, or inputs are malformed.
    """
    if (
        isinstance(n_users, (bool, np.bool_))
        or not isinstance(n_users, (int, np.integer))
        or n_users < 1
    ):
        raise DataError(f"n_users={n_users!r}: expected a positive integer (training users)")
    _, items, valid = _flat_items(recs, k, pad)
    counts = _counts_of(items[valid], item_counts)
    return _mean(-np.log2(np.maximum(counts, 1.0) / float(n_users)))


def recommended_popularity(
    recs: Any, item_counts: Any, *, k: int | None = None, pad: Any = -1
) -> dict[str, float]:
    """Mean and median training-rating count of the recommended items (popularity bias).

    Both run over all recommended entries, so an item recommended to many users
    weighs as often as it is recommended.

    Args:
        recs: Recommendation lists (2-D array or DataFrame; see the module docstring).
        item_counts: Training ratings per item (as for :func:`novelty`).
        k: Cut each list at ``k`` first (default: whole lists).
        pad: The padding value of a 2-D ``recs``.

    Returns:
        ``{"mean": ..., "median": ...}`` (NaN when ``recs`` holds no item).

    Raises:
        DataError: For malformed inputs.
    """
    _, items, valid = _flat_items(recs, k, pad)
    counts = _counts_of(items[valid], item_counts)
    return {
        "mean": _mean(counts),
        "median": float(np.median(counts)) if counts.size else float("nan"),
    }


def obscure_share(
    recs: Any, item_counts: Any, min_count: int = 10, *, k: int | None = None, pad: Any = -1
) -> float:
    """Share of recommended entries whose item has fewer than ``min_count`` training ratings.

    Args:
        recs: Recommendation lists (2-D array or DataFrame; see the module docstring).
        item_counts: Training ratings per item (as for :func:`novelty`).
        min_count: Items with fewer training ratings than this are obscure.
        k: Cut each list at ``k`` first (default: whole lists).
        pad: The padding value of a 2-D ``recs``.

    Returns:
        A share in [0, 1] (NaN when ``recs`` holds no item).

    Raises:
        DataError: For a negative ``min_count`` or malformed inputs.
    """
    if (
        isinstance(min_count, (bool, np.bool_))
        or not isinstance(min_count, (int, np.integer))
        or min_count < 0
    ):
        raise DataError(f"min_count={min_count!r}: expected a non-negative integer")
    _, items, valid = _flat_items(recs, k, pad)
    counts = _counts_of(items[valid], item_counts)
    return _mean((counts < min_count).astype(np.float64))


def _pair_intersections(rows: np.ndarray, items: np.ndarray, n: int) -> np.ndarray:
    """``n × n`` counts of shared items between the lists of ``n`` users.

    Uses the item → users inverted index: an item recommended to ``c`` users adds
    ``c²`` pair counts, so the work is ``Σ c_i² <= n² · k`` and memory stays bounded by
    processing the pairs in chunks.
    """
    order = np.lexsort((rows, items))
    r, it = rows[order], items[order]
    if r.size == 0:
        return np.zeros((n, n), dtype=np.int64)
    new = np.concatenate(([True], it[1:] != it[:-1]))
    group = np.cumsum(new) - 1
    g_start = np.flatnonzero(new)
    g_size = np.diff(np.append(g_start, r.size))
    size_e, start_e = g_size[group], g_start[group]
    inter = np.zeros(n * n, dtype=np.int64)
    budget = 4_000_000
    ends = np.cumsum(size_e)
    lo = 0
    while lo < r.size:
        hi = max(int(np.searchsorted(ends, (ends[lo - 1] if lo else 0) + budget, "right")), lo + 1)
        sz = size_e[lo:hi]
        left = np.repeat(r[lo:hi], sz)
        offs = np.arange(int(sz.sum())) - np.repeat(np.cumsum(sz) - sz, sz)
        right = r[np.repeat(start_e[lo:hi], sz) + offs]
        inter += np.bincount(left * n + right, minlength=n * n)
        lo = hi
    return inter.reshape(n, n)


def personalization(
    recs: Any,
    *,
    metric: Literal["cosine", "jaccard"] = "cosine",
    k: int | None = None,
    max_users: int = 2000,
    seed: int = 0,
    pad: Any = -1,
) -> float:
    """Personalization: ``1 − mean_{u<v} sim(L_u, L_v)`` over pairs of users' lists.

    ``sim`` is cosine, ``|L_u ∩ L_v| / sqrt(|L_u| |L_v|)`` (for lists of one length
    ``k`` this is the overlap share ``|L_u ∩ L_v| / k``), or Jaccard,
    ``|L_u ∩ L_v| / |L_u ∪ L_v|``. 1 means no two users share an item; 0 means every
    user got the same list. Users whose list is empty are left out.

    Cosine is exact for any number of users, in ``O(entries)``: with ``x_u`` the
    user's indicator vector scaled to unit length and ``s = Σ_u x_u``,
    ``Σ_{u<v} x_u·x_v = (|s|² − n) / 2``. Jaccard needs every pair: above
    ``max_users`` users it is computed on a uniform sample of ``max_users`` users
    drawn with ``seed``.

    Args:
        recs: Recommendation lists (2-D array or DataFrame; see the module docstring).
        metric: ``"cosine"`` (default) or ``"jaccard"``.
        k: Cut each list at ``k`` first (default: whole lists).
        max_users: Jaccard only: sample this many users when there are more.
        seed: Seed of that sample.
        pad: The padding value of a 2-D ``recs``.

    Returns:
        A value in [0, 1].

    Raises:
        DataError: For an unknown ``metric``, fewer than two non-empty lists, or
            malformed inputs.
    """
    if metric not in ("cosine", "jaccard"):
        raise DataError(f"metric={metric!r}: expected 'cosine' or 'jaccard'")
    if isinstance(max_users, bool) or not isinstance(max_users, (int, np.integer)) or max_users < 2:
        raise DataError(f"max_users={max_users!r}: expected an integer >= 2")
    _, items, valid = _flat_items(recs, k, pad)
    sizes = valid.sum(axis=1)
    keep = sizes > 0
    n = int(keep.sum())
    if n < 2:
        raise DataError(
            f"recs: {n} non-empty recommendation list(s); personalization compares pairs of "
            "users and needs at least 2"
        )
    items, valid, sizes = items[keep], valid[keep], sizes[keep].astype(np.float64)
    if metric == "jaccard" and n > max_users:
        pick = np.sort(np.random.default_rng(seed).choice(n, size=int(max_users), replace=False))
        items, valid, sizes, n = items[pick], valid[pick], sizes[pick], int(max_users)
    rows = np.broadcast_to(np.arange(n)[:, None], items.shape)[valid]
    (codes,), n_codes = _codes(np.asarray(items[valid]))
    n_pairs = n * (n - 1) / 2
    if metric == "cosine":
        s = np.bincount(codes, weights=1.0 / np.sqrt(sizes[rows]), minlength=n_codes)
        return float(1.0 - (s @ s - n) / 2 / n_pairs)
    inter = _pair_intersections(rows.astype(np.int64), codes, n).astype(np.float64)
    union = sizes[:, None] + sizes[None, :] - inter
    upper = np.triu_indices(n, 1)
    return float(1.0 - (inter[upper] / union[upper]).mean())
