"""Item and user metadata: aligning attribute tables to a vocabulary."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd

from embedlab.data._vocab import Vocabulary
from embedlab.exceptions import DataError

__all__ = ["align_metadata", "side_metadata"]


def align_metadata(
    meta: pd.DataFrame | None, vocab: Vocabulary, *, what: str
) -> pd.DataFrame | None:
    """Reorder a metadata table (one row per raw ID, column ``id``) to vocabulary order.

    IDs of the vocabulary that the table lacks get empty rows (missing title, no
    genres); rows for IDs outside the vocabulary are dropped.

    Raises:
        DataError: If the table has no ``id`` column or repeats an ID.
    """
    if meta is None:
        return None
    if "id" not in meta.columns:
        raise DataError(f"{what} metadata: expected an 'id' column, found {list(meta.columns)}")
    if meta["id"].duplicated().any():
        dup = meta.loc[meta["id"].duplicated(), "id"].iloc[0]
        raise DataError(
            f"{what} metadata: ID {dup!r} appears more than once; each ID needs one row"
        )
    pos = vocab.indices(meta["id"].to_numpy(), unknown="negative")
    keep = pos >= 0
    src = meta.loc[keep].drop(columns="id")
    for col in src.columns:
        if src[col].dtype.kind in "iu":
            src[col] = src[col].astype("Int64")
    src.index = pd.Index(pos[keep])
    out = src.reindex(pd.RangeIndex(len(vocab)))
    out.insert(0, "id", vocab.ids().tolist() if vocab.kind == "str" else vocab.ids())
    if "genres" in out.columns:
        out["genres"] = [
            list(g) if isinstance(g, (list, tuple, np.ndarray)) else [] for g in out["genres"]
        ]
    return out


def _genre_list(value: Any) -> list[str]:
    """One ``genres`` cell as a list: lists kept, ``"A|B"`` text split on ``|``, missing → []."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(g) for g in value]
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return []
    return [g.strip() for g in str(value).split("|") if g.strip()]


def side_metadata(
    frame: pd.DataFrame,
    vocab: Vocabulary,
    existing: pd.DataFrame | None,
    *,
    what: str,
) -> pd.DataFrame:
    """A side table aligned to a vocabulary, merged over the metadata already there.

    See :meth:`Interactions.with_item_metadata` for the rules.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"with_{what}_metadata(frame): expected a pandas DataFrame (e.g. from "
            f"read_side_table), got {type(frame).__name__}"
        )
    table = frame
    keyed_by_column = (
        "id" in table.columns
        and isinstance(table.index, pd.RangeIndex)
        and table.index.name is None
    )
    if keyed_by_column:
        ids = pd.Index(table["id"])
        table = table.drop(columns="id")
    else:
        if "id" in table.columns:
            raise DataError(
                f"{what} side table: has a column 'id' besides its key (the index "
                f"{table.index.name!r}); rename that column, or pass key='id'"
            )
        ids = table.index
    if ids.hasnans:
        raise DataError(
            f"{what} side table: {int(ids.isna().sum())} missing IDs; every row needs an ID"
        )
    values = ids.to_numpy()
    if values.dtype.kind == "f":  # 1.0 for 1 (an int column that held NaN once)
        if not np.all(values == np.round(values)):
            raise DataError(
                f"{what} side table: fractional IDs such as {values[values != np.round(values)][0]!r}; "
                "expected integer or string IDs"
            )
        values = values.astype(np.int64)
    elif values.dtype.kind == "O":
        values = np.array(
            [v.item() if isinstance(v, np.generic) else v for v in values.tolist()], dtype=object
        )
    table = table.copy()
    if "label" in table.columns:
        if "title" in table.columns:
            table = table.rename(columns={"title": "title_column"})
        table = table.rename(columns={"label": "title"})
    if "title" in table.columns:
        title = table["title"]
        table["title"] = pd.Series(
            [str(v) if pd.notna(v) else None for v in title.tolist()],
            index=table.index,
            dtype=object,
        )
    if "genres" in table.columns:
        table["genres"] = [_genre_list(g) for g in table["genres"]]
    pos = vocab.indices(values, unknown="negative")
    matched = pos[pos >= 0]
    if matched.size != np.unique(matched).size:
        uniq, counts = np.unique(matched, return_counts=True)
        dup = vocab.id(int(uniq[counts > 1][0]))
        raise DataError(
            f"{what} side table: ID {dup!r} appears more than once (e.g. as 7 and '07'); "
            "each ID needs one row"
        )
    table.insert(0, "id", values)
    aligned = cast(pd.DataFrame, align_metadata(table.reset_index(drop=True), vocab, what=what))
    if existing is not None:
        kept = [c for c in existing.columns if c != "id" and c not in aligned.columns]
        if kept:
            aligned = pd.concat([aligned, existing[kept].reset_index(drop=True)], axis=1)
    return aligned
