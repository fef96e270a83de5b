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
