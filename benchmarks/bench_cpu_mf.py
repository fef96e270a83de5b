"""Compiled CPU matrix-factorization engine: speed per epoch and RMSE against time.

One command:

    python benchmarks/bench_cpu_mf.py            # full (ML-20M shape, ML-100K u1..u5, ml-latest-small)
    python benchmarks/bench_cpu_mf.py --quick    # 1/10 of the ML-20M ratings, fold u1 only; writes nothing

Protocol (stated in the report):
1. Speed: ``synthetic_ratings(138_493, 26_744, 20_000_263, random_state=0)``; ``fit_mf_sgd`` with
   ``embedding_dim=32`` and otherwise default settings, all threads, for a few epochs;
   seconds per epoch (the kernel's pass only; the once-per-fit shuffle is reported as
   setup) and ratings/s = ratings / median epoch seconds. Also one thread, the
   ``shuffle="epoch"`` variant, and ALS seconds per epoch. The kernels are compiled
   (or loaded from numba's cache) before timing.
2. Accuracy: the engine's default settings, no per-fold tuning, ``random_state=0``:
   ML-100K predefined folds u1..u5 (RMSE on each test fold, then the mean) and
   ml-latest-small with ``split("random", test_size=0.1, random_state=0)``; the RMSE after
   selected epochs and the cumulative training seconds, for SGD and ALS.

Real data come from ``$EMBEDLAB_TEST_DATA`` (default ``../shared/data`` beside the
repository). Results go to ``benchmarks/results/cpu_mf.md`` (only without ``--quick``).
Nothing here asserts a time; the targets of issue 3 are printed next to the numbers.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import embedlab
from _common import cpu_name, data_dir
from embedlab.data import synthetic_ratings
from embedlab.training import fit_mf_als, fit_mf_sgd

RESULTS = Path(__file__).resolve().parent / "results"
ML20M = (138_493, 26_744, 20_000_263)


def _warm() -> float:
    """Import numba and compile (or load) the kernels; returns the seconds it took."""
    t0 = time.perf_counter()
    ui = np.array([0, 1, 1], dtype=np.int32)
    fit_mf_sgd(ui, ui, np.array([1.0, 2.0, 3.0]), 2, 2, epochs=1, validation=(ui, ui, np.ones(3)))
    fit_mf_als(ui, ui, np.array([1.0, 2.0, 3.0]), 2, 2, epochs=1)
    return time.perf_counter() - t0


def _speed(quick: bool) -> tuple[list[str], dict]:
    n_users, n_items, n_ratings = ML20M
    if quick:
        n_ratings //= 10
    t0 = time.perf_counter()
    ds, _ = synthetic_ratings(n_users, n_items, n_ratings, random_state=0)
    gen = time.perf_counter() - t0
    args = (ds.user_index, ds.item_index, ds.rating, ds.n_users, ds.n_items)
    n = len(ds)
    epochs = 3 if quick else 5
    rows = []
    out = {}
    for label, kw, ep in [
        ("SGD, all threads (default)", {}, epochs),
        ("SGD, 1 thread", {"n_threads": 1}, 2),
        ('SGD, all threads, shuffle="epoch"', {"shuffle": "epoch"}, 2),
        ("ALS, all threads", {}, 1),
    ]:
        fit = fit_mf_als if label.startswith("ALS") else fit_mf_sgd
        t0 = time.perf_counter()
        _, hist = fit(*args, embedding_dim=32, epochs=ep, **kw)
        total = time.perf_counter() - t0
        secs = [h["seconds"] for h in hist]
        med = statistics.median(secs[1:] if len(secs) > 2 else secs)
        setup = total - sum(secs)
        out[label] = {
            "epoch_seconds": secs,
            "median": med,
            "ratings_per_s": n / med,
            "setup": setup,
        }
        rows.append(
            f"| {label} | {ep} | {' / '.join(f'{s:.2f}' for s in secs)} | {med:.3f} | "
            f"{n / med / 1e6:.1f} M | {setup:.2f} |"
        )
        print(rows[-1], flush=True)
    head = [
        f"Data: `synthetic_ratings({n_users:,}, {n_items:,}, {n:,}, random_state=0)` (generated in {gen:.1f} s), "
        "`embedding_dim=32`.",
        "",
        "| engine | epochs | seconds per epoch | median s/epoch | ratings/s | setup s (shuffle, copies, validation) |",
        "|---|---|---|---|---|---|",
    ]
    return head + rows, out


ENGINES = (
    ("`fit_mf_sgd` (defaults)", fit_mf_sgd, {}),
    ("`fit_mf_sgd`, `embedding_dim=128`", fit_mf_sgd, {"embedding_dim": 128}),
    ("`fit_mf_als` (defaults)", fit_mf_als, {}),
)


def _curve(name: str, splits: list, epochs_shown: tuple[int, ...]) -> list[str]:
    rows = []
    for label, fit, kw in ENGINES:
        per_fold = []
        for train, test in splits:
            _, hist = fit(
                train.user_index, train.item_index, train.rating, train.n_users, train.n_items,
                validation=(test.user_index, test.item_index, test.rating), restore_best=False, **kw,
            )  # fmt: skip
            per_fold.append(hist)
        n_ep = len(per_fold[0])
        rmse = np.mean([[h["val_rmse"] for h in hist] for hist in per_fold], axis=0)
        secs = np.mean([np.cumsum([h["seconds"] for h in hist]) for hist in per_fold], axis=0)
        shown = sorted({e for e in epochs_shown if e <= n_ep} | {n_ep})
        curve = ", ".join(f"{e}: {rmse[e - 1]:.4f} ({secs[e - 1]:.2f} s)" for e in shown)
        folds = (
            " / ".join(f"{h[-1]['val_rmse']:.4f}" for h in per_fold) if len(per_fold) > 1 else "–"
        )
        rows.append(
            f"| {name} | {label} | **{rmse[-1]:.4f}** | {folds} | {secs[-1]:.2f} | {curve} |"
        )
        print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="smaller speed test, fold u1 only, write nothing"
    )
    opts = parser.parse_args(argv)
    import numba

    load = os.getloadavg()[0]
    warm = _warm()
    print(
        f"numba import + kernels (compile or cache load): {warm:.2f} s; {numba.config.NUMBA_NUM_THREADS} threads"
    )
    lines = [
        "# Compiled CPU matrix factorization (numba)",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {cpu_name()} ({os.cpu_count()} cores, "
        f"{numba.config.NUMBA_NUM_THREADS} numba threads), Python {platform.python_version()}, "
        f"numba {numba.__version__}, numpy {np.__version__}, embedlab {embedlab.__version__}. "
        f"Command: `python benchmarks/bench_cpu_mf.py{' --quick' if opts.quick else ''}`.",
        "",
        f"Load average (1 min) when the run started: {load:.2f} — the machine may be shared, "
        "and a busy core slows the multi-threaded rows most. "
        f"Importing numba and loading the cached kernels took {warm:.2f} s in this process "
        "(compiling them from scratch takes several seconds more, once).",
        "",
        "## Speed per epoch (target: ≥ 10 M ratings/s for dim 32 on the ML-20M shape)",
        "",
    ]
    speed_lines, _ = _speed(opts.quick)
    lines += speed_lines
    data = data_dir()
    lines += [
        "",
        "## Accuracy with the default settings (no per-fold tuning, `random_state=0`)",
        "",
        "Targets (issue 3): ML-100K u1–u5 mean RMSE ≤ 0.905; ml-latest-small random 90/10 ≤ 0.845.",
        "",
        "| data | engine | test RMSE | per fold | train s (mean per split) | RMSE after epoch (cumulative s) |",
        "|---|---|---|---|---|---|",
    ]
    ml100k, small = data / "ml-100k", data / "ml-latest-small"
    if ml100k.exists():
        ds = embedlab.load_movielens(ml100k)
        folds = ds.folds("ml-100k-u", path=ml100k)
        name = "ML-100K u1" if opts.quick else "ML-100K u1–u5 (mean)"
        rows = _curve(name, folds[:1] if opts.quick else folds, (1, 5, 10, 20, 40))
        lines += rows
    else:
        print(f"skipping ML-100K: not found at {ml100k}", file=sys.stderr)
    if small.exists():
        ds = embedlab.load_movielens(small)
        rows = _curve(
            "ml-latest-small random 90/10 (seed 0)",
            [ds.split("random", test_size=0.1, random_state=0)],
            (1, 5, 10, 20, 40),
        )
        lines += rows
    else:
        print(f"skipping ml-latest-small: not found at {small}", file=sys.stderr)
    report = "\n".join(lines) + "\n"
    print()
    print(report)
    if not opts.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "cpu_mf.md").write_text(report, encoding="utf-8")
        print(f"wrote {RESULTS / 'cpu_mf.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
