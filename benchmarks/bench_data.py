"""Data-layer benchmark: synthetic ML-20M-shaped data and loading its ratings.csv.

One command:

    python benchmarks/bench_data.py            # full size (ML-20M shape, ~5 minutes here)
    python benchmarks/bench_data.py --quick    # 1/10 of the ratings, for a smoke run

Protocol (stated in the report):
1. Generate ``synthetic_ratings(138_493, 26_744, 20_000_263, random_state=0)`` in a fresh
   subprocess; wall time of the call and the subprocess's peak RSS.
2. Write it with ``write_movielens_csv`` (ratings.csv: userId,movieId,rating,timestamp).
3. Read the file once to warm the page cache, then time, each in a fresh subprocess and
   alternating, ``pandas.read_csv(path)`` with default settings and
   ``embedlab.load_ratings(path)`` (which also builds both vocabularies, validates every
   rating and checks for duplicate pairs); ``--repeat`` rounds, medians reported,
   ratio = pandas time / embedlab time.

Results go to ``benchmarks/results/data.md`` and ``data.json``. Nothing here asserts a
time; the acceptance thresholds are printed next to the measurements.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import cpu_name

RESULTS = Path(__file__).resolve().parent / "results"

ML20M = {"n_users": 138_493, "n_items": 26_744, "n_ratings": 20_000_263}

_CHILD_GENERATE = """
import json, resource, sys, time
from embedlab.data import synthetic_ratings, write_movielens_csv
n_users, n_items, n_ratings, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
t0 = time.perf_counter()
ds, truth = synthetic_ratings(n_users, n_items, n_ratings, random_state=0)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t1 = time.perf_counter()
write_movielens_csv(ds, out)
write_seconds = time.perf_counter() - t1
print(json.dumps({"seconds": seconds, "peak_bytes": peak, "write_seconds": write_seconds,
                  "n_ratings": len(ds), "n_users": ds.n_users, "n_items": ds.n_items}))
"""

_CHILD_READ = """
import json, resource, sys, time
which, path = sys.argv[1], sys.argv[2]
if which == "pandas":
    import pandas as pd
    t0 = time.perf_counter()
    frame = pd.read_csv(path)
    seconds = time.perf_counter() - t0
    rows = len(frame)
else:
    from embedlab import load_ratings
    t0 = time.perf_counter()
    ds = load_ratings(path)
    seconds = time.perf_counter() - t0
    rows = len(ds)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak_bytes": peak, "rows": rows}))
"""


def _child(code: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _machine() -> dict:
    import numpy
    import pandas
    import pyarrow

    import embedlab

    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "embedlab": embedlab.__version__,
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="1/10 of the ratings (smoke run, results not written)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds of the read comparison (default 3)"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where to write the CSV (default: a temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV")
    args = parser.parse_args(argv)

    shape = dict(ML20M)
    if args.quick:
        shape["n_ratings"] //= 10
    work = Path(args.workdir or tempfile.mkdtemp(prefix="embedlab-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    folder = work / "synthetic-ml20m"
    if folder.exists():
        shutil.rmtree(folder)
    try:
        print(
            f"generating {shape['n_ratings']:,} ratings ({shape['n_users']:,} users x {shape['n_items']:,} items)...",
            flush=True,
        )
        gen = _child(
            _CHILD_GENERATE,
            str(shape["n_users"]),
            str(shape["n_items"]),
            str(shape["n_ratings"]),
            str(folder),
        )
        print(
            f"  generated in {gen['seconds']:.1f} s, peak RSS {gen['peak_bytes'] / 2**30:.2f} GiB; "
            f"CSV written in {gen['write_seconds']:.1f} s",
            flush=True,
        )
        csv = folder / "ratings.csv"
        size = csv.stat().st_size
        with open(csv, "rb") as fh:  # warm the page cache so both readers start equal
            while fh.read(1 << 24):
                pass
        times: dict[str, list[float]] = {"pandas": [], "embedlab": []}
        peaks: dict[str, list[int]] = {"pandas": [], "embedlab": []}
        for r in range(args.repeat):
            order = ("pandas", "embedlab") if r % 2 == 0 else ("embedlab", "pandas")
            for which in order:
                res = _child(_CHILD_READ, which, str(csv))
                if res["rows"] != shape["n_ratings"]:
                    raise SystemExit(
                        f"{which} read {res['rows']} rows, expected {shape['n_ratings']}"
                    )
                times[which].append(res["seconds"])
                peaks[which].append(res["peak_bytes"])
                print(f"  round {r + 1}: {which:8s} {res['seconds']:.2f} s", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work if args.workdir is None else folder, ignore_errors=True)

    pandas_s = statistics.median(times["pandas"])
    ours_s = statistics.median(times["embedlab"])
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": _machine(),
        "shape": shape,
        "generate_seconds": round(gen["seconds"], 2),
        "generate_peak_gib": round(gen["peak_bytes"] / 2**30, 3),
        "csv_write_seconds": round(gen["write_seconds"], 2),
        "csv_bytes": size,
        "read_repeat": args.repeat,
        "pandas_read_csv_seconds": [round(t, 3) for t in times["pandas"]],
        "load_ratings_seconds": [round(t, 3) for t in times["embedlab"]],
        "pandas_peak_gib": round(max(peaks["pandas"]) / 2**30, 3),
        "load_ratings_peak_gib": round(max(peaks["embedlab"]) / 2**30, 3),
        "speedup": round(pandas_s / ours_s, 2),
    }
    m = report["machine"]
    md = f"""# Data layer benchmark

Measured {report["date"]} on {m["cpu"]} ({m["cores"]} cores), Python {m["python"]}, embedlab {m["embedlab"]},
NumPy {m["numpy"]}, pandas {m["pandas"]}, pyarrow {m["pyarrow"]}. Command: `python benchmarks/bench_data.py`.

Protocol: synthetic data of the ML-20M shape ({shape["n_users"]:,} users, {shape["n_items"]:,} items,
{shape["n_ratings"]:,} ratings, seed 0) generated in a fresh subprocess (wall time of
`synthetic_ratings`, peak RSS of the process); written as a MovieLens `ratings.csv`
({size / 2**20:,.0f} MiB); the file read once to warm the page cache, then
`pandas.read_csv(path)` (default settings) and `embedlab.load_ratings(path)` (parse, build both
vocabularies, validate every rating, check for duplicate pairs) timed in fresh subprocesses,
alternating, {args.repeat} rounds; medians.

| step | embedlab | target | pandas.read_csv | ratio |
|---|---:|---:|---:|---:|
| generate ML-20M shape | {report["generate_seconds"]:.1f} s, peak {report["generate_peak_gib"]:.2f} GiB | ≤ 60 s, ≤ 3 GB | | |
| write ratings.csv | {report["csv_write_seconds"]:.1f} s | | | |
| load ratings.csv | {ours_s:.2f} s (peak {report["load_ratings_peak_gib"]:.2f} GiB) | ≥ 3× faster | {pandas_s:.2f} s (peak {report["pandas_peak_gib"]:.2f} GiB) | **{report["speedup"]:.1f}×** |

Rounds (s): pandas {report["pandas_read_csv_seconds"]}, embedlab {report["load_ratings_seconds"]}.
"""
    print(md)
    if args.quick:
        print("(--quick: results not written)")
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "data.md").write_text(md)
    (RESULTS / "data.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS / 'data.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
