"""Scoring with an index-based module (:func:`predict`, :func:`evaluate`), and the input checks
and array-to-tensor conversions the trainer shares with them."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from embedlab.exceptions import DataError
from embedlab.training import _distributed as ddp

__all__ = [
    "check_index_range",
    "check_same_data",
    "evaluate",
    "module_device",
    "predict",
    "predict_tensors",
    "rating_arrays",
    "rating_metrics",
    "to_tensor",
]


def module_device(module: nn.Module) -> torch.device:
    """The device of ``module``'s first parameter (the CPU for a module without any)."""
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def rating_arrays(data: Any, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(users, items, ratings)`` from an ``Interactions`` or a 3-tuple of arrays.

    Raises:
        DataError: For another type, arrays of unequal length or dimension, non-integer
            indices or non-finite ratings (``what`` names the argument).
    """
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


def check_index_range(u: np.ndarray, i: np.ndarray, module: nn.Module, what: str) -> None:
    """Raise unless the indices fit ``module``'s tables (``n_users``, ``n_items``).

    Raises:
        DataError: For a negative index or one past the table (``what`` names the argument).
    """
    for arr, n, name in (
        (u, getattr(module, "n_users", None), "user"),
        (i, getattr(module, "n_items", None), "item"),
    ):
        if arr.size and (arr.min() < 0 or (n is not None and arr.max() >= n)):
            raise DataError(
                f"{what}: {name} indices span {arr.min()}..{arr.max()}, but the module has {n} {name} rows"
            )


def check_same_data(
    u: np.ndarray,
    i: np.ndarray,
    r: np.ndarray,
    val: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    device: torch.device,
) -> None:
    """Raise unless every data-parallel rank passed the same training and validation data.

    Raises:
        DataError: When the ranks' sizes or sums differ.
    """
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


def to_tensor(arr: np.ndarray, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A copy of ``arr`` as a tensor of ``dtype`` on ``device``."""
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
    device = module_device(module)
    u = to_tensor(np.asarray(users), torch.long, device)
    i = to_tensor(np.asarray(items), torch.long, device)
    return predict_tensors(module, u, i, batch_size).cpu().numpy()


def predict_tensors(
    module: nn.Module, u: torch.Tensor, i: torch.Tensor, batch_size: int
) -> torch.Tensor:
    """Scores of ``module`` for index tensors on its device, in eval mode (restored after)."""
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
    """``{"rmse": ..., "mae": ...}`` of ``module`` on ``Interactions`` or ``(users, items, ratings)``.

    Raises:
        DataError: For malformed data.
    """
    u, i, r = rating_arrays(data, "data")
    device = module_device(module)
    pred = predict_tensors(
        module, to_tensor(u, torch.long, device), to_tensor(i, torch.long, device), batch_size
    )
    return rating_metrics(pred, to_tensor(r, torch.float32, device))


def rating_metrics(pred: torch.Tensor, r: torch.Tensor) -> dict[str, float]:
    """RMSE and MAE of the scores ``pred`` against the ratings ``r`` (summed in float64)."""
    err = (pred - r).double()
    return {"rmse": float(err.square().mean().sqrt()), "mae": float(err.abs().mean())}
