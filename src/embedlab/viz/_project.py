"""2-D projections of embeddings: t-SNE (openTSNE), UMAP (umap-learn, optional) and PCA.

:func:`project` takes vectors from anywhere (a :class:`~embedlab.KeyedEmbeddings`, a
fitted model, or a plain ``(array, keys)`` pair), optionally keeps a subset of them and
returns a tidy frame: one row per key with ``key``, ``label``, ``x``, ``y`` and the
metadata columns. The frame's ``attrs`` record how it was made (method, metric,
perplexity, explained variance for PCA, a description of the source), which the plots
use for their titles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from embedlab.embeddings import COUNT_COLUMNS, KeyedEmbeddings, count_column
from embedlab.exceptions import DataError
from embedlab.settings import Int, renamed

__all__ = ["METHODS", "TSNE_DEFAULT_MAX", "as_embeddings", "default_method", "project", "unit_rows"]

#: Projection methods and their display names.
METHODS = {"tsne": "t-SNE", "umap": "UMAP", "pca": "PCA"}

_METRICS = ("cosine", "euclidean")

#: The default map is t-SNE up to this many items, PCA above (``embedlab train --layout
#: auto``, ``embedlab serve`` without a stored map): t-SNE of 20,000 points takes about
#: 15 s on two cores, of a million the better part of an hour; PCA takes seconds.
TSNE_DEFAULT_MAX = 20_000


def default_method(n_items: int) -> str:
    """The default map method for ``n_items`` points: ``"tsne"`` or ``"pca"``."""
    return "tsne" if n_items <= TSNE_DEFAULT_MAX else "pca"


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; zero rows stay zero (no division by zero)."""
    arr = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return arr / np.where(norms > 0, norms, 1.0)


def as_embeddings(source: Any) -> tuple[KeyedEmbeddings, str]:
    """``source`` as KeyedEmbeddings plus a short description for titles.

    Accepts a KeyedEmbeddings, a fitted model (anything with ``item_embeddings()``) or
    an ``(array, keys)`` pair.

    Raises:
        TypeError: For anything else.
    """
    if isinstance(source, KeyedEmbeddings):
        return source, f"embeddings ({source.vector_size} dims)"
    if hasattr(source, "item_embeddings") and callable(source.item_embeddings):
        kv = source.item_embeddings()
        counts = getattr(source, "item_counts_", None)
        trained = "" if counts is None else f", {int(np.sum(counts)):,} training ratings"
        return kv, f"{type(source).__name__} ({kv.vector_size} dims{trained})"
    if isinstance(source, tuple) and len(source) == 2:
        vectors, keys = source
        kv = KeyedEmbeddings(vectors, list(keys) if not hasattr(keys, "ids") else keys)
        return kv, f"vectors ({kv.vector_size} dims)"
    raise TypeError(
        f"cannot project a {type(source).__name__}; expected KeyedEmbeddings, a fitted model "
        "or an (array, keys) pair, e.g. project((vectors, ids))"
    )


def _select(
    kv: KeyedEmbeddings,
    subset: Sequence[Any] | None,
    top_n: int | None,
    genre: str | None,
) -> np.ndarray:
    """Rows of ``kv`` kept by the filters, in key order."""
    keep = np.ones(len(kv), dtype=bool)
    meta = kv.metadata
    if subset is not None:
        if isinstance(subset, (str, bytes)):
            raise TypeError(f"subset={subset!r}: expected a list of keys, e.g. subset=[1, 50]")
        rows = [kv.index(k) for k in subset]
        mask = np.zeros(len(kv), dtype=bool)
        mask[rows] = True
        keep &= mask
    if genre is not None:
        if meta is None or "genres" not in meta.columns:
            raise DataError(f"genre={genre!r}: these embeddings have no 'genres' metadata")
        wanted = str(genre).casefold()
        has = np.array(
            [any(str(g).casefold() == wanted for g in _as_list(v)) for v in meta["genres"]]
        )
        if not has.any():
            known = sorted({str(g) for v in meta["genres"] for g in _as_list(v)})
            raise DataError(f"genre={genre!r}: no item has it; known genres: {', '.join(known)}")
        keep &= has
    if top_n is not None:
        top_n = Int(1)("top_n", top_n)
        count = count_column(meta)
        if meta is None or count is None:
            raise DataError(
                f"top_n={top_n}: picks the most-rated items, but these embeddings have no "
                f"count metadata ({', '.join(map(repr, COUNT_COLUMNS))}); pass subset= instead"
            )
        counts = np.where(keep, meta[count].to_numpy(dtype=np.float64), -np.inf)
        order = np.argsort(-counts, kind="stable")[: min(int(top_n), int(keep.sum()))]
        mask = np.zeros(len(kv), dtype=bool)
        mask[order] = True
        keep &= mask
    return np.flatnonzero(keep)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, float) and np.isnan(value):
        return []
    try:
        return list(value)
    except TypeError:
        return [value]


def _default_jobs(n: int) -> int:
    """Threads for t-SNE: one below 5,000 points (measured on a busy 2-core machine with
    the FFT gradient: 1,682 points took 22 s on one thread, 33 s on two), else the
    threading policy's count (``$EMBEDLAB_NUM_THREADS``, else the CPUs available:
    :func:`embedlab._threads.default_threads`), at most 8."""
    if n < 5_000:
        return 1
    from embedlab._threads import default_threads

    return max(1, min(8, default_threads()))


@renamed(n_jobs="n_threads")
def project(
    vectors: Any,
    method: str = "tsne",
    *,
    metric: str = "cosine",
    random_state: int | None = 0,
    subset: Sequence[Any] | None = None,
    top_n: int | None = None,
    genre: str | None = None,
    perplexity: float = 30,
    n_threads: int | None = None,
) -> pd.DataFrame:
    """Project embeddings to 2-D.

    * ``"tsne"``: openTSNE's t-SNE (FFT-accelerated from :data:`FFT_FROM` points,
      Barnes-Hut below, where it is faster) on the chosen metric, PCA
      initialisation. The perplexity is lowered to ``(n - 1) / 3`` for small inputs
      (``attrs["perplexity"]`` holds the one used).
    * ``"pca"``: scikit-learn's PCA; ``attrs["explained_variance_ratio"]`` holds the
      share of variance of each of the two axes. With ``metric="cosine"`` the vectors
      are scaled to unit length first (the geometry cosine neighbours see).
    * ``"umap"``: umap-learn's UMAP, when installed (``pip install umap-learn``).

    Args:
        vectors: A :class:`~embedlab.KeyedEmbeddings`, a fitted model (its item
            embeddings) or an ``(array, keys)`` pair.
        method: ``"tsne"``, ``"umap"`` or ``"pca"``.
        metric: ``"cosine"`` (default) or ``"euclidean"``.
        random_state: Seed; the same seed gives the same map.
        subset: Keep only these keys.
        top_n: Keep only the ``top_n`` most-rated items (metadata ``n_ratings``).
        genre: Keep only items listing this genre (metadata ``genres``).
        perplexity: t-SNE perplexity (UMAP uses it, rounded, as ``n_neighbors``).
        n_threads: Threads for t-SNE (default: 1 below 5,000 points, else the CPUs
            available, at most 8). ``n_jobs`` is its deprecated name (it warns;
            removed in the next release).

    Returns:
        A DataFrame with ``key``, ``label`` (None without labels), ``x``, ``y`` and the
        metadata columns, one row per kept key in key order. ``attrs`` holds
        ``method``, ``metric``, ``perplexity`` (t-SNE, UMAP), ``explained_variance_ratio``
        (PCA), ``source`` (a description of the input) and ``rows`` (the rows of the
        input's vectors that were kept).

    Raises:
        ValueError: For an unknown method or metric, a bad ``top_n`` or ``perplexity``,
            or fewer than 3 vectors left.
        ImportError: For ``method="umap"`` without umap-learn.
        DataError: When a filter needs metadata the embeddings lack.
        UnknownIDError: For a key of ``subset`` the embeddings do not hold.

    Example:
        >>> import numpy as np
        >>> frame = project((np.eye(4)[:, :3] + 0.1, ["a", "b", "c", "d"]), "pca")
        >>> list(frame.columns), len(frame)
        (['key', 'label', 'x', 'y'], 4)
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r}: expected one of {', '.join(map(repr, METHODS))}")
    if metric not in _METRICS:
        raise ValueError(f"metric={metric!r}: expected one of {', '.join(map(repr, _METRICS))}")
    if not (isinstance(perplexity, (int, float)) and np.isfinite(perplexity) and perplexity > 0):
        raise ValueError(f"perplexity={perplexity!r}: expected a positive number (typical: 5-50)")
    if method == "umap":
        try:
            import umap
        except ImportError:
            raise ImportError(
                "method='umap' needs umap-learn, which is not installed: pip install umap-learn "
                "(or use method='tsne' or 'pca')"
            ) from None
    kv, source = as_embeddings(vectors)
    rows = _select(kv, subset, top_n, genre)
    n = len(rows)
    if n < 3:
        raise ValueError(f"{n} vectors left to project; a map needs at least 3")
    data = np.asarray(kv.vectors[rows], dtype=np.float64)
    attrs: dict[str, Any] = {"method": method, "metric": metric, "source": source}
    jobs = _default_jobs(n) if n_threads is None else int(n_threads)
    if method == "tsne":
        xy, used = _tsne(data, metric, perplexity, random_state, jobs)
        attrs["perplexity"] = used
    elif method == "pca":
        from sklearn.decomposition import PCA

        basis = unit_rows(data) if metric == "cosine" else data
        pca = PCA(n_components=2, random_state=random_state)
        xy = pca.fit_transform(basis)
        attrs["explained_variance_ratio"] = [float(v) for v in pca.explained_variance_ratio_]
    else:  # umap
        import umap

        neighbours = max(2, min(round(perplexity), n - 1))
        reducer = umap.UMAP(
            n_components=2, metric=metric, n_neighbors=neighbours, random_state=random_state
        )
        xy = reducer.fit_transform(data)
        attrs["perplexity"] = float(neighbours)
    frame = pd.DataFrame({"key": kv.keys.ids()[rows]})
    frame["label"] = kv.labels[rows] if kv.labels is not None else None
    frame["x"] = np.asarray(xy[:, 0], dtype=np.float64)
    frame["y"] = np.asarray(xy[:, 1], dtype=np.float64)
    if kv.metadata is not None:
        meta = kv.metadata.iloc[rows].reset_index(drop=True)
        for column in meta.columns:
            if column not in frame.columns and column != "id":
                frame[column] = meta[column].to_numpy()
    attrs["rows"] = rows.tolist()
    frame.attrs.update(attrs)
    return frame


#: From this many points t-SNE uses openTSNE's FFT gradient, below it Barnes-Hut.
FFT_FROM = 10_000


def _tsne(
    data: np.ndarray, metric: str, perplexity: float, random_state: int | None, n_jobs: int
) -> tuple[np.ndarray, float]:
    from openTSNE import TSNE

    n = data.shape[0]
    used = float(min(perplexity, max(1.0, (n - 1) / 3.0)))
    # openTSNE's default neighbour search (Annoy) is approximate and not seeded across
    # threads; exact search below a few thousand points is fast and reproducible.
    neighbors = "exact" if n <= 5_000 else "auto"
    # The FFT gradient has a fixed cost of several seconds (its interpolation grid);
    # Barnes-Hut is far faster below ~10,000 points (measured here: 20 points 6.5 s vs
    # 0.1 s, 1,682 points 8.6 s vs 3.0 s); FFT wins on larger maps.
    gradient = "bh" if n < FFT_FROM else "fft"
    tsne = TSNE(
        n_components=2,
        perplexity=used,
        metric=metric,
        initialization="pca",
        negative_gradient_method=gradient,
        neighbors=neighbors,
        n_jobs=n_jobs,
        random_state=random_state,
        verbose=False,
    )
    embedding = tsne.fit(data)
    return np.asarray(embedding, dtype=np.float64), used
