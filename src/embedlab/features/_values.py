"""Category values of the feature encoder: their one type, casts, JSON-able forms, the width rule."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from embedlab.exceptions import DataError

__all__ = [
    "MAX_INTEGER_CLASSES",
    "cast_values",
    "embedding_dim_rule",
    "infer_task",
    "plain_values",
    "value_kind",
]


def embedding_dim_rule(n_categories: int) -> int:
    """The fast.ai rule of thumb for an embedding's width: ``min(50, round(1.6 * n ** 0.56))``.

    ``n`` counts the rows of the table (the kept categories plus the shared bucket row).

    Example:
        >>> [embedding_dim_rule(n) for n in (2, 10, 100, 5000)]
        [2, 6, 21, 50]
    """
    return int(min(50, max(1, round(1.6 * max(int(n_categories), 1) ** 0.56))))


#: ``task="auto"`` takes an integer ``y`` with at most this many distinct values for class labels.
MAX_INTEGER_CLASSES = 20


def infer_task(y: np.ndarray) -> str:
    """``"regression"`` or ``"classification"`` for ``task="auto"``, as users expect.

    A float ``y`` is continuous, even when every value is a whole number (minutes,
    counts read from a CSV); bools, strings and categories are class labels; integers
    are class labels when there are at most :data:`MAX_INTEGER_CLASSES` distinct values.
    More distinct integers could be either (a count or an ID of a class), so that is an
    error asking for ``task``.

    Raises:
        ValueError: For an integer ``y`` with many distinct values, or an object ``y``
            that mixes numbers and strings.
    """
    kind = y.dtype.kind
    if kind == "f":
        return "regression"
    if kind in "bUS" or isinstance(getattr(y, "dtype", None), pd.CategoricalDtype):
        return "classification"
    if kind == "O":
        types = {type(v) for v in y[:10_000]}
        if all(issubclass(t, (str, np.str_, bool, np.bool_)) for t in types):
            return "classification"
        if all(issubclass(t, (float, np.floating)) for t in types):
            return "regression"
        if not all(issubclass(t, (int, np.integer, float, np.floating)) for t in types):
            raise ValueError(
                f"y mixes {sorted(t.__name__ for t in types)} values; pass "
                "task='classification' (class labels) or task='regression' (numbers)"
            )
        if any(issubclass(t, (float, np.floating)) for t in types):
            return "regression"
    n = len(pd.unique(y))
    if n <= MAX_INTEGER_CLASSES:
        return "classification"
    raise ValueError(
        f"y holds {n} distinct integers, so task='auto' cannot tell class labels from "
        "numbers; pass task='regression' (a count or measure: or y as floats) or "
        "task='classification' (class labels)"
    )


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
    # pandas' C pass settles the common cases; the loop below names the bad value
    inferred = pd.api.types.infer_dtype(values, skipna=False)
    if inferred == "string":
        return "str"
    if inferred in ("integer", "boolean"):
        return "int"
    if (
        inferred in ("floating", "mixed-integer-float")
        and np.isfinite(values.astype(np.float64)).all()
    ):
        return "float"
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
        if values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string":
            return values  # already strings (str or np.str_)
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
