"""The top-N protocol for implicit data, with numbers computed by hand.

Four users, six items (a..f); each user's latest interactions are held out
(``"user-temporal"``, ``test_size=0.3``: 3 or 4 interactions -> 1 held out, 5 -> 2)::

    user  train      test
    u1    a b        c
    u2    a c        e
    u3    a b c      e
    u4    b d e      a f

Training popularity: a 3, b 3, c 2, d 1, e 1, f 0. The most-popular recommender
below ranks a, b, c, d, e, f (ties by ID) and skips each user's training items, so
its top-3 lists are u1 [c d e], u2 [b d e], u3 [d e f], u4 [a c f].
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import embedlab as el
from embedlab.data import Interactions, load_interactions
from embedlab.evaluation import (
    IMPLICIT_METRICS,
    catalog_coverage,
    compare,
    cross_validate,
    make_folds,
    popularity_percentile,
    ranking_metrics,
    recommended_popularity,
)

TRAIN = {"u1": "ab", "u2": "ac", "u3": "abc", "u4": "bde"}
TEST = {"u1": "c", "u2": "e", "u3": "e", "u4": "af"}
L3 = 1.0 / math.log2(3.0)  # the discount of rank 2


def _log() -> pd.DataFrame:
    rows = []
    for user in TRAIN:
        items = TRAIN[user] + TEST[user]  # training items first, so the test ones are latest
        rows += [(user, item, t) for t, item in enumerate(items)]
    return pd.DataFrame(rows, columns=["user", "item", "timestamp"])


@pytest.fixture(scope="module")
def clicks() -> Interactions:
    return load_interactions(_log())


class MostPopular:
    """A test double with the protocol's interface: fit(train), recommend_batch(users, n)."""

    exclude_seen = True

    def fit(self, train: Interactions, **kwargs: object) -> MostPopular:
        counts = train.item_counts()
        ids = train.items.ids()
        self.ranking_ = [
            ids[j] for j in sorted(range(len(ids)), key=lambda j: (-counts[j], ids[j]))
        ]
        frame = train.to_pandas()
        self.seen_ = frame.groupby("user")["item"].agg(set).to_dict()
        return self

    def recommend_batch(self, users, n: int = 10) -> pd.DataFrame:
        rows = []
        for user in users:
            seen = self.seen_.get(user, set()) if self.exclude_seen else set()
            items = [i for i in self.ranking_ if i not in seen][:n]
            rows += [(user, rank, item) for rank, item in enumerate(items, start=1)]
        return pd.DataFrame(rows, columns=["user", "rank", "item"])


class Unfiltered(MostPopular):
    """The same ranking, training items left in: the protocol must take them out."""

    exclude_seen = False


def test_the_temporal_fold_is_the_table_above(clicks: Interactions) -> None:
    (fold,) = make_folds(clicks, "user-temporal", test_size=0.3)
    train, test = fold.split
    assert fold.seed is None and train.feedback == test.feedback == "implicit"
    got = test.to_pandas().groupby("user")["item"].agg(lambda s: "".join(sorted(s))).to_dict()
    assert got == TEST
    assert train.item_counts().tolist() == [3, 3, 2, 1, 1, 0]  # a..f


def test_hand_computed_metrics_at_2_and_3(clicks: Interactions) -> None:
    frame = cross_validate(
        MostPopular,
        clicks,
        "user-temporal",
        test_size=0.3,
        metrics=("recall@2", "ndcg@2", "map@2", "coverage@2", "popularity@2", "arp@2",
                 "recall@3", "ndcg@3", "map@3", "coverage@3"),
    )  # fmt: skip
    row = frame.iloc[0]
    # k=2: u1 [c d] hit@1; u2 [b d] none; u3 [d e] hit@2; u4 [a c] hit@1 of {a, f}.
    assert row["recall@2"] == pytest.approx((1 + 0 + 1 + 0.5) / 4)
    assert row["ndcg@2"] == pytest.approx((1 + 0 + L3 + 1 / (1 + L3)) / 4)
    assert row["map@2"] == pytest.approx((1 + 0 + 0.5 + 0.5) / 4)
    assert row["coverage@2"] == pytest.approx(5 / 6)  # a b c d e of a..f
    # Percentiles (share of items at most as popular): a, b 6/6; c 4/6; d, e 3/6.
    # Entries c d | b d | d e | a c.
    assert row["popularity@2"] == pytest.approx((4 + 3 + 6 + 3 + 3 + 3 + 6 + 4) / 6 / 8)
    assert row["arp@2"] == pytest.approx((2 + 1 + 3 + 1 + 1 + 1 + 3 + 2) / 8)
    # k=3: u1 [c d e] hit@1; u2 [b d e] hit@3; u3 [d e f] hit@2; u4 [a c f] hits @1, @3.
    assert row["recall@3"] == pytest.approx(1.0)
    assert row["ndcg@3"] == pytest.approx((1 + 0.5 + L3 + 1.5 / (1 + L3)) / 4)
    assert row["map@3"] == pytest.approx((1 + 1 / 3 + 1 / 2 + (1 + 2 / 3) / 2) / 4)
    assert row["coverage@3"] == pytest.approx(1.0)
    assert row["n_train"] == 10 and row["n_test"] == 5


def test_training_items_never_count(clicks: Interactions) -> None:
    """A model that recommends training items loses those places: lists after removal
    are u1 [], u2 [b], u3 [], u4 [a] at k=2."""
    row = cross_validate(
        Unfiltered,
        clicks,
        "user-temporal",
        test_size=0.3,
        metrics=("recall@2", "coverage@2", "arp@2"),
    ).iloc[0]
    assert row["recall@2"] == pytest.approx(0.5 / 4)
    assert row["coverage@2"] == pytest.approx(2 / 6)
    assert row["arp@2"] == pytest.approx(3.0)


def test_default_metrics_for_implicit_data(clicks: Interactions) -> None:
    frame = cross_validate(MostPopular, clicks, "user-temporal", test_size=0.3)
    assert list(frame.columns) == [
        "fold", "seed", "split", *IMPLICIT_METRICS, "fit_seconds", "n_train", "n_test"
    ]  # fmt: skip
    # At k=10 every list holds all unseen items: every held-out item is found.
    assert frame["recall@10"].iloc[0] == pytest.approx(1.0)
    assert frame.attrs["protocol"] == {
        "protocol": "user-temporal",
        "n_folds": 1,
        "test_size": 0.3,
        "feedback": "implicit",
    }


def test_metric_functions_agree_with_the_protocol(clicks: Interactions) -> None:
    (fold,) = make_folds(clicks, "user-temporal", test_size=0.3)
    train, test = fold.split
    recs = MostPopular().fit(train).recommend_batch(list(TEST), n=2)
    # Implicit weights are 1: threshold 1 makes every held-out interaction relevant.
    got = ranking_metrics(recs, test, k=2, threshold=1.0)
    assert got["recall@2"] == pytest.approx(0.625) and got["n_users"] == 4
    assert catalog_coverage(recs, train.n_items) == pytest.approx(5 / 6)
    assert popularity_percentile(recs, train) == pytest.approx(2 / 3)
    assert recommended_popularity(recs, train)["mean"] == pytest.approx(1.75)


def test_popularity_percentile_inputs() -> None:
    recs = np.array([[0, 1], [2, -1]])  # item indices, one padded slot
    counts = np.array([5.0, 3.0, 3.0, 0.0])
    # Item 0: 4/4; items 1 and 2: 3/4 (1, 2, 3).
    assert popularity_percentile(recs, counts) == pytest.approx((1 + 0.75 + 0.75) / 3)
    assert popularity_percentile(recs, counts, k=1) == pytest.approx((1 + 0.75) / 2)
    series = pd.Series([5, 3, 3, 0], index=["a", "b", "c", "d"])
    assert popularity_percentile(
        pd.DataFrame({"user": [1, 1], "item": ["a", "d"]}), series
    ) == pytest.approx((1 + 0.25) / 2)
    with pytest.raises(el.DataError, match="item_counts is empty"):
        popularity_percentile(recs, np.array([]))
    with pytest.raises(el.DataError, match="non-negative"):
        popularity_percentile(recs, np.array([1.0, -1.0]))


def test_user_protocol_uses_the_data_layers_split(clicks: Interactions) -> None:
    folds = make_folds(clicks, "repeated-user", test_size=0.3, seeds=(0, 1))
    assert [(f.fold, f.seed) for f in folds] == [(1, 0), (1, 1)]
    for f in folds:
        ref = clicks.split("user", test_size=0.3, by="random", random_state=f.seed)
        np.testing.assert_array_equal(f.split.test.item_index, ref.test.item_index)
        np.testing.assert_array_equal(f.split.test.user_index, ref.test.user_index)
    (one,) = make_folds(clicks, "user", test_size=0.3, seeds=(1, 2))
    assert one.seed == 1


def test_compare_runs_every_model_on_the_same_folds(clicks: Interactions) -> None:
    frame = compare(
        {"pop": MostPopular, "raw": Unfiltered},
        clicks,
        "user-temporal",
        test_size=0.3,
        metrics=("recall@2",),
    )
    assert frame["model"].tolist() == ["pop", "raw"]
    assert frame["recall@2"].tolist() == pytest.approx([0.625, 0.125])


def test_positives_from_ratings(clicks: Interactions) -> None:
    """Rating data turned into positives evaluates like implicit data."""
    rated = Interactions.from_ids(
        ["u1", "u1", "u1", "u2", "u2", "u2"],
        ["a", "b", "c", "a", "b", "c"],
        [5, 4, 5, 5, 2, 4],
        [1, 2, 3, 1, 2, 3],
    )
    pos = rated.to_implicit(threshold=4)  # u1: a b c; u2: a c
    row = cross_validate(
        MostPopular, pos, "user-temporal", test_size=0.34, metrics=("recall@1",)
    ).iloc[0]
    # u1 holds out c (latest); u2 holds out c. Training popularity a 2, b 1: u1 (seen a b)
    # gets [c]: a hit; u2 (seen a) gets [b]: a miss.
    assert row["recall@1"] == pytest.approx(0.5)


def test_a_double_without_evaluate_needs_it_only_for_rating_metrics(clicks) -> None:
    with pytest.raises(TypeError, match="has no evaluate"):
        cross_validate(MostPopular, clicks, "user-temporal", test_size=0.3, metrics=("rmse",))
    with pytest.raises(ValueError, match="coverage"):
        cross_validate(MostPopular, clicks, "user-temporal", test_size=0.3, metrics=("cover@2",))


# ---------------------------------------------------------------------- explicit path
@pytest.fixture(scope="module")
def ratings() -> Interactions:
    ds, _ = el.synthetic_ratings(60, 40, 1_200, noise_std=0.5, random_state=1)
    return ds


def quick_mf() -> el.MatrixFactorization:
    return el.MatrixFactorization(embedding_dim=4, epochs=2, random_state=0, n_threads=1)


def test_matrix_factorization_explicit_path_unchanged(ratings: Interactions) -> None:
    frame = cross_validate(quick_mf, ratings, "holdout", seeds=0, fit_kwargs={"progress": False})
    assert list(frame.columns) == [
        "fold", "seed", "split", "rmse", "mae", "fit_seconds", "n_train", "n_test"
    ]  # fmt: skip
    assert frame.attrs["protocol"] == {
        "protocol": "holdout", "n_folds": 1, "test_size": 0.1, "seeds": [0]
    }  # fmt: skip
    assert 0.0 < frame["rmse"].iloc[0] < 3.0
    # The per-user protocol on ratings: RMSE and ranking metrics at threshold 4.
    user = cross_validate(
        quick_mf,
        ratings,
        "user",
        test_size=0.2,
        seeds=0,
        metrics=("rmse", "ndcg@5", "coverage@5"),
        fit_kwargs={"progress": False},
    ).iloc[0]
    assert 0.0 <= user["ndcg@5"] <= 1.0 and 0.0 < user["coverage@5"] <= 1.0
