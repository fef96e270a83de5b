"""The Spark engines: ``pyspark.ml`` ALS on the residual of damped biases
(:func:`~embedlab.training.fit_mf_spark`), and its implicit ALS for implicit feedback
(``"implicit_spark"``); pyspark is imported only when they run."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from embedlab.settings import MFSettings
from embedlab.training._history import History
from embedlab.training._spark import fit_mf_spark, frame_from_arrays, spark_session
from embedlab.training.engines._base import EngineResult, TrainData, register_engine

__all__ = ["ImplicitSparkEngine", "SparkEngine"]


@contextmanager
def _session_and_frame(
    data: TrainData, spark: Any, spark_master: str | None, spark_conf: Any, frame: Any
) -> Iterator[tuple[Any, Any]]:
    """The Spark session and a DataFrame of the training triples (the given ``frame``, or
    the arrays written for Spark to read, removed afterwards)."""
    session = spark_session(spark, master=spark_master, conf=spark_conf)
    folder = None
    if frame is None:
        u, i, values = data.train
        frame, folder = frame_from_arrays(
            session, {"user_index": u, "item_index": i, "rating": values}
        )
    try:
        yield session, frame
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


class SparkEngine:
    """Trains on a Spark session: ``spark`` (a session), ``spark_master``, ``spark_conf``
    choose it; ``frame`` hands over a Spark DataFrame of the training indices that
    Spark already holds (else the arrays are written for Spark to read)."""

    name = "spark"

    def fit(
        self,
        data: TrainData,
        settings: MFSettings,
        *,
        module: Any = None,
        callbacks: Any = None,
        progress: bool = False,
        spark: Any = None,
        spark_master: str | None = None,
        spark_conf: Any = None,
        frame: Any = None,
        **options: Any,
    ) -> EngineResult:
        s = settings
        with _session_and_frame(data, spark, spark_master, spark_conf, frame) as (session, frame):
            params, records = fit_mf_spark(
                frame,
                data.n_users,
                data.n_items,
                embedding_dim=s.embedding_dim,
                epochs=s.epochs,
                l2_user=s.l2_user,
                l2_item=s.l2_item,
                l2_bias=s.l2_bias,
                bias_damping=s.bias_damping,
                user_bias=s.user_bias,
                item_bias=s.item_bias,
                global_mean=data.global_mean if s.global_bias else None,
                train=data.train,
                validation=data.validation,
                random_state=s.random_state,
                spark=session,
                callbacks=callbacks,
                progress=progress,
            )
        return EngineResult(params, History(records))


register_engine("spark", SparkEngine)


class ImplicitSparkEngine:
    """Spark's implicit ALS (``implicitPrefs=True``) for
    :class:`~embedlab.ImplicitMatrixFactorization` (:func:`fit_implicit_spark`); the
    session options as :class:`SparkEngine`'s."""

    name = "implicit_spark"

    def fit(
        self,
        data: TrainData,
        settings: Any,
        *,
        module: Any = None,
        callbacks: Any = None,
        progress: bool = False,
        spark: Any = None,
        spark_master: str | None = None,
        spark_conf: Any = None,
        frame: Any = None,
        **options: Any,
    ) -> EngineResult:
        from embedlab.training._spark import fit_implicit_spark

        s = settings
        with _session_and_frame(data, spark, spark_master, spark_conf, frame) as (session, frame):
            params, records = fit_implicit_spark(
                frame,
                data.n_users,
                data.n_items,
                embedding_dim=s.embedding_dim,
                epochs=s.epochs,
                l2_user=s.l2_user,
                l2_item=s.l2_item,
                alpha=s.alpha,
                train=data.train,
                random_state=s.random_state,
                spark=session,
                callbacks=callbacks,
                progress=progress,
            )
        return EngineResult(params, History(records))


register_engine("implicit_spark", ImplicitSparkEngine)
