"""The neural model's speed targets of issue 20, side by side in one run.

One command (the Keras peer needs ``bash benchmarks/peers/setup.sh`` once):

    python benchmarks/bench_neural_epochs.py          # writes results/neural_epochs.md and .json
    python benchmarks/bench_neural_epochs.py --quick  # ML-1M shape only; writes nothing

Protocol (stated in the report):

1. Data: ``synthetic_ratings(6040, 3706, 1_000_209)`` (the ML-1M shape) and
   ``synthetic_ratings(138_493, 26_744, 20_000_263)`` (ML-20M), seed 0, each split once with
   ``split("random", test_size=0.05, random_state=0)``; train and test written as CSV of raw
   IDs for the peer, which runs in its own virtual environment and process.
2. The course-sized network, per epoch: embedlab ``NeuralEmbeddingModel(embedding_dim=8,
   batch_size=5000)`` (the course's 8-dimensional tables and ``(32, 4)`` hidden layers,
   everything else at its defaults, which here means the compiled CPU engine and MF
   pre-training) against the course's DNN in Keras 3 with the TensorFlow backend as
   ``peers/run_peers.py`` builds it (batch 5000, Adam 0.005, its default threads). Seconds
   per epoch: the median over epochs 2.. of each fit's own per-epoch times (embedlab's
   ``history_``, a Keras callback), so start-up, pre-training and evaluation are left out
   for both. Epochs: 10 for both at the ML-1M shape; 3 for both at the ML-20M shape (a Keras
   epoch takes about 40 s there).
3. The default model: ``NeuralEmbeddingModel()`` (128 dimensions, batch 1024, MF
   pre-training, 10 epochs), its whole ``fit`` wall time at the ML-1M shape, in this
   process after a tiny warm-up fit (numba's compiled kernels loaded, torch imported), and
   its test RMSE. Target: <= 10 s on a quiet machine (load stated).

Nothing asserts a time. The machine's load average is recorded before and after each row.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_models import PEER_PY, PEER_RUNNER, _peer_versions, _warm, _write_splits  # noqa: E402

RESULTS = HERE / "results"
SHAPES = {"ml1m-shape": (6040, 3706, 1_000_209), "ml20m-shape": (138_493, 26_744, 20_000_263)}
EPOCHS = {"ml1m-shape": 10, "ml20m-shape": 3}
LIMIT_S = 1200


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _embedlab(kind: str, train, test, epochs: int | None) -> dict:
    import embedlab

    options = {"random_state": 0}
    if kind == "course":
        options.update(embedding_dim=8, batch_size=5000, epochs=epochs)
    load0 = _load()
    model = embedlab.NeuralEmbeddingModel(**options)
    t0 = time.perf_counter()
    model.fit(train, progress=False)
    fit = time.perf_counter() - t0
    secs = [h["seconds"] for h in model.history_.to_list()]
    return {
        "system": f"embedlab-{kind}",
        "rmse": float(model.evaluate(test)["rmse"]),
        "fit_seconds": fit,
        "epochs": len(secs),
        "epoch_seconds": float(statistics.median(secs[1:] if len(secs) > 1 else secs)),
        "threads": model.settings_.n_threads,
        "load_before": load0,
        "load_after": _load(),
    }


def _keras(folder: Path, epochs: int) -> dict:
    if not PEER_PY.exists():
        return {
            "system": "keras-dnn",
            "error": "peers not installed (bash benchmarks/peers/setup.sh)",
        }
    cmd = [str(PEER_PY), str(PEER_RUNNER), str(folder), "--peers", "keras-dnn"]
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONWARNINGS": "ignore",
        "EMBEDLAB_KERAS_EPOCHS": str(epochs),
    }
    load0 = _load()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=LIMIT_S)
    except subprocess.TimeoutExpired:
        return {"system": "keras-dnn", "error": f"did not finish within {LIMIT_S / 60:.0f} minutes"}
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    if not lines or "error" in lines[0]:
        why = lines[0]["error"] if lines else (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"system": "keras-dnn", "error": why}
    row = lines[0]
    return {
        "system": "keras-dnn",
        "rmse": row["rmse"],
        "fit_seconds": row["fit_seconds"],
        "epochs": row["epochs"],
        "epoch_seconds": row["epoch_seconds"],
        "load_before": load0,
        "load_after": _load(),
    }


def _markdown(doc: dict) -> str:
    lines = [
        "# The neural model's speed (issue 20): course-sized epochs against Keras, the default fit",
        "",
        f"Measured {doc['date']} on {doc['cpu']} ({doc['cores']} cores), Python {doc['python']}, "
        f"embedlab {doc['embedlab']}; peer versions: "
        + ", ".join(f"{k} {v}" for k, v in doc.get("peer_versions", {}).items())
        + f". Command: `{doc['command']}`. Protocol: the script's docstring. Load average "
        "(1 min) before and after each row in the table; 2 CPUs, so a load near 0 is a quiet "
        "machine and 2 or more a busy one.",
        "",
        "| data | model | epochs | s/epoch (median, epochs 2..) | Keras ÷ embedlab per epoch | fit s | test RMSE | load before → after |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for shape, rows in doc["shapes"].items():
        ours = rows.get("embedlab-course")
        for name in ("embedlab-course", "keras-dnn", "embedlab-default"):
            r = rows.get(name)
            if r is None:
                continue
            label = {
                "embedlab-course": "embedlab `NeuralEmbeddingModel(embedding_dim=8, batch_size=5000)` (course-sized)",
                "keras-dnn": "course DNN, Keras 3 (TensorFlow)",
                "embedlab-default": "embedlab `NeuralEmbeddingModel()` (defaults)",
            }[name]
            if "error" in r:
                lines.append(f"| {shape} | {label} | – | – | – | {r['error']} | – | – |")
                continue
            ratio = "–"
            if name == "keras-dnn" and ours and "error" not in ours:
                ratio = f"**{r['epoch_seconds'] / ours['epoch_seconds']:.1f}×**"
            lines.append(
                f"| {shape} | {label} | {r['epochs']} | {r['epoch_seconds']:.3f} | {ratio} | "
                f"{r['fit_seconds']:.1f} | {r['rmse']:.4f} | {r['load_before']} → {r['load_after']} |"
            )
    lines += [
        "",
        "Targets: course-sized ≥ 3× faster per epoch than Keras at both shapes; "
        "the default fit ≤ 10 s at the ML-1M shape on a quiet machine.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the ML-1M shape only; write nothing")
    args = parser.parse_args()
    import embedlab
    from _common import cpu_name
    from embedlab.data import synthetic_ratings

    doc: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "embedlab": embedlab.__version__,
        "command": "python benchmarks/bench_neural_epochs.py" + (" --quick" if args.quick else ""),
        "peer_versions": _peer_versions().get("versions", {}),
        "shapes": {},
    }
    _warm()
    for shape, (n_users, n_items, n_ratings) in SHAPES.items():
        if args.quick and shape != "ml1m-shape":
            continue
        ds, _ = synthetic_ratings(n_users, n_items, n_ratings, random_state=0)
        train, test = ds.split("random", test_size=0.05, random_state=0)
        rows: dict = {}
        if shape == "ml1m-shape":
            rows["embedlab-default"] = _embedlab("default", train, test, None)
            print(json.dumps(rows["embedlab-default"]), flush=True)
        rows["embedlab-course"] = _embedlab("course", train, test, EPOCHS[shape])
        print(json.dumps(rows["embedlab-course"]), flush=True)
        with tempfile.TemporaryDirectory(prefix="embedlab-neural-epochs-") as tmp:
            _write_splits([(shape, "random 95/5", train, test)], Path(tmp))
            del ds, train, test
            rows["keras-dnn"] = _keras(Path(tmp), EPOCHS[shape])
        print(json.dumps(rows["keras-dnn"]), flush=True)
        doc["shapes"][shape] = rows
    text = _markdown(doc)
    print(text)
    if not args.quick:
        (RESULTS / "neural_epochs.json").write_text(json.dumps(doc, indent=1) + "\n")
        (RESULTS / "neural_epochs.md").write_text(text)


if __name__ == "__main__":
    main()
