"""Nearest-neighbour indexes: FAISS agrees with exact search; filters survive the ANN path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from embedlab import KeyedEmbeddings, _ann

pytest.importorskip("faiss")


@pytest.fixture(scope="module")
def big() -> tuple[KeyedEmbeddings, KeyedEmbeddings]:
    """Random 20k x 32 vectors, once with exact search and once with a FAISS index."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(20_000, 32)).astype(np.float32)
    meta = pd.DataFrame({"n_ratings": rng.integers(0, 100, size=20_000)})
    keys = np.arange(100_000, 120_000)
    exact = KeyedEmbeddings(vectors, keys, metadata=meta, index="exact")
    approx = KeyedEmbeddings(vectors, keys, metadata=meta, index="faiss").build_index("faiss")
    return exact, approx


def test_kinds(big) -> None:
    exact, approx = big
    assert exact.index_kind == "exact" and approx.index_kind == "faiss"
    assert KeyedEmbeddings(np.eye(3), [1, 2, 3]).index_kind == "exact"  # auto, small


def test_auto_switches_at_the_threshold(monkeypatch) -> None:
    monkeypatch.setattr(_ann, "FAISS_THRESHOLD", 50)
    kv = KeyedEmbeddings(np.random.default_rng(0).normal(size=(60, 4)), list(range(60)))
    assert kv.index_kind == "faiss"
    kv.most_similar(0)
    assert kv.build_index("exact").index_kind == "exact"


def test_faiss_recall_against_exact(big) -> None:
    exact, approx = big
    queries = list(exact.keys)[:200]
    want = exact.most_similar_batch(queries, topn=10)
    got = approx.most_similar_batch(queries, topn=10)
    hits = sum(
        len(set(w["key"]) & set(g["key"]))
        for (_, w), (_, g) in zip(want.groupby("query"), got.groupby("query"), strict=True)
    )
    assert hits / (10 * len(queries)) >= 0.95
    # scores are recomputed exactly: a key found by both has the same score
    merged = want.merge(got, on=["query", "key"])
    np.testing.assert_allclose(merged["similarity_x"], merged["similarity_y"], atol=1e-6)
    single = approx.most_similar(queries[0], topn=10)
    assert single["key"].tolist() == got[got["query"] == queries[0]]["key"].tolist()
    assert single["similarity"].is_monotonic_decreasing


def test_filters_on_the_faiss_path(big) -> None:
    exact, approx = big
    q = exact.keys.id(0)
    allowed = list(exact.keys)[::50]  # 400 keys: oversampled FAISS search, else exact fallback
    got = approx.most_similar(q, topn=10, restrict=allowed)
    assert len(got) == 10 and set(got["key"]) <= set(allowed)
    want = exact.most_similar(q, topn=10, restrict=allowed)
    assert len(set(got["key"]) & set(want["key"])) >= 9
    got = approx.most_similar(q, topn=10, min_count=90)
    counts = dict(zip(exact.keys, exact.metadata["n_ratings"], strict=True))
    assert len(got) == 10 and all(counts[k] >= 90 for k in got["key"])
    # so few survivors that FAISS cannot find them: the exact search answers
    few = [exact.keys.id(i) for i in (5, 17, 4000)]
    got = approx.most_similar(q, topn=10, restrict=few)
    assert set(got["key"]) == set(few)
    assert got["key"].tolist() == exact.most_similar(q, topn=10, restrict=few)["key"].tolist()
    vec = approx.similar_by_vector(exact[q], topn=5)
    assert vec["key"].iloc[0] == q


def test_exact_search_contract() -> None:
    unit = np.eye(4, dtype=np.float32)
    unit[3] = 0.0
    ((rows, scores),) = _ann.exact_search(unit, unit[:1], 3, exclude=[[0]])
    assert rows.tolist() == [1, 2, 3] and scores.tolist() == [0.0, 0.0, 0.0]
    allowed = np.array([True, False, True, True])
    ((rows, _),) = _ann.exact_search(unit, unit[:1], 10, allowed=allowed, exclude=[[0, 2]])
    assert rows.tolist() == [3]
    with pytest.raises(ValueError, match="index='annoy'"):
        _ann.resolve_index_kind("annoy", 10)


def _brute_force(unit, queries, k, allowed, exclude):
    """Every candidate sorted by (score descending, row): the answer exact search must give."""
    out = []
    for query, skip in zip(queries, exclude, strict=True):
        cand = np.arange(len(unit)) if allowed is None else np.flatnonzero(allowed)
        cand = cand[~np.isin(cand, skip)]
        scores = unit[cand] @ query
        order = np.lexsort((cand, -scores))[:k]
        out.append((cand[order], scores[order]))
    return out


@pytest.mark.parametrize("n", [7, 300, 5_000])
def test_exact_search_ties_go_to_the_lower_row(n) -> None:
    """Small integer vectors tie often, also at the k-th place; the lower row must win.

    (Integer rows, not unit rows: their products are exact in any summation order, so
    the brute force and the blocked product see the same ties.)
    """
    rng = np.random.default_rng(n)
    for trial in range(20):
        unit = rng.integers(-1, 2, size=(n, 3)).astype(np.float32)
        unit[rng.integers(0, n, size=n // 5)] = 0.0  # zero vectors: all their scores tie
        queries = unit[rng.integers(0, n, size=int(rng.integers(1, 12)))]
        k = int(rng.integers(1, min(n, 40) + 3))
        allowed = None if trial % 2 else rng.random(n) < 0.6
        exclude = [rng.integers(0, n, size=int(rng.integers(0, 4))) for _ in queries]
        got = _ann.exact_search(unit, queries, k, allowed=allowed, exclude=exclude)
        want = _brute_force(unit, queries, k, allowed, exclude)
        for (rows, scores), (want_rows, want_scores) in zip(got, want, strict=True):
            assert rows.dtype == np.int64 and scores.dtype == np.float64
            np.testing.assert_array_equal(rows, want_rows)
            np.testing.assert_array_equal(scores, want_scores)


def test_exact_search_blocks_and_flat_form(monkeypatch) -> None:
    """Several blocks, one block, and one query at a time all give the same answers."""
    rng = np.random.default_rng(1)
    unit = rng.normal(size=(3_000, 16)).astype(np.float32)
    unit /= np.linalg.norm(unit, axis=1)[:, None]
    queries = unit[:50]
    exclude = np.arange(50)[:, None]
    whole = _ann.exact_search_flat(unit, queries, 10, exclude=exclude)
    monkeypatch.setattr(_ann, "_BLOCK_FLOATS", 3_000 * 7)  # blocks of 7 queries
    blocked = _ann.exact_search_flat(unit, queries, 10, exclude=exclude)
    np.testing.assert_array_equal(whole[0], blocked[0])
    np.testing.assert_array_equal(whole[1], blocked[1])
    np.testing.assert_allclose(whole[2], blocked[2], atol=1e-6)  # BLAS sums per block size
    lengths, rows, _ = whole
    assert lengths.tolist() == [10] * 50
    for i in range(50):
        ((one, _),) = _ann.exact_search(unit, queries[i : i + 1], 10, exclude=[[i]])
        np.testing.assert_array_equal(one, rows[10 * i : 10 * i + 10])
    empty = _ann.exact_search_flat(unit, queries[:3], 5, allowed=np.zeros(3_000, dtype=bool))
    assert empty[0].tolist() == [0, 0, 0] and empty[1].size == 0


def test_hnsw_parameters_as_documented(big) -> None:
    _, approx = big
    hnsw = approx._searcher()._index.hnsw
    assert hnsw.efConstruction == _ann.HNSW_EF_CONSTRUCTION >= 2 * _ann.HNSW_M
    assert _ann.HNSW_EF_SEARCH >= 64


def test_negative_zero_ties_with_zero() -> None:
    """-0.0 and 0.0 are equal scores: the lower row wins, in one query or a block."""
    scores = np.full((2, 400), -1.0, dtype=np.float32)
    scores[0, :4] = [-0.0, 0.0, -0.0, 0.0]
    scores[1, :4] = [0.0, -0.0, 0.0, -0.0]
    lengths, cols, _ = _ann._top_block(scores, 3)
    assert lengths.tolist() == [3, 3] and cols.tolist() == [0, 1, 2, 0, 1, 2]
    _, cols, _ = _ann._top_block(scores[:1], 3)
    assert cols.tolist() == [0, 1, 2]


@pytest.mark.parametrize("n", [7, 300, 5_000])
def test_exact_index_with_its_transposed_copy_matches_brute_force(n) -> None:
    """``ExactIndex`` scores against a cached contiguous ``unit.T``: same answers, ties too.

    Integer rows again (exact products in any summation order), one query and several,
    with and without filters; the function form answers the same.
    """
    rng = np.random.default_rng(100 + n)
    unit = rng.integers(-1, 2, size=(n, 3)).astype(np.float32)
    unit[rng.integers(0, n, size=n // 5)] = 0.0
    index = _ann.ExactIndex(unit)
    for trial in range(12):
        queries = unit[rng.integers(0, n, size=1 if trial < 4 else int(rng.integers(2, 12)))]
        k = int(rng.integers(1, min(n, 40) + 3))
        allowed = None if trial % 2 else rng.random(n) < 0.6
        exclude = [rng.integers(0, n, size=int(rng.integers(0, 4))) for _ in queries]
        want = _brute_force(unit, queries, k, allowed, exclude)
        flat = index.search_flat(queries, k, allowed=allowed, exclude=exclude)
        assert [
            np.array_equal(a, b)
            for a, b in zip(
                flat,
                _ann.exact_search_flat(unit, queries, k, allowed=allowed, exclude=exclude),
                strict=True,
            )
        ] == [True] * 3
        got = index.search(queries, k, allowed=allowed, exclude=exclude)
        for (rows, scores), (want_rows, want_scores) in zip(got, want, strict=True):
            np.testing.assert_array_equal(rows, want_rows)
            np.testing.assert_array_equal(scores, want_scores)
    transposed = index._unit_t
    assert transposed is not None and transposed.flags.c_contiguous
    assert not transposed.flags.writeable
    np.testing.assert_array_equal(transposed, unit.T)
    index.search_flat(unit[:2], 3)
    assert index._unit_t is transposed  # built once


@pytest.mark.parametrize("n", [5, 60, 400, 5_000, 40_000])
def test_top_block_leaves_the_scores_alone(n) -> None:
    """The sampled threshold works on a copy (whatever the sample's shape); exact answers."""
    rng = np.random.default_rng(n)
    scores = rng.integers(-3, 4, size=(4, n)).astype(np.float32)  # many ties
    scores[1, ::3] = -np.inf
    before = scores.copy()
    for k in (1, 3, 10):
        lengths, cols, values = _ann._top_block(scores, k)
        np.testing.assert_array_equal(scores, before)
        start = 0
        for row in range(4):
            finite = np.flatnonzero(np.isfinite(scores[row]))
            want = finite[np.lexsort((finite, -scores[row, finite]))][:k]
            got = cols[start : start + lengths[row]]
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(values[start : start + lengths[row]], scores[row, want])
            start += lengths[row]


@pytest.mark.parametrize("n", [7, 300, 5_000])
def test_compiled_batch_search_matches_brute_force(n, monkeypatch) -> None:
    """Many queries go through the compiled kernel (:mod:`embedlab._ann_kernels`): same
    answers as brute force, ties to the lower row, filters and exclusions included, over
    several query blocks and row tiles (5,000 rows > ``ROW_TILE``)."""
    from embedlab import _ann_kernels

    rng = np.random.default_rng(200 + n)
    unit = rng.integers(-1, 2, size=(n, 3)).astype(np.float32)  # exact products, many ties
    unit[rng.integers(0, n, size=n // 5)] = 0.0
    m = _ann.COMPILED_MIN_QUERIES + _ann_kernels.QUERY_BLOCK + 5  # a partial last block
    calls = []
    real = _ann._search_compiled
    monkeypatch.setattr(_ann, "_search_compiled", lambda *a: calls.append(1) or real(*a))
    for trial in range(6):
        queries = unit[rng.integers(0, n, size=m)]
        k = int(rng.integers(1, min(n, 40) + 3))
        allowed = None if trial % 2 else rng.random(n) < 0.6
        exclude = (
            rng.integers(0, n, size=(m, 2))  # the 2-D form (a query's own row)
            if trial % 3 == 0
            else [rng.integers(0, n, size=int(rng.integers(0, 5))) for _ in range(m)]
        )
        got = _ann.exact_search(unit, queries, k, allowed=allowed, exclude=exclude)
        want = _brute_force(unit, queries, k, allowed, exclude)
        for (rows, scores), (want_rows, want_scores) in zip(got, want, strict=True):
            assert rows.dtype == np.int64 and scores.dtype == np.float64
            np.testing.assert_array_equal(rows, want_rows)
            np.testing.assert_array_equal(scores, want_scores)
    assert len(calls) == 6


def test_compiled_batch_search_agrees_with_the_numpy_path(monkeypatch) -> None:
    """Float vectors: the compiled kernel and the NumPy blocks find the same rows (the
    scores may differ in the last bit: another summation order)."""
    rng = np.random.default_rng(3)
    unit = rng.normal(size=(6_000, 32)).astype(np.float32)
    unit /= np.linalg.norm(unit, axis=1)[:, None]
    queries = unit[:200]
    exclude = np.arange(200)[:, None]
    compiled = _ann.exact_search_flat(unit, queries, 10, exclude=exclude)
    monkeypatch.setattr(_ann, "COMPILED_MIN_QUERIES", 10**9)
    numpy_path = _ann.exact_search_flat(unit, queries, 10, exclude=exclude)
    np.testing.assert_array_equal(compiled[0], numpy_path[0])
    np.testing.assert_array_equal(compiled[1], numpy_path[1])
    np.testing.assert_allclose(compiled[2], numpy_path[2], atol=1e-6)
    assert (compiled[1].reshape(200, 10) != np.arange(200)[:, None]).all()  # own row excluded
