"""The machinery of settings objects: typed fields with a default, a check and a doc.

A settings class is a frozen dataclass whose fields are declared with :func:`setting`::

    @dataclass(frozen=True)
    class MySettings(Settings):
        epochs: int | None = setting(None, Int(1, none=True), "Passes over the data.")

Constructing one validates every field (one message style: the parameter, what came,
what is allowed) and normalizes values (tuples for sequences, floats for reals). The
field's check also knows how to describe itself, which the estimators' docstrings, the
command line's options and the docs' tables are generated from.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, ParamSpec, TypeVar

from embedlab.exceptions import SettingsError

__all__ = [
    "Bool",
    "Check",
    "Choice",
    "Dims",
    "Flag",
    "Int",
    "Ints",
    "Pair",
    "Real",
    "Settings",
    "deprecated",
    "renamed",
    "setting",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")


class Check:
    """Validates and normalizes one field's value; subclasses say what they accept."""

    #: Whether ``None`` is accepted (it then means "off" or "the engine's default").
    none: bool = False
    #: What ``None`` is normalized to when it means "off" (``None``: kept as is).
    none_as: Any = None
    #: The scalar type the command line parses (``int``, ``float``, ``str``, ``bool``).
    cli_type: type = str

    def __call__(self, name: str, value: Any) -> Any:
        if value is None:
            if self.none:
                return self.none_as
            self.fail(name, value)
        return self.convert(name, value)

    def convert(self, name: str, value: Any) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        """What the field accepts, for error messages and docs."""
        raise NotImplementedError

    def fail(self, name: str, value: Any) -> None:
        expected = self.describe()
        if self.none and "None" not in expected:
            expected = f"None or {expected}"
        raise SettingsError(f"{name}={value!r}: expected {expected}")

    def parse(self, name: str, text: str) -> Any:
        """The value of a command-line string (sequences are comma separated)."""
        return text


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


@dataclasses.dataclass(frozen=True)
class Int(Check):
    """An integer in ``[low, high]``."""

    low: int = 0
    high: int | None = None
    none: bool = False
    none_as: Any = None
    cli_type: ClassVar[type] = int

    def convert(self, name: str, value: Any) -> int:
        if not _is_int(value) or int(value) < self.low:
            self.fail(name, value)
        if self.high is not None and int(value) > self.high:
            self.fail(name, value)
        return int(value)

    def describe(self) -> str:
        if self.high is None:
            return f"an integer >= {self.low}"
        return f"an integer from {self.low} to {self.high}"


@dataclasses.dataclass(frozen=True)
class Real(Check):
    """A finite number ``>= low`` (``> low`` when ``strict``), at most ``high``."""

    low: float = 0.0
    high: float | None = None
    strict: bool = False
    none: bool = False
    none_as: Any = None
    cli_type: ClassVar[type] = float

    def convert(self, name: str, value: Any) -> float:
        if not _is_real(value):
            self.fail(name, value)
        v = float(value)
        if (v <= self.low) if self.strict else (v < self.low):
            self.fail(name, value)
        if self.high is not None and v > self.high:
            self.fail(name, value)
        return v

    def describe(self) -> str:
        rel = ">" if self.strict else ">="
        text = f"a finite number {rel} {self.low:g}"
        return text if self.high is None else f"{text} and <= {self.high:g}"


@dataclasses.dataclass(frozen=True)
class Bool(Check):
    """``True`` or ``False``."""

    none: bool = False
    cli_type: ClassVar[type] = bool

    def convert(self, name: str, value: Any) -> bool:
        if not isinstance(value, bool):
            import numpy as np

            if not isinstance(value, np.bool_):
                self.fail(name, value)
        return bool(value)

    def describe(self) -> str:
        return "True or False"


@dataclasses.dataclass(frozen=True)
class Choice(Check):
    """One of a few strings."""

    values: tuple[str, ...] = ()
    none: bool = False
    none_as: Any = None
    cli_type: ClassVar[type] = str

    def convert(self, name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in self.values:
            self.fail(name, value)
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(map(repr, self.values))


@dataclasses.dataclass(frozen=True)
class Ints(Check):
    """A sequence of integers ``>= low`` (may be empty), kept as a tuple."""

    low: int = 1
    none: bool = False
    high: int | None = None
    cli_type: ClassVar[type] = str

    def convert(self, name: str, value: Any) -> tuple[int, ...]:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            self.fail(name, value)
        if not all(_is_int(v) and int(v) >= self.low for v in value):
            self.fail(name, value)
        if self.high is not None and any(int(v) > self.high for v in value):
            self.fail(name, value)
        return tuple(int(v) for v in value)

    def describe(self) -> str:
        if self.high is not None:
            return f"a sequence of integers from {self.low} to {self.high}, e.g. (32, 4)"
        return f"a sequence of integers >= {self.low}, e.g. (32, 4)"

    def parse(self, name: str, text: str) -> tuple[int, ...]:
        try:
            return tuple(int(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise SettingsError(
                f"{name}={text!r}: expected integers separated by commas, e.g. 32,4"
            ) from None


@dataclasses.dataclass(frozen=True)
class Pair(Check):
    """Two finite numbers ``(low, high)`` with ``low < high``, kept as a tuple of floats;
    ``None`` or ``()`` is "off" (normalized to ``()``)."""

    none: bool = True
    none_as: Any = ()
    cli_type: ClassVar[type] = str

    def convert(self, name: str, value: Any) -> tuple[float, ...]:
        if isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and len(value) == 0:
            return ()
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
            self.fail(name, value)
        if not all(_is_real(v) for v in value):
            self.fail(name, value)
        low, high = (float(v) for v in value)
        if not low < high:
            self.fail(name, value)
        return low, high

    def describe(self) -> str:
        return "None or (low, high) with low < high, e.g. (1, 5)"

    def parse(self, name: str, text: str) -> tuple[float, ...]:
        if text.strip().lower() in ("", "none", "off"):
            return ()
        try:
            return tuple(float(part) for part in text.split(","))  # type: ignore[return-value]
        except ValueError:
            raise SettingsError(f"{name}={text!r}: expected two numbers, e.g. 1,5") from None


@dataclasses.dataclass(frozen=True)
class Dims(Check):
    """An embedding width: one integer ``>= 1``, or a ``(user, item)`` pair of them."""

    none: bool = False
    high: int | None = None
    cli_type: ClassVar[type] = str

    def _ok(self, v: Any) -> bool:
        return _is_int(v) and int(v) >= 1 and (self.high is None or int(v) <= self.high)

    def convert(self, name: str, value: Any) -> int | tuple[int, int]:
        if self._ok(value):
            return int(value)
        if (
            isinstance(value, Sequence)
            and not isinstance(value, (str, bytes))
            and len(value) == 2
            and all(self._ok(v) for v in value)
        ):
            a, b = (int(v) for v in value)
            return a if a == b else (a, b)
        self.fail(name, value)
        raise AssertionError  # unreachable: fail raises

    def describe(self) -> str:
        if self.high is not None:
            return f"an integer from 1 to {self.high}, or a (user, item) pair of them"
        return "an integer >= 1, or a (user, item) pair of them"

    def parse(self, name: str, text: str) -> int | tuple[int, int]:
        try:
            parts = [int(part) for part in text.split(",")]
        except ValueError:
            raise SettingsError(
                f"{name}={text!r}: expected a width such as 32, or user,item widths such as 32,16"
            ) from None
        return parts[0] if len(parts) == 1 else tuple(parts)  # type: ignore[return-value]


@dataclasses.dataclass(frozen=True)
class Flag(Check):
    """``True``, ``False`` or one of a few strings (``"auto"``)."""

    words: tuple[str, ...] = ("auto",)
    none: bool = False
    cli_type: ClassVar[type] = str

    def convert(self, name: str, value: Any) -> bool | str:
        if isinstance(value, bool) or (isinstance(value, str) and value in self.words):
            return value
        self.fail(name, value)
        raise AssertionError  # unreachable: fail raises

    def describe(self) -> str:
        return "True, False or " + " or ".join(map(repr, self.words))


def deprecated(owner: str, old: Sequence[str], new: str, *, stacklevel: int = 5) -> None:
    """Warn that the parameters ``old`` are deprecated in favour of ``new``.

    ``stacklevel`` counts from the frame that calls this function's caller: 3 points
    at the caller of a function that calls :func:`deprecated` itself.
    """
    import warnings

    names = ", ".join(f"{name}=" for name in old)
    verb = "is" if len(old) == 1 else "are"
    warnings.warn(
        f"{owner}: {names} {verb} deprecated and will be removed in the next release; use {new}=",
        FutureWarning,
        stacklevel=stacklevel,
    )


def renamed(**names: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Keep a renamed parameter's old name working for one release.

    ``@renamed(seed="random_state")`` lets the decorated function take ``seed=`` as a
    keyword: it warns (:func:`deprecated`, a ``FutureWarning`` naming the function) and
    passes the value on as ``random_state=``. Passing both names is a ``ValueError``.
    The function's signature (``inspect.signature``, the docs) shows the new name only.

    Example:
        >>> import warnings
        >>> @renamed(seed="random_state")
        ... def draw(n, random_state=0):
        ...     return random_state
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     draw(3, seed=7)
        7
        >>> str(caught[0].message)
        'draw: seed= is deprecated and will be removed in the next release; use random_state='
    """

    def decorate(fn: Callable[_P, _R]) -> Callable[_P, _R]:
        owner = fn.__qualname__
        params = list(inspect.signature(fn).parameters.values())
        # Where the new name sits positionally (None: keyword-only or only in **kwargs).
        at = {
            new: next(
                (
                    i
                    for i, p in enumerate(params)
                    if p.name == new and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                ),
                None,
            )
            for new in names.values()
        }

        @functools.wraps(fn)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            for old, new in names.items():
                if old not in kwargs:
                    continue
                position = at[new]
                if new in kwargs or (position is not None and len(args) > position):
                    raise ValueError(
                        f"{owner}: got both {new}= and {old}=, its deprecated name; "
                        f"pass {new}= only"
                    )
                deprecated(owner, [old], new, stacklevel=3)
                kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper

    return decorate


def setting(
    default: Any,
    check: Check,
    doc: str,
    *,
    engines: tuple[str, ...] | None = None,
    cli: bool = True,
) -> Any:
    """Declare a settings field.

    Args:
        default: The value when the user gives none (``None``: decided by the
            resolver for the engine and data at hand, or "off").
        check: Validates and normalizes the value.
        doc: One line for docstrings, ``--help`` and the docs.
        engines: The engines that use the field (``None``: all of them). A field
            set by the user for an engine that does not have it is an error, and
            the bundle records only the fields the engine used.
        cli: Whether ``embedlab train`` has an option for it.
    """
    return dataclasses.field(
        default=default,
        metadata={"check": check, "doc": doc, "engines": engines, "cli": cli},
    )


class Settings:
    """Base of the settings dataclasses: validation on construction, introspection helpers."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = f.metadata["check"](f.name, getattr(self, f.name))
            object.__setattr__(self, f.name, value)
        self.validate()

    def validate(self) -> None:
        """Checks that involve several fields; subclasses extend it."""

    # ------------------------------------------------------------ introspection
    @classmethod
    def fields(cls) -> tuple[dataclasses.Field[Any], ...]:
        """The dataclass fields, in declaration order."""
        return dataclasses.fields(cls)  # type: ignore[arg-type]

    @classmethod
    def names(cls) -> list[str]:
        """The field names, in declaration order."""
        return [f.name for f in cls.fields()]

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Each field's default."""
        return {f.name: f.default for f in cls.fields()}

    @classmethod
    def doc(cls, name: str) -> str:
        """The one-line doc of field ``name``."""
        return next(f.metadata["doc"] for f in cls.fields() if f.name == name)

    @classmethod
    def args_doc(cls) -> str:
        """A Google-style ``Args:`` section generated from the fields."""
        lines = ["Args:"]
        for f in cls.fields():
            engines = f.metadata["engines"]
            only = f" (engines: {', '.join(engines)})" if engines else ""
            lines.append(f"    {f.name}: {f.metadata['doc']}{only} Default: ``{f.default!r}``.")
        return "\n".join(lines)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def items(self) -> Iterator[tuple[str, Any]]:
        for name in self.names():
            yield name, getattr(self, name)

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values (tuples become lists)."""
        return {name: _jsonable(value) for name, value in self.items()}

    @classmethod
    def translate(cls, values: dict[str, Any], owner: str) -> dict[str, Any]:
        """Map deprecated parameter names to current ones (with a warning); subclasses extend."""
        return values

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, owner: str) -> Settings:
        """A settings object from constructor-style parameters, deprecated names translated.

        Raises:
            SettingsError: For a name that is not a setting, or a bad value.
        """
        values = cls.translate(dict(params), owner)
        unknown = sorted(set(values) - set(cls.names()))
        if unknown:
            raise SettingsError(
                f"{owner}: {', '.join(unknown)} {'is not a parameter' if len(unknown) == 1 else 'are not parameters'}; "
                f"parameters: {', '.join(cls.names())}"
            )
        return cls(**values)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value
