"""Vocabulary: raw IDs <-> indices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embedlab import DataError, UnknownIDError, Vocabulary


def test_index_id_roundtrip_and_basics() -> None:
    v = Vocabulary(["b", "a", "c"], name="item")
    assert len(v) == 3
    assert v.kind == "str"
    assert [v.index(x) for x in ["b", "a", "c"]] == [0, 1, 2]
    assert [v.id(i) for i in range(3)] == ["b", "a", "c"]
    assert "a" in v and "z" not in v and None not in v
    assert list(v) == ["b", "a", "c"]
    np.testing.assert_array_equal(v.indices(["c", "b"]), [2, 0])
    assert v.indices(["c"]).dtype == np.int32


def test_from_values_sorts_and_encodes() -> None:
    v, codes = Vocabulary.from_values([30, 10, 30, 20, 10], name="user")
    assert list(v) == [10, 20, 30]
    assert codes.dtype == np.int32
    np.testing.assert_array_equal(codes, [2, 0, 2, 1, 0])
    # Same IDs in another order: same vocabulary (stable order).
    v2, _ = Vocabulary.from_values([20, 10, 30])
    assert v == v2


def test_from_values_sparse_and_string_ids() -> None:
    ids = np.array([10**12, 5, 10**12, 7], dtype=np.int64)  # span too wide for the dense path
    v, codes = Vocabulary.from_values(ids)
    assert list(v) == [5, 7, 10**12]
    np.testing.assert_array_equal(v.ids()[codes], ids)
    s, scodes = Vocabulary.from_values(pd.Series(["tt2", "tt10", "tt2"]))
    assert list(s) == ["tt10", "tt2"]
    np.testing.assert_array_equal(scodes, [1, 0, 1])
    a, acodes = Vocabulary.from_values(pa.chunked_array([["x", "y"], ["x"]]))
    assert list(a) == ["x", "y"] and acodes.tolist() == [0, 1, 0]


def test_type_forgiving_lookups() -> None:
    ints = Vocabulary([196, 242])
    assert ints.index("196") == 0  # a command line or a web form sends strings
    assert ints.index(np.int32(242)) == 1
    assert "242" in ints
    np.testing.assert_array_equal(ints.indices(["242", "196"]), [1, 0])
    strs = Vocabulary(["42", "x"])
    assert strs.index(42) == 0
    np.testing.assert_array_equal(strs.indices(np.array([42])), [0])


def test_unknown_ids_error_and_negative() -> None:
    v = Vocabulary([1, 2, 3], name="item")
    with pytest.raises(
        UnknownIDError, match=r"1 unknown item ID \(first: 9\); the vocabulary has 3 item IDs"
    ):
        v.index(9)
    with pytest.raises(UnknownIDError, match=r"2 unknown item IDs \(first: 7\)"):
        v.indices([1, 7, 8])
    with pytest.raises(UnknownIDError, match="IDs are integers here"):
        v.index("abc")
    with pytest.raises(KeyError):  # UnknownIDError is a KeyError
        v.index(True)
    np.testing.assert_array_equal(v.indices([1, 7, 3], unknown="negative"), [0, -1, 2])
    np.testing.assert_array_equal(v.indices(["x", 2], unknown="negative"), [-1, 1])
    with pytest.raises(ValueError, match="unknown='skip'"):
        v.indices([1], unknown="skip")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="use index"):
        v.indices(1)


def test_id_and_ids_bounds() -> None:
    v = Vocabulary(["a", "b"])
    with pytest.raises(IndexError, match=r"out of range 0\.\.1"):
        v.id(2)
    with pytest.raises(IndexError):
        v.id(-1)
    with pytest.raises(TypeError, match="row number"):
        v.id("a")  # type: ignore[arg-type]
    assert v.ids([1, 0]).tolist() == ["b", "a"]
    with pytest.raises(IndexError):
        v.ids([5])
    with pytest.raises(ValueError, match="read-only"):
        v.ids()[0] = "z"


@pytest.mark.parametrize(
    ("ids", "match"),
    [
        ([1, 2, 1], "1 duplicate IDs \\(first: 1\\)"),
        ([1, "a"], "mix types"),
        ([1.5, 2.0], "fractional"),
        ([True, False], "booleans"),
        (pd.Series(["a", None]), "missing IDs"),
        (np.array([1.0, np.nan]), "missing or non-finite"),
    ],
)
def test_bad_vocabularies(ids: object, match: str) -> None:
    with pytest.raises(DataError, match=match):
        Vocabulary(ids)  # type: ignore[arg-type]


def test_integral_floats_become_int_ids() -> None:
    v, codes = Vocabulary.from_values(np.array([3.0, 1.0, 3.0]))
    assert v.kind == "int" and list(v) == [1, 3] and codes.tolist() == [1, 0, 1]


def test_save_load_without_pickle(tmp_path) -> None:
    for v in (Vocabulary([5, 1, 9], name="user"), Vocabulary(["é", "a b", "x"], name="item")):
        path = v.save(tmp_path / f"{v.name}.parquet")
        back = Vocabulary.load(path)
        assert back == v and back.kind == v.kind and back.name == v.name
        assert [type(x) for x in back] == [type(x) for x in v]
    assert not list(tmp_path.glob(".*.tmp"))


def test_load_errors(tmp_path) -> None:
    with pytest.raises(DataError, match="not found"):
        Vocabulary.load(tmp_path / "missing.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="cannot read vocabulary"):
        Vocabulary.load(bad)
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1]}), tmp_path / "other.parquet")
    with pytest.raises(DataError, match="not an embedlab vocabulary"):
        Vocabulary.load(tmp_path / "other.parquet")


ids_strategy = st.one_of(
    st.lists(st.integers(min_value=-(2**62), max_value=2**62), min_size=0, max_size=60),
    st.lists(st.text(min_size=0, max_size=8), min_size=0, max_size=60),
)


@settings(max_examples=150, deadline=None)
@given(ids_strategy)
def test_property_roundtrip(values: list) -> None:
    if not values:
        return
    vocab, codes = Vocabulary.from_values(
        np.array(values, dtype=object)
        if isinstance(values[0], str)
        else np.array(values, dtype=np.int64)
    )
    # decode(encode(x)) == x
    assert vocab.ids()[codes].tolist() == values
    # indices of the distinct IDs are 0..n-1 in order, and sorted
    assert vocab.indices(vocab.ids()).tolist() == list(range(len(vocab)))
    assert vocab.ids().tolist() == sorted(set(values))
    for i in range(len(vocab)):
        assert vocab.index(vocab.id(i)) == i
    np.testing.assert_array_equal(vocab.indices(values), codes)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=40, unique=True))
def test_property_save_load(tmp_path_factory, values: list[int]) -> None:
    v = Vocabulary(values)
    path = tmp_path_factory.mktemp("v") / "v.parquet"
    assert Vocabulary.load(v.save(path)) == v
