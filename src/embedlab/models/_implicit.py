"""ImplicitMatrixFactorization: embeddings from clicks, plays, views and purchases."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from embedlab.exceptions import DataError, SettingsError
from embedlab.models._base import EmbeddingModel, FoldedUser
from embedlab.models._foldin import rating_pairs
from embedlab.models._mf import _load_params
from embedlab.nn import MFModule
from embedlab.recommend import explain_items, implicit_fold_in
from embedlab.settings import ImplicitMFSettings, resolve_implicit
from embedlab.training import History
from embedlab.training.engines import get_engine

__all__ = ["ImplicitMatrixFactorization"]

_SPARK_OPTIONS = ("spark", "spark_master", "spark_conf")


class ImplicitMatrixFactorization(EmbeddingModel):
    """Matrix factorization of implicit feedback: preference scores ``s(u, i) = x_u · y_i``.

    Learns from interactions with no ratings (clicks, plays, views, purchases), each
    with a non-negative weight (1.0 for a plain interaction; a count or play time):
    an :class:`~embedlab.Interactions` with ``feedback="implicit"``
    (:func:`embedlab.load_interactions`, or ``ratings.to_implicit(threshold=4)`` to
    make rating data implicit). Scores rank items; they are not ratings (no biases,
    no global mean, no rating scale).

    Three engines:

    * ``"als"`` (the default): confidence-weighted alternating least squares (Hu,
      Koren & Volinsky 2008), as ``implicit`` solves it: every (user, item) pair is a
      target, 1 for an interaction and 0 otherwise, weighted by the confidence
      ``c = 1 + alpha · w`` (1 for no interaction), minimising
      ``Σ c (p − x_u·y_i)² + l2_user Σ‖x_u‖² + l2_item Σ‖y_i‖²``. Each half-step
      updates every user (then item) with ``cg_steps`` warm-started conjugate-gradient
      steps on its normal equations, the Gram matrix ``YᵀY`` shared, so one epoch costs
      time linear in the interactions. Compiled for the CPU (numba); rows are solved in
      parallel and independently, so the same seed gives the same tables on any number
      of threads. With a GPU (``device="auto"`` when torch sees one, or ``"cuda"``) the
      same algorithm runs in torch, all rows' CG steps batched.
    * ``"bpr"``: Bayesian personalized ranking (Rendle et al. 2009), SGD on triples of a
      user, one of the user's items and a sampled other item; weights only say which
      pairs interacted. One thread, deterministic with a seed.
    * ``"spark"``: Spark MLlib's ALS with ``implicitPrefs=True`` for data beyond one
      machine (``pip install "embedlab[spark]"``, Java 17): the same confidence, exact
      solves, but L2 scaled by each row's number of interactions (its own defaults);
      ``fit`` takes ``spark=``, ``spark_master=``, ``spark_conf=``. One history record.

    The defaults were chosen on a validation slice of MovieLens 100K's training part
    (positives = ratings >= 4; see :mod:`embedlab.settings._implicit`): width 64, 15
    alternations, 3 CG steps as ``implicit``'s ALS, but ``alpha=9`` and L2 50, which
    gave NDCG@10 0.224 and Recall@20 0.345 where ``implicit``'s own defaults
    (``regularization=0.01``, α 1-20) gave at most 0.156 and 0.256 with this solver.

    Everything the rating models have that does not need ratings works the same:
    :meth:`item_embeddings` / :meth:`user_embeddings` (neighbours, maps, exports),
    :meth:`recommend` / :meth:`recommend_batch` (seen items excluded by default),
    :meth:`recommend_for_ratings` for a visitor's items, :meth:`save` and
    :func:`embedlab.load`. :meth:`evaluate` (RMSE) does not apply: score the
    recommendations with the ranking metrics of :mod:`embedlab.evaluation`.

    {settings_args}

    Example:
        >>> import numpy as np, embedlab as el
        >>> users, items = np.repeat(np.arange(20), 5), np.arange(100) % 25
        >>> data = el.Interactions.from_ids(users, items, np.ones(100)).to_implicit(threshold=1)
        >>> model = el.ImplicitMatrixFactorization(embedding_dim=8, random_state=0).fit(data, progress=False)
        >>> model.recommend(0, n=3)["rank"].tolist()
        [1, 2, 3]
    """

    model_class = "ImplicitMatrixFactorization"
    settings_class = ImplicitMFSettings

    # ----------------------------------------------------------------- engines
    def _resolve(
        self,
        settings: ImplicitMFSettings,
        n_ratings: int,
        seed: int,
        checkpoint: bool,
        holdout: bool = False,
    ) -> ImplicitMFSettings:
        return resolve_implicit(settings, random_state=seed, cuda=torch.cuda.is_available())

    def _build_module(
        self,
        settings: ImplicitMFSettings,
        n_users: int,
        n_items: int,
        generator: torch.Generator,
    ) -> MFModule:
        return MFModule(
            n_users,
            n_items,
            settings.embedding_dim,
            user_bias=False,
            item_bias=False,
            global_bias=False,
            init_std=settings.init_std or 0.01,  # a placeholder: the engine draws the start
            generator=generator,
            initialize=False,
        )

    def _train(
        self, module, settings, data, *, checkpoint_dir, resume, callbacks, progress, options
    ) -> History:  # type: ignore[override]
        given = [k for k, v in options.items() if v is not None]
        if given and settings.engine != "spark":
            raise SettingsError(
                f"{', '.join(given)} only apply to engine='spark', but the {settings.engine} "
                "engine would train this model; pass engine='spark'"
            )
        result = get_engine(f"implicit_{settings.engine}").fit(
            data, settings, callbacks=callbacks, progress=progress, **options
        )
        _load_params(module, result.tables)
        return result.history

    def _score_with_user(
        self, p: torch.Tensor, b: torch.Tensor | None, items: torch.Tensor
    ) -> torch.Tensor:
        return (p * self.module_.item_embedding(items)).sum(-1)

    # ----------------------------------------------------------------- fit
    def fit(  # type: ignore[override]
        self,
        dataset: Any,
        *,
        callbacks: Any = None,
        progress: bool = True,
        **options: Any,
    ) -> ImplicitMatrixFactorization:
        """Train on implicit interactions; returns ``self``.

        Args:
            dataset: An :class:`~embedlab.Interactions` with ``feedback="implicit"``:
                ``rating`` holds each pair's weight (>= 0; 0 is no interaction).
            callbacks: ``f(epoch, logs) -> bool`` or objects with ``on_epoch_end``;
                returning True stops training (``logs``: ``epoch``, ``train_loss``,
                ``seconds``).
            progress: Print one line per epoch on stderr.
            **options: With ``engine="spark"``, the Spark session: ``spark`` (a
                ``SparkSession``), ``spark_master``, ``spark_conf`` (as
                :meth:`MatrixFactorization.fit`).

        After fitting, ``settings_`` holds the resolved settings, ``engine_`` the
        engine (``"als"``, ``"bpr"`` or ``"spark"``), ``history_`` one record per epoch and
        ``training_seconds_`` the wall time; :meth:`save` records them.

        Raises:
            TypeError: If the data is not an :class:`~embedlab.Interactions`, or for an
                option the rating models have but this one does not (``validation``,
                ``validation_split``, ``checkpoint_dir``, ``resume``).
            DataError: For explicit ratings, negative or non-finite weights, or no
                weight above 0.
            SettingsError: For a bad parameter or one the engine does not use, or Spark
                options with another engine.
            TrainingDivergedError: If the tables stop being finite.
        """
        from embedlab.data import Interactions

        for name in ("validation", "validation_split", "checkpoint_dir", "resume"):
            if name in options:
                raise TypeError(
                    f"ImplicitMatrixFactorization.fit() has no {name}= option (it has no "
                    "rating to validate); hold out interactions with the ranking protocol of "
                    "embedlab.evaluation and score recommend_batch() on them"
                )
        unknown = [k for k in options if k not in _SPARK_OPTIONS]
        if unknown:
            raise TypeError(f"fit() got an unexpected keyword argument {unknown[0]!r}")
        if isinstance(dataset, Interactions):
            _check_implicit(dataset)
        super().fit(dataset, callbacks=callbacks, progress=progress, **options)
        return self

    # ----------------------------------------------------------------- predict
    def predict(
        self, users: Any, items: Any, *, unknown: Literal["error", "fallback"] = "error"
    ) -> np.ndarray:
        """Preference scores ``x_u · y_i`` for pairs of raw IDs (``users[k]``, ``items[k]``).

        Scores rank items for a user (higher: more likely to interact); they are not
        ratings nor probabilities, and are not clipped.

        Args:
            users: Raw user IDs (one, or a sequence).
            items: Raw item IDs, one per user ID.
            unknown: ``"error"`` (default) raises on IDs the model does not know;
                ``"fallback"`` scores a pair with an unknown ID 0.

        Returns:
            A float32 array, one score per pair.

        Raises:
            NotFittedError: Before ``fit``.
            UnknownIDError: For unknown IDs with ``unknown="error"``.
        """
        return super().predict(users, items, unknown=unknown)

    def evaluate(self, dataset: Any, *, unknown: str = "error") -> dict[str, float]:  # type: ignore[override]
        """Not available: RMSE and MAE compare predicted ratings with ratings, and this
        model predicts preference scores.

        Raises:
            TypeError: Always; the message points to the ranking metrics.
        """
        raise TypeError(
            "ImplicitMatrixFactorization.evaluate() does not apply: the model predicts "
            "preference scores, not ratings, so RMSE/MAE mean nothing; rank held-out "
            "interactions instead (embedlab.evaluation's Recall@k / NDCG@k on "
            "recommend_batch())"
        )

    # ----------------------------------------------------------------- visitors
    def fold_in(
        self,
        ratings: Mapping[Any, float] | Iterable[tuple[Any, float]],
        *,
        l2: float | None = None,
        steps: int | None = None,
    ) -> FoldedUser:
        """Place a new user in the model from ``(item ID, weight)`` pairs (weight 1.0
        for a plain interaction), with the items fixed: the exact solve of the ALS
        user step, ``x = (YᵀY + Σ α w y yᵀ + λ I)⁻¹ Σ (1 + α w) y`` (``α`` the model's
        ``alpha``, 9 for a BPR model; for a Spark model ``λ`` is multiplied by the
        number of items, as Spark's weighted-λ).

        Args:
            ratings: ``{item ID: weight}`` or pairs ``(item ID, weight)``; weights >= 0.
            l2: ``λ`` (None: the model's ``l2_user``).
            steps: Ignored (the solve is exact); accepted for the rating models' calls.

        Raises:
            NotFittedError: Before ``fit``.
            UnknownIDError: If an item ID is unknown.
            ValueError: With no pairs, or something other than pairs.
            DataError: For a weight that is negative or not a finite number.
        """
        self._check_fitted()
        pairs, items, values = rating_pairs(ratings, self.items_, "fold_in")
        if (values < 0).any():
            bad = pairs[int(np.argmax(values < 0))]
            raise DataError(
                f"fold_in: the weight of item {bad[0]!r} is {bad[1]:g}; expected a weight >= 0 "
                "(1.0 for a plain interaction)"
            )
        if l2 is not None and not float(l2) >= 0:
            raise SettingsError(f"l2={l2!r}: expected a finite number >= 0")
        settings = getattr(self, "settings_", None) or self.get_settings()
        Y = self.module_.item_embedding.weight.detach().numpy()
        vec = implicit_fold_in(Y, items, values, settings, l2=l2)
        return FoldedUser(vector=vec, bias=0.0, n_ratings=len(pairs))

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
        l2: float | None = None,
        steps: int = 0,
    ) -> pd.DataFrame:
        """Recommendations for a new visitor from the items they interacted with:
        ``{item ID: weight}`` or ``(item ID, weight)`` pairs (weight 1.0 for a click).

        The visitor is placed by :meth:`fold_in` (``l2``: None is the model's
        ``l2_user``); the rest is as :meth:`recommend`.

        Raises:
            UnknownIDError: As :meth:`~embedlab.models.EmbeddingModel.recommend_for_ratings`.
        """
        return super().recommend_for_ratings(
            ratings,
            n,
            candidates=candidates,
            min_count=min_count,
            genres=genres,
            exclude_seen=exclude_seen,
            explain=explain,
            l2=l2,  # type: ignore[arg-type]
            steps=steps,
        )

    def _top_frame(
        self,
        scores: np.ndarray,
        n: int,
        explain_with: tuple[np.ndarray, np.ndarray] | None,
    ) -> pd.DataFrame:
        """:meth:`recommend`'s frame; ``because`` names the user's items most similar to
        each recommendation (cosine of the item vectors times the item's weight)."""
        frame = super()._top_frame(scores, n, None)
        if explain_with is not None:
            labels = self._labels(self.item_metadata_)
            ids = self.items_.ids().astype(object)
            names = ids if labels is None else np.where(pd.isna(labels), ids, labels)
            rows = self.items_.indices(frame["item"].tolist()) if len(frame) else np.empty(0, int)
            vectors = self.module_.item_embedding.weight.detach().numpy()
            reasons = explain_items(vectors, rows, *explain_with, names, implicit=True)
            frame["because"] = pd.Series(reasons, index=frame.index, dtype=object)
        return frame


def _check_implicit(data: Any) -> None:
    """One line for data this model cannot learn from."""
    if getattr(data, "feedback", "explicit") != "implicit":
        raise DataError(
            f"{data.name}: holds explicit ratings, but ImplicitMatrixFactorization learns from "
            "implicit feedback; pass dataset.to_implicit(threshold=4) (positives = ratings >= 4) "
            "or load interactions with embedlab.load_interactions(...) (no rating column)"
        )
    w = data.rating
    if len(w) and not np.isfinite(w).all():
        raise DataError(
            f"{data.name}: {int((~np.isfinite(w)).sum())} weights are NaN or infinite; "
            "expected finite weights >= 0"
        )
    if len(w) and float(w.min()) < 0:
        raise DataError(
            f"{data.name}: {int((w < 0).sum())} weights are negative (smallest {float(w.min()):g}); "
            "expected weights >= 0 (counts, play time, 1.0 per interaction)"
        )
    if len(w) and not (w > 0).any():
        raise DataError(
            f"{data.name}: every weight is 0, so there is no interaction to learn from; "
            "expected some weights > 0"
        )
