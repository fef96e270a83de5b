"""The feature encoder's training loop: full-batch tensors, shuffled index batches, Adam.

:class:`embedlab.training.Trainer` fits squared error on (user, item) index pairs; the
encoder's network takes one code per categorical column plus numeric columns and may be
a classifier (cross-entropy), so it keeps this small loop of its own.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from embedlab.exceptions import TrainingDivergedError
from embedlab.nn import TabularModule

__all__ = ["train_tabular"]


def train_tabular(
    module: TabularModule,
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
) -> list[float]:
    """Train ``module`` in place on ``device``; return the mean training loss per epoch.

    Regression: MSE of the single output against ``target`` (standardized floats);
    classification: cross-entropy of the logits against ``target`` (class codes). Each
    epoch visits the rows in an order drawn from ``generator``.

    Raises:
        TrainingDivergedError: If a batch's loss is NaN or infinite.
    """
    module.to(device)
    codes_t = torch.as_tensor(codes, device=device)
    num_t = torch.as_tensor(numeric, dtype=torch.float32, device=device)
    target = target.to(device)
    loss_fn: nn.Module = nn.MSELoss() if task == "regression" else nn.CrossEntropyLoss()
    opt = torch.optim.Adam(module.parameters(), lr=float(learning_rate))
    n = len(codes)
    history: list[float] = []
    module.train()
    for epoch in range(int(epochs)):
        order = torch.randperm(n, generator=generator).to(device)
        total = 0.0
        for start in range(0, n, int(batch_size)):
            rows = order[start : start + int(batch_size)]
            out = module(codes_t[rows], num_t[rows])
            loss = loss_fn(out[:, 0] if task == "regression" else out, target[rows])
            if not torch.isfinite(loss):
                raise TrainingDivergedError(
                    f"loss became {loss.item()} in epoch {epoch + 1}; "
                    f"lower learning_rate (now {learning_rate}) or check X and y"
                )
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(rows)
        history.append(total / n)
    module.eval()
    return history
