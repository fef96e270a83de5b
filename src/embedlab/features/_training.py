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

__all__ = ["AdamW", "Plan", "TrainResult", "one_cycle", "plan_training", "train_tabular"]

#: Optimizer steps the automatic epoch count aims at (between MIN_EPOCHS and MAX_EPOCHS).
#: Few enough that the one-cycle schedule runs to its end before early stopping cuts
#: it: with 2,000 steps, flights' 262,000 rows planned 35 epochs and stopped at 9,
#: still near the peak learning rate (the network's R² 0.9881); with 600 all 11 ran
#: and annealed (0.9888, 7.2 s instead of 5.4 s; hotel_rates and seattlepets alike).
TARGET_STEPS = 600
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
    about :data:`TARGET_STEPS` steps (8 to 50), so that the schedule anneals; early
    stopping ends sooner when the validation loss turns up. The validation slice is ``validation_fraction`` of the rows when that makes at least
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


#: The one-cycle schedule: warm-up share of the steps; the first learning rate is
#: ``learning_rate / DIV_START`` and the last that divided by ``DIV_FINAL`` (torch's
#: ``div_factor`` and ``final_div_factor``); Adam's beta1 at the ends and at the peak.
WARMUP = 0.25
DIV_START, DIV_FINAL = 10.0, 1e3
BETA1_OUTER, BETA1_PEAK = 0.95, 0.85


def _cos(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def one_cycle(step: int, total: int, max_lr: float) -> tuple[float, float]:
    """The learning rate and Adam's beta1 at ``step`` (0-based) of ``total``.

    torch's ``OneCycleLR(max_lr, total_steps=total, pct_start=0.25, div_factor=10,
    final_div_factor=1e3)`` (cosine, momentum cycled 0.95 -> 0.85 -> 0.95), computed
    the same way (tested against it).
    """
    first = max_lr / DIV_START
    last = first / DIV_FINAL
    phases = (
        (float(WARMUP * total) - 1, first, max_lr, BETA1_OUTER, BETA1_PEAK),
        (total - 1, max_lr, last, BETA1_PEAK, BETA1_OUTER),
    )
    start = 0.0
    for i, (end, lr0, lr1, b0, b1) in enumerate(phases):
        if step <= end or i == len(phases) - 1:
            pct = (step - start) / (end - start)
            return _cos(lr0, lr1, pct), _cos(b0, b1, pct)
        start = end
    raise AssertionError("unreachable: the last phase always answers")  # pragma: no cover


class AdamW:
    """torch's ``AdamW`` update (its single-tensor path: decoupled weight decay, bias
    corrections), written out over parameter groups ``(params, weight_decay)``.

    Not ``torch.optim.AdamW`` itself: creating any torch optimizer imports
    ``torch._dynamo`` (1.3-2 s, once per process), which every ``embedlab features fit``
    would pay for a loop that never compiles. Same arithmetic in the same order (tested
    bit for bit against torch's AdamW with ``OneCycleLR``). ``lr`` and ``beta1`` are set
    before each :meth:`step` (see :func:`one_cycle`).
    """

    def __init__(
        self,
        groups: list[tuple[list[torch.Tensor], float]],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.groups = groups
        self.lr = float(lr)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self._state: dict[int, tuple[list[float], torch.Tensor, torch.Tensor]] = {}

    def zero_grad(self) -> None:
        for params, _decay in self.groups:
            for p in params:
                p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        lr, beta1, beta2 = self.lr, self.beta1, self.beta2
        for params, decay in self.groups:
            for p in params:
                grad = p.grad
                if grad is None:
                    continue
                state = self._state.get(id(p))
                if state is None:
                    zeros = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state = self._state[id(p)] = ([0.0], zeros, zeros.clone())
                count, exp_avg, exp_avg_sq = state
                count[0] += 1.0  # torch's float32 step tensor, exact for any count here
                if decay != 0:
                    p.mul_(1 - lr * decay)
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                step = count[0]
                step_size = lr / (1 - beta1**step)
                denom = (exp_avg_sq.sqrt() / (1 - beta2**step) ** 0.5).add_(self.eps)
                p.addcdiv_(exp_avg, denom, value=-step_size)


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
    opt = AdamW([(tables, float(table_decay)), (rest, 0.0)], lr=float(learning_rate))
    n = len(codes)
    batch = int(batch_size)
    steps = max(1, math.ceil(n / batch))
    total_steps = int(epochs) * steps
    scheduled = total_steps >= MIN_SCHEDULED_STEPS
    step_index = 0
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
            opt.zero_grad()
            loss.backward()
            if scheduled:
                opt.lr, opt.beta1 = one_cycle(step_index, total_steps, float(learning_rate))
            opt.step()
            step_index += 1
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
