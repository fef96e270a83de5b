"""Optimizers that update only the embedding rows a batch touches, and learning-rate schedules.

``"adam"`` is lazy Adam: :class:`LazyAdam` for the sparse embedding and bias
tables (moments and rows change only where the batch has gradient; the update is
``torch.optim.SparseAdam``'s, computed with index ops instead of sparse tensors,
several times faster on the CPU) plus ``torch.optim.Adam`` for the dense
parameters (``global_bias``, MLP layers).
``"adagrad"`` and ``"sgd"`` are torch's ``Adagrad`` and ``SGD``, which apply
sparse gradients row by row. When gradients of the tables are dense (``l2_mode=
"table"``, or modules built with ``sparse=False``), ``"adam"`` is dense Adam over
every parameter, which is what Keras does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "LazyAdam",
    "MultiOptimizer",
    "build_optimizer",
    "learning_rate_at",
    "sparse_parameters",
]

#: Optimizer names the trainer accepts.
OPTIMIZERS = ("adam", "adagrad", "sgd")
#: Schedule names (or pass a callable ``epoch -> factor``).
SCHEDULES = (None, "step", "exponential", "cosine")


def sparse_parameters(module: nn.Module) -> set[int]:
    """``id`` of every weight of a sparse ``nn.Embedding`` in ``module``."""
    return {id(m.weight) for m in module.modules() if isinstance(m, nn.Embedding) and m.sparse}


def _undecorated(name: str) -> Callable[..., Any]:
    method = getattr(torch.optim.Optimizer, name)
    return getattr(method, "__wrapped__", method)


class _WithoutDynamo:
    """torch wraps these ``Optimizer`` methods in ``torch._disable_dynamo``, which imports
    ``torch._dynamo`` at the first call (about 1 s, once per process: a tenth of a default
    neural fit on ML-1M). embedlab never compiles its optimizers, so its own call the
    methods underneath directly; the arithmetic is the same."""

    add_param_group = _undecorated("add_param_group")
    state_dict = _undecorated("state_dict")
    load_state_dict = _undecorated("load_state_dict")
    zero_grad = _undecorated("zero_grad")


class DenseAdam(_WithoutDynamo, torch.optim.Adam):
    """``torch.optim.Adam`` without the ``torch._dynamo`` import of :class:`_WithoutDynamo`."""


class LazyAdam(_WithoutDynamo, torch.optim.Optimizer):
    """Adam that updates only the rows a sparse gradient touches (``SparseAdam``'s rule).

    For a parameter with a sparse gradient, with ``t`` its step count, ``R`` the
    distinct rows of the gradient and ``g_r`` the summed gradient of row ``r``::

        m_r ← β1 m_r + (1 - β1) g_r          v_r ← β2 v_r + (1 - β2) g_r²
        w_r ← w_r - lr · sqrt(1 - β2^t) / (1 - β1^t) · m_r / (sqrt(v_r) + ε)

    for ``r`` in ``R`` only; every other row, and its moments, stays bitwise the
    same. A dense gradient updates every row by the same rule.
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                t = float(state["step"])
                step_size = lr * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                if grad.is_sparse:
                    flat = grad._indices()[0]
                    values = grad._values()
                    rows, inverse = _distinct_rows(flat, p.shape[0])
                    g = torch.zeros(
                        (len(rows), *values.shape[1:]), dtype=values.dtype, device=values.device
                    )
                    g.index_add_(0, inverse, values)
                    m = exp_avg.index_select(0, rows).mul_(beta1).add_(g, alpha=1.0 - beta1)
                    v = (
                        exp_avg_sq.index_select(0, rows)
                        .mul_(beta2)
                        .addcmul_(g, g, value=1.0 - beta2)
                    )
                    exp_avg.index_copy_(0, rows, m)
                    exp_avg_sq.index_copy_(0, rows, v)
                    p.index_add_(0, rows, m / v.sqrt_().add_(eps), alpha=-step_size)
                else:
                    exp_avg.mul_(beta1).add_(grad, alpha=1.0 - beta1)
                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
                    p.addcdiv_(exp_avg, exp_avg_sq.sqrt().add_(eps), value=-step_size)
        return loss


def _distinct_rows(flat: torch.Tensor, n_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.unique(flat, return_inverse=True)``, by counting when the table is small.

    Counting costs ``O(len(flat) + n_rows)`` against the sort's
    ``O(len(flat) log len(flat))``: about 3x faster for a batch of 5,000 over a
    table of a few thousand rows, slower for tables far larger than the batch.
    """
    if n_rows > 8 * flat.numel():
        return torch.unique(flat, return_inverse=True)
    rows = torch.bincount(flat, minlength=n_rows).nonzero().squeeze(1)
    position = torch.empty(n_rows, dtype=torch.long, device=flat.device)
    position[rows] = torch.arange(len(rows), device=flat.device)
    return rows, position[flat]


class MultiOptimizer:
    """Several torch optimizers stepped together (sparse tables + dense layers)."""

    def __init__(self, optimizers: list[torch.optim.Optimizer]) -> None:
        self.optimizers = optimizers

    def zero_grad(self) -> None:
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=True)

    def step(self) -> None:
        for opt in self.optimizers:
            opt.step()

    def set_learning_rate(self, lr: float) -> None:
        for opt in self.optimizers:
            for group in opt.param_groups:
                group["lr"] = lr

    def state_dict(self) -> list[dict[str, Any]]:
        return [opt.state_dict() for opt in self.optimizers]

    def load_state_dict(self, states: list[dict[str, Any]]) -> None:
        if len(states) != len(self.optimizers):
            raise ValueError(
                f"optimizer state holds {len(states)} optimizers, expected {len(self.optimizers)}"
            )
        for opt, state in zip(self.optimizers, states, strict=True):
            opt.load_state_dict(state)


def build_optimizer(
    module: nn.Module, name: str, learning_rate: float, *, dense_tables: bool
) -> MultiOptimizer:
    """The optimizer(s) for ``module``; ``dense_tables`` when table gradients are dense.

    Raises:
        ValueError: For an unknown ``name``.
    """
    params = [p for p in module.parameters() if p.requires_grad]
    sparse_ids = set() if dense_tables else sparse_parameters(module)
    sparse = [p for p in params if id(p) in sparse_ids]
    dense = [p for p in params if id(p) not in sparse_ids]
    if name == "adam":
        opts: list[torch.optim.Optimizer] = []
        if sparse:
            opts.append(LazyAdam(sparse, lr=learning_rate))
        if dense:
            # fused: one kernel for all dense parameters instead of ~12 small ops each
            # (same arithmetic; measured ~20 % off an epoch of the course's network).
            opts.append(DenseAdam(dense, lr=learning_rate, fused=True))
        return MultiOptimizer(opts)
    if name == "adagrad":
        return MultiOptimizer([torch.optim.Adagrad(params, lr=learning_rate)])
    if name == "sgd":
        return MultiOptimizer([torch.optim.SGD(params, lr=learning_rate)])
    raise ValueError(f"optimizer={name!r}: expected one of {', '.join(map(repr, OPTIMIZERS))}")


def learning_rate_at(
    epoch: int,
    learning_rate: float,
    schedule: str | Callable[[int], float] | None,
    *,
    epochs: int,
    lr_gamma: float,
    lr_step_size: int,
) -> float:
    """The learning rate of 0-based ``epoch``; it changes only between epochs.

    * ``None``: constant ``learning_rate``.
    * ``"step"``: ``learning_rate · lr_gamma ** (epoch // lr_step_size)``.
    * ``"exponential"``: ``learning_rate · lr_gamma ** epoch``.
    * ``"cosine"``: ``learning_rate · (1 + cos(π · epoch / epochs)) / 2``.
    * a callable ``f``: ``learning_rate · f(epoch)``.
    """
    if schedule is None:
        factor = 1.0
    elif callable(schedule):
        factor = float(schedule(epoch))
    elif schedule == "step":
        factor = lr_gamma ** (epoch // lr_step_size)
    elif schedule == "exponential":
        factor = lr_gamma**epoch
    elif schedule == "cosine":
        factor = 0.5 * (1.0 + math.cos(math.pi * epoch / max(epochs, 1)))
    else:
        raise ValueError(
            f"schedule={schedule!r}: expected None, 'step', 'exponential', 'cosine' or a callable epoch -> factor"
        )
    return learning_rate * factor


# ------------------------------------------------------------ state <-> safetensors
def flatten_optimizer_state(
    states: list[dict[str, Any]],
) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]]:
    """Split optimizer state dicts into tensors (for safetensors) and a JSON structure."""
    tensors: dict[str, torch.Tensor] = {}
    structure: list[dict[str, Any]] = []
    for k, sd in enumerate(states):
        state_json: dict[str, dict[str, Any]] = {}
        for pid, entries in sd["state"].items():
            row: dict[str, Any] = {}
            for key, value in entries.items():
                if isinstance(value, torch.Tensor):
                    name = f"opt{k}.{pid}.{key}"
                    tensors[name] = value.detach().to("cpu").contiguous().clone()
                    row[key] = {"tensor": name}
                else:
                    row[key] = {"value": value}
            state_json[str(pid)] = row
        structure.append({"state": state_json, "param_groups": sd["param_groups"]})
    return tensors, structure


def unflatten_optimizer_state(
    tensors: dict[str, torch.Tensor], structure: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Inverse of :func:`flatten_optimizer_state`."""
    states = []
    for entry in structure:
        state = {
            int(pid): {
                key: tensors[v["tensor"]] if "tensor" in v else v["value"] for key, v in row.items()
            }
            for pid, row in entry["state"].items()
        }
        groups = [
            {key: tuple(v) if key == "betas" else v for key, v in group.items()}
            for group in entry["param_groups"]
        ]
        states.append({"state": state, "param_groups": groups})
    return states
