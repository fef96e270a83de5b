"""Fast path for plain numeric ratings files: a compiled, parallel parser (numba).

Most ratings files are delimited text whose needed columns hold nothing but plain
numbers: ``userId,movieId,rating,timestamp`` with integer IDs, decimal ratings and
integer timestamps (every MovieLens release). This module parses exactly that case
straight from the file's bytes (memory-mapped) into preallocated NumPy arrays, on
all cores:

1. the bytes after the header are cut into chunks at line boundaries (a few per
   thread);
2. one parallel pass counts the lines of each chunk (an upper bound on its rows);
3. one parallel pass parses each chunk into its slice of the output arrays, and
   records per chunk the ID ranges, the rating range and whether the
   ``(user, item)`` pairs are strictly increasing (then no pair repeats, so the
   duplicate check needs no sort). IDs go to ``int32`` arrays when they fit, so
   that :func:`encode_ids` can turn them into index arrays in place.

A line goes word at a time (eight bytes per step, no per-digit branches) when its
fields are short unsigned integers and plain decimals; anything else on that line
(signs, exponents, CRLF before the last field, skipped columns, long numbers, errors)
goes byte by byte through :func:`_parse_line`, which gives the same values, or says
what is wrong.

The parser never guesses. Whenever the text is not in that simple form (quotes,
non-ASCII bytes, a field that is not a plain number, a missing value, a wrong
number of fields, a lone ``\\r``, a rating that the exact fast conversion cannot
handle) it returns :class:`NotEligible` with the reason and a line number, and the
caller reads the file with its general (pyarrow) path, which names the problem.

Numbers: IDs and timestamps are ``-?[0-9]{1,18}`` (leading zeros allowed, as
pyarrow's ``int64`` conversion allows them); ratings are
``[+-]?digits[.digits][(e|E)[+-]digits]`` with at least one digit, converted
exactly like a correctly rounded ``float64`` parse followed by a cast to
``float32`` (the value is ``m * 10**e`` or ``m / 10**-e`` with ``m <= 2**53`` and
``|e| <= 22``, both exact in double precision, so one IEEE operation rounds it
correctly; anything else is not eligible). Blank lines are skipped, as pyarrow
skips them, so row numbers agree.

Costs (2 cores, ML-20M shape, 530 MB): the kernels compile once (~11 s) and are
cached on disk next to this file (``__pycache__``); a fresh process then pays ~0.45 s
to import numba and load them, and ~0.6 s to parse (count 0.08 s; parse 0.4 s of
work plus the page faults of 400 MB of fresh output arrays).
"""

from __future__ import annotations

import codecs
import contextlib
import mmap
import os
from dataclasses import dataclass
from pathlib import Path

import numba as nb
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

__all__ = [
    "FastColumns",
    "NotEligible",
    "ascii_compatible",
    "encode_ids",
    "loaded",
    "parse_buffer",
    "read_numeric",
]

# Byte values.
_LF, _CR, _TAB, _QUOTE, _MINUS, _PLUS, _DOT = 10, 13, 9, 34, 45, 43, 46

# Roles of a column (``roles[j]``): what the parser does with field j.
_SKIP, _USER, _ITEM, _RATING, _TIME = -1, 0, 1, 2, 3

# Status codes of a chunk; 0 is success.
_OK = 0
_TOO_FEW = 1
_TOO_MANY = 2
_BAD_INT = 3
_BAD_NUMBER = 4
_INEXACT = 5
_BAD_BYTE = 6
_LONE_CR = 7
_BAD_SEP = 8
_ABORTED = 9  # another chunk failed first
_WIDE = 10  # an ID does not fit the output type

_REASONS = {
    _TOO_FEW: "a line has fewer fields than the header",
    _TOO_MANY: "a line has more fields than the header",
    _BAD_INT: "an ID or timestamp field is not a plain integer",
    _BAD_NUMBER: "a rating field is not a plain decimal number",
    _INEXACT: "a rating has too many digits or too large an exponent for the exact fast conversion",
    _BAD_BYTE: "a field holds a quote, a control character or a non-ASCII byte",
    _LONE_CR: "a line ends with a lone carriage return",
    _BAD_SEP: "a separator is not the exact repeated separator",
    _WIDE: "an ID does not fit in the output type",
}

# Per-chunk statistics (int64 columns).
_S_STATUS, _S_POS, _S_ROWS, _S_UMIN, _S_UMAX, _S_IMIN, _S_IMAX = 0, 1, 2, 3, 4, 5, 6
_S_INCR, _S_FIRST_U, _S_FIRST_I, _S_LAST_U, _S_LAST_I = 7, 8, 9, 10, 11
_N_STATS = 12

_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)  # exact in float64
_MAX_EXACT = 2**53
_I64_MAX = np.iinfo(np.int64).max
_I64_MIN = np.iinfo(np.int64).min

#: Chunks per thread: a little slack so that uneven chunks even out.
_CHUNKS_PER_THREAD = 4
#: Smallest chunk worth a task of its own.
_MIN_CHUNK_BYTES = 1 << 20

_loaded = False


def loaded() -> bool:
    """Whether the kernels have run in this process (numba's start-up cost is paid)."""
    return _loaded


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class FastColumns:
    """Columns parsed by the fast path, with facts gathered on the way.

    Attributes:
        user: User IDs: ``int32`` when they all fit, else ``int64``.
        item: Item IDs, likewise.
        rating: ``float32`` ratings (all finite).
        timestamp: ``int64`` timestamps, or None when the file has no such column.
        user_range: ``(min, max)`` of the user IDs.
        item_range: ``(min, max)`` of the item IDs.
        rating_range: ``(min, max)`` of the ratings (values of the float32 array).
        pairs_increasing: Whether the ``(user, item)`` pairs are strictly increasing
            row by row (sorted by user, then item): then no pair repeats.
    """

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    timestamp: np.ndarray | None
    user_range: tuple[int, int]
    item_range: tuple[int, int]
    rating_range: tuple[float, float]
    pairs_increasing: bool

    def __len__(self) -> int:
        return int(self.rating.size)


@dataclass(frozen=True)
class NotEligible:
    """Why the fast path declined a file (the caller falls back to the general reader).

    Attributes:
        reason: What is not in the simple numeric form.
        line: 1-based line number of the first offending line, when known.
    """

    reason: str
    line: int | None = None

    def __str__(self) -> str:
        return self.reason if self.line is None else f"line {self.line}: {self.reason}"


# ---------------------------------------------------------------------------- kernels
#
# Indices into arrays are cast to unsigned (``_U(p)``): NumPy-style negative-index
# wraparound is then impossible, so numba emits plain loads that LLVM can combine
# (eight byte loads become one 64-bit load). Arithmetic that mixes uint64 and
# int64 would give float64 in numba, so every mixed expression casts explicitly.

_U = np.uint64
_M01 = np.uint64(0x0101010101010101)
_M0F = np.uint64(0x0F0F0F0F0F0F0F0F)
_M30 = np.uint64(0x3030303030303030)
_M06 = np.uint64(0x0606060606060606)
_M7F = np.uint64(0x7F7F7F7F7F7F7F7F)
_M80 = np.uint64(0x8080808080808080)
_MLF = np.uint64(0x0A0A0A0A0A0A0A0A)
_POW10_INT = np.array([10**k for k in range(19)], dtype=np.int64)


@nb.njit(cache=True, nogil=True, inline="always")
def _load8(buf: np.ndarray, p: int) -> np.uint64:  # pragma: no cover - compiled
    """Bytes ``p..p+7`` as a little-endian word (the caller makes sure they exist)."""
    q = _U(p)
    return (
        _U(buf[q])
        | (_U(buf[q + _U(1)]) << _U(8))
        | (_U(buf[q + _U(2)]) << _U(16))
        | (_U(buf[q + _U(3)]) << _U(24))
        | (_U(buf[q + _U(4)]) << _U(32))
        | (_U(buf[q + _U(5)]) << _U(40))
        | (_U(buf[q + _U(6)]) << _U(48))
        | (_U(buf[q + _U(7)]) << _U(56))
    )


@nb.njit(cache=True, nogil=True, inline="always")
def _zero_bytes(x: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """High bit of each byte of ``x`` that is zero (exact: no carry crosses bytes)."""
    return ~(((x & _M7F) + _M7F) | x) & _M80


@nb.njit(cache=True, nogil=True, inline="always")
def _leading_digits(w: np.uint64) -> int:  # pragma: no cover - compiled
    """How many of the word's bytes, from the first, are ASCII digits (0..8)."""
    # A byte is a digit when its high nibble is 3 and it stays in 0x30..0x3F after
    # adding 6. A carry out of a byte >= 0xFA only disturbs later bytes, after a
    # byte that is already a non-digit.
    bad = ((w & ~_M0F) ^ _M30) | (((w + _M06) & ~_M0F) ^ _M30)
    nonzero = (((bad & _M7F) + _M7F) | bad) & _M80
    return np.int64(trailing_zeros(nonzero)) >> 3


@nb.njit(cache=True, nogil=True, inline="always")
def _digits_value(w: np.uint64, n: int) -> int:  # pragma: no cover - compiled
    """Value of the first ``n`` (1..8) bytes of ``w``, all ASCII digits."""
    v = w << _U(8 * (8 - n))  # drop the bytes after the digits; leading bytes become 0
    v = ((v & _M0F) * _U(2561)) >> _U(8)
    v = ((v & _U(0x00FF00FF00FF00FF)) * _U(6553601)) >> _U(16)
    v = ((v & _U(0x0000FFFF0000FFFF)) * _U(42949672960001)) >> _U(32)
    return np.int64(v)


@nb.njit(cache=True, nogil=True, inline="always")
def _word_int(buf: np.ndarray, p: int) -> tuple[int, int, int]:  # pragma: no cover - compiled
    """Digits at ``p`` (1..16 of them), a word at a time: (count, value, byte after them).

    A count of 0 means "not for this path" (no digit, more than 16, or a sign).
    """
    w = _load8(buf, p)
    n = _leading_digits(w)
    if n == 0:
        return 0, 0, 0
    if n < 8:
        return n, _digits_value(w, n), np.int64((w >> _U(8 * n)) & _U(255))
    w2 = _load8(buf, p + 8)
    n2 = _leading_digits(w2)
    if n2 == 8:
        return 0, 0, 0
    v = _digits_value(w, 8)
    if n2 == 0:
        return 8, v, np.int64(w2 & _U(255))
    return (
        8 + n2,
        v * _POW10_INT[n2] + _digits_value(w2, n2),
        np.int64((w2 >> _U(8 * n2)) & _U(255)),
    )


@nb.njit(cache=True, nogil=True, inline="always")
def _word_line(
    buf: np.ndarray, p: int, roles: np.ndarray, sepc: int, k: int
) -> tuple[bool, int, int, int, float, int]:  # pragma: no cover - compiled
    """Word-at-a-time parse of a line of unsigned integers and plain decimals.

    Returns ``(ok, next line start, user, item, rating, timestamp)``; ``ok`` False
    sends the line to :func:`_parse_line` (signs, exponents, skipped columns, long
    numbers, CRLF, errors), which gives the same values or names the problem.
    """
    ncols = roles.size
    u = np.int64(0)
    it = np.int64(0)
    t = np.int64(0)
    rating = 0.0
    for j in range(ncols):
        role = roles[j]
        if role == _RATING:
            n1, m, after = _word_int(buf, p)
            n2 = 0
            if after == _DOT:
                if n1 > 8:
                    return False, p, u, it, rating, t
                n2, frac, after = _word_int(buf, p + n1 + 1)
                if n2 == 0 or n1 + n2 > 15:
                    return False, p, u, it, rating, t
                m = m * _POW10_INT[n2] + frac
                p += n1 + 1 + n2
            elif n1 == 0 or n1 > 15:
                return False, p, u, it, rating, t
            else:
                p += n1
            rating = float(m) / _POW10[n2]  # both exact: one correctly rounded division
        elif role == _SKIP:
            return False, p, u, it, rating, t
        else:
            n1, x, after = _word_int(buf, p)
            if n1 == 0:
                return False, p, u, it, rating, t
            p += n1
            if role == _USER:
                u = x
            elif role == _ITEM:
                it = x
            else:
                t = x
        if j == ncols - 1:
            if after == _LF:
                p += 1
            elif after == _CR and buf[_U(p + 1)] == _LF:
                p += 2
            else:
                return False, p, u, it, rating, t
        else:
            if after != sepc:
                return False, p, u, it, rating, t
            for r in range(1, k):
                if buf[_U(p + r)] != sepc:
                    return False, p, u, it, rating, t
            p += k
    return True, p, u, it, rating, t


@nb.njit(cache=True, nogil=True)
def _parse_line(
    buf: np.ndarray, p: int, hi: int, roles: np.ndarray, sepc: int, k: int, quoting: bool
) -> tuple[int, int, bool, int, int, float, int]:  # pragma: no cover - compiled
    """Byte-by-byte parse of the line at ``p`` (the general path, and the one that names errors).

    Returns ``(status, next line start, blank, user, item, rating, timestamp)``.
    """
    ncols = roles.size
    u = np.int64(0)
    it = np.int64(0)
    t = np.int64(0)
    rating = 0.0
    if p < hi and buf[_U(p)] == _LF:
        return _OK, p + 1, True, u, it, rating, t
    if p + 1 < hi and buf[_U(p)] == _CR and buf[_U(p + 1)] == _LF:
        return _OK, p + 2, True, u, it, rating, t
    for j in range(ncols):
        role = roles[j]
        bad = _BAD_INT
        if role == _SKIP:
            while p < hi:
                b = buf[_U(p)]
                if b == sepc or b == _LF or b == _CR:  # noqa: SIM109 (numba)
                    break
                if b > 126 or (b < 32 and b != _TAB) or (quoting and b == _QUOTE):
                    return _BAD_BYTE, p, False, u, it, rating, t
                p += 1
            bad = _BAD_BYTE
        elif role == _RATING:
            neg = False
            if p < hi and (buf[_U(p)] == _MINUS or buf[_U(p)] == _PLUS):
                neg = buf[_U(p)] == _MINUS
                p += 1
            m = np.int64(0)
            nd = 0  # significant digits (after leading zeros)
            seen = 0  # digits of any kind
            ex = 0
            frac = False
            while p < hi:
                b = buf[_U(p)]
                if b == _DOT and not frac:
                    frac = True
                    p += 1
                    continue
                d = np.int64(b) - 48
                if d < 0 or d > 9:
                    break
                if m != 0 or d != 0:
                    if nd < 19:
                        m = m * 10 + d
                    nd += 1
                if frac:
                    ex -= 1
                seen += 1
                p += 1
            if seen == 0:
                return _BAD_NUMBER, p, False, u, it, rating, t
            if p < hi and (buf[_U(p)] == 101 or buf[_U(p)] == 69):  # e, E
                p += 1
                eneg = False
                if p < hi and (buf[_U(p)] == _MINUS or buf[_U(p)] == _PLUS):
                    eneg = buf[_U(p)] == _MINUS
                    p += 1
                x = 0
                ne = 0
                while p < hi:
                    d = np.int64(buf[_U(p)]) - 48
                    if d < 0 or d > 9:
                        break
                    if ne < 6:
                        x = x * 10 + d
                    ne += 1
                    p += 1
                if ne == 0:
                    return _BAD_NUMBER, p, False, u, it, rating, t
                if ne >= 6:
                    return _INEXACT, p, False, u, it, rating, t
                ex += -x if eneg else x
            if nd > 18 or m > _MAX_EXACT:
                return _INEXACT, p, False, u, it, rating, t
            if m == 0:
                v = 0.0
            elif ex == 0:
                v = float(m)
            elif 0 < ex <= 22:
                v = float(m) * _POW10[ex]
            elif -22 <= ex < 0:
                v = float(m) / _POW10[-ex]
            else:
                return _INEXACT, p, False, u, it, rating, t
            rating = -v if neg else v
            bad = _BAD_NUMBER
        else:
            neg = False
            if p < hi and buf[_U(p)] == _MINUS:
                neg = True
                p += 1
            s = p
            x = np.int64(0)
            while p < hi and p - s < 19:
                d = np.int64(buf[_U(p)]) - 48
                if d < 0 or d > 9:
                    break
                x = x * 10 + d
                p += 1
            if p == s or p - s > 18:
                return _BAD_INT, p, False, u, it, rating, t
            if neg:
                x = -x
            if role == _USER:
                u = x
            elif role == _ITEM:
                it = x
            else:
                t = x
        # What follows the field: the separator, or the line end after the last field.
        if j == ncols - 1:
            if p >= hi:
                return _OK, p, False, u, it, rating, t  # the file's last line, without a LF
            b = buf[_U(p)]
            if b == _LF:
                return _OK, p + 1, False, u, it, rating, t
            if b == _CR:
                if p + 1 < hi and buf[_U(p + 1)] == _LF:
                    return _OK, p + 2, False, u, it, rating, t
                return _LONE_CR, p, False, u, it, rating, t
            return (_TOO_MANY if b == sepc else bad), p, False, u, it, rating, t
        if p >= hi:
            return _TOO_FEW, p, False, u, it, rating, t
        b = buf[_U(p)]
        if b == _LF or b == _CR:  # noqa: SIM109 (numba)
            return _TOO_FEW, p, False, u, it, rating, t
        if b != sepc:
            return bad, p, False, u, it, rating, t
        for r in range(1, k):
            if p + r >= hi or buf[_U(p + r)] != sepc:
                return _BAD_SEP, p, False, u, it, rating, t
        p += k
    return _OK, p, False, u, it, rating, t  # not reached: the last field returns


@nb.njit(cache=True, nogil=True)
def _parse_chunk(
    buf: np.ndarray,
    lo: int,
    hi: int,
    roles: np.ndarray,
    sepc: int,
    k: int,
    quoting: bool,
    fast: bool,
    row0: int,
    id_lo: int,
    id_hi: int,
    out_user: np.ndarray,
    out_item: np.ndarray,
    out_rating: np.ndarray,
    out_time: np.ndarray,
    stats: np.ndarray,
    fstats: np.ndarray,
    abort: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Parse the lines in ``buf[lo:hi]`` into the outputs from row ``row0`` on.

    A line goes word-at-a-time when it can (short numeric fields, far enough from
    the end of the buffer); anything unusual goes through :func:`_parse_line`,
    which either parses it or says what is wrong.
    """
    n = buf.size
    ncols = roles.size
    has_time = False
    for j in range(ncols):
        has_time = has_time or roles[j] == _TIME
    reach = ncols * (17 + k) + 32  # bytes the word-at-a-time path may read from a line start
    row = row0
    umin, umax, imin, imax = _I64_MAX, _I64_MIN, _I64_MAX, _I64_MIN
    rmin, rmax = np.inf, -np.inf
    incr = 1
    first_u, first_i, last_u, last_i = 0, 0, 0, 0
    status = _OK
    p = lo
    line_start = lo
    while p < hi:
        if abort[0] != 0:
            status = _ABORTED
            break
        line_start = p
        ok = False
        u = np.int64(0)
        it = np.int64(0)
        t = np.int64(0)
        rating = 0.0
        nxt = p
        if fast and p + reach <= n:
            ok, nxt, u, it, rating, t = _word_line(buf, p, roles, sepc, k)
        if not ok:
            st, nxt, blank, u, it, rating, t = _parse_line(buf, p, hi, roles, sepc, k, quoting)
            if st != _OK:
                status = st
                break
            if blank:
                p = nxt
                continue
        if u < id_lo or u > id_hi or it < id_lo or it > id_hi:
            status = _WIDE
            break
        r32 = np.float32(rating)
        q = _U(row)
        out_user[q] = u
        out_item[q] = it
        out_rating[q] = r32
        if has_time:
            out_time[q] = t
        rv = np.float64(r32)
        rmin = min(rmin, rv)
        rmax = max(rmax, rv)
        umin = min(umin, u)
        umax = max(umax, u)
        imin = min(imin, it)
        imax = max(imax, it)
        if row == row0:
            first_u, first_i = u, it
        elif u < last_u or (u == last_u and it <= last_i):
            incr = 0
        last_u, last_i = u, it
        row += 1
        p = nxt
    if status != _OK and status != _ABORTED:
        abort[0] = 1
    stats[_S_STATUS] = status
    stats[_S_POS] = line_start
    stats[_S_ROWS] = row - row0
    stats[_S_UMIN] = umin
    stats[_S_UMAX] = umax
    stats[_S_IMIN] = imin
    stats[_S_IMAX] = imax
    stats[_S_INCR] = incr
    stats[_S_FIRST_U] = first_u
    stats[_S_FIRST_I] = first_i
    stats[_S_LAST_U] = last_u
    stats[_S_LAST_I] = last_i
    fstats[0] = rmin
    fstats[1] = rmax


@nb.njit(parallel=True, cache=True, nogil=True)
def _parse_chunks(
    buf: np.ndarray,
    bounds: np.ndarray,
    offsets: np.ndarray,
    roles: np.ndarray,
    sepc: int,
    k: int,
    quoting: bool,
    fast: bool,
    id_lo: int,
    id_hi: int,
    out_user: np.ndarray,
    out_item: np.ndarray,
    out_rating: np.ndarray,
    out_time: np.ndarray,
    stats: np.ndarray,
    fstats: np.ndarray,
) -> None:  # pragma: no cover - compiled
    abort = np.zeros(1, dtype=np.int64)
    for c in nb.prange(bounds.size - 1):
        _parse_chunk(
            buf, bounds[c], bounds[c + 1], roles, sepc, k, quoting, fast, offsets[c], id_lo, id_hi,
            out_user, out_item, out_rating, out_time, stats[c], fstats[c], abort,
        )  # fmt: skip


@nb.njit(cache=True, nogil=True)
def _chunk_bounds(buf: np.ndarray, start: int, n_chunks: int) -> np.ndarray:  # pragma: no cover
    """Chunk bounds ``start = b[0] <= b[1] <= ... <= b[n] = len(buf)``; inner ones follow a LF."""
    n = buf.size
    bounds = np.empty(n_chunks + 1, dtype=np.int64)
    bounds[0] = start
    for c in range(1, n_chunks):
        q = max(start + ((n - start) * c) // n_chunks, bounds[c - 1]) - 1
        q = max(q, start)
        while q < n and buf[_U(q)] != _LF:
            q += 1
        bounds[c] = min(q + 1, n)
    bounds[n_chunks] = n
    return bounds


@nb.njit(cache=True, nogil=True)
def _count_lf(buf: np.ndarray, lo: int, hi: int) -> int:  # pragma: no cover - compiled
    """LF bytes in ``buf[lo:hi]``, a word at a time."""
    count = 0
    p = lo
    while p + 8 <= hi:
        z = _zero_bytes(_load8(buf, p) ^ _MLF)
        count += np.int64(((z >> _U(7)) * _M01) >> _U(56))
        p += 8
    while p < hi:
        count += buf[_U(p)] == _LF
        p += 1
    return count


@nb.njit(parallel=True, cache=True, nogil=True)
def _count_lines(buf: np.ndarray, bounds: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Lines per chunk (an upper bound on its rows): LF count, plus a last line without one."""
    n_chunks = bounds.size - 1
    counts = np.zeros(n_chunks, dtype=np.int64)
    for c in nb.prange(n_chunks):
        lo, hi = bounds[c], bounds[c + 1]
        extra = 1 if hi > lo and buf[_U(hi - 1)] != _LF else 0
        counts[c] = _count_lf(buf, lo, hi) + extra
    return counts


# ---------------------------------------------------------------------------- driver


def ascii_compatible(encoding: str) -> bool:
    """Whether ``encoding`` decodes every ASCII byte to the same character (UTF-8, Latin-1...)."""
    try:
        return bytes(range(128)).decode(encoding) == "".join(map(chr, range(128)))
    except (LookupError, UnicodeDecodeError):
        return False


#: Bytes that :meth:`str.splitlines` treats as line breaks (besides LF and CR).
_OTHER_BREAKS = b"\x0b\x0c\x1c\x1d\x1e"


def _data_start(buf: np.ndarray, skip_lines: int, *, bom: bool) -> int | NotEligible:
    """Byte offset of the first data line: after a UTF-8 BOM and ``skip_lines`` lines.

    The skipped lines (blank lines on top, the header) must be ASCII with LF or CRLF
    line ends, so that counting them here agrees with how the caller and pyarrow did.
    """
    head = bytes(buf[: min(buf.size, 1 << 20)])
    p = 3 if bom and head.startswith(codecs.BOM_UTF8) else 0
    for line in range(1, skip_lines + 1):
        end = head.find(b"\n", p)
        if end < 0:
            if buf.size > len(head):
                return NotEligible("the lines before the data are longer than 1 MiB", line)
            return NotEligible("no data rows after the header", line)
        text = head[p:end].removesuffix(b"\r")
        if not text.isascii() or b"\r" in text or any(b in text for b in _OTHER_BREAKS):
            return NotEligible("a line before the data is not plain ASCII text", line)
        p = end + 1
    return p


def _empty(n: int, dtype: type) -> np.ndarray:
    """An uninitialised array, in small pages when it is big.

    NumPy asks for transparent huge pages on big arrays; where the kernel then
    compacts memory synchronously (``defrag=madvise``, a common default), a fresh
    process can stall for most of a second on the first touch of a few hundred MB
    (0.1 to 0.9 s for 400 MB here, against a steady 0.18 s in 4 KiB pages).
    """
    size = n * np.dtype(dtype).itemsize
    if size < _MIN_CHUNK_BYTES or not hasattr(mmap, "MADV_NOHUGEPAGE"):
        return np.empty(n, dtype=dtype)
    block = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    block.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(block, dtype=dtype, count=n)


def parse_buffer(
    buf: np.ndarray,
    *,
    ncols: int,
    user: int,
    item: int,
    rating: int,
    timestamp: int | None = None,
    sep: str = ",",
    skip_lines: int = 0,
    quoting: bool = True,
    bom: bool = True,
    n_chunks: int | None = None,
    word_at_a_time: bool = True,
) -> FastColumns | NotEligible:
    """Parse the numeric columns of delimited text held in a ``uint8`` array.

    Args:
        buf: The file's bytes.
        ncols: Fields per line (every line must have exactly this many).
        user: 0-based position of the user ID column; ``item``, ``rating`` and
            ``timestamp`` (None: none) likewise.
        sep: The separator: one character, or one repeated (``"::"``).
        skip_lines: Lines before the data (blank lines on top, the header).
        quoting: Whether ``"`` quotes fields (then any ``"`` makes the file not eligible).
        bom: Whether to step over a UTF-8 byte order mark (UTF-8 text).
        n_chunks: Pieces to cut the data into (default: a few per thread, at least
            1 MiB each); tests pass many to put line breaks on chunk edges.
        word_at_a_time: Whether lines may take the word-at-a-time path (False:
            every line goes byte by byte; for tests, which compare the two).

    Returns:
        The columns and facts, or :class:`NotEligible` saying why not.
    """
    if not sep or len(set(sep)) != 1 or sep in ("\n", "\r", '"') or not sep.isascii():
        return NotEligible(f"separator {sep!r} is not one ASCII character or a repeated one")
    wanted = [user, item, rating] + ([] if timestamp is None else [timestamp])
    if len(set(wanted)) != len(wanted) or not all(0 <= c < ncols for c in wanted):
        raise ValueError(f"column positions {wanted} must be distinct and in 0..{ncols - 1}")
    buf = np.asarray(buf)
    if buf.dtype != np.uint8 or buf.ndim != 1:
        raise TypeError(f"buf must be a 1-d uint8 array, got {buf.dtype} with {buf.ndim} dims")
    if buf.flags.writeable:  # one compiled signature: memory maps and bytes are read-only
        buf = buf.view()
        buf.flags.writeable = False
    start = _data_start(buf, skip_lines, bom=bom)
    if isinstance(start, NotEligible):
        return start
    roles = np.full(ncols, _SKIP, dtype=np.int64)
    roles[user], roles[item], roles[rating] = _USER, _ITEM, _RATING
    if timestamp is not None:
        roles[timestamp] = _TIME
    size = buf.size - start
    if n_chunks is None:
        n_chunks = max(1, min(nb.get_num_threads() * _CHUNKS_PER_THREAD, size // _MIN_CHUNK_BYTES))
    n_chunks = max(1, min(int(n_chunks), max(size, 1)))
    bounds = _chunk_bounds(buf, start, n_chunks)
    counts = _count_lines(buf, bounds)
    global _loaded
    _loaded = True
    total = int(counts.sum())
    if total == 0:
        return NotEligible("no data rows")
    offsets = np.zeros(n_chunks, dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    # IDs go to int32 arrays when they fit (the usual case: half the memory, and the
    # arrays can become the index arrays in place); otherwise parse again into int64.
    for id_type in (np.int32, np.int64):
        info = np.iinfo(id_type)
        out_user = _empty(total, id_type)
        out_item = _empty(total, id_type)
        out_rating = _empty(total, np.float32)
        out_time = _empty(total if timestamp is not None else 1, np.int64)
        stats = np.zeros((n_chunks, _N_STATS), dtype=np.int64)
        fstats = np.zeros((n_chunks, 2), dtype=np.float64)
        _parse_chunks(
            buf, bounds, offsets, roles, ord(sep[0]), len(sep), bool(quoting), bool(word_at_a_time),
            int(info.min), int(info.max), out_user, out_item, out_rating, out_time, stats, fstats,
        )  # fmt: skip
        status = stats[:, _S_STATUS]
        if not (status == _WIDE).any():
            break
    failed = np.flatnonzero((status != _OK) & (status != _ABORTED))
    if failed.size:
        c = int(failed[0])
        pos = int(stats[c, _S_POS])
        return NotEligible(_REASONS[int(status[c])], int(_count_lf(buf, 0, pos)) + 1)
    rows = stats[:, _S_ROWS]
    n = int(rows.sum())
    if n == 0:
        return NotEligible("no data rows")
    arrays = [out_user, out_item, out_rating] + ([out_time] if timestamp is not None else [])
    if n != total:  # blank lines: close the gaps between the chunks' rows
        keep = [slice(int(o), int(o + r)) for o, r in zip(offsets, rows, strict=True) if r]
        arrays = [np.concatenate([a[s] for s in keep]) for a in arrays]
    full = stats[rows > 0]
    pairs_increasing = bool(full[:, _S_INCR].all())
    if pairs_increasing and full.shape[0] > 1:
        lu, li = full[:-1, _S_LAST_U], full[:-1, _S_LAST_I]
        fu, fi = full[1:, _S_FIRST_U], full[1:, _S_FIRST_I]
        pairs_increasing = bool(np.all((fu > lu) | ((fu == lu) & (fi > li))))
    franges = fstats[rows > 0]
    return FastColumns(
        user=arrays[0],
        item=arrays[1],
        rating=arrays[2],
        timestamp=arrays[3] if timestamp is not None else None,
        user_range=(int(full[:, _S_UMIN].min()), int(full[:, _S_UMAX].max())),
        item_range=(int(full[:, _S_IMIN].min()), int(full[:, _S_IMAX].max())),
        rating_range=(float(franges[:, 0].min()), float(franges[:, 1].max())),
        pairs_increasing=pairs_increasing,
    )


def read_numeric(
    source: str | os.PathLike[str] | bytes,
    *,
    encoding: str = "utf-8",
    **options: object,
) -> FastColumns | NotEligible:
    """Parse a file on disk (memory-mapped) or bytes in memory with :func:`parse_buffer`.

    Args:
        source: A path to an uncompressed file, or the bytes.
        encoding: The text encoding; only encodings that keep ASCII as is are eligible.
        **options: Passed to :func:`parse_buffer` (``ncols``, ``user``, ``sep``...).

    Returns:
        The columns and facts, or :class:`NotEligible` saying why not.
    """
    if not ascii_compatible(encoding):
        return NotEligible(f"encoding {encoding!r} does not keep ASCII bytes as they are")
    bom = codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
    if isinstance(source, (bytes, bytearray, memoryview)):
        return parse_buffer(np.frombuffer(source, dtype=np.uint8), bom=bom, **options)  # type: ignore[arg-type]
    with open(Path(source), "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return NotEligible("the file is empty")
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)  # map every page now
        try:
            mm = mmap.mmap(fh.fileno(), 0, flags=flags, prot=mmap.PROT_READ)
        except (OSError, ValueError) as exc:  # pragma: no cover - e.g. a pipe or /proc file
            return NotEligible(f"cannot memory-map the file ({exc})")
    try:
        buf = np.frombuffer(mm, dtype=np.uint8)
        try:
            return parse_buffer(buf, bom=bom, **options)  # type: ignore[arg-type]
        finally:
            del buf
    finally:
        # A traceback that still holds the array keeps the buffer exported; the map is
        # then closed when that goes away, rather than masking the exception here.
        with contextlib.suppress(BufferError):
            mm.close()


# ---------------------------------------------------------------------------- encoding


@nb.njit(parallel=True, cache=True, nogil=True)
def _mark_present(values: np.ndarray, lo: int, present: np.ndarray) -> None:  # pragma: no cover
    for k in nb.prange(values.size):
        q = _U(values[k] - lo)
        # Every writer stores 1 (the race is benign), and only the first time: threads
        # that write the same small array over and over would fight over its cache lines.
        if present[q] == 0:
            present[q] = 1


@nb.njit(parallel=True, cache=True, nogil=True)
def _recode(values: np.ndarray, lo: int, lookup: np.ndarray) -> None:  # pragma: no cover - compiled
    for k in nb.prange(values.size):
        values[k] = lookup[_U(values[k] - lo)]


def encode_ids(values: np.ndarray, lo: int, hi: int) -> np.ndarray | None:
    """Replace ``int32`` IDs in place by their rank among the distinct IDs.

    Linear time over a presence array of the range ``lo..hi``, in parallel; used when
    that range is compact (at most ``4 * len(values) + 1_000_000`` wide, the rule
    :meth:`Vocabulary.from_values <embedlab.data.Vocabulary.from_values>` follows).

    Args:
        values: IDs, all in ``lo..hi`` (as the parser reported); overwritten.
        lo: The smallest ID.
        hi: The largest ID.

    Returns:
        The sorted distinct IDs (``int64``), or None (``values`` untouched) when the
        array is not ``int32`` or the range is not compact.
    """
    span = hi - lo + 1
    if values.dtype != np.int32 or not values.flags.writeable or span > 4 * values.size + 1_000_000:
        return None
    present = np.zeros(span, dtype=np.uint8)
    _mark_present(values, lo, present)
    lookup = np.cumsum(present, dtype=np.int32)
    lookup -= 1
    _recode(values, lo, lookup)
    return np.flatnonzero(present).astype(np.int64) + lo
