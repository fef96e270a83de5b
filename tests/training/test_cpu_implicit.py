"""The compiled implicit-feedback engines against answers known in advance: the
conjugate-gradient half-step against the dense closed form, the loss falling, the
tables independent of the thread count, BPR's determinism."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from embedlab.exceptions import DataError, SettingsError
from embedlab.training._cpu_implicit import (
    _csr,
    _gram,
    cg_side,
    fit_implicit_als,
    fit_implicit_bpr,
    implicit_als_loss,
)


def _tiny(seed: int = 0):
    """6 users x 5 items, about half the pairs observed with weights 1-3."""
    rng = np.random.default_rng(seed)
    observed = rng.random((6, 5)) < 0.5
    observed[np.arange(6), np.arange(6) % 5] = True  # every user and item has a pair
    ui, ii = np.nonzero(observed)
    w = rng.integers(1, 4, len(ui)).astype(np.float32)
    return ui.astype(np.int32), ii.astype(np.int32), w


def _closed_form(ui, ii, w, Y, alpha, lam, n_users):
    """x_u = (Yᵀ C_u Y + λI)⁻¹ Yᵀ C_u p_u with the dense C_u = diag(1 + α w_u)."""
    W = np.zeros((n_users, Y.shape[0]))
    W[ui, ii] = w
    Y = Y.astype(np.float64)
    out = np.empty((n_users, Y.shape[1]))
    for u in range(n_users):
        c = 1.0 + alpha * W[u]
        p = (W[u] > 0).astype(np.float64)
        A = Y.T @ (c[:, None] * Y) + lam * np.eye(Y.shape[1])
        out[u] = np.linalg.solve(A, Y.T @ (c * p))
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_cg_half_step_equals_the_dense_closed_form(seed):
    ui, ii, w = _tiny(seed)
    rng = np.random.default_rng(seed + 10)
    Y = rng.standard_normal((5, 3)).astype(np.float32)
    X = rng.standard_normal((6, 3)).astype(np.float32)
    alpha, lam = 2.0, 0.1
    ptr, cols, conf = _csr(ui, ii, w * np.float32(alpha), 6)
    cg_side(ptr, cols, conf, Y, _gram(Y), X, lam, 20)  # enough steps to converge (dim 3)
    np.testing.assert_allclose(X, _closed_form(ui, ii, w, Y, alpha, lam, 6), atol=1e-4)


def test_three_cg_steps_solve_a_three_dimensional_system_exactly():
    # CG converges in at most `dim` steps in exact arithmetic
    ui, ii, w = _tiny(2)
    Y = np.random.default_rng(3).standard_normal((5, 3)).astype(np.float32)
    X = np.zeros((6, 3), dtype=np.float32)
    ptr, cols, conf = _csr(ui, ii, w * np.float32(5.0), 6)
    cg_side(ptr, cols, conf, Y, _gram(Y), X, 0.5, 3)
    np.testing.assert_allclose(X, _closed_form(ui, ii, w, Y, 5.0, 0.5, 6), atol=1e-4)


def test_loss_matches_its_definition_and_decreases():
    ui, ii, w = _tiny(0)
    params, history = fit_implicit_als(
        ui,
        ii,
        w,
        6,
        5,
        embedding_dim=3,
        epochs=6,
        l2_user=0.1,
        l2_item=0.2,
        alpha=2.0,
        cg_steps=3,
        init_std=0.1,
        random_state=0,
        n_threads=1,
    )
    losses = [r["train_loss"] for r in history]
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(losses)), losses
    assert losses[-1] < losses[0]
    X, Y = params["user_embedding.weight"], params["item_embedding.weight"]
    W = np.zeros((6, 5))
    W[ui, ii] = w
    C, P = 1 + 2.0 * W, (W > 0).astype(float)
    S = X.astype(np.float64) @ Y.T
    dense = (
        (C * (P - S) ** 2).sum()
        + 0.1 * (X.astype(float) ** 2).sum()
        + 0.2 * (Y.astype(float) ** 2).sum()
    )
    got = implicit_als_loss(ui, ii, w, X, Y, alpha=2.0, l2_user=0.1, l2_item=0.2)
    assert got == pytest.approx(dense / C.sum(), rel=1e-5)
    assert history[-1]["train_loss"] == pytest.approx(got, rel=1e-6)


def _blocks(n_users=120, n_items=60, seed=0):
    rng = np.random.default_rng(seed)
    ui, ii = [], []
    for u in range(n_users):
        block = u % 3
        items = rng.choice(20, 8, replace=False) + 20 * block
        ui += [u] * 8
        ii += list(items)
    w = rng.integers(1, 5, len(ui)).astype(np.float32)
    return np.array(ui, np.int32), np.array(ii, np.int32), w


def test_als_tables_do_not_depend_on_the_thread_count():
    ui, ii, w = _blocks()
    kw = dict(embedding_dim=8, epochs=3, l2_user=1.0, l2_item=1.0, alpha=5.0, random_state=3)
    one, _ = fit_implicit_als(ui, ii, w, 120, 60, n_threads=1, **kw)
    two, _ = fit_implicit_als(ui, ii, w, 120, 60, n_threads=2, **kw)
    again, _ = fit_implicit_als(ui, ii, w, 120, 60, n_threads=2, **kw)
    for name in one:
        np.testing.assert_array_equal(one[name], two[name])
        np.testing.assert_array_equal(two[name], again[name])
        assert one[name].dtype == np.float32


def test_bpr_is_deterministic_and_ranks_positives_above_negatives():
    ui, ii, w = _blocks()
    kw = dict(embedding_dim=8, epochs=30, learning_rate=0.05, l2_user=0.01, l2_item=0.01)
    a, hist = fit_implicit_bpr(ui, ii, w, 120, 60, random_state=5, **kw)
    b, _ = fit_implicit_bpr(ui, ii, w, 120, 60, random_state=5, **kw)
    c, _ = fit_implicit_bpr(ui, ii, w, 120, 60, random_state=6, **kw)
    np.testing.assert_array_equal(a["user_embedding.weight"], b["user_embedding.weight"])
    assert not np.array_equal(a["user_embedding.weight"], c["user_embedding.weight"])
    assert hist[-1]["train_loss"] < hist[0]["train_loss"] < np.log(2) + 1e-3
    S = a["user_embedding.weight"] @ a["item_embedding.weight"].T
    own = np.arange(60)[None, :] // 20 == (np.arange(120) % 3)[:, None]
    assert (S[own].mean() - S[~own].mean()) > 0.5


def test_rows_without_interactions_are_zero_and_zero_weights_are_no_interaction():
    ui = np.array([0, 0, 1], np.int32)
    ii = np.array([0, 1, 2], np.int32)
    w = np.array([1.0, 2.0, 0.0], np.float32)  # user 1 and item 2: only a zero weight
    params, _ = fit_implicit_als(ui, ii, w, 3, 4, embedding_dim=2, epochs=2, random_state=0)
    X, Y = params["user_embedding.weight"], params["item_embedding.weight"]
    assert not X[1:].any() and not Y[2:].any()


@pytest.mark.parametrize(
    ("w", "match"),
    [
        ([1.0, -1.0], "1 weights are negative"),
        ([0.0, 0.0], "every weight is 0"),
        ([1.0, np.nan], "NaN or infinite"),
    ],
)
def test_bad_weights_are_one_line_errors(w, match):
    ui, ii = np.array([0, 1]), np.array([0, 1])
    for fit in (fit_implicit_als, fit_implicit_bpr):
        with pytest.raises(DataError, match=match) as info:
            fit(ui, ii, np.array(w, np.float32), 2, 2, embedding_dim=2, epochs=1)
        assert "\n" not in str(info.value)


def test_bad_hyperparameters_are_settings_errors():
    ui, ii, w = _tiny()
    with pytest.raises(SettingsError, match="cg_steps=0"):
        fit_implicit_als(ui, ii, w, 6, 5, cg_steps=0)
    with pytest.raises(SettingsError, match="alpha=-1"):
        fit_implicit_als(ui, ii, w, 6, 5, alpha=-1)
    with pytest.raises(SettingsError, match="learning_rate=0"):
        fit_implicit_bpr(ui, ii, w, 6, 5, learning_rate=0)


def test_csr_groups_by_row_with_columns_ascending() -> None:
    """The counting sorts give ``np.lexsort``'s order: rows, then columns ascending."""
    from embedlab.training._cpu_implicit import _csr

    rng = np.random.default_rng(5)
    for n, n_rows, n_cols in [(0, 3, 1), (1, 1, 1), (500, 7, 40), (5_000, 300, 20)]:
        rows = rng.integers(0, n_rows, n).astype(np.int32)
        cols = rng.integers(0, n_cols, n).astype(np.int32)
        values = rng.random(n).astype(np.float32)
        indptr, got_cols, got_values = _csr(rows, cols, values, n_rows)
        order = np.lexsort((cols, rows))
        np.testing.assert_array_equal(got_cols, cols[order])
        np.testing.assert_array_equal(got_values, values[order])
        np.testing.assert_array_equal(np.diff(indptr), np.bincount(rows, minlength=n_rows))
