"""The compiled parser (embedlab.data._fastcsv) against the pyarrow path it stands in for.

Every file is loaded twice through ``load_ratings``: once with the compiled parser
offered every text file (``FAST_MIN_BYTES = 0``), once with pyarrow only. Eligible
files must take the compiled path and give identical Interactions; ineligible ones
must fall back and give exactly what pyarrow gives (the same result or the same
error message).
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from embedlab import load_ratings
from embedlab.data import Interactions, _delimited, _fastcsv
from embedlab.exceptions import DataError

HEADER = "userId,movieId,rating,timestamp"


def _rows(n_users: int = 40, per_user: int = 6, seed: int = 0, sep: str = ",") -> list[str]:
    """MovieLens-like rows, sorted by user then item (enough of them for the word path)."""
    rng = random.Random(seed)
    stars = ["0.5", "1.0", "1.5", "2", "2.5", "3.0", "3.5", "4", "4.5", "5.0"]
    out = []
    for u in range(1, n_users + 1):
        for i in sorted(rng.sample(range(1, 3000), per_user)):
            out.append(
                sep.join(
                    [
                        str(u),
                        str(i),
                        rng.choice(stars),
                        str(rng.randrange(789_652_009, 1_427_784_002)),
                    ]
                )
            )
    return out


def _text(
    rows: list[str], header: str | None = HEADER, newline: str = "\n", final: bool = True
) -> bytes:
    lines = ([header] if header is not None else []) + rows
    return (newline.join(lines) + (newline if final else "")).encode()


Outcome = tuple[str, Any, list[str]]


def _outcome(path: Path, **kwargs: Any) -> Outcome:
    """``("ok", Interactions, warnings)`` or ``("error", message, warnings)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: Any = load_ratings(path, **kwargs)
            kind = "ok"
        except DataError as exc:
            kind, result = "error", str(exc)
    return kind, result, [str(w.message) for w in caught]


@pytest.fixture
def both(monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[Outcome, Outcome, bool]]:
    """Load a file with the compiled parser offered, then with pyarrow only.

    Returns ``(fast outcome, pyarrow outcome, whether the compiled parser read it)``.
    """

    real = _delimited._read_fast

    def run(path: Path, **kwargs: Any) -> tuple[Outcome, Outcome, bool]:
        used: list[bool] = []

        def spy(*args: Any, **kw: Any) -> Any:
            result = real(*args, **kw)
            used.append(result is not None)
            return result

        monkeypatch.setattr(_delimited, "_read_fast", spy)
        monkeypatch.setattr(_delimited, "FAST_MIN_BYTES", 0)
        fast = _outcome(path, **kwargs)
        monkeypatch.setattr(_delimited, "FAST_MIN_BYTES", 1 << 62)
        monkeypatch.setattr(_delimited, "FAST_MIN_BYTES_LOADED", 1 << 62)
        slow = _outcome(path, **kwargs)
        return fast, slow, any(used)

    return run


def _assert_same(a: Interactions, b: Interactions) -> None:
    for attr in ("user_index", "item_index", "rating"):
        x, y = getattr(a, attr), getattr(b, attr)
        assert x.dtype == y.dtype, attr
        np.testing.assert_array_equal(x, y, err_msg=attr)
    if b.timestamp is None:
        assert a.timestamp is None
    else:
        assert a.timestamp is not None and a.timestamp.dtype == b.timestamp.dtype
        np.testing.assert_array_equal(a.timestamp, b.timestamp)
    assert a.users == b.users and a.items == b.items
    assert a.users.kind == b.users.kind and a.items.kind == b.items.kind
    assert a.rating_scale == b.rating_scale
    assert a.name == b.name and len(a) == len(b)


def _assert_outcomes_equal(fast: Outcome, slow: Outcome) -> None:
    assert fast[0] == slow[0], (fast[1], slow[1])
    if fast[0] == "ok":
        _assert_same(fast[1], slow[1])
    else:
        assert fast[1] == slow[1]
    assert fast[2] == slow[2]


# ---------------------------------------------------------------------------- eligible files

ROWS = _rows()

ELIGIBLE: dict[str, tuple[bytes, dict[str, Any]]] = {
    "header": (_text(ROWS), {}),
    "no header": (_text(ROWS, header=None), {}),
    "crlf": (_text(ROWS, newline="\r\n"), {}),
    "crlf no final newline": (_text(ROWS, newline="\r\n", final=False), {}),
    "no final newline": (_text(ROWS, final=False), {}),
    "blank lines": (
        b"\n\n" + _text(ROWS[:50]) + b"\n\n" + _text(ROWS[50:], header=None) + b"\n\n",
        {},
    ),
    "double colon": (_text([r.replace(",", "::") for r in ROWS], header=None), {"sep": "::"}),
    "double colon sniffed": (_text([r.replace(",", "::") for r in ROWS], header=None), {}),
    "tab": (_text([r.replace(",", "\t") for r in ROWS], header=HEADER.replace(",", "\t")), {}),
    "semicolon": (_text([r.replace(",", ";") for r in ROWS], header=HEADER.replace(",", ";")), {}),
    "pipe": (
        _text([r.replace(",", "|") for r in ROWS], header=HEADER.replace(",", "|")),
        {"sep": "|"},
    ),
    "no timestamp": (
        _text([r.rsplit(",", 1)[0] for r in ROWS], header="userId,movieId,rating"),
        {},
    ),
    "timestamp ignored": (_text(ROWS), {"timestamp": False}),
    "utf-8 bom": (b"\xef\xbb\xbf" + _text(ROWS), {}),
    "single row": (_text(["7,42,3.5,978300760"]), {}),
    "single row no header": (b"7,42,3.5,978300760", {}),
    "negative and huge ids": (
        _text(
            [f"{u},{i},4,1" for u, i in [(-5, 10**15), (-5, -(10**15)), (0, 3), (2**40, 7)] * 20]
        ),
        {"duplicates": "last"},
    ),
    "ids beyond int32": (
        _text([f"{3_000_000_000 + u},{i},4.5,{u}" for u in range(30) for i in range(3)]),
        {},
    ),
    "sparse ids": (_text([f"{u * 10**7},{i},4.5,{u}" for u in range(30) for i in range(3)]), {}),
    "half stars and plain forms": (
        _text(
            [
                f"{u},{i},{r},5"
                for u in range(1, 30)
                for i, r in enumerate(["4", "4.0", "4.5", ".5", "5."], 1)
            ]
        ),
        {},
    ),
    "signs and exponents": (
        _text(
            [
                f"{u},{i},{r},5"
                for u in range(1, 30)
                for i, r in enumerate(["+4", "-1.5", "2.5e0", "25E-1", "0.0"], 1)
            ]
        ),
        {},
    ),
    "leading zeros after the sample": (_text([*ROWS, "0999,0012,4,0000000001"]), {}),
    "unsorted with duplicates, last": (
        _text(list(reversed(ROWS)) + ROWS[:5]),
        {"duplicates": "last"},
    ),
    "unsorted with duplicates, first": (
        _text(list(reversed(ROWS)) + ROWS[:5]),
        {"duplicates": "first"},
    ),
    "unsorted with duplicates, mean": (
        _text(list(reversed(ROWS)) + ROWS[:5]),
        {"duplicates": "mean"},
    ),
    "unsorted with duplicates, warn": (_text(list(reversed(ROWS)) + ROWS[:5]), {}),
    "unsorted with duplicates, error": (
        _text(list(reversed(ROWS)) + ROWS[:5]),
        {"duplicates": "error"},
    ),
    "unsorted without duplicates": (_text(list(reversed(ROWS))), {"duplicates": "error"}),
    "sorted duplicates": (_text([*ROWS[:10], ROWS[9], *ROWS[10:]]), {}),
    "rating scale": (_text(ROWS), {"rating_scale": (0.5, 5.0)}),
    "outside the rating scale": (_text(ROWS), {"rating_scale": (1, 5)}),
    "one rating value": (_text([f"{u},{i},4,1" for u in range(20) for i in range(3)]), {}),
    "extra text columns": (
        _text([f"{r},Toy Story (1995),x y" for r in ROWS], header=HEADER + ",title,tags"),
        {},
    ),
    "columns in another order": (
        _text(
            [",".join(reversed(r.split(","))) for r in ROWS],
            header="timestamp,rating,movieId,userId",
        ),
        {},
    ),
    "positions": (
        _text([f"x,{r}" for r in ROWS], header=None),
        {"user": 1, "item": 2, "rating": 3, "timestamp": 4},
    ),
    "quotes without quoting": (
        _text([r.replace(",", "::") + '::"q"' for r in ROWS], header=None),
        {"sep": "::"},
    ),
    "latin-1 header": (_text(ROWS), {"encoding": "latin-1"}),
}


@pytest.mark.parametrize("case", list(ELIGIBLE))
def test_eligible_files_take_the_compiled_path(tmp_path: Path, both: Any, case: str) -> None:
    data, kwargs = ELIGIBLE[case]
    path = tmp_path / "ratings.csv"
    path.write_bytes(data)
    fast, slow, used = both(path, **kwargs)
    assert used, "the compiled parser declined an eligible file"
    _assert_outcomes_equal(fast, slow)


def test_eligible_duplicates_warn_and_error_like_pyarrow(tmp_path: Path, both: Any) -> None:
    path = tmp_path / "ratings.csv"
    path.write_bytes(_text(list(reversed(ROWS)) + ROWS[:5]))
    fast, _, _ = both(path)
    assert fast[0] == "ok" and len(fast[2]) == 1 and "5 duplicate (user, item) rows" in fast[2][0]
    fast, _, _ = both(path, duplicates="error")
    assert fast[0] == "error" and "5 duplicate (user, item) rows" in fast[1]


def test_unknown_duplicate_policy_raises_on_sorted_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ratings.csv"
    path.write_bytes(_text(ROWS))
    monkeypatch.setattr(_delimited, "FAST_MIN_BYTES", 0)
    with pytest.raises(ValueError, match="duplicates='sometimes'"):
        load_ratings(path, duplicates="sometimes")  # type: ignore[arg-type]


def test_index_arrays_are_the_parsed_arrays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ratings.csv"
    path.write_bytes(_text(ROWS))
    monkeypatch.setattr(_delimited, "FAST_MIN_BYTES", 0)
    ds = load_ratings(path)
    assert ds.user_index.dtype == np.int32 and not ds.user_index.flags.writeable
    assert (
        ds.rating.dtype == np.float32
        and ds.timestamp is not None
        and ds.timestamp.dtype == np.int64
    )
    assert ds.users.ids().tolist() == sorted({int(r.split(",")[0]) for r in ROWS})


def test_small_files_stay_with_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ratings.csv"
    path.write_bytes(_text(ROWS))
    calls: list[Any] = []
    monkeypatch.setattr(_fastcsv, "read_numeric", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(_fastcsv, "_loaded", False)
    monkeypatch.setattr(_delimited, "FAST_MIN_BYTES", 1 << 20)
    monkeypatch.setattr(_delimited, "FAST_MIN_BYTES_LOADED", 100)
    load_ratings(path)  # below FAST_MIN_BYTES, and numba "not loaded"
    assert calls == []
    monkeypatch.setattr(_fastcsv, "_loaded", True)
    load_ratings(path)  # above FAST_MIN_BYTES_LOADED, numba loaded
    assert len(calls) == 1


def test_compressed_files_stay_with_pyarrow(tmp_path: Path, both: Any) -> None:
    import gzip

    path = tmp_path / "ratings.csv.gz"
    path.write_bytes(gzip.compress(_text(ROWS)))
    fast, slow, used = both(path)
    assert not used
    _assert_outcomes_equal(fast, slow)


# ---------------------------------------------------------------------------- ineligible files


def _with(row: int, text: str, rows: list[str] = ROWS) -> list[str]:
    out = list(rows)
    out[row] = text
    return out


INELIGIBLE: dict[str, tuple[bytes, dict[str, Any]]] = {
    "quoted fields": (_text([",".join(f'"{f}"' for f in r.split(",")) for r in ROWS]), {}),
    "one quoted field late": (_text(_with(200, '7,"42",3.5,978300760')), {}),
    "string ids after the sample": (_text(_with(200, "7,tt0111,3.5,978300760")), {}),
    "plus sign id": (_text(_with(200, "+7,42,3.5,978300760")), {}),
    "hex id": (_text(_with(200, "7,0x10,3.5,978300760")), {}),
    "fractional id": (_text(_with(200, "7.0,42,3.5,978300760")), {}),
    "ragged line (too few)": (_text(_with(150, "7,42,3.5")), {}),
    "ragged line (too many)": (_text(_with(150, "7,42,3.5,978300760,9")), {}),
    "ragged double colon": (
        _text(_with(150, "7::42:3.5::978300760"), header=None).replace(b",", b"::"),
        {},
    ),
    "bad rating": (_text(_with(220, "7,42,abc,978300760")), {}),
    "nan rating": (_text(_with(220, "7,42,nan,978300760")), {}),
    "inf rating": (_text(_with(220, "7,42,inf,978300760")), {}),
    "huge exponent": (_text(_with(220, "7,42,1e400,978300760")), {}),
    "too many digits": (_text(_with(220, "7,42,3.50000000000000000001,978300760")), {}),
    "empty rating": (_text(_with(220, "7,42,,978300760")), {}),
    "empty id": (_text(_with(220, ",42,3.5,978300760")), {}),
    "empty timestamp": (_text(_with(220, "7,42,3.5,")), {}),
    "date timestamp": (_text(_with(220, "7,42,3.5,2001-01-01")), {}),
    "spaces": (_text(_with(220, "7, 42,3.5,978300760")), {}),
    "lone carriage return": (
        _text(ROWS[:100]) + b"7,42,3.5,1\r8,42,3.5,1\n" + _text(ROWS[100:], header=None),
        {},
    ),
    "non-ascii title": (
        "\n".join([HEADER + ",title"] + [f"{r},Amélie" for r in ROWS]).encode(),
        {},
    ),
    "latin-1 title": (
        "\n".join([HEADER + ",title"] + [f"{r},Amélie" for r in ROWS]).encode("latin-1"),
        {"encoding": "latin-1"},
    ),
    "whitespace-only line": (_text(_with(120, "   ")), {}),
    "nul byte": (_text(_with(230, "7,42,3\x005,1")), {}),
    "utf-16": (_text(ROWS).decode().encode("utf-16"), {"encoding": "utf-16"}),
}


@pytest.mark.parametrize("case", list(INELIGIBLE))
def test_ineligible_files_fall_back_with_the_same_outcome(
    tmp_path: Path, both: Any, case: str
) -> None:
    data, kwargs = INELIGIBLE[case]
    path = tmp_path / "ratings.csv"
    path.write_bytes(data)
    fast, slow, used = both(path, **kwargs)
    assert not used, "the compiled parser accepted a file it should decline"
    _assert_outcomes_equal(fast, slow)


def test_fallback_still_names_the_bad_rows(tmp_path: Path, both: Any) -> None:
    path = tmp_path / "ratings.csv"
    path.write_bytes(_text(_with(150, "7,42,3.5")))
    fast, _, _ = both(path)
    assert fast[0] == "error" and "wrong number of fields" in fast[1] and "line 152" in fast[1]
    path.write_bytes(_text(_with(220, "7,42,nan,978300760")))
    fast, _, _ = both(path)
    assert fast[0] == "error" and "NaN" in fast[1] and "line 222" in fast[1]


# ---------------------------------------------------------------------------- the parser itself


def _parse(data: bytes, **kwargs: Any) -> _fastcsv.FastColumns | _fastcsv.NotEligible:
    options = {"ncols": 4, "user": 0, "item": 1, "rating": 2, "timestamp": 3}
    options.update(kwargs)
    return _fastcsv.parse_buffer(np.frombuffer(data, dtype=np.uint8), **options)


def _expected(
    rows: list[str], sep: str = ","
) -> tuple[list[int], list[int], np.ndarray, list[int]]:
    fields = [r.split(sep) for r in rows if r]
    return (
        [int(f[0]) for f in fields],
        [int(f[1]) for f in fields],
        np.array([float(f[2]) for f in fields], dtype=np.float64).astype(np.float32),
        [int(f[3]) for f in fields],
    )


@pytest.mark.parametrize("word_at_a_time", [True, False])
@pytest.mark.parametrize("n_chunks", [1, 2, 3, 7, 64, 1000, 10**6])
def test_chunk_edges_inside_lines(n_chunks: int, word_at_a_time: bool) -> None:
    rows = _rows(n_users=30, per_user=7, seed=3)
    rows = [*rows[:40], "", *rows[40:80], "", "", *rows[80:]]  # blank lines too
    data = _text(rows, newline="\r\n" if n_chunks % 2 else "\n")
    result = _parse(data, skip_lines=1, n_chunks=n_chunks, word_at_a_time=word_at_a_time)
    assert isinstance(result, _fastcsv.FastColumns)
    users, items, ratings, stamps = _expected(rows)
    assert result.user.tolist() == users and result.item.tolist() == items
    np.testing.assert_array_equal(result.rating, ratings)
    assert result.timestamp is not None and result.timestamp.tolist() == stamps
    assert result.user_range == (min(users), max(users)) and result.item_range == (
        min(items),
        max(items),
    )
    assert result.rating_range == (float(ratings.min()), float(ratings.max()))
    assert result.pairs_increasing


@pytest.mark.parametrize("n_chunks", [1, 5, 50])
def test_pairs_increasing_across_chunks(n_chunks: int) -> None:
    rows = _rows(n_users=20, per_user=5, seed=4)
    assert _parse(_text(rows, header=None), n_chunks=n_chunks).pairs_increasing  # type: ignore[union-attr]
    for bad in (
        [*rows[:50], rows[49], *rows[50:]],
        rows[:50] + rows[51:] + [rows[50]],
        list(reversed(rows)),
    ):
        result = _parse(_text(bad, header=None), n_chunks=n_chunks)
        assert isinstance(result, _fastcsv.FastColumns) and not result.pairs_increasing


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("7,42,3.5", "fewer fields"),
        ("7,42,3.5,1,2", "more fields"),
        ("7,tt42,3.5,1", "not a plain integer"),
        ("7,42,3.5x,1", "not a plain decimal"),
        ('7,"42",3.5,1', "not a plain integer"),
        ("7,42,1e99999,1", "exact fast conversion"),
        ("7,42,3.5,1\r8", "lone carriage return"),
    ],
)
@pytest.mark.parametrize("n_chunks", [1, 8])
def test_not_eligible_names_the_line(line: str, reason: str, n_chunks: int) -> None:
    rows = _rows(n_users=10, per_user=5)
    rows[30] = line
    result = _parse(_text(rows), skip_lines=1, n_chunks=n_chunks)
    assert isinstance(result, _fastcsv.NotEligible)
    assert reason in result.reason and result.line == 32
    assert str(result).startswith("line 32: ")


def test_skipped_fields_must_be_plain_ascii() -> None:
    rows = [f"{r},title" for r in _rows(n_users=5, per_user=4)]
    ok = _parse(_text(rows, header=None), ncols=5)
    assert isinstance(ok, _fastcsv.FastColumns) and len(ok) == 20
    for bad in ('"a,b"', "Amélie", "tab\x01"):
        rows[7] = f"1,2,3,4,{bad}"
        result = _parse(_text(rows, header=None), ncols=5)
        assert isinstance(result, _fastcsv.NotEligible) and result.line == 8
    rows[7] = '1,2,3,4,"quoted"'
    assert isinstance(
        _parse(_text(rows, header=None), ncols=5, quoting=False), _fastcsv.FastColumns
    )


def test_wide_ids_go_to_int64() -> None:
    rows = _rows(n_users=5, per_user=4)
    narrow = _parse(_text(rows, header=None))
    assert isinstance(narrow, _fastcsv.FastColumns) and narrow.user.dtype == np.int32
    wide = _parse(_text([*rows, "2147483648,1,3,4"], header=None))
    assert isinstance(wide, _fastcsv.FastColumns) and wide.user.dtype == np.int64
    assert wide.user[-1] == 2**31 and wide.user_range == (1, 2**31)
    negative = _parse(_text([*rows, "-2147483649,1,3,4"], header=None))
    assert isinstance(negative, _fastcsv.FastColumns) and negative.user.dtype == np.int64
    assert negative.user_range[0] == -(2**31) - 1


def test_not_eligible_inputs() -> None:
    assert isinstance(
        _parse(b"userId,movieId,rating,timestamp\n", skip_lines=1), _fastcsv.NotEligible
    )
    assert isinstance(
        _parse(b"userId,movieId,rating,timestamp", skip_lines=1), _fastcsv.NotEligible
    )
    assert isinstance(_parse(b"\n\n\n"), _fastcsv.NotEligible)
    assert isinstance(_parse("usér,b,c,d\n1,2,3,4\n".encode(), skip_lines=1), _fastcsv.NotEligible)
    assert isinstance(_parse(b"1,2,3,4\n", sep=",,,x"), _fastcsv.NotEligible)
    assert isinstance(
        _fastcsv.read_numeric(b"1,2,3,4\n", encoding="utf-16", ncols=4, user=0, item=1, rating=2),
        _fastcsv.NotEligible,
    )
    with pytest.raises(ValueError, match="distinct"):
        _parse(b"1,2,3,4\n", item=0)


def test_read_numeric_maps_files(tmp_path: Path) -> None:
    rows = _rows(n_users=10, per_user=5)
    path = tmp_path / "r.csv"
    path.write_bytes(_text(rows))
    from_file = _fastcsv.read_numeric(
        path, ncols=4, user=0, item=1, rating=2, timestamp=3, skip_lines=1
    )
    from_bytes = _fastcsv.read_numeric(
        _text(rows), ncols=4, user=0, item=1, rating=2, timestamp=3, skip_lines=1
    )
    assert isinstance(from_file, _fastcsv.FastColumns) and isinstance(
        from_bytes, _fastcsv.FastColumns
    )
    np.testing.assert_array_equal(from_file.rating, from_bytes.rating)
    (tmp_path / "empty.csv").write_bytes(b"")
    assert isinstance(
        _fastcsv.read_numeric(tmp_path / "empty.csv", ncols=4, user=0, item=1, rating=2),
        _fastcsv.NotEligible,
    )


def test_encode_ids_matches_a_sorted_vocabulary() -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(-50, 500, size=5000).astype(np.int32)
    expected_ids, expected_codes = np.unique(values, return_inverse=True)
    work = values.copy()
    ids = _fastcsv.encode_ids(work, int(values.min()), int(values.max()))
    assert ids is not None and ids.dtype == np.int64
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_array_equal(work, expected_codes)
    assert _fastcsv.encode_ids(values.astype(np.int64), -50, 500) is None  # not int32
    sparse = np.array([0, 2_000_000_000], dtype=np.int32)
    assert _fastcsv.encode_ids(sparse, 0, 2_000_000_000) is None  # range not compact
    np.testing.assert_array_equal(sparse, [0, 2_000_000_000])


# ---------------------------------------------------------------------------- property


_RATINGS = st.one_of(
    st.integers(0, 50).map(lambda k: f"{k / 10:g}"),
    st.integers(0, 10).map(str),
    st.sampled_from(
        ["4.5", "4.0", ".5", "3.", "0.25", "+2", "-1.5", "1e0", "2.5E-1", "007.50", "3.333333"]
    ),
)


@st.composite
def _tables_text(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    n = draw(st.integers(1, 40))
    small = st.integers(-3, 60)
    ids = st.one_of(small, small, st.integers(-(2**40), 2**40))
    users = draw(st.lists(ids, min_size=n, max_size=n))
    items = draw(st.lists(ids, min_size=n, max_size=n))
    ratings = draw(st.lists(_RATINGS, min_size=n, max_size=n))
    with_time = draw(st.booleans())
    stamps = draw(st.lists(st.integers(0, 2**40), min_size=n, max_size=n))
    if draw(st.booleans()):  # sorted by (user, item): the no-sort duplicate check
        order = sorted(range(n), key=lambda k: (users[k], items[k]))
        users, items, ratings, stamps = (
            [c[k] for k in order] for c in (users, items, ratings, stamps)
        )
    sep = draw(st.sampled_from([",", "\t", ";", "|", "::"]))
    header = draw(st.booleans())
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    rows = [
        sep.join([str(u), str(i), r] + ([str(t)] if with_time else []))
        for u, i, r, t in zip(users, items, ratings, stamps, strict=True)
    ]
    names = ["userId", "movieId", "rating"] + (["timestamp"] if with_time else [])
    text = newline.join(([sep.join(names)] if header else []) + rows)
    if draw(st.booleans()):
        text += newline
    kwargs: dict[str, Any] = {
        "sep": sep,
        "header": header,
        "duplicates": draw(st.sampled_from(["last", "mean", "error"])),
    }
    return text.encode(), kwargs


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=_tables_text())
def test_compiled_and_pyarrow_paths_agree(
    tmp_path: Path, both: Any, case: tuple[bytes, dict[str, Any]]
) -> None:
    data, kwargs = case
    path = tmp_path / "ratings.txt"
    path.write_bytes(data)
    fast, slow, _ = both(path, **kwargs)
    _assert_outcomes_equal(fast, slow)


@settings(max_examples=60, deadline=None)
@given(case=_tables_text(), n_chunks=st.integers(1, 64))
def test_word_and_byte_paths_agree(case: tuple[bytes, dict[str, Any]], n_chunks: int) -> None:
    data, kwargs = case
    first = data.split(b"\n", 1)[0].rstrip(b"\r").decode()
    ncols = len(first.split(kwargs["sep"]))
    options = {
        "ncols": ncols, "user": 0, "item": 1, "rating": 2, "timestamp": 3 if ncols == 4 else None,
        "sep": kwargs["sep"], "skip_lines": int(kwargs["header"]), "n_chunks": n_chunks,
    }  # fmt: skip
    word = _parse(data, word_at_a_time=True, **options)
    byte = _parse(data, word_at_a_time=False, **options)
    assert type(word) is type(byte)
    if isinstance(word, _fastcsv.FastColumns):
        for attr in ("user", "item", "rating", "timestamp"):
            np.testing.assert_array_equal(getattr(word, attr), getattr(byte, attr))
        assert (word.user_range, word.item_range, word.rating_range, word.pairs_increasing) == (
            byte.user_range,
            byte.item_range,
            byte.rating_range,
            byte.pairs_increasing,
        )  # type: ignore[union-attr]
    else:
        assert word == byte


def test_big_files_match_pyarrow(tmp_path: Path, both: Any) -> None:
    """Outputs above 1 MiB live in their own small-page memory maps; same results."""
    rng = np.random.default_rng(5)
    n = 300_000
    users = np.sort(rng.integers(1, 5000, n))
    items = rng.integers(1, 2000, n)
    stars = rng.integers(1, 11, n) / 2
    stamps = rng.integers(789_652_009, 1_427_784_002, n)
    lines = [f"{u},{i},{r:g},{t}" for u, i, r, t in zip(users, items, stars, stamps, strict=True)]
    path = tmp_path / "ratings.csv"
    path.write_bytes(_text(lines))
    fast, slow, used = both(path, duplicates="last")
    assert used
    _assert_outcomes_equal(fast, slow)
    parsed = _fastcsv.read_numeric(
        path, ncols=4, user=0, item=1, rating=2, timestamp=3, skip_lines=1
    )
    assert isinstance(parsed, _fastcsv.FastColumns) and parsed.timestamp is not None
    assert parsed.user.flags.writeable and parsed.timestamp.nbytes > 1 << 20
    np.testing.assert_array_equal(parsed.timestamp, stamps)
