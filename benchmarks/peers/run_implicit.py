"""Fit the ``implicit`` library's ALS and BPR on given top-N splits; one JSON line per fit.

Runs inside the peers' own virtual environment (``benchmarks/peers/.venv``, made by
``setup.sh``), never in embedlab's::

    benchmarks/peers/.venv/bin/python benchmarks/peers/run_implicit.py DIR [--peers a,b]

``DIR/jobs.json`` is a list of jobs, each ``{"dataset", "train", "test", "n"}`` (CSV files
in ``DIR`` with columns ``user,item`` of raw IDs: the training positives and the held-out
positives; lists of ``n`` items are made for every test user) or ``{"dataset",
"train_npz", "shape", "iterations"}`` (a large synthetic set: arrays ``user``, ``item`` of
row numbers in a ``shape = [n_users, n_items]`` matrix; only the fit is timed, once, no
lists are made). ``benchmarks/bench_implicit.py`` writes them and scores the lists itself,
with the same function for every system.

Each output line is ``{peer, dataset, alpha, factors, iterations, fit_seconds,
fit_seconds_all, iteration_seconds, threads, blas_threads, load_before, load_after, recs,
rss_data_mib, peak_rss_mib, ru_maxrss_mib}``: ``recs`` names a CSV ``user,rank,item`` in ``DIR`` (raw
IDs, the top ``n`` of every test user that has training positives, the user's training
items excluded by ``implicit`` itself, ``filter_already_liked_items=True``), or the line
is ``{peer, dataset, alpha, error}``. ``fit_seconds`` is the median of ``--repeats`` fits
(wall clock of the ``fit`` call alone, which includes ``implicit``'s transpose of the
matrix); the lists come from the first fit. ``iteration_seconds``: the seconds of each
iteration of the first fit (``implicit``'s callback). ``peak_rss_mib``: this process's
peak resident set size so far (``VmHWM``; meaningful for a synthetic job run on its own);
``ru_maxrss_mib``: ``getrusage``'s, which on Linux includes the parent's peak at fork.
Diagnostics (``implicit``'s own warnings included) go to stderr.

Settings (``implicit`` 0.7.x; ``num_threads=0``, its default: all cores):

* ``implicit-als``: ``AlternatingLeastSquares(factors=64, alpha=A, random_state=0)``, one
  line per ``A`` of ``--alphas`` (default 1, 5, 20); otherwise its defaults: 15
  iterations, ``regularization=0.01``, conjugate gradient (3 steps), confidence
  ``A * weight`` for an interaction (1 for none), BLAS with its default thread pool.
* ``implicit-als-blas1``: the same fits inside ``threadpoolctl.threadpool_limits(1,
  "blas")``, the setting ``implicit`` recommends in the warning it prints when OpenBLAS
  has a thread pool (a timing row; the factors are the same).
* ``implicit-bpr``: ``BayesianPersonalizedRanking(random_state=0)`` at its defaults: 100
  factors, 100 iterations, learning rate 0.01, regularization 0.01.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(
    0, str(Path(__file__).resolve().parent.parent)
)  # benchmarks/_common.py (stdlib only)
from _common import maxrss_mib, peak_mib, rss_mib

ALL_PEERS = ("implicit-als", "implicit-als-blas1", "implicit-bpr")
FACTORS_ALS = 64


def _csr(users: np.ndarray, items: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    m = sp.csr_matrix(
        (np.ones(users.size, dtype=np.float32), (users, items)), shape=shape, dtype=np.float32
    )
    m.sum_duplicates()
    return m


def _model(peer: str, alpha: float | None, iterations: int | None):
    import implicit.als
    import implicit.bpr

    kw = {} if iterations is None else {"iterations": iterations}
    if peer.startswith("implicit-als"):
        return implicit.als.AlternatingLeastSquares(
            factors=FACTORS_ALS, alpha=alpha, random_state=0, **kw
        )
    return implicit.bpr.BayesianPersonalizedRanking(random_state=0, **kw)


def _fit(peer: str, model, ui: sp.csr_matrix) -> tuple[float, list[float]]:
    """Wall seconds of ``model.fit(ui)`` and the seconds of each iteration."""
    import threadpoolctl

    its: list[float] = []

    def record(iteration, elapsed, *rest) -> None:  # ALS passes a loss, BPR two counts
        its.append(float(elapsed))

    t0 = time.perf_counter()
    if peer == "implicit-als-blas1":
        with threadpoolctl.threadpool_limits(1, "blas"):
            model.fit(ui, show_progress=False, callback=record)
    else:
        model.fit(ui, show_progress=False, callback=record)
    return time.perf_counter() - t0, its


def _threads() -> tuple[int, int]:
    import threadpoolctl

    info = threadpoolctl.threadpool_info()
    omp = max((d["num_threads"] for d in info if d["user_api"] == "openmp"), default=0)
    blas = max((d["num_threads"] for d in info if d["user_api"] == "blas"), default=0)
    return omp, blas


def _job(peer: str, alpha: float | None, job: dict, folder: Path, repeats: int) -> dict:
    import implicit  # noqa: F401  (imports the compiled extensions before timing)

    head = {"peer": peer, "dataset": job["dataset"], "alpha": alpha}
    if "train_npz" in job:  # large synthetic shape: one fit, timed, no lists
        arrays = np.load(folder / job["train_npz"])
        ui = _csr(arrays["user"], arrays["item"], tuple(job["shape"]))
        del arrays
        rss_data = rss_mib()
        model = _model(peer, alpha, job["iterations"])
        load0 = os.getloadavg()[0]
        fit, its = _fit(peer, model, ui)
        omp, blas = _threads()
        return {
            **head,
            "factors": int(model.factors),
            "iterations": job["iterations"],
            "fit_seconds": fit,
            "fit_seconds_all": [fit],
            "iteration_seconds": its,
            "threads": omp,
            "blas_threads": 1 if peer == "implicit-als-blas1" else blas,
            "load_before": load0,
            "load_after": os.getloadavg()[0],
            "recs": None,
            "nnz": int(ui.nnz),
            "rss_data_mib": rss_data,
            "peak_rss_mib": peak_mib(),
            "ru_maxrss_mib": maxrss_mib(),
        }
    train = pd.read_csv(folder / job["train"])
    test = pd.read_csv(folder / job["test"])
    users = pd.Index(pd.unique(train["user"]))
    items = pd.Index(pd.unique(train["item"]))
    ui = _csr(
        users.get_indexer(train["user"]), items.get_indexer(train["item"]), (users.size, items.size)
    )
    times, first, first_its = [], None, []
    load0 = os.getloadavg()[0]
    for _ in range(repeats):
        model = _model(peer, alpha, None)
        seconds, its = _fit(peer, model, ui)
        times.append(seconds)
        if first is None:
            first, first_its = model, its
    load1 = os.getloadavg()[0]
    query = pd.unique(test["user"])
    rows = users.get_indexer(query)
    keep = rows >= 0  # test users with no training positive get no list
    query, rows = query[keep], rows[keep]
    ids, _ = first.recommend(rows, ui[rows], N=job["n"], filter_already_liked_items=True)
    n = ids.shape[1]
    flat = ids.reshape(-1)
    valid = flat >= 0  # implicit pads short lists with -1
    recs = pd.DataFrame(
        {
            "user": np.repeat(query, n)[valid],
            "rank": np.tile(np.arange(1, n + 1), query.size)[valid],
            "item": items.to_numpy()[flat[valid]],
        }
    )
    name = f"recs_{peer}_{job['dataset']}_{alpha}.csv"
    recs.to_csv(folder / name, index=False)
    omp, blas = _threads()
    return {
        **head,
        "factors": int(first.factors),
        "iterations": int(first.iterations),
        "fit_seconds": statistics.median(times),
        "fit_seconds_all": times,
        "iteration_seconds": first_its,
        "threads": omp,
        "blas_threads": 1 if peer == "implicit-als-blas1" else blas,
        "load_before": load0,
        "load_after": load1,
        "recs": name,
        "rss_data_mib": None,
        "peak_rss_mib": peak_mib(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--peers", default=",".join(ALL_PEERS))
    parser.add_argument("--alphas", default="1,5,20")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--versions", action="store_true", help="print versions as JSON and exit")
    opts = parser.parse_args(argv)
    if opts.versions:
        import implicit
        import scipy
        import threadpoolctl

        print(
            json.dumps(
                {
                    "versions": {
                        "implicit": implicit.__version__,
                        "numpy": np.__version__,
                        "scipy": scipy.__version__,
                        "threadpoolctl": threadpoolctl.__version__,
                    },
                    "python": sys.version.split()[0],
                }
            ),
            flush=True,
        )
        return 0
    peers = [p.strip() for p in opts.peers.split(",") if p.strip()]
    unknown = sorted(set(peers) - set(ALL_PEERS))
    if unknown:
        parser.error(f"--peers: unknown {', '.join(unknown)}; expected some of {ALL_PEERS}")
    if opts.repeats < 1:
        parser.error(f"--repeats={opts.repeats}: expected an integer >= 1")
    alphas = [float(a) for a in opts.alphas.split(",")]
    jobs = json.loads((opts.folder / "jobs.json").read_text())
    for job in jobs:
        for peer in peers:
            for alpha in alphas if "als" in peer else [None]:
                head = {"peer": peer, "dataset": job["dataset"], "alpha": alpha}
                try:
                    res = _job(peer, alpha, job, opts.folder, opts.repeats)
                except Exception as e:  # one failing fit must not stop the others
                    res = {**head, "error": f"{type(e).__name__}: {e}"}
                print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
