"""The feature encoder's training loop: tensors in memory, one-cycle Adam, early stopping.

:class:`embedlab.training.Trainer` fits squared error on (user, item) index pairs; the
encoder's network takes one code per categorical column plus numeric columns and may be
a classifier, so it keeps this small loop of its own.

Each epoch shuffles the training rows once (one gather of the whole table, then
contiguous batches: cheaper than a gather per batch), steps Adam under a one-cycle
learning rate (from ``learning_rate / 10``, warm-up over the first quarter of the
planned steps, cosine decay to ``learning_rate / 1e4``; constant for runs of fewer
than 10 steps), and, when a validation slice is given, scores it; training
stops after ``patience`` epochs without a better validation loss and the best
epoch's weights are put back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from embedlab.exceptions import TrainingDivergedError

__all__ = ["Plan", "TrainResult", "plan_training", "train_tabular"]

#: Optimizer steps the automatic epoch count aims at (between MIN_EPOCHS and MAX_EPOCHS).
TARGET_STEPS = 2000
MIN_EPOCHS, MAX_EPOCHS = 8, 50
#: Fewer planned steps than this train at the constant ``learning_rate`` (no schedule).
MIN_SCHEDULED_STEPS = 10
#: The smallest validation slice worth early stopping on.
MIN_VALIDATION_ROWS = 200


@dataclass(frozen=True)
class Plan:
    """Resolved sizes of one training run."""

    batch_size: int
    epochs: int
    n_validation: int


@dataclass
class TrainResult:
    history: list[float] = field(default_factory=list)
    val_history: list[float] = field(default_factory=list)
    best_epoch: int = 0


def auto_batch_size(n_rows: int) -> int:
    """About 64 steps per epoch, a power of two from 128 to 4,096."""
    return int(min(4096, max(128, 2 ** round(math.log2(max(n_rows, 1) / 64)))))


def plan_training(
    n_rows: int, *, batch_size: int | None, epochs: int | None, validation_fraction: float
) -> Plan:
    """Batch size, (maximum) epochs and validation rows for ``n_rows`` training rows.

    ``None`` sizes adapt to the rows: :func:`auto_batch_size`, and enough epochs for
    about :data:`TARGET_STEPS` steps (8 to 50; early stopping usually ends sooner). The
    validation slice is ``validation_fraction`` of the rows when that makes at least
    :data:`MIN_VALIDATION_ROWS` rows, else none (no early stopping).
    """
    n_val = round(n_rows * validation_fraction)
    if n_val < MIN_VALIDATION_ROWS or n_rows - n_val < MIN_VALIDATION_ROWS:
        n_val = 0
    n_fit = n_rows - n_val
    batch = int(batch_size) if batch_size is not None else auto_batch_size(n_fit)
    if epochs is None:
        steps = max(1, math.ceil(n_fit / batch))
        epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / steps)))
    return Plan(batch, int(epochs), n_val)


def _loss_fn(task: str) -> nn.Module:
    if task == "regression":
        return nn.MSELoss()
    if task == "binary":
        return nn.BCEWithLogitsLoss()
    return nn.CrossEntropyLoss()


def _out(out: torch.Tensor, task: str) -> torch.Tensor:
    return out if task == "multiclass" else out[:, 0]


def evaluate_loss(
    module: nn.Module,
    codes: torch.Tensor,
    numeric: torch.Tensor,
    target: torch.Tensor,
    task: str,
    chunk: int = 65536,
) -> float:
    """The mean loss of ``module`` on the given rows (no gradients)."""
    loss_fn = _loss_fn(task)
    loss_fn.reduction = "sum"
    total = 0.0
    module.eval()
    with torch.no_grad():
        for s in range(0, len(codes), chunk):
            out = module(codes[s : s + chunk], numeric[s : s + chunk])
            total += float(loss_fn(_out(out, task), target[s : s + chunk]))
    module.train()
    return total / max(len(codes), 1)


def train_tabular(
    module: nn.Module,
    codes: np.ndarray,
    numeric: np.ndarray,
    target: torch.Tensor,
    *,
    task: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    generator: torch.Generator,
    device: torch.device,
    validation: tuple[np.ndarray, np.ndarray, torch.Tensor] | None = None,
    patience: int = 3,
    table_decay: float = 0.0,
) -> TrainResult:
    """Train ``module`` in place on ``device``; the per-epoch losses and the best epoch.

    ``task``: ``"regression"`` (MSE of the single output against standardized floats),
    ``"binary"`` (logistic loss of the single output against 0/1 floats) or
    ``"multiclass"`` (cross-entropy of the logits against class codes). With
    ``validation`` (codes, numeric, target of held-out rows), training stops after
    ``patience`` epochs without a lower validation loss and the weights of the best
    epoch are restored; without it every epoch runs and the last one counts.
    ``table_decay``: AdamW's decoupled weight decay on the embedding and bias tables.

    Raises:
        TrainingDivergedError: If a batch's loss is NaN or infinite.
    """
    module.to(device)
    codes_t = torch.as_tensor(codes, device=device)
    num_t = torch.as_tensor(numeric, dtype=torch.float32, device=device)
    target = target.to(device)
    loss_fn = _loss_fn(task)
    tables = [p for name, p in module.named_parameters() if not name.startswith("mlp.")]
    rest = [p for name, p in module.named_parameters() if name.startswith("mlp.")]
    # decoupled weight decay on the per-level rows only: a level's rows shrink toward 0
    # (the mean) at every step and only its own rows' gradients pull them back, so rare
    # levels shrink the most (as ridge shrinks rare one-hot coefficients)
    opt = torch.optim.AdamW(
        [
            {"params": tables, "weight_decay": float(table_decay)},
            {"params": rest, "weight_decay": 0.0},
        ],
        lr=float(learning_rate),
    )
    n = len(codes)
    batch = int(batch_size)
    steps = max(1, math.ceil(n / batch))
    sched: torch.optim.lr_scheduler.LRScheduler | None = None
    if int(epochs) * steps >= MIN_SCHEDULED_STEPS:
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt,
            max_lr=float(learning_rate),
            total_steps=int(epochs) * steps,
            pct_start=0.25,
            div_factor=10.0,
            final_div_factor=1e3,
        )
    if validation is not None:
        v_codes = torch.as_tensor(validation[0], device=device)
        v_num = torch.as_tensor(validation[1], dtype=torch.float32, device=device)
        v_target = validation[2].to(device)
    result = TrainResult()
    best_loss, best_state, waited = math.inf, None, 0
    module.train()
    for epoch in range(int(epochs)):
        order = torch.randperm(n, generator=generator).to(device)
        e_codes, e_num, e_target = codes_t[order], num_t[order], target[order]
        total = torch.zeros((), device=device)
        for start in range(0, n, batch):
            stop = start + batch
            out = module(e_codes[start:stop], e_num[start:stop])
            loss = loss_fn(_out(out, task), e_target[start:stop])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            total += loss.detach() * (min(stop, n) - start)
        mean = float(total) / n
        if not math.isfinite(mean):
            raise TrainingDivergedError(
                f"loss became {mean} in epoch {epoch + 1}; "
                f"lower learning_rate (now {learning_rate}) or check X and y"
            )
        result.history.append(mean)
        if validation is None:
            result.best_epoch = epoch + 1
            continue
        v_loss = evaluate_loss(module, v_codes, v_num, v_target, task)
        result.val_history.append(v_loss)
        if v_loss < best_loss:
            best_loss, waited, result.best_epoch = v_loss, 0, epoch + 1
            best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        else:
            waited += 1
            if waited >= patience:
                break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return result
