"""Keyed embeddings: vectors addressed by raw IDs, with labels. NumPy only (no torch).

Every trained model hands these out (``model.item_embeddings()``), and they work on
any array with keys, whatever trained it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from embedlab.data import Vocabulary

__all__ = ["KeyedEmbeddings"]


class KeyedEmbeddings:
    """Vectors keyed by raw IDs (a :class:`~embedlab.Vocabulary`), with optional labels.

    Cosine similarity throughout; zero vectors never divide by zero (their
    similarity to anything is 0). Vectors handed out are read-only.

    Args:
        vectors: ``[n, dim]`` array, row ``k`` for ``keys.id(k)``.
        keys: A :class:`~embedlab.Vocabulary` or a sequence of distinct raw IDs.
        labels: One label per row (e.g. titles), or None.
        metadata: One row per key (e.g. genres, year, rating count), or None.

    Raises:
        ValueError: If the sizes disagree or ``vectors`` is not 2-D.

    Example:
        >>> kv = KeyedEmbeddings(np.eye(3), ["a", "b", "c"], labels=["A", "B", "C"])
        >>> kv["b"].tolist()
        [0.0, 1.0, 0.0]
    """

    def __init__(
        self,
        vectors: Any,
        keys: Vocabulary | Sequence[Any],
        *,
        labels: Sequence[Any] | None = None,
        metadata: pd.DataFrame | None = None,
    ) -> None:
        arr = np.array(vectors, dtype=np.float32, copy=True)
        if arr.ndim != 2:
            raise ValueError(f"vectors must be 2-D [n, dim], got shape {arr.shape}")
        vocab = keys if isinstance(keys, Vocabulary) else Vocabulary(keys, name="key")
        if len(vocab) != arr.shape[0]:
            raise ValueError(f"{len(vocab)} keys for {arr.shape[0]} vectors; expected one key per row")
        if labels is not None and len(labels) != arr.shape[0]:
            raise ValueError(f"{len(labels)} labels for {arr.shape[0]} vectors; expected one per row")
        if metadata is not None and len(metadata) != arr.shape[0]:
            raise ValueError(f"metadata has {len(metadata)} rows for {arr.shape[0]} vectors")
        arr.flags.writeable = False
        self.vectors = arr
        self.keys = vocab
        self.labels = None if labels is None else np.asarray(labels, dtype=object)
        self.metadata = metadata
        norms = np.linalg.norm(arr.astype(np.float64), axis=1)
        self._unit = (arr / np.where(norms > 0, norms, 1.0)[:, None]).astype(np.float32)

    def __len__(self) -> int:
        return self.vectors.shape[0]

    @property
    def vector_size(self) -> int:
        """Width of the vectors."""
        return self.vectors.shape[1]

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def __getitem__(self, key: Any) -> np.ndarray:
        return self.vectors[self.keys.index(key)]

    def index(self, key: Any) -> int:
        """Row of a raw ID.

        Raises:
            UnknownIDError: If the key is unknown.
        """
        return self.keys.index(key)

    def __repr__(self) -> str:
        return f"KeyedEmbeddings({len(self)} keys × {self.vector_size} dims)"

    def similarity(self, a: Any, b: Any) -> float:
        """Cosine similarity of two keys (0 when either vector is zero)."""
        return float(self._unit[self.keys.index(a)] @ self._unit[self.keys.index(b)])

    def most_similar(
        self,
        positive: Any | Iterable[Any] = (),
        negative: Iterable[Any] = (),
        *,
        topn: int = 10,
    ) -> pd.DataFrame:
        """Nearest keys by cosine to the mean of ``positive`` minus ``negative`` (unit vectors).

        The query keys themselves are excluded from the answer.

        Returns:
            A DataFrame with columns ``key``, ``label`` (if labels exist) and
            ``similarity``, best first, at most ``topn`` rows.

        Raises:
            UnknownIDError: For an unknown key.
            ValueError: With no query key, or ``topn`` < 1.
        """
        pos = [positive] if isinstance(positive, (str, int, np.integer)) else list(positive)
        neg = list(negative)
        if not pos and not neg:
            raise ValueError("most_similar needs at least one key in positive= or negative=")
        if not isinstance(topn, (int, np.integer)) or topn < 1:
            raise ValueError(f"topn={topn!r}: expected an integer >= 1")
        rows_pos = [self.keys.index(k) for k in pos]
        rows_neg = [self.keys.index(k) for k in neg]
        query = self._unit[rows_pos].sum(axis=0) - self._unit[rows_neg].sum(axis=0)
        norm = float(np.linalg.norm(query))
        scores = self._unit @ (query / norm if norm > 0 else query)
        scores[rows_pos + rows_neg] = -np.inf
        k = min(topn, len(self) - len(set(rows_pos + rows_neg)))
        if k <= 0:
            return pd.DataFrame({"key": [], "similarity": []})
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        out = pd.DataFrame({"key": self.keys.ids(top)})
        if self.labels is not None:
            out["label"] = self.labels[top]
        out["similarity"] = scores[top].astype(np.float64)
        return out
