"""Implicit feedback in the data layer: load_interactions, to_implicit, per-user splits.

Every table here is small and hand-made, so each expected number is written out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import embedlab as el
from embedlab.data import Interactions, load_interactions, load_ratings
from embedlab.exceptions import DataError

# ann plays tea twice (3 + 2 minutes), jam once; bob plays tea once; cid plays jam
# and pie. Timestamps: ann's second tea play is her latest.
LOG = pd.DataFrame(
    {
        "user": ["ann", "ann", "bob", "ann", "cid", "cid"],
        "item": ["tea", "jam", "tea", "tea", "jam", "pie"],
        "minutes": [3.0, 1.0, 4.0, 2.0, 5.0, 0.5],
        "timestamp": [100, 50, 70, 300, 10, 20],
    }
)


def pairs(ds: Interactions) -> dict[tuple, float]:
    frame = ds.to_pandas()
    return {
        (u, i): float(r)
        for u, i, r in zip(frame["user"], frame["item"], frame["rating"], strict=True)
    }


def stamps(ds: Interactions) -> dict[tuple, int]:
    frame = ds.to_pandas()
    return {
        (u, i): int(t)
        for u, i, t in zip(frame["user"], frame["item"], frame["timestamp"], strict=True)
    }


# ---------------------------------------------------------------------- loading
def test_counts_without_a_weight_column() -> None:
    ds = load_interactions(LOG[["user", "item"]])
    assert ds.feedback == "implicit" and ds.rating_scale is None
    assert pairs(ds) == {
        ("ann", "tea"): 2.0,
        ("ann", "jam"): 1.0,
        ("bob", "tea"): 1.0,
        ("cid", "jam"): 1.0,
        ("cid", "pie"): 1.0,
    }
    # One row per pair, in the order of each pair's first row.
    assert ds.to_pandas()[["user", "item"]].values.tolist() == [
        ["ann", "tea"], ["ann", "jam"], ["bob", "tea"], ["cid", "jam"], ["cid", "pie"]
    ]  # fmt: skip
    assert ds.name == "interactions" and "5 interactions" in repr(ds)


@pytest.mark.parametrize(
    ("policy", "tea"),
    [("sum", 5.0), ("max", 3.0), ("mean", 2.5), ("first", 3.0), ("last", 2.0)],
)
def test_duplicate_policies_on_weights(policy: str, tea: float) -> None:
    ds = load_interactions(LOG, weight="minutes", duplicates=policy)
    got = pairs(ds)
    assert got[("ann", "tea")] == tea
    assert got[("ann", "jam")] == 1.0 and got[("cid", "pie")] == 0.5 and len(ds) == 5
    # The pair's timestamp is its latest, whatever the policy.
    assert stamps(ds)[("ann", "tea")] == 300 and stamps(ds)[("bob", "tea")] == 70


def test_duplicates_error_names_the_first_repeat() -> None:
    with pytest.raises(
        DataError, match=r"1 repeated \(user, item\) rows over 1 pairs \(first at row 3\)"
    ):
        load_interactions(LOG, weight="minutes", duplicates="error")
    with pytest.raises(ValueError, match="duplicates='warn'"):
        load_interactions(LOG, duplicates="warn")  # type: ignore[arg-type]


def test_zero_weight_pairs_are_dropped_but_ids_stay_known() -> None:
    log = LOG.assign(minutes=[3.0, 0.0, 4.0, 2.0, 5.0, 0.0])
    ds = load_interactions(log, weight="minutes")
    assert set(pairs(ds)) == {("ann", "tea"), ("bob", "tea"), ("cid", "jam")}
    assert "pie" in ds.items and ds.item_counts()[ds.items.index("pie")] == 0
    assert (ds.rating > 0).all()


def test_boolean_weights_count_as_one_and_zero() -> None:
    log = pd.DataFrame({"user": [1, 1, 2], "item": [7, 8, 7], "bought": [True, False, True]})
    ds = load_interactions(log, weight="bought")
    assert pairs(ds) == {(1, 7): 1.0, (2, 7): 1.0}


def test_csv_parquet_and_dataframe_agree(tmp_path: Path) -> None:
    csv = tmp_path / "plays.csv"
    LOG.to_csv(csv, index=False)
    parquet = tmp_path / "plays.parquet"
    pq.write_table(pa.Table.from_pandas(LOG, preserve_index=False), parquet)
    want = pairs(load_interactions(LOG, weight="minutes"))
    for src in (csv, parquet, pa.Table.from_pandas(LOG, preserve_index=False)):
        ds = load_interactions(src, weight="minutes")
        assert pairs(ds) == want and ds.timestamp is not None
        assert stamps(ds)[("ann", "tea")] == 300
    assert load_interactions(csv, weight="minutes").name == "plays"


def test_integer_ids_and_headerless_text_by_position(tmp_path: Path) -> None:
    path = tmp_path / "clicks.tsv"
    path.write_text("10\t7\t2\n10\t7\t1\n11\t8\t4\n")
    ds = load_interactions(path, weight=2)
    assert ds.users.kind == "int" and pairs(ds) == {(10, 7): 3.0, (11, 8): 4.0}
    # Without a weight column the third column is ignored and each row weighs 1.
    plain = load_interactions(path, weight=False)
    assert pairs(plain) == {(10, 7): 2.0, (11, 8): 1.0}
    ts = load_interactions(path, timestamp=2, weight=False)
    assert stamps(ts) == {(10, 7): 2, (11, 8): 4}


def test_string_ids_with_leading_zeros_stay_strings(tmp_path: Path) -> None:
    path = tmp_path / "buys.csv"
    path.write_text("customer_id,product_id\n007,A1\n007,A1\n042,B2\n")
    ds = load_interactions(path)
    assert pairs(ds) == {("007", "A1"): 2.0, ("042", "B2"): 1.0}


def test_load_ratings_refuses_rating_false() -> None:
    with pytest.raises(DataError, match="use load_interactions"):
        load_ratings(LOG, rating=False)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("column", "message"),
    [
        ([1.0, -2.0, 1.0, 1.0, 1.0, 1.0], r"column 'w' has 1 negative weights \(first -2 at row 1\)"),
        ([1.0, np.nan, 1.0, 1.0, 1.0, 1.0], r"column 'w' has 1 NaN or missing values \(first at row 1"),
        ([1.0, 1.0, np.inf, 1.0, 1.0, 1.0], r"column 'w' has 1 infinite values \(first at row 2"),
        ([0.0] * 6, r"every weight in column 'w' is 0; expected at least one positive"),
        (["1", "x", "1", "1", "1", "1"], r"column 'w' has 1 non-numeric values \(first 'x' at row 1\); expected numeric weights"),
    ],
)  # fmt: skip
def test_bad_weights_one_line_each(column: list, message: str) -> None:
    with pytest.raises(DataError, match=message) as info:
        load_interactions(LOG.assign(w=column), weight="w")
    assert "\n" not in str(info.value)


def test_bad_weights_in_a_csv_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("user,item,plays\n1,2,3\n1,3,-1\n")
    with pytest.raises(
        DataError, match=r"bad.csv: column 'plays' has 1 negative weights \(first -1 at line 3\)"
    ):
        load_interactions(path, weight="plays")
    path.write_text("user,item,plays\n1,2,3\n1,3,lots\n")
    with pytest.raises(DataError, match=r"non-numeric values \(first 'lots' at line 3\)"):
        load_interactions(path, weight="plays")


def test_empty_data_one_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no interactions \(empty input\)"):
        load_interactions(LOG.iloc[:0])
    path = tmp_path / "empty.csv"
    path.write_text("user,item\n")
    with pytest.raises(DataError, match=r"header line .* but no data rows"):
        load_interactions(path)
    path.write_text("")  # the shared reader's message speaks of interactions here
    with pytest.raises(DataError, match=r"empty .*expected an interactions table"):
        load_interactions(path)


def test_a_rating_column_is_not_silently_ignored() -> None:
    frame = pd.DataFrame({"userId": [1, 2], "movieId": [3, 4], "rating": [5.0, 1.0]})
    with pytest.raises(DataError, match="column 'rating' looks like explicit ratings") as info:
        load_interactions(frame)
    assert "weight='rating'" in str(info.value) and "to_implicit" in str(info.value)
    assert len(load_interactions(frame, weight=False)) == 2
    assert pairs(load_interactions(frame, weight="rating")) == {(1, 3): 5.0, (2, 4): 1.0}


def test_bad_column_references() -> None:
    with pytest.raises(TypeError, match="weight=True"):
        load_interactions(LOG, weight=True)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"no column 'plays' for weight;.*pass weight="):
        load_interactions(LOG, weight="plays")
    with pytest.raises(DataError, match="missing user IDs"):
        load_interactions(pd.DataFrame({"user": ["a", None], "item": ["x", "y"]}))


# ---------------------------------------------------------------------- to_implicit
@pytest.fixture()
def rated() -> Interactions:
    # user 1 rates a:5 b:3 c:4; user 2 rates a:2 b:4; user 3 rates c:1.
    return Interactions.from_ids(
        [1, 1, 1, 2, 2, 3],
        ["a", "b", "c", "a", "b", "c"],
        [5.0, 3.0, 4.0, 2.0, 4.0, 1.0],
        [10, 20, 30, 40, 50, 60],
        rating_scale=(1, 5),
    )


def test_to_implicit_keeps_positives_and_vocabularies(rated: Interactions) -> None:
    pos = rated.to_implicit(threshold=4)
    assert pos.feedback == "implicit" and pos.rating_scale is None
    assert pairs(pos) == {(1, "a"): 1.0, (1, "c"): 1.0, (2, "b"): 1.0}
    assert pos.users is rated.users and pos.items is rated.items
    assert stamps(pos) == {(1, "a"): 10, (1, "c"): 30, (2, "b"): 50}
    assert pos.user_counts().tolist() == [2, 1, 0]  # user 3 has no positive, stays known
    assert rated.feedback == "explicit" and len(rated) == 6
    assert len(rated.to_implicit(4.5)) == 1


def test_to_implicit_errors(rated: Interactions) -> None:
    with pytest.raises(
        DataError, match=r"no rating of .* reaches the threshold \(ratings span 1..5\)"
    ):
        rated.to_implicit(threshold=6)
    with pytest.raises(TypeError, match="threshold='4'"):
        rated.to_implicit(threshold="4")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        rated.to_implicit(threshold=float("nan"))


def test_describe_reports_weights_not_a_histogram() -> None:
    ds = load_interactions(LOG, weight="minutes")
    summary = ds.describe()
    assert summary.feedback == "implicit" and summary.rating_histogram == {}
    assert summary.weights["max"] == 5.0 and summary.weights["min"] == 0.5
    text = str(summary)
    assert "5 interactions (implicit)" in text and "histogram" not in text
    assert "weights: min 0.5" in text
    explicit = Interactions.from_ids([1, 2], [1, 1], [4.0, 5.0]).describe()
    assert (
        explicit.feedback == "explicit" and explicit.weights == {} and "histogram" in str(explicit)
    )


# ---------------------------------------------------------------------- splits
def _per_user_log(sizes: dict[str, int]) -> pd.DataFrame:
    rows = [
        (u, f"{u}{j}", 1000 * k + j) for k, (u, n) in enumerate(sizes.items()) for j in range(n)
    ]
    return pd.DataFrame(rows, columns=["user", "item", "timestamp"])


def test_user_split_holds_out_a_fraction_of_each_users_positives() -> None:
    # 20 % rounds half up: 10 -> 2, 5 -> 1, 3 -> 1 (0.6), 2 -> 0 (0.4), 1 -> 0.
    ds = load_interactions(_per_user_log({"u10": 10, "u5": 5, "u3": 3, "u2": 2, "u1": 1}))
    train, test = ds.split("user", test_size=0.2, by="random", random_state=0)
    held = dict(zip(*np.unique(test.users.ids()[test.user_index], return_counts=True), strict=True))
    assert held == {"u10": 2, "u5": 1, "u3": 1}
    kept = train.user_counts()
    assert kept[ds.users.index("u2")] == 2 and kept[ds.users.index("u1")] == 1
    assert train.feedback == test.feedback == "implicit"
    assert len(train) + len(test) == len(ds) == 21
    # No pair on both sides; the same seed gives the same split, another seed another.
    assert not set(pairs(train)) & set(pairs(test))
    again = ds.split("user", test_size=0.2, by="random", random_state=0).test
    assert pairs(again) == pairs(test)
    other = [ds.split("user", test_size=0.2, by="random", random_state=s).test for s in range(1, 6)]
    assert any(pairs(o) != pairs(test) for o in other)


def test_temporal_user_split_holds_out_each_users_latest() -> None:
    ds = load_interactions(_per_user_log({"u10": 10, "u5": 5, "u1": 1}))
    train, test = ds.split("user", test_size=0.2, by="time")
    latest = sorted(pairs(test))
    assert latest == [("u10", "u108"), ("u10", "u109"), ("u5", "u54")]
    # Every held-out interaction of a user is newer than all of that user's training ones.
    tr, te = train.to_pandas(), test.to_pandas()
    for user, group in te.groupby("user"):
        assert group["timestamp"].min() > tr[tr["user"] == user]["timestamp"].max()


def test_temporal_split_uses_each_pairs_latest_timestamp() -> None:
    # ann: tea at 100 and 300 (aggregated: 300), jam at 50, pie at 200 -> tea is latest.
    log = pd.DataFrame(
        {"user": ["ann"] * 4, "item": ["tea", "jam", "tea", "pie"], "t": [100, 50, 300, 200]}
    )
    ds = load_interactions(log, timestamp="t")
    _, test = ds.split("user", n_test=1, by="time")
    assert pairs(test) == {("ann", "tea"): 2.0}


def test_positives_from_ratings_then_split(rated: Interactions) -> None:
    train, test = rated.to_implicit(4).split("user", n_test=1, by="time")
    assert pairs(test) == {(1, "c"): 1.0}  # user 2 has one positive only: stays in train
    assert pairs(train) == {(1, "a"): 1.0, (2, "b"): 1.0}


def test_top_level_export() -> None:
    assert el.load_interactions is load_interactions and "load_interactions" in el.__all__
