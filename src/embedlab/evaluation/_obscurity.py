"""The course's "obscure recommendations" experiment: how regularization and a rating-count
filter change the popularity of what a model recommends.

A model fitted without any L2 can give an item rated once or twice (with a 5) a large
item bias, and that item then tops many users' lists. :func:`obscurity_experiment` fits
the models of :data:`OBSCURITY_MODELS` on the same training data, recommends ``n``
unseen items to every training user, and measures how obscure those items are: the
mean and median training-rating count of the recommended items, the share with fewer
than ``min_count`` ratings, and the catalogue coverage (plus the test RMSE when test
data is given). A per-user frame shows a few users' lists with each item's count.

Nothing here imports torch at import time: the estimators are imported on first use.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from embedlab.evaluation._beyond import (
    catalog_coverage,
    obscure_share,
    recommended_popularity,
)
from embedlab.evaluation._experiments import _model_class
from embedlab.settings import Int

__all__ = [
    "OBSCURITY_MODELS",
    "SUMMARY_COLUMNS",
    "ObscurityResult",
    "obscurity_experiment",
]

#: No L2 at all and no bias damping: the course's unregularized model.
_UNREGULARIZED = {"l2_user": 0.0, "l2_item": 0.0, "l2_bias": 0.0, "bias_damping": 0.0}

#: The models compared by default: name -> settings. ``"params"`` are keyword arguments
#: of :class:`~embedlab.MatrixFactorization` on top of its defaults (and of
#: ``model_kwargs``); ``"filter"`` says whether the recommendations keep only items with
#: at least ``filter_min_count`` training ratings. ``"unregularized+filter"`` reuses the
#: fit of ``"unregularized"`` (same settings), filtered at recommendation time.
#:
#: ``"unregularized-adam"`` is the same unregularized model trained as the course trains,
#: with Adam (the torch engine's lazy Adam, at ``learning_rate=0.05``, 512 dimensions) on
#: the course's batches of 5,000 ratings.
#: Adam scales each row's step by that row's own gradient history, so a row seen once an
#: epoch moves several times further per visit than a popular one, and rarely rated items
#: drift to extreme scores; SGD's steps shrink with the gradient, which hides most of it.
#: Measured on all of ML-100K / ml-latest-small's 90 % (top 10, items with < 10 ratings):
#: SGD engine 4.6 % / 21 %; lazy Adam at 0.005: 2.9 % / 29 %; at 0.015: 16 % / 90 %; at
#: 0.02: 68 % / 99.7 %; at 0.03: 57 % on ML-100K (0.05: 63 %) — all on batches of 1,024,
#: which made that arm take 80-260 s on ML-100K. On the course's batches of 5,000 it
#: takes a fifth of the steps; at 0.03 the effect is weaker there (11 % on ML-100K), at
#: 0.05 it is the course's again: 72 % / 96 %.
#:
#: The SGD models train with ``holdout=0.0``: exactly as set, for 20 epochs. The engine's
#: check on held-out ratings would tune the epochs (and could fall back to the biases),
#: which is not what this experiment compares.
OBSCURITY_MODELS: dict[str, dict[str, Any]] = {
    "unregularized": {"params": {**_UNREGULARIZED, "holdout": 0.0}},
    "unregularized-adam": {
        "params": {
            **_UNREGULARIZED,
            "engine": "torch",
            "learning_rate": 0.05,
            "batch_size": 5000,
            "embedding_dim": 512,
        }
    },
    "default": {"params": {"holdout": 0.0}},
    "unregularized+filter": {"params": {**_UNREGULARIZED, "holdout": 0.0}, "filter": True},
}

#: Columns of :attr:`ObscurityResult.summary`, in order.
SUMMARY_COLUMNS = (
    "model",
    "min_count_filter",
    "n_users",
    "n_recommendations",
    "mean_n_ratings",
    "median_n_ratings",
    "obscure_share",
    "coverage",
    "rmse",
    "fit_seconds",
)

#: Columns of :attr:`ObscurityResult.samples`, in order.
SAMPLE_COLUMNS = ("user", "model", "rank", "item", "label", "n_ratings")


@dataclass(frozen=True)
class ObscurityResult:
    """What :func:`obscurity_experiment` returns.

    Attributes:
        summary: One row per model, in the order compared: ``model``;
            ``min_count_filter`` (the recommendation filter, NaN when none);
            ``n_users`` (users given a list); ``n_recommendations`` (list entries);
            ``mean_n_ratings`` and ``median_n_ratings`` (training-rating count of the
            recommended items, over all entries); ``obscure_share`` (share of entries
            whose item has fewer than ``min_count`` training ratings);
            ``coverage`` (distinct recommended items / training catalogue);
            ``rmse`` (on the test data; NaN without it); ``fit_seconds`` (0 for a
            model that reuses another's fit).
        samples: The sample users' lists, one row per (user, model, rank):
            ``user``, ``model``, ``rank`` (1 = best), ``item`` (raw ID), ``label``
            (title, or None), ``n_ratings`` (the item's training-rating count).
        settings: The experiment's options (``n``, ``min_count``,
            ``filter_min_count``, ``random_state``, ``model_kwargs``, the sample users).
    """

    summary: pd.DataFrame
    samples: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)


def _check_count(value: Any, name: str, *, minimum: int) -> int:
    return Int(minimum)(name, value)


def _model_specs(models: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Each model to compare: ``name``, ``factory`` (opaque) or ``model`` + ``params``,
    ``filter``."""
    if models is None:
        models = OBSCURITY_MODELS
    if not isinstance(models, Mapping) or not models:
        raise ValueError(
            "models: expected a non-empty dict of name to settings, e.g. "
            "{'l2': {'params': {'l2_item': 0.1}}, 'l2+filter': {'params': {}, 'filter': True}}"
        )
    out = []
    for name, spec in models.items():
        if not isinstance(name, str):
            raise ValueError(f"models: names must be strings, got {name!r}")
        if callable(spec) and not isinstance(spec, Mapping):
            spec = {"factory": spec}
        if not isinstance(spec, Mapping):
            raise TypeError(
                f"models[{name!r}]: got {type(spec).__name__}; expected a dict with 'params' "
                "(MatrixFactorization arguments) or 'factory' (a zero-argument callable "
                "returning an unfitted estimator), and optionally 'filter': True"
            )
        unknown = sorted(set(spec) - {"params", "factory", "filter", "model"})
        if unknown:
            raise ValueError(
                f"models[{name!r}]: unknown key(s) {unknown}; expected 'params', 'model' "
                "('mf' or 'neural'), 'factory' and 'filter'"
            )
        factory = spec.get("factory")
        if factory is not None and ("params" in spec or "model" in spec):
            raise ValueError(f"models[{name!r}]: pass either 'factory' or 'params'/'model'")
        if factory is not None and not callable(factory):
            raise TypeError(f"models[{name!r}]['factory']: expected a zero-argument callable")
        params = spec.get("params") or {}
        if not isinstance(params, Mapping):
            raise TypeError(f"models[{name!r}]['params']: expected a dict of estimator arguments")
        model = spec.get("model", "mf")
        if factory is None:
            _model_class(model)
        out.append(
            {
                "name": name,
                "factory": factory,
                "model": model,
                "params": dict(params),
                "filter": bool(spec.get("filter", False)),
            }
        )
    return out


def _sample_users(sample_users: Any, known: np.ndarray, random_state: int | None) -> list[Any]:
    if isinstance(sample_users, numbers.Integral) and not isinstance(sample_users, bool):
        count = _check_count(sample_users, "sample_users", minimum=0)
        rng = np.random.default_rng(random_state)
        chosen = rng.choice(known.size, size=min(count, known.size), replace=False)
        return [known[i].item() if hasattr(known[i], "item") else known[i] for i in chosen]
    if isinstance(sample_users, (str, bytes)) or not isinstance(sample_users, Iterable):
        raise TypeError(
            f"sample_users={sample_users!r}: expected a number of users to draw, or a list "
            "of raw user IDs"
        )
    return list(sample_users)


def _fit_params(spec: dict[str, Any], shared: dict[str, Any], seed: int | None) -> dict[str, Any]:
    params = {**shared, **spec["params"]}
    params.setdefault("random_state", seed)
    return params


def _fit_key(spec: dict[str, Any], shared: dict[str, Any], seed: int | None) -> str:
    """Models with the same key share one fit."""
    return f"{spec['model']}:{sorted(_fit_params(spec, shared, seed).items())!r}"


def obscurity_experiment(
    train: Any,
    test: Any = None,
    *,
    models: Mapping[str, Any] | None = None,
    n: int = 10,
    min_count: int = 10,
    filter_min_count: int = 100,
    sample_users: int | Iterable[Any] = 3,
    random_state: int | None = 0,
    model_kwargs: Mapping[str, Any] | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> ObscurityResult:
    """Do the models recommend obscure items? The course's story, measured.

    Each model is fitted on ``train`` and recommends ``n`` items to every user with a
    training rating (``recommend_batch``; items the user rated in training are left
    out). The recommended items are scored by their training-rating count
    (``model.item_counts_``). By default (:data:`OBSCURITY_MODELS`) four models are
    compared, all :class:`~embedlab.MatrixFactorization` with ``random_state``:

    * ``"unregularized"``: ``l2_user = l2_item = l2_bias = bias_damping = 0``, other
      settings default (the compiled SGD engine);
    * ``"unregularized-adam"``: the same, trained with Adam as the course does
      (``engine="torch"``, ``learning_rate=0.05``, ``batch_size=5000``,
      ``embedding_dim=512``); this is the
      model whose lists fill with rarely rated items;
    * ``"default"``: the product defaults (L2 on);
    * ``"unregularized+filter"``: the unregularized model, recommending only items with
      at least ``filter_min_count`` training ratings (the course keeps >= 100).

    Args:
        train: Training ratings (:class:`~embedlab.Interactions`).
        test: Held-out ratings for the ``rmse`` column (unknown IDs scored with the
            model's fallback), or None.
        models: Name -> settings, compared in order: a dict with ``"params"``
            (estimator arguments), optionally ``"model"`` (``"mf"``, default, or
            ``"neural"``) and ``"filter": True`` (recommend only items with
            ``>= filter_min_count`` ratings); or ``"factory"``, a zero-argument
            callable returning an unfitted estimator (a bare callable is taken as a
            factory). Models with the same ``"params"`` and ``"model"`` share one fit.
        n: Length of every recommendation list.
        min_count: Items with fewer training ratings than this are "obscure".
        filter_min_count: The minimum rating count of the filtered models.
        sample_users: Users whose lists go into ``samples``: how many to draw at
            random (seeded by ``random_state``) among the training users, or a list of
            raw user IDs.
        random_state: Seed of every fit (set unless ``params``/``model_kwargs`` set
            it) and of the sample draw.
        model_kwargs: Estimator arguments for every model built from ``"params"``
            (e.g. ``{"embedding_dim": 32, "epochs": 10}`` for a quick run); a model's
            own ``"params"`` win. Default: none, i.e. the product defaults.
        progress: Show each fit's progress bar.
        log: Called with one line before each fit ("fitting unregularized-adam (2 of
            3 fits) ...") and after it, with its time; None: silent.

    Returns:
        An :class:`ObscurityResult`: ``summary`` (one row per model), ``samples``
        (the sample users' lists) and ``settings``.

    Raises:
        ValueError: For ``n`` < 1, negative counts, a malformed ``models``.
        TypeError: If ``models`` or ``sample_users`` has the wrong type.
        UnknownIDError: If a sample user is not among the training users.

    Example:
        >>> import embedlab as el
        >>> ds, _ = el.synthetic_ratings(100, 60, 2000, random_state=0)
        >>> res = obscurity_experiment(ds, model_kwargs={"embedding_dim": 4, "epochs": 3})
        >>> res.summary["model"].tolist()
        ['unregularized', 'unregularized-adam', 'default', 'unregularized+filter']
        >>> list(res.samples.columns)
        ['user', 'model', 'rank', 'item', 'label', 'n_ratings']
    """
    n = _check_count(n, "n", minimum=1)
    min_count = _check_count(min_count, "min_count", minimum=0)
    filter_min_count = _check_count(filter_min_count, "filter_min_count", minimum=0)
    if model_kwargs is not None and not isinstance(model_kwargs, Mapping):
        raise TypeError(f"model_kwargs: got {type(model_kwargs).__name__}; expected a dict")
    shared = dict(model_kwargs or {})
    specs = _model_specs(models)

    fits: dict[str, Any] = {}
    n_fits = len(
        {
            spec["name"] if spec["factory"] is not None else _fit_key(spec, shared, random_state)
            for spec in specs
        }
    )
    done_fits = 0
    summary_rows: list[dict[str, Any]] = []
    sample_frames: list[pd.DataFrame] = []
    chosen: list[Any] | None = None
    for spec in specs:
        name = spec["name"]
        key = None
        if spec["factory"] is None:
            params = _fit_params(spec, shared, random_state)
            key = _fit_key(spec, shared, random_state)
        seconds = 0.0
        if key is not None and key in fits:
            model = fits[key]
        else:
            model = (
                spec["factory"]()
                if spec["factory"] is not None
                else _model_class(spec["model"])(**params)
            )
            done_fits += 1
            if log is not None:
                log(f"fitting {name} ({done_fits} of {n_fits} fits)")
            start = time.perf_counter()
            model.fit(train, progress=progress)
            seconds = time.perf_counter() - start
            if log is not None:
                log(f"fitted {name} in {seconds:.1f} s")
            if key is not None:
                fits[key] = model
        counts = pd.Series(
            np.asarray(model.item_counts_, dtype=np.int64), index=pd.Index(model.items_.ids())
        )
        known = np.asarray(model.users_.ids())[np.asarray(model.user_counts_) > 0]
        if chosen is None:
            chosen = _sample_users(sample_users, known, random_state)
        flt = filter_min_count if spec["filter"] else None
        recs = model.recommend_batch(known, n=n, min_count=flt)
        pop = recommended_popularity(recs, counts)
        rmse = (
            float(model.evaluate(test, unknown="fallback")["rmse"])
            if test is not None
            else float("nan")
        )
        summary_rows.append(
            {
                "model": name,
                "min_count_filter": float(flt) if flt is not None else float("nan"),
                "n_users": int(recs["user"].nunique()),
                "n_recommendations": len(recs),
                "mean_n_ratings": pop["mean"],
                "median_n_ratings": pop["median"],
                "obscure_share": obscure_share(recs, counts, min_count),
                "coverage": catalog_coverage(recs, len(model.items_)) if len(recs) else 0.0,
                "rmse": rmse,
                "fit_seconds": seconds,
            }
        )
        if chosen:
            lists = model.recommend_batch(chosen, n=n, min_count=flt)
            lists.insert(1, "model", name)
            lists["n_ratings"] = counts.reindex(pd.Index(lists["item"])).to_numpy(np.int64)
            sample_frames.append(lists[list(SAMPLE_COLUMNS)])
    summary = pd.DataFrame(summary_rows, columns=list(SUMMARY_COLUMNS))
    if sample_frames:
        # Grouped by user (in sample order), then model (in comparison order), then rank.
        samples = pd.concat(sample_frames, ignore_index=True)
        user_pos = pd.Index(chosen or []).get_indexer(samples["user"])
        model_pos = pd.Index([sp["name"] for sp in specs]).get_indexer(samples["model"])
        order = np.lexsort((samples["rank"].to_numpy(), model_pos, user_pos))
        samples = samples.iloc[order].reset_index(drop=True)
    else:
        samples = pd.DataFrame(columns=list(SAMPLE_COLUMNS))
    settings = {
        "n": n,
        "min_count": min_count,
        "filter_min_count": filter_min_count,
        "random_state": random_state,
        "model_kwargs": shared,
        "sample_users": list(chosen or []),
        "n_train": len(train),
        "n_test": len(test) if test is not None else 0,
    }
    return ObscurityResult(summary=summary, samples=samples, settings=settings)
