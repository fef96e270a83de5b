"""On real ML-100K: the default model's neighbours of Star Wars are its sequels."""

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
    assert recs["because"].map(len).between(1, 3).all()
