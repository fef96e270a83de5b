"""Request and response models of the web API (pydantic), with their bounds.

The shapes are those of the explorer's API v2 (``docs``: the contract between the
server and the page): every endpoint that returns items uses :class:`Item`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "AnalogyRequest",
    "CategoricalColours",
    "ColumnInfo",
    "Health",
    "HistoryItem",
    "HistoryResponse",
    "Item",
    "ItemId",
    "Level",
    "Limits",
    "MapComputing",
    "MapLabel",
    "MapResponse",
    "MinCount",
    "ModelInfo",
    "NeighboursResponse",
    "NotFound",
    "NumericColours",
    "Rating",
    "Recommendation",
    "RecommendationsResponse",
    "SearchHit",
    "SearchResponse",
    "UserSummary",
    "UsersResponse",
    "VisitorRequest",
]

#: Longest search text or ID accepted, in characters.
MAX_QUERY_CHARS = 200
#: Most neighbours, search hits, users or recommendations per request.
MAX_K = 100
#: Most rated items of a user's history per request.
MAX_HISTORY = 1000
#: Most (item, rating) pairs a visitor can post.
MAX_RATINGS = 100
#: Most keys on each side of an analogy.
MAX_ANALOGY_TERMS = 10
#: Most points labelled on the map.
MAX_MAP_LABELS = 40

#: Largest ``min_count`` accepted: 2**53, the largest integer a float holds exactly
#: (no item has that many ratings, so it already filters out every item).
MAX_MIN_COUNT = 2**53
#: Integer IDs are int64; a larger JSON number is refused (a string ID goes as a string).
INT64_MIN = int(np.iinfo(np.int64).min)
INT64_MAX = int(np.iinfo(np.int64).max)

#: A raw item ID (int or str, as the model's keys are) or a title.
ItemId = (
    Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
    | Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUERY_CHARS)]
)
#: An optional minimum number of ratings.
MinCount = Annotated[
    int | None,
    Field(
        ge=0,
        le=MAX_MIN_COUNT,
        description="Only items with at least this many ratings (interactions, for "
        "implicit feedback).",
    ),
]
#: A metadata value shown with an item.
MetaValue = str | int | float | bool | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Item(BaseModel):
    """An item: its row, raw ID, label and metadata (None where unknown)."""

    row: int = Field(ge=0, description="The item's row in the embeddings (the map's point id).")
    key: int | str
    label: str | None = None
    genres: list[str] = []
    year: int | None = None
    n_ratings: int | None = None
    meta: dict[str, MetaValue] = Field(
        default={}, description="The other metadata columns (may be empty)."
    )


class SearchHit(Item):
    score: float = Field(description="Match quality in (0, 1]; 1 is an exact match.")


class SearchResponse(BaseModel):
    query: str
    mode: Literal["text", "regex"]
    column: str = Field(description="The column searched.")
    n_matches: int = Field(ge=0, description="How many items match in all.")
    items: list[SearchHit]


class Neighbour(Item):
    similarity: float = Field(ge=-1.0, le=1.0, description="Cosine similarity.")
    distance: float = Field(ge=0.0, description="Euclidean distance of the raw vectors.")


class NeighboursResponse(BaseModel):
    metric: Literal["cosine", "euclidean"]
    query: list[Item] = Field(description="The resolved query items (one for neighbours).")
    negative: list[Item] = []
    neighbours: list[Neighbour]


class AnalogyRequest(_Strict):
    """``positive=[b, c], negative=[a]``: "a is to b as c is to ?" (3CosAdd)."""

    positive: list[ItemId] = Field(min_length=1, max_length=MAX_ANALOGY_TERMS)
    negative: list[ItemId] = Field(default=[], max_length=MAX_ANALOGY_TERMS)
    k: int = Field(default=10, ge=1, le=MAX_K)
    min_count: MinCount = None


class Rating(_Strict):
    item: ItemId
    rating: float = Field(
        allow_inf_nan=False,
        ge=-1e6,
        le=1e6,
        description="A rating within the model's scale; for an implicit-feedback model "
        "(/api/info's feedback) the interaction's weight, >= 0 (1 for a click).",
    )


class VisitorRequest(_Strict):
    """A visitor's ratings (for implicit feedback: interactions with their weights); the
    visitor is folded into the model (no retraining)."""

    ratings: list[Rating] = Field(min_length=1, max_length=MAX_RATINGS)
    n: int = Field(default=10, ge=1, le=MAX_K)
    min_count: MinCount = None
    explain: bool = True


class Recommendation(Item):
    rank: int
    score: float = Field(
        description="Predicted rating, within the rating scale; for implicit feedback a "
        "preference score (it ranks items, no scale bounds it): see score_label."
    )
    because: list[str] | None = Field(
        default=None,
        description="Up to 2 rated items, rated above the user's mean, closest to this one "
        "(explain=true); for implicit feedback the user's items contributing most (cosine "
        "times weight); [] when none.",
    )


class RecommendationsResponse(BaseModel):
    user: int | str | None = Field(description="The user's raw ID; None for a visitor.")
    score_label: str = Field(
        description="What score is: 'predicted rating' or, for implicit feedback, "
        "'preference score'."
    )
    rating_scale: list[float] | None = Field(description="None for implicit feedback.")
    items: list[Recommendation]


class UserSummary(BaseModel):
    id: int | str
    n_ratings: int = Field(description="Training ratings (interactions, for implicit feedback).")
    mean_rating: float | None = Field(description="None for implicit feedback.")


class UsersResponse(BaseModel):
    users: list[UserSummary]


class HistoryItem(Item):
    rating: float = Field(description="The rating; for implicit feedback the weight.")


class HistoryResponse(BaseModel):
    user: int | str
    n_ratings: int
    mean_rating: float | None
    items: list[HistoryItem] = Field(description="Best rated first (ties: more ratings first).")


class MapLabel(BaseModel):
    row: int
    label: str
    x: float
    y: float


class MapResponse(BaseModel):
    status: Literal["ready"]
    method: str
    n_total: int = Field(description="Points in the layout (all items).")
    n: int = Field(description="Points shown (at least min_count ratings).")
    min_count: int = Field(description="The filter applied (the default when not given).")
    labelled: list[MapLabel] = Field(description="The most prominent points shown, with labels.")
    points_url: str = Field(description="The points, as binary (see /api/map/points).")


class MapComputing(BaseModel):
    """The 202 answer of /api/map (and /api/map/points) while a layout is computed."""

    status: Literal["computing"]
    method: str
    n: int = Field(description="Points the layout will have.")
    elapsed_s: float = Field(description="Seconds since the computation started.")
    progress: float | None = Field(description="Share done (0..1), or None when unknown.")


class Level(BaseModel):
    value: str
    count: int


class CategoricalColours(BaseModel):
    column: str
    kind: Literal["categorical"]
    multi: bool
    levels: list[Level] = Field(description="Most frequent first, at most 19; the rest: other.")
    codes: str = Field(description="base64 of uint16 little-endian per item row; 65535: other.")
    members: str | None = Field(
        default=None, description="multi columns: base64 of a uint32 bitmask per item row."
    )


class NumericColours(BaseModel):
    column: str
    kind: Literal["numeric"]
    min: float | None
    max: float | None
    values: str = Field(description="base64 of float32 little-endian per item row; NaN: none.")


class ColumnInfo(BaseModel):
    name: str
    kind: Literal["categorical", "numeric"]
    multi: bool
    n_levels: int | None


class Limits(BaseModel):
    max_k: int
    max_query_chars: int
    max_ratings: int
    max_analogy_terms: int
    max_body_bytes: int
    max_history: int


class ModelInfo(BaseModel):
    model_class: str
    embedlab_version: str
    has_model: bool
    source: str
    n_users: int
    n_items: int
    embedding_dim: int
    has_titles: bool
    has_counts: bool
    item_noun: Literal["movie", "item"]
    rating_scale: list[float] | None = Field(description="None for implicit feedback.")
    feedback: Literal["explicit", "implicit"] | None = Field(
        default=None,
        description="What the model learnt from: 'explicit' ratings, or 'implicit' "
        "interactions (clicks, plays, purchases: counts are interactions, a visitor's "
        "ratings are weights, scores are preference scores); None without a model.",
    )
    score_label: str | None = Field(
        default=None, description="What recommendation scores are; None without a model."
    )
    genres: list[str]
    metrics: list[str]
    map_method: str
    map_methods: list[str]
    has_layout: bool
    columns: list[ColumnInfo]
    searchable: list[str]
    default_colour: str | None
    default_min_count: int = Field(
        description="min_count of the neighbours and the map when a request gives none."
    )
    limits: Limits


class Health(BaseModel):
    status: str


class NotFound(BaseModel):
    detail: str
    suggestions: list[Item] = []
