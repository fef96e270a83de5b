"""The interactive map in headless Chromium: loads offline, no console errors, search works."""

from __future__ import annotations

import os

import pytest

import embedlab.viz as viz

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def map_page(planted, tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "map.html"
    picture = viz.embedding_map(planted[0], "pca", color="genre", data="synthetic")
    picture.save(path)
    return path, picture


def test_map_opens_offline_and_search_highlights(chromium_path, map_page, tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    path, picture = map_page
    errors: list[str] = []
    requests: list[str] = []
    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), headless=True, args=args)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "console",
                lambda m: (
                    errors.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on(
                "request",
                lambda r: (
                    requests.append(r.url)
                    if not r.url.startswith(("file:", "data:", "blob:"))
                    else None
                ),
            )
            page.goto(path.as_uri())
            page.wait_for_function("typeof window.embedlabSearch === 'function'")
            page.wait_for_selector("#embedlab-map .scatterlayer .trace")
            n_points = page.evaluate(
                "document.querySelectorAll('#embedlab-map .scatterlayer .point').length"
            )
            assert n_points == 300

            # The search box: type a title, press Enter.
            frame = picture.projection
            target = frame.nlargest(1, "n_ratings")["label"].iloc[0]
            page.fill("#embedlab-query", target.lower())
            page.press("#embedlab-query", "Enter")
            page.wait_for_function(
                "document.getElementById('embedlab-map').hasAttribute('data-selected')"
            )
            state = page.evaluate(
                """() => {
                const gd = document.getElementById('embedlab-map');
                const n = gd.data.length;
                return {selected: gd.data[n - 1].x.length, neighbours: gd.data[n - 2].x.length,
                        label: gd.data[n - 1].text[0], row: gd.getAttribute('data-selected'),
                        listed: document.querySelectorAll('#embedlab-neighbours li').length,
                        status: document.getElementById('embedlab-status').textContent};
            }"""
            )
            row = int(frame.index[frame["label"] == target][0])
            assert state == {
                "selected": 1,
                "neighbours": 10,
                "label": target,
                "row": str(row),
                "listed": 10,
                "status": state["status"],
            }
            assert state["status"].startswith(target)
            # The highlight is drawn: the selected trace's star is on the page.
            stars = page.evaluate(
                "document.querySelectorAll('#embedlab-map .scatterlayer .trace:last-child .point').length"
            )
            assert stars == 1
            expected = [frame["key"].iloc[j] for j in picture.neighbours[row]]
            found = page.evaluate(f"window.embedlabSearch({target!r})")
            assert found["neighbours"] == expected
            assert page.evaluate("window.embedlabSearch('no such film at all')") is None

            # Clicking a legend entry hides that group.
            page.click("#embedlab-map .legend .traces >> nth=0")
            page.wait_for_function(
                "document.getElementById('embedlab-map').data[0].visible === 'legendonly'"
            )
            page.evaluate(f"window.embedlabSearch({target!r})")  # highlight for the picture
            shot = tmp_path / "map.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
    assert errors == []
    assert requests == []
