"""One torch trainer for both module families (matrix factorization and the neural model),
and for the feature encoder's network.

:meth:`Trainer.fit` validates its inputs and sets up the device, the generator, the
optimizers, the data and a resumed checkpoint; :meth:`Trainer.fit_epochs` takes a
caller's epoch runner, optimizer and validator instead (the encoder's). The epochs run
in :mod:`embedlab.training._runners`, checkpoints are written by
:mod:`embedlab.training._checkpoint`.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from embedlab.exceptions import DataError
from embedlab.nn import GeneratorDropout
from embedlab.settings import Int, Real, deprecated
from embedlab.training import _distributed as ddp
from embedlab.training._callbacks import Callback, as_callbacks
from embedlab.training._checkpoint import (
    TrainingState,
    has_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from embedlab.training._cpu_neural import ENGINES
from embedlab.training._history import History
from embedlab.training._optim import (
    OPTIMIZERS,
    SCHEDULES,
    build_optimizer,
    learning_rate_at,
)
from embedlab.training._runners import (
    EpochLoop,
    EpochRunner,
    FitContext,
    RatingValidator,
    Validator,
    make_runner,
)
from embedlab.training._scoring import (
    check_index_range,
    check_same_data,
    evaluate,
    predict,
    rating_arrays,
)

__all__ = ["L2_MODES", "Trainer", "evaluate", "predict", "resolve_device"]

#: The two L2 semantics (see :class:`Trainer`).
L2_MODES = ("batch", "table")


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"``: CUDA when available, else CPU; anything else goes to ``torch.device``."""
    if isinstance(device, str) and device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device={device!r}: expected 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r}: torch sees no CUDA device here; use device='auto' or 'cpu'"
        )
    if dev.type == "cuda" and dev.index is None:
        # An explicit index, so generators and tensors compare equal as devices.
        dev = torch.device("cuda", torch.cuda.current_device())
    return dev


def _positive_int(name: str, value: Any) -> int:
    return Int(1)(name, value)


def _nonneg(name: str, value: Any) -> float:
    return Real(0)(name, value)


class Trainer:
    """Mini-batch training of an index-based module (MF or neural) under squared error.

    Each epoch draws one permutation of the training rows from the trainer's own
    ``torch.Generator`` (seeded by ``random_state``; the same generator draws
    dropout masks), gathers the preloaded tensors in that order and walks them in
    slices of ``batch_size``: no Python runs per rating. The loss of a batch of
    ``B`` ratings is ``mean((r̂ - r)²) + penalty``.

    L2 (``l2_user``, ``l2_item`` on the embedding tables, ``l2_bias`` on both bias
    tables), with ``l2_mode``:

    * ``"batch"`` (default): ``penalty = (1/B) Σ_batch (l2_user ‖p_u‖² + l2_item ‖q_i‖²
      + l2_bias (b_u² + b_i²))``, summed over the batch's occurrences. Its gradient
      touches only the batch's rows, so the sparse optimizers stay sparse, and the
      objective per epoch is the classic per-rating regularized SGD objective
      (Surprise, LensKit), independent of the batch size. It is the default because
      it is fast and its strengths transfer between batch sizes and data sizes.
    * ``"table"``: the course's Keras ``embeddings_regularizer``: ``penalty =
      l2_user ‖P‖² + l2_item ‖Q‖² + l2_bias (‖b_user‖² + ‖b_item‖²)`` over the
      whole tables, added every step (the course uses 1e-7 users, 1e-6 items).
      Every row then has gradient every step, so the trainer turns table gradients
      dense and ``"adam"`` becomes dense Adam over everything, as in Keras (slow
      on large tables: that is the course's point).

    Optimizers (see :mod:`embedlab.training._optim`): ``"adam"`` (lazy Adam:
    :class:`~embedlab.training._optim.LazyAdam`, SparseAdam's rule, for the tables + ``Adam``
    for dense parameters), ``"adagrad"``,
    ``"sgd"``. Learning-rate ``schedule``: ``None``, ``"step"`` (× ``lr_gamma`` every
    ``lr_step_size`` epochs), ``"exponential"`` (× ``lr_gamma`` per epoch),
    ``"cosine"`` (to 0 over ``epochs``) or a callable ``epoch -> factor``.

    Early stopping (``patience`` set, validation required): stop when ``val_rmse``
    has not improved by more than ``min_delta`` for ``patience`` epochs; the module
    ends with the weights of its best epoch. ``callbacks``: objects with
    ``on_epoch_end(epoch, logs)`` or functions ``f(epoch, logs)``; ``True`` stops.

    :meth:`fit_epochs` trains any module with the caller's own epochs (data, loss,
    steps) and validation metric through the same loop: the feature encoder's network
    trains that way.

    Same data, settings, initial module and ``random_state`` give identical
    weights on the CPU (GPU kernels may add in a different order).

    Data-parallel training (``distributed``; see :mod:`embedlab.training._distributed`):
    under ``torchrun --nproc-per-node W`` (``WORLD_SIZE > 1``), or in a process group
    initialized beforehand, :meth:`fit` trains on ``W`` processes. Every rank must pass
    the same data (all ranks load the same dataset); rank 0's weights are broadcast
    first; each epoch's permutation (seeded by ``random_state`` and the epoch) is cut in
    global batches of ``W × batch_size`` rows of which each rank takes every ``W``-th, and
    gradients are summed over the ranks every step, so one step equals a single-process
    step with batch ``W × batch_size`` at the same learning rate (scale
    ``learning_rate`` yourself if you want the single-process schedule per row).
    Validation is scored on a shard per rank and summed; the history, early stopping
    and the final weights are identical on every rank; only rank 0 shows progress and
    writes checkpoints (``checkpoint_dir`` must be visible to every rank on resume).

    Args:
        epochs: Number of passes over the training data.
        batch_size: Ratings per step.
        learning_rate: Base learning rate.
        optimizer: ``"adam"``, ``"adagrad"`` or ``"sgd"``.
        schedule: See above.
        lr_gamma: Decay factor of ``"step"`` and ``"exponential"``.
        lr_step_size: Epochs between ``"step"`` decays.
        l2_user: L2 strength on the user embedding table.
        l2_item: L2 strength on the item embedding table.
        l2_bias: L2 strength on the user and item bias tables.
        l2_mode: ``"batch"`` or ``"table"``.
        patience: Early-stopping patience in epochs; ``None`` turns it off.
        min_delta: Smallest ``val_rmse`` decrease that counts as an improvement.
        callbacks: One callback or several.
        progress: Show a rich progress bar on stderr.
        random_state: Seed of the trainer's generator; ``None`` draws a fresh seed.
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``...
        eval_batch_size: Rows per batch when scoring validation data.
        n_threads: CPU threads torch may use during :meth:`fit` (restored
            afterwards); ``None`` leaves torch's setting. Batches of a few thousand
            ratings gain little from a second thread, and on a busy machine threads
            that wait on each other can slow an epoch down several times, so ``1``
            is the robust choice when other work shares the cores.
        distributed: ``"auto"``: data-parallel when launched by ``torchrun`` with
            ``WORLD_SIZE > 1`` or inside an initialized process group of several
            ranks (the group is initialized from the environment when needed:
            ``gloo`` on the CPU, ``nccl`` on CUDA); ``True``: the same, and an error
            without a launcher; ``False``: every process trains alone.
        engine: How an epoch runs. ``"torch"``: the loop above, with autograd and the
            torch optimizers. ``"compiled"``: for a :class:`~embedlab.nn.NeuralModule` on
            the CPU with ``optimizer="adam"`` and ``l2_mode="batch"``, not data-parallel:
            a numba kernel runs the same loss, L2, lazy Adam and Adam per step with fused
            passes (see :mod:`embedlab.training._cpu_neural`); only the dropout masks
            and the order of floating-point sums differ. ``"auto"``: ``"compiled"`` where
            it applies, else ``"torch"``.

    Attributes (after :meth:`fit`):
        history_: The :class:`History`.
        best_epoch_: Best epoch by ``val_rmse`` (1-based), or ``None`` without validation.
        stopped_early_: Whether early stopping or a callback ended training.
        device_: The device trained on.
        rank_: This process's rank (``0`` when not data-parallel).
        world_size_: Number of data-parallel processes (``1`` when not data-parallel).
        engine_: The engine that ran the epochs (``"torch"`` or ``"compiled"``).

    Raises:
        ValueError: For a bad option (at construction).
    """

    def __init__(
        self,
        *,
        epochs: int = 20,
        batch_size: int = 5000,
        learning_rate: float = 1e-3,
        optimizer: str = "adam",
        schedule: str | Callable[[int], float] | None = None,
        lr_gamma: float = 0.5,
        lr_step_size: int = 5,
        l2_user: float = 0.0,
        l2_item: float = 0.0,
        l2_bias: float = 0.0,
        l2_mode: str = "batch",
        patience: int | None = None,
        min_delta: float = 0.0,
        callbacks: Iterable[Callback | Callable[[int, dict[str, Any]], bool | None]] | None = None,
        progress: bool = True,
        random_state: int | None = None,
        device: str | torch.device = "auto",
        eval_batch_size: int = 1 << 16,
        n_threads: int | None = None,
        distributed: bool | str = "auto",
        engine: str = "auto",
        num_threads: int | None = None,
    ) -> None:
        self.epochs = _positive_int("epochs", epochs)
        self.batch_size = _positive_int("batch_size", batch_size)
        self.learning_rate = Real(0, strict=True)("learning_rate", learning_rate)
        if optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer={optimizer!r}: expected one of {', '.join(map(repr, OPTIMIZERS))}"
            )
        self.optimizer = optimizer
        if not (callable(schedule) or schedule in SCHEDULES):
            raise ValueError(
                f"schedule={schedule!r}: expected None, 'step', 'exponential', 'cosine' or a callable epoch -> factor"
            )
        self.schedule = schedule
        self.lr_gamma = _nonneg("lr_gamma", lr_gamma)
        self.lr_step_size = _positive_int("lr_step_size", lr_step_size)
        self.l2_user = _nonneg("l2_user", l2_user)
        self.l2_item = _nonneg("l2_item", l2_item)
        self.l2_bias = _nonneg("l2_bias", l2_bias)
        if l2_mode not in L2_MODES:
            raise ValueError(
                f"l2_mode={l2_mode!r}: expected 'batch' (per occurrence, sparse) or 'table' (Keras)"
            )
        self.l2_mode = l2_mode
        self.patience = None if patience is None else _positive_int("patience", patience)
        self.min_delta = _nonneg("min_delta", min_delta)
        self.callbacks = as_callbacks(callbacks)
        self.progress = bool(progress)
        if random_state is not None and (
            not isinstance(random_state, numbers.Integral)
            or isinstance(random_state, bool)
            or random_state < 0
        ):
            raise ValueError(f"random_state={random_state!r}: expected None or an integer >= 0")
        self.random_state = random_state
        self.device = resolve_device(device)
        self.eval_batch_size = _positive_int("eval_batch_size", eval_batch_size)
        if num_threads is not None:
            deprecated("Trainer", ["num_threads"], "n_threads")
            n_threads = num_threads if n_threads is None else n_threads
        self.n_threads = None if n_threads is None else _positive_int("n_threads", n_threads)
        self.num_threads = self.n_threads  # the name before 0.2, kept one release
        ddp.check_mode(distributed)
        self.distributed = distributed
        if engine not in ENGINES:
            raise ValueError(f"engine={engine!r}: expected one of {', '.join(map(repr, ENGINES))}")
        self.engine = engine
        # A device without an index ("auto", "cuda") follows LOCAL_RANK under a launcher.
        self._device_pinned = not (
            (isinstance(device, str) and device in ("auto", "cuda"))
            or (isinstance(device, torch.device) and device.index is None)
        )

    # ------------------------------------------------------------------ helpers
    def _config(self) -> dict[str, Any]:
        """Settings a resumed run must share with the checkpoint (epochs may grow)."""
        return {
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "optimizer": self.optimizer,
            "schedule": self.schedule if not callable(self.schedule) else "callable",
            "lr_gamma": self.lr_gamma,
            "lr_step_size": self.lr_step_size,
            "l2_user": self.l2_user,
            "l2_item": self.l2_item,
            "l2_bias": self.l2_bias,
            "l2_mode": self.l2_mode,
            "patience": self.patience,
            "min_delta": self.min_delta,
            "random_state": self.random_state,
        }

    def learning_rate_at(self, epoch: int) -> float:
        """The learning rate of 0-based ``epoch``."""
        return learning_rate_at(
            epoch,
            self.learning_rate,
            self.schedule,
            epochs=self.epochs,
            lr_gamma=self.lr_gamma,
            lr_step_size=self.lr_step_size,
        )

    # ------------------------------------------------------------- checkpoints
    def _save_checkpoint(self, ckpt: Path, epoch: int, state: TrainingState) -> None:
        # The epoch loop writes every checkpoint through here (tests count the calls).
        save_checkpoint(ckpt, epoch, state, self._config())

    # --------------------------------------------------------------------- fit
    def fit(
        self,
        module: nn.Module,
        train: Any,
        *,
        validation: Any = None,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
    ) -> History:
        """Train ``module`` in place and return the history (also kept as ``history_``).

        Args:
            module: An :class:`~embedlab.nn.MFModule`, :class:`~embedlab.nn.NeuralModule`
                or any module with ``forward_rows(users, items) -> (scores, rows)``.
                It is moved to the trainer's device.
            train: ``Interactions`` or ``(user_index, item_index, rating)`` arrays.
            validation: The same kinds, or ``None``.
            checkpoint_dir: Save a checkpoint after every epoch into this folder
                (weights and optimizer state as safetensors, the rest as JSON; the
                epoch's folder appears atomically and ``latest.json`` points at it).
            resume: Continue from the checkpoint in ``checkpoint_dir`` if there is
                one; the end result equals an uninterrupted run.

        Raises:
            DataError: For malformed data or indices outside the module's tables.
            ValueError: For ``patience`` without validation data, ``resume`` without
                ``checkpoint_dir``, a checkpoint from different settings, or an
                existing checkpoint without ``resume=True``.
            TrainingDivergedError: When the loss or the validation error is not finite.
        """
        u_np, i_np, r_np = rating_arrays(train, "train")
        if len(r_np) == 0:
            raise DataError("train: no ratings to train on")
        check_index_range(u_np, i_np, module, "train")
        val = None
        if validation is not None:
            val = rating_arrays(validation, "validation")
            check_index_range(val[0], val[1], module, "validation")
        if self.patience is not None and (val is None or len(val[2]) == 0):
            raise ValueError(
                f"patience={self.patience} needs validation data to watch; pass validation="
            )
        if resume and checkpoint_dir is None:
            raise ValueError(
                "resume=True needs checkpoint_dir=, the folder the checkpoints were written to"
            )

        device = self.device
        ctx = ddp.resolve_distributed(self.distributed, device)
        if ctx is not None and not self._device_pinned:
            device = ddp.cuda_device_for_rank(device)
        self.device_ = device
        self.rank_, self.world_size_ = (ctx.rank, ctx.world_size) if ctx is not None else (0, 1)
        module.to(device)
        opt = build_optimizer(
            module, self.optimizer, self.learning_rate, dense_tables=self.l2_mode == "table"
        )
        gen = self._generator(device)
        seed = 0
        if ctx is not None:
            check_same_data(u_np, i_np, r_np, val, device)
            seed = ddp.broadcast_seed(self.random_state, device)
            ddp.broadcast_module(module)
        dropouts = [m for m in module.modules() if isinstance(m, GeneratorDropout)]
        for d in dropouts:
            d.generator = gen
        state = TrainingState(module, opt, gen, n_train=len(r_np))
        fit = FitContext(self, state, device, ctx, seed)
        runner = make_runner(fit, (u_np, i_np, r_np))
        self.engine_ = runner.engine

        start = 0
        ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
        if ckpt is not None and has_checkpoint(ckpt):
            if not resume:
                raise ValueError(
                    f"checkpoint_dir={str(ckpt)!r} already holds a checkpoint; pass resume=True to "
                    "continue it or choose an empty folder"
                )
            start = load_checkpoint(ckpt, state, self._config())
        if ctx is not None and not ddp.same_on_all_ranks([float(start)], device):
            raise ValueError(
                f"checkpoint_dir={str(ckpt)!r}: the ranks found different checkpoints (this rank: epoch "
                f"{start}); put checkpoints on a folder every rank sees"
            )
        validator = RatingValidator(fit, val) if val is not None else None
        return self._run(fit, runner, validator, ckpt, start, dropouts)

    def fit_epochs(
        self,
        module: nn.Module,
        runner: EpochRunner,
        *,
        optimizer: Any,
        n_train: int,
        validator: Validator | None = None,
    ) -> History:
        """Train ``module`` in place with the caller's own epochs, through :meth:`fit`'s loop.

        For modules whose data or loss are not squared error on (user, item) pairs (the
        feature encoder's columns, its logistic and cross-entropy losses): ``runner``
        trains one epoch (attributes ``engine``, ``n_batches``, ``advice``; method
        ``run_epoch(epoch, lr, advance)`` returning the epoch's summed loss) with
        ``optimizer`` (anything with ``set_learning_rate(lr)``; a runner may change the
        rate within an epoch, e.g. per step); ``validator`` scores held-out rows
        (``names``, ``label``, ``score()``). The rest is :meth:`fit`'s: each epoch's
        learning rate, the finite-loss check, the history (``train_loss`` is the summed
        loss over ``n_train``, plus ``validator.names``), early stopping on
        ``validator.names[0]`` with the best epoch's weights put back, callbacks, the
        progress bar and ``n_threads``. One process (``distributed`` is not consulted),
        no checkpoints.

        Raises:
            ValueError: For ``patience`` without a validator.
            TrainingDivergedError: When the loss or the watched metric is not finite.
        """
        if self.patience is not None and validator is None:
            raise ValueError(
                f"patience={self.patience} needs validation data to watch; pass validator="
            )
        self.device_, self.rank_, self.world_size_ = self.device, 0, 1
        module.to(self.device)
        state = TrainingState(module, optimizer, self._generator(self.device), n_train=int(n_train))
        fit = FitContext(self, state, self.device, None)
        self.engine_ = runner.engine
        return self._run(fit, runner, validator, None, 0, [])

    def _generator(self, device: torch.device) -> torch.Generator:
        """The fit's generator: seeded by ``random_state``, else freshly."""
        gen = torch.Generator(device=device)
        if self.random_state is None:
            gen.seed()
        else:
            gen.manual_seed(int(self.random_state))
        return gen

    def _run(
        self,
        fit: FitContext,
        runner: EpochRunner,
        validator: Validator | None,
        ckpt: Path | None,
        start: int,
        dropouts: list[GeneratorDropout],
    ) -> History:
        """The epochs from ``start`` (under ``n_threads``), then the best weights back."""
        state, module = fit.state, fit.state.module
        # A run that early stopping or a callback ended stays ended when resumed.
        self.stopped_early_ = state.best.stopped
        if self.stopped_early_:
            start = self.epochs

        threads_before = torch.get_num_threads()
        if self.n_threads is not None:
            torch.set_num_threads(self.n_threads)
        try:
            EpochLoop(fit, validator, ckpt).run(runner, start)
        finally:
            for d in dropouts:
                d.generator = None
            torch.set_num_threads(threads_before)
        if fit.ctx is not None:
            # When fit returns on any rank, rank 0's last checkpoint is complete.
            ddp.barrier()
        if self.patience is not None and state.best.state is not None:
            module.load_state_dict(state.best.state)
        module.eval()
        self.stopped_early_ = state.best.stopped
        self.history_ = state.history
        self.best_epoch_ = state.best.epoch
        return state.history
