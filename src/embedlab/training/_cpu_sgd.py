"""Hogwild SGD for biased matrix factorization, compiled with numba: :func:`fit_mf_sgd`.

The model, the objective and the run state it shares with ALS are described in
:mod:`embedlab.training._cpu_mf`; the epoch kernel is
:func:`embedlab.training._cpu_mf_kernels.sgd_epoch`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np

from embedlab.training._cpu_mf import (
    _NONNEG,
    _POSITIVE,
    History,
    Params,
    _chunksize,
    _common_checks,
    _start_run,
    _threads,
)

__all__ = ["fit_mf_sgd"]


#: Ratings per block when the data are shuffled once (``shuffle="once"``).
_BLOCK = 1024

#: With ``n_threads=None``, SGD uses one thread per this many ratings (at most all
#: cores): on small data, starting the parallel region each epoch and sharing cache
#: lines of popular rows cost more than the threads gain.
_RATINGS_PER_THREAD = 250_000


def fit_mf_sgd(
    ui: Any,
    ii: Any,
    r: Any,
    n_users: int,
    n_items: int,
    *,
    embedding_dim: int = 32,
    epochs: int = 60,
    learning_rate: float = 0.02,
    bias_learning_rate: float | None = None,
    learning_rate_decay: float = 0.95,
    l2_user: float = 0.06,
    l2_item: float = 0.1,
    l2_bias: float = 0.03,
    bias_damping: float = 0.0,
    user_bias: bool = True,
    item_bias: bool = True,
    global_bias: bool = True,
    init_std: float = 0.02,
    shuffle: Literal["once", "epoch", "none"] = "once",
    validation: tuple[Any, Any, Any] | None = None,
    patience: int | None = None,
    restore_best: bool = True,
    random_state: int | np.random.Generator | None = 0,
    n_threads: int | None = None,
    callbacks: Iterable[Any] | None = None,
    progress: bool = False,
) -> tuple[Params, History]:
    """Fit biased matrix factorization by parallel lock-free SGD (compiled with numba).

    The model is ``r̂ = μ + b_u + b_i + p_u·q_i``. For each rating, in a shuffled order,
    with ``e = r − r̂`` computed before the update (the Funk / Surprise rule)::

        b_u += lr_b (e − λ_bias b_u)          b_i += lr_b (e − λ_bias b_i)
        p_u += lr (e q_i − λ_user p_u)        q_i += lr (e p_u − λ_item q_i)

    where ``q_i``'s update uses the old ``p_u``. μ is the training mean and stays fixed.
    Embeddings start ``N(0, init_std²)``, biases at 0. The L2 penalty is per occurrence
    (applied at every rating of the row, as Surprise and LensKit do).

    Threads (``n_threads``) process disjoint parts of the epoch's order at the same
    time and update the shared parameters without locks ("Hogwild"): races on popular
    rows make results vary slightly from run to run when ``n_threads > 1``. With one
    thread and a fixed ``random_state`` the result is deterministic. The default uses
    all of numba's threads (all cores) but only one per 250,000 ratings, so small
    data sets (MovieLens 100K, ml-latest-small) train on one thread, deterministically.

    The defaults were tuned lightly on MovieLens 100K fold u1 (60 epochs, the rate
    falling from 0.02 by 5 % per epoch, so the last epoch is close to the best and
    no early stopping is needed); ``embedding_dim=128`` is a little more accurate
    there and on ml-latest-small (see ``benchmarks/results/cpu_mf.md``).

    Shuffling (``shuffle``):

    * ``"once"`` (default): the ratings are copied once in a random order; each epoch
      then visits blocks of 1,024 consecutive ratings in a new random block order
      (memory is read sequentially within a block; the fastest).
    * ``"epoch"``: a fresh random permutation of all ratings each epoch (random reads).
    * ``"none"``: the given order, every epoch (for tests and hand computations).

    Args:
        ui: User indices, ints in ``[0, n_users)``.
        ii: Item indices, ints in ``[0, n_items)``.
        r: Ratings (converted to float32).
        n_users: Rows of the user tables.
        n_items: Rows of the item tables.
        embedding_dim: Size of ``p_u`` and ``q_i``.
        epochs: Passes over the ratings (0 returns the initial parameters).
        learning_rate: Step size ``lr`` of the embeddings.
        bias_learning_rate: Step size ``lr_b`` of the biases (default ``learning_rate``).
        learning_rate_decay: Both rates are multiplied by this after every epoch.
        l2_user: ``λ_user``, L2 strength on ``p_u``.
        l2_item: ``λ_item``, L2 strength on ``q_i``.
        l2_bias: ``λ_bias``, L2 strength on ``b_u`` and ``b_i``.
        bias_damping: ``β``: an extra penalty ``β b²`` per user and per item and epoch,
            applied as ``β / n_row`` at each of the row's ratings. It shrinks the
            biases of rarely rated rows towards 0 (a damped mean, as
            ``b_i ≈ Σ residuals / (n_i + β)``), the fix for "obscure" items with one
            five-star rating topping everyone's list. 0: plain per-occurrence L2.
        user_bias: Learn ``b_u``.
        item_bias: Learn ``b_i``.
        global_bias: Use μ = mean training rating (else μ = 0).
        init_std: Standard deviation of the initial embeddings.
        shuffle: ``"once"``, ``"epoch"`` or ``"none"`` (above).
        validation: ``(user_indices, item_indices, ratings)`` scored after each epoch.
        patience: With validation, stop after this many epochs without a better
            validation RMSE (None: run all epochs).
        restore_best: With validation, return the parameters of the epoch with the
            best validation RMSE (else those of the last epoch).
        random_state: Seed or ``numpy.random.Generator`` for the initial embeddings
            and the shuffles.
        n_threads: Threads (default: all cores, at most one per 250,000 ratings).
        callbacks: One or several :class:`~embedlab.training.Callback` objects
            (``on_epoch_end(epoch, logs)``) or functions ``f(epoch, logs)``, called
            after every epoch with the history record; returning True stops training.
        progress: Print one line per epoch to stderr.

    Returns:
        ``(params, history)``. ``params`` maps the contract's names to float32 arrays:
        ``user_embedding.weight`` ``[n_users, embedding_dim]``, ``item_embedding.weight``
        ``[n_items, embedding_dim]``, ``user_bias.weight`` ``[n_users, 1]`` and
        ``item_bias.weight`` ``[n_items, 1]`` (when learnt), ``global_bias`` 0-d (when
        on). ``history`` has one dict per epoch run: ``epoch`` (from 1),
        ``train_loss`` (mean squared error over the epoch, each error taken before
        its update), ``val_rmse`` and ``val_mae`` (None without validation),
        ``seconds`` (wall time of the epoch, validation included), ``learning_rate``
        (the embeddings' rate used in the epoch; None for ALS) — the keys of
        :class:`~embedlab.training.History`.

    Raises:
        DataError: If the arrays are malformed or an index is out of range.
        SettingsError: If a hyperparameter is out of range (a ValueError).
        TrainingDivergedError: If the parameters become NaN or infinite.

    Example:
        >>> import numpy as np
        >>> ui, ii = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
        >>> params, history = fit_mf_sgd(ui, ii, np.array([5, 3, 4, 1]), 2, 2,
        ...                              embedding_dim=2, epochs=3, n_threads=1)
        >>> params["user_embedding.weight"].shape, len(history)
        ((2, 2), 3)
    """
    n_users, n_items, embedding_dim, epochs, init_std, patience, n_threads = _common_checks(
        n_users, n_items, embedding_dim, epochs, init_std, patience, n_threads
    )
    lr = _POSITIVE("learning_rate", learning_rate)
    lr_b = lr if bias_learning_rate is None else _NONNEG("bias_learning_rate", bias_learning_rate)
    decay = _POSITIVE("learning_rate_decay", learning_rate_decay)
    l2u = _NONNEG("l2_user", l2_user)
    l2i = _NONNEG("l2_item", l2_item)
    l2b = _NONNEG("l2_bias", l2_bias)
    damping = _NONNEG("bias_damping", bias_damping)
    if shuffle not in ("once", "epoch", "none"):
        raise ValueError(f"shuffle={shuffle!r}: expected 'once', 'epoch' or 'none'")
    ui, ii, r, rng, run = _start_run(
        ui,
        ii,
        r,
        engine="fit_mf_sgd",
        hint="lower learning_rate (and bias_learning_rate), or raise the L2 strengths",
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
    n = r.size
    damp_u = (damping / np.maximum(np.bincount(ui, minlength=n_users), 1)).astype(np.float32)
    damp_i = (damping / np.maximum(np.bincount(ii, minlength=n_items), 1)).astype(np.float32)
    if shuffle == "once":
        perm = rng.permutation(n)
        ui, ii, r = ui[perm], ii[perm], r[perm]
        del perm
        block = _BLOCK
    elif shuffle == "epoch":
        block = 1
    else:
        block = _BLOCK
    n_blocks = -(-n // block)
    index_type = np.int32 if n_blocks < 2**31 else np.int64
    if n_threads is None:
        n_threads = max(1, n // _RATINGS_PER_THREAD)
    with _threads(n_threads) as nt, _chunksize(nt):
        # Several chunks per thread, handed out dynamically, so that a thread slowed
        # down by another process does not hold up the epoch.
        n_chunks = min(nt if nt == 1 else 8 * nt, n_blocks)
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            if shuffle == "none":
                order = np.arange(n_blocks, dtype=index_type)
            else:
                order = rng.permutation(n_blocks).astype(index_type, copy=False)
            rate = lr * decay ** (epoch - 1)
            rate_b = lr_b * decay ** (epoch - 1)
            sums = run.k.sgd_epoch(
                ui=ui,
                ii=ii,
                r=r,
                block_order=order,
                block_size=block,
                n_chunks=n_chunks,
                P=run.P,
                Q=run.Q,
                bu=run.bu,
                bi=run.bi,
                mu=run.mu,
                lr=rate,
                lr_b=rate_b,
                l2_user=l2u,
                l2_item=l2i,
                l2_bias=l2b,
                use_bu=run.user_bias,
                use_bi=run.item_bias,
                damp_u=damp_u,
                damp_i=damp_i,
            )
            if run.end_epoch(epoch, float(sums.sum()), t0, {"learning_rate": rate}, lazy=True):
                break
    return run.result()
