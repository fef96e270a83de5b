"""Defaults that adapt to the data: :func:`fit_mf_sgd_auto`.

When :meth:`MatrixFactorization.fit` gets no validation data, the SGD engine judges its
settings on ratings it holds out, three ways:

1. **Early stopping.** A *checked* model trains on the ratings outside a held-out slice
   and is scored on the slice after every epoch, while the *final* model trains on all
   the ratings with the same settings, epoch by epoch, in the same parallel region (one
   thread each). In the second half of the run, training stops when the checked model
   has been clearly worse than its best for ``patience`` epochs, and the final model
   goes back to its state at that best epoch when it was clearly better than the last.
2. **Tuning** the settings the user left to the engine (``epochs``, ``l2_user``,
   ``l2_item``). On small data (at most :data:`SMALL` ratings) a grid of the default
   epochs and twice as many × L2 ×1, ÷3 and ×2.5, judged by :data:`FOLDS`-fold
   cross-validation (a single slice of a few hundred ratings cannot tell settings
   apart); on larger data twice the epochs only when the checked model was still
   improving at the end (more than :data:`STILL_IMPROVING` over its last five epochs).
   The most default-like candidate that is not clearly worse than the best is chosen.
3. **A baseline.** The biases-only model (``μ + b_u + b_i``) is scored on the same held-out
   ratings; when the factors are not clearly better, the model predicts with the
   biases-only model trained by the engine on all the ratings (zero vectors, the default
   epochs: exactly ``MatrixFactorization(init_std=0, holdout=0)``) and says so
   (``fallback=True``).

"Clearly" is a paired one-sided test on the held-out squared errors (the mean difference
at least :data:`Z` standard errors below zero; :data:`Z_FALLBACK` for the factors against
the biases, because the best of several settings looks better than it is), so 200
held-out ratings need a large gain and 4,000 a small one.

Above :data:`SMALL` ratings the checked model is narrower (:data:`PROBE_DIM`); from
:data:`LARGE` ratings on nothing trains beside it: the checked model (on 99 % or more of
the ratings) is the result.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embedlab.settings import HOLDOUT_PROBE_ONLY
from embedlab.training._callbacks import as_callbacks
from embedlab.training._cpu_mf import _arrays, _chunksize, _threads, start_tables
from embedlab.training._cpu_sgd import _BLOCK
from embedlab.training._history import History

__all__ = ["AdaptiveReport", "fit_mf_sgd_auto", "holdout_slice"]

#: Training sets up to this many ratings get the full grid of epochs × L2.
SMALL = 20_000
#: From this many ratings on, the probe is the model (no final model beside it).
LARGE = HOLDOUT_PROBE_ONLY
#: The slice holds at most this many ratings.
MAX_SLICE = 20_000
#: Width of the checked model beside the final one on data larger than SMALL.
PROBE_DIM = 32
#: Folds of the cross-validation on small data (at most SMALL ratings).
FOLDS = 5
#: Fewer slice ratings than this: no adaptation (too few to judge).
MIN_SLICE = 20
#: Standard errors of the paired test that make a difference "clear".
Z = 1.0
#: The factors are kept only when they beat the biases-only model by this many
#: standard errors: stricter than :data:`Z`, because the best of several candidates
#: looks better on the slice than it is.
Z_FALLBACK = 1.5
#: The factors must lower the held-out RMSE of the biases-only model by this share.
MIN_GAIN = 0.002
#: Relative slice-RMSE gain over the default run's last five epochs above which a
#: longer run is tried on data larger than :data:`SMALL`.
STILL_IMPROVING = 0.0065


@dataclass
class AdaptiveReport:
    """What the held-out slice decided (``model.adaptive_``; stored in the bundle)."""

    holdout: int
    mode: str
    candidates: list[dict[str, Any]] = field(default_factory=list)
    chosen: dict[str, Any] = field(default_factory=dict)
    factors_rmse: float | None = None
    biases_rmse: float | None = None
    factors_used: bool = True
    skipped: str | None = None

    def record(self, cands: list[_Candidate], chosen: _Candidate) -> None:
        """The candidates tried and the one chosen."""
        self.candidates = [
            {
                "epochs": c.epochs,
                "l2_user": c.l2[0],
                "l2_item": c.l2[1],
                "holdout_rmse": c.rmse,
                "best_epoch": c.best_epoch,
                "epochs_run": c.epochs_run,
                "improving": round(c.improving, 6),
            }
            for c in cands
        ]
        self.chosen = {
            "epochs": chosen.epochs,
            "l2_user": chosen.l2[0],
            "l2_item": chosen.l2[1],
            "best_epoch": chosen.best_epoch,
        }
        self.factors_rmse = chosen.rmse

    def as_dict(self) -> dict[str, Any]:
        return {
            "holdout": self.holdout,
            "mode": self.mode,
            "candidates": self.candidates,
            "chosen": self.chosen,
            "factors_rmse": self.factors_rmse,
            "biases_rmse": self.biases_rmse,
            "factors_used": self.factors_used,
            "skipped": self.skipped,
        }


def holdout_slice(
    ui: np.ndarray, ii: np.ndarray, n_users: int, n_items: int, share: float, seed: int
) -> np.ndarray:
    """A boolean mask of the held-out ratings: ``share`` of them (at most
    :data:`MAX_SLICE`), drawn with ``seed``, leaving every user and item that has a
    rating at least one rating outside the slice."""
    n = ui.size
    m = min(round(share * n), MAX_SLICE, n - 1)
    mask = np.zeros(n, dtype=bool)
    if m <= 0:
        return mask
    rng = np.random.default_rng([int(seed), 0x5EED])
    mask[_coverable(ui, ii, n_users, n_items, rng.choice(n, size=m, replace=False))] = True
    return mask


def _coverable(
    ui: np.ndarray, ii: np.ndarray, n_users: int, n_items: int, picked: np.ndarray
) -> np.ndarray:
    """``picked`` without the ratings whose user or item would have none left outside."""
    all_u = np.bincount(ui, minlength=n_users)
    all_i = np.bincount(ii, minlength=n_items)
    for _ in range(3):
        left_u = all_u - np.bincount(ui[picked], minlength=n_users)
        left_i = all_i - np.bincount(ii[picked], minlength=n_items)
        lost = (left_u[ui[picked]] == 0) | (left_i[ii[picked]] == 0)
        if not lost.any():
            break
        picked = picked[~lost]
    return picked


def cv_slices(
    ui: np.ndarray, ii: np.ndarray, n_users: int, n_items: int, k: int, seed: int
) -> list[np.ndarray]:
    """``k`` disjoint held-out masks covering the ratings (each user and item keeps a
    rating outside every one of them), drawn with ``seed``: the small-data check."""
    n = ui.size
    fold = np.random.default_rng([int(seed), 0x5EED, k]).permutation(n) % k
    masks = []
    for f in range(k):
        mask = np.zeros(n, dtype=bool)
        mask[_coverable(ui, ii, n_users, n_items, np.flatnonzero(fold == f))] = True
        masks.append(mask)
    return masks


class _Side:
    """One model's ratings (shuffled once), parameters and generator."""

    def __init__(
        self,
        ui: np.ndarray,
        ii: np.ndarray,
        r: np.ndarray,
        n_users: int,
        n_items: int,
        dim: int,
        init_std: float,
        damping: float,
        global_bias: bool,
        seed: int,
        start: _Side | None = None,
        keep: np.ndarray | None = None,
    ) -> None:
        # The draws of fit_mf_sgd, in its order: the same seed gives the same start and
        # the same shuffles. ``start``: copy that side's starting vectors (same seed).
        rng = np.random.default_rng(seed)
        share = start is not None and start.P.shape[1] == dim
        self.P, self.Q = start_tables(rng, n_users, n_items, dim, init_std, draw=not share)
        if share:
            self.P, self.Q = start.P.copy(), start.Q.copy()  # type: ignore[union-attr]
        self.bu = np.zeros(n_users, dtype=np.float32)
        self.bi = np.zeros(n_items, dtype=np.float32)
        self.mu = float(np.mean(r, dtype=np.float64)) if global_bias else 0.0
        if start is not None and keep is not None:
            # start's ratings in start's shuffled order, without those ``keep`` drops
            kept = keep[start.perm]
            self.perm = start.perm[kept]
            self.ui, self.ii, self.r = start.ui[kept], start.ii[kept], start.r[kept]
        else:
            self.perm = rng.permutation(r.size)
            self.ui, self.ii, self.r = ui[self.perm], ii[self.perm], r[self.perm]
        self.damp_u = (damping / np.maximum(np.bincount(ui, minlength=n_users), 1)).astype(
            np.float32
        )
        self.damp_i = (damping / np.maximum(np.bincount(ii, minlength=n_items), 1)).astype(
            np.float32
        )
        self.n_blocks = -(-r.size // _BLOCK)
        self.rng = rng

    def order(self) -> np.ndarray:
        return self.rng.permutation(self.n_blocks).astype(np.int32, copy=False)

    def args(self) -> tuple[Any, ...]:
        """This side's arguments of :func:`sgd_epoch_pair`, in order."""
        return (
            self.ui, self.ii, self.r, self.order(), self.P, self.Q, self.bu, self.bi,
            self.mu, self.damp_u, self.damp_i,
        )  # fmt: skip

    def snapshot(self) -> tuple[np.ndarray, ...]:
        return (self.P.copy(), self.Q.copy(), self.bu.copy(), self.bi.copy())

    def restore(self, snap: tuple[np.ndarray, ...]) -> None:
        self.P, self.Q, self.bu, self.bi = snap


def _clearly_below(a: np.ndarray, b: np.ndarray, z: float | None = None) -> bool:
    """Whether squared errors ``a`` are clearly smaller than ``b`` on the same ratings:
    their mean difference at least ``z`` (default :data:`Z`) standard errors below 0."""
    d = a - b
    if d.size < 2:
        return False
    se = float(np.std(d, ddof=1)) / math.sqrt(d.size)
    return float(np.mean(d)) + (Z if z is None else z) * se < 0.0


def _damped_biases(
    ui: np.ndarray,
    ii: np.ndarray,
    r: np.ndarray,
    n_users: int,
    n_items: int,
    mu: float,
    l2_bias: float,
    damping: float,
    user_bias: bool,
    item_bias: bool,
    sweeps: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """The biases-only model's optimum by alternating exact steps (float64).

    The SGD engine with zero vectors minimises ``Σ (r − μ − b_u − b_i)² + λ_b Σ (b_u² +
    b_i²)`` per rating plus ``β b²`` once per row; each step solves one side exactly,
    ``b_u = Σ (r − μ − b_i) / ((1 + λ_b) n_u + β)``. A few sweeps in NumPy cost a few
    milliseconds where the SGD run costs tens: this is the yardstick the factors must beat
    on the slice. (The fallback model itself is trained by the engine.)
    """
    from embedlab.training import _cpu_mf_kernels as kernels

    n_u = np.bincount(ui, minlength=n_users).astype(np.float64)
    n_i = np.bincount(ii, minlength=n_items).astype(np.float64)
    den_u = (1.0 + l2_bias) * n_u + damping
    den_i = (1.0 + l2_bias) * n_i + damping
    den_u[den_u == 0] = 1.0
    den_i[den_i == 0] = 1.0
    return kernels.damped_bias_sweeps(
        ui, ii, r, float(mu), den_u, den_i, bool(user_bias), bool(item_bias), sweeps
    )


def _params(
    P: np.ndarray,
    Q: np.ndarray,
    bu: np.ndarray,
    bi: np.ndarray,
    mu: float,
    user_bias: bool,
    item_bias: bool,
    global_bias: bool,
) -> dict[str, np.ndarray]:
    """The tables under the contract's names (as :func:`fit_mf_sgd` returns them)."""
    params: dict[str, np.ndarray] = {"user_embedding.weight": P, "item_embedding.weight": Q}
    if user_bias:
        params["user_bias.weight"] = bu.reshape(-1, 1)
    if item_bias:
        params["item_bias.weight"] = bi.reshape(-1, 1)
    if global_bias:
        params["global_bias"] = np.array(mu, dtype=np.float32)
    return params


def _factors_help(factors: np.ndarray, biases: np.ndarray) -> bool:
    """Whether the factors' squared errors beat the biases-only model's: clearly (at
    :data:`Z_FALLBACK`) and by at least :data:`MIN_GAIN` of its RMSE (on thousands of
    held-out ratings a gain of 0.02 % can be "significant" without being worth factors)."""
    gain = 1.0 - math.sqrt(float(np.mean(factors)) / max(float(np.mean(biases)), 1e-300))
    return gain >= MIN_GAIN and _clearly_below(factors, biases, Z_FALLBACK)


@dataclass
class _Candidate:
    epochs: int
    l2: tuple[float, float]
    sq_err: np.ndarray | None = None
    best_epoch: int = 0
    epochs_run: int = 0
    tables: tuple[np.ndarray, ...] | None = None
    mu: float = 0.0
    history: History = field(default_factory=list)
    improving: float = 0.0

    @property
    def rmse(self) -> float:
        return float(np.sqrt(np.mean(self.sq_err)))


def fit_mf_sgd_auto(
    ui: Any,
    ii: Any,
    r: Any,
    n_users: int,
    n_items: int,
    *,
    holdout: float,
    fallback: bool,
    tune_epochs: bool,
    tune_l2: bool,
    embedding_dim: int,
    epochs: int,
    learning_rate: float,
    final_learning_rate_fraction: float,
    l2_user: float,
    l2_item: float,
    l2_bias: float,
    bias_damping: float,
    user_bias: bool,
    item_bias: bool,
    global_bias: bool,
    init_std: float,
    patience: int | None,
    clip: tuple[float, float] | None,
    random_state: int,
    n_threads: int,
    callbacks: Any = None,
    progress: bool = False,
) -> tuple[dict[str, np.ndarray], History, AdaptiveReport]:
    """Fit biased MF by SGD, checking and tuning itself on a held-out slice (see the module).

    Arguments as :func:`~embedlab.training.fit_mf_sgd` (``learning_rate`` falls to
    ``final_learning_rate_fraction`` of itself by each run's last epoch), plus
    ``holdout`` (the share of ratings held out), ``fallback``, ``tune_epochs`` /
    ``tune_l2`` (whether those settings were left to the engine), ``clip`` (the rating
    scale the slice is scored on) and ``patience`` (default ``max(3, epochs // 4)``).

    Returns:
        ``(params, history, report)``: the tables as :func:`fit_mf_sgd` returns them,
        the chosen run's history (``val_rmse``: the slice), and an
        :class:`AdaptiveReport`.
    """
    from embedlab.training import _cpu_mf_kernels as kernels

    ui, ii, r = _arrays("training data", ui, ii, r, n_users, n_items)
    seed = int(random_state)
    lo, hi = clip if clip is not None else (-np.inf, np.inf)
    if r.size <= SMALL:
        return _fit_small(
            ui, ii, r, n_users, n_items, seed=seed, fallback=fallback,
            tune_epochs=tune_epochs, tune_l2=tune_l2, embedding_dim=embedding_dim,
            epochs=epochs, learning_rate=learning_rate,
            final_learning_rate_fraction=final_learning_rate_fraction, l2=(l2_user, l2_item),
            l2_bias=l2_bias, bias_damping=bias_damping, user_bias=user_bias,
            item_bias=item_bias, global_bias=global_bias, init_std=init_std, clip=(lo, hi),
            callbacks=as_callbacks(callbacks), progress=progress,
        )  # fmt: skip
    mask = holdout_slice(ui, ii, n_users, n_items, holdout, seed)
    m = int(mask.sum())
    large = r.size >= LARGE
    report = AdaptiveReport(holdout=m, mode="probe" if large else "probe+final")
    callbacks = as_callbacks(callbacks)
    if m < MIN_SLICE:
        report.skipped = f"{m} ratings could be held out (at least {MIN_SLICE} are needed to judge)"
        return None, [], report  # type: ignore[return-value]
    keep = ~mask
    t_ui, t_ii, t_r = ui[keep], ii[keep], r[keep]
    s_ui, s_ii, s_r = ui[mask], ii[mask], r[mask].astype(np.float64)
    patience = patience or max(3, epochs // 4)

    def slice_sq_err(side: _Side) -> np.ndarray:
        pred = kernels.predict_serial(
            ui=s_ui, ii=s_ii, P=side.P, Q=side.Q, bu=side.bu, bi=side.bi, mu=side.mu
        )
        np.clip(pred, lo, hi, out=pred)
        pred -= s_r
        pred *= pred
        return pred

    def run(
        n_epochs: int,
        l2: tuple[float, float],
        dim: int = embedding_dim,
        std: float = init_std,
        *,
        main: bool = False,
        early_stop: bool = True,
        probe_only: bool = large,
        on_all: bool = False,
        probe_dim: int | None = None,
    ) -> _Candidate:
        cand = _Candidate(epochs=n_epochs, l2=l2)
        args = (n_users, n_items, dim, std, bias_damping, global_bias, seed)
        probe_args = (n_users, n_items, probe_dim or dim, std, bias_damping, global_bias, seed)
        if on_all or probe_only:
            final = None
            probe = _Side(ui, ii, r, *args) if on_all else _Side(t_ui, t_ii, t_r, *args)
        else:
            # the same start and the same shuffle, the slice left out of the checked model's
            final = _Side(ui, ii, r, *args)
            probe = _Side(t_ui, t_ii, t_r, *probe_args, start=final, keep=keep)
        # One thread per model below LARGE (deterministic); Hogwild threads above, as
        # fit_mf_sgd does on data that size.
        chunks = min(8 * n_threads, probe.n_blocks) if large and n_threads > 1 else 1
        decay = final_learning_rate_fraction ** (1.0 / (n_epochs - 1)) if n_epochs > 1 else 1.0
        best: tuple[np.ndarray, int, tuple[np.ndarray, ...] | None] | None = None
        best_val = math.inf
        worse = 0
        curve: list[float] = []
        for epoch in range(1, n_epochs + 1):
            t0 = time.perf_counter()
            rate = learning_rate * decay ** (epoch - 1)
            common = (_BLOCK, rate, l2[0], l2[1], l2_bias, user_bias, item_bias)
            if final is not None:
                sums = kernels.sgd_epoch_pair(*probe.args(), *final.args(), *common)
                loss = float(sums[1]) / r.size
            else:
                sums = kernels.sgd_epoch(
                    ui=probe.ui, ii=probe.ii, r=probe.r, block_order=probe.order(),
                    block_size=_BLOCK, n_chunks=chunks, P=probe.P, Q=probe.Q, bu=probe.bu, bi=probe.bi,
                    mu=probe.mu, lr=rate, lr_b=rate, l2_user=l2[0], l2_item=l2[1],
                    l2_bias=l2_bias, use_bu=user_bias, use_bi=item_bias,
                    damp_u=probe.damp_u, damp_i=probe.damp_i,
                )  # fmt: skip
                loss = float(sums.sum()) / probe.r.size
            if on_all:  # the model on all ratings, alone: nothing to check
                cand.epochs_run = epoch
                continue
            sq = slice_sq_err(probe)
            val = float(np.sqrt(np.mean(sq)))
            curve.append(val)
            if not math.isfinite(loss) or not math.isfinite(val):
                from embedlab.exceptions import TrainingDivergedError

                raise TrainingDivergedError(
                    f"sgd: the parameters became NaN or infinite in epoch {epoch} "
                    f"(train loss {loss:.4g}); lower learning_rate or raise the L2 strengths"
                )
            rec = {
                "epoch": epoch,
                "train_loss": loss,
                "val_rmse": val,
                "val_mae": float(np.mean(np.sqrt(sq))),
                "seconds": time.perf_counter() - t0,
                "learning_rate": rate,
            }
            cand.history.append(rec)
            if progress and main:
                import sys

                print(
                    f"sgd epoch {epoch}: train_loss {loss:.4f}  holdout_rmse {val:.4f}  "
                    f"{rec['seconds']:.2f}s",
                    file=sys.stderr,
                )
            stop = any([cb.on_epoch_end(epoch, dict(rec)) for cb in callbacks]) if main else False
            # Early stopping looks at the second half of the run only: from a tiny start
            # the factors first add noise (the slice gets worse for a few epochs on data
            # with a strong signal) before they learn, and the schedule is planned for
            # the whole run.
            settled = epoch >= max(2, n_epochs // 2)
            if best is None or val < best_val or (settled and best[1] < n_epochs // 2):
                # The tables are copied only near a plateau (gain under 0.1 %): a model still
                # improving fast is not one to go back to, and copying every epoch would
                # cost a tenth of the fit.
                near = settled and best is not None and best_val - val < 1e-3 * best_val
                keep_tables = (final or probe).snapshot() if near and epoch < n_epochs else None
                best, best_val = (sq, epoch, keep_tables), val
                worse = 0
            elif early_stop and settled and _clearly_below(best[0], sq):
                worse += 1
                stop = stop or worse >= patience
            else:
                worse = 0
            cand.epochs_run = epoch
            if stop:
                break
        if on_all:
            cand.tables = (probe.P, probe.Q, probe.bu, probe.bi)
            cand.mu = probe.mu
            return cand
        if best is None:  # pragma: no cover - a run has at least one epoch (epochs >= 1)
            raise RuntimeError("held-out check: no epoch was run")
        last_sq = sq
        owner = final or probe
        if (
            early_stop
            and best[1] != cand.epochs_run
            and best[2] is not None
            and _clearly_below(best[0], last_sq)
        ):
            owner.restore(best[2])
            cand.sq_err, cand.best_epoch = best[0], best[1]
        else:
            cand.sq_err, cand.best_epoch = last_sq, cand.epochs_run
        if len(curve) >= 6:
            cand.improving = (curve[-6] - curve[-1]) / curve[-1]
        cand.tables = (owner.P, owner.Q, owner.bu, owner.bi)
        cand.mu = owner.mu
        return cand

    l2 = (l2_user, l2_item)
    with _threads(n_threads) as nt, _chunksize(nt):
        # Above SMALL, the checked model beside the final one is narrower (PROBE_DIM): it
        # judges the settings, not the last digits, and leaves the final model's core
        # (and its cache) to it; on small data the grid checks the very model.
        narrow = min(embedding_dim, PROBE_DIM) if r.size > SMALL and not large else None
        base = run(epochs, l2, main=True, probe_dim=narrow)
        cands = [base]
        if r.size <= SMALL and (tune_epochs or tune_l2):
            grid_epochs = (epochs, 2 * epochs) if tune_epochs else (epochs,)
            grid_l2 = (1.0, 1 / 3, 2.5) if tune_l2 else (1.0,)
            # in order of preference: the default L2 at each length first
            for f in grid_l2:
                for e in grid_epochs:
                    if (e, f) != (epochs, 1.0):
                        cands.append(run(e, (l2[0] * f, l2[1] * f)))
        elif (
            tune_epochs
            and not large
            and base.best_epoch == base.epochs_run
            and base.improving > STILL_IMPROVING
        ):
            cands.append(run(2 * epochs, l2, probe_dim=narrow))
        # The most default-like candidate that is not clearly worse than the best one
        # (the candidates are in order of preference: the default first, then longer
        # runs, then other L2 strengths), so noise on the slice does not pick a setting.
        best = min(cands, key=lambda c: c.rmse)
        chosen = next(c for c in cands if c is best or not _clearly_below(best.sq_err, c.sq_err))
        # The biases-only yardstick on the same slice (its optimum, computed directly).
        biases_sq = None
        if fallback:
            mu = float(np.mean(t_r, dtype=np.float64)) if global_bias else 0.0
            bu, bi = _damped_biases(
                t_ui, t_ii, t_r, n_users, n_items, mu, l2_bias, bias_damping, user_bias, item_bias
            )
            e = np.clip(mu + bu[s_ui] + bi[s_ii], lo, hi) - s_r
            biases_sq = e * e
        factors_used = biases_sq is None or _factors_help(chosen.sq_err, biases_sq)
        if not factors_used:
            # factors that do not help are not tuned (the default setting stays), and the
            # biases-only model on all the ratings (the same engine with zero vectors and
            # the default epochs) is trained only when it is needed
            chosen = base
            biases_final = run(epochs, l2, 1, 0.0, early_stop=False, on_all=True)
    report.record(cands, chosen)
    P, Q, bu, bi = chosen.tables  # type: ignore[misc]
    if biases_sq is not None:
        report.biases_rmse = float(np.sqrt(np.mean(biases_sq)))
        if not factors_used:
            report.factors_used = False
            _, _, bu, bi = biases_final.tables  # type: ignore[misc]
    params = _params(P, Q, bu, bi, chosen.mu, user_bias, item_bias, global_bias)
    return params, chosen.history, report


def _fit_small(
    ui: np.ndarray,
    ii: np.ndarray,
    r: np.ndarray,
    n_users: int,
    n_items: int,
    *,
    seed: int,
    fallback: bool,
    tune_epochs: bool,
    tune_l2: bool,
    embedding_dim: int,
    epochs: int,
    learning_rate: float,
    final_learning_rate_fraction: float,
    l2: tuple[float, float],
    l2_bias: float,
    bias_damping: float,
    user_bias: bool,
    item_bias: bool,
    global_bias: bool,
    init_std: float,
    clip: tuple[float, float],
    callbacks: list[Any],
    progress: bool,
) -> tuple[dict[str, np.ndarray], History, AdaptiveReport]:
    """Small data (at most :data:`SMALL` ratings): :data:`FOLDS`-fold cross-validation.

    One slice of a few hundred ratings cannot tell settings apart, so every candidate
    (and the biases-only model) is scored on every rating once, each from a model that
    did not train on it; the chosen setting then trains on all the ratings. The grid of
    epochs is what stops early here; the history's ``val_rmse`` is the cross-validated
    RMSE after each epoch of the chosen setting.
    """
    from embedlab.training import _cpu_mf_kernels as kernels

    masks = cv_slices(ui, ii, n_users, n_items, FOLDS, seed)
    held = np.concatenate([np.flatnonzero(m) for m in masks])
    report = AdaptiveReport(holdout=int(held.size), mode=f"{FOLDS}-fold")
    if held.size < MIN_SLICE:
        report.skipped = (
            f"{held.size} ratings could be held out (at least {MIN_SLICE} are needed to judge)"
        )
        return None, [], report  # type: ignore[return-value]
    lo, hi = clip
    args = (bias_damping, global_bias, seed)

    def train(side: _Side, n_epochs: int, l2s: tuple[float, float], on: np.ndarray | None):
        """Train ``side``; per epoch, the squared errors on ratings ``on`` (if any)."""
        decay = final_learning_rate_fraction ** (1.0 / (n_epochs - 1)) if n_epochs > 1 else 1.0
        curve, losses = [], []
        for epoch in range(1, n_epochs + 1):
            rate = learning_rate * decay ** (epoch - 1)
            sums = kernels.sgd_epoch(
                ui=side.ui, ii=side.ii, r=side.r, block_order=side.order(), block_size=_BLOCK,
                n_chunks=1, P=side.P, Q=side.Q, bu=side.bu, bi=side.bi, mu=side.mu, lr=rate,
                lr_b=rate, l2_user=l2s[0], l2_item=l2s[1], l2_bias=l2_bias, use_bu=user_bias,
                use_bi=item_bias, damp_u=side.damp_u, damp_i=side.damp_i,
            )  # fmt: skip
            losses.append((float(sums.sum()) / side.r.size, rate))
            if on is not None:
                pred = kernels.predict_serial(
                    ui=ui[on], ii=ii[on], P=side.P, Q=side.Q, bu=side.bu, bi=side.bi, mu=side.mu
                )
                e = np.clip(pred, lo, hi) - r[on]
                curve.append(e * e)
        return curve, losses

    def cross_validate(n_epochs: int, l2s: tuple[float, float]) -> _Candidate:
        cand = _Candidate(epochs=n_epochs, l2=l2s)
        per_epoch = [[] for _ in range(n_epochs)]
        for mask in masks:
            keep = ~mask
            side = _Side(
                ui[keep], ii[keep], r[keep], n_users, n_items, embedding_dim, init_std, *args
            )
            curve, _ = train(side, n_epochs, l2s, np.flatnonzero(mask))
            for e, sq in enumerate(curve):
                per_epoch[e].append(sq)
        cand.history = [
            {"epoch": e + 1, "val_rmse": float(np.sqrt(np.mean(np.concatenate(sq)))),
             "val_mae": float(np.mean(np.sqrt(np.concatenate(sq))))}
            for e, sq in enumerate(per_epoch)
        ]  # fmt: skip
        cand.sq_err = np.concatenate(per_epoch[-1])
        cand.best_epoch = cand.epochs_run = n_epochs
        return cand

    cands = [cross_validate(epochs, l2)]
    if tune_epochs or tune_l2:
        grid_epochs = (epochs, 2 * epochs) if tune_epochs else (epochs,)
        grid_l2 = (1.0, 1 / 3, 2.5) if tune_l2 else (1.0,)
        for f in grid_l2:  # in order of preference: the default L2 at each length first
            for e in grid_epochs:
                if (e, f) != (epochs, 1.0):
                    cands.append(cross_validate(e, (l2[0] * f, l2[1] * f)))
    best = min(cands, key=lambda c: c.rmse)
    chosen = next(c for c in cands if c is best or not _clearly_below(best.sq_err, c.sq_err))
    factors_used = True
    if fallback:
        biases_sq = []
        for mask in masks:
            keep = ~mask
            mu = float(np.mean(r[keep], dtype=np.float64)) if global_bias else 0.0
            bu, bi = _damped_biases(
                ui[keep], ii[keep], r[keep], n_users, n_items, mu, l2_bias, bias_damping,
                user_bias, item_bias,
            )  # fmt: skip
            e = np.clip(mu + bu[ui[mask]] + bi[ii[mask]], lo, hi) - r[mask]
            biases_sq.append(e * e)
        biases = np.concatenate(biases_sq)
        report.biases_rmse = float(np.sqrt(np.mean(biases)))
        factors_used = _factors_help(chosen.sq_err, biases)
    if not factors_used:
        # factors that do not help are not tuned: the default setting, whose biases-only
        # model (zero vectors) is exactly MatrixFactorization(init_std=0, holdout=0)
        chosen = cands[0]
    # the model: the chosen setting on all the ratings (the biases-only model: zero vectors)
    dim, std = (embedding_dim, init_std) if factors_used else (1, 0.0)
    final = _Side(ui, ii, r, n_users, n_items, dim, std, *args)
    _, losses = train(final, chosen.epochs, chosen.l2, None)
    history: History = []
    for (loss, rate), rec in zip(losses, chosen.history, strict=True):
        history.append({**rec, "train_loss": loss, "seconds": None, "learning_rate": rate})
    for rec in history:
        if progress:
            import sys

            print(
                f"sgd epoch {rec['epoch']}: train_loss {rec['train_loss']:.4f}  "
                f"cv_rmse {rec['val_rmse']:.4f}",
                file=sys.stderr,
            )
        if any([cb.on_epoch_end(rec["epoch"], dict(rec)) for cb in callbacks]):
            break
    if not (math.isfinite(losses[-1][0]) and np.isfinite(final.P).all()):
        from embedlab.exceptions import TrainingDivergedError

        raise TrainingDivergedError(
            "sgd: the parameters became NaN or infinite; lower learning_rate or raise the L2 "
            "strengths"
        )
    report.record(cands, chosen)
    report.factors_used = factors_used
    P, Q, bu, bi = final.P, final.Q, final.bu, final.bi
    if not factors_used:
        # keep vectors to explore: the chosen setting's, trained on all ratings as well
        vectors = _Side(ui, ii, r, n_users, n_items, embedding_dim, init_std, *args)
        train(vectors, chosen.epochs, chosen.l2, None)
        P, Q = vectors.P, vectors.Q
    params = _params(P, Q, bu, bi, final.mu, user_bias, item_bias, global_bias)
    return params, history, report
