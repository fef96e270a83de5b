"""EmbeddingEncoder on tables: target type, early stopping, bias columns, cross-fitting.

Known answers on planted data: additive per-level effects (which a linear model can use
only through one-hot or bias columns), a target of pure per-row noise (which in-sample
features leak and out-of-fold features do not).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import Ridge
from sklearn.preprocessing import OneHotEncoder

from embedlab.exceptions import BundleError, SettingsError
from embedlab.features import EmbeddingEncoder
from embedlab.features._training import AUTO_DECAYS, auto_batch_size, plan_training
from embedlab.features._values import infer_task
from embedlab.settings import EncoderSettings


def _additive(n=6000, n_a=200, n_b=8, noise=0.3, seed=0):
    """y = a[level of A] + b[level of B] + noise: R² ceiling 1 / (1 + noise² / var)."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n_a), rng.normal(size=n_b)
    ia, ib = rng.integers(0, n_a, n), rng.integers(0, n_b, n)
    X = pd.DataFrame(
        {
            "A": np.char.add("a", ia.astype(str)).astype(object),
            "B": np.char.add("b", ib.astype(str)).astype(object),
        }
    )
    signal = a[ia] + b[ib]
    return X, signal + rng.normal(0, noise, n), signal, a, ia


# ------------------------------------------------------------------ target type


@pytest.mark.parametrize(
    ("y", "task"),
    [
        (np.array([12.0, 30.0, 7.0] * 20), "regression"),  # whole numbers, float dtype
        (np.array([0.5, 1.5, 2.0] * 20), "regression"),
        (np.array(["cat", "dog", "dog"] * 20, dtype=object), "classification"),
        (np.array([True, False, True] * 20), "classification"),
        (np.array([0, 1, 2] * 20), "classification"),
        (np.array([1.0, 2.5, 3.0] * 20, dtype=object), "regression"),
        (pd.Series(["a", "b", "a"] * 20, dtype="category").to_numpy(), "classification"),
    ],
)
def test_task_is_inferred_as_users_expect(y, task):
    assert infer_task(np.asarray(y)) == task


def test_many_distinct_integers_are_ambiguous_and_task_overrides():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"c": rng.choice(["a", "b", "c"], 300).astype(object)})
    y = rng.integers(0, 500, 300)
    with pytest.raises(
        ValueError, match=r"distinct integers.*task='regression'.*task='classification'"
    ):
        EmbeddingEncoder(epochs=1, random_state=0).fit(X, y)
    enc = EmbeddingEncoder(epochs=1, random_state=0, task="regression").fit(X, y)
    assert enc.task_ == "regression" and not hasattr(enc, "classes_")
    whole = EmbeddingEncoder(epochs=1, random_state=0).fit(X, y.astype(float))
    assert whole.task_ == "regression"


def test_binary_and_multiclass_outputs_and_names():
    X, y, *_ = _additive(n=1200)
    binary = EmbeddingEncoder(epochs=2, random_state=0).fit(X, np.where(y > 0, "hi", "lo"))
    assert binary.task_ == "classification" and list(binary.classes_) == ["hi", "lo"]
    names = list(binary.get_feature_names_out())
    assert names[-4:] == ["A_effect", "B_effect", "additive_prediction", "prediction"]
    three = np.digitize(y, [-0.5, 0.5])
    multi = EmbeddingEncoder(epochs=2, random_state=0).fit(X, three)
    names = list(multi.get_feature_names_out())
    assert names[-12:] == [
        *("A_effect_0", "A_effect_1", "A_effect_2", "B_effect_0", "B_effect_1", "B_effect_2"),
        *("additive_prediction_0", "additive_prediction_1", "additive_prediction_2"),
        *("prediction_0", "prediction_1", "prediction_2"),
    ]
    assert multi.transform(X).shape == (len(X), len(names))


# ------------------------------------------------------------------ convergence


def test_plan_adapts_to_rows():
    assert auto_batch_size(400) == 128 and auto_batch_size(300_000) == 4096
    small = plan_training(400, batch_size=None, epochs=None, validation_fraction=0.1)
    assert small.n_validation == 0 and small.epochs == 50  # 4 steps an epoch
    big = plan_training(300_000, batch_size=None, epochs=None, validation_fraction=0.1)
    assert big.n_validation == 30_000 and big.batch_size == 4096 and 8 <= big.epochs <= 50
    fixed = plan_training(5000, batch_size=100, epochs=7, validation_fraction=0.0)
    assert (fixed.batch_size, fixed.epochs, fixed.n_validation) == (100, 7, 0)


def test_defaults_converge_with_early_stopping_and_best_weights():
    # Additive planted effects: the R² ceiling on the test rows is about 0.95; the
    # defaults (no tuning) must get close to it through the bias columns alone.
    X, y, signal, *_ = _additive(n=8000)
    train, test = slice(0, 6000), slice(6000, None)
    enc = EmbeddingEncoder(random_state=0, cv=None).fit(X[train], y[train])
    assert enc.validation_history_, "a 10% validation slice of 6,000 rows is used"
    best = int(np.argmin(enc.validation_history_))
    assert enc.best_epoch_ == best + 1
    assert len(enc.history_) == len(enc.validation_history_) <= 50
    assert enc.validation_history_[best] < 0.5 * enc.validation_history_[0] or best == 0
    ceiling = 1 - np.var(y[test] - signal[test]) / np.var(y[test])
    feats = enc.transform(X)
    r2 = Ridge().fit(feats[train], y[train]).score(feats[test], y[test])
    assert r2 >= ceiling - 0.05, (r2, ceiling)


def test_seeded_fits_with_validation_and_cross_fitting_are_deterministic():
    X, y, *_ = _additive(n=1500)
    a = EmbeddingEncoder(random_state=4, epochs=3).fit_transform(X, y)
    b = EmbeddingEncoder(random_state=4, epochs=3).fit_transform(X, y)
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ bias columns


def test_bias_columns_recover_planted_additive_effects():
    X, y, _signal, a, _ia = _additive(n=8000)
    enc = EmbeddingEncoder(random_state=0, cv=None).fit(X, y)
    kv_levels = list(enc.categories_[0])
    learned = enc.effects_[0][:-1, 0]
    truth = a[[int(v[1:]) for v in kv_levels]]
    assert np.corrcoef(learned, truth)[0, 1] > 0.95
    # in y's units: the slope against the planted effects is about 1
    assert 0.8 < np.polyfit(truth, learned, 1)[0] < 1.1


def test_effect_and_prediction_columns_give_a_linear_model_what_one_hot_gives():
    # Additive planted effects: one-hot + Ridge is the right model. The embeddings alone
    # hold what the network's MLP makes of them; the effect columns (or the prediction)
    # hand Ridge each level's additive effect.
    X, y, *_ = _additive(n=8000)
    train, test = slice(0, 6000), slice(6000, None)
    oh = OneHotEncoder(handle_unknown="ignore").fit(X[train])
    r2_oh = Ridge().fit(oh.transform(X[train]), y[train]).score(oh.transform(X[test]), y[test])
    scores = {}
    for extra in (True, False):
        enc = EmbeddingEncoder(random_state=0, cv=None, bias_columns=extra, prediction_column=extra)
        f_tr = enc.fit_transform(X[train], y[train])
        f_te = enc.transform(X[test])
        scores[extra] = Ridge().fit(f_tr, y[train]).score(f_te, y[test])
        # 2 effect columns, the additive model's and the network's prediction
        width = sum(enc.embedding_dims_) + (4 if extra else 0)
        assert f_tr.shape[1] == width == len(enc.get_feature_names_out())
    assert scores[True] >= r2_oh - 0.01, (scores, r2_oh)
    assert scores[True] >= scores[False]


# ------------------------------------------------------------------ cross-fitting


def test_out_of_fold_features_do_not_leak_the_rows_own_target():
    # Pure noise per row, levels with ~3 rows each: in-sample bias columns follow the
    # rows' own noise; out-of-fold ones cannot.
    rng = np.random.default_rng(0)
    n = 3000
    X = pd.DataFrame({"c": np.char.add("c", rng.integers(0, 1000, n).astype(str)).astype(object)})
    y = rng.normal(size=n)
    common = {"random_state": 0, "epochs": 20, "validation_fraction": 0.0}
    inside = EmbeddingEncoder(cv=None, **common).fit_transform(X, y)
    oof = EmbeddingEncoder(cv=5, **common).fit_transform(X, y)
    corr_in = np.corrcoef(inside[:, -1], y)[0, 1]
    corr_oof = np.corrcoef(oof[:, -1], y)[0, 1]
    assert corr_in > 0.2 and abs(corr_oof) < 0.1, (corr_in, corr_oof)


def test_after_cross_fitting_transform_averages_the_fold_networks():
    X, y, *_ = _additive(n=1500)
    enc = EmbeddingEncoder(random_state=0, epochs=3, cv=3, interactions=None)
    oof = enc.fit_transform(X, y)
    new = enc.transform(X)
    assert oof.shape == new.shape and not np.allclose(oof, new)
    assert len(enc.fold_modules_) == 3 and len(enc.fold_embeddings_) == 2
    names = list(enc.get_feature_names_out())
    d_a, d_b = enc.embedding_dims_
    codes = enc._codes(X, unknown="error")  # infrequent levels: the bucket row
    # the prediction column: the three fold networks' outputs (y's units), averaged
    with torch.no_grad():
        outs = [m(torch.as_tensor(codes), torch.zeros(len(X), 0))[:, 0] for m in enc.fold_modules_]
    by_hand = np.mean([o.double().numpy() for o in outs], axis=0) * enc.y_scale_ + enc.y_mean_
    np.testing.assert_allclose(new[:, names.index("prediction")], by_hand, rtol=1e-5, atol=1e-5)
    # the vector columns: the fold tables' mean, each rotated onto the full fit's, so for
    # the frequent levels of B (about 190 rows each) they point the way the full fit's do
    np.testing.assert_array_equal(new[:, :d_a], enc.fold_embeddings_[0][codes[:, 0]])
    for level in range(8):
        got, want = enc.fold_embeddings_[1][level], enc.embeddings_[1][level]
        assert got @ want / np.linalg.norm(got) / np.linalg.norm(want) > 0.8
        rows = np.flatnonzero(codes[:, 1] == level)
        fold_mean = oof[rows, d_a : d_a + d_b].mean(axis=0)
        assert fold_mean @ got / np.linalg.norm(fold_mean) / np.linalg.norm(got) > 0.8
    # the effect columns are the full fit's
    np.testing.assert_array_equal(new[:, names.index("A_effect")], enc.effects_[0][codes[:, 0], 0])
    # fit trains no folds: transform is the full fit again, as with cv=None
    enc.fit(X, y)
    assert enc.fold_modules_ == [] and enc.fold_embeddings_ is None
    np.testing.assert_array_equal(enc.transform(X)[:, :d_a], enc.embeddings_[0][codes[:, 0]])
    plain = EmbeddingEncoder(random_state=0, epochs=3, cv=None)
    np.testing.assert_array_equal(plain.fit_transform(X, y), plain.transform(X))
    assert plain.fold_modules_ == []


# ------------------------------------------------------------------ persistence


def test_save_load_round_trips_the_new_fields(tmp_path):
    X, y, *_ = _additive(n=3000)
    enc = EmbeddingEncoder(random_state=0, epochs=4, bias_columns=True).fit(X, y)
    back = EmbeddingEncoder.load(enc.save(tmp_path / "e"))
    np.testing.assert_array_equal(back.transform(X), enc.transform(X))
    assert back.best_epoch_ == enc.best_epoch_ and back.batch_size_ == enc.batch_size_
    assert back.validation_history_ == enc.validation_history_
    assert back.history_ == enc.history_
    for got, want in zip(back.effects_, enc.effects_, strict=True):
        np.testing.assert_array_equal(got, want)


def test_save_load_keeps_the_fold_networks_and_bundles_without_them_load(tmp_path):
    from embedlab.io import load_bundle, save_bundle

    X, y, *_ = _additive(n=1500)
    enc = EmbeddingEncoder(random_state=0, epochs=3, cv=3)
    enc.fit_transform(X, y)
    back = EmbeddingEncoder.load(enc.save(tmp_path / "e"))
    assert len(back.fold_modules_) == 3
    np.testing.assert_array_equal(back.transform(X), enc.transform(X))
    # a bundle saved before the fold networks were (format 3): transform is the full fit's
    bundle = load_bundle(tmp_path / "e")
    config = json.loads(json.dumps(bundle.config))
    assert config["encoder_format"] == "embedlab.EmbeddingEncoder/4"
    config["encoder_format"] = "embedlab.EmbeddingEncoder/3"
    del config["folds"]
    tensors = {k: v for k, v in bundle.tensors.items() if not k.startswith("fold")}

    def resave(name: str) -> Path:
        return save_bundle(
            tmp_path / name,
            model_class="EmbeddingEncoder",
            config=config,
            tensors=tensors,
            users=bundle.users,
            items=bundle.items,
        )

    old = EmbeddingEncoder.load(resave("old"))
    assert old.fold_modules_ == [] and old.fold_embeddings_ is None
    d_a = enc.embedding_dims_[0]
    np.testing.assert_array_equal(
        old.transform(X)[:, :d_a], enc.embeddings_[0][old._codes(X, unknown="error")[:, 0]]
    )
    # a fold network's tensors missing: one clear error
    config["encoder_format"], config["folds"] = "embedlab.EmbeddingEncoder/4", 1
    with pytest.raises(BundleError, match=r"tensors of fold 0 do not match .* missing keys"):
        EmbeddingEncoder.load(resave("broken"))
    for bad in (-1, "2", True):
        config["folds"] = bad
        with pytest.raises(BundleError, match=r"config 'folds' is .*; expected an integer >= 0"):
            EmbeddingEncoder.load(resave("broken"))
    config["folds"] = 0
    tensors["fold_embeddings.0"] = np.zeros((2, 2))
    with pytest.raises(BundleError, match=r"fold_embeddings.0 is missing or not \[\d+, \d+\]"):
        EmbeddingEncoder.load(resave("broken"))


def test_an_old_bundle_gets_a_clear_error(tmp_path):
    from embedlab.io import load_bundle, save_bundle

    X, y, *_ = _additive(n=600)
    path = EmbeddingEncoder(random_state=0, epochs=1).fit(X, y).save(tmp_path / "e")
    bundle = load_bundle(path)
    config = json.loads(json.dumps(bundle.config))
    config["encoder_format"] = "embedlab.EmbeddingEncoder/2"
    save_bundle(
        tmp_path / "old",
        model_class="EmbeddingEncoder",
        config=config,
        tensors=bundle.tensors,
        users=bundle.users,
        items=bundle.items,
    )
    with pytest.raises(BundleError, match=r"older embedlab.*fit the encoder again"):
        EmbeddingEncoder.load(tmp_path / "old")


# ------------------------------------------------------------------ regularization, settings


def test_table_decay_shrinks_rare_levels_toward_the_mean():
    # 20 frequent levels (~250 rows each) and 500 rare ones (2-3 rows each), all with
    # planted effects: the decay pulls the rare levels' effects toward 0 far more (the
    # network's effects: the additive ones come from their own fit, not the network).
    rng = np.random.default_rng(0)
    freq = rng.integers(0, 20, 5000)
    rare = 20 + rng.integers(0, 500, 1200)
    codes = np.concatenate([freq, rare])
    effect = rng.normal(size=520)
    X = pd.DataFrame({"c": np.char.add("c", codes.astype(str)).astype(object)})
    y = effect[codes] + rng.normal(0, 0.3, len(codes))
    common = {"random_state": 0, "cv": None, "epochs": 15, "validation_fraction": 0.0}
    common["effects"] = "network"
    size = {}
    for decay in (0.0, 50.0):
        enc = EmbeddingEncoder(table_decay=decay, **common).fit(X, y)
        levels = np.array([int(v[1:]) for v in enc.categories_[0]])
        e = np.abs(enc.effects_[0][:-1, 0])
        size[decay] = (e[levels >= 20].mean(), e[levels < 20].mean())
    shrink_rare = size[50.0][0] / size[0.0][0]
    shrink_freq = size[50.0][1] / size[0.0][1]
    assert shrink_rare < 0.8 * shrink_freq, size


def _decay_table(n=6000, seed=0):
    """A column of 1,500 mostly rare levels plus a frequent one, planted effects."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 1500, n)
    b = rng.integers(0, 6, n)
    X = pd.DataFrame({"a": np.char.add("a", a.astype(str)).astype(object), "b": b.astype(str)})
    y = rng.normal(size=1500)[a] * 0.5 + b + rng.normal(0, 1.0, n)
    return X, y


def test_auto_table_decay_keeps_the_candidate_with_the_lower_held_out_loss():
    X, y = _decay_table()
    common = {"random_state": 0, "interactions": None, "cv": 3}
    auto = EmbeddingEncoder(**common)
    out = auto.fit_transform(X, y)
    alone = {d: EmbeddingEncoder(table_decay=d, **common) for d in AUTO_DECAYS}
    outs = {d: enc.fit_transform(X, y) for d, enc in alone.items()}
    losses = {d: min(enc.validation_history_) for d, enc in alone.items()}
    chosen = min(losses, key=losses.get)
    assert losses[0.0] != losses[3.0]  # the decay changed the fit
    assert auto.table_decay_ == chosen and auto.settings_.table_decay == "auto"
    # the same network as the fit with that decay alone, and folds trained with it
    assert auto.validation_history_ == alone[chosen].validation_history_
    np.testing.assert_array_equal(out, outs[chosen])
    assert alone[3.0].table_decay_ == 3.0


def test_auto_table_decay_without_a_held_out_slice_trains_one_network(monkeypatch):
    import embedlab.features._encoder as encoder_module

    decays = []
    real = encoder_module.train_tabular

    def spy(*args, **kw):
        decays.append(kw["table_decay"])
        return real(*args, **kw)

    monkeypatch.setattr(encoder_module, "train_tabular", spy)
    X, y = _decay_table(n=1500)
    enc = EmbeddingEncoder(random_state=0, validation_fraction=0.0, cv=None).fit(X, y)
    assert decays == [0.0] and enc.table_decay_ == 0.0
    EmbeddingEncoder(random_state=0, cv=None).fit(X, y)  # 150 held-out rows: too few
    assert decays == [0.0, 0.0]
    decays.clear()
    EmbeddingEncoder(random_state=0, cv=None).fit(*_decay_table(n=2500))
    assert sorted(decays) == [0.0, 3.0]


def test_table_decay_survives_save_and_load_and_the_cli_reads_it(tmp_path):
    X, y = _decay_table(n=1500)
    enc = EmbeddingEncoder(random_state=0, cv=None, table_decay=3.0).fit(X, y)
    enc.save(tmp_path / "enc")
    back = EmbeddingEncoder.load(tmp_path / "enc")
    assert back.table_decay == 3.0 and back.table_decay_ == 3.0
    check = next(f.metadata["check"] for f in EncoderSettings.fields() if f.name == "table_decay")
    assert check.parse("table_decay", "auto") == "auto"
    assert check.parse("table_decay", "0.5") == 0.5
    with pytest.raises(SettingsError, match=r"table_decay='lots': expected 'auto' or a number"):
        check.parse("table_decay", "lots")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"validation_fraction": 0.7}, r"validation_fraction=0.7: expected a finite number"),
        ({"patience": 0}, r"patience=0: expected an integer >= 1"),
        ({"cv": 1}, r"cv=1: expected None or an integer >= 2"),
        ({"bias_columns": "yes"}, r"bias_columns='yes'"),
        ({"table_decay": -1.0}, r"table_decay=-1.0: expected 'auto' or a finite number >= 0"),
        ({"table_decay": "big"}, r"table_decay='big': expected 'auto' or a finite number"),
        ({"table_decay": float("nan")}, r"table_decay=nan: expected 'auto'"),
        ({"table_decay": True}, r"table_decay=True: expected 'auto'"),
        ({"batch_size": 0}, r"batch_size=0: expected None or an integer >= 1"),
    ],
)
def test_new_parameters_are_checked(params, message):
    from embedlab.exceptions import SettingsError

    X, y, *_ = _additive(n=300)
    with pytest.raises(SettingsError, match=message):
        EmbeddingEncoder(**params).fit(X, y)
