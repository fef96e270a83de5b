"""The JSON API in-process (httpx ASGITransport): every endpoint and every bad input."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from embedlab.exceptions import BundleError
from embedlab.web import create_app


@pytest.fixture(scope="module")
def app(web_bundle):
    path, _ = web_bundle
    return create_app(path, map_method="pca")


@pytest.fixture(scope="module")
def model(web_bundle):
    return web_bundle[1]


def call(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def get(app: Any, url: str, **kwargs: Any) -> httpx.Response:
    return call(app, "GET", url, **kwargs)


def post(app: Any, url: str, **kwargs: Any) -> httpx.Response:
    return call(app, "POST", url, **kwargs)


def title(model: Any, key: int) -> str:
    return str(model.item_metadata_["title"].iloc[model.items_.index(key)])


def sparse_app(model: Any, rows: Any) -> Any:
    """An app of a copy of ``model`` whose items at ``rows`` have 2 ratings each."""
    sparse = copy.deepcopy(model)
    counts = np.asarray(sparse.item_counts_).copy()
    counts[rows] = 2
    sparse.item_counts_ = counts
    return create_app(sparse, map_method="pca")


# ------------------------------------------------------------------ meta


def test_health_and_info(app, model) -> None:
    assert get(app, "/api/health").json() == {"status": "ok"}
    info = get(app, "/api/info").json()
    assert info["model_class"] == "MatrixFactorization"
    assert info["n_items"] == len(model.items_) and info["n_users"] == len(model.users_)
    assert info["embedding_dim"] == 8 and info["has_titles"] is True
    assert info["item_noun"] == "movie"  # titles and genres: MovieLens-like
    assert "Comedy" in info["genres"] and info["map_method"] == "pca"
    assert info["limits"]["max_k"] == 100 and info["limits"]["max_history"] == 1000
    assert info["has_model"] is True and info["has_counts"] is True
    assert info["metrics"] == ["cosine", "euclidean"] and info["has_layout"] is False
    assert {"pca", "tsne"} <= set(info["map_methods"])
    assert info["searchable"] == ["label", "key", "title", "genres", "year"]


def test_openapi_documents_every_endpoint_with_bounds(app) -> None:
    doc = get(app, "/openapi.json").json()
    paths = set(doc["paths"])
    assert {
        "/api/health",
        "/api/info",
        "/api/search",
        "/api/items/{item}/neighbours",
        "/api/analogy",
        "/api/users/{user}/recommendations",
        "/api/recommendations",
        "/api/map",
        "/api/map/points",
        "/api/colours",
        "/api/users",
        "/api/users/{user}/history",
    } <= paths
    binary = doc["paths"]["/api/map/points"]["get"]["responses"]["200"]["content"]
    assert list(binary) == ["application/octet-stream"]
    assert "202" in doc["paths"]["/api/map/points"]["get"]["responses"]
    params = {
        p["name"]: p for p in doc["paths"]["/api/items/{item}/neighbours"]["get"]["parameters"]
    }
    assert params["k"]["schema"]["maximum"] == 100 and params["k"]["schema"]["minimum"] == 1
    assert "404" in doc["paths"]["/api/analogy"]["post"]["responses"]
    ratings = doc["components"]["schemas"]["VisitorRequest"]["properties"]["ratings"]
    assert ratings["maxItems"] == 100


def test_create_app_from_model_object_and_bad_path(model, tmp_path) -> None:
    assert get(create_app(model, map_method="pca"), "/api/health").status_code == 200
    with pytest.raises(BundleError):
        create_app(tmp_path / "nothing here")
    with pytest.raises(ValueError, match="map_method"):
        create_app(model, map_method="umap3d")


# ------------------------------------------------------------------ search


def test_search_finds_a_title(app, model) -> None:
    wanted = title(model, 5)
    res = get(app, "/api/search", params={"q": wanted.lower(), "n": 3})
    assert res.status_code == 200
    doc = res.json()
    assert doc["items"][0]["key"] == 5 and doc["items"][0]["label"] == wanted
    assert doc["items"][0]["score"] == 1.0 and len(doc["items"]) <= 3
    first = doc["items"][0]
    assert first["genres"] and first["year"] > 1900 and first["n_ratings"] > 0


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "x" * 201},
        {"q": "movie", "n": 0},
        {"q": "movie", "n": 101},
        {"q": "movie", "n": "many"},
        {"q": "!!!"},
    ],
)
def test_search_bad_input_is_422(app, params) -> None:
    res = get(app, "/api/search", params=params)
    assert res.status_code == 422, res.text
    assert "detail" in res.json()


# ------------------------------------------------------------------ neighbours


def test_neighbours_by_id_and_by_title(app, model) -> None:
    expected = model.item_embeddings().most_similar(4, topn=5)
    doc = get(app, "/api/items/4/neighbours", params={"k": 5}).json()
    assert doc["query"][0]["key"] == 4
    assert [n["key"] for n in doc["neighbours"]] == expected["key"].tolist()
    np.testing.assert_allclose([n["similarity"] for n in doc["neighbours"]], expected["similarity"])
    assert all(n["genres"] for n in doc["neighbours"])
    by_title = get(app, f"/api/items/{title(model, 4)}/neighbours", params={"k": 5}).json()
    assert by_title == doc
    again = get(app, "/api/items/4/neighbours", params={"k": 5}).json()  # from the cache
    assert again == doc


def test_neighbours_min_count(app, model) -> None:
    counts = dict(zip(model.items_.ids().tolist(), model.item_counts_.tolist(), strict=True))
    doc = get(app, "/api/items/1/neighbours", params={"k": 50, "min_count": 80}).json()
    assert doc["neighbours"] and all(counts[n["key"]] >= 80 for n in doc["neighbours"])


def test_neighbours_min_count_default_and_zero(model) -> None:
    # a few items with few ratings: the default leaves them out, min_count=0 keeps them
    counts = np.asarray(model.item_counts_).copy()
    few = np.argsort(counts)[:5]
    app = sparse_app(model, few)
    info = get(app, "/api/info").json()
    assert info["default_min_count"] == 10
    ids = model.items_.ids()
    rare = {ids[r].item() for r in few}
    doc = get(app, "/api/items/1/neighbours", params={"k": 100}).json()
    keys = [n["key"] for n in doc["neighbours"]]
    assert not rare & set(keys) and all(n["n_ratings"] >= 10 for n in doc["neighbours"])
    assert len(keys) == len(model.items_) - 1 - len(rare - {1})
    everything = get(app, "/api/items/1/neighbours", params={"k": 100, "min_count": 0}).json()
    assert rare - {1} <= {n["key"] for n in everything["neighbours"]}
    explicit = get(app, "/api/items/1/neighbours", params={"k": 100, "min_count": 10}).json()
    assert explicit == doc
    # the analogy gets the same default
    body = {"positive": [1], "k": 100}
    assert not rare & {n["key"] for n in post(app, "/api/analogy", json=body).json()["neighbours"]}


def test_default_min_count_is_capped_to_the_median() -> None:
    from embedlab.web._app import default_min_count

    assert default_min_count([1, 2, 3, 50, 60]) == 3
    assert default_min_count([30] * 9) == 10
    assert default_min_count([1, 1, 1]) == 1
    assert default_min_count([]) == 0


def test_neighbours_unknown_item_is_404_with_suggestions(app) -> None:
    res = get(app, "/api/items/99999/neighbours")
    assert res.status_code == 404
    assert "99999" in res.json()["detail"]
    res = get(app, "/api/items/Synthetic Movie 4 (Thriler)/neighbours")
    assert res.status_code == 404
    doc = res.json()
    assert doc["suggestions"] and doc["suggestions"][0]["key"] == 4
    # an ambiguous title names candidates too
    res = get(app, "/api/items/synthetic movie/neighbours")
    assert res.status_code == 404 and res.json()["suggestions"]


@pytest.mark.parametrize(
    "params", [{"k": 0}, {"k": 101}, {"k": "ten"}, {"min_count": -1}, {"min_count": "lots"}]
)
def test_neighbours_bad_params_are_422(app, params) -> None:
    assert get(app, "/api/items/4/neighbours", params=params).status_code == 422


def test_neighbours_item_too_long_is_422(app) -> None:
    assert get(app, "/api/items/" + "9" * 201 + "/neighbours").status_code == 422


# ------------------------------------------------------------------ analogy


def test_analogy_matches_most_similar(app, model) -> None:
    expected = model.item_embeddings().most_similar([2, 3], [1], topn=4)
    res = post(
        app, "/api/analogy", json={"positive": [2, title(model, 3)], "negative": ["1"], "k": 4}
    )
    assert res.status_code == 200, res.text
    doc = res.json()
    assert [q["key"] for q in doc["query"]] == [2, 3] and doc["negative"][0]["key"] == 1
    assert [n["key"] for n in doc["neighbours"]] == expected["key"].tolist()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"positive": []},
        {"positive": [1] * 11},
        {"positive": [1], "negative": [2] * 11},
        {"positive": [1], "k": 0},
        {"positive": [1], "k": 101},
        {"positive": {"a": 1}},
        {"positive": [[1]]},
        {"positive": [""]},
        {"positive": ["x" * 201]},
        {"positive": [1], "extra": True},
        {"positive": [1], "negative": [1]},
    ],
)
def test_analogy_bad_input_is_422(app, body) -> None:
    res = post(app, "/api/analogy", json=body)
    assert res.status_code == 422, res.text


def test_analogy_unknown_item_is_404(app) -> None:
    res = post(app, "/api/analogy", json={"positive": [1, 123456]})
    assert res.status_code == 404 and "123456" in res.json()["detail"]


def test_malformed_json_is_422(app) -> None:
    res = post(
        app, "/api/analogy", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert res.status_code == 422


# ------------------------------------------------------------------ recommendations


def test_user_recommendations(app, model) -> None:
    expected = model.recommend(7, n=4, explain=True)
    doc = get(app, "/api/users/7/recommendations", params={"n": 4, "explain": "true"}).json()
    assert doc["user"] == 7
    assert [r["key"] for r in doc["items"]] == expected["item"].tolist()
    np.testing.assert_allclose([r["score"] for r in doc["items"]], expected["score"], rtol=1e-6)
    assert [r["rank"] for r in doc["items"]] == [1, 2, 3, 4]
    assert all(1 <= len(r["because"]) <= 3 for r in doc["items"])
    plain = get(app, "/api/users/7/recommendations", params={"n": 2}).json()
    assert all(r["because"] is None for r in plain["items"])


@pytest.mark.parametrize("user", ["99999", "abc", "-"])
def test_unknown_user_is_404(app, user) -> None:
    res = get(app, f"/api/users/{user}/recommendations")
    assert res.status_code == 404, res.text


@pytest.mark.parametrize("params", [{"n": 0}, {"n": 101}, {"min_count": -5}, {"explain": "maybe"}])
def test_user_recommendations_bad_params_are_422(app, params) -> None:
    assert get(app, "/api/users/7/recommendations", params=params).status_code == 422


def test_visitor_recommendations_by_fold_in(app, model) -> None:
    ratings = [
        {"item": 1, "rating": 5},
        {"item": "2", "rating": 4.5},
        {"item": title(model, 3), "rating": 1},
    ]
    res = post(app, "/api/recommendations", json={"ratings": ratings, "n": 5})
    assert res.status_code == 200, res.text
    doc = res.json()
    expected = model.recommend_for_ratings([(1, 5.0), (2, 4.5), (3, 1.0)], 5, explain=True)
    assert doc["user"] is None
    assert [r["key"] for r in doc["items"]] == expected["item"].tolist()
    assert not {1, 2, 3} & {r["key"] for r in doc["items"]}
    assert any(r["because"] for r in doc["items"])  # a list may be empty (see explain)
    liked = {title(model, 1), title(model, 2)}
    assert {b for r in doc["items"] for b in r["because"]} <= liked


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ratings": []},
        {"ratings": [{"item": i, "rating": 3} for i in range(1, 102)]},
        {"ratings": [{"item": 1}]},
        {"ratings": [{"item": 1, "rating": "great"}]},
        {"ratings": [{"item": 1, "rating": 3, "weight": 2}]},
        {"ratings": [{"item": 1, "rating": 99}]},
        {"ratings": [{"item": 1, "rating": 3}, {"item": "1", "rating": 4}]},
        {"ratings": [{"item": 1, "rating": 3}], "n": 0},
        {"ratings": [{"item": 1, "rating": 3}], "n": 1000},
        {"ratings": [[1, 3]]},
    ],
)
def test_visitor_bad_input_is_422(app, body) -> None:
    res = post(app, "/api/recommendations", json=body)
    assert res.status_code == 422, res.text


def test_visitor_nan_rating_is_422(app) -> None:
    body = b'{"ratings": [{"item": 1, "rating": NaN}]}'
    res = post(
        app, "/api/recommendations", content=body, headers={"Content-Type": "application/json"}
    )
    assert res.status_code == 422


def test_visitor_unknown_item_is_404_with_suggestions(app) -> None:
    body = {
        "ratings": [{"item": 1, "rating": 4}, {"item": "Synthetic Movie 7 (Comedy", "rating": 5}]
    }
    res = post(app, "/api/recommendations", json=body)
    assert res.status_code == 404
    assert res.json()["suggestions"]


# ------------------------------------------------------------------ map


def map_points(app: Any, **params: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``/api/map/points`` decoded: ``(x, y, rows)``."""
    res = get(app, "/api/map/points", params=params)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "application/octet-stream"
    body = res.content
    n = int(np.frombuffer(body[:4], dtype="<u4")[0])
    assert len(body) == 4 + 12 * n
    x = np.frombuffer(body[4 : 4 + 4 * n], dtype="<f4")
    y = np.frombuffer(body[4 + 4 * n : 4 + 8 * n], dtype="<f4")
    rows = np.frombuffer(body[4 + 8 * n :], dtype="<u4")
    return x, y, rows


def test_map_has_every_item_and_is_computed_once(web_bundle, model) -> None:
    app = create_app(web_bundle[0], map_method="pca")
    explorer = app.state.explorer
    assert explorer.wait_map(60)  # computed in the background from the start
    assert explorer.map_computations == 1
    doc = get(app, "/api/map").json()
    assert doc["status"] == "ready" and doc["method"] == "pca"
    assert doc["n"] == doc["n_total"] == len(model.items_) and doc["min_count"] == 10
    assert doc["points_url"] == "/api/map/points?method=pca&min_count=10"
    x, y, rows = map_points(app, method="pca", min_count=10)
    assert sorted(rows.tolist()) == list(range(len(model.items_)))
    xy = np.column_stack([x, y])
    assert np.isfinite(xy).all() and np.abs(xy).max() <= 1.0 + 1e-6
    assert np.isclose(np.abs(xy).max(), 1.0)  # scaled to the largest coordinate
    # the labelled points: the most rated, with their titles, at their coordinates
    counts = np.asarray(model.item_counts_)
    labelled = doc["labelled"]
    assert len(labelled) == 40
    assert {p["row"] for p in labelled} == set(np.argsort(-counts, kind="stable")[:40].tolist())
    where = {int(r): (float(a), float(b)) for r, a, b in zip(rows, x, y, strict=True)}
    for point in labelled:
        assert point["label"] == title(model, model.items_.id(point["row"]))
        assert where[point["row"]] == pytest.approx((point["x"], point["y"]), abs=1e-5)
    assert get(app, "/api/map").json() == doc
    assert explorer.map_computations == 1


def test_map_min_count_default_filters_the_points(model) -> None:
    counts = np.asarray(model.item_counts_).copy()
    few = np.argsort(counts)[:5]
    app = sparse_app(model, few)
    assert app.state.explorer.wait_map(60)
    doc = get(app, "/api/map").json()
    assert doc["min_count"] == 10 and doc["n_total"] == len(model.items_)
    assert doc["n"] == len(model.items_) - len(few)
    x, y, rows = map_points(app)  # the default min_count too
    assert rows.size == doc["n"] and not set(few.tolist()) & set(rows.tolist())
    assert not set(few.tolist()) & {p["row"] for p in doc["labelled"]}
    everything = get(app, "/api/map", params={"min_count": 0}).json()
    assert everything["n"] == len(model.items_) and everything["min_count"] == 0
    ax, ay, arows = map_points(app, min_count=0)
    assert arows.size == len(model.items_)
    # the filter hides points, it never moves them
    where = {int(r): (a, b) for r, a, b in zip(arows, ax, ay, strict=True)}
    assert all(where[int(r)] == (a, b) for r, a, b in zip(rows, x, y, strict=True))
    _, _, strict = map_points(app, min_count=80)
    sparse_counts = app.state.explorer.counts
    assert (sparse_counts[strict] >= 80).all() and strict.size < rows.size
    assert get(app, "/api/map", params={"min_count": -1}).status_code == 422
    assert get(app, "/api/map/points", params={"min_count": -1}).status_code == 422
    assert get(app, "/api/map", params={"method": "mds"}).status_code == 422


def test_map_is_202_while_computing_then_200(model, monkeypatch) -> None:
    import embedlab.web._app as web_app

    gate = threading.Event()
    real = web_app._project

    def slow_project(*args: Any, **kwargs: Any) -> Any:
        assert gate.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(web_app, "_project", slow_project)
    app = create_app(model, map_method="pca")
    try:
        for _ in range(2):  # asking again does not start a second computation
            res = get(app, "/api/map")
            assert res.status_code == 202 and res.headers["retry-after"] == "1"
            doc = res.json()
            assert doc["status"] == "computing" and doc["method"] == "pca"
            assert doc["n"] == len(model.items_) and doc["elapsed_s"] >= 0
            assert doc["progress"] is None
            points = get(app, "/api/map/points")
            assert points.status_code == 202 and points.json()["status"] == "computing"
        assert get(app, "/api/health").status_code == 200
        assert get(app, "/api/items/1/neighbours").status_code == 200
    finally:
        gate.set()
    assert app.state.explorer.wait_map(60)
    res = get(app, "/api/map")
    assert res.status_code == 200 and res.json()["n"] == len(model.items_)
    assert app.state.explorer.map_computations == 1
    assert map_points(app, min_count=0)[2].size == len(model.items_)


def test_a_failed_map_is_a_json_500_with_the_reason(model, monkeypatch) -> None:
    import embedlab.web._app as web_app

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("no layout today")

    monkeypatch.setattr(web_app, "_project", broken)
    app = create_app(model, map_method="pca")
    assert app.state.explorer.wait_map(60)
    res = get(app, "/api/map")
    assert res.status_code == 500 and "no layout today" in res.json()["detail"]


def test_map_tsne_uses_viz_project_on_the_most_rated(model, monkeypatch) -> None:
    import embedlab.viz

    calls = []

    def fake_project(kv, method, subset, random_state, n_threads):
        calls.append((method, list(subset)))
        vectors = kv.vectors[kv.keys.indices(subset)]
        return pd.DataFrame({"key": subset, "x": vectors[:, 0], "y": vectors[:, 1]})

    monkeypatch.setattr(embedlab.viz, "project", fake_project)
    app = create_app(model, map_method="tsne", map_max_points=20)
    assert app.state.explorer.wait_map(60)
    doc = get(app, "/api/map").json()
    assert doc["method"] == "tsne" and doc["n"] == doc["n_total"] == 20 and len(calls) == 1
    _, _, rows = map_points(app, method="tsne")
    counts = np.asarray(model.item_counts_)
    assert counts[rows].min() >= np.sort(counts)[-20]
    assert model.items_.ids()[rows].tolist() == calls[0][1]


# ------------------------------------------------------------------ safety


def test_large_body_is_413(app) -> None:
    big = json.dumps({"positive": [1], "pad": "x" * 70_000}).encode()
    res = post(app, "/api/analogy", content=big, headers={"Content-Type": "application/json"})
    assert res.status_code == 413


def test_large_chunked_body_is_413(app) -> None:
    async def chunks():
        yield b'{"positive": [1], "pad": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    res = post(app, "/api/analogy", content=chunks(), headers={"Content-Type": "application/json"})
    assert res.status_code == 413


def test_page_and_assets_are_local(app) -> None:
    res = get(app, "/")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    html = res.text
    assert "http://" not in html and "https://" not in html  # no CDN
    assert "default-src 'self'" in res.headers["content-security-policy"]
    for asset in ("app.js", "style.css"):
        got = get(app, f"/static/{asset}")
        assert got.status_code == 200 and got.content
        assert f"/static/{asset}" in html
    assert "https://" not in get(app, "/static/app.js").text


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../etc/passwd",
        "/static/..%2F..%2Fetc%2Fpasswd",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/static/....//....//etc/passwd",
        "/static/..\\..\\etc\\passwd",
        "/static//etc/passwd",
        "/static/__init__.py",
        "/static/_app.py",
        "/static/",
        "/static/nothing.js",
    ],
)
def test_static_path_traversal_is_refused(app, path) -> None:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            # send the path as written: no client-side normalization of ".."
            request = client.build_request("GET", "http://test/")
            request.url = request.url.copy_with(raw_path=path.encode())
            return await client.send(request)

    res = asyncio.run(go())
    assert res.status_code == 404, (path, res.status_code)
    assert b"root:" not in res.content and b"import" not in res.content


def test_cors_off_by_default_and_on_when_configured(app, model) -> None:
    headers = {"Origin": "http://evil.example"}
    assert "access-control-allow-origin" not in get(app, "/api/health", headers=headers).headers
    cors = create_app(model, cors_origins=["http://good.example"], map_method="pca")
    res = get(cors, "/api/health", headers={"Origin": "http://good.example"})
    assert res.headers["access-control-allow-origin"] == "http://good.example"
    res = get(cors, "/api/health", headers=headers)
    assert "access-control-allow-origin" not in res.headers


def test_unknown_route_is_404(app) -> None:
    assert get(app, "/api/files", params={"path": "/etc/passwd"}).status_code == 404
    assert post(app, "/api/health").status_code == 405


def test_limit_threads(monkeypatch) -> None:
    import torch

    from embedlab.web import limit_threads

    before = torch.get_num_threads()
    seen: list[int] = []
    monkeypatch.setattr("threadpoolctl.threadpool_limits", lambda n: seen.append(n), raising=True)
    try:
        assert limit_threads(1) is True
        assert torch.get_num_threads() == 1 and seen == [1]
        with pytest.warns(
            FutureWarning, match=r"^limit_threads: n= is deprecated.*use n_threads=$"
        ):
            assert limit_threads(n=1) is True
        assert seen == [1, 1]
        with pytest.raises(ValueError, match=r"both n_threads= and n="):
            limit_threads(1, n=1)
    finally:
        torch.set_num_threads(before)
