"""Properties of most_similar: sorted, within [-1, 1], query excluded, scale invariant."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from embedlab import KeyedEmbeddings


@st.composite
def embeddings(draw) -> tuple[np.ndarray, int, int, float]:
    n = draw(st.integers(2, 25))
    dim = draw(st.integers(1, 6))
    vectors = draw(arrays(np.float64, (n, dim), elements=st.integers(-5, 5).map(float)))
    query = draw(st.integers(0, n - 1))
    topn = draw(st.integers(1, n + 2))
    scale = draw(st.sampled_from([1e-3, 0.5, 3.0, 1e3]))
    return vectors, query, topn, scale


@settings(max_examples=60, deadline=None)
@given(embeddings())
def test_most_similar_properties(case) -> None:
    vectors, query, topn, scale = case
    keys = [f"k{i}" for i in range(len(vectors))]
    kv = KeyedEmbeddings(vectors, keys)
    got = kv.most_similar(keys[query], topn=topn)
    sims = got["similarity"].to_numpy()
    assert len(got) == min(topn, len(keys) - 1)
    assert keys[query] not in set(got["key"])
    assert np.all(np.diff(sims) <= 0)
    assert np.all((sims >= -1.0) & (sims <= 1.0))
    scaled = KeyedEmbeddings(vectors * scale, keys).most_similar(keys[query], topn=topn)
    np.testing.assert_allclose(scaled["similarity"], sims, atol=1e-5)
    batch = kv.most_similar_batch([keys[query]], topn=topn)
    assert batch["key"].tolist() == got["key"].tolist()
