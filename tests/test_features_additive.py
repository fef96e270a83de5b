"""The encoder's additive effects (``effects="additive"``): the same optimum as
scikit-learn's penalized one-hot models, planted effects recovered, cross-fitted, saved."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression, Ridge

from embedlab import EmbeddingEncoder
from embedlab.features._additive import fit_additive

SIZES = [12, 5, 30]


def _design(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes of three columns (correlated: column 2 nests column 0), two numeric columns,
    and the planted linear score."""
    rng = np.random.default_rng(seed)
    codes = np.column_stack(
        [rng.integers(0, SIZES[0], rows), rng.integers(0, SIZES[1], rows), np.zeros(rows, int)]
    )
    codes[:, 2] = (codes[:, 0] * 7 + rng.integers(0, 3, rows)) % SIZES[2]
    num = rng.normal(size=(rows, 2))
    num[:, 1] += 0.5 * codes[:, 1]  # a numeric column tied to a categorical one
    num = (num - num.mean(0)) / num.std(0)
    score = sum(rng.normal(size=s)[codes[:, j]] for j, s in enumerate(SIZES)) + num @ [0.7, -0.4]
    return codes, num, score


def _onehot(codes: np.ndarray, num: np.ndarray) -> sp.csr_matrix:
    blocks = [sp.csr_matrix(np.eye(s)[codes[:, j]]) for j, s in enumerate(SIZES)]
    return sp.hstack([*blocks, sp.csr_matrix(num)]).tocsr()


def _fitted(fit, codes: np.ndarray, num: np.ndarray) -> np.ndarray:
    return (
        sum(fit.effects[j][codes[:, j]] for j in range(codes.shape[1]))
        + num @ fit.numeric
        + fit.intercept
    )


def test_regression_reaches_sklearn_ridge_optimum():
    codes, num, score = _design(3000)
    y = score + np.random.default_rng(1).normal(size=len(score))
    fit = fit_additive(codes, SIZES, num, y, "regression", 1, tol=1e-10)
    ridge = Ridge(alpha=1.0, tol=1e-12, solver="sparse_cg").fit(_onehot(codes, num), y)
    np.testing.assert_allclose(
        _fitted(fit, codes, num)[:, 0], ridge.predict(_onehot(codes, num)), atol=1e-6
    )
    np.testing.assert_allclose(fit.numeric[:, 0], ridge.coef_[-2:], atol=1e-6)


def test_binary_reaches_sklearn_logistic_optimum():
    codes, num, score = _design(3000)
    rng = np.random.default_rng(2)
    y = (rng.random(len(score)) < 1 / (1 + np.exp(-score))).astype(float)
    fit = fit_additive(codes, SIZES, num, y, "binary", 1, tol=1e-12)
    lr = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(_onehot(codes, num), y)
    np.testing.assert_allclose(
        _fitted(fit, codes, num)[:, 0], lr.decision_function(_onehot(codes, num)), atol=1e-4
    )


def test_multiclass_reaches_sklearn_softmax_optimum():
    codes, num, score = _design(3000)
    rng = np.random.default_rng(3)
    y = np.digitize(score + rng.normal(size=len(score)), np.quantile(score, [0.3, 0.7]))
    fit = fit_additive(codes, SIZES, num, y, "multiclass", 3, tol=1e-12)
    lr = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(_onehot(codes, num), y)
    mine = _fitted(fit, codes, num)
    theirs = lr.decision_function(_onehot(codes, num))
    # softmax logits are defined up to a per-row shift: compare the centred logits
    np.testing.assert_allclose(
        mine - mine.mean(1, keepdims=True), theirs - theirs.mean(1, keepdims=True), atol=1e-4
    )


def test_effects_are_centred_and_unseen_levels_are_zero():
    codes, num, score = _design(2000)
    codes[codes[:, 2] == 4, 2] = 5  # level 4 of column 2 has no row
    fit = fit_additive(codes, SIZES, num, score, "regression", 1)
    for j, table in enumerate(fit.effects):
        w = np.bincount(codes[:, j], minlength=SIZES[j])
        assert abs(w @ table[:, 0]) < 1e-8
    assert fit.effects[2][4, 0] == 0.0


def _planted_table(rows: int = 6000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    shop = rng.integers(0, 60, rows)
    day = rng.integers(0, 7, rows)
    effect = rng.normal(size=60)
    y = 3.0 * effect[shop] + 0.5 * day + rng.normal(0, 0.5, rows) + 10.0
    X = pd.DataFrame(
        {"shop": np.char.add("s", shop.astype(str)).astype(object), "day": day.astype(str)}
    )
    return X, y, effect


def test_encoder_additive_effects_recover_the_planted_ones_in_y_units():
    X, y, effect = _planted_table()
    enc = EmbeddingEncoder(random_state=0, cv=None).fit(X, y)
    assert enc.effects == "additive"
    shops = np.array([int(v[1:]) for v in enc.categories_[0]])
    planted = 3.0 * effect[shops]
    learned = enc.effects_[0][:-1, 0]
    # in y's units (the target is on a scale of 3), centred like the planted ones
    np.testing.assert_allclose(learned, planted - planted.mean(), atol=0.25)


def test_encoder_cross_fits_the_additive_effects():
    X, y, _ = _planted_table()
    enc = EmbeddingEncoder(random_state=0, cv=3)
    out = enc.fit_transform(X, y)
    col = list(enc.get_feature_names_out()).index("shop_effect")
    full = enc.transform(X)[:, col]
    # out of fold: close to the full fit's effects, but not the same numbers
    assert not np.allclose(out[:, col], full)
    assert np.corrcoef(out[:, col], full)[0, 1] > 0.99


def test_network_effects_stay_available_and_differ(tmp_path):
    X, y, _ = _planted_table(3000)
    additive = EmbeddingEncoder(random_state=0, cv=None, epochs=3).fit(X, y)
    network = EmbeddingEncoder(random_state=0, cv=None, epochs=3, effects="network").fit(X, y)
    # same network (same seed), different effect columns
    np.testing.assert_array_equal(additive.embeddings_[0], network.embeddings_[0])
    assert not np.allclose(additive.effects_[0], network.effects_[0])
    for enc in (additive, network):
        back = EmbeddingEncoder.load(enc.save(tmp_path / enc.effects))
        assert back.effects == enc.effects
        np.testing.assert_array_equal(back.transform(X), enc.transform(X))


def test_bad_effects_value_is_named():
    X, y, _ = _planted_table(500)
    with pytest.raises(ValueError, match=r"effects.*'additive'.*'network'"):
        EmbeddingEncoder(effects="glm").fit(X, y)


def test_without_vectors_the_output_is_effects_and_prediction():
    X, y, _ = _planted_table(3000)
    full = EmbeddingEncoder(random_state=0, cv=3)
    slim = EmbeddingEncoder(random_state=0, cv=3, vector_columns=False)
    a, b = full.fit_transform(X, y), slim.fit_transform(X, y)
    names = list(slim.get_feature_names_out())
    assert names == ["shop_effect", "day_effect", "additive_prediction", "prediction"]
    # the same fits: the slim output is the full output's last columns
    np.testing.assert_array_equal(b, a[:, -4:])
    np.testing.assert_array_equal(slim.transform(X), full.transform(X)[:, -4:])


def test_effects_alone_need_no_fold_networks():
    X, y, _ = _planted_table(3000)
    enc = EmbeddingEncoder(random_state=0, cv=3, vector_columns=False, prediction_column=False)
    out = enc.fit_transform(X, y)
    assert list(enc.get_feature_names_out()) == [
        "shop_effect",
        "day_effect",
        "additive_prediction",
    ]
    assert out.shape == (3000, 3)
    assert not np.allclose(out, enc.transform(X))  # cross-fitted


def test_no_output_column_is_a_named_error():
    X, y, _ = _planted_table(500)
    enc = EmbeddingEncoder(vector_columns=False, bias_columns=False, prediction_column=False)
    with pytest.raises(
        ValueError, match=r"vector_columns=False, bias_columns=False and prediction_column=False"
    ):
        enc.fit(X, y)


def _with_numeric(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    X, y, _ = _planted_table(rows, seed)
    temp = np.random.default_rng(seed + 100).normal(20, 5, rows)
    X["temp"] = temp
    return X, y + 0.3 * temp


def _sklearn_design(X_fit: pd.DataFrame):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return ColumnTransformer(
        [
            ("oh", OneHotEncoder(handle_unknown="ignore"), ["shop", "day"]),
            ("num", StandardScaler(), ["temp"]),
        ]
    ).fit(X_fit)


def test_additive_prediction_is_the_one_hot_ridge_prediction():
    # the column is the penalized one-hot model's own prediction: scikit-learn's
    # Ridge(alpha=1) on the same one-hot and standardized numeric columns, in y's units
    X, y = _with_numeric(4000, 0)
    enc = EmbeddingEncoder(random_state=0, cv=None, epochs=1, passthrough=True).fit(X, y)
    new, _ = _with_numeric(500, 1)
    col = list(enc.get_feature_names_out()).index("additive_prediction")
    design = _sklearn_design(X)
    ridge = Ridge(alpha=1.0, tol=1e-10, solver="sparse_cg").fit(design.transform(X), y)
    np.testing.assert_allclose(
        enc.transform(new)[:, col], ridge.predict(design.transform(new)), atol=2e-3
    )
    # intercept + the row's effects + the numeric slopes, from the saved parts
    intercept, slopes = enc.additive_model_
    codes = [enc.categories_[j].tolist() for j in range(2)]
    by_hand = (
        intercept[0]
        + enc.effects_[0][[codes[0].index(v) for v in new["shop"]], 0]
        + enc.effects_[1][[codes[1].index(v) for v in new["day"]], 0]
        + ((new["temp"] - enc.numeric_mean_[0]) / enc.numeric_scale_[0]) * slopes[0, 0]
    )
    np.testing.assert_allclose(enc.transform(new)[:, col], by_hand, rtol=1e-12)


def test_additive_prediction_of_a_binary_target_is_the_logistic_logit():
    X, y = _with_numeric(4000, 2)
    label = np.where(y > np.median(y), "high", "low")
    enc = EmbeddingEncoder(random_state=0, cv=None, epochs=1, passthrough=True).fit(X, label)
    design = _sklearn_design(X)
    lr = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(design.transform(X), label)
    assert list(lr.classes_) == list(enc.classes_)
    col = list(enc.get_feature_names_out()).index("additive_prediction")
    np.testing.assert_allclose(
        enc.transform(X)[:, col], lr.decision_function(design.transform(X)), atol=1e-4
    )


def test_additive_prediction_is_cross_fitted_and_saved(tmp_path):
    X, y, _ = _planted_table(3000)
    enc = EmbeddingEncoder(random_state=0, cv=3, epochs=2)
    out = enc.fit_transform(X, y)
    names = list(enc.get_feature_names_out())
    col = names.index("additive_prediction")
    full = enc.transform(X)[:, col]
    assert not np.allclose(out[:, col], full)  # out of fold
    assert np.corrcoef(out[:, col], full)[0, 1] > 0.99
    back = EmbeddingEncoder.load(enc.save(tmp_path / "enc"))
    np.testing.assert_array_equal(back.transform(X), enc.transform(X))
    # a bundle saved before the column existed has no additive model: its columns
    # stay as they were
    enc.additive_model_ = None
    old = EmbeddingEncoder.load(enc.save(tmp_path / "old"))
    assert "additive_prediction" not in list(old.get_feature_names_out())
    assert old.transform(X).shape[1] == len(names) - 1
    # the network's effects have no additive model, so no such column
    net = EmbeddingEncoder(random_state=0, cv=None, epochs=1, effects="network").fit(X, y)
    assert "additive_prediction" not in list(net.get_feature_names_out())
