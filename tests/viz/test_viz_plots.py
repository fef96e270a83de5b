"""Learning curves, sweeps, item biases and obscurity plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from viz_pictures import assert_picture

import embedlab.viz as viz


def _sweep_frame() -> pd.DataFrame:
    """A size sweep with known numbers: larger sizes fit training better, overfit validation."""
    rows = []
    for size, final in ((2, 0.95), (8, 0.92), (32, 0.97)):
        for epoch in (1, 2, 3):
            rows.append(
                {
                    "size": size,
                    "epoch": epoch,
                    "train_loss": 1.2 - 0.1 * epoch - 0.005 * size,
                    "val_rmse": final + 0.05 * (3 - epoch),
                    "val_mae": 0.8 * final,
                    "seconds": 0.1,
                }
            )
    return pd.DataFrame(rows)


def test_learning_curves_of_a_model(planted, tmp_path) -> None:
    model = planted[0]
    plot = viz.learning_curves(model)
    history = model.history_.to_pandas()
    best = int(history["val_rmse"].to_numpy().argmin())
    assert f"best validation RMSE {history['val_rmse'].iloc[best]:.4f}" in plot.title
    left, right = plot.figure.axes
    assert left.get_lines()[0].get_ydata().tolist() == history["train_loss"].tolist()
    assert right.get_lines()[0].get_ydata().tolist() == history["val_rmse"].tolist()
    assert_picture(plot.save(tmp_path / "curves.png"), (1000, 420))
    page = plot.save(tmp_path / "curves.html").read_text()
    assert "<svg" in page and "http://" not in page.split("<svg", 1)[0]


def test_learning_curves_without_validation() -> None:
    frame = pd.DataFrame({"epoch": [1, 2], "train_loss": [1.0, 0.9], "val_rmse": [np.nan] * 2})
    plot = viz.learning_curves(frame)
    assert "no validation data" in [t.get_text() for t in plot.figure.axes[1].texts]
    with pytest.raises(ValueError, match="lacks the columns"):
        viz.learning_curves(pd.DataFrame({"loss": [1.0]}))


def test_sweep_plot_known_numbers(tmp_path) -> None:
    plot = viz.size_sweep_plot(_sweep_frame())
    assert "lowest final validation RMSE at size=8" in plot.title
    per_epoch, summary = plot.figure.axes
    assert len(per_epoch.get_lines()) == 3
    final_val = summary.get_lines()[1].get_ydata().tolist()
    assert final_val == pytest.approx([0.95, 0.92, 0.97])
    assert summary.get_xscale() == "log"
    assert_picture(plot.save(tmp_path / "sweep.png"), (1100, 440))


def test_l2_summary_rows_and_symlog_axis() -> None:
    frame = pd.DataFrame(
        {
            "l2": [0.0, 0.01, 0.1],
            "epochs": [3, 3, 3],
            "final_train_loss": [0.7, 0.8, 0.9],
            "final_val_rmse": [0.99, 0.93, 0.95],
            "best_val_rmse": [0.95, 0.93, 0.95],
        }
    )
    plot = viz.l2_sweep_plot(frame)
    assert len(plot.figure.axes) == 1
    assert plot.figure.axes[0].get_xscale() == "symlog"
    assert "at l2=0.01" in plot.title
    with pytest.raises(ValueError, match="setting column"):
        viz.sweep_plot(frame.drop(columns="l2"))


def test_bias_plot_top_and_bottom(planted, tmp_path) -> None:
    model = planted[0]
    biases = model.item_biases()
    plot = viz.bias_plot(model, n=10)
    top, bottom = plot.figure.axes
    assert top.get_yticklabels()[0].get_text() == biases["title"].iloc[0]
    assert bottom.get_yticklabels()[0].get_text() == biases["title"].iloc[-1]
    counts = [t.get_text() for t in top.texts]
    assert counts[0] == f"{int(biases['n_ratings'].iloc[0]):,}"
    assert_picture(plot.save(tmp_path / "biases.png"), (1200, 440))
    filtered = viz.bias_plot(biases, n=5, min_count=100)
    assert "with ≥ 100 ratings" in filtered.title
    with pytest.raises(ValueError, match="no item has at least"):
        viz.bias_plot(biases, min_count=10**9)


def test_obscurity_plot(tmp_path) -> None:
    frame = pd.DataFrame(
        {"model": ["mf"] * 4 + ["popular"] * 4, "n_ratings": [3, 10, 20, 40, 300, 400, 500, 600]}
    )
    plot = viz.obscurity_plot(frame, catalog=[1, 2, 3, 500])
    ax = plot.figure.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "catalogue (all items)",
        "mf",
        "popular",
    ]
    assert [t.get_text() for t in ax.texts] == ["median 2", "median 15", "median 450"]
    assert ax.get_yscale() == "log"
    assert_picture(
        plot.save(tmp_path / "obscurity.png"), (640, 460)
    )  # 1.3 in per box + 2.5 in, at 100 dpi
    from_dict = viz.obscurity_plot({"a": [1, 2, 3]})
    assert [t.get_text() for t in from_dict.figure.axes[0].texts] == ["median 2"]
    with pytest.raises(ValueError, match="lacks"):
        viz.obscurity_plot(frame.rename(columns={"model": "system"}))


def test_obscurity_plot_of_an_experiment_result() -> None:
    from embedlab.evaluation._obscurity import ObscurityResult

    samples = pd.DataFrame(
        {
            "user": [1, 1, 1, 1],
            "model": ["unregularized", "unregularized", "default", "default"],
            "rank": [1, 2, 1, 2],
            "item": [5, 6, 7, 8],
            "label": None,
            "n_ratings": [1, 3, 200, 400],
        }
    )
    result = ObscurityResult(summary=pd.DataFrame(), samples=samples, settings={"min_count": 10})
    ax = viz.obscurity_plot(result).figure.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["unregularized", "default"]
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["median 2", "median 300", "obscure: < 10 ratings"]
