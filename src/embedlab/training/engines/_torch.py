"""The torch engines: the mini-batch :class:`~embedlab.training.Trainer` (``"torch"``)
and its fused CPU epoch for the neural model (``"compiled"``).

They train the module they are given in place (autograd, sparse-aware optimizers,
schedules, checkpoints, the GPU, torchrun).
"""

from __future__ import annotations

from typing import Any

from embedlab.training._trainer import Trainer
from embedlab.training.engines._base import EngineResult, TrainData, register_engine

__all__ = ["TorchEngine"]


def trainer_for(settings: Any, engine: str, callbacks: Any, progress: bool) -> Trainer:
    """A :class:`Trainer` with the resolved settings' training fields."""
    s = settings
    return Trainer(
        epochs=s.epochs,
        batch_size=s.batch_size,
        learning_rate=s.learning_rate,
        optimizer=s.optimizer,
        schedule=None if s.schedule == "constant" else s.schedule,
        l2_user=s.l2_user,
        l2_item=s.l2_item,
        l2_bias=s.l2_bias,
        l2_mode=s.l2_mode,
        patience=s.patience or None,
        callbacks=callbacks,
        progress=progress,
        random_state=s.random_state,
        device=s.device,
        n_threads=s.n_threads,
        # MatrixFactorization has no setting of its own: the trainer's "auto".
        distributed=getattr(s, "distributed", "auto"),
        engine=engine,
    )


class TorchEngine:
    """Runs the :class:`Trainer` on the given module; ``name`` picks its epoch runner."""

    def __init__(self, name: str = "torch") -> None:
        self.name = name

    def fit(
        self,
        data: TrainData,
        settings: Any,
        *,
        module: Any = None,
        callbacks: Any = None,
        progress: bool = False,
        checkpoint_dir: Any = None,
        resume: bool = False,
        **options: Any,
    ) -> EngineResult:
        if module is None:
            raise ValueError(f"the {self.name} engine trains a module; pass module=")
        trainer = trainer_for(settings, self.name, callbacks, progress)
        history = trainer.fit(
            module,
            data.train,
            validation=data.validation,
            checkpoint_dir=checkpoint_dir,
            resume=resume,
        )
        return EngineResult({}, history, {"engine": trainer.engine_})


register_engine("torch", TorchEngine)
register_engine("compiled", lambda: TorchEngine("compiled"))
