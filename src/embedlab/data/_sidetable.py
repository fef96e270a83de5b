"""Side tables: item (or user) attributes read from a second CSV/TSV/Parquet file.

:func:`read_side_table` reads one into a DataFrame keyed by raw ID;
:meth:`Interactions.with_item_metadata <embedlab.data.Interactions.with_item_metadata>`
and :meth:`~embedlab.data.Interactions.with_user_metadata` attach it to a dataset.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from embedlab.data._ids import parse_id
from embedlab.data._sniff import _LEADING_ZERO, _normalise_sep, sniff_table
from embedlab.exceptions import DataError

__all__ = ["read_side_table", "read_table"]

_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def _key_ids(values: pd.Series, source: str, key: str) -> pd.Index:
    """The key column as raw IDs: int64 when every value is a plain integer, else str.

    Text keys with leading zeros (``"007"``) stay strings, as :func:`load_ratings`
    keeps them, so that they match the ratings' IDs.
    """
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise DataError(
            f"{source}: key column {key!r} has {int(values.isna().sum())} missing IDs "
            f"(first at data row {row + 1}); every row needs an ID: fill or drop those rows"
        )
    kind = values.dtype.kind
    if kind in "iu":
        return pd.Index(values.to_numpy().astype(np.int64), name=key)
    if kind == "f":
        arr = values.to_numpy()
        if np.all(arr == np.round(arr)):
            return pd.Index(arr.astype(np.int64), name=key)
        bad = arr[np.flatnonzero(arr != np.round(arr))[0]]
        raise DataError(
            f"{source}: key column {key!r} holds the fractional number {bad!r}; "
            "expected integer or string IDs (pass key=<column> to use another column)"
        )
    text = [str(v).strip() for v in values.tolist()]
    if text and not any(_LEADING_ZERO.match(t) for t in text):
        # parse_id, as every typed ID: ASCII digits within int64 only ("١٢", "1_0" stay text)
        parsed = [parse_id(t, "int") for t in text]
        if all(isinstance(v, int) for v in parsed):
            return pd.Index(np.array(parsed, dtype=np.int64), name=key)
    return pd.Index(text, dtype=object, name=key)


def _read_text(
    path: Path,
    display: str,
    sep: str | None,
    encoding: str | None,
    key: str | None,
    *,
    text_columns: tuple[str, ...] = (),
    key_as_text: bool = True,
) -> pd.DataFrame:
    encoding = encoding or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(
            f"{display}: encoding={encoding!r} is not a known text encoding; "
            "expected e.g. 'utf-8' or 'latin-1'"
        ) from None
    if sep is None:
        sep, _ = sniff_table(path, None, True)
    else:
        sep = _normalise_sep(sep, display)
    options = {"sep": sep, "encoding": encoding, "skipinitialspace": True}
    if len(sep) > 1:
        options["engine"] = "python"
    try:
        names = list(pd.read_csv(path, nrows=0, **options).columns)  # type: ignore[arg-type]
        # Only the key (and text_columns) are read as text (leading zeros kept); the
        # others keep their types.
        key = names[0] if key is None and names and key_as_text else key
        text = [c for c in (key, *text_columns) if c in names]
        dtype = {c: str for c in text} or None
        return pd.read_csv(path, dtype=dtype, **options)  # type: ignore[arg-type]
    except UnicodeDecodeError as exc:
        hint = (
            "pass encoding='latin-1' (or the file's real encoding)"
            if codecs.lookup(encoding).name != "iso8859-1"
            else "pass the file's real encoding"
        )
        raise DataError(
            f"{display}: some text is not valid {encoding} text (byte 0x{exc.object[exc.start]:02x}); {hint}"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{display}: the file is empty; expected a header line naming the columns, "
            "then one row per ID"
        ) from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unparsable text"
        raise DataError(
            f"{display}: cannot read as a table with sep={sep!r} ({detail}); "
            "pass sep= with the file's separator"
        ) from None


def _existing_file(path: str | os.PathLike[str], expected: str) -> tuple[Path, str]:
    file = Path(path).expanduser()
    display = os.fspath(path)
    if not file.exists():
        raise DataError(f"path={display!r}: file not found; expected {expected}")
    if file.is_dir():
        raise DataError(f"path={display!r}: is a folder; expected {expected}")
    return file, display


def _read_any(
    file: Path, display: str, sep: str | None, encoding: str | None, key: str | None, **text: Any
) -> pd.DataFrame:
    if _is_parquet(file):
        try:
            frame = pd.read_parquet(file)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise DataError(
                f"{display}: cannot read as Parquet ({exc}); expected a Parquet table"
            ) from None
        frame.columns = [str(c) for c in frame.columns]
        return frame
    return _read_text(file, display, sep, encoding, key, **text)


def read_table(
    path: str | os.PathLike[str],
    *,
    sep: str | None = None,
    encoding: str | None = None,
    text_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """Read a whole table with a header line: a CSV/TSV (any separator, compressed or
    not) or a Parquet file, e.g. the rows :class:`~embedlab.EmbeddingEncoder` learns from.

    Columns keep the types pandas or Parquet give them, except ``text_columns`` of a
    text file, read as text so that codes such as ``"007"`` keep their leading zeros.

    Raises:
        DataError: The file is missing, a folder, empty or unreadable (wrong
            ``encoding`` or ``sep``), or has no columns.
    """
    expected = "a CSV/TSV or Parquet table with a header line"
    file, display = _existing_file(path, expected)
    frame = _read_any(
        file, display, sep, encoding, None, text_columns=tuple(text_columns), key_as_text=False
    )
    if not len(frame.columns):
        raise DataError(f"{display}: the table has no columns; expected {expected}")
    return frame


def read_side_table(
    path: str | os.PathLike[str],
    *,
    key: str | None = None,
    label: str | None = None,
    sep: str | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a side table of item (or user) attributes, keyed by raw ID.

    A side table has a header line and one row per ID: the ID column, and any
    attributes (a name, a category, a price...). Attach it to a dataset with
    :meth:`Interactions.with_item_metadata <embedlab.data.Interactions.with_item_metadata>`
    (or ``with_user_metadata``); the ``label`` column then labels the items in
    neighbours, recommendations, maps and exports.

    Key IDs are integers when every one is a plain integer, else strings (IDs with
    leading zeros such as ``"007"`` stay strings), as :func:`load_ratings` reads IDs.
    Other columns keep the types pandas or Parquet give them.

    Args:
        path: A CSV/TSV (any separator; ``.gz``/``.bz2``/``.zip``/``.zst`` read on the
            fly) or a Parquet file.
        key: The column holding the IDs. None takes the first column.
        label: The column to use as the label (e.g. a product name); it is renamed
            ``label``. None: no label column is made.
        sep: Field separator of a text file; None sniffs it (``,``, tab, ``;``,
            ``|``, ``::``, space).
        encoding: Text encoding of a text file; None means UTF-8.

    Returns:
        A DataFrame indexed by the key's IDs (index name: the key column's name), with
        a ``label`` column first when ``label`` is given, then the other columns.

    Raises:
        DataError: The file is missing, empty or unreadable (wrong ``encoding`` or
            ``sep``); ``key`` or ``label`` names no column; a key is missing or
            repeated.

    Example:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "items.csv"
        >>> _ = p.write_text("code,name,price\\nA1,Tea,3.5\\nB2,Wine,12\\n")
        >>> read_side_table(p, label="name").reset_index()
          code label  price
        0   A1   Tea    3.5
        1   B2  Wine   12.0
    """
    file, display = _existing_file(
        path, "a CSV/TSV or Parquet side table with a header line and one row per ID"
    )
    frame = _read_any(file, display, sep, encoding, key)
    columns = list(frame.columns)
    if not columns:
        raise DataError(f"{display}: the table has no columns; expected an ID column first")
    key_name = columns[0] if key is None else key
    for arg, name in (("key", key_name), ("label", label)):
        if name is not None and name not in columns:
            raise DataError(
                f"{display}: {arg}={name!r} is not a column (columns: {', '.join(map(repr, columns))}); "
                f"pass {arg}=<column>"
            )
    ids = _key_ids(frame[key_name], display, key_name)
    if not ids.is_unique:
        dups = ids[ids.duplicated()]
        raise DataError(
            f"{display}: key column {key_name!r} repeats {len(dups.unique())} IDs "
            f"(first: {dups.tolist()[0]!r}); each ID needs one row (pass key=<column> if another column is the ID)"
        )
    out = frame.drop(columns=[key_name]) if label != key_name else frame.copy()
    if label is not None:
        if "label" in out.columns and label != "label":
            raise DataError(
                f"{display}: label={label!r} would be renamed 'label', but the table already has a "
                "'label' column; pass label='label' or rename one of them"
            )
        values = out.pop(label)
        if label == key_name:
            values = pd.Series([str(v) for v in ids], index=out.index)
        out.insert(0, "label", values.astype(object).where(values.notna(), None))
    out.index = ids
    return out
