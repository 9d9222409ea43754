"""The HTTP edge as a stranger meets it: GraphQL over HTTP, CORS, malformed bodies (issue 11)."""

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from app.limits import LimitSettings
from tests.conftest import SETTINGS, app_client, codes, token

LIGHT = "{ viewer { credential } }"
NEW = "application/graphql-response+json"
DASHBOARD = "https://dashboard.example.com"


@pytest.fixture(scope="module")
async def edge(engine, database_url) -> AsyncIterator[httpx.AsyncClient]:
    settings = dataclasses.replace(SETTINGS, cors_origins=(DASHBOARD,))
    async with app_client(settings, engine, database_url) as client:
        yield client


def _auth(world) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(world.a, 'admin')}"}


def _json_error(response: httpx.Response, status: int, code: str = "BAD_USER_INPUT") -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/")
    assert codes(response.json()) == [code]


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "{ viewer { credential } }", "variables": {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
        b'{"query": "\xff\xfe{ viewer { credential } }"}',
        b'"just a string"',
        b"42",
        b"null",
        b'{"query": "query($s: String) { expenses(filter: {merchantSearch: $s}) { totalCount } }", "variables": {"s": "\\ud800"}}',
        b'{"query": 7}',
        b'{"query": "{ viewer { credential } }", "variables": "not an object"}',
        b"{not json",
    ],
    ids=["deep-variables", "invalid-utf8", "string", "number", "null", "lone-surrogate",
         "query-not-string", "variables-not-object", "broken"],
)  # fmt: skip
async def test_malformed_bodies_are_400_json_never_500(edge, world, body: bytes) -> None:
    headers = {**_auth(world), "Content-Type": "application/json"}
    response = await edge.post("/graphql", content=body, headers=headers)
    _json_error(response, 400)


async def test_anonymous_malformed_bodies_are_400_too(edge) -> None:
    response = await edge.post(
        "/graphql", content=b"[" * 50_000, headers={"Content-Type": "application/json"}
    )
    _json_error(response, 400)


async def test_transport_refusals_are_json(edge, world) -> None:
    _json_error(await edge.put("/graphql", json={"query": LIGHT}, headers=_auth(world)), 405)
    text = await edge.post("/graphql", content=LIGHT, headers={**_auth(world), "Content-Type": "text/plain"})  # fmt: skip
    _json_error(text, 415)
    _json_error(await edge.post("/graphql", json={"variables": {}}, headers=_auth(world)), 400)
    unacceptable = await edge.post(
        "/graphql", json={"query": LIGHT}, headers={**_auth(world), "Accept": "text/csv"}
    )
    _json_error(unacceptable, 406)


async def test_graphql_response_json_gives_4xx_for_request_errors(edge, world) -> None:
    headers = {**_auth(world), "Accept": f"{NEW}, application/json;q=0.9"}
    invalid = await edge.post("/graphql", json={"query": "{ nope }"}, headers=headers)
    assert invalid.status_code == 400 and invalid.headers["content-type"] == NEW
    assert "data" not in invalid.json() and codes(invalid.json()) == ["BAD_USER_INPUT"]
    ok = await edge.post("/graphql", json={"query": LIGHT}, headers=headers)
    assert ok.status_code == 200 and ok.headers["content-type"] == NEW
    assert ok.json()["data"]["viewer"]["credential"]
    # the legacy media type keeps 200 and "data": null for the same request
    legacy = await edge.post("/graphql", json={"query": "{ nope }"}, headers=_auth(world))
    assert legacy.status_code == 200 and legacy.json()["data"] is None
    assert legacy.headers["content-type"] == "application/json"


async def test_401_carries_www_authenticate(edge) -> None:
    for headers in ({"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}):
        response = await edge.post("/graphql", json={"query": LIGHT}, headers=headers)
        _json_error(response, 401, "UNAUTHENTICATED")
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_request_ids_are_echoed_on_every_response(edge, world) -> None:
    given = await edge.post(
        "/graphql", json={"query": LIGHT}, headers={**_auth(world), "X-Request-Id": "trace-42"}
    )
    assert given.headers["x-request-id"] == "trace-42"
    for response in (
        await edge.post("/graphql", content=b"{", headers={"Content-Type": "application/json"}),
        await edge.get("/healthz"),
        await edge.post("/graphql", json={"query": LIGHT}, headers={"X-Request-Id": "a\tb" * 50}),
    ):
        assert len(response.headers["x-request-id"]) == 32  # made here: the odd one is dropped


async def test_cors_preflight_and_exposed_headers(edge, world) -> None:
    preflight = await edge.options(
        "/graphql",
        headers={
            "Origin": DASHBOARD,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == DASHBOARD
    allowed = preflight.headers["access-control-allow-headers"].lower()
    for name in ("authorization", "content-type", "idempotency-key", "graphql-preflight", "x-request-id"):  # fmt: skip
        assert name in allowed
    actual = await edge.post(
        "/graphql", json={"query": LIGHT}, headers={**_auth(world), "Origin": DASHBOARD}
    )
    assert actual.headers["access-control-allow-origin"] == DASHBOARD
    exposed = actual.headers["access-control-expose-headers"].lower()
    assert {"x-request-id", "retry-after", "idempotent-replayed"} <= {
        h.strip() for h in exposed.split(",")
    }
    stranger = await edge.options(
        "/graphql",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    _json_error(stranger, 400, "FORBIDDEN")
    assert "access-control-allow-origin" not in stranger.headers


async def test_every_graphql_answer_varies_by_origin_with_an_origin_or_without(edge, world) -> None:
    # a cache must not give a cross-origin page the answer to a same-origin request (no
    # Access-Control-Allow-Origin), whichever it stored first: both say Vary: Origin once
    for headers in ({}, {"Origin": DASHBOARD}):
        for response in (
            await edge.post("/graphql", json={"query": LIGHT}, headers={**_auth(world), **headers}),
            await edge.post("/graphql", content=b"{", headers={"Content-Type": "application/json", **headers}),
        ):  # fmt: skip
            vary = [v.strip() for v in response.headers.get_list("vary") for v in v.split(",")]
            assert vary.count("Origin") == 1, (headers, response.headers)
            assert len(response.headers["x-request-id"]) == 32


async def test_no_cors_origins_by_default(client, world) -> None:
    assert SETTINGS.cors_origins == ()
    preflight = await client.options(
        "/graphql", headers={"Origin": DASHBOARD, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers


async def test_rate_limited_answers_carry_retry_after(engine, database_url, world) -> None:
    settings = dataclasses.replace(
        SETTINGS, limits=LimitSettings(max_cost=100, bucket_size=30, restore_rate=1)
    )
    query = "{ expenses(first: 20) { nodes { id } } }"
    async with app_client(settings, engine, database_url) as c:
        headers = {"Authorization": f"Bearer {token(world.b, 'admin')}"}
        answers = [await c.post("/graphql", json={"query": query}, headers=headers) for _ in range(3)]  # fmt: skip
        limited = [a for a in answers if "RATE_LIMITED" in codes(a.json())]
        assert limited and all(int(a.headers["retry-after"]) >= 1 for a in limited)
        new = await c.post("/graphql", json={"query": query}, headers={**headers, "Accept": NEW})
        assert new.status_code == 429 and int(new.headers["retry-after"]) >= 1
