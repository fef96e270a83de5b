"""``EmbeddingEncoder(interactions=...)``: a table per pair of columns (issue 22).

Planted: ``y`` is +1 when the positions of ``a`` (10 levels) and ``b`` (10 levels) have the
same parity and -1 otherwise, plus noise 0.2; neither column has a main effect. Without the
pair a linear model on the level effects learns nothing; the pair's own effect column is
the answer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score

from embedlab import EmbeddingEncoder
from embedlab.exceptions import SettingsError


def _xor(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 10, n), rng.integers(0, 10, n)
    y = np.where((a + b) % 2 == 0, 1.0, -1.0) + rng.normal(0, 0.2, n)
    frame = pd.DataFrame({"a": [f"a{v}" for v in a], "b": [f"b{v}" for v in b]}, dtype=object)
    return frame, y


@pytest.fixture(scope="module")
def fitted() -> EmbeddingEncoder:
    X, y = _xor(6000, 0)
    return EmbeddingEncoder(interactions=[("a", "b")], random_state=0).fit(X, y)


def test_the_pair_is_a_column_of_its_own(fitted) -> None:
    assert fitted.categorical_columns_ == ["a", "b", "a×b"]
    assert fitted.interactions_ == [("a", "b")]
    assert len(fitted.categories_[2]) == 100
    names = list(fitted.get_feature_names_out())
    # the pair's effect is a feature; its vectors are explored, not output
    assert "a×b_effect" in names and "a×b_e0" not in names and "a_e0" in names
    assert len(names) == fitted.transform(_xor(5, 9)[0]).shape[1]
    keys = fitted.column_embeddings("a×b").keys.ids()
    assert "a0×b1" in list(keys)


def test_the_pairs_effect_carries_the_interaction(fitted) -> None:
    X, y = _xor(2000, 1)
    out = fitted.transform(X)
    names = list(fitted.get_feature_names_out())
    pair = out[:, names.index("a×b_effect")]
    assert np.corrcoef(pair, y)[0, 1] > 0.95
    # the main effects stay near zero: the pair explains y
    for col in ("a_effect", "b_effect"):
        assert np.abs(out[:, names.index(col)]).max() < 0.3
    # a linear model on the effect columns alone: with the pair it learns y, without not
    effects = [names.index(c) for c in ("a_effect", "b_effect", "a×b_effect")]
    X_tr, y_tr = _xor(6000, 0)
    train = fitted.transform(X_tr)[:, effects]
    with_pair = Ridge().fit(train, y_tr).predict(out[:, effects])
    without = Ridge().fit(train[:, :2], y_tr).predict(out[:, effects[:2]])
    assert r2_score(y, with_pair) > 0.9 and r2_score(y, without) < 0.1


def test_pairs_survive_save_and_load(fitted, tmp_path) -> None:
    X, _ = _xor(300, 2)
    fitted.save(tmp_path / "enc")
    back = EmbeddingEncoder.load(tmp_path / "enc")
    assert back.interactions_ == [("a", "b")] and back.interactions == [("a", "b")]
    np.testing.assert_allclose(back.transform(X), fitted.transform(X), rtol=1e-6)
    assert list(back.get_feature_names_out()) == list(fitted.get_feature_names_out())


def test_cross_fitted_features_include_the_pair() -> None:
    X, y = _xor(3000, 3)
    enc = EmbeddingEncoder(interactions=[("a", "b")], cv=3, random_state=0)
    out = enc.fit_transform(X, y)
    pair = out[:, list(enc.get_feature_names_out()).index("a×b_effect")]
    assert np.corrcoef(pair, y)[0, 1] > 0.9


def test_unseen_pairs_follow_handle_unknown(fitted) -> None:
    X, y = _xor(3000, 4)
    keep = ~((X["a"] == "a3") & (X["b"] == "b4")).to_numpy()
    enc = EmbeddingEncoder(interactions=[("a", "b")], handle_unknown="bucket", random_state=0)
    enc.fit(X[keep], y[keep])
    new = pd.DataFrame({"a": ["a3"], "b": ["b4"]}, dtype=object)
    assert enc.transform(new).shape == (1, len(enc.get_feature_names_out()))
    strict = EmbeddingEncoder(interactions=[("a", "b")], random_state=0).fit(X[keep], y[keep])
    with pytest.raises(ValueError, match="a3×b4"):
        strict.transform(new)


@pytest.mark.parametrize(
    ("pairs", "error", "message"),
    [
        ([("a", "c")], ValueError, "interactions pair a:c: 'c' is not a categorical column"),
        ([("a", "a")], SettingsError, "not a pair of two different columns"),
        ([("a", "b"), ("b", "a")], SettingsError, "a pair is repeated"),
        ("a:b", SettingsError, "interactions='a:b'"),
    ],
)
def test_bad_pairs_are_named(pairs, error, message) -> None:
    X, y = _xor(300, 5)
    with pytest.raises(error, match=message):
        EmbeddingEncoder(interactions=pairs, epochs=1).fit(X, y)
