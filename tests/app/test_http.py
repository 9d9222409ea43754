"""Health, readiness and GraphiQL through the real ASGI app; the serving process's GC."""

import asyncio
import gc
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import Route
from starlette.types import ASGIApp, Message

from app.http import GC_YOUNG_THRESHOLD, create_app, settle_gc
from app.observability import RequestIds
from db.connect import create_engine
from db.embedded import ensure_database
from tests.conftest import SETTINGS, token


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_when_migrated(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


async def test_readyz_reports_unmigrated_database(server_url: str) -> None:
    url = await ensure_database(server_url, "eg_unmigrated")
    engine = create_engine(url)
    app = create_app(SETTINGS, url, engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/readyz")
    await engine.dispose()
    assert response.status_code == 503
    assert "migrations at None" in response.json()["reason"]


async def test_readyz_reports_unreachable_database() -> None:
    url = "postgresql+asyncpg://nobody:nothing@127.0.0.1:1/none"
    engine = create_engine(url)
    app = create_app(SETTINGS, url, engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await asyncio.wait_for(c.get("/readyz"), timeout=15)
    await engine.dispose()
    assert response.status_code == 503
    assert response.json()["reason"] == "database unreachable"


async def test_graphiql_is_served_to_browsers(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()
    # from the service itself, never a CDN (tests/app/test_graphiql_assets.py has the details)
    assert 'src="/graphiql/' in response.text and "https://" not in response.text


async def test_introspection_needs_no_credentials_but_data_does(client: httpx.AsyncClient) -> None:
    # GraphiQL loads the schema before the developer pastes a token; data stays locked
    response = await client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
    assert response.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    response = await client.post("/graphql", json={"query": "{ viewer { credential } }"})
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_settle_gc_freezes_start_up_objects_and_raises_the_young_threshold() -> None:
    threshold = gc.get_threshold()
    try:
        settle_gc()
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD > threshold[0]
        assert gc.get_threshold()[1:] == threshold[1:]
        assert gc.get_freeze_count() > 10_000  # the schema and every module loaded so far
    finally:  # the test process goes on as it was
        gc.unfreeze()
        gc.set_threshold(*threshold)


async def _raw_answer(
    app: ASGIApp, method: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> list[Message]:
    """Return the messages ``app`` sends to one request, called as the server calls it."""
    sent: list[Message] = []
    received = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        if received:
            return received.pop()
        await asyncio.Event().wait()  # the client stays
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/graphql", "headers": headers,
             "query_string": b"", "scheme": "http", "server": ("t", 80), "root_path": ""}  # fmt: skip
    await app(scope, receive, send)
    return sent


async def test_same_origin_answers_carry_the_headers_request_ids_would_add(
    engine: AsyncEngine, database_url: str, world: Any
) -> None:
    # a request without an Origin skips RequestIds' send wrapper: the endpoint writes the id
    # and Vary: Origin into its answers, the same raw headers in the same order
    app: Any = create_app(SETTINGS, database_url, engine=engine)
    same_origin = app.graphql_same_origin
    endpoint = next(r for r in app.routes if isinstance(r, Route) and r.path == "/graphql")
    wrapped = RequestIds(endpoint.endpoint, vary_origin=True)
    json = (b"content-type", b"application/json")
    signed_in = (b"authorization", f"Bearer {token(world.a, 'admin')}".encode())
    for method, headers, body in [
        ("POST", [json, signed_in], b'{"query": "{ viewer { credential } }"}'),  # ok
        ("POST", [json], b'{"query": "{ viewer { credential } }"}'),  # no credential
        ("POST", [json, (b"authorization", b"Bearer nope")], b'{"query": "{ __typename }"}'),  # 401
        ("POST", [json, signed_in], b"{not json"),  # 400
        ("PUT", [json, signed_in], b"{}"),  # 405, with Allow
        ("GET", [(b"accept", b"text/html")], b""),  # GraphiQL
    ]:
        headers = [(b"x-request-id", b"trace-42"), *headers]
        direct = await _raw_answer(same_origin, method, headers, body)
        through = await _raw_answer(wrapped, method, headers, body)
        assert direct == through, (method, headers, body)
        assert (b"x-request-id", b"trace-42") in direct[0]["headers"]
