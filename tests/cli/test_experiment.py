"""`embedlab experiment size-sweep|biases|l2` on a ratings file the tests write."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import embedlab as el
from embedlab.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def ratings_csv(tmp_path_factory):
    ds, _ = el.synthetic_ratings(120, 60, 3000, seed=2)
    folder = tmp_path_factory.mktemp("data") / "syn"
    el.data.write_movielens_csv(ds, folder)
    return folder / "ratings.csv"


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, ["experiment", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_size_sweep_json(ratings_csv) -> None:
    out = _json(["size-sweep", str(ratings_csv), "--sizes", "2,4", "--epochs", "2"])
    assert out["experiment"] == "size sweep (mf)" and out["by"] == "size"
    rows = pd.DataFrame(out["rows"])
    assert list(rows.columns) == ["size", "epoch", "train_loss", "val_rmse", "val_mae", "seconds"]
    assert rows["size"].tolist() == [2, 2, 4, 4]
    assert (rows["val_rmse"] > 0).all()


def test_size_sweep_is_seeded_by_seed(ratings_csv) -> None:
    args = ["size-sweep", str(ratings_csv), "--sizes", "3", "--epochs", "2", "--seed", "5"]
    a, b = _json(args), _json(args)
    assert [r["val_rmse"] for r in a["rows"]] == [r["val_rmse"] for r in b["rows"]]


def test_biases_json(ratings_csv) -> None:
    out = _json(
        ["biases", str(ratings_csv), "--size", "2", "--epochs", "2", "--validation-fraction", "0.2"]
    )
    assert [r["biases"] for r in out["rows"]] == ["on", "on", "off", "off"]


def test_l2_json_and_csv(ratings_csv, tmp_path) -> None:
    csv = tmp_path / "sub" / "l2.csv"
    args = ["l2", str(ratings_csv), "--strengths", "0,0.1", "--size", "2", "--epochs", "2"]
    out = _json([*args, "--out", str(csv)])
    assert [r["l2"] for r in out["rows"]] == [0.0, 0.0, 0.1, 0.1]
    written = pd.read_csv(csv)
    assert written["l2"].tolist() == [0.0, 0.0, 0.1, 0.1]
    assert list(written.columns)[1:] == ["epoch", "train_loss", "val_rmse", "val_mae", "seconds"]


def test_table_output(ratings_csv) -> None:
    result = runner.invoke(
        app, ["experiment", "size-sweep", str(ratings_csv), "--sizes", "2,4", "--epochs", "2", "-q"]
    )
    assert result.exit_code == 0, result.output
    assert "size sweep (mf)" in result.stdout
    assert "val RMSE" in result.stdout and "at epoch" in result.stdout


def test_neural_model(ratings_csv) -> None:
    out = _json(
        ["size-sweep", str(ratings_csv), "--model", "neural", "--sizes", "2", "--epochs", "1"]
    )
    assert len(out["rows"]) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["size-sweep", "{data}", "--sizes", "2,x"], "--sizes '2,x'"),
        (["size-sweep", "{data}", "--sizes", "0"], "out of range"),
        (["size-sweep", "{data}", "--model", "svd"], "model='svd'"),
        (["l2", "{data}", "--strengths", "-1"], "out of range"),
        (["biases", "{data}", "--variants", "on,maybe"], "variants="),
        (["biases", "{data}", "--size", "0"], "--size 0"),
        (["size-sweep", "{data}", "--validation-fraction", "1.5"], "--validation-fraction"),
        (["size-sweep", "{missing}"], "missing"),
    ],
)
def test_user_errors_are_one_line(ratings_csv, tmp_path, args, message) -> None:
    args = [a.format(data=ratings_csv, missing=tmp_path / "missing.csv") for a in args]
    result = runner.invoke(app, ["experiment", *args, "--epochs", "1", "--json"])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_help_lists_the_experiments() -> None:
    result = runner.invoke(app, ["experiment", "--help"])
    assert result.exit_code == 0
    for name in ("size-sweep", "biases", "l2"):
        assert name in result.stdout


def test_obscurity_json(ratings_csv) -> None:
    args = ["obscurity", str(ratings_csv), "--size", "4", "--epochs", "2", "--n", "5"]
    out = _json([*args, "--min-count", "20", "--filter-min-count", "30", "--sample-users", "2"])
    assert out["experiment"] == "obscurity"
    summary = pd.DataFrame(out["summary"])
    assert summary["model"].tolist() == [
        "unregularized",
        "unregularized-adam",
        "default",
        "unregularized+filter",
    ]
    assert summary["obscure_share"].between(0, 1).all()
    assert summary["obscure_share"].iloc[3] == 0.0
    assert (summary["rmse"] > 0).all()
    assert out["settings"]["min_count"] == 20 and out["settings"]["n"] == 5
    samples = pd.DataFrame(out["samples"])
    assert list(samples.columns) == ["user", "model", "rank", "item", "label", "n_ratings"]
    assert samples["user"].nunique() == 2 and samples["rank"].max() <= 5


def test_obscurity_table_and_bad_fraction(ratings_csv) -> None:
    args = ["experiment", "obscurity", str(ratings_csv), "--size", "2", "--epochs", "1", "-q"]
    result = runner.invoke(app, [*args, "--test-fraction", "0"])
    assert result.exit_code == 0, result.output
    assert "obscure recommendations" in result.stdout and "default" in result.stdout
    bad = runner.invoke(app, [*args, "--test-fraction", "1.5"])
    assert bad.exit_code != 0 and "--test-fraction" in bad.output
