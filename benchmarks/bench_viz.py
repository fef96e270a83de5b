"""t-SNE: ``embedlab.viz.project`` (openTSNE, FFT) against scikit-learn's ``TSNE``.

One command::

    python benchmarks/bench_viz.py              # 10,000 x 32, 2 rounds (~5 min on 2 cores)
    python benchmarks/bench_viz.py --quick      # 3,000 x 32, 1 round; writes nothing
    python benchmarks/bench_viz.py --report-only  # rewrite viz.md from viz.json

Protocol (stated again in the report):

1. Vectors: n x 32 float64 clustered (a Gaussian mixture: 20 centres drawn from N(0, I),
   each point its centre plus N(0, 0.5^2 I), centre chosen uniformly), seed 0; n = 10,000.
2. embedlab: ``project((vectors, keys), "tsne", perplexity=30, random_state=0)``: openTSNE
   with FFT-accelerated gradients, cosine metric, PCA initialisation, exact (n <= 5,000) or
   Annoy neighbours, its default schedule (250 early-exaggeration + 500 iterations), and
   the threads ``project`` picks (the CPUs available, at most 8, from 5,000 points on).
3. scikit-learn: ``TSNE(n_components=2, perplexity=30, metric="cosine", init="pca",
   random_state=0, n_jobs=<the same thread count>)``: Barnes-Hut, its default schedule
   (``max_iter`` 1,000 with 250 of early exaggeration). Each library runs with its own
   defaults otherwise: that is what a user gets.
4. Wall-clock seconds of each whole call (``perf_counter``), the two interleaved and their
   order alternating between rounds; the report gives each round and the median. Time
   ratio = scikit-learn / embedlab (> 1: embedlab faster). Target of issue 6: >= 2.
5. Quality on both maps: ``sklearn.manifold.trustworthiness`` (10 neighbours, cosine in
   the input space) on the same random 2,000 points (seed 1; the full 10,000 x 10,000
   distance matrices would need GBs), and the silhouette of the 20 mixture labels in 2-D
   (``silhouette_score``, sample of 2,000, seed 1).

Results go to ``benchmarks/results/viz.md``, ``viz.json`` and the figure
``benchmarks/results/figures/viz_tsne.png`` (both maps side by side), except with
``--quick``. Nothing here asserts a time; the target is printed with whether it holds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from _common import REPO, cpu_name

RESULTS = REPO / "benchmarks" / "results"
TARGET = 2.0


def _versions() -> dict[str, str]:
    import matplotlib
    import openTSNE
    import sklearn

    import embedlab

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "openTSNE": openTSNE.__version__,
        "scikit-learn": sklearn.__version__,
        "matplotlib": matplotlib.__version__,
        "embedlab": embedlab.__version__,
    }


def clustered(n: int, dim: int = 32, centres: int = 20, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(centres, dim))
    labels = rng.integers(0, centres, size=n)
    return means[labels] + 0.5 * rng.normal(size=(n, dim)), labels


def run_embedlab(vectors: np.ndarray, perplexity: float) -> tuple[np.ndarray, float, int]:
    from embedlab.viz import project
    from embedlab.viz._project import _default_jobs

    start = time.perf_counter()
    frame = project((vectors, np.arange(len(vectors))), "tsne", perplexity=perplexity)
    seconds = time.perf_counter() - start
    return frame[["x", "y"]].to_numpy(), seconds, _default_jobs(len(vectors))


def run_sklearn(vectors: np.ndarray, perplexity: float, jobs: int) -> tuple[np.ndarray, float]:
    from sklearn.manifold import TSNE

    start = time.perf_counter()
    xy = TSNE(
        n_components=2,
        perplexity=perplexity,
        metric="cosine",
        init="pca",
        random_state=0,
        n_jobs=jobs,
    ).fit_transform(vectors)
    return xy, time.perf_counter() - start


def quality(vectors: np.ndarray, xy: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from sklearn.manifold import trustworthiness
    from sklearn.metrics import silhouette_score

    rows = np.random.default_rng(1).choice(
        len(vectors), size=min(2000, len(vectors)), replace=False
    )
    trust = trustworthiness(vectors[rows], xy[rows], n_neighbors=10, metric="cosine")
    sil = silhouette_score(xy, labels, sample_size=min(2000, len(xy)), random_state=1)
    return {"trustworthiness": float(trust), "silhouette_2d": float(sil)}


def figure(
    vectors_xy: dict[str, np.ndarray], labels: np.ndarray, titles: dict[str, str], path: Path
) -> None:
    from embedlab.viz._figure import new_figure

    fig = new_figure(11, 5, dpi=72)
    axes = fig.subplots(1, 2)
    for ax, (name, xy) in zip(axes, vectors_xy.items(), strict=True):
        ax.scatter(xy[:, 0], xy[:, 1], s=1, c=labels, cmap="tab20", linewidths=0, rasterized=True)
        ax.set_title(titles[name], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        f"t-SNE of {len(labels):,} x 32 clustered vectors (20 mixture components)", fontsize=11
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=72)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3,000 points, 1 round, write nothing")
    parser.add_argument("--n", type=int, default=None, help="points (default 10,000)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 2)")
    parser.add_argument("--perplexity", type=float, default=30.0)
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite viz.md from viz.json; run nothing"
    )
    args = parser.parse_args(argv)
    if args.report_only:
        result = json.loads((RESULTS / "viz.json").read_text())
        (RESULTS / "viz.md").write_text(_markdown(result))
        print(f"wrote {RESULTS / 'viz.md'} from viz.json")
        return 0
    n = args.n or (3000 if args.quick else 10_000)
    rounds = args.rounds or (1 if args.quick else 2)
    load_before = os.getloadavg()
    vectors, labels = clustered(n)
    print(
        f"{n:,} x 32 clustered vectors; {rounds} round(s); load average {load_before}", flush=True
    )
    times: dict[str, list[float]] = {"embedlab": [], "sklearn": []}
    maps: dict[str, np.ndarray] = {}
    jobs = None
    for r in range(rounds):
        order = ["embedlab", "sklearn"] if r % 2 == 0 else ["sklearn", "embedlab"]
        for name in order:
            if name == "embedlab":
                xy, seconds, jobs = run_embedlab(vectors, args.perplexity)
            else:
                from embedlab.viz._project import _default_jobs

                xy, seconds = run_sklearn(vectors, args.perplexity, _default_jobs(n))
            times[name].append(seconds)
            maps.setdefault(name, xy)
            print(f"round {r + 1}: {name:8s} {seconds:7.1f} s", flush=True)
    scores = {name: quality(vectors, xy, labels) for name, xy in maps.items()}
    gap = float(np.abs(np.corrcoef(maps["embedlab"][:, 0], maps["sklearn"][:, 0])[0, 1]))
    print(
        f"|corr| of the two maps' x coordinates: {gap:.3f} (both start from PCA, so the layouts agree)"
    )
    medians = {name: statistics.median(t) for name, t in times.items()}
    ratio = medians["sklearn"] / medians["embedlab"]
    load_after = os.getloadavg()
    for name in ("embedlab", "sklearn"):
        print(
            f"{name:8s} median {medians[name]:6.1f} s; trustworthiness "
            f"{scores[name]['trustworthiness']:.4f}; silhouette {scores[name]['silhouette_2d']:.3f}"
        )
    held = ratio >= TARGET
    print(
        f"time ratio sklearn/embedlab: {ratio:.2f}x (target >= {TARGET:g}x: {'held' if held else 'MISSED'})"
    )
    if args.quick:
        return 0
    result = {
        "benchmark": "t-SNE: embedlab.viz.project (openTSNE FFT) vs scikit-learn TSNE",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in load_after],
        },
        "versions": _versions(),
        "protocol": {
            "vectors": f"{n} x 32 float64, Gaussian mixture of 20 centres N(0, I), noise 0.5, seed 0",
            "perplexity": args.perplexity,
            "metric": "cosine",
            "threads": jobs,
            "rounds": rounds,
            "embedlab": "project(..., 'tsne'): openTSNE FFT, PCA init, 250 + 500 iterations",
            "sklearn": "TSNE(perplexity, metric='cosine', init='pca', random_state=0, n_jobs): "
            "Barnes-Hut, max_iter 1000",
            "quality": "trustworthiness (10 neighbours, cosine) on the same 2,000 random points; "
            "silhouette of the mixture labels in 2-D (sample 2,000)",
        },
        "seconds": times,
        "median_seconds": medians,
        "time_ratio_sklearn_over_embedlab": ratio,
        "target": f">= {TARGET:g}x faster",
        "target_held": held,
        "quality": scores,
        "figure": "figures/viz_tsne.png",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "viz.json").write_text(json.dumps(result, indent=2) + "\n")
    titles = {
        name: f"{'embedlab.viz.project (openTSNE FFT)' if name == 'embedlab' else 'scikit-learn TSNE (Barnes-Hut)'}\n"
        f"{medians[name]:.1f} s · trustworthiness {scores[name]['trustworthiness']:.3f} · "
        f"silhouette {scores[name]['silhouette_2d']:.2f}"
        for name in maps
    }
    figure(maps, labels, titles, RESULTS / "figures" / "viz_tsne.png")
    (RESULTS / "viz.md").write_text(_markdown(result))
    print(f"wrote {RESULTS / 'viz.md'}, viz.json and figures/viz_tsne.png")
    return 0


def _markdown(r: dict) -> str:
    m, p, q = r["machine"], r["protocol"], r["quality"]
    rows = "\n".join(
        f"| {label} | {' / '.join(f'{s:.1f}' for s in r['seconds'][name])} | "
        f"{r['median_seconds'][name]:.1f} | {q[name]['trustworthiness']:.4f} | "
        f"{q[name]['silhouette_2d']:.3f} |"
        for name, label in (
            ("embedlab", "embedlab `viz.project` (openTSNE, FFT)"),
            ("sklearn", "scikit-learn `TSNE` (Barnes-Hut)"),
        )
    )
    versions = ", ".join(f"{k} {v}" for k, v in r["versions"].items())
    return f"""# t-SNE: embedlab.viz.project against scikit-learn

{r["date"]} · {m["cpu"]}, {m["cores"]} cores · load average before {m["load_average_before"]}, after {m["load_average_after"]}
· {versions}

| system | seconds per round | median s | trustworthiness | silhouette (2-D) |
|---|---:|---:|---:|---:|
{rows}

**Time ratio (scikit-learn / embedlab): {r["time_ratio_sklearn_over_embedlab"]:.2f}×** — target {r["target"]}:
{"held" if r["target_held"] else "missed"}. Part of the gap is the schedule: openTSNE runs 750 iterations by
default, scikit-learn 1,000; per iteration the ratio is {r["time_ratio_sklearn_over_embedlab"] * 750 / 1000:.2f}×.

Protocol: {p["vectors"]}; perplexity {p["perplexity"]:g}, metric {p["metric"]}, {p["threads"]} thread(s) for
both, {p["rounds"]} rounds interleaved (order alternating). embedlab: {p["embedlab"]}. scikit-learn:
{p["sklearn"]}. Quality: {p["quality"]}. Each library runs its own default schedule (openTSNE 750
iterations, scikit-learn 1,000), as a user gets them. Command: `python benchmarks/bench_viz.py`.

![both maps](figures/viz_tsne.png)
"""


if __name__ == "__main__":
    sys.exit(main())
