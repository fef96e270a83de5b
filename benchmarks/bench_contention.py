"""Each main path quiet and beside two busy processes (issue 20): the slowdown ratio.

One command:

    python benchmarks/bench_contention.py                  # every path, 2 repeats, writes the report
    python benchmarks/bench_contention.py --path neural --repeats 3
    python benchmarks/bench_contention.py --quick          # 1 repeat, writes nothing

Protocol (stated in the report):

1. Paths, each timed in a new process (nothing compiled or cached in memory; numba's
   on-disk cache is warm after the first run, as for a user): ``mf`` -
   ``MatrixFactorization()`` fit; ``neural`` - ``NeuralEmbeddingModel()`` fit (the
   defaults, MF pre-training included); both on ML-1M-shaped synthetic ratings
   (``synthetic_ratings(6040, 3706, 900_000, random_state=0)``); ``recommend`` -
   ``recommend_batch()`` for all 6,040 users, 5 calls in a row, of an MF model fitted on those ratings;
   ``tsne`` - ``viz.project(model, "tsne")``, the map of its 3,706 items; ``demo`` -
   ``embedlab demo --quiet`` as a whole process (ML-100K from ``$EMBEDLAB_DATA``;
   the command has no quick mode). The data and the model are made before the clock
   starts; only the path is timed (the demo: the whole command).
2. "busy": two ``yes > /dev/null`` processes are started before the path's process and
   killed after it. "quiet": nothing of ours runs beside it (other users of a shared
   machine may: the load average is recorded with every run).
3. Quiet and busy runs alternate (quiet first in even repeats, busy first in odd ones),
   so a change of the machine's load spreads over both. The ratio is median busy over
   median quiet. A program that runs on one thread gets 1.5x here (3 runnable threads
   on 2 cores); the target is <= 2x for every path.

The report goes to ``benchmarks/results/contention.md`` (not with ``--quick`` or
``--path``). Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import cpu_name, data_dir, git_commit

RESULTS = Path(__file__).resolve().parent / "results"
PATHS = ("mf", "neural", "recommend", "tsne", "demo")
SHAPE = (6040, 3706, 900_000)
TARGET = 2.0
#: ``recommend_batch()`` for all users takes a fraction of a second: timed this many times.
RECOMMEND_CALLS = 5


# ------------------------------------------------------------------ worker side
def _ratings():
    import embedlab as el

    inter, _ = el.synthetic_ratings(*SHAPE, random_state=0)
    return inter


def _worker(path: str, bundle: str) -> dict:
    """Run one path in this process; return its seconds (and what it used)."""
    import embedlab as el

    if path == "setup":
        model = el.MatrixFactorization(random_state=0).fit(_ratings())
        model.save(bundle)
        return {"seconds": 0.0}
    if path in ("mf", "neural"):
        inter = _ratings()
        model = el.MatrixFactorization(random_state=0) if path == "mf" else None
        if model is None:
            model = el.NeuralEmbeddingModel(random_state=0)
        t0 = time.perf_counter()
        model.fit(inter)
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "n_threads": model.settings_.n_threads}
    model = el.load(bundle)
    if path == "recommend":
        model.recommend_batch(list(model.users_.ids()[:10]))  # warm-up, not timed
        t0 = time.perf_counter()
        for _ in range(RECOMMEND_CALLS):
            model.recommend_batch()
        return {"seconds": time.perf_counter() - t0}
    if path == "tsne":
        from embedlab import viz

        t0 = time.perf_counter()
        viz.project(model, "tsne")
        return {"seconds": time.perf_counter() - t0}
    raise SystemExit(f"unknown path {path!r}")


# ------------------------------------------------------------------ driver side
def _run(path: str, bundle: str, busy: bool, out_dir: str) -> dict:
    hogs = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(2 if busy else 0)]
    try:
        if busy:
            time.sleep(0.5)  # let them take the cores
        load_before = os.getloadavg()[0]
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        env.setdefault("EMBEDLAB_DATA", str(data_dir()))
        t0 = time.perf_counter()
        if path == "demo":
            out = subprocess.run(
                [sys.executable, "-m", "embedlab", "demo", "--quiet", "--out", out_dir],
                env=env,
                capture_output=True,
                text=True,
            )
            result = {"seconds": time.perf_counter() - t0}
        else:
            out = subprocess.run(
                [sys.executable, __file__, "--worker", path, "--bundle", bundle],
                env=env,
                capture_output=True,
                text=True,
            )
            lines = [x for x in out.stdout.splitlines() if x.startswith("{")]
            result = json.loads(lines[-1]) if lines else {}
        if out.returncode != 0 or "seconds" not in result:
            raise SystemExit(f"{path} failed ({out.returncode}):\n{out.stderr[-2000:]}")
        result["stderr_warnings"] = sum(
            ("OpenMP" in line or "OpenBLAS" in line) for line in out.stderr.splitlines()
        )
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    return {
        "path": path,
        "busy": busy,
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        **result,
    }


def _report(rows: list[dict], repeats: int, started: str, load0: tuple, load1: tuple) -> str:
    lines = [
        "# Contention (issue 20)",
        "",
        f"`python benchmarks/bench_contention.py --repeats {repeats}`; {started}; "
        f"commit {git_commit()}; {cpu_name()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}.",
        "",
        f"Load average (1, 5, 15 min) before the runs: {', '.join(f'{x:.2f}' for x in load0)}; "
        f"after: {', '.join(f'{x:.2f}' for x in load1)}. Other work may share the machine: "
        "each run's load is in the second table.",
        "",
        "Each path in a new process, quiet and beside two `yes > /dev/null`, alternating "
        "(see the protocol in the script). Ratio: median busy / median quiet. "
        f"Target <= {TARGET:g}x; a single-threaded program gets 1.5x here.",
        "",
        "| path | quiet s (median) | busy s (median) | ratio | runs each | threads |",
        "|---|---|---|---|---|---|",
    ]
    for path in dict.fromkeys(r["path"] for r in rows):
        q = [r["seconds"] for r in rows if r["path"] == path and not r["busy"]]
        b = [r["seconds"] for r in rows if r["path"] == path and r["busy"]]
        threads = {r.get("n_threads") for r in rows if r["path"] == path} - {None}
        ratio = statistics.median(b) / statistics.median(q)
        mark = "" if ratio <= TARGET else " (over target)"
        lines.append(
            f"| {path} | {statistics.median(q):.2f} | {statistics.median(b):.2f} | "
            f"{ratio:.2f}x{mark} | {len(q)} | {', '.join(map(str, sorted(threads))) or '-'} |"
        )
    lines += [
        "",
        "Every run:",
        "",
        "| path | busy | seconds | load before | load after | OpenMP/OpenBLAS lines on stderr |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['path']} | {'busy' if r['busy'] else 'quiet'} | {r['seconds']:.2f} | "
            f"{r['load_before']:.2f} | {r['load_after']:.2f} | {r['stderr_warnings']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", choices=PATHS, action="append", help="only this path (repeatable)")
    ap.add_argument("--repeats", type=int, default=2, help="quiet/busy pairs per path")
    ap.add_argument("--quick", action="store_true", help="one repeat, no report")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--bundle", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker, args.bundle)))
        return
    paths = args.path or list(PATHS)
    repeats = 1 if args.quick else args.repeats
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load0 = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bundle = str(Path(tmp) / "mf")
        if {"recommend", "tsne"} & set(paths):
            _run("setup", bundle, False, tmp)
        for rep in range(repeats):
            for path in paths:
                for busy in (False, True) if rep % 2 == 0 else (True, False):
                    row = _run(path, bundle, busy, str(Path(tmp) / f"demo{rep}{busy}"))
                    print(json.dumps(row), flush=True)
                    rows.append(row)
    text = _report(rows, repeats, started, load0, os.getloadavg())
    print(text)
    if not args.quick and not args.path:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "contention.md").write_text(text)


if __name__ == "__main__":
    main()
