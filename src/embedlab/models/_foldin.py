"""Fold-in: place a user who was not in the training data in a fitted model.

:class:`FoldInMixin` gives :class:`~embedlab.models.EmbeddingModel` its ``fold_in`` and
``score_items`` methods and the scoring helper ``_finish_scores`` that both model
families (and ``RecommenderMixin``) use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = ["FoldInMixin", "FoldedUser"]


@dataclass(frozen=True)
class FoldedUser:
    """A user who was not in the training data, placed in the model by fold-in.

    Attributes:
        vector: The user's embedding (read-only).
        bias: The user's bias (0 when the model has no user bias).
        n_ratings: How many ratings it was computed from.
    """

    vector: np.ndarray
    bias: float
    n_ratings: int


class FoldInMixin:
    """Fold-in methods of :class:`~embedlab.models.EmbeddingModel`.

    Relies on what the estimator provides: the fitted state ``module_`` (with
    ``user_embedding``, ``item_embedding``, ``user_bias``, ``item_bias``,
    ``global_bias`` and ``squash``) and ``items_``; ``_check_fitted()``; and
    ``_score_with_user``, which each model class implements (most end with
    :meth:`_finish_scores`).
    """

    def fold_in(
        self,
        ratings: Mapping[Any, float] | Iterable[tuple[Any, float]],
        *,
        l2: float = 0.1,
        steps: int = 200,
    ) -> FoldedUser:
        """Place a new user in the model from a few ``(item ID, rating)`` pairs.

        The item side stays fixed; only the new user's vector (and bias, when the
        model has user biases) is fitted, by minimizing the squared error of the
        model's own predictions plus ``l2 · (‖p‖² + b²)`` with Adam for ``steps``
        steps (a closed-form ridge solve would do for matrix factorization; one
        path serves both model families).

        Raises:
            NotFittedError: Before ``fit``.
            UnknownIDError: If an item ID is unknown.
            ValueError: With no ratings.
        """
        self._check_fitted()
        pairs = list(ratings.items()) if isinstance(ratings, Mapping) else list(ratings)
        if not pairs:
            raise ValueError("fold_in needs at least one (item ID, rating) pair")
        items = self.items_.indices([p[0] for p in pairs])
        r = torch.tensor([float(p[1]) for p in pairs], dtype=torch.float32)
        module = self.module_
        dim = module.user_embedding.weight.shape[1]
        p = torch.zeros(1, dim, requires_grad=True)
        has_bias = getattr(module, "user_bias", None) is not None
        b = torch.zeros(1, requires_grad=True)
        opt = torch.optim.Adam([p, b] if has_bias else [p], lr=0.05)
        idx = torch.as_tensor(items, dtype=torch.long)
        for _ in range(int(steps)):
            opt.zero_grad()
            pred = self._score_with_user(p.expand(len(idx), dim), b if has_bias else None, idx)
            loss = ((pred - r) ** 2).mean() + l2 * (
                p.square().sum() + (b.square().sum() if has_bias else 0)
            )
            loss.backward()
            opt.step()
        vec = p.detach().numpy()[0].copy()
        vec.flags.writeable = False
        return FoldedUser(
            vector=vec, bias=float(b.detach()) if has_bias else 0.0, n_ratings=len(pairs)
        )

    def _score_with_user(
        self, p: torch.Tensor, b: torch.Tensor | None, items: torch.Tensor
    ) -> torch.Tensor:
        """Scores of a user given as a vector (and bias) against item indices."""
        raise NotImplementedError

    def _finish_scores(
        self, raw: torch.Tensor, b: torch.Tensor | None, items: torch.Tensor
    ) -> torch.Tensor:
        """Add the user bias ``b``, the item biases and ``μ`` to ``raw``, then squash."""
        m = self.module_
        # One new tensor, then in place: score blocks are [users, n_items] and large.
        if m.item_bias is not None:
            terms = m.item_bias(items).squeeze(-1)
            if m.global_bias is not None:
                terms = terms + m.global_bias
        else:
            terms = m.global_bias
        if b is not None:
            raw = raw + b
            if terms is not None:
                raw.add_(terms)
        elif terms is not None:
            raw = raw + terms
        if m.squash is not None:
            low, high = m.squash
            raw = low + (high - low) * torch.sigmoid(raw)
        return raw

    def score_items(self, user: FoldedUser, items: Any = None) -> np.ndarray:
        """Predicted ratings of a folded-in user for raw item IDs (all items when None)."""
        self._check_fitted()
        idx = np.arange(len(self.items_)) if items is None else self.items_.indices(items)
        with torch.inference_mode():
            p = torch.tensor(np.array(user.vector), dtype=torch.float32)[None, :].expand(
                len(idx), -1
            )
            b = (
                torch.tensor([user.bias], dtype=torch.float32)
                if getattr(self.module_, "user_bias", None) is not None
                else None
            )
            return (
                self._score_with_user(p, b, torch.as_tensor(idx, dtype=torch.long))
                .numpy()
                .astype(np.float32)
            )
