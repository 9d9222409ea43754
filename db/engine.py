"""The request-scoped database handle every loader shares."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Executable, Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import read_pool, sent_together, tracing_hooks
from db.fastread import prepared
from db.merged_reads import After, Read, fetch
from db.sent_together import QueuedRead, ReadQueue

T = TypeVar("T")


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
        self.round_trips = 0  # statements sent: reads merged into one count once
        self._reads = ReadQueue(self._send_reads)  # plain reads until the loop's turn ends
        self._lent = read_pool.Lent(read_pool.read_pool(engine))  # for plain reads
        # asyncpg connections a statement was abandoned on (its task cancelled mid-flight)
        self._abandoned: set[Any] = set()
        self.writing = False
        self.wrote = False  # a write transaction was opened (committed or not)
        self.follows = sent_together.Offers()  # for the next read (db/sent_together.py)
        # set by the idempotency layer, which commits itself after storing the response
        self.hold_commit = False

    def _usable(self) -> None:
        if self._closed:  # a loader batch outliving its request must not take a new connection
            raise RuntimeError("the request is over; its database handle is closed")
        if self._lost is not None:
            raise ConnectionLost("the request's database connection was lost") from self._lost

    async def _connection(self) -> AsyncConnection:
        self._usable()
        if self._conn is None:
            self._give_back_lent()  # one connection at a time: SQLAlchemy's from now on
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
            if fast is not None:
                read = QueuedRead(statement, params, *fast)
                if "'" not in fast[0]:  # no literal a renumbering could touch: merge it
                    if self.follows:
                        dialect, cache = engine.dialect, engine._compiled_cache
                        sent_together.take(self.follows.claim(), read, dialect, cache)
                    return await self._reads.add(read)
                # alone, at once, on the connection the request reads on (not SQLAlchemy's:
                # taking that one first would hold the statement back a while)
                return (await self._send_reads([read]))[0]
        return await self._using_connection(lambda conn: self._traced_run(conn, statement, params))

    async def _send_reads(self, reads: list[QueuedRead]) -> list[Sequence[Row[Any]]]:
        """Answer the reads of one turn, in one round trip."""
        async with self._lock:
            if self._lent.pool is not None and self._conn is None and not self.writing:
                return await self._read_lent(reads)
        return await self._using_connection(lambda conn: self._read_all(conn, reads))

    async def _read_lent(self, reads: list[QueuedRead]) -> list[Sequence[Row[Any]]]:
        """Answer ``reads`` on the lent connection (the lock is held); as _using_connection.

        A connection that died idle in the pool (a server restart, killed backends) is
        found dead only when used; nothing ran on it, so the reads go to the next one, as
        many times as the pool has places: after a restart every idle one may be dead.
        """
        assert self._lent.pool is not None
        attempts = 1 + (self._lent.pool.size if self._lent.conn is None else 0)
        for attempt in range(1, attempts + 1):
            self._usable()
            reader = await self._lent.take()
            try:
                return await self._fetch_queued(reader, None, reads)
            except Exception as error:
                broken = reader.is_closed()
                if attempt < attempts and read_pool.disconnected(error, broken):
                    self._lent.give_back(broken=True)  # died in the pool unnoticed: again
                    continue
                if broken:
                    self._lost = error
                raise
        raise AssertionError("unreachable")

    async def _read_all(
        self, conn: AsyncConnection, reads: list[QueuedRead]
    ) -> list[Sequence[Row[Any]]]:
        if self.writing:  # a write began meanwhile: its transaction must see these reads
            return [await self._traced_run(conn, read.statement, read.params) for read in reads]
        self.statements -= 1  # counted by _using_connection, and again here
        return await self._fetch_queued(await self._driver_of(conn), conn.sync_connection, reads)

    async def _fetch_queued(
        self, driver: Any, sync_conn: Any, reads: list[QueuedRead]
    ) -> list[Sequence[Row[Any]]]:
        """Return the rows of ``reads``, after priming the loaders of the reads following them."""
        sent, after = sent_together.sent(reads)
        self.statements += len(reads)
        rows = await self._fetch(driver, sync_conn, sent, after)
        # a read following another is counted when it had keys: with none it read nothing
        had = sent_together.answered(rows, reads)
        self.statements += len(had)
        if had and self._engine.sync_engine.dispatch.before_cursor_execute:
            self._announce(sync_conn, sent_together.alone(sent, had))
        return rows[: len(reads)]

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
                if fresh and read_pool.disconnected(error, broken):
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
            self.round_trips += 1
            result = await conn.execute(statement, params or {})
            return result.all()
        return (await self._fetch(await self._driver_of(conn), conn.sync_connection, [fast]))[0]

    async def _driver_of(self, conn: AsyncConnection) -> Any:
        """Return the asyncpg connection under ``conn``."""
        if self._driver is None:
            self._driver = (await conn.get_raw_connection()).driver_connection
        return self._driver

    async def _fetch(
        self,
        driver: Any,
        sync_conn: Any,
        reads: Sequence[Read],
        after: After | None = None,
    ) -> list[Sequence[Any]]:
        """Return the rows of each (sql, arguments, row type), merging what can (merged_reads.width)."""
        if self._engine.sync_engine.dispatch.before_cursor_execute:
            self._announce(
                sync_conn, [r for k, r in enumerate(reads) if not after or k not in after]
            )
        try:
            rows, sent = await fetch(driver, reads, after)
        except asyncio.CancelledError:
            # graphql-core cancels the fields it no longer needs, maybe in the middle of a
            # statement: the server may then hold it unfinished, its statement timeout
            # running, and cancel whatever that connection runs next, seconds later. The
            # request may go on using it; no later request will
            self._abandoned.add(driver)
            raise
        self.round_trips += sent
        return rows

    def _announce(self, sync_conn: Any, reads: Sequence[Read]) -> None:
        """Tell the engine's statement listeners (tests, bench: asked when there are) of ``reads``."""
        dispatch = self._engine.sync_engine.dispatch
        for text, values, _ in reads:
            dispatch.before_cursor_execute(sync_conn, None, text, tuple(values), None, False)

    async def begin_write(self) -> None:
        """Open the request's write transaction (ending the read snapshot) if not yet open."""
        async with self._lock:
            if self.writing:
                return
            conn = await self._connection()
            if conn.in_transaction():
                await conn.commit()
            await conn.begin()
            self.writing = self.wrote = True

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Run the enclosed writes all or nothing, inside the request's write transaction."""
        await self.begin_write()
        async with self._lock:
            nested = await tracing_hooks.if_on((await self._connection()).begin_nested())
        try:
            yield
        except BaseException:
            async with self._lock:
                await tracing_hooks.if_on(nested.rollback())
            raise
        async with self._lock:
            await tracing_hooks.if_on(nested.commit())

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
            conn, driver = self._conn, self._driver
            self._conn, self._driver = None, None
            self._give_back_lent()
            self._closed = True
            self.writing = False
        if conn is not None:
            if driver is not None and driver in self._abandoned:
                await conn.invalidate()  # the pool opens another in its place
            await conn.close()

    def _give_back_lent(self) -> None:
        self._lent.give_back(broken=self._lent.conn in self._abandoned)


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
