"""Open vectors written by anything: :func:`open_vectors`.

One entry point for the file formats embeddings travel in, with an optional metadata
table joined on the key. It reads what embedlab's exporters write
(:mod:`embedlab.embeddings._export`) and the same formats written by other tools
(gensim, word2vec, fastText, TensorBoard's Projector, NumPy, pandas).

Formats (``fmt``; ``"auto"`` picks one from the file, see :data:`FORMATS`):

``word2vec``
    Text: a header line ``"<count> <dim>"`` (optional: GloVe files have none), then
    ``<key> <number> ...`` per line (``.txt``, ``.vec``, ``.w2v``; ``.gz`` read on the
    fly; fastText's trailing spaces are fine). Keys are strings as
    written, unless embedlab's side file ``PATH.embedlab.json`` is beside the file
    (then integer keys and labels come back).
``word2vec-binary``
    The same header, then ``<key> <space> <dim little-endian float32>`` per vector
    (``.bin``).
``projector``
    TensorBoard's Embedding Projector files: ``vectors.tsv`` (tab-separated numbers, no
    header, no keys) and ``metadata.tsv`` beside it (one column: no header; several: a
    header row), or a folder holding them (``projector_config.pbtxt`` names the files,
    as :meth:`KeyedEmbeddings.to_projector` writes it).
``parquet``
    :meth:`KeyedEmbeddings.to_parquet` output (a ``key`` and a ``vector`` list column),
    or a plain table (below).
``npz``
    :meth:`KeyedEmbeddings.to_numpy` output (arrays ``vectors`` and ``keys``).
``table``
    A CSV/TSV/Parquet table with a header: the key column (``key_column``, default the
    first), numeric columns (the vector), and any text columns (metadata).
"""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from embedlab.data import Vocabulary
from embedlab.embeddings._export import Parts, npz_parts, parquet_parts, word2vec_parts
from embedlab.embeddings._keyed import KeyedEmbeddings
from embedlab.exceptions import DataError

__all__ = ["FORMATS", "open_vectors"]

#: The values of ``fmt`` besides ``"auto"``.
FORMATS = ("word2vec", "word2vec-binary", "projector", "parquet", "npz", "table")

#: File name endings and the format each one means.
_SUFFIXES = {
    ".txt": "word2vec",
    ".vec": "word2vec",
    ".w2v": "word2vec",
    ".bin": "word2vec-binary",
    ".tsv": "projector",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".parq": "parquet",
    ".npz": "npz",
    ".csv": "table",
}
_SUPPORTED = (
    "word2vec text (.txt, .vec, .w2v, also .gz) or binary (.bin), a Projector vectors.tsv "
    "or folder, Parquet (.parquet), NumPy (.npz) or a CSV table with a key column"
)
#: Metadata columns that become the labels, first found wins (names compared without case).
LABEL_COLUMNS = ("title", "label", "name")


def open_vectors(
    path: str | os.PathLike[str],
    *,
    metadata: str | os.PathLike[str] | pd.DataFrame | None = None,
    key_column: str | None = None,
    fmt: str = "auto",
) -> KeyedEmbeddings:
    """Open embeddings from a file (or a Projector folder), with an optional metadata table.

    The format comes from the file (embedlab's side files, Parquet and zip magic
    bytes), else from its name (see the module doc); ``fmt`` forces one.

    Keys stay as the format gives them: word2vec keys are strings (``"42"``) unless
    embedlab's side file says they were integers; Parquet and ``.npz`` keep their
    types; a table's integer column gives integer keys. A Projector ``metadata.tsv``
    gives the keys from its ``key`` column (``key_column`` picks another), else from
    its first column when its values are distinct, else the row numbers ``0..n-1``.

    The metadata table (a CSV/TSV/Parquet file or a DataFrame, one row per key) is
    joined on its key column (``key_column``, default the first) to the keys; an
    integer ID in the table matches the string key ``"42"`` and the other way round.
    Its ``title``, ``label`` or ``name`` column (the first found, case ignored) becomes
    the labels; every other column (e.g. ``genres``, kept as written: ``"A|B"`` stays
    text; ``n_ratings``) becomes a metadata column. Rows for keys the vectors lack are
    ignored; keys the table lacks get missing values (NaN, no label). Columns of the
    table override the file's own labels and metadata of the same name.

    Args:
        path: A vectors file, or a Projector folder.
        metadata: A metadata table: a path (CSV/TSV, ``.gz`` too, or Parquet) or a
            DataFrame; None for none.
        key_column: The key column of ``metadata``; without ``metadata``, the key
            column of the file's own table (a plain table, a Projector
            ``metadata.tsv``). None: the first column (Projector: ``key`` if present).
        fmt: ``"auto"`` or one of :data:`FORMATS`.

    Returns:
        The embeddings, with labels and metadata when the file or the table has them.

    Raises:
        DataError: If the file is missing, empty, of an unknown kind or malformed (the
            message names the file and the line), holds NaN or infinity, or its parts
            disagree (counts, dimensions); if the metadata table is unreadable,
            lacks ``key_column`` or repeats a key.
        ValueError: If ``fmt`` is not ``"auto"`` or one of :data:`FORMATS`.

    Example:
        >>> import pathlib, tempfile
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "v.txt").write_text("2 3\\nfox 1 0 0\\ndog 0.5 0.5 0\\n")
        >>> _ = (d / "m.csv").write_text("word,title,genres\\nfox,The fox,A|B\\ncat,A cat,C\\n")
        >>> kv = open_vectors(d / "v.txt", metadata=d / "m.csv")
        >>> kv.keys.ids().tolist(), kv.labels.tolist()
        (['fox', 'dog'], ['The fox', None])
        >>> kv.metadata["genres"].tolist()
        ['A|B', nan]
    """
    if fmt != "auto" and fmt not in FORMATS:
        raise ValueError(f"fmt={fmt!r}: expected 'auto' or one of {', '.join(FORMATS)}")
    source = Path(path).expanduser()
    kind = _detect(source) if fmt == "auto" else fmt
    if fmt != "auto" and not source.exists():
        raise DataError(f"{source}: file not found; expected {_SUPPORTED}")
    try:
        vectors, vocab, labels, meta = _read(source, kind, key_column if metadata is None else None)
    except DataError as exc:
        if str(source.name) in str(exc):
            raise
        # e.g. the keys refused (repeated): say which file
        raise DataError(f"{source}: {exc}") from None
    if len(vocab) == 0:
        raise DataError(f"{source}: holds no vectors; expected at least one key and its vector")
    if metadata is not None:
        labels, meta = _join_metadata(vocab, labels, meta, metadata, key_column)
    try:
        return KeyedEmbeddings(vectors, vocab, labels=labels, metadata=meta)
    except ValueError as exc:
        if isinstance(exc, DataError):
            raise
        # the arrays refused (NaN or infinity, sizes): say which file
        raise DataError(f"{source}: {exc}") from None


def _read(source: Path, kind: str, key_column: str | None) -> Parts:
    if kind in ("word2vec", "word2vec-binary"):
        return word2vec_parts(source, binary=kind == "word2vec-binary")
    if kind == "projector":
        return _open_projector(source, key_column)
    if kind == "parquet":
        return _open_parquet(source, key_column)
    if kind == "npz":
        return npz_parts(source)
    return _open_table(source, key_column)


# ---------------------------------------------------------------------- detection
def _detect(path: Path) -> str:
    if not path.exists():
        raise DataError(f"{path}: file not found; expected {_SUPPORTED}")
    if path.is_dir():
        if (path / "model.json").is_file():
            raise DataError(
                f"{path}: is a model bundle, not a vectors file; load it with "
                "embedlab.load() (embedlab serve opens either)"
            )
        if (path / "projector_config.pbtxt").is_file() or (path / "vectors.tsv").is_file():
            return "projector"
        raise DataError(
            f"{path}: is a folder without vectors.tsv or projector_config.pbtxt; "
            f"expected {_SUPPORTED}"
        )
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty; expected {_SUPPORTED}")
    side = path.with_name(path.name + ".embedlab.json")
    if side.is_file():
        try:
            binary = bool(json.loads(side.read_text(encoding="utf-8")).get("binary"))
        except (ValueError, AttributeError):
            raise DataError(f"{side}: is not valid JSON; remove it or write it again") from None
        return "word2vec-binary" if binary else "word2vec"
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1":
        return "parquet"
    if magic == b"PK\x03\x04":
        return "npz"
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz" and len(suffixes) > 1:
        kind = _SUFFIXES.get(suffixes[-2])
        if kind in ("word2vec", "word2vec-binary"):
            return kind
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"{path}: unknown kind of file ({path.suffix or 'no extension'!r}); expected "
            f"{_SUPPORTED}; pass fmt= to say which"
        )
    if kind == "projector" and not _numeric_line(path):
        return "table"  # a TSV with a header row: a table, not Projector vectors
    return kind


def _numeric_line(path: Path) -> bool:
    """Whether the first line of a TSV holds numbers only (Projector vectors)."""
    with open(path, "rb") as fh:
        first = fh.readline().decode("utf-8", "replace").strip()
    try:
        [float(v) for v in first.split("\t")]
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------- projector
_CONFIG_PATH_RE = re.compile(r'\b(tensor_path|metadata_path)\s*:\s*"((?:[^"\\]|\\.)*)"')


def _projector_files(path: Path) -> tuple[Path, Path | None]:
    """``(vectors.tsv, metadata.tsv or None)`` of a Projector file or folder."""
    if not path.is_dir():
        meta = path.with_name("metadata.tsv")
        return path, meta if meta.is_file() and meta != path else None
    tensor, meta_name = "vectors.tsv", "metadata.tsv"
    config = path / "projector_config.pbtxt"
    if config.is_file():
        found: dict[str, str] = {}
        for name, value in _CONFIG_PATH_RE.findall(config.read_text(encoding="utf-8")):
            found.setdefault(name, json.loads(f'"{value}"'))  # the first embedding's files
        tensor = found.get("tensor_path", tensor)
        meta_name = found.get("metadata_path", "")
    vectors = path / tensor
    if not vectors.is_file():
        raise DataError(
            f"{path}: the Projector folder lacks its vectors file {tensor!r}; expected "
            "vectors.tsv (tab-separated numbers) there"
        )
    meta = path / meta_name if meta_name else None
    return vectors, meta if meta is not None and meta.is_file() else None


def _read_numbers_tsv(path: Path) -> np.ndarray:
    """The numbers of a Projector ``vectors.tsv`` (fast, then careful for the message)."""
    if path.stat().st_size == 0:
        raise DataError(
            f"{path}: the file is empty; expected one row of tab-separated numbers per vector"
        )
    try:
        frame = pd.read_csv(
            path,
            sep="\t",
            header=None,
            dtype=np.float32,
            na_filter=False,
            quoting=csv.QUOTE_NONE,
            engine="c",
        )
        values = frame.to_numpy(dtype=np.float32)
        if np.isfinite(values).all():
            return values
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, OverflowError):
        pass
    return _numbers_careful(path)


def _numbers_careful(path: Path) -> np.ndarray:
    rows: list[list[float]] = []
    dim = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            cells = line.rstrip("\r\n").split("\t")
            if dim is None:
                dim = len(cells)
            elif len(cells) != dim:
                raise DataError(
                    f"{path}: line {number} has {len(cells)} numbers, the first row {dim}; "
                    "expected the same number of tab-separated numbers on every line"
                )
            try:
                row = [float(c) for c in cells]
            except ValueError:
                bad = next(c for c in cells if not _is_float(c))
                raise DataError(
                    f"{path}: line {number} holds {bad[:30]!r}, not a number; expected "
                    "tab-separated numbers only (no header, no keys: those go in metadata.tsv)"
                ) from None
            if not np.isfinite(row).all():
                raise DataError(
                    f"{path}: line {number} holds NaN or infinity; expected finite numbers "
                    "(drop or fix that row)"
                )
            rows.append(row)
    if not rows:
        raise DataError(
            f"{path}: holds no rows; expected one row of tab-separated numbers per vector"
        )
    return np.array(rows, dtype=np.float32)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_projector_metadata(path: Path, n: int) -> pd.DataFrame:
    """``metadata.tsv``: one column without a header, several with one (as the Projector)."""
    with open(path, "rb") as fh:
        first = fh.readline().decode("utf-8", "replace").rstrip("\r\n")
    options: dict[str, Any] = {
        "sep": "\t",
        "quoting": csv.QUOTE_NONE,
        "keep_default_na": False,
        "na_values": [""],
        "encoding": "utf-8",
    }
    try:
        if "\t" in first:
            frame = pd.read_csv(path, header=0, **options)
        else:
            frame = pd.read_csv(
                path, header=None, names=["label"], skip_blank_lines=False, **options
            )
            if len(frame) == n + 1 and frame["label"].iloc[-1] != frame["label"].iloc[-1]:
                frame = frame.iloc[:n]  # the final newline read as an empty row
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: is not UTF-8 text ({exc.reason}); save it as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; expected one row per vector") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise DataError(
            f"{path}: cannot read as tab-separated metadata ({detail}); expected a header "
            "row, then one row per vector with as many tab-separated cells"
        ) from None
    if len(frame) != n:
        header = "after its header row " if "\t" in first else ""
        raise DataError(
            f"{path}: has {len(frame)} rows {header}for {n} vectors in vectors.tsv; "
            "expected one metadata row per vector, in the same order"
        )
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _open_projector(path: Path, key_column: str | None) -> Parts:
    vectors_path, meta_path = _projector_files(path)
    vectors = _read_numbers_tsv(vectors_path)
    if meta_path is None:
        return vectors, Vocabulary(range(len(vectors)), name="key"), None, None
    frame = _read_projector_metadata(meta_path, len(vectors))
    columns = list(frame.columns)
    if key_column is not None and key_column not in columns:
        raise DataError(
            f"key_column={key_column!r}: {meta_path} has no such column (columns: "
            f"{', '.join(map(repr, columns))}); pass one of them"
        )
    name = key_column or ("key" if "key" in columns else columns[0])
    keys = frame[name]
    if key_column is None and (keys.isna().any() or not keys.is_unique):
        # class names or repeated words: the keys are the row numbers, the column a label
        return _assemble(vectors, pd.RangeIndex(len(frame)), frame, None, meta_path)
    if len(columns) == 1:  # one column, no header: distinct words are the keys
        return _assemble(vectors, keys, frame.drop(columns=[name]), None, meta_path)
    return _assemble(vectors, keys, frame.drop(columns=[name]), name, meta_path)


def _assemble(
    vectors: np.ndarray, keys: Any, rest: pd.DataFrame, key_name: str | None, source: Path
) -> Parts:
    """Embeddings from vectors, keys and a table of the other columns (same row order)."""
    name = key_name or "key"
    ids = _key_values(pd.Series(keys), source, name)
    labels, meta = _split_labels(rest.reset_index(drop=True))
    return vectors, Vocabulary(ids, name=name), labels, meta


def _key_values(keys: pd.Series, source: Path, name: str) -> list[Any]:
    """The keys as a list of int or str (integral floats, e.g. from empty cells, as int)."""
    if keys.isna().any():
        row = int(np.flatnonzero(keys.isna().to_numpy())[0])
        raise DataError(
            f"{source}: key column {name!r} is empty in data row {row + 1}; every vector "
            "needs a key (pass key_column= to use another column)"
        )
    arr = keys.to_numpy()
    if keys.dtype.kind in "iu" or (keys.dtype.kind == "f" and np.all(arr == np.round(arr))):
        values: list[Any] = arr.astype(np.int64).tolist()
    else:
        values = [v if isinstance(v, str) else str(v) for v in keys.tolist()]
    index = pd.Index(values)
    if not index.is_unique:
        dup = index[index.duplicated()][0]
        raise DataError(
            f"{source}: key column {name!r} repeats {dup!r}; each vector needs its own key "
            "(pass key_column= to use another column)"
        )
    return values


# ---------------------------------------------------------------------- tables
def _open_parquet(path: Path, key_column: str | None) -> Parts:
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise DataError(f"{path}: cannot read as Parquet ({exc})") from None
    if "vector" in names and key_column in (None, "key"):
        return parquet_parts(path)
    return _open_table(path, key_column)


def _open_table(path: Path, key_column: str | None) -> Parts:
    """A table with a header: the key column, numeric vector columns, text metadata."""
    if path.suffix.lower() in (".parquet", ".pq", ".parq") or _magic(path) == b"PAR1":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise DataError(f"{path}: cannot read as Parquet ({exc})") from None
    else:
        sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
        try:
            frame = pd.read_csv(path, sep=sep, keep_default_na=False, na_values=[""])
        except pd.errors.EmptyDataError:
            raise DataError(f"{path}: the file is empty; expected a header row") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            detail = str(exc).strip().splitlines()[-1]
            raise DataError(
                f"{path}: cannot read as a table with sep={sep!r} ({detail}); expected a "
                "header row, then a key and numbers per row"
            ) from None
    frame.columns = [str(c) for c in frame.columns]
    columns = list(frame.columns)
    if key_column is not None and key_column not in columns:
        raise DataError(
            f"key_column={key_column!r}: {path} has no such column (columns: "
            f"{', '.join(map(repr, columns[:10]))}); pass one of them"
        )
    name = key_column or columns[0]
    others = frame.drop(columns=[name])
    numeric = [c for c in others.columns if others[c].dtype.kind in "iuf"]
    if not numeric:
        raise DataError(
            f"{path}: no numeric columns besides the key {name!r}; expected a key column "
            "and one numeric column per dimension"
        )
    vectors = others[numeric].to_numpy(dtype=np.float32)
    bad = ~np.isfinite(vectors)
    if bad.any():
        row, col = (int(v[0]) for v in np.nonzero(bad))
        raise DataError(
            f"{path}: data row {row + 1} (key {frame[name].iloc[row]!r}) has a missing, NaN "
            f"or infinite value in column {numeric[col]!r}; expected a number in every "
            "vector column (text columns are metadata, numeric columns the vector)"
        )
    return _assemble(vectors, frame[name], others.drop(columns=numeric), name, path)


def _magic(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(4)


# ---------------------------------------------------------------------- metadata
def _read_metadata_file(path: Path, key_column: str | None) -> pd.DataFrame:
    """A metadata table from CSV/TSV (any of , tab ; |, ``.gz`` too) or Parquet, keys as text."""
    if not path.is_file():
        raise DataError(
            f"metadata={os.fspath(path)!r}: file not found; expected a CSV/TSV or Parquet "
            "table with a header row, the key column first"
        )
    if path.suffix.lower() in (".parquet", ".pq", ".parq") or _magic(path) == b"PAR1":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise DataError(f"{path}: cannot read as Parquet ({exc})") from None
        frame.columns = [str(c) for c in frame.columns]
        return frame
    try:
        first = _first_line(path)
        sep = max(",\t;|", key=first.count) if first else ","
        names = list(pd.read_csv(path, nrows=0, sep=sep).columns)
        key = key_column if key_column in names else (names[0] if names else None)
        return pd.read_csv(
            path,
            sep=sep,
            dtype={key: str} if key is not None else None,
            keep_default_na=False,
            na_values=[""],
        )
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path}: the metadata file is empty; expected a header row, then one row per key"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
        raise DataError(
            f"{path}: cannot read the metadata table ({detail}); expected UTF-8 CSV/TSV "
            "with a header row, then one row per key"
        ) from None


def _first_line(path: Path) -> str:
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as fh:
        return fh.readline().decode("utf-8", "replace")


def _read_metadata(metadata: Any, key_column: str | None) -> tuple[pd.DataFrame, pd.Series, str]:
    """``(the other columns, the keys, a name for messages)`` of a metadata table."""
    if isinstance(metadata, pd.DataFrame):
        frame = metadata
        if not isinstance(frame.index, pd.RangeIndex) and frame.index.name is not None:
            frame = frame.reset_index()  # keyed by its index: the index is the key column
        what = "metadata"
    elif isinstance(metadata, (str, os.PathLike)):
        frame = _read_metadata_file(Path(metadata).expanduser(), key_column)
        what = os.fspath(metadata)
    else:
        raise TypeError(
            f"metadata= got {type(metadata).__name__}; expected a path to a CSV/TSV/Parquet "
            "table or a pandas DataFrame"
        )
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    columns = list(frame.columns)
    if not columns:
        raise DataError(f"{what}: the table has no columns; expected a key column first")
    name = columns[0] if key_column is None else key_column
    if name not in columns:
        raise DataError(
            f"key_column={name!r}: {what} has no such column (columns: "
            f"{', '.join(map(repr, columns[:10]))}); pass one of them"
        )
    keys = frame.pop(name)
    if keys.isna().any():
        row = int(np.flatnonzero(keys.isna().to_numpy())[0])
        raise DataError(
            f"{what}: key column {name!r} has {int(keys.isna().sum())} missing keys (first "
            f"in data row {row + 1}); every row needs a key: fill or drop those rows"
        )
    dup = keys.duplicated()
    if dup.any():
        raise DataError(
            f"{what}: key column {name!r} repeats {int(dup.sum())} keys (first: "
            f"{keys[dup].iloc[0]!r}); each key needs one row (pass key_column= if another "
            "column is the key)"
        )
    return frame, keys, what


def _as_key_kind(keys: pd.Series, kind: str) -> np.ndarray:
    """Metadata keys in the vectors' key type: text ``"42"`` matches the int 42 and back."""
    if kind == "str":
        if keys.dtype.kind == "f":
            arr = keys.to_numpy()
            if np.all(arr == np.round(arr)):
                return arr.astype(np.int64).astype(str).astype(object)
        return keys.astype(str).str.strip().to_numpy(dtype=object)
    if keys.dtype.kind in "iu":
        return keys.to_numpy().astype(np.int64)
    numbers = pd.to_numeric(keys.astype(str).str.strip(), errors="coerce").to_numpy(
        dtype=np.float64
    )
    # keys that are not integers match nothing (-1 is a valid ID, so use a marker row)
    whole = np.isfinite(numbers) & (numbers == np.round(numbers))
    out = np.where(whole, numbers, 0).astype(np.int64)
    return np.where(whole, out, np.iinfo(np.int64).min)


def _labels_of(values: pd.Series) -> list[Any]:
    missing = values.isna().to_numpy()
    text = values.astype(str).to_numpy(dtype=object)
    text[missing] = None
    return text.tolist()


def _split_labels(frame: pd.DataFrame) -> tuple[list[Any] | None, pd.DataFrame | None]:
    """``(labels, other columns)``: the first title/label/name column becomes the labels."""
    label_name = next(
        (c for want in LABEL_COLUMNS for c in frame.columns if str(c).lower() == want), None
    )
    labels = None
    if label_name is not None:
        labels = _labels_of(frame.pop(label_name))
    return labels, frame if len(frame.columns) else None


def _join_metadata(
    vocab: Vocabulary,
    labels: list[Any] | None,
    meta: pd.DataFrame | None,
    metadata: Any,
    key_column: str | None,
) -> tuple[list[Any] | None, pd.DataFrame | None]:
    """Labels and metadata with the table's columns joined on the keys."""
    table, keys, _ = _read_metadata(metadata, key_column)
    rows = vocab.indices(_as_key_kind(keys, vocab.kind), unknown="negative")
    keep = rows >= 0
    table = table.loc[keep]
    table.index = pd.Index(rows[keep])
    table = table.reindex(pd.RangeIndex(len(vocab)))
    new_labels, new_meta = _split_labels(table)
    if labels is not None:
        labels = list(labels)
    if new_labels is not None:
        old = labels or [None] * len(vocab)
        labels = [n if n is not None else o for n, o in zip(new_labels, old, strict=True)]
    if new_meta is not None:
        if meta is None:
            meta = new_meta
        else:
            meta = meta.copy()
            for col in new_meta.columns:
                meta[col] = new_meta[col].to_numpy()
    return labels, meta
