"""The course's experiments: embedding size, biases and L2 strength against validation error.

Each experiment fits one model per setting on the same training data, scores the same
validation data after every epoch (the model's ``history_``) and returns a tidy
DataFrame: one row per setting and epoch, or one row per setting for :func:`l2_sweep`.
:func:`curve_summary` turns the per-epoch rows into final and best validation scores per
setting.

Nothing here imports torch at import time: the estimators of :mod:`embedlab.models` are
imported inside the function that picks one, on the first experiment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from embedlab.settings import renamed

__all__ = [
    "BIAS_VARIANTS",
    "CURVE_COLUMNS",
    "MODELS",
    "bias_experiment",
    "curve_summary",
    "l2_sweep",
    "size_sweep",
]

#: The models an experiment can fit: name -> estimator class name in :mod:`embedlab.models`.
MODELS = {"mf": "MatrixFactorization", "neural": "NeuralEmbeddingModel"}

#: Per-epoch columns taken from the model's history (after the setting's column).
CURVE_COLUMNS = ("epoch", "train_loss", "val_rmse", "val_mae", "seconds")

#: The variants of :func:`bias_experiment`: name -> the bias switches of the model.
#: ``"off"`` is the course's plain dot product ``p_u·q_i``; ``"global"`` keeps ``μ`` only.
BIAS_VARIANTS: dict[str, dict[str, bool]] = {
    "on": {"user_bias": True, "item_bias": True, "global_bias": True},
    "global": {"user_bias": False, "item_bias": False, "global_bias": True},
    "off": {"user_bias": False, "item_bias": False, "global_bias": False},
}

_SIZE_PARAMS = {"mf": ("embedding_dim",), "neural": ("embedding_dim",)}


def _model_class(model: str) -> Any:
    if model not in MODELS:
        raise ValueError(f"model={model!r}: expected one of {sorted(MODELS)}")
    # Imported here, not at module level: embedlab.models imports torch, and importing
    # embedlab.evaluation must not (tests/evaluation/test_ranking_metrics.py checks it).
    from embedlab.models import MatrixFactorization, NeuralEmbeddingModel

    classes = {
        "MatrixFactorization": MatrixFactorization,
        "NeuralEmbeddingModel": NeuralEmbeddingModel,
    }
    return classes[MODELS[model]]


def _check_conflicts(model_kwargs: dict[str, Any], owned: Iterable[str], what: str) -> None:
    clash = sorted(set(model_kwargs) & set(owned))
    if clash:
        raise ValueError(
            f"{', '.join(clash)} cannot be passed to {what}: the experiment sets "
            f"{'it' if len(clash) == 1 else 'them'} for each run; leave "
            f"{'it' if len(clash) == 1 else 'them'} out"
        )


def _check_values(values: Any, what: str, *, integer: bool) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{what}={values!r}: expected a list of numbers, e.g. {what}=(8, 16)")
    out = list(values)
    if not out:
        raise ValueError(f"{what}= is empty; give at least one value")
    for v in out:
        number = (
            isinstance(v, (int, np.integer)) if integer else isinstance(v, (int, float, np.number))
        )
        if isinstance(v, (bool, np.bool_)) or not number:
            kind = "integers" if integer else "numbers"
            raise TypeError(f"{what}: {v!r} is not a number; expected {kind}")
        if (integer and v < 1) or (not integer and not (np.isfinite(v) and v >= 0)):
            bound = ">= 1" if integer else "finite and >= 0"
            raise ValueError(f"{what}: {v!r} is out of range; expected values {bound}")
    if len(set(out)) != len(out):
        raise ValueError(f"{what}={out!r} holds duplicates; give each value once")
    return [int(v) if integer else float(v) for v in out]


def _curve(
    cls: Any,
    params: dict[str, Any],
    train: Any,
    validation: Any,
    progress: bool,
) -> pd.DataFrame:
    if validation is None:
        raise ValueError(
            "validation=None: these experiments compare validation error; pass held-out "
            "ratings, e.g. train, validation = ds.split('random', test_size=0.1, random_state=0)"
        )
    estimator = cls(**params)
    estimator.fit(train, validation=validation, progress=progress)
    frame = estimator.history_.to_pandas()
    return frame[list(CURVE_COLUMNS)].astype(
        {"epoch": "int64", "train_loss": "float64", "val_rmse": "float64", "val_mae": "float64"}
    )


def _run(
    column: str,
    settings: Sequence[tuple[Any, dict[str, Any]]],
    *,
    model: str,
    train: Any,
    validation: Any,
    epochs: int | None,
    random_state: int | None,
    progress: bool,
    model_kwargs: dict[str, Any],
) -> pd.DataFrame:
    cls = _model_class(model)
    frames = []
    for value, extra in settings:
        params = {**model_kwargs, **extra, "random_state": random_state}
        if epochs is not None:
            params["epochs"] = epochs
        curve = _curve(cls, params, train, validation, progress)
        curve.insert(0, column, value)
        frames.append(curve)
    return pd.concat(frames, ignore_index=True)


@renamed(sizes="embedding_dims")
def size_sweep(
    train: Any,
    validation: Any,
    embedding_dims: Sequence[int] = (2, 4, 8, 16, 32, 64, 128),
    *,
    model: str = "mf",
    epochs: int | None = None,
    random_state: int | None = 0,
    progress: bool = False,
    **model_kwargs: Any,
) -> pd.DataFrame:
    """Validation error against embedding size: where capacity turns into overfitting.

    One model per size, all other settings equal. For ``model="mf"`` the size is
    ``embedding_dim`` (for the neural model, the width of both tables).

    Args:
        train: Training ratings (:class:`~embedlab.Interactions`).
        validation: Ratings scored after every epoch (same vocabularies, e.g. the other
            half of ``ds.split(...)``).
        embedding_dims: Embedding sizes (``embedding_dim`` of each model), integers
            >= 1. ``sizes`` is its deprecated name (it warns; removed in the next
            release).
        model: ``"mf"`` (:class:`~embedlab.MatrixFactorization`) or ``"neural"``
            (:class:`~embedlab.NeuralEmbeddingModel`).
        epochs: Passes over the data (None: the model's default).
        random_state: Seed of every fit.
        progress: Show each fit's progress bar.
        **model_kwargs: Any other argument of the model, the same for every size.

    Returns:
        A DataFrame with columns ``size``, ``epoch`` (1-based), ``train_loss``,
        ``val_rmse``, ``val_mae``, ``seconds``: one row per size and epoch, sizes in
        the given order (``size`` holds the model's ``embedding_dim``).

    Raises:
        ValueError: For an unknown model, an empty or invalid ``embedding_dims``, no
            validation data, or a size parameter in ``model_kwargs``.
        TypeError: If ``embedding_dims`` is not a list of integers, or a model argument
            is unknown.

    Example:
        >>> import embedlab as el
        >>> ds, _ = el.synthetic_ratings(100, 60, 2000, random_state=0)
        >>> train, val = ds.split("random", test_size=0.2, random_state=0)
        >>> curves = size_sweep(train, val, embedding_dims=(2, 8), epochs=3)
        >>> curves.shape
        (6, 6)
        >>> list(curves.columns)
        ['size', 'epoch', 'train_loss', 'val_rmse', 'val_mae', 'seconds']
    """
    _model_class(model)
    cls_params = _SIZE_PARAMS[model]
    _check_conflicts(model_kwargs, cls_params, "size_sweep()")
    values = _check_values(embedding_dims, "embedding_dims", integer=True)
    settings = [(size, dict.fromkeys(cls_params, size)) for size in values]
    return _run(
        "size",
        settings,
        model=model,
        train=train,
        validation=validation,
        epochs=epochs,
        random_state=random_state,
        progress=progress,
        model_kwargs=model_kwargs,
    )


def bias_experiment(
    train: Any,
    validation: Any,
    variants: Sequence[str] = ("on", "off"),
    *,
    model: str = "mf",
    epochs: int | None = None,
    random_state: int | None = 0,
    progress: bool = False,
    **model_kwargs: Any,
) -> pd.DataFrame:
    """Validation error with biases on against off (:data:`BIAS_VARIANTS`).

    ``"on"`` learns ``μ + b_u + b_i`` beside the embeddings, ``"off"`` is the plain
    dot product (the course's first model), ``"global"`` keeps ``μ`` only.

    Args:
        train: Training ratings.
        validation: Ratings scored after every epoch.
        variants: Names from :data:`BIAS_VARIANTS`, in the order wanted.
        model: ``"mf"`` or ``"neural"``.
        epochs: Passes over the data (None: the model's default).
        random_state: Seed of every fit.
        progress: Show each fit's progress bar.
        **model_kwargs: Any other argument of the model (e.g. ``embedding_dim``).

    Returns:
        A DataFrame with columns ``biases`` (the variant's name), ``epoch``,
        ``train_loss``, ``val_rmse``, ``val_mae``, ``seconds``: one row per variant and
        epoch. ``curve_summary(frame, "biases")`` gives the final and best scores.

    Raises:
        ValueError: For an unknown model or variant, no validation data, or a bias
            switch in ``model_kwargs``.
    """
    _check_conflicts(model_kwargs, BIAS_VARIANTS["on"], "bias_experiment()")
    if isinstance(variants, str):
        variants = (variants,)
    names = list(variants)
    unknown = [v for v in names if v not in BIAS_VARIANTS]
    if unknown or not names:
        raise ValueError(
            f"variants={names!r}: expected names from {sorted(BIAS_VARIANTS)}, e.g. ('on', 'off')"
        )
    settings = [(name, dict(BIAS_VARIANTS[name])) for name in names]
    return _run(
        "biases",
        settings,
        model=model,
        train=train,
        validation=validation,
        epochs=epochs,
        random_state=random_state,
        progress=progress,
        model_kwargs=model_kwargs,
    )


def l2_sweep(
    train: Any,
    validation: Any,
    strengths: Sequence[float] = (0, 1e-3, 1e-2, 0.03, 0.06, 0.1, 0.3),
    *,
    model: str = "mf",
    epochs: int | None = None,
    random_state: int | None = 0,
    per_epoch: bool = False,
    progress: bool = False,
    **model_kwargs: Any,
) -> pd.DataFrame:
    """Validation error against L2 strength (the same strength on user and item vectors).

    The strength is passed as both ``l2_user`` and ``l2_item``; ``l2_bias`` and
    ``l2_mode`` stay as given in ``model_kwargs`` (or the model's defaults). What a
    strength means depends on ``l2_mode`` (see the model's docstring).

    Args:
        train: Training ratings.
        validation: Ratings scored after every epoch.
        strengths: L2 strengths, finite and >= 0.
        model: ``"mf"`` or ``"neural"``.
        epochs: Passes over the data (None: the model's default).
        random_state: Seed of every fit.
        per_epoch: Return the per-epoch curves (column ``l2``) instead of one row
            per strength.
        progress: Show each fit's progress bar.
        **model_kwargs: Any other argument of the model.

    Returns:
        By default one row per strength (:func:`curve_summary` of the curves):
        ``l2``, ``epochs``, ``final_train_loss``, ``final_val_rmse``,
        ``final_val_mae``, ``best_val_rmse``, ``best_epoch``, ``seconds``.
        With ``per_epoch=True``: ``l2``, ``epoch``, ``train_loss``, ``val_rmse``,
        ``val_mae``, ``seconds``.

    Raises:
        ValueError: For an unknown model, an empty or invalid ``strengths``, no
            validation data, or ``l2_user``/``l2_item`` in ``model_kwargs``.
        TypeError: If ``strengths`` is not a list of numbers.
    """
    _check_conflicts(model_kwargs, ("l2_user", "l2_item"), "l2_sweep()")
    _model_class(model)
    values = _check_values(strengths, "strengths", integer=False)
    settings = [(s, {"l2_user": s, "l2_item": s}) for s in values]
    curves = _run(
        "l2",
        settings,
        model=model,
        train=train,
        validation=validation,
        epochs=epochs,
        random_state=random_state,
        progress=progress,
        model_kwargs=model_kwargs,
    )
    return curves if per_epoch else curve_summary(curves, "l2")


def curve_summary(curves: pd.DataFrame, by: str) -> pd.DataFrame:
    """Final and best validation scores per setting of a per-epoch frame.

    Args:
        curves: A frame from :func:`size_sweep`, :func:`bias_experiment` or
            ``l2_sweep(per_epoch=True)``.
        by: Its setting column (``"size"``, ``"biases"``, ``"l2"``).

    Returns:
        One row per setting, in the frame's order: ``by``, ``epochs``,
        ``final_train_loss``, ``final_val_rmse``, ``final_val_mae``,
        ``best_val_rmse``, ``best_epoch`` (the first epoch with the lowest validation
        RMSE) and ``seconds`` (all epochs together).

    Raises:
        ValueError: If ``by`` or a per-epoch column is missing.
    """
    missing = [c for c in (by, *CURVE_COLUMNS) if c not in curves.columns]
    if missing:
        raise ValueError(
            f"curves lack the columns {missing}; expected a per-epoch frame with "
            f"{by!r} and {list(CURVE_COLUMNS)}"
        )
    rows = []
    for value, group in curves.groupby(by, sort=False):
        group = group.sort_values("epoch")
        last = group.iloc[-1]
        rmse = group["val_rmse"].to_numpy(dtype=np.float64)
        best = int(np.nanargmin(rmse)) if np.isfinite(rmse).any() else None
        rows.append(
            {
                by: value,
                "epochs": len(group),
                "final_train_loss": float(last["train_loss"]),
                "final_val_rmse": float(last["val_rmse"]),
                "final_val_mae": float(last["val_mae"]),
                "best_val_rmse": float(rmse[best]) if best is not None else float("nan"),
                "best_epoch": int(group["epoch"].iloc[best]) if best is not None else -1,
                "seconds": float(group["seconds"].sum()),
            }
        )
    return pd.DataFrame(rows)
