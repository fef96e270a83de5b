"""Recommendation: the best items for training users and for new visitors.

:class:`RecommenderMixin` gives :class:`~embedlab.models.EmbeddingModel` its
``recommend``, ``recommend_batch`` and ``recommend_for_ratings`` methods; the array
work (masks, top-N, explanations, the DataFrame) is in :mod:`embedlab.recommend`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from embedlab.exceptions import DataError, UnknownIDError
from embedlab.models._foldin import rating_pairs
from embedlab.recommend import SeenItems
from embedlab.settings import Int

__all__ = ["RecommenderMixin"]

#: Most (user, item) pairs scored in one module call by recommend_batch (non-MF modules).
_PAIR_BUDGET = 1 << 20


def _top_candidates(scores: np.ndarray, n: int) -> np.ndarray | None:
    """Indices of each row's ``n`` best scores (any order) by torch's multi-threaded top-k.

    Several times faster than NumPy's single-threaded ``argpartition`` on score blocks
    of many users; ``None`` (NumPy decides) when no partition is needed or a score is
    NaN, which ``topk`` would rank first.
    """
    k = min(int(n), scores.shape[1])
    if k >= scores.shape[1] or scores.size == 0:
        return None
    with torch.inference_mode():
        vals, part = torch.topk(torch.from_numpy(scores), k, dim=1, sorted=False)
        if torch.isnan(vals).any():
            return None
    return part.numpy()


class RecommenderMixin:
    """Recommendation methods of :class:`~embedlab.models.EmbeddingModel`.

    Relies on what the estimator provides: the fitted state ``module_``, ``users_``,
    ``items_``, ``item_metadata_``, ``item_counts_`` and ``seen_`` (``None`` or absent
    for a bundle saved without its training interactions); ``_check_fitted()`` and
    ``_labels(meta)``; and, from ``FoldInMixin``,
    ``fold_in``, ``score_items`` and ``_finish_scores``.
    """

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """Scores of user indices against every item: float32 ``[len(users), n_items]``.

        Matrix factorization takes one matrix product; other modules get one module
        call per block of at most ``_PAIR_BUDGET`` (user, item) pairs (one call for
        a single user).
        """
        from embedlab.nn import MFModule

        m, n_items = self.module_, len(self.items_)
        users = np.asarray(users, dtype=np.int64)
        with torch.inference_mode():
            u = torch.as_tensor(users, dtype=torch.long)
            if isinstance(m, MFModule):
                raw = m.user_embedding(u) @ m.item_embedding.weight.T
                if not m.use_factors:
                    raw.zero_()
                b = None if m.user_bias is None else m.user_bias(u)
                return self._finish_scores(raw, b, torch.arange(n_items)).numpy()
            out = np.empty((len(users), n_items), dtype=np.float32)
            step = max(1, _PAIR_BUDGET // n_items)
            items = torch.arange(n_items)
            for start in range(0, len(users), step):
                block = u[start : start + step]
                scores = m(block.repeat_interleave(n_items), items.repeat(len(block)))
                out[start : start + len(block)] = scores.reshape(len(block), n_items).numpy()
            return out

    def _seen_or_raise(self) -> SeenItems:
        seen = getattr(self, "seen_", None)
        if seen is None:
            raise DataError(
                f"this {type(self).__name__} was saved by an older embedlab without its training "
                "interactions, so it cannot tell which items a user has seen; pass "
                "exclude_seen=False (and explain=False), or refit and save it again"
            )
        return seen

    def _allowed_items(self, candidates: Any, min_count: Any, genres: Any) -> np.ndarray | None:
        from embedlab.recommend import filtered_items

        return filtered_items(
            self.items_, self.item_counts_, self.item_metadata_, candidates, min_count, genres
        )

    def _top_frame(
        self,
        scores: np.ndarray,
        n: int,
        explain_with: tuple[np.ndarray, np.ndarray] | None,
    ) -> pd.DataFrame:
        from embedlab.recommend import explain_items, recommendation_frame, top_n

        n = Int(1)("n", n)
        _, items, vals, ranks = top_n(scores, n)
        labels = self._labels(self.item_metadata_)
        # ranked by the raw scores; reported as predicted ratings within the scale
        vals = self._clip(np.array(vals, dtype=np.float64))
        frame = recommendation_frame(items, vals, ranks, self.items_.ids(), labels)
        if explain_with is not None:
            ids = self.items_.ids().astype(object)
            names = ids if labels is None else np.where(pd.isna(labels), ids, labels)
            vectors = self.module_.item_embedding.weight.detach().numpy()
            reasons = explain_items(vectors, items, *explain_with, names)
            frame["because"] = pd.Series(reasons, index=frame.index, dtype=object)
        return frame

    def recommend(
        self,
        user: Any,
        n: int = 10,
        *,
        candidates: Iterable[Any] | None = None,
        min_count: float | None = None,
        genres: str | Iterable[str] | None = None,
        exclude_seen: bool = True,
        explain: bool = False,
    ) -> pd.DataFrame:
        """The ``n`` items with the highest predicted rating for a training user.

        All items are scored at once (one module call, or one matrix product for
        matrix factorization); ties go to the lower item index.

        Args:
            user: A raw user ID the model was trained on.
            n: At most this many items.
            candidates: Raw item IDs that are the only candidates.
            min_count: Only items with at least this many training ratings (the
                course keeps movies with >= 100).
            genres: A genre name or several: only items having any of them.
            exclude_seen: Leave out the items the user rated in the training data.
            explain: Add a ``because`` column: for each item, a list of up to 2
                labels (IDs when there are no titles) of the rated items contributing
                most to it, by cosine of the item embeddings times how far above the
                user's mean rating the item was rated (see
                :func:`embedlab.recommend.explain_items`). Items rated at or below
                the mean are never named; the list is empty when no rated item
                contributes positively (e.g. a single rating).

        Returns:
            A DataFrame with columns ``rank`` (1..), ``item`` (raw ID), ``label``
            (title, or None), ``score`` (predicted rating) [, ``because``], best
            first. When no item is left (the user rated every candidate) it has
            these columns and no rows.

        Raises:
            NotFittedError: Before ``fit``.
            UnknownIDError: For an unknown user (use :meth:`recommend_for_ratings`
                for new visitors) or unknown candidate IDs.
            ValueError: For ``n`` < 1, ``candidates`` together with ``min_count`` or
                ``genres``, or an unknown genre.
            DataError: With ``exclude_seen`` or ``explain`` on a model loaded from
                a bundle saved without its training interactions.
        """
        from embedlab.recommend import mask_items

        self._check_fitted()
        try:
            u = self.users_.index(user)
        except UnknownIDError as exc:
            raise UnknownIDError(
                f"{exc.args[0] if exc.args else exc}; recommend() needs a user from the training "
                "data; for a new visitor use recommend_for_ratings({item ID: rating, ...})"
            ) from None
        allowed = self._allowed_items(candidates, min_count, genres)
        seen = self._seen_or_raise() if exclude_seen or explain else None
        scores = self._score_users(np.array([u]))
        mask_items(scores, allowed=allowed, seen=seen if exclude_seen else None, users=[u])
        return self._top_frame(scores, n, seen.row(u) if explain and seen is not None else None)

    def recommend_batch(
        self,
        users: Iterable[Any] | None = None,
        n: int = 10,
        *,
        candidates: Iterable[Any] | None = None,
        min_count: float | None = None,
        genres: str | Iterable[str] | None = None,
        exclude_seen: bool = True,
        chunk_size: int = 1024,
    ) -> pd.DataFrame:
        """:meth:`recommend` for many users (all training users when None), chunked.

        Users are scored ``chunk_size`` at a time (a ``[chunk_size, n_items]`` block),
        so memory stays bounded whatever the number of users. The rows of each user
        are those :meth:`recommend` returns.

        Returns:
            A tidy DataFrame with columns ``user``, ``rank``, ``item``, ``label``,
            ``score``, users in the given order (index order when None).

        Raises:
            NotFittedError: Before ``fit``.
            UnknownIDError: For unknown user or candidate IDs.
            ValueError: As :meth:`recommend`, or for ``chunk_size`` < 1.
            DataError: As :meth:`recommend`.
        """
        from embedlab.recommend import mask_items, top_n

        self._check_fitted()
        chunk_size = Int(1)("chunk_size", chunk_size)
        n = Int(1)("n", n)
        if users is None:
            u_idx = np.arange(len(self.users_), dtype=np.int64)
        else:
            ids = [users] if isinstance(users, (str, int, np.integer)) else list(users)
            u_idx = self.users_.indices(ids).astype(np.int64)
        allowed = self._allowed_items(candidates, min_count, genres)
        seen = self._seen_or_raise() if exclude_seen else None
        parts: list[tuple[np.ndarray, ...]] = []
        for start in range(0, len(u_idx), chunk_size):
            block = u_idx[start : start + chunk_size]
            scores = mask_items(self._score_users(block), allowed=allowed, seen=seen, users=block)
            rows, items, vals, ranks = top_n(scores, int(n), candidates=_top_candidates(scores, n))
            parts.append((block[rows], items, vals, ranks))
        cols = [np.concatenate([p[k] for p in parts]) for k in range(4)] if parts else None
        u_rows, items, vals, ranks = cols or (np.empty(0, dtype=np.int64),) * 4
        labels = self._labels(self.item_metadata_)
        item_ids, user_ids = self.items_.ids(), self.users_.ids()
        return pd.DataFrame(
            {
                "user": user_ids[u_rows] if len(u_rows) else user_ids[:0],
                "rank": np.asarray(ranks, dtype=np.int64),
                "item": item_ids[items] if len(items) else item_ids[:0],
                "label": labels[items] if labels is not None else np.full(len(items), None, object),
                "score": self._clip(np.array(vals, dtype=np.float64)),
            }
        )

    def recommend_for_ratings(
        self,
        ratings: Mapping[Any, float] | Iterable[tuple[Any, float]],
        n: int = 10,
        *,
        candidates: Iterable[Any] | None = None,
        min_count: float | None = None,
        genres: str | Iterable[str] | None = None,
        exclude_seen: bool = True,
        explain: bool = False,
        l2: float = 0.1,
        steps: int = 200,
    ) -> pd.DataFrame:
        """Recommendations for a new visitor from a few ``(item ID, rating)`` pairs.

        The visitor is placed in the model with :meth:`fold_in` (``l2``, ``steps``)
        and every item is scored with :meth:`score_items`; no retraining.

        Args:
            ratings: ``{item ID: rating}`` or pairs ``(item ID, rating)``.
            n, candidates, min_count, genres, explain: As :meth:`recommend`.
            exclude_seen: Leave out the rated items.
            l2, steps: Passed to :meth:`fold_in`.

        Returns:
            The DataFrame of :meth:`recommend`.

        Raises:
            NotFittedError: Before ``fit``.
            UnknownIDError: For unknown item IDs (also text that is no ID, a number
                past int64, a float).
            ValueError: With no ratings, or as :meth:`recommend`.
            DataError: For a rating that is not a finite number (NaN, infinity, text).
        """
        from embedlab.recommend import mask_items

        self._check_fitted()
        pairs, rated, values = rating_pairs(ratings, self.items_, "recommend_for_ratings")
        allowed = self._allowed_items(candidates, min_count, genres)
        folded = self.fold_in(pairs, l2=l2, steps=steps)
        scores = self.score_items(folded)[None, :]
        mask_items(scores, allowed=allowed, exclude=[rated] if exclude_seen else None)
        return self._top_frame(scores, n, (rated, values) if explain else None)
