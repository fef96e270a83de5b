"""On real ML-100K: one command each draws the genre map and the learning curves."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner
from viz_pictures import assert_picture

import embedlab as el
from embedlab.cli import app

pytestmark = pytest.mark.realdata

runner = CliRunner()


@pytest.fixture(scope="module")
def ml100k_bundle(ml100k_dir, tmp_path_factory):
    """The default MatrixFactorization on ML-100K (90/10 random split for the curves)."""
    ds = el.load_movielens(ml100k_dir)
    train, validation = ds.split("random", test_size=0.1, random_state=0)
    model = el.MatrixFactorization(random_state=0).fit(train, validation=validation, progress=False)
    return model.save(tmp_path_factory.mktemp("ml100k") / "ml100k-mf")


def test_genre_map_of_ml100k(ml100k_bundle, tmp_path) -> None:
    out = tmp_path / "map.png"
    start = time.perf_counter()
    result = runner.invoke(app, ["map", str(ml100k_bundle), "--out", str(out)])
    print(f"embedlab map (t-SNE of ML-100K items): {time.perf_counter() - start:.1f} s -> {out}")
    assert result.exit_code == 0, result.output
    assert_picture(out, (1000, 800), min_colours=30)


def test_learning_curves_of_ml100k(ml100k_bundle, tmp_path) -> None:
    out = tmp_path / "curves.png"
    result = runner.invoke(app, ["plot", "history", str(ml100k_bundle), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert_picture(out, (1000, 420))
