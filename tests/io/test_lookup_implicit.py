"""The torch-free lookup (``load_lookup``, used by ``embedlab recommend``/``similar``) answers
as the estimator for a model of implicit feedback: the visitor's vector is the exact ALS
solve and explanations weigh the visitor's interactions, not ratings above a mean."""

from __future__ import annotations

import numpy as np
import pytest

import embedlab as el
from embedlab.io import load_lookup
from embedlab.recommend import explain_items, implicit_fold_in

N_CLUSTERS, PER_CLUSTER = 3, 10


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """Users each click 6 of the 10 items of one cluster (string IDs); 1-3 plays each."""
    rng = np.random.default_rng(0)
    users, items, plays = [], [], []
    for u in range(90):
        cluster = u % N_CLUSTERS
        for i in rng.choice(PER_CLUSTER, 6, replace=False):
            users.append(f"user-{u}")
            items.append(f"sku-{cluster}-{int(i):02d}")
            plays.append(int(rng.integers(1, 4)))
    import pandas as pd

    frame = pd.DataFrame({"user": users, "item": items, "plays": plays})
    data = el.load_interactions(frame, user="user", item="item", weight="plays")
    model = el.ImplicitMatrixFactorization(embedding_dim=8, epochs=5, random_state=0)
    model.fit(data, progress=False)
    path = tmp_path_factory.mktemp("implicit") / "bundle"
    model.save(path)
    return el.load(path), load_lookup(path)


def test_visitor_recommendations_match_the_estimator(bundle) -> None:
    full, look = bundle
    clicks = {"sku-1-03": 1.0, "sku-1-05": 2.0}
    want = full.recommend_for_ratings(clicks, 5, explain=True)
    got = look.recommend_for_ratings(clicks, 5, explain=True)
    assert got["item"].tolist() == want["item"].tolist()
    np.testing.assert_allclose(got["score"], want["score"], rtol=1e-5, atol=1e-6)
    assert got["because"].tolist() == want["because"].tolist()
    # equal weights still explain (the rating models' "above the mean" rule would not)
    assert all(set(b) <= set(clicks) and b for b in got["because"])
    assert {i.split("-")[1] for i in got["item"]} == {"1"}  # the clicked items' cluster
    vector, bias = look.fold_in(clicks)
    np.testing.assert_allclose(vector, full.fold_in(clicks).vector, rtol=1e-5, atol=1e-6)
    assert bias == 0.0


def test_training_user_explanations_match_the_estimator(bundle) -> None:
    full, look = bundle
    want = full.recommend("user-4", 4, explain=True)
    got = look.recommend("user-4", 4, explain=True)
    assert got["item"].tolist() == want["item"].tolist()
    assert got["because"].tolist() == want["because"].tolist()
    assert all(b for b in got["because"])


def test_implicit_fold_in_is_the_closed_form() -> None:
    """A tiny problem solved by hand: (YᵀY + Σ α w y yᵀ + λI) x = Σ (1 + α w) y."""
    from types import SimpleNamespace

    Y = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], dtype=np.float32)
    settings = SimpleNamespace(alpha=4.0, l2_user=0.5, engine="als")
    x = implicit_fold_in(Y, np.array([0, 2]), np.array([1.0, 0.0]), settings)
    # item 0 weight 1 (c = 5), item 2 weight 0 (no interaction)
    A = Y.T @ Y + 4.0 * np.outer(Y[0], Y[0]) + 0.5 * np.eye(2)
    b = 5.0 * Y[0]
    np.testing.assert_allclose(x, np.linalg.solve(A, b), rtol=1e-6)
    spark = implicit_fold_in(
        Y, np.array([0]), np.array([1.0]), SimpleNamespace(**{**vars(settings), "engine": "spark"})
    )
    np.testing.assert_allclose(spark, x, rtol=1e-6)  # one interaction: λ times 1


def test_explain_items_implicit_weights() -> None:
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    names = np.array(["a", "b", "c", "d"], dtype=object)
    # equal weights: both liked items can be reasons; the closer one first
    assert explain_items(vectors, [1, 3], [0, 2], [1.0, 1.0], names, implicit=True) == [
        ["a", "c"],
        ["c", "a"],
    ]
    # as ratings, equal values are at the mean: no reason
    assert explain_items(vectors, [1], [0, 2], [1.0, 1.0], names) == [[]]
    # a weight of 0 is no interaction
    assert explain_items(vectors, [1], [0, 2], [0.0, 1.0], names, implicit=True) == [["c"]]
