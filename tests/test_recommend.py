"""Recommendation: known answers on synthetic data with planted genres.

The planted genres must come back as embedding neighbours; ``recommend`` must leave
out seen items, obey its filters and agree with ``recommend_batch``; new visitors are
folded in; explanations name rated items above the user's mean; and ``import embedlab`` stays torch-free.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import embedlab as el
from embedlab.exceptions import DataError, UnknownIDError
from embedlab.recommend import SeenItems, allowed_items, explain_items, mask_items, top_n

COLUMNS = ["rank", "item", "label", "score"]


@pytest.fixture(scope="module")
def planted():
    return el.synthetic_ratings(1000, 300, 80_000, popularity_exponent=0.5, random_state=0)


@pytest.fixture(scope="module")
def mf(planted):
    ds, _ = planted
    return el.MatrixFactorization(embedding_dim=32, random_state=0).fit(ds, progress=False)


def _genre_of(planted) -> dict:
    ds, truth = planted
    return dict(zip(ds.items.ids().tolist(), truth.item_genre.tolist(), strict=True))


def _seen(ds, user) -> set:
    frame = ds.to_pandas()
    return set(frame.loc[frame["user"] == user, "item"].tolist())


# ------------------------------------------------------------------ planted answer
def test_planted_genres_come_back_as_neighbours(planted, mf) -> None:
    genre = _genre_of(planted)
    kv = mf.item_embeddings()
    found = kv.most_similar_batch(kv.keys.ids(), topn=10)
    same = np.mean(
        [genre[q] == genre[k] for q, k in zip(found["query"], found["key"], strict=True)]
    )
    assert same >= 0.9

    shuffled = el.KeyedEmbeddings(np.random.default_rng(0).permutation(kv.vectors), kv.keys)
    found = shuffled.most_similar_batch(kv.keys.ids(), topn=10)
    chance = np.mean(
        [genre[q] == genre[k] for q, k in zip(found["query"], found["key"], strict=True)]
    )
    assert 0.05 < chance < 0.25  # 8 genres: about 1/8


# ------------------------------------------------------------------ recommend
def test_recommend_ranks_unseen_items_by_predicted_rating(planted, mf) -> None:
    ds, _ = planted
    for user in (1, 17, 500):
        recs = mf.recommend(user, n=10)
        assert list(recs.columns) == COLUMNS
        assert recs["rank"].tolist() == list(range(1, 11))
        assert not set(recs["item"]) & _seen(ds, user)
        assert recs["score"].is_monotonic_decreasing
        expected = mf.predict([user] * 10, recs["item"].to_numpy())
        np.testing.assert_allclose(recs["score"], expected, rtol=1e-5)
        assert recs["label"].str.startswith("Synthetic Movie").all()
        # the best unseen item by predict() over the whole catalogue comes first
        items = ds.items.ids()
        scores = mf.predict([user] * len(items), items)
        unseen = ~np.isin(items, list(_seen(ds, user)))
        assert recs["item"].iloc[0] == items[unseen][np.argmax(scores[unseen])]


def test_exclude_seen_false_may_return_seen_items(planted, mf) -> None:
    ds, _ = planted
    user = 1
    recs = mf.recommend(user, n=len(ds.items.ids()), exclude_seen=False)
    assert len(recs) == len(ds.items.ids())
    assert _seen(ds, user) <= set(recs["item"])


def test_filters(planted, mf) -> None:
    ds, _ = planted
    user = 3
    seen = _seen(ds, user)
    pool = list(range(1, 41))
    recs = mf.recommend(user, n=100, candidates=pool)
    assert set(recs["item"]) == set(pool) - seen

    counts = dict(zip(mf.items_.ids().tolist(), mf.item_counts_.tolist(), strict=True))
    recs = mf.recommend(user, n=300, min_count=300)
    assert len(recs) > 0 and all(counts[i] >= 300 for i in recs["item"])
    assert len(recs) == sum(1 for i, c in counts.items() if c >= 300 and i not in seen)

    genres = dict(zip(ds.item_metadata["id"], ds.item_metadata["genres"], strict=True))
    recs = mf.recommend(user, n=300, genres=["horror", "Sci-Fi"])
    assert len(recs) > 0 and all({"Horror", "Sci-Fi"} & set(genres[i]) for i in recs["item"])
    assert (
        mf.recommend(user, n=5, genres="Comedy")["item"].map(lambda i: "Comedy" in genres[i]).all()
    )


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"candidates": [1, 2], "min_count": 5}, ValueError, "not both"),
        ({"candidates": [1], "genres": ["Drama"]}, ValueError, "not both"),
        ({"genres": ["Polka"]}, ValueError, "'Polka' not found; known genres: "),
        ({"min_count": -1}, ValueError, "min_count=-1"),
        ({"candidates": [1, 99999]}, UnknownIDError, "99999"),
        ({"n": 0}, ValueError, "n=0"),
    ],
)
def test_bad_options_raise(mf, options, error, message) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(")):
        mf.recommend(1, **options)


def test_unknown_user_points_to_recommend_for_ratings(mf) -> None:
    with pytest.raises(UnknownIDError, match="recommend_for_ratings"):
        mf.recommend(424242)


def test_batch_equals_single(planted, mf) -> None:
    users = [5, 1, 999, 42, 7, 300, 301, 2, 88]
    options = {"n": 7, "min_count": 50}
    batch = mf.recommend_batch(users, chunk_size=4, **options)
    assert list(batch.columns) == ["user", *COLUMNS]
    single = pd.concat(
        [mf.recommend(u, **options).assign(user=u) for u in users], ignore_index=True
    )[["user", *COLUMNS]]
    pd.testing.assert_frame_equal(batch, single, check_exact=False, rtol=1e-5)

    everyone = mf.recommend_batch(n=3, chunk_size=256)
    unseen = len(mf.items_) - np.diff(mf.seen_.indptr)  # a few users have seen almost everything
    assert len(everyone) == np.minimum(3, unseen).sum()
    with_unseen = mf.users_.ids()[unseen > 0]
    assert everyone["user"].drop_duplicates().tolist() == with_unseen.tolist()


def test_user_who_rated_every_item_gets_an_empty_frame() -> None:
    items = [f"m{k}" for k in range(6)]
    users = ["all"] * 6 + ["a", "a", "b", "b", "c"]
    rated = [*items, "m0", "m1", "m2", "m3", "m4"]
    ratings = [5, 4, 3, 2, 1, 5, 4, 4, 1, 2, 3]
    ds = el.Interactions.from_ids(users, rated, ratings)
    model = el.MatrixFactorization(embedding_dim=2, epochs=2, random_state=0)
    model.fit(ds, progress=False)
    for explain in (False, True):
        recs = model.recommend("all", explain=explain)
        assert recs.empty
        assert list(recs.columns) == COLUMNS + (["because"] if explain else [])
    assert set(model.recommend("c", n=10)["item"]) == {"m0", "m1", "m2", "m3", "m5"}
    batch = model.recommend_batch(["all", "c"])
    assert set(batch["user"]) == {"c"} and len(batch) == 5


# ------------------------------------------------------------------ new visitors, explanations
def test_recommend_for_ratings_follows_the_visitors_taste(planted, mf) -> None:
    ds, truth = planted
    genre = _genre_of(planted)
    ids = ds.items.ids()
    # likes genre 2, dislikes the genre whose planted centre points most away from it
    away = int(np.argmin(truth.genre_centres @ truth.genre_centres[2]))
    liked = [i for i in ids if genre[i] == 2][:12]
    disliked = [i for i in ids if genre[i] == away][:12]
    ratings = {**dict.fromkeys(liked, 5.0), **dict.fromkeys(disliked, 1.0)}
    recs = mf.recommend_for_ratings(ratings, n=10)
    assert list(recs.columns) == COLUMNS and len(recs) == 10
    assert not set(recs["item"]) & set(ratings)
    assert sum(genre[i] == away for i in recs["item"]) == 0
    assert sum(genre[i] == 2 for i in recs["item"]) >= 6
    same_as_pairs = mf.recommend_for_ratings(list(ratings.items()), n=10)
    pd.testing.assert_frame_equal(recs, same_as_pairs)
    with pytest.raises(UnknownIDError):
        mf.recommend_for_ratings({"no such movie": 5})
    with pytest.raises(ValueError, match="at least one"):
        mf.recommend_for_ratings({})


def test_explanations_are_the_rated_items_contributing_most(planted, mf) -> None:
    ds, _ = planted
    user = 11
    recs = mf.recommend(user, n=5, explain=True)
    assert list(recs.columns) == [*COLUMNS, "because"]
    frame = ds.to_pandas()
    mine = frame[frame["user"] == user]
    weight = (mine["rating"] - mine["rating"].mean()).to_numpy()
    items = mine["item"].to_numpy()
    vectors = mf.item_embeddings()
    titles = dict(zip(ds.item_metadata["id"], ds.item_metadata["title"], strict=True))
    for item, because in zip(recs["item"], recs["because"], strict=True):
        assert 1 <= len(because) <= 2
        contrib = np.array([vectors.similarity(item, o) for o in items]) * weight
        contrib[weight <= 0] = -np.inf
        best = items[np.argsort(-contrib, kind="stable")[: len(because)]]
        assert because == [titles[i] for i in best]


# ------------------------------------------------------------------ persistence, other models
def test_seen_items_survive_save_and_load(planted, mf, tmp_path) -> None:
    path = mf.save(tmp_path / "mf")
    loaded = el.load(path)
    np.testing.assert_array_equal(loaded.seen_.indptr, mf.seen_.indptr)
    np.testing.assert_array_equal(loaded.seen_.indices, mf.seen_.indices)
    pd.testing.assert_frame_equal(loaded.recommend(9, explain=True), mf.recommend(9, explain=True))


def test_bundle_without_seen_items_says_what_to_do(planted, tmp_path) -> None:
    ds, _ = planted
    model = el.MatrixFactorization(embedding_dim=4, epochs=1, random_state=0)
    model.fit(ds, progress=False)
    model.seen_ = None  # as a model saved before recommendations existed
    loaded = el.load(model.save(tmp_path / "old"))
    assert loaded.seen_ is None
    with pytest.raises(DataError, match="exclude_seen=False"):
        loaded.recommend(1)
    assert len(loaded.recommend(1, n=3, exclude_seen=False)) == 3


def test_neural_model_scores_in_blocks(planted, monkeypatch) -> None:
    from embedlab.models import _recommending

    ds, _ = planted
    small = ds.subset(np.arange(5000))
    model = el.NeuralEmbeddingModel(hidden=(8,), epochs=1, random_state=0, device="cpu")
    model.fit(small, progress=False)
    monkeypatch.setattr(_recommending, "_PAIR_BUDGET", 700)  # several module calls per chunk
    users = small.users.ids()[:5]
    batch = model.recommend_batch(users, n=4, chunk_size=5)
    for user in users:
        recs = batch[batch["user"] == user]
        expected = model.predict([user] * len(recs), recs["item"].to_numpy())
        np.testing.assert_allclose(recs["score"], expected, rtol=1e-5)
        assert recs["item"].tolist() == model.recommend(user, n=4)["item"].tolist()


# ------------------------------------------------------------------ the array functions
def test_top_n_hand_computed() -> None:
    scores = np.array(
        [
            [0.1, 0.9, 0.5, 0.9, -np.inf],
            [-np.inf, -np.inf, 2.0, -np.inf, -np.inf],
            [3.0, 3.0, 3.0, 3.0, 3.0],
        ]
    )
    rows, items, vals, ranks = top_n(scores, 3)
    assert rows.tolist() == [0, 0, 0, 1, 2, 2, 2]
    assert items.tolist() == [1, 3, 2, 2, 0, 1, 2]  # ties: lower item index first
    assert vals.tolist() == [0.9, 0.9, 0.5, 2.0, 3.0, 3.0, 3.0]
    assert ranks.tolist() == [1, 2, 3, 1, 1, 2, 3]
    assert top_n(scores, 10)[1].tolist() == [1, 3, 2, 0, 2, 0, 1, 2, 3, 4]


def test_seen_csr_masks_each_users_items() -> None:
    seen = SeenItems.from_pairs(
        np.array([2, 0, 2, 0]), np.array([1, 3, 0, 0]), np.array([5, 4, 3, 2]), 3, 4
    )
    assert seen.indptr.tolist() == [0, 2, 2, 4]
    assert seen.row(0)[0].tolist() == [0, 3] and seen.row(0)[1].tolist() == [2.0, 4.0]
    scores = mask_items(np.zeros((2, 4)), seen=seen, users=np.array([2, 1]))
    assert np.isinf(scores).tolist() == [[True, True, False, False], [False] * 4]
    allowed = allowed_items(4, item_counts=np.array([5, 1, 9, 0]), min_count=2)
    assert allowed.tolist() == [True, False, True, False]
    names = np.array(["a", "b", "c"], dtype=object)
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1]])
    assert explain_items(vectors, np.array([2]), np.array([0, 1]), np.array([5, 1]), names) == [
        ["a"]
    ]


# ------------------------------------------------------------------ import cost
def test_importing_embeddings_does_not_import_torch() -> None:
    code = (
        "import sys, embedlab, embedlab.embeddings, embedlab.data, embedlab.evaluation\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert {'MatrixFactorization', 'load', 'compare'} <= set(dir(embedlab))\n"
        "assert embedlab.cross_validate is embedlab.evaluation.cross_validate\n"
        "assert 'torch' not in sys.modules, 'torch imported by evaluation'\n"
        "assert embedlab.MatrixFactorization.__name__ == 'MatrixFactorization'\n"
        "assert 'torch' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = el.nope


def test_top_n_with_candidates_from_torch_topk_equals_numpy() -> None:
    from embedlab.models._recommending import _top_candidates

    rng = np.random.default_rng(0)
    # Coarse scores force many ties at the k-th place; -inf masks some entries.
    scores = rng.integers(0, 6, size=(200, 50)).astype(np.float32)
    scores[rng.random(scores.shape) < 0.3] = -np.inf
    scores[0, :] = -np.inf  # a row with nothing left
    for n in (1, 5, 10, 49):
        expected = top_n(scores.copy(), n)
        candidates = _top_candidates(scores, n)
        assert candidates is not None
        got = top_n(scores.copy(), n, candidates=candidates)
        for a, b in zip(expected, got, strict=True):
            np.testing.assert_array_equal(a, b)
    assert _top_candidates(scores, 50) is None  # nothing to partition
    with_nan = scores.copy()
    with_nan[3, 7] = np.nan
    assert _top_candidates(with_nan, 5) is None  # NumPy decides when a score is NaN
    with pytest.raises(ValueError, match="candidates has shape"):
        top_n(scores, 5, candidates=np.zeros((200, 4), dtype=np.int64))
