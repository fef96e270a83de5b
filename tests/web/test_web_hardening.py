"""Inputs that used to crash the server (500, a logged traceback, a reset keep-alive
connection): numeric-looking IDs that are not integers, numbers past float or int64.

Every one must get a 4xx with a JSON error body (or a 2xx where it names a real item),
and nothing may be logged at ERROR.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from conftest import LiveServer
from embedlab.web import create_app

# IDs that str.isdigit() (or "-".lstrip + isdigit) takes for a number, or past int64
TRICKY_IDS = [
    "²",  # superscript two
    "①",  # circled one
    "--5",  # a doubled sign
    "+-3",
    "-",
    "9" * 30,  # a huge digit string
    str(2**63),  # one past int64
    "-" + "9" * 19,
]
# Numbers past float (parsed as inf), past int64, NaN, in a query string.
HUGE_QUERY_NUMBERS = ["1e999", "-1e999", "1e400", "99999999999999999999999", "inf", "nan"]
# The same in a JSON body (raw text: json.dumps cannot write them).
HUGE_JSON_NUMBERS = ["1e400", "-1e400", "1e999", "99999999999999999999999"]


@pytest.fixture(scope="module")
def app(web_bundle) -> Any:
    return create_app(web_bundle[0], map_method="pca")


@pytest.fixture(scope="module")
def str_app(web_bundle_str) -> Any:
    return create_app(web_bundle_str[0], map_method="pca")


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """Log records at ERROR or with a traceback, from any logger, during the test."""
    caplog.set_level(logging.WARNING)
    found: list[logging.LogRecord] = []
    yield found
    found.extend(r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info)
    assert not found, [r.getMessage() for r in found]


def call(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        # the app's exceptions would come back as a 500 (no raise), and be logged
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


def json_post(app: Any, url: str, body: str) -> httpx.Response:
    return call(app, "POST", url, content=body, headers={"Content-Type": "application/json"})


def assert_json_error(res: httpx.Response, status: int | tuple[int, ...]) -> None:
    wanted = status if isinstance(status, tuple) else (status,)
    assert res.status_code in wanted, (res.status_code, res.text)
    assert res.headers["content-type"].startswith("application/json")
    assert "detail" in res.json()


def id_requests(id_: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The five endpoints that take an ID: (method, url, kwargs)."""
    path = quote(id_, safe="")
    return [
        ("GET", f"/api/items/{path}/neighbours", {}),
        ("GET", f"/api/users/{path}/recommendations", {}),
        ("GET", f"/api/users/{path}/history", {}),
        ("POST", "/api/analogy", {"json": {"positive": [id_]}}),
        ("POST", "/api/recommendations", {"json": {"ratings": [{"item": id_, "rating": 4}]}}),
    ]


# ------------------------------------------------------------------ IDs


@pytest.mark.parametrize("id_", TRICKY_IDS)
def test_numeric_looking_ids_are_404_on_int_ids(app, errors, id_: str) -> None:
    for method, url, kwargs in id_requests(id_):
        res = call(app, method, url, **kwargs)
        assert_json_error(res, 404)
        if "/users/" not in url:
            assert isinstance(res.json()["suggestions"], list)


@pytest.mark.parametrize("id_", [*TRICKY_IDS, "7", "١٢"])
def test_numeric_looking_ids_on_string_ids(str_app, web_bundle_str, errors, id_: str) -> None:
    model = web_bundle_str[1]
    known_user, known_item = id_ in model.users_, id_ in model.items_
    for method, url, kwargs in id_requests(id_):
        res = call(str_app, method, url, **kwargs)
        known = known_user if "/users/" in url else known_item
        if known:  # "7" and "²" are string IDs of this model: taken as they are
            assert res.status_code == 200, res.text
        else:
            assert_json_error(res, 404)


def test_string_ids_that_look_numeric_are_found_as_strings(str_app) -> None:
    res = call(str_app, "GET", "/api/items/%C2%B2/neighbours")  # "²"
    assert res.status_code == 200 and res.json()["query"][0]["key"] == "²"
    res = call(str_app, "GET", "/api/users/-3/recommendations", params={"n": 2})
    assert res.status_code == 200 and res.json()["user"] == "-3"
    res = call(str_app, "POST", "/api/analogy", json={"positive": [7]})  # a JSON number
    assert res.status_code == 200 and res.json()["query"][0]["key"] == "7"


@pytest.mark.parametrize("id_", ["+5", " 5 ", "005"])
def test_plain_integers_with_sign_or_spaces_still_work(app, errors, id_: str) -> None:
    res = call(app, "GET", f"/api/items/{quote(id_)}/neighbours", params={"k": 2})
    assert res.status_code == 200 and res.json()["query"][0]["key"] == 5
    res = call(app, "GET", f"/api/users/{quote(id_)}/recommendations", params={"n": 2})
    assert res.status_code == 200 and res.json()["user"] == 5


@pytest.mark.parametrize("number", ["99999999999999999999", "-99999999999999999999"])
def test_json_item_ids_past_int64_are_422(app, errors, number: str) -> None:
    body = f'{{"positive": [{number}]}}'
    assert_json_error(json_post(app, "/api/analogy", body), 422)
    body = f'{{"ratings": [{{"item": {number}, "rating": 4}}]}}'
    assert_json_error(json_post(app, "/api/recommendations", body), 422)


# ------------------------------------------------------------------ numbers


@pytest.mark.parametrize("number", HUGE_QUERY_NUMBERS)
@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/items/5/neighbours", "k"),
        ("/api/items/5/neighbours", "min_count"),
        ("/api/users/5/recommendations", "n"),
        ("/api/users/5/recommendations", "min_count"),
        ("/api/search?q=movie", "n"),
        ("/api/users?q=1", "n"),
        ("/api/users/5/history", "n"),
        ("/api/map", "min_count"),
        ("/api/map/points", "min_count"),
    ],
)
def test_huge_numbers_in_the_query_are_422(app, errors, url: str, name: str, number: str) -> None:
    sep = "&" if "?" in url else "?"
    assert_json_error(call(app, "GET", f"{url}{sep}{name}={number}"), 422)


def test_min_count_at_its_bound_is_accepted_and_past_it_is_422(app, errors) -> None:
    res = call(app, "GET", "/api/items/5/neighbours", params={"min_count": 2**53})
    assert res.status_code == 200 and res.json()["neighbours"] == []
    assert_json_error(call(app, "GET", f"/api/items/5/neighbours?min_count={2**53 + 1}"), 422)
    res = call(app, "GET", "/api/users/5/recommendations", params={"min_count": 2**53})
    assert res.status_code == 200 and res.json()["items"] == []


@pytest.mark.parametrize("number", HUGE_JSON_NUMBERS)
@pytest.mark.parametrize(
    ("url", "template"),
    [
        ("/api/analogy", '{"positive": [5], "k": %s}'),
        ("/api/analogy", '{"positive": [5], "min_count": %s}'),
        ("/api/analogy", '{"positive": [%s]}'),
        ("/api/analogy", '{"positive": [5], "negative": [%s]}'),
        ("/api/recommendations", '{"ratings": [{"item": 5, "rating": %s}]}'),
        ("/api/recommendations", '{"ratings": [{"item": %s, "rating": 4}]}'),
        ("/api/recommendations", '{"ratings": [{"item": 5, "rating": 4}], "n": %s}'),
        ("/api/recommendations", '{"ratings": [{"item": 5, "rating": 4}], "min_count": %s}'),
    ],
)
def test_huge_numbers_in_the_body_are_422(
    app, str_app, errors, url: str, template: str, number: str
) -> None:
    for target in (app, str_app):
        assert_json_error(json_post(target, url, template % number), 422)


@pytest.mark.parametrize("body", ['{"positive": [5], "k": NaN}', '{"positive": [Infinity]}'])
def test_nan_and_infinity_literals_are_422(app, errors, body: str) -> None:
    assert_json_error(json_post(app, "/api/analogy", body), 422)


# ------------------------------------------------------------------ the last resort


def test_a_bug_is_a_logged_json_500_not_a_4xx(web_bundle, caplog, monkeypatch) -> None:
    buggy = create_app(web_bundle[1], map_method="pca")

    def broken(*args: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(buggy.state.explorer, "layout", broken)
    with caplog.at_level(logging.ERROR, logger="embedlab.web"):
        res = call(buggy, "GET", "/api/map")
    assert res.status_code == 500 and res.json() == {"detail": "internal error"}
    logged = [r for r in caplog.records if r.name == "embedlab.web"]
    assert logged and logged[0].exc_info and "GET /api/map" in logged[0].getMessage()
    assert call(buggy, "GET", "/api/health").status_code == 200


# ------------------------------------------------------------------ a real server


@pytest.mark.network
def test_live_server_keeps_the_connection_and_logs_nothing(app, errors) -> None:
    handler_records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            handler_records.append(record)

    collect = Collect(logging.WARNING)
    loggers = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "embedlab.web")]
    requests = [r for id_ in TRICKY_IDS for r in id_requests(id_)]
    requests += [("GET", f"/api/items/5/neighbours?k={n}", {}) for n in HUGE_QUERY_NUMBERS]
    requests += [
        ("POST", "/api/analogy", {"content": '{"positive": [5], "min_count": 1e400}'}),
        (
            "POST",
            "/api/recommendations",
            {"content": '{"ratings": [{"item": 5, "rating": 1e999}]}'},
        ),
    ]
    for logger in loggers:
        logger.addHandler(collect)
    try:
        with LiveServer(app) as server, httpx.Client(base_url=server.url) as client:
            ports = set()
            for method, url, kwargs in requests:
                if "content" in kwargs:
                    kwargs = {**kwargs, "headers": {"Content-Type": "application/json"}}
                res = client.request(method, url, **kwargs)
                assert_json_error(res, (404, 422))
                ports.add(res.extensions["network_stream"].get_extra_info("client_addr")[1])
            assert client.get("/api/health").status_code == 200
    finally:
        for logger in loggers:
            logger.removeHandler(collect)
    assert len(ports) == 1, "the keep-alive connection was dropped"
    assert not [r for r in handler_records if r.levelno >= logging.ERROR or r.exc_info]
