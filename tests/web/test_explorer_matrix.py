"""Issue 19's acceptance matrix: the explorer's main flows in Chromium on three sources
(real ML-100K with a stored t-SNE map, a bundle with string IDs and no metadata, a
word2vec text file opened as ``embedlab serve`` opens it) at desktop and phone sizes.

Each run: the page loads, the map draws every point, Enter on the map selects the point
nearest its middle and the search box names it, a search leads to neighbours with the
measure named beside each number, the Euclidean ranking swaps in, the selection and its
neighbours are ringed and can be isolated, zoom works, a legend entry filters the map and
a numeric column shows a colour bar (where the source has them), a regular expression
lists its matches, a reload restores the view from the address, and with a model the
visitor's recommendations are labelled as predicted ratings and a training user's
history sits beside their recommendations. axe finds no serious or critical violation, a
screenshot is saved, and no console error or request to another host happened (the
:class:`Tab` of ``test_explorer_page`` records both). The flows in detail are tested in
``test_explorer_page.py``; this file shows they hold on every kind of source.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from test_explorer_page import SIZES, axe_problems

import embedlab as el
from conftest import LiveServer
from embedlab.web import create_app

pytestmark = pytest.mark.browser


@dataclass
class Source:
    """A served source and what the test knows about it."""

    server: LiveServer
    n_points: int  # points the map shows at the default minimum count
    query: str  # typed in the search box
    key: str  # the item that query finds first
    has_model: bool
    regex: str  # a pattern that matches some items
    rate: str | None = None  # typed in the rating box (with a model)
    user: str | None = None  # the start of a training user's ID (with a model)


@pytest.fixture(scope="module")
def ml100k(ml100k_dir, tmp_path_factory) -> Iterator[Source]:
    """Real ML-100K: a default MatrixFactorization saved with its t-SNE map."""
    model = el.MatrixFactorization(random_state=0).fit(
        el.load_movielens(ml100k_dir), progress=False
    )
    path = tmp_path_factory.mktemp("matrix") / "ml100k"
    model.save(path, layout=el.viz.project(model, "tsne"))
    app = create_app(path)
    assert app.state.explorer.map_method == "tsne"  # the stored map, ready at once
    counts = np.asarray(model.item_counts_)
    shown = int((counts >= app.state.explorer.default_min_count).sum())
    with LiveServer(app) as live:
        yield Source(
            live, shown, "star wars", "50", True, r"^star (wars|trek)", rate="fargo", user="19"
        )


@pytest.fixture(scope="module")
def string_ids(tmp_path_factory) -> Iterator[Source]:
    """String IDs ("SKU-0001"...), no titles, no metadata: IDs are the labels."""
    rng = np.random.default_rng(1)
    users = [f"c{u:03d}" for u in rng.integers(0, 120, 5000)]
    items = [f"SKU-{i:04d}" for i in rng.integers(0, 80, 5000)]
    ds = el.Interactions.from_ids(users, items, rng.integers(1, 6, 5000), duplicates="last")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", el.DataWarning)
        model = el.MatrixFactorization(embedding_dim=8, epochs=5, random_state=0).fit(
            ds, progress=False
        )
    path = model.save(tmp_path_factory.mktemp("matrix") / "sku")
    app = create_app(path, map_method="pca")
    counts = np.asarray(model.item_counts_)
    shown = int((counts >= app.state.explorer.default_min_count).sum())
    with LiveServer(app) as live:
        yield Source(
            live, shown, "sku-0042", "SKU-0042", True, r"^sku-00[1-3]", rate="SKU-0007", user="c01"
        )


@pytest.fixture(scope="module")
def word2vec(tmp_path_factory) -> Iterator[Source]:
    """A word2vec text file with 300 planted words: no model, no counts."""
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(5, 24)) * 3
    words = [
        f"{kind}_{i:02d}" for kind in ("red", "blue", "green", "cat", "dog") for i in range(60)
    ]
    vectors = np.vstack([centres[i // 60] + rng.normal(size=24) for i in range(300)])
    path = tmp_path_factory.mktemp("matrix") / "words.txt"
    el.KeyedEmbeddings(vectors, words).save_word2vec_format(path)
    app = create_app(el.open_vectors(path), map_method="pca", source_name=path.name)
    with LiveServer(app) as live:
        yield Source(live, 300, "green_07", "green_07", False, r"^(cat|dog)_0")


SOURCES = ["ml100k", "string_ids", "word2vec"]


@pytest.fixture(params=SOURCES)
def source(request) -> Source:
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("size", list(SIZES))
def test_main_flows(tabs, source, size, request, screenshot) -> None:
    tab = tabs[size]
    tab.errors.clear()
    tab.foreign.clear()
    tab.allowed.clear()
    name = request.node.callspec.id.replace("-", "_")
    page: Any = tab.open(source.server.url + "/")
    page.set_default_timeout(30_000)
    # the map draws every point the filter keeps
    page.wait_for_selector("#map[data-state=ready]")
    assert page.get_attribute("#map", "data-points") == str(source.n_points)
    # Enter on the focused map selects the point nearest its middle; the box names it
    selected = (
        "() => /^[0-9]+$/.test(document.querySelector('#map').dataset.selected || '')"
        " && document.querySelector('#neighbours').dataset.query"
        " && document.querySelector('#neighbours li')"
    )
    for attempt in range(3):  # a key press can land before the page listens, under load
        page.focus("#map")
        page.keyboard.press("Enter")
        try:
            page.wait_for_function(selected, timeout=10_000)
            break
        except Exception:
            if attempt == 2:
                raise
    chosen = page.get_attribute("#neighbours", "data-query")
    doc = page.evaluate(
        "k => fetch('/api/items/' + encodeURIComponent(k) + '/neighbours?k=1').then(r => r.json())",
        chosen,
    )
    picked = doc["query"][0]
    assert page.input_value("#search") == (picked["label"] or str(picked["key"]))
    page.wait_for_selector(f"#map[data-selected='{picked['row']}']")  # drawn on the next frame
    # search, then pick the first suggestion: its neighbours, each number named
    page.fill("#search", source.query)
    page.wait_for_selector(f"#suggestions li[data-key='{source.key}']")
    page.locator(f"#suggestions li[data-key='{source.key}']").first.click()
    page.wait_for_selector(f"#neighbours[data-query='{source.key}'] li")
    assert "cosine" in page.inner_text("#neighbours").lower()
    page.select_option("#metric", "euclidean")
    page.wait_for_selector(f"#neighbours[data-metric='euclidean'][data-query='{source.key}'] li")
    assert "distance" in page.inner_text("#neighbours").lower()
    # the selection and its neighbours ringed; isolate draws only them
    page.wait_for_function("() => Number(document.querySelector('#map').dataset.highlighted) > 1")
    page.check("#isolate")
    page.wait_for_function(
        "() => { const m = document.querySelector('#map').dataset;"
        " return m.drawn === m.highlighted; }"
    )
    page.uncheck("#isolate")
    # zoom in and back
    page.click("#zoom-in")
    page.wait_for_selector("#map[data-zoom='1.250']")
    page.click("#zoom-reset")
    page.wait_for_selector("#map[data-zoom='1.000']")
    # colour: a legend entry filters the map, a numeric column shows a colour bar
    colours = [o for o in page.eval_on_selector_all("#colour option", "os => os.map(o => o.value)")]
    if "genres" in colours:
        page.select_option("#colour", "genres")
        page.locator("#legend button").first.click()
        page.wait_for_selector("#legend button[aria-pressed=true]")
        shown = int(page.get_attribute("#map", "data-shown"))
        assert 0 < shown < source.n_points
        page.click("#legend-all")
    if "n_ratings" in colours:
        page.select_option("#colour", "n_ratings")
        page.wait_for_selector("#colourbar", state="visible")
    # a regular expression lists its matches
    page.check("#search-regex")
    page.fill("#search", source.regex)
    page.press("#search", "Enter")
    page.wait_for_selector("#search-results li")
    page.uncheck("#search-regex")
    # the address holds the view: a reload restores the selection and the measure
    page.wait_for_function("() => /[?&]metric=euclidean/.test(location.search)")
    page.reload()
    page.wait_for_selector("body[data-restored=true]")
    page.wait_for_selector("#neighbours[data-metric='euclidean'] li")
    assert page.input_value("#metric") == "euclidean"
    if source.has_model:
        page.fill("#rate-search", source.rate)
        page.wait_for_selector("#rate-suggestions li")
        page.press("#rate-search", "Enter")
        page.wait_for_selector("#recommendations li")
        assert "predicted rating" in page.inner_text("#recommendations").lower()
        # a training user: their history beside their recommendations
        page.fill("#user-search", source.user)
        page.wait_for_selector("#user-suggestions li")
        page.locator("#user-suggestions li").first.click()
        page.wait_for_selector("#user-recs li")
        assert int(page.get_attribute("#user-history", "data-count")) > 0
    else:
        assert page.locator("#rate-panel").is_hidden()
        assert page.locator("#user-panel").is_hidden()
    assert axe_problems(page) == []
    screenshot(page, f"matrix-{name}")
    tab.check()
