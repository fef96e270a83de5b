"""The bundle records what ran: resolved settings, engine, seed, versions, data, time;
bundles of the previous format (0.1) still load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import embedlab as el
from embedlab.io import _bundle
from embedlab.settings import MFSettings, NeuralSettings

NEW_KEYS = ("settings", "engine", "seed", "versions", "data", "training_seconds")


@pytest.fixture(scope="module")
def ds():
    data, _ = el.synthetic_ratings(120, 80, 3000, random_state=0)
    return data


def _fit(kind: str, ds, **params: Any):
    if kind == "mf":
        return el.MatrixFactorization(embedding_dim=8, epochs=3, **params).fit(ds, progress=False)
    return el.NeuralEmbeddingModel(embedding_dim=8, epochs=2, **params).fit(ds, progress=False)


def _config(path: Path) -> dict[str, Any]:
    return json.loads((path / "model.json").read_text())["config"]


def _no_nulls(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_no_nulls(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nulls(v) for v in value)
    return value is not None


@pytest.mark.parametrize("kind", ["mf", "neural"])
def test_bundle_records_what_ran(ds, tmp_path, kind) -> None:
    model = _fit(kind, ds)  # random_state=None: the drawn seed is recorded
    config = _config(model.save(tmp_path / "m"))
    for key in NEW_KEYS:
        assert key in config
    settings = config["settings"]
    assert _no_nulls(settings)
    assert settings["random_state"] == config["seed"] == model.settings_.random_state
    assert settings["engine"] == config["engine"] == model.engine_
    assert config["data"] == {
        "fingerprint": ds.fingerprint(),
        "n_users": ds.n_users,
        "n_items": ds.n_items,
        "n_ratings": len(ds),
    }
    assert set(config["versions"]) >= {"embedlab", "torch", "numpy", "numba"}
    assert config["training_seconds"] > 0
    if kind == "mf":
        assert settings["engine"] == "sgd"
        # the engine's defaults, resolved: nothing left as "the engine's default"; the
        # L2 strengths are the ones the held-out slice chose from its grid
        assert settings["learning_rate"] == 0.06 and settings["holdout"] == 0.05
        chosen = config["adaptive"]["chosen"]
        assert settings["l2_item"] == chosen["l2_item"] in (0.02, 0.06, 0.15)
        assert settings["epochs"] == chosen["epochs"] in (3, 6)
        assert "optimizer" not in settings  # the SGD engine has no optimizer setting
    else:
        assert _no_nulls(config["pretrain_settings"])
        assert config["pretrain_settings"]["epochs"] == 50
    loaded = el.load(tmp_path / "m")
    assert loaded.settings_ == model.settings_
    assert loaded.engine_ == model.engine_


@pytest.mark.parametrize("kind", ["mf", "neural"])
def test_the_recorded_settings_reproduce_the_model(ds, tmp_path, kind) -> None:
    model = _fit(kind, ds)
    config = _config(model.save(tmp_path / "m"))
    # a new estimator from the record trains the identical model (one thread: no races)
    cls = type(model)
    again = cls(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in config["settings"].items()}
    )
    again.fit(ds, progress=False)
    for name, tensor in model.module_.state_dict().items():
        np.testing.assert_array_equal(tensor.numpy(), again.module_.state_dict()[name].numpy())


def _as_format_1(path: Path, kind: str) -> None:
    """Rewrite a bundle the way embedlab 0.1 wrote it: format 1, only the constructor's
    arguments (with 0.1's names), no record of what ran; checksum resealed."""

    def edit(doc: dict[str, Any]) -> None:
        doc["format"] = "embedlab.bundle/1"
        doc["library_version"] = "0.1.0"
        config = doc["config"]
        for key in (*NEW_KEYS, "pretrain_settings"):
            config.pop(key, None)
        if kind == "neural":
            dim = config["params"].pop("embedding_dim")
            config["params"] = {"user_dim": dim, "item_dim": dim, **config["params"]}
            config["params"].pop("n_threads")
        else:
            config["params"].pop("final_learning_rate_fraction")
        doc["checksum"] = _bundle._content_checksum(doc)

    doc = json.loads((path / "model.json").read_text())
    edit(doc)
    (path / "model.json").write_text(json.dumps(doc, indent=2))


@pytest.mark.parametrize("kind", ["mf", "neural"])
def test_bundles_of_format_1_still_load(ds, tmp_path, kind) -> None:
    model = _fit(kind, ds, random_state=0)
    path = model.save(tmp_path / "old")
    _as_format_1(path, kind)
    assert json.loads((path / "model.json").read_text())["format"] == "embedlab.bundle/1"
    old = el.load(path)  # no FutureWarning for 0.1's parameter names (filterwarnings=error)
    users, items = ds.users.ids()[:20], ds.items.ids()[:20]
    np.testing.assert_array_equal(old.predict(users, items), model.predict(users, items))
    assert isinstance(old.settings_, MFSettings if kind == "mf" else NeuralSettings)
    assert old.get_params()["embedding_dim"] == 8
    assert not hasattr(old, "training_seconds_")
    # saved again, it is a format-2 bundle that loads
    again = old.save(tmp_path / "again")
    assert json.loads((again / "model.json").read_text())["format"] == "embedlab.bundle/2"
    np.testing.assert_array_equal(el.load(again).predict(users, items), model.predict(users, items))


def test_old_names_still_work_with_a_warning(ds) -> None:
    with pytest.warns(
        FutureWarning, match=r"user_dim=, item_dim= are deprecated.*use embedding_dim="
    ):
        model = el.NeuralEmbeddingModel(user_dim=6, item_dim=6, epochs=1)
    assert model.embedding_dim == 6
    with pytest.warns(FutureWarning):
        assert el.NeuralEmbeddingModel(
            user_dim=6, item_dim=4, dot=False, pretrain=None
        ).embedding_dim == (6, 4)


def test_estimator_parameters_are_the_settings_fields() -> None:
    for cls, settings in (
        (el.MatrixFactorization, MFSettings),
        (el.NeuralEmbeddingModel, NeuralSettings),
    ):
        assert list(cls().get_params()) == settings.names()
        assert cls().get_params() == settings.defaults()
        assert cls.__doc__ is not None and "Args:" in cls.__doc__
        for name in settings.names():
            assert f"    {name}: " in cls.__doc__


def test_scikit_learn_clone_and_set_params() -> None:
    from sklearn.base import clone

    for model in (
        el.MatrixFactorization(16, l2_user=0.1, engine="als", random_state=3),
        el.NeuralEmbeddingModel(embedding_dim=(8, 4), dot=False, pretrain=None, hidden=(8,)),
    ):
        copy = clone(model)
        assert copy is not model and copy.get_params() == model.get_params()
        assert copy.set_params(epochs=2) is copy and copy.get_params()["epochs"] == 2
        with pytest.raises(ValueError, match="'epoch' is not a parameter"):
            copy.set_params(epoch=2)
    with pytest.raises(TypeError, match="unexpected keyword argument 'epoch'"):
        el.MatrixFactorization(epoch=3)
