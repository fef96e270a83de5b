"""Shared fixtures. Real MovieLens data: $EMBEDLAB_TEST_DATA, default ../shared/data.

Tests marked ``realdata`` skip with a reason when the folder is absent, except under
``CI=true`` where they fail: CI must run them.

``movielens_server`` serves a tiny ML-100K zip (see ``tests/movielens_files.py``) from a
local HTTP server on 127.0.0.1; ``movielens_url`` is its URL with the registry's ml-100k
entry swapped for the tiny release; ``refused_url`` is a local URL nothing listens on.
"""

from __future__ import annotations

import http.server
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from embedlab.data._download import _BY_NAME
from movielens_files import MovieLensServer, tiny_release

REPO = Path(__file__).resolve().parents[1]
TEST_DATA_ENV = "EMBEDLAB_TEST_DATA"


def _shared_data() -> Path:
    return Path(os.environ.get(TEST_DATA_ENV, REPO.parent / "shared" / "data")).expanduser()


def _require(path: Path, what: str) -> Path:
    if path.exists():
        return path
    reason = f"{what} not found at {path} (set {TEST_DATA_ENV} to the folder holding ml-100k/ and ml-latest-small/)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true makes real-data tests mandatory: {reason}")
    pytest.skip(reason)
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real MovieLens files."""
    return _require(_shared_data(), "real MovieLens data")


@pytest.fixture(scope="session")
def ml100k_dir(shared_data: Path) -> Path:
    return _require(shared_data / "ml-100k", "ML-100K")


@pytest.fixture(scope="session")
def mlsmall_dir(shared_data: Path) -> Path:
    return _require(shared_data / "ml-latest-small", "ml-latest-small")


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never let a test read or write the user's real cache or data folders."""
    monkeypatch.setenv("EMBEDLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("EMBEDLAB_DATA", raising=False)


# --------------------------------------------------------------------------- local server


class _MovieLensHandler(http.server.BaseHTTPRequestHandler):
    server: _MovieLensHTTPServer

    def do_GET(self) -> None:
        state = self.server.state
        state.requests.append(self.path)
        if state.delay and state.stop.wait(state.delay):
            return
        if state.status != 200:
            self.send_error(state.status)
            return
        if self.path != state.path:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(state.body) + state.extra_length))
        self.end_headers()
        self.wfile.write(state.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _MovieLensHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    state: MovieLensServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (timeout tests) is expected


@pytest.fixture
def movielens_server() -> Iterator[MovieLensServer]:
    """A server on 127.0.0.1 (port 0) serving the tiny ML-100K zip at ``/ml-100k.zip``."""
    httpd = _MovieLensHTTPServer(("127.0.0.1", 0), _MovieLensHandler)
    state = MovieLensServer(base_url=f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.state = state
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def movielens_url(movielens_server: MovieLensServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """``movielens_server``'s URL, for code that downloads ml-100k by name: the registry's
    ml-100k entry is swapped for the tiny release's (its row count, no pinned checksum)."""
    monkeypatch.setitem(_BY_NAME, "ml-100k", tiny_release())
    return movielens_server.base_url


@pytest.fixture
def refused_url() -> str:
    """A URL on 127.0.0.1 whose port was just free: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
