"""Fuzzing the API from its own OpenAPI description (schemathesis): no input gets a 5xx.

Every operation gets valid (positive) and invalid (negative) requests, generated
deterministically (``derandomize``), on a model with integer IDs, one with string IDs and
vectors without a model (whose user endpoints answer 404), in-process (ASGI). The whole
module is sized to run in about 40 s, fitting its two small models included, on a busy
2-core machine, and stops generating (skipping what is left) once it has used
``BUDGET_S``. Binary answers (``/api/map/points``) are only checked for their status.

Two hypothesis-only tests aim where schemathesis' random data rarely goes: numeric-looking
text (superscripts, circled and other-script digits, signs, huge digit strings) as IDs to
every endpoint that takes one, and numbers past int64 or float, NaN and infinities in
every numeric query and body field.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from embedlab.web import create_app

schemathesis = pytest.importorskip("schemathesis")

#: Examples per operation and generation mode (positive, negative).
MAX_EXAMPLES = 20
#: The module stops generating this many seconds after its first fixture started
#: (the limit is 60 s; a quiet machine needs about 20).
BUDGET_S = 45.0
#: Operations with inputs: fuzzed in both modes. The others have nothing to make invalid.
WITH_INPUTS = [
    "GET /api/search",
    "GET /api/items/{item}/neighbours",
    "GET /api/rows/{row}",
    "POST /api/analogy",
    "GET /api/users",
    "GET /api/users/{user}/history",
    "GET /api/users/{user}/recommendations",
    "POST /api/recommendations",
    "GET /api/map",
    "GET /api/map/points",
    "GET /api/colours",
]
WITHOUT_INPUTS = ["GET /api/health", "GET /api/info"]
CASES = [(label, "positive") for label in WITH_INPUTS + WITHOUT_INPUTS] + [
    (label, "negative") for label in WITH_INPUTS
]

_started: list[float] = []


def _budget_left() -> float:
    if not _started:
        _started.append(time.monotonic())
    return BUDGET_S - (time.monotonic() - _started[0])


def _vectors() -> Any:
    """Vectors mode: 30 string keys with a label, a category and a number each."""
    from embedlab import KeyedEmbeddings

    rng = np.random.default_rng(1)
    meta = pd.DataFrame(
        {
            "kind": [f"k{i % 3}" for i in range(30)],
            "count": rng.integers(1, 50, 30),
            "tags": ["a|b", "b", None] * 10,
        }
    )
    labels = [f"Item {i}" for i in range(30)]
    keys = [f"w{i}" for i in range(30)]
    return KeyedEmbeddings(rng.standard_normal((30, 4)), keys, labels=labels, metadata=meta)


@pytest.fixture(scope="module", params=["int_ids", "str_ids", "vectors"])
def app(request: pytest.FixtureRequest) -> Any:
    _budget_left()  # starts the clock
    if request.param == "vectors":
        return create_app(_vectors(), map_method="pca")
    bundle = request.getfixturevalue(
        "web_bundle" if request.param == "int_ids" else "web_bundle_str"
    )
    return create_app(bundle[0], map_method="pca")


@pytest.fixture(scope="module")
def schema(app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)


def _check(response: Any, label: str) -> None:
    status = response.status_code
    assert status < 500, f"{label}: {status} {response.text[:300]}"
    if status >= 400:
        media = response.headers.get("content-type", "")  # a list of values in schemathesis
        media = media[0] if isinstance(media, list) and media else str(media)
        assert media.startswith("application/json"), (
            f"{label}: {status} without a JSON body: {response.text[:200]}"
        )
        assert "detail" in response.json()


def test_every_operation_is_fuzzed(schema: Any) -> None:
    labels = {op.ok().label for op in schema.get_all_operations()}
    assert labels == set(WITH_INPUTS) | set(WITHOUT_INPUTS)


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_no_server_errors(schema: Any, label: str, mode: str) -> None:
    if _budget_left() <= 0:
        pytest.skip(f"the fuzzing budget of {BUDGET_S:g} s is used up")
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))

    @_SETTINGS
    @given(case=strategy)
    def run(case: Any) -> None:
        if _budget_left() > 0:
            _check(case.call(), f"{label} ({mode}) {case.path_parameters} {case.query}")

    run()


# ------------------------------------------------------------------ IDs and numbers

_DIGITISH = st.one_of(
    st.characters(categories=["Nd", "No", "Nl"]),
    st.sampled_from("0123456789+-_ ²³①⑳١٢"),
)
NUMERIC_LOOKING_IDS = st.one_of(
    st.text(_DIGITISH, min_size=1, max_size=25),
    st.integers(-(2**70), 2**70).map(str),
    st.integers(0, 3).flatmap(lambda n: st.just("-" * n + "+" * (3 - n) + "5")),
).filter(lambda s: s.strip() != "")


def _call(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(go())


@settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(id_=NUMERIC_LOOKING_IDS)
def test_numeric_looking_ids_never_crash(app: Any, id_: str) -> None:
    if _budget_left() <= 0:
        return
    path = quote(id_, safe="")
    for method, url, kwargs in [
        ("GET", f"/api/items/{path}/neighbours", {}),
        ("GET", f"/api/users/{path}/recommendations", {}),
        ("GET", f"/api/users/{path}/history", {}),
        ("POST", "/api/analogy", {"json": {"positive": [id_]}}),
        ("POST", "/api/recommendations", {"json": {"ratings": [{"item": id_, "rating": 4}]}}),
    ]:
        _check(_call(app, method, url, **kwargs), f"{method} {url} {kwargs}")


NUMBER_TEXTS = st.one_of(
    st.integers(-(2**80), 2**80).map(str),
    st.integers(2**53 - 2, 2**100).map(str),
    st.floats().map(repr),  # "inf", "nan", "1e+308"
    st.sampled_from(["1e999", "-1e999", "1e400", "NaN", "Infinity", "-Infinity", "1e-400"]),
    st.sampled_from(["9" * 23, str(2**64), str(2**63), str(-(2**63) - 1)]),
)
_QUERY_FIELDS = [
    ("/api/items/{item}/neighbours", "k"),
    ("/api/items/{item}/neighbours", "min_count"),
    ("/api/users/{user}/recommendations", "n"),
    ("/api/users/{user}/recommendations", "min_count"),
    ("/api/search?q=a", "n"),
    ("/api/users?q=1", "n"),
    ("/api/users/{user}/history", "n"),
    ("/api/map", "min_count"),
    ("/api/map/points", "min_count"),
]
_BODY_FIELDS = [
    ("/api/analogy", '{"positive": [{item}], "k": %s}'),
    ("/api/analogy", '{"positive": [{item}], "min_count": %s}'),
    ("/api/analogy", '{"positive": [%s]}'),
    ("/api/recommendations", '{"ratings": [{"item": {item}, "rating": %s}]}'),
    ("/api/recommendations", '{"ratings": [{"item": %s, "rating": 3}]}'),
    ("/api/recommendations", '{"ratings": [{"item": {item}, "rating": 3}], "n": %s}'),
    ("/api/recommendations", '{"ratings": [{"item": {item}, "rating": 3}], "min_count": %s}'),
]


@settings(
    max_examples=30,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(number=NUMBER_TEXTS)
def test_huge_and_non_finite_numbers_never_crash(app: Any, number: str) -> None:
    if _budget_left() <= 0:
        return
    explorer = app.state.explorer
    first_item = explorer.key(0)
    first_user = "1" if explorer.model is None else explorer.model.users_.ids()[:1].tolist()[0]
    item, user = json.dumps(first_item), quote(str(first_user), safe="")
    for url, name in _QUERY_FIELDS:
        url = url.replace("{user}", user).replace("{item}", quote(str(first_item), safe=""))
        sep = "&" if "?" in url else "?"
        _check(_call(app, "GET", f"{url}{sep}{name}={quote(number)}"), f"{url} {name}={number}")
    for url, template in _BODY_FIELDS:
        body = template.replace("{item}", item) % number
        res = _call(app, "POST", url, content=body, headers={"Content-Type": "application/json"})
        _check(res, f"{url} {body}")
