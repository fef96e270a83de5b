"""A compiled, multi-threaded CPU engine for biased matrix factorization (numba).

The model is ``r̂(u, i) = μ + b_u + b_i + p_u·q_i`` (each bias switchable; with all
three off it is the plain dot product). Two fitting methods produce the same
parameters, under the names of ``docs/models-contract.md``:

* :func:`fit_mf_sgd`: lock-free parallel ("Hogwild") stochastic gradient descent over
  shuffled ratings, the classic Funk / Surprise update.
* :func:`fit_mf_als`: alternating least squares with biases, closed-form
  regularized solves per user then per item.

Both minimise the same objective, the squared error plus an L2 penalty applied **per
occurrence** (every rating of user ``u`` penalises ``p_u`` and ``b_u`` once)::

    Σ_(u,i) (r_ui − r̂_ui)² + λ_user ‖p_u‖² + λ_item ‖q_i‖² + λ_bias (b_u² + b_i²)

μ is not learnt: it is the mean training rating when ``global_bias=True``, else 0.

The compiled kernels live in :mod:`embedlab.training._cpu_mf_kernels`, imported on
the first fit (numba's import costs ~0.45 s; the kernels are cached on disk after the
first compile, which takes several seconds).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import torch

from embedlab.exceptions import DataError, TrainingDivergedError
from embedlab.settings import Int, Real
from embedlab.training._callbacks import as_callbacks

__all__ = ["fit_mf_als", "fit_mf_sgd"]

#: Ratings per block when the data are shuffled once (``shuffle="once"``).
_BLOCK = 1024

#: With ``n_threads=None``, SGD uses one thread per this many ratings (at most all
#: cores): on small data, starting the parallel region each epoch and sharing cache
#: lines of popular rows cost more than the threads gain.
_RATINGS_PER_THREAD = 250_000

Params = dict[str, np.ndarray]
History = list[dict[str, Any]]


# ---------------------------------------------------------------------- checks
# The settings' field checks (one message style, ``SettingsError`` - a ValueError).
_COUNT = Int(1)
_NONNEG_INT = Int(0)
_NONNEG = Real()
_POSITIVE = Real(strict=True)


# Kept for ``embedlab.training._spark`` (which imports them) until it uses the checks itself.
def _int_opt(name: str, value: Any, low: int) -> int:
    return Int(low)(name, value)


def _real_opt(name: str, value: Any, low: float = 0.0, *, strict: bool = False) -> float:
    return Real(low, strict=strict)(name, value)


def _arrays(
    what: str, ui: Any, ii: Any, r: Any, n_users: int, n_items: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ui = np.ascontiguousarray(ui)
    ii = np.ascontiguousarray(ii)
    r = np.ascontiguousarray(r, dtype=np.float32)
    for name, a in (("user", ui), ("item", ii)):
        if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
            raise DataError(
                f"{what} {name} indices: expected a 1-d integer array, got {a.dtype} with shape {a.shape}"
            )
    if r.ndim != 1 or not (ui.shape == ii.shape == r.shape):
        raise DataError(
            f"{what}: user indices, item indices and ratings must be 1-d arrays of one length; "
            f"got shapes {ui.shape}, {ii.shape}, {r.shape}"
        )
    for name, a, n in (("user", ui, n_users), ("item", ii, n_items)):
        if a.size and (int(a.min()) < 0 or int(a.max()) >= n):
            bad = int(a.min()) if int(a.min()) < 0 else int(a.max())
            raise DataError(
                f"{what}: {name} index {bad} is out of range; expected 0 <= index < n_{name}s = {n}"
            )
    if r.size and not np.isfinite(r).all():
        raise DataError(
            f"{what}: {int((~np.isfinite(r)).sum())} ratings are NaN or infinite; drop them first"
        )
    return ui.astype(np.int32, copy=False), ii.astype(np.int32, copy=False), r


def _validation(
    validation: Any, n_users: int, n_items: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    if validation is None:
        return None
    try:
        vu, vi, vr = validation
    except (TypeError, ValueError):
        raise DataError(
            "validation: expected a (user_indices, item_indices, ratings) tuple of arrays, "
            f"got {type(validation).__name__}"
        ) from None
    out = _arrays("validation", vu, vi, vr, n_users, n_items)
    if out[2].size == 0:
        raise DataError("validation: no ratings; pass validation=None to train without one")
    return out


@contextmanager
def _chunksize(n_threads: int):
    import numba

    if n_threads == 1:
        yield
        return
    with numba.parallel_chunksize(1):
        yield


@contextmanager
def _threads(n_threads: int | None):
    import numba

    before = numba.get_num_threads()
    # numba's OpenMP layer shares the runtime with torch, so setting numba's thread
    # count also sets torch's (e.g. 1 under torchrun becomes 2): put torch's back.
    torch = sys.modules.get("torch")
    torch_before = torch.get_num_threads() if torch is not None else None
    n = (
        numba.config.NUMBA_NUM_THREADS
        if n_threads is None
        else min(n_threads, numba.config.NUMBA_NUM_THREADS)
    )
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(before)
        if torch_before is not None:
            torch.set_num_threads(torch_before)


# ---------------------------------------------------------------------- shared
class _Run:
    """What both engines share: parameters, validation, history, early stopping."""

    def __init__(
        self,
        *,
        engine: str,
        r: np.ndarray,
        n_users: int,
        n_items: int,
        embedding_dim: int,
        init_std: float,
        user_bias: bool,
        item_bias: bool,
        global_bias: bool,
        validation: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        patience: int | None,
        restore_best: bool,
        callbacks: Any,
        progress: bool,
        rng: np.random.Generator,
        hint: str,
    ) -> None:
        from embedlab.training import _cpu_mf_kernels as kernels

        self.k = kernels
        self.engine = engine
        self.user_bias, self.item_bias, self.global_bias = user_bias, item_bias, global_bias
        self.mu = float(np.mean(r, dtype=np.float64)) if global_bias else 0.0
        # torch's vectorized normal sampler: about 3x faster than NumPy's here (7.5 ms
        # for a 9,700 x 96 table, a tenth of a default ml-latest-small fit), seeded
        # from ``rng`` and the same whatever torch's thread count.
        gen = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        self.P = torch.randn((n_users, embedding_dim), generator=gen).numpy()
        self.P *= np.float32(init_std)
        self.Q = torch.randn((n_items, embedding_dim), generator=gen).numpy()
        self.Q *= np.float32(init_std)
        self.bu = np.zeros(n_users, dtype=np.float32)
        self.bi = np.zeros(n_items, dtype=np.float32)
        self.validation = validation
        self.patience = patience
        self.restore_best = restore_best
        self.callbacks = as_callbacks(callbacks)
        self.progress = progress
        self.hint = hint
        self.history: History = []
        self.checked: int | None = None
        self.best: tuple[float, int, tuple[np.ndarray, ...]] | None = None
        self.n = r.size

    def predict(self, ui: np.ndarray, ii: np.ndarray) -> np.ndarray:
        """The model's current predictions for the pairs ``(ui[k], ii[k])`` (float64)."""
        return self.k.predict(ui=ui, ii=ii, P=self.P, Q=self.Q, bu=self.bu, bi=self.bi, mu=self.mu)

    def params(self, arrays: tuple[np.ndarray, ...] | None = None) -> Params:
        P, Q, bu, bi = arrays if arrays is not None else (self.P, self.Q, self.bu, self.bi)
        out: Params = {"user_embedding.weight": P, "item_embedding.weight": Q}
        if self.user_bias:
            out["user_bias.weight"] = bu.reshape(-1, 1)
        if self.item_bias:
            out["item_bias.weight"] = bi.reshape(-1, 1)
        if self.global_bias:
            out["global_bias"] = np.array(self.mu, dtype=np.float32)
        return out

    def _check_finite(self, epoch: int, train_loss: float) -> None:
        finite = math.isfinite(train_loss) and all(
            bool(np.isfinite(a).all()) for a in (self.P, self.Q, self.bu, self.bi)
        )
        self.checked = epoch
        if not finite:
            raise TrainingDivergedError(
                f"{self.engine}: the parameters became NaN or infinite in epoch {epoch} "
                f"(train loss {train_loss:.4g}); {self.hint}"
            )

    def end_epoch(
        self, epoch: int, sq_sum: float, t0: float, extra: dict[str, Any], *, lazy: bool = False
    ) -> bool:
        """Record the epoch; True when training must stop.

        ``lazy`` (SGD, whose loss is taken before each update): skip the scan of the
        tables while the loss is finite and nothing else reads them this epoch. A row
        that went bad makes the next epoch's loss non-finite (every row with ratings is
        visited every epoch), and :meth:`result` scans once at the end.
        """
        train_loss = sq_sum / max(self.n, 1)
        if not (
            lazy and math.isfinite(train_loss) and self.validation is None and not self.callbacks
        ):
            self._check_finite(epoch, train_loss)
        rec: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_rmse": None,
            "val_mae": None,
        }
        if self.validation is not None:
            vu, vi, vr = self.validation
            err = self.predict(vu, vi) - vr
            rec["val_rmse"] = float(np.sqrt(np.mean(err * err)))
            rec["val_mae"] = float(np.mean(np.abs(err)))
        seconds = rec["seconds"] = time.perf_counter() - t0
        rec.update(extra)
        self.history.append(rec)
        if self.progress:
            val = (
                ""
                if rec["val_rmse"] is None
                else f"  val_rmse {rec['val_rmse']:.4f}  val_mae {rec['val_mae']:.4f}"
            )
            print(
                f"{self.engine} epoch {epoch}: train_loss {train_loss:.4f}{val}  {seconds:.2f}s",
                file=sys.stderr,
            )
        stop = False
        if self.validation is not None:
            score = rec["val_rmse"]
            if self.best is None or score < self.best[0]:
                snapshot = (
                    tuple(a.copy() for a in (self.P, self.Q, self.bu, self.bi))
                    if self.restore_best
                    else ()
                )
                self.best = (score, epoch, snapshot)
            elif self.patience is not None and epoch - self.best[1] >= self.patience:
                stop = True
        for cb in self.callbacks:
            if cb.on_epoch_end(epoch, dict(rec)):
                stop = True
        return stop

    def result(self) -> tuple[Params, History]:
        if self.history and self.checked != self.history[-1]["epoch"]:
            last = self.history[-1]
            self._check_finite(last["epoch"], last["train_loss"])
        arrays = None
        if (
            self.restore_best
            and self.best is not None
            and self.best[1] != self.history[-1]["epoch"]
        ):
            arrays = self.best[2]
        return self.params(arrays), self.history


def _common_checks(
    n_users: Any,
    n_items: Any,
    embedding_dim: Any,
    epochs: Any,
    init_std: Any,
    patience: Any,
    n_threads: Any,
) -> tuple[int, int, int, int, float, int | None, int | None]:
    n_users = _COUNT("n_users", n_users)
    n_items = _COUNT("n_items", n_items)
    embedding_dim = _COUNT("embedding_dim", embedding_dim)
    epochs = _NONNEG_INT("epochs", epochs)
    init_std = _NONNEG("init_std", init_std)
    # None is checked here, not by the checks (``none=True`` would change the message).
    if patience is not None:
        patience = _COUNT("patience", patience)
    if n_threads is not None:
        n_threads = _COUNT("n_threads", n_threads)
    return n_users, n_items, embedding_dim, epochs, init_std, patience, n_threads


# ---------------------------------------------------------------------- SGD
def _start_run(
    ui: Any,
    ii: Any,
    r: Any,
    *,
    engine: str,
    hint: str,
    n_users: int,
    n_items: int,
    embedding_dim: int,
    init_std: float,
    user_bias: bool,
    item_bias: bool,
    global_bias: bool,
    validation: tuple[Any, Any, Any] | None,
    patience: int | None,
    restore_best: bool,
    callbacks: Iterable[Any] | None,
    progress: bool,
    random_state: int | np.random.Generator | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.random.Generator, _Run]:
    """Checks and set-up shared by both engines: arrays, validation data, generator, run state.

    Raises:
        DataError: Malformed arrays or no ratings.
        ValueError: ``patience`` without validation data.
    """
    ui, ii, r = _arrays("training data", ui, ii, r, n_users, n_items)
    if r.size == 0:
        raise DataError("training data: no ratings")
    val = _validation(validation, n_users, n_items)
    if patience is not None and val is None:
        raise ValueError(
            f"patience={patience}: early stopping needs validation data; pass validation=(...)"
        )
    rng = (
        random_state
        if isinstance(random_state, np.random.Generator)
        else np.random.default_rng(random_state)
    )
    run = _Run(
        engine=engine,
        r=r,
        n_users=n_users,
        n_items=n_items,
        embedding_dim=embedding_dim,
        init_std=init_std,
        user_bias=bool(user_bias),
        item_bias=bool(item_bias),
        global_bias=bool(global_bias),
        validation=val,
        patience=patience,
        restore_best=restore_best,
        callbacks=callbacks,
        progress=progress,
        rng=rng,
        hint=hint,
    )
    return ui, ii, r, rng, run


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


# ---------------------------------------------------------------------- ALS
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
