"""Exports of :class:`~embedlab.KeyedEmbeddings`: gensim, word2vec, Projector, Parquet, NumPy.

Every file is written atomically (a temporary file beside it, then a rename). Nothing
is pickled, and the readers never unpickle. The methods of :class:`KeyedEmbeddings`
(``to_gensim``, ``save_word2vec_format``, ``to_projector``, ``to_parquet``,
``to_numpy`` and the readers) call these functions, which :mod:`embedlab.io` also
re-exports.

word2vec files (``save_word2vec_format``)
    The format gensim's ``KeyedVectors.load_word2vec_format`` reads: a header line
    ``"<count> <dim>"``, then one key and its numbers per vector (text: numbers with 9
    significant digits, which read back to the same float32; binary: little-endian
    float32). Keys are ``str(ID)``; a word2vec key cannot hold whitespace, so ``%`` and
    every whitespace character in a key are percent-escaped as their UTF-8 bytes
    (``"a b"`` → ``"a%20b"``, ``"100%"`` → ``"100%25"``; ``urllib.parse.unquote``
    reverses it). Two side files go beside ``PATH``: ``PATH.labels.tsv`` (columns
    ``key`` (escaped) and ``label``, tabs and newlines in labels replaced by spaces;
    only when there are labels) and ``PATH.embedlab.json`` (key type, escaping,
    binary or not), which :func:`load_word2vec_format` uses to give back int keys,
    original keys and labels.

TensorBoard Projector (``write_projector``)
    ``vectors.tsv`` (tab-separated numbers), ``metadata.tsv`` (one column: no header;
    several: a header row; lists joined with ``|``; tabs and newlines replaced by
    spaces) and ``projector_config.pbtxt``.

Parquet (``write_embeddings_parquet``)
    Columns ``key`` (int64 or string), ``label`` (when labels exist), the metadata
    columns, and ``vector`` (``fixed_size_list<float32>[dim]``); the schema metadata
    key ``embedlab`` holds the format name.

NumPy (``write_embeddings_npz``)
    An ``.npz`` with ``vectors`` (float32), ``keys`` (int64 or unicode), and when
    there are labels ``labels`` (unicode) and ``label_missing`` (bool); loads with
    ``allow_pickle=False``. Metadata is not stored there (use Parquet).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from embedlab._io import atomic_path, atomic_write_bytes, atomic_write_text
from embedlab.data import Vocabulary
from embedlab.embeddings._keyed import KeyedEmbeddings
from embedlab.exceptions import DataError

__all__ = [
    "PARQUET_FORMAT",
    "WORD2VEC_FORMAT",
    "load_word2vec_format",
    "read_embeddings_npz",
    "read_embeddings_parquet",
    "save_word2vec_format",
    "to_gensim",
    "write_embeddings_npz",
    "write_embeddings_parquet",
    "write_projector",
]

WORD2VEC_FORMAT = "embedlab.word2vec/1"
PARQUET_FORMAT = "embedlab.keyed_embeddings/1"
NPZ_FORMAT = "embedlab.keyed_embeddings.npz/1"

#: What a reader finds before it makes :class:`KeyedEmbeddings` of it: vectors, keys,
#: labels (or None) and metadata (or None); :func:`embedlab.embeddings.open_vectors`
#: joins a metadata table to these before making one.
Parts = tuple[np.ndarray, Vocabulary, "list[Any] | None", "pd.DataFrame | None"]

_ESCAPE_RE = re.compile(r"[%\s]")
_CELL_RE = re.compile(r"[\t\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")


def _escape_key(key: Any) -> str:
    return _ESCAPE_RE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), str(key))


def _cell(value: Any) -> str:
    """One TSV cell: lists joined with ``|``, missing values empty, no tabs or newlines."""
    if isinstance(value, (list, tuple, np.ndarray)):
        value = "|".join(str(v) for v in value)
    elif (
        value is None
        or (isinstance(value, float) and np.isnan(value))
        or value is pd.NA
        or value is pd.NaT
    ):
        value = ""
    return _CELL_RE.sub(" ", str(value))


def _side(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _format_rows(vectors: np.ndarray, sep: str) -> list[str]:
    buf = io.StringIO()
    np.savetxt(buf, vectors, fmt="%.9g", delimiter=sep)
    return buf.getvalue().splitlines()


# ---------------------------------------------------------------------- gensim
def to_gensim(kv: KeyedEmbeddings) -> Any:
    """A gensim ``KeyedVectors`` holding the same vectors under keys ``str(ID)``.

    Args:
        kv: The embeddings.

    Returns:
        ``gensim.models.KeyedVectors``; its ``most_similar`` gives the same
        neighbours and scores as ``kv.most_similar``.

    Raises:
        ImportError: If gensim is not installed.
    """
    try:
        from gensim.models import KeyedVectors
    except ImportError:
        raise ImportError(
            "to_gensim() needs gensim; install it with `pip install gensim`"
        ) from None
    out = KeyedVectors(vector_size=kv.vector_size, count=0, dtype=np.float32)
    out.add_vectors([str(k) for k in kv.keys], np.array(kv.vectors, dtype=np.float32))
    return out


# ---------------------------------------------------------------------- word2vec
def save_word2vec_format(
    kv: KeyedEmbeddings, path: str | os.PathLike[str], *, binary: bool = False
) -> Path:
    """Write ``kv`` in the word2vec format, with side files for labels and key types.

    See the module doc for the layout and the key escaping.

    Args:
        kv: The embeddings.
        path: The word2vec file; side files go beside it.
        binary: Binary word2vec (float32) instead of text.

    Returns:
        ``path``.
    """
    path = Path(path)
    keys = [_escape_key(k) for k in kv.keys]
    header = f"{len(kv)} {kv.vector_size}\n".encode()
    if binary:
        vectors = np.ascontiguousarray(kv.vectors, dtype="<f4")
        parts = [header]
        for key, row in zip(keys, vectors, strict=True):
            parts.append(key.encode() + b" " + row.tobytes() + b"\n")
        atomic_write_bytes(path, b"".join(parts))
    else:
        rows = _format_rows(kv.vectors, " ") if len(kv) else []
        body = "".join(f"{k} {r}\n" for k, r in zip(keys, rows, strict=True))
        atomic_write_bytes(path, header + body.encode())
    labels_path = _side(path, ".labels.tsv")
    if kv.labels is not None:
        lines = ["key\tlabel"] + [
            f"{k}\t{_cell(lab)}" for k, lab in zip(keys, kv.labels, strict=True)
        ]
        atomic_write_text(labels_path, "\n".join(lines) + "\n")
    meta = {
        "format": WORD2VEC_FORMAT,
        "binary": binary,
        "key_kind": kv.keys.kind,
        "key_name": kv.keys.name,
        "key_escape": "percent-utf8 of '%' and whitespace",
        "labels": labels_path.name if kv.labels is not None else None,
    }
    atomic_write_text(_side(path, ".embedlab.json"), json.dumps(meta, indent=2) + "\n")
    return path


def _read_source(path: Path) -> bytes:
    """The bytes of ``path``, decompressed when it ends in ``.gz``."""
    if path.suffix.lower() == ".gz":
        try:
            return gzip.decompress(path.read_bytes())
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: cannot decompress gzip ({exc})") from None
    return path.read_bytes()


def _word2vec_header(first: bytes, source: Path, *, text: bool) -> tuple[int | None, int]:
    """``(count, dim)`` from the first line of a word2vec file.

    A text file may lack the header (GloVe's files do): when line 1 is already a key
    and numbers, the count is None (every line is a vector) and the dimension is the
    number of numbers on that line.
    """
    if not first.strip():
        raise DataError(
            f"{source}: the file is empty; expected a word2vec header line '<count> <dim>' "
            "then one key and its numbers per line"
        )
    parts = first.split()
    try:
        count, dim = (int(v) for v in parts)
    except ValueError:
        row = first.rstrip().split(b" ")
        if text and len(row) > 1 and all(_is_number(v.decode("ascii", "replace")) for v in row[1:]):
            return None, len(row) - 1  # no header: GloVe
        raise DataError(
            f"{source}: line 1 {first[:60].decode('utf-8', 'replace')!r} is not a word2vec "
            "header '<count> <dim>' (two integers); add one, e.g. '1000 32'"
        ) from None
    if count < 0 or dim < 1:
        raise DataError(
            f"{source}: line 1 says {count} vectors of {dim} numbers; expected a count >= 0 "
            "and a dimension >= 1"
        )
    return count, dim


def _text_fast(
    path: Path, count: int | None, dim: int, first_row: bytes
) -> tuple[list[str], np.ndarray] | None:
    """The text rows read by pandas' C parser, or None when they need the careful reader.

    The careful reader (:func:`_text_rows`) finds the line of any problem; this one
    reads a well-formed file about four times faster.
    """
    trailing = first_row.rstrip(b"\r\n").endswith(b" ")  # fastText's .vec rows end in a space
    ncols = dim + 1 + int(trailing)
    dtype: dict[int, Any] = {0: str, **{i: np.float32 for i in range(1, dim + 1)}}
    if trailing:
        dtype[dim + 1] = str
    try:
        frame = pd.read_csv(
            path,
            sep=" ",
            header=None,
            names=list(range(ncols)),
            skiprows=0 if count is None else 1,
            quoting=csv.QUOTE_NONE,
            dtype=dtype,
            na_filter=False,
            engine="c",
            encoding="utf-8",
            compression="infer",
        )
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, OverflowError):
        return None
    if (count is not None and len(frame) != count) or (trailing and (frame[dim + 1] != "").any()):
        return None
    vectors = frame.iloc[:, 1 : dim + 1].to_numpy(dtype=np.float32)
    if not np.isfinite(vectors).all():
        return None
    return frame[0].tolist(), vectors


def _text_rows(
    rest: bytes, count: int | None, dim: int, source: Path
) -> tuple[list[str], np.ndarray]:
    """Read text rows one by one, naming the line of the first problem.

    ``rest`` is the file after its header line (the whole file when ``count`` is None).
    """
    start = 1 if count is None else 2
    said = f"line 1 has {dim}" if count is None else f"the header says {dim}"
    try:
        text = rest.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = rest[: exc.start].count(b"\n") + start
        raise DataError(
            f"{source}: line {line} is not UTF-8 text (byte 0x{rest[exc.start]:02x}); "
            "expected a UTF-8 word2vec text file (a binary one? open it with binary=True)"
        ) from None
    keys: list[str] = []
    rows: list[np.ndarray] = []
    for number, line in enumerate(text.splitlines(), start=start):
        if not line.strip():
            continue
        parts = line.rstrip().split(" ")
        if len(parts) != dim + 1:
            raise DataError(
                f"{source}: line {number} has {len(parts) - 1} numbers after its key; {said}"
            )
        try:
            row = np.asarray(parts[1:], dtype=np.float32)
        except ValueError:
            bad = next(p for p in parts[1:] if not _is_number(p))
            raise DataError(
                f"{source}: line {number} holds {bad[:30]!r}, not a number; "
                "expected '<key> <number> <number> ...'"
            ) from None
        if not np.isfinite(row).all():
            raise DataError(
                f"{source}: line {number} (key {parts[0][:40]!r}) holds NaN or infinity; "
                "expected finite numbers (drop or fix that row)"
            )
        keys.append(parts[0])
        rows.append(row)
    if count is None:
        count = len(keys)
    elif len(keys) != count:
        raise DataError(
            f"{source}: the header says {count} vectors, the file has {len(keys)} rows; "
            "fix the count on line 1"
        )
    vectors = np.array(rows, dtype=np.float32).reshape(count, dim)
    return keys, vectors


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _binary_rows(rest: bytes, count: int, dim: int, source: Path) -> tuple[list[str], np.ndarray]:
    """Read binary rows: a key, a space, ``dim`` little-endian float32 (a newline optional)."""
    width = 4 * dim
    size = len(rest)
    find = rest.find
    raw_keys: list[bytes] = []
    chunks: list[bytes] = []
    pos = 0
    for i in range(count):
        while pos < size and rest[pos] == 10:  # "\n" after the previous vector
            pos += 1
        end = find(b" ", pos)
        if end < 0 or end + 1 + width > size:
            raise DataError(
                f"{source}: truncated at vector {i + 1} of {count} (the header says {count} "
                f"vectors of {dim} float32); the file is incomplete or the header is wrong"
            )
        raw_keys.append(rest[pos:end])
        pos = end + 1 + width
        chunks.append(rest[end + 1 : pos])
    vectors = np.frombuffer(b"".join(chunks), dtype="<f4").reshape(count, dim)
    try:
        keys = [k.decode("utf-8") for k in raw_keys]
    except UnicodeDecodeError:
        i = next(i for i, k in enumerate(raw_keys) if not _utf8(k))
        raise DataError(
            f"{source}: the key of vector {i + 1} is not UTF-8 ({raw_keys[i][:40]!r}); "
            "expected a word2vec binary file with UTF-8 keys (a text one? open it with binary=False)"
        ) from None
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{source}: vector {i + 1} (key {keys[i][:40]!r}) holds NaN or infinity; "
            "expected finite numbers (drop or fix that row)"
        )
    return keys, vectors


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_word2vec(path: Path, binary: bool) -> tuple[list[str], np.ndarray]:
    """Keys (as written) and vectors of a word2vec file (``.gz`` decompressed)."""
    compressed = path.suffix.lower() == ".gz"
    if binary or compressed:
        data = _read_source(path)
        first, _, rest = data.partition(b"\n")
        count, dim = _word2vec_header(first, path, text=not binary)
        if binary and count is not None:  # (a binary file always has a header)
            return _binary_rows(rest, count, dim, path)
        second = rest.partition(b"\n")[0]
    else:
        with open(path, "rb") as fh:
            first, second = fh.readline(), fh.readline()
        count, dim = _word2vec_header(first, path, text=True)
        rest = b""
    if count is None:  # no header: the first line is the first vector
        second, rest = first, (data if compressed else b"")
    if count != 0 and second.strip():
        fast = _text_fast(path, count, dim, second)
        if fast is not None:
            return fast
    if not compressed:
        data = path.read_bytes()
        rest = data if count is None else data.partition(b"\n")[2]
    return _text_rows(rest, count, dim, path)


def load_word2vec_format(
    path: str | os.PathLike[str], *, binary: bool | None = None
) -> KeyedEmbeddings:
    """Read a word2vec file: ours (with its side files) or any other.

    With our ``PATH.embedlab.json`` beside it, keys are unescaped and get back their
    type (int or str), and labels come back from ``PATH.labels.tsv`` (an empty label
    reads as None). A foreign file gives str keys as written and no labels. A text
    file without the ``<count> <dim>`` header (GloVe's) reads too; a ``.gz`` file is
    decompressed on the fly.

    Args:
        path: The word2vec file.
        binary: Binary or text; None reads it from our side file (text without one).

    Returns:
        The embeddings.

    Raises:
        DataError: If the file is missing, truncated or not word2vec.
    """
    vectors, vocab, labels, _ = word2vec_parts(path, binary=binary)
    return KeyedEmbeddings(vectors, vocab, labels=labels)


def word2vec_parts(path: str | os.PathLike[str], *, binary: bool | None = None) -> Parts:
    """The parts of :func:`load_word2vec_format`: vectors, keys, labels, metadata."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: word2vec file not found")
    meta_path = _side(path, ".embedlab.json")
    meta: dict[str, Any] = {}
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != WORD2VEC_FORMAT:
            raise DataError(
                f"{meta_path}: format {meta.get('format')!r}; expected {WORD2VEC_FORMAT!r}"
            )
    if binary is None:
        binary = bool(meta.get("binary", False))
    raw_keys, vectors = _read_word2vec(path, binary)
    keys: list[Any] = raw_keys
    labels = None
    if meta:
        keys = [urllib.parse.unquote(k) if "%" in k else k for k in raw_keys]
        if meta.get("key_kind") == "int":
            keys = [int(k) for k in keys]
        if meta.get("labels"):
            table = pd.read_csv(
                path.with_name(meta["labels"]),
                sep="\t",
                dtype=str,
                keep_default_na=False,
                quoting=3,
            )
            if table["key"].tolist() != raw_keys:
                raise DataError(
                    f"{path.with_name(meta['labels'])}: keys do not match {path.name}; "
                    "the files were written by different exports"
                )
            labels = [v if v != "" else None for v in table["label"].tolist()]
    vocab = Vocabulary(keys, name=meta.get("key_name", "key"))
    return vectors, vocab, labels, None


# ---------------------------------------------------------------------- projector
def write_projector(
    kv: KeyedEmbeddings,
    directory: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    tensor_name: str = "embedlab",
) -> Path:
    """Write the TensorBoard Projector files into ``directory``.

    Args:
        kv: The embeddings.
        directory: Created if missing; ``vectors.tsv``, ``metadata.tsv`` and
            ``projector_config.pbtxt`` are written there.
        columns: Metadata columns to write, among ``"key"``, ``"label"`` and the
            metadata's columns. Default: ``key``, ``label`` (if any) and every
            metadata column that does not repeat one of them (a side table's key
            column, the column the labels came from).
        tensor_name: The name the Projector shows.

    Returns:
        ``directory``.

    Raises:
        ValueError: For an unknown column name.
    """
    directory = Path(directory)
    available: dict[str, Any] = {"key": list(kv.keys)}
    if kv.labels is not None:
        available["label"] = list(kv.labels)
    repeats: set[str] = set()
    if kv.metadata is not None:
        for col in kv.metadata.columns:
            values = kv.metadata[col].tolist()
            if str(col) not in available and any(values == v for v in available.values()):
                repeats.add(str(col))  # e.g. the side table's key column, or the labels
            available.setdefault(str(col), values)
    chosen = [c for c in available if c not in repeats] if columns is None else list(columns)
    unknown = [c for c in chosen if c not in available]
    if unknown or not chosen:
        raise ValueError(
            f"columns={columns!r}: {unknown or 'none'} not available; "
            f"expected some of {list(available)}"
        )
    rows = _format_rows(kv.vectors, "\t") if len(kv) else []
    atomic_write_text(directory / "vectors.tsv", "".join(r + "\n" for r in rows))
    cells = [[_cell(v) for v in available[c]] for c in chosen]
    lines = ["\t".join(row) for row in zip(*cells, strict=True)]
    if len(chosen) > 1:
        lines.insert(0, "\t".join(_cell(c) for c in chosen))
    atomic_write_text(directory / "metadata.tsv", "".join(ln + "\n" for ln in lines))
    config = (
        "embeddings {\n"
        f"  tensor_name: {json.dumps(tensor_name)}\n"
        f"  tensor_shape: {len(kv)}\n"
        f"  tensor_shape: {kv.vector_size}\n"
        '  tensor_path: "vectors.tsv"\n'
        '  metadata_path: "metadata.tsv"\n'
        "}\n"
    )
    atomic_write_text(directory / "projector_config.pbtxt", config)
    return directory


# ---------------------------------------------------------------------- parquet
_RESERVED = ("key", "label", "vector")


def write_embeddings_parquet(kv: KeyedEmbeddings, path: str | os.PathLike[str]) -> Path:
    """Write keys, labels, metadata and vectors to one Parquet file (atomically).

    Args:
        kv: The embeddings.
        path: The Parquet file.

    Returns:
        ``path``.

    Raises:
        DataError: If a metadata column is named ``key``, ``label`` or ``vector``, or
            cannot be stored in Parquet.
    """
    path = Path(path)
    columns: dict[str, pa.Array] = {
        "key": pa.array(kv.keys.ids(), type=pa.int64() if kv.keys.kind == "int" else pa.string())
    }
    if kv.labels is not None:
        columns["label"] = pa.array(
            [None if v is None else str(v) for v in kv.labels], type=pa.string()
        )
    meta_cols: list[str] = []
    if kv.metadata is not None and len(kv.metadata.columns):
        clash = [c for c in kv.metadata.columns if c in _RESERVED]
        if clash:
            raise DataError(
                f"metadata column(s) {clash} clash with the columns key/label/vector; "
                "rename them before to_parquet()"
            )
        try:
            table = pa.Table.from_pandas(kv.metadata, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise DataError(f"metadata cannot be written to Parquet: {exc}") from None
        for name in table.column_names:
            columns[name] = table.column(name)
            meta_cols.append(name)
    flat = pa.array(np.ascontiguousarray(kv.vectors, dtype=np.float32).reshape(-1))
    columns["vector"] = pa.FixedSizeListArray.from_arrays(flat, kv.vector_size)
    out = pa.table(columns)
    info = {
        "format": PARQUET_FORMAT,
        "key_kind": kv.keys.kind,
        "key_name": kv.keys.name,
        "has_labels": kv.labels is not None,
        "metadata_columns": meta_cols,
        "dim": kv.vector_size,
    }
    out = out.replace_schema_metadata({"embedlab": json.dumps(info)})
    with atomic_path(path) as tmp:
        pq.write_table(out, tmp)
    return path


def read_embeddings_parquet(path: str | os.PathLike[str]) -> KeyedEmbeddings:
    """Read :func:`write_embeddings_parquet` output (list columns come back as lists).

    A Parquet file from elsewhere works too if it has a ``key`` column and a
    ``vector`` column of equal-length lists (and optionally ``label``).

    Raises:
        DataError: If the file is missing, unreadable, or lacks ``key`` / ``vector``.
    """
    vectors, vocab, labels, metadata = parquet_parts(path)
    return KeyedEmbeddings(vectors, vocab, labels=labels, metadata=metadata)


def parquet_parts(path: str | os.PathLike[str]) -> Parts:
    """The parts of :func:`read_embeddings_parquet`: vectors, keys, labels, metadata."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: Parquet file not found")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: cannot read Parquet ({exc})") from None
    raw = (table.schema.metadata or {}).get(b"embedlab")
    info = json.loads(raw) if raw else {}
    if info and info.get("format") != PARQUET_FORMAT:
        raise DataError(f"{path}: format {info.get('format')!r}; expected {PARQUET_FORMAT!r}")
    if "key" not in table.column_names or "vector" not in table.column_names:
        raise DataError(f"{path}: expected columns 'key' and 'vector', found {table.column_names}")
    vec_col = table.column("vector").combine_chunks()
    if vec_col.null_count:
        raise DataError(f"{path}: {vec_col.null_count} rows have no vector")
    n = len(table)
    if pa.types.is_fixed_size_list(vec_col.type):
        dim = vec_col.type.list_size
        vectors = vec_col.flatten().to_numpy(zero_copy_only=False).reshape(n, dim)
    else:
        vectors = np.array(vec_col.to_pylist(), dtype=np.float32)
        if vectors.ndim != 2:
            raise DataError(f"{path}: the vectors have different lengths")
    keys = table.column("key").to_pylist()
    labels = table.column("label").to_pylist() if "label" in table.column_names else None
    meta_cols = info.get("metadata_columns", [c for c in table.column_names if c not in _RESERVED])
    metadata = None
    if meta_cols:
        metadata = table.select(meta_cols).to_pandas()
        for name in meta_cols:
            typ = table.schema.field(name).type
            if pa.types.is_list(typ) or pa.types.is_large_list(typ):
                metadata[name] = pd.Series(table.column(name).to_pylist(), dtype=object)
    vocab = Vocabulary(keys, name=info.get("key_name", "key"))
    return vectors, vocab, labels, metadata


# ---------------------------------------------------------------------- numpy
def write_embeddings_npz(kv: KeyedEmbeddings, path: str | os.PathLike[str]) -> Path:
    """Write vectors, keys and labels to an ``.npz`` (no pickled objects; atomically).

    Args:
        kv: The embeddings.
        path: The file (written as given; add ``.npz`` yourself).

    Returns:
        ``path``.
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = {
        "format": np.array(NPZ_FORMAT),
        "vectors": np.asarray(kv.vectors, dtype=np.float32),
        "keys": np.asarray(kv.keys.ids(), dtype=np.int64)
        if kv.keys.kind == "int"
        else np.array([str(k) for k in kv.keys], dtype=str).reshape(len(kv)),
    }
    if kv.labels is not None:
        missing = np.array([v is None for v in kv.labels], dtype=bool)
        arrays["labels"] = np.array(
            ["" if v is None else str(v) for v in kv.labels], dtype=str
        ).reshape(len(kv))
        arrays["label_missing"] = missing
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def read_embeddings_npz(path: str | os.PathLike[str]) -> KeyedEmbeddings:
    """Read :func:`write_embeddings_npz` output (``allow_pickle=False``).

    Raises:
        DataError: If the file is missing, unreadable or lacks ``vectors`` / ``keys``.
    """
    vectors, vocab, labels, _ = npz_parts(path)
    return KeyedEmbeddings(vectors, vocab, labels=labels)


def npz_parts(path: str | os.PathLike[str]) -> Parts:
    """The parts of :func:`read_embeddings_npz`: vectors, keys, labels, metadata."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: .npz file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: cannot read .npz without pickle ({exc})") from None
    if "vectors" not in arrays or "keys" not in arrays:
        raise DataError(f"{path}: expected arrays 'vectors' and 'keys', found {sorted(arrays)}")
    keys = arrays["keys"]
    key_list = keys.tolist() if keys.dtype.kind in "iu" else [str(k) for k in keys]
    labels = None
    if "labels" in arrays:
        missing = arrays.get("label_missing", np.zeros(len(keys), dtype=bool))
        labels = [None if m else str(v) for v, m in zip(arrays["labels"], missing, strict=True)]
    return arrays["vectors"], Vocabulary(key_list, name="key"), labels, None
