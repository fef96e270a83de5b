"""Alternating least squares for biased MF, compiled with numba: :func:`fit_mf_als`.

The model, the objective and the run state it shares with SGD are described in
:mod:`embedlab.training._cpu_mf`; the per-side solve is
:func:`embedlab.training._cpu_mf_kernels.als_side`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from embedlab.training._cpu_mf import (
    _NONNEG,
    History,
    Params,
    _common_checks,
    _start_run,
    _threads,
)

__all__ = ["fit_mf_als"]


def _csr(
    rows: np.ndarray, cols: np.ndarray, y: np.ndarray, n_rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return indptr, np.ascontiguousarray(cols[order]), np.ascontiguousarray(y[order])


def fit_mf_als(
    ui: Any,
    ii: Any,
    r: Any,
    n_users: int,
    n_items: int,
    *,
    embedding_dim: int = 32,
    epochs: int = 10,
    l2_user: float = 0.1,
    l2_item: float = 0.1,
    l2_bias: float = 0.01,
    user_bias: bool = True,
    item_bias: bool = True,
    global_bias: bool = True,
    init_std: float = 0.1,
    validation: tuple[Any, Any, Any] | None = None,
    patience: int | None = None,
    restore_best: bool = True,
    random_state: int | np.random.Generator | None = 0,
    n_threads: int | None = None,
    callbacks: Iterable[Any] | None = None,
    progress: bool = False,
) -> tuple[Params, History]:
    """Fit biased matrix factorization by alternating least squares (compiled with numba).

    Each epoch solves every user with the items fixed, then every item with the users
    fixed, in closed form and in parallel (one small dense solve per row). The biases
    ride along by augmenting the vectors with a constant: for user ``u`` with rated
    items ``I_u`` the unknown is ``w_u = [p_u, b_u]``, each item contributes
    ``x_i = [q_i, 1]`` and the target ``t_ui = r_ui − μ − b_i``, and::

        (Σ_{i∈I_u} x_i x_iᵀ + |I_u| · diag(λ_user, …, λ_user, λ_bias)) w_u = Σ_{i∈I_u} x_i t_ui

    Items are solved the same way with ``[p_u, 1]``, ``r_ui − μ − b_u``, ``λ_item``.
    A switched-off bias drops its constant column (and stays 0). The penalty is scaled
    by the row's rating count ("weighted-λ"), which is exactly the per-occurrence L2
    of :func:`fit_mf_sgd`, so both engines minimise the same objective. Users or items
    without ratings get zero vectors. Solves accumulate in float64 and store float32.
    The result does not depend on ``n_threads``.

    Args:
        ui: User indices, ints in ``[0, n_users)``.
        ii: Item indices, ints in ``[0, n_items)``.
        r: Ratings (converted to float32).
        n_users: Rows of the user tables.
        n_items: Rows of the item tables.
        embedding_dim: Size of ``p_u`` and ``q_i``.
        epochs: Alternations (users then items); 0 returns the initial parameters.
        l2_user: ``λ_user``.
        l2_item: ``λ_item``.
        l2_bias: ``λ_bias`` on ``b_u`` and ``b_i``.
        user_bias: Learn ``b_u``.
        item_bias: Learn ``b_i``.
        global_bias: Use μ = mean training rating (else μ = 0).
        init_std: Standard deviation of the initial item embeddings (users are solved
            first).
        validation: ``(user_indices, item_indices, ratings)`` scored after each epoch.
        patience: With validation, stop after this many epochs without a better
            validation RMSE.
        restore_best: With validation, return the best epoch's parameters.
        random_state: Seed or ``numpy.random.Generator`` for the initial embeddings.
        n_threads: Threads (default all numba threads).
        callbacks: As in :func:`fit_mf_sgd`.
        progress: Print one line per epoch to stderr.

    Returns:
        ``(params, history)`` as :func:`fit_mf_sgd` (``train_loss`` is the training
        mean squared error after the epoch).

    Raises:
        DataError: If the arrays are malformed or an index is out of range.
        SettingsError: If a hyperparameter is out of range (a ValueError).
        TrainingDivergedError: If the parameters become NaN or infinite.
    """
    n_users, n_items, embedding_dim, epochs, init_std, patience, n_threads = _common_checks(
        n_users, n_items, embedding_dim, epochs, init_std, patience, n_threads
    )
    l2u = _NONNEG("l2_user", l2_user)
    l2i = _NONNEG("l2_item", l2_item)
    l2b = _NONNEG("l2_bias", l2_bias)
    ui, ii, r, _, run = _start_run(
        ui,
        ii,
        r,
        engine="fit_mf_als",
        hint="raise the L2 strengths",
        n_users=n_users,
        n_items=n_items,
        embedding_dim=embedding_dim,
        init_std=init_std,
        user_bias=user_bias,
        item_bias=item_bias,
        global_bias=global_bias,
        validation=validation,
        patience=patience,
        restore_best=restore_best,
        callbacks=callbacks,
        progress=progress,
        random_state=random_state,
    )
    y = (r.astype(np.float64) - run.mu).astype(np.float32)
    u_ptr, u_items, u_y = _csr(ui, ii, y, n_users)
    i_ptr, i_users, i_y = _csr(ii, ui, y, n_items)
    with _threads(n_threads):
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            run.k.als_side(  # users, the items fixed
                indptr=u_ptr,
                other=u_items,
                y=u_y,
                X=run.Q,
                b_other=run.bi,
                W=run.P,
                b_self=run.bu,
                lam=l2u,
                lam_b=l2b,
                with_bias=run.user_bias,
            )
            run.k.als_side(  # items, the users fixed
                indptr=i_ptr,
                other=i_users,
                y=i_y,
                X=run.P,
                b_other=run.bu,
                W=run.Q,
                b_self=run.bi,
                lam=l2i,
                lam_b=l2b,
                with_bias=run.item_bias,
            )
            err = run.predict(ui, ii) - r
            if run.end_epoch(epoch, float(np.dot(err, err)), t0, {"learning_rate": None}):
                break
    return run.result()
