"""Temporaries of interrupted writes: named after their writer, swept by the next write.

A bundle save, an atomic file write and a checkpoint all write under
``.NAME.embedlab-tmp.PID.RANDOM`` and rename into place. A writer killed with SIGKILL
leaves its temporary behind; the next write to the same place removes those whose process
is gone, and never one of a running process or of the current one.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import embedlab._io as _io
from embedlab._io import atomic_write_text, remove_stale_temporaries
from embedlab.data import Vocabulary
from embedlab.io import load_bundle, save_bundle

#: A writer process that imports once, then forks a child per "fork" command that saves
#: the same moderately large bundle to the target again and again until it is killed;
#: "reap PID" waits for a killed child (a zombie would still count as a live process).
ZYGOTE = r"""
import os, sys
import numpy as np
from embedlab.data import Vocabulary
from embedlab.io import save_bundle

target, n = sys.argv[1], int(sys.argv[2])
print("ready", flush=True)
for line in sys.stdin:
    command, _, arg = line.strip().partition(" ")
    if command == "fork":
        pid = os.fork()
        if pid == 0:
            try:
                rng = np.random.default_rng(0)
                tensors = {
                    "user_embedding.weight": rng.normal(size=(n, 32)).astype(np.float32),
                    "item_embedding.weight": rng.normal(size=(n, 32)).astype(np.float32),
                }
                users = Vocabulary(np.arange(n), name="user")
                items = Vocabulary(np.arange(n), name="item")
                while True:
                    save_bundle(target, model_class="KillTest", config={"n": n},
                                tensors=tensors, users=users, items=items)
            finally:
                os._exit(1)
        print(pid, flush=True)
    elif command == "reap":
        os.waitpid(int(arg), 0)
        print("reaped", flush=True)
"""

N_ROWS = 40_000  # two 40,000 x 32 float32 tables: 10 MB of weights, ~0.1 s per save
ITERATIONS = 24


def _tagged(name: str, pid: int, tag: str = _io.TMP_TAG) -> str:
    return f".{name}.{tag}.{pid}.abc123_x"


def _dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=60)
    return proc.pid


@pytest.fixture
def sleeper():
    """A live child process (ended and reaped afterwards)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=60)


def _small_bundle(path: Path, value: float = 1.0) -> Path:
    return save_bundle(
        path,
        model_class="KillTest",
        config={"value": value},
        tensors={"w": np.full((3, 2), value, np.float32)},
        users=Vocabulary([1, 2, 3], name="user"),
        items=Vocabulary(["a"], name="item"),
    )


# ---------------------------------------------------------------------- kill -9 mid-save
@pytest.mark.slow
def test_a_save_killed_at_any_moment_leaves_a_complete_bundle_or_none(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "model"
    target.parent.mkdir()
    rng = random.Random(18)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    zygote = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE, str(target), str(N_ROWS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert zygote.stdin is not None and zygote.stdout is not None
    own = re.compile(rf"^\.model\.(?:{_io.TMP_TAG}|{_io.OLD_TAG})\.(\d+)\.[A-Za-z0-9_]+$")
    complete = interrupted_swaps = with_leftovers = 0
    started = time.monotonic()
    try:
        assert zygote.stdout.readline().strip() == "ready"
        for _ in range(ITERATIONS):
            zygote.stdin.write("fork\n")
            zygote.stdin.flush()
            pid = int(zygote.stdout.readline())
            time.sleep(rng.uniform(0.0, 0.45))
            os.kill(pid, signal.SIGKILL)
            zygote.stdin.write(f"reap {pid}\n")
            zygote.stdin.flush()
            assert zygote.stdout.readline().strip() == "reaped"

            others = sorted(p.name for p in target.parent.iterdir() if p.name != target.name)
            # everything else is a temporary of the writer just killed (earlier ones were
            # swept by its first save, or it was killed before saving anything)
            for name in others:
                match = own.match(name)
                assert match is not None, others
            with_leftovers += bool(others)
            if target.exists():
                bundle = load_bundle(target)  # complete: every size and sha256 verified
                assert bundle.config == {"n": N_ROWS}
                assert bundle.tensors["user_embedding.weight"].shape == (N_ROWS, 32)
                complete += 1
            elif complete:
                # killed between moving the previous bundle aside and renaming the new one
                # in: the previous one is kept, and loading says where
                assert any(f".{_io.OLD_TAG}." in name for name in others), others
                interrupted_swaps += 1
    finally:
        zygote.stdin.close()
        try:
            zygote.wait(timeout=60)
        except subprocess.TimeoutExpired:
            zygote.kill()
            zygote.wait(timeout=60)
        zygote.stdout.close()
    assert complete >= ITERATIONS // 3, (complete, interrupted_swaps)
    assert with_leftovers >= 1  # the loop did kill saves mid-way
    # the next save removes every temporary the killed writers left
    _small_bundle(target, 2.0)
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    assert load_bundle(target).config == {"value": 2.0}
    assert time.monotonic() - started < 60


# ---------------------------------------------------------------------- whose temporaries
def test_a_running_writers_temporaries_are_kept(tmp_path: Path, sleeper) -> None:
    target = tmp_path / "model"
    _small_bundle(target)
    mine = tmp_path / _tagged("model", os.getpid())
    child = tmp_path / _tagged("model", sleeper.pid)
    child_old = tmp_path / _tagged("model", sleeper.pid, _io.OLD_TAG)
    for folder in (mine, child, child_old):
        folder.mkdir()
        (folder / "weights.safetensors").write_bytes(b"half")
    _small_bundle(target, 2.0)
    assert mine.is_dir() and child.is_dir() and child_old.is_dir()
    assert load_bundle(target).config == {"value": 2.0}

    sleeper.kill()
    sleeper.wait(timeout=60)
    _small_bundle(target, 3.0)
    assert not child.exists() and not child_old.exists()
    assert mine.is_dir()  # the current process's own: never removed


def test_only_dead_writers_temporaries_of_the_same_target_go(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale = tmp_path / _tagged("model", dead)
    stale_old = tmp_path / _tagged("model", dead, _io.OLD_TAG)
    stale.mkdir()
    stale_old.mkdir()
    keep = [
        tmp_path / _tagged("other", dead),  # another target's
        tmp_path / ".model.old-0123abcd",  # a previous bundle of an older release
        tmp_path / ".model.embedlab-tmp.notapid.x",
        tmp_path / "notes.txt",
    ]
    for path in keep:
        path.write_text("x") if path.suffix == ".txt" else path.mkdir()
    _small_bundle(tmp_path / "model")
    assert not stale.exists() and not stale_old.exists()
    assert all(path.exists() for path in keep)


def test_a_previous_bundle_moved_aside_is_kept_until_a_save_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A save killed mid-swap left the previous bundle aside and no target.
    target = _small_bundle(tmp_path / "model", 1.0)
    aside = tmp_path / _tagged("model", _dead_pid(), _io.OLD_TAG)
    target.rename(aside)
    assert load_bundle(aside).config == {"value": 1.0}
    import embedlab.io._bundle as _bundle

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_bundle, "save_file", full)
    with pytest.raises(OSError):
        _small_bundle(target, 2.0)
    assert aside.is_dir() and not target.exists()  # a failed save keeps it
    monkeypatch.undo()
    _small_bundle(target, 2.0)
    assert not aside.exists() and load_bundle(target).config == {"value": 2.0}


def test_atomic_file_writes_sweep_dead_writers_temporaries(tmp_path: Path, sleeper) -> None:
    target = tmp_path / "vectors.tsv"
    dead = tmp_path / _tagged("vectors.tsv", _dead_pid())
    live = tmp_path / _tagged("vectors.tsv", sleeper.pid)
    mine = tmp_path / _tagged("vectors.tsv", os.getpid())
    for path in (dead, live, mine):
        path.write_text("half")
    atomic_write_text(target, "whole")
    assert target.read_text() == "whole"
    assert not dead.exists() and live.exists() and mine.exists()


def test_an_atomic_write_names_its_temporary_after_its_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real = os.replace

    def spy(src, dst):
        seen.append(Path(src).name)
        return real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write_text(tmp_path / "f.txt", "x")
    assert re.match(rf"^\.f\.txt\.embedlab-tmp\.{os.getpid()}\.[A-Za-z0-9_]+$", seen[0]), seen


def test_a_bundle_save_names_its_temporary_after_its_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import embedlab.io._bundle as _bundle

    seen: list[str] = []
    real = _bundle._swap_into_place

    def spy(tmp: Path, target: Path) -> None:
        seen.append(tmp.name)
        real(tmp, target)

    monkeypatch.setattr(_bundle, "_swap_into_place", spy)
    _small_bundle(tmp_path / "model")
    assert re.match(rf"^\.model\.embedlab-tmp\.{os.getpid()}\.[A-Za-z0-9_]+$", seen[0]), seen


def test_a_process_that_cannot_be_probed_counts_as_alive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / _tagged("model", 4_000_000)

    def denied(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    other.mkdir()
    monkeypatch.setattr(_io.os, "kill", denied)
    assert remove_stale_temporaries(tmp_path, "model") == []
    assert other.is_dir()
    assert _io.pid_alive(os.getpid())


def test_checkpoints_sweep_dead_writers_temporaries_only(tmp_path: Path, sleeper) -> None:
    import torch

    from embedlab.data import synthetic_ratings
    from embedlab.nn import MFModule
    from embedlab.training import Trainer

    folder = tmp_path / "ckpt"
    folder.mkdir()
    dead = folder / _tagged("epoch-0001", _dead_pid())
    live = folder / _tagged("epoch-0001", sleeper.pid)
    mine = folder / _tagged("epoch-0002", os.getpid())
    dead_file = folder / _tagged("latest.json", _dead_pid())
    for path in (dead, live, mine):
        path.mkdir()
    dead_file.write_text("{")
    ds, _ = synthetic_ratings(30, 20, 300, embedding_dim=2, random_state=0, timestamps=False)
    module = MFModule(ds.n_users, ds.n_items, 4, generator=torch.Generator().manual_seed(0))
    Trainer(epochs=2, batch_size=100, random_state=0, progress=False).fit(
        module, ds, checkpoint_dir=folder
    )
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["epoch-0002", "latest.json", live.name, mine.name]), names
    assert json.loads((folder / "latest.json").read_text())["epoch"] == 2
