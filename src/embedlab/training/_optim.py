"""Optimizers that update only the embedding rows a batch touches, and learning-rate schedules.

``"adam"`` is lazy Adam: ``torch.optim.SparseAdam`` for the sparse embedding and
bias tables (moments and rows change only where the batch has gradient) plus
``torch.optim.Adam`` for the dense parameters (``global_bias``, MLP layers).
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
            opts.append(torch.optim.SparseAdam(sparse, lr=learning_rate))
        if dense:
            opts.append(torch.optim.Adam(dense, lr=learning_rate))
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
