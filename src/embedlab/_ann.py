"""Nearest-neighbour search over unit vectors: exact NumPy search, or a FAISS HNSW index.

Both indexes answer the same question through the same method, :meth:`search`: for each
query direction, the ``k`` rows with the highest inner product with the (unit) rows,
best first, leaving out rows the caller excludes and keeping only rows the caller allows.
Scores handed back are always recomputed exactly (``unit[row] @ query``), so the FAISS
index changes *which* rows come back (rarely), never the numbers.

* :class:`ExactIndex` (the default): one matrix product and ``argpartition``; exact.
* :class:`FaissIndex`: ``faiss.IndexHNSWFlat`` with inner product on unit vectors.
  Filters (allowed rows, excluded rows) are applied after the search, asking FAISS for
  more candidates than needed (oversampling); a query for which too few candidates
  survive the filters is answered by the exact search instead, so a filter never makes
  an answer shorter than the exact one.

``index="auto"`` picks FAISS from :data:`FAISS_THRESHOLD` keys on when ``faiss`` is
installed, exact search otherwise. Nothing here imports ``faiss`` until a FAISS index is
built.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

__all__ = [
    "FAISS_THRESHOLD",
    "ExactIndex",
    "FaissIndex",
    "IndexKind",
    "build_index",
    "exact_search",
    "resolve_index_kind",
]

IndexKind = Literal["auto", "exact", "faiss"]

#: ``index="auto"`` uses FAISS from this many keys on (when faiss is installed).
FAISS_THRESHOLD = 50_000
#: HNSW graph degree (``M``) and build-time beam width (``efConstruction``).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
#: Smallest search-time beam width (``efSearch``); raised to the number of candidates asked.
HNSW_EF_SEARCH = 64
#: How many more candidates than the filters' expected need to ask FAISS for.
OVERSAMPLE = 2.0
#: Above this share of all rows, a filtered FAISS search is not worth it: search exactly.
MAX_CANDIDATE_SHARE = 0.25
#: Query-by-row block size of the exact search (scores held at once: about this many floats).
_BLOCK_FLOATS = 1 << 22

SearchResult = list[tuple[np.ndarray, np.ndarray]]


def faiss_available() -> bool:
    """Whether the ``faiss`` package can be imported (without importing it)."""
    return importlib.util.find_spec("faiss") is not None


def _import_faiss() -> Any:
    try:
        import faiss
    except ImportError:
        raise ImportError(
            "index='faiss' needs the faiss package; install it with `pip install faiss-cpu`, "
            "or pass index='exact'"
        ) from None
    return faiss


def resolve_index_kind(kind: str, n: int) -> Literal["exact", "faiss"]:
    """Turn ``"auto"``, ``"exact"`` or ``"faiss"`` into the index to build for ``n`` rows.

    Raises:
        ValueError: If ``kind`` is not one of the three.
        ImportError: If ``kind="faiss"`` and faiss is not installed.
    """
    if kind not in ("auto", "exact", "faiss"):
        raise ValueError(
            f"index={kind!r}: expected 'auto', 'exact' or 'faiss' "
            f"('auto' uses FAISS from {FAISS_THRESHOLD:,} keys on)"
        )
    if kind == "auto":
        return "faiss" if n >= FAISS_THRESHOLD and faiss_available() else "exact"
    if kind == "faiss":
        _import_faiss()
        return "faiss"
    return "exact"


def _mask_rows(scores: np.ndarray, cand: np.ndarray | None, excluded: Sequence[int]) -> None:
    """Set the scores of excluded rows to -inf (``cand``: sorted rows behind the scores)."""
    if not len(excluded):
        return
    rows = np.asarray(excluded, dtype=np.int64)
    if cand is None:
        scores[rows] = -np.inf
        return
    pos = np.searchsorted(cand, rows)
    inside = pos < cand.size
    pos, rows = pos[inside], rows[inside]
    scores[pos[cand[pos] == rows]] = -np.inf


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best finite scores, best first (ties: lower position first)."""
    finite = int(np.isfinite(scores).sum())
    k = min(k, finite)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    top = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
    return top[np.lexsort((top, -scores[top]))][:k]


def exact_search(
    unit: np.ndarray,
    queries: np.ndarray,
    k: int,
    *,
    allowed: np.ndarray | None = None,
    exclude: Sequence[Sequence[int]] | None = None,
) -> SearchResult:
    """Exact top-``k`` rows of ``unit`` by inner product with each query.

    Args:
        unit: ``[n, dim]`` float32 unit (or zero) rows.
        queries: ``[m, dim]`` query directions.
        k: Rows wanted per query.
        allowed: Boolean mask ``[n]`` of candidate rows, or None for all.
        exclude: Per query, rows never to return (e.g. the query keys).

    Returns:
        One ``(rows, scores)`` pair per query: int64 rows and float64 scores, best
        first, at most ``k`` (fewer when fewer candidates exist).
    """
    queries = np.asarray(queries, dtype=np.float32)
    cand = None if allowed is None else np.flatnonzero(allowed)
    mat = unit if cand is None else unit[cand]
    out: SearchResult = []
    if mat.shape[0] == 0:
        empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
        return [empty for _ in range(queries.shape[0])]
    block = max(1, _BLOCK_FLOATS // mat.shape[0])
    for start in range(0, queries.shape[0], block):
        scores_block = (queries[start : start + block] @ mat.T).astype(np.float64)
        for j, scores in enumerate(scores_block):
            if exclude is not None:
                _mask_rows(scores, cand, exclude[start + j])
            pos = _top(scores, k)
            rows = pos if cand is None else cand[pos]
            out.append((rows.astype(np.int64), scores[pos]))
    return out


class ExactIndex:
    """Exact search: a matrix product and ``argpartition`` (see :func:`exact_search`)."""

    kind: Literal["exact", "faiss"] = "exact"

    def __init__(self, unit: np.ndarray) -> None:
        self._unit = unit

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        allowed: np.ndarray | None = None,
        exclude: Sequence[Sequence[int]] | None = None,
    ) -> SearchResult:
        """See :func:`exact_search`."""
        return exact_search(self._unit, queries, k, allowed=allowed, exclude=exclude)


class FaissIndex:
    """Approximate search with a FAISS HNSW graph (inner product on unit vectors).

    Args:
        unit: ``[n, dim]`` float32 unit (or zero) rows.
        m: HNSW graph degree.
        ef_construction: HNSW build-time beam width.

    Raises:
        ImportError: If faiss is not installed.
    """

    kind: Literal["exact", "faiss"] = "faiss"

    def __init__(
        self, unit: np.ndarray, *, m: int = HNSW_M, ef_construction: int = HNSW_EF_CONSTRUCTION
    ) -> None:
        faiss = _import_faiss()
        self._unit = unit
        self._index = faiss.IndexHNSWFlat(unit.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        self._index.hnsw.efConstruction = ef_construction
        self._index.add(np.ascontiguousarray(unit, dtype=np.float32))

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        allowed: np.ndarray | None = None,
        exclude: Sequence[Sequence[int]] | None = None,
    ) -> SearchResult:
        """Same contract as :func:`exact_search`; filters applied after an oversampled search."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        n, m = self._unit.shape[0], queries.shape[0]
        n_allowed = n if allowed is None else int(allowed.sum())
        max_excluded = max((len(e) for e in exclude), default=0) if exclude is not None else 0
        want = k + max_excluded
        if allowed is not None:
            want = math.ceil(want * OVERSAMPLE * n / max(n_allowed, 1))
        if want > MAX_CANDIDATE_SHARE * n or m == 0:
            return exact_search(self._unit, queries, k, allowed=allowed, exclude=exclude)
        self._index.hnsw.efSearch = max(HNSW_EF_SEARCH, want)
        _, found = self._index.search(queries, want)
        out: SearchResult = []
        fallback: list[int] = []
        for i in range(m):
            rows = found[i][found[i] >= 0].astype(np.int64)
            excluded = () if exclude is None else exclude[i]
            if allowed is not None:
                rows = rows[allowed[rows]]
            if len(excluded):
                rows = rows[~np.isin(rows, np.asarray(excluded, dtype=np.int64))]
            gone = np.unique(np.asarray(excluded, dtype=np.int64))
            if allowed is not None:
                gone = gone[allowed[gone]]
            available = n_allowed - gone.size
            if rows.size < min(k, available):
                fallback.append(i)
                out.append((rows, np.empty(0)))
                continue
            scores = (self._unit[rows] @ queries[i]).astype(np.float64)
            order = np.lexsort((rows, -scores))[:k]
            out.append((rows[order], scores[order]))
        if fallback:
            redo = exact_search(
                self._unit,
                queries[fallback],
                k,
                allowed=allowed,
                exclude=None if exclude is None else [exclude[i] for i in fallback],
            )
            for i, res in zip(fallback, redo, strict=True):
                out[i] = res
        return out


def build_index(kind: Literal["exact", "faiss"], unit: np.ndarray) -> ExactIndex | FaissIndex:
    """Build the index of a resolved kind (see :func:`resolve_index_kind`)."""
    return FaissIndex(unit) if kind == "faiss" else ExactIndex(unit)
