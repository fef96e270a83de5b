"""The engine interface and registry.

An engine trains one kind of model from integer indices: it receives the training
(and validation) index arrays, the *resolved* settings of the model (no ``None`` left
in what it uses) and callbacks, and returns the trained tables (named as in
``docs/models-contract.md``) and the per-epoch history. It never imports the
estimators; the estimators choose an engine by name through :func:`get_engine`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from embedlab.exceptions import SettingsError
from embedlab.training._history import History

__all__ = ["Engine", "EngineResult", "TrainData", "engine_names", "get_engine", "register_engine"]

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class TrainData:
    """What an engine trains on: index arrays and the table sizes.

    Attributes:
        train: ``(user_index, item_index, rating)`` of the training ratings.
        validation: The same for validation ratings, or ``None``.
        n_users: Rows of the user tables.
        n_items: Rows of the item tables.
        global_mean: μ, the mean training rating.
    """

    train: Arrays
    validation: Arrays | None
    n_users: int
    n_items: int
    global_mean: float


@dataclass
class EngineResult:
    """What an engine returns.

    Attributes:
        tables: Parameter name → array (the module's ``state_dict`` names); empty
            when the engine trained the module it was given in place.
        history: One record per epoch.
        details: Engine facts worth recording (e.g. the torch trainer's engine).
    """

    tables: dict[str, np.ndarray]
    history: History
    details: dict[str, Any] = field(default_factory=dict)


class Engine(Protocol):
    """Trains a model: ``fit(data, settings, module=..., callbacks=..., progress=..., **options)``."""

    name: str

    def fit(
        self,
        data: TrainData,
        settings: Any,
        *,
        module: Any = None,
        callbacks: Any = None,
        progress: bool = False,
        **options: Any,
    ) -> EngineResult: ...


_REGISTRY: dict[str, Callable[[], Engine]] = {}


def register_engine(name: str, factory: Callable[[], Engine]) -> None:
    """Make ``factory()`` the engine called ``name`` (later registrations replace earlier)."""
    _REGISTRY[name] = factory


def engine_names() -> list[str]:
    """The registered engine names."""
    return sorted(_REGISTRY)


def get_engine(name: str) -> Engine:
    """The engine called ``name``.

    Raises:
        SettingsError: For a name no engine is registered under.
    """
    factory = _REGISTRY.get(name)
    if factory is None:
        raise SettingsError(
            f"engine={name!r}: expected one of {', '.join(map(repr, engine_names()))}"
        )
    return factory()


def check_options(engine: str, options: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """Refuse fit options the engine does not take (e.g. Spark options with SGD)."""
    given = [k for k, v in options.items() if v is not None and v is not False and k not in allowed]
    if given:
        raise SettingsError(f"{', '.join(given)} do not apply to the {engine} engine")
