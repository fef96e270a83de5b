"""`embedlab map` and `embedlab plot history|biases|sweep|obscurity` on a small saved bundle."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner
from viz_pictures import assert_picture

from embedlab.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def bundle(planted, tmp_path_factory):
    return planted[0].save(tmp_path_factory.mktemp("bundles") / "planted-mf")


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_map_png_and_html(bundle, tmp_path) -> None:
    out = tmp_path / "map.png"
    result = _run("map", bundle, "--method", "pca", "--color", "year", "--out", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    assert_picture(out, (1000, 800), min_colours=20)
    page = tmp_path / "top.html"
    result = _run("map", bundle, "--method", "pca", "--top-n", "50", "--out", page)
    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert '"n":50' in html and "bundle &#x27;planted-mf&#x27;" in html


def test_map_seed_is_the_old_name_of_random_state(bundle, tmp_path) -> None:
    page = tmp_path / "old.html"
    result = _run("map", bundle, "--method", "pca", "--top-n", "50", "--seed", "1", "--out", page)
    assert result.exit_code == 0, result.output
    assert result.stderr == "warning: --seed is deprecated; use --random-state\n"
    assert page.is_file()
    both = _run("map", bundle, "--seed", "1", "--random-state", "1", "--out", page)
    assert both.exit_code == 2 and "pass --random-state" in both.stderr
    assert "--seed" not in _run("map", "--help").stdout


def test_plot_history_biases_sweep_obscurity(bundle, planted, tmp_path) -> None:
    curves = tmp_path / "curves.png"
    assert _run("plot", "history", bundle, "--out", curves).exit_code == 0
    assert_picture(curves, (1000, 420))
    biases = tmp_path / "biases.svg"
    result = _run("plot", "biases", bundle, "--n", "5", "--out", biases)
    assert result.exit_code == 0, result.output
    assert "<svg" in biases.read_text()
    # The CSV `embedlab experiment size-sweep --out` writes: curves.to_csv(index=False).
    from embedlab.evaluation import size_sweep

    model, _, validation = planted
    del model
    train = validation  # any ratings do: two tiny fits
    frame = size_sweep(train, validation, (2, 4), epochs=2)
    csv = tmp_path / "sizes.csv"
    frame.to_csv(csv, index=False)
    sweep = tmp_path / "sweep.png"
    result = _run("plot", "sweep", csv, "--out", sweep)
    assert result.exit_code == 0, result.output
    assert_picture(sweep, (1100, 440))
    recs = tmp_path / "recs.csv"
    pd.DataFrame({"model": ["a", "a", "b"], "n_ratings": [1, 5, 50]}).to_csv(recs, index=False)
    result = _run("plot", "obscurity", recs, "--out", tmp_path / "obscurity.png")
    assert result.exit_code == 0, result.output


def test_user_errors_are_one_line(bundle, tmp_path) -> None:
    _one_line_error(_run("map", bundle, "--out", tmp_path / "map.jpg"), "unknown file type '.jpg'")
    _one_line_error(_run("map", tmp_path / "nothing", "--out", tmp_path / "m.png"))
    _one_line_error(
        _run("map", bundle, "--method", "pca", "--color", "rating", "--out", tmp_path / "m.png"),
        "--color 'rating'",
    )
    _one_line_error(
        _run("map", bundle, "--method", "mds", "--out", tmp_path / "m.png"), "--method 'mds'"
    )
    _one_line_error(
        _run("map", bundle, "--genre", "Opera", "--out", tmp_path / "m.png"), "--genre 'Opera'"
    )
    _one_line_error(_run("plot", "sweep", tmp_path / "none.csv", "--out", tmp_path / "s.png"))
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    _one_line_error(_run("plot", "sweep", bad, "--out", tmp_path / "s.png"), "setting column")
    assert not (tmp_path / "m.png").exists()


def test_help_has_an_example_for_each_command() -> None:
    for command in (
        ["map"],
        ["plot", "history"],
        ["plot", "biases"],
        ["plot", "sweep"],
        ["plot", "obscurity"],
    ):
        result = _run(*command, "--help")
        assert result.exit_code == 0, result.output
        assert "Example: embedlab " in result.stdout, command
