"""``embedlab train`` under torchrun: every rank trains data-parallel, rank 0 alone saves."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

import embedlab as el


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_train_under_torchrun_saves_one_bundle_from_rank_0(tmp_path) -> None:
    ds, _ = el.synthetic_ratings(300, 150, 6000, random_state=0)
    ratings = tmp_path / "ratings.csv"
    ds.to_pandas()[["user", "item", "rating"]].to_csv(ratings, index=False)
    out = tmp_path / "model"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2", "--nnodes=1",
        "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{_free_port()}",
        "-m", "embedlab", "train", str(ratings), "--model", "neural", "--embedding-dim", "8",
        "--epochs", "2", "--validation-split", "0.1", "--out", str(out),
        "--json",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # One JSON result (rank 0's), one bundle, and it loads and predicts.
    results = [line for line in proc.stdout.splitlines() if line.strip().startswith('"model"')]
    assert len(results) == 1, proc.stdout
    assert json.loads(proc.stdout[proc.stdout.index("{") :])["epochs"] == 2
    model = el.load(out)
    assert model.predict([1], [1]).shape == (1,)
    assert model.distributed == "auto"
