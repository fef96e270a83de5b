"""On real ML-100K, in the browser: search "star wars", pick it, see its sequels."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import embedlab as el
from conftest import LiveServer
from embedlab.web import create_app

pytestmark = [pytest.mark.realdata, pytest.mark.browser]


@pytest.fixture(scope="module")
def ml100k_server(ml100k_dir, tmp_path_factory) -> Iterator[LiveServer]:
    model = el.MatrixFactorization(random_state=0).fit(
        el.load_movielens(ml100k_dir), progress=False
    )
    bundle = model.save(tmp_path_factory.mktemp("web-ml100k") / "mf")
    with LiveServer(create_app(bundle, map_method="pca")) as live:
        live.item_counts = [int(c) for c in model.item_counts_]  # type: ignore[attr-defined]
        yield live


def test_star_wars_in_the_browser(browser, ml100k_server, screenshot) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    errors: list[str] = []
    try:
        page: Any = context.new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_default_timeout(30_000)
        page.goto(ml100k_server.url + "/")
        page.wait_for_selector("body[data-ready=true]")
        page.fill("#search", "star wars")
        page.wait_for_selector("#suggestions li")
        first = page.locator("#suggestions li").first
        assert "Star Wars (1977)" in first.inner_text()
        first.click()
        page.wait_for_selector("#neighbours[data-query='50']")
        text = page.inner_text("#neighbours")
        assert "Return of the Jedi (1983)" in text and "Empire Strikes Back, The (1980)" in text
        # the default minimum (10 ratings) leaves out "unknown" (9) and rarely rated items
        assert page.input_value("#min-count") == "10"
        assert "default 10" in page.inner_text("#min-count-default")
        assert "unknown" not in page.inner_text("#neighbours").lower()
        doc = page.evaluate("fetch('/api/items/50/neighbours?k=100').then(r => r.json())")
        assert all(n["n_ratings"] >= 10 for n in doc["neighbours"])
        page.wait_for_selector("#map[data-state=ready]")
        shown = sum(c >= 10 for c in ml100k_server.item_counts)
        assert page.get_attribute("#map", "data-points") == str(shown) != "1682"
        screenshot(page, "ml100k-star-wars")
        # 0 turns the filter off, for the neighbours and the map alike
        page.fill("#min-count", "0")
        page.press("#min-count", "Enter")
        page.wait_for_selector("#map[data-points='1682']")
    finally:
        context.close()
    assert errors == [], f"console errors: {errors}"
