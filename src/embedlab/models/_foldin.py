"""Fold-in: place a user who was not in the training data in a fitted model.

:class:`FoldInMixin` gives :class:`~embedlab.models.EmbeddingModel` its ``fold_in`` and
``score_items`` methods and the scoring helper ``_finish_scores`` that both model
families (and ``RecommenderMixin``) use.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from embedlab.exceptions import DataError

__all__ = ["FoldInMixin", "FoldedUser", "rating_pairs"]


def _shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters (an int of more than
    4300 digits has no repr at all)."""
    try:
        text = repr(value)
    except ValueError:
        text = f"an int of {value.bit_length()} bits" if isinstance(value, int) else "?"
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def rating_pairs(
    ratings: Any, items: Any, what: str
) -> tuple[list[tuple[Any, float]], np.ndarray, np.ndarray]:
    """A visitor's ``(item ID, rating)`` pairs, checked: the pairs, item indices, ratings.

    Args:
        ratings: ``{item ID: rating}`` or pairs ``(item ID, rating)``.
        items: The model's item :class:`~embedlab.data.Vocabulary`.
        what: The calling method, for messages (``"fold_in"``).

    Returns:
        The pairs (ratings as ``float``), the ``int64`` item indices and the ``float32``
        ratings, in the given order.

    Raises:
        ValueError: With no pairs, or a pair that is not an ``(item ID, rating)`` pair.
        UnknownIDError: For an item ID the model does not know (any text, huge number,
            float or other odd value that is no ID of it), with the vocabulary's message.
        DataError: For a rating that is not a finite number (NaN, infinity, text, bool).
    """
    pairs = list(ratings.items()) if isinstance(ratings, Mapping) else list(ratings)
    if not pairs:
        raise ValueError(f"{what} needs at least one (item ID, rating) pair")
    for pair in pairs:
        if (
            isinstance(pair, (str, bytes))
            or not isinstance(pair, (Sequence, np.ndarray))
            or (isinstance(pair, np.ndarray) and pair.ndim != 1)
            or len(pair) != 2
        ):
            raise ValueError(
                f"{what}: ratings holds {_shown(pair)}; expected (item ID, rating) pairs or "
                "{item ID: rating}, e.g. [(50, 5.0)]"
            )
    ids = np.empty(len(pairs), dtype=object)  # a 1-D array even when an ID is a list
    ids[:] = [pair[0] for pair in pairs]
    rows = items.indices(ids).astype(np.int64)
    values = []
    for item, rating in pairs:
        value = math.nan
        if isinstance(rating, numbers.Real) and not isinstance(rating, (bool, np.bool_)):
            with contextlib.suppress(OverflowError):
                value = float(rating)
        if not math.isfinite(value):
            raise DataError(
                f"{what}: the rating of item {_shown(item)} is {_shown(rating)}; expected a finite "
                "number on the model's rating scale, e.g. 4.0"
            )
        values.append(value)
    checked = [(pair[0], v) for pair, v in zip(pairs, values, strict=True)]
    return checked, rows, np.array(values, dtype=np.float32)


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
            ValueError: With no ratings, or something other than pairs.
            DataError: For a rating that is not a finite number.
        """
        self._check_fitted()
        pairs, items, values = rating_pairs(ratings, self.items_, "fold_in")
        r = torch.from_numpy(values)
        module = self.module_
        dim = module.user_embedding.weight.shape[1]
        p = torch.zeros(1, dim, requires_grad=True)
        has_bias = getattr(module, "user_bias", None) is not None
        b = torch.zeros(1, requires_grad=True)
        params = [p, b] if has_bias else [p]
        moments = [torch.zeros_like(x) for x in params]
        squares = [torch.zeros_like(x) for x in params]
        lr, beta1, beta2, eps = 0.05, 0.9, 0.999, 1e-8
        idx = torch.as_tensor(items, dtype=torch.long)
        for step in range(1, int(steps) + 1):
            pred = self._score_with_user(p.expand(len(idx), dim), b if has_bias else None, idx)
            loss = ((pred - r) ** 2).mean() + l2 * (
                p.square().sum() + (b.square().sum() if has_bias else 0)
            )
            grads = torch.autograd.grad(loss, params)
            # torch.optim.Adam's single-tensor rule (no weight decay), written out: its
            # step() imports torch._dynamo at the first call (about 1 s).
            with torch.no_grad():
                for x, g, m, v in zip(params, grads, moments, squares, strict=True):
                    m.lerp_(g, 1 - beta1)
                    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    denom = (v.sqrt() / ((1 - beta2**step) ** 0.5)).add_(eps)
                    x.addcdiv_(m, denom, value=-lr / (1 - beta1**step))
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
