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


# ---------------------------------------------------------------- typed IDs: one parser (issue 18)
@pytest.mark.parametrize("text", ["١٢", "1_0", "²", "①", "12.0", "1e1", "--12", "0x0c", "", " "])
def test_text_that_is_no_plain_integer_is_an_unknown_int_id(text: str) -> None:
    """Only plain ASCII digits are integers, as parse_id says: never item 12 or 10."""
    v = Vocabulary([1, 2, 10, 12], name="item")
    with pytest.raises(UnknownIDError, match=r"1 unknown item ID \(first: .*\); IDs are integers"):
        v.index(text)
    assert text not in v
    assert v.indices([text, "12"], unknown="negative").tolist() == [-1, 3]
    with pytest.raises(UnknownIDError, match=r"1 unknown item ID"):
        v.indices([text, 12])


def test_plain_ints_and_ascii_digit_text_still_match() -> None:
    v = Vocabulary([-7, 5, 196], name="item")
    for query in (196, np.int64(196), np.uint16(196), "196", " 196 ", "+196", "0196"):
        assert v.index(query) == 2, query
    assert v.index(" -7 ") == 0 and v.index(np.int8(-7)) == 0
    assert v.indices(np.array(["5", "-7"])).tolist() == [1, 0]
    assert v.indices(np.array([5, 196], dtype=object)).tolist() == [1, 2]


@pytest.mark.parametrize(
    "big",
    [2**63, -(2**63) - 1, 10**30, -(10**30), pytest.param(10**5000, id="10**5000")],
)
def test_integers_past_int64_are_unknown_ids_not_overflows(big: int) -> None:
    v = Vocabulary([1, 2, 3], name="item")
    with pytest.raises(UnknownIDError, match=r"1 unknown item ID \(first: ") as info:
        v.index(big)
    assert len(str(info.value)) < 300  # a huge ID is cut short in the message
    assert big not in v
    if big.bit_length() < 1000:
        assert str(big) not in v
    with pytest.raises(UnknownIDError, match=r"1 unknown item ID"):
        v.indices([big, 1])  # was OverflowError from pandas
    assert v.indices([big, 1], unknown="negative").tolist() == [-1, 0]
    assert Vocabulary(["1", "x"]).indices([big], unknown="negative").tolist() == [-1]


def test_uint64_past_int64_does_not_wrap_round_to_a_negative_id() -> None:
    v = Vocabulary([-1, 3], name="item")  # 2**64 - 1 as int64 would be -1
    huge = np.array([2**64 - 1, 3], dtype=np.uint64)
    assert v.indices(huge, unknown="negative").tolist() == [-1, 1]
    assert v.indices(list(huge), unknown="negative").tolist() == [-1, 1]
    with pytest.raises(UnknownIDError, match="18446744073709551615"):
        v.index(np.uint64(2**64 - 1))
    with pytest.raises(UnknownIDError, match="1 unknown item ID"):
        v.indices(huge)
    assert v.indices(np.array([3], dtype=np.uint64)).tolist() == [1]


def _vocabularies() -> list[Vocabulary]:
    return [
        Vocabulary([-5, 0, 1, 12, 2**62], name="item"),
        Vocabulary(["12", "a", "١٢", " x ", ""], name="item"),
        Vocabulary(np.array([], dtype=np.int64), name="item"),
    ]


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30) | st.from_regex(r"\s*[+-]?[0-9_٠-٩]{1,30}\s*", fullmatch=True))
def test_property_text_lookup_raises_nothing_but_unknown_id(text: str) -> None:
    """Arbitrary text: a known ID's index, or UnknownIDError; never another exception."""
    for v in _vocabularies():
        try:
            row = v.index(text)
        except UnknownIDError:
            row = -1
        else:
            assert v.id(row) in (text, int(text.strip()) if v.kind == "int" else text)
        assert (text in v) == (row >= 0)
        assert v.indices([text], unknown="negative").tolist() == [row]
        if row < 0:
            with pytest.raises(UnknownIDError):
                v.indices([text, text])


@pytest.mark.parametrize(
    "ids",
    [
        [2**63, 1],
        [1, -(2**63) - 1],
        [10**30, 5],
        np.array([2**64 - 1], dtype=np.uint64),
        np.array([1e30]),
        np.array([2.0**63]),
        pytest.param([10**5000], id="10**5000"),
    ],
)
def test_vocabulary_of_ints_past_int64_is_a_data_error(ids: object) -> None:
    """Was OverflowError, or a RuntimeWarning and wrapped-round IDs."""
    with pytest.raises(DataError, match=r"outside int64 .*; pass them as strings"):
        Vocabulary(ids)
    with pytest.raises(DataError, match=r"outside int64"):
        Vocabulary.from_values(ids)


def test_int64_bounds_and_small_mixed_lists_still_build() -> None:
    v = Vocabulary([2**63 - 1, -(2**63)])
    assert v.index(2**63 - 1) == 0 and v.index(str(-(2**63))) == 1
    assert list(Vocabulary([1, 2.0])) == [1, 2]  # integral floats are int IDs, as before
    assert v.indices([2**63 - 1, 2**63], unknown="negative").tolist() == [0, -1]
