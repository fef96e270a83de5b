"""Issue 18, hardening: odd IDs and ratings at the public API give one clear embedlab error.

Every text -> integer ID conversion goes through :func:`embedlab.data.parse_id` (plain
ASCII digits within int64), so a vocabulary lookup, a side table and a MovieLens metadata
file agree; a visitor's ``(item ID, rating)`` pairs with a huge or odd ID are an
:class:`~embedlab.UnknownIDError`, and a rating that is no finite number a ``DataError``
naming it. (Vocabulary and KeyedEmbeddings cases: tests/data/test_vocab.py and
tests/test_embeddings.py.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import embedlab as el
from embedlab.data import load_ratings, read_side_table
from embedlab.data._movielens import _int_ids
from embedlab.exceptions import DataError, UnknownIDError


# ---------------------------------------------------------------- recommend_for_ratings, fold_in
@pytest.fixture(scope="module")
def mf() -> el.MatrixFactorization:
    ds, _ = el.synthetic_ratings(60, 40, 1500, random_state=0)
    # holdout=0.0: no "factors do not beat the biases-only model" DataWarning on tiny data
    model = el.MatrixFactorization(embedding_dim=4, epochs=2, holdout=0.0, random_state=0)
    return model.fit(ds, progress=False)


def _visitor_calls(mf: el.MatrixFactorization):
    return [
        lambda r: mf.recommend_for_ratings(r, steps=5),
        lambda r: mf.fold_in(r, steps=5),
    ]


@pytest.mark.parametrize(
    "item",
    [
        10**30,
        -(10**30),
        2**63,
        np.uint64(2**64 - 1),
        pytest.param(10**5000, id="10**5000"),
        "١٢",
        "1_0",
        "12.0",
        "",
        1.5,
        float("nan"),
        None,
        True,
        [1, 2],
        (1,),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_huge_or_odd_item_ids_are_unknown_ids(mf, item) -> None:
    """recommend_for_ratings([(10**30, 3.0)]) was OverflowError from pandas."""
    for call in _visitor_calls(mf):
        with pytest.raises(
            UnknownIDError,
            match=r"^1 unknown item ID \(first: .*\).*; the vocabulary has 40 item IDs",
        ) as info:
            call([(item, 3.0), (mf.items_.id(0), 4.0)])
        assert "\n" not in str(info.value) and len(str(info.value)) < 300


@pytest.mark.parametrize(
    "rating",
    [
        float("nan"),
        float("inf"),
        -float("inf"),
        np.float32("nan"),
        "4",
        "four",
        None,
        True,
        np.bool_(False),
        [4.0],
        4 + 0j,
        pytest.param(10**400, id="10**400"),
    ],
    ids=repr,
)
def test_ratings_that_are_no_finite_number_are_a_data_error_naming_the_rating(mf, rating) -> None:
    item = mf.items_.id(3)
    for name, call in zip(("recommend_for_ratings", "fold_in"), _visitor_calls(mf), strict=True):
        with pytest.raises(
            DataError,
            match=rf"^{name}: the rating of item {item!r} is .*; expected a finite number",
        ) as info:
            call([(mf.items_.id(0), 4.0), (item, rating)])
        assert isinstance(info.value, ValueError) and len(str(info.value)) < 300
        with pytest.raises(DataError, match="expected a finite number"):
            call({item: rating})


@pytest.mark.parametrize("ratings", [[5], ["ab"], [(1, 3.0, 2)], [(1,)], [None]], ids=repr)
def test_something_other_than_pairs_is_a_value_error(mf, ratings) -> None:
    for call in _visitor_calls(mf):
        with pytest.raises(
            ValueError, match=r"ratings holds .*; expected \(item ID, rating\) pairs"
        ):
            call(ratings)
    with pytest.raises(ValueError, match="at least one"):
        mf.recommend_for_ratings([])


def test_genuine_ids_and_numbers_still_work(mf) -> None:
    a, b = mf.items_.id(0), mf.items_.id(1)
    want = mf.recommend_for_ratings({a: 5.0, b: 1.0}, steps=5)
    for ratings in (
        [(a, 5), (b, 1)],
        [(np.int64(a), np.float32(5.0)), (np.int32(b), np.int8(1))],
        [(str(a), 5.0), (f" {b} ", 1.0)],  # text of ASCII digits, as a form sends
        ((a, 5.0), (b, 1.0)),
    ):
        got = mf.recommend_for_ratings(ratings, steps=5)
        pd.testing.assert_frame_equal(got, want)
    assert mf.fold_in([(a, 4.5)], steps=5).n_ratings == 1


def test_recommend_for_training_users_with_huge_ids(mf) -> None:
    for user in (10**30, "١", np.uint64(2**64 - 1)):
        with pytest.raises(UnknownIDError, match="unknown user ID"):
            mf.recommend(user)
        with pytest.raises(UnknownIDError, match="unknown user ID"):
            mf.recommend_batch([user])


# ---------------------------------------------------------------- every text -> int path agrees
def test_side_table_keys_follow_parse_id_as_the_ratings_do(tmp_path: Path) -> None:
    """A key "١٢" stays text (was the int 12), as load_ratings keeps the item "١٢"."""
    (tmp_path / "r.csv").write_text("user,item,rating\n1,١٢,4\n2,13,3\n", encoding="utf-8")
    (tmp_path / "s.csv").write_text("item,name\n١٢,a\n13,b\n", encoding="utf-8")
    ratings = load_ratings(tmp_path / "r.csv")
    side = read_side_table(tmp_path / "s.csv", label="name")
    assert side.index.tolist() == ["١٢", "13"]
    assert sorted(side.index) == sorted(ratings.items)
    (tmp_path / "u.csv").write_text("item,name\n1_0,a\n11,b\n")
    assert read_side_table(tmp_path / "u.csv").index.tolist() == ["1_0", "11"]
    (tmp_path / "p.csv").write_text("item,name\n12,a\n+13,b\n-4,c\n")
    side = read_side_table(tmp_path / "p.csv")
    assert side.index.tolist() == [12, 13, -4] and side.index.dtype == np.int64
    (tmp_path / "big.csv").write_text("item,name\n12,a\n99999999999999999999,b\n")
    assert read_side_table(tmp_path / "big.csv").index.tolist() == ["12", "99999999999999999999"]


@pytest.mark.parametrize("bad", ["١٢", "1_0", "1.5", "1e3", "99999999999999999999", "", "x"])
def test_movielens_metadata_ids_follow_parse_id(bad: str) -> None:
    """u.item / movies.dat / users.dat IDs: "1.5" was 1 and "1e3" 1000, silently."""
    assert _int_ids(pd.Series([" 1 ", "+2", "003"]), "movies.dat", "movie").tolist() == [1, 2, 3]
    with pytest.raises(
        DataError,
        match=rf"movies.dat: 1 rows with a movie ID that is not an integer \(first {bad!r} at line 2\)",
    ):
        _int_ids(pd.Series(["7", bad, "8"]), "movies.dat", "movie")
