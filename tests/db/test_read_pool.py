"""The read pool (db/read_pool.py): lends, keeps, refuses in time, reclaims what is dropped."""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy import Label, func, literal_column, select
from sqlalchemy import exc as sa_exc

from db.connect import PoolSettings, create_engine
from db.engine import RequestDb
from db.read_pool import Lent, ReadPool, read_pool


async def test_a_connection_goes_back_idle_and_a_broken_one_is_closed(database_url: str) -> None:
    engine = create_engine(database_url, PoolSettings(size=1, max_overflow=1))
    pool = read_pool(engine)
    assert isinstance(pool, ReadPool)
    try:
        first = await pool.acquire()
        assert pool.lent == 1 and await first.fetchval("SELECT 1") == 1
        pool.release(first)
        assert (pool.lent, pool.idle) == (0, 1)
        again = await pool.acquire()
        assert again is first  # reused, not reopened
        pool.release(again, broken=True)
        assert again.is_closed() and (pool.lent, pool.idle) == (0, 0)
    finally:
        await engine.dispose()


async def test_an_exhausted_pool_refuses_in_time_as_sqlalchemys_does(database_url: str) -> None:
    engine = create_engine(database_url, PoolSettings(size=1, max_overflow=0, timeout_s=0.2))
    pool = read_pool(engine)
    assert pool is not None
    held = await pool.acquire()
    try:
        with pytest.raises(sa_exc.TimeoutError):  # the app answers it UNAVAILABLE (503)
            await pool.acquire()
        pool.release(held)
        pool.release(await asyncio.wait_for(pool.acquire(), 1))
    finally:
        await engine.dispose()
    assert held.is_closed()  # disposing the engine closes the pool's connections


async def test_a_borrower_dropped_without_giving_back_frees_its_place(database_url: str) -> None:
    engine = create_engine(database_url, PoolSettings(size=1, max_overflow=0, timeout_s=0.5))
    pool = read_pool(engine)
    assert pool is not None
    try:
        borrower = Lent(pool)
        conn = await borrower.take()
        del borrower
        gc.collect()
        await asyncio.sleep(0)  # the release is scheduled on the loop
        assert conn.is_closed() and pool.lent == 0
        fresh = Lent(pool)
        assert await (await fresh.take()).fetchval("SELECT 2") == 2
        fresh.give_back()
        assert (pool.lent, pool.idle) == (0, 1)
    finally:
        await engine.dispose()


# a literal keeps a read on its caller's task (the read queue would run it on its own)
_ON_THE_CALLERS_TASK: Label[str] = literal_column("'now'").label("tag")


async def _backend(db: RequestDb) -> int:
    return int(
        (await db.rows(select(func.pg_backend_pid().label("pid"), _ON_THE_CALLERS_TASK)))[0][0]
    )


async def test_a_connection_a_statement_was_abandoned_on_is_not_pooled_again(
    database_url: str,
) -> None:
    # graphql-core cancels the fields it no longer needs, maybe mid-statement; the server
    # may then hold the statement unfinished, its timeout running, and cancel what the
    # connection runs next: seen as "canceling statement due to statement timeout" on a
    # later request's read
    engine = create_engine(database_url, PoolSettings(size=1, max_overflow=0))
    try:
        db = RequestDb(engine)
        pid = await _backend(db)
        read = asyncio.ensure_future(
            db.rows(select(func.pg_sleep(0.3).label("slept"), _ON_THE_CALLERS_TASK))
        )
        await asyncio.sleep(0.05)
        read.cancel()
        with pytest.raises(asyncio.CancelledError):
            await read
        assert await _backend(db) == pid  # the request may go on with it
        await db.close()
        after = RequestDb(engine)
        try:
            assert await _backend(after) != pid  # no later request gets it
        finally:
            await after.close()
    finally:
        await engine.dispose()


@asynccontextmanager
async def _dying(pool: ReadPool, database_url: str, deaths: int | None) -> AsyncIterator[list[int]]:
    """Make ``pool`` lend connections whose backend was killed (the first ``deaths``; None:
    all); yield the pids of the connections lent, in order."""
    killer = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    acquire, lent = pool.acquire, []

    async def dead_on_arrival() -> asyncpg.Connection:
        conn = await acquire()
        lent.append(conn.get_server_pid())
        if deaths is None or len(lent) <= deaths:
            # as a server restart leaves them: dead, and the loop may not have seen it yet
            # (the timeout: wait until the backend has exited)
            await killer.fetchval("SELECT pg_terminate_backend($1, 5000)", lent[-1])
        return conn

    pool.acquire = dead_on_arrival  # type: ignore[method-assign]
    try:
        yield lent
    finally:
        await killer.close()


async def test_a_read_gets_past_every_connection_that_died_in_the_pool(database_url: str) -> None:
    engine = create_engine(database_url, PoolSettings(size=4, max_overflow=0))
    pool = read_pool(engine)
    assert pool is not None
    try:
        async with _dying(pool, database_url, deaths=3) as lent:
            db = RequestDb(engine)
            try:
                assert await _backend(db) == lent[-1]
            finally:
                await db.close()
        assert len(lent) == 4  # three dead ones, then one alive
    finally:
        await engine.dispose()


async def test_a_read_stops_trying_after_as_many_dead_connections_as_the_pool_holds(
    database_url: str,
) -> None:
    engine = create_engine(database_url, PoolSettings(size=3, max_overflow=0))
    pool = read_pool(engine)
    assert pool is not None
    try:
        async with _dying(pool, database_url, deaths=None) as lent:
            db = RequestDb(engine)
            try:
                with pytest.raises(DEAD):
                    await _backend(db)
            finally:
                await db.close()
        assert len(lent) == 4  # once, then once per place in the pool
        assert (pool.lent, pool.idle) == (0, 0)
    finally:
        await engine.dispose()


# what asyncpg raises for a connection whose server went away
DEAD = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, ConnectionError)
