"""Engines behind one interface, chosen by name: ``sgd`` and ``als`` (compiled CPU
matrix factorization), ``torch`` and ``compiled`` (the mini-batch trainer and its fused
neural epoch), ``spark`` (pyspark ALS). See :mod:`embedlab.training.engines._base`."""

from embedlab.training.engines import _compiled_mf, _spark, _torch  # noqa: F401  (registration)
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
