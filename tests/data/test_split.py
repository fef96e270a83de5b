"""Splits: properties (disjoint, covering, reproducible, shared vocabularies) and known answers."""

from __future__ import annotations

import sys
import types
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embedlab.data import Interactions, Split, folds, split
from embedlab.exceptions import DataError

PROPS = settings(deadline=None, max_examples=60)


@st.composite
def datasets(draw: st.DrawFn, *, timestamps: bool | None = None) -> Interactions:
    """Small Interactions with distinct (user, item) pairs, with or without timestamps."""
    n_users = draw(st.integers(1, 7))
    n_items = draw(st.integers(1, 7))
    cells = draw(
        st.lists(
            st.tuples(st.integers(0, n_users - 1), st.integers(0, n_items - 1)),
            min_size=2,
            max_size=40,
            unique=True,
        )
    )
    ratings = draw(st.lists(st.integers(1, 5), min_size=len(cells), max_size=len(cells)))
    with_ts = draw(st.booleans()) if timestamps is None else timestamps
    ts = (
        draw(st.lists(st.integers(0, 20), min_size=len(cells), max_size=len(cells)))
        if with_ts
        else None
    )
    users = [f"u{u}" for u, _ in cells]
    items = [10 + i for _, i in cells]
    return Interactions.from_ids(users, items, ratings, ts, duplicates="error")


def rows(ds: Interactions) -> list[tuple]:
    ts = ds.timestamp if ds.timestamp is not None else np.zeros(len(ds), dtype=np.int64)
    return sorted(
        zip(
            ds.user_index.tolist(),
            ds.item_index.tolist(),
            ds.rating.tolist(),
            ts.tolist(),
            strict=True,
        )
    )


def check_split(ds: Interactions, sp: Split) -> None:
    train, test = sp
    assert train.users is ds.users and test.users is ds.users
    assert train.items is ds.items and test.items is ds.items
    assert len(train) > 0 and len(test) > 0
    # Together they are the input exactly (as a multiset), and they share no row.
    assert Counter(rows(train)) + Counter(rows(test)) == Counter(rows(ds))
    assert not set(rows(train)) & set(rows(test))


def same(a: Split, b: Split) -> bool:
    return a.name == b.name and rows(a.train) == rows(b.train) and rows(a.test) == rows(b.test)


def expect_error_or(fn, check) -> None:
    try:
        sp = fn()
    except DataError as exc:
        assert "empty" in str(exc)
        return
    check(sp)


# ---------------------------------------------------------------------- properties
@PROPS
@given(ds=datasets(), frac=st.floats(0.01, 0.99), seed=st.integers(0, 2**32))
def test_random_fraction(ds: Interactions, frac: float, seed: int) -> None:
    n = len(ds)
    expected = int(np.floor(frac * n + 0.5))
    if expected in (0, n):
        with pytest.raises(DataError, match="empty"):
            split(ds, "random", test_size=frac, random_state=seed)
        return
    sp = split(ds, "random", test_size=frac, random_state=seed)
    check_split(ds, sp)
    assert len(sp.test) == expected
    assert same(sp, split(ds, "random", test_size=frac, random_state=seed))
    assert sp.name == f"random(test_size={frac!r}, random_state={seed})"


@PROPS
@given(ds=datasets(), data=st.data())
def test_random_count(ds: Interactions, data: st.DataObject) -> None:
    count = data.draw(st.integers(1, len(ds) - 1))
    sp = split(ds, "random", test_size=count, random_state=3)
    check_split(ds, sp)
    assert len(sp.test) == count


@PROPS
@given(
    ds=datasets(), n_test=st.integers(1, 3), min_train=st.integers(0, 2), seed=st.integers(0, 100)
)
def test_user_holdout(ds: Interactions, n_test: int, min_train: int, seed: int) -> None:
    counts = ds.user_counts()
    held = np.clip(np.minimum(n_test, counts - min_train), 0, None)

    def check(sp: Split) -> None:
        check_split(ds, sp)
        assert np.array_equal(sp.test.user_counts(), held)
        assert same(sp, split(ds, "user", n_test=n_test, min_train=min_train, random_state=seed))
        if (
            ds.timestamp is not None
        ):  # by time: nothing in train is newer than the user's test ratings
            for u in np.unique(sp.test.user_index):
                tr = sp.train.timestamp[sp.train.user_index == u]
                te = sp.test.timestamp[sp.test.user_index == u]
                assert tr.size == 0 or tr.max() <= te.min()

    if held.sum() in (0, len(ds)):
        with pytest.raises(DataError, match="empty"):
            split(ds, "user", n_test=n_test, min_train=min_train, random_state=seed)
    else:
        check(split(ds, "user", n_test=n_test, min_train=min_train, random_state=seed))


@PROPS
@given(ds=datasets(), frac=st.floats(0.05, 0.95))
def test_user_fraction(ds: Interactions, frac: float) -> None:
    counts = ds.user_counts()
    held = np.clip(np.minimum(np.floor(frac * counts + 0.5), counts - 1), 0, None)

    def check(sp: Split) -> None:
        check_split(ds, sp)
        assert np.array_equal(sp.test.user_counts(), held)

    expect_error_or(lambda: split(ds, "user", test_size=frac, by="random", random_state=1), check)


@PROPS
@given(ds=datasets(timestamps=True), frac=st.floats(0.05, 0.95))
def test_temporal_fraction(ds: Interactions, frac: float) -> None:
    def check(sp: Split) -> None:
        check_split(ds, sp)
        assert sp.train.timestamp.max() < sp.test.timestamp.min()
        assert len(sp.test) >= int(np.floor(frac * len(ds) + 0.5))

    try:
        sp = split(ds, "temporal", test_size=frac)
    except DataError as exc:
        assert "empty" in str(exc) or "oldest timestamp" in str(exc)
        return
    check(sp)


@PROPS
@given(ds=datasets(timestamps=True), data=st.data())
def test_temporal_cutoff_is_exact(ds: Interactions, data: st.DataObject) -> None:
    cutoff = data.draw(st.integers(-1, 22))
    mask = ds.timestamp >= cutoff
    if mask.sum() in (0, len(ds)):
        with pytest.raises(DataError, match="empty"):
            split(ds, "temporal", cutoff=cutoff)
        return
    sp = split(ds, "temporal", cutoff=cutoff)
    check_split(ds, sp)
    assert Counter(rows(sp.test)) == Counter(rows(ds.subset(mask)))


@PROPS
@given(ds=datasets(), data=st.data(), seed=st.integers(0, 1000))
def test_kfold_partitions(ds: Interactions, data: st.DataObject, seed: int) -> None:
    k = data.draw(st.integers(2, min(len(ds), 6)))
    fs = folds(ds, "kfold", k=k, random_state=seed)
    assert len(fs) == k
    assert [f.name for f in fs] == [f"fold {i}/{k}" for i in range(1, k + 1)]
    all_tests: Counter = Counter()
    for f in fs:
        check_split(ds, f)
        all_tests += Counter(rows(f.test))
    assert all_tests == Counter(rows(ds))  # each rating in exactly one test fold
    sizes = [len(f.test) for f in fs]
    assert max(sizes) - min(sizes) <= 1
    again = folds(ds, "kfold", k=k, random_state=seed)
    assert all(same(a, b) for a, b in zip(fs, again, strict=True))


# ---------------------------------------------------------------------- known answers
def _timed() -> Interactions:
    # user 1: times 5, 1, 4, 2, 3 (newest: items 10 then 12); user 2: two ratings; user 3: one.
    return Interactions.from_ids(
        [1, 1, 1, 1, 1, 2, 2, 3],
        [10, 11, 12, 13, 14, 10, 11, 10],
        [5, 4, 3, 2, 1, 3, 4, 5],
        [5, 1, 4, 2, 3, 7, 9, 8],
    )


def test_user_last_n_takes_newest() -> None:
    ds = _timed()
    train, test = split(ds, "user", n_test=2)
    got = sorted(
        zip(
            ds.users.ids()[test.user_index].tolist(),
            ds.items.ids()[test.item_index].tolist(),
            strict=True,
        )
    )
    # user 1: items 10 (t=5) and 12 (t=4); user 2: keeps one in train (min_train=1), so item 11 (t=9);
    # user 3 has a single rating, which stays in train.
    assert got == [(1, 10), (1, 12), (2, 11)]
    assert len(train) == 5
    assert split(ds, "user", n_test=2).name == "user(n_test=2, min_train=1, by=time)"


def test_user_min_train_zero_and_fraction() -> None:
    ds = _timed()
    _, test = split(ds, "user", n_test=1, min_train=0)
    assert sorted(test.timestamp.tolist()) == [5, 8, 9]
    _, test = split(
        ds, "user", test_size=0.5
    )  # 5 -> 3 (2.5 rounds up, 5 - 1 allowed), 2 -> 1, 1 -> 0
    assert test.user_counts().tolist() == [3, 1, 0]


def test_user_without_timestamps_is_random_and_seeded() -> None:
    ds = Interactions.from_ids([1] * 6 + [2] * 6, list(range(6)) * 2, [3] * 12)
    a = split(ds, "user", n_test=2, random_state=0)
    b = split(ds, "user", n_test=2, random_state=0)
    assert rows(a.test) == rows(b.test)
    assert a.test.user_counts().tolist() == [2, 2]
    assert "by=random" in a.name
    tests = {tuple(rows(split(ds, "user", n_test=2, random_state=s).test)) for s in range(10)}
    assert len(tests) > 1
    with pytest.raises(DataError, match="timestamps"):
        split(ds, "user", by="time")


def test_temporal_cutoff_date_string() -> None:
    ds = _timed()
    sp = split(ds, "temporal", cutoff="1970-01-01 00:00:05")
    assert sorted(sp.test.timestamp.tolist()) == [5, 7, 8, 9]
    assert sp.name == "temporal(cutoff=1970-01-01T00:00:05)"
    same_sp = split(ds, "temporal", cutoff=5)
    assert rows(same_sp.test) == rows(sp.test)
    sp = split(ds, "temporal", test_size=0.25)
    assert sorted(sp.test.timestamp.tolist()) == [8, 9]


def test_unseen_users_and_items() -> None:
    ds = Interactions.from_ids(
        ["a", "a", "b", "c", "c"], ["x", "y", "x", "z", "y"], [1, 2, 3, 4, 5], [1, 2, 3, 4, 5]
    )
    sp = split(ds, "temporal", cutoff=4)  # test: (c, z), (c, y)
    assert sp.unseen_users == 1  # c
    assert sp.unseen_items == 1  # z; y is in train
    info = sp.describe()
    assert info["test_ratings"] == 2 and info["test_users"] == 1 and info["test_items"] == 2


def test_interactions_methods_delegate() -> None:
    ds = _timed()
    assert same(
        ds.split("random", test_size=2, random_state=4),
        split(ds, "random", test_size=2, random_state=4),
    )
    a, b = ds.folds(k=2), folds(ds, k=2)
    assert all(same(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    ("owner", "call"),
    [
        ("split", lambda ds, **kw: split(ds, "random", test_size=2, **kw)),
        ("folds", lambda ds, **kw: folds(ds, "kfold", k=2, **kw)),
        ("Interactions.split", lambda ds, **kw: ds.split("user", n_test=1, by="random", **kw)),
        ("Interactions.folds", lambda ds, **kw: ds.folds("kfold", k=2, **kw)),
    ],
)
def test_seed_is_the_deprecated_name_of_random_state(owner, call) -> None:
    ds = _timed()
    with pytest.warns(
        FutureWarning,
        match=rf"^{owner}: seed= is deprecated and will be removed in the next release; "
        "use random_state=$",
    ):
        old = call(ds, seed=3)
    new = call(ds, random_state=3)
    old, new = (x if isinstance(x, list) else [x] for x in (old, new))
    assert all(same(a, b) for a, b in zip(old, new, strict=True))
    with pytest.raises(ValueError, match=r"both random_state= and seed="):
        call(ds, seed=3, random_state=3)


def test_defaults() -> None:
    ds = _timed()
    sp = split(ds)
    assert sp.name == "random(test_size=0.2, random_state=0)"
    assert len(sp.test) == 2
    assert len(folds(ds)) == 5


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("method", "options", "match"),
    [
        ("bogus", {}, r"unknown split method 'bogus'.*'random', 'user', 'temporal'"),
        ("kfold", {}, r"for folds use folds\(\)"),
        ("random", {"test_size": 0.0}, r"test_size=0.0: expected a fraction in \(0, 1\)"),
        ("random", {"test_size": 1.5}, r"test_size=1.5"),
        ("random", {"test_size": 8}, r"test_size=8: as a count it must lie in 1..7"),
        ("random", {"test_size": "a lot"}, r"test_size='a lot'"),
        ("random", {"test_size": 0.01}, r"test set empty"),
        ("random", {"random_state": -1}, r"random_state=-1"),
        ("random", {"k": 3}, r"unknown option\(s\) 'k'; it takes test_size, random_state"),
        ("user", {"n_test": 0}, r"n_test=0"),
        ("user", {"n_test": 1, "test_size": 0.2}, r"not both"),
        ("user", {"test_size": 3}, r"fraction of each user's ratings"),
        ("user", {"min_train": -1}, r"min_train=-1"),
        ("user", {"by": "age"}, r"by='age'"),
        ("user", {"n_test": 1, "min_train": 10}, r"test set is empty"),
        ("temporal", {}, r"exactly one of cutoff"),
        ("temporal", {"cutoff": 3, "test_size": 0.2}, r"exactly one of cutoff"),
        ("temporal", {"cutoff": "not a date"}, r"cutoff='not a date'"),
        ("temporal", {"cutoff": 100}, r"leaves the test set empty; the ratings span"),
        ("temporal", {"cutoff": 0}, r"leaves the training set empty"),
    ],
)
def test_bad_options(method: str, options: dict, match: str) -> None:
    with pytest.raises(DataError, match=match):
        split(_timed(), method, **options)


def test_temporal_needs_timestamps() -> None:
    ds = Interactions.from_ids([1, 2, 3], [1, 1, 1], [3, 4, 5])
    with pytest.raises(DataError, match="temporal split needs timestamps"):
        split(ds, "temporal", test_size=0.3)


def test_fold_errors() -> None:
    ds = _timed()
    with pytest.raises(DataError, match=r"unknown folds method 'loo'.*'kfold', 'ml-100k-u'"):
        folds(ds, "loo")
    with pytest.raises(DataError, match=r"k=1: expected an integer number of folds in 2..8"):
        folds(ds, k=1)
    with pytest.raises(DataError, match="k=9"):
        folds(ds, k=9)
    with pytest.raises(DataError, match="needs path="):
        folds(ds, "ml-100k-u")
    with pytest.raises(DataError, match=r"unknown option\(s\) 'k'"):
        folds(ds, "ml-100k-u", path="x", k=5)
    with pytest.raises(DataError, match="at least 2"):
        split(ds.subset(np.array([0])))
    with pytest.raises(TypeError, match="Interactions"):
        split([1, 2, 3])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("method", "which"), [("ml-100k-u", "u"), ("ml-100k-a", "a"), ("ml-100k-b", "b")]
)
def test_movielens_folds_delegate(monkeypatch: pytest.MonkeyPatch, method: str, which: str) -> None:
    calls = []
    ds = _timed()

    def fake(ds_arg: Interactions, path, which_arg: str) -> list[Split]:
        calls.append((ds_arg, path, which_arg))
        return [Split(ds_arg, ds_arg, name=f"{which_arg}1")]

    monkeypatch.setitem(
        sys.modules, "embedlab.data._movielens", types.SimpleNamespace(movielens_folds=fake)
    )
    out = folds(ds, method, path="/data/ml-100k")
    assert calls == [(ds, "/data/ml-100k", which)]
    assert [f.name for f in out] == [f"{which}1"]
