"""Predictions stay within the training rating scale; evaluating on training ratings warns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import embedlab as el
from embedlab.exceptions import DataWarning


@pytest.fixture(scope="module")
def split():
    ds, _ = el.synthetic_ratings(150, 90, 6000, noise_std=0.2, random_state=1)
    return ds.split("random", test_size=0.2, random_state=0)


@pytest.fixture(scope="module")
def overfit(split):
    # little regularization and many epochs: raw predictions leave the 1-5 scale
    return el.MatrixFactorization(
        embedding_dim=16, epochs=60, l2_user=0.0, l2_item=0.0, l2_bias=0.0, bias_damping=0.0,
        random_state=0,
    ).fit(split.train, progress=False)  # fmt: skip


def test_predictions_are_clipped_to_the_training_scale(split, overfit) -> None:
    users, items = (
        split.test.users.ids()[split.test.user_index],
        split.test.items.ids()[split.test.item_index],
    )
    low, high = overfit.rating_scale_
    clipped = overfit.predict(users, items)
    raw = overfit.set_params(clip=False).predict(users, items)
    overfit.set_params(clip=True)
    assert raw.max() > high or raw.min() < low  # the case the clip is for
    assert clipped.min() >= low and clipped.max() <= high
    np.testing.assert_array_equal(clipped, np.clip(raw, low, high))
    # clipping a prediction towards the scale never moves it away from a rating on the scale
    clipped_rmse = overfit.evaluate(split.test)["rmse"]
    assert clipped_rmse <= overfit.set_params(clip=False).evaluate(split.test)["rmse"]
    overfit.set_params(clip=True)


def test_recommendation_scores_are_predicted_ratings_ranked_by_raw_score(overfit, split) -> None:
    user = split.train.users.ids()[0]
    low, high = overfit.rating_scale_
    recs = overfit.recommend(user, n=20)
    assert recs["score"].between(low, high).all()
    raw = overfit.set_params(clip=False).recommend(user, n=20)
    overfit.set_params(clip=True)
    assert list(recs["item"]) == list(raw["item"])  # same order as the raw scores
    batch = overfit.recommend_batch([user], n=20)
    pd.testing.assert_series_equal(
        batch["score"].reset_index(drop=True),
        recs["score"].reset_index(drop=True),
        check_names=False,
    )


def test_evaluating_on_training_ratings_warns_with_the_share(split, overfit) -> None:
    with pytest.warns(
        DataWarning, match=r"4,800 of 4,800 evaluated ratings \(100%\) were in the training data"
    ):
        overfit.evaluate(split.train)
    mixed = el.synthetic_ratings(150, 90, 6000, noise_std=0.2, random_state=1)[0]
    with pytest.warns(DataWarning, match=r"4,800 of 6,000 evaluated ratings \(80%\)"):
        overfit.evaluate(mixed)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        overfit.evaluate(split.test)  # held-out ratings: no warning
