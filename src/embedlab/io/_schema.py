"""What a model bundle's config and tensors must hold, per model class, checked before any
module is built.

A bundle is untrusted input: its files may have been edited and the checksums resealed.
:func:`load_bundle` checks what every bundle must satisfy (files, sizes, checksums, the
tensors against ``model.json``, finite values); :func:`check_model_bundle` checks what
the model class that wrote the bundle requires:

* the config against the model's settings schema (:mod:`embedlab.settings`, whose checks
  are used as they are): unknown, missing and wrong-typed keys, values out of range;
* every tensor's name, shape and dtype against the vocabularies and those settings (the
  state-dict names of ``docs/models-contract.md``), so a table whose rows do not match
  the vocabulary, or a config that would build a module of terabytes, is refused before
  any memory is allocated;
* the values that index other arrays: the seen items (CSR: ``seen_indptr`` rising from 0
  to the number of entries, ``seen_indices`` within the item vocabulary) and the counts.

Each failure is one :class:`~embedlab.exceptions.BundleError` line naming the file and
the field, what came and what was expected.
"""

from __future__ import annotations

import math
import numbers
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from embedlab.exceptions import BundleError, SettingsError
from embedlab.io._bundle import ITEMS_VOCAB, MODEL_JSON, USERS_VOCAB, WEIGHTS, Bundle
from embedlab.recommend import SEEN_TENSORS
from embedlab.settings import (
    EncoderSettings,
    ImplicitMFSettings,
    MFSettings,
    NeuralSettings,
    Pair,
    Real,
    Settings,
)

__all__ = [
    "ENCODER_CLASS",
    "LAYOUT_METHODS",
    "LAYOUT_TENSOR",
    "MODEL_SETTINGS",
    "check_model_bundle",
]

#: The tensor of a stored map (``EmbeddingModel.save(layout=...)``): ``float32[n_items, 2]``.
LAYOUT_TENSOR = "item_layout"
#: Methods a stored map may come from (those of :func:`embedlab.viz.project`).
LAYOUT_METHODS = ("tsne", "pca", "umap")

#: The settings schema of each estimator class whose bundles hold a user-item model.
MODEL_SETTINGS: dict[str, type[Settings]] = {
    "MatrixFactorization": MFSettings,
    "NeuralEmbeddingModel": NeuralSettings,
    "ImplicitMatrixFactorization": ImplicitMFSettings,
}
#: The model class of :class:`~embedlab.EmbeddingEncoder` bundles (``config.params`` is
#: checked here; the rest of its config by the encoder's loader).
ENCODER_CLASS = "EmbeddingEncoder"

_RESAVE = "re-save the model"
#: Keys of an estimator's ``config`` (``EmbeddingModel.save``), and what each must hold.
_CONFIG_KEYS = (
    "params",
    "settings",
    "engine",
    "seed",
    "versions",
    "data",
    "training_seconds",
    "global_mean",
    "rating_scale",
    "embedlab_version",
    "layout",
)
#: Keys a model class adds (its ``_extra_provenance``); a key added there must be added here.
_EXTRA_CONFIG_KEYS = {
    "MatrixFactorization": ("adaptive",),
    "NeuralEmbeddingModel": ("pretrain_settings",),
}
_REQUIRED_CONFIG_KEYS = ("params", "global_mean")
_MLP = re.compile(r"^mlp\.(\d+)\.(weight|bias)$")
#: Entries of the seen-item arrays checked at a time (bounds the temporaries).
_CHUNK = 1 << 22


def _fail(message: str) -> BundleError:
    return BundleError(f"{message}; {_RESAVE}")


def _config_fail(where: str, message: str) -> BundleError:
    return _fail(f"{MODEL_JSON}: {where}: {message}")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else f"a {type(value).__name__}"
    )


# ---------------------------------------------------------------------- the config
def _settings(cls: type[Settings], values: Any, where: str) -> Settings:
    """``values`` validated by the settings class (unknown names, types, ranges)."""
    if not isinstance(values, dict):
        raise _config_fail(
            where, f"is {_kind(values)}; expected an object of {cls.__name__} fields"
        )
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    with warnings.catch_warnings():  # names of older releases are translated quietly
        warnings.simplefilter("ignore", FutureWarning)
        try:
            return cls.from_params(given, owner=where)
        except SettingsError as exc:
            message = str(exc)
        except (TypeError, ValueError, OverflowError) as exc:  # a shape no check foresaw
            message = f"{type(exc).__name__}: {exc}"
    message = message.removeprefix(f"{where}: ")
    raise _config_fail(where, message)


def _check_field(cls: type[Settings], field: str, value: Any, where: str) -> None:
    """``value`` checked by the check of ``cls``'s field ``field``."""
    check = next(f.metadata["check"] for f in cls.fields() if f.name == field)
    _checked(lambda: check(where, value), "config")


def _checked(run: Callable[[], Any], where: str) -> None:
    """Run a settings check; its failure (or a number too large for a float) as a BundleError."""
    try:
        run()
    except SettingsError as exc:
        raise _config_fail(where, str(exc)) from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise _config_fail(where, f"{type(exc).__name__}: {exc}") from None


def _resolved(cls: type[Settings], base: Settings, params: dict[str, Any], record: Any) -> Settings:
    """The record of what ran (``config.settings``, format 2) on top of the parameters."""
    where = "config.settings"
    if not isinstance(record, dict):
        raise _config_fail(
            where, f"is {_kind(record)}; expected an object of {cls.__name__} fields"
        )
    resolved = _settings(cls, {**base.to_dict(), **record}, where)
    engine = getattr(resolved, "engine", None)
    for f in cls.fields():
        engines = f.metadata["engines"]
        # The record holds every field the engine used; a field the parameters hold too
        # was known to the release that wrote the bundle, so it must be there.
        if (engines is None or engine in engines) and f.name in params and f.name not in record:
            raise _config_fail(
                where,
                f"{f.name!r} is missing; expected the value the {engine} engine used "
                f"(config.params has {f.name})",
            )
    return resolved


def _check_number(value: Any, where: str) -> None:
    try:
        finite = math.isfinite(float(value))
    except (TypeError, ValueError, OverflowError):
        finite = False
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not finite:
        raise _config_fail("config", f"{where}={value!r}: expected a finite number")


def _check_model_config(bundle: Bundle, cls: type[Settings]) -> list[Settings]:
    """Validate an estimator's config; return the settings that describe its module."""
    config = bundle.config
    allowed = (*_CONFIG_KEYS, *_EXTRA_CONFIG_KEYS.get(bundle.model_class, ()))
    unknown = sorted(set(config) - set(allowed))
    if unknown:
        raise _config_fail(
            "config",
            f"unknown key {unknown[0]!r}; expected keys of a {bundle.model_class} bundle: "
            f"{', '.join(allowed)}",
        )
    for key in _REQUIRED_CONFIG_KEYS:
        if key not in config:
            expected = "the constructor's parameters" if key == "params" else "a finite number"
            raise _config_fail("config", f"{key!r} is missing; expected {expected}")
    params = config["params"]
    base = _settings(cls, params, "config.params")
    described = [base]
    if "settings" in config:
        described.append(_resolved(cls, base, params, config["settings"]))
    if "pretrain_settings" in config:
        _settings(MFSettings, config["pretrain_settings"], "config.pretrain_settings")
    _check_number(config["global_mean"], "global_mean")
    _checked(lambda: Pair()("rating_scale", config.get("rating_scale")), "config")
    if "training_seconds" in config:
        _checked(lambda: Real(0)("training_seconds", config["training_seconds"]), "config")
    if "engine" in config:
        _check_field(cls, "engine", config["engine"], "engine")
    if "seed" in config:
        _check_field(cls, "random_state", config["seed"], "seed")
    for key in ("versions", "data", "adaptive"):
        if key in config and not isinstance(config[key], dict):
            raise _config_fail(f"config.{key}", f"is {_kind(config[key])}; expected an object")
    if "embedlab_version" in config and not isinstance(config["embedlab_version"], str):
        raise _config_fail(
            "config.embedlab_version", f"is {_kind(config['embedlab_version'])}; expected a string"
        )
    data = config.get("data") or {}
    for key, vocab, rel in (
        ("n_users", bundle.users, USERS_VOCAB),
        ("n_items", bundle.items, ITEMS_VOCAB),
    ):
        if key in data and data[key] != len(vocab):
            raise _config_fail(
                "config.data", f"{key}={data[key]!r} but {rel} holds {len(vocab):,} IDs"
            )
    return described


def _check_encoder_config(bundle: Bundle) -> None:
    """An encoder bundle's ``config.params`` against :class:`EncoderSettings`."""
    config = bundle.config
    if "params" not in config:
        raise _config_fail("config", "'params' is missing; expected the encoder's parameters")
    params = config["params"]
    if isinstance(params, dict):
        params = dict(params)
        dims = params.get("embedding_dims")
        # saved as [[column, width], ...] (JSON has no keys other than strings)
        if isinstance(dims, list) and all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], (str, int, float))
            for p in dims
        ):
            params["embedding_dims"] = dict(dims)
    _settings(EncoderSettings, params, "config.params")


# ---------------------------------------------------------------------- the tensors
def _spec(dtype: str, shape: list[int]) -> str:
    return f"{dtype}{shape}"


class _Tensors:
    """The bundle's tensors checked one by one against what the settings imply."""

    def __init__(self, bundle: Bundle) -> None:
        self.tensors = bundle.tensors
        self.n_users = len(bundle.users)
        self.n_items = len(bundle.items)
        self.seen: set[str] = set()

    def expect(
        self, name: str, dtype: str, shape: list[int], why: str, *, required: bool = True
    ) -> np.ndarray | None:
        self.seen.add(name)
        arr = self.tensors.get(name)
        if arr is None:
            if required:
                raise _fail(
                    f"{WEIGHTS}: tensor {name!r} is missing; expected {_spec(dtype, shape)} ({why})"
                )
            return None
        got = [int(d) for d in arr.shape]
        if str(arr.dtype) != dtype or got != shape:
            raise _fail(
                f"{WEIGHTS}: tensor {name!r} is {_spec(str(arr.dtype), got)}; expected "
                f"{_spec(dtype, shape)} ({why})"
            )
        return arr

    def absent(self, name: str, why: str) -> None:
        self.seen.add(name)
        if name in self.tensors:
            raise _fail(f"{WEIGHTS}: unexpected tensor {name!r} ({why})")


def _dims(settings: Settings) -> tuple[int, int]:
    if isinstance(settings, NeuralSettings):
        return settings.dims
    dim = int(settings.embedding_dim)  # type: ignore[attr-defined]
    return dim, dim


def _check_tables(t: _Tensors, settings: Settings, where: str) -> None:
    """The embedding and bias tables (and μ) against the vocabularies and the settings."""
    u_dim, i_dim = _dims(settings)
    users = f"{t.n_users:,} users in {USERS_VOCAB}"
    items = f"{t.n_items:,} items in {ITEMS_VOCAB}"
    width = "embedding_dim" + (" (user, item)" if u_dim != i_dim else "")
    t.expect(
        "user_embedding.weight",
        "float32",
        [t.n_users, u_dim],
        f"{users}, {width} {u_dim} in {where}",
    )
    t.expect(
        "item_embedding.weight",
        "float32",
        [t.n_items, i_dim],
        f"{items}, {width} {i_dim} in {where}",
    )
    for side, n, vocab in (("user", t.n_users, users), ("item", t.n_items, items)):
        name = f"{side}_bias.weight"
        if getattr(settings, f"{side}_bias", False):  # (the implicit model has none)
            t.expect(name, "float32", [n, 1], f"{vocab}, {side}_bias=True in {where}")
        else:
            t.absent(name, f"{side}_bias=False in {where}")
    if getattr(settings, "global_bias", False):
        t.expect("global_bias", "float32", [], f"global_bias=True in {where}")
    else:
        t.absent("global_bias", f"global_bias=False in {where}")


def _check_mlp(t: _Tensors, settings: NeuralSettings, where: str) -> None:
    """The neural model's hidden layers (``mlp.<k>``, in order) and ``output``."""
    layers: dict[int, set[str]] = {}
    for name in t.tensors:
        match = _MLP.match(name)
        if match:
            layers.setdefault(int(match.group(1)), set()).add(match.group(2))
    hidden = list(settings.hidden)
    if len(layers) != len(hidden):
        raise _fail(
            f"{WEIGHTS}: {len(layers)} hidden layer{'' if len(layers) == 1 else 's'} "
            f"(mlp.<k>.weight); expected {len(hidden)} (hidden={hidden} in {where})"
        )
    u_dim, i_dim = _dims(settings)
    width = u_dim + i_dim
    for index, size in zip(sorted(layers), hidden, strict=True):
        why = f"hidden={hidden} in {where}, input width {width}"
        t.expect(f"mlp.{index}.weight", "float32", [size, width], why)
        t.expect(f"mlp.{index}.bias", "float32", [size], why)
        width = size
    t.expect("output.weight", "float32", [1, width], f"one output after hidden={hidden}")
    t.expect("output.bias", "float32", [1], "one output")


def _check_counts(t: _Tensors) -> None:
    for side, n, rel in (("item", t.n_items, ITEMS_VOCAB), ("user", t.n_users, USERS_VOCAB)):
        name = f"{side}_counts"
        arr = t.expect(name, "int64", [n], f"one count per ID of {rel}")
        if arr is not None and arr.size and int(arr.min()) < 0:
            at = int(np.argmin(arr))
            raise _fail(
                f"{WEIGHTS}: {name}[{at}] is {int(arr[at])}; expected a number of ratings >= 0"
            )


def _check_seen(t: _Tensors) -> None:
    """The training pairs as CSR: every index within bounds, the row pointers consistent."""
    present = [name for name in SEEN_TENSORS if name in t.tensors]
    t.seen.update(SEEN_TENSORS)
    if not present:
        return  # a bundle of a release that did not store them
    if len(present) != len(SEEN_TENSORS):
        missing = [name for name in SEEN_TENSORS if name not in t.tensors]
        raise _fail(
            f"{WEIGHTS}: tensor {missing[0]!r} is missing; expected all of "
            f"{', '.join(SEEN_TENSORS)} or none"
        )
    indptr_name, indices_name, ratings_name = SEEN_TENSORS
    indices, indptr = t.tensors[indices_name], t.tensors[indptr_name]
    if indices.ndim != 1:
        raise _fail(
            f"{WEIGHTS}: tensor {indices_name!r} is {_spec(str(indices.dtype), list(indices.shape))}; "
            "expected a 1-D int32 array (the item index of each training rating)"
        )
    nnz = int(indices.shape[0])
    t.expect(indices_name, "int32", [nnz], "the item index of each training rating")
    t.expect(ratings_name, "float32", [nnz], f"one rating per entry of {indices_name}")
    t.expect(
        indptr_name, "int64", [t.n_users + 1], f"{t.n_users:,} users in {USERS_VOCAB}, plus one"
    )
    if int(indptr[0]) != 0:
        raise _fail(f"{WEIGHTS}: {indptr_name}[0] is {int(indptr[0])}; expected 0")
    if int(indptr[-1]) != nnz:
        raise _fail(
            f"{WEIGHTS}: {indptr_name}[{t.n_users}] is {int(indptr[-1]):,}; expected {nnz:,} "
            f"(the length of {indices_name})"
        )
    steps = np.diff(indptr)
    if steps.size and int(steps.min()) < 0:
        at = int(np.argmin(steps))
        raise _fail(
            f"{WEIGHTS}: {indptr_name} falls from {int(indptr[at]):,} to {int(indptr[at + 1]):,} "
            f"at position {at + 1}; expected row pointers that never decrease"
        )
    for start in range(0, nnz, _CHUNK):
        chunk = indices[start : start + _CHUNK]
        low, high = int(chunk.min()), int(chunk.max())
        if low < 0 or high >= t.n_items:
            bad = (chunk < 0) | (chunk >= t.n_items)
            at = start + int(np.argmax(bad))
            raise _fail(
                f"{WEIGHTS}: {indices_name}[{at}] is {int(indices[at])}; expected an item index "
                f"from 0 to {t.n_items - 1} ({t.n_items:,} items in {ITEMS_VOCAB})"
            )


def _check_item_layout(t: _Tensors, layout: Any) -> None:
    """The stored map (``EmbeddingModel.save(layout=...)``): ``config.layout`` names its
    method and ``item_layout`` holds one finite point per item; neither or both."""
    if layout is None:
        t.absent(LAYOUT_TENSOR, "config.layout is absent")
        return
    if not isinstance(layout, dict) or set(layout) != {"method"}:
        raise _config_fail("config.layout", f"is {_kind(layout)}; expected {{'method': ...}}")
    if layout["method"] not in LAYOUT_METHODS:
        raise _config_fail(
            "config.layout.method",
            f"is {layout['method']!r}; expected one of {', '.join(LAYOUT_METHODS)}",
        )
    # (finite values: load_bundle checks every float tensor)
    t.expect(LAYOUT_TENSOR, "float32", [t.n_items, 2], "one map point per item")


def _check_rest(t: _Tensors, model_class: str) -> None:
    unexpected = sorted(set(t.tensors) - t.seen)
    if unexpected:
        raise _fail(
            f"{WEIGHTS}: unexpected tensor {unexpected[0]!r}; a {model_class} bundle holds "
            f"{', '.join(sorted(t.seen))}"
        )


_CHECKS: dict[str, Callable[[_Tensors, Settings, str], None]] = {
    "NeuralEmbeddingModel": _check_mlp,  # type: ignore[dict-item]
}


def check_model_bundle(bundle: Bundle) -> None:
    """Check a loaded bundle's config and tensors against what its model class requires.

    For the estimators (:data:`MODEL_SETTINGS`): the config against the settings schema
    (``config.params``, the record ``config.settings`` of format 2, ``pretrain_settings``,
    ``global_mean``, ``rating_scale`` ...; unknown keys refused), then every tensor's name,
    dtype and shape against the vocabularies and those settings, then the indices of the
    seen-item arrays and the counts. For an encoder bundle, ``config.params`` against
    :class:`~embedlab.settings.EncoderSettings`. Other model classes: nothing more than
    :func:`load_bundle` checks.

    Nothing here allocates more than the tensors already read.

    Raises:
        BundleError: One line naming the file and the field, what came and what was expected.
    """
    if bundle.model_class == ENCODER_CLASS:
        _check_encoder_config(bundle)
        return
    cls = MODEL_SETTINGS.get(bundle.model_class)
    if cls is None:
        return
    described = _check_model_config(bundle, cls)
    extra = _CHECKS.get(bundle.model_class)
    # The module is built from the parameters; the record of what ran must describe the
    # same tables.
    for settings, where in zip(described, ("config.params", "config.settings"), strict=False):
        t = _Tensors(bundle)
        _check_tables(t, settings, where)
        if extra is not None:
            extra(t, settings, where)
    _check_counts(t)
    _check_seen(t)
    _check_item_layout(t, bundle.config.get("layout"))
    _check_rest(t, bundle.model_class)
