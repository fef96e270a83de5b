"""Interactions: a ratings table as clean integer arrays plus vocabularies and metadata."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from embedlab.data._metadata import align_metadata, side_metadata
from embedlab.data._validate import (
    DuplicatePolicy,
    check_duplicate_policy,
    check_ratings,
    check_scale,
    check_timestamps,
    resolve_duplicates,
)
from embedlab.data._vocab import Vocabulary
from embedlab.exceptions import DataError
from embedlab.settings import renamed

if TYPE_CHECKING:
    from embedlab.data._split import Split

__all__ = ["DatasetSummary", "Interactions", "align_metadata", "side_metadata"]


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True)
class DatasetSummary:
    """What :meth:`Interactions.describe` reports; ``str()`` renders it as text.

    For implicit data (``feedback="implicit"``) ``n_ratings`` counts interactions
    ((user, item) pairs), ``rating_histogram`` is empty and ``weights`` holds the
    distribution of the weights (min, quartiles, p90, max, mean); ``rating_mean`` and
    ``rating_std`` are those of the weights.
    """

    name: str
    n_ratings: int
    n_users: int
    n_items: int
    density: float
    rating_scale: tuple[float, float] | None
    rating_mean: float
    rating_std: float
    rating_histogram: dict[str, int]
    ratings_per_user: dict[str, float]
    ratings_per_item: dict[str, float]
    time_range: tuple[str, str] | None = None
    n_genres: int | None = None
    item_metadata: list[str] = field(default_factory=list)
    user_metadata: list[str] = field(default_factory=list)
    feedback: str = "explicit"
    weights: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    def __str__(self) -> str:
        def dist(d: dict[str, float]) -> str:
            return ", ".join(f"{k} {v:g}" for k, v in d.items())

        scale = (
            f"{self.rating_scale[0]:g}..{self.rating_scale[1]:g}"
            if self.rating_scale
            else "unknown"
        )
        if self.feedback == "implicit":
            lines = [
                f"{self.name}: {self.n_ratings:,} interactions (implicit), {self.n_users:,} users, "
                f"{self.n_items:,} items (density {self.density:.4%})",
                f"weights: {dist(self.weights)}",
                f"interactions per user: {dist(self.ratings_per_user)}",
                f"interactions per item: {dist(self.ratings_per_item)}",
            ]
        else:
            lines = [
                f"{self.name}: {self.n_ratings:,} ratings, {self.n_users:,} users, "
                f"{self.n_items:,} items (density {self.density:.4%})",
                f"ratings: scale {scale}, mean {self.rating_mean:.3f}, std {self.rating_std:.3f}",
                "histogram: " + ", ".join(f"{k}: {v:,}" for k, v in self.rating_histogram.items()),
                f"ratings per user: {dist(self.ratings_per_user)}",
                f"ratings per item: {dist(self.ratings_per_item)}",
            ]
        if self.time_range:
            lines.append(f"time: {self.time_range[0]} to {self.time_range[1]}")
        if self.item_metadata:
            genres = f" ({self.n_genres} genres)" if self.n_genres else ""
            lines.append(f"item metadata: {', '.join(self.item_metadata)}{genres}")
        if self.user_metadata:
            lines.append(f"user metadata: {', '.join(self.user_metadata)}")
        return "\n".join(lines)


def _distribution(counts: np.ndarray) -> dict[str, float]:
    if counts.size == 0:
        return {}
    q = np.percentile(counts, [25, 50, 75, 90])
    return {
        "min": float(counts.min()),
        "p25": float(q[0]),
        "median": float(q[1]),
        "p75": float(q[2]),
        "p90": float(q[3]),
        "max": float(counts.max()),
        "mean": round(float(counts.mean()), 3),
    }


def _histogram(ratings: np.ndarray) -> dict[str, int]:
    values, counts = np.unique(ratings, return_counts=True)
    if values.size <= 21:
        return {f"{v:g}": int(c) for v, c in zip(values.tolist(), counts.tolist(), strict=True)}
    edges = np.linspace(float(ratings.min()), float(ratings.max()), 11)
    hist, _ = np.histogram(ratings, bins=edges)
    return {
        f"{lo:.3g}–{hi:.3g}": int(c) for lo, hi, c in zip(edges[:-1], edges[1:], hist, strict=True)
    }


class Interactions:
    """A ratings table as integer arrays, with the vocabularies that map them to raw IDs.

    Row ``k`` says that user ``users.id(user_index[k])`` rated item
    ``items.id(item_index[k])`` with ``rating[k]`` (at ``timestamp[k]`` if known).
    Arrays are read-only; subsets and splits share the vocabularies, so index ``j``
    means the same item in a training set and its test set.

    Build one with :meth:`from_ids` (raw IDs, validated) or a loader such as
    :func:`embedlab.load_ratings` or :func:`embedlab.load_movielens`.

    Attributes:
        user_index: ``int32`` user index of each rating.
        item_index: ``int32`` item index of each rating.
        rating: ``float32`` ratings.
        timestamp: ``int64`` Unix seconds, or None.
        users: Vocabulary of user IDs.
        items: Vocabulary of item IDs.
        item_metadata: One row per item index: ``id``, and where known ``title``,
            ``genres`` (list of str), ``year`` and other columns; or None.
        user_metadata: One row per user index (``id``, ``age``, ``gender``, ...), or None.
        rating_scale: ``(low, high)`` of the rating scale, or None if unknown.
        name: A short name used in summaries and messages.
        feedback: ``"explicit"`` (ratings) or ``"implicit"`` (interactions such as
            clicks, plays or purchases: ``rating`` then holds each pair's non-negative
            weight, 1.0 for a plain interaction, and ``rating_scale`` is None).

    The constructor checks shapes and index ranges. It copies the arrays it is given
    unless ``copy=False``, in which case it takes them over (and makes them read-only).
    """

    __slots__ = (
        "feedback",
        "item_index",
        "item_metadata",
        "items",
        "name",
        "rating",
        "rating_scale",
        "timestamp",
        "user_index",
        "user_metadata",
        "users",
    )

    def __init__(
        self,
        user_index: np.ndarray,
        item_index: np.ndarray,
        rating: np.ndarray,
        users: Vocabulary,
        items: Vocabulary,
        *,
        timestamp: np.ndarray | None = None,
        item_metadata: pd.DataFrame | None = None,
        user_metadata: pd.DataFrame | None = None,
        rating_scale: tuple[float, float] | None = None,
        name: str = "ratings",
        copy: bool = True,
        feedback: str = "explicit",
    ) -> None:
        if feedback not in ("explicit", "implicit"):
            raise ValueError(f"feedback must be 'explicit' or 'implicit', got {feedback!r}")
        n = len(rating)
        for label, arr in (("user_index", user_index), ("item_index", item_index)):
            if len(arr) != n:
                raise DataError(
                    f"{label} has {len(arr)} rows but rating has {n}; the arrays must align"
                )
        if timestamp is not None and len(timestamp) != n:
            raise DataError(
                f"timestamp has {len(timestamp)} rows but rating has {n}; the arrays must align"
            )
        ui = np.ascontiguousarray(user_index, dtype=np.int32)
        ii = np.ascontiguousarray(item_index, dtype=np.int32)
        if n and (ui.min() < 0 or ui.max() >= len(users)):
            raise DataError(
                f"user_index must lie in 0..{len(users) - 1} (the user vocabulary), got {ui.min()}..{ui.max()}"
            )
        if n and (ii.min() < 0 or ii.max() >= len(items)):
            raise DataError(
                f"item_index must lie in 0..{len(items) - 1} (the item vocabulary), got {ii.min()}..{ii.max()}"
            )
        for label, meta, vocab in (
            ("item_metadata", item_metadata, items),
            ("user_metadata", user_metadata, users),
        ):
            if meta is not None and len(meta) != len(vocab):
                raise DataError(
                    f"{label} has {len(meta)} rows but the vocabulary has {len(vocab)}; use align_metadata"
                )
        r = np.ascontiguousarray(rating, dtype=np.float32)
        ts = None if timestamp is None else np.ascontiguousarray(timestamp, dtype=np.int64)
        if copy:  # never alias (and freeze) the caller's arrays
            ui = ui.copy() if ui is user_index else ui
            ii = ii.copy() if ii is item_index else ii
            r = r.copy() if r is rating else r
            ts = ts.copy() if ts is not None and ts is timestamp else ts
        self.user_index = _readonly(ui)
        self.item_index = _readonly(ii)
        self.rating = _readonly(r)
        self.timestamp = None if ts is None else _readonly(ts)
        self.users = users
        self.items = items
        self.item_metadata = item_metadata
        self.user_metadata = user_metadata
        self.rating_scale = (
            None if rating_scale is None else (float(rating_scale[0]), float(rating_scale[1]))
        )
        self.name = name
        self.feedback = feedback

    # ------------------------------------------------------------------ building
    @classmethod
    def from_ids(
        cls,
        users: Any,
        items: Any,
        ratings: Any,
        timestamps: Any = None,
        *,
        rating_scale: tuple[float, float] | None = None,
        duplicates: DuplicatePolicy = "warn",
        item_metadata: pd.DataFrame | None = None,
        user_metadata: pd.DataFrame | None = None,
        user_vocab: Vocabulary | None = None,
        item_vocab: Vocabulary | None = None,
        name: str = "ratings",
        source: str = "data",
        columns: tuple[str, str, str, str] = ("user", "item", "rating", "timestamp"),
        row_offset: int = 0,
    ) -> Interactions:
        """Validate raw columns and build an :class:`Interactions`.

        Args:
            users: Raw user ID of each rating (ints or strings).
            items: Raw item ID of each rating.
            ratings: Numeric rating of each row.
            timestamps: Unix seconds, datetimes or date strings, or None.
            rating_scale: ``(low, high)``; ratings outside raise. None infers it
                from the data (min, max).
            duplicates: What to do with repeated (user, item) pairs: ``"warn"``
                (default: keep the last rating and warn with the count), ``"error"``,
                ``"last"``, ``"first"`` or ``"mean"``.
            item_metadata: Table with an ``id`` column (raw item IDs) and any of
                ``title``, ``genres`` (lists), ``year``...; aligned to the vocabulary.
            user_metadata: Same for users.
            user_vocab: Use this vocabulary instead of building one (IDs outside it raise).
            item_vocab: Same for items.
            name: Dataset name for summaries.
            source: The file or argument the data came from, for error messages.
            columns: Column names to cite in error messages.
            row_offset: Added to row numbers in messages (file line numbers).

        Raises:
            DataError: Empty input, misaligned columns, missing IDs, non-numeric,
                NaN or infinite ratings, ratings outside the scale, duplicates when
                ``duplicates="error"``.
            UnknownIDError: If a vocabulary is given and an ID is not in it.
        """
        n = len(ratings)
        if n == 0:
            raise DataError(
                f"{source}: no ratings (empty input); expected at least one (user, item, rating) row"
            )
        for label, col in ((columns[0], users), (columns[1], items)):
            if len(col) != n:
                raise DataError(
                    f"{source}: column {label!r} has {len(col)} rows but {columns[2]!r} has {n}"
                )
        rating = check_ratings(
            ratings,
            source=source,
            column=columns[2],
            rating_scale=rating_scale,
            row_offset=row_offset,
        )
        ts = None
        if timestamps is not None:
            if len(timestamps) != n:
                raise DataError(
                    f"{source}: column {columns[3]!r} has {len(timestamps)} rows but {columns[2]!r} has {n}"
                )
            ts = check_timestamps(
                timestamps, source=source, column=columns[3], row_offset=row_offset
            )
        if user_vocab is None:
            user_vocab, ui = Vocabulary.from_values(users, name="user")
        else:
            ui = user_vocab.indices(users)
        if item_vocab is None:
            item_vocab, ii = Vocabulary.from_values(items, name="item")
        else:
            ii = item_vocab.indices(items)
        return cls._from_indices(
            ui,
            ii,
            rating,
            ts,
            user_vocab,
            item_vocab,
            duplicates=duplicates,
            rating_scale=rating_scale,
            item_metadata=item_metadata,
            user_metadata=user_metadata,
            name=name,
            source=source,
            row_offset=row_offset,
        )

    @classmethod
    def _from_indices(
        cls,
        ui: np.ndarray,
        ii: np.ndarray,
        rating: np.ndarray,
        ts: np.ndarray | None,
        users: Vocabulary,
        items: Vocabulary,
        *,
        duplicates: DuplicatePolicy,
        rating_scale: tuple[float, float] | None,
        item_metadata: pd.DataFrame | None,
        user_metadata: pd.DataFrame | None,
        name: str,
        source: str,
        row_offset: int,
        pairs_increasing: bool = False,
        rating_range: tuple[float, float] | None = None,
    ) -> Interactions:
        """The last steps of :meth:`from_ids`, for columns already validated and encoded.

        Applies the duplicates policy (skipped when the caller knows the pairs strictly
        increase, so none repeats), infers the rating scale (from ``rating_range`` when
        the caller already has it) and takes the arrays over without copying.
        """
        if pairs_increasing:
            check_duplicate_policy(duplicates)
            keep, averaged = None, None
        else:
            keep, averaged = resolve_duplicates(
                ui, ii, len(items), duplicates, rating=rating, source=source, row_offset=row_offset
            )
        if keep is not None:
            rating = rating if averaged is None else averaged
            ui, ii, rating = ui[keep], ii[keep], rating[keep]
            ts = None if ts is None else ts[keep]
            rating_range = None
        if rating_scale is None:
            low, high = (
                rating_range
                if rating_range is not None
                else (float(rating.min()), float(rating.max()))
            )
            rating_scale = (low, high) if low != high else None
        return cls(
            ui,
            ii,
            rating,
            users,
            items,
            timestamp=ts,
            item_metadata=align_metadata(item_metadata, items, what="item"),
            user_metadata=align_metadata(user_metadata, users, what="user"),
            rating_scale=rating_scale,
            name=name,
            copy=False,
        )

    def subset(self, rows: np.ndarray, *, name: str | None = None) -> Interactions:
        """Rows selected by a boolean mask or an index array; shares vocabularies and metadata."""
        rows = np.asarray(rows)
        return Interactions(
            self.user_index[rows],
            self.item_index[rows],
            self.rating[rows],
            self.users,
            self.items,
            timestamp=None if self.timestamp is None else self.timestamp[rows],
            item_metadata=self.item_metadata,
            user_metadata=self.user_metadata,
            rating_scale=self.rating_scale,
            name=name or self.name,
            copy=False,
            feedback=self.feedback,
        )

    def with_item_metadata(self, frame: pd.DataFrame) -> Interactions:
        """A copy with item attributes from a side table attached (the ratings are shared).

        Rows are aligned to the item vocabulary by ID: IDs of the table that the data
        lacks are dropped, items that the table lacks get missing values (no title, no
        genres). Integer and string IDs match each other when the strings are plain
        digits (``"42"`` is ``42``, as everywhere in embedlab; ``"007"`` is ``7`` for
        integer IDs).

        The table's ``label`` column (as :func:`~embedlab.data.read_side_table` makes it)
        becomes the ``title`` column, the one that models use to label items in
        neighbours, recommendations, maps and exports; a ``title`` column the table
        also has is kept as ``title_column``. A ``genres`` column of text is split on
        ``|`` into lists (MovieLens style). Columns already in ``item_metadata`` are
        kept unless the table has a column of the same name, which replaces them.

        Args:
            frame: One row per item: keyed by its index (as ``read_side_table``
                returns it), or by an ``id`` column with a default index.

        Returns:
            A new :class:`Interactions`; this one is unchanged.

        Raises:
            DataError: If an ID is missing, fractional or given twice, or the table has
                an ``id`` column besides its key index.
            TypeError: If ``frame`` is not a DataFrame.

        Example:
            >>> ds = Interactions.from_ids([1, 1, 2], ["a", "b", "a"], [4.0, 3.0, 5.0])
            >>> side = pd.DataFrame({"label": ["Tea", "Wine"], "price": [3.5, 12.0]},
            ...                     index=pd.Index(["a", "z"], name="code"))
            >>> ds.with_item_metadata(side).item_metadata
              id title  price
            0  a   Tea    3.5
            1  b   NaN    NaN
        """
        meta = side_metadata(frame, self.items, self.item_metadata, what="item")
        return self._replace(item_metadata=meta)

    def with_user_metadata(self, frame: pd.DataFrame) -> Interactions:
        """A copy with user attributes from a side table attached (the ratings are shared).

        The same rules as :meth:`with_item_metadata`, for the user vocabulary.

        Args:
            frame: One row per user, keyed by its index or by an ``id`` column.

        Returns:
            A new :class:`Interactions`; this one is unchanged.

        Raises:
            DataError: If an ID is missing, fractional or given twice, or the table has
                an ``id`` column besides its key index.
            TypeError: If ``frame`` is not a DataFrame.
        """
        meta = side_metadata(frame, self.users, self.user_metadata, what="user")
        return self._replace(user_metadata=meta)

    def _replace(self, **changes: Any) -> Interactions:
        """A shallow copy with some attributes replaced (arrays are read-only, so shared)."""
        out = object.__new__(Interactions)
        for slot in Interactions.__slots__:
            setattr(out, slot, changes.get(slot, getattr(self, slot)))
        return out

    def with_rating_scale(self, rating_scale: tuple[float, float]) -> Interactions:
        """A copy that declares ``rating_scale``; raises if a rating lies outside it."""
        check_scale(self.rating, rating_scale, source=self.name)
        out = self.subset(np.arange(len(self)))
        out.rating_scale = (float(rating_scale[0]), float(rating_scale[1]))
        return out

    def to_implicit(self, threshold: float) -> Interactions:
        """Implicit positives from explicit ratings: the rows rated ``>= threshold``, weight 1.

        For top-N evaluation on rating data ("positive = rating >= 4"). The kept rows
        keep their order and timestamps; the vocabularies and metadata are shared, so
        an index means the same user or item as in this dataset (users or items left
        with no positive stay in the vocabularies, with no rows). On implicit data
        the same rule applies to the weights.

        Args:
            threshold: The lowest rating (or weight) that counts as a positive.

        Returns:
            A new :class:`Interactions` with ``feedback="implicit"``, every weight 1.0
            and ``rating_scale`` None; this one is unchanged.

        Raises:
            TypeError: If ``threshold`` is not a number.
            ValueError: If ``threshold`` is NaN or infinite.
            DataError: If no row reaches ``threshold``.

        Example:
            >>> ds = Interactions.from_ids([1, 1, 2], ["a", "b", "a"], [5.0, 2.0, 4.0])
            >>> pos = ds.to_implicit(threshold=4)
            >>> pos.feedback, len(pos), pos.rating.tolist(), pos.n_items
            ('implicit', 2, [1.0, 1.0], 2)
        """
        if isinstance(threshold, (bool, np.bool_)) or not isinstance(
            threshold, (int, float, np.integer, np.floating)
        ):
            raise TypeError(
                f"threshold={threshold!r}: expected a number (the lowest rating that counts "
                "as a positive, e.g. 4)"
            )
        if not np.isfinite(float(threshold)):
            raise ValueError(f"threshold={threshold!r}: expected a finite rating, e.g. 4")
        keep = self.rating >= float(threshold)
        if not keep.any():
            what = "weight" if self.feedback == "implicit" else "rating"
            span = (
                f"{float(self.rating.min()):g}..{float(self.rating.max()):g}"
                if len(self)
                else "none: the dataset is empty"
            )
            raise DataError(
                f"to_implicit(threshold={threshold!r}): no {what} of {self.name!r} reaches "
                f"the threshold ({what}s span {span}); pass a lower threshold"
            )
        rows = np.flatnonzero(keep)
        return Interactions(
            self.user_index[rows],
            self.item_index[rows],
            np.ones(rows.size, dtype=np.float32),
            self.users,
            self.items,
            timestamp=None if self.timestamp is None else self.timestamp[rows],
            item_metadata=self.item_metadata,
            user_metadata=self.user_metadata,
            rating_scale=None,
            name=self.name,
            copy=False,
            feedback="implicit",
        )

    # ------------------------------------------------------------------ sizes
    def __len__(self) -> int:
        return int(self.rating.size)

    @property
    def n_users(self) -> int:
        """Number of users in the vocabulary (including users with no rating in this subset)."""
        return len(self.users)

    @property
    def n_items(self) -> int:
        """Number of items in the vocabulary."""
        return len(self.items)

    @property
    def density(self) -> float:
        """Share of the user × item matrix that holds a rating."""
        cells = self.n_users * self.n_items
        return len(self) / cells if cells else 0.0

    @property
    def global_mean(self) -> float:
        """Mean rating."""
        return float(self.rating.mean(dtype=np.float64)) if len(self) else float("nan")

    def user_counts(self) -> np.ndarray:
        """Ratings per user index (length ``n_users``)."""
        return np.bincount(self.user_index, minlength=self.n_users)

    def item_counts(self) -> np.ndarray:
        """Ratings per item index (length ``n_items``)."""
        return np.bincount(self.item_index, minlength=self.n_items)

    @property
    def genres(self) -> list[str]:
        """Sorted genre names found in the item metadata (empty if none)."""
        if self.item_metadata is None or "genres" not in self.item_metadata.columns:
            return []
        names: set[str] = set()
        for g in self.item_metadata["genres"]:
            names.update(g)
        return sorted(names)

    def __repr__(self) -> str:
        return (
            f"Interactions(name={self.name!r}, {len(self):,} "
            f"{'interactions' if self.feedback == 'implicit' else 'ratings'}, {self.n_users:,} users, "
            f"{self.n_items:,} items{', timestamps' if self.timestamp is not None else ''}"
            f"{', implicit' if self.feedback == 'implicit' else ''})"
        )

    # ------------------------------------------------------------------ views
    def to_pandas(self) -> pd.DataFrame:
        """The ratings with raw IDs: columns ``user``, ``item``, ``rating`` (and ``timestamp``)."""
        frame = pd.DataFrame(
            {
                "user": self.users.ids()[self.user_index],
                "item": self.items.ids()[self.item_index],
                "rating": self.rating,
            }
        )
        if self.timestamp is not None:
            frame["timestamp"] = self.timestamp
        return frame

    def fingerprint(self) -> str:
        """A sha256 of the ratings and both vocabularies: the same data gives the same string."""
        h = hashlib.sha256()
        for arr in (self.user_index, self.item_index, self.rating):
            h.update(arr.tobytes())
        if self.timestamp is not None:
            h.update(self.timestamp.tobytes())
        for vocab in (self.users, self.items):
            h.update(vocab.kind.encode())
            ids = vocab.ids()
            if isinstance(ids, np.ndarray) and ids.dtype.kind in "iu":
                h.update(ids.astype(np.int64, copy=False).tobytes())
            else:
                h.update("\x1f".join(map(str, ids.tolist())).encode())
        return h.hexdigest()

    def describe(self) -> DatasetSummary:
        """Counts, density, rating histogram and the distribution of ratings per user and item.

        For implicit data: the distribution of the weights instead of a histogram.
        """
        implicit = self.feedback == "implicit"
        time_range = None
        if self.timestamp is not None and len(self):
            lo, hi = (
                pd.Timestamp(int(v), unit="s") for v in (self.timestamp.min(), self.timestamp.max())
            )
            time_range = (lo.isoformat(), hi.isoformat())
        return DatasetSummary(
            name=self.name,
            n_ratings=len(self),
            n_users=self.n_users,
            n_items=self.n_items,
            density=self.density,
            rating_scale=self.rating_scale,
            rating_mean=self.global_mean,
            rating_std=float(self.rating.std(dtype=np.float64)) if len(self) else float("nan"),
            rating_histogram=_histogram(self.rating) if len(self) and not implicit else {},
            ratings_per_user=_distribution(self.user_counts()),
            ratings_per_item=_distribution(self.item_counts()),
            time_range=time_range,
            n_genres=len(self.genres) or None,
            item_metadata=[c for c in self.item_metadata.columns if c != "id"]
            if self.item_metadata is not None
            else [],
            user_metadata=[c for c in self.user_metadata.columns if c != "id"]
            if self.user_metadata is not None
            else [],
            feedback=self.feedback,
            weights=_distribution(self.rating) if implicit else {},
        )

    # ------------------------------------------------------------------ splits
    @renamed(seed="random_state")
    def split(self, method: str = "random", **options: Any) -> Split:
        """Split into train and test sets that share this dataset's vocabularies.

        ``method`` is ``"random"``, ``"user"`` (per-user holdout), ``"temporal"``
        (global time cutoff); see :func:`embedlab.data.split` for the options
        (``random_state``, ``test_size``...). The result unpacks as
        ``train, test = ds.split(...)``.
        """
        from embedlab.data._split import split

        return split(self, method, **options)

    @renamed(seed="random_state")
    def folds(self, method: str = "kfold", **options: Any) -> list[Split]:
        """K folds (``"kfold"``) or the predefined ML-100K folds (``"ml-100k-u"``, ``"ml-100k-a"``...).

        See :func:`embedlab.data.folds`.
        """
        from embedlab.data._split import folds

        return folds(self, method, **options)
