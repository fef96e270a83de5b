"""Compiled exact search for batches of queries (numba): products and top-``k`` fused.

:func:`embedlab._ann._search_flat` uses it for many queries at once (imported on first use:
numba costs ~0.45 s to import, more than a single query takes). Each thread takes blocks of
queries; a block is scored against a tile of rows at a time with one small matrix product
(BLAS at one thread), and each query's best ``k`` are kept while the tile is still in the
cache, so the ``[queries, rows]`` scores are never written out whole. The answers are those
of :func:`embedlab._ann._top_block`: best first, ties to the lower row, excluded rows left
out.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  (numba's np.dot calls it: loaded before the BLAS limit)

__all__ = ["QUERY_BLOCK", "ROW_TILE", "search_top_k"]

#: Queries scored together in one product.
QUERY_BLOCK = 32
#: Rows scored together: a ``QUERY_BLOCK × ROW_TILE`` tile of float32 is 256 KiB.
ROW_TILE = 2048
_LANES = 16


@nb.njit(inline="always")
def _offer(vals, cols, count, k, s, col) -> int:
    # insert (s, col) into the best-first arrays; an equal score already there stays first
    p = count if count < k else k - 1
    while p > 0 and vals[p - 1] < s:
        vals[p] = vals[p - 1]
        cols[p] = cols[p - 1]
        p -= 1
    vals[p] = s
    cols[p] = col
    return count + 1 if count < k else count


@nb.njit(
    parallel=True,
    fastmath={"nnan", "reassoc", "contract"},
    cache=True,
    nogil=True,
    boundscheck=False,
)
def search_top_k(
    queries: np.ndarray,
    rows: np.ndarray,
    k: int,
    ex_ptr: np.ndarray,
    ex_idx: np.ndarray,
    out_cols: np.ndarray,
    out_vals: np.ndarray,
    out_len: np.ndarray,
) -> None:
    """The best ``k`` rows of ``rows`` (``[n, d]``) by inner product with each query.

    ``queries`` is ``[m, d]``; query ``q`` never gets the rows ``ex_idx[ex_ptr[q]:ex_ptr[q +
    1]]`` (sorted or not). Fills ``out_cols``/``out_vals`` (``[m, k]``, best first, ties to
    the lower row) and ``out_len`` (answers per query, fewer than ``k`` when fewer rows
    have a finite score).
    """
    m, d = queries.shape
    n = rows.shape[0]
    q_flat = queries.ravel()
    r_flat = rows.ravel()
    n_blocks = (m + QUERY_BLOCK - 1) // QUERY_BLOCK
    for blk in nb.prange(n_blocks):
        q0 = blk * QUERY_BLOCK
        q1 = min(m, q0 + QUERY_BLOCK)
        nq = q1 - q0
        Q = q_flat[q0 * d : q1 * d].reshape(nq, d)
        buffer = np.empty(nq * ROW_TILE, dtype=np.float32)
        for q in range(q0, q1):
            out_len[q] = 0
        for j0 in range(0, n, ROW_TILE):
            j1 = min(n, j0 + ROW_TILE)
            nt = j1 - j0
            R = r_flat[j0 * d : j1 * d].reshape(nt, d)
            St = buffer[: nq * nt].reshape(nq, nt)
            np.dot(Q, R.T, St)
            for q in range(q0, q1):
                row = St[q - q0]
                for e in range(ex_ptr[q], ex_ptr[q + 1]):
                    x = ex_idx[e]
                    if j0 <= x < j1:
                        row[x - j0] = -np.inf
                vals = out_vals[q]
                cols = out_cols[q]
                count = out_len[q]
                j = 0
                # fill the first k places with the first finite scores
                while count < k and j < nt:
                    s = row[j]
                    if s > -np.inf:
                        count = _offer(vals, cols, count, k, s, j0 + j)
                    j += 1
                if count == k:
                    threshold = vals[k - 1]
                    while j < nt:
                        top = min(j + _LANES, nt)
                        best = row[j]
                        for x in range(j + 1, top):
                            best = max(best, row[x])
                        if best > threshold:
                            for x in range(j, top):
                                s = row[x]
                                if s > threshold:
                                    _offer(vals, cols, count, k, s, j0 + x)
                                    threshold = vals[k - 1]
                        j = top
                out_len[q] = count
