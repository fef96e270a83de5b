"""The settings of :class:`~embedlab.EmbeddingEncoder`: every hyperparameter, its default,
its check and its doc.

The encoder keeps a hand-written ``__init__`` (scikit-learn's ``check_estimator`` inspects
it); ``fit`` validates its parameters through :class:`EncoderSettings`, and a test keeps
the two in step (same names, same defaults).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from embedlab.exceptions import SettingsError
from embedlab.settings._fields import (
    Bool,
    Check,
    Choice,
    Int,
    Ints,
    Real,
    Settings,
    setting,
)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch

__all__ = ["Columns", "Device", "EmbeddingDims", "EncoderSettings", "Seed"]


def _is_width(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


@dataclasses.dataclass(frozen=True)
class Columns(Check):
    """``None`` or a sequence of column labels (names or positions), kept as a tuple."""

    none: bool = True
    cli_type: ClassVar[type] = str

    def convert(self, name: str, value: Any) -> tuple[Any, ...]:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            # a pandas Index or a 1-D NumPy array is no Sequence, but lists its labels
            if not (hasattr(value, "tolist") and getattr(value, "ndim", 0) == 1):
                self.fail(name, value)
            value = value.tolist()
        return tuple(value)

    def describe(self) -> str:
        return "None or a sequence of column names or positions, e.g. ['city', 'job']"


@dataclasses.dataclass(frozen=True)
class ColumnPairs(Check):
    """``"auto"``, ``None`` or a sequence of pairs of distinct column labels, kept as a
    tuple of tuples; on the command line ``auto``, ``none`` or ``a:b,c:d``."""

    none: bool = True
    none_as: Any = ()
    cli_type: ClassVar[type] = str

    def convert(self, name: str, value: Any) -> tuple[tuple[Any, Any], ...] | str:
        if isinstance(value, str) and value == "auto":
            return "auto"
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            self.fail(name, value)
        pairs = []
        for pair in value:
            if (
                isinstance(pair, (str, bytes))
                or not isinstance(pair, Sequence)
                or len(pair) != 2
                or pair[0] == pair[1]
            ):
                raise SettingsError(
                    f"{name}={value!r}: {pair!r} is not a pair of two different columns; "
                    "expected e.g. [('origin', 'dest')]"
                )
            pairs.append((pair[0], pair[1]))
        if len(set(map(frozenset, pairs))) != len(pairs):
            raise SettingsError(f"{name}={value!r}: a pair is repeated; list each pair once")
        return tuple(pairs)

    def parse(self, name: str, text: str) -> Any:
        if text.strip().lower() in ("", "none", "off"):
            return ()
        if text.strip().lower() == "auto":
            return "auto"
        pairs = [tuple(p.strip() for p in part.split(":")) for part in text.split(",")]
        if any(len(p) != 2 or not all(p) for p in pairs):
            raise SettingsError(f"{name}={text!r}: expected column pairs a:b separated by commas")
        return tuple(pairs)

    def describe(self) -> str:
        return "'auto', None or a sequence of column pairs, e.g. [('origin', 'dest')]"


@dataclasses.dataclass(frozen=True)
class DecayOrAuto(Check):
    """``"auto"`` or a finite number ``>= 0``; on the command line ``auto`` or a number."""

    cli_type: ClassVar[type] = str

    def convert(self, name: str, value: Any) -> float | str:
        if isinstance(value, str) and value == "auto":
            return "auto"
        if (
            not isinstance(value, numbers.Real)
            or isinstance(value, bool)
            or not math.isfinite(float(value))
            or float(value) < 0
        ):
            self.fail(name, value)
        return float(value)

    def parse(self, name: str, text: str) -> Any:
        if text.strip().lower() == "auto":
            return "auto"
        try:
            return float(text)
        except ValueError:
            raise SettingsError(f"{name}={text!r}: expected 'auto' or a number >= 0") from None

    def describe(self) -> str:
        return "'auto' or a finite number >= 0"


@dataclasses.dataclass(frozen=True)
class EmbeddingDims(Check):
    """``None``/``"auto"`` (the rule of thumb), one width ``>= 1``, or a mapping column -> width."""

    none: bool = True
    cli_type: ClassVar[type] = str

    def convert(self, name: str, value: Any) -> int | str | dict[Any, int]:
        if isinstance(value, str):
            if value != "auto":
                self.fail(name, value)
            return value
        if _is_width(value):
            return int(value)
        if isinstance(value, Mapping):
            bad = {k: v for k, v in value.items() if not _is_width(v)}
            if bad:
                col, width = next(iter(bad.items()))
                raise SettingsError(
                    f"{name}={value!r}: column {col!r} gets {width!r}; expected an integer >= 1 "
                    "(None/'auto' for the rule of thumb, an int, or a dict per column)"
                )
            return {k: int(v) for k, v in value.items()}
        self.fail(name, value)
        raise AssertionError  # unreachable: fail raises

    def describe(self) -> str:
        return "None, 'auto', an integer >= 1, or a dict {column: integer >= 1}"


@dataclasses.dataclass(frozen=True)
class Seed(Check):
    """``None``, an integer from 0 to 2**32 - 1, or a ``numpy.random.RandomState`` (kept as is)."""

    none: bool = True
    cli_type: ClassVar[type] = int

    def convert(self, name: str, value: Any) -> Any:
        import numpy as np

        if isinstance(value, np.random.RandomState):
            return value
        if (
            not isinstance(value, numbers.Integral)
            or isinstance(value, bool)
            or not 0 <= value < 2**32
        ):
            self.fail(name, value)
        return int(value)

    def describe(self) -> str:
        return "None, an integer from 0 to 2**32 - 1, or a numpy.random.RandomState"


@dataclasses.dataclass(frozen=True)
class Device(Check):
    """A device name (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...) or a ``torch.device``."""

    none: bool = False
    cli_type: ClassVar[type] = str

    def convert(self, name: str, value: Any) -> Any:
        # torch is not imported here: a torch.device is recognized by its type name
        if isinstance(value, str) and value:
            return value
        if type(value).__name__ == "device" and hasattr(value, "type"):
            return value
        self.fail(name, value)
        raise AssertionError  # unreachable: fail raises

    def describe(self) -> str:
        return "'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device"


@dataclass(frozen=True)
class EncoderSettings(Settings):
    """Settings of :class:`~embedlab.EmbeddingEncoder` (entity embeddings of categorical columns)."""

    columns: tuple[Any, ...] | None = setting(
        None,
        Columns(),
        "The categorical columns (names for a DataFrame, positions for an array); "
        "None: every object/category/string column of a DataFrame, every column of an array.",
        cli=False,
    )
    interactions: tuple[tuple[Any, Any], ...] | str = setting(
        "auto",
        ColumnPairs(),
        "Pairs of categorical columns whose combinations get a table of their own (a column "
        "'a×b'): the network learns each pair's interaction directly; the output has its "
        "effect, column_embeddings('a×b') its vectors. auto: the pairs whose cells explain "
        "at least 2 % of the additive effects' residual, out of sample (at most 3; none "
        "below 2,000 rows); None: none. On the command line auto, none or a:b,c:d.",
    )
    embedding_dims: int | str | Mapping[Any, int] | None = setting(
        None,
        EmbeddingDims(),
        "Width of each column's table: None/'auto' (the fast.ai rule), an int, or a dict per column.",
        cli=False,
    )
    task: str = setting(
        "auto",
        Choice(("auto", "regression", "classification")),
        "What the network predicts: auto (a float y: regression, even of whole numbers; "
        "strings, bools, categories and up to 20 distinct integers: classification), "
        "regression or classification.",
    )
    hidden: tuple[int, ...] = setting(
        (64,), Ints(1), "Widths of the MLP's hidden layers (() for a linear head)."
    )
    epochs: int | None = setting(
        None,
        Int(1, none=True),
        "Most passes over the training rows; None: enough for about 600 steps (8 to 50), "
        "so the one-cycle schedule anneals. Early stopping ends sooner when the "
        "validation loss turns up.",
    )
    batch_size: int | None = setting(
        None,
        Int(1, none=True),
        "Rows per Adam step; None: about 64 steps per epoch (a power of two, 128 to 4,096).",
    )
    learning_rate: float = setting(
        1e-2, Real(0, strict=True), "Peak learning rate of Adam's one-cycle schedule."
    )
    validation_fraction: float = setting(
        0.1,
        Real(0, high=0.5),
        "Share of the training rows held out for early stopping (0: none; none either "
        "when it would hold fewer than 200 rows).",
    )
    patience: int = setting(
        3, Int(1), "Epochs without a better validation loss before training stops."
    )
    table_decay: float | str = setting(
        "auto",
        DecayOrAuto(),
        "Decoupled weight decay (AdamW) of the per-level embedding and bias rows: rare "
        "levels shrink toward the mean the most. 'auto': the full fit trains a network "
        "without and one with decay 3 side by side and keeps the lower held-out loss.",
    )
    vector_columns: bool = setting(
        True,
        Bool(),
        "Output each categorical column's vector of the row's level (not the pairs'). "
        "On the benchmark tables linear models scored about as well without them (the "
        "effect and prediction columns carry what they learned), gradient boosting mostly "
        "better with them.",
    )
    bias_columns: bool = setting(
        True,
        Bool(),
        "Also output each level's learned additive effect (y's units; logits for "
        "classification; see effects), one column per categorical column (per class for "
        "multiclass), and with effects=additive the additive model's prediction "
        "(additive_prediction: intercept + the row's effects + numeric slopes).",
    )
    effects: str = setting(
        "additive",
        Choice(("additive", "network")),
        "What the effect columns hold: additive (each level's coefficient in a ridge-"
        "penalized one-hot model of y, least squares for regression, logistic otherwise, "
        "fitted on the same rows as the network: what one-hot columns give a linear "
        "model) or network (the network's mean output with the level put in).",
    )
    prediction_column: bool = setting(
        True,
        Bool(),
        "Also output the network's prediction (y's units; logits for classification).",
    )
    cv: int | None = setting(
        5,
        Int(2, none=True),
        "Folds of fit_transform's cross-fitting (out-of-fold features for the training "
        "rows; only with at least 100 rows per fold); None: none.",
    )
    min_frequency: int = setting(
        2, Int(1), "Values seen in fewer training rows share the column's bucket row."
    )
    handle_unknown: str = setting(
        "error",
        Choice(("error", "bucket")),
        "Unseen values at transform time: error, or map them to the bucket row.",
    )
    passthrough: bool = setting(
        False, Bool(), "Feed the numeric columns to the network and append them to the output."
    )
    # RUF009: ruff cannot tell these annotations are immutable; setting() is a field().
    random_state: int | np.random.RandomState | None = setting(  # noqa: RUF009
        None, Seed(), "Seed of the one torch.Generator (int, None or a RandomState).", cli=False
    )
    device: str | torch.device = setting(  # noqa: RUF009
        "auto", Device(), "'auto' (CUDA when available), 'cpu', 'cuda', 'cuda:N'."
    )
