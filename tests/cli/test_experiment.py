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
    ds, _ = el.synthetic_ratings(120, 60, 3000, random_state=2)
    folder = tmp_path_factory.mktemp("data") / "syn"
    el.data.write_movielens_csv(ds, folder)
    return folder / "ratings.csv"


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, ["experiment", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_size_sweep_json(ratings_csv) -> None:
    out = _json(["size-sweep", str(ratings_csv), "--embedding-dims", "2,4", "--epochs", "2"])
    assert out["experiment"] == "size sweep (mf)" and out["by"] == "size"
    rows = pd.DataFrame(out["rows"])
    assert list(rows.columns) == ["size", "epoch", "train_loss", "val_rmse", "val_mae", "seconds"]
    assert rows["size"].tolist() == [2, 2, 4, 4]
    assert (rows["val_rmse"] > 0).all()


def test_size_sweep_is_seeded_by_random_state(ratings_csv) -> None:
    args = [
        "size-sweep",
        str(ratings_csv),
        "--embedding-dims",
        "3",
        "--epochs",
        "2",
        "--random-state",
        "5",
    ]
    a, b = _json(args), _json(args)
    assert [r["val_rmse"] for r in a["rows"]] == [r["val_rmse"] for r in b["rows"]]


@pytest.mark.parametrize(
    ("old", "new", "value"),
    [("--seed", "--random-state", "5"), ("--sizes", "--embedding-dims", "3")],
)
def test_size_sweep_keeps_the_old_option_names(ratings_csv, old, new, value) -> None:
    args = ["experiment", "size-sweep", str(ratings_csv), "--epochs", "1", "--json"]
    result = runner.invoke(app, [*args, old, value])
    assert result.exit_code == 0, result.output
    assert result.stderr == f"warning: {old} is deprecated; use {new}\n"
    rows = json.loads(result.stdout)["rows"]
    same = _json([*args[1:-1], new, value])["rows"]
    assert [r["val_rmse"] for r in rows] == [r["val_rmse"] for r in same]
    both = runner.invoke(app, [*args, old, value, new, value])
    assert both.exit_code == 2 and f"pass {new}" in both.stderr
    assert old not in runner.invoke(app, ["experiment", "size-sweep", "--help"]).stdout


@pytest.mark.parametrize("command", ["biases", "l2", "obscurity"])
def test_size_is_the_old_name_of_embedding_dim(ratings_csv, command) -> None:
    args = ["experiment", command, str(ratings_csv), "--epochs", "1", "--json", "--size", "0"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2  # the value reaches --embedding-dim's check
    assert result.stderr.splitlines()[0] == "warning: --size is deprecated; use --embedding-dim"
    assert "--embedding-dim 0: expected an integer >= 1" in result.stderr
    assert "--size" not in runner.invoke(app, ["experiment", command, "--help"]).stdout


def test_biases_json(ratings_csv) -> None:
    out = _json(
        [
            "biases",
            str(ratings_csv),
            "--embedding-dim",
            "2",
            "--epochs",
            "2",
            "--validation-fraction",
            "0.2",
        ]
    )
    assert [r["biases"] for r in out["rows"]] == ["on", "on", "off", "off"]


def test_l2_json_and_csv(ratings_csv, tmp_path) -> None:
    csv = tmp_path / "sub" / "l2.csv"
    args = ["l2", str(ratings_csv), "--strengths", "0,0.1", "--embedding-dim", "2", "--epochs", "2"]
    out = _json([*args, "--out", str(csv)])
    assert [r["l2"] for r in out["rows"]] == [0.0, 0.0, 0.1, 0.1]
    written = pd.read_csv(csv)
    assert written["l2"].tolist() == [0.0, 0.0, 0.1, 0.1]
    assert list(written.columns)[1:] == ["epoch", "train_loss", "val_rmse", "val_mae", "seconds"]


def test_table_output(ratings_csv) -> None:
    result = runner.invoke(
        app,
        [
            "experiment",
            "size-sweep",
            str(ratings_csv),
            "--embedding-dims",
            "2,4",
            "--epochs",
            "2",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "size sweep (mf)" in result.stdout
    assert "val RMSE" in result.stdout and "at epoch" in result.stdout


def test_neural_model(ratings_csv) -> None:
    out = _json(
        [
            "size-sweep",
            str(ratings_csv),
            "--model",
            "neural",
            "--embedding-dims",
            "2",
            "--epochs",
            "1",
        ]
    )
    assert len(out["rows"]) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["size-sweep", "{data}", "--embedding-dims", "2,x"], "--embedding-dims '2,x'"),
        (["size-sweep", "{data}", "--embedding-dims", "0"], "out of range"),
        (["size-sweep", "{data}", "--model", "svd"], "model='svd'"),
        (["l2", "{data}", "--strengths", "-1"], "out of range"),
        (["biases", "{data}", "--variants", "on,maybe"], "variants="),
        (["biases", "{data}", "--embedding-dim", "0"], "--embedding-dim 0"),
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
    args = ["obscurity", str(ratings_csv), "--embedding-dim", "4", "--epochs", "2", "--n", "5"]
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
    args = [
        "experiment",
        "obscurity",
        str(ratings_csv),
        "--embedding-dim",
        "2",
        "--epochs",
        "1",
        "-q",
    ]
    result = runner.invoke(app, [*args, "--test-fraction", "0"])
    assert result.exit_code == 0, result.output
    assert "obscure recommendations" in result.stdout and "default" in result.stdout
    bad = runner.invoke(app, [*args, "--test-fraction", "1.5"])
    assert bad.exit_code != 0 and "--test-fraction" in bad.output
