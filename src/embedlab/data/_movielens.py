"""MovieLens loaders: every GroupLens layout, from a folder or a zip archive.

Layouts, detected from the files present (at the top of the folder or archive, or
one folder down):

============  ==========================================  ===========  ==========
layout        files                                       separators   scale
============  ==========================================  ===========  ==========
ml-100k       ``u.data`` ``u.item`` ``u.user`` ``u.genre``  tab, ``|``   1–5
ml-1m         ``ratings.dat`` ``movies.dat`` ``users.dat``  ``::``       1–5
ml-10m        ``ratings.dat`` ``movies.dat`` (no users)     ``::``       0.5–5
csv           ``ratings.csv`` ``movies.csv`` (20M, 25M,     ``,``        0.5–5
              32M, latest, latest-small)
============  ==========================================  ===========  ==========

Ratings files go through the fast pyarrow reader of :mod:`embedlab.data._delimited`;
the small metadata files are parsed with pandas.
"""

from __future__ import annotations

import contextlib
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from embedlab.data._build import build_interactions
from embedlab.data._columns import RatingColumns
from embedlab.data._delimited import TextSource, read_text_columns
from embedlab.data._ids import parse_id
from embedlab.data._interactions import Interactions
from embedlab.data._validate import DuplicatePolicy, row_label
from embedlab.exceptions import DataError

if TYPE_CHECKING:
    from embedlab.data._split import Split

__all__ = [
    "ML100K_GENRES",
    "ML100K_RATINGS_FILES",
    "detect_movielens",
    "is_ml100k_ratings_file",
    "load_ml100k_ratings_file",
    "load_movielens",
    "movielens_folds",
]

Layout = Literal["ml-100k", "ml-1m", "ml-10m", "csv"]

#: The 19 ML-100K genres in ``u.genre`` order (used when ``u.genre`` is absent).
ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip

_SCALES: dict[str, tuple[float, float]] = {
    "ml-100k": (1.0, 5.0),
    "ml-1m": (1.0, 5.0),
    "ml-10m": (0.5, 5.0),
    "csv": (0.5, 5.0),
}
_NAME = re.compile(r"ml-?(100k|10m|1m|20m|25m|32m|latest-small|latest)", re.IGNORECASE)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_NO_GENRES = "(no genres listed)"
_FOLDS = {"u": ("u1", "u2", "u3", "u4", "u5"), "a": ("ua",), "b": ("ub",)}
#: The ratings files of the ML-100K release: the whole set and the predefined folds.
ML100K_RATINGS_FILES = frozenset(
    {"u.data"}
    | {f"{fold}.{part}" for folds in _FOLDS.values() for fold in folds for part in ("base", "test")}
)


# ---------------------------------------------------------------------------- archive access


@dataclass
class _Dataset:
    """A MovieLens dataset found in a folder or a zip archive."""

    root: Path
    layout: Layout
    zf: zipfile.ZipFile | None
    prefix: str  # folder inside the root ("" or "ml-100k/"), POSIX style

    def _member(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def has(self, name: str) -> bool:
        if self.zf is not None:
            try:
                self.zf.getinfo(self._member(name))
            except KeyError:
                return False
            return True
        return (self.root / self.prefix / name).is_file()

    def display(self, name: str) -> str:
        if self.zf is not None:
            return f"{self.root}:{self._member(name)}"
        return str(self.root / self.prefix / name)

    def source(self, name: str) -> TextSource:
        if self.zf is not None:
            return TextSource(display=self.display(name), data=self.read_bytes(name))
        return TextSource(display=self.display(name), path=self.root / self.prefix / name)

    def read_bytes(self, name: str) -> bytes:
        if self.zf is not None:
            try:
                return self.zf.read(self._member(name))
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise DataError(
                    f"{self.display(name)}: cannot read from the archive ({exc})"
                ) from None
        try:
            return (self.root / self.prefix / name).read_bytes()
        except OSError as exc:
            raise DataError(f"{self.display(name)}: cannot read ({exc})") from None

    def require(self, name: str, why: str) -> None:
        if not self.has(name):
            raise DataError(f"{self.display(name)}: file not found; {why}")

    @property
    def name(self) -> str:
        """Canonical dataset name from the folder or archive name, else from the layout."""
        candidates = [
            PurePosixPath(self.prefix).name,
            self.root.stem if self.zf else self.root.name,
        ]
        if self.zf is None and self.prefix:
            candidates.append(self.root.name)
        for cand in candidates:
            match = _NAME.match(cand or "")
            if match:
                return f"ml-{match.group(1).lower()}"
        if self.layout != "csv":
            return self.layout
        return next((c for c in candidates if c), "movielens")


def _layout_of(names: set[str]) -> Layout | None:
    if "u.data" in names:
        return "ml-100k"
    if "ratings.dat" in names:
        return "ml-1m" if "users.dat" in names else "ml-10m"
    if "ratings.csv" in names and "movies.csv" in names:
        return "csv"
    return None


@contextlib.contextmanager
def _open_dataset(path: str | os.PathLike[str]) -> Iterator[_Dataset]:
    """Find the MovieLens layout in a folder or zip archive (raises if there is none)."""
    found = _find(Path(path).expanduser(), display=str(path))
    try:
        yield found
    finally:
        if found.zf is not None:
            found.zf.close()


def _find(root: Path, *, display: str) -> _Dataset:
    if not root.exists():
        raise DataError(f"{display}: not found; expected a MovieLens folder or .zip archive")
    if root.is_dir():
        levels = [("", {p.name for p in root.iterdir() if p.is_file()})]
        for sub in sorted(p for p in root.iterdir() if p.is_dir()):
            levels.append((f"{sub.name}/", {p.name for p in sub.iterdir() if p.is_file()}))
        top = _layout_of(levels[0][1])
        if top:
            return _Dataset(root, top, None, "")
        found = [(prefix, layout) for prefix, names in levels[1:] if (layout := _layout_of(names))]
        if len(found) > 1:
            raise DataError(
                f"{display}: holds several MovieLens datasets "
                f"({', '.join(p.rstrip('/') for p, _ in found)}); pass one of their folders"
            )
        if found:
            return _Dataset(root, found[0][1], None, found[0][0])
        listing = sorted(levels[0][1])[:10]
        raise DataError(
            f"{display}: not a MovieLens dataset (no u.data, ratings.dat or ratings.csv + movies.csv "
            f"here or one folder down; files: {listing}); pass a MovieLens folder or archive, or "
            "load a ratings file with load_ratings()"
        )
    if not zipfile.is_zipfile(root):
        raise DataError(
            f"{display}: not a folder or a .zip archive; expected a MovieLens folder or archive"
        )
    try:
        zf = zipfile.ZipFile(root)
        members = [n for n in zf.namelist() if not n.endswith("/")]
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{display}: cannot open the zip archive ({exc})") from None
    by_prefix: dict[str, set[str]] = {}
    for member in members:
        prefix, _, base = member.rpartition("/")
        by_prefix.setdefault(f"{prefix}/" if prefix else "", set()).add(base)
    candidates = [
        (prefix.count("/"), prefix, layout)
        for prefix, names in by_prefix.items()
        if not prefix.startswith("__MACOSX") and (layout := _layout_of(names))
    ]
    if candidates:
        depth = min(c[0] for c in candidates)
        shallowest = sorted(c for c in candidates if c[0] == depth)
        if len(shallowest) == 1:
            return _Dataset(root, shallowest[0][2], zf, shallowest[0][1])
        zf.close()
        raise DataError(
            f"{display}: the archive holds several MovieLens datasets "
            f"({', '.join(c[1].rstrip('/') for c in shallowest)}); extract the one you want"
        )
    zf.close()
    raise DataError(
        f"{display}: the archive holds no MovieLens dataset (no u.data, ratings.dat or ratings.csv + "
        "movies.csv); pass a MovieLens archive, or extract a ratings file and use load_ratings()"
    )


def detect_movielens(path: str | os.PathLike[str]) -> str | None:
    """The MovieLens layout of a folder or zip archive, or None if it holds none.

    Returns:
        ``"ml-100k"``, ``"ml-1m"``, ``"ml-10m"``, ``"csv"`` (ML-20M and later), or None.
    """
    try:
        with _open_dataset(path) as ds:
            return ds.layout
    except DataError:
        return None


# ---------------------------------------------------------------------------- metadata parsing


def _decode(raw: bytes) -> str:
    """UTF-8 (newer releases), falling back to latin-1 (ML-100K, ML-1M)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.removeprefix("\ufeff")


def _lines(raw: bytes) -> pd.Series:
    lines = [line for line in _decode(raw).splitlines() if line.strip()]
    return pd.Series(lines, dtype=object)


def _year(titles: pd.Series) -> pd.Series:
    """The last ``(YYYY)`` in each title, as Int64 (missing when absent)."""
    found = titles.astype(object).str.extract(r".*\((\d{4})\)", expand=False)
    return pd.to_numeric(found, errors="coerce").astype("Int64")


def _genre_lists(genres: pd.Series) -> list[list[str]]:
    out = []
    for value in genres.tolist():
        if not isinstance(value, str) or not value or value == _NO_GENRES:
            out.append([])
        else:
            out.append([g for g in value.split("|") if g and g != _NO_GENRES])
    return out


def _int_ids(values: pd.Series, source: str, what: str) -> np.ndarray:
    if values.dtype.kind in "iu":
        ids = values
    else:  # parse_id, as every typed ID: "1.5", "1e3", "١٢" or past int64 are no integer IDs
        parsed = [parse_id(str(v), "int") for v in values.tolist()]
        ids = pd.Series([v if isinstance(v, int) else None for v in parsed], dtype="Int64")
    bad = ids.isna().to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{source}: {int(bad.sum())} rows with a {what} ID that is not an integer "
            f"(first {values.iloc[first]!r} at line {first + 1}); expected integer IDs"
        )
    return ids.to_numpy(dtype=np.int64)


def _split_lines(
    raw: bytes, sep: str, n_fields: int, source: str, *, from_right: bool = False
) -> pd.DataFrame:
    """Split each line into exactly ``n_fields`` fields (error naming the first bad line)."""
    lines = _lines(raw)
    if lines.empty:
        raise DataError(
            f"{source}: the file is empty; expected {n_fields} {sep!r}-separated fields per line"
        )
    if from_right:
        # id::title::genres where a title may hold the separator: split the id off the
        # left and the genres off the right.
        head = lines.str.split(sep, n=1, expand=True)
        if head.shape[1] < 2:
            head[1] = None
        tail = head[1].str.rsplit(sep, n=1, expand=True)
        if tail.shape[1] < 2:
            tail[1] = None
        parts = pd.concat([head[0], tail[0], tail[1]], axis=1, ignore_index=True)
    else:
        parts = lines.str.split(sep, expand=True, regex=False)
    counts = lines.str.count(re.escape(sep)) + 1
    bad = (counts < n_fields) if from_right else (counts != n_fields)
    if bad.any() or parts.shape[1] != n_fields:
        first = int(np.flatnonzero(bad.to_numpy())[0]) if bad.any() else 0
        raise DataError(
            f"{source}: {int(bad.sum())} lines do not have {n_fields} {sep!r}-separated fields "
            f"(first at line {first + 1}: {lines.iloc[first][:80]!r}); the file is damaged or not "
            "from this MovieLens release"
        )
    return parts


def _parse_date(values: pd.Series) -> pd.Series:
    """``01-Jan-1995`` → datetime64 (locale independent); blanks → NaT."""
    parts = values.str.extract(r"^\s*(\d{1,2})-([A-Za-z]{3})-(\d{4})\s*$")
    frame = pd.DataFrame(
        {
            "year": pd.to_numeric(parts[2], errors="coerce"),
            "month": parts[1].str.lower().map(_MONTHS),
            "day": pd.to_numeric(parts[0], errors="coerce"),
        }
    )
    return pd.to_datetime(frame, errors="coerce")


def _items_100k(ds: _Dataset) -> pd.DataFrame | None:
    if not ds.has("u.item"):
        return None
    source = ds.display("u.item")
    genres = list(ML100K_GENRES)
    if ds.has("u.genre"):
        table = _split_lines(ds.read_bytes("u.genre"), "|", 2, ds.display("u.genre"))
        order = pd.to_numeric(table[1], errors="coerce")
        if order.notna().all() and len(table) == len(ML100K_GENRES):
            genres = table[0].to_numpy()[np.argsort(order.to_numpy(), kind="stable")].tolist()
    parts = _split_lines(ds.read_bytes("u.item"), "|", 5 + len(genres), source)
    flags = parts.iloc[:, 5:].apply(pd.to_numeric, errors="coerce")
    if flags.isna().any().any() or not flags.isin([0, 1]).all().all():
        row = int(np.flatnonzero((flags.isna() | ~flags.isin([0, 1])).any(axis=1).to_numpy())[0])
        raise DataError(
            f"{source}: genre flags must be 0 or 1 (line {row + 1} has "
            f"{parts.iloc[row, 5:].tolist()}); the file is damaged"
        )
    matrix = flags.to_numpy(dtype=bool)
    names = np.array(genres, dtype=object)
    titles = parts[1].astype(object)
    url = parts[4].where(parts[4].str.strip() != "", None)
    return pd.DataFrame(
        {
            "id": _int_ids(parts[0], source, "movie"),
            "title": titles,
            "genres": [names[row].tolist() for row in matrix],
            "year": _year(titles),
            "release_date": _parse_date(parts[2]),
            "imdb_url": url.astype(object),
        }
    )


def _users_100k(ds: _Dataset) -> pd.DataFrame | None:
    if not ds.has("u.user"):
        return None
    source = ds.display("u.user")
    parts = _split_lines(ds.read_bytes("u.user"), "|", 5, source)
    return pd.DataFrame(
        {
            "id": _int_ids(parts[0], source, "user"),
            "age": pd.to_numeric(parts[1], errors="coerce").astype("Int64"),
            "gender": parts[2].astype(object),
            "occupation": parts[3].astype(object),
            "zip": parts[4].astype(object),
        }
    )


def _movies_dat(ds: _Dataset) -> pd.DataFrame | None:
    if not ds.has("movies.dat"):
        return None
    source = ds.display("movies.dat")
    parts = _split_lines(ds.read_bytes("movies.dat"), "::", 3, source, from_right=True)
    titles = parts[1].astype(object)
    return pd.DataFrame(
        {
            "id": _int_ids(parts[0], source, "movie"),
            "title": titles,
            "genres": _genre_lists(parts[2]),
            "year": _year(titles),
        }
    )


#: ML-1M ``users.dat`` occupation codes, as its README lists them.
ML1M_OCCUPATIONS = (
    "other or not specified", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist", "self-employed",
    "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)  # fmt: skip


def _users_dat(ds: _Dataset) -> pd.DataFrame | None:
    if not ds.has("users.dat"):
        return None
    source = ds.display("users.dat")
    parts = _split_lines(ds.read_bytes("users.dat"), "::", 5, source)
    return pd.DataFrame(
        {
            "id": _int_ids(parts[0], source, "user"),
            "age": pd.to_numeric(parts[2], errors="coerce").astype("Int64"),
            "gender": parts[1].astype(object),
            "occupation": pd.to_numeric(parts[3], errors="coerce")
            .map(dict(enumerate(ML1M_OCCUPATIONS)))
            .astype(object),
            "zip": parts[4].astype(object),
        }
    )


def _movies_csv(ds: _Dataset) -> pd.DataFrame:
    src = ds.source("movies.csv")
    try:
        table = pacsv.read_csv(
            src.arrow_input(),
            read_options=pacsv.ReadOptions(use_threads=True),
            parse_options=pacsv.ParseOptions(
                delimiter=",", quote_char='"', double_quote=True, newlines_in_values=True
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=["movieId", "title", "genres"],
                column_types={"movieId": pa.int64(), "title": pa.string(), "genres": pa.string()},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, OSError) as exc:
        raise DataError(
            f"{src.display}: cannot read as a movieId,title,genres CSV file ({exc}); the file is "
            "damaged or not from a MovieLens release"
        ) from None
    titles = pd.Series(table.column("title").to_numpy(zero_copy_only=False), dtype=object)
    return pd.DataFrame(
        {
            "id": table.column("movieId").to_numpy(),
            "title": titles,
            "genres": _genre_lists(
                pd.Series(table.column("genres").to_numpy(zero_copy_only=False))
            ),
            "year": _year(titles),
        }
    )


# ---------------------------------------------------------------------------- ratings


def _ratings_columns(ds: _Dataset, name: str) -> RatingColumns:
    src = ds.source(name)
    if ds.layout == "csv":
        refs = {"user": "userId", "item": "movieId", "rating": "rating", "timestamp": None}
        return read_text_columns(src, refs, sep=",", header=True)
    refs = {"user": 0, "item": 1, "rating": 2, "timestamp": 3}
    sep = "\t" if ds.layout == "ml-100k" else "::"
    return read_text_columns(src, refs, sep=sep, header=False, quoting=False)


def load_movielens(
    path: str | os.PathLike[str], *, duplicates: DuplicatePolicy = "warn"
) -> Interactions:
    """Load a MovieLens dataset from its folder or its ``.zip`` archive.

    Every GroupLens layout is recognised from its files: ML-100K (``u.data``), ML-1M
    (``ratings.dat`` + ``users.dat``), ML-10M (``ratings.dat``, no users), and the CSV
    releases (``ratings.csv`` + ``movies.csv``: ML-20M, 25M, 32M, latest, latest-small).

    The item vocabulary holds the *rated* items. ``item_metadata`` has ``id``,
    ``title`` (exact, accents intact), ``genres`` (list of str; ``"(no genres
    listed)"`` gives ``[]``) and ``year`` (Int64 from the last ``(YYYY)`` in the
    title), plus ``release_date`` and ``imdb_url`` for ML-100K. ``user_metadata`` has
    ``age``, ``gender``, ``occupation`` and ``zip`` (a string) where the release has
    users: ML-100K (occupation as a name) and ML-1M (``age`` and ``occupation`` as
    the release's codes).

    Args:
        path: The dataset folder (files at its top or one folder down) or a zip archive of it.
        duplicates: Repeated (user, item) pairs: ``"warn"``, ``"error"``, ``"last"``,
            ``"first"`` or ``"mean"`` (GroupLens files have none).

    Returns:
        The ratings with timestamps, named like ``"ml-100k"`` or ``"ml-latest-small"``
        when the folder name says which release it is; rating scale 1–5 (100K, 1M)
        or 0.5–5 (10M and later).

    Raises:
        DataError: The path is missing or holds no MovieLens layout, or a file is
            damaged (wrong field counts, bad ratings or IDs, ratings off the scale).

    Example:
        >>> ds = load_movielens("~/data/ml-100k")  # doctest: +SKIP
        >>> ds.describe().n_ratings  # doctest: +SKIP
        100000
    """
    with _open_dataset(path) as ds:
        return _load_with_metadata(
            ds, _RATINGS_FILE[ds.layout], duplicates=duplicates, name=ds.name
        )


_RATINGS_FILE: dict[str, str] = {
    "ml-100k": "u.data",
    "ml-1m": "ratings.dat",
    "ml-10m": "ratings.dat",
    "csv": "ratings.csv",
}


def _load_with_metadata(
    ds: _Dataset, ratings_file: str, *, duplicates: DuplicatePolicy, name: str
) -> Interactions:
    """One ratings file of ``ds`` with the dataset's item and user metadata attached."""
    if ds.layout == "ml-100k":
        items, users = _items_100k(ds), _users_100k(ds)
    elif ds.layout in ("ml-1m", "ml-10m"):
        items, users = _movies_dat(ds), _users_dat(ds)
    else:
        items, users = _movies_csv(ds), None
    cols = _ratings_columns(ds, ratings_file)
    ratings = build_interactions(
        cols, rating_scale=_SCALES[ds.layout], duplicates=duplicates, name=name
    )
    # Titles, genres and user attributes arrive as side tables, as a user's own do.
    if items is not None:
        ratings = ratings.with_item_metadata(items)
    return ratings if users is None else ratings.with_user_metadata(users)


def is_ml100k_ratings_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is ``u.data`` or a fold file (``u1.base`` … ``ub.test``) of an
    ML-100K folder: a file of one of those names whose folder holds ``u.data``."""
    p = Path(path).expanduser()
    if p.name not in ML100K_RATINGS_FILES or not p.is_file():
        return False
    return (p.parent / "u.data").is_file()


def load_ml100k_ratings_file(
    path: str | os.PathLike[str], *, duplicates: DuplicatePolicy = "warn"
) -> Interactions:
    """Load ``u.data`` or a fold file of an ML-100K folder, with the folder's metadata.

    The file is read with the release's column layout (tab-separated user, item,
    rating, timestamp; scale 1–5), and ``item_metadata`` and ``user_metadata`` come
    from the folder's ``u.item`` and ``u.user`` as :func:`load_movielens` makes them,
    aligned to the IDs that this file holds.

    Args:
        path: ``u.data``, ``u1.base`` … ``u5.test``, ``ua.base``, ``ua.test``,
            ``ub.base`` or ``ub.test`` in an ML-100K folder.
        duplicates: Repeated (user, item) pairs, as in :func:`load_movielens`.

    Returns:
        The ratings, named like ``"ml-100k u1.base"`` (``"ml-100k"`` for ``u.data``).

    Raises:
        DataError: ``path`` is not one of those files in an ML-100K folder, or a file
            is damaged.
    """
    p = Path(path).expanduser()
    if not is_ml100k_ratings_file(p):
        raise DataError(
            f"{path}: not an ML-100K ratings file (expected one of "
            f"{', '.join(sorted(ML100K_RATINGS_FILES))} in a folder holding u.data); "
            "load other files with load_ratings()"
        )
    with _open_dataset(p.parent) as ds:
        name = ds.name if p.name == "u.data" else f"{ds.name} {p.name}"
        return _load_with_metadata(ds, p.name, duplicates=duplicates, name=name)


# ---------------------------------------------------------------------------- ML-100K folds


def _fold_part(ds: Interactions, archive: _Dataset, file: str, *, name: str) -> Interactions:
    archive.require(
        file,
        "the ML-100K release ships u1..u5, ua and ub .base/.test files; use the complete archive",
    )
    cols = _ratings_columns(archive, file)
    source = cols.source
    for role, vocab in (("user", ds.users), ("item", ds.items)):
        ids = cols.arrays[role]
        idx = vocab.indices(ids, unknown="negative")  # type: ignore[arg-type]
        unknown = idx < 0
        if unknown.any():
            first = int(np.flatnonzero(unknown)[0])
            bad = ids[first]  # type: ignore[index]
            bad = bad.item() if isinstance(bad, np.generic) else bad
            raise DataError(
                f"{source}: {int(unknown.sum())} {role} IDs are not in the dataset {ds.name!r} "
                f"(first {bad!r} at {row_label(first, cols.row_offset)}); the folds must come "
                "from the same ML-100K copy as the dataset"
            )
    return Interactions.from_ids(
        cols.arrays["user"],
        cols.arrays["item"],
        cols.arrays["rating"],
        cols.arrays["timestamp"],
        rating_scale=ds.rating_scale,
        duplicates="error",
        item_metadata=ds.item_metadata,
        user_metadata=ds.user_metadata,
        user_vocab=ds.users,
        item_vocab=ds.items,
        name=name,
        source=source,
        columns=("user", "item", "rating", "timestamp"),
        row_offset=cols.row_offset,
    )


def movielens_folds(
    ds: Interactions, path: str | os.PathLike[str], which: str = "u"
) -> list[Split]:
    """The predefined ML-100K train/test folds, over the vocabularies of ``ds``.

    Args:
        ds: The ML-100K dataset, as loaded by :func:`load_movielens` from ``path``.
        path: The ML-100K folder or zip archive holding the ``.base``/``.test`` files.
        which: ``"u"`` for the five-fold u1..u5 split (80,000/20,000 each), ``"a"``
            for ``ua`` or ``"b"`` for ``ub`` (10 test ratings per user).

    Returns:
        One :class:`~embedlab.data.Split` per fold, named ``"u1"``..``"u5"``,
        ``"ua"`` or ``"ub"``; train and test share ``ds.users`` and ``ds.items``.

    Raises:
        DataError: ``path`` is not an ML-100K folder, a fold file is missing or
            damaged, a fold holds an ID that ``ds`` lacks, or a fold's train and test
            share a (user, item) pair.
        ValueError: ``which`` is not ``"u"``, ``"a"`` or ``"b"``.
    """
    from embedlab.data._split import Split

    if which not in _FOLDS:
        raise ValueError(f"which={which!r}; expected 'u' (u1..u5), 'a' (ua) or 'b' (ub)")
    out: list[Split] = []
    with _open_dataset(path) as archive:
        if archive.layout != "ml-100k":
            raise DataError(
                f"{path}: predefined folds exist only for ML-100K, but this is a {archive.layout} "
                "dataset; use a random or per-user split instead"
            )
        for fold in _FOLDS[which]:
            train = _fold_part(ds, archive, f"{fold}.base", name=f"{ds.name} {fold} train")
            test = _fold_part(ds, archive, f"{fold}.test", name=f"{ds.name} {fold} test")
            n_items = np.int64(max(ds.n_items, 1))
            train_keys = train.user_index.astype(np.int64) * n_items + train.item_index
            test_keys = test.user_index.astype(np.int64) * n_items + test.item_index
            shared = np.intersect1d(train_keys, test_keys)
            if shared.size:
                raise DataError(
                    f"{archive.display(fold + '.test')}: {shared.size} (user, item) pairs are also in "
                    f"{fold}.base; a test rating must not be in the training set (the files are altered)"
                )
            out.append(Split(train=train, test=test, name=fold))
    return out
