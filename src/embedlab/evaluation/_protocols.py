"""Evaluation protocols: the same folds for every model, one tidy row per fold.

The folds are a function of ``(dataset, protocol, k, test_size, seeds, path)`` only,
built by the data layer (:meth:`Interactions.folds <embedlab.data.Interactions.folds>`,
:meth:`Interactions.split <embedlab.data.Interactions.split>`,
:func:`~embedlab.data.movielens_folds`), so two runs, or two models in
:func:`compare`, see identical train and test sets.

Protocols:

``"kfold"``
    ``k`` folds of the shuffled ratings (shuffle seed ``seeds[0]``); every rating is
    tested once.
``"repeated-kfold"``
    ``"kfold"`` once per seed in ``seeds``: ``k · len(seeds)`` folds.
``"holdout"``
    One random split: ``test_size`` of the ratings to test, seed ``seeds[0]``.
``"repeated"``
    One random holdout per seed in ``seeds`` (repeated random sub-sampling).
``"ml-100k-u"``
    The predefined MovieLens 100K folds u1..u5, read from ``path`` (the ML-100K
    folder or zip); ``dataset`` may itself be that path.
``"user"``
    One per-user holdout: ``test_size`` (a fraction) of each user's ratings or
    interactions, drawn with seed ``seeds[0]`` (``split("user", by="random")``);
    users with too few to hold one out stay wholly in train.
``"repeated-user"``
    ``"user"`` once per seed in ``seeds``.
``"user-temporal"``
    Each user's latest ``test_size`` (``split("user", by="time")``; needs
    timestamps; no seed).

The top-N protocol for implicit data (``feedback="implicit"``, e.g. from
:func:`~embedlab.data.load_interactions` or
:meth:`~embedlab.data.Interactions.to_implicit`) is a ``"user"`` protocol with the
ranking metrics: every held-out interaction is a relevant item, and the default
metrics are :data:`IMPLICIT_METRICS`.

Models are duck-typed: ``make_model()`` returns an unfitted estimator with
``fit(train, **fit_kwargs)`` and ``evaluate(test, unknown=...)`` returning a dict of
metrics (``{"rmse": ..., "mae": ...}`` for embedlab's estimators).

Ranking metrics are named ``"<metric>@<k>"`` (:data:`RANKING_METRICS`: ``ndcg``,
``precision``, ``recall``, ``map``, ``mrr``, ``hit`` or ``hit_rate``), e.g.
``"ndcg@10"``. They need ``model.recommend_batch(users, n=k)`` and are computed by
:func:`~embedlab.evaluation.ranking_metrics` against the fold's test ratings, a test
rating ``>= threshold`` making an item relevant (on implicit data, by default, every
test interaction). Each user's training items are excluded from the ranking: the
protocol removes any that a list holds (the items after them move up; a model that
recommends training items loses those places), so they never count as hits nor in
the list metrics. Test users the model does not know (no training rating in the
fold) are skipped: they get no list and do not count; test items the model never
saw stay relevant (they count in recall's denominator but can never be hit).

List metrics (:data:`LIST_METRICS`) describe the top-``k`` lists of the test users
the model knows (all of them, relevant test items or not), with training items
removed as above:

- ``"coverage@k"``: catalogue coverage, the share of the dataset's items (its item
  vocabulary) recommended to at least one of them
  (:func:`~embedlab.evaluation.catalog_coverage`);
- ``"popularity@k"``: popularity bias, the mean popularity percentile of the
  recommended items in the training fold
  (:func:`~embedlab.evaluation.popularity_percentile`: 1 is the most popular item);
- ``"arp@k"``: average recommendation popularity, the mean number of training
  ratings (interactions) of the recommended items
  (:func:`~embedlab.evaluation.recommended_popularity`'s mean).
"""

from __future__ import annotations

import inspect
import math
import numbers
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from embedlab.data import Interactions, Split, load_movielens
from embedlab.evaluation._beyond import (
    catalog_coverage,
    popularity_percentile,
    recommended_popularity,
)
from embedlab.evaluation._ranking import ranking_metrics

__all__ = [
    "EXPLICIT_METRICS",
    "IMPLICIT_METRICS",
    "LIST_METRICS",
    "PROTOCOLS",
    "RANKING_METRICS",
    "Fold",
    "compare",
    "cross_validate",
    "make_folds",
    "summarize",
]

PROTOCOLS = (
    "kfold",
    "repeated-kfold",
    "holdout",
    "repeated",
    "ml-100k-u",
    "user",
    "repeated-user",
    "user-temporal",
)

#: Default metrics of explicit (rating) data.
EXPLICIT_METRICS = ("rmse", "mae")
#: Default metrics of implicit data: top-N accuracy, coverage and popularity bias.
IMPLICIT_METRICS = ("ndcg@10", "recall@10", "recall@20", "map@10", "coverage@10", "popularity@10")

#: List metrics accepted as ``"<name>@<k>"``; see the module docstring.
LIST_METRICS = ("coverage", "popularity", "arp")

#: Ranking metric names accepted as ``"<name>@<k>"`` -> key of
#: :func:`~embedlab.evaluation.ranking_metrics`'s result.
RANKING_METRICS = {
    "ndcg": "ndcg",
    "precision": "precision",
    "recall": "recall",
    "map": "map",
    "mrr": "mrr",
    "hit": "hit_rate",
    "hit_rate": "hit_rate",
}

_RANKING_NAME = re.compile(r"^([a-z_]+)@(\d+)$")

#: Columns of a result frame that describe the fold rather than score it.
_FOLD_COLUMNS = ("model", "fold", "seed", "split", "n_train", "n_test")


class Fold(NamedTuple):
    """One train/test pair of a protocol.

    Attributes:
        fold: 1-based number of the fold within its seed.
        seed: The split seed, or None for predefined folds.
        split: The train/test :class:`~embedlab.data.Split` (``train, test = fold.split``).
    """

    fold: int
    seed: int | None
    split: Split


def _check_seeds(seeds: Any) -> tuple[int, ...]:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        seeds = (int(seeds),)
    try:
        out = tuple(seeds)
    except TypeError:
        raise ValueError(f"seeds={seeds!r}: expected a sequence of non-negative integers") from None
    if not out or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 0 for s in out
    ):
        raise ValueError(f"seeds={seeds!r}: expected a non-empty sequence of non-negative integers")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds={seeds!r}: a seed repeats, which would repeat a fold")
    return tuple(int(s) for s in out)


def make_folds(
    dataset: Interactions | str | os.PathLike[str],
    protocol: str = "kfold",
    *,
    k: int = 5,
    test_size: float = 0.1,
    seeds: Iterable[int] | int = (0, 1, 2),
    path: str | os.PathLike[str] | None = None,
) -> list[Fold]:
    """The folds of a protocol, built by the data layer.

    Args:
        dataset: The ratings; for ``"ml-100k-u"`` also the ML-100K folder or zip.
        protocol: ``"kfold"``, ``"repeated-kfold"``, ``"holdout"``, ``"repeated"``,
            ``"ml-100k-u"``, ``"user"``, ``"repeated-user"`` or ``"user-temporal"``
            (see the module docstring).
        k: Number of folds (``"kfold"``, ``"repeated-kfold"``).
        test_size: Test fraction (or count) of ``"holdout"`` and ``"repeated"``;
            the fraction of each user's ratings of the ``"user"`` protocols.
        seeds: Split seeds: the first is used by ``"kfold"``, ``"holdout"`` and
            ``"user"``, all of them by the repeated protocols.
        path: The ML-100K folder for ``"ml-100k-u"`` when ``dataset`` is loaded
            already.

    Returns:
        The folds in order: by seed, then fold number.

    Raises:
        ValueError: For an unknown protocol, bad seeds, or ``"ml-100k-u"`` without
            a path.
        DataError: (a ``ValueError``) from the data layer, e.g. ``k`` out of range,
            a ``test_size`` that empties a side, fold files that do not match.
        TypeError: If ``dataset`` is neither an Interactions nor (for
            ``"ml-100k-u"``) a path.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(
            f"protocol={protocol!r}: expected one of {', '.join(map(repr, PROTOCOLS))}"
        )
    seeds = _check_seeds(seeds)
    if protocol == "ml-100k-u":
        if isinstance(dataset, (str, os.PathLike)):
            path = dataset if path is None else path
            dataset = load_movielens(dataset)
        if path is None:
            raise ValueError(
                "protocol='ml-100k-u' needs the ML-100K folder: pass path= (or the folder "
                "itself as dataset)"
            )
    if not isinstance(dataset, Interactions):
        raise TypeError(
            f"dataset: got {type(dataset).__name__}; expected an Interactions (or, for "
            "protocol='ml-100k-u', the ML-100K folder)"
        )
    if protocol == "ml-100k-u":
        return [Fold(i + 1, None, s) for i, s in enumerate(dataset.folds("ml-100k-u", path=path))]
    if protocol in ("kfold", "repeated-kfold"):
        use = seeds[:1] if protocol == "kfold" else seeds
        return [
            Fold(i + 1, seed, s)
            for seed in use
            for i, s in enumerate(dataset.folds("kfold", k=k, random_state=seed))
        ]
    if protocol == "user-temporal":
        return [Fold(1, None, dataset.split("user", test_size=test_size, by="time"))]
    if protocol in ("user", "repeated-user"):
        use = seeds[:1] if protocol == "user" else seeds
        return [
            Fold(
                1,
                seed,
                dataset.split("user", test_size=test_size, by="random", random_state=seed),
            )
            for seed in use
        ]
    use = seeds[:1] if protocol == "holdout" else seeds
    return [
        Fold(1, seed, dataset.split("random", test_size=test_size, random_state=seed))
        for seed in use
    ]


MetricSpec = str | Callable[[Any, Interactions, Interactions], float]


def _metric_list(metrics: Any) -> list[tuple[str, MetricSpec]]:
    if isinstance(metrics, str):
        metrics = (metrics,)
    if isinstance(metrics, Mapping):
        items = list(metrics.items())
    else:
        items = []
        for m in metrics:
            if isinstance(m, str):
                items.append((m, m))
            elif callable(m):
                items.append((getattr(m, "__name__", repr(m)), m))
            else:
                raise TypeError(
                    f"metrics: got {m!r}; expected names returned by model.evaluate "
                    "(e.g. 'rmse') or callables f(model, train, test) -> float"
                )
    if not items:
        raise ValueError("metrics is empty; expected at least one metric, e.g. ('rmse', 'mae')")
    names = [n for n, _ in items]
    clash = sorted(set(names) & {*_FOLD_COLUMNS, "fit_seconds"})
    if clash or len(set(names)) != len(names):
        raise ValueError(f"metrics: names {names} repeat or clash with the frame's own columns")
    return items


def _ranking_spec(name: str) -> tuple[str, int] | None:
    """``("ndcg", 10)`` for ``"ndcg@10"``; None for a name that is not a ranking metric."""
    match = _RANKING_NAME.match(name.strip().lower())
    if match is None:
        return None
    metric, k = match.group(1), int(match.group(2))
    if (metric not in RANKING_METRICS and metric not in LIST_METRICS) or k < 1:
        names = sorted({*RANKING_METRICS, *LIST_METRICS})
        raise ValueError(
            f"metrics: {name!r} is not a ranking metric; expected '<name>@<k>' with k >= 1 "
            f"and name one of {', '.join(names)}, e.g. 'ndcg@10'"
        )
    return RANKING_METRICS.get(metric, metric), k


def _drop_training_items(recs: pd.DataFrame, train: Interactions) -> pd.DataFrame:
    """``recs`` without the rows whose (user, item) pair is in ``train``, order kept."""
    if len(recs) == 0 or len(train) == 0:
        return recs
    users = pd.Index(train.users.ids()).get_indexer(recs["user"].to_numpy())
    items = pd.Index(train.items.ids()).get_indexer(recs["item"].to_numpy())
    known = (users >= 0) & (items >= 0)
    n_items = max(train.n_items, 1)
    keys = np.where(known, users, 0).astype(np.int64) * n_items + np.where(known, items, 0)
    seen = np.sort(train.user_index.astype(np.int64) * n_items + train.item_index)
    pos = np.minimum(np.searchsorted(seen, keys), seen.size - 1)
    trained = known & (seen[pos] == keys)
    return recs[~trained] if trained.any() else recs


def _ranking_scores(
    model: Any, train: Interactions, test: Interactions, k: int, threshold: float | None
) -> dict[str, float]:
    """Ranking and list metrics at ``k`` of the model's lists for the test users it knows."""
    if not callable(getattr(model, "recommend_batch", None)):
        raise TypeError(
            f"{type(model).__name__} has no recommend_batch(); ranking metrics such as "
            "'ndcg@10' need one (users, n=k) -> DataFrame(user, rank, item)"
        )
    frame = test.to_pandas()[["user", "item", "rating"]]
    if threshold is None:
        if test.feedback == "implicit":  # every interaction with a weight is relevant
            frame = frame.assign(rating=(frame["rating"] > 0).astype(np.float64))
            threshold = 1.0
        else:
            threshold = 4.0
    trained = train.users.ids()[train.user_counts() > 0]
    known = frame["user"].isin(pd.Index(trained)).to_numpy()
    frame = frame[known]
    users = pd.unique(frame["user"].to_numpy())
    if users.size == 0:
        recs = pd.DataFrame({"user": [], "rank": [], "item": []})
    else:
        recs = _drop_training_items(model.recommend_batch(users, n=k), train)
    out = ranking_metrics(recs, frame, k=k, threshold=threshold)
    out[f"coverage@{k}"] = catalog_coverage(recs, max(train.n_items, 1), k=k)
    out[f"popularity@{k}"] = popularity_percentile(recs, train, k=k)
    out[f"arp@{k}"] = recommended_popularity(recs, train, k=k)["mean"]
    return out


def _check_factory(make_model: Any, name: str) -> None:
    # A class is a fine factory; an estimator instance is not (every fold would refit it).
    if not callable(make_model) or (
        hasattr(make_model, "fit") and not isinstance(make_model, type)
    ):
        raise TypeError(
            f"{name}: got {type(make_model).__name__}; expected a zero-argument callable that "
            "returns a fresh unfitted model, e.g. lambda: MatrixFactorization(embedding_dim=8)"
        )


def _run(
    factories: Mapping[str | None, Callable[[], Any]],
    folds: Sequence[Fold],
    metrics: Any,
    fit_kwargs: Mapping[str, Any] | None,
    unknown: str,
    threshold: float | None = None,
) -> pd.DataFrame:
    if metrics is None:
        implicit = bool(folds) and folds[0].split.train.feedback == "implicit"
        metrics = IMPLICIT_METRICS if implicit else EXPLICIT_METRICS
    specs = _metric_list(metrics)
    ranking = {m: _ranking_spec(spec) for m, spec in specs if isinstance(spec, str)}
    if (
        any(ranking.values())
        and threshold is not None
        and not (
            isinstance(threshold, numbers.Real)
            and not isinstance(threshold, bool)
            and math.isfinite(threshold)
        )
    ):
        raise ValueError(f"threshold={threshold!r}: expected a finite rating")
    needs_evaluate = any(isinstance(spec, str) and ranking.get(m) is None for m, spec in specs)
    fit_kwargs = dict(fit_kwargs or {})
    rows: list[dict[str, Any]] = []
    for name, make_model in factories.items():
        label = "make_model" if name is None else f"models[{name!r}]"
        _check_factory(make_model, label)
        for fold in folds:
            train, test = fold.split
            model = make_model()
            for method in ("fit", "evaluate") if needs_evaluate else ("fit",):
                if not callable(getattr(model, method, None)):
                    raise TypeError(
                        f"{label}() returned {type(model).__name__}, which has no {method}(); "
                        "expected an estimator with fit(train) and evaluate(test)"
                    )
            kwargs = dict(fit_kwargs)
            ours = type(model).__module__.startswith("embedlab.")
            if "progress" not in kwargs and (
                ours or "progress" in inspect.signature(model.fit).parameters
            ):
                kwargs["progress"] = False  # many fits: no per-epoch lines unless asked
            start = time.perf_counter()
            model.fit(train, **kwargs)
            seconds = time.perf_counter() - start
            scores: dict[str, float] | None = None
            ranked: dict[int, dict[str, float]] = {}
            row: dict[str, Any] = {} if name is None else {"model": name}
            row.update(fold=fold.fold, seed=fold.seed, split=fold.split.name)
            for metric, spec in specs:
                rank_spec = ranking.get(metric)
                if rank_spec is not None:
                    key, cut = rank_spec
                    if cut not in ranked:
                        ranked[cut] = _ranking_scores(model, train, test, cut, threshold)
                    row[metric] = float(ranked[cut][f"{key}@{cut}"])
                elif isinstance(spec, str):
                    if scores is None:
                        scores = dict(model.evaluate(test, unknown=unknown))
                    if spec not in scores:
                        raise ValueError(
                            f"metrics: {spec!r} is not among what {type(model).__name__}"
                            f".evaluate returns ({', '.join(map(repr, scores))}) nor a ranking "
                            "metric such as 'ndcg@10'; pass a callable f(model, train, test) "
                            "for other metrics"
                        )
                    row[metric] = float(scores[spec])
                else:
                    row[metric] = float(spec(model, train, test))
            row.update(fit_seconds=seconds, n_train=len(train), n_test=len(test))
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame["seed"] = frame["seed"].astype("Int64")
    return frame


def cross_validate(
    make_model: Callable[[], Any],
    dataset: Interactions | str | os.PathLike[str],
    protocol: str = "kfold",
    *,
    k: int = 5,
    test_size: float = 0.1,
    seeds: Iterable[int] | int = (0, 1, 2),
    metrics: Sequence[MetricSpec] | Mapping[str, MetricSpec] | None = None,
    fit_kwargs: Mapping[str, Any] | None = None,
    path: str | os.PathLike[str] | None = None,
    unknown: str = "fallback",
    threshold: float | None = None,
) -> pd.DataFrame:
    """Fit a fresh model on every fold of a protocol and score it on the fold's test set.

    Each fold: ``model = make_model()``, ``model.fit(train, **fit_kwargs)`` (timed),
    then ``model.evaluate(test, unknown=unknown)`` for the named metrics and
    ``f(model, train, test)`` for callable ones.

    Args:
        make_model: Zero-argument callable returning an unfitted estimator, e.g.
            ``lambda: MatrixFactorization(embedding_dim=8, random_state=0)``.
        dataset: The ratings (or, for ``"ml-100k-u"``, the ML-100K folder).
        protocol: ``"kfold"``, ``"repeated-kfold"``, ``"holdout"``, ``"repeated"``,
            ``"ml-100k-u"``, ``"user"``, ``"repeated-user"`` or ``"user-temporal"``;
            see :func:`make_folds`. Implicit data is evaluated with a ``"user"``
            protocol (a fraction of each user's interactions held out).
        k: Number of folds of the k-fold protocols.
        test_size: Test fraction of the holdout protocols; of each user's ratings
            (interactions) for the ``"user"`` protocols.
        seeds: Split seeds (the model's own seed is ``make_model``'s business).
        metrics: Names that ``model.evaluate`` returns (``"rmse"``, ``"mae"``),
            ranking metrics ``"<name>@<k>"`` (``"ndcg@10"``, ``"precision@10"``,
            ``"recall@10"``, ``"map@10"``, ``"mrr@10"``, ``"hit@10"``; see the module
            docstring: computed from ``model.recommend_batch`` for the test users the
            model knows, unknown test users skipped, training items excluded), list
            metrics (``"coverage@10"``, ``"popularity@10"``, ``"arp@10"``), callables
            ``f(model, train, test) -> float`` (column named after the function), or
            a dict of column name to any of these. None (default):
            :data:`EXPLICIT_METRICS` (``rmse``, ``mae``) for rating data,
            :data:`IMPLICIT_METRICS` (NDCG@10, Recall@10 and @20, MAP@10,
            coverage@10, popularity@10) for implicit data.
        fit_kwargs: Keyword arguments for ``fit`` (e.g. ``{"progress": False}``).
        path: The ML-100K folder for ``"ml-100k-u"``.
        unknown: Passed to ``evaluate``: ``"fallback"`` (default) scores test IDs
            that the training fold lacks with the model's fallback.
        threshold: For ranking metrics, a test rating ``>= threshold`` makes the
            item relevant. None (default): 4.0 for rating data; every test
            interaction (weight > 0) for implicit data.

    Returns:
        A tidy DataFrame, one row per fold: ``fold`` (1-based within its seed),
        ``seed`` (nullable Int64; missing for predefined folds), ``split`` (the
        split's name), one column per metric, ``fit_seconds``, ``n_train``,
        ``n_test``. ``attrs["protocol"]`` records the protocol and its options;
        :func:`summarize` gives mean ± std per metric.

    Raises:
        TypeError: If ``make_model`` is not a factory or makes something without
            ``fit`` (``evaluate`` for metrics it returns; ``recommend_batch`` for
            ranking and list metrics).
        ValueError: For an unknown protocol or metric, bad seeds; and whatever
            :func:`make_folds` or the model raises.
    """
    folds = make_folds(dataset, protocol, k=k, test_size=test_size, seeds=seeds, path=path)
    frame = _run({None: make_model}, folds, metrics, fit_kwargs, unknown, threshold)
    frame.attrs["protocol"] = _describe(protocol, k, test_size, seeds, folds)
    return frame


def compare(
    models: Mapping[str, Callable[[], Any]],
    dataset: Interactions | str | os.PathLike[str],
    protocol: str = "kfold",
    *,
    k: int = 5,
    test_size: float = 0.1,
    seeds: Iterable[int] | int = (0, 1, 2),
    metrics: Sequence[MetricSpec] | Mapping[str, MetricSpec] | None = None,
    fit_kwargs: Mapping[str, Any] | None = None,
    path: str | os.PathLike[str] | None = None,
    unknown: str = "fallback",
    threshold: float | None = None,
) -> pd.DataFrame:
    """:func:`cross_validate` for several models on the very same folds.

    The folds are built once, before any model runs, so every model is trained and
    tested on identical data.

    Args:
        models: Model name to zero-argument factory, e.g.
            ``{"mf8": lambda: MatrixFactorization(embedding_dim=8)}``.
        dataset: The ratings (or, for ``"ml-100k-u"``, the ML-100K folder).
        protocol: See :func:`make_folds`.
        k: Number of folds of the k-fold protocols.
        test_size: Test fraction of the holdout protocols.
        seeds: Split seeds.
        metrics: As for :func:`cross_validate` (default: by the data's feedback).
        fit_kwargs: Keyword arguments for every model's ``fit``.
        path: The ML-100K folder for ``"ml-100k-u"``.
        unknown: Passed to ``evaluate``.
        threshold: Relevance threshold of the ranking metrics (None: 4.0 for
            ratings, every test interaction for implicit data).

    Returns:
        The frame of :func:`cross_validate` with a leading ``model`` column, models
        in the order given.

    Raises:
        TypeError: If a model factory is not callable or makes something without
            ``fit``/``evaluate``.
        ValueError: If ``models`` is empty or names are not strings; as for
            :func:`cross_validate`.
    """
    if not isinstance(models, Mapping) or not models:
        raise ValueError(
            "models: expected a non-empty dict of name to factory, e.g. "
            "{'mf': lambda: MatrixFactorization(embedding_dim=8)}"
        )
    bad = [n for n in models if not isinstance(n, str)]
    if bad:
        raise ValueError(f"models: names must be strings, got {bad!r}")
    folds = make_folds(dataset, protocol, k=k, test_size=test_size, seeds=seeds, path=path)
    frame = _run(dict(models), folds, metrics, fit_kwargs, unknown, threshold)
    frame.attrs["protocol"] = _describe(protocol, k, test_size, seeds, folds)
    return frame


def _describe(protocol: str, k: int, test_size: float, seeds: Any, folds: list[Fold]) -> dict:
    out: dict[str, Any] = {"protocol": protocol, "n_folds": len(folds)}
    if protocol in ("kfold", "repeated-kfold"):
        out["k"] = k
    if protocol in ("holdout", "repeated", "user", "repeated-user", "user-temporal"):
        out["test_size"] = test_size
    if protocol not in ("ml-100k-u", "user-temporal"):
        seeds = _check_seeds(seeds)
        out["seeds"] = list(seeds[:1] if protocol in ("kfold", "holdout", "user") else seeds)
    if folds and folds[0].split.train.feedback == "implicit":
        out["feedback"] = "implicit"
    return out


def summarize(frame: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean ± standard deviation of each metric over the folds (per model if any).

    ``std`` is the sample standard deviation (``ddof=1``) across folds: NaN for a
    single fold.

    Args:
        frame: A frame from :func:`cross_validate` or :func:`compare`.
        metrics: Columns to summarize (default: every numeric column that is not
            ``fold``, ``seed``, ``n_train`` or ``n_test``, so ``fit_seconds`` too).

    Returns:
        A tidy frame, one row per (``model``,) ``metric``: ``mean``, ``std``,
        ``n_folds`` and ``text`` (``"0.9123 ± 0.0041"``).

    Raises:
        ValueError: If a requested metric is not a column of ``frame``.
    """
    if metrics is None:
        metrics = [
            c
            for c in frame.columns
            if c not in _FOLD_COLUMNS and pd.api.types.is_numeric_dtype(frame[c])
        ]
    missing = [m for m in metrics if m not in frame.columns]
    if missing:
        raise ValueError(f"metrics {missing} are not columns of the frame ({list(frame.columns)})")
    groups = frame.groupby("model", sort=False) if "model" in frame.columns else [(None, frame)]
    rows = []
    for name, part in groups:
        for m in metrics:
            values = part[m].to_numpy(dtype=np.float64)
            mean = float(values.mean()) if values.size else math.nan
            std = float(values.std(ddof=1)) if values.size > 1 else math.nan
            row = {} if name is None else {"model": name}
            row.update(
                metric=m,
                mean=mean,
                std=std,
                n_folds=int(values.size),
                text=f"{mean:.4f} ± {std:.4f}",
            )
            rows.append(row)
    return pd.DataFrame(rows)
