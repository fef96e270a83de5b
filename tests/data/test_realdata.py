"""The loaders on the real MovieLens files (../shared/data or $EMBEDLAB_TEST_DATA).

Expected numbers come from shared/data/README.md (checked there against the files).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from embedlab.data import Interactions, load, load_movielens, load_ratings, movielens_folds

pytestmark = pytest.mark.realdata

ML100K_HISTOGRAM = {"1": 6_110, "2": 11_370, "3": 27_145, "4": 34_174, "5": 21_201}
MLSMALL_HISTOGRAM = {
    "0.5": 1_370, "1": 2_811, "1.5": 1_791, "2": 7_551, "2.5": 5_550,
    "3": 20_047, "3.5": 13_136, "4": 26_818, "4.5": 8_551, "5": 13_211,
}  # fmt: skip


@pytest.fixture(scope="module")
def ml100k(ml100k_dir: Path) -> Interactions:
    return load_movielens(ml100k_dir, duplicates="error")


@pytest.fixture(scope="module")
def mlsmall(mlsmall_dir: Path) -> Interactions:
    return load_movielens(mlsmall_dir, duplicates="error")


# --------------------------------------------------------------------------- ML-100K


def test_ml100k_counts(ml100k: Interactions) -> None:
    assert (len(ml100k), ml100k.n_users, ml100k.n_items) == (100_000, 943, 1_682)
    assert ml100k.name == "ml-100k" and ml100k.rating_scale == (1.0, 5.0)
    assert ml100k.timestamp is not None
    assert (int(ml100k.timestamp.min()), int(ml100k.timestamp.max())) == (874_724_710, 893_286_638)
    assert ml100k.describe().rating_histogram == ML100K_HISTOGRAM
    assert int(ml100k.user_counts().min()) >= 20


def test_ml100k_items(ml100k: Interactions, ml100k_dir: Path) -> None:
    meta = ml100k.item_metadata
    assert meta is not None and len(meta) == 1_682
    assert len(ml100k.genres) == 19 and "unknown" in ml100k.genres
    toy = meta.iloc[ml100k.items.index(1)]
    assert toy["title"] == "Toy Story (1995)" and toy["year"] == 1995
    assert toy["genres"] == ["Animation", "Children's", "Comedy"]
    assert toy["release_date"] == pd.Timestamp("1995-01-01")
    unknown = meta.iloc[ml100k.items.index(267)]
    assert (
        unknown["title"] == "unknown"
        and pd.isna(unknown["year"])
        and pd.isna(unknown["release_date"])
    )
    # Every title with the latin-1 byte 0xE9 ("é") comes back with the accent intact.
    raw = (ml100k_dir / "u.item").read_bytes().splitlines()
    accented = {
        int(line.split(b"|")[0]): line.split(b"|")[1].decode("latin-1")
        for line in raw
        if b"\xe9" in line
    }
    assert len(accented) >= 5
    for item, title in accented.items():
        assert "é" in title and meta.iloc[ml100k.items.index(item)]["title"] == title
    assert meta.iloc[ml100k.items.index(1_623)]["title"] == "Cérémonie, La (1995)"
    assert meta["title"].str.contains("\ufffd").sum() == 0  # no replacement characters


def test_ml100k_users(ml100k: Interactions) -> None:
    users = ml100k.user_metadata
    assert users is not None and len(users) == 943
    assert users["gender"].value_counts().to_dict() == {"M": 670, "F": 273}
    assert (int(users["age"].min()), int(users["age"].max())) == (7, 73)
    assert users["occupation"].nunique() == 21
    assert all(isinstance(z, str) for z in users["zip"])
    assert users.iloc[ml100k.users.index(1)][["age", "gender", "occupation", "zip"]].tolist() == [
        24,
        "M",
        "technician",
        "85711",
    ]
    assert (~users["zip"].str.fullmatch(r"\d+")).sum() == 18  # Canadian postcodes stay strings


def test_ml100k_u_folds(ml100k: Interactions, ml100k_dir: Path) -> None:
    folds = movielens_folds(ml100k, ml100k_dir, "u")
    assert [f.name for f in folds] == ["u1", "u2", "u3", "u4", "u5"]
    tests = []
    for fold in folds:
        assert (len(fold.train), len(fold.test)) == (80_000, 20_000)
        assert fold.train.users is ml100k.users and fold.test.items is ml100k.items
        tests.append(fold.test.user_index.astype(np.int64) * ml100k.n_items + fold.test.item_index)
    # The five test sets partition u.data.
    union = np.sort(np.concatenate(tests))
    full = np.sort(ml100k.user_index.astype(np.int64) * ml100k.n_items + ml100k.item_index)
    assert np.array_equal(union, full)


@pytest.mark.parametrize("which", ["a", "b"])
def test_ml100k_a_b_folds(ml100k: Interactions, ml100k_dir: Path, which: str) -> None:
    (fold,) = movielens_folds(ml100k, ml100k_dir, which)
    assert fold.name == f"u{which}" and (len(fold.train), len(fold.test)) == (90_570, 9_430)
    assert np.array_equal(fold.test.user_counts(), np.full(943, 10))


def test_ml100k_folds_through_dataset(ml100k: Interactions, ml100k_dir: Path) -> None:
    folds = ml100k.folds("ml-100k-u", path=ml100k_dir)
    assert [len(f.test) for f in folds] == [20_000] * 5


def test_ml100k_u_data_as_a_table(ml100k_dir: Path, ml100k: Interactions) -> None:
    ds = load_ratings(ml100k_dir / "u.data", rating_scale=(1, 5))
    assert (len(ds), ds.n_users, ds.n_items) == (100_000, 943, 1_682)
    assert ds.fingerprint() == ml100k.fingerprint()


# --------------------------------------------------------------------------- ml-latest-small


def test_mlsmall_counts(mlsmall: Interactions) -> None:
    assert (len(mlsmall), mlsmall.n_users, mlsmall.n_items) == (100_836, 610, 9_724)
    assert mlsmall.name == "ml-latest-small" and mlsmall.rating_scale == (0.5, 5.0)
    assert mlsmall.timestamp is not None
    assert (int(mlsmall.timestamp.min()), int(mlsmall.timestamp.max())) == (
        828_124_615,
        1_537_799_250,
    )
    assert mlsmall.describe().rating_histogram == MLSMALL_HISTOGRAM
    assert mlsmall.user_metadata is None


def test_mlsmall_items(mlsmall: Interactions) -> None:
    meta = mlsmall.item_metadata
    assert meta is not None and len(meta) == 9_724
    toy = meta.iloc[mlsmall.items.index(1)]
    assert toy["title"] == "Toy Story (1995)" and toy["year"] == 1995
    assert toy["genres"] == ["Adventure", "Animation", "Children", "Comedy", "Fantasy"]
    assert "IMAX" in mlsmall.genres and "(no genres listed)" not in mlsmall.genres
    assert len(mlsmall.genres) == 19
    assert meta["title"].notna().all()  # every rated movie is in movies.csv
    assert meta["year"].notna().mean() > 0.99
    # Quoted titles with commas come back whole; accents intact.
    assert meta["title"].str.contains(", The (", regex=False).sum() > 100
    assert meta["title"].str.contains("é").sum() > 10
    assert meta["genres"].map(len).eq(0).sum() > 0  # "(no genres listed)" → []


def test_mlsmall_through_load_and_table(mlsmall_dir: Path, mlsmall: Interactions) -> None:
    assert load(mlsmall_dir).fingerprint() == mlsmall.fingerprint()
    table = load_ratings(mlsmall_dir / "ratings.csv")
    assert (len(table), table.n_users, table.n_items) == (100_836, 610, 9_724)
    assert table.fingerprint() == mlsmall.fingerprint()
