"""Callbacks reach every engine through the estimators' fit (epoch, logs) and can stop it."""

from __future__ import annotations

import pytest

import embedlab as el
from embedlab.training import StopAfter


@pytest.fixture(scope="module")
def split():
    ds, _ = el.synthetic_ratings(300, 120, 6000, random_state=0)
    return ds.split("random", test_size=0.1, random_state=0)


@pytest.mark.parametrize(
    "model",
    [
        el.MatrixFactorization(embedding_dim=4, epochs=5, engine="sgd", random_state=0),
        el.MatrixFactorization(embedding_dim=4, epochs=5, engine="torch", random_state=0),
        el.NeuralEmbeddingModel(embedding_dim=4, epochs=5, pretrain=None, random_state=0),
    ],
    ids=["mf-sgd", "mf-torch", "neural"],
)
def test_function_and_object_callbacks_see_each_epoch_and_can_stop(model, split) -> None:
    seen: list[tuple[int, float]] = []

    def record(epoch, logs):
        seen.append((epoch, logs["val_rmse"]))
        return epoch == 3  # stop after the third epoch

    model.fit(split.train, validation=split.test, callbacks=[record], progress=False)
    assert [e for e, _ in seen] == [1, 2, 3]
    assert all(r > 0 for _, r in seen)
    assert len(model.history_) == 3
    # An object callback (StopAfter) stops at once with an unreachable-to-miss threshold.
    model.fit(split.train, validation=split.test, callbacks=StopAfter(10.0), progress=False)
    assert len(model.history_) == 1
