"""`embedlab train --engine spark|als` and `--spark-master`, on files the tests write."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import embedlab as el
from embedlab.cli import app
from movielens_files import tiny_ml100k_files, write_files

runner = CliRunner()


@pytest.fixture(scope="module")
def ratings_csv(tmp_path_factory):
    ds, _ = el.synthetic_ratings(120, 60, 3000, random_state=2)
    folder = tmp_path_factory.mktemp("data") / "syn"
    el.data.write_movielens_csv(ds, folder)
    return folder / "ratings.csv"


@pytest.fixture(scope="module")
def spark():
    """A local[2] session the commands find as the active one (skip without pyspark/Java)."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17 (not found)")
    from pyspark.sql import SparkSession

    from embedlab.training import spark_session

    before = SparkSession.getActiveSession()
    session = spark_session(
        master="local[2]", conf={"spark.ui.enabled": "false", "spark.driver.memory": "1g"}
    )
    yield session
    if before is None:
        session.stop()


def _train(*args: str):
    return runner.invoke(app, ["train", *args])


def _error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_engine_als_from_the_command_line(ratings_csv, tmp_path) -> None:
    out = tmp_path / "als"
    result = _train(
        str(ratings_csv), "--out", str(out), "--engine", "als", "--embedding-dim", "4",
        "--epochs", "3", "--validation-split", "0.2", "--random-state", "0", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["epochs"] == 3 and info["val_rmse"] > 0
    assert el.load(out).get_params()["engine"] == "als"


def test_spark_master_needs_engine_spark(ratings_csv, tmp_path) -> None:
    line = _error_line(
        _train(str(ratings_csv), "--out", str(tmp_path / "m"), "--spark-master", "local[2]")
    )
    assert "--spark-master local[2]: applies only to --engine spark" in line


def test_engine_spark_option_errors_are_one_line(ratings_csv, tmp_path) -> None:
    line = _error_line(
        _train(
            str(ratings_csv), "--out", str(tmp_path / "m"), "--engine", "spark", "--patience", "2"
        )
    )
    assert "--patience 2: --engine spark trains all epochs" in line
    line = _error_line(_train(str(ratings_csv), "--out", str(tmp_path / "m"), "--engine", "hadoop"))
    assert "--engine hadoop: expected one of" in line


@pytest.mark.slow
@pytest.mark.usefixtures("spark")
def test_engine_spark_reads_a_csv_file_itself(ratings_csv, tmp_path) -> None:
    out = tmp_path / "spark"
    result = _train(
        str(ratings_csv), "--out", str(out), "--engine", "spark", "--spark-master", "local[2]",
        "--embedding-dim", "4", "--epochs", "3", "--validation-split", "0.2",
        "--random-state", "0", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["epochs"] == 3 and 0 < info["val_rmse"] < 2
    model = el.load(out)
    reference = el.load_ratings(ratings_csv)
    assert model.get_params()["engine"] == "spark" and model.users_ == reference.users
    assert 0.7 * len(reference) < int(model.item_counts_.sum()) < 0.9 * len(reference)


@pytest.mark.slow
@pytest.mark.usefixtures("spark")
def test_engine_spark_errors_are_one_line(tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("userId,movieId,rating\n1,2,4\n1,3,NaN\n")
    line = _error_line(_train(str(bad), "--out", str(tmp_path / "m"), "--engine", "spark"))
    assert "1 of 2 ratings in column 'rating' are missing, NaN or infinite" in line
    cols = tmp_path / "cols.csv"
    cols.write_text("who,what,how\na,b,4\n")
    line = _error_line(_train(str(cols), "--out", str(tmp_path / "m"), "--engine", "spark"))
    assert "no user column found" in line and "pass user_col=" in line
    line = _error_line(
        _train(str(tmp_path / "nowhere.csv"), "--out", str(tmp_path / "m"), "--engine", "spark")
    )
    assert "not found" in line


@pytest.mark.slow
@pytest.mark.usefixtures("spark")
def test_engine_spark_with_a_movielens_folder_uses_the_loader(tmp_path) -> None:
    folder = write_files(tmp_path / "ml-100k", tiny_ml100k_files())
    out = tmp_path / "m"
    result = _train(
        str(folder), "--out", str(out), "--engine", "spark", "--embedding-dim", "2",
        "--epochs", "2", "--random-state", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    model = el.load(out)
    assert model.item_metadata_ is not None and "title" in model.item_metadata_.columns
    assert not Path("spark-warehouse").exists() and not Path("metastore_db").exists()
