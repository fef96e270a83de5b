"""Nearest-neighbour search over unit vectors: exact NumPy search, or a FAISS HNSW index.

Both indexes answer the same question through the same method, :meth:`search`: for each
query direction, the ``k`` rows with the highest inner product with the (unit) rows,
best first, leaving out rows the caller excludes and keeping only rows the caller allows.
Scores handed back are always recomputed exactly (``unit[row] @ query``), so the FAISS
index changes *which* rows come back (rarely), never the numbers.

* :class:`ExactIndex` (the default): one matrix product per block of queries and an exact
  top-``k`` of float32 scores (:func:`exact_search_flat`); exact, ties to the lower row.
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
    "euclidean_search",
    "exact_search",
    "exact_search_flat",
    "resolve_index_kind",
    "top_scores",
]

IndexKind = Literal["auto", "exact", "faiss"]

#: ``index="auto"`` uses FAISS from this many keys on (when faiss is installed).
FAISS_THRESHOLD = 50_000
#: HNSW graph degree (``M``): each node keeps up to ``M`` links (``2 * M`` on the base layer).
HNSW_M = 32
#: HNSW build-time beam width (``efConstruction``). Below ``2 * M`` the build cannot fill
#: the base layer's links well: on 1,000,000 x 32 clustered vectors (1,000 clusters;
#: ``benchmarks/bench_embeddings.py``) 40 gave recall@10 0.935 at ``efSearch`` 64 and
#: 0.973 at 256, with 34 of 1,000 queries below 0.9; 100 gave 1.000 at ``efSearch`` 64
#: and builds no slower (137 s against 217 s for 40, 2 threads on a loaded machine: a
#: better graph is quicker to search while it is built).
HNSW_EF_CONSTRUCTION = 100
#: Smallest search-time beam width (``efSearch``); raised to the number of candidates
#: asked. 128 rather than the 64 that was enough above: a margin for data less well
#: separated, at about 170 µs per query on 1,000,000 vectors (98 µs at 64).
HNSW_EF_SEARCH = 128
#: How many more candidates than the filters' expected need to ask FAISS for.
OVERSAMPLE = 2.0
#: Above this share of all rows, a filtered FAISS search is not worth it: search exactly.
MAX_CANDIDATE_SHARE = 0.25
#: Query-by-row block size of the exact search (scores held at once: about this many floats).
#: 2**21 float32 scores (8 MiB, 78 queries of 26,744 rows) stay in the last-level cache
#: between the product and the top-``k``; 2**22 was 10-15 % slower for 1,000 queries on
#: 26,744 x 32 (``benchmarks/bench_embeddings.py``).
_BLOCK_FLOATS = 1 << 21
#: From this many queries in one call, the compiled kernel (:mod:`embedlab._ann_kernels`)
#: scores them: it pays for importing numba (~0.45 s once) from about this many on.
COMPILED_MIN_QUERIES = 64

SearchResult = list[tuple[np.ndarray, np.ndarray]]
_LOWEST = float(np.finfo(np.float32).min)


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


def _mask_block(
    scores: np.ndarray, cand: np.ndarray | None, excluded: Sequence[Sequence[int]] | np.ndarray
) -> None:
    """Set excluded scores to -inf in place: ``scores[i]`` loses the rows ``excluded[i]``.

    ``cand`` holds the sorted rows behind the score columns (None: column ``j`` is row ``j``).
    """
    if len(excluded) == 1:
        if cand is None and len(excluded[0]) <= 8:  # one query: a few plain assignments
            row = scores[0]
            for r in excluded[0]:
                row[r] = -np.inf
            return
        rows = np.asarray(excluded[0], dtype=np.int64).ravel()
        if cand is None:
            scores[0, rows] = -np.inf
            return
        which = np.zeros(rows.size, dtype=np.int64)
    elif isinstance(excluded, np.ndarray) and excluded.ndim == 2:  # the same count for each
        rows = excluded.astype(np.int64, copy=False).ravel()
        which = np.repeat(np.arange(excluded.shape[0]), excluded.shape[1])
    else:
        lengths = [len(e) for e in excluded]
        if not any(lengths):
            return
        which = np.repeat(np.arange(len(lengths)), lengths)
        rows = np.concatenate([np.asarray(e, dtype=np.int64).ravel() for e in excluded if len(e)])
    if cand is None:
        scores[which, rows] = -np.inf
        return
    pos = np.searchsorted(cand, rows)
    inside = pos < cand.size
    pos, rows, which = pos[inside], rows[inside], which[inside]
    hit = cand[pos] == rows
    scores[which[hit], pos[hit]] = -np.inf


def _descending_bits(values: np.ndarray) -> np.ndarray:
    """uint64 keys of float32 ``values`` that sort ascending as the values sort descending.

    -0.0 becomes 0.0 first (equal values get equal keys: the column breaks the tie).
    """
    bits = (values + np.float32(0.0)).view(np.uint32)
    ascending = np.where(bits >> 31, ~bits, bits | np.uint32(0x80000000))
    return (~ascending).astype(np.uint64)


#: :func:`_top_block` samples runs of this many neighbouring columns (64 bytes of float32).
_RUN = 16


def _stride(n: int, k: int) -> int:
    """Sample every ``stride``-th column: about ``n / stride`` sampled, ``k * stride`` kept."""
    return max(1, min(16, int(math.sqrt(n / k))))


def _top_row(scores: np.ndarray, k: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_top_block` of one row (fewer NumPy calls): ``(columns, values)``."""
    # ndarray methods rather than the np.* wrappers: this runs once per single query
    sample = scores[::stride].copy()
    m = sample.size
    if m > k:
        sample.partition(m - k)
        cols = (scores >= max(float(sample[m - k]), _LOWEST)).nonzero()[0]
    else:
        cols = (scores > -np.inf).nonzero()[0]
    values = scores[cols]
    best = (-values).argsort(kind="stable")[:k]  # cols ascend: ties to the lower column
    return cols[best], values[best]


def _top_block(
    scores: np.ndarray, k: int, above: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` best columns of each row of ``scores``, best first, ties to the lower column.

    No ``argpartition`` over whole rows (the cost of a single query in gensim): the k-th
    best score of a sample of each row's columns is a lower bound of the row's k-th best
    (the sample's k best are in the row), so every score at or above it is a candidate,
    a few times ``k`` per row. The sample is one column in ``stride``, taken as runs of
    :data:`_RUN` neighbouring columns spread over the row (a strided sample touches every
    cache line of the block; copying the runs took a quarter less time, for 1,000 queries
    on 26,744 rows); any sample gives the same answer, only the number of candidates
    differs. The candidates of the block are then ordered by one sort of unique integer
    keys (row, score descending, column): exact, ties to the lower column, however many
    scores tie.

    Args:
        scores: ``[b, n]`` float32 scores; excluded columns hold -inf.
        k: Columns wanted per row, ``k >= 1``.
        above: A boolean buffer shaped like ``scores`` to reuse, or None.

    Returns:
        ``(lengths, columns, values)``: int64 ``[b]`` answers per row, then the columns
        (int64) and float32 scores of the answers, row after row, best first; -inf
        scores (excluded columns) are left out.
    """
    b, n = scores.shape
    stride = _stride(n, k)
    if b == 1:
        cols, values = _top_row(scores[0], k, stride)
        return np.array([cols.size], dtype=np.int64), cols, values
    runs = n // (_RUN * stride)
    if stride > 1 and runs * _RUN > k:  # the same share of columns, in runs of _RUN
        width = _RUN * stride
        sample = scores[:, : runs * width].reshape(b, runs, width)[:, :, :_RUN].copy()
        sample = sample.reshape(b, -1)
    else:
        sample = scores[:, ::stride].copy()
    m = sample.shape[1]
    if m > k:
        sample.partition(m - k, axis=1)  # a copy: the scores stay as they are
        cut = np.maximum(sample[:, m - k], _LOWEST)  # never -inf: excluded columns stay out
        flat = np.flatnonzero(np.greater_equal(scores, cut[:, None], out=above))
    else:
        flat = np.flatnonzero(scores > -np.inf)
    col_bits = max(1, int(n - 1).bit_length())
    row_bits = int(b - 1).bit_length()
    if row_bits + 32 + col_bits <= 64:
        rows, cols = np.divmod(flat, n)
        keys = (
            (rows.astype(np.uint64) << np.uint64(32 + col_bits))
            | (_descending_bits(scores.ravel()[flat]) << np.uint64(col_bits))
            | cols.astype(np.uint64)
        )
        keys.sort()
        rows = (keys >> np.uint64(32 + col_bits)).astype(np.int64)
        cols = (keys & np.uint64((1 << col_bits) - 1)).astype(np.int64)
    else:  # pragma: no cover - more than 2**32 scores in a block
        rows, cols = np.divmod(flat, n)
        order = np.lexsort((cols, -scores.ravel()[flat], rows))
        rows, cols = rows[order], cols[order]
    counts = np.bincount(rows, minlength=b)
    starts = np.cumsum(counts) - counts
    keep = np.arange(rows.size) - starts[rows] < k
    rows, cols = rows[keep], cols[keep]
    values = scores[rows, cols]
    finite = np.isfinite(values)
    if not finite.all():
        rows, cols, values = rows[finite], cols[finite], values[finite]
    return np.bincount(rows, minlength=b).astype(np.int64), cols, values


def exact_search_flat(
    unit: np.ndarray,
    queries: np.ndarray,
    k: int,
    *,
    allowed: np.ndarray | None = None,
    exclude: Sequence[Sequence[int]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`exact_search` with the answers of all queries in flat arrays.

    Queries are scored a block at a time (about ``_BLOCK_FLOATS`` float32 scores held at
    once): one matrix product, the excluded rows set to -inf, the top ``k`` of all the
    block's queries at once (:func:`_top_block`); only the winners become float64. No
    float64 copy of the scores.

    Returns:
        ``(lengths, rows, scores)``: int64 ``[m]`` answers per query, then the int64 rows
        and float64 scores of all answers, query after query, each best first.
    """
    return _search_flat(unit, queries, k, allowed=allowed, exclude=exclude)


def _search_flat(
    unit: np.ndarray,
    queries: np.ndarray,
    k: int,
    *,
    allowed: np.ndarray | None = None,
    exclude: Sequence[Sequence[int]] | None = None,
    unit_t: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`exact_search_flat`, given ``unit_t``, a C-contiguous ``unit.T``, or None.

    Without an ``allowed`` mask the queries are scored against ``unit_t``: the same
    product, about 10 % quicker than against the strided ``unit.T`` for 1,000 queries
    (the matrix library packs contiguous columns faster) and 8 % for one. The scores
    can differ from those against ``unit.T`` in the last bit of the float32 sum (another
    order of the 32 products), as a single query's already did from a batch's.
    """
    queries = np.asarray(queries, dtype=np.float32)
    m = queries.shape[0]
    cand = None if allowed is None else np.flatnonzero(allowed)
    mat = unit if cand is None else unit[cand]
    n = mat.shape[0]
    if n == 0 or m == 0 or k < 1:
        return np.zeros(m, dtype=np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    k = min(k, n)
    mat_t = unit_t if cand is None and unit_t is not None else mat.T
    if m == 1:
        scores = queries @ mat_t
        if exclude is not None:
            _mask_block(scores, cand, exclude)
        cols, vals = _top_row(scores[0], k, _stride(n, k))
        return (
            np.array([cols.size], dtype=np.int64),
            cols if cand is None else cand[cols],
            vals.astype(np.float64),
        )
    if m >= COMPILED_MIN_QUERIES:
        return _search_compiled(mat, queries, k, cand, exclude)
    block = max(1, min(m, _BLOCK_FLOATS // n))
    # one buffer for the scores of every block (fresh memory costs a page fault per page)
    buffer = np.empty((block, n), dtype=np.float32)
    above = np.empty((block, n), dtype=bool)
    lengths, rows, scores = [], [], []
    for start in range(0, m, block):
        chunk = queries[start : start + block]
        block_scores = np.matmul(chunk, mat_t, out=buffer[: chunk.shape[0]])
        if exclude is not None:
            _mask_block(block_scores, cand, exclude[start : start + block])
        counts, cols, vals = _top_block(block_scores, k, above[: chunk.shape[0]])
        lengths.append(counts)
        rows.append(cols)
        scores.append(vals)
    found = np.concatenate(rows).astype(np.int64, copy=False)
    return (
        np.concatenate(lengths).astype(np.int64, copy=False),
        found if cand is None else cand[found].astype(np.int64, copy=False),
        np.concatenate(scores).astype(np.float64),
    )


def _exclusions(
    exclude: Sequence[Sequence[int]] | None, m: int, cand: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """``exclude`` as CSR arrays (``indptr``, positions among the scored rows)."""
    if exclude is None:
        return np.zeros(m + 1, dtype=np.int64), np.empty(0, dtype=np.int64)
    if isinstance(exclude, np.ndarray) and exclude.ndim == 2:
        lengths = np.full(m, exclude.shape[1], dtype=np.int64)
        rows = exclude.astype(np.int64, copy=False).ravel()
    else:
        lengths = np.array([len(e) for e in exclude], dtype=np.int64)
        rows = (
            np.concatenate([np.asarray(e, dtype=np.int64).ravel() for e in exclude if len(e)])
            if lengths.any()
            else np.empty(0, dtype=np.int64)
        )
    if cand is not None:  # rows -> positions among the candidates; others cannot come up
        pos = np.searchsorted(cand, rows)
        inside = pos < cand.size
        hit = np.zeros(rows.size, dtype=bool)
        hit[inside] = cand[pos[inside]] == rows[inside]
        which = np.repeat(np.arange(m), lengths)[hit]
        rows = pos[hit]
        lengths = np.bincount(which, minlength=m).astype(np.int64)
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    return indptr, rows


def _search_compiled(
    mat: np.ndarray,
    queries: np.ndarray,
    k: int,
    cand: np.ndarray | None,
    exclude: Sequence[Sequence[int]] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_search_flat` of many queries with the compiled kernel (both CPUs, no
    ``[queries, rows]`` score matrix in memory): the same answers."""
    from embedlab._ann_kernels import search_top_k
    from embedlab._threads import parallel_section

    m = queries.shape[0]
    indptr, positions = _exclusions(exclude, m, cand)
    cols = np.empty((m, k), dtype=np.int64)
    vals = np.empty((m, k), dtype=np.float32)
    lengths = np.empty(m, dtype=np.int64)
    with parallel_section(None):
        search_top_k(
            np.ascontiguousarray(queries, dtype=np.float32),
            np.ascontiguousarray(mat, dtype=np.float32),
            k,
            indptr,
            positions,
            cols,
            vals,
            lengths,
        )
    keep = np.arange(k)[None, :] < lengths[:, None]
    found = cols[keep]
    return (
        lengths,
        found if cand is None else cand[found].astype(np.int64, copy=False),
        vals[keep].astype(np.float64),
    )


def _split(lengths: np.ndarray, rows: np.ndarray, scores: np.ndarray) -> SearchResult:
    bounds = np.cumsum(lengths)[:-1]
    return list(zip(np.split(rows, bounds), np.split(scores, bounds), strict=True))


def _flatten(found: SearchResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lengths = np.array([rows.size for rows, _ in found], dtype=np.int64)
    if not found:
        return lengths, np.empty(0, np.int64), np.empty(0, np.float64)
    rows = np.concatenate([r for r, _ in found]).astype(np.int64, copy=False)
    scores = np.concatenate([s for _, s in found]).astype(np.float64, copy=False)
    return lengths, rows, scores


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
        first (ties: the lower row first), at most ``k`` (fewer when fewer candidates
        exist).
    """
    return _split(*exact_search_flat(unit, queries, k, allowed=allowed, exclude=exclude))


class ExactIndex:
    """Exact search: a matrix product and an exact top-``k`` (see :func:`exact_search_flat`).

    The first search without an ``allowed`` mask keeps a C-contiguous copy of ``unit.T``
    (as much memory again as ``unit``) for its products and those of later searches.
    """

    kind: Literal["exact", "faiss"] = "exact"

    def __init__(self, unit: np.ndarray) -> None:
        self._unit = unit
        self._unit_t: np.ndarray | None = None

    def _transposed(self) -> np.ndarray:
        if self._unit_t is None:
            unit_t = np.ascontiguousarray(self._unit.T, dtype=np.float32)
            unit_t.flags.writeable = False
            self._unit_t = unit_t
        return self._unit_t

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        allowed: np.ndarray | None = None,
        exclude: Sequence[Sequence[int]] | None = None,
    ) -> SearchResult:
        """See :func:`exact_search`."""
        return _split(*self.search_flat(queries, k, allowed=allowed, exclude=exclude))

    def search_flat(
        self,
        queries: np.ndarray,
        k: int,
        *,
        allowed: np.ndarray | None = None,
        exclude: Sequence[Sequence[int]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """See :func:`exact_search_flat`."""
        return _search_flat(
            self._unit,
            queries,
            k,
            allowed=allowed,
            exclude=exclude,
            unit_t=self._transposed() if allowed is None else None,
        )


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

    def search_flat(
        self,
        queries: np.ndarray,
        k: int,
        *,
        allowed: np.ndarray | None = None,
        exclude: Sequence[Sequence[int]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`search` with the answers in flat arrays (see :func:`exact_search_flat`)."""
        return _flatten(self.search(queries, k, allowed=allowed, exclude=exclude))


def top_scores(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best entries of one float32 score vector, best first, ties to the lower
    index; -inf entries (excluded) are left out.

    Returns:
        ``(indices, scores)``: int64 indices and their float32 scores.
    """
    n = scores.shape[0]
    if n == 0 or k < 1:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    k = min(k, n)
    return _top_row(scores, k, _stride(n, k))


#: Candidates kept beyond ``k`` by :func:`euclidean_search` before the exact float64 check.
_L2_MARGIN = 16


def euclidean_search(
    vectors: np.ndarray,
    sq_norms: np.ndarray,
    query: np.ndarray,
    k: int,
    *,
    allowed: np.ndarray | None = None,
    exclude: Sequence[int] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``k`` nearest rows of ``vectors`` to one ``query`` by euclidean distance.

    One float32 matrix-vector product ranks every row by ``2 v.q - |v|^2`` (the
    distance's order); the best ``k + 16`` are then measured exactly in float64 and
    sorted, nearest first, ties to the lower row. 1,000,000 x 32 takes a few ms.

    Args:
        vectors: ``[n, dim]`` float32 rows.
        sq_norms: ``[n]`` float32 squared norms of the rows.
        query: ``[dim]`` query vector.
        k: Rows wanted.
        allowed: Boolean mask ``[n]`` of candidate rows, or None for all.
        exclude: Rows never to return.

    Returns:
        ``(rows, distances)``: int64 rows and float64 distances, at most ``k``.
    """
    q = np.asarray(query, dtype=np.float32)
    scores = vectors @ q
    scores *= np.float32(2.0)
    scores -= sq_norms
    if allowed is not None:
        scores[~allowed] = -np.inf
    for row in exclude:
        scores[row] = -np.inf
    rows, _ = top_scores(scores, k + _L2_MARGIN)
    diff = vectors[rows].astype(np.float64) - q.astype(np.float64)
    dist = np.sqrt((diff * diff).sum(axis=1))
    order = np.lexsort((rows, dist))[:k]
    return rows[order], dist[order]


def build_index(kind: Literal["exact", "faiss"], unit: np.ndarray) -> ExactIndex | FaissIndex:
    """Build the index of a resolved kind (see :func:`resolve_index_kind`)."""
    return FaissIndex(unit) if kind == "faiss" else ExactIndex(unit)
