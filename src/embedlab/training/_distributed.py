"""Data-parallel training with ``torch.distributed``: process group, sharding, gradient sums.

The :class:`~embedlab.training.Trainer` trains data-parallel when the process runs under
``torchrun`` with ``WORLD_SIZE > 1`` (or a process group is already initialized) and
``distributed`` is ``"auto"`` or ``True``. Every rank holds the whole training data (all
ranks load the same dataset, so vocabularies and indices agree) and the same weights
(broadcast from rank 0 before the first step). Per epoch:

* one permutation of the training rows, the same on every rank (drawn from a generator
  seeded by ``(seed, epoch)``, not from shared state, so it never drifts and resumes
  exactly);
* the permutation is walked in *global* batches of ``world_size × batch_size`` rows; rank
  ``r`` takes rows ``r, r + world_size, …`` of each global batch (:func:`shard_batches`).
  Every rank therefore runs the same number of steps, and each row is seen exactly once
  per epoch across the ranks;
* each rank's loss is its share of the global batch's mean squared error (its squared
  errors divided by the global batch size), so the *sum* of the ranks' gradients is the
  gradient of the global batch. Gradients are summed after every backward pass
  (:func:`all_reduce_gradients`): the sparse rows of the embedding and bias tables by
  an ``all_gather`` of their ``(row, value)`` pairs (so the lazy optimizers stay lazy),
  the small dense gradients of the layers in the same buffer: one collective per step.
  One step of ``W`` ranks is one step of a single process with batch ``W × batch_size``.

``torch.nn.parallel.DistributedDataParallel`` is not used: its reducer needs the wrapped
module's ``forward`` (the trainer calls ``forward_rows``) and sparse gradients need the
gloo backend (NCCL has no sparse collectives); summing by hand works with both.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from embedlab.settings import Int

__all__ = [
    "DISTRIBUTED_MODES",
    "DistributedContext",
    "all_reduce_gradients",
    "epoch_permutation",
    "get_rank",
    "get_world_size",
    "is_main_process",
    "launched_by_torchrun",
    "resolve_distributed",
    "shard_batches",
]

#: Values of the ``distributed`` option.
DISTRIBUTED_MODES = ("auto", True, False)


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a data-parallel run.

    Attributes:
        rank: This process's rank, ``0 … world_size - 1``.
        world_size: Number of processes.
        backend: The process group's backend (``"gloo"``, ``"nccl"``).
    """

    rank: int
    world_size: int
    backend: str

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0 (the rank that shows progress and writes files)."""
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """Whether ``torchrun`` (or another launcher setting ``RANK``) started more than one process."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return False
    return world > 1 and "RANK" in os.environ


def get_rank() -> int:
    """This process's rank in the initialized process group, ``0`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return 0


def get_world_size() -> int:
    """Number of processes in the initialized process group, ``1`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def is_main_process() -> bool:
    """``True`` on rank 0 or without a process group: the process that should save files.

    Under ``torchrun`` the process group is initialized by the first distributed
    ``fit``; before that, the ``RANK`` environment variable decides.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return os.environ.get("RANK", "0") == "0"


def check_mode(distributed: Any) -> None:
    """Validate a ``distributed`` option.

    Raises:
        ValueError: For anything but ``"auto"``, ``True`` or ``False``.
    """
    if not (distributed is True or distributed is False or distributed == "auto"):
        raise ValueError(
            f"distributed={distributed!r}: expected 'auto' (data-parallel when launched by torchrun "
            "with WORLD_SIZE > 1), True or False"
        )


def resolve_distributed(distributed: Any, device: torch.device) -> DistributedContext | None:
    """The data-parallel context to train in, initializing the process group if needed.

    * ``False``: ``None`` (this process trains alone, even under ``torchrun``).
    * ``"auto"``: a context when a process group with more than one rank is initialized,
      or when ``torchrun`` launched several processes (``WORLD_SIZE > 1``, ``RANK`` set),
      in which case the process group is initialized here from the environment
      (backend ``gloo`` on the CPU, ``nccl`` on CUDA); otherwise ``None``.
    * ``True``: as ``"auto"``, but a missing launcher is an error, and an initialized
      group of one rank still counts.

    Args:
        distributed: ``"auto"``, ``True`` or ``False``.
        device: The device the trainer uses (chooses the backend).

    Returns:
        The context, or ``None`` for single-process training.

    Raises:
        ValueError: For a bad ``distributed``, or ``True`` without a launcher or process group.
    """
    check_mode(distributed)
    if distributed is False:
        return None
    if not dist.is_available():
        if distributed is True:
            raise ValueError(
                "distributed=True, but this torch build has no torch.distributed; use distributed='auto'"
            )
        return None
    if not dist.is_initialized():
        if not launched_by_torchrun():
            if distributed is True:
                raise ValueError(
                    "distributed=True, but no process group is initialized and WORLD_SIZE/RANK are not set; "
                    "launch with `torchrun --nproc-per-node N script.py` or call "
                    "torch.distributed.init_process_group() first"
                )
            return None
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
        atexit.register(_destroy_process_group)
    world = dist.get_world_size()
    if world == 1 and distributed == "auto":
        return None
    return DistributedContext(rank=dist.get_rank(), world_size=world, backend=dist.get_backend())


def _destroy_process_group() -> None:
    """At exit, tear down the process group :func:`resolve_distributed` initialized.

    Left to the interpreter's shutdown, the gloo backend's C++ worker threads can still
    be joinable when their objects are destroyed, and the process then dies with
    ``terminate called without an active exception`` (SIGABRT) after its work is done,
    which ``torchrun`` reports as a failed run. Destroying the group while the
    interpreter is still whole avoids that; a group the user already destroyed is left
    alone.
    """
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def cuda_device_for_rank(device: torch.device) -> torch.device:
    """On CUDA under a launcher, ``cuda:LOCAL_RANK`` (one GPU per process); else ``device``."""
    if device.type != "cuda" or "LOCAL_RANK" not in os.environ:
        return device
    local = int(os.environ["LOCAL_RANK"])
    if local >= torch.cuda.device_count():
        return device
    torch.cuda.set_device(local)
    return torch.device("cuda", local)


# ------------------------------------------------------------------ sharding
def _mix(*values: int) -> int:
    """A 63-bit seed from several integers (NumPy's SeedSequence hashing)."""
    state = np.random.SeedSequence([int(v) for v in values]).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


def epoch_permutation(n: int, seed: int, epoch: int, device: torch.device) -> torch.Tensor:
    """The permutation of ``n`` training rows for 0-based ``epoch``: the same on every rank."""
    gen = torch.Generator(device=device).manual_seed(_mix(seed, epoch))
    return torch.randperm(n, generator=gen, device=device)


def dropout_seed(seed: int, epoch: int, rank: int) -> int:
    """Seed of rank ``rank``'s dropout masks in ``epoch`` (different per rank and epoch)."""
    return _mix(seed, epoch, rank + 1, 0x5EED)


def shard_batches(
    perm: torch.Tensor, batch_size: int, rank: int, world_size: int
) -> list[tuple[torch.Tensor, int]]:
    """This rank's batches of one epoch: ``(rows, global batch size)`` per step.

    ``perm`` is cut in global batches of ``world_size × batch_size`` rows (the last one
    shorter); rank ``rank`` takes every ``world_size``-th row of each, starting at
    ``rank``. Every rank gets the same number of steps; in the last step a rank may get
    fewer rows, or none.

    Args:
        perm: The epoch's row order (the same on every rank).
        batch_size: Rows per rank per step.
        rank: This rank.
        world_size: Number of ranks.

    Returns:
        One ``(row indices, rows in the global batch)`` pair per step.

    Raises:
        ValueError: For a rank outside ``0 … world_size - 1`` or a batch size below 1.
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank={rank!r}: expected 0 <= rank < world_size={world_size}")
    batch_size = Int(1)("batch_size", batch_size)
    step = batch_size * world_size
    n = len(perm)
    return [(perm[s : s + step][rank::world_size], min(step, n - s)) for s in range(0, n, step)]


# --------------------------------------------------------------- collectives
def broadcast_module(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers into every rank's ``module``."""
    with torch.no_grad():
        for tensor in module.state_dict().values():
            dist.broadcast(tensor, src=0)


def broadcast_seed(seed: int | None, device: torch.device) -> int:
    """Rank 0's seed (drawn there when ``seed`` is ``None``) on every rank."""
    value = seed if seed is not None else int(np.random.SeedSequence().entropy % (1 << 62))
    t = torch.tensor([value], dtype=torch.int64, device=device)
    dist.broadcast(t, src=0)
    return int(t.item())


def same_on_all_ranks(values: list[float], device: torch.device) -> bool:
    """Whether every rank passed the same ``values`` (float64 comparison)."""
    t = torch.tensor(values, dtype=torch.float64, device=device)
    lo, hi = t.clone(), t.clone()
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    return bool(torch.equal(lo, hi))


def all_reduce_sum(values: list[float], device: torch.device) -> list[float]:
    """Element-wise sum over ranks of ``values`` (float64)."""
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def all_reduce_max(values: list[float], device: torch.device) -> list[float]:
    """Element-wise maximum over ranks of ``values`` (float64)."""
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()


#: Dense gradients up to this many elements travel inside the sparse gather (one
#: collective per step instead of two); larger ones (dense tables) are all-reduced.
_PACK_DENSE_MAX = 1 << 16


def all_reduce_gradients(params: list[torch.Tensor], sparse_ids: set[int], max_rows: int) -> None:
    """Replace every gradient in ``params`` by its sum over the ranks.

    Sparse gradients (the parameters whose ``id`` is in ``sparse_ids``: the embedding
    and bias tables) are gathered, not reduced: every rank sends its ``(row, value)``
    pairs, and every rank rebuilds the same uncoalesced sparse gradient (pairs in rank
    order), whose duplicate rows the optimizers sum; the lazy optimizers stay lazy, and
    no sparse support is needed in the backend (NCCL has none). Rows and values share
    one buffer (rows bit-cast to the values' dtype) of a size every rank knows in
    advance, so one ``all_gather`` carries a step: a table is looked up once per rating,
    so its gradient has at most ``max_rows`` pairs. Small dense gradients (the MLP,
    ``μ``) ride in the same buffer and are summed in rank order; large ones (dense
    tables) take one flat ``all_reduce``. A missing gradient counts as zero, so every
    rank makes the same calls, and every rank ends with bitwise the same gradients.

    Args:
        params: The trainable parameters, in the same order on every rank.
        sparse_ids: ``id`` of the parameters whose gradients are sparse.
        max_rows: The most ratings any rank has in this step's batch.

    Raises:
        RuntimeError: When a table's gradient has more than ``max_rows`` pairs (a module
            that looks a table up more than once per rating; build it with dense tables).
    """
    dense = [p for p in params if id(p) not in sparse_ids]
    sparse = [p for p in params if id(p) in sparse_ids]
    dense_grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in dense]
    n_dense = sum(g.numel() for g in dense_grads)
    pack_dense = bool(sparse) and n_dense <= _PACK_DENSE_MAX
    if dense and not pack_dense:
        flat = torch.cat([g.reshape(-1) for g in dense_grads])
        dist.all_reduce(flat)
        _unflatten_into(dense, flat)
    if not sparse:
        return
    dtype, device = sparse[0].dtype, sparse[0].device
    world = dist.get_world_size()
    per_index = 8 // torch.empty(0, dtype=dtype).element_size()  # elements per int64 row
    widths = [int(np.prod(p.shape[1:])) for p in sparse]
    n_sparse = len(sparse)
    rows_at = n_sparse * per_index
    values_at = rows_at + n_sparse * max_rows * per_index
    dense_at = values_at + max_rows * sum(widths)
    # One send buffer, written in place: [counts | rows (padded) | values (padded) | dense].
    send = torch.zeros(dense_at + (n_dense if pack_dense else 0), dtype=dtype, device=device)
    send_counts = send[:rows_at].view(torch.long)
    send_rows = send[rows_at:values_at].view(torch.long)
    offset = values_at
    for k, (p, w) in enumerate(zip(sparse, widths, strict=True)):
        g = p.grad
        if g is not None:
            if not g.is_sparse:
                raise RuntimeError("a table's gradient is dense where a sparse one was expected")
            idx, val = g._indices()[0], g._values().reshape(-1)
            c = len(idx)
            if c > max_rows:
                raise RuntimeError(
                    f"a table's sparse gradient has {c} rows for a batch of at most {max_rows} "
                    "ratings; data-parallel training needs each table looked up once per rating "
                    "(or dense tables: l2_mode='table')"
                )
            send_counts[k] = c
            send_rows[k * max_rows : k * max_rows + c] = idx
            send[offset : offset + c * w] = val
        offset += max_rows * w
    if pack_dense:
        at = dense_at
        for g in dense_grads:
            send[at : at + g.numel()] = g.reshape(-1)
            at += g.numel()
    got = [torch.empty_like(send) for _ in range(world)]
    dist.all_gather(got, send)
    pieces_rows: list[list[torch.Tensor]] = [[] for _ in sparse]
    pieces_vals: list[list[torch.Tensor]] = [[] for _ in sparse]
    for buf in got:
        their_counts = buf[:rows_at].view(torch.long).tolist()
        their_rows = buf[rows_at:values_at].view(torch.long)
        offset = values_at
        for k, w in enumerate(widths):
            c = their_counts[k]
            pieces_rows[k].append(their_rows[k * max_rows : k * max_rows + c])
            pieces_vals[k].append(buf[offset : offset + c * w])
            offset += max_rows * w
    for k, p in enumerate(sparse):
        idx = torch.cat(pieces_rows[k]).unsqueeze(0)
        val = torch.cat(pieces_vals[k]).reshape(-1, *p.shape[1:])
        p.grad = torch.sparse_coo_tensor(idx, val, p.shape, check_invariants=False)
    if pack_dense and dense:
        total = got[0][dense_at:].clone()
        for buf in got[1:]:
            total += buf[dense_at:]
        _unflatten_into(dense, total)


def _unflatten_into(params: list[torch.Tensor], flat: torch.Tensor) -> None:
    offset = 0
    for p in params:
        size = p.numel()
        p.grad = flat[offset : offset + size].view_as(p).to(p.dtype)
        offset += size


def barrier() -> None:
    """Wait for every rank (no-op without a process group)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
