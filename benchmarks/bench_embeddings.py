"""Neighbour search: embedlab's ``KeyedEmbeddings`` against gensim ``KeyedVectors``, and FAISS recall.

One command::

    python benchmarks/bench_embeddings.py            # full: FAISS part on 1,000,000 vectors
    python benchmarks/bench_embeddings.py --quick    # FAISS part on 200,000 vectors; writes nothing
    python benchmarks/bench_embeddings.py --neighbours-only   # gensim part only; FAISS carried over

Protocol (stated again in the report):

1. Vectors: 26,744 x 32 (the ML-20M item count) standard normal float32, seed 0, keys the
   ints 1..26,744 (as MovieLens movie IDs). embedlab: ``KeyedEmbeddings(vectors, keys,
   index="exact")``; gensim: ``kv.to_gensim()`` (the same vectors under ``str`` keys). Both
   answer one query before timing (gensim caches its norms then). 50 queries are checked to
   return the same neighbours in both.
2. Single-key queries: ``kv.most_similar(key, topn=10)`` (a DataFrame) against
   ``gensim_kv.most_similar(str(key), topn=10)`` (a list of tuples) on the same 1,000
   distinct random keys, the two systems interleaved query by query (the order of the pair
   alternating between rounds) so that load from other processes falls on both alike;
   microseconds per query, ``perf_counter`` around each call; median over the 1,000 queries
   per round, 3 rounds; the table gives the median of the round medians.
3. Batch: ``kv.most_similar_batch(keys, topn=10)`` with the 1,000 keys in one call against
   1,000 gensim ``most_similar`` calls in a loop; 9 rounds, interleaved; median seconds.
   Then the same with both systems at one thread (5 rounds).
4. A target missed: the single-query path is profiled with cProfile (1,000 queries) and
   the report lists where the time goes.
5. FAISS: n x 32 clustered vectors (a Gaussian mixture: 1 centre per 1,000 points drawn
   from N(0, I), each point its centre plus N(0, 0.5^2 I), seed 1); n = 1,000,000 (200,000
   with ``--quick``). ``KeyedEmbeddings(vectors, keys, index="faiss")`` then
   ``build_index("faiss")`` timed (HNSW with the parameters as shipped, ``embedlab._ann.HNSW_*``);
   1,000 random keys queried with ``most_similar_batch`` (topn=10) on the FAISS index and on
   an exact index over the same vectors; recall@10 = mean share of the exact top 10 that
   FAISS returns. Query times: the batch call divided by 1,000, and the median of 1,000
   single ``most_similar`` calls.

Threads: the gensim comparison (parts 2 to 4) runs both systems as users get them: embedlab
at its threading policy (its compiled batch search on the CPUs the process may use, BLAS at
one thread inside), gensim at its BLAS library's default threads (``--blas-threads N`` limits
BLAS to N for both instead). The batch is then timed again with both at one thread
(``EMBEDLAB_NUM_THREADS=1`` and BLAS limited to 1 by ``threadpoolctl``), the row that says
what one core does. The FAISS part uses the default threads (FAISS's OpenMP pool, 2 here).
Results go to
``benchmarks/results/embeddings.md`` and ``embeddings.json`` only without ``--quick``;
``--neighbours-only`` runs parts 1 to 4 and writes them with the FAISS section of the last
full run (its date stated). Nothing here asserts a time; the targets (issue 4: one query no
slower than gensim, FAISS recall; issue 20: the batch 10x gensim's loop) are printed with
whether each holds.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import embedlab
from _common import cpu_name

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

N_ITEMS = 26_744  # ML-20M's item count
DIM = 32
TOPN = 10
N_QUERIES = 1_000
SINGLE_ROUNDS = 3
BATCH_ROUNDS = 9
ONE_THREAD_ROUNDS = 5
TARGET_SINGLE = 1.0  # gensim µs ÷ embedlab µs must be at least this
TARGET_BATCH = 10.0  # issue 20 (issue 4 asked for 5)
TARGET_RECALL = 0.95


def _machine() -> dict:
    import faiss
    import gensim
    import pandas

    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "embedlab": embedlab.__version__,
        "numpy": np.__version__,
        "pandas": pandas.__version__,
        "gensim": gensim.__version__,
        "faiss": faiss.__version__,
        "faiss_omp_threads": faiss.omp_get_max_threads(),
        "blas_env": {
            k: os.environ[k]
            for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
            if k in os.environ
        },
    }


def _load() -> float:
    return round(os.getloadavg()[0], 2)


# ------------------------------------------------------------- gensim part
def _neighbour_setup() -> tuple[embedlab.KeyedEmbeddings, object, list[int]]:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((N_ITEMS, DIM)).astype(np.float32)
    keys = np.arange(1, N_ITEMS + 1)
    kv = embedlab.KeyedEmbeddings(vectors, keys, index="exact")
    gkv = kv.to_gensim()
    queries = [int(k) for k in rng.choice(keys, N_QUERIES, replace=False)]
    kv.most_similar(queries[0], topn=TOPN)
    gkv.most_similar(str(queries[0]), topn=TOPN)
    return kv, gkv, queries


def _agreement(kv, gkv, queries: list[int]) -> int:
    """How many of the first 50 queries get the same neighbours from both."""
    same = 0
    for q in queries[:50]:
        ours = [str(k) for k in kv.most_similar(q, topn=TOPN)["key"]]
        theirs = [k for k, _ in gkv.most_similar(str(q), topn=TOPN)]
        same += set(ours) == set(theirs)
    return same


def _single(kv, gkv, queries: list[int]) -> dict:
    rounds_ours, rounds_gensim = [], []
    for r in range(SINGLE_ROUNDS):
        ours, theirs = [], []
        for q in queries:
            sq = str(q)
            pair = ("ours", "gensim") if (r % 2 == 0) else ("gensim", "ours")
            for who in pair:
                if who == "ours":
                    t0 = time.perf_counter()
                    kv.most_similar(q, topn=TOPN)
                    ours.append(time.perf_counter() - t0)
                else:
                    t0 = time.perf_counter()
                    gkv.most_similar(sq, topn=TOPN)
                    theirs.append(time.perf_counter() - t0)
        rounds_ours.append(statistics.median(ours) * 1e6)
        rounds_gensim.append(statistics.median(theirs) * 1e6)
        print(
            f"single round {r + 1}: embedlab {rounds_ours[-1]:.0f} µs, "
            f"gensim {rounds_gensim[-1]:.0f} µs (load {_load()})",
            flush=True,
        )
    ours_us, gensim_us = statistics.median(rounds_ours), statistics.median(rounds_gensim)
    return {
        "embedlab_us": round(ours_us, 1),
        "gensim_us": round(gensim_us, 1),
        "embedlab_rounds_us": [round(x, 1) for x in rounds_ours],
        "gensim_rounds_us": [round(x, 1) for x in rounds_gensim],
        "ratio": round(gensim_us / ours_us, 3),
    }


def _batch(kv, gkv, queries: list[int], rounds: int = BATCH_ROUNDS, label: str = "batch") -> dict:
    ours, theirs, loads = [], [], []
    str_queries = [str(q) for q in queries]
    for r in range(rounds):
        for who in ("ours", "gensim") if r % 2 == 0 else ("gensim", "ours"):
            t0 = time.perf_counter()
            if who == "ours":
                kv.most_similar_batch(queries, topn=TOPN)
                ours.append(time.perf_counter() - t0)
            else:
                for q in str_queries:
                    gkv.most_similar(q, topn=TOPN)
                theirs.append(time.perf_counter() - t0)
        loads.append(_load())
        print(
            f"{label} round {r + 1}: embedlab {ours[-1]:.3f} s, gensim {theirs[-1]:.3f} s "
            f"(ratio {theirs[-1] / ours[-1]:.1f}, load {loads[-1]})",
            flush=True,
        )
    ours_s, gensim_s = statistics.median(ours), statistics.median(theirs)
    return {
        "embedlab_s": round(ours_s, 4),
        "gensim_s": round(gensim_s, 4),
        "embedlab_rounds_s": [round(x, 4) for x in ours],
        "gensim_rounds_s": [round(x, 4) for x in theirs],
        "round_ratios": [round(g / o, 2) for o, g in zip(ours, theirs, strict=True)],
        "loads": loads,
        "ratio": round(gensim_s / ours_s, 3),
    }


def _profile(call, queries: list, label: str) -> dict:
    """cProfile ``call(q)`` over the queries: per-query µs of the biggest costs."""
    prof = cProfile.Profile()
    prof.enable()
    for q in queries:
        call(q)
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (path, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        short = path.split("site-packages/")[-1].split("src/")[-1]
        rows.append(
            {
                "function": f"{short}:{line}({func})",
                "calls": ncalls,
                "self_us_per_query": round(tottime / len(queries) * 1e6, 1),
                "cum_us_per_query": round(cumtime / len(queries) * 1e6, 1),
            }
        )
    by_cum = sorted(rows, key=lambda r: -r["cum_us_per_query"])
    by_self = sorted(rows, key=lambda r: -r["self_us_per_query"])
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(25)
    print(f"--- profile of {label} ---\n{text.getvalue()}", flush=True)
    return {
        "label": label,
        "total_us_per_query": round(total / len(queries) * 1e6, 1),
        "by_cumulative": by_cum[:25],
        "by_self": by_self[:15],
    }


# -------------------------------------------------------------- FAISS part
def _mixture(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n_centres = max(1, n // 1000)
    centres = rng.standard_normal((n_centres, DIM)).astype(np.float32)
    which = rng.integers(0, n_centres, n)
    out = rng.standard_normal((n, DIM)).astype(np.float32)
    out *= 0.5
    out += centres[which]
    return out


def _faiss(n: int) -> dict:
    from embedlab import _ann

    t0 = time.perf_counter()
    vectors = _mixture(n)
    keys = np.arange(n)
    generate = time.perf_counter() - t0
    t0 = time.perf_counter()
    kv = embedlab.KeyedEmbeddings(vectors, keys, index="faiss")
    construct = time.perf_counter() - t0
    print(f"faiss: {n:,} vectors generated in {generate:.1f} s, wrapped in {construct:.1f} s")
    t0 = time.perf_counter()
    kv.build_index("faiss")
    build = time.perf_counter() - t0
    print(f"faiss: HNSW built in {build:.1f} s (load {_load()})", flush=True)
    exact = embedlab.KeyedEmbeddings(vectors, keys, index="exact")
    del vectors
    rng = np.random.default_rng(2)
    queries = [int(k) for k in rng.choice(keys, N_QUERIES, replace=False)]

    t0 = time.perf_counter()
    got = kv.most_similar_batch(queries, topn=TOPN)
    faiss_batch = time.perf_counter() - t0
    t0 = time.perf_counter()
    truth = exact.most_similar_batch(queries, topn=TOPN)
    exact_batch = time.perf_counter() - t0
    got_sets = got.groupby("query")["key"].apply(set)
    truth_sets = truth.groupby("query")["key"].apply(set)
    recalls = [len(got_sets[q] & truth_sets[q]) / len(truth_sets[q]) for q in queries]
    recall = float(np.mean(recalls))

    singles = []
    for q in queries:
        t0 = time.perf_counter()
        kv.most_similar(q, topn=TOPN)
        singles.append(time.perf_counter() - t0)
    exact_singles = []
    for q in queries[:100]:
        t0 = time.perf_counter()
        exact.most_similar(q, topn=TOPN)
        exact_singles.append(time.perf_counter() - t0)
    res = {
        "n": n,
        "dim": DIM,
        "clusters": max(1, n // 1000),
        "hnsw": {
            "M": _ann.HNSW_M,
            "efConstruction": _ann.HNSW_EF_CONSTRUCTION,
            "efSearch": _ann.HNSW_EF_SEARCH,
        },
        "generate_s": round(generate, 2),
        "construct_s": round(construct, 2),
        "build_s": round(build, 2),
        "recall_at_10": round(recall, 4),
        "recall_min": round(float(np.min(recalls)), 2),
        "queries_below_0_9": int(np.sum(np.asarray(recalls) < 0.9)),
        "faiss_batch_us_per_query": round(faiss_batch / N_QUERIES * 1e6, 1),
        "exact_batch_us_per_query": round(exact_batch / N_QUERIES * 1e6, 1),
        "faiss_single_us": round(statistics.median(singles) * 1e6, 1),
        "exact_single_us": round(statistics.median(exact_singles) * 1e6, 1),
    }
    print(json.dumps(res), flush=True)
    return res


# ------------------------------------------------------------------ report
def _yes(ok: bool) -> str:
    return "**yes**" if ok else "**no**"


def _speed(ratio: float) -> str:
    """Peer time ÷ embedlab time, in words."""
    return f"embedlab {ratio:.2f}× faster" if ratio >= 1 else f"embedlab {1 / ratio:.2f}× slower"


def _markdown(report: dict) -> str:
    m, s, b, f = report["machine"], report["single"], report["batch"], report["faiss"]
    lines = [
        "# Neighbour search benchmark",
        "",
        f"Measured {report['date']} on {m['cpu']} ({m['cores']} cores), Python {m['python']}, "
        f"embedlab {m['embedlab']}, NumPy {m['numpy']}, pandas {m['pandas']}, gensim {m['gensim']}, "
        f"faiss-cpu {m['faiss']} ({m['faiss_omp_threads']} OpenMP threads). "
        f"Command: `{report['command']}` ({report['total_s']:.0f} s). "
        f"Load average {report['load_before']} before, {report['load_after']} after"
        + (
            ": **a shared machine, other processes were running**; the two systems were "
            "interleaved query by query so that load falls on both alike."
            if max(report["load_before"], report["load_after"]) > 1.5
            else "."
        ),
        "",
        "Protocol: see the docstring of `benchmarks/bench_embeddings.py`. In short: "
        f"{N_ITEMS:,} x {DIM} standard normal vectors (ML-20M's item count), int keys; gensim "
        "`KeyedVectors` from `kv.to_gensim()`; the same 1,000 distinct random keys, topn 10, "
        "both systems warmed up; single queries interleaved, median µs over 1,000 queries per "
        f"round, median of {SINGLE_ROUNDS} rounds; batch: one `most_similar_batch` call against "
        f"1,000 gensim calls, median of {BATCH_ROUNDS} rounds. Both return the same neighbours "
        f"({report['agreement']}/50 queries checked). embedlab returns a DataFrame (key, "
        "similarity), gensim a list of tuples. Threads: "
        + (
            "each system at its default (embedlab's policy; gensim's BLAS library default)."
            if report["blas_threads"] == "library default"
            else f"BLAS at {report['blas_threads']} for both."
        ),
        "",
        "| measurement | embedlab | gensim | gensim ÷ embedlab | target | holds? |",
        "|---|---:|---:|---:|---|---|",
        f"| `most_similar(key, topn=10)`, µs per query | {s['embedlab_us']:.0f} | "
        f"{s['gensim_us']:.0f} | **{s['ratio']:.2f}×** | ≥ 1× (no slower) | "
        f"{_yes(s['ratio'] >= TARGET_SINGLE)} |",
        f"| 1,000 queries: one `most_similar_batch` vs 1,000 calls, s | {b['embedlab_s']:.3f} | "
        f"{b['gensim_s']:.3f} | **{b['ratio']:.1f}×** | ≥ {TARGET_BATCH:.0f}× | "
        f"{_yes(b['ratio'] >= TARGET_BATCH)} |",
    ]
    d = report.get("batch_one_thread")
    if d:
        lines.append(
            f"| the same, both at one thread, s | "
            f"{d['embedlab_s']:.3f} | {d['gensim_s']:.3f} | **{d['ratio']:.1f}×** | | |"
        )
    lines += [
        "",
        f"Rounds, single (µs): embedlab {s['embedlab_rounds_us']}, gensim {s['gensim_rounds_us']}. "
        f"Batch (s): embedlab {b['embedlab_rounds_s']}, gensim {b['gensim_rounds_s']}; "
        f"ratio per round {b['round_ratios']} at load {b['loads']}."
        + (f" One thread: ratio per round {d['round_ratios']} at load {d['loads']}." if d else ""),
        "",
        f'## FAISS (`index="faiss"`) on {f["n"]:,} x {DIM} clustered vectors',
        "",
        *(
            [f"Carried over from the full run of {report['faiss_from']} (`--neighbours-only`).", ""]
            if report.get("faiss_from")
            else []
        ),
        f"A Gaussian mixture of {f['clusters']:,} centres (N(0, I)), each point its centre plus "
        f"N(0, 0.5² I), seed 1; HNSW as shipped (M={f['hnsw']['M']}, "
        f"efConstruction={f['hnsw']['efConstruction']}, efSearch={f['hnsw']['efSearch']}); "
        "1,000 random keys; exact search over the same vectors as the reference.",
        "",
        "| measurement | value | target | holds? |",
        "|---|---:|---|---|",
        f"| recall@10 against exact search | **{f['recall_at_10']:.4f}** (worst query "
        f"{f['recall_min']:.1f}; {f['queries_below_0_9']} of 1,000 below 0.9) | ≥ 0.95 | "
        f"{_yes(f['recall_at_10'] >= TARGET_RECALL)} |",
        f'| index build (`build_index("faiss")`) | {f["build_s"]:.1f} s | | |',
        f"| `KeyedEmbeddings(...)` construction (vocabulary, checks) | {f['construct_s']:.1f} s | | |",
        f"| query, `most_similar_batch` of 1,000 ÷ 1,000 | {f['faiss_batch_us_per_query']:.0f} µs "
        f"(exact: {f['exact_batch_us_per_query']:.0f} µs) | | |",
        f"| query, single `most_similar` (median of 1,000) | {f['faiss_single_us']:.0f} µs "
        f"(exact: {f['exact_single_us']:.0f} µs, median of 100) | | |",
    ]
    prof = report.get("profile")
    if prof:
        lines += [
            "",
            "## Where the time goes (a target missed)",
            "",
            f"cProfile of {prof['label']}: {prof['total_us_per_query']:.0f} µs per query "
            "under the profiler (its overhead inflates small calls). Cumulative µs per query:",
            "",
            "| function | calls | cumulative µs/query | own µs/query |",
            "|---|---:|---:|---:|",
        ]
        for row in prof["by_cumulative"][:18]:
            lines.append(
                f"| `{row['function']}` | {row['calls']} | {row['cum_us_per_query']:.0f} | "
                f"{row['self_us_per_query']:.0f} |"
            )
        breakdown = report.get("breakdown")
        if breakdown:
            lines += [
                "",
                "Without the profiler, the same steps timed on their own (median µs per query, "
                "1,000 queries):",
                "",
                "| step | µs |",
                "|---|---:|",
            ]
            lines += [f"| {k} | {v:.0f} |" for k, v in breakdown.items()]
    bprof = report.get("profile_batch")
    if bprof:
        lines += [
            "",
            "## Where the batch time goes (a target missed)",
            "",
            f"cProfile of one {bprof['label']}: {bprof['total_us_per_query'] / 1e3:.0f} ms "
            "under the profiler. Cumulative ms per call:",
            "",
            "| function | calls | cumulative ms | own ms |",
            "|---|---:|---:|---:|",
        ]
        for row in bprof["by_cumulative"][:18]:
            lines.append(
                f"| `{row['function']}` | {row['calls']} | {row['cum_us_per_query'] / 1e3:.0f} | "
                f"{row['self_us_per_query'] / 1e3:.0f} |"
            )
        bb = report.get("batch_breakdown")
        if bb:
            lines += [
                "",
                "Without the profiler, the steps timed on their own (best of 3, ms for the "
                "1,000 queries):",
                "",
                "| step | ms |",
                "|---|---:|",
            ]
            lines += [f"| {k} | {v:.0f} |" for k, v in bb.items()]
    if report.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def _breakdown(kv, gkv, queries: list[int]) -> dict[str, float]:
    """The steps of embedlab's single-query path, timed without a profiler.

    Uses private helpers on purpose, to say where the time goes; gensim's own path and
    a one-call DataFrame are timed alongside for comparison.
    """
    import pandas as pd

    unit = kv._unit  # the cached unit rows most_similar searches
    index = kv._searcher()
    timings: dict[str, list[float]] = {}

    def clock(name: str, fn) -> None:
        t0 = time.perf_counter()
        fn()
        timings.setdefault(name, []).append(time.perf_counter() - t0)

    vec = gkv.get_normed_vectors()
    for q in queries:
        row = kv._row(q)
        qv = unit[row]
        clock("key → row (`_row`)", lambda q=q: kv._row(q))
        clock("matrix-vector product alone (`unit @ q`)", lambda qv=qv: unit @ qv)
        clock(
            "exact search (`ExactIndex.search`: product, mask, sampled threshold, sort)",
            lambda qv=qv, row=row: index.search(qv[None], TOPN, exclude=[[row]]),
        )
        hits, scores = index.search(qv[None], TOPN, exclude=[[row]])[0]
        clock(
            "result DataFrame (`_frame`: built column by column)",
            lambda h=hits, s=scores: kv._frame(h, s),
        )
        clock(
            "for comparison: the same DataFrame in one constructor call",
            lambda h=hits, s=scores: pd.DataFrame({"key": kv.keys.ids(h), "similarity": s}),
        )
        clock("whole `most_similar`", lambda q=q: kv.most_similar(q, topn=TOPN))
        clock("gensim: product alone (`normed @ q`)", lambda qv=qv: vec @ qv)
        clock("gensim: whole `most_similar`", lambda q=q: gkv.most_similar(str(q), topn=TOPN))
    return {k: round(statistics.median(v) * 1e6, 1) for k, v in timings.items()}


def _batch_breakdown(kv, queries: list[int]) -> dict[str, float]:
    """The steps of ``most_similar_batch`` for the 1,000 queries, in ms (best of 3)."""
    import pandas as pd

    from embedlab import _ann

    unit = kv._unit
    rows = [kv._row(q) for q in queries]
    qmat = unit[rows]
    found = _ann.exact_search(unit, qmat, TOPN, exclude=[[r] for r in rows])

    def per_query_frames() -> None:
        frames = []
        for row, (hits, scores) in zip(rows, found, strict=True):
            frame = kv._frame(hits, scores)
            frame.insert(0, "query", np.repeat(kv.keys.ids([row]), len(frame)))
            frames.append(frame)
        pd.concat(frames, ignore_index=True)

    def vectorized() -> None:
        scores = qmat @ unit.T
        scores[np.arange(len(rows)), rows] = -np.inf
        top = np.argpartition(-scores, TOPN, axis=1)[:, :TOPN]
        part = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-part, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        pd.DataFrame(
            {
                "query": np.repeat(kv.keys.ids(rows), TOPN),
                "key": kv.keys.ids(top.ravel()),
                "similarity": np.take_along_axis(part, order, axis=1).ravel(),
            }
        )

    index = kv._searcher()
    unit_t = index._transposed() if isinstance(index, _ann.ExactIndex) else unit.T
    block = max(1, min(len(rows), _ann._BLOCK_FLOATS // len(unit)))
    buffer = np.empty((block, len(unit)), dtype=np.float32)

    def blocked_product() -> None:
        for start in range(0, len(rows), block):
            chunk = qmat[start : start + block]
            np.matmul(chunk, unit_t, out=buffer[: len(chunk)])

    excluded = np.asarray(rows)[:, None]
    steps = {
        "whole `most_similar_batch` (1,000 keys)": lambda: kv.most_similar_batch(
            queries, topn=TOPN
        ),
        "keys → rows (`_rows`: one vocabulary lookup)": lambda: kv._rows(queries),
        "for comparison: 1,000 `_row` calls": lambda: [kv._row(q) for q in queries],
        f"matrix product alone, in blocks of {block} queries as the search does it "
        "(against the cached contiguous `unit.T`)": blocked_product,
        "for comparison: the product in one piece (`Q @ unit.T`, 1,000 x 26,744)": lambda: (
            qmat @ unit.T
        ),
        "exact search (`ExactIndex.search_flat`: blocked product, mask, "
        "sampled threshold per block, one sort of the candidates)": lambda: index.search_flat(
            qmat, TOPN, exclude=excluded
        ),
        "result: 1,000 per-query DataFrames + `insert` + `pd.concat`": per_query_frames,
        "for comparison: vectorized top-k (argpartition on axis 1) and one DataFrame": vectorized,
    }
    out = {}
    for name, fn in steps.items():
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        out[name] = round(best * 1e3, 1)
    return out


def _ceiling_note(report: dict) -> str:
    """What the matrix product alone allows: gensim's loop ÷ the product's time."""
    product = next(v for k, v in report["batch_breakdown"].items() if k.startswith("matrix"))
    whole = report["batch_breakdown"]["whole `most_similar_batch` (1,000 keys)"]
    gensim_ms = report["batch"]["gensim_s"] * 1e3
    flops = 2 * N_QUERIES * N_ITEMS * DIM
    return (
        f"The matrix product alone (1,000 x {N_ITEMS:,} x {DIM}, {flops / 1e9:.2f} GFLOP in "
        f"float32) took {product:.1f} ms here ({flops / product / 1e6:.0f} GFLOP/s at the "
        f"run's BLAS threads), {product / whole:.0%} of the whole call ({whole:.1f} ms, best of 3). "
        f"An exact search has to compute every one of these scores, so with gensim's loop "
        f"at {gensim_ms:.0f} ms the ratio cannot pass {gensim_ms / product:.1f}x with that "
        "product, even with a free top-k and result frame."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="FAISS part on 200,000 vectors; write nothing"
    )
    parser.add_argument("--faiss-n", type=int, default=None, help="vectors in the FAISS part")
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=0,
        help="BLAS threads in the gensim comparison (default 0: each library's default)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile the single-query path even if it is fast"
    )
    parser.add_argument(
        "--neighbours-only",
        action="store_true",
        help="the gensim comparison only; the FAISS section is carried over from the last full run",
    )
    opts = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = _load()
    t_start = time.perf_counter()
    report: dict = {
        "date": started,
        "command": "python benchmarks/bench_embeddings.py" + (" --quick" if opts.quick else ""),
        "machine": _machine(),
        "load_before": load_before,
    }
    from threadpoolctl import threadpool_limits

    limit = opts.blas_threads if opts.blas_threads > 0 else None
    report["blas_threads"] = opts.blas_threads or "library default"
    with threadpool_limits(limits=limit, user_api="blas"):
        kv, gkv, queries = _neighbour_setup()
        report["agreement"] = _agreement(kv, gkv, queries)
        print(f"same neighbours as gensim on {report['agreement']}/50 queries", flush=True)
        report["single"] = _single(kv, gkv, queries)
        report["batch"] = _batch(kv, gkv, queries)
        single_missed = report["single"]["ratio"] < TARGET_SINGLE
        batch_missed = report["batch"]["ratio"] < TARGET_BATCH
        if single_missed or opts.profile:
            report["profile"] = _profile(
                lambda q: kv.most_similar(q, topn=TOPN), queries, "`kv.most_similar(key, topn=10)`"
            )
            report["breakdown"] = _breakdown(kv, gkv, queries)
            print(json.dumps(report["breakdown"], indent=1, ensure_ascii=False), flush=True)
        if batch_missed or opts.profile:
            report["profile_batch"] = _profile(
                lambda qs: kv.most_similar_batch(qs, topn=TOPN),
                [queries],
                "`kv.most_similar_batch(1,000 keys, topn=10)` (per call)",
            )
            report["batch_breakdown"] = _batch_breakdown(kv, queries)
            print(json.dumps(report["batch_breakdown"], indent=1, ensure_ascii=False), flush=True)
            report["notes"] = [_ceiling_note(report)]
    if opts.blas_threads == 0:  # again with both at one thread: what one core does
        os.environ["EMBEDLAB_NUM_THREADS"] = "1"
        try:
            with threadpool_limits(limits=1, user_api="blas"):
                report["batch_one_thread"] = _batch(
                    kv, gkv, queries, ONE_THREAD_ROUNDS, "batch (both at one thread)"
                )
        finally:
            del os.environ["EMBEDLAB_NUM_THREADS"]
    kv = gkv = None  # free the 26,744 vectors before the FAISS part
    if opts.neighbours_only:
        previous = json.loads((RESULTS / "embeddings.json").read_text())
        report["faiss"] = previous["faiss"]
        report["faiss_from"] = previous.get(
            "faiss_from", f"{previous['date']} on {previous['machine']['cpu']}"
        )
        report["command"] += " --neighbours-only"
    else:
        n = opts.faiss_n or (200_000 if opts.quick else 1_000_000)
        report["faiss"] = _faiss(n)
    report["load_after"] = _load()
    report["total_s"] = round(time.perf_counter() - t_start, 1)

    s, b, f = report["single"], report["batch"], report["faiss"]
    print()
    print(
        f"single most_similar: embedlab {s['embedlab_us']:.0f} µs, gensim {s['gensim_us']:.0f} µs "
        f"-> gensim/embedlab {s['ratio']:.2f}x ({_speed(s['ratio'])}; target >= 1: "
        f"{'holds' if s['ratio'] >= TARGET_SINGLE else 'MISSED'})"
    )
    print(
        f"batch of 1,000: embedlab {b['embedlab_s']:.3f} s, gensim loop {b['gensim_s']:.3f} s "
        f"-> {b['ratio']:.1f}x (target >= {TARGET_BATCH:.0f}: "
        f"{'holds' if b['ratio'] >= TARGET_BATCH else 'MISSED'})"
    )
    print(
        f"FAISS on {f['n']:,}: recall@10 {f['recall_at_10']:.4f} (target >= 0.95: "
        f"{'holds' if f['recall_at_10'] >= TARGET_RECALL else 'MISSED'}), build {f['build_s']:.1f} s, "
        f"{f['faiss_batch_us_per_query']:.0f} µs/query batched, {f['faiss_single_us']:.0f} µs single"
    )
    if opts.quick and not opts.faiss_n:
        print("--quick: nothing written")
        return 0
    if opts.faiss_n and opts.faiss_n != 1_000_000:
        print("--faiss-n other than 1,000,000: nothing written")
        return 0
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "embeddings.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    )
    (RESULTS / "embeddings.md").write_text(_markdown(report))
    print(f"wrote {RESULTS / 'embeddings.md'} and embeddings.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
