"""parse_id: the one parser of IDs typed as text (CLI, URLs, JSON), shared by CLI and web."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from embedlab.data import Vocabulary, parse_id

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
PLAIN = re.compile(r"\s*[+-]?[0-9]+\s*")

# Text that str.isdigit() or int() may take for a number, and signs and whitespace around.
NUMERIC_LOOKING = st.text(
    alphabet=st.one_of(
        st.characters(categories=["Nd", "No", "Nl", "Zs"]),
        st.sampled_from("0123456789+-_ \t\n²³¹①⑳٣१"),
    ),
    max_size=30,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("196", 196),
        (" -7 ", -7),
        ("+5", 5),
        ("007", 7),
        ("-0", 0),
        (str(INT64_MAX), INT64_MAX),
        (str(INT64_MIN), INT64_MIN),
        ("0" * 5000 + "5", 5),  # leading zeros do not count against int()'s digit limit
    ],
)
def test_plain_integers_become_ints(text: str, expected: int) -> None:
    assert parse_id(text, "int") == expected and type(parse_id(text, "int")) is int


@pytest.mark.parametrize(
    "text",
    [
        "²",  # superscript two: str.isdigit() says True, int() refuses
        "①",  # circled one: isdigit() True
        "١٢",  # Arabic-Indic digits: int() takes them, an ID parser must not
        "--5",
        "+-3",
        "-",
        "",
        " ",
        "1_000",  # int() takes underscores
        "1.0",
        "1e3",
        "0x10",
        "Toy Story (1995)",
        str(INT64_MAX + 1),
        str(INT64_MIN - 1),
        "9" * 30,
        "9" * 5000,  # past int()'s 4300-digit limit: no ValueError
    ],
)
def test_anything_else_stays_text(text: str) -> None:
    assert parse_id(text, "int") == text and type(parse_id(text, "int")) is str


def test_ints_and_str_kind() -> None:
    assert parse_id(42, "int") == 42 and parse_id(np.int64(-3), "int") == -3
    assert parse_id(INT64_MAX + 1, "int") == str(INT64_MAX + 1)  # no int64 ID can match it
    assert parse_id(42, "str") == "42" and parse_id(np.int32(7), "str") == "7"
    assert parse_id(" 007 ", "str") == " 007 "  # string IDs are taken as they are


@pytest.mark.parametrize("bad", [True, np.bool_(False), 1.0, None, b"1", ["1"]])
def test_non_ids_raise_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="str or an int"):
        parse_id(bad, "int")


def test_unknown_kind_raises_value_error() -> None:
    with pytest.raises(ValueError, match="kind='float'"):
        parse_id("1", "float")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(text=st.one_of(st.text(max_size=40), NUMERIC_LOOKING), kind=st.sampled_from(["int", "str"]))
@example(text="²", kind="int")
@example(text="--5", kind="int")
def test_any_text_parses_without_raising(text: str, kind: str) -> None:
    got = parse_id(text, kind)  # type: ignore[arg-type]
    if kind == "str" or not PLAIN.fullmatch(text):
        assert got == text and type(got) is str
    elif isinstance(got, int):
        assert INT64_MIN <= got <= INT64_MAX and got == int(text.strip())
    else:
        assert got == text and not INT64_MIN <= int(text.strip()) <= INT64_MAX


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    value=st.integers(INT64_MIN, INT64_MAX),
    sign=st.booleans(),
    zeros=st.integers(0, 30),
    pad=st.sampled_from(["", " ", "\t", " \n"]),
)
def test_int64_round_trips_through_text(value: int, sign: bool, zeros: int, pad: str) -> None:
    text = str(abs(value)).rjust(len(str(abs(value))) + zeros, "0")
    text = ("-" if value < 0 else "+" if sign else "") + text
    assert parse_id(pad + text + pad, "int") == value
    assert parse_id(str(value), "int") == value and parse_id(value, "int") == value


@settings(max_examples=100, deadline=None, derandomize=True)
@given(value=st.integers().filter(lambda v: not INT64_MIN <= v <= INT64_MAX))
def test_numbers_past_int64_stay_text(value: int) -> None:
    assert parse_id(str(value), "int") == str(value)
    assert parse_id(value, "int") == str(value)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=20, unique=True))
def test_every_id_of_an_int_vocabulary_is_found_from_its_text(ids: list[int]) -> None:
    vocab = Vocabulary(ids, name="item")
    for id_ in ids:
        assert vocab.index(parse_id(f" {id_} ", vocab.kind)) == vocab.index(id_)
