"""The database fails under the app: pool exhausted, statements too slow, backends killed,
the server restarted under load. Each fault must give a fast, retryable UNAVAILABLE (never
INTERNAL, never a hang), and the app must serve again without a restart of its own.

Runs the real app in-process on the tests' own PostgreSQL (tests/faults/conftest.py).
"""

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.connect import PoolSettings, create_engine
from db.read_pool import read_pool
from resolvers.ids import encode_id
from tests.faults.conftest import (
    OwnPostgres,
    admin_token,
    app_backends,
    app_client,
    new_card,
    outcome,
    post,
    probe_connection,
    row_locked,
    wait_for_lock_waiter,
)
from tests.world import World

READ = "{ expenses(first: 20) { totalCount nodes { id merchantName member { name } } } }"
SESSION_SETTINGS = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "application_name")  # fmt: skip
FREEZE = "mutation($id: ID!) { p: freezeCard(id: $id) { card { status } userErrors { code } } }"


@pytest.mark.parametrize("held", ["reads", "writes"])
async def test_pool_exhaustion_fails_fast_with_unavailable_and_recovers(
    own_pg: OwnPostgres, own_world: World, held: str
) -> None:
    """Plain reads borrow from the read pool (db/read_pool.py), writes from SQLAlchemy's."""
    token = admin_token(own_world.a)
    query, variables = READ, {}
    if held == "writes":
        query, variables = FREEZE, {"id": encode_id("Card", await new_card(own_pg, own_world.a))}
    pool = PoolSettings(size=1, max_overflow=0, timeout_s=1)
    async with app_client(own_pg, pool) as (client, engine):
        warm = outcome(await post(client, query, token, variables))
        async with _holding(engine, held):  # the pool's only connection
            started = time.monotonic()
            response = await post(client, query, token, variables)
            elapsed = time.monotonic() - started
        after = [outcome(await post(client, query, token, variables)) for _ in range(3)]
    got = outcome(response)
    facts = f"{held}: warm={warm}; exhausted -> {got} after {elapsed:.2f}s ({response.text[:120]!r}); after release -> {after}"
    assert warm == "ok", facts
    assert elapsed < 2.0, f"no fast failure: {facts}"
    assert got == "UNAVAILABLE", f"pool timeout is not a retryable UNAVAILABLE: {facts}"
    assert after == ["ok"] * 3, f"the pool did not recover: {facts}"


@asynccontextmanager
async def _holding(engine: AsyncEngine, held: str) -> AsyncIterator[None]:
    """Hold the only connection of the read pool ("reads") or of SQLAlchemy's ("writes")."""
    if held == "writes":
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
            yield
        return
    lender = read_pool(engine)
    assert lender is not None
    conn = await lender.acquire()
    try:
        yield
    finally:
        lender.release(conn)


@pytest.mark.parametrize(
    "fault, pool",
    [
        ("statement_timeout", PoolSettings(size=1, max_overflow=0, statement_timeout_ms=300, lock_timeout_ms=10_000)),
        ("lock_timeout", PoolSettings(size=1, max_overflow=0, statement_timeout_ms=10_000, lock_timeout_ms=300)),
    ],
)  # fmt: skip
async def test_slow_statement_is_cut_off_cleanly_and_the_connection_is_reused(
    own_pg: OwnPostgres, own_world: World, fault: str, pool: PoolSettings
) -> None:
    """A statement the database gives up on (here: waiting for a locked card) is UNAVAILABLE."""
    token, card = admin_token(own_world.a), await new_card(own_pg, own_world.a)
    variables = {"id": encode_id("Card", card)}
    async with app_client(own_pg, pool) as (client, _):
        # the pools' connections made first: timed, the cut-off alone (under a whole test
        # run's load, making them took the first request past 2 s)
        other = {"id": encode_id("Card", await new_card(own_pg, own_world.a))}
        assert outcome(await post(client, FREEZE, token, other)) == "ok"
        async with row_locked(own_pg, "cards", card):
            started = time.monotonic()
            response = await post(client, FREEZE, token, variables)
            elapsed = time.monotonic() - started
        retried = await post(client, FREEZE, token, variables)
    got = outcome(response)
    facts = f"{fault}: {got} after {elapsed:.2f}s ({response.text[:160]!r}); retry -> {outcome(retried)}"
    assert elapsed < 2.0, f"the {fault} did not cut the statement off: {facts}"
    assert "SELECT" not in response.text and "cards" not in response.text, f"SQL leaked: {facts}"
    assert got == "UNAVAILABLE", f"a {fault} is not a retryable UNAVAILABLE: {facts}"
    assert outcome(retried) == "ok", facts
    assert retried.json()["data"]["p"]["card"]["status"] == "FROZEN", facts


async def test_pooled_connections_carry_the_server_side_timeouts(own_pg: OwnPostgres) -> None:
    configured = PoolSettings(
        statement_timeout_ms=1234, lock_timeout_ms=567, idle_in_transaction_timeout_ms=8901
    )
    expected = {
        PoolSettings(): ("5s", "2s", "10s", "expensegraph"),  # README: 5 s / 2 s / 10 s
        configured: ("1234ms", "567ms", "8901ms", "expensegraph"),
    }
    query = "SELECT " + ", ".join(f"current_setting('{name}')" for name in SESSION_SETTINGS)
    for pool, settings in expected.items():
        engine = create_engine(own_pg.url, pool)
        try:
            async with engine.connect() as conn:
                shown = tuple((await conn.exec_driver_sql(query)).one())
        finally:
            await engine.dispose()
        assert shown == settings, pool


async def test_killed_idle_connections_are_replaced_without_a_failure(
    own_pg: OwnPostgres, own_world: World
) -> None:
    token = admin_token(own_world.a)
    async with app_client(own_pg, PoolSettings(size=4, max_overflow=0)) as (client, _):
        warm = await asyncio.gather(*(post(client, READ, token) for _ in range(8)))
        assert [outcome(r) for r in warm] == ["ok"] * 8
        before = {b["pid"] for b in await app_backends(own_pg)}
        conn = await probe_connection(own_pg)
        try:
            killed = await conn.fetchval(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'expensegraph' AND datname = current_database()"
            )
        finally:
            await conn.close()
        results = []
        for _ in range(5):  # 20 requests, 4 at a time: every pooled connection is reused
            batch = await asyncio.gather(*(post(client, READ, token) for _ in range(4)))
            results += [outcome(r) for r in batch]
        after = {b["pid"] for b in await app_backends(own_pg)}
    assert killed >= 2, f"only {killed} pooled backends to kill ({before})"
    failures = [r for r in results if r != "ok"]
    assert failures == [], (
        f"{len(failures)} of 20 requests failed after {killed} kills: {Counter(failures)}"
    )
    assert not before & after, "the killed backends are still in use"


async def test_backend_killed_mid_statement_is_unavailable_and_the_next_request_succeeds(
    own_pg: OwnPostgres, own_world: World
) -> None:
    token, card = admin_token(own_world.a), await new_card(own_pg, own_world.a)
    variables = {"id": encode_id("Card", card)}
    async with app_client(own_pg, PoolSettings(size=2, max_overflow=0)) as (client, _):
        async with row_locked(own_pg, "cards", card):
            request = asyncio.create_task(post(client, FREEZE, token, variables))
            pid = await wait_for_lock_waiter(own_pg)
            conn = await probe_connection(own_pg)
            try:
                assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
            finally:
                await conn.close()
            response = await request
        after = [outcome(await post(client, READ, token)) for _ in range(3)]
    facts = (
        f"killed mid-statement -> {outcome(response)} ({response.text[:160]!r}); after -> {after}"
    )
    assert outcome(response) == "UNAVAILABLE", facts
    assert after == ["ok"] * 3, facts


@dataclass
class Call:
    started: float
    ended: float
    result: str


async def test_postgres_restart_under_load_gives_unavailable_only_during_the_outage(
    own_pg: OwnPostgres, own_world: World
) -> None:
    """4 clients from 2 s before a crash (``-m immediate``) to 4 s after the server is back.

    The server stays down 1 s, then crash recovery takes its time (0.3 to a few seconds).
    """
    token, calls = admin_token(own_world.a), list[Call]()
    pool = PoolSettings(size=4, max_overflow=0, timeout_s=3)
    async with app_client(own_pg, pool) as (client, _):
        origin = time.monotonic()
        stop_at = origin + 30.0  # moved closer once the server is back

        async def worker() -> None:
            while time.monotonic() < stop_at:
                started = time.monotonic()
                try:
                    result = outcome(await post(client, READ, token))
                except TimeoutError:
                    result = "hang"
                calls.append(Call(started - origin, time.monotonic() - origin, result))
                await asyncio.sleep(0.01)  # leave the 2 cores some room for the server

        workers = [asyncio.create_task(worker()) for _ in range(4)]
        try:
            await asyncio.sleep(2.0)
            down = time.monotonic() - origin
            await asyncio.to_thread(own_pg.stop, "immediate")
            stopped = time.monotonic() - origin
            await asyncio.sleep(1.0)
            await asyncio.to_thread(own_pg.start)
            up = time.monotonic() - origin
            stop_at = origin + up + 4.0
            await asyncio.wait_for(asyncio.gather(*workers), 4.0 + 2 * 15.0)
        finally:
            for task in workers:
                task.cancel()
            if not own_pg.running():
                own_pg.start()
    errors = [c for c in calls if c.result != "ok"]
    recovered = min((c.ended for c in calls if c.result == "ok" and c.started >= up), default=None)
    slowest = max(calls, key=lambda c: c.ended - c.started)
    summary = (
        f"{len(calls)} requests; stop -m immediate at {down:.2f}s (down at {stopped:.2f}s), "
        f"started again at {up:.2f}s; errors {dict(Counter(c.result for c in errors))} from "
        f"{min((c.started for c in errors), default=0):.2f}s to {max((c.ended for c in errors), default=0):.2f}s; "
        f"first success after restart at +{(recovered or float('nan')) - up:.2f}s; "
        f"slowest {slowest.ended - slowest.started:.2f}s ({slowest.result})"
    )
    assert any(down <= c.started <= up for c in calls), f"no request during the outage: {summary}"
    assert slowest.ended - slowest.started < 5.0, f"a request hung: {summary}"
    assert {c.result for c in errors} <= {"UNAVAILABLE"}, f"non-retryable errors: {summary}"
    outside = [c for c in errors if c.ended < down or c.started > up + 1.0]
    assert outside == [], f"errors outside the outage window: {outside[:5]}; {summary}"
    assert recovered is not None and recovered - up < 3.0, f"no quick recovery: {summary}"
