"""The estimator users hold: config + vocabularies + module + history.

``__init__`` only stores arguments; ``fit`` validates, trains and returns ``self``;
fitted state ends in ``_``. Subclasses say which module to build and which engines
can train it.
"""

from __future__ import annotations

import inspect
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import torch

from embedlab.data import Interactions, Vocabulary
from embedlab.embeddings import KeyedEmbeddings
from embedlab.exceptions import DataError, DataWarning, NotFittedError, UnknownIDError
from embedlab.recommend import SEEN_TENSORS, SeenItems
from embedlab.training import History

__all__ = ["EmbeddingModel", "FoldedUser"]

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


def _check_interactions(data: Any, what: str) -> Interactions:
    if not isinstance(data, Interactions):
        raise TypeError(
            f"{what} must be an embedlab Interactions, got {type(data).__name__}; "
            "load one with embedlab.load_ratings(...) or embedlab.load_movielens(...)"
        )
    return data


class EmbeddingModel:
    """Shared machinery of :class:`MatrixFactorization` and :class:`NeuralEmbeddingModel`."""

    #: Name stored in bundles.
    model_class: ClassVar[str] = "EmbeddingModel"

    # ----------------------------------------------------------- sklearn params
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        return [name for name, p in sig.parameters.items() if name != "self" and p.kind in kinds]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments (scikit-learn convention)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> EmbeddingModel:
        """Change constructor arguments; returns ``self``.

        Raises:
            ValueError: For a name that is not a parameter.
        """
        names = self._param_names()
        for key, value in params.items():
            if key not in names:
                raise ValueError(
                    f"{key!r} is not a parameter of {type(self).__name__}; parameters: {', '.join(names)}"
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        changed = [
            f"{name}={getattr(self, name)!r}"
            for name, p in sig.parameters.items()
            if name != "self" and getattr(self, name) != p.default
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    # ----------------------------------------------------------- fitted state
    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(dataset) or load a saved model first"
            )

    def _build_module(
        self, n_users: int, n_items: int, generator: torch.Generator
    ) -> torch.nn.Module:
        raise NotImplementedError

    def _train(
        self,
        module: torch.nn.Module,
        train: tuple[np.ndarray, np.ndarray, np.ndarray],
        validation: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        *,
        checkpoint_dir: str | os.PathLike[str] | None,
        resume: bool,
        callbacks: Any,
        progress: bool,
    ) -> History:
        raise NotImplementedError

    def _config(self) -> dict[str, Any]:
        """The constructor arguments as JSON (tuples become lists)."""
        out = {}
        for name, value in self.get_params().items():
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    # ----------------------------------------------------------------- fit
    def fit(
        self,
        dataset: Interactions,
        *,
        validation: Interactions | None = None,
        validation_split: float | None = None,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        callbacks: Any = None,
        progress: bool = True,
    ) -> EmbeddingModel:
        """Train on ``dataset``; returns ``self``.

        Args:
            dataset: Training ratings.
            validation: Ratings scored after every epoch (history, early stopping).
                Must share the training data's vocabularies (any split of one dataset
                does); otherwise rows with IDs the training data lacks are dropped
                with a warning.
            validation_split: Keras semantics: the *last* fraction of ``dataset``'s
                rows becomes the validation set (no shuffling). Conflicts with
                ``validation``.
            checkpoint_dir: Save a checkpoint after every epoch here (torch engine).
            resume: Continue from the checkpoint in ``checkpoint_dir``.
            callbacks: ``f(epoch, logs) -> bool`` or objects with ``on_epoch_end``;
                returning True stops training.
            progress: Show a progress bar on stderr.

        Raises:
            TypeError: If the data is not an :class:`~embedlab.Interactions`.
            ValueError: For conflicting or bad options.
            TrainingDivergedError: If the loss stops being finite.
        """
        data = _check_interactions(dataset, "dataset")
        epochs = getattr(self, "epochs", None)
        if epochs is not None and (
            isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1
        ):
            raise ValueError(f"epochs={epochs!r}: expected an integer >= 1")
        if validation is not None and validation_split is not None:
            raise ValueError("pass validation= or validation_split=, not both")
        train_rows = np.arange(len(data))
        val_arrays = None
        if validation_split is not None:
            if not (isinstance(validation_split, (int, float)) and 0 < validation_split < 1):
                raise ValueError(
                    f"validation_split={validation_split!r}: expected a fraction in (0, 1)"
                )
            n_val = math.floor(len(data) * validation_split)
            if n_val == 0 or n_val == len(data):
                raise ValueError(
                    f"validation_split={validation_split} leaves an empty train or validation set"
                )
            train_rows, val_rows = train_rows[: len(data) - n_val], train_rows[len(data) - n_val :]
            val_arrays = (
                data.user_index[val_rows],
                data.item_index[val_rows],
                data.rating[val_rows],
            )
            data = data.subset(train_rows)
        elif validation is not None:
            val_arrays = self._encode_other(
                _check_interactions(validation, "validation"), data.users, data.items
            )
        if len(data) == 0:
            raise DataError("dataset: no ratings to train on")

        seed = (
            self.random_state
            if self.random_state is not None
            else int(np.random.SeedSequence().entropy % 2**63)
        )
        generator = torch.Generator().manual_seed(int(seed))
        module = self._build_module(data.n_users, data.n_items, generator)
        mean = data.global_mean
        if getattr(module, "global_bias", None) is not None:
            with torch.no_grad():
                module.global_bias.fill_(mean)
        history = self._train(
            module,
            (data.user_index, data.item_index, data.rating),
            val_arrays,
            checkpoint_dir=checkpoint_dir,
            resume=resume,
            callbacks=callbacks,
            progress=progress,
        )
        module.to("cpu").eval()
        self.module_ = module
        self.history_ = history
        self.users_ = data.users
        self.items_ = data.items
        self.item_metadata_ = data.item_metadata
        self.user_metadata_ = data.user_metadata
        self.global_mean_ = float(mean)
        self.item_counts_ = data.item_counts()
        self.user_counts_ = data.user_counts()
        self.rating_scale_ = data.rating_scale
        self.data_fingerprint_ = data.fingerprint()
        self.seen_ = SeenItems.from_pairs(
            data.user_index, data.item_index, data.rating, data.n_users, data.n_items
        )
        return self

    @staticmethod
    def _encode_other(
        other: Interactions, users: Vocabulary, items: Vocabulary
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Index arrays of ``other`` in the training vocabularies (unknown rows dropped, with a warning)."""
        if other.users is users and other.items is items:
            return other.user_index, other.item_index, other.rating
        ui = users.indices(other.users.ids()[other.user_index], unknown="negative")
        ii = items.indices(other.items.ids()[other.item_index], unknown="negative")
        known = (ui >= 0) & (ii >= 0)
        if not known.all():
            warnings.warn(
                f"validation: dropped {int((~known).sum())} of {len(known)} ratings whose user or item "
                "is not in the training data; split one dataset (dataset.split(...)) to keep them",
                DataWarning,
                stacklevel=3,
            )
        return ui[known], ii[known], other.rating[known]

    # ----------------------------------------------------------------- predict
    def _indices(self, users: Any, items: Any, unknown: str) -> tuple[np.ndarray, np.ndarray]:
        if unknown not in ("error", "fallback"):
            raise ValueError(f"unknown={unknown!r}; expected 'error' or 'fallback'")
        users_arr = [users] if isinstance(users, (str, int, np.integer)) else users
        items_arr = [items] if isinstance(items, (str, int, np.integer)) else items
        if len(users_arr) != len(items_arr):
            raise ValueError(
                f"users has {len(users_arr)} IDs but items has {len(items_arr)}; pass one pair per row"
            )
        ui = self.users_.indices(users_arr, unknown="negative")
        ii = self.items_.indices(items_arr, unknown="negative")
        if unknown == "error":
            for vocab, idx, given in ((self.users_, ui, users_arr), (self.items_, ii, items_arr)):
                bad = idx < 0
                if bad.any():
                    first = [
                        np.asarray(given, dtype=object)[bad][k]
                        for k in range(min(3, int(bad.sum())))
                    ]
                    raise UnknownIDError(
                        f"{int(bad.sum())} unknown {vocab.name} IDs (first: {', '.join(map(repr, first))}); "
                        f"the model knows {len(vocab)} {vocab.name}s; pass unknown='fallback' to score them "
                        f"with the biases ({'μ + b_i' if vocab.name == 'user' else 'μ + b_u'})"
                    )
        return ui, ii

    def _bias_table(self, name: str) -> np.ndarray | None:
        table = getattr(self.module_, name, None)
        return None if table is None else table.weight.detach().numpy()[:, 0]

    def _global_bias(self) -> float:
        gb = getattr(self.module_, "global_bias", None)
        return 0.0 if gb is None else float(gb.detach())

    def predict(
        self, users: Any, items: Any, *, unknown: Literal["error", "fallback"] = "error"
    ) -> np.ndarray:
        """Predicted ratings for pairs of raw IDs (``users[k]``, ``items[k]``).

        Args:
            users: Raw user IDs (one, or a sequence).
            items: Raw item IDs, one per user ID.
            unknown: ``"error"`` (default) raises on IDs the model does not know;
                ``"fallback"`` scores them with the known parts: ``μ + b_i`` for an
                unknown user, ``μ + b_u`` for an unknown item, ``μ`` for both.

        Returns:
            A float32 array, one score per pair.

        Raises:
            NotFittedError: Before ``fit``.
            UnknownIDError: For unknown IDs with ``unknown="error"``.
        """
        self._check_fitted()
        ui, ii = self._indices(users, items, unknown)
        out = np.empty(len(ui), dtype=np.float32)
        known = (ui >= 0) & (ii >= 0)
        if known.any():
            from embedlab.training import predict as predict_indices

            out[known] = predict_indices(self.module_, ui[known], ii[known])
        if not known.all():
            score = np.full(int((~known).sum()), self._global_bias(), dtype=np.float64)
            ub, ib = self._bias_table("user_bias"), self._bias_table("item_bias")
            u_k, i_k = ui[~known], ii[~known]
            if ub is not None:
                score += np.where(u_k >= 0, ub[np.maximum(u_k, 0)], 0.0)
            if ib is not None:
                score += np.where(i_k >= 0, ib[np.maximum(i_k, 0)], 0.0)
            squash = getattr(self.module_, "squash", None)
            if squash is not None:
                score = squash[0] + (squash[1] - squash[0]) / (1 + np.exp(-score))
            out[~known] = score.astype(np.float32)
        return out

    def evaluate(
        self, dataset: Interactions, *, unknown: Literal["error", "fallback"] = "error"
    ) -> dict[str, float]:
        """RMSE and MAE on ``dataset`` (raw IDs are matched to the model's).

        Raises:
            NotFittedError: Before ``fit``.
            UnknownIDError: For unknown IDs with ``unknown="error"``.
        """
        self._check_fitted()
        data = _check_interactions(dataset, "dataset")
        if data.users is self.users_ and data.items is self.items_:
            from embedlab.training import evaluate as evaluate_indices

            return evaluate_indices(self.module_, (data.user_index, data.item_index, data.rating))
        frame = data.to_pandas()
        pred = self.predict(
            frame["user"].to_numpy(), frame["item"].to_numpy(), unknown=unknown
        ).astype(np.float64)
        err = pred - data.rating.astype(np.float64)
        return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}

    # ----------------------------------------------------------------- inspect
    def _labels(self, meta: pd.DataFrame | None) -> np.ndarray | None:
        if meta is None or "title" not in meta.columns:
            return None
        return meta["title"].astype(object).where(meta["title"].notna(), None).to_numpy()

    def item_embeddings(self) -> KeyedEmbeddings:
        """Item vectors keyed by raw item ID, labelled with titles when known."""
        self._check_fitted()
        meta = (
            None
            if self.item_metadata_ is None
            else self.item_metadata_.assign(n_ratings=self.item_counts_)
        )
        return KeyedEmbeddings(
            self.module_.item_embedding.weight.detach().numpy(),
            self.items_,
            labels=self._labels(self.item_metadata_),
            metadata=meta,
        )

    def user_embeddings(self) -> KeyedEmbeddings:
        """User vectors keyed by raw user ID."""
        self._check_fitted()
        return KeyedEmbeddings(
            self.module_.user_embedding.weight.detach().numpy(),
            self.users_,
            metadata=self.user_metadata_,
        )

    def item_biases(self) -> pd.DataFrame:
        """Item biases, highest first: ``id``, ``title`` (if known), ``bias``, ``n_ratings``.

        As the course inspects them: the items people like beyond what their
        embedding explains. Sparsely rated items float up unless regularized.

        Raises:
            NotFittedError: Before ``fit``.
            ValueError: If the model has no item bias.
        """
        self._check_fitted()
        bias = self._bias_table("item_bias")
        if bias is None:
            raise ValueError(f"this {type(self).__name__} was trained with item_bias=False")
        frame = pd.DataFrame({"id": self.items_.ids()})
        labels = self._labels(self.item_metadata_)
        if labels is not None:
            frame["title"] = labels
        frame["bias"] = bias.astype(np.float64)
        frame["n_ratings"] = self.item_counts_
        return frame.sort_values("bias", ascending=False, kind="stable").reset_index(drop=True)

    # ----------------------------------------------------------------- fold-in
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

    # ----------------------------------------------------------------- recommend
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
        from embedlab.recommend import allowed_items

        if candidates is not None and (min_count is not None or genres is not None):
            raise ValueError(
                "pass candidates= or the min_count=/genres= filters, not both; "
                "filter the candidate list before passing it"
            )
        cand = None
        if candidates is not None:
            ids = [candidates] if isinstance(candidates, (str, int, np.integer)) else candidates
            cand = self.items_.indices(ids)
        meta = self.item_metadata_
        item_genres = None
        if genres is not None and meta is not None and "genres" in meta.columns:
            item_genres = meta["genres"].tolist()
        return allowed_items(
            len(self.items_),
            candidates=cand,
            item_counts=self.item_counts_,
            min_count=min_count,
            item_genres=item_genres,
            genres=genres,
        )

    def _top_frame(
        self,
        scores: np.ndarray,
        n: int,
        explain_with: tuple[np.ndarray, np.ndarray] | None,
    ) -> pd.DataFrame:
        from embedlab.recommend import explain_items, recommendation_frame, top_n

        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n={n!r}: expected an integer >= 1")
        _, items, vals, ranks = top_n(scores, int(n))
        labels = self._labels(self.item_metadata_)
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
            explain: Add a ``because`` column: for each item, up to 3 labels (IDs
                when there are no titles) of items the user liked (rated at or above
                their mean rating), closest to it by cosine of the item embeddings.

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
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size={chunk_size!r}: expected an integer >= 1")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n={n!r}: expected an integer >= 1")
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
                "score": np.asarray(vals, dtype=np.float64),
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
            UnknownIDError: For unknown item IDs.
            ValueError: With no ratings, or as :meth:`recommend`.
        """
        from embedlab.recommend import mask_items

        self._check_fitted()
        pairs = list(ratings.items()) if isinstance(ratings, Mapping) else list(ratings)
        if not pairs:
            raise ValueError("recommend_for_ratings needs at least one (item ID, rating) pair")
        rated = self.items_.indices([p[0] for p in pairs]).astype(np.int64)
        values = np.array([float(p[1]) for p in pairs], dtype=np.float32)
        allowed = self._allowed_items(candidates, min_count, genres)
        folded = self.fold_in(pairs, l2=l2, steps=steps)
        scores = self.score_items(folded)[None, :]
        mask_items(scores, allowed=allowed, exclude=[rated] if exclude_seen else None)
        return self._top_frame(scores, n, (rated, values) if explain else None)

    # ----------------------------------------------------------------- persist
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model bundle (safetensors + JSON + Parquet), atomically."""
        from embedlab._version import __version__
        from embedlab.io import save_bundle

        self._check_fitted()
        last = self.history_[-1] if len(self.history_) else {}
        metrics = {
            k: last.get(k) for k in ("train_loss", "val_rmse", "val_mae") if last.get(k) is not None
        }
        return save_bundle(
            path,
            model_class=self.model_class,
            config={
                "params": self._config(),
                "global_mean": self.global_mean_,
                "rating_scale": None if self.rating_scale_ is None else list(self.rating_scale_),
                "embedlab_version": __version__,
            },
            tensors={
                **{k: v.detach().cpu().numpy() for k, v in self.module_.state_dict().items()},
                "item_counts": np.asarray(self.item_counts_, dtype=np.int64),
                "user_counts": np.asarray(self.user_counts_, dtype=np.int64),
                **(self.seen_.to_tensors() if getattr(self, "seen_", None) is not None else {}),
            },
            users=self.users_,
            items=self.items_,
            metrics=metrics,
            history=self.history_.to_list(),
            item_metadata=self.item_metadata_,
            user_metadata=self.user_metadata_,
            data_fingerprint=self.data_fingerprint_,
        )

    @classmethod
    def _from_bundle(cls, bundle: Any) -> EmbeddingModel:
        params = dict(bundle.config["params"])
        for key, value in params.items():
            if isinstance(value, list):
                params[key] = tuple(value)
        model = cls(**params)
        tensors = bundle.torch_state_dict()
        module = model._build_module(
            len(bundle.users), len(bundle.items), torch.Generator().manual_seed(0)
        )
        extras = ("item_counts", "user_counts", *SEEN_TENSORS)
        state = {k: v for k, v in tensors.items() if k not in extras}
        missing, unexpected = module.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise DataError(
                f"{bundle.path}: weights do not fit a {cls.__name__} with the saved settings "
                f"(missing: {list(missing)}, unexpected: {list(unexpected)})"
            )
        module.eval()
        model.module_ = module
        model.history_ = History(bundle.history or [])
        model.users_ = bundle.users
        model.items_ = bundle.items
        model.item_metadata_ = bundle.item_metadata
        model.user_metadata_ = bundle.user_metadata
        model.global_mean_ = float(bundle.config["global_mean"])
        model.item_counts_ = np.asarray(bundle.tensors["item_counts"])
        model.user_counts_ = np.asarray(bundle.tensors["user_counts"])
        model.seen_ = SeenItems.from_tensors(bundle.tensors, len(bundle.items))
        scale = bundle.config.get("rating_scale")
        model.rating_scale_ = None if scale is None else tuple(scale)
        model.data_fingerprint_ = bundle.data_fingerprint
        return model

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EmbeddingModel:
        """Read a model saved with :meth:`save` (no pickle).

        Raises:
            BundleError: For a missing, truncated or edited bundle, or one of another model class.
        """
        from embedlab.io import load_bundle
        from embedlab.models import MODEL_CLASSES

        bundle = load_bundle(path)
        target = MODEL_CLASSES.get(bundle.model_class)
        if target is None:
            raise DataError(
                f"{path}: model class {bundle.model_class!r} is not one this embedlab knows"
            )
        if cls is not EmbeddingModel and not issubclass(target, cls):
            raise DataError(
                f"{path}: holds a {bundle.model_class}, not a {cls.__name__}; use embedlab.load(path)"
            )
        return target._from_bundle(bundle)
