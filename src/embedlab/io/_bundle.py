"""The model bundle: one directory holding everything a trained model needs.

Layout::

    model/
    ├── model.json            format, versions, model class, config, metrics, history,
    │                         data fingerprint, tensor shapes, sha256 + size of every file below
    ├── weights.safetensors   the tensors (state-dict names of docs/models-contract.md)
    ├── vocab/users.parquet   user IDs in index order (Vocabulary.save)
    ├── vocab/items.parquet   item IDs in index order
    ├── items.parquet         item metadata (optional)
    └── users.parquet         user metadata (optional)

Nothing is pickled: tensors go through ``safetensors.numpy`` (no torch needed here),
the rest is JSON and Parquet. Saving builds the whole directory under a temporary
sibling name (``.NAME.embedlab-tmp.PID.RANDOM``) and swaps it into place (the previous
bundle moved aside as ``.NAME.embedlab-old.PID.RANDOM`` meanwhile), so readers see the
old bundle or the new one, never half of either; a save killed midway leaves only such
names, which the next save to the same place removes once their process is gone. When
the storage refuses a write (disk or quota full, read-only, not permitted) the save
raises :class:`~embedlab.exceptions.StorageError` and leaves the previous bundle as it was.

A bundle is untrusted input. Loading verifies every file against the sizes and
checksums in ``model.json``, the safetensors header's declared sizes against the file
before reading, the tensors against their recorded names and shapes, and refuses
non-finite weights; :mod:`embedlab.io._schema` checks what the model class requires.
Any damage is one :class:`~embedlab.exceptions.BundleError` line that names the file.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from embedlab._io import (
    OLD_TAG,
    TMP_TAG,
    remove_stale_temporaries,
    storage_errno,
    storage_failure,
    temp_prefix,
)
from embedlab.data import Vocabulary
from embedlab.exceptions import BundleError, DataError, StorageError

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["BUNDLE_FORMAT", "Bundle", "bundle_info", "load_bundle", "save_bundle"]

_FORMAT_NAME = "embedlab.bundle"
#: 2 (embedlab 0.2) adds to ``config`` the resolved settings and how the model was made
#: (``settings``, ``engine``, ``seed``, ``versions``, ``data``, ``training_seconds``).
_FORMAT_VERSION = 2
#: Format versions this release reads (1: bundles of embedlab 0.1, without that record).
_READABLE_VERSIONS = (1, 2)
BUNDLE_FORMAT = f"{_FORMAT_NAME}/{_FORMAT_VERSION}"
"""The format string written to (and accepted from) ``model.json``."""

MODEL_JSON = "model.json"
WEIGHTS = "weights.safetensors"
USERS_VOCAB = "vocab/users.parquet"
ITEMS_VOCAB = "vocab/items.parquet"
ITEM_METADATA = "items.parquet"
USER_METADATA = "users.parquet"
_REQUIRED_FILES = (WEIGHTS, USERS_VOCAB, ITEMS_VOCAB)
_RESAVE = "re-save the model"
_CHUNK = 1 << 20


# ---------------------------------------------------------------------- the loaded bundle
@dataclass(frozen=True, eq=False)
class Bundle:
    """A model bundle read from disk by :func:`load_bundle`.

    Attributes:
        path: The bundle directory.
        model_class: Name of the estimator class that saved it.
        config: The estimator's configuration (JSON types: tuples come back as lists).
        tensors: Parameter name -> read-only NumPy array.
        users, items: The vocabularies (raw ID <-> row index).
        metrics: Training/validation metrics.
        history: Per-epoch records, or None.
        item_metadata, user_metadata: Metadata tables (one row per index), or None.
        data_fingerprint: Fingerprint of the training data, or None.
        format: The bundle format string (``"embedlab.bundle/1"``).
        library_version: The embedlab version that wrote the bundle.
        created: UTC time of saving, ISO 8601.
    """

    path: Path
    model_class: str
    config: dict[str, Any]
    tensors: dict[str, np.ndarray]
    users: Vocabulary
    items: Vocabulary
    metrics: dict[str, Any]
    history: list[dict[str, Any]] | None
    item_metadata: pd.DataFrame | None
    user_metadata: pd.DataFrame | None
    data_fingerprint: str | None
    format: str
    library_version: str
    created: str

    def torch_state_dict(self) -> dict[str, torch.Tensor]:
        """The tensors as a dict of (writable, CPU) torch tensors for ``load_state_dict``."""
        import torch

        return {
            name: torch.from_numpy(np.array(arr, copy=True)) for name, arr in self.tensors.items()
        }

    def __repr__(self) -> str:
        return (
            f"Bundle(path={str(self.path)!r}, model_class={self.model_class!r}, "
            f"{len(self.users)} users, {len(self.items)} items, tensors={sorted(self.tensors)})"
        )


# ---------------------------------------------------------------------- helpers
def _library_version() -> str:
    from embedlab._version import __version__

    return __version__


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    # Directories cannot be opened for fsync everywhere (Windows); durability there is best effort.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _canonical(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _content_checksum(doc: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in doc.items() if k != "checksum"})).hexdigest()


def _jsonable(value: Any, where: str) -> Any:
    """``value`` as plain JSON types (NumPy scalars and arrays converted); BundleError otherwise."""
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, np.generic):
        return _jsonable(value.item(), where)
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist(), where)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise BundleError(
                    f"{where}: key {key!r} is a {type(key).__name__}; model.json needs string keys"
                )
            out[key] = _jsonable(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_jsonable(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise BundleError(
        f"{where}: a {type(value).__name__} cannot be stored in model.json; "
        "expected JSON types (dict, list, str, int, float, bool, None)"
    )


def _as_numpy(name: str, value: Any) -> np.ndarray:
    """A tensor (NumPy array or torch tensor, duck-typed so torch is not imported) as a C-contiguous array."""
    if not isinstance(name, str) or not name:
        raise BundleError(f"tensors: key {name!r} is not a non-empty string")
    if not isinstance(value, np.ndarray) and hasattr(value, "detach") and hasattr(value, "numpy"):
        try:
            value = value.detach().cpu().numpy()
        except (TypeError, RuntimeError) as exc:
            raise BundleError(f"tensors[{name!r}]: cannot convert to NumPy ({exc})") from None
    if isinstance(value, np.generic):  # a NumPy scalar, e.g. from arithmetic on a 0-d array
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise BundleError(
            f"tensors[{name!r}]: expected a NumPy array or torch tensor, got {type(value).__name__}"
        )
    if value.dtype.kind not in "biuf":
        raise BundleError(
            f"tensors[{name!r}]: dtype {value.dtype} cannot be stored; expected a numeric or bool array"
        )
    # np.ascontiguousarray would turn a 0-d array (global_bias) into shape (1,).
    return value if value.flags.c_contiguous else value.copy(order="C")


def _check_metadata(meta: Any, vocab: Vocabulary, what: str) -> pd.DataFrame | None:
    if meta is None:
        return None
    if not isinstance(meta, pd.DataFrame):
        raise BundleError(f"{what}: expected a pandas DataFrame or None, got {type(meta).__name__}")
    if len(meta) != len(vocab):
        raise BundleError(
            f"{what}: {len(meta)} rows but the vocabulary has {len(vocab)} IDs; "
            "pass one row per index (embedlab.data.align_metadata)"
        )
    return meta


def _write_metadata(meta: pd.DataFrame, path: Path, what: str) -> None:
    try:
        table = pa.Table.from_pandas(meta.reset_index(drop=True), preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise BundleError(f"{what}: cannot be written as Parquet ({exc})") from None
    pq.write_table(table, path)


def _read_metadata(path: Path, rel: str) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise BundleError(f"{rel}: cannot read the metadata table ({exc}); {_RESAVE}") from None
    frame = table.to_pandas()
    for field in table.schema:
        if pa.types.is_list(field.type) or pa.types.is_large_list(field.type):
            frame[field.name] = [
                list(v) if isinstance(v, (np.ndarray, list)) else v for v in frame[field.name]
            ]
    return frame


# ---------------------------------------------------------------------- saving
def save_bundle(
    path: str | os.PathLike[str],
    *,
    model_class: str,
    config: Mapping[str, Any],
    tensors: Mapping[str, Any],
    users: Vocabulary,
    items: Vocabulary,
    metrics: Mapping[str, Any] | None = None,
    history: list[Mapping[str, Any]] | None = None,
    item_metadata: pd.DataFrame | None = None,
    user_metadata: pd.DataFrame | None = None,
    data_fingerprint: str | None = None,
    overwrite: bool = True,
) -> Path:
    """Write a model bundle directory atomically; return its path.

    The bundle is built in a temporary sibling directory and then swapped into place:
    an existing bundle is renamed aside, the new one renamed in, and the old one deleted.
    If anything fails, the old bundle is put back and the temporary directory removed.

    Args:
        path: The bundle directory to create (or replace).
        model_class: Name of the estimator class (e.g. ``"MatrixFactorization"``).
        config: The estimator configuration; JSON types or NumPy scalars/arrays.
        tensors: Parameter name -> NumPy array or torch tensor (any numeric dtype,
            stored as given).
        users, items: The vocabularies mapping raw IDs to row indices.
        metrics: Metrics to record (JSON-able), default empty.
        history: Per-epoch records (list of JSON-able dicts), or None.
        item_metadata, user_metadata: Tables with one row per index (``id``, ``title``,
            ``genres`` lists, ``year`` ...), or None.
        data_fingerprint: A fingerprint of the training data, or None.
        overwrite: Replace an existing bundle at ``path``; if False, refuse.

    Raises:
        BundleError: If ``path`` exists and ``overwrite`` is False, or is something
            other than a bundle (a file, a non-empty directory without model.json);
            or an argument cannot be stored.
    """
    target = Path(path)
    if not isinstance(model_class, str) or not model_class:
        raise BundleError(f"model_class: expected a non-empty class name, got {model_class!r}")
    if not isinstance(users, Vocabulary) or not isinstance(items, Vocabulary):
        raise BundleError("users, items: expected embedlab Vocabulary objects")
    if data_fingerprint is not None and not isinstance(data_fingerprint, str):
        raise BundleError(
            f"data_fingerprint: expected a str or None, got {type(data_fingerprint).__name__}"
        )
    if not isinstance(tensors, Mapping):
        raise BundleError(
            f"tensors: expected a mapping of name -> array, got {type(tensors).__name__}"
        )
    arrays = {name: _as_numpy(name, value) for name, value in tensors.items()}
    config_json = _jsonable(dict(config), "config")
    metrics_json = _jsonable(dict(metrics or {}), "metrics")
    history_json = None
    if history is not None:
        history_json = _jsonable(list(history), "history")
        if not all(isinstance(h, dict) for h in history_json):
            raise BundleError("history: expected a list of dicts (one per epoch)")
    item_meta = _check_metadata(item_metadata, items, "item_metadata")
    user_meta = _check_metadata(user_metadata, users, "user_metadata")

    if target.exists() or target.is_symlink():
        if not overwrite:
            raise BundleError(f"{target}: already exists; pass overwrite=True to replace it")
        if not target.is_dir():
            raise BundleError(
                f"{target}: exists and is not a directory; refusing to replace it with a bundle"
            )
        if not (target / MODEL_JSON).is_file() and any(target.iterdir()):
            raise BundleError(
                f"{target}: a non-empty directory that is not a model bundle (no {MODEL_JSON}); "
                "refusing to replace it, choose another path"
            )

    existed = target.exists()
    with _storage_errors(target, existed):
        target.parent.mkdir(parents=True, exist_ok=True)
        # Temporaries of saves that were killed (never a running one's): they may hold
        # the space this save needs.
        remove_stale_temporaries(target.parent, target.name, (TMP_TAG,))
        tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(target.name), dir=target.parent))
        try:
            _write_contents(
                tmp,
                model_class=model_class,
                config=config_json,
                arrays=arrays,
                users=users,
                items=items,
                metrics=metrics_json,
                history=history_json,
                item_meta=item_meta,
                user_meta=user_meta,
                data_fingerprint=data_fingerprint,
            )
            _swap_into_place(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    # Previous bundles that killed saves had moved aside: this one replaces them.
    remove_stale_temporaries(target.parent, target.name, (OLD_TAG,))
    return target


@contextlib.contextmanager
def _storage_errors(target: Path, existed: bool) -> Iterator[None]:
    """Turn a failure of the storage (disk full, read-only, not permitted) into a StorageError."""
    try:
        yield
    except Exception as exc:
        code = storage_errno(exc)
        if code is None:
            raise
        reason, fix = storage_failure(code)
        kept = "the previous bundle there is unchanged" if existed else "nothing was written"
        error = StorageError(f"{target}: cannot save the model bundle: {reason}; {kept}; {fix}")
        error.errno, error.strerror, error.filename = code, os.strerror(code), str(target)
        raise error from exc


def _write_contents(
    root: Path,
    *,
    model_class: str,
    config: dict[str, Any],
    arrays: dict[str, np.ndarray],
    users: Vocabulary,
    items: Vocabulary,
    metrics: dict[str, Any],
    history: list[dict[str, Any]] | None,
    item_meta: pd.DataFrame | None,
    user_meta: pd.DataFrame | None,
    data_fingerprint: str | None,
) -> None:
    """Write every file of a bundle into the (new, empty) directory ``root``; model.json last."""
    save_file(arrays, str(root / WEIGHTS))
    (root / "vocab").mkdir()
    pq.write_table(users.to_arrow(), root / USERS_VOCAB)
    pq.write_table(items.to_arrow(), root / ITEMS_VOCAB)
    written = [WEIGHTS, USERS_VOCAB, ITEMS_VOCAB]
    if item_meta is not None:
        _write_metadata(item_meta, root / ITEM_METADATA, "item_metadata")
        written.append(ITEM_METADATA)
    if user_meta is not None:
        _write_metadata(user_meta, root / USER_METADATA, "user_metadata")
        written.append(USER_METADATA)

    files = {}
    for rel in written:
        full = root / rel
        _fsync_file(full)
        files[rel] = {"sha256": _sha256(full), "size": full.stat().st_size}
    doc: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "library_version": _library_version(),
        "model_class": model_class,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "config": config,
        "metrics": metrics,
        "history": history,
        "data_fingerprint": data_fingerprint,
        "vocab": {
            "users": {"size": len(users), "kind": users.kind},
            "items": {"size": len(items), "kind": items.kind},
        },
        "tensors": {
            name: {"shape": list(arr.shape), "dtype": str(arr.dtype)}
            for name, arr in sorted(arrays.items())
        },
        "files": files,
    }
    doc["checksum"] = _content_checksum(doc)
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    with open(root / MODEL_JSON, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(root / "vocab")
    _fsync_dir(root)


def _swap_into_place(tmp: Path, target: Path) -> None:
    """Rename the finished directory ``tmp`` onto ``target``, replacing an old bundle there."""
    if not (target.exists() or target.is_symlink()):
        os.rename(tmp, target)
        _fsync_dir(target.parent)
        return
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
        os.rename(tmp, target)
        _fsync_dir(target.parent)
        return
    # Named after this process, so that a later save knows whether it may be removed.
    old = target.with_name(f"{temp_prefix(target.name, OLD_TAG)}{os.urandom(6).hex()}")
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    _fsync_dir(target.parent)
    if old.is_symlink():  # ``path`` was a link to a bundle: drop the link, keep what it pointed to
        old.unlink()
    else:
        shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------------- loading
def _parse_format(fmt: Any) -> int:
    """The version number of a bundle format string; BundleError if it is not a bundle format."""
    if not isinstance(fmt, str) or not fmt.startswith(f"{_FORMAT_NAME}/"):
        raise BundleError(
            f"{MODEL_JSON}: format {fmt!r} is not an embedlab model bundle (expected {BUNDLE_FORMAT!r})"
        )
    tail = fmt.rsplit("/", 1)[1]
    if not tail.isdigit():
        raise BundleError(
            f"{MODEL_JSON}: format {fmt!r} has no version number (expected {BUNDLE_FORMAT!r})"
        )
    return int(tail)


def _interrupted_hint(directory: Path) -> str:
    parent = directory.parent
    if not parent.is_dir():
        return ""
    name = re.escape(directory.name)
    pattern = re.compile(rf"^\.{name}\.(?:old-[0-9a-f]+|{re.escape(OLD_TAG)}\.\d+\.[A-Za-z0-9_]+)$")
    olds = sorted(p for p in parent.iterdir() if pattern.match(p.name))
    if not olds:
        return ""
    return f"; an interrupted save left the previous bundle at {olds[-1]}, rename it back to {directory.name}"


def _read_model_json(directory: Path) -> dict[str, Any]:
    """Read and validate ``model.json`` (format, fields, content checksum); no other file is read."""
    if not directory.exists():
        raise BundleError(
            f"{directory}: no such model bundle directory{_interrupted_hint(directory)}"
        )
    if not directory.is_dir():
        raise BundleError(
            f"{directory}: is a file; a model bundle is a directory (with {MODEL_JSON})"
        )
    meta_path = directory / MODEL_JSON
    if not meta_path.is_file():
        raise BundleError(
            f"{directory}: not a model bundle ({MODEL_JSON} is missing); pass the directory save_bundle wrote"
        )
    try:
        text = meta_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(f"{MODEL_JSON}: cannot read ({exc}); {_RESAVE}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(
            f"{MODEL_JSON}: invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            f"the file is damaged, {_RESAVE}"
        ) from None
    except (ValueError, RecursionError) as exc:  # an integer of thousands of digits, deep nesting
        raise BundleError(
            f"{MODEL_JSON}: JSON this reader refuses ({type(exc).__name__}: {exc}); {_RESAVE}"
        ) from None
    if not isinstance(doc, dict):
        raise BundleError(
            f"{MODEL_JSON}: expected a JSON object, found {type(doc).__name__}; {_RESAVE}"
        )
    version = _parse_format(doc.get("format"))
    if version not in _READABLE_VERSIONS:
        wrote = doc.get("library_version", "unknown")
        newer = version > _FORMAT_VERSION
        raise BundleError(
            f"{MODEL_JSON}: bundle format {doc['format']!r} (written by embedlab {wrote}) is "
            f"{'newer than' if newer else 'older than'} the {BUNDLE_FORMAT!r} this embedlab "
            f"{_library_version()} reads; "
            + ("upgrade embedlab" if newer else f"load it with embedlab {wrote} and {_RESAVE}")
        )
    expected_types: dict[str, type | tuple[type, ...]] = {
        "model_class": str,
        "config": dict,
        "metrics": dict,
        "tensors": dict,
        "files": dict,
        "checksum": str,
    }
    for key, kind in expected_types.items():
        if key not in doc:
            raise BundleError(f"{MODEL_JSON}: field {key!r} is missing; {_RESAVE}")
        if not isinstance(doc[key], kind):
            raise BundleError(
                f"{MODEL_JSON}: field {key!r} has the wrong type ({type(doc[key]).__name__}); {_RESAVE}"
            )
    if _content_checksum(doc) != doc["checksum"]:
        raise BundleError(
            f"{MODEL_JSON}: content checksum mismatch (the file was edited after saving); {_RESAVE}"
        )
    _check_optional_fields(doc)
    return doc


def _check_optional_fields(doc: dict[str, Any]) -> None:
    """The fields a bundle may lack (older formats), when present, of the shape saving writes."""
    history = doc.get("history")
    if history is not None and not (
        isinstance(history, list) and all(isinstance(h, dict) for h in history)
    ):
        raise BundleError(
            f"{MODEL_JSON}: field 'history' is {type(history).__name__}; expected null or a list "
            f"of objects (one per epoch); {_RESAVE}"
        )
    fingerprint = doc.get("data_fingerprint")
    if fingerprint is not None and not isinstance(fingerprint, str):
        raise BundleError(
            f"{MODEL_JSON}: field 'data_fingerprint' is {type(fingerprint).__name__}; expected "
            f"null or a string; {_RESAVE}"
        )
    if "vocab" not in doc:
        return
    vocab = doc["vocab"]
    for side in ("users", "items"):
        entry = vocab.get(side) if isinstance(vocab, dict) else None
        size = entry.get("size") if isinstance(entry, dict) else None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BundleError(
                f"{MODEL_JSON}: field 'vocab.{side}.size' is {size!r}; expected the number of "
                f"IDs in vocab/{side}.parquet; {_RESAVE}"
            )


def _verify_files(directory: Path, files: dict[str, Any]) -> None:
    """Check that every listed file exists with the recorded size and sha256."""
    for rel in _REQUIRED_FILES:
        if rel not in files:
            raise BundleError(
                f"{MODEL_JSON}: does not list {rel}; the bundle is incomplete, {_RESAVE}"
            )
    for rel, entry in files.items():
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts or not isinstance(entry, dict):
            raise BundleError(f"{MODEL_JSON}: bad file entry {rel!r}; {_RESAVE}")
        full = directory.joinpath(*pure.parts)
        if not full.is_file():
            raise BundleError(f"{rel}: missing from the bundle (listed in {MODEL_JSON}); {_RESAVE}")
        size = full.stat().st_size
        want_size = entry.get("size")
        if size != want_size:
            what = (
                "truncated" if isinstance(want_size, int) and size < want_size else "the wrong size"
            )
            raise BundleError(
                f"{rel}: {size} bytes but {MODEL_JSON} records {want_size} (the file is {what}); {_RESAVE}"
            )
        if _sha256(full) != entry.get("sha256"):
            raise BundleError(
                f"{rel}: sha256 mismatch (the file was modified after saving); {_RESAVE}"
            )


#: safetensors dtype codes NumPy reads, as NumPy names (bfloat16 and fp8 have no NumPy type).
_SAFETENSORS_DTYPES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U64": "uint64",
    "U32": "uint32",
    "U16": "uint16",
    "U8": "uint8",
    "BOOL": "bool",
}
#: The largest safetensors header accepted (the safetensors library's own limit).
_MAX_HEADER = 100_000_000
#: Elements checked at a time for non-finite values (bounds the temporary mask).
_FINITE_CHUNK = 1 << 22


def _unreadable(detail: str) -> BundleError:
    return BundleError(f"{WEIGHTS}: not a readable safetensors file ({detail}); {_RESAVE}")


def _spec_text(dtype: Any, shape: Any) -> str:
    """``float32[40, 4]``; a shape that is not a list is shown as what it is."""
    if isinstance(shape, (list, tuple)):
        return f"{dtype}{list(shape)}"
    return f"{dtype} (shape {shape!r})"


def _read_header(path: Path) -> dict[str, tuple[str, list[int]]]:
    """Name -> (NumPy dtype, shape) from the safetensors header, every declared size checked
    against the file's actual size before anything is allocated."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise _unreadable(f"{size} bytes, too short for the 8-byte header length")
        n = int.from_bytes(head, "little")
        if n < 2 or n > size - 8 or n > _MAX_HEADER:
            raise _unreadable(
                f"the header declares {n:,} bytes; the file holds {size - 8:,} after the length field"
            )
        raw = fh.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _unreadable(f"the header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise _unreadable(f"the header is a JSON {type(header).__name__}, expected an object")
    data_len = size - 8 - n
    out: dict[str, tuple[str, list[int]]] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict):
            raise _unreadable(f"tensor {name!r}: the header entry is not an object")
        code, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if code not in _SAFETENSORS_DTYPES:
            raise BundleError(
                f"{WEIGHTS}: tensor {name!r} has dtype {code!r}; expected one of "
                f"{', '.join(_SAFETENSORS_DTYPES)}; {_RESAVE}"
            )
        if not (
            isinstance(shape, list)
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
        ):
            raise _unreadable(f"tensor {name!r}: shape {shape!r} is not a list of sizes >= 0")
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
        ):
            raise _unreadable(
                f"tensor {name!r}: data_offsets {offsets!r} is not a [begin, end] pair"
            )
        begin, end = offsets
        dtype = _SAFETENSORS_DTYPES[code]
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize  # Python ints: no overflow
        if not 0 <= begin <= end <= data_len or end - begin != nbytes:
            raise BundleError(
                f"{WEIGHTS}: tensor {name!r} declares {_spec_text(dtype, shape)} ({nbytes:,} bytes) "
                f"at bytes {begin:,} to {end:,}, but the file holds {data_len:,} bytes of tensor "
                f"data; expected sizes that fit the file; {_RESAVE}"
            )
        out[name] = (dtype, list(shape))
    return out


def _check_record(header: dict[str, tuple[str, list[int]]], expected: dict[str, Any]) -> None:
    """The tensors' names, dtypes and shapes in the file against those model.json records."""
    missing = sorted(set(expected) - set(header))
    unexpected = sorted(set(header) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected}")
        raise BundleError(
            f"{WEIGHTS}: tensors do not match {MODEL_JSON}: {'; '.join(parts)}; {_RESAVE}"
        )
    for name, (dtype, shape) in sorted(header.items()):
        spec = expected[name]
        want_shape = spec.get("shape") if isinstance(spec, dict) else None
        want_dtype = spec.get("dtype") if isinstance(spec, dict) else None
        if want_shape != shape or want_dtype != dtype:
            raise BundleError(
                f"{WEIGHTS}: tensor {name!r} is {_spec_text(dtype, shape)} but {MODEL_JSON} "
                f"records {_spec_text(want_dtype, want_shape)}; {_RESAVE}"
            )


def _check_finite(name: str, arr: np.ndarray) -> None:
    """Refuse NaN and infinite values in a floating-point tensor (they poison every score)."""
    if arr.dtype.kind != "f" or arr.size == 0:
        return
    flat = arr.reshape(-1)
    count, first = 0, -1
    for start in range(0, flat.size, _FINITE_CHUNK):
        bad = ~np.isfinite(flat[start : start + _FINITE_CHUNK])
        found = int(bad.sum())
        if found and first < 0:
            first = start + int(np.argmax(bad))
        count += found
    if count:
        where = [int(i) for i in np.unravel_index(first, arr.shape)] if arr.ndim else []
        raise BundleError(
            f"{WEIGHTS}: tensor {name!r} holds {count:,} non-finite value"
            f"{'s' if count != 1 else ''} (first: {float(flat[first])} at {where}); expected "
            "finite numbers; the bundle was edited or saved from a diverged model, retrain or "
            "re-save it"
        )


def _read_tensors(path: Path, expected: dict[str, Any]) -> dict[str, np.ndarray]:
    """Read the safetensors file: header sizes against the file, names, shapes and dtypes
    against model.json (all before reading any data), then the data, refusing non-finite
    values."""
    header = _read_header(path)
    _check_record(header, expected)
    try:
        with safe_open(str(path), framework="np") as fh:
            arrays = {name: fh.get_tensor(name) for name in sorted(header)}
    except SafetensorError as exc:
        raise _unreadable(str(exc)) from None
    for name, arr in arrays.items():
        dtype, shape = header[name]
        if str(arr.dtype) != dtype or list(arr.shape) != shape:  # safetensors read what it declared
            raise _unreadable(f"tensor {name!r} read as {_spec_text(arr.dtype, arr.shape)}")
        _check_finite(name, arr)
        arr.flags.writeable = False
    return arrays


def _read_vocab(directory: Path, rel: str, record: Any) -> Vocabulary:
    """Read a vocabulary; its size must be the one model.json records (when it records one)."""
    full = directory / rel
    try:
        vocab = Vocabulary.load(full)
    except DataError as exc:
        reason = str(exc).removeprefix(f"{full}: ")
        raise BundleError(f"{rel}: {reason}; {_RESAVE}") from None
    except (pa.ArrowException, ValueError, KeyError, TypeError, AttributeError) as exc:
        # a Parquet file whose embedlab metadata was edited: not JSON, keys missing
        raise BundleError(
            f"{rel}: not an embedlab vocabulary ({type(exc).__name__}: {exc}); {_RESAVE}"
        ) from None
    size = record.get("size") if isinstance(record, dict) else None
    if record is not None and size != len(vocab):
        raise BundleError(
            f"{rel}: {len(vocab):,} IDs but {MODEL_JSON} records vocab size {size!r}; {_RESAVE}"
        )
    return vocab


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Read a model bundle written by :func:`save_bundle`, verifying every file.

    A bundle is treated as untrusted input: its files may have been edited and the
    checksums resealed. Never unpickles. Checks, in order: the directory holds a
    ``model.json`` that parses, has a supported format version and an intact content
    checksum; every file it lists exists with the recorded size and sha256; the
    vocabularies hold as many IDs as recorded; the header of ``weights.safetensors``
    declares sizes that fit the file (before anything is allocated) and exactly the
    tensor names, shapes and dtypes recorded; no floating-point tensor holds NaN or
    infinity. Files not listed are ignored.

    What the config and the tensors must hold for a given model class (settings,
    shapes against the vocabularies, seen-item indices) is checked by
    :func:`check_model_bundle`, which the estimators' ``load`` and :func:`bundle_info`
    call.

    Raises:
        BundleError: A one-line message naming the file and what is wrong with it.
    """
    directory = Path(path)
    doc = _read_model_json(directory)
    files = doc["files"]
    _verify_files(directory, files)
    vocab_record = doc.get("vocab", {})  # checked by _read_model_json when present
    users = _read_vocab(directory, USERS_VOCAB, vocab_record.get("users"))
    items = _read_vocab(directory, ITEMS_VOCAB, vocab_record.get("items"))
    tensors = _read_tensors(directory / WEIGHTS, doc["tensors"])
    item_meta = (
        _read_metadata(directory / ITEM_METADATA, ITEM_METADATA) if ITEM_METADATA in files else None
    )
    user_meta = (
        _read_metadata(directory / USER_METADATA, USER_METADATA) if USER_METADATA in files else None
    )
    for rel, meta, vocab in ((ITEM_METADATA, item_meta, items), (USER_METADATA, user_meta, users)):
        if meta is not None and len(meta) != len(vocab):
            raise BundleError(
                f"{rel}: {len(meta)} rows but the vocabulary has {len(vocab)} IDs; {_RESAVE}"
            )
    history = doc.get("history")
    fingerprint = doc.get("data_fingerprint")
    return Bundle(
        path=directory,
        model_class=doc["model_class"],
        config=doc["config"],
        tensors=tensors,
        users=users,
        items=items,
        metrics=doc["metrics"],
        history=history if isinstance(history, list) else None,
        item_metadata=item_meta,
        user_metadata=user_meta,
        data_fingerprint=fingerprint if isinstance(fingerprint, str) else None,
        format=doc["format"],
        library_version=str(doc.get("library_version", "")),
        created=str(doc.get("created", "")),
    )


def bundle_info(path: str | os.PathLike[str], *, verify: bool = True) -> dict[str, Any]:
    """What ``model.json`` says about a bundle, for an ``info`` command.

    Format, library version, model class, creation time, config, metrics, history, data
    fingerprint, vocabulary sizes, tensor shapes and the file list.

    Args:
        path: The bundle directory.
        verify: Check the whole bundle first, as loading does (:func:`load_bundle` and
            :func:`check_model_bundle`: files, checksums, config against the model's
            settings, tensors against the vocabularies, finite weights), so that a bundle
            that would not load is not described. False: read ``model.json`` only (its
            format and content checksum are still checked).

    Raises:
        BundleError: If ``path`` is not a bundle, its ``model.json`` is damaged or of an
            unsupported format, or (``verify=True``) any check of loading fails.
    """
    doc = _read_model_json(Path(path))
    if verify:
        from embedlab.io._schema import check_model_bundle

        check_model_bundle(load_bundle(path))
    info = {k: v for k, v in doc.items() if k != "checksum"}
    info["path"] = str(Path(path))
    return info
