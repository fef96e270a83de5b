"""Joining a trained recommender's user and item vectors onto a table of (user, item) rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["join_embeddings"]


def join_embeddings(
    frame: pd.DataFrame,
    model: Any,
    user: str = "user",
    item: str = "item",
    prefix: tuple[str, str] = ("user", "item"),
) -> pd.DataFrame:
    """Join a trained recommender's user and item vectors onto (user, item) rows.

    Appends ``<prefix[0]>_e0..`` (the user's vector), ``<prefix[1]>_e0..`` (the
    item's) and two indicator columns ``<prefix>_unknown`` (int8, 1 where the ID is
    not in the model; its vector columns are then zeros).

    Args:
        frame: A table with a user ID column and an item ID column (raw IDs).
        model: A fitted model with ``user_embeddings()`` and ``item_embeddings()``
            (e.g. :class:`~embedlab.MatrixFactorization`).
        user: The user ID column.
        item: The item ID column.
        prefix: The prefixes of the new user and item columns.

    Returns:
        A new DataFrame: ``frame``'s columns, then the new ones (same index).

    Raises:
        TypeError: ``frame`` is not a DataFrame.
        KeyError: A named column is missing.
        ValueError: A new column name already exists in ``frame``.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    new: dict[str, np.ndarray] = {}
    for col, kv, pre in (
        (user, model.user_embeddings(), prefix[0]),
        (item, model.item_embeddings(), prefix[1]),
    ):
        if col not in frame.columns:
            raise KeyError(f"column {col!r} not in frame (columns: {list(frame.columns)[:10]})")
        idx = np.asarray(kv.keys.indices(frame[col].to_numpy(), unknown="negative"), dtype=np.int64)
        unknown = idx < 0
        vecs = np.asarray(kv.vectors, dtype=np.float32)[np.where(unknown, 0, idx)]
        vecs[unknown] = 0.0
        for k in range(vecs.shape[1]):
            new[f"{pre}_e{k}"] = vecs[:, k]
        new[f"{pre}_unknown"] = unknown.astype(np.int8)
    clash = [c for c in new if c in frame.columns]
    if clash:
        raise ValueError(f"frame already has columns {clash[:5]!r}; pass another prefix=")
    return pd.concat([frame, pd.DataFrame(new, index=frame.index)], axis=1)
