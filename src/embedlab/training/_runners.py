"""The trainer's epochs: runners that train one epoch, and the loop that does the rest.

A runner trains one epoch at a given learning rate and returns the epoch's summed loss
(for ratings the squared error, this rank's share when data-parallel):

* :class:`TorchEpochRunner`: autograd and the torch optimizers, single-process or
  data-parallel; the differences (the epoch's batches, the loss's scale, summing the
  gradients over the ranks) follow the distributed context.
* :class:`CompiledEpochRunner`: the numba kernel of :mod:`embedlab.training._cpu_neural`.
* any caller's runner through :meth:`Trainer.fit_epochs
  <embedlab.training.Trainer.fit_epochs>` (the feature encoder's tables and losses).

:class:`EpochLoop` runs the epochs with any of them and does everything else once per
epoch, for all: the learning rate, the non-finite-loss check, validation scoring (a
:class:`Validator`: :class:`RatingValidator` for ratings), the history record, early
stopping (keeping the best weights), callbacks, the checkpoint and the progress bar.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch

from embedlab.exceptions import TrainingDivergedError
from embedlab.training import _distributed as ddp
from embedlab.training._checkpoint import TrainingState
from embedlab.training._cpu_neural import CompiledNeuralEpochs, compiled_unsupported
from embedlab.training._optim import sparse_parameters
from embedlab.training._scoring import predict_tensors, rating_metrics, to_tensor

if TYPE_CHECKING:
    from embedlab.training._trainer import Trainer

__all__ = [
    "CompiledEpochRunner",
    "EpochLoop",
    "EpochRunner",
    "FitContext",
    "RatingValidator",
    "TorchEpochRunner",
    "Validator",
    "make_runner",
]

#: ``(user_index, item_index, rating)`` arrays.
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class FitContext:
    """One fit as the runners and the loop see it.

    Attributes:
        trainer: The :class:`~embedlab.training.Trainer` and its settings.
        state: The module, optimizers, generator, history and early-stopping state.
        device: The device trained on.
        ctx: The distributed context, or ``None`` for a single process.
        seed: The data-parallel permutation seed (the same on every rank).
    """

    trainer: Trainer
    state: TrainingState
    device: torch.device
    ctx: ddp.DistributedContext | None
    seed: int = 0

    @property
    def rank(self) -> int:
        return self.ctx.rank if self.ctx is not None else 0

    @property
    def world(self) -> int:
        return self.ctx.world_size if self.ctx is not None else 1


class EpochRunner(Protocol):
    """What :class:`EpochLoop` needs of a runner."""

    #: ``"torch"`` or ``"compiled"`` (the trainer's ``engine_``).
    engine: str
    #: Steps per epoch (of this rank), for the progress bar.
    n_batches: int
    #: What to try when the loss stops being finite (the end of the error's line).
    advice: str

    def run_epoch(self, epoch: int, lr: float, advance: Callable[[int], None]) -> float:
        """Train 0-based ``epoch``; call ``advance(steps)`` as steps finish; return the
        epoch's summed loss (divided by the training rows for the history)."""
        ...


class Validator(Protocol):
    """What :class:`EpochLoop` needs of held-out scoring.

    ``names``: the history keys :meth:`score` fills; early stopping watches the first
    (lower is better). ``label``: how errors name it (``"RMSE"``).
    """

    names: tuple[str, ...]
    label: str

    def score(self) -> dict[str, float]:
        """The current module's metrics on the held-out rows, keyed by ``names``."""
        ...


class RatingValidator:
    """``val_rmse`` and ``val_mae`` of held-out ratings (data-parallel: each rank scores
    its stride of the rows and the sums are combined)."""

    names = ("val_rmse", "val_mae")
    label = "RMSE"

    def __init__(self, fit: FitContext, validation: Arrays) -> None:
        self.fit = fit
        u, i, r = (a[fit.rank :: fit.world] for a in validation)
        self.users = to_tensor(u, torch.long, fit.device)
        self.items = to_tensor(i, torch.long, fit.device)
        self.ratings = to_tensor(r, torch.float32, fit.device)
        self.n_val = len(validation[2])

    def score(self) -> dict[str, float]:
        fit = self.fit
        pred = predict_tensors(
            fit.state.module, self.users, self.items, fit.trainer.eval_batch_size
        )
        if fit.ctx is None:
            m = rating_metrics(pred, self.ratings)
            return {"val_rmse": m["rmse"], "val_mae": m["mae"]}
        err = (pred - self.ratings).double()
        sums = [float(err.square().sum()), float(err.abs().sum())]
        sq, ab = ddp.all_reduce_sum(sums, fit.device)
        return {"val_rmse": math.sqrt(sq / self.n_val), "val_mae": ab / self.n_val}


def make_runner(fit: FitContext, train: Arrays) -> EpochRunner:
    """The compiled runner where ``trainer.engine`` asks for it and it applies, else the torch one.

    Raises:
        ValueError: For ``engine="compiled"`` on a setup the compiled epoch cannot train.
    """
    trainer = fit.trainer
    if trainer.engine != "torch":
        why = compiled_unsupported(
            fit.state.module,
            optimizer=trainer.optimizer,
            l2_mode=trainer.l2_mode,
            device=fit.device,
            distributed=fit.ctx is not None,
        )
        if why is None:
            return CompiledEpochRunner(fit, train)
        if trainer.engine == "compiled":
            raise ValueError(
                f"engine='compiled' cannot train this model: {why}; use engine='torch' or 'auto'"
            )
    return TorchEpochRunner(fit, train)


def _rating_advice(optimizer: str) -> str:
    return f"lower learning_rate (e.g. by 10x; optimizer={optimizer!r}) or raise the L2 strengths"


class TorchEpochRunner:
    """Epochs with autograd and the torch optimizers, single-process or data-parallel.

    Single-process, each epoch walks one permutation drawn from ``gen`` in slices of
    ``batch_size`` and minimizes the batch's mean squared error. Data-parallel, the
    permutation comes from ``seed`` and the epoch (the same on every rank), ``gen`` is
    reseeded per rank for the dropout masks, each rank takes its share of every global
    batch, minimizes its part of the global batch's mean and the gradients are summed
    over the ranks before each step.
    """

    engine = "torch"

    def __init__(self, fit: FitContext, train: Arrays) -> None:
        trainer, module = fit.trainer, fit.state.module
        self.advice = _rating_advice(trainer.optimizer)
        self.module, self.opt, self.gen = module, fit.state.opt, fit.state.gen
        self.device, self.ctx, self.seed = fit.device, fit.ctx, fit.seed
        self.rank, self.world = fit.rank, fit.world
        self.batch_size = trainer.batch_size
        self.l2_mode = trainer.l2_mode
        # (key in forward_rows' rows, table attribute, strength)
        self.l2 = [
            ("user", "user_embedding", trainer.l2_user),
            ("item", "item_embedding", trainer.l2_item),
            ("user_bias", "user_bias", trainer.l2_bias),
            ("item_bias", "item_bias", trainer.l2_bias),
        ]
        self.users = to_tensor(train[0], torch.long, fit.device)
        self.items = to_tensor(train[1], torch.long, fit.device)
        self.ratings = to_tensor(train[2], torch.float32, fit.device)
        step_rows = self.batch_size * self.world
        self.n_batches = (len(self.ratings) + step_rows - 1) // step_rows
        self.params = [p for p in module.parameters() if p.requires_grad]
        # l2_mode="table" gives every row a gradient every step: dense table gradients.
        self.dense_tables = self.l2_mode == "table"
        self.sparse_ids = set() if self.dense_tables else sparse_parameters(module)

    def _batches(self, epoch: int) -> list[tuple[torch.Tensor, int]]:
        """This rank's ``(rows, rows in the global batch)`` per step of ``epoch``."""
        n, bs = len(self.ratings), self.batch_size
        if self.ctx is None:
            perm = torch.randperm(n, generator=self.gen, device=self.device)
            slices = [perm[s : s + bs] for s in range(0, n, bs)]
            return [(rows, len(rows)) for rows in slices]
        self.gen.manual_seed(ddp.dropout_seed(self.seed, epoch, self.rank))
        perm = ddp.epoch_permutation(n, self.seed, epoch, self.device)
        return ddp.shard_batches(perm, bs, self.rank, self.world)

    def _penalty(self, rows: dict[str, torch.Tensor], b: int) -> torch.Tensor | None:
        """The L2 term of a step whose global batch holds ``b`` ratings."""
        # Data-parallel: each of the world's ranks adds 1/world of the whole-table
        # penalty, so the summed gradients match.
        terms: list[torch.Tensor] = []
        if self.l2_mode == "batch":
            for key, _, lam in self.l2:
                if lam > 0 and key in rows:
                    terms.append(rows[key].square().sum() * (lam / b))
        else:
            for _, name, lam in self.l2:
                table = getattr(self.module, name, None)
                if lam > 0 and table is not None:
                    terms.append(table.weight.square().sum() * (lam / self.world))
        return sum(terms[1:], terms[0]) if terms else None

    def _loss(
        self, pred: torch.Tensor, r: torch.Tensor, rows: dict[str, torch.Tensor], b: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The step's loss and its squared errors summed (float64, for the epoch's loss)."""
        if self.ctx is None:
            mse = (pred - r).square().mean()
            penalty = self._penalty(rows, b)
            loss = mse if penalty is None else mse + penalty
            return loss, mse.detach().double() * b
        # This rank's share of the global batch's mean (summed over the ranks).
        sse = (pred - r).square().sum()
        penalty = self._penalty(rows, b)
        loss = sse / b if penalty is None else sse / b + penalty
        return loss, sse.detach().double()

    def run_epoch(self, epoch: int, lr: float, advance: Callable[[int], None]) -> float:
        """Train ``epoch`` (the learning rate is already set); return this rank's SSE."""
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        for rows_idx, b_global in self._batches(epoch):
            ub, ib, rb = self.users[rows_idx], self.items[rows_idx], self.ratings[rows_idx]
            pred, rows = self.module.forward_rows(ub, ib)
            loss, sse = self._loss(pred, rb, rows, b_global)
            self.opt.zero_grad()
            loss.backward()
            if self.dense_tables:
                for p in self.params:
                    if p.grad is not None and p.grad.is_sparse:
                        p.grad = p.grad.to_dense()
            if self.ctx is not None:
                max_rows = (b_global + self.world - 1) // self.world
                ddp.all_reduce_gradients(self.params, self.sparse_ids, max_rows)
            self.opt.step()
            total += sse
            advance(1)
        return float(total)


class CompiledEpochRunner:
    """Epochs of a :class:`~embedlab.nn.NeuralModule` with the compiled CPU kernel.

    Each epoch draws one permutation from ``gen`` and, with dropout, one seed for the
    kernel's masks.
    """

    engine = "compiled"

    def __init__(self, fit: FitContext, train: Arrays) -> None:
        trainer, opt = fit.trainer, fit.state.opt
        dense = opt.optimizers[1] if len(opt.optimizers) > 1 else None
        self.kernel = CompiledNeuralEpochs(
            fit.state.module,
            opt.optimizers[0],
            dense,
            l2_user=trainer.l2_user,
            l2_item=trainer.l2_item,
            l2_bias=trainer.l2_bias,
            batch_size=trainer.batch_size,
            num_threads=trainer.n_threads,
        )
        self.gen, self.device = fit.state.gen, fit.device
        self.advice = _rating_advice(trainer.optimizer)
        self.users, self.items, self.ratings = train
        self.n_batches = -(-len(self.ratings) // trainer.batch_size)

    def run_epoch(self, epoch: int, lr: float, advance: Callable[[int], None]) -> float:
        """Train ``epoch`` at ``lr``; return its SSE."""
        perm = torch.randperm(len(self.ratings), generator=self.gen, device=self.device).numpy()
        dropout = self.kernel.dropout > 0
        mask_seed = int(torch.randint(0, 2**62, (1,), generator=self.gen)) if dropout else 0
        sse = self.kernel.run_epoch(
            self.users[perm], self.items[perm], self.ratings[perm], lr, mask_seed
        )
        advance(self.n_batches)
        return sse


class EpochLoop:
    """Runs the epochs of one :meth:`Trainer.fit <embedlab.training.Trainer.fit>` (or
    :meth:`~embedlab.training.Trainer.fit_epochs`) with a runner.

    Per epoch, whatever the runner: set the learning rate, train, check the loss is
    finite, score the validation data with the :class:`Validator`, record the history,
    track the best value of the validator's first metric for early stopping, call the
    callbacks, write the checkpoint (rank 0) and update the progress bar (rank 0).
    Data-parallel, the loss, the validation error, the epoch's seconds and the decision
    to stop are combined over the ranks, so the history is the same on every rank.
    """

    def __init__(
        self, fit: FitContext, validator: Validator | None, checkpoint_dir: Path | None
    ) -> None:
        self.fit, self.trainer, self.checkpoint_dir = fit, fit.trainer, checkpoint_dir
        self.rank, self.device, self.ctx = fit.rank, fit.device, fit.ctx
        self.validator = validator
        #: The history keys of the validation metrics (``None`` in epochs without).
        self.metrics = validator.names if validator is not None else RatingValidator.names

    def run(self, runner: EpochRunner, start: int) -> None:
        """Train epochs ``start``..``epochs - 1`` until done or stopped."""
        t, state = self.trainer, self.fit.state
        progress = _progress(t.progress and self.rank == 0)
        # Adagrad builds sparse tensors from coalesced gradients; opting out of the
        # invariant checks explicitly (they cost time and the inputs are valid) also
        # silences torch's warning that they are implicitly off.
        with progress, torch.sparse.check_sparse_tensor_invariants(enable=False):
            task = progress.add_task("training", total=(t.epochs - start) * runner.n_batches)
            advance = functools.partial(progress.advance, task)
            for epoch in range(start, t.epochs):
                t0 = time.perf_counter()
                lr = t.learning_rate_at(epoch)
                state.opt.set_learning_rate(lr)
                state.module.train()
                progress.update(task, description=f"epoch {epoch + 1}/{t.epochs}")
                loss = runner.run_epoch(epoch, lr, advance)
                record = self._record(epoch, lr, loss, t0, runner.advice)
                stop = self._stop(epoch, record)
                if self.checkpoint_dir is not None and self.rank == 0:
                    t._save_checkpoint(self.checkpoint_dir, epoch + 1, state)
                desc = f"epoch {epoch + 1}/{t.epochs} loss {record['train_loss']:.4f}"
                watched = self.metrics[0]
                if record[watched] is not None:
                    desc += f" {watched} {record[watched]:.4f}"
                progress.update(task, description=desc)
                if stop:
                    break

    def _sum(self, values: list[float]) -> list[float]:
        return values if self.ctx is None else ddp.all_reduce_sum(values, self.device)

    def _record(self, epoch: int, lr: float, loss: float, t0: float, advice: str) -> dict[str, Any]:
        """The epoch's history record (appended), after checking the losses are finite."""
        train_loss = self._sum([loss])[0] / self.fit.state.n_train
        record: dict[str, Any] = {"epoch": epoch + 1, "train_loss": train_loss}
        record.update(dict.fromkeys(self.metrics))
        if not math.isfinite(train_loss):
            raise TrainingDivergedError(
                f"the training loss became {train_loss} in epoch {epoch + 1} "
                f"(learning_rate={lr:g}); {advice}"
            )
        if self.validator is not None:
            m = self.validator.score()
            watched = m[self.metrics[0]]
            if not math.isfinite(watched):
                raise TrainingDivergedError(
                    f"the validation {self.validator.label} became {watched} in epoch "
                    f"{epoch + 1}; lower learning_rate (now {lr:g})"
                )
            record.update((k, m[k]) for k in self.metrics)
        seconds = time.perf_counter() - t0
        if self.ctx is not None:
            # The slowest rank's time, so the history is the same on every rank.
            seconds = ddp.all_reduce_max([seconds], self.device)[0]
        record["seconds"] = seconds
        record["learning_rate"] = lr
        self.fit.state.history.append(record)
        return record

    def _stop(self, epoch: int, record: dict[str, Any]) -> bool:
        """Early stopping and the callbacks' verdict (any rank's stop stops every rank)."""
        t, best, stop = self.trainer, self.fit.state.best, False
        watched = record[self.metrics[0]]
        if watched is not None:
            if watched < best.value - t.min_delta:
                best.value, best.epoch, best.wait = watched, epoch + 1, 0
                if t.patience is not None:
                    weights = self.fit.state.module.state_dict()
                    best.state = {k: v.detach().clone() for k, v in weights.items()}
            else:
                best.wait += 1
                stop = t.patience is not None and best.wait >= t.patience
        if t.callbacks:
            logs = dict(record)
            for cb in t.callbacks:
                stop = bool(cb.on_epoch_end(epoch + 1, logs)) or stop
        if self.ctx is not None:
            stop = bool(ddp.all_reduce_max([float(stop)], self.device)[0])
        best.stopped = stop
        return stop


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def update(self, *args: Any, **kwargs: Any) -> None:
        return None

    def advance(self, *args: Any, **kwargs: Any) -> None:
        return None


def _progress(enabled: bool) -> Any:
    if not enabled:
        return _NoProgress()
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
