"""A saved user-item model read for lookups, with NumPy only (no torch, no numba).

``embedlab similar``, ``recommend``, ``export`` answer from a bundle's tables: the
item (or user) vectors, the biases and, for the neural model, a small MLP. Loading the
estimator (:func:`embedlab.load`) builds torch modules first, and importing torch takes
longer than the whole lookup. :func:`load_lookup` reads the same bundle with the same
checks (:func:`~embedlab.io.load_bundle`, :func:`~embedlab.io.check_model_bundle`) and
:class:`LookupModel` answers as the loaded estimator does:

* :meth:`LookupModel.item_embeddings` and :meth:`LookupModel.user_embeddings` are the
  estimator's (same vectors, labels, metadata, ``n_ratings``);
* :meth:`LookupModel.recommend` scores one training user as ``model.recommend`` does,
  the same formula in the same order of operations, in float32:

  - matrix factorization: ``p_u · q_i`` (0 when the model predicts with the biases only,
    ``use_factors``), ``+ b_u``, ``+ (b_i + μ)``;
  - neural: ``output(ReLU MLP([p_u; q_i]))`` (dropout is off at inference),
    ``+ p_u · q_i`` with ``dot``, then ``+ b_u``, ``+ b_i``, ``+ μ``;

  then ``squash`` when set, the user's training items left out, the top ``n`` and the
  predicted ratings clipped to the training rating scale (``clip``). Scores agree with
  torch's to float32 rounding (the matrix products may sum in another order).

* :meth:`LookupModel.fold_in` and :meth:`LookupModel.recommend_for_ratings` place a new
  visitor as the estimator does: 200 steps of Adam from zero on the visitor's squared
  error, the gradient written out in NumPy where the estimator uses torch's autograd
  (the same vector to float32 rounding).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from embedlab.data import Vocabulary
from embedlab.embeddings import KeyedEmbeddings
from embedlab.exceptions import BundleError, DataError, UnknownIDError
from embedlab.io._bundle import Bundle, load_bundle
from embedlab.io._schema import LAYOUT_TENSOR, MODEL_SETTINGS, check_model_bundle
from embedlab.recommend import (
    SEEN_TENSORS,
    SeenItems,
    explain_items,
    filtered_items,
    implicit_fold_in,
    mask_items,
    recommendation_frame,
    top_n,
)
from embedlab.settings import Int, Settings

__all__ = ["LookupModel", "load_lookup"]


def load_lookup(path: str | os.PathLike[str]) -> LookupModel:
    """Read a model bundle for lookups: neighbours, recommendations, exports (no torch).

    The bundle is checked as :func:`embedlab.load` checks it (files, checksums, config
    against the model's settings, tensors against the vocabularies), with the same
    messages.

    Args:
        path: A bundle of a :class:`~embedlab.MatrixFactorization` or a
            :class:`~embedlab.NeuralEmbeddingModel` (``model.save(path)``,
            ``embedlab train --out``).

    Returns:
        The :class:`LookupModel`.

    Raises:
        BundleError: For a missing, truncated or edited bundle, or one of a model class
            this embedlab does not know.

    Example:
        >>> lookup = load_lookup("runs/mf32")  # doctest: +SKIP
        >>> lookup.item_embeddings().most_similar("Star Wars", topn=3)  # doctest: +SKIP
    """
    bundle = load_bundle(path)
    cls = MODEL_SETTINGS.get(bundle.model_class)
    if cls is None:
        raise BundleError(
            f"{path}: model class {bundle.model_class!r} is not one this embedlab knows"
        )
    check_model_bundle(bundle)
    params = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in bundle.config["params"].items()
    }
    with warnings.catch_warnings():  # names of older releases, translated quietly
        warnings.simplefilter("ignore", FutureWarning)
        settings = cls.from_params(params, owner=bundle.model_class)
    _check_names(bundle, settings)
    return LookupModel(bundle, settings)


#: Tensors of a bundle that are not the module's parameters.
_EXTRAS = ("item_counts", "user_counts", LAYOUT_TENSOR, *SEEN_TENSORS)


def _module_names(model_class: str, settings: Settings) -> set[str]:
    """The state-dict names of the module the settings build (``nn.MFModule``,
    ``nn.NeuralModule``: a ``Linear`` then a ``ReLU`` (then a dropout) per hidden layer)."""
    names = {"user_embedding.weight", "item_embedding.weight"}
    for side in ("user", "item"):
        if getattr(settings, f"{side}_bias", False):  # (the implicit model has none)
            names.add(f"{side}_bias.weight")
    if getattr(settings, "global_bias", False):
        names.add("global_bias")
    if model_class == "NeuralEmbeddingModel":
        step = 3 if float(getattr(settings, "dropout", 0.0)) > 0 else 2
        for k in range(len(tuple(getattr(settings, "hidden", ())))):
            names |= {f"mlp.{k * step}.weight", f"mlp.{k * step}.bias"}
        names |= {"output.weight", "output.bias"}
    return names


def _check_names(bundle: Bundle, settings: Settings) -> None:
    """The tensors' names against the module the config builds, as the estimators' loading
    checks them (:func:`check_model_bundle` has checked their shapes and order)."""
    expected = _module_names(bundle.model_class, settings)
    given = {name for name in bundle.tensors if name not in _EXTRAS}
    missing, unexpected = sorted(expected - given), sorted(given - expected)
    if missing or unexpected:
        raise BundleError(
            f"weights.safetensors: the tensors do not fit a {bundle.model_class} built from "
            f"model.json's config (missing: {missing}, unexpected: {unexpected}); re-save the model"
        )


def _squash(settings: Settings) -> tuple[float, float] | None:
    squash = getattr(settings, "squash", None)
    if not squash:
        return None
    low, high = (float(v) for v in squash)
    return low, high


class LookupModel:
    """The tables of a saved model and the lookups the estimator answers from them.

    Made by :func:`load_lookup`. The tables are the bundle's read-only NumPy arrays; no
    method changes them (a visitor's fold-in fits only the visitor's vector).

    Attributes:
        path: The bundle directory.
        model_class: ``"MatrixFactorization"``, ``"NeuralEmbeddingModel"`` or
            ``"ImplicitMatrixFactorization"``.
        settings: The settings the model's module is built from (its parameters).
        settings_: The resolved settings it trained with (``settings`` for a bundle of
            embedlab 0.1, which recorded only the parameters).
        users_, items_: The vocabularies (raw ID <-> row index), as the estimator's.
        item_metadata_, user_metadata_: Metadata tables, or None.
        item_counts_, user_counts_: Training ratings per item and per user.
        seen_: The training interactions, or None (a bundle of an older release).
        rating_scale_: ``(low, high)`` of the training ratings, or None.
    """

    def __init__(self, bundle: Bundle, settings: Settings) -> None:
        self.path = bundle.path
        self.model_class = bundle.model_class
        self.settings = settings
        recorded = bundle.config.get("settings")
        #: The resolved settings the model trained with (as the estimator's ``settings_``).
        self.settings_ = (
            settings.replace(
                **{k: tuple(v) if isinstance(v, list) else v for k, v in recorded.items()}
            )
            if isinstance(recorded, dict)
            else settings
        )
        self._tensors = bundle.tensors
        self.users_: Vocabulary = bundle.users
        self.items_: Vocabulary = bundle.items
        self.item_metadata_ = bundle.item_metadata
        self.user_metadata_ = bundle.user_metadata
        self.item_counts_ = np.asarray(bundle.tensors["item_counts"])
        self.user_counts_ = np.asarray(bundle.tensors["user_counts"])
        self.seen_ = SeenItems.from_tensors(bundle.tensors, len(bundle.items))
        scale = bundle.config.get("rating_scale")
        self.rating_scale_ = None if scale is None else tuple(scale)
        adaptive = bundle.config.get("adaptive")
        #: False: the MF model predicts with the biases only (its held-out check chose so).
        self.use_factors = not (
            isinstance(adaptive, dict) and adaptive.get("factors_used") is False
        )

    def __repr__(self) -> str:
        return (
            f"LookupModel({self.model_class}, {len(self.users_)} users, "
            f"{len(self.items_)} items, path={str(self.path)!r})"
        )

    # ----------------------------------------------------------------- tables
    def _bias(self, name: str) -> np.ndarray | None:
        table = self._tensors.get(f"{name}.weight")
        return None if table is None else table[:, 0]

    def _labels(self) -> np.ndarray | None:
        meta = self.item_metadata_
        if meta is None or "title" not in meta.columns:
            return None
        return meta["title"].astype(object).where(meta["title"].notna(), None).to_numpy()

    def item_embeddings(self) -> KeyedEmbeddings:
        """Item vectors keyed by raw item ID, labelled with titles when known (as
        ``model.item_embeddings()``)."""
        meta = (
            None
            if self.item_metadata_ is None
            else self.item_metadata_.assign(n_ratings=self.item_counts_)
        )
        return KeyedEmbeddings(
            self._tensors["item_embedding.weight"],
            self.items_,
            labels=self._labels(),
            metadata=meta,
        )

    def user_embeddings(self) -> KeyedEmbeddings:
        """User vectors keyed by raw user ID (as ``model.user_embeddings()``)."""
        return KeyedEmbeddings(
            self._tensors["user_embedding.weight"], self.users_, metadata=self.user_metadata_
        )

    # ----------------------------------------------------------------- scores
    def _score_user(self, u: int) -> np.ndarray:
        """The predicted ratings (before clipping) of user index ``u`` for every item:
        float32 ``[1, n_items]``, computed as the estimator's module computes them."""
        t = self._tensors
        p = t["user_embedding.weight"][u : u + 1]
        q = t["item_embedding.weight"]
        bu, bi, mu = self._bias("user_bias"), self._bias("item_bias"), t.get("global_bias")
        if self.model_class in ("MatrixFactorization", "ImplicitMatrixFactorization"):
            raw = p @ q.T
            if not self.use_factors:
                raw = np.zeros_like(raw)
            # the order of FoldInMixin._finish_scores: raw + b_u, then + (b_i + μ)
            terms = mu if bi is None else (bi if mu is None else bi + mu)
            if bu is not None:
                raw = raw + bu[u]
            if terms is not None:
                raw = raw + terms
        else:
            raw = self._neural_raw(p, q)
            # the order of nn.finish_scores: + b_u, + b_i, + μ
            for term in (None if bu is None else bu[u], bi, mu):
                if term is not None:
                    raw = raw + term
            raw = raw[None, :]
        squash = _squash(self.settings)
        if squash is not None:
            low, high = squash
            raw = low + (high - low) * (1 / (1 + np.exp(-raw)))
        return np.asarray(raw, dtype=np.float32)

    def _layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The neural model's hidden layers ``(weight, bias)``, in order."""
        t = self._tensors
        order = sorted(
            int(name.split(".")[1])
            for name in t
            if name.startswith("mlp.") and name.endswith(".weight")
        )
        return [(t[f"mlp.{k}.weight"], t[f"mlp.{k}.bias"]) for k in order]

    def _neural_raw(
        self, p: np.ndarray, q: np.ndarray, trace: list[np.ndarray] | None = None
    ) -> np.ndarray:
        """``output(ReLU MLP([p; q_i]))`` (``+ p · q_i`` with ``dot``) for every row of ``q``;
        ``trace`` collects each hidden layer's input to the ReLU (for the gradient)."""
        t = self._tensors
        x = np.concatenate((np.broadcast_to(p, (len(q), p.shape[-1])), q), axis=1)
        for weight, bias in self._layers():
            x = x @ weight.T + bias
            if trace is not None:
                trace.append(x.copy())
            np.maximum(x, 0, out=x)
        raw = (x @ t["output.weight"].T + t["output.bias"])[:, 0]
        if getattr(self.settings, "dot", False):
            raw = raw + (p * q).sum(axis=-1)
        return raw

    def _clip(self, scores: np.ndarray) -> np.ndarray:
        scale = self.rating_scale_
        if scale is not None and getattr(self.settings, "clip", True):
            np.clip(scores, scale[0], scale[1], out=scores)
        return scores

    def _seen_or_raise(self) -> SeenItems:
        if self.seen_ is None:
            raise DataError(
                f"this {self.model_class} was saved by an older embedlab without its training "
                "interactions, so it cannot tell which items a user has seen; pass "
                "exclude_seen=False (and explain=False), or refit and save it again"
            )
        return self.seen_

    def _allowed_items(self, candidates: Any, min_count: Any, genres: Any) -> np.ndarray | None:
        return filtered_items(
            self.items_, self.item_counts_, self.item_metadata_, candidates, min_count, genres
        )

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

        The answer of ``embedlab.load(path).recommend(...)`` with the same arguments
        (see :meth:`embedlab.models.EmbeddingModel.recommend`), scores to float32
        rounding.

        Args:
            user: A raw user ID the model was trained on.
            n: At most this many items.
            candidates: Raw item IDs that are the only candidates.
            min_count: Only items with at least this many training ratings.
            genres: A genre name or several: only items having any of them.
            exclude_seen: Leave out the items the user rated in the training data.
            explain: Add a ``because`` column (:func:`embedlab.recommend.explain_items`).

        Returns:
            A DataFrame with columns ``rank``, ``item``, ``label``, ``score``
            [, ``because``], best first.

        Raises:
            UnknownIDError: For an unknown user or unknown candidate IDs.
            ValueError: For ``n`` < 1, ``candidates`` with ``min_count`` or ``genres``,
                or an unknown genre.
            DataError: With ``exclude_seen`` or ``explain`` on a bundle saved without
                its training interactions.
        """
        try:
            u = self.users_.index(user)
        except UnknownIDError as exc:
            raise UnknownIDError(
                f"{exc.args[0] if exc.args else exc}; recommend() needs a user from the training "
                "data; for a new visitor use recommend_for_ratings({item ID: rating, ...})"
            ) from None
        allowed = self._allowed_items(candidates, min_count, genres)
        seen = self._seen_or_raise() if exclude_seen or explain else None
        scores = self._score_user(u)
        mask_items(scores, allowed=allowed, seen=seen if exclude_seen else None, users=[u])
        return self._top_frame(scores, n, seen.row(u) if explain and seen is not None else None)

    def _top_frame(
        self, scores: np.ndarray, n: int, explain_with: tuple[np.ndarray, np.ndarray] | None
    ) -> pd.DataFrame:
        n = Int(1)("n", n)
        _, items, vals, ranks = top_n(scores, n)
        labels = self._labels()
        # ranked by the raw scores; reported as predicted ratings within the scale
        vals = self._clip(np.array(vals, dtype=np.float64))
        frame = recommendation_frame(items, vals, ranks, self.items_.ids(), labels)
        if explain_with is not None:
            ids = self.items_.ids().astype(object)
            names = ids if labels is None else np.where(pd.isna(labels), ids, labels)
            vectors = self._tensors["item_embedding.weight"]
            reasons = explain_items(vectors, items, *explain_with, names, implicit=self.implicit)
            frame["because"] = pd.Series(reasons, index=frame.index, dtype=object)
        return frame

    # ----------------------------------------------------------------- a new visitor
    def _visitor_scores(
        self, p: np.ndarray, b: np.ndarray | None, items: np.ndarray, grad: np.ndarray | None = None
    ) -> tuple[np.ndarray, Any]:
        """Predicted ratings of a user given as a vector ``p`` (and bias ``b``) for item
        indices, as the estimators' ``_score_with_user`` computes them (then ``+ b``,
        ``+ (b_i + μ)``, squash); and, with ``grad`` (``d loss / d prediction``), the
        gradients ``(d p, d b)``."""
        t = self._tensors
        q = t["item_embedding.weight"][items]
        bi, mu = self._bias("item_bias"), t.get("global_bias")
        trace: list[np.ndarray] = []
        neural = self.model_class == "NeuralEmbeddingModel"
        if neural:
            raw = self._neural_raw(p, q, trace)
        else:
            raw = q @ p if self.use_factors else np.zeros(len(items), dtype=np.float32)
        terms = mu if bi is None else (bi[items] if mu is None else bi[items] + mu)
        if b is not None:
            raw = raw + b
        if terms is not None:
            raw = raw + terms
        squash = _squash(self.settings)
        sig = None
        if squash is not None:
            low, high = squash
            sig = 1 / (1 + np.exp(-raw))
            raw = low + (high - low) * sig
        pred = np.asarray(raw, dtype=np.float32)
        if grad is None:
            return pred, None
        dz = grad if sig is None else grad * ((squash[1] - squash[0]) * sig * (1 - sig))
        db = dz.sum(dtype=np.float32)
        if neural:
            dx = dz[:, None] * t["output.weight"]
            for (weight, _), pre in zip(reversed(self._layers()), reversed(trace), strict=True):
                dx = (dx * (pre > 0)) @ weight
            dp = dx[:, : p.shape[-1]].sum(axis=0)
            if getattr(self.settings, "dot", False):
                dp = dp + dz @ q
        else:
            dp = dz @ q if self.use_factors else np.zeros_like(p)
        return pred, (dp.astype(np.float32), db)

    @property
    def implicit(self) -> bool:
        """Whether the model learnt from implicit feedback (weights, preference scores)."""
        return self.model_class == "ImplicitMatrixFactorization"

    def fold_in(
        self, ratings: Mapping[Any, float], *, l2: float | None = None, steps: int = 200
    ) -> tuple[np.ndarray, float]:
        """Place a new user in the model from ``{item ID: rating}``, as ``model.fold_in``
        does: the user's vector (and bias, when the model has user biases) from zero by
        ``steps`` steps of Adam (learning rate 0.05) on the mean squared error of the
        model's own predictions plus ``l2 · (‖p‖² + b²)`` (``l2`` None: 0.1), in float32
        with the gradient written out (torch's autograd in the estimator): the same vector
        to float rounding. For a model of implicit feedback the values are weights and
        the vector is the exact ALS solve (:func:`embedlab.recommend.implicit_fold_in`;
        ``l2`` None: the model's ``l2_user``; no bias).

        Returns:
            ``(vector, bias)`` (bias 0 without user biases).

        Raises:
            UnknownIDError: For an unknown item ID.
            ValueError: With no ratings.
        """
        if not ratings:
            raise ValueError("fold_in needs at least one (item ID, rating) pair")
        items = self.items_.indices(list(ratings)).astype(np.int64)
        r = np.array([float(v) for v in ratings.values()], dtype=np.float32)
        if self.implicit:
            vectors = self._tensors["item_embedding.weight"]
            return implicit_fold_in(vectors, items, r, self.settings_, l2=l2), 0.0
        l2 = 0.1 if l2 is None else l2
        dim = self._tensors["user_embedding.weight"].shape[1]
        has_bias = "user_bias.weight" in self._tensors
        params = [np.zeros(dim, dtype=np.float32), np.zeros(1, dtype=np.float32)]
        moments = [np.zeros_like(x) for x in params]
        squares = [np.zeros_like(x) for x in params]
        lr, beta1, beta2, eps = 0.05, 0.9, 0.999, 1e-8
        for step in range(1, int(steps) + 1):
            p, b = params
            pred, _ = self._visitor_scores(p, b if has_bias else None, items)
            grad = (np.float32(2.0 / len(r)) * (pred - r)).astype(np.float32)
            _, (dp, db) = self._visitor_scores(p, b if has_bias else None, items, grad)
            grads = [dp + np.float32(2 * l2) * p, db + np.float32(2 * l2) * b]
            for k in range(2 if has_bias else 1):
                # torch.optim.Adam (single-tensor, no weight decay)
                moments[k] += (grads[k] - moments[k]) * np.float32(1 - beta1)
                squares[k] = (
                    squares[k] * np.float32(beta2) + np.float32(1 - beta2) * grads[k] * grads[k]
                )
                step_size = lr / (1 - beta1**step)
                denom = np.sqrt(squares[k]) / np.float32((1 - beta2**step) ** 0.5) + np.float32(eps)
                params[k] = params[k] - np.float32(step_size) * (moments[k] / denom)
        return params[0], float(params[1][0]) if has_bias else 0.0

    def recommend_for_ratings(
        self,
        ratings: Mapping[Any, float],
        n: int = 10,
        *,
        candidates: Iterable[Any] | None = None,
        min_count: float | None = None,
        genres: str | Iterable[str] | None = None,
        exclude_seen: bool = True,
        explain: bool = False,
        l2: float | None = None,
        steps: int = 200,
    ) -> pd.DataFrame:
        """Recommendations for a new visitor from ``{item ID: rating}`` (finite numbers;
        weights for a model of implicit feedback),
        as ``model.recommend_for_ratings`` gives them: :meth:`fold_in`, every item scored,
        the rated items left out (``exclude_seen``), the top ``n``.

        Raises:
            UnknownIDError: For unknown item IDs.
            ValueError: With no ratings, or as :meth:`recommend`.
        """
        if not ratings:
            raise ValueError("recommend_for_ratings needs at least one (item ID, rating) pair")
        rated = self.items_.indices(list(ratings)).astype(np.int64)
        values = np.array([float(v) for v in ratings.values()], dtype=np.float32)
        allowed = self._allowed_items(candidates, min_count, genres)
        vector, bias = self.fold_in(ratings, l2=l2, steps=steps)
        has_bias = "user_bias.weight" in self._tensors
        scores, _ = self._visitor_scores(
            vector,
            np.float32(bias) if has_bias else None,
            np.arange(len(self.items_)),
        )
        scores = scores[None, :]
        mask_items(scores, allowed=allowed, exclude=[rated] if exclude_seen else None)
        return self._top_frame(scores, n, (rated, values) if explain else None)
