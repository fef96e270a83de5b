"""Scale: matrix factorization on the ML-20M and ML-32M shapes, and Spark ALS on ML-100K.

One command:

    python benchmarks/bench_scale.py            # full run; writes results/scale.md, .json and a figure
    python benchmarks/bench_scale.py --quick    # 1/20 of the ratings, fewer epochs; writes nothing
    python benchmarks/bench_scale.py --only ml20m,spark   # some sections (ml20m, ml32m, recommend, spark)
    python benchmarks/bench_scale.py --report  # rewrite the Markdown and figure from scale.json

Protocol (stated in the report):

1. Data: ``synthetic_ratings(138_493, 26_744, 20_000_263, random_state=0)`` (ML-20M shape) and
   ``synthetic_ratings(200_948, 84_432, 32_000_204, random_state=0)`` (ML-32M shape), split once
   with ``split("random", test_size=0.05, random_state=0)``; the 5 % is the validation set scored
   after every epoch. The arrays are written once to a temporary ``.npz`` so that every
   engine starts from the same bytes in a fresh process.
2. Each engine runs in its own child process (so its peak memory is its own):
   ``MatrixFactorization(embedding_dim=32, engine=E, random_state=0)`` with the engine's
   defaults otherwise, ``fit(train, validation=val)``. A callback records the wall-clock
   seconds since ``fit`` was called and the validation RMSE after each epoch (ALS: each
   alternation) — the time-to-RMSE curve. Each engine stops at its default epoch count or
   when its time budget runs out (then the table says so).
   Peak memory is the child's peak resident set size (``ru_maxrss``), next to its size
   after loading the data and before ``fit``.
3. Time to target: the first wall-clock second at which the validation RMSE is at most
   a target: ``1.05 ×`` and ``1.02 ×`` the planted model's own RMSE on the validation set (the truth's
   ``μ + b_u + b_i + p_u·q_i`` clipped to the star range: the best any model can expect).
4. Recommendations: top 10 unseen items for every user of the ML-20M-shaped model
   (``recommend_batch``, chunked), timed, with the child's peak memory.
5. Spark: on ML-100K u1–u5 (test RMSE per fold, mean) the single-machine engines and
   ``engine="spark"`` (``pyspark.ml`` ALS on ``local[*]``) with the same model settings,
   side by side in this run; fit seconds include Spark's work on the session that is
   already started (the session start is reported separately).

Nothing asserts a time. Real data come from ``$EMBEDLAB_TEST_DATA`` (default
``../shared/data``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SHAPES = {
    "ml20m": (138_493, 26_744, 20_000_263),
    "ml32m": (200_948, 84_432, 32_000_204),
}
#: Runs on each shape: (label, engine, parameters beyond the defaults, time budget in s).
RUNS = {
    "ml20m": [
        ("sgd", "sgd", {}, 600),
        ("als", "als", {}, 600),
        ("torch", "torch", {}, 300),
        ("sgd, embedding_dim=512 (the product default)", "sgd", {"embedding_dim": 512}, 600),
    ],
    "ml32m": [("sgd", "sgd", {}, 600), ("als", "als", {}, 600)],
}
DIM = 32


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ----------------------------------------------------------------------------- data
def _make_data(shape: str, quick: bool, folder: Path) -> dict:
    """Generate, split and store one shape; returns facts about it (and the file)."""
    from embedlab.data import synthetic_ratings

    n_users, n_items, n_ratings = SHAPES[shape]
    if quick:
        n_ratings //= 20
    t0 = time.perf_counter()
    ds, truth = synthetic_ratings(n_users, n_items, n_ratings, random_state=0)
    gen_s = time.perf_counter() - t0
    split = ds.split("random", test_size=0.05, random_state=0)
    tr, va = split.train, split.test
    # The planted model's RMSE on the validation set: the floor of any model.
    users = ds.users.ids()[va.user_index] - 1  # ids are 1..n
    items = ds.items.ids()[va.item_index] - 1
    planted = (
        truth.global_mean
        + truth.user_bias[users]
        + truth.item_bias[items]
        + truth.interaction_scale
        * np.einsum("ij,ij->i", truth.user_vectors[users], truth.item_vectors[items])
    )
    planted = np.clip(planted, *truth.rating_scale)
    floor = float(np.sqrt(np.mean((planted - va.rating) ** 2)))
    path = folder / f"{shape}.npz"
    np.savez(
        path,
        tr_u=tr.user_index,
        tr_i=tr.item_index,
        tr_r=tr.rating,
        va_u=va.user_index,
        va_i=va.item_index,
        va_r=va.rating,
        n=np.array([ds.n_users, ds.n_items]),
    )
    return {
        "shape": shape,
        "n_users": int(ds.n_users),
        "n_items": int(ds.n_items),
        "n_ratings": len(ds),
        "n_train": len(tr),
        "n_validation": len(va),
        "generate_s": round(gen_s, 1),
        "planted_rmse": round(floor, 4),
        "target_rmse": round(1.02 * floor, 4),
        "file": str(path),
    }


def _load(file: str):
    from embedlab.data import Interactions, Vocabulary

    z = np.load(file)
    n_users, n_items = (int(v) for v in z["n"])
    users = Vocabulary(np.arange(1, n_users + 1), name="user")
    items = Vocabulary(np.arange(1, n_items + 1), name="item")

    def make(prefix: str, name: str) -> Interactions:
        return Interactions(
            z[f"{prefix}_u"],
            z[f"{prefix}_i"],
            z[f"{prefix}_r"],
            users,
            items,
            rating_scale=(1.0, 5.0),
            name=name,
            copy=False,
        )

    return make("tr", "train"), make("va", "validation")


# --------------------------------------------------------------------------- children
def _child_fit(spec: dict) -> dict:
    """One engine on one stored shape (runs in a child process)."""
    import embedlab as el

    train, val = _load(spec["file"])
    rss_data = _rss_mib()
    curve: list[tuple[float, float]] = []
    budget = spec["budget_s"]
    start = [0.0]

    def record(epoch: int, logs: dict) -> bool:
        seconds = time.perf_counter() - start[0]
        curve.append((round(seconds, 3), round(float(logs["val_rmse"]), 5)))
        return seconds > budget

    params = {"embedding_dim": DIM, "engine": spec["engine"], "random_state": 0}
    params.update(spec.get("params", {}))
    if spec.get("epochs"):
        params["epochs"] = spec["epochs"]
    model = el.MatrixFactorization(**params)
    start[0] = time.perf_counter()
    model.fit(train, validation=val, callbacks=[record], progress=False)
    fit_s = time.perf_counter() - start[0]
    out = {
        "engine": spec["engine"],
        "label": spec.get("label", spec["engine"]),
        "params": params,
        "epochs_run": len(curve),
        "fit_s": round(fit_s, 2),
        "curve": curve,
        "final_rmse": curve[-1][1] if curve else None,
        "best_rmse": min(r for _, r in curve) if curve else None,
        "stopped_by_budget": bool(curve) and curve[-1][0] > budget,
        "rss_data_mib": round(rss_data, 0),
        "peak_rss_mib": round(_peak_mib(), 0),
    }
    target = spec["target_rmse"]
    hit = [s for s, r in curve if r <= target]
    out["time_to_target_s"] = hit[0] if hit else None
    if spec.get("recommend"):
        out["recommend"] = _recommend_all(model, train)
    return out


class _RssSampler:
    """The highest resident set size seen while the block runs (sampled every 10 ms)."""

    def __enter__(self) -> _RssSampler:
        import threading

        self.peak = _rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, _rss_mib())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mib())


def _recommend_all(model, train) -> dict:
    """Top 10 unseen items for every user, chunked; seconds and memory."""
    users = train.users
    rss0 = _rss_mib()
    with _RssSampler() as sampler:
        t0 = time.perf_counter()
        top = model.recommend_batch(None, 10)
        seconds = time.perf_counter() - t0
    return {
        "users": len(users),
        "rows": len(top),
        "seconds": round(seconds, 2),
        "users_per_s": round(len(users) / seconds),
        "rss_before_mib": round(rss0, 0),
        "peak_rss_during_mib": round(sampler.peak, 0),
        "sample": top.head(3).astype(str).to_dict("records"),
    }


def _child_spark(spec: dict) -> dict:
    """ML-100K u1..u5: every single-machine engine and Spark, same settings."""
    import embedlab as el
    from _common import data_dir

    ml100k = data_dir() / "ml-100k"
    folds = el.load_movielens(ml100k).folds("ml-100k-u", path=ml100k)[: spec["folds"]]
    out: dict = {"folds": spec["folds"], "rows": []}
    t0 = time.perf_counter()
    from embedlab.training._spark import spark_session

    session = spark_session()
    out["spark_start_s"] = round(time.perf_counter() - t0, 1)
    out["spark_version"] = session.version
    for label, params in spec["configs"]:
        rmses, secs = [], []
        for train, test in folds:
            model = el.MatrixFactorization(**params)
            t1 = time.perf_counter()
            model.fit(train, progress=False)
            secs.append(time.perf_counter() - t1)
            rmses.append(model.evaluate(test)["rmse"])
        out["rows"].append(
            {
                "label": label,
                "params": params,
                "rmse": [round(r, 4) for r in rmses],
                "mean_rmse": round(float(np.mean(rmses)), 4),
                "fit_s": [round(s, 2) for s in secs],
                "mean_fit_s": round(float(np.mean(secs)), 2),
            }
        )
        print(f"  {label}: RMSE {np.mean(rmses):.4f}, fit {np.mean(secs):.2f} s", file=sys.stderr)
    return out


def _run_child(kind: str, spec: dict) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- report
def _versions() -> dict:
    import numba
    import torch

    import embedlab

    try:
        import pyspark

        spark = pyspark.__version__
    except ImportError:
        spark = "not installed"
    return {
        "python": platform.python_version(),
        "embedlab": embedlab.__version__,
        "torch": torch.__version__,
        "numba": numba.__version__,
        "numpy": np.__version__,
        "pyspark": spark,
    }


def _fmt(value, spec: str = ".2f", none: str = "–") -> str:
    return none if value is None else format(value, spec)


def _time_to(curve: list, target: float) -> float | None:
    """The first second at which the curve's RMSE is at most ``target`` (None: never)."""
    return next((s for s, r in curve if r <= target), None)


def _curve_text(curve: list, every: int) -> str:
    picks = [c for k, c in enumerate(curve, 1) if k == 1 or k % every == 0 or k == len(curve)]
    return ", ".join(f"{r:.4f} @ {s:.0f} s" for s, r in picks)


def _figure(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shapes = [s for s in ("ml20m", "ml32m") if s in results["shapes"]]
    fig, axes = plt.subplots(1, len(shapes), figsize=(6 * len(shapes), 4), squeeze=False)
    for ax, shape in zip(axes[0], shapes, strict=True):
        block = results["shapes"][shape]
        for run in block["runs"]:
            if run.get("curve"):
                s, r = zip(*run["curve"], strict=True)
                ax.plot(s, r, marker=".", label=run["label"])
        floor = block["data"]["planted_rmse"]
        ax.axhline(1.05 * floor, color="grey", ls=":", lw=1, label="1.05 × planted")
        ax.axhline(1.02 * floor, color="grey", ls="--", lw=1, label="1.02 × planted")
        ax.set_xscale("log")
        ax.set_xlabel("wall-clock seconds since fit() (log)")
        ax.set_ylabel("validation RMSE")
        ax.set_title(f"{shape.upper()} shape, dim {DIM}")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _markdown(results: dict) -> str:
    v = results["versions"]
    lines = [
        "# Scale: ML-20M / ML-32M shapes on one machine, and Spark ALS",
        "",
        f"Measured {results['date']} on {results['cpu']} ({results['cores']} cores, "
        f"{results['memory_gib']} GiB RAM), Python {v['python']}, embedlab {v['embedlab']}, "
        f"torch {v['torch']}, numba {v['numba']}, NumPy {v['numpy']}, pyspark {v['pyspark']}. "
        f"Command: `python benchmarks/bench_scale.py`. Load average when the run started: "
        f"{results['load']}.",
        "",
        *(
            [
                "Some rows were measured again later with `--only` (after a change they "
                "measure): "
                + "; ".join(f"{r['date']}, load {r['load']}" for r in results["partial_runs"])
                + ".",
                "",
            ]
            if results.get("partial_runs")
            else []
        ),
        "Protocol: see the script's docstring. In short: each engine trains "
        f"`MatrixFactorization(embedding_dim={DIM}, engine=E, random_state=0)` with its defaults "
        "otherwise, in its own process, on the same stored split (95 % train, 5 % validation); "
        "the validation RMSE after every epoch against wall-clock seconds since `fit()` was called "
        "(setup included) is the time-to-RMSE curve; the targets are 1.05 × and 1.02 × the planted model's own "
        "validation RMSE. Peak memory is the process's peak resident set size.",
        "",
    ]
    for shape in ("ml20m", "ml32m"):
        if shape not in results["shapes"]:
            continue
        block = results["shapes"][shape]
        d = block["data"]
        loose = round(1.05 * d["planted_rmse"], 4)
        lines += [
            f"## {shape.upper()} shape: {d['n_users']:,} users × {d['n_items']:,} items, "
            f"{d['n_ratings']:,} ratings",
            "",
            f"Generated in {d['generate_s']} s; train {d['n_train']:,}, validation "
            f"{d['n_validation']:,}. Planted model's validation RMSE {d['planted_rmse']}; "
            f"targets {loose} and {d['target_rmse']}.",
            "",
            f"| engine | epochs run | s / epoch (median) | s to {loose} (1.05×) | "
            f"s to {d['target_rmse']} (1.02×) | best val RMSE | fit s | "
            "RSS with data loaded | peak RSS |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for run in block["runs"]:
            if "error" in run:
                lines.append(f"| {run.get('label', '?')} | failed: {run['error']} | | | | | | | |")
                continue
            steps = np.diff([0.0] + [s for s, _ in run["curve"]])
            per_epoch = float(np.median(steps[1:])) if len(steps) > 1 else float(steps[0])
            budget = " (time budget)" if run["stopped_by_budget"] else ""
            lines.append(
                f"| {run['label']} | {run['epochs_run']}{budget} | {per_epoch:.2f} | "
                f"{_fmt(_time_to(run['curve'], loose), '.1f', 'not reached')} | "
                f"{_fmt(run['time_to_target_s'], '.1f', 'not reached')} | {run['best_rmse']:.4f} | "
                f"{run['fit_s']:.1f} | {run['rss_data_mib']:,.0f} MiB | "
                f"{run['peak_rss_mib']:,.0f} MiB |"
            )
        lines += ["", "Curves (validation RMSE @ seconds since fit()):", ""]
        for run in block["runs"]:
            if run.get("curve"):
                every = max(1, len(run["curve"]) // 8)
                lines.append(f"- {run['label']}: {_curve_text(run['curve'], every)}")
        lines.append("")
        rec = next((r["recommend"] for r in block["runs"] if r.get("recommend")), None)
        if rec:
            lines += [
                "Top 10 unseen items for every user (`recommend_batch`, chunked) of the "
                f"{block['runs'][0]['label']} model: {rec['users']:,} users in "
                f"{rec['seconds']} s ({rec['users_per_s']:,} users/s); resident memory "
                f"{rec['rss_before_mib']:,.0f} MiB before the call and at most "
                f"{rec['peak_rss_during_mib']:,.0f} MiB during it (sampled every 10 ms); the "
                f"result has {rec['rows']:,} rows.",
                "",
            ]
    if results.get("figure"):
        lines += [f"![time to RMSE]({results['figure']})", ""]
    spark = results.get("spark")
    if spark:
        lines += ["## Spark ALS against the single-machine engines (ML-100K)", ""]
        if "error" in spark:
            lines += [f"Failed: {spark['error']}", ""]
        else:
            lines += [
                f"ML-100K predefined folds u1–u{spark['folds']}, test RMSE (mean) and fit seconds "
                f"(mean per fold), same model settings for every engine, one run. Spark "
                f"{spark['spark_version']} on `local[*]`; starting the session took "
                f"{spark['spark_start_s']} s (not in the fit times).",
                "",
                "| engine | settings | test RMSE (mean) | per fold | fit s (mean) |",
                "|---|---|---|---|---|",
            ]
            for row in spark["rows"]:
                settings = ", ".join(
                    f"{k}={v}" for k, v in row["params"].items() if k not in ("engine",)
                )
                lines.append(
                    f"| {row['params']['engine']} | {settings} | **{row['mean_rmse']:.4f}** | "
                    f"{' / '.join(f'{r:.4f}' for r in row['rmse'])} | {row['mean_fit_s']:.2f} |"
                )
            lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ main
SPARK_CONFIGS = [
    ("sgd (all defaults: dim 512)", {"engine": "sgd", "random_state": 0}),
    ("sgd", {"embedding_dim": 64, "engine": "sgd", "random_state": 0}),
    ("als", {"embedding_dim": 64, "engine": "als", "random_state": 0}),
    ("torch", {"embedding_dim": 64, "engine": "torch", "random_state": 0}),
    ("spark", {"embedding_dim": 64, "engine": "spark", "random_state": 0}),
]


FULL = {"ml20m", "ml32m", "recommend", "spark"}


def _merge(old: dict, new: dict) -> dict:
    """A partial run (``--only``) replaces only what it measured in the last full results."""
    merged = dict(old)
    for key in ("date", "cpu", "cores", "memory_gib", "versions"):
        merged[key] = new[key]
    merged["partial_runs"] = [
        *old.get("partial_runs", []),
        {"date": new["date"], "load": new["load"]},
    ]
    shapes = merged.setdefault("shapes", {})
    for shape, block in new["shapes"].items():
        if shape not in shapes:
            shapes[shape] = block
            continue
        runs = {run.get("label"): run for run in shapes[shape]["runs"]}
        for run in block["runs"]:
            runs[run.get("label")] = run
        shapes[shape] = {"data": block["data"], "runs": list(runs.values())}
    if "spark" in new:
        merged["spark"] = new["spark"]
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1/20 of the ratings; write nothing")
    parser.add_argument("--only", default="ml20m,ml32m,recommend,spark")
    parser.add_argument(
        "--report", action="store_true", help="rewrite scale.md and the figure from scale.json"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.report:
        results = json.loads((RESULTS / "scale.json").read_text())
        _figure(results, RESULTS / "figures" / "scale_time_to_rmse.png")
        (RESULTS / "scale.md").write_text(_markdown(results) + "\n")
        print(_markdown(results))
        return
    if args.child:
        kind, spec = args.child[0], json.loads(args.child[1])
        result = _child_fit(spec) if kind == "fit" else _child_spark(spec)
        print(json.dumps(result))
        return

    import psutil

    from _common import cpu_name

    only = set(args.only.split(","))
    results: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load": round(os.getloadavg()[0], 2),
        "versions": _versions(),
        "quick": args.quick,
        "shapes": {},
    }
    with tempfile.TemporaryDirectory(prefix="embedlab-scale-") as tmp:
        for shape in ("ml20m", "ml32m"):
            if shape not in only and not (shape == "ml20m" and "recommend" in only):
                continue
            print(f"{shape}: generating", file=sys.stderr)
            data = _make_data(shape, args.quick, Path(tmp))
            print(f"  {data}", file=sys.stderr)
            runs = []
            plan = RUNS[shape] if shape in only else RUNS[shape][:1]
            for k, (label, engine, params, budget) in enumerate(plan):
                spec = {
                    "file": data["file"],
                    "engine": engine,
                    "label": label,
                    "params": params,
                    "budget_s": budget / (10 if args.quick else 1),
                    "target_rmse": data["target_rmse"],
                    "recommend": shape == "ml20m" and k == 0 and "recommend" in only,
                }
                print(f"  {label}: training", file=sys.stderr)
                run = _run_child("fit", spec)
                run.setdefault("label", label)
                print(
                    f"  {label}: {len(run.get('curve', []))} epochs, best "
                    f"{run.get('best_rmse')}, to target {run.get('time_to_target_s')} s, "
                    f"peak {run.get('peak_rss_mib')} MiB",
                    file=sys.stderr,
                )
                runs.append(run)
            results["shapes"][shape] = {"data": data, "runs": runs}
    if "spark" in only:
        print("spark: ML-100K u1..u5", file=sys.stderr)
        results["spark"] = _run_child(
            "spark", {"folds": 2 if args.quick else 5, "configs": SPARK_CONFIGS}
        )
    if args.quick:
        print(_markdown(results))
        return
    RESULTS.mkdir(exist_ok=True)
    if only != FULL and (RESULTS / "scale.json").exists():
        results = _merge(json.loads((RESULTS / "scale.json").read_text()), results)
    if results["shapes"]:
        (RESULTS / "figures").mkdir(exist_ok=True)
        _figure(results, RESULTS / "figures" / "scale_time_to_rmse.png")
        results["figure"] = "figures/scale_time_to_rmse.png"
    (RESULTS / "scale.json").write_text(json.dumps(results, indent=1) + "\n")
    (RESULTS / "scale.md").write_text(_markdown(results) + "\n")
    print(_markdown(results))


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
