"""Matrix factorization on Apache Spark: ``pyspark.ml.recommendation.ALS`` with biases.

Spark's ALS fits ``r ≈ p_u·q_i`` with the weighted-λ penalty (``regParam`` times the
row's rating count, per user and per item), which is the per-occurrence L2 of
embedlab's own engines. It has no biases, so :func:`fit_mf_spark` first computes
them with Spark aggregations, as damped means alternated a few times::

    b_i = Σ_u (r_ui − μ − b_u) / (n_i (1 + λ_bias) + β)
    b_u = Σ_i (r_ui − μ − b_i) / (n_u (1 + λ_bias) + β)

(the minimiser of the same objective, biases alone, with ``β`` = ``bias_damping``),
then runs ALS on the residual ``r − μ − b_u − b_i``; the biases are then estimated
again from ``r − μ − p_u·q_i`` and ALS refits (:data:`ALS_ROUNDS` fits in all: block
coordinate descent on the joint objective). The result is the biased model
``r̂ = μ + b_u + b_i + p_u·q_i`` of :class:`~embedlab.nn.MFModule`, under the same
parameter names as the other engines, so the bundle, recommendations, neighbours,
maps and the web explorer work unchanged.

Spark ALS has one ``regParam`` for both sides; different ``l2_user`` and
``l2_item`` are honoured exactly by training with ``√(λ_user λ_item)`` and rescaling
``p_u / a``, ``q_i · a`` with ``a = (λ_user / λ_item)^¼`` (the products ``p_u·q_i``
do not change, and the two penalties become the requested ones).

Reading ratings in Spark (sources, column checks, vocabularies,
:func:`~embedlab.training.read_spark_ratings`) lives in
:mod:`embedlab.training._spark_read`; this module holds the session, the Arrow
helpers both use, and the engine.

pyspark is an optional dependency (``pip install "embedlab[spark]"``) and needs Java
17; it is imported only when a Spark function runs, never by ``import embedlab``.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from embedlab.exceptions import EmbedlabError, TrainingDivergedError

__all__ = [
    "SPARK_MASTER_ENV",
    "fit_implicit_spark",
    "fit_mf_spark",
    "spark_session",
]

#: Environment variable naming the Spark master when none is given (default ``local[*]``).
SPARK_MASTER_ENV = "EMBEDLAB_SPARK_MASTER"

#: pyspark warns on every pandas conversion that pandas >= 3 is not fully supported.
#: embedlab moves data through Arrow, not pandas, and silences just this warning.
_PANDAS3_WARNING = "PySpark does not yet fully support pandas >= 3.0.0"

#: Alternations of the damped bias means (user, item) before ALS runs on the residual.
BIAS_ITERATIONS = 3

#: ALS fits: after the first, the biases are estimated again from ``r − μ − p_u·q_i`` and
#: ALS refits the new residual (ML-100K u1.base, 10% validation: 0.9205 with one fit,
#: 0.9189 with two, 0.9188 with three; the compiled ALS engine 0.917).
ALS_ROUNDS = 2

_INSTALL = 'pip install "embedlab[spark]"'
_JAVA = "install Java 17 (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"

_LOG4J = """\
rootLogger.level = error
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
"""


# ---------------------------------------------------------------------- session
@contextlib.contextmanager
def quiet_pandas_warning() -> Iterator[None]:
    """Silence pyspark's one warning about pandas >= 3 (and nothing else)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PANDAS3_WARNING, category=FutureWarning)
        yield


def _import_pyspark() -> Any:
    try:
        with quiet_pandas_warning():
            import pyspark
            from pyspark.sql import SparkSession  # noqa: F401
    except ImportError:
        raise ImportError(
            f"engine='spark' needs pyspark, which is not installed: {_INSTALL} (and Java 17)"
        ) from None
    return pyspark


def _java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


def _is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[") or master.startswith("local-cluster")


def _local_cores(master: str) -> int:
    inside = master[master.find("[") + 1 : master.find("]")] if "[" in master else "1"
    inside = inside.split(",")[0]
    return (
        (os.cpu_count() or 1) if inside == "*" else max(1, int(inside) if inside.isdigit() else 1)
    )


def _scratch() -> Path:
    """A per-process folder outside the working directory for Spark's files."""
    folder = Path(tempfile.gettempdir()) / f"embedlab-spark-{os.getpid()}"
    if not folder.exists():
        folder.mkdir(parents=True, exist_ok=True)
        # Registered before the session starts, so it runs after pyspark stops it.
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def spark_session(
    spark: Any = None,
    *,
    master: str | None = None,
    conf: Mapping[str, Any] | None = None,
) -> Any:
    """The Spark session embedlab trains on.

    ``spark`` when given; else the active session (when ``master`` is None or names its
    master); else a new one, on ``master``, ``$EMBEDLAB_SPARK_MASTER`` or ``local[*]``
    (under ``spark-submit``: the master it was given).
    A new session is quiet (log level ERROR, no console progress bar), moves data
    through Arrow, uses few shuffle partitions on a local master, and keeps its
    warehouse, Derby and temporary files in a temporary folder, never in the working
    directory. ``conf`` entries override these settings (``spark.driver.memory``
    ...); on a local master they must be set before the first session starts.

    Args:
        spark: A ``pyspark.sql.SparkSession`` to use as it is.
        master: Spark master URL (``local[4]``, ``spark://host:7077``, ``yarn``...).
        conf: Extra Spark configuration for a new session.

    Returns:
        A ``pyspark.sql.SparkSession``.

    Raises:
        ImportError: If pyspark is not installed.
        EmbedlabError: If Java is missing or the Spark JVM does not start.
    """
    if spark is not None:
        return spark
    _import_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and (master is None or active.sparkContext.master == master):
        return active
    master = master or os.environ.get(SPARK_MASTER_ENV)
    # Under spark-submit (or the pyspark shell) the JVM runs already, with the master and
    # memory given on its command line: keep them unless a master is asked for.
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    if master is None and not submitted:
        master = "local[*]"
    if not submitted and not _java_available():
        raise EmbedlabError(f"Spark needs Java, which was not found: {_JAVA}")
    scratch = _scratch()
    log4j = scratch / "log4j2.properties"
    log4j.write_text(_LOG4J, encoding="utf-8")
    java_opts = (
        f"-Dlog4j.configurationFile={log4j.as_uri()} -Dderby.system.home={scratch / 'derby'}"
    )
    settings: dict[str, Any] = {
        "spark.app.name": "embedlab",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        "spark.local.dir": str(scratch / "local"),
        "spark.driver.extraJavaOptions": java_opts,
    }
    if submitted:  # the JVM's options are fixed already
        del settings["spark.driver.extraJavaOptions"]
    if master is not None and _is_local(master):
        cores = _local_cores(master)
        settings["spark.sql.shuffle.partitions"] = str(max(2, 2 * cores))
        settings["spark.default.parallelism"] = str(max(2, cores))
        if not submitted:
            settings["spark.driver.memory"] = "4g"
    settings.update({k: str(v) for k, v in (conf or {}).items()})
    builder = SparkSession.builder
    if master is not None:
        builder = builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        with quiet_pandas_warning():
            session = builder.getOrCreate()
    except Exception as exc:  # pyspark raises its own error types for a failed JVM start
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        shown = repr(master) if master is not None else "from spark-submit"
        raise EmbedlabError(
            f"Spark (master {shown}) did not start: {first}; check the master URL, and {_JAVA}"
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session


# ---------------------------------------------------------------------- frames
def _to_arrow(frame: Any) -> Any:
    with quiet_pandas_warning():
        return frame.toArrow()


def frame_from_arrays(spark: Any, columns: Mapping[str, np.ndarray]) -> tuple[Any, Path | None]:
    """A Spark DataFrame of numpy columns, and the temporary folder that holds it (if any).

    On a local master the arrays go through a temporary Parquet file (Spark then
    reads it in parallel and never keeps it in the driver's heap); on a cluster they
    are sent through Arrow (``createDataFrame``), since the driver's files are not
    visible to the executors. Remove the folder when the frame is no longer needed.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(dict(columns))
    if _is_local(spark.sparkContext.master):
        folder = Path(tempfile.mkdtemp(prefix="frame-", dir=_scratch()))
        pq.write_table(table, folder / "part-0.parquet")
        return spark.read.parquet(str(folder)), folder
    with quiet_pandas_warning():
        return spark.createDataFrame(table), None


# ---------------------------------------------------------------------- training
def _bias_step(
    frame: Any,
    key: str,
    other: str,
    other_bias: np.ndarray | None,
    mu: float,
    n_rows: int,
    denom_l2: float,
    damping: float,
    spark: Any,
) -> np.ndarray:
    """One damped-mean pass: ``Σ (r − μ − b_other) / (n (1 + λ) + β)`` per ``key`` row."""
    from pyspark.sql import functions as F

    residual = F.col("rating") - F.lit(mu)
    if other_bias is not None:
        bias_frame = _small_frame(spark, {other: np.arange(len(other_bias), dtype=np.int32),
                                          "_b": other_bias.astype(np.float64)})  # fmt: skip
        frame = frame.join(F.broadcast(bias_frame), on=other, how="left")
        residual = residual - F.coalesce(F.col("_b"), F.lit(0.0))
    sums = _to_arrow(
        frame.groupBy(key).agg(F.sum(residual).alias("s"), F.count(F.lit(1)).alias("n"))
    )
    idx = sums.column(key).to_numpy()
    s = sums.column("s").to_numpy().astype(np.float64)
    n = sums.column("n").to_numpy().astype(np.float64)
    out = np.zeros(n_rows, dtype=np.float64)
    out[idx] = s / (n * (1.0 + denom_l2) + damping)
    return out


def _small_frame(spark: Any, columns: Mapping[str, np.ndarray]) -> Any:
    """A small Spark DataFrame (bias or ID tables) through Arrow."""
    import pyarrow as pa

    with quiet_pandas_warning():
        return spark.createDataFrame(pa.table(dict(columns)))


def _minus_factors(frame: Any, model: Any) -> Any:
    """``frame`` with ``rating`` replaced by ``r − p_u·q_i`` of an ALS model (persisted)."""
    from pyspark.sql import functions as F

    users = model.userFactors.select(F.col("id").alias("user_index"), F.col("features").alias("_p"))
    items = model.itemFactors.select(F.col("id").alias("item_index"), F.col("features").alias("_q"))
    dot = F.aggregate(
        F.zip_with("_p", "_q", lambda x, y: x * y), F.lit(0.0), lambda acc, x: acc + x
    )
    return (
        frame.join(users, on="user_index", how="left")
        .join(items, on="item_index", how="left")
        .select(
            "user_index",
            "item_index",
            (F.col("rating") - F.coalesce(dot, F.lit(0.0))).alias("rating"),
        )
        .persist()
    )


def _factors(frame: Any, n_rows: int, dim: int) -> np.ndarray:
    table = _to_arrow(frame)
    out = np.zeros((n_rows, dim), dtype=np.float32)
    if table.num_rows:
        ids = table.column("id").to_numpy()
        values = table.column("features").combine_chunks().flatten().to_numpy()
        out[ids] = values.reshape(table.num_rows, dim)
    return out


def fit_mf_spark(
    frame: Any,
    n_users: int,
    n_items: int,
    *,
    embedding_dim: int = 32,
    epochs: int = 10,
    l2_user: float = 0.15,
    l2_item: float = 0.15,
    l2_bias: float = 0.0,
    bias_damping: float = 5.0,
    user_bias: bool = True,
    item_bias: bool = True,
    global_mean: float | None = None,
    train: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    validation: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    random_state: int | None = 0,
    rounds: int = ALS_ROUNDS,
    spark: Any = None,
    callbacks: Any = None,
    progress: bool = False,
) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """Fit biased matrix factorization with Spark: damped biases, then ALS on the residual.

    Args:
        frame: A Spark DataFrame with int columns ``user_index``, ``item_index`` and a
            numeric ``rating`` (indices in ``[0, n_users)``, ``[0, n_items)``).
        n_users: Rows of the user tables.
        n_items: Rows of the item tables.
        embedding_dim: ALS ``rank``.
        epochs: ALS ``maxIter``.
        l2_user: ``λ_user`` (weighted-λ, per rating).
        l2_item: ``λ_item``.
        l2_bias: ``λ_bias`` per rating in the bias means.
        bias_damping: ``β``: added once to each bias mean's denominator.
        user_bias: Learn ``b_u``.
        item_bias: Learn ``b_i``.
        global_mean: μ (None: no global bias).
        train: The training arrays, to report the training MSE (None: computed in
            Spark).
        validation: ``(user_indices, item_indices, ratings)`` scored after training.
        random_state: ALS ``seed`` (None: 0).
        rounds: ALS fits; between two, the biases are estimated again from
            ``r − μ − p_u·q_i`` (block coordinate descent on the joint objective).
        spark: The session (default :func:`spark_session`).
        callbacks: Called once, after training, with the history record.
        progress: Print one line to stderr.

    Returns:
        ``(params, history)``: parameters under the names of
        :class:`~embedlab.nn.MFModule`'s state dict, and one history record (Spark
        ALS cannot report per iteration).

    Raises:
        ValueError: For out-of-range hyperparameters.
        TrainingDivergedError: If the parameters are not finite.
    """
    from embedlab.training._callbacks import as_callbacks
    from embedlab.training._cpu_mf import _int_opt, _real_opt

    embedding_dim = _int_opt("embedding_dim", embedding_dim, 1)
    epochs = _int_opt("epochs", epochs, 1)
    l2u = _real_opt("l2_user", l2_user)
    l2i = _real_opt("l2_item", l2_item)
    l2b = _real_opt("l2_bias", l2_bias)
    beta = _real_opt("bias_damping", bias_damping)
    rounds = _int_opt("rounds", rounds, 1)
    cbs = as_callbacks(callbacks)
    spark = spark_session(spark)
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    mu = 0.0 if global_mean is None else float(global_mean)
    frame = frame.select(
        F.col("user_index").cast("int").alias("user_index"),
        F.col("item_index").cast("int").alias("item_index"),
        F.col("rating").cast("double").alias("rating"),
    ).persist()
    try:
        bu = np.zeros(n_users, dtype=np.float64)
        bi = np.zeros(n_items, dtype=np.float64)
        has_bias = user_bias or item_bias
        passes = BIAS_ITERATIONS if (user_bias and item_bias) else 1
        blocks = max(1, spark.sparkContext.defaultParallelism)
        reg = math.sqrt(l2u * l2i)
        als = ALS(
            rank=embedding_dim,
            maxIter=epochs,
            regParam=reg,
            userCol="user_index",
            itemCol="item_index",
            ratingCol="residual",
            nonnegative=False,
            implicitPrefs=False,
            seed=0 if random_state is None else int(random_state) % (2**31),
            numUserBlocks=blocks,
            numItemBlocks=blocks,
            coldStartStrategy="nan",
        )
        biased = frame  # "rating" is r, then r − p·q of the previous ALS fit
        fits = rounds if has_bias else 1
        for fit in range(fits):
            for _ in range(passes if has_bias else 0):
                if item_bias:
                    bi = _bias_step(biased, "item_index", "user_index", bu if user_bias else None,
                                    mu, n_items, l2b, beta, spark)  # fmt: skip
                if user_bias:
                    bu = _bias_step(biased, "user_index", "item_index", bi if item_bias else None,
                                    mu, n_users, l2b, beta, spark)  # fmt: skip
            residual = F.col("rating") - F.lit(mu)
            target = frame
            for key, bias in (("user_index", bu if user_bias else None),
                              ("item_index", bi if item_bias else None)):  # fmt: skip
                if bias is None:
                    continue
                name = f"_b_{key}"
                table = _small_frame(spark, {key: np.arange(len(bias), dtype=np.int32), name: bias})
                target = target.join(F.broadcast(table), on=key, how="left")
                residual = residual - F.coalesce(F.col(name), F.lit(0.0))
            target = target.select("user_index", "item_index", residual.alias("residual"))
            model = als.fit(target)
            if fit + 1 < fits:
                if biased is not frame:
                    biased.unpersist()
                biased = _minus_factors(frame, model)
        if biased is not frame:
            biased.unpersist()
        P = _factors(model.userFactors, n_users, embedding_dim)
        Q = _factors(model.itemFactors, n_items, embedding_dim)
        if reg > 0 and l2u != l2i:
            a = np.float32((l2u / l2i) ** 0.25)
            P /= a
            Q *= a
        if train is None:
            pairs = _to_arrow(frame)
            train = (
                pairs.column("user_index").to_numpy(),
                pairs.column("item_index").to_numpy(),
                pairs.column("rating").to_numpy(),
            )
    finally:
        frame.unpersist()
    from embedlab.training._cpu_mf_kernels import predict

    def _predict(u: Any, i: Any) -> np.ndarray:  # the compiled engines' own scorer
        u32, i32 = (np.ascontiguousarray(a, dtype=np.int32) for a in (u, i))
        return predict(u32, i32, P, Q, bu32, bi32, float(mu))

    bu32, bi32 = bu.astype(np.float32), bi.astype(np.float32)
    err = _predict(train[0], train[1]) - np.asarray(train[2], np.float64)
    train_loss = float(np.mean(err * err)) if len(err) else 0.0
    if not (
        math.isfinite(train_loss)
        and np.isfinite(P).all()
        and np.isfinite(Q).all()
        and np.isfinite(bu32).all()
        and np.isfinite(bi32).all()
    ):
        raise TrainingDivergedError(
            f"spark: the parameters are NaN or infinite after {epochs} ALS iterations "
            f"(train loss {train_loss:.4g}); raise l2_user / l2_item"
        )
    record: dict[str, Any] = {
        "epoch": epochs,
        "train_loss": train_loss,
        "val_rmse": None,
        "val_mae": None,
    }
    if validation is not None and len(validation[2]):
        vu, vi, vr = (np.asarray(a) for a in validation)
        verr = _predict(vu, vi) - vr.astype(np.float64)
        record["val_rmse"] = float(np.sqrt(np.mean(verr * verr)))
        record["val_mae"] = float(np.mean(np.abs(verr)))
    record["seconds"] = time.perf_counter() - t0
    record["learning_rate"] = None
    if progress:
        val = (
            ""
            if record["val_rmse"] is None
            else f"  val_rmse {record['val_rmse']:.4f}  val_mae {record['val_mae']:.4f}"
        )
        print(
            f"spark ALS, {epochs} iterations: train_loss {train_loss:.4f}{val}  "
            f"{record['seconds']:.2f}s",
            file=sys.stderr,
        )
    for cb in cbs:
        cb.on_epoch_end(epochs, dict(record))
    params: dict[str, np.ndarray] = {"user_embedding.weight": P, "item_embedding.weight": Q}
    if user_bias:
        params["user_bias.weight"] = bu32.reshape(-1, 1)
    if item_bias:
        params["item_bias.weight"] = bi32.reshape(-1, 1)
    if global_mean is not None:
        params["global_bias"] = np.array(mu, dtype=np.float32)
    return params, [record]


def fit_implicit_spark(
    frame: Any,
    n_users: int,
    n_items: int,
    *,
    embedding_dim: int = 64,
    epochs: int = 15,
    l2_user: float = 0.1,
    l2_item: float = 0.1,
    alpha: float = 10.0,
    train: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    random_state: int | None = 0,
    spark: Any = None,
    callbacks: Any = None,
    progress: bool = False,
) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """Fit implicit-feedback matrix factorization with Spark's ALS (``implicitPrefs=True``).

    Spark solves Hu, Koren & Volinsky's objective with the confidence ``c = 1 + α w`` as
    :func:`~embedlab.training._cpu_implicit.fit_implicit_als` does, each row exactly,
    but with the L2 strength scaled by the row's number of interactions (weighted-λ):
    ``λ_user · n_u ‖x_u‖²``, so its ``l2_*`` are not the compiled engine's. Unequal
    ``l2_user`` and ``l2_item`` are trained at their geometric mean and the tables
    rescaled (as :func:`fit_mf_spark`).

    Args:
        frame: A Spark DataFrame with int columns ``user_index``, ``item_index`` and a
            numeric ``rating`` holding the weights (>= 0).
        n_users, n_items: Rows of the tables.
        embedding_dim: ALS ``rank``.
        epochs: ALS ``maxIter``.
        l2_user, l2_item: The weighted-λ strengths (``regParam``).
        alpha: ALS ``alpha``.
        train: The training arrays, for the loss of the history (None: read from Spark).
        random_state: ALS ``seed`` (None: 0).
        spark: The session (default :func:`spark_session`).
        callbacks: Called once, after training, with the history record.
        progress: Print one line to stderr.

    Returns:
        ``(params, history)``: ``user_embedding.weight`` and ``item_embedding.weight``,
        and one record (``train_loss``: the weighted-λ objective per unit of confidence).

    Raises:
        SettingsError: For out-of-range hyperparameters (a ValueError).
        TrainingDivergedError: If the tables are not finite.
    """
    from embedlab.training._callbacks import as_callbacks
    from embedlab.training._cpu_mf import _int_opt, _real_opt

    embedding_dim = _int_opt("embedding_dim", embedding_dim, 1)
    epochs = _int_opt("epochs", epochs, 1)
    l2u = _real_opt("l2_user", l2_user)
    l2i = _real_opt("l2_item", l2_item)
    alpha = _real_opt("alpha", alpha)
    cbs = as_callbacks(callbacks)
    spark = spark_session(spark)
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    frame = frame.select(
        F.col("user_index").cast("int").alias("user_index"),
        F.col("item_index").cast("int").alias("item_index"),
        F.col("rating").cast("double").alias("rating"),
    ).where(F.col("rating") > 0)
    blocks = max(1, spark.sparkContext.defaultParallelism)
    reg = math.sqrt(l2u * l2i)
    model = ALS(
        rank=embedding_dim,
        maxIter=epochs,
        regParam=reg,
        alpha=alpha,
        implicitPrefs=True,
        userCol="user_index",
        itemCol="item_index",
        ratingCol="rating",
        nonnegative=False,
        seed=0 if random_state is None else int(random_state) % (2**31),
        numUserBlocks=blocks,
        numItemBlocks=blocks,
    ).fit(frame)
    P = _factors(model.userFactors, n_users, embedding_dim)
    Q = _factors(model.itemFactors, n_items, embedding_dim)
    if reg > 0 and l2u != l2i:
        a = np.float32((l2u / l2i) ** 0.25)
        P /= a
        Q *= a
    if train is None:
        pairs = _to_arrow(frame)
        train = tuple(pairs.column(c).to_numpy() for c in ("user_index", "item_index", "rating"))  # type: ignore[assignment]
    ui, ii, w = (np.asarray(a) for a in train)  # type: ignore[misc]
    keep = w > 0
    ui, ii, w = ui[keep], ii[keep], w[keep].astype(np.float64)
    if not (np.isfinite(P).all() and np.isfinite(Q).all()):
        raise TrainingDivergedError(
            f"spark: the tables are NaN or infinite after {epochs} implicit ALS iterations; "
            "lower alpha or raise l2_user / l2_item"
        )
    P64, Q64 = P.astype(np.float64), Q.astype(np.float64)
    s = np.einsum("ij,ij->i", P64[ui], Q64[ii])
    c = 1.0 + alpha * w
    data = float(np.einsum("ij,ij->", P64 @ (Q64.T @ Q64), P64))  # every pair unobserved
    data += float(np.sum(c * (1.0 - s) ** 2 - s * s))
    n_u, n_i = np.bincount(ui, minlength=n_users), np.bincount(ii, minlength=n_items)
    penalty = l2u * float(n_u @ (P64 * P64).sum(1)) + l2i * float(n_i @ (Q64 * Q64).sum(1))
    weight = n_users * n_items + alpha * float(w.sum())
    record: dict[str, Any] = {
        "epoch": epochs,
        "train_loss": (data + penalty) / weight,
        "seconds": time.perf_counter() - t0,
    }
    if progress:
        print(
            f"spark implicit ALS, {epochs} iterations: train_loss {record['train_loss']:.6f}  "
            f"{record['seconds']:.2f}s",
            file=sys.stderr,
        )
    for cb in cbs:
        cb.on_epoch_end(epochs, dict(record))
    return {"user_embedding.weight": P, "item_embedding.weight": Q}, [record]
