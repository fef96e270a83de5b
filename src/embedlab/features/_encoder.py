"""The scikit-learn transformer of the feature encoder: vocabularies, device, module, tables."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_feature_names_in, validate_data

from embedlab._threads import THREADS_ENV, default_threads
from embedlab.embeddings import KeyedEmbeddings
from embedlab.exceptions import NotFittedError, SettingsError
from embedlab.features._additive import AdditiveFit, additive_predict, fit_additive
from embedlab.features._persist import load_encoder, save_encoder
from embedlab.features._screen import MIN_ROWS, SCREEN_ROWS, choose_pairs, residual
from embedlab.features._training import (
    AUTO_DECAYS,
    Plan,
    TrainResult,
    plan_training,
    train_tabular,
)
from embedlab.features._values import (
    cast_values,
    embedding_dim_rule,
    infer_task,
    plain_values,
    value_kind,
)
from embedlab.nn import TabularModule
from embedlab.settings import EncoderSettings
from embedlab.training import resolve_device

__all__ = ["EmbeddingEncoder"]


#: Training rows over which each level's effect is averaged (see ``_effects``).
REFERENCE_ROWS = 128
#: Joins a pair of columns' names (``origin×dest``) and their values (``EWR×LAX``).
PAIR = "×"


def pair_name(a: Any, b: Any) -> str:
    """The name of the column of a pair's combinations (:attr:`EmbeddingEncoder.interactions`)."""
    return f"{a}{PAIR}{b}"


#: The widest table a pair of columns gets by default: the pair is there for its
#: interaction, which a few dimensions carry (flights' dest×month: the network's R²
#: 0.98907 at width 8 and at the rule's 50, 7.7 s against 11.0 s).
PAIR_DIM = 8

#: Ridge penalty of the additive effects (``effects="additive"``): scikit-learn's default
#: ``Ridge(alpha=1)`` / ``LogisticRegression(C=1)``.
ADDITIVE_PENALTY = 1.0
#: Relative residual at which the additive least-squares solve stops.
ADDITIVE_TOL = 1e-4

#: Rows per forward pass when computing effects and predictions.
EFFECT_CHUNK = 262_144


@contextmanager
def _torch_threads() -> Iterator[None]:
    """Torch's intra-op threads at :func:`_threads` for the block, put back after."""
    before = torch.get_num_threads()
    torch.set_num_threads(_threads())
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _threads() -> int:
    """Torch threads for the encoder's loop: ``$EMBEDLAB_NUM_THREADS`` when set, else 1.

    The network's batches are small matrix products (a few thousand rows by ~100
    columns), too short for a second thread to pay its hand-off, and on a shared
    machine a thread waiting for a descheduled partner stalls every step: measured on 2
    busy cores (load ~6), a 20,000-row fit took 2-6 s on 1 thread and 54 s on 2.
    """
    return default_threads() if os.environ.get(THREADS_ENV, "").strip() else 1


class EmbeddingEncoder(TransformerMixin, BaseEstimator):
    """Learn an embedding per categorical column from ``y``; transform to dense features.

    ``fit(X, y)`` trains a small "wide and deep" network
    (:class:`~embedlab.nn.TabularModule`): the concatenated embeddings
    of a row's categories (plus its standardized numeric columns when
    ``passthrough=True``) go through an MLP (``hidden`` ReLU layers), and each level's
    own bias is added to the output. Regression: MSE on the standardized ``y``; binary:
    logistic loss of one logit; multiclass: cross-entropy of one logit per class.

    **Training without tuning.** A held-out slice (``validation_fraction``, 10 %) stops
    training after ``patience`` epochs without a better validation loss and puts the
    best epoch's weights back. Batch size and the most epochs adapt to the rows
    (``None``: about 64 steps an epoch, enough epochs for ~600 steps, 8 to 50),
    widths to the levels (the rule below), and Adam follows a one-cycle learning-rate
    schedule peaking at ``learning_rate``. Seeded fits are deterministic.

    **Output.** ``transform(X)`` returns float64 columns: with ``vector_columns=True``
    each categorical column's vector of the row's level; with ``bias_columns=True``
    each column's level *effect* (``effects_``, centred; in ``y``'s units for
    regression, logits otherwise) and, for ``effects="additive"``, the additive model's
    prediction (``"additive_prediction"``: intercept + the row's effects + the numeric
    slopes, what one-hot → Ridge/LogisticRegression would predict; a tree cannot add
    columns up, so it gets the sum as one); with
    ``prediction_column=True`` the network's prediction; then the numeric columns,
    unscaled, with ``passthrough=True``. ``fit_transform`` cross-fits (``cv`` folds),
    and its ``transform`` then averages the fold networks: see :meth:`fit_transform`.
    The cross-fitted vectors come from different networks, aligned but not the same. On
    the four tables of ``bench_tables.py`` linear models scored about as well on the
    effect and prediction columns alone (``vector_columns=False``), which carry what the
    vectors learned, and gradient boosting better with the vectors on three of them
    (not hotel_rates).

    **Effects.** ``effects="additive"`` (the default) fits, on the network's training
    rows, a ridge-penalized model of ``y`` on the one-hot levels of every categorical
    column (pairs included) and the standardized numeric columns: least squares for
    regression, logistic or softmax otherwise, penalty 1 (scikit-learn's ``Ridge()`` and
    ``LogisticRegression()`` on those columns reach the same optimum). Each level's
    coefficient is its effect: what one-hot columns give a linear model, adjusted for
    the other columns, in one column per categorical column. The fit is convex and
    solved by Newton steps and Jacobi-preconditioned conjugate gradients on the
    sparse one-hot design (~0.4 s at 260,000 rows and 8,000 levels; least squares to a
    relative residual of 1e-4), so cross-fitted folds agree on it. It beat the
    network's effects (``effects="network"``: the network's mean output with that
    level put in, over a fixed sample of training rows) in five of the six model × table
    pairs of ``benchmarks/bench_tables.py`` (Ridge or logistic regression and gradient
    boosting) and with both models on ML-100K.

    **Columns.** ``X`` is a pandas DataFrame (columns by name) or a 2-D array
    (columns by position). ``columns=None`` takes every object, category or string
    column of a DataFrame, every column of an array. The other columns are numeric:
    used and passed through with ``passthrough=True``, dropped otherwise.

    **Embedding size.** ``embedding_dims=None`` (or ``"auto"``) gives each column
    :func:`embedding_dim_rule` of its table size: ``min(50, round(1.6 * n ** 0.56))``,
    the fast.ai rule of thumb; an int gives every column that width, a dict overrides
    it per column (the others keep the rule).

    **Rare and unknown categories.** Each table has one shared *bucket* row, its last.
    Values seen in fewer than ``min_frequency`` training rows (default 2: a level seen
    once cannot be learned apart from its one target) are folded into it. At
    transform time an unseen value raises ``ValueError`` (``handle_unknown="error"``)
    or maps to the bucket (``"bucket"``). When no training row fell in the bucket, its
    vector is set after training to the row-weighted mean of the column's vectors.

    **Task.** ``task="auto"``: a float ``y`` is regression, even when its values are
    whole numbers (minutes, counts read from a file); bools, strings, categories and
    integers with at most 20 distinct values are classification; more distinct
    integers raise a ``ValueError`` asking for ``task="regression"`` or
    ``"classification"``.

    Args:
        columns: The categorical columns (names for a DataFrame, positions for an
            array), or None for the default above.
        embedding_dims: None/"auto", an int, or a dict ``{column: width}``.
        interactions: Pairs of categorical columns, e.g. ``[("origin", "dest")]``: each
            pair's combinations become a categorical column ``"origin×dest"`` (values
            ``"EWR×LAX"``) with its own table, so the network learns the pair's interaction
            directly; ``transform`` outputs the pair's effect (``"origin×dest_effect"``)
            and ``column_embeddings("origin×dest")`` its vectors. (Not its vectors among
            the features: cross-fitted, a pair's vectors misled gradient boosting on
            flights, R² 0.919 instead of 0.988.) ``"auto"`` (the default): the pairs
            whose cells explain at least 2 % of what the additive effects leave
            unexplained, out of sample (at most 3, none below 2,000 rows; see
            :mod:`embedlab.features._screen`); ``None``: no pair. A pair's table is
            at most ``PAIR_DIM`` (8) wide unless ``embedding_dims`` names it.
        task: ``"auto"``, ``"regression"`` or ``"classification"``.
        hidden: Widths of the MLP's hidden layers (``()`` for a linear head).
        epochs: Most passes over the training rows (None: adapted to the rows).
        batch_size: Rows per Adam step (None: adapted to the rows).
        learning_rate: Peak learning rate of the one-cycle schedule.
        validation_fraction: Share of rows held out for early stopping (0: none).
        patience: Epochs without a better validation loss before stopping.
        table_decay: AdamW weight decay of the per-level rows (0: none); ``"auto"``
            (default): the full fit trains a network without and one with decay 3 side
            by side and keeps the lower held-out loss (``table_decay_``; the folds use it).
        vector_columns: Output each categorical column's vectors (see above).
        bias_columns: Output each categorical column's level effect.
        effects: ``"additive"`` (the penalized one-hot model's coefficients) or
            ``"network"`` (the network's mean output with the level put in): see above.
        prediction_column: Output the network's prediction.
        cv: Folds of ``fit_transform``'s cross-fitting (None: none).
        min_frequency: Values with fewer training rows share the bucket row.
        handle_unknown: ``"error"`` or ``"bucket"``.
        passthrough: Feed the numeric columns to the network and append them to the output.
        random_state: Seed (int, None or a ``RandomState``) of the one ``torch.Generator``.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``...

    Attributes:
        categorical_columns_: The categorical columns (names, or positions for arrays),
            then one ``"a×b"`` per pair of ``interactions``.
        interactions_: The pairs of ``interactions`` (with ``"auto"``: the chosen ones),
            as a list of tuples.
        numeric_columns_: The numeric columns passed through (empty without passthrough).
        categories_: Per categorical column, the kept categories (array, table order).
        infrequent_categories_: Per categorical column, the values folded into the bucket
            (fewer than ``min_frequency`` rows): known, so never an "unknown" error.
        embedding_dims_: Per categorical column, its embedding width.
        embeddings_: Per categorical column, its ``[n_categories + 1, dim]`` table (bucket last).
        effects_: Per categorical column, its ``[n_categories + 1, n_out]`` level effects.
        additive_model_: For ``effects="additive"``, the additive model's intercept
            ``[n_out]`` and numeric slopes ``[n_numeric, n_out]`` (with ``effects_``, its
            ``"additive_prediction"``); None otherwise.
        task_: ``"regression"`` or ``"classification"``; ``classes_`` for classification.
        history_: Mean training loss per epoch; ``validation_history_`` the held-out
            slice's (empty without one); ``best_epoch_`` the epoch whose weights were kept.
        batch_size_: The batch size used.
        table_decay_: The table decay used (``table_decay``'s choice under ``"auto"``).
        fold_modules_: After :meth:`fit_transform`'s cross-fitting, its fold networks
            (``transform``'s prediction column is their mean); empty after ``fit``.
        fold_embeddings_: Per vector column, the mean of the fold networks' tables
            aligned to ``embeddings_`` (``transform``'s vector columns); None after ``fit``.
            ``embeddings_`` (the full fit) stays the one explored.
        settings_: The validated parameters (:class:`~embedlab.settings.EncoderSettings`).

    Raises:
        ValueError: On bad parameters, empty or non-finite data, unknown categories
            with ``handle_unknown="error"``, a ``y`` with NaN, or an ambiguous ``y``.
        TypeError: On an ``X`` that is neither a DataFrame nor a 2-D array of values.
        TrainingDivergedError: If the loss becomes NaN or infinite.

    Example:
        >>> import pandas as pd
        >>> X = pd.DataFrame({"city": ["a", "b", "a", "c"] * 25, "size": range(100)})
        >>> enc = EmbeddingEncoder(epochs=2, random_state=0).fit(X, [1.0, 2.0, 1.5, 3.0] * 25)
        >>> enc.transform(X).shape
        (100, 6)
        >>> list(enc.get_feature_names_out())  # doctest: +NORMALIZE_WHITESPACE
        ['city_e0', 'city_e1', 'city_e2', 'city_effect', 'additive_prediction',
         'prediction']
    """

    def __init__(
        self,
        columns: Sequence[Any] | None = None,
        *,
        interactions: Sequence[tuple[Any, Any]] | Literal["auto"] | None = "auto",
        embedding_dims: int | str | Mapping[Any, int] | None = None,
        task: Literal["auto", "regression", "classification"] = "auto",
        hidden: Sequence[int] = (64,),
        epochs: int | None = None,
        batch_size: int | None = None,
        learning_rate: float = 1e-2,
        validation_fraction: float = 0.1,
        patience: int = 3,
        table_decay: float | str = "auto",
        vector_columns: bool = True,
        bias_columns: bool = True,
        effects: Literal["additive", "network"] = "additive",
        prediction_column: bool = True,
        cv: int | None = 5,
        min_frequency: int = 2,
        handle_unknown: Literal["error", "bucket"] = "error",
        passthrough: bool = False,
        random_state: Any = None,
        device: str = "auto",
    ) -> None:
        self.columns = columns
        self.interactions = interactions
        self.embedding_dims = embedding_dims
        self.task = task
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.table_decay = table_decay
        self.vector_columns = vector_columns
        self.bias_columns = bias_columns
        self.effects = effects
        self.prediction_column = prediction_column
        self.cv = cv
        self.min_frequency = min_frequency
        self.handle_unknown = handle_unknown
        self.passthrough = passthrough
        self.random_state = random_state
        self.device = device

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.non_deterministic = self.random_state is None
        return tags

    # ------------------------------------------------------------------ checks
    def _validated_settings(self) -> EncoderSettings:
        """The parameters, validated and normalized (``fit`` keeps them as ``settings_``).

        Raises:
            SettingsError: A ``ValueError`` naming the parameter, what came and what is allowed.
        """
        return EncoderSettings(**{name: getattr(self, name) for name in EncoderSettings.names()})

    def _check_fitted(self) -> None:
        if not hasattr(self, "embeddings_"):
            raise NotFittedError(
                "this EmbeddingEncoder is not fitted yet; call fit(X, y) first (or EmbeddingEncoder.load)"
            )

    def _as_frame(self, X: Any, *, reset: bool) -> pd.DataFrame:
        """``X`` as a DataFrame of object/number columns, with sklearn's feature checks."""
        try:
            import scipy.sparse as sp

            if sp.issparse(X):
                raise TypeError(
                    "X is a sparse matrix; EmbeddingEncoder needs dense categories "
                    "(pass a DataFrame or a dense array)"
                )
        except ImportError:  # pragma: no cover
            pass
        if isinstance(X, pd.DataFrame):
            frame = X
        else:
            if isinstance(X, (str, bytes, Mapping)) or (
                not hasattr(X, "__len__") and not hasattr(X, "__array__")
            ):
                raise TypeError(
                    f"X must be a pandas DataFrame or a 2-D array, got {type(X).__name__}"
                )
            arr = np.asarray(X)
            if arr.ndim != 2:
                raise ValueError(
                    f"Expected 2D array, got {arr.ndim}D array instead: X has shape {arr.shape}. "
                    "Reshape your data with X.reshape(-1, 1) for a single column"
                )
            frame = pd.DataFrame(arr)
        validate_data(self, X, reset=reset, skip_check_array=True)
        if frame.shape[0] == 0:
            raise ValueError(
                f"X has 0 rows: Found array with 0 sample(s) (shape={frame.shape}) "
                "while a minimum of 1 is required."
            )
        if frame.shape[1] == 0:
            raise ValueError(
                f"X has 0 columns: Found array with 0 feature(s) (shape={frame.shape}) "
                "while a minimum of 1 is required."
            )
        return frame

    def _select_columns(
        self, frame: pd.DataFrame, is_frame: bool, settings: EncoderSettings
    ) -> tuple[list[Any], list[Any]]:
        names = list(frame.columns)
        if settings.columns is None:
            if is_frame:
                cats = [
                    c
                    for c in names
                    if frame[c].dtype == object
                    or isinstance(frame[c].dtype, (pd.CategoricalDtype, pd.StringDtype))
                ]
            else:
                cats = names
        else:
            cats = list(settings.columns)
            missing = [c for c in cats if c not in names]
            if missing:
                raise ValueError(
                    f"columns={self.columns!r}: {missing!r} not in X "
                    f"({'columns ' + repr(names[:10]) if is_frame else f'{len(names)} positions'})"
                )
        if not cats:
            raise ValueError(
                "no categorical column: X has no object/category/string column; "
                "name them with columns=[...]"
            )
        rest = [c for c in names if c not in cats] if settings.passthrough else []
        return cats, rest

    def _pairs(self, pairs: tuple[tuple[Any, Any], ...], cats: list[Any]) -> list[tuple[Any, Any]]:
        for pair in pairs:
            wrong = [c for c in pair if c not in cats]
            if wrong:
                raise ValueError(
                    f"interactions pair {pair[0]}:{pair[1]}: {wrong[0]!r} is not a categorical "
                    f"column (categorical columns: {cats!r}); pair categorical columns only"
                )
        return list(pairs)

    def _with_pairs(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with a text column ``a×b`` per pair of :attr:`interactions_`."""
        if not getattr(self, "interactions_", None):
            return frame
        extra = {
            pair_name(a, b): pd.Series(
                [
                    f"{u}{PAIR}{v}"
                    for u, v in zip(frame[a].tolist(), frame[b].tolist(), strict=True)
                ],
                index=frame.index,
                dtype=object,
            )
            for a, b in self.interactions_
        }
        return pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1)

    def _numeric(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.numeric_columns_:
            return np.zeros((len(frame), 0))
        try:
            num = frame[self.numeric_columns_].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"passthrough columns {self.numeric_columns_!r} must be numeric ({exc}); "
                "list the categorical ones in columns=[...]"
            ) from exc
        if not np.isfinite(num).all():
            raise ValueError(
                "passthrough columns hold NaN or infinity; fill them first (e.g. X.fillna(0))"
            )
        return num

    def _codes(self, frame: pd.DataFrame, *, unknown: str) -> np.ndarray:
        codes = np.empty((len(frame), len(self.categorical_columns_)), dtype=np.int64)
        for j, col in enumerate(self.categorical_columns_):
            values = np.asarray(frame[col].to_numpy())
            kind = self.kinds_[j]
            value_kind(values, col)
            try:
                query = cast_values(values, kind)
            except (TypeError, ValueError):  # e.g. strings for an integer column: all unseen
                query = np.asarray([str(v) for v in values], dtype=object)
            idx = pd.Index(self.categories_[j]).get_indexer(query)
            bucket = len(self.categories_[j])
            unseen = idx < 0
            if unseen.any() and unknown == "error" and len(self.infrequent_categories_[j]):
                # values folded into the bucket in fit (rare) are known: not an error
                rare = pd.Index(self.infrequent_categories_[j]).get_indexer(query[unseen]) >= 0
                unseen[np.flatnonzero(unseen)[rare]] = False
                idx[idx < 0] = bucket
                idx[unseen] = -1
            if unseen.any():
                if unknown == "error":
                    bad = pd.unique(values[unseen])
                    raise ValueError(
                        f"column {col!r}: {len(bad)} unknown categories during transform "
                        f"(first: {list(bad[:5])!r}); the encoder knows {bucket} values of it; "
                        "pass handle_unknown='bucket' to map them to the shared bucket row"
                    )
                idx[unseen] = bucket
            codes[:, j] = idx
        return codes

    # ------------------------------------------------------------------ fit
    def _target(self, y: Any, n_rows: int, task: str) -> None:
        """Check ``y``, settle the task and keep the prepared target as ``self._y``."""
        if y is None:
            raise ValueError(
                "EmbeddingEncoder requires y to be passed, but the target y is None "
                "(the embeddings are learned by predicting y)"
            )
        y_arr = np.asarray(y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr[:, 0]
        if y_arr.ndim != 1:
            raise ValueError(f"y should be a 1d array, got shape {y_arr.shape}")
        if len(y_arr) != n_rows:
            raise ValueError(
                f"y has {len(y_arr)} values for {n_rows} rows of X; expected one per row"
            )
        task = infer_task(y_arr) if task == "auto" else task
        if task == "regression":
            try:
                y_num = y_arr.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"y must be numeric for task='regression' ({exc}); "
                    "pass task='classification' for class labels"
                ) from exc
            if not np.isfinite(y_num).all():
                raise ValueError(
                    f"y holds {int((~np.isfinite(y_num)).sum())} NaN or infinite values; "
                    "drop those rows or fill them"
                )
            self.y_mean_ = float(y_num.mean())
            self.y_scale_ = float(y_num.std()) or 1.0
            self._y = torch.as_tensor((y_num - self.y_mean_) / self.y_scale_, dtype=torch.float32)
        else:
            if y_arr.dtype.kind == "f" and not np.isfinite(y_arr).all():
                raise ValueError("y holds NaN or infinite values; drop those rows or fill them")
            if pd.isna(y_arr).any():
                raise ValueError("y holds missing values (NaN/None); drop those rows or fill them")
            self.classes_, y_codes = np.unique(y_arr, return_inverse=True)
            y_codes = y_codes.reshape(-1)
            if len(self.classes_) <= 2:
                self._y = torch.as_tensor(y_codes, dtype=torch.float32)
            else:
                self._y = torch.as_tensor(y_codes, dtype=torch.long)
        self.task_ = task

    def _n_out(self) -> int:
        return len(self.classes_) if self._objective_name() == "multiclass" else 1

    def _objective_name(self) -> str:
        if self.task_ == "regression":
            return "regression"
        return "binary" if len(self.classes_) <= 2 else "multiclass"

    def fit(self, X: Any, y: Any = None) -> EmbeddingEncoder:
        """Learn the vocabularies and the embedding tables from ``X`` and ``y``.

        Returns:
            ``self``, fitted.

        Raises:
            ValueError: Bad parameters, empty ``X``, missing or non-finite values, ``y``
                None, of the wrong length, with NaN, or of an ambiguous type with
                ``task="auto"``.
            TypeError: ``X`` neither a DataFrame nor a 2-D array.
            TrainingDivergedError: The loss became NaN or infinite.
        """
        self._fit(X, y)
        del self._y
        return self

    def _fit(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fit on all rows; return the codes, the scaled and the raw numeric columns."""
        settings = self.settings_ = self._validated_settings()
        if not (settings.vector_columns or settings.bias_columns or settings.prediction_column):
            raise SettingsError(
                "vector_columns=False, bias_columns=False and prediction_column=False leave "
                "the encoder no learned column to output; turn at least one of them back on"
            )
        is_frame = isinstance(X, pd.DataFrame)
        frame = self._as_frame(X, reset=True)
        self._target(y, len(frame), settings.task)
        cats, rest = self._select_columns(frame, is_frame, settings)
        self._seed = int(check_random_state(settings.random_state).randint(0, 2**31 - 1))
        auto = settings.interactions == "auto"
        self._screen_fit = None  # set by the screen when its additive model is the full fit's
        self.interactions_ = [] if auto else self._pairs(settings.interactions, cats)
        frame = self._with_pairs(frame)
        cats = [*cats, *(pair_name(a, b) for a, b in self.interactions_)]
        self.categorical_columns_ = cats
        self.numeric_columns_ = rest
        self.kinds_, self.categories_, self.counts_, self.infrequent_categories_ = [], [], [], []
        codes = np.stack([self._learn_levels(frame, col) for col in cats], axis=1)
        num = self._numeric(frame)
        self.numeric_mean_ = num.mean(axis=0) if num.shape[1] else np.zeros(0)
        scale = num.std(axis=0) if num.shape[1] else np.zeros(0)
        self.numeric_scale_ = np.where(scale > 0, scale, 1.0)
        raw, num = num, (num - self.numeric_mean_) / self.numeric_scale_
        if auto:
            self.interactions_ = self._auto_pairs(codes, num)
            frame = self._with_pairs(frame)
            pairs = [pair_name(a, b) for a, b in self.interactions_]
            self.categorical_columns_ = [*cats, *pairs]
            codes = np.concatenate(
                [codes, *(self._learn_levels(frame, col)[:, None] for col in pairs)], axis=1
            )
        self.embedding_dims_ = self._dims(settings.embedding_dims)
        # transform's networks: the full fit's, until fit_transform cross-fits
        self.fold_modules_, self.fold_embeddings_ = [], None
        with _torch_threads():
            module, result, plan = self._full_fit(codes, num)
        self.history_ = result.history
        self.validation_history_ = result.val_history
        self.best_epoch_ = result.best_epoch
        self.batch_size_ = plan.batch_size
        self.module_ = module
        self._reference_rows(codes, num)
        with _torch_threads():
            self._set_tables(codes, num, self._y)
        return codes, num, raw

    def _learn_levels(self, frame: pd.DataFrame, col: Any) -> np.ndarray:
        """Learn column ``col``'s levels (appended to ``kinds_``, ``categories_``, ...);
        return its codes (``len(levels)`` for the bucket of infrequent values)."""
        values = np.asarray(frame[col].to_numpy())
        kind = value_kind(values, col)
        # one hashing pass (sorted levels, as np.unique gives) instead of a sort of
        # every row and a second lookup: 1.2 s -> ~0.1 s a column at 260,000 rows
        found, uniq = pd.factorize(cast_values(values, kind), sort=True)
        uniq = np.asarray(uniq, dtype=object if kind == "str" else None)
        counts = np.bincount(found, minlength=len(uniq))
        keep = counts >= self.settings_.min_frequency
        self.kinds_.append(kind)
        self.categories_.append(uniq[keep])
        self.counts_.append(counts[keep])
        self.infrequent_categories_.append(uniq[~keep])
        return np.where(keep, np.cumsum(keep) - 1, keep.sum())[found].astype(np.int64)

    def _auto_pairs(self, codes: np.ndarray, num: np.ndarray) -> list[tuple[Any, Any]]:
        """``interactions="auto"``: the pairs the residual of the additive model asks for
        (:mod:`embedlab.features._screen`). When that model was fitted on every row and
        no pair is chosen, it is the full fit's additive model too (kept as
        ``_screen_fit``: the same fit, not done twice; 8.5 s of InstEval's 19.5 s)."""
        self._screen_fit = None
        if len(codes) < MIN_ROWS or codes.shape[1] < 2:
            return []
        sizes = [len(c) + 1 for c in self.categories_]
        y = self._y.numpy()
        if len(codes) > SCREEN_ROWS:
            rng = np.random.default_rng(self._seed)
            take = np.sort(rng.choice(len(codes), SCREEN_ROWS, replace=False))
            codes, num, y = codes[take], num[take], y[take]
        objective = self._objective_name()
        fit = fit_additive(
            codes,
            sizes,
            num,
            y,
            objective,
            self._n_out(),
            penalty=ADDITIVE_PENALTY,
            tol=ADDITIVE_TOL,
        )
        r = residual(fit, codes, num, y, objective)
        cats = self.categorical_columns_
        pairs = [(cats[a], cats[b]) for a, b in choose_pairs(codes, sizes, r, seed=self._seed)]
        if not pairs and len(codes) == len(self._y):
            self._screen_fit = fit
        return pairs

    def _full_fit(
        self, codes: np.ndarray, num: np.ndarray
    ) -> tuple[TabularModule, TrainResult, Plan]:
        """The full fit's network (sets ``table_decay_``).

        ``table_decay="auto"`` with a held-out slice: one network per decay of
        :data:`AUTO_DECAYS`, trained side by side (same seed: same start, slice and
        batches) on up to as many threads, and the one with the lower held-out loss is
        kept; without a slice, the first. A number: that decay.
        """
        decay = self.settings_.table_decay
        candidates = AUTO_DECAYS if decay == "auto" else (float(decay),)
        if len(candidates) > 1 and not self._plan(len(codes), epochs=None).n_validation:
            candidates = candidates[:1]  # nothing to compare them on

        def train(d: float) -> tuple[TabularModule, TrainResult, Plan]:
            return self._train(codes, num, self._y, self._seed, epochs=None, decay=d)

        if len(candidates) == 1:
            runs = [train(candidates[0])]
        else:
            workers = min(len(candidates), default_threads())
            with ThreadPoolExecutor(max_workers=workers) as pool:
                runs = list(pool.map(train, candidates))
        best = min(range(len(runs)), key=lambda k: min(runs[k][1].val_history, default=0.0))
        self.table_decay_ = candidates[best]
        return runs[best]

    def _plan(self, n_rows: int, *, epochs: int | None) -> Plan:
        settings = self.settings_
        return plan_training(
            n_rows,
            batch_size=settings.batch_size,
            epochs=epochs if epochs is not None else settings.epochs,
            validation_fraction=0.0 if epochs is not None else settings.validation_fraction,
        )

    def _train(
        self,
        codes: np.ndarray,
        num: np.ndarray,
        target: torch.Tensor,
        seed: int,
        *,
        epochs: int | None,
        decay: float,
    ) -> tuple[TabularModule, TrainResult, Plan]:
        """One network trained on these rows (``epochs`` given: that many, no early
        stopping) with table decay ``decay``."""
        settings = self.settings_
        gen = torch.Generator().manual_seed(seed)
        plan = self._plan(len(codes), epochs=epochs)
        sizes = [len(c) + 1 for c in self.categories_]
        module = TabularModule(
            sizes, self.embedding_dims_, num.shape[1], settings.hidden, self._n_out()
        )
        module.reset(gen)
        validation = None
        if plan.n_validation:
            perm = torch.randperm(len(codes), generator=gen).numpy()
            val, fit = np.sort(perm[: plan.n_validation]), np.sort(perm[plan.n_validation :])
            validation = (codes[val], num[val], target[torch.as_tensor(val)])
            codes, num, target = codes[fit], num[fit], target[torch.as_tensor(fit)]
        result = train_tabular(
            module,
            codes,
            num,
            target,
            task=self._objective_name(),
            epochs=plan.epochs,
            batch_size=plan.batch_size,
            learning_rate=settings.learning_rate,
            generator=gen,
            device=resolve_device(settings.device),
            validation=validation,
            patience=settings.patience,
            table_decay=decay,
        )
        return module.cpu(), result, plan

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """Fit on all rows, and return cross-fitted (out-of-fold) features for them.

        Like scikit-learn's ``TargetEncoder``: with ``cv=K`` (and at least 100 rows per
        fold) the rows are split in ``K`` folds, and each fold's rows get the features of
        a network trained on the other folds (as many epochs as the full fit's best), so
        no training row's features saw its own target. The effect and prediction columns
        are in ``y``'s units, the same for any network; a fold network's embeddings are
        rotated and shifted onto the full fit's (orthogonal Procrustes weighted by the
        levels' rows), since each network has its own rotation of them. Levels a fold's
        network never saw get its row-weighted mean (effect 0). With ``cv=None`` (or too
        few rows) this is ``fit(X, y).transform(X)``.

        Afterwards ``transform`` gives new rows what these rows got: the effects of the
        full fit (as ``TargetEncoder`` does), and the vectors and prediction of the fold
        networks, averaged (``fold_embeddings_``: their aligned tables' mean;
        ``fold_modules_``: their outputs' mean), so that a model trained on these
        features meets the same kind at prediction time. Against the full fit's
        network, this took the test scores of every ``bench_tables.py`` table up
        (gradient boosting's mean over five seeds: seattlepets log-loss 0.60293 ->
        0.60254, InstEval 1.49883 -> 1.49373, hotel_rates R² 0.95036 -> 0.95154, flights
        0.98940 -> 0.98943). ``fit`` trains no folds: its ``transform`` is the full fit.

        Returns:
            The float64 array of :meth:`transform`, for the rows of ``X``.
        """
        if fit_params:
            raise TypeError(f"fit_transform got unexpected arguments {sorted(fit_params)!r}")
        codes, num, raw = self._fit(X, y)
        settings = self.settings_
        target = self._y
        del self._y
        cv = settings.cv
        if cv is None or len(codes) < 100 * cv:
            return self._assemble(codes, num, raw)
        # every row's learned columns come from its fold (written below); only the
        # numeric ones are the input's (the full fit's learned columns for every row
        # would be computed and overwritten: 2.5 s of flights' 32 s)
        out = np.empty((len(codes), self._n_features_out()))
        if raw.shape[1]:
            out[:, out.shape[1] - raw.shape[1] :] = raw
        from sklearn.model_selection import KFold, StratifiedKFold

        if self._objective_name() == "regression":
            split = KFold(cv, shuffle=True, random_state=self._seed).split(codes)
        else:
            folds = StratifiedKFold(cv, shuffle=True, random_state=self._seed)
            split = folds.split(codes, target.numpy())
        n_vec = self._vector_columns()

        # a fold needs its own network unless its columns are all additive effects
        network = bool(n_vec) or settings.prediction_column
        network = network or (settings.bias_columns and settings.effects == "network")

        def fold(k: int, fit_rows: np.ndarray, held: np.ndarray) -> None:
            fit_target = target[torch.as_tensor(fit_rows)]
            module = None
            if network:
                module, _result, _plan = self._train(
                    codes[fit_rows],
                    num[fit_rows],
                    fit_target,
                    self._seed + 1 + k,
                    epochs=max(1, self.best_epoch_),
                    decay=self.table_decay_,
                )
            parts = []  # the learned columns in output order (the numeric ones follow)
            if module is not None:
                aligned = self._aligned_embeddings(module, codes[fit_rows]) if n_vec else []
                folds[k] = (module, aligned)
                parts += [aligned[j][codes[held, j]] for j in range(n_vec)]
            if settings.bias_columns:
                effects, model = self._level_effects(
                    module, codes[fit_rows], num[fit_rows], fit_target
                )
                parts += [effects[j][codes[held, j]] for j in range(codes.shape[1])]
                if model is not None:
                    parts.append(additive_predict(effects, *model, codes[held], num[held]))
            if module is not None and settings.prediction_column:
                parts.append(self._predict(module, codes[held], num[held]))
            block = np.concatenate(parts, axis=1)
            out[held, : block.shape[1]] = block

        # The folds are independent (each its own seed and generator, its own rows of
        # ``out``), so they train side by side on the available CPUs, one torch thread
        # each; torch releases the GIL inside its kernels. Results do not depend on it.
        workers = min(cv, default_threads())
        folds: dict[int, tuple[TabularModule, list[np.ndarray]]] = {}
        with _torch_threads(), ThreadPoolExecutor(max_workers=workers) as pool:
            jobs = [pool.submit(fold, k, f, h) for k, (f, h) in enumerate(split)]
            for job in jobs:
                job.result()
        # transform gives new rows what these rows got: the fold networks, averaged
        self.fold_modules_ = [folds[k][0] for k in sorted(folds)]
        if folds and n_vec:
            self.fold_embeddings_ = []
            for j in range(n_vec):
                table = np.mean([folds[k][1][j] for k in sorted(folds)], axis=0)
                table.flags.writeable = False
                self.fold_embeddings_.append(table)
        return out

    def _dims(self, spec: int | str | Mapping[Any, int] | None) -> list[int]:
        """Each categorical column's width from the (validated) ``embedding_dims``."""
        if isinstance(spec, Mapping):
            extra = [c for c in spec if c not in self.categorical_columns_]
            if extra:
                raise SettingsError(
                    f"embedding_dims names {extra!r}, which are not categorical columns "
                    f"({self.categorical_columns_!r})"
                )
        dims = []
        pairs = {pair_name(a, b) for a, b in self.interactions_}
        for col, cats in zip(self.categorical_columns_, self.categories_, strict=True):
            rule = embedding_dim_rule(len(cats) + 1)
            if col in pairs:
                rule = min(rule, PAIR_DIM)
            if spec is None or spec == "auto":
                dims.append(rule)
            elif isinstance(spec, Mapping):
                dims.append(int(spec.get(col, rule)))
            else:
                dims.append(int(spec))
        return dims

    def _aligned_embeddings(self, module: TabularModule, codes: np.ndarray) -> list[np.ndarray]:
        """A fold network's embeddings rotated and shifted onto the full fit's.

        Orthogonal Procrustes with a shift, weighted by the levels' rows in ``codes``;
        levels the fold network never saw get its row-weighted mean.
        """
        tables = []
        for j in range(codes.shape[1]):
            size = len(self.categories_[j]) + 1
            w = np.bincount(codes[:, j], minlength=size).astype(np.float64)
            seen = w > 0
            ws = w[seen] / w[seen].sum()
            e = module.embeddings[j].weight.detach().numpy().astype(np.float64)
            full = self.embeddings_[j]
            mu_f, mu = ws @ e[seen], ws @ full[seen]
            root = np.sqrt(ws)[:, None]
            u, _s, vt = np.linalg.svd(((e[seen] - mu_f) * root).T @ ((full[seen] - mu) * root))
            e = (e - mu_f) @ (u @ vt) + mu
            e[~seen] = ws @ e[seen]
            tables.append(e)
        return tables

    def _reference_rows(self, codes: np.ndarray, num: np.ndarray) -> None:
        """A fixed sample of training rows over which the level effects are averaged."""
        rng = np.random.default_rng(self._seed)
        take = rng.choice(len(codes), min(len(codes), REFERENCE_ROWS), replace=False)
        self._ref_codes, self._ref_num = codes[np.sort(take)], num[np.sort(take)]

    def _level_effects(
        self,
        module: TabularModule | None,
        codes: np.ndarray,
        num: np.ndarray,
        target: torch.Tensor,
        *,
        fit: AdditiveFit | None = None,
    ) -> tuple[list[np.ndarray], tuple[np.ndarray, np.ndarray] | None]:
        """Each column's level effects (``effects_``) from these training rows, per ``effects``
        (the network's need ``module``), and for additive effects the model's intercept
        ``[n_out]`` and numeric slopes ``[n_numeric, n_out]`` (``y``'s units or logits);
        ``fit``: that additive model, already fitted on these rows."""
        if self.settings_.effects == "network":
            if module is None:  # fit_transform trains a fold network for these
                raise RuntimeError("the network's effects need the network")
            return self._effects(module, codes), None
        fit = fit or fit_additive(
            codes,
            [len(c) + 1 for c in self.categories_],
            num,
            target.numpy(),
            self._objective_name(),
            self._n_out(),
            penalty=ADDITIVE_PENALTY,
            tol=ADDITIVE_TOL,
        )
        if self.task_ == "regression":
            scale = self.y_scale_
            intercept = self.y_mean_ + scale * fit.intercept
        else:
            scale, intercept = 1.0, fit.intercept.copy()
        return [table * scale for table in fit.effects], (intercept, fit.numeric * scale)

    def _effects(self, module: TabularModule, codes: np.ndarray) -> list[np.ndarray]:
        """Each level's main effect: the network's mean output with the level put in.

        For column ``j`` and level ``l``: the mean over the reference rows of the
        network's output (regression: standardized ``y``; classification: logits) with
        column ``j`` set to ``l``, in ``y``'s units for regression, less the row-weighted mean over the levels seen in
        ``codes`` (the rows the network was trained on). A level none of those rows has
        gets 0. Unlike the network's raw per-level bias, this is the same quantity for
        any network, so cross-fitted networks agree on it.
        """
        ref_c = torch.as_tensor(self._ref_codes)
        ref_n = torch.as_tensor(self._ref_num, dtype=torch.float32)
        r = len(ref_c)
        effects = []
        module.eval()
        with torch.no_grad():
            for j in range(codes.shape[1]):
                size = len(self.categories_[j]) + 1
                table = np.empty((size, self._n_out()), dtype=np.float64)
                step = max(1, EFFECT_CHUNK // r)
                for s in range(0, size, step):
                    levels = torch.arange(s, min(size, s + step))
                    c = ref_c.repeat(len(levels), 1)
                    c[:, j] = levels.repeat_interleave(r)
                    out = module(c, ref_n.repeat(len(levels), 1))
                    table[s : s + len(levels)] = (
                        out.reshape(len(levels), r, -1).mean(dim=1).double().numpy()
                    )
                w = np.bincount(codes[:, j], minlength=size).astype(np.float64)
                table -= (w / w.sum()) @ table
                table[w == 0] = 0.0
                if self.task_ == "regression":
                    table *= self.y_scale_
                effects.append(table)
        return effects

    def _predict(self, module: TabularModule, codes: np.ndarray, num: np.ndarray) -> np.ndarray:
        """The network's output for these rows: ``y``'s units, or logits.

        Computed in float64 (on a copy of the network), so that a row's value does not
        depend on the rows beside it (float32 kernels sum in a batch-dependent order).
        """
        chunks = []
        net = copy.deepcopy(module).cpu().double().eval()
        with torch.no_grad():
            for s in range(0, len(codes), EFFECT_CHUNK):
                chunks.append(
                    net(
                        torch.as_tensor(codes[s : s + EFFECT_CHUNK]),
                        torch.as_tensor(num[s : s + EFFECT_CHUNK], dtype=torch.float64),
                    ).numpy()
                )
        out = np.concatenate(chunks, axis=0) if chunks else np.zeros((0, self._n_out()))
        if self.task_ == "regression":
            out = out * self.y_scale_ + self.y_mean_
        return out

    def _set_tables(
        self,
        codes: np.ndarray | None,
        num: np.ndarray | None = None,
        target: torch.Tensor | None = None,
    ) -> None:
        """``embeddings_`` from the network (the bucket row filled in), and ``effects_``
        from the training rows (``codes``, ``num``, ``target``; not when loading).

        When no training row fell in a column's bucket, its rows (embedding and bias) are
        set to the row-weighted mean of the column's levels, in the network too.
        """
        tables = []
        for j, (emb, bias) in enumerate(
            zip(self.module_.embeddings, self.module_.biases, strict=True)
        ):
            table = emb.weight.detach().numpy().astype(np.float64)
            if (
                codes is not None
                and not (codes[:, j] == len(self.categories_[j])).any()
                and len(self.categories_[j])
            ):
                w = self.counts_[j].astype(np.float64)
                table[-1] = (table[:-1] * w[:, None]).sum(axis=0) / w.sum()
                b = bias.weight.detach()
                with torch.no_grad():
                    emb.weight[-1] = torch.as_tensor(table[-1], dtype=emb.weight.dtype)
                    bias.weight[-1] = (b[:-1] * torch.as_tensor(w, dtype=b.dtype)[:, None]).sum(
                        0
                    ) / float(w.sum())
            table.flags.writeable = False
            tables.append(table)
        self.embeddings_ = tables
        if codes is not None and num is not None and target is not None:
            effects, model = self._level_effects(
                self.module_, codes, num, target, fit=getattr(self, "_screen_fit", None)
            )
            self._screen_fit = None
            for e in effects:
                e.flags.writeable = False
            self.effects_ = effects
            self.additive_model_ = model

    # ------------------------------------------------------------------ transform
    def _vector_columns(self) -> int:
        """How many categorical columns output their vectors: the input columns, not the
        pairs (:attr:`interactions_`), which output their effect only; none with
        ``vector_columns=False``."""
        if not self.settings_.vector_columns:
            return 0
        return len(self.categorical_columns_) - len(getattr(self, "interactions_", ()))

    def _n_features_out(self) -> int:
        n = sum(self.embedding_dims_[: self._vector_columns()]) + len(self.numeric_columns_)
        if self.settings_.bias_columns:
            n += len(self.categorical_columns_) * self._n_out()
            n += self._n_out() if self._has_additive_prediction() else 0
        if self.settings_.prediction_column:
            n += self._n_out()
        return n

    def _has_additive_prediction(self) -> bool:
        """Whether the output has the additive model's prediction: with the effect
        columns of ``effects="additive"``, unless loaded from a bundle saved before
        that column existed (its columns stay as they were)."""
        return self.settings_.bias_columns and getattr(self, "additive_model_", None) is not None

    def _assemble(self, codes: np.ndarray, num: np.ndarray, raw: np.ndarray) -> np.ndarray:
        """The output columns of these rows (``num`` scaled, ``raw`` not): the effects of
        the full fit; the vectors and prediction of the full fit's network, or after
        cross-fitting the fold networks' average (their aligned vectors, their outputs)."""
        folds = getattr(self, "fold_modules_", [])
        tables = getattr(self, "fold_embeddings_", None) or self.embeddings_
        parts = [tables[j][codes[:, j]] for j in range(self._vector_columns())]
        if self.settings_.bias_columns:
            parts += [self.effects_[j][codes[:, j]] for j in range(codes.shape[1])]
            if self._has_additive_prediction():
                parts.append(additive_predict(self.effects_, *self.additive_model_, codes, num))
        if self.settings_.prediction_column:
            if folds:
                parts.append(np.mean([self._predict(m, codes, num) for m in folds], axis=0))
            else:
                parts.append(self._predict(self.module_, codes, num))
        if self.numeric_columns_:
            parts.append(raw)
        return np.concatenate(parts, axis=1)

    def transform(self, X: Any) -> np.ndarray:
        """Each row's features: its categories' vectors, their effects, the network's output.

        After :meth:`fit_transform`'s cross-fitting, the vectors and the prediction are
        the fold networks' average (see there); after ``fit``, the full fit's.

        Column order: the embeddings of each categorical column; with
        ``bias_columns=True`` each column's level effect (``effects_``; one column per
        class for multiclass) and, for ``effects="additive"``, the additive model's
        prediction; with ``prediction_column=True`` the network's prediction
        (``y``'s units; logits for classification); then the numeric columns, unscaled
        (with ``passthrough=True``).

        Returns:
            A float64 array ``[n_rows, len(get_feature_names_out())]``.

        Raises:
            NotFittedError: Before ``fit``.
            ValueError: Unknown categories with ``handle_unknown="error"``, a different
                number of columns than in fit, missing values.
        """
        self._check_fitted()
        frame = self._with_pairs(self._as_frame(X, reset=False))
        codes = self._codes(frame, unknown=self.handle_unknown)
        raw = self._numeric(frame)
        return self._assemble(codes, (raw - self.numeric_mean_) / self.numeric_scale_, raw)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns: ``"<column>_e<k>"``, ``"<column>_effect"``
        (multiclass: ``"<column>_effect_<class>"``), ``"additive_prediction"``,
        ``"prediction"`` (multiclass: ``"..._<class>"``), then the numeric columns."""
        self._check_fitted()
        names = list(_check_feature_names_in(self, input_features))
        inputs = list(self._input_columns_())
        named = dict(zip(inputs, names, strict=True))
        for a, b in self.interactions_:
            named[pair_name(a, b)] = pair_name(named[a], named[b])
        bases = [named[col] for col in self.categorical_columns_]
        multi = self._n_out() > 1
        out = []
        n_vec = self._vector_columns()
        for base, d in zip(bases[:n_vec], self.embedding_dims_[:n_vec], strict=True):
            out += [f"{base}_e{k}" for k in range(d)]
        if self.settings_.bias_columns:
            for base in bases:
                out += (
                    [f"{base}_effect_{c}" for c in self.classes_] if multi else [f"{base}_effect"]
                )
            if self._has_additive_prediction():
                out += (
                    [f"additive_prediction_{c}" for c in self.classes_]
                    if multi
                    else ["additive_prediction"]
                )
        if self.settings_.prediction_column:
            out += [f"prediction_{c}" for c in self.classes_] if multi else ["prediction"]
        out += [named[c] for c in self.numeric_columns_]
        return np.asarray(out, dtype=object)

    def _input_columns_(self) -> list[Any]:
        if hasattr(self, "feature_names_in_"):
            return list(self.feature_names_in_)
        return list(range(self.n_features_in_))

    # ------------------------------------------------------------------ exploration
    def column_embeddings(self, column: Any) -> KeyedEmbeddings:
        """The learned vectors of one categorical column, keyed by its categories.

        The bucket row is left out. Float categories become string keys (``"2.5"``).
        The metadata column ``n_rows`` counts each category's training rows.

        Raises:
            NotFittedError: Before ``fit``.
            KeyError: If ``column`` is not one of ``categorical_columns_``.
        """
        self._check_fitted()
        if column not in self.categorical_columns_:
            raise KeyError(
                f"column {column!r} has no embeddings; categorical columns: {self.categorical_columns_!r}"
            )
        j = self.categorical_columns_.index(column)
        cats = self.categories_[j]
        keys = (
            [str(v) for v in cats]
            if self.kinds_[j] == "float"
            else plain_values(cats, self.kinds_[j])
        )
        return KeyedEmbeddings(
            self.embeddings_[j][:-1],
            keys,
            metadata=pd.DataFrame({"n_rows": np.asarray(self.counts_[j], dtype=np.int64)}),
        )

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted encoder as a model bundle directory ``path``, never pickling.

        ``weights.safetensors`` holds the network's weights; ``model.json`` the
        parameters, columns, vocabularies (with their types) and scalers, with the size
        and sha256 of every file. The directory is written aside and swapped into place
        atomically (an existing bundle at ``path`` is replaced).

        Returns:
            The bundle directory.

        Raises:
            NotFittedError: Before ``fit``.
            BundleError: If ``path`` is a file or a non-empty directory that is no bundle.
        """
        self._check_fitted()
        return save_encoder(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EmbeddingEncoder:
        """Read an encoder written by :meth:`save`, verifying every file's checksum.

        Raises:
            BundleError: If a file is missing or was modified after saving, the bundle
                holds another model, or the tensors' keys differ from the network's
                (missing and unexpected keys listed).
        """
        return load_encoder(cls, path)
