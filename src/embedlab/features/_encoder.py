"""The scikit-learn transformer of the feature encoder: vocabularies, device, module, tables."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_feature_names_in, validate_data

from embedlab.embeddings import KeyedEmbeddings
from embedlab.exceptions import NotFittedError, SettingsError
from embedlab.features._persist import load_encoder, save_encoder
from embedlab.features._training import train_tabular
from embedlab.features._values import cast_values, embedding_dim_rule, plain_values, value_kind
from embedlab.nn import TabularModule
from embedlab.settings import EncoderSettings
from embedlab.training import resolve_device

__all__ = ["EmbeddingEncoder"]


class EmbeddingEncoder(TransformerMixin, BaseEstimator):
    """Learn an embedding per categorical column from ``y``; transform to dense features.

    ``fit(X, y)`` trains a small network: the concatenated embeddings of a row's
    categories (plus its standardized numeric columns when ``passthrough=True``) go
    through an MLP (``hidden`` ReLU layers) to one output (regression: MSE on the
    standardized ``y``) or one logit per class (classification: cross-entropy).
    Full data on tensors, shuffled index batches, Adam. ``transform(X)`` returns the
    learned vectors of each row's categories, concatenated, column by column (the
    numeric columns appended, unscaled, when ``passthrough=True``), as float64.

    **Columns.** ``X`` is a pandas DataFrame (columns by name) or a 2-D array
    (columns by position). ``columns=None`` takes every object, category or string
    column of a DataFrame, every column of an array. The other columns are numeric:
    used and passed through with ``passthrough=True``, dropped otherwise.

    **Embedding size.** ``embedding_dims=None`` (or ``"auto"``) gives each column
    :func:`embedding_dim_rule` of its table size: ``min(50, round(1.6 * n ** 0.56))``,
    the fast.ai rule of thumb; an int gives every column that width, a dict overrides
    it per column (the others keep the rule).

    **Rare and unknown categories.** Each table has one shared *bucket* row, its last.
    Values seen in fewer than ``min_frequency`` training rows are folded into it. At
    transform time an unseen value raises ``ValueError`` (``handle_unknown="error"``)
    or maps to the bucket (``"bucket"``). When no training row fell in the bucket, its
    vector is set after training to the row-weighted mean of the column's vectors.

    **Task.** ``task="auto"`` chooses regression for a float ``y`` and classification
    otherwise (integers, bools, strings, categories): pass ``task="regression"`` for
    integer ratings.

    Args:
        columns: The categorical columns (names for a DataFrame, positions for an
            array), or None for the default above.
        embedding_dims: None/"auto", an int, or a dict ``{column: width}``.
        task: ``"auto"``, ``"regression"`` or ``"classification"``.
        hidden: Widths of the MLP's hidden layers (``()`` for a linear head).
        epochs: Passes over the training rows.
        batch_size: Rows per Adam step.
        learning_rate: Adam's learning rate.
        min_frequency: Values with fewer training rows share the bucket row.
        handle_unknown: ``"error"`` or ``"bucket"``.
        passthrough: Feed the numeric columns to the network and append them to the output.
        random_state: Seed (int, None or a ``RandomState``) of the one ``torch.Generator``.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``...

    Attributes:
        categorical_columns_: The categorical columns (names, or positions for arrays).
        numeric_columns_: The numeric columns passed through (empty without passthrough).
        categories_: Per categorical column, the kept categories (array, table order).
        infrequent_categories_: Per categorical column, the values folded into the bucket
            (fewer than ``min_frequency`` rows): known, so never an "unknown" error.
        embedding_dims_: Per categorical column, its embedding width.
        embeddings_: Per categorical column, its ``[n_categories + 1, dim]`` table (bucket last).
        task_: ``"regression"`` or ``"classification"``; ``classes_`` for classification.
        history_: Mean training loss per epoch.
        settings_: The validated parameters (:class:`~embedlab.settings.EncoderSettings`).

    Raises:
        ValueError: On bad parameters, empty or non-finite data, unknown categories
            with ``handle_unknown="error"``, or a ``y`` with NaN.
        TypeError: On an ``X`` that is neither a DataFrame nor a 2-D array of values.
        TrainingDivergedError: If the loss becomes NaN or infinite.

    Example:
        >>> import pandas as pd
        >>> X = pd.DataFrame({"city": ["a", "b", "a", "c"] * 25, "size": range(100)})
        >>> enc = EmbeddingEncoder(epochs=2, random_state=0).fit(X, [1.0, 2.0, 1.5, 3.0] * 25)
        >>> enc.transform(X).shape, list(enc.get_feature_names_out())
        ((100, 3), ['city_e0', 'city_e1', 'city_e2'])
    """

    def __init__(
        self,
        columns: Sequence[Any] | None = None,
        *,
        embedding_dims: int | str | Mapping[Any, int] | None = None,
        task: Literal["auto", "regression", "classification"] = "auto",
        hidden: Sequence[int] = (64,),
        epochs: int = 20,
        batch_size: int = 1024,
        learning_rate: float = 3e-3,
        min_frequency: int = 1,
        handle_unknown: Literal["error", "bucket"] = "error",
        passthrough: bool = False,
        random_state: Any = None,
        device: str = "auto",
    ) -> None:
        self.columns = columns
        self.embedding_dims = embedding_dims
        self.task = task
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
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
    def fit(self, X: Any, y: Any = None) -> EmbeddingEncoder:
        """Learn the vocabularies and the embedding tables from ``X`` and ``y``.

        Returns:
            ``self``, fitted.

        Raises:
            ValueError: Bad parameters, empty ``X``, missing or non-finite values, ``y``
                None, of the wrong length, or with NaN.
            TypeError: ``X`` neither a DataFrame nor a 2-D array.
            TrainingDivergedError: The loss became NaN or infinite.
        """
        settings = self.settings_ = self._validated_settings()
        is_frame = isinstance(X, pd.DataFrame)
        frame = self._as_frame(X, reset=True)
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
        if len(y_arr) != len(frame):
            raise ValueError(
                f"y has {len(y_arr)} values for {len(frame)} rows of X; expected one per row"
            )
        cats, rest = self._select_columns(frame, is_frame, settings)
        task = settings.task
        if task == "auto":
            task = "regression" if y_arr.dtype.kind == "f" else "classification"
        if task == "regression":
            try:
                y_num = y_arr.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"y must be numeric for task='regression' ({exc})") from exc
            if not np.isfinite(y_num).all():
                raise ValueError(
                    f"y holds {int((~np.isfinite(y_num)).sum())} NaN or infinite values; "
                    "drop those rows or fill them"
                )
            self.y_mean_ = float(y_num.mean())
            self.y_scale_ = float(y_num.std()) or 1.0
            target = torch.as_tensor((y_num - self.y_mean_) / self.y_scale_, dtype=torch.float32)
            n_out = 1
        else:
            if y_arr.dtype.kind == "f" and not np.isfinite(y_arr).all():
                raise ValueError("y holds NaN or infinite values; drop those rows or fill them")
            if pd.isna(y_arr).any():
                raise ValueError("y holds missing values (NaN/None); drop those rows or fill them")
            self.classes_, y_codes = np.unique(y_arr, return_inverse=True)
            target = torch.as_tensor(y_codes.reshape(-1), dtype=torch.long)
            n_out = len(self.classes_)
        self.task_ = task

        self.categorical_columns_ = cats
        self.numeric_columns_ = rest
        self.kinds_, self.categories_, self.counts_, self.infrequent_categories_ = [], [], [], []
        for col in cats:
            values = np.asarray(frame[col].to_numpy())
            kind = value_kind(values, col)
            uniq, counts = np.unique(cast_values(values, kind), return_counts=True)
            keep = counts >= settings.min_frequency
            self.kinds_.append(kind)
            self.categories_.append(uniq[keep])
            self.counts_.append(counts[keep])
            self.infrequent_categories_.append(uniq[~keep])
        self.embedding_dims_ = self._dims(settings.embedding_dims)
        codes = self._codes(frame, unknown="bucket")
        num = self._numeric(frame)
        self.numeric_mean_ = num.mean(axis=0) if num.shape[1] else np.zeros(0)
        scale = num.std(axis=0) if num.shape[1] else np.zeros(0)
        self.numeric_scale_ = np.where(scale > 0, scale, 1.0)

        seed = int(check_random_state(settings.random_state).randint(0, 2**31 - 1))
        gen = torch.Generator().manual_seed(seed)
        sizes = [len(c) + 1 for c in self.categories_]
        module = TabularModule(sizes, self.embedding_dims_, num.shape[1], settings.hidden, n_out)
        module.reset(gen)
        self.history_ = train_tabular(
            module,
            codes,
            (num - self.numeric_mean_) / self.numeric_scale_,
            target,
            task=task,
            epochs=settings.epochs,
            batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            generator=gen,
            device=resolve_device(settings.device),
        )
        self.module_ = module.cpu()
        self._set_tables(codes)
        return self

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
        for col, cats in zip(self.categorical_columns_, self.categories_, strict=True):
            rule = embedding_dim_rule(len(cats) + 1)
            if spec is None or spec == "auto":
                dims.append(rule)
            elif isinstance(spec, Mapping):
                dims.append(int(spec.get(col, rule)))
            else:
                dims.append(int(spec))
        return dims

    def _set_tables(self, codes: np.ndarray | None) -> None:
        tables = []
        for j, emb in enumerate(self.module_.embeddings):
            table = emb.weight.detach().numpy().astype(np.float64)
            if (
                codes is not None
                and not (codes[:, j] == len(self.categories_[j])).any()
                and len(self.categories_[j])
            ):
                w = self.counts_[j].astype(np.float64)
                table[-1] = (table[:-1] * w[:, None]).sum(axis=0) / w.sum()
                with torch.no_grad():
                    emb.weight[-1] = torch.as_tensor(table[-1], dtype=emb.weight.dtype)
            table.flags.writeable = False
            tables.append(table)
        self.embeddings_ = tables

    # ------------------------------------------------------------------ transform
    def transform(self, X: Any) -> np.ndarray:
        """The concatenated embeddings of each row's categories (+ numeric columns).

        Returns:
            A float64 array ``[n_rows, sum(embedding_dims_) + len(numeric_columns_)]``.

        Raises:
            NotFittedError: Before ``fit``.
            ValueError: Unknown categories with ``handle_unknown="error"``, a different
                number of columns than in fit, missing values.
        """
        self._check_fitted()
        frame = self._as_frame(X, reset=False)
        codes = self._codes(frame, unknown=self.handle_unknown)
        parts = [self.embeddings_[j][codes[:, j]] for j in range(codes.shape[1])]
        if self.numeric_columns_:
            parts.append(self._numeric(frame))
        return np.concatenate(parts, axis=1)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns: ``"<column>_e<k>"``, then the numeric columns."""
        self._check_fitted()
        names = list(_check_feature_names_in(self, input_features))
        out = []
        for col, d in zip(self.categorical_columns_, self.embedding_dims_, strict=True):
            base = names[list(self._input_columns_()).index(col)]
            out += [f"{base}_e{k}" for k in range(d)]
        out += [names[list(self._input_columns_()).index(c)] for c in self.numeric_columns_]
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
