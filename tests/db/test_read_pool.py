"""The read pool (db/read_pool.py): lends, keeps, refuses in time, reclaims what is dropped."""

import asyncio
import gc

import pytest
from sqlalchemy import exc as sa_exc

from db.connect import PoolSettings, create_engine
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
