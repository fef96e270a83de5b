"""The page in headless Chromium on a bundle of string IDs without titles: it says
"item", and the search finds items by exact and by partial ID."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import embedlab as el
from conftest import LiveServer
from embedlab.web import create_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    rng = np.random.default_rng(0)
    users = [f"c{u}" for u in rng.integers(0, 40, 600)]
    items = [f"SKU-{i:04d}" for i in rng.integers(0, 25, 600)]
    ds = el.Interactions.from_ids(users, items, rng.integers(1, 6, 600), duplicates="last")
    fitted = el.MatrixFactorization(embedding_dim=4, epochs=2, random_state=0)
    fitted.fit(ds, progress=False)
    assert fitted.item_embeddings().labels is None
    return fitted


@pytest.fixture(scope="module")
def server(model: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = model.save(tmp_path_factory.mktemp("web-ids") / "mf")
    with LiveServer(create_app(path, map_method="pca")) as live:
        yield live


def test_the_page_says_item_not_movie(page, screenshot) -> None:
    assert page.inner_text("#find-title") == "Find an item"
    assert page.inner_text("#rate-title") == "Rate a few items"
    assert page.get_attribute("#search", "placeholder") == "type an ID or part of one"
    page.wait_for_selector("#map[data-state=ready]")
    screenshot(page, "ids-start")
    assert "movie" not in page.inner_text("body").lower()
    placeholders = page.locator("input").evaluate_all("els => els.map(e => e.placeholder)")
    assert not any("movie" in p.lower() or "title" in p.lower() for p in placeholders)


def test_exact_id_shows_its_neighbours(page, model, screenshot) -> None:
    expected = model.item_embeddings().most_similar("SKU-0007", topn=10)
    page.fill("#search", "SKU-0007")
    page.wait_for_selector("#suggestions li")
    first = page.locator("#suggestions li").first
    assert first.get_attribute("data-key") == "SKU-0007"
    first.click()
    page.wait_for_selector("#neighbours[data-query='SKU-0007']")
    keys = page.locator("#neighbours li").evaluate_all("els => els.map(e => e.dataset.key)")
    assert keys == [str(k) for k in expected["key"]]
    assert "SKU-0007" in page.inner_text("#neighbours-title")
    screenshot(page, "ids-neighbours")


def test_partial_id_finds_it_too(page, screenshot) -> None:
    page.fill("#search", "0007")
    page.wait_for_selector("#suggestions li[data-key='SKU-0007']")
    keys = page.locator("#suggestions li").evaluate_all("els => els.map(e => e.dataset.key)")
    assert all("0007" in k for k in keys)
    screenshot(page, "ids-partial")
    page.keyboard.press("Enter")
    page.wait_for_selector("#neighbours[data-query='SKU-0007']")


def test_rate_by_id_and_recommend(page) -> None:
    assert page.inner_text("label[for='rate-search']") == "Item"
    for key in ("SKU-0003", "SKU-0011"):
        page.fill("#rate-search", key.lower())
        page.wait_for_selector(f"#rate-suggestions li[data-key='{key}']")
        page.press("#rate-search", "Enter")
        page.wait_for_selector(f"#rated li[data-key='{key}']")
    page.click("#recommend")
    page.wait_for_selector("#recommendations li")
