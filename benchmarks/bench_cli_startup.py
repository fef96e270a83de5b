"""Start-up of the command line's lookups (issue 20): wall time of whole processes.

One command:

    python benchmarks/bench_cli_startup.py                 # 9 runs of each, writes the report
    python benchmarks/bench_cli_startup.py --runs 3 --quick  # writes nothing
    python benchmarks/bench_cli_startup.py --bundle runs/mf  # an existing ML-100K bundle

Protocol (stated in the report):

1. A bundle of ML-100K (all 100,000 ratings) made by ``embedlab train DATA --out B`` at
   the defaults (matrix factorization, with its stored t-SNE map), unless ``--bundle``.
2. Each command runs as a new process (a new interpreter: nothing imported, nothing
   compiled in memory; the operating system's file cache is warm after the first round,
   as it is for a user who runs lookups one after another). The rounds go through all
   commands in turn, so a change of the machine's load spreads over every command; the
   first round is a warm-up and not counted. Wall time from ``subprocess.run`` to exit.
3. Commands: ``embedlab similar B "Star Wars"``, ``embedlab recommend B --user 196``,
   ``embedlab recommend B --rate "Star Wars=5" --rate "Fargo=4"``, ``embedlab info B``,
   ``embedlab --help`` (the installed console script).
4. Before, without the old code: the same lookups as the old commands ran them, through
   the estimator (``embedlab.load(B)``, which imports torch), in a process that first
   imports the command line as the old commands did; and the imports alone: ``python -c
   pass``, ``import embedlab.cli``, ``import torch``.
5. Where the time goes: ``python -X importtime -m embedlab similar B "Star Wars"``, the
   top-level packages by cumulative import time (one run).

Real data come from ``$EMBEDLAB_TEST_DATA`` (default ``../shared/data`` beside the
repository). The report goes to ``benchmarks/results/cli_startup.md`` (not with
``--quick``). Nothing here asserts a time; the target (``similar`` <= 1.0 s) is printed
next to the numbers, with the load average of the machine during the runs.
"""

from __future__ import annotations

import argparse
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
TARGET_S = 1.0

#: The old ``embedlab similar B QUERY``: the command line's imports, then the estimator.
OLD_SIMILAR = """
import sys
from embedlab.cli import app
import embedlab
vectors = embedlab.load(sys.argv[1]).item_embeddings()
key = vectors.resolve(sys.argv[2])
print(vectors.most_similar(key, topn=10))
"""
#: The old ``embedlab recommend B --rate "Star Wars=5" --rate "Fargo=4"`` (items 50, 100).
OLD_RATE = """
import sys
from embedlab.cli import app
import embedlab
print(embedlab.load(sys.argv[1]).recommend_for_ratings({50: 5.0, 100: 4.0}, 10))
"""
#: The old ``embedlab recommend B --user U``.
OLD_RECOMMEND = """
import sys
from embedlab.cli import app
import embedlab
print(embedlab.load(sys.argv[1]).recommend(int(sys.argv[2]), 10))
"""


def _console_script() -> list[str]:
    """The installed ``embedlab`` beside this interpreter (no shell shim), else ``-m``."""
    script = Path(sys.executable).parent / "embedlab"
    return [str(script)] if script.exists() else [sys.executable, "-m", "embedlab"]


def _commands(bundle: str) -> list[tuple[str, str, list[str]]]:
    """``(group, name, argv)`` of every timed command."""
    cli, py = _console_script(), sys.executable
    return [
        ("now", 'embedlab similar B "Star Wars"', [*cli, "similar", bundle, "Star Wars"]),
        ("now", "embedlab recommend B --user 196", [*cli, "recommend", bundle, "--user", "196"]),
        (
            "now",
            'embedlab recommend B --rate "Star Wars=5" --rate "Fargo=4"',
            [*cli, "recommend", bundle, "--rate", "Star Wars=5", "--rate", "Fargo=4"],
        ),
        ("now", "embedlab info B", [*cli, "info", bundle]),
        ("now", "embedlab --help", [*cli, "--help"]),
        (
            "before",
            "similar through embedlab.load (torch)",
            [py, "-c", OLD_SIMILAR, bundle, "Star Wars"],
        ),
        (
            "before",
            "recommend through embedlab.load (torch)",
            [py, "-c", OLD_RECOMMEND, bundle, "196"],
        ),
        ("before", "recommend --rate through embedlab.load (torch)", [py, "-c", OLD_RATE, bundle]),
        ("imports", "python -c pass", [py, "-c", "pass"]),
        ("imports", "python -c 'import embedlab.cli'", [py, "-c", "import embedlab.cli"]),
        ("imports", "python -c 'import torch'", [py, "-c", "import torch"]),
    ]


def _run(argv: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv[:3])}... failed ({proc.returncode}): {proc.stderr[-500:]}"
        )
    return wall


def _make_bundle(root: Path) -> str:
    ml100k = data_dir() / "ml-100k"
    if not ml100k.is_dir():
        raise SystemExit(f"{ml100k}: not found; set EMBEDLAB_TEST_DATA to the MovieLens folder")
    out = root / "mf"
    subprocess.run([*_console_script(), "train", str(ml100k), "--out", str(out), "-q"], check=True)
    return str(out)


def _import_profile(bundle: str) -> list[tuple[str, float]]:
    """Packages (and modules imported by the program itself, such as ``typer._adapters``)
    that ``similar`` imports, by the cumulative time of their first import (seconds).

    A package's time includes what it imports first (``embedlab`` includes ``pandas``).
    """
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "embedlab", "similar", bundle, "Star Wars"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    first: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, raw = line.removeprefix("import time:").split("|")
        name = raw.strip()
        top_level = not raw.startswith("  ")  # imported by the program, not by a module
        if top_level or ("." not in name and not name.startswith("_")):
            first.setdefault(name, int(cumulative) / 1e6)
    return sorted(first.items(), key=lambda kv: -kv[1])[:12]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="timed rounds (after one warm-up)")
    parser.add_argument("--bundle", help="an existing ML-100K bundle (default: train one)")
    parser.add_argument("--quick", action="store_true", help="print only; write no report")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp:
        bundle = args.bundle or _make_bundle(Path(tmp))
        commands = _commands(bundle)
        load_before = os.getloadavg()
        times: dict[str, list[float]] = {name: [] for _, name, _ in commands}
        for round_ in range(args.runs + 1):
            for _, name, argv in commands:
                wall = _run(argv)
                if round_:  # round 0 warms the file cache
                    times[name].append(wall)
        load_after = os.getloadavg()
        profile = _import_profile(bundle)

    rows = []
    for group, name, _ in commands:
        t = times[name]
        rows.append(
            f"| {group} | {name} | {len(t)} | {statistics.median(t):.2f} | {min(t):.2f} | {max(t):.2f} |"
        )
    similar = statistics.median(times['embedlab similar B "Star Wars"'])
    old = statistics.median(times["similar through embedlab.load (torch)"])
    lines = [
        "# Command-line start-up (issue 20)",
        "",
        f"`python benchmarks/bench_cli_startup.py --runs {args.runs}`; commit {git_commit()}; "
        f"{cpu_name()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}.",
        "",
        f"Machine state: **shared and loaded** (other work ran beside this benchmark): load "
        f"average {load_before[0]:.1f} before the runs, {load_after[0]:.1f} after (1-minute; "
        f"{os.cpu_count()} CPUs). On a quiet machine every number is lower.",
        "",
        "Each run is a new process (see the protocol in the script); wall seconds over "
        f"{args.runs} rounds after one warm-up round, commands interleaved.",
        "",
        "| group | command | runs | median s | min s | max s |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"Target: `embedlab similar` on an ML-100K bundle <= {TARGET_S:.1f} s wall: median "
        f"{similar:.2f} s ({'met' if similar <= TARGET_S else 'NOT met'}); the same lookup "
        f"through the estimator (torch), as before: {old:.2f} s ({old / similar:.1f}x).",
        "",
        "Lookups (`similar`, `recommend --user` and `--rate`, `export`, `info`, `--help`) "
        "import neither torch nor numba (tests/cli/test_lookup_startup.py checks it with "
        "`python -X importtime`, and that the answers are the estimator's).",
        "",
        "Where `embedlab similar` spends its import time (`python -X importtime`, one run; "
        "a package's time includes the packages it imports first, so `embedlab` includes "
        "numpy, pandas and pyarrow; importtime itself slows the imports down):",
        "",
        "| package | seconds |",
        "|---|---|",
        *[f"| {name} | {sec:.3f} |" for name, sec in profile],
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "cli_startup.md").write_text(report, encoding="utf-8")
        print(f"wrote {RESULTS / 'cli_startup.md'}")


if __name__ == "__main__":
    main()
