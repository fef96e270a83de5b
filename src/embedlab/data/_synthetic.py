"""Synthetic MovieLens-shaped ratings with planted structure (a known answer).

The generative model, in the notation of biased matrix factorization:

* ``n_genres`` genre centres ``c_g``: random unit vectors in ``embedding_dim``
  dimensions, centred across genres (so liking one genre means mildly disliking
  the others) and scaled back to unit length.
* Each item has one planted genre ``g(i)`` (and, for about a quarter of the items,
  a second genre that pulls its vector a little); its vector is
  ``q_i = c_g(i) [+ 0.3 c_g2(i)] + genre_spread · ε_i`` with ``ε_i ~ N(0, I/dim)``,
  so items form one cluster per genre, tighter for a smaller ``genre_spread``.
* Each user prefers one genre (60 %) or two (40 %): ``p_u = c_g1 [+ 0.6 c_g2] +
  genre_spread · ε_u``.
* Biases ``b_u ~ N(0, user_bias_std²)``, ``b_i ~ N(0, item_bias_std²)``.
* The noise-free rating is ``μ + b_u + b_i + interaction_scale · p_u·q_i``
  (:meth:`SyntheticTruth.expected_rating`); an observed rating adds
  ``N(0, noise_std²)`` noise, rounds to the star grid (whole or half stars) and
  clips to ``rating_scale``.

Which (user, item) pairs are rated: item popularity is Zipf-like (the item of
popularity rank ``r`` has weight ``r^-popularity_exponent``, ranks in random order
over item IDs) and user activity is log-normal (``σ = user_activity_sigma``). Pairs
are drawn with probability proportional to ``activity_u · popularity_i``, duplicates
removed, and drawing repeats until exactly ``n_ratings`` distinct pairs exist; the
most popular items saturate (every user rates them at most once), and if drawing by
weight stalls on a very dense request the rest is filled uniformly from the
unrated pairs. Before any of that, ``max(n_users, n_items)`` pairs are placed so
that every user and every item has at least one rating. When ``n_ratings`` is
smaller than that, as many users and items as possible (``min(n_ratings,
n_users)`` users and ``min(n_ratings, n_items)`` items) get one rating and the rest
none; they stay in the vocabularies.

Everything is vectorised NumPy, generated in chunks: the ML-20M shape (138,493
users, 26,744 items, 20,000,263 ratings) takes seconds and well under 3 GB.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from embedlab.data._interactions import Interactions
from embedlab.data._split import _cutoff_seconds
from embedlab.data._vocab import Vocabulary
from embedlab.exceptions import DataError
from embedlab.settings import renamed

__all__ = ["GENRE_NAMES", "SHAPES", "SyntheticTruth", "synthetic_ratings"]

#: Genre names in the order planted genres take them (MovieLens genres; beyond
#: these, ``"Genre 19"``, ``"Genre 20"``...).
GENRE_NAMES = (
    "Drama",
    "Comedy",
    "Action",
    "Thriller",
    "Romance",
    "Horror",
    "Sci-Fi",
    "Animation",
    "Documentary",
    "Crime",
    "Adventure",
    "Children",
    "Fantasy",
    "Mystery",
    "War",
    "Musical",
    "Western",
    "Film-Noir",
)

#: Sizes ``(n_users, n_items, n_ratings)`` of the MovieLens releases.
SHAPES: dict[str, tuple[int, int, int]] = {
    "ml-100k": (943, 1_682, 100_000),
    "ml-1m": (6_040, 3_706, 1_000_209),
    "ml-20m": (138_493, 26_744, 20_000_263),
    "ml-32m": (200_948, 84_432, 32_000_204),
}

_CHUNK = 1 << 18  # rows per chunk when computing ratings (bounds temporary memory)
_MAX_WEIGHTED_ROUNDS = 8
_SECOND_GENRE_SHARE = 0.25
_SECOND_GENRE_PULL = 0.3
_TWO_GENRE_USERS = 0.4
_SECOND_TASTE_WEIGHT = 0.6


@dataclass(frozen=True, eq=False)
class SyntheticTruth:
    """The planted answer behind :func:`synthetic_ratings`; rows are user/item indices.

    Attributes:
        user_vectors: ``(n_users, embedding_dim)`` float32 taste vectors ``p_u``.
        item_vectors: ``(n_items, embedding_dim)`` float32 item vectors ``q_i``.
        genre_centres: ``(n_genres, embedding_dim)`` float32 unit genre centres.
        item_genre: Planted genre of each item (int, index into ``genre_names``).
        item_second_genre: Second genre of each item, or -1 (most items).
        user_genres: ``(n_users, 2)`` preferred genres of each user; the second is
            -1 for one-genre users.
        genre_names: Name of each genre.
        user_bias: ``b_u`` (float32).
        item_bias: ``b_i`` (float32).
        global_mean: ``μ``.
        interaction_scale: Factor on ``p_u·q_i``.
        noise_std: Standard deviation of the rating noise (before rounding).
        rating_scale: ``(low, high)`` that observed ratings are clipped to.
        rating_step: 1.0 (whole stars) or 0.5 (half stars).
        item_popularity: Sampling weight of each item (sums to 1).
        user_activity: Sampling weight of each user (sums to 1).
    """

    user_vectors: np.ndarray
    item_vectors: np.ndarray
    genre_centres: np.ndarray
    item_genre: np.ndarray
    item_second_genre: np.ndarray
    user_genres: np.ndarray
    genre_names: tuple[str, ...]
    user_bias: np.ndarray
    item_bias: np.ndarray
    global_mean: float
    interaction_scale: float
    noise_std: float
    rating_scale: tuple[float, float]
    rating_step: float
    item_popularity: np.ndarray
    user_activity: np.ndarray

    @property
    def embedding_dim(self) -> int:
        """Size of the planted vectors."""
        return int(self.item_vectors.shape[1])

    def expected_rating(
        self, user_index: Any, item_index: Any, *, clip: bool = False
    ) -> np.ndarray:
        """The noise-free rating ``μ + b_u + b_i + interaction_scale · p_u·q_i``.

        Args:
            user_index: User indices (rows of the vocabulary), an int or an array.
            item_index: Item indices, broadcastable against ``user_index``.
            clip: Clip to ``rating_scale`` (no rounding).

        Returns:
            A float64 array of the broadcast shape.

        Raises:
            IndexError: If an index is out of range.
        """
        u, i = np.broadcast_arrays(np.asarray(user_index), np.asarray(item_index))
        dot = np.einsum(
            "...d,...d->...",
            self.user_vectors[u].astype(np.float64),
            self.item_vectors[i].astype(np.float64),
        )
        out = (
            self.global_mean
            + self.user_bias[u].astype(np.float64)
            + self.item_bias[i]
            + self.interaction_scale * dot
        )
        if clip:
            out = np.clip(out, *self.rating_scale)
        return np.asarray(out, dtype=np.float64)


# ---------------------------------------------------------------------- checks
def _int_arg(name: str, value: Any, low: int) -> int:
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, (bool, np.bool_))
        or int(value) < low
    ):
        raise DataError(f"{name}={value!r}: expected an integer >= {low}")
    return int(value)


def _real_arg(name: str, value: Any, low: float = 0.0) -> float:
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, (bool, np.bool_))
        or not np.isfinite(float(value))
        or float(value) < low
    ):
        bound = "" if low == -np.inf else f" >= {low:g}"
        raise DataError(f"{name}={value!r}: expected a finite number{bound}")
    return float(value)


def _scale_arg(rating_scale: Any, step: float) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in rating_scale)
    except (TypeError, ValueError):
        raise DataError(
            f"rating_scale={rating_scale!r}: expected (low, high), e.g. (1, 5)"
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise DataError(
            f"rating_scale={rating_scale!r}: expected finite (low, high) with low < high"
        )
    stars = "half stars" if step == 0.5 else "whole stars"
    for v in (low, high):
        if v / step != np.round(v / step):
            raise DataError(
                f"rating_scale={rating_scale!r}: {v:g} is not on the grid of {stars}; "
                f"use multiples of {step:g}" + ("" if step == 0.5 else " or pass half_stars=True")
            )
    return low, high


def _genre_names(n: int) -> tuple[str, ...]:
    return tuple(GENRE_NAMES[g] if g < len(GENRE_NAMES) else f"Genre {g + 1}" for g in range(n))


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


# ---------------------------------------------------------------------- pairs
def _distinct_sorted(keys: np.ndarray) -> np.ndarray:
    """Sort and drop repeats (faster than ``np.unique`` on large int64 arrays)."""
    keys = np.sort(keys)
    if keys.size < 2:
        return keys
    keep = np.empty(keys.size, dtype=np.bool_)
    keep[0] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def _add_new(
    existing: np.ndarray, cand: np.ndarray, need: int, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Merge distinct sorted ``cand`` into distinct sorted ``existing``, adding at most ``need``.

    Returns the new sorted key array and how many keys were added.
    """
    merged = np.sort(np.concatenate((existing, cand)), kind="stable")  # merges two sorted runs
    repeat = np.empty(merged.size, dtype=np.bool_)
    repeat[0] = False
    np.equal(merged[1:], merged[:-1], out=repeat[1:])
    n_added = cand.size - int(repeat.sum())
    if n_added > need:
        # Repeated values are the candidates already present; the rest are new.
        new = (
            np.delete(cand, np.searchsorted(cand, merged[repeat])) if n_added < cand.size else cand
        )
    union = merged[~repeat]
    del merged, repeat
    if n_added > need:
        drop = np.sort(new[rng.choice(new.size, n_added - need, replace=False)])
        pos = np.searchsorted(union, drop)
        union = np.delete(union, pos)
        n_added = need
    return union, n_added


def _fill_uniform(
    existing: np.ndarray, need: int, n_cells: int, rng: np.random.Generator
) -> np.ndarray:
    """Add ``need`` keys drawn uniformly from the cells not in ``existing`` (exact)."""
    free = n_cells - existing.size
    ranks = np.sort(rng.choice(free, size=need, replace=False)).astype(np.int64)
    # The j-th occupied key has (key_j - j) free cells below it; a free rank r sits at
    # cell r + (number of occupied keys whose free-count-below is <= r).
    below = existing - np.arange(existing.size, dtype=np.int64)
    cells = ranks + np.searchsorted(below, ranks, side="right")
    return np.sort(np.concatenate((existing, cells)), kind="stable")


def _sample_pairs(
    n_users: int,
    n_items: int,
    n_ratings: int,
    user_activity: np.ndarray,
    item_popularity: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Exactly ``n_ratings`` distinct keys ``user * n_items + item``, sorted."""
    n_cells = n_users * n_items
    # Coverage: pairs (k mod n_users, k mod n_items) for k < max(n_users, n_items) are
    # distinct (two equal pairs would need k1 = k2 mod lcm >= max), so every user and
    # every item appears once; random permutations hide the pattern.
    n_cover = min(n_ratings, max(n_users, n_items))
    k = np.arange(n_cover, dtype=np.int64)
    cover_u = rng.permutation(n_users).astype(np.int64)[k % n_users]
    cover_i = rng.permutation(n_items).astype(np.int64)[k % n_items]
    keys = np.sort(cover_u * n_items + cover_i)
    del k, cover_u, cover_i
    need = n_ratings - keys.size
    accept = 0.9
    for _ in range(_MAX_WEIGHTED_ROUNDS):
        if need == 0:
            break
        draw = int(min(need / accept * 1.02 + 64, 4 * n_ratings + 64))
        users = np.repeat(np.arange(n_users, dtype=np.int64), rng.multinomial(draw, user_activity))
        items = np.repeat(
            np.arange(n_items, dtype=np.int32), rng.multinomial(draw, item_popularity)
        )
        rng.shuffle(items)
        users *= n_items
        users += items
        del items
        cand = _distinct_sorted(users)
        del users
        keys, added = _add_new(keys, cand, need, rng)
        del cand
        need -= added
        accept = max(added / draw, 1e-3)
        if accept < 0.05:  # drawing by weight has stalled (a very dense request)
            break
    if need:
        keys = _fill_uniform(keys, need, n_cells, rng)
    return keys


# ---------------------------------------------------------------------- main
@renamed(seed="random_state")
def synthetic_ratings(
    n_users: int = 1000,
    n_items: int = 500,
    n_ratings: int = 50_000,
    *,
    n_genres: int = 8,
    embedding_dim: int = 16,
    genre_spread: float = 0.35,
    interaction_scale: float = 1.0,
    popularity_exponent: float = 1.0,
    user_activity_sigma: float = 1.0,
    user_bias_std: float = 0.4,
    item_bias_std: float = 0.5,
    global_mean: float = 3.5,
    noise_std: float = 0.7,
    rating_scale: tuple[float, float] = (1, 5),
    half_stars: bool = False,
    timestamps: bool = True,
    time_range: tuple[Any, Any] = ("1995-01-01", "2015-03-31"),
    random_state: int | None = 0,
) -> tuple[Interactions, SyntheticTruth]:
    """Generate MovieLens-shaped ratings whose structure is known (see the module doc).

    User IDs are ``1..n_users`` and item IDs ``1..n_items`` (ints); ratings are sorted
    by user, then item, like MovieLens' ``ratings.csv``. Every user and item has at
    least one rating when ``n_ratings >= max(n_users, n_items)``; otherwise as many
    as possible have one.

    Item metadata (aligned to item indices): ``id``, ``title`` (``"Synthetic Movie 17
    (Comedy) (1994)"``), ``genres`` (a list: the planted genre first, sometimes a
    second), ``year`` (release year, skewed towards recent years).

    Args:
        n_users: Number of users.
        n_items: Number of items.
        n_ratings: Number of distinct (user, item) ratings, at most ``n_users * n_items``.
        n_genres: Number of planted genres (clusters of items).
        embedding_dim: Size of the planted user and item vectors.
        genre_spread: Noise around the genre centres (0: items of a genre coincide;
            1: clusters barely visible).
        interaction_scale: Weight of ``p_u·q_i`` in the rating.
        popularity_exponent: Zipf exponent of item popularity (0: uniform; 1: the
            top 10 % of items get most of the ratings).
        user_activity_sigma: σ of the log-normal user activity (0: all users
            equally active).
        user_bias_std: Standard deviation of the user biases.
        item_bias_std: Standard deviation of the item biases.
        global_mean: μ, the mean of the noise-free ratings before the interaction term.
        noise_std: Standard deviation of the Gaussian noise added before rounding.
        rating_scale: ``(low, high)`` of the stars; both on the star grid.
        half_stars: Round to half stars instead of whole stars.
        timestamps: Give each rating a Unix timestamp within ``time_range`` (each
            user rates within an active period of their own); False leaves none.
        time_range: ``(start, end)`` as dates or Unix seconds.
        random_state: Seed of the random generator; the same seed gives the same data
            (None: a fresh one). ``seed`` is its deprecated name (it warns; removed in
            the next release).

    Returns:
        ``(interactions, truth)``: the ratings (name ``"synthetic"``) and the
        :class:`SyntheticTruth` behind them.

    Raises:
        DataError: If a size is not a positive integer, ``n_ratings > n_users *
            n_items``, a spread or deviation is negative, or ``rating_scale`` /
            ``time_range`` is malformed.

    Example:
        >>> ds, truth = synthetic_ratings(50, 40, 600, random_state=1)
        >>> len(ds), ds.n_users, ds.n_items, truth.item_genre.shape
        (600, 50, 40, (40,))
    """
    n_users = _int_arg("n_users", n_users, 1)
    n_items = _int_arg("n_items", n_items, 1)
    n_ratings = _int_arg("n_ratings", n_ratings, 1)
    n_genres = _int_arg("n_genres", n_genres, 1)
    dim = _int_arg("embedding_dim", embedding_dim, 1)
    if n_ratings > n_users * n_items:
        raise DataError(
            f"n_ratings={n_ratings:,} exceeds n_users * n_items = {n_users:,} * {n_items:,} = "
            f"{n_users * n_items:,} distinct (user, item) pairs; ask for fewer ratings or more users/items"
        )
    spread = _real_arg("genre_spread", genre_spread)
    scale_ui = _real_arg("interaction_scale", interaction_scale, -np.inf)
    zipf = _real_arg("popularity_exponent", popularity_exponent)
    activity_sigma = _real_arg("user_activity_sigma", user_activity_sigma)
    bu_std = _real_arg("user_bias_std", user_bias_std)
    bi_std = _real_arg("item_bias_std", item_bias_std)
    mu = _real_arg("global_mean", global_mean, -np.inf)
    noise = _real_arg("noise_std", noise_std)
    step = 0.5 if half_stars else 1.0
    low, high = _scale_arg(rating_scale, step)
    t0 = t1 = 0
    if timestamps:
        try:
            t0, t1 = (_cutoff_seconds(v) for v in time_range)
        except (TypeError, ValueError):
            raise DataError(
                f"time_range={time_range!r}: expected (start, end) as dates such as '1995-01-01' or Unix seconds"
            ) from None
        if not t0 < t1:
            raise DataError(f"time_range={time_range!r}: expected start < end")
    if random_state is not None:
        random_state = _int_arg("random_state", random_state, 0)
    rng = np.random.default_rng(random_state)
    names = _genre_names(n_genres)

    # Genres and vectors.
    centres = _unit_rows(rng.standard_normal((n_genres, dim)))
    if n_genres > 1:
        centres = _unit_rows(centres - centres.mean(axis=0))
    genre_p = rng.dirichlet(np.full(n_genres, 5.0))
    item_genre = rng.choice(n_genres, size=n_items, p=genre_p)
    if n_items >= n_genres:
        item_genre[rng.permutation(n_items)[:n_genres]] = np.arange(n_genres)
    second = np.full(n_items, -1, dtype=np.int64)
    if n_genres > 1:
        has2 = rng.random(n_items) < _SECOND_GENRE_SHARE
        second[has2] = (
            item_genre[has2] + rng.integers(1, n_genres, size=int(has2.sum()))
        ) % n_genres
    item_vec = centres[item_genre] + spread * rng.standard_normal((n_items, dim)) / np.sqrt(dim)
    item_vec[second >= 0] += _SECOND_GENRE_PULL * centres[second[second >= 0]]
    user_genres = np.full((n_users, 2), -1, dtype=np.int64)
    user_genres[:, 0] = rng.choice(n_genres, size=n_users, p=genre_p)
    if n_genres > 1:
        two = rng.random(n_users) < _TWO_GENRE_USERS
        user_genres[two, 1] = (
            user_genres[two, 0] + rng.integers(1, n_genres, size=int(two.sum()))
        ) % n_genres
    user_vec = centres[user_genres[:, 0]] + spread * rng.standard_normal((n_users, dim)) / np.sqrt(
        dim
    )
    has_second = user_genres[:, 1] >= 0
    user_vec[has_second] += _SECOND_TASTE_WEIGHT * centres[user_genres[has_second, 1]]
    user_bias = (bu_std * rng.standard_normal(n_users)).astype(np.float32)
    item_bias = (bi_std * rng.standard_normal(n_items)).astype(np.float32)
    user_vec = user_vec.astype(np.float32)
    item_vec = item_vec.astype(np.float32)

    # Who rates what.
    ranks = rng.permutation(n_items) + 1.0
    popularity = ranks**-zipf
    popularity /= popularity.sum()
    activity = (
        rng.lognormal(0.0, activity_sigma, size=n_users) if activity_sigma > 0 else np.ones(n_users)
    )
    activity /= activity.sum()
    keys = _sample_pairs(n_users, n_items, n_ratings, activity, popularity, rng)

    # Ratings (and timestamps), chunk by chunk.
    user_index = np.empty(n_ratings, dtype=np.int32)
    item_index = np.empty(n_ratings, dtype=np.int32)
    rating = np.empty(n_ratings, dtype=np.float32)
    ts = np.empty(n_ratings, dtype=np.int64) if timestamps else None
    if timestamps:
        span = t1 - t0
        start = t0 + (rng.random(n_users) * span).astype(np.int64)
        active = np.minimum(rng.exponential(0.08 * span, size=n_users), t1 - start).astype(np.int64)
    for lo in range(0, n_ratings, _CHUNK):
        hi = min(lo + _CHUNK, n_ratings)
        k = keys[lo:hi]
        u = (k // n_items).astype(np.int32)
        i = (k - u.astype(np.int64) * n_items).astype(np.int32)
        x = np.einsum("nd,nd->n", user_vec[u], item_vec[i])
        x *= np.float32(scale_ui)
        x += np.float32(mu)
        x += user_bias[u]
        x += item_bias[i]
        if noise > 0:
            x += np.float32(noise) * rng.standard_normal(hi - lo, dtype=np.float32)
        x -= np.float32(low)
        x /= np.float32(step)
        np.rint(x, out=x)
        x *= np.float32(step)
        x += np.float32(low)
        np.clip(x, low, high, out=x)
        user_index[lo:hi] = u
        item_index[lo:hi] = i
        rating[lo:hi] = x
        if ts is not None:
            ts[lo:hi] = start[u] + (rng.random(hi - lo) * (active[u] + 1)).astype(np.int64)
    del keys

    users = Vocabulary._trusted(np.arange(1, n_users + 1, dtype=np.int64), "int", "user")
    items = Vocabulary._trusted(np.arange(1, n_items + 1, dtype=np.int64), "int", "item")
    ds = Interactions(
        user_index,
        item_index,
        rating,
        users,
        items,
        timestamp=ts,
        item_metadata=_item_metadata(
            n_items, item_genre, second, names, t1 if timestamps else None, rng
        ),
        rating_scale=(low, high),
        name="synthetic",
    )
    truth = SyntheticTruth(
        user_vectors=user_vec,
        item_vectors=item_vec,
        genre_centres=centres.astype(np.float32),
        item_genre=item_genre.astype(np.int64),
        item_second_genre=second,
        user_genres=user_genres,
        genre_names=names,
        user_bias=user_bias,
        item_bias=item_bias,
        global_mean=mu,
        interaction_scale=scale_ui,
        noise_std=noise,
        rating_scale=(low, high),
        rating_step=step,
        item_popularity=popularity,
        user_activity=activity,
    )
    for value in vars(truth).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return ds, truth


def _item_metadata(
    n_items: int,
    genre: np.ndarray,
    second: np.ndarray,
    names: tuple[str, ...],
    end: int | None,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """``id``, ``title``, ``genres`` (lists), ``year`` for items ``1..n_items``."""
    last_year = pd.Timestamp(end, unit="s").year if end is not None else 2015
    year = np.clip(
        last_year - np.floor(rng.exponential(12.0, size=n_items)), 1915, last_year
    ).astype(np.int64)
    ids = np.arange(1, n_items + 1, dtype=np.int64)
    name_arr = np.asarray(names, dtype=object)
    title = (
        "Synthetic Movie "
        + pd.Series(ids).astype(str)
        + " ("
        + pd.Series(name_arr[genre])
        + ") ("
        + pd.Series(year).astype(str)
        + ")"
    )
    first = name_arr[genre].tolist()
    other = np.where(second >= 0, name_arr[np.maximum(second, 0)], None).tolist()
    genres = [[a] if b is None else [a, b] for a, b in zip(first, other, strict=True)]
    return pd.DataFrame(
        {
            "id": ids,
            "title": title.to_numpy(dtype=object),
            "genres": genres,
            "year": pd.array(year, dtype="Int64"),
        }
    )
