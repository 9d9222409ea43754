"""Engine and pool, and the request-scoped database handle every loader shares."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import Executable, Row, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from db import codecs, tracing_hooks
from db.fastread import merge_groups, merged, prepared, rows_of, unmerged, width
from db.read_queue import QueuedRead, ReadQueue

T = TypeVar("T")


@dataclass(frozen=True)
class PoolSettings:
    """Pool size and the server-side timeouts every connection gets."""

    size: int = 10
    max_overflow: int = 5
    timeout_s: float = 3.0
    statement_timeout_ms: int = 5000
    lock_timeout_ms: int = 2000
    idle_in_transaction_timeout_ms: int = 10000


def async_url(url: str) -> str:
    """Return ``url`` with the asyncpg driver, whatever scheme it was given with."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def plain_url(url: str) -> str:
    """Return ``url`` as asyncpg.connect takes it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(url: str, pool: PoolSettings = PoolSettings()) -> AsyncEngine:
    """Return an async engine with a bounded pool and server-side timeouts.

    A pooled connection is checked at checkout without a round trip (:func:`_alive`):
    SQLAlchemy's pre-ping costs three (BEGIN, ``;``, ROLLBACK) on every request, more
    than a one-statement read itself. A connection that broke unnoticed fails its first
    statement instead; that request answers UNAVAILABLE (retryable) and SQLAlchemy
    recycles every connection of the pool made before the failure.
    """
    engine = create_async_engine(
        async_url(url),
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout_s,
        connect_args={
            "timeout": 5,
            "server_settings": {
                "application_name": "expensegraph",
                **codecs.SERVER_SETTINGS,
                "statement_timeout": str(pool.statement_timeout_ms),
                "lock_timeout": str(pool.lock_timeout_ms),
                "idle_in_transaction_session_timeout": str(pool.idle_in_transaction_timeout_ms),
            },
        },
    )
    event.listen(engine.sync_engine.pool, "checkout", _alive)
    event.listen(engine.sync_engine, "connect", codecs.on_connect)
    return engine


def _alive(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Refuse a pooled connection whose socket asyncpg saw closed (the pool makes a new one)."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the pooled connection was closed by the server")


class ConnectionLost(ConnectionError):
    """The request's connection broke earlier in the request; retry the request."""


class RequestDb:
    """One request's database access: a single pooled connection, one statement at a time.

    Loaders resolve concurrently and one connection cannot run two statements at once,
    so statements are serialised behind a lock. The connection is taken lazily (a
    request that needs no SQL takes none) and given back by :meth:`close`.

    Plain reads go to asyncpg directly (db/fastread.py) and run outside a transaction;
    under READ COMMITTED each statement sees what was committed when it started, as it did
    inside the implicit one. The first write opens the request's write transaction, and every
    statement after it goes through SQLAlchemy; each mutation runs in a savepoint of it (a
    failing mutation leaves no trace) and :meth:`commit` makes them durable before the
    response is sent. Anything not committed is rolled back by :meth:`close`.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._driver: Any = None  # the asyncpg connection under _conn, for plain reads
        self._closed = False
        self._lost: Exception | None = None  # the error that broke the connection
        self._lock = asyncio.Lock()
        self.statements = 0
        self._reads = ReadQueue(self._send_reads)  # plain reads until the loop's turn ends
        self.writing = False
        # set by the idempotency layer, which commits itself after storing the response
        self.hold_commit = False

    async def _connection(self) -> AsyncConnection:
        if self._closed:  # a loader batch outliving its request must not take a new connection
            raise RuntimeError("the request is over; its database handle is closed")
        if self._lost is not None:
            raise ConnectionLost("the request's database connection was lost") from self._lost
        if self._conn is None:
            self._conn = await self._engine.connect()
        return self._conn

    async def rows(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        """Return all rows of ``statement``.

        A plain read waits for the end of the loop's turn: the reads other loaders ask
        for meanwhile (the other fields of the same level) go with it in one round trip.
        """
        if not self.writing and tracing_hooks.TRACER is None:
            engine = self._engine.sync_engine
            fast = prepared(statement, engine.dialect, engine._compiled_cache, params)
            if fast is not None and "'" not in fast[0]:  # no literal a renumbering could touch
                return await self._reads.add(QueuedRead(statement, params, *fast))
        return await self._using_connection(lambda conn: self._traced_run(conn, statement, params))

    async def _send_reads(self, reads: list[QueuedRead]) -> list[Sequence[Row[Any]]]:
        """Answer the reads of one turn, in one round trip."""
        return await self._using_connection(lambda conn: self._read_all(conn, reads))

    async def _read_all(
        self, conn: AsyncConnection, reads: list[QueuedRead]
    ) -> list[Sequence[Row[Any]]]:
        if self.writing:  # a write began meanwhile: its transaction must see these reads
            return [await self._traced_run(conn, read.statement, read.params) for read in reads]
        self.statements += len(reads) - 1  # one of them counted by _using_connection
        return await self._fetch(conn, [(read.sql, read.args, read.row_type) for read in reads])

    async def _using_connection(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Return what ``work`` returns, run on the request's connection, one at a time."""
        async with self._lock:
            fresh = self._conn is None
            conn = await self._connection()
            self.statements += 1
            try:
                return await work(conn)
            except Exception as error:
                broken = conn.invalidated or (self._driver is not None and self._driver.is_closed())
                if fresh and _disconnected(error, broken):
                    # the pool's connection had died unnoticed (a server restart, a killed
                    # backend): nothing ran on it yet, so run the first statement (a read:
                    # every request starts with its credential lookup) on a new one
                    await self._discard(conn)
                    conn = await self._connection()
                    self.statements += 1
                    return await work(conn)
                if broken:
                    self._lost = error  # the statements still queued must not try it again
                raise

    async def _traced_run(
        self, conn: AsyncConnection, statement: Executable, params: Mapping[str, Any] | None
    ) -> Sequence[Row[Any]]:
        if tracing_hooks.TRACER is None:  # tracing off (the default): nothing more
            return await self._run(conn, statement, params)
        return await tracing_hooks.traced(self._run(conn, statement, params))

    async def _discard(self, conn: AsyncConnection) -> None:
        """Drop a dead connection: the pool forgets it and opens another when asked."""
        self._conn, self._driver = None, None
        try:
            await conn.invalidate()
            await conn.close()
        except Exception:  # it is dead already; the pool has let it go either way
            pass

    async def _run(
        self, conn: AsyncConnection, statement: Executable, params: Mapping[str, Any] | None
    ) -> Sequence[Row[Any]]:
        engine = self._engine.sync_engine
        # writes stay on SQLAlchemy: its driver adapter opens the transaction at its first
        # statement, so a SELECT ... FOR UPDATE sent past it would run (and unlock) alone
        plain = not self.writing
        fast = prepared(statement, conn.dialect, engine._compiled_cache, params) if plain else None
        if fast is None:
            result = await conn.execute(statement, params or {})
            return result.all()
        return (await self._fetch(conn, [fast]))[0]

    async def _fetch(
        self, conn: AsyncConnection, reads: list[tuple[str, list[Any], Any]]
    ) -> list[Sequence[Any]]:
        """Return the rows of each (sql, arguments, row type), merging what can (fastread.width)."""
        engine = self._engine.sync_engine
        if engine.dispatch.before_cursor_execute:  # statement counters (tests, bench)
            for text, values, _ in reads:
                engine.dispatch.before_cursor_execute(
                    conn.sync_connection, None, text, tuple(values), None, False
                )
        if self._driver is None:
            self._driver = (await conn.get_raw_connection()).driver_connection
        found: list[Any] = [None] * len(reads)
        sizes = {k: (width(t), len(a)) for k, (_, a, t) in enumerate(reads)} if reads[1:] else {}
        for group in merge_groups(sizes):  # each: {read's index: its columns}, two or more
            sql, args = merged([(*reads[k][:2], columns) for k, columns in group.items()])
            record = (await self._driver.fetch(sql, *args))[0]
            for k, rows in zip(group, unmerged(record, list(group.values())), strict=True):
                found[k] = rows
        for k, (sql, args, _) in enumerate(reads):
            if found[k] is None:
                found[k] = await self._driver.fetch(sql, *args)
        return [
            rows_of(rows, row_type) for rows, (_, _, row_type) in zip(found, reads, strict=True)
        ]

    async def begin_write(self) -> None:
        """Open the request's write transaction (ending the read snapshot) if not yet open."""
        async with self._lock:
            if self.writing:
                return
            conn = await self._connection()
            if conn.in_transaction():
                await conn.commit()
            await conn.begin()
            self.writing = True

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Run the enclosed writes all or nothing, inside the request's write transaction."""
        await self.begin_write()
        async with self._lock:
            nested = await _traced((await self._connection()).begin_nested())
        try:
            yield
        except BaseException:
            async with self._lock:
                await _traced(nested.rollback())
            raise
        async with self._lock:
            await _traced(nested.commit())

    async def commit(self) -> None:
        """Make the request's writes durable."""
        async with self._lock:
            if self.writing and self._conn is not None:
                await self._conn.commit()
            self.writing = False

    async def close(self) -> None:
        """Roll back whatever was not committed and return the connection to the pool.

        Waits for a statement in flight: after a field error graphql-core answers without
        waiting for sibling fields, whose loader batches may still be running.
        """
        async with self._lock:
            conn, self._conn, self._driver = self._conn, None, None
            self._closed = True
            self.writing = False
        if conn is not None:
            await conn.close()


def _disconnected(error: Exception, broken: bool) -> bool:
    """Return True when ``error`` says the connection itself is gone (not the statement)."""
    if broken:
        return True
    return isinstance(error, (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError,
                              ConnectionError))  # fmt: skip


def _traced(work: Awaitable[T]) -> Awaitable[T]:
    """Return ``work`` (one statement: SAVEPOINT, RELEASE, ROLLBACK TO) traced if tracing is on."""
    return work if tracing_hooks.TRACER is None else tracing_hooks.traced(work)


async def in_transaction(engine: AsyncEngine, work: Callable[[RequestDb], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction on a connection of its own (jobs, ticks)."""
    db = RequestDb(engine)
    try:
        async with db.savepoint():
            result = await work(db)
        await db.commit()
        return result
    finally:
        await db.close()
