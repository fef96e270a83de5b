"""Explanations ("because you liked ...") on planted data whose answer is known.

A reason is a rated item that raises the recommendation's score: cosine of the item
embeddings times how far above the user's mean rating it was rated. An item rated at
or below that mean is never named, and nothing contributes when there is no such item.
"""

from __future__ import annotations

import numpy as np
import pytest

import embedlab as el
from embedlab.recommend import explain_items


@pytest.fixture(scope="module")
def planted():
    return el.synthetic_ratings(600, 200, 40_000, popularity_exponent=0.5, random_state=1)


@pytest.fixture(scope="module")
def mf(planted):
    ds, _ = planted
    return el.MatrixFactorization(embedding_dim=16, random_state=0).fit(ds, progress=False)


def _titles(ds) -> dict:
    return dict(zip(ds.item_metadata["id"], ds.item_metadata["title"], strict=True))


# ------------------------------------------------------------------ the array function
def test_hand_computed_contributions() -> None:
    names = np.array(["a", "b", "c", "d", "e"], dtype=object)
    # a and b point one way, c the other; d is near a, e near c
    vectors = np.array([[1.0, 0.0], [1.0, 0.2], [-1.0, 0.0], [1.0, 0.1], [-1.0, 0.1]])
    rated = np.array([0, 1, 2])
    # a 1-star only rating (at its own mean) is never a reason, nor is a 5-star only one
    assert explain_items(vectors, np.array([3, 4]), rated[:1], np.array([1.0]), names) == [[], []]
    assert explain_items(vectors, np.array([3, 4]), rated[:1], np.array([5.0]), names) == [[], []]
    # mean 4: a and c (+1) are above it, b (2 stars) is not
    got = explain_items(vectors, np.array([3, 4]), rated, np.array([5.0, 2.0, 5.0]), names)
    assert got == [["a"], ["c"]]  # each names its own side; the opposite side pulls down
    # only dislikes pointing at the item: nothing contributes positively
    got = explain_items(vectors, np.array([4]), rated, np.array([5.0, 5.0, 1.0]), names)
    assert got == [[]]
    # the weight counts, not only the cosine: b is a bit closer to d, a was liked much more
    got = explain_items(vectors, np.array([3]), rated, np.array([5.0, 3.5, 1.0]), names)
    assert got == [["a", "b"]]
    assert explain_items(vectors, np.array([3]), rated, np.array([5.0, 3.5, 1.0]), names,
                         max_reasons=1) == [["a"]]  # fmt: skip
    assert explain_items(vectors, np.array([], dtype=int), rated, np.ones(3), names) == []


# ------------------------------------------------------------------ visitors
def test_visitor_with_one_low_rating_gets_no_reason(planted, mf) -> None:
    ds, _ = planted
    item = ds.items.id(0)
    recs = mf.recommend_for_ratings({item: 1.0}, n=10, explain=True)
    assert len(recs) == 10
    assert recs["because"].map(len).eq(0).all(), recs["because"].tolist()


def test_visitor_reasons_are_rated_above_the_mean_and_differ(planted, mf) -> None:
    ds, truth = planted
    genre = dict(zip(ds.items.ids().tolist(), truth.item_genre.tolist(), strict=True))
    ids = ds.items.ids()
    by_genre = {g: [i for i in ids if genre[i] == g] for g in range(4)}
    ratings = {
        **dict.fromkeys(by_genre[0][:2], 5.0),
        **dict.fromkeys(by_genre[1][:2], 5.0),
        **dict.fromkeys(by_genre[2][:3], 1.0),
        **dict.fromkeys(by_genre[3][:3], 2.0),
    }
    mean = np.mean(list(ratings.values()))
    titles = _titles(ds)
    above = {titles[i] for i, r in ratings.items() if r > mean}
    recs = mf.recommend_for_ratings(ratings, n=20, explain=True)
    reasons = recs["because"].tolist()
    assert all(len(b) <= 2 for b in reasons)
    named = [name for b in reasons for name in b]
    assert named and set(named) <= above, set(named) - above
    # recommendations from the two liked genres name their own genre's films
    assert len({tuple(b) for b in reasons if b}) > 1
    assert len(set(named)) >= 2
    for item, because in zip(recs["item"], reasons, strict=True):
        if because and genre[item] in (0, 1):
            first = next(i for i in ratings if titles[i] == because[0])
            assert genre[first] == genre[item]


# ------------------------------------------------------------------ training users
def test_training_user_reasons_are_their_items_above_their_mean(planted, mf) -> None:
    ds, _ = planted
    frame = ds.to_pandas()
    titles = _titles(ds)
    distinct = set()
    for user in (3, 40, 77, 250):
        mine = frame[frame["user"] == user]
        above = {titles[i] for i in mine.loc[mine["rating"] > mine["rating"].mean(), "item"]}
        recs = mf.recommend(user, n=10, explain=True)
        reasons = recs["because"].tolist()
        assert all(set(b) <= above and len(b) <= 2 for b in reasons), (user, reasons)
        assert any(reasons)
        distinct |= {tuple(b) for b in reasons}
    assert len(distinct) > 4
