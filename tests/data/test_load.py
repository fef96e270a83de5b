"""embedlab.data.load on ML-100K ratings files: u.data and the fold files keep the
folder's titles, genres and user attributes (a small folder written by the tests, and
the real files of $EMBEDLAB_TEST_DATA)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embedlab.data import Interactions, load, load_movielens
from embedlab.data._movielens import (
    ML100K_GENRES,
    ML100K_RATINGS_FILES,
    is_ml100k_ratings_file,
    load_ml100k_ratings_file,
)
from embedlab.exceptions import DataError

# 3 users, 4 items; u1.base holds users 1 and 2 and items 1..3, u1.test user 3 and item 4.
BASE = [(1, 1, 5, 874965758), (1, 2, 3, 876893171), (2, 1, 4, 888550871), (2, 3, 1, 880606923)]
TEST = [(3, 4, 2, 886397596), (3, 1, 3, 884182806)]


def _flags(*on: str) -> str:
    return "|".join("1" if g in on else "0" for g in ML100K_GENRES)


def _tsv(rows: list[tuple[int, int, int, int]]) -> bytes:
    return "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows).encode()


def _ml100k(folder: Path, *, metadata: bool = True) -> Path:
    folder.mkdir(parents=True)
    files = {"u.data": _tsv(BASE + TEST), "u1.base": _tsv(BASE), "u1.test": _tsv(TEST)}
    if metadata:
        files["u.item"] = (
            "1|Toy Story (1995)|01-Jan-1995||http://x/1|" + _flags("Animation", "Comedy") + "\n"
            "2|Misérables, Les (1995)|15-Dec-1995||http://x/2|" + _flags("Drama") + "\n"
            "3|Heat (1995)|01-Jan-1995||http://x/3|" + _flags("Crime") + "\n"
            "4|Fargo (1996)|14-Feb-1997||http://x/4|" + _flags("Crime", "Drama") + "\n"
        ).encode("latin-1")
        files["u.user"] = b"1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|T8H1N\n"
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


@pytest.fixture
def ml100k(tmp_path: Path) -> Path:
    return _ml100k(tmp_path / "ml-100k")


def _titles(ds: Interactions) -> dict[object, str]:
    assert ds.item_metadata is not None
    return dict(zip(ds.items.ids().tolist(), ds.item_metadata["title"], strict=True))


def test_fold_file_keeps_titles_genres_and_users(ml100k: Path) -> None:
    train = load(ml100k / "u1.base")
    assert train.name == "ml-100k u1.base"
    assert (len(train), train.n_users, train.n_items) == (4, 2, 3)
    assert train.rating_scale == (1.0, 5.0) and train.timestamp is not None
    assert _titles(train) == {1: "Toy Story (1995)", 2: "Misérables, Les (1995)", 3: "Heat (1995)"}
    assert train.item_metadata is not None and train.user_metadata is not None
    assert train.item_metadata["genres"].tolist()[0] == ["Animation", "Comedy"]
    assert train.user_metadata["occupation"].tolist() == ["technician", "other"]
    test = load(str(ml100k / "u1.test"), duplicates="error")
    assert test.name == "ml-100k u1.test"
    assert _titles(test) == {4: "Fargo (1996)", 1: "Toy Story (1995)"}
    assert test.user_metadata is not None and test.user_metadata["age"].tolist() == [23]


def test_u_data_is_the_whole_dataset(ml100k: Path) -> None:
    whole = load(ml100k / "u.data")
    folder = load_movielens(ml100k)
    assert whole.name == "ml-100k" and whole.fingerprint() == folder.fingerprint()
    assert whole.item_metadata is not None and folder.item_metadata is not None
    assert whole.item_metadata.equals(folder.item_metadata)


def test_table_options_are_an_error(ml100k: Path) -> None:
    with pytest.raises(
        DataError,
        match=r"u1\.base: is an ML-100K ratings file \(u1\.base\), whose columns are known; "
        r"sep=, user= only apply to other ratings tables",
    ):
        load(ml100k / "u1.base", user=0, sep="\t")


def test_every_predefined_file_is_recognised(ml100k: Path) -> None:
    assert len(ML100K_RATINGS_FILES) == 15
    for name in ML100K_RATINGS_FILES:
        (ml100k / name).touch(exist_ok=True)
        assert is_ml100k_ratings_file(ml100k / name), name
    (ml100k / "ratings.tsv").write_bytes(_tsv(BASE))
    assert not is_ml100k_ratings_file(ml100k / "ratings.tsv")
    assert not is_ml100k_ratings_file(ml100k / "u9.base")


def test_other_files_load_as_tables(tmp_path: Path, ml100k: Path) -> None:
    # Another file in the folder: a plain table, no metadata.
    (ml100k / "mine.tsv").write_bytes(_tsv(BASE))
    assert load(ml100k / "mine.tsv").item_metadata is None
    # A fold file away from u.data: a plain table too (table options allowed).
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "u1.base").write_bytes(_tsv(BASE))
    assert not is_ml100k_ratings_file(alone / "u1.base")
    ds = load(alone / "u1.base", rating_scale=(1, 5))
    assert len(ds) == 4 and ds.item_metadata is None
    with pytest.raises(DataError, match=r"mine\.tsv: not an ML-100K ratings file"):
        load_ml100k_ratings_file(ml100k / "mine.tsv")


def test_folder_without_metadata_files(tmp_path: Path) -> None:
    folder = _ml100k(tmp_path / "copy", metadata=False)
    ds = load(folder / "u1.base")
    assert ds.name == "ml-100k u1.base" and ds.rating_scale == (1.0, 5.0)
    assert ds.item_metadata is None and ds.user_metadata is None


# --------------------------------------------------------------------------- real files


@pytest.mark.realdata
@pytest.mark.parametrize(("fold", "n"), [("u1.base", 80_000), ("u1.test", 20_000)])
def test_real_fold_files_keep_metadata(ml100k_dir: Path, fold: str, n: int) -> None:
    ds = load(ml100k_dir / fold)
    assert len(ds) == n and ds.name == f"ml-100k {fold}"
    meta, users = ds.item_metadata, ds.user_metadata
    assert meta is not None and users is not None
    assert np.array_equal(meta["id"].to_numpy(), ds.items.ids())
    assert meta["title"].notna().all() and len(ds.genres) == 19
    toy = meta.iloc[ds.items.index(1)]
    assert toy["title"] == "Toy Story (1995)"
    assert toy["genres"] == ["Animation", "Children's", "Comedy"]
    assert users["occupation"].notna().all() and set(users["gender"]) == {"M", "F"}


@pytest.mark.realdata
def test_model_trained_on_u1_base_labels_its_films(ml100k_dir: Path) -> None:
    import embedlab as el

    model = el.MatrixFactorization(embedding_dim=4, epochs=1, random_state=0)
    model.fit(load(ml100k_dir / "u1.base"), progress=False)
    kv = model.item_embeddings()
    assert kv.labels is not None and "Star Wars (1977)" in set(kv.labels.tolist())
