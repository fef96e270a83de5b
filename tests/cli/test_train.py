"""`embedlab train` and `embedlab evaluate` on files the tests write."""

from __future__ import annotations

import json

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


def test_train_then_evaluate(ratings_csv, tmp_path) -> None:
    out = tmp_path / "mf"
    result = runner.invoke(
        app,
        [
            "train",
            str(ratings_csv),
            "--out",
            str(out),
            "--embedding-dim",
            "4",
            "--epochs",
            "3",
            "--validation-split",
            "0.2",
            "--random-state",
            "0",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["model"] == "MatrixFactorization" and info["epochs"] == 3 and info["val_rmse"] > 0
    model = el.load(out)
    assert model.get_params()["embedding_dim"] == 4
    result = runner.invoke(app, ["evaluate", str(out), "--data", str(ratings_csv), "--json"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)) == {"rmse", "mae"}
    # 80% of these ratings were trained on: one warning line on stderr, JSON intact
    warned = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warned) == 1 and "training data" in warned[0], result.stderr


def test_train_neural_from_toml_config(ratings_csv, tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        'model = "neural"\nvalidation_split = 0.1\n[params]\nhidden = [8, 4]\nepochs = 2\nrandom_state = 1\ndevice = "cpu"\n'
    )
    out = tmp_path / "nn"
    result = runner.invoke(
        app,
        ["train", str(ratings_csv), "--config", str(config), "--epochs", "1", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert (
        "trained NeuralEmbeddingModel" in result.stdout and "for 1 epochs" in result.stdout
    )  # the option wins
    assert el.load(out).get_params()["hidden"] == (8, 4)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "svd"], "--model 'svd': expected 'mf' or 'neural'"),
        (["--model", "mf", "--hidden", "3"], "--model mf: --hidden does not apply"),
        (["--engine", "sgd", "--optimizer", "adam"], "--engine sgd does not support optimizer"),
        (["--epochs", "0"], "--epochs 0: expected"),
        (["--hidden", "a,b", "--model", "neural"], "--hidden a,b: expected"),
    ],
)
def test_train_user_errors_are_one_line(ratings_csv, tmp_path, args, message) -> None:
    result = runner.invoke(
        app, ["train", str(ratings_csv), "--out", str(tmp_path / "x"), "-q", *args]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert not (tmp_path / "x").exists()


def test_evaluate_unknown_ids_suggests_the_flag(ratings_csv, tmp_path) -> None:
    out = tmp_path / "m"
    assert (
        runner.invoke(
            app, ["train", str(ratings_csv), "--out", str(out), "--epochs", "1", "-q"]
        ).exit_code
        == 0
    )
    other = tmp_path / "other.csv"
    other.write_text("userId,movieId,rating\n99999,1,4\n1,1,3\n")
    result = runner.invoke(app, ["evaluate", str(out), "--data", str(other)])
    assert result.exit_code == 2 and "pass --fallback" in result.stderr
    result = runner.invoke(app, ["evaluate", str(out), "--data", str(other), "--fallback"])
    assert result.exit_code == 0 and "RMSE" in result.stdout
    result = runner.invoke(app, ["evaluate", str(tmp_path / "nothing"), "--data", str(other)])
    assert result.exit_code == 2 and result.stderr.startswith("error: ")
