"""asyncpg connections for plain reads, lent without SQLAlchemy's pool.

Most requests only read. Through SQLAlchemy's pool, taking a connection and giving it back
costs a greenlet hop, checkout and checkin events and a ``Connection`` wrapper each way:
about 130 µs of a worker's CPU per request, a sixth of a ``{ __typename }`` request
(bench/RESULTS.md, "Reads lent their own connections"). Here it is a deque and a semaphore.

Writes, and every statement after a request's first write, stay on SQLAlchemy
(db/engine.py :class:`RequestDb`), which gives its read connection back first: a request
holds one connection at a time. A connection goes back to the deque only when it is
open and outside a transaction (plain reads open none); one that broke is closed.
"""

import asyncio
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

Connect = Callable[[], Awaitable[asyncpg.Connection]]


class ReadPool:
    """At most ``size`` asyncpg connections, made when first needed, lent one at a time."""

    def __init__(self, connect: Connect, size: int, timeout_s: float) -> None:
        self._connect, self._size, self._timeout_s = connect, size, timeout_s
        self._idle: deque[asyncpg.Connection] = deque()
        self._slots: asyncio.Semaphore | None = None  # made in the loop that uses it
        self._made: weakref.WeakSet[asyncpg.Connection] = weakref.WeakSet()
        self.lent = 0  # connections lent now

    @property
    def size(self) -> int:
        """Return how many connections the pool may hold at once."""
        return self._size

    @property
    def idle(self) -> int:
        """Return how many open connections wait in the pool."""
        return len(self._idle)

    async def acquire(self) -> asyncpg.Connection:
        """Return an open connection; ``sqlalchemy.exc.TimeoutError`` when none frees in time."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._size)
        if self._slots.locked():
            try:
                async with asyncio.timeout(self._timeout_s):
                    await self._slots.acquire()
            except TimeoutError:
                raise sa_exc.TimeoutError(
                    f"no read connection freed within {self._timeout_s:g} s"
                ) from None
        else:
            await self._slots.acquire()  # free: returns without suspending
        self.lent += 1
        while self._idle:
            conn = self._idle.pop()
            if not conn.is_closed():
                return conn
        try:
            conn = await self._connect()
        except BaseException:
            self.lent -= 1
            self._slots.release()
            raise
        self._made.add(conn)
        return conn

    def release(self, conn: asyncpg.Connection, *, broken: bool = False) -> None:
        """Take ``conn`` back: kept when idle and open, else closed at once."""
        if broken or conn.is_closed() or conn.is_in_transaction():
            conn.terminate()
        else:
            self._idle.append(conn)
        assert self._slots is not None
        self.lent -= 1
        self._slots.release()

    def terminate(self) -> None:
        """Close every connection made, lent or not (the engine is being disposed)."""
        for conn in list(self._made):
            conn.terminate()
        self._idle.clear()


_POOLS: "weakref.WeakKeyDictionary[Any, ReadPool]" = weakref.WeakKeyDictionary()


def attach(engine: AsyncEngine, pool: ReadPool) -> None:
    """Lend ``engine``'s plain reads from ``pool``; disposing the engine closes it."""
    _POOLS[engine.sync_engine] = pool
    event.listen(engine.sync_engine, "engine_disposed", lambda _: pool.terminate())


def read_pool(engine: AsyncEngine) -> ReadPool | None:
    """Return the read pool of ``engine``, None for an engine made elsewhere."""
    return _POOLS.get(engine.sync_engine)


class Lent:
    """The read connection one request borrowed from ``pool``, if any (None: no pool).

    A borrower dropped without giving it back (a task cancelled past its ``finally``)
    does not leak it: when the borrower is collected, the connection is closed and its
    place in the pool freed, as SQLAlchemy's pool does for its own connections.
    """

    def __init__(self, pool: ReadPool | None) -> None:
        self.pool = pool
        self.conn: asyncpg.Connection | None = None
        self._dropped: weakref.finalize[Any, Any] | None = None

    async def take(self) -> asyncpg.Connection:
        """Return the borrowed connection, borrowing one first if need be."""
        if self.conn is None:
            assert self.pool is not None
            self.conn = await self.pool.acquire()
            loop = asyncio.get_running_loop()
            self._dropped = weakref.finalize(self, _reclaim, self.pool, self.conn, loop)
        return self.conn

    def give_back(self, *, broken: bool = False) -> None:
        conn, self.conn = self.conn, None
        if self._dropped is not None:
            self._dropped.detach()
            self._dropped = None
        if conn is not None and self.pool is not None:
            self.pool.release(conn, broken=broken)


def _reclaim(pool: ReadPool, conn: asyncpg.Connection, loop: asyncio.AbstractEventLoop) -> None:
    """Free what a collected borrower held (collection may run in any thread)."""
    try:
        loop.call_soon_threadsafe(lambda: pool.release(conn, broken=True))
    except RuntimeError:  # the loop is closed: its connections went with it
        pass


def disconnected(error: Exception, broken: bool) -> bool:
    """Return True when ``error`` says the connection itself is gone (not the statement)."""
    if broken:
        return True
    return isinstance(error, (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError,
                              ConnectionError))  # fmt: skip
