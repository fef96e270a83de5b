"""The API on a bundle without titles: search and look-ups by exact and partial ID."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pandas as pd
import pytest

import embedlab as el
from embedlab.web import create_app


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    rng = np.random.default_rng(0)
    users = [f"c{u}" for u in rng.integers(0, 40, 600)]
    items = [f"SKU-{i:04d}" for i in rng.integers(0, 25, 600)]
    ds = el.Interactions.from_ids(users, items, rng.integers(1, 6, 600), duplicates="last")
    model = el.MatrixFactorization(embedding_dim=4, epochs=2, random_state=0)
    model.fit(ds, progress=False)
    return create_app(model.save(tmp_path_factory.mktemp("web") / "mf"), map_method="pca")


def call(app, method: str, url: str, **kwargs) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def get(app, url: str, **kwargs) -> httpx.Response:
    return call(app, "GET", url, **kwargs)


def test_search_and_neighbours_by_exact_and_partial_id(app) -> None:
    info = get(app, "/api/info").json()
    assert info["has_titles"] is False and info["item_noun"] == "item"
    found = get(app, "/api/search", params={"q": "sku-0007"}).json()["items"]
    assert found[0]["key"] == "SKU-0007" and found[0]["score"] == 1.0
    partial = get(app, "/api/search", params={"q": "001"}).json()["items"]
    assert partial and all("001" in hit["key"] for hit in partial)
    assert get(app, "/api/items/SKU-0007/neighbours").status_code == 200
    assert get(app, "/api/items/0007/neighbours").status_code == 200
    missing = get(app, "/api/items/SKU/neighbours")
    assert missing.status_code == 404 and missing.json()["suggestions"]


def test_visitor_recommendations_with_string_ids(app) -> None:
    body = {"ratings": [{"item": "SKU-0003", "rating": 5}, {"item": "0011", "rating": 1}], "n": 5}
    res = call(app, "POST", "/api/recommendations", json=body)
    assert res.status_code == 200, res.text
    keys = [hit["key"] for hit in res.json()["items"]]
    assert len(keys) == 5 and not {"SKU-0003", "SKU-0011"} & set(keys)


def test_titles_without_genres_still_say_item(tmp_path) -> None:
    ds = el.Interactions.from_ids(["u1", "u1", "u2", "u2"], ["a", "b", "a", "c"], [5, 3, 4, 1])
    side = pd.DataFrame({"label": ["Tea", "Wine", "Cocoa"]}, index=["a", "b", "c"])
    model = el.MatrixFactorization(embedding_dim=2, epochs=1, random_state=0)
    model.fit(ds.with_item_metadata(side), progress=False)
    info = get(create_app(model, map_method="pca"), "/api/info").json()
    assert info["has_titles"] is True and info["item_noun"] == "item"
