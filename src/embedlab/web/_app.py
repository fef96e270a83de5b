"""The web explorer: a FastAPI app built by :func:`create_app` from one model or one set
of vectors.

Everything lives on the app (``app.state.explorer``), nothing in module globals, so two
apps for two sources can run side by side. Safe by default: the command line binds
127.0.0.1, every parameter is bounded, request bodies above ``max_body_bytes`` get 413,
static files come only from this package (looked up by name in a table built at start-up,
so no request ever becomes a filesystem path), and CORS is off unless origins are given.

Sized for 1,000,000 items: nothing is built per item at start-up; the items' keys,
labels, counts and metadata stay in arrays and an item's JSON is built when it is
answered. Searches run vectorised (Arrow string kernels) and neighbours are an exact
matrix-vector product (a few ms for 1,000,000 x 32). The map goes out as binary
(``/api/map/points``: 12 bytes a point) and its colours as base64 arrays per item row.

Errors are JSON (``{"detail": ...}``): 404 for an unknown ID or title (with
``suggestions``), 422 for a value out of bounds (numbers past the schema's limits, NaN
and infinities included), 413 for a large body. IDs typed as text go through
:func:`embedlab.data.parse_id`, as on the command line: for integer IDs only plain ASCII
integers within int64 count as IDs. What no handler takes is a bug: a logged traceback
and a JSON 500 (:class:`LastResortMiddleware`), never a dropped connection.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import logging
import math
import os
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from embedlab import _ann
from embedlab.data import parse_id
from embedlab.embeddings import COUNT_COLUMNS, KeyedEmbeddings
from embedlab.exceptions import EmbedlabError, UnknownIDError
from embedlab.settings import Int, renamed
from embedlab.web._schemas import (
    MAX_ANALOGY_TERMS,
    MAX_HISTORY,
    MAX_K,
    MAX_MAP_LABELS,
    MAX_MIN_COUNT,
    MAX_QUERY_CHARS,
    MAX_RATINGS,
    AnalogyRequest,
    CategoricalColours,
    Health,
    HistoryResponse,
    Item,
    MapComputing,
    MapResponse,
    ModelInfo,
    NeighboursResponse,
    NotFound,
    NumericColours,
    RecommendationsResponse,
    SearchResponse,
    UsersResponse,
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
        description="Only items with this many ratings (interactions, for implicit "
        "feedback); default: /api/info's default_min_count; 0: all items.",
    ),
]
#: The map methods a request can name (``umap`` only where umap-learn is installed).
MapMethod = Literal["pca", "tsne", "umap"]
MapMethodQuery = Annotated[
    MapMethod | None, Query(description="pca, tsne or umap; default: /api/info's map_method.")
]

#: Largest request body accepted (bytes): 100 ratings take about 5 KB.
DEFAULT_MAX_BODY_BYTES = 64 * 1024
#: Up to this many items, label search uses the forgiving ``KeyedEmbeddings.find``;
#: above it, a vectorised search of the lower-cased labels (``find`` reads every label
#: in Python: about a second a query at 1,000,000 items).
FIND_MAX_ITEMS = 50_000
#: A regular expression search stops (422) after this many seconds.
REGEX_TIMEOUT_S = 0.25
#: Colour levels of a categorical column (the rest is "other").
MAX_LEVELS = 19
#: Text columns with more distinct values (titles) are searchable, not colour columns.
MAX_COLOUR_LEVELS = 50
#: The code of a missing value or of the "other" level in /api/colours.
OTHER_CODE = 65535
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
_COMPUTING = {202: {"model": MapComputing, "description": "The layout is being computed."}}
_NO_MODEL_USERS = "these embeddings have no model: no users"
_NO_MODEL_RECOMMENDATIONS = "these embeddings have no model: no recommendations"

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


#: What the recommendations' ``score`` is, by the kind of feedback the model learnt from.
SCORE_LABELS = {"explicit": "predicted rating", "implicit": "preference score"}


def feedback_of(model: Any) -> Literal["explicit", "implicit"] | None:
    """The feedback a model learnt from: ``"implicit"`` (clicks, plays, purchases, with
    weights: scores rank items and are no ratings), ``"explicit"`` (ratings), or None
    without a model (vectors mode).

    A model's ``feedback_`` attribute decides when it has one; else an
    ``ImplicitMatrixFactorization`` (or its bundle) is implicit and the rest explicit.
    """
    if model is None:
        return None
    declared = getattr(model, "feedback_", None)
    if declared in ("explicit", "implicit"):
        return declared  # type: ignore[return-value]
    name = getattr(model, "model_class", None) or type(model).__name__
    return "implicit" if name == "ImplicitMatrixFactorization" else "explicit"


def umap_available() -> bool:
    """Whether umap-learn can be imported (without importing it)."""
    return importlib.util.find_spec("umap") is not None


def _default_method(n_items: int) -> str:
    from embedlab.viz import default_method

    return default_method(n_items)


def _map_methods() -> list[str]:
    return ["pca", "tsne", *(["umap"] if umap_available() else [])]


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
    return None if not math.isfinite(number) else int(number)


def _plain_scalar(value: Any) -> Any:
    """A metadata value as JSON: str, finite number, bool or None (lists joined by "|")."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return "|".join(str(v) for v in value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (bool, int, str)):
        return value
    with contextlib.suppress(TypeError, ValueError):
        if pd.isna(value):
            return None
    return str(value)


def _has_alnum(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def _b64(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_dumps(doc), status_code=status, media_type="application/json", headers=headers)


class _TextColumn:
    """One column's values as lower-cased Arrow strings, for vectorised search.

    ``contains``/``equals``/``scores`` take lower-cased text and answer a boolean mask
    per row (missing values never match); ``regex`` runs a regular expression.
    """

    def __init__(self, values: Any) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        self._pc = pc
        if isinstance(values, pa.Array):
            raw = values
        else:
            raw = pa.array(values, type=pa.large_string(), from_pandas=True)
        self.raw = raw
        self.low = pc.utf8_lower(raw)
        self.lengths = np.asarray(
            pc.fill_null(pc.utf8_length(self.low), 0).to_numpy(zero_copy_only=False),
            dtype=np.float64,
        )

    def _mask(self, found: Any) -> np.ndarray:
        return np.asarray(
            self._pc.fill_null(found, False).to_numpy(zero_copy_only=False), dtype=bool
        )

    def contains(self, text: str) -> np.ndarray:
        return self._mask(self._pc.match_substring(self.low, text))

    def equals(self, text: str) -> np.ndarray:
        return self._mask(self._pc.equal(self.low, text))

    def scores(self, text: str, *, exact: float, start: float, contain: float) -> np.ndarray:
        """0 where ``text`` is absent; ``exact`` for equal values; else ``start`` or
        ``contain`` plus up to 0.2 as the value's length nears the text's."""
        n = self.lengths.shape[0]
        scores = np.zeros(n, dtype=np.float64)
        inside = np.flatnonzero(self.contains(text))
        if not inside.size:
            return scores
        ratio = np.minimum(len(text) / np.maximum(self.lengths[inside], 1.0), 1.0)
        # starts_with on the matching values only (one more pass over few values)
        if inside.size * 4 < n:
            starts = self._mask(self._pc.starts_with(self.low.take(inside), text))
        else:
            starts = self._mask(self._pc.starts_with(self.low, text))[inside]
        scores[inside] = np.where(starts, start, contain) + 0.2 * ratio
        # a value containing the text and as long as it is equal to it
        scores[inside[self.lengths[inside] == len(text)]] = exact
        return scores

    def regex(self, pattern: str, compiled: Any, deadline: float) -> np.ndarray:
        """Rows whose value the pattern matches (``search``, case ignored).

        Large columns go through Arrow's RE2 when it compiles the pattern (linear time,
        the same answer for the patterns both accept); else the ``regex`` package, row
        by row, within ``deadline`` (``TimeoutError`` past it).
        """
        import pyarrow as pa

        n = self.lengths.shape[0]
        if n > FIND_MAX_ITEMS:
            with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):
                found = self._pc.match_substring_regex(self.raw, pattern, ignore_case=True)
                return self._mask(found)
        values = self.raw.to_pylist()
        mask = np.zeros(n, dtype=bool)
        search = compiled.search
        for start in range(0, n, 256):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            for i, value in enumerate(values[start : start + 256], start):
                if value is not None and search(value, timeout=left) is not None:
                    mask[i] = True
        return mask


class _Column:
    """A metadata column as the API sees it: its kind, and its values for colours."""

    def __init__(self, name: str, series: pd.Series, *, force_multi: bool = False) -> None:
        self.name = name
        self.series = series
        values = series.to_numpy(dtype=object) if series.dtype == object else None
        first = None
        if values is not None:
            present = series.dropna()
            first = present.iloc[0] if len(present) else None
        self.multi = force_multi or isinstance(first, (list, tuple, np.ndarray))
        numeric = (
            pd.api.types.is_numeric_dtype(series.dtype)
            and not pd.api.types.is_bool_dtype(series.dtype)
            and not self.multi
        )
        self.kind: Literal["categorical", "numeric"] = "numeric" if numeric else "categorical"
        self._members: tuple[np.ndarray, np.ndarray, list[str]] | None = None
        self._lock = threading.Lock()
        self.n_levels: int | None = None
        if self.kind == "categorical":
            if self.multi:
                _, _codes, levels = self.members()
                self.n_levels = len(levels)
            else:
                self.n_levels = int(self.as_text().nunique(dropna=True))

    @property
    def colourable(self) -> bool:
        return self.kind == "numeric" or (self.n_levels or 0) <= MAX_COLOUR_LEVELS

    def as_text(self) -> pd.Series:
        """The values as text (None where missing; lists joined by "|")."""
        series = self.series
        if self.multi:
            return pd.Series(
                [None if not m else "|".join(m) for m in map(_plain_genres, series.tolist())],
                dtype=object,
            )
        if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
            return series
        out = series.astype(object)
        return out.where(series.notna(), None).map(lambda v: v if v is None else str(v))

    def members(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """A multi column's ``(rows, level codes, levels)``: one entry per distinct
        (row, member) pair; levels in order of first appearance."""
        with self._lock:
            if self._members is None:
                self._members = _split_members(self.series)
            return self._members


def _split_members(series: pd.Series) -> tuple[np.ndarray, np.ndarray, list[str]]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):  # "a|b" text
        text = pa.array(series.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
        lists = pc.split_pattern(text, "|")
    else:
        values = series.to_numpy(dtype=object)
        lists = pa.array([_plain_genres(v) for v in values], type=pa.list_(pa.large_string()))
    parents = np.asarray(pc.list_parent_indices(lists).to_numpy(), dtype=np.int64)
    encoded = pc.dictionary_encode(pc.list_flatten(lists))
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    names = [str(v) for v in encoded.dictionary.to_pylist()]
    if "" in names:  # "a||b" or "": no member
        empty = names.index("")
        keep = codes != empty
        parents, codes = parents[keep], codes[keep]
        codes = codes - (codes > empty)
        names.pop(empty)
    width = max(len(names), 1)
    pair = np.sort(parents * width + codes, kind="stable")  # rows ascend already: runs
    if pair.size:
        pair = pair[np.r_[True, pair[1:] != pair[:-1]]]  # a member listed twice counts once
    rows, codes = np.divmod(pair, width)
    return rows.astype(np.int64), codes.astype(np.int64), names


class _Layout:
    """One map method's layout: computed once (a background thread) or stored."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.rows: np.ndarray | None = None  # laid-out rows, ascending
        self.xy: np.ndarray | None = None  # float32 [len(rows), 2], in [-1, 1]
        self.error: str | None = None
        self.ready = threading.Event()
        self.thread: threading.Thread | None = None
        self.started: float | None = None
        self.n_planned = 0

    def computed(self) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, xy)`` of a computed layout (callers check ``ready`` first)."""
        if self.rows is None or self.xy is None:
            raise RuntimeError(f"the {self.method} layout is used before it was computed")
        return self.rows, self.xy


def _scaled(xy: np.ndarray) -> np.ndarray:
    """Centred and divided by the largest absolute coordinate: into [-1, 1]."""
    xy = np.asarray(xy, dtype=np.float64)
    xy = xy - xy.mean(axis=0) if xy.shape[0] else xy
    span = float(np.abs(xy).max()) if xy.size else 0.0
    return (xy / (span or 1.0)).astype(np.float32)


class _Explorer:
    """The source and what the endpoints derive from it: arrays per item row, search
    columns, colours, users and the map's layouts. Nothing per item is built up front."""

    def __init__(
        self,
        model: Any,
        kv: KeyedEmbeddings,
        *,
        source_name: str,
        map_method: str,
        map_max_points: int | None,
        cache_size: int,
        random_state: int | None,
    ) -> None:
        self.model = model
        self.kv = kv
        self.feedback = feedback_of(model)
        self.source_name = source_name
        self.n = len(kv)
        self.map_method = map_method
        self.map_max_points = None if map_max_points is None else int(map_max_points)
        self.random_state = random_state
        self.cache_size = int(cache_size)
        self._cache: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._allowed: dict[int, np.ndarray] = {}  # min_count -> rows allowed (a few kept)
        self.map_computations = 0
        self.int_keys = kv.keys.kind == "int"
        self.ids = kv.keys.ids()
        self.labels = kv.labels
        meta = kv.metadata
        self.meta = meta
        # ------------------------------------------------------------ counts
        self.counts_column: str | None = None
        counts: np.ndarray | None = None
        if model is not None:
            counts = np.asarray(model.item_counts_, dtype=np.float64)
        elif meta is not None:
            for name in COUNT_COLUMNS:
                if name in meta.columns and _is_numeric(meta[name]):
                    counts = pd.to_numeric(meta[name], errors="coerce").to_numpy(np.float64)
                    self.counts_column = name
                    break
        if meta is not None and "n_ratings" in meta.columns and model is not None:
            self.counts_column = "n_ratings"  # the model's own counts, added by item_embeddings
        self.counts = counts
        self.default_min_count = 0 if counts is None else default_min_count(counts)
        # ------------------------------------------------------------ metadata columns
        self.columns: dict[str, _Column] = {}
        self._payload_meta: list[tuple[str, np.ndarray]] = []
        self._genres: np.ndarray | None = None
        self._years: np.ndarray | None = None
        label_columns = {"title", "label"} if self.labels is not None else set()
        if meta is not None:
            for name in meta.columns:
                name = str(name)
                if name == self.counts_column or name in ("id", "key"):
                    continue  # the counts are n_ratings; the IDs are the keys
                if _same_values(meta[name], self.ids):
                    continue  # the key column of a metadata table
                column = _Column(name, meta[name], force_multi=name == "genres")
                self.columns[name] = column
                if name == "genres":
                    self._genres = meta[name].to_numpy(dtype=object)
                elif name == "year":
                    self._years = meta[name].to_numpy(dtype=object)
                elif name not in label_columns:
                    self._payload_meta.append((name, meta[name].to_numpy(dtype=object)))
        self.genres = (
            sorted(self.columns["genres"].members()[2]) if "genres" in self.columns else []
        )
        self.item_noun = "movie" if {"title", "genres"} <= set(self.columns) else "item"
        # ------------------------------------------------------------ biases
        self.biases: np.ndarray | None = None
        if model is not None and hasattr(model, "item_biases"):
            with contextlib.suppress(ValueError, AttributeError):
                frame = model.item_biases()
                biases = np.full(self.n, np.nan, dtype=np.float64)
                biases[model.items_.indices(frame["id"].tolist())] = frame["bias"].to_numpy()
                self.biases = biases
        # ------------------------------------------------------------ vectors
        vectors = kv.vectors
        self.sq_norms = np.einsum("ij,ij->i", vectors, vectors).astype(np.float32)
        unit = getattr(kv, "_unit", None)
        if unit is None:  # pragma: no cover - every KeyedEmbeddings has it
            norms = np.sqrt(self.sq_norms)
            unit = (vectors / np.where(norms > 0, norms, 1.0)[:, None]).astype(np.float32)
        self.unit = unit
        # ------------------------------------------------------------ search
        self._text: dict[str, _TextColumn] = {}
        self._text_lock = threading.Lock()
        if self.n > FIND_MAX_ITEMS:  # built now, not on the first search
            self.text_column("key")
            if self.labels is not None:
                self.text_column("label")
        self._colours: dict[str, bytes] = {}
        self._colours_lock = threading.Lock()
        self._users: dict[str, Any] | None = None
        self._users_lock = threading.Lock()
        # ------------------------------------------------------------ layouts
        self._layouts: dict[str, _Layout] = {}
        self._layout_lock = threading.Lock()
        self.has_layout = False
        stored = getattr(model if model is not None else kv, "item_layout_", None)
        if stored is not None:
            self._use_stored_layout(stored)

    # --------------------------------------------------------------- payloads
    @property
    def has_model(self) -> bool:
        return self.model is not None

    @property
    def has_counts(self) -> bool:
        return self.counts is not None

    def key(self, row: int) -> int | str:
        value = self.ids[row]
        return int(value) if self.int_keys else str(value)

    def label(self, row: int) -> str | None:
        if self.labels is None:
            return None
        value = self.labels[row]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return str(value)

    def count(self, row: int) -> int | None:
        return None if self.counts is None else _plain_int(self.counts[row])

    def item(self, row: int) -> dict[str, Any]:
        """The item payload of one row (the API's ``Item``)."""
        row = int(row)
        return {
            "row": row,
            "key": self.key(row),
            "label": self.label(row),
            "genres": [] if self._genres is None else _plain_genres(self._genres[row]),
            "year": None if self._years is None else _plain_int(self._years[row]),
            "n_ratings": self.count(row),
            "meta": {name: _plain_scalar(values[row]) for name, values in self._payload_meta},
        }

    # --------------------------------------------------------------- lookups
    def item_key(self, query: int | str) -> int | str:
        """A raw ID in the keys' type, or the query as text (a title or an unknown ID)."""
        return parse_id(query, self.kv.keys.kind)

    def suggestions(self, query: Any, n: int = 5) -> list[dict[str, Any]]:
        if not isinstance(query, str) or not _has_alnum(query):
            return []
        try:
            rows, _, _ = self.search_text(query, n)
        except _HTTPError:
            return []
        return [self.item(r) for r in rows]

    def row(self, query: Any) -> int:
        """The row of an item ID or title; 404 (with suggestions) when unknown or ambiguous."""
        key = self.item_key(query)
        with contextlib.suppress(UnknownIDError):
            return self.kv.index(key)
        if self.n > FIND_MAX_ITEMS and isinstance(key, str) and self.labels is not None:
            found = np.flatnonzero(self.text_column("label").equals(key.strip().lower()))
            if found.size == 1:
                return int(found[0])
            what = (
                "no item has this ID or title"
                if found.size == 0
                else (f"{found.size} items have this title; pass the ID")
            )
            raise _HTTPError(404, f"{query!r}: {what}", self.suggestions(query))
        try:
            return self.kv.index(self.kv.resolve(key))
        except UnknownIDError as exc:
            raise _HTTPError(404, _page_wording(str(exc)), self.suggestions(query)) from None

    def allowed(self, min_count: int | None) -> np.ndarray | None:
        """Rows with at least ``min_count`` ratings, or None for no filter (0, or no counts)."""
        if self.counts is None:
            return None
        if min_count is None:
            min_count = self.default_min_count
        if min_count <= 0:
            return None
        with self._cache_lock:
            mask = self._allowed.get(min_count)
        if mask is None:
            mask = np.nan_to_num(self.counts, nan=0.0) >= float(min_count)
            with self._cache_lock:
                if len(self._allowed) >= 8:
                    self._allowed.clear()
                self._allowed[min_count] = mask
        return mask

    # --------------------------------------------------------------- search
    def text_column(self, name: str) -> _TextColumn:
        """The searchable text of ``label``, ``key`` or a metadata column (built once)."""
        with self._text_lock:
            found = self._text.get(name)
        if found is not None:
            return found
        if name == "label":
            values: Any = self.labels
        elif name == "key":
            import pyarrow as pa

            values = (
                pa.array(self.ids).cast(pa.large_string())
                if self.int_keys
                else pa.array(self.ids.astype(object), type=pa.large_string())
            )
        else:
            values = self.columns[name].as_text().to_numpy(dtype=object)
        column = _TextColumn(values)
        with self._text_lock:
            self._text.setdefault(name, column)
            return self._text[name]

    def searchable(self) -> list[str]:
        return [*(["label"] if self.labels is not None else []), "key", *self.columns]

    def _ranked(self, rows: np.ndarray, scores: np.ndarray, n: int) -> np.ndarray:
        """The best ``n`` of ``rows``: higher score, then more ratings, then lower row."""
        if rows.size > 4 * n:  # only the rows scoring at least the n-th best can be in
            cut = -np.partition(-scores, n - 1)[n - 1]
            keep = scores >= cut
            rows, scores = rows[keep], scores[keep]
        popularity = (
            np.zeros(rows.size) if self.counts is None else np.nan_to_num(self.counts[rows])
        )
        order = np.lexsort((rows, -popularity, -scores))[:n]
        return rows[order]

    def search_text(self, q: str, n: int) -> tuple[list[int], list[float], int]:
        """Labels and IDs matching ``q``: the exact ID first (score 1.0), then labels
        (forgiving ``find`` up to :data:`FIND_MAX_ITEMS` items) and IDs starting with or
        containing ``q`` (case ignored), best first. Returns rows, scores and the total."""
        if not _has_alnum(q):
            raise _HTTPError(
                422,
                f"q={q!r}: the search text has no letters or digits; type part of a title or an ID",
            )
        text = q.strip().lower()
        if self.int_keys and not text.lstrip("+-").isdecimal():
            scores = np.zeros(self.n, dtype=np.float64)  # no integer ID contains it
        else:
            scores = self.text_column("key").scores(text, exact=1.0, start=0.7, contain=0.5)
        matched = scores > 0
        exact_rows: list[int] = []
        key = self.item_key(q.strip())
        with contextlib.suppress(UnknownIDError):
            exact_rows = [self.kv.index(key)]
        if self.labels is not None:
            if self.n <= FIND_MAX_ITEMS:
                try:
                    found = self.kv.find(q, n=n)
                except ValueError:
                    found = None
                if found is not None and len(found):
                    rows = self.kv.keys.indices(found["key"].tolist())
                    scores[rows] = np.maximum(scores[rows], found["score"].to_numpy())
                    matched[rows] = True
                matched |= self.text_column("label").contains(text)
            else:
                label_scores = self.text_column("label").scores(
                    text, exact=1.0, start=0.7, contain=0.6
                )
                scores = np.maximum(scores, label_scores)
                matched |= label_scores > 0
        for row in exact_rows:
            matched[row] = True
            scores[row] = 1.0
        total = int(matched.sum())
        rows = np.flatnonzero(scores > 0)
        best = [r for r in self._ranked(rows, scores[rows], n + len(exact_rows)).tolist()]
        best = exact_rows + [r for r in best if r not in exact_rows]
        best = best[:n]
        return best, [float(scores[r]) for r in best], max(total, len(best))

    def search_column(self, q: str, column: str, n: int) -> tuple[list[int], list[float], int]:
        """Values of ``column`` containing ``q`` (case ignored), best first."""
        text = q.strip().lower() or q.lower()
        scores = self.text_column(column).scores(text, exact=1.0, start=0.7, contain=0.5)
        rows = np.flatnonzero(scores > 0)
        best = self._ranked(rows, scores[rows], n).tolist()
        return best, [float(scores[r]) for r in best], int(rows.size)

    def search_regex(self, q: str, column: str, n: int) -> tuple[list[int], list[float], int]:
        """Values of ``column`` that the regular expression ``q`` matches (case ignored)."""
        import regex

        try:
            compiled = regex.compile(q, regex.IGNORECASE)
        except (regex.error, ValueError, OverflowError, RecursionError) as exc:
            raise _HTTPError(422, f"regex {q!r}: {exc}; check the pattern") from None
        deadline = time.monotonic() + REGEX_TIMEOUT_S
        try:
            mask = self.text_column(column).regex(q, compiled, deadline)
        except TimeoutError:
            raise _HTTPError(
                422,
                f"regex {q!r}: the search took longer than {REGEX_TIMEOUT_S:g} s and was "
                "stopped; simplify the pattern (nested repeats such as (a+)+ can take "
                "forever)",
            ) from None
        rows = np.flatnonzero(mask)
        best = self._ranked(rows, np.ones(rows.size), n).tolist()
        return best, [1.0] * len(best), int(rows.size)

    # --------------------------------------------------------------- neighbours
    def neighbours(
        self,
        pos: list[int],
        neg: list[int],
        k: int,
        min_count: int | None,
        metric: str,
    ) -> bytes:
        key = ("n", metric, tuple(pos), tuple(neg), k, min_count)
        body = self.cached(key)
        if body is not None:
            return body
        allowed = self.allowed(min_count)
        unit, vectors = self.unit, self.kv.vectors
        if len(pos) == 1 and not neg:  # as KeyedEmbeddings.most_similar computes it
            direction = unit[pos[0]].astype(np.float64)
            target = vectors[pos[0]].astype(np.float64)
        else:
            direction = unit[pos].astype(np.float64).sum(axis=0) - unit[neg].sum(axis=0)
            target = vectors[pos].astype(np.float64).sum(axis=0) - vectors[neg].astype(
                np.float64
            ).sum(axis=0)
        norm = math.sqrt(direction @ direction)
        direction = (direction / norm if norm > 0 else direction).astype(np.float32)
        exclude = pos + neg
        if metric == "euclidean":
            rows, dist = _ann.euclidean_search(
                vectors, self.sq_norms, target, k, allowed=allowed, exclude=exclude
            )
            sims = (unit[rows] @ direction).astype(np.float64)
        else:
            if allowed is None or self.n <= FIND_MAX_ITEMS:
                _, rows, sims = _ann.exact_search_flat(
                    unit, direction[None], k, allowed=allowed, exclude=[exclude]
                )
            else:  # all rows scored, the filtered ones masked: no copy of the matrix
                scores = unit @ direction
                scores[~allowed] = -np.inf
                scores[exclude] = -np.inf
                rows, found = _ann.top_scores(scores, k)
                sims = found.astype(np.float64)
            diff = vectors[rows].astype(np.float64) - target
            dist = np.sqrt((diff * diff).sum(axis=1))
        sims = np.clip(sims, -1.0, 1.0)
        doc = {
            "metric": metric,
            "query": [self.item(r) for r in pos],
            "negative": [self.item(r) for r in neg],
            "neighbours": [
                {**self.item(r), "similarity": float(s), "distance": float(d)}
                for r, s, d in zip(rows.tolist(), sims.tolist(), dist.tolist(), strict=True)
            ],
        }
        body = _dumps(doc)
        self.remember(key, body)
        return body

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

    # --------------------------------------------------------------- colours
    def colour_columns(self) -> list[dict[str, Any]]:
        out = [
            {"name": c.name, "kind": c.kind, "multi": c.multi, "n_levels": c.n_levels}
            for c in self.columns.values()
            if c.colourable
        ]
        if self.has_counts:
            out.append({"name": "n_ratings", "kind": "numeric", "multi": False, "n_levels": None})
        if self.biases is not None:
            out.append({"name": "bias", "kind": "numeric", "multi": False, "n_levels": None})
        return out

    def default_colour(self) -> str | None:
        columns = {c["name"]: c for c in self.colour_columns()}
        if "genres" in columns:
            return "genres"
        for c in columns.values():
            if c["kind"] == "categorical" and (c["n_levels"] or 0) <= 20:
                return str(c["name"])
        if self.has_counts:
            return "n_ratings"
        if self.biases is not None:
            return "bias"
        return None

    def colours(self, name: str) -> bytes:
        """The JSON of /api/colours for one column (built once)."""
        with self._colours_lock:
            found = self._colours.get(name)
        if found is not None:
            return found
        names = {c["name"] for c in self.colour_columns()}
        if name not in names:
            raise _HTTPError(
                422,
                f"column={name!r} is not a colour column; expected one of "
                f"{sorted(names)} (see /api/info's columns)",
            )
        if name == "n_ratings" and name not in self.columns:
            doc = _numeric_colours(name, self.counts)
        elif name == "bias" and name not in self.columns:
            doc = _numeric_colours(name, self.biases)
        else:
            column = self.columns[name]
            if column.kind == "numeric":
                values = pd.to_numeric(column.series, errors="coerce").to_numpy(np.float64)
                doc = _numeric_colours(name, values)
            elif column.multi:
                doc = _multi_colours(name, self.n, *column.members())
            else:
                doc = _categorical_colours(name, column.as_text())
        body = _dumps(doc)
        with self._colours_lock:
            self._colours.setdefault(name, body)
            return self._colours[name]

    # --------------------------------------------------------------- users
    @property
    def implicit(self) -> bool:
        """Whether the model learnt from implicit feedback (weights, not ratings)."""
        return self.feedback == "implicit"

    @property
    def what_seen(self) -> str:
        """What the page and the messages call a user's training rows."""
        return "interactions" if self.implicit else "ratings"

    def users(self) -> dict[str, Any]:
        """The users' IDs (as text, for search), rating counts and mean ratings (for
        implicit feedback: interaction counts, and no mean: weights are no ratings)."""
        if self.model is None:
            raise _HTTPError(404, _NO_MODEL_USERS)
        with self._users_lock:
            if self._users is None:
                model = self.model
                seen = getattr(model, "seen_", None)
                ids = model.users_.ids()
                if seen is not None:
                    counts = np.diff(seen.indptr).astype(np.int64)
                    if self.implicit:  # weights, not ratings: a mean would mean nothing
                        means = np.full(len(ids), np.nan)
                    else:
                        sums = np.add.reduceat(
                            np.append(seen.ratings.astype(np.float64), 0.0),
                            np.minimum(seen.indptr[:-1], len(seen.ratings)),
                        )
                        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
                else:
                    counts = np.asarray(model.user_counts_, dtype=np.int64)
                    means = np.full(len(ids), np.nan)
                import pyarrow as pa

                text = (
                    pa.array(ids).cast(pa.large_string())
                    if model.users_.kind == "int"
                    else pa.array(ids.astype(object), type=pa.large_string())
                )
                self._users = {
                    "ids": ids,
                    "int": model.users_.kind == "int",
                    "counts": counts,
                    "means": means,
                    "text": _TextColumn(text),
                    "seen": seen,
                }
            return self._users

    def user_summary(self, row: int) -> dict[str, Any]:
        users = self.users()
        value = users["ids"][row]
        mean = float(users["means"][row])
        return {
            "id": int(value) if users["int"] else str(value),
            "n_ratings": int(users["counts"][row]),
            "mean_rating": None if math.isnan(mean) else mean,
        }

    def user_row(self, user: str) -> int:
        users = self.users()
        user_id = parse_id(user, self.model.users_.kind)
        if users["int"] and not isinstance(user_id, int):
            raise _HTTPError(
                404,
                f"user {user!r} is not an ID of this model (IDs are integers within int64); "
                "check the ID",
            )
        try:
            return int(self.model.users_.index(user_id))
        except UnknownIDError:
            raise _HTTPError(
                404,
                f"user {user!r} is not a user of this model ({len(users['ids'])} users); "
                "check the ID, or search the users",
            ) from None

    def find_users(self, q: str, n: int) -> list[int]:
        users = self.users()
        counts = users["counts"]
        text = q.strip().lower()
        if not text:
            rows = np.arange(counts.size)
            return rows[np.lexsort((rows, -counts))][:n].tolist()
        exact: list[int] = []
        with contextlib.suppress(UnknownIDError, _HTTPError):
            exact = [self.user_row(q.strip())]
        scores = users["text"].scores(text, exact=1.0, start=0.7, contain=0.5)
        rows = np.flatnonzero(scores > 0)
        group = np.where(scores[rows] >= 0.7, 0, 1)  # starting with q, then containing it
        order = np.lexsort((rows, -counts[rows], group))
        found = [r for r in rows[order].tolist() if r not in exact]
        return (exact + found)[:n]

    def history(self, user: str, n: int) -> dict[str, Any]:
        row = self.user_row(user)
        users = self.users()
        seen = users["seen"]
        if seen is None:
            raise _HTTPError(
                404,
                f"this model was saved without its training {self.what_seen}, so it has no "
                "histories; refit and save it again",
            )
        items, ratings = seen.row(row)
        items = np.asarray(items, dtype=np.int64)
        ratings = np.asarray(ratings, dtype=np.float64)
        popularity = np.zeros(items.size) if self.counts is None else self.counts[items]
        order = np.lexsort((items, -popularity, -ratings))[:n]
        summary = self.user_summary(row)
        return {
            "user": summary["id"],
            "n_ratings": summary["n_ratings"],
            "mean_rating": summary["mean_rating"],
            "items": [
                {**self.item(i), "rating": float(r)}
                for i, r in zip(items[order].tolist(), ratings[order].tolist(), strict=True)
            ],
        }

    # --------------------------------------------------------------- map
    def _use_stored_layout(self, stored: Any) -> None:
        try:
            method = str(stored["method"])
            xy = np.asarray(stored["xy"], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            _log.warning("the stored item layout is not a {'method', 'xy'} dict; ignored")
            return
        if xy.shape != (self.n, 2) or not np.isfinite(xy).all():
            _log.warning(
                "the stored item layout has shape %s for %d items (or holds NaN); ignored",
                xy.shape,
                self.n,
            )
            return
        layout = _Layout(method)
        layout.rows = np.arange(self.n, dtype=np.int64)
        layout.xy = _scaled(xy)
        layout.n_planned = self.n
        layout.ready.set()
        self._layouts[method] = layout
        self.has_layout = True

    def map_methods(self) -> list[str]:
        methods = _map_methods()
        return methods + [m for m in self._layouts if m not in methods]

    def check_method(self, method: str | None) -> str:
        method = self.map_method if method is None else method
        if method not in self.map_methods():
            raise _HTTPError(
                422,
                f"method={method!r}: the map method umap needs umap-learn "
                "(pip install umap-learn); expected one of " + ", ".join(self.map_methods()),
            )
        return method

    def start_map(self, method: str | None = None) -> _Layout:
        """Start computing a layout in a background thread (once per method; later calls
        return it). The projection runs on one thread, so requests keep the other cores."""
        method = self.map_method if method is None else method
        with self._layout_lock:
            layout = self._layouts.get(method)
            if layout is None:
                layout = _Layout(method)
                layout.started = time.monotonic()
                layout.n_planned = int(self._map_rows().size)
                layout.thread = threading.Thread(
                    target=self._map_worker, args=(layout,), name="embedlab-map", daemon=True
                )
                self._layouts[method] = layout
                layout.thread.start()
            return layout

    def _map_worker(self, layout: _Layout) -> None:
        try:
            with _one_openmp_thread():
                rows = self._map_rows()
                xy = _project(self.kv, rows, layout.method, self.random_state)
                layout.rows = rows
                layout.xy = _scaled(xy)
        except Exception as exc:  # logged; /api/map then answers 500 with the reason
            _log.exception("the %s map could not be computed", layout.method)
            layout.error = f"{type(exc).__name__}: {exc}"
        else:
            self.map_computations += 1
        finally:
            layout.ready.set()

    def layout(self, method: str | None = None) -> _Layout | None:
        """A ready layout, or None while it is being computed (this starts it if needed;
        never waits). A failed computation is a 500 with its reason."""
        layout = self.start_map(method)
        if not layout.ready.is_set():
            return None
        if layout.error is not None:
            raise _HTTPError(500, f"the {layout.method} map could not be computed ({layout.error})")
        return layout

    def map(self) -> _Layout | None:
        """The default method's layout (see :meth:`layout`)."""
        return self.layout(None)

    def wait_map(self, timeout: float | None = None, method: str | None = None) -> bool:
        """Wait until a layout is computed (or failed); whether it is done."""
        return self.start_map(method).ready.wait(timeout)

    def map_progress(self, method: str | None = None) -> dict[str, Any]:
        """What ``/api/map`` answers (202) while a layout is being computed."""
        layout = self.start_map(method)
        started = layout.started
        elapsed = 0.0 if started is None else time.monotonic() - started
        return {
            "status": "computing",
            "method": layout.method,
            "n": layout.n_planned,
            "elapsed_s": round(elapsed, 1),
            "progress": None,
        }

    def prominence(self) -> np.ndarray:
        """How prominent each row is on the map: its count, or its vector's norm."""
        if self.counts is not None:
            return np.nan_to_num(self.counts, nan=0.0)
        return self.sq_norms.astype(np.float64)

    def _map_rows(self) -> np.ndarray:
        if self.map_max_points is None or self.n <= self.map_max_points:
            return np.arange(self.n, dtype=np.int64)
        top = np.argsort(-self.prominence(), kind="stable")[: self.map_max_points]
        return np.sort(top).astype(np.int64)

    def shown(self, layout: _Layout, min_count: int | None) -> np.ndarray:
        """Positions in ``layout`` of the points passing ``min_count``."""
        rows, _ = layout.computed()
        allowed = self.allowed(min_count)
        if allowed is None:
            return np.arange(rows.size)
        return np.flatnonzero(allowed[rows])

    def map_doc(self, layout: _Layout, min_count: int | None) -> dict[str, Any]:
        rows, xy = layout.computed()
        limit = self.default_min_count if min_count is None else min_count
        if self.counts is None:
            limit = 0
        shown = self.shown(layout, limit)
        prominent = self.prominence()[rows[shown]]
        k = min(MAX_MAP_LABELS, shown.size)
        if 0 < k < shown.size:
            top = np.argpartition(-prominent, k - 1)[:k]
        else:
            top = np.arange(shown.size)
        top = top[np.lexsort((rows[shown][top], -prominent[top]))]
        labelled = []
        for pos in shown[top].tolist():
            row = int(rows[pos])
            name = self.label(row)
            labelled.append(
                {
                    "row": row,
                    "label": str(self.key(row)) if name is None else name,
                    "x": round(float(xy[pos, 0]), 5),
                    "y": round(float(xy[pos, 1]), 5),
                }
            )
        return {
            "status": "ready",
            "method": layout.method,
            "n_total": int(rows.size),
            "n": int(shown.size),
            "min_count": int(limit),
            "labelled": labelled,
            "points_url": f"/api/map/points?method={layout.method}&min_count={int(limit)}",
        }

    def map_points(self, layout: _Layout, min_count: int | None) -> bytes:
        """uint32 n, float32 x[n], float32 y[n], uint32 row[n], little-endian."""
        rows, layout_xy = layout.computed()
        shown = self.shown(layout, min_count)
        xy = layout_xy[shown]
        return b"".join(
            (
                np.array([shown.size], dtype="<u4").tobytes(),
                np.ascontiguousarray(xy[:, 0], dtype="<f4").tobytes(),
                np.ascontiguousarray(xy[:, 1], dtype="<f4").tobytes(),
                np.ascontiguousarray(rows[shown], dtype="<u4").tobytes(),
            )
        )


def _same_values(series: pd.Series, ids: np.ndarray) -> bool:
    """Whether a metadata column holds the keys themselves."""
    values = series.to_numpy()
    if values.dtype.kind != ids.dtype.kind and not (
        values.dtype.kind in "OUT" and ids.dtype.kind in "OUT"
    ):
        return False
    try:
        return bool(np.array_equal(values, ids))
    except (TypeError, ValueError):
        return False


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )


def _page_wording(message: str) -> str:
    """A library message in the page's words (no Python function names)."""
    return message.replace("use find() to search the labels", "search for it by title")


def _numeric_colours(name: str, values: Any) -> dict[str, Any]:
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    return {
        "column": name,
        "kind": "numeric",
        "min": float(finite.min()) if finite.size else None,
        "max": float(finite.max()) if finite.size else None,
        "values": _b64(np.where(np.isfinite(values), values, np.nan), "<f4"),
    }


def _top_levels(counts: np.ndarray, names: list[str]) -> np.ndarray:
    """Level codes of the :data:`MAX_LEVELS` most frequent levels (ties: by name)."""
    order = sorted(range(len(names)), key=lambda j: (-int(counts[j]), names[j]))
    return np.array([j for j in order if counts[j] > 0][:MAX_LEVELS], dtype=np.int64)


def _categorical_colours(name: str, text: pd.Series) -> dict[str, Any]:
    codes, uniques = pd.factorize(text.to_numpy(dtype=object), use_na_sentinel=True)
    names = [str(u) for u in uniques]
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    top = _top_levels(counts, names)
    lookup = np.full(len(names) + 1, OTHER_CODE, dtype=np.int64)
    lookup[top] = np.arange(top.size)
    out = lookup[np.where(codes >= 0, codes, len(names))]
    return {
        "column": name,
        "kind": "categorical",
        "multi": False,
        "levels": [{"value": names[j], "count": int(counts[j])} for j in top.tolist()],
        "codes": _b64(out, "<u2"),
    }


def _multi_colours(
    name: str, n: int, rows: np.ndarray, codes: np.ndarray, names: list[str]
) -> dict[str, Any]:
    """A multi column's colours: each row's rarest shown level, and a bitmask of its
    shown levels (bit j: level j)."""
    counts = np.bincount(codes, minlength=len(names))
    top = _top_levels(counts, names)
    lookup = np.full(len(names), -1, dtype=np.int64)
    lookup[top] = np.arange(top.size)
    level = lookup[codes]
    keep = level >= 0
    rows, level = rows[keep], level[keep]
    rarest = np.full(n, -1, dtype=np.int64)
    np.maximum.at(rarest, rows, level)  # levels go most frequent first: the largest is rarest
    members = np.zeros(n, dtype=np.uint32)
    np.bitwise_or.at(members, rows, (np.uint32(1) << level.astype(np.uint32)))
    return {
        "column": name,
        "kind": "categorical",
        "multi": True,
        "levels": [{"value": names[j], "count": int(counts[j])} for j in top.tolist()],
        "codes": _b64(np.where(rarest >= 0, rarest, OTHER_CODE), "<u2"),
        "members": _b64(members, "<u4"),
    }


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
    """2-D coordinates of ``rows`` of ``kv`` by t-SNE, UMAP or PCA (cosine: unit rows)."""
    try:
        from embedlab.viz import project
    except ImportError:  # the viz package is not there (or lacks project): do it here
        project = None
    if project is not None and len(rows) >= 3:
        every = len(rows) == len(kv)
        subset = None if every else kv.keys.ids()[rows].tolist()
        # one thread: a server shares its cores with requests (and openTSNE's threads
        # slow down sharply on a busy 2-core machine)
        frame = project(kv, method=method, subset=subset, random_state=random_state, n_threads=1)
        xy = frame[["x", "y"]].to_numpy(dtype=np.float64)
        if every:  # one row per key, in key order
            return xy
        order = {k: i for i, k in enumerate(frame["key"].tolist())}
        return xy[[order[k] for k in subset]]
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
        raise _HTTPError(404, _page_wording(str(exc))) from None
    except (EmbedlabError, ValueError) as exc:
        raise _HTTPError(422, _page_wording(str(exc))) from None


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

    Each worker process loads the source itself, from the settings in
    ``$EMBEDLAB_SERVE_CONFIG`` (``create_app``'s arguments, ``n_threads``, and for a
    vectors file ``vectors``: ``open_vectors``' ``path``, ``metadata`` and
    ``key_column``; for an encoder bundle ``encoder``: its ``path`` and the ``column``
    whose vectors to explore), and limits its threads.

    Raises:
        RuntimeError: If the variable is not set (this is not for direct use).
    """
    raw = os.environ.get(SERVE_CONFIG_ENV)
    if not raw:
        raise RuntimeError(f"{SERVE_CONFIG_ENV} is not set; start workers with embedlab serve")
    config = json.loads(raw)
    limit_threads(int(config.pop("n_threads", 1)))
    source = config.pop("source")
    vectors = config.pop("vectors", None)
    encoder = config.pop("encoder", None)
    if encoder is not None:
        from embedlab.features import EmbeddingEncoder

        source = EmbeddingEncoder.load(encoder["path"]).column_embeddings(encoder["column"])
    elif vectors is not None:
        from embedlab.embeddings import open_vectors

        source = open_vectors(
            vectors["path"],
            metadata=vectors.get("metadata"),
            key_column=vectors.get("key_column"),
        )
    return create_app(source, **config)


def _open_source(source: Any) -> tuple[Any, KeyedEmbeddings, str]:
    """``(model or None, item embeddings, source name)`` of what ``create_app`` got."""
    if isinstance(source, KeyedEmbeddings):
        return None, source, str(getattr(source, "source_", None) or "embeddings")
    if hasattr(source, "item_embeddings"):
        return source, source.item_embeddings(), type(source).__name__
    path = Path(source)
    if path.is_file():  # a vectors file (word2vec, Projector TSV, Parquet, .npz)
        import embedlab.embeddings as embeddings

        open_vectors = getattr(embeddings, "open_vectors", None)
        if open_vectors is not None:
            return None, open_vectors(path), path.name
    from embedlab.models import load

    model = load(source)
    return model, model.item_embeddings(), path.name


def create_app(
    source: Any,
    *,
    cors_origins: Sequence[str] | None = None,
    map_method: str | None = None,
    map_max_points: int | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    cache_size: int = 4096,
    random_state: int | None = 0,
    source_name: str | None = None,
) -> FastAPI:
    """Build the web explorer for one model, or for one set of vectors.

    Args:
        source: A fitted model, the path of a model bundle (``embedlab train --out``),
            or a :class:`~embedlab.KeyedEmbeddings` (vectors from anywhere: "vectors
            mode", no users and no recommendations; item counts from a numeric
            metadata column ``n_ratings`` or ``count`` when there is one).
        cors_origins: Origins allowed to call the API from other pages (CORS); None or
            empty: CORS stays off (same-origin only).
        map_method: ``"tsne"``, ``"pca"`` or ``"umap"`` (with umap-learn): the map's
            default layout, computed once in a background thread started here (one
            projection thread) and kept in memory; until it is ready ``/api/map``
            answers 202 ``{"status": "computing", ...}``. Other methods are computed
            when first asked for. None: the layout stored in the bundle
            (``item_layout_``) when there is one (ready at once), else ``"tsne"`` up
            to :data:`embedlab.viz.TSNE_DEFAULT_MAX` items and ``"pca"`` above (t-SNE of a million
            points takes the better part of an hour on two cores; PCA seconds).
        map_max_points: Lay out only this many items (the most rated; without counts,
            the longest vectors); None (default): every item.
        max_body_bytes: Larger request bodies are refused with 413.
        cache_size: How many neighbour answers to keep (LRU); 0 turns the cache off.
        random_state: Seed of the map's projection.
        source_name: What ``/api/info`` calls the source (default: the bundle's or
            file's name; the model's class; ``"embeddings"``).

    The neighbours (and analogies) and the map leave out items with fewer ratings than
    ``min_count``; a request without one gets the default, :data:`DEFAULT_MIN_COUNT`
    (10) capped to the median item's count, shown as ``default_min_count`` in
    ``/api/info`` (0 without counts). ``min_count=0`` turns the filter off.

    Returns:
        The FastAPI app; serve it with uvicorn (``embedlab serve DIR``).

    Raises:
        BundleError: If ``source`` is a path that does not hold a valid bundle.
        ValueError: For a bad ``map_method`` (``"umap"`` without umap-learn),
            ``map_max_points`` or ``max_body_bytes``.
    """
    if map_method is not None and map_method not in ("tsne", "pca", "umap"):
        raise ValueError(f"map_method={map_method!r}: expected 'tsne', 'pca' or 'umap'")
    if map_method == "umap" and not umap_available():
        raise ValueError(
            "map_method='umap' needs umap-learn, which is not installed; "
            "pip install umap-learn, or pass map_method='tsne' or 'pca'"
        )
    if map_max_points is not None:
        map_max_points = Int(3)("map_max_points", map_max_points)
    if int(max_body_bytes) < 1024:
        raise ValueError(f"max_body_bytes={max_body_bytes!r}: expected at least 1024")
    from embedlab._version import __version__

    model, kv, name = _open_source(source)
    stored = getattr(model if model is not None else kv, "item_layout_", None)
    stored_method = stored.get("method") if isinstance(stored, dict) else None
    explorer = _Explorer(
        model,
        kv,
        source_name=source_name or name,
        map_method=map_method
        or (str(stored_method) if stored_method else _default_method(len(kv))),
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
        """The source: class, sizes, rating scale, genres, columns, map methods, limits.

        ``item_noun`` is what the page calls an item: ``"movie"`` when the item
        metadata looks like MovieLens (``title`` and ``genres`` columns), else ``"item"``.
        ``feedback`` is ``"implicit"`` for a model of clicks, plays or purchases: its
        scores are preference scores (``score_label``), it has no rating scale, its
        counts are interactions, and a visitor's "ratings" are weights (1 per click).
        """
        scale = None if model is None else getattr(model, "rating_scale_", None)
        if explorer.implicit:
            scale = None
        return {
            "model_class": "KeyedEmbeddings" if model is None else type(model).__name__,
            "embedlab_version": __version__,
            "has_model": model is not None,
            "source": explorer.source_name,
            "n_users": 0 if model is None else len(model.users_),
            "n_items": explorer.n,
            "embedding_dim": kv.vector_size,
            "has_titles": kv.labels is not None,
            "has_counts": explorer.has_counts,
            "item_noun": explorer.item_noun,
            "rating_scale": None if scale is None else [float(s) for s in scale],
            "feedback": explorer.feedback,
            "score_label": None if explorer.feedback is None else SCORE_LABELS[explorer.feedback],
            "genres": explorer.genres,
            "metrics": ["cosine", "euclidean"],
            "map_method": explorer.map_method,
            "map_methods": explorer.map_methods(),
            "has_layout": explorer.has_layout,
            "columns": explorer.colour_columns(),
            "searchable": explorer.searchable(),
            "default_colour": explorer.default_colour(),
            "default_min_count": explorer.default_min_count,
            "limits": {
                "max_k": MAX_K,
                "max_query_chars": MAX_QUERY_CHARS,
                "max_ratings": MAX_RATINGS,
                "max_analogy_terms": MAX_ANALOGY_TERMS,
                "max_body_bytes": int(max_body_bytes),
                "max_history": MAX_HISTORY,
            },
        }

    @app.get("/api/search", response_model=SearchResponse, tags=["items"])
    def search(
        q: Annotated[
            str,
            Query(min_length=1, max_length=MAX_QUERY_CHARS, description="Text or a pattern."),
        ],
        n: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
        column: Annotated[
            str | None,
            Query(
                max_length=MAX_QUERY_CHARS,
                description="label, key or a metadata column (/api/info's searchable).",
            ),
        ] = None,
        mode: Annotated[Literal["text", "regex"], Query(description="text or regex")] = "text",
    ) -> Response:
        """Items matching ``q``; ``n_matches`` counts them all, ``items`` are the best ``n``.

        ``mode=text``: without ``column``, titles (case, accents, punctuation and year
        forgiven) and IDs: the exact ID first, then IDs starting with or containing
        ``q`` (case ignored); with ``column``, the values containing ``q`` (case
        ignored). ``mode=regex``: a regular expression (``search``, case ignored) on
        ``column`` (default: the labels, or the IDs without labels); a bad pattern or
        one that runs longer than 0.25 s is a 422. No match: ``items`` is empty.
        """
        if column is not None and column not in explorer.searchable():
            raise _HTTPError(
                422,
                f"column={column!r} is not searchable; expected one of "
                f"{explorer.searchable()} (see /api/info's searchable)",
            )
        if mode == "regex":
            target = column or ("label" if kv.labels is not None else "key")
            rows, scores, total = explorer.search_regex(q, target, n)
        elif column is None:
            target = "label" if kv.labels is not None else "key"
            rows, scores, total = explorer.search_text(q, n)
        else:
            target = column
            rows, scores, total = explorer.search_column(q, column, n)
        hits = [{**explorer.item(r), "score": s} for r, s in zip(rows, scores, strict=True)]
        doc = {"query": q, "mode": mode, "column": target, "n_matches": total, "items": hits}
        return _json(doc)

    @app.get(
        "/api/rows/{row}",
        response_model=Item,
        responses={404: {"model": NotFound, "description": "No item has this row."}},
        tags=["items"],
    )
    async def item_by_row(
        row: Annotated[
            int,
            PathParam(ge=0, le=2**31 - 1, description="A row of the embeddings (a map point)."),
        ],
    ) -> Response:
        """The item of one row: what the map's binary points refer to (for a tooltip or a
        click on a point)."""
        if row >= len(explorer.kv):
            raise _HTTPError(
                404, f"row {row} is past the last item (rows 0 to {len(explorer.kv) - 1})"
            )
        return _json(explorer.item(row))

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
        metric: Annotated[
            Literal["cosine", "euclidean"], Query(description="How neighbours are ranked.")
        ] = "cosine",
    ) -> Response:
        """The ``k`` items nearest to ``item`` (itself left out), by cosine similarity
        (highest first) or euclidean distance of the raw vectors (smallest first); each
        neighbour carries both numbers.

        Items with fewer than ``min_count`` ratings are left out; without ``min_count``,
        ``default_min_count`` of /api/info (10, capped to the median item's count).
        """
        row = explorer.row(item)
        body = explorer.neighbours([row], [], k, min_count, metric)
        return Response(body, media_type="application/json")

    @app.post(
        "/api/analogy", response_model=NeighboursResponse, responses=_NOT_FOUND, tags=["items"]
    )
    def analogy(request: AnalogyRequest) -> Response:
        """Nearest items to ``sum(positive) - sum(negative)`` of unit vectors (3CosAdd);
        ``distance`` is to ``sum(positive) - sum(negative)`` of the raw vectors."""
        pos = [explorer.row(q) for q in request.positive]
        neg = [explorer.row(q) for q in request.negative]
        if set(pos) & set(neg):
            raise _HTTPError(422, "an item is both in positive and in negative")
        body = explorer.neighbours(pos, neg, request.k, request.min_count, "cosine")
        return Response(body, media_type="application/json")

    # ------------------------------------------------------------------ users
    def _model_or_404(detail: str) -> Any:
        if model is None:
            raise _HTTPError(404, detail)
        return model

    def _recommendations(frame: Any, user: Any) -> dict[str, Any]:
        rows = model.items_.indices(frame["item"].tolist()).tolist()
        because = frame["because"].tolist() if "because" in frame.columns else [None] * len(rows)
        # implicit feedback: preference scores, which no scale bounds
        scale = None if explorer.implicit else getattr(model, "rating_scale_", None)
        scores = np.asarray(frame["score"].to_numpy(), dtype=np.float64)
        if scale is not None:
            scores = np.clip(scores, float(scale[0]), float(scale[1]))
        items = [
            {
                **explorer.item(r),
                "rank": int(rank),
                "score": float(score),
                "because": None if why is None else [str(w) for w in why],
            }
            for r, rank, score, why in zip(
                rows, frame["rank"].tolist(), scores.tolist(), because, strict=True
            )
        ]
        return {
            "user": user,
            "score_label": SCORE_LABELS[explorer.feedback or "explicit"],
            "rating_scale": None if scale is None else [float(s) for s in scale],
            "items": items,
        }

    @app.get("/api/users", response_model=UsersResponse, responses=_NOT_FOUND, tags=["users"])
    def users(
        q: Annotated[str, Query(max_length=MAX_QUERY_CHARS, description="Part of an ID.")] = "",
        n: Annotated[int, Query(ge=1, le=MAX_K)] = 20,
    ) -> dict[str, Any]:
        """Users of the training data: the exact ID first, then IDs starting with or
        containing ``q`` (more ratings first); without ``q``, the most active users."""
        _model_or_404(_NO_MODEL_USERS)
        return {"users": [explorer.user_summary(r) for r in explorer.find_users(q, n)]}

    @app.get(
        "/api/users/{user}/history",
        response_model=HistoryResponse,
        responses=_NOT_FOUND,
        tags=["users"],
    )
    def user_history(
        user: Annotated[str, PathParam(max_length=MAX_QUERY_CHARS, description="A user ID.")],
        n: Annotated[int, Query(ge=1, le=MAX_HISTORY)] = 50,
    ) -> dict[str, Any]:
        """A training user's ratings, best rated first (ties: more rated items first).

        For implicit feedback, the user's interactions: ``rating`` is each one's weight
        (1 for a plain click; a count or play time), heaviest first, and
        ``mean_rating`` is None.
        """
        _model_or_404(_NO_MODEL_USERS)
        return explorer.history(user, n)

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
        """Unseen items with the highest predicted rating for a user of the training data.

        ``explain``: ``because`` names up to 2 of the user's items rated above their mean
        rating that are closest to each pick ([] when none). For implicit feedback: the
        highest preference scores, and ``because`` names up to 2 of the user's items
        contributing most (cosine of the item vectors times the interaction's weight).
        """
        _model_or_404(_NO_MODEL_RECOMMENDATIONS)
        row = explorer.user_row(user)
        user_id = model.users_.id(row)
        with _user_errors():
            frame = model.recommend(user_id, n, min_count=min_count, explain=explain)
        return _recommendations(frame, explorer.user_summary(row)["id"])

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

        For implicit feedback (/api/info's ``feedback``) each pair is an interaction
        and its ``rating`` the interaction's weight (1 for a click; a count or play
        time): >= 0, and at least one > 0. The visitor's vector is the model's own
        exact ALS solve (``ImplicitMatrixFactorization.fold_in``), scores are
        preference scores (no scale), and ``because`` names up to 2 of the visitor's
        items contributing most to each pick (cosine of the item vectors times the
        weight).
        """
        _model_or_404(_NO_MODEL_RECOMMENDATIONS)
        rows = [explorer.row(r.item) for r in request.ratings]
        if len(set(rows)) != len(rows):
            twice = next(r for k, r in enumerate(rows) if r in rows[:k])
            what = "an interaction" if explorer.implicit else "a rating"
            raise _HTTPError(
                422,
                f"ratings: item {explorer.key(twice)!r} is given twice; send one {what} per item",
            )
        weights = [r.rating for r in request.ratings]
        if explorer.implicit:
            bad = next((k for k, w in enumerate(weights) if w < 0), None)
            if bad is not None:
                raise _HTTPError(
                    422,
                    f"ratings[{bad}].rating is {weights[bad]:g} for item "
                    f"{explorer.key(rows[bad])!r}; this model learnt from implicit feedback, "
                    "so a rating is an interaction's weight >= 0; send 1 for a click",
                )
            if max(weights) <= 0:
                raise _HTTPError(
                    422,
                    f"ratings: all {len(weights)} weights are 0, so there is no interaction "
                    "to recommend from; give at least one item a weight > 0 (1 for a click)",
                )
        else:
            scale = getattr(model, "rating_scale_", None)
            if scale is not None:
                lo, hi = float(scale[0]), float(scale[1])
                bad_rating = [w for w in weights if not lo <= w <= hi]
                if bad_rating:
                    raise _HTTPError(
                        422, f"rating {bad_rating[0]:g} is outside the scale {lo:g}..{hi:g}"
                    )
        pairs = [(explorer.key(k), w) for k, w in zip(rows, weights, strict=True)]
        with _user_errors():
            frame = model.recommend_for_ratings(
                pairs, request.n, min_count=request.min_count, explain=request.explain
            )
        return _recommendations(frame, None)

    # ------------------------------------------------------------------ map
    def _computing(method: str | None) -> Response:
        return _json(explorer.map_progress(method), 202, {"Retry-After": "1"})

    @app.get(
        "/api/map",
        response_model=MapResponse,
        responses={**_COMPUTING, 422: {"description": "An unknown method."}},
        tags=["map"],
    )
    async def item_map(method: MapMethodQuery = None, min_count: MinCountQuery = None) -> Any:
        """The layout of one map method: sizes, the labelled points, and ``points_url``.

        Each method is computed once, in a background thread (the default one from
        start-up), and kept in memory; a layout stored in the bundle is ready at once.
        Until it is ready the answer is 202 ``{"status": "computing", ...}`` (with
        ``Retry-After``), at once; ask again. The layout holds every item (``n_total``);
        the points shown are those with at least ``min_count`` ratings (default:
        /api/info's ``default_min_count``), so the filter never moves a point.
        """
        method = explorer.check_method(method)
        layout = explorer.layout(method)
        if layout is None:
            return _computing(method)
        return _json(explorer.map_doc(layout, min_count))

    @app.get(
        "/api/map/points",
        response_class=Response,
        responses={
            200: {
                "description": "uint32 n, float32 x[n], float32 y[n], uint32 row[n] "
                "(little-endian); coordinates in [-1, 1].",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            },
            **_COMPUTING,
            422: {"description": "An unknown method or a bad min_count."},
        },
        tags=["map"],
    )
    async def map_points(method: MapMethodQuery = None, min_count: MinCountQuery = None) -> Any:
        """Every point of a layout passing ``min_count``, as binary (12 bytes a point)."""
        method = explorer.check_method(method)
        layout = explorer.layout(method)
        if layout is None:
            return _computing(method)
        limit = explorer.default_min_count if min_count is None else min_count
        return Response(explorer.map_points(layout, limit), media_type="application/octet-stream")

    @app.get(
        "/api/colours",
        response_model=CategoricalColours | NumericColours,
        responses={422: {"description": "Not a colour column."}},
        tags=["map"],
    )
    def colours(
        column: Annotated[
            str,
            Query(
                min_length=1,
                max_length=MAX_QUERY_CHARS,
                description="A colour column (/api/info's columns).",
            ),
        ],
    ) -> Response:
        """One column's value per item row, for colouring the map (base64 arrays).

        Categorical: the (at most 19) most frequent levels and a uint16 code per row
        (65535: missing or other); for a multi-valued column (genres) the code is the
        row's rarest level, and ``members`` a uint32 bitmask of its levels per row.
        Numeric: float32 per row (NaN: missing), with min and max.
        """
        return Response(explorer.colours(column), media_type="application/json")

    return app
