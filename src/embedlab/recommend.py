"""Top-N recommendation on score arrays: seen-item exclusion, filters, top-n. NumPy only.

The estimators (``model.recommend``, ``model.recommend_batch``,
``model.recommend_for_ratings``) score items with their module and hand the scores
here; nothing in this module imports torch, so it works on scores from anywhere.

Conventions:

* Scores are a float array ``[n_rows, n_items]`` (one row per user). An entry set to
  ``-inf`` is never recommended: that is how seen items and filtered-out items are
  removed.
* Ties are broken by the lower item index, so batch and single calls agree.
* :class:`SeenItems` is the compact CSR of the training interactions (user index ->
  item indices and ratings) that a fitted model keeps as ``seen_``. In a model bundle
  it is three tensors in ``weights.safetensors``: ``seen_indptr`` (int64,
  ``n_users + 1``), ``seen_indices`` (int32) and ``seen_ratings`` (float32). Bundles
  written before these existed load with ``seen_ = None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "SEEN_TENSORS",
    "SeenItems",
    "allowed_items",
    "explain_items",
    "filtered_items",
    "implicit_fold_in",
    "mask_items",
    "recommendation_frame",
    "top_n",
]

#: Names of the :class:`SeenItems` tensors in a model bundle.
SEEN_TENSORS = ("seen_indptr", "seen_indices", "seen_ratings")


@dataclass(frozen=True, eq=False)
class SeenItems:
    """The training interactions as CSR: row ``u`` holds the items user ``u`` rated.

    Attributes:
        indptr: ``int64[n_users + 1]``; user ``u``'s entries are
            ``indptr[u]:indptr[u + 1]``.
        indices: ``int32`` item indices, sorted within each user.
        ratings: ``float32`` ratings aligned with ``indices``.
        n_items: Number of items (columns).
    """

    indptr: np.ndarray
    indices: np.ndarray
    ratings: np.ndarray
    n_items: int

    @classmethod
    def from_pairs(
        cls,
        user_index: np.ndarray,
        item_index: np.ndarray,
        ratings: np.ndarray,
        n_users: int,
        n_items: int,
    ) -> SeenItems:
        """Build from parallel arrays of user indices, item indices and ratings."""
        users = np.asarray(user_index, dtype=np.int64)
        items = np.asarray(item_index, dtype=np.int64)
        # One stable sort on a combined key: the order of np.lexsort((items, users)),
        # 3-8x faster, and fastest on data already grouped by user (most files are).
        order = np.argsort(users * max(int(n_items), 1) + items, kind="stable")
        counts = np.bincount(users, minlength=n_users)
        indptr = np.zeros(n_users + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(
            indptr=indptr,
            indices=items[order].astype(np.int32),
            ratings=np.asarray(ratings, dtype=np.float32)[order],
            n_items=int(n_items),
        )

    @property
    def n_users(self) -> int:
        """Number of users (rows)."""
        return len(self.indptr) - 1

    def row(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """``(item indices, ratings)`` of one user index."""
        start, end = int(self.indptr[user]), int(self.indptr[user + 1])
        return self.indices[start:end], self.ratings[start:end]

    def block(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(row positions, item indices)`` of every entry of ``users`` (vectorized).

        Row position ``k`` refers to ``users[k]``; use the pair to index a
        ``[len(users), n_items]`` score block.
        """
        users = np.asarray(users, dtype=np.int64)
        starts, ends = self.indptr[users], self.indptr[users + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        rows = np.repeat(np.arange(len(users)), lengths)
        offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return rows, self.indices[np.repeat(starts, lengths) + offsets]

    def contains(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Whether each ``(users[k], items[k])`` pair (indices) is a training pair.

        Negative (unknown) indices are never training pairs.
        """
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        n_items = max(int(self.n_items), int(items.max(initial=-1)) + 1, 1)
        lengths = np.diff(self.indptr)
        seen = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths) * n_items
        seen += self.indices.astype(np.int64)  # sorted: users ascending, items within a user
        known = (users >= 0) & (items >= 0) & (users < len(lengths))
        keys = users * n_items + items
        pos = np.minimum(np.searchsorted(seen, keys), max(len(seen) - 1, 0))
        return known & (len(seen) > 0) & (seen[pos] == keys if len(seen) else False)

    def to_tensors(self) -> dict[str, np.ndarray]:
        """The three arrays under their bundle names (:data:`SEEN_TENSORS`)."""
        return dict(zip(SEEN_TENSORS, (self.indptr, self.indices, self.ratings), strict=True))

    @classmethod
    def from_tensors(cls, tensors: Mapping[str, np.ndarray], n_items: int) -> SeenItems | None:
        """Read :meth:`to_tensors` output; None when the tensors are absent (older bundles)."""
        if not all(name in tensors for name in SEEN_TENSORS):
            return None
        indptr, indices, ratings = (np.asarray(tensors[name]) for name in SEEN_TENSORS)
        return cls(indptr=indptr, indices=indices, ratings=ratings, n_items=int(n_items))


def filtered_items(
    items: Any,
    item_counts: Any,
    item_metadata: Any,
    candidates: Any,
    min_count: Any,
    genres: Any,
) -> np.ndarray | None:
    """A model's ``candidates=`` (raw IDs) or ``min_count=``/``genres=`` filters as the
    mask of :func:`allowed_items` (None: every item), for the estimators and the
    torch-free lookup alike.

    Raises:
        ValueError: If ``candidates`` comes with ``min_count`` or ``genres``.
        UnknownIDError: For a candidate that is not an item of the model.
    """
    if candidates is not None and (min_count is not None or genres is not None):
        raise ValueError(
            "pass candidates= or the min_count=/genres= filters, not both; "
            "filter the candidate list before passing it"
        )
    cand = None
    if candidates is not None:
        ids = [candidates] if isinstance(candidates, (str, int, np.integer)) else candidates
        cand = items.indices(ids)
    item_genres = None
    if genres is not None and item_metadata is not None and "genres" in item_metadata.columns:
        item_genres = item_metadata["genres"].tolist()
    return allowed_items(
        len(items),
        candidates=cand,
        item_counts=item_counts,
        min_count=min_count,
        item_genres=item_genres,
        genres=genres,
    )


def allowed_items(
    n_items: int,
    *,
    candidates: np.ndarray | None = None,
    item_counts: np.ndarray | None = None,
    min_count: float | None = None,
    item_genres: Iterable[Any] | None = None,
    genres: Iterable[str] | None = None,
) -> np.ndarray | None:
    """Boolean mask of the items that may be recommended, or None for all of them.

    Args:
        n_items: Number of items.
        candidates: Item indices that are the only candidates.
        item_counts: Training ratings per item (needed with ``min_count``).
        min_count: Keep items with at least this many training ratings.
        item_genres: One list of genre names per item (needed with ``genres``).
        genres: Keep items with any of these genres (case-insensitive).

    Raises:
        ValueError: For a negative ``min_count``, a filter without the data it needs,
            or genre names no item has.
    """
    mask: np.ndarray | None = None
    if candidates is not None:
        mask = np.zeros(n_items, dtype=bool)
        mask[np.asarray(candidates, dtype=np.int64)] = True
    if min_count is not None:
        if isinstance(min_count, bool) or not isinstance(min_count, (int, float, np.number)):
            raise ValueError(f"min_count={min_count!r}: expected a number >= 0")
        if min_count < 0:
            raise ValueError(f"min_count={min_count!r}: expected a number >= 0")
        if item_counts is None:
            raise ValueError("min_count needs the items' rating counts, which this model lacks")
        keep = np.asarray(item_counts) >= min_count
        mask = keep if mask is None else mask & keep
    if genres is not None:
        wanted_list = [genres] if isinstance(genres, str) else list(genres)
        if not wanted_list:
            raise ValueError("genres=[]: pass at least one genre name, or None for all genres")
        if item_genres is None:
            raise ValueError(
                "genres needs item metadata with a 'genres' column, which this model lacks"
            )
        lists = [list(g) if isinstance(g, (list, tuple, np.ndarray)) else [] for g in item_genres]
        known = {str(g).casefold(): str(g) for gs in lists for g in gs}
        wanted = {str(g).casefold() for g in wanted_list}
        unknown = sorted(g for g in wanted_list if str(g).casefold() not in known)
        if unknown:
            raise ValueError(
                f"genres: {', '.join(map(repr, unknown))} not found; known genres: "
                f"{', '.join(sorted(known.values()))}"
            )
        keep = np.fromiter(
            (any(str(g).casefold() in wanted for g in gs) for gs in lists),
            dtype=bool,
            count=n_items,
        )
        mask = keep if mask is None else mask & keep
    return mask


def mask_items(
    scores: np.ndarray,
    *,
    allowed: np.ndarray | None = None,
    seen: SeenItems | None = None,
    users: np.ndarray | None = None,
    exclude: Iterable[np.ndarray] | None = None,
) -> np.ndarray:
    """Set to ``-inf`` (in place) every score that must not be recommended; returns ``scores``.

    Args:
        scores: ``[n_rows, n_items]`` float array.
        allowed: Boolean mask of candidate items (None: all).
        seen: The training interactions; with ``users`` (one user index per row),
            each row's seen items are masked.
        users: User index of each row (with ``seen``).
        exclude: Alternatively, one array of item indices to mask per row.
    """
    if allowed is not None:
        scores[:, ~allowed] = -np.inf
    if seen is not None:
        if users is None:
            raise ValueError("mask_items: seen= needs users=, one user index per row")
        rows, cols = seen.block(users)
        scores[rows, cols] = -np.inf
    if exclude is not None:
        for row, cols in enumerate(exclude):
            scores[row, np.asarray(cols, dtype=np.int64)] = -np.inf
    return scores


def top_n(
    scores: np.ndarray, n: int, *, candidates: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ``n`` best finite scores of each row, best first (ties: lower item index first).

    Args:
        scores: ``[n_rows, n_items]`` float array; ``-inf`` entries are never returned.
        n: Items per row (a row may get fewer when fewer are finite).
        candidates: Optionally, ``[n_rows, min(n, n_items)]`` item indices holding each
            row's best scores in any order (e.g. from a multi-threaded top-k); they
            replace the partition step. Ties with the k-th score are still resolved by
            item index, so the result is the same.

    Returns:
        Flat arrays ``(row, item, score, rank)``: row position, item index, score and
        1-based rank, ordered by row, then rank.
    """
    scores = np.asarray(scores)
    n_rows, n_items = scores.shape
    k = min(int(n), n_items)
    empty = np.empty(0, dtype=np.int64)
    if k == 0 or n_rows == 0:
        return empty, empty, np.empty(0, dtype=scores.dtype), empty
    if k < n_items:
        if candidates is not None:
            part = np.asarray(candidates, dtype=np.int64)
            if part.shape != (n_rows, k):
                raise ValueError(f"candidates has shape {part.shape}; expected {(n_rows, k)}")
        else:
            part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        # Items tied with the k-th best score compete by index, like a full sort.
        chosen = np.take_along_axis(scores, part, axis=1)
        kth = chosen.min(axis=1)
        ties = np.isfinite(kth) & (
            (scores == kth[:, None]).sum(axis=1) > (chosen == kth[:, None]).sum(axis=1)
        )
        if ties.any():
            part = _resolve_ties(scores, part, ties, k)
    else:
        part = np.broadcast_to(np.arange(n_items), (n_rows, n_items))
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    items = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    keep = vals > -np.inf  # drops masked entries (and NaN)
    rows = np.broadcast_to(np.arange(n_rows)[:, None], items.shape)
    ranks = np.broadcast_to(np.arange(1, k + 1), items.shape)
    return rows[keep], items[keep].astype(np.int64), vals[keep], ranks[keep].astype(np.int64)


def _resolve_ties(scores: np.ndarray, part: np.ndarray, ties: np.ndarray, k: int) -> np.ndarray:
    """Redo the rows whose k-th score is tied beyond the partition with a full stable sort."""
    part = part.copy()
    for row in np.flatnonzero(ties):
        order = np.lexsort((np.arange(scores.shape[1]), -scores[row]))
        part[row] = order[:k]
    return part


def explain_items(
    item_vectors: np.ndarray,
    recommended: np.ndarray,
    rated: np.ndarray,
    ratings: np.ndarray,
    names: np.ndarray,
    *,
    max_reasons: int = 2,
    implicit: bool = False,
) -> list[list[Any]]:
    """For each recommended item, the rated items that pull its score up the most.

    The contribution of rated item ``j`` to recommended item ``i`` is
    ``cos(v_i, v_j) * (r_j - mean(r))``: the cosine of their item embeddings, weighted
    by how far above the user's own mean rating ``j`` was rated. Only positive
    contributions count, so an item rated at or below the mean (a user's only rating,
    a 1-star film among better ones) is never named, nor is a liked item pointing away
    from the recommendation. When nothing contributes positively the list is empty.

    With ``implicit=True`` the values are interaction weights (1 for a click, a count,
    play time), not ratings: item ``j`` contributes ``cos(v_i, v_j) * w_j``, and an
    interaction of weight 0 is none.

    Args:
        item_vectors: ``[n_items, dim]`` item embeddings.
        recommended: Item indices to explain.
        rated: Item indices the user rated.
        ratings: The user's ratings (weights with ``implicit``), aligned with ``rated``.
        names: Label (or ID) of every item, used in the output.
        max_reasons: At most this many reasons per item.
        implicit: The values are weights of implicit feedback.

    Returns:
        One list per recommended item of up to ``max_reasons`` names, largest
        contribution first (ties: the earlier rated item first); possibly empty.
    """
    rated = np.asarray(rated, dtype=np.int64)
    ratings = np.asarray(ratings, dtype=np.float64)
    recommended = np.asarray(recommended, dtype=np.int64)
    if len(recommended) == 0:
        return []
    if implicit:
        weights = ratings
        above = weights > 0
    else:
        weights = ratings - ratings.mean() if rated.size else ratings
        # rounding in the mean must not turn a rating equal to it into a reason
        above = weights > 1e-9 * max(1.0, float(np.abs(ratings).max(initial=0.0)))
    liked, weights = rated[above], weights[above]
    if liked.size == 0:
        return [[] for _ in recommended]
    vectors = np.asarray(item_vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
    contrib = (unit[recommended] @ unit[liked].T) * weights[None, :]
    take = min(int(max_reasons), liked.size)
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :take]
    return [[names[liked[j]] for j in row if contrib[r, j] > 0] for r, row in enumerate(order)]


def implicit_fold_in(
    item_vectors: np.ndarray,
    items: np.ndarray,
    weights: np.ndarray,
    settings: Any,
    *,
    l2: float | None = None,
) -> np.ndarray:
    """A new user's vector for a model of implicit feedback, from the items they interacted
    with, the items fixed: the exact solve of the confidence-weighted ALS user step,
    ``x = (YᵀY + Σ_j α w_j y_j y_jᵀ + λ I)⁻¹ Σ_{j: w_j > 0} (1 + α w_j) y_j``, in float64,
    with the model's ``α`` (``settings.alpha``; 9, ALS's default, for a BPR model) and
    ``λ`` (``l2``, else ``settings.l2_user``; for a Spark model times the number of
    interactions, as Spark's weighted λ).

    Shared by :meth:`embedlab.ImplicitMatrixFactorization.fold_in` and the torch-free
    lookup (:func:`embedlab.io.load_lookup`), so both place a visitor alike.

    Args:
        item_vectors: ``[n_items, dim]`` item embeddings ``Y``.
        items: Item indices of the user's interactions.
        weights: Their weights (>= 0; 0 is no interaction).
        settings: The model's resolved settings (an ``ImplicitMFSettings``).
        l2: ``λ`` (None: the model's ``l2_user``).

    Returns:
        The float32 vector, read-only.
    """
    alpha = 9.0 if settings.alpha is None else float(settings.alpha)
    lam = float(l2) if l2 is not None else float(settings.l2_user or 0.0)
    w = np.asarray(weights, dtype=np.float64)
    if settings.engine == "spark":
        lam *= int((w > 0).sum())
    Y = np.asarray(item_vectors, dtype=np.float64)
    y = Y[np.asarray(items, dtype=np.int64)]
    c1 = alpha * w
    A = Y.T @ Y + (y.T * c1) @ y + lam * np.eye(Y.shape[1])
    b = y.T @ ((1.0 + c1) * (w > 0))
    vec = np.linalg.lstsq(A, b, rcond=None)[0].astype(np.float32)
    vec.flags.writeable = False
    return vec


def recommendation_frame(
    items: np.ndarray,
    scores: np.ndarray,
    ranks: np.ndarray,
    ids: np.ndarray,
    labels: np.ndarray | None,
) -> pd.DataFrame:
    """``rank``, ``item`` (raw ID), ``label`` (title or None), ``score`` (float64)."""
    items = np.asarray(items, dtype=np.int64)
    return pd.DataFrame(
        {
            "rank": np.asarray(ranks, dtype=np.int64),
            "item": ids[items] if len(items) else ids[:0],
            "label": (
                labels[items] if labels is not None else np.full(len(items), None, dtype=object)
            ),
            "score": np.asarray(scores, dtype=np.float64),
        }
    )
