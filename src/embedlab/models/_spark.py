"""Matrix factorization on data that Spark reads itself: :func:`fit_spark_als`.

Spark reads and indexes the ratings (:func:`embedlab.training.read_spark_ratings`), the
``"spark"`` engine trains, and a fitted :class:`MatrixFactorization` comes back. pyspark
is imported only when it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from embedlab.models._mf import MatrixFactorization
from embedlab.training import read_spark_ratings, spark_session

__all__ = ["fit_spark_als"]


def fit_spark_als(
    source: Any,
    *,
    user_col: str | int | None = None,
    item_col: str | int | None = None,
    rating_col: str | int | None = None,
    format: str | None = None,
    sep: str | None = None,
    header: bool | None = None,
    model: MatrixFactorization | None = None,
    validation_split: float | None = None,
    duplicates: str = "warn",
    spark: Any = None,
    spark_master: str | None = None,
    spark_conf: Mapping[str, Any] | None = None,
    progress: bool = False,
    **params: Any,
) -> MatrixFactorization:
    """Read ratings in Spark, map IDs there, train Spark ALS, return a fitted model.

    For data that lives where Spark can read it (HDFS, S3, a cluster's disks) or
    that is already a Spark DataFrame. The returned
    :class:`~embedlab.MatrixFactorization` (``engine_ == "spark"``) is the same kind
    of fitted model the other engines give: save, load, predict, recommend,
    ``item_embeddings().most_similar``, maps and ``embedlab serve`` work unchanged.

    Args:
        source: A CSV/TSV/Parquet file or folder (a local path or any Spark URI:
            ``hdfs://``, ``s3a://``...), or a Spark DataFrame.
        user_col: User ID column: a name, a 0-based position, or None to detect
            (``userId``, ``user_id``, ``user``...; positions 0, 1, 2 without a header).
        item_col: Item ID column, likewise (``movieId``, ``item_id``, ``item``...).
        rating_col: Rating column, likewise (``rating``, ``score``, ``stars``...).
        format: ``"csv"`` (any delimited text) or ``"parquet"``; None decides by the
            suffix (``.parquet``/``.pq``/``.parq`` are Parquet).
        sep: Field separator of text; None sniffs a local file like
            :func:`embedlab.load_ratings`, else takes it from the suffix (``.tsv``
            tab, ``.dat`` ``::``, otherwise ``,``).
        header: Whether text starts with a header line; None sniffs a local file
            (else True).
        model: A :class:`~embedlab.MatrixFactorization` whose settings to use
            (its ``engine`` must be ``"spark"`` or ``"auto"``); it is fitted and
            returned. Conflicts with ``params``.
        validation_split: Hold out this fraction of the ratings (chosen by a hash of
            the pair and ``random_state``, so Spark and the driver agree) and report
            the validation RMSE in ``history_``.
        duplicates: Repeated (user, item) pairs, as in :func:`embedlab.load_ratings`.
        spark: A ``SparkSession`` (default: the active one, or a new one).
        spark_master: Master of a new session (default ``$EMBEDLAB_SPARK_MASTER`` or
            ``local[*]``).
        spark_conf: Extra configuration of a new session.
        progress: Print a line to stderr after training.
        **params: :class:`~embedlab.MatrixFactorization` parameters
            (``embedding_dim``, ``epochs``, ``l2_user``...), when ``model`` is None.

    Returns:
        The fitted model.

    Raises:
        DataError: A missing or empty file, missing columns, missing IDs, NaN or
            non-numeric ratings, no rows.
        ValueError: Bad or conflicting options.
        ImportError: If pyspark is not installed.
        EmbedlabError: If Java is missing or Spark does not start.
    """
    if model is not None and params:
        raise ValueError(
            f"pass model= or MatrixFactorization parameters ({', '.join(sorted(params))}), not both"
        )
    if model is None:
        model = MatrixFactorization(**{"engine": "spark", **params})
    elif not isinstance(model, MatrixFactorization):
        raise TypeError(f"model must be a MatrixFactorization, got {type(model).__name__}")
    if model.engine == "auto":
        model.set_params(engine="spark")
    if model.engine != "spark":
        raise ValueError(
            f"model has engine={model.engine!r}; fit_spark_als trains with engine='spark'"
        )
    model.resolved_engine()  # fails fast on a bad setting
    if validation_split is not None and not (
        isinstance(validation_split, (int, float))
        and not isinstance(validation_split, bool)
        and 0 < validation_split < 1
    ):
        raise ValueError(f"validation_split={validation_split!r}: expected a fraction in (0, 1)")
    session = spark_session(spark, master=spark_master, conf=spark_conf)
    seed = 0
    if validation_split is not None and model.random_state is not None:
        seed = int(model.random_state)
    ratings = read_spark_ratings(
        source,
        session,
        user_col=user_col,
        item_col=item_col,
        rating_col=rating_col,
        fmt=format,
        sep=sep,
        header=header,
        validation_split=validation_split,
        seed=seed,
        duplicates=duplicates,
    )
    try:
        model.fit(
            ratings.train,
            validation=ratings.validation,
            progress=progress,
            spark=session,
            spark_frame=ratings.train_frame,
        )
    finally:
        ratings.release()
    return model
