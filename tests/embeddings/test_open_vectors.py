"""open_vectors: every format, whoever wrote it, with known vectors; metadata joins; errors."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import embedlab as el
from embedlab.embeddings import KeyedEmbeddings, open_vectors
from embedlab.exceptions import DataError

#: Known vectors: exact in float32 and in 9 significant digits.
VECTORS = np.array(
    [[1.0, 0.0, 0.5], [0.25, -2.0, 3.0], [0.1, 0.2, 0.3], [-1.5, 4.0, 0.0], [7.0, 7.0, -7.0]],
    dtype=np.float32,
)
KEYS = [10, 20, 30, 40, 50]
LABELS = ["Alien (1979)", "Brazil (1985)", None, "Dune (1984)", "Heat (1995)"]


@pytest.fixture
def kv() -> KeyedEmbeddings:
    meta = pd.DataFrame(
        {
            "genres": [["Horror", "Sci-Fi"], ["Comedy"], [], ["Sci-Fi"], ["Crime", "Drama"]],
            "year": [1979, 1985, 1990, 1984, 1995],
            "n_ratings": [50, 12, 3, 40, 77],
        }
    )
    return KeyedEmbeddings(VECTORS, KEYS, labels=LABELS, metadata=meta)


def _one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------- round trips
@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_written_by_embedlab_comes_back_whole(kv, tmp_path, binary) -> None:
    path = kv.save_word2vec_format(tmp_path / ("v.bin" if binary else "v.txt"), binary=binary)
    back = open_vectors(path)
    np.testing.assert_array_equal(back.vectors, VECTORS)
    assert back.keys.ids().tolist() == KEYS  # ints again, from the side file
    assert back.labels.tolist() == LABELS


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_without_side_files_gives_string_keys(kv, tmp_path, binary) -> None:
    path = kv.save_word2vec_format(tmp_path / "v.w2v", binary=binary)
    for side in tmp_path.glob("v.w2v.*"):
        side.unlink()
    renamed = path.rename(tmp_path / ("v.bin" if binary else "v.vec"))
    back = open_vectors(renamed)
    assert back.keys.ids().tolist() == ["10", "20", "30", "40", "50"]
    assert back.labels is None
    np.testing.assert_array_equal(back.vectors, VECTORS)


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_written_by_gensim(tmp_path, binary) -> None:
    from gensim.models import KeyedVectors

    gkv = KeyedVectors(vector_size=3)
    gkv.add_vectors(["fox", "dog", "Ünïcode", "42"], VECTORS[:4])
    path = tmp_path / ("g.bin" if binary else "g.txt")
    gkv.save_word2vec_format(str(path), binary=binary)
    back = open_vectors(path)
    assert back.keys.ids().tolist() == ["fox", "dog", "Ünïcode", "42"]  # "42" stays text
    np.testing.assert_allclose(back.vectors, VECTORS[:4], rtol=1e-6)
    # the neighbours agree with gensim's
    ours = back.most_similar("fox", topn=3)
    theirs = gkv.most_similar("fox", topn=3)
    assert ours["key"].tolist() == [k for k, _ in theirs]
    np.testing.assert_allclose(ours["similarity"], [s for _, s in theirs], rtol=1e-5)


def test_fasttext_vec_with_trailing_spaces_and_gzip(tmp_path) -> None:
    text = "2 3 \nthe 0.5 1 -1 \n, 2 0 0.25 \n"
    (tmp_path / "ft.vec").write_text(text)
    with gzip.open(tmp_path / "ft.vec.gz", "wt") as fh:
        fh.write(text)
    for name in ("ft.vec", "ft.vec.gz"):
        back = open_vectors(tmp_path / name)
        assert back.keys.ids().tolist() == ["the", ","]
        np.testing.assert_array_equal(back.vectors, [[0.5, 1, -1], [2, 0, 0.25]])


def test_glove_text_without_a_header(tmp_path) -> None:
    (tmp_path / "glove.6B.3d.txt").write_text("the 0.5 1 -1\n, 2 0 0.25\n")
    back = open_vectors(tmp_path / "glove.6B.3d.txt")
    assert back.keys.ids().tolist() == ["the", ","]
    np.testing.assert_array_equal(back.vectors, [[0.5, 1, -1], [2, 0, 0.25]])
    (tmp_path / "bad.txt").write_text("the 0.5 1 -1\n, 2 0\n")
    with pytest.raises(DataError) as exc:
        open_vectors(tmp_path / "bad.txt")
    assert "bad.txt: line 2 has 2 numbers after its key; line 1 has 3" in _one_line(exc)


def test_projector_folder_written_by_embedlab(kv, tmp_path) -> None:
    folder = kv.to_projector(tmp_path / "proj")
    for path in (folder, folder / "vectors.tsv"):
        back = open_vectors(path)
        np.testing.assert_array_equal(back.vectors, VECTORS)
        assert back.keys.ids().tolist() == KEYS  # the "key" column, integers as written
        assert back.labels.tolist() == LABELS
        meta = back.metadata
        assert meta["genres"].tolist()[:2] == ["Horror|Sci-Fi", "Comedy"]  # kept as written
        assert meta["year"].tolist() == [1979, 1985, 1990, 1984, 1995]
        assert meta["n_ratings"].tolist() == [50, 12, 3, 40, 77]


def test_parquet_and_npz_written_by_embedlab(kv, tmp_path) -> None:
    back = open_vectors(kv.to_parquet(tmp_path / "e.parquet"))
    np.testing.assert_array_equal(back.vectors, VECTORS)
    assert back.keys.ids().tolist() == KEYS and back.labels.tolist() == LABELS
    assert back.metadata["genres"].tolist()[0] == ["Horror", "Sci-Fi"]
    back = open_vectors(kv.to_numpy(tmp_path / "e.npz"))
    np.testing.assert_array_equal(back.vectors, VECTORS)
    assert back.keys.ids().tolist() == KEYS and back.labels.tolist() == LABELS


def test_the_format_comes_from_the_content_when_the_name_says_nothing(kv, tmp_path) -> None:
    for name, write in (("e.data", kv.to_parquet), ("n.data", kv.to_numpy)):
        back = open_vectors(write(tmp_path / name))
        assert back.keys.ids().tolist() == KEYS
    back = open_vectors(kv.save_word2vec_format(tmp_path / "w.data"))  # its side file says
    assert back.keys.ids().tolist() == KEYS
    (tmp_path / "plain.data").write_text("1 2\nk 1 2\n")
    assert open_vectors(tmp_path / "plain.data", fmt="word2vec").keys.ids().tolist() == ["k"]


def test_hand_written_projector_pair_with_a_three_column_header(tmp_path) -> None:
    (tmp_path / "vectors.tsv").write_text("1\t0\n0\t1\n0.5\t0.5\n")
    (tmp_path / "metadata.tsv").write_text(
        "word\tName\tcount\nfox\tThe fox\t12\ndog\tA dog\t3\nowl\t\t7\n"
    )
    back = open_vectors(tmp_path / "vectors.tsv")
    assert back.keys.ids().tolist() == ["fox", "dog", "owl"]  # the first column, distinct
    assert back.labels.tolist() == ["The fox", "A dog", None]  # "Name", case ignored
    assert list(back.metadata.columns) == ["count"]
    assert back.metadata["count"].tolist() == [12, 3, 7]
    np.testing.assert_array_equal(back.vectors, [[1, 0], [0, 1], [0.5, 0.5]])
    assert back.most_similar("fox", topn=1)["key"].tolist() == ["owl"]
    # the folder works too (no config file)
    assert open_vectors(tmp_path).keys.ids().tolist() == ["fox", "dog", "owl"]


def test_single_column_projector_metadata_has_no_header(tmp_path) -> None:
    (tmp_path / "vectors.tsv").write_text("1\t0\n0\t1\n1\t1\n")
    (tmp_path / "metadata.tsv").write_text("fox\ndog\nowl\n")
    assert open_vectors(tmp_path / "vectors.tsv").keys.ids().tolist() == ["fox", "dog", "owl"]
    # repeated values (classes) cannot be keys: the rows are, the values are labels
    (tmp_path / "metadata.tsv").write_text("cat\ndog\ncat\n")
    back = open_vectors(tmp_path / "vectors.tsv")
    assert back.keys.ids().tolist() == [0, 1, 2]
    assert back.labels.tolist() == ["cat", "dog", "cat"]


def test_projector_without_metadata_is_keyed_by_row(tmp_path) -> None:
    (tmp_path / "v.tsv").write_text("1\t0\n0\t1\n")
    back = open_vectors(tmp_path / "v.tsv")
    assert back.keys.ids().tolist() == [0, 1] and back.labels is None


def test_plain_csv_table_of_keys_and_numbers(tmp_path) -> None:
    (tmp_path / "t.csv").write_text("sku,x0,x1,title\nA1,1,0,Tea\nB2,0,1,Wine\n")
    back = open_vectors(tmp_path / "t.csv")
    assert back.keys.ids().tolist() == ["A1", "B2"] and back.labels.tolist() == ["Tea", "Wine"]
    np.testing.assert_array_equal(back.vectors, [[1, 0], [0, 1]])


def test_tsv_table_with_a_header_and_a_chosen_key_column(tmp_path) -> None:
    (tmp_path / "t.tsv").write_text("n\tcode\tx0\tx1\tname\n1\tA1\t1\t0\tTea\n2\tB2\t0\t1\tWine\n")
    back = open_vectors(tmp_path / "t.tsv", key_column="code")
    assert back.keys.ids().tolist() == ["A1", "B2"] and back.labels.tolist() == ["Tea", "Wine"]
    # every other numeric column is a dimension: n is one too
    np.testing.assert_array_equal(back.vectors, [[1, 1, 0], [2, 0, 1]])


# ---------------------------------------------------------------------- metadata
@pytest.fixture
def word_file(tmp_path) -> Path:
    path = tmp_path / "v.txt"
    path.write_text("3 2\na 1 0\nb 0 1\n7 1 1\n")
    return path


def test_metadata_join_ignores_unknown_keys_and_leaves_missing_ones_empty(
    word_file, tmp_path
) -> None:
    meta = tmp_path / "m.csv"
    meta.write_text(
        "id,title,genres,n_ratings\na,Apple,Fruit|Red,5\nzzz,Nobody,X,1\n7,Seven,Number,9\n"
    )
    back = open_vectors(word_file, metadata=meta)
    assert back.keys.ids().tolist() == ["a", "b", "7"]
    assert back.labels.tolist() == ["Apple", None, "Seven"]  # 7 in the table is key "7"
    assert back.metadata["genres"].tolist()[::2] == ["Fruit|Red", "Number"]
    assert np.isnan(back.metadata["genres"].tolist()[1])
    counts = back.metadata["n_ratings"].to_numpy()
    assert counts[0] == 5 and np.isnan(counts[1]) and counts[2] == 9
    assert back.resolve("apple") == "a"


def test_metadata_from_a_dataframe_parquet_or_tsv_with_a_key_column(word_file, tmp_path) -> None:
    frame = pd.DataFrame({"n": [1, 2], "word": ["b", "a"], "label": ["Bee", "Ay"]})
    frame.to_parquet(tmp_path / "m.parquet")
    frame.to_csv(tmp_path / "m.tsv", sep="\t", index=False)
    for source in (frame, tmp_path / "m.parquet", tmp_path / "m.tsv"):
        back = open_vectors(word_file, metadata=source, key_column="word")
        assert back.labels.tolist() == ["Ay", "Bee", None]
        assert back.metadata["n"].tolist()[:2] == [2, 1]


def test_integer_keys_match_text_ids_in_the_table(kv, tmp_path) -> None:
    path = kv.to_numpy(tmp_path / "e.npz")
    meta = pd.DataFrame({"movieId": ["20", "10", "x"], "title": ["B", "A", "?"]})
    back = open_vectors(path, metadata=meta)
    assert back.labels.tolist() == ["A", "B", None, "Dune (1984)", "Heat (1995)"]


def test_metadata_with_repeated_keys_is_an_error(word_file, tmp_path) -> None:
    meta = tmp_path / "m.csv"
    meta.write_text("id,title\na,One\nb,Two\na,Again\n")
    with pytest.raises(DataError) as exc:
        open_vectors(word_file, metadata=meta)
    message = _one_line(exc)
    assert "repeats 1 keys" in message and "'a'" in message and "m.csv" in message


def test_metadata_key_column_must_exist(word_file) -> None:
    frame = pd.DataFrame({"id": ["a"], "title": ["A"]})
    with pytest.raises(DataError) as exc:
        open_vectors(word_file, metadata=frame, key_column="word")
    assert "key_column='word'" in _one_line(exc) and "'id'" in str(exc.value)


def test_missing_metadata_file(word_file, tmp_path) -> None:
    with pytest.raises(DataError) as exc:
        open_vectors(word_file, metadata=tmp_path / "nope.csv")
    assert "nope.csv" in _one_line(exc) and "not found" in str(exc.value)


# ---------------------------------------------------------------------- bad input
def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("e.txt", "", ["e.txt", "empty"]),
        ("h.txt", "two three\na 1 2\n", ["h.txt", "line 1", "'<count> <dim>'"]),
        ("r.txt", "2 2\na 1 2\nb 1 zz\n", ["r.txt", "line 3", "'zz'", "not a number"]),
        ("d.txt", "2 2\na 1 2\nb 1\n", ["d.txt", "line 3", "1 numbers", "says 2"]),
        ("c.txt", "3 2\na 1 2\nb 1 2\n", ["c.txt", "says 3 vectors", "has 2 rows"]),
        ("n.txt", "2 2\na 1 2\nb nan 2\n", ["n.txt", "line 3", "'b'", "NaN"]),
        ("t.bin", b"2 2\na \x00\x00\x80?\x00\x00\x00@", ["t.bin", "truncated", "vector 2"]),
        ("nb.bin", b"1 1\nk \x00\x00\xc0\x7f", ["nb.bin", "vector 1", "'k'", "NaN"]),
        ("v.tsv", "1\t2\n3\t4\t5\n", ["v.tsv", "line 2", "3 numbers", "first row 2"]),
        ("w.tsv", "1\t2\n3\tinf\n", ["w.tsv", "line 2", "NaN or infinity"]),
        ("t.csv", "id,x,y\na,1,2\nb,,3\n", ["t.csv", "data row 2", "'x'"]),
        ("k.csv", "id,x\na,1\na,2\n", ["k.csv", "repeats 'a'"]),
        ("u.txt", "2 1\na 1\na 2\n", ["u.txt", "1 duplicate IDs", "'a'"]),
        ("x.foo", "1 2\nk 1 2\n", ["x.foo", "unknown kind of file", ".txt", ".bin", ".npz"]),
    ],
)
def test_bad_files_are_one_clear_line(tmp_path, name, content, expected) -> None:
    path = _write(tmp_path, name, content)
    with pytest.raises(DataError) as exc:
        open_vectors(path)
    message = _one_line(exc)
    for part in expected:
        assert part in message, (part, message)


def test_projector_metadata_rows_must_match_the_vectors(tmp_path) -> None:
    (tmp_path / "vectors.tsv").write_text("1\t0\n0\t1\n")
    (tmp_path / "metadata.tsv").write_text("key\tname\na\tA\n")
    with pytest.raises(DataError) as exc:
        open_vectors(tmp_path)
    assert "has 1 rows after its header row for 2 vectors" in _one_line(exc)


def test_missing_file_folder_and_bundle(tmp_path) -> None:
    with pytest.raises(DataError) as exc:
        open_vectors(tmp_path / "nope.txt")
    assert "nope.txt: file not found" in _one_line(exc) and "word2vec" in str(exc.value)
    with pytest.raises(DataError) as exc:
        open_vectors(tmp_path)
    assert "folder without vectors.tsv" in _one_line(exc)
    (tmp_path / "model.json").write_text("{}")
    with pytest.raises(DataError) as exc:
        open_vectors(tmp_path)
    assert "is a model bundle" in _one_line(exc)


def test_nan_in_npz_names_the_file(tmp_path) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, vectors=np.array([[1.0, np.nan]]), keys=np.array([1]))
    with pytest.raises(DataError) as exc:
        open_vectors(path)
    assert "bad.npz" in _one_line(exc) and "NaN" in str(exc.value)


def test_bad_fmt_is_a_value_error(word_file) -> None:
    with pytest.raises(ValueError, match="fmt='xml'"):
        open_vectors(word_file, fmt="xml")


def test_open_vectors_is_public_and_imports_no_torch() -> None:
    assert el.open_vectors is open_vectors
    code = (
        "import sys, embedlab; embedlab.open_vectors; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_side_file_json_is_what_embedlab_wrote(kv, tmp_path) -> None:
    path = kv.save_word2vec_format(tmp_path / "v.txt")
    side = json.loads((tmp_path / "v.txt.embedlab.json").read_text())
    assert side["key_kind"] == "int" and open_vectors(path).keys.kind == "int"
