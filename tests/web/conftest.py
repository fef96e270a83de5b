"""Fixtures of the web tests: a small titled bundle, an in-process client, a live server."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import embedlab as el

#: Debian's chromium; ``EMBEDLAB_CHROMIUM`` points elsewhere (as in tests/viz).
CHROMIUM = os.environ.get("EMBEDLAB_CHROMIUM", "/usr/bin/chromium")


def _fit(model: Any, ds: Any) -> Any:
    """``model.fit(ds)``, with no DataWarning about the fit's quality: these tiny models
    are there to be served, not to predict well."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", el.DataWarning)
        return model.fit(ds, progress=False)


@pytest.fixture(scope="session")
def web_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """A MatrixFactorization of 150 users x 60 titled items (planted genres), saved once."""
    ds, _ = el.synthetic_ratings(150, 60, 4000, random_state=3)
    model = _fit(el.MatrixFactorization(embedding_dim=8, epochs=5, random_state=0), ds)
    path = model.save(tmp_path_factory.mktemp("web") / "mf")
    return path, model


@pytest.fixture(scope="session")
def web_bundle_str(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """A MatrixFactorization of 40 users ("c0".."c39") x 25 items ("SKU-0000"..), no
    titles, and some numeric-looking string IDs ("7", "-3", "²"), saved once."""
    rng = np.random.default_rng(0)
    users = [f"c{u}" for u in rng.integers(0, 40, 600)] + ["7", "-3", "²"]
    items = [f"SKU-{i:04d}" for i in rng.integers(0, 25, 600)] + ["7", "-3", "²"]
    ratings = rng.integers(1, 6, len(users))
    ds = el.Interactions.from_ids(users, items, ratings, duplicates="last")
    model = _fit(el.MatrixFactorization(embedding_dim=4, epochs=2, random_state=0), ds)
    return model.save(tmp_path_factory.mktemp("web") / "mf_str"), model


class LiveServer:
    """uvicorn serving an app on 127.0.0.1 in a thread, on a free port."""

    def __init__(self, app: object) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def require_chromium() -> str:
    """The Chromium path; skip (fail under CI=true) when it is absent."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    reason = (
        f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set EMBEDLAB_CHROMIUM)"
    )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true makes browser tests mandatory: {reason}")
    pytest.skip(reason)
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium driven by Playwright (never downloads a browser)."""
    executable = require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def screenshot(tmp_path: Path):
    """``screenshot(page, name)``: saves into tmp_path and $EMBEDLAB_SCREENSHOTS if set."""

    def save(page: object, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        extra = os.environ.get("EMBEDLAB_SCREENSHOTS")
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(extra) / path.name)
        return path

    return save


@pytest.fixture
def page(browser, server) -> Iterator[Any]:
    """The explorer page of the test module's ``server`` fixture, loaded and ready in
    Chromium; fails the test on any console or page error."""
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(15_000)
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    yield page
    context.close()
    assert errors == [], f"console errors: {errors}"


@pytest.fixture(scope="module")
def tabs(browser) -> Iterator[dict[str, Any]]:
    """One page tab per size of ``test_explorer_page.SIZES`` (desktop, phone), reused by
    a module's tests."""
    from test_explorer_page import SIZES, Tab

    made = {size: Tab(browser, size) for size in SIZES}
    yield made
    for one in made.values():
        one.context.close()


@pytest.fixture(params=["desktop", "phone"])
def tab(request, tabs) -> Iterator[Any]:
    """Each size's tab in turn, cleared before the test and checked after it (no console
    errors, no external requests)."""
    current = tabs[request.param]
    current.errors.clear()
    current.foreign.clear()
    current.allowed.clear()
    yield current
    current.check()
