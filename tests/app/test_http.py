"""Health, readiness and GraphiQL through the real ASGI app; the serving process's GC."""

import asyncio
import gc

import httpx

from app.http import GC_YOUNG_THRESHOLD, create_app, settle_gc
from db.connect import create_engine
from db.embedded import ensure_database
from tests.conftest import SETTINGS


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
