"""load_movielens on small files in every GroupLens layout, written by the tests; ML-100K folds."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from embedlab.data import Interactions, Split, load, load_movielens, movielens_folds
from embedlab.data._movielens import ML100K_GENRES, detect_movielens
from embedlab.exceptions import DataError

# --------------------------------------------------------------------------- builders

# ML-100K: 3 users, 4 rated items (item 5 is listed in u.item but never rated).
U_DATA = [
    (1, 1, 5, 874965758),
    (1, 2, 3, 876893171),
    (2, 1, 4, 888550871),
    (2, 3, 1, 880606923),
    (3, 4, 2, 886397596),
    (3, 1, 3, 884182806),
]


def _flags(*on: str) -> str:
    return "|".join("1" if g in on else "0" for g in ML100K_GENRES)


CHILDRENS = "Children's"
U_ITEM = [
    "1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|"
    + _flags("Animation", CHILDRENS, "Comedy"),
    "2|Misérables, Les (1995)|15-Dec-1995||http://us.imdb.com/Title?Mis%E9rables|"
    + _flags("Drama", "Musical"),
    # No date, no URL, title "unknown" (as item 267 in the real file).
    "3|unknown||||" + _flags("unknown"),
    "4|Nénette et Boni (1996)|29-Oct-1996||http://us.imdb.com/M/title-exact?N%E9nette|"
    + _flags("Drama"),
    "5|Never Rated (1994)|01-Jan-1994|||" + _flags("Western"),
]
U_USER = "1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|T8H1N\n"
U_GENRE = "".join(f"{g}|{k}\n" for k, g in enumerate(ML100K_GENRES)) + "\n"


def _tsv(rows: list[tuple[int, int, int, int]]) -> bytes:
    return "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows).encode()


def ml100k_files(*, folds: bool = True) -> dict[str, bytes]:
    files = {
        "u.data": _tsv(U_DATA),
        "u.item": ("\n".join(U_ITEM) + "\n").encode("latin-1"),
        "u.user": U_USER.encode(),
        "u.genre": U_GENRE.encode(),
        "u.info": b"3 users\n5 items\n6 ratings\n",
    }
    if folds:
        rows = sorted(U_DATA)
        for k in range(1, 6):
            test = [rows[(k - 1) % len(rows)]]
            files[f"u{k}.base"] = _tsv([r for r in rows if r not in test])
            files[f"u{k}.test"] = _tsv(test)
        for name, test in (("ua", rows[:3]), ("ub", rows[3:])):
            files[f"{name}.base"] = _tsv([r for r in rows if r not in test])
            files[f"{name}.test"] = _tsv(test)
    return files


def write_folder(parent: Path, folder: str, files: dict[str, bytes]) -> Path:
    target = parent / folder
    target.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (target / name).write_bytes(content)
    return target


def write_zip(path: Path, folder: str, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(f"{folder}/{name}" if folder else name, content)
    return path


def ml1m_files() -> dict[str, bytes]:
    ratings = (
        "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n6::2::1::978237008\n"
    )
    movies = (
        "2::Jumanji (1995)::Adventure|Children's|Fantasy\n"
        "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
        "1260::Star Wars: Episode V - Empire Strikes Back, The (1980)::Action\n"
        "3456::Cité des enfants perdus, La (1995)::Adventure|Sci-Fi\n"
    )
    users = "1::F::1::10::48067\n2::M::56::16::70072\n6::F::50::9::55117\n"
    return {
        "ratings.dat": ratings.encode(),
        "movies.dat": movies.encode("latin-1"),
        "users.dat": users.encode(),
    }


def ml10m_files() -> dict[str, bytes]:
    ratings = "1::122::5::838985046\n1::185::4.5::838983525\n2::122::0.5::868245777\n2::8606::3::868246000\n"
    movies = (
        "122::Boomerang (1992)::Comedy|Romance\n"
        "185::Net, The (1995)::Action|Crime|Thriller\n"
        "8606::Pull My Daisy (1958)::(no genres listed)\n"
    )
    return {
        "ratings.dat": ratings.encode(),
        "movies.dat": movies.encode("utf-8"),
        "tags.dat": b"1::122::fun::1\n",
    }


MOVIES_CSV = (
    "movieId,title,genres\r\n"
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\r\n"
    '11,"American President, The (1995)",Comedy|Drama|Romance\r\n'
    '3,"""Great Performances"" Cats (1998)",Musical\r\n'
    '4,"Amélie (Fabuleux destin d\'Amélie Poulain, Le) (2001)",Comedy|Romance\r\n'
    "5,Babylon 5,Sci-Fi\r\n"
    '6,"1984 (Nineteen Eighty-Four) (1984)",(no genres listed)\r\n'
    "7,Listed Only (2000),Drama\r\n"
)
RATINGS_CSV = (
    "userId,movieId,rating,timestamp\r\n"
    "1,1,4.0,964982703\r\n1,11,4.5,964981247\r\n2,3,0.5,964982224\r\n2,4,5.0,964983815\r\n"
    "3,5,3.0,964982931\r\n3,6,2.5,964982400\r\n"
)


def csv_files(*, crlf: bool = True) -> dict[str, bytes]:
    fix = (lambda s: s) if crlf else (lambda s: s.replace("\r\n", "\n"))
    return {
        "ratings.csv": fix(RATINGS_CSV).encode(),
        "movies.csv": fix(MOVIES_CSV).encode(),
        "links.csv": b"movieId,imdbId,tmdbId\r\n1,0114709,862\r\n",
    }


def meta_row(ds: Interactions, item: object) -> dict:
    assert ds.item_metadata is not None
    return ds.item_metadata.iloc[ds.items.index(item)].to_dict()


def user_row(ds: Interactions, user: object) -> dict:
    assert ds.user_metadata is not None
    return ds.user_metadata.iloc[ds.users.index(user)].to_dict()


# --------------------------------------------------------------------------- ML-100K


@pytest.fixture
def ml100k(tmp_path: Path) -> Path:
    return write_folder(tmp_path, "ml-100k", ml100k_files())


def test_ml100k_counts_scale_and_name(ml100k: Path) -> None:
    ds = load_movielens(ml100k)
    assert (len(ds), ds.n_users, ds.n_items) == (6, 3, 4)
    assert ds.name == "ml-100k" and ds.rating_scale == (1.0, 5.0)
    assert list(ds.items) == [1, 2, 3, 4]  # item 5 is never rated: not in the vocabulary
    assert ds.timestamp is not None and int(ds.timestamp.min()) == 874965758
    frame = ds.to_pandas()
    assert frame.loc[(frame.user == 3) & (frame.item == 4), "rating"].tolist() == [2.0]


def test_ml100k_item_metadata(ml100k: Path) -> None:
    ds = load_movielens(ml100k)
    meta = ds.item_metadata
    assert meta is not None
    assert list(meta.columns) == ["id", "title", "genres", "year", "release_date", "imdb_url"]
    toy = meta_row(ds, 1)
    assert toy["title"] == "Toy Story (1995)"
    assert toy["genres"] == ["Animation", "Children's", "Comedy"]
    assert toy["year"] == 1995 and toy["release_date"] == pd.Timestamp("1995-01-01")
    assert toy["imdb_url"] == "http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)"
    mis = meta_row(ds, 2)
    assert mis["title"] == "Misérables, Les (1995)" and mis["genres"] == ["Drama", "Musical"]
    assert mis["release_date"] == pd.Timestamp("1995-12-15")
    assert meta_row(ds, 4)["title"] == "Nénette et Boni (1996)"
    unknown = meta_row(ds, 3)
    assert unknown["title"] == "unknown" and unknown["genres"] == ["unknown"]
    assert (
        pd.isna(unknown["year"])
        and pd.isna(unknown["release_date"])
        and pd.isna(unknown["imdb_url"])
    )
    assert str(meta["year"].dtype) == "Int64"


def test_ml100k_user_metadata(ml100k: Path) -> None:
    ds = load_movielens(ml100k)
    assert ds.user_metadata is not None
    assert list(ds.user_metadata.columns) == ["id", "age", "gender", "occupation", "zip"]
    assert user_row(ds, 1) == {
        "id": 1,
        "age": 24,
        "gender": "M",
        "occupation": "technician",
        "zip": "85711",
    }
    assert user_row(ds, 3)["zip"] == "T8H1N"  # Canadian postcode: zip codes are strings
    assert str(ds.user_metadata["age"].dtype) == "Int64"


def test_ml100k_genres_from_u_genre_and_fallback(tmp_path: Path) -> None:
    files = ml100k_files()
    ds = load_movielens(write_folder(tmp_path, "a", files))
    assert sorted(ds.genres) == sorted(
        ["Animation", "Children's", "Comedy", "Drama", "Musical", "unknown"]
    )
    del files["u.genre"]
    ds2 = load_movielens(write_folder(tmp_path, "b", files))
    assert ds2.item_metadata is not None and ds.item_metadata is not None
    assert ds2.item_metadata["genres"].tolist() == ds.item_metadata["genres"].tolist()


def test_ml100k_zip_archive(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "ml-100k.zip", "ml-100k", ml100k_files())
    ds = load_movielens(archive)
    assert (len(ds), ds.n_users, ds.n_items, ds.name) == (6, 3, 4, "ml-100k")
    assert meta_row(ds, 2)["title"] == "Misérables, Les (1995)"
    folds = movielens_folds(ds, archive, "u")
    assert [f.name for f in folds] == ["u1", "u2", "u3", "u4", "u5"]


def test_ml100k_files_one_folder_down_and_unknown_name(tmp_path: Path) -> None:
    write_folder(tmp_path / "download", "stuff", ml100k_files(folds=False))
    ds = load_movielens(tmp_path / "download")
    assert len(ds) == 6 and ds.name == "ml-100k"  # named after the layout


def test_ml100k_without_metadata_files(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, "ml-100k", {"u.data": _tsv(U_DATA)})
    ds = load_movielens(folder)
    assert len(ds) == 6 and ds.item_metadata is None and ds.user_metadata is None


def test_ml100k_rating_off_scale(tmp_path: Path) -> None:
    rows = [*U_DATA[:2], (2, 1, 6, 888550871)]
    folder = write_folder(tmp_path, "ml-100k", {"u.data": _tsv(rows)})
    with pytest.raises(
        DataError,
        match=r"u\.data: column 'rating' has 1 ratings outside the scale 1\.\.5 \(first 6 at line 3\)",
    ):
        load_movielens(folder)


def test_ml100k_damaged_u_item(tmp_path: Path) -> None:
    files = ml100k_files(folds=False)
    files["u.item"] = files["u.item"].replace(b"|01-Jan-1994|", b"|01-Jan-1994|extra|")
    folder = write_folder(tmp_path, "ml-100k", files)
    with pytest.raises(
        DataError, match=r"u\.item: 1 lines do not have 24 '\|'-separated fields \(first at line 5"
    ):
        load_movielens(folder)


def test_ml100k_duplicates_policy(tmp_path: Path) -> None:
    rows = [*U_DATA, (1, 1, 1, 874965800)]
    folder = write_folder(tmp_path, "ml-100k", {"u.data": _tsv(rows)})
    with pytest.raises(DataError, match=r"u\.data: 1 duplicate \(user, item\) rows"):
        load_movielens(folder, duplicates="error")
    ds = load_movielens(folder, duplicates="mean")
    frame = ds.to_pandas()
    assert frame.loc[(frame.user == 1) & (frame.item == 1), "rating"].tolist() == [3.0]


# --------------------------------------------------------------------------- ML-100K folds


def test_ml100k_u_folds(ml100k: Path) -> None:
    ds = load_movielens(ml100k)
    folds = movielens_folds(ds, ml100k, "u")
    assert all(isinstance(f, Split) for f in folds)
    assert [f.name for f in folds] == ["u1", "u2", "u3", "u4", "u5"]
    for fold in folds:
        train, test = fold
        assert (len(train), len(test)) == (5, 1)
        assert train.users is ds.users and test.items is ds.items
        assert train.rating_scale == ds.rating_scale and train.item_metadata is not None
    # u1.test holds the first row in (user, item) order: user 1, item 1, rating 5.
    assert folds[0].test.to_pandas()[["user", "item", "rating"]].values.tolist() == [[1, 1, 5.0]]


def test_ml100k_a_and_b_folds(ml100k: Path) -> None:
    ds = load_movielens(ml100k)
    (a,) = movielens_folds(ds, ml100k, "a")
    (b,) = movielens_folds(ds, ml100k, "b")
    assert (a.name, len(a.train), len(a.test)) == ("ua", 3, 3)
    assert (b.name, len(b.train), len(b.test)) == ("ub", 3, 3)
    assert a.test.timestamp is not None


def test_folds_through_the_split_dispatcher(ml100k: Path) -> None:
    ds = load_movielens(ml100k)
    folds = ds.folds("ml-100k-b", path=ml100k)
    assert [f.name for f in folds] == ["ub"]


def test_folds_errors(tmp_path: Path, ml100k: Path) -> None:
    ds = load_movielens(ml100k)
    with pytest.raises(ValueError, match=r"which='c'"):
        movielens_folds(ds, ml100k, "c")
    (ml100k / "u3.test").unlink()
    with pytest.raises(
        DataError, match=r"u3\.test: file not found; the ML-100K release ships u1\.\.u5"
    ):
        movielens_folds(ds, ml100k, "u")
    other = write_folder(tmp_path, "other", ml100k_files())
    (other / "ua.test").write_bytes(_tsv([(9, 1, 3, 1), (1, 2, 3, 1)]))
    with pytest.raises(
        DataError,
        match=r"ua\.test: 1 user IDs are not in the dataset 'ml-100k' \(first 9 at line 1\)",
    ):
        movielens_folds(ds, other, "a")
    (other / "ub.test").write_bytes(_tsv([U_DATA[0]]))  # also in ub.base
    with pytest.raises(DataError, match=r"ub\.test: 1 \(user, item\) pairs are also in ub\.base"):
        movielens_folds(ds, other, "b")
    csv = write_folder(tmp_path, "ml-latest-small", csv_files())
    with pytest.raises(DataError, match=r"predefined folds exist only for ML-100K"):
        movielens_folds(ds, csv, "u")


# --------------------------------------------------------------------------- ML-1M


def test_ml1m(tmp_path: Path) -> None:
    ds = load_movielens(write_folder(tmp_path, "ml-1m", ml1m_files()))
    assert (len(ds), ds.n_users, ds.n_items, ds.name) == (4, 3, 3, "ml-1m")
    assert ds.rating_scale == (1.0, 5.0) and ds.timestamp is not None
    assert list(ds.items) == [2, 661, 1193]
    cuckoo = meta_row(ds, 1193)
    assert cuckoo == {
        "id": 1193,
        "title": "One Flew Over the Cuckoo's Nest (1975)",
        "genres": ["Drama"],
        "year": 1975,
    }
    assert meta_row(ds, 661)["genres"] == ["Animation", "Children's", "Musical"]
    # Occupation codes become the names the ML-1M README gives them (16 = self-employed).
    assert user_row(ds, 2) == {
        "id": 2,
        "age": 56,
        "gender": "M",
        "occupation": "self-employed",
        "zip": "70072",
    }


def test_ml1m_latin1_and_colon_titles(tmp_path: Path) -> None:
    files = ml1m_files()
    files["ratings.dat"] += b"2::3456::4::978298500\n6::1260::5::978298600\n"
    ds = load_movielens(write_folder(tmp_path, "ml-1m", files))
    assert meta_row(ds, 3456)["title"] == "Cité des enfants perdus, La (1995)"
    star = meta_row(ds, 1260)
    assert (
        star["title"] == "Star Wars: Episode V - Empire Strikes Back, The (1980)"
        and star["year"] == 1980
    )


def test_ml1m_zip_with_crlf(tmp_path: Path) -> None:
    files = {k: v.replace(b"\n", b"\r\n") for k, v in ml1m_files().items()}
    ds = load_movielens(write_zip(tmp_path / "ml-1m.zip", "ml-1m", files))
    assert (len(ds), ds.name) == (4, "ml-1m")
    assert meta_row(ds, 1193)["genres"] == ["Drama"] and user_row(ds, 6)["zip"] == "55117"


# --------------------------------------------------------------------------- ML-10M


def test_ml10m(tmp_path: Path) -> None:
    ds = load_movielens(write_folder(tmp_path, "ml-10M100K", ml10m_files()))
    assert (len(ds), ds.n_users, ds.n_items, ds.name) == (4, 2, 3, "ml-10m")
    assert ds.rating_scale == (0.5, 5.0) and ds.user_metadata is None
    assert sorted(ds.rating.tolist()) == [0.5, 3.0, 4.5, 5.0]
    assert meta_row(ds, 8606) == {
        "id": 8606,
        "title": "Pull My Daisy (1958)",
        "genres": [],
        "year": 1958,
    }
    assert meta_row(ds, 185)["genres"] == ["Action", "Crime", "Thriller"]


def test_ml10m_detection() -> None:
    assert detect_movielens("/nonexistent") is None


# --------------------------------------------------------------------------- CSV releases


@pytest.mark.parametrize("crlf", [True, False])
def test_csv_release(tmp_path: Path, crlf: bool) -> None:
    ds = load_movielens(write_folder(tmp_path, "ml-latest-small", csv_files(crlf=crlf)))
    assert (len(ds), ds.n_users, ds.n_items, ds.name) == (6, 3, 6, "ml-latest-small")
    assert 7 not in ds.items  # listed in movies.csv, never rated
    assert ds.rating_scale == (0.5, 5.0) and ds.user_metadata is None
    assert meta_row(ds, 1) == {
        "id": 1,
        "title": "Toy Story (1995)",
        "genres": ["Adventure", "Animation", "Children", "Comedy", "Fantasy"],
        "year": 1995,
    }
    assert meta_row(ds, 11)["title"] == "American President, The (1995)"
    assert meta_row(ds, 3)["title"] == '"Great Performances" Cats (1998)'
    amelie = meta_row(ds, 4)
    assert (
        amelie["title"] == "Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)"
        and amelie["year"] == 2001
    )
    assert pd.isna(meta_row(ds, 5)["year"])
    orwell = meta_row(ds, 6)
    assert orwell["genres"] == [] and orwell["year"] == 1984
    assert "(no genres listed)" not in ds.genres
    assert sorted(ds.rating.tolist()) == [0.5, 2.5, 3.0, 4.0, 4.5, 5.0]


@pytest.mark.parametrize(
    ("archive", "folder", "name"),
    [
        ("ml-25m.zip", "ml-25m", "ml-25m"),
        ("ml-32m.zip", "ml-32m", "ml-32m"),
        ("ml-20m.zip", "ml-20m", "ml-20m"),
        ("mine.zip", "ml-latest", "ml-latest"),
        ("ratings.zip", "", "ratings"),
    ],
)
def test_csv_release_zip_names(tmp_path: Path, archive: str, folder: str, name: str) -> None:
    ds = load_movielens(write_zip(tmp_path / archive, folder, csv_files()))
    assert (len(ds), ds.name) == (6, name)


def test_csv_release_bad_rating(tmp_path: Path) -> None:
    files = csv_files()
    files["ratings.csv"] += b"4,1,5.5,964982931\r\n"
    folder = write_folder(tmp_path, "ml-latest-small", files)
    with pytest.raises(
        DataError,
        match=r"ratings\.csv: column 'rating' has 1 ratings outside the scale 0\.5\.\.5 \(first 5\.5 at line 8\)",
    ):
        load_movielens(folder)


def test_csv_release_damaged_movies(tmp_path: Path) -> None:
    files = csv_files()
    files["movies.csv"] = b"movieId,name\r\n1,Toy Story\r\n"
    with pytest.raises(
        DataError, match=r"movies\.csv: cannot read as a movieId,title,genres CSV file"
    ):
        load_movielens(write_folder(tmp_path, "ml-latest-small", files))


# --------------------------------------------------------------------------- detection and load()


def test_not_movielens(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(
        DataError,
        match=r"not a MovieLens dataset \(no u\.data, ratings\.dat or ratings\.csv \+ movies\.csv",
    ):
        load_movielens(tmp_path)
    with pytest.raises(DataError, match=r"not found; expected a MovieLens folder"):
        load_movielens(tmp_path / "missing")
    with pytest.raises(DataError, match=r"not a folder or a \.zip archive"):
        load_movielens(tmp_path / "readme.txt")
    empty_zip = write_zip(tmp_path / "e.zip", "x", {"a.txt": b"a"})
    with pytest.raises(DataError, match=r"e\.zip: the archive holds no MovieLens dataset"):
        load_movielens(empty_zip)


def test_detect_layouts(tmp_path: Path) -> None:
    assert detect_movielens(write_folder(tmp_path, "a", ml100k_files(folds=False))) == "ml-100k"
    assert detect_movielens(write_folder(tmp_path, "b", ml1m_files())) == "ml-1m"
    assert detect_movielens(write_folder(tmp_path, "c", ml10m_files())) == "ml-10m"
    assert detect_movielens(write_folder(tmp_path, "d", csv_files())) == "csv"
    assert detect_movielens(tmp_path / "a" / "u.data") is None


def test_load_dispatches_movielens(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, "ml-100k", ml100k_files(folds=False))
    ds = load(folder)
    assert ds.name == "ml-100k" and ds.item_metadata is not None
    assert len(load(str(folder), duplicates="error")) == 6
    archive = write_zip(tmp_path / "ml-1m.zip", "ml-1m", ml1m_files())
    assert load(archive).name == "ml-1m"
    with pytest.raises(
        DataError, match=r"is a MovieLens dataset, whose columns are known; user= only apply"
    ):
        load(folder, user="userId")
    # u.data inside the folder loads with the folder's metadata (see tests/data/test_load.py).
    single = load(folder / "u.data")
    assert len(single) == 6 and single.item_metadata is not None


def test_vocabulary_is_shared_with_metadata(tmp_path: Path) -> None:
    ds = load_movielens(write_folder(tmp_path, "ml-latest-small", csv_files()))
    assert ds.item_metadata is not None
    assert np.array_equal(ds.item_metadata["id"].to_numpy(), ds.items.ids())


def test_several_datasets_in_one_folder_or_archive(tmp_path: Path) -> None:
    write_folder(tmp_path / "data", "ml-100k", ml100k_files(folds=False))
    write_folder(tmp_path / "data", "ml-latest-small", csv_files())
    with pytest.raises(
        DataError, match=r"holds several MovieLens datasets \(ml-100k, ml-latest-small\); pass one"
    ):
        load_movielens(tmp_path / "data")
    with pytest.raises(DataError, match=r"holds several MovieLens datasets"):
        load(tmp_path / "data")
    archive = tmp_path / "both.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name, content in ml100k_files(folds=False).items():
            zf.writestr(f"ml-100k/{name}", content)
        for name, content in csv_files().items():
            zf.writestr(f"ml-latest-small/{name}", content)
    with pytest.raises(DataError, match=r"both\.zip: the archive holds several MovieLens datasets"):
        load_movielens(archive)


def test_zip_given_to_load_ratings(tmp_path: Path) -> None:
    from embedlab.data import load_ratings

    archive = write_zip(tmp_path / "ml-100k.zip", "ml-100k", ml100k_files(folds=False))
    with pytest.raises(DataError, match=r"ml-100k\.zip: is a zip archive, not a ratings table"):
        load_ratings(archive)
