"""The explorer page's flows (issue 19) in headless Chromium, on a model bundle and on
bare vectors (no model, no counts), at desktop (1400x900) and phone (390x844) sizes.

Every page load checks that no console error happened and that no request left
127.0.0.1; screenshots go to the test's tmp dir (and $EMBEDLAB_SCREENSHOTS if set).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pytest

from conftest import LiveServer
from embedlab.web import create_app

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1400, 900), "phone": (390, 844)}


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def server(web_bundle) -> Iterator[LiveServer]:
    with LiveServer(create_app(web_bundle[0], map_method="pca")) as live:
        yield live


@pytest.fixture(scope="module")
def vectors() -> Any:
    """200 labelled vectors in 4 planted clusters (two share a label); no model, no
    counts, no metadata."""
    from embedlab.embeddings import KeyedEmbeddings

    rng = np.random.default_rng(7)
    centres = rng.normal(size=(4, 16)) * 3
    vecs = np.vstack([centres[i % 4] + rng.normal(size=16) for i in range(200)])
    keys = [f"w{i:03d}" for i in range(200)]
    labels = [f"word {i} (cluster {i % 4})" for i in range(200)]
    labels[1] = labels[0]  # two items with one label: told apart by their IDs
    return KeyedEmbeddings(vecs, keys, labels=labels)


@pytest.fixture(scope="module")
def vectors_server(vectors) -> Iterator[LiveServer]:
    try:
        app = create_app(vectors, map_method="pca")
    except (TypeError, AttributeError, ValueError) as exc:  # the server is not there yet
        pytest.skip(f"create_app does not take KeyedEmbeddings yet: {exc}")
    with LiveServer(app) as live:
        yield live


class Tab:
    """One page in its own context: console errors and foreign requests recorded."""

    def __init__(self, browser: Any, size: str) -> None:
        width, height = SIZES[size]
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.allowed: set[int] = set()
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _route(self, route: Any) -> None:
        url = route.request.url
        host = urlparse(url).hostname
        if url.startswith("data:") or host == "127.0.0.1":
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()

    def open(self, url: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-restored=true]")
        return self.page

    def allow(self, status: int) -> None:
        """An HTTP error the test provokes on purpose (Chromium logs each one)."""
        self.allowed.add(status)

    def check(self) -> None:
        errors = [
            e
            for e in self.errors
            if not (
                (m := re.match(r"Failed to load resource: .* status of (\d+)", e))
                and int(m.group(1)) in self.allowed
            )
        ]
        assert errors == [], f"console errors: {errors}"
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"


def title(model: Any, key: int) -> str:
    return str(model.item_metadata_["title"].iloc[model.items_.index(key)])


def keys_of(page: Any, selector: str) -> list[str]:
    return page.locator(f"{selector} li").evaluate_all("els => els.map(e => e.dataset.key)")


def in_url(page: Any, *parts: str) -> None:
    """Wait until the address bar holds every part (the page writes it after a change)."""
    page.wait_for_function(
        "parts => parts.every(p => location.search.includes(p))", arg=list(parts)
    )


def api(page: Any, path: str) -> Any:
    return page.evaluate("p => fetch(p).then(r => r.json())", path)


def axe_problems(page: Any) -> list[str]:
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    results = axe_module.Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in bad]


# ------------------------------------------------------------------ search


def test_search_by_title_id_regex_and_no_match(tab, server, web_bundle, screenshot) -> None:
    model = web_bundle[1]
    tab.allow(422)  # the bad pattern
    page = tab.open(server.url + "/")
    # a title, partly typed: suggestions with the ID beside the label
    page.fill("#search", title(model, 5)[:-7].lower())
    page.wait_for_selector("#suggestions li[data-key='5']")
    assert "ID 5" in page.inner_text("#suggestions")
    # the exact ID comes first
    page.fill("#search", "17")
    page.wait_for_function("() => document.querySelector('#suggestions li')?.dataset.key === '17'")
    # a nonsense query says "no match" next to the box
    page.fill("#search", "qqqzzzxx")
    page.wait_for_selector("#search-msg.empty")
    assert "No match" in page.inner_text("#search-msg")
    assert page.locator("#search-msg").is_visible()
    # Enter with no match leaves a visible message and no stale results
    page.press("#search", "Enter")
    page.wait_for_selector("#search-results-wrap", state="hidden")
    # regex: every match listed, the first selected
    page.check("#search-regex")
    page.fill("#search", r"^synthetic movie 1\d ")
    page.press("#search", "Enter")
    page.wait_for_selector("#search-results li")
    keys = keys_of(page, "#search-results")
    assert keys and all(10 <= int(k) <= 19 for k in keys)
    assert "10 matches" in page.inner_text("#search-msg")
    page.wait_for_selector(f"#neighbours[data-query='{keys[0]}']")
    screenshot(page, f"search-regex-{page.viewport_size['width']}")
    # a bad pattern: an error that says what to do, not a Python name
    page.fill("#search", "(")
    page.press("#search", "Enter")
    page.wait_for_selector("#search-msg.error")
    message = page.inner_text("#search-msg")
    assert "pattern" in message and "()" not in message
    page.uncheck("#search-regex")


def test_search_in_a_metadata_column(tab, server) -> None:
    page = tab.open(server.url + "/")
    page.select_option("#search-column", "genres")
    page.fill("#search", "sci-fi")
    page.press("#search", "Enter")
    page.wait_for_selector("#search-results li")
    assert "Sci-Fi" in page.inner_text("#search-results")
    page.select_option("#search-column", "")


# ------------------------------------------------------------------ neighbours


def test_neighbours_k_metric_and_min_count(tab, server, web_bundle, screenshot) -> None:
    model = web_bundle[1]
    page = tab.open(server.url + "/?item=5")
    page.wait_for_selector("#neighbours[data-query='5']")
    info = api(page, "/api/info")
    assert page.input_value("#min-count") == str(info["default_min_count"])
    assert page.locator("#min-count").is_visible()
    assert page.get_attribute("#neighbours", "data-count") == "10"
    assert re.search(r"cosine \d\.\d{3}", page.inner_text("#neighbours"))
    expected = model.item_embeddings().most_similar(5, topn=10)
    assert keys_of(page, "#neighbours") == [str(k) for k in expected["key"]]
    page.select_option("#k", "5")
    page.wait_for_selector("#neighbours[data-count='5']")
    page.select_option("#metric", "euclidean")
    page.wait_for_selector("#neighbours[data-metric='euclidean']")
    text = page.inner_text("#neighbours")
    assert re.search(r"distance \d+\.\d{3}", text) and "cosine" not in text
    doc = api(page, "/api/items/5/neighbours?k=5&metric=euclidean")
    assert keys_of(page, "#neighbours") == [str(n["key"]) for n in doc["neighbours"]]
    in_url(page, "metric=euclidean", "k=5")
    announced = page.inner_text("#announce")
    assert "5 neighbours of" in announced and title(model, 5) in announced
    screenshot(page, f"neighbours-euclidean-{page.viewport_size['width']}")
    # the filter drives the list and the map alike
    counts = [int(c) for c in model.item_counts_]
    threshold = sorted(counts)[len(counts) // 2]
    page.fill("#min-count", str(threshold))
    page.press("#min-count", "Enter")
    wanted = sum(c >= threshold for c in counts)
    page.wait_for_selector(f"#map[data-points='{wanted}'][data-state=ready]")
    page.wait_for_function(
        "t => [...document.querySelectorAll('#neighbours li')].length === 5", arg=threshold
    )
    shown = [int(k) for k in keys_of(page, "#neighbours")]
    assert all(counts[model.items_.index(k)] >= threshold for k in shown)
    in_url(page, f"mc={threshold}")


def test_enter_on_a_neighbour_keeps_focus_in_the_list(tab, server) -> None:
    page = tab.open(server.url + "/?item=12")
    page.wait_for_selector("#neighbours[data-query='12']")
    page.focus("#neighbours li button")
    key = page.locator("#neighbours li").first.get_attribute("data-key")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#neighbours[data-query='{key}']")
    inside = page.evaluate("document.querySelector('#neighbours').contains(document.activeElement)")
    assert inside
    assert (
        page.input_value("#search") == page.inner_text("#neighbours-title")[len("Neighbours of ") :]
    )


# ------------------------------------------------------------------ map


def wait_map(page: Any) -> None:
    page.wait_for_selector("#map[data-state=ready]")
    page.locator("#map").scroll_into_view_if_needed()


def lonely_point(page: Any, rows: list[int] | None = None) -> tuple[int, float, float]:
    """A drawn point with no other within 14 px: (row, x, y) in page coordinates."""
    box = page.locator("#map").bounding_box()
    pts = page.evaluate(
        "() => window.embedlabMap.rows().map(r => [r, ...window.embedlabMap.screenOf(r)])"
    )
    for row, x, y in pts:
        if rows is not None and row not in rows:
            continue
        if not (10 < x < box["width"] - 10 and 10 < y < box["height"] - 10):
            continue
        if all((x - x2) ** 2 + (y - y2) ** 2 > 196 for r2, x2, y2 in pts if r2 != row):
            return row, box["x"] + x, box["y"] + y
    raise AssertionError("no isolated point on the map")


def test_map_draws_every_point_coloured_with_a_legend(tab, server, web_bundle, screenshot) -> None:
    model = web_bundle[1]
    page = tab.open(server.url + "/?mc=0")
    wait_map(page)
    assert page.get_attribute("#map", "data-points") == str(len(model.items_))
    assert page.input_value("#colour") == "genres"
    assert int(page.get_attribute("#map", "data-labels")) > 0
    legend = page.inner_text("#legend")
    assert "Sci-Fi" in legend and "other or missing" in legend
    # a legend entry filters: every Sci-Fi item, whatever its first genre
    genres = model.item_metadata_["genres"].tolist()
    sci_fi = sum("Sci-Fi" in list(g) for g in genres)
    page.click("#legend button:has-text('Sci-Fi')")
    page.wait_for_selector("#legend button[aria-pressed=true]")
    assert page.get_attribute("#map", "data-shown") == str(sci_fi)
    page.wait_for_selector(f"#map[data-drawn='{sci_fi}']")  # drawn on the next frame
    in_url(page, "only=Sci-Fi")
    screenshot(page, f"map-legend-sci-fi-{page.viewport_size['width']}")
    page.reload()  # the filter comes back with the address
    page.wait_for_selector("#legend button[aria-pressed=true]:has-text('Sci-Fi')")
    wait_map(page)
    page.wait_for_selector(f"#map[data-drawn='{sci_fi}']")
    page.click("#legend-all")
    page.wait_for_selector("#legend button[aria-pressed=true]", state="detached")
    # numeric colours: a colour bar with min and max
    page.select_option("#colour", "n_ratings")
    page.wait_for_selector("#colourbar", state="visible")
    counts = [int(c) for c in model.item_counts_]
    assert page.inner_text("#colourbar-min") == str(min(counts))
    assert page.inner_text("#colourbar-max") == str(max(counts))
    in_url(page, "colour=n_ratings")
    screenshot(page, f"map-numeric-{page.viewport_size['width']}")
    page.select_option("#colour", "genres")


def test_map_zoom_pan_and_hover(tab, server) -> None:
    page = tab.open(server.url + "/")
    wait_map(page)
    page.click("#zoom-in")
    page.wait_for_selector("#map[data-zoom='1.250']")
    page.click("#zoom-out")
    page.wait_for_selector("#map[data-zoom='1.000']")
    page.locator("#map").scroll_into_view_if_needed()
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)
    page.wait_for_function("() => Number(document.querySelector('#map').dataset.zoom) > 1.2")
    page.focus("#map")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => /[?&]x=/.test(location.search)")
    # drag pans: the point under the pointer moves with it
    row, x, y = lonely_point(page)
    before = page.evaluate("r => window.embedlabMap.screenOf(r)", row)
    page.mouse.move(box["x"] + 30, box["y"] + 30)
    page.mouse.down()
    page.mouse.move(box["x"] + 60, box["y"] + 50, steps=4)
    page.mouse.up()
    after = page.evaluate("r => window.embedlabMap.screenOf(r)", row)
    assert after[0] - before[0] == pytest.approx(30, abs=2)
    assert after[1] - before[1] == pytest.approx(20, abs=2)
    page.click("#zoom-reset")
    page.wait_for_selector("#map[data-zoom='1.000']")
    page.locator("#map").scroll_into_view_if_needed()
    # hover: the tooltip names the colour value and the count
    row, x, y = lonely_point(page)
    page.mouse.move(x, y)
    page.wait_for_selector("#map-tip", state="visible")
    tip = page.inner_text("#map-tip")
    assert "genres:" in tip and "ratings" in tip


def test_map_click_selects_and_highlights(tab, server, web_bundle, screenshot) -> None:
    model = web_bundle[1]
    page = tab.open(server.url + "/")
    wait_map(page)
    row, x, y = lonely_point(page)
    key = model.items_.ids()[row].item()
    page.mouse.move(x, y)
    page.wait_for_selector(f"#map-tip:has-text('{title(model, key)}')")
    page.mouse.click(x, y)
    page.wait_for_selector(f"#map[data-selected='{row}']")
    page.wait_for_selector(f"#neighbours[data-query='{key}'] li")
    assert page.evaluate("document.activeElement.id") == "map"  # focus did not jump
    name = page.inner_text("#neighbours-title")[len("Neighbours of ") :]
    assert page.input_value("#search") == name  # the box and the list agree
    page.wait_for_selector("#map[data-highlighted='11']")  # drawn on the next frame
    if page.viewport_size["width"] < 500:  # on a phone, the list scrolls into view
        page.wait_for_function(
            "() => { const r = document.querySelector('#neighbours-title')"
            ".getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; }"
        )
    page.check("#isolate")
    page.wait_for_selector("#map[data-drawn='11']")
    in_url(page, "iso=1")
    page.uncheck("#isolate")
    # keyboard: Enter on the focused map selects the point nearest the middle
    box = page.locator("#map").bounding_box()
    pts = page.evaluate(
        "() => window.embedlabMap.rows().map(r => [r, ...window.embedlabMap.screenOf(r)])"
    )
    middle = min(
        pts, key=lambda p: (p[1] - box["width"] / 2) ** 2 + (p[2] - box["height"] / 2) ** 2
    )[0]
    page.focus("#map")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#map[data-selected='{middle}']")
    assert page.evaluate("document.activeElement.id") == "map"
    page.check("#isolate")
    screenshot(page, f"map-click-isolate-{page.viewport_size['width']}")
    page.uncheck("#isolate")


def test_selection_is_ringed_and_isolated(tab, server, web_bundle) -> None:
    page = tab.open(server.url + "/?item=5&iso=1&mc=0")
    wait_map(page)
    page.wait_for_selector("#neighbours[data-query='5']")
    page.wait_for_selector("#map[data-highlighted='11']")
    assert page.get_attribute("#map", "data-selected") == str(web_bundle[1].items_.index(5))
    page.wait_for_selector("#map[data-drawn='11']")
    assert page.is_checked("#isolate")


def test_projection_selector_and_progress(browser, web_bundle, monkeypatch, screenshot) -> None:
    import embedlab.web._app as web_app

    gate = threading.Event()
    real = web_app._project

    def slow_project(*args: Any, **kwargs: Any) -> Any:
        gate.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(web_app, "_project", slow_project)
    tab = Tab(browser, "desktop")
    try:
        with LiveServer(create_app(web_bundle[0], map_method="pca")) as live:
            page = tab.page
            page.goto(live.url + "/")
            page.wait_for_selector("body[data-ready=true]")
            page.wait_for_selector("#map[data-state=computing]")
            assert "computing" in page.inner_text("#map-hint").lower()
            assert page.locator("#map-progress").is_visible()
            page.fill("#search", "1")  # the rest of the page works meanwhile
            page.wait_for_selector("#suggestions li")
            screenshot(page, "map-computing")
            gate.set()
            page.wait_for_selector("#map[data-state=ready]")
            assert page.locator("#map-progress").is_hidden()
            page.select_option("#projection", "tsne")
            page.wait_for_selector("#map[data-state=ready][data-method=tsne]", timeout=60_000)
            assert "t-SNE" in page.inner_text("#map-hint")
            in_url(page, "proj=tsne")
    finally:
        gate.set()
        tab.context.close()
    tab.check()


# ------------------------------------------------------------------ recommendations


def rate(page: Any, model: Any, key: int, stars: str) -> None:
    page.select_option("#rate-value", stars)
    page.fill("#rate-search", title(model, key))
    page.wait_for_selector(f"#rate-suggestions li[data-key='{key}']")
    page.press("#rate-search", "Enter")
    page.wait_for_selector(f"#rated li[data-key='{key}']")


def test_recommendations_refresh_and_survive_a_reload(tab, server, web_bundle, screenshot) -> None:
    model = web_bundle[1]
    page = tab.open(server.url + "/")
    picks = [(1, "5"), (2, "5"), (4, "1")]
    for key, stars in picks:
        rate(page, model, key, stars)
    assert "success" in page.get_attribute("#rate-msg", "class")
    # no button press: the list follows the ratings
    page.wait_for_selector("#recommendations[data-ratings='3'] li")
    expected = model.recommend_for_ratings([(k, float(s)) for k, s in picks], 10, explain=True)
    assert keys_of(page, "#recommendations") == [str(k) for k in expected["item"]]
    text = page.inner_text("#recommendations")
    assert re.search(r"predicted rating \d\.\d \(1–5\)", text)
    for li, because in zip(
        page.locator("#recommendations li").all(), expected["because"].tolist(), strict=True
    ):
        shown = li.locator(".because")
        assert (shown.count() == 1) == bool(because)
    # change a rating, then remove one: the list refreshes each time
    page.select_option("#rated li[data-key='4'] select", "5")
    changed = model.recommend_for_ratings([(1, 5.0), (2, 5.0), (4, 5.0)], 10)
    page.wait_for_function(
        "keys => JSON.stringify([...document.querySelectorAll('#recommendations li')]"
        ".map(e => e.dataset.key)) === JSON.stringify(keys)",
        arg=[str(k) for k in changed["item"]],
    )
    in_url(page, "r=1:5,2:5,4:5")
    page.click("#rated li[data-key='4'] button")
    page.wait_for_selector("#recommendations[data-ratings='2']")
    assert "removed" in page.inner_text("#rate-msg")
    assert page.evaluate("document.activeElement.tagName") == "BUTTON"  # focus stayed near
    screenshot(page, f"recommendations-{page.viewport_size['width']}")
    # reload: the ratings and their recommendations come back
    page.reload()
    page.wait_for_selector("body[data-restored=true]")
    assert page.get_attribute("#rated", "data-count") == "2"
    page.wait_for_selector("#recommendations[data-ratings='2'] li")
    page.click("#rated li[data-key='1'] button")
    page.click("#rated li[data-key='2'] button")
    page.wait_for_selector("#recommendations[data-count='0']", state="attached")
    page.wait_for_function("() => !/[?&]r=/.test(location.search)")


def test_a_lone_low_rating_gives_no_reason(tab, server, web_bundle) -> None:
    page = tab.open(server.url + "/?r=50:1")
    page.wait_for_selector("#recommendations[data-ratings='1'] li")
    assert "because" not in page.inner_text("#recommendations")


def test_training_user_picker(tab, server, web_bundle, screenshot) -> None:
    model = web_bundle[1]
    page = tab.open(server.url + "/")
    user = model.users_.ids()[3].item()
    page.fill("#user-search", str(user))
    page.wait_for_selector(f"#user-suggestions li[data-key='{user}']")
    page.press("#user-search", "Enter")
    page.wait_for_selector(f"#user-recs[data-user='{user}'] li")
    assert int(page.get_attribute("#user-history", "data-count")) > 0
    assert "rated " in page.inner_text("#user-history")
    assert "predicted rating" in page.inner_text("#user-recs")
    expected = model.recommend(user, 10)
    assert keys_of(page, "#user-recs") == [str(k) for k in expected["item"]]
    in_url(page, f"user={user}")
    screenshot(page, f"training-user-{page.viewport_size['width']}")
    page.reload()
    page.wait_for_selector(f"#user-recs[data-user='{user}'] li")
    # an unknown user: told next to the field
    tab.allow(404)
    page.fill("#user-search", "999999")
    page.wait_for_selector("#user-msg.empty")
    page.press("#user-search", "Enter")
    page.wait_for_selector("#user-msg.error")
    assert "Traceback" not in page.inner_text("#user-msg")


# ------------------------------------------------------------------ state, layout, a11y


def test_the_url_restores_the_view(tab, server, web_bundle) -> None:
    url = "/?item=5&k=20&metric=euclidean&mc=0&colour=year&proj=pca&iso=1&z=2.000&x=0.1&y=0"
    page = tab.open(server.url + url)
    page.wait_for_selector("#neighbours[data-query='5'][data-count='20']")
    assert page.input_value("#k") == "20"
    assert page.input_value("#metric") == "euclidean"
    assert page.input_value("#min-count") == "0"
    assert page.input_value("#colour") == "year"
    assert page.is_checked("#isolate")
    wait_map(page)
    page.wait_for_selector("#colourbar", state="visible")
    assert page.get_attribute("#map", "data-zoom") == "2.000"


def test_a_mangled_url_falls_back_to_defaults(tab, server) -> None:
    page = tab.open(
        server.url + "/?k=abc&metric=bogus&mc=-3&colour=nope&proj=zzz&z=-1&iso=2&r=garbage,:,5"
    )
    wait_map(page)
    info = api(page, "/api/info")
    assert page.input_value("#k") == "10"
    assert page.input_value("#metric") == "cosine"
    assert page.input_value("#min-count") == str(info["default_min_count"])
    assert page.input_value("#colour") == info["default_colour"]
    assert page.input_value("#projection") == info["map_method"]
    assert page.get_attribute("#map", "data-zoom") == "1.000"
    assert not page.is_checked("#isolate")
    assert page.get_attribute("#rated", "data-count") == "0"


def test_layout_at_both_sizes(tab, server, screenshot) -> None:
    page = tab.open(server.url + "/?item=5")
    wait_map(page)
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    find = page.locator("#find-panel").bounding_box()
    map_box = page.locator("#map-panel").bounding_box()
    if width < 500:
        assert map_box["y"] > find["y"] + find["height"] - 1  # one column
    else:
        assert map_box["x"] > find["x"] + find["width"] - 1  # side by side
    screenshot(page, f"layout-{width}")


def test_no_serious_accessibility_violations(tab, server, web_bundle) -> None:
    page = tab.open(server.url + "/?item=5&r=1:5,2:3")
    wait_map(page)
    page.wait_for_selector("#recommendations li")
    page.fill("#search", "qqqzzz")
    page.wait_for_selector("#search-msg.empty")
    assert axe_problems(page) == []


# ------------------------------------------------------------------ vectors mode


@pytest.mark.parametrize("size", list(SIZES))
def test_vectors_mode(browser, vectors_server, vectors, size, screenshot) -> None:
    tab = Tab(browser, size)
    try:
        page = tab.open(vectors_server.url + "/")
        for panel in ("#rate-panel", "#user-panel", "#min-count-wrap"):
            assert page.locator(panel).is_hidden(), panel
        assert "ratings" not in page.inner_text("#find-panel")
        page.fill("#search", "word 0 (cluster 0)")
        page.wait_for_selector("#suggestions li[data-key='w001']")
        twins = page.locator("#suggestions li").all_inner_texts()
        assert any("ID w000" in t for t in twins) and any("ID w001" in t for t in twins)
        page.fill("#search", "word 17 ")
        page.wait_for_selector("#suggestions li[data-key='w017']")
        page.press("#search", "ArrowDown")
        page.press("#search", "Enter")
        page.wait_for_selector("#neighbours[data-query='w017'][data-count='10']")
        expected = vectors.most_similar("w017", topn=10)
        assert keys_of(page, "#neighbours") == list(expected["key"])
        wait_map(page)
        assert page.get_attribute("#map", "data-points") == "200"
        page.select_option("#metric", "euclidean")
        page.wait_for_selector("#neighbours[data-metric='euclidean']")
        assert "distance" in page.inner_text("#neighbours")
        assert axe_problems(page) == []
        screenshot(page, f"vectors-{SIZES[size][0]}")
    finally:
        tab.context.close()
    tab.check()


@pytest.fixture(scope="module")
def word2vec_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A word2vec text file of 120 words with a metadata CSV (a category and a count)."""
    from embedlab.embeddings import open_vectors

    folder = tmp_path_factory.mktemp("w2v")
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(3, 8)) * 3
    kinds = ["fruit", "tool", "animal"]
    lines = ["120 8"]
    rows = ["word,category,count"]
    for i in range(120):
        vec = centres[i % 3] + rng.normal(size=8)
        lines.append(f"w{i} " + " ".join(f"{v:.5f}" for v in vec))
        rows.append(f"w{i},{kinds[i % 3]},{i + 1}")
    (folder / "vectors.txt").write_text("\n".join(lines) + "\n")
    (folder / "meta.csv").write_text("\n".join(rows) + "\n")
    kv = open_vectors(folder / "vectors.txt", metadata=folder / "meta.csv")
    with LiveServer(create_app(kv, map_method="pca")) as live:
        yield live


def test_word2vec_file_with_metadata(tab, word2vec_server, screenshot) -> None:
    page = tab.open(word2vec_server.url + "/")
    info = api(page, "/api/info")
    assert info["has_model"] is False and info["has_counts"] is True
    assert page.locator("#rate-panel").is_hidden() and page.locator("#user-panel").is_hidden()
    # counts without ratings: the filter is there, worded as a count
    assert page.locator("#min-count-wrap").is_visible()
    assert page.inner_text("#min-count-label") == "count at least"
    wait_map(page)
    shown = int(page.get_attribute("#map", "data-points"))
    assert shown == sum(c >= info["default_min_count"] for c in range(1, 121))
    # colour by the category, filter with the legend
    page.select_option("#colour", "category")
    page.wait_for_selector("#legend button:has-text('tool')")
    page.click("#legend button:has-text('tool')")
    page.wait_for_selector("#legend button[aria-pressed=true]")
    tools = sum(c >= info["default_min_count"] for c in range(2, 121, 3))
    page.wait_for_selector(f"#map[data-drawn='{tools}']")  # drawn on the next frame
    # search the metadata column, then the neighbours
    page.select_option("#search-column", "category")
    page.fill("#search", "animal")
    page.press("#search", "Enter")
    page.wait_for_selector("#search-results li")
    page.wait_for_selector("#neighbours li")
    assert "cosine" in page.inner_text("#neighbours")
    screenshot(page, f"word2vec-{page.viewport_size['width']}")
    page.select_option("#search-column", "")
