"""Confidence-weighted ALS in torch, for a GPU: :func:`fit_implicit_als_torch`.

The same algorithm as the compiled CPU engine (:func:`~embedlab.training._cpu_implicit.fit_implicit_als`:
objective, warm-started conjugate gradient with ``YᵀY`` shared, zero rows for rows
without interactions, the same start for a seed), with the conjugate-gradient steps of
all rows of a side batched: each step is one matrix product with ``YᵀY`` and a gather /
scatter-add over the interactions (in chunks of :data:`CHUNK` entries, so memory stays
bounded). Rows stop where the CPU kernel's row stops (residual below 1e-20, or a
non-positive curvature), so in float64 both give the same tables up to rounding; in
float32 (the default on a GPU) the solves differ from the CPU's float64 sums by float32
rounding.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from embedlab.settings import Int, Real
from embedlab.training._callbacks import as_callbacks

__all__ = ["CHUNK", "fit_implicit_als_torch"]

#: Interactions gathered at a time (``CHUNK x embedding_dim`` values per temporary).
CHUNK = 1 << 21
_TINY = 1e-20


class _Side:
    """The interactions of one side (rows ``rows`` against rows ``cols`` of the other table)."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, conf: np.ndarray, n: int, device, dtype):
        self.rows = torch.as_tensor(rows.astype(np.int64), device=device)
        self.cols = torch.as_tensor(cols.astype(np.int64), device=device)
        self.conf = torch.as_tensor(conf, device=device).to(dtype)
        self.empty = torch.as_tensor(np.bincount(rows, minlength=n) == 0, device=device)
        self.n = n

    def chunks(self) -> Iterable[slice]:
        total = self.rows.shape[0]
        for start in range(0, total, CHUNK):
            yield slice(start, min(start + CHUNK, total))

    def apply(
        self, v: torch.Tensor, Y: torch.Tensor, gram: torch.Tensor, lam: float
    ) -> torch.Tensor:
        """``(YᵀY + λI + Σ conf·y yᵀ) v`` for every row's ``v``."""
        out = v @ gram + lam * v
        for part in self.chunks():
            y = Y[self.cols[part]]
            dots = (y * v[self.rows[part]]).sum(1) * self.conf[part]
            out.index_add_(0, self.rows[part], dots[:, None] * y)
        return out

    def rhs(self, Y: torch.Tensor) -> torch.Tensor:
        """``Σ (1 + conf) y`` of every row."""
        out = torch.zeros((self.n, Y.shape[1]), dtype=Y.dtype, device=Y.device)
        for part in self.chunks():
            out.index_add_(
                0, self.rows[part], (1.0 + self.conf[part])[:, None] * Y[self.cols[part]]
            )
        return out


def _solve(side: _Side, X: torch.Tensor, Y: torch.Tensor, lam: float, cg_steps: int) -> None:
    """Update every row of ``X`` by ``cg_steps`` batched conjugate-gradient steps, in place."""
    gram = Y.T @ Y
    x = X.clone()
    x[side.empty] = 0
    r = side.rhs(Y) - side.apply(x, Y, gram, lam)
    p = r.clone()
    rs = (r * r).sum(1)
    active = (rs > _TINY) & ~side.empty
    for _ in range(cg_steps):
        if not bool(active.any()):
            break
        ap = side.apply(p, Y, gram, lam)
        pap = (p * ap).sum(1)
        active = active & (pap > 0)
        step = torch.where(active, rs / torch.where(active, pap, 1.0), 0.0)
        x += step[:, None] * p
        r -= step[:, None] * ap
        rs_new = (r * r).sum(1)
        active = active & (rs_new >= _TINY)
        beta = torch.where(active, rs_new / torch.where(active, rs, 1.0), 0.0)
        p = r + beta[:, None] * p
        rs = torch.where(active, rs_new, rs)
    X.copy_(x)


def _loss(side: _Side, X: torch.Tensor, Y: torch.Tensor, lam_u: float, lam_i: float) -> float:
    """The loss of :func:`~embedlab.training._cpu_implicit.implicit_als_loss`."""
    gram = Y.T @ Y
    total = ((X @ gram) * X).sum() + lam_u * (X * X).sum() + lam_i * (Y * Y).sum()
    for part in side.chunks():
        s = (X[side.rows[part]] * Y[side.cols[part]]).sum(1)
        c = 1.0 + side.conf[part]
        total = total + (c * (1.0 - s) ** 2 - s * s).sum()
    weight = X.shape[0] * Y.shape[0] + float(side.conf.sum())
    return float(total) / weight


def fit_implicit_als_torch(
    ui: Any,
    ii: Any,
    w: Any,
    n_users: int,
    n_items: int,
    *,
    embedding_dim: int = 64,
    epochs: int = 15,
    l2_user: float = 0.01,
    l2_item: float = 0.01,
    alpha: float = 1.0,
    cg_steps: int = 3,
    init_std: float = 0.01,
    random_state: int | np.random.Generator | None = 0,
    device: str = "cuda",
    dtype: torch.dtype = torch.float32,
    callbacks: Iterable[Any] | None = None,
    progress: bool = False,
) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """:func:`~embedlab.training._cpu_implicit.fit_implicit_als` in torch on ``device``.

    Args:
        device: Where the tables and the solves live (``"cuda"``, ``"cpu"``).
        dtype: The solves' precision (float32 on a GPU; float64 matches the CPU engine
            to rounding).
        Others: As :func:`~embedlab.training._cpu_implicit.fit_implicit_als`.

    Returns:
        ``(params, history)`` as the CPU engine (float32 NumPy tables).

    Raises:
        As :func:`~embedlab.training._cpu_implicit.fit_implicit_als`.
    """
    from embedlab.training._cpu_implicit import _check_weights, _csr, _record, _start

    n_users, n_items = Int(1)("n_users", n_users), Int(1)("n_items", n_items)
    dim = Int(1)("embedding_dim", embedding_dim)
    epochs = Int(0)("epochs", epochs)
    lam_u, lam_i = Real()("l2_user", l2_user), Real()("l2_item", l2_item)
    alpha = Real()("alpha", alpha)
    cg_steps = Int(1)("cg_steps", cg_steps)
    init_std = Real()("init_std", init_std)
    ui, ii, w = _check_weights("fit_implicit_als_torch", ui, ii, w, n_users, n_items)
    conf = w * np.float32(alpha)
    u_ptr, u_cols, u_conf = _csr(ui, ii, conf, n_users)
    i_ptr, i_cols, i_conf = _csr(ii, ui, conf, n_items)
    users = _Side(
        np.repeat(np.arange(n_users), np.diff(u_ptr)), u_cols, u_conf, n_users, device, dtype
    )
    items = _Side(
        np.repeat(np.arange(n_items), np.diff(i_ptr)), i_cols, i_conf, n_items, device, dtype
    )
    rng = (
        random_state
        if isinstance(random_state, np.random.Generator)
        else np.random.default_rng(random_state)
    )
    X0 = _start(rng, n_users, dim, init_std)
    Y0 = _start(rng, n_items, dim, init_std)
    # float32 tables as the CPU engine stores them; the solves in ``dtype``
    X = torch.as_tensor(X0, device=device)
    Y = torch.as_tensor(Y0, device=device)
    history: list[dict[str, Any]] = []
    cbs = as_callbacks(callbacks)
    with torch.inference_mode():
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            Xs, Ys = X.to(dtype), Y.to(dtype)
            _solve(users, Xs, Ys, lam_u, cg_steps)
            X = Xs.to(torch.float32)
            Xs = X.to(dtype)
            _solve(items, Ys, Xs, lam_i, cg_steps)
            Y = Ys.to(torch.float32)
            loss = _loss(users, X.to(dtype), Y.to(dtype), lam_u, lam_i)
            tables = (X.cpu().numpy(), Y.cpu().numpy())
            hint = "lower alpha or raise l2_user and l2_item"
            if _record(
                history, cbs, f"implicit ALS ({device})", epoch, loss, t0, progress, tables, hint
            ):
                break
    return {
        "user_embedding.weight": np.ascontiguousarray(X.cpu().numpy()),
        "item_embedding.weight": np.ascontiguousarray(Y.cpu().numpy()),
    }, history
