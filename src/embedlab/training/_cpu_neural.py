"""The compiled CPU epoch of the neural model, wired to the trainer's module and optimizers.

:class:`CompiledNeuralEpochs` runs one epoch of a :class:`~embedlab.nn.NeuralModule` with
:func:`embedlab.training._cpu_neural_kernels.neural_epoch`: the same loss, per-occurrence
L2, lazy Adam for the tables and Adam for the dense layers as the torch loop, on the
module's own parameter storage and the optimizers' own state tensors, so checkpoints,
resuming, early stopping and callbacks work unchanged. What differs from the torch loop:
the dropout masks (a counter-based hash seeded from the trainer's generator once per
epoch instead of ``torch.rand``) and the order of floating-point sums.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from embedlab.nn import GeneratorDropout, NeuralModule

__all__ = ["ENGINES", "HOGWILD_FROM", "CompiledNeuralEpochs", "compiled_unsupported"]

#: From this many training ratings on, several threads run whole steps without locks
#: ("Hogwild", as the MF engine does on large data); below, the steps are synchronous and
#: the result does not depend on the thread count.
HOGWILD_FROM = 200_000

#: Engine names of the trainer's epoch loop.
ENGINES = ("auto", "torch", "compiled")


def compiled_unsupported(
    module: nn.Module,
    *,
    optimizer: str,
    l2_mode: str,
    device: torch.device,
    distributed: bool,
) -> str | None:
    """Why the compiled epoch cannot train this setup, or ``None`` when it can."""
    if type(module) is not NeuralModule:
        return f"it trains NeuralModule only, not {type(module).__name__}"
    if device.type != "cpu":
        return f"it runs on the CPU only (device is {device})"
    if distributed:
        return "it does not run data-parallel (torchrun)"
    if optimizer != "adam":
        return f"it implements optimizer='adam' only (got {optimizer!r})"
    if l2_mode != "batch":
        return f"it implements l2_mode='batch' only (got {l2_mode!r})"
    if not module.sparse:
        return "it needs sparse tables (NeuralModule(sparse=True))"
    return None


def _linears(module: NeuralModule) -> list[nn.Linear]:
    return [m for m in module.mlp if isinstance(m, nn.Linear)]


class CompiledNeuralEpochs:
    """Runs epochs of ``module`` with the compiled kernel, updating ``optimizers`` in place.

    Args:
        module: The :class:`~embedlab.nn.NeuralModule` (on the CPU, float32).
        lazy: The :class:`~embedlab.training._optim.LazyAdam` of the sparse tables.
        dense: The ``torch.optim.Adam`` of the other parameters.
        l2_user: Per-occurrence L2 on user rows.
        l2_item: Per-occurrence L2 on item rows.
        l2_bias: Per-occurrence L2 on both bias tables.
        batch_size: Ratings per step.
        num_threads: numba threads for the kernel (``None``: the threading policy's,
            :func:`embedlab._threads.default_threads`), fewer while other programs
            keep CPUs busy.
    """

    def __init__(
        self,
        module: NeuralModule,
        lazy: torch.optim.Optimizer,
        dense: torch.optim.Optimizer | None,
        *,
        l2_user: float,
        l2_item: float,
        l2_bias: float,
        batch_size: int,
        num_threads: int | None = None,
    ) -> None:
        from embedlab.training import _cpu_neural_kernels  # noqa: F401  (compiles or loads)

        self.module = module
        self.lazy = lazy
        self.dense = dense
        self.l2 = (float(l2_user), float(l2_item), float(l2_bias))
        self.batch_size = int(batch_size)
        self.num_threads = num_threads
        layers = _linears(module)
        self.pieces: list[tuple[torch.Tensor, bool]] = []  # (parameter, stored transposed)
        for layer in layers:
            self.pieces += [(layer.weight, True), (layer.bias, False)]
        self.pieces += [(module.output.weight, False), (module.output.bias, False)]
        if module.global_bias is not None:
            self.pieces.append((module.global_bias, False))
        sizes = [module.user_dim + module.item_dim, *(layer.out_features for layer in layers)]
        self.sizes = np.asarray(sizes, dtype=np.int64)
        offs, at = [], 0
        for p, _ in self.pieces:
            offs.append(at)
            at += p.numel()
        if module.global_bias is None:
            offs.append(at)
        self.offs = np.asarray(offs, dtype=np.int64)
        self.n_theta = at
        dropout = [m.p for m in module.mlp if isinstance(m, GeneratorDropout)]
        self.dropout = float(dropout[0]) if dropout else 0.0
        self.flags = np.asarray(
            [
                module.user_bias is not None,
                module.item_bias is not None,
                module.global_bias is not None,
                module.dot,
                module.squash is not None,
            ],
            dtype=np.int64,
        )
        self.squash = module.squash if module.squash is not None else (0.0, 1.0)
        trained = {id(p) for p, _ in self.pieces}
        for p in module.parameters():
            if p.requires_grad and id(p) not in trained and not self._is_table(p):
                raise ValueError(f"the compiled epoch does not know parameter {tuple(p.shape)}")

    def _is_table(self, p: torch.Tensor) -> bool:
        m = self.module
        tables = [m.user_embedding, m.item_embedding, m.user_bias, m.item_bias]
        return any(t is not None and t.weight is p for t in tables)

    # ------------------------------------------------------------- optimizer state
    @staticmethod
    def _state(opt: torch.optim.Optimizer, p: torch.Tensor) -> dict[str, Any]:
        state = opt.state[p]
        if not state:
            # What LazyAdam and fused torch.optim.Adam create at their first step.
            state["step"] = torch.zeros((), dtype=torch.float32)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return state

    def _table(self, table: nn.Embedding | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if table is None:
            dummy = np.zeros((1, 1), dtype=np.float32)
            return dummy, dummy.copy(), dummy.copy()
        state = self._state(self.lazy, table.weight)
        return (
            table.weight.detach().numpy(),
            state["exp_avg"].numpy(),
            state["exp_avg_sq"].numpy(),
        )

    def _pack(self, key: str | None) -> np.ndarray:
        out = np.empty(self.n_theta, dtype=np.float32)
        for (p, transposed), at in zip(self.pieces, self.offs, strict=False):
            src = p.detach() if key is None else self._state(self.dense, p)[key]
            src = src.t() if transposed else src
            out[at : at + p.numel()] = src.contiguous().reshape(-1).numpy()
        return out

    def _unpack(self, flat: np.ndarray, key: str | None) -> None:
        with torch.no_grad():
            for (p, transposed), at in zip(self.pieces, self.offs, strict=False):
                piece = torch.from_numpy(flat[at : at + p.numel()].copy())
                if transposed:
                    piece = piece.reshape(p.shape[1], p.shape[0]).t()
                dst = p if key is None else self._state(self.dense, p)[key]
                dst.copy_(piece.reshape(p.shape))

    # ------------------------------------------------------------------- epochs
    def hogwild(self, n_ratings: int) -> bool:
        """Whether an epoch over ``n_ratings`` runs lock-free threads (:data:`HOGWILD_FROM`)."""
        from embedlab._threads import resolve_threads

        return n_ratings >= HOGWILD_FROM and resolve_threads(self.num_threads) > 1

    def run_epoch(
        self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, lr: float, seed: int
    ) -> float:
        """Train one epoch on the rows in this order; returns the sum of squared errors."""
        from embedlab._threads import parallel_section
        from embedlab.training._cpu_neural_kernels import neural_epoch, neural_epoch_hogwild

        m = self.module
        beta1, beta2 = self.lazy.param_groups[0]["betas"]
        eps = self.lazy.param_groups[0]["eps"]
        P, mP, vP = self._table(m.user_embedding)
        Q, mQ, vQ = self._table(m.item_embedding)
        bu, mbu, vbu = self._table(m.user_bias)
        bi, mbi, vbi = self._table(m.item_bias)
        step0 = int(self._state(self.lazy, m.user_embedding.weight)["step"])
        theta = self._pack(None)
        m_theta = self._pack("exp_avg")
        v_theta = self._pack("exp_avg_sq")
        if self.dense is not None:
            dense_group = self.dense.param_groups[0]
            if tuple(dense_group["betas"]) != (beta1, beta2) or dense_group["eps"] != eps:
                raise ValueError("the compiled epoch needs the same Adam betas and eps everywhere")
        args = (
            np.ascontiguousarray(users, dtype=np.int64),
            np.ascontiguousarray(items, dtype=np.int64),
            np.ascontiguousarray(ratings, dtype=np.float32),
            self.batch_size,
            P,
            Q,
            bu,
            bi,
            self.flags,
            theta,
            m_theta,
            v_theta,
            self.offs,
            self.sizes,
            self.dropout,
            float(self.squash[0]),
            float(self.squash[1]),
            mP,
            vP,
            mQ,
            vQ,
            mbu,
            vbu,
            mbi,
            vbi,
            step0,
            float(lr),
            float(beta1),
            float(beta2),
            float(eps),
            *self.l2,
            np.uint64(seed),
        )
        if self.hogwild(len(ratings)):
            # One region per epoch, no thread waits for another: all the policy's
            # threads, whatever other programs do (they share the CPUs fairly).
            with parallel_section(self.num_threads) as n:
                sse = neural_epoch_hogwild(n, *args)
        else:
            # Two short regions per batch: leave out the CPUs other programs keep busy,
            # or each region waits for a descheduled thread. The result does not depend
            # on the thread count.
            with parallel_section(self.num_threads, adapt=True):
                sse = neural_epoch(*args)
        self._unpack(theta, None)
        self._unpack(m_theta, "exp_avg")
        self._unpack(v_theta, "exp_avg_sq")
        steps = -(-len(ratings) // self.batch_size)
        for opt in (self.lazy, self.dense):
            if opt is None:
                continue
            for group in opt.param_groups:
                for p in group["params"]:
                    self._state(opt, p)["step"] += steps
        return float(sse)
