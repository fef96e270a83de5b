"""The estimator users hold: config + vocabularies + module + history.

``__init__`` only stores arguments; ``fit`` validates, trains and returns ``self``;
fitted state ends in ``_``. Subclasses say which module to build and which engines
can train it.
"""

from __future__ import annotations

import inspect
import math
import os
import time
import warnings
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import torch

from embedlab.data import Interactions, Vocabulary
from embedlab.embeddings import KeyedEmbeddings
from embedlab.exceptions import (
    DataError,
    DataWarning,
    NotFittedError,
    SettingsError,
    UnknownIDError,
)
from embedlab.io import LAYOUT_METHODS, LAYOUT_TENSOR
from embedlab.models._foldin import FoldedUser, FoldInMixin
from embedlab.models._recommending import RecommenderMixin
from embedlab.recommend import SEEN_TENSORS, SeenItems
from embedlab.settings import Settings, used_fields
from embedlab.training import History, check_training_memory
from embedlab.training.engines import TrainData

__all__ = ["EmbeddingModel", "FoldedUser"]


def _check_layout(
    model: EmbeddingModel, settings: Settings, bundle: Any, extras: tuple[str, ...]
) -> None:
    """The bundle's tensors against the module the settings build, built on the ``meta``
    device (shapes only, no memory), so that a bundle that does not fit is refused before
    the real module is allocated."""
    from embedlab.exceptions import BundleError

    generator = torch.Generator()
    with torch.device("meta"):
        layout = model._build_module(settings, len(bundle.users), len(bundle.items), generator)
    expected = layout.state_dict()
    given = {k: v for k, v in bundle.tensors.items() if k not in extras}
    missing, unexpected = sorted(set(expected) - set(given)), sorted(set(given) - set(expected))
    if missing or unexpected:
        raise BundleError(
            f"weights.safetensors: the tensors do not fit a {type(model).__name__} built from "
            f"model.json's config (missing: {missing}, unexpected: {unexpected}); re-save the model"
        )
    for name, ref in expected.items():
        arr = given[name]
        want = (str(ref.dtype).removeprefix("torch."), [int(d) for d in ref.shape])
        got = (str(arr.dtype), [int(d) for d in arr.shape])
        if got != want:
            raise BundleError(
                f"weights.safetensors: tensor {name!r} is {got[0]}{got[1]}; a "
                f"{type(model).__name__} built from model.json's config expects "
                f"{want[0]}{want[1]}; re-save the model"
            )


def item_layout(layout: Any, items: Vocabulary) -> dict[str, Any]:
    """A map frame (``key``, ``x``, ``y``; ``attrs["method"]``) as the stored form:
    ``{"method": str, "xy": float32[n_items, 2]}`` in item row order.

    Raises:
        ValueError: If a column is missing, the keys are not exactly the items, a
            coordinate is not finite or the method is unknown.
        UnknownIDError: For a key that is not an item of the model.
    """
    if not isinstance(layout, pd.DataFrame) or not {"key", "x", "y"} <= set(layout.columns):
        raise ValueError(
            f"layout must be the frame of embedlab.viz.project(model, ...) (columns key, x, y), "
            f"got {type(layout).__name__}"
        )
    method = layout.attrs.get("method")
    if method not in LAYOUT_METHODS:
        raise ValueError(
            f"layout.attrs['method'] is {method!r}; expected one of {', '.join(LAYOUT_METHODS)} "
            "(the frame of embedlab.viz.project)"
        )
    if len(layout) != len(items):
        raise ValueError(
            f"layout has {len(layout):,} points for {len(items):,} items; project every item "
            "(no subset, top_n or genre)"
        )
    rows = items.indices(layout["key"].tolist())
    if len(np.unique(rows)) != len(items):
        raise ValueError("layout repeats an item; expected each item once")
    xy = np.empty((len(items), 2), dtype=np.float32)
    xy[rows, 0] = layout["x"].to_numpy(dtype=np.float64)
    xy[rows, 1] = layout["y"].to_numpy(dtype=np.float64)
    if not np.isfinite(xy).all():
        raise ValueError("layout holds NaN or infinite coordinates; expected finite numbers")
    return {"method": str(method), "xy": xy}


def _check_interactions(data: Any, what: str) -> Interactions:
    if not isinstance(data, Interactions):
        raise TypeError(
            f"{what} must be an embedlab Interactions, got {type(data).__name__}; "
            "load one with embedlab.load_ratings(...) or embedlab.load_movielens(...)"
        )
    return data


def _versions() -> dict[str, str]:
    """The versions of the libraries that computed a model."""
    import sys

    from embedlab._version import __version__

    versions = {"embedlab": __version__, "numpy": np.__version__, "torch": torch.__version__}
    numba = sys.modules.get("numba")
    if numba is not None:
        versions["numba"] = numba.__version__
    versions["python"] = sys.version.split()[0]
    return versions


def _generated_init(settings_class: type[Settings], owner: str) -> Any:
    """An ``__init__`` whose parameters are ``settings_class``'s fields: the first may be
    positional, the others keyword-only; each is stored unchanged (scikit-learn's rule);
    deprecated names are translated with a warning."""
    names = settings_class.names()
    defaults = settings_class.defaults()

    def __init__(self: Any, *args: Any, **params: Any) -> None:
        if len(args) > 1:
            raise TypeError(
                f"{owner}() takes {names[0]} as its only positional argument; "
                f"pass the others by name ({', '.join(names[1:4])}, ...)"
            )
        if args:
            if names[0] in params:
                raise TypeError(f"{owner}() got multiple values for argument {names[0]!r}")
            params[names[0]] = args[0]
        params = settings_class.translate(params, owner)
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise TypeError(
                f"{owner}() got an unexpected keyword argument {unknown[0]!r}; "
                f"its parameters are {', '.join(names)}"
            )
        for name in names:
            setattr(self, name, params.get(name, defaults[name]))

    P = inspect.Parameter
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [P("self", P.POSITIONAL_OR_KEYWORD)]
        + [
            P(name, P.POSITIONAL_OR_KEYWORD if k == 0 else P.KEYWORD_ONLY, default=defaults[name])
            for k, name in enumerate(names)
        ]
    )
    __init__.__qualname__ = f"{owner}.__init__"
    __init__.__doc__ = f"Store the parameters; see :class:`{owner}`."
    return __init__


class EmbeddingModel(RecommenderMixin, FoldInMixin):
    """Shared machinery of :class:`MatrixFactorization` and :class:`NeuralEmbeddingModel`."""

    #: Name stored in bundles.
    model_class: ClassVar[str] = "EmbeddingModel"

    #: The settings class whose fields are this estimator's parameters.
    settings_class: ClassVar[type[Settings]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "settings_class" in cls.__dict__:
            cls.__init__ = _generated_init(cls.settings_class, cls.__name__)  # type: ignore[method-assign]
            if cls.__doc__ and "{settings_args}" in cls.__doc__:
                cls.__doc__ = cls.__doc__.replace(
                    "{settings_args}", cls.settings_class.args_doc().replace("\n", "\n    ")
                )

    # ----------------------------------------------------------- sklearn params
    @classmethod
    def _param_names(cls) -> list[str]:
        return cls.settings_class.names()

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
                raise SettingsError(
                    f"{key!r} is not a parameter of {type(self).__name__}; parameters: {', '.join(names)}"
                )
            setattr(self, key, value)
        return self

    def get_settings(self) -> Settings:
        """The parameters as a validated settings object (:mod:`embedlab.settings`).

        Raises:
            SettingsError: For a parameter of the wrong type or out of range.
        """
        return self.settings_class.from_params(self.get_params(), owner=type(self).__name__)

    def __repr__(self) -> str:
        defaults = self.settings_class.defaults()
        changed = [
            f"{name}={getattr(self, name)!r}"
            for name in self._param_names()
            if getattr(self, name) != defaults[name]
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    # ----------------------------------------------------------- fitted state
    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(dataset) or load a saved model first"
            )

    def _resolve(
        self, settings: Any, n_ratings: int, seed: int, checkpoint: bool, holdout: bool = False
    ) -> Any:  # pragma: no cover - every estimator overrides it
        """The concrete settings that train on ``n_ratings`` ratings with ``seed``
        (``holdout``: no validation data was given)."""
        raise NotImplementedError

    def _build_module(
        self, settings: Any, n_users: int, n_items: int, generator: torch.Generator
    ) -> torch.nn.Module:  # pragma: no cover - every estimator overrides it
        raise NotImplementedError

    def _train(
        self,
        module: torch.nn.Module,
        settings: Any,
        data: TrainData,
        *,
        checkpoint_dir: str | os.PathLike[str] | None,
        resume: bool,
        callbacks: Any,
        progress: bool,
        options: dict[str, Any],
    ) -> History:  # pragma: no cover - every estimator overrides it
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
        **engine_options: Any,
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
            **engine_options: Options of one engine (the Spark session's, see
                :meth:`MatrixFactorization.fit`).

        After fitting, ``settings_`` holds the resolved settings (every value that
        was used: the engine's defaults, the seed drawn when ``random_state`` was
        None, the threads), ``engine_`` the engine that ran and
        ``training_seconds_`` the wall time of training; :meth:`save` records them.

        Raises:
            TypeError: If the data is not an :class:`~embedlab.Interactions`.
            SettingsError: For a bad parameter or one the engine does not have.
            ValueError: For conflicting or bad options.
            TrainingDivergedError: If the loss stops being finite.
        """
        data = _check_interactions(dataset, "dataset")
        settings = self.get_settings()
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
            settings.random_state
            if settings.random_state is not None
            else int(np.random.SeedSequence().entropy % 2**63)
        )
        resolved = self._resolve(
            settings, len(data), int(seed), checkpoint_dir is not None, val_arrays is None
        )
        check_training_memory(resolved, data.n_users, data.n_items, len(data))
        generator = torch.Generator().manual_seed(int(seed))
        module = self._build_module(resolved, data.n_users, data.n_items, generator)
        mean = data.global_mean
        if getattr(module, "global_bias", None) is not None:
            with torch.no_grad():
                module.global_bias.fill_(mean)
        started = time.perf_counter()
        self.settings_ = resolved
        history = self._train(
            module,
            resolved,
            TrainData(
                (data.user_index, data.item_index, data.rating),
                val_arrays,
                data.n_users,
                data.n_items,
                float(np.float32(mean)),
            ),
            checkpoint_dir=checkpoint_dir,
            resume=resume,
            callbacks=callbacks,
            progress=progress,
            options=engine_options,
        )
        self.training_seconds_ = time.perf_counter() - started
        self.engine_ = self.settings_.engine
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
        self.item_layout_ = None  # a new fit makes any stored map stale
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
        return self._clip(out)

    def _clip(self, scores: np.ndarray) -> np.ndarray:
        """Clip predicted ratings to the training rating scale (in place) when ``clip``."""
        scale = getattr(self, "rating_scale_", None)
        if scale is not None and getattr(self, "clip", True):
            np.clip(scores, scale[0], scale[1], out=scores)
        return scores

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
            from embedlab.training import predict as predict_indices

            ui, ii = data.user_index, data.item_index
            pred = self._clip(predict_indices(self.module_, ui, ii)).astype(np.float64)
        else:
            frame = data.to_pandas()
            users, items = frame["user"].to_numpy(), frame["item"].to_numpy()
            pred = self.predict(users, items, unknown=unknown).astype(np.float64)
            ui = self.users_.indices(users, unknown="negative")
            ii = self.items_.indices(items, unknown="negative")
        self._warn_if_trained_on(ui, ii)
        err = pred - data.rating.astype(np.float64)
        return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}

    def _warn_if_trained_on(self, ui: np.ndarray, ii: np.ndarray) -> None:
        """Warn when ratings being evaluated were in the training data (an optimistic score)."""
        seen = getattr(self, "seen_", None)
        if seen is None or len(ui) == 0:
            return
        overlap = int(seen.contains(ui, ii).sum())
        if overlap:
            warnings.warn(
                f"{overlap:,} of {len(ui):,} evaluated ratings ({overlap / len(ui):.0%}) were in "
                "the training data, so this score is optimistic; evaluate on ratings the model "
                "did not see (e.g. train on u1.base, evaluate on u1.test)",
                DataWarning,
                stacklevel=3,
            )

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

    # ----------------------------------------------------------------- persist
    def save(self, path: str | os.PathLike[str], *, layout: Any = None) -> Path:
        """Write the model bundle (safetensors + JSON + Parquet), atomically.

        Args:
            path: The bundle's directory (created; replaced atomically if it exists).
            layout: A 2-D map of every item to store with the model, so that the web
                explorer shows it at once (``embedlab serve``): the frame of
                :func:`embedlab.viz.project` on this model (columns ``key``, ``x``,
                ``y``, ``attrs["method"]``), one row per item. None keeps the map this
                model already holds (``item_layout_``, from a loaded bundle), if any.
                ``embedlab train`` stores a t-SNE map by default (``--layout``).

        Raises:
            ValueError: If ``layout`` does not hold one finite point per item.

        Example:
            >>> model.save("runs/mf", layout=embedlab.viz.project(model, "tsne"))  # doctest: +SKIP
        """
        from embedlab._version import __version__
        from embedlab.io import save_bundle

        self._check_fitted()
        if layout is not None:
            self.item_layout_ = item_layout(layout, self.items_)
        stored = getattr(self, "item_layout_", None)
        last = self.history_[-1] if len(self.history_) else {}
        metrics = {
            k: last.get(k) for k in ("train_loss", "val_rmse", "val_mae") if last.get(k) is not None
        }
        return save_bundle(
            path,
            model_class=self.model_class,
            config={
                "params": self._config(),
                **self._provenance(),
                **self._model_state(),
                "global_mean": self.global_mean_,
                "rating_scale": None if self.rating_scale_ is None else list(self.rating_scale_),
                "embedlab_version": __version__,
                **({} if stored is None else {"layout": {"method": stored["method"]}}),
            },
            tensors={
                **{k: v.detach().cpu().numpy() for k, v in self.module_.state_dict().items()},
                "item_counts": np.asarray(self.item_counts_, dtype=np.int64),
                "user_counts": np.asarray(self.user_counts_, dtype=np.int64),
                **(self.seen_.to_tensors() if getattr(self, "seen_", None) is not None else {}),
                **({} if stored is None else {LAYOUT_TENSOR: stored["xy"]}),
            },
            users=self.users_,
            items=self.items_,
            metrics=metrics,
            history=self.history_.to_list(),
            item_metadata=self.item_metadata_,
            user_metadata=self.user_metadata_,
            data_fingerprint=self.data_fingerprint_,
        )

    def _provenance(self) -> dict[str, Any]:
        """How the model was made: resolved settings, engine, seed, versions, data, time."""
        settings = getattr(self, "settings_", None)
        if settings is None or not hasattr(self, "training_seconds_"):
            return {}  # loaded from a bundle written before 0.2: nothing more is known
        return {
            "settings": used_fields(settings),
            **self._extra_provenance(),
            "engine": self.engine_,
            "seed": settings.random_state,
            "versions": _versions(),
            "data": {
                "fingerprint": self.data_fingerprint_,
                "n_users": len(self.users_),
                "n_items": len(self.items_),
                "n_ratings": int(np.asarray(self.item_counts_).sum()),
            },
            "training_seconds": round(float(self.training_seconds_), 3),
        }

    def _model_state(self) -> dict[str, Any]:
        """Config entries the loaded model needs beyond its parameters (MF: the fallback)."""
        return {}

    def _extra_provenance(self) -> dict[str, Any]:
        """More records a model keeps (the neural model's pre-training settings)."""
        return {}

    @classmethod
    def _from_bundle(cls, bundle: Any) -> EmbeddingModel:
        from embedlab.io import check_model_bundle

        # A bundle is untrusted: its config against the settings, its tensors against the
        # vocabularies and the config, its indices within bounds, all before building.
        check_model_bundle(bundle)
        params = dict(bundle.config["params"])
        for key, value in params.items():
            if isinstance(value, list):
                params[key] = tuple(value)
        with warnings.catch_warnings():  # names of older releases, translated quietly
            warnings.simplefilter("ignore", FutureWarning)
            params = cls.settings_class.translate(params, cls.__name__)
        model = cls(**params)
        settings = model.get_settings()
        recorded = bundle.config.get("settings")
        if isinstance(recorded, dict):
            model.settings_ = settings.replace(
                **{k: tuple(v) if isinstance(v, list) else v for k, v in recorded.items()}
            )
            model.engine_ = model.settings_.engine
            model.training_seconds_ = float(bundle.config.get("training_seconds", 0.0))
        else:  # a bundle of embedlab 0.1 recorded only the constructor's arguments
            model.settings_ = settings
        extras = ("item_counts", "user_counts", LAYOUT_TENSOR, *SEEN_TENSORS)
        _check_layout(model, settings, bundle, extras)
        tensors = bundle.torch_state_dict()
        module = model._build_module(
            settings, len(bundle.users), len(bundle.items), torch.Generator().manual_seed(0)
        )
        state = {k: v for k, v in tensors.items() if k not in extras}
        missing, unexpected = module.load_state_dict(state, strict=False)
        if missing or unexpected:
            from embedlab.exceptions import BundleError

            raise BundleError(
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
        stored = bundle.config.get("layout")
        model.item_layout_ = (
            None
            if stored is None
            else {"method": stored["method"], "xy": np.asarray(bundle.tensors[LAYOUT_TENSOR])}
        )
        scale = bundle.config.get("rating_scale")
        model.rating_scale_ = None if scale is None else tuple(scale)
        model.data_fingerprint_ = bundle.data_fingerprint
        model._restore_extra(bundle.config)
        return model

    def _restore_extra(self, config: dict[str, Any]) -> None:
        """Read back what :meth:`_extra_provenance` wrote."""

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EmbeddingModel:
        """Read a model saved with :meth:`save` (no pickle).

        Raises:
            BundleError: For a missing, truncated or edited bundle, or one of another model class.
        """
        from embedlab.exceptions import BundleError
        from embedlab.io import load_bundle
        from embedlab.models import MODEL_CLASSES

        bundle = load_bundle(path)
        target = MODEL_CLASSES.get(bundle.model_class)
        if target is None:
            raise BundleError(
                f"{path}: model class {bundle.model_class!r} is not one this embedlab knows"
            )
        if cls is not EmbeddingModel and not issubclass(target, cls):
            raise BundleError(
                f"{path}: holds a {bundle.model_class}, not a {cls.__name__}; use embedlab.load(path)"
            )
        return target._from_bundle(bundle)
