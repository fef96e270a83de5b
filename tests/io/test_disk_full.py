"""A bundle save the storage refuses (disk or quota full, read-only, not permitted).

The failure is injected where the writer touches the disk (monkeypatch) and, once, made
real with a file-size limit in a subprocess. Whatever fails: no half-written target, a
previous bundle unchanged, the temporary removed, and a :class:`StorageError` (an
:class:`EmbedlabError`, so the command line exits 2 with its one line).
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import embedlab as el
import embedlab.io._bundle as _bundle
from embedlab.cli import app
from embedlab.data import Vocabulary
from embedlab.exceptions import DataWarning, EmbedlabError, StorageError
from embedlab.io import load_bundle, save_bundle

CODES = {
    "ENOSPC": errno.ENOSPC,
    "EDQUOT": errno.EDQUOT,
    "EROFS": errno.EROFS,
    "EACCES": errno.EACCES,
}


def _save(path: Path, value: float) -> Path:
    return save_bundle(
        path,
        model_class="DiskTest",
        config={"value": value},
        tensors={"w": np.full((50, 8), value, np.float32)},
        users=Vocabulary(list(range(50)), name="user"),
        items=Vocabulary(["a", "b"], name="item"),
    )


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _failing(code: int) -> Callable[..., None]:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    return fail


def _inject(monkeypatch: pytest.MonkeyPatch, where: str, code: int) -> None:
    """Make the writer fail with ``code`` at ``where``."""
    if where == "weights":
        monkeypatch.setattr(_bundle, "save_file", _failing(code))
    elif where == "vocabulary":
        monkeypatch.setattr(_bundle.pq, "write_table", _failing(code))
    elif where == "fsync":
        monkeypatch.setattr(_bundle, "_fsync_file", _failing(code))
    elif where == "temporary":
        monkeypatch.setattr(_bundle.tempfile, "mkdtemp", _failing(code))
    elif where == "swap":
        real = os.rename

        def rename(src: object, dst: object) -> None:
            if ".embedlab-tmp." in Path(str(src)).name:
                raise OSError(code, os.strerror(code))
            real(src, dst)

        monkeypatch.setattr(_bundle.os, "rename", rename)
    else:  # pragma: no cover
        raise AssertionError(where)


WHERE = ["weights", "vocabulary", "fsync", "temporary", "swap"]


@pytest.mark.parametrize("name", CODES)
@pytest.mark.parametrize("where", WHERE)
def test_a_refused_write_keeps_the_previous_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, name: str
) -> None:
    target = _save(tmp_path / "model", 1.0)
    before = _digest(target)
    _inject(monkeypatch, where, CODES[name])
    with pytest.raises(StorageError) as info:
        _save(target, 2.0)
    monkeypatch.undo()
    error = info.value
    assert isinstance(error, EmbedlabError) and isinstance(error, OSError)
    assert error.errno == CODES[name]
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"{target}: cannot save the model bundle: {os.strerror(CODES[name])}")
    assert f"({name})" in message and "the previous bundle there is unchanged" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary left
    assert _digest(target) == before
    assert load_bundle(target).config == {"value": 1.0}


@pytest.mark.parametrize("where", WHERE)
def test_a_refused_first_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    _inject(monkeypatch, where, errno.ENOSPC)
    with pytest.raises(StorageError, match=r"No space left on device \(ENOSPC\); nothing was"):
        _save(tmp_path / "model", 2.0)
    assert list(tmp_path.iterdir()) == []


def test_other_os_errors_are_not_disguised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _inject(monkeypatch, "weights", errno.EIO)
    with pytest.raises(OSError) as info:
        _save(tmp_path / "model", 2.0)
    assert not isinstance(info.value, StorageError) and info.value.errno == errno.EIO
    assert list(tmp_path.iterdir()) == []


LIMITED = r"""
import resource, signal, sys
from pathlib import Path
import numpy as np
from embedlab.data import Vocabulary
from embedlab.exceptions import StorageError
from embedlab.io import save_bundle

target = Path(sys.argv[1])
def save(rows, value):
    save_bundle(target, model_class="DiskTest", config={"value": value},
                tensors={"w": np.full((rows, 64), value, np.float32)},
                users=Vocabulary(list(range(rows)), name="user"),
                items=Vocabulary(["a"], name="item"))
save(10, 1.0)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16))
try:
    save(100_000, 2.0)  # 25 MB of weights
except StorageError as exc:
    print(exc.errno, exc, sep="\n")
"""


def test_a_real_file_size_limit_is_a_storage_error(tmp_path: Path) -> None:
    target = tmp_path / "model"
    done = subprocess.run(
        [sys.executable, "-c", LIMITED, str(target)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    code, message = done.stdout.splitlines()
    assert int(code) == errno.EFBIG, done.stdout
    assert message.startswith(f"{target}: cannot save the model bundle: File too large (EFBIG)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert load_bundle(target).config == {"value": 1.0}


def test_the_command_line_reports_a_full_disk_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds, _ = el.synthetic_ratings(120, 60, 3000, random_state=2)
    folder = tmp_path / "data"
    el.data.write_movielens_csv(ds, folder)
    _inject(monkeypatch, "weights", errno.ENOSPC)
    out = tmp_path / "mf"
    args = ["train", str(folder / "ratings.csv"), "--out", str(out), "--epochs", "3"]
    with warnings.catch_warnings():  # what training may say about the data is not the point
        warnings.simplefilter("ignore", DataWarning)
        result = CliRunner().invoke(app, [*args, "--embedding-dim", "4", "--quiet"])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"error: {out}: cannot save the model bundle: No space left")
    assert not out.exists()


def test_a_refused_checkpoint_keeps_the_previous_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import safetensors.torch
    import torch

    from embedlab.data import synthetic_ratings
    from embedlab.nn import MFModule
    from embedlab.training import Trainer

    real = safetensors.torch.save_file

    def save_file(tensors: object, filename: str, *args: object, **kwargs: object) -> None:
        if ".epoch-0002." in filename:
            raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
        real(tensors, filename, *args, **kwargs)

    monkeypatch.setattr(safetensors.torch, "save_file", save_file)
    ds, _ = synthetic_ratings(30, 20, 300, embedding_dim=2, random_state=0, timestamps=False)
    module = MFModule(ds.n_users, ds.n_items, 4, generator=torch.Generator().manual_seed(0))
    folder = tmp_path / "ckpt"
    with pytest.raises(StorageError) as info:
        Trainer(epochs=3, batch_size=100, random_state=0, progress=False).fit(
            module, ds, checkpoint_dir=folder
        )
    assert info.value.errno == errno.EDQUOT
    assert str(info.value).startswith(
        f"{folder}: cannot write the checkpoint of epoch 2: Disk quota exceeded (EDQUOT); "
        "the previous checkpoint is kept"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["epoch-0001", "latest.json"]
    assert json.loads((folder / "latest.json").read_text())["epoch"] == 1
