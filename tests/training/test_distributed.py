"""Data-parallel training with torch.distributed (gloo, CPU).

The 2-process tests launch this file under ``python -m torch.distributed.run`` (torchrun)
as the worker: run as a script it trains one model and writes ``rank<R>.json`` (test
RMSE, a checksum of the weights, the history, how many checkpoints it wrote) into
``--out``; rank 0 also saves the bundle.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from embedlab.training import Trainer, shard_batches
from embedlab.training._distributed import (
    epoch_permutation,
    launched_by_torchrun,
    resolve_distributed,
)

HERE = Path(__file__).resolve()


# --------------------------------------------------------------------------- worker
def _checksum(module: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _worker(argv: list[str]) -> None:
    import embedlab as el

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=512)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    data, _ = el.synthetic_ratings(n_users=2000, n_items=1000, n_ratings=60_000, random_state=0)
    train, test = data.split("random", test_size=0.1, random_state=0)
    common = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "random_state": 0,
        "device": "cpu",
    }
    models = {
        "neural": el.NeuralEmbeddingModel(
            embedding_dim=16, hidden=(16, 4), learning_rate=1e-3, **common
        ),
        "mf": el.MatrixFactorization(
            embedding_dim=16, engine="torch", learning_rate=0.01, **common
        ),
    }
    for name, model in models.items():
        _fit_and_report(model, train, test, out / name)
    if launched_by_torchrun():
        _edge_cases(out / "edge")


def _edge_cases(out: Path) -> None:
    """Small fits through the other code paths; each rank writes the weights' checksums."""
    import embedlab as el
    from embedlab.training import get_rank

    # 2049 training ratings: the last global batch of 2 × 512 holds one row, so rank 1
    # runs its last step on an empty batch.
    data, _ = el.synthetic_ratings(n_users=200, n_items=100, n_ratings=2277, random_state=1)
    train, test = data.split("random", test_size=0.1, random_state=0)
    assert len(train) == 2049, len(train)
    mf = {"embedding_dim": 8, "engine": "torch", "batch_size": 512, "random_state": 0}
    fits = {
        "dropout+patience": el.NeuralEmbeddingModel(
            8, hidden=(8,), pretrain=None, epochs=6, patience=1, batch_size=512, random_state=0
        ),
        "table-l2": el.MatrixFactorization(l2_mode="table", l2_user=1e-4, epochs=2, **mf),
        "adagrad": el.MatrixFactorization(optimizer="adagrad", epochs=2, **mf),
        "sgd": el.MatrixFactorization(optimizer="sgd", learning_rate=0.05, epochs=2, **mf),
        "uninterrupted": el.MatrixFactorization(epochs=4, **mf),
    }
    result = {}
    for name, model in fits.items():
        model.fit(train, validation=test, progress=False)
        result[name] = [_checksum(model.module_), model.evaluate(test)["rmse"]]
    result["epochs dropout+patience"] = len(fits["dropout+patience"].history_)
    # resume: 2 epochs, then the same model continued to 4, equals 4 uninterrupted
    el.MatrixFactorization(epochs=2, **mf).fit(train, checkpoint_dir=out / "ckpt", progress=False)
    resumed = el.MatrixFactorization(epochs=4, **mf)
    resumed.fit(train, validation=test, checkpoint_dir=out / "ckpt", resume=True, progress=False)
    result["resumed"] = [_checksum(resumed.module_), resumed.evaluate(test)["rmse"]]
    out.mkdir(parents=True, exist_ok=True)
    (out / f"rank{get_rank()}.json").write_text(json.dumps(result), encoding="utf-8")


def _fit_and_report(model, train, test, out: Path) -> None:  # type: ignore[no-untyped-def]
    from embedlab.training import get_rank, is_main_process

    saved: list[int] = []
    original = Trainer._save_checkpoint

    def counting(self, ckpt, epoch, *a, **k):  # type: ignore[no-untyped-def]
        saved.append(epoch)
        return original(self, ckpt, epoch, *a, **k)

    Trainer._save_checkpoint = counting  # type: ignore[method-assign]
    t0 = time.perf_counter()
    try:
        model.fit(train, validation=test, checkpoint_dir=out / "ckpt", progress=False)
    finally:
        Trainer._save_checkpoint = original  # type: ignore[method-assign]
    seconds = time.perf_counter() - t0
    rank = get_rank()
    result = {
        "rank": rank,
        "rmse": model.evaluate(test)["rmse"],
        "checksum": _checksum(model.module_),
        "history": [
            {k: v for k, v in r.items() if k != "seconds"} for r in model.history_.to_list()
        ],
        "epoch_seconds": [r["seconds"] for r in model.history_.to_list()],
        "fit_seconds": seconds,
        "checkpoints_written": len(saved),
    }
    (out / f"rank{rank}.json").write_text(json.dumps(result), encoding="utf-8")
    if is_main_process():
        model.save(out / "model")


# ---------------------------------------------------------------------------- helpers
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return env


def _run(out: Path, nproc: int, *extra: str) -> dict[str, list[dict]]:
    if nproc == 1:
        cmd = [sys.executable, str(HERE), "--out", str(out), *extra]
    else:
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc-per-node={nproc}",
            "--nnodes=1",
            "--rdzv-backend=c10d",
            f"--rdzv-endpoint=127.0.0.1:{_free_port()}",
            str(HERE),
            "--out",
            str(out),
            *extra,
        ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {
        name: [
            json.loads((out / name / f"rank{r}.json").read_text(encoding="utf-8"))
            for r in range(nproc)
        ]
        for name in ("neural", "mf")
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    """One single-process run and one 2-process gloo run of the worker (both models)."""
    root = tmp_path_factory.mktemp("distributed")
    return root, _run(root / "single", 1), _run(root / "ddp", 2)


# ------------------------------------------------------------------------------ tests
@pytest.mark.parametrize(
    "n,batch_size,world", [(10, 3, 2), (1000, 64, 2), (1001, 64, 3), (7, 5, 4)]
)
def test_every_row_once_per_epoch_and_equal_step_counts(n, batch_size, world) -> None:
    perm = epoch_permutation(n, seed=3, epoch=1, device=torch.device("cpu"))
    shards = [shard_batches(perm, batch_size, r, world) for r in range(world)]
    assert len({len(s) for s in shards}) == 1  # every rank runs the same number of steps
    seen = torch.cat([rows for s in shards for rows, _ in s])
    assert sorted(seen.tolist()) == list(range(n))  # each row exactly once across the ranks
    for step in range(len(shards[0])):
        rows = [shards[r][step][0] for r in range(world)]
        # a step of W ranks is one global batch of W × batch_size rows of the permutation
        expect = perm[step * batch_size * world : (step + 1) * batch_size * world]
        assert sorted(torch.cat(rows).tolist()) == sorted(expect.tolist())
        assert all(shards[r][step][1] == len(expect) for r in range(world))
        assert all(len(x) <= batch_size for x in rows)


def test_the_permutation_depends_on_seed_and_epoch_only() -> None:
    cpu = torch.device("cpu")
    a = epoch_permutation(100, seed=0, epoch=2, device=cpu)
    assert torch.equal(a, epoch_permutation(100, seed=0, epoch=2, device=cpu))
    assert not torch.equal(a, epoch_permutation(100, seed=0, epoch=3, device=cpu))
    assert not torch.equal(a, epoch_permutation(100, seed=1, epoch=2, device=cpu))


def test_bad_options_raise() -> None:
    with pytest.raises(ValueError, match="distributed='yes'"):
        Trainer(distributed="yes")
    with pytest.raises(ValueError, match="rank=2"):
        shard_batches(torch.arange(4), 2, 2, 2)


def test_single_process_stays_single(monkeypatch) -> None:
    for key in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(key, raising=False)
    cpu = torch.device("cpu")
    assert not launched_by_torchrun()
    assert resolve_distributed("auto", cpu) is None
    assert resolve_distributed(False, cpu) is None
    with pytest.raises(ValueError, match="distributed=True"):
        resolve_distributed(True, cpu)


def test_the_neural_model_takes_the_option(monkeypatch) -> None:
    import embedlab as el

    for key in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(key, raising=False)
    data, _ = el.synthetic_ratings(n_users=50, n_items=30, n_ratings=500, random_state=0)
    options = {"pretrain": None, "epochs": 1, "device": "cpu", "random_state": 0}
    with pytest.raises(ValueError, match="distributed=True"):
        el.NeuralEmbeddingModel(8, distributed=True, **options).fit(data, progress=False)
    with pytest.raises(ValueError, match="distributed='yes'"):
        el.NeuralEmbeddingModel(8, distributed="yes", **options).fit(data, progress=False)
    model = el.NeuralEmbeddingModel(8, distributed=False, **options).fit(data, progress=False)
    assert model.get_params()["distributed"] is False


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(runs) -> None:
    root, single, ddp = runs
    r0, r1 = ddp["neural"]
    # both ranks end with the same weights and the same history
    assert r0["checksum"] == r1["checksum"]
    assert r0["history"] == r1["history"]
    # the same accuracy as one process with the same settings (within 2 %)
    assert r0["rmse"] == pytest.approx(single["neural"][0]["rmse"], rel=0.02)
    assert r0["rmse"] < 1.0  # it learned (noise std of the planted data is 0.7)
    # only rank 0 writes the checkpoints and the bundle
    assert (r0["checkpoints_written"], r1["checkpoints_written"]) == (6, 0)
    assert sorted(p.name for p in (root / "ddp" / "neural" / "ckpt").iterdir()) == [
        "epoch-0006",
        "latest.json",
    ]
    # the bundle rank 0 saved holds the weights both ranks trained
    import embedlab as el

    back = el.load(root / "ddp" / "neural" / "model")
    assert _checksum(back.module_) == r0["checksum"]


@pytest.mark.slow
def test_matrix_factorization_torch_engine_trains_data_parallel(runs) -> None:
    _, single, ddp = runs
    r0, r1 = ddp["mf"]
    assert r0["checksum"] == r1["checksum"]
    assert r0["history"] == r1["history"]
    assert r0["rmse"] == pytest.approx(single["mf"][0]["rmse"], rel=0.02)
    assert (r0["checkpoints_written"], r1["checkpoints_written"]) == (6, 0)


@pytest.mark.slow
def test_other_paths_agree_across_ranks(runs) -> None:
    """Empty last shard, dropout, early stopping, dense tables, Adagrad, SGD, resume."""
    root, _, _ = runs
    r0, r1 = (
        json.loads((root / "ddp" / "edge" / f"rank{r}.json").read_text(encoding="utf-8"))
        for r in range(2)
    )
    assert r0 == r1
    for name in ("dropout+patience", "table-l2", "adagrad", "sgd", "uninterrupted"):
        assert r0[name][1] < 1.2, name
    # a resumed data-parallel run ends exactly where an uninterrupted one does
    assert r0["resumed"] == r0["uninterrupted"]


if __name__ == "__main__":
    _worker(sys.argv[1:])


_EXIT_PROBE = """
import atexit, sys
import torch
import torch.distributed as dist
from embedlab.training._distributed import resolve_distributed

# registered before the group exists, so it runs after embedlab's own exit handler
atexit.register(lambda: print("initialized at exit:", dist.is_initialized(), flush=True))
ctx = resolve_distributed("auto", torch.device("cpu"))
print("world", ctx.world_size, flush=True)
"""


@pytest.mark.slow
def test_the_process_group_it_opened_is_destroyed_at_exit(tmp_path) -> None:
    """Left to interpreter shutdown, gloo's threads can abort a finished rank (SIGABRT)."""
    script = tmp_path / "probe.py"
    script.write_text(_EXIT_PROBE, encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node=2",
        "--nnodes=1",
        "--rdzv-backend=c10d",
        f"--rdzv-endpoint=127.0.0.1:{_free_port()}",
        "--tee=1",
        str(script),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert out.count("world 2") == 2, out
    assert out.count("initialized at exit: False") == 2, out
