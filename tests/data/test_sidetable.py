"""Side tables: read_side_table and Interactions.with_item_metadata / with_user_metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from embedlab.data import Interactions, read_side_table
from embedlab.exceptions import DataError


def _ratings(items: list) -> Interactions:
    users = [1, 1, 2, 2][: len(items)]
    return Interactions.from_ids(users, items, [4.0, 3.0, 5.0, 2.0][: len(items)])


# ---------------------------------------------------------------- read_side_table
def test_string_ids_label_and_types_kept(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("code,name,price,aisle\n007,Tea,3.5,drinks\nB2,Wine,12,drinks\n")
    side = read_side_table(path, label="name")
    assert side.index.tolist() == ["007", "B2"] and side.index.name == "code"
    assert list(side.columns) == ["label", "price", "aisle"]
    assert side["label"].tolist() == ["Tea", "Wine"]
    assert side["price"].dtype.kind == "f" and side["aisle"].tolist() == ["drinks", "drinks"]


def test_int_ids_key_column_separator_and_encoding(tmp_path: Path) -> None:
    path = tmp_path / "items.txt"
    path.write_bytes("name;movie;kind\nCafé;10;a\nThé;20;b\n".encode("latin-1"))
    side = read_side_table(path, key="movie", label="name", sep=";", encoding="latin-1")
    assert side.index.tolist() == [10, 20] and side.index.dtype == np.int64
    assert side["label"].tolist() == ["Café", "Thé"] and list(side.columns) == ["label", "kind"]
    with pytest.raises(DataError, match="encoding='latin-1'"):
        read_side_table(path, key="movie", sep=";")


def test_parquet_and_sniffed_tsv(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": [3, 1], "name": ["c", "a"], "n": [1, 2]})
    frame.to_parquet(tmp_path / "t.parquet")
    side = read_side_table(tmp_path / "t.parquet", label="name")
    assert side.index.tolist() == [3, 1] and side["n"].tolist() == [1, 2]
    (tmp_path / "t.tsv").write_text("id\tname\n1\ta\n2\tb\n")
    assert read_side_table(tmp_path / "t.tsv").columns.tolist() == ["name"]


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        ("id,name\n1,a\n", {"key": "sku"}, r"key='sku' is not a column \(columns: 'id', 'name'\)"),
        ("id,name\n1,a\n", {"label": "title"}, r"label='title' is not a column"),
        ("id,name\n1,a\n1,b\n", {}, r"repeats 1 IDs \(first: 1\)"),
        ("id,name\n,a\n", {}, "missing IDs"),
        ("", {}, "empty"),
    ],
)
def test_bad_tables_raise_one_line(tmp_path: Path, text: str, kwargs: dict, match: str) -> None:
    path = tmp_path / "items.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=match) as info:
        read_side_table(path, **kwargs)
    assert "\n" not in str(info.value)


def test_missing_file_names_the_argument(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"path='.*nope.csv': file not found"):
        read_side_table(tmp_path / "nope.csv")


# ---------------------------------------------------------------- with_item_metadata
def test_string_ids_aligned_missing_and_extra(tmp_path: Path) -> None:
    ds = _ratings(["p2", "p1", "p3"])
    path = tmp_path / "items.csv"
    path.write_text("code,name,cat,price\np1,Tea,drink,3\np2,Wine,drink,12\nzz,Extra,x,1\n")
    out = ds.with_item_metadata(read_side_table(path, label="name"))
    meta = out.item_metadata
    assert meta is not None and ds.item_metadata is None  # the original is unchanged
    assert meta["id"].tolist() == ds.items.ids().tolist() == ["p1", "p2", "p3"]
    assert meta["title"].tolist()[:2] == ["Tea", "Wine"] and pd.isna(meta["title"].iloc[2])
    assert meta["cat"].tolist()[:2] == ["drink", "drink"] and pd.isna(meta["price"].iloc[2])
    assert str(meta["price"].dtype) == "Int64"
    assert out.rating is ds.rating and out.items is ds.items  # ratings shared, not copied


def test_key_types_match_each_other() -> None:
    int_ds = _ratings([10, 20])
    side = pd.DataFrame({"label": ["a", "b"]}, index=pd.Index(["10", "020"], name="k"))
    assert int_ds.with_item_metadata(side).item_metadata["title"].tolist() == ["a", "b"]
    str_ds = _ratings(["10", "20"])
    side = pd.DataFrame({"label": ["a", "b"]}, index=pd.Index([20, 10]))
    assert str_ds.with_item_metadata(side).item_metadata["title"].tolist() == ["b", "a"]


def test_id_column_frame_genres_and_merge() -> None:
    ds = _ratings([1, 2])
    first = ds.with_item_metadata(
        pd.DataFrame({"id": [1, 2], "title": ["A", "B"], "genres": ["x|y", None]})
    )
    assert first.item_metadata["genres"].tolist() == [["x", "y"], []]
    second = first.with_item_metadata(pd.DataFrame({"label": ["a2"], "n": [5]}, index=[1]))
    meta = second.item_metadata
    assert list(meta.columns) == ["id", "title", "n", "genres"]
    assert meta["title"].tolist()[0] == "a2" and meta["genres"].tolist() == [["x", "y"], []]


def test_label_beside_title_keeps_both() -> None:
    ds = _ratings([1])
    side = pd.DataFrame({"label": ["name"], "title": ["Dr"]}, index=[1])
    meta = ds.with_item_metadata(side).item_metadata
    assert meta["title"].tolist() == ["name"] and meta["title_column"].tolist() == ["Dr"]


def test_user_metadata_and_duplicate_after_coercion() -> None:
    ds = _ratings([1, 2, 1])
    out = ds.with_user_metadata(pd.DataFrame({"age": [30]}, index=[2]))
    assert out.user_metadata["age"].tolist()[1] == 30 and pd.isna(out.user_metadata["age"][0])
    with pytest.raises(DataError, match="ID 7 appears more than once"):
        _ratings([7]).with_item_metadata(pd.DataFrame({"a": [1, 2]}, index=["7", "07"]))
    with pytest.raises(DataError, match="column 'id' besides its key"):
        ds.with_item_metadata(pd.DataFrame({"id": [1]}, index=pd.Index([1], name="sku")))
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        ds.with_item_metadata([1, 2])  # type: ignore[arg-type]


def test_side_table_labels_reach_a_model(tmp_path: Path) -> None:
    """The label column becomes ``title``, which models read as labels."""
    import embedlab as el

    path = tmp_path / "items.csv"
    path.write_text("code,name,aisle\na,Tea,drinks\nb,Wine,drinks\n")
    ds = _ratings(["a", "b", "b", "c"]).with_item_metadata(read_side_table(path, label="name"))
    assert ds.describe().item_metadata == ["title", "aisle"]
    model = el.MatrixFactorization(embedding_dim=2, epochs=1, random_state=0).fit(
        ds, progress=False
    )
    kv = model.item_embeddings()
    assert kv.labels.tolist() == ["Tea", "Wine", None]
    assert kv.resolve("wine") == "b"
