"""The page in headless Chromium (Playwright) against a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import LiveServer
from embedlab.web import create_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(web_bundle) -> Iterator[LiveServer]:
    with LiveServer(create_app(web_bundle[0], map_method="pca")) as live:
        yield live


def title(model: Any, key: int) -> str:
    return str(model.item_metadata_["title"].iloc[model.items_.index(key)])


def test_type_a_title_pick_the_suggestion_see_neighbours(page, web_bundle, screenshot) -> None:
    model = web_bundle[1]
    expected = model.item_embeddings().most_similar(5, topn=10)
    page.fill("#search", title(model, 5)[:-7].lower())  # no year, lower case
    page.wait_for_selector("#suggestions li")
    first = page.locator("#suggestions li").first
    assert first.get_attribute("data-key") == "5"
    first.click()
    page.wait_for_selector("#neighbours[data-query='5']")
    keys = page.locator("#neighbours li").evaluate_all("els => els.map(e => e.dataset.key)")
    assert keys == [str(k) for k in expected["key"]]
    assert title(model, 5) in page.inner_text("#neighbours-title")
    text = page.inner_text("#neighbours")
    assert f"{expected['similarity'].iloc[0]:.3f}" in text
    genres = model.item_metadata_["genres"].iloc[model.items_.index(int(keys[0]))]
    assert genres[0] in text
    screenshot(page, "neighbours")
    # the rating-count filter reloads the neighbours with min_count
    page.fill("#min-count", "80")
    page.press("#min-count", "Enter")
    filtered = model.item_embeddings().most_similar(5, topn=10, min_count=80)
    wanted = [str(k) for k in filtered["key"]]
    page.wait_for_function(
        "keys => JSON.stringify([...document.querySelectorAll('#neighbours li')]"
        ".map(e => e.dataset.key)) === JSON.stringify(keys)",
        arg=wanted,
    )


def test_keyboard_only_search(page, web_bundle) -> None:
    model = web_bundle[1]
    page.focus("#search")
    page.keyboard.type(title(model, 12))
    page.wait_for_selector("#suggestions li")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_selector("#neighbours[data-query='12']")
    # the neighbour list is reachable with Tab and Enter follows a neighbour
    page.focus("#neighbours li button")
    key = page.locator("#neighbours li").first.get_attribute("data-key")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#neighbours[data-query='{key}']")


def test_rate_five_movies_and_get_recommendations(page, web_bundle, screenshot) -> None:
    model = web_bundle[1]
    picks = [(1, "5"), (2, "5"), (3, "4"), (4, "1"), (6, "2")]
    for key, stars in picks:
        page.select_option("#rate-value", stars)
        page.fill("#rate-search", title(model, key))
        page.wait_for_selector(f"#rate-suggestions li[data-key='{key}']")
        page.press("#rate-search", "Enter")
        page.wait_for_selector(f"#rated li[data-key='{key}']")
    assert page.get_attribute("#rated", "data-count") == "5"
    page.focus("#recommend")
    page.keyboard.press("Enter")
    page.wait_for_selector("#recommendations li")
    keys = page.locator("#recommendations li").evaluate_all("els => els.map(e => e.dataset.key)")
    expected = model.recommend_for_ratings([(k, float(s)) for k, s in picks], 10, explain=True)
    assert keys == [str(k) for k in expected["item"]]
    assert "because you liked" in page.inner_text("#recommendations")
    screenshot(page, "recommendations")


def test_map_renders_every_point_and_a_click_shows_neighbours(page, web_bundle, screenshot) -> None:
    model = web_bundle[1]
    page.wait_for_selector("#map[data-state=ready]")
    assert page.get_attribute("#map", "data-points") == str(len(model.items_))
    box = page.locator("#map").bounding_box()
    screen = page.evaluate(
        "() => window.embedlabMap.rows().map(r => [r, ...window.embedlabMap.screenOf(r)])"
    )
    # a point with no other point within 12 px, so the click is unambiguous
    row, x, y = next(
        (r, x, y)
        for r, x, y in screen
        if all((x - x2) ** 2 + (y - y2) ** 2 > 144 for r2, x2, y2 in screen if r2 != r)
    )
    key = model.items_.ids()[row].item()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_selector(f"#neighbours[data-query='{key}']")
    assert page.get_attribute("#neighbours", "data-count") == "10"
    assert page.locator("#legend li").count() >= 2
    screenshot(page, "map")


def test_analogy_panel(page, web_bundle) -> None:
    model = web_bundle[1]
    expected = model.item_embeddings().most_similar([2, 3], [1], topn=10)
    page.fill("#analogy-a", "1")
    page.fill("#analogy-b", title(model, 2))
    page.fill("#analogy-c", "3")
    page.press("#analogy-c", "Enter")
    page.wait_for_selector("#analogy-results li")
    keys = page.locator("#analogy-results li").evaluate_all("els => els.map(e => e.dataset.key)")
    assert keys == [str(k) for k in expected["key"]]


def test_narrow_window_has_no_horizontal_scroll(browser, server, screenshot) -> None:
    context = browser.new_context(viewport={"width": 380, "height": 800})
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        page.wait_for_selector("#map[data-state=ready]")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 380, width
        map_box = page.locator("#map").bounding_box()
        search_box = page.locator("#search").bounding_box()
        assert map_box["width"] <= 380 and map_box["y"] > search_box["y"]  # stacked
        screenshot(page, "narrow")
    finally:
        context.close()


def test_the_page_says_the_map_is_computing_then_shows_it(
    browser, web_bundle, monkeypatch, screenshot
) -> None:
    import embedlab.web._app as web_app

    gate = threading.Event()
    real = web_app._project

    def slow_project(*args: Any, **kwargs: Any) -> Any:
        assert gate.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(web_app, "_project", slow_project)
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    errors: list[str] = []
    try:
        with LiveServer(create_app(web_bundle[0], map_method="pca")) as live:
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.set_default_timeout(15_000)
            page.goto(live.url + "/")
            page.wait_for_selector("body[data-ready=true]")
            page.wait_for_selector("#map[data-state=computing]")
            hint = page.inner_text("#map-hint").lower()
            assert "computing the pca map" in hint, hint
            assert page.get_attribute("#map", "data-points") == "0"
            # the rest of the page works meanwhile
            page.fill("#search", "1")
            page.wait_for_selector("#suggestions li")
            screenshot(page, "map-computing")
            gate.set()
            page.wait_for_selector("#map[data-state=ready]")  # polled until ready
            assert page.get_attribute("#map", "data-points") == str(len(web_bundle[1].items_))
            assert "computing" not in page.inner_text("#map-hint").lower()
    finally:
        gate.set()
        context.close()
    assert errors == []


def test_the_filter_drives_the_map_too(page, web_bundle) -> None:
    model = web_bundle[1]
    counts = [int(c) for c in model.item_counts_]
    page.wait_for_selector("#map[data-state=ready]")
    assert page.input_value("#min-count") == "10"  # /api/info's default_min_count
    assert "default 10" in page.inner_text("#min-count-default")
    threshold = sorted(counts)[len(counts) // 2]
    page.fill("#min-count", str(threshold))
    page.press("#min-count", "Enter")
    wanted = sum(c >= threshold for c in counts)
    assert wanted < len(counts)
    page.wait_for_selector(f"#map[data-points='{wanted}']")
    assert f"of {len(counts)}" in page.inner_text("#map-hint")
    page.fill("#min-count", "0")
    page.press("#min-count", "Enter")
    page.wait_for_selector(f"#map[data-points='{len(counts)}']")
