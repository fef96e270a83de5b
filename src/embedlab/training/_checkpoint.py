"""The trainer's checkpoints: one folder per epoch, written atomically, and the early-stopping state.

A checkpoint folder holds ``latest.json`` (``{"epoch": E, "dir": "epoch-EEEE"}``) and the
folder it points at, with

* ``model.safetensors``: the module's weights;
* ``optimizer.safetensors``: the optimizers' tensors and the trainer's generator state
  (``"generator"``);
* ``best.safetensors``: the weights of the best epoch so far, when early stopping keeps them;
* ``state.json``: the format, the epoch, the number of training ratings, the module's class,
  the trainer's settings, the history, the early-stopping state and the optimizers' structure.

The epoch's folder is written under a temporary name (``.epoch-NNNN.embedlab-tmp.PID.*``)
and renamed into place, then ``latest.json`` is replaced atomically and older epochs are
removed, so a killed run leaves the last complete checkpoint. The next save removes the
temporaries of writers that no longer run (never a running one's).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from embedlab._io import (
    TMP_TAG,
    atomic_write_text,
    remove_stale_temporaries,
    storage_errno,
    storage_failure,
    temp_prefix,
)
from embedlab.exceptions import StorageError
from embedlab.training._history import History
from embedlab.training._optim import (
    MultiOptimizer,
    flatten_optimizer_state,
    unflatten_optimizer_state,
)
from embedlab.training._scoring import module_device

__all__ = [
    "BestEpoch",
    "TrainingState",
    "has_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
]

_FORMAT = 1
_LATEST = "latest.json"
_TAGGED_TMP = re.compile(rf"^\.epoch-\d+\.{re.escape(TMP_TAG)}\.\d+\.")


@dataclass
class BestEpoch:
    """Early-stopping state: the best validation value so far and the epochs waited since.

    Attributes:
        value: The best value of the watched metric, ``val_rmse`` for ratings (``inf``
            before the first validation; saved as ``"rmse"`` in checkpoints, which only
            rating fits write).
        epoch: Its epoch (1-based), or ``None``.
        wait: Epochs since the last improvement.
        stopped: Whether early stopping or a callback ended training.
        state: The best epoch's weights (kept only when ``patience`` is set).
    """

    value: float = math.inf
    epoch: int | None = None
    wait: int = 0
    stopped: bool = False
    state: dict[str, torch.Tensor] | None = None


@dataclass
class TrainingState:
    """What one fit trains, and what its checkpoints save and restore.

    Attributes:
        module: The module trained.
        opt: Its optimizers.
        gen: The trainer's generator (permutations and dropout masks).
        n_train: The number of training ratings (a resumed run must have as many).
        history: The epochs' records so far.
        best: The early-stopping state.
    """

    module: nn.Module
    opt: MultiOptimizer
    gen: torch.Generator
    n_train: int
    history: History = field(default_factory=History)
    best: BestEpoch = field(default_factory=BestEpoch)


def has_checkpoint(folder: Path) -> bool:
    """Whether ``folder`` holds a checkpoint (its ``latest.json``)."""
    return (folder / _LATEST).exists()


def save_checkpoint(folder: Path, epoch: int, state: TrainingState, config: dict[str, Any]) -> None:
    """Write the checkpoint after ``epoch`` (1-based) into ``folder`` and drop older ones.

    ``config``: the trainer's settings a resumed run must share.

    Raises:
        StorageError: When the storage refuses the write (disk or quota full, read-only,
            not permitted); the previous checkpoint is kept.
    """
    try:
        _save_checkpoint(folder, epoch, state, config)
    except Exception as exc:
        code = storage_errno(exc)
        if code is None:
            raise
        reason, fix = storage_failure(code)
        error = StorageError(
            f"{folder}: cannot write the checkpoint of epoch {epoch}: {reason}; the previous "
            f"checkpoint is kept; {fix}"
        )
        error.errno, error.strerror, error.filename = code, os.strerror(code), str(folder)
        raise error from exc


def _save_checkpoint(
    folder: Path, epoch: int, state: TrainingState, config: dict[str, Any]
) -> None:
    from safetensors.torch import save_file

    module, best = state.module, state.best
    folder.mkdir(parents=True, exist_ok=True)
    name = f"epoch-{epoch:04d}"
    # Temporaries of writers that were killed (never a running one's) go first: they may
    # hold the space this checkpoint needs.
    remove_stale_temporaries(folder)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(name), dir=folder))
    try:
        save_file(_cpu_state(module.state_dict()), str(tmp / "model.safetensors"))
        opt_tensors, opt_structure = flatten_optimizer_state(state.opt.state_dict())
        opt_tensors["generator"] = state.gen.get_state().cpu()
        save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
        if best.state is not None:
            save_file(_cpu_state(best.state), str(tmp / "best.safetensors"))
        meta = {
            "format": _FORMAT,
            "epoch": epoch,
            "n_train": state.n_train,
            "module": type(module).__name__,
            "config": config,
            "history": state.history.to_list(),
            "best": {
                "rmse": best.value if math.isfinite(best.value) else None,
                "epoch": best.epoch,
                "wait": best.wait,
                "stopped": bool(best.stopped),
            },
            "optimizer": opt_structure,
        }
        (tmp / "state.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        final = folder / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_text(folder / _LATEST, json.dumps({"epoch": epoch, "dir": name}))
    # Older epochs. Temporaries of killed writers were removed above; a running writer's
    # (``.epoch-NNNN.embedlab-tmp.PID.*``) is never touched.
    for old in folder.glob("epoch-*"):
        if old.name != name and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    # Temporaries without a process id in their name (releases before it was there): no
    # writer of this release makes them.
    for old in folder.glob(".epoch-*"):
        if not _TAGGED_TMP.match(old.name) and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(folder: Path, state: TrainingState, config: dict[str, Any]) -> int:
    """Restore the latest checkpoint in ``folder`` into ``state`` (all its parts).

    Returns:
        The number of epochs the checkpoint had trained.

    Raises:
        ValueError: When the checkpoint cannot be read, or was written with other
            settings (``config``), another number of training ratings or another module class.
    """
    from safetensors.torch import load_file

    try:
        pointer = json.loads((folder / _LATEST).read_text(encoding="utf-8"))
        epoch_dir = folder / pointer["dir"]
        meta = json.loads((epoch_dir / "state.json").read_text(encoding="utf-8"))
        weights = load_file(str(epoch_dir / "model.safetensors"))
        opt_tensors = load_file(str(epoch_dir / "optimizer.safetensors"))
        best_state = (
            load_file(str(epoch_dir / "best.safetensors"))
            if (epoch_dir / "best.safetensors").exists()
            else None
        )
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(
            f"checkpoint in {str(folder)!r} cannot be read ({exc}); remove the folder to start over"
        ) from None
    module, n_train = state.module, state.n_train
    diffs = [
        f"{k}: checkpoint {meta['config'].get(k)!r}, now {v!r}"
        for k, v in config.items()
        if meta["config"].get(k) != v
    ]
    if meta.get("n_train") != n_train:
        diffs.append(f"training ratings: checkpoint {meta.get('n_train')}, now {n_train}")
    if meta.get("module") != type(module).__name__:
        diffs.append(f"module: checkpoint {meta.get('module')}, now {type(module).__name__}")
    if diffs:
        raise ValueError(
            f"checkpoint in {str(folder)!r} was written with other settings ({'; '.join(diffs)}); "
            "resume with the same settings or start in an empty folder"
        )
    device = module_device(module)
    module.load_state_dict({k: v.to(device) for k, v in weights.items()})
    state.gen.set_state(opt_tensors.pop("generator"))
    state.opt.load_state_dict(unflatten_optimizer_state(opt_tensors, meta["optimizer"]))
    b = meta["best"]
    state.best = BestEpoch(
        value=math.inf if b["rmse"] is None else b["rmse"],
        epoch=b["epoch"],
        wait=b["wait"],
        stopped=bool(b.get("stopped", False)),
        state=None if best_state is None else {k: v.to(device) for k, v in best_state.items()},
    )
    state.history = History(meta["history"])
    return int(meta["epoch"])


def _cpu_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
