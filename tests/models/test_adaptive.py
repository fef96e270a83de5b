"""Defaults that adapt to the data (issue 17): the held-out slice of the SGD engine.

Planted data with a known answer: ratings with no user × item signal (biases and noise
only), where the factors cannot help, and ratings with a strong planted signal, where
they must.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import embedlab as el
from embedlab.exceptions import BiasesOnlyWarning, SettingsError
from embedlab.training._cpu_sgd_auto import MAX_SLICE, holdout_slice


def _split(signal: float, n_users: int, n_items: int, n_ratings: int, seed: int = 0):
    ds, _ = el.synthetic_ratings(
        n_users, n_items, n_ratings, interaction_scale=signal, random_state=seed
    )
    return ds.split("random", test_size=0.2, random_state=seed)


@pytest.fixture(scope="module")
def no_signal():
    return _split(0.0, 1000, 500, 10_000)


@pytest.fixture(scope="module")
def strong_signal():
    return _split(2.0, 1000, 500, 10_000)


def test_without_signal_it_falls_back_to_the_biases_and_says_so(no_signal, tmp_path) -> None:
    train, test = no_signal
    with pytest.warns(BiasesOnlyWarning) as caught:
        model = el.MatrixFactorization(random_state=0).fit(train, progress=False)
    (w,) = caught
    message = str(w.message)
    a = model.adaptive_
    # one line, with both numbers
    assert "\n" not in message
    assert f"{a['factors_rmse']:.4f}" in message and f"{a['biases_rmse']:.4f}" in message
    assert "fallback=False" in message
    # small data: 5-fold cross-validation scores (nearly) every training rating once
    assert a["factors_used"] is False and a["mode"] == "5-fold" and a["holdout"] > 7500
    # it predicts exactly as the biases-only model trained by the same engine
    biases_only = el.MatrixFactorization(
        init_std=0.0, holdout=0.0, epochs=model.settings_.epochs, random_state=0
    ).fit(train, progress=False)
    users, items = test.users.ids()[test.user_index], test.items.ids()[test.item_index]
    np.testing.assert_array_equal(model.predict(users, items), biases_only.predict(users, items))
    assert model.evaluate(test)["rmse"] == biases_only.evaluate(test)["rmse"]
    # the vectors are still there to explore
    assert np.abs(model.item_embeddings().vectors).max() > 0
    # and the choice survives a save
    again = el.load(model.save(tmp_path / "m"))
    assert again.adaptive_ == model.adaptive_
    np.testing.assert_array_equal(again.predict(users, items), model.predict(users, items))
    recs = again.recommend(users[0], n=5)
    assert len(recs) == 5


def test_fallback_false_keeps_the_factors(no_signal) -> None:
    train, _ = no_signal
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = el.MatrixFactorization(fallback=False, random_state=0).fit(train, progress=False)
    assert model.adaptive_["factors_used"] is True
    assert model.adaptive_["biases_rmse"] is None
    assert model.module_.use_factors


def test_with_a_strong_signal_the_factors_stay_and_beat_the_biases(strong_signal) -> None:
    train, test = strong_signal
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = el.MatrixFactorization(random_state=0).fit(train, progress=False)
    a = model.adaptive_
    assert a["factors_used"] is True
    assert a["factors_rmse"] < a["biases_rmse"]
    biases_only = el.MatrixFactorization(init_std=0.0, holdout=0.0, random_state=0)
    biases_only.fit(train, progress=False)
    assert model.evaluate(test)["rmse"] < biases_only.evaluate(test)["rmse"] - 0.05
    # small data: the whole grid of epochs x L2 was tried, and the record says what ran
    grid = {(c["epochs"], round(c["l2_user"], 4)) for c in a["candidates"]}
    assert grid == {(e, l2) for e in (20, 40) for l2 in (0.02, 0.06, 0.15)}
    assert model.settings_.epochs == a["chosen"]["epochs"]
    assert model.settings_.l2_user == a["chosen"]["l2_user"]
    # history: one record per epoch of the chosen run, scored on the held-out slice
    assert len(model.history_) == a["candidates"][0]["epochs_run"] or len(model.history_) > 0
    assert all(rec["val_rmse"] is not None for rec in model.history_.to_list())


def test_settings_the_user_gave_are_not_tuned(strong_signal) -> None:
    train, _ = strong_signal
    model = el.MatrixFactorization(epochs=7, l2_user=0.1, l2_item=0.1, random_state=0)
    model.fit(train, progress=False)
    a = model.adaptive_
    assert len(a["candidates"]) == 1
    assert model.settings_.epochs == 7 and model.settings_.l2_user == 0.1


@pytest.fixture(scope="module")
def medium():
    """More than 20,000 training ratings: one held-out slice, checked model beside the final."""
    return _split(1.5, 3000, 600, 40_000)


@pytest.mark.parametrize("data", ["strong_signal", "medium"])
def test_same_seed_same_model(data, request) -> None:
    train, _ = request.getfixturevalue(data)
    a = el.MatrixFactorization(random_state=3).fit(train, progress=False)
    b = el.MatrixFactorization(random_state=3).fit(train, progress=False)
    assert a.settings_.n_threads == b.settings_.n_threads
    assert a.adaptive_ == b.adaptive_
    for (name, x), (_, y) in zip(
        a.module_.state_dict().items(), b.module_.state_dict().items(), strict=True
    ):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=name)


def test_larger_data_one_slice_two_models_side_by_side(medium) -> None:
    train, test = medium
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = el.MatrixFactorization(random_state=0).fit(train, progress=False)
    a = model.adaptive_
    assert a["mode"] == "probe+final" and 0 < a["holdout"] <= 0.05 * len(train) + 1
    assert a["factors_used"] is True and a["factors_rmse"] < a["biases_rmse"]
    assert model.settings_.n_threads == min(2, os.cpu_count() or 1)
    # every epoch scored on the slice; the final model trained on all the ratings
    assert all(rec["val_rmse"] is not None for rec in model.history_.to_list())
    plain = el.MatrixFactorization(holdout=0.0, random_state=0).fit(train, progress=False)
    assert model.evaluate(test)["rmse"] <= plain.evaluate(test)["rmse"] + 0.01


def test_validation_data_or_holdout_0_turn_it_off(strong_signal) -> None:
    train, test = strong_signal
    given = el.MatrixFactorization(random_state=0).fit(train, validation=test, progress=False)
    assert given.adaptive_ is None
    assert given.settings_.n_threads == 1  # one thread per 250,000 ratings, as before
    off = el.MatrixFactorization(holdout=0.0, random_state=0).fit(train, progress=False)
    assert off.adaptive_ is None and off.settings_.epochs == 20
    # holdout=0 is the plain SGD fit on all the ratings
    from embedlab.training import fit_mf_sgd
    from embedlab.training.engines import sgd_schedule

    s = off.settings_
    params, _ = fit_mf_sgd(
        train.user_index,
        train.item_index,
        train.rating,
        train.n_users,
        train.n_items,
        embedding_dim=s.embedding_dim,
        epochs=s.epochs,
        **sgd_schedule(s.learning_rate, s.epochs, s.final_learning_rate_fraction),
        l2_user=s.l2_user,
        l2_item=s.l2_item,
        l2_bias=s.l2_bias,
        bias_damping=s.bias_damping,
        init_std=s.init_std,
        random_state=0,
        n_threads=1,
    )
    np.testing.assert_array_equal(
        off.module_.item_embedding.weight.detach().numpy(), params["item_embedding.weight"]
    )


def test_the_slice_leaves_every_user_and_item_a_training_rating() -> None:
    rng = np.random.default_rng(0)
    ui = rng.integers(0, 300, 5000)
    ii = rng.integers(0, 2000, 5000)  # many items with one rating
    mask = holdout_slice(ui, ii, 300, 2000, 0.05, seed=0)
    assert 0 < mask.sum() <= 250
    assert set(ui[~mask]) == set(ui) and set(ii[~mask]) == set(ii)
    # deterministic, and capped
    np.testing.assert_array_equal(mask, holdout_slice(ui, ii, 300, 2000, 0.05, seed=0))
    big = np.arange(1_000_000) % 1000
    assert holdout_slice(big, big, 1000, 1000, 0.5, seed=1).sum() == MAX_SLICE
    assert not holdout_slice(ui, ii, 300, 2000, 0.0, seed=0).any()


def test_too_little_data_to_judge_trains_as_before() -> None:
    ds, _ = el.synthetic_ratings(6, 5, 14, random_state=0)
    model = el.MatrixFactorization(random_state=0).fit(ds, progress=False)
    assert model.adaptive_["skipped"]
    assert model.adaptive_["factors_used"] is True


@pytest.mark.parametrize("bad", [-0.1, 0.6, float("nan"), "a"])
def test_holdout_is_checked(bad) -> None:
    with pytest.raises(SettingsError, match="holdout"):
        el.MatrixFactorization(holdout=bad).get_settings()


def test_holdout_belongs_to_the_sgd_engine() -> None:
    ds, _ = el.synthetic_ratings(30, 20, 300, random_state=0)
    with pytest.raises(SettingsError, match="holdout"):
        el.MatrixFactorization(engine="als", holdout=0.1).fit(ds, progress=False)
