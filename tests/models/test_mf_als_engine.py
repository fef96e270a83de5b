"""MatrixFactorization(engine="als"): the compiled biased ALS behind the estimator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import embedlab as el
from embedlab import MatrixFactorization
from embedlab.settings import ENGINE_DEFAULTS


@pytest.fixture(scope="module")
def data():
    ds, truth = el.synthetic_ratings(300, 150, 12_000, noise_std=0.3, random_state=3)
    split = ds.split("random", test_size=0.2, random_state=0)
    return ds, truth, split.train, split.test


def test_als_engine_trains_reports_and_round_trips(data, tmp_path) -> None:
    _, _, train, test = data
    seen: list[int] = []
    mf = MatrixFactorization(embedding_dim=8, engine="als", epochs=6, random_state=0)
    mf.fit(train, validation=test, callbacks=lambda epoch, logs: seen.append(epoch), progress=False)
    assert mf.engine_ == "als"
    assert seen == [1, 2, 3, 4, 5, 6] and len(mf.history_) == 6
    val = mf.history_.column("val_rmse")
    assert val[-1] < val[0]
    # the history scores raw predictions; evaluate clips to the rating scale (never worse)
    assert mf.evaluate(test)["rmse"] <= val[-1] + 1e-6
    assert mf.set_params(clip=False).evaluate(test)["rmse"] == pytest.approx(val[-1], abs=1e-4)
    again = MatrixFactorization(embedding_dim=8, engine="als", epochs=6, random_state=0)
    again.fit(train, progress=False)
    np.testing.assert_array_equal(
        again.module_.item_embedding.weight.detach().numpy(),
        mf.module_.item_embedding.weight.detach().numpy(),
    )  # ALS does not depend on threads: the seed fixes the result
    loaded = el.load(mf.save(tmp_path / "als"))
    pairs = train.to_pandas().head(50)
    np.testing.assert_array_equal(
        loaded.predict(pairs["user"], pairs["item"]), mf.predict(pairs["user"], pairs["item"])
    )
    assert loaded.get_params()["engine"] == "als"


def test_als_engine_matches_sgd_accuracy_and_uses_its_defaults(data) -> None:
    _, _, train, test = data
    als = MatrixFactorization(embedding_dim=16, engine="als", random_state=0).fit(
        train, progress=False
    )
    assert len(als.history_) == ENGINE_DEFAULTS["als"]["epochs"]
    sgd = MatrixFactorization(embedding_dim=16, random_state=0, n_threads=1).fit(
        train, progress=False
    )
    assert als.evaluate(test)["rmse"] < 1.03 * sgd.evaluate(test)["rmse"]


def test_als_engine_early_stopping_and_parameters(data) -> None:
    _, _, train, test = data
    stopped = MatrixFactorization(
        embedding_dim=4, engine="als", epochs=30, l2_user=0.0, l2_item=0.0, patience=1
    ).fit(train, validation=test, progress=False)
    assert len(stopped.history_) < 30  # no L2 overfits quickly; patience stops it
    weak = MatrixFactorization(embedding_dim=8, engine="als", epochs=3, l2_user=0.01, l2_item=0.01)
    strong = MatrixFactorization(embedding_dim=8, engine="als", epochs=3, l2_user=1.0, l2_item=1.0)
    norms = [
        float(np.linalg.norm(m.fit(train, progress=False).module_.user_embedding.weight.detach()))
        for m in (weak, strong)
    ]
    assert norms[1] < norms[0]
    plain = MatrixFactorization(
        embedding_dim=4,
        engine="als",
        epochs=3,
        user_bias=False,
        item_bias=False,
        global_bias=False,
    ).fit(train, progress=False)
    assert set(plain.module_.state_dict()) == {"user_embedding.weight", "item_embedding.weight"}


def test_als_engine_rejects_options_it_does_not_have() -> None:
    assert MatrixFactorization().resolved_engine() == "sgd"  # auto is unchanged
    assert MatrixFactorization(engine="als").resolved_engine() == "als"
    with pytest.raises(ValueError, match="engine='als' does not support squash, optimizer"):
        MatrixFactorization(engine="als", squash=(1, 5), optimizer="adam").resolved_engine()
    with pytest.raises(ValueError, match="engine='als' does not support checkpoint_dir"):
        MatrixFactorization(engine="als").resolved_engine(checkpoint_dir="x")
    with pytest.raises(ValueError, match=r"bias_damping=3.0 exists only in the 'sgd' and 'spark'"):
        MatrixFactorization(engine="als", bias_damping=3).resolved_engine()
    with pytest.raises(ValueError, match="engine='hadoop': expected one of"):
        MatrixFactorization(engine="hadoop").resolved_engine()


@pytest.mark.realdata
@pytest.mark.slow
def test_als_engine_on_ml100k_u1(ml100k_dir: Path) -> None:
    ds = el.load_movielens(ml100k_dir)
    fold = ds.folds("ml-100k-u", path=ml100k_dir)[0]
    mf = MatrixFactorization(embedding_dim=64, engine="als", random_state=0)
    mf.fit(fold.train, progress=False)
    # Measured: 0.9236 (LensKit's biased ALS: 0.921 averaged over u1-u5).
    assert mf.evaluate(fold.test)["rmse"] == pytest.approx(0.9236, abs=0.005)
