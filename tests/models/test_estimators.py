"""The estimators users hold: fit / predict / evaluate / inspect / fold-in / save / load."""

from __future__ import annotations

import numpy as np
import pytest

import embedlab as el
from embedlab.exceptions import BundleError, NotFittedError, UnknownIDError
from embedlab.models import MatrixFactorization, NeuralEmbeddingModel, load


@pytest.fixture(scope="module")
def data():
    ds, truth = el.synthetic_ratings(300, 200, 20_000, noise_std=0.5, random_state=1)
    train, test = ds.split("random", test_size=0.2, random_state=0)
    return ds, truth, train, test


def quick_models():
    return [
        MatrixFactorization(embedding_dim=8, epochs=15, random_state=0, n_threads=1),
        MatrixFactorization(
            embedding_dim=8, epochs=3, engine="torch", batch_size=2048, random_state=0, device="cpu"
        ),
        NeuralEmbeddingModel(epochs=3, batch_size=2048, random_state=0, device="cpu"),
    ]


@pytest.mark.parametrize("model", quick_models(), ids=["mf-sgd", "mf-torch", "neural"])
def test_fit_predict_evaluate_save_load(model, data, tmp_path) -> None:
    _, _, train, test = data
    with pytest.raises(NotFittedError, match="not fitted yet"):
        model.predict([1], [1])
    assert model.fit(train, validation=test, progress=False) is model
    assert len(model.history_) >= 1 and model.history_[-1]["val_rmse"] is not None
    frame = test.to_pandas()
    batch = model.predict(frame["user"].to_numpy()[:50], frame["item"].to_numpy()[:50])
    single = np.array(
        [
            model.predict(u, i)[0]
            for u, i in zip(frame["user"][:50], frame["item"][:50], strict=True)
        ]
    )
    np.testing.assert_allclose(
        batch, single, rtol=1e-6
    )  # batch and single agree (BLAS blocking: 1 ulp)
    metrics = model.evaluate(test)
    assert set(metrics) == {"rmse", "mae"} and 0 < metrics["mae"] < metrics["rmse"] < 2
    # Raw-ID path (another vocabulary object) gives the same numbers as the index path.
    other = el.Interactions.from_ids(frame["user"], frame["item"], frame["rating"])
    assert model.evaluate(other)["rmse"] == pytest.approx(metrics["rmse"], rel=1e-5)
    path = model.save(tmp_path / "model")
    back = load(path)
    assert type(back) is type(model) and back.get_params() == model.get_params()
    np.testing.assert_array_equal(
        back.predict(frame["user"], frame["item"]), model.predict(frame["user"], frame["item"])
    )
    assert back.history_.to_list() == model.history_.to_list()
    assert el.load(path).evaluate(test) == pytest.approx(metrics)


def test_unknown_ids_error_and_fallback(data) -> None:
    _, _, train, _ = data
    mf = MatrixFactorization(embedding_dim=4, epochs=5, random_state=0, n_threads=1).fit(
        train, progress=False
    )
    with pytest.raises(
        UnknownIDError,
        match=r"1 unknown user IDs \(first: 99999\); the model knows 300 users; pass unknown='fallback'",
    ):
        mf.predict([99999, 1], [1, 1])
    with pytest.raises(UnknownIDError, match="unknown item IDs"):
        mf.predict([1], ["nope"])
    pred = mf.predict([99999, 1, 99999], [1, 88888, 77777], unknown="fallback")
    state = {k: v.detach().numpy() for k, v in mf.module_.state_dict().items()}
    mu = float(state["global_bias"])
    b_i = float(state["item_bias.weight"][mf.items_.index(1), 0])
    b_u = float(state["user_bias.weight"][mf.users_.index(1), 0])
    np.testing.assert_allclose(pred, [mu + b_i, mu + b_u, mu], rtol=1e-6)
    with pytest.raises(ValueError, match="unknown='skip'"):
        mf.predict([1], [1], unknown="skip")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "model",
    [
        MatrixFactorization(embedding_dim=16, random_state=0, n_threads=1),
        NeuralEmbeddingModel(
            embedding_dim=16, dropout=0.0, epochs=20, random_state=0, device="cpu"
        ),
    ],
    ids=["mf", "neural"],
)
def test_known_answer_noise_level_and_biases(model) -> None:
    from scipy.stats import spearmanr

    ds, truth = el.synthetic_ratings(
        600, 400, 50_000, noise_std=0.8, half_stars=True, random_state=0
    )
    train, test = ds.split("random", test_size=0.1, random_state=0)
    model.fit(train, progress=False)
    # The planted noise level, measured as the error of the noise-free expected rating
    # (clipped to the scale): about what the best possible model scores.
    floor = float(
        np.sqrt(
            np.mean(
                (truth.expected_rating(test.user_index, test.item_index, clip=True) - test.rating)
                ** 2
            )
        )
    )
    assert model.evaluate(test)["rmse"] <= 1.10 * floor
    rho = spearmanr(model.item_biases().sort_values("id")["bias"], truth.item_bias).statistic
    assert rho >= 0.9


def test_inspection(data) -> None:
    _, _, train, _ = data
    mf = MatrixFactorization(embedding_dim=4, epochs=5, random_state=0, n_threads=1).fit(
        train, progress=False
    )
    biases = mf.item_biases()
    assert list(biases.columns) == ["id", "title", "bias", "n_ratings"]
    assert biases["bias"].is_monotonic_decreasing
    vecs = mf.item_embeddings()
    assert len(vecs) == train.n_items and vecs.vector_size == 4
    assert vecs.labels[0].startswith("Synthetic Movie")
    sims = vecs.most_similar(1, topn=5)
    assert len(sims) == 5 and 1 not in sims["key"].tolist()
    assert mf.user_embeddings()[1].shape == (4,)


def test_fold_in_places_a_known_user_near_themselves(data) -> None:
    _, _, train, _ = data
    mf = MatrixFactorization(embedding_dim=8, epochs=15, random_state=0, n_threads=1).fit(
        train, progress=False
    )
    frame = train.to_pandas()
    mine = frame[frame["user"] == 5]
    folded = mf.fold_in(zip(mine["item"], mine["rating"], strict=True))
    assert folded.n_ratings == len(mine) and folded.vector.shape == (8,)
    everything = mf.score_items(folded)
    trained = mf.predict([5] * train.n_items, train.items.ids())
    assert np.corrcoef(everything, trained)[0, 1] > 0.8
    with pytest.raises(ValueError, match="at least one"):
        mf.fold_in([])
    with pytest.raises(UnknownIDError):
        mf.fold_in({"nope": 4.0})


def test_validation_split_is_the_last_fraction(data) -> None:
    _, _, train, _ = data
    mf = MatrixFactorization(embedding_dim=4, epochs=2, random_state=0, n_threads=1)
    mf.fit(train, validation_split=0.25, progress=False)
    assert mf.history_[-1]["val_rmse"] is not None
    assert int(mf.item_counts_.sum()) == len(train) - len(train) // 4
    with pytest.raises(ValueError, match="not both"):
        mf.fit(train, validation=train, validation_split=0.1)
    with pytest.raises(ValueError, match=r"validation_split=1\.5"):
        mf.fit(train, validation_split=1.5)


def test_engine_choice_and_params() -> None:
    assert MatrixFactorization().resolved_engine() == "sgd"
    assert MatrixFactorization(squash=(1, 5)).resolved_engine() == "torch"
    with pytest.raises(ValueError, match="engine='sgd' does not support squash"):
        MatrixFactorization(engine="sgd", squash=(1, 5)).resolved_engine()
    with pytest.raises(ValueError, match=r"engine='hadoop'"):
        MatrixFactorization(engine="hadoop").resolved_engine()
    mf = MatrixFactorization(embedding_dim=8)
    assert mf.get_params()["embedding_dim"] == 8
    assert mf.set_params(embedding_dim=4).embedding_dim == 4
    with pytest.raises(ValueError, match="'size' is not a parameter"):
        mf.set_params(size=3)
    assert "embedding_dim=4" in repr(mf)
    with pytest.raises(TypeError, match="must be an embedlab Interactions"):
        mf.fit([(1, 2, 3.0)])  # type: ignore[arg-type]


def test_load_errors(tmp_path, data) -> None:
    _, _, train, _ = data
    with pytest.raises(BundleError):
        load(tmp_path / "missing")
    path = (
        MatrixFactorization(embedding_dim=4, epochs=1, random_state=0, n_threads=1)
        .fit(train, progress=False)
        .save(tmp_path / "m")
    )
    with pytest.raises(el.DataError, match="not a NeuralEmbeddingModel"):
        NeuralEmbeddingModel.load(path)
    weights = path / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(BundleError, match=r"weights\.safetensors"):
        load(path)


def test_neural_dot_option_changes_the_model_and_round_trips(data, tmp_path) -> None:
    _, _, train, test = data
    plain = NeuralEmbeddingModel(epochs=2, dot=False, random_state=0, device="cpu").fit(
        train, progress=False
    )
    dotted = NeuralEmbeddingModel(epochs=2, dot=True, random_state=0, device="cpu").fit(
        train, progress=False
    )
    assert plain.evaluate(test) != dotted.evaluate(test)
    back = load(dotted.save(tmp_path / "dot"))
    assert back.get_params()["dot"] is True
    frame = test.to_pandas()
    np.testing.assert_array_equal(
        back.predict(frame["user"], frame["item"]), dotted.predict(frame["user"], frame["item"])
    )
    folded = dotted.fold_in({1: 5.0, 2: 1.0})
    assert dotted.score_items(folded, [1, 2]).shape == (2,)


def test_neural_pretrain_starts_from_the_matrix_factorization(data) -> None:
    import dataclasses

    from embedlab.settings import PRETRAIN_MF, resolve_mf
    from embedlab.training.engines import TrainData, get_engine

    _, _, train, _ = data
    # the compiled SGD fit with the pre-training settings, on the model's own indices
    settings = resolve_mf(
        dataclasses.replace(PRETRAIN_MF, embedding_dim=16, n_threads=1),
        n_ratings=len(train),
        random_state=0,
    )
    arrays = (train.user_index, train.item_index, train.rating)
    mf = (
        get_engine("sgd")
        .fit(TrainData(arrays, None, train.n_users, train.n_items, train.global_mean), settings)
        .tables
    )
    # A vanishing learning rate leaves the tables where pre-training put them.
    still = NeuralEmbeddingModel(
        embedding_dim=16, epochs=1, learning_rate=1e-12, random_state=0, device="cpu"
    ).fit(train, progress=False)
    state = {k: v.numpy() for k, v in still.module_.state_dict().items()}
    for name in ("user_embedding.weight", "item_embedding.weight", "item_bias.weight"):
        np.testing.assert_allclose(state[name], mf[name].reshape(state[name].shape), atol=1e-6)
    scratch = NeuralEmbeddingModel(
        embedding_dim=16, epochs=1, pretrain=None, random_state=0, device="cpu"
    ).fit(train, progress=False)
    assert not np.allclose(
        scratch.module_.item_embedding.weight.detach().numpy(), mf["item_embedding.weight"]
    )
    with pytest.raises(ValueError, match="needs one width"):
        NeuralEmbeddingModel(embedding_dim=(8, 4), dot=False, epochs=1).fit(train, progress=False)
    with pytest.raises(ValueError, match="pretrain='als'"):
        NeuralEmbeddingModel(pretrain="als", epochs=1).fit(train, progress=False)
