"""Exports of KeyedEmbeddings: word2vec (read by gensim), Projector, Parquet, NumPy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from gensim.models import KeyedVectors

from embedlab import KeyedEmbeddings
from embedlab.exceptions import DataError


@pytest.fixture
def kv() -> KeyedEmbeddings:
    rng = np.random.default_rng(0)
    meta = pd.DataFrame(
        {
            "genres": [["Comedy", "Drama"], ["Sci-Fi"], [], ["Drama"]],
            "year": [1995, 1977, 2001, 1990],
            "n_ratings": [452, 583, 3, 20],
        }
    )
    labels = ["Toy Story (1995)", "Star\tWars\n(1977)", None, "Amélie"]
    return KeyedEmbeddings(rng.normal(size=(4, 5)), [1, 50, 7, 12], labels=labels, metadata=meta)


@pytest.fixture
def spaced() -> KeyedEmbeddings:
    keys = ["a b", "100%", "tab\there", "plain", "é ü"]
    return KeyedEmbeddings(np.random.default_rng(1).normal(size=(5, 3)), keys, labels=list("ABCDE"))


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_read_back_by_gensim_identically(kv, spaced, tmp_path, binary) -> None:
    for emb in (kv, spaced):
        path = tmp_path / f"vecs{len(emb.keys.name)}.{'bin' if binary else 'txt'}"
        assert emb.save_word2vec_format(path, binary=binary) == path
        g = KeyedVectors.load_word2vec_format(str(path), binary=binary)
        assert len(g) == len(emb)
        np.testing.assert_array_equal(g.vectors, emb.vectors)
    g = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    # whitespace and % are percent-escaped; other characters stay as they are
    assert g.index_to_key == ["a%20b", "100%25", "tab%09here", "plain", "é%20ü"]


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_round_trip_with_side_files(kv, spaced, tmp_path, binary) -> None:
    path = tmp_path / "int.w2v"
    kv.save_word2vec_format(path, binary=binary)
    labels_tsv = (tmp_path / "int.w2v.labels.tsv").read_text(encoding="utf-8").splitlines()
    assert labels_tsv[0] == "key\tlabel" and labels_tsv[2] == "50\tStar Wars (1977)"
    assert json.loads((tmp_path / "int.w2v.embedlab.json").read_text())["key_kind"] == "int"
    back = KeyedEmbeddings.load_word2vec_format(path)
    assert back.keys.kind == "int" and list(back.keys) == [1, 50, 7, 12]
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    assert list(back.labels) == ["Toy Story (1995)", "Star Wars (1977)", None, "Amélie"]
    path = tmp_path / "str.w2v"
    spaced.save_word2vec_format(path, binary=binary)
    back = KeyedEmbeddings.load_word2vec_format(path)
    assert list(back.keys) == list(spaced.keys) and list(back.labels) == list("ABCDE")
    np.testing.assert_array_equal(back.vectors, spaced.vectors)


def test_word2vec_foreign_file_and_errors(tmp_path) -> None:
    g = KeyedVectors(vector_size=2)
    g.add_vectors(["x", "y"], np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    g.save_word2vec_format(str(tmp_path / "g.txt"))
    back = KeyedEmbeddings.load_word2vec_format(tmp_path / "g.txt")
    assert list(back.keys) == ["x", "y"] and back.labels is None
    np.testing.assert_array_equal(back["y"], [3.0, 4.0])
    (tmp_path / "bad.txt").write_text("hello\n")
    with pytest.raises(DataError, match="not a word2vec header"):
        KeyedEmbeddings.load_word2vec_format(tmp_path / "bad.txt")
    with pytest.raises(DataError, match="not found"):
        KeyedEmbeddings.load_word2vec_format(tmp_path / "missing.txt")


def test_projector_files(kv, tmp_path) -> None:
    out = kv.to_projector(tmp_path / "proj")
    vectors = np.loadtxt(out / "vectors.tsv", delimiter="\t", dtype=np.float32)
    np.testing.assert_array_equal(vectors, kv.vectors)
    lines = (out / "metadata.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "key\tlabel\tgenres\tyear\tn_ratings"  # several columns: a header
    assert lines[1] == "1\tToy Story (1995)\tComedy|Drama\t1995\t452"
    assert lines[2] == "50\tStar Wars (1977)\tSci-Fi\t1977\t583"  # tab and newline sanitized
    assert len(lines) == len(kv) + 1 and all(ln.count("\t") == 4 for ln in lines)
    config = (out / "projector_config.pbtxt").read_text()
    assert 'tensor_path: "vectors.tsv"' in config and 'metadata_path: "metadata.tsv"' in config
    single = KeyedEmbeddings(kv.vectors, kv.keys, labels=kv.labels).to_projector(
        tmp_path / "one", columns=["label"]
    )
    lines = (single / "metadata.tsv").read_text(encoding="utf-8").splitlines()
    assert lines == ["Toy Story (1995)", "Star Wars (1977)", "", "Amélie"]  # no header
    with pytest.raises(ValueError, match=r"\['title'\] not available"):
        kv.to_projector(tmp_path / "x", columns=["title"])


def test_parquet_round_trip(kv, spaced, tmp_path) -> None:
    path = kv.to_parquet(tmp_path / "e.parquet")
    back = KeyedEmbeddings.from_parquet(path)
    assert back.keys == kv.keys and back.keys.kind == "int"
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    assert list(back.labels) == list(kv.labels)
    assert back.metadata["genres"].tolist() == [["Comedy", "Drama"], ["Sci-Fi"], [], ["Drama"]]
    pd.testing.assert_frame_equal(
        back.metadata[["year", "n_ratings"]], kv.metadata[["year", "n_ratings"]]
    )
    back = KeyedEmbeddings.from_parquet(spaced.to_parquet(tmp_path / "s.parquet"))
    assert list(back.keys) == list(spaced.keys) and back.metadata is None
    plain = KeyedEmbeddings(np.eye(2), ["a", "b"])
    back = KeyedEmbeddings.from_parquet(plain.to_parquet(tmp_path / "p.parquet"))
    assert back.labels is None and back.metadata is None
    clash = KeyedEmbeddings(np.eye(2), ["a", "b"], metadata=pd.DataFrame({"vector": [1, 2]}))
    with pytest.raises(DataError, match="clash"):
        clash.to_parquet(tmp_path / "c.parquet")
    assert not (tmp_path / "c.parquet").exists()


def test_numpy_round_trip_without_pickle(kv, spaced, tmp_path) -> None:
    path = kv.to_numpy(tmp_path / "e.npz")
    with np.load(path, allow_pickle=False) as data:
        assert data["vectors"].dtype == np.float32 and data["keys"].dtype == np.int64
    back = KeyedEmbeddings.from_numpy(path)
    assert back.keys == kv.keys and list(back.labels) == list(kv.labels)
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    back = KeyedEmbeddings.from_numpy(spaced.to_numpy(tmp_path / "s.npz"))
    assert list(back.keys) == list(spaced.keys)
    with pytest.raises(DataError, match="not found"):
        KeyedEmbeddings.from_numpy(tmp_path / "none.npz")


def test_writes_are_atomic(kv, tmp_path, monkeypatch) -> None:
    path = tmp_path / "e.parquet"
    kv.to_parquet(path)
    before = path.read_bytes()
    import pyarrow.parquet as pq

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError, match="disk full"):
        kv.to_parquet(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.parquet"]  # no temporary left
