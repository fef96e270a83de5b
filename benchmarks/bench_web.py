"""Load on the web explorer: the neighbours endpoint under 50 concurrent clients on loopback.

One command::

    python benchmarks/bench_web.py                  # 30 s, writes benchmarks/results/web.*
    python benchmarks/bench_web.py --duration 5 --no-write

Protocol (stated again in the report):

1. Model: the default ``MatrixFactorization(random_state=0)`` fitted on ML-100K (all
   100,000 ratings; ``--bundle DIR`` serves a saved bundle instead), saved as a bundle.
2. Server: ``uvicorn`` in its own process (``create_app(bundle, cache_size=...)``, one
   worker, h11, log level warning) on a free 127.0.0.1 port, as ``embedlab serve`` runs it.
   ``--cache-size 0`` turns the app's LRU of neighbour answers off, so that every request
   runs ``most_similar``.
3. Client: one Python process, ``httpx.AsyncClient`` (keep-alive, a pool of ``--clients``
   connections) with ``--clients`` coroutines (50) that each send
   ``GET /api/items/{id}/neighbours?k=10`` for a random item ID (uniform over all items,
   seed 0) back to back (closed loop) until ``--duration`` seconds (30) have passed, after
   a 2 s warm-up that is not counted. Latency: ``perf_counter`` around each request, as
   the client sees it (queueing included). An error is any non-200 answer or exception.
4. Reported: requests/s (completed requests ÷ measured seconds), p50/p95/p99/max latency,
   errors, the client's and the server's CPU seconds, load average before and after.

The client shares the 2 cores with the server: with a closed loop of 50 clients, latency is
about 50 ÷ throughput (Little's law), so p99 ≤ 20 ms needs more than 2,500 requests/s.
Nothing here asserts a time; issue 8's target is printed with whether it holds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, cpu_name, data_dir

RESULTS = REPO / "benchmarks" / "results"
TARGET_P99_MS = 20.0

SERVER = """
import json, os, sys, uvicorn
from embedlab.web import create_app, limit_threads
from embedlab.web._app import SERVE_CONFIG_ENV
bundle, port, cache, threads, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
if workers == 1:
    limit_threads(threads)
    app = create_app(bundle, map_method="pca", cache_size=cache)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
else:  # as embedlab serve --workers N runs them
    os.environ[SERVE_CONFIG_ENV] = json.dumps(
        {"source": bundle, "map_method": "pca", "cache_size": cache, "n_threads": threads}
    )
    uvicorn.run("embedlab.web._app:app_from_env", factory=True, workers=workers,
                host="127.0.0.1", port=port, log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_bundle(out: Path) -> tuple[Path, str]:
    import embedlab as el

    ml100k = data_dir() / "ml-100k"
    if not ml100k.exists():
        raise SystemExit(f"ML-100K not found at {ml100k}; set EMBEDLAB_TEST_DATA or pass --bundle")
    start = time.perf_counter()
    model = el.MatrixFactorization(random_state=0).fit(el.load_movielens(ml100k), progress=False)
    path = model.save(out / "mf")
    return (
        path,
        f"default MatrixFactorization on ML-100K (fitted in {time.perf_counter() - start:.1f} s)",
    )


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/api/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not answer /api/health within 60 s")


class _RawClient:
    """A minimal HTTP/1.1 keep-alive GET over asyncio streams (a much cheaper client)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(lines[0].split()[1])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def load(
    url: str, ids: list[object], clients: int, warmup: float, duration: float, kind: str
) -> dict:
    import httpx

    rng = random.Random(0)
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    port = int(url.rsplit(":", 1)[1])
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10.0) as client:
        start = time.perf_counter()
        measure_from = start + warmup
        stop = measure_from + duration

        async def worker() -> None:
            raw = _RawClient(port) if kind == "raw" else None
            try:
                while True:
                    now = time.perf_counter()
                    if now >= stop:
                        return
                    path = f"/api/items/{ids[rng.randrange(len(ids))]}/neighbours?k=10"
                    t0 = time.perf_counter()
                    try:
                        if raw is not None:
                            status = await raw.get(path)
                        else:
                            status = (await client.get(path)).status_code
                        ok = status == 200
                        if not ok:
                            errors.append(f"HTTP {status}")
                    except (httpx.HTTPError, OSError, asyncio.IncompleteReadError) as exc:
                        ok = False
                        errors.append(type(exc).__name__)
                    t1 = time.perf_counter()
                    if t0 >= measure_from and t1 <= stop and ok:
                        latencies.append(t1 - t0)
            finally:
                if raw is not None:
                    await raw.close()

        await asyncio.gather(*(worker() for _ in range(clients)))
    lat = np.array(latencies) * 1000.0
    return {
        "requests": int(lat.size),
        "requests_per_s": float(lat.size / duration),
        "p50_ms": float(np.percentile(lat, 50)),
        "p95_ms": float(np.percentile(lat, 95)),
        "p99_ms": float(np.percentile(lat, 99)),
        "max_ms": float(lat.max()),
        "mean_ms": float(lat.mean()),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
    }


def versions() -> dict[str, str]:
    import fastapi
    import httpx
    import pydantic
    import starlette
    import uvicorn

    import embedlab

    return {
        "python": platform.python_version(),
        "embedlab": embedlab.__version__,
        "fastapi": fastapi.__version__,
        "starlette": starlette.__version__,
        "pydantic": pydantic.__version__,
        "uvicorn": uvicorn.__version__,
        "httpx": httpx.__version__,
    }


def cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its live children (the workers of ``--workers N``)."""
    import psutil

    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def write_report(doc: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path_json = RESULTS / "web.json"
    old = json.loads(path_json.read_text()) if path_json.exists() else {}
    runs = {r["scenario"]: r for r in old.get("runs", [])}
    runs[doc["scenario"]] = doc
    ordered = sorted(runs.values(), key=lambda r: r["scenario"])
    path_json.write_text(json.dumps({"runs": ordered}, indent=2) + "\n")
    lines = [
        "# Web explorer load benchmark",
        "",
        "The neighbours endpoint (`GET /api/items/{id}/neighbours?k=10`) of `embedlab serve`",
        "under concurrent clients on loopback. Protocol: see the docstring of",
        "`benchmarks/bench_web.py`. In short: default `MatrixFactorization` on ML-100K, uvicorn",
        "(one worker unless the scenario says 2; httptools and uvloop when installed, else h11",
        "and asyncio) in its own",
        "process, one Python client process (`httpx.AsyncClient`, or a raw asyncio-streams",
        "client) with 50 closed-loop clients asking for random items, 2 s warm-up, then 30 s.",
        "**The client runs on the same 2 cores as the server**: a closed loop of 50 clients sees",
        "a latency of about 50 ÷ throughput, so p99 ≤ 20 ms needs more than 2,500 requests/s.",
        "",
        "| scenario | clients | s | requests/s | p50 ms | p95 ms | p99 ms | max ms | errors "
        "| server CPU ms/request | target p99 ≤ 20 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in ordered:
        m = r["result"]
        holds = "yes" if m["p99_ms"] <= TARGET_P99_MS and m["errors"] == 0 else "**no**"
        lines.append(
            f"| {r['scenario']} | {r['clients']} | {r['duration_s']:g} | {m['requests_per_s']:,.0f} "
            f"| {m['p50_ms']:.1f} | {m['p95_ms']:.1f} | {m['p99_ms']:.1f} | {m['max_ms']:.1f} "
            f"| {m['errors']} | {r['server_cpu_s'] * 1000 / max(m['requests'], 1):.2f} | {holds} |"
        )
    lines += [
        "",
        "Reading: the issue-8 target is p99 ≤ 20 ms at 50 clients with no errors. No run had an",
        "error. The httpx client alone uses several times the server's CPU on these 2 shared",
        "cores, so the httpx rows mostly measure the client; the raw client (asyncio streams,",
        "the same requests) leaves the CPU to the server. Server CPU per request (column above;",
        "CPU over warm-up and window, so slightly high): about 0.25 ms per cached answer",
        "(routing, validation, one JSON body from the LRU) and about 1.2 ms per uncached one",
        "(`most_similar` and its DataFrame, see `embeddings.md`). With uvicorn's compiled parser",
        "and event loop (`uvicorn[standard]`: httptools, uvloop; in the web extra since",
        "2026-11-29) one worker's cached path measured p99 19.6 and 22.4 ms on 2026-11-29 and",
        "17.9 and 16.8 ms on 2026-11-30 (30 s runs each): one process is pegged at one core, so",
        "the target sits at the edge of what one worker can do. `embedlab serve --workers 2`",
        "(one process per core, as the CLI runs them) measured p99 12.3, 17.0, 9.9, 10.7 and 10.8 ms",
        "in five runs on 2026-11-30 at 5,700 to 10,700 requests/s: the two workers share one",
        "listening socket and the kernel does not always spread the 50 keep-alive connections",
        "evenly between them, hence the spread. An uncached answer (a new item) costs about 5x",
        "more. The server limits",
        "BLAS to 1 thread (`embedlab.web.limit_threads`): with 2 BLAS threads a 1,682 x 512",
        "`most_similar` took 5.5 ms instead of 0.8 ms on a busy machine.",
        "",
    ]
    for r in ordered:
        v = r["versions"]
        lines += [
            f"**{r['scenario']}**: measured {r['date']} on {r['machine']}; model: {r['model']}; "
            f"Python {v['python']}, embedlab {v['embedlab']}, FastAPI {v['fastapi']}, Starlette "
            f"{v['starlette']}, pydantic {v['pydantic']}, uvicorn {v['uvicorn']}, httpx {v['httpx']}. "
            f"Load average {r['load_before']} before, {r['load_after']} after. CPU seconds: "
            f"server {r['server_cpu_s']:.1f}, client {r['client_cpu_s']:.1f}. "
            f"Command: `{r['command']}`.",
            "",
        ]
    (RESULTS / "web.md").write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="serve this bundle instead of fitting one")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--cache-size", type=int, default=4096, help="0: no answer cache")
    parser.add_argument("--threads", type=int, default=1, help="server's BLAS/torch threads")
    parser.add_argument(
        "--client",
        choices=("httpx", "raw"),
        default="httpx",
        help="httpx.AsyncClient, or a minimal asyncio-streams HTTP/1.1 client (less client CPU)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (embedlab serve --workers)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.bundle is not None:
            bundle, model_desc = args.bundle, f"bundle {args.bundle}"
        else:
            bundle, model_desc = make_bundle(Path(tmp))
        import embedlab as el

        ids = el.load(bundle).items_.ids().tolist()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
        argv = [str(bundle), str(port), str(args.cache_size), str(args.threads), str(args.workers)]
        proc = subprocess.Popen([sys.executable, "-c", SERVER, *argv])
        try:
            wait_healthy(url, proc)
            server_cpu0 = cpu_seconds(proc.pid)
            client_cpu0 = time.process_time()
            result = asyncio.run(
                load(url, ids, args.clients, args.warmup, args.duration, args.client)
            )
            client_cpu = time.process_time() - client_cpu0
            server_cpu = cpu_seconds(proc.pid) - server_cpu0
        finally:
            proc.terminate()
            proc.wait(10)
    load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
    scenario = (
        ("answer cache on (default)" if args.cache_size > 0 else "answer cache off")
        + f", {args.client} client"
        + (f", {args.workers} workers" if args.workers > 1 else "")
    )
    doc = {
        "scenario": scenario,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu_name()} ({os.cpu_count()} cores), {platform.system()}",
        "versions": versions(),
        "model": model_desc,
        "clients": args.clients,
        "duration_s": args.duration,
        "cache_size": args.cache_size,
        "load_before": load_before,
        "load_after": load_after,
        "server_cpu_s": server_cpu,
        "client_cpu_s": client_cpu,
        "client": args.client,
        "command": "python benchmarks/bench_web.py"
        + (f" --cache-size {args.cache_size}" if args.cache_size != 4096 else "")
        + (f" --client {args.client}" if args.client != "httpx" else "")
        + (f" --workers {args.workers}" if args.workers > 1 else ""),
        "result": result,
    }
    m = result
    holds = m["p99_ms"] <= TARGET_P99_MS and m["errors"] == 0
    print(
        f"{scenario}: {m['requests_per_s']:,.0f} req/s, p50 {m['p50_ms']:.1f} ms, "
        f"p95 {m['p95_ms']:.1f} ms, p99 {m['p99_ms']:.1f} ms, max {m['max_ms']:.1f} ms, "
        f"{m['errors']} errors; server CPU {server_cpu:.1f} s, client CPU {client_cpu:.1f} s; "
        f"load {load_before} -> {load_after}"
    )
    print(f"target p99 <= {TARGET_P99_MS:g} ms with no errors: {'holds' if holds else 'MISSED'}")
    if not args.no_write:
        write_report(doc)
        print(f"wrote {RESULTS / 'web.md'} and web.json")


if __name__ == "__main__":
    main()
