"""Vocabulary: raw IDs (int or str) <-> contiguous row indices."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from embedlab._io import atomic_path
from embedlab.data._kernels import encode_compact_ints
from embedlab.exceptions import DataError, UnknownIDError

__all__ = ["IDKind", "Vocabulary"]

IDKind = Literal["int", "str"]

_FORMAT = "embedlab.vocabulary/1"
_INT64_MIN = int(np.iinfo(np.int64).min)
_INT64_MAX = int(np.iinfo(np.int64).max)
#: Unknown-ID messages show at most this much of the first unknown ID.
_SHOWN_CHARS = 100


def _shown(value: Any) -> str:
    """``repr(value)`` for a message, cut to ``_SHOWN_CHARS`` (an int of more than 4300
    digits has no repr at all)."""
    try:
        text = repr(value)
    except ValueError:
        text = (
            f"an int of {value.bit_length()} bits"
            if isinstance(value, int)
            else f"a {type(value).__name__}"
        )
    return text if len(text) <= _SHOWN_CHARS else f"{text[: _SHOWN_CHARS - 1]}…"


def _kind_of_array(values: np.ndarray, what: str) -> IDKind:
    """Decide whether an array of raw IDs holds integers or strings."""
    kind = values.dtype.kind
    if kind in "iu":
        return "int"
    if kind in "UT":
        return "str"
    if kind == "b":
        raise DataError(f"{what}: IDs are booleans; expected integer or string IDs")
    if kind == "f":
        if values.size and not np.all(np.isfinite(values)):
            bad = int(np.flatnonzero(~np.isfinite(values))[0])
            raise DataError(
                f"{what}: {int((~np.isfinite(values)).sum())} missing or non-finite IDs "
                f"(first at row {bad}); every row needs an ID, drop those rows first"
            )
        if values.size and not np.all(values == np.round(values)):
            bad = int(np.flatnonzero(values != np.round(values))[0])
            raise DataError(
                f"{what}: ID {values[bad]!r} at row {bad} is a fractional number; "
                "expected integer or string IDs"
            )
        return "int"
    if kind == "O":
        types = {type(v) for v in values[: min(values.size, 1000)]}
        if values.size > 1000:
            types |= set(pd.Series(values).map(type).unique())
        if types <= {str}:
            return "str"
        if types and all(
            issubclass(t, (int, np.integer)) and not issubclass(t, bool) for t in types
        ):
            return "int"
        nulls = pd.isna(values)
        if nulls.any():
            bad = int(np.flatnonzero(nulls)[0])
            raise DataError(
                f"{what}: {int(nulls.sum())} missing IDs (first at row {bad}); "
                "every row needs an ID, drop those rows first"
            )
        names = sorted(t.__name__ for t in types)
        raise DataError(
            f"{what}: IDs mix types {names}; expected all integers or all strings "
            "(convert the column with .astype(str) or .astype(int))"
        )
    raise DataError(f"{what}: IDs of dtype {values.dtype} are not supported; expected int or str")


def _has_big_int(values: Sequence[Any]) -> bool:
    """Whether a list holds an integer that a float cannot hold exactly (past 2**53),
    which ``np.asarray`` rounds when the list also holds a float or an int past int64."""
    return any(
        isinstance(v, (int, np.integer))
        and not isinstance(v, (bool, np.bool_))
        and abs(int(v)) > 2**53
        for v in values
    )


def _as_id_array(values: Any, what: str) -> tuple[np.ndarray, IDKind]:
    """Return raw IDs as an int64 array or an object array of str, and their kind."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = values.to_numpy(zero_copy_only=False)
    elif isinstance(values, (list, tuple)):
        # np.asarray([1, "a"]) would silently turn every ID into a string, and
        # np.asarray([2**63, 1]) every ID into a float.
        plain = np.asarray(values) if values else np.array([], dtype=np.int64)
        values = (
            np.array(values, dtype=object)
            if plain.dtype.kind in "UTO" or (plain.dtype.kind == "f" and _has_big_int(values))
            else plain
        )
    elif isinstance(values, (pd.Series, pd.Index)):
        if values.isna().any():
            bad = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise DataError(
                f"{what}: {int(values.isna().sum())} missing IDs (first at row {bad}); "
                "every row needs an ID, drop those rows first"
            )
        values = (
            values.to_numpy(dtype=object)
            if values.dtype == "string" or values.dtype.kind == "O"
            else values.to_numpy()
        )
    arr = np.asarray(values)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    kind = _kind_of_array(arr, what)
    if kind == "int":
        if arr.dtype.kind in "uOf" and arr.size:
            if arr.dtype.kind == "f":  # 2**63 - 1 as a float is 2**63, past int64
                outside = (arr >= 2.0**63) | (arr < -(2.0**63))
            else:
                outside = (arr > _INT64_MAX) | (arr < _INT64_MIN)
            if outside.any():
                raise DataError(
                    f"{what}: integer IDs outside int64 (-2**63..2**63-1) are not supported "
                    f"(first: {_shown(arr[np.flatnonzero(outside)[0]])}); pass them as strings"
                )
        return arr.astype(np.int64, copy=False), "int"
    return arr.astype(object, copy=False), "str"


class Vocabulary:
    """A fixed, ordered set of raw IDs mapped to contiguous indices ``0..len-1``.

    "ID" always means the raw value in the user's data (an ``int`` or a ``str``);
    "index" always means a row number in an embedding table. Methods never accept
    both in one parameter.

    The order is stable: :meth:`from_values` sorts the distinct IDs, so the same set
    of IDs gets the same indices whatever the order of the rows it came from.

    Lookups are forgiving about the *type* of an ID, never about its value: a
    vocabulary of integer IDs accepts ``"196"`` for ``196`` (what a command line or a
    web form sends; plain ASCII digits only, as :func:`~embedlab.data.parse_id` reads
    them, so ``"١٢"`` or ``"1_0"`` is unknown), and a vocabulary of string IDs accepts
    ``42`` for ``"42"``.

    Args:
        ids: Distinct raw IDs in index order; all integers or all strings.
        name: What the IDs are ("user", "item", ...), used in error messages.

    Raises:
        DataError: If ``ids`` holds duplicates, missing values or mixed types.

    Example:
        >>> v = Vocabulary(["b", "a", "c"], name="item")
        >>> v.index("a"), v.id(2), len(v), "z" in v
        (1, 'c', 3, False)
    """

    __slots__ = ("_ids", "_index", "_kind", "name")

    def __init__(self, ids: Iterable[Any], *, name: str = "id") -> None:
        if not isinstance(
            ids, (np.ndarray, pd.Series, pd.Index, pa.Array, pa.ChunkedArray, list, tuple)
        ):
            ids = list(ids)
        arr, kind = _as_id_array(ids, f"{name} vocabulary")
        index = pd.Index(arr, dtype=np.int64 if kind == "int" else object, copy=False)
        if not index.is_unique:
            dup = index[index.duplicated()]
            raise DataError(
                f"{name} vocabulary: {len(dup)} duplicate IDs (first: {dup.tolist()[0]!r}); "
                "a vocabulary lists each ID once"
            )
        arr = np.array(arr, copy=True)
        arr.flags.writeable = False
        self._ids = arr
        self._kind: IDKind = kind
        self._index = index
        self.name = name

    # ------------------------------------------------------------------ building
    @classmethod
    def from_values(cls, values: Any, *, name: str = "id") -> tuple[Vocabulary, np.ndarray]:
        """Build a vocabulary of the distinct values and encode the values with it.

        Runs in linear time for integer IDs with a compact range (the usual case) and
        by hashing otherwise; never loops over rows in Python.

        Args:
            values: Raw IDs, one per row (array, list, pandas or arrow column).
            name: What the IDs are, for error messages.

        Returns:
            The vocabulary (sorted distinct IDs) and an ``int32`` array of indices, one
            per input value.

        Raises:
            DataError: On missing values, mixed types, or more than 2**31-1 distinct IDs.
        """
        arr, kind = _as_id_array(values, f"{name} IDs")
        if arr.size == 0:
            return cls(
                np.array([], dtype=np.int64 if kind == "int" else object), name=name
            ), np.array([], dtype=np.int32)
        if kind == "int":
            lo, hi = int(arr.min()), int(arr.max())
            span = hi - lo + 1
            if span <= 4 * arr.size + 1_000_000:
                uniques, codes = encode_compact_ints(arr, lo, hi)
                return cls._trusted(uniques, "int", name), codes
        codes, uniques = pd.factorize(arr, sort=True)
        if len(uniques) > np.iinfo(np.int32).max:
            raise DataError(f"{name} IDs: more than 2**31-1 distinct values are not supported")
        uniq = np.asarray(uniques, dtype=np.int64 if kind == "int" else object)
        return cls._trusted(uniq, kind, name), codes.astype(np.int32)

    @classmethod
    def _trusted(cls, ids: np.ndarray, kind: IDKind, name: str) -> Vocabulary:
        """Wrap an array already known to be distinct and of one kind (no checks)."""
        self = cls.__new__(cls)
        ids = np.asarray(ids)
        ids.flags.writeable = False
        self._ids = ids
        self._kind = kind
        self._index = pd.Index(ids, dtype=np.int64 if kind == "int" else object, copy=False)
        self.name = name
        return self

    # ------------------------------------------------------------------ basics
    @property
    def kind(self) -> IDKind:
        """``"int"`` or ``"str"``: the type of the raw IDs."""
        return self._kind

    def __len__(self) -> int:
        return int(self._ids.size)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._ids.tolist())

    def __contains__(self, id_: object) -> bool:
        key = self._coerce(id_)
        return key is not None and key in self._index

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self is other or (
            self._kind == other._kind
            and len(self) == len(other)
            and bool(np.array_equal(self._ids, other._ids))
        )

    def __hash__(self) -> int:
        return hash((self._kind, len(self), tuple(self._ids[:8].tolist())))

    def __repr__(self) -> str:
        head = ", ".join(repr(v) for v in self._ids[:3].tolist())
        more = ", …" if len(self) > 3 else ""
        return (
            f"Vocabulary(name={self.name!r}, kind={self._kind!r}, {len(self)} IDs: [{head}{more}])"
        )

    # ------------------------------------------------------------------ lookups
    def _coerce(self, id_: object) -> Any:
        """Return ``id_`` converted to this vocabulary's ID type, or None if it cannot be.

        Text and integers go through :func:`~embedlab.data.parse_id`, the one parser of
        typed IDs (CLI, web, here): for integer IDs only plain ASCII digits with an
        optional sign (``"196"``, ``" -7 "``) within int64 are integers, so ``"١٢"``,
        ``"1_0"`` or ``10**30`` are unknown IDs, never item 12, 10 or an overflow.
        """
        if isinstance(id_, (bool, np.bool_)) or not isinstance(id_, (str, int, np.integer)):
            return None
        # _ids imports this module (IDKind), so import it here, not at the top
        from embedlab.data._ids import parse_id

        try:
            key = parse_id(id_, self._kind)
        except ValueError:  # an int of more than 4300 digits has no decimal text
            return None
        return key if self._kind == "str" or isinstance(key, int) else None

    def index(self, id_: Any) -> int:
        """Return the index of one raw ID.

        Raises:
            UnknownIDError: If the ID is not in the vocabulary.
        """
        key = self._coerce(id_)
        if key is None or key not in self._index:
            raise UnknownIDError(self._unknown_message([id_], 1))
        return int(self._index.get_loc(key))

    def indices(self, ids: Any, *, unknown: Literal["error", "negative"] = "error") -> np.ndarray:
        """Return the indices of many raw IDs as an ``int32`` array.

        Args:
            ids: Raw IDs (list, array, pandas or arrow column).
            unknown: ``"error"`` raises on any unknown ID; ``"negative"`` returns -1
                for unknown IDs (for callers that apply a fallback).

        Raises:
            UnknownIDError: If ``unknown="error"`` and some IDs are unknown.
            ValueError: If ``unknown`` is not one of the two choices.
        """
        if unknown not in ("error", "negative"):
            raise ValueError(f"unknown={unknown!r}; expected 'error' or 'negative'")
        if isinstance(ids, (str, bytes)) or np.isscalar(ids):
            raise TypeError(
                f"ids must be a sequence of IDs, got the single value {ids!r}; use index() for one ID"
            )
        if isinstance(ids, (pa.Array, pa.ChunkedArray)):
            ids = ids.to_numpy(zero_copy_only=False)
        if isinstance(ids, (list, tuple)):
            # np.asarray on a list of str makes a fixed-width array, which drops trailing
            # NULs, and on [2**63, 1] a float array, which would lose the int 1.
            plain = np.asarray(ids)
            arr = np.array(ids, dtype=object) if plain.dtype.kind in "UTOf" else plain
        else:
            arr = np.asarray(ids.to_numpy() if isinstance(ids, (pd.Series, pd.Index)) else ids)
        if arr.size == 0:
            return np.array([], dtype=np.int32)
        arr = arr.reshape(-1)
        query = self._coerce_array(arr)
        if query is None:
            coerced = [self._coerce(v) for v in arr.tolist()]
            result = np.full(arr.size, -1, dtype=np.int64)
            ok = np.array([c is not None for c in coerced])
            if ok.any():
                vals = [c for c in coerced if c is not None]
                result[ok] = self._index.get_indexer(
                    pd.Index(vals, dtype=np.int64 if self._kind == "int" else object)
                )
        else:
            result = self._index.get_indexer(query)
        missing = result < 0
        if unknown == "error" and missing.any():
            bad = arr[missing]
            raise UnknownIDError(self._unknown_message(bad[:5].tolist(), int(missing.sum())))
        return result.astype(np.int32)

    def _coerce_array(self, arr: np.ndarray) -> pd.Index | None:
        """Vectorised type coercion of a query array; None if it needs the slow path."""
        kind = arr.dtype.kind
        if self._kind == "int":
            # uint64 past int64 would wrap round to negative IDs: the slow path says unknown
            if kind == "i" or (kind == "u" and not (arr.size and arr.max() > _INT64_MAX)):
                return pd.Index(arr.astype(np.int64, copy=False))
            return None
        if kind in "UT":
            return pd.Index(arr.astype(object))
        if (
            kind == "O"
            and all(isinstance(v, str) for v in arr[:1000].tolist())
            and (arr.size <= 1000 or all(isinstance(v, str) for v in arr.tolist()))
        ):
            return pd.Index(arr, dtype=object)
        if kind in "iu":
            return pd.Index(arr.astype(str).astype(object))
        return None

    def _unknown_message(self, examples: Sequence[Any], count: int) -> str:
        first = examples[0] if examples else None
        shown = _shown(first)
        noun = f"{self.name} ID" if count == 1 else f"{self.name} IDs"
        hint = ""
        if self._kind == "str" and isinstance(first, float):
            hint = "; IDs are strings here"
        elif self._kind == "int" and isinstance(first, str):
            hint = "; IDs are integers here"
        elif isinstance(first, float):
            hint = "; floats are not IDs"
        return (
            f"{count} unknown {noun} (first: {shown}){hint}; the vocabulary has "
            f"{len(self)} {self.name} IDs"
        )

    def id(self, index: int) -> Any:
        """Return the raw ID at one index.

        Raises:
            IndexError: If ``index`` is not in ``0..len-1``.
        """
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(
                f"index must be an int row number, got {type(index).__name__} {index!r}"
            )
        if not 0 <= index < len(self):
            raise IndexError(f"{self.name} index {index} is out of range 0..{len(self) - 1}")
        return self._ids[int(index)].item() if self._kind == "int" else self._ids[int(index)]

    def ids(self, indices: Any = None) -> np.ndarray:
        """Return raw IDs: all of them in index order, or those at ``indices``.

        The array is read-only (int64 for integer IDs, object for strings).

        Raises:
            IndexError: If an index is out of range.
        """
        if indices is None:
            return self._ids
        idx = np.asarray(indices)
        if idx.size and idx.dtype.kind not in "iu":
            raise TypeError(f"indices must be integers, got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(
                f"{self.name} indices must be in 0..{len(self) - 1}, got {int(idx.min())}..{int(idx.max())}"
            )
        out = self._ids[idx]
        out.flags.writeable = False
        return out

    # ------------------------------------------------------------------ persistence
    def to_arrow(self) -> pa.Table:
        """The IDs as a one-column Arrow table (column ``id``), with kind and name in its metadata."""
        col = pa.array(self._ids, type=pa.int64() if self._kind == "int" else pa.string())
        meta = {"format": _FORMAT, "kind": self._kind, "name": self.name}
        return pa.table({"id": col}).replace_schema_metadata({"embedlab": json.dumps(meta)})

    @classmethod
    def from_arrow(cls, table: pa.Table, *, source: str = "table") -> Vocabulary:
        """Rebuild a vocabulary from :meth:`to_arrow` output.

        Raises:
            DataError: If the table is not a saved vocabulary.
        """
        raw = (table.schema.metadata or {}).get(b"embedlab")
        if raw is None or "id" not in table.column_names:
            raise DataError(
                f"{source}: not an embedlab vocabulary (expected an 'id' column and embedlab metadata)"
            )
        meta = json.loads(raw)
        if meta.get("format") != _FORMAT:
            raise DataError(
                f"{source}: vocabulary format {meta.get('format')!r} is not supported; expected {_FORMAT!r}"
            )
        col = table.column("id").to_numpy()
        if meta["kind"] == "str":
            col = np.asarray(col, dtype=object)
        return cls(col, name=meta.get("name", "id"))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the vocabulary to a Parquet file, atomically. Returns the path."""
        path = Path(path)
        with atomic_path(path) as tmp:
            pq.write_table(self.to_arrow(), tmp)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocabulary:
        """Read a vocabulary written by :meth:`save` (Parquet; no pickle).

        Raises:
            DataError: If the file is missing, unreadable or not a vocabulary.
        """
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: vocabulary file not found")
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{path}: cannot read vocabulary ({exc})") from None
        return cls.from_arrow(table, source=str(path))
