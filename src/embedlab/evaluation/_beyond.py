"""Beyond-accuracy metrics of recommendation lists: coverage, novelty, popularity bias,
obscure items and personalization (NumPy and pandas).

The input forms of ``recs`` are in the docstring of :mod:`embedlab.evaluation`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from embedlab.data import Interactions
from embedlab.evaluation._common import _check_k, _codes, _mean, _rec_lists
from embedlab.exceptions import DataError
from embedlab.settings import renamed

__all__ = [
    "catalog_coverage",
    "novelty",
    "obscure_share",
    "personalization",
    "popularity_percentile",
    "recommended_popularity",
]


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
        recs: Recommendation lists (2-D array or DataFrame; see :mod:`embedlab.evaluation`).
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
        recs: Recommendation lists (2-D array or DataFrame; see :mod:`embedlab.evaluation`).
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
        recs: Recommendation lists (2-D array or DataFrame; see :mod:`embedlab.evaluation`).
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


def _catalogue_counts(item_counts: Any) -> np.ndarray:
    """Training counts of every catalogue item, as a 1-D float array."""
    if isinstance(item_counts, Interactions):
        values = item_counts.item_counts().astype(np.float64)
    elif isinstance(item_counts, Mapping):
        values = np.asarray(list(item_counts.values()), dtype=np.float64)
    elif isinstance(item_counts, pd.Series):
        values = item_counts.to_numpy(dtype=np.float64)
    else:
        values = np.asarray(item_counts, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise DataError("item_counts is empty; expected the training count of every catalogue item")
    if (values < 0).any() or not np.isfinite(values).all():
        raise DataError("item_counts: expected non-negative finite counts of training ratings")
    return np.sort(values)


def popularity_percentile(
    recs: Any, item_counts: Any, *, k: int | None = None, pad: Any = -1
) -> float:
    """Popularity bias of the lists: the mean popularity percentile of the recommended items.

    An item's popularity ``count_i`` is its number of training ratings (for implicit
    data, of users who interacted with it: one row per (user, item) pair). Its
    percentile is the share of the catalogue ``C`` (every item that ``item_counts``
    lists) at most as popular: ``pct(i) = |{j ∈ C : count_j <= count_i}| / |C|``. The
    result is the mean of ``pct`` over all recommended entries (every list position
    of every user). The most popular item scores 1; a most-popular recommender
    scores near 1; an item outside ``item_counts`` counts as never rated.

    Unlike the mean training count (:func:`recommended_popularity`), the percentile
    does not depend on the dataset's size, so it compares across datasets.

    Args:
        recs: Recommendation lists (2-D array or DataFrame; see :mod:`embedlab.evaluation`).
        item_counts: Training ratings per catalogue item (as for :func:`novelty`):
            a 1-D array indexed by item index, a Series or dict keyed by item, or the
            training :class:`~embedlab.data.Interactions`.
        k: Cut each list at ``k`` first (default: whole lists).
        pad: The padding value of a 2-D ``recs``.

    Returns:
        A share in (0, 1] (NaN when ``recs`` holds no item).

    Raises:
        DataError: For an empty catalogue, negative or non-finite counts, or
            malformed ``recs``.

    Example:
        >>> counts = {"a": 5, "b": 3, "c": 3, "d": 0}
        >>> recs = pd.DataFrame({"user": [1, 1], "item": ["a", "b"]})
        >>> popularity_percentile(recs, counts)  # a: 4/4 items, b: 3/4 (b, c, d)
        0.875
    """
    catalogue = _catalogue_counts(item_counts)
    _, items, valid = _flat_items(recs, k, pad)
    counts = _counts_of(items[valid], item_counts)
    pct = np.searchsorted(catalogue, counts, side="right") / float(catalogue.size)
    return _mean(pct)


def obscure_share(
    recs: Any, item_counts: Any, min_count: int = 10, *, k: int | None = None, pad: Any = -1
) -> float:
    """Share of recommended entries whose item has fewer than ``min_count`` training ratings.

    Args:
        recs: Recommendation lists (2-D array or DataFrame; see :mod:`embedlab.evaluation`).
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


@renamed(seed="random_state")
def personalization(
    recs: Any,
    *,
    metric: Literal["cosine", "jaccard"] = "cosine",
    k: int | None = None,
    max_users: int = 2000,
    random_state: int | None = 0,
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
    drawn with ``random_state``.

    Args:
        recs: Recommendation lists (2-D array or DataFrame; see :mod:`embedlab.evaluation`).
        metric: ``"cosine"`` (default) or ``"jaccard"``.
        k: Cut each list at ``k`` first (default: whole lists).
        max_users: Jaccard only: sample this many users when there are more.
        random_state: Seed of that sample (None: a fresh one). ``seed`` is its
            deprecated name (it warns; removed in the next release).
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
        pick = np.sort(
            np.random.default_rng(random_state).choice(n, size=int(max_users), replace=False)
        )
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
