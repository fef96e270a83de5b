"""Spark's implicit ALS (``engine="spark"`` of ImplicitMatrixFactorization) on planted
implicit data: the clusters come back as neighbours and the bundle round-trips."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import embedlab as el
from embedlab.data import Interactions
from embedlab.exceptions import SettingsError

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java 17 (not found)", allow_module_level=True)

pytestmark = pytest.mark.slow


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
    """160 users, each with 10 of the 25 items of its cluster (user % 4), weights 1-3."""
    rng = np.random.default_rng(0)
    users, items = [], []
    for u in range(160):
        users += [u] * 10
        items += list(rng.choice(25, 10, replace=False) + 25 * (u % 4))
    ids = Interactions.from_ids(np.array(users), np.array(items), np.ones(len(users)))
    w = rng.integers(1, 4, len(users)).astype(np.float32)
    return Interactions(
        ids.user_index, ids.item_index, w, ids.users, ids.items, feedback="implicit"
    )


def test_spark_recovers_the_clusters_and_round_trips(spark, planted, tmp_path: Path):
    model = el.ImplicitMatrixFactorization(engine="spark", epochs=5, random_state=0)
    model.fit(planted, spark=spark, progress=False)
    assert model.engine_ == "spark" and model.settings_.alpha == 5.0
    assert len(model.history_) == 1 and np.isfinite(model.history_[0]["train_loss"])
    vecs = model.item_embeddings()
    same = [
        int(k) // 25 == item // 25
        for item in range(0, 100, 5)
        for k in vecs.most_similar(item, topn=5)["key"]
    ]
    assert np.mean(same) >= 0.9
    recs = model.recommend(3, n=10)
    assert {int(i) // 25 for i in recs["item"]} == {3}
    loaded = el.load(model.save(tmp_path / "spark"))
    assert loaded.recommend(3, n=10).equals(recs)


def test_spark_options_and_fields_that_do_not_apply(planted):
    with pytest.raises(SettingsError, match="only apply to engine='spark'"):
        el.ImplicitMatrixFactorization().fit(planted, spark_master="local[1]", progress=False)
    with pytest.raises(SettingsError, match="cg_steps=5 does not apply to the spark engine"):
        el.ImplicitMatrixFactorization(engine="spark", cg_steps=5).fit(planted, progress=False)
    with pytest.raises(SettingsError, match="runs on the CPU only"):
        el.ImplicitMatrixFactorization(engine="spark", device="cuda").fit(planted, progress=False)
