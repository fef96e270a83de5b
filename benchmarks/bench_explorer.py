"""The web explorer (issue 19): first map after start on ML-100K, and a 1,000,000-item page.

One command::

    python benchmarks/bench_explorer.py                       # both sections, 1,000,000 x 32
    python benchmarks/bench_explorer.py --sections first-map  # one section
    python benchmarks/bench_explorer.py --sections scale --items 100000 --dim 32
    python benchmarks/bench_explorer.py --items 100000 --no-write   # print only

Writes ``benchmarks/results/explorer.md``; a run of one section replaces only that
section (the raw numbers of every section sit in a comment at the end of the file).

Protocol (stated again in the report):

**first-map** (ML-100K, target: the first map request answers within 1 s of start).

1. ``MatrixFactorization(random_state=0)`` fitted on all 100,000 ratings of
   ``embedlab.datasets.movielens("ml-100k")`` (``$EMBEDLAB_DATA``, else ``--data``, else
   ``../shared/data``). Two bundles: one saved with ``model.save(path)`` (no layout) and
   one with ``model.save(path, layout=el.viz.project(model, "tsne"))`` (the stored
   t-SNE map).
2. For each bundle, ``--map-repeats`` times (3): ``python -m embedlab serve BUNDLE --port P``
   in its own process on a free loopback port. *Ready*: ``GET /api/health`` answers 200
   (polled every 50 ms) — measured from ``Popen``. Then, from ready, ``GET /api/map``
   every 50 ms on one keep-alive ``httpx.Client`` (made before the server starts) until it
   answers 200 with ``status: ready`` (the 202 "computing" answers are counted), then
   one ``GET`` of its ``points_url`` (the binary points). The server is stopped between
   repeats (SIGTERM to its process group, SIGKILL after 10 s). Median of the repeats.

**scale** (``--items`` x ``--dim`` vectors; targets: page usable within 2 s of ready,
neighbours and search within 100 ms, the map draws every point).

1. Vectors: ``--clusters`` (200) Gaussian centres ~ N(0, I) in ``--dim`` dimensions; each
   item is a uniformly drawn centre plus N(0, 0.35^2 I), float32, seed 0. Keys
   ``item0000001``..., labels ``Cluster 17 item 123456``, metadata ``group`` (categorical,
   20 levels ``group 00``..``group 19``: the cluster number modulo 20, so a colour marks
   ten clusters) and ``popularity`` (numeric, lognormal).
   Written once by ``KeyedEmbeddings(...).to_parquet(path)`` (generation and writing timed,
   not part of the targets).
2. Server: ``python -m embedlab serve FILE --port P --map pca`` (``--map-method``; t-SNE
   of 1,000,000 points would take far longer than this benchmark); if that command
   cannot open a vectors file (it exits before answering), a small launcher builds
   ``embedlab.web.create_app(open_vectors(FILE))`` and runs uvicorn the way
   ``embedlab serve`` does (one worker, BLAS limited to one thread); the report says
   which one ran. Ready = ``/api/health`` answers 200 (from ``Popen``).
3. Page: headless Chromium (Debian's ``/usr/bin/chromium`` through Playwright), viewport
   1400 x 900, launched before the server starts. Navigation to ``/`` starts right after
   ready. An init script records ``performance.now()`` (ms since navigation start) when
   ``body[data-ready]`` becomes ``"true"`` (the page sets it once ``/api/info`` is loaded
   and applied) and at every change of the map canvas' ``data-state``, plus the next
   animation frame after ``ready`` (painted). *Usable*: ``body[data-ready="true"]`` and the
   search box enabled. *Map drawn*: ``#map[data-state="ready"]`` with ``data-points`` equal
   to the number of items. Reported from ready: the gap from ready to navigation (Python's
   clock) plus the page's own times; resource timings of ``/api/info`` and
   ``/api/map/points`` come from the page's Performance API. *Draw* = from the points'
   ``responseEnd`` to ``data-state="ready"`` (parse, index, grid, first draw).
4. API, after the page (the server is idle otherwise), one keep-alive ``httpx.Client``:
   each endpoint once cold ("first"), then ``--repeats`` (50) times; p50 / p95 / max of
   those. Search: the same query each time (search has no answer cache). Neighbours:
   ``k=10``, a different random item for every request (seed 0; the server caches
   neighbour answers by query, so a repeat would time the cache). ``/api/map/points``:
   ``--points-repeats`` (10) times, bytes per answer.
5. Memory: the server's resident set (``VmRSS``) after ready, after the page drew the map
   and after the API part, and its peak (``VmHWM``), from ``/proc/<pid>/status``.

Timings are wall-clock ``perf_counter`` seconds on a machine whose load average is printed
before and after each section; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, cpu_name, data_dir, git_commit

RESULTS = REPO / "benchmarks" / "results"
REPORT = RESULTS / "explorer.md"
CHROMIUM = os.environ.get("EMBEDLAB_CHROMIUM", "/usr/bin/chromium")
SECTIONS = ("first-map", "scale")
POLL_S = 0.05
USABLE_TIMEOUT_S = 120.0  # the page's own start (the map may take --timeout)
TARGET_FIRST_MAP_S = 1.0
TARGET_USABLE_S = 2.0
TARGET_QUERY_MS = 100.0
RAW_MARK = "<!-- raw results (bench_explorer.py merges them on the next run):"

LAUNCHER = """
import sys
import uvicorn
from embedlab.web import create_app, limit_threads
path, port, method = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    from embedlab.embeddings import open_vectors
    kv = open_vectors(path)
except ImportError:
    from embedlab import KeyedEmbeddings
    kv = KeyedEmbeddings.from_parquet(path)
limit_threads(1)
app = create_app(kv, map_method=method, source_name=path.rsplit("/", 1)[-1])
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""

# Records, in the page's clock (ms since navigation start), when the page reports its
# states; installed before any page script runs.
INIT_SCRIPT = """
(() => {
  const marks = {};
  const states = [];
  window.__bench = { marks, states };
  try { performance.setResourceTimingBufferSize(2000); } catch (e) {}
  const mark = (name) => { if (!(name in marks)) marks[name] = performance.now(); };
  const check = () => {
    if (document.body && document.body.dataset.ready === "true") mark("info_ready");
    const map = document.getElementById("map");
    if (!map) return;
    const state = map.dataset.state || "";
    if (!states.length || states[states.length - 1][0] !== state) {
      states.push([state, performance.now(), map.dataset.points || ""]);
    }
    if (state === "ready" && !("map_ready" in marks)) {
      mark("map_ready");
      marks.map_ready_points = Number(map.dataset.points || "0");
      requestAnimationFrame(() => mark("map_painted"));
    }
  };
  document.addEventListener("DOMContentLoaded", () => {
    mark("dom_content_loaded");
    new MutationObserver(check).observe(document.documentElement, {
      attributes: true, subtree: true, attributeFilter: ["data-ready", "data-state", "data-points"],
    });
    check();
  });
})();
"""


class BenchError(RuntimeError):
    """A step of the benchmark failed (the message says which and why)."""


# ---------------------------------------------------------------------------- helpers
def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_memory(pid: int) -> dict[str, float]:
    """``VmRSS`` and ``VmHWM`` (peak) of a process, in MiB (empty when unreadable)."""
    out: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0]) / 1024.0
    return out


def stats_ms(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000.0
    return {
        "n": int(ms.size),
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(ms.max()),
    }


def versions(browser_version: str | None = None) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import embedlab

    out = {"python": platform.python_version(), "embedlab": embedlab.__version__}
    for name in ("numpy", "fastapi", "uvicorn", "httpx", "playwright", "openTSNE", "pyarrow"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    if browser_version:
        out["chromium"] = browser_version
    return out


def machine() -> str:
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().splitlines()[0].split()[1])
        mem = f", {kb / 1024**2:.0f} GiB RAM"
    return f"{cpu_name()} ({os.cpu_count()} cores{mem}), {platform.system()}"


class Server:
    """A server subprocess in its own process group, always stopped on exit."""

    def __init__(self, argv: list[str], port: int, log: Path) -> None:
        self.argv = argv
        self.name = (
            "the inline launcher" if "-c" in argv else f"embedlab serve {Path(argv[4]).name}"
        )
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log
        self._log = log.open("wb")
        self.started = time.perf_counter()
        self.ready_at: float | None = None
        self.proc = subprocess.Popen(
            argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopping it stops any child too
            cwd=str(REPO),
        )

    def log_tail(self, n: int = 15) -> str:
        with contextlib.suppress(OSError):
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
            return "\n".join(lines[-n:])
        return ""

    def wait_ready(self, timeout: float) -> float:
        """Seconds from ``Popen`` until ``/api/health`` answers 200 (polled every 50 ms)."""
        import httpx

        deadline = self.started + timeout
        with httpx.Client(timeout=1.0) as client:  # one client: building one takes ~30 ms
            return self._poll_health(client, deadline, timeout)

    def _poll_health(self, client: Any, deadline: float, timeout: float) -> float:
        import httpx

        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"the server ({self.name}) exited with "
                    f"{self.proc.returncode} before answering /api/health; its log ends:\n"
                    + self.log_tail()
                )
            try:
                if client.get(self.url + "/api/health").status_code == 200:
                    self.ready_at = time.perf_counter()
                    return self.ready_at - self.started
            except httpx.HTTPError:
                pass
            time.sleep(POLL_S)
        raise BenchError(
            f"the server did not answer /api/health within {timeout:g} s (--timeout); "
            "its log ends:\n" + self.log_tail()
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()


@contextlib.contextmanager
def serving(argv_for: Callable[[int], list[str]], log: Path) -> Iterator[Server]:
    port = free_port()
    server = Server(argv_for(port), port, log)
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------- first-map
def _movielens() -> Any:
    import embedlab as el

    kwargs: dict[str, Any] = {"download": False, "progress": False}
    if not os.environ.get("EMBEDLAB_DATA"):
        kwargs["data"] = data_dir()
    try:
        return el.datasets.movielens("ml-100k", **kwargs)
    except Exception as exc:
        raise BenchError(
            f"ML-100K could not be loaded ({exc}); set EMBEDLAB_DATA=/work/shared/data "
            "(the folder holding ml-100k/)"
        ) from None


def first_map(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    import httpx

    import embedlab as el

    t0 = time.perf_counter()
    data = _movielens()
    model = el.MatrixFactorization(random_state=0).fit(data, progress=False)
    fit_s = time.perf_counter() - t0
    plain = model.save(tmp / "mf-no-layout")  # first: saving with a layout stores it
    t0 = time.perf_counter()
    layout = el.viz.project(model, "tsne")
    tsne_s = time.perf_counter() - t0
    stored = model.save(tmp / "mf-tsne-layout", layout=layout)
    print(
        f"first-map: fitted in {fit_s:.1f} s, t-SNE layout in {tsne_s:.1f} s; "
        f"{len(model.items_):,} items"
    )
    rows: list[dict[str, Any]] = []
    # made once, before any server: building a client (its TLS context) takes ~30 ms
    with httpx.Client(timeout=30.0) as client:
        for name, bundle in (("stored t-SNE layout", stored), ("no stored layout", plain)):
            rows.append(_first_map_runs(args, tmp, client, name, bundle, len(rows)))
    return {
        "items": len(model.items_),
        "fit_s": fit_s,
        "tsne_s": tsne_s,
        "rows": rows,
        "server": "python -m embedlab serve BUNDLE --port P (defaults: the stored map, else t-SNE; 1 worker)",
    }


def _first_map_runs(
    args: argparse.Namespace, tmp: Path, client: Any, name: str, bundle: Path, number: int
) -> dict[str, Any]:
    """``--map-repeats`` starts of one bundle's server (see the module doc, first-map)."""
    runs = []
    for i in range(args.map_repeats):
        log = tmp / f"serve-{number}-{i}.log"

        def argv(port: int, bundle: Path = bundle) -> list[str]:
            return [sys.executable, "-m", "embedlab", "serve", str(bundle), "--port", str(port)]

        with serving(argv, log) as server:
            ready_s = server.wait_ready(args.timeout)
            t_ready = server.ready_at or time.perf_counter()
            n_202 = 0
            first_request_s = None
            body: dict[str, Any] = {}
            while True:
                if time.perf_counter() - t_ready > args.timeout:
                    raise BenchError(
                        f"{name}: /api/map was not ready {args.timeout:g} s after "
                        f"the server was ({n_202} answers 202); log:\n" + server.log_tail()
                    )
                t_req = time.perf_counter()
                resp = client.get(server.url + "/api/map")
                if first_request_s is None:
                    first_request_s = time.perf_counter() - t_req
                if resp.status_code == 202:
                    n_202 += 1
                    time.sleep(POLL_S)
                    continue
                if resp.status_code != 200:
                    raise BenchError(
                        f"{name}: /api/map answered {resp.status_code}: {resp.text[:300]}"
                    )
                body = resp.json()
                if body.get("status", "ready") == "ready":
                    break
                time.sleep(POLL_S)
            map_s = time.perf_counter() - t_ready
            points_s = None
            points_bytes = None
            if body.get("points_url"):
                t_req = time.perf_counter()
                pts = client.get(server.url + body["points_url"])
                points_s = time.perf_counter() - t_req
                points_bytes = len(pts.content) if pts.status_code == 200 else None
            run = {
                "ready_s": ready_s,
                "map_after_ready_s": map_s,
                "map_after_start_s": ready_s + map_s,
                "first_request_s": first_request_s,
                "n_202": n_202,
                "points_s": points_s,
                "points_bytes": points_bytes,
                "n_points": body.get("n"),
                "method": body.get("method"),
            }
        runs.append(run)
        print(
            f"  {name} #{i + 1}: ready {ready_s:.2f} s, map {map_s:.3f} s after ready "
            f"({n_202} x 202), first /api/map request {first_request_s * 1000:.1f} ms"
        )
    med = {
        key: statistics.median([r[key] for r in runs])
        for key in ("ready_s", "map_after_ready_s", "map_after_start_s", "first_request_s")
    }
    med["n_202"] = statistics.median([r["n_202"] for r in runs])
    return {"bundle": name, "runs": runs, "median": med}


# ---------------------------------------------------------------------------- scale
def make_vectors(args: argparse.Namespace, workdir: Path) -> tuple[Path, dict[str, Any]]:
    """The clustered vectors as Parquet (reused when the same file is in ``workdir``)."""
    import pandas as pd

    import embedlab as el

    path = workdir / f"clustered-{args.items}x{args.dim}-c{args.clusters}.parquet"
    if path.exists():
        return path, {"reused": True, "file_mb": path.stat().st_size / 2**20}
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((args.clusters, args.dim)).astype(np.float32)
    cluster = rng.integers(0, args.clusters, size=args.items)
    vectors = centres[cluster] + rng.normal(0.0, 0.35, (args.items, args.dim)).astype(np.float32)
    width = max(7, len(str(args.items)))
    keys = [f"item{i:0{width}d}" for i in range(1, args.items + 1)]
    labels = [f"Cluster {c} item {i}" for i, c in enumerate(cluster.tolist(), start=1)]
    groups = np.array([f"group {g:02d}" for g in range(20)], dtype=object)
    metadata = pd.DataFrame(
        {
            "group": pd.Categorical(groups[cluster % 20]),  # clusters share a colour
            "popularity": rng.lognormal(3.0, 1.0, size=args.items).round(2),
        }
    )
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    kv = el.KeyedEmbeddings(vectors, keys, labels=labels, metadata=metadata)
    tmp_path = path.with_suffix(".tmp.parquet")
    kv.to_parquet(tmp_path)
    tmp_path.replace(path)
    write_s = time.perf_counter() - t0
    return path, {
        "reused": False,
        "generate_s": gen_s,
        "write_s": write_s,
        "file_mb": path.stat().st_size / 2**20,
    }


def _cli_argv(path: Path, method: str) -> Callable[[int], list[str]]:
    def argv(port: int) -> list[str]:
        return [
            sys.executable, "-m", "embedlab", "serve", str(path), "--port", str(port),
            "--map", method,
        ]  # fmt: skip

    return argv


def _launcher_argv(path: Path, method: str) -> Callable[[int], list[str]]:
    def argv(port: int) -> list[str]:
        return [sys.executable, "-c", LAUNCHER, str(path), str(port), method]

    return argv


@contextlib.contextmanager
def scale_server(
    args: argparse.Namespace, path: Path, tmp: Path, note: list[str]
) -> Iterator[tuple[Server, float, str]]:
    """The server of the vectors file, ready: ``(server, seconds to ready, how started)``."""
    choices = ["cli", "launcher"] if args.serve == "auto" else [args.serve]
    last_error: BenchError | None = None
    for how in choices:
        make = _cli_argv if how == "cli" else _launcher_argv
        with serving(make(path, args.map_method), tmp / f"scale-{how}.log") as server:
            try:
                ready_s = server.wait_ready(args.timeout)
            except BenchError as exc:
                if server.proc.poll() is None:  # still starting: not a refusal, give up
                    raise
                last_error = exc
                note.append(f"`embedlab serve FILE` did not start ({str(exc).splitlines()[-1]})")
                print(f"  {how} failed; {'trying the launcher' if how == 'cli' else 'giving up'}")
                continue
            yield server, ready_s, how
            return
    raise BenchError(f"no way to serve {path.name} worked: {last_error}")


class PageProbe:
    """A Chromium page at about:blank, with its listeners, ready to navigate."""

    def __init__(self, args: argparse.Namespace, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.page.add_init_script(INIT_SCRIPT)
        self.errors: list[str] = []
        self.map_answers: list[int] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", self._response)
        self.page.set_default_timeout(args.timeout * 1000)
        self.page.goto("about:blank")

    def _response(self, response: Any) -> None:
        url = response.url.split("?", 1)[0]
        if url.endswith("/api/map"):
            self.map_answers.append(response.status)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.context.close()


def _page_timings(
    args: argparse.Namespace, server: Server, n_items: int, probe: PageProbe, t_ready: float
) -> dict:
    """Open the page right after ready and time it (see the module doc, step 3)."""
    page, errors, map_answers = probe.page, probe.errors, probe.map_answers
    t_nav = time.perf_counter()
    page.goto(server.url + "/", wait_until="commit")
    try:
        # selectors, not JavaScript strings: the page's CSP forbids eval
        page.wait_for_selector(
            "body[data-ready='true'] #search:enabled",
            state="attached",
            timeout=min(args.timeout, USABLE_TIMEOUT_S) * 1000,
        )
    except Exception as exc:
        raise BenchError(
            f"the page did not set body[data-ready] with #search enabled within "
            f"{min(args.timeout, USABLE_TIMEOUT_S):g} s ({str(exc).splitlines()[0]})"
        ) from None
    usable_wall = time.perf_counter() - t_nav
    try:
        page.wait_for_selector(
            "#map[data-state='ready'], #map[data-state='error']",
            state="attached",
            timeout=args.timeout * 1000,
        )
    except Exception as exc:
        raise BenchError(
            f"the map was not drawn within {args.timeout:g} s ({str(exc).splitlines()[0]}); "
            "raise --timeout or check #map[data-state]"
        ) from None
    map_wall = time.perf_counter() - t_nav
    page.wait_for_timeout(200)  # the painted mark is set on the next frame
    got = page.evaluate(
        """() => {
          const res = performance.getEntriesByType("resource").map((e) => ({
            name: e.name, start: e.startTime, responseEnd: e.responseEnd,
            bytes: e.encodedBodySize, }));
          const own = performance.getEntriesByType("mark").concat(
            performance.getEntriesByType("measure")).map((e) => ({
              name: e.name, type: e.entryType, start: e.startTime, duration: e.duration }));
          const m = document.getElementById("map");
          return { own, marks: window.__bench.marks, states: window.__bench.states, res,
            state: m.dataset.state, points: m.dataset.points, drawn: m.dataset.drawn || null,
            hint: (document.getElementById("map-hint") || {}).textContent || "" };
        }"""
    )
    path = Path(args.screenshot_dir) if args.screenshot_dir else None
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path / f"explorer-{n_items}.png"))
    marks = got["marks"]
    if got["state"] != "ready":
        raise BenchError(f"the map ended in state {got['state']!r}: {got['hint']}")

    def last(pattern: str) -> dict | None:
        found = [r for r in got["res"] if re.search(pattern, r["name"])]
        return found[-1] if found else None

    info = last(r"/api/info")
    points = last(r"/api/map/points")
    gap = t_nav - t_ready  # ready -> navigation start, in Python's clock
    after = {
        k: gap + marks[k] / 1000.0
        for k in ("info_ready", "map_ready", "map_painted")
        if marks.get(k) is not None
    }
    out = {
        "nav_after_ready_s": gap,
        "usable_after_ready_s": after.get("info_ready"),
        "map_after_ready_s": after.get("map_ready"),
        "painted_after_ready_s": after.get("map_painted"),
        "usable_ms": marks.get("info_ready"),
        "usable_wall_s": usable_wall,
        "map_ready_ms": marks.get("map_ready"),
        "map_painted_ms": marks.get("map_painted"),
        "map_wall_s": map_wall,
        "info_response_end_ms": info["responseEnd"] if info else None,
        "points_start_ms": points["start"] if points else None,
        "points_response_end_ms": points["responseEnd"] if points else None,
        "points_bytes": points["bytes"] if points else None,
        "draw_ms": (marks["map_ready"] - points["responseEnd"])
        if points and "map_ready" in marks
        else None,
        "data_points": int(got["points"] or 0),
        "data_drawn": int(got["drawn"]) if got["drawn"] not in (None, "") else None,
        "map_states": got["states"],
        "map_answers": map_answers,
        "console_errors": errors,
        "page_marks": got["own"],  # performance marks/measures the page sets itself, if any
    }
    return out


def _api_timings(args: argparse.Namespace, server: Server, n_items: int) -> dict[str, Any]:
    import httpx

    rng = np.random.default_rng(0)
    width = max(7, len(str(n_items)))
    picks = rng.choice(n_items, size=2 * (args.repeats + 1), replace=False) + 1
    keys = [f"item{i:0{width}d}" for i in picks.tolist()]
    cos_keys, euc_keys = keys[: args.repeats + 1], keys[args.repeats + 1 :]
    q_id = f"item{123:0{width - 1}d}"  # "item000123": a prefix of item0001230..item0001239
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        exact = f"item{123:0{width}d}"
        found = client.get("/api/search", params={"q": exact, "n": 1}).json().get("items") or []
    # an existing label (the item's own), lower case: the text search forgives case
    label = str(found[0].get("label") or exact).lower() if found else exact
    cases: list[tuple[str, str, list[str] | str]] = [
        ("search text (ID part)", "/api/search", f"q={q_id}&n=10"),
        ("search text (label)", "/api/search", f"q={label}&n=10"),
        ("search regex (label)", "/api/search", r"q=^cluster 1[0-9] item 12\d*5$&mode=regex&n=10"),
        ("search column group", "/api/search", "q=group 07&column=group&n=10"),
        ("neighbours cosine k=10", "", [f"/api/items/{k}/neighbours?k=10" for k in cos_keys]),
        (
            "neighbours euclidean k=10",
            "",
            [f"/api/items/{k}/neighbours?k=10&metric=euclidean" for k in euc_keys],
        ),
        ("colours group", "/api/colours", "column=group"),
        ("info", "/api/info", ""),
    ]
    out: dict[str, Any] = {}
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        for name, path, query in cases:
            urls = (
                query
                if isinstance(query, list)
                else [f"{path}?{query}" if query else path] * (args.repeats + 1)
            )
            times: list[float] = []
            status: set[int] = set()
            size = 0
            extra: dict[str, Any] = {}
            for url in urls:
                t0 = time.perf_counter()
                resp = client.get(url)
                times.append(time.perf_counter() - t0)
                status.add(resp.status_code)
                size = len(resp.content)
                if resp.status_code == 200 and "search" in name and not extra:
                    body = resp.json()
                    extra = {"n_matches": body.get("n_matches"), "returned": len(body["items"])}
            if status != {200}:
                print(f"  {name}: status {sorted(status)}; last answer {resp.text[:200]}")
            out[name] = {
                "first_ms": times[0] * 1000.0,
                **stats_ms(times[1:]),
                "status": sorted(status),
                "bytes": size,
                **extra,
            }
            s = out[name]
            print(
                f"  {name}: first {s['first_ms']:.1f} ms, p50 {s['p50_ms']:.1f}, "
                f"p95 {s['p95_ms']:.1f}, max {s['max_ms']:.1f} ms ({size:,} B"
                + (f", {s['n_matches']:,} matches)" if s.get("n_matches") is not None else ")")
            )
        resp = client.get("/api/map")
        body = resp.json() if resp.status_code == 200 else {}
        url = body.get("points_url")
        if url:
            times = []
            size = 0
            for _ in range(args.points_repeats + 1):
                t0 = time.perf_counter()
                pts = client.get(url)
                times.append(time.perf_counter() - t0)
                size = len(pts.content)
            out["map points"] = {
                "first_ms": times[0] * 1000.0,
                **stats_ms(times[1:]),
                "status": [pts.status_code],
                "bytes": size,
            }
            s = out["map points"]
            print(
                f"  map points: first {s['first_ms']:.1f} ms, p50 {s['p50_ms']:.1f}, "
                f"max {s['max_ms']:.1f} ms ({size:,} B)"
            )
    return out


def check_page_signals() -> None:
    """Fail at once (not after a timeout) if the page no longer sets the attributes timed."""
    from importlib import resources

    js = resources.files("embedlab.web").joinpath("static", "app.js").read_text()
    html = resources.files("embedlab.web").joinpath("static", "index.html").read_text()
    missing = [
        f"data-{name}"
        for name in ("ready", "state", "points")
        if f"dataset.{name}" not in js and f"data-{name}" not in js + html
    ]
    if missing or 'id="map"' not in html or 'id="search"' not in html:
        raise BenchError(
            f"the page (embedlab/web/static) no longer sets {', '.join(missing) or '#map/#search'}"
            "; adapt INIT_SCRIPT and the selectors of bench_explorer.py to its new names"
        )


def scale(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise BenchError(f"Chromium not found at {CHROMIUM}; set EMBEDLAB_CHROMIUM")
    check_page_signals()
    workdir = Path(args.workdir) if args.workdir else tmp
    workdir.mkdir(parents=True, exist_ok=True)
    path, made = make_vectors(args, workdir)
    print(
        f"scale: {args.items:,} x {args.dim} vectors in {path.name} ({made['file_mb']:.0f} MiB"
        + (", reused)" if made["reused"] else f", generated {made['generate_s']:.1f} s, "
           f"written {made['write_s']:.1f} s)")
    )  # fmt: skip
    note: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        probe = PageProbe(args, browser)  # before the server: not part of the timings
        try:
            with scale_server(args, path, tmp, note) as (server, ready_s, how):
                t_ready = server.ready_at or time.perf_counter()
                mem_ready = proc_memory(server.proc.pid)
                print(f"  server ({how}) ready {ready_s:.2f} s after start")
                page = _page_timings(args, server, args.items, probe, t_ready)
                mem_map = proc_memory(server.proc.pid)
                print(
                    f"  page: navigation {page['nav_after_ready_s'] * 1000:.0f} ms after ready, "
                    f"usable {_f(page['usable_after_ready_s'], '.3f')} s, map drawn "
                    f"{_f(page['map_after_ready_s'], '.3f')} s after ready "
                    f"({page['data_points']:,} points, draw {_f(page['draw_ms'], '.0f')} ms, "
                    f"/api/map answers {page['map_answers']}, "
                    f"{len(page['console_errors'])} console errors)"
                )
                api = _api_timings(args, server, args.items)
                mem_end = proc_memory(server.proc.pid)
            browser_version = browser.version
        finally:
            probe.close()
            browser.close()
    return {
        "items": args.items,
        "dim": args.dim,
        "clusters": args.clusters,
        "vectors": made,
        "file": path.name,
        "server": how,
        "map_method": args.map_method,
        "notes": note,
        "ready_s": ready_s,
        "page": page,
        "api": api,
        "memory_mib": {"after ready": mem_ready, "after map drawn": mem_map, "after API": mem_end},
        "chromium": browser_version,
    }


# ---------------------------------------------------------------------------- report
def _f(value: Any, fmt: str = ".2f", unit: str = "") -> str:
    return "–" if value is None else f"{value:{fmt}}{unit}"


def _met(ok: bool | None) -> str:
    return "–" if ok is None else ("yes" if ok else "**no**")


def targets(results: dict[str, Any]) -> list[str]:
    rows: list[tuple[str, str, str, bool | None]] = []
    fm = results.get("first-map", {}).get("result")
    if fm:
        by = {r["bundle"]: r["median"] for r in fm["rows"]}
        st, no = by.get("stored t-SNE layout"), by.get("no stored layout")
        if st:
            rows.append(
                (
                    f"first map (`/api/map` 200) after the server is ready, ML-100K, stored "
                    f"layout (median of {len(fm['rows'][0]['runs'])})",
                    f"{st['map_after_ready_s']:.3f} s",
                    f"≤ {TARGET_FIRST_MAP_S:g} s",
                    st["map_after_ready_s"] <= TARGET_FIRST_MAP_S,
                )
            )
            rows.append(
                (
                    "the same from process start (Python start, imports and bundle loading "
                    "included)",
                    f"{st['map_after_start_s']:.2f} s",
                    "(for reference)",
                    None,
                )
            )
        if no:
            rows.append(
                (
                    "first map after ready, no stored layout (background t-SNE at start-up)",
                    f"{no['map_after_ready_s']:.2f} s",
                    "(for comparison)",
                    None,
                )
            )
    sc = results.get("scale", {}).get("result")
    if sc:
        n = f"{sc['items']:,} x {sc['dim']}"
        page, api = sc["page"], sc["api"]
        usable = page.get("usable_after_ready_s")
        rows.append(
            (
                f"page usable (info loaded, search enabled) after ready, {n}",
                _f(usable, ".2f", " s"),
                f"≤ {TARGET_USABLE_S:g} s",
                None if usable is None else usable <= TARGET_USABLE_S,
            )
        )
        all_points = page["data_points"] == sc["items"]
        rows.append(
            (
                f"map draws every point ({sc['map_method']}), {n}",
                f"{page['data_points']:,} points, drawn "
                f"{_f(page.get('map_after_ready_s'), '.2f', ' s')} after ready",
                f"{sc['items']:,} points",
                all_points,
            )
        )
        for name in (
            "neighbours cosine k=10",
            "neighbours euclidean k=10",
            "search text (ID part)",
            "search text (label)",
            "search regex (label)",
            "search column group",
        ):
            m = api.get(name)
            if m:
                rows.append(
                    (
                        f"{name}, p95 of {m['n']} (p50 {m['p50_ms']:.1f} ms), {n}",
                        f"{m['p95_ms']:.1f} ms",
                        f"≤ {TARGET_QUERY_MS:g} ms",
                        m["p95_ms"] <= TARGET_QUERY_MS and m["status"] == [200],
                    )
                )
    if not rows:
        return []
    lines = ["| target (issue 19) | measured | target | met |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {_met(d)} |" for a, b, c, d in rows]
    return lines


def busy(entry: dict[str, Any]) -> list[str]:
    """A warning line when the machine was busy before a section."""
    try:
        load = float(entry["load_before"].split()[0])
    except (KeyError, ValueError, IndexError):
        return []
    cores = os.cpu_count() or 1
    if load <= cores / 2:
        return []
    return [
        f"**Busy machine**: 1-minute load average {load:.2f} on {cores} cores before this "
        "section; other work shared the cores, so these times are upper bounds, not final.",
        "",
    ]


def section_first_map(entry: dict[str, Any]) -> list[str]:
    lines = ["## first-map: ML-100K, the first map after start", ""]
    if "error" in entry:
        return [*lines, f"Did not run: {entry['error']}", ""]
    r = entry["result"]
    lines += [
        f"Measured {entry['date']}; load average {entry['load_before']} before, "
        f"{entry['load_after']} after. Model: `MatrixFactorization(random_state=0)` on all of "
        f"ML-100K ({r['items']:,} items), fitted in {r['fit_s']:.1f} s; the stored layout "
        f'(`el.viz.project(model, "tsne")`) took {r["tsne_s"]:.1f} s at save time. Server: '
        f"`{r['server']}`. Median of the runs; every run listed below.",
        "",
        *busy(entry),
        "| bundle | server ready (from start) | map 200 after ready | map after start "
        "| first `/api/map` request | 202 answers |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in r["rows"]:
        m = row["median"]
        lines.append(
            f"| {row['bundle']} | {m['ready_s']:.2f} s | {m['map_after_ready_s']:.3f} s "
            f"| {m['map_after_start_s']:.2f} s | {m['first_request_s'] * 1000:.1f} ms "
            f"| {m['n_202']:g} |"
        )
    lines += ["", "Runs (ready s / map after ready s / 202s / points ms, bytes):", ""]
    for row in r["rows"]:
        runs = "; ".join(
            f"{x['ready_s']:.2f} / {x['map_after_ready_s']:.3f} / {x['n_202']} / "
            f"{_f(None if x['points_s'] is None else x['points_s'] * 1000, '.1f')} ms, "
            f"{_f(x['points_bytes'], ',')} B"
            for x in row["runs"]
        )
        lines.append(f"- {row['bundle']}: {runs}")
    return [*lines, ""]


def section_scale(entry: dict[str, Any]) -> list[str]:
    lines = ["## scale: a vectors file in the page", ""]
    if "error" in entry:
        return [*lines, f"Did not run: {entry['error']}", ""]
    r = entry["result"]
    v, page, api = r["vectors"], r["page"], r["api"]
    made = (
        "reused from --workdir"
        if v.get("reused")
        else f"generated in {v['generate_s']:.1f} s, written in {v['write_s']:.1f} s"
    )
    how = {
        "cli": f"`python -m embedlab serve {r['file']} --port P --map {r['map_method']}`",
        "launcher": "the inline launcher (`create_app(open_vectors(FILE), map_method="
        f"{r['map_method']!r})` under uvicorn, one worker, BLAS 1 thread)",
    }[r["server"]]
    lines += [
        f"Measured {entry['date']}; load average {entry['load_before']} before, "
        f"{entry['load_after']} after. Vectors: {r['items']:,} x {r['dim']} float32, "
        f"{r['clusters']} Gaussian clusters, labels and metadata `group` (20 levels) and "
        f"`popularity`; Parquet {v['file_mb']:.0f} MiB ({made}). Server: {how}; ready "
        f"(`/api/health` 200) {r['ready_s']:.2f} s after start. Chromium {r['chromium']}, "
        "1400 x 900, headless.",
        *[f"Note: {n}." for n in r["notes"]],
        *(
            [
                "",
                f"**A validation run at {r['items']:,} items, not the issue's size** "
                "(1,000,000 x 32): run with `--items 1000000` for the figures of the target.",
            ]
            if r["items"] < 1_000_000
            else []
        ),
        "",
        *busy(entry),
        "",
        "### The page (one load, times from the server's ready)",
        "",
        "| step | after ready |",
        "|---|---:|",
        f"| navigation starts | {page['nav_after_ready_s'] * 1000:.0f} ms |",
        "| `/api/info` received | "
        + _f(
            None
            if page["info_response_end_ms"] is None
            else page["nav_after_ready_s"] * 1000 + page["info_response_end_ms"],
            ".0f",
            " ms",
        )
        + " |",
        f"| **usable** (body `data-ready`, search enabled) | "
        f"{_f(page['usable_after_ready_s'], '.3f', ' s')} |",
        "| `/api/map/points` requested | "
        + _f(
            None
            if page["points_start_ms"] is None
            else page["nav_after_ready_s"] + page["points_start_ms"] / 1000,
            ".3f",
            " s",
        )
        + " |",
        "| `/api/map/points` received | "
        + _f(
            None
            if page["points_response_end_ms"] is None
            else page["nav_after_ready_s"] + page["points_response_end_ms"] / 1000,
            ".3f",
            " s",
        )
        + " |",
        f'| **map drawn** (`#map` `data-state="ready"`) | '
        f"{_f(page['map_after_ready_s'], '.3f', ' s')} |",
        f"| next frame painted | {_f(page['painted_after_ready_s'], '.3f', ' s')} |",
        "",
        f'Draw (points received → `data-state="ready"`: parse, index, grid, first draw): '
        f"{_f(page['draw_ms'], '.0f', ' ms')}. `data-points` {page['data_points']:,} of "
        f"{r['items']:,} items; points inside the canvas (`data-drawn`) "
        f"{_f(page['data_drawn'], ',')}. Points answer {_f(page['points_bytes'], ',')} bytes. "
        f"`/api/map` answers the page got: {page['map_answers']} (202 = still computing; the "
        "page polls after 0.5 s, then 1.5x longer each time). Map states seen: "
        + ", ".join(f"{s} at {t / 1000:.2f} s" for s, t, _ in page["map_states"])
        + " (page clock). Wall clock as Playwright saw it (polling included): usable "
        f"{page['usable_wall_s']:.2f} s, map {page['map_wall_s']:.2f} s after navigation."
        + (
            " Performance marks/measures set by the page (ms, page clock): "
            + ", ".join(
                f"{m['name']} {m['type']} {m['start']:.0f}"
                + (f" +{m['duration']:.0f}" if m["duration"] else "")
                for m in page.get("page_marks", [])
            )
            + "."
            if page.get("page_marks")
            else " The page sets no performance marks of its own."
        )
        + f" Console errors: {len(page['console_errors'])}"
        + (f" (first: {page['console_errors'][0][:150]})" if page["console_errors"] else "")
        + ".",
        "",
        "### The API (keep-alive client, after the page)",
        "",
        "| request | first | p50 | p95 | max | n | bytes | matches | status |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, m in api.items():
        lines.append(
            f"| {name} | {m['first_ms']:.1f} ms | {m['p50_ms']:.1f} ms | {m['p95_ms']:.1f} ms "
            f"| {m['max_ms']:.1f} ms | {m['n']} | {m['bytes']:,} | {_f(m.get('n_matches'), ',')} "
            f"| {', '.join(map(str, m['status']))} |"
        )
    lines += [
        "",
        "Queries: `q=item000123` (text: IDs exact/prefix/contains and labels), "
        "the label of item0000123, lower case (text, label), `q=^cluster 1[0-9] item 12\\d*5$&mode=regex` "
        "(regex on labels), `q=group 07&column=group` (metadata column); neighbours: a "
        "different random item per request.",
        "",
        "### Server memory",
        "",
        "| when | resident (VmRSS) | peak so far (VmHWM) |",
        "|---|---:|---:|",
    ]
    for when, m in r["memory_mib"].items():
        lines.append(
            f"| {when} | {_f(m.get('VmRSS'), ',.0f', ' MiB')} | {_f(m.get('VmHWM'), ',.0f', ' MiB')} |"
        )
    return [*lines, ""]


def write_report(results: dict[str, Any], meta: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Web explorer: first map on ML-100K, and a large vectors file in the page (issue 19)",
        "",
        "Protocol: below, and in full in the docstring of `benchmarks/bench_explorer.py`. "
        "Wall-clock times on loopback; the browser, the client and the server share "
        "the machine's cores. Nothing asserts a time; the targets of issue 19 are listed with "
        "whether each holds.",
        "",
        f"Written {meta['date']} on {meta['machine']}; commit {meta['commit']}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
        + ".",
        "",
    ]
    for name, entry in results.items():
        lines.append(f"Command of {name}: `{entry.get('command', '?')}`.  ")
    lines.append("")
    t = targets(results)
    if t:
        lines += ["## Targets", "", *t, ""]
    lines += [
        "## Protocol",
        "",
        "- **first-map**: `MatrixFactorization(random_state=0)` on all of ML-100K, saved twice:",
        '  with the stored t-SNE layout (`model.save(path, layout=el.viz.project(model, "tsne"))`)',
        "  and without. Each bundle served by `python -m embedlab serve BUNDLE --port P` in its",
        "  own process, 3 starts. Ready = `/api/health` 200 (polled every 50 ms from `Popen`);",
        "  then `/api/map` polled every 50 ms on a keep-alive `httpx.Client` until 200",
        '  `status: "ready"` (the 202s counted). Median of the starts.',
        "- **scale**: clustered float32 vectors (Gaussian clusters, seed 0), keys "
        "`item0000001`...,",
        "  labels `Cluster c item i`, metadata `group` (20 levels) and `popularity`, written by",
        "  `KeyedEmbeddings(...).to_parquet`; served by `python -m embedlab serve FILE --map pca`",
        "  (or the inline launcher when that cannot open a file). Headless Chromium 1400 x 900,",
        "  launched and at about:blank before the server starts, navigates right after ready;",
        "  an init script stamps (page clock) `body[data-ready]` (info loaded, search usable) and",
        '  `#map[data-state="ready"]` (every point drawn; `data-points` = items). Then one',
        "  keep-alive `httpx.Client`: each request once cold (first), then 50 times",
        "  (p50/p95/max); neighbours use a different random item per request (the server caches",
        "  neighbour answers). Server memory from `/proc/<pid>/status`.",
        "- Targets are judged on p95 for request times; no time is asserted anywhere.",
        "",
    ]
    if "first-map" in results:
        lines += section_first_map(results["first-map"])
    if "scale" in results:
        lines += section_scale(results["scale"])
    lines = [x for i, x in enumerate(lines) if x or i == 0 or lines[i - 1]]  # one blank line
    lines += [RAW_MARK, json.dumps({"results": results, "meta": meta}, indent=1), "-->", ""]
    REPORT.write_text("\n".join(lines))


def old_results() -> dict[str, Any]:
    if not REPORT.exists():
        return {}
    text = REPORT.read_text()
    at = text.find(RAW_MARK)
    if at < 0:
        return {}
    raw = text[at + len(RAW_MARK) :].rsplit("-->", 1)[0]
    try:
        return dict(json.loads(raw).get("results", {}))
    except (ValueError, AttributeError):
        return {}


# ---------------------------------------------------------------------------- main
def _command(args: argparse.Namespace, section: str) -> str:
    parts = ["python benchmarks/bench_explorer.py", f"--sections {section}"]
    if section == "scale":
        parts += [f"--items {args.items}", f"--dim {args.dim}"]
        if args.clusters != 200:
            parts.append(f"--clusters {args.clusters}")
        if args.map_method != "pca":
            parts.append(f"--map-method {args.map_method}")
        if args.serve != "auto":
            parts.append(f"--serve {args.serve}")
        if args.repeats != 50:
            parts.append(f"--repeats {args.repeats}")
    elif args.map_repeats != 3:
        parts.append(f"--map-repeats {args.map_repeats}")
    return " ".join(parts)


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # runs the finally blocks: servers stop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated, of {', '.join(SECTIONS)} (default: all)",
    )
    parser.add_argument("--items", type=int, default=1_000_000, help="scale: number of vectors")
    parser.add_argument("--dim", type=int, default=32, help="scale: vector width")
    parser.add_argument("--clusters", type=int, default=200, help="scale: Gaussian clusters")
    parser.add_argument("--repeats", type=int, default=50, help="scale: requests per endpoint")
    parser.add_argument("--points-repeats", type=int, default=10, help="scale: /api/map/points")
    parser.add_argument("--map-repeats", type=int, default=3, help="first-map: server starts")
    parser.add_argument(
        "--map-method", default="pca", choices=("pca", "tsne", "umap"), help="scale: the map"
    )
    parser.add_argument(
        "--serve",
        default="auto",
        choices=("auto", "cli", "launcher"),
        help="scale: how to start the server (auto: embedlab serve FILE, else the launcher)",
    )
    parser.add_argument(
        "--workdir", help="scale: keep the generated vectors file here (reused when present)"
    )
    parser.add_argument("--screenshot-dir", help="scale: save a screenshot of the page here")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds allowed for each wait"
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        parser.error(f"--sections {args.sections!r}: expected some of {', '.join(SECTIONS)}")
    if args.items < 1_000 or args.dim < 2 or args.repeats < 2 or args.map_repeats < 1:
        parser.error("expected --items >= 1000, --dim >= 2, --repeats >= 2, --map-repeats >= 1")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    results: dict[str, Any] = {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-explorer-") as tmp_name:
        tmp = Path(tmp_name)
        for section in chosen:
            before = load_avg()
            date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
            entry: dict[str, Any] = {"date": date, "command": _command(args, section)}
            try:
                entry["result"] = (first_map if section == "first-map" else scale)(args, tmp)
            except BenchError as exc:
                failed = True
                entry["error"] = str(exc).replace("\n", " / ")
                print(f"{section} FAILED: {exc}", file=sys.stderr)
            entry["load_before"] = before
            entry["load_after"] = load_avg()
            print(f"{section}: load average {entry['load_before']} -> {entry['load_after']}")
            results[section] = entry
    chromium = results.get("scale", {}).get("result", {}).get("chromium")
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "commit": git_commit(),
        "versions": versions(chromium),
    }
    for line in targets(results):
        print(line)
    if not args.no_write:
        merged = old_results()
        merged.update(results)
        ordered = {s: merged[s] for s in SECTIONS if s in merged}
        write_report(ordered, meta)
        print(f"wrote {REPORT}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
