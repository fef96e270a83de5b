"""Turn the columns read from a source into validated :class:`Interactions`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from embedlab.data._columns import RatingColumns
from embedlab.data._interactions import Interactions
from embedlab.data._validate import DuplicatePolicy, check_scale, row_label
from embedlab.data._vocab import Vocabulary
from embedlab.exceptions import DataError

if TYPE_CHECKING:
    from embedlab.data._fastcsv import FastColumns

__all__ = ["build_interactions"]


def _check_ids(values: np.ndarray, label: str, role: str, source: str, row_offset: int) -> None:
    if values.dtype.kind == "O":
        missing = np.asarray(pd.isna(values), dtype=bool)
    elif values.dtype.kind == "f":
        missing = np.isnan(values)
    else:
        return
    if not missing.any():
        return
    first = int(np.flatnonzero(missing)[0])
    raise DataError(
        f"{source}: column {label!r} has {int(missing.sum())} missing {role} IDs "
        f"(first at {row_label(first, row_offset)}); every row needs a {role} ID: fill or drop those rows"
    )


def build_interactions(
    cols: RatingColumns,
    *,
    rating_scale: tuple[float, float] | None,
    duplicates: DuplicatePolicy,
    name: str,
    item_metadata: pd.DataFrame | None = None,
    user_metadata: pd.DataFrame | None = None,
) -> Interactions:
    """Validate read columns with :meth:`Interactions.from_ids`.

    Raises:
        DataError: Missing IDs, bad ratings or timestamps, duplicates under ``"error"``.
    """
    if cols.fast is not None:
        return _interactions_from_fast(
            cols, cols.fast, rating_scale=rating_scale, duplicates=duplicates, name=name,
            item_metadata=item_metadata, user_metadata=user_metadata,
        )  # fmt: skip
    for role in ("user", "item"):
        _check_ids(cols.arrays[role], cols.labels[role], role, cols.source, cols.row_offset)  # type: ignore[arg-type]
    ts_label = cols.labels.get("timestamp", "timestamp")
    try:
        return Interactions.from_ids(
            cols.arrays["user"],
            cols.arrays["item"],
            cols.arrays["rating"],
            cols.arrays.get("timestamp"),
            rating_scale=rating_scale,
            duplicates=duplicates,
            item_metadata=item_metadata,
            user_metadata=user_metadata,
            name=name,
            source=cols.source,
            columns=(cols.labels["user"], cols.labels["item"], cols.labels["rating"], ts_label),
            row_offset=cols.row_offset,
        )
    except DataError as exc:
        # load_ratings(timestamp=None) means "detect"; False is how to leave the column out.
        message = str(exc)
        if "pass timestamp=None" in message:
            raise DataError(
                message.replace("pass timestamp=None", "pass timestamp=False to ignore the column")
            ) from None
        raise


def _vocabulary(
    values: np.ndarray, id_range: tuple[int, int], name: str
) -> tuple[Vocabulary, np.ndarray]:
    """Vocabulary and int32 indices of parsed integer IDs (in place when the range is compact)."""
    from embedlab.data._fastcsv import encode_ids

    ids = encode_ids(values, *id_range)
    if ids is None:
        return Vocabulary.from_values(values, name=name)
    return Vocabulary(ids, name=name), values


def _interactions_from_fast(
    cols: RatingColumns,
    fast: FastColumns,
    *,
    rating_scale: tuple[float, float] | None,
    duplicates: DuplicatePolicy,
    name: str,
    item_metadata: pd.DataFrame | None,
    user_metadata: pd.DataFrame | None,
) -> Interactions:
    """What :meth:`Interactions.from_ids` does, for columns the compiled parser read.

    Every check of ``from_ids`` still holds, most of them by construction: at least one
    row; integer IDs, none missing; finite ratings and int64 timestamps (the parser
    accepts nothing else). The scale check and the duplicate policy run as there; when
    the parser saw the (user, item) pairs strictly increasing, no pair can repeat and
    the duplicate sort is skipped. IDs with a compact range are encoded in place: the
    parser's ``int32`` arrays become the index arrays (no copy of 20M-row columns).
    """
    source, offset = cols.source, cols.row_offset
    rating = fast.rating
    if rating_scale is not None:
        check_scale(
            rating, rating_scale, source=source, column=cols.labels["rating"], row_offset=offset
        )
    users, ui = _vocabulary(fast.user, fast.user_range, "user")
    items, ii = _vocabulary(fast.item, fast.item_range, "item")
    return Interactions._from_indices(
        ui,
        ii,
        rating,
        fast.timestamp,
        users,
        items,
        duplicates=duplicates,
        rating_scale=rating_scale,
        item_metadata=item_metadata,
        user_metadata=user_metadata,
        name=name,
        source=source,
        row_offset=offset,
        pairs_increasing=fast.pairs_increasing,
        rating_range=fast.rating_range,
    )
