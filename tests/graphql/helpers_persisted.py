"""Shared helpers of the persisted query tests (test_persisted_*.py): a query and its hash,
and a client of a new app (a worker) to send them to."""

import dataclasses
import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from httpx import ASGITransport, AsyncClient
from starlette.routing import Route

from app.endpoint import GraphQLEndpoint
from app.http import create_app
from app.persisted_store import RedisStore, Store
from app.settings import Settings

QUERY = "query Persisted { viewer { credential business { name } } }"
SHA = hashlib.sha256(QUERY.encode()).hexdigest()


def extensions(sha: str = SHA) -> dict[str, object]:
    """Return the request extensions naming a persisted query by its hash."""
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


def new_query() -> tuple[str, str]:
    """Return a query no test has sent yet, and its hash."""
    query = f"query Fresh{uuid.uuid4().hex} {{ viewer {{ credential }} }}"
    return query, hashlib.sha256(query.encode()).hexdigest()


@asynccontextmanager
async def worker_client(
    settings: Settings, database_url: str, engine: Any, name: str, *, store: Store | None = None
) -> AsyncIterator[AsyncClient]:
    """Yield a client of a new app (a worker); ``store`` replaces its persisted query store."""
    app = create_app(settings, database_url, engine=engine)
    route = next(r for r in app.routes if isinstance(r, Route) and r.path == "/graphql")
    endpoint = cast(GraphQLEndpoint, route.endpoint)
    if store is not None:
        endpoint.persisted = dataclasses.replace(endpoint.persisted, store=store)
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url=f"http://{name}") as c:
            yield c
    finally:
        if isinstance(endpoint.persisted.store, RedisStore):
            await endpoint.persisted.store.redis.aclose()
