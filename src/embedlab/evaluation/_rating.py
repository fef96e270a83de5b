"""Rating metrics: RMSE and MAE of predicted against true ratings (NumPy only)."""

from __future__ import annotations

from typing import Any

import numpy as np

from embedlab.exceptions import DataError

__all__ = ["mae", "rmse"]


def _rating_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        try:
            arr = np.asarray(values, dtype=np.float64).ravel()
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"{name}: expected numbers (ratings), got values that are not ({exc})"
            ) from None
        if arr.size == 0:
            raise DataError(f"{name} is empty; expected at least one rating")
        bad = ~np.isfinite(arr)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{name} holds {int(bad.sum())} NaN or infinite value(s) (first at position {first}: "
                f"{arr[first]}); expected finite ratings: drop or fill them first"
            )
        out.append(arr)
    if out[0].size != out[1].size:
        raise DataError(
            f"y_true has {out[0].size} values but y_pred has {out[1].size}; "
            "expected one prediction per true rating"
        )
    return out[0], out[1]


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error, ``sqrt(mean((y_pred - y_true)²))``, accumulated in float64.

    Args:
        y_true: True ratings (any array-like of numbers).
        y_pred: Predicted ratings, one per true rating.

    Returns:
        The RMSE.

    Raises:
        DataError: (a ``ValueError``) if the lengths differ, an input is empty, or
            holds NaN, infinite or non-numeric values.

    Example:
        >>> rmse([1, 2, 3], [1, 2, 5])
        1.1547005383792515
    """
    t, p = _rating_pair(y_true, y_pred)
    return float(np.sqrt(np.mean((p - t) ** 2)))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error, ``mean(|y_pred - y_true|)``, accumulated in float64.

    Args:
        y_true: True ratings (any array-like of numbers).
        y_pred: Predicted ratings, one per true rating.

    Returns:
        The MAE.

    Raises:
        DataError: (a ``ValueError``) if the lengths differ, an input is empty, or
            holds NaN, infinite or non-numeric values.

    Example:
        >>> mae([1, 2, 3], [1, 2, 5])
        0.6666666666666666
    """
    t, p = _rating_pair(y_true, y_pred)
    return float(np.mean(np.abs(p - t)))
