"""Engines behind one interface, chosen by name: ``sgd`` and ``als`` (compiled CPU
matrix factorization), ``torch`` and ``compiled`` (the mini-batch trainer and its fused
neural epoch), ``spark`` (pyspark ALS), ``implicit_als`` and ``implicit_bpr`` (implicit
feedback). See :mod:`embedlab.training.engines._base`."""

from embedlab.training.engines import (  # noqa: F401  (registration)
    _compiled_mf,
    _implicit,
    _spark,
    _torch,
)
from embedlab.training.engines._base import (
    Engine,
    EngineResult,
    TrainData,
    engine_names,
    get_engine,
    register_engine,
)
from embedlab.training.engines._compiled_mf import sgd_schedule

__all__ = [
    "Engine",
    "EngineResult",
    "TrainData",
    "engine_names",
    "get_engine",
    "register_engine",
    "sgd_schedule",
]
