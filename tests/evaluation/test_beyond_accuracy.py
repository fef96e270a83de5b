"""Coverage, novelty, popularity, obscure share and personalization, by hand."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

import embedlab as el
from embedlab.evaluation import (
    catalog_coverage,
    novelty,
    obscure_share,
    personalization,
    recommended_popularity,
)
from embedlab.exceptions import DataError

# Lists: u1 {a, c, d}, u2 {a, b, c}, u3 {e, d, a}. Training counts: a 8, b 4, c 2, d 1, e 0.
RECS = np.array([["a", "c", "d"], ["a", "b", "c"], ["e", "d", "a"]], dtype=object)
COUNTS = pd.Series({"a": 8, "b": 4, "c": 2, "d": 1, "e": 0})


def test_catalog_coverage() -> None:
    assert catalog_coverage(RECS, 10) == pytest.approx(5 / 10)
    assert catalog_coverage(RECS, 10, k=1) == pytest.approx(2 / 10)  # a and e
    padded = np.array([[0, 1, -1], [1, -1, -1]])
    assert catalog_coverage(padded, 4) == pytest.approx(2 / 4)
    with pytest.raises(DataError, match=r"n_items=0: expected a positive integer"):
        catalog_coverage(RECS, 0)


def test_novelty_is_mean_self_information() -> None:
    n_users = 8
    entries = RECS.ravel().tolist()
    want = np.mean([-math.log2(max(COUNTS[i], 1) / n_users) for i in entries])
    assert novelty(RECS, COUNTS, n_users) == pytest.approx(want)
    # Dicts, index arrays and Interactions give the same answer.
    assert novelty(RECS, COUNTS.to_dict(), n_users) == pytest.approx(want)
    idx = {c: i for i, c in enumerate("abcde")}
    assert novelty(np.vectorize(idx.get)(RECS), COUNTS.to_numpy(), n_users) == pytest.approx(want)
    train = el.Interactions.from_ids(
        [f"v{j}" for j in range(8)] + ["v0", "v1", "v2", "v3"] + ["v0", "v1"] + ["v0"],
        ["a"] * 8 + ["b"] * 4 + ["c"] * 2 + ["d"],
        [4.0] * 15,
    )
    assert novelty(RECS, train, n_users) == pytest.approx(want)  # e unseen: counts as once
    with pytest.raises(DataError, match="n_users=0"):
        novelty(RECS, COUNTS, 0)
    with pytest.raises(DataError, match="pass a Series or dict keyed by item ID"):
        novelty(RECS, COUNTS.to_numpy(), n_users)


def test_recommended_popularity_and_obscure_share() -> None:
    counts = [COUNTS[i] for i in RECS.ravel()]  # 8 2 1 8 4 2 0 1 8
    got = recommended_popularity(RECS, COUNTS)
    assert got == pytest.approx({"mean": np.mean(counts), "median": 2.0})
    assert obscure_share(RECS, COUNTS, min_count=2) == pytest.approx(3 / 9)  # d, e, d
    assert obscure_share(RECS, COUNTS, min_count=5) == pytest.approx(6 / 9)
    assert obscure_share(RECS, COUNTS, min_count=0) == 0.0
    with pytest.raises(DataError, match="min_count=-1"):
        obscure_share(RECS, COUNTS, min_count=-1)


def test_personalization_by_hand() -> None:
    # Overlaps: u1-u2 {a, c} = 2, u1-u3 {a, d} = 2, u2-u3 {a} = 1; lists of 3.
    assert personalization(RECS) == pytest.approx(1 - (2 / 3 + 2 / 3 + 1 / 3) / 3)
    assert personalization(RECS, metric="jaccard") == pytest.approx(1 - (2 / 4 + 2 / 4 + 1 / 5) / 3)
    same = np.array([[1, 2, 3]] * 4)
    assert personalization(same) == pytest.approx(0.0, abs=1e-12)
    disjoint = np.arange(12).reshape(4, 3)
    assert personalization(disjoint) == pytest.approx(1.0)
    assert personalization(disjoint, metric="jaccard") == pytest.approx(1.0)
    with pytest.raises(DataError, match="needs at least 2"):
        personalization(np.array([[1, 2], [-1, -1]]))
    with pytest.raises(DataError, match="metric='dice'"):
        personalization(RECS, metric="dice")  # type: ignore[arg-type]


def brute_force(lists: list[set[int]], metric: str) -> float:
    sims = []
    for a, b in combinations(lists, 2):
        inter = len(a & b)
        sims.append(
            inter / math.sqrt(len(a) * len(b)) if metric == "cosine" else inter / len(a | b)
        )
    return 1 - float(np.mean(sims))


@pytest.mark.parametrize("metric", ["cosine", "jaccard"])
def test_personalization_matches_brute_force_with_uneven_lists(metric: str) -> None:
    rng = np.random.default_rng(0)
    n_users, n_items, width = 60, 25, 8
    # Popular items shared a lot; uneven list lengths through padding.
    p = 1 / np.arange(1, n_items + 1)
    recs = np.stack(
        [rng.choice(n_items, width, replace=False, p=p / p.sum()) for _ in range(n_users)]
    )
    lengths = rng.integers(1, width + 1, n_users)
    recs[np.arange(width)[None, :] >= lengths[:, None]] = -1
    lists = [set(row[row >= 0].tolist()) for row in recs]
    assert personalization(recs, metric=metric) == pytest.approx(
        brute_force(lists, metric), rel=1e-10
    )


def test_personalization_jaccard_samples_many_users_with_a_seed() -> None:
    rng = np.random.default_rng(1)
    recs = np.stack([rng.choice(200, 10, replace=False) for _ in range(3000)])
    a = personalization(recs, metric="jaccard", max_users=500, random_state=0)
    assert a == personalization(recs, metric="jaccard", max_users=500, random_state=0)
    assert a != personalization(recs, metric="jaccard", max_users=500, random_state=1)
    full = personalization(recs, metric="jaccard", max_users=3000)
    assert a == pytest.approx(full, abs=0.01)
    # Cosine is exact on every user at any size (lists of one length: overlap share).
    assert 0.9 < personalization(recs) < 1.0


def test_personalization_seed_is_the_deprecated_name_of_random_state() -> None:
    rng = np.random.default_rng(2)
    recs = np.stack([rng.choice(50, 5, replace=False) for _ in range(40)])
    kwargs = {"metric": "jaccard", "max_users": 10}
    with pytest.warns(
        FutureWarning,
        match=r"^personalization: seed= is deprecated and will be removed in the next "
        "release; use random_state=$",
    ):
        old = personalization(recs, seed=4, **kwargs)
    assert old == personalization(recs, random_state=4, **kwargs)
    with pytest.raises(ValueError, match=r"both random_state= and seed="):
        personalization(recs, seed=4, random_state=4, **kwargs)
