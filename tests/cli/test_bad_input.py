"""Bad input of every kind, each in a real process (``python -m embedlab ...``): exit 2 and
one line on stderr, no traceback, no Python warning text, nothing half-written and every
file that was there before left byte for byte as it was (issue 18).

Each case runs in a folder of its own; the folder's files (names, sizes, sha256, hidden
temporaries included) are recorded before the run and compared after it. Cases of the
environment need a real fault:

* a full disk: a small tmpfs mounted in the case's folder and filled up (root, where
  ``mount`` works); elsewhere a ``sitecustomize`` that fails every rename into the folder
  with ``ENOSPC``, the last step of each of embedlab's atomic writes;
* a read-only file system: a tmpfs mounted read-only (root), else a folder without write
  permission;
* permission denied: ``chmod`` (as root the child process drops ``CAP_DAC_OVERRIDE`` and
  ``CAP_DAC_READ_SEARCH`` first, so that the permissions apply to it);
* a closed stdout (``| head``): the process's stdout is a pipe whose reading end is closed.

The processes run a few at a time (each imports torch: about 1 s, 300 MB).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import dataclasses
import errno
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import embedlab as el

#: How many processes run at once (each holds about 300 MB while it imports torch).
PARALLEL = 3
#: A leaked Python warning: "path/file.py:123: SomeWarning: ..." (or its source line).
LEAKED_WARNING = re.compile(r"\.py:\d+: \w*(Warning|Error)\b|^\s+warnings\.warn\(", re.M)


# --------------------------------------------------------------------------- the world
@dataclasses.dataclass
class World:
    """What the cases share: a ratings file, a trained bundle and a folder of bad files."""

    root: Path
    ratings: Path
    bundle: Path
    twins: Path
    twin_title: str
    files: Path
    mounts: list[Path] = dataclasses.field(default_factory=list)

    def fill(self) -> dict[str, str]:
        return {
            "ratings": str(self.ratings),
            "bundle": str(self.bundle),
            "twins": str(self.twins),
            "twin_title": self.twin_title,
            "files": str(self.files),
        }


def _write_bad_files(files: Path, ratings: Path) -> None:
    """One file per kind of damage."""
    good = ratings.read_bytes()
    text = {
        "ragged.csv": "user,item,rating\n1,1\n2,1\n1,2,3,5\n",
        "ragged_late.csv": "user,item,rating\n1,1,4\n2,1\n1,2,3\n",
        "nan.csv": "user,item,rating\n1,1,4\n2,1,nan\n1,2,3\n",
        "inf.csv": "user,item,rating\n1,1,inf\n2,1,3\n",
        "huge_rating.csv": "user,item,rating\n1,1,1e39\n2,1,3\n1,2,3\n",
        "words.csv": "user,item,rating\n1,1,good\n2,1,3\n",
        "empty.csv": "",
        "header_only.csv": "user,item,rating\n",
        "blank.csv": "\n\n   \n",
        "two_columns.csv": "user,item\n1,2\n3,4\n",
        "bad_time.csv": "user,item,rating,timestamp\n1,1,4,yesterday\n2,1,3,xx\n",
        "dups.csv": "user,item,rating\n1,1,4\n1,1,5\n2,2,3\n",
        "not.parquet": "hello, I am text\n",
    }
    for name, body in text.items():
        (files / name).write_text(body, encoding="utf-8")
    (files / "latin1.csv").write_bytes(b"user,item,rating\n1,1,4\n2,\xe9t\xe9,3\n")
    (files / "garbage.csv").write_bytes(bytes(range(256)) * 20)
    packed = gzip.compress(good)
    (files / "truncated.csv.gz").write_bytes(packed[: len(packed) // 2])
    damaged = bytearray(packed)
    damaged[-6] ^= 0xFF  # the stored CRC-32 no longer matches
    (files / "bad_crc.csv.gz").write_bytes(bytes(damaged))
    (files / "not_gzip.csv.gz").write_bytes(bytes(range(256)) * 4)
    import bz2

    packed = bz2.compress(good)
    (files / "truncated.csv.bz2").write_bytes(packed[: len(packed) // 2])
    with zipfile.ZipFile(files / "ml.zip", "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("ml-100k/u.data", "1\t1\t4\t881250949\n" * 300)
    whole = (files / "ml.zip").read_bytes()
    (files / "truncated.zip").write_bytes(whole[: len(whole) // 3])
    flipped = bytearray(whole)
    flipped[whole.find(b"1\t1\t4") + 100] = ord("9")  # the member's CRC-32 fails
    (files / "bad_crc.zip").write_bytes(bytes(flipped))
    (files / "no_ratings").mkdir()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("bad_input")
    ds, _ = el.synthetic_ratings(60, 40, 1500, random_state=5)
    el.data.write_movielens_csv(ds, root / "syn")
    model = el.MatrixFactorization(embedding_dim=4, epochs=2, random_state=0)
    model.fit(ds, progress=False)
    bundle = model.save(root / "bundle")
    # two items with the same title and year: only their keys tell them apart
    meta = ds.item_metadata.copy()
    meta.loc[1, ["title", "year"]] = meta.loc[0, ["title", "year"]].to_numpy()
    twins = el.MatrixFactorization(embedding_dim=2, epochs=1, random_state=0)
    twins.fit(ds.with_item_metadata(meta), progress=False)
    files = root / "files"
    files.mkdir()
    _write_bad_files(files, root / "syn" / "ratings.csv")
    w = World(
        root=root,
        ratings=root / "syn" / "ratings.csv",
        bundle=bundle,
        twins=twins.save(root / "twins"),
        twin_title=str(meta.loc[0, "title"]),
        files=files,
    )
    yield w
    for mount in reversed(w.mounts):
        _umount(mount)


# --------------------------------------------------------------------------- faults
def _can_mount() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "geteuid") and os.geteuid() == 0


def _mount_tmpfs(folder: Path, world: World, *, size: str, read_only: bool = False) -> bool:
    """Mount a tmpfs on ``folder`` (created); False where that is not possible."""
    folder.mkdir(parents=True, exist_ok=True)
    if not _can_mount():
        return False
    options = f"size={size},mode=0777" + (",ro" if read_only else "")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        return False
    world.mounts.append(folder)
    return True


def _umount(folder: Path) -> None:
    if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _fill_up(folder: Path) -> None:
    """Write a ballast file until the file system of ``folder`` is full (unbuffered, so
    that what was written is what the snapshot records)."""
    with open(folder / "ballast", "wb", buffering=0) as fh:
        chunk = b"\0" * 4096
        with contextlib.suppress(OSError):
            while True:
                fh.write(chunk)
        with contextlib.suppress(OSError):
            while True:
                fh.write(b"\0")


#: The sitecustomize of the disk-full fallback: every rename into $EMBEDLAB_TEST_FULL fails.
_ENOSPC_SITECUSTOMIZE = """
import errno, os
_full = os.environ.get("EMBEDLAB_TEST_FULL")
if _full:
    _full = os.path.realpath(_full)
    def _guard(real):
        def wrapped(src, dst, *args, **kwargs):
            if os.path.realpath(os.fspath(dst)).startswith(_full + os.sep):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(dst))
            return real(src, dst, *args, **kwargs)
        return wrapped
    os.replace = _guard(os.replace)
    os.rename = _guard(os.rename)
"""


def _disk_full(folder: Path, world: World, env: dict[str, str]) -> None:
    """Make ``folder`` a full disk: a filled tmpfs, or the rename-failing fallback."""
    if _mount_tmpfs(folder, world, size="256k"):
        return
    inject = world.root / "inject"
    inject.mkdir(exist_ok=True)
    (inject / "sitecustomize.py").write_text(_ENOSPC_SITECUSTOMIZE)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(inject), env.get("PYTHONPATH")]))
    env["EMBEDLAB_TEST_FULL"] = str(folder)


def _read_only(folder: Path, world: World) -> str:
    """Make ``folder`` read-only; returns how the child must run (see :func:`_drop_dac`)."""
    if _mount_tmpfs(folder, world, size="64k", read_only=True):
        return "plain"
    folder.chmod(0o555)
    return "no-dac"


def _drop_dac() -> None:  # pragma: no cover - runs in the child between fork and exec
    """As root, drop the capabilities that bypass file permissions (bounding set, so that
    the exec'd process does not get them back)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


# --------------------------------------------------------------------------- cases
Prepare = Callable[[Path, World, dict[str, str]], str | None]


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad invocation.

    ``args`` follow ``python -m embedlab``; ``{d}`` is the case's folder, ``{ratings}``,
    ``{bundle}`` and ``{files}`` come from :class:`World`. ``piece`` is a part of the one
    error line. ``prepare(folder, world, env)`` builds what was there before (and may
    return how the child runs: ``"plain"``, ``"no-dac"``); ``stdout`` ``"closed"`` runs
    the child with a stdout nobody reads.
    """

    id: str
    args: tuple[str, ...]
    piece: str
    prepare: Prepare | None = None
    stdout: str = "pipe"


def _touch(*names: str, body: bytes = b"precious\n") -> Prepare:
    def prepare(d: Path, world: World, env: dict[str, str]) -> None:
        for name in names:
            (d / name).parent.mkdir(parents=True, exist_ok=True)
            (d / name).write_bytes(body)

    return prepare


def _folder_with(name: str) -> Prepare:
    def prepare(d: Path, world: World, env: dict[str, str]) -> None:
        (d / name).mkdir()
        (d / name / "notes.txt").write_text("mine, not a model\n")

    return prepare


def _old_bundle(d: Path, world: World, name: str = "m") -> None:
    shutil.copytree(world.bundle, d / name)


def _full_with(target: str | None, kind: str = "file") -> Prepare:
    """A full disk at ``{d}/full`` holding a previous ``target`` (a file or a bundle)."""

    def prepare(d: Path, world: World, env: dict[str, str]) -> None:
        full = d / "full"
        _disk_full(full, world, env)
        if target is not None:
            if kind == "bundle":
                _old_bundle(full, world, target)
            else:
                (full / target).write_bytes(b"previous export\n")
        if "EMBEDLAB_TEST_FULL" not in env:
            _fill_up(full)

    return prepare


def _read_only_folder(d: Path, world: World, env: dict[str, str]) -> str:
    (d / "ro").mkdir()
    return _read_only(d / "ro", world)


def _no_write_permission(d: Path, world: World, env: dict[str, str]) -> str:
    (d / "locked").mkdir()
    (d / "locked").chmod(0o555)
    return "no-dac"


def _unreadable(d: Path, world: World, env: dict[str, str]) -> str:
    shutil.copy(world.ratings, d / "secret.csv")
    (d / "secret.csv").chmod(0o000)
    return "no-dac"


TRAIN = ("train", "{ratings}", "--out", "{d}/o", "-q", "--epochs", "1")
NEURAL = (*TRAIN, "--model", "neural")


def _train(data: str, *extra: str) -> tuple[str, ...]:
    return ("train", data, "--out", "{d}/o", "-q", "--epochs", "1", *extra)


def _info(name: str) -> tuple[str, ...]:
    return ("data", "info", f"{{files}}/{name}")


CASES = [
    # ---------------------------------------------------------------- malformed files
    Case("ragged-rows", _info("ragged.csv"), "different numbers of ','-separated fields"),
    Case("ragged-rows-train", _train("{files}/ragged.csv"), "line 1 has 3, line 2 has 2"),
    Case("ragged-row-later", _info("ragged_late.csv"), "wrong number of fields"),
    Case("nan-ratings", _info("nan.csv"), "NaN"),
    Case("nan-ratings-train", _train("{files}/nan.csv"), "NaN"),
    Case("infinite-rating", _info("inf.csv"), "infinite"),
    Case("rating-beyond-float32", _train("{files}/huge_rating.csv"), "too large for a rating"),
    Case("words-as-ratings", _info("words.csv"), "non-numeric"),
    Case("empty-file", _info("empty.csv"), "empty"),
    Case("header-only", _train("{files}/header_only.csv"), "no data rows"),
    Case("blank-lines-only", _info("blank.csv"), "blank lines"),
    Case("binary-garbage", _info("garbage.csv"), "NUL bytes"),
    Case("truncated-gz", _train("{files}/truncated.csv.gz"), "truncated.csv.gz: cannot be read"),
    Case("bad-crc-gz", _info("bad_crc.csv.gz"), "bad_crc.csv.gz: cannot be read"),
    Case("not-gzip", _info("not_gzip.csv.gz"), "not_gzip.csv.gz"),
    Case("truncated-bz2", _info("truncated.csv.bz2"), "truncated.csv.bz2: cannot be read"),
    Case("truncated-zip", _info("truncated.zip"), "truncated.zip"),
    Case("bad-crc-zip", _train("{files}/bad_crc.zip"), "Bad CRC-32"),
    Case("wrong-encoding", _info("latin1.csv"), "--encoding latin-1"),
    Case("missing-rating-column", _info("two_columns.csv"), "no rating column"),
    Case("unknown-column-option", (*_info("dups.csv"), "--rating", "score"), "no column 'score'"),
    Case("bad-timestamps", _info("bad_time.csv"), "neither numbers nor dates"),
    Case("duplicates-refused", (*_info("dups.csv"), "--duplicates", "error"), "duplicate"),
    Case("text-as-parquet", _info("not.parquet"), "Parquet"),
    Case("folder-without-ratings", _train("{files}/no_ratings"), "not a MovieLens dataset"),
    Case("missing-file", _train("{d}/nope.csv"), "file not found"),
    Case("missing-side-table", (*TRAIN, "--items", "{d}/nope.csv"), "nope.csv"),
    # ---------------------------------------------------------------- arguments
    Case("dim-zero", (*TRAIN, "--embedding-dim", "0"), "--embedding-dim 0"),
    Case("dim-negative", (*TRAIN, "--embedding-dim", "-5"), "--embedding-dim -5"),
    Case("dim-2-to-40", (*TRAIN, "--embedding-dim", str(2**40)), f"--embedding-dim {2**40}"),
    Case("dim-2-to-40-neural", (*NEURAL, "--embedding-dim", str(2**40)), "--embedding-dim"),
    Case("dim-not-a-number", (*TRAIN, "--embedding-dim", "wide"), "--embedding-dim"),
    Case(
        "dim-beyond-memory",
        (*NEURAL, "--embedding-dim", "200000", "--pretrain", "none"),
        "of memory",
    ),
    Case("hidden-beyond-memory", (*NEURAL, "--hidden", str(10**14)), "--hidden"),
    Case("epochs-zero", (*TRAIN, "--epochs", "0"), "--epochs 0"),
    Case("epochs-huge", (*TRAIN, "--epochs", str(10**20)), f"--epochs {10**20}"),
    Case("epochs-beyond-int64", (*TRAIN, "--epochs", str(2**70)), "--epochs"),
    Case("epochs-not-an-integer", (*TRAIN, "--epochs", "2.5"), "--epochs"),
    Case("batch-size-huge", (*NEURAL, "--batch-size", str(10**20)), "--batch-size"),
    Case("learning-rate-negative", (*TRAIN, "--learning-rate", "-1"), "--learning-rate -1"),
    Case("learning-rate-nan", (*TRAIN, "--learning-rate", "nan"), "--learning-rate nan"),
    Case("unknown-engine", (*TRAIN, "--engine", "hadoop"), "--engine hadoop"),
    Case("unknown-model", (*TRAIN, "--model", "svd"), "--model 'svd'"),
    Case("validation-split-above-1", (*TRAIN, "--validation-split", "1.5"), "validation"),
    Case("negative-seed", (*TRAIN, "--random-state", "-1"), "--random-state -1"),
    Case("unknown-option", (*TRAIN, "--frobnicate"), "No such option: --frobnicate"),
    Case("topn-zero", ("similar", "{bundle}", "1", "--topn", "0"), "--topn 0"),
    Case("n-negative", ("recommend", "{bundle}", "--user", "1", "--n", "-1"), "--n -1"),
    Case(
        "unknown-projection",
        ("map", "{bundle}", "--out", "{d}/m.png", "--method", "xyz"),
        "--method 'xyz'",
    ),
    Case(
        "unknown-export-format",
        ("export", "{bundle}", "--format", "xml", "--out", "{d}/x"),
        "--format 'xml'",
    ),
    Case(
        "synth-negative-users",
        ("data", "synth", "{d}/s", "--users", "-1", "--items", "3", "--ratings", "4"),
        "--users -1",
    ),
    Case("port-out-of-range", ("serve", "{bundle}", "--port", "70000"), "--port 70000"),
    Case(
        "strengths-not-numbers",
        ("experiment", "l2", "{ratings}", "--strengths", "a,b"),
        "--strengths 'a,b'",
    ),
    Case(
        "experiment-epochs-huge",
        ("experiment", "size-sweep", "{ratings}", "--epochs", str(10**20)),
        "--epochs",
    ),
    # ---------------------------------------------------------------- output paths
    Case(
        "train-out-under-a-file",
        (*TRAIN[:2], "--out", "{d}/f/m", *TRAIN[4:]),
        "f is a file",
        _touch("f"),
    ),
    Case(
        "train-out-onto-a-file",
        (*TRAIN[:2], "--out", "{d}/f", *TRAIN[4:]),
        "a file exists there",
        _touch("f"),
    ),
    Case(
        "train-out-onto-a-folder",
        (*TRAIN[:2], "--out", "{d}/mine", *TRAIN[4:]),
        "not a model bundle",
        _folder_with("mine"),
    ),
    Case(
        "checkpoint-dir-onto-a-file",
        (*TRAIN, "--checkpoint-dir", "{d}/f"),
        "--checkpoint-dir",
        _touch("f"),
    ),
    Case(
        "checkpoint-dir-inside-out",
        (*TRAIN, "--checkpoint-dir", "{d}/o/ck"),
        "lies in --out",
    ),
    Case(
        "export-onto-a-folder",
        ("export", "{bundle}", "--format", "word2vec", "--out", "{d}/mine"),
        "a folder exists there",
        _folder_with("mine"),
    ),
    Case(
        "export-under-a-file",
        ("export", "{bundle}", "--format", "npy", "--out", "{d}/f/deeper/v.npz"),
        "f is a file",
        _touch("f"),
    ),
    Case(
        "projector-onto-a-file",
        ("export", "{bundle}", "--format", "projector", "--out", "{d}/f"),
        "a file exists there",
        _touch("f"),
    ),
    Case(
        "projector-onto-a-folder",
        ("export", "{bundle}", "--format", "projector", "--out", "{d}/mine"),
        "not a projector export",
        _folder_with("mine"),
    ),
    Case(
        "map-under-a-file",
        ("map", "{bundle}", "--out", "{d}/f/map.png", "--method", "pca"),
        "f is a file",
        _touch("f"),
    ),
    Case(
        "plot-onto-a-folder",
        ("plot", "history", "{bundle}", "--out", "{d}/mine.png"),
        "a folder exists there",
        _folder_with("mine.png"),
    ),
    Case(
        "experiment-out-under-a-file",
        ("experiment", "l2", "{ratings}", "--strengths", "0.1", "--out", "{d}/f/x.csv"),
        "f is a file",
        _touch("f"),
    ),
    Case("synth-onto-a-file", ("data", "synth", "{d}/f"), "a file exists there", _touch("f")),
    Case("demo-out-under-a-file", ("demo", "--out", "{d}/f/demo"), "f is a file", _touch("f")),
    Case(
        "export-read-only-file-system",
        ("export", "{bundle}", "--format", "npy", "--out", "{d}/ro/v.npz"),
        "--out",
        _read_only_folder,
    ),
    Case(
        "missing-parent-in-read-only-folder",
        (*TRAIN[:2], "--out", "{d}/ro/runs/m", *TRAIN[4:]),
        "--out",
        _read_only_folder,
    ),
    Case(
        "train-out-without-permission",
        (*TRAIN[:2], "--out", "{d}/locked/m", *TRAIN[4:]),
        "not writable",
        _no_write_permission,
    ),
    # ---------------------------------------------------------------- IDs
    Case("unknown-title", ("similar", "{bundle}", "No Such Film Anywhere"), "No Such Film"),
    Case(
        "ambiguous-title-same-year",
        ("similar", "{twins}", "{twin_title}"),
        "the same label and year; pass the key instead",
    ),
    Case("unknown-user", ("recommend", "{bundle}", "--user", "987654"), "987654"),
    Case("superscript-user", ("recommend", "{bundle}", "--user", "²³"), "²³"),
    Case("doubled-sign-user", ("recommend", "{bundle}", "--user=--5"), "--5"),
    Case("superscript-rated-item", ("recommend", "{bundle}", "--rate", "²=5"), "--rate '²=5'"),
    Case("rating-not-a-number", ("recommend", "{bundle}", "--rate", "1=abc"), "--rate '1=abc'"),
    # ---------------------------------------------------------------- environment
    Case(
        "disk-full-train",
        # the torch engine: the sgd engine's own warnings would add a line before the error
        (*TRAIN[:2], "--out", "{d}/full/m", *TRAIN[4:], "--engine", "torch"),
        "full/m",
        _full_with("m", "bundle"),
    ),
    Case(
        "disk-full-export",
        ("export", "{bundle}", "--format", "word2vec", "--out", "{d}/full/v.w2v"),
        "--out",
        _full_with("v.w2v"),
    ),
    Case(
        "disk-full-map",
        ("map", "{bundle}", "--out", "{d}/full/map.png", "--method", "pca"),
        "--out",
        _full_with("map.png"),
    ),
    Case("disk-full-checkpoint", (*TRAIN, "--checkpoint-dir", "{d}/full/ck"), "", _full_with(None)),
    Case(
        "disk-full-synth",
        ("data", "synth", "{d}/full/s", "--users", "30", "--items", "20", "--ratings", "500"),
        "OUT_DIR",
        _full_with(None),
    ),
    Case("unreadable-ratings", _train("{d}/secret.csv"), "secret.csv", _unreadable),
    Case(
        "broken-pipe-similar",
        ("similar", "{bundle}", "1", "--topn", "30"),
        "broken pipe",
        stdout="closed",
    ),
    Case("broken-pipe-table", ("data", "info", "{ratings}"), "broken pipe", stdout="closed"),
    Case(
        "broken-pipe-json",
        ("recommend", "{bundle}", "--user", "1", "--json"),
        "broken pipe",
        stdout="closed",
    ),
]


# --------------------------------------------------------------------------- running
def _snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` (hidden ones too): ``"dir"`` or the file's size and sha256."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            found[rel] = f"link {os.readlink(path)}"
        elif path.is_dir():
            found[rel] = "dir"
        else:
            try:
                data = path.read_bytes()
            except PermissionError:
                found[rel] = f"unreadable {path.stat().st_size}"
                continue
            found[rel] = f"{len(data)} {hashlib.sha256(data).hexdigest()}"
    return found


@dataclasses.dataclass
class Outcome:
    case: Case
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    before: dict[str, str]
    after: dict[str, str]
    seconds: float


def _run(case: Case, world: World) -> Outcome:
    folder = world.root / "cases" / case.id
    folder.mkdir(parents=True)
    env = {**os.environ, "EMBEDLAB_CACHE": str(world.root / "cache"), "COLUMNS": "120"}
    for name in ("EMBEDLAB_DEBUG", "EMBEDLAB_DATA", "PYTHONWARNINGS"):
        env.pop(name, None)
    how = case.prepare(folder, world, env) if case.prepare else None
    fill = world.fill() | {"d": str(folder)}
    argv = [sys.executable, "-m", "embedlab", *(a.format(**fill) for a in case.args)]
    before = _snapshot(folder)
    start = time.perf_counter()
    preexec = _drop_dac if how == "no-dac" else None
    if case.stdout == "closed":
        read, write = os.pipe()
        os.close(read)  # nobody reads: the first write fails with EPIPE
        try:
            proc = subprocess.Popen(
                argv,
                stdout=write,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=folder,
                preexec_fn=preexec,
            )
        finally:
            os.close(write)
        _, err = proc.communicate(timeout=180)
        out = ""
    else:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=folder,
            preexec_fn=preexec,
        )
        out, err = proc.communicate(timeout=180)
    seconds = time.perf_counter() - start
    return Outcome(case, argv, proc.returncode, out, err, before, _snapshot(folder), seconds)


@pytest.fixture(scope="module")
def outcomes(world: World) -> dict[str, Outcome]:
    """Every case run once, :data:`PARALLEL` at a time."""
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        futures = {case.id: pool.submit(_run, case, world) for case in CASES}
        return {key: future.result() for key, future in futures.items()}


def test_the_suite_is_large_and_its_ids_unique() -> None:
    assert len(CASES) >= 50
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, outcomes: dict[str, Outcome]) -> None:
    got = outcomes[case.id]
    shown = f"{' '.join(got.argv[3:])}\nexit {got.returncode}\nstderr:\n{got.stderr}"
    lines = [line for line in got.stderr.splitlines() if line.strip()]
    assert got.returncode == 2, shown
    assert len(lines) == 1, shown
    assert lines[0].startswith("error: "), shown
    assert case.piece in lines[0], shown
    assert "Traceback" not in got.stderr + got.stdout, shown
    assert not LEAKED_WARNING.search(got.stderr), shown
    assert got.after == got.before, (
        f"{shown}\nthe case's folder changed: "
        f"{sorted(set(got.after.items()) ^ set(got.before.items()))}"
    )


def test_an_environment_error_is_told_apart_from_a_bug() -> None:
    """The errno decides: a full disk is the environment's fault, an OSError without a
    path or errno stays a bug (exit 1)."""
    from embedlab.cli._app import environment_message

    full = OSError(errno.ENOSPC, "No space left on device", "/data/out")
    assert environment_message(full) == (
        "/data/out: no space left on the device ([Errno 28]); free some space or write elsewhere"
    )
    assert environment_message(OSError(errno.ENOENT, "No such file")) is None
    assert environment_message(OSError("Truncated compressed stream")) is None
    assert "read-only" in (environment_message(OSError(errno.EROFS, "ro", "/x")) or "")


@pytest.mark.filterwarnings("default")
def test_warnings_reach_the_user_as_one_line_each() -> None:
    import warnings

    import typer
    from typer.testing import CliRunner

    from embedlab.cli._app import _ErrorHandlingGroup
    from embedlab.exceptions import DataWarning

    probe = typer.Typer(cls=_ErrorHandlingGroup)

    @probe.command()
    def warn() -> None:
        warnings.warn("ratings.csv: 3 duplicate pairs;\n kept the last", DataWarning, stacklevel=1)
        warnings.warn("overflow encountered in cast", RuntimeWarning, stacklevel=1)

    @probe.command()
    def other() -> None:  # a second command, so that typer keeps the sub-command names
        pass

    result = CliRunner().invoke(probe, ["warn"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "warning: ratings.csv: 3 duplicate pairs; kept the last",
        "warning: RuntimeWarning: overflow encountered in cast",
    ]


def test_a_warning_of_a_real_run_is_one_line(world: World, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "embedlab", "train", str(world.files / "dups.csv")]
    done = subprocess.run(
        [*argv, "--out", str(tmp_path / "m"), "-q", "--epochs", "1"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: "), done.stderr
    assert not LEAKED_WARNING.search(done.stderr)
