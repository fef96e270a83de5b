"""Per-epoch training history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["History"]


class History:
    """One dict per finished epoch, in order.

    Keys: ``epoch`` (1-based), ``train_loss`` (mean squared error of the epoch's
    batches, the L2 penalty excluded), ``val_rmse`` and ``val_mae`` (``None``
    without validation data), ``seconds`` (wall time of the epoch, validation
    included), ``learning_rate`` (the rate used during the epoch). A fit through
    :meth:`~embedlab.training.Trainer.fit_epochs` has its validator's keys instead of
    ``val_rmse`` and ``val_mae`` (the feature encoder: ``val_loss``) and its own loss.
    """

    COLUMNS = ("epoch", "train_loss", "val_rmse", "val_mae", "seconds", "learning_rate")

    def __init__(self, records: list[dict[str, Any]] | None = None) -> None:
        self.records: list[dict[str, Any]] = [dict(r) for r in records or []]

    def append(self, record: dict[str, Any]) -> None:
        """Add one epoch's record."""
        self.records.append(dict(record))

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.records[i]

    def __repr__(self) -> str:
        return f"History({len(self.records)} epochs)"

    def column(self, key: str) -> list[Any]:
        """One value per epoch, e.g. ``history.column("val_rmse")``."""
        return [r.get(key) for r in self.records]

    def to_list(self) -> list[dict[str, Any]]:
        """A JSON-ready copy of the records."""
        return [dict(r) for r in self.records]

    def to_pandas(self) -> Any:
        """A DataFrame with one row per epoch and the columns above (the records' own
        keys, in their order)."""
        import pandas as pd

        columns = list(self.records[0]) if self.records else list(self.COLUMNS)
        return pd.DataFrame(self.records, columns=columns)
