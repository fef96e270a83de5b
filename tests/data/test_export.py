"""MovieLens-style CSV export: exact round trip, RFC 4180 quoting, atomic writes."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import embedlab.data._export as export
from embedlab.data import Interactions, synthetic_ratings, write_movielens_csv

TRICKY_TITLES = [
    "American President, The (1995)",
    'Say "Hello" (2001)',
    'He said, "Wow, what a film" (1999)',
    "Plain (2000)",
    "Line\nbreak (2002)",
]


def _tricky() -> Interactions:
    meta = pd.DataFrame(
        {
            "id": [10, 20, 30, 40, 50],
            "title": TRICKY_TITLES,
            "genres": [["Comedy", "Drama"], ["Sci-Fi"], [], ["Children's"], ["Horror"]],
            "year": [1995, 2001, 1999, 2000, 2002],
        }
    )
    return Interactions.from_ids(
        [1, 1, 2, 3, 3, 3],
        [10, 20, 20, 30, 40, 50],
        [4.0, 3.5, 0.5, 5.0, 1.0, 3.14159],
        [964982703, 964981247, 1, 0, 964982224, 1700000000],
        item_metadata=meta,
    )


def test_round_trip_through_pandas(tmp_path: Path) -> None:
    ds = _tricky()
    out = write_movielens_csv(ds, tmp_path / "ml")
    assert out == tmp_path / "ml"
    assert sorted(p.name for p in out.iterdir()) == ["movies.csv", "ratings.csv"]
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~mask  # not mkdtemp's 0700
    ratings = pd.read_csv(out / "ratings.csv")
    assert list(ratings.columns) == ["userId", "movieId", "rating", "timestamp"]
    back = ds.to_pandas()
    assert ratings["userId"].tolist() == back["user"].tolist()
    assert ratings["movieId"].tolist() == back["item"].tolist()
    assert np.array_equal(ratings["rating"].to_numpy().astype(np.float32), ds.rating)
    assert ratings["timestamp"].tolist() == ds.timestamp.tolist()
    movies = pd.read_csv(out / "movies.csv", keep_default_na=False)
    assert list(movies.columns) == ["movieId", "title", "genres"]
    assert movies["movieId"].tolist() == [10, 20, 30, 40, 50]
    assert movies["title"].tolist() == TRICKY_TITLES
    assert movies["genres"].tolist() == [
        "Comedy|Drama",
        "Sci-Fi",
        "(no genres listed)",
        "Children's",
        "Horror",
    ]


def test_text_is_movielens_style(tmp_path: Path) -> None:
    out = write_movielens_csv(_tricky(), tmp_path / "ml")
    lines = (out / "ratings.csv").read_text().splitlines()
    # Off the one-decimal grid (3.14159), every rating takes the shortest text of its float32.
    assert lines[1] == "1,10,4,964982703"
    assert lines[-1] == "3,50,3.14159,1700000000"  # not 3.1415901184
    on_grid = write_movielens_csv(_tricky().subset(np.arange(5)), tmp_path / "grid")
    lines = (on_grid / "ratings.csv").read_text().splitlines()
    assert lines[:3] == [
        "userId,movieId,rating,timestamp",
        "1,10,4.0,964982703",
        "1,20,3.5,964981247",
    ]
    assert lines[3:] == ["2,20,0.5,1", "3,30,5.0,0", "3,40,1.0,964982224"]
    movies = (out / "movies.csv").read_bytes().decode()
    assert movies.startswith(
        'movieId,title,genres\n10,"American President, The (1995)",Comedy|Drama\n'
    )
    assert '20,"Say ""Hello"" (2001)",Sci-Fi\n' in movies  # RFC 4180: quotes doubled
    assert "40,Plain (2000),Children's\n" in movies  # quoted only when needed
    assert "\r" not in movies
    with (out / "movies.csv").open(newline="") as fh:
        parsed = list(csv.reader(fh))
    assert [row[1] for row in parsed[1:]] == TRICKY_TITLES


def test_tenths_and_arbitrary_ratings_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(3, 1, 500).astype(np.float32)
    ds = Interactions.from_ids(np.arange(500), np.zeros(500, dtype=int), values)
    out = write_movielens_csv(ds, tmp_path / "a")
    back = pd.read_csv(out / "ratings.csv")
    assert "timestamp" not in back.columns  # no timestamps in, none out
    assert np.array_equal(back["rating"].to_numpy().astype(np.float32), values)


def test_string_ids_are_quoted_when_needed(tmp_path: Path) -> None:
    ds = Interactions.from_ids(["a,b", 'q"x', "plain"], ["m1", "m1", "m2"], [4, 3, 2])
    out = write_movielens_csv(ds, tmp_path / "s")
    back = pd.read_csv(out / "ratings.csv", dtype={"userId": str, "movieId": str})
    assert back["userId"].tolist() == ["a,b", 'q"x', "plain"]
    assert back["movieId"].tolist() == ["m1", "m1", "m2"]
    movies = pd.read_csv(out / "movies.csv", dtype={"movieId": str}, keep_default_na=False)
    assert (
        movies["title"].tolist() == ["", ""]
        and movies["genres"].tolist() == ["(no genres listed)"] * 2
    )


def test_synthetic_round_trip(tmp_path: Path) -> None:
    ds, _ = synthetic_ratings(
        300, 120, 4000, half_stars=True, rating_scale=(0.5, 5), random_state=2
    )
    out = write_movielens_csv(ds, tmp_path / "syn")
    ratings = pd.read_csv(out / "ratings.csv")
    assert len(ratings) == 4000
    assert np.array_equal(ratings["rating"].to_numpy().astype(np.float32), ds.rating)
    assert np.array_equal(ratings["userId"].to_numpy(), ds.users.ids()[ds.user_index])
    assert np.array_equal(ratings["timestamp"].to_numpy(), ds.timestamp)
    movies = pd.read_csv(out / "movies.csv")
    assert movies["title"].tolist() == ds.item_metadata["title"].tolist()
    assert movies["genres"].str.split("|").tolist() == ds.item_metadata["genres"].tolist()


def test_existing_folder(tmp_path: Path) -> None:
    ds = _tricky()
    empty = tmp_path / "empty"
    empty.mkdir()
    write_movielens_csv(ds, empty)  # an empty folder is fine
    assert (empty / "ratings.csv").exists()
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("old")
    with pytest.raises(FileExistsError, match="not empty; pass overwrite=True"):
        write_movielens_csv(ds, full)
    assert sorted(p.name for p in full.iterdir()) == ["keep.txt"]
    write_movielens_csv(ds, full, overwrite=True)
    assert sorted(p.name for p in full.iterdir()) == ["movies.csv", "ratings.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "full"]  # no leftovers
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        write_movielens_csv(ds, afile)


def test_failure_midway_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(ds: Interactions, path: Path) -> None:
        path.write_text("movieId,title\n1,half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "_write_movies", boom)
    with pytest.raises(OSError, match="No space left"):
        write_movielens_csv(_tricky(), tmp_path / "ml")
    assert list(tmp_path.iterdir()) == []
    # Replacing an existing folder: the old contents survive a failed write.
    old = tmp_path / "old"
    old.mkdir()
    (old / "ratings.csv").write_text("previous")
    with pytest.raises(OSError):
        write_movielens_csv(_tricky(), old, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["old"]
    assert (old / "ratings.csv").read_text() == "previous"


def test_unwritable_target_leaves_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(OSError):
        write_movielens_csv(_tricky(), blocker / "ml")
    assert [p.name for p in tmp_path.iterdir()] == ["not-a-folder"]
    assert blocker.read_text() == "x"


def test_chunked_writing_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "_CHUNK", 7)  # many small batches
    ds, _ = synthetic_ratings(50, 30, 400, random_state=1)
    a = write_movielens_csv(ds, tmp_path / "a")
    monkeypatch.setattr(export, "_CHUNK", 1 << 21)
    b = write_movielens_csv(ds, tmp_path / "b")
    assert (a / "ratings.csv").read_bytes() == (b / "ratings.csv").read_bytes()
    assert (a / "ratings.csv").read_text().count("\n") == 401
