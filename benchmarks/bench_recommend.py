"""Top-10 recommendations for every user of a model of the MovieLens 1M shape, timed.

One command::

    python benchmarks/bench_recommend.py [--quick]

Protocol: synthetic ratings of the ML-1M shape (6,040 users × 3,706 items, 1,000,209
ratings; ``embedlab.synthetic_ratings(random_state=0)``), the default ``MatrixFactorization``
(512 dimensions) fitted on all of them, then ``recommend_batch(n=10)`` for every user
(seen items excluded, chunks of 1,024 users), three times; the median and the best are
reported with the peak resident memory of the process. ``--quick`` uses a tenth of the
shape and writes nothing. Results: ``benchmarks/results/recommend.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import embedlab
from _common import cpu_name

RESULTS = Path(__file__).resolve().parent / "results"
SHAPE = (6040, 3706, 1_000_209)


def _rss_gib() -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    info = psutil.Process().memory_info()
    return getattr(info, "peak_wset", info.rss) / 2**30


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the shape; write nothing")
    opts = parser.parse_args(argv)
    users, items, ratings = (max(1, s // 10) for s in SHAPE) if opts.quick else SHAPE
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    ds, _ = embedlab.synthetic_ratings(users, items, ratings, random_state=0)
    gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = embedlab.MatrixFactorization(random_state=0).fit(ds, progress=False)
    fit = time.perf_counter() - t0
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        recs = model.recommend_batch(n=10)
        times.append(time.perf_counter() - t0)
    n_users = recs["user"].nunique()
    short = int((recs.groupby("user").size() < 10).sum())  # users with < 10 unseen items
    seen = model.seen_
    clash = sum(
        int(
            np.isin(
                model.items_.indices(g["item"].to_numpy()), seen.row(model.users_.index(u))[0]
            ).any()
        )
        for u, g in list(recs.groupby("user"))[:200]
    )
    report = {
        "date": started,
        "machine": {
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "versions": {"embedlab": embedlab.__version__, "numpy": np.__version__},
        "load_average": [load0, os.getloadavg()[0]],
        "shape": {"users": users, "items": items, "ratings": len(ds.rating)},
        "generate_seconds": gen,
        "fit_seconds": fit,
        "recommend_seconds": times,
        "recommend_median_seconds": statistics.median(times),
        "users_per_second": n_users / statistics.median(times),
        "users": int(n_users),
        "users_with_fewer_than_10": short,
        "seen_items_in_lists_first_200_users": clash,
        "peak_rss_gib": _rss_gib(),
    }
    md = "\n".join(
        [
            "# Top-10 recommendations for every user (ML-1M shape)",
            "",
            f"Measured {started} on {cpu_name()} ({os.cpu_count()} cores), load average "
            f"{load0:.2f} at the start. Command: `python benchmarks/bench_recommend.py`.",
            "",
            "Protocol: synthetic ratings of the ML-1M shape (6,040 users × 3,706 items, 1,000,209 "
            "ratings, seed 0); the default `MatrixFactorization()` (512 dimensions) fitted on all of "
            "them; `recommend_batch(n=10)` for every user (seen items excluded; chunks of 1,024 "
            "users), three runs.",
            "",
            "| step | seconds |",
            "|---|---:|",
            f"| generate the ratings | {gen:.2f} |",
            f"| fit `MatrixFactorization()` | {fit:.2f} |",
            f"| top 10 for all {n_users:,} users (median of 3) | {statistics.median(times):.2f} "
            f"(best {min(times):.2f}; {report['users_per_second']:,.0f} users/s) |",
            "",
            f"Peak resident memory of the process: {report['peak_rss_gib']:.2f} GiB."
            if report["peak_rss_gib"] is not None
            else "Peak memory: psutil not installed.",
            f"Seen items found in the lists of the first 200 users: {clash} (expected 0); users with "
            f"fewer than 10 unseen items (shorter lists): {short}.",
            "",
        ]
    )
    print(md)
    if not opts.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "recommend.md").write_text(md, encoding="utf-8")
        (RESULTS / "recommend.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
        print(f"wrote {RESULTS / 'recommend.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
