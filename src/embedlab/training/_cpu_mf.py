"""A compiled, multi-threaded CPU engine for biased matrix factorization (numba).

The model is ``r̂(u, i) = μ + b_u + b_i + p_u·q_i`` (each bias switchable; with all
three off it is the plain dot product). Two fitting methods produce the same
parameters, under the names of ``docs/models-contract.md``:

* :func:`~embedlab.training.fit_mf_sgd` (:mod:`embedlab.training._cpu_sgd`):
  lock-free parallel ("Hogwild") stochastic gradient descent over shuffled ratings,
  the classic Funk / Surprise update.
* :func:`~embedlab.training.fit_mf_als` (:mod:`embedlab.training._cpu_als`):
  alternating least squares with biases, closed-form regularized solves per user
  then per item.

Both minimise the same objective, the squared error plus an L2 penalty applied **per
occurrence** (every rating of user ``u`` penalises ``p_u`` and ``b_u`` once)::

    Σ_(u,i) (r_ui − r̂_ui)² + λ_user ‖p_u‖² + λ_item ‖q_i‖² + λ_bias (b_u² + b_i²)

μ is not learnt: it is the mean training rating when ``global_bias=True``, else 0.

This module holds what both share: the argument checks, the thread settings and the
run state (:class:`_Run`: parameters, validation, history, early stopping), set up by
:func:`_start_run`. The compiled kernels live in
:mod:`embedlab.training._cpu_mf_kernels`, imported on the first fit (numba's import
costs ~0.45 s; the kernels are cached on disk after the first compile, which takes
several seconds).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from embedlab._threads import parallel_section
from embedlab.exceptions import DataError, TrainingDivergedError
from embedlab.settings import Int, Real
from embedlab.training._callbacks import as_callbacks

# Nothing public: the engines are in ``_cpu_sgd`` and ``_cpu_als``, which import the
# shared pieces below by their private names.
__all__: list[str] = []

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


def _threads(n_threads: int | None):
    """numba's threads for a compiled fit (``None``: the policy's default), torch and
    BLAS at one thread inside: :func:`embedlab._threads.parallel_section`."""
    return parallel_section(n_threads)


# ---------------------------------------------------------------------- shared
def start_tables(
    rng: np.random.Generator,
    n_users: int,
    n_items: int,
    dim: int,
    init_std: float,
    *,
    draw: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """The starting user and item vectors, ``N(0, init_std²)`` in float32.

    torch's vectorized normal sampler: about 3x faster than NumPy's here (7.5 ms for a
    9,700 x 96 table, a tenth of a default ml-latest-small fit), seeded from one draw of
    ``rng`` and the same whatever torch's thread count. ``draw=False`` takes that draw
    from ``rng`` (so the rest of its stream is as usual) and returns ``(None, None)``.
    """
    gen = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
    if not draw:
        return None, None  # type: ignore[return-value]
    P = torch.randn((n_users, dim), generator=gen).numpy()
    P *= np.float32(init_std)
    Q = torch.randn((n_items, dim), generator=gen).numpy()
    Q *= np.float32(init_std)
    return P, Q


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
        self.P, self.Q = start_tables(rng, n_users, n_items, embedding_dim, init_std)
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
