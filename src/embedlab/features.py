"""Embeddings as features: entity embeddings of categorical columns for scikit-learn.

:class:`EmbeddingEncoder` learns one embedding table per categorical column with a
small torch network that predicts ``y`` (Guo & Berkhahn, "Entity Embeddings of
Categorical Variables", 2016; the fast.ai tabular model), then hands the learned
vectors out as dense features for any other model: a linear model, gradient
boosting, a ``Pipeline`` or a ``ColumnTransformer``.

:func:`join_embeddings` does the same for a trained recommendation model: it joins
its user and item vectors onto a table of (user, item) rows.

Importing ``embedlab`` does not import this module (nor torch); ``embedlab.EmbeddingEncoder``
loads it on first use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_feature_names_in, validate_data
from torch import nn

from embedlab._io import atomic_path, atomic_write_text
from embedlab.embeddings import KeyedEmbeddings
from embedlab.exceptions import (
    BundleError,
    DataError,
    NotFittedError,
    TrainingDivergedError,
)

__all__ = ["EmbeddingEncoder", "embedding_dim_rule", "join_embeddings"]

_FORMAT = "embedlab.EmbeddingEncoder/1"
_TENSORS = "tensors.safetensors"
_CONFIG = "encoder.json"
_PARAMS = (
    "columns",
    "embedding_dims",
    "task",
    "hidden",
    "epochs",
    "batch_size",
    "learning_rate",
    "min_frequency",
    "handle_unknown",
    "passthrough",
    "random_state",
    "device",
)


def embedding_dim_rule(n_categories: int) -> int:
    """The fast.ai rule of thumb for an embedding's width: ``min(50, round(1.6 * n ** 0.56))``.

    ``n`` counts the rows of the table (the kept categories plus the shared bucket row).

    Example:
        >>> [embedding_dim_rule(n) for n in (2, 10, 100, 5000)]
        [2, 6, 21, 50]
    """
    return int(min(50, max(1, round(1.6 * max(int(n_categories), 1) ** 0.56))))


# ---------------------------------------------------------------------------- values


def _value_kind(values: np.ndarray, column: Any) -> str:
    """``"int"``, ``"float"`` or ``"str"``: the one type of a categorical column's values."""
    if values.dtype.kind == "c":
        raise ValueError(
            f"column {column!r} holds complex numbers: Complex data not supported "
            "(expected strings or integers as categories)"
        )
    if values.dtype.kind in "iub":
        return "int"
    if values.dtype.kind == "f":
        if not np.isfinite(values).all():
            raise ValueError(
                f"column {column!r} holds NaN or infinity; categories must be finite "
                "(fill missing values first, e.g. X.fillna('missing'))"
            )
        return "float"
    if values.dtype.kind in "UST":
        return "str"
    kinds = set()
    for v in values:
        if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA:
            raise ValueError(
                f"column {column!r} holds missing values (NaN or None); fill them first, "
                "e.g. X.fillna('missing')"
            )
        if isinstance(v, (str, np.str_)):
            kinds.add("str")
        elif isinstance(v, (bool, np.bool_, int, np.integer)):
            kinds.add("int")
        elif isinstance(v, (float, np.floating)):
            kinds.add("float")
        else:
            raise TypeError(
                f"column {column!r} holds a {type(v).__name__} value ({v!r}); "
                "expected a string or a number as category"
            )
        if len(kinds) > 1:
            break
    if kinds == {"int", "float"}:
        return "float"
    if len(kinds) > 1:
        raise DataError(
            f"column {column!r} mixes strings and numbers; expected one type "
            "(convert it, e.g. X[col].astype(str))"
        )
    return kinds.pop() if kinds else "str"


def _cast(values: np.ndarray, kind: str) -> np.ndarray:
    if kind == "str":
        return np.asarray([str(v) for v in values], dtype=object)
    if kind == "int":
        return values.astype(np.int64)
    return values.astype(np.float64)


def _plain(categories: np.ndarray, kind: str) -> list[Any]:
    """Categories as JSON-able Python values of one type."""
    if kind == "int":
        return [int(v) for v in categories]
    if kind == "float":
        return [float(v) for v in categories]
    return [str(v) for v in categories]


# ---------------------------------------------------------------------------- module


class _EmbeddingNet(nn.Module):
    """Integer indices (one column per categorical column) [+ numbers] -> outputs."""

    def __init__(
        self,
        sizes: Sequence[int],
        dims: Sequence[int],
        n_numeric: int,
        hidden: Sequence[int],
        n_out: int,
    ) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList(
            nn.Embedding(n, d) for n, d in zip(sizes, dims, strict=True)
        )
        layers: list[nn.Module] = []
        width = int(sum(dims)) + n_numeric
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            width = int(h)
        layers.append(nn.Linear(width, n_out))
        self.mlp = nn.Sequential(*layers)

    def reset(self, generator: torch.Generator) -> None:
        for emb in self.embeddings:
            nn.init.normal_(emb.weight, std=0.05, generator=generator)
        for layer in self.mlp:
            if isinstance(layer, nn.Linear):
                bound = 1.0 / max(layer.in_features, 1) ** 0.5
                nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
                nn.init.zeros_(layer.bias)

    def forward(self, codes: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        parts = [emb(codes[:, j]) for j, emb in enumerate(self.embeddings)]
        if numeric.shape[1]:
            parts.append(numeric)
        return self.mlp(torch.cat(parts, dim=1))


def _resolve_device(device: Any) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# ---------------------------------------------------------------------------- encoder


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
    def _check_params(self) -> None:
        def positive_int(name: str) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name}={v!r}: expected an integer >= 1")

        for name in ("epochs", "batch_size", "min_frequency"):
            positive_int(name)
        if self.task not in ("auto", "regression", "classification"):
            raise ValueError(
                f"task={self.task!r}: expected 'auto', 'regression' or 'classification'"
            )
        if self.handle_unknown not in ("error", "bucket"):
            raise ValueError(
                f"handle_unknown={self.handle_unknown!r}: expected 'error' or 'bucket'"
            )
        lr = self.learning_rate
        if (
            isinstance(lr, bool)
            or not isinstance(lr, (int, float))
            or not np.isfinite(lr)
            or lr <= 0
        ):
            raise ValueError(f"learning_rate={lr!r}: expected a positive number")
        if any(
            isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1
            for h in self.hidden
        ):
            raise ValueError(f"hidden={self.hidden!r}: expected a sequence of integers >= 1")

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

    def _select_columns(self, frame: pd.DataFrame, is_frame: bool) -> tuple[list[Any], list[Any]]:
        names = list(frame.columns)
        if self.columns is None:
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
            cats = list(self.columns)
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
        rest = [c for c in names if c not in cats] if self.passthrough else []
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
            _value_kind(values, col)
            try:
                query = _cast(values, kind)
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
        self._check_params()
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
        cats, rest = self._select_columns(frame, is_frame)
        task = self.task
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
            kind = _value_kind(values, col)
            uniq, counts = np.unique(_cast(values, kind), return_counts=True)
            keep = counts >= self.min_frequency
            self.kinds_.append(kind)
            self.categories_.append(uniq[keep])
            self.counts_.append(counts[keep])
            self.infrequent_categories_.append(uniq[~keep])
        self.embedding_dims_ = self._dims()
        codes = self._codes(frame, unknown="bucket")
        num = self._numeric(frame)
        self.numeric_mean_ = num.mean(axis=0) if num.shape[1] else np.zeros(0)
        scale = num.std(axis=0) if num.shape[1] else np.zeros(0)
        self.numeric_scale_ = np.where(scale > 0, scale, 1.0)

        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        gen = torch.Generator().manual_seed(seed)
        sizes = [len(c) + 1 for c in self.categories_]
        module = _EmbeddingNet(sizes, self.embedding_dims_, num.shape[1], self.hidden, n_out)
        module.reset(gen)
        device = _resolve_device(self.device)
        module.to(device)
        codes_t = torch.as_tensor(codes, device=device)
        num_t = torch.as_tensor(
            (num - self.numeric_mean_) / self.numeric_scale_, dtype=torch.float32, device=device
        )
        target = target.to(device)
        loss_fn: nn.Module = nn.MSELoss() if task == "regression" else nn.CrossEntropyLoss()
        opt = torch.optim.Adam(module.parameters(), lr=float(self.learning_rate))
        n = len(frame)
        self.history_ = []
        module.train()
        for epoch in range(int(self.epochs)):
            order = torch.randperm(n, generator=gen).to(device)
            total = 0.0
            for start in range(0, n, int(self.batch_size)):
                rows = order[start : start + int(self.batch_size)]
                out = module(codes_t[rows], num_t[rows])
                loss = loss_fn(out[:, 0] if task == "regression" else out, target[rows])
                if not torch.isfinite(loss):
                    raise TrainingDivergedError(
                        f"loss became {loss.item()} in epoch {epoch + 1}; "
                        f"lower learning_rate (now {self.learning_rate}) or check X and y"
                    )
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(rows)
            self.history_.append(total / n)
        module.eval()
        self.module_ = module.cpu()
        self._set_tables(codes)
        return self

    def _dims(self) -> list[int]:
        spec = self.embedding_dims
        dims = []
        for col, cats in zip(self.categorical_columns_, self.categories_, strict=True):
            rule = embedding_dim_rule(len(cats) + 1)
            if spec is None or spec == "auto":
                d = rule
            elif isinstance(spec, Mapping):
                d = spec.get(col, rule)
            else:
                d = spec
            if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
                raise ValueError(
                    f"embedding_dims={spec!r}: column {col!r} gets {d!r}; expected an integer >= 1 "
                    "(None/'auto' for the rule of thumb, an int, or a dict per column)"
                )
            dims.append(int(d))
        if isinstance(spec, Mapping):
            extra = [c for c in spec if c not in self.categorical_columns_]
            if extra:
                raise ValueError(
                    f"embedding_dims names {extra!r}, which are not categorical columns "
                    f"({self.categorical_columns_!r})"
                )
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
        keys = [str(v) for v in cats] if self.kinds_[j] == "float" else _plain(cats, self.kinds_[j])
        return KeyedEmbeddings(
            self.embeddings_[j][:-1],
            keys,
            metadata=pd.DataFrame({"n_rows": np.asarray(self.counts_[j], dtype=np.int64)}),
        )

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted encoder to the folder ``path`` (created), never pickling.

        ``tensors.safetensors`` holds the network's weights; ``encoder.json`` the
        parameters, columns, vocabularies (with their types) and scalers. Both files
        are written atomically.
        """
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().contiguous().clone() for k, v in self.module_.state_dict().items()}
        params = {k: getattr(self, k) for k in _PARAMS}
        params["hidden"] = [int(h) for h in self.hidden]
        if isinstance(self.random_state, np.random.RandomState):
            params["random_state"] = None
        if isinstance(params["embedding_dims"], Mapping):
            params["embedding_dims"] = [[k, v] for k, v in params["embedding_dims"].items()]
        if params["columns"] is not None:
            params["columns"] = list(params["columns"])
        config: dict[str, Any] = {
            "format": _FORMAT,
            "params": params,
            "task": self.task_,
            "categorical_columns": list(self.categorical_columns_),
            "numeric_columns": list(self.numeric_columns_),
            "kinds": list(self.kinds_),
            "categories": [
                _plain(c, k) for c, k in zip(self.categories_, self.kinds_, strict=True)
            ],
            "counts": [[int(v) for v in c] for c in self.counts_],
            "infrequent_categories": [
                _plain(c, k) for c, k in zip(self.infrequent_categories_, self.kinds_, strict=True)
            ],
            "embedding_dims": list(self.embedding_dims_),
            "numeric_mean": [float(v) for v in self.numeric_mean_],
            "numeric_scale": [float(v) for v in self.numeric_scale_],
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": (
                [str(v) for v in self.feature_names_in_]
                if hasattr(self, "feature_names_in_")
                else None
            ),
            "history": [float(v) for v in self.history_],
        }
        if self.task_ == "regression":
            config["y_mean"], config["y_scale"] = self.y_mean_, self.y_scale_
        else:
            config["classes"] = _plain(
                self.classes_, _value_kind(np.asarray(self.classes_), "classes_")
            )
            config["classes_kind"] = _value_kind(np.asarray(self.classes_), "classes_")
        with atomic_path(folder / _TENSORS) as tmp:
            save_file(tensors, str(tmp))
        atomic_write_text(folder / _CONFIG, json.dumps(config, indent=1))
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EmbeddingEncoder:
        """Read an encoder written by :meth:`save`.

        Raises:
            BundleError: If a file is missing, of another format, or the tensors'
                keys differ from the network's (missing and unexpected keys listed).
        """
        folder = Path(path)
        for name in (_CONFIG, _TENSORS):
            if not (folder / name).is_file():
                raise BundleError(
                    f"{folder / name} not found; expected a folder written by EmbeddingEncoder.save"
                )
        config = json.loads((folder / _CONFIG).read_text(encoding="utf-8"))
        if config.get("format") != _FORMAT:
            raise BundleError(
                f"{folder / _CONFIG} has format {config.get('format')!r}; expected {_FORMAT!r}"
            )
        params = dict(config["params"])
        if isinstance(params["embedding_dims"], list):
            params["embedding_dims"] = {k: v for k, v in params["embedding_dims"]}
        params["hidden"] = tuple(params["hidden"])
        enc = cls(**params)
        enc.task_ = config["task"]
        enc.categorical_columns_ = list(config["categorical_columns"])
        enc.numeric_columns_ = list(config["numeric_columns"])
        enc.kinds_ = list(config["kinds"])
        enc.categories_ = [
            _cast(np.asarray(c, dtype=object), k) if c else np.asarray(c)
            for c, k in zip(config["categories"], enc.kinds_, strict=True)
        ]
        enc.counts_ = [np.asarray(c, dtype=np.int64) for c in config["counts"]]
        enc.infrequent_categories_ = [
            _cast(np.asarray(c, dtype=object), k) if c else np.asarray(c)
            for c, k in zip(config["infrequent_categories"], enc.kinds_, strict=True)
        ]
        enc.embedding_dims_ = list(config["embedding_dims"])
        enc.numeric_mean_ = np.asarray(config["numeric_mean"], dtype=np.float64)
        enc.numeric_scale_ = np.asarray(config["numeric_scale"], dtype=np.float64)
        enc.n_features_in_ = int(config["n_features_in"])
        if config["feature_names_in"] is not None:
            enc.feature_names_in_ = np.asarray(config["feature_names_in"], dtype=object)
        enc.history_ = list(config["history"])
        if enc.task_ == "regression":
            enc.y_mean_, enc.y_scale_ = config["y_mean"], config["y_scale"]
            n_out = 1
        else:
            enc.classes_ = _cast(
                np.asarray(config["classes"], dtype=object), config["classes_kind"]
            )
            n_out = len(enc.classes_)
        module = _EmbeddingNet(
            [len(c) + 1 for c in enc.categories_],
            enc.embedding_dims_,
            len(enc.numeric_columns_),
            enc.hidden,
            n_out,
        )
        tensors = load_file(str(folder / _TENSORS))
        expected = set(module.state_dict())
        missing, unexpected = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
        if missing or unexpected:
            raise BundleError(
                f"{folder / _TENSORS} does not match the encoder in {_CONFIG}: "
                f"missing keys {missing}, unexpected keys {unexpected}"
            )
        try:
            module.load_state_dict(tensors, strict=True)
        except RuntimeError as exc:
            raise BundleError(f"{folder / _TENSORS}: {exc}") from exc
        module.eval()
        enc.module_ = module
        enc._set_tables(None)
        return enc


# ---------------------------------------------------------------------------- recommenders


def join_embeddings(
    frame: pd.DataFrame,
    model: Any,
    user: str = "user",
    item: str = "item",
    prefix: tuple[str, str] = ("user", "item"),
) -> pd.DataFrame:
    """Join a trained recommender's user and item vectors onto (user, item) rows.

    Appends ``<prefix[0]>_e0..`` (the user's vector), ``<prefix[1]>_e0..`` (the
    item's) and two indicator columns ``<prefix>_unknown`` (int8, 1 where the ID is
    not in the model; its vector columns are then zeros).

    Args:
        frame: A table with a user ID column and an item ID column (raw IDs).
        model: A fitted model with ``user_embeddings()`` and ``item_embeddings()``
            (e.g. :class:`~embedlab.MatrixFactorization`).
        user: The user ID column.
        item: The item ID column.
        prefix: The prefixes of the new user and item columns.

    Returns:
        A new DataFrame: ``frame``'s columns, then the new ones (same index).

    Raises:
        TypeError: ``frame`` is not a DataFrame.
        KeyError: A named column is missing.
        ValueError: A new column name already exists in ``frame``.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    new: dict[str, np.ndarray] = {}
    for col, kv, pre in (
        (user, model.user_embeddings(), prefix[0]),
        (item, model.item_embeddings(), prefix[1]),
    ):
        if col not in frame.columns:
            raise KeyError(f"column {col!r} not in frame (columns: {list(frame.columns)[:10]})")
        idx = np.asarray(kv.keys.indices(frame[col].to_numpy(), unknown="negative"), dtype=np.int64)
        unknown = idx < 0
        vecs = np.asarray(kv.vectors, dtype=np.float32)[np.where(unknown, 0, idx)]
        vecs[unknown] = 0.0
        for k in range(vecs.shape[1]):
            new[f"{pre}_e{k}"] = vecs[:, k]
        new[f"{pre}_unknown"] = unknown.astype(np.int8)
    clash = [c for c in new if c in frame.columns]
    if clash:
        raise ValueError(f"frame already has columns {clash[:5]!r}; pass another prefix=")
    return pd.concat([frame, pd.DataFrame(new, index=frame.index)], axis=1)
