"""Training: one torch trainer for every module, sparse-aware optimizers, history, callbacks.

The compiled CPU engine for matrix factorization lives beside it (``_cpu_mf``), and
the Spark ALS engine (``_spark``; pyspark is imported only when it runs).
"""

from embedlab.training._callbacks import Callback, StopAfter
from embedlab.training._cpu_mf import fit_mf_als, fit_mf_sgd
from embedlab.training._distributed import (
    get_rank,
    get_world_size,
    is_main_process,
    resolve_distributed,
    shard_batches,
)
from embedlab.training._history import History
from embedlab.training._optim import OPTIMIZERS, SCHEDULES, LazyAdam
from embedlab.training._spark import (
    SparkRatings,
    fit_mf_spark,
    read_spark_ratings,
    spark_session,
)
from embedlab.training._trainer import L2_MODES, Trainer, evaluate, predict, resolve_device

__all__ = [
    "L2_MODES",
    "OPTIMIZERS",
    "SCHEDULES",
    "Callback",
    "History",
    "LazyAdam",
    "SparkRatings",
    "StopAfter",
    "Trainer",
    "evaluate",
    "fit_mf_als",
    "fit_mf_sgd",
    "fit_mf_spark",
    "get_rank",
    "get_world_size",
    "is_main_process",
    "predict",
    "read_spark_ratings",
    "resolve_device",
    "resolve_distributed",
    "shard_batches",
    "spark_session",
]
