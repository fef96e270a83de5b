"""Saving and loading a fitted :class:`EmbeddingEncoder` as a model bundle.

The bundle machinery (:func:`embedlab.io.save_bundle`) writes the network's tensors to
``weights.safetensors`` and everything else (parameters, columns, typed vocabularies of
the categories, scalers, classes) to the ``config`` of ``model.json``, with a size and a
sha256 per file and a checksum of ``model.json`` itself; the directory is swapped into
place atomically. The bundle's user and item vocabularies are empty: an encoder has one
vocabulary per categorical column, kept typed (int, float or str) in the config.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embedlab.data import Vocabulary
from embedlab.exceptions import BundleError
from embedlab.features._values import cast_values, plain_values, value_kind
from embedlab.io import load_bundle, save_bundle
from embedlab.nn import TabularModule
from embedlab.settings import EncoderSettings

if TYPE_CHECKING:  # pragma: no cover
    from embedlab.features._encoder import EmbeddingEncoder

__all__ = ["MODEL_CLASS", "load_encoder", "save_encoder"]

MODEL_CLASS = "EmbeddingEncoder"
#: The layout of the encoder's ``config`` in ``model.json``.
ENCODER_FORMAT = "embedlab.EmbeddingEncoder/4"
#: Layouts this version reads: 4 added the fold networks (an older embedlab refuses them
#: by their format instead of by their unexpected tensors); 3 has none.
READABLE_FORMATS = (ENCODER_FORMAT, "embedlab.EmbeddingEncoder/3")
#: Tensor name prefixes of the fold networks (``folds.<k>.<parameter>``) and of their
#: averaged tables (``fold_embeddings.<j>``).
FOLD_PREFIX, FOLD_TABLE_PREFIX = "folds.", "fold_embeddings."
#: Earlier layouts: a clear error (refit and save again) instead of a key mismatch.
OLD_FORMATS = ("embedlab.EmbeddingEncoder/1", "embedlab.EmbeddingEncoder/2")


def _params(enc: EmbeddingEncoder) -> dict[str, Any]:
    params: dict[str, Any] = {k: getattr(enc, k) for k in EncoderSettings.names()}
    params["hidden"] = [int(h) for h in enc.hidden]
    if isinstance(enc.random_state, np.random.RandomState):
        params["random_state"] = None
    if isinstance(params["embedding_dims"], Mapping):
        params["embedding_dims"] = [[k, v] for k, v in params["embedding_dims"].items()]
    if params["columns"] is not None:
        params["columns"] = list(params["columns"])
    if params["interactions"] != "auto":
        params["interactions"] = [list(p) for p in params["interactions"] or ()]
    if not isinstance(params["device"], str):
        params["device"] = str(params["device"])
    return params


def save_encoder(enc: EmbeddingEncoder, path: str | os.PathLike[str]) -> Path:
    """Write the fitted ``enc`` as a bundle directory at ``path`` (replaced if it is one)."""
    config: dict[str, Any] = {
        "encoder_format": ENCODER_FORMAT,
        "params": _params(enc),
        "task": enc.task_,
        "categorical_columns": list(enc.categorical_columns_),
        "interactions": [list(p) for p in enc.interactions_],
        "numeric_columns": list(enc.numeric_columns_),
        "kinds": list(enc.kinds_),
        "categories": [
            plain_values(c, k) for c, k in zip(enc.categories_, enc.kinds_, strict=True)
        ],
        "counts": [[int(v) for v in c] for c in enc.counts_],
        "infrequent_categories": [
            plain_values(c, k) for c, k in zip(enc.infrequent_categories_, enc.kinds_, strict=True)
        ],
        "embedding_dims": list(enc.embedding_dims_),
        "effects": [e.tolist() for e in enc.effects_],
        # effects="additive": the additive model's intercept [n_out] and numeric slopes
        # [n_numeric][n_out], for the additive_prediction column
        "additive_model": (
            None
            if enc.additive_model_ is None
            else {
                "intercept": enc.additive_model_[0].tolist(),
                "slopes": enc.additive_model_[1].tolist(),
            }
        ),
        "best_epoch": int(enc.best_epoch_),
        "batch_size": int(enc.batch_size_),
        "table_decay": float(enc.table_decay_),
        "numeric_mean": [float(v) for v in enc.numeric_mean_],
        "numeric_scale": [float(v) for v in enc.numeric_scale_],
        "n_features_in": int(enc.n_features_in_),
        "feature_names_in": (
            [str(v) for v in enc.feature_names_in_] if hasattr(enc, "feature_names_in_") else None
        ),
    }
    if enc.task_ == "regression":
        config["y_mean"], config["y_scale"] = enc.y_mean_, enc.y_scale_
    else:
        kind = value_kind(np.asarray(enc.classes_), "classes_")
        config["classes"] = plain_values(enc.classes_, kind)
        config["classes_kind"] = kind
    tensors = _state(enc.module_)
    # after fit_transform's cross-fitting: the fold networks and their averaged tables,
    # which transform uses (absent from bundles saved before them, and after fit)
    folds = getattr(enc, "fold_modules_", [])
    config["folds"] = len(folds)
    for k, module in enumerate(folds):
        tensors |= _state(module, f"{FOLD_PREFIX}{k}.")
    for j, table in enumerate(getattr(enc, "fold_embeddings_", None) or []):
        tensors[f"{FOLD_TABLE_PREFIX}{j}"] = np.ascontiguousarray(table)
    return save_bundle(
        path,
        model_class=MODEL_CLASS,
        config=config,
        tensors=tensors,
        users=Vocabulary([], name="user"),
        items=Vocabulary([], name="item"),
        history=[
            {"epoch": i + 1, "loss": float(v)}
            | ({"val_loss": float(enc.validation_history_[i])} if enc.validation_history_ else {})
            for i, v in enumerate(enc.history_)
        ],
    )


def _state(module: TabularModule, prefix: str = "") -> dict[str, Any]:
    return {prefix + k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def _load_module(
    path: Path, module: TabularModule, tensors: dict[str, Any], what: str = ""
) -> TabularModule:
    """``module`` with ``tensors`` (its names exactly) loaded, in eval mode."""
    expected = set(module.state_dict())
    missing, unexpected = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
    if missing or unexpected:
        raise BundleError(
            f"{path}: the tensors{what} do not match the encoder in its config: "
            f"missing keys {missing}, unexpected keys {unexpected}"
        )
    try:
        module.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise BundleError(f"{path}: {exc}") from exc
    return module.eval()


def _typed(values: list[Any], kind: str) -> np.ndarray:
    return cast_values(np.asarray(values, dtype=object), kind) if values else np.asarray(values)


def load_encoder(cls: type[EmbeddingEncoder], path: str | os.PathLike[str]) -> EmbeddingEncoder:
    """Read an encoder bundle written by :func:`save_encoder`, verifying every file.

    Raises:
        BundleError: A missing or damaged file (size, sha256 or checksum mismatch), a
            bundle of another model, or tensors whose names differ from the network's
            (missing and unexpected keys listed).
    """
    bundle = load_bundle(path)
    config = bundle.config
    if bundle.model_class == MODEL_CLASS and config.get("encoder_format") in OLD_FORMATS:
        raise BundleError(
            f"{bundle.path}: an EmbeddingEncoder saved by an older embedlab (encoder format "
            f"{config.get('encoder_format')!r}; this version reads {ENCODER_FORMAT!r}); "
            "fit the encoder again and save it"
        )
    if bundle.model_class != MODEL_CLASS or config.get("encoder_format") not in READABLE_FORMATS:
        raise BundleError(
            f"{bundle.path}: a bundle of {bundle.model_class} "
            f"(encoder format {config.get('encoder_format')!r}); expected one written by "
            f"EmbeddingEncoder.save ({ENCODER_FORMAT!r})"
        )
    params = dict(config["params"])
    if isinstance(params["embedding_dims"], list):
        params["embedding_dims"] = {k: v for k, v in params["embedding_dims"]}
    params["hidden"] = tuple(params["hidden"])
    # written before the additive effects existed: the effects are the network's
    params.setdefault("effects", "network")
    # and before table_decay: no decay
    params.setdefault("table_decay", 0.0)
    if params.get("interactions") != "auto":
        # bundles written before "auto" existed stored [] for no pair
        params["interactions"] = [tuple(p) for p in params.get("interactions") or ()] or None
    enc = cls(**params)
    enc.task_ = config["task"]
    enc.categorical_columns_ = list(config["categorical_columns"])
    enc.interactions_ = [(a, b) for a, b in config.get("interactions", [])]
    enc.numeric_columns_ = list(config["numeric_columns"])
    enc.kinds_ = list(config["kinds"])
    enc.categories_ = [_typed(c, k) for c, k in zip(config["categories"], enc.kinds_, strict=True)]
    enc.counts_ = [np.asarray(c, dtype=np.int64) for c in config["counts"]]
    enc.infrequent_categories_ = [
        _typed(c, k) for c, k in zip(config["infrequent_categories"], enc.kinds_, strict=True)
    ]
    enc.embedding_dims_ = list(config["embedding_dims"])
    enc.numeric_mean_ = np.asarray(config["numeric_mean"], dtype=np.float64)
    enc.numeric_scale_ = np.asarray(config["numeric_scale"], dtype=np.float64)
    enc.n_features_in_ = int(config["n_features_in"])
    if config["feature_names_in"] is not None:
        enc.feature_names_in_ = np.asarray(config["feature_names_in"], dtype=object)
    enc.history_ = [float(h["loss"]) for h in bundle.history or []]
    enc.validation_history_ = [
        float(h["val_loss"]) for h in bundle.history or [] if "val_loss" in h
    ]
    enc.best_epoch_ = int(config["best_epoch"])
    # bundles saved before table_decay="auto" trained with their (numeric) setting
    enc.table_decay_ = float(config.get("table_decay", params["table_decay"]))
    # saved as nested lists [n_categories + 1][n_out]
    enc.effects_ = [np.asarray(e, dtype=np.float64) for e in config["effects"]]
    for e in enc.effects_:
        e.flags.writeable = False
    # absent from bundles saved before the additive_prediction column: none then
    model = config.get("additive_model")
    enc.additive_model_ = (
        None
        if model is None
        else (
            np.asarray(model["intercept"], dtype=np.float64),
            np.asarray(model["slopes"], dtype=np.float64).reshape(
                len(enc.numeric_columns_), len(model["intercept"])
            ),
        )
    )
    enc.batch_size_ = int(config["batch_size"])
    if enc.task_ == "regression":
        enc.y_mean_, enc.y_scale_ = config["y_mean"], config["y_scale"]
    else:
        enc.classes_ = cast_values(
            np.asarray(config["classes"], dtype=object), config["classes_kind"]
        )
    n_out = enc._n_out()

    def network() -> TabularModule:
        return TabularModule(
            [len(c) + 1 for c in enc.categories_],
            enc.embedding_dims_,
            len(enc.numeric_columns_),
            enc.hidden,
            n_out,
        )

    tensors = bundle.torch_state_dict()
    n_folds = config.get("folds", 0)
    if not isinstance(n_folds, int) or isinstance(n_folds, bool) or n_folds < 0:
        raise BundleError(f"{bundle.path}: config 'folds' is {n_folds!r}; expected an integer >= 0")
    own = {k: v for k, v in tensors.items() if not k.startswith((FOLD_PREFIX, FOLD_TABLE_PREFIX))}
    enc.module_ = _load_module(bundle.path, network(), own)
    enc.fold_modules_ = []
    for k in range(n_folds):
        prefix = f"{FOLD_PREFIX}{k}."
        fold = {n[len(prefix) :]: v for n, v in tensors.items() if n.startswith(prefix)}
        enc.fold_modules_.append(_load_module(bundle.path, network(), fold, f" of fold {k}"))
    n_tables = sum(name.startswith(FOLD_TABLE_PREFIX) for name in tensors)
    enc.fold_embeddings_ = None
    if n_tables:
        enc.fold_embeddings_ = []
        for j, dim in enumerate(enc.embedding_dims_[:n_tables]):
            table = tensors.get(f"{FOLD_TABLE_PREFIX}{j}")
            if table is None or tuple(table.shape) != (len(enc.categories_[j]) + 1, dim):
                raise BundleError(
                    f"{bundle.path}: tensor {FOLD_TABLE_PREFIX}{j} is missing or not "
                    f"[{len(enc.categories_[j]) + 1}, {dim}]; save the encoder again"
                )
            array = table.numpy().astype(np.float64)
            array.flags.writeable = False
            enc.fold_embeddings_.append(array)
    enc.settings_ = enc._validated_settings()
    enc._set_tables(None)
    return enc
