"""Interactions: validation, counts and describe() on hand-computed data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from embedlab import DataError, DataWarning, Interactions, UnknownIDError, Vocabulary


def small() -> Interactions:
    #  user  item  rating  ts
    #   u1    10     4     100
    #   u1    20     2     200
    #   u2    10     5     300
    #   u3    30     3     400
    return Interactions.from_ids(
        ["u1", "u1", "u2", "u3"], [10, 20, 10, 30], [4, 2, 5, 3], [100, 200, 300, 400], name="tiny"
    )


def test_from_ids_arrays_and_vocabularies() -> None:
    ds = small()
    assert len(ds) == 4 and ds.n_users == 3 and ds.n_items == 3
    assert ds.user_index.dtype == np.int32 and ds.item_index.dtype == np.int32
    assert ds.rating.dtype == np.float32 and ds.timestamp.dtype == np.int64
    assert ds.users.ids().tolist() == ["u1", "u2", "u3"]
    assert ds.items.ids().tolist() == [10, 20, 30]
    assert ds.user_index.tolist() == [0, 0, 1, 2]
    assert ds.item_index.tolist() == [0, 1, 0, 2]
    assert ds.rating_scale == (2.0, 5.0)  # inferred
    assert ds.global_mean == pytest.approx(3.5)
    assert ds.density == pytest.approx(4 / 9)
    assert ds.user_counts().tolist() == [2, 1, 1]
    assert ds.item_counts().tolist() == [2, 1, 1]
    with pytest.raises(ValueError, match="read-only"):
        ds.rating[0] = 1


def test_describe_hand_computed() -> None:
    s = small().describe()
    assert (s.n_ratings, s.n_users, s.n_items) == (4, 3, 3)
    assert s.rating_histogram == {"2": 1, "3": 1, "4": 1, "5": 1}
    assert s.rating_mean == pytest.approx(3.5)
    assert s.rating_std == pytest.approx(np.std([4, 2, 5, 3]))
    assert s.ratings_per_user["min"] == 1 and s.ratings_per_user["max"] == 2
    assert s.ratings_per_user["median"] == 1 and s.ratings_per_user["mean"] == pytest.approx(
        4 / 3, abs=1e-3
    )
    assert s.time_range == ("1970-01-01T00:01:40", "1970-01-01T00:06:40")
    text = str(s)
    assert (
        "tiny: 4 ratings, 3 users, 3 items" in text and "histogram: 2: 1, 3: 1, 4: 1, 5: 1" in text
    )
    import json

    assert json.loads(json.dumps(s.to_dict()))["n_items"] == 3


def test_to_pandas_and_subset_share_vocabularies() -> None:
    ds = small()
    frame = ds.to_pandas()
    assert frame["user"].tolist() == ["u1", "u1", "u2", "u3"]
    assert frame["item"].tolist() == [10, 20, 10, 30]
    sub = ds.subset(np.array([False, True, True, False]))
    assert len(sub) == 2 and sub.users is ds.users and sub.items is ds.items
    assert sub.rating.tolist() == [2.0, 5.0]


def test_fingerprint_changes_with_data() -> None:
    a, b = small(), small()
    assert a.fingerprint() == b.fingerprint()
    c = Interactions.from_ids(
        ["u1", "u1", "u2", "u3"], [10, 20, 10, 30], [4, 2, 5, 4], [100, 200, 300, 400]
    )
    assert c.fingerprint() != a.fingerprint()


@pytest.mark.parametrize(
    ("ratings", "match"),
    [
        ([4, np.nan, np.nan], r"2 NaN or missing values \(first at row 1"),
        ([4, np.inf, 3], r"1 infinite values \(first at row 1"),
        (["4", "x", "3"], r"1 non-numeric values \(first 'x' at row 1\)"),
        ([True, False, True], "booleans"),
    ],
)
def test_bad_ratings(ratings: list, match: str) -> None:
    with pytest.raises(DataError, match=match):
        Interactions.from_ids([1, 2, 3], [1, 2, 3], ratings, source="my.csv")


def test_error_names_source_and_column_with_row_offset() -> None:
    with pytest.raises(
        DataError,
        match=r"my\.csv: column 'stars' has 1 ratings outside the scale 1\.\.5 \(first 7 at line 4\)",
    ):
        Interactions.from_ids(
            [1, 2, 3],
            [1, 2, 3],
            [1, 5, 7],
            rating_scale=(1, 5),
            source="my.csv",
            columns=("u", "i", "stars", "t"),
            row_offset=2,
        )


def test_string_ratings_that_parse_are_accepted() -> None:
    ds = Interactions.from_ids([1, 2], [1, 1], ["4.5", "3"])
    assert ds.rating.tolist() == [4.5, 3.0]


def test_empty_and_misaligned() -> None:
    with pytest.raises(DataError, match="no ratings"):
        Interactions.from_ids([], [], [])
    with pytest.raises(DataError, match="column 'item' has 2 rows but 'rating' has 3"):
        Interactions.from_ids([1, 2, 3], [1, 2], [1, 2, 3])
    with pytest.raises(DataError, match="missing IDs"):
        Interactions.from_ids(pd.Series([1, None, 3], dtype=object), [1, 2, 3], [1, 2, 3])


def test_duplicates_policies_hand_computed() -> None:
    users, items, ratings = ["a", "a", "b", "a"], [1, 1, 1, 1], [3.0, 5.0, 2.0, 4.0]
    with pytest.warns(
        DataWarning,
        match=r"2 duplicate \(user, item\) rows over 1 pairs \(first at row 0\); kept the last",
    ):
        warn = Interactions.from_ids(users, items, ratings)
    assert warn.to_pandas().sort_values("user")["rating"].tolist() == [4.0, 2.0]
    last = Interactions.from_ids(users, items, ratings, duplicates="last")
    assert last.to_pandas().sort_values("user")["rating"].tolist() == [4.0, 2.0]
    first = Interactions.from_ids(users, items, ratings, duplicates="first")
    assert first.to_pandas().sort_values("user")["rating"].tolist() == [3.0, 2.0]
    mean = Interactions.from_ids(users, items, ratings, duplicates="mean")
    assert mean.to_pandas().sort_values("user")["rating"].tolist() == [4.0, 2.0]  # (3+5+4)/3
    mean2 = Interactions.from_ids(["a", "a"], [1, 1], [3.0, 5.0], [1, 2], duplicates="mean")
    assert mean2.rating.tolist() == [4.0] and len(mean2.timestamp) == 1
    with pytest.raises(
        DataError, match=r"2 duplicate .* pass duplicates='last', 'first' or 'mean'"
    ):
        Interactions.from_ids(users, items, ratings, duplicates="error")
    with pytest.raises(ValueError, match="duplicates='drop'"):
        Interactions.from_ids(users, items, ratings, duplicates="drop")  # type: ignore[arg-type]


def test_timestamps_in_several_forms() -> None:
    ints = Interactions.from_ids([1, 2], [1, 1], [1, 2], [86400, 0])
    dates = Interactions.from_ids([1, 2], [1, 1], [1, 2], ["1970-01-02", "1970-01-01"])
    dts = Interactions.from_ids(
        [1, 2], [1, 1], [1, 2], pd.Series(pd.to_datetime(["1970-01-02", "1970-01-01"]))
    )
    assert (
        ints.timestamp.tolist() == dates.timestamp.tolist() == dts.timestamp.tolist() == [86400, 0]
    )
    with pytest.raises(DataError, match="neither numbers nor dates"):
        Interactions.from_ids([1, 2], [1, 1], [1, 2], ["yesterday-ish", "1970-01-01"])
    with pytest.raises(
        DataError, match=r"1 values that are neither numbers nor dates \(first 'soon' at row 1\)"
    ):
        Interactions.from_ids([1, 2], [1, 1], [1, 2], ["100", "soon"])
    with pytest.raises(DataError, match=r"mixes numbers \(first '100' at row 0\) with dates"):
        Interactions.from_ids([1, 2], [1, 1], [1, 2], ["100", "2001-01-01"])
    with pytest.raises(DataError, match="1 missing timestamps"):
        Interactions.from_ids([1, 2], [1, 1], [1, 2], [1.0, np.nan])


def test_given_vocabularies_and_metadata_alignment() -> None:
    users = Vocabulary([1, 2, 3], name="user")
    items = Vocabulary(["x", "y"], name="item")
    meta = pd.DataFrame(
        {
            "id": ["y", "zzz"],
            "title": ["Why (1999)", "Unrated"],
            "genres": [["Drama"], ["Comedy"]],
            "year": [1999, 2000],
        }
    )
    ds = Interactions.from_ids(
        [3, 1], ["y", "y"], [4, 5], user_vocab=users, item_vocab=items, item_metadata=meta
    )
    assert ds.users is users and ds.n_items == 2
    assert ds.item_metadata["id"].tolist() == ["x", "y"]
    assert (
        pd.isna(ds.item_metadata.loc[0, "title"])
        and ds.item_metadata.loc[1, "title"] == "Why (1999)"
    )
    assert ds.item_metadata["genres"].tolist() == [[], ["Drama"]]
    assert str(ds.item_metadata["year"].dtype) == "Int64"
    assert ds.genres == ["Drama"]
    assert "genres" in ds.describe().item_metadata
    with pytest.raises(UnknownIDError, match="1 unknown user ID"):
        Interactions.from_ids([9], ["y"], [4], user_vocab=users, item_vocab=items)
    with pytest.raises(DataError, match="expected an 'id' column"):
        Interactions.from_ids([1], ["y"], [4], item_metadata=pd.DataFrame({"title": ["t"]}))


def test_constructor_checks_ranges() -> None:
    v = Vocabulary([1, 2])
    with pytest.raises(DataError, match=r"item_index must lie in 0\.\.1"):
        Interactions(np.array([0]), np.array([5]), np.array([1.0]), v, v)
    with pytest.raises(DataError, match="must align"):
        Interactions(np.array([0, 1]), np.array([0]), np.array([1.0]), v, v)


def test_with_rating_scale() -> None:
    ds = small()
    assert ds.with_rating_scale((1, 5)).rating_scale == (1.0, 5.0)
    with pytest.raises(DataError, match=r"outside the scale 3\.\.5"):
        ds.with_rating_scale((3, 5))
