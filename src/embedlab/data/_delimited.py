"""Read the rating columns of delimited text (a file on disk or bytes in memory).

Delimited text goes through :func:`pyarrow.csv.read_csv` (multi-threaded, only the
needed columns, explicit column types); nothing loops over rows in Python except on
the error paths, which re-scan the file to name the offending line. Big plain numeric
text is first offered to the compiled parser (:mod:`embedlab.data._fastcsv`).
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from embedlab.data._columns import _ROLES, RatingColumns, _arrow_to_numpy, resolve_columns
from embedlab.data._sniff import (
    _INTEGER,
    _column_type,
    _decode_sample,
    _encoding_message,
    _known,
    _looks_like_header,
    _normalise_sep,
    _sniff_sep,
    _split_fields,
)
from embedlab.exceptions import DataError

if TYPE_CHECKING:
    from embedlab.data._fastcsv import FastColumns

__all__ = ["TextSource", "read_text_columns"]

_SAMPLE_BYTES = 64 * 1024
_SAMPLE_LINES = 50
_BLOCK_SIZE = 4 << 20

#: Text at least this big whose ID (and timestamp) columns hold integers is first offered
#: to the compiled parser (:mod:`embedlab.data._fastcsv`). Importing numba and loading the
#: cached kernels costs ~0.45 s once per process; from about this size on the compiled
#: path wins even with that cost (measured here: 26 MB 0.55 s vs 0.16 s with pyarrow,
#: 140 MB 0.69 s vs 0.85 s, 530 MB 1.1 s vs 4.8 s).
FAST_MIN_BYTES = 96 << 20
#: The threshold once the compiled parser has run in this process (26 MB: 0.04 s).
FAST_MIN_BYTES_LOADED = 1 << 20

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextSource:
    """Delimited text on disk or in memory (e.g. a member of a zip archive).

    Attributes:
        display: How messages name it (a path, or ``archive.zip:member``).
        path: The file on disk, or None.
        data: The bytes, when the text is in memory.
    """

    display: str
    path: Path | None = None
    data: bytes | None = None

    def open(self) -> Any:
        """A binary stream of the (decompressed) bytes."""
        if self.data is not None:
            return pa.BufferReader(self.data)
        return pa.input_stream(str(self.path), compression="detect")

    def arrow_input(self) -> Any:
        """What :func:`pyarrow.csv.read_csv` reads."""
        return pa.BufferReader(self.data) if self.data is not None else str(self.path)

    def size(self) -> int:
        """Size in bytes (on disk, before decompression)."""
        return len(self.data) if self.data is not None else os.path.getsize(self.path)  # type: ignore[arg-type]

    def head(self, n: int) -> bytes:
        """The first ``n`` bytes."""
        if self.data is not None:
            return self.data[:n]
        with self.open() as stream:
            return stream.read(n)


def _arrow_encoding(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    return "utf8" if name == "utf-8" else encoding


def _scan_lines(src: TextSource, encoding: str) -> tuple[int, int | None] | None:
    """Find the first line that does not decode (error path only): ``(line, byte)``."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line = 1
    with src.open() as stream:
        while True:
            chunk = stream.read(1 << 20)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # The failing byte is at exc.start of the bytes the decoder saw (pending + chunk).
                seen = exc.object
                return line + seen[: exc.start].count(b"\n"), seen[exc.start]
            if not chunk:
                return None
            # Count lines of everything except what the decoder still holds.
            pending = decoder.getstate()[0]
            done = chunk[: len(chunk) - len(pending)] if pending else chunk
            line += done.count(b"\n")


def _find_bad_rows(
    src: TextSource, read_options: Any, parse_options: pacsv.ParseOptions, k: int
) -> tuple[int, int | None, int, int, str]:
    """Re-read single-threaded, collecting rows with the wrong field count (error path)."""
    bad: list[Any] = []

    def handler(row: Any) -> str:
        bad.append(row)
        return "skip"

    opts = pacsv.ParseOptions(
        delimiter=parse_options.delimiter,
        quote_char=parse_options.quote_char,
        double_quote=parse_options.double_quote,
        newlines_in_values=parse_options.newlines_in_values,
        ignore_empty_lines=parse_options.ignore_empty_lines,
        invalid_row_handler=handler,
    )
    ro = pacsv.ReadOptions(
        use_threads=False,
        block_size=read_options.block_size,
        skip_rows=read_options.skip_rows,
        column_names=read_options.column_names,
        encoding=read_options.encoding,
    )
    first_col = read_options.column_names[0]
    conv = pacsv.ConvertOptions(include_columns=[first_col], column_types={first_col: pa.string()})
    with contextlib.suppress(pa.ArrowInvalid, UnicodeDecodeError):
        pacsv.read_csv(src.arrow_input(), read_options=ro, parse_options=opts, convert_options=conv)
    if not bad:
        return 0, None, 0, 0, ""
    first = bad[0]
    expected = (first.expected_columns + k - 1) // k
    actual = (first.actual_columns + k - 1) // k
    return len(bad), first.number, expected, actual, first.text


def _read_fast(
    src: TextSource,
    positions: Mapping[str, int | None],
    types: Mapping[str, pa.DataType],
    wanted: Mapping[str, str],
    *,
    ncols: int,
    sep: str,
    skip_lines: int,
    encoding: str,
    quoting: bool,
) -> FastColumns | None:
    """Offer plain numeric text to the compiled parser; None means "use pyarrow".

    Only text whose sampled ID (and timestamp) columns hold integers, uncompressed and
    at least :data:`FAST_MIN_BYTES` long (:data:`FAST_MIN_BYTES_LOADED` once numba is
    loaded), is offered. The parser declines anything
    outside its simple form (quotes, string IDs, missing or unparsable values, ragged
    lines...), and pyarrow then reads the file and names the problem.
    """
    if positions.get("rating") is None:  # implicit data without a weight column
        return None
    if any(types[col] != pa.int64() for role, col in wanted.items() if role != "rating"):
        return None
    if src.data is None and src.path is not None and _compression(src.path) is not None:
        return None
    loaded = sys.modules.get("embedlab.data._fastcsv")
    threshold = FAST_MIN_BYTES
    if loaded is not None and loaded.loaded():
        threshold = min(FAST_MIN_BYTES, FAST_MIN_BYTES_LOADED)
    if src.size() < threshold:
        return None
    try:
        from embedlab.data import _fastcsv  # imports numba: only for big files
    except ImportError as exc:  # pragma: no cover - numba is a dependency
        _log.debug("compiled parser unavailable (%s); reading with pyarrow", exc)
        return None
    result = _fastcsv.read_numeric(
        src.data if src.data is not None else src.path,  # type: ignore[arg-type]
        encoding=encoding,
        ncols=ncols,
        user=positions["user"],
        item=positions["item"],
        rating=positions["rating"],
        timestamp=positions.get("timestamp"),
        sep=sep,
        skip_lines=skip_lines,
        quoting=quoting,
    )
    if isinstance(result, _fastcsv.NotEligible):
        _log.debug("%s: compiled parser declined (%s); reading with pyarrow", src.display, result)
        return None
    return result


def _compression(path: Path) -> str | None:
    """The codec :func:`pyarrow.input_stream` would decompress ``path`` with, or None."""
    try:
        return pa.Codec.detect(str(path)).name
    except (TypeError, ValueError, pa.ArrowException):
        return None


def read_text_columns(
    src: TextSource,
    refs: Mapping[str, Any],
    *,
    sep: str | None = None,
    header: bool | None = None,
    encoding: str = "utf-8",
    quoting: bool = True,
) -> RatingColumns:
    """Read the user, item, rating (and timestamp) columns of delimited text.

    Args:
        src: The text.
        refs: Column references per role (names, positions, None to detect, timestamp False).
        sep: Field separator; None sniffs it from the first 64 KiB.
        header: Whether the first line is a header; None detects it.
        encoding: Text encoding.
        quoting: Whether ``"`` quotes fields (RFC 4180); MovieLens ``.dat`` files say no.

    Returns:
        The raw columns (not yet validated) and the row offset for messages.

    Raises:
        DataError: Empty or unparsable text, bad encoding, missing columns.
    """
    source = src.display
    raw = src.head(_SAMPLE_BYTES)
    complete = len(raw) < _SAMPLE_BYTES
    if not raw:
        raise DataError(
            f"{source}: the file is empty (0 bytes); expected a ratings table with (user, item, rating) rows"
        )
    wide = (
        codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")) if _known(encoding) else False
    )
    if b"\x00" in raw[:8192] and not wide:
        hint = (
            "; it looks like UTF-16 text: pass encoding='utf-16'"
            if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
            else ""
        )
        raise DataError(
            f"{source}: not a delimited text file (it contains NUL bytes, as binary files do); "
            f"expected CSV/TSV text or a Parquet file{hint}"
        )
    text = _decode_sample(raw, encoding, final=complete, source=source)
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines()
    if not complete and len(lines) > 1:
        lines = lines[:-1]
    lead = next((i for i, line in enumerate(lines) if line.strip()), 0)  # blank lines on top
    numbers = [i + 1 for i, line in enumerate(lines) if line.strip()][:_SAMPLE_LINES]
    lines = [line for line in lines if line.strip()][:_SAMPLE_LINES]
    if not lines:
        raise DataError(
            f"{source}: the file holds only blank lines; expected a ratings table with (user, item, rating) rows"
        )
    sep = (
        _sniff_sep(lines, quoting, source, numbers) if sep is None else _normalise_sep(sep, source)
    )
    k = len(sep)
    rows = [_split_fields(line, sep, quoting) for line in lines]
    if header is None:
        header = _looks_like_header(rows) or any(isinstance(refs.get(r), str) for r in _ROLES)
    names = [f.strip() for f in rows[0]] if header else [str(i) for i in range(len(rows[0]))]
    data_rows = rows[1:] if header else rows
    default_ts = None
    if not header and len(names) >= 4:
        sample = [r[3] for r in data_rows if len(r) > 3 and r[3].strip()]
        if sample and all(_INTEGER.match(v) for v in sample):
            default_ts = 3
    positions = resolve_columns(
        names, refs, named=bool(header), source=source, default_timestamp=default_ts
    )

    physical = [f"c{j}" for j in range(k * (len(names) - 1) + 1)]
    wanted = {role: f"c{pos * k}" for role, pos in positions.items() if pos is not None}
    types = {
        wanted[role]: _column_type([r[pos] for r in data_rows if len(r) > pos], role)
        for role, pos in positions.items()
        if pos is not None
    }
    labels = {
        role: (names[pos] if header else role) for role, pos in positions.items() if pos is not None
    }
    row_offset = lead + (2 if header else 1)
    fast = _read_fast(
        src,
        positions,
        types,
        wanted,
        ncols=len(names),
        sep=sep,
        skip_lines=lead + (1 if header else 0),
        encoding=encoding,
        quoting=quoting and k == 1,
    )
    if fast is not None:
        arrays: dict[str, np.ndarray | None] = {
            "user": fast.user,
            "item": fast.item,
            "rating": fast.rating,
            "timestamp": fast.timestamp,
        }
        return RatingColumns(
            source=source, labels=labels, arrays=arrays, row_offset=row_offset, fast=fast
        )
    read_options = pacsv.ReadOptions(
        use_threads=True,
        block_size=_BLOCK_SIZE,
        skip_rows=lead + 1 if header else lead,
        column_names=physical,
        encoding=_arrow_encoding(encoding),
    )
    parse_options = pacsv.ParseOptions(
        delimiter=sep[0],
        quote_char='"' if quoting and k == 1 else False,
        double_quote=True,
        newlines_in_values=False,
        ignore_empty_lines=True,
    )
    table = None
    for _attempt in range(len(types) + 1):
        convert_options = pacsv.ConvertOptions(
            include_columns=list(wanted.values()),
            column_types=types,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )
        try:
            table = pacsv.read_csv(
                src.arrow_input(),
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
            )
            break
        except pa.ArrowInvalid as exc:
            message = str(exc)
            match = re.search(r"In CSV column #(\d+): CSV conversion error to (\w+)", message)
            if "invalid UTF8" in message or "UTF-8" in message:
                where = _scan_lines(src, encoding)
                line, byte = where if where else (None, None)
                raise DataError(_encoding_message(source, encoding, line, byte)) from None
            if match and match.group(2) != "string":
                # pyarrow numbers columns by their position in the file.
                col = physical[int(match.group(1))] if int(match.group(1)) < len(physical) else None
                if col in types and types[col] != pa.string():
                    types[col] = pa.string()  # the validators name the bad rows
                    continue
            if "Expected" in message and "columns" in message:
                count, line, expected, actual, row_text = _find_bad_rows(
                    src, read_options, parse_options, k
                )
                if count:
                    where = f"line {line}" if line is not None else "a row"
                    raise DataError(
                        f"{source}: {count} row(s) have the wrong number of fields (first at {where}: "
                        f"expected {expected}, found {actual}: {row_text[:80]!r}); every row needs the "
                        f"same fields separated by {sep!r}: fix or drop those rows, or pass the right sep="
                    ) from None
            raise DataError(
                f"{source}: cannot parse as a {sep!r}-separated table ({message}); check the file"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{source}: cannot read the file ({exc})") from None
    if table is None:  # pragma: no cover - the loop either breaks or raises
        raise DataError(f"{source}: cannot parse the file")
    if table.num_rows == 0:
        if header:
            raise DataError(
                f"{source}: the file has a header line ({lines[0][:80]!r}) but no data rows; "
                "expected (user, item, rating) rows below it"
            )
        raise DataError(f"{source}: no data rows; expected (user, item, rating) rows")
    arrays = {role: _arrow_to_numpy(table.column(col)) for role, col in wanted.items()}
    arrays.setdefault("timestamp", None)
    return RatingColumns(source=source, labels=labels, arrays=arrays, row_offset=row_offset)
