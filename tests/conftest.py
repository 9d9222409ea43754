"""Test fixtures: a real PostgreSQL (embedded, or TEST_DATABASE_URL), migrated by Alembic.

One database per test session, built by ``alembic upgrade head`` (never create_all),
holding the fixed data set of tests/world.py. One engine for the session's event loop.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth import hash_secret, issue_token, new_api_key
from app.http import create_app
from app.limits import LimitSettings
from app.settings import Settings
from db.connect import create_engine
from db.embedded import ensure_database, start_server
from db.migrate import upgrade
from tests.world import World, build_world

# the suite sends big queries and thousands of requests per credential: cost and rate limits
# are tested on their own (tests/graphql/test_limits.py)
SETTINGS = Settings(
    jwt_secret="test-secret-" + "x" * 32,
    data_dir=Path("/nonexistent"),
    graphiql=True,
    introspection=True,
    webhooks_allow_private=True,  # the tests' receivers listen on 127.0.0.1
    limits=LimitSettings(max_cost=10**9, bucket_size=10**9, restore_rate=10**6),
)


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Return the URL of a PostgreSQL server: TEST_DATABASE_URL's, or an embedded one."""
    return os.environ.get("TEST_DATABASE_URL") or start_server(tmp_path_factory.mktemp("pg"))


def fresh_database(server_url: str) -> str:
    """Return the URL of a new, empty, migrated database on the test server."""
    url = asyncio.run(ensure_database(server_url, f"eg_test_{uuid.uuid4().hex[:12]}"))
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def database_url(server_url: str) -> str:
    """Return the URL of the session's migrated database."""
    return fresh_database(server_url)


class StatementCounter:
    """Counts SQL statements sent through an engine (N+1 regressions fail the tests)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def statements(engine: AsyncEngine) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    event.listen(engine.sync_engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine.sync_engine, "before_cursor_execute", counter)


def _key_maker() -> tuple[str, str, bytes]:
    prefix, key = new_api_key()
    return prefix, key, hash_secret(key)


@pytest.fixture(scope="session")
async def world(engine: AsyncEngine) -> World:
    async with engine.begin() as conn:
        return await build_world(conn, _key_maker)


@pytest.fixture(scope="session")
async def client(engine: AsyncEngine, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(SETTINGS, database_url, engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def app_client(settings: Settings, engine: AsyncEngine, database_url: str) -> httpx.AsyncClient:
    """Return a client (use it with ``async with``) of an app built with ``settings``."""
    app = create_app(settings, database_url, engine=engine)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def token(biz: Any, member: str, **kwargs: Any) -> str:
    """Return a user token for ``member`` (a role key of tests/world.py) of ``biz``."""
    return issue_token(SETTINGS, business_id=biz.id, member_id=biz.members[member], **kwargs)


async def gql_raw(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    as_: str | None,
) -> httpx.Response:
    """Send a GraphQL request with ``as_`` as the bearer credential (None: no header)."""
    headers = {"Authorization": f"Bearer {as_}"} if as_ is not None else {}
    return await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    as_: str | None,
) -> dict[str, Any]:
    """Return ``data`` of a GraphQL request; fail the test on any error."""
    response = await gql_raw(client, query, variables, as_=as_)
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body["errors"]
    return body["data"]


def codes(body: dict[str, Any]) -> list[str]:
    """Return the ``extensions.code`` of every error in a response body."""
    return [error["extensions"]["code"] for error in body.get("errors", [])]
