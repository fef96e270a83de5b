"""Callbacks: called after every epoch; returning ``True`` stops training."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

__all__ = ["Callback", "StopAfter", "as_callbacks"]


@runtime_checkable
class Callback(Protocol):
    """Anything with ``on_epoch_end(epoch, logs) -> bool | None``.

    ``epoch`` is 1-based; ``logs`` is the epoch's history record (see
    :class:`~embedlab.training.History`). Return ``True`` to stop after this epoch.
    A plain function ``f(epoch, logs)`` works as well.
    """

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> bool | None: ...


class _FunctionCallback:
    def __init__(self, fn: Callable[[int, dict[str, Any]], bool | None]) -> None:
        self.fn = fn

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> bool | None:
        return self.fn(epoch, logs)


class StopAfter:
    """Stop once ``logs[key]`` drops to ``threshold`` or below (e.g. a target RMSE)."""

    def __init__(self, threshold: float, key: str = "val_rmse") -> None:
        self.threshold = float(threshold)
        self.key = key

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> bool:
        value = logs.get(self.key)
        return value is not None and value <= self.threshold


def as_callbacks(callbacks: Iterable[Any] | Callback | None) -> list[Callback]:
    """Normalise ``callbacks`` (one, several, functions or objects) to a list.

    Raises:
        TypeError: For something that is neither a callback nor callable.
    """
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or callable(callbacks):
        callbacks = [callbacks]
    out: list[Callback] = []
    for cb in callbacks:
        if isinstance(cb, Callback):
            out.append(cb)
        elif callable(cb):
            out.append(_FunctionCallback(cb))
        else:
            raise TypeError(
                f"callbacks: {cb!r} has no on_epoch_end(epoch, logs) and is not callable"
            )
    return out
