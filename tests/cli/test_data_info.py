"""``embedlab data info``: summaries of real and small datasets, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from embedlab.cli import app

runner = CliRunner()


def info(*args: str):
    return runner.invoke(app, ["data", "info", *args])


def assert_one_line_error(result, *parts: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for part in parts:
        assert part in lines[0]


@pytest.mark.realdata
def test_info_ml100k(ml100k_dir: Path) -> None:
    result = info(str(ml100k_dir))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "ml-100k" in out and "100,000" in out and "943" in out and "1,682" in out
    assert "1 to 5" in out and "27,145" in out and "(19 genres)" in out
    assert "age, gender, occupation, zip" in out


@pytest.mark.realdata
def test_info_ml100k_json(ml100k_dir: Path) -> None:
    result = info(str(ml100k_dir), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["name"], summary["n_ratings"], summary["n_users"], summary["n_items"]) == (
        "ml-100k",
        100_000,
        943,
        1_682,
    )
    assert summary["rating_histogram"] == {
        "1": 6_110,
        "2": 11_370,
        "3": 27_145,
        "4": 34_174,
        "5": 21_201,
    }
    assert summary["n_genres"] == 19 and summary["user_metadata"] == [
        "age",
        "gender",
        "occupation",
        "zip",
    ]


@pytest.mark.realdata
def test_info_mlsmall(mlsmall_dir: Path) -> None:
    result = info(str(mlsmall_dir))
    assert result.exit_code == 0, result.output
    assert (
        "ml-latest-small" in result.stdout
        and "100,836" in result.stdout
        and "9,724" in result.stdout
    )
    result = info(str(mlsmall_dir), "--json")
    summary = json.loads(result.stdout)
    assert (summary["n_ratings"], summary["n_users"], summary["n_items"]) == (100_836, 610, 9_724)
    assert summary["rating_scale"] == [0.5, 5.0] and summary["rating_histogram"]["4"] == 26_818
    assert summary["item_metadata"] == ["title", "genres", "year"]


@pytest.mark.realdata
def test_info_ratings_csv_as_a_table(mlsmall_dir: Path) -> None:
    result = info(
        str(mlsmall_dir / "ratings.csv"), "--user", "userId", "--item", "movieId", "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_ratings"] == 100_836


def test_info_small_table_with_columns(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("who,what,stars\n1,10,4\n2,10,5\n2,20,3\n")
    result = info(str(path), "--user", "who", "--item", "what", "--rating", "stars", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["name"], summary["n_ratings"], summary["n_users"], summary["n_items"]) == (
        "r",
        3,
        2,
        2,
    )


def test_info_bad_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("userId,movieId,rating\n1,10,4\n2,10,five\n")
    assert_one_line_error(info(str(path)), "bad.csv", "column 'rating'", "non-numeric", "line 3")


def test_info_missing_column_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("a,b,c\n1,2,3\n")
    result = info(str(path), "--user", "a", "--item", "b", "--rating", "rating")
    assert_one_line_error(
        result, "cols.csv", "no column 'rating'", "columns present: ['a', 'b', 'c']"
    )


def test_info_ragged_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("userId,movieId,rating\n1,10,4\n2,10\n")
    assert_one_line_error(info(str(path)), "ragged.csv", "line 3")


def test_info_binary_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "blob.csv"
    path.write_bytes(bytes(range(256)))
    assert_one_line_error(info(str(path)), "blob.csv", "NUL bytes")
    assert_one_line_error(info(str(tmp_path / "none.csv")), "none.csv", "file not found")
    assert_one_line_error(info(str(tmp_path)), "not a MovieLens dataset")


def test_info_table_options_on_movielens_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text("1\t1\t5\t10\n")
    assert_one_line_error(info(str(folder), "--user", "x"), "is a MovieLens dataset", "--user")
