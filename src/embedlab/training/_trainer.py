"""One torch trainer for both module families (matrix factorization and the neural model)."""

from __future__ import annotations

import json
import math
import numbers
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from embedlab._io import atomic_write_text
from embedlab.exceptions import DataError, TrainingDivergedError
from embedlab.nn._neural import GeneratorDropout
from embedlab.training import _distributed as ddp
from embedlab.training._callbacks import Callback, as_callbacks
from embedlab.training._cpu_neural import ENGINES, CompiledNeuralEpochs, compiled_unsupported
from embedlab.training._history import History
from embedlab.training._optim import (
    OPTIMIZERS,
    SCHEDULES,
    MultiOptimizer,
    build_optimizer,
    flatten_optimizer_state,
    learning_rate_at,
    sparse_parameters,
    unflatten_optimizer_state,
)

__all__ = ["L2_MODES", "Trainer", "evaluate", "predict", "resolve_device"]

#: The two L2 semantics (see :class:`Trainer`).
L2_MODES = ("batch", "table")
_CHECKPOINT_FORMAT = 1
_LATEST = "latest.json"


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


def _module_device(module: nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def _arrays(data: Any, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(users, items, ratings)`` from an ``Interactions`` or a 3-tuple of arrays."""
    if hasattr(data, "user_index") and hasattr(data, "item_index") and hasattr(data, "rating"):
        u, i, r = data.user_index, data.item_index, data.rating
    else:
        try:
            u, i, r = data
        except (TypeError, ValueError):
            raise DataError(
                f"{what}: expected Interactions or a tuple (user_index, item_index, rating) of arrays, "
                f"got {type(data).__name__}"
            ) from None
    u, i, r = np.asarray(u), np.asarray(i), np.asarray(r, dtype=np.float32)
    if not (u.ndim == i.ndim == r.ndim == 1 and len(u) == len(i) == len(r)):
        raise DataError(
            f"{what}: user_index, item_index and rating must be 1-D and equally long, got shapes "
            f"{u.shape}, {i.shape}, {r.shape}"
        )
    if u.dtype.kind not in "iu" or i.dtype.kind not in "iu":
        raise DataError(
            f"{what}: user_index and item_index must be integer arrays, got {u.dtype} and {i.dtype}"
        )
    if not np.isfinite(r).all():
        raise DataError(f"{what}: ratings contain NaN or infinite values")
    return u, i, r


def _check_range(u: np.ndarray, i: np.ndarray, module: nn.Module, what: str) -> None:
    for arr, n, name in (
        (u, getattr(module, "n_users", None), "user"),
        (i, getattr(module, "n_items", None), "item"),
    ):
        if arr.size and (arr.min() < 0 or (n is not None and arr.max() >= n)):
            raise DataError(
                f"{what}: {name} indices span {arr.min()}..{arr.max()}, but the module has {n} {name} rows"
            )


def _tensor(arr: np.ndarray, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    # A copy: the caller's arrays may be read-only (Interactions' are), which torch warns about.
    return torch.from_numpy(np.array(arr, copy=True)).to(device=device, dtype=dtype)


def predict(
    module: nn.Module,
    users: Any,
    items: Any,
    *,
    batch_size: int = 1 << 16,
) -> np.ndarray:
    """Scores of ``module`` for index pairs, in batches, under ``torch.inference_mode()``.

    Returns:
        A float32 NumPy array, one score per pair (dropout off).
    """
    device = _module_device(module)
    u = _tensor(np.asarray(users), torch.long, device)
    i = _tensor(np.asarray(items), torch.long, device)
    return _predict_tensors(module, u, i, batch_size).cpu().numpy()


def _predict_tensors(
    module: nn.Module, u: torch.Tensor, i: torch.Tensor, batch_size: int
) -> torch.Tensor:
    was_training = module.training
    module.eval()
    try:
        with torch.inference_mode():
            out = [
                module(u[s : s + batch_size], i[s : s + batch_size])
                for s in range(0, len(u), batch_size)
            ]
            return torch.cat(out) if out else torch.empty(0, device=u.device)
    finally:
        module.train(was_training)


def evaluate(module: nn.Module, data: Any, *, batch_size: int = 1 << 16) -> dict[str, float]:
    """``{"rmse": ..., "mae": ...}`` of ``module`` on ``Interactions`` or ``(users, items, ratings)``."""
    u, i, r = _arrays(data, "data")
    device = _module_device(module)
    pred = _predict_tensors(
        module, _tensor(u, torch.long, device), _tensor(i, torch.long, device), batch_size
    )
    return _metrics(pred, _tensor(r, torch.float32, device))


def _metrics(pred: torch.Tensor, r: torch.Tensor) -> dict[str, float]:
    err = (pred - r).double()
    return {"rmse": float(err.square().mean().sqrt()), "mae": float(err.abs().mean())}


def _check_same_data(
    u: np.ndarray,
    i: np.ndarray,
    r: np.ndarray,
    val: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    device: torch.device,
) -> None:
    """Raise unless every data-parallel rank passed the same training and validation data."""
    summary = [float(len(r)), float(u.sum()), float(i.sum()), float(r.astype(np.float64).sum())]
    if val is not None:
        summary += [float(len(val[2])), float(val[0].sum()), float(val[1].sum())]
        summary.append(float(val[2].astype(np.float64).sum()))
    else:
        summary += [-1.0, 0.0, 0.0, 0.0]
    if not ddp.same_on_all_ranks(summary, device):
        raise DataError(
            f"distributed training: the ranks passed different data (this rank: {len(r)} training "
            "ratings); every rank must load the same dataset and split it the same way (same seed)"
        )


def _positive_int(name: str, value: Any) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}={value!r}: expected an integer >= 1")
    return int(value)


def _nonneg(name: str, value: Any) -> float:
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name}={value!r}: expected a finite number >= 0")
    return float(value)


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
        num_threads: CPU threads torch may use during :meth:`fit` (restored
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
        num_threads: int | None = None,
        distributed: bool | str = "auto",
        engine: str = "auto",
    ) -> None:
        self.epochs = _positive_int("epochs", epochs)
        self.batch_size = _positive_int("batch_size", batch_size)
        if not (
            isinstance(learning_rate, numbers.Real)
            and math.isfinite(learning_rate)
            and learning_rate > 0
        ):
            raise ValueError(f"learning_rate={learning_rate!r}: expected a finite number > 0")
        self.learning_rate = float(learning_rate)
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
        self.num_threads = (
            None if num_threads is None else _positive_int("num_threads", num_threads)
        )
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

    def _penalty(
        self, module: nn.Module, rows: dict[str, torch.Tensor], b: int, world_size: int = 1
    ) -> torch.Tensor | None:
        # Data-parallel: ``b`` is the global batch, and each of the ``world_size`` ranks
        # adds 1/world_size of the whole-table penalty, so the summed gradients match.
        terms: list[torch.Tensor] = []
        if self.l2_mode == "batch":
            for key, lam in (
                ("user", self.l2_user),
                ("item", self.l2_item),
                ("user_bias", self.l2_bias),
                ("item_bias", self.l2_bias),
            ):
                if lam > 0 and key in rows:
                    terms.append(rows[key].square().sum() * (lam / b))
        else:
            for name, lam in (
                ("user_embedding", self.l2_user),
                ("item_embedding", self.l2_item),
                ("user_bias", self.l2_bias),
                ("item_bias", self.l2_bias),
            ):
                table = getattr(module, name, None)
                if lam > 0 and table is not None:
                    terms.append(table.weight.square().sum() * (lam / world_size))
        return sum(terms[1:], terms[0]) if terms else None

    def _compiled_epochs(
        self, module: nn.Module, opt: MultiOptimizer, device: torch.device, distributed: bool
    ) -> CompiledNeuralEpochs | None:
        """The compiled epoch runner when ``engine`` asks for it and it applies."""
        if self.engine == "torch":
            return None
        why = compiled_unsupported(
            module,
            optimizer=self.optimizer,
            l2_mode=self.l2_mode,
            device=device,
            distributed=distributed,
        )
        if why is not None:
            if self.engine == "compiled":
                raise ValueError(
                    f"engine='compiled' cannot train this model: {why}; use engine='torch' or 'auto'"
                )
            return None
        lazy, dense = opt.optimizers[0], (opt.optimizers[1] if len(opt.optimizers) > 1 else None)
        return CompiledNeuralEpochs(
            module,
            lazy,
            dense,
            l2_user=self.l2_user,
            l2_item=self.l2_item,
            l2_bias=self.l2_bias,
            batch_size=self.batch_size,
            num_threads=self.num_threads,
        )

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
        u_np, i_np, r_np = _arrays(train, "train")
        if len(r_np) == 0:
            raise DataError("train: no ratings to train on")
        _check_range(u_np, i_np, module, "train")
        val = None
        if validation is not None:
            val = _arrays(validation, "validation")
            _check_range(val[0], val[1], module, "validation")
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
        rank, world = (ctx.rank, ctx.world_size) if ctx is not None else (0, 1)
        self.device_ = device
        self.rank_, self.world_size_ = rank, world
        module.to(device)
        dense_tables = self.l2_mode == "table"
        opt = build_optimizer(module, self.optimizer, self.learning_rate, dense_tables=dense_tables)
        gen = torch.Generator(device=device)
        if self.random_state is None:
            gen.seed()
        else:
            gen.manual_seed(int(self.random_state))
        seed = 0
        if ctx is not None:
            _check_same_data(u_np, i_np, r_np, val, device)
            seed = ddp.broadcast_seed(self.random_state, device)
            ddp.broadcast_module(module)
        dropouts = [m for m in module.modules() if isinstance(m, GeneratorDropout)]
        for d in dropouts:
            d.generator = gen
        compiled = self._compiled_epochs(module, opt, device, ctx is not None)
        self.engine_ = "torch" if compiled is None else "compiled"

        history = History()
        start = 0
        best: dict[str, Any] = {
            "rmse": math.inf,
            "epoch": None,
            "state": None,
            "wait": 0,
            "stopped": False,
        }
        ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
        if ckpt is not None:
            latest = ckpt / _LATEST
            if latest.exists():
                if not resume:
                    raise ValueError(
                        f"checkpoint_dir={str(ckpt)!r} already holds a checkpoint; pass resume=True to "
                        "continue it or choose an empty folder"
                    )
                start, history, best = self._load_checkpoint(ckpt, module, opt, gen, len(r_np))
        if ctx is not None and not ddp.same_on_all_ranks([float(start)], device):
            raise ValueError(
                f"checkpoint_dir={str(ckpt)!r}: the ranks found different checkpoints (this rank: epoch "
                f"{start}); put checkpoints on a folder every rank sees"
            )

        U = _tensor(u_np, torch.long, device)
        Ii = _tensor(i_np, torch.long, device)
        R = _tensor(r_np, torch.float32, device)
        if val is not None:
            # Data-parallel: every rank scores its stride of the validation rows.
            Uv, Iv, Rv = (
                _tensor(val[0][rank::world], torch.long, device),
                _tensor(val[1][rank::world], torch.long, device),
                _tensor(val[2][rank::world], torch.float32, device),
            )
            n_val = len(val[2])
        n, bs = len(R), self.batch_size
        n_batches = (n + bs * world - 1) // (bs * world)
        params = [p for p in module.parameters() if p.requires_grad]
        sparse_ids = set() if dense_tables else sparse_parameters(module)
        # A run that early stopping or a callback ended stays ended when resumed.
        self.stopped_early_ = bool(best["stopped"])
        if self.stopped_early_:
            start = self.epochs

        progress = _progress(self.progress and rank == 0)
        threads_before = torch.get_num_threads()
        if self.num_threads is not None:
            torch.set_num_threads(self.num_threads)
        # Adagrad builds sparse tensors from coalesced gradients; opting out of the
        # invariant checks explicitly (they cost time and the inputs are valid) also
        # silences torch's warning that they are implicitly off.
        try:
            with progress, torch.sparse.check_sparse_tensor_invariants(enable=False):
                task = progress.add_task("training", total=(self.epochs - start) * n_batches)
                for epoch in range(start, self.epochs):
                    t0 = time.perf_counter()
                    lr = self.learning_rate_at(epoch)
                    opt.set_learning_rate(lr)
                    module.train()
                    if compiled is not None:
                        perm = torch.randperm(n, generator=gen, device=device).numpy()
                        mask_seed = (
                            int(torch.randint(0, 2**62, (1,), generator=gen))
                            if compiled.dropout > 0
                            else 0
                        )
                        total = compiled.run_epoch(
                            u_np[perm], i_np[perm], r_np[perm], lr, mask_seed
                        )
                        progress.update(task, advance=n_batches)
                        steps = []
                    elif ctx is None:
                        perm = torch.randperm(n, generator=gen, device=device)
                        steps = [(perm[s : s + bs], 0) for s in range(0, n, bs)]
                    else:
                        gen.manual_seed(ddp.dropout_seed(seed, epoch, rank))
                        perm = ddp.epoch_permutation(n, seed, epoch, device)
                        steps = ddp.shard_batches(perm, bs, rank, world)
                    if compiled is None:
                        total = torch.zeros((), dtype=torch.float64, device=device)
                    progress.update(task, description=f"epoch {epoch + 1}/{self.epochs}")
                    for rows_idx, b_global in steps:
                        ub, ib, rb = U[rows_idx], Ii[rows_idx], R[rows_idx]
                        b = len(rb)
                        pred, rows = module.forward_rows(ub, ib)
                        if ctx is None:
                            mse = (pred - rb).square().mean()
                            penalty = self._penalty(module, rows, b)
                            loss = mse if penalty is None else mse + penalty
                        else:
                            # This rank's share of the global batch's mean (summed over ranks).
                            sse = (pred - rb).square().sum()
                            penalty = self._penalty(module, rows, b_global, world)
                            loss = sse / b_global if penalty is None else sse / b_global + penalty
                        opt.zero_grad()
                        loss.backward()
                        if dense_tables:
                            for p in params:
                                if p.grad is not None and p.grad.is_sparse:
                                    p.grad = p.grad.to_dense()
                        if ctx is not None:
                            ddp.all_reduce_gradients(
                                params, sparse_ids, (b_global + world - 1) // world
                            )
                        opt.step()
                        if ctx is None:
                            total += mse.detach().double() * b
                        else:
                            total += sse.detach().double()
                        progress.advance(task)
                    if ctx is None:
                        train_loss = float(total) / n
                    else:
                        train_loss = ddp.all_reduce_sum([float(total)], device)[0] / n
                    record: dict[str, Any] = {
                        "epoch": epoch + 1,
                        "train_loss": train_loss,
                        "val_rmse": None,
                        "val_mae": None,
                    }
                    if not math.isfinite(train_loss):
                        raise TrainingDivergedError(
                            f"the training loss became {train_loss} in epoch {epoch + 1} "
                            f"(optimizer={self.optimizer!r}, learning_rate={lr:g}); lower learning_rate "
                            "(e.g. by 10x) or raise the L2 strengths"
                        )
                    if val is not None and n_val:
                        if ctx is None:
                            m = _metrics(_predict_tensors(module, Uv, Iv, self.eval_batch_size), Rv)
                        else:
                            err = (
                                _predict_tensors(module, Uv, Iv, self.eval_batch_size) - Rv
                            ).double()
                            sq, ab = ddp.all_reduce_sum(
                                [float(err.square().sum()), float(err.abs().sum())], device
                            )
                            m = {"rmse": math.sqrt(sq / n_val), "mae": ab / n_val}
                        if not math.isfinite(m["rmse"]):
                            raise TrainingDivergedError(
                                f"the validation RMSE became {m['rmse']} in epoch {epoch + 1}; "
                                f"lower learning_rate (now {lr:g})"
                            )
                        record["val_rmse"], record["val_mae"] = m["rmse"], m["mae"]
                    seconds = time.perf_counter() - t0
                    if ctx is not None:
                        # The slowest rank's time, so the history is the same on every rank.
                        seconds = ddp.all_reduce_max([seconds], device)[0]
                    record["seconds"] = seconds
                    record["learning_rate"] = lr
                    history.append(record)

                    stop = False
                    if record["val_rmse"] is not None:
                        if record["val_rmse"] < best["rmse"] - self.min_delta:
                            best.update(rmse=record["val_rmse"], epoch=epoch + 1, wait=0)
                            if self.patience is not None:
                                best["state"] = {
                                    k: v.detach().clone() for k, v in module.state_dict().items()
                                }
                        else:
                            best["wait"] += 1
                            stop = self.patience is not None and best["wait"] >= self.patience
                    if self.callbacks:
                        logs = dict(record)
                        for cb in self.callbacks:
                            stop = bool(cb.on_epoch_end(epoch + 1, logs)) or stop
                    if ctx is not None:
                        # Any rank's callback stopping stops every rank.
                        stop = bool(ddp.all_reduce_max([float(stop)], device)[0])
                    best["stopped"] = stop
                    if ckpt is not None and rank == 0:
                        self._save_checkpoint(ckpt, epoch + 1, module, opt, gen, history, best, n)
                    desc = f"epoch {epoch + 1}/{self.epochs} loss {train_loss:.4f}"
                    if record["val_rmse"] is not None:
                        desc += f" val_rmse {record['val_rmse']:.4f}"
                    progress.update(task, description=desc)
                    if stop:
                        self.stopped_early_ = True
                        break
        finally:
            for d in dropouts:
                d.generator = None
            torch.set_num_threads(threads_before)
        if ctx is not None:
            # When fit returns on any rank, rank 0's last checkpoint is complete.
            ddp.barrier()
        if self.patience is not None and best["state"] is not None:
            module.load_state_dict(best["state"])
        module.eval()
        self.history_ = history
        self.best_epoch_ = best["epoch"]
        return history

    # ------------------------------------------------------------- checkpoints
    def _save_checkpoint(
        self,
        ckpt: Path,
        epoch: int,
        module: nn.Module,
        opt: MultiOptimizer,
        gen: torch.Generator,
        history: History,
        best: dict[str, Any],
        n_train: int,
    ) -> None:
        from safetensors.torch import save_file

        ckpt.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{epoch:04d}"
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=ckpt))
        try:
            save_file(_cpu_state(module.state_dict()), str(tmp / "model.safetensors"))
            opt_tensors, opt_structure = flatten_optimizer_state(opt.state_dict())
            opt_tensors["generator"] = gen.get_state().cpu()
            save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
            if best["state"] is not None:
                save_file(_cpu_state(best["state"]), str(tmp / "best.safetensors"))
            state = {
                "format": _CHECKPOINT_FORMAT,
                "epoch": epoch,
                "n_train": n_train,
                "module": type(module).__name__,
                "config": self._config(),
                "history": history.to_list(),
                "best": {
                    "rmse": best["rmse"] if math.isfinite(best["rmse"]) else None,
                    "epoch": best["epoch"],
                    "wait": best["wait"],
                    "stopped": bool(best["stopped"]),
                },
                "optimizer": opt_structure,
            }
            (tmp / "state.json").write_text(json.dumps(state, indent=1), encoding="utf-8")
            final = ckpt / name
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        atomic_write_text(ckpt / _LATEST, json.dumps({"epoch": epoch, "dir": name}))
        # Older epochs, and temporary folders a killed run left behind.
        for old in [*ckpt.glob("epoch-*"), *ckpt.glob(".epoch-*")]:
            if old.name != name and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)

    def _load_checkpoint(
        self,
        ckpt: Path,
        module: nn.Module,
        opt: MultiOptimizer,
        gen: torch.Generator,
        n_train: int,
    ) -> tuple[int, History, dict[str, Any]]:
        from safetensors.torch import load_file

        try:
            pointer = json.loads((ckpt / _LATEST).read_text(encoding="utf-8"))
            folder = ckpt / pointer["dir"]
            state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
            weights = load_file(str(folder / "model.safetensors"))
            opt_tensors = load_file(str(folder / "optimizer.safetensors"))
            best_state = (
                load_file(str(folder / "best.safetensors"))
                if (folder / "best.safetensors").exists()
                else None
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(
                f"checkpoint in {str(ckpt)!r} cannot be read ({exc}); remove the folder to start over"
            ) from None
        diffs = [
            f"{k}: checkpoint {state['config'].get(k)!r}, now {v!r}"
            for k, v in self._config().items()
            if state["config"].get(k) != v
        ]
        if state.get("n_train") != n_train:
            diffs.append(f"training ratings: checkpoint {state.get('n_train')}, now {n_train}")
        if state.get("module") != type(module).__name__:
            diffs.append(f"module: checkpoint {state.get('module')}, now {type(module).__name__}")
        if diffs:
            raise ValueError(
                f"checkpoint in {str(ckpt)!r} was written with other settings ({'; '.join(diffs)}); "
                "resume with the same settings or start in an empty folder"
            )
        device = _module_device(module)
        module.load_state_dict({k: v.to(device) for k, v in weights.items()})
        gen.set_state(opt_tensors.pop("generator"))
        states = unflatten_optimizer_state(opt_tensors, state["optimizer"])
        opt.load_state_dict(states)
        b = state["best"]
        best = {
            "rmse": math.inf if b["rmse"] is None else b["rmse"],
            "epoch": b["epoch"],
            "wait": b["wait"],
            "stopped": bool(b.get("stopped", False)),
            "state": None
            if best_state is None
            else {k: v.to(device) for k, v in best_state.items()},
        }
        return int(state["epoch"]), History(state["history"]), best


def _cpu_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}


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
