"""What a sample of delimited text says: its encoding, separator, header and column types.

Only the first lines of a text are looked at here (see :mod:`embedlab.data._delimited`).
"""

from __future__ import annotations

import codecs
import csv
import os
import re

import pyarrow as pa

from embedlab.data._columns import _ALIASES, _ROLES, _norm
from embedlab.exceptions import DataError

__all__ = ["sniff_table"]

#: Separators tried when ``sep`` is not given, in order of preference for ties.
_SEPARATORS = ("::", "\t", ",", ";", "|", " ")
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
_LEADING_ZERO = re.compile(r"^\s*[+-]?0\d")


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


_SEP_NAMES = {"\t": "tab", " ": "space"}


def _ragged_message(
    lines: list[str], sep: str, quoting: bool, source: str, numbers: list[int] | None
) -> str:
    """Rows with different numbers of ``sep``-separated fields: where, and how many."""
    counts = [len(_split_fields(line, sep, quoting)) for line in lines]
    numbers = numbers or list(range(1, len(lines) + 1))
    odd = [j for j, c in enumerate(counts) if c != counts[0]]
    name = _SEP_NAMES.get(sep, repr(sep))
    j = odd[0]
    return (
        f"{source}: the rows have different numbers of {name}-separated fields (line "
        f"{numbers[0]} has {counts[0]}, line {numbers[j]} has {counts[j]}; {len(odd)} of the "
        f"first {len(lines)} lines differ from line {numbers[0]}); every row needs the same "
        f"fields: fix or drop the ragged rows, and pass sep={sep!r} if {name} is the separator"
    )


def _sniff_sep(
    lines: list[str], quoting: bool, source: str, numbers: list[int] | None = None
) -> str:
    """The separator of ``lines`` (non-blank lines of the file's start; ``numbers``: their
    1-based line numbers in the file, for messages)."""
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
    if partial:  # a separator in every line's place, but rows of different lengths
        raise DataError(_ragged_message(lines, min(partial)[2], quoting, source, numbers))
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


#: How much of a file :func:`sniff_table` reads, and how many of its lines it looks at.
_TABLE_SAMPLE_BYTES = 64 * 1024
_TABLE_SAMPLE_LINES = 50


def sniff_table(
    path: str | os.PathLike[str], sep: str | None = None, header: bool | None = None
) -> tuple[str, bool]:
    """The field separator and header line of a delimited text file, as :func:`load_ratings` sees them.

    For readers that parse the file themselves (Spark): only the first 64 KiB are read,
    as UTF-8 (undecodable bytes replaced), and a value the caller gives is kept as is.

    Args:
        path: A local text file (CSV, TSV, ``::``-separated...).
        sep: The separator, if known; None sniffs it from the first lines.
        header: Whether the first line names the columns, if known; None detects it
            (column names such as ``userId`` or ``rating``, text above numbers).

    Returns:
        ``(sep, header)``.

    Raises:
        DataError: If the file holds no text, or no separator can be detected.
    """
    if sep is not None and header is not None:
        return sep, header
    with open(path, "rb") as handle:
        raw = handle.read(_TABLE_SAMPLE_BYTES)
    text = raw.decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines()[:_TABLE_SAMPLE_LINES] if line.strip()]
    if len(raw) == _TABLE_SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    source = os.fspath(path)
    if not lines:
        raise DataError(
            f"{source}: the file is empty; expected a ratings table with user, item and rating columns"
        )
    if sep is None:
        sep = _sniff_sep(lines, True, source)
    if header is None:
        header = _looks_like_header([_split_fields(line, sep, True) for line in lines[:20]])
    return sep, header
