"""The feature encoder's training: its epochs, loss and optimizer, on the shared trainer.

The encoder's network takes one code per categorical column plus numeric columns and may
be a classifier, so it brings its own epoch runner (:class:`TabularEpochRunner`) and
validator (:class:`LossValidator`) to :meth:`embedlab.training.Trainer.fit_epochs`, which
runs the epochs as it does for the rating models: the history, the finite-loss check,
early stopping with the best epoch's weights put back, callbacks and progress.

Each epoch shuffles the training rows once (one gather of the whole table, then
contiguous batches: cheaper than a gather per batch), steps AdamW under a one-cycle
learning rate (from ``learning_rate / 10``, warm-up over the first quarter of the
planned steps, cosine decay to ``learning_rate / 1e4``; constant for runs of fewer
than 10 steps), and, when a validation slice is given, scores it; training
stops after ``patience`` epochs without a better validation loss and the best
epoch's weights are put back.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

__all__ = [
    "AUTO_DECAYS",
    "AdamW",
    "LossValidator",
    "Plan",
    "TabularEpochRunner",
    "TrainResult",
    "one_cycle",
    "plan_training",
    "train_tabular",
]

#: Optimizer steps the automatic epoch count aims at (between MIN_EPOCHS and MAX_EPOCHS).
#: Few enough that the one-cycle schedule runs to its end before early stopping cuts
#: it: with 2,000 steps, flights' 262,000 rows planned 35 epochs and stopped at 9,
#: still near the peak learning rate (the network's R² 0.9881); with 600 all 11 ran
#: and annealed (0.9888, 7.2 s instead of 5.4 s; hotel_rates and seattlepets alike).
TARGET_STEPS = 600
MIN_EPOCHS, MAX_EPOCHS = 8, 50
#: ``table_decay="auto"``'s candidates, the lower held-out loss kept. bench_tables (test
#: R², 5 HGB seeds; seattlepets log-loss): on flights decay 3 took the held-out loss from
#: 0.01064 to 0.01034, Ridge 0.98940 -> 0.98943 and boosting's mean 0.98919 -> 0.98940;
#: on hotel_rates (0.0579 -> 0.120) and seattlepets (0.5952 -> 0.5963) it hurt, and
#: the held-out loss says so on all three.
AUTO_DECAYS = (0.0, 3.0)
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

    def set_learning_rate(self, lr: float) -> None:
        """The trainer's per-epoch rate (a one-cycle runner sets its own per step)."""
        self.lr = float(lr)

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


class LossValidator:
    """The trainer's validator for the encoder: the mean loss of held-out rows."""

    names = ("val_loss",)
    label = "loss"

    def __init__(
        self,
        module: nn.Module,
        validation: tuple[np.ndarray, np.ndarray, torch.Tensor],
        task: str,
        device: torch.device,
    ) -> None:
        self.module, self.task = module, task
        self.codes = torch.as_tensor(validation[0], device=device)
        self.numeric = torch.as_tensor(validation[1], dtype=torch.float32, device=device)
        self.target = validation[2].to(device)

    def score(self) -> dict[str, float]:
        return {
            "val_loss": evaluate_loss(self.module, self.codes, self.numeric, self.target, self.task)
        }


class TabularEpochRunner:
    """The trainer's epoch runner for the encoder's network.

    Each epoch shuffles the rows once (one gather of the whole table, then contiguous
    batches: cheaper than a gather per batch) and steps :class:`AdamW` on the task's
    loss, with the one-cycle rate and beta1 set before every step (the trainer's
    per-epoch rate stays the constant ``learning_rate`` for runs too short to schedule).
    """

    engine = "torch"
    advice = "lower learning_rate or check X and y"

    def __init__(
        self,
        module: nn.Module,
        opt: AdamW,
        rows: tuple[np.ndarray, np.ndarray, torch.Tensor],
        *,
        task: str,
        epochs: int,
        batch_size: int,
        learning_rate: float,
        generator: torch.Generator,
        device: torch.device,
    ) -> None:
        self.module, self.opt, self.task = module, opt, task
        self.gen, self.device = generator, device
        self.codes = torch.as_tensor(rows[0], device=device)
        self.numeric = torch.as_tensor(rows[1], dtype=torch.float32, device=device)
        self.target = rows[2].to(device)
        self.loss_fn = _loss_fn(task)
        self.n, self.batch = len(rows[0]), int(batch_size)
        self.n_batches = max(1, math.ceil(self.n / self.batch))
        self.total_steps = int(epochs) * self.n_batches
        self.scheduled = self.total_steps >= MIN_SCHEDULED_STEPS
        self.learning_rate = float(learning_rate)
        self.step_index = 0

    def run_epoch(self, epoch: int, lr: float, advance: Callable[[int], None]) -> float:
        """One pass over the shuffled rows; the summed loss (loss × rows per batch)."""
        n, batch, opt = self.n, self.batch, self.opt
        order = torch.randperm(n, generator=self.gen).to(self.device)
        e_codes, e_num, e_target = self.codes[order], self.numeric[order], self.target[order]
        total = torch.zeros((), device=self.device)
        for start in range(0, n, batch):
            stop = start + batch
            out = self.module(e_codes[start:stop], e_num[start:stop])
            loss = self.loss_fn(_out(out, self.task), e_target[start:stop])
            opt.zero_grad()
            loss.backward()
            if self.scheduled:
                opt.lr, opt.beta1 = one_cycle(self.step_index, self.total_steps, self.learning_rate)
            opt.step()
            self.step_index += 1
            total += loss.detach() * (min(stop, n) - start)
        advance(self.n_batches)
        return float(total)


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
    """Train ``module`` in place on ``device`` through the shared
    :class:`~embedlab.training.Trainer` (:meth:`~embedlab.training.Trainer.fit_epochs`);
    the per-epoch losses and the best epoch.

    ``task``: ``"regression"`` (MSE of the single output against standardized floats),
    ``"binary"`` (logistic loss of the single output against 0/1 floats) or
    ``"multiclass"`` (cross-entropy of the logits against class codes). With
    ``validation`` (codes, numeric, target of held-out rows), training stops after
    ``patience`` epochs without a lower validation loss and the weights of the best
    epoch are restored; without it every epoch runs and the last one counts.
    ``table_decay``: AdamW's decoupled weight decay on the embedding and bias tables.

    Raises:
        TrainingDivergedError: If an epoch's loss or the validation loss is NaN or infinite.
    """
    from embedlab.training import Trainer

    tables = [p for name, p in module.named_parameters() if not name.startswith("mlp.")]
    rest = [p for name, p in module.named_parameters() if name.startswith("mlp.")]
    # decoupled weight decay on the per-level rows only: a level's rows shrink toward 0
    # (the mean) at every step and only its own rows' gradients pull them back, so rare
    # levels shrink the most (as ridge shrinks rare one-hot coefficients)
    opt = AdamW([(tables, float(table_decay)), (rest, 0.0)], lr=float(learning_rate))
    module.to(device)
    runner = TabularEpochRunner(
        module,
        opt,
        (codes, numeric, target),
        task=task,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        generator=generator,
        device=device,
    )
    trainer = Trainer(
        epochs=int(epochs),
        batch_size=int(batch_size),
        learning_rate=float(learning_rate),
        patience=int(patience) if validation is not None else None,
        progress=False,
        random_state=0,
        device=device,
        distributed=False,
    )
    validator = None if validation is None else LossValidator(module, validation, task, device)
    history = trainer.fit_epochs(
        module, runner, optimizer=opt, n_train=len(codes), validator=validator
    )
    result = TrainResult(history=[float(r["train_loss"]) for r in history])
    if validator is not None:
        result.val_history = [float(r["val_loss"]) for r in history]
    result.best_epoch = trainer.best_epoch_ or len(history)
    return result
