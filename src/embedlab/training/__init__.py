"""Training: one torch trainer for every module, sparse-aware optimizers, history, callbacks.

Beside it: the compiled CPU engines for matrix factorization (``_cpu_sgd``, ``_cpu_als``
over ``_cpu_mf``'s shared run state), the Spark ALS engine (``_spark``, ``_spark_read``;
pyspark is imported only when it runs), and :mod:`embedlab.training.engines`, the one
interface the estimators train through.
"""

from embedlab.training._callbacks import Callback, StopAfter
from embedlab.training._cpu_als import fit_mf_als
from embedlab.training._cpu_sgd import fit_mf_sgd
from embedlab.training._distributed import (
    get_rank,
    get_world_size,
    is_main_process,
    resolve_distributed,
    shard_batches,
)
from embedlab.training._history import History
from embedlab.training._memory import check_training_memory
from embedlab.training._optim import OPTIMIZERS, SCHEDULES, LazyAdam
from embedlab.training._spark import fit_mf_spark, spark_session
from embedlab.training._spark_read import SparkRatings, read_spark_ratings
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
    "check_training_memory",
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
