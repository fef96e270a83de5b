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

:func:`fit_spark_als` reads a CSV/TSV/Parquet source (any Spark-readable path or
URI) or a Spark DataFrame in Spark itself, maps raw IDs to indices there (the distinct
IDs, which are few, come to the driver to build the vocabularies), trains, and returns
(:func:`embedlab.models.fit_spark_als`) a fitted :class:`~embedlab.MatrixFactorization`. The ratings themselves come to the
driver once, as three compact arrays, for the seen-items table and the counts the
bundle keeps (fine up to ~100M ratings).

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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab.exceptions import DataError, EmbedlabError, TrainingDivergedError

if TYPE_CHECKING:
    from embedlab.data import Interactions

__all__ = [
    "SPARK_MASTER_ENV",
    "SparkRatings",
    "fit_mf_spark",
    "read_spark_ratings",
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

_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".dat": "::"}


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


# ---------------------------------------------------------------------- sources
def _source_label(source: Any) -> str:
    return str(source) if isinstance(source, (str, os.PathLike)) else "the Spark DataFrame"


def _format_of(path: str, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in ("csv", "parquet"):
            raise ValueError(f"format={fmt!r}: expected 'csv' (any delimited text) or 'parquet'")
        return fmt
    lower = path.lower().rstrip("/")
    for suffix in (".gz", ".bz2"):
        lower = lower.removesuffix(suffix)
    return "parquet" if lower.endswith(_PARQUET_SUFFIXES) else "csv"


def _local_path(path: str) -> Path | None:
    """The local file behind ``path`` (plain or ``file:`` path), None for other URIs."""
    if path.startswith("file:"):
        from urllib.parse import urlparse

        return Path(urlparse(path).path)
    if "://" in path:
        return None
    return Path(path).expanduser()


def _sniff(local: Path, sep: str | None, header: bool | None) -> tuple[str, bool]:
    """Separator and header line of a local text file, as embedlab's own loader sees them."""
    from embedlab.data import sniff_table

    if sep is not None and header is not None:
        return sep, header
    if local.is_dir():
        return sep or ",", True if header is None else header
    return sniff_table(local, sep, header)


def read_source(
    source: Any,
    spark: Any,
    *,
    fmt: str | None,
    sep: str | None,
    header: bool | None,
) -> tuple[Any, bool, str]:
    """A Spark DataFrame for ``source``, whether its columns have names, and its label.

    Raises:
        DataError: A missing or empty file, an unreadable source.
        TypeError: A source that is neither a path nor a Spark DataFrame.
    """
    label = _source_label(source)
    if not isinstance(source, (str, os.PathLike)):
        if hasattr(source, "columns") and hasattr(source, "sparkSession"):
            return source, True, label
        raise TypeError(
            f"source must be a path (CSV/TSV/Parquet file or folder, any Spark URI) or a Spark "
            f"DataFrame, got {type(source).__name__}"
        )
    path = os.fspath(source)
    fmt = _format_of(path, fmt)
    local = _local_path(path)
    if local is not None:
        if not local.exists():
            raise DataError(
                f"source {path!r}: file not found; pass an existing CSV/TSV/Parquet path"
            )
        if local.is_file() and local.stat().st_size == 0:
            raise DataError(
                f"source {path!r}: the file is empty; expected a ratings table with user, item "
                "and rating columns"
            )
        path = str(local.resolve())
    from pyspark.errors import AnalysisException

    try:
        if fmt == "parquet":
            return spark.read.parquet(path), True, label
        if local is not None and local.is_file():
            sep, header = _sniff(local, sep, header)
        if sep is None:
            suffix = Path(path.lower().removesuffix(".gz").removesuffix(".bz2")).suffix
            sep = _TEXT_SUFFIXES.get(suffix, ",")
        header = True if header is None else header
        frame = (
            spark.read.option("sep", sep)
            .option("header", str(bool(header)).lower())
            .option("inferSchema", "true")
            .option("mode", "FAILFAST")
            .csv(path)
        )
        return frame, bool(header), label
    except AnalysisException as exc:
        first = str(exc).strip().splitlines()[0]
        raise DataError(f"source {path!r}: Spark cannot read it ({first})") from None


def _resolve(
    frame: Any, named: bool, label: str, user_col: Any, item_col: Any, rating_col: Any
) -> tuple[str, str, str]:
    from embedlab.data import resolve_columns

    names = list(frame.columns)
    refs = {"user": user_col, "item": item_col, "rating": rating_col, "timestamp": False}
    try:
        chosen = resolve_columns(names, refs, named=named, source=label)
    except DataError as exc:  # name fit_spark_als's arguments, not load_ratings'
        text = str(exc)
        for role in ("user", "item", "rating"):
            text = text.replace(f"pass {role}=", f"pass {role}_col=")
            text = text.replace(f"for {role}; columns", f"for {role}_col; columns")
        raise DataError(text) from None
    return names[chosen["user"]], names[chosen["item"]], names[chosen["rating"]]


def _check_columns(frame: Any, label: str, user: str, item: str, rating: str) -> int:
    """Row count after checking IDs and ratings in one Spark job.

    Raises:
        DataError: Missing IDs, missing / NaN / non-numeric ratings, no rows.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType

    rtype = frame.schema[rating].dataType
    if not isinstance(rtype, NumericType):
        raise DataError(
            f"{label}: column {rating!r} (rating) holds {rtype.simpleString()} values; "
            "expected numbers; pass rating_col= the numeric rating column"
        )
    r = F.col(rating).cast("double")
    row = frame.agg(
        F.count(F.lit(1)).alias("n"),
        F.sum(F.col(user).isNull().cast("long")).alias("user_null"),
        F.sum(F.col(item).isNull().cast("long")).alias("item_null"),
        F.sum((r.isNull() | F.isnan(r)).cast("long")).alias("rating_bad"),
        F.sum((F.abs(r) == F.lit(float("inf"))).cast("long")).alias("rating_inf"),
    ).collect()[0]
    n = int(row["n"])
    if n == 0:
        raise DataError(
            f"{label}: no ratings (empty input); expected at least one (user, item, rating) row"
        )
    for role, col, count in (("user", user, row["user_null"]), ("item", item, row["item_null"])):
        if count:
            raise DataError(
                f"{label}: {int(count)} of {n} rows have no {role} ID in column {col!r}; "
                "every row needs an ID, drop those rows first"
            )
    bad = int(row["rating_bad"] or 0) + int(row["rating_inf"] or 0)
    if bad:
        raise DataError(
            f"{label}: {bad} of {n} ratings in column {rating!r} are missing, NaN or infinite; "
            "drop those rows first"
        )
    return n


def _vocabulary(frame: Any, col: str, name: str, spark: Any) -> tuple[Any, Any]:
    """The vocabulary of ``col``'s distinct IDs (built on the driver) and an ID → index frame."""
    from embedlab.data import Vocabulary

    ids = _to_arrow(frame.select(col).distinct()).column(col)
    vocab, codes = Vocabulary.from_values(ids, name=name)
    values = ids.to_numpy(zero_copy_only=False)
    if vocab.kind == "str":
        values = values.astype(object)
    import pyarrow as pa

    table = pa.table({col: pa.array(values, type=ids.type), f"{name}_index": codes})
    with quiet_pandas_warning():
        mapping = spark.createDataFrame(table)
    return vocab, mapping


@dataclass
class SparkRatings:
    """Ratings that Spark read and indexed, on the driver as :class:`~embedlab.data.Interactions`.

    Attributes:
        train: The training ratings.
        validation: The held-out ratings; None without ``validation_split``.
        train_frame: The persisted Spark frame of the training rows (``user_index``,
            ``item_index``, ``rating``), for an engine that trains in Spark; None when it
            does not match ``train`` row for row (duplicate pairs merged on the driver).
        indexed: The persisted frame of all rows; :meth:`release` unpersists it.
    """

    train: Interactions
    validation: Interactions | None
    train_frame: Any
    indexed: Any

    def release(self) -> None:
        """Unpersist the Spark frames."""
        self.indexed.unpersist()


def read_spark_ratings(
    source: Any,
    spark: Any,
    *,
    user_col: str | int | None = None,
    item_col: str | int | None = None,
    rating_col: str | int | None = None,
    fmt: str | None = None,
    sep: str | None = None,
    header: bool | None = None,
    validation_split: float | None = None,
    seed: int = 0,
    duplicates: str = "warn",
) -> SparkRatings:
    """Read ratings in Spark, map IDs to indices there, and bring them to the driver.

    The arguments are :func:`fit_spark_als`'s (``fmt`` is its ``format``); ``seed``
    picks the validation rows (a hash of the pair and the seed, so Spark and the
    driver agree). Call :meth:`SparkRatings.release` when done with the frames.

    Raises:
        DataError: A missing or empty file, missing columns, missing IDs, NaN or
            non-numeric ratings, no rows.
        ValueError: If ``validation_split`` leaves an empty train or validation set.
    """
    from pyspark.sql import functions as F

    from embedlab.data import Interactions

    frame, named, label = read_source(source, spark, fmt=fmt, sep=sep, header=header)
    user, item, rating = _resolve(frame, named, label, user_col, item_col, rating_col)
    frame = frame.select(user, item, rating)
    n_rows = _check_columns(frame, label, user, item, rating)
    users, user_map = _vocabulary(frame, user, "user", spark)
    items, item_map = _vocabulary(frame, item, "item", spark)
    indexed = (
        frame.join(F.broadcast(user_map), on=user, how="inner")
        .join(F.broadcast(item_map), on=item, how="inner")
        .select(
            F.col("user_index").cast("int").alias("user_index"),
            F.col("item_index").cast("int").alias("item_index"),
            F.col(rating).cast("float").alias("rating"),
        )
    )
    if validation_split is not None:
        bucket = F.pmod(F.xxhash64("user_index", "item_index", F.lit(seed)), F.lit(1_000_000))
        indexed = indexed.withColumn("_val", bucket < F.lit(int(validation_split * 1_000_000)))
    indexed = indexed.persist()
    try:
        table = _to_arrow(indexed)
        if table.num_rows != n_rows:
            raise DataError(f"{label}: {n_rows} rows but {table.num_rows} after mapping the IDs")
        ui = table.column("user_index").to_numpy()
        ii = table.column("item_index").to_numpy()
        r = table.column("rating").to_numpy()
        is_val = (
            table.column("_val").to_numpy(zero_copy_only=False).astype(bool)
            if validation_split is not None
            else np.zeros(len(r), dtype=bool)
        )
        del table
        order = np.lexsort((ii, ui))
        ui, ii, r, is_val = ui[order], ii[order], r[order], is_val[order]
        name = Path(label).name if isinstance(source, (str, os.PathLike)) else "spark"
        parts = {}
        for part, mask in (("train", ~is_val), ("validation", is_val)):
            if part == "validation" and validation_split is None:
                continue
            pu, pi, pr = ui[mask], ii[mask], r[mask]
            if len(pr) == 0:
                raise ValueError(
                    f"validation_split={validation_split} leaves an empty train or validation set"
                )
            increasing = not bool(np.any((pu[1:] == pu[:-1]) & (pi[1:] == pi[:-1])))
            parts[part] = Interactions._from_indices(
                pu, pi, pr, None, users, items, duplicates=duplicates, rating_scale=None,
                item_metadata=None, user_metadata=None, name=name, source=label, row_offset=0,
                pairs_increasing=increasing,
            )  # fmt: skip
        train = parts["train"]
        train_frame = indexed if validation_split is None else indexed.filter(~F.col("_val"))
        same_rows = len(train) == int((~is_val).sum())
    except BaseException:
        indexed.unpersist()
        raise
    return SparkRatings(
        train=train,
        validation=parts.get("validation"),
        train_frame=train_frame if same_rows else None,
        indexed=indexed,
    )
