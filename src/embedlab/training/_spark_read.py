"""Reading ratings in Spark: :func:`read_spark_ratings` and the checks it makes.

:func:`read_spark_ratings` reads a CSV/TSV/Parquet source (any Spark-readable path or
URI) or a Spark DataFrame in Spark itself, checks the ID and rating columns in one
Spark job, maps raw IDs to indices there (the distinct IDs, which are few, come to
the driver to build the vocabularies; a broadcast join maps them), and brings the
ratings to the driver once, as three compact arrays, for the seen-items table and the
counts the bundle keeps (fine up to ~100M ratings). :func:`embedlab.models.fit_spark_als`
trains on the result with :func:`~embedlab.training.fit_mf_spark`
(:mod:`embedlab.training._spark`, which also holds the session and the Arrow helpers).

pyspark is an optional dependency (``pip install "embedlab[spark]"``) and needs Java
17; it is imported only when a Spark function runs, never by ``import embedlab``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab.exceptions import DataError
from embedlab.training._spark import _to_arrow, quiet_pandas_warning

if TYPE_CHECKING:
    from embedlab.data import Interactions

__all__ = ["SparkRatings", "read_spark_ratings"]

_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".dat": "::"}


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
