"""On real ML-100K: Star Wars' neighbours are its sequels; explanations never name a dislike."""

from __future__ import annotations

import pytest

import embedlab as el

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def ml100k_model(ml100k_dir):
    ds = el.load_movielens(ml100k_dir)
    return ds, el.MatrixFactorization(random_state=0).fit(ds, progress=False)


def test_star_wars_neighbours_are_its_sequels(ml100k_model) -> None:
    _, model = ml100k_model
    found = model.item_embeddings().most_similar("Star Wars (1977)", topn=10)
    titles = found["label"].tolist()
    assert "Return of the Jedi (1983)" in titles, titles
    assert "Empire Strikes Back, The (1980)" in titles, titles


def test_recommendations_for_a_real_user(ml100k_model) -> None:
    ds, model = ml100k_model
    frame = ds.to_pandas()
    seen = set(frame.loc[frame["user"] == 196, "item"])
    recs = model.recommend(196, n=10, min_count=100, explain=True)
    assert len(recs) == 10 and not set(recs["item"]) & seen
    assert (model.item_counts_[model.items_.indices(recs["item"].to_numpy())] >= 100).all()
    assert recs["because"].map(len).between(0, 2).all() and recs["because"].map(len).sum() > 0


def test_a_visitor_who_disliked_star_wars_is_not_told_they_liked_it(ml100k_model) -> None:
    _, model = ml100k_model
    titles = model.item_metadata_["title"]
    star_wars = model.items_.ids()[(titles == "Star Wars (1977)").to_numpy()][0]
    recs = model.recommend_for_ratings({star_wars: 1}, n=10, explain=True)
    assert len(recs) == 10 and not any(recs["because"]), recs["because"].tolist()

    # five ratings: only the ones above the visitor's mean (3.2) are named, not all alike
    pick = {t: model.items_.ids()[(titles == t).to_numpy()][0] for t in (
        "Star Wars (1977)", "Fargo (1996)", "Toy Story (1995)", "Contact (1997)",
        "Liar Liar (1997)")}  # fmt: skip
    stars = dict(zip(pick.values(), (1, 5, 5, 2, 3), strict=True))
    recs = model.recommend_for_ratings(stars, n=10, explain=True)
    named = [name for b in recs["because"] for name in b]
    assert named and set(named) <= {"Fargo (1996)", "Toy Story (1995)"}, named
    assert len({tuple(b) for b in recs["because"]}) > 1
