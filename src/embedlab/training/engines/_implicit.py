"""The engines of implicit-feedback matrix factorization: confidence-weighted ALS
(``"implicit_als"``) and BPR (``"implicit_bpr"``), compiled with numba
(:mod:`embedlab.training._cpu_implicit`, imported when a fit starts).

Both take the resolved :class:`~embedlab.settings.ImplicitMFSettings` and the training
``(user_index, item_index, weight)`` arrays, and return the two embedding tables under
the names of :class:`~embedlab.nn.MFModule` without biases.
"""

from __future__ import annotations

from typing import Any

from embedlab.settings import ImplicitMFSettings
from embedlab.training._history import History
from embedlab.training.engines._base import EngineResult, TrainData, check_options, register_engine

__all__ = ["ImplicitALSEngine", "ImplicitBPREngine"]


class ImplicitALSEngine:
    """Confidence-weighted ALS with conjugate-gradient solves: compiled for the CPU
    (:func:`fit_implicit_als`), or in torch on ``device="cuda"``
    (:func:`~embedlab.training._torch_implicit.fit_implicit_als_torch`)."""

    name = "implicit_als"

    def fit(
        self,
        data: TrainData,
        settings: ImplicitMFSettings,
        *,
        module: Any = None,
        callbacks: Any = None,
        progress: bool = False,
        **options: Any,
    ) -> EngineResult:
        check_options(self.name, options, ())
        s = settings
        common = {
            "embedding_dim": s.embedding_dim,
            "epochs": s.epochs,
            "l2_user": s.l2_user,
            "l2_item": s.l2_item,
            "alpha": s.alpha,
            "cg_steps": s.cg_steps,
            "init_std": s.init_std,
            "random_state": s.random_state,
            "callbacks": callbacks,
            "progress": progress,
        }
        if s.device == "cuda":
            from embedlab.training import _torch_implicit

            params, records = _torch_implicit.fit_implicit_als_torch(
                *data.train, data.n_users, data.n_items, device="cuda", **common
            )
        else:
            from embedlab.training._cpu_implicit import fit_implicit_als

            params, records = fit_implicit_als(
                *data.train, data.n_users, data.n_items, n_threads=s.n_threads, **common
            )
        return EngineResult(params, History(records), {"device": s.device})


class ImplicitBPREngine:
    """Bayesian personalized ranking by SGD on one thread (:func:`fit_implicit_bpr`)."""

    name = "implicit_bpr"

    def fit(
        self,
        data: TrainData,
        settings: ImplicitMFSettings,
        *,
        module: Any = None,
        callbacks: Any = None,
        progress: bool = False,
        **options: Any,
    ) -> EngineResult:
        from embedlab.training._cpu_implicit import fit_implicit_bpr

        check_options(self.name, options, ())
        s = settings
        params, records = fit_implicit_bpr(
            *data.train,
            data.n_users,
            data.n_items,
            embedding_dim=s.embedding_dim,
            epochs=s.epochs,
            learning_rate=s.learning_rate,
            l2_user=s.l2_user,
            l2_item=s.l2_item,
            init_std=s.init_std,
            random_state=s.random_state,
            callbacks=callbacks,
            progress=progress,
        )
        return EngineResult(params, History(records))


register_engine("implicit_als", ImplicitALSEngine)
register_engine("implicit_bpr", ImplicitBPREngine)
