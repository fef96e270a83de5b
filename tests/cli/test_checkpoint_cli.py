"""``embedlab train --checkpoint-dir DIR --resume``: a run that stopped, or was killed,
continues to the same weights, bit for bit, as a run that was never interrupted.

Each run is a real process. A kill is made deterministic by a ``sitecustomize`` that
sends the process ``SIGKILL`` right after the checkpoint of a chosen epoch is in place
(the rename of its ``latest.json``), as a crash or an out-of-memory kill would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import embedlab as el

#: Kills the process once ``latest.json`` in $EMBEDLAB_TEST_KILL_DIR says epoch
#: $EMBEDLAB_TEST_KILL_EPOCH.
_KILL_SITECUSTOMIZE = """
import json, os, signal
_dir = os.environ.get("EMBEDLAB_TEST_KILL_DIR")
if _dir:
    _epoch = int(os.environ["EMBEDLAB_TEST_KILL_EPOCH"])
    _latest = os.path.join(os.path.realpath(_dir), "latest.json")
    _replace = os.replace
    def _replace_then_die(src, dst, *args, **kwargs):
        _replace(src, dst, *args, **kwargs)
        if os.path.realpath(os.fspath(dst)) == _latest:
            with open(_latest, encoding="utf-8") as fh:
                if json.load(fh).get("epoch") == _epoch:
                    os.kill(os.getpid(), signal.SIGKILL)
    os.replace = _replace_then_die
"""


@pytest.fixture(scope="module")
def ratings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("checkpoint_cli")
    ds, _ = el.synthetic_ratings(80, 50, 2500, random_state=4)
    el.data.write_movielens_csv(ds, root / "syn")
    return root / "syn" / "ratings.csv"


def _embedlab(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("EMBEDLAB_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "embedlab", *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )


def _weights(bundle: Path) -> dict[str, np.ndarray]:
    return load_file(str(bundle / "weights.safetensors"))


def _assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for name in wa:
        assert np.array_equal(wa[name], wb[name]), name  # bit for bit, not approx


def _seed(bundle: Path) -> int:
    done = _embedlab("info", bundle, "--json")
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)["seed"])


def _history(bundle: Path) -> list[dict[str, object]]:
    """The per-epoch records without their timings."""
    rows = json.loads((bundle / "model.json").read_text(encoding="utf-8"))["history"]
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_stopped_after_3_epochs_and_resumed_to_6_equals_6_epochs(
    ratings: Path, tmp_path: Path
) -> None:
    """Matrix factorization (torch engine, constant rate): 3 epochs, then --resume to 6;
    without --random-state the resumed run takes the checkpoint's seed."""
    ckpt = tmp_path / "ckpt"
    common = ["--embedding-dim", "8", "--validation-split", "0.2", "-q"]
    first = _embedlab("train", ratings, "--epochs", "3", "--checkpoint-dir", ckpt,
                      "--out", tmp_path / "three", *common)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert json.loads((ckpt / "latest.json").read_text())["epoch"] == 3
    resumed = _embedlab("train", ratings, "--epochs", "6", "--checkpoint-dir", ckpt, "--resume",
                        "--out", tmp_path / "resumed", *common)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    seed = _seed(tmp_path / "three")
    assert _seed(tmp_path / "resumed") == seed
    straight = _embedlab("train", ratings, "--epochs", "6", "--random-state", seed,
                         "--engine", "torch", "--out", tmp_path / "straight", *common)  # fmt: skip
    assert straight.returncode == 0, straight.stderr
    _assert_same_weights(tmp_path / "resumed", tmp_path / "straight")
    assert _history(tmp_path / "resumed") == _history(tmp_path / "straight")
    assert len(_history(tmp_path / "resumed")) == 6


def test_killed_run_resumed_equals_an_uninterrupted_run(ratings: Path, tmp_path: Path) -> None:
    """The neural model (cosine schedule over the 6 epochs): SIGKILL after the checkpoint of
    epoch 3, then the same command with --resume."""
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(_KILL_SITECUSTOMIZE)
    ckpt = tmp_path / "ckpt"
    command = ["train", ratings, "--model", "neural", "--embedding-dim", "8", "--hidden", "8",
               "--epochs", "6", "--validation-split", "0.2", "--checkpoint-dir", ckpt, "-q"]  # fmt: skip
    killer = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(inject), os.environ.get("PYTHONPATH")])),
        "EMBEDLAB_TEST_KILL_DIR": str(ckpt),
        "EMBEDLAB_TEST_KILL_EPOCH": "3",
    }
    killed = _embedlab(*command, "--out", tmp_path / "never", env=killer)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert json.loads((ckpt / "latest.json").read_text())["epoch"] == 3
    assert not (tmp_path / "never").exists()
    resumed = _embedlab(*command, "--resume", "--out", tmp_path / "resumed")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr == ""
    seed = _seed(tmp_path / "resumed")
    straight_command = [a for a in command if a not in ("--checkpoint-dir", ckpt)]
    straight = _embedlab(*straight_command, "--random-state", seed, "--engine",
                         _engine(tmp_path / "resumed"), "--out", tmp_path / "straight")  # fmt: skip
    assert straight.returncode == 0, straight.stderr
    _assert_same_weights(tmp_path / "resumed", tmp_path / "straight")
    assert _history(tmp_path / "resumed") == _history(tmp_path / "straight")


def _engine(bundle: Path) -> str:
    done = _embedlab("info", bundle, "--json")
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["engine"])


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def test_checkpoint_misuse_is_one_line(ratings: Path, tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt"
    line = _one_error_line(_embedlab("train", ratings, "--out", tmp_path / "m", "--resume"))
    assert "--resume" in line and "--checkpoint-dir" in line
    args = ["train", ratings, "--epochs", "1", "--embedding-dim", "4", "--checkpoint-dir", ckpt]
    first = _embedlab(*args, "--out", tmp_path / "m", "-q")
    assert first.returncode == 0, first.stderr
    # a checkpoint is there: starting over silently would throw it away
    line = _one_error_line(_embedlab(*args, "--out", tmp_path / "m2"))
    assert "already holds a checkpoint" in line and "pass --resume" in line
    assert "resume=True" not in line and "checkpoint_dir=" not in line
    # other settings than the checkpoint's
    line = _one_error_line(
        _embedlab(*args, "--learning-rate", "0.5", "--resume", "--out", tmp_path / "m3")
    )
    assert "learning_rate" in line and "other settings" in line
    assert not (tmp_path / "m2").exists() and not (tmp_path / "m3").exists()
