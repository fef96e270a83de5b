"""Ranking metrics at ``k``: precision, recall, NDCG, MAP, MRR and hit rate (NumPy and pandas).

All of them take the same arguments, average over the same *evaluated users* and raise
the same errors; that is documented once, on :func:`ranking_metrics`, and each
single-metric function documents only its formula. The notation and the input forms are
in the docstring of :mod:`embedlab.evaluation`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from embedlab.data import Interactions
from embedlab.evaluation._common import _check_k, _codes, _mean, _rec_lists
from embedlab.exceptions import DataError

__all__ = [
    "hit_rate_at_k",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
]

Keys = Literal["id", "index"]


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

    Args:
        recs, test, k, threshold, users, pad, keys: As for :func:`ranking_metrics`.

    Returns:
        The mean over evaluated users (NaN when there is none).

    Raises:
        DataError: For malformed inputs, as for :func:`ranking_metrics`.
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

    Args:
        recs, test, k, threshold, users, pad, keys: As for :func:`ranking_metrics`.

    Returns:
        The mean over evaluated users (NaN when there is none).

    Raises:
        DataError: For malformed inputs, as for :func:`ranking_metrics`.
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

    Args:
        recs, test, k, threshold, users, pad, keys: As for :func:`ranking_metrics`.

    Returns:
        The mean over evaluated users (NaN when there is none).

    Raises:
        DataError: For malformed inputs, as for :func:`ranking_metrics`.
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

    Args:
        recs, test, k, threshold, users, pad, keys: As for :func:`ranking_metrics`.

    Returns:
        The mean over evaluated users (NaN when there is none).

    Raises:
        DataError: For malformed inputs, as for :func:`ranking_metrics`.
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

    Args:
        recs, test, k, threshold, users, pad, keys: As for :func:`ranking_metrics`.

    Returns:
        The mean over evaluated users (NaN when there is none).

    Raises:
        DataError: For malformed inputs, as for :func:`ranking_metrics`.
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

    Args:
        recs, test, k, threshold, users, pad, keys: As for :func:`ranking_metrics`.

    Returns:
        The mean over evaluated users (NaN when there is none).

    Raises:
        DataError: For malformed inputs, as for :func:`ranking_metrics`.
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
            ``rank``); see :mod:`embedlab.evaluation`.
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
