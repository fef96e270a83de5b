"""``embedlab demo``: the whole path on MovieLens 100K (or a synthetic catalogue) in one call.

Finds ML-100K (an explicit ``data`` path, ``$EMBEDLAB_DATA``, the download cache, else
GroupLens with a progress bar). When none of these works it says so in one line and
runs on :func:`~embedlab.synthetic_ratings` instead, and every output says "synthetic".

Then: a random 90/10 split (seed 0); the default :class:`~embedlab.MatrixFactorization`
and :class:`~embedlab.NeuralEmbeddingModel` against two baselines (global mean, item
mean); the neighbours of three well-known films; one user's top 10 with "because you
liked"; the course's obscure-recommendations comparison; and, in the output folder, the
model bundle, ``map.html``, ``map.png`` and the learning curves
(``curves_mf.png``, ``curves_neural.png``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from embedlab.exceptions import DatasetNotFoundError, DownloadError

__all__ = ["DemoResult", "run_demo"]

#: Films whose neighbours the demo shows on ML-100K, and the user it recommends for.
FILMS = ("Star Wars (1977)", "Toy Story (1995)", "Fargo (1996)")
USER = 196
#: Items with fewer training ratings than this count as "obscure".
OBSCURE_BELOW = 10


@dataclass
class DemoResult:
    """What the demo computed and wrote.

    Attributes:
        synthetic: True when the demo ran on the synthetic catalogue.
        data: Where the ratings came from (a path, or ``"synthetic"``).
        scores: One row per model: ``model``, ``rmse``, ``mae``, ``fit_seconds``.
        neighbours: Film title → its neighbours (``key``, ``label``, ``similarity``).
        user: The user recommended for.
        recommendations: That user's top 10 (``rank``, ``item``, ``label``, ``score``,
            ``because``).
        obscurity: One row per variant of matrix factorization (no L2; L2 per rating
            only; the default, which adds bias damping): ``model``, ``rmse``,
            ``obscure_share`` (items with fewer than 10 training ratings in the top 10s
            of all users) and ``median_count`` (training ratings of recommended items).
        files: Name → path of every file written.
        seconds: Wall-clock seconds of the whole demo.
    """

    synthetic: bool
    data: str
    scores: pd.DataFrame
    neighbours: dict[str, pd.DataFrame]
    user: Any
    recommendations: pd.DataFrame
    obscurity: pd.DataFrame
    files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0


def own_table(data: str | Path | None, table: dict[str, Any] | None = None) -> bool:
    """Whether ``data`` is the user's own table rather than MovieLens 100K: table options
    given, or a file other than a ``.zip`` (a folder or a zip is the release)."""
    if data is None:
        return False
    path = Path(data)
    return bool(table) or (path.is_file() and path.suffix.lower() != ".zip")


def _load(
    data: str | Path | None,
    base_url: str | None,
    say: Callable[[str], None],
    progress: bool = True,
    table: dict[str, Any] | None = None,
) -> tuple[Any, bool, str]:
    from embedlab import datasets
    from embedlab.data import load_ratings, synthetic_ratings

    if own_table(data, table):
        return load_ratings(data, **(table or {})), False, Path(data).name  # type: ignore[arg-type]
    if data is not None:  # an explicit path: a mistake there is the user's to fix
        ds = datasets.movielens("ml-100k", data=data)
        return ds, False, f"MovieLens 100K ({data})"
    try:
        ds = datasets.movielens("ml-100k", base_url=base_url, progress=progress)
        return ds, False, "MovieLens 100K"
    except (DownloadError, DatasetNotFoundError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        say(
            f"MovieLens 100K is not on disk and could not be downloaded ({first}); "
            "running on the SYNTHETIC catalogue instead: every result below is synthetic"
        )
    ds, _ = synthetic_ratings(943, 1682, 100_000, random_state=0)
    return ds, True, "synthetic"


def _baselines(train: Any, test: Any) -> list[dict[str, Any]]:
    mu = float(np.mean(train.rating, dtype=np.float64))
    sums = np.bincount(train.item_index, weights=train.rating, minlength=train.n_items)
    counts = np.bincount(train.item_index, minlength=train.n_items)
    item_mean = np.where(counts > 0, sums / np.maximum(counts, 1), mu)
    from embedlab.evaluation import mae, rmse

    return [
        {
            "model": name,
            "rmse": rmse(test.rating, pred),
            "mae": mae(test.rating, pred),
            "fit_seconds": 0.0,
        }
        for name, pred in (
            ("global mean", np.full(len(test.rating), mu)),
            ("item mean", item_mean[test.item_index]),
        )
    ]


def _obscurity(model: Any, name: str, test: Any) -> dict[str, Any]:
    from embedlab.evaluation import obscure_share, recommended_popularity

    recs = model.recommend_batch(n=10)
    counts = pd.Series(np.asarray(model.item_counts_), index=model.items_.ids())
    return {
        "model": name,
        "rmse": model.evaluate(test, unknown="fallback")["rmse"],
        "obscure_share": obscure_share(recs, counts, min_count=OBSCURE_BELOW),
        "median_count": recommended_popularity(recs, counts)["median"],
    }


def _films(kv: Any, movielens: bool, counts: Any) -> list[str]:
    """The items whose neighbours the demo shows: the course's films on MovieLens, else
    the three most rated (``counts``, in ``kv``'s order; by label, or by ID when the
    data have no labels)."""
    known = [f for f in FILMS if kv.labels is not None and f in set(kv.labels)]
    if movielens and known:
        return known
    names = kv.labels if kv.labels is not None else list(kv.keys)
    return [str(names[i]) for i in np.argsort(-np.asarray(counts), kind="stable")[:3]]


def run_demo(
    data: str | Path | None = None,
    out: str | Path = "embedlab-demo",
    *,
    base_url: str | None = None,
    quick: bool = False,
    say: Callable[[str], None] = print,
    progress: bool = True,
    table: dict[str, Any] | None = None,
) -> DemoResult:
    """Run the demo and write its files into ``out``.

    Args:
        data: The ML-100K folder or zip, or a ratings table of your own (any file
            :func:`~embedlab.load_ratings` reads; with ``table``, its options); None
            searches ``$EMBEDLAB_DATA``, the cache, then downloads (and falls back to
            synthetic data when that fails).
        out: Output folder (created; existing demo files are replaced).
        base_url: A MovieLens mirror for the download.
        quick: Small models and few epochs (for tests): the numbers are not the product's.
        say: Where progress lines go.
        progress: Show a progress bar while downloading.
        table: Options of :func:`~embedlab.load_ratings` for a table of your own
            (``user=``, ``item=``, ``rating=``, ``sep=``, ``encoding=`` ...).

    Returns:
        A :class:`DemoResult`.

    Raises:
        DatasetNotFoundError: If an explicit ``data`` path does not hold ML-100K.
    """
    from embedlab import viz
    from embedlab.models import MatrixFactorization, NeuralEmbeddingModel

    t_start = time.perf_counter()
    ds, synthetic, source = _load(data, base_url, say, progress, table)
    movielens = not synthetic and not own_table(data, table)
    tag = " (synthetic data)" if synthetic else ""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    train, test = ds.split("random", test_size=0.1, random_state=0)
    say(
        f"data: {source}{tag}: {len(train.rating):,} training and {len(test.rating):,} test ratings"
    )

    mf_kw: dict[str, Any] = {"embedding_dim": 32, "epochs": 15} if quick else {}
    nn_kw: dict[str, Any] = {"embedding_dim": 16, "epochs": 2} if quick else {}
    rows = _baselines(train, test)
    models: dict[str, Any] = {}
    for name, model in (
        ("matrix factorization", MatrixFactorization(random_state=0, **mf_kw)),
        ("neural model", NeuralEmbeddingModel(random_state=0, **nn_kw)),
    ):
        t0 = time.perf_counter()
        model.fit(train, validation=test, progress=False)
        fit = time.perf_counter() - t0
        scores = model.evaluate(test, unknown="fallback")
        rows.append({"model": name, **scores, "fit_seconds": fit})
        models[name] = model
    score_frame = pd.DataFrame(rows)[["model", "rmse", "mae", "fit_seconds"]]

    mf = models["matrix factorization"]
    kv = mf.item_embeddings()
    neighbours = {
        film: kv.most_similar(kv.resolve(film), topn=10)
        for film in _films(kv, movielens, mf.item_counts_)
    }
    user = USER if movielens and USER in mf.users_ else mf.users_.id(0)
    recs = mf.recommend(user, n=10, explain=True)

    say("the course's obscure-recommendations comparison: three variants of the same model")
    variants = {
        "no L2 at all": {"l2_user": 0, "l2_item": 0, "l2_bias": 0, "bias_damping": 0},
        "L2 per rating only": {"bias_damping": 0},
    }
    rows = []
    for name, params in variants.items():
        variant = MatrixFactorization(random_state=0, **{**mf_kw, **params})
        rows.append(_obscurity(variant.fit(train, progress=False), name, test))
    rows.append(_obscurity(mf, "default (L2 + bias damping)", test))
    obscurity = pd.DataFrame(rows)

    files: dict[str, Path] = {}
    what = f"embedlab MatrixFactorization, {source}{tag}"
    say("drawing the map of the item vectors (t-SNE)")
    projection = viz.project(kv, method="tsne", random_state=0)
    # the bundle keeps the map, so `embedlab serve` shows the same picture at once
    files["model"] = mf.save(out / "model", layout=projection)
    for name in ("map.html", "map.png"):
        fig = viz.embedding_map(
            projection, color="auto", title=f"{what}: t-SNE of the item vectors"
        )
        files[name] = fig.save(out / name)
    for key, name in (("matrix factorization", "mf"), ("neural model", "neural")):
        curves = viz.learning_curves(
            models[key].history_, title=f"Learning curves: {key}, {source}{tag}"
        )
        files[f"curves_{name}.png"] = curves.save(out / f"curves_{name}.png")
    note = out / "DATA.txt"
    note.write_text(
        f"Data: {source}{tag}. Split: random 90/10, seed 0.\n"
        + (
            "Every number and picture here comes from SYNTHETIC ratings, not MovieLens.\n"
            if synthetic
            else ""
        ),
        encoding="utf-8",
    )
    files["DATA.txt"] = note
    return DemoResult(
        synthetic=synthetic,
        data=source,
        scores=score_frame,
        neighbours=neighbours,
        user=user,
        recommendations=recs,
        obscurity=obscurity,
        files=files,
        seconds=time.perf_counter() - t_start,
    )
