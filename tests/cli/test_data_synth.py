"""``embedlab data synth``: writes a MovieLens-style folder; user mistakes exit 2 with one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from embedlab.cli import app

runner = CliRunner()


def test_custom_sizes_write_files(tmp_path: Path) -> None:
    out = tmp_path / "syn"
    result = runner.invoke(
        app,
        [
            "data",
            "synth",
            str(out),
            "--users",
            "60",
            "--items",
            "40",
            "--ratings",
            "900",
            "--random-state",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith(
        f"wrote {out}: 900 synthetic ratings, 60 users, 40 items, 8 genres (custom, seed 3"
    )
    ratings = pd.read_csv(out / "ratings.csv")
    assert list(ratings.columns) == ["userId", "movieId", "rating", "timestamp"]
    assert (
        len(ratings) == 900
        and ratings["userId"].nunique() == 60
        and ratings["movieId"].nunique() == 40
    )
    assert set(ratings["rating"]) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    movies = pd.read_csv(out / "movies.csv")
    assert len(movies) == 40 and movies["title"].str.startswith("Synthetic Movie").all()
    # The same seed writes the same bytes; --seed is the old name of --random-state.
    again = tmp_path / "again"
    old = runner.invoke(
        app,
        [
            "data",
            "synth",
            str(again),
            "--users",
            "60",
            "--items",
            "40",
            "--ratings",
            "900",
            "--seed",
            "3",
        ],
    )
    assert old.exit_code == 0, old.output
    assert old.stderr == "warning: --seed is deprecated; use --random-state\n"
    assert (again / "ratings.csv").read_bytes() == (out / "ratings.csv").read_bytes()
    both = runner.invoke(
        app, ["data", "synth", str(tmp_path / "both"), "--seed", "3", "--random-state", "3"]
    )
    assert both.exit_code == 2 and "pass --random-state" in both.stderr


def test_default_shape_is_ml100k_and_half_stars(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "synth", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert (
        "100,000 synthetic ratings, 943 users, 1,682 items" in result.stdout
        and "(ml-100k" in result.stdout
    )
    result = runner.invoke(
        app,
        [
            "data",
            "synth",
            str(tmp_path / "b"),
            "--users",
            "50",
            "--items",
            "30",
            "--ratings",
            "800",
            "--half-stars",
            "--genres",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "3 genres" in result.stdout and "half stars" in result.stdout
    rating = pd.read_csv(tmp_path / "b" / "ratings.csv")["rating"].to_numpy()
    assert rating.min() >= 0.5 and np.any(rating != np.round(rating))
    assert np.all(rating * 2 == np.round(rating * 2))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--shape", "ml-5m"],
            "error: unknown --shape 'ml-5m'; expected one of ml-100k, ml-1m, ml-20m, ml-32m",
        ),
        (
            ["--shape", "ml-1m", "--users", "5"],
            "error: pass either --shape or --users/--items/--ratings, not both",
        ),
        (
            ["--users", "5"],
            "error: custom sizes need --users, --items and --ratings; missing --items, --ratings",
        ),
        (
            ["--users", "5", "--items", "5", "--ratings", "26"],
            "error: --ratings 26 exceeds n_users * n_items",
        ),
        (
            ["--users", "0", "--items", "5", "--ratings", "3"],
            "error: --users 0: expected an integer >= 1",
        ),
        (["--genres", "0", "--users", "5", "--items", "5", "--ratings", "3"], "error: --genres 0"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "syn"
    result = runner.invoke(app, ["data", "synth", str(out), *args])
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.output
    assert not out.exists()


def test_existing_folder_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "syn"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    args = ["data", "synth", str(out), "--users", "10", "--items", "10", "--ratings", "50"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"error: {out} already exists and is not empty; pass --force to replace it"
    )
    assert (out / "notes.txt").read_text() == "mine"
    result = runner.invoke(app, [*args, "--force"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["movies.csv", "ratings.csv"]


def test_unwritable_target_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = runner.invoke(
        app,
        ["data", "synth", str(blocker / "syn"), "--users", "5", "--items", "5", "--ratings", "10"],
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: OUT_DIR {blocker / 'syn'}: {blocker} is a file")
    assert result.stderr.strip().count("\n") == 0


def test_help_lists_synth() -> None:
    result = runner.invoke(app, ["data", "--help"])
    assert result.exit_code == 0 and "synth" in result.stdout
