"""The course's experiments: size sweep, biases on/off, L2 sweep, and their summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import embedlab as el
from embedlab.evaluation import (
    BIAS_VARIANTS,
    bias_experiment,
    curve_summary,
    l2_sweep,
    size_sweep,
)

CURVE = ["epoch", "train_loss", "val_rmse", "val_mae", "seconds"]
SUMMARY = [
    "epochs",
    "final_train_loss",
    "final_val_rmse",
    "final_val_mae",
    "best_val_rmse",
    "best_epoch",
    "seconds",
]


@pytest.fixture(scope="module")
def small():
    ds, _ = el.synthetic_ratings(120, 60, 3000, random_state=1)
    return ds.split("random", test_size=0.2, random_state=0)


@pytest.fixture(scope="module")
def planted_rank3():
    """Rank-3 interactions, weak noise: capacity beyond 3 has nothing left to explain."""
    ds, _ = el.synthetic_ratings(
        300,
        150,
        12000,
        embedding_dim=3,
        n_genres=3,
        noise_std=0.3,
        interaction_scale=1.5,
        random_state=0,
    )
    return ds.split("random", test_size=0.2, random_state=0)


@pytest.fixture(scope="module")
def strong_biases():
    """Strong planted biases, weak interactions, and sparse: 8 training ratings per user.

    Where rows have many ratings, a bias-free model learns the biases in its factors
    (an offset in one dimension): with 24 per user it is only 0.01 worse. Sparse rows
    are where the biases, a prior, pay (the course's tip).
    """
    ds, _ = el.synthetic_ratings(
        300, 200, 3000, user_bias_std=1.0, item_bias_std=1.0, interaction_scale=0.3, random_state=0
    )
    return ds.split("random", test_size=0.2, random_state=0)


# ------------------------------------------------------------------ shapes
def test_size_sweep_rows_and_columns(small) -> None:
    train, val = small
    curves = size_sweep(train, val, embedding_dims=(2, 4), epochs=3)
    assert list(curves.columns) == ["size", *CURVE]
    assert curves["size"].tolist() == [2, 2, 2, 4, 4, 4]
    assert curves["epoch"].tolist() == [1, 2, 3, 1, 2, 3]
    assert curves[["train_loss", "val_rmse", "val_mae", "seconds"]].notna().all().all()
    assert (curves["val_rmse"] >= curves["val_mae"]).all()


def test_size_sweep_neural_sets_both_tables(small) -> None:
    train, val = small
    curves = size_sweep(train, val, embedding_dims=(2, 3), model="neural", epochs=1, hidden=(4,))
    assert curves["size"].tolist() == [2, 3]
    assert np.isfinite(curves["val_rmse"]).all()


def test_size_sweep_is_seeded(small) -> None:
    train, val = small
    a = size_sweep(train, val, embedding_dims=(4,), epochs=2, random_state=3)
    b = size_sweep(train, val, embedding_dims=(4,), epochs=2, random_state=3)
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"))


def test_bias_experiment_rows_and_columns(small) -> None:
    train, val = small
    curves = bias_experiment(train, val, ("on", "global", "off"), embedding_dim=2, epochs=2)
    assert list(curves.columns) == ["biases", *CURVE]
    assert curves["biases"].tolist() == ["on", "on", "global", "global", "off", "off"]
    assert set(BIAS_VARIANTS) == {"on", "global", "off"}


def test_l2_sweep_one_row_per_strength(small) -> None:
    train, val = small
    table = l2_sweep(train, val, strengths=(0, 0.1), embedding_dim=2, epochs=2)
    assert list(table.columns) == ["l2", *SUMMARY]
    assert table["l2"].tolist() == [0.0, 0.1]
    assert table["epochs"].tolist() == [2, 2]
    assert (table["best_val_rmse"] <= table["final_val_rmse"]).all()


def test_l2_sweep_per_epoch(small) -> None:
    train, val = small
    curves = l2_sweep(train, val, strengths=(0.01,), embedding_dim=2, epochs=3, per_epoch=True)
    assert list(curves.columns) == ["l2", *CURVE]
    assert len(curves) == 3


# --------------------------------------------------------------- behaviour
def test_size_sweep_on_planted_rank(planted_rank3) -> None:
    """Below the planted rank the model underfits; above it, capacity barely helps.

    The planted interactions are strong (scale 1.5 against noise 0.3), unlike rating
    data, where biases explain most of the variance and MF's tiny default start
    (``init_std=0.005``) regularizes; from it, 20 epochs leave rank 3 short of its
    optimum here (validation RMSE 0.51, against 0.47 converged). A larger start gets
    there in 20.
    """
    train, val = planted_rank3
    curves = size_sweep(train, val, embedding_dims=(1, 3, 32), epochs=20, init_std=0.05)
    summary = curve_summary(curves, "size")
    by = summary.set_index("size")
    rank1, rank3, rank32 = (by.loc[s, "best_val_rmse"] for s in (1, 3, 32))
    assert rank1 - rank3 > 0.03  # the planted rank explains what rank 1 cannot
    assert abs(rank32 - rank3) < 0.02  # extra capacity has nothing left to learn
    losses = by["final_train_loss"].to_numpy()
    assert (np.diff(losses) <= 1e-6).all()  # more capacity fits the training data better


def test_biases_off_worse_when_planted_biases_are_strong(strong_biases) -> None:
    train, val = strong_biases
    summary = curve_summary(
        bias_experiment(train, val, embedding_dim=4, epochs=10), "biases"
    ).set_index("biases")
    assert summary.loc["off", "final_val_rmse"] > summary.loc["on", "final_val_rmse"] + 0.1


def test_strong_l2_underfits(planted_rank3) -> None:
    train, val = planted_rank3
    table = l2_sweep(train, val, strengths=(0.03, 3.0), embedding_dim=8, epochs=10).set_index("l2")
    assert table.loc[3.0, "final_train_loss"] > table.loc[0.03, "final_train_loss"] + 0.3
    assert table.loc[3.0, "final_val_rmse"] > table.loc[0.03, "final_val_rmse"] + 0.2


# --------------------------------------------------------------- summaries
def test_curve_summary_by_hand() -> None:
    curves = pd.DataFrame(
        {
            "size": [8, 8, 8, 2, 2],
            "epoch": [1, 2, 3, 1, 2],
            "train_loss": [1.0, 0.8, 0.6, 1.2, 1.1],
            "val_rmse": [1.1, 0.9, 0.95, 1.2, 1.15],
            "val_mae": [0.9, 0.7, 0.75, 1.0, 0.95],
            "seconds": [0.5, 0.5, 0.5, 0.25, 0.25],
        }
    )
    out = curve_summary(curves, "size")
    assert out["size"].tolist() == [8, 2]  # the frame's order
    first = out.iloc[0]
    assert first["epochs"] == 3 and first["best_epoch"] == 2
    assert first["best_val_rmse"] == pytest.approx(0.9)
    assert first["final_val_rmse"] == pytest.approx(0.95)
    assert first["final_train_loss"] == pytest.approx(0.6)
    assert first["seconds"] == pytest.approx(1.5)
    assert out.iloc[1]["best_epoch"] == 2


def test_curve_summary_missing_column() -> None:
    with pytest.raises(ValueError, match="lack the columns"):
        curve_summary(pd.DataFrame({"size": [1]}), "size")


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": "svd"}, ValueError, "model='svd'"),
        ({"embedding_dims": ()}, ValueError, "empty"),
        ({"embedding_dims": (4, 4)}, ValueError, "duplicates"),
        ({"embedding_dims": (0,)}, ValueError, "out of range"),
        ({"embedding_dims": (2.5,)}, TypeError, "not a number"),
        ({"embedding_dims": (True,)}, TypeError, "not a number"),
        ({"embedding_dims": "248"}, TypeError, "list of numbers"),
        ({"embedding_dim": 8}, ValueError, "embedding_dim cannot be passed"),
    ],
)
def test_size_sweep_rejects(small, kwargs, error, match) -> None:
    train, val = small
    with pytest.raises(error, match=match):
        size_sweep(train, val, **{"embedding_dims": (2,), "epochs": 1, **kwargs})


def test_sizes_is_the_deprecated_name_of_embedding_dims(small) -> None:
    train, val = small
    with pytest.warns(
        FutureWarning,
        match=r"^size_sweep: sizes= is deprecated and will be removed in the next release; "
        "use embedding_dims=$",
    ):
        old = size_sweep(train, val, sizes=(2,), epochs=1)
    new = size_sweep(train, val, embedding_dims=(2,), epochs=1)
    pd.testing.assert_frame_equal(old.drop(columns="seconds"), new.drop(columns="seconds"))
    with pytest.raises(ValueError, match=r"both embedding_dims= and sizes="):
        size_sweep(train, val, (2,), sizes=(2,), epochs=1)


def test_size_sweep_neural_rejects_table_sizes(small) -> None:
    train, val = small
    with pytest.raises(ValueError, match="embedding_dim cannot be passed"):
        size_sweep(train, val, embedding_dims=(2,), model="neural", embedding_dim=4)


def test_experiments_need_validation(small) -> None:
    train, _ = small
    with pytest.raises(ValueError, match="validation=None"):
        size_sweep(train, None, embedding_dims=(2,), epochs=1)


def test_bias_experiment_rejects(small) -> None:
    train, val = small
    with pytest.raises(ValueError, match="variants="):
        bias_experiment(train, val, ("on", "maybe"))
    with pytest.raises(ValueError, match="user_bias cannot be passed"):
        bias_experiment(train, val, user_bias=False)


def test_l2_sweep_rejects(small) -> None:
    train, val = small
    with pytest.raises(ValueError, match="out of range"):
        l2_sweep(train, val, strengths=(-0.1,))
    with pytest.raises(ValueError, match="out of range"):
        l2_sweep(train, val, strengths=(float("nan"),))
    with pytest.raises(ValueError, match="l2_item cannot be passed"):
        l2_sweep(train, val, l2_item=0.1)


def test_unknown_model_argument_is_reported(small) -> None:
    train, val = small
    with pytest.raises(TypeError):
        size_sweep(train, val, embedding_dims=(2,), epochs=1, no_such_option=1)
