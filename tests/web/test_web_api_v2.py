"""API v2 of the explorer (issue 19) with known answers: both metrics, vectors mode,
colours decoded per row, regex and column search, users and histories, the binary map
and its methods, a stored layout."""

from __future__ import annotations

import asyncio
import base64
import copy
import math
import threading
import time
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import embedlab as el
from embedlab import KeyedEmbeddings
from embedlab.web import create_app


def call(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def get(app: Any, url: str, **kwargs: Any) -> httpx.Response:
    return call(app, "GET", url, **kwargs)


def decode(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def points(app: Any, **params: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    res = get(app, "/api/map/points", params=params)
    assert res.status_code == 200, res.text
    body = res.content
    n = int(np.frombuffer(body[:4], dtype="<u4")[0])
    assert len(body) == 4 + 12 * n
    return (
        np.frombuffer(body[4 : 4 + 4 * n], dtype="<f4"),
        np.frombuffer(body[4 + 4 * n : 4 + 8 * n], dtype="<f4"),
        np.frombuffer(body[4 + 8 * n :], dtype="<u4"),
    )


# ------------------------------------------------------------------ planted vectors

#: "q" is [1, 0]. Cosine ranks "long" (same direction, far away) first; euclidean ranks
#: "short" (45 degrees off, close by) first.
PLANTED = {
    "q": [1.0, 0.0],
    "long": [10.0, 0.5],
    "short": [0.5, 0.5],
    "up": [1.0, 1.5],
    "back": [-1.0, 0.0],
}
GENRES = ["a|b", "a", "b|c", "c", "a|c", None]  # a: 3 rows, c: 3, b: 2


@pytest.fixture(scope="module")
def vectors_app() -> Any:
    keys = list(PLANTED)
    meta = pd.DataFrame(
        {
            "genres": [*GENRES[:5]],
            "kind": ["x", "y", "x", None, "z"],
            "size": [1.5, np.nan, -2.0, 4.0, 0.25],
        }
    )
    labels = ["Query", "Long arrow", "Short arrow", "Upward", None]
    kv = KeyedEmbeddings([PLANTED[k] for k in keys], keys, labels=labels, metadata=meta)
    return create_app(kv, map_method="pca", source_name="planted.tsv")


def test_vectors_mode_info(vectors_app) -> None:
    info = get(vectors_app, "/api/info").json()
    assert info["has_model"] is False and info["model_class"] == "KeyedEmbeddings"
    assert info["source"] == "planted.tsv" and info["n_users"] == 0
    assert info["rating_scale"] is None and info["has_counts"] is False
    assert info["default_min_count"] == 0 and info["n_items"] == 5
    assert info["metrics"] == ["cosine", "euclidean"]
    assert {"pca", "tsne"} <= set(info["map_methods"]) and info["map_method"] == "pca"
    columns = {c["name"]: c for c in info["columns"]}
    assert columns["genres"] == {"name": "genres", "kind": "categorical", "multi": True} | {
        "n_levels": 3
    }
    assert columns["kind"]["kind"] == "categorical" and columns["kind"]["n_levels"] == 3
    assert columns["size"]["kind"] == "numeric" and "n_ratings" not in columns
    assert info["searchable"] == ["label", "key", "genres", "kind", "size"]
    assert info["default_colour"] == "genres" and info["has_layout"] is False


@pytest.mark.parametrize(
    ("metric", "order"),
    [("cosine", ["long", "short", "up", "back"]), ("euclidean", ["short", "up", "back", "long"])],
)
def test_neighbours_by_both_metrics(vectors_app, metric, order) -> None:
    res = get(vectors_app, "/api/items/q/neighbours", params={"k": 4, "metric": metric})
    assert res.status_code == 200, res.text
    doc = res.json()
    assert doc["metric"] == metric and doc["query"][0]["key"] == "q"
    assert [n["key"] for n in doc["neighbours"]] == order
    q = np.array(PLANTED["q"])
    for n in doc["neighbours"]:
        v = np.array(PLANTED[n["key"]])
        assert n["distance"] == pytest.approx(float(np.linalg.norm(v - q)), rel=1e-6)
        assert n["similarity"] == pytest.approx(float(v @ q / np.linalg.norm(v)), rel=1e-6)
    assert doc["neighbours"][0]["row"] == list(PLANTED).index(order[0])


def test_item_payload_has_row_genres_and_meta(vectors_app) -> None:
    doc = get(vectors_app, "/api/items/short/neighbours", params={"k": 4}).json()
    query = doc["query"][0]
    assert query == {
        "row": 2,
        "key": "short",
        "label": "Short arrow",
        "genres": ["b", "c"],
        "year": None,
        "n_ratings": None,
        "meta": {"kind": "x", "size": -2.0},
    }
    back = next(n for n in doc["neighbours"] if n["key"] == "back")
    assert back["label"] is None and back["meta"] == {"kind": "z", "size": 0.25}


def test_vectors_mode_has_no_users(vectors_app) -> None:
    for url in ("/api/users", "/api/users/1/history", "/api/users/1/recommendations"):
        res = get(vectors_app, url)
        assert res.status_code == 404 and "no model" in res.json()["detail"]
    assert get(vectors_app, "/api/users").json()["detail"] == (
        "these embeddings have no model: no users"
    )
    res = call(
        vectors_app, "POST", "/api/recommendations", json={"ratings": [{"item": "q", "rating": 4}]}
    )
    assert res.status_code == 404


def test_colours_categorical_multi_and_numeric(vectors_app) -> None:
    doc = get(vectors_app, "/api/colours", params={"column": "kind"}).json()
    assert doc["kind"] == "categorical" and doc["multi"] is False
    assert doc["levels"] == [
        {"value": "x", "count": 2},
        {"value": "y", "count": 1},
        {"value": "z", "count": 1},
    ]
    assert decode(doc["codes"], "<u2").tolist() == [0, 1, 0, 65535, 2]
    # genres: levels by count (ties by name): a (3), c (3), b (2); each row's code is its
    # rarest level, and its members a bitmask of its levels
    doc = get(vectors_app, "/api/colours", params={"column": "genres"}).json()
    assert doc["multi"] is True
    assert [lv["value"] for lv in doc["levels"]] == ["a", "c", "b"]
    assert [lv["count"] for lv in doc["levels"]] == [3, 3, 2]
    # rows: a|b -> b; a -> a; b|c -> b; c -> c; a|c -> c (equal counts: the later level)
    assert decode(doc["codes"], "<u2").tolist() == [2, 0, 2, 1, 1]
    assert decode(doc["members"], "<u4").tolist() == [0b101, 0b001, 0b110, 0b010, 0b011]
    doc = get(vectors_app, "/api/colours", params={"column": "size"}).json()
    assert doc["kind"] == "numeric" and doc["min"] == -2.0 and doc["max"] == 4.0
    values = decode(doc["values"], "<f4")
    assert values[[0, 2, 3, 4]].tolist() == [1.5, -2.0, 4.0, 0.25] and math.isnan(values[1])
    res = get(vectors_app, "/api/colours", params={"column": "n_ratings"})
    assert res.status_code == 422 and "colour column" in res.json()["detail"]


def test_a_categorical_column_past_19_levels_gets_other() -> None:
    kinds = [f"k{i:02d}" for i in range(25)] + ["k00"] * 5
    kv = KeyedEmbeddings(
        np.eye(30), list(range(30)), metadata=pd.DataFrame({"kind": kinds, "count": [3] * 30})
    )
    app = create_app(kv, map_method="pca")
    info = get(app, "/api/info").json()
    assert info["has_counts"] is True and info["default_min_count"] == 3
    assert info["default_colour"] == "n_ratings"  # 25 levels: more than 20
    doc = get(app, "/api/colours", params={"column": "kind"}).json()
    assert len(doc["levels"]) == 19 and doc["levels"][0] == {"value": "k00", "count": 6}
    codes = decode(doc["codes"], "<u2")
    assert (codes[20:25] == 65535).all() and codes[0] == 0 and (codes[25:] == 0).all()


def test_search_by_column_and_by_key(vectors_app) -> None:
    doc = get(vectors_app, "/api/search", params={"q": "X", "column": "kind"}).json()
    assert doc["column"] == "kind" and doc["n_matches"] == 2
    assert [h["key"] for h in doc["items"]] == ["q", "short"]
    doc = get(vectors_app, "/api/search", params={"q": "b", "column": "genres"}).json()
    assert {h["key"] for h in doc["items"]} == {"q", "short"} and doc["n_matches"] == 2
    doc = get(vectors_app, "/api/search", params={"q": "arrow"}).json()
    assert doc["mode"] == "text" and doc["column"] == "label"
    assert {h["key"] for h in doc["items"]} == {"long", "short"}
    doc = get(vectors_app, "/api/search", params={"q": "BACK"}).json()  # an ID, case ignored
    assert doc["items"][0]["key"] == "back" and doc["items"][0]["score"] == 1.0
    res = get(vectors_app, "/api/search", params={"q": "x", "column": "nothing"})
    assert res.status_code == 422 and "searchable" in res.json()["detail"]


def test_search_with_no_match_is_an_empty_200(vectors_app) -> None:
    res = get(vectors_app, "/api/search", params={"q": "zebra"})
    assert res.status_code == 200 and res.json()["items"] == []
    assert res.json()["n_matches"] == 0
    res = get(vectors_app, "/api/search", params={"q": "zebra", "mode": "regex"})
    assert res.status_code == 200 and res.json()["n_matches"] == 0


def test_regex_search(vectors_app) -> None:
    doc = get(vectors_app, "/api/search", params={"q": r"^(short|long) ARROW$", "mode": "regex"})
    doc = doc.json()
    assert doc["mode"] == "regex" and doc["column"] == "label" and doc["n_matches"] == 2
    assert [h["key"] for h in doc["items"]] == ["long", "short"]
    doc = get(
        vectors_app, "/api/search", params={"q": "^(q|up)$", "mode": "regex", "column": "key"}
    )
    assert [h["key"] for h in doc.json()["items"]] == ["q", "up"]
    res = get(vectors_app, "/api/search", params={"q": "(unclosed", "mode": "regex"})
    assert res.status_code == 422 and res.json()["detail"].startswith("regex '(unclosed': ")


def test_catastrophic_regex_is_stopped_quickly() -> None:
    labels = ["a" * 60 + "!", "plain"]
    app = create_app(KeyedEmbeddings(np.eye(2), ["x", "y"], labels=labels), map_method="pca")
    started = time.monotonic()
    res = get(app, "/api/search", params={"q": "(a|aa)+$", "mode": "regex"})
    assert time.monotonic() - started < 5
    assert res.status_code == 422 and "longer than 0.25 s" in res.json()["detail"]
    # the regex package answers the classic (a+)+$ at once (no match)
    res = get(app, "/api/search", params={"q": "(a+)+$", "mode": "regex"})
    assert res.status_code == 200 and res.json()["n_matches"] == 0


def test_large_catalogue_search_path_agrees(monkeypatch) -> None:
    """Above FIND_MAX_ITEMS the labels are searched vectorised and regexes by RE2."""
    import embedlab.web._app as web_app

    labels = ["Star Wars (1977)", "Star Trek", "Wars of the Roses", "Amélie", "Stardust"]
    kv = KeyedEmbeddings(np.eye(5), [10, 20, 30, 40, 50], labels=labels)
    monkeypatch.setattr(web_app, "FIND_MAX_ITEMS", 2)
    app = create_app(kv, map_method="pca")
    doc = get(app, "/api/search", params={"q": "star wars (1977)"}).json()
    assert doc["items"][0]["key"] == 10 and doc["items"][0]["score"] == 1.0
    doc = get(app, "/api/search", params={"q": "wars"}).json()
    assert {h["key"] for h in doc["items"]} == {10, 30} and doc["n_matches"] == 2
    assert get(app, "/api/search", params={"q": "30"}).json()["items"][0]["key"] == 30
    doc = get(app, "/api/search", params={"q": "^star", "mode": "regex"}).json()
    assert {h["key"] for h in doc["items"]} == {10, 20, 50}
    # RE2 cannot run a backreference: the regex package does ("Roses", "Stardust")
    doc = get(app, "/api/search", params={"q": r"(s)\w*\1", "mode": "regex"}).json()
    assert {h["key"] for h in doc["items"]} == {30, 50}
    # a title as the item of a URL, exact (case ignored), and 404 with suggestions
    assert get(app, "/api/items/star trek/neighbours").json()["query"][0]["key"] == 20
    res = get(app, "/api/items/star/neighbours")
    assert res.status_code == 404 and res.json()["suggestions"]


# ------------------------------------------------------------------ a model


@pytest.fixture(scope="module")
def model(web_bundle) -> Any:
    return web_bundle[1]


@pytest.fixture(scope="module")
def app(web_bundle) -> Any:
    return create_app(web_bundle[0], map_method="pca")


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    ds, _ = el.synthetic_ratings(150, 60, 4000, random_state=3)  # web_bundle's data
    return ds.to_pandas()


def test_model_info(app, model) -> None:
    info = get(app, "/api/info").json()
    assert info["has_model"] is True and info["source"] == "mf" and info["has_counts"] is True
    assert info["rating_scale"] == [1.0, 5.0] and info["n_users"] == len(model.users_)
    columns = {c["name"]: c for c in info["columns"]}
    assert columns["genres"]["multi"] is True and columns["genres"]["n_levels"] > 1
    assert columns["n_ratings"]["kind"] == "numeric" and columns["bias"]["kind"] == "numeric"
    assert "title" not in columns and "title" in info["searchable"]  # 60 titles: > 50
    assert info["default_colour"] == "genres"


def test_colours_of_counts_and_biases(app, model) -> None:
    doc = get(app, "/api/colours", params={"column": "n_ratings"}).json()
    np.testing.assert_array_equal(decode(doc["values"], "<f4"), np.asarray(model.item_counts_))
    doc = get(app, "/api/colours", params={"column": "bias"}).json()
    frame = model.item_biases()
    expected = np.empty(len(model.items_))
    expected[model.items_.indices(frame["id"].tolist())] = frame["bias"]
    np.testing.assert_allclose(decode(doc["values"], "<f4"), expected, rtol=1e-6)
    doc = get(app, "/api/colours", params={"column": "genres"}).json()
    genres = model.item_metadata_["genres"].tolist()
    levels = [lv["value"] for lv in doc["levels"]]
    codes = decode(doc["codes"], "<u2")
    members = decode(doc["members"], "<u4")
    for row, names in enumerate(genres):
        assert levels[codes[row]] in names
        assert {levels[j] for j in range(len(levels)) if members[row] >> j & 1} == set(names)


def test_search_exact_id_first(app, model) -> None:
    doc = get(app, "/api/search", params={"q": "5", "n": 5}).json()
    assert doc["items"][0]["key"] == 5 and doc["items"][0]["score"] == 1.0
    assert doc["n_matches"] >= len(doc["items"])
    assert {h["key"] for h in doc["items"][1:]} <= {k for k in range(1, 61) if "5" in str(k)}


def test_messages_do_not_name_python_functions(app) -> None:
    res = get(app, "/api/items/no such film at all/neighbours")
    assert res.status_code == 404
    assert "find(" not in res.json()["detail"] and "()" not in res.json()["detail"]
    res = get(app, "/api/search", params={"q": "!!!"})
    assert res.status_code == 422 and "find(" not in res.json()["detail"]


def test_users_search(app, model, ratings) -> None:
    counts = ratings.groupby("user").size()
    doc = get(app, "/api/users", params={"n": 5}).json()
    expected = sorted(counts.index, key=lambda u: (-counts[u], model.users_.index(u)))[:5]
    assert [u["id"] for u in doc["users"]] == expected
    top = doc["users"][0]
    assert top["n_ratings"] == counts[top["id"]]
    assert top["mean_rating"] == pytest.approx(ratings[ratings.user == top["id"]].rating.mean())
    doc = get(app, "/api/users", params={"q": "1", "n": 100}).json()
    ids = [u["id"] for u in doc["users"]]
    assert ids[0] == 1 and set(ids) == {u for u in counts.index if "1" in str(u)}
    starting = [u for u in ids[1:] if str(u).startswith("1")]
    assert ids[1 : 1 + len(starting)] == starting  # IDs starting with q before the others
    assert get(app, "/api/users", params={"q": "zzz"}).json() == {"users": []}
    assert get(app, "/api/users", params={"n": 101}).status_code == 422


def test_user_history_is_the_training_data(app, model, ratings) -> None:
    doc = get(app, "/api/users/7/history", params={"n": 1000}).json()
    mine = ratings[ratings.user == 7]
    assert doc["user"] == 7 and doc["n_ratings"] == len(mine)
    assert doc["mean_rating"] == pytest.approx(mine.rating.mean())
    counts = dict(zip(model.items_.ids().tolist(), model.item_counts_.tolist(), strict=True))
    expected = sorted(
        zip(mine.item, mine.rating, strict=True),
        key=lambda p: (-p[1], -counts[p[0]], model.items_.index(p[0])),
    )
    assert [(h["key"], h["rating"]) for h in doc["items"]] == [(i, float(r)) for i, r in expected]
    assert doc["items"][0]["label"] and doc["items"][0]["genres"]
    assert len(get(app, "/api/users/7/history", params={"n": 3}).json()["items"]) == 3
    assert get(app, "/api/users/99999/history").status_code == 404
    assert get(app, "/api/users/7/history", params={"n": 1001}).status_code == 422


def test_recommendations_carry_the_scale_and_reasons(app, model, ratings) -> None:
    doc = get(app, "/api/users/7/recommendations", params={"n": 5, "explain": "true"}).json()
    assert doc["score_label"] == "predicted rating" and doc["rating_scale"] == [1.0, 5.0]
    assert all(1.0 <= r["score"] <= 5.0 for r in doc["items"])
    mine = ratings[ratings.user == 7]
    liked = {
        str(model.item_metadata_["title"].iloc[model.items_.index(i)])
        for i in mine[mine.rating > mine.rating.mean()].item
    }
    assert all(r["because"] is not None and len(r["because"]) <= 2 for r in doc["items"])
    assert {b for r in doc["items"] for b in r["because"]} <= liked
    body = {"ratings": [{"item": 1, "rating": 5}, {"item": 2, "rating": 1}], "n": 3}
    doc = call(app, "POST", "/api/recommendations", json=body).json()
    assert doc["score_label"] == "predicted rating" and doc["user"] is None


def test_a_second_map_method_is_202_then_200(model, monkeypatch) -> None:
    import embedlab.web._app as web_app

    gate = threading.Event()
    real = web_app._project

    def gated(kv: Any, rows: Any, method: str, random_state: Any) -> Any:
        if method == "tsne":
            assert gate.wait(60)
            return kv.vectors[rows][:, :2].astype(np.float64)
        return real(kv, rows, method, random_state)

    monkeypatch.setattr(web_app, "_project", gated)
    app = create_app(model, map_method="pca")
    explorer = app.state.explorer
    try:
        assert explorer.wait_map(60)
        assert get(app, "/api/map").json()["method"] == "pca"
        for url in ("/api/map", "/api/map/points"):
            res = get(app, url, params={"method": "tsne"})
            assert res.status_code == 202 and res.json()["method"] == "tsne"
    finally:
        gate.set()
    assert explorer.wait_map(60, method="tsne")
    doc = get(app, "/api/map", params={"method": "tsne", "min_count": 0}).json()
    assert doc["status"] == "ready" and doc["method"] == "tsne"
    assert doc["points_url"] == "/api/map/points?method=tsne&min_count=0"
    x, y, rows = points(app, method="tsne", min_count=0)
    xy = model.item_embeddings().vectors[:, :2].astype(np.float64)
    xy = (xy - xy.mean(axis=0)) / np.abs(xy - xy.mean(axis=0)).max()
    np.testing.assert_allclose(np.column_stack([x, y]), xy[rows], atol=1e-6)
    assert explorer.map_computations == 2
    if "umap" not in get(app, "/api/info").json()["map_methods"]:
        res = get(app, "/api/map", params={"method": "umap"})
        assert res.status_code == 422 and "umap-learn" in res.json()["detail"]
        with pytest.raises(ValueError, match="umap-learn"):
            create_app(model, map_method="umap")


def test_a_stored_layout_is_ready_at_once(model, monkeypatch) -> None:
    import embedlab.web._app as web_app

    def never(*args: Any) -> Any:
        raise AssertionError("a stored layout needs no computation")

    monkeypatch.setattr(web_app, "_project", never)
    stored = copy.copy(model)
    xy = np.column_stack([np.arange(len(model.items_)), np.zeros(len(model.items_))])
    stored.item_layout_ = {"method": "umap", "xy": xy.astype(np.float32)}
    app = create_app(stored)
    info = get(app, "/api/info").json()
    assert info["has_layout"] is True and info["map_method"] == "umap"
    assert "umap" in info["map_methods"]
    doc = get(app, "/api/map", params={"min_count": 0}).json()
    assert doc["status"] == "ready" and doc["n_total"] == len(model.items_)
    x, y, rows = points(app, method="umap", min_count=0)
    expected = (xy[:, 0] - xy[:, 0].mean()) / np.abs(xy[:, 0] - xy[:, 0].mean()).max()
    np.testing.assert_allclose(x, expected[rows], atol=1e-6)
    assert (y == 0).all() and app.state.explorer.map_computations == 0


def test_map_of_vectors_labels_the_longest_vectors(vectors_app) -> None:
    assert vectors_app.state.explorer.wait_map(60)
    doc = get(vectors_app, "/api/map").json()
    assert doc["n"] == doc["n_total"] == 5 and doc["min_count"] == 0
    # by vector norm; "q" and "back" tie (norm 1): the lower row first
    assert [p["row"] for p in doc["labelled"]] == [1, 3, 0, 4, 2]
    assert doc["labelled"][3]["label"] == "back"  # no label: the key
    x, y, rows = points(vectors_app)
    assert sorted(rows.tolist()) == [0, 1, 2, 3, 4] and np.abs(np.r_[x, y]).max() <= 1.0


def test_neighbours_match_brute_force_on_both_paths(monkeypatch) -> None:
    """Random vectors with counts: the API's neighbours equal a brute-force answer, with
    the min_count filter, on the small path and on the large-catalogue (masked) path."""
    import embedlab.web._app as web_app

    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((400, 8)).astype(np.float32)
    counts = rng.integers(0, 30, 400)
    kv = KeyedEmbeddings(vectors, list(range(400)), metadata=pd.DataFrame({"n_ratings": counts}))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    allowed = (counts >= 12) & (np.arange(400) != 7)
    cand = np.flatnonzero(allowed)
    cos = unit[cand] @ unit[7]
    dist = np.linalg.norm(vectors[cand].astype(np.float64) - vectors[7], axis=1)
    want = {
        "cosine": cand[np.lexsort((cand, -cos))][:15].tolist(),
        "euclidean": cand[np.lexsort((cand, dist))][:15].tolist(),
    }
    for limit in (10_000, 2):  # the small path, then the large-catalogue path
        monkeypatch.setattr(web_app, "FIND_MAX_ITEMS", limit)
        app = create_app(kv, map_method="pca")
        for metric, rows in want.items():
            params = {"k": 15, "metric": metric, "min_count": 12}
            doc = get(app, "/api/items/7/neighbours", params=params).json()
            assert [n["row"] for n in doc["neighbours"]] == rows, (limit, metric)
            for n in doc["neighbours"]:
                v = vectors[n["row"]].astype(np.float64)
                assert n["distance"] == pytest.approx(np.linalg.norm(v - vectors[7]), rel=1e-6)


def test_item_by_row_is_what_a_map_point_refers_to(web_bundle):
    """The binary map gives rows; /api/rows/{row} gives the item behind one (a tooltip
    or a click), the same payload as everywhere else; past the last row: 404."""
    app = create_app(web_bundle[0], map_method="pca")
    explorer = app.state.explorer
    n = len(explorer.kv)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for row in (0, n // 2, n - 1):
                got = (await client.get(f"/api/rows/{row}")).json()
                assert got == explorer.item(row)
                assert got["row"] == row and got["key"] == explorer.kv.keys.id(row)
            missing = await client.get(f"/api/rows/{n}")
            assert missing.status_code == 404 and f"rows 0 to {n - 1}" in missing.json()["detail"]
            assert (await client.get("/api/rows/-1")).status_code == 422

    asyncio.run(run())
