"""A bundle trained on implicit feedback in the explorer (issue 21): the API and the
page in Chromium, at desktop and phone sizes.

The data are planted: users interact with items of one of four clusters (a shelf), with
play counts as weights; the item IDs are strings, one bundle has metadata (labels and a
shelf column), one has none. With real ML-100K (positives = ratings >= 4) the same flow
runs on films. Checked: /api/info says ``feedback="implicit"`` and labels scores as
preference scores with no scale; neighbours and the map work; a visitor's clicked items
(weight 1 each) give recommendations by the model's own ALS fold-in (checked against the
closed form) whose reasons are among the clicked items; a training user's interactions
and recommendations; clear 422s for negative or all-zero weights. The page offers
"I like this" and "Add" instead of stars, speaks of interactions, keeps the visitor's
items in the URL, and no console error or foreign request happens (:class:`Tab`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from test_explorer_page import SIZES, Tab, axe_problems, in_url, keys_of, lonely_point, wait_map

import embedlab as el
from conftest import LiveServer
from embedlab.web import create_app

SHELVES = ["garden", "kitchen", "toys", "books"]
PER_SHELF, N_USERS, PER_USER = 15, 160, 8


# ------------------------------------------------------------------ data and bundles


def planted_log(seed: int = 0) -> pd.DataFrame:
    """A play log: user ``user-NNN`` plays PER_USER - 1 items of shelf ``u % 4`` (some
    items more popular than others) and one item of another shelf, each 1-3 times."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, PER_SHELF + 1) ** 0.7
    popularity /= popularity.sum()
    rows = []
    for u in range(N_USERS):
        shelf = u % len(SHELVES)
        other = (shelf + int(rng.integers(1, len(SHELVES)))) % len(SHELVES)
        mine = rng.choice(PER_SHELF, PER_USER - 1, replace=False, p=popularity)
        picks = [(shelf, int(i)) for i in mine] + [(other, int(rng.integers(PER_SHELF)))]
        for s, i in picks:
            rows.append((f"user-{u:03d}", f"sku-{s}-{i:02d}", int(rng.integers(1, 4))))
    return pd.DataFrame(rows, columns=["user", "item", "plays"])


def shelf_of(key: str) -> int:
    return int(key.split("-")[1])


def label_of(key: str) -> str:
    return f"{SHELVES[shelf_of(key)].title()} product {key[-2:]}"


@dataclass
class Bundle:
    path: Path
    model: Any
    log: pd.DataFrame | None = None


def _train(ds: Any) -> Any:
    return el.ImplicitMatrixFactorization(embedding_dim=8, epochs=5, random_state=0).fit(
        ds, progress=False
    )


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """Labels and a ``shelf`` column."""
    log = planted_log()
    ds = el.load_interactions(log, weight="plays")
    keys = [str(k) for k in ds.items.ids()]
    meta = pd.DataFrame(
        {
            "id": keys,
            "label": [label_of(k) for k in keys],
            "shelf": [SHELVES[shelf_of(k)] for k in keys],
        }
    )
    model = _train(ds.with_item_metadata(meta))
    return Bundle(model.save(tmp_path_factory.mktemp("implicit") / "shelves"), model, log)


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    """The same log with no metadata: the IDs are the labels."""
    log = planted_log(seed=1)
    model = _train(el.load_interactions(log, weight="plays"))
    return Bundle(model.save(tmp_path_factory.mktemp("implicit") / "bare"), model, log)


def call(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def ok(app: Any, method: str, url: str, **kwargs: Any) -> Any:
    res = call(app, method, url, **kwargs)
    assert res.status_code == 200, res.text
    return res.json()


@pytest.fixture(scope="module")
def app(planted: Bundle) -> Any:
    return create_app(planted.path, map_method="pca")


@pytest.fixture(scope="module")
def bare_app(bare: Bundle) -> Any:
    return create_app(bare.path, map_method="pca")


def visitor(app: Any, pairs: list[tuple[str, float]], **extra: Any) -> httpx.Response:
    ratings = [{"item": k, "rating": w} for k, w in pairs]
    return call(app, "POST", "/api/recommendations", json={"ratings": ratings, **extra})


def als_scores(model: Any, pairs: list[tuple[str, float]]) -> np.ndarray:
    """The visitor's scores from the closed form of the ALS user step:
    ``x = (YᵀY + Σ α w y yᵀ + λ I)⁻¹ Σ (1 + α w) y``, scores ``Y x``."""
    kv = model.item_embeddings()
    Y = np.asarray(kv.vectors, dtype=np.float64)
    rows = model.items_.indices([k for k, _ in pairs])
    w = np.array([v for _, v in pairs], dtype=np.float64)
    alpha, lam = float(model.settings_.alpha), float(model.settings_.l2_user)
    y = Y[rows]
    A = Y.T @ Y + (y.T * (alpha * w)) @ y + lam * np.eye(Y.shape[1])
    x = np.linalg.solve(A, y.T @ ((1 + alpha * w) * (w > 0)))
    return Y @ x


# ------------------------------------------------------------------ API


def test_info_says_implicit_with_preference_scores(app, planted, web_bundle) -> None:
    info = ok(app, "GET", "/api/info")
    assert info["model_class"] == "ImplicitMatrixFactorization"
    assert info["feedback"] == "implicit"
    assert info["score_label"] == "preference score"
    assert info["rating_scale"] is None
    assert info["has_counts"] is True and info["has_titles"] is True
    assert info["n_items"] == len(SHELVES) * PER_SHELF and info["n_users"] == N_USERS
    assert {c["name"] for c in info["columns"]} >= {"shelf", "n_ratings"}
    # a rating model says explicit, bare vectors say nothing
    explicit = ok(create_app(web_bundle[0], map_method="pca"), "GET", "/api/info")
    assert (explicit["feedback"], explicit["score_label"]) == ("explicit", "predicted rating")
    vectors = el.KeyedEmbeddings(np.eye(3), ["a", "b", "c"])
    bare_info = ok(create_app(vectors, map_method="pca"), "GET", "/api/info")
    assert bare_info["feedback"] is None and bare_info["score_label"] is None


def test_neighbours_stay_on_their_shelf(app, planted) -> None:
    for key in ("sku-0-03", "sku-2-11"):
        doc = ok(app, "GET", f"/api/items/{key}/neighbours", params={"k": 5, "min_count": 0})
        got = [n["key"] for n in doc["neighbours"]]
        expected = planted.model.item_embeddings().most_similar(key, topn=5)["key"].tolist()
        assert got == expected
        assert {shelf_of(k) for k in got} == {shelf_of(key)}
        assert doc["query"][0]["label"] == label_of(key)
        counts = planted.log.groupby("item").size()
        assert all(n["n_ratings"] == counts[n["key"]] for n in doc["neighbours"])


def test_map_holds_every_item(app) -> None:
    assert app.state.explorer.wait_map(60)
    doc = ok(app, "GET", "/api/map", params={"min_count": 0})
    assert doc["status"] == "ready" and doc["n"] == doc["n_total"] == len(SHELVES) * PER_SHELF
    body = call(app, "GET", "/api/map/points", params={"min_count": 0}).content
    assert int(np.frombuffer(body[:4], dtype="<u4")[0]) == doc["n"]


def test_visitor_clicks_give_the_als_fold_in(app, planted) -> None:
    clicked = [("sku-2-01", 1.0), ("sku-2-04", 1.0), ("sku-2-09", 1.0)]
    doc = visitor(app, clicked, n=10, min_count=0).json()
    assert doc["score_label"] == "preference score" and doc["rating_scale"] is None
    keys = [r["key"] for r in doc["items"]]
    expected = planted.model.recommend_for_ratings(clicked, 10, min_count=0, explain=True)
    assert keys == expected["item"].tolist()
    assert not {k for k, _ in clicked} & set(keys)  # the clicked items are left out
    assert {shelf_of(k) for k in keys[:5]} == {2}  # the visitor's shelf first
    # the scores are the exact ALS solve (not a rating model's gradient fold-in)
    scores = als_scores(planted.model, clicked)
    rows = planted.model.items_.indices(keys)
    np.testing.assert_allclose([r["score"] for r in doc["items"]], scores[rows], rtol=2e-4)
    names = {label_of(k) for k, _ in clicked}
    for item in doc["items"]:
        assert item["because"] and set(item["because"]) <= names


def test_reasons_name_the_clicked_items_of_the_picks_shelf(app) -> None:
    clicked = [("sku-0-02", 1.0), ("sku-0-07", 1.0), ("sku-3-05", 1.0), ("sku-3-12", 2.0)]
    doc = visitor(app, clicked, n=12, min_count=0).json()
    shelves = {shelf_of(r["key"]) for r in doc["items"]}
    assert shelves <= {0, 3} and len(shelves) == 2
    for item in doc["items"]:
        own = {label_of(k) for k, _ in clicked if shelf_of(k) == shelf_of(item["key"])}
        assert item["because"] and set(item["because"]) <= own, item


def test_weights_other_than_one_and_zero(app, planted) -> None:
    # a weight of 0 records no interaction: same vector, but the item is still left out
    with_zero = visitor(app, [("sku-1-03", 3.0), ("sku-1-05", 0.0)], min_count=0).json()
    alone = planted.model.recommend_for_ratings([("sku-1-03", 3.0)], 11, min_count=0)
    keys = [k for k in alone["item"] if k != "sku-1-05"][:10]
    assert [r["key"] for r in with_zero["items"]] == keys
    for item in with_zero["items"]:
        assert item["because"] == [label_of("sku-1-03")]


@pytest.mark.parametrize(
    ("pairs", "words"),
    [
        (
            [("sku-0-01", 1.0), ("sku-0-02", -1.0)],
            ["ratings[1].rating", "-1", "sku-0-02", ">= 0", "1 for a click"],
        ),
        ([("sku-0-01", 0.0), ("sku-0-02", 0.0)], ["all 2 weights are 0", "weight > 0"]),
        ([("sku-0-01", 1.0), ("sku-0-01", 1.0)], ["sku-0-01", "twice", "interaction"]),
    ],
    ids=["negative", "all-zero", "twice"],
)
def test_bad_weights_are_422_with_one_clear_line(app, pairs, words) -> None:
    res = visitor(app, pairs)
    assert res.status_code == 422
    detail = res.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    for word in words:
        assert word in detail


def test_a_rating_model_keeps_its_scale_check(web_bundle) -> None:
    rating_app = create_app(web_bundle[0], map_method="pca")
    res = visitor(rating_app, [(1, 9.0)])
    assert res.status_code == 422 and "outside the scale 1..5" in res.json()["detail"]
    doc = visitor(rating_app, [(1, 5.0), (2, 4.0)]).json()
    assert doc["score_label"] == "predicted rating" and doc["rating_scale"] == [1.0, 5.0]


def test_training_user_interactions_and_recommendations(app, planted) -> None:
    user = "user-005"
    mine = planted.log[planted.log["user"] == user]
    hist = ok(app, "GET", f"/api/users/{user}/history")
    assert hist["user"] == user and hist["n_ratings"] == len(mine) and hist["mean_rating"] is None
    got = {i["key"]: i["rating"] for i in hist["items"]}
    assert got == dict(zip(mine["item"], mine["plays"].astype(float), strict=True))
    weights = [i["rating"] for i in hist["items"]]
    assert weights == sorted(weights, reverse=True)  # heaviest first
    users = ok(app, "GET", "/api/users", params={"q": "user-00"})["users"]
    assert users and all(u["mean_rating"] is None and u["n_ratings"] == PER_USER for u in users)
    recs = ok(app, "GET", f"/api/users/{user}/recommendations", params={"explain": "true"})
    expected = planted.model.recommend(user, 10, explain=True)
    assert [r["key"] for r in recs["items"]] == expected["item"].tolist()
    assert recs["score_label"] == "preference score" and recs["rating_scale"] is None
    assert not set(mine["item"]) & {r["key"] for r in recs["items"]}
    names = {label_of(k) for k in mine["item"]}
    assert all(set(r["because"]) <= names for r in recs["items"])


def test_a_bundle_without_metadata(bare_app, bare) -> None:
    info = ok(bare_app, "GET", "/api/info")
    assert info["feedback"] == "implicit" and info["has_titles"] is False
    doc = ok(bare_app, "GET", "/api/items/sku-3-00/neighbours", params={"k": 4, "min_count": 0})
    assert {shelf_of(n["key"]) for n in doc["neighbours"]} == {3}
    clicked = [("sku-3-00", 1.0), ("sku-3-06", 1.0)]
    recs = visitor(bare_app, clicked, min_count=0).json()
    assert {shelf_of(r["key"]) for r in recs["items"][:5]} == {3}
    assert all(set(r["because"]) <= {"sku-3-00", "sku-3-06"} for r in recs["items"])


# ------------------------------------------------------------------ the page


@pytest.fixture(scope="module")
def server(planted: Bundle) -> Iterator[LiveServer]:
    with LiveServer(create_app(planted.path, map_method="pca")) as live:
        yield live


@pytest.fixture(scope="module")
def bare_server(bare: Bundle) -> Iterator[LiveServer]:
    with LiveServer(create_app(bare.path, map_method="pca")) as live:
        yield live


def reasons(page: Any, selector: str) -> list[list[str]]:
    """The names in each line's "because you liked A and B" (None-free)."""
    texts = page.locator(f"{selector} li").evaluate_all(
        "els => els.map(e => e.querySelector('.because')?.textContent || '')"
    )
    return [
        re.sub(r"^because [a-z ]+? (liked|with) ", "", t).split(" and ") if t else [] for t in texts
    ]


def like(page: Any, key: str, within: str = "#neighbours") -> None:
    page.click(f"{within} li[data-key='{key}'] button.like")
    page.wait_for_selector(f"#rated li[data-key='{key}']")


@pytest.mark.browser
def test_page_speaks_of_interactions(tab, server, planted, screenshot) -> None:
    page = tab.open(server.url + "/?item=sku-1-04")
    page.wait_for_selector("#neighbours[data-query='sku-1-04'] li")
    # the visitor panel: no stars, an Add button; the filter counts interactions
    assert page.locator("#rate-value").is_hidden() and page.locator("#rate-add").is_visible()
    assert "you like" in page.inner_text("#rate-title")
    assert page.inner_text("#min-count-unit") == "interactions"
    assert "Add an item you like" in page.inner_text("#rec-msg")
    assert "interactions" in page.inner_text("#neighbours")
    assert "rating" not in page.inner_text("#find-panel").lower()
    assert "number of interactions" in page.inner_text("#colour")
    # neighbours on the shelf of the query, as the model has them
    shown = keys_of(page, "#neighbours")
    everything = planted.model.item_embeddings().most_similar("sku-1-04", topn=100)
    counts = planted.log.groupby("item").size()
    info = page.evaluate("fetch('/api/info').then(r => r.json())")
    wanted = [k for k in everything["key"] if counts[k] >= info["default_min_count"]]
    assert shown == wanted[:10] and {shelf_of(k) for k in shown[:5]} == {1}
    # the map draws every point the filter keeps
    n_shown = int((counts >= info["default_min_count"]).sum())
    wait_map(page)
    page.wait_for_selector(f"#map[data-drawn='{n_shown}']")
    assert page.get_attribute("#map", "data-points") == str(n_shown)
    screenshot(page, f"implicit-neighbours-{page.viewport_size['width']}")


@pytest.mark.browser
def test_visitor_clicks_items_and_gets_recommendations(tab, server, planted, screenshot) -> None:
    page = tab.open(server.url + "/?mc=0")
    wait_map(page)
    # a point of the map, then "I like this" on it and on two of its neighbours
    row, x, y = lonely_point(page)
    key = str(planted.model.items_.ids()[row])
    page.mouse.click(x, y)
    page.wait_for_selector(f"#neighbours[data-query='{key}'] li")
    page.click("#like-selected")
    page.wait_for_selector(f"#rated li[data-key='{key}']")
    assert page.get_attribute("#like-selected", "aria-pressed") == "true"
    assert "added to your items" in page.inner_text("#rate-msg")
    picked = [key]
    for other in keys_of(page, "#neighbours")[:2]:
        like(page, other)
        picked.append(other)
    page.wait_for_selector("#recommendations[data-ratings='3'] li")
    expected = planted.model.recommend_for_ratings(
        [(k, 1.0) for k in picked], 10, min_count=0, explain=True
    )
    page.wait_for_function(
        "keys => JSON.stringify([...document.querySelectorAll('#recommendations li')]"
        ".map(e => e.dataset.key)) === JSON.stringify(keys)",
        arg=expected["item"].tolist(),
    )
    text = page.inner_text("#recommendations")
    assert re.search(r"preference score -?\d+\.\d{3}", text)
    assert "predicted rating" not in text and "(1–5)" not in text
    names = {label_of(k) for k in picked}
    shown = reasons(page, "#recommendations")
    assert any(shown) and all(set(r) <= names for r in shown), shown
    assert "from your 3 interactions" in page.inner_text("#rec-msg")
    page.wait_for_function(  # announced to screen readers
        "() => document.querySelector('#announce').textContent.includes('recommendations updated')"
    )
    in_url(page, *(f"{k}:1" for k in picked))
    screenshot(page, f"implicit-visitor-{page.viewport_size['width']}")
    # "I like this" on a recommendation: it joins the visitor's items, focus stays in the list
    first = keys_of(page, "#recommendations")[0]
    page.click(f"#recommendations li[data-key='{first}'] button.like")
    page.wait_for_selector("#recommendations[data-ratings='4'] li")
    page.wait_for_function(
        "() => document.querySelector('#recommendations').contains(document.activeElement)"
    )
    # an ID typed into the box, added with the Add button
    other_shelf = next(k for k in planted.model.items_.ids() if shelf_of(str(k)) != shelf_of(key))
    page.fill("#rate-search", str(other_shelf))
    page.click("#rate-add")
    page.wait_for_selector(f"#rated li[data-key='{other_shelf}']")
    page.wait_for_selector("#recommendations[data-ratings='5'] li")
    # a reload restores the visitor's items (the URL holds them) and their recommendations
    in_url(page, f"{other_shelf}:1")
    page.reload()
    page.wait_for_selector("body[data-restored=true]")
    assert page.get_attribute("#rated", "data-count") == "5"
    page.wait_for_selector("#recommendations[data-ratings='5'] li")
    # Remove takes the item out again
    page.click(f"#rated li[data-key='{other_shelf}'] button")
    page.wait_for_selector("#recommendations[data-ratings='4'] li")
    assert "removed from your items" in page.inner_text("#rate-msg")
    page.wait_for_function(f"() => !location.search.includes('{other_shelf}')")


@pytest.mark.browser
def test_training_user_shows_interactions(tab, server, planted, screenshot) -> None:
    user = "user-006"
    page = tab.open(server.url + "/")
    info = page.evaluate("fetch('/api/info').then(r => r.json())")
    page.fill("#user-search", user)
    page.wait_for_selector(f"#user-suggestions li[data-key='{user}']")
    suggestion = page.inner_text(f"#user-suggestions li[data-key='{user}']")
    assert "8 interactions" in suggestion and "mean" not in suggestion
    page.press("#user-search", "Enter")
    page.wait_for_selector(f"#user-recs[data-user='{user}'] li")
    assert page.inner_text("#user-history-title") == f"Interactions of user {user} ({PER_USER})"
    history = page.inner_text("#user-history")
    assert re.search(r"weight [123]\b", history) and "rated" not in history
    expected = planted.model.recommend(user, 10, min_count=info["default_min_count"])
    assert keys_of(page, "#user-recs") == expected["item"].tolist()
    assert "preference score" in page.inner_text("#user-recs")
    mine = {label_of(k) for k in planted.log.loc[planted.log["user"] == user, "item"]}
    assert all(set(r) <= mine for r in reasons(page, "#user-recs"))
    assert "interacted with" in page.inner_text("#user-recs")
    assert "of their interactions" in page.inner_text("#user-msg")
    in_url(page, f"user={user}")
    screenshot(page, f"implicit-user-{page.viewport_size['width']}")


@pytest.mark.browser
def test_no_serious_accessibility_violations(tab, server) -> None:
    page = tab.open(server.url + "/?item=sku-0-02&r=sku-0-02:1,sku-0-05:1&user=user-004")
    wait_map(page)
    page.wait_for_selector("#recommendations li")
    page.wait_for_selector("#user-recs li")
    assert axe_problems(page) == []


@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_bundle_without_metadata_in_the_page(browser, bare_server, bare, size, screenshot) -> None:
    tab = Tab(browser, size)
    try:
        page = tab.open(bare_server.url + "/?mc=0")
        page.fill("#search", "sku-3-0")
        page.locator("#suggestions li[data-key='sku-3-00']").click()
        page.wait_for_selector("#neighbours[data-query='sku-3-00'] li")
        wait_map(page)
        page.wait_for_selector(f"#map[data-drawn='{len(bare.model.items_)}']")
        page.click("#like-selected")
        like(page, keys_of(page, "#neighbours")[0])
        page.wait_for_selector("#recommendations[data-ratings='2'] li")
        picked = keys_of(page, "#rated")
        shown = reasons(page, "#recommendations")
        assert any(shown) and all(set(r) <= set(picked) for r in shown), shown
        assert {shelf_of(k) for k in keys_of(page, "#recommendations")[:5]} == {3}
        screenshot(page, f"implicit-bare-{SIZES[size][0]}")
    finally:
        tab.context.close()
    tab.check()


# ------------------------------------------------------------------ real ML-100K positives


@pytest.fixture(scope="module")
def ml100k_positives(ml100k_dir, tmp_path_factory) -> Iterator[tuple[LiveServer, Any]]:
    """ML-100K's ratings >= 4 as implicit positives, the default model but 5 alternations."""
    ds = el.load_movielens(ml100k_dir).to_implicit(threshold=4)
    model = el.ImplicitMatrixFactorization(epochs=5, random_state=0).fit(ds, progress=False)
    path = model.save(tmp_path_factory.mktemp("implicit-ml100k") / "als")
    with LiveServer(create_app(path, map_method="pca")) as live:
        yield live, model


@pytest.mark.realdata
@pytest.mark.browser
def test_ml100k_positives_in_the_page(browser, ml100k_positives, screenshot) -> None:
    live, model = ml100k_positives
    tab = Tab(browser, "desktop")
    try:
        page = tab.open(live.url + "/")
        info = page.evaluate("fetch('/api/info').then(r => r.json())")
        assert info["feedback"] == "implicit" and info["item_noun"] == "movie"
        page.fill("#search", "star wars")
        page.wait_for_selector("#suggestions li[data-key='50']")
        page.locator("#suggestions li[data-key='50']").click()
        page.wait_for_selector("#neighbours[data-query='50'] li")
        assert "Empire Strikes Back" in page.inner_text("#neighbours")
        wait_map(page)
        page.click("#like-selected")
        page.wait_for_selector("#rated li[data-key='50']")
        like(page, "172")  # The Empire Strikes Back
        page.wait_for_selector("#recommendations[data-ratings='2'] li")
        expected = model.recommend_for_ratings(
            [(50, 1.0), (172, 1.0)], 10, min_count=info["default_min_count"]
        )
        assert keys_of(page, "#recommendations") == [str(k) for k in expected["item"]]
        assert "Return of the Jedi (1983)" in page.inner_text("#recommendations")
        names = {"Star Wars (1977)", "Empire Strikes Back, The (1980)"}
        shown = reasons(page, "#recommendations")
        assert any(shown) and all(set(r) <= names for r in shown), shown
        assert "preference score" in page.inner_text("#recommendations")
        screenshot(page, "implicit-ml100k")
    finally:
        tab.context.close()
    tab.check()
