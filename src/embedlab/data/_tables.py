"""Load a ratings table from a CSV/TSV/Parquet file, a pandas DataFrame or an Arrow table.

Delimited text goes through :func:`pyarrow.csv.read_csv` (multi-threaded, only the
needed columns, explicit column types); nothing loops over rows in Python except on
the error paths, which re-scan the file to name the offending line.

Column references: ``user``, ``item``, ``rating`` and ``timestamp`` each take a
column *name* (a header field, a DataFrame column) or a 0-based column *position*
(an ``int``). Names are detected from common aliases when not given; a file without
a header line has no names, so its columns default to positions 0, 1, 2 (and 3 for
the timestamp when that column holds integers).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import logging
import os
import re
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from embedlab.data._interactions import Interactions
from embedlab.data._validate import DuplicatePolicy, check_scale, row_label
from embedlab.data._vocab import Vocabulary
from embedlab.exceptions import DataError

if TYPE_CHECKING:
    from embedlab.data._fastcsv import FastColumns

__all__ = ["ColumnRef", "load_ratings"]

ColumnRef = str | int
"""A column name, or a 0-based column position."""

_ROLES = ("user", "item", "rating", "timestamp")

#: Column-name aliases per role, normalised (lower case, letters and digits only), best first.
_ALIASES: dict[str, tuple[str, ...]] = {
    "user": (
        "userid", "user", "uid", "users", "username", "customerid", "customer", "reviewerid",
        "memberid", "visitorid", "clientid", "raterid",
    ),
    "item": (
        "itemid", "movieid", "item", "movie", "iid", "items", "productid", "product", "bookid",
        "isbn", "asin", "trackid", "songid", "artistid", "animeid", "gameid", "jokeid",
        "businessid", "recipeid", "articleid",
    ),
    "rating": (
        "rating", "ratings", "score", "stars", "rate", "userrating", "bookrating", "preference",
        "overall", "value",
    ),
    "timestamp": (
        "timestamp", "time", "ts", "unixtime", "unixtimestamp", "unixreviewtime", "datetime",
        "date", "ratedat", "createdat", "timestamps",
    ),
}  # fmt: skip

#: How messages spell a few of the aliases.
_EXAMPLES = {
    "user": "userId, user_id, user, uid",
    "item": "movieId, item_id, item, iid",
    "rating": "rating, score, stars",
    "timestamp": "timestamp, time, ts, date",
}

#: Separators tried when ``sep`` is not given, in order of preference for ties.
_SEPARATORS = ("::", "\t", ",", ";", "|", " ")
_SAMPLE_BYTES = 64 * 1024
_SAMPLE_LINES = 50
_BLOCK_SIZE = 4 << 20
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
_LEADING_ZERO = re.compile(r"^\s*[+-]?0\d")

#: Text at least this big whose ID (and timestamp) columns hold integers is first offered
#: to the compiled parser (:mod:`embedlab.data._fastcsv`). Importing numba and loading the
#: cached kernels costs ~0.45 s once per process; from about this size on the compiled
#: path wins even with that cost (measured here: 26 MB 0.55 s vs 0.16 s with pyarrow,
#: 140 MB 0.69 s vs 0.85 s, 530 MB 1.1 s vs 4.8 s).
FAST_MIN_BYTES = 96 << 20
#: The threshold once the compiled parser has run in this process (26 MB: 0.04 s).
FAST_MIN_BYTES_LOADED = 1 << 20

_log = logging.getLogger(__name__)


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


# ---------------------------------------------------------------------------- sources


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


@dataclass
class RatingColumns:
    """Columns read from a source, before validation.

    Attributes:
        source: How messages name the source.
        labels: Column label per role, for messages (``None`` role → not present).
        arrays: NumPy array per role (``timestamp`` may be None).
        row_offset: Added to 0-based row numbers to give file line numbers.
        fast: What the compiled parser found (ID ranges, sortedness), when it read the
            text; None otherwise. Its ID arrays are also ``arrays["user"]`` and
            ``arrays["item"]``, and :func:`build_interactions` turns them into the index
            arrays in place: build once, then use the Interactions.
    """

    source: str
    labels: dict[str, str]
    arrays: dict[str, np.ndarray | None]
    row_offset: int
    fast: FastColumns | None = None


# ---------------------------------------------------------------------------- columns


def _check_ref(role: str, ref: Any) -> None:
    if role == "timestamp" and ref is False:
        return
    if ref is None:
        return
    if isinstance(ref, bool) or not isinstance(ref, (str, int, np.integer)):
        extra = " or False (no timestamp)" if role == "timestamp" else ""
        raise TypeError(
            f"{role}={ref!r}: expected a column name (str), a 0-based column position (int), "
            f"None (detect){extra}"
        )


def _detect_column(names: list[str], role: str, taken: set[int], source: str) -> int | None:
    aliases = _ALIASES[role]
    best: list[tuple[int, int]] = []
    for pos, name in enumerate(names):
        key = _norm(name)
        if pos in taken or key not in aliases:
            continue
        best.append((aliases.index(key), pos))
    if not best:
        return None
    best.sort()
    rank = best[0][0]
    tied = [pos for r, pos in best if r == rank]
    if len(tied) > 1:
        found = [names[p] for p in tied]
        raise DataError(
            f"{source}: several columns could be the {role} column ({found}); "
            f"pass {role}='<column>' to choose one"
        )
    return best[0][1]


def resolve_columns(
    names: list[str],
    refs: Mapping[str, Any],
    *,
    named: bool,
    source: str,
    default_timestamp: int | None = None,
) -> dict[str, int | None]:
    """Map each role to a column position.

    Args:
        names: Column names (header fields), or placeholders when ``named`` is False.
        refs: ``user``/``item``/``rating``/``timestamp`` as given by the caller.
        named: Whether the columns have real names (a header, a DataFrame).
        source: For messages.
        default_timestamp: Timestamp position for an unnamed table (None: no timestamp).

    Returns:
        Role → 0-based position (``timestamp`` may be None).

    Raises:
        DataError: A column that does not exist, cannot be detected, or is used twice.
        TypeError: A reference that is neither a name nor a position.
    """
    chosen: dict[str, int | None] = {}
    taken: set[int] = set()
    shown = names if named else [f"#{i}" for i in range(len(names))]
    positional = {"user": 0, "item": 1, "rating": 2, "timestamp": default_timestamp}
    # Explicit references first, so that detection never steals an explicitly chosen column.
    for role in _ROLES:
        ref = refs.get(role)
        _check_ref(role, ref)
        if ref is None or ref is False:
            continue
        if isinstance(ref, (int, np.integer)):
            pos = int(ref)
            if not 0 <= pos < len(names):
                raise DataError(
                    f"{source}: {role}={pos} is not a column position; the table has {len(names)} "
                    f"columns (positions 0..{len(names) - 1}): {shown}"
                )
        else:
            if not named:
                raise DataError(
                    f"{source}: {role}={ref!r} names a column, but the table has no header line; "
                    f"pass 0-based positions ({role}=0, ...) or header=True if the first line is a header"
                )
            if ref in names:
                pos = names.index(ref)
            else:
                folded = [
                    i for i, n in enumerate(names) if n.strip().lower() == ref.strip().lower()
                ]
                if len(folded) != 1:
                    raise DataError(
                        f"{source}: no column {ref!r} for {role}; columns present: {names}; "
                        f"pass {role}= one of those names or a 0-based position"
                    )
                pos = folded[0]
        chosen[role] = pos
        taken.add(pos)
    for role in _ROLES:
        ref = refs.get(role)
        if role in chosen:
            continue
        if ref is False:
            chosen[role] = None
            continue
        if named:
            pos = _detect_column(names, role, taken, source)
        else:
            pos = positional[role]
            if pos is not None and (pos >= len(names) or pos in taken):
                pos = None
        if pos is None and role != "timestamp":
            if named:
                examples = _EXAMPLES[role]
                raise DataError(
                    f"{source}: no {role} column found; columns present: {names}; expected a "
                    f"column named like {examples}, or pass {role}='<column>'"
                )
            raise DataError(
                f"{source}: the table has {len(names)} column(s) and no header; expected at least "
                f"3 (user, item, rating), or pass {role}=<0-based position>"
            )
        chosen[role] = pos
        if pos is not None:
            taken.add(pos)
    positions = [p for p in chosen.values() if p is not None]
    if len(set(positions)) != len(positions):
        dup = next(p for p in positions if positions.count(p) > 1)
        roles = [r for r, p in chosen.items() if p == dup]
        raise DataError(
            f"{source}: column {shown[dup]!r} is used for both {roles[0]} and {roles[1]}"
        )
    return chosen


# ---------------------------------------------------------------------------- sniffing


def _decode_sample(raw: bytes, encoding: str, *, final: bool, source: str) -> str:
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    except LookupError:
        raise DataError(
            f"encoding={encoding!r} is not a known text encoding (try 'utf-8' or 'latin-1')"
        ) from None
    try:
        return decoder.decode(raw, final=final)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(_encoding_message(source, encoding, line, raw[exc.start])) from None


def _encoding_message(source: str, encoding: str, line: int | None, byte: int | None) -> str:
    found = f" (byte 0x{byte:02x})" if byte is not None else ""
    where = f"line {line} is" if line is not None else "some text is"
    hint = (
        "pass encoding='latin-1' (or the file's real encoding)"
        if codecs.lookup(encoding).name != "iso8859-1"
        else "pass the file's real encoding"
    )
    return (
        f"{source}: {where} not valid {encoding} text{found}; expected {encoding}-encoded "
        f"delimited text; if this is a text file in another encoding, {hint}"
    )


def _known(encoding: str) -> bool:
    try:
        codecs.lookup(encoding)
    except LookupError:
        return False
    return True


def _split_fields(line: str, sep: str, quoting: bool) -> list[str]:
    if len(sep) == 1 and quoting:
        return next(csv.reader([line], delimiter=sep, quotechar='"', doublequote=True), [])
    return line.split(sep)


def _normalise_sep(sep: str, source: str) -> str:
    aliases = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}
    sep = aliases.get(sep, sep)
    if not sep or (len(sep) > 1 and len(set(sep)) != 1) or sep in ("\n", "\r", '"'):
        raise DataError(
            f"{source}: sep={sep!r} is not supported; expected one character (',', '\\t', ';', '|') "
            "or a repeated one such as '::'"
        )
    return sep


def _sniff_sep(lines: list[str], quoting: bool, source: str) -> str:
    perfect: list[tuple[int, int, str]] = []
    partial: list[tuple[float, int, str]] = []
    for order, cand in enumerate(_SEPARATORS):
        if not any(cand in line for line in lines):
            continue
        counts = [len(_split_fields(line, cand, quoting)) for line in lines]
        if counts[0] < 2:
            continue
        share = sum(c == counts[0] for c in counts) / len(counts)
        if share == 1.0:
            perfect.append((-counts[0], order, cand))
        else:
            partial.append((-share, order, cand))
    if perfect:
        return min(perfect)[2]
    if partial and -min(partial)[0] >= 0.5:
        return min(partial)[2]
    first = lines[0] if lines else ""
    raise DataError(
        f"{source}: cannot detect the column separator (the first line {first[:80]!r} has no "
        "',', tab, ';', '|' or '::' between fields); pass sep=',' (or the file's separator)"
    )


def _looks_like_header(rows: list[list[str]]) -> bool:
    first = rows[0]
    if any(_norm(f) in _ALIASES[role] for f in first for role in _ROLES):
        return True
    if len(rows) == 1:
        return any(f.strip() and not _NUMBER.match(f) for f in first)
    for second in rows[1:3]:
        for a, b in zip(first, second, strict=False):
            if a.strip() and not _NUMBER.match(a) and _NUMBER.match(b):
                return True
    return False


def _column_type(values: list[str], role: str) -> pa.DataType:
    values = [v for v in values if v.strip()]
    if role == "rating":
        return pa.float64()
    # IDs with leading zeros ("007", ISBNs) stay strings so that they keep their zeros.
    if values and all(_INTEGER.match(v) and not _LEADING_ZERO.match(v) for v in values):
        return pa.int64()
    return pa.string()


# ---------------------------------------------------------------------------- reading text


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
    lines = [line for line in lines if line.strip()][:_SAMPLE_LINES]
    if not lines:
        raise DataError(
            f"{source}: the file holds only blank lines; expected a ratings table with (user, item, rating) rows"
        )
    sep = _sniff_sep(lines, quoting, source) if sep is None else _normalise_sep(sep, source)
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


def _arrow_to_numpy(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return col.to_numpy(zero_copy_only=False)
    if pa.types.is_dictionary(col.type):
        return col.cast(col.type.value_type).to_numpy(zero_copy_only=False)
    if col.null_count == 0 and (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        return col.to_numpy()
    return col.to_pandas().to_numpy()


# ---------------------------------------------------------------------------- building


def _check_ids(values: np.ndarray, label: str, role: str, source: str, row_offset: int) -> None:
    if values.dtype.kind == "O":
        missing = np.asarray(pd.isna(values), dtype=bool)
    elif values.dtype.kind == "f":
        missing = np.isnan(values)
    else:
        return
    if not missing.any():
        return
    first = int(np.flatnonzero(missing)[0])
    raise DataError(
        f"{source}: column {label!r} has {int(missing.sum())} missing {role} IDs "
        f"(first at {row_label(first, row_offset)}); every row needs a {role} ID: fill or drop those rows"
    )


def build_interactions(
    cols: RatingColumns,
    *,
    rating_scale: tuple[float, float] | None,
    duplicates: DuplicatePolicy,
    name: str,
    item_metadata: pd.DataFrame | None = None,
    user_metadata: pd.DataFrame | None = None,
) -> Interactions:
    """Validate read columns with :meth:`Interactions.from_ids`.

    Raises:
        DataError: Missing IDs, bad ratings or timestamps, duplicates under ``"error"``.
    """
    if cols.fast is not None:
        return _interactions_from_fast(
            cols, cols.fast, rating_scale=rating_scale, duplicates=duplicates, name=name,
            item_metadata=item_metadata, user_metadata=user_metadata,
        )  # fmt: skip
    for role in ("user", "item"):
        _check_ids(cols.arrays[role], cols.labels[role], role, cols.source, cols.row_offset)  # type: ignore[arg-type]
    ts_label = cols.labels.get("timestamp", "timestamp")
    try:
        return Interactions.from_ids(
            cols.arrays["user"],
            cols.arrays["item"],
            cols.arrays["rating"],
            cols.arrays.get("timestamp"),
            rating_scale=rating_scale,
            duplicates=duplicates,
            item_metadata=item_metadata,
            user_metadata=user_metadata,
            name=name,
            source=cols.source,
            columns=(cols.labels["user"], cols.labels["item"], cols.labels["rating"], ts_label),
            row_offset=cols.row_offset,
        )
    except DataError as exc:
        # load_ratings(timestamp=None) means "detect"; False is how to leave the column out.
        message = str(exc)
        if "pass timestamp=None" in message:
            raise DataError(
                message.replace("pass timestamp=None", "pass timestamp=False to ignore the column")
            ) from None
        raise


def _vocabulary(
    values: np.ndarray, id_range: tuple[int, int], name: str
) -> tuple[Vocabulary, np.ndarray]:
    """Vocabulary and int32 indices of parsed integer IDs (in place when the range is compact)."""
    from embedlab.data._fastcsv import encode_ids

    ids = encode_ids(values, *id_range)
    if ids is None:
        return Vocabulary.from_values(values, name=name)
    return Vocabulary(ids, name=name), values


def _interactions_from_fast(
    cols: RatingColumns,
    fast: FastColumns,
    *,
    rating_scale: tuple[float, float] | None,
    duplicates: DuplicatePolicy,
    name: str,
    item_metadata: pd.DataFrame | None,
    user_metadata: pd.DataFrame | None,
) -> Interactions:
    """What :meth:`Interactions.from_ids` does, for columns the compiled parser read.

    Every check of ``from_ids`` still holds, most of them by construction: at least one
    row; integer IDs, none missing; finite ratings and int64 timestamps (the parser
    accepts nothing else). The scale check and the duplicate policy run as there; when
    the parser saw the (user, item) pairs strictly increasing, no pair can repeat and
    the duplicate sort is skipped. IDs with a compact range are encoded in place: the
    parser's ``int32`` arrays become the index arrays (no copy of 20M-row columns).
    """
    source, offset = cols.source, cols.row_offset
    rating = fast.rating
    if rating_scale is not None:
        check_scale(
            rating, rating_scale, source=source, column=cols.labels["rating"], row_offset=offset
        )
    users, ui = _vocabulary(fast.user, fast.user_range, "user")
    items, ii = _vocabulary(fast.item, fast.item_range, "item")
    return Interactions._from_indices(
        ui,
        ii,
        rating,
        fast.timestamp,
        users,
        items,
        duplicates=duplicates,
        rating_scale=rating_scale,
        item_metadata=item_metadata,
        user_metadata=user_metadata,
        name=name,
        source=source,
        row_offset=offset,
        pairs_increasing=fast.pairs_increasing,
        rating_range=fast.rating_range,
    )


def _frame_columns(frame: pd.DataFrame, refs: Mapping[str, Any], source: str) -> RatingColumns:
    labels_raw = list(frame.columns)
    names = [str(c) for c in labels_raw]
    # A DataFrame read with header=None has integer labels: a given int is then a label.
    refs = dict(refs)
    for role in _ROLES:
        ref = refs.get(role)
        if isinstance(ref, (int, np.integer)) and not isinstance(ref, bool) and ref in labels_raw:
            refs[role] = labels_raw.index(ref)
    positions = resolve_columns(names, refs, named=True, source=source)
    arrays: dict[str, np.ndarray | None] = {"timestamp": None}
    for role, pos in positions.items():
        if pos is None:
            continue
        series = frame.iloc[:, pos]
        arrays[role] = series  # type: ignore[assignment]
    for role in ("user", "item"):
        series = arrays[role]
        if series.isna().any():  # type: ignore[union-attr]
            arrays[role] = series.to_numpy(dtype=object)  # type: ignore[union-attr]
        elif series.dtype.kind in "iuf":  # type: ignore[union-attr]
            arrays[role] = series.to_numpy()  # type: ignore[union-attr]
        else:
            arrays[role] = series.to_numpy(dtype=object)  # type: ignore[union-attr]
    labels = {role: names[pos] for role, pos in positions.items() if pos is not None}
    return RatingColumns(source=source, labels=labels, arrays=arrays, row_offset=0)


def _arrow_columns(table: pa.Table, refs: Mapping[str, Any], source: str) -> RatingColumns:
    names = list(table.column_names)
    positions = resolve_columns(names, refs, named=True, source=source)
    arrays: dict[str, np.ndarray | None] = {"timestamp": None}
    for role, pos in positions.items():
        if pos is None:
            continue
        col = table.column(pos)
        if role == "timestamp" and (pa.types.is_timestamp(col.type) or pa.types.is_date(col.type)):
            arrays[role] = col.to_pandas()  # type: ignore[assignment]
        else:
            arrays[role] = _arrow_to_numpy(col)
    labels = {role: names[pos] for role, pos in positions.items() if pos is not None}
    return RatingColumns(source=source, labels=labels, arrays=arrays, row_offset=0)


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def _parquet_columns(path: Path, refs: Mapping[str, Any], source: str) -> RatingColumns:
    try:
        pfile = pq.ParquetFile(path)
        names = list(pfile.schema_arrow.names)
        positions = resolve_columns(names, refs, named=True, source=source)
        wanted = sorted({pos for pos in positions.values() if pos is not None})
        table = pfile.read(columns=[names[p] for p in wanted], use_threads=True)
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
        raise DataError(
            f"{source}: cannot read as Parquet ({exc}); expected a Parquet file"
        ) from None
    if table.num_rows == 0:
        raise DataError(
            f"{source}: the Parquet file has no rows; expected (user, item, rating) rows"
        )
    remapped = {
        role: (table.column_names.index(names[pos]) if pos is not None else False)
        for role, pos in positions.items()
    }
    return _arrow_columns(table, remapped, source)


def _source_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".bz2", ".zst", ".lz4"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return Path(name).stem or "ratings"


def load_ratings(
    source: str | os.PathLike[str] | pd.DataFrame | pa.Table,
    user: ColumnRef | None = None,
    item: ColumnRef | None = None,
    rating: ColumnRef | None = None,
    timestamp: ColumnRef | bool | None = None,
    *,
    sep: str | None = None,
    header: bool | None = None,
    rating_scale: tuple[float, float] | None = None,
    duplicates: DuplicatePolicy = "warn",
    encoding: str = "utf-8",
    name: str | None = None,
) -> Interactions:
    """Load a (user, item, rating[, timestamp]) table and validate it.

    Delimited text is read by :func:`pyarrow.csv.read_csv` on all cores, with only the
    needed columns and explicit types (IDs ``int64`` or ``string``, ratings
    ``float64``, timestamps ``int64``). Files ending in ``.gz``, ``.bz2`` or ``.zst``
    are decompressed on the fly.

    Args:
        source: A CSV/TSV/``::``-separated text file or a Parquet file (path), a
            :class:`pandas.DataFrame` or a :class:`pyarrow.Table`.
        user: The user column: a name, or a 0-based position. None detects it from
            common names (``userId``, ``user_id``, ``user``, ``UserID``, ``uid``...); in a
            file without a header line, position 0.
        item: The item column (detected from ``movieId``, ``item_id``, ``item``,
            ``iid``...; headerless: position 1).
        rating: The rating column (``rating``, ``score``, ``stars``...; headerless: 2).
        timestamp: The timestamp column, optional. None uses a column named like
            ``timestamp``, ``time``, ``ts`` or ``date`` if there is one (headerless: position 3
            when that column holds integers); False ignores timestamps.
        sep: Field separator of a text file: one character, or a repeated one such
            as ``"::"``. None sniffs it from the first 64 KiB (``::``, tab, ``,``,
            ``;``, ``|``, space).
        header: Whether the first line of a text file names the columns. None
            detects it (a first line with a non-number above numbers is a header).
        rating_scale: ``(low, high)``; a rating outside raises. None infers it
            from the data.
        duplicates: Repeated (user, item) pairs: ``"warn"`` (keep the last, warn
            with the count), ``"error"``, ``"last"``, ``"first"`` or ``"mean"``.
        encoding: Text encoding of a text file (``"latin-1"`` for old MovieLens files).
        name: Dataset name for summaries; default: the file's stem, or ``"ratings"``.

    Returns:
        The validated :class:`~embedlab.data.Interactions`. Row numbers in messages
        are file line numbers (counting the header; blank lines are not counted).

    Raises:
        DataError: Missing file; empty file or header only; missing, ambiguous or
            unknown columns; unparsable text (ragged rows, binary data); text that
            does not decode with ``encoding``; missing IDs; non-numeric, NaN or
            infinite ratings; ratings outside ``rating_scale``; duplicate pairs
            under ``duplicates="error"``.
        TypeError: A column reference that is neither a name nor a position, or a
            source of an unsupported type.

    Example:
        >>> import pandas as pd
        >>> ds = load_ratings(pd.DataFrame({"userId": [1, 1, 2], "movieId": [10, 20, 10],
        ...                                 "rating": [4.0, 3.0, 5.0]}))
        >>> len(ds), ds.n_users, ds.n_items
        (3, 2, 2)
    """
    refs = {"user": user, "item": item, "rating": rating, "timestamp": timestamp}
    for role, ref in refs.items():
        _check_ref(role, ref)
    if isinstance(source, pd.DataFrame):
        cols = _frame_columns(source, refs, "DataFrame")
        default_name = "ratings"
    elif isinstance(source, (pa.Table, pa.RecordBatch)):
        table = source if isinstance(source, pa.Table) else pa.Table.from_batches([source])
        cols = _arrow_columns(table, refs, "Arrow table")
        default_name = "ratings"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        display = str(source)
        if not path.exists():
            raise DataError(
                f"{display}: file not found; expected a CSV/TSV or Parquet ratings file"
            )
        if path.is_dir():
            raise DataError(
                f"{display}: is a folder; pass a ratings file, or use embedlab.data.load() / "
                "load_movielens() for a MovieLens folder"
            )
        if _is_parquet(path):
            cols = _parquet_columns(path, refs, display)
        elif zipfile.is_zipfile(path):
            raise DataError(
                f"{display}: is a zip archive, not a ratings table; use embedlab.data.load() or "
                "load_movielens() for a MovieLens archive, or extract the ratings file"
            )
        else:
            if sep is not None:
                sep = _normalise_sep(sep, display)
            cols = read_text_columns(
                TextSource(display=display, path=path),
                refs,
                sep=sep,
                header=header,
                encoding=encoding,
            )
        default_name = _source_name(path)
    else:
        raise TypeError(
            f"source must be a path, a pandas DataFrame or a pyarrow Table, got {type(source).__name__}"
        )
    return build_interactions(
        cols, rating_scale=rating_scale, duplicates=duplicates, name=name or default_name
    )
