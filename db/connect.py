"""How the service connects: the engine, its pool and server-side timeouts, database URLs."""

from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db import codecs, read_pool


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
    server_settings = {
        "application_name": "expensegraph",
        **codecs.SERVER_SETTINGS,
        "statement_timeout": str(pool.statement_timeout_ms),
        "lock_timeout": str(pool.lock_timeout_ms),
        "idle_in_transaction_session_timeout": str(pool.idle_in_transaction_timeout_ms),
    }
    engine = create_async_engine(
        async_url(url),
        pool_size=pool.size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.timeout_s,
        connect_args={"timeout": 5, "server_settings": server_settings},
    )
    event.listen(engine.sync_engine.pool, "checkout", _alive)
    event.listen(engine.sync_engine, "connect", codecs.on_connect)
    # plain reads take connections of their own, past SQLAlchemy's pool (db/read_pool.py)
    connect = _read_connector(engine, plain_url(url), server_settings)
    lent = read_pool.ReadPool(connect, pool.size + pool.max_overflow, pool.timeout_s)
    read_pool.attach(engine, lent)
    return engine


def _alive(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Refuse a pooled connection whose socket asyncpg saw closed (the pool makes a new one)."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the pooled connection was closed by the server")


def _read_connector(
    engine: AsyncEngine, url: str, server_settings: Mapping[str, str]
) -> read_pool.Connect:
    """Return how to open a read connection as ``engine``'s pool opens one, codecs and all."""
    dialect: Any = engine.dialect

    async def connect() -> asyncpg.Connection:
        conn = await asyncpg.connect(url, timeout=5, server_settings=dict(server_settings))
        try:
            adapted = SimpleNamespace(_connection=conn)  # what the dialect's set-up reads
            await dialect.setup_asyncpg_json_codec(adapted)
            await dialect.setup_asyncpg_jsonb_codec(adapted)
            await codecs.use_text_codecs(conn)
        except BaseException:
            conn.terminate()
            raise
        return conn

    return connect
