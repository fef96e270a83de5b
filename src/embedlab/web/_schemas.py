"""Request and response models of the web API (pydantic), with their bounds."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "AnalogyRequest",
    "Health",
    "Item",
    "ItemId",
    "Limits",
    "MapComputing",
    "MapPoint",
    "MapResponse",
    "MinCount",
    "ModelInfo",
    "NeighboursResponse",
    "NotFound",
    "Rating",
    "Recommendation",
    "RecommendationsResponse",
    "SearchHit",
    "SearchResponse",
    "VisitorRequest",
]

#: Longest search text or ID accepted, in characters.
MAX_QUERY_CHARS = 200
#: Most neighbours, search hits or recommendations per request.
MAX_K = 100
#: Most (item, rating) pairs a visitor can post.
MAX_RATINGS = 100
#: Most keys on each side of an analogy.
MAX_ANALOGY_TERMS = 10

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
    Field(ge=0, le=MAX_MIN_COUNT, description="Only items with at least this many ratings."),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Item(BaseModel):
    """An item: its raw ID, title and metadata (None where unknown)."""

    key: int | str
    label: str | None = None
    genres: list[str] = []
    year: int | None = None
    n_ratings: int | None = None


class SearchHit(Item):
    score: float = Field(description="Match quality in (0, 1]; 1 is an exact title with year.")


class SearchResponse(BaseModel):
    query: str
    items: list[SearchHit]


class Neighbour(Item):
    similarity: float = Field(ge=-1.0, le=1.0, description="Cosine similarity.")


class NeighboursResponse(BaseModel):
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
    rating: float = Field(allow_inf_nan=False, ge=-1e6, le=1e6)


class VisitorRequest(_Strict):
    """A visitor's ratings; the visitor is folded into the model (no retraining)."""

    ratings: list[Rating] = Field(min_length=1, max_length=MAX_RATINGS)
    n: int = Field(default=10, ge=1, le=MAX_K)
    min_count: MinCount = None
    explain: bool = True


class Recommendation(Item):
    rank: int
    score: float = Field(description="Predicted rating.")
    because: list[str] | None = Field(
        default=None, description="Up to 3 liked items closest to this one (explain=true)."
    )


class RecommendationsResponse(BaseModel):
    user: int | str | None = Field(description="The user's raw ID; None for a visitor.")
    items: list[Recommendation]


class MapPoint(BaseModel):
    key: int | str
    label: str | None
    x: float
    y: float
    genre: str | None = Field(description="The item's first genre, for colour.")
    n_ratings: int | None = None


class MapResponse(BaseModel):
    method: str
    n: int = Field(description="Points shown (at least min_count ratings).")
    n_total: int = Field(description="Points in the layout (the most rated items).")
    min_count: int = Field(description="The filter applied (the default when not given).")
    points: list[MapPoint]


class MapComputing(BaseModel):
    """The 202 answer of /api/map while the map is being computed."""

    status: Literal["computing"]
    method: str
    n: int = Field(description="Points the layout will have.")
    elapsed_s: float = Field(description="Seconds since the computation started.")


class Limits(BaseModel):
    max_k: int
    max_query_chars: int
    max_ratings: int
    max_analogy_terms: int
    max_body_bytes: int


class ModelInfo(BaseModel):
    model_class: str
    embedlab_version: str
    n_users: int
    n_items: int
    embedding_dim: int
    has_titles: bool
    item_noun: Literal["movie", "item"]
    rating_scale: list[float] | None
    genres: list[str]
    map_method: str
    default_min_count: int = Field(
        description="min_count of the neighbours and the map when a request gives none."
    )
    limits: Limits


class Health(BaseModel):
    status: str


class NotFound(BaseModel):
    detail: str
    suggestions: list[Item] = []
