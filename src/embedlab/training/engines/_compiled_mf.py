"""The compiled CPU engines of matrix factorization: lock-free SGD and biased ALS (numba).

Thin adapters from resolved :class:`~embedlab.settings.MFSettings` to
:func:`~embedlab.training.fit_mf_sgd` and :func:`~embedlab.training.fit_mf_als`.
"""

from __future__ import annotations

from typing import Any

from embedlab.settings import MFSettings
from embedlab.training._cpu_als import fit_mf_als
from embedlab.training._cpu_sgd import fit_mf_sgd
from embedlab.training._cpu_sgd_auto import fit_mf_sgd_auto
from embedlab.training._history import History
from embedlab.training.engines._base import EngineResult, TrainData, register_engine

__all__ = ["ALSEngine", "SGDEngine", "sgd_schedule"]


def sgd_schedule(learning_rate: float, epochs: int, final_fraction: float) -> dict[str, float]:
    """The SGD engine's step size and its per-epoch decay for a run of ``epochs``.

    The rate falls geometrically from ``learning_rate`` to ``final_fraction`` of it at
    the last epoch, so a longer run also anneals more slowly.
    """
    decay = final_fraction ** (1.0 / (epochs - 1)) if epochs > 1 else 1.0
    return {"learning_rate": learning_rate, "learning_rate_decay": decay}


def _common(data: TrainData, s: MFSettings, callbacks: Any, progress: bool) -> dict[str, Any]:
    """The arguments both compiled engines take, from the resolved settings."""
    return {
        "embedding_dim": s.embedding_dim,
        "epochs": s.epochs,
        "l2_user": s.l2_user,
        "l2_item": s.l2_item,
        "l2_bias": s.l2_bias,
        "user_bias": s.user_bias,
        "item_bias": s.item_bias,
        "global_bias": s.global_bias,
        "init_std": s.init_std,
        "validation": data.validation,
        "patience": s.patience or None,
        "random_state": s.random_state,
        "n_threads": s.n_threads,
        "callbacks": callbacks,
        "progress": progress,
    }


class SGDEngine:
    """Parallel lock-free SGD with per-occurrence L2 and bias damping (:func:`fit_mf_sgd`)."""

    name = "sgd"

    def fit(
        self,
        data: TrainData,
        settings: MFSettings,
        *,
        module: Any = None,
        callbacks: Any = None,
        progress: bool = False,
        **options: Any,
    ) -> EngineResult:
        s = settings
        tunable = options.get("tunable", ())
        if data.validation is None and s.holdout:
            params, records, report = fit_mf_sgd_auto(
                *data.train,
                data.n_users,
                data.n_items,
                holdout=s.holdout,
                fallback=s.fallback,
                tune_epochs="epochs" in tunable,
                tune_l2="l2_user" in tunable and "l2_item" in tunable,
                embedding_dim=s.embedding_dim,
                epochs=s.epochs,
                learning_rate=s.learning_rate,
                final_learning_rate_fraction=s.final_learning_rate_fraction,
                l2_user=s.l2_user,
                l2_item=s.l2_item,
                l2_bias=s.l2_bias,
                bias_damping=s.bias_damping,
                user_bias=s.user_bias,
                item_bias=s.item_bias,
                global_bias=s.global_bias,
                init_std=s.init_std,
                patience=s.patience or None,
                clip=options.get("clip"),
                random_state=s.random_state,
                n_threads=s.n_threads,
                callbacks=callbacks,
                progress=progress,
            )
            if params is not None:
                return EngineResult(params, History(records), {"adaptive": report.as_dict()})
            skipped = {"adaptive": report.as_dict()}
        else:
            skipped = {}
        params, records = fit_mf_sgd(
            *data.train,
            data.n_users,
            data.n_items,
            **sgd_schedule(s.learning_rate, s.epochs, s.final_learning_rate_fraction),
            bias_damping=s.bias_damping,
            **_common(data, s, callbacks, progress),
        )
        return EngineResult(params, History(records), skipped)


class ALSEngine:
    """Biased alternating least squares, same objective as SGD (:func:`fit_mf_als`)."""

    name = "als"

    def fit(
        self,
        data: TrainData,
        settings: MFSettings,
        *,
        module: Any = None,
        callbacks: Any = None,
        progress: bool = False,
        **options: Any,
    ) -> EngineResult:
        params, records = fit_mf_als(
            *data.train, data.n_users, data.n_items, **_common(data, settings, callbacks, progress)
        )
        return EngineResult(params, History(records))


register_engine("sgd", SGDEngine)
register_engine("als", ALSEngine)
