"""Category values of the feature encoder: their one type, casts, JSON-able forms, the width rule."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from embedlab.exceptions import DataError

__all__ = ["cast_values", "embedding_dim_rule", "plain_values", "value_kind"]


def embedding_dim_rule(n_categories: int) -> int:
    """The fast.ai rule of thumb for an embedding's width: ``min(50, round(1.6 * n ** 0.56))``.

    ``n`` counts the rows of the table (the kept categories plus the shared bucket row).

    Example:
        >>> [embedding_dim_rule(n) for n in (2, 10, 100, 5000)]
        [2, 6, 21, 50]
    """
    return int(min(50, max(1, round(1.6 * max(int(n_categories), 1) ** 0.56))))


def value_kind(values: np.ndarray, column: Any) -> str:
    """``"int"``, ``"float"`` or ``"str"``: the one type of a categorical column's values."""
    if values.dtype.kind == "c":
        raise ValueError(
            f"column {column!r} holds complex numbers: Complex data not supported "
            "(expected strings or integers as categories)"
        )
    if values.dtype.kind in "iub":
        return "int"
    if values.dtype.kind == "f":
        if not np.isfinite(values).all():
            raise ValueError(
                f"column {column!r} holds NaN or infinity; categories must be finite "
                "(fill missing values first, e.g. X.fillna('missing'))"
            )
        return "float"
    if values.dtype.kind in "UST":
        return "str"
    kinds = set()
    for v in values:
        if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA:
            raise ValueError(
                f"column {column!r} holds missing values (NaN or None); fill them first, "
                "e.g. X.fillna('missing')"
            )
        if isinstance(v, (str, np.str_)):
            kinds.add("str")
        elif isinstance(v, (bool, np.bool_, int, np.integer)):
            kinds.add("int")
        elif isinstance(v, (float, np.floating)):
            kinds.add("float")
        else:
            raise TypeError(
                f"column {column!r} holds a {type(v).__name__} value ({v!r}); "
                "expected a string or a number as category"
            )
        if len(kinds) > 1:
            break
    if kinds == {"int", "float"}:
        return "float"
    if len(kinds) > 1:
        raise DataError(
            f"column {column!r} mixes strings and numbers; expected one type "
            "(convert it, e.g. X[col].astype(str))"
        )
    return kinds.pop() if kinds else "str"


def cast_values(values: np.ndarray, kind: str) -> np.ndarray:
    if kind == "str":
        return np.asarray([str(v) for v in values], dtype=object)
    if kind == "int":
        return values.astype(np.int64)
    return values.astype(np.float64)


def plain_values(categories: np.ndarray, kind: str) -> list[Any]:
    """Categories as JSON-able Python values of one type."""
    if kind == "int":
        return [int(v) for v in categories]
    if kind == "float":
        return [float(v) for v in categories]
    return [str(v) for v in categories]
