"""load_ratings: files, DataFrames, Arrow tables; detection; every bad input's message."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import embedlab
from embedlab.data import Interactions, load, load_ratings
from embedlab.exceptions import DataError, DataWarning

HEADER = "userId,movieId,rating,timestamp\n"
ROWS = "1,10,4.0,100\n1,20,3.5,101\n2,10,5.0,102\n3,30,1.0,103\n"


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


def triples(ds: Interactions) -> list[tuple[object, object, float]]:
    frame = ds.to_pandas()
    return sorted(
        zip(frame["user"].tolist(), frame["item"].tolist(), frame["rating"].tolist(), strict=True)
    )


EXPECTED = [(1, 10, 4.0), (1, 20, 3.5), (2, 10, 5.0), (3, 30, 1.0)]


# --------------------------------------------------------------------------- happy paths


def test_csv_with_header_detects_columns(tmp_path: Path) -> None:
    ds = load_ratings(write(tmp_path, "ratings.csv", HEADER + ROWS))
    assert triples(ds) == EXPECTED
    assert ds.name == "ratings"
    assert ds.users.kind == "int" and ds.items.kind == "int"
    assert ds.timestamp is not None and sorted(ds.timestamp.tolist()) == [100, 101, 102, 103]
    assert ds.rating.dtype == np.float32 and ds.rating_scale == (1.0, 5.0)


def test_top_level_exports() -> None:
    assert embedlab.load_ratings is load_ratings
    assert embedlab.load_movielens is embedlab.data.load_movielens
    assert {"load", "load_ratings", "load_movielens", "movielens_folds"} <= set(
        embedlab.data.__all__
    )


@pytest.mark.parametrize(
    ("sep", "ext"),
    [(",", "csv"), ("\t", "tsv"), (";", "csv"), ("::", "dat"), ("|", "txt")],
)
def test_separator_sniffing(tmp_path: Path, sep: str, ext: str) -> None:
    text = (HEADER + ROWS).replace(",", sep)
    ds = load_ratings(write(tmp_path, f"r.{ext}", text))
    assert triples(ds) == EXPECTED
    # The same with the separator given explicitly.
    assert triples(load_ratings(tmp_path / f"r.{ext}", sep=sep)) == EXPECTED


def test_sniffing_prefers_the_separator_giving_most_fields(tmp_path: Path) -> None:
    # Decimal commas inside a semicolon file: ';' gives 3 fields on every line, ',' gives 2.
    path = write(tmp_path, "r.csv", "1;10;4\n2;10;5\n2;20;3\n")
    assert triples(load_ratings(path)) == [(1, 10, 4.0), (2, 10, 5.0), (2, 20, 3.0)]


def test_headerless_file_uses_positions(tmp_path: Path) -> None:
    path = write(tmp_path, "u.data", "1\t10\t4\t100\n1\t20\t3\t101\n2\t10\t5\t102\n")
    ds = load_ratings(path)
    assert triples(ds) == [(1, 10, 4.0), (1, 20, 3.0), (2, 10, 5.0)]
    assert ds.timestamp is not None and ds.name == "u"
    assert load_ratings(path, timestamp=False).timestamp is None


def test_headerless_explicit_positions(tmp_path: Path) -> None:
    # item, rating, user order; no timestamp column.
    path = write(tmp_path, "r.csv", "10,4,1\n20,3,1\n10,5,2\n")
    ds = load_ratings(path, user=2, item=0, rating=1, header=False)
    assert triples(ds) == [(1, 10, 4.0), (1, 20, 3.0), (2, 10, 5.0)]
    assert ds.timestamp is None


def test_headerless_string_ids_stay_data(tmp_path: Path) -> None:
    # The first line holds no column names: "u1" over "u2" is not a header.
    path = write(tmp_path, "r.csv", "u1,i1,4\nu2,i1,5\nu2,i2,2\n")
    ds = load_ratings(path)
    assert len(ds) == 3 and ds.users.kind == "str" and list(ds.users) == ["u1", "u2"]


def test_header_false_reads_first_line_as_data(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "7,70,2\n1,10,4\n")
    assert len(load_ratings(path, header=False)) == 2


def test_named_columns_and_positions_with_header(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "who,what,stars_given,extra\n1,10,4,x\n2,10,5,y\n")
    ds = load_ratings(path, user="who", item="what", rating="stars_given")
    assert triples(ds) == [(1, 10, 4.0), (2, 10, 5.0)]
    assert triples(load_ratings(path, user=0, item=1, rating=2)) == [(1, 10, 4.0), (2, 10, 5.0)]
    # Case-insensitive name match when unambiguous.
    assert len(load_ratings(path, user="WHO", item="What", rating="Stars_Given")) == 2


@pytest.mark.parametrize(
    ("header", "user", "item"),
    [
        ("user_id,item_id,rating", 0, 1),
        ("UserID,MovieID,Rating", 0, 1),
        ("uid,iid,score", 0, 1),
        ("score,iid,uid", 2, 1),
        ("customer_id,product_id,stars", 0, 1),
    ],
)
def test_column_aliases(tmp_path: Path, header: str, user: int, item: int) -> None:
    rows = [["1", "10", "4"], ["2", "10", "5"]]
    text = header + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    ds = load_ratings(write(tmp_path, "r.csv", text))
    names = header.split(",")
    rating = next(i for i, n in enumerate(names) if i not in (user, item))
    expected = sorted((int(r[user]), int(r[item]), float(r[rating])) for r in rows)
    assert triples(ds) == expected


def test_timestamp_aliases_and_dates(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "user,item,rating,date\n1,10,4,2020-01-02\n2,10,5,2020-01-03\n")
    ds = load_ratings(path)
    assert ds.timestamp is not None and sorted(ds.timestamp.tolist()) == [1577923200, 1578009600]


def test_crlf_quotes_and_bom(tmp_path: Path) -> None:
    text = '\ufeff"userId","movieId","rating"\r\n"1","10","4.0"\r\n2,10,5.0\r\n'
    ds = load_ratings(write(tmp_path, "r.csv", text))
    assert triples(ds) == [(1, 10, 4.0), (2, 10, 5.0)]


def test_latin1_file_with_encoding(tmp_path: Path) -> None:
    path = write(
        tmp_path, "r.csv", "user,item,rating\nJosé,Café,4\nAnn,Café,5\n", encoding="latin-1"
    )
    ds = load_ratings(path, encoding="latin-1")
    assert list(ds.users) == ["Ann", "José"] and list(ds.items) == ["Café"]


def test_string_ids_and_float_ratings(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "user,item,rating\nalice,tt01,4.5\nbob,tt01,0.5\nbob,tt02,3\n")
    ds = load_ratings(path)
    assert ds.users.kind == "str" and list(ds.items) == ["tt01", "tt02"]
    assert sorted(ds.rating.tolist()) == [0.5, 3.0, 4.5]


def test_ids_that_turn_into_strings_after_the_sample(tmp_path: Path) -> None:
    # The sample says int64; a later row holds a string ID: read the column as strings.
    rows = "".join(f"{i},{i % 7},3\n" for i in range(20000))
    path = write(tmp_path, "r.csv", "user,item,rating\n" + rows + "zed,1,4\n")
    ds = load_ratings(path)
    assert ds.users.kind == "str" and "zed" in ds.users and len(ds) == 20001


def test_gzip_file(tmp_path: Path) -> None:
    path = tmp_path / "ratings.csv.gz"
    path.write_bytes(gzip.compress((HEADER + ROWS).encode()))
    ds = load_ratings(path)
    assert triples(ds) == EXPECTED and ds.name == "ratings"


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "ratings.parquet"
    table = pa.table(
        {
            "userId": [1, 1, 2, 3],
            "movieId": [10, 20, 10, 30],
            "rating": pa.array([4.0, 3.5, 5.0, 1.0], type=pa.float32()),
            "timestamp": [100, 101, 102, 103],
            "junk": ["a", "b", "c", "d"],
        }
    )
    pq.write_table(table, path)
    ds = load_ratings(path)
    assert triples(ds) == EXPECTED and ds.timestamp is not None and ds.name == "ratings"
    # Detected from the magic bytes whatever the extension.
    other = tmp_path / "ratings.bin"
    other.write_bytes(path.read_bytes())
    assert triples(load_ratings(other, user="userId", item="movieId", rating=2)) == EXPECTED


def test_dataframe_input() -> None:
    frame = pd.DataFrame({"user_id": ["a", "a", "b"], "item_id": [1, 2, 1], "score": [3, 4, 5]})
    ds = load_ratings(frame)
    assert triples(ds) == [("a", 1, 3.0), ("a", 2, 4.0), ("b", 1, 5.0)]
    assert ds.name == "ratings" and ds.timestamp is None
    ds = load_ratings(frame, user="item_id", item="user_id", rating="score", name="swapped")
    assert ds.name == "swapped" and ds.users.kind == "int"


def test_dataframe_with_integer_labels() -> None:
    frame = pd.DataFrame([[1, 10, 4.0], [2, 10, 5.0]])  # read with header=None: labels 0, 1, 2
    assert triples(load_ratings(frame, user=0, item=1, rating=2)) == [(1, 10, 4.0), (2, 10, 5.0)]


def test_dataframe_datetime_timestamps() -> None:
    frame = pd.DataFrame(
        {
            "user": [1, 2],
            "item": [1, 1],
            "rating": [4, 5],
            "time": pd.to_datetime(["1970-01-01 00:01", "1970-01-02 00:00"]),
        }
    )
    ds = load_ratings(frame)
    assert ds.timestamp is not None and ds.timestamp.tolist() == [60, 86400]


def test_arrow_table_input() -> None:
    table = pa.table(
        {"userId": [1, 1, 2, 3], "movieId": [10, 20, 10, 30], "rating": [4.0, 3.5, 5.0, 1.0]}
    )
    assert triples(load_ratings(table)) == EXPECTED
    assert triples(load_ratings(table.to_batches()[0])) == EXPECTED


# --------------------------------------------------------------------------- duplicates


DUPS = "user,item,rating\n1,10,3\n2,10,1\n1,10,5\n1,20,2\n"


def _rating_of(ds: Interactions, user: int, item: int) -> list[float]:
    frame = ds.to_pandas()
    return frame.loc[(frame["user"] == user) & (frame["item"] == item), "rating"].tolist()


def test_duplicates_warn_keeps_last(tmp_path: Path) -> None:
    path = write(tmp_path, "dups.csv", DUPS)
    with pytest.warns(
        DataWarning,
        match=r"dups\.csv: 1 duplicate \(user, item\) rows over 1 pairs \(first at line 2\)",
    ):
        ds = load_ratings(path)
    assert len(ds) == 3 and _rating_of(ds, 1, 10) == [5.0]


@pytest.mark.parametrize(("policy", "expected"), [("last", 5.0), ("first", 3.0), ("mean", 4.0)])
def test_duplicate_policies(tmp_path: Path, policy: str, expected: float) -> None:
    ds = load_ratings(write(tmp_path, "dups.csv", DUPS), duplicates=policy)  # type: ignore[arg-type]
    assert len(ds) == 3 and _rating_of(ds, 1, 10) == [expected]
    assert _rating_of(ds, 2, 10) == [1.0] and _rating_of(ds, 1, 20) == [2.0]


def test_duplicates_error(tmp_path: Path) -> None:
    with pytest.raises(
        DataError,
        match=r"dups\.csv: 1 duplicate \(user, item\) rows .*first at line 2.*duplicates=",
    ):
        load_ratings(write(tmp_path, "dups.csv", DUPS), duplicates="error")


# --------------------------------------------------------------------------- bad input


def raises(match: str):
    return pytest.raises(DataError, match=match)


def test_missing_file(tmp_path: Path) -> None:
    with raises(r"nope\.csv: file not found"):
        load_ratings(tmp_path / "nope.csv")


def test_folder_is_not_a_file(tmp_path: Path) -> None:
    with raises(r"is a folder; pass a ratings file"):
        load_ratings(tmp_path)


def test_missing_column_lists_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "userId,title,rating\n1,x,4\n")
    with raises(
        r"r\.csv: no item column found; columns present: \['userId', 'title', 'rating'\].*pass item="
    ):
        load_ratings(path)


def test_unknown_named_column(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", HEADER + ROWS)
    with raises(
        r"r\.csv: no column 'stars' for rating; columns present: \['userId', 'movieId', 'rating', 'timestamp'\]"
    ):
        load_ratings(path, rating="stars")


def test_position_out_of_range(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", HEADER + ROWS)
    with raises(r"rating=9 is not a column position; the table has 4 columns"):
        load_ratings(path, rating=9)


def test_name_in_headerless_file(tmp_path: Path) -> None:
    path = write(tmp_path, "r.tsv", "1\t10\t4\n2\t10\t5\n")
    with raises(r"rating='rating' names a column, but the table has no header line"):
        load_ratings(path, header=False, rating="rating")


def test_ambiguous_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "user_id,userId,item,rating\n1,1,10,4\n")
    with raises(
        r"several columns could be the user column \(\['user_id', 'userId'\]\); pass user="
    ):
        load_ratings(path)


def test_same_column_twice(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", HEADER + ROWS)
    with raises(r"column 'userId' is used for both user and item"):
        load_ratings(path, user=0, item=0)


def test_bad_column_reference_type(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"user=1.5: expected a column name"):
        load_ratings(write(tmp_path, "r.csv", HEADER + ROWS), user=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"source must be a path"):
        load_ratings(42)  # type: ignore[arg-type]


def test_too_few_columns_headerless(tmp_path: Path) -> None:
    with raises(r"r\.csv: the table has 2 column\(s\) and no header"):
        load_ratings(write(tmp_path, "r.csv", "1,10\n2,10\n"))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", r"e\.csv: the file is empty \(0 bytes\)"),
        (b"\n \n\n", r"e\.csv: the file holds only blank lines"),
        (
            HEADER.encode(),
            r"e\.csv: the file has a header line \('userId,movieId,rating,timestamp'\) but no data rows",
        ),
    ],
)
def test_empty_inputs(tmp_path: Path, content: bytes, match: str) -> None:
    with raises(match):
        load_ratings(write(tmp_path, "e.csv", content))


def test_empty_dataframe_and_parquet(tmp_path: Path) -> None:
    with raises(r"DataFrame: no ratings \(empty input\)"):
        load_ratings(pd.DataFrame({"user": [], "item": [], "rating": []}))
    path = tmp_path / "e.parquet"
    pq.write_table(
        pa.table(
            {
                "user": pa.array([], pa.int64()),
                "item": pa.array([], pa.int64()),
                "rating": pa.array([], pa.float64()),
            }
        ),
        path,
    )
    with raises(r"e\.parquet: the Parquet file has no rows"):
        load_ratings(path)


def test_non_numeric_ratings_count_and_first_row(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", HEADER + "1,10,4,100\n1,20,abc,101\n2,10,5,102\n2,20,x,103\n")
    with raises(
        r"r\.csv: column 'rating' has 2 non-numeric values \(first 'abc' at line 3\); expected numbers"
    ):
        load_ratings(path)


def test_non_numeric_ratings_after_the_sample(tmp_path: Path) -> None:
    rows = "".join(f"{i},1,3\n" for i in range(20000))
    path = write(tmp_path, "r.csv", "user,item,rating\n" + rows + "9,9,five\n")
    with raises(r"column 'rating' has 1 non-numeric values \(first 'five' at line 20002\)"):
        load_ratings(path)


def test_nan_and_missing_ratings(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", HEADER + "1,10,4,100\n1,20,NaN,101\n2,10,,102\n")
    with raises(r"r\.csv: column 'rating' has 2 NaN or missing values \(first at line 3"):
        load_ratings(path)


def test_infinite_ratings(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", HEADER + "1,10,4,100\n1,20,5,101\n2,10,-inf,102\n")
    with raises(r"r\.csv: column 'rating' has 1 infinite values \(first at line 4"):
        load_ratings(path)


def test_nan_in_dataframe_names_the_position() -> None:
    frame = pd.DataFrame({"user": [1, 2, 3], "item": [1, 1, 1], "rating": [4.0, np.inf, 5.0]})
    with raises(r"DataFrame: column 'rating' has 1 infinite values \(first at row 1"):
        load_ratings(frame)


def test_ratings_outside_scale(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", HEADER + "1,10,4,100\n1,20,7,101\n2,10,0,102\n")
    with raises(
        r"r\.csv: column 'rating' has 2 ratings outside the scale 1\.\.5 \(first 7 at line 3\)"
    ):
        load_ratings(path, rating_scale=(1, 5))


def test_headerless_rows_are_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "u.data", "1\t10\t4\t1\n1\t20\t9\t2\n")
    with raises(
        r"u\.data: column 'rating' has 1 ratings outside the scale 1\.\.5 \(first 9 at line 2\)"
    ):
        load_ratings(path, rating_scale=(1, 5))


def test_missing_ids(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", HEADER + "1,10,4,100\n,20,3,101\n2,10,5,102\n")
    with raises(r"r\.csv: column 'userId' has 1 missing user IDs \(first at line 3\)"):
        load_ratings(path)
    path = write(tmp_path, "s.csv", "user,item,rating\na,x,4\nb,,3\nc,,5\n")
    with raises(r"s\.csv: column 'item' has 2 missing item IDs \(first at line 3\)"):
        load_ratings(path)


def test_ragged_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", HEADER + "1,10,4,100\n1,20,3\n2,10,5,102\n2,20,1,103,9\n")
    with raises(
        r"r\.csv: 2 row\(s\) have the wrong number of fields \(first at line 3: expected 4, found 3: '1,20,3'\)"
    ):
        load_ratings(path)


def test_ragged_double_colon_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "ratings.dat", "1::10::4::100\n1::20::3\n")
    with raises(
        r"ratings\.dat: 1 row\(s\) have the wrong number of fields \(first at line 2: expected 4, found 3"
    ):
        load_ratings(path)


def test_binary_garbage(tmp_path: Path) -> None:
    with raises(r"b\.csv: not a delimited text file \(it contains NUL bytes"):
        load_ratings(write(tmp_path, "b.csv", bytes(range(256)) * 4))
    noise = bytes(np.random.default_rng(0).integers(1, 256, 4000, dtype=np.uint8))
    with raises(r"n\.csv: line \d+ is not valid utf-8 text"):
        load_ratings(write(tmp_path, "n.csv", noise))


def test_no_separator(tmp_path: Path) -> None:
    with raises(r"o\.csv: cannot detect the column separator .*pass sep="):
        load_ratings(write(tmp_path, "o.csv", "hello\nworld\n"))


def test_bad_sep(tmp_path: Path) -> None:
    with raises(r"sep='ab' is not supported"):
        load_ratings(write(tmp_path, "r.csv", HEADER + ROWS), sep="ab")


def test_wrong_encoding_suggests_latin1(tmp_path: Path) -> None:
    path = write(tmp_path, "l.csv", "user,item,rating\nJosé,1,4\n", encoding="latin-1")
    with raises(r"l\.csv: line 2 is not valid utf-8 text \(byte 0xe9\).*pass encoding='latin-1'"):
        load_ratings(path)


def test_wrong_encoding_after_the_sample(tmp_path: Path) -> None:
    rows = "".join(f"user{i},{i % 5},3\n" for i in range(20000))
    path = write(tmp_path, "l.csv", "user,item,rating\n" + rows + "Zoé,1,4\n", encoding="latin-1")
    with raises(r"l\.csv: line 20002 is not valid utf-8 text \(byte 0xe9\).*encoding='latin-1'"):
        load_ratings(path)


def test_unknown_encoding(tmp_path: Path) -> None:
    with raises(r"encoding='klingon' is not a known text encoding"):
        load_ratings(write(tmp_path, "r.csv", HEADER + ROWS), encoding="klingon")


def test_bad_timestamps_suggest_false(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", HEADER + "1,10,4,100\n2,10,5,\n")
    with raises(
        r"r\.csv: column 'timestamp' has 1 missing timestamps \(first at line 3\).*timestamp=False"
    ):
        load_ratings(path)
    assert load_ratings(path, timestamp=False).timestamp is None


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = write(tmp_path, "r.parquet", b"PAR1 this is not really parquet PAR1")
    with raises(r"r\.parquet: cannot read as Parquet"):
        load_ratings(path)


def test_every_message_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", HEADER + "1,10,4,100\n1,20\n")
    with pytest.raises(DataError) as info:
        load_ratings(path)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- load()


def test_load_dispatches_tables(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", HEADER + ROWS)
    assert triples(load(path)) == EXPECTED
    assert triples(load(str(path), user="userId", duplicates="error")) == EXPECTED
    assert triples(load(pd.read_csv(path))) == EXPECTED


def test_load_missing_path(tmp_path: Path) -> None:
    with raises(re.escape(str(tmp_path / "x.csv")) + r": file not found"):
        load(tmp_path / "x.csv")


def test_load_folder_without_movielens(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    with raises(r"not a MovieLens dataset \(no u\.data, ratings\.dat or ratings\.csv"):
        load(tmp_path)


def test_missing_ids_in_dataframe_and_arrow() -> None:
    frame = pd.DataFrame({"user": [1.0, np.nan, 3.0], "item": [1, 1, 2], "rating": [4, 5, 3]})
    with raises(r"DataFrame: column 'user' has 1 missing user IDs \(first at row 1\)"):
        load_ratings(frame)
    table = pa.table(
        {
            "user": ["a", "b", "c"],
            "item": pa.array([1, None, None], pa.int64()),
            "rating": [4, 5, 3],
        }
    )
    with raises(r"Arrow table: column 'item' has 2 missing item IDs \(first at row 1\)"):
        load_ratings(table)


def test_leading_zero_ids_stay_strings(tmp_path: Path) -> None:
    path = write(
        tmp_path, "books.csv", "user,isbn,rating\n7,0195153448,5\n8,0002005018,3\n8,0195153448,4\n"
    )
    ds = load_ratings(path)
    assert ds.items.kind == "str" and list(ds.items) == ["0002005018", "0195153448"]
    assert ds.users.kind == "int"


def test_utf16_file(tmp_path: Path) -> None:
    path = write(tmp_path, "w.csv", HEADER + ROWS, encoding="utf-16")
    with raises(
        r"w\.csv: not a delimited text file .*looks like UTF-16 text: pass encoding='utf-16'"
    ):
        load_ratings(path)
    assert triples(load_ratings(path, encoding="utf-16")) == EXPECTED


def test_blank_lines_before_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "\n\n" + HEADER + "1,10,4,100\n1,20,9,101\n")
    with raises(
        r"r\.csv: column 'rating' has 1 ratings outside the scale 1\.\.5 \(first 9 at line 5\)"
    ):
        load_ratings(path, rating_scale=(1, 5))
    assert len(load_ratings(write(tmp_path, "s.csv", "\n" + HEADER + ROWS))) == 4
