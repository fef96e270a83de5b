"""KeyedEmbeddings: vectors addressed by raw IDs, with labels. NumPy only (no torch).

The core of :mod:`embedlab.embeddings`: keys, vectors, cached unit vectors, cosine
similarity, neighbours (exact or FAISS), analogies. Label search lives in
:mod:`embedlab.embeddings._search`, the file formats in :mod:`embedlab.embeddings._export`
(imported when an export method is called).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from embedlab import _ann
from embedlab.data import Vocabulary
from embedlab.embeddings._frames import AnswerColumns, build_frame, clip
from embedlab.embeddings._search import (
    COUNT_COLUMNS,
    FoldedLabels,
    count_column,
    find_ids,
    find_labels,
    fold_labels,
    id_row,
    label_row,
)
from embedlab.exceptions import UnknownIDError

__all__ = ["KeyedEmbeddings"]

_SCALAR_KEY = (str, bytes, int, np.integer)


def _check_topn(topn: Any, name: str = "topn") -> int:
    if isinstance(topn, (bool, np.bool_)) or not isinstance(topn, (int, np.integer)) or topn < 1:
        raise ValueError(
            f"{name}={topn!r}: expected an integer >= 1 (how many answers), e.g. {name}=10"
        )
    return int(topn)


#: A ``min_count`` above this admits no key (no count reaches it); any larger one means
#: the same, and comparing with it as a float neither overflows nor loses the meaning.
_MIN_COUNT_CAP = 2**1000


def _check_min_count(min_count: Any) -> float:
    """``min_count`` as a float threshold: a number of ratings >= 0 (int or finite float).

    A huge integer (``10**30``) is valid and admits no key, as ``1e300`` does.
    """
    if (
        isinstance(min_count, (bool, np.bool_))
        or not isinstance(min_count, (int, np.integer, float, np.floating))
        or (isinstance(min_count, (float, np.floating)) and not math.isfinite(min_count))
        or min_count < 0
    ):
        raise ValueError(
            f"min_count={min_count!r}: expected a number of ratings >= 0 (an int or a "
            "finite float), e.g. min_count=20; or None for no minimum"
        )
    if isinstance(min_count, (int, np.integer)):
        return float(min(int(min_count), _MIN_COUNT_CAP))
    return float(min_count)


def _as_key_list(value: Any, what: str) -> list[Any]:
    """One key, or an iterable of keys, as a list (None means none)."""
    if value is None:
        return []
    if isinstance(value, _SCALAR_KEY):
        return [value]
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        raise TypeError(
            f"{what}= got an array of floats; it takes keys (raw IDs) or labels, "
            "use similar_by_vector() to search by a vector"
        )
    try:
        return list(value)
    except TypeError:
        raise TypeError(
            f"{what}={value!r}: expected a key (raw ID), a label, or a list of them"
        ) from None


def _unit_rows(arr: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(arr.astype(np.float64), axis=1)
    return (arr / np.where(norms > 0, norms, 1.0)[:, None]).astype(np.float32)


#: ``most_similar_batch`` searches this many answers at a time (queries x topn), so that
#: the answers in flight stay bounded however many queries come.
_BATCH_ANSWERS = 1 << 18


class KeyedEmbeddings:
    """Vectors keyed by raw IDs (a :class:`~embedlab.Vocabulary`), with optional labels.

    Cosine similarity throughout; zero vectors never divide by zero (their
    similarity to anything is 0). Vectors handed out are read-only.

    **Keys and labels.** A key is a raw ID, never a row number ("index" means a row
    number, as everywhere in embedlab). Every method that takes keys applies one rule
    to each query: *a query that is a known key is that key; otherwise, if it is a str
    and labels exist, it is resolved as a label* (:meth:`resolve`: case, accents,
    punctuation and a missing year forgiven; an ambiguous or unknown label raises
    :class:`~embedlab.UnknownIDError` listing the closest labels). For integer keys the
    string ``"50"`` is the key ``50``, as in :class:`~embedlab.Vocabulary`.

    **Neighbours.** Queries are left out of their own answers (as gensim does). Answers
    are DataFrames with columns ``key``, ``label`` (when labels exist) and
    ``similarity``, best first; ties go to the lower row. Candidates can be restricted
    to a list of keys (``restrict=``) and to keys with at least ``min_count`` ratings
    (``min_count=``, from the metadata column ``n_ratings``, ``count`` or ``n_rows``).

    **Search index.** Exact search (a matrix product) by default; a FAISS HNSW index
    from :data:`embedlab._ann.FAISS_THRESHOLD` keys on with ``index="auto"``, or on
    request (``index="faiss"`` or :meth:`build_index`). The index is built on the first
    search that needs it.

    Args:
        vectors: ``[n, dim]`` array of finite numbers, row ``k`` for ``keys.id(k)``.
        keys: A :class:`~embedlab.Vocabulary` or a sequence of distinct raw IDs.
        labels: One label per row (e.g. titles; None for a missing one), or None.
        metadata: One row per key (e.g. ``genres``, ``year``, ``n_ratings``), or None.
        index: ``"auto"``, ``"exact"`` or ``"faiss"``: the nearest-neighbour search.

    Raises:
        ValueError: If the sizes disagree, ``vectors`` is not 2-D or holds NaN or
            infinity, or ``index`` is not one of the three choices.
        DataError: If ``keys`` holds duplicates or mixed types.

    Example:
        >>> kv = KeyedEmbeddings(
        ...     [[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], [10, 20, 30], labels=["A", "B", "C"]
        ... )
        >>> kv[20].tolist()
        [1.0, 1.0]
        >>> round(kv.similarity(10, 20), 4)
        0.7071
        >>> kv.most_similar(10, topn=2)
           key label  similarity
        0   20     B    0.707107
        1   30     C    0.000000
        >>> kv.resolve("c")
        30
    """

    def __init__(
        self,
        vectors: Any,
        keys: Vocabulary | Sequence[Any],
        *,
        labels: Sequence[Any] | None = None,
        metadata: pd.DataFrame | None = None,
        index: Literal["auto", "exact", "faiss"] = "auto",
    ) -> None:
        arr = np.array(vectors, dtype=np.float32, copy=True)
        if arr.ndim != 2:
            raise ValueError(
                f"vectors must be 2-D [n, dim], got shape {arr.shape}; "
                "reshape a single vector with vec[None, :]"
            )
        bad = ~np.isfinite(arr)
        if bad.any():
            row = int(np.flatnonzero(bad.any(axis=1))[0])
            raise ValueError(
                f"vectors hold {int(bad.sum())} NaN or infinite values (first in row {row}); "
                "expected finite numbers (a diverged model? retrain or drop those rows)"
            )
        vocab = keys if isinstance(keys, Vocabulary) else Vocabulary(keys, name="key")
        if len(vocab) != arr.shape[0]:
            raise ValueError(
                f"{len(vocab)} keys for {arr.shape[0]} vectors; expected one key per row"
            )
        if labels is not None and len(labels) != arr.shape[0]:
            raise ValueError(
                f"{len(labels)} labels for {arr.shape[0]} vectors; expected one per row"
            )
        if metadata is not None:
            if not isinstance(metadata, pd.DataFrame):
                raise TypeError(
                    f"metadata must be a pandas DataFrame, got {type(metadata).__name__}"
                )
            if len(metadata) != arr.shape[0]:
                raise ValueError(
                    f"metadata has {len(metadata)} rows for {arr.shape[0]} vectors; "
                    "expected one row per key, in key order"
                )
            metadata = metadata.reset_index(drop=True)
        if index not in ("auto", "exact", "faiss"):
            raise ValueError(
                f"index={index!r}: expected 'auto', 'exact' or 'faiss' "
                f"('auto' uses FAISS from {_ann.FAISS_THRESHOLD:,} keys on)"
            )
        arr.flags.writeable = False
        self.vectors = arr
        self.keys = vocab
        self.labels = None if labels is None else np.asarray(labels, dtype=object)
        if self.labels is not None:
            self.labels.flags.writeable = False
        self.metadata = metadata
        unit = _unit_rows(arr)
        unit.flags.writeable = False
        self._unit = unit
        self._index_request: str = index
        self._ann_index: _ann.ExactIndex | _ann.FaissIndex | None = None
        self._label_norms: tuple[np.ndarray, np.ndarray] | None = None
        self._answers = AnswerColumns()  # keys and labels as DataFrame columns

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return self.vectors.shape[0]

    @property
    def vector_size(self) -> int:
        """Width of the vectors."""
        return self.vectors.shape[1]

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def __getitem__(self, key: Any) -> np.ndarray:
        return self.get_vector(key)

    def __repr__(self) -> str:
        return f"KeyedEmbeddings({len(self)} keys × {self.vector_size} dims)"

    def index(self, key: Any) -> int:
        """Row of a raw ID (keys only, no label lookup).

        Raises:
            UnknownIDError: If the key is unknown.
        """
        return self.keys.index(key)

    def get_vector(self, key: Any, *, norm: bool = False) -> np.ndarray:
        """The vector of a key (or label), read-only.

        Args:
            key: A raw ID, or a label (see the class doc for the rule).
            norm: Return the unit vector (a zero vector stays zero).

        Returns:
            A read-only float32 array of length :attr:`vector_size`.

        Raises:
            UnknownIDError: For an unknown key or an unknown or ambiguous label.
        """
        row = self._row(key)
        return (self._unit if norm else self.vectors)[row]

    def get_label(self, key: Any) -> Any:
        """The label of a key, or None when there are no labels.

        Raises:
            UnknownIDError: For an unknown key.
        """
        return None if self.labels is None else self.labels[self._row(key)]

    # ------------------------------------------------------------------ labels
    def _norms(self) -> FoldedLabels:
        if self._label_norms is None:
            if self.labels is None:  # callers check; a clear error if one does not
                raise ValueError("these embeddings have no labels; pass labels= to search by title")
            self._label_norms = fold_labels(self.labels)
        return self._label_norms

    def find(self, text: str, *, n: int = 10) -> pd.DataFrame:
        """Labels that match a search text, best first.

        Forgiving: case, accents, punctuation, a trailing year and a trailing article
        (``"Usual Suspects, The"``) do not matter. Candidates are exact matches (score
        1.0 with the year, 0.95 without), labels containing the text (0.6 to 0.9, the
        closer in length the higher), labels containing all its words (0.5 to 0.8), and
        labels that :mod:`difflib` finds close (below 0.5). Equal scores go to the key
        with more ratings (metadata ``n_ratings``), then to the lower row.

        Args:
            text: What to look for, e.g. ``"star wars"``.
            n: At most this many candidates.

        Without labels, the IDs are searched instead (case ignored): the exact ID
        scores 1.0, IDs starting with the text 0.7 to 0.9, IDs containing it 0.5 to
        0.7; the ``label`` column then holds the ID as text.

        Returns:
            A DataFrame with columns ``key``, ``label`` and ``score``.

        Raises:
            ValueError: If ``text`` has no letters or digits (is empty, without
                labels), or ``n`` < 1.
        """
        n = _check_topn(n, "n")
        if self.labels is None:
            return find_ids(self, text, n)
        return find_labels(self, self._norms(), text, n)

    def resolve(self, query: Any) -> Any:
        """The key a query stands for: itself if it is a known key, else the key of a label.

        A label resolves when exactly one label matches it exactly (ignoring case,
        accents and punctuation; with the year, then without it), or, failing that,
        when exactly one label contains it. Without labels, a str query that is not a
        key resolves to the one ID equal to it ignoring case, or else the one ID that
        contains it (``"0042"`` for ``"P-0042"``).

        Args:
            query: A raw ID, or a label such as ``"star wars"`` or ``"Hamlet (1996)"``.

        Returns:
            The raw ID (int or str, as the keys are).

        Raises:
            UnknownIDError: For an unknown key, or a label that matches no label or
                several; the one-line message lists the closest labels and their keys.
        """
        return self.keys.id(self._row(query))

    def _row(self, query: Any) -> int:
        try:  # a known key (one lookup; the same test as ``query in self.keys``)
            return self.keys.index(query)
        except UnknownIDError:
            pass
        if isinstance(query, str) and self.labels is None:
            return id_row(self, query)
        if not isinstance(query, str) or self.labels is None:
            if isinstance(query, (float, np.floating)) or not isinstance(query, _SCALAR_KEY):
                raise UnknownIDError(
                    f"{query!r} ({type(query).__name__}) is not a key; keys are raw IDs "
                    f"({self.keys.kind}), e.g. {self.keys.id(0) if len(self) else 'none'!r}"
                )
            return self.keys.index(query)  # raises UnknownIDError with the vocabulary's message
        return label_row(self, self._norms(), query)

    def _rows(self, queries: list[Any]) -> np.ndarray:
        """``[self._row(q) for q in queries]`` as int64, in one lookup when it can be.

        Integer queries of integer keys are looked up together (a thousand ``_row``
        calls took 1.6 ms); any query that this misses goes through :meth:`_row`, which
        resolves labels and raises the usual errors.
        """
        if self.keys.kind == "int" and all(
            type(q) is int or isinstance(q, np.integer) for q in queries
        ):
            rows = self.keys.indices(queries, unknown="negative").astype(np.int64)
            for i in np.flatnonzero(rows < 0).tolist():
                rows[i] = self._row(queries[i])
            return rows
        return np.array([self._row(q) for q in queries], dtype=np.int64)

    # ------------------------------------------------------------------ search plumbing
    @property
    def index_kind(self) -> Literal["exact", "faiss"]:
        """The nearest-neighbour search in use: ``"exact"`` or ``"faiss"``."""
        if self._ann_index is not None:
            return self._ann_index.kind
        return _ann.resolve_index_kind(self._index_request, len(self))

    def build_index(self, kind: Literal["auto", "exact", "faiss"] = "auto") -> KeyedEmbeddings:
        """Build (or rebuild) the nearest-neighbour index now.

        Args:
            kind: ``"auto"`` (FAISS from :data:`embedlab._ann.FAISS_THRESHOLD` keys on,
                when installed), ``"exact"`` or ``"faiss"``.

        Returns:
            ``self``, for chaining.

        Raises:
            ValueError: If ``kind`` is not one of the three.
            ImportError: If ``kind="faiss"`` and faiss is not installed.
        """
        resolved = _ann.resolve_index_kind(kind, len(self))
        self._index_request = kind
        self._ann_index = _ann.build_index(resolved, self._unit)
        return self

    def _searcher(self) -> _ann.ExactIndex | _ann.FaissIndex:
        if self._ann_index is None:
            kind = _ann.resolve_index_kind(self._index_request, len(self))
            self._ann_index = _ann.build_index(kind, self._unit)
        return self._ann_index

    def _allowed(self, restrict: Any, min_count: Any) -> np.ndarray | None:
        mask: np.ndarray | None = None
        if restrict is not None:
            if isinstance(restrict, _SCALAR_KEY):
                raise TypeError(
                    f"restrict={restrict!r}: expected a list of keys (raw IDs), got one value; "
                    f"wrap it in a list: restrict=[{restrict!r}]"
                )
            rows = self.keys.indices(list(restrict))
            mask = np.zeros(len(self), dtype=bool)
            mask[rows] = True
        if min_count is not None:
            threshold = _check_min_count(min_count)
            column = count_column(self.metadata)
            if column is None:
                have = [] if self.metadata is None else list(self.metadata.columns)
                raise ValueError(
                    f"min_count={min_count!r} needs a metadata column of counts, one of "
                    f"{list(COUNT_COLUMNS)} (metadata columns: {have}); pass metadata with "
                    "counts, or use restrict= instead"
                )
            counts = pd.to_numeric(self.metadata[column], errors="coerce").fillna(0).to_numpy()
            enough = counts >= threshold
            mask = enough if mask is None else mask & enough
        return mask

    def _query_rows(self, positive: Any, negative: Any, what: str) -> tuple[list[int], list[int]]:
        pos = [self._row(k) for k in _as_key_list(positive, "positive")]
        neg = [self._row(k) for k in _as_key_list(negative, "negative")]
        if not pos and not neg:
            raise ValueError(
                f"{what} got no query: positive= and negative= are both empty; "
                "pass at least one key, e.g. positive=[key]"
            )
        return pos, neg

    def _frame(
        self, rows: np.ndarray, scores: np.ndarray, column: str = "similarity"
    ) -> pd.DataFrame:
        return self._answers.frame(self.keys, self.labels, rows, scores, column)

    # ------------------------------------------------------------------ similarity
    def similarity(self, a: Any, b: Any) -> float:
        """Cosine similarity of two keys (0 when either vector is zero).

        Raises:
            UnknownIDError: For an unknown key or label.
        """
        value = float(self._unit[self._row(a)].astype(np.float64) @ self._unit[self._row(b)])
        return min(1.0, max(-1.0, value))

    def distance(self, a: Any, b: Any) -> float:
        """Cosine distance ``1 - similarity(a, b)``, in ``[0, 2]``.

        Raises:
            UnknownIDError: For an unknown key or label.
        """
        return 1.0 - self.similarity(a, b)

    def most_similar(
        self,
        positive: Any = (),
        negative: Any = (),
        *,
        topn: int = 10,
        restrict: Iterable[Any] | None = None,
        min_count: float | None = None,
    ) -> pd.DataFrame:
        """Nearest keys by cosine to the sum of ``positive`` minus ``negative`` unit vectors.

        The query keys themselves are excluded from the answer. With one positive key
        this is "more like this"; ``positive=[b, c], negative=[a]`` is the analogy
        "a is to b as c is to ?" (gensim's 3CosAdd).

        Args:
            positive: A key (or label), or a list of them.
            negative: A key (or label), or a list of them.
            topn: At most this many neighbours.
            restrict: Only these keys are candidates.
            min_count: Only keys with at least this many ratings (metadata
                ``n_ratings``) are candidates.

        Returns:
            A DataFrame with columns ``key``, ``label`` (if labels exist) and
            ``similarity`` (float64 in [-1, 1]), best first, at most ``topn`` rows.

        Raises:
            UnknownIDError: For an unknown key or an unknown or ambiguous label.
            ValueError: With no query key, ``topn`` < 1, a ``min_count`` that is not a
                number >= 0 (NaN, infinity, text, bool), or ``min_count`` without an
                ``n_ratings`` metadata column. A huge ``min_count`` is valid: no key
                qualifies.
        """
        topn = _check_topn(topn)
        pos, neg = self._query_rows(positive, negative, "most_similar()")
        if len(pos) == 1 and not neg:
            # the unit row itself, as most_similar_batch uses it (normalising it again
            # changed one float32 row in 26,744, by one bit, and took a few µs)
            query = self._unit[pos[0]]
        else:
            query = self._unit[pos].astype(np.float64).sum(axis=0) - self._unit[neg].sum(axis=0)
            norm = math.sqrt(query @ query)
            query = (query / norm if norm > 0 else query).astype(np.float32)
        allowed = self._allowed(restrict, min_count)
        _, rows, scores = self._searcher().search_flat(
            query[None], topn, allowed=allowed, exclude=[pos + neg]
        )
        return self._frame(rows, clip(scores, descending=True))

    def most_similar_batch(
        self,
        queries: Iterable[Any],
        *,
        topn: int = 10,
        restrict: Iterable[Any] | None = None,
        min_count: float | None = None,
    ) -> pd.DataFrame:
        """:meth:`most_similar` of many single keys in one call (one matrix product).

        Args:
            queries: Keys (or labels), one query each.
            topn: At most this many neighbours per query.
            restrict: Only these keys are candidates.
            min_count: Only keys with at least this many ratings are candidates.

        Returns:
            A DataFrame with a ``query`` column (the query's key) followed by the
            columns of :meth:`most_similar`; the rows of each query are those that
            ``most_similar(query, topn=topn, ...)`` returns, queries in the given order.

        Raises:
            UnknownIDError: For an unknown key or an unknown or ambiguous label.
            ValueError: If ``topn`` < 1 or ``queries`` is empty.
        """
        topn = _check_topn(topn)
        items = _as_key_list(queries, "queries")
        if not items:
            raise ValueError("most_similar_batch() got no queries; pass a list of keys")
        rows = self._rows(items)
        allowed = self._allowed(restrict, min_count)
        searcher = self._searcher()
        step = max(1, _BATCH_ANSWERS // topn)
        parts = [
            searcher.search_flat(
                self._unit[rows[start : start + step]],
                topn,
                allowed=allowed,
                exclude=rows[start : start + step, None],
            )
            for start in range(0, rows.size, step)
        ]
        lengths, hits, scores = (np.concatenate(p) for p in zip(*parts, strict=True))
        names = ["query", "key"]
        answers = self._answers
        cols = [
            answers.key_column(self.keys, np.repeat(rows, lengths)),
            answers.key_column(self.keys, hits),
        ]
        if self.labels is not None:
            names.append("label")
            cols.append(answers.label_column(self.labels, hits))
        names.append("similarity")
        cols.append(clip(scores))
        return build_frame(names, cols)

    def most_similar_cosmul(
        self,
        positive: Any = (),
        negative: Any = (),
        *,
        topn: int = 10,
        restrict: Iterable[Any] | None = None,
        min_count: float | None = None,
    ) -> pd.DataFrame:
        """Analogy by 3CosMul (Levy & Goldberg 2014), as gensim computes it.

        Each cosine is shifted to ``[0, 1]`` by ``(1 + cos) / 2``; the score of a
        candidate is the product over ``positive`` divided by (the product over
        ``negative`` + 1e-6). Always an exact search; query keys excluded.

        Args:
            positive: A key (or label), or a list of them.
            negative: A key (or label), or a list of them.
            topn: At most this many neighbours.
            restrict: Only these keys are candidates.
            min_count: Only keys with at least this many ratings are candidates.

        Returns:
            A DataFrame with columns ``key``, ``label`` (if labels exist) and
            ``similarity`` (the 3CosMul score, >= 0), best first.

        Raises:
            UnknownIDError: For an unknown key or an unknown or ambiguous label.
            ValueError: With no query key or ``topn`` < 1.
        """
        topn = _check_topn(topn)
        pos, neg = self._query_rows(positive, negative, "most_similar_cosmul()")
        allowed = self._allowed(restrict, min_count)
        cand = np.arange(len(self)) if allowed is None else np.flatnonzero(allowed)
        unit = self._unit[cand]
        num = np.prod([(1.0 + unit @ self._unit[r]) / 2.0 for r in pos], axis=0)
        den = np.prod([(1.0 + unit @ self._unit[r]) / 2.0 for r in neg], axis=0) + 1e-6
        scores = np.broadcast_to(np.asarray(num / den, dtype=np.float64), cand.shape).copy()
        scores[np.isin(cand, pos + neg)] = -np.inf
        finite = int(np.isfinite(scores).sum())
        k = min(topn, finite)
        top = np.argpartition(-scores, k - 1)[:k] if 0 < k < scores.size else np.arange(k)
        top = top[np.lexsort((cand[top], -scores[top]))]
        return self._frame(cand[top], scores[top])

    def similar_by_vector(
        self,
        vector: Any,
        *,
        topn: int = 10,
        restrict: Iterable[Any] | None = None,
        min_count: float | None = None,
        exclude: Iterable[Any] = (),
    ) -> pd.DataFrame:
        """Nearest keys by cosine to any vector (nothing excluded unless asked).

        Args:
            vector: A vector of length :attr:`vector_size` (a zero vector scores 0
                against everything).
            topn: At most this many neighbours.
            restrict: Only these keys are candidates.
            min_count: Only keys with at least this many ratings are candidates.
            exclude: Keys (or labels) to leave out.

        Returns:
            The same DataFrame as :meth:`most_similar`.

        Raises:
            ValueError: For a vector of the wrong shape or with NaN, or ``topn`` < 1.
            UnknownIDError: For an unknown key in ``exclude`` or ``restrict``.
        """
        topn = _check_topn(topn)
        vec = np.asarray(vector, dtype=np.float64)
        if vec.ndim != 1 or vec.shape[0] != self.vector_size:
            raise ValueError(
                f"vector has shape {vec.shape}; expected ({self.vector_size},), the width of "
                "these embeddings (for several vectors, call once per vector)"
            )
        if not np.all(np.isfinite(vec)):
            raise ValueError("vector holds NaN or infinite values; expected finite numbers")
        norm = float(np.linalg.norm(vec))
        query = (vec / norm if norm > 0 else vec).astype(np.float32)
        skip = [self._row(k) for k in _as_key_list(exclude, "exclude")]
        allowed = self._allowed(restrict, min_count)
        _, rows, scores = self._searcher().search_flat(
            query[None], topn, allowed=allowed, exclude=[skip]
        )
        return self._frame(rows, clip(scores, descending=True))

    def doesnt_match(self, keys: Iterable[Any]) -> Any:
        """The key that fits least: lowest cosine to the mean of all the unit vectors.

        Args:
            keys: At least two keys (or labels).

        Returns:
            The odd key out (a raw ID).

        Raises:
            ValueError: With fewer than two distinct keys.
            UnknownIDError: For an unknown key or label.
        """
        rows = list(dict.fromkeys(self._row(k) for k in _as_key_list(keys, "keys")))
        if len(rows) < 2:
            raise ValueError(
                f"doesnt_match() got {len(rows)} distinct key(s); expected at least 2 to compare"
            )
        scores = self._centrality(rows)
        return self.keys.id(rows[int(np.argmin(scores))])

    def rank_by_centrality(self, keys: Iterable[Any]) -> pd.DataFrame:
        """Keys ranked by cosine to the mean of their unit vectors, most central first.

        Args:
            keys: Keys (or labels), at least one.

        Returns:
            A DataFrame with columns ``key``, ``label`` (if labels exist) and
            ``centrality`` (cosine in [-1, 1]).

        Raises:
            ValueError: With no keys.
            UnknownIDError: For an unknown key or label.
        """
        rows = list(dict.fromkeys(self._row(k) for k in _as_key_list(keys, "keys")))
        if not rows:
            raise ValueError("rank_by_centrality() got no keys; pass a list of keys")
        scores = self._centrality(rows)
        order = np.lexsort((np.arange(len(rows)), -scores))
        return self._frame(np.asarray(rows)[order], scores[order], column="centrality")

    def _centrality(self, rows: list[int]) -> np.ndarray:
        unit = self._unit[rows].astype(np.float64)
        mean = unit.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        mean = mean / norm if norm > 0 else mean
        return np.clip(unit @ mean, -1.0, 1.0)

    # ------------------------------------------------------------------ exports
    # The formats live in ``_export``, which imports this module (its readers build
    # KeyedEmbeddings); each method imports it when called.
    def to_gensim(self) -> Any:
        """A gensim ``KeyedVectors`` with keys ``str(ID)`` and the same vectors.

        Its ``most_similar`` finds the same neighbours with the same scores.

        Returns:
            ``gensim.models.KeyedVectors``.

        Raises:
            ImportError: If gensim is not installed.
        """
        from embedlab.embeddings._export import to_gensim

        return to_gensim(self)

    def save_word2vec_format(self, path: str | os.PathLike[str], *, binary: bool = False) -> Path:
        """Write the word2vec format gensim reads (see :func:`embedlab.io.save_word2vec_format`).

        Returns:
            The path written.
        """
        from embedlab.embeddings._export import save_word2vec_format

        return save_word2vec_format(self, path, binary=binary)

    @classmethod
    def load_word2vec_format(
        cls, path: str | os.PathLike[str], *, binary: bool | None = None
    ) -> KeyedEmbeddings:
        """Read a word2vec file (ours with its side files, or any other).

        See :func:`embedlab.io.load_word2vec_format`.
        """
        from embedlab.embeddings._export import load_word2vec_format

        return load_word2vec_format(path, binary=binary)

    def to_projector(
        self, directory: str | os.PathLike[str], *, columns: Sequence[str] | None = None
    ) -> Path:
        """Write TensorBoard Projector files (see :func:`embedlab.io.write_projector`)."""
        from embedlab.embeddings._export import write_projector

        return write_projector(self, directory, columns=columns)

    def to_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Write keys, labels, metadata and vectors to one Parquet file.

        See :func:`embedlab.io.write_embeddings_parquet`.
        """
        from embedlab.embeddings._export import write_embeddings_parquet

        return write_embeddings_parquet(self, path)

    @classmethod
    def from_parquet(cls, path: str | os.PathLike[str]) -> KeyedEmbeddings:
        """Read :meth:`to_parquet` output (see :func:`embedlab.io.read_embeddings_parquet`)."""
        from embedlab.embeddings._export import read_embeddings_parquet

        return read_embeddings_parquet(path)

    def to_numpy(self, path: str | os.PathLike[str]) -> Path:
        """Write vectors, keys and labels to an ``.npz`` (see :func:`embedlab.io.write_embeddings_npz`)."""
        from embedlab.embeddings._export import write_embeddings_npz

        return write_embeddings_npz(self, path)

    @classmethod
    def from_numpy(cls, path: str | os.PathLike[str]) -> KeyedEmbeddings:
        """Read :meth:`to_numpy` output (see :func:`embedlab.io.read_embeddings_npz`)."""
        from embedlab.embeddings._export import read_embeddings_npz

        return read_embeddings_npz(path)
