"""Speed at the ML-20M shape: embedlab's models against Surprise, LensKit and the course's Keras DNN.

One command (the peers need ``bash benchmarks/peers/setup.sh`` once):

    python benchmarks/bench_models_20m.py            # writes results/models_20m.md and .json
    python benchmarks/bench_models_20m.py --quick    # 1/20 of the ratings, 5-minute limit; writes nothing

Protocol (stated in the report):

1. Data: ``synthetic_ratings(138_493, 26_744, 20_000_263, random_state=0)`` split once with
   ``split("random", test_size=0.05, random_state=0)`` (as ``bench_scale.py``); train and test are
   written as CSV of raw IDs for the peers, which run in their own virtual environment.
2. embedlab, in this process (the functions of ``bench_models.py``): ``MatrixFactorization()``
   at its defaults (96 dimensions, 20 epochs), the speed settings
   ``MatrixFactorization(embedding_dim=32)``, and ``NeuralEmbeddingModel(embedding_dim=8,
   batch_size=5000)`` (the course's sizes). The default neural model (128 dimensions, batch
   1024) is left out: at about 19,000 steps per epoch it would need most of an hour here.
3. Peers, each in its own process with a 30-minute limit (a peer that does not finish is
   reported as such): Surprise ``SVD()``, LensKit ``BiasedMFScorer()`` (ALS), the course's
   DNN in Keras 3 (batch 5000, 20 epochs). Settings as in ``peers/run_peers.py``.
4. Fit seconds: wall-clock of the fit call alone (loading and converting the CSV excluded for
   the peers, the ``Interactions`` already built for embedlab); s/epoch where a model reports
   epochs (median over epochs 2..); RMSE on the 5 % test split. Ratios against the speed
   settings of embedlab's MF, the fastest embedlab row.

Nothing asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_models import (  # noqa: E402
    LABELS,
    PEER_PY,
    PEER_RUNNER,
    _fit_embedlab,
    _peer_versions,
    _warm,
    _write_splits,
)

RESULTS = HERE / "results"
SHAPE = (138_493, 26_744, 20_000_263)
OURS = ("embedlab-mf-fast", "embedlab-neural-course", "embedlab-mf")
PEERS = ("surprise-svd", "lenskit-als-biasedmf", "keras-dnn")
LIMIT_S = 1800


def _peer(folder: Path, peer: str, limit: float) -> dict:
    """One peer in its own process; its JSON line, or why there is none."""
    if not PEER_PY.exists():
        return {"peer": peer, "error": "peers not installed (bash benchmarks/peers/setup.sh)"}
    cmd = [str(PEER_PY), str(PEER_RUNNER), str(folder), "--peers", peer]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"peer": peer, "error": f"did not finish within {limit / 60:.0f} minutes"}
    wall = time.perf_counter() - t0
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    if not lines:
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return {"peer": peer, "error": tail[0]}
    return {**lines[0], "process_wall_s": round(wall, 1)}


def _markdown(doc: dict) -> str:
    rows = doc["rows"]
    ref = next((r for r in rows if r["peer"] == "embedlab-mf-fast" and "error" not in r), None)
    lines = [
        "# Speed at the ML-20M shape: embedlab against Surprise, LensKit and Keras",
        "",
        f"Measured {doc['date']} on {doc['cpu']} ({doc['cores']} cores), Python "
        f"{doc['python']}, embedlab {doc['embedlab']}; peers: "
        + ", ".join(f"{k} {v}" for k, v in doc.get("peer_versions", {}).items())
        + f". Command: `{doc['command']}`. Load average at the start: {doc['load']}.",
        "",
        f"Data: synthetic ML-20M shape ({doc['n_train']:,} training and {doc['n_test']:,} test "
        "ratings, random 95/5, seed 0). Protocol: see the script's docstring. Each peer ran in "
        f"its own process with a {doc['limit_s'] / 60:.0f}-minute limit.",
        "",
        "| model | test RMSE | fit s | s/epoch | fit time ÷ embedlab MF (speed settings) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        label = LABELS.get(r["peer"], r["peer"])
        if "error" in r:
            lines.append(f"| {label} | – | {r['error']} | – | – |")
            continue
        eps = r.get("epoch_seconds")
        ratio = f"{r['fit_seconds'] / ref['fit_seconds']:.1f}×" if ref else "–"
        lines.append(
            f"| {label} | {r['rmse']:.4f} | {r['fit_seconds']:.1f} | "
            f"{'–' if eps is None else f'{eps:.2f}'} | {ratio} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1/20 of the ratings; write nothing")
    args = parser.parse_args()
    import platform

    import embedlab
    from _common import cpu_name
    from embedlab.data import synthetic_ratings

    n_users, n_items, n_ratings = SHAPE
    if args.quick:
        n_ratings //= 20
    limit = 300 if args.quick else LIMIT_S
    doc: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "embedlab": embedlab.__version__,
        "load": round(os.getloadavg()[0], 2),
        "limit_s": limit,
        "command": "python benchmarks/bench_models_20m.py" + (" --quick" if args.quick else ""),
    }
    _warm()
    ds, _ = synthetic_ratings(n_users, n_items, n_ratings, random_state=0)
    train, test = ds.split("random", test_size=0.05, random_state=0)
    doc["n_train"], doc["n_test"] = len(train), len(test)
    rows = [_fit_embedlab(key, "ml20m-shape", "random 95/5", train, test) for key in OURS]
    doc["peer_versions"] = _peer_versions().get("versions", {})
    with tempfile.TemporaryDirectory(prefix="embedlab-bench20m-") as tmp:
        _write_splits([("ml20m-shape", "random 95/5", train, test)], Path(tmp))
        del ds, train, test
        for peer in PEERS:
            print(f"{peer}: running (limit {limit / 60:.0f} min)", file=sys.stderr, flush=True)
            row = _peer(Path(tmp), peer, limit)
            print(json.dumps(row), flush=True)
            rows.append(row)
    doc["rows"] = rows
    text = _markdown(doc)
    print(text)
    if not args.quick:
        (RESULTS / "models_20m.json").write_text(json.dumps(doc, indent=1) + "\n")
        (RESULTS / "models_20m.md").write_text(text)


if __name__ == "__main__":
    main()
