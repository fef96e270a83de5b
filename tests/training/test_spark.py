"""engine="spark" and fit_spark_als: pyspark.ml ALS on a local Spark session (local[2]).

One session serves the whole module (the JVM takes ~10 s to start). Skipped when
pyspark or Java is missing.
"""

from __future__ import annotations

import math
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import embedlab as el
from embedlab import MatrixFactorization
from embedlab.exceptions import DataError
from embedlab.models import fit_spark_als

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java 17 (not found)", allow_module_level=True)

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SPARK_LITTER = ("spark-warehouse", "metastore_db", "derby.log")


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    from embedlab.training import spark_session

    before = SparkSession.getActiveSession()
    session = spark_session(
        master="local[2]", conf={"spark.ui.enabled": "false", "spark.driver.memory": "1g"}
    )
    yield session
    if before is None:
        session.stop()


@pytest.fixture(scope="module")
def planted():
    ds, truth = el.synthetic_ratings(400, 200, 20_000, noise_std=0.3, random_state=5)
    split = ds.split("random", test_size=0.2, random_state=0)
    return ds, truth, split.train, split.test


def _explore_checks(mf: MatrixFactorization, train: el.Interactions, tmp_path: Path) -> None:
    """The checks every engine's bundle passes: round trip, recommend, neighbours."""
    assert mf.engine_ == "spark"
    loaded = el.load(mf.save(tmp_path / "bundle"))
    pairs = train.to_pandas().sample(200, random_state=0)
    np.testing.assert_array_equal(
        loaded.predict(pairs["user"], pairs["item"]), mf.predict(pairs["user"], pairs["item"])
    )
    user = train.users.id(int(train.user_index[0]))
    rated = set(train.items.ids()[train.item_index[train.user_index == train.user_index[0]]])
    recs = loaded.recommend(user, n=20)
    assert len(recs) == 20 and not rated & set(recs["item"])
    assert recs["score"].is_monotonic_decreasing
    item = train.items.id(int(np.argmax(train.item_counts())))
    near = loaded.item_embeddings().most_similar(item, topn=5)
    assert len(near) == 5 and item not in set(near["key"])
    assert near["similarity"].between(-1.0001, 1.0001).all()


@pytest.mark.realdata
def test_spark_engine_on_ml100k_u1(spark, ml100k_dir: Path, tmp_path: Path) -> None:
    ds = el.load_movielens(ml100k_dir)
    fold = ds.folds("ml-100k-u", path=ml100k_dir)[0]
    mf = MatrixFactorization(embedding_dim=32, engine="spark", random_state=0)
    mf.fit(fold.train, validation=fold.test, progress=False, spark=spark)
    (record,) = mf.history_
    rmse = mf.evaluate(fold.test)["rmse"]  # clipped to the 1-5 scale: never above the raw one
    raw = mf.set_params(clip=False).evaluate(fold.test)["rmse"]
    mf.set_params(clip=True)
    assert record["epoch"] == 10 and record["val_rmse"] == pytest.approx(raw, abs=1e-4)
    assert rmse <= raw
    assert 0.90 < rmse < 0.935  # measured 0.928; the SGD engine 0.918, the ALS engine 0.924
    assert record["train_loss"] < rmse**2
    _explore_checks(mf, fold.train, tmp_path)


@pytest.mark.realdata
def test_fit_spark_als_reads_ml100k_u_data(spark, ml100k_dir: Path) -> None:
    mf = fit_spark_als(
        str(ml100k_dir / "u.data"),  # tab-separated, no header: sniffed like load_ratings
        embedding_dim=16,
        epochs=5,
        random_state=0,
        validation_split=0.1,
        spark=spark,
    )
    ds = el.load_movielens(ml100k_dir)
    assert mf.users_ == ds.users and mf.items_ == ds.items
    assert mf.users_.kind == "int"
    n_val = 100_000 - int(mf.item_counts_.sum())
    assert 9_000 < n_val < 11_000  # hash-chosen, about 10 %
    assert 0.88 < mf.history_[-1]["val_rmse"] < 0.96
    assert mf.engine_ == "spark" and mf.rating_scale_ == (1.0, 5.0)


def test_planted_structure_is_recovered(spark, planted, tmp_path: Path) -> None:
    _, _, train, test = planted
    mf = MatrixFactorization(embedding_dim=16, engine="spark", random_state=0)
    mf.fit(train, progress=False, spark=spark)
    als = MatrixFactorization(embedding_dim=16, engine="als", random_state=0)
    als.fit(train, progress=False)
    rmse, als_rmse = mf.evaluate(test)["rmse"], als.evaluate(test)["rmse"]
    # Ratings are the planted score plus N(0, 0.3) noise, rounded to whole stars
    # (rounding alone adds sqrt(1/12) = 0.29), so about 0.42 is the floor.
    assert rmse < 0.6 and rmse < 1.05 * als_rmse
    _explore_checks(mf, train, tmp_path)


def test_plain_dot_product_and_unequal_l2(spark, planted) -> None:
    _, _, train, test = planted
    plain = MatrixFactorization(
        embedding_dim=8,
        engine="spark",
        epochs=5,
        user_bias=False,
        item_bias=False,
        global_bias=False,
        random_state=0,
    ).fit(train, progress=False, spark=spark)
    assert set(plain.module_.state_dict()) == {"user_embedding.weight", "item_embedding.weight"}
    assert plain.evaluate(test)["rmse"] < 1.5
    equal = MatrixFactorization(
        embedding_dim=8, engine="spark", epochs=5, l2_user=0.1, l2_item=0.1, random_state=0
    ).fit(train, progress=False, spark=spark)
    skewed = MatrixFactorization(
        embedding_dim=8, engine="spark", epochs=5, l2_user=0.4, l2_item=0.025, random_state=0
    ).fit(train, progress=False, spark=spark)
    # √(0.4 · 0.025) = 0.1: the same fit, with p scaled by 1/2 and q by 2.
    p_eq = equal.module_.user_embedding.weight.detach().numpy()
    p_sk = skewed.module_.user_embedding.weight.detach().numpy()
    np.testing.assert_allclose(p_sk, p_eq / 2, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        skewed.predict(*test.to_pandas()[["user", "item"]].T.to_numpy()),
        equal.predict(*test.to_pandas()[["user", "item"]].T.to_numpy()),
        rtol=1e-4,
    )


def test_csv_and_parquet_sources_match_the_loader(spark, tmp_path: Path) -> None:
    ds, _ = el.synthetic_ratings(60, 40, 1500, random_state=1)
    frame = ds.to_pandas().rename(
        columns={"user": "customer_id", "item": "product_id", "rating": "stars"}
    )
    frame["customer_id"] = "c" + frame["customer_id"].astype(str)
    csv = tmp_path / "r.csv"
    frame.to_csv(csv, index=False)
    parquet = tmp_path / "r.parquet"
    frame.to_parquet(parquet)
    reference = el.load_ratings(csv)
    model = MatrixFactorization(embedding_dim=4, epochs=2, random_state=0)
    from_csv = fit_spark_als(csv, model=model, spark=spark)
    assert from_csv is model and model.engine == "spark" and model.engine_ == "spark"
    from_parquet = fit_spark_als(parquet, embedding_dim=4, epochs=2, random_state=0, spark=spark)
    for mf in (from_csv, from_parquet):
        assert mf.users_ == reference.users and mf.items_ == reference.items
        np.testing.assert_array_equal(mf.item_counts_, reference.item_counts())
        assert mf.users_.kind == "str" and mf.items_.kind == "int"
        assert mf.seen_.row(0)[0].tolist() == sorted(
            reference.item_index[reference.user_index == 0].tolist()
        )


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_source_errors_are_one_line(spark, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    pd.DataFrame({"userId": [1, 2], "movieId": [3, 4], "rating": [4.0, 5.0]}).to_csv(
        good, index=False
    )
    with pytest.raises(DataError) as exc:
        fit_spark_als(good, user_col="nope", spark=spark)
    assert "no column 'nope' for user_col; columns present" in _one_line(exc)
    nan = tmp_path / "nan.csv"
    nan.write_text("userId,movieId,rating\n1,2,4\n1,3,NaN\n2,2,\n")
    with pytest.raises(DataError) as exc:
        fit_spark_als(nan, spark=spark)
    assert "2 of 3 ratings in column 'rating' are missing, NaN or infinite" in _one_line(exc)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError) as exc:
        fit_spark_als(empty, spark=spark)
    assert "the file is empty" in _one_line(exc)
    header_only = tmp_path / "header.parquet"
    pd.DataFrame({"userId": [], "movieId": [], "rating": []}).to_parquet(header_only)
    with pytest.raises(DataError) as exc:
        fit_spark_als(header_only, spark=spark)
    assert "no ratings (empty input)" in _one_line(exc)
    with pytest.raises(DataError) as exc:  # a Spark DataFrame as the source
        fit_spark_als(spark.read.parquet(str(header_only)), spark=spark)
    assert "the Spark DataFrame: no ratings" in _one_line(exc)
    with pytest.raises(DataError) as exc:
        fit_spark_als(tmp_path / "missing.csv", spark=spark)
    assert "file not found" in _one_line(exc)
    text = tmp_path / "text.csv"
    text.write_text("userId,movieId,rating\n1,2,good\n")
    with pytest.raises(DataError) as exc:
        fit_spark_als(text, spark=spark)
    assert "expected numbers" in _one_line(exc)
    with pytest.raises(ValueError, match="not both"):
        fit_spark_als(good, model=MatrixFactorization(), epochs=3, spark=spark)
    with pytest.raises(ValueError, match="engine='sgd'; fit_spark_als trains with"):
        fit_spark_als(good, model=MatrixFactorization(engine="sgd"), spark=spark)


def test_engine_option_errors(planted) -> None:
    _, _, train, _ = planted
    with pytest.raises(ValueError, match="spark_master only apply to engine='spark'"):
        MatrixFactorization(epochs=1).fit(train, spark_master="local[2]", progress=False)
    with pytest.raises(ValueError, match="engine='spark' does not support squash"):
        MatrixFactorization(engine="spark", squash=(1, 5)).resolved_engine()
    with pytest.raises(ValueError, match="patience=2: engine='spark'"):
        MatrixFactorization(engine="spark", patience=2).resolved_engine()
    with pytest.raises(ValueError, match="n_threads=2 does not apply"):
        MatrixFactorization(engine="spark", n_threads=2).resolved_engine()
    assert MatrixFactorization(engine="spark", bias_damping=3).resolved_engine() == "spark"


def test_no_spark_files_in_the_working_tree() -> None:
    """Warehouse, Derby and scratch files go to a temporary folder (run from the repo root)."""
    assert not [name for name in SPARK_LITTER if (REPO / name).exists()]
    assert not [name for name in SPARK_LITTER if (Path.cwd() / name).exists()]


def test_training_loss_is_finite_and_history_has_the_usual_keys(spark, planted) -> None:
    _, _, train, _ = planted
    mf = MatrixFactorization(embedding_dim=4, engine="spark", epochs=2, random_state=0)
    mf.fit(train, validation_split=0.1, progress=False, spark=spark)
    (record,) = mf.history_
    assert set(el.training.History.COLUMNS) <= set(record)
    assert math.isfinite(record["train_loss"]) and record["val_rmse"] is not None


def test_missing_java_or_pyspark_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from embedlab.exceptions import EmbedlabError
    from embedlab.training import _spark

    monkeypatch.setattr(_spark, "_java_available", lambda: False)
    with pytest.raises(EmbedlabError) as exc:  # another master than the active session's
        _spark.spark_session(master="local[3]")
    assert "Spark needs Java, which was not found: install Java 17" in _one_line(exc)
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(ImportError) as exc:
        _spark.spark_session()
    assert 'pip install "embedlab[spark]"' in _one_line(exc)


def test_warning_about_pandas_3_is_silenced_only_around_spark() -> None:
    from embedlab.training._spark import quiet_pandas_warning

    message = "PySpark does not yet fully support pandas >= 3.0.0. Some features may not work."
    with quiet_pandas_warning():
        warnings.warn(message, FutureWarning, stacklevel=1)
    with pytest.raises(FutureWarning), quiet_pandas_warning():
        warnings.warn("another FutureWarning", FutureWarning, stacklevel=1)


def test_import_embedlab_does_not_import_pyspark() -> None:
    import subprocess

    code = "import sys, embedlab, embedlab.training; assert 'pyspark' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
