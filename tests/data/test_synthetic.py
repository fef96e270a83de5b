"""Synthetic ratings: exact sizes, valid values, reproducibility and a recoverable planted answer."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embedlab.data import Interactions, SyntheticTruth, synthetic_ratings
from embedlab.data._synthetic import GENRE_NAMES, SHAPES
from embedlab.exceptions import DataError


def pair_keys(ds: Interactions) -> np.ndarray:
    return ds.user_index.astype(np.int64) * ds.n_items + ds.item_index


@pytest.fixture(scope="module")
def medium() -> tuple[Interactions, SyntheticTruth]:
    return synthetic_ratings(2000, 1000, 40_000, random_state=7)


def test_exact_size_distinct_and_covering(medium) -> None:
    ds, _ = medium
    assert (len(ds), ds.n_users, ds.n_items) == (40_000, 2000, 1000)
    keys = pair_keys(ds)
    assert np.unique(keys).size == len(ds)
    assert np.all(np.diff(keys) > 0)  # sorted by user, then item, like MovieLens
    assert ds.user_counts().min() >= 1 and ds.item_counts().min() >= 1
    assert ds.users.ids().tolist() == list(range(1, 2001))
    assert ds.items.ids().tolist() == list(range(1, 1001))
    assert ds.name == "synthetic"


def test_ratings_on_whole_star_grid(medium) -> None:
    ds, _ = medium
    assert ds.rating.dtype == np.float32
    assert ds.rating.min() >= 1 and ds.rating.max() <= 5
    assert np.all(ds.rating == np.round(ds.rating))
    assert set(np.unique(ds.rating).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert ds.rating_scale == (1.0, 5.0)
    assert 3.0 < ds.global_mean < 4.0


def test_half_stars() -> None:
    ds, truth = synthetic_ratings(
        300, 200, 5000, half_stars=True, rating_scale=(0.5, 5), random_state=1
    )
    assert ds.rating.min() >= 0.5 and ds.rating.max() <= 5
    assert np.all(ds.rating * 2 == np.round(ds.rating * 2))
    assert np.any(ds.rating != np.round(ds.rating))
    assert truth.rating_step == 0.5 and ds.rating_scale == (0.5, 5.0)


def test_reproducible_by_seed_and_seeds_differ() -> None:
    a, ta = synthetic_ratings(200, 100, 3000, random_state=3)
    b, tb = synthetic_ratings(200, 100, 3000, random_state=3)
    c, _ = synthetic_ratings(200, 100, 3000, random_state=4)
    assert a.fingerprint() == b.fingerprint()
    assert np.array_equal(ta.item_vectors, tb.item_vectors)
    assert a.item_metadata.equals(b.item_metadata)
    assert a.fingerprint() != c.fingerprint()
    assert not np.array_equal(pair_keys(a), pair_keys(c))


def test_seed_is_the_deprecated_name_of_random_state() -> None:
    with pytest.warns(
        FutureWarning,
        match=r"^synthetic_ratings: seed= is deprecated and will be removed in the next "
        "release; use random_state=$",
    ):
        old, _ = synthetic_ratings(40, 20, 300, seed=3)
    assert old.fingerprint() == synthetic_ratings(40, 20, 300, random_state=3)[0].fingerprint()
    with pytest.raises(ValueError, match=r"both random_state= and seed="):
        synthetic_ratings(40, 20, 300, seed=3, random_state=3)


def test_popularity_is_skewed() -> None:
    ds, truth = synthetic_ratings(5000, 2000, 50_000, random_state=2)
    counts = np.sort(ds.item_counts())[::-1]
    top = counts[: len(counts) // 10].sum() / counts.sum()
    assert top > 0.5  # a uniform catalogue would give 0.1
    # The most popular items by planted weight are the most rated.
    by_weight = np.argsort(truth.item_popularity)[::-1][:20]
    assert ds.item_counts()[by_weight].mean() > 10 * np.median(ds.item_counts())
    flat, _ = synthetic_ratings(
        5000, 2000, 50_000, popularity_exponent=0.0, user_activity_sigma=0.0, random_state=2
    )
    counts = np.sort(flat.item_counts())[::-1]
    assert counts[: len(counts) // 10].sum() / counts.sum() < 0.2


def test_planted_genres_cluster(medium) -> None:
    _, truth = medium
    q = truth.item_vectors / np.linalg.norm(truth.item_vectors, axis=1, keepdims=True)
    nearest = np.argmax(q @ truth.genre_centres.T, axis=1)
    assert np.mean(nearest == truth.item_genre) > 0.9
    sim = q @ q.T
    same = truth.item_genre[:, None] == truth.item_genre[None, :]
    assert sim[same].mean() > sim[~same].mean() + 0.5
    # Users like items of their genre more than others (noise-free).
    u = np.arange(200)
    liked = (
        truth.expected_rating(u[:, None], np.arange(1000)[None, :])
        - truth.user_bias[:200, None]
        - truth.item_bias
    )
    mine = truth.item_genre[None, :] == truth.user_genres[:200, :1]
    assert liked[mine].mean() > liked[~mine].mean() + 0.5


def test_observed_ratings_follow_the_truth(medium) -> None:
    ds, truth = medium
    expected = truth.expected_rating(ds.user_index, ds.item_index)
    assert np.corrcoef(expected, ds.rating)[0, 1] > 0.6
    # Residual spread is the noise plus rounding.
    clipped = truth.expected_rating(ds.user_index, ds.item_index, clip=True)
    assert abs(np.std(ds.rating - clipped) - np.hypot(truth.noise_std, 0.29)) < 0.15
    # Without noise the ratings are the rounded truth.
    quiet, qt = synthetic_ratings(300, 100, 4000, noise_std=0.0, random_state=5)
    exact = np.clip(np.round(qt.expected_rating(quiet.user_index, quiet.item_index)), 1, 5)
    assert np.mean(exact == quiet.rating) > 0.999  # float32 vs float64 ties aside


def test_metadata_and_timestamps(medium) -> None:
    ds, truth = medium
    meta = ds.item_metadata
    assert list(meta.columns) == ["id", "title", "genres", "year"]
    assert len(meta) == ds.n_items and meta["id"].tolist() == list(range(1, 1001))
    assert meta["title"].str.match(r"^Synthetic Movie \d+ \([A-Za-z-]+\) \((19|20)\d\d\)$").all()
    assert [g[0] for g in meta["genres"]] == [truth.genre_names[g] for g in truth.item_genre]
    assert all(1 <= len(g) <= 2 for g in meta["genres"])
    assert any(len(g) == 2 for g in meta["genres"])
    assert meta["year"].between(1915, 2015).all()
    assert truth.genre_names == GENRE_NAMES[:8]
    assert sorted(ds.genres) == sorted(GENRE_NAMES[:8])
    lo, hi = pd.Timestamp("1995-01-01").timestamp(), pd.Timestamp("2015-03-31").timestamp()
    assert ds.timestamp.min() >= lo and ds.timestamp.max() <= hi
    assert np.unique(ds.timestamp).size > 0.9 * len(ds)
    assert ds.user_metadata is None


def test_options_change_the_result() -> None:
    base, _ = synthetic_ratings(300, 100, 3000, random_state=0)
    no_ts, _ = synthetic_ratings(300, 100, 3000, random_state=0, timestamps=False)
    assert no_ts.timestamp is None
    _, mt = synthetic_ratings(300, 100, 3000, n_genres=25, embedding_dim=4, random_state=0)
    assert mt.item_vectors.shape == (100, 4) and mt.embedding_dim == 4
    assert mt.genre_names[-1] == "Genre 25" and len(set(mt.genre_names)) == 25
    high, _ = synthetic_ratings(300, 100, 3000, global_mean=4.5, random_state=0)
    assert high.global_mean > base.global_mean + 0.5
    _, tt = synthetic_ratings(300, 100, 3000, genre_spread=0.0, random_state=0)
    same_genre = tt.item_vectors[tt.item_genre == tt.item_genre[0]]
    assert np.allclose(
        same_genre[tt.item_second_genre[tt.item_genre == tt.item_genre[0]] < 0],
        tt.genre_centres[tt.item_genre[0]],
        atol=1e-6,
    )
    ranged, _ = synthetic_ratings(50, 20, 300, time_range=(0, 1000), random_state=0)
    assert ranged.timestamp.min() >= 0 and ranged.timestamp.max() <= 1000


@settings(deadline=None, max_examples=40)
@given(
    n_users=st.integers(1, 40),
    n_items=st.integers(1, 40),
    fill=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31),
)
def test_any_size_is_exact(n_users: int, n_items: int, fill: float, seed: int) -> None:
    n = max(1, round(fill * n_users * n_items))
    ds, truth = synthetic_ratings(n_users, n_items, n, random_state=seed, n_genres=3)
    keys = pair_keys(ds)
    assert len(ds) == n and np.unique(keys).size == n
    rated_users = int((ds.user_counts() > 0).sum())
    rated_items = int((ds.item_counts() > 0).sum())
    assert rated_users == min(n, n_users) and rated_items == min(n, n_items)
    assert truth.item_vectors.shape == (n_items, 16) and truth.user_vectors.shape == (n_users, 16)
    assert len(ds.item_metadata) == n_items


def test_full_matrix() -> None:
    ds, _ = synthetic_ratings(30, 20, 600, random_state=0)
    assert np.unique(pair_keys(ds)).size == 600


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"n_users": 10, "n_items": 5, "n_ratings": 51},
            r"n_ratings=51 exceeds n_users \* n_items = 10 \* 5 = 50",
        ),
        ({"n_users": 0}, r"n_users=0: expected an integer >= 1"),
        ({"n_ratings": 2.5}, r"n_ratings=2.5"),
        ({"n_genres": 0}, r"n_genres=0"),
        ({"noise_std": -1}, r"noise_std=-1: expected a finite number >= 0"),
        ({"genre_spread": float("nan")}, r"genre_spread=nan"),
        ({"rating_scale": (5, 1)}, r"low < high"),
        ({"rating_scale": "1-5"}, r"rating_scale='1-5'"),
        ({"rating_scale": (0.5, 5)}, r"0.5 is not on the grid of whole stars.*half_stars=True"),
        ({"rating_scale": (0.25, 5), "half_stars": True}, r"grid of half stars"),
        ({"time_range": ("2020-01-01", "2019-01-01")}, r"start < end"),
        ({"time_range": ("yesterday", "today")}, r"time_range="),
        ({"random_state": -3}, r"random_state=-3"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    args = {"n_users": 20, "n_items": 10, "n_ratings": 50, **kwargs}
    with pytest.raises(DataError, match=match):
        synthetic_ratings(**args)


def test_shapes_table() -> None:
    assert SHAPES["ml-20m"] == (138_493, 26_744, 20_000_263)
    assert SHAPES["ml-32m"] == (200_948, 84_432, 32_000_204)


def _peak_bytes(n_users: int, n_items: int, n_ratings: int) -> int:
    tracemalloc.start()
    try:
        ds, _ = synthetic_ratings(n_users, n_items, n_ratings, random_state=0)
        assert len(ds) == n_ratings
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_medium_size_runs_and_memory_stays_proportional() -> None:
    ds, truth = synthetic_ratings(20_000, 6_000, 2_000_000, random_state=11)
    assert len(ds) == 2_000_000 and np.unique(pair_keys(ds)).size == 2_000_000
    assert ds.user_counts().min() >= 1 and ds.item_counts().min() >= 1
    assert (
        np.corrcoef(
            truth.expected_rating(ds.user_index[::50], ds.item_index[::50]), ds.rating[::50]
        )[0, 1]
        > 0.6
    )
    # Peak memory grows linearly with the number of ratings (no n_users x n_items matrix):
    # well under 120 bytes per rating at both sizes (the ML-20M shape peaks near 1.1 GB RSS).
    small = _peak_bytes(2_000, 600, 200_000)
    large = _peak_bytes(20_000, 6_000, 2_000_000)
    assert large < 120 * 2_000_000
    assert large < 12 * small


@settings(deadline=None, max_examples=60)
@given(
    n_cells=st.integers(1, 200),
    data=st.data(),
)
def test_uniform_fill_adds_free_cells_exactly(n_cells: int, data: st.DataObject) -> None:
    from embedlab.data._synthetic import _fill_uniform

    occupied = np.array(
        sorted(data.draw(st.sets(st.integers(0, n_cells - 1), max_size=n_cells))), dtype=np.int64
    )
    need = data.draw(st.integers(0, n_cells - occupied.size))
    out = _fill_uniform(occupied, need, n_cells, np.random.default_rng(0))
    assert out.size == occupied.size + need
    assert np.all(np.diff(out) > 0) and out.min(initial=0) >= 0 and out.max(initial=0) < n_cells
    assert np.isin(occupied, out).all()


def test_dense_request_uses_the_uniform_fill(monkeypatch: pytest.MonkeyPatch) -> None:
    import embedlab.data._synthetic as synthetic

    calls = []
    real = synthetic._fill_uniform
    monkeypatch.setattr(synthetic, "_fill_uniform", lambda *a: calls.append(a[1]) or real(*a))
    ds, _ = synthetic_ratings(40, 30, 1190, popularity_exponent=2.0, random_state=0)
    assert calls and len(ds) == 1190 and np.unique(pair_keys(ds)).size == 1190
