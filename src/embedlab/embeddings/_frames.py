"""The answer DataFrames of :class:`~embedlab.KeyedEmbeddings`, built fast.

Every neighbour search answers with a small DataFrame (``key``, ``label``, a score).
Building one with ``pd.DataFrame({...})`` took longer than the search behind it, so
:func:`build_frame` assembles it from ready blocks, and :class:`AnswerColumns` takes the
key and label columns from whole columns whose dtype is inferred once. The frames are
the same as the dict constructor gives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from embedlab.data import Vocabulary

__all__ = ["AnswerColumns", "build_frame", "clip"]

try:  # pandas >= 2.3: a DataFrame from ready columns, without the dict constructor's checks
    from pandas.api.internals import create_dataframe_from_blocks as _from_blocks
except ImportError:  # pragma: no cover - older pandas
    _from_blocks = None

_COLUMNS: dict[tuple[str, ...], pd.Index] = {}
_RANGES: dict[int, pd.RangeIndex] = {}


def clip(scores: np.ndarray, *, descending: bool = False) -> np.ndarray:
    """Cosines clipped to [-1, 1] in place (rounding can step past 1).

    ``descending=True`` says the scores are sorted best first, so that only the first
    and the last need a look.
    """
    if descending and (not scores.size or (scores[0] <= 1.0 and scores[-1] >= -1.0)):
        return scores
    np.maximum(scores, -1.0, out=scores)
    return np.minimum(scores, 1.0, out=scores)


def _inferred(values: np.ndarray) -> Any:
    """``values`` as the column ``pd.DataFrame({"c": values})`` holds (dtype inferred)."""
    col = pd.Series(values, copy=True)
    return col.to_numpy() if isinstance(col.dtype, np.dtype) else col.array


def _take(col: Any, rows: np.ndarray) -> Any:
    return col.take(rows)


def build_frame(names: list[str], cols: list[Any]) -> pd.DataFrame:
    """One DataFrame from ready columns (NumPy arrays or pandas extension arrays).

    The same frame as ``pd.DataFrame(dict(zip(names, cols)))`` for columns that already
    have the dtype that constructor would infer (see :func:`_inferred`), in a tenth of
    the time: a result frame of 10 rows took longer to build than the search behind it.
    Each column must be a fresh array the frame may own.
    """
    if _from_blocks is None:  # pragma: no cover - older pandas
        return pd.DataFrame(dict(zip(names, cols, strict=True)))
    key = tuple(names)
    columns = _COLUMNS.get(key)
    if columns is None:
        columns = _COLUMNS.setdefault(key, pd.Index(list(names)))
    by_dtype: dict[np.dtype, list[int]] = {}
    blocks = []
    for i, col in enumerate(cols):
        if isinstance(col, np.ndarray):
            by_dtype.setdefault(col.dtype, []).append(i)
        else:
            blocks.append((col, np.array([i])))
    for where in by_dtype.values():
        block = np.stack([cols[i] for i in where]) if len(where) > 1 else cols[where[0]][None]
        blocks.append((block, np.array(where)))
    n = len(cols[0])
    index = _RANGES.get(n)
    if index is None:
        index = pd.RangeIndex(n)
        if n <= 1024:  # an Index is immutable: frames of the same length can share one
            _RANGES[n] = index
    return _from_blocks(blocks, index=index, columns=columns)


class AnswerColumns:
    """The key and label columns of one embeddings' answers, inferred once.

    Each embeddings object holds one; it caches the whole key and label columns the
    first time an answer needs them.
    """

    def __init__(self) -> None:
        self._key_col: Any = None
        self._label_col: tuple[Any, np.ndarray] | None = None

    def frame(
        self,
        keys: Vocabulary,
        labels: np.ndarray | None,
        rows: np.ndarray,
        scores: np.ndarray,
        column: str = "similarity",
    ) -> pd.DataFrame:
        """Columns ``key``, ``label`` (when there are labels) and ``column`` (the scores)."""
        rows = np.asarray(rows, dtype=np.int64)
        names = ["key"]
        cols = [self.key_column(keys, rows)]
        if labels is not None:
            names.append("label")
            cols.append(self.label_column(labels, rows))
        names.append(column)
        cols.append(np.asarray(scores, dtype=np.float64))
        return build_frame(names, cols)

    def key_column(self, keys: Vocabulary, rows: np.ndarray) -> Any:
        """The keys at ``rows`` as the column ``pd.DataFrame({"key": ...})`` would hold."""
        if keys.kind == "int" or rows.size == 0:
            return keys.ids().take(rows)
        if self._key_col is None:
            self._key_col = _inferred(keys.ids())
        return _take(self._key_col, rows)

    def label_column(self, labels: np.ndarray | None, rows: np.ndarray) -> Any:
        """The labels at ``rows`` as the column ``pd.DataFrame({"label": ...})`` would hold.

        pandas infers a column's dtype from its values, so the labels of every answer are
        inferred from the whole label column once; this gives the same column as inferring
        the answer's own labels when the labels are all strings, or strings and missing
        values (None, NaN) with at least one string among the answer's. Any other answer
        is inferred on its own.
        """
        if labels is None:
            raise ValueError("these embeddings have no labels")
        if self._label_col is None:
            missing = pd.isna(labels)
            present = labels[~missing]
            uniform = bool(present.size) and all(type(v) is str for v in present)
            self._label_col = (_inferred(labels) if uniform else None, missing)
        col, missing = self._label_col
        if col is None or rows.size == 0 or missing[rows].all():
            return _inferred(labels[rows])
        return _take(col, rows)
