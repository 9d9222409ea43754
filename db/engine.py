"""Engine and pool, and the request-scoped database handle every loader shares."""

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, Row
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


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


def create_engine(url: str, pool: PoolSettings = PoolSettings()) -> AsyncEngine:
    """Return an async engine with pre-ping, bounded pool and server-side timeouts."""
    return create_async_engine(
        async_url(url),
        pool_pre_ping=True,
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout_s,
        connect_args={
            "timeout": 5,
            "server_settings": {
                "application_name": "expensegraph",
                "statement_timeout": str(pool.statement_timeout_ms),
                "lock_timeout": str(pool.lock_timeout_ms),
                "idle_in_transaction_session_timeout": str(pool.idle_in_transaction_timeout_ms),
            },
        },
    )


class RequestDb:
    """One request's database access: a single pooled connection, one statement at a time.

    Loaders resolve concurrently and one connection cannot run two statements at once,
    so statements are serialised behind a lock. The connection is taken lazily (a
    request that needs no SQL takes none) and given back by :meth:`close`.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self.statements = 0

    async def rows(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        """Return all rows of ``statement``."""
        async with self._lock:
            if self._conn is None:
                self._conn = await self._engine.connect()
            self.statements += 1
            result = await self._conn.execute(statement, params or {})
            return result.all()

    async def close(self) -> None:
        """End the read transaction and return the connection to the pool."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
