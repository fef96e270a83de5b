"""The compiled CPU matrix-factorization engine (numba SGD and ALS)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from embedlab.data import synthetic_ratings
from embedlab.exceptions import DataError, TrainingDivergedError
from embedlab.training import StopAfter
from embedlab.training._cpu_als import fit_mf_als
from embedlab.training._cpu_sgd import fit_mf_sgd

CONTRACT = {
    "user_embedding.weight",
    "item_embedding.weight",
    "user_bias.weight",
    "item_bias.weight",
    "global_bias",
}

# Four ratings, two users, three items.
UI = np.array([0, 0, 1, 1], dtype=np.int32)
II = np.array([0, 1, 1, 2], dtype=np.int32)
R = np.array([5.0, 3.0, 4.0, 1.0], dtype=np.float32)


def _predict(params: dict[str, np.ndarray], ui: np.ndarray, ii: np.ndarray) -> np.ndarray:
    P = params["user_embedding.weight"].astype(np.float64)
    Q = params["item_embedding.weight"].astype(np.float64)
    out = np.einsum("nd,nd->n", P[ui], Q[ii])
    if "global_bias" in params:
        out += float(params["global_bias"])
    if "user_bias.weight" in params:
        out += params["user_bias.weight"][ui, 0]
    if "item_bias.weight" in params:
        out += params["item_bias.weight"][ii, 0]
    return out


def _rmse(params: dict[str, np.ndarray], ui: np.ndarray, ii: np.ndarray, r: np.ndarray) -> float:
    return float(np.sqrt(np.mean((_predict(params, ui, ii) - r) ** 2)))


@pytest.fixture(scope="module")
def planted():
    """Synthetic ratings with a known answer, split 90/10."""
    ds, truth = synthetic_ratings(600, 400, 50_000, noise_std=0.8, half_stars=True, random_state=0)
    test = np.random.default_rng(0).random(len(ds)) < 0.1
    ui, ii, r = ds.user_index, ds.item_index, ds.rating
    train = (ui[~test], ii[~test], r[~test])
    val = (ui[test], ii[test], r[test])
    return ds, truth, train, val


@pytest.fixture(scope="module")
def small(planted):
    """A few thousand ratings of the planted data, for quick comparisons."""
    ds, _, (ui, ii, r), val = planted
    return (ui[:4000], ii[:4000], r[:4000], ds.n_users, ds.n_items), tuple(a[:1000] for a in val)


# ---------------------------------------------------------------------- hand-computed
def test_one_sgd_epoch_matches_the_update_by_hand():
    kw = dict(
        embedding_dim=2, learning_rate=0.1, bias_learning_rate=0.05, l2_user=0.02, l2_item=0.03
    )
    kw |= dict(l2_bias=0.04, random_state=3, n_threads=1, shuffle="none", init_std=0.5)
    p0, h0 = fit_mf_sgd(UI, II, R, 2, 3, epochs=0, **kw)
    p1, h1 = fit_mf_sgd(UI, II, R, 2, 3, epochs=1, **kw)
    assert h0 == []
    P = p0["user_embedding.weight"].astype(np.float64).copy()
    Q = p0["item_embedding.weight"].astype(np.float64).copy()
    bu, bi, mu = np.zeros(2), np.zeros(3), 13.0 / 4
    assert float(p0["global_bias"]) == mu
    # The first rating, spelled out: user 0, item 0, r = 5, biases still 0.
    e0 = 5.0 - (mu + P[0] @ Q[0])
    first_q = Q[0] + 0.1 * (e0 * P[0] - 0.03 * Q[0])
    sq = 0.0
    for u, i, r in zip(UI, II, R, strict=True):
        e = r - (mu + bu[u] + bi[i] + P[u] @ Q[i])
        sq += e * e
        bu[u] += 0.05 * (e - 0.04 * bu[u])
        bi[i] += 0.05 * (e - 0.04 * bi[i])
        pu = P[u].copy()
        P[u] += 0.1 * (e * Q[i] - 0.02 * pu)
        Q[i] += 0.1 * (e * pu - 0.03 * Q[i])
    assert bu[0] != 0 and np.allclose(first_q, Q[0])  # item 0 is rated once
    np.testing.assert_allclose(p1["user_embedding.weight"], P, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p1["item_embedding.weight"], Q, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p1["user_bias.weight"][:, 0], bu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p1["item_bias.weight"][:, 0], bi, rtol=1e-5, atol=1e-6)
    assert h1[0]["train_loss"] == pytest.approx(sq / 4, rel=1e-5)
    assert h1[0]["epoch"] == 1


# ---------------------------------------------------------------------- known answer
@pytest.mark.parametrize("fit", [fit_mf_sgd, fit_mf_als])
def test_planted_noise_level_and_item_biases_come_back(planted, fit):
    ds, truth, train, val = planted
    epochs = 30 if fit is fit_mf_sgd else 8
    params, history = fit(
        *train, ds.n_users, ds.n_items, embedding_dim=16, epochs=epochs, validation=val
    )
    best = min(h["val_rmse"] for h in history)
    assert best <= 1.1 * truth.noise_std
    assert _rmse(params, *val) == pytest.approx(best, rel=1e-5)
    rho = spearmanr(params["item_bias.weight"][:, 0], truth.item_bias).statistic
    assert rho >= 0.9


def test_sgd_and_als_reach_a_similar_rmse(planted):
    ds, _, train, val = planted
    _, h_sgd = fit_mf_sgd(
        *train, ds.n_users, ds.n_items, embedding_dim=16, epochs=30, validation=val
    )
    _, h_als = fit_mf_als(
        *train, ds.n_users, ds.n_items, embedding_dim=16, epochs=8, validation=val
    )
    assert h_als[-1]["val_rmse"] == pytest.approx(h_sgd[-1]["val_rmse"], rel=0.03)


# ---------------------------------------------------------------------- contract
@pytest.mark.parametrize("fit", [fit_mf_sgd, fit_mf_als])
def test_output_names_shapes_and_dtypes(fit):
    params, history = fit(UI, II, R, 3, 4, embedding_dim=5, epochs=2, n_threads=1)
    assert set(params) == CONTRACT
    shapes = {k: v.shape for k, v in params.items()}
    assert shapes == {
        "user_embedding.weight": (3, 5),
        "item_embedding.weight": (4, 5),
        "user_bias.weight": (3, 1),
        "item_bias.weight": (4, 1),
        "global_bias": (),
    }
    assert all(v.dtype == np.float32 for v in params.values())
    assert float(params["global_bias"]) == pytest.approx(R.mean())
    assert [
        set(h) >= {"epoch", "train_loss", "val_rmse", "val_mae", "seconds"} for h in history
    ] == [True, True]
    assert [h["epoch"] for h in history] == [1, 2]
    assert history[0]["val_rmse"] is None


@pytest.mark.parametrize("fit", [fit_mf_sgd, fit_mf_als])
@pytest.mark.parametrize(
    "off",
    [("user_bias",), ("item_bias",), ("global_bias",), ("user_bias", "item_bias", "global_bias")],
)
def test_switched_off_biases_are_absent_and_predictions_follow(small, fit, off):
    (ui, ii, r, nu, ni), val = small
    params, history = fit(ui, ii, r, nu, ni, embedding_dim=4, epochs=3, validation=val, n_threads=1,
                          **dict.fromkeys(off, False))  # fmt: skip
    names = {
        "user_bias": "user_bias.weight",
        "item_bias": "item_bias.weight",
        "global_bias": "global_bias",
    }
    assert set(params) == CONTRACT - {names[o] for o in off}
    # The engine's validation RMSE is that of the formula without the missing terms.
    best = min(h["val_rmse"] for h in history)  # the best epoch's parameters come back
    assert _rmse(params, *val) == pytest.approx(best, rel=1e-5)
    if len(off) == 3:
        dot = np.einsum(
            "nd,nd->n",
            params["user_embedding.weight"][val[0]],
            params["item_embedding.weight"][val[1]],
        )
        assert np.sqrt(np.mean((dot - val[2]) ** 2)) == pytest.approx(best, rel=1e-5)


# ---------------------------------------------------------------------- determinism, threads
@pytest.mark.parametrize("shuffle", ["once", "epoch"])
def test_one_thread_is_deterministic(small, shuffle):
    args, val = small
    a, ha = fit_mf_sgd(*args, epochs=3, n_threads=1, shuffle=shuffle, validation=val)
    b, hb = fit_mf_sgd(*args, epochs=3, n_threads=1, shuffle=shuffle, validation=val)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert [h["val_rmse"] for h in ha] == [h["val_rmse"] for h in hb]


def test_als_does_not_depend_on_threads(small):
    args, _ = small
    a, _ = fit_mf_als(*args, epochs=2, n_threads=1)
    b, _ = fit_mf_als(*args, epochs=2, n_threads=2)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_several_threads_give_a_close_result(planted):
    ds, _, train, val = planted
    _, h1 = fit_mf_sgd(*train, ds.n_users, ds.n_items, epochs=5, n_threads=1, validation=val)
    _, h2 = fit_mf_sgd(*train, ds.n_users, ds.n_items, epochs=5, n_threads=2, validation=val)
    assert h2[-1]["val_rmse"] == pytest.approx(h1[-1]["val_rmse"], rel=0.02)


# ---------------------------------------------------------------------- hyperparameters
SGD_CHANGES = {
    "embedding_dim": 8,
    "epochs": 4,
    "learning_rate": 0.005,
    "bias_learning_rate": 0.005,
    "learning_rate_decay": 1.0,
    "l2_user": 0.5,
    "l2_item": 0.5,
    "l2_bias": 0.5,
    "user_bias": False,
    "item_bias": False,
    "global_bias": False,
    "init_std": 0.3,
    "shuffle": "epoch",
    "random_state": 1,
}
ALS_CHANGES = {
    "embedding_dim": 8,
    "epochs": 4,
    "l2_user": 0.5,
    "l2_item": 0.5,
    "l2_bias": 0.5,
    "user_bias": False,
    "item_bias": False,
    "global_bias": False,
    "init_std": 0.3,
    "random_state": 1,
}


def _differs(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return set(a) != set(b) or any(
        a[k].shape != b[k].shape or not np.array_equal(a[k], b[k]) for k in a
    )


@pytest.mark.parametrize(("name", "value"), SGD_CHANGES.items())
def test_every_sgd_hyperparameter_changes_the_result(small, name, value):
    args, _ = small
    base = dict(embedding_dim=4, epochs=3, n_threads=1)
    a, _ = fit_mf_sgd(*args, **base)
    b, _ = fit_mf_sgd(*args, **(base | {name: value}))
    assert _differs(a, b)


@pytest.mark.parametrize(("name", "value"), ALS_CHANGES.items())
def test_every_als_hyperparameter_changes_the_result(small, name, value):
    args, _ = small
    base = dict(embedding_dim=4, epochs=2, n_threads=1)
    a, _ = fit_mf_als(*args, **base)
    b, _ = fit_mf_als(*args, **(base | {name: value}))
    assert _differs(a, b)


# ---------------------------------------------------------------------- early stopping, callbacks
def test_early_stopping_restores_the_best_epoch(small):
    args, val = small
    # A high rate without L2 overfits 4,000 ratings quickly, so validation RMSE turns up.
    kw = dict(
        embedding_dim=32, learning_rate=0.05, learning_rate_decay=1.0, l2_user=0.0, l2_item=0.0
    )
    kw |= dict(n_threads=1, validation=val)
    params, history = fit_mf_sgd(*args, epochs=60, patience=3, **kw)
    scores = [h["val_rmse"] for h in history]
    best = int(np.argmin(scores)) + 1
    assert len(history) == best + 3 < 60
    # One thread and one seed: a run of `best` epochs is the first `best` epochs of this one.
    at_best, _ = fit_mf_sgd(*args, epochs=best, restore_best=False, **kw)
    for k in params:
        np.testing.assert_array_equal(params[k], at_best[k])
    assert _rmse(params, *val) == pytest.approx(min(scores), rel=1e-5)
    last, _ = fit_mf_sgd(*args, epochs=60, patience=3, restore_best=False, **kw)
    at_last, _ = fit_mf_sgd(*args, epochs=best + 3, restore_best=False, **kw)
    for k in params:
        np.testing.assert_array_equal(last[k], at_last[k])


def test_callbacks_see_each_epoch_and_can_stop_training(small):
    args, _ = small
    seen = []

    def stop_at_two(epoch, logs):
        seen.append((epoch, logs["epoch"]))
        return epoch == 2

    _, history = fit_mf_sgd(*args, epochs=10, n_threads=1, callbacks=stop_at_two)
    assert len(history) == 2 and seen == [(1, 1), (2, 2)]
    _, history = fit_mf_als(
        *args, epochs=10, n_threads=1, callbacks=[StopAfter(10.0, "train_loss")]
    )
    assert len(history) == 1


def test_progress_prints_one_line_per_epoch(small, capsys):
    args, val = small
    fit_mf_sgd(*args, epochs=2, n_threads=1, validation=val, progress=True)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and "val_rmse" in lines[0]


# ---------------------------------------------------------------------- errors
def test_divergence_raises_with_a_hint(small):
    args, _ = small
    with pytest.raises(TrainingDivergedError, match="lower learning_rate"):
        fit_mf_sgd(*args, epochs=5, learning_rate=50.0, n_threads=1)


def test_tables_that_go_bad_in_the_last_epoch_still_raise(small, monkeypatch):
    """The SGD loop scans the tables only at the end while the loss stays finite."""
    from embedlab.training import _cpu_mf_kernels as kernels

    args, _ = small
    real = kernels.sgd_epoch
    calls = []

    def poisoned(**kw):  # fit_mf_sgd passes the kernel's arguments by name
        out = real(**kw)
        calls.append(1)
        if len(calls) == 3:  # the loss of this epoch is finite; the tables are not
            kw["Q"][0, 0] = np.nan
        return out

    monkeypatch.setattr(kernels, "sgd_epoch", poisoned)
    with pytest.raises(TrainingDivergedError, match="NaN or infinite in epoch 3"):
        fit_mf_sgd(*args, epochs=3, n_threads=1)
    calls.clear()
    with pytest.raises(TrainingDivergedError, match="epoch 4"):  # caught by the next loss
        fit_mf_sgd(*args, epochs=6, n_threads=1)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"learning_rate": 0.0}, "learning_rate=0.0"),
        ({"epochs": -1}, "epochs=-1"),
        ({"embedding_dim": 0}, "embedding_dim=0"),
        ({"l2_user": -1.0}, "l2_user"),
        ({"shuffle": "twice"}, "shuffle"),
        ({"patience": 0}, "patience"),
        ({"n_threads": 0}, "n_threads"),
    ],
)
def test_bad_hyperparameters_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        fit_mf_sgd(UI, II, R, 2, 3, **kw)


@pytest.mark.parametrize("fit", [fit_mf_sgd, fit_mf_als])
def test_patience_without_validation_raises(fit):
    with pytest.raises(ValueError, match="early stopping needs validation"):
        fit(UI, II, R, 2, 3, patience=2)


@pytest.mark.parametrize("fit", [fit_mf_sgd, fit_mf_als])
def test_bad_data_raises_data_error(fit):
    with pytest.raises(DataError, match="item index 2 is out of range"):
        fit(UI, II, R, 2, 2)
    with pytest.raises(DataError, match="one length"):
        fit(UI, II[:3], R, 2, 3)
    with pytest.raises(DataError, match="NaN"):
        fit(UI, II, np.array([1, np.nan, 2, 3]), 2, 3)
    with pytest.raises(DataError, match="validation"):
        fit(UI, II, R, 2, 3, validation=(UI, II))
