"""The web explorer: a FastAPI app built by :func:`create_app` from one model.

Everything lives on the app (``app.state.explorer``), nothing in module globals, so two
apps for two models can run side by side. Safe by default: the command line binds
127.0.0.1, every parameter is bounded, request bodies above ``max_body_bytes`` get 413,
static files come only from this package (looked up by name in a table built at start-up,
so no request ever becomes a filesystem path), and CORS is off unless origins are given.

Errors are JSON (``{"detail": ...}``): 404 for an unknown ID or title (with
``suggestions``), 422 for a value out of bounds (numbers past the schema's limits, NaN
and infinities included), 413 for a large body. IDs typed as text go through
:func:`embedlab.data.parse_id`, as on the command line: for integer IDs only plain ASCII
integers within int64 count as IDs. What no handler takes is a bug: a logged traceback
and a JSON 500 (:class:`LastResortMiddleware`), never a dropped connection.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from embedlab.data import parse_id
from embedlab.exceptions import EmbedlabError, UnknownIDError
from embedlab.settings import Int, renamed
from embedlab.web._schemas import (
    MAX_ANALOGY_TERMS,
    MAX_K,
    MAX_MIN_COUNT,
    MAX_QUERY_CHARS,
    MAX_RATINGS,
    AnalogyRequest,
    Health,
    MapComputing,
    MapResponse,
    ModelInfo,
    NeighboursResponse,
    NotFound,
    RecommendationsResponse,
    SearchResponse,
    VisitorRequest,
)

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_MIN_COUNT", "create_app", "limit_threads"]

_log = logging.getLogger("embedlab.web")

#: The ``min_count`` query parameter of the neighbours and map endpoints (one filter for
#: the list and the map).
MinCountQuery = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_MIN_COUNT,
        description="Only items with this many ratings; default: /api/info's "
        "default_min_count; 0: all items.",
    ),
]

#: Largest request body accepted (bytes): 100 ratings take about 5 KB.
DEFAULT_MAX_BODY_BYTES = 64 * 1024
_MEDIA = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_NOT_FOUND = {404: {"model": NotFound, "description": "Unknown ID or title (with suggestions)."}}

#: The neighbours' and the map's minimum number of ratings when a request gives none:
#: 10, but never more than the median item's count (so a small or sparse data set keeps
#: at least half of its items). On ML-100K it is 10, which leaves out the item titled
#: "unknown" (9 ratings) and the many items rated once or twice.
DEFAULT_MIN_COUNT = 10


def default_min_count(counts: Any) -> int:
    """:data:`DEFAULT_MIN_COUNT`, capped to the median of the items' rating ``counts``
    (at least 1; 0 when there are no counts)."""
    values = np.asarray(counts, dtype=np.float64)
    values = values[np.isfinite(values)] if values.size else values
    if values.size == 0:
        return 0
    return int(max(1, min(DEFAULT_MIN_COUNT, math.floor(float(np.median(values))))))


class _HTTPError(Exception):
    def __init__(self, status: int, detail: str, suggestions: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.suggestions = suggestions


class BodyLimitMiddleware:
    """Answers 413 to a body larger than ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before the app runs; a body
    without one (chunked) is read here, refused once it passes the limit, else replayed.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = int(limit)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await self._refuse(send, 400, "invalid Content-Length header")
                    return
                if declared > self.limit:
                    await self._refuse(send, 413, self._message())
                    return
        if any(name == b"content-length" for name, _ in scope.get("headers", ())):
            await self.app(scope, receive, send)
            return
        # no declared length (chunked): read the body up to the limit, then replay it
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._refuse(send, 413, self._message())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _message(self) -> str:
        return f"request body larger than {self.limit} bytes"

    @staticmethod
    async def _refuse(send: Any, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class LastResortMiddleware:
    """Turns an exception that no handler took into a JSON answer.

    Inputs are validated by the schemas and the endpoints (4xx), so an exception that
    gets here is a bug: it is logged with its traceback on the ``embedlab.web`` logger
    and answered ``500 {"detail": "internal error"}``, as JSON and without closing the
    connection (uvicorn would drop a keep-alive connection on a re-raised exception).
    If the response had already started, the exception is re-raised.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            _log.exception("internal error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            body = b'{"detail":"internal error"}'
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": body})


def _plain_genres(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [g for g in value.split("|") if g]
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(g) for g in value]
    with contextlib.suppress(TypeError, ValueError):
        if math.isnan(value):
            return []
    return [str(value)]


def _plain_int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else int(number)


class _Explorer:
    """The model and what the endpoints derive from it (row payloads, caches, the map)."""

    def __init__(
        self,
        model: Any,
        *,
        map_method: str,
        map_max_points: int,
        cache_size: int,
        random_state: int | None,
    ) -> None:
        self.model = model
        self.kv = model.item_embeddings()
        self.map_method = map_method
        self.map_max_points = int(map_max_points)
        self.random_state = random_state
        self.cache_size = int(cache_size)
        self._cache: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._map: dict[str, Any] | None = None
        self._map_error: str | None = None
        self._map_lock = threading.Lock()
        self._map_ready = threading.Event()
        self._map_thread: threading.Thread | None = None
        self._map_started: float | None = None
        self.map_computations = 0
        self.default_min_count = default_min_count(np.asarray(model.item_counts_))
        self._counted: dict[int, list[Any]] = {}
        n = len(self.kv)
        ids = self.kv.keys.ids().tolist()
        labels = [None] * n if self.kv.labels is None else self.kv.labels.tolist()
        meta = self.kv.metadata
        genres: list[list[str]] = [[] for _ in range(n)]
        years: list[int | None] = [None] * n
        counts: list[int | None] = [_plain_int(c) for c in np.asarray(model.item_counts_)]
        if meta is not None:
            if "genres" in meta.columns:
                genres = [_plain_genres(g) for g in meta["genres"].tolist()]
            if "year" in meta.columns:
                years = [_plain_int(y) for y in meta["year"].tolist()]
        self.rows: list[dict[str, Any]] = [
            {
                "key": ids[r],
                "label": None if labels[r] is None or labels[r] != labels[r] else str(labels[r]),
                "genres": genres[r],
                "year": years[r],
                "n_ratings": counts[r],
            }
            for r in range(n)
        ]
        self.genres = sorted({g for row in genres for g in row})
        # The page's wording: "movie" for MovieLens-like metadata, "item" otherwise.
        movielens_like = meta is not None and {"title", "genres"} <= set(meta.columns)
        self.item_noun = "movie" if movielens_like else "item"

    # --------------------------------------------------------------- lookups
    def item_key(self, query: int | str) -> int | str:
        """A raw ID in the keys' type, or the query as text (a title or an unknown ID)."""
        return parse_id(query, self.kv.keys.kind)

    def suggestions(self, query: Any, n: int = 5) -> list[dict[str, Any]]:
        if not isinstance(query, str):
            return []
        try:
            found = self.kv.find(query, n=n)
        except ValueError:
            return []
        return [self.rows[self.kv.index(k)] for k in found["key"].tolist()]

    def row(self, query: Any) -> int:
        """The row of an item ID or title; 404 (with suggestions) when unknown or ambiguous."""
        key = self.item_key(query)
        try:
            return self.kv.index(self.kv.resolve(key))
        except UnknownIDError as exc:
            raise _HTTPError(404, str(exc), self.suggestions(query)) from None

    def item_rows(self, ids: Sequence[Any]) -> list[int]:
        return self.model.items_.indices(list(ids)).tolist()

    def counted(self, min_count: int) -> list[Any] | None:
        """The IDs of the items with at least ``min_count`` ratings (the model's
        ``item_counts_``, as the rows' ``n_ratings``), or None for no filter (0).

        The filter goes to ``most_similar`` as ``restrict=``, so it works whether or not
        the embeddings carry an ``n_ratings`` metadata column.
        """
        if min_count <= 0:
            return None
        with self._cache_lock:
            found = self._counted.get(min_count)
        if found is None:
            found = [row["key"] for row in self.rows if (row["n_ratings"] or 0) >= min_count]
            with self._cache_lock:
                if len(self._counted) >= 64:
                    self._counted.clear()
                self._counted[min_count] = found
        return found

    # --------------------------------------------------------------- cache
    def cached(self, key: tuple[Any, ...]) -> bytes | None:
        if self.cache_size <= 0:
            return None
        with self._cache_lock:
            body = self._cache.get(key)
            if body is not None:
                self._cache.move_to_end(key)
            return body

    def remember(self, key: tuple[Any, ...], body: bytes) -> None:
        if self.cache_size <= 0:
            return
        with self._cache_lock:
            self._cache[key] = body
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    # --------------------------------------------------------------- map
    def start_map(self) -> None:
        """Compute the map in a background thread (once; later calls do nothing).

        The projection itself runs on one thread (``n_threads=1``), so requests keep the
        other cores while it runs.
        """
        with self._map_lock:
            if self._map_thread is not None:
                return
            self._map_started = time.monotonic()
            self._map_thread = threading.Thread(
                target=self._map_worker, name="embedlab-map", daemon=True
            )
            self._map_thread.start()

    def _map_worker(self) -> None:
        try:
            with _one_openmp_thread():
                layout = self._compute_map()
        except Exception as exc:  # logged; /api/map then answers 500 with the reason
            _log.exception("the map could not be computed")
            self._map_error = f"{type(exc).__name__}: {exc}"
        else:
            self._map = layout
            self.map_computations += 1
        finally:
            self._map_ready.set()

    def map(self) -> dict[str, Any] | None:
        """The map's layout, or None while it is being computed (this starts it if
        needed; never waits). A failed computation is a 500 with its reason."""
        if not self._map_ready.is_set():
            self.start_map()
            return None
        if self._map is None:
            raise _HTTPError(500, f"the map could not be computed ({self._map_error})")
        return self._map

    def wait_map(self, timeout: float | None = None) -> bool:
        """Wait until the map is computed (or failed); whether it is done."""
        self.start_map()
        return self._map_ready.wait(timeout)

    def map_progress(self) -> dict[str, Any]:
        """What ``/api/map`` answers (202) while the map is being computed."""
        started = self._map_started
        elapsed = 0.0 if started is None else time.monotonic() - started
        return {
            "status": "computing",
            "method": self.map_method,
            "n": int(min(len(self.kv), self.map_max_points)),
            "elapsed_s": round(elapsed, 1),
        }

    def _map_rows(self) -> np.ndarray:
        n = len(self.kv)
        if n <= self.map_max_points:
            return np.arange(n)
        counts = np.asarray(self.model.item_counts_, dtype=np.float64)
        top = np.argsort(-counts, kind="stable")[: self.map_max_points]
        return np.sort(top)

    def _compute_map(self) -> dict[str, Any]:
        rows = self._map_rows()
        xy = _project(self.kv, rows, self.map_method, self.random_state)
        # scale into [-1, 1] so the page needs no knowledge of the method's units
        xy = xy - xy.mean(axis=0)
        span = float(np.abs(xy).max()) or 1.0
        xy = xy / span
        points = []
        for i, r in enumerate(rows.tolist()):
            row = self.rows[r]
            points.append(
                {
                    "key": row["key"],
                    "label": row["label"],
                    "x": round(float(xy[i, 0]), 5),
                    "y": round(float(xy[i, 1]), 5),
                    "genre": row["genres"][0] if row["genres"] else None,
                    "n_ratings": row["n_ratings"],
                }
            )
        return {"method": self.map_method, "n": len(points), "points": points}


@contextlib.contextmanager
def _one_openmp_thread() -> Iterator[None]:
    """One OpenMP thread in this thread (OpenMP's limit is per thread: a new thread does
    not inherit :func:`limit_threads`; without it OpenBLAS warns "Detect OpenMP Loop and
    this application may hang" from the map's thread). BLAS pools are left alone."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1, user_api="openmp"):
        yield


def _project(kv: Any, rows: np.ndarray, method: str, random_state: int | None) -> np.ndarray:
    """2-D coordinates of ``rows`` of ``kv`` by t-SNE or PCA (cosine: unit rows)."""
    try:
        from embedlab.viz import project
    except ImportError:  # the viz package is not there (or lacks project): do it here
        project = None
    if project is not None and len(rows) >= 3:
        subset = kv.keys.ids()[rows].tolist()
        # one thread: a server shares its cores with requests (and openTSNE's threads
        # slow down sharply on a busy 2-core machine)
        frame = project(kv, method=method, subset=subset, random_state=random_state, n_threads=1)
        order = {k: i for i, k in enumerate(frame["key"].tolist())}
        idx = [order[k] for k in subset]
        return frame[["x", "y"]].to_numpy(dtype=np.float64)[idx]
    data = np.asarray(kv.vectors[rows], dtype=np.float64)
    norms = np.linalg.norm(data, axis=1, keepdims=True)
    data = data / np.where(norms > 0, norms, 1.0)
    if method == "tsne" and len(rows) >= 10:
        from openTSNE import TSNE

        perplexity = float(min(30.0, max(1.0, (len(rows) - 1) / 3.0)))
        tsne = TSNE(perplexity=perplexity, metric="cosine", random_state=random_state, n_jobs=1)
        return np.asarray(tsne.fit(data), dtype=np.float64)
    centred = data - data.mean(axis=0)
    if centred.shape[0] < 2 or centred.shape[1] < 2:
        return np.zeros((len(rows), 2))
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Library errors a request can cause: unknown IDs → 404, bad values → 422."""
    try:
        yield
    except UnknownIDError as exc:
        raise _HTTPError(404, str(exc)) from None
    except (EmbedlabError, ValueError) as exc:
        raise _HTTPError(422, str(exc)) from None


def _static_files() -> dict[str, tuple[bytes, str]]:
    """Every file shipped in ``embedlab/web/static``, by name, read once."""
    files: dict[str, tuple[bytes, str]] = {}
    root = resources.files("embedlab.web").joinpath("static")
    for entry in root.iterdir():
        if entry.is_file():
            suffix = Path(entry.name).suffix.lower()
            if suffix in _MEDIA:
                files[entry.name] = (entry.read_bytes(), _MEDIA[suffix])
    return files


@renamed(n="n_threads")
def limit_threads(n_threads: int = 1) -> bool:
    """Limit BLAS/OpenMP pools and torch to ``n_threads`` threads in this process (for a
    server). ``n`` is the deprecated name of ``n_threads`` (it warns; removed in the
    next release).

    A server runs requests side by side; a threaded BLAS inside each request only fights
    for the cores. Measured on a busy 2-core machine: ``most_similar`` over ML-100K's
    1,682 x 512 default embeddings takes 5.5 ms with 2 BLAS threads, 0.8 ms with 1.

    Returns:
        Whether the BLAS/OpenMP pools could be limited (needs threadpoolctl, which
        scikit-learn installs); torch is limited either way.
    """
    import torch

    torch.set_num_threads(int(n_threads))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    threadpool_limits(int(n_threads))
    return True


#: Environment variable through which ``embedlab serve --workers N`` configures each
#: worker process (JSON: ``create_app``'s arguments and ``n_threads``).
SERVE_CONFIG_ENV = "EMBEDLAB_SERVE_CONFIG"


def app_from_env() -> FastAPI:
    """The app of one worker of ``embedlab serve --workers N`` (a uvicorn factory).

    Each worker process loads the bundle itself, from the settings in
    ``$EMBEDLAB_SERVE_CONFIG``, and limits its threads.

    Raises:
        RuntimeError: If the variable is not set (this is not for direct use).
    """
    raw = os.environ.get(SERVE_CONFIG_ENV)
    if not raw:
        raise RuntimeError(f"{SERVE_CONFIG_ENV} is not set; start workers with embedlab serve")
    config = json.loads(raw)
    limit_threads(int(config.pop("n_threads", 1)))
    return create_app(config.pop("source"), **config)


def _load_model(source: Any) -> Any:
    if hasattr(source, "item_embeddings"):
        return source
    from embedlab.models import load

    return load(source)


def create_app(
    source: Any,
    *,
    cors_origins: Sequence[str] | None = None,
    map_method: str = "tsne",
    map_max_points: int = 5000,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    cache_size: int = 4096,
    random_state: int | None = 0,
) -> FastAPI:
    """Build the web explorer for one model.

    Args:
        source: A fitted model, or the path of a model bundle (``embedlab train --out``).
        cors_origins: Origins allowed to call the API from other pages (CORS); None or
            empty: CORS stays off (same-origin only).
        map_method: ``"tsne"`` or ``"pca"``: the 2-D map, computed once in a background
            thread started here (one projection thread) and kept in memory; until it is
            ready ``/api/map`` answers 202 ``{"status": "computing", ...}``.
        map_max_points: The map shows at most this many items (the most rated).
        max_body_bytes: Larger request bodies are refused with 413.
        cache_size: How many neighbour answers to keep (LRU); 0 turns the cache off.
        random_state: Seed of the map's projection.

    The neighbours (and analogies) and the map leave out items with fewer ratings than
    ``min_count``; a request without one gets the default, :data:`DEFAULT_MIN_COUNT`
    (10) capped to the median item's count, shown as ``default_min_count`` in
    ``/api/info``. ``min_count=0`` turns the filter off.

    Returns:
        The FastAPI app; serve it with uvicorn (``embedlab serve DIR``).

    Raises:
        BundleError: If ``source`` is a path that does not hold a valid bundle.
        ValueError: For a bad ``map_method``, ``map_max_points`` or ``max_body_bytes``.
    """
    if map_method not in ("tsne", "pca"):
        raise ValueError(f"map_method={map_method!r}: expected 'tsne' or 'pca'")
    map_max_points = Int(3)("map_max_points", map_max_points)
    if int(max_body_bytes) < 1024:
        raise ValueError(f"max_body_bytes={max_body_bytes!r}: expected at least 1024")
    from embedlab._version import __version__

    model = _load_model(source)
    explorer = _Explorer(
        model,
        map_method=map_method,
        map_max_points=map_max_points,
        cache_size=cache_size,
        random_state=random_state,
    )
    static = _static_files()
    app = FastAPI(
        title="embedlab explorer",
        version=__version__,
        summary="Search, neighbours, analogies, recommendations and a map of one model.",
        # Swagger UI and ReDoc load their scripts from a CDN; the page must work offline,
        # so only the OpenAPI description itself is served (/openapi.json).
        docs_url=None,
        redoc_url=None,
    )
    app.state.explorer = explorer
    explorer.start_map()
    app.add_middleware(BodyLimitMiddleware, limit=int(max_body_bytes))
    app.add_middleware(LastResortMiddleware)
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # loc, msg and type only: echoing the input could be large, or NaN (not JSON)
        errors = [
            {"loc": [str(part) for part in err.get("loc", ())], "msg": str(err.get("msg", ""))}
            | {"type": str(err.get("type", ""))}
            for err in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(_HTTPError)
    async def _http_error(request: Request, exc: _HTTPError) -> JSONResponse:
        content: dict[str, Any] = {"detail": exc.detail}
        if exc.status == 404:
            content["suggestions"] = exc.suggestions or []
        return JSONResponse(content, status_code=exc.status)

    # ------------------------------------------------------------------ page
    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        body, media = static["index.html"]
        return Response(body, media_type=media, headers=_PAGE_HEADERS)

    @app.get("/static/{name}", include_in_schema=False)
    async def static_file(name: str) -> Response:
        found = static.get(name)
        if found is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        return Response(found[0], media_type=found[1], headers=_PAGE_HEADERS)

    # ------------------------------------------------------------------ API
    @app.get("/api/health", response_model=Health, tags=["meta"])
    async def health() -> dict[str, str]:
        """Liveness: ``{"status": "ok"}`` (the map may still be computing: see /api/map)."""
        return {"status": "ok"}

    @app.get("/api/info", response_model=ModelInfo, tags=["meta"])
    async def info() -> dict[str, Any]:
        """The model: class, sizes, rating scale, genres, and the API's limits.

        ``item_noun`` is what the page calls an item: ``"movie"`` when the item
        metadata looks like MovieLens (``title`` and ``genres`` columns), else ``"item"``.
        """
        scale = getattr(model, "rating_scale_", None)
        return {
            "model_class": type(model).__name__,
            "embedlab_version": __version__,
            "n_users": len(model.users_),
            "n_items": len(model.items_),
            "embedding_dim": explorer.kv.vector_size,
            "has_titles": explorer.kv.labels is not None,
            "item_noun": explorer.item_noun,
            "rating_scale": None if scale is None else [float(s) for s in scale],
            "genres": explorer.genres,
            "map_method": explorer.map_method,
            "default_min_count": explorer.default_min_count,
            "limits": {
                "max_k": MAX_K,
                "max_query_chars": MAX_QUERY_CHARS,
                "max_ratings": MAX_RATINGS,
                "max_analogy_terms": MAX_ANALOGY_TERMS,
                "max_body_bytes": int(max_body_bytes),
            },
        }

    @app.get("/api/search", response_model=SearchResponse, tags=["items"])
    def search(
        q: Annotated[
            str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="Title text.")
        ],
        n: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
    ) -> dict[str, Any]:
        """Items whose titles match ``q`` (case, accents, punctuation and year forgiven).

        Without titles, the item IDs that contain ``q`` (case ignored), exact ID first.
        """
        with _user_errors():
            found = explorer.kv.find(q, n=n)
        rows = explorer.kv.keys.indices(found["key"].tolist()).tolist()
        hits = [
            {**explorer.rows[r], "score": float(s)}
            for r, s in zip(rows, found["score"].tolist(), strict=True)
        ]
        return {"query": q, "items": hits}

    def _neighbours(pos: list[int], neg: list[int], k: int, min_count: int | None) -> bytes:
        if min_count is None:
            min_count = explorer.default_min_count
        key = ("n", tuple(pos), tuple(neg), k, min_count)
        body = explorer.cached(key)
        if body is not None:
            return body
        ids = explorer.kv.keys.ids()
        with _user_errors():
            found = explorer.kv.most_similar(
                ids[pos].tolist(), ids[neg].tolist(), topn=k, restrict=explorer.counted(min_count)
            )
        rows = explorer.kv.keys.indices(found["key"].tolist()).tolist()
        doc = {
            "query": [explorer.rows[r] for r in pos],
            "negative": [explorer.rows[r] for r in neg],
            "neighbours": [
                {**explorer.rows[r], "similarity": float(s)}
                for r, s in zip(rows, found["similarity"].tolist(), strict=True)
            ],
        }
        body = json.dumps(doc, separators=(",", ":")).encode()
        explorer.remember(key, body)
        return body

    @app.get(
        "/api/items/{item}/neighbours",
        response_model=NeighboursResponse,
        responses=_NOT_FOUND,
        tags=["items"],
    )
    async def neighbours(
        item: Annotated[
            str,
            PathParam(max_length=MAX_QUERY_CHARS, description="An item ID (or a unique title)."),
        ],
        k: Annotated[int, Query(ge=1, le=MAX_K, description="How many neighbours.")] = 10,
        min_count: MinCountQuery = None,
    ) -> Response:
        """The ``k`` items nearest to ``item`` by cosine of the embeddings (itself left out).

        Items with fewer than ``min_count`` ratings are left out; without ``min_count``,
        ``default_min_count`` of /api/info (10, capped to the median item's count).
        """
        row = explorer.row(item)
        return Response(_neighbours([row], [], k, min_count), media_type="application/json")

    @app.post(
        "/api/analogy", response_model=NeighboursResponse, responses=_NOT_FOUND, tags=["items"]
    )
    def analogy(request: AnalogyRequest) -> Response:
        """Nearest items to ``sum(positive) - sum(negative)`` of unit vectors (3CosAdd)."""
        pos = [explorer.row(q) for q in request.positive]
        neg = [explorer.row(q) for q in request.negative]
        if set(pos) & set(neg):
            raise _HTTPError(422, "an item is both in positive and in negative")
        body = _neighbours(pos, neg, request.k, request.min_count)
        return Response(body, media_type="application/json")

    def _recommendations(frame: Any, user: Any) -> dict[str, Any]:
        rows = explorer.item_rows(frame["item"].tolist())
        because = frame["because"].tolist() if "because" in frame.columns else [None] * len(rows)
        items = [
            {
                **explorer.rows[r],
                "rank": int(rank),
                "score": float(score),
                "because": None if why is None else [str(w) for w in why],
            }
            for r, rank, score, why in zip(
                rows, frame["rank"].tolist(), frame["score"].tolist(), because, strict=True
            )
        ]
        return {"user": user, "items": items}

    @app.get(
        "/api/users/{user}/recommendations",
        response_model=RecommendationsResponse,
        responses=_NOT_FOUND,
        tags=["recommendations"],
    )
    def user_recommendations(
        user: Annotated[str, PathParam(max_length=MAX_QUERY_CHARS, description="A user ID.")],
        n: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
        min_count: Annotated[int | None, Query(ge=0, le=MAX_MIN_COUNT)] = None,
        explain: bool = False,
    ) -> dict[str, Any]:
        """Unseen items with the highest predicted rating for a user of the training data."""
        user_id = parse_id(user, model.users_.kind)
        if model.users_.kind == "int" and not isinstance(user_id, int):
            raise _HTTPError(
                404, f"user {user!r} is not an ID of this model (IDs are integers within int64)"
            )
        with _user_errors():
            frame = model.recommend(user_id, n, min_count=min_count, explain=explain)
        return _recommendations(frame, user_id)

    @app.post(
        "/api/recommendations",
        response_model=RecommendationsResponse,
        responses=_NOT_FOUND,
        tags=["recommendations"],
    )
    def visitor_recommendations(request: VisitorRequest) -> dict[str, Any]:
        """Recommendations for a visitor from a few (item, rating) pairs, by fold-in.

        The visitor's vector is fitted to their ratings with the items fixed; the rated
        items are left out; ``explain`` says which liked items each pick is closest to.
        """
        rows = [explorer.row(r.item) for r in request.ratings]
        if len(set(rows)) != len(rows):
            raise _HTTPError(422, "an item is rated twice; rate each item once")
        scale = getattr(model, "rating_scale_", None)
        if scale is not None:
            lo, hi = float(scale[0]), float(scale[1])
            bad = [r.rating for r in request.ratings if not lo <= r.rating <= hi]
            if bad:
                raise _HTTPError(422, f"rating {bad[0]:g} is outside the scale {lo:g}..{hi:g}")
        # explorer.rows holds plain Python IDs (an int, or a str of a string vocabulary)
        keys = [explorer.rows[r]["key"] for r in rows]
        pairs = [(k, r_.rating) for k, r_ in zip(keys, request.ratings, strict=True)]
        with _user_errors():
            frame = model.recommend_for_ratings(
                pairs, request.n, min_count=request.min_count, explain=request.explain
            )
        return _recommendations(frame, None)

    @app.get(
        "/api/map",
        response_model=MapResponse,
        responses={202: {"model": MapComputing, "description": "The map is being computed."}},
        tags=["items"],
    )
    async def item_map(
        min_count: MinCountQuery = None,
    ) -> Any:
        """2-D coordinates of the items (t-SNE or PCA, scaled to [-1, 1]).

        Computed once, in a background thread started with the app, and kept in memory.
        Until it is ready the answer is 202 ``{"status": "computing", ...}`` (with
        ``Retry-After``), at once; ask again. The layout is of the most rated items
        (``n_total``); the points shown are those with at least ``min_count`` ratings
        (default: /api/info's ``default_min_count``), so the filter never moves a point.
        """
        layout = explorer.map()
        if layout is None:
            return JSONResponse(
                explorer.map_progress(), status_code=202, headers={"Retry-After": "1"}
            )
        limit = explorer.default_min_count if min_count is None else min_count
        points = layout["points"]
        if limit > 0:
            points = [p for p in points if (p["n_ratings"] or 0) >= limit]
        return {
            "method": layout["method"],
            "n": len(points),
            "n_total": layout["n"],
            "min_count": limit,
            "points": points,
        }

    return app
