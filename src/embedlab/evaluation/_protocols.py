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

Models are duck-typed: ``make_model()`` returns an unfitted estimator with
``fit(train, **fit_kwargs)`` and ``evaluate(test, unknown=...)`` returning a dict of
metrics (``{"rmse": ..., "mae": ...}`` for embedlab's estimators).

Ranking metrics are named ``"<metric>@<k>"`` (:data:`RANKING_METRICS`: ``ndcg``,
``precision``, ``recall``, ``map``, ``mrr``, ``hit`` or ``hit_rate``), e.g.
``"ndcg@10"``. They need ``model.recommend_batch(users, n=k)`` (items the user rated in
training excluded) and are computed by :func:`~embedlab.evaluation.ranking_metrics`
against the fold's test ratings, a test rating ``>= threshold`` making an item
relevant. Test users the model does not know (no training rating in the fold) are
skipped: they get no list and do not count; test items the model never saw stay
relevant (they count in recall's denominator but can never be hit).
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
from embedlab.evaluation._ranking import ranking_metrics

__all__ = [
    "PROTOCOLS",
    "RANKING_METRICS",
    "Fold",
    "compare",
    "cross_validate",
    "make_folds",
    "summarize",
]

PROTOCOLS = ("kfold", "repeated-kfold", "holdout", "repeated", "ml-100k-u")

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
        protocol: ``"kfold"``, ``"repeated-kfold"``, ``"holdout"``, ``"repeated"`` or
            ``"ml-100k-u"`` (see the module docstring).
        k: Number of folds (``"kfold"``, ``"repeated-kfold"``).
        test_size: Test fraction (or count) of ``"holdout"`` and ``"repeated"``.
        seeds: Split seeds: the first is used by ``"kfold"`` and ``"holdout"``,
            all of them by the repeated protocols.
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
    if metric not in RANKING_METRICS or k < 1:
        raise ValueError(
            f"metrics: {name!r} is not a ranking metric; expected '<name>@<k>' with k >= 1 "
            f"and name one of {', '.join(sorted(RANKING_METRICS))}, e.g. 'ndcg@10'"
        )
    return RANKING_METRICS[metric], k


def _ranking_scores(
    model: Any, train: Interactions, test: Interactions, k: int, threshold: float
) -> dict[str, float]:
    """:func:`ranking_metrics` at ``k`` of the model's lists for the test users it knows."""
    if not callable(getattr(model, "recommend_batch", None)):
        raise TypeError(
            f"{type(model).__name__} has no recommend_batch(); ranking metrics such as "
            "'ndcg@10' need one (users, n=k) -> DataFrame(user, rank, item)"
        )
    frame = test.to_pandas()[["user", "item", "rating"]]
    trained = train.users.ids()[train.user_counts() > 0]
    known = frame["user"].isin(pd.Index(trained)).to_numpy()
    frame = frame[known]
    users = pd.unique(frame["user"].to_numpy())
    if users.size == 0:
        recs = pd.DataFrame({"user": [], "rank": [], "item": []})
    else:
        recs = model.recommend_batch(users, n=k)
    return ranking_metrics(recs, frame, k=k, threshold=threshold)


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
    threshold: float = 4.0,
) -> pd.DataFrame:
    specs = _metric_list(metrics)
    ranking = {m: _ranking_spec(spec) for m, spec in specs if isinstance(spec, str)}
    if any(ranking.values()) and not (
        isinstance(threshold, numbers.Real) and math.isfinite(threshold)
    ):
        raise ValueError(f"threshold={threshold!r}: expected a finite rating")
    fit_kwargs = dict(fit_kwargs or {})
    rows: list[dict[str, Any]] = []
    for name, make_model in factories.items():
        label = "make_model" if name is None else f"models[{name!r}]"
        _check_factory(make_model, label)
        for fold in folds:
            train, test = fold.split
            model = make_model()
            for method in ("fit", "evaluate"):
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
    metrics: Sequence[MetricSpec] | Mapping[str, MetricSpec] = ("rmse", "mae"),
    fit_kwargs: Mapping[str, Any] | None = None,
    path: str | os.PathLike[str] | None = None,
    unknown: str = "fallback",
    threshold: float = 4.0,
) -> pd.DataFrame:
    """Fit a fresh model on every fold of a protocol and score it on the fold's test set.

    Each fold: ``model = make_model()``, ``model.fit(train, **fit_kwargs)`` (timed),
    then ``model.evaluate(test, unknown=unknown)`` for the named metrics and
    ``f(model, train, test)`` for callable ones.

    Args:
        make_model: Zero-argument callable returning an unfitted estimator, e.g.
            ``lambda: MatrixFactorization(embedding_dim=8, random_state=0)``.
        dataset: The ratings (or, for ``"ml-100k-u"``, the ML-100K folder).
        protocol: ``"kfold"``, ``"repeated-kfold"``, ``"holdout"``, ``"repeated"`` or
            ``"ml-100k-u"``; see :func:`make_folds`.
        k: Number of folds of the k-fold protocols.
        test_size: Test fraction of the holdout protocols.
        seeds: Split seeds (the model's own seed is ``make_model``'s business).
        metrics: Names that ``model.evaluate`` returns (``"rmse"``, ``"mae"``),
            ranking metrics ``"<name>@<k>"`` (``"ndcg@10"``, ``"precision@10"``,
            ``"recall@10"``, ``"map@10"``, ``"mrr@10"``, ``"hit@10"``; see the module
            docstring: computed from ``model.recommend_batch`` for the test users the
            model knows, unknown test users skipped), callables
            ``f(model, train, test) -> float`` (column named after the function), or
            a dict of column name to any of these.
        fit_kwargs: Keyword arguments for ``fit`` (e.g. ``{"progress": False}``).
        path: The ML-100K folder for ``"ml-100k-u"``.
        unknown: Passed to ``evaluate``: ``"fallback"`` (default) scores test IDs
            that the training fold lacks with the model's fallback.
        threshold: For ranking metrics, a test rating ``>= threshold`` makes the
            item relevant.

    Returns:
        A tidy DataFrame, one row per fold: ``fold`` (1-based within its seed),
        ``seed`` (nullable Int64; missing for predefined folds), ``split`` (the
        split's name), one column per metric, ``fit_seconds``, ``n_train``,
        ``n_test``. ``attrs["protocol"]`` records the protocol and its options;
        :func:`summarize` gives mean ± std per metric.

    Raises:
        TypeError: If ``make_model`` is not a factory or makes something without
            ``fit``/``evaluate`` (or without ``recommend_batch`` for ranking metrics).
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
    metrics: Sequence[MetricSpec] | Mapping[str, MetricSpec] = ("rmse", "mae"),
    fit_kwargs: Mapping[str, Any] | None = None,
    path: str | os.PathLike[str] | None = None,
    unknown: str = "fallback",
    threshold: float = 4.0,
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
        metrics: As for :func:`cross_validate`.
        fit_kwargs: Keyword arguments for every model's ``fit``.
        path: The ML-100K folder for ``"ml-100k-u"``.
        unknown: Passed to ``evaluate``.
        threshold: Relevance threshold of the ranking metrics.

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
    if protocol in ("holdout", "repeated"):
        out["test_size"] = test_size
    if protocol != "ml-100k-u":
        seeds = _check_seeds(seeds)
        out["seeds"] = list(seeds[:1] if protocol in ("kfold", "holdout") else seeds)
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
