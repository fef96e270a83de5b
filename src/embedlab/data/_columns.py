"""Column references, their resolution to positions, and the columns read from a source.

Column references: ``user``, ``item``, ``rating`` and ``timestamp`` each take a
column *name* (a header field, a DataFrame column) or a 0-based column *position*
(an ``int``). Names are detected from common aliases when not given; a file without
a header line has no names, so its columns default to positions 0, 1, 2 (and 3 for
the timestamp when that column holds integers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from embedlab.exceptions import DataError

if TYPE_CHECKING:
    from embedlab.data._fastcsv import FastColumns

__all__ = ["NO_WEIGHT", "ColumnRef", "RatingColumns", "resolve_columns"]

ColumnRef = str | int
"""A column name, or a 0-based column position."""


class _NoWeight:
    """The ``rating`` reference of implicit data read without a weight column.

    The role then has no column (as ``False`` says), and a column whose name reads
    like explicit ratings (``rating``, ``score``, ``stars``...) raises instead of being
    silently ignored: :func:`~embedlab.data.load_interactions` with ``weight=None``.
    """

    def __repr__(self) -> str:
        return "NO_WEIGHT"


NO_WEIGHT = _NoWeight()

#: Normalised column names that hold explicit ratings (a subset of the rating aliases).
_RATING_LIKE = ("rating", "ratings", "score", "stars", "rate", "userrating", "bookrating")

_ROLES = ("user", "item", "rating", "timestamp")

#: Column-name aliases per role, normalised (lower case, letters and digits only), best first.
_ALIASES: dict[str, tuple[str, ...]] = {
    "user": (
        "userid", "user", "uid", "users", "username", "customerid", "customer", "reviewerid",
        "memberid", "visitorid", "clientid", "raterid",
    ),
    "item": (
        "itemid", "movieid", "item", "movie", "iid", "items", "productid", "product", "bookid",
        "isbn", "asin", "trackid", "songid", "artistid", "animeid", "gameid", "jokeid",
        "businessid", "recipeid", "articleid",
    ),
    "rating": (
        "rating", "ratings", "score", "stars", "rate", "userrating", "bookrating", "preference",
        "overall", "value",
    ),
    "timestamp": (
        "timestamp", "time", "ts", "unixtime", "unixtimestamp", "unixreviewtime", "datetime",
        "date", "ratedat", "createdat", "timestamps",
    ),
}  # fmt: skip

#: How messages spell a few of the aliases.
_EXAMPLES = {
    "user": "userId, user_id, user, uid",
    "item": "movieId, item_id, item, iid",
    "rating": "rating, score, stars",
    "timestamp": "timestamp, time, ts, date",
}


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


@dataclass
class RatingColumns:
    """Columns read from a source, before validation.

    Attributes:
        source: How messages name the source.
        labels: Column label per role, for messages (``None`` role → not present).
        arrays: NumPy array per role (``timestamp`` may be None).
        row_offset: Added to 0-based row numbers to give file line numbers.
        fast: What the compiled parser found (ID ranges, sortedness), when it read the
            text; None otherwise. Its ID arrays are also ``arrays["user"]`` and
            ``arrays["item"]``, and :func:`~embedlab.data._build.build_interactions` turns them into the index
            arrays in place: build once, then use the Interactions.
    """

    source: str
    labels: dict[str, str]
    arrays: dict[str, np.ndarray | None]
    row_offset: int
    fast: FastColumns | None = None


def _check_ref(role: str, ref: Any) -> None:
    if role in ("timestamp", "rating") and ref is False:
        return
    if role == "rating" and ref is NO_WEIGHT:
        return
    if ref is None:
        return
    if isinstance(ref, bool) or not isinstance(ref, (str, int, np.integer)):
        extra = " or False (no timestamp)" if role == "timestamp" else ""
        raise TypeError(
            f"{role}={ref!r}: expected a column name (str), a 0-based column position (int), "
            f"None (detect){extra}"
        )


def _detect_column(names: list[str], role: str, taken: set[int], source: str) -> int | None:
    aliases = _ALIASES[role]
    best: list[tuple[int, int]] = []
    for pos, name in enumerate(names):
        key = _norm(name)
        if pos in taken or key not in aliases:
            continue
        best.append((aliases.index(key), pos))
    if not best:
        return None
    best.sort()
    rank = best[0][0]
    tied = [pos for r, pos in best if r == rank]
    if len(tied) > 1:
        found = [names[p] for p in tied]
        raise DataError(
            f"{source}: several columns could be the {role} column ({found}); "
            f"pass {role}='<column>' to choose one"
        )
    return best[0][1]


def resolve_columns(
    names: list[str],
    refs: Mapping[str, Any],
    *,
    named: bool,
    source: str,
    default_timestamp: int | None = None,
) -> dict[str, int | None]:
    """Map each role to a column position.

    Args:
        names: Column names (header fields), or placeholders when ``named`` is False.
        refs: ``user``/``item``/``rating``/``timestamp`` as given by the caller;
            ``False`` leaves the timestamp (or the rating, for implicit data) out, and
            ``rating=NO_WEIGHT`` also refuses a column named like explicit ratings.
        named: Whether the columns have real names (a header, a DataFrame).
        source: For messages.
        default_timestamp: Timestamp position for an unnamed table (None: no timestamp).

    Returns:
        Role → 0-based position (``timestamp`` may be None).

    Raises:
        DataError: A column that does not exist, cannot be detected, or is used twice.
        TypeError: A reference that is neither a name nor a position.
    """
    chosen: dict[str, int | None] = {}
    taken: set[int] = set()
    shown = names if named else [f"#{i}" for i in range(len(names))]
    positional = {"user": 0, "item": 1, "rating": 2, "timestamp": default_timestamp}
    # Explicit references first, so that detection never steals an explicitly chosen column.
    for role in _ROLES:
        ref = refs.get(role)
        _check_ref(role, ref)
        if ref is None or ref is False or ref is NO_WEIGHT:
            continue
        if isinstance(ref, (int, np.integer)):
            pos = int(ref)
            if not 0 <= pos < len(names):
                raise DataError(
                    f"{source}: {role}={pos} is not a column position; the table has {len(names)} "
                    f"columns (positions 0..{len(names) - 1}): {shown}"
                )
        else:
            if not named:
                raise DataError(
                    f"{source}: {role}={ref!r} names a column, but the table has no header line; "
                    f"pass 0-based positions ({role}=0, ...) or header=True if the first line is a header"
                )
            if ref in names:
                pos = names.index(ref)
            else:
                folded = [
                    i for i, n in enumerate(names) if n.strip().lower() == ref.strip().lower()
                ]
                if len(folded) != 1:
                    raise DataError(
                        f"{source}: no column {ref!r} for {role}; columns present: {names}; "
                        f"pass {role}= one of those names or a 0-based position"
                    )
                pos = folded[0]
        chosen[role] = pos
        taken.add(pos)
    for role in _ROLES:
        ref = refs.get(role)
        if role in chosen:
            continue
        if ref is False or ref is NO_WEIGHT:
            chosen[role] = None
            continue
        if named:
            pos = _detect_column(names, role, taken, source)
        else:
            pos = positional[role]
            if pos is not None and (pos >= len(names) or pos in taken):
                pos = None
        if pos is None and role != "timestamp":
            if named:
                examples = _EXAMPLES[role]
                raise DataError(
                    f"{source}: no {role} column found; columns present: {names}; expected a "
                    f"column named like {examples}, or pass {role}='<column>'"
                )
            raise DataError(
                f"{source}: the table has {len(names)} column(s) and no header; expected at least "
                f"3 (user, item, rating), or pass {role}=<0-based position>"
            )
        chosen[role] = pos
        if pos is not None:
            taken.add(pos)
    positions = [p for p in chosen.values() if p is not None]
    if len(set(positions)) != len(positions):
        dup = next(p for p in positions if positions.count(p) > 1)
        roles = [r for r, p in chosen.items() if p == dup]
        raise DataError(
            f"{source}: column {shown[dup]!r} is used for both {roles[0]} and {roles[1]}"
        )
    if refs.get("rating") is NO_WEIGHT and named:
        used = set(positions)
        rated = [n for i, n in enumerate(names) if i not in used and _norm(n) in _RATING_LIKE]
        if rated:
            raise DataError(
                f"{source}: column {rated[0]!r} looks like explicit ratings, but interactions "
                f"are read without a weight column (each row weighs 1); pass weight={rated[0]!r} "
                "to use it as weights, weight=False to ignore it, or load_ratings(...)"
                ".to_implicit(threshold=...) to keep only the positive ratings"
            )
    return chosen


def _arrow_to_numpy(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return col.to_numpy(zero_copy_only=False)
    if pa.types.is_dictionary(col.type):
        return col.cast(col.type.value_type).to_numpy(zero_copy_only=False)
    if col.null_count == 0 and (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        return col.to_numpy()
    return col.to_pandas().to_numpy()
